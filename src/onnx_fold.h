/* onnx_fold.h — ONNX ops evaluated on constants at load time.
 *
 * PyTorch exports shape arithmetic as ops (Shape → Gather → Unsqueeze →
 * Concat → Reshape); weights come through Identity, Cast, Transpose or
 * DequantizeLinear. When every input of such a node is a constant, onnx.c
 * asks this module for its outputs, so the engine never runs them. The
 * semantics are ONNX's (opsets 7–18), numpy broadcasting included.
 *
 * Values are float32 (float types) or int64 (integer and bool types).
 * Memory: outputs are allocated here and owned by the caller
 * (fv_onnx_const_clear); inputs are not modified.
 *
 *   fv_onnx_const *in[2] = {&a, &b}, out;
 *   if (fv_onnx_fold_supported("Add"))
 *     ok = fv_onnx_fold(nd, opset, in, 2, &out, err);
 *
 * Errors: 0 with err set (FV_ERR_BAD_MODEL for inputs the op cannot take,
 * FV_ERR_UNSUPPORTED for an attribute or type it does not fold,
 * FV_ERR_NO_MEMORY for a result over FV_MAX_ACT_ELEMS elements).
 */
#ifndef FV_ONNX_FOLD_H
#define FV_ONNX_FOLD_H

#include "onnx_proto.h"

typedef struct {
  int rank;
  int64_t dims[FV_ONNX_MAX_RANK];
  int64_t count;
  int is_int;     /* values in i (int64) rather than f (float32) */
  int dtype;      /* the file's TensorProto.DataType where known (QuantizeLinear's range), else 0 */
  float *f;
  int64_t *i;
} fv_onnx_const;

void fv_onnx_const_clear(fv_onnx_const *c);
/* Allocates the values of a constant whose rank and dims are set. */
int fv_onnx_const_alloc(fv_onnx_const *c, int is_int, fv_error *err);
/* Element k as a double, and as an integer (exact for integer constants,
 * saturating for floats, NaN → 0). */
double fv_onnx_const_get(const fv_onnx_const *c, int64_t k);
int64_t fv_onnx_const_int(const fv_onnx_const *c, int64_t k);

/* 1 if fv_onnx_fold evaluates this op type. */
int fv_onnx_fold_supported(const char *op_type);
/* The node's first output from its constant inputs (in[k] NULL: input k left out). */
int fv_onnx_fold(const fv_onnx_node *nd, int64_t opset, fv_onnx_const *const *in, int n_in, fv_onnx_const *out,
                 fv_error *err);

/* numpy broadcasting of two shapes (right-aligned); 0 when they do not broadcast. */
int fv_onnx_broadcast(int ra, const int64_t *a, int rb, const int64_t *b, int *ry, int64_t *y);

/* Rules the loader shares for activations. Reshape's target: 0 copies the
 * input's dim (unless allowzero), one -1 is inferred from count. */
int fv_onnx_reshape_dims(const int64_t *shape, int n, int allowzero, int xr, const int64_t *xd, int64_t count,
                         int64_t *out, fv_error *err);
/* Slice's first index, element count and step per axis of a rank-r input of
 * these dims (inputs starts/ends/axes/steps at opset ≥ 10, else attributes),
 * with ONNX's clamping; axes not sliced get 0, dims[k], 1. */
int fv_onnx_slice_params(const fv_onnx_node *nd, fv_onnx_const *const *in, int n_in, int r, const int64_t *dims,
                         int64_t *first, int64_t *count, int64_t *step, fv_error *err);

#endif
