/* onnx_proto.h — ONNX's schema: a ModelProto (read through protobuf.h)
 * decoded into plain structs, for the loader in onnx.c.
 *
 * What it reads (onnx.proto's field numbers are facts): the IR version, the
 * default domain's opset, metadata_props, and the main graph's nodes (op
 * type, name, domain, inputs, outputs, attributes), initializers, inputs and
 * outputs with their shapes. Tensors are decoded to a header (name, type,
 * shape) plus where their values lie in the file; fv_onnx_tensor_f32 / _i64
 * read the values on demand (raw_data or the typed *_data fields, packed or
 * not). It checks the structure (every length, count and type, names
 * without NUL bytes, element counts against the data), not the graph's
 * meaning: that is onnx.c's job.
 *
 * Memory: fv_onnx_read allocates everything it returns from a list the
 * graph owns; fv_onnx_graph_free releases it (also after a failed read).
 * Tensor values point into the caller's bytes, which must outlive the graph.
 *
 *   fv_onnx_graph g;
 *   if (!fv_onnx_read(bytes, n, &g, err)) { fv_onnx_graph_free(&g); return NULL; }
 *   for (int i = 0; i < g.n_nodes; i++) ... g.nodes[i].op_type ...
 *   fv_onnx_graph_free(&g);
 *
 * Errors: 0 with err set, FV_ERR_BAD_MODEL ("not an ONNX model: ..." when
 * the bytes are not a protobuf ModelProto at all), FV_ERR_UNSUPPORTED
 * (external data, sparse initializers) or FV_ERR_NO_MEMORY.
 */
#ifndef FV_ONNX_PROTO_H
#define FV_ONNX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define FV_ONNX_MAX_RANK 8

/* TensorProto.DataType */
enum {
  FV_ONNX_UNDEFINED = 0, FV_ONNX_FLOAT = 1, FV_ONNX_UINT8 = 2, FV_ONNX_INT8 = 3, FV_ONNX_UINT16 = 4,
  FV_ONNX_INT16 = 5, FV_ONNX_INT32 = 6, FV_ONNX_INT64 = 7, FV_ONNX_STRING = 8, FV_ONNX_BOOL = 9,
  FV_ONNX_FLOAT16 = 10, FV_ONNX_DOUBLE = 11, FV_ONNX_UINT32 = 12, FV_ONNX_UINT64 = 13, FV_ONNX_BFLOAT16 = 16
};
/* AttributeProto.AttributeType */
enum {
  FV_ONNX_ATTR_FLOAT = 1, FV_ONNX_ATTR_INT = 2, FV_ONNX_ATTR_STRING = 3, FV_ONNX_ATTR_TENSOR = 4,
  FV_ONNX_ATTR_GRAPH = 5, FV_ONNX_ATTR_FLOATS = 6, FV_ONNX_ATTR_INTS = 7, FV_ONNX_ATTR_STRINGS = 8
};

typedef struct {
  const char *name;
  int dtype;                        /* TensorProto.DataType */
  int rank;
  int64_t dims[FV_ONNX_MAX_RANK];
  int64_t count;                    /* elements */
  const uint8_t *raw;               /* raw_data (little-endian, fixed width), or NULL ... */
  size_t raw_len;
  const uint8_t *msg;               /* ... else the TensorProto, whose typed field holds the values */
  size_t msg_len;
  int typed_field;                  /* float_data 4, int32_data 5, int64_data 7, double_data 10, uint64_data 11; 0 = none */
} fv_onnx_tensor;

typedef struct {
  const char *name;
  int type;                         /* AttributeProto.AttributeType */
  float f;
  int64_t i;
  const char *s;                    /* STRING, NUL-terminated copy */
  fv_onnx_tensor *t;                /* TENSOR */
  int n_ints, n_floats;
  const int64_t *ints;              /* INTS */
  const float *floats;              /* FLOATS */
} fv_onnx_attr;

typedef struct {
  const char *op_type, *name, *domain;
  int n_in, n_out, n_attr;
  const char **in, **out;           /* "" = an optional input / output left out */
  fv_onnx_attr *attr;
} fv_onnx_node;

typedef struct {
  const char *name;
  int elem_type;                    /* 0 when the type is not a tensor or not given */
  int rank;                         /* -1 when no shape is given */
  int64_t dims[FV_ONNX_MAX_RANK];   /* -1: symbolic (dim_param) or unknown */
} fv_onnx_value;

typedef struct fv_onnx_block fv_onnx_block;

typedef struct {
  int64_t ir_version;
  int64_t opset;                    /* of the default domain ("" or "ai.onnx"); 0 if absent */
  int n_meta;
  const char **meta_key, **meta_value;
  int n_nodes, n_inits, n_inputs, n_outputs;
  fv_onnx_node *nodes;
  fv_onnx_tensor *inits;
  fv_onnx_value *inputs, *outputs;
  fv_onnx_block *mem;               /* every allocation above */
} fv_onnx_graph;

int fv_onnx_read(const uint8_t *bytes, size_t n, fv_onnx_graph *g, fv_error *err);
void fv_onnx_graph_free(fv_onnx_graph *g);

/* The node's attribute of that name, or NULL. */
const fv_onnx_attr *fv_onnx_attr_find(const fv_onnx_node *nd, const char *name);

/* The tensor's values as float32 (any numeric type; int64 rounded) or int64
 * (integer and bool types only). out holds t->count elements. 0 with err
 * set when the data is malformed or of another type. */
int fv_onnx_tensor_f32(const fv_onnx_tensor *t, float *out, fv_error *err);
int fv_onnx_tensor_i64(const fv_onnx_tensor *t, int64_t *out, fv_error *err);

fv_dtype fv_onnx_dtype(int onnx_type);      /* FV_DT_NONE for strings, complex, ... */
const char *fv_onnx_dtype_name(int onnx_type);
int fv_onnx_dtype_is_int(int onnx_type);    /* integer or bool */

#endif
