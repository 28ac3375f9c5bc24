/* split.c — each kernel call cut into parts for the threads, every output
 * element inside one part and computed there as the whole call computes it
 * (see split.h for the scheme; the kernels' conventions are in kernels.h). */
#include "split.h"

#include <string.h>

#include "threads.h"

/* Multiply-adds (or elements) a part should have at least: below that, posting
 * it to the helpers costs more than it saves. */
#define MIN_WORK 32768.0
/* Elementwise splits (the activation mask, the unary ops) cut blocks of this many floats:
 * a multiple of the SIMD kernels' 4, so each element takes the path it takes in one call. */
#define ELEMS 1024
/* FULLY_CONNECTED's forward on fewer rows splits its output channels in
 * groups of this many (a multiple of the dot products' 4). */
#define FC_COLS 64

/* ---- parts of a range of items -------------------------------------------------------------- */

typedef struct {
  int count, parts;
  fv_range_fn *fn;
  void *ctx;
} items_job;

static void items_part(void *p, int t, int u0, int u1) {
  const items_job *j = (const items_job *)p;
  const int b = (int)((long long)u0 * j->count / j->parts), e = (int)((long long)u1 * j->count / j->parts);
  j->fn(j->ctx, t, b, e);
}

/* fn(ctx, begin, end) over [0, count) in parts of at least min_items items and
 * about MIN_WORK of the call's work each, as many as a multiple of the threads
 * when there are that many; the whole range at once when that makes one part
 * or there is one thread. */
void fv_split_items(int count, int min_items, double work, fv_range_fn *fn, void *ctx) {
  double parts = count / (min_items > 0 ? min_items : 1);
  if (parts > work / MIN_WORK) parts = work / MIN_WORK;
  const int nt = fv_threads_count();
  if (parts < 2 || nt < 2) {
    if (count > 0) fn(ctx, 0, 0, count);
    return;
  }
  /* a multiple of the threads: 3 equal parts on 2 threads take 2 parts' time */
  int np = (int)parts;
  if (np >= nt) np -= np % nt;
  items_job j = {count, np, fn, ctx};
  fv_threads_for(j.parts, items_part, &j);
}

/* One kernel call's arguments. in: x or dy; out: y or dx. */
typedef struct {
  const fv_conv_shape *s;
  const float *in, *w, *b;
  float *out;
  int n, ic, oc;
  fv_act act;
  size_t per_item;
  const float *x, *y;         /* gradients that read the op's input and output (pools, LRN, unary) */
  const fv_act_params *u;     /* unary ops */
  const fv_lrn_shape *lrn;
  int32_t *idx;               /* the max pool's argmax (pool_idx) */
} call;

static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* ---- GEMM rows: 1×1 convs as a 1×P image, FULLY_CONNECTED as it is ---------------------------- */

/* The 1×1 conv on pixels [p0, p1): a 1 × (p1 - p0) image, the same GEMM on fewer rows. */
static fv_conv_shape pixels_shape(const fv_conv_shape *s, int p0, int p1) {
  fv_conv_shape r = *s;
  r.n = r.ih = r.oh = 1;
  r.iw = r.ow = p1 - p0;
  return r;
}

static void pointwise_fwd(void *p, int t, int p0, int p1) {
  const call *c = (const call *)p;
  const fv_conv_shape r = pixels_shape(c->s, p0, p1);
  fv_conv2d(&r, c->in + (size_t)p0 * c->s->ic, c->w, c->b, c->out + (size_t)p0 * c->s->oc);
}

static void pointwise_grad(void *p, int t, int p0, int p1) {
  const call *c = (const call *)p;
  const fv_conv_shape r = pixels_shape(c->s, p0, p1);
  fv_conv2d_grad(&r, c->in + (size_t)p0 * c->s->oc, c->w, c->out + (size_t)p0 * c->s->ic);
}

static void fc_rows(void *p, int t, int r0, int r1) {
  const call *c = (const call *)p;
  fv_fc(r1 - r0, c->ic, c->oc, c->in + (size_t)r0 * c->ic, c->w, c->b, c->act, c->out + (size_t)r0 * c->oc);
}

/* Units of (row, group of FC_COLS output channels), row-major. */
static void fc_cols(void *p, int t, int u0, int u1) {
  const call *c = (const call *)p;
  const int groups = (c->oc + FC_COLS - 1) / FC_COLS;
  for (int u = u0; u < u1; u++) {
    const int i = u / groups, o0 = (u % groups) * FC_COLS, no = c->oc - o0 < FC_COLS ? c->oc - o0 : FC_COLS;
    fv_fc(1, c->ic, no, c->in + (size_t)i * c->ic, c->w + (size_t)o0 * c->ic, c->b ? c->b + o0 : NULL, c->act,
          c->out + (size_t)i * c->oc + o0);
  }
}

static void fc_grad_rows(void *p, int t, int r0, int r1) {
  const call *c = (const call *)p;
  fv_fc_grad(r1 - r0, c->ic, c->oc, c->in + (size_t)r0 * c->oc, c->w, c->out + (size_t)r0 * c->ic);
}

/* ---- conv rows, per image -------------------------------------------------------------------
 * Forward: output rows [r0, r1) of image n are the same conv with oh = r1 - r0
 * and its padding moved up by r0 strides, reading the whole image. Gradient:
 * input rows [r0, r1) of image n receive from output rows [o0, o1) only; the
 * conv on those output rows into an image of rows [r0, r1) (padding moved to
 * match) skips the taps outside it, as it skips padding. */

enum { K_CONV, K_DWCONV, K_MAXPOOL, K_AVGPOOL, K_MAXPOOL_IDX };

static void conv_rows_fwd(const call *c, int n, int r0, int r1, int kind) {
  const fv_conv_shape *s = c->s;
  fv_conv_shape r = *s;
  r.n = 1;
  r.oh = r1 - r0;
  r.pt = s->pt - r0 * s->sh;
  const float *x = c->in + (size_t)n * s->ih * s->iw * s->ic;
  float *y = c->out + ((size_t)n * s->oh + r0) * s->ow * s->oc;
  if (kind == K_DWCONV) fv_dwconv2d(&r, x, c->w, c->b, y);
  else if (kind == K_MAXPOOL) fv_maxpool2d(&r, x, y);
  else if (kind == K_MAXPOOL_IDX) fv_maxpool2d_idx(&r, x, y, c->idx + (y - c->out)); /* its pixels are the image's */
  else if (kind == K_AVGPOOL) fv_avgpool2d(&r, x, y);
  else fv_conv2d(&r, x, c->w, c->b, y);
}

/* Output rows [*o0, *o1) of s with a tap in input rows [r0, r1): oy·sh − pt + ky·dh in it for some ky. */
static int rows_reaching(const fv_conv_shape *s, int r0, int r1, int *o0, int *o1) {
  *o0 = floor_div(r0 + s->pt - (s->kh - 1) * s->dh + s->sh - 1, s->sh), *o1 = floor_div(r1 - 1 + s->pt, s->sh) + 1;
  if (*o0 < 0) *o0 = 0;
  if (*o1 > s->oh) *o1 = s->oh;
  return *o0 < *o1;
}

static void conv_rows_grad(const call *c, int n, int r0, int r1, int kind) {
  const fv_conv_shape *s = c->s;
  int o0, o1;
  if (!rows_reaching(s, r0, r1, &o0, &o1)) return; /* nothing reaches these rows */
  fv_conv_shape r = *s;
  r.n = 1;
  r.ih = r1 - r0;
  r.oh = o1 - o0;
  r.pt = s->pt + r0 - o0 * s->sh;
  const float *dy = c->in + ((size_t)n * s->oh + o0) * s->ow * s->oc;
  float *dx = c->out + ((size_t)n * s->ih + r0) * s->iw * s->ic;
  if (kind == K_DWCONV) fv_dwconv2d_grad(&r, dy, c->w, dx);
  else fv_conv2d_grad(&r, dy, c->w, dx);
}

/* Rows [b, e) of the batch's rows (per image: oh forward, ih backward), image by image. */
static void each_image_rows(const call *c, int b, int e, int rows, int grad, int kind) {
  while (b < e) {
    const int n = b / rows, r0 = b % rows, r1 = e - n * rows < rows ? e - n * rows : rows;
    if (grad) conv_rows_grad(c, n, r0, r1, kind);
    else conv_rows_fwd(c, n, r0, r1, kind);
    b = (n + 1) * rows;
  }
}

#define ROWS_PART(name, rows, grad, kind) \
  static void name(void *p, int t, int b, int e) { each_image_rows((const call *)p, b, e, ((const call *)p)->s->rows, grad, kind); }
ROWS_PART(conv_fwd_part, oh, 0, K_CONV)
ROWS_PART(conv_grad_part, ih, 1, K_CONV)
ROWS_PART(dw_fwd_part, oh, 0, K_DWCONV)
ROWS_PART(dw_grad_part, ih, 1, K_DWCONV)
ROWS_PART(maxpool_fwd_part, oh, 0, K_MAXPOOL)
ROWS_PART(maxpool_idx_part, oh, 0, K_MAXPOOL_IDX)
ROWS_PART(avgpool_fwd_part, oh, 0, K_AVGPOOL)

static void conv_blocks_part(void *p, int t, int b0, int b1) {
  const call *c = (const call *)p;
  fv_conv2d_block_range(c->s, c->in, c->w, c->b, c->out, b0, b1);
}

static void conv_grad_blocks_part(void *p, int t, int b0, int b1) {
  const call *c = (const call *)p;
  fv_conv2d_grad_block_range(c->s, c->in, c->w, c->out, b0, b1);
}

/* Multiply-adds of a conv family op (forward or input gradient alike; a pool's taps). */
static double conv_work(const fv_conv_shape *s, int depthwise) {
  const double k = (double)s->kh * s->kw * (depthwise ? 1 : s->ic / (s->groups > 1 ? s->groups : 1));
  return (double)s->n * s->oh * s->ow * s->oc * k;
}

/* A conv's blocks, where runs of `group` of them share set-up work a part redoes
 * (fv_conv2d_blocks: a Winograd block's units, 1 to 6 blocks at GoogLeNet's
 * 128-px maps): then one part per thread, each redoing it once, not in every
 * one of four chunks per thread. */
static void split_blocks(int blocks, int group, double work, fv_range_fn *fn, call *c) {
  const int nt = fv_threads_count();
  fv_split_items(blocks, group > 1 && blocks >= 2 * nt ? blocks / nt : 1, work, fn, c);
}

/* ---- the split calls --------------------------------------------------------------------------- */

void fv_split_conv2d(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
  call c = {.s = s, .in = x, .w = w, .b = b, .out = y};
  const double work = conv_work(s, 0);
  if (fv_conv2d_is_pointwise(s)) {
    const int P = s->n * s->oh * s->ow;
    fv_split_items(P, FV_SPLIT_GEMM_MIN_ROWS, work, pointwise_fwd, &c);
    return;
  }
  int group;
  const int blocks = fv_conv2d_blocks(s, &group);
  if (blocks > 0) split_blocks(blocks, group, work, conv_blocks_part, &c); /* SIMD im2col or Winograd */
  else fv_split_items(s->n * s->oh, 1, work, conv_fwd_part, &c);
}

void fv_split_conv2d_grad(const fv_conv_shape *s, const float *dy, const float *w, float *dx) {
  call c = {.s = s, .in = dy, .w = w, .out = dx};
  const double work = conv_work(s, 0);
  int group;
  const int blocks = fv_conv2d_grad_blocks(s, &group);
  if (fv_conv2d_is_pointwise(s)) fv_split_items(s->n * s->oh * s->ow, 1, work, pointwise_grad, &c);
  else if (blocks > 0) split_blocks(blocks, group, work, conv_grad_blocks_part, &c); /* Winograd tiles of dx */
  else {
    /* a part re-runs the output rows on its borders, about (kh−1)·dh/sh of them: give it
     * at least 4 times as many of its own (the 7×7 s2 conv re-ran 75% with 8 input rows) */
    const int reach = (s->kh - 1) * s->dh, rows = 4 * (reach > s->sh ? reach : s->sh);
    fv_split_items(s->n * s->ih, rows, work, conv_grad_part, &c);
  }
}

void fv_split_dwconv2d(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
  call c = {.s = s, .in = x, .w = w, .b = b, .out = y};
  fv_split_items(s->n * s->oh, 1, conv_work(s, 1), dw_fwd_part, &c);
}

void fv_split_dwconv2d_grad(const fv_conv_shape *s, const float *dy, const float *w, float *dx) {
  call c = {.s = s, .in = dy, .w = w, .out = dx};
  fv_split_items(s->n * s->ih, 1, conv_work(s, 1), dw_grad_part, &c);
}

void fv_split_fc(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y) {
  call c = {.in = x, .w = w, .b = b, .out = y, .n = n, .ic = ic, .oc = oc, .act = act};
  const double work = (double)n * ic * oc;
  if (n >= FV_SPLIT_GEMM_MIN_ROWS) fv_split_items(n, FV_SPLIT_GEMM_MIN_ROWS, work, fc_rows, &c);
  else fv_split_items(n * ((oc + FC_COLS - 1) / FC_COLS), 1, work, fc_cols, &c);
}

void fv_split_fc_grad(int n, int ic, int oc, const float *dy, const float *w, float *dx) {
  call c = {.in = dy, .w = w, .out = dx, .n = n, .ic = ic, .oc = oc};
  fv_split_items(n, 1, (double)n * ic * oc, fc_grad_rows, &c);
}

/* ---- binary ops: rows of the output (image, row); an input's own rows, or its one broadcast row -------- */

typedef struct {
  const fv_bcast_shape *s;
  fv_bcast_fn *fwd;
  fv_bcast_grad_fn *grad;
  fv_bcast_grad_ab_fn *grad_ab;
  const float *a, *b, *dy;
  float *y, *da, *db;
  fv_act act;
} binary_call;

/* floats before row h of image n of an input with dims d (0 along its broadcast dims) */
static size_t bcast_at(const int d[4], int n, int h) {
  return ((size_t)(d[0] == 1 ? 0 : n) * d[1] + (d[1] == 1 ? 0 : h)) * d[2] * d[3];
}

static void binary_part(void *p, int t, int b, int e) {
  const binary_call *c = (const binary_call *)p;
  const fv_bcast_shape *s = c->s;
  const int H = s->y[1];
  while (b < e) {
    const int n = b / H, h0 = b % H, h1 = e - n * H < H ? e - n * H : H;
    fv_bcast_shape r = *s;
    r.y[0] = r.a[0] = r.b[0] = 1;
    r.y[1] = h1 - h0;
    if (s->a[1] != 1) r.a[1] = h1 - h0;
    if (s->b[1] != 1) r.b[1] = h1 - h0;
    const size_t ia = bcast_at(s->a, n, h0), ib = bcast_at(s->b, n, h0), iy = bcast_at(s->y, n, h0);
    if (c->fwd) c->fwd(&r, c->a + ia, c->b + ib, c->act, c->y + iy);
    else if (c->grad) c->grad(&r, c->dy + iy, c->da ? c->da + ia : NULL, c->db ? c->db + ib : NULL);
    else c->grad_ab(&r, c->a + ia, c->b + ib, c->dy + iy, c->da ? c->da + ia : NULL, c->db ? c->db + ib : NULL);
    b = (n + 1) * H;
  }
}

/* Rows of the output when each gradient sums within its own rows: an input broadcast along
 * the batch or the rows sums over them, and must stay one call. */
static void binary_run(binary_call *c) {
  const fv_bcast_shape *s = c->s;
  const int *y = s->y;
  const int sums = (c->da && (s->a[0] != y[0] || s->a[1] != y[1])) || (c->db && (s->b[0] != y[0] || s->b[1] != y[1]));
  if (!sums) {
    fv_split_items(y[0] * y[1], 1, 4.0 * y[0] * y[1] * y[2] * y[3], binary_part, c); /* 4: broadcasts are slow */
    return;
  }
  if (c->grad) c->grad(s, c->dy, c->da, c->db);
  else c->grad_ab(s, c->a, c->b, c->dy, c->da, c->db);
}

void fv_split_binary(fv_bcast_fn *fn, const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y) {
  binary_call c = {.s = s, .fwd = fn, .a = a, .b = b, .y = y, .act = act};
  binary_run(&c);
}

void fv_split_binary_grad(fv_bcast_grad_fn *fn, const fv_bcast_shape *s, const float *dy, float *da, float *db) {
  binary_call c = {.s = s, .grad = fn, .dy = dy, .da = da, .db = db};
  binary_run(&c);
}

void fv_split_binary_grad_ab(fv_bcast_grad_ab_fn *fn, const fv_bcast_shape *s, const float *a, const float *b,
                             const float *dy, float *da, float *db) {
  binary_call c = {.s = s, .grad_ab = fn, .a = a, .b = b, .dy = dy, .da = da, .db = db};
  binary_run(&c);
}

/* ---- activation mask ---------------------------------------------------------------------------- */

static void act_elems(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  fv_act_grad(c->act, 1, (size_t)(e - b) * ELEMS, c->in + (size_t)b * ELEMS, c->out + (size_t)b * ELEMS, 0);
}

static void act_items(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  fv_act_grad(c->act, e - b, c->per_item, c->in + (size_t)b * c->per_item, c->out + (size_t)b * c->per_item, 1);
}

void fv_split_act_grad(fv_act act, int n, size_t per_item, const float *y, float *dy, int redirect) {
  call c = {.in = y, .out = dy, .act = act, .per_item = per_item};
  const size_t total = (size_t)n * per_item;
  if (act == FV_ACT_NONE) return;
  if (redirect) { /* Lucid's rule looks at a whole batch item */
    fv_split_items(n, 1, (double)total, act_items, &c);
    return;
  }
  /* whole blocks; the tail past the last one on this thread */
  const size_t blocks = total / ELEMS;
  fv_split_items((int)blocks, 1, (double)blocks * ELEMS, act_elems, &c);
  if (total > blocks * ELEMS) fv_act_grad(act, 1, total - blocks * ELEMS, y + blocks * ELEMS, dy + blocks * ELEMS, 0);
}

/* ---- pools: output rows forward; the max pool's gradient by quads of channels ---------------------- */

void fv_split_maxpool2d(const fv_conv_shape *s, const float *x, float *y) {
  call c = {.s = s, .in = x, .out = y};
  fv_split_items(s->n * s->oh, 1, conv_work(s, 1), maxpool_fwd_part, &c);
}

void fv_split_maxpool2d_idx(const fv_conv_shape *s, const float *x, float *y, int32_t *idx) {
  call c = {.s = s, .in = x, .out = y, .idx = idx};
  fv_split_items(s->n * s->oh, 1, conv_work(s, 1), maxpool_idx_part, &c);
}

void fv_split_avgpool2d(const fv_conv_shape *s, const float *x, float *y) {
  call c = {.s = s, .in = x, .out = y};
  fv_split_items(s->n * s->oh, 1, conv_work(s, 1), avgpool_fwd_part, &c);
}

/* Channels [4·q0, 4·q1) of every window: a channel's argmax and its adds into dx are
 * the whole call's, in its order. (Input rows re-ran the windows on their borders and
 * GoogLeNet's 16×16 maps had too few rows to cut: 2 threads were slower than one.) */
static void maxpool_grad_part(void *p, int t, int q0, int q1) {
  const call *c = (const call *)p;
  fv_conv_shape r = *c->s;
  r.gc0 = 4 * q0;
  r.gc1 = 4 * q1 < r.ic ? 4 * q1 : r.ic;
  fv_maxpool2d_grad(&r, c->x, c->y, c->in, c->out);
}

static void maxpool_grad_idx_part(void *p, int t, int q0, int q1) {
  const call *c = (const call *)p;
  fv_conv_shape r = *c->s;
  r.gc0 = 4 * q0;
  r.gc1 = 4 * q1 < r.ic ? 4 * q1 : r.ic;
  fv_maxpool2d_grad_idx(&r, c->idx, c->in, c->out);
}

void fv_split_maxpool2d_grad_idx(const fv_conv_shape *s, const int32_t *idx, const float *dy, float *dx) {
  call c = {.s = s, .in = dy, .out = dx, .idx = (int32_t *)idx};
  /* an add per output element: a part needs more channels than the search's did */
  fv_split_items((s->ic + 3) / 4, 4, (double)s->n * s->oh * s->ow * s->ic, maxpool_grad_idx_part, &c);
}

void fv_split_maxpool2d_grad(const fv_conv_shape *s, const float *x, const float *y, const float *dy, float *dx) {
  call c = {.s = s, .in = dy, .out = dx, .x = x, .y = y};
  /* quads of channels, so each channel takes the SIMD kernel's path of the whole call */
  fv_split_items((s->ic + 3) / 4, 4, conv_work(s, 1), maxpool_grad_part, &c);
}

/* ---- elementwise: blocks of ELEMS floats, the tail with the last block --------------------------------- */

static void elems_parts(size_t n, fv_range_fn *fn, void *ctx) {
  const int blocks = (int)((n + ELEMS - 1) / ELEMS);
  fv_split_items(blocks, 1, (double)n, fn, ctx);
}
/* [b, e) blocks of c->per_item (= n) floats: the element range */
static inline size_t elem_end(const call *c, int e) { return (size_t)e * ELEMS < c->per_item ? (size_t)e * ELEMS : c->per_item; }

static void unary_part(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  const size_t i = (size_t)b * ELEMS;
  fv_unary(c->u, elem_end(c, e) - i, c->in + i, c->out + i);
}

static void unary_grad_part(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  const size_t i = (size_t)b * ELEMS;
  fv_unary_grad(c->u, elem_end(c, e) - i, c->x ? c->x + i : NULL, c->y ? c->y + i : NULL, c->in + i, c->out + i);
}

static void zero_part(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  const size_t i = (size_t)b * ELEMS;
  memset(c->out + i, 0, (elem_end(c, e) - i) * sizeof(float));
}

void fv_split_zero(size_t n, float *p) {
  call c = {.out = p, .per_item = n};
  elems_parts(n, zero_part, &c);
}

/* dx = dy + 0: -0 becomes +0, as 0 + dy did */
static inline void plus_zero(size_t n, const float *dy, float *dx) {
  for (size_t k = 0; k < n; k++) dx[k] = dy[k] + 0.0f;
}

static void first_grad_part(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  const size_t i = (size_t)b * ELEMS;
  plus_zero(elem_end(c, e) - i, c->in + i, c->out + i);
}

void fv_split_first_grad(size_t n, const float *dy, float *dx) {
  call c = {.in = dy, .out = dx, .per_item = n};
  elems_parts(n, first_grad_part, &c);
}

void fv_split_unary(const fv_act_params *u, size_t n, const float *x, float *y) {
  call c = {.u = u, .in = x, .out = y, .per_item = n};
  elems_parts(n, unary_part, &c);
}

void fv_split_unary_grad(const fv_act_params *u, size_t n, const float *x, const float *y, const float *dy, float *dx) {
  call c = {.u = u, .in = dy, .out = dx, .x = x, .y = y, .per_item = n};
  elems_parts(n, unary_grad_part, &c);
}

/* ---- elementwise over rows (a concat's slice, fv_rows): the kernel once per row ------------------- */

typedef struct {
  const fv_rows *r;
  const fv_act_params *u;
  fv_act act;
  int items;
  const float *x, *y, *dy; /* x: plain rows; y, dy: r's */
  float *out;               /* y forward (r's), dx backward (plain) */
} rows_call;

static inline size_t at(const fv_rows *r, size_t row) { return row * (size_t)r->stride; }
static inline size_t plain(const fv_rows *r, size_t row) { return row * (size_t)r->len; }

static void rows_parts(const fv_rows *r, fv_range_fn *fn, rows_call *c) {
  fv_split_items((int)r->rows, 1, (double)r->rows * r->len, fn, c);
}

static void unary_rows_part(void *p, int t, int b, int e) {
  const rows_call *c = (const rows_call *)p;
  for (size_t i = (size_t)b; i < (size_t)e; i++) fv_unary(c->u, (size_t)c->r->len, c->x + plain(c->r, i), c->out + at(c->r, i));
}

void fv_split_unary_rows(const fv_act_params *u, const fv_rows *r, const float *x, float *y) {
  if (r->stride == r->len) {
    fv_split_unary(u, r->rows * (size_t)r->len, x, y);
    return;
  }
  rows_call c = {.r = r, .u = u, .x = x, .out = y};
  rows_parts(r, unary_rows_part, &c);
}

static void unary_grad_rows_part(void *p, int t, int b, int e) {
  const rows_call *c = (const rows_call *)p;
  for (size_t i = (size_t)b; i < (size_t)e; i++)
    fv_unary_grad(c->u, (size_t)c->r->len, c->x ? c->x + plain(c->r, i) : NULL, c->y ? c->y + at(c->r, i) : NULL,
                  c->dy + at(c->r, i), c->out + plain(c->r, i));
}

void fv_split_unary_grad_rows(const fv_act_params *u, const fv_rows *r, const float *x, const float *y, const float *dy,
                              float *dx) {
  if (r->stride == r->len) {
    fv_split_unary_grad(u, r->rows * (size_t)r->len, x, y, dy, dx);
    return;
  }
  rows_call c = {.r = r, .u = u, .x = x, .y = y, .dy = dy, .out = dx};
  rows_parts(r, unary_grad_rows_part, &c);
}

static void first_grad_rows_part(void *p, int t, int b, int e) {
  const rows_call *c = (const rows_call *)p;
  for (size_t i = (size_t)b; i < (size_t)e; i++) plus_zero((size_t)c->r->len, c->dy + at(c->r, i), c->out + plain(c->r, i));
}

void fv_split_first_grad_rows(const fv_rows *r, const float *dy, float *dx) {
  if (r->stride == r->len) {
    fv_split_first_grad(r->rows * (size_t)r->len, dy, dx);
    return;
  }
  rows_call c = {.r = r, .dy = dy, .out = dx};
  rows_parts(r, first_grad_rows_part, &c);
}

static void act_grad_rows_part(void *p, int t, int b, int e) {
  const rows_call *c = (const rows_call *)p;
  const fv_rows *r = c->r;
  for (size_t i = (size_t)b; i < (size_t)e; i++)
    fv_act_grad(c->act, 1, (size_t)r->len, c->y + at(r, i), c->out + at(r, i), 0);
}

/* Items [b, e): Lucid's rule over an item's rows together. An item with a live unit
 * keeps the mask (rows with redirect 0); one without has none in any row, so each
 * row's own call with redirect 1 takes the redirected branch, as the item's would. */
static void act_grad_items_part(void *p, int t, int b, int e) {
  const rows_call *c = (const rows_call *)p;
  const fv_rows *r = c->r;
  const size_t per = r->rows / (size_t)c->items;
  for (size_t item = (size_t)b; item < (size_t)e; item++) {
    int any = 0;
    for (size_t i = item * per; i < (item + 1) * per && !any; i++)
      any = fv_act_grad_any_live(c->act, (size_t)r->len, c->y + at(r, i), c->out + at(r, i));
    for (size_t i = item * per; i < (item + 1) * per; i++)
      fv_act_grad(c->act, 1, (size_t)r->len, c->y + at(r, i), c->out + at(r, i), !any);
  }
}

void fv_split_act_grad_rows(fv_act act, int n, const fv_rows *r, const float *y, float *dy, int redirect) {
  if (act == FV_ACT_NONE) return;
  if (r->stride == r->len) {
    fv_split_act_grad(act, n, r->rows / (size_t)n * (size_t)r->len, y, dy, redirect);
    return;
  }
  rows_call c = {.r = r, .act = act, .items = n, .y = y, .out = dy};
  if (redirect) fv_split_items(n, 1, (double)r->rows * r->len, act_grad_items_part, &c);
  else rows_parts(r, act_grad_rows_part, &c);
}

/* ---- LRN: pixels (each pixel's channels are one sum) ------------------------------------------------ */

static void lrn_part(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  fv_lrn_shape r = *c->lrn;
  r.pixels = (size_t)(e - b);
  const size_t off = (size_t)b * r.c;
  fv_lrn(&r, c->in + off, c->out + off);
}

static void lrn_grad_part(void *p, int t, int b, int e) {
  const call *c = (const call *)p;
  fv_lrn_shape r = *c->lrn;
  r.pixels = (size_t)(e - b);
  const size_t off = (size_t)b * r.c;
  fv_lrn_grad(&r, c->x + off, c->y + off, c->in + off, c->out + off);
}

void fv_split_lrn(const fv_lrn_shape *s, const float *x, float *y) {
  call c = {.lrn = s, .in = x, .out = y};
  fv_split_items((int)s->pixels, 1, (double)s->pixels * s->c * (s->lo + s->hi + 1), lrn_part, &c);
}

void fv_split_lrn_grad(const fv_lrn_shape *s, const float *x, const float *y, const float *dy, float *dx) {
  call c = {.lrn = s, .in = dy, .out = dx, .x = x, .y = y};
  fv_split_items((int)s->pixels, 1, 2.0 * s->pixels * s->c * (s->lo + s->hi + 1), lrn_grad_part, &c);
}
