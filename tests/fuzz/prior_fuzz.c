/* prior_fuzz.c — libFuzzer target for prior.bin (src/prior.h): a file the CLI and
 * the page read from outside. Each input is tried as it is and resealed (its
 * CRC-32 rewritten), so that mutations get past the checksum to the header
 * checks, the weights, the covariances and their factorization. */
#include <stdlib.h>
#include <string.h>

#include "prior.h"
#include "prior_impl.h"

static void try_load(const uint8_t *b, size_t n) {
  fv_error err;
  fv_prior *p = fv_prior_load(b, n, &err);
  if (!p) return;
  /* a prior that loads must evaluate: one 8x8 patch of grey with its gradient */
  float img[8 * 8 * 3], g[8 * 8 * 3] = {0};
  for (int i = 0; i < 8 * 8 * 3; i++) img[i] = 0.25f + 0.01f * (i % 7);
  float *scratch = (float *)malloc(fv_prior_scratch_floats(p) * sizeof(float));
  if (scratch) fv_prior_nll(p, img, 1, 8, 8, FV_PRIOR_STRIDE, g, 1.0f, scratch);
  free(scratch);
  fv_prior_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try_load(data, size);
  if (size < 8) return 0;
  uint8_t *c = (uint8_t *)malloc(size);
  if (!c) return 0;
  memcpy(c, data, size);
  const uint32_t crc = fv_prior_crc32(c, size - 4);
  for (int i = 0; i < 4; i++) c[size - 4 + i] = (uint8_t)(crc >> (8 * i));
  try_load(c, size);
  free(c);
  return 0;
}
