/* image_fuzz.c — libFuzzer target for photo decoding: stb_image inside the
 * engine reads untrusted bytes (JPEG, PNG, BMP, GIF) dropped on the page. */
#include <stddef.h>
#include <stdint.h>

#include "fv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fv_error err;
  fv_image *im = fv_image_decode(data, size, &err);
  if (!im) return 0;
  /* touch every pixel through the resize the inference path uses */
  fv_image *small = fv_image_resize(im, 17, 11, &err);
  volatile unsigned sum = 0;
  if (small)
    for (int i = 0; i < 17 * 11 * 3; i++) sum += fv_image_rgb(small)[i];
  fv_image_free(small);
  fv_image_free(im);
  return 0;
}
