/* model_walk.h — the fuzz targets' check of a loaded model: every index in
 * range, every constant value finite (all of them read, so ASan checks each
 * buffer is as long as its shape says), every getter answering. Any
 * violation traps, which libFuzzer reports as a crash. */
#ifndef FV_MODEL_WALK_H
#define FV_MODEL_WALK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"

#define REQUIRE(c) \
  do {             \
    if (!(c)) __builtin_trap(); \
  } while (0)

static inline void walk(const fv_model *m) {
  REQUIRE(m->n_ops >= 1 && m->n_tensors >= 1);
  REQUIRE(m->input >= 0 && m->input < m->n_tensors && m->output >= 0 && m->output < m->n_tensors);
  for (int k = 0; k < 3; k++) REQUIRE(m->in_scale[k] > 0 && isfinite(m->in_offset[k]));
  for (int i = 0; i < m->n_tensors; i++) {
    const fv_tensor *t = &m->tensors[i];
    REQUIRE(t->name && strlen(t->name) < FV_NAME_MAX);
    REQUIRE(t->rank >= 0 && t->rank <= FV_MAX_RANK);
    int64_t c = 1;
    for (int k = 0; k < t->rank; k++) {
      REQUIRE(t->dims[k] >= 1);
      c *= t->dims[k];
    }
    if (t->data)
      for (int64_t k = 0; k < c; k++) REQUIRE(isfinite(t->data[k]));
  }
  for (int i = 0; i < m->n_ops; i++) {
    const fv_op *op = &m->ops[i];
    REQUIRE((unsigned)op->kind < FV_OP_COUNT);
    REQUIRE(op->output >= 0 && op->output < m->n_tensors && !m->tensors[op->output].data);
    REQUIRE(op->n_inputs >= 1 && op->inputs);
    for (int k = 0; k < op->n_inputs; k++) REQUIRE(op->inputs[k] >= -1 && op->inputs[k] < m->n_tensors);
    REQUIRE(fv_model_layer_name(m, i) && fv_model_layer_op(m, i));
    REQUIRE(fv_model_layer_find(m, fv_model_layer_name(m, i)) <= i);
    for (int d = 0; d < 4; d++) REQUIRE(fv_model_layer_dim(m, i, d) >= 1);
  }
  for (int d = 0; d < 4; d++) REQUIRE(fv_model_input_dim(m, d) >= 1);
}

/* A load's outcome: NULL with a code and a one-line message, or a model that walks. */
static inline void check_load(fv_model *m, const fv_error *err) {
  if (!m) {
    REQUIRE(err->code != FV_OK && memchr(err->msg, 0, sizeof err->msg) && err->msg[0]);
    return;
  }
  REQUIRE(err->code == FV_OK);
  walk(m);
  fv_model_free(m);
}

#endif
