/* onnx_lower.h — the ONNX lowering's internals, shared by its files (not a
 * public header): the values every ONNX tensor becomes, the loader's
 * context, and the helpers the op lowerings use.
 *
 *   onnx.c          the graph: names, the image input, metadata, node by node, fv_onnx_load
 *   onnx_values.c   values by name, constants, attributes, layouts, emitting engine ops
 *   onnx_eltwise.c  activations, binary ops, PRelu, aliases, QuantizeLinear/DequantizeLinear
 *   onnx_nn.c       Conv, pools, LRN, BatchNormalization, Gemm, MatMul
 *   onnx_shape.c    Reshape, Flatten, (Un)Squeeze, Transpose, channel shuffle, Concat, Split,
 *                   Slice, Pad, Softmax, ReduceMean
 *
 * A value is a constant (fv_onnx_const, decoded on first use) or an
 * activation held in an engine tensor in one of the layouts below. Each
 * lowering reads its node's inputs with fv_ox_input / fv_ox_act_in, appends
 * engine ops with fv_ox_emit_out, and sets its outputs; errors go through
 * fv_ox_fail, which prefixes the node ("node 12 \"pool1\" (MaxPool): ..."),
 * and every function returns 1, or 0 with X->err set. The model owns what
 * the emitters add (fv_model_add_tensor / _op); values own their constants.
 */
#ifndef FV_ONNX_LOWER_H
#define FV_ONNX_LOWER_H

#include <stdint.h>

#include "model.h"
#include "onnx_fold.h"
#include "onnx_proto.h"
#include "loader.h"

#define MAXR FV_ONNX_MAX_RANK
#define MAX_WINDOW 4096  /* kernel sizes, strides, dilations, pads */

enum { V_UNSET, V_CONST, V_ACT, V_QACT };
/* SHUF, SHUFT: the 5-D middle of a channel shuffle, [N,g,C/g,H,W] and its
 * transpose [N,C/g,g,H,W]: no engine op until the Reshape back to NCHW. */
enum { LAY_NCHW, LAY_ROW, LAY_FLAT, LAY_SHUF, LAY_SHUFT };

typedef struct {
  const char *name;
  int kind;
  int alias;                /* ≥ 0: another value's name for the same data (resolved by fv_ox_root()) */
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


int fv_ox_fail(ox *X, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
val *fv_ox_act_in(ox *X, int k, const char *role);
int fv_ox_act_tensor(ox *X, const char *name, int lay, int rank, const int64_t *dims, int *t);
int fv_ox_add_value(ox *X, const char *name, int made_at);
float fv_ox_attr_f(ox *X, const char *name, float def);
int64_t fv_ox_attr_i(ox *X, const char *name, int64_t def);
int fv_ox_attr_ints(ox *X, const char *name, int n, const int64_t *def, int64_t lo, int64_t hi, int64_t *out);
const char *fv_ox_attr_s(ox *X, const char *name, const char *def);
int fv_ox_axis_in(ox *X, int64_t a, int rank, int *out);
int fv_ox_const_like(ox *X, val *c, int lay, int ra, int *t);
fv_onnx_const *fv_ox_cst(ox *X, val *v);
const float *fv_ox_cst_f(ox *X, val *v, int64_t *count);
char *fv_ox_dup(const char *s);
int fv_ox_eax(int lay, int rank, int a);
void fv_ox_edims(int lay, int rank, const int64_t *d, int64_t e[4]);
fv_op *fv_ox_emit(ox *X, fv_op_kind kind, int n_in, int out, const char *src_op);
fv_op *fv_ox_emit_out(ox *X, fv_op_kind kind, int n_in, val *y, int lay, int rank, const int64_t *dims);
fv_op *fv_ox_emit_reshape(ox *X, int x, int y, int wild, const char *src_op);
fv_op *fv_ox_emit_transpose(ox *X, int x, int y, const int q[4], const char *src_op);
int fv_ox_in_layout(ox *X, val *v, int want, int *t);
val *fv_ox_input(ox *X, int k);
int fv_ox_lookup(const ox *X, const char *name);
val *fv_ox_output(ox *X, int k);
int fv_ox_plain(ox *X, val *v, int *t, int *lay);
int fv_ox_root(const ox *X, int i);
int fv_ox_scalar_in(ox *X, int k, float def, float *out, const char *role);
void fv_ox_set_act(val *v, int t, int lay, int rank, const int64_t *dims);
int fv_ox_set_const(val *v, fv_onnx_const *c);
const char *fv_ox_shape_str(int rank, const int64_t *d, char *buf, size_t cap);

/* The lowerings of an op family: a table ending with {NULL, NULL}. */
typedef struct {
  const char *op;
  int (*lower)(ox *X);
} fv_ox_lowering;
extern const fv_ox_lowering fv_ox_eltwise_ops[], fv_ox_nn_ops[], fv_ox_shape_ops[];

#endif
