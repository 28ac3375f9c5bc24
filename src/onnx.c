/* onnx.c — the ONNX loader: an ONNX graph (decoded by onnx_proto.c) lowered
 * to an fv_model (model.h), NCHW to NHWC, float32.
 *
 * Every ONNX tensor becomes a value: a constant (initializers, Constant, and
 * whatever onnx_fold.c computes from constants: shape arithmetic, weights
 * through Identity / Cast / DequantizeLinear), or an activation the engine
 * computes, held in an engine tensor in one of three layouts:
 *   NCHW  a rank-4 [N,C,H,W] value stored NHWC (the engine's layout)
 *   ROW   stored in ONNX's own row-major order (rank ≤ 4; the graph sees
 *         rank r right-aligned after the batch: [N,K] → N×1×1×K)
 *   FLAT  [N, C·H·W] flattened from an NHWC map, i.e. NHWC order; a Gemm or
 *         MatMul reading it gets its weight columns permuted to match, so no
 *         transpose runs; any other reader gets a materialized ROW copy.
 * Weights are permuted once to the engine's layouts (model.h); axes of
 * Concat, Split, Slice, Softmax, ReduceMean, Pad, Transpose map through the
 * layout; a constant that meets an activation is laid out like it.
 * BatchNormalization folds into the Conv before it (else a 1×1 depthwise
 * scale and shift); Identity, Dropout and QuantizeLinear→DequantizeLinear on
 * activations are aliases; a channel shuffle (Reshape→Transpose→Reshape)
 * becomes NHWC ops that run at any size (model.h: RESHAPE new_rank 0).
 *
 * Shapes computed from an activation's Shape are folded for the native input
 * size. A Reshape built from them keeps its fixed target, so at another size
 * the graph refuses it (FV_ERR_SHAPE, "use the model's native size"); a Slice
 * that cuts H or W sets m->fixed_size, so infer and render refuse other sizes
 * too (FV_ERR_SHAPE) instead of cutting the wrong rows.
 *
 * Anything else is refused with the op, the node's index and name: the model
 * is untrusted input, checked like the TFLite one (a node reading a tensor
 * no earlier node made, a cycle, dims past the caps, negative pads, data
 * shorter than its shape, weights over what a tab can hold).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "onnx_fold.h"
#include "onnx_proto.h"

#define MAXR FV_ONNX_MAX_RANK
#define MAX_WINDOW 4096  /* kernel sizes, strides, dilations, pads */

enum { V_UNSET, V_CONST, V_ACT, V_QACT };
/* SHUF, SHUFT: the 5-D middle of a channel shuffle, [N,g,C/g,H,W] and its
 * transpose [N,C/g,g,H,W]: no engine op until the Reshape back to NCHW. */
enum { LAY_NCHW, LAY_ROW, LAY_FLAT, LAY_SHUF, LAY_SHUFT };

typedef struct {
  const char *name;
  int kind;
  int alias;                /* ≥ 0: another value's name for the same data (resolved by root()) */
  int made_at;              /* the node that makes it (-1: initializer or graph input) */
  int rank;
  int64_t dims[MAXR];       /* the ONNX shape at the native input size */
  /* V_CONST */
  const fv_onnx_tensor *src; /* an initializer not yet decoded */
  fv_onnx_const c;
  int has_c;
  /* V_ACT */
  int t, lay;
  int64_t fc, fh, fw;       /* LAY_FLAT: C, H, W of the NHWC map it flattens */
  int qsrc;                 /* V_QACT: the activation QuantizeLinear read; LAY_SHUFT: the LAY_SHUF value */
  int alt_t, alt_lay;       /* a copy in another layout, made once when asked for */
  int shared;               /* other values alias it: never fold into its producer */
  int uses;                 /* readers (nodes, graph outputs) not yet lowered */
} val;

typedef struct {
  const fv_onnx_graph *g;
  fv_model *m;
  fv_error *err;
  char where[200];
  val *v;
  int nv;
  int *ht;                  /* open-addressing hash of names: value index + 1; 0 = empty */
  int hmask;
  int node;                 /* the node being lowered */
  const fv_onnx_node *nd;
} ox;

/* ==== errors ================================================================= */
static int fail(ox *X, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(ox *X, fv_status code, const char *fmt, ...) {
  char msg[220];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (X->where[0]) fv_error_set(X->err, code, "%s: %s", X->where, msg);
  else fv_error_set(X->err, code, "%s", msg);
  return 0;
}
#define BAD FV_ERR_BAD_MODEL
#define UNSUP FV_ERR_UNSUPPORTED
#define TRY(x) \
  do {         \
    if (!(x)) return 0; \
  } while (0)

static char *dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = (char *)malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static const char *shape_str(int rank, const int64_t *d, char *buf, size_t cap) {
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

static int lookup(const ox *X, const char *name) {
  for (uint32_t h = hash(name) & (uint32_t)X->hmask;; h = (h + 1) & (uint32_t)X->hmask) {
    int k = X->ht[h];
    if (!k) return -1;
    if (strcmp(X->v[k - 1].name, name) == 0) return k - 1;
  }
}

/* A new value of that name; 0 if the name exists already. */
static int add_value(ox *X, const char *name, int made_at) {
  if (lookup(X, name) >= 0) return fail(X, BAD, "tensor '%.80s' is written twice (as an initializer, input or output)", name);
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

static int root(const ox *X, int i) {
  while (X->v[i].alias >= 0) i = X->v[i].alias;
  return i;
}

/* Node input k: the value (resolved), or NULL when left out. */
static val *input(ox *X, int k) {
  if (k >= X->nd->n_in || !X->nd->in[k][0]) return NULL;
  return &X->v[root(X, lookup(X, X->nd->in[k]))];
}

static val *output(ox *X, int k) { return &X->v[lookup(X, X->nd->out[k])]; }

/* ==== constants ================================================================ */
static int decode(ox *X, val *v) {
  if (v->has_c) return 1;
  const fv_onnx_tensor *t = v->src;
  fv_onnx_const *c = &v->c;
  c->rank = t->rank;
  memcpy(c->dims, t->dims, sizeof c->dims);
  int is_int = fv_onnx_dtype_is_int(t->dtype);
  if (!is_int && !fv_dtype_is_float(fv_onnx_dtype(t->dtype)))
    return fail(X, UNSUP, "tensor '%.60s' has type %s", t->name, fv_onnx_dtype_name(t->dtype));
  TRY(fv_onnx_const_alloc(c, is_int, X->err));
  c->dtype = t->dtype;
  TRY(is_int ? fv_onnx_tensor_i64(t, c->i, X->err) : fv_onnx_tensor_f32(t, c->f, X->err));
  v->has_c = 1;
  return 1;
}

/* A constant input's values (decoded on first use). */
static fv_onnx_const *cst(ox *X, val *v) {
  if (!v || v->kind != V_CONST) return NULL;
  return decode(X, v) ? &v->c : NULL;
}

static int set_const(val *v, fv_onnx_const *c) {
  v->kind = V_CONST;
  v->c = *c;
  v->has_c = 1;
  v->rank = c->rank;
  memcpy(v->dims, c->dims, sizeof v->dims);
  memset(c, 0, sizeof *c);
  return 1;
}

/* A constant input as float32 values (integer constants converted). */
static const float *cst_f(ox *X, val *v, int64_t *count) {
  fv_onnx_const *c = cst(X, v);
  if (!c) return NULL;
  if (c->is_int) {
    float *f = (float *)malloc(sizeof(float) * (size_t)(c->count ? c->count : 1));
    if (!f) return fail(X, FV_ERR_NO_MEMORY, "out of memory"), NULL;
    for (int64_t k = 0; k < c->count; k++) f[k] = (float)c->i[k];
    free(c->i);
    c->i = NULL;
    c->f = f;
    c->is_int = 0;
  }
  *count = c->count;
  return c->f;
}

/* An optional float scalar input (Clip's min / max), or def. */
static int scalar_in(ox *X, int k, float def, float *out, const char *role) {
  val *v = input(X, k);
  int64_t n;
  *out = def;
  if (!v) return 1;
  if (v->kind != V_CONST) return fail(X, UNSUP, "the %s is not a constant", role);
  const float *f = cst_f(X, v, &n);
  TRY(f);
  if (n != 1) return fail(X, BAD, "the %s has %lld values, not 1", role, (long long)n);
  *out = f[0];
  return 1;
}

/* ==== attributes ================================================================= */
static int64_t attr_i(ox *X, const char *name, int64_t def) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  return a ? a->i : def;
}
static float attr_f(ox *X, const char *name, float def) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  return a ? a->f : def;
}
static const char *attr_s(ox *X, const char *name, const char *def) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  return a && a->s ? a->s : def;
}
/* An INTS attribute of exactly n values (absent: def[k]), each in [lo, hi]. */
static int attr_ints(ox *X, const char *name, int n, const int64_t *def, int64_t lo, int64_t hi, int64_t *out) {
  const fv_onnx_attr *a = fv_onnx_attr_find(X->nd, name);
  if (a && a->n_ints != n) return fail(X, BAD, "%s has %d values, expected %d", name, a->n_ints, n);
  for (int k = 0; k < n; k++) {
    out[k] = a ? a->ints[k] : def[k];
    if (out[k] < lo || out[k] > hi)
      return fail(X, out[k] < 0 ? BAD : UNSUP, "%s %lld is out of range (%lld..%lld)%s", name, (long long)out[k],
                  (long long)lo, (long long)hi, out[k] < 0 && strcmp(name, "pads") == 0 ? ": a negative pad" : "");
  }
  return 1;
}

/* ==== layouts ======================================================================= */
/* The engine's 4-D view of a value's dims. */
static void edims(int lay, int rank, const int64_t *d, int64_t e[4]) {
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
static int eax(int lay, int rank, int a) {
  static const int nchw[4] = {0, 3, 1, 2};
  if (lay == LAY_NCHW) return nchw[a];
  if (rank == 1) return 3;
  return a == 0 ? 0 : 4 - rank + a;
}

static int axis_in(ox *X, int64_t a, int rank, int *out) {
  if (a < -rank || a >= rank) return fail(X, BAD, "axis %lld is out of range for rank %d", (long long)a, rank);
  *out = (int)(a < 0 ? a + rank : a);
  return 1;
}

/* A new engine tensor for an activation of that layout and ONNX shape. */
static int act_tensor(ox *X, const char *name, int lay, int rank, const int64_t *dims, int *t) {
  int64_t e[4];
  int sd[FV_MAX_RANK], sr;
  if (lay != LAY_NCHW && rank > 4)
    return fail(X, UNSUP, "'%.60s' has rank %d; featviz runs activations of rank 4 at most", name, rank);
  if (rank < 1) return fail(X, UNSUP, "'%.60s' is a scalar activation", name);
  edims(lay, rank, dims, e);
  double n = (double)e[0] * (double)e[1] * (double)e[2] * (double)e[3];
  for (int k = 0; k < 4; k++)
    if (e[k] < 1) return fail(X, UNSUP, "'%.60s' has an empty dimension", name);
  if (n > (double)FV_MAX_ACT_ELEMS)
    return fail(X, FV_ERR_NO_MEMORY, "activation '%.60s' needs %.0f MB at the native size; the limit is %lld MB", name,
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

static void set_act(val *v, int t, int lay, int rank, const int64_t *dims) {
  v->kind = V_ACT;
  v->t = t;
  v->lay = lay;
  v->rank = rank;
  if (dims != v->dims) memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
}

/* An op writing tensor out; src_op: the file's op type. */
static fv_op *emit(ox *X, fv_op_kind kind, int n_in, int out, const char *src_op) {
  fv_op *op = fv_model_add_op(X->m, kind, n_in, X->err);
  if (!op) return NULL;
  op->output = out;
  snprintf(op->src_op, sizeof op->src_op, "%s", src_op);
  return op;
}

/* An activation's output value: a new engine tensor named after it, and an op writing it. */
static fv_op *emit_out(ox *X, fv_op_kind kind, int n_in, val *y, int lay, int rank, const int64_t *dims) {
  int t;
  if (!act_tensor(X, y->name, lay, rank, dims, &t)) return NULL;
  set_act(y, t, lay, rank, dims);
  return emit(X, kind, n_in, t, X->nd ? X->nd->op_type : "");
}

/* RESHAPE x → y: y's stored shape is the target; wild: an entry left to -1 (or -1 for none). */
static fv_op *emit_reshape(ox *X, int x, int y, int wild, const char *src_op) {
  fv_op *op = emit(X, FV_OP_RESHAPE, 1, y, src_op);
  if (!op) return NULL;
  const fv_tensor *T = &X->m->tensors[y];
  op->inputs[0] = x;
  op->new_rank = T->rank;
  for (int k = 0; k < T->rank; k++) op->new_shape[k] = k == wild ? -1 : T->dims[k];
  return op;
}

static fv_op *emit_transpose(ox *X, int x, int y, const int q[4], const char *src_op) {
  fv_op *op = emit(X, FV_OP_TRANSPOSE, 1, y, src_op);
  if (!op) return NULL;
  op->inputs[0] = x;
  memcpy(op->perm, q, sizeof op->perm);
  return op;
}

/* The value's engine tensor in layout `want` (NCHW for rank 4, ROW), made once. */
static int in_layout(ox *X, val *v, int want, int *t) {
  char name[FV_NAME_MAX];
  if (v->lay == LAY_SHUF || v->lay == LAY_SHUFT)
    return fail(X, UNSUP, "'%.60s' is a 5-D tensor (only a channel shuffle's may be)", v->name);
  if (v->lay == want) return *t = v->t, 1;
  if (v->alt_t >= 0 && v->alt_lay == want) return *t = v->alt_t, 1;
  if (want == LAY_NCHW && v->rank != 4)
    return fail(X, UNSUP, "'%.60s' has shape of rank %d where a 4-D NCHW map is needed", v->name, v->rank);
  int from = v->t;
  if (v->lay == LAY_FLAT) { /* back to the NHWC map, transposed to ONNX's [N,C,H,W], flattened again */
    int64_t d4[4] = {v->dims[0], v->fc, v->fh, v->fw};
    int map, mid;
    static const int q[4] = {0, 3, 1, 2};
    snprintf(name, sizeof name, "%.200s:nhwc", v->name);
    TRY(act_tensor(X, name, LAY_NCHW, 4, d4, &map));
    TRY(emit_reshape(X, v->t, map, -1, "(layout)"));
    snprintf(name, sizeof name, "%.200s:nchw", v->name);
    TRY(act_tensor(X, name, LAY_ROW, 4, d4, &mid));
    TRY(emit_transpose(X, map, mid, q, "(layout)"));
    snprintf(name, sizeof name, "%.200s:row", v->name);
    TRY(act_tensor(X, name, LAY_ROW, 2, v->dims, t));
    TRY(emit_reshape(X, mid, *t, -1, "(layout)"));
  } else {
    /* NCHW ↔ ROW of a rank-4 value: a relabel when H·W or C is 1, else a transpose */
    int relabel = v->dims[1] == 1 || v->dims[2] * v->dims[3] == 1;
    snprintf(name, sizeof name, "%.200s:%s", v->name, want == LAY_NCHW ? "nhwc" : "nchw");
    TRY(act_tensor(X, name, want, v->rank, v->dims, t));
    if (relabel) {
      TRY(emit_reshape(X, from, *t, -1, "(layout)"));
    } else {
      static const int to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
      TRY(emit_transpose(X, from, *t, want == LAY_NCHW ? to_nhwc : to_nchw, "(layout)"));
    }
  }
  v->alt_t = *t;
  v->alt_lay = want;
  return 1;
}

/* An activation input, in any layout but FLAT (materialized as ROW). */
static val *act_in(ox *X, int k, const char *role) {
  val *v = input(X, k);
  if (!v) return fail(X, BAD, "the %s input is missing", role), NULL;
  if (v->kind == V_QACT)
    return fail(X, UNSUP, "the %s input is a quantized activation (QuantizeLinear without a DequantizeLinear)", role), NULL;
  if (v->kind != V_ACT) return fail(X, UNSUP, "the %s input '%.60s' is a constant", role, v->name), NULL;
  return v;
}

/* The tensor and layout an op on v should read: FLAT becomes ROW. */
static int plain(ox *X, val *v, int *t, int *lay) {
  if (v->lay == LAY_SHUF || v->lay == LAY_SHUFT)
    return fail(X, UNSUP, "'%.60s' is a 5-D tensor (only a channel shuffle's may be)", v->name);
  if (v->lay != LAY_FLAT) return *t = v->t, *lay = v->lay, 1;
  *lay = LAY_ROW;
  return in_layout(X, v, LAY_ROW, t);
}

/* A constant laid out like an activation of layout lay and rank ra, as a
 * rank-4 NHWC engine constant (broadcasting right-aligned, as ONNX does). */
static int const_like(ox *X, val *c, int lay, int ra, int *t) {
  fv_onnx_const *k = cst(X, c);
  int64_t n;
  TRY(k);
  if (c->rank > ra)
    return fail(X, UNSUP, "a constant of rank %d broadcast against an activation of rank %d", c->rank, ra);
  int64_t d[MAXR], e[4];
  for (int a = 0; a < ra; a++) d[a] = 1;
  for (int a = 0; a < c->rank; a++) d[ra - c->rank + a] = c->dims[a];
  if (lay == LAY_NCHW && ra != 4) lay = LAY_ROW;
  edims(lay, ra, d, e);
  const float *f = cst_f(X, c, &n);
  TRY(f);
  float *out = (float *)malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!out) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
  /* walk the constant in ONNX order; write each value where its engine axes put it */
  int64_t es[4] = {e[1] * e[2] * e[3], e[2] * e[3], e[3], 1}, idx[MAXR] = {0};
  for (int64_t q = 0; q < n; q++) {
    int64_t off = 0;
    for (int a = 0; a < ra; a++) off += idx[a] * es[eax(lay, ra, a)];
    out[off] = f[q];
    for (int a = ra - 1; a >= 0 && ++idx[a] == d[a]; a--) idx[a] = 0;
  }
  int sd[4] = {(int)e[0], (int)e[1], (int)e[2], (int)e[3]};
  *t = fv_model_add_tensor(X->m, c->name, 4, sd, out, X->err);
  return *t >= 0;
}

/* ==== elementwise ops ================================================================== */
static int lower_unary(ox *X, fv_act act, float a, float b) {
  val *x = act_in(X, 0, "first");
  TRY(x);
  val *y = output(X, 0);
  fv_op *op;
  if (x->lay == LAY_FLAT) { /* elementwise: the flattened order may stay */
    TRY(op = emit_out(X, FV_OP_ACT, 1, y, LAY_FLAT, x->rank, x->dims));
    y->fc = x->fc, y->fh = x->fh, y->fw = x->fw;
  } else {
    TRY(op = emit_out(X, FV_OP_ACT, 1, y, x->lay, x->rank, x->dims));
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
static int lower_leaky(ox *X) { return lower_unary(X, FV_ACT_LEAKY_RELU, attr_f(X, "alpha", 0.01f), 0); }
static int lower_hardsigmoid(ox *X) {
  return lower_unary(X, FV_ACT_HARD_SIGMOID, attr_f(X, "alpha", 0.2f), attr_f(X, "beta", 0.5f));
}

static int lower_clip(ox *X) {
  float lo = attr_f(X, "min", -INFINITY), hi = attr_f(X, "max", INFINITY);
  TRY(scalar_in(X, 1, lo, &lo, "min"));
  TRY(scalar_in(X, 2, hi, &hi, "max"));
  if (!(lo <= hi) || isnan(lo) || isnan(hi)) return fail(X, BAD, "min %g is above max %g", (double)lo, (double)hi);
  if (lo == 0 && hi == 6) return lower_unary(X, FV_ACT_RELU6, 0, 0);
  if (lo == 0 && hi == INFINITY) return lower_unary(X, FV_ACT_RELU, 0, 0);
  return lower_unary(X, FV_ACT_CLIP, lo, hi);
}

/* MatMul / Gemm without a bias, followed by Add of a [N_out] constant: the bias. */
static int fold_bias(ox *X, val *x, val *c, val *y) {
  fv_model *m = X->m;
  if (x->uses != 1 || x->shared || m->n_ops == 0) return 0;
  fv_op *op = &m->ops[m->n_ops - 1];
  if (op->kind != FV_OP_FULLY_CONNECTED || op->output != x->t || op->inputs[2] >= 0) return 0;
  int oc = m->tensors[op->inputs[1]].dims[0];
  int64_t n;
  const float *f = cst_f(X, c, &n);
  if (!f || n != oc || c->dims[c->rank - 1] != oc) return 0;
  float *b = (float *)malloc(sizeof(float) * (size_t)oc);
  if (!b) return 0;
  memcpy(b, f, sizeof(float) * (size_t)oc);
  int bt = fv_model_add_tensor(m, c->name, 1, &oc, b, X->err);
  if (bt < 0) return 0;
  op = &m->ops[m->n_ops - 1];
  op->inputs[2] = bt;
  fv_tensor *T = &m->tensors[x->t];
  free(T->name);
  T->name = dup(y->name);
  snprintf(op->src_op, sizeof op->src_op, "%s+Add", op->src_op[0] == 'G' ? "Gemm" : "MatMul");
  set_act(y, x->t, x->lay, x->rank, x->dims);
  return T->name != NULL;
}

static int lower_binary_kind(ox *X, fv_op_kind kind) {
  val *a = input(X, 0), *b = input(X, 1), *y = output(X, 0);
  if (!a || !b) return fail(X, BAD, "an input is missing");
  val *act = a->kind == V_ACT ? a : b->kind == V_ACT ? b : NULL;
  if (!act || a->kind == V_QACT || b->kind == V_QACT)
    return fail(X, UNSUP, "an input is a quantized activation or neither input is an activation");
  int64_t yd[MAXR];
  int yr;
  if (!fv_onnx_broadcast(a->rank, a->dims, b->rank, b->dims, &yr, yd)) {
    char s1[64], s2[64];
    return fail(X, BAD, "shapes %s and %s do not broadcast", shape_str(a->rank, a->dims, s1, sizeof s1),
                shape_str(b->rank, b->dims, s2, sizeof s2));
  }
  if (kind == FV_OP_ADD && (a->kind == V_CONST || b->kind == V_CONST) && fold_bias(X, act, act == a ? b : a, y))
    return 1;
  int t[2], lay;
  if (a->kind == V_ACT && b->kind == V_ACT) {
    if (a->rank != b->rank)
      return fail(X, UNSUP, "activations of ranks %d and %d broadcast against each other", a->rank, b->rank);
    int la, lb;
    TRY(plain(X, a, &t[0], &la));
    TRY(plain(X, b, &t[1], &lb));
    lay = la;
    if (la != lb) { /* both rank 4: meet in NCHW */
      lay = LAY_NCHW;
      TRY(in_layout(X, la == LAY_NCHW ? b : a, LAY_NCHW, &t[la == LAY_NCHW ? 1 : 0]));
    }
  } else {
    int k = act == a ? 0 : 1;
    TRY(plain(X, act, &t[k], &lay));
    if (yr != act->rank)
      return fail(X, UNSUP, "the constant makes the result larger than the activation (rank %d)", yr);
    for (int q = 0; q < yr; q++)
      if (yd[q] != act->dims[q]) return fail(X, UNSUP, "the constant makes the result larger than the activation");
    TRY(const_like(X, k ? a : b, lay, act->rank, &t[1 - k]));
  }
  fv_op *op = emit_out(X, kind, 2, y, lay, yr, yd);
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
  if (X->nd->n_in != 2) return fail(X, UNSUP, "Max of %d inputs (2 supported)", X->nd->n_in);
  return lower_binary_kind(X, FV_OP_MAXIMUM);
}
static int lower_min(ox *X) {
  if (X->nd->n_in != 2) return fail(X, UNSUP, "Min of %d inputs (2 supported)", X->nd->n_in);
  return lower_binary_kind(X, FV_OP_MINIMUM);
}

static int lower_prelu(ox *X) {
  val *x = act_in(X, 0, "first"), *s = input(X, 1);
  TRY(x);
  if (!s || s->kind != V_CONST) return fail(X, UNSUP, "the slope is not a constant");
  int t, lay, st;
  TRY(plain(X, x, &t, &lay));
  TRY(const_like(X, s, lay, x->rank, &st));
  fv_op *op = emit_out(X, FV_OP_PRELU, 2, output(X, 0), lay, x->rank, x->dims);
  TRY(op);
  op->inputs[0] = t;
  op->inputs[1] = st;
  return 1;
}

/* ==== convolutions and pools ================================================================ */
/* Spatial attributes of Conv / pools: kernel, strides, dilations, pads (t, l, b, r), auto_pad. */
typedef struct {
  int64_t k[2], s[2], d[2], p[4];
  fv_padding padding;
} window;

static int read_window(ox *X, window *w, const int64_t *kernel, int dilations_ok) {
  static const int64_t one[2] = {1, 1}, zero[4] = {0, 0, 0, 0};
  const fv_onnx_attr *ks = fv_onnx_attr_find(X->nd, "kernel_shape");
  if (ks && ks->n_ints != 2) return fail(X, UNSUP, "a kernel of rank %d (2-D only)", ks->n_ints);
  TRY(attr_ints(X, "kernel_shape", 2, kernel, 1, MAX_WINDOW, w->k));
  if (ks && kernel && (w->k[0] != kernel[0] || w->k[1] != kernel[1]))
    return fail(X, BAD, "kernel_shape %lldx%lld differs from the weights' %lldx%lld", (long long)w->k[0],
                (long long)w->k[1], (long long)kernel[0], (long long)kernel[1]);
  TRY(attr_ints(X, "strides", 2, one, 1, MAX_WINDOW, w->s));
  TRY(attr_ints(X, "dilations", 2, one, 1, MAX_WINDOW, w->d));
  if (!dilations_ok && (w->d[0] != 1 || w->d[1] != 1))
    return fail(X, UNSUP, "dilations %lldx%lld are not supported (dilated pools)", (long long)w->d[0], (long long)w->d[1]);
  TRY(attr_ints(X, "pads", 4, zero, 0, MAX_WINDOW, w->p));
  const char *ap = attr_s(X, "auto_pad", "NOTSET");
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
    return fail(X, UNSUP, "auto_pad %s is not supported (with strides %lldx%lld, kernel %lldx%lld)", ap,
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
  val *x = act_in(X, 0, "image"), *wv = input(X, 1), *bv = input(X, 2);
  TRY(x);
  if (!wv || wv->kind != V_CONST) return fail(X, UNSUP, "the weights are not a constant");
  if (bv && bv->kind != V_CONST) return fail(X, UNSUP, "the bias is not a constant");
  if (wv->rank != 4) return fail(X, UNSUP, "weights of rank %d (2-D convolutions only)", wv->rank);
  if (x->rank != 4) return fail(X, BAD, "an input of rank %d", x->rank);
  int xt;
  TRY(in_layout(X, x, LAY_NCHW, &xt));
  const int64_t oc = wv->dims[0], icg = wv->dims[1], kh = wv->dims[2], kw = wv->dims[3], ic = x->dims[1];
  int64_t g = attr_i(X, "group", 1);
  if (g < 1 || g > ic || ic % g || oc % g || icg * g != ic)
    return fail(X, BAD, "weights [%lld,%lld,%lld,%lld] and group %lld do not fit %lld input channels", (long long)oc,
                (long long)icg, (long long)kh, (long long)kw, (long long)g, (long long)ic);
  window w;
  const int64_t kernel[2] = {kh, kw};
  TRY(read_window(X, &w, kernel, 1));
  int64_t yd[4] = {x->dims[0], oc, out_size(&w, 0, x->dims[2], 0), out_size(&w, 1, x->dims[3], 0)};
  if (yd[2] < 1 || yd[3] < 1)
    return fail(X, BAD, "a %lldx%lld input is smaller than the %lldx%lld window", (long long)x->dims[2],
                (long long)x->dims[3], (long long)kh, (long long)kw);
  int64_t n;
  const float *W = cst_f(X, wv, &n);
  TRY(W);
  const int depthwise = g == ic && icg == 1 && g > 1;
  float *E = (float *)malloc(sizeof(float) * (size_t)n);
  if (!E) return fail(X, FV_ERR_NO_MEMORY, "out of memory for the weights");
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
    const float *B = cst_f(X, bv, &n);
    TRY(B);
    if (n != oc) return fail(X, BAD, "a bias of %lld values for %lld output channels", (long long)n, (long long)oc);
    float *b = (float *)malloc(sizeof(float) * (size_t)oc);
    if (!b) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
    memcpy(b, B, sizeof(float) * (size_t)oc);
    int bd = (int)oc;
    TRY((bt = fv_model_add_tensor(X->m, bv->name, 1, &bd, b, X->err)) >= 0);
  }
  fv_op *op = emit_out(X, depthwise ? FV_OP_DWCONV2D : FV_OP_CONV2D, 3, output(X, 0), LAY_NCHW, 4, yd);
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
  val *x = act_in(X, 0, "image");
  TRY(x);
  if (x->rank != 4) return fail(X, UNSUP, "a pool over a rank-%d input (2-D pools only)", x->rank);
  if (X->nd->n_out > 1 && X->nd->out[1][0]) return fail(X, UNSUP, "the Indices output is not supported");
  int xt;
  TRY(in_layout(X, x, LAY_NCHW, &xt));
  window w;
  int ceil_mode = 0;
  if (global) {
    memset(&w, 0, sizeof w);
    w.k[0] = x->dims[2], w.k[1] = x->dims[3];
    w.s[0] = w.s[1] = w.d[0] = w.d[1] = 1;
    w.padding = FV_PADDING_VALID;
  } else {
    if (!fv_onnx_attr_find(X->nd, "kernel_shape")) return fail(X, BAD, "no kernel_shape");
    TRY(read_window(X, &w, NULL, 0));
    ceil_mode = attr_i(X, "ceil_mode", 0) != 0;
    if (attr_i(X, "storage_order", 0) != 0) return fail(X, UNSUP, "storage_order 1 is not supported");
    if (ceil_mode && w.padding == FV_PADDING_VALID) w.padding = FV_PADDING_EXPLICIT; /* zero pads, rounded up */
  }
  int64_t yd[4] = {x->dims[0], x->dims[1], out_size(&w, 0, x->dims[2], ceil_mode), out_size(&w, 1, x->dims[3], ceil_mode)};
  if (yd[2] < 1 || yd[3] < 1) return fail(X, BAD, "the input is smaller than the window");
  fv_op *op = emit_out(X, kind, 1, output(X, 0), LAY_NCHW, 4, yd);
  TRY(op);
  op->inputs[0] = xt;
  put_window(op, &w);
  op->filter_h = (int)w.k[0], op->filter_w = (int)w.k[1];
  op->global = global;
  op->ceil_mode = ceil_mode;
  op->count_include_pad = kind == FV_OP_AVGPOOL2D && attr_i(X, "count_include_pad", 0) != 0;
  return 1;
}

static int lower_maxpool(ox *X) { return lower_pool_kind(X, FV_OP_MAXPOOL2D, 0); }
static int lower_avgpool(ox *X) { return lower_pool_kind(X, FV_OP_AVGPOOL2D, 0); }
static int lower_gap(ox *X) { return lower_pool_kind(X, FV_OP_AVGPOOL2D, 1); }
static int lower_gmp(ox *X) { return lower_pool_kind(X, FV_OP_MAXPOOL2D, 1); }

static int lower_lrn(ox *X) {
  val *x = act_in(X, 0, "image");
  TRY(x);
  int xt;
  TRY(in_layout(X, x, LAY_NCHW, &xt));
  int64_t size = attr_i(X, "size", 0);
  if (size < 1 || size > MAX_WINDOW) return fail(X, BAD, "size %lld", (long long)size);
  fv_op *op = emit_out(X, FV_OP_LRN, 1, output(X, 0), LAY_NCHW, 4, x->dims);
  TRY(op);
  op->inputs[0] = xt;
  op->lrn_lo = (int)((size - 1) / 2);
  op->lrn_hi = (int)(size - 1 - (size - 1) / 2);
  op->lrn_alpha = attr_f(X, "alpha", 1e-4f) / (float)size;
  op->lrn_beta = attr_f(X, "beta", 0.75f);
  op->lrn_bias = attr_f(X, "bias", 1.0f);
  if (!isfinite(op->lrn_alpha) || !isfinite(op->lrn_beta) || !isfinite(op->lrn_bias) || op->lrn_bias <= 0)
    return fail(X, BAD, "alpha, beta, bias %g %g %g", (double)op->lrn_alpha, (double)op->lrn_beta, (double)op->lrn_bias);
  return 1;
}

/* ==== BatchNormalization ============================================================================ */
static int lower_batchnorm(ox *X) {
  val *x = act_in(X, 0, "image");
  TRY(x);
  if (attr_i(X, "training_mode", 0)) return fail(X, UNSUP, "training_mode 1 is not supported");
  for (int k = 1; k < X->nd->n_out; k++)
    if (X->nd->out[k][0]) return fail(X, UNSUP, "the training outputs (running mean / variance) are not supported");
  int64_t c = x->rank >= 2 ? x->dims[1] : 0, n[4];
  const float *p[4];
  for (int k = 0; k < 4; k++) {
    val *v = input(X, k + 1);
    if (!v || v->kind != V_CONST) return fail(X, UNSUP, "scale, bias, mean and variance must be constants");
    TRY(p[k] = cst_f(X, v, &n[k]));
    if (n[k] != c) return fail(X, BAD, "%lld values for %lld channels", (long long)n[k], (long long)c);
  }
  double eps = attr_f(X, "epsilon", 1e-5f);
  double *s = (double *)malloc(sizeof(double) * 2 * (size_t)c);
  if (!s) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
  for (int64_t q = 0; q < c; q++) { /* y = s·x + (beta − mean·s), s = gamma / sqrt(var + eps) */
    if (!(p[3][q] + eps > 0)) {
      free(s);
      return fail(X, BAD, "variance %g of channel %lld is negative", (double)p[3][q], (long long)q);
    }
    s[q] = p[0][q] / sqrt(p[3][q] + eps);
    s[c + q] = p[1][q] - p[2][q] * s[q];
  }
  fv_model *m = X->m;
  val *y = output(X, 0);
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
      return fail(X, FV_ERR_NO_MEMORY, "out of memory");
    }
    const float *old = op->inputs[2] >= 0 ? m->tensors[op->inputs[2]].data : NULL;
    for (int64_t q = 0; q < c; q++) b[q] = (float)((old ? old[q] : 0) * s[q] + s[c + q]);
    free(s);
    int cd = (int)c, bt = fv_model_add_tensor(m, input(X, 2)->name, 1, &cd, b, X->err);
    TRY(bt >= 0);
    op = &m->ops[m->n_ops - 1];
    op->inputs[2] = bt;
    snprintf(op->src_op, sizeof op->src_op, "Conv+BatchNormalization");
    fv_tensor *T = &m->tensors[x->t];
    free(T->name);
    if (!(T->name = dup(y->name))) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
    set_act(y, x->t, x->lay, x->rank, x->dims);
    return 1;
  }
  /* else a per-channel scale and shift: a 1×1 depthwise convolution */
  int xt, lay;
  int ok = plain(X, x, &xt, &lay);
  if (ok && lay == LAY_ROW && x->rank == 4) ok = in_layout(X, x, LAY_NCHW, &xt), lay = LAY_NCHW;
  if (ok && lay == LAY_ROW && x->rank != 2) ok = fail(X, UNSUP, "BatchNormalization of a rank-%d tensor", x->rank);
  float *w = ok ? (float *)malloc(sizeof(float) * 2 * (size_t)c) : NULL;
  if (ok && !w) ok = fail(X, FV_ERR_NO_MEMORY, "out of memory");
  if (!ok) {
    free(s);
    return 0;
  }
  for (int64_t q = 0; q < 2 * c; q++) w[q] = (float)s[q];
  free(s);
  float *b = (float *)malloc(sizeof(float) * (size_t)c);
  if (!b) {
    free(w);
    return fail(X, FV_ERR_NO_MEMORY, "out of memory");
  }
  memcpy(b, w + c, sizeof(float) * (size_t)c);
  int wd[4] = {1, 1, 1, (int)c}, cd = (int)c;
  int wt = fv_model_add_tensor(m, input(X, 1)->name, 4, wd, w, X->err);
  TRY(wt >= 0);
  int bt = fv_model_add_tensor(m, input(X, 2)->name, 1, &cd, b, X->err);
  TRY(bt >= 0);
  op = emit_out(X, FV_OP_DWCONV2D, 3, y, lay, x->rank, x->dims);
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
    if (!P) return free(E), fail(X, FV_ERR_NO_MEMORY, "out of memory");
    const int64_t C = x->fc, H = x->fh, W = x->fw;
    for (int64_t o = 0; o < oc; o++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          for (int64_t c = 0; c < C; c++) P[o * K + (h * W + w) * C + c] = E[o * K + (c * H + h) * W + w];
    free(E);
    E = P;
  } else if (x->lay != LAY_ROW || x->rank != 2) {
    free(E);
    return fail(X, UNSUP, "an input of rank %d (a Flatten or Reshape to [N, K] first)", x->rank);
  }
  int wd[2] = {(int)oc, (int)K}, wt = fv_model_add_tensor(X->m, input(X, 1)->name, 2, wd, E, X->err), bt = -1;
  TRY(wt >= 0);
  if (bias) {
    float *b = (float *)malloc(sizeof(float) * (size_t)oc);
    if (!b) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
    for (int64_t o = 0; o < oc; o++) b[o] = bias[nb == 1 ? 0 : o];
    int bd = (int)oc;
    TRY((bt = fv_model_add_tensor(X->m, input(X, 2) ? input(X, 2)->name : "bias", 1, &bd, b, X->err)) >= 0);
  }
  int64_t yd[2] = {x->dims[0], oc};
  fv_op *op = emit_out(X, FV_OP_FULLY_CONNECTED, 3, output(X, 0), LAY_ROW, 2, yd);
  TRY(op);
  op->inputs[0] = xt, op->inputs[1] = wt, op->inputs[2] = bt;
  return 1;
}

/* The activation operand of Gemm / MatMul: FLAT kept (the weights adapt), else plain rank 2. */
static val *fc_input(ox *X) {
  val *x = act_in(X, 0, "first");
  if (!x) return NULL;
  if (x->rank != 2) return fail(X, UNSUP, "an input of rank %d (featviz runs [N, K] inputs)", x->rank), NULL;
  return x;
}

static int lower_gemm(ox *X) {
  val *x = fc_input(X), *bv = input(X, 1), *cv = input(X, 2);
  TRY(x);
  if (!bv || bv->kind != V_CONST || bv->rank != 2) return fail(X, UNSUP, "B must be a rank-2 constant");
  if (cv && cv->kind != V_CONST) return fail(X, UNSUP, "C must be a constant");
  if (attr_i(X, "transA", 0)) return fail(X, UNSUP, "transA 1 is not supported");
  const int tb = attr_i(X, "transB", 0) != 0;
  const float alpha = attr_f(X, "alpha", 1), beta = attr_f(X, "beta", 1);
  const int64_t K = x->dims[1], oc = tb ? bv->dims[0] : bv->dims[1];
  if ((tb ? bv->dims[1] : bv->dims[0]) != K) return fail(X, BAD, "B does not fit an input of %lld columns", (long long)K);
  int64_t n, nc = 0;
  const float *B = cst_f(X, bv, &n), *C = NULL;
  TRY(B);
  if (cv) {
    TRY(C = cst_f(X, cv, &nc));
    if (nc != 1 && nc != oc) return fail(X, UNSUP, "C of %lld values for %lld outputs", (long long)nc, (long long)oc);
  }
  float *E = (float *)malloc(sizeof(float) * (size_t)(oc * K));
  float *bias = C ? (float *)malloc(sizeof(float) * (size_t)nc) : NULL;
  if (!E || (C && !bias)) return free(E), free(bias), fail(X, FV_ERR_NO_MEMORY, "out of memory");
  for (int64_t o = 0; o < oc; o++)
    for (int64_t k = 0; k < K; k++) E[o * K + k] = alpha * (tb ? B[o * K + k] : B[k * oc + o]);
  for (int64_t q = 0; q < nc; q++) bias[q] = beta * C[q];
  int ok = emit_fc(X, x, E, oc, bias, nc);
  free(bias);
  return ok;
}

static int lower_matmul(ox *X) {
  val *x = fc_input(X), *bv = input(X, 1);
  TRY(x);
  if (!bv || bv->kind != V_CONST || bv->rank != 2) return fail(X, UNSUP, "MatMul of two activations or of a rank-%d constant", bv ? bv->rank : 0);
  const int64_t K = x->dims[1], oc = bv->dims[1];
  if (bv->dims[0] != K) return fail(X, BAD, "B does not fit an input of %lld columns", (long long)K);
  int64_t n;
  const float *B = cst_f(X, bv, &n);
  TRY(B);
  float *E = (float *)malloc(sizeof(float) * (size_t)(oc * K));
  if (!E) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
  for (int64_t o = 0; o < oc; o++)
    for (int64_t k = 0; k < K; k++) E[o * K + k] = B[k * oc + o];
  return emit_fc(X, x, E, oc, NULL, 0);
}

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
  TRY(act_tensor(X, r5->name, LAY_ROW, 4, ad, &a));
  TRY(emit_reshape(X, t5->t, a, 1, "Reshape"));
  TRY(act_tensor(X, t5->name, LAY_ROW, 4, bd, &b));
  static const int q[4] = {0, 1, 3, 2};
  TRY(emit_transpose(X, a, b, q, "Transpose"));
  TRY(act_tensor(X, y->name, LAY_NCHW, 4, yd, &yt));
  fv_op *op = emit(X, FV_OP_RESHAPE, 2, yt, "Reshape");
  TRY(op);
  op->inputs[0] = b;
  op->inputs[1] = t5->t;
  op->new_rank = 0; /* the dims of inputs[1] at the run size (model.h) */
  set_act(y, yt, LAY_NCHW, 4, yd);
  return 1;
}

/* x relabelled as ONNX shape (rank, d): a RESHAPE, an alias or a FLAT view. */
static int reshape_to(ox *X, val *x, int rank, const int64_t *d) {
  val *y = output(X, 0);
  char s1[64], s2[64];
  if (rank == x->rank && memcmp(d, x->dims, sizeof(int64_t) * (size_t)rank) == 0) { /* no change */
    y->alias = root(X, (int)(x - X->v));
    x->uses += y->uses;
    x->shared = 1;
    return 1;
  }
  if (x->lay == LAY_NCHW && rank == 2 && d[0] == x->dims[0] && x->dims[2] * x->dims[3] > 1) {
    /* a flatten of a spatial map: FLAT, NHWC order kept */
    fv_op *op = emit_out(X, FV_OP_RESHAPE, 1, y, LAY_FLAT, 2, d);
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
    return fail(X, UNSUP, "a reshape of %s to %s (the end of a channel shuffle is [N,C,H,W])",
                shape_str(x->rank, x->dims, s1, sizeof s1), shape_str(rank, d, s2, sizeof s2));
  }
  if (x->lay == LAY_NCHW && rank == 5 && d[0] == x->dims[0] && d[1] > 1 && d[1] * d[2] == x->dims[1] &&
      d[3] == x->dims[2] && d[4] == x->dims[3]) { /* the start of a channel shuffle */
    set_act(y, x->t, LAY_SHUF, 5, d);
    return 1;
  }
  if (rank > 4) {
    return fail(X, UNSUP, "a reshape of %s to %s (rank 5 or more; channel shuffles are recognized)",
                shape_str(x->rank, x->dims, s1, sizeof s1), shape_str(rank, d, s2, sizeof s2));
  }
  int xt, lay;
  TRY(plain(X, x, &xt, &lay));
  /* NCHW [N,C,1,1] ↔ [N,C] and the like are the same memory in both layouts */
  if (lay == LAY_NCHW && !(x->dims[2] * x->dims[3] == 1 || x->dims[1] == 1)) TRY(in_layout(X, x, LAY_ROW, &xt));
  int t;
  TRY(act_tensor(X, y->name, LAY_ROW, rank, d, &t));
  TRY(emit_reshape(X, xt, t, -1, X->nd->op_type));
  set_act(y, t, LAY_ROW, rank, d);
  return 1;
}

static int lower_reshape(ox *X) {
  val *x = act_in(X, 0, "data"), *sv = input(X, 1);
  TRY(x);
  fv_onnx_const *s = cst(X, sv);
  if (!s) return fail(X, UNSUP, "the shape is not a constant (nor computed from constants and shapes)");
  int64_t sh[MAXR], d[MAXR];
  if (s->count > MAXR) return fail(X, UNSUP, "a shape of rank %lld", (long long)s->count);
  for (int k = 0; k < s->count; k++) sh[k] = fv_onnx_const_int(s, k);
  int64_t count = 1;
  for (int k = 0; k < x->rank; k++) count *= x->dims[k];
  TRY(fv_onnx_reshape_dims(sh, (int)s->count, (int)attr_i(X, "allowzero", 0), x->rank, x->dims, count, d, X->err));
  return reshape_to(X, x, (int)s->count, d);
}

static int lower_flatten(ox *X) {
  val *x = act_in(X, 0, "input");
  TRY(x);
  int a;
  TRY(axis_in(X, attr_i(X, "axis", 1), x->rank + 1, &a));
  int64_t d[2] = {1, 1};
  for (int k = 0; k < x->rank; k++) d[k >= a] *= x->dims[k];
  return reshape_to(X, x, 2, d);
}

/* Squeeze / Unsqueeze of an activation: the axes from the attribute or input 1. */
static int lower_squeeze_kind(ox *X, int unsqueeze) {
  val *x = act_in(X, 0, "data");
  TRY(x);
  int64_t ax[MAXR], d[MAXR];
  int n = -1, r;
  const fv_onnx_attr *aa = fv_onnx_attr_find(X->nd, "axes");
  if (aa) {
    if (aa->n_ints > MAXR) return fail(X, BAD, "%d axes", aa->n_ints);
    n = aa->n_ints;
    memcpy(ax, aa->ints, sizeof(int64_t) * (size_t)n);
  } else if (input(X, 1)) {
    fv_onnx_const *c = cst(X, input(X, 1));
    if (!c) return fail(X, UNSUP, "the axes are not a constant");
    if (c->count > MAXR) return fail(X, BAD, "%lld axes", (long long)c->count);
    n = (int)c->count;
    for (int k = 0; k < n; k++) ax[k] = fv_onnx_const_int(c, k);
  }
  unsigned mask = 0;
  r = unsqueeze ? x->rank + (n > 0 ? n : 0) : x->rank;
  if (unsqueeze && n < 0) return fail(X, BAD, "no axes");
  if (r > MAXR) return fail(X, UNSUP, "rank %d", r);
  for (int k = 0; k < n; k++) {
    int a;
    TRY(axis_in(X, ax[k], r, &a));
    if (!unsqueeze && x->dims[a] != 1) return fail(X, BAD, "axis %d has size %lld, not 1", a, (long long)x->dims[a]);
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
  val *x = act_in(X, 0, "data");
  TRY(x);
  const int r = x->rank;
  const fv_onnx_attr *pa = fv_onnx_attr_find(X->nd, "perm");
  int p[MAXR];
  unsigned seen = 0;
  if (pa && pa->n_ints != r) return fail(X, BAD, "perm has %d entries for rank %d", pa->n_ints, r);
  for (int k = 0; k < r; k++) {
    int64_t v = pa ? pa->ints[k] : r - 1 - k;
    if (v < 0 || v >= r || (seen & (1u << v))) return fail(X, BAD, "perm is not a permutation");
    seen |= 1u << v;
    p[k] = (int)v;
  }
  int64_t d[MAXR];
  for (int k = 0; k < r; k++) d[k] = x->dims[p[k]];
  val *y = output(X, 0);
  if (x->lay == LAY_SHUF) { /* the middle of a channel shuffle */
    static const int shuffle[5] = {0, 2, 1, 3, 4};
    if (memcmp(p, shuffle, sizeof shuffle) != 0) return fail(X, UNSUP, "a 5-D transpose other than a channel shuffle's");
    set_act(y, x->t, LAY_SHUFT, 5, d);
    y->qsrc = (int)(x - X->v);
    return 1;
  }
  if (r > 4) return fail(X, UNSUP, "a transpose of rank %d (4 at most)", r);
  int xt, lay;
  TRY(plain(X, x, &xt, &lay));
  /* engine perm q for an output layout: q[eax(out, j)] = eax(in, p[j]), the rest in order */
  int best = -1, q[2][4];
  for (int cand = 0; cand < 2; cand++) {
    int out = cand == 0 ? LAY_NCHW : LAY_ROW, used = 0, *qq = q[cand];
    if (out == LAY_NCHW && r != 4) continue;
    for (int k = 0; k < 4; k++) qq[k] = -1;
    for (int j = 0; j < r; j++) {
      qq[eax(out, r, j)] = eax(lay, r, p[j]);
      used |= 1 << eax(lay, r, p[j]);
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
    TRY(act_tensor(X, y->name, out, r, d, &t));
    TRY(emit_reshape(X, xt, t, -1, "Transpose"));
    set_act(y, t, out, r, d);
    return 1;
  }
  int t;
  TRY(act_tensor(X, y->name, out, r, d, &t));
  TRY(emit_transpose(X, xt, t, q[best], "Transpose"));
  set_act(y, t, out, r, d);
  return 1;
}

/* ==== Concat, Split, Slice, Pad ======================================================================= */
static int lower_concat(ox *X) {
  const fv_onnx_node *nd = X->nd;
  val *first = NULL;
  int rank = -1, any4nchw = 0;
  for (int k = 0; k < nd->n_in; k++) {
    val *v = input(X, k);
    if (!v) return fail(X, BAD, "input %d is missing", k);
    if (v->kind == V_QACT) return fail(X, UNSUP, "input %d is a quantized activation", k);
    if (rank >= 0 && v->rank != rank) return fail(X, BAD, "input %d has rank %d, input 0 %d", k, v->rank, rank);
    rank = v->rank;
    if (v->kind == V_ACT && !first) first = v;
    any4nchw |= v->kind == V_ACT && v->lay == LAY_NCHW;
  }
  if (!first) return fail(X, BAD, "no activation input");
  int a;
  TRY(axis_in(X, attr_i(X, "axis", 1), rank, &a));
  const int lay = rank == 4 && any4nchw ? LAY_NCHW : LAY_ROW;
  int64_t d[MAXR];
  memcpy(d, first->dims, sizeof d);
  d[a] = 0;
  int *t = (int *)malloc(sizeof(int) * (size_t)nd->n_in);
  if (!t) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
  int ok = 1;
  for (int k = 0; ok && k < nd->n_in; k++) { /* layout copies and constants first: the concat comes after */
    val *v = input(X, k);
    for (int q = 0; ok && q < rank; q++)
      if (q != a && v->dims[q] != first->dims[q]) ok = fail(X, BAD, "input %d differs from input 0 in dimension %d", k, q);
    d[a] += v->dims[a];
    if (ok) ok = v->kind == V_CONST ? const_like(X, v, lay, rank, &t[k]) : in_layout(X, v, lay, &t[k]);
  }
  fv_op *op = ok ? emit_out(X, FV_OP_CONCAT, nd->n_in, output(X, 0), lay, rank, d) : NULL;
  if (op) {
    memcpy(op->inputs, t, sizeof(int) * (size_t)nd->n_in);
    op->axis = eax(lay, rank, a);
  }
  free(t);
  return op != NULL;
}

/* One output of a Split / Slice: SLICE of x (tensor xt, layout lay) along the given ONNX ranges. */
static int emit_slice(ox *X, val *x, int xt, int lay, val *y, const int64_t *first, const int64_t *count,
                      const int64_t *step) {
  int64_t d[MAXR];
  for (int k = 0; k < x->rank; k++) {
    if (count[k] < 1) return fail(X, UNSUP, "'%.60s' would be empty", y->name);
    d[k] = count[k];
  }
  fv_op *op = emit_out(X, FV_OP_SLICE, 1, y, lay, x->rank, d);
  TRY(op);
  op->inputs[0] = xt;
  for (int k = 0; k < 4; k++) op->begin[k] = 0, op->size[k] = -1, op->step[k] = 1;
  for (int k = 0; k < x->rank; k++) {
    int e = eax(lay, x->rank, k);
    if (first[k] == 0 && count[k] == x->dims[k] && step[k] == 1) continue; /* uncut: follows the run size */
    if (step[k] < 1) return fail(X, UNSUP, "a step of %lld (negative steps are not supported)", (long long)step[k]);
    op->begin[e] = (int)first[k], op->size[e] = (int)count[k], op->step[e] = (int)step[k];
    if (lay == LAY_NCHW ? e == 1 || e == 2 : k >= 2)
      snprintf(X->m->fixed_size, sizeof X->m->fixed_size, "node %d \"%.60s\" (%s) cuts a spatial axis", X->node,
               X->nd->name, X->nd->op_type);
  }
  return 1;
}

static int lower_slice(ox *X) {
  val *x = act_in(X, 0, "data");
  TRY(x);
  fv_onnx_const *in[5] = {NULL};
  for (int k = 1; k < 5 && k < X->nd->n_in; k++) {
    val *v = input(X, k);
    if (v && !(in[k] = cst(X, v))) return fail(X, UNSUP, "input %d is not a constant", k);
  }
  int64_t first[MAXR], count[MAXR], step[MAXR];
  TRY(fv_onnx_slice_params(X->nd, in, X->nd->n_in, x->rank, x->dims, first, count, step, X->err));
  int xt, lay;
  TRY(plain(X, x, &xt, &lay));
  return emit_slice(X, x, xt, lay, output(X, 0), first, count, step);
}

static int lower_split(ox *X) {
  val *x = act_in(X, 0, "input");
  TRY(x);
  int a, n = X->nd->n_out;
  TRY(axis_in(X, attr_i(X, "axis", 0), x->rank, &a));
  int64_t sizes[MAX_WINDOW];
  if (n < 1 || n > MAX_WINDOW) return fail(X, BAD, "%d outputs", n);
  const fv_onnx_attr *sa = fv_onnx_attr_find(X->nd, "split");
  fv_onnx_const *sc = input(X, 1) ? cst(X, input(X, 1)) : NULL;
  if (input(X, 1) && !sc) return fail(X, UNSUP, "the split sizes are not a constant");
  if (sa || sc) {
    if ((sa ? sa->n_ints : sc->count) != n) return fail(X, BAD, "%lld split sizes for %d outputs", (long long)(sa ? sa->n_ints : sc->count), n);
    for (int k = 0; k < n; k++) sizes[k] = sa ? sa->ints[k] : fv_onnx_const_int(sc, k);
  } else { /* equal parts (opset 18: the last may be smaller) */
    int64_t part = (x->dims[a] + n - 1) / n;
    for (int k = 0; k < n; k++) sizes[k] = k < n - 1 ? part : x->dims[a] - part * (n - 1);
  }
  int64_t sum = 0;
  for (int k = 0; k < n; k++) {
    if (sizes[k] < 0 || sizes[k] > x->dims[a]) return fail(X, BAD, "split size %lld for an axis of %lld", (long long)sizes[k], (long long)x->dims[a]);
    sum += sizes[k];
  }
  if (sum != x->dims[a]) return fail(X, BAD, "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)x->dims[a]);
  int xt, lay;
  TRY(plain(X, x, &xt, &lay));
  int64_t first[MAXR], count[MAXR], step[MAXR], at = 0;
  for (int k = 0; k < x->rank; k++) first[k] = 0, count[k] = x->dims[k], step[k] = 1;
  for (int k = 0; k < n; k++) {
    first[a] = at;
    count[a] = sizes[k];
    at += sizes[k];
    if (!X->nd->out[k][0]) continue;
    TRY(emit_slice(X, x, xt, lay, output(X, k), first, count, step));
  }
  return 1;
}

static int lower_pad(ox *X) {
  val *x = act_in(X, 0, "data");
  TRY(x);
  const char *mode = attr_s(X, "mode", "constant");
  if (strcmp(mode, "constant") != 0) return fail(X, UNSUP, "Pad mode %s is not supported (constant only)", mode);
  const int r = x->rank;
  int64_t p[2 * MAXR];
  const fv_onnx_attr *pa = fv_onnx_attr_find(X->nd, "pads");
  float value = attr_f(X, "value", 0);
  int n;
  if (pa) {
    n = pa->n_ints;
    if (n != 2 * r) return fail(X, BAD, "%d pads for rank %d", n, r);
    memcpy(p, pa->ints, sizeof(int64_t) * (size_t)n);
  } else {
    fv_onnx_const *c = cst(X, input(X, 1));
    if (!c) return fail(X, UNSUP, "the pads are not a constant");
    fv_onnx_const *axes = input(X, 3) ? cst(X, input(X, 3)) : NULL;
    int na = axes ? (int)axes->count : r;
    if (c->count != 2 * na || na > r) return fail(X, BAD, "%lld pads for %d axes", (long long)c->count, na);
    for (int k = 0; k < 2 * r; k++) p[k] = 0;
    for (int j = 0; j < na; j++) {
      int a = j;
      if (axes) TRY(axis_in(X, fv_onnx_const_int(axes, j), r, &a));
      p[a] = fv_onnx_const_int(c, j);
      p[a + r] = fv_onnx_const_int(c, j + na);
    }
    TRY(scalar_in(X, 2, 0, &value, "constant_value"));
  }
  int xt, lay;
  TRY(plain(X, x, &xt, &lay));
  int64_t d[MAXR];
  for (int k = 0; k < r; k++) {
    if (p[k] < 0 || p[k + r] < 0)
      return fail(X, UNSUP, "a negative pad (%lld, %lld on axis %d) is not supported", (long long)p[k], (long long)p[k + r], k);
    if (p[k] > MAX_WINDOW || p[k + r] > MAX_WINDOW) return fail(X, BAD, "a pad of %lld", (long long)(p[k] > p[k + r] ? p[k] : p[k + r]));
    d[k] = x->dims[k] + p[k] + p[k + r];
  }
  fv_op *op = emit_out(X, FV_OP_PAD, 1, output(X, 0), lay, r, d);
  TRY(op);
  op->inputs[0] = xt;
  op->pad_value = value;
  for (int k = 0; k < r; k++) {
    op->pads[eax(lay, r, k)][0] = (int)p[k];
    op->pads[eax(lay, r, k)][1] = (int)p[k + r];
  }
  return 1;
}

/* ==== Softmax, ReduceMean ============================================================================== */
static int lower_softmax(ox *X) {
  val *x = act_in(X, 0, "input");
  TRY(x);
  int a, xt, lay;
  const int64_t opset = X->g->opset;
  TRY(axis_in(X, attr_i(X, "axis", opset >= 13 ? -1 : 1), x->rank, &a));
  TRY(plain(X, x, &xt, &lay));
  /* the engine's softmax runs over the NHWC channel axis; before opset 13 the
   * axes from `axis` on count as one, which is that axis when the rest are 1 */
  int ok = eax(lay, x->rank, a) == 3;
  for (int k = a + 1; ok && opset < 13 && k < x->rank; k++) ok = x->dims[k] == 1 || eax(lay, x->rank, k) == 3;
  if (opset < 13 && lay == LAY_NCHW && a == 1) ok = x->dims[2] * x->dims[3] == 1;
  if (!ok) {
    char s[64];
    return fail(X, UNSUP, "a softmax over axis %d of shape %s (the channel axis only)", a, shape_str(x->rank, x->dims, s, sizeof s));
  }
  fv_op *op = emit_out(X, FV_OP_SOFTMAX, 1, output(X, 0), lay, x->rank, x->dims);
  TRY(op);
  op->inputs[0] = xt;
  op->beta = 1;
  return 1;
}

static int lower_reducemean(ox *X) {
  val *x = act_in(X, 0, "data");
  TRY(x);
  const int r = x->rank, keep = attr_i(X, "keepdims", 1) != 0;
  int64_t ax[MAXR];
  int n = -1;
  const fv_onnx_attr *aa = fv_onnx_attr_find(X->nd, "axes");
  if (aa) {
    if (aa->n_ints > MAXR) return fail(X, BAD, "%d axes", aa->n_ints);
    n = aa->n_ints;
    memcpy(ax, aa->ints, sizeof(int64_t) * (size_t)n);
  } else if (input(X, 1)) {
    fv_onnx_const *c = cst(X, input(X, 1));
    if (!c || c->count > MAXR) return fail(X, UNSUP, "the axes are not a small constant");
    n = (int)c->count;
    for (int k = 0; k < n; k++) ax[k] = fv_onnx_const_int(c, k);
  }
  if (n == 0 && attr_i(X, "noop_with_empty_axes", 0)) return reshape_to(X, x, x->rank, x->dims);
  unsigned mask = 0;
  if (n <= 0) mask = (1u << r) - 1;
  for (int k = 0; k < n; k++) {
    int a;
    TRY(axis_in(X, ax[k], r, &a));
    mask |= 1u << a;
  }
  if (mask & 1) return fail(X, UNSUP, "a mean over the batch axis");
  int xt, lay;
  TRY(plain(X, x, &xt, &lay));
  int64_t kd[MAXR], d[MAXR];
  int q = 0;
  for (int k = 0; k < r; k++) {
    kd[k] = mask & (1u << k) ? 1 : x->dims[k];
    if (!(mask & (1u << k)) || keep) d[q++] = kd[k];
  }
  /* MEAN keeps the reduced axes as 1 in the engine's 4-D view */
  val *y = output(X, 0);
  int64_t e_keep[4], e_out[4];
  edims(lay, r, kd, e_keep);
  int out_lay = lay == LAY_NCHW && q == 4 ? LAY_NCHW : LAY_ROW;
  if (lay == LAY_NCHW && q != 4) out_lay = LAY_ROW;
  edims(out_lay, q, d, e_out);
  int same = memcmp(e_keep, e_out, sizeof e_keep) == 0;
  int t;
  char name[FV_NAME_MAX];
  snprintf(name, sizeof name, same ? "%s" : "%.200s:keepdims", y->name);
  int mt;
  if (same) {
    TRY(act_tensor(X, y->name, out_lay, q, d, &mt));
  } else {
    TRY(act_tensor(X, name, lay, r, kd, &mt));
  }
  fv_op *op = emit(X, FV_OP_MEAN, 1, mt, "ReduceMean");
  TRY(op);
  op->inputs[0] = xt;
  op->keep_dims = keep;
  for (int k = 0; k < r; k++)
    if (mask & (1u << k)) op->mean_axes |= 1 << eax(lay, r, k);
  if (same) {
    set_act(y, mt, out_lay, q, d);
    return 1;
  }
  TRY(act_tensor(X, y->name, out_lay, q, d, &t));
  TRY(emit_reshape(X, mt, t, -1, "ReduceMean"));
  set_act(y, t, out_lay, q, d);
  return 1;
}

/* ==== aliases and quantization =================================================================== */
static int alias_of(ox *X, int k_in, int k_out) {
  val *x = input(X, k_in), *y = output(X, k_out);
  if (!x) return fail(X, BAD, "the input is missing");
  y->alias = (int)(x - X->v);
  x->uses += y->uses;
  x->shared = 1;
  return 1;
}

static int lower_identity(ox *X) {
  for (int k = 1; k < X->nd->n_out; k++)
    if (X->nd->out[k][0] && output(X, k)->uses) return fail(X, UNSUP, "output %d (the dropout mask) is used", k);
  return alias_of(X, 0, 0);
}

static int lower_cast(ox *X) {
  int64_t to = attr_i(X, "to", 0);
  if (to != FV_ONNX_FLOAT) return fail(X, UNSUP, "a cast of an activation to %s", fv_onnx_dtype_name((int)to));
  return alias_of(X, 0, 0);
}

/* QuantizeLinear → DequantizeLinear on activations simulates int8 in float:
 * featviz computes in float, so the pair is an alias. */
static int lower_quantize(ox *X) {
  val *x = act_in(X, 0, "input"), *y = output(X, 0);
  TRY(x);
  y->kind = V_QACT;
  y->qsrc = (int)(x - X->v);
  x->uses += y->uses;
  x->shared = 1;
  return 1;
}

static int lower_dequantize(ox *X) {
  const char *name = X->nd->n_in ? X->nd->in[0] : "";
  int k = name[0] ? lookup(X, name) : -1;
  if (k < 0 || X->v[k].kind != V_QACT)
    return fail(X, UNSUP, "DequantizeLinear of an activation that no QuantizeLinear made (integer activations)");
  val *y = output(X, 0);
  int r = root(X, X->v[k].qsrc);
  y->alias = r;
  X->v[r].uses += y->uses;
  X->v[r].shared = 1;
  return 1;
}

/* ==== the op table ================================================================================ */
typedef struct {
  const char *op;
  int (*lower)(ox *X);
} lowering;

static const lowering OPS[] = {
    {"Conv", lower_conv},
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
    {"MaxPool", lower_maxpool},
    {"AveragePool", lower_avgpool},
    {"GlobalAveragePool", lower_gap},
    {"GlobalMaxPool", lower_gmp},
    {"LRN", lower_lrn},
    {"BatchNormalization", lower_batchnorm},
    {"Gemm", lower_gemm},
    {"MatMul", lower_matmul},
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
    {"Identity", lower_identity},
    {"Dropout", lower_identity},
    {"Cast", lower_cast},
    {"QuantizeLinear", lower_quantize},
    {"DequantizeLinear", lower_dequantize},
};

/* ==== one node ===================================================================================== */
/* Shape of an activation or constant: a constant of its dims at the native size. */
static int lower_shape(ox *X, val *x, val *y) {
  int64_t s = attr_i(X, "start", 0), e = attr_i(X, "end", x->rank);
  if (s < 0) s += x->rank;
  if (e < 0) e += x->rank;
  s = s < 0 ? 0 : s > x->rank ? x->rank : s;
  e = e < 0 ? 0 : e > x->rank ? x->rank : e;
  fv_onnx_const c = {0};
  c.rank = 1;
  c.dims[0] = e > s ? e - s : 0;
  TRY(fv_onnx_const_alloc(&c, 1, X->err));
  for (int64_t k = s; k < e; k++) c.i[k - s] = x->dims[k];
  return set_const(y, &c);
}

static int lower_node(ox *X, int i) {
  const fv_onnx_node *nd = &X->g->nodes[i];
  X->node = i;
  X->nd = nd;
  snprintf(X->where, sizeof X->where, "node %d \"%.60s\" (%.40s)", i, nd->name, nd->op_type);
  if (nd->domain[0] && strcmp(nd->domain, "ai.onnx") != 0) {
    X->where[0] = 0;
    return fail(X, UNSUP, "unsupported ONNX op %.40s.%.60s at node %d \"%.60s\"", nd->domain, nd->op_type, i, nd->name);
  }
  if (nd->n_out < 1 || !nd->out[0][0]) return fail(X, BAD, "no output");
  /* every input exists and was made before */
  int all_const = 1;
  for (int k = 0; k < nd->n_in; k++) {
    if (!nd->in[k][0]) continue;
    int j = lookup(X, nd->in[k]);
    if (j < 0) return fail(X, BAD, "reads tensor '%.80s', which no node, initializer or input makes", nd->in[k]);
    val *v = &X->v[root(X, j)];
    if (v->kind == V_UNSET)
      return fail(X, BAD, "reads tensor '%.80s' before node %d makes it (nodes out of order, or a cycle)", nd->in[k],
                  v->made_at);
    all_const &= v->kind == V_CONST;
  }
  if (strcmp(nd->op_type, "Shape") == 0) {
    val *x = input(X, 0);
    if (!x) return fail(X, BAD, "no input");
    return lower_shape(X, x, output(X, 0));
  }
  if (all_const && fv_onnx_fold_supported(nd->op_type)) {
    fv_onnx_const *in[MAX_WINDOW], y;
    if (nd->n_in > MAX_WINDOW) return fail(X, BAD, "%d inputs", nd->n_in);
    for (int k = 0; k < nd->n_in; k++) {
      val *v = input(X, k);
      in[k] = v ? cst(X, v) : NULL;
      if (v && !in[k]) return 0;
    }
    if (!fv_onnx_fold(nd, X->g->opset, in, nd->n_in, &y, X->err)) {
      char msg[sizeof X->err->msg];
      snprintf(msg, sizeof msg, "%s", X->err->msg);
      return fail(X, X->err->code, "%s", msg);
    }
    set_const(output(X, 0), &y);
    for (int k = 1; k < nd->n_out; k++)
      if (nd->out[k][0] && output(X, k)->uses) return fail(X, UNSUP, "output %d of a folded node is used", k);
    return 1;
  }
  for (size_t k = 0; k < sizeof OPS / sizeof *OPS; k++)
    if (strcmp(OPS[k].op, nd->op_type) == 0) {
      TRY(OPS[k].lower(X));
      for (int q = 0; q < nd->n_out; q++) {
        val *y = output(X, q);
        if (nd->out[q][0] && y->kind == V_UNSET && y->alias < 0 && y->uses)
          return fail(X, UNSUP, "output %d ('%.60s') is not supported", q, nd->out[q]);
      }
      return 1;
    }
  X->where[0] = 0;
  return fail(X, UNSUP, "unsupported ONNX op %.60s at node %d \"%.80s\"", nd->op_type, i, nd->name);
}

/* After a node: its inputs have one reader less; constants nobody reads any more are freed. */
static void release_inputs(ox *X, const fv_onnx_node *nd) {
  for (int k = 0; k < nd->n_in; k++) {
    if (!nd->in[k][0]) continue;
    val *v = &X->v[root(X, lookup(X, nd->in[k]))];
    if (v->uses > 0) v->uses--;
    if (v->kind == V_CONST && !v->uses && v->has_c) {
      fv_onnx_const_clear(&v->c);
      v->has_c = 0;
    }
  }
}

/* ==== the input description and labels from metadata ================================================= */
/* ONNX image metadata (Windows ML's convention): Image.BitmapPixelFormat
 * (Bgr8 / Rgb8) and Image.NominalPixelRange (NominalRange_0_255,
 * Normalized_0_1, Normalized_1_1, NominalRange_16_235). */
static void read_metadata(ox *X) {
  const fv_onnx_graph *g = X->g;
  fv_model *m = X->m;
  const char *fmt = NULL, *range = NULL, *labels = NULL;
  /* nothing said: a guess, torchvision's ImageNet normalization (the commonest export) */
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  for (int k = 0; k < 3; k++) {
    m->in_scale[k] = (float)(1.0 / (255.0 * std[k]));
    m->in_offset[k] = (float)(-mean[k] / std[k]);
  }
  m->in_bgr = 0;
  m->in_source[0] = 0;
  for (int k = 0; k < g->n_meta; k++) {
    const char *key = g->meta_key[k];
    if (strcmp(key, "Image.BitmapPixelFormat") == 0) fmt = g->meta_value[k];
    else if (strcmp(key, "Image.NominalPixelRange") == 0) range = g->meta_value[k];
    else if (!labels && (strcmp(key, "labels") == 0 || strcmp(key, "classes") == 0 || strcmp(key, "class_names") == 0))
      labels = g->meta_value[k];
  }
  int bgr = fmt && strcmp(fmt, "Bgr8") == 0, rgb = fmt && strcmp(fmt, "Rgb8") == 0;
  float s = 0, o = 0;
  if (range && strcmp(range, "NominalRange_0_255") == 0) s = 1, o = 0;
  else if (range && strcmp(range, "Normalized_0_1") == 0) s = 1.0f / 255, o = 0;
  else if (range && strcmp(range, "Normalized_1_1") == 0) s = 2.0f / 255, o = -1;
  else if (range && strcmp(range, "NominalRange_16_235") == 0) s = 219.0f / 255, o = 16;
  if ((bgr || rgb) && s) {
    m->in_bgr = bgr;
    for (int k = 0; k < 3; k++) m->in_scale[k] = s, m->in_offset[k] = o;
    snprintf(m->in_source, sizeof m->in_source, "onnx metadata");
  }
  /* labels: one name a line, as many as the output has classes */
  if (labels && g->n_outputs && g->outputs[0].rank >= 1) {
    int64_t classes = g->outputs[0].dims[g->outputs[0].rank - 1], lines = 1;
    for (const char *p = labels; *p; p++) lines += *p == '\n' && p[1];
    if (classes > 1 && lines == classes) m->labels = dup(labels);
  }
}

/* ==== the graph ======================================================================================== */
static int image_input(ox *X) {
  const fv_onnx_graph *g = X->g;
  const fv_onnx_value *in = NULL;
  char s[64];
  for (int k = 0; k < g->n_inputs; k++) {
    int j = lookup(X, g->inputs[k].name);
    if (j >= 0 && X->v[j].kind == V_CONST) continue; /* old IRs list initializers as inputs */
    if (in) return fail(X, UNSUP, "the model has several inputs ('%.60s', '%.60s'); featviz runs one image input",
                        in->name, g->inputs[k].name);
    in = &g->inputs[k];
  }
  if (!in) return fail(X, BAD, "the model has no input");
  if (in->elem_type != FV_ONNX_FLOAT)
    return fail(X, UNSUP, "the input '%.60s' has type %s; featviz feeds float32", in->name, fv_onnx_dtype_name(in->elem_type));
  if (in->rank != 4)
    return fail(X, UNSUP, "the input '%.60s' has rank %d; featviz needs a 4-D image [N,3,H,W] or [N,H,W,3]", in->name, in->rank);
  int64_t d[4];
  memcpy(d, in->dims, sizeof d);
  int lay = d[1] == 3 || (d[1] < 0 && d[3] != 3) ? LAY_NCHW : d[3] == 3 ? LAY_ROW : -1;
  if (lay < 0)
    return fail(X, UNSUP, "the input '%.60s' has shape %s; featviz needs 3 channels", in->name, shape_str(4, d, s, sizeof s));
  if (d[0] > 1) return fail(X, UNSUP, "the input has batch %lld; featviz needs batch 1 or a symbolic batch", (long long)d[0]);
  d[0] = 1;
  for (int k = 1; k < 4; k++)
    if (d[k] < 0) d[k] = k == (lay == LAY_NCHW ? 1 : 3) ? 3 : 224; /* symbolic H and W: ImageNet's size */
  if (d[0] == 0 || d[2] == 0 || d[1] == 0 || d[3] == 0) return fail(X, BAD, "the input has an empty dimension");
  int j = lookup(X, in->name), t;
  if (j < 0) return fail(X, BAD, "internal: the input is not registered");
  TRY(act_tensor(X, in->name, lay, 4, d, &t));
  set_act(&X->v[j], t, lay, 4, d);
  X->m->input = t;
  return 1;
}

/* Registers initializers, inputs and node outputs by name; counts readers. */
static int index_names(ox *X) {
  const fv_onnx_graph *g = X->g;
  int64_t n = g->n_inits + g->n_inputs, weights = 0;
  for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].n_out;
  if (n > 4 * 100000) return fail(X, BAD, "%lld tensors", (long long)n);
  int cap = 16;
  while (cap < 2 * n) cap *= 2;
  X->v = (val *)calloc((size_t)n + 1, sizeof(val));
  X->ht = (int *)calloc((size_t)cap, sizeof(int));
  if (!X->v || !X->ht) return fail(X, FV_ERR_NO_MEMORY, "out of memory");
  X->hmask = cap - 1;
  for (int k = 0; k < g->n_inits; k++) {
    const fv_onnx_tensor *t = &g->inits[k];
    if (!t->name[0]) return fail(X, BAD, "initializer %d has no name", k);
    TRY(add_value(X, t->name, -1));
    val *v = &X->v[X->nv - 1];
    v->kind = V_CONST;
    v->src = t;
    v->rank = t->rank;
    memcpy(v->dims, t->dims, sizeof v->dims);
    weights += t->count;
  }
  /* what a tab can hold, before anything is allocated */
  if (weights > FV_MAX_WEIGHT_FLOATS)
    return fail(X, FV_ERR_NO_MEMORY, "the model's weights need %lld MB as float32; the limit is %lld MB",
                (long long)(weights >> 18), (long long)(FV_MAX_WEIGHT_FLOATS >> 18));
  for (int k = 0; k < g->n_inputs; k++)
    if (lookup(X, g->inputs[k].name) < 0) TRY(add_value(X, g->inputs[k].name, -1));
  for (int i = 0; i < g->n_nodes; i++) {
    const fv_onnx_node *nd = &g->nodes[i];
    for (int k = 0; k < nd->n_out; k++) {
      if (!nd->out[k][0]) continue;
      snprintf(X->where, sizeof X->where, "node %d \"%.60s\" (%.40s)", i, nd->name, nd->op_type);
      TRY(add_value(X, nd->out[k], i));
    }
  }
  X->where[0] = 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int j = g->nodes[i].in[k][0] ? lookup(X, g->nodes[i].in[k]) : -1;
      if (j >= 0) X->v[j].uses++;
    }
  for (int k = 0; k < g->n_outputs; k++) {
    int j = lookup(X, g->outputs[k].name);
    if (j >= 0) X->v[j].uses++;
  }
  return 1;
}

/* Drops ops nothing up to the output needs (a second output's branch). */
static void prune(fv_model *m) {
  unsigned char *need = (unsigned char *)calloc((size_t)m->n_tensors, 1);
  if (!need) return;
  need[m->output] = 1;
  for (int i = m->n_ops - 1; i >= 0; i--) {
    const fv_op *op = &m->ops[i];
    if (!need[op->output]) continue;
    for (int k = 0; k < op->n_inputs; k++)
      if (op->inputs[k] >= 0) need[op->inputs[k]] = 1;
  }
  int j = 0;
  for (int i = 0; i < m->n_ops; i++) {
    if (need[m->ops[i].output]) m->ops[j++] = m->ops[i];
    else free(m->ops[i].inputs);
  }
  m->n_ops = j;
  free(need);
}

static int lower_graph(ox *X) {
  const fv_onnx_graph *g = X->g;
  if (g->opset && (g->opset < 7 || g->opset > 18))
    return fail(X, UNSUP, "opset %lld; featviz reads ONNX opsets 7 to 18", (long long)g->opset);
  if (!g->n_nodes) return fail(X, BAD, "the graph has no nodes");
  if (!g->n_outputs) return fail(X, BAD, "the graph has no outputs");
  TRY(index_names(X));
  TRY(image_input(X));
  read_metadata(X);
  for (int i = 0; i < g->n_nodes; i++) {
    TRY(lower_node(X, i));
    release_inputs(X, &g->nodes[i]);
  }
  X->where[0] = 0;
  int j = lookup(X, g->outputs[0].name);
  if (j < 0) return fail(X, BAD, "the model output '%.60s' is not computed by any node", g->outputs[0].name);
  val *y = &X->v[root(X, j)];
  if (y->kind != V_ACT) return fail(X, UNSUP, "the model output '%.60s' is a constant", g->outputs[0].name);
  int t = y->t;
  if (y->lay == LAY_FLAT) TRY(in_layout(X, y, LAY_ROW, &t));
  X->m->output = t;
  if (t == X->m->input) return fail(X, UNSUP, "the model output is its input");
  prune(X->m);
  if (!X->m->n_ops) return fail(X, UNSUP, "the model has no ops featviz runs");
  return 1;
}

fv_model *fv_onnx_load(const uint8_t *bytes, size_t n, fv_error *err) {
  fv_model *m = fv_model_new(err);
  if (!m) return NULL;
  fv_onnx_graph g;
  ox X;
  memset(&X, 0, sizeof X);
  X.g = &g;
  X.m = m;
  X.err = err;
  int ok = fv_onnx_read(bytes, n, &g, err) && lower_graph(&X);
  for (int k = 0; k < X.nv; k++) fv_onnx_const_clear(&X.v[k].c);
  free(X.v);
  free(X.ht);
  fv_onnx_graph_free(&g);
  if (!ok || !fv_model_finish(m, err)) {
    fv_model_free(m);
    return NULL;
  }
  return m;
}
