/* lrn.c — LOCAL_RESPONSE_NORMALIZATION across channels (ONNX LRN, Caffe's
 * ACROSS_CHANNELS), forward and input-gradient, NHWC.
 *
 * Per pixel, with t[c] = bias + alpha · Σ_{i = c−lo .. c+hi, 0 <= i < C} x[i]²
 * (alpha per element: ONNX's alpha / size; lo = ⌊(size−1)/2⌋, hi = ⌈(size−1)/2⌉):
 *   y[c] = x[c] / t[c]^beta
 *   dx[j] += dy[j] / t[j]^beta − 2·alpha·beta · x[j] · Σ_{c = j−hi .. j+lo} dy[c]·y[c] / t[c]
 * (the second term: y[c] depends on x[j] through t[c] when j is in c's window,
 * that is when c is in [j − hi, j + lo]).
 *
 * The scalar reference recomputes each t it needs (no scratch: O(C·size²) per
 * pixel in the gradient, plain to read). The SIMD twin works a pixel at a
 * time in stack buffers: the squares with zeros around them (so every window
 * is a run of vector loads, summed in the scalar order; the zeros add
 * nothing), t, and dy·y/t (the gradient as dy·x/(t·t^beta), one division a
 * channel for both its terms); t^beta for beta 0.75 (Caffe's and ONNX's
 * default, GoogLeNet's) as √t·√√t, 0.5 and 1 likewise exactly, any other
 * beta through powf per lane. So it equals the scalar kernel up to the
 * rounding of t^beta. More channels than its buffers hold run scalar.
 */
#include <math.h>
#include <string.h>
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

static inline float lrn_t(const fv_lrn_shape *s, const float *x, int c) {
  const int i0 = c - s->lo > 0 ? c - s->lo : 0, i1 = c + s->hi < s->c - 1 ? c + s->hi : s->c - 1;
  float ss = 0.0f;
  for (int i = i0; i <= i1; i++) ss += x[i] * x[i];
  return s->bias + s->alpha * ss;
}

/* ==== scalar ===================================================================== */

void fv_f32_lrn__scalar FV_PARAMS_lrn {
  const int C = s->c;
  for (size_t p = 0; p < s->pixels; p++, x += C, y += C)
    for (int c = 0; c < C; c++) y[c] = x[c] / powf(lrn_t(s, x, c), s->beta);
}

void fv_f32_lrn_grad__scalar FV_PARAMS_lrn_grad {
  const int C = s->c;
  const float coef = 2.0f * s->alpha * s->beta;
  for (size_t p = 0; p < s->pixels; p++, x += C, y += C, dy += C, dx += C)
    for (int j = 0; j < C; j++) {
      const int c0 = j - s->hi > 0 ? j - s->hi : 0, c1 = j + s->lo < C - 1 ? j + s->lo : C - 1;
      float v = 0.0f;
      for (int c = c0; c <= c1; c++) v += dy[c] * y[c] / lrn_t(s, x, c);
      dx[j] += dy[j] / powf(lrn_t(s, x, j), s->beta) - coef * x[j] * v;
    }
}

/* ==== wasm simd ================================================================== */
#ifdef __wasm_simd128__

#define LRN_BUF 4096 /* floats per stack buffer: channels plus the window's zeros */

/* t^beta, one lane and four */
static inline float pow1(float t, float beta) {
  if (beta == 0.75f) return sqrtf(t) * sqrtf(sqrtf(t));
  if (beta == 0.5f) return sqrtf(t);
  if (beta == 1.0f) return t;
  return powf(t, beta);
}
static inline v128_t pow4(v128_t t, float beta) {
  if (beta == 0.75f) {
    const v128_t r = wasm_f32x4_sqrt(t);
    return wasm_f32x4_mul(r, wasm_f32x4_sqrt(r));
  }
  if (beta == 0.5f) return wasm_f32x4_sqrt(t);
  if (beta == 1.0f) return t;
  return wasm_f32x4_make(powf(wasm_f32x4_extract_lane(t, 0), beta), powf(wasm_f32x4_extract_lane(t, 1), beta),
                         powf(wasm_f32x4_extract_lane(t, 2), beta), powf(wasm_f32x4_extract_lane(t, 3), beta));
}

/* t[c] for c < C from sq = the squares with lo zeros before and hi after */
static void lrn_t_row(const fv_lrn_shape *s, const float *sq, float *t) {
  const int C = s->c, n = s->lo + s->hi + 1;
  const v128_t alpha = wasm_f32x4_splat(s->alpha), bias = wasm_f32x4_splat(s->bias);
  int c = 0;
  for (; c + 4 <= C; c += 4) {
    v128_t ss = wasm_f32x4_splat(0.0f);
    for (int d = 0; d < n; d++) ss = wasm_f32x4_add(ss, wasm_v128_load(sq + c + d));
    wasm_v128_store(t + c, wasm_f32x4_add(bias, wasm_f32x4_mul(alpha, ss)));
  }
  for (; c < C; c++) {
    float ss = 0.0f;
    for (int d = 0; d < n; d++) ss += sq[c + d];
    t[c] = s->bias + s->alpha * ss;
  }
}

/* sq[k] = x[k − before]² inside, 0 in the before / after margins */
static void squares(int C, int before, int after, const float *x, float *sq) {
  memset(sq, 0, (size_t)before * sizeof *sq);
  int c = 0;
  for (; c + 4 <= C; c += 4) {
    const v128_t v = wasm_v128_load(x + c);
    wasm_v128_store(sq + before + c, wasm_f32x4_mul(v, v));
  }
  for (; c < C; c++) sq[before + c] = x[c] * x[c];
  memset(sq + before + C, 0, (size_t)after * sizeof *sq);
}

void fv_f32_lrn__wasmsimd FV_PARAMS_lrn {
  const int C = s->c;
  if (C + s->lo + s->hi > LRN_BUF) {
    fv_f32_lrn__scalar(s, x, y);
    return;
  }
  float sq[LRN_BUF] __attribute__((aligned(16))), t[LRN_BUF] __attribute__((aligned(16)));
  for (size_t p = 0; p < s->pixels; p++, x += C, y += C) {
    squares(C, s->lo, s->hi, x, sq);
    lrn_t_row(s, sq, t);
    int c = 0;
    for (; c + 4 <= C; c += 4)
      wasm_v128_store(y + c, wasm_f32x4_div(wasm_v128_load(x + c), pow4(wasm_v128_load(t + c), s->beta)));
    for (; c < C; c++) y[c] = x[c] / pow1(t[c], s->beta);
  }
}

void fv_f32_lrn_grad__wasmsimd FV_PARAMS_lrn_grad {
  const int C = s->c, n = s->lo + s->hi + 1;
  if (C + s->lo + s->hi > LRN_BUF) {
    fv_f32_lrn_grad__scalar(s, x, y, dy, dx);
    return;
  }
  float sq[LRN_BUF] __attribute__((aligned(16))), t[LRN_BUF] __attribute__((aligned(16)));
  float u[LRN_BUF] __attribute__((aligned(16)));
  const float coef = 2.0f * s->alpha * s->beta;
  const v128_t coef4 = wasm_f32x4_splat(coef);
  for (size_t p = 0; p < s->pixels; p++, x += C, y += C, dy += C, dx += C) {
    squares(C, s->lo, s->hi, x, sq);
    lrn_t_row(s, sq, t);
    /* One division a channel, not two: rt[c] = 1 / (t[c]·t[c]^beta), so dy / t^beta = dy·t·rt
     * and dy·y / t = dy·x·rt (y = x / t^beta). rt goes where the squares were.
     * u[hi + c] = dy[c]·x[c]·rt[c], with hi zeros before and lo after: the reverse window. */
    float *rt = sq;
    memset(u, 0, (size_t)s->hi * sizeof *u);
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      const v128_t tc = wasm_v128_load(t + c);
      const v128_t r = wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(tc, pow4(tc, s->beta)));
      wasm_v128_store(rt + c, r);
      wasm_v128_store(u + s->hi + c, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(dy + c), wasm_v128_load(x + c)), r));
    }
    for (; c < C; c++) {
      rt[c] = 1.0f / (t[c] * pow1(t[c], s->beta));
      u[s->hi + c] = dy[c] * x[c] * rt[c];
    }
    memset(u + s->hi + C, 0, (size_t)s->lo * sizeof *u);
    int j = 0;
    for (; j + 4 <= C; j += 4) {
      v128_t v = wasm_f32x4_splat(0.0f);
      for (int d = 0; d < n; d++) v = wasm_f32x4_add(v, wasm_v128_load(u + j + d));
      const v128_t first = wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(dy + j), wasm_v128_load(t + j)), wasm_v128_load(rt + j));
      const v128_t second = wasm_f32x4_mul(wasm_f32x4_mul(coef4, wasm_v128_load(x + j)), v);
      wasm_v128_store(dx + j, wasm_f32x4_add(wasm_v128_load(dx + j), wasm_f32x4_sub(first, second)));
    }
    for (; j < C; j++) {
      float v = 0.0f;
      for (int d = 0; d < n; d++) v += u[j + d];
      dx[j] += dy[j] * t[j] * rt[j] - coef * x[j] * v;
    }
  }
}

#endif
