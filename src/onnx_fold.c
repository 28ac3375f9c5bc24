/* onnx_fold.c — ONNX ops on constants (see onnx_fold.h). The file reads in
 * the order of the op table at its end: helpers, elementwise ops with
 * broadcasting, shape ops, indexing ops, quantization, then the dispatch. */
#include "onnx_fold.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loader.h"

/* Results that make shapes (ConstantOfShape, Expand, Range) stay small; the
 * rest (weights through Transpose or DequantizeLinear) may be as large as
 * all the weights together. */
#define MAX_SHAPE_MADE ((int64_t)1 << 24)

typedef struct {
  const fv_onnx_node *nd;
  int64_t opset;
  fv_error *err;
} fx;

static int fail(fx *F, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(fx *F, fv_status code, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fv_error_set(F->err, code, "%s of constants: %s", F->nd->op_type, msg);
  return 0;
}

/* ==== constants ============================================================== */
/* *acc ·= v when the product stays within cap (v ≥ 0); else 0, *acc untouched. */
static int mul_within(int64_t *acc, int64_t v, int64_t cap) {
  if (v < 0 || (v && *acc > cap / v)) return 0;
  *acc *= v;
  return 1;
}

void fv_onnx_const_clear(fv_onnx_const *c) {
  free(c->f);
  free(c->i);
  memset(c, 0, sizeof *c);
}

int fv_onnx_const_alloc(fv_onnx_const *c, int is_int, fv_error *err) {
  c->count = 1;
  for (int k = 0; k < c->rank; k++) {
    if (c->dims[k] < 0) {
      fv_error_set(err, BAD, "a constant of negative dimension %lld", (long long)c->dims[k]);
      return 0;
    }
    if (!mul_within(&c->count, c->dims[k], FV_MAX_WEIGHT_FLOATS)) {
      fv_error_set(err, FV_ERR_NO_MEMORY, "a constant of more than %lld elements", (long long)FV_MAX_WEIGHT_FLOATS);
      return 0;
    }
  }
  c->is_int = is_int;
  size_t n = (size_t)(c->count ? c->count : 1);
  if (is_int) c->i = (int64_t *)calloc(n, sizeof(int64_t));
  else c->f = (float *)calloc(n, sizeof(float));
  if (!c->i && !c->f) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a constant of %lld elements", (long long)c->count);
    return 0;
  }
  return 1;
}

double fv_onnx_const_get(const fv_onnx_const *c, int64_t k) { return c->is_int ? (double)c->i[k] : c->f[k]; }

/* saturating: a double past the int64 range is undefined to convert */
static int64_t to_int(double v) { return v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : isnan(v) ? 0 : (int64_t)v; }

int64_t fv_onnx_const_int(const fv_onnx_const *c, int64_t k) { return c->is_int ? c->i[k] : to_int(c->f[k]); }

static void put(fv_onnx_const *c, int64_t k, double v) {
  if (!c->is_int) c->f[k] = (float)v;
  else c->i[k] = to_int(v);
}

static int same_shape_as(fv_onnx_const *y, int rank, const int64_t *dims) {
  y->rank = rank;
  memcpy(y->dims, dims, sizeof(int64_t) * (size_t)rank);
  return 1;
}

/* An integer list from a constant input (axes, shapes, ...). */
static int ints_of(fx *F, const fv_onnx_const *c, int64_t *v, int cap, int *n, const char *role) {
  if (!c) return fail(F, BAD, "the %s input is missing", role);
  if (c->count > cap) return fail(F, BAD, "the %s has %lld values", role, (long long)c->count);
  for (int64_t k = 0; k < c->count; k++) v[k] = fv_onnx_const_int(c, k);
  *n = (int)c->count;
  return 1;
}

static int axis_of(fx *F, int64_t a, int rank, int *out) {
  if (a < -rank || a >= (rank ? rank : 1)) return fail(F, BAD, "axis %lld is out of range for rank %d", (long long)a, rank);
  *out = (int)(a < 0 ? a + rank : a);
  return 1;
}

static int64_t attr_i(const fv_onnx_node *nd, const char *name, int64_t def) {
  const fv_onnx_attr *a = fv_onnx_attr_find(nd, name);
  return a ? a->i : def;
}

/* Row-major strides. */
static void strides_of(int rank, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    st[k] = s;
    s *= dims[k];
  }
}

/* ==== elementwise, with broadcasting =========================================== */
int fv_onnx_broadcast(int ra, const int64_t *a, int rb, const int64_t *b, int *ry, int64_t *y) {
  int r = ra > rb ? ra : rb;
  for (int k = 1; k <= r; k++) {
    int64_t da = k <= ra ? a[ra - k] : 1, db = k <= rb ? b[rb - k] : 1;
    if (da != db && da != 1 && db != 1) return 0;
    y[r - k] = da == 1 ? db : da;
  }
  *ry = r;
  return 1;
}

typedef double (*nary_fn)(const double *x);

static double f_add(const double *x) { return x[0] + x[1]; }
static double f_sub(const double *x) { return x[0] - x[1]; }
static double f_mul(const double *x) { return x[0] * x[1]; }
static double f_div(const double *x) { return x[0] / x[1]; }
static double f_idiv(const double *x) { return x[1] == 0 ? 0 : trunc(x[0] / x[1]); }
static double f_pow(const double *x) { return pow(x[0], x[1]); }
static double f_eq(const double *x) { return x[0] == x[1]; }
static double f_lt(const double *x) { return x[0] < x[1]; }
static double f_gt(const double *x) { return x[0] > x[1]; }
static double f_min(const double *x) { return x[0] < x[1] ? x[0] : x[1]; }
static double f_max(const double *x) { return x[0] > x[1] ? x[0] : x[1]; }
static double f_mod(const double *x) { return x[1] == 0 ? 0 : x[0] - x[1] * floor(x[0] / x[1]); }
static double f_where(const double *x) { return x[0] != 0 ? x[1] : x[2]; }
static double f_neg(const double *x) { return -x[0]; }
static double f_abs(const double *x) { return fabs(x[0]); }
static double f_floor(const double *x) { return floor(x[0]); }
static double f_ceil(const double *x) { return ceil(x[0]); }
static double f_sqrt(const double *x) { return sqrt(x[0]); }
static double f_recip(const double *x) { return 1.0 / x[0]; }
static double f_relu(const double *x) { return x[0] > 0 ? x[0] : 0; }
static double f_sigmoid(const double *x) { return 1.0 / (1.0 + exp(-x[0])); }
static double f_not(const double *x) { return x[0] == 0; }
static double f_ident(const double *x) { return x[0]; }

/* y = fn(x0, x1, ...) elementwise; is_int: the result type. */
static int nary(fx *F, fv_onnx_const *const *in, int n, nary_fn fn, int is_int, fv_onnx_const *y) {
  int r = 0;
  int64_t d[FV_ONNX_MAX_RANK] = {0};
  for (int j = 0; j < n; j++) {
    if (!in[j]) return fail(F, BAD, "input %d is missing", j);
    int64_t t[FV_ONNX_MAX_RANK];
    int rt;
    if (!fv_onnx_broadcast(r, d, in[j]->rank, in[j]->dims, &rt, t)) return fail(F, BAD, "shapes do not broadcast");
    r = rt;
    memcpy(d, t, sizeof(int64_t) * (size_t)r);
  }
  same_shape_as(y, r, d);
  TRY(fv_onnx_const_alloc(y, is_int, F->err));
  int64_t st[3][FV_ONNX_MAX_RANK], idx[FV_ONNX_MAX_RANK] = {0};
  for (int j = 0; j < n; j++) { /* each input's stride along each output axis (0 where broadcast) */
    int64_t s[FV_ONNX_MAX_RANK];
    strides_of(in[j]->rank, in[j]->dims, s);
    for (int k = 0; k < r; k++) {
      int kk = k - (r - in[j]->rank);
      st[j][k] = kk >= 0 && in[j]->dims[kk] != 1 ? s[kk] : 0;
    }
  }
  for (int64_t e = 0; e < y->count; e++) {
    double x[3];
    for (int j = 0; j < n; j++) {
      int64_t off = 0;
      for (int k = 0; k < r; k++) off += idx[k] * st[j][k];
      x[j] = fv_onnx_const_get(in[j], off);
    }
    put(y, e, fn(x));
    for (int k = r - 1; k >= 0 && ++idx[k] == d[k]; k--) idx[k] = 0;
  }
  return 1;
}

/* ==== shape ops ================================================================== */
/* A copy of x's values under another shape. */
static int relabel(fx *F, const fv_onnx_const *x, int rank, const int64_t *dims, fv_onnx_const *y) {
  same_shape_as(y, rank, dims);
  TRY(fv_onnx_const_alloc(y, x->is_int, F->err));
  if (y->count != x->count) return fail(F, BAD, "%lld values cannot take a shape of %lld", (long long)x->count, (long long)y->count);
  if (x->is_int) memcpy(y->i, x->i, sizeof(int64_t) * (size_t)x->count);
  else memcpy(y->f, x->f, sizeof(float) * (size_t)x->count);
  return 1;
}

int fv_onnx_reshape_dims(const int64_t *shape, int n, int allowzero, int xr, const int64_t *xd, int64_t count,
                         int64_t *out, fv_error *err) {
  int unknown = -1;
  int64_t known = 1;
  if (n > FV_ONNX_MAX_RANK) {
    fv_error_set(err, UNSUP, "a shape of rank %d", n);
    return 0;
  }
  for (int k = 0; k < n; k++) {
    int64_t v = shape[k];
    if (v == 0 && !allowzero) {
      if (k >= xr) {
        fv_error_set(err, BAD, "shape entry %d is 0 (copy) but the input has rank %d", k, xr);
        return 0;
      }
      v = xd[k];
    }
    if (v == -1 && unknown < 0) {
      unknown = k;
      continue;
    }
    if (v < 0) {
      fv_error_set(err, BAD, "shape entry %d is %lld", k, (long long)shape[k]);
      return 0;
    }
    out[k] = v;
    if (!mul_within(&known, v, (int64_t)1 << 40)) {
      fv_error_set(err, BAD, "shape entry %d (%lld) makes too many elements", k, (long long)v);
      return 0;
    }
  }
  if (unknown >= 0) {
    if (known == 0 || count % known) {
      fv_error_set(err, BAD, "%lld values do not fill the shape", (long long)count);
      return 0;
    }
    out[unknown] = count / known;
  } else if (known != count) {
    fv_error_set(err, BAD, "a shape of %lld elements for %lld values", (long long)known, (long long)count);
    return 0;
  }
  return 1;
}

static int fold_reshape(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  int64_t s[FV_ONNX_MAX_RANK + 1], d[FV_ONNX_MAX_RANK];
  int n;
  TRY(ints_of(F, n_in > 1 ? in[1] : NULL, s, FV_ONNX_MAX_RANK, &n, "shape"));
  TRY(fv_onnx_reshape_dims(s, n, (int)attr_i(F->nd, "allowzero", 0), in[0]->rank, in[0]->dims, in[0]->count, d, F->err));
  return relabel(F, in[0], n, d, y);
}

/* Unsqueeze / Squeeze axes: the attribute (opset < 13) or the second input. */
static int axes_list(fx *F, fv_onnx_const *const *in, int n_in, int64_t *ax, int *n) {
  const fv_onnx_attr *a = fv_onnx_attr_find(F->nd, "axes");
  if (a) {
    if (a->n_ints > FV_ONNX_MAX_RANK) return fail(F, BAD, "%d axes", a->n_ints);
    memcpy(ax, a->ints, sizeof(int64_t) * (size_t)a->n_ints);
    *n = a->n_ints;
    return 1;
  }
  if (n_in > 1 && in[1]) return ints_of(F, in[1], ax, FV_ONNX_MAX_RANK, n, "axes");
  *n = -1; /* none given */
  return 1;
}

static int fold_unsqueeze(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  int64_t ax[FV_ONNX_MAX_RANK], d[FV_ONNX_MAX_RANK];
  int n, r;
  TRY(axes_list(F, in, n_in, ax, &n));
  if (n < 0) return fail(F, BAD, "no axes");
  r = in[0]->rank + n;
  if (r > FV_ONNX_MAX_RANK) return fail(F, UNSUP, "rank %d", r);
  unsigned mask = 0;
  for (int k = 0; k < n; k++) {
    int a;
    TRY(axis_of(F, ax[k], r, &a));
    if (mask & (1u << a)) return fail(F, BAD, "axis %d twice", a);
    mask |= 1u << a;
  }
  for (int k = 0, j = 0; k < r; k++) d[k] = mask & (1u << k) ? 1 : in[0]->dims[j++];
  return relabel(F, in[0], r, d, y);
}

static int fold_squeeze(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  int64_t ax[FV_ONNX_MAX_RANK], d[FV_ONNX_MAX_RANK];
  int n, r = 0;
  const fv_onnx_const *x = in[0];
  TRY(axes_list(F, in, n_in, ax, &n));
  unsigned mask = 0;
  if (n < 0) {
    for (int k = 0; k < x->rank; k++)
      if (x->dims[k] == 1) mask |= 1u << k;
  }
  for (int k = 0; k < n; k++) {
    int a;
    TRY(axis_of(F, ax[k], x->rank, &a));
    if (x->dims[a] != 1) return fail(F, BAD, "axis %d has size %lld, not 1", a, (long long)x->dims[a]);
    mask |= 1u << a;
  }
  for (int k = 0; k < x->rank; k++)
    if (!(mask & (1u << k))) d[r++] = x->dims[k];
  return relabel(F, x, r, d, y);
}

static int fold_flatten(fx *F, fv_onnx_const *const *in, fv_onnx_const *y) {
  int a;
  TRY(axis_of(F, attr_i(F->nd, "axis", 1), in[0]->rank + 1, &a));
  int64_t d[2] = {1, 1};
  for (int k = 0; k < in[0]->rank; k++) d[k >= a] *= in[0]->dims[k];
  return relabel(F, in[0], 2, d, y);
}

static int fold_expand(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  int64_t s[FV_ONNX_MAX_RANK], d[FV_ONNX_MAX_RANK];
  int n, r;
  TRY(ints_of(F, n_in > 1 ? in[1] : NULL, s, FV_ONNX_MAX_RANK, &n, "shape"));
  if (!fv_onnx_broadcast(in[0]->rank, in[0]->dims, n, s, &r, d)) return fail(F, BAD, "the shape does not broadcast");
  int64_t c = 1;
  for (int k = 0; k < r; k++)
    if (!mul_within(&c, d[k], MAX_SHAPE_MADE)) return fail(F, FV_ERR_NO_MEMORY, "a result of more than %lld elements", (long long)MAX_SHAPE_MADE);
  fv_onnx_const ones = {0};
  same_shape_as(&ones, r, d);
  TRY(fv_onnx_const_alloc(&ones, in[0]->is_int, F->err));
  fv_onnx_const *two[2] = {in[0], &ones};
  int ok = nary(F, two, 2, f_add, in[0]->is_int, y); /* x + 0 broadcast to the shape */
  fv_onnx_const_clear(&ones);
  return ok;
}

static int fold_transpose(fx *F, fv_onnx_const *const *in, fv_onnx_const *y) {
  const fv_onnx_const *x = in[0];
  const fv_onnx_attr *pa = fv_onnx_attr_find(F->nd, "perm");
  int r = x->rank, perm[FV_ONNX_MAX_RANK];
  unsigned seen = 0;
  if (pa && pa->n_ints != r) return fail(F, BAD, "perm has %d entries for rank %d", pa->n_ints, r);
  for (int k = 0; k < r; k++) {
    int64_t p = pa ? pa->ints[k] : r - 1 - k;
    if (p < 0 || p >= r || (seen & (1u << p))) return fail(F, BAD, "perm is not a permutation");
    seen |= 1u << p;
    perm[k] = (int)p;
  }
  int64_t d[FV_ONNX_MAX_RANK], xs[FV_ONNX_MAX_RANK], idx[FV_ONNX_MAX_RANK] = {0};
  for (int k = 0; k < r; k++) d[k] = x->dims[perm[k]];
  same_shape_as(y, r, d);
  TRY(fv_onnx_const_alloc(y, x->is_int, F->err));
  strides_of(r, x->dims, xs);
  for (int64_t e = 0; e < y->count; e++) {
    int64_t off = 0;
    for (int k = 0; k < r; k++) off += idx[k] * xs[perm[k]];
    if (x->is_int) y->i[e] = x->i[off];
    else y->f[e] = x->f[off];
    for (int k = r - 1; k >= 0 && ++idx[k] == d[k]; k--) idx[k] = 0;
  }
  return 1;
}

/* ==== indexing ops ===================================================================== */
static int fold_concat(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  if (n_in < 1 || !in[0]) return fail(F, BAD, "no inputs");
  const fv_onnx_const *x0 = in[0];
  int r = x0->rank, a, is_int = 1;
  TRY(axis_of(F, attr_i(F->nd, "axis", 0), r, &a));
  int64_t d[FV_ONNX_MAX_RANK];
  memcpy(d, x0->dims, sizeof d);
  d[a] = 0;
  for (int j = 0; j < n_in; j++) {
    if (!in[j] || in[j]->rank != r) return fail(F, BAD, "input %d has another rank", j);
    for (int k = 0; k < r; k++)
      if (k != a && in[j]->dims[k] != x0->dims[k]) return fail(F, BAD, "input %d differs in dimension %d", j, k);
    d[a] += in[j]->dims[a];
    is_int &= in[j]->is_int;
  }
  same_shape_as(y, r, d);
  TRY(fv_onnx_const_alloc(y, is_int, F->err));
  int64_t outer = 1, inner = 1, e = 0;
  for (int k = 0; k < a; k++) outer *= d[k];
  for (int k = a + 1; k < r; k++) inner *= d[k];
  for (int64_t o = 0; o < outer; o++)
    for (int j = 0; j < n_in; j++) {
      int64_t run = in[j]->dims[a] * inner;
      for (int64_t k = 0; k < run; k++) put(y, e++, fv_onnx_const_get(in[j], o * run + k));
    }
  return 1;
}

static int fold_gather(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  const fv_onnx_const *x = in[0], *ix = n_in > 1 ? in[1] : NULL;
  int a;
  if (!ix || !ix->is_int) return fail(F, BAD, "the indices are missing or not integers");
  if (x->rank < 1) return fail(F, BAD, "data of rank 0");
  TRY(axis_of(F, attr_i(F->nd, "axis", 0), x->rank, &a));
  int r = x->rank - 1 + ix->rank;
  if (r > FV_ONNX_MAX_RANK) return fail(F, UNSUP, "rank %d", r);
  int64_t d[FV_ONNX_MAX_RANK];
  int k = 0;
  for (int j = 0; j < a; j++) d[k++] = x->dims[j];
  for (int j = 0; j < ix->rank; j++) d[k++] = ix->dims[j];
  for (int j = a + 1; j < x->rank; j++) d[k++] = x->dims[j];
  same_shape_as(y, r, d);
  TRY(fv_onnx_const_alloc(y, x->is_int, F->err));
  int64_t outer = 1, inner = 1, n = x->dims[a], e = 0;
  for (int j = 0; j < a; j++) outer *= x->dims[j];
  for (int j = a + 1; j < x->rank; j++) inner *= x->dims[j];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t q = 0; q < ix->count; q++) {
      int64_t i = ix->i[q] < 0 ? ix->i[q] + n : ix->i[q];
      if (i < 0 || i >= n) return fail(F, BAD, "index %lld is out of range 0..%lld", (long long)ix->i[q], (long long)n - 1);
      for (int64_t k2 = 0; k2 < inner; k2++) put(y, e++, fv_onnx_const_get(x, (o * n + i) * inner + k2));
    }
  return 1;
}

/* Slice's start, count and step along one axis of size n (ONNX clamping rules). */
static void slice_range(int64_t n, int64_t start, int64_t end, int64_t step, int64_t *first, int64_t *count) {
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (step > 0) {
    start = start < 0 ? 0 : start > n ? n : start;
    end = end < 0 ? 0 : end > n ? n : end;
    *count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = start < 0 ? -1 : start > n - 1 ? n - 1 : start;
    end = end < -1 ? -1 : end > n - 1 ? n - 1 : end;
    *count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
  }
  *first = start;
}

int fv_onnx_slice_params(const fv_onnx_node *nd, fv_onnx_const *const *in, int n_in, int r, const int64_t *dims,
                         int64_t *first, int64_t *count, int64_t *step, fv_error *err) {
  fx F = {nd, 0, err};
  int64_t st[FV_ONNX_MAX_RANK], en[FV_ONNX_MAX_RANK], ax[FV_ONNX_MAX_RANK], sp[FV_ONNX_MAX_RANK];
  int ns, ne, na = -1, np = -1;
  const fv_onnx_attr *as = fv_onnx_attr_find(nd, "starts"), *ae = fv_onnx_attr_find(nd, "ends");
  if (as && ae) { /* opset < 10 */
    if (as->n_ints > FV_ONNX_MAX_RANK || ae->n_ints != as->n_ints) return fail(&F, BAD, "starts and ends differ in length");
    ns = ne = as->n_ints;
    memcpy(st, as->ints, sizeof(int64_t) * (size_t)ns);
    memcpy(en, ae->ints, sizeof(int64_t) * (size_t)ne);
    const fv_onnx_attr *aa = fv_onnx_attr_find(nd, "axes");
    if (aa) {
      if (aa->n_ints != ns) return fail(&F, BAD, "axes differ in length");
      memcpy(ax, aa->ints, sizeof(int64_t) * (size_t)ns);
      na = ns;
    }
  } else {
    TRY(ints_of(&F, n_in > 1 ? in[1] : NULL, st, FV_ONNX_MAX_RANK, &ns, "starts"));
    TRY(ints_of(&F, n_in > 2 ? in[2] : NULL, en, FV_ONNX_MAX_RANK, &ne, "ends"));
    if (n_in > 3 && in[3]) TRY(ints_of(&F, in[3], ax, FV_ONNX_MAX_RANK, &na, "axes"));
    if (n_in > 4 && in[4]) TRY(ints_of(&F, in[4], sp, FV_ONNX_MAX_RANK, &np, "steps"));
  }
  if (ne != ns || (na >= 0 && na != ns) || (np >= 0 && np != ns)) return fail(&F, BAD, "starts, ends, axes and steps differ in length");
  for (int k = 0; k < r; k++) first[k] = 0, count[k] = dims[k], step[k] = 1;
  unsigned seen = 0;
  for (int j = 0; j < ns; j++) {
    int a;
    TRY(axis_of(&F, na >= 0 ? ax[j] : j, r, &a));
    if (seen & (1u << a)) return fail(&F, BAD, "axis %d twice", a);
    seen |= 1u << a;
    int64_t s = np >= 0 ? sp[j] : 1, n = dims[a] > 0 ? dims[a] : 1;
    if (s == 0) return fail(&F, BAD, "a step of 0");
    if (s > n || s < -n) s = s > 0 ? n : -n; /* a step past the axis takes one element, as the step does */
    step[a] = s;
    slice_range(dims[a], st[j], en[j], s, &first[a], &count[a]);
  }
  return 1;
}

static int fold_slice(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  const fv_onnx_const *x = in[0];
  int r = x->rank;
  int64_t first[FV_ONNX_MAX_RANK], count[FV_ONNX_MAX_RANK], step[FV_ONNX_MAX_RANK];
  TRY(fv_onnx_slice_params(F->nd, in, n_in, r, x->dims, first, count, step, F->err));
  same_shape_as(y, r, count);
  TRY(fv_onnx_const_alloc(y, x->is_int, F->err));
  int64_t xs[FV_ONNX_MAX_RANK], idx[FV_ONNX_MAX_RANK] = {0};
  strides_of(r, x->dims, xs);
  for (int64_t e = 0; e < y->count; e++) {
    int64_t off = 0;
    for (int k = 0; k < r; k++) off += (first[k] + idx[k] * step[k]) * xs[k];
    put(y, e, fv_onnx_const_get(x, off));
    for (int k = r - 1; k >= 0 && ++idx[k] == count[k]; k--) idx[k] = 0;
  }
  return 1;
}

static int fold_range(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  if (n_in < 3 || !in[0] || !in[1] || !in[2] || in[0]->count != 1 || in[1]->count != 1 || in[2]->count != 1)
    return fail(F, BAD, "start, limit and delta must be scalars");
  double s = fv_onnx_const_get(in[0], 0), l = fv_onnx_const_get(in[1], 0), d = fv_onnx_const_get(in[2], 0);
  if (d == 0) return fail(F, BAD, "a delta of 0");
  double n = ceil((l - s) / d);
  if (!(n <= (double)MAX_SHAPE_MADE)) return fail(F, FV_ERR_NO_MEMORY, "a range of %g elements", n);
  y->rank = 1;
  y->dims[0] = n > 0 ? (int64_t)n : 0;
  TRY(fv_onnx_const_alloc(y, in[0]->is_int, F->err));
  for (int64_t k = 0; k < y->count; k++) put(y, k, s + (double)k * d);
  return 1;
}

/* ==== constants from attributes ========================================================== */
static int from_tensor(fx *F, const fv_onnx_tensor *t, fv_onnx_const *y) {
  same_shape_as(y, t->rank, t->dims);
  int is_int = fv_onnx_dtype_is_int(t->dtype);
  if (!is_int && !fv_dtype_is_float(fv_onnx_dtype(t->dtype)))
    return fail(F, UNSUP, "a tensor of type %s", fv_onnx_dtype_name(t->dtype));
  TRY(fv_onnx_const_alloc(y, is_int, F->err));
  y->dtype = t->dtype;
  return is_int ? fv_onnx_tensor_i64(t, y->i, F->err) : fv_onnx_tensor_f32(t, y->f, F->err);
}

static int fold_constant(fx *F, fv_onnx_const *y) {
  const fv_onnx_node *nd = F->nd;
  for (int k = 0; k < nd->n_attr; k++) {
    const fv_onnx_attr *a = &nd->attr[k];
    if (strcmp(a->name, "value") == 0 && a->t) return from_tensor(F, a->t, y);
    int ints = strcmp(a->name, "value_ints") == 0, floats = strcmp(a->name, "value_floats") == 0;
    if (ints || floats || strcmp(a->name, "value_int") == 0 || strcmp(a->name, "value_float") == 0) {
      y->rank = ints || floats ? 1 : 0;
      y->dims[0] = ints ? a->n_ints : a->n_floats;
      TRY(fv_onnx_const_alloc(y, ints || a->name[6] == 'i', F->err));
      for (int64_t e = 0; e < y->count; e++)
        put(y, e, ints ? (double)a->ints[e] : floats ? a->floats[e] : a->name[6] == 'i' ? (double)a->i : a->f);
      return 1;
    }
  }
  return fail(F, UNSUP, "no value, value_float(s) or value_int(s) attribute (sparse or string constants are not supported)");
}

static int fold_constant_of_shape(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  int64_t s[FV_ONNX_MAX_RANK];
  int n;
  TRY(ints_of(F, n_in ? in[0] : NULL, s, FV_ONNX_MAX_RANK, &n, "shape"));
  double v = 0;
  int is_int = 0;
  const fv_onnx_attr *a = fv_onnx_attr_find(F->nd, "value");
  if (a && a->t) {
    fv_onnx_const c = {0};
    if (a->t->count != 1) return fail(F, BAD, "value has %lld elements, not 1", (long long)a->t->count);
    TRY(from_tensor(F, a->t, &c));
    v = fv_onnx_const_get(&c, 0);
    is_int = c.is_int;
    fv_onnx_const_clear(&c);
  }
  int64_t c = 1;
  for (int k = 0; k < n; k++) {
    if (s[k] < 0) return fail(F, BAD, "shape entry %d is %lld", k, (long long)s[k]);
    if (!mul_within(&c, s[k], MAX_SHAPE_MADE))
      return fail(F, FV_ERR_NO_MEMORY, "a constant of more than %lld elements", (long long)MAX_SHAPE_MADE);
  }
  same_shape_as(y, n, s);
  TRY(fv_onnx_const_alloc(y, is_int, F->err));
  for (int64_t k = 0; k < y->count; k++) put(y, k, v);
  return 1;
}

static int fold_cast(fx *F, fv_onnx_const *const *in, fv_onnx_const *y) {
  int64_t to = attr_i(F->nd, "to", 0);
  int is_int = fv_onnx_dtype_is_int((int)to);
  if (!is_int && !fv_dtype_is_float(fv_onnx_dtype((int)to))) return fail(F, UNSUP, "a cast to %s", fv_onnx_dtype_name((int)to));
  TRY(nary(F, in, 1, f_ident, is_int, y));
  if (to == FV_ONNX_BOOL)
    for (int64_t k = 0; k < y->count; k++) y->i[k] = y->i[k] != 0;
  return 1;
}

/* ==== quantization =========================================================================== */
/* DequantizeLinear / QuantizeLinear: per tensor (scalar scale) or per axis (1-D scale along `axis`). */
static int quant(fx *F, fv_onnx_const *const *in, int n_in, int dequant, fv_onnx_const *y) {
  const fv_onnx_const *x = in[0], *s = n_in > 1 ? in[1] : NULL, *z = n_in > 2 ? in[2] : NULL;
  if (!s) return fail(F, BAD, "the scale is missing");
  if (dequant && !x->is_int) return fail(F, BAD, "the input is not integer");
  int64_t nch = s->count, outer = 1, inner = x->count;
  if (z && z->count != nch) return fail(F, BAD, "%lld zero points for %lld scales", (long long)z->count, (long long)nch);
  if (nch != 1 || s->rank == 1) {
    int a;
    TRY(axis_of(F, attr_i(F->nd, "axis", 1), x->rank, &a));
    if (x->dims[a] != nch) return fail(F, BAD, "%lld scales along axis %d of size %lld", (long long)nch, a, (long long)x->dims[a]);
    inner = 1;
    for (int k = 0; k < a; k++) outer *= x->dims[k];
    for (int k = a + 1; k < x->rank; k++) inner *= x->dims[k];
  }
  same_shape_as(y, x->rank, x->dims);
  TRY(fv_onnx_const_alloc(y, !dequant, F->err));
  /* QuantizeLinear saturates to the zero point's type (uint8 without one) */
  double lo = 0, hi = 255;
  if (z && z->dtype == FV_ONNX_INT8) lo = -128, hi = 127;
  else if (z && z->dtype && z->dtype != FV_ONNX_UINT8) return fail(F, UNSUP, "quantization to %s", fv_onnx_dtype_name(z->dtype));
  if (!dequant) y->dtype = z ? z->dtype : FV_ONNX_UINT8;
  for (int64_t o = 0, e = 0; o < outer; o++)
    for (int64_t c = 0; c < nch; c++) {
      double sc = fv_onnx_const_get(s, c), zp = z ? fv_onnx_const_get(z, c) : 0;
      for (int64_t k = 0; k < inner; k++, e++) {
        double v = fv_onnx_const_get(x, e);
        if (dequant) {
          float f = (float)((v - zp) * sc);
          if (!isfinite(f)) return fail(F, BAD, "a dequantized value is infinite");
          y->f[e] = f;
        } else {
          double q = nearbyint((double)(float)(v / sc)) + zp; /* round half to even, as ONNX says */
          y->i[e] = isnan(q) ? (int64_t)lo : (int64_t)(q < lo ? lo : q > hi ? hi : q);
        }
      }
    }
  return 1;
}

/* ==== dispatch ================================================================================ */
typedef struct {
  const char *op;
  nary_fn fn;   /* elementwise: the function (NULL: a special op) */
  int arity;    /* elementwise: inputs; 0 = variadic */
  int to_int;   /* elementwise result: 1 int, 0 float, -1 the inputs' type */
} fold_entry;

static const fold_entry OPS[] = {
    {"Add", f_add, 2, -1},   {"Sub", f_sub, 2, -1},     {"Mul", f_mul, 2, -1},       {"Div", f_div, 2, -1},
    {"Pow", f_pow, 2, -1},   {"Equal", f_eq, 2, 1},     {"Less", f_lt, 2, 1},        {"Greater", f_gt, 2, 1},
    {"Min", f_min, 0, -1},   {"Max", f_max, 0, -1},     {"Mod", f_mod, 2, -1},       {"Where", f_where, 3, -1},
    {"Neg", f_neg, 1, -1},   {"Abs", f_abs, 1, -1},     {"Floor", f_floor, 1, -1},   {"Ceil", f_ceil, 1, -1},
    {"Sqrt", f_sqrt, 1, 0},  {"Reciprocal", f_recip, 1, 0}, {"Relu", f_relu, 1, -1}, {"Sigmoid", f_sigmoid, 1, 0},
    {"Not", f_not, 1, 1},    {"Identity", f_ident, 1, -1}, {"Dropout", f_ident, 1, -1},
    {"Constant", NULL, 0, 0}, {"ConstantOfShape", NULL, 0, 0}, {"Cast", NULL, 0, 0}, {"Reshape", NULL, 0, 0},
    {"Unsqueeze", NULL, 0, 0}, {"Squeeze", NULL, 0, 0}, {"Flatten", NULL, 0, 0}, {"Expand", NULL, 0, 0},
    {"Transpose", NULL, 0, 0}, {"Concat", NULL, 0, 0}, {"Gather", NULL, 0, 0}, {"Slice", NULL, 0, 0},
    {"Range", NULL, 0, 0},   {"DequantizeLinear", NULL, 0, 0}, {"QuantizeLinear", NULL, 0, 0},
};

static const fold_entry *entry(const char *op) {
  for (size_t k = 0; k < sizeof OPS / sizeof *OPS; k++)
    if (strcmp(OPS[k].op, op) == 0) return &OPS[k];
  return NULL;
}

int fv_onnx_fold_supported(const char *op) { return entry(op) != NULL; }

static int fold(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y);

int fv_onnx_fold(const fv_onnx_node *nd, int64_t opset, fv_onnx_const *const *in, int n_in, fv_onnx_const *y,
                 fv_error *err) {
  fx F = {nd, opset, err};
  memset(y, 0, sizeof *y);
  if (fold(&F, in, n_in, y)) return 1;
  fv_onnx_const_clear(y); /* a failure after the result was allocated */
  return 0;
}

static int fold(fx *F, fv_onnx_const *const *in, int n_in, fv_onnx_const *y) {
  const fv_onnx_node *nd = F->nd;
  const fold_entry *e = entry(nd->op_type);
  if (!e) return fail(F, UNSUP, "not folded");
  const char *op = e->op;
  if (strcmp(op, "Constant") == 0) return fold_constant(F, y);
  if (strcmp(op, "ConstantOfShape") == 0) return fold_constant_of_shape(F, in, n_in, y);
  if (n_in < 1 || !in[0]) return fail(F, BAD, "the first input is missing");
  if (e->fn) {
    int n = e->arity ? e->arity : n_in;
    if (n_in < n || n > 3 || n < 1) return fail(F, BAD, "%d inputs", n_in);
    if (strcmp(op, "Dropout") == 0 || strcmp(op, "Identity") == 0) n = 1;
    int is_int = e->to_int;
    if (is_int < 0) {
      is_int = 1;
      for (int j = strcmp(op, "Where") == 0; j < n; j++) is_int &= in[j] && in[j]->is_int;
    }
    nary_fn fn = e->fn == f_div && is_int ? f_idiv : e->fn;
    return nary(F, in, n, fn, is_int, y);
  }
  if (strcmp(op, "Cast") == 0) return fold_cast(F, in, y);
  if (strcmp(op, "Reshape") == 0) return fold_reshape(F, in, n_in, y);
  if (strcmp(op, "Unsqueeze") == 0) return fold_unsqueeze(F, in, n_in, y);
  if (strcmp(op, "Squeeze") == 0) return fold_squeeze(F, in, n_in, y);
  if (strcmp(op, "Flatten") == 0) return fold_flatten(F, in, y);
  if (strcmp(op, "Expand") == 0) return fold_expand(F, in, n_in, y);
  if (strcmp(op, "Transpose") == 0) return fold_transpose(F, in, y);
  if (strcmp(op, "Concat") == 0) return fold_concat(F, in, n_in, y);
  if (strcmp(op, "Gather") == 0) return fold_gather(F, in, n_in, y);
  if (strcmp(op, "Slice") == 0) return fold_slice(F, in, n_in, y);
  if (strcmp(op, "Range") == 0) return fold_range(F, in, n_in, y);
  return quant(F, in, n_in, strcmp(op, "DequantizeLinear") == 0, y);
}
