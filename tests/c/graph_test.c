/* graph_test.c — src/graph.c end to end: the backward pass to the input
 * against central finite differences on small random graphs that together
 * use every op kind, Lucid's redirected ReLU gradient, truncated execution,
 * the arena plan and the errors of planning, and concat views (the same bits
 * as copies).
 *
 * Models are built in memory (no .tflite): every pointer is malloc'd the way
 * src/tflite.c does it, so fv_model_free releases them.
 *
 * Finite differences. With a random seed r on some layers, the loss is
 * L(x) = Σ <r, layer(x)>, accumulated in double from the float32 forward, and
 * fv_graph_backward must give dL/dx. Each checked coordinate x_j is moved by
 * ±eps and (L(x+) − L(x−)) / (x+ − x−) compared with the analytic gradient.
 * A coordinate is skipped when the two sides do not lie on the same linear
 * piece: some fused ReLU/ReLU6 output changes between live/clamped, or some
 * max-pool window changes its argmax, compared with the centre point. Skips
 * must stay a small fraction, else a case checks little.
 *
 * Tolerance |fd − an_j| <= 5e-3·|an_j| + 5e-4·max|an| + noise, where
 * noise = 16·2^-24·Σ|r·y| / (2·eps): the forward runs in float32, so L carries
 * a rounding error of a few ulps of the size of its terms, which the 2·eps
 * denominator magnifies (measured: the largest |fd − an| of each case is 1–3×
 * 2^-24·Σ|r·y| / (2·eps)); the relative terms cover the central difference's
 * truncation error O(eps²·f''') on the smooth parts (softmax, products).
 * Measured worst ratios are below 0.3 (printed per case), and a gradient
 * scaled by 1.01 fails all 9 cases, so the check is tight enough to see
 * a wrong factor, not only a wrong sign. Each case must also have a gradient
 * 50× above its noise floor, so it cannot pass by being tiny.
 *
 * In the wasm build the kernels are SIMD; each case also recomputes its
 * gradient with the scalar kernels (fv_kernels_set_simd(0)) and compares.
 */
#include <assert.h>
#include <stdint.h>

#include "check.h"
#include "graph.h"
#include "kernels/kernels.h"

/* ==== building models in memory ================================================= */

#define MB_MAX 48 /* tensors and ops per test model */

static char *mb_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = (char *)malloc(n);
  memcpy(d, s, n);
  return d;
}

static int mb_tensor(fv_model *m, int rank, const int *dims, float *data) {
  if (m->n_tensors >= MB_MAX) abort(); /* test-programmer error */
  int i = m->n_tensors++;
  fv_tensor *t = &m->tensors[i];
  char name[32];
  snprintf(name, sizeof name, "%s%d", data ? "const" : "t", i);
  t->name = mb_strdup(name);
  t->rank = rank;
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  t->data = data;
  return i;
}

static int mb_const(fv_model *m, int rank, const int *dims, float lo, float hi) {
  size_t n = 1;
  for (int k = 0; k < rank; k++) n *= (size_t)dims[k];
  float *d = (float *)malloc(n * sizeof(float));
  check_fill(d, n, lo, hi);
  return mb_tensor(m, rank, dims, d);
}

static fv_model *mb_new(int in_c) {
  fv_model *m = (fv_model *)calloc(1, sizeof *m);
  m->tensors = (fv_tensor *)calloc(MB_MAX, sizeof *m->tensors);
  m->ops = (fv_op *)calloc(MB_MAX, sizeof *m->ops);
  m->input = mb_tensor(m, 4, (int[]){1, 8, 8, in_c}, NULL);
  m->output = m->input;
  for (int k = 0; k < 3; k++) m->in_scale[k] = 2.0f / 255.0f, m->in_offset[k] = -1.0f;
  return m;
}

/* channels (last dim) of a tensor: for activations, what the builder recorded */
static int ch(const fv_model *m, int t) { return m->tensors[t].dims[m->tensors[t].rank - 1]; }

/* An op with a fresh activation output of c channels, made the model's output. */
static fv_op *mb_op(fv_model *m, fv_op_kind kind, fv_act act, int n_in, const int *in, int c) {
  if (m->n_ops >= MB_MAX) abort();
  fv_op *op = &m->ops[m->n_ops++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  op->act = act;
  op->n_inputs = n_in;
  op->inputs = (int *)malloc((size_t)n_in * sizeof(int));
  memcpy(op->inputs, in, (size_t)n_in * sizeof(int));
  op->output = mb_tensor(m, 4, (int[]){1, 1, 1, c}, NULL);
  op->padding = FV_PADDING_SAME;
  op->stride_h = op->stride_w = 1;
  op->dil_h = op->dil_w = 1;
  op->beta = 1.0f;
  m->output = op->output;
  return op;
}

/* bias: 0 = no bias input (2 inputs), 1 = a bias, 2 = bias slot present but -1 (absent) */
static int mb_bias(fv_model *m, int bias, int oc) {
  return bias == 1 ? mb_const(m, 1, (int[]){oc}, -0.3f, 0.6f) : -1;
}

/* Weights U(-a, a) with a = gain·sqrt(3/fan_in): unit gain keeps activations ~1. */
static int L_conv(fv_model *m, int x, int oc, int k, int stride, int dil, fv_padding pad, int bias, fv_act act,
                  float gain) {
  int ic = ch(m, x);
  float a = gain * sqrtf(3.0f / (float)(k * k * ic));
  int w = mb_const(m, 4, (int[]){oc, k, k, ic}, -a, a);
  int b = mb_bias(m, bias, oc);
  fv_op *op = mb_op(m, FV_OP_CONV2D, act, bias ? 3 : 2, (int[]){x, w, b}, oc);
  op->padding = pad;
  op->stride_h = op->stride_w = stride;
  op->dil_h = op->dil_w = dil;
  return op->output;
}

static int L_dwconv(fv_model *m, int x, int dm, int k, int stride, fv_padding pad, int bias, fv_act act, float gain) {
  int ic = ch(m, x), oc = ic * dm;
  float a = gain * sqrtf(3.0f / (float)(k * k));
  int w = mb_const(m, 4, (int[]){1, k, k, oc}, -a, a);
  int b = mb_bias(m, bias, oc);
  fv_op *op = mb_op(m, FV_OP_DWCONV2D, act, bias ? 3 : 2, (int[]){x, w, b}, oc);
  op->padding = pad;
  op->stride_h = op->stride_w = stride;
  op->depth_mult = dm;
  return op->output;
}

static int L_fc(fv_model *m, int x, int oc, int bias, fv_act act, float gain) {
  int ic = ch(m, x);
  float a = gain * sqrtf(3.0f / (float)ic);
  int w = mb_const(m, 2, (int[]){oc, ic}, -a, a);
  int b = mb_bias(m, bias, oc);
  return mb_op(m, FV_OP_FULLY_CONNECTED, act, bias ? 3 : 2, (int[]){x, w, b}, oc)->output;
}

static int L_binop(fv_model *m, fv_op_kind kind, int a, int b, fv_act act) {
  int c = ch(m, a) > ch(m, b) ? ch(m, a) : ch(m, b);
  return mb_op(m, kind, act, 2, (int[]){a, b}, c)->output;
}

static int L_pool(fv_model *m, fv_op_kind kind, int x, int k, int stride, fv_padding pad, fv_act act) {
  fv_op *op = mb_op(m, kind, act, 1, &x, ch(m, x));
  op->filter_h = op->filter_w = k;
  op->stride_h = op->stride_w = stride;
  op->padding = pad;
  return op->output;
}

static int L_mean_hw(fv_model *m, int x, int keep) {
  fv_op *op = mb_op(m, FV_OP_MEAN, FV_ACT_NONE, 1, &x, ch(m, x));
  op->mean_axes = 1 << 1 | 1 << 2;
  op->keep_dims = keep;
  return op->output;
}

static int L_pad(fv_model *m, int x, const int pads[4][2]) {
  fv_op *op = mb_op(m, FV_OP_PAD, FV_ACT_NONE, 1, &x, ch(m, x) + pads[3][0] + pads[3][1]);
  memcpy(op->pads, pads, sizeof op->pads);
  return op->output;
}

static int L_concat(fv_model *m, int n, const int *xs, fv_act act) {
  int c = 0;
  for (int j = 0; j < n; j++) c += ch(m, xs[j]);
  fv_op *op = mb_op(m, FV_OP_CONCAT, act, n, xs, c);
  op->axis = 3;
  return op->output;
}

/* [N, ...] → [N, per_image] (TFLite's [1, -1] with the batch first) */
static int L_flatten(fv_model *m, int x, int per_image) {
  fv_op *op = mb_op(m, FV_OP_RESHAPE, FV_ACT_NONE, 1, &x, per_image);
  op->new_rank = 2;
  op->new_shape[0] = 1;
  op->new_shape[1] = -1;
  return op->output;
}

/* a conv with ONNX's explicit (asymmetric) pads and groups */
static int L_conv_x(fv_model *m, int x, int oc, int kh, int kw, int stride, int groups, const int pads[4], int bias,
                    fv_act act, float gain) {
  int ic = ch(m, x), icg = ic / groups;
  float a = gain * sqrtf(3.0f / (float)(kh * kw * icg));
  int w = mb_const(m, 4, (int[]){oc, kh, kw, icg}, -a, a);
  int b = mb_bias(m, bias, oc);
  fv_op *op = mb_op(m, FV_OP_CONV2D, act, bias ? 3 : 2, (int[]){x, w, b}, oc);
  op->padding = FV_PADDING_EXPLICIT;
  op->pad_t = pads[0], op->pad_l = pads[1], op->pad_b = pads[2], op->pad_r = pads[3];
  op->stride_h = op->stride_w = stride;
  op->groups = groups;
  return op->output;
}

/* an ONNX pool: explicit pads, ceil mode, count_include_pad, or global */
static int L_pool_x(fv_model *m, fv_op_kind kind, int x, int k, int stride, const int pads[4], int ceil_mode,
                    int count_pad, int global) {
  fv_op *op = mb_op(m, kind, FV_ACT_NONE, 1, &x, ch(m, x));
  op->filter_h = op->filter_w = k;
  op->stride_h = op->stride_w = stride;
  op->padding = global ? FV_PADDING_VALID : FV_PADDING_EXPLICIT;
  if (pads) op->pad_t = pads[0], op->pad_l = pads[1], op->pad_b = pads[2], op->pad_r = pads[3];
  op->ceil_mode = ceil_mode;
  op->count_include_pad = count_pad;
  op->global = global;
  return op->output;
}

static int L_act(fv_model *m, int x, fv_act act, float a, float b) {
  fv_op *op = mb_op(m, FV_OP_ACT, act, 1, &x, ch(m, x));
  op->act_a = a, op->act_b = b;
  return op->output;
}

/* ONNX LRN(size, alpha, beta, bias), lowered as the loader does */
static int L_lrn(fv_model *m, int x, int size, float alpha, float beta, float bias) {
  fv_op *op = mb_op(m, FV_OP_LRN, FV_ACT_NONE, 1, &x, ch(m, x));
  op->lrn_lo = (size - 1) / 2, op->lrn_hi = size - 1 - (size - 1) / 2;
  op->lrn_alpha = alpha / (float)size, op->lrn_beta = beta, op->lrn_bias = bias;
  return op->output;
}

/* channels [c0, c0 + n) of x, step 1 (a piece of a Split); the other axes whole (size -1) */
static int L_split(fv_model *m, int x, int c0, int n) {
  fv_op *op = mb_op(m, FV_OP_SLICE, FV_ACT_NONE, 1, &x, n);
  for (int k = 0; k < 4; k++) op->begin[k] = 0, op->size[k] = -1, op->step[k] = 1;
  op->begin[3] = c0, op->size[3] = n;
  return op->output;
}

static int L_slice(fv_model *m, int x, const int begin[4], const int size[4], const int step[4], int c) {
  fv_op *op = mb_op(m, FV_OP_SLICE, FV_ACT_NONE, 1, &x, c);
  memcpy(op->begin, begin, sizeof op->begin);
  memcpy(op->size, size, sizeof op->size);
  memcpy(op->step, step, sizeof op->step);
  return op->output;
}

/* ShuffleNet's channel shuffle as the ONNX loader lowers it: reshape [N, HW, g, C/g] → transpose
 * [0, 1, 3, 2] → reshape to x's own dims (new_rank 0) */
static int L_shuffle(fv_model *m, int x, int groups, int hw) {
  const int c = ch(m, x);
  fv_op *op = mb_op(m, FV_OP_RESHAPE, FV_ACT_NONE, 1, &x, c / groups);
  op->new_rank = 4;
  op->new_shape[0] = 1, op->new_shape[1] = hw, op->new_shape[2] = groups, op->new_shape[3] = c / groups;
  int t = op->output;
  op = mb_op(m, FV_OP_TRANSPOSE, FV_ACT_NONE, 1, &t, groups);
  op->perm[0] = 0, op->perm[1] = 1, op->perm[2] = 3, op->perm[3] = 2;
  t = op->output;
  op = mb_op(m, FV_OP_RESHAPE, FV_ACT_NONE, 2, (int[]){t, x}, c);
  op->new_rank = 0;
  return op->output;
}

static int L_pad_value(fv_model *m, int x, const int pads[4][2], float value) {
  int t = L_pad(m, x, pads);
  m->ops[m->n_ops - 1].pad_value = value;
  return t;
}

static int L_softmax(fv_model *m, int x, float beta) {
  fv_op *op = mb_op(m, FV_OP_SOFTMAX, FV_ACT_NONE, 1, &x, ch(m, x));
  op->beta = beta;
  return op->output;
}

/* ==== finite differences ========================================================= */

/* TFLite's padding before, from the sizes: total = max((out−1)·s + k − in, 0). */
static int pad_before(int in, int out, int k, int s) {
  int total = (out - 1) * s + k - in;
  return total > 0 ? total / 2 : 0;
}

/* The linear piece of one output j of op, from its input x and output y:
 * fused RELU/RELU6 (and standalone ones) 0 live, 1 at or below 0, 2 at or
 * above 6; the other activations by the kinks of their formula; MAXIMUM and
 * MINIMUM by the input that wins; PRELU by the sign of its input. */
static unsigned char piece(const fv_op *op, float x, float y, float b) {
  fv_act act = op->act;
  if (op->kind == FV_OP_MAXIMUM) return x < b ? 1 : x > b ? 0 : 2;
  if (op->kind == FV_OP_MINIMUM) return b < x ? 1 : b > x ? 0 : 2;
  if (op->kind == FV_OP_PRELU) return x > 0 ? 0 : x < 0 ? 1 : 2;
  switch (act) {
    case FV_ACT_RELU:
    case FV_ACT_RELU6: return y <= 0.0f ? 1 : act == FV_ACT_RELU6 && y >= 6.0f ? 2 : 0;
    case FV_ACT_CLIP: return x <= op->act_a ? 1 : x >= op->act_b ? 2 : 0;
    case FV_ACT_LEAKY_RELU: return x < 0 ? 1 : x > 0 ? 0 : 2;
    case FV_ACT_HARD_SIGMOID: {
      const float v = op->act_a * x + op->act_b;
      return v <= 0 ? 1 : v >= 1 ? 2 : 0;
    }
    case FV_ACT_HARD_SWISH: return x <= -3 ? 1 : x >= 3 ? 2 : 0;
    default: return 0;
  }
}

static int has_pieces(const fv_op *op) {
  if (op->kind == FV_OP_MAXIMUM || op->kind == FV_OP_MINIMUM || op->kind == FV_OP_PRELU) return 1;
  return op->act != FV_ACT_NONE && op->act != FV_ACT_SIGMOID && op->act != FV_ACT_TANH;
}

/* The linear piece the forward pass is on: one byte per output of an op with
 * kinks (piece() above; for fused activations x is not needed) and one per
 * max-pool output (its argmax tap, recomputed here over in-bounds taps, first
 * wins). count[0..2] tallies the RELU/RELU6 pieces. */
static size_t kink_signature(const fv_graph *g, const fv_model *m, unsigned char *sig, size_t count[3]) {
  size_t k = 0;
  for (int i = 0; i < m->n_ops; i++) {
    const fv_op *op = &m->ops[i];
    const float *y = fv_graph_act(g, op->output);
    size_t ny = fv_graph_numel(g, op->output);
    if (has_pieces(op)) {
      const int two = op->kind == FV_OP_MAXIMUM || op->kind == FV_OP_MINIMUM || op->kind == FV_OP_PRELU;
      const int elementwise = op->kind == FV_OP_ACT || two;
      const float *x = elementwise ? fv_graph_act(g, op->inputs[0]) : NULL;
      /* the second input: an activation of y's shape, or a constant [C] (the test models use no other) */
      const fv_tensor *bt = two ? &m->tensors[op->inputs[1]] : NULL;
      const float *b = bt ? (bt->data ? bt->data : fv_graph_act(g, op->inputs[1])) : NULL;
      const size_t nb = !bt ? 0 : bt->data ? (size_t)bt->dims[bt->rank - 1] : ny;
      if (x) assert(fv_graph_numel(g, op->inputs[0]) == ny);
      if (bt && !bt->data) assert(fv_graph_numel(g, op->inputs[1]) == ny);
      for (size_t j = 0; j < ny; j++) {
        sig[k] = piece(op, x ? x[j] : 0.0f, y[j], b ? b[j % nb] : 0.0f);
        if (count && (op->act == FV_ACT_RELU || op->act == FV_ACT_RELU6)) count[sig[k]]++;
        k++;
      }
    }
    if (op->kind != FV_OP_MAXPOOL2D) continue;
    const float *x = fv_graph_act(g, op->inputs[0]);
    const int *xd = fv_graph_dims(g, op->inputs[0]), *yd = fv_graph_dims(g, op->output);
    int pt, pl, kh = op->filter_h, kw = op->filter_w, sh = op->stride_h, sw = op->stride_w;
    if (op->global) pt = pl = 0, kh = xd[1], kw = xd[2], sh = sw = 1;
    else if (op->padding == FV_PADDING_EXPLICIT) pt = op->pad_t, pl = op->pad_l;
    else pt = pad_before(xd[1], yd[1], kh, sh), pl = pad_before(xd[2], yd[2], kw, sw);
    for (int n = 0; n < yd[0]; n++)
      for (int oy = 0; oy < yd[1]; oy++)
        for (int ox = 0; ox < yd[2]; ox++)
          for (int c = 0; c < yd[3]; c++) {
            int best = -1;
            float bv = 0.0f;
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++) {
                int iy = oy * sh - pt + ky, ix = ox * sw - pl + kx;
                if (iy < 0 || iy >= xd[1] || ix < 0 || ix >= xd[2]) continue;
                float v = x[(((size_t)n * xd[1] + iy) * xd[2] + ix) * xd[3] + c];
                if (best < 0 || v > bv) best = ky * kw + kx, bv = v;
              }
            sig[k++] = (unsigned char)best;
          }
  }
  return k;
}

static size_t signature_cap(const fv_graph *g, const fv_model *m) {
  size_t n = 0;
  for (int i = 0; i < m->n_ops; i++) n += 2 * fv_graph_numel(g, m->ops[i].output);
  return n;
}

typedef struct {
  int n;         /* seeded layers */
  int t[2];      /* their tensors */
  float *r[2];   /* dLoss/dlayer */
} seeds;

static double loss_of(const fv_graph *g, const seeds *s) {
  double L = 0.0;
  for (int k = 0; k < s->n; k++) {
    const float *y = fv_graph_act(g, s->t[k]);
    size_t n = fv_graph_numel(g, s->t[k]);
    for (size_t j = 0; j < n; j++) L += (double)s->r[k][j] * (double)y[j];
  }
  return L;
}

/* forward at x, seed, backward, copy dL/dx */
static void grad_at(fv_graph *g, const fv_model *m, const float *x, const seeds *s, int redirect, float *dx) {
  size_t nx = fv_graph_numel(g, m->input);
  memcpy(fv_graph_input(g), x, nx * sizeof(float));
  fv_graph_forward(g);
  fv_graph_zero_grad(g);
  for (int k = 0; k < s->n; k++) {
    float *d = fv_graph_grad(g, s->t[k]);
    size_t n = fv_graph_numel(g, s->t[k]);
    for (size_t j = 0; j < n; j++) d[j] += s->r[k][j];
  }
  fv_graph_backward(g, redirect);
  memcpy(dx, fv_graph_grad(g, m->input), nx * sizeof(float));
}

static float max_abs(const float *x, size_t n) {
  float a = 0.0f;
  for (size_t i = 0; i < n; i++) a = fabsf(x[i]) > a ? fabsf(x[i]) : a;
  return a;
}

/* Gradients computed two ways (SIMD and scalar kernels, or seeds together and
 * apart) agree to rtol of the element or of the largest element. */
static int grads_close(const float *a, const float *b, size_t n, double rtol) {
  double scale = max_abs(b, n);
  return check_close_ratio(a, b, n, rtol * scale + 1e-30, rtol) <= 1.0;
}

/* fused-activation units at the centre points, over all cases: live, at 0, at 6 */
static size_t fd_units[3];

#define FD_ALL_UP_TO 320 /* inputs up to this many floats: every coordinate; else a random subset */
#define FD_SUBSET 160
#define FD_RTOL 5e-3 /* of the coordinate's gradient */
#define FD_MTOL 5e-4 /* of the largest gradient */

/* The FD check of one model at one size, seeded on `extra` (or -1) and the output. */
static void fd_case(const char *name, fv_model *m, int batch, int h, int w, float eps, int extra) {
  fv_error err = {0};
  fv_graph *g = fv_graph_new(m, batch, h, w, m->n_ops - 1, 1, &err);
  CHECK(g != NULL, "%s: fv_graph_new: %s", name, err.msg);
  if (!g) return;
  size_t nx = fv_graph_numel(g, m->input);
  float *x0 = (float *)malloc(nx * sizeof(float)), *x = (float *)malloc(nx * sizeof(float));
  float *an = (float *)malloc(nx * sizeof(float)), *dx = (float *)malloc(nx * sizeof(float));
  check_fill(x0, nx, -1.0f, 1.0f);

  seeds s = {0};
  s.t[s.n++] = m->output;
  if (extra >= 0) s.t[s.n++] = extra;
  for (int k = 0; k < s.n; k++) {
    size_t n = fv_graph_numel(g, s.t[k]);
    s.r[k] = (float *)malloc(n * sizeof(float));
    check_fill(s.r[k], n, -1.0f, 1.0f);
  }
  grad_at(g, m, x0, &s, 0, an);
  float an_max = max_abs(an, nx);
  CHECK(isfinite(an_max), "%s: gradient is not finite", name);

  if (s.n == 2) { /* two seeds accumulate: the gradient is the sum of each seed's */
    seeds one = s, two = s;
    one.n = 1;
    two.n = 1;
    two.t[0] = s.t[1];
    two.r[0] = s.r[1];
    float *d1 = (float *)malloc(nx * sizeof(float));
    grad_at(g, m, x0, &one, 0, d1);
    grad_at(g, m, x0, &two, 0, dx);
    for (size_t j = 0; j < nx; j++) dx[j] += d1[j];
    CHECK(grads_close(dx, an, nx, 1e-5), "%s: gradient of both seeds != sum of each seed's", name);
    CHECK(max_abs(d1, nx) > 1e-2f && max_abs(dx, nx) > 1e-2f, "%s: a seed contributes nothing", name);
    free(d1);
  }

  /* the linear piece at the centre */
  memcpy(fv_graph_input(g), x0, nx * sizeof(float));
  fv_graph_forward(g);
  size_t cap = signature_cap(g, m);
  unsigned char *sig0 = (unsigned char *)malloc(cap + 1), *sig = (unsigned char *)malloc(cap + 1);
  size_t nsig = kink_signature(g, m, sig0, fd_units);

  int all = nx <= FD_ALL_UP_TO, n_check = all ? (int)nx : FD_SUBSET, skipped = 0, bad = 0;
  /* float32 noise floor of the difference quotient, from the size of L's terms */
  double S = 0.0;
  for (int k = 0; k < s.n; k++) {
    const float *y = fv_graph_act(g, s.t[k]);
    for (size_t j = 0; j < fv_graph_numel(g, s.t[k]); j++) S += fabs((double)s.r[k][j] * y[j]);
  }
  const double noise = 16.0 * 0x1p-24 * S / (2.0 * eps);
  CHECK(an_max > 50.0 * noise, "%s: gradient (max %g) does not stand above the FD noise floor %g", name, an_max, noise);
  double worst = 0.0;
  memcpy(x, x0, nx * sizeof(float));
  for (int c = 0; c < n_check; c++) {
    size_t j = all ? (size_t)c : (size_t)check_u32() % nx;
    float xp = x0[j] + eps, xm = x0[j] - eps;
    int same = 1;
    x[j] = xp;
    memcpy(fv_graph_input(g), x, nx * sizeof(float));
    fv_graph_forward(g);
    double Lp = loss_of(g, &s);
    same &= kink_signature(g, m, sig, NULL) == nsig && memcmp(sig, sig0, nsig) == 0;
    x[j] = xm;
    memcpy(fv_graph_input(g), x, nx * sizeof(float));
    fv_graph_forward(g);
    double Lm = loss_of(g, &s);
    same &= kink_signature(g, m, sig, NULL) == nsig && memcmp(sig, sig0, nsig) == 0;
    x[j] = x0[j];
    if (!same) {
      skipped++;
      continue;
    }
    double fd = (Lp - Lm) / ((double)xp - (double)xm);
    double r = fabs(fd - an[j]) / (FD_RTOL * fabs(an[j]) + FD_MTOL * an_max + noise);
    if (!(r <= worst)) worst = r;
    if (!(r <= 1.0) && bad++ < 5)
      printf("  %s: x[%zu] analytic %.6g, finite difference %.6g\n", name, j, an[j], fd);
  }
  int checked = n_check - skipped;
  CHECK(bad == 0, "%s: %d of %d coordinates disagree with finite differences", name, bad, checked);
  CHECK(skipped * 5 < n_check, "%s: %d of %d coordinates cross a kink; the case checks too little", name, skipped,
        n_check);
  printf("%-28s batch %d %dx%d: %d coordinates, %d skipped at kinks, worst |fd-an|/tol %.3f, max |dL/dx| %.3g\n",
         name, batch, h, w, checked, skipped, worst, an_max);

  if (fv_kernels_simd_available()) { /* SIMD kernels (the default) against the scalar ones */
    fv_kernels_set_simd(0);
    grad_at(g, m, x0, &s, 0, dx);
    fv_kernels_set_simd(1);
    CHECK(grads_close(an, dx, nx, 1e-4), "%s: SIMD and scalar gradients differ (worst ratio %.3g)", name,
          check_close_ratio(an, dx, nx, 1e-4 * an_max, 1e-4));
  }

  for (int k = 0; k < s.n; k++) free(s.r[k]);
  free(sig0);
  free(sig);
  free(x0);
  free(x);
  free(an);
  free(dx);
  fv_graph_free(g);
}

/* ==== the models ================================================================= */

/* MobileNetV2-like: expand 1×1 → depthwise → project 1×1 → residual add → avg
 * pool → mean → fc → softmax. Returns the residual sum's tensor in *mid. */
static fv_model *model_inverted_residual(int *mid) {
  fv_model *m = mb_new(3);
  int t1 = L_conv(m, m->input, 6, 1, 1, 1, FV_PADDING_SAME, 1, FV_ACT_RELU6, 9.0f);
  int t2 = L_dwconv(m, t1, 1, 3, 1, FV_PADDING_SAME, 1, FV_ACT_RELU6, 1.0f);
  int t3 = L_conv(m, t2, 6, 1, 1, 1, FV_PADDING_SAME, 0, FV_ACT_NONE, 1.0f);
  int t4 = L_binop(m, FV_OP_ADD, t3, t1, FV_ACT_NONE);
  int t5 = L_pool(m, FV_OP_AVGPOOL2D, t4, 3, 2, FV_PADDING_SAME, FV_ACT_NONE);
  int t6 = L_mean_hw(m, t5, 1);
  int t7 = L_fc(m, t6, 5, 1, FV_ACT_NONE, 1.0f);
  L_softmax(m, t7, 1.0f);
  if (mid) *mid = t4;
  return m;
}

/* pad (H, W and one channel) → max pool SAME → conv → concat with the pool
 * → × constant → max pool VALID */
static fv_model *model_pad_pool_concat(void) {
  fv_model *m = mb_new(3);
  const int pads[4][2] = {{0, 0}, {1, 2}, {2, 1}, {0, 1}};
  int t1 = L_pad(m, m->input, pads);
  int t2 = L_pool(m, FV_OP_MAXPOOL2D, t1, 3, 2, FV_PADDING_SAME, FV_ACT_NONE);
  int t3 = L_conv(m, t2, 3, 3, 1, 1, FV_PADDING_SAME, 1, FV_ACT_RELU, 1.0f);
  int t4 = L_concat(m, 2, (int[]){t2, t3}, FV_ACT_NONE);
  int k = mb_const(m, 1, (int[]){ch(m, t4)}, -2.0f, 2.0f);
  int t5 = L_binop(m, FV_OP_MUL, t4, k, FV_ACT_NONE);
  L_pool(m, FV_OP_MAXPOOL2D, t5, 2, 2, FV_PADDING_VALID, FV_ACT_NONE);
  return m;
}

/* dilated VALID conv → strided SAME conv (gain 4, so some ReLU6 units sit at 6)
 * → depthwise ×2 stride 2 → avg pool with a fused ReLU6 → flatten → fc (ReLU) */
static fv_model *model_strided(void) {
  fv_model *m = mb_new(3);
  int t1 = L_conv(m, m->input, 5, 3, 1, 2, FV_PADDING_VALID, 1, FV_ACT_RELU, 1.0f);
  int t2 = L_conv(m, t1, 4, 3, 2, 1, FV_PADDING_SAME, 2, FV_ACT_RELU6, 12.0f);
  int t3 = L_dwconv(m, t2, 2, 3, 2, FV_PADDING_SAME, 1, FV_ACT_NONE, 1.0f);
  int t4 = L_pool(m, FV_OP_AVGPOOL2D, t3, 2, 1, FV_PADDING_SAME, FV_ACT_RELU6);
  int t5 = L_flatten(m, t4, 2 * 1 * 8); /* at 9×8: 5×4 → 3×2 → 2×1, 8 channels */
  L_fc(m, t5, 3, 0, FV_ACT_RELU, 1.0f);
  return m;
}

/* squeeze-excite: features × a per-image channel gate [N,1,1,C] computed from
 * their mean; + constant with ReLU; max pool VALID; flatten; softmax (beta 0.5) */
static fv_model *model_squeeze_excite(void) {
  fv_model *m = mb_new(3);
  int t1 = L_conv(m, m->input, 7, 3, 1, 1, FV_PADDING_SAME, 1, FV_ACT_RELU6, 1.5f);
  int t2 = L_dwconv(m, t1, 1, 3, 2, FV_PADDING_SAME, 1, FV_ACT_RELU, 1.0f);
  int t3 = L_mean_hw(m, t2, 1);
  int t4 = L_conv(m, t3, 3, 1, 1, 1, FV_PADDING_SAME, 1, FV_ACT_RELU, 2.0f);
  int t5 = L_conv(m, t4, 7, 1, 1, 1, FV_PADDING_SAME, 1, FV_ACT_NONE, 2.0f);
  int t6 = L_binop(m, FV_OP_MUL, t2, t5, FV_ACT_NONE);
  int k = mb_const(m, 1, (int[]){7}, -0.2f, 0.6f);
  int t7 = L_binop(m, FV_OP_ADD, t6, k, FV_ACT_RELU);
  int t8 = L_pool(m, FV_OP_MAXPOOL2D, t7, 2, 1, FV_PADDING_VALID, FV_ACT_NONE);
  int t9 = L_flatten(m, t8, 2 * 2 * 7); /* at 6×6: 3×3 → 2×2 */
  L_softmax(m, t9, 0.5f);
  return m;
}

/* odd channel counts: concat of a 1-channel conv, the 3-channel input itself and
 * a depthwise ×2 (fused ReLU6 on the concat) → 1×1 conv → its square (MUL of a
 * tensor with itself) → constant × it (the constant first) → avg pool VALID
 * with ReLU6 → mean without keep_dims → fc */
static fv_model *model_odd_concat(void) {
  fv_model *m = mb_new(3);
  int t1 = L_conv(m, m->input, 1, 1, 1, 1, FV_PADDING_SAME, 1, FV_ACT_NONE, 5.0f);
  int t2 = L_dwconv(m, m->input, 2, 3, 1, FV_PADDING_SAME, 0, FV_ACT_RELU, 1.0f);
  int t3 = L_concat(m, 3, (int[]){t1, m->input, t2}, FV_ACT_RELU6);
  int t4 = L_conv(m, t3, 5, 1, 1, 1, FV_PADDING_SAME, 2, FV_ACT_NONE, 0.5f);
  int t5 = L_binop(m, FV_OP_MUL, t4, t4, FV_ACT_NONE);
  /* positive: a negative channel would be all clamped by the pool's ReLU6 */
  int k = mb_const(m, 4, (int[]){1, 1, 1, ch(m, t5)}, 0.2f, 1.5f);
  int t6 = L_binop(m, FV_OP_MUL, k, t5, FV_ACT_NONE);
  int t7 = L_pool(m, FV_OP_AVGPOOL2D, t6, 2, 1, FV_PADDING_VALID, FV_ACT_RELU6);
  int t8 = L_mean_hw(m, t7, 0);
  L_fc(m, t8, 4, 1, FV_ACT_NONE, 1.0f);
  return m;
}

/* GoogLeNet's stem and an inception block as the ONNX loader lowers them: Sub
 * of a per-channel mean → 7×7 stride-2 conv, pads 3 → standalone Relu → 3×3
 * stride-2 max pool in ceil mode → LRN → 1×1 conv → Relu → 3×3 conv, pads 1
 * → Relu → LRN → ceil max pool → two branches (1×1 conv + Relu; 3×3 stride-1
 * max pool, pads 1, → 1×1 conv + Relu) → concat → global average pool → FC →
 * softmax. At 23×20 both ceil pools hang past the edge along H and the first
 * along W. LRN's alpha is far above GoogLeNet's 1e-4 so that it matters. */
static fv_model *model_googlenet_stem(void) {
  const int P0[4] = {0, 0, 0, 0}, P1[4] = {1, 1, 1, 1}, P3[4] = {3, 3, 3, 3};
  fv_model *m = mb_new(3);
  int mean = mb_const(m, 1, (int[]){3}, -0.5f, 0.5f);
  int t = L_binop(m, FV_OP_SUB, m->input, mean, FV_ACT_NONE);
  t = L_act(m, L_conv_x(m, t, 6, 7, 7, 2, 1, P3, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  t = L_pool_x(m, FV_OP_MAXPOOL2D, t, 3, 2, P0, 1, 0, 0);
  t = L_lrn(m, t, 5, 3.0f, 0.75f, 1.0f);
  t = L_act(m, L_conv_x(m, t, 5, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  t = L_act(m, L_conv_x(m, t, 7, 3, 3, 1, 1, P1, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  t = L_lrn(m, t, 5, 2.0f, 0.75f, 1.0f);
  t = L_pool_x(m, FV_OP_MAXPOOL2D, t, 3, 2, P0, 1, 0, 0);
  int b1 = L_act(m, L_conv_x(m, t, 3, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  int b2 = L_pool_x(m, FV_OP_MAXPOOL2D, t, 3, 1, P1, 0, 0, 0);
  b2 = L_act(m, L_conv_x(m, b2, 4, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  t = L_concat(m, 2, (int[]){b1, b2}, FV_ACT_NONE);
  t = L_pool_x(m, FV_OP_AVGPOOL2D, t, 0, 1, NULL, 0, 0, 1);
  L_softmax(m, L_fc(m, t, 5, 1, FV_ACT_NONE, 2.0f), 1.0f);
  return m;
}

/* The rest of what ONNX exports of torchvision lower to: a conv with asymmetric pads → a grouped stride-2
 * conv → a dilated depthwise conv with asymmetric pads → HardSwish → Split in two → Sigmoid / Tanh → Max and Min of the halves → concat → channel shuffle
 * (reshape, transpose, reshape) → PRelu → LeakyRelu → Div by an activation (sigmoid + 0.5) and by a
 * constant → Clip and HardSigmoid, summed → Pad with a value → average pool with count_include_pad and
 * ceil mode → Slice with steps → Transpose of H and W → constant − x → Relu6 → flatten → FC. */
static fv_model *model_onnx_ops(void) {
  const int PA[4] = {1, 0, 2, 1}, P1[4] = {1, 1, 1, 1}, PP[4] = {1, 0, 1, 1};
  fv_model *m = mb_new(3);
  int t = L_conv_x(m, m->input, 8, 3, 3, 1, 1, PA, 1, FV_ACT_NONE, 2.0f);
  t = L_conv_x(m, t, 8, 3, 3, 2, 4, P1, 1, FV_ACT_NONE, 2.0f);
  t = L_dwconv(m, t, 1, 3, 1, FV_PADDING_SAME, 1, FV_ACT_NONE, 1.5f); /* made explicit, dilated: */
  fv_op *dw = &m->ops[m->n_ops - 1];
  dw->padding = FV_PADDING_EXPLICIT, dw->dil_h = dw->dil_w = 2;
  dw->pad_t = 2, dw->pad_l = 1, dw->pad_b = 2, dw->pad_r = 3; /* eff 5: the same size out */
  t = L_act(m, t, FV_ACT_HARD_SWISH, 0, 0);
  int s1 = L_split(m, t, 0, 4), s2 = L_split(m, t, 4, 4);
  int mx = L_binop(m, FV_OP_MAXIMUM, L_act(m, s1, FV_ACT_SIGMOID, 0, 0), L_act(m, s2, FV_ACT_TANH, 0, 0),
                   FV_ACT_NONE);
  int mn = L_binop(m, FV_OP_MINIMUM, s1, s2, FV_ACT_NONE);
  t = L_shuffle(m, L_concat(m, 2, (int[]){mx, mn}, FV_ACT_NONE), 2, -1);
  t = L_binop(m, FV_OP_PRELU, t, mb_const(m, 1, (int[]){8}, -0.5f, 0.8f), FV_ACT_NONE);
  t = L_act(m, t, FV_ACT_LEAKY_RELU, 0.1f, 0);
  int den = L_binop(m, FV_OP_ADD, L_act(m, s2, FV_ACT_SIGMOID, 0, 0), mb_const(m, 1, (int[]){4}, 0.5f, 0.5f),
                    FV_ACT_NONE);
  den = L_concat(m, 2, (int[]){den, den}, FV_ACT_NONE);
  t = L_binop(m, FV_OP_DIV, t, den, FV_ACT_NONE);
  t = L_binop(m, FV_OP_DIV, t, mb_const(m, 1, (int[]){8}, 0.6f, 1.8f), FV_ACT_NONE);
  t = L_binop(m, FV_OP_ADD, L_act(m, t, FV_ACT_CLIP, -0.4f, 0.9f), L_act(m, t, FV_ACT_HARD_SIGMOID, 0.6f, 0.4f),
              FV_ACT_NONE);
  t = L_pad_value(m, t, (const int[4][2]){{0, 0}, {1, 1}, {0, 2}, {0, 0}}, 0.3f);
  t = L_pool_x(m, FV_OP_AVGPOOL2D, t, 3, 2, PP, 1, 1, 0);
  t = L_slice(m, t, (const int[4]){0, 0, 1, 1}, (const int[4]){-1, -1, -1, 3}, (const int[4]){1, 1, 2, 2}, 3);
  fv_op *tr = mb_op(m, FV_OP_TRANSPOSE, FV_ACT_NONE, 1, &t, 3);
  tr->perm[0] = 0, tr->perm[1] = 2, tr->perm[2] = 1, tr->perm[3] = 3;
  int k3 = mb_const(m, 1, (int[]){3}, 0.5f, 1.0f);
  t = L_binop(m, FV_OP_SUB, k3, tr->output, FV_ACT_RELU6); /* the constant first, as Sub(c, x) */
  L_fc(m, L_flatten(m, t, 12), 3, 1, FV_ACT_NONE, 1.0f); /* at 9×8: 4×1×3 → transposed 1×4×3 */
  return m;
}

/* Op kinds and activations the finite-difference models use, from their op lists. */
static unsigned seen_kinds, seen_acts;
static void note_ops(const fv_model *m) {
  for (int i = 0; i < m->n_ops; i++) {
    seen_kinds |= 1u << m->ops[i].kind;
    seen_acts |= 1u << m->ops[i].act;
  }
}

static void test_finite_differences(void) {
  const float eps = 1e-2f;
  int mid;
  fv_model *m = model_inverted_residual(&mid);
  fd_case("inverted residual", m, 2, 7, 7, eps, -1);
  fd_case("inverted residual 1 image", m, 1, 5, 9, eps, -1);
  fd_case("two seeds (residual+softmax)", m, 2, 6, 5, eps, mid);
  note_ops(m);
  fv_model_free(m);

  m = model_pad_pool_concat();
  fd_case("pad maxpool concat mul", m, 1, 8, 7, eps, -1);
  fd_case("pad maxpool concat mul", m, 2, 6, 6, eps, -1);
  note_ops(m);
  fv_model_free(m);

  m = model_strided();
  fd_case("dilated strided dwconv x2", m, 2, 9, 8, eps, -1);
  note_ops(m);
  fv_model_free(m);

  m = model_squeeze_excite();
  fd_case("squeeze-excite", m, 2, 6, 6, eps, -1);
  note_ops(m);
  fv_model_free(m);

  m = model_odd_concat();
  fd_case("odd concat, x*x, const*x", m, 1, 5, 5, eps, -1);
  fd_case("odd concat, x*x, const*x", m, 2, 7, 6, eps, -1);
  note_ops(m);
  fv_model_free(m);

  m = model_googlenet_stem();
  fd_case("GoogLeNet stem + inception", m, 1, 23, 20, eps, -1);
  fd_case("GoogLeNet stem + inception", m, 2, 24, 20, eps, m->ops[6].output); /* + the first LRN */
  note_ops(m);
  fv_model_free(m);

  m = model_onnx_ops();
  fd_case("ONNX ops (groups, shuffle, ...)", m, 2, 9, 8, 1e-3f, -1);
  note_ops(m);
  fv_model_free(m);

  /* every op kind and activation of model.h is in some case */
  for (int k = 0; k < FV_OP_COUNT; k++) CHECK(seen_kinds >> k & 1, "no finite-difference case uses %s", fv_op_name(k));
  for (int a = 0; a < FV_ACT_COUNT; a++) CHECK(seen_acts >> a & 1, "no finite-difference case uses activation %d", a);

  /* the cases visit every piece of ReLU6: clamped at 0, live, clamped at 6 */
  CHECK(fd_units[0] > 100 && fd_units[1] > 100 && fd_units[2] > 20, "units live %zu, at 0 %zu, at 6 %zu", fd_units[0],
        fd_units[1], fd_units[2]);
}

/* ==== redirected ReLU6 gradient ================================================== */

/* One 1×1 conv with ReLU6, weights in [0.1, 0.3] (all positive) and bias b,
 * so the reference gradient is a plain sum: dx[p][i] = Σ_o w[o][i]·g[p][o]. */
static void conv1x1_dx(const fv_model *m, const float *g, int pixels, float *dx) {
  const fv_tensor *w = &m->tensors[m->ops[0].inputs[1]];
  int oc = w->dims[0], ic = w->dims[3];
  for (int p = 0; p < pixels; p++)
    for (int i = 0; i < ic; i++) {
      double acc = 0.0;
      for (int o = 0; o < oc; o++) acc += (double)w->data[o * ic + i] * g[p * oc + o];
      dx[p * ic + i] = (float)acc;
    }
}

static void test_redirect(void) {
  enum { B = 2, H = 4, W = 5, IC = 3, OC = 4, P = H * W, NX = B * P * IC, NY = B * P * OC };
  for (int high = 0; high <= 1; high++) { /* clamped at 0 (bias −5), or at 6 (bias +20) */
    fv_model *m = mb_new(IC);
    int w = mb_const(m, 4, (int[]){OC, 1, 1, IC}, 0.1f, 0.3f);
    int b = mb_const(m, 1, (int[]){OC}, high ? 20.0f : -5.0f, high ? 20.0f : -5.0f);
    mb_op(m, FV_OP_CONV2D, FV_ACT_RELU6, 3, (int[]){m->input, w, b}, OC);
    fv_error err = {0};
    fv_graph *g = fv_graph_new(m, B, H, W, 0, 1, &err);
    CHECK(g != NULL, "redirect: %s", err.msg);
    if (!g) {
      fv_model_free(m);
      continue;
    }
    /* image 0 in [-1, 1]: pre-activation Σw·x + b within 0.9 of b, so every unit
     * is clamped. Image 1 in [6, 10] (bias −5: pre-activations in [-3.2, 4]) or
     * in [-30, -20] (bias 20: in [-7, 14]): a mix of live and clamped units, so
     * it keeps the ordinary mask. */
    static float x[NX], r[NY], dx[NX], ref[NX], gm[NY];
    check_fill(x, P * IC, -1.0f, 1.0f);
    check_fill(x + P * IC, P * IC, high ? -30.0f : 6.0f, high ? -20.0f : 10.0f);
    check_fill(r, NY, -1.0f, 1.0f);
    seeds s = {1, {m->output, 0}, {r, NULL}};

    memcpy(fv_graph_input(g), x, sizeof x);
    fv_graph_forward(g);
    const float *y = fv_graph_act(g, m->output);
    int live1 = 0, dead1 = 0, clamped0 = 0;
    for (int j = 0; j < P * OC; j++) clamped0 += high ? y[j] >= 6.0f : y[j] <= 0.0f;
    for (int j = P * OC; j < NY; j++) (y[j] > 0.0f && y[j] < 6.0f) ? live1++ : dead1++;
    CHECK(clamped0 == P * OC, "redirect: image 0 has %d of %d units clamped", clamped0, P * OC);
    CHECK(live1 > 0 && dead1 > 0, "redirect: image 1 is not mixed (%d live, %d clamped)", live1, dead1);

    /* ordinary gradient: zero for the clamped image; the masked sum for image 1 */
    grad_at(g, m, x, &s, 0, dx);
    CHECK(max_abs(dx, P * IC) == 0.0f, "redirect(%d): clamped image has a gradient without redirect", high);
    for (int j = 0; j < NY; j++) gm[j] = (y[j] > 0.0f && y[j] < 6.0f) ? r[j] : 0.0f;
    conv1x1_dx(m, gm, B * P, ref);
    CHECK(grads_close(dx + P * IC, ref + P * IC, P * IC, 1e-5), "redirect(%d): ordinary gradient of image 1", high);

    /* redirected: the clamped image passes only the seeds that pull its units back
     * into range (loss minimized: at 0, dy < 0; at 6, dy > 0); image 1 unchanged */
    float *dx1 = (float *)malloc(sizeof dx);
    memcpy(dx1, dx, sizeof dx);
    grad_at(g, m, x, &s, 1, dx);
    for (int j = 0; j < P * OC; j++) gm[j] = high ? (r[j] > 0.0f ? r[j] : 0.0f) : (r[j] < 0.0f ? r[j] : 0.0f);
    conv1x1_dx(m, gm, B * P, ref);
    CHECK(max_abs(dx, P * IC) > 0.1f, "redirect(%d): redirected gradient is zero", high);
    CHECK(grads_close(dx, ref, P * IC, 1e-5), "redirect(%d): redirected gradient of the clamped image", high);
    CHECK(memcmp(dx + P * IC, dx1 + P * IC, P * IC * sizeof(float)) == 0,
          "redirect(%d): an image with live units must keep the ordinary gradient", high);
    free(dx1);

    /* the sign: asking every unit to move back into range (dy = −1 at 0, +1 at 6)
     * gives a gradient whose descent step x −= lr·dx moves every pre-activation
     * that way (all weights are positive); asking them to go further out gives 0. */
    for (int dir = -1; dir <= 1; dir += 2) {
      for (int j = 0; j < NY; j++) r[j] = (float)dir;
      grad_at(g, m, x, &s, 1, dx);
      int inward = high ? dir > 0 : dir < 0, ok = 1;
      for (int j = 0; j < P * IC; j++) ok &= inward ? (high ? dx[j] > 0.0f : dx[j] < 0.0f) : dx[j] == 0.0f;
      CHECK(ok, "redirect(%d): seed %+d gives the wrong sign (dx[0] = %g)", high, dir, dx[0]);
    }
    if (fv_kernels_simd_available()) {
      check_fill(r, NY, -1.0f, 1.0f);
      grad_at(g, m, x, &s, 1, dx);
      fv_kernels_set_simd(0);
      grad_at(g, m, x, &s, 1, ref);
      fv_kernels_set_simd(1);
      CHECK(grads_close(dx, ref, NX, 1e-5), "redirect(%d): SIMD and scalar redirected gradients differ", high);
    }
    fv_graph_free(g);
    fv_model_free(m);
  }
}

/* A standalone ACT RELU / RELU6 after a conv without a fused activation (ONNX's
 * Conv → Relu) gets Lucid's redirect like a fused one: the two graphs give
 * the same gradients bit for bit, redirected or not, on images with every
 * unit clamped and with a mix. */
static void test_redirect_standalone(void) {
  enum { B = 2, H = 3, W = 4, IC = 3, OC = 5 };
  for (int relu6 = 0; relu6 <= 1; relu6++) {
    const fv_act act = relu6 ? FV_ACT_RELU6 : FV_ACT_RELU;
    fv_model *fused = mb_new(IC), *apart = mb_new(IC);
    int w = mb_const(fused, 4, (int[]){OC, 3, 3, IC}, -0.3f, 0.3f), b = mb_const(fused, 1, (int[]){OC}, -2.0f, -1.0f);
    int w2 = mb_tensor(apart, 4, (int[]){OC, 3, 3, IC}, (float *)malloc(OC * 9 * IC * sizeof(float)));
    int b2 = mb_tensor(apart, 1, (int[]){OC}, (float *)malloc(OC * sizeof(float)));
    memcpy(apart->tensors[w2].data, fused->tensors[w].data, OC * 9 * IC * sizeof(float));
    memcpy(apart->tensors[b2].data, fused->tensors[b].data, OC * sizeof(float));
    mb_op(fused, FV_OP_CONV2D, act, 3, (int[]){fused->input, w, b}, OC);
    int t = mb_op(apart, FV_OP_CONV2D, FV_ACT_NONE, 3, (int[]){apart->input, w2, b2}, OC)->output;
    L_act(apart, t, act, 0, 0);
    fv_error err = {0};
    fv_graph *gf = fv_graph_new(fused, B, H, W, 0, 1, &err), *ga = fv_graph_new(apart, B, H, W, 1, 1, &err);
    CHECK(gf && ga, "standalone redirect: %s", err.msg);
    if (gf && ga) {
      static float x[B * H * W * IC], r[B * H * W * OC], df[B * H * W * IC], da[B * H * W * IC];
      check_fill(x, H * W * IC, -0.05f, 0.05f);             /* image 0: bias −2..−1 clamps every unit */
      check_fill(x + H * W * IC, H * W * IC, 2.0f, 6.0f);  /* image 1: a mix */
      for (int mode = 0; mode < 4; mode++) {
        check_fill(r, B * H * W * OC, -1.0f, 1.0f);
        if (mode >= 2)
          for (int j = 0; j < B * H * W * OC; j++) r[j] = mode == 2 ? 1.0f : -1.0f; /* all one way */
        seeds sf = {1, {fused->output, 0}, {r, NULL}}, sa = {1, {apart->output, 0}, {r, NULL}};
        for (int redirect = 0; redirect <= 1; redirect++) {
          grad_at(gf, fused, x, &sf, redirect, df);
          grad_at(ga, apart, x, &sa, redirect, da);
          CHECK(memcmp(df, da, sizeof df) == 0, "%s apart from the conv: gradient differs (mode %d, redirect %d)",
                relu6 ? "RELU6" : "RELU", mode, redirect);
        }
        CHECK(memcmp(fv_graph_act(gf, fused->output), fv_graph_act(ga, apart->output), B * H * W * OC * 4) == 0,
              "standalone %s: forward differs", relu6 ? "RELU6" : "RELU");
      }
      /* the redirect did something here: image 0 is all clamped at some seed */
      seeds sa = {1, {apart->output, 0}, {r, NULL}};
      grad_at(ga, apart, x, &sa, 0, df);
      grad_at(ga, apart, x, &sa, 1, da);
      CHECK(memcmp(df, da, H * W * IC * sizeof(float)) != 0, "standalone %s: the redirect changed nothing",
            relu6 ? "RELU6" : "RELU");
    }
    fv_graph_free(gf);
    fv_graph_free(ga);
    fv_model_free(fused);
    fv_model_free(apart);
  }
}

/* ==== truncated execution ======================================================== */

static void test_truncated(void) {
  fv_model *m = model_inverted_residual(NULL);
  const int B = 2, H = 7, W = 6;
  fv_error err = {0};
  fv_graph *full = fv_graph_new(m, B, H, W, m->n_ops - 1, 1, &err);
  CHECK(full != NULL, "truncated: %s", err.msg);
  if (!full) {
    fv_model_free(m);
    return;
  }
  size_t nx = fv_graph_numel(full, m->input);
  float *x = (float *)malloc(nx * sizeof(float)), *da = (float *)malloc(nx * sizeof(float));
  float *db = (float *)malloc(nx * sizeof(float));
  check_fill(x, nx, -1.0f, 1.0f);
  memcpy(fv_graph_input(full), x, nx * sizeof(float));
  fv_graph_forward(full);
  for (int k = 0; k < m->n_ops; k++) {
    fv_graph *g = fv_graph_new(m, B, H, W, k, 1, &err);
    CHECK(g != NULL && fv_graph_last_op(g) == k, "truncated at %d: %s", k, err.msg);
    if (!g) continue;
    memcpy(fv_graph_input(g), x, nx * sizeof(float));
    fv_graph_forward(g);
    int same = 1, absent = 1;
    size_t floats = nx;
    for (int i = 0; i < m->n_ops; i++) {
      int t = m->ops[i].output;
      if (i > k) {
        absent &= fv_graph_act(g, t) == NULL;
        continue;
      }
      size_t n = fv_graph_numel(full, t);
      floats += n;
      same &= fv_graph_numel(g, t) == n && memcmp(fv_graph_dims(g, t), fv_graph_dims(full, t), 4 * sizeof(int)) == 0 &&
              memcmp(fv_graph_act(g, t), fv_graph_act(full, t), n * sizeof(float)) == 0;
    }
    CHECK(same, "truncated at %d: layers up to it differ from the full graph", k);
    CHECK(absent, "truncated at %d: a later layer has an activation buffer", k);
    CHECK(fv_graph_plan_bytes(m, B, H, W, k, 1, &err) == 2 * floats * sizeof(float) &&
              fv_graph_plan_bytes(m, B, H, W, k, 0, &err) == floats * sizeof(float),
          "truncated at %d: plan %zu bytes, expected %zu", k, fv_graph_plan_bytes(m, B, H, W, k, 1, &err),
          2 * floats * sizeof(float));

    /* backward from layer k: the same in the truncated and the full graph */
    int t = m->ops[k].output;
    size_t n = fv_graph_numel(g, t);
    float *r = (float *)malloc(n * sizeof(float));
    check_fill(r, n, -1.0f, 1.0f);
    seeds s = {1, {t, 0}, {r, NULL}};
    grad_at(g, m, x, &s, 0, da);
    grad_at(full, m, x, &s, 0, db);
    CHECK(memcmp(da, db, nx * sizeof(float)) == 0 && max_abs(da, nx) > 0.0f,
          "truncated at %d: gradient differs from the full graph's", k);
    free(r);
    fv_graph_free(g);
  }
  /* without gradients: no gradient buffers, and backward does nothing */
  fv_graph *g = fv_graph_new(m, B, H, W, 2, 0, &err);
  CHECK(g && fv_graph_grad(g, m->input) == NULL && fv_graph_grad(g, m->ops[2].output) == NULL,
        "a graph without gradients hands out gradient buffers");
  if (g) {
    fv_graph_zero_grad(g);
    fv_graph_backward(g, 0);
  }
  fv_graph_free(g);
  free(x);
  free(da);
  free(db);
  fv_graph_free(full);
  fv_model_free(m);
}

/* ==== planning: arena size, shapes, errors ====================================== */

static int out_size(int in, int k, int s, int valid) { return valid ? (in - k) / s + 1 : (in + s - 1) / s; }

static void test_plan(void) {
  /* conv 3×3 stride 2 SAME → max pool 2×2 stride 2 VALID → mean → fc 5 → softmax */
  fv_model *m = mb_new(3);
  int t0 = L_conv(m, m->input, 4, 3, 2, 1, FV_PADDING_SAME, 1, FV_ACT_RELU, 1.0f);
  int t1 = L_pool(m, FV_OP_MAXPOOL2D, t0, 2, 2, FV_PADDING_VALID, FV_ACT_NONE);
  int t2 = L_mean_hw(m, t1, 1);
  int t3 = L_fc(m, t2, 5, 1, FV_ACT_NONE, 1.0f);
  L_softmax(m, t3, 1.0f);
  const int sizes[][3] = {{1, 9, 9}, {2, 8, 7}, {3, 5, 6}, {1, 3, 3}};
  for (int i = 0; i < 4; i++) {
    int b = sizes[i][0], h = sizes[i][1], w = sizes[i][2];
    int h1 = out_size(h, 3, 2, 0), w1 = out_size(w, 3, 2, 0);
    int h2 = out_size(h1, 2, 2, 1), w2 = out_size(w1, 2, 2, 1);
    size_t per[5] = {(size_t)h1 * w1 * 4, (size_t)h2 * w2 * 4, 4, 5, 5};
    size_t floats = (size_t)b * h * w * 3;
    for (int k = 0; k < 5; k++) {
      floats += (size_t)b * per[k];
      fv_error err = {0};
      size_t with = fv_graph_plan_bytes(m, b, h, w, k, 1, &err), without = fv_graph_plan_bytes(m, b, h, w, k, 0, &err);
      /* with gradients, the max pool's argmax too: an int32 per output element */
      const size_t want = (2 * floats + (k >= 1 ? (size_t)b * per[1] : 0)) * sizeof(float);
      CHECK(with == want && without == floats * sizeof(float) && err.code == FV_OK,
            "plan %dx%dx%d up to %d: %zu / %zu bytes, expected %zu / %zu", b, h, w, k, with, without, want,
            floats * sizeof(float));
    }
    fv_error err = {0};
    fv_graph *g = fv_graph_new(m, b, h, w, 4, 0, &err);
    CHECK(g != NULL, "plan %dx%dx%d: %s", b, h, w, err.msg);
    if (!g) continue;
    const int *d0 = fv_graph_dims(g, t0), *d1 = fv_graph_dims(g, t1), *d3 = fv_graph_dims(g, t3);
    CHECK(d0[0] == b && d0[1] == h1 && d0[2] == w1 && d0[3] == 4 && d1[1] == h2 && d1[2] == w2 && d1[3] == 4 &&
              d3[0] == b && d3[1] == 1 && d3[2] == 1 && d3[3] == 5,
          "plan %dx%dx%d: dims %dx%dx%dx%d, %dx%dx%dx%d", b, h, w, d0[0], d0[1], d0[2], d0[3], d1[0], d1[1], d1[2],
          d1[3]);
    fv_graph_free(g);
  }

  /* errors are values: each call returns 0 / NULL with the code, and nothing crashes */
  struct {
    int b, h, w, last, code;
    const char *what;
  } bad[] = {
      {1, 2, 2, 4, FV_ERR_SHAPE, "2x2 input: the 2×2 VALID pool gets a 1×1 map"},
      {0, 9, 9, 4, FV_ERR_BAD_ARG, "batch 0"},
      {-1, 9, 9, 4, FV_ERR_BAD_ARG, "batch -1"},
      {65, 9, 9, 4, FV_ERR_BAD_ARG, "batch 65"},
      {1, 0, 9, 4, FV_ERR_BAD_ARG, "height 0"},
      {1, 9, -3, 4, FV_ERR_BAD_ARG, "width -3"},
      {1, 5000, 9, 4, FV_ERR_BAD_ARG, "height 5000"},
      {1, 9, 9, -1, FV_ERR_UNKNOWN_LAYER, "last_op -1"},
      {1, 9, 9, 5, FV_ERR_UNKNOWN_LAYER, "last_op past the end"},
      {64, 4096, 4096, 4, FV_ERR_NO_MEMORY, "batch 64 at 4096x4096"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fv_error e1 = {0}, e2 = {0};
    size_t bytes = fv_graph_plan_bytes(m, bad[i].b, bad[i].h, bad[i].w, bad[i].last, 1, &e1);
    fv_graph *g = fv_graph_new(m, bad[i].b, bad[i].h, bad[i].w, bad[i].last, 1, &e2);
    CHECK(bytes == 0 && e1.code == bad[i].code && e1.msg[0], "plan, %s: %zu bytes, code %d (%s)", bad[i].what, bytes,
          e1.code, e1.msg);
    CHECK(g == NULL && e2.code == bad[i].code && e2.msg[0], "new, %s: code %d (%s)", bad[i].what, e2.code, e2.msg);
    fv_graph_free(g);
  }
  fv_model_free(m);

  /* a fixed-size tail: a 7×7 VALID average pool runs at 7×7 (and 13x13) only from 7×7 up */
  m = mb_new(3);
  L_pool(m, FV_OP_AVGPOOL2D, m->input, 7, 1, FV_PADDING_VALID, FV_ACT_NONE);
  const int hw[][3] = {{7, 7, FV_OK}, {13, 8, FV_OK}, {6, 7, FV_ERR_SHAPE}, {7, 5, FV_ERR_SHAPE}, {1, 1, FV_ERR_SHAPE}};
  for (int i = 0; i < 5; i++) {
    fv_error err = {0};
    fv_graph *g = fv_graph_new(m, 1, hw[i][0], hw[i][1], 0, 1, &err);
    CHECK((g != NULL) == (hw[i][2] == FV_OK) && err.code == hw[i][2], "7x7 VALID pool at %dx%d: code %d (%s)",
          hw[i][0], hw[i][1], err.code, err.msg);
    fv_graph_free(g);
  }
  fv_model_free(m);

  /* flatten → fc fixes the size: another size is FV_ERR_SHAPE, not a wrong read */
  m = model_strided();
  {
    fv_error err = {0};
    fv_graph *g = fv_graph_new(m, 1, 9, 8, m->n_ops - 1, 1, &err);
    CHECK(g != NULL, "strided model at its size: %s", err.msg);
    fv_graph_free(g);
    err.code = 0;
    g = fv_graph_new(m, 1, 13, 8, m->n_ops - 1, 1, &err);
    CHECK(g == NULL && err.code == FV_ERR_SHAPE, "flatten→fc at another size: code %d (%s)", err.code, err.msg);
    fv_graph_free(g);
  }
  fv_model_free(m);

  /* A layer whose float count exceeds 2^32: 4096×4096×257 floats (17 GB). It must
   * be refused, also where size_t is 32 bits (wasm), where the count wraps to 2^24. */
  m = mb_new(3);
  L_conv(m, m->input, 257, 1, 1, 1, FV_PADDING_SAME, 0, FV_ACT_NONE, 1.0f);
  {
    fv_error err = {0};
    size_t bytes = fv_graph_plan_bytes(m, 1, 4096, 4096, 0, 0, &err);
    CHECK(bytes == 0 && err.code == FV_ERR_NO_MEMORY, "4096x4096x257 layer: planned %zu bytes, code %d (%s)", bytes,
          err.code, err.msg);
  }
  fv_model_free(m);
}

/* The new ops' planning: dims at several input sizes (SLICE's "to the end", RESHAPE to another activation's
 * dims, global pools, ceil mode), and their bad fields refused with a code and a message naming the layer. */
static void test_plan_onnx_ops(void) {
  /* SLICE size -1 along every axis: ceil((d - begin) / step) */
  fv_model *m = mb_new(5);
  int t = L_slice(m, m->input, (const int[4]){0, 1, 2, 1}, (const int[4]){-1, -1, -1, -1}, (const int[4]){1, 2, 3, 2}, 2);
  int gp = L_pool_x(m, FV_OP_MAXPOOL2D, t, 0, 1, NULL, 0, 0, 1);
  (void)gp;
  const int sizes[][2] = {{8, 8}, {7, 9}, {2, 3}, {30, 11}};
  for (int i = 0; i < 4; i++) {
    fv_error err = {0};
    fv_graph *g = fv_graph_new(m, 2, sizes[i][0], sizes[i][1], 1, 0, &err);
    CHECK(g != NULL, "slice to the end at %dx%d: %s", sizes[i][0], sizes[i][1], err.msg);
    if (!g) continue;
    const int *d = fv_graph_dims(g, t), *e = fv_graph_dims(g, m->output);
    const int h = (sizes[i][0] - 1 + 1) / 2, w = (sizes[i][1] - 2 + 2) / 3;
    CHECK(d[0] == 2 && d[1] == h && d[2] == w && d[3] == 2, "slice to the end at %dx%d: %dx%dx%dx%d, want 2x%dx%dx2",
          sizes[i][0], sizes[i][1], d[0], d[1], d[2], d[3], h, w);
    CHECK(e[1] == 1 && e[2] == 1 && e[3] == 2, "global pool after it: %dx%d", e[1], e[2]);
    fv_graph_free(g);
  }
  fv_model_free(m);

  /* one mistake per model, each refused at planning (not at run time), naming the layer */
  for (int mistake = 0; mistake < 10; mistake++) {
    m = mb_new(4);
    int want = FV_ERR_BAD_MODEL;
    switch (mistake) {
      case 0: /* a negative pad */
        L_conv_x(m, m->input, 4, 3, 3, 1, 1, (const int[4]){1, 1, 1, 1}, 1, FV_ACT_NONE, 1);
        m->ops[0].pad_l = -1;
        break;
      case 1: L_conv_x(m, m->input, 6, 1, 1, 1, 3, (const int[4]){0, 0, 0, 0}, 0, FV_ACT_NONE, 1); break; /* 4 % 3 */
      case 2: L_lrn(m, m->input, 3, 1, 0.75f, 1); m->ops[0].lrn_bias = 0; break;
      case 3: L_slice(m, m->input, (const int[4]){0, 0, 0, 3}, (const int[4]){-1, -1, -1, 2}, (const int[4]){1, 1, 1, 1}, 2);
              want = FV_ERR_SHAPE; break; /* channels 3..4 of 4 */
      case 4: { fv_op *tr = mb_op(m, FV_OP_TRANSPOSE, FV_ACT_NONE, 1, &m->input, 4);
                tr->perm[0] = 0, tr->perm[1] = 1, tr->perm[2] = 1, tr->perm[3] = 3; break; }
      case 5: { int u = L_act(m, m->input, FV_ACT_RELU, 0, 0); /* reshape to dims with other counts */
                int v = L_pool_x(m, FV_OP_MAXPOOL2D, u, 2, 2, (const int[4]){0, 0, 0, 0}, 0, 0, 0);
                fv_op *r = mb_op(m, FV_OP_RESHAPE, FV_ACT_NONE, 2, (int[]){u, v}, 4);
                r->new_rank = 0; want = FV_ERR_SHAPE; break; }
      case 6: L_lrn(m, m->input, 3, 1, 0.75f, 1); m->ops[0].act = FV_ACT_RELU; want = FV_ERR_UNSUPPORTED; break;
      case 7: L_binop(m, FV_OP_ADD, m->input, m->input, FV_ACT_TANH); want = FV_ERR_UNSUPPORTED; break;
      case 8: L_pad(m, m->input, (const int[4][2]){{0, 0}, {0, -1}, {0, 0}, {0, 0}}); break;
      default: L_act(m, m->input, FV_ACT_COUNT, 0, 0); want = FV_ERR_UNSUPPORTED; break;
    }
    fv_error err = {0};
    fv_graph *g = fv_graph_new(m, 1, 6, 6, m->n_ops - 1, 1, &err);
    CHECK(g == NULL && (int)err.code == want && strstr(err.msg, "layer ") != NULL,
          "mistake %d: code %d (want %d), \"%s\"", mistake, err.code, want, err.msg);
    fv_graph_free(g);
    fv_model_free(m);
  }
}

/* The op fields reach the kernels: one op at a time on a known input, against values by hand. */
static fv_graph *run1(fv_model *m, int h, int w, float (*fill)(int y, int x, int c)) {
  fv_error err = {0};
  fv_graph *g = fv_graph_new(m, 1, h, w, m->n_ops - 1, 0, &err);
  CHECK(g != NULL, "wiring: %s", err.msg);
  if (!g) return NULL;
  float *x = fv_graph_input(g);
  for (int y = 0; y < h; y++)
    for (int xx = 0; xx < w; xx++)
      for (int c = 0; c < 3; c++) x[(y * w + xx) * 3 + c] = fill(y, xx, c);
  fv_graph_forward(g);
  return g;
}
static float ones(int y, int x, int c) { return (void)y, (void)x, (void)c, 1.0f; }
static float ramp(int y, int x, int c) { return (float)((y * 7 + x) * 3 + c); }
static float chan(int y, int x, int c) { return (void)y, (void)x, (float)(c + 1); }

static void test_wiring(void) {
  /* AveragePool(3, stride 2, pads 1, ceil_mode, count_include_pad) on 6×7 ones: PyTorch gives 4/9 in the
   * corner, 6/9 on the top edge and 2/6 at the bottom-left (the ceil overhang is not counted) */
  fv_model *m = mb_new(3);
  L_pool_x(m, FV_OP_AVGPOOL2D, m->input, 3, 2, (const int[4]){1, 1, 1, 1}, 1, 1, 0);
  fv_graph *g = run1(m, 6, 7, ones);
  if (g) {
    const float *y = fv_graph_act(g, m->output);
    const int *d = fv_graph_dims(g, m->output);
    CHECK(d[1] == 4 && d[2] == 4 && fabsf(y[0] - 4 / 9.0f) < 1e-6f && fabsf(y[3] - 6 / 9.0f) < 1e-6f &&
              fabsf(y[12 * 3] - 2 / 6.0f) < 1e-6f,
          "wiring: count_include_pad pool %dx%d: %g %g %g", d[1], d[2], y[0], y[3], y[36]);
  }
  fv_graph_free(g);
  fv_model_free(m);
  /* MaxPool(3, stride 2, pads 1, ceil_mode) on the ramp: channel 0 of the last row of windows repeats the one
   * above it (PyTorch: 36 38 40 41 twice, ×3 for the channel stride here) */
  m = mb_new(3);
  L_pool_x(m, FV_OP_MAXPOOL2D, m->input, 3, 2, (const int[4]){1, 1, 1, 1}, 1, 0, 0);
  g = run1(m, 6, 7, ramp);
  if (g) {
    const float *y = fv_graph_act(g, m->output);
    CHECK(y[0] == 24 && y[3 * 3] == 39 && y[12 * 3] == 108 && y[15 * 3] == 123, "wiring: ceil max pool %g %g %g %g",
          y[0], y[9], y[36], y[45]);
  }
  fv_graph_free(g);
  fv_model_free(m);
  /* Clip(-1, 0.5), HardSigmoid(0.5, 0.25), LeakyRelu(0.5) read act_a / act_b */
  const struct { fv_act act; float a, b, x, want; } acts[] = {
      {FV_ACT_CLIP, -1, 0.5f, 3, 0.5f}, {FV_ACT_HARD_SIGMOID, 0.5f, 0.25f, 1, 0.75f}, {FV_ACT_LEAKY_RELU, 0.5f, 0, 3, 3}};
  for (int i = 0; i < 3; i++) {
    m = mb_new(3);
    L_act(m, m->input, acts[i].act, acts[i].a, acts[i].b);
    g = run1(m, 1, 1, chan);
    if (g) {
      float y = fv_graph_act(g, m->output)[(int)acts[i].x - 1];
      CHECK(y == acts[i].want, "wiring: activation %d gives %g, want %g", (int)acts[i].act, y, acts[i].want);
    }
    fv_graph_free(g);
    fv_model_free(m);
  }
  /* LRN(size 3, alpha 3, beta 1, bias 1) on channels 1, 2, 3: t = 6, 15, 14 */
  m = mb_new(3);
  L_lrn(m, m->input, 3, 3.0f, 1.0f, 1.0f);
  g = run1(m, 1, 2, chan);
  if (g) {
    const float *y = fv_graph_act(g, m->output);
    CHECK(fabsf(y[3] - 1 / 6.0f) < 1e-7f && fabsf(y[4] - 2 / 15.0f) < 1e-7f && fabsf(y[5] - 3 / 14.0f) < 1e-7f,
          "wiring: LRN %g %g %g", y[3], y[4], y[5]);
  }
  fv_graph_free(g);
  fv_model_free(m);
  /* a 1×1 conv with 3 groups (one channel each, weights 2, 3, 4) and a top pad of 1 */
  m = mb_new(3);
  L_conv_x(m, m->input, 3, 1, 1, 1, 3, (const int[4]){1, 0, 0, 0}, 0, FV_ACT_NONE, 1);
  float *w = m->tensors[m->ops[0].inputs[1]].data;
  w[0] = 2, w[1] = 3, w[2] = 4;
  g = run1(m, 2, 1, chan);
  if (g) {
    const float *y = fv_graph_act(g, m->output);
    const int *d = fv_graph_dims(g, m->output);
    CHECK(d[1] == 3 && y[0] == 0 && y[2] == 0 && y[3] == 2 && y[4] == 6 && y[5] == 12 && y[8] == 12,
          "wiring: grouped padded conv %d rows: %g %g %g | %g %g %g", d[1], y[0], y[1], y[2], y[3], y[4], y[5]);
  }
  fv_graph_free(g);
  fv_model_free(m);
  /* Pad with 0.3 on the left; Slice from (1, 2, 1) by steps (1, 2, 2); Transpose H and W */
  m = mb_new(3);
  int t = L_pad_value(m, m->input, (const int[4][2]){{0, 0}, {0, 0}, {1, 0}, {0, 0}}, 0.3f);
  t = L_slice(m, t, (const int[4]){0, 1, 2, 1}, (const int[4]){-1, -1, -1, -1}, (const int[4]){1, 1, 2, 2}, 1);
  fv_op *tr = mb_op(m, FV_OP_TRANSPOSE, FV_ACT_NONE, 1, &t, 1);
  tr->perm[0] = 0, tr->perm[1] = 2, tr->perm[2] = 1, tr->perm[3] = 3;
  g = run1(m, 3, 7, ramp);
  if (g) { /* padded W 8; slice rows 1..2, columns 2, 4, 6 (input columns 1, 3, 5), channel 1 */
    const float *y = fv_graph_act(g, m->output);
    const int *d = fv_graph_dims(g, m->output);
    CHECK(d[1] == 3 && d[2] == 2 && d[3] == 1 && y[0] == ramp(1, 1, 1) && y[1] == ramp(2, 1, 1) &&
              y[2] == ramp(1, 3, 1) && y[5] == ramp(2, 5, 1),
          "wiring: pad/slice/transpose %dx%dx%d: %g %g %g", d[1], d[2], d[3], y[0], y[1], y[2]);
    const float *p = fv_graph_act(g, m->ops[0].output);
    CHECK(p[0] == 0.3f && p[3] == ramp(0, 0, 0), "wiring: pad value %g", p[0]);
  }
  fv_graph_free(g);
  fv_model_free(m);
  /* an op reading a constant (what a loader leaves unfolded): a SLICE of it, added to the input; the
   * backward skips the constant */
  m = mb_new(3);
  int k = mb_const(m, 1, (int[]){6}, 1.0f, 1.0f);
  m->tensors[k].data[4] = 5.0f;
  t = L_slice(m, k, (const int[4]){0, 0, 0, 1}, (const int[4]){-1, -1, -1, 3}, (const int[4]){1, 1, 1, 2}, 3);
  L_binop(m, FV_OP_ADD, m->input, t, FV_ACT_NONE);
  {
    fv_error err = {0};
    g = fv_graph_new(m, 1, 2, 2, m->n_ops - 1, 1, &err);
    CHECK(g != NULL, "wiring: slice of a constant: %s", err.msg);
    if (g) {
      memset(fv_graph_input(g), 0, 12 * sizeof(float));
      fv_graph_forward(g);
      const float *y = fv_graph_act(g, m->output);
      CHECK(y[0] == 1 && y[1] == 1 && y[2] == 1 && y[4] == 1, "wiring: slice of a constant: %g %g %g", y[0], y[1], y[2]);
      m->tensors[k].data[3] = 7.0f; /* channel 3 is the slice's second element */
      fv_graph_forward(g);
      CHECK(y[1] == 7 && y[10] == 7, "wiring: slice of a constant reads it: %g", y[1]);
      fv_graph_zero_grad(g);
      float *d = fv_graph_grad(g, m->output);
      for (int i = 0; i < 12; i++) d[i] = 1.0f;
      fv_graph_backward(g, 0);
      CHECK(fv_graph_grad(g, m->input)[5] == 1.0f, "wiring: gradient past a constant's slice");
    }
    fv_graph_free(g);
  }
  fv_model_free(m);
}

/* ==== concat views =============================================================== */

/* Inception-like blocks whose branches become views of their concat (graph.h):
 * c1 = concat(b1 ReLU, b2 ReLU of a 3×3 (5 channels), b3 Sigmoid (3), b4 ReLU
 * after a max pool, b5 the max pool itself (no ACT: copied), b6 ReLU that a MUL
 * reads too (two readers: copied)); c2 = concat(ReLU, Tanh of 1×1 convs of c1,
 * b6·b6) → global average pool → FC. b1's bias is −50: dead on every item, so
 * the redirected rule runs on a view. Views: b1 b2 b3 b4 and c2's two ACTs. */
static fv_model *model_views(int *b1, int *b2, int *b6) {
  const int P0[4] = {0, 0, 0, 0}, P1[4] = {1, 1, 1, 1};
  fv_model *m = mb_new(3);
  int t = L_act(m, L_conv_x(m, m->input, 8, 3, 3, 1, 1, P1, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  int c = L_conv_x(m, t, 4, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f);
  for (int k = 0; k < 4; k++) m->tensors[m->ops[m->n_ops - 1].inputs[2]].data[k] = -50.0f;
  *b1 = L_act(m, c, FV_ACT_RELU, 0, 0);
  int r = L_act(m, L_conv_x(m, t, 3, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  *b2 = L_act(m, L_conv_x(m, r, 5, 3, 3, 1, 1, P1, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  int b3 = L_act(m, L_conv_x(m, t, 3, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f), FV_ACT_SIGMOID, 0, 0);
  int b5 = L_pool_x(m, FV_OP_MAXPOOL2D, t, 3, 1, P1, 0, 0, 0);
  int b4 = L_act(m, L_conv_x(m, b5, 4, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  *b6 = L_act(m, L_conv_x(m, t, 2, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 2.0f), FV_ACT_RELU, 0, 0);
  int c1 = L_concat(m, 6, (int[]){*b1, *b2, b3, b4, b5, *b6}, FV_ACT_NONE);
  int u = L_act(m, L_conv_x(m, c1, 4, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 1.0f), FV_ACT_RELU, 0, 0);
  int v = L_act(m, L_conv_x(m, c1, 4, 1, 1, 1, 1, P0, 1, FV_ACT_NONE, 1.0f), FV_ACT_TANH, 0, 0);
  int sq = L_binop(m, FV_OP_MUL, *b6, *b6, FV_ACT_NONE);
  t = L_concat(m, 3, (int[]){u, v, sq}, FV_ACT_NONE);
  t = L_pool_x(m, FV_OP_AVGPOOL2D, t, 0, 1, NULL, 0, 0, 1);
  L_fc(m, t, 5, 1, FV_ACT_NONE, 2.0f);
  return m;
}

/* Rewritten (views, fused ReLUs) and not, the same bits: the output, the pinned
 * branch, and the input gradient (seeds on the output and the pinned branch,
 * redirect on and off); what is not stored is NULL to fv_graph_act/grad and the
 * arena is smaller by exactly it. */
static void test_rewrites(void) {
  int b1, b2, b6;
  fv_model *m = model_views(&b1, &b2, &b6);
  for (int pin = 0; pin <= 1; pin++)
    for (int batch = 1; batch <= 2; batch++)
      for (int redirect = 0; redirect <= 1; redirect++) {
        fv_error err = {0};
        const int pins[1] = {b2};
        fv_graph *plain = fv_graph_new(m, batch, 7, 6, m->n_ops - 1, 1, &err);
        fv_graph *views = fv_graph_new_views(m, batch, 7, 6, m->n_ops - 1, 1, pins, pin, &err);
        CHECK(plain && views, "views: fv_graph_new: %s", err.msg);
        if (!plain || !views) return;
        int n_views = 0, n_fused = 0;
        size_t floats = 0;
        for (int t = 0; t < m->n_tensors; t++) {
          if (!fv_graph_act(plain, t) || fv_graph_act(views, t)) continue; /* stored in both, or in neither */
          n_views += fv_graph_is_view(views, t);
          n_fused += !fv_graph_is_view(views, t);
          floats += fv_graph_numel(views, t);
          CHECK(!fv_graph_grad(views, t), "views: tensor %d is not stored but has a gradient", t);
        }
        CHECK(n_views == 6 - pin, "views: %d views (pin %d), expected %d", n_views, pin, 6 - pin);
        /* the ReLUs after t's, r's and b6's convs (and pinned b2's, no view) run inside the convs */
        CHECK(n_fused == 3 + pin, "views: %d fused ReLUs' inputs unstored (pin %d), expected %d", n_fused, pin, 3 + pin);
        CHECK(!fv_graph_is_view(views, b6) && fv_graph_is_view(views, b1) && fv_graph_is_view(views, b2) == !pin,
              "views: b6 (read twice) is no view, b1 is, pinned b2 is not");
        CHECK(fv_graph_arena_bytes(plain) - fv_graph_arena_bytes(views) == 2 * floats * sizeof(float),
              "views: arena %zu vs %zu bytes, unstored %zu floats", fv_graph_arena_bytes(plain), fv_graph_arena_bytes(views),
              floats);
        size_t nx = fv_graph_numel(plain, m->input), ny = fv_graph_numel(plain, m->output), nb = fv_graph_numel(plain, b2);
        float *x = (float *)malloc(nx * sizeof(float)), *d0 = (float *)malloc(nx * sizeof(float));
        float *d1 = (float *)malloc(nx * sizeof(float));
        seeds sd = {0};
        sd.t[sd.n] = m->output, sd.r[sd.n] = (float *)malloc(ny * sizeof(float)), check_fill(sd.r[sd.n++], ny, -1, 1);
        if (pin) sd.t[sd.n] = b2, sd.r[sd.n] = (float *)malloc(nb * sizeof(float)), check_fill(sd.r[sd.n++], nb, -1, 1);
        check_fill(x, nx, -1, 1);
        grad_at(plain, m, x, &sd, redirect, d0);
        grad_at(views, m, x, &sd, redirect, d1);
        CHECK(!memcmp(fv_graph_act(plain, m->output), fv_graph_act(views, m->output), ny * sizeof(float)),
              "views: batch %d pin %d: the output differs", batch, pin);
        CHECK(!pin || !memcmp(fv_graph_act(plain, b2), fv_graph_act(views, b2), nb * sizeof(float)),
              "views: batch %d: the pinned branch differs", batch);
        CHECK(!memcmp(d0, d1, nx * sizeof(float)) && max_abs(d0, nx) > 1e-3f,
              "views: batch %d pin %d redirect %d: the input gradient differs (or is 0)", batch, pin, redirect);
        for (int k = 0; k < sd.n; k++) free(sd.r[k]);
        free(x), free(d0), free(d1);
        fv_graph_free(plain);
        fv_graph_free(views);
      }
  /* off: no views */
  fv_graph_fusions(0);
  fv_error err = {0};
  fv_graph *g = fv_graph_new_views(m, 1, 7, 6, m->n_ops - 1, 1, NULL, 0, &err), *p = fv_graph_new(m, 1, 7, 6, m->n_ops - 1, 1, &err);
  fv_graph_fusions(1);
  const size_t plain_bytes = p ? fv_graph_arena_bytes(p) : 0;
  fv_graph_free(p);
  int any = 0;
  for (int t = 0; g && t < m->n_tensors; t++) any |= fv_graph_is_view(g, t);
  CHECK(g && !any && fv_graph_arena_bytes(g) == plain_bytes, "views: fv_graph_fusions(0) still rewrote");
  fv_graph_free(g);
  fv_model_free(m);
}

/* fv_graph_prune: channels [lo, hi) of model_views' first concat read. The pruned
 * graph gives those channels, and the input gradient of a seed on them, with the
 * bits of the whole graph; a branch it skips keeps what its buffer held (the max
 * pool b5, stored: filled with NaN first). The whole graph is made op by op
 * (fv_graph_fusions(0)), so its backward also runs the seed's zero slices. */
static void test_prune(void) {
  int b1, b2, b6;
  fv_model *m = model_views(&b1, &b2, &b6);
  int c1 = -1, b5 = -1;
  for (int i = 0; i < m->n_ops && c1 < 0; i++)
    if (m->ops[i].kind == FV_OP_CONCAT) c1 = m->ops[i].output, b5 = m->ops[i].inputs[4];
  /* c1's channels: b1 0-3, b2 4-8, b3 9-11, b4 12-15, b5 16-23, b6 24-25 */
  const int ranges[][3] = {{4, 9, 1}, {10, 13, 0}, {16, 17, 0}, {24, 26, 1}, {0, 26, 0}};
  for (int k = 0; k < 5; k++)
    for (int batch = 1; batch <= 2; batch++) {
      const int lo = ranges[k][0], hi = ranges[k][1], skips_b5 = ranges[k][2];
      fv_error err = {0};
      const int pins[1] = {c1};
      fv_graph_fusions(0); /* every op, zero slices too */
      fv_graph *all = fv_graph_new_views(m, batch, 7, 6, m->n_ops - 1, 1, pins, 1, &err);
      fv_graph_fusions(1);
      fv_graph *some = fv_graph_new_views(m, batch, 7, 6, m->n_ops - 1, 1, pins, 1, &err);
      CHECK(all && some, "prune: fv_graph_new_views: %s", err.msg);
      if (!all || !some) return;
      const int reads[1][3] = {{c1, lo, hi}};
      fv_graph_prune(some, 1, reads);
      const size_t nx = fv_graph_numel(all, m->input), nc = fv_graph_numel(all, c1), n5 = fv_graph_numel(all, b5);
      const int C = fv_graph_dims(all, c1)[3];
      float *x = (float *)malloc(nx * sizeof(float)), *d0 = (float *)malloc(nx * sizeof(float));
      float *d1 = (float *)malloc(nx * sizeof(float));
      seeds sd = {1, {c1}, {(float *)malloc(nc * sizeof(float))}};
      check_fill(x, nx, -1, 1);
      check_fill(sd.r[0], nc, -1, 1);
      for (size_t j = 0; j < nc; j++)
        if ((int)(j % C) < lo || (int)(j % C) >= hi) sd.r[0][j] = 0.0f;
      float *p5 = fv_graph_act(some, b5);
      for (size_t j = 0; j < n5; j++) p5[j] = NAN;
      grad_at(all, m, x, &sd, 0, d0);
      grad_at(some, m, x, &sd, 0, d1);
      const float *a = fv_graph_act(all, c1), *b = fv_graph_act(some, c1);
      int same = 1;
      for (size_t j = 0; j < nc; j++)
        if ((int)(j % C) >= lo && (int)(j % C) < hi) same &= !memcmp(a + j, b + j, sizeof(float));
      CHECK(same, "prune: channels [%d, %d) of the concat differ (batch %d)", lo, hi, batch);
      CHECK(!memcmp(d0, d1, nx * sizeof(float)) && max_abs(d0, nx) > 1e-3f,
            "prune: [%d, %d) batch %d: the input gradient differs (or is 0)", lo, hi, batch);
      CHECK(isnan(p5[0]) == skips_b5 && isnan(p5[n5 - 1]) == skips_b5, "prune: [%d, %d): the max pool b5 %s", lo, hi,
            skips_b5 ? "ran, though nothing read it" : "did not run");
      free(sd.r[0]), free(x), free(d0), free(d1);
      fv_graph_free(all);
      fv_graph_free(some);
    }
  fv_model_free(m);
}

int main(void) {
  check_seed(20240611);
  test_finite_differences();
  test_redirect();
  test_redirect_standalone();
  test_truncated();
  test_plan();
  test_plan_onnx_ops();
  test_wiring();
  test_rewrites();
  test_prune();
  return check_summary("graph");
}
