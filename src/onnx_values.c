/* onnx_values.c — the lowering's values: ONNX tensor names to values, constants
 * decoded on first use, attributes, the layouts of activations and the
 * conversions between them, and the emitters of engine ops (onnx_lower.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_lower.h"

/* ==== errors ================================================================= */
int fv_ox_fail(ox *X, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int fv_ox_fail(ox *X, fv_status code, const char *fmt, ...) {
  char msg[220];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (X->where[0]) fv_error_set(X->err, code, "%s: %s", X->where, msg);
  else fv_error_set(X->err, code, "%s", msg);
  return 0;
}

char *fv_ox_dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = (char *)malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

const char *fv_ox_shape_str(int rank, const int64_t *d, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < rank && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)d[i]);
  if (k < cap) snprintf(buf + k, cap - k, "]");
  return buf;
}

/* ==== values by name ========================================================== */
static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

int fv_ox_lookup(const ox *X, const char *name) {
  for (uint32_t h = hash(name) & (uint32_t)X->hmask;; h = (h + 1) & (uint32_t)X->hmask) {
    int k = X->ht[h];
    if (!k) return -1;
    if (strcmp(X->v[k - 1].name, name) == 0) return k - 1;
  }
}

/* A new value of that name; 0 if the name exists already. */
int fv_ox_add_value(ox *X, const char *name, int made_at) {
  if (fv_ox_lookup(X, name) >= 0) return fv_ox_fail(X, BAD, "tensor '%.80s' is written twice (as an initializer, input or output)", name);
  val *v = &X->v[X->nv];
  memset(v, 0, sizeof *v);
  v->name = name;
  v->alias = -1;
  v->made_at = made_at;
  v->t = v->alt_t = v->qsrc = -1;
  uint32_t h = hash(name) & (uint32_t)X->hmask;
  while (X->ht[h]) h = (h + 1) & (uint32_t)X->hmask;
  X->ht[h] = ++X->nv;
  return 1;
}

int fv_ox_root(const ox *X, int i) {
  while (X->v[i].alias >= 0) i = X->v[i].alias;
  return i;
}

/* Node input k: the value (resolved), or NULL when left out. */
val *fv_ox_input(ox *X, int k) {
  if (k >= X->nd->n_in || !X->nd->in[k][0]) return NULL;
  return &X->v[fv_ox_root(X, fv_ox_lookup(X, X->nd->in[k]))];
}

val *fv_ox_output(ox *X, int k) { return &X->v[fv_ox_lookup(X, X->nd->out[k])]; }

/* ==== constants ================================================================ */
static int decode(ox *X, val *v) {
  if (v->has_c) return 1;
  const fv_onnx_tensor *t = v->src;
  fv_onnx_const *c = &v->c;
  c->rank = t->rank;
  memcpy(c->dims, t->dims, sizeof c->dims);
  int is_int = fv_onnx_dtype_is_int(t->dtype);
  if (!is_int && !fv_dtype_is_float(fv_onnx_dtype(t->dtype)))
    return fv_ox_fail(X, UNSUP, "tensor '%.60s' has type %s", t->name, fv_onnx_dtype_name(t->dtype));
  TRY(fv_onnx_const_alloc(c, is_int, X->err));
  c->dtype = t->dtype;
  TRY(is_int ? fv_onnx_tensor_i64(t, c->i, X->err) : fv_onnx_tensor_f32(t, c->f, X->err));
  v->has_c = 1;
  return 1;
}

/* A constant input's values (decoded on first use). */
fv_onnx_const *fv_ox_cst(ox *X, val *v) {
  if (!v || v->kind != V_CONST) return NULL;
  return decode(X, v) ? &v->c : NULL;
}

int fv_ox_set_const(val *v, fv_onnx_const *c) {
  v->kind = V_CONST;
  v->c = *c;
  v->has_c = 1;
  v->rank = c->rank;
  memcpy(v->dims, c->dims, sizeof v->dims);
  memset(c, 0, sizeof *c);
  return 1;
}

/* A constant input as float32 values (integer constants converted). */
const float *fv_ox_cst_f(ox *X, val *v, int64_t *count) {
  fv_onnx_const *c = fv_ox_cst(X, v);
  if (!c) return NULL;
  if (c->is_int) {
    float *f = (float *)malloc(sizeof(float) * (size_t)(c->count ? c->count : 1));
    if (!f) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory"), NULL;
    for (int64_t k = 0; k < c->count; k++) f[k] = (float)c->i[k];
    free(c->i);
    c->i = NULL;
    c->f = f;
    c->is_int = 0;
  }
  *count = c->count;
  return c->f;
}

/* An optional float scalar fv_ox_input (Clip's min / max), or def. */
int fv_ox_scalar_in(ox *X, int k, float def, float *out, const char *role) {
  val *v = fv_ox_input(X, k);
  int64_t n;
  *out = def;
  if (!v) return 1;
  if (v->kind != V_CONST) return fv_ox_fail(X, UNSUP, "the %s is not a constant", role);
  const float *f = fv_ox_cst_f(X, v, &n);
  TRY(f);
  if (n != 1) return fv_ox_fail(X, BAD, "the %s has %lld values, not 1", role, (long long)n);
  *out = f[0];
  return 1;
}

/* ==== attributes ================================================================= */
int64_t fv_ox_attr_i(ox *X, const char *name, int64_t def) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  return a ? a->i : def;
}
float fv_ox_attr_f(ox *X, const char *name, float def) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  return a ? a->f : def;
}
const char *fv_ox_attr_s(ox *X, const char *name, const char *def) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  return a && a->s ? a->s : def;
}
/* An INTS attribute of exactly n values (absent: def[k]), each in [lo, hi]. */
int fv_ox_attr_ints(ox *X, const char *name, int n, const int64_t *def, int64_t lo, int64_t hi, int64_t *out) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  if (a && a->n_ints != n) return fv_ox_fail(X, BAD, "%s has %d values, expected %d", name, a->n_ints, n);
  for (int k = 0; k < n; k++) {
    out[k] = a ? a->ints[k] : def[k];
    if (out[k] < lo || out[k] > hi)
      return fv_ox_fail(X, out[k] < 0 ? BAD : UNSUP, "%s %lld is out of range (%lld..%lld)%s", name, (long long)out[k],
                  (long long)lo, (long long)hi, out[k] < 0 && strcmp(name, "pads") == 0 ? ": a negative pad" : "");
  }
  return 1;
}

/* ==== layouts ======================================================================= */
/* The engine's 4-D view of a value's dims. */
void fv_ox_edims(int lay, int rank, const int64_t *d, int64_t e[4]) {
  e[0] = e[1] = e[2] = e[3] = 1;
  if (lay == LAY_NCHW) {
    e[0] = d[0], e[1] = d[2], e[2] = d[3], e[3] = d[1];
  } else if (lay == LAY_FLAT || rank == 2) {
    e[0] = d[0], e[3] = d[1];
  } else if (rank == 1) {
    e[3] = d[0];
  } else {
    e[0] = d[0];
    for (int k = 1; k < rank; k++) e[4 - rank + k] = d[k];
  }
}

/* The engine axis of ONNX axis a. */
int fv_ox_eax(int lay, int rank, int a) {
  static const int nchw[4] = {0, 3, 1, 2};
  if (lay == LAY_NCHW) return nchw[a];
  if (rank == 1) return 3;
  return a == 0 ? 0 : 4 - rank + a;
}

int fv_ox_axis_in(ox *X, int64_t a, int rank, int *out) {
  if (a < -rank || a >= rank) return fv_ox_fail(X, BAD, "axis %lld is out of range for rank %d", (long long)a, rank);
  *out = (int)(a < 0 ? a + rank : a);
  return 1;
}

/* A new engine tensor for an activation of that layout and ONNX shape. */
int fv_ox_act_tensor(ox *X, const char *name, int lay, int rank, const int64_t *dims, int *t) {
  int64_t e[4];
  int sd[FV_MAX_RANK], sr;
  if (lay != LAY_NCHW && rank > 4)
    return fv_ox_fail(X, UNSUP, "'%.60s' has rank %d; featviz runs activations of rank 4 at most", name, rank);
  if (rank < 1) return fv_ox_fail(X, UNSUP, "'%.60s' is a scalar activation", name);
  fv_ox_edims(lay, rank, dims, e);
  double n = (double)e[0] * (double)e[1] * (double)e[2] * (double)e[3];
  for (int k = 0; k < 4; k++)
    if (e[k] < 1) return fv_ox_fail(X, UNSUP, "'%.60s' has an empty dimension", name);
  if (n > (double)FV_MAX_ACT_ELEMS)
    return fv_ox_fail(X, FV_ERR_NO_MEMORY, "activation '%.60s' needs %.0f MB at the native size; the limit is %lld MB", name,
                n * 4 / 1048576, (long long)(FV_MAX_ACT_ELEMS >> 18));
  if (lay == LAY_NCHW) {
    sr = 4;
    for (int k = 0; k < 4; k++) sd[k] = (int)e[k];
  } else if (lay == LAY_FLAT) {
    sr = 2, sd[0] = (int)dims[0], sd[1] = (int)dims[1];
  } else {
    sr = rank;
    for (int k = 0; k < rank; k++) sd[k] = (int)dims[k];
  }
  *t = fv_model_add_tensor(X->m, name, sr, sd, NULL, X->err);
  return *t >= 0;
}

void fv_ox_set_act(val *v, int t, int lay, int rank, const int64_t *dims) {
  v->kind = V_ACT;
  v->t = t;
  v->lay = lay;
  v->rank = rank;
  if (dims != v->dims) memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
}

/* An op writing tensor out; src_op: the file's op type. */
fv_op *fv_ox_emit(ox *X, fv_op_kind kind, int n_in, int out, const char *src_op) {
  fv_op *op = fv_model_add_op(X->m, kind, n_in, X->err);
  if (!op) return NULL;
  op->output = out;
  snprintf(op->src_op, sizeof op->src_op, "%s", src_op);
  return op;
}

/* An activation's output value: a new engine tensor named after it, and an op writing it. */
fv_op *fv_ox_emit_out(ox *X, fv_op_kind kind, int n_in, val *y, int lay, int rank, const int64_t *dims) {
  int t;
  if (!fv_ox_act_tensor(X, y->name, lay, rank, dims, &t)) return NULL;
  fv_ox_set_act(y, t, lay, rank, dims);
  return fv_ox_emit(X, kind, n_in, t, X->nd ? X->nd->op_type : "");
}

/* RESHAPE x → y: y's stored shape is the target; wild: an entry left to -1 (or -1 for none). */
fv_op *fv_ox_emit_reshape(ox *X, int x, int y, int wild, const char *src_op) {
  fv_op *op = fv_ox_emit(X, FV_OP_RESHAPE, 1, y, src_op);
  if (!op) return NULL;
  const fv_tensor *T = &X->m->tensors[y];
  op->inputs[0] = x;
  op->new_rank = T->rank;
  for (int k = 0; k < T->rank; k++) op->new_shape[k] = k == wild ? -1 : T->dims[k];
  return op;
}

fv_op *fv_ox_emit_transpose(ox *X, int x, int y, const int q[4], const char *src_op) {
  fv_op *op = fv_ox_emit(X, FV_OP_TRANSPOSE, 1, y, src_op);
  if (!op) return NULL;
  op->inputs[0] = x;
  memcpy(op->perm, q, sizeof op->perm);
  return op;
}

/* The value's engine tensor in layout `want` (NCHW for rank 4, ROW), made once. */
int fv_ox_in_layout(ox *X, val *v, int want, int *t) {
  char name[FV_NAME_MAX];
  if (v->lay == LAY_SHUF || v->lay == LAY_SHUFT)
    return fv_ox_fail(X, UNSUP, "'%.60s' is a 5-D tensor (only a channel shuffle's may be)", v->name);
  if (v->lay == want) return *t = v->t, 1;
  if (v->alt_t >= 0 && v->alt_lay == want) return *t = v->alt_t, 1;
  if (want == LAY_NCHW && v->rank != 4)
    return fv_ox_fail(X, UNSUP, "'%.60s' has shape of rank %d where a 4-D NCHW map is needed", v->name, v->rank);
  int from = v->t;
  if (v->lay == LAY_FLAT) { /* back to the NHWC map, transposed to ONNX's [N,C,H,W], flattened again */
    int64_t d4[4] = {v->dims[0], v->fc, v->fh, v->fw};
    int map, mid;
    static const int q[4] = {0, 3, 1, 2};
    snprintf(name, sizeof name, "%.200s:nhwc", v->name);
    TRY(fv_ox_act_tensor(X, name, LAY_NCHW, 4, d4, &map));
    TRY(fv_ox_emit_reshape(X, v->t, map, -1, "(layout)"));
    snprintf(name, sizeof name, "%.200s:nchw", v->name);
    TRY(fv_ox_act_tensor(X, name, LAY_ROW, 4, d4, &mid));
    TRY(fv_ox_emit_transpose(X, map, mid, q, "(layout)"));
    snprintf(name, sizeof name, "%.200s:row", v->name);
    TRY(fv_ox_act_tensor(X, name, LAY_ROW, 2, v->dims, t));
    TRY(fv_ox_emit_reshape(X, mid, *t, -1, "(layout)"));
  } else {
    /* NCHW ↔ ROW of a rank-4 value: a relabel when H·W or C is 1, else a transpose */
    int relabel = v->dims[1] == 1 || v->dims[2] * v->dims[3] == 1;
    snprintf(name, sizeof name, "%.200s:%s", v->name, want == LAY_NCHW ? "nhwc" : "nchw");
    TRY(fv_ox_act_tensor(X, name, want, v->rank, v->dims, t));
    if (relabel) {
      TRY(fv_ox_emit_reshape(X, from, *t, -1, "(layout)"));
    } else {
      static const int to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
      TRY(fv_ox_emit_transpose(X, from, *t, want == LAY_NCHW ? to_nhwc : to_nchw, "(layout)"));
    }
  }
  v->alt_t = *t;
  v->alt_lay = want;
  return 1;
}

/* An activation input, in any layout but FLAT (materialized as ROW). */
val *fv_ox_act_in(ox *X, int k, const char *role) {
  val *v = fv_ox_input(X, k);
  if (!v) return fv_ox_fail(X, BAD, "the %s input is missing", role), NULL;
  if (v->kind == V_QACT)
    return fv_ox_fail(X, UNSUP, "the %s input is a quantized activation (QuantizeLinear without a DequantizeLinear)", role), NULL;
  if (v->kind != V_ACT) return fv_ox_fail(X, UNSUP, "the %s input '%.60s' is a constant", role, v->name), NULL;
  return v;
}

/* The tensor and layout an op on v should read: FLAT becomes ROW. */
int fv_ox_plain(ox *X, val *v, int *t, int *lay) {
  if (v->lay == LAY_SHUF || v->lay == LAY_SHUFT)
    return fv_ox_fail(X, UNSUP, "'%.60s' is a 5-D tensor (only a channel shuffle's may be)", v->name);
  if (v->lay != LAY_FLAT) return *t = v->t, *lay = v->lay, 1;
  *lay = LAY_ROW;
  return fv_ox_in_layout(X, v, LAY_ROW, t);
}

/* A constant laid out like an activation of layout lay and rank ra, as a
 * rank-4 NHWC engine constant (broadcasting right-aligned, as ONNX does). */
int fv_ox_const_like(ox *X, val *c, int lay, int ra, int *t) {
  fv_onnx_const *k = fv_ox_cst(X, c);
  int64_t n;
  TRY(k);
  if (c->rank > ra)
    return fv_ox_fail(X, UNSUP, "a constant of rank %d broadcast against an activation of rank %d", c->rank, ra);
  int64_t d[MAXR], e[4];
  for (int a = 0; a < ra; a++) d[a] = 1;
  for (int a = 0; a < c->rank; a++) d[ra - c->rank + a] = c->dims[a];
  if (lay == LAY_NCHW && ra != 4) lay = LAY_ROW;
  fv_ox_edims(lay, ra, d, e);
  const float *f = fv_ox_cst_f(X, c, &n);
  TRY(f);
  float *out = (float *)malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!out) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  /* walk the constant in ONNX order; write each value where its engine axes put it */
  int64_t es[4] = {e[1] * e[2] * e[3], e[2] * e[3], e[3], 1}, idx[MAXR] = {0};
  for (int64_t q = 0; q < n; q++) {
    int64_t off = 0;
    for (int a = 0; a < ra; a++) off += idx[a] * es[fv_ox_eax(lay, ra, a)];
    out[off] = f[q];
    for (int a = ra - 1; a >= 0 && ++idx[a] == d[a]; a--) idx[a] = 0;
  }
  int sd[4] = {(int)e[0], (int)e[1], (int)e[2], (int)e[3]};
  *t = fv_model_add_tensor(X->m, c->name, 4, sd, out, X->err);
  return *t >= 0;
}
