/* onnx_eltwise.c — elementwise ONNX ops: activations (Relu, Clip, Sigmoid,
 * HardSigmoid, HardSwish, LeakyRelu, Tanh), binary ops with broadcasting
 * (Add, Sub, Mul, Div, Max, Min; a bias Add after MatMul folds into it),
 * PRelu, and the aliases (Identity, Dropout, Cast to float, QuantizeLinear →
 * DequantizeLinear on activations). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_lower.h"

/* ==== elementwise ops ================================================================== */
static int lower_unary(ox *X, fv_act act, float a, float b) {
  val *x = fv_ox_act_in(X, 0, "first");
  TRY(x);
  val *y = fv_ox_output(X, 0);
  fv_op *op;
  if (x->lay == LAY_FLAT) { /* elementwise: the flattened order may stay */
    TRY(op = fv_ox_emit_out(X, FV_OP_ACT, 1, y, LAY_FLAT, x->rank, x->dims));
    y->fc = x->fc, y->fh = x->fh, y->fw = x->fw;
  } else {
    TRY(op = fv_ox_emit_out(X, FV_OP_ACT, 1, y, x->lay, x->rank, x->dims));
  }
  op->inputs[0] = x->t;
  op->act = act;
  op->act_a = a;
  op->act_b = b;
  return 1;
}

static int lower_relu(ox *X) { return lower_unary(X, FV_ACT_RELU, 0, 0); }
static int lower_sigmoid(ox *X) { return lower_unary(X, FV_ACT_SIGMOID, 0, 0); }
static int lower_tanh(ox *X) { return lower_unary(X, FV_ACT_TANH, 0, 0); }
static int lower_hardswish(ox *X) { return lower_unary(X, FV_ACT_HARD_SWISH, 0, 0); }
static int lower_leaky(ox *X) { return lower_unary(X, FV_ACT_LEAKY_RELU, fv_ox_attr_f(X, "alpha", 0.01f), 0); }
static int lower_hardsigmoid(ox *X) {
  return lower_unary(X, FV_ACT_HARD_SIGMOID, fv_ox_attr_f(X, "alpha", 0.2f), fv_ox_attr_f(X, "beta", 0.5f));
}

static int lower_clip(ox *X) {
  float lo = fv_ox_attr_f(X, "min", -INFINITY), hi = fv_ox_attr_f(X, "max", INFINITY);
  TRY(fv_ox_scalar_in(X, 1, lo, &lo, "min"));
  TRY(fv_ox_scalar_in(X, 2, hi, &hi, "max"));
  if (!(lo <= hi) || isnan(lo) || isnan(hi)) return fv_ox_fail(X, BAD, "min %g is above max %g", (double)lo, (double)hi);
  if (lo == 0 && hi == 6) return lower_unary(X, FV_ACT_RELU6, 0, 0);
  if (lo == 0 && hi == INFINITY) return lower_unary(X, FV_ACT_RELU, 0, 0);
  return lower_unary(X, FV_ACT_CLIP, lo, hi);
}

/* MatMul / Gemm without a bias, followed by Add of a [N_out] constant: the bias. */
/* 1 folded, 0 not this pattern, -1 an error (X->err set). */
static int fold_bias(ox *X, val *x, val *c, val *y) {
  fv_model *m = X->m;
  if (x->uses != 1 || x->shared || m->n_ops == 0 || c->kind != V_CONST || c->rank < 1) return 0;
  fv_op *op = &m->ops[m->n_ops - 1];
  if (op->kind != FV_OP_FULLY_CONNECTED || op->output != x->t || op->inputs[2] >= 0) return 0;
  const int oc = m->tensors[op->inputs[1]].dims[0];
  int64_t count = 1;
  for (int k = 0; k < c->rank; k++) count *= c->dims[k];
  if (count != oc || c->dims[c->rank - 1] != oc) return 0;
  int64_t n;
  const float *f = fv_ox_cst_f(X, c, &n);
  if (!f) return -1;
  float *b = (float *)malloc(sizeof(float) * (size_t)oc);
  if (!b) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory"), -1;
  memcpy(b, f, sizeof(float) * (size_t)oc);
  int bt = fv_model_add_tensor(m, c->name, 1, &oc, b, X->err);
  if (bt < 0) return -1;
  op = &m->ops[m->n_ops - 1];
  op->inputs[2] = bt;
  fv_tensor *T = &m->tensors[x->t];
  char *name = fv_ox_dup(y->name);
  if (!name) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory"), -1;
  free(T->name);
  T->name = name;
  snprintf(op->src_op, sizeof op->src_op, "%s+Add", op->src_op[0] == 'G' ? "Gemm" : "MatMul");
  fv_ox_set_act(y, x->t, x->lay, x->rank, x->dims);
  return 1;
}

static int lower_binary_kind(ox *X, fv_op_kind kind) {
  val *a = fv_ox_input(X, 0), *b = fv_ox_input(X, 1), *y = fv_ox_output(X, 0);
  if (!a || !b) return fv_ox_fail(X, BAD, "an input is missing");
  val *act = a->kind == V_ACT ? a : b->kind == V_ACT ? b : NULL;
  if (!act || a->kind == V_QACT || b->kind == V_QACT)
    return fv_ox_fail(X, UNSUP, "an input is a quantized activation or neither input is an activation");
  int64_t yd[MAXR];
  int yr;
  if (!fv_onnx_broadcast(a->rank, a->dims, b->rank, b->dims, &yr, yd)) {
    char s1[64], s2[64];
    return fv_ox_fail(X, BAD, "shapes %s and %s do not broadcast", fv_ox_shape_str(a->rank, a->dims, s1, sizeof s1),
                fv_ox_shape_str(b->rank, b->dims, s2, sizeof s2));
  }
  if (kind == FV_OP_ADD && (a->kind == V_CONST || b->kind == V_CONST)) {
    int folded = fold_bias(X, act, act == a ? b : a, y);
    if (folded) return folded > 0;
  }
  int t[2], lay;
  if (a->kind == V_ACT && b->kind == V_ACT) {
    if (a->rank != b->rank)
      return fv_ox_fail(X, UNSUP, "activations of ranks %d and %d broadcast against each other", a->rank, b->rank);
    int la, lb;
    TRY(fv_ox_plain(X, a, &t[0], &la));
    TRY(fv_ox_plain(X, b, &t[1], &lb));
    lay = la;
    if (la != lb) { /* both rank 4: meet in NCHW */
      lay = LAY_NCHW;
      TRY(fv_ox_in_layout(X, la == LAY_NCHW ? b : a, LAY_NCHW, &t[la == LAY_NCHW ? 1 : 0]));
    }
  } else {
    int k = act == a ? 0 : 1;
    TRY(fv_ox_plain(X, act, &t[k], &lay));
    if (yr != act->rank)
      return fv_ox_fail(X, UNSUP, "the constant makes the result larger than the activation (rank %d)", yr);
    for (int q = 0; q < yr; q++)
      if (yd[q] != act->dims[q]) return fv_ox_fail(X, UNSUP, "the constant makes the result larger than the activation");
    TRY(fv_ox_const_like(X, k ? a : b, lay, act->rank, &t[1 - k]));
  }
  fv_op *op = fv_ox_emit_out(X, kind, 2, y, lay, yr, yd);
  TRY(op);
  op->inputs[0] = t[0];
  op->inputs[1] = t[1];
  return 1;
}

static int lower_add(ox *X) { return lower_binary_kind(X, FV_OP_ADD); }
static int lower_sub(ox *X) { return lower_binary_kind(X, FV_OP_SUB); }
static int lower_mul(ox *X) { return lower_binary_kind(X, FV_OP_MUL); }
static int lower_div(ox *X) { return lower_binary_kind(X, FV_OP_DIV); }
static int lower_max(ox *X) {
  if (X->nd->n_in != 2) return fv_ox_fail(X, UNSUP, "Max of %d inputs (2 supported)", X->nd->n_in);
  return lower_binary_kind(X, FV_OP_MAXIMUM);
}
static int lower_min(ox *X) {
  if (X->nd->n_in != 2) return fv_ox_fail(X, UNSUP, "Min of %d inputs (2 supported)", X->nd->n_in);
  return lower_binary_kind(X, FV_OP_MINIMUM);
}

static int lower_prelu(ox *X) {
  val *x = fv_ox_act_in(X, 0, "first"), *s = fv_ox_input(X, 1);
  TRY(x);
  if (!s || s->kind != V_CONST) return fv_ox_fail(X, UNSUP, "the slope is not a constant");
  int t, lay, st;
  TRY(fv_ox_plain(X, x, &t, &lay));
  TRY(fv_ox_const_like(X, s, lay, x->rank, &st));
  fv_op *op = fv_ox_emit_out(X, FV_OP_PRELU, 2, fv_ox_output(X, 0), lay, x->rank, x->dims);
  TRY(op);
  op->inputs[0] = t;
  op->inputs[1] = st;
  return 1;
}

/* ==== aliases and quantization =================================================================== */
static int alias_of(ox *X, int k_in, int k_out) {
  val *x = fv_ox_input(X, k_in), *y = fv_ox_output(X, k_out);
  if (!x) return fv_ox_fail(X, BAD, "the input is missing");
  y->alias = (int)(x - X->v);
  x->uses += y->uses;
  x->shared = 1;
  return 1;
}

static int lower_identity(ox *X) {
  for (int k = 1; k < X->nd->n_out; k++)
    if (X->nd->out[k][0] && fv_ox_output(X, k)->uses) return fv_ox_fail(X, UNSUP, "output %d (the dropout mask) is used", k);
  return alias_of(X, 0, 0);
}

static int lower_cast(ox *X) {
  int64_t to = fv_ox_attr_i(X, "to", 0);
  if (to != FV_ONNX_FLOAT) return fv_ox_fail(X, UNSUP, "a cast of an activation to %s", fv_onnx_dtype_name((int)to));
  return alias_of(X, 0, 0);
}

/* QuantizeLinear → DequantizeLinear on activations simulates int8 in float:
 * featviz computes in float, so the pair is an alias. */
static int lower_quantize(ox *X) {
  val *x = fv_ox_act_in(X, 0, "input"), *y = fv_ox_output(X, 0);
  TRY(x);
  y->kind = V_QACT;
  y->qsrc = (int)(x - X->v);
  x->uses += y->uses;
  x->shared = 1;
  return 1;
}

static int lower_dequantize(ox *X) {
  const char *name = X->nd->n_in ? X->nd->in[0] : "";
  int k = name[0] ? fv_ox_lookup(X, name) : -1;
  if (k < 0 || X->v[k].kind != V_QACT)
    return fv_ox_fail(X, UNSUP, "DequantizeLinear of an activation that no QuantizeLinear made (integer activations)");
  val *y = fv_ox_output(X, 0);
  int r = fv_ox_root(X, X->v[k].qsrc);
  y->alias = r;
  X->v[r].uses += y->uses;
  X->v[r].shared = 1;
  return 1;
}

const fv_ox_lowering fv_ox_eltwise_ops[] = {
    {"Relu", lower_relu},
    {"LeakyRelu", lower_leaky},
    {"PRelu", lower_prelu},
    {"Clip", lower_clip},
    {"Sigmoid", lower_sigmoid},
    {"HardSigmoid", lower_hardsigmoid},
    {"HardSwish", lower_hardswish},
    {"Tanh", lower_tanh},
    {"Add", lower_add},
    {"Sub", lower_sub},
    {"Mul", lower_mul},
    {"Div", lower_div},
    {"Max", lower_max},
    {"Min", lower_min},
    {"Identity", lower_identity},
    {"Dropout", lower_identity},
    {"Cast", lower_cast},
    {"QuantizeLinear", lower_quantize},
    {"DequantizeLinear", lower_dequantize},
    {NULL, NULL},
};
