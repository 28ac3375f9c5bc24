/* elementwise.c — the binary ops with NHWC broadcasting, forward and
 * input-gradient: ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM and PRELU (its slope
 * is the second input). One op kind, seven formulas: they share the
 * broadcast walk, so they live together.
 *
 * Each input dim equals the output's or is 1 (it repeats). The kernels read an
 * input through strides that are 0 along its broadcast dims; the gradients
 * therefore sum over those dims (da[ia] += ... for every output index).
 * Either input may be an activation or a constant (the graph passes NULL for
 * a constant's gradient).
 *
 * Formulas (u from a, v from b; ties of MAXIMUM/MINIMUM go to a, as
 * TensorFlow's MaximumGrad does, so the gradient is never split):
 *   ADD u + v          da += dy            db += dy
 *   SUB u − v          da += dy            db −= dy
 *   MUL u · v          da += dy·v          db += dy·u
 *   DIV u / v          da += q = dy / v    db += −q·(u / v)
 *   MAXIMUM u < v ? v : u    da += u < v ? 0 : dy    db += u < v ? dy : 0
 *   MINIMUM v < u ? v : u    da += v < u ? 0 : dy    db += v < u ? dy : 0
 *   PRELU u > 0 ? u : u·v    da += u > 0 ? dy : dy·v   db += u > 0 ? 0 : dy·u
 * MAXIMUM and MINIMUM are wasm's pmax/pmin written in C.
 *
 * The SIMD twins vectorize along C: the same-shape case (residual adds) as
 * one flat loop, the rest row by row with a splat when an input's C is 1,
 * whose gradient is then summed lane by lane in the scalar order. They do
 * the scalar code's float operations in its order, so results match it
 * exactly.
 */
#include <assert.h>
#include <stddef.h>
#include "clamp.h"
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_PRELU } binop;

/* The kernels of each op are one-line wrappers of the shared ones, stamped out from these lists. */
#define FORWARD_OPS(X) X(add, B_ADD) X(sub, B_SUB) X(mul, B_MUL) X(div, B_DIV) X(maximum, B_MAX) X(minimum, B_MIN) X(prelu, B_PRELU)
#define GRAD_AB_OPS(X) X(mul, B_MUL) X(div, B_DIV) X(maximum, B_MAX) X(minimum, B_MIN) X(prelu, B_PRELU)

#define INLINE static inline __attribute__((always_inline))

/* Element strides of an input with dims d read at the output's coordinates. */
static void bcast_strides(const int d[4], const int y[4], size_t st[4]) {
  size_t s = 1;
  for (int k = 3; k >= 0; k--) {
    assert(d[k] == y[k] || d[k] == 1);
    st[k] = d[k] == 1 ? 0 : s;
    s *= (size_t)d[k];
  }
}

INLINE float op1(binop k, float u, float v) {
  switch (k) {
    case B_ADD: return u + v;
    case B_SUB: return u - v;
    case B_MUL: return u * v;
    case B_DIV: return u / v;
    case B_MAX: return u < v ? v : u;
    case B_MIN: return v < u ? v : u;
    default: return u > 0.0f ? u : u * v;
  }
}

/* the two partial gradients of one output element (the ops that read the inputs) */
INLINE void grad1(binop k, float u, float v, float g, float *ga, float *gb) {
  switch (k) {
    case B_MUL: *ga = g * v, *gb = g * u; break;
    case B_DIV: {
      const float q = g / v;
      *ga = q, *gb = -(q * (u / v));
      break;
    }
    case B_MAX: *ga = u < v ? 0.0f : g, *gb = u < v ? g : 0.0f; break;
    case B_MIN: *ga = v < u ? 0.0f : g, *gb = v < u ? g : 0.0f; break;
    default: *ga = u > 0.0f ? g : g * v, *gb = u > 0.0f ? 0.0f : g * u; break;
  }
}

/* ==== scalar ===================================================================== */

INLINE void binary_scalar(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y, binop k) {
  size_t sa[4], sb[4], i = 0;
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++) {
        const float *pa = a + n * sa[0] + h * sa[1] + w * sa[2];
        const float *pb = b + n * sb[0] + h * sb[1] + w * sb[2];
        for (int c = 0; c < s->y[3]; c++) y[i++] = fv_act1(act, op1(k, pa[c * sa[3]], pb[c * sb[3]]));
      }
}

#define SCALAR_FORWARD(op, k) \
  void fv_f32_##op##__scalar FV_PARAMS_bcast { binary_scalar(s, a, b, act, y, k); }
FORWARD_OPS(SCALAR_FORWARD)

/* ADD and SUB: sign = +1 or -1 for b */
INLINE void sum_grad_scalar(const fv_bcast_shape *s, const float *dy, float *da, float *db, int sub) {
  size_t sa[4], sb[4], i = 0;
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++)
        for (int c = 0; c < s->y[3]; c++, i++) {
          if (da) da[n * sa[0] + h * sa[1] + w * sa[2] + c * sa[3]] += dy[i];
          if (db) {
            float *d = &db[n * sb[0] + h * sb[1] + w * sb[2] + c * sb[3]];
            *d = sub ? *d - dy[i] : *d + dy[i];
          }
        }
}

void fv_f32_add_grad__scalar FV_PARAMS_bcast_grad { sum_grad_scalar(s, dy, da, db, 0); }
void fv_f32_sub_grad__scalar FV_PARAMS_bcast_grad { sum_grad_scalar(s, dy, da, db, 1); }

INLINE void binary_grad_scalar(const fv_bcast_shape *s, const float *a, const float *b, const float *dy, float *da,
                               float *db, binop k) {
  size_t sa[4], sb[4], i = 0;
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++)
        for (int c = 0; c < s->y[3]; c++, i++) {
          const size_t ia = n * sa[0] + h * sa[1] + w * sa[2] + c * sa[3];
          const size_t ib = n * sb[0] + h * sb[1] + w * sb[2] + c * sb[3];
          float ga, gb;
          grad1(k, a[ia], b[ib], dy[i], &ga, &gb);
          if (da) da[ia] += ga;
          if (db) db[ib] += gb;
        }
}

#define SCALAR_GRAD(op, k) \
  void fv_f32_##op##_grad__scalar FV_PARAMS_bcast_grad_ab { binary_grad_scalar(s, a, b, dy, da, db, k); }
GRAD_AB_OPS(SCALAR_GRAD)

/* ==== wasm simd ================================================================== */
#ifdef __wasm_simd128__

static int same_dims(const int a[4], const int b[4]) {
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Dims of an input that holds one value per channel, or one value: broadcast over n, h and w. */
static int per_channel(const int d[4]) { return d[0] == 1 && d[1] == 1 && d[2] == 1; }
#define PC_MAX 8 /* channels of such an input the flat path takes (its pattern: 4 copies) */

INLINE v128_t op4(binop k, v128_t u, v128_t v) {
  switch (k) {
    case B_ADD: return wasm_f32x4_add(u, v);
    case B_SUB: return wasm_f32x4_sub(u, v);
    case B_MUL: return wasm_f32x4_mul(u, v);
    case B_DIV: return wasm_f32x4_div(u, v);
    case B_MAX: return wasm_f32x4_pmax(u, v);
    case B_MIN: return wasm_f32x4_pmin(u, v);
    default: return wasm_v128_bitselect(u, wasm_f32x4_mul(u, v), wasm_f32x4_gt(u, wasm_f32x4_splat(0.0f)));
  }
}

INLINE void grad4(binop k, v128_t u, v128_t v, v128_t g, v128_t *ga, v128_t *gb) {
  switch (k) {
    case B_MUL: *ga = wasm_f32x4_mul(g, v), *gb = wasm_f32x4_mul(g, u); break;
    case B_DIV: {
      const v128_t q = wasm_f32x4_div(g, v);
      *ga = q, *gb = wasm_f32x4_neg(wasm_f32x4_mul(q, wasm_f32x4_div(u, v)));
      break;
    }
    case B_MAX: {
      const v128_t m = wasm_f32x4_lt(u, v);
      *ga = wasm_v128_andnot(g, m), *gb = wasm_v128_and(g, m);
      break;
    }
    case B_MIN: {
      const v128_t m = wasm_f32x4_lt(v, u);
      *ga = wasm_v128_andnot(g, m), *gb = wasm_v128_and(g, m);
      break;
    }
    default: {
      const v128_t pos = wasm_f32x4_gt(u, wasm_f32x4_splat(0.0f));
      *ga = wasm_v128_bitselect(g, wasm_f32x4_mul(g, v), pos), *gb = wasm_v128_andnot(wasm_f32x4_mul(g, u), pos);
      break;
    }
  }
}

INLINE void binary_simd(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y, binop k) {
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  if (same_dims(s->a, s->y) && same_dims(s->b, s->y)) {
    size_t total = (size_t)s->y[0] * s->y[1] * s->y[2] * s->y[3], i = 0;
    for (; i + 8 <= total; i += 8) {
      v128_t r0 = op4(k, wasm_v128_load(a + i), wasm_v128_load(b + i));
      v128_t r1 = op4(k, wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4));
      wasm_v128_store(y + i, fv_act4(r0, lo, hi));
      wasm_v128_store(y + i + 4, fv_act4(r1, lo, hi));
    }
    for (; i + 4 <= total; i += 4)
      wasm_v128_store(y + i, fv_act4(op4(k, wasm_v128_load(a + i), wasm_v128_load(b + i)), lo, hi));
    for (; i < total; i++) y[i] = fv_act1(act, op1(k, a[i], b[i]));
    return;
  }
  const int C = s->y[3];
  const int b_pc = same_dims(s->a, s->y) && per_channel(s->b), a_pc = !b_pc && same_dims(s->b, s->y) && per_channel(s->a);
  if (C <= PC_MAX && (a_pc || b_pc)) {
    /* One input whole, the other a value per channel (GoogLeNet's mean): the channels
     * repeat along the flat image, so 4 copies of that row make whole vectors (with
     * 3 channels the loop below ran a scalar tail per pixel). */
    const float *full = b_pc ? a : b, *row = b_pc ? b : a;
    const int rc = (b_pc ? s->b : s->a)[3], L = 4 * C; /* rc: C, or 1 (one value) */
    float pat[4 * PC_MAX];
    for (int i = 0; i < L; i++) pat[i] = row[rc == 1 ? 0 : i % C];
    const size_t total = (size_t)s->y[0] * s->y[1] * s->y[2] * C;
    size_t i = 0;
    for (; i + L <= total; i += L)
      for (int j = 0; j < L; j += 4) {
        const v128_t f = wasm_v128_load(full + i + j), r = wasm_v128_load(pat + j);
        wasm_v128_store(y + i + j, fv_act4(b_pc ? op4(k, f, r) : op4(k, r, f), lo, hi));
      }
    for (; i < total; i++) y[i] = fv_act1(act, b_pc ? op1(k, full[i], pat[i % L]) : op1(k, pat[i % L], full[i]));
    return;
  }
  size_t sa[4], sb[4];
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
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
          wasm_v128_store(py + c, fv_act4(op4(k, u, v), lo, hi));
        }
        for (; c < C; c++) py[c] = fv_act1(act, op1(k, pa[c * sa[3]], pb[c * sb[3]]));
      }
}

#define SIMD_FORWARD(op, k) \
  void fv_f32_##op##__wasmsimd FV_PARAMS_bcast { binary_simd(s, a, b, act, y, k); }
FORWARD_OPS(SIMD_FORWARD)

/* d[k] += g[k] (sub: d[k] -= g[k]) for k < n */
static void acc_simd(size_t n, const float *g, float *d, int sub) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t x = wasm_v128_load(d + i), v = wasm_v128_load(g + i);
    wasm_v128_store(d + i, sub ? wasm_f32x4_sub(x, v) : wasm_f32x4_add(x, v));
  }
  for (; i < n; i++) d[i] = sub ? d[i] - g[i] : d[i] + g[i];
}

/* one input's share of the ADD/SUB gradient, row by row in the scalar code's order */
static void sum_grad_input_simd(const fv_bcast_shape *s, const int d[4], const float *dy, float *dd, int sub) {
  if (same_dims(d, s->y)) { /* the whole input: one flat pass (C = 3 ran a scalar tail per pixel) */
    acc_simd((size_t)s->y[0] * s->y[1] * s->y[2] * s->y[3], dy, dd, sub);
    return;
  }
  size_t st[4];
  bcast_strides(d, s->y, st);
  const int C = s->y[3];
  const float *g = dy;
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++, g += C) {
        float *p = dd + n * st[0] + h * st[1] + w * st[2];
        if (d[3] == C) {
          acc_simd((size_t)C, g, p, sub);
        } else {
          for (int c = 0; c < C; c++) p[0] = sub ? p[0] - g[c] : p[0] + g[c];
        }
      }
}

static void sum_grad_simd(const fv_bcast_shape *s, const float *dy, float *da, float *db, int sub) {
  if (da) sum_grad_input_simd(s, s->a, dy, da, 0);
  if (db) sum_grad_input_simd(s, s->b, dy, db, sub);
}

void fv_f32_add_grad__wasmsimd FV_PARAMS_bcast_grad { sum_grad_simd(s, dy, da, db, 0); }
void fv_f32_sub_grad__wasmsimd FV_PARAMS_bcast_grad { sum_grad_simd(s, dy, da, db, 1); }

/* d += v: a full row (row) or, for a broadcast C of 1, lane by lane into d[0] in the scalar order */
INLINE void acc4(float *d, v128_t v, int row) {
  if (row) {
    wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), v));
    return;
  }
  d[0] += wasm_f32x4_extract_lane(v, 0);
  d[0] += wasm_f32x4_extract_lane(v, 1);
  d[0] += wasm_f32x4_extract_lane(v, 2);
  d[0] += wasm_f32x4_extract_lane(v, 3);
}

INLINE void binary_grad_simd(const fv_bcast_shape *s, const float *a, const float *b, const float *dy, float *da,
                             float *db, binop k) {
  size_t sa[4], sb[4];
  bcast_strides(s->a, s->y, sa);
  bcast_strides(s->b, s->y, sb);
  const int C = s->y[3];
  const int a_row = s->a[3] == C, b_row = s->b[3] == C;
  const float *g = dy;
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++, g += C) {
        const size_t oa = n * sa[0] + h * sa[1] + w * sa[2], ob = n * sb[0] + h * sb[1] + w * sb[2];
        const float *pa = a + oa, *pb = b + ob;
        float *pda = da ? da + oa : NULL, *pdb = db ? db + ob : NULL;
        const v128_t sa0 = wasm_f32x4_splat(pa[0]), sb0 = wasm_f32x4_splat(pb[0]);
        int c = 0;
        for (; c + 4 <= C; c += 4) {
          const v128_t u = a_row ? wasm_v128_load(pa + c) : sa0, v = b_row ? wasm_v128_load(pb + c) : sb0;
          v128_t ga, gb;
          grad4(k, u, v, wasm_v128_load(g + c), &ga, &gb);
          if (pda) acc4(a_row ? pda + c : pda, ga, a_row);
          if (pdb) acc4(b_row ? pdb + c : pdb, gb, b_row);
        }
        for (; c < C; c++) {
          float ga, gb;
          grad1(k, pa[c * sa[3]], pb[c * sb[3]], g[c], &ga, &gb);
          if (pda) pda[c * sa[3]] += ga;
          if (pdb) pdb[c * sb[3]] += gb;
        }
      }
}

#define SIMD_GRAD(op, k) \
  void fv_f32_##op##_grad__wasmsimd FV_PARAMS_bcast_grad_ab { binary_grad_simd(s, a, b, dy, da, db, k); }
GRAD_AB_OPS(SIMD_GRAD)

#endif
