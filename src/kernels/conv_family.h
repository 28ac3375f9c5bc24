/* conv_family.h — internals shared by conv.c, dwconv.c and fc.c (not public).
 *
 * The convolution family reduces to two GEMMs, both in fc.c:
 *   fv_f32_fc:      y[n][oc]  = act(x[n][ic] · w[oc][ic]ᵀ + b)   (FULLY_CONNECTED, 1×1 conv)
 *   fv_f32_fc_grad: dx[n][ic] += dy[n][oc] · w[oc][ic]            (their input gradients)
 * conv.c calls them directly for 1×1 stride-1 convs and, through small
 * im2col / col2im chunks on the stack, for every other CONV_2D. This header
 * holds what the family shares beyond kernels.h: the packed-weight GEMM
 * entry, the fused clamp (clamp.h) and the multiply-add.
 */
#ifndef FV_CONV_FAMILY_H
#define FV_CONV_FAMILY_H

#include <math.h>
#include "clamp.h"
#include "kernels.h"

#ifdef __wasm_simd128__
/* fv_f32_fc__wasmsimd with w also given packed (fv_fc_pack), or wpack NULL to
 * pack per call: the same bytes either way (fewer than 16 rows take dot
 * products along ic, packed or not). The same kernel with one more input, so
 * not a pair of its own. */
void fv_f32_fc_gemm__wasmsimd(int n, int ic, int oc, const float *x, const float *w, const float *wpack,
                              const float *b, fv_act act, float *y);
/* fv_f32_fc_grad__wasmsimd with w also given packed for the gradient
 * (fv_fc_pack_grad), or wgpack NULL to read w in place: the same bytes.
 * set: dx holds no gradient yet; it gets +0 + dy · w, not read (s->dx_set). */
void fv_f32_fc_grad_gemm__wasmsimd(int n, int ic, int oc, const float *dy, const float *w, const float *wgpack,
                                   float *dx, int set);
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
