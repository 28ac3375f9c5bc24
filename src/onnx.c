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
 * This file walks the graph (names, the image input, metadata, each node,
 * pruning); the values and op families live in onnx_values.c, onnx_eltwise.c,
 * onnx_nn.c and onnx_shape.c (onnx_lower.h says which does what).
 *
 * Anything else is refused with the op, the node's index and name: the model
 * is untrusted input, checked like the TFLite one (a node reading a tensor
 * no earlier node made, a cycle, dims past the caps, negative pads, data
 * shorter than its shape, weights over what a tab can hold).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_lower.h"

/* ==== one node ===================================================================================== */
/* Shape of an activation or constant: a constant of its dims at the native size. */
static int lower_shape(ox *X, val *x, val *y) {
  int64_t s = fv_ox_attr_i(X, "start", 0), e = fv_ox_attr_i(X, "end", x->rank);
  if (s < 0) s += x->rank;
  if (e < 0) e += x->rank;
  s = s < 0 ? 0 : s > x->rank ? x->rank : s;
  e = e < 0 ? 0 : e > x->rank ? x->rank : e;
  fv_onnx_const c = {0};
  c.rank = 1;
  c.dims[0] = e > s ? e - s : 0;
  TRY(fv_onnx_const_alloc(&c, 1, X->err));
  for (int64_t k = s; k < e; k++) c.i[k - s] = x->dims[k];
  return fv_ox_set_const(y, &c);
}

static int lower_node(ox *X, int i) {
  const fv_onnx_node *nd = &X->g->nodes[i];
  X->node = i;
  X->nd = nd;
  snprintf(X->where, sizeof X->where, "node %d \"%.60s\" (%.40s)", i, nd->name, nd->op_type);
  if (nd->domain[0] && strcmp(nd->domain, "ai.onnx") != 0) {
    X->where[0] = 0;
    return fv_ox_fail(X, UNSUP, "unsupported ONNX op %.40s.%.60s at node %d \"%.60s\"", nd->domain, nd->op_type, i, nd->name);
  }
  if (nd->n_out < 1 || !nd->out[0][0]) return fv_ox_fail(X, BAD, "no output");
  /* every input exists and was made before */
  int all_const = 1;
  for (int k = 0; k < nd->n_in; k++) {
    if (!nd->in[k][0]) continue;
    int j = fv_ox_lookup(X, nd->in[k]);
    if (j < 0) return fv_ox_fail(X, BAD, "reads tensor '%.80s', which no node, initializer or input makes", nd->in[k]);
    val *v = &X->v[fv_ox_root(X, j)];
    if (v->kind == V_UNSET)
      return fv_ox_fail(X, BAD, "reads tensor '%.80s' before node %d makes it (nodes out of order, or a cycle)", nd->in[k],
                  v->made_at);
    all_const &= v->kind == V_CONST;
  }
  if (strcmp(nd->op_type, "Shape") == 0) {
    val *x = fv_ox_input(X, 0);
    if (!x) return fv_ox_fail(X, BAD, "no input");
    return lower_shape(X, x, fv_ox_output(X, 0));
  }
  if (all_const && fv_onnx_fold_supported(nd->op_type)) {
    fv_onnx_const *in[MAX_WINDOW], y;
    if (nd->n_in > MAX_WINDOW) return fv_ox_fail(X, BAD, "%d inputs", nd->n_in);
    for (int k = 0; k < nd->n_in; k++) {
      val *v = fv_ox_input(X, k);
      in[k] = v ? fv_ox_cst(X, v) : NULL;
      if (v && !in[k]) return 0;
    }
    if (!fv_onnx_fold(nd, X->g->opset, in, nd->n_in, &y, X->err)) {
      char msg[sizeof X->err->msg];
      snprintf(msg, sizeof msg, "%s", X->err->msg);
      return fv_ox_fail(X, X->err->code, "%s", msg);
    }
    fv_ox_set_const(fv_ox_output(X, 0), &y);
    for (int k = 1; k < nd->n_out; k++)
      if (nd->out[k][0] && fv_ox_output(X, k)->uses) return fv_ox_fail(X, UNSUP, "output %d of a folded node is used", k);
    return 1;
  }
  static const fv_ox_lowering *const families[] = {fv_ox_eltwise_ops, fv_ox_nn_ops, fv_ox_shape_ops};
  for (int f = 0; f < 3; f++)
    for (const fv_ox_lowering *L = families[f]; L->op; L++) {
      if (strcmp(L->op, nd->op_type) != 0) continue;
      TRY(L->lower(X));
      for (int q = 0; q < nd->n_out; q++) {
        val *y = fv_ox_output(X, q);
        if (nd->out[q][0] && y->kind == V_UNSET && y->alias < 0 && y->uses)
          return fv_ox_fail(X, UNSUP, "output %d ('%.60s') is not supported", q, nd->out[q]);
      }
      return 1;
    }
  X->where[0] = 0;
  return fv_ox_fail(X, UNSUP, "unsupported ONNX op %.60s at node %d \"%.80s\"", nd->op_type, i, nd->name);
}

/* After a node: its inputs have one reader less; constants nobody reads any more are freed. */
static void release_inputs(ox *X, const fv_onnx_node *nd) {
  for (int k = 0; k < nd->n_in; k++) {
    if (!nd->in[k][0]) continue;
    val *v = &X->v[fv_ox_root(X, fv_ox_lookup(X, nd->in[k]))];
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
    if (classes > 1 && lines == classes) m->labels = fv_ox_dup(labels);
  }
}

/* ==== the graph ======================================================================================== */
static int image_input(ox *X) {
  const fv_onnx_graph *g = X->g;
  const fv_onnx_value *in = NULL;
  char s[64];
  for (int k = 0; k < g->n_inputs; k++) {
    int j = fv_ox_lookup(X, g->inputs[k].name);
    if (j >= 0 && X->v[j].kind == V_CONST) continue; /* old IRs list initializers as inputs */
    if (in) return fv_ox_fail(X, UNSUP, "the model has several inputs ('%.60s', '%.60s'); featviz runs one image input",
                        in->name, g->inputs[k].name);
    in = &g->inputs[k];
  }
  if (!in) return fv_ox_fail(X, BAD, "the model has no input");
  if (in->elem_type != FV_ONNX_FLOAT)
    return fv_ox_fail(X, UNSUP, "the input '%.60s' has type %s; featviz feeds float32", in->name, fv_onnx_dtype_name(in->elem_type));
  if (in->rank != 4)
    return fv_ox_fail(X, UNSUP, "the input '%.60s' has rank %d; featviz needs a 4-D image [N,3,H,W] or [N,H,W,3]", in->name, in->rank);
  int64_t d[4];
  memcpy(d, in->dims, sizeof d);
  int lay = d[1] == 3 || (d[1] < 0 && d[3] != 3) ? LAY_NCHW : d[3] == 3 ? LAY_ROW : -1;
  if (lay < 0)
    return fv_ox_fail(X, UNSUP, "the input '%.60s' has shape %s; featviz needs 3 channels", in->name, fv_ox_shape_str(4, d, s, sizeof s));
  if (d[0] > 1) return fv_ox_fail(X, UNSUP, "the input has batch %lld; featviz needs batch 1 or a symbolic batch", (long long)d[0]);
  d[0] = 1;
  for (int k = 1; k < 4; k++)
    if (d[k] < 0) d[k] = k == (lay == LAY_NCHW ? 1 : 3) ? 3 : 224; /* symbolic H and W: ImageNet's size */
  if (d[0] == 0 || d[2] == 0 || d[1] == 0 || d[3] == 0) return fv_ox_fail(X, BAD, "the input has an empty dimension");
  int j = fv_ox_lookup(X, in->name), t;
  if (j < 0) return fv_ox_fail(X, BAD, "internal: the input is not registered");
  TRY(fv_ox_act_tensor(X, in->name, lay, 4, d, &t));
  fv_ox_set_act(&X->v[j], t, lay, 4, d);
  X->m->input = t;
  return 1;
}

/* Registers initializers, inputs and node outputs by name; counts readers. */
static int index_names(ox *X) {
  const fv_onnx_graph *g = X->g;
  int64_t n = g->n_inits + g->n_inputs, weights = 0;
  for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].n_out;
  if (n > 4 * 100000) return fv_ox_fail(X, BAD, "%lld tensors", (long long)n);
  int cap = 16;
  while (cap < 2 * n) cap *= 2;
  X->v = (val *)calloc((size_t)n + 1, sizeof(val));
  X->ht = (int *)calloc((size_t)cap, sizeof(int));
  if (!X->v || !X->ht) return fv_ox_fail(X, FV_ERR_NO_MEMORY, "out of memory");
  X->hmask = cap - 1;
  for (int k = 0; k < g->n_inits; k++) {
    const fv_onnx_tensor *t = &g->inits[k];
    if (!t->name[0]) return fv_ox_fail(X, BAD, "initializer %d has no name", k);
    TRY(fv_ox_add_value(X, t->name, -1));
    val *v = &X->v[X->nv - 1];
    v->kind = V_CONST;
    v->src = t;
    v->rank = t->rank;
    memcpy(v->dims, t->dims, sizeof v->dims);
    weights += t->count;
  }
  /* what a tab can hold, before anything is allocated */
  if (weights > FV_MAX_WEIGHT_FLOATS)
    return fv_ox_fail(X, FV_ERR_NO_MEMORY, "the model's weights need %lld MB as float32; the limit is %lld MB",
                (long long)(weights >> 18), (long long)(FV_MAX_WEIGHT_FLOATS >> 18));
  for (int k = 0; k < g->n_inputs; k++)
    if (fv_ox_lookup(X, g->inputs[k].name) < 0) TRY(fv_ox_add_value(X, g->inputs[k].name, -1));
  for (int i = 0; i < g->n_nodes; i++) {
    const fv_onnx_node *nd = &g->nodes[i];
    for (int k = 0; k < nd->n_out; k++) {
      if (!nd->out[k][0]) continue;
      snprintf(X->where, sizeof X->where, "node %d \"%.60s\" (%.40s)", i, nd->name, nd->op_type);
      TRY(fv_ox_add_value(X, nd->out[k], i));
    }
  }
  X->where[0] = 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int j = g->nodes[i].in[k][0] ? fv_ox_lookup(X, g->nodes[i].in[k]) : -1;
      if (j >= 0) X->v[j].uses++;
    }
  for (int k = 0; k < g->n_outputs; k++) {
    int j = fv_ox_lookup(X, g->outputs[k].name);
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
    return fv_ox_fail(X, UNSUP, "opset %lld; featviz reads ONNX opsets 7 to 18", (long long)g->opset);
  if (!g->n_nodes) return fv_ox_fail(X, BAD, "the graph has no nodes");
  if (!g->n_outputs) return fv_ox_fail(X, BAD, "the graph has no outputs");
  TRY(index_names(X));
  TRY(image_input(X));
  read_metadata(X);
  for (int i = 0; i < g->n_nodes; i++) {
    TRY(lower_node(X, i));
    release_inputs(X, &g->nodes[i]);
  }
  X->where[0] = 0;
  int j = fv_ox_lookup(X, g->outputs[0].name);
  if (j < 0) return fv_ox_fail(X, BAD, "the model output '%.60s' is not computed by any node", g->outputs[0].name);
  val *y = &X->v[fv_ox_root(X, j)];
  if (y->kind != V_ACT) return fv_ox_fail(X, UNSUP, "the model output '%.60s' is a constant", g->outputs[0].name);
  int t = y->t;
  if (y->lay == LAY_FLAT) TRY(fv_ox_in_layout(X, y, LAY_ROW, &t));
  X->m->output = t;
  if (t == X->m->input) return fv_ox_fail(X, UNSUP, "the model output is its input");
  prune(X->m);
  if (!X->m->n_ops) return fv_ox_fail(X, UNSUP, "the model has no ops featviz runs");
  return 1;
}

fv_model *fv_onnx_load(const uint8_t *bytes, size_t n, fv_error *err) {
  fv_error_clear(err);
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
