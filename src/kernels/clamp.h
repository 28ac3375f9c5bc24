/* clamp.h — the fused activation's clamp (NONE, RELU, RELU6), scalar and
 * SIMD, written once for every kernel that fuses it (internal).
 *
 * Written as compares, not fminf/fmaxf, so NaN passes through; wasm's
 * pmax(v, lo) is `v < lo ? lo : v` and pmin(v, hi) is `hi < v ? hi : v`,
 * the scalar formulas exactly, so scalar and SIMD kernels clamp to the same
 * bits. The SIMD form takes the bounds as vectors made once per call
 * (fv_act_bounds; -inf/+inf where there is no bound).
 */
#ifndef FV_CLAMP_H
#define FV_CLAMP_H

#include <math.h>
#include "kernels.h"

static inline float fv_clamp1(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

/* Fused activation of one value. */
static inline float fv_act1(fv_act act, float v) {
  if (act == FV_ACT_NONE) return v;
  return fv_clamp1(v, 0.0f, act == FV_ACT_RELU6 ? 6.0f : INFINITY);
}

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
static inline void fv_act_bounds(fv_act act, v128_t *lo, v128_t *hi) {
  *lo = wasm_f32x4_splat(act == FV_ACT_NONE ? -INFINITY : 0.0f);
  *hi = wasm_f32x4_splat(act == FV_ACT_RELU6 ? 6.0f : INFINITY);
}
static inline v128_t fv_act4(v128_t v, v128_t lo, v128_t hi) { return wasm_f32x4_pmin(wasm_f32x4_pmax(v, lo), hi); }
#endif

#endif
