/* threads_test.c — the helper threads (src/threads.h) and the kernels' split
 * over them (src/split.h).
 *
 * Natively the helpers are real pthreads running the same loop, job posting,
 * parallel-for and barrier as the wasm helpers (only park/notify differ: a
 * futex instead of memory.atomic.wait32), and the split kernels are held bit
 * for bit to one direct kernel call on awkward shapes. As WASI wasm (the plain
 * build, no threads) the same program checks the one-thread paths. No timing:
 * waits that could hang are bounded by a spin count and fail instead.
 */
#include <stdatomic.h>

#include "check.h"
#include "cppn.h"
#include "rng.h"
#include "split.h"
#include "threads.h"
#include "transform.h"

#if !defined(__wasm__)
#include <time.h>
static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}
#endif

/* ---- parallel for: each index once, contiguous chunks -------------------------------- */

#define MAX_N 5000
typedef struct {
  _Atomic int hits[MAX_N];
  _Atomic int chunks;
  int begin[4096], end[4096];
  _Atomic int bad_order;
} for_rec;

static void record(void *p, int t, int b, int e) {
  for_rec *r = (for_rec *)p;
  const int k = atomic_fetch_add(&r->chunks, 1);
  if (k < 4096) r->begin[k] = b, r->end[k] = e;
  if (b >= e) atomic_fetch_add(&r->bad_order, 1);
  for (int i = b; i < e; i++) atomic_fetch_add(&r->hits[i], 1);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Runs a for over [0, n); checks every index is hit once and the chunks tile [0, n).
 * The sorted chunk starts go to starts[] (for comparing two runs). Returns the chunk count. */
static int check_for(int n, int *starts) {
  static for_rec r;
  memset(&r, 0, sizeof r);
  fv_threads_for(n, record, &r);
  int once = 1;
  for (int i = 0; i < n; i++) once &= atomic_load(&r.hits[i]) == 1;
  CHECK(once, "for n=%d: every index exactly once", n);
  const int c = atomic_load(&r.chunks);
  int s[4096];
  for (int k = 0; k < c; k++) s[k] = r.begin[k];
  qsort(s, (size_t)c, sizeof s[0], cmp_int);
  CHECK(n == 0 || (c > 0 && s[0] == 0), "for n=%d: the first chunk starts at 0", n);
  CHECK(atomic_load(&r.bad_order) == 0, "for n=%d: no empty chunk", n);
  if (starts) memcpy(starts, s, (size_t)c * sizeof s[0]);
  return c;
}

/* ---- jobs on every thread ----------------------------------------------------------------- */

typedef struct {
  _Atomic int ran[FV_THREADS_MAX];
  _Atomic int arrived;
  _Atomic int together; /* threads that saw all the others arrive, within a bounded spin */
  int nt_seen[FV_THREADS_MAX];
} run_rec;

static void every_thread(void *p, int t, int nt) {
  run_rec *r = (run_rec *)p;
  atomic_fetch_add(&r->ran[t], 1);
  r->nt_seen[t] = nt;
  atomic_fetch_add(&r->arrived, 1);
  /* all nt threads run this job at once: wait (bounded) until all are here */
  for (long i = 0; i < 2000000000L && atomic_load(&r->arrived) < nt; i++) {
  }
  if (atomic_load(&r->arrived) >= nt) atomic_fetch_add(&r->together, 1);
}

#define ROUNDS 3000
typedef struct {
  _Atomic int count;
  _Atomic int wrong;
} bar_rec;

/* Each round: everyone adds 1, barrier, everyone checks the round's total, barrier. */
static void barrier_rounds(void *p, int t, int nt) {
  bar_rec *r = (bar_rec *)p;
  for (int k = 0; k < ROUNDS; k++) {
    atomic_fetch_add(&r->count, 1);
    fv_threads_barrier(t, nt);
    if (atomic_load(&r->count) != (k + 1) * nt) atomic_fetch_add(&r->wrong, 1);
    fv_threads_barrier(t, nt);
  }
}

typedef struct {
  _Atomic int serial_ok, calls;
} nest_rec;

static void nested_for(void *p, int t, int b, int e) {
  nest_rec *r = (nest_rec *)p;
  atomic_fetch_add(&r->calls, 1);
  if (b == 0 && e == 100) atomic_fetch_add(&r->serial_ok, 1);
}

static void nesting(void *p, int t, int nt) {
  nest_rec *r = (nest_rec *)p;
  if (fv_threads_count() != 1) return; /* inside a job: one thread */
  fv_threads_for(100, nested_for, r);  /* runs here, whole */
}

static void check_pool(int nt) {
  CHECK(fv_threads_count() == nt, "count %d, want %d", fv_threads_count(), nt);
  run_rec r;
  memset(&r, 0, sizeof r);
  fv_threads_run(every_thread, &r);
  int once = 1, nts = 1;
  for (int t = 0; t < FV_THREADS_MAX; t++) once &= atomic_load(&r.ran[t]) == (t < nt);
  for (int t = 0; t < nt; t++) nts &= r.nt_seen[t] == nt;
  CHECK(once && nts, "nt=%d: the job ran once on each thread 0..%d and saw nt", nt, nt - 1);
  CHECK(atomic_load(&r.together) == nt, "nt=%d: all threads ran the job at the same time (%d did)", nt,
        atomic_load(&r.together));

  bar_rec b;
  memset(&b, 0, sizeof b);
  fv_threads_run(barrier_rounds, &b);
  CHECK(atomic_load(&b.wrong) == 0 && atomic_load(&b.count) == ROUNDS * nt,
        "nt=%d: %d barrier rounds, %d saw a wrong total", nt, ROUNDS, atomic_load(&b.wrong));

  nest_rec ne;
  memset(&ne, 0, sizeof ne);
  fv_threads_run(nesting, &ne);
  CHECK(atomic_load(&ne.serial_ok) == nt && atomic_load(&ne.calls) == nt,
        "nt=%d: a for inside a job runs whole on the calling thread", nt);

  static const int ns[] = {0, 1, 2, 3, 7, 64, 100, 1001, MAX_N};
  for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
    int a[4096], b2[4096];
    const int ca = check_for(ns[k], a), cb = check_for(ns[k], b2);
    const int want = ns[k] == 0 ? 0 : nt == 1 ? 1 : ns[k] < 4 * nt ? ns[k] : 4 * nt;
    CHECK(ca == want, "for n=%d on %d threads: %d chunks, want %d", ns[k], nt, ca, want);
    CHECK(ca == cb && memcmp(a, b2, (size_t)ca * sizeof a[0]) == 0, "for n=%d: the same chunks every time", ns[k]);
  }
}

/* ---- the split kernels against one call -------------------------------------------------------- */

static int shape(fv_conv_shape *s, int dw, int n, int ih, int iw, int ic, int oc_or_dm, int k, int st, int dil,
                 fv_padding pad, fv_act act) {
  memset(s, 0, sizeof *s);
  s->n = n, s->ih = ih, s->iw = iw, s->ic = ic, s->kh = s->kw = k, s->sh = s->sw = st, s->dh = s->dw = dil;
  s->act = act;
  s->dm = dw ? oc_or_dm : 1;
  s->oc = dw ? ic * oc_or_dm : oc_or_dm;
  fv_conv_shape_pad(s, pad);
  return s->oh > 0 && s->ow > 0;
}

typedef struct {
  int dw, n, ih, iw, ic, ocm, k, st, dil;
  fv_padding pad;
  fv_act act;
  int groups;
} conv_spec;

/* Shapes with enough work to be split (and awkward edges: padding, strides,
 * dilation, a depth multiplier, batches, tails). */
static const conv_spec SPECS[] = {
    {0, 1, 33, 31, 3, 16, 3, 2, 1, FV_PADDING_SAME, FV_ACT_RELU6, 1},  /* a first conv */
    {0, 2, 17, 19, 5, 7, 3, 1, 1, FV_PADDING_SAME, FV_ACT_NONE, 1},    /* batch 2 */
    {0, 1, 23, 21, 6, 9, 5, 2, 1, FV_PADDING_VALID, FV_ACT_RELU, 1},   /* 5×5 s2 VALID */
    {0, 1, 20, 18, 4, 8, 3, 1, 2, FV_PADDING_SAME, FV_ACT_NONE, 1},    /* dilation 2 */
    {0, 3, 12, 13, 24, 20, 1, 1, 1, FV_PADDING_SAME, FV_ACT_RELU6, 1}, /* 1×1: the GEMM over pixels */
    {0, 2, 14, 15, 10, 12, 1, 2, 1, FV_PADDING_SAME, FV_ACT_NONE, 1},  /* 1×1 stride 2 */
    {0, 1, 61, 29, 3, 8, 7, 2, 1, FV_PADDING_SAME, FV_ACT_RELU, 1},    /* 7×7 s2: 24 input rows a part */
    {0, 2, 21, 19, 8, 12, 3, 1, 1, FV_PADDING_SAME, FV_ACT_NONE, 4}, /* grouped, 4 groups */
    {0, 1, 18, 20, 6, 9, 1, 1, 1, FV_PADDING_SAME, FV_ACT_RELU, 3},  /* grouped 1×1 */
    {1, 1, 40, 37, 12, 1, 3, 1, 1, FV_PADDING_SAME, FV_ACT_RELU6, 1},  /* depthwise 3×3 */
    {1, 2, 33, 34, 9, 1, 3, 2, 1, FV_PADDING_SAME, FV_ACT_NONE, 1},    /* depthwise s2, batch 2 */
    {1, 1, 31, 30, 7, 2, 3, 1, 1, FV_PADDING_SAME, FV_ACT_RELU, 1},    /* depth multiplier 2 */
    {1, 1, 35, 33, 8, 1, 5, 2, 1, FV_PADDING_SAME, FV_ACT_NONE, 1},    /* 5×5 s2 */
    {1, 1, 29, 27, 6, 1, 3, 1, 2, FV_PADDING_VALID, FV_ACT_RELU6, 1},  /* dilation 2 VALID */
};

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static float *rand_buf(size_t n, float lo, float hi) {
  float *p = (float *)malloc((n ? n : 1) * sizeof(float));
  check_fill(p, n, lo, hi);
  return p;
}

/* One shape: forward and gradient through split.h on the threads now running, against
 * the direct kernel calls (dx starts non-zero: gradients accumulate). */
static void check_conv_split(const conv_spec *c) {
  fv_conv_shape s;
  if (!shape(&s, c->dw, c->n, c->ih, c->iw, c->ic, c->ocm, c->k, c->st, c->dil, c->pad, c->act)) {
    CHECK(0, "spec has an empty output");
    return;
  }
  s.groups = c->groups;
  const size_t nx = (size_t)s.n * s.ih * s.iw * s.ic, ny = (size_t)s.n * s.oh * s.ow * s.oc;
  const size_t nw = c->dw ? (size_t)s.kh * s.kw * s.oc : (size_t)s.oc * s.kh * s.kw * s.ic / (c->groups > 1 ? c->groups : 1);
  float *x = rand_buf(nx, -1, 1), *w = rand_buf(nw, -1, 1), *b = rand_buf((size_t)s.oc, -1, 1);
  float *y0 = rand_buf(ny, 0, 0), *y1 = rand_buf(ny, 0, 0), *dy = rand_buf(ny, -1, 1);
  float *dx0 = rand_buf(nx, -1, 1), *dx1 = (float *)malloc(nx * sizeof(float));
  memcpy(dx1, dx0, nx * sizeof(float));
  if (c->dw) {
    fv_dwconv2d(&s, x, w, b, y0);
    fv_split_dwconv2d(&s, x, w, b, y1);
    fv_dwconv2d_grad(&s, dy, w, dx0);
    fv_split_dwconv2d_grad(&s, dy, w, dx1);
  } else {
    fv_conv2d(&s, x, w, b, y0);
    fv_split_conv2d(&s, x, w, b, y1);
    fv_conv2d_grad(&s, dy, w, dx0);
    fv_split_conv2d_grad(&s, dy, w, dx1);
  }
  CHECK(same_bits(y0, y1, ny), "%s %dx%d s%d d%d n%d %dx%dx%d: split forward differs from one call",
        c->dw ? "dwconv" : "conv", c->k, c->k, c->st, c->dil, c->n, c->ih, c->iw, c->ic);
  CHECK(same_bits(dx0, dx1, nx), "%s %dx%d s%d d%d n%d %dx%dx%d: split gradient differs from one call",
        c->dw ? "dwconv" : "conv", c->k, c->k, c->st, c->dil, c->n, c->ih, c->iw, c->ic);
  if (fv_conv_grad_sets(&s, c->dw)) { /* dx_set (the graph's first gradient into x): split parts write all of dx */
    fv_conv_shape ss = s;
    ss.dx_set = 1;
    memset(dx0, 0, nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) dx1[i] = NAN; /* garbage that would show */
    if (c->dw) fv_dwconv2d_grad(&s, dy, w, dx0), fv_split_dwconv2d_grad(&ss, dy, w, dx1);
    else fv_conv2d_grad(&s, dy, w, dx0), fv_split_conv2d_grad(&ss, dy, w, dx1);
    CHECK(same_bits(dx0, dx1, nx), "%s %dx%d s%d d%d n%d %dx%dx%d: split dx_set gradient differs from cleared + one call",
          c->dw ? "dwconv" : "conv", c->k, c->k, c->st, c->dil, c->n, c->ih, c->iw, c->ic);
  }
  free(x), free(w), free(b), free(y0), free(y1), free(dy), free(dx0), free(dx1);
}

static void check_fc_split(int n, int ic, int oc) {
  const size_t nx = (size_t)n * ic, ny = (size_t)n * oc;
  float *x = rand_buf(nx, -1, 1), *w = rand_buf((size_t)oc * ic, -1, 1), *b = rand_buf((size_t)oc, -1, 1);
  float *y0 = rand_buf(ny, 0, 0), *y1 = rand_buf(ny, 0, 0), *dy = rand_buf(ny, -1, 1);
  float *dx0 = rand_buf(nx, -1, 1), *dx1 = (float *)malloc(nx * sizeof(float));
  memcpy(dx1, dx0, nx * sizeof(float));
  fv_fc(n, ic, oc, x, w, b, FV_ACT_RELU6, y0);
  fv_split_fc(n, ic, oc, x, w, b, FV_ACT_RELU6, y1);
  fv_fc_grad(n, ic, oc, dy, w, dx0);
  fv_split_fc_grad(n, ic, oc, dy, w, dx1);
  CHECK(same_bits(y0, y1, ny), "fc n%d %d->%d: split forward differs", n, ic, oc);
  CHECK(same_bits(dx0, dx1, nx), "fc n%d %d->%d: split gradient differs", n, ic, oc);
  free(x), free(w), free(b), free(y0), free(y1), free(dy), free(dx0), free(dx1);
}

static void check_act_split(int n, size_t per, int redirect) {
  const size_t m = (size_t)n * per;
  float *y = rand_buf(m, -2, 8), *g0 = rand_buf(m, -1, 1), *g1 = (float *)malloc(m * sizeof(float));
  if (redirect) /* item 0 all clamped (its rule differs), the others live */
    for (size_t i = 0; i < per; i++) y[i] = i % 2 ? -1.0f : 7.0f;
  memcpy(g1, g0, m * sizeof(float));
  fv_act_grad(FV_ACT_RELU6, n, per, y, g0, redirect);
  fv_split_act_grad(FV_ACT_RELU6, n, per, y, g1, redirect);
  CHECK(same_bits(g0, g1, m), "act grad n%d per %zu redirect %d: split differs", n, per, redirect);
  free(y), free(g0), free(g1);
}

/* A pool (max or average, GoogLeNet's ceil-mode 3×3 s2 and 3×3 s1 among them): the split
 * forward, and the max pool's split gradient (by quads of channels; a channel count that is
 * no multiple of 4 puts a scalar tail in the last part). */
static void check_pool_split(int max, int n, int ih, int iw, int c, int k, int st, int pad, int ceil_mode) {
  fv_conv_shape s;
  memset(&s, 0, sizeof s);
  s.n = n, s.ih = ih, s.iw = iw, s.ic = s.oc = c, s.kh = s.kw = k, s.sh = s.sw = st, s.dh = s.dw = 1, s.dm = 1;
  s.pt = s.pl = s.pb = s.pr = pad, s.ceil_mode = ceil_mode, s.act = FV_ACT_RELU;
  fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
  const size_t nx = (size_t)n * ih * iw * c, ny = (size_t)n * s.oh * s.ow * c;
  float *x = rand_buf(nx, -1, 1), *y0 = rand_buf(ny, 0, 0), *y1 = rand_buf(ny, 0, 0), *dy = rand_buf(ny, -1, 1);
  float *dx0 = rand_buf(nx, -1, 1), *dx1 = (float *)malloc(nx * sizeof(float));
  memcpy(dx1, dx0, nx * sizeof(float));
  if (max) {
    fv_maxpool2d(&s, x, y0), fv_split_maxpool2d(&s, x, y1);
    fv_maxpool2d_grad(&s, x, y0, dy, dx0), fv_split_maxpool2d_grad(&s, x, y0, dy, dx1);
    /* with the argmax kept by the forward (graph.c with gradients): the same y and dx */
    int32_t *i0 = (int32_t *)malloc(ny * sizeof(int32_t)), *i1 = (int32_t *)malloc(ny * sizeof(int32_t));
    float *y2 = rand_buf(ny, 0, 0), *dx2 = rand_buf(nx, 0, 0), *dx3 = rand_buf(nx, 0, 0);
    memcpy(dx2, dx1, nx * sizeof(float));
    memcpy(dx3, dx1, nx * sizeof(float));
    fv_maxpool2d_idx(&s, x, y2, i0);
    fv_split_maxpool2d_idx(&s, x, y2, i1);
    fv_maxpool2d_grad_idx(&s, i0, dy, dx2);
    fv_split_maxpool2d_grad_idx(&s, i1, dy, dx3);
    CHECK(same_bits(y0, y2, ny) && !memcmp(i0, i1, ny * sizeof(int32_t)) && same_bits(dx2, dx3, nx),
          "max pool %dx%d s%d n%d %dx%dx%d: split argmax forward or its gradient differs", k, k, st, n, ih, iw, c);
    free(i0), free(i1), free(y2), free(dx2), free(dx3);
  } else {
    fv_avgpool2d(&s, x, y0), fv_split_avgpool2d(&s, x, y1);
  }
  CHECK(same_bits(y0, y1, ny), "%s pool %dx%d s%d n%d %dx%dx%d: split forward differs", max ? "max" : "avg", k, k, st, n,
        ih, iw, c);
  CHECK(same_bits(dx0, dx1, nx), "max pool %dx%d s%d n%d %dx%dx%d: split gradient differs", k, k, st, n, ih, iw, c);
  free(x), free(y0), free(y1), free(dy), free(dx0), free(dx1);
}

static void check_unary_split(size_t m) {
  const fv_act_params u = {FV_ACT_RELU, 0.0f, 0.0f}, none = {FV_ACT_NONE, 0.0f, 0.0f};
  float *x = rand_buf(m, -1, 1), *y0 = rand_buf(m, 0, 0), *y1 = rand_buf(m, 0, 0), *dy = rand_buf(m, -1, 1);
  float *dx0 = rand_buf(m, -1, 1), *dx1 = (float *)malloc(m * sizeof(float));
  memcpy(dx1, dx0, m * sizeof(float));
  fv_unary(&u, m, x, y0), fv_split_unary(&u, m, x, y1);
  fv_unary_grad(&none, m, x, y0, dy, dx0), fv_split_unary_grad(&none, m, x, y0, dy, dx1);
  CHECK(same_bits(y0, y1, m), "unary %zu: split forward differs", m);
  CHECK(same_bits(dx0, dx1, m), "unary %zu: split gradient differs", m);
  free(x), free(y0), free(y1), free(dy), free(dx0), free(dx1);
}

/* A gradient's first writer (graph.c): fv_split_first_grad is what clearing dx
 * (fv_split_zero) and adding dy gives, bit for bit, -0 included (0 + -0 is +0). */
static void check_first_grad_split(size_t m) {
  const fv_act_params none = {FV_ACT_NONE, 0.0f, 0.0f};
  float *dy = rand_buf(m, -1, 1), *dx0 = rand_buf(m, -1, 1), *dx1 = rand_buf(m, -1, 1);
  for (size_t i = 0; i < m; i += 7) dy[i] = -0.0f;
  fv_split_zero(m, dx0);
  int zeroed = 1;
  for (size_t i = 0; i < m; i++) zeroed &= dx0[i] == 0.0f && !signbit(dx0[i]);
  CHECK(zeroed, "zero %zu: not all +0", m);
  fv_unary_grad(&none, m, NULL, NULL, dy, dx0);
  fv_split_first_grad(m, dy, dx1);
  CHECK(same_bits(dx0, dx1, m), "first grad %zu: differs from clearing and adding", m);
  CHECK(!signbit(dx1[0]), "first grad: -0 did not become +0");
  free(dy), free(dx0), free(dx1);
}

/* A concat's slice (fv_rows: rows of len floats, stride apart, at channel off of the
 * concat's buffer), as graph.c's views use it: each _rows call against the plain kernel on
 * a packed copy of the slice, and the concat's other channels untouched. n items of
 * rows / n rows; with redirect, item 0 all clamped (the rule's other branch) and rows of item 1. */
/* 1 if buf equals keep outside channels [off, off + len) of each row of stride floats */
static int others_kept(const float *buf, const float *keep, size_t big, int stride, int off, int len) {
  for (size_t i = 0; i < big; i++) {
    const size_t c = i % (size_t)stride;
    if ((c < (size_t)off || c >= (size_t)(off + len)) && memcmp(&buf[i], &keep[i], sizeof(float))) return 0;
  }
  return 1;
}

static void check_rows_split(int n, size_t rows, int len, int stride, int off, int redirect) {
  const fv_rows r = {rows, len, stride};
  const size_t m = rows * (size_t)len, big = rows * (size_t)stride;
  const fv_act_params relu = {FV_ACT_RELU6, 0.0f, 0.0f}, sig = {FV_ACT_SIGMOID, 0.0f, 0.0f}, none = {FV_ACT_NONE, 0.0f, 0.0f};
  float *x = rand_buf(m, -2, 8), *yb = rand_buf(big, -9, -9), *gb = rand_buf(big, -1, 1), *ys = yb + off, *gs = gb + off;
  float *y0 = rand_buf(m, 0, 0), *g0 = rand_buf(m, 0, 0), *dx0 = rand_buf(m, -1, 1), *dx1 = rand_buf(m, 0, 0);
  float *keep = (float *)malloc(big * sizeof(float)), *packed = rand_buf(m, 0, 0);
  if (redirect) /* item 0 all clamped; in item 1 every third row too (the item's rule, not the row's, decides) */
    for (size_t i = 0; i < m; i++)
      if (i < m / n || (n > 1 && i < 2 * m / n && i / len % 3 == 0)) x[i] = i % 2 ? -1.0f : 7.0f;
  for (size_t i = 0; i < rows; i += 5) gs[i * stride] = -0.0f;
#define PACK(dst, src) for (size_t i = 0; i < rows; i++) memcpy((dst) + i * len, (src) + i * stride, len * sizeof(float))
  /* forward: y = relu6(x) into the slice */
  memcpy(keep, yb, big * sizeof(float));
  fv_unary(&relu, m, x, y0);
  fv_split_unary_rows(&relu, &r, x, ys);
  PACK(packed, ys);
  CHECK(same_bits(y0, packed, m) && others_kept(yb, keep, big, stride, off, len), "rows %zu x %d/%d: unary forward differs", rows, len, stride);
  /* the mask (Lucid's rule on whole items with redirect), in place on the slice of dy */
  memcpy(keep, gb, big * sizeof(float));
  PACK(g0, gs);
  fv_act_grad(FV_ACT_RELU6, n, m / n, y0, g0, redirect);
  fv_split_act_grad_rows(FV_ACT_RELU6, n, &r, ys, gs, redirect);
  PACK(packed, gs);
  CHECK(same_bits(g0, packed, m) && others_kept(gb, keep, big, stride, off, len), "rows %zu x %d/%d n%d redirect %d: act grad differs", rows,
        len, stride, n, redirect);
  /* dx += dy (the ACT after its mask), dx += dy·f'(y) (sigmoid), and dx = dy + 0 */
  memcpy(dx1, dx0, m * sizeof(float));
  fv_unary_grad(&none, m, x, y0, g0, dx0);
  fv_split_unary_grad_rows(&none, &r, x, ys, gs, dx1);
  CHECK(same_bits(dx0, dx1, m), "rows %zu x %d/%d: unary grad differs", rows, len, stride);
  fv_unary_grad(&sig, m, x, y0, g0, dx0);
  fv_split_unary_grad_rows(&sig, &r, x, ys, gs, dx1);
  CHECK(same_bits(dx0, dx1, m), "rows %zu x %d/%d: sigmoid grad differs", rows, len, stride);
  fv_split_first_grad(m, g0, dx0);
  fv_split_first_grad_rows(&r, gs, dx1);
  CHECK(same_bits(dx0, dx1, m), "rows %zu x %d/%d: first grad differs", rows, len, stride);
#undef PACK
  free(x), free(yb), free(gb), free(y0), free(g0), free(dx0), free(dx1), free(keep), free(packed);
}

/* The binary ops by output rows: a same-shape ADD (residuals), a SUB of a per-channel
 * constant (GoogLeNet's mean), a MUL by a per-image gate [N,1,1,C] (its gradient sums
 * over rows: one call), forward and both gradients, against one call each. */
static void check_binary_split(int n, int h, int w, int c) {
  const int shapes[3][4] = {{n, h, w, c}, {1, 1, 1, c}, {n, 1, 1, c}};
  for (int k = 0; k < 3; k++) {
    fv_bcast_shape s = {{n, h, w, c}, {0}, {n, h, w, c}};
    memcpy(s.b, shapes[k], sizeof s.b);
    const size_t ny = (size_t)n * h * w * c, nb = (size_t)s.b[0] * s.b[1] * s.b[2] * s.b[3];
    float *a = rand_buf(ny, -1, 1), *b = rand_buf(nb, -1, 1), *y0 = rand_buf(ny, 0, 0), *y1 = rand_buf(ny, 0, 0);
    float *dy = rand_buf(ny, -1, 1), *da0 = rand_buf(ny, -1, 1), *db0 = rand_buf(nb, -1, 1);
    float *da1 = (float *)malloc(ny * sizeof(float)), *db1 = (float *)malloc(nb * sizeof(float));
    memcpy(da1, da0, ny * sizeof(float));
    memcpy(db1, db0, nb * sizeof(float));
    fv_bcast_fn *fwd = k == 0 ? fv_add : k == 1 ? fv_sub : fv_mul;
    fwd(&s, a, b, FV_ACT_RELU, y0);
    fv_split_binary(fwd, &s, a, b, FV_ACT_RELU, y1);
    if (k < 2) {
      fv_bcast_grad_fn *gr = k == 0 ? fv_add_grad : fv_sub_grad;
      gr(&s, dy, da0, k == 0 ? db0 : NULL);
      fv_split_binary_grad(gr, &s, dy, da1, k == 0 ? db1 : NULL);
    } else {
      fv_mul_grad(&s, a, b, dy, da0, db0);
      fv_split_binary_grad_ab(fv_mul_grad, &s, a, b, dy, da1, db1);
    }
    CHECK(same_bits(y0, y1, ny) && same_bits(da0, da1, ny) && same_bits(db0, db1, nb),
          "binary %d n%d %dx%dx%d: split differs from one call", k, n, h, w, c);
    free(a), free(b), free(y0), free(y1), free(dy), free(da0), free(db0), free(da1), free(db1);
  }
}

static void check_lrn_split(size_t pixels, int c) {
  const fv_lrn_shape s = {pixels, c, 2, 2, 1e-4f / 5, 0.75f, 1.0f}; /* GoogLeNet's */
  const size_t m = pixels * (size_t)c;
  float *x = rand_buf(m, -3, 3), *y0 = rand_buf(m, 0, 0), *y1 = rand_buf(m, 0, 0), *dy = rand_buf(m, -1, 1);
  float *dx0 = rand_buf(m, -1, 1), *dx1 = (float *)malloc(m * sizeof(float));
  memcpy(dx1, dx0, m * sizeof(float));
  fv_lrn(&s, x, y0), fv_split_lrn(&s, x, y1);
  fv_lrn_grad(&s, x, y0, dy, dx0), fv_split_lrn_grad(&s, x, y0, dy, dx1);
  CHECK(same_bits(y0, y1, m), "lrn %zu x %d: split forward differs", pixels, c);
  CHECK(same_bits(dx0, dx1, m), "lrn %zu x %d: split gradient differs", pixels, c);
  free(x), free(y0), free(y1), free(dy), free(dx0), free(dx1);
}

/* Lucid's transforms on a batch of 5, forward and backward: the first run (one
 * thread) is the reference the runs on more threads must match bit for bit. */
/* Lucid's transforms on a batch of 5 (images over the threads) and of 1 (its forward
 * stages' rows over the threads; 4 draws, so some rotate), forward and backward: the
 * first run (one thread) is the reference the runs on more threads must match bit for bit. */
static float *tf_ref[2];
static void check_transform_batch(int n, int draws, float **ref) {
  fv_transform_opts o;
  fv_transform_opts_standard(&o, n, 40, 40, 56, 56);
  fv_error err;
  fv_transform *t = fv_transform_new(&o, &err);
  CHECK(t != NULL, "transform: %s", err.msg);
  if (!t) return;
  const size_t nin = (size_t)n * 40 * 40 * 3, nout = (size_t)n * 56 * 56 * 3, per = nout + nin;
  check_seed(5);
  float *in = rand_buf(nin, 0, 1), *out = rand_buf(nout, 0, 0), *dout = rand_buf(nout, -1, 1);
  float *din = rand_buf(nin, 0, 0), *got = (float *)malloc(per * draws * sizeof(float));
  fv_rng rng;
  fv_rng_seed(&rng, 3);
  for (int k = 0; k < draws; k++) {
    fv_transform_sample(t, &rng); /* different draws per image */
    fv_transform_forward(t, in, out);
    fv_transform_backward(t, dout, din);
    memcpy(got + k * per, out, nout * sizeof(float));
    memcpy(got + k * per + nout, din, nin * sizeof(float));
  }
  if (!*ref) *ref = got;
  else {
    for (int k = 0; k < draws; k++) {
      CHECK(same_bits(got + k * per, *ref + k * per, nout), "transform forward of %d image(s) on %d threads differs from one", n,
            fv_threads_count());
      CHECK(same_bits(got + k * per + nout, *ref + k * per + nout, nin),
            "transform backward of %d image(s) on %d threads differs from one", n, fv_threads_count());
    }
    free(got);
  }
  free(in), free(out), free(dout), free(din);
  fv_transform_free(t);
}

/* The CPPN (cppn.c: GEMM rows, the weight gradient's output units and the composite
 * activation's pixels over the threads), logits and weight gradient of image 1 of 2
 * at 41×37 (chunks of 1024 and 493 pixels): the first run (one thread) is the
 * reference. Each hidden layer's weight gradient and composite has work for several parts. */
static float *cppn_ref;
static void check_cppn(void) {
  fv_error err;
  fv_cppn *c = fv_cppn_new(2, 4, 9, &err);
  CHECK(c != NULL, "cppn: %s", err.msg);
  if (!c) return;
  const int h = 41, w = 37;
  CHECK(h * w > FV_CPPN_CHUNK, "the drawing spans chunks");
  const size_t nl = (size_t)h * w * 4, one = fv_cppn_count_one(c);
  check_seed(6);
  float *v = fv_cppn_values(c);
  for (size_t i = 0; i < fv_cppn_count(c); i++) v[i] += check_uniform(-0.5f, 0.5f); /* a live output layer */
  float *dl = rand_buf(nl, -1, 1), *got = (float *)malloc((nl + one) * sizeof(float));
  fv_cppn_logits(c, v, 1, h, w, got);
  fv_cppn_backward(c, 1, h, w, dl, got + nl);
  if (!cppn_ref) cppn_ref = got;
  else {
    CHECK(same_bits(got, cppn_ref, nl), "cppn logits on %d threads differ from one", fv_threads_count());
    CHECK(same_bits(got + nl, cppn_ref + nl, one), "cppn weight gradient on %d threads differs from one",
          fv_threads_count());
    free(got);
  }
  free(dl);
  fv_cppn_free(c);
}

static void check_splits(void) {
  check_seed(11);
  for (size_t k = 0; k < sizeof SPECS / sizeof SPECS[0]; k++) check_conv_split(&SPECS[k]);
  check_fc_split(1, 1280, 1001); /* a classifier head: output channels split */
  check_fc_split(5, 300, 70);
  check_fc_split(77, 90, 45);    /* rows split, at least 16 a part */
  check_act_split(1, 100003, 0);
  check_act_split(4, 30001, 1);
  check_pool_split(1, 1, 57, 55, 67, 3, 2, 0, 1); /* GoogLeNet's ceil-mode 3×3 s2 */
  check_pool_split(1, 2, 28, 29, 45, 3, 1, 1, 0); /* the inception blocks' 3×3 s1, batch 2 */
  check_pool_split(0, 1, 30, 31, 13, 3, 2, 1, 0);
  check_unary_split(300007);
  check_first_grad_split(200003);
  check_rows_split(1, 3001, 64, 256, 128, 0); /* an inception branch's slice */
  check_rows_split(3, 1503, 13, 40, 27, 1);   /* odd channels: the kernels' scalar tails; redirected items */
  check_rows_split(2, 800, 24, 24, 0, 1);     /* stride == len: the plain calls */
  check_lrn_split(6007, 21);
  check_binary_split(2, 61, 67, 6); /* enough rows and work to cut, odd channels */
  check_transform_batch(5, 1, &tf_ref[0]);
  check_transform_batch(1, 4, &tf_ref[1]);
  check_cppn();
}

int main(void) {
  fv_error err;
  CHECK(fv_threads_count() == 1, "no helpers at start");
  CHECK(fv_threads_init(0, 1, &err) == FV_ERR_BAD_ARG, "0 threads refused");
  CHECK(fv_threads_init(FV_THREADS_MAX + 1, 1, &err) == FV_ERR_BAD_ARG, "too many threads refused");
  check_pool(1);
  check_splits(); /* one thread: the split calls are the kernels */
#if defined(__wasm__)
  CHECK(fv_threads_init(2, 1, &err) == FV_ERR_UNSUPPORTED, "the plain wasm build has no threads");
#else
  static const int counts[] = {4, 2, 3};
  for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
    const int nt = counts[k];
    CHECK(fv_threads_spawn(nt, &err) == FV_OK, "spawn %d: %s", nt, err.msg);
    CHECK(fv_threads_alive() == nt - 1, "%d helpers alive", nt - 1);
    CHECK(fv_threads_init(2, 1, &err) == FV_ERR_BAD_ARG, "init while helpers run is refused");
    check_pool(nt);
    sleep_ms(300); /* long enough for the helpers to stop spinning and park */
    check_pool(nt); /* they wake for the next job */
    check_splits();
    fv_threads_stop();
    CHECK(fv_threads_alive() == 0 && fv_threads_count() == 1, "after stop: no helpers, one thread");
  }
#endif
  free(tf_ref[0]);
  free(tf_ref[1]);
  free(cppn_ref);
  return check_summary("threads_test");
}
