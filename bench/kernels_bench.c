/* kernels_bench.c — the scalar-vs-SIMD table of the benchmark: one row per
 * entry of src/kernels/kernels.inc, run by bench/bench.mjs (a WASI program,
 * built by emcc.mk as build/wasm/bench/kernels_bench.wasm). Prints figures,
 * asserts nothing.
 *
 * Each signature of kernels.h has one workload (bench_<sig>, a shape the
 * networks of the store have: GoogLeNet's 3×3 s2 ceil max pools, its first
 * LRN, MobileNet's depthwise rows, ...), and each FV_TWIN entry function one
 * (bench_<entry>); the table is made from kernels.inc, so a kernel added
 * there with a new signature does not compile here until it has a workload.
 * A row times its kernel's scalar version and, where there is one, its SIMD
 * twin: the median of repeated calls, at least 5 and about 150 ms each.
 * FV_TWIN entries time their module's function with SIMD off and on, one
 * row per function naming the twins it runs (their share of it, plus the
 * rest of the function, which runs the same both ways).
 *
 *   kernel              signature       workload                      scalar ms  SIMD ms  speed-up
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fv.h"
#include "bench_clock.h"
#include "alpha.h"
#include "cppn.h"
#include "lowres.h"
#include "kernels/kernels.h"
#include "param.h"
#include "prior.h"
#include "prior_impl.h"
#include "rng.h"
#include "transform.h"

typedef void (*any_fn)(void);

/* ==== buffers: one pool of random floats, handed out once per workload ============ */

#define POOL_FLOATS ((size_t)12 << 20)
static float *pool;
static size_t pool_used;

static float *take(size_t n) {
  if (!pool) {
    pool = (float *)malloc(POOL_FLOATS * sizeof(float));
    fv_rng r;
    fv_rng_seed(&r, 42);
    for (size_t i = 0; i < POOL_FLOATS; i++) pool[i] = (float)(fv_rng_uniform(&r) * 2.0 - 1.0);
  }
  n = (n + 3) & ~(size_t)3;
  if (pool_used + n > POOL_FLOATS) {
    fprintf(stderr, "kernels_bench: pool too small\n");
    exit(1);
  }
  float *p = pool + pool_used;
  pool_used += n;
  return p;
}

/* ==== workloads, one per signature ================================================== */
/* Each: describe (what) and run f once on the workload's buffers (made on first use). */

static fv_conv_shape conv_shape(int ih, int iw, int ic, int oc, int k, int s, int dw) {
  fv_conv_shape g = {0};
  g.n = 1, g.ih = ih, g.iw = iw, g.ic = ic, g.kh = g.kw = k, g.sh = g.sw = s, g.dh = g.dw = 1;
  g.dm = 1, g.oc = dw ? ic : oc, g.act = FV_ACT_RELU6;
  fv_conv_shape_pad(&g, FV_PADDING_SAME);
  return g;
}

/* conv2d: GoogLeNet's conv2/3x3 at 28×28 (64 → 96); dwconv2d: MobileNet v2's 3×3 depthwise, 56×56×144 */
static const char *bench_conv(const char *op, any_fn f) {
  static float *x, *w, *b, *y;
  const int dw = strstr(op, "dw") != NULL;
  fv_conv_shape s = dw ? conv_shape(56, 56, 144, 144, 3, 1, 1) : conv_shape(28, 28, 64, 96, 3, 1, 0);
  if (!x) x = take(56 * 56 * 144), w = take(96 * 9 * 144), b = take(144), y = take(56 * 56 * 144);
  if (f) ((fv_conv_fn *)f)(&s, x, w, b, y);
  return dw ? "3x3 s1 56x56x144" : "3x3 s1 28x28x64->96";
}
static const char *bench_conv_grad(const char *op, any_fn f) {
  static float *dy, *w, *dx;
  const int dw = strstr(op, "dw") != NULL;
  fv_conv_shape s = dw ? conv_shape(56, 56, 144, 144, 3, 1, 1) : conv_shape(28, 28, 64, 96, 3, 1, 0);
  if (!dy) dy = take(56 * 56 * 144), w = take(96 * 9 * 144), dx = take(56 * 56 * 144);
  if (f) ((fv_conv_grad_fn *)f)(&s, dy, w, dx);
  return dw ? "3x3 s1 56x56x144" : "3x3 s1 28x28x64->96";
}
/* the GEMM of a 1×1 conv: 28×28 pixels, 256 → 128 */
static const char *bench_fc(const char *op, any_fn f) {
  static float *x, *w, *b, *y;
  (void)op;
  if (!x) x = take(784 * 256), w = take(128 * 256), b = take(128), y = take(784 * 128);
  if (f) ((fv_fc_fn *)f)(784, 256, 128, x, w, b, FV_ACT_RELU, y);
  return "784x256 . 256x128";
}
static const char *bench_fc_grad(const char *op, any_fn f) {
  static float *dy, *w, *dx;
  (void)op;
  if (!dy) dy = take(784 * 128), w = take(128 * 256), dx = take(784 * 256);
  if (f) ((fv_fc_grad_fn *)f)(784, 256, 128, dy, w, dx);
  return "784x128 . 128x256";
}

/* binary ops: the same shape (a residual add), 56×56×64 */
static const fv_bcast_shape BCAST = {{1, 56, 56, 64}, {1, 56, 56, 64}, {1, 56, 56, 64}};
static float *bin_a, *bin_b, *bin_y, *bin_da, *bin_db;
static void bin_buffers(void) {
  if (bin_a) return;
  const size_t n = 56 * 56 * 64;
  bin_a = take(n), bin_b = take(n), bin_y = take(n), bin_da = take(n), bin_db = take(n);
  for (size_t i = 0; i < n; i++) bin_b[i] = 1.5f + bin_b[i]; /* away from 0: DIV */
}
static const char *bench_bcast(const char *op, any_fn f) {
  (void)op;
  bin_buffers();
  if (f) ((fv_bcast_fn *)f)(&BCAST, bin_a, bin_b, FV_ACT_NONE, bin_y);
  return "56x56x64 + 56x56x64";
}
static const char *bench_bcast_grad(const char *op, any_fn f) {
  (void)op;
  bin_buffers();
  if (f) ((fv_bcast_grad_fn *)f)(&BCAST, bin_y, bin_da, bin_db);
  return "56x56x64, both inputs";
}
static const char *bench_bcast_grad_ab(const char *op, any_fn f) {
  (void)op;
  bin_buffers();
  if (f) ((fv_bcast_grad_ab_fn *)f)(&BCAST, bin_a, bin_b, bin_y, bin_da, bin_db);
  return "56x56x64, both inputs";
}

/* pools: GoogLeNet's pool2/3x3_s2 (3×3 stride 2, ceil mode) on 56×56×192 */
static fv_conv_shape pool_shape(void) {
  fv_conv_shape s = conv_shape(56, 56, 192, 192, 3, 2, 0);
  s.pt = s.pl = s.pb = s.pr = 0, s.ceil_mode = 1, s.act = FV_ACT_NONE;
  fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
  return s;
}
static float *pool_x, *pool_y, *pool_dy, *pool_dx;
static void pool_buffers(void) {
  if (pool_x) return;
  pool_x = take(56 * 56 * 192), pool_y = take(28 * 28 * 192), pool_dy = take(28 * 28 * 192);
  pool_dx = take(56 * 56 * 192);
}
static const char *bench_pool(const char *op, any_fn f) {
  (void)op;
  pool_buffers();
  const fv_conv_shape s = pool_shape();
  if (f) ((fv_pool_fn *)f)(&s, pool_x, pool_y);
  return "3x3 s2 ceil 56x56x192";
}
static const char *bench_pool_grad(const char *op, any_fn f) {
  (void)op;
  pool_buffers();
  const fv_conv_shape s = pool_shape();
  if (f) ((fv_pool_grad_fn *)f)(&s, pool_dy, pool_dx);
  return "3x3 s2 ceil 56x56x192";
}
static const char *bench_pool_grad_x(const char *op, any_fn f) {
  (void)op;
  pool_buffers();
  const fv_conv_shape s = pool_shape();
  if (f) ((fv_pool_grad_x_fn *)f)(&s, pool_x, pool_y, pool_dy, pool_dx);
  return "3x3 s2 ceil 56x56x192";
}

/* the argmax of the pool map, as the forward leaves it (the gradient's scatter reads it) */
static int32_t *pool_idx;
static int32_t *pool_idx_buffer(const fv_conv_shape *s) {
  if (!pool_idx) {
    pool_idx = (int32_t *)(void *)take(28 * 28 * 192);
    fv_maxpool2d_idx(s, pool_x, pool_y, pool_idx);
  }
  return pool_idx;
}
static const char *bench_pool_idx(const char *op, any_fn f) {
  (void)op;
  pool_buffers();
  const fv_conv_shape s = pool_shape();
  int32_t *idx = pool_idx_buffer(&s);
  if (f) ((fv_pool_idx_fn *)f)(&s, pool_x, pool_y, idx);
  return "3x3 s2 ceil 56x56x192";
}
static const char *bench_pool_grad_idx(const char *op, any_fn f) {
  (void)op;
  pool_buffers();
  const fv_conv_shape s = pool_shape();
  const int32_t *idx = pool_idx_buffer(&s);
  if (f) ((fv_pool_grad_idx_fn *)f)(&s, idx, pool_dy, pool_dx);
  return "3x3 s2 ceil 56x56x192";
}

/* activations over 112×112×64 (GoogLeNet's conv1 output) */
#define ACT_N ((size_t)112 * 112 * 64)
static float *act_x, *act_y, *act_dy, *act_dx;
static void act_buffers(void) {
  if (!act_x) act_x = take(ACT_N), act_y = take(ACT_N), act_dy = take(ACT_N), act_dx = take(ACT_N);
}
static const char *bench_act_apply(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_act_apply_fn *)f)(FV_ACT_RELU6, ACT_N, act_y);
  return "RELU6, 112x112x64";
}
static const char *bench_act_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_act_grad_fn *)f)(FV_ACT_RELU, 1, ACT_N, act_x, act_dy, 1);
  return "RELU redirected, 112x112x64";
}
static const fv_act_params SIGMOID = {FV_ACT_SIGMOID, 0.0f, 0.0f};
static const char *bench_unary(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_unary_fn *)f)(&SIGMOID, ACT_N, act_x, act_y);
  return "SIGMOID, 112x112x64";
}
static const char *bench_unary_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_unary_grad_fn *)f)(&SIGMOID, ACT_N, act_x, act_y, act_dy, act_dx);
  return "SIGMOID, 112x112x64";
}

/* GoogLeNet's pool1/norm1: size 5, beta 0.75, on 56×56×64 */
static const fv_lrn_shape LRN = {56 * 56, 64, 2, 2, 1e-4f / 5, 0.75f, 1.0f};
static const char *bench_lrn(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_lrn_fn *)f)(&LRN, act_x, act_y);
  return "size 5, 56x56x64";
}
static const char *bench_lrn_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_lrn_grad_fn *)f)(&LRN, act_x, act_y, act_dy, act_dx);
  return "size 5, 56x56x64";
}

/* the scalar-only kernels, on shapes of the same size class */
static const int D7[4] = {1, 7, 7, 1024}, D56[4] = {1, 56, 56, 64};
static const char *bench_reduce(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_reduce_fn *)f)(D7, 6, act_x, act_y);
  return "H,W of 7x7x1024";
}
static const char *bench_reduce_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_reduce_grad_fn *)f)(D7, 6, act_dy, act_dx);
  return "H,W of 7x7x1024";
}
static const int PADS[4][2] = {{0, 0}, {1, 1}, {1, 1}, {0, 0}};
static const char *bench_pad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_pad_fn *)f)(D56, PADS, 0.0f, act_x, act_y);
  return "1 pixel around 56x56x64";
}
static const char *bench_pad_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_pad_grad_fn *)f)(D56, PADS, act_dy, act_dx);
  return "1 pixel around 56x56x64";
}
static const int CAT[4][4] = {{1, 28, 28, 64}, {1, 28, 28, 128}, {1, 28, 28, 32}, {1, 28, 28, 32}};
static const char *bench_concat(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  const float *xs[4] = {act_x, act_x + 100000, act_x + 300000, act_x + 400000};
  if (f) ((fv_concat_fn *)f)(4, CAT, 3, xs, act_y);
  return "inception_3a: 4 inputs, 28x28x256";
}
static const char *bench_concat_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  float *dxs[4] = {act_dx, act_dx + 100000, act_dx + 300000, act_dx + 400000};
  if (f) ((fv_concat_grad_fn *)f)(4, CAT, 3, act_dy, dxs);
  return "inception_3a: 4 inputs, 28x28x256";
}
static const char *bench_softmax(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_softmax_fn *)f)(4, 1000, 1.0f, act_x, act_y);
  return "4 x 1000";
}
static const char *bench_softmax_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_softmax_grad_fn *)f)(4, 1000, 1.0f, act_y, act_dy, act_dx);
  return "4 x 1000";
}
static const fv_slice_shape SLICE = {{1, 56, 56, 64}, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 56, 56, 32}};
static const char *bench_slice(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_slice_fn *)f)(&SLICE, act_x, act_y);
  return "half the channels of 56x56x64";
}
static const char *bench_slice_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_slice_grad_fn *)f)(&SLICE, act_dy, act_dx);
  return "half the channels of 56x56x64";
}
static const int SHUF[4] = {1, 3136, 2, 32}, SHUF_PERM[4] = {0, 1, 3, 2};
static const char *bench_transpose(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_transpose_fn *)f)(SHUF, SHUF_PERM, act_x, act_y);
  return "channel shuffle, 56x56x64, g 2";
}
static const char *bench_transpose_grad(const char *op, any_fn f) {
  (void)op;
  act_buffers();
  if (f) ((fv_transpose_grad_fn *)f)(SHUF, SHUF_PERM, act_dy, act_dx);
  return "channel shuffle, 56x56x64, g 2";
}

/* ==== FV_TWIN entries: the module's function with SIMD off, then on ================= */

static fv_param *fourier(void) {
  static fv_param *p;
  if (!p) {
    fv_param_opts o;
    fv_param_opts_default(&o);
    o.h = o.w = 224;
    fv_error err = {0};
    p = fv_param_new(&o, &err);
  }
  return p;
}
static const char *bench_fv_param_render(void) {
  fv_param_render(fourier());
  return "Fourier 224x224, decorrelated";
}
static const char *bench_fv_param_backward(void) {
  static float *d;
  if (!d) d = take(224 * 224 * 3);
  fv_param_backward(fourier(), d);
  return "Fourier 224x224, decorrelated";
}
static const char *bench_fv_cppn_backward(void) {
  static fv_cppn *c;
  static float *d, *g;
  if (!c) {
    fv_error err = {0};
    c = fv_cppn_new(1, 3, 1, &err);
    d = take(128 * 128 * 3);
    g = take(fv_cppn_count_one(c));
  }
  fv_cppn_backward(c, 0, 128, 128, d, g);
  return "CPPN 8x24 at 128x128";
}
static const char *bench_fv_lowres_up(void) {
  static const fv_lowres t = {1, 112, 112, 1, 224, 224, 3};
  static float *src, *dst;
  if (!src) src = take(fv_lowres_count(&t)), dst = take(224 * 224 * 3);
  fv_lowres_up(&t, src, dst);
  return "112x112x3 -> 224x224 (a Laplacian level)";
}
static const char *bench_fv_lowres_up_adjoint(void) {
  static const fv_lowres t = {1, 112, 112, 1, 224, 224, 3};
  static float *dsrc, *ddst;
  if (!dsrc) dsrc = take(fv_lowres_count(&t)), ddst = take(224 * 224 * 3);
  fv_lowres_up_adjoint(&t, ddst, dsrc);
  return "224x224 -> 112x112x3 (a Laplacian level)";
}
static fv_alpha *alpha_224(void) {
  static fv_alpha *a;
  if (!a) {
    fv_error err = {0};
    a = fv_alpha_new(1, 224, 224, 0, 1, &err);
  }
  return a;
}
static float *alpha_fg, *alpha_al, *alpha_d, *alpha_dfg, *alpha_dal;
static const char *bench_fv_alpha_composite(void) {
  if (!alpha_fg) alpha_fg = take(224 * 224 * 3), alpha_al = take(224 * 224);
  fv_alpha_composite(alpha_224(), alpha_fg, alpha_al); /* with its background's Fourier image */
  return "224x224, with the background's render";
}
static const char *bench_fv_alpha_backward(void) {
  if (!alpha_d) {
    bench_fv_alpha_composite();
    alpha_d = take(224 * 224 * 3), alpha_dfg = take(224 * 224 * 3), alpha_dal = take(224 * 224);
  }
  fv_alpha_backward(alpha_224(), 1.0, alpha_d, alpha_fg, alpha_al, alpha_dfg, alpha_dal); /* dfg apart: in place, repeated calls would shrink d to subnormals */
  return "224x224";
}
/* one layer of a CPPN drawing of 64x64 (a chunk is 1024 pixels): z spread as a CPPN's are (most |z| under 3),
 * its activation, and the gradients */
#define CPPN_NP (64 * 64)
static float *cppn_z, *cppn_out, *cppn_dout, *cppn_dz;
static void cppn_layer(void) {
  if (cppn_z) return;
  cppn_z = take(CPPN_NP * FV_CPPN_HIDDEN), cppn_dz = take(CPPN_NP * FV_CPPN_HIDDEN);
  cppn_out = take(CPPN_NP * 2 * FV_CPPN_HIDDEN), cppn_dout = take(CPPN_NP * 2 * FV_CPPN_HIDDEN);
  for (int i = 0; i < CPPN_NP * FV_CPPN_HIDDEN; i++) cppn_z[i] *= 3.0f;
}
static const char *bench_fv_cppn_composite(void) {
  cppn_layer();
  fv_cppn_composite(CPPN_NP, cppn_z, cppn_out);
  return "CPPN layer, 64x64 pixels x 24 units";
}
static const char *bench_fv_cppn_composite_grad(void) {
  cppn_layer();
  fv_cppn_composite_grad(CPPN_NP, cppn_z, cppn_out, cppn_dout, cppn_dz);
  return "CPPN layer, 64x64 pixels x 24 units";
}
static fv_transform *chain(void) {
  static fv_transform *t;
  if (!t) {
    fv_transform_opts o;
    fv_transform_opts_standard(&o, 1, 224, 224, 224, 224);
    fv_error err = {0};
    t = fv_transform_new(&o, &err);
    fv_rng r;
    fv_rng_seed(&r, 3);
    for (int i = 0; i < 7; i++) fv_transform_sample(t, &r); /* a draw with a scale and a rotation */
  }
  return t;
}
static const char *bench_fv_transform_forward(void) {
  static float *in, *out;
  if (!in) in = take(224 * 224 * 3), out = take(224 * 224 * 3);
  fv_transform_forward(chain(), in, out);
  return "Lucid's chain, 224x224";
}
static const char *bench_fv_transform_backward(void) {
  static float *dout, *din;
  if (!dout) dout = take(224 * 224 * 3), din = take(224 * 224 * 3);
  fv_transform_backward(chain(), dout, din);
  return "Lucid's chain, 224x224";
}

/* GoogLeNet's inception_3a/3x3 at a 128-px step (16×16, 96 → 128), both directions: with
 * SIMD on, fv_conv2d runs Winograd over the weights transformed as the loader does */
static const char *bench_fv_conv2d(void) {
  static fv_conv_shape s;
  static float *x, *w, *b, *y, *wino;
  if (!x) {
    s.n = 1, s.ih = s.iw = 16, s.ic = 96, s.oc = 128, s.kh = s.kw = 3, s.sh = s.sw = s.dh = s.dw = 1, s.dm = 1;
    s.pt = s.pb = s.pl = s.pr = 1;
    fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
    x = take(16 * 16 * 96), w = take(128 * 9 * 96), b = take(128), y = take(16 * 16 * 128);
    wino = take(fv_conv_wino_floats(96, 128, 3));
    fv_conv_wino(96, 128, 3, w, wino);
    s.wino = wino;
  }
  fv_conv2d(&s, x, w, b, y);
  fv_conv2d_grad(&s, y, w, x);
  return "3x3 96->128 at 16x16, forward + gradient";
}

static const char *bench_fv_prior_nll(void) {
  static fv_prior *p;
  static float *img, *grad, *scratch;
  if (!p) { /* 8 components, the identity covariance's factor scaled: the cost, not the values, matters here */
    float w[8], *cov = (float *)calloc((size_t)8 * FV_PRIOR_TRI, sizeof(float));
    for (int c = 0; c < 8; c++) {
      w[c] = 0.125f;
      for (int i = 0, t = 0; i < FV_PRIOR_DIM; i++)
        for (int j = i; j < FV_PRIOR_DIM; j++, t++) cov[(size_t)c * FV_PRIOR_TRI + t] = i == j ? 0.01f * (c + 1) : 0.001f;
    }
    fv_error err = {0};
    p = fv_prior_from_params(8, w, cov, &err);
    free(cov);
    img = take(128 * 128 * 3), grad = take(128 * 128 * 3);
    scratch = take(fv_prior_scratch_floats(p));
  }
  fv_prior_nll(p, img, 1, 128, 128, FV_PRIOR_STRIDE, grad, 1.0f, scratch);
  return "8 components, 128x128 at stride 4, with the gradient";
}

/* ==== the table, from kernels.inc ===================================================== */

typedef struct {
  const char *name, *sig;
  any_fn scalar, simd;                    /* FV_KERNEL / FV_SCALAR */
  const char *(*work)(const char *op, any_fn f);
  const char *(*entry)(void);             /* FV_TWIN: the module's function */
} row;

#ifdef __wasm_simd128__
#define SIMD_OF(op) (any_fn) fv_f32_##op##__wasmsimd
#else
#define SIMD_OF(op) NULL
#endif
static const row rows[] = {
#define FV_KERNEL(op, sig) {#op, #sig, (any_fn)fv_f32_##op##__scalar, SIMD_OF(op), bench_##sig, NULL},
#define FV_SCALAR(op, sig) {#op, #sig, (any_fn)fv_f32_##op##__scalar, NULL, bench_##sig, NULL},
#define FV_TWIN(module, name, entry) {#module ".c " #name, #entry, NULL, NULL, NULL, bench_##entry},
#include "kernels/kernels.inc"
#undef FV_KERNEL
#undef FV_SCALAR
#undef FV_TWIN
};

/* median ms of one call, at least 5 calls and about budget ms; simd: -1 leaves the switch alone */
static double time_row(const row *r, any_fn f, int simd, double budget) {
  if (simd >= 0) fv_kernels_set_simd(simd);
  double ts[4096];
  int n = 0;
  const double start = now_ms();
  if (r->work) r->work(r->name, f); /* warm-up, and the buffers */
  else r->entry();
  while (n < 4096 && (n < 5 || now_ms() - start < budget)) {
    const double t0 = now_ms();
    if (r->work) r->work(r->name, f);
    else r->entry();
    ts[n++] = now_ms() - t0;
  }
  fv_kernels_set_simd(1);
  qsort(ts, (size_t)n, sizeof ts[0], cmp_double);
  return ts[n / 2];
}

#define N_ROWS (sizeof rows / sizeof rows[0])

int main(void) {
  const double budget = 150.0; /* ms per measurement */
  printf("%-38s %-22s %-34s %10s %9s %9s\n", "kernel", "signature / entry", "workload", "scalar ms", "SIMD ms",
         "speed-up");
  for (size_t i = 0; i < N_ROWS; i++) {
    const row *r = &rows[i];
    char name[160];
    snprintf(name, sizeof name, "%s", r->name);
    if (r->entry) { /* one row per entry: the twins it runs, together */
      int earlier = 0;
      for (size_t j = 0; j < i; j++) earlier |= rows[j].entry == r->entry;
      if (earlier) continue;
      for (size_t j = i + 1; j < N_ROWS; j++)
        if (rows[j].entry == r->entry)
          snprintf(name + strlen(name), sizeof name - strlen(name), ", %s", strchr(rows[j].name, ' ') + 1);
    }
    const char *what = r->work ? r->work(r->name, NULL) : r->entry();
    const int twin = r->simd || (r->entry && fv_kernels_simd_available());
    const double ms_scalar = r->work ? time_row(r, r->scalar, -1, budget) : time_row(r, NULL, 0, budget);
    if (!twin) {
      printf("%-38s %-22s %-34s %10.3f %9s %9s\n", name, r->sig, what, ms_scalar, "-", "scalar only");
      continue;
    }
    const double ms_simd = r->work ? time_row(r, r->simd, -1, budget) : time_row(r, NULL, 1, budget);
    printf("%-38s %-22s %-34s %10.3f %9.3f %8.2fx\n", name, r->sig, what, ms_scalar, ms_simd, ms_scalar / ms_simd);
  }
  return 0;
}
