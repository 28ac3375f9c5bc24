/* png.c — PNG out, to memory, through stb_image_write's callback (no file
 * system under WASM). The caller frees the buffer with fv_free. */
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "stb_image_write.h"
#pragma GCC diagnostic pop

typedef struct {
  uint8_t *buf;
  size_t len, cap;
  int failed;
} png_sink;

static void png_write(void *ctx, void *data, int size) {
  png_sink *s = (png_sink *)ctx;
  if (s->failed || size <= 0) return;
  if (s->len + (size_t)size > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    while (cap < s->len + (size_t)size) cap *= 2;
    uint8_t *nb = (uint8_t *)realloc(s->buf, cap);
    if (!nb) {
      s->failed = 1;
      return;
    }
    s->buf = nb;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, data, (size_t)size);
  s->len += (size_t)size;
}

uint8_t *fv_png_encode(const uint8_t *pixels, int w, int h, int channels, size_t *out_len, fv_error *err) {
  fv_error_clear(err);
  if (!pixels || w <= 0 || h <= 0 || w > 16384 || h > 16384 || (channels != 3 && channels != 4)) {
    fv_error_set(err, FV_ERR_BAD_ARG, "cannot encode a %dx%d image with %d channels", w, h, channels);
    return NULL;
  }
  png_sink s = {0};
  if (!stbi_write_png_to_func(png_write, &s, w, h, channels, pixels, w * channels) || s.failed) {
    free(s.buf);
    fv_error_set(err, FV_ERR_NO_MEMORY, "PNG encoding failed (out of memory?)");
    return NULL;
  }
  if (out_len) *out_len = s.len;
  return s.buf;
}
