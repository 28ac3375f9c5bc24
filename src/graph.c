/* graph.c — shape inference at any input size, forward over the op list,
 * backward to the input. The kernels do the arithmetic; this file decides
 * shapes, buffers and order. The hot kernels go through split.h, which runs
 * them on the engine's threads. */
#include "graph.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "profile.h"
#include "split.h"

/* The wasm build has 2 GB of address space at most; leave room for weights. */
#define FV_ARENA_MAX_BYTES ((size_t)1536 << 20)

struct fv_graph {
  const fv_model *m;
  int batch, h, w;
  int last_op;
  int with_grad;
  int (*dims)[4];        /* per tensor: N,H,W,C at this size (activations) */
  fv_conv_shape *geo;    /* per op: conv/pool geometry */
  float **act;           /* per tensor */
  float **grad;          /* per tensor, with gradients */
  unsigned char *live;   /* per tensor: gradient zeroed (and maybe seeded or accumulated) since zero_grad */
  int *view_of;          /* per tensor: the channel concat whose buffer holds it (a view), NOT_STORED, or -1 */
  int *view_off;         /* per view: its first channel there */
  int *out_of;           /* per op: the tensor it writes (a fused ReLU's output, or its own) */
  fv_act *act_of;        /* per op: the activation it applies (a fused ReLU's, or its own) */
  unsigned char *folded; /* per op: an ACT whose ReLU the op before it applies (graph.h) */
  unsigned char *sets_dx; /* per op: a conv whose split gradient writes all of dx (fv_conv_grad_sets) */
  int32_t **pool_idx;    /* per op, with gradients: a max pool's argmax from its forward (pool_idx, kernels.h) */
  int skips;             /* fv_graph_fusions was on when made: zero slices of a concat's gradient are skipped */
  unsigned char *unread; /* per tensor: nothing the caller reads depends on it (fv_graph_prune): not computed */
  int (*cat_dims)[4];    /* CONCAT scratch, sized for the op with most inputs */
  void **cat_ptrs;
  float *arena;
  size_t arena_floats;
};

/* ==== shape inference =========================================================== */

/* Constant tensors broadcast right-aligned, numpy style: [C] is 1×1×1×C. */
static void const_dims4(const fv_tensor *t, int d[4]) {
  for (int k = 0; k < 4; k++) d[k] = 1;
  for (int k = 0; k < t->rank; k++) d[4 - t->rank + k] = t->dims[k];
}

/* NHWC dims of an op input: a constant's (tmp is filled) or a planned activation's. */
static const int *tensor_dims(const fv_model *m, int (*dims)[4], int t, int tmp[4]) {
  if (m->tensors[t].data) {
    const_dims4(&m->tensors[t], tmp);
    return tmp;
  }
  return dims[t];
}

/* In double, saturating: on wasm32 a size_t product wraps (1×4096×4096×257 floats
 * → 2^24), which would plan an arena far too small for the layer. */
static size_t numel4(const int d[4]) {
  double n = (double)d[0] * d[1] * d[2] * d[3];
  return n <= 0 ? 0 : n < (double)SIZE_MAX ? (size_t)n : SIZE_MAX;
}

typedef struct {
  const fv_model *m;
  int (*dims)[4];
  fv_conv_shape *geo;
  fv_error *err;
} plan_ctx;

/* dims of an op input: an activation planned earlier, or a constant */
static const int *in_dims(plan_ctx *c, int t, int tmp[4]) { return tensor_dims(c->m, c->dims, t, tmp); }

static int plan_conv(plan_ctx *c, int i, const fv_op *op, const int x[4], int kh, int kw, int oc, int dm) {
  fv_conv_shape *s = &c->geo[i];
  memset(s, 0, sizeof *s);
  s->n = x[0];
  s->ih = x[1];
  s->iw = x[2];
  s->ic = x[3];
  s->kh = kh;
  s->kw = kw;
  s->sh = op->stride_h > 0 ? op->stride_h : 1;
  s->sw = op->stride_w > 0 ? op->stride_w : 1;
  s->dh = op->dil_h > 0 ? op->dil_h : 1;
  s->dw = op->dil_w > 0 ? op->dil_w : 1;
  s->dm = dm;
  s->oc = oc;
  s->act = op->act;
  s->groups = op->kind == FV_OP_CONV2D && op->groups > 1 ? op->groups : 1;
  fv_padding padding = op->padding;
  const int pool = op->kind == FV_OP_AVGPOOL2D || op->kind == FV_OP_MAXPOOL2D;
  if (pool && op->global) { /* the window is the whole map at this size */
    s->kh = kh = s->ih;
    s->kw = kw = s->iw;
    s->sh = s->sw = 1;
    padding = FV_PADDING_VALID;
  } else if (padding == FV_PADDING_EXPLICIT) {
    s->pt = op->pad_t, s->pl = op->pad_l, s->pb = op->pad_b, s->pr = op->pad_r;
    s->ceil_mode = pool && op->ceil_mode;
    if (s->pt < 0 || s->pl < 0 || s->pb < 0 || s->pr < 0 || s->pt > 4096 || s->pl > 4096 || s->pb > 4096 ||
        s->pr > 4096) {
      fv_error_set(c->err, FV_ERR_BAD_MODEL, "layer %d (%s): pads %d,%d,%d,%d out of range (0..4096)", i,
                   c->m->tensors[op->output].name, s->pt, s->pl, s->pb, s->pr);
      return 0;
    }
  }
  s->count_pad = op->kind == FV_OP_AVGPOOL2D && op->count_include_pad;
  if (kh < 1 || kw < 1 || kh > 4096 || kw > 4096 || s->sh > 4096 || s->sw > 4096 || s->dh > 4096 || s->dw > 4096) {
    fv_error_set(c->err, FV_ERR_BAD_MODEL, "layer %d (%s): window %dx%d, stride %dx%d or dilation %dx%d out of range",
                 i, c->m->tensors[op->output].name, kh, kw, s->sh, s->sw, s->dh, s->dw);
    return 0;
  }
  fv_conv_shape_pad(s, padding);
  if (s->oh <= 0 || s->ow <= 0) {
    fv_error_set(c->err, FV_ERR_SHAPE,
                 "layer %d (%s) cannot run at this input size: its %dx%d input is smaller than its %dx%d "
                 "window; use the model's native size",
                 i, c->m->tensors[op->output].name, s->ih, s->iw, kh, kw);
    return 0;
  }
  int *y = c->dims[op->output];
  y[0] = s->n;
  y[1] = s->oh;
  y[2] = s->ow;
  y[3] = oc;
  return 1;
}

/* The binary ops with NHWC broadcasting, as case labels. */
#define CASE_BINARY \
  case FV_OP_ADD:   \
  case FV_OP_SUB:   \
  case FV_OP_MUL:   \
  case FV_OP_DIV:   \
  case FV_OP_MAXIMUM: \
  case FV_OP_MINIMUM: \
  case FV_OP_PRELU

static int is_binary(fv_op_kind k) {
  switch (k) {
    CASE_BINARY: return 1;
    default: return 0;
  }
}

/* Ops whose kernels apply a fused activation (model.h: only NONE, RELU, RELU6 are fused). */
static int fuses_act(fv_op_kind k) {
  return k == FV_OP_CONV2D || k == FV_OP_DWCONV2D || k == FV_OP_FULLY_CONNECTED || k == FV_OP_AVGPOOL2D ||
         k == FV_OP_MAXPOOL2D || k == FV_OP_CONCAT || is_binary(k);
}

/* SLICE's output along one axis of size d: size -1 is "to the end" (model.h). 0 if it does not fit. */
static int slice_len(int d, int begin, int size, int step) {
  if (step < 1 || begin < 0 || begin >= d) return 0;
  if (size == -1) return (d - begin + step - 1) / step;
  if (size < 1 || (int64_t)begin + (int64_t)(size - 1) * step >= d) return 0;
  return size;
}

static int plan_op(plan_ctx *c, int i) {
  const fv_model *m = c->m;
  const fv_op *op = &m->ops[i];
  int *y = c->dims[op->output];
  int t0[4], t1[4];
  const int *x = in_dims(c, op->inputs[0], t0);
  if (op->kind == FV_OP_ACT ? (unsigned)op->act >= FV_ACT_COUNT
                            : op->act != FV_ACT_NONE && (!fuses_act(op->kind) || op->act > FV_ACT_RELU6)) {
    fv_error_set(c->err, FV_ERR_UNSUPPORTED, "layer %d (%s): activation %d is not supported fused into %s", i,
                 m->tensors[op->output].name, (int)op->act, fv_op_name(op->kind));
    return 0;
  }
  switch (op->kind) {
    case FV_OP_CONV2D: {
      const fv_tensor *w = &m->tensors[op->inputs[1]];
      const int g = op->groups > 1 ? op->groups : 1;
      if (x[3] % g || w->dims[0] % g || w->dims[3] * g != x[3]) goto channels;
      if (!plan_conv(c, i, op, x, w->dims[1], w->dims[2], w->dims[0], 1)) return 0;
      if (g == 1 && w->packed) { /* both directions' panels, packed at load (model.c) */
        c->geo[i].wpack = w->packed;
        c->geo[i].wgpack = fv_conv_pack_grad_part(w->dims[1] * w->dims[2] * w->dims[3], w->dims[0], w->packed);
        c->geo[i].wino = w->wino; /* 3×3 s1: conv.c runs it when the shape fits (winograd.h) */
      }
      return 1;
    }
    case FV_OP_DWCONV2D: {
      const fv_tensor *w = &m->tensors[op->inputs[1]];
      int oc = w->dims[3];
      if (x[3] <= 0 || oc % x[3] != 0) goto channels;
      return plan_conv(c, i, op, x, w->dims[1], w->dims[2], oc, oc / x[3]);
    }
    case FV_OP_AVGPOOL2D:
    case FV_OP_MAXPOOL2D:
      return plan_conv(c, i, op, x, op->filter_h, op->filter_w, x[3], 1);
    case FV_OP_FULLY_CONNECTED: {
      const fv_tensor *w = &m->tensors[op->inputs[1]];
      if ((size_t)x[1] * x[2] * x[3] != (size_t)w->dims[1]) {
        fv_error_set(c->err, FV_ERR_SHAPE,
                     "layer %d (%s) expects %d inputs per image but gets %dx%dx%d at this size; "
                     "use the model's native size",
                     i, m->tensors[op->output].name, w->dims[1], x[1], x[2], x[3]);
        return 0;
      }
      y[0] = x[0];
      y[1] = y[2] = 1;
      y[3] = w->dims[0];
      return 1;
    }
    CASE_BINARY: {
      const int *b = in_dims(c, op->inputs[1], t1);
      for (int k = 0; k < 4; k++) {
        if (x[k] != b[k] && x[k] != 1 && b[k] != 1) {
          fv_error_set(c->err, FV_ERR_SHAPE, "layer %d (%s): shapes %dx%dx%dx%d and %dx%dx%dx%d do not broadcast",
                       i, m->tensors[op->output].name, x[0], x[1], x[2], x[3], b[0], b[1], b[2], b[3]);
          return 0;
        }
        y[k] = x[k] > b[k] ? x[k] : b[k];
      }
      return 1;
    }
    case FV_OP_ACT:
    case FV_OP_SOFTMAX:
      memcpy(y, x, sizeof(int) * 4);
      return 1;
    case FV_OP_LRN:
      if (op->lrn_lo < 0 || op->lrn_hi < 0 || op->lrn_lo > 4096 || op->lrn_hi > 4096 || !(op->lrn_bias > 0.0f)) {
        fv_error_set(c->err, FV_ERR_BAD_MODEL, "layer %d (%s): LRN window -%d..+%d or bias %g out of range", i,
                     m->tensors[op->output].name, op->lrn_lo, op->lrn_hi, (double)op->lrn_bias);
        return 0;
      }
      memcpy(y, x, sizeof(int) * 4);
      return 1;
    case FV_OP_SLICE:
      for (int k = 0; k < 4; k++) {
        y[k] = slice_len(x[k], op->begin[k], op->size[k], op->step[k]);
        if (!y[k]) {
          fv_error_set(c->err, FV_ERR_SHAPE,
                       "layer %d (%s): slice %d:+%d:%d of axis %d does not fit its size %d at this input size", i,
                       m->tensors[op->output].name, op->begin[k], op->size[k], op->step[k], k, x[k]);
          return 0;
        }
      }
      return 1;
    case FV_OP_TRANSPOSE: {
      int seen = 0;
      for (int k = 0; k < 4; k++) {
        if (op->perm[k] < 0 || op->perm[k] > 3 || (seen >> op->perm[k] & 1)) {
          fv_error_set(c->err, FV_ERR_BAD_MODEL, "layer %d (%s): perm %d,%d,%d,%d is not a permutation of 0..3", i,
                       m->tensors[op->output].name, op->perm[0], op->perm[1], op->perm[2], op->perm[3]);
          return 0;
        }
        seen |= 1 << op->perm[k];
        y[k] = x[op->perm[k]];
      }
      return 1;
    }
    case FV_OP_MEAN:
      for (int k = 0; k < 4; k++) y[k] = (op->mean_axes >> k & 1) ? 1 : x[k];
      return 1;
    case FV_OP_PAD:
      for (int k = 0; k < 4; k++) {
        if (op->pads[k][0] < 0 || op->pads[k][1] < 0 || op->pads[k][0] > 4096 || op->pads[k][1] > 4096) {
          fv_error_set(c->err, FV_ERR_BAD_MODEL, "layer %d (%s): pads %d,%d of axis %d out of range (0..4096)", i,
                       m->tensors[op->output].name, op->pads[k][0], op->pads[k][1], k);
          return 0;
        }
        y[k] = x[k] + op->pads[k][0] + op->pads[k][1];
      }
      return 1;
    case FV_OP_CONCAT: {
      memcpy(y, x, sizeof(int) * 4);
      y[op->axis] = 0;
      for (int j = 0; j < op->n_inputs; j++) {
        const int *d = in_dims(c, op->inputs[j], t1);
        for (int k = 0; k < 4; k++)
          if (k != op->axis && d[k] != x[k]) goto channels;
        y[op->axis] += d[op->axis];
      }
      return 1;
    }
    case FV_OP_RESHAPE: {
      /* the first target dim is the batch; the rest must hold the same floats per image */
      size_t per = (size_t)x[1] * x[2] * x[3];
      int t[4] = {1, 1, 1, 1};
      int r = op->new_rank, unknown = -1;
      size_t known = 1;
      if (r == 0) { /* the planned dims of inputs[1] (model.h): the end of a channel shuffle */
        const int *d = op->n_inputs > 1 && op->inputs[1] >= 0 ? in_dims(c, op->inputs[1], t1) : NULL;
        if (!d || d[0] != x[0] || (size_t)d[1] * d[2] * d[3] != per) goto reshape;
        memcpy(y, d, sizeof(int) * 4);
        return 1;
      }
      if (r < 1 || r > 4) goto reshape;
      if (r == 1) { /* flattens the batch too: only batch 1 */
        if (x[0] != 1) goto reshape;
        y[0] = 1;
        y[1] = y[2] = 1;
        y[3] = (int)per;
        return 1;
      }
      for (int k = 1; k < r; k++) {
        int v = op->new_shape[k];
        if (v == -1 && unknown < 0) unknown = k;
        else if (v > 0) known *= (size_t)v;
        else goto reshape;
        t[4 - r + k] = v;
      }
      if (unknown >= 0) {
        if (known == 0 || per % known) goto reshape;
        t[4 - r + unknown] = (int)(per / known);
      } else if (known != per) {
        goto reshape;
      }
      y[0] = x[0];
      y[1] = t[1];
      y[2] = t[2];
      y[3] = t[3];
      return 1;
    }
    default:
      fv_error_set(c->err, FV_ERR_UNSUPPORTED, "layer %d: op %s is not supported by the graph", i,
                   fv_op_name(op->kind));
      return 0;
  }
channels:
  fv_error_set(c->err, FV_ERR_BAD_MODEL, "layer %d (%s): input shape %dx%dx%dx%d does not fit the op's weights", i,
               m->tensors[op->output].name, x[0], x[1], x[2], x[3]);
  return 0;
reshape:
  fv_error_set(c->err, FV_ERR_SHAPE,
               "layer %d (%s): cannot reshape %dx%dx%d per image at this input size; use the model's native size",
               i, m->tensors[op->output].name, x[1], x[2], x[3]);
  return 0;
}

/* Plans dims and geometry; returns the arena floats needed, or 0 on error. */
static size_t plan(const fv_model *m, int batch, int h, int w, int last_op, int with_grad, int (*dims)[4],
                   fv_conv_shape *geo, fv_error *err) {
  if (batch < 1 || batch > 64 || h < 1 || w < 1 || h > 4096 || w > 4096) {
    fv_error_set(err, FV_ERR_BAD_ARG, "batch %d and size %dx%d out of range (batch 1..64, size 1..4096)", batch, h, w);
    return 0;
  }
  if (last_op < 0 || last_op >= m->n_ops) {
    fv_error_set(err, FV_ERR_UNKNOWN_LAYER, "layer %d out of range (0..%d)", last_op, m->n_ops - 1);
    return 0;
  }
  const fv_tensor *in = &m->tensors[m->input];
  int c_in = in->dims[in->rank - 1];
  plan_ctx c = {m, dims, geo, err};
  memset(dims, 0, sizeof(int) * 4 * (size_t)m->n_tensors);
  dims[m->input][0] = batch;
  dims[m->input][1] = h;
  dims[m->input][2] = w;
  dims[m->input][3] = c_in;
  size_t total = numel4(dims[m->input]);
  if (total > FV_ARENA_MAX_BYTES / sizeof(float)) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "an input of batch %d at %dx%d is too large", batch, h, w);
    return 0;
  }
  for (int i = 0; i <= last_op; i++) {
    if (!plan_op(&c, i)) return 0;
    size_t n = numel4(dims[m->ops[i].output]);
    if (n == 0 || n > FV_ARENA_MAX_BYTES / sizeof(float)) {
      fv_error_set(err, FV_ERR_NO_MEMORY, "layer %d is too large at this size", i);
      return 0;
    }
    total += n;
    if (total > FV_ARENA_MAX_BYTES / sizeof(float)) break;
  }
  if (with_grad) {
    total *= 2;
    /* and each max pool's argmax, an int32 per output element, kept by its forward for its gradient */
    for (int i = 0; i <= last_op && total <= FV_ARENA_MAX_BYTES / sizeof(float); i++)
      if (m->ops[i].kind == FV_OP_MAXPOOL2D) total += numel4(dims[m->ops[i].output]);
  }
  if (total > FV_ARENA_MAX_BYTES / sizeof(float)) {
    fv_error_set(err, FV_ERR_NO_MEMORY,
                 "batch %d at %dx%d needs more than %zu MB of activations; use a smaller size or batch", batch, h,
                 w, FV_ARENA_MAX_BYTES >> 20);
    return 0;
  }
  return total;
}

size_t fv_graph_plan_bytes(const fv_model *m, int batch, int h, int w, int last_op, int with_grad, fv_error *err) {
  int(*dims)[4] = (int(*)[4])calloc((size_t)m->n_tensors, sizeof *dims);
  fv_conv_shape *geo = (fv_conv_shape *)calloc((size_t)m->n_ops, sizeof *geo);
  size_t floats = 0;
  if (!dims || !geo) fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
  else floats = plan(m, batch, h, w, last_op, with_grad, dims, geo, err);
  free(dims);
  free(geo);
  return floats * sizeof(float);
}

/* ==== views and fused ReLUs ======================================================== */

#define NOT_STORED (-2) /* view_of: a fused ReLU's input, which nothing reads */

static int fusions_on = 1;
void fv_graph_fusions(int on) { fusions_on = on != 0; }

/* Ops that apply a fused activation given to them (kernels.h), so a standalone
 * ReLU after them can run inside them. (Pools are left out: the max pool's
 * gradient matches windows against its output.) */
static int absorbs_relu(fv_op_kind k) { return k == FV_OP_CONV2D || k == FV_OP_DWCONV2D || k == FV_OP_FULLY_CONNECTED || is_binary(k); }

/* Marks the views (graph.h): an FV_OP_ACT output read once, by a channel concat
 * with no fused activation, both run, not pinned. reads[t]: the ops that read t,
 * -1 if pinned. Returns the floats they would have had on their own. */
static size_t mark_views(fv_graph *g, const int *reads, const int *made_by) {
  const fv_model *m = g->m;
  size_t saved = 0;
  for (int i = 0; i <= g->last_op; i++) {
    const fv_op *op = &m->ops[i];
    if (op->kind != FV_OP_CONCAT || op->axis != 3 || op->act != FV_ACT_NONE) continue;
    int off = 0;
    for (int j = 0; j < op->n_inputs; j++) {
      const int t = op->inputs[j];
      const int *d = tensor_dims(m, g->dims, t, (int[4]){0});
      const int p = made_by[t];
      if (reads[t] == 1 && t != m->input && p >= 0 && p < i && m->ops[p].kind == FV_OP_ACT) {
        g->view_of[t] = op->output;
        g->view_off[t] = off;
        saved += numel4(d);
      }
      off += d[3];
    }
  }
  return saved;
}

/* Marks the fused ReLUs (graph.h): an FV_OP_ACT RELU/RELU6 whose input is read by
 * it alone, not pinned, and made by an op that absorbs it with no activation of
 * its own; that op writes the ACT's output (not a view) and the input is not stored.
 * Returns the floats saved. */
static size_t mark_fused(fv_graph *g, const int *reads, const int *made_by) {
  const fv_model *m = g->m;
  size_t saved = 0;
  for (int a = 0; a <= g->last_op; a++) {
    const fv_op *op = &m->ops[a];
    if (op->kind != FV_OP_ACT || (op->act != FV_ACT_RELU && op->act != FV_ACT_RELU6) || g->view_of[op->output] >= 0)
      continue;
    const int p = op->inputs[0], c = made_by[p];
    if (reads[p] != 1 || p == m->input || c < 0 || !absorbs_relu(m->ops[c].kind) || m->ops[c].act != FV_ACT_NONE)
      continue;
    g->out_of[c] = op->output;
    g->act_of[c] = g->geo[c].act = op->act;
    g->folded[a] = 1;
    g->view_of[p] = NOT_STORED;
    saved += numel4(g->dims[p]);
  }
  return saved;
}

/* Views, then fused ReLUs, where views is set and fusions are on. The floats saved
 * (once; the caller doubles it with gradients). */
static size_t mark_rewrites(fv_graph *g, int views, const int *pinned, int n_pinned) {
  const fv_model *m = g->m;
  for (int t = 0; t < m->n_tensors; t++) g->view_of[t] = -1;
  for (int i = 0; i <= g->last_op; i++) {
    g->out_of[i] = m->ops[i].output;
    g->act_of[i] = m->ops[i].act;
  }
  if (!views || !fusions_on) return 0;
  int *reads = (int *)calloc((size_t)m->n_tensors, sizeof(int)), *made_by = (int *)malloc(sizeof(int) * m->n_tensors);
  size_t saved = 0;
  if (reads && made_by) { /* else none: correct, only bigger */
    for (int t = 0; t < m->n_tensors; t++) made_by[t] = -1;
    for (int i = 0; i <= g->last_op; i++) {
      made_by[m->ops[i].output] = i;
      for (int j = 0; j < m->ops[i].n_inputs; j++)
        if (m->ops[i].inputs[j] >= 0) reads[m->ops[i].inputs[j]]++;
    }
    for (int k = 0; k < n_pinned; k++)
      if (pinned[k] >= 0 && pinned[k] < m->n_tensors) reads[pinned[k]] = -1;
    saved = mark_views(g, reads, made_by);
    saved += mark_fused(g, reads, made_by);
  }
  free(reads);
  free(made_by);
  return saved;
}

/* A view's rows (fv_rows, split.h), or a plain tensor's (stride = its channels). */
static fv_rows rows_of(const fv_graph *g, int t) {
  const int *d = g->dims[t];
  const int v = g->view_of[t];
  fv_rows r = {(size_t)d[0] * d[1] * d[2], d[3], v >= 0 ? g->dims[v][3] : d[3]};
  return r;
}

static fv_graph *graph_new(const fv_model *m, int batch, int h, int w, int last_op, int with_grad, const int *pinned,
                           int n_pinned, int views, fv_error *err) {
  fv_graph *g = (fv_graph *)calloc(1, sizeof *g);
  if (!g) goto oom;
  g->m = m;
  g->batch = batch;
  g->h = h;
  g->w = w;
  g->last_op = last_op;
  g->with_grad = with_grad;
  g->skips = fusions_on;
  g->dims = (int(*)[4])calloc((size_t)m->n_tensors, sizeof *g->dims);
  g->geo = (fv_conv_shape *)calloc((size_t)m->n_ops, sizeof *g->geo);
  g->act = (float **)calloc((size_t)m->n_tensors, sizeof(float *));
  g->grad = (float **)calloc((size_t)m->n_tensors, sizeof(float *));
  g->live = (unsigned char *)calloc((size_t)m->n_tensors, 1);
  g->view_of = (int *)calloc((size_t)m->n_tensors, sizeof(int));
  g->view_off = (int *)calloc((size_t)m->n_tensors, sizeof(int));
  g->out_of = (int *)calloc((size_t)m->n_ops, sizeof(int));
  g->act_of = (fv_act *)calloc((size_t)m->n_ops, sizeof(fv_act));
  g->folded = (unsigned char *)calloc((size_t)m->n_ops, 1);
  g->sets_dx = (unsigned char *)calloc((size_t)m->n_ops, 1);
  g->pool_idx = (int32_t **)calloc((size_t)m->n_ops, sizeof(int32_t *));
  g->unread = (unsigned char *)calloc((size_t)m->n_tensors, 1);
  int most = 1;
  for (int i = 0; i < m->n_ops; i++)
    if (m->ops[i].n_inputs > most) most = m->ops[i].n_inputs;
  g->cat_dims = (int(*)[4])calloc((size_t)most, sizeof *g->cat_dims);
  g->cat_ptrs = (void **)calloc((size_t)most, sizeof(void *));
  if (!g->dims || !g->geo || !g->act || !g->grad || !g->live || !g->view_of || !g->view_off || !g->out_of ||
      !g->act_of || !g->folded || !g->sets_dx || !g->pool_idx || !g->unread || !g->cat_dims || !g->cat_ptrs)
    goto oom;
  g->arena_floats = plan(m, batch, h, w, last_op, with_grad, g->dims, g->geo, err);
  if (!g->arena_floats) {
    fv_graph_free(g);
    return NULL;
  }
  const size_t saved = mark_rewrites(g, views, pinned, n_pinned);
  for (int i = 0; i <= last_op; i++) { /* fixed by the shape: decided once, not every backward */
    const fv_op_kind k = m->ops[i].kind;
    g->sets_dx[i] = (k == FV_OP_CONV2D || k == FV_OP_DWCONV2D) && fv_conv_grad_sets(&g->geo[i], k == FV_OP_DWCONV2D);
  }
  g->arena_floats -= with_grad ? 2 * saved : saved;
  g->arena = (float *)calloc(g->arena_floats, sizeof(float));
  if (!g->arena) goto oom;
  float *p = g->arena;
  size_t n = numel4(g->dims[m->input]);
  g->act[m->input] = p;
  p += n;
  for (int i = 0; i <= last_op; i++) {
    int t = m->ops[i].output;
    if (g->view_of[t] != -1) continue;
    g->act[t] = p;
    p += numel4(g->dims[t]);
  }
  if (with_grad) {
    g->grad[m->input] = p;
    p += n;
    for (int i = 0; i <= last_op; i++) {
      int t = m->ops[i].output;
      if (g->view_of[t] != -1) continue;
      g->grad[t] = p;
      p += numel4(g->dims[t]);
    }
    for (int i = 0; i <= last_op; i++) {
      if (m->ops[i].kind != FV_OP_MAXPOOL2D) continue;
      g->pool_idx[i] = (int32_t *)(void *)p; /* as many int32 as the output's floats, used only as int32 */
      p += numel4(g->dims[m->ops[i].output]);
    }
  }
  for (int i = 0; i <= last_op; i++) { /* the views, once their concats have their buffers */
    const int t = m->ops[i].output, v = g->view_of[t];
    if (v < 0) continue;
    g->act[t] = g->act[v] + g->view_off[t];
    if (with_grad) g->grad[t] = g->grad[v] + g->view_off[t];
  }
  return g;
oom:
  fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory planning batch %d at %dx%d", batch, h, w);
  fv_graph_free(g);
  return NULL;
}

fv_graph *fv_graph_new(const fv_model *m, int batch, int h, int w, int last_op, int with_grad, fv_error *err) {
  return graph_new(m, batch, h, w, last_op, with_grad, NULL, 0, 0, err);
}

fv_graph *fv_graph_new_views(const fv_model *m, int batch, int h, int w, int last_op, int with_grad,
                             const int *pinned, int n_pinned, fv_error *err) {
  return graph_new(m, batch, h, w, last_op, with_grad, pinned, n_pinned, 1, err);
}

void fv_graph_free(fv_graph *g) {
  if (!g) return;
  free(g->arena);
  free(g->dims);
  free(g->geo);
  free(g->act);
  free(g->grad);
  free(g->live);
  free(g->view_of);
  free(g->view_off);
  free(g->out_of);
  free(g->act_of);
  free(g->folded);
  free(g->sets_dx);
  free(g->pool_idx);
  free(g->unread);
  free(g->cat_dims);
  free(g->cat_ptrs);
  free(g);
}

float *fv_graph_input(fv_graph *g) { return g->act[g->m->input]; }
size_t fv_graph_arena_bytes(const fv_graph *g) { return g->arena_floats * sizeof(float); }
int fv_graph_is_view(const fv_graph *g, int t) { return t >= 0 && t < g->m->n_tensors && g->view_of[t] >= 0; }

float *fv_graph_act(const fv_graph *g, int t) {
  return t >= 0 && t < g->m->n_tensors && g->view_of[t] == -1 ? g->act[t] : NULL;
}
const int *fv_graph_dims(const fv_graph *g, int t) { return g->dims[t]; }
size_t fv_graph_numel(const fv_graph *g, int t) { return numel4(g->dims[t]); }
int fv_graph_last_op(const fv_graph *g) { return g->last_op; }

double fv_op_flops(const fv_model *m, const fv_op *op, const fv_conv_shape *s, const int y[4]) {
  const double ny = (double)y[0] * y[1] * y[2] * y[3];
  switch (op->kind) {
    case FV_OP_CONV2D: return 2.0 * ny * s->kh * s->kw * (s->ic / (s->groups > 1 ? s->groups : 1));
    case FV_OP_DWCONV2D:
    case FV_OP_AVGPOOL2D:
    case FV_OP_MAXPOOL2D: return 2.0 * ny * s->kh * s->kw;
    case FV_OP_FULLY_CONNECTED: return 2.0 * ny * m->tensors[op->inputs[1]].dims[1];
    case FV_OP_LRN: return ny * (2.0 * (op->lrn_lo + op->lrn_hi + 1) + 4.0); /* window of squares, t, power, divide */
    default: return ny;
  }
}

double fv_graph_flops(const fv_graph *g) {
  double f = 0;
  for (int i = 0; i <= g->last_op; i++)
    if (!g->unread[g->m->ops[i].output]) f += fv_op_flops(g->m, &g->m->ops[i], &g->geo[i], g->dims[g->m->ops[i].output]);
  return f;
}

/* ==== forward ==================================================================== */

static const float *value(const fv_graph *g, int t) {
  const fv_tensor *tt = &g->m->tensors[t];
  return tt->data ? tt->data : g->act[t];
}

static void input_dims(const fv_graph *g, int t, int d[4]) {
  int tmp[4];
  memcpy(d, tensor_dims(g->m, g->dims, t, tmp), sizeof tmp);
}

static void bcast_shape(const fv_graph *g, const fv_op *op, fv_bcast_shape *s) {
  input_dims(g, op->inputs[0], s->a);
  input_dims(g, op->inputs[1], s->b);
  memcpy(s->y, g->dims[op->output], sizeof(int) * 4);
}

static const float *bias_of(const fv_graph *g, const fv_op *op) {
  return op->n_inputs > 2 && op->inputs[2] >= 0 ? g->m->tensors[op->inputs[2]].data : NULL;
}

/* The binary ops' kernels, by op kind; ADD and SUB need no input values for their gradient. */
static fv_bcast_fn *binary_fn(fv_op_kind k) {
  switch (k) {
    case FV_OP_ADD: return fv_add;
    case FV_OP_SUB: return fv_sub;
    case FV_OP_MUL: return fv_mul;
    case FV_OP_DIV: return fv_div;
    case FV_OP_MAXIMUM: return fv_maximum;
    case FV_OP_MINIMUM: return fv_minimum;
    default: return fv_prelu;
  }
}
static fv_bcast_grad_ab_fn *binary_grad_ab_fn(fv_op_kind k) {
  switch (k) {
    case FV_OP_MUL: return fv_mul_grad;
    case FV_OP_DIV: return fv_div_grad;
    case FV_OP_MAXIMUM: return fv_maximum_grad;
    case FV_OP_MINIMUM: return fv_minimum_grad;
    default: return fv_prelu_grad;
  }
}

static fv_lrn_shape lrn_shape(const fv_op *op, const int d[4]) {
  fv_lrn_shape s = {(size_t)d[0] * d[1] * d[2], d[3], op->lrn_lo, op->lrn_hi, op->lrn_alpha, op->lrn_beta, op->lrn_bias};
  return s;
}

static fv_slice_shape slice_shape(const fv_op *op, const int x[4], const int y[4]) {
  fv_slice_shape s;
  memcpy(s.d, x, sizeof s.d);
  memcpy(s.begin, op->begin, sizeof s.begin);
  memcpy(s.step, op->step, sizeof s.step);
  memcpy(s.y, y, sizeof s.y);
  return s;
}

static void forward_op(fv_graph *g, int i) {
  const fv_op *op = &g->m->ops[i];
  const fv_conv_shape *s = &g->geo[i];
  const fv_act act = g->act_of[i];
  float *y = g->act[g->out_of[i]];
  const float *x = value(g, op->inputs[0]);
  int xd[4]; /* input 0's dims, also when it is a constant */
  input_dims(g, op->inputs[0], xd);
  const int *yd = g->dims[op->output];
  const size_t ny = numel4(yd);
  switch (op->kind) {
    case FV_OP_CONV2D:
      fv_split_conv2d(s, x, g->m->tensors[op->inputs[1]].data, bias_of(g, op), y);
      break;
    case FV_OP_DWCONV2D:
      fv_split_dwconv2d(s, x, g->m->tensors[op->inputs[1]].data, bias_of(g, op), y);
      break;
    case FV_OP_FULLY_CONNECTED: {
      const fv_tensor *w = &g->m->tensors[op->inputs[1]];
      fv_split_fc(g->batch, w->dims[1], w->dims[0], x, w->data, bias_of(g, op), act, y);
      break;
    }
    CASE_BINARY: {
      fv_bcast_shape bs;
      bcast_shape(g, op, &bs);
      fv_split_binary(binary_fn(op->kind), &bs, x, value(g, op->inputs[1]), act, y);
      break;
    }
    case FV_OP_AVGPOOL2D:
      fv_split_avgpool2d(s, x, y); /* pools apply the fused activation themselves */
      break;
    case FV_OP_MAXPOOL2D:
      if (g->pool_idx[i]) fv_split_maxpool2d_idx(s, x, y, g->pool_idx[i]); /* its argmax, for the gradient */
      else fv_split_maxpool2d(s, x, y);
      break;
    case FV_OP_ACT: {
      const fv_act_params u = {op->act, op->act_a, op->act_b};
      const fv_rows r = rows_of(g, op->output); /* a view writes its slice of the concat */
      fv_split_unary_rows(&u, &r, x, y);
      break;
    }
    case FV_OP_LRN: {
      const fv_lrn_shape ls = lrn_shape(op, yd);
      fv_split_lrn(&ls, x, y);
      break;
    }
    case FV_OP_SLICE: {
      const fv_slice_shape ss = slice_shape(op, xd, yd);
      fv_slice(&ss, x, y);
      break;
    }
    case FV_OP_TRANSPOSE:
      fv_transpose(xd, op->perm, x, y);
      break;
    case FV_OP_MEAN:
      fv_mean(xd, op->mean_axes, x, y);
      break;
    case FV_OP_PAD:
      fv_pad(xd, op->pads, op->pad_value, x, y);
      break;
    case FV_OP_CONCAT: {
      int(*d)[4] = g->cat_dims;
      const float **xs = (const float **)g->cat_ptrs;
      for (int j = 0; j < op->n_inputs; j++) {
        input_dims(g, op->inputs[j], d[j]);
        /* a view is in place; an unread input's slice is left as it was */
        const int t = op->inputs[j];
        xs[j] = g->view_of[t] >= 0 || g->unread[t] ? NULL : value(g, t);
      }
      fv_concat(op->n_inputs, (const int(*)[4])d, op->axis, xs, y);
      fv_act_apply(op->act, ny, y);
      break;
    }
    case FV_OP_RESHAPE:
      memcpy(y, x, ny * sizeof(float));
      break;
    case FV_OP_SOFTMAX:
      fv_softmax((size_t)yd[0] * yd[1] * yd[2], yd[3], op->beta, x, y);
      break;
    default:
      break; /* refused at planning */
  }
}

/* need = the span of need and [a, b) (channels read apart are rare: one span each) */
static void widen(int need[2], int a, int b) {
  if (a >= b) return;
  if (need[0] < need[1]) {
    if (need[0] < a) a = need[0];
    if (need[1] > b) b = need[1];
  }
  need[0] = a, need[1] = b;
}

void fv_graph_prune(fv_graph *g, int n, const int (*reads)[3]) {
  const fv_model *m = g->m;
  if (!g->skips) return; /* op by op: every op runs (fv_graph_fusions) */
  int(*need)[2] = (int(*)[2])calloc((size_t)m->n_tensors, sizeof *need); /* channels [lo, hi) read */
  if (!need) return; /* then everything runs, as before */
  for (int k = 0; k < n; k++) {
    const int t = reads[k][0], c = g->dims[t][3], all = reads[k][2] <= 0;
    widen(need[t], all || reads[k][1] < 0 ? 0 : reads[k][1], all || reads[k][2] > c ? c : reads[k][2]);
  }
  for (int i = g->last_op; i >= 0; i--) {
    const fv_op *op = &m->ops[i];
    const int out = op->output, lo = need[out][0], hi = need[out][1];
    g->unread[out] = lo >= hi;
    if (lo >= hi) continue;
    int off = 0;
    for (int j = 0; j < op->n_inputs; j++) {
      const int t = op->inputs[j];
      if (t < 0 || m->tensors[t].data) continue; /* absent, or a constant */
      const int c = g->dims[t][3];
      /* a channel concat passes on the channels read of each input; any other op reads all of them */
      if (op->kind == FV_OP_CONCAT && op->axis == 3) {
        widen(need[t], lo - off > 0 ? lo - off : 0, hi - off < c ? hi - off : c);
        off += c;
      } else {
        widen(need[t], 0, c);
      }
    }
  }
  free(need);
}

void fv_graph_forward(fv_graph *g) {
  for (int i = 0; i <= g->last_op; i++) {
    if (g->folded[i] || g->unread[g->m->ops[i].output]) continue; /* the op before applied it; or nothing reads it */
    if (!fv_profile_on) {
      forward_op(g, i);
    } else {
      const double t0 = fv_profile_now_ms();
      forward_op(g, i);
      fv_profile_add(g->m, i, &g->geo[i], g->dims[g->m->ops[i].output], 0, t0);
    }
  }
}

/* ==== backward =================================================================== */

/* Gradients are zeroed lazily: a buffer is cleared when it is first handed out
 * after zero_grad (to the objective's seed, or to the first op that accumulates
 * into it), so the clearing happens next to its use, while the buffer is about
 * to be in cache, and never for a gradient nothing writes. */
void fv_graph_zero_grad(fv_graph *g) {
  if (!g->with_grad) return;
  memset(g->live, 0, (size_t)g->m->n_tensors);
}

static float *grad_live(fv_graph *g, int t) {
  if (!g->live[t]) {
    fv_split_zero(numel4(g->dims[t]), g->grad[t]);
    g->live[t] = 1;
  }
  return g->grad[t];
}

float *fv_graph_grad(fv_graph *g, int t) {
  if (!g->with_grad || t < 0 || t >= g->m->n_tensors || !g->grad[t] || g->view_of[t] != -1) return NULL;
  return grad_live(g, t);
}

/* An op input with a gradient: not a constant (weights are frozen). */
static int has_grad(const fv_graph *g, int t) { return !g->m->tensors[t].data && g->grad[t]; }

/* gradient buffer of an op input, or NULL if it has none */
static float *dx_of(fv_graph *g, int t) { return has_grad(g, t) ? grad_live(g, t) : NULL; }

/* 1 if x (an op input) has a gradient nothing has written since zero_grad: it is the
 * caller's to write whole (not cleared first; live from now on). The one rule for a
 * gradient's first writer, shared by first_grad and the convs' dx_set. */
static int claim_first(fv_graph *g, int t) {
  if (!has_grad(g, t) || g->live[t]) return 0;
  g->live[t] = 1;
  return 1;
}

/* An op whose gradient is dx += dy (RESHAPE, or an ACT whose RELU/RELU6 mask is
 * applied) into an x nothing has written yet: dx = dy, without clearing it first.
 * dy is rows r (a view's slice of its concat's gradient, or plain). 1 if it did that. */
static int first_grad(fv_graph *g, int t, const float *dy, const fv_rows *r) {
  if (!claim_first(g, t)) return 0;
  fv_split_first_grad_rows(r, dy, g->grad[t]);
  return 1;
}

/* floats of one block of a concat along axis: dims axis..3 */
static size_t concat_slice(const int d[4], int axis) {
  size_t s = 1;
  for (int k = axis; k < 4; k++) s *= (size_t)d[k];
  return s;
}

/* 1 if floats [off, off + len) of each of `outer` blocks of `stride` are all ±0
 * (a NaN counts as nonzero). The bits are OR-ed a row at a time, so it vectorizes. */
static int slice_zero(const float *v, size_t outer, size_t stride, size_t off, size_t len) {
  for (size_t o = 0; o < outer; o++) {
    const float *r = v + o * stride + off;
    uint32_t any = 0;
    for (size_t k = 0; k < len; k++) {
      uint32_t u;
      memcpy(&u, r + k, sizeof u);
      any |= u << 1; /* drops the sign: -0 is zero */
    }
    if (any) return 0;
  }
  return 1;
}

static void backward_op(fv_graph *g, int i, int redirect) {
  const fv_op *op = &g->m->ops[i];
  const fv_conv_shape *s = &g->geo[i];
  const fv_act act = g->act_of[i];
  int out = g->out_of[i];
  float *dy = g->grad[out];
  const float *y = g->act[out];
  const int *yd = g->dims[out];
  size_t ny = numel4(yd);
  int in0 = op->inputs[0];
  int xd[4];
  input_dims(g, in0, xd);

  /* a fused RELU/RELU6's derivative first, in place (dy is read by this op
   * only); a standalone FV_OP_ACT RELU/RELU6 too, so Lucid's redirect reaches
   * it as it reaches fused ones (ONNX models have separate Relu nodes) */
  const fv_rows r = rows_of(g, out); /* an ACT's output may be a view (dy its slice of the concat's gradient) */
  if (act == FV_ACT_RELU || act == FV_ACT_RELU6) fv_split_act_grad_rows(act, yd[0], &r, y, dy, redirect);

  switch (op->kind) {
    case FV_OP_CONV2D:
    case FV_OP_DWCONV2D: {
      /* the first gradient into x that writes all of it writes it: no clearing first (kernels.h, dx_set) */
      const int dw = op->kind == FV_OP_DWCONV2D;
      fv_conv_shape sx = *s;
      sx.dx_set = g->sets_dx[i] && claim_first(g, in0);
      float *dx = sx.dx_set ? g->grad[in0] : dx_of(g, in0);
      if (dx && dw) fv_split_dwconv2d_grad(&sx, dy, g->m->tensors[op->inputs[1]].data, dx);
      else if (dx) fv_split_conv2d_grad(&sx, dy, g->m->tensors[op->inputs[1]].data, dx);
      break;
    }
    case FV_OP_FULLY_CONNECTED: {
      const fv_tensor *w = &g->m->tensors[op->inputs[1]];
      float *dx = dx_of(g, in0);
      if (dx) fv_split_fc_grad(g->batch, w->dims[1], w->dims[0], dy, w->data, dx);
      break;
    }
    CASE_BINARY: {
      fv_bcast_shape bs;
      bcast_shape(g, op, &bs);
      float *da = dx_of(g, in0), *db = dx_of(g, op->inputs[1]);
      if (!da && !db) break;
      if (op->kind == FV_OP_ADD) fv_split_binary_grad(fv_add_grad, &bs, dy, da, db);
      else if (op->kind == FV_OP_SUB) fv_split_binary_grad(fv_sub_grad, &bs, dy, da, db);
      else fv_split_binary_grad_ab(binary_grad_ab_fn(op->kind), &bs, value(g, in0), value(g, op->inputs[1]), dy, da, db);
      break;
    }
    case FV_OP_AVGPOOL2D: {
      float *dx = dx_of(g, in0);
      if (dx) fv_avgpool2d_grad(s, dy, dx);
      break;
    }
    case FV_OP_MAXPOOL2D: {
      float *dx = dx_of(g, in0);
      if (dx) fv_split_maxpool2d_grad_idx(s, g->pool_idx[i], dy, dx);
      break;
    }
    case FV_OP_ACT: {
      /* RELU/RELU6 were applied above: what is left is dx += dy */
      const fv_act_params u = {op->act == FV_ACT_RELU || op->act == FV_ACT_RELU6 ? FV_ACT_NONE : op->act, op->act_a,
                          op->act_b};
      if (u.act == FV_ACT_NONE && first_grad(g, in0, dy, &r)) break;
      float *dx = dx_of(g, in0);
      if (dx) fv_split_unary_grad_rows(&u, &r, value(g, in0), y, dy, dx);
      break;
    }
    case FV_OP_LRN: {
      float *dx = dx_of(g, in0);
      const fv_lrn_shape ls = lrn_shape(op, yd);
      if (dx) fv_split_lrn_grad(&ls, value(g, in0), y, dy, dx);
      break;
    }
    case FV_OP_SLICE: {
      float *dx = dx_of(g, in0);
      const fv_slice_shape ss = slice_shape(op, xd, yd);
      if (dx) fv_slice_grad(&ss, dy, dx);
      break;
    }
    case FV_OP_TRANSPOSE: {
      float *dx = dx_of(g, in0);
      if (dx) fv_transpose_grad(xd, op->perm, dy, dx);
      break;
    }
    case FV_OP_MEAN: {
      float *dx = dx_of(g, in0);
      if (dx) fv_mean_grad(xd, op->mean_axes, dy, dx);
      break;
    }
    case FV_OP_PAD: {
      float *dx = dx_of(g, in0);
      if (dx) fv_pad_grad(xd, op->pads, dy, dx);
      break;
    }
    case FV_OP_CONCAT: {
      int(*d)[4] = g->cat_dims;
      float **dxs = (float **)g->cat_ptrs;
      for (int j = 0; j < op->n_inputs; j++) input_dims(g, op->inputs[j], d[j]);
      const size_t stride = concat_slice(yd, op->axis);
      size_t off = 0;
      for (int j = 0; j < op->n_inputs; j++) {
        const int t = op->inputs[j];
        const size_t len = concat_slice(d[j], op->axis);
        /* A slice of dy that is all zeros (a channel objective reaches one branch of
         * an Inception module) reaches no input: its branch's backward is skipped, as
         * nothing makes its gradient live. Its ops would only add zeros. */
        const int zero = g->unread[t] || (g->skips && slice_zero(dy, ny / (stride ? stride : 1), stride, off, len));
        off += len;
        dxs[j] = NULL;
        if (zero) continue;
        /* a view's gradient is its slice of dy already. (Where the copy gave 0 + -0 = +0
         * the slice may hold -0; its ACT adds it into a dx, which is never -0, so the
         * bits agree.) */
        if (g->view_of[t] >= 0) g->live[t] = 1;
        else dxs[j] = dx_of(g, t);
      }
      fv_concat_grad(op->n_inputs, (const int(*)[4])d, op->axis, dy, dxs);
      break;
    }
    case FV_OP_RESHAPE: {
      if (first_grad(g, in0, dy, &r)) break;
      float *dx = dx_of(g, in0);
      const fv_act_params identity = {FV_ACT_NONE, 0.0f, 0.0f};
      if (dx) fv_unary_grad(&identity, ny, NULL, NULL, dy, dx);
      break;
    }
    case FV_OP_SOFTMAX: {
      float *dx = dx_of(g, in0);
      if (dx) fv_softmax_grad((size_t)yd[0] * yd[1] * yd[2], yd[3], op->beta, y, dy, dx);
      break;
    }
    default:
      break;
  }
}

void fv_graph_backward(fv_graph *g, int redirect) {
  if (!g->with_grad) return;
  for (int i = g->last_op; i >= 0; i--) {
    if (g->folded[i] || g->unread[g->m->ops[i].output] || !g->live[g->out_of[i]]) continue;
    if (!fv_profile_on) {
      backward_op(g, i, redirect);
    } else {
      const double t0 = fv_profile_now_ms();
      backward_op(g, i, redirect);
      fv_profile_add(g->m, i, &g->geo[i], g->dims[g->m->ops[i].output], 1, t0);
    }
  }
}
