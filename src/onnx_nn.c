/* onnx_nn.c — Conv (groups, depthwise, dilations, pads, auto_pad) with its
 * weights permuted to [OC,KH,KW,IC/g], the pools (ceil_mode, pads,
 * count_include_pad, global), LRN, BatchNormalization (folded into the Conv
 * before it, else a 1×1 depthwise scale and shift), Gemm and MatMul (their
 * weights permuted when the input is a flattened NHWC map). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_lower.h"

/* ==== convolutions and pools ================================================================ */
/* Spatial attributes of Conv / pools: kernel, strides, dilations, pads (t, l, b, r), auto_pad. */
typedef struct {
  int64_t k[2], s[2], d[2], p[4];
  fv_padding padding;
} window;

static int read_window(ox *X, window *w, const int64_t *kernel, int dilations_ok) {
  static const int64_t one[2] = {1, 1}, zero[4] = {0, 0, 0, 0};
  const fv_onnx_attr *ks = fv_onnx_attr_find(X->nd, "kernel_shape");
  if (ks && ks->n_ints != 2) return fv_ox_fail(X, UNSUP, "a kernel of rank %d (2-D only)", ks->n_ints);
  TRY(fv_ox_attr_ints(X, "kernel_shape", 2, kernel, 1, MAX_WINDOW, w->k));
  if (ks && kernel && (w->k[0] != kernel[0] || w->k[1] != kernel[1]))
    return fv_ox_fail(X, BAD, "kernel_shape %lldx%lld differs from the weights' %lldx%lld", (long long)w->k[0],
                (long long)w->k[1], (long long)kernel[0], (long long)kernel[1]);
  TRY(fv_ox_attr_ints(X, "strides", 2, one, 1, MAX_WINDOW, w->s));
  TRY(fv_ox_attr_ints(X, "dilations", 2, one, 1, MAX_WINDOW, w->d));
  if (!dilations_ok && (w->d[0] != 1 || w->d[1] != 1))
    return fv_ox_fail(X, UNSUP, "dilations %lldx%lld are not supported (dilated pools)", (long long)w->d[0], (long long)w->d[1]);
  TRY(fv_ox_attr_ints(X, "pads", 4, zero, 0, MAX_WINDOW, w->p));
  const char *ap = fv_ox_attr_s(X, "auto_pad", "NOTSET");
  if (strcmp(ap, "NOTSET") == 0) {
    int any = w->p[0] || w->p[1] || w->p[2] || w->p[3];
    w->padding = any ? FV_PADDING_EXPLICIT : FV_PADDING_VALID;
  } else if (strcmp(ap, "VALID") == 0) {
    w->padding = FV_PADDING_VALID;
    memset(w->p, 0, sizeof w->p);
  } else if (strcmp(ap, "SAME_UPPER") == 0 ||
             (strcmp(ap, "SAME_LOWER") == 0 && w->s[0] == 1 && w->s[1] == 1 &&
              ((w->k[0] - 1) * w->d[0]) % 2 == 0 && ((w->k[1] - 1) * w->d[1]) % 2 == 0)) {
    /* TFLite's SAME puts the odd pad at the end, as SAME_UPPER does; SAME_LOWER
     * only differs when the total pad is odd (never at stride 1, odd window) */
    w->padding = FV_PADDING_SAME;
  } else {
    return fv_ox_fail(X, UNSUP, "auto_pad %s is not supported (with strides %lldx%lld, kernel %lldx%lld)", ap,
                (long long)w->s[0], (long long)w->s[1], (long long)w->k[0], (long long)w->k[1]);
  }
  return 1;
}

static void put_window(fv_op *op, const window *w) {
  op->padding = w->padding;
  op->stride_h = (int)w->s[0], op->stride_w = (int)w->s[1];
  op->dil_h = (int)w->d[0], op->dil_w = (int)w->d[1];
  op->pad_t = (int)w->p[0], op->pad_l = (int)w->p[1], op->pad_b = (int)w->p[2], op->pad_r = (int)w->p[3];
}

/* Output size along axis a (0 = H, 1 = W) at the native size; ceil: pools' ceil_mode. */
static int64_t out_size(const window *w, int a, int64_t in, int ceil_mode) {
  int64_t eff = (w->k[a] - 1) * w->d[a] + 1;
  if (w->padding == FV_PADDING_SAME) return (in + w->s[a] - 1) / w->s[a];
  int64_t span = in + w->p[a] + w->p[a + 2] - eff;
  if (span < 0) return 0;
  int64_t o = (ceil_mode ? (span + w->s[a] - 1) / w->s[a] : span / w->s[a]) + 1;
  /* PyTorch's and onnxruntime's rule: the last window must start inside the input or the left pad */
  if (ceil_mode && (o - 1) * w->s[a] >= in + w->p[a]) o--;
  return o;
}

static int lower_conv(ox *X) {
  val *x = fv_ox_act_in(X, 0, "image"), *wv = fv_ox_input(X, 1), *bv = fv_ox_input(X, 2);
  TRY(x);
  if (!wv || wv->kind != V_CONST) return fv_ox_fail(X, UNSUP, "the weights are not a constant");
  if (bv && bv->kind != V_CONST) return fv_ox_fail(X, UNSUP, "the bias is not a constant");
  if (wv->rank != 4) return fv_ox_fail(X, UNSUP, "weights of rank %d (2-D convolutions only)", wv->rank);
  if (x->rank != 4) return fv_ox_fail(X, BAD, "an input of rank %d", x->rank);
  int xt;
  TRY(fv_ox_in_layout(X, x, LAY_NCHW, &xt));
  const int64_t oc = wv->dims[0], icg = wv->dims[1], kh = wv->dims[2], kw = wv->dims[3], ic = x->dims[1];
  int64_t g = fv_ox_attr_i(X, "group", 1);
  if (g < 1 || g > ic || ic % g || oc % g || icg * g != ic)
    return fv_ox_fail(X, BAD, "weights [%lld,%lld,%lld,%lld] and group %lld do not fit %lld input channels", (long long)oc,
                (long long)icg, (long long)kh, (long long)kw, (long long)g, (long long)ic);
  window w;
  const int64_t kernel[2] = {kh, kw};
  TRY(read_window(X, &w, kernel, 1));
  int64_t yd[4] = {x->dims[0], oc, out_size(&w, 0, x->dims[2], 0), out_size(&w, 1, x->dims[3], 0)};
  if (yd[2] < 1 || yd[3] < 1)
    return fv_ox_fail(X, BAD, "a %lldx%lld input is smaller than the %lldx%lld window", (long long)x->dims[2],
                (long long)x->dims[3], (long long)kh, (long long)kw);
  int64_t n;
  const float *W = fv_ox_cst_f(X, wv, &n);
  TRY(W);
  const int depthwise = g == ic && icg == 1 && g > 1;
  float *E = (float *)malloc(sizeof(float) * (size_t)n);
  if (!E) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory for the weights");
  int sd[4];
  if (depthwise) { /* [OC,1,KH,KW] → [1,KH,KW,OC] */
    for (int64_t o = 0; o < oc; o++)
      for (int64_t p = 0; p < kh * kw; p++) E[p * oc + o] = W[o * kh * kw + p];
    sd[0] = 1, sd[1] = (int)kh, sd[2] = (int)kw, sd[3] = (int)oc;
  } else { /* [OC,IC/g,KH,KW] → [OC,KH,KW,IC/g] */
    for (int64_t o = 0; o < oc; o++)
      for (int64_t i = 0; i < icg; i++)
        for (int64_t p = 0; p < kh * kw; p++) E[(o * kh * kw + p) * icg + i] = W[(o * icg + i) * kh * kw + p];
    sd[0] = (int)oc, sd[1] = (int)kh, sd[2] = (int)kw, sd[3] = (int)icg;
  }
  int wt = fv_model_add_tensor(X->m, wv->name, 4, sd, E, X->err), bt = -1;
  TRY(wt >= 0);
  if (bv) {
    const float *B = fv_ox_cst_f(X, bv, &n);
    TRY(B);
    if (n != oc) return fv_ox_fail(X, BAD, "a bias of %lld values for %lld output channels", (long long)n, (long long)oc);
    float *b = (float *)malloc(sizeof(float) * (size_t)oc);
    if (!b) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
    memcpy(b, B, sizeof(float) * (size_t)oc);
    int bd = (int)oc;
    TRY((bt = fv_model_add_tensor(X->m, bv->name, 1, &bd, b, X->err)) >= 0);
  }
  fv_op *op = fv_ox_emit_out(X, depthwise ? FV_OP_DWCONV2D : FV_OP_CONV2D, 3, fv_ox_output(X, 0), LAY_NCHW, 4, yd);
  TRY(op);
  op->inputs[0] = xt;
  op->inputs[1] = wt;
  op->inputs[2] = bt;
  put_window(op, &w);
  if (depthwise) op->depth_mult = (int)(oc / ic);
  else if (g > 1) op->groups = (int)g;
  return 1;
}

static int lower_pool_kind(ox *X, fv_op_kind kind, int global) {
  val *x = fv_ox_act_in(X, 0, "image");
  TRY(x);
  if (x->rank != 4) return fv_ox_fail(X, UNSUP, "a pool over a rank-%d input (2-D pools only)", x->rank);
  if (X->nd->n_out > 1 && X->nd->out[1][0]) return fv_ox_fail(X, UNSUP, "the Indices output is not supported");
  int xt;
  TRY(fv_ox_in_layout(X, x, LAY_NCHW, &xt));
  window w;
  int ceil_mode = 0;
  if (global) {
    memset(&w, 0, sizeof w);
    w.k[0] = x->dims[2], w.k[1] = x->dims[3];
    w.s[0] = w.s[1] = w.d[0] = w.d[1] = 1;
    w.padding = FV_PADDING_VALID;
  } else {
    if (!fv_onnx_attr_find(X->nd, "kernel_shape")) return fv_ox_fail(X, BAD, "no kernel_shape");
    TRY(read_window(X, &w, NULL, 0));
    /* a window of pads alone has no input tap (PyTorch forbids pads past half the kernel) */
    for (int k = 0; k < 4; k++)
      if (w.p[k] >= w.k[k % 2])
        return fv_ox_fail(X, UNSUP, "pads %lld,%lld,%lld,%lld reach the %lldx%lld window (a pad must be smaller than the kernel)",
                          (long long)w.p[0], (long long)w.p[1], (long long)w.p[2], (long long)w.p[3], (long long)w.k[0],
                          (long long)w.k[1]);
    ceil_mode = fv_ox_attr_i(X, "ceil_mode", 0) != 0;
    if (fv_ox_attr_i(X, "storage_order", 0) != 0) return fv_ox_fail(X, UNSUP, "storage_order 1 is not supported");
    if (ceil_mode && w.padding == FV_PADDING_VALID) w.padding = FV_PADDING_EXPLICIT; /* zero pads, rounded up */
  }
  int64_t yd[4] = {x->dims[0], x->dims[1], out_size(&w, 0, x->dims[2], ceil_mode), out_size(&w, 1, x->dims[3], ceil_mode)};
  if (yd[2] < 1 || yd[3] < 1) return fv_ox_fail(X, BAD, "the input is smaller than the window");
  fv_op *op = fv_ox_emit_out(X, kind, 1, fv_ox_output(X, 0), LAY_NCHW, 4, yd);
  TRY(op);
  op->inputs[0] = xt;
  put_window(op, &w);
  op->filter_h = (int)w.k[0], op->filter_w = (int)w.k[1];
  op->global = global;
  op->ceil_mode = ceil_mode;
  op->count_include_pad = kind == FV_OP_AVGPOOL2D && fv_ox_attr_i(X, "count_include_pad", 0) != 0;
  return 1;
}

static int lower_maxpool(ox *X) { return lower_pool_kind(X, FV_OP_MAXPOOL2D, 0); }
static int lower_avgpool(ox *X) { return lower_pool_kind(X, FV_OP_AVGPOOL2D, 0); }
static int lower_gap(ox *X) { return lower_pool_kind(X, FV_OP_AVGPOOL2D, 1); }
static int lower_gmp(ox *X) { return lower_pool_kind(X, FV_OP_MAXPOOL2D, 1); }

static int lower_lrn(ox *X) {
  val *x = fv_ox_act_in(X, 0, "image");
  TRY(x);
  int xt;
  TRY(fv_ox_in_layout(X, x, LAY_NCHW, &xt));
  int64_t size = fv_ox_attr_i(X, "size", 0);
  if (size < 1 || size > MAX_WINDOW) return fv_ox_fail(X, BAD, "size %lld", (long long)size);
  fv_op *op = fv_ox_emit_out(X, FV_OP_LRN, 1, fv_ox_output(X, 0), LAY_NCHW, 4, x->dims);
  TRY(op);
  op->inputs[0] = xt;
  op->lrn_lo = (int)((size - 1) / 2);
  op->lrn_hi = (int)(size - 1 - (size - 1) / 2);
  op->lrn_alpha = fv_ox_attr_f(X, "alpha", 1e-4f) / (float)size;
  op->lrn_beta = fv_ox_attr_f(X, "beta", 0.75f);
  op->lrn_bias = fv_ox_attr_f(X, "bias", 1.0f);
  if (!isfinite(op->lrn_alpha) || !isfinite(op->lrn_beta) || !isfinite(op->lrn_bias) || op->lrn_bias <= 0)
    return fv_ox_fail(X, BAD, "alpha, beta, bias %g %g %g", (double)op->lrn_alpha, (double)op->lrn_beta, (double)op->lrn_bias);
  return 1;
}

/* ==== BatchNormalization ============================================================================ */
static int lower_batchnorm(ox *X) {
  val *x = fv_ox_act_in(X, 0, "image");
  TRY(x);
  if (fv_ox_attr_i(X, "training_mode", 0)) return fv_ox_fail(X, UNSUP, "training_mode 1 is not supported");
  for (int k = 1; k < X->nd->n_out; k++)
    if (X->nd->out[k][0]) return fv_ox_fail(X, UNSUP, "the training outputs (running mean / variance) are not supported");
  int64_t c = x->rank >= 2 ? x->dims[1] : 0, n[4];
  const float *p[4];
  for (int k = 0; k < 4; k++) {
    val *v = fv_ox_input(X, k + 1);
    if (!v || v->kind != V_CONST) return fv_ox_fail(X, UNSUP, "scale, bias, mean and variance must be constants");
    TRY(p[k] = fv_ox_cst_f(X, v, &n[k]));
    if (n[k] != c) return fv_ox_fail(X, BAD, "%lld values for %lld channels", (long long)n[k], (long long)c);
  }
  double eps = fv_ox_attr_f(X, "epsilon", 1e-5f);
  double *s = (double *)malloc(sizeof(double) * 2 * (size_t)c);
  if (!s) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  for (int64_t q = 0; q < c; q++) { /* y = s·x + (beta − mean·s), s = gamma / sqrt(var + eps) */
    if (!(p[3][q] + eps > 0)) {
      free(s);
      return fv_ox_fail(X, BAD, "variance %g of channel %lld is negative", (double)p[3][q], (long long)q);
    }
    s[q] = p[0][q] / sqrt(p[3][q] + eps);
    s[c + q] = p[1][q] - p[2][q] * s[q];
  }
  fv_model *m = X->m;
  val *y = fv_ox_output(X, 0);
  fv_op *op = m->n_ops ? &m->ops[m->n_ops - 1] : NULL;
  /* into the Conv that made x, when nothing else reads x */
  if (op && x->uses == 1 && !x->shared && op->output == x->t && x->lay == LAY_NCHW &&
      (op->kind == FV_OP_CONV2D || op->kind == FV_OP_DWCONV2D) && strcmp(op->src_op, "Conv") == 0) {
    fv_tensor *W = &m->tensors[op->inputs[1]];
    int64_t per = (int64_t)W->dims[1] * W->dims[2] * W->dims[3]; /* CONV2D: [OC, KH, KW, IC/g] */
    if (op->kind == FV_OP_DWCONV2D) {
      for (int64_t k = 0; k < (int64_t)W->dims[1] * W->dims[2]; k++)
        for (int64_t q = 0; q < c; q++) W->data[k * c + q] = (float)(W->data[k * c + q] * s[q]);
    } else {
      for (int64_t q = 0; q < c; q++)
        for (int64_t k = 0; k < per; k++) W->data[q * per + k] = (float)(W->data[q * per + k] * s[q]);
    }
    float *b = (float *)malloc(sizeof(float) * (size_t)c);
    if (!b) {
      free(s);
      return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
    }
    const float *old = op->inputs[2] >= 0 ? m->tensors[op->inputs[2]].data : NULL;
    for (int64_t q = 0; q < c; q++) b[q] = (float)((old ? old[q] : 0) * s[q] + s[c + q]);
    free(s);
    int cd = (int)c, bt = fv_model_add_tensor(m, fv_ox_input(X, 2)->name, 1, &cd, b, X->err);
    TRY(bt >= 0);
    op = &m->ops[m->n_ops - 1];
    op->inputs[2] = bt;
    snprintf(op->src_op, sizeof op->src_op, "Conv+BatchNormalization");
    fv_tensor *T = &m->tensors[x->t];
    free(T->name);
    if (!(T->name = fv_ox_dup(y->name))) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
    fv_ox_set_act(y, x->t, x->lay, x->rank, x->dims);
    return 1;
  }
  /* else a per-channel scale and shift: a 1×1 depthwise convolution */
  int xt, lay;
  int ok = fv_ox_plain(X, x, &xt, &lay);
  if (ok && lay == LAY_ROW && x->rank == 4) ok = fv_ox_in_layout(X, x, LAY_NCHW, &xt), lay = LAY_NCHW;
  if (ok && lay == LAY_ROW && x->rank != 2) ok = fv_ox_fail(X, UNSUP, "BatchNormalization of a rank-%d tensor", x->rank);
  float *w = ok ? (float *)malloc(sizeof(float) * 2 * (size_t)c) : NULL;
  if (ok && !w) ok = fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  if (!ok) {
    free(s);
    return 0;
  }
  for (int64_t q = 0; q < 2 * c; q++) w[q] = (float)s[q];
  free(s);
  float *b = (float *)malloc(sizeof(float) * (size_t)c);
  if (!b) {
    free(w);
    return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  }
  memcpy(b, w + c, sizeof(float) * (size_t)c);
  int wd[4] = {1, 1, 1, (int)c}, cd = (int)c;
  int wt = fv_model_add_tensor(m, fv_ox_input(X, 1)->name, 4, wd, w, X->err);
  TRY(wt >= 0);
  int bt = fv_model_add_tensor(m, fv_ox_input(X, 2)->name, 1, &cd, b, X->err);
  TRY(bt >= 0);
  op = fv_ox_emit_out(X, FV_OP_DWCONV2D, 3, y, lay, x->rank, x->dims);
  TRY(op);
  op->inputs[0] = xt, op->inputs[1] = wt, op->inputs[2] = bt;
  op->padding = FV_PADDING_VALID;
  op->depth_mult = 1;
  return 1;
}

/* ==== fully connected ============================================================================== */
/* FULLY_CONNECTED of a rank-2 activation x [N,K] with weights E [OC,K] (owned; the
 * columns are permuted here when x is FLAT) and an optional bias of OC values. */
static int emit_fc(ox *X, val *x, float *E, int64_t oc, const float *bias, int64_t nb) {
  const int64_t K = x->dims[1];
  int xt = x->t;
  if (x->lay == LAY_FLAT) { /* engine column (h·W + w)·C + c holds ONNX column (c·H + h)·W + w */
    float *P = (float *)malloc(sizeof(float) * (size_t)(oc * K));
    if (!P) return free(E), fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
    const int64_t C = x->fc, H = x->fh, W = x->fw;
    for (int64_t o = 0; o < oc; o++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          for (int64_t c = 0; c < C; c++) P[o * K + (h * W + w) * C + c] = E[o * K + (c * H + h) * W + w];
    free(E);
    E = P;
  } else if (x->lay != LAY_ROW || x->rank != 2) {
    free(E);
    return fv_ox_fail(X, UNSUP, "an input of rank %d (a Flatten or Reshape to [N, K] first)", x->rank);
  }
  int wd[2] = {(int)oc, (int)K}, wt = fv_model_add_tensor(X->m, fv_ox_input(X, 1)->name, 2, wd, E, X->err), bt = -1;
  TRY(wt >= 0);
  if (bias) {
    float *b = (float *)malloc(sizeof(float) * (size_t)oc);
    if (!b) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
    for (int64_t o = 0; o < oc; o++) b[o] = bias[nb == 1 ? 0 : o];
    int bd = (int)oc;
    TRY((bt = fv_model_add_tensor(X->m, fv_ox_input(X, 2) ? fv_ox_input(X, 2)->name : "bias", 1, &bd, b, X->err)) >= 0);
  }
  int64_t yd[2] = {x->dims[0], oc};
  fv_op *op = fv_ox_emit_out(X, FV_OP_FULLY_CONNECTED, 3, fv_ox_output(X, 0), LAY_ROW, 2, yd);
  TRY(op);
  op->inputs[0] = xt, op->inputs[1] = wt, op->inputs[2] = bt;
  return 1;
}

/* The activation operand of Gemm / MatMul: FLAT kept (the weights adapt), else plain rank 2. */
static val *fc_input(ox *X) {
  val *x = fv_ox_act_in(X, 0, "first");
  if (!x) return NULL;
  if (x->rank != 2) return fv_ox_fail(X, UNSUP, "an input of rank %d (featviz runs [N, K] inputs)", x->rank), NULL;
  return x;
}

static int lower_gemm(ox *X) {
  val *x = fc_input(X), *bv = fv_ox_input(X, 1), *cv = fv_ox_input(X, 2);
  TRY(x);
  if (!bv || bv->kind != V_CONST || bv->rank != 2) return fv_ox_fail(X, UNSUP, "B must be a rank-2 constant");
  if (cv && cv->kind != V_CONST) return fv_ox_fail(X, UNSUP, "C must be a constant");
  if (fv_ox_attr_i(X, "transA", 0)) return fv_ox_fail(X, UNSUP, "transA 1 is not supported");
  const int tb = fv_ox_attr_i(X, "transB", 0) != 0;
  const float alpha = fv_ox_attr_f(X, "alpha", 1), beta = fv_ox_attr_f(X, "beta", 1);
  const int64_t K = x->dims[1], oc = tb ? bv->dims[0] : bv->dims[1];
  if ((tb ? bv->dims[1] : bv->dims[0]) != K) return fv_ox_fail(X, BAD, "B does not fit an input of %lld columns", (long long)K);
  int64_t n, nc = 0;
  const float *B = fv_ox_cst_f(X, bv, &n), *C = NULL;
  TRY(B);
  if (cv) {
    TRY(C = fv_ox_cst_f(X, cv, &nc));
    if (nc != 1 && nc != oc) return fv_ox_fail(X, UNSUP, "C of %lld values for %lld outputs", (long long)nc, (long long)oc);
  }
  float *E = (float *)malloc(sizeof(float) * (size_t)(oc * K));
  float *bias = C ? (float *)malloc(sizeof(float) * (size_t)nc) : NULL;
  if (!E || (C && !bias)) return free(E), free(bias), fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  for (int64_t o = 0; o < oc; o++)
    for (int64_t k = 0; k < K; k++) E[o * K + k] = alpha * (tb ? B[o * K + k] : B[k * oc + o]);
  for (int64_t q = 0; q < nc; q++) bias[q] = beta * C[q];
  int ok = emit_fc(X, x, E, oc, bias, nc);
  free(bias);
  return ok;
}

static int lower_matmul(ox *X) {
  val *x = fc_input(X), *bv = fv_ox_input(X, 1);
  TRY(x);
  if (!bv || bv->kind != V_CONST || bv->rank != 2) return fv_ox_fail(X, UNSUP, "MatMul of two activations or of a rank-%d constant", bv ? bv->rank : 0);
  const int64_t K = x->dims[1], oc = bv->dims[1];
  if (bv->dims[0] != K) return fv_ox_fail(X, BAD, "B does not fit an input of %lld columns", (long long)K);
  int64_t n;
  const float *B = fv_ox_cst_f(X, bv, &n);
  TRY(B);
  float *E = (float *)malloc(sizeof(float) * (size_t)(oc * K));
  if (!E) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  for (int64_t o = 0; o < oc; o++)
    for (int64_t k = 0; k < K; k++) E[o * K + k] = B[k * oc + o];
  return emit_fc(X, x, E, oc, NULL, 0);
}

const fv_ox_lowering fv_ox_nn_ops[] = {
    {"Conv", lower_conv},
    {"MaxPool", lower_maxpool},
    {"AveragePool", lower_avgpool},
    {"GlobalAveragePool", lower_gap},
    {"GlobalMaxPool", lower_gmp},
    {"LRN", lower_lrn},
    {"BatchNormalization", lower_batchnorm},
    {"Gemm", lower_gemm},
    {"MatMul", lower_matmul},
    {NULL, NULL},
};
