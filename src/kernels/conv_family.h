/* conv_family.h — internals shared by conv.c, dwconv.c and fc.c (not public).
 *
 * The convolution family reduces to two GEMMs, both in fc.c:
 *   fv_f32_fc:      y[n][oc]  = act(x[n][ic] · w[oc][ic]ᵀ + b)   (FULLY_CONNECTED, 1×1 conv)
 *   fv_f32_fc_grad: dx[n][ic] += dy[n][oc] · w[oc][ic]            (their input gradients)
 * conv.c calls them directly for 1×1 stride-1 convs and, through small
 * im2col / col2im chunks on the stack, for every other CONV_2D. This header
 * declares the kernel pairs of the family (the typedefs are in kernels.h)
 * and the fused-activation helpers, so scalar and SIMD clamp identically.
 */
#ifndef FV_CONV_FAMILY_H
#define FV_CONV_FAMILY_H

#include <math.h>
#include "kernels.h"

fv_conv_fn fv_f32_conv2d__scalar, fv_f32_dwconv2d__scalar;
fv_conv_grad_fn fv_f32_conv2d_grad__scalar, fv_f32_dwconv2d_grad__scalar;
fv_fc_fn fv_f32_fc__scalar;
fv_fc_grad_fn fv_f32_fc_grad__scalar;
#ifdef __wasm_simd128__
fv_conv_fn fv_f32_conv2d__wasmsimd, fv_f32_dwconv2d__wasmsimd;
fv_conv_grad_fn fv_f32_conv2d_grad__wasmsimd, fv_f32_dwconv2d_grad__wasmsimd;
fv_fc_fn fv_f32_fc__wasmsimd;
fv_fc_grad_fn fv_f32_fc_grad__wasmsimd;
/* fv_f32_fc__wasmsimd with w also given packed (fv_fc_pack), or wpack NULL to pack per call */
void fv_f32_fc_gemm__wasmsimd(int n, int ic, int oc, const float *x, const float *w, const float *wpack,
                              const float *b, fv_act act, float *y);
#endif

/* Fused activation of one value. Written as compares (not fmaxf) so NaN
 * passes through exactly as wasm's pmax/pmin do in the SIMD twins. */
static inline float fv_act1(fv_act act, float v) {
  if (act == FV_ACT_NONE) return v;
  v = v < 0.0f ? 0.0f : v;
  if (act == FV_ACT_RELU6) v = v > 6.0f ? 6.0f : v;
  return v;
}

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
/* lo/hi: the clamp bounds as vectors (-inf/+inf when not clamped). pmax(v, lo)
 * is `v < lo ? lo : v`, one maxps on x86 and the same as fv_act1. */
static inline void fv_act_bounds(fv_act act, v128_t *lo, v128_t *hi) {
  *lo = wasm_f32x4_splat(act == FV_ACT_NONE ? -INFINITY : 0.0f);
  *hi = wasm_f32x4_splat(act == FV_ACT_RELU6 ? 6.0f : INFINITY);
}
static inline v128_t fv_act4(v128_t v, v128_t lo, v128_t hi) { return wasm_f32x4_pmin(wasm_f32x4_pmax(v, lo), hi); }
/* acc + a·b. The optional relaxed-SIMD build (-mrelaxed-simd -DFV_RELAXED_SIMD,
 * wasm/featviz-relaxed.wasm) makes it one f32x4.relaxed_madd, a fused
 * multiply-add where the machine has one (rounded once, so results differ
 * from the plain build in the last bits). Clang 14 only knows the prototype
 * encoding of that instruction (`fma`, a·b + acc in this operand order);
 * scripts/wasm-relaxed.mjs rewrites it to the final encoding after linking. */
#ifdef FV_RELAXED_SIMD
#define fv_madd4(a, b, acc) __builtin_wasm_fma_f32x4((a), (b), (acc))
#else
static inline v128_t fv_madd4(v128_t a, v128_t b, v128_t acc) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }
#endif
#endif

#endif
