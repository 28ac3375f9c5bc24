/* unary.c — standalone activations (FV_OP_ACT), forward and input-gradient.
 *
 *   RELU        max(0, x)                 RELU6      min(6, max(0, x))
 *   CLIP        min(b, max(a, x))         LEAKY_RELU x < 0 ? a·x : x
 *   SIGMOID     1 / (1 + e^−x)            TANH       tanh x
 *   HARD_SIGMOID  min(1, max(0, a·x + b))
 *   HARD_SWISH  x · min(6, max(0, x + 3)) / 6   (TFLite's; ONNX's a = 1/6, b = 1/2 is the same function)
 *   NONE        x
 * The clamps are clamp.h's. Derivatives, accumulated as dx += dy · f': from y
 * where y determines them (SIGMOID y(1 − y), TANH 1 − y², RELU and RELU6 as
 * fv_act_grad judges them), else from x; a unit exactly on a bound is
 * clamped (derivative 0), as for the fused activations:
 *   CLIP 1 on (a, b); LEAKY_RELU a for x < 0, else 1; HARD_SIGMOID a where
 *   0 < a·x + b < 1; HARD_SWISH (r + (−3 < x < 3 ? x : 0)) / 6 with
 *   r = min(6, max(0, x + 3)) (0 at x <= −3, 1 at x >= 3).
 * The graph runs RELU/RELU6 gradients through fv_act_grad (Lucid's redirect)
 * and then this kernel with NONE, which accumulates dy.
 *
 * The SIMD twin does the scalar operations lane for lane, except that
 * SIGMOID and TANH take e^x from exp4 below (range reduction by ln 2 and a
 * degree-6 polynomial, within a few ulps of expf) and TANH is written
 * (1 − e^−2|x|) / (1 + e^−2|x|) with x's sign, so those two agree with the
 * scalar kernel to a few ulps (absolutely, for TANH near 0).
 */
#include <math.h>
#include <string.h>
#include "clamp.h"
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

/* ==== scalar ===================================================================== */

static inline float f1(const fv_act_params *u, float x) {
  switch (u->act) {
    case FV_ACT_RELU:
    case FV_ACT_RELU6: return fv_act1(u->act, x);
    case FV_ACT_CLIP: return fv_clamp1(x, u->a, u->b);
    case FV_ACT_LEAKY_RELU: return x < 0.0f ? u->a * x : x;
    case FV_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case FV_ACT_HARD_SIGMOID: return fv_clamp1(u->a * x + u->b, 0.0f, 1.0f);
    case FV_ACT_HARD_SWISH: return x * fv_clamp1(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    case FV_ACT_TANH: return tanhf(x);
    default: return x;
  }
}

/* f'(x), y = f(x) */
static inline float d1(const fv_act_params *u, float x, float y) {
  switch (u->act) {
    case FV_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case FV_ACT_RELU6: return y > 0.0f && y < 6.0f ? 1.0f : 0.0f;
    case FV_ACT_CLIP: return x > u->a && x < u->b ? 1.0f : 0.0f;
    case FV_ACT_LEAKY_RELU: return x < 0.0f ? u->a : 1.0f;
    case FV_ACT_SIGMOID: return y * (1.0f - y);
    case FV_ACT_HARD_SIGMOID: {
      const float v = u->a * x + u->b;
      return v > 0.0f && v < 1.0f ? u->a : 0.0f;
    }
    case FV_ACT_HARD_SWISH: {
      const float r = fv_clamp1(x + 3.0f, 0.0f, 6.0f);
      return (r + (x > -3.0f && x < 3.0f ? x : 0.0f)) / 6.0f;
    }
    case FV_ACT_TANH: return 1.0f - y * y;
    default: return 1.0f;
  }
}

void fv_f32_unary__scalar FV_PARAMS_unary {
  if (u->act == FV_ACT_NONE) {
    if (y != x) memcpy(y, x, n * sizeof *y);
    return;
  }
  for (size_t i = 0; i < n; i++) y[i] = f1(u, x[i]);
}

void fv_f32_unary_grad__scalar FV_PARAMS_unary_grad {
  if (u->act == FV_ACT_NONE) {
    for (size_t i = 0; i < n; i++) dx[i] += dy[i];
    return;
  }
  for (size_t i = 0; i < n; i++) dx[i] += dy[i] * d1(u, x[i], y[i]);
}

/* ==== wasm simd ================================================================== */
#ifdef __wasm_simd128__

/* e^x: x = k·ln2 + r, |r| <= ln2/2, e^r by its Taylor polynomial to r^6
 * (truncation below 2^-23 there), times 2^k built in the exponent bits.
 * x is clamped to [-87.33, 88], where 2^k stays a normal float (k <= 127);
 * below that e^x is under FLT_MIN, above 88 the result is +inf (expf
 * overflows a little later, at 88.72: no caller sees the difference, SIGMOID
 * reads e^−x for x < −88 as 0 and TANH only e^−2|x| <= 1). */
static inline v128_t exp4(v128_t x) {
  const v128_t over = wasm_f32x4_gt(x, wasm_f32x4_splat(88.0f));
  x = wasm_f32x4_pmax(wasm_f32x4_pmin(x, wasm_f32x4_splat(88.0f)), wasm_f32x4_splat(-87.33f));
  const v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693359375f)));  /* ln2, high bits: exact product */
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(k, wasm_f32x4_splat(-2.12194440e-4f)));      /* ln2 − the high bits */
  v128_t p = wasm_f32x4_splat(1.0f / 720.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  const v128_t two_k = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23);
  return wasm_v128_bitselect(wasm_f32x4_splat(INFINITY), wasm_f32x4_mul(p, two_k), over);
}

static inline v128_t f4(const fv_act_params *u, v128_t x) {
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  switch (u->act) {
    case FV_ACT_RELU:
    case FV_ACT_RELU6: {
      v128_t lo, hi;
      fv_act_bounds(u->act, &lo, &hi);
      return fv_act4(x, lo, hi);
    }
    case FV_ACT_CLIP: return fv_act4(x, wasm_f32x4_splat(u->a), wasm_f32x4_splat(u->b));
    case FV_ACT_LEAKY_RELU:
      return wasm_v128_bitselect(wasm_f32x4_mul(wasm_f32x4_splat(u->a), x), x, wasm_f32x4_lt(x, zero));
    case FV_ACT_SIGMOID: return wasm_f32x4_div(one, wasm_f32x4_add(one, exp4(wasm_f32x4_neg(x))));
    case FV_ACT_HARD_SIGMOID:
      return fv_act4(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(u->a), x), wasm_f32x4_splat(u->b)), zero, one);
    case FV_ACT_HARD_SWISH: {
      const v128_t r = fv_act4(wasm_f32x4_add(x, wasm_f32x4_splat(3.0f)), zero, wasm_f32x4_splat(6.0f));
      return wasm_f32x4_div(wasm_f32x4_mul(x, r), wasm_f32x4_splat(6.0f));
    }
    case FV_ACT_TANH: {
      const v128_t e = exp4(wasm_f32x4_mul(wasm_f32x4_splat(-2.0f), wasm_f32x4_abs(x)));
      const v128_t t = wasm_f32x4_div(wasm_f32x4_sub(one, e), wasm_f32x4_add(one, e));
      const v128_t sign = wasm_i32x4_splat((int32_t)0x80000000);
      return wasm_v128_or(t, wasm_v128_and(x, sign));
    }
    default: return x;
  }
}

static inline v128_t d4(const fv_act_params *u, v128_t x, v128_t y) {
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  switch (u->act) {
    case FV_ACT_RELU: return wasm_v128_and(one, wasm_f32x4_gt(y, zero));
    case FV_ACT_RELU6:
      return wasm_v128_and(one, wasm_v128_and(wasm_f32x4_gt(y, zero), wasm_f32x4_lt(y, wasm_f32x4_splat(6.0f))));
    case FV_ACT_CLIP:
      return wasm_v128_and(one, wasm_v128_and(wasm_f32x4_gt(x, wasm_f32x4_splat(u->a)),
                                              wasm_f32x4_lt(x, wasm_f32x4_splat(u->b))));
    case FV_ACT_LEAKY_RELU: return wasm_v128_bitselect(wasm_f32x4_splat(u->a), one, wasm_f32x4_lt(x, zero));
    case FV_ACT_SIGMOID: return wasm_f32x4_mul(y, wasm_f32x4_sub(one, y));
    case FV_ACT_HARD_SIGMOID: {
      const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(u->a), x), wasm_f32x4_splat(u->b));
      return wasm_v128_and(wasm_f32x4_splat(u->a), wasm_v128_and(wasm_f32x4_gt(v, zero), wasm_f32x4_lt(v, one)));
    }
    case FV_ACT_HARD_SWISH: {
      const v128_t r = fv_act4(wasm_f32x4_add(x, wasm_f32x4_splat(3.0f)), zero, wasm_f32x4_splat(6.0f));
      const v128_t in = wasm_v128_and(wasm_f32x4_gt(x, wasm_f32x4_splat(-3.0f)), wasm_f32x4_lt(x, wasm_f32x4_splat(3.0f)));
      return wasm_f32x4_div(wasm_f32x4_add(r, wasm_v128_and(x, in)), wasm_f32x4_splat(6.0f));
    }
    case FV_ACT_TANH: return wasm_f32x4_sub(one, wasm_f32x4_mul(y, y));
    default: return one;
  }
}

/* The scalar tail of the twin: the same lanes' formulas, one at a time. */
static inline float f1_simd(const fv_act_params *u, float x) { return wasm_f32x4_extract_lane(f4(u, wasm_f32x4_splat(x)), 0); }

void fv_f32_unary__wasmsimd FV_PARAMS_unary {
  if (u->act == FV_ACT_NONE) {
    if (y != x) memcpy(y, x, n * sizeof *y);
    return;
  }
  size_t i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, f4(u, wasm_v128_load(x + i)));
  for (; i < n; i++) y[i] = f1_simd(u, x[i]);
}

void fv_f32_unary_grad__wasmsimd FV_PARAMS_unary_grad {
  size_t i = 0;
  if (u->act == FV_ACT_NONE) {
    for (; i + 4 <= n; i += 4) wasm_v128_store(dx + i, wasm_f32x4_add(wasm_v128_load(dx + i), wasm_v128_load(dy + i)));
  } else {
    for (; i + 4 <= n; i += 4) {
      const v128_t g = wasm_f32x4_mul(wasm_v128_load(dy + i), d4(u, wasm_v128_load(x + i), wasm_v128_load(y + i)));
      wasm_v128_store(dx + i, wasm_f32x4_add(wasm_v128_load(dx + i), g));
    }
  }
  for (; i < n; i++)
    dx[i] += dy[i] * wasm_f32x4_extract_lane(d4(u, wasm_f32x4_splat(x[i]), wasm_f32x4_splat(y[i])), 0);
}

#endif
