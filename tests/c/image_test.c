/* image_test.c — photo decoding (stb_image inside the engine), bilinear resize
 * and PNG encoding: real photos of the store, hostile and truncated bytes, and
 * the resize against a plain double-precision reference of the same formula. */
#include "check.h"
#include "fv.h"
#include "image.h"

/* torch.nn.functional.interpolate(bilinear, align_corners=False), in double */
static double ref_resize(const uint8_t *rgb, int iw, int ih, int ow, int oh, int x, int y, int c) {
  double fx = (x + 0.5) * iw / ow - 0.5, fy = (y + 0.5) * ih / oh - 0.5;
  if (fx < 0) fx = 0;
  if (fy < 0) fy = 0;
  int x0 = (int)fx, y0 = (int)fy;
  if (x0 > iw - 1) x0 = iw - 1;
  if (y0 > ih - 1) y0 = ih - 1;
  int x1 = x0 < iw - 1 ? x0 + 1 : x0, y1 = y0 < ih - 1 ? y0 + 1 : y0;
  double lx = fx - x0, ly = fy - y0;
#define P(yy, xx) ((double)rgb[3 * ((size_t)(yy) * iw + (xx)) + c])
  return (1 - ly) * ((1 - lx) * P(y0, x0) + lx * P(y0, x1)) + ly * ((1 - lx) * P(y1, x0) + lx * P(y1, x1));
#undef P
}

static void test_resize(void) {
  int sizes[][4] = {{7, 5, 3, 2}, {3, 2, 7, 5}, {1, 1, 4, 3}, {9, 9, 9, 9}, {16, 4, 5, 11}, {224, 200, 17, 13}};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    int iw = sizes[k][0], ih = sizes[k][1], ow = sizes[k][2], oh = sizes[k][3];
    uint8_t *rgb = (uint8_t *)malloc((size_t)iw * ih * 3);
    for (int i = 0; i < iw * ih * 3; i++) rgb[i] = (uint8_t)check_u32();
    float *out = (float *)malloc((size_t)ow * oh * 3 * sizeof(float));
    fv_resize_bilinear_f32(rgb, iw, ih, ow, oh, out);
    double worst = 0;
    for (int y = 0; y < oh; y++)
      for (int x = 0; x < ow; x++)
        for (int c = 0; c < 3; c++) {
          double d = fabs(out[3 * (y * ow + x) + c] - ref_resize(rgb, iw, ih, ow, oh, x, y, c));
          if (d > worst) worst = d;
        }
    /* the engine computes source coordinates in float, as torch does for float images:
       an error of ~1e-5 of a pixel step on a 0..255 range */
    CHECK(worst < 5e-3, "resize %dx%d -> %dx%d: worst error %g", iw, ih, ow, oh, worst);
    free(rgb);
    free(out);
  }
}

#ifndef __wasm__ /* the wasm tests cannot open files (no WASI path_open in Emscripten 3.1.6) */
static void test_photos(void) {
  const char *names[] = {"cat.bmp", "dragonfly.bmp", "grace_hopper.bmp", "hot_dog.jpg", "owl.jpg", "parrot.jpg"};
  for (size_t k = 0; k < 6; k++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", check_images_dir(), names[k]);
    size_t n = 0;
    uint8_t *bytes = check_read_file(path, &n);
    CHECK(bytes != NULL, "read %s", path);
    if (!bytes) continue;
    fv_error err = {0};
    fv_image *im = fv_image_decode(bytes, n, &err);
    CHECK(im && fv_image_width(im) > 100 && fv_image_height(im) > 100, "%s decodes: %s", names[k], err.msg);
    if (im && strstr(names[k], ".bmp")) {
      /* an uncompressed 24-bit BMP: the decoded pixels are the file's bytes (BGR, bottom-up rows) */
      uint32_t off, w, h;
      memcpy(&off, bytes + 10, 4);
      memcpy(&w, bytes + 18, 4);
      memcpy(&h, bytes + 22, 4);
      size_t stride = ((size_t)w * 3 + 3) & ~(size_t)3;
      int same = (int)w == fv_image_width(im) && (int)h == fv_image_height(im);
      const uint8_t *rgb = fv_image_rgb(im);
      for (uint32_t y = 0; same && y < h; y += 7)
        for (uint32_t x = 0; x < w; x += 5) {
          const uint8_t *f = bytes + off + (size_t)(h - 1 - y) * stride + 3 * x;
          const uint8_t *p = rgb + 3 * ((size_t)y * w + x);
          if (p[0] != f[2] || p[1] != f[1] || p[2] != f[0]) same = 0;
        }
      CHECK(same, "%s: decoded pixels equal the file's BGR bytes", names[k]);
    }
    /* every truncation is a clean error or a smaller image, never a crash */
    for (size_t cut = 0; cut < n; cut += n / 97 + 1) {
      fv_image *t = fv_image_decode(bytes, cut, &err);
      CHECK(t || (err.code == FV_ERR_BAD_IMAGE && err.msg[0]), "%s cut at %zu", names[k], cut);
      fv_image_free(t);
    }
    /* random byte flips */
    uint8_t *copy = (uint8_t *)malloc(n);
    for (int r = 0; r < 40; r++) {
      memcpy(copy, bytes, n);
      for (int f = 0; f < 8; f++) copy[check_u32() % (n < 2048 ? n : 2048)] ^= (uint8_t)(1u << (check_u32() % 8));
      fv_image *t = fv_image_decode(copy, n, &err);
      CHECK(t || err.msg[0], "%s flipped %d", names[k], r);
      fv_image_free(t);
    }
    free(copy);
    fv_image_free(im);
    free(bytes);
  }
}
#endif

static void test_hostile(void) {
  fv_error err = {0};
  CHECK(!fv_image_decode(NULL, 0, &err) && err.code == FV_ERR_BAD_IMAGE, "empty");
  const char *text = "this is not a photo at all";
  CHECK(!fv_image_decode((const uint8_t *)text, strlen(text), &err) && err.code == FV_ERR_BAD_IMAGE &&
            strstr(err.msg, "not an image"),
        "text: %s", err.msg);
  /* a BMP header that claims 60000 x 60000 pixels: refused before any pixel buffer */
  uint8_t bmp[54] = {'B', 'M'};
  uint32_t v;
  v = sizeof bmp; memcpy(bmp + 2, &v, 4);
  v = 54; memcpy(bmp + 10, &v, 4);
  v = 40; memcpy(bmp + 14, &v, 4);
  v = 60000; memcpy(bmp + 18, &v, 4); memcpy(bmp + 22, &v, 4);
  uint16_t s = 1; memcpy(bmp + 26, &s, 2);
  s = 24; memcpy(bmp + 28, &s, 2);
  fv_image *im = fv_image_decode(bmp, sizeof bmp, &err);
  CHECK(!im && err.code == FV_ERR_BAD_IMAGE, "huge BMP refused: %s", err.msg);
  fv_image_free(im);
  /* a JPEG whose Huffman table declares 16 x 255 codes: stb_image 2.27 would write
     past its 257-entry table (tests/fuzz/image_fuzz.c found it); refused before stb */
  {
    size_t len = 2 + 17 + 16 * 255, n = 2 + 2 + len + 2;
    uint8_t *j = (uint8_t *)calloc(n, 1);
    j[0] = 0xFF; j[1] = 0xD8; j[2] = 0xFF; j[3] = 0xC4;
    j[4] = (uint8_t)(len >> 8); j[5] = (uint8_t)len;
    j[6] = 0x00;
    for (int k = 0; k < 16; k++) j[7 + k] = 255;
    j[n - 2] = 0xFF; j[n - 1] = 0xD9;
    fv_image *bad = fv_image_decode(j, n, &err);
    CHECK(!bad && err.code == FV_ERR_BAD_IMAGE && strstr(err.msg, "Huffman"), "oversized Huffman table: %s", err.msg);
    fv_image_free(bad);
    /* the same table in a segment cut short (the fuzzer's second finding): stb reads the counts first */
    bad = fv_image_decode(j, 7 + 16 + 300, &err);
    CHECK(!bad && err.code == FV_ERR_BAD_IMAGE && strstr(err.msg, "Huffman"), "truncated oversized table: %s", err.msg);
    fv_image_free(bad);
    /* a segment whose length leaves room for one more table past its last one
       (the third finding): stb reads that table's counts from the bytes after it */
    j[4] = 0; j[5] = 2 + 17 + 4 + 1; /* one table of 4 codes, and one byte more */
    memset(j + 7, 0, 16);
    j[7 + 15] = 4;
    memset(j + 23, 0, 4);          /* the 4 code values */
    j[27] = 0x00;                  /* the segment's last byte: a class/id for the next table */
    memset(j + 28, 255, 16);       /* whose counts stb reads past the segment's end */
    bad = fv_image_decode(j, n, &err);
    CHECK(!bad && err.code == FV_ERR_BAD_IMAGE && strstr(err.msg, "Huffman"), "table counts past the segment: %s", err.msg);
    fv_image_free(bad);
    /* the start-of-image marker after a run of 0xFF fill bytes (the fourth finding) */
    {
      uint8_t *k = (uint8_t *)malloc(n + 3);
      memset(k, 0xFF, 3);
      memcpy(k + 3, j, n);
      bad = fv_image_decode(k, n + 3, &err);
      CHECK(!bad && err.code == FV_ERR_BAD_IMAGE && strstr(err.msg, "Huffman"), "fill bytes before SOI: %s", err.msg);
      fv_image_free(bad);
      free(k);
    }
    free(j);
  }
  /* image_fuzz finding 5: a PNG whose first IDAT chunk is empty (stb adds 0 to a
     NULL buffer; the sanitizers' pointer-overflow/nonnull checks are waived for stb) */
  {
    static const uint8_t png[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
      0x44, 0x52, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x08, 0x02, 0x00, 0x00,
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x49, 0x44, 0x41, 0x54, 0x9d,
      0x78, 0x5e, 0x63, 0x66, 0x30, 0xcd, 0x9a, 0xbf, 0xeb, 0xca, 0x7b, 0xce, 0x25, 0xfb,
      0x6e, 0x7e, 0xe6, 0x5b, 0x71, 0xf8, 0xec, 0x0f, 0xa1, 0xb5, 0xc7, 0x11, 0x00, 0x00,
      0x00, 0xca, 0x7b, 0xce, 0x25, 0xfb, 0x6e, 0x7e, 0xe6, 0x11, 0x00, 0x00, 0x00, 0xdd,
      0xe1, 0x2b, 0x81, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
      0x82,
    };
    fv_image *im5 = fv_image_decode(png, sizeof png, &err);
    CHECK(im5 || (err.code == FV_ERR_BAD_IMAGE && err.msg[0]), "empty first IDAT: %s", err.msg);
    fv_image_free(im5);
  }
  /* RGBA import and resize refuse absurd sizes */
  uint8_t px[16] = {0};
  CHECK(!fv_image_from_rgba(px, 0, 4, &err) && err.code == FV_ERR_BAD_ARG, "zero width");
  CHECK(!fv_image_from_rgba(px, 100000, 100000, &err), "huge rgba");
  fv_image *one = fv_image_from_rgba(px, 2, 2, &err);
  CHECK(one != NULL, "2x2 rgba");
  CHECK(!fv_image_resize(one, -1, 5, &err), "negative resize");
  fv_image_free(one);
}

static void test_png(void) {
  int w = 13, h = 7;
  uint8_t rgba[13 * 7 * 4];
  for (size_t i = 0; i < sizeof rgba; i++) rgba[i] = (uint8_t)check_u32();
  for (int p = 0; p < w * h; p++) rgba[4 * p + 3] = 255;
  fv_error err = {0};
  size_t n = 0;
  uint8_t *png = fv_png_encode(rgba, w, h, 4, &n, &err);
  CHECK(png && n > 8 && png[0] == 0x89 && png[1] == 'P', "PNG signature");
  fv_image *im = png ? fv_image_decode(png, n, &err) : NULL;
  int same = im && fv_image_width(im) == w && fv_image_height(im) == h;
  for (int p = 0; same && p < w * h; p++)
    for (int c = 0; c < 3; c++) same &= fv_image_rgb(im)[3 * p + c] == rgba[4 * p + c];
  CHECK(same, "PNG round trip is lossless");
  fv_image_free(im);
  fv_free(png);
  CHECK(!fv_png_encode(rgba, 0, 5, 4, &n, &err) && err.code == FV_ERR_BAD_ARG, "bad PNG size");
  CHECK(!fv_png_encode(rgba, 5, 5, 2, &n, &err), "bad channel count");
}

int main(void) {
  check_seed(11);
  test_resize();
  test_hostile();
  test_png();
#ifndef __wasm__
  test_photos();
#endif
  return check_summary("image");
}
