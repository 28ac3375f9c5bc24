/* elementwise.c — ADD and MUL with NHWC broadcasting, forward and input-gradient.
 *
 * Each input dim equals the output's or is 1 (it repeats). The kernels read an
 * input through strides that are 0 along its broadcast dims; the gradients
 * therefore sum dy over those dims (da[ia] += ... for every output index).
 *
 * The SIMD twins vectorize along C: the same-shape case (MobileNet's residual
 * adds) as one flat loop, the rest row by row with a splat when an input's C
 * is 1. They add in the same order as the scalar code, so results match it
 * exactly.
 */
#include <assert.h>
#include <stddef.h>
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

/* prototypes from the signatures in kernels.h, so a mismatch fails to compile */
fv_bcast_fn fv_f32_add__scalar, fv_f32_add__wasmsimd, fv_f32_mul__scalar, fv_f32_mul__wasmsimd;
fv_bcast_grad_fn fv_f32_add_grad__scalar, fv_f32_add_grad__wasmsimd;
void fv_f32_mul_grad__scalar(const fv_bcast_shape *s, const float *a, const float *b, const float *dy, float *da,
                             float *db);

/* Element strides of an input with dims d read at the output's coordinates. */
static void bcast_strides(const int d[4], const int y[4], size_t st[4]) {
  size_t s = 1;
  for (int k = 3; k >= 0; k--) {
    assert(d[k] == y[k] || d[k] == 1);
    st[k] = d[k] == 1 ? 0 : s;
    s *= (size_t)d[k];
  }
}

/* Fused activation of one value, as compares so NaN passes through exactly as
 * wasm's pmax/pmin do in the SIMD twin (and as conv_family.h's fv_act1). */
static inline float act1(fv_act act, float v) {
  if (act == FV_ACT_NONE) return v;
  v = v < 0.0f ? 0.0f : v;
  return act == FV_ACT_RELU6 && v > 6.0f ? 6.0f : v;
}

/* ==== scalar ===================================================================== */

static void binary_scalar(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y, int mul) {
  size_t sa[4], sb[4], i = 0;
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++) {
        const float *pa = a + n * sa[0] + h * sa[1] + w * sa[2];
        const float *pb = b + n * sb[0] + h * sb[1] + w * sb[2];
        for (int c = 0; c < s->y[3]; c++) {
          float u = pa[c * sa[3]], v = pb[c * sb[3]];
          y[i++] = act1(act, mul ? u * v : u + v);
        }
      }
}

void fv_f32_add__scalar(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y) {
  binary_scalar(s, a, b, act, y, 0);
}

void fv_f32_mul__scalar(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y) {
  binary_scalar(s, a, b, act, y, 1);
}

void fv_f32_add_grad__scalar(const fv_bcast_shape *s, const float *dy, float *da, float *db) {
  size_t sa[4], sb[4], i = 0;
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++)
        for (int c = 0; c < s->y[3]; c++, i++) {
          if (da) da[n * sa[0] + h * sa[1] + w * sa[2] + c * sa[3]] += dy[i];
          if (db) db[n * sb[0] + h * sb[1] + w * sb[2] + c * sb[3]] += dy[i];
        }
}

void fv_f32_mul_grad__scalar(const fv_bcast_shape *s, const float *a, const float *b, const float *dy, float *da,
                             float *db) {
  size_t sa[4], sb[4], i = 0;
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++)
        for (int c = 0; c < s->y[3]; c++, i++) {
          size_t ia = n * sa[0] + h * sa[1] + w * sa[2] + c * sa[3];
          size_t ib = n * sb[0] + h * sb[1] + w * sb[2] + c * sb[3];
          if (da) da[ia] += dy[i] * b[ib];
          if (db) db[ib] += dy[i] * a[ia];
        }
}

/* ==== wasm simd ================================================================== */
#ifdef __wasm_simd128__

static int same_dims(const int a[4], const int b[4]) {
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* the scalar act1 exactly: pmax(v, 0) = v < 0 ? 0 : v, pmin(v, 6) = 6 < v ? 6 : v */
static inline v128_t act4(fv_act act, v128_t v) {
  if (act == FV_ACT_NONE) return v;
  v = wasm_f32x4_pmax(v, wasm_f32x4_splat(0.0f));
  return act == FV_ACT_RELU6 ? wasm_f32x4_pmin(v, wasm_f32x4_splat(6.0f)) : v;
}

static inline v128_t op4(int mul, v128_t u, v128_t v) { return mul ? wasm_f32x4_mul(u, v) : wasm_f32x4_add(u, v); }

static void binary_simd(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y, int mul) {
  if (same_dims(s->a, s->y) && same_dims(s->b, s->y)) {
    size_t total = (size_t)s->y[0] * s->y[1] * s->y[2] * s->y[3], i = 0;
    for (; i + 8 <= total; i += 8) {
      v128_t r0 = op4(mul, wasm_v128_load(a + i), wasm_v128_load(b + i));
      v128_t r1 = op4(mul, wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4));
      wasm_v128_store(y + i, act4(act, r0));
      wasm_v128_store(y + i + 4, act4(act, r1));
    }
    for (; i + 4 <= total; i += 4)
      wasm_v128_store(y + i, act4(act, op4(mul, wasm_v128_load(a + i), wasm_v128_load(b + i))));
    for (; i < total; i++) y[i] = act1(act, mul ? a[i] * b[i] : a[i] + b[i]);
    return;
  }
  size_t sa[4], sb[4];
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  const int C = s->y[3];
  const int a_row = s->a[3] == C, b_row = s->b[3] == C; /* else the input's C is 1: splat */
  float *py = y;
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++, py += C) {
        const float *pa = a + n * sa[0] + h * sa[1] + w * sa[2];
        const float *pb = b + n * sb[0] + h * sb[1] + w * sb[2];
        const v128_t sa0 = wasm_f32x4_splat(pa[0]), sb0 = wasm_f32x4_splat(pb[0]);
        int c = 0;
        for (; c + 4 <= C; c += 4) {
          v128_t u = a_row ? wasm_v128_load(pa + c) : sa0;
          v128_t v = b_row ? wasm_v128_load(pb + c) : sb0;
          wasm_v128_store(py + c, act4(act, op4(mul, u, v)));
        }
        for (; c < C; c++) {
          float u = pa[c * sa[3]], v = pb[c * sb[3]];
          py[c] = act1(act, mul ? u * v : u + v);
        }
      }
}

void fv_f32_add__wasmsimd(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y) {
  binary_simd(s, a, b, act, y, 0);
}

void fv_f32_mul__wasmsimd(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y) {
  binary_simd(s, a, b, act, y, 1);
}

/* d[k] += g[k] for k < n */
static void acc_simd(size_t n, const float *g, float *d) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    wasm_v128_store(d + i, wasm_f32x4_add(wasm_v128_load(d + i), wasm_v128_load(g + i)));
    wasm_v128_store(d + i + 4, wasm_f32x4_add(wasm_v128_load(d + i + 4), wasm_v128_load(g + i + 4)));
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(d + i, wasm_f32x4_add(wasm_v128_load(d + i), wasm_v128_load(g + i)));
  for (; i < n; i++) d[i] += g[i];
}

/* one input's share of the ADD gradient, row by row in the scalar code's order */
static void add_grad_input_simd(const fv_bcast_shape *s, const int d[4], const float *dy, float *dd) {
  size_t st[4];
  bcast_strides(d, s->y, st);
  const int C = s->y[3];
  const float *g = dy;
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++, g += C) {
        float *p = dd + n * st[0] + h * st[1] + w * st[2];
        if (d[3] == C) {
          acc_simd((size_t)C, g, p);
        } else {
          for (int c = 0; c < C; c++) p[0] += g[c];
        }
      }
}

void fv_f32_add_grad__wasmsimd(const fv_bcast_shape *s, const float *dy, float *da, float *db) {
  if (same_dims(s->a, s->y) && same_dims(s->b, s->y)) {
    size_t total = (size_t)s->y[0] * s->y[1] * s->y[2] * s->y[3];
    if (da) acc_simd(total, dy, da);
    if (db) acc_simd(total, dy, db);
    return;
  }
  if (da) add_grad_input_simd(s, s->a, dy, da);
  if (db) add_grad_input_simd(s, s->b, dy, db);
}

#endif

/* ==== dispatch =================================================================== */

void fv_add(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y) { FV_PICK(add)(s, a, b, act, y); }

void fv_add_grad(const fv_bcast_shape *s, const float *dy, float *da, float *db) { FV_PICK(add_grad)(s, dy, da, db); }

void fv_mul(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y) { FV_PICK(mul)(s, a, b, act, y); }

void fv_mul_grad(const fv_bcast_shape *s, const float *a, const float *b, const float *dy, float *da, float *db) {
  fv_f32_mul_grad__scalar(s, a, b, dy, da, db);
}
