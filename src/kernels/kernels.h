/* kernels.h — the compute kernels: forward and input-gradient, float32, NHWC.
 *
 * Every op has a plain scalar reference (`__scalar`) and, where it is hot, a
 * WASM SIMD twin (`__wasmsimd`, only compiled when __wasm_simd128__ is
 * defined). The inventory is kernels.inc (an X-macro): this header declares
 * every kernel and its dispatching name from it, dispatch.c defines the
 * dispatching names from it, and the tests (tests/c/kernels_*_test.c) and the
 * benchmark (bench/kernels_bench.c) walk it, so no kernel escapes testing.
 *
 * Callers use the dispatching names without a suffix (fv_conv2d, ...): they
 * pick the SIMD version when it is built and enabled (fv_kernels_set_simd),
 * else the scalar one. Each name's parameters are its signature's below.
 *
 * Conventions:
 *  - Forward kernels write their whole output (no accumulation) and apply the
 *    fused activation.
 *  - Gradient kernels take dy already multiplied by the activation's
 *    derivative (see fv_act_grad) and ACCUMULATE into dx (dx += ...), since a
 *    tensor may feed several ops. The graph zeroes dx once per backward pass,
 *    except where a CONV_2D or DEPTHWISE_CONV_2D gradient is the first to
 *    reach dx and writes all of it (fv_conv_grad_sets): it then sets
 *    s->dx_set, and the kernel writes dx as if it had been zeroed and added
 *    to, the same bytes, without the clearing pass or reading dx.
 *  - Weights use TFLite's layouts (see model.h). Kernels never allocate.
 *
 * Typical use (the graph, src/graph.c):
 *   fv_conv_shape s = {...};  fv_conv_shape_pad(&s, op->padding);
 *   fv_conv2d(&s, x, w, b, y);            // forward
 *   fv_act_grad(act, n, per, y, dy, 0);   // the fused activation's derivative, in place
 *   fv_conv2d_grad(&s, dy, w, dx);        // dx += dLoss/dx
 */
#ifndef FV_KERNELS_H
#define FV_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "../model.h"

/* ==== shapes ====================================================================== */

/* Geometry shared by CONV_2D, DEPTHWISE_CONV_2D and the pools. */
typedef struct {
  int n;              /* batch */
  int ih, iw, ic;     /* input */
  int oh, ow, oc;     /* output (dwconv: oc = ic * dm; pools: oc = ic) */
  int kh, kw;         /* filter */
  int sh, sw;         /* stride */
  int dh, dw;         /* dilation (1 = none) */
  int pt, pl;         /* padding before (top, left) */
  int pb, pr;         /* padding after (bottom, right); only count_pad pools read it, the others clip at the input */
  int dm;             /* depth multiplier (dwconv) */
  int groups;         /* CONV_2D: 0 or 1 = ordinary; g > 1: ic/g input and oc/g output channels per group */
  int ceil_mode;      /* input of fv_conv_shape_pad with EXPLICIT padding: output size rounded up (pools) */
  int count_pad;      /* average pool: the divisor counts padded taps (not those past the bottom/right pad) */
  fv_act act;         /* fused activation (forward) */
  const float *wpack; /* CONV_2D forward: w packed by fv_fc_pack, or NULL (the SIMD GEMM packs per call) */
  const float *wgpack; /* CONV_2D gradient: w packed by fv_fc_pack_grad, or NULL (read in place) */
  const float *wino;  /* 3×3 / 5×5 s1 CONV_2D: Winograd weights (fv_conv_wino); 7×7 s2: its phases' (fv_wino_s2_weights); or NULL */
  int gc0, gc1;       /* MAX_POOL gradient: only channels [gc0, gc1) (gc1 = 0: all); src/split.c's parts */
  int dx_set;         /* CONV_2D / DEPTHWISE gradient: dx holds no gradient yet; write it (= +0 + the sum), do not add */
} fv_conv_shape;

/* Fill pt/pl/pb/pr and oh/ow from the input size, filter, stride, dilation and
 * padding: SAME and VALID as TFLite; EXPLICIT takes pt/pl/pb/pr as given and
 * s->ceil_mode (ONNX: the last window must start inside the input or the
 * top/left pad). oh or ow <= 0: the input is smaller than the window. */
void fv_conv_shape_pad(fv_conv_shape *s, fv_padding padding);

/* The SIMD forward of a CONV_2D that is not a plain 1×1 runs im2col blocks of
 * output pixels through the GEMM, and a block's size picks the GEMM's path, so
 * the threads (src/split.c) split it at those blocks: fv_conv2d_blocks gives
 * their count (0 where fv_conv2d runs no blocks: scalar, 1×1, oversized
 * filters; for a Winograd conv, its units: winograd.h), fv_conv2d_block_range computes blocks [b0, b1) of y exactly as
 * fv_conv2d does. *group: how many consecutive blocks share set-up work a call
 * does once for all of them (a Winograd block's units of output channels share
 * its input transform, so a part that cuts them redoes it); 1 where they share
 * nothing. */
int fv_conv2d_blocks(const fv_conv_shape *s, int *group);
void fv_conv2d_block_range(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y, int b0,
                           int b1);
/* The gradient's blocks likewise, where the SIMD gradient runs Winograd units of
 * dx (0 otherwise: the threads split dx's rows). */
int fv_conv2d_grad_blocks(const fv_conv_shape *s, int *group);
void fv_conv2d_grad_block_range(const fv_conv_shape *s, const float *dy, const float *w, float *dx, int b0, int b1);
/* 1×1, stride 1, no padding, no groups: output pixel p reads input pixel p (the GEMM on x itself). */
int fv_conv2d_is_pointwise(const fv_conv_shape *s);
/* 1 if the gradient of s (a CONV_2D, or a DEPTHWISE_CONV_2D when depthwise),
 * split into parts of dx rows or pixels by src/split.c, writes every element of
 * dx when given s->dx_set: a pointwise conv, or a depthwise conv whose every
 * input row is read by some output row. The kernels take dx_set on any shape
 * (where they have no writing path they clear dx first), but a split part
 * whose rows nothing reaches is not run at all. */
int fv_conv_grad_sets(const fv_conv_shape *s, int depthwise);

/* Binary ops with NHWC broadcasting: a dim of size 1 in an input repeats. */
typedef struct {
  int a[4], b[4], y[4];  /* NHWC dims of the two inputs and the output */
} fv_bcast_shape;

/* FV_OP_ACT: y = act(x) with its parameters (model.h, fv_act). */
typedef struct {
  fv_act act;
  float a, b;  /* CLIP [a, b]; LEAKY_RELU slope a; HARD_SIGMOID max(0, min(1, a·x + b)) */
} fv_act_params;

/* LOCAL_RESPONSE_NORMALIZATION across the channels of each pixel (ONNX LRN):
 * y[c] = x[c] / (bias + alpha · Σ_{c' = c−lo .. c+hi, inside} x[c']²)^beta. */
typedef struct {
  size_t pixels;  /* N·H·W */
  int c;          /* channels */
  int lo, hi;     /* window: channels before / after c */
  float alpha;    /* per element (ONNX's alpha / size) */
  float beta, bias;
} fv_lrn_shape;

/* SLICE of x (dims d) with begin/step per NHWC axis; y has dims y[4]. */
typedef struct {
  int d[4], begin[4], step[4], y[4];
} fv_slice_shape;

/* ==== signatures ====================================================================
 * Each once: FV_PARAMS_<sig> is the parameter list, FV_ARGS_<sig> the same
 * names as arguments (dispatch.c forwards them), fv_<sig>_fn the type. */

/* conv: CONV_2D, DEPTHWISE_CONV_2D forward. x [n][ih][iw][ic]; CONV_2D w
 * [oc][kh][kw][ic/groups], DEPTHWISE w [kh][kw][oc]; b [oc] or NULL. */
#define FV_PARAMS_conv (const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y)
#define FV_ARGS_conv (s, x, w, b, y)
/* conv_grad: their input gradients. */
#define FV_PARAMS_conv_grad (const fv_conv_shape *s, const float *dy, const float *w, float *dx)
#define FV_ARGS_conv_grad (s, dy, w, dx)
/* fc: FULLY_CONNECTED x [n][ic], w [oc][ic], b [oc] or NULL, y [n][oc] (also the GEMM behind 1×1 convs). */
#define FV_PARAMS_fc (int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y)
#define FV_ARGS_fc (n, ic, oc, x, w, b, act, y)
#define FV_PARAMS_fc_grad (int n, int ic, int oc, const float *dy, const float *w, float *dx)
#define FV_ARGS_fc_grad (n, ic, oc, dy, w, dx)
/* bcast: binary ops forward, y = act(a op b). */
#define FV_PARAMS_bcast (const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y)
#define FV_ARGS_bcast (s, a, b, act, y)
/* bcast_grad: gradients that need no input values (ADD, SUB); da / db may be NULL. */
#define FV_PARAMS_bcast_grad (const fv_bcast_shape *s, const float *dy, float *da, float *db)
#define FV_ARGS_bcast_grad (s, dy, da, db)
/* bcast_grad_ab: gradients from the input values (MUL, DIV, MAXIMUM, MINIMUM, PRELU); da / db may be NULL. */
#define FV_PARAMS_bcast_grad_ab \
  (const fv_bcast_shape *s, const float *a, const float *b, const float *dy, float *da, float *db)
#define FV_ARGS_bcast_grad_ab (s, a, b, dy, da, db)
/* pool: AVERAGE_POOL_2D / MAX_POOL_2D forward (geometry as conv, oc = ic). */
#define FV_PARAMS_pool (const fv_conv_shape *s, const float *x, float *y)
#define FV_ARGS_pool (s, x, y)
/* pool_grad: the average pool's input gradient. */
#define FV_PARAMS_pool_grad (const fv_conv_shape *s, const float *dy, float *dx)
#define FV_ARGS_pool_grad (s, dy, dx)
/* pool_grad_x: the max pool's, to the argmax recomputed from x. */
#define FV_PARAMS_pool_grad_x (const fv_conv_shape *s, const float *x, const float *y, const float *dy, float *dx)
#define FV_ARGS_pool_grad_x (s, x, y, dy, dx)
/* pool_idx: the max pool's forward, and per output element idx the pixel of its
 * image (iy·iw + ix; -1 for a window with no taps) that pool_grad_x's rule sends
 * its gradient to. pool_grad_idx: that gradient from idx, over channels [gc0, gc1)
 * (all with gc1 = 0): the same adds in the same order, without the search. */
#define FV_PARAMS_pool_idx (const fv_conv_shape *s, const float *x, float *y, int32_t *idx)
#define FV_ARGS_pool_idx (s, x, y, idx)
#define FV_PARAMS_pool_grad_idx (const fv_conv_shape *s, const int32_t *idx, const float *dy, float *dx)
#define FV_ARGS_pool_grad_idx (s, idx, dy, dx)
/* act_apply: the fused activation in place, y = act(y) (NONE, RELU, RELU6). */
#define FV_PARAMS_act_apply (fv_act act, size_t n, float *y)
#define FV_ARGS_act_apply (act, n, y)
/* act_grad: dy *= act'(y) in place, n items of per_item floats (see fv_act_grad). */
#define FV_PARAMS_act_grad (fv_act act, int n, size_t per_item, const float *y, float *dy, int redirect)
#define FV_ARGS_act_grad (act, n, per_item, y, dy, redirect)
/* unary: FV_OP_ACT forward, y = f(x) over n floats. */
#define FV_PARAMS_unary (const fv_act_params *u, size_t n, const float *x, float *y)
#define FV_ARGS_unary (u, n, x, y)
/* unary_grad: dx += dy · f'(x) (from x, or from y where y determines it). */
#define FV_PARAMS_unary_grad (const fv_act_params *u, size_t n, const float *x, const float *y, const float *dy, float *dx)
#define FV_ARGS_unary_grad (u, n, x, y, dy, dx)
/* lrn, lrn_grad */
#define FV_PARAMS_lrn (const fv_lrn_shape *s, const float *x, float *y)
#define FV_ARGS_lrn (s, x, y)
#define FV_PARAMS_lrn_grad (const fv_lrn_shape *s, const float *x, const float *y, const float *dy, float *dx)
#define FV_ARGS_lrn_grad (s, x, y, dy, dx)
/* reduce: MEAN over a bitmask of NHWC axes (bit k = axis k) of x dims d[4]; reduce_grad its gradient. */
#define FV_PARAMS_reduce (const int d[4], int axes, const float *x, float *y)
#define FV_ARGS_reduce (d, axes, x, y)
#define FV_PARAMS_reduce_grad (const int d[4], int axes, const float *dy, float *dx)
#define FV_ARGS_reduce_grad (d, axes, dy, dx)
/* pad: PAD with `value`, pads[k][0] before and pads[k][1] after on NHWC axis k of x dims d[4]. */
#define FV_PARAMS_pad (const int d[4], const int pads[4][2], float value, const float *x, float *y)
#define FV_ARGS_pad (d, pads, value, x, y)
#define FV_PARAMS_pad_grad (const int d[4], const int pads[4][2], const float *dy, float *dx)
#define FV_ARGS_pad_grad (d, pads, dy, dx)
/* concat: CONCATENATION along an NHWC axis of n inputs with dims d[i][4]; concat skips a NULL x[i]
 * (its slice of y is written already: a view, graph.c), concat_grad a NULL dx[i]. */
#define FV_PARAMS_concat (int n, const int (*d)[4], int axis, const float *const *x, float *y)
#define FV_ARGS_concat (n, d, axis, x, y)
#define FV_PARAMS_concat_grad (int n, const int (*d)[4], int axis, const float *dy, float *const *dx)
#define FV_ARGS_concat_grad (n, d, axis, dy, dx)
/* softmax: SOFTMAX over the last axis, rows × c. */
#define FV_PARAMS_softmax (size_t rows, int c, float beta, const float *x, float *y)
#define FV_ARGS_softmax (rows, c, beta, x, y)
#define FV_PARAMS_softmax_grad (size_t rows, int c, float beta, const float *y, const float *dy, float *dx)
#define FV_ARGS_softmax_grad (rows, c, beta, y, dy, dx)
/* slice: y = x[begin : : step] per axis (fv_slice_shape); slice_grad scatters dy back, accumulating. */
#define FV_PARAMS_slice (const fv_slice_shape *s, const float *x, float *y)
#define FV_ARGS_slice (s, x, y)
#define FV_PARAMS_slice_grad (const fv_slice_shape *s, const float *dy, float *dx)
#define FV_ARGS_slice_grad (s, dy, dx)
/* transpose: y's axis k is x's axis perm[k], x dims d[4]; transpose_grad the inverse, accumulating. */
#define FV_PARAMS_transpose (const int d[4], const int perm[4], const float *x, float *y)
#define FV_ARGS_transpose (d, perm, x, y)
#define FV_PARAMS_transpose_grad (const int d[4], const int perm[4], const float *dy, float *dx)
#define FV_ARGS_transpose_grad (d, perm, dy, dx)

typedef void fv_conv_fn FV_PARAMS_conv;
typedef void fv_conv_grad_fn FV_PARAMS_conv_grad;
typedef void fv_fc_fn FV_PARAMS_fc;
typedef void fv_fc_grad_fn FV_PARAMS_fc_grad;
typedef void fv_bcast_fn FV_PARAMS_bcast;
typedef void fv_bcast_grad_fn FV_PARAMS_bcast_grad;
typedef void fv_bcast_grad_ab_fn FV_PARAMS_bcast_grad_ab;
typedef void fv_pool_fn FV_PARAMS_pool;
typedef void fv_pool_grad_fn FV_PARAMS_pool_grad;
typedef void fv_pool_grad_x_fn FV_PARAMS_pool_grad_x;
typedef void fv_pool_idx_fn FV_PARAMS_pool_idx;
typedef void fv_pool_grad_idx_fn FV_PARAMS_pool_grad_idx;
typedef void fv_act_apply_fn FV_PARAMS_act_apply;
typedef void fv_act_grad_fn FV_PARAMS_act_grad;
typedef void fv_unary_fn FV_PARAMS_unary;
typedef void fv_unary_grad_fn FV_PARAMS_unary_grad;
typedef void fv_lrn_fn FV_PARAMS_lrn;
typedef void fv_lrn_grad_fn FV_PARAMS_lrn_grad;
typedef void fv_reduce_fn FV_PARAMS_reduce;
typedef void fv_reduce_grad_fn FV_PARAMS_reduce_grad;
typedef void fv_pad_fn FV_PARAMS_pad;
typedef void fv_pad_grad_fn FV_PARAMS_pad_grad;
typedef void fv_concat_fn FV_PARAMS_concat;
typedef void fv_concat_grad_fn FV_PARAMS_concat_grad;
typedef void fv_softmax_fn FV_PARAMS_softmax;
typedef void fv_softmax_grad_fn FV_PARAMS_softmax_grad;
typedef void fv_slice_fn FV_PARAMS_slice;
typedef void fv_slice_grad_fn FV_PARAMS_slice_grad;
typedef void fv_transpose_fn FV_PARAMS_transpose;
typedef void fv_transpose_grad_fn FV_PARAMS_transpose_grad;

/* ==== every kernel, from the inventory =================================================
 * fv_<op> (dispatching), fv_f32_<op>__scalar and, in SIMD builds, fv_f32_<op>__wasmsimd. */
#ifdef __wasm_simd128__
#define FV_KERNEL(op, sig) fv_##sig##_fn fv_##op, fv_f32_##op##__scalar, fv_f32_##op##__wasmsimd;
#else
#define FV_KERNEL(op, sig) fv_##sig##_fn fv_##op, fv_f32_##op##__scalar;
#endif
#define FV_SCALAR(op, sig) fv_##sig##_fn fv_##op, fv_f32_##op##__scalar;
#define FV_TWIN(module, name, entry)
#include "kernels.inc"
#undef FV_KERNEL
#undef FV_SCALAR
#undef FV_TWIN

/* About the activation kernels:
 * fv_act_grad: dy *= act'(pre-activation), judged from the activation's OUTPUT
 * y, in place. dy is dLoss/dy for a loss being MINIMIZED (the graph's
 * convention). n items of per_item floats each (the batch).
 * redirect != 0: Lucid's redirected ReLU/ReLU6 gradient. Per batch item, if
 * the ordinary masked gradient is all zero, use instead dy with only those
 * entries zeroed that would push a clamped unit further out of range
 * (y <= 0 and dy > 0, or y >= 6 and dy < 0 for RELU6). The graph applies it
 * to fused RELU/RELU6 and to standalone FV_OP_ACT RELU/RELU6 alike.
 * fv_act_grad_any_live: that test over n floats (1 if some unit passes a
 * nonzero ordinary gradient), for callers that hold an item in pieces
 * (split.c's rows of a concat's slice). Plain C: a yes/no, the same in
 * either twin. */
int fv_act_grad_any_live(fv_act act, size_t n, const float *y, const float *dy);

/* ---- weights packed once for the SIMD GEMM's forward: panels of 8 output
 * channels, pw[(p*ic + k)*8 + j] = w[p*8 + j][k] (0 past oc). Plain C; the
 * caller allocates fv_fc_pack_floats(ic, oc) floats. ---- */
size_t fv_fc_pack_floats(int ic, int oc);
void fv_fc_pack(int ic, int oc, const float *w, float *pw);
/* ---- and for the gradient: panels of 8 input columns, pg[(q*oc + o)*8 + j] =
 * w[o][q*8 + j] (0 past ic), fv_fc_pack_grad_floats(ic, oc) floats. ---- */
size_t fv_fc_pack_grad_floats(int ic, int oc);
void fv_fc_pack_grad(int ic, int oc, const float *w, float *pg);
/* A CONV_2D's weights w [oc][K] (K = kh·kw·ic) packed once for both
 * directions in one block of fv_conv_pack_floats(K, oc) floats: the forward's
 * panels, then the gradient's (fv_conv_pack_grad_part). */
size_t fv_conv_pack_floats(int K, int oc);
void fv_conv_pack(int K, int oc, const float *w, float *p);
const float *fv_conv_pack_grad_part(int K, int oc, const float *p);
/* A 3×3 or 5×5 (r) CONV_2D's Winograd weights (winograd.h), packed in one block of
 * fv_conv_wino_floats(ic, oc, r) floats: F(2×2) forward (c = ic, o = oc), F(2×2)
 * gradient (c = oc, o = ic), then for 3×3 F(4×4) forward when ic <= FV_WINO4_CMAX
 * and F(4×4) gradient when oc <= FV_WINO4_CMAX; fv_conv_wino_part finds one (NULL:
 * not in the block). */
size_t fv_conv_wino_floats(int ic, int oc, int r);
void fv_conv_wino(int ic, int oc, int r, const float *w, float *p);
const float *fv_conv_wino_part(int ic, int oc, int r, const float *p, int grad, int m);

/* ==== dispatch control ================================================================ */
/* The kernel a dispatching name runs: the SIMD twin when built and enabled. */
#ifdef __wasm_simd128__
#define FV_PICK(op) (fv_kernels_simd_enabled() ? fv_f32_##op##__wasmsimd : fv_f32_##op##__scalar)
#else
#define FV_PICK(op) fv_f32_##op##__scalar
#endif
void fv_kernels_set_simd(int on);
int fv_kernels_simd_enabled(void);

#endif
