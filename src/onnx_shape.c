/* onnx_shape.c — ops that move or cut values: Reshape, Flatten, Squeeze,
 * Unsqueeze (relabels, or the FLAT view of a spatial flatten), Transpose
 * (an engine perm through the layouts), the channel shuffle, Concat, Split,
 * Slice, Pad, Softmax and ReduceMean with their axes mapped to NHWC. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_lower.h"

/* ==== shapes: Reshape, Flatten, Squeeze, Unsqueeze, Transpose ===================================== */
/* A channel shuffle, x [N,C,H,W] (NCHW) → Reshape [N,g,C/g,H,W] → Transpose
 * [0,2,1,3,4] → Reshape [N,C,H,W], is y[c/g'·… ] = a permutation of channels.
 * The 5-D values stay pending (LAY_SHUF, LAY_SHUFT: same tensor, no op);
 * the last Reshape emits RESHAPE [1,-1,g,C/g] → TRANSPOSE [0,1,3,2] →
 * RESHAPE like x, which run at any input size. */
static int emit_shuffle(ox *X, val *t5, val *y) {
  val *r5 = &X->v[t5->qsrc];
  const int64_t n = t5->dims[0], cg = t5->dims[1], g = t5->dims[2], hw = t5->dims[3] * t5->dims[4];
  int64_t ad[4] = {n, hw, g, cg}, bd[4] = {n, hw, cg, g}, yd[4] = {n, g * cg, t5->dims[3], t5->dims[4]};
  int a, b, yt;
  TRY(fv_ox_act_tensor(X, r5->name, LAY_ROW, 4, ad, &a));
  TRY(fv_ox_emit_reshape(X, t5->t, a, 1, "Reshape"));
  TRY(fv_ox_act_tensor(X, t5->name, LAY_ROW, 4, bd, &b));
  static const int q[4] = {0, 1, 3, 2};
  TRY(fv_ox_emit_transpose(X, a, b, q, "Transpose"));
  TRY(fv_ox_act_tensor(X, y->name, LAY_NCHW, 4, yd, &yt));
  fv_op *op = fv_ox_emit(X, FV_OP_RESHAPE, 2, yt, "Reshape");
  TRY(op);
  op->inputs[0] = b;
  op->inputs[1] = t5->t;
  op->new_rank = 0; /* the dims of inputs[1] at the run size (model.h) */
  fv_ox_set_act(y, yt, LAY_NCHW, 4, yd);
  return 1;
}

/* x relabelled as ONNX shape (rank, d): a RESHAPE, an alias or a FLAT view. */
static int reshape_to(ox *X, val *x, int rank, const int64_t *d) {
  val *y = fv_ox_output(X, 0);
  char s1[64], s2[64];
  if (rank == x->rank && memcmp(d, x->dims, sizeof(int64_t) * (size_t)rank) == 0) { /* no change */
    y->alias = fv_ox_root(X, (int)(x - X->v));
    x->uses += y->uses;
    x->shared = 1;
    return 1;
  }
  if (x->lay == LAY_NCHW && rank == 2 && d[0] == x->dims[0] && x->dims[2] * x->dims[3] > 1) {
    /* a flatten of a spatial map: FLAT, NHWC order kept */
    fv_op *op = fv_ox_emit_out(X, FV_OP_RESHAPE, 1, y, LAY_FLAT, 2, d);
    TRY(op);
    op->inputs[0] = x->t;
    op->new_rank = 2;
    op->new_shape[0] = 1, op->new_shape[1] = (int)d[1];
    y->fc = x->dims[1], y->fh = x->dims[2], y->fw = x->dims[3];
    return 1;
  }
  if (x->lay == LAY_SHUFT) {
    if (rank == 4 && d[0] == x->dims[0] && d[1] == x->dims[1] * x->dims[2] && d[2] == x->dims[3] && d[3] == x->dims[4])
      return emit_shuffle(X, x, y);
    return fv_ox_fail(X, UNSUP, "a reshape of %s to %s (the end of a channel shuffle is [N,C,H,W])",
                fv_ox_shape_str(x->rank, x->dims, s1, sizeof s1), fv_ox_shape_str(rank, d, s2, sizeof s2));
  }
  if (x->lay == LAY_NCHW && rank == 5 && d[0] == x->dims[0] && d[1] > 1 && d[1] * d[2] == x->dims[1] &&
      d[3] == x->dims[2] && d[4] == x->dims[3]) { /* the start of a channel shuffle */
    fv_ox_set_act(y, x->t, LAY_SHUF, 5, d);
    return 1;
  }
  if (rank > 4) {
    return fv_ox_fail(X, UNSUP, "a reshape of %s to %s (rank 5 or more; channel shuffles are recognized)",
                fv_ox_shape_str(x->rank, x->dims, s1, sizeof s1), fv_ox_shape_str(rank, d, s2, sizeof s2));
  }
  int xt, lay;
  TRY(fv_ox_plain(X, x, &xt, &lay));
  /* NCHW [N,C,1,1] ↔ [N,C] and the like are the same memory in both layouts */
  if (lay == LAY_NCHW && !(x->dims[2] * x->dims[3] == 1 || x->dims[1] == 1)) TRY(fv_ox_in_layout(X, x, LAY_ROW, &xt));
  int t;
  TRY(fv_ox_act_tensor(X, y->name, LAY_ROW, rank, d, &t));
  TRY(fv_ox_emit_reshape(X, xt, t, -1, X->nd->op_type));
  fv_ox_set_act(y, t, LAY_ROW, rank, d);
  return 1;
}

static int lower_reshape(ox *X) {
  val *x = fv_ox_act_in(X, 0, "data"), *sv = fv_ox_input(X, 1);
  TRY(x);
  fv_onnx_const *s = fv_ox_cst(X, sv);
  if (!s) return fv_ox_fail(X, UNSUP, "the shape is not a constant (nor computed from constants and shapes)");
  int64_t sh[MAXR], d[MAXR];
  if (s->count > MAXR) return fv_ox_fail(X, UNSUP, "a shape of rank %lld", (long long)s->count);
  for (int k = 0; k < s->count; k++) sh[k] = fv_onnx_const_int(s, k);
  int64_t count = 1;
  for (int k = 0; k < x->rank; k++) count *= x->dims[k];
  TRY(fv_onnx_reshape_dims(sh, (int)s->count, (int)fv_ox_attr_i(X, "allowzero", 0), x->rank, x->dims, count, d, X->err));
  return reshape_to(X, x, (int)s->count, d);
}

static int lower_flatten(ox *X) {
  val *x = fv_ox_act_in(X, 0, "input");
  TRY(x);
  int a;
  TRY(fv_ox_axis_in(X, fv_ox_attr_i(X, "axis", 1), x->rank + 1, &a));
  int64_t d[2] = {1, 1};
  for (int k = 0; k < x->rank; k++) d[k >= a] *= x->dims[k];
  return reshape_to(X, x, 2, d);
}

/* The axes of Squeeze, Unsqueeze or ReduceMean: the attribute (opsets before
 * 13 / 18) or the constant input 1 (after); *n = -1 when neither is given. */
static int read_axes(ox *X, int64_t ax[MAXR], int *n) {
  *n = -1;
  const fv_onnx_attr *aa = fv_onnx_attr_find(X->nd, "axes");
  if (aa) {
    if (aa->n_ints > MAXR) return fv_ox_fail(X, BAD, "%d axes", aa->n_ints);
    *n = aa->n_ints;
    memcpy(ax, aa->ints, sizeof(int64_t) * (size_t)*n);
  } else if (fv_ox_input(X, 1)) {
    fv_onnx_const *c = fv_ox_cst(X, fv_ox_input(X, 1));
    if (!c) return fv_ox_fail(X, UNSUP, "the axes are not a constant");
    if (c->count > MAXR) return fv_ox_fail(X, BAD, "%lld axes", (long long)c->count);
    *n = (int)c->count;
    for (int k = 0; k < *n; k++) ax[k] = fv_onnx_const_int(c, k);
  }
  return 1;
}

/* Squeeze / Unsqueeze of an activation: the axes from the attribute or input 1. */
static int lower_squeeze_kind(ox *X, int unsqueeze) {
  val *x = fv_ox_act_in(X, 0, "data");
  TRY(x);
  int64_t ax[MAXR], d[MAXR];
  int n = -1, r;
  TRY(read_axes(X, ax, &n));
  unsigned mask = 0;
  r = unsqueeze ? x->rank + (n > 0 ? n : 0) : x->rank;
  if (unsqueeze && n < 0) return fv_ox_fail(X, BAD, "no axes");
  if (r > MAXR) return fv_ox_fail(X, UNSUP, "rank %d", r);
  for (int k = 0; k < n; k++) {
    int a;
    TRY(fv_ox_axis_in(X, ax[k], r, &a));
    if (!unsqueeze && x->dims[a] != 1) return fv_ox_fail(X, BAD, "axis %d has size %lld, not 1", a, (long long)x->dims[a]);
    mask |= 1u << a;
  }
  int q = 0;
  if (unsqueeze) {
    for (int k = 0, j = 0; k < r; k++) d[q++] = mask & (1u << k) ? 1 : x->dims[j++];
  } else {
    for (int k = 0; k < x->rank; k++)
      if (!(n < 0 ? x->dims[k] == 1 : (mask & (1u << k)) != 0)) d[q++] = x->dims[k];
  }
  return reshape_to(X, x, q, d);
}
static int lower_squeeze(ox *X) { return lower_squeeze_kind(X, 0); }
static int lower_unsqueeze(ox *X) { return lower_squeeze_kind(X, 1); }

static int lower_transpose(ox *X) {
  val *x = fv_ox_act_in(X, 0, "data");
  TRY(x);
  const int r = x->rank;
  const fv_onnx_attr *pa = fv_onnx_attr_find(X->nd, "perm");
  int p[MAXR];
  unsigned seen = 0;
  if (pa && pa->n_ints != r) return fv_ox_fail(X, BAD, "perm has %d entries for rank %d", pa->n_ints, r);
  for (int k = 0; k < r; k++) {
    int64_t v = pa ? pa->ints[k] : r - 1 - k;
    if (v < 0 || v >= r || (seen & (1u << v))) return fv_ox_fail(X, BAD, "perm is not a permutation");
    seen |= 1u << v;
    p[k] = (int)v;
  }
  int64_t d[MAXR];
  for (int k = 0; k < r; k++) d[k] = x->dims[p[k]];
  val *y = fv_ox_output(X, 0);
  if (x->lay == LAY_SHUF) { /* the middle of a channel shuffle */
    static const int shuffle[5] = {0, 2, 1, 3, 4};
    if (memcmp(p, shuffle, sizeof shuffle) != 0) return fv_ox_fail(X, UNSUP, "a 5-D transpose other than a channel shuffle's");
    fv_ox_set_act(y, x->t, LAY_SHUFT, 5, d);
    y->qsrc = (int)(x - X->v);
    return 1;
  }
  if (r > 4) return fv_ox_fail(X, UNSUP, "a transpose of rank %d (4 at most)", r);
  int xt, lay;
  TRY(fv_ox_plain(X, x, &xt, &lay));
  /* engine perm q for an output layout: q[fv_ox_eax(out, j)] = fv_ox_eax(in, p[j]), the rest in order */
  int best = -1, q[2][4];
  for (int cand = 0; cand < 2; cand++) {
    int out = cand == 0 ? LAY_NCHW : LAY_ROW, used = 0, *qq = q[cand];
    if (out == LAY_NCHW && r != 4) continue;
    for (int k = 0; k < 4; k++) qq[k] = -1;
    for (int j = 0; j < r; j++) {
      qq[fv_ox_eax(out, r, j)] = fv_ox_eax(lay, r, p[j]);
      used |= 1 << fv_ox_eax(lay, r, p[j]);
    }
    for (int k = 0, s = 0; k < 4; k++)
      if (qq[k] < 0) {
        while (used & (1 << s)) s++;
        qq[k] = s;
        used |= 1 << s;
      }
    int ident = 1;
    for (int k = 0; k < 4; k++) ident &= qq[k] == k;
    if (ident) {
      best = cand;
      break;
    }
    if (best < 0) best = cand;
  }
  const int out = best == 0 ? LAY_NCHW : LAY_ROW;
  int ident = q[best][0] == 0 && q[best][1] == 1 && q[best][2] == 2 && q[best][3] == 3;
  if (ident) { /* the same memory under a new name and layout */
    int t;
    TRY(fv_ox_act_tensor(X, y->name, out, r, d, &t));
    TRY(fv_ox_emit_reshape(X, xt, t, -1, "Transpose"));
    fv_ox_set_act(y, t, out, r, d);
    return 1;
  }
  int t;
  TRY(fv_ox_act_tensor(X, y->name, out, r, d, &t));
  TRY(fv_ox_emit_transpose(X, xt, t, q[best], "Transpose"));
  fv_ox_set_act(y, t, out, r, d);
  return 1;
}

/* ==== Concat, Split, Slice, Pad ======================================================================= */
static int lower_concat(ox *X) {
  const fv_onnx_node *nd = X->nd;
  val *first = NULL;
  int rank = -1, any4nchw = 0;
  for (int k = 0; k < nd->n_in; k++) {
    val *v = fv_ox_input(X, k);
    if (!v) return fv_ox_fail(X, BAD, "input %d is missing", k);
    if (v->kind == V_QACT) return fv_ox_fail(X, UNSUP, "input %d is a quantized activation", k);
    if (rank >= 0 && v->rank != rank) return fv_ox_fail(X, BAD, "input %d has rank %d, input 0 %d", k, v->rank, rank);
    rank = v->rank;
    if (v->kind == V_ACT && !first) first = v;
    any4nchw |= v->kind == V_ACT && v->lay == LAY_NCHW;
  }
  if (!first) return fv_ox_fail(X, BAD, "no activation input");
  int a;
  TRY(fv_ox_axis_in(X, fv_ox_attr_i(X, "axis", 1), rank, &a));
  const int lay = rank == 4 && any4nchw ? LAY_NCHW : LAY_ROW;
  int64_t d[MAXR];
  memcpy(d, first->dims, sizeof d);
  d[a] = 0;
  int *t = (int *)malloc(sizeof(int) * (size_t)nd->n_in);
  if (!t) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  int ok = 1;
  for (int k = 0; ok && k < nd->n_in; k++) { /* layout copies and constants first: the concat comes after */
    val *v = fv_ox_input(X, k);
    for (int q = 0; ok && q < rank; q++)
      if (q != a && v->dims[q] != first->dims[q]) ok = fv_ox_fail(X, BAD, "input %d differs from input 0 in dimension %d", k, q);
    d[a] += v->dims[a];
    if (ok) ok = v->kind == V_CONST ? fv_ox_const_like(X, v, lay, rank, &t[k]) : fv_ox_in_layout(X, v, lay, &t[k]);
  }
  fv_op *op = ok ? fv_ox_emit_out(X, FV_OP_CONCAT, nd->n_in, fv_ox_output(X, 0), lay, rank, d) : NULL;
  if (op) {
    memcpy(op->inputs, t, sizeof(int) * (size_t)nd->n_in);
    op->axis = fv_ox_eax(lay, rank, a);
  }
  free(t);
  return op != NULL;
}

/* One output of a Split / Slice: SLICE of x (tensor xt, layout lay) along the given ONNX ranges. */
static int emit_slice(ox *X, val *x, int xt, int lay, val *y, const int64_t *first, const int64_t *count,
                      const int64_t *step) {
  int64_t d[MAXR];
  for (int k = 0; k < x->rank; k++) {
    if (count[k] < 1) return fv_ox_fail(X, UNSUP, "'%.60s' would be empty", y->name);
    d[k] = count[k];
  }
  fv_op *op = fv_ox_emit_out(X, FV_OP_SLICE, 1, y, lay, x->rank, d);
  TRY(op);
  op->inputs[0] = xt;
  for (int k = 0; k < 4; k++) op->begin[k] = 0, op->size[k] = -1, op->step[k] = 1;
  for (int k = 0; k < x->rank; k++) {
    int e = fv_ox_eax(lay, x->rank, k);
    if (first[k] == 0 && count[k] == x->dims[k] && step[k] == 1) continue; /* uncut: follows the run size */
    if (step[k] < 1) return fv_ox_fail(X, UNSUP, "a step of %lld (negative steps are not supported)", (long long)step[k]);
    op->begin[e] = (int)first[k], op->size[e] = (int)count[k], op->step[e] = (int)step[k];
    if (lay == LAY_NCHW ? e == 1 || e == 2 : k >= 2)
      snprintf(X->m->fixed_size, sizeof X->m->fixed_size, "node %d \"%.60s\" (%s) cuts a spatial axis", X->node,
               X->nd->name, X->nd->op_type);
  }
  return 1;
}

static int lower_slice(ox *X) {
  val *x = fv_ox_act_in(X, 0, "data");
  TRY(x);
  fv_onnx_const *in[5] = {NULL};
  for (int k = 1; k < 5 && k < X->nd->n_in; k++) {
    val *v = fv_ox_input(X, k);
    if (v && !(in[k] = fv_ox_cst(X, v))) return fv_ox_fail(X, UNSUP, "input %d is not a constant", k);
  }
  int64_t first[MAXR], count[MAXR], step[MAXR];
  TRY(fv_onnx_slice_params(X->nd, in, X->nd->n_in, x->rank, x->dims, first, count, step, X->err));
  int xt, lay;
  TRY(fv_ox_plain(X, x, &xt, &lay));
  return emit_slice(X, x, xt, lay, fv_ox_output(X, 0), first, count, step);
}

static int lower_split(ox *X) {
  val *x = fv_ox_act_in(X, 0, "input");
  TRY(x);
  int a, n = X->nd->n_out;
  TRY(fv_ox_axis_in(X, fv_ox_attr_i(X, "axis", 0), x->rank, &a));
  int64_t sizes[MAX_WINDOW];
  if (n < 1 || n > MAX_WINDOW) return fv_ox_fail(X, BAD, "%d outputs", n);
  const fv_onnx_attr *sa = fv_onnx_attr_find(X->nd, "split");
  fv_onnx_const *sc = fv_ox_input(X, 1) ? fv_ox_cst(X, fv_ox_input(X, 1)) : NULL;
  if (fv_ox_input(X, 1) && !sc) return fv_ox_fail(X, UNSUP, "the split sizes are not a constant");
  if (sa || sc) {
    if ((sa ? sa->n_ints : sc->count) != n) return fv_ox_fail(X, BAD, "%lld split sizes for %d outputs", (long long)(sa ? sa->n_ints : sc->count), n);
    for (int k = 0; k < n; k++) sizes[k] = sa ? sa->ints[k] : fv_onnx_const_int(sc, k);
  } else { /* equal parts (opset 18: the last may be smaller) */
    int64_t part = (x->dims[a] + n - 1) / n;
    for (int k = 0; k < n; k++) sizes[k] = k < n - 1 ? part : x->dims[a] - part * (n - 1);
  }
  int64_t sum = 0;
  for (int k = 0; k < n; k++) {
    if (sizes[k] < 0 || sizes[k] > x->dims[a]) return fv_ox_fail(X, BAD, "split size %lld for an axis of %lld", (long long)sizes[k], (long long)x->dims[a]);
    sum += sizes[k];
  }
  if (sum != x->dims[a]) return fv_ox_fail(X, BAD, "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)x->dims[a]);
  int xt, lay;
  TRY(fv_ox_plain(X, x, &xt, &lay));
  int64_t first[MAXR], count[MAXR], step[MAXR], at = 0;
  for (int k = 0; k < x->rank; k++) first[k] = 0, count[k] = x->dims[k], step[k] = 1;
  for (int k = 0; k < n; k++) {
    first[a] = at;
    count[a] = sizes[k];
    at += sizes[k];
    if (!X->nd->out[k][0]) continue;
    TRY(emit_slice(X, x, xt, lay, fv_ox_output(X, k), first, count, step));
  }
  return 1;
}

static int lower_pad(ox *X) {
  val *x = fv_ox_act_in(X, 0, "data");
  TRY(x);
  const char *mode = fv_ox_attr_s(X, "mode", "constant");
  if (strcmp(mode, "constant") != 0) return fv_ox_fail(X, UNSUP, "Pad mode %s is not supported (constant only)", mode);
  const int r = x->rank;
  int64_t p[2 * MAXR];
  const fv_onnx_attr *pa = fv_onnx_attr_find(X->nd, "pads");
  float value = fv_ox_attr_f(X, "value", 0);
  int n;
  if (pa) {
    n = pa->n_ints;
    if (n != 2 * r) return fv_ox_fail(X, BAD, "%d pads for rank %d", n, r);
    memcpy(p, pa->ints, sizeof(int64_t) * (size_t)n);
  } else {
    fv_onnx_const *c = fv_ox_cst(X, fv_ox_input(X, 1));
    if (!c) return fv_ox_fail(X, UNSUP, "the pads are not a constant");
    fv_onnx_const *axes = fv_ox_input(X, 3) ? fv_ox_cst(X, fv_ox_input(X, 3)) : NULL;
    int na = axes ? (int)axes->count : r;
    if (c->count != 2 * na || na > r) return fv_ox_fail(X, BAD, "%lld pads for %d axes", (long long)c->count, na);
    for (int k = 0; k < 2 * r; k++) p[k] = 0;
    for (int j = 0; j < na; j++) {
      int a = j;
      if (axes) TRY(fv_ox_axis_in(X, fv_onnx_const_int(axes, j), r, &a));
      p[a] = fv_onnx_const_int(c, j);
      p[a + r] = fv_onnx_const_int(c, j + na);
    }
    TRY(fv_ox_scalar_in(X, 2, 0, &value, "constant_value"));
  }
  int xt, lay;
  TRY(fv_ox_plain(X, x, &xt, &lay));
  int64_t d[MAXR];
  for (int k = 0; k < r; k++) {
    if (p[k] < 0 || p[k + r] < 0)
      return fv_ox_fail(X, UNSUP, "a negative pad (%lld, %lld on axis %d) is not supported", (long long)p[k], (long long)p[k + r], k);
    if (p[k] > MAX_WINDOW || p[k + r] > MAX_WINDOW) return fv_ox_fail(X, BAD, "a pad of %lld", (long long)(p[k] > p[k + r] ? p[k] : p[k + r]));
    d[k] = x->dims[k] + p[k] + p[k + r];
  }
  fv_op *op = fv_ox_emit_out(X, FV_OP_PAD, 1, fv_ox_output(X, 0), lay, r, d);
  TRY(op);
  op->inputs[0] = xt;
  op->pad_value = value;
  for (int k = 0; k < r; k++) {
    op->pads[fv_ox_eax(lay, r, k)][0] = (int)p[k];
    op->pads[fv_ox_eax(lay, r, k)][1] = (int)p[k + r];
  }
  return 1;
}

/* ==== Softmax, ReduceMean ============================================================================== */
static int lower_softmax(ox *X) {
  val *x = fv_ox_act_in(X, 0, "input");
  TRY(x);
  int a, xt, lay;
  const int64_t opset = X->g->opset;
  TRY(fv_ox_axis_in(X, fv_ox_attr_i(X, "axis", opset >= 13 ? -1 : 1), x->rank, &a));
  TRY(fv_ox_plain(X, x, &xt, &lay));
  /* the engine's softmax runs over the NHWC channel axis; before opset 13 the
   * axes from `axis` on count as one, which is that axis when the rest are 1 */
  int ok = fv_ox_eax(lay, x->rank, a) == 3;
  for (int k = a + 1; ok && opset < 13 && k < x->rank; k++) ok = x->dims[k] == 1 || fv_ox_eax(lay, x->rank, k) == 3;
  if (opset < 13 && lay == LAY_NCHW && a == 1) ok = x->dims[2] * x->dims[3] == 1;
  if (!ok) {
    char s[64];
    return fv_ox_fail(X, UNSUP, "a softmax over axis %d of shape %s (the channel axis only)", a, fv_ox_shape_str(x->rank, x->dims, s, sizeof s));
  }
  fv_op *op = fv_ox_emit_out(X, FV_OP_SOFTMAX, 1, fv_ox_output(X, 0), lay, x->rank, x->dims);
  TRY(op);
  op->inputs[0] = xt;
  op->beta = 1;
  return 1;
}

static int lower_reducemean(ox *X) {
  val *x = fv_ox_act_in(X, 0, "data");
  TRY(x);
  const int r = x->rank, keep = fv_ox_attr_i(X, "keepdims", 1) != 0;
  int64_t ax[MAXR];
  int n = -1;
  TRY(read_axes(X, ax, &n));
  if (n == 0 && fv_ox_attr_i(X, "noop_with_empty_axes", 0)) return reshape_to(X, x, x->rank, x->dims);
  unsigned mask = 0;
  if (n <= 0) mask = (1u << r) - 1;
  for (int k = 0; k < n; k++) {
    int a;
    TRY(fv_ox_axis_in(X, ax[k], r, &a));
    mask |= 1u << a;
  }
  if (mask & 1) return fv_ox_fail(X, UNSUP, "a mean over the batch axis");
  int xt, lay;
  TRY(fv_ox_plain(X, x, &xt, &lay));
  int64_t kd[MAXR], d[MAXR];
  int q = 0;
  for (int k = 0; k < r; k++) {
    kd[k] = mask & (1u << k) ? 1 : x->dims[k];
    if (!(mask & (1u << k)) || keep) d[q++] = kd[k];
  }
  /* MEAN keeps the reduced axes as 1 in the engine's 4-D view */
  val *y = fv_ox_output(X, 0);
  int64_t e_keep[4], e_out[4];
  fv_ox_edims(lay, r, kd, e_keep);
  int out_lay = lay == LAY_NCHW && q == 4 ? LAY_NCHW : LAY_ROW;
  if (lay == LAY_NCHW && q != 4) out_lay = LAY_ROW;
  fv_ox_edims(out_lay, q, d, e_out);
  int same = memcmp(e_keep, e_out, sizeof e_keep) == 0;
  int t;
  char name[FV_NAME_MAX];
  snprintf(name, sizeof name, same ? "%s" : "%.200s:keepdims", y->name);
  int mt;
  if (same) {
    TRY(fv_ox_act_tensor(X, y->name, out_lay, q, d, &mt));
  } else {
    TRY(fv_ox_act_tensor(X, name, lay, r, kd, &mt));
  }
  fv_op *op = fv_ox_emit(X, FV_OP_MEAN, 1, mt, "ReduceMean");
  TRY(op);
  op->inputs[0] = xt;
  op->keep_dims = keep;
  for (int k = 0; k < r; k++)
    if (mask & (1u << k)) op->mean_axes |= 1 << fv_ox_eax(lay, r, k);
  if (same) {
    fv_ox_set_act(y, mt, out_lay, q, d);
    return 1;
  }
  TRY(fv_ox_act_tensor(X, y->name, out_lay, q, d, &t));
  TRY(fv_ox_emit_reshape(X, mt, t, -1, "ReduceMean"));
  fv_ox_set_act(y, t, out_lay, q, d);
  return 1;
}

const fv_ox_lowering fv_ox_shape_ops[] = {
    {"Reshape", lower_reshape},
    {"Flatten", lower_flatten},
    {"Squeeze", lower_squeeze},
    {"Unsqueeze", lower_unsqueeze},
    {"Transpose", lower_transpose},
    {"Concat", lower_concat},
    {"Split", lower_split},
    {"Slice", lower_slice},
    {"Pad", lower_pad},
    {"Softmax", lower_softmax},
    {"ReduceMean", lower_reducemean},
    {NULL, NULL},
};
