/* graph.h — runs a model's op list: forward, truncated at any layer, and
 * backward to the input (weights frozen).
 *
 * A graph is planned once for a batch and an input size: every activation
 * shape is inferred at that size (convolutional layers run at any size; ops
 * with a fixed size, such as a final 7×7 VALID pool, refuse with
 * FV_ERR_SHAPE), and one arena holds every activation (and, with gradients,
 * every gradient), so nothing is allocated per call and pointers into it stay
 * valid until fv_graph_free.
 *
 *   fv_graph *g = fv_graph_new(m, batch, h, w, last_op, with_grad, &err);
 *   memcpy(fv_graph_input(g), x, ...);           // NHWC, model's value range
 *   fv_graph_forward(g);
 *   const float *a = fv_graph_act(g, m->ops[k].output);
 *   fv_graph_zero_grad(g);
 *   fv_graph_grad(g, t)[...] = dLoss/da;         // seed, loss to MINIMIZE
 *   fv_graph_backward(g, redirect_relu);
 *   const float *dx = fv_graph_grad(g, m->input);
 *
 * Every activation is seen as NHWC 4-D; rank-2 [N, C] is N×1×1×C.
 * Each op kind of model.h runs at any input size the model allows (global
 * pools take the whole map, SLICE's size -1 the rest of an axis, RESHAPE
 * with new_rank 0 another activation's dims); bad fields (negative pads, a
 * perm that is not a permutation, a slice past an axis) are refused at
 * planning with FV_ERR_BAD_MODEL or FV_ERR_SHAPE, naming the layer.
 *
 * fv_graph_zero_grad only marks the gradients stale: each buffer is cleared
 * when it is first handed out after that (by fv_graph_grad, or to the first
 * op of the backward that accumulates into it), so take gradient pointers
 * after zero_grad, not before.
 */
#ifndef FV_GRAPH_H
#define FV_GRAPH_H

#include <stddef.h>

#include "kernels/kernels.h"
#include "model.h"

typedef struct fv_graph fv_graph;

/* Bytes the arena of such a graph needs, or 0 with err set if it cannot be planned. */
size_t fv_graph_plan_bytes(const fv_model *m, int batch, int h, int w, int last_op, int with_grad,
                           fv_error *err);
fv_graph *fv_graph_new(const fv_model *m, int batch, int h, int w, int last_op, int with_grad,
                       fv_error *err);
/* The same graph rewritten, for callers that know which activations they
 * read (the pinned tensors, read with fv_graph_act or seeded with
 * fv_graph_grad), with the same bits and less arena:
 *  - views: a channel concat's input made by an FV_OP_ACT (GoogLeNet's branch
 *    ReLUs) and read by nothing else is not stored on its own. The ACT
 *    writes its slice of the concat's buffer (rows of its channels, the
 *    concat's channels apart), the concat copies only its other inputs, and
 *    the slice of the concat's gradient is the ACT's gradient: no copies.
 *  - fused ReLUs: a standalone RELU/RELU6 (ONNX's Relu nodes) whose input
 *    only it reads runs inside the op that makes that input (a conv, FC or
 *    binary op without an activation of its own), as a TFLite fused
 *    activation does; the input is not stored.
 * fv_graph_act and fv_graph_grad return NULL for a view or an unstored
 * input; pinned tensors are neither. fv_graph_fusions(0) (fv.h; tests and
 * the benchmark) turns both off in graphs made after it. fv_graph_plan_bytes
 * counts neither: an upper bound. */
fv_graph *fv_graph_new_views(const fv_model *m, int batch, int h, int w, int last_op, int with_grad,
                             const int *pinned, int n_pinned, fv_error *err);
/* Only what the caller reads is computed: reads[k] = {tensor, c0, c1}, channels
 * [c0, c1) of it (c1 = 0: all). An op none of them depends on is skipped by
 * both forward and backward; its buffer keeps whatever it held, so only the
 * tensors read (and those they depend on) are current. Channels flow through
 * a channel concat and stop at any other op, which reads all of its inputs: a
 * channel objective on an Inception module's output runs one of its four
 * branches. Separately, the backward of a graph made with fusions on skips a
 * concat input whose slice of the gradient is all zeros (bits unchanged).
 * Call once, after making the graph; without it (or with fv_graph_fusions(0),
 * or out of memory for its scratch) every op runs. */
void fv_graph_prune(fv_graph *g, int n, const int (*reads)[3]);
void fv_graph_free(fv_graph *g);
size_t fv_graph_arena_bytes(const fv_graph *g);
int fv_graph_is_view(const fv_graph *g, int tensor);

float *fv_graph_input(fv_graph *g);
void fv_graph_forward(fv_graph *g);
/* NULL for tensors outside the planned run (constants, or after last_op), and
 * for those a rewrite does not store (fv_graph_new_views). */
float *fv_graph_act(const fv_graph *g, int tensor);
const int *fv_graph_dims(const fv_graph *g, int tensor); /* N,H,W,C */
size_t fv_graph_numel(const fv_graph *g, int tensor);
int fv_graph_last_op(const fv_graph *g);
/* Floating-point operations of one forward pass (a multiply-add counts 2),
 * of the ops that run (fv_graph_prune). */
double fv_graph_flops(const fv_graph *g);
/* ... of one op with geometry s (conv, depthwise, pools) and output dims y N,H,W,C
 * (the profile's count too). */
double fv_op_flops(const fv_model *m, const fv_op *op, const fv_conv_shape *s, const int y[4]);

void fv_graph_zero_grad(fv_graph *g);
float *fv_graph_grad(fv_graph *g, int tensor);   /* NULL without gradients */
/* Backpropagates from every seeded gradient to the input. redirect: Lucid's
 * redirected ReLU/ReLU6 gradient (used for the first steps of a render). */
void fv_graph_backward(fv_graph *g, int redirect);

#endif
