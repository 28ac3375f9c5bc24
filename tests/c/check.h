/* check.h — the tiny harness of the C tests (tests/c/NAME_test.c).
 *
 * Each test file is one program: it calls CHECK(...) as often as it likes and
 * ends main with `return check_summary("name");`, which prints
 * "name: N passed, N failed" and returns non-zero on any failure. The same
 * program is built natively (ASan/UBSan, scalar kernels) and as WASI wasm
 * (SIMD kernels); tests/c.test.mjs runs both under node --test.
 */
#ifndef FV_CHECK_H
#define FV_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed_, check_failed_;

#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (cond) {                                           \
      check_passed_++;                                    \
    } else {                                              \
      check_failed_++;                                    \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);         \
      printf(__VA_ARGS__);                                \
      printf("\n");                                       \
    }                                                     \
  } while (0)

static inline int check_summary(const char *suite) {
#ifdef NDEBUG
  /* the tests are where asserts must run: native and wasm builds of them leave NDEBUG off (emcc.mk) */
  CHECK(0, "built with NDEBUG: the engine's asserts are off in this test program");
#endif
  printf("%s: %d passed, %d failed\n", suite, check_passed_, check_failed_);
  return check_failed_ ? 1 : 0;
}

/* Deterministic test randomness (xorshift64*), independent of libc rand. */
static uint64_t check_rng_ = 0x9E3779B97F4A7C15ull;
static inline void check_seed(uint64_t s) { check_rng_ = s ? s : 1; }
static inline uint32_t check_u32(void) {
  check_rng_ ^= check_rng_ >> 12;
  check_rng_ ^= check_rng_ << 25;
  check_rng_ ^= check_rng_ >> 27;
  return (uint32_t)((check_rng_ * 0x2545F4914F6CDD1Dull) >> 32);
}
static inline int check_int(int lo, int hi) { /* inclusive */
  return lo + (int)(check_u32() % (uint32_t)(hi - lo + 1));
}
static inline float check_uniform(float lo, float hi) {
  return lo + (hi - lo) * (float)(check_u32() >> 8) * (1.0f / 16777216.0f);
}
static inline void check_fill(float *x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) x[i] = check_uniform(lo, hi);
}

/* Largest |a-b| / (atol + rtol*|b|) over n floats; <= 1 means close. */
static inline double check_close_ratio(const float *a, const float *b, size_t n, double atol, double rtol) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    double r = d / (atol + rtol * fabs((double)b[i]));
    if (isnan(r)) return INFINITY; /* a NaN anywhere is the worst */
    if (r > worst) worst = r;
  }
  return worst;
}

/* Read a whole file (tests read models and photos from the store). */
static inline uint8_t *check_read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = (uint8_t *)malloc(len > 0 ? (size_t)len : 1);
  if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) { free(buf); buf = NULL; }
  fclose(f);
  if (buf) *n = (size_t)len;
  return buf;
}

/* The model store: $FEATVIZ_MODELS, else ../shared/models relative to the repo. */
static inline const char *check_models_dir(void) {
  const char *d = getenv("FEATVIZ_MODELS");
  return d && *d ? d : "../shared/models";
}
static inline const char *check_images_dir(void) {
  const char *d = getenv("FEATVIZ_IMAGES");
  return d && *d ? d : "../shared/images";
}

#ifdef FV_H
/* A model of the store by file name, or NULL (after a failed CHECK saying why). */
static inline fv_model *check_store_model(const char *file) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", check_models_dir(), file);
  size_t n = 0;
  uint8_t *bytes = check_read_file(path, &n);
  CHECK(bytes != NULL, "read %s", path);
  fv_error err = {0};
  fv_model *m = bytes ? fv_model_load(bytes, n, &err) : NULL;
  CHECK(!bytes || m != NULL, "load %s: %s", path, err.msg);
  free(bytes);
  return m;
}
#endif

#endif
