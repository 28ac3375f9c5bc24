/* kernels.h — the compute kernels: forward and input-gradient, float32, NHWC.
 *
 * Every op has a plain scalar reference (`__scalar`) and, where it is hot, a
 * WASM SIMD twin (`__wasmsimd`, only compiled when __wasm_simd128__ is
 * defined). The tests hold every SIMD kernel to its scalar reference; the
 * list of kernel pairs is kernels.inc (an X-macro), shared by dispatch,
 * tests and the benchmark so no kernel escapes testing.
 *
 * Callers use the dispatching names without a suffix (fv_conv2d, ...): they
 * pick the SIMD version when it is built and enabled (fv_kernels_set_simd),
 * else the scalar one.
 *
 * Conventions:
 *  - Forward kernels write their whole output (no accumulation) and apply the
 *    fused activation.
 *  - Gradient kernels take dy already multiplied by the activation's
 *    derivative (see fv_act_grad) and ACCUMULATE into dx (dx += ...), since a
 *    tensor may feed several ops. The graph zeroes dx once per backward pass.
 *  - Weights use TFLite's layouts (see model.h). Kernels never allocate.
 */
#ifndef FV_KERNELS_H
#define FV_KERNELS_H

#include <stddef.h>
#include "../model.h"

/* Geometry shared by CONV_2D, DEPTHWISE_CONV_2D and the pools. */
typedef struct {
  int n;              /* batch */
  int ih, iw, ic;     /* input */
  int oh, ow, oc;     /* output (dwconv: oc = ic * dm; pools: oc = ic) */
  int kh, kw;         /* filter */
  int sh, sw;         /* stride */
  int dh, dw;         /* dilation (1 = none) */
  int pt, pl;         /* padding before (top, left); after is implied by the shapes */
  int dm;             /* depth multiplier (dwconv) */
  fv_act act;         /* fused activation (forward) */
  const float *wpack; /* CONV_2D forward: w packed by fv_fc_pack, or NULL (the SIMD GEMM packs per call) */
} fv_conv_shape;

/* Fill pt/pl and oh/ow from the input size, filter, stride, dilation and TFLite padding. */
void fv_conv_shape_pad(fv_conv_shape *s, fv_padding padding);

/* ---- CONV_2D: w [oc][kh][kw][ic], b [oc] or NULL ---- */
void fv_conv2d(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y);
void fv_conv2d_grad(const fv_conv_shape *s, const float *dy, const float *w, float *dx);

/* The SIMD forward of a non-1×1 CONV_2D runs im2col blocks of output pixels
 * through the GEMM, and a block's size picks the GEMM's path, so the threads
 * (src/split.c) split it at those blocks: fv_conv2d_blocks gives their count
 * (0 where fv_conv2d does not run blocks: scalar, 1×1, oversized filters),
 * fv_conv2d_block_range computes blocks [b0, b1) of y exactly as fv_conv2d. */
int fv_conv2d_blocks(const fv_conv_shape *s);
/* 1×1, stride 1, no padding: output pixel p reads input pixel p (the GEMM on x itself). */
int fv_conv2d_is_pointwise(const fv_conv_shape *s);
void fv_conv2d_block_range(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y, int b0,
                           int b1);

/* ---- DEPTHWISE_CONV_2D: w [kh][kw][oc], b [oc] or NULL ---- */
void fv_dwconv2d(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y);
void fv_dwconv2d_grad(const fv_conv_shape *s, const float *dy, const float *w, float *dx);

/* ---- weights packed once for the SIMD GEMM's forward: panels of 8 output
 * channels, pw[(p*ic + k)*8 + j] = w[p*8 + j][k] (0 past oc). Plain C; the
 * caller allocates fv_fc_pack_floats(ic, oc) floats. ---- */
size_t fv_fc_pack_floats(int ic, int oc);
void fv_fc_pack(int ic, int oc, const float *w, float *pw);

/* ---- FULLY_CONNECTED: x [n][ic], w [oc][ic], b [oc] or NULL, y [n][oc] ---- */
void fv_fc(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y);
void fv_fc_grad(int n, int ic, int oc, const float *dy, const float *w, float *dx);

/* ---- pools: same geometry as conv (oc = ic, dm = 1); SAME padding excludes the pad from averages, as TFLite does ---- */
void fv_avgpool2d(const fv_conv_shape *s, const float *x, float *y);
void fv_avgpool2d_grad(const fv_conv_shape *s, const float *dy, float *dx);
void fv_maxpool2d(const fv_conv_shape *s, const float *x, float *y);
void fv_maxpool2d_grad(const fv_conv_shape *s, const float *x, const float *y, const float *dy, float *dx);

/* ---- elementwise with NHWC broadcasting: a dim of size 1 in an input repeats ---- */
typedef struct {
  int a[4], b[4], y[4];  /* NHWC dims of the two inputs and the output */
} fv_bcast_shape;
void fv_add(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y);
void fv_add_grad(const fv_bcast_shape *s, const float *dy, float *da, float *db); /* da/db may be NULL */
void fv_mul(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y);
void fv_mul_grad(const fv_bcast_shape *s, const float *a, const float *b, const float *dy, float *da, float *db);

/* ---- MEAN over a bitmask of NHWC axes (bit k = axis k), x dims d[4] ---- */
void fv_mean(const int d[4], int axes, const float *x, float *y);
void fv_mean_grad(const int d[4], int axes, const float *dy, float *dx);

/* ---- PAD with zeros: pads[k][0] before, pads[k][1] after, on NHWC axis k of x dims d[4] ---- */
void fv_pad(const int d[4], const int pads[4][2], const float *x, float *y);
void fv_pad_grad(const int d[4], const int pads[4][2], const float *dy, float *dx);

/* ---- CONCATENATION along NHWC axis of n inputs with dims d[i][4] ---- */
void fv_concat(int n, const int (*d)[4], int axis, const float *const *x, float *y);
void fv_concat_grad(int n, const int (*d)[4], int axis, const float *dy, float *const *dx);

/* ---- SOFTMAX over the last axis: rows × c ---- */
void fv_softmax(size_t rows, int c, float beta, const float *x, float *y);
void fv_softmax_grad(size_t rows, int c, float beta, const float *y, const float *dy, float *dx);

/* ---- activations ---- */
/* In place: y = act(y). Used by ops that do not fuse it themselves. */
void fv_act_apply(fv_act act, size_t n, float *y);
/* dy *= act'(pre-activation), judged from the activation's OUTPUT y, in place.
 * dy is dLoss/dy for a loss being MINIMIZED (the graph's convention).
 * n items of per_item floats each (the batch).
 * redirect != 0: Lucid's redirected ReLU/ReLU6 gradient. Per batch item, if
 * the ordinary masked gradient is all zero, use instead dy with only those
 * entries zeroed that would push a clamped unit further out of range
 * (y <= 0 and dy > 0, or y >= 6 and dy < 0 for RELU6). */
void fv_act_grad(fv_act act, int n, size_t per_item, const float *y, float *dy, int redirect);

/* ---- dispatch control ---- */
/* The kernel a dispatching name runs: the SIMD twin when built and enabled. */
#ifdef __wasm_simd128__
#define FV_PICK(op) (fv_kernels_simd_enabled() ? fv_f32_##op##__wasmsimd : fv_f32_##op##__scalar)
#else
#define FV_PICK(op) fv_f32_##op##__scalar
#endif
void fv_kernels_set_simd(int on);
int fv_kernels_simd_enabled(void);

/* ---- convolution family signatures (kernels.inc: conv.c, dwconv.c, fc.c) ---- */
/* conv: CONV_2D and DEPTHWISE_CONV_2D forward; conv_grad: their input gradients. */
typedef void fv_conv_fn(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y);
typedef void fv_conv_grad_fn(const fv_conv_shape *s, const float *dy, const float *w, float *dx);
/* fc: FULLY_CONNECTED forward (also the GEMM behind 1×1 convs); fc_grad: its input gradient. */
typedef void fv_fc_fn(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y);
typedef void fv_fc_grad_fn(int n, int ic, int oc, const float *dy, const float *w, float *dx);
/* ---- end convolution family signatures ---- */

/* ---- elementwise family signatures (kernels.inc: elementwise.c, pool.c, act.c) ---- */
/* bcast: ADD and MUL forward; bcast_grad: ADD's input gradient. */
typedef void fv_bcast_fn(const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y);
typedef void fv_bcast_grad_fn(const fv_bcast_shape *s, const float *dy, float *da, float *db);
/* pool: AVERAGE_POOL_2D / MAX_POOL_2D forward (x → y); pool_grad: average pool's input gradient (dy → dx). */
typedef void fv_pool_fn(const fv_conv_shape *s, const float *x, float *y);
typedef void fv_pool_grad_fn(const fv_conv_shape *s, const float *dy, float *dx);
/* act_apply, act_grad: fv_act_apply and fv_act_grad. */
typedef void fv_act_apply_fn(fv_act act, size_t n, float *y);
typedef void fv_act_grad_fn(fv_act act, int n, size_t per_item, const float *y, float *dy, int redirect);
/* ---- end elementwise family signatures ---- */

#endif
