/* image.c — photos in: decode (stb_image, from Debian's libstb-dev), RGBA
 * import and bilinear resize. Decoding happens in the engine so Node and the
 * browser see the same pixels. A photo is untrusted: sizes are checked before
 * any pixel buffer is allocated. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "model.h"

#define STBI_NO_STDIO
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_MAX_DIMENSIONS 16384
#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#if defined(__clang__)
/* Undefined behaviour inside stb 2.27 that is memory-safe (ASan sees no bad
 * access) and harmless in practice, found by tests/fuzz/image_fuzz.c: NULL+0 and
 * a 0-byte memcpy from NULL on an empty first PNG IDAT chunk (finding 5), and a
 * shift by more than 31 bits in the JPEG entropy decoder of a corrupt file
 * (finding 6). UBSan's pointer-overflow, nonnull and shift checks are waived for
 * stb's functions only; memory errors stay findings. */
#pragma clang attribute push(__attribute__((no_sanitize("pointer-overflow", "nonnull-attribute", "shift"))), apply_to = function)
#endif
#include "stb_image.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC diagnostic pop

/* Largest photo accepted, in pixels: 64 MB of RGB at most. */
#ifndef FV_IMAGE_MAX_PIXELS /* the fuzz build lowers it so each input decodes fast */
#define FV_IMAGE_MAX_PIXELS (16384 * 1024)
#endif

struct fv_image {
  int w, h;
  uint8_t *rgb;
};

static fv_image *image_alloc(int w, int h, fv_error *err) {
  if (w <= 0 || h <= 0 || (long long)w * h > FV_IMAGE_MAX_PIXELS) {
    fv_error_set(err, FV_ERR_BAD_ARG, "image size %dx%d is out of range (at most %d pixels)", w, h,
                 FV_IMAGE_MAX_PIXELS);
    return NULL;
  }
  fv_image *im = (fv_image *)malloc(sizeof *im);
  uint8_t *px = (uint8_t *)malloc((size_t)w * h * 3);
  if (!im || !px) {
    free(im);
    free(px);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a %dx%d image", w, h);
    return NULL;
  }
  im->w = w;
  im->h = h;
  im->rgb = px;
  return im;
}

/* ---- JPEG pre-check ------------------------------------------------------------
 * stb_image 2.27 (Debian's libstb) trusts a DHT segment's 16 code counts: when
 * they add up to more than 256 codes, stbi__build_huffman writes past its
 * 257-byte table (found by tests/fuzz/image_fuzz.c). Until the distribution
 * carries the fix, every Huffman table is checked here before stb sees it.
 * Returns 0 and sets err when a table is invalid; other damage is stb's to report. */
static int jpeg_tables_ok(const uint8_t *b, size_t n, fv_error *err) {
  /* stb takes any run of 0xFF bytes before a marker, the start-of-image one too */
  size_t i = 0;
  while (i < n && b[i] == 0xFF) i++;
  if (i == 0 || i >= n || b[i] != 0xD8) return 1; /* not a JPEG */
  i++;
  while (i + 4 <= n) {
    if (b[i] != 0xFF) { /* entropy-coded data: skip to the next marker */
      i++;
      continue;
    }
    uint8_t marker = b[i + 1];
    if (marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += (marker == 0xFF) ? 1 : 2; /* fill byte, stuffed zero, restart marker, TEM */
      continue;
    }
    if (marker == 0xD9) return 1; /* end of image */
    size_t len = (size_t)b[i + 2] << 8 | b[i + 3];
    if (len < 2) return 1; /* malformed: stb reports it */
    if (marker == 0xC4) {
      /* stb reads a table's 16 counts whenever the segment has length left, even
       * when they run past the segment or the data (bytes past the end read as 0) */
      size_t p = i + 4, seg_end = i + 2 + len;
      while (p < seg_end && p < n) {
        unsigned codes = 0;
        for (size_t k = p + 1; k < p + 17 && k < n; k++) codes += b[k];
        if (codes > 256) {
          fv_error_set(err, FV_ERR_BAD_IMAGE, "not an image: corrupt JPEG (a Huffman table declares %u codes, at most 256)",
                       codes);
          return 0;
        }
        p += 17 + codes;
      }
    }
    if (i + 2 + len > n) return 1; /* truncated: stb reports it */
    i += 2 + len;
  }
  return 1;
}

fv_image *fv_image_decode(const uint8_t *bytes, size_t n, fv_error *err) {
  fv_error_clear(err);
  if (!bytes || n == 0 || n > INT_MAX) {
    fv_error_set(err, FV_ERR_BAD_IMAGE, "not an image: %s", n ? "too large" : "empty input");
    return NULL;
  }
  if (!jpeg_tables_ok(bytes, n, err)) return NULL;
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes, (int)n, &w, &h, &comp)) {
    fv_error_set(err, FV_ERR_BAD_IMAGE, "not an image (JPEG, PNG, BMP or GIF expected): %s",
                 stbi_failure_reason());
    return NULL;
  }
  if (w <= 0 || h <= 0 || (long long)w * h > FV_IMAGE_MAX_PIXELS) {
    fv_error_set(err, FV_ERR_BAD_IMAGE, "image is %dx%d pixels; at most %d pixels are accepted", w, h,
                 FV_IMAGE_MAX_PIXELS);
    return NULL;
  }
  int dw = 0, dh = 0;
  uint8_t *px = stbi_load_from_memory(bytes, (int)n, &dw, &dh, &comp, 3);
  if (!px) {
    fv_error_set(err, FV_ERR_BAD_IMAGE, "cannot decode image: %s", stbi_failure_reason());
    return NULL;
  }
  fv_image *im = (fv_image *)malloc(sizeof *im);
  if (!im) {
    stbi_image_free(px);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  im->w = dw;
  im->h = dh;
  im->rgb = px; /* stb allocates with malloc (STBI_MALLOC default), freed with free */
  return im;
}

fv_image *fv_image_from_rgba(const uint8_t *rgba, int w, int h, fv_error *err) {
  fv_error_clear(err);
  if (!rgba) {
    fv_error_set(err, FV_ERR_BAD_ARG, "no pixels");
    return NULL;
  }
  fv_image *im = image_alloc(w, h, err);
  if (!im) return NULL;
  size_t np = (size_t)w * h;
  for (size_t i = 0; i < np; i++) memcpy(im->rgb + 3 * i, rgba + 4 * i, 3);
  return im;
}

void fv_image_free(fv_image *im) {
  if (!im) return;
  free(im->rgb);
  free(im);
}

int fv_image_width(const fv_image *im) { return im ? im->w : 0; }
int fv_image_height(const fv_image *im) { return im ? im->h : 0; }
const uint8_t *fv_image_rgb(const fv_image *im) { return im ? im->rgb : NULL; }

/* ---- bilinear resize ---------------------------------------------------------
 * Half-pixel centres, no antialias: source coordinate (d + 0.5) * in/out - 0.5,
 * clamped at 0 and at the last pixel, exactly torch.nn.functional.interpolate
 * (mode='bilinear', align_corners=False). Output is float so the model input
 * carries no extra rounding; fv_image_resize rounds it back to 8 bits. */
void fv_resize_bilinear_f32(const uint8_t *rgb, int iw, int ih, int ow, int oh, float *out) {
  if (iw == ow && ih == oh) { /* same size: every tap weight below is 1 or 0, so this is the same result */
    for (size_t i = 0; i < (size_t)iw * ih * 3; i++) out[i] = (float)rgb[i];
    return;
  }
  float sx = (float)iw / (float)ow, sy = (float)ih / (float)oh;
  for (int y = 0; y < oh; y++) {
    float fy = ((float)y + 0.5f) * sy - 0.5f;
    if (fy < 0) fy = 0;
    int y0 = (int)fy;
    if (y0 > ih - 1) y0 = ih - 1;
    int y1 = y0 + 1 < ih ? y0 + 1 : ih - 1;
    float ly = fy - (float)y0, hy = 1.0f - ly;
    for (int x = 0; x < ow; x++) {
      float fx = ((float)x + 0.5f) * sx - 0.5f;
      if (fx < 0) fx = 0;
      int x0 = (int)fx;
      if (x0 > iw - 1) x0 = iw - 1;
      int x1 = x0 + 1 < iw ? x0 + 1 : iw - 1;
      float lx = fx - (float)x0, hx = 1.0f - lx;
      const uint8_t *p00 = rgb + 3 * ((size_t)y0 * iw + x0), *p01 = rgb + 3 * ((size_t)y0 * iw + x1);
      const uint8_t *p10 = rgb + 3 * ((size_t)y1 * iw + x0), *p11 = rgb + 3 * ((size_t)y1 * iw + x1);
      float *o = out + 3 * ((size_t)y * ow + x);
      for (int c = 0; c < 3; c++)
        o[c] = hy * (hx * p00[c] + lx * p01[c]) + ly * (hx * p10[c] + lx * p11[c]);
    }
  }
}

fv_image *fv_image_resize(const fv_image *im, int w, int h, fv_error *err) {
  fv_error_clear(err);
  if (!im) {
    fv_error_set(err, FV_ERR_BAD_ARG, "no image");
    return NULL;
  }
  fv_image *out = image_alloc(w, h, err);
  if (!out) return NULL;
  float *tmp = (float *)malloc((size_t)w * h * 3 * sizeof(float));
  if (!tmp) {
    fv_image_free(out);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  fv_resize_bilinear_f32(im->rgb, im->w, im->h, w, h, tmp);
  for (size_t i = 0; i < (size_t)w * h * 3; i++) {
    float v = floorf(tmp[i] + 0.5f);
    out->rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
  free(tmp);
  return out;
}
