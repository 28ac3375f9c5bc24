/* model_info.c — the parsed network, read-only, through fv.h: each op's
 * tensors and options and each tensor's shape and float32 values.
 *
 * It exists so that a second implementation of the same network (the
 * benchmark's tfjs peer) is built from exactly what the engine runs, read
 * from the .tflite by src/tflite.c, not from a reader of its own. Every
 * getter checks its indices and answers -1 / NULL when they are out of range.
 */
#include "model.h"

static const fv_op *op_at(const fv_model *m, int layer) {
  return m && layer >= 0 && layer < m->n_ops ? &m->ops[layer] : NULL;
}

static const fv_tensor *tensor_at(const fv_model *m, int t) {
  return m && t >= 0 && t < m->n_tensors ? &m->tensors[t] : NULL;
}

int fv_model_input_tensor(const fv_model *m) { return m ? m->input : -1; }

int fv_model_op_output(const fv_model *m, int layer) {
  const fv_op *op = op_at(m, layer);
  return op ? op->output : -1;
}

int fv_model_op_input_count(const fv_model *m, int layer) {
  const fv_op *op = op_at(m, layer);
  return op ? op->n_inputs : -1;
}

int fv_model_op_input(const fv_model *m, int layer, int k) {
  const fv_op *op = op_at(m, layer);
  return op && k >= 0 && k < op->n_inputs ? op->inputs[k] : -1;
}

/* The public codes of padding and activation are the internal enums' values;
 * these make sure the two never drift apart. */
_Static_assert(FV_PADDING_SAME == 0 && FV_PADDING_VALID == 1, "fv.h documents padding 0 SAME, 1 VALID");
_Static_assert(FV_ACT_NONE == 0 && FV_ACT_RELU == 1 && FV_ACT_RELU6 == 2, "fv.h documents activation 0, 1, 2");

double fv_model_op_option(const fv_model *m, int layer, int key) {
  const fv_op *op = op_at(m, layer);
  if (!op) return -1;
  switch (key) {
    case FV_OPT_STRIDE_H: return op->stride_h;
    case FV_OPT_STRIDE_W: return op->stride_w;
    case FV_OPT_DILATION_H: return op->dil_h;
    case FV_OPT_DILATION_W: return op->dil_w;
    case FV_OPT_FILTER_H: return op->filter_h;
    case FV_OPT_FILTER_W: return op->filter_w;
    case FV_OPT_PADDING: return op->padding;
    case FV_OPT_ACTIVATION: return op->act;
    case FV_OPT_DEPTH_MULTIPLIER: return op->depth_mult;
    case FV_OPT_AXIS: return op->axis;
    case FV_OPT_KEEP_DIMS: return op->keep_dims;
    case FV_OPT_MEAN_AXES: return op->mean_axes;
    case FV_OPT_BETA: return op->beta;
    default: return -1;
  }
}

int fv_model_tensor_count(const fv_model *m) { return m ? m->n_tensors : 0; }

int fv_model_tensor_rank(const fv_model *m, int t) {
  const fv_tensor *x = tensor_at(m, t);
  return x ? x->rank : -1;
}

int fv_model_tensor_dim(const fv_model *m, int t, int d) {
  const fv_tensor *x = tensor_at(m, t);
  return x && d >= 0 && d < x->rank ? x->dims[d] : -1;
}

const float *fv_model_tensor_data(const fv_model *m, int t) {
  const fv_tensor *x = tensor_at(m, t);
  return x ? x->data : NULL;
}
