/* tflite.c — the TFLite loader: a .tflite flatbuffer (read through
 * flatbuffer.h) lowered to an fv_model (model.h): TFLite's schema, the
 * validation of its graph, and its constants dequantized to float32.
 *
 * The file is untrusted. Every index and count is checked before it is used
 * (the flatbuffer reader checks every offset, length and vtable), and sizes
 * are capped, so a truncated, corrupted or hostile file ends in NULL with err
 * set (FV_ERR_BAD_MODEL / FV_ERR_UNSUPPORTED / FV_ERR_NO_MEMORY and a message
 * saying what is wrong), never a crash, an out-of-bounds read, a hang or a
 * huge allocation. The schema is not recursive, so the work is bounded by
 * the vector lengths, which are bounded by the file size and the caps below.
 *
 * Schema facts come from TFLite's schema (tensorflow/lite/schema/schema.fbs).
 * The file is read top to bottom in the order data flows:
 *   schema facts → tensors → operators → constants (dequantization) →
 *   input/output → the loader.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatbuffer.h"
#include "le.h"
#include "model.h"
#include "tflite_meta.h"
#include "loader.h"

/* ==== limits ============================================================= */
#define TFL_MAX_TENSORS 100000
#define TFL_MAX_OPS 20000
#define TFL_MAX_OP_INPUTS 1024
#define TFL_MAX_DIM (1 << 24)
#define TFL_MAX_CONST_ELEMS ((int64_t)1 << 28)
#define TFL_MAX_WINDOW 4096                     /* strides, dilations, pool filters, pads */

/* ==== the loader's context and errors ==================================== */
/* The flatbuffer reader's context; where is prefixed to messages ("tensor 12", ...). */
typedef fv_fb ld;
#define fail fv_fb_fail
typedef fv_fb_table fbt;
typedef fv_fb_vec fbv;

/* ==== TFLite schema facts ================================================ */
/* Field ids (vtable slot order) of the tables we read. A union occupies two
 * ids: its type (u8) and then its value. */
enum { M_VERSION = 0, M_OPERATOR_CODES = 1, M_SUBGRAPHS = 2, M_BUFFERS = 4, M_METADATA = 6 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum { T_SHAPE = 0, T_TYPE = 1, T_BUFFER = 2, T_NAME = 3, T_QUANT = 4, T_SPARSITY = 6 };
enum { Q_SCALE = 2, Q_ZERO_POINT = 3, Q_DETAILS_TYPE = 4, Q_QDIM = 6 };
enum { OC_DEPRECATED_BUILTIN = 0, OC_CUSTOM = 1, OC_BUILTIN = 3 };
enum { OP_OPCODE_INDEX = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS_TYPE = 3, OP_OPTIONS = 4 };
enum { BUF_DATA = 0, BUF_OFFSET = 1, BUF_SIZE = 2 };

/* TensorType */
enum {
  TT_FLOAT32 = 0, TT_FLOAT16 = 1, TT_INT32 = 2, TT_UINT8 = 3, TT_INT64 = 4, TT_STRING = 5,
  TT_BOOL = 6, TT_INT16 = 7, TT_COMPLEX64 = 8, TT_INT8 = 9, TT_FLOAT64 = 10
};
static const char *const tt_names[] = {
    "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16", "COMPLEX64", "INT8",
    "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4"};
static const char *tt_name(int t) {
  return t >= 0 && t < (int)(sizeof tt_names / sizeof *tt_names) ? tt_names[t] : "unknown type";
}
/* Bytes per element of the types we can turn into f32; 0 = not a number we read. */
static int tt_size(int t) {
  switch (t) {
    case TT_FLOAT32: case TT_INT32: return 4;
    case TT_FLOAT16: case TT_INT16: return 2;
    case TT_UINT8: case TT_INT8: return 1;
    case TT_INT64: case TT_FLOAT64: return 8;
    default: return 0;
  }
}

/* BuiltinOperator codes we run (or fold), and the BuiltinOptions union
 * member each one's options must be. */
enum {
  B_ADD = 0, B_AVERAGE_POOL_2D = 1, B_CONCATENATION = 2, B_CONV_2D = 3, B_DEPTHWISE_CONV_2D = 4,
  B_DEQUANTIZE = 6, B_FULLY_CONNECTED = 9, B_LRN = 13, B_LOGISTIC = 14, B_MAX_POOL_2D = 17, B_MUL = 18,
  B_RELU = 19, B_RELU_N1_TO_1 = 20, B_RELU6 = 21, B_RESHAPE = 22, B_SOFTMAX = 25, B_TANH = 28, B_CUSTOM = 32,
  B_PAD = 34, B_TRANSPOSE = 39, B_MEAN = 40, B_SUB = 41, B_DIV = 42, B_SQUEEZE = 43, B_SPLIT = 49, B_PRELU = 54,
  B_MAXIMUM = 55, B_MINIMUM = 57, B_PADV2 = 60, B_LEAKY_RELU = 98, B_SPLIT_V = 102, B_QUANTIZE = 114,
  B_HARD_SWISH = 117
};
/* the BuiltinOptions union's member numbers (schema order, NONE = 0) */
enum {
  BO_NONE = 0, BO_CONV2D = 1, BO_DEPTHWISE_CONV2D = 2, BO_POOL2D = 5, BO_FULLY_CONNECTED = 8,
  BO_SOFTMAX = 9, BO_CONCATENATION = 10, BO_ADD = 11, BO_LRN = 13, BO_RESHAPE = 17, BO_MUL = 21, BO_PAD = 22,
  BO_TRANSPOSE = 26, BO_REDUCER = 27, BO_SUB = 28, BO_DIV = 29, BO_SQUEEZE = 30, BO_SPLIT = 35,
  BO_DEQUANTIZE = 38, BO_MAXIMUM_MINIMUM = 39, BO_PADV2 = 43, BO_LEAKY_RELU = 75, BO_SPLIT_V = 79,
  BO_QUANTIZE = 89, BO_HARD_SWISH = 91
};

/* Names of TFLite's builtin operators, by code (for messages). */
static const char *const builtin_names[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
    "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL",
    "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
    "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2",
    "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
    "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT",
    "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL",
    "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD",
    "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK",
    "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
    "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V",
    "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
    "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF",
    "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
    "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM",
    "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE",
    "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE",
    "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1",
    "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
    "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT", "STABLEHLO_LOGISTIC",
    "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
    "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE",
    "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL",
    "STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR",
    "STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT",
    "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE",
    "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW",
    "STABLEHLO_SORT", "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
    "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW"};
static const char *builtin_name(int code) {
  if (code >= 0 && code < (int)(sizeof builtin_names / sizeof *builtin_names)) return builtin_names[code];
  return "UNKNOWN";
}

/* ActivationFunctionType */
static const char *const act_names[] = {"NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"};

/* ==== tensors ============================================================ */
/* What the loader knows about a tensor beyond the fv_tensor it fills. */
typedef struct {
  int type;
  int64_t count;     /* elements */
  uint64_t data;     /* raw constant bytes in the file ... */
  uint64_t bytes;    /* ... and their length; 0 = not a constant */
  fbv scale, zp;     /* quantization vectors (f32, i64); len 0 = none */
  int qdim;          /* quantized_dimension */
  int producer;      /* index of the op (kept) that writes it; -1 none; -2 the model input */
  int fold_src;      /* a folded DEQUANTIZE's output: the constant it dequantizes; else -1 */
  int real_uses;     /* inputs of kept ops that read it */
  int alias;         /* a QUANTIZE / DEQUANTIZE of an activation: the tensor it passes on; else -1 */
  int fold_uses;     /* folded DEQUANTIZEs that read it */
} tinfo;

#define PRODUCER_NONE (-1)
#define PRODUCER_INPUT (-2)

static int is_const(const tinfo *ti) { return ti->bytes > 0 || ti->fold_src >= 0; }

static const char *shape_str(const fv_tensor *t, char *buf, size_t cap) {
  size_t k = 0;
  k += (size_t)snprintf(buf + k, cap - k, "[");
  for (int i = 0; i < t->rank && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, i ? ",%d" : "%d", t->dims[i]);
  if (k < cap) snprintf(buf + k, cap - k, "]");
  return buf;
}

/* A buffer's bytes: inline data, or (models over 2 GB) an offset/size pair
 * relative to the start of the file. */
static int read_buffer(ld *L, const fbv *buffers, uint32_t idx, uint64_t *data, uint64_t *bytes) {
  fbt bt;
  fbv d;
  *data = *bytes = 0;
  TRY(fv_fb_vec_table(L, buffers, idx, &bt, "buffer"));
  TRY(fv_fb_vec_field(L, &bt, BUF_DATA, 1, &d, "buffer data"));
  if (d.len) {
    *data = d.pos;
    *bytes = d.len;
    return 1;
  }
  uint64_t off, size;
  TRY(fv_fb_u64(L, &bt, BUF_OFFSET, 0, &off, "buffer offset"));
  TRY(fv_fb_u64(L, &bt, BUF_SIZE, 0, &size, "buffer size"));
  if (off > 1 && size > 0) {
    if (off > L->n || size > L->n - off)
      return fail(L, BAD, "buffer %u (offset %llu, %llu bytes) lies outside the file", idx,
                  (unsigned long long)off, (unsigned long long)size);
    *data = off;
    *bytes = size;
  }
  return 1;
}

static int parse_tensor(ld *L, fv_model *m, tinfo *T, const fbv *tensors, const fbv *buffers, int i) {
  fv_tensor *t = &m->tensors[i];
  tinfo *ti = &T[i];
  fbt tt, qt;
  fbv shape;
  int present;
  char name[FV_NAME_MAX];

  snprintf(L->where, sizeof L->where, "tensor %d", i);
  TRY(fv_fb_vec_table(L, tensors, (uint32_t)i, &tt, "tensor"));
  TRY(fv_fb_str(L, &tt, T_NAME, name, sizeof name, "name"));
  /* The converter joins the names of the TF ops it fused with ';'. The first
   * names the op whose output this is (".../Relu6"), short and unique. */
  char *semi = strchr(name, ';');
  if (semi && semi != name) *semi = 0;
  if (!name[0]) snprintf(name, sizeof name, "tensor_%d", i);
  t->name = (char *)malloc(strlen(name) + 1);
  if (!t->name) return fail(L, FV_ERR_NO_MEMORY, "out of memory");
  strcpy(t->name, name);
  snprintf(L->where, sizeof L->where, "tensor %d '%.60s'", i, name);

  TRY(fv_fb_vec_field(L, &tt, T_SHAPE, 4, &shape, "shape"));
  if (shape.len > FV_MAX_RANK) return fail(L, UNSUP, "rank %u; featviz supports rank 4 at most", shape.len);
  t->rank = (int)shape.len;
  ti->count = 1;
  for (int k = 0; k < t->rank; k++) {
    int32_t d = fv_le_i32(L->b + shape.pos + 4 * (uint64_t)k);
    if (d < 1 || d > TFL_MAX_DIM) return fail(L, BAD, "dimension %d has size %d", k, d);
    t->dims[k] = d;
    ti->count *= d;
    if (ti->count > TFL_MAX_CONST_ELEMS) return fail(L, BAD, "too many elements");
  }
  TRY(fv_fb_i8(L, &tt, T_TYPE, TT_FLOAT32, &ti->type, "type"));

  uint32_t bidx;
  TRY(fv_fb_u32(L, &tt, T_BUFFER, 0, &bidx, "buffer"));
  if (bidx >= buffers->len) {
    if (!(bidx == 0 && buffers->len == 0))
      return fail(L, BAD, "buffer index %u, but the model has %u buffers", bidx, buffers->len);
  } else {
    TRY(read_buffer(L, buffers, bidx, &ti->data, &ti->bytes));
  }

  TRY(fv_fb_sub(L, &tt, T_SPARSITY, &qt, &present, "sparsity"));
  if (present) return fail(L, UNSUP, "sparse tensors are not supported");
  TRY(fv_fb_sub(L, &tt, T_QUANT, &qt, &present, "quantization"));
  if (present) {
    int details;
    int32_t qdim;
    TRY(fv_fb_u8(L, &qt, Q_DETAILS_TYPE, 0, &details, "quantization details"));
    if (details) return fail(L, UNSUP, "custom quantization is not supported");
    TRY(fv_fb_vec_field(L, &qt, Q_SCALE, 4, &ti->scale, "scale"));
    TRY(fv_fb_vec_field(L, &qt, Q_ZERO_POINT, 8, &ti->zp, "zero_point"));
    TRY(fv_fb_i32(L, &qt, Q_QDIM, 0, &qdim, "quantized_dimension"));
    ti->qdim = qdim;
    if (ti->scale.len) {
      float s = fv_le_f32(L->b + ti->scale.pos);
      int64_t z = ti->zp.len ? fv_le_i64(L->b + ti->zp.pos) : 0;
      if (isfinite(s) && s > 0 && z >= INT32_MIN && z <= INT32_MAX) {
        t->scale = s;
        t->zero_point = (int)z;
      }
    }
  }

  if (ti->bytes) { /* a constant: check what dequantization will rely on */
    int es = tt_size(ti->type);
    if (es && (uint64_t)ti->count * (uint64_t)es != ti->bytes) {
      char sb[64];
      return fail(L, BAD, "buffer holds %llu bytes; shape %s of %s needs %llu", (unsigned long long)ti->bytes,
                  shape_str(t, sb, sizeof sb), tt_name(ti->type), (unsigned long long)ti->count * (uint64_t)es);
    }
    uint32_t ns = ti->scale.len, nz = ti->zp.len;
    if (ns > 1) {
      if (ti->qdim < 0 || ti->qdim >= t->rank || (uint32_t)t->dims[ti->qdim] != ns)
        return fail(L, BAD, "%u per-channel scales do not match quantized_dimension %d", ns, ti->qdim);
    }
    if (nz && nz != 1 && nz != ns) return fail(L, BAD, "%u zero points for %u scales", nz, ns);
    for (uint32_t k = 0; k < ns; k++) {
      float s = fv_le_f32(L->b + ti->scale.pos + 4 * (uint64_t)k);
      if (!isfinite(s) || s < 0) return fail(L, BAD, "quantization scale %u is %g", k, (double)s);
    }
    for (uint32_t k = 0; k < nz; k++) {
      int64_t z = fv_le_i64(L->b + ti->zp.pos + 8 * (uint64_t)k);
      if (z < INT32_MIN || z > INT32_MAX) return fail(L, BAD, "zero point %u is out of range", k);
    }
  }
  return 1;
}

/* ==== dequantization: constant → f32 ===================================== */
static fv_dtype tt_dtype(int t) {
  switch (t) {
    case TT_FLOAT32: return FV_DT_F32;
    case TT_FLOAT16: return FV_DT_F16;
    case TT_FLOAT64: return FV_DT_F64;
    case TT_INT32: return FV_DT_I32;
    case TT_INT64: return FV_DT_I64;
    case TT_INT16: return FV_DT_I16;
    case TT_UINT8: return FV_DT_U8;
    case TT_INT8: return FV_DT_I8;
    default: return FV_DT_NONE;
  }
}

/* f = scale * (q - zero_point) (model.c: fv_dequantize), per channel along
 * quantized_dimension when there are several scales. Float types ignore
 * quantization; integer types without a scale are taken as plain numbers
 * (shapes, axes, ...). */
static int dequantize(ld *L, const tinfo *src, const fv_tensor *shape, float *out) {
  const int type = src->type;
  const int quant = src->scale.len > 0 && type != TT_FLOAT32 && type != TT_FLOAT16 && type != TT_FLOAT64;
  int64_t outer = 1, nch = 1, inner = src->count;
  if (quant && src->scale.len > 1) {
    nch = shape->dims[src->qdim];
    for (int k = 0; k < src->qdim; k++) outer *= shape->dims[k];
    inner = src->count / outer / nch;
  }
  double *sz = NULL;
  if (quant) {
    sz = (double *)malloc(sizeof(double) * 2 * (size_t)nch);
    if (!sz) return fail(L, FV_ERR_NO_MEMORY, "out of memory");
    for (int64_t c = 0; c < nch; c++) {
      sz[c] = fv_le_f32(L->b + src->scale.pos + 4 * (uint64_t)(src->scale.len > 1 ? c : 0));
      sz[nch + c] = src->zp.len ? (double)fv_le_i64(L->b + src->zp.pos + 8 * (uint64_t)(src->zp.len > 1 ? c : 0)) : 0;
    }
  }
  int finite = fv_dequantize(L->b + src->data, tt_dtype(type), outer, nch, inner, sz, sz ? sz + nch : NULL, out);
  free(sz);
  if (!finite) return fail(L, BAD, "a constant value is infinite or NaN");
  return 1;
}

/* Integer parameters (axes, paddings, shapes) straight from a constant
 * int32/int64 tensor. */
static int const_ints(ld *L, const tinfo *T, int t, int64_t *vals, int cap, int *count,
                      const char *role) {
  const tinfo *ti = &T[t];
  if (!ti->bytes || (ti->type != TT_INT32 && ti->type != TT_INT64))
    return fail(L, UNSUP, "the %s (tensor %d) must be a constant int32 or int64 tensor", role, t);
  if (ti->count > cap) return fail(L, BAD, "the %s (tensor %d) has %lld values", role, t, (long long)ti->count);
  for (int64_t k = 0; k < ti->count; k++)
    vals[k] = ti->type == TT_INT32 ? fv_le_i32(L->b + ti->data + 4 * (uint64_t)k)
                                   : fv_le_i64(L->b + ti->data + 8 * (uint64_t)k);
  *count = (int)ti->count;
  return 1;
}

/* ==== operators ========================================================== */
/* Rank-r activation axis → NHWC axis (rank 2 is [N,C], rank 1 is [C]). */
static int nhwc_axis(int rank, int axis) {
  if (rank == 4) return axis;
  if (rank == 2) return axis == 0 ? 0 : 3;
  return 3; /* rank 1 */
}

typedef struct {
  int oi;            /* operator index in the file */
  int code;          /* builtin code */
  int n_in;
  int *in;           /* tensor indices (-1 = absent), aliases resolved */
  int n_out;
  int *out;          /* output tensors (several for SPLIT) */
  int opt_type;
  fbt opt;           /* options table, valid when has_opt */
  int has_opt;
} opctx;

static int expect_inputs(ld *L, const opctx *o, int lo, int hi) {
  if (o->n_in < lo || o->n_in > hi) {
    if (lo == hi) return fail(L, BAD, "has %d inputs, expected %d", o->n_in, lo);
    return fail(L, BAD, "has %d inputs, expected %d to %d", o->n_in, lo, hi);
  }
  return 1;
}

static int options(ld *L, const opctx *o, int type) {
  if (o->has_opt && o->opt_type != type)
    return fail(L, BAD, "options of union type %d, expected %d", o->opt_type, type);
  return 1;
}

static int act_ok_rank(int r) { return r == 1 || r == 2 || r == 4; }

/* An activation input: produced by an earlier op, or the model input. */
static int need_act(ld *L, const fv_model *m, const tinfo *T, const opctx *o, int k, const char *role) {
  int t = k < o->n_in ? o->in[k] : -1;
  if (t < 0) return fail(L, BAD, "the %s input is missing", role);
  if (is_const(&T[t])) return fail(L, BAD, "the %s input (tensor %d) is a constant", role, t);
  if (T[t].producer == PRODUCER_NONE)
    return fail(L, BAD,
                "the %s input (tensor %d '%.40s') is neither the model input nor an earlier operator's output "
                "(operators must be in execution order; models with several inputs are not supported)",
                role, t, m->tensors[t].name);
  return 1;
}

/* A constant input of the given rank (-1: any). */
static int need_const(ld *L, const fv_model *m, const tinfo *T, const opctx *o, int k, int rank, const char *role) {
  int t = k < o->n_in ? o->in[k] : -1;
  if (t < 0) return fail(L, BAD, "the %s input is missing", role);
  if (!is_const(&T[t])) return fail(L, UNSUP, "the %s (tensor %d) is not a constant tensor", role, t);
  if (rank >= 0 && m->tensors[t].rank != rank)
    return fail(L, BAD, "the %s (tensor %d) has rank %d, expected %d", role, t, m->tensors[t].rank, rank);
  if (T[t].fold_src < 0 && !tt_size(T[t].type))
    return fail(L, UNSUP, "the %s (tensor %d) has type %s", role, t, tt_name(T[t].type));
  return 1;
}

static int read_act(ld *L, const opctx *o, int id, fv_act *act) {
  int a;
  if (!o->has_opt) {
    *act = FV_ACT_NONE;
    return 1;
  }
  TRY(fv_fb_i8(L, &o->opt, id, 0, &a, "fused_activation_function"));
  switch (a) {
    case 0: *act = FV_ACT_NONE; return 1;
    case 1: *act = FV_ACT_RELU; return 1;
    case 3: *act = FV_ACT_RELU6; return 1;
    case 2: case 4: case 5:
      return fail(L, UNSUP, "fused activation %s is not supported", act_names[a]);
    default: return fail(L, BAD, "unknown fused activation %d", a);
  }
}

static int read_padding(ld *L, const opctx *o, fv_padding *pad) {
  int p = 0;
  if (o->has_opt) TRY(fv_fb_i8(L, &o->opt, 0, 0, &p, "padding"));
  if (p != 0 && p != 1) return fail(L, BAD, "unknown padding %d", p);
  *pad = p == 0 ? FV_PADDING_SAME : FV_PADDING_VALID;
  return 1;
}

static int read_window(ld *L, const opctx *o, int id, int32_t def, int *v, const char *name) {
  int32_t x = def;
  if (o->has_opt) TRY(fv_fb_i32(L, &o->opt, id, def, &x, name));
  if (x < 1 || x > TFL_MAX_WINDOW) return fail(L, BAD, "%s is %d", name, x);
  *v = x;
  return 1;
}

/* Output size of a window op along one axis at the file's native size. */
static int window_out(int in, int k, int s, int d, fv_padding pad) {
  if (pad == FV_PADDING_SAME) return (in + s - 1) / s;
  int eff = (k - 1) * d + 1;
  return in >= eff ? (in - eff) / s + 1 : 0;
}

static int check_window_shape(ld *L, const fv_model *m, const fv_op *op, int x, int y, int kh, int kw, int oc) {
  const fv_tensor *X = &m->tensors[x], *Y = &m->tensors[y];
  char a[64], b[64];
  if (Y->rank != 4 || Y->dims[0] != X->dims[0] || Y->dims[3] != oc ||
      Y->dims[1] != window_out(X->dims[1], kh, op->stride_h, op->dil_h, op->padding) ||
      Y->dims[2] != window_out(X->dims[2], kw, op->stride_w, op->dil_w, op->padding))
    return fail(L, BAD, "output shape %s does not follow from input %s, filter %dx%d, strides %d,%d",
                shape_str(Y, a, sizeof a), shape_str(X, b, sizeof b), kh, kw, op->stride_h, op->stride_w);
  return 1;
}

static int same_shape(const fv_tensor *a, const fv_tensor *b) {
  if (a->rank != b->rank) return 0;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return 0;
  return 1;
}

static int64_t elems(const fv_tensor *t) {
  int64_t c = 1;
  for (int k = 0; k < t->rank; k++) c *= t->dims[k];
  return c;
}

static int op_conv(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op, int depthwise) {
  TRY(expect_inputs(L, o, 2, 3));
  TRY(options(L, o, depthwise ? BO_DEPTHWISE_CONV2D : BO_CONV2D));
  TRY(need_act(L, m, T, o, 0, "image"));
  TRY(need_const(L, m, T, o, 1, 4, "filter"));
  if (o->n_in > 2 && o->in[2] >= 0) TRY(need_const(L, m, T, o, 2, 1, "bias"));
  const fv_tensor *X = &m->tensors[o->in[0]], *W = &m->tensors[o->in[1]];
  if (X->rank != 4) return fail(L, BAD, "input has rank %d, expected 4 (NHWC)", X->rank);
  TRY(read_padding(L, o, &op->padding));
  TRY(read_window(L, o, 1, 0, &op->stride_w, "stride_w"));
  TRY(read_window(L, o, 2, 0, &op->stride_h, "stride_h"));
  TRY(read_act(L, o, depthwise ? 4 : 3, &op->act));
  TRY(read_window(L, o, depthwise ? 5 : 4, 1, &op->dil_w, "dilation_w_factor"));
  TRY(read_window(L, o, depthwise ? 6 : 5, 1, &op->dil_h, "dilation_h_factor"));
  int ic = X->dims[3], oc;
  if (depthwise) {
    /* filter [1, KH, KW, IC*DM]; DM comes from the shapes: the option
     * (field 3) is redundant and recent TFLite ignores it. */
    oc = W->dims[3];
    if (W->dims[0] != 1) return fail(L, BAD, "depthwise filter has leading dimension %d, expected 1", W->dims[0]);
    if (oc % ic) return fail(L, BAD, "depthwise filter has %d channels for %d input channels", oc, ic);
    op->depth_mult = oc / ic;
  } else {
    oc = W->dims[0];
    if (W->dims[3] != ic) {
      if (ic % W->dims[3] == 0)
        return fail(L, UNSUP, "grouped convolution (%d input channels, filter for %d) is not supported", ic,
                    W->dims[3]);
      return fail(L, BAD, "filter expects %d input channels, the input has %d", W->dims[3], ic);
    }
  }
  if (o->n_in > 2 && o->in[2] >= 0 && m->tensors[o->in[2]].dims[0] != oc)
    return fail(L, BAD, "bias has %d values for %d output channels", m->tensors[o->in[2]].dims[0], oc);
  return check_window_shape(L, m, op, o->in[0], o->out[0], W->dims[1], W->dims[2], oc);
}

static int op_pool(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 1, 1));
  TRY(options(L, o, BO_POOL2D));
  TRY(need_act(L, m, T, o, 0, "image"));
  const fv_tensor *X = &m->tensors[o->in[0]];
  if (X->rank != 4) return fail(L, BAD, "input has rank %d, expected 4 (NHWC)", X->rank);
  TRY(read_padding(L, o, &op->padding));
  TRY(read_window(L, o, 1, 0, &op->stride_w, "stride_w"));
  TRY(read_window(L, o, 2, 0, &op->stride_h, "stride_h"));
  TRY(read_window(L, o, 3, 0, &op->filter_w, "filter_width"));
  TRY(read_window(L, o, 4, 0, &op->filter_h, "filter_height"));
  TRY(read_act(L, o, 5, &op->act));
  return check_window_shape(L, m, op, o->in[0], o->out[0], op->filter_h, op->filter_w, X->dims[3]);
}

static int op_fc(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 2, 3));
  TRY(options(L, o, BO_FULLY_CONNECTED));
  TRY(need_act(L, m, T, o, 0, "input"));
  TRY(need_const(L, m, T, o, 1, 2, "weights"));
  if (o->n_in > 2 && o->in[2] >= 0) TRY(need_const(L, m, T, o, 2, 1, "bias"));
  TRY(read_act(L, o, 0, &op->act));
  int fmt = 0, keep = 0;
  if (o->has_opt) {
    TRY(fv_fb_i8(L, &o->opt, 1, 0, &fmt, "weights_format"));
    TRY(fv_fb_u8(L, &o->opt, 2, 0, &keep, "keep_num_dims"));
  }
  if (fmt != 0) return fail(L, UNSUP, "shuffled weights (weights_format %d) are not supported", fmt);
  const fv_tensor *X = &m->tensors[o->in[0]], *W = &m->tensors[o->in[1]], *Y = &m->tensors[o->out[0]];
  int oc = W->dims[0], ic = W->dims[1];
  int64_t n = elems(X);
  if (n % ic) return fail(L, BAD, "input of %lld values is not a whole number of rows of %d", (long long)n, ic);
  if (o->n_in > 2 && o->in[2] >= 0 && m->tensors[o->in[2]].dims[0] != oc)
    return fail(L, BAD, "bias has %d values for %d outputs", m->tensors[o->in[2]].dims[0], oc);
  int ok;
  if (keep) {
    ok = Y->rank == X->rank && X->dims[X->rank - 1] == ic && Y->dims[Y->rank - 1] == oc;
    for (int k = 0; ok && k + 1 < X->rank; k++) ok = X->dims[k] == Y->dims[k];
  } else {
    ok = Y->rank == 2 && Y->dims[0] == n / ic && Y->dims[1] == oc;
  }
  if (!ok) {
    char a[64];
    return fail(L, BAD, "output shape %s does not match %lld rows of %d outputs", shape_str(Y, a, sizeof a),
                (long long)(n / ic), oc);
  }
  return 1;
}

/* ADD, MUL: numpy broadcasting. The graph lays activations out as NHWC
 * (rank 2 [N,C] → N,1,1,C) and constants by aligning trailing dims
 * ([C] → 1,1,1,C); the two agree when a constant has rank <= 1, the
 * activation's rank 4, or rank 2 with a leading 1, so only those pass. */
static int op_binary(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 2, 2));
  const int opt = o->code == B_ADD ? BO_ADD : o->code == B_MUL ? BO_MUL : o->code == B_SUB ? BO_SUB
                  : o->code == B_DIV ? BO_DIV : o->code == B_PRELU ? BO_NONE : BO_MAXIMUM_MINIMUM;
  if (opt != BO_NONE) TRY(options(L, o, opt));
  if (opt != BO_MAXIMUM_MINIMUM && opt != BO_NONE) TRY(read_act(L, o, 0, &op->act));
  int nact = 0, act_rank = 0;
  for (int k = 0; k < 2; k++) {
    int t = o->in[k];
    if (t < 0) return fail(L, BAD, "input %d is missing", k);
    if (is_const(&T[t])) {
      TRY(need_const(L, m, T, o, k, -1, "operand"));
    } else {
      TRY(need_act(L, m, T, o, k, k ? "second" : "first"));
      if (nact && m->tensors[t].rank != act_rank)
        return fail(L, UNSUP, "adding activations of different ranks is not supported");
      act_rank = m->tensors[t].rank;
      nact++;
    }
  }
  if (!nact) return fail(L, UNSUP, "both operands are constants");
  if (o->code == B_PRELU && is_const(&T[o->in[0]])) return fail(L, BAD, "the input is a constant");
  for (int k = 0; k < 2; k++) {
    const fv_tensor *C = &m->tensors[o->in[k]];
    if (is_const(&T[o->in[k]]) && ((C->rank > 1 && C->rank != act_rank) || (C->rank == 2 && C->dims[0] != 1)))
      return fail(L, UNSUP, "a constant operand of shape rank %d (leading %d) with a rank-%d activation is not supported",
                  C->rank, C->dims[0], act_rank);
  }
  const fv_tensor *A = &m->tensors[o->in[0]], *B = &m->tensors[o->in[1]], *Y = &m->tensors[o->out[0]];
  int r = A->rank > B->rank ? A->rank : B->rank;
  int ok = Y->rank == r;
  for (int k = 1; ok && k <= r; k++) { /* align trailing dims */
    int a = k <= A->rank ? A->dims[A->rank - k] : 1;
    int b = k <= B->rank ? B->dims[B->rank - k] : 1;
    int y = Y->dims[Y->rank - k];
    ok = (a == b || a == 1 || b == 1) && y == (a > b ? a : b);
  }
  if (!ok) {
    char sa[64], sb[64], sy[64];
    return fail(L, BAD, "shapes %s and %s do not broadcast to %s", shape_str(A, sa, sizeof sa),
                shape_str(B, sb, sizeof sb), shape_str(Y, sy, sizeof sy));
  }
  return 1;
}

static int op_mean(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 2, 2));
  TRY(options(L, o, BO_REDUCER));
  TRY(need_act(L, m, T, o, 0, "input"));
  if (o->in[1] < 0) return fail(L, BAD, "the axes input is missing");
  int64_t ax[8];
  int nax;
  TRY(const_ints(L, T, o->in[1], ax, 8, &nax, "axes"));
  const fv_tensor *X = &m->tensors[o->in[0]], *Y = &m->tensors[o->out[0]];
  int r = X->rank, reduced = 0;
  op->mean_axes = 0;
  for (int k = 0; k < nax; k++) {
    int64_t a = ax[k] < 0 ? ax[k] + r : ax[k];
    if (a < 0 || a >= r) return fail(L, BAD, "axis %lld is out of range for rank %d", (long long)ax[k], r);
    if (!(reduced & (1 << a))) reduced |= 1 << a;
    op->mean_axes |= 1 << nhwc_axis(r, (int)a);
  }
  int keep = 0;
  if (o->has_opt) TRY(fv_fb_u8(L, &o->opt, 0, 0, &keep, "keep_dims"));
  op->keep_dims = keep != 0;
  /* expected output shape */
  int er = 0, ed[FV_MAX_RANK];
  for (int k = 0; k < r; k++) {
    if (reduced & (1 << k)) {
      if (keep) ed[er++] = 1;
    } else {
      ed[er++] = X->dims[k];
    }
  }
  int ok = Y->rank == er;
  for (int k = 0; ok && k < er; k++) ok = Y->dims[k] == ed[k];
  if (!ok) {
    char a[64], b[64];
    return fail(L, BAD, "output shape %s does not follow from input %s", shape_str(Y, a, sizeof a),
                shape_str(X, b, sizeof b));
  }
  return 1;
}

static int op_pad(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  const int v2 = o->code == B_PADV2;
  TRY(expect_inputs(L, o, 2, v2 ? 3 : 2));
  TRY(options(L, o, v2 ? BO_PADV2 : BO_PAD));
  if (v2 && o->n_in > 2 && o->in[2] >= 0) { /* the constant: a scalar, dequantized like any constant */
    TRY(need_const(L, m, T, o, 2, -1, "constant_values"));
    if (elems(&m->tensors[o->in[2]]) != 1) return fail(L, BAD, "constant_values has %lld values, not 1", (long long)elems(&m->tensors[o->in[2]]));
  }
  TRY(need_act(L, m, T, o, 0, "input"));
  if (o->in[1] < 0) return fail(L, BAD, "the paddings input is missing");
  const fv_tensor *X = &m->tensors[o->in[0]], *Y = &m->tensors[o->out[0]];
  int r = X->rank;
  const fv_tensor *P = &m->tensors[o->in[1]];
  if (P->rank != 2 || P->dims[0] != r || P->dims[1] != 2)
    return fail(L, BAD, "paddings tensor must be [%d,2]", r);
  int64_t pv[2 * FV_MAX_RANK];
  int np;
  TRY(const_ints(L, T, o->in[1], pv, 2 * FV_MAX_RANK, &np, "paddings"));
  memset(op->pads, 0, sizeof op->pads);
  int ok = Y->rank == r;
  for (int k = 0; k < r; k++) {
    int64_t before = pv[2 * k], after = pv[2 * k + 1];
    if (before < 0 || after < 0 || before > TFL_MAX_WINDOW || after > TFL_MAX_WINDOW)
      return fail(L, BAD, "padding %lld,%lld on axis %d", (long long)before, (long long)after, k);
    int a = nhwc_axis(r, k);
    op->pads[a][0] = (int)before;
    op->pads[a][1] = (int)after;
    if (ok) ok = Y->dims[k] == X->dims[k] + before + after;
  }
  if (!ok) {
    char a[64], b[64];
    return fail(L, BAD, "output shape %s does not follow from input %s and the paddings", shape_str(Y, a, sizeof a),
                shape_str(X, b, sizeof b));
  }
  return 1;
}

static int op_concat(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 1, TFL_MAX_OP_INPUTS));
  TRY(options(L, o, BO_CONCATENATION));
  int32_t axis = 0;
  if (o->has_opt) TRY(fv_fb_i32(L, &o->opt, 0, 0, &axis, "axis"));
  TRY(read_act(L, o, 1, &op->act));
  const fv_tensor *Y = &m->tensors[o->out[0]];
  int r = Y->rank;
  if (axis < -r || axis >= r) return fail(L, BAD, "axis %d is out of range for rank %d", axis, r);
  if (axis < 0) axis += r;
  op->axis = nhwc_axis(r, axis);
  int64_t sum = 0;
  int nact = 0;
  for (int k = 0; k < o->n_in; k++) {
    int t = o->in[k];
    if (t < 0) return fail(L, BAD, "input %d is missing", k);
    if (is_const(&T[t])) {
      TRY(need_const(L, m, T, o, k, r, "constant input"));
      if (r == 2 && m->tensors[t].dims[0] != 1)
        return fail(L, UNSUP, "a rank-2 constant input with %d rows is not supported", m->tensors[t].dims[0]);
    } else {
      TRY(need_act(L, m, T, o, k, "concatenated"));
      nact++;
    }
    const fv_tensor *X = &m->tensors[t];
    if (X->rank != r) return fail(L, BAD, "input %d has rank %d, the output %d", k, X->rank, r);
    for (int d = 0; d < r; d++)
      if (d != axis && X->dims[d] != Y->dims[d])
        return fail(L, BAD, "input %d differs from the output in dimension %d", k, d);
    sum += X->dims[axis];
  }
  if (!nact) return fail(L, UNSUP, "all inputs are constants");
  if (sum != Y->dims[axis]) return fail(L, BAD, "inputs add up to %lld along axis %d, the output has %d",
                                        (long long)sum, axis, Y->dims[axis]);
  return 1;
}

/* RESHAPE's target shape: the ReshapeOptions new_shape, else the constant
 * shape input, else the output tensor's shape. It must describe the output
 * (one -1 allowed, which the graph resolves at other input sizes). */
static int op_reshape(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  const fv_tensor *X, *Y = &m->tensors[o->out[0]];
  if (o->code == B_SQUEEZE) {
    TRY(expect_inputs(L, o, 1, 1));
    TRY(options(L, o, BO_SQUEEZE));
  } else {
    TRY(expect_inputs(L, o, 1, 2));
    TRY(options(L, o, BO_RESHAPE));
  }
  TRY(need_act(L, m, T, o, 0, "input"));
  X = &m->tensors[o->in[0]];
  if (elems(X) != elems(Y)) {
    char a[64], b[64];
    return fail(L, BAD, "input %s and output %s differ in size", shape_str(X, a, sizeof a), shape_str(Y, b, sizeof b));
  }
  int64_t ns[FV_MAX_RANK];
  int nr = -1;
  if (o->code == B_RESHAPE) {
    fbv v = {0, 0};
    if (o->has_opt) TRY(fv_fb_vec_field(L, &o->opt, 0, 4, &v, "new_shape"));
    if (v.len > FV_MAX_RANK) return fail(L, UNSUP, "new_shape of rank %u", v.len);
    if (v.len) {
      nr = (int)v.len;
      for (int k = 0; k < nr; k++) ns[k] = fv_le_i32(L->b + v.pos + 4 * (uint64_t)k);
    } else if (o->n_in > 1 && o->in[1] >= 0) {
      const tinfo *st = &T[o->in[1]];
      if (st->bytes && m->tensors[o->in[1]].rank == 1) TRY(const_ints(L, T, o->in[1], ns, FV_MAX_RANK, &nr, "shape"));
      else if (!is_const(st) && st->producer == PRODUCER_NONE)
        return fail(L, BAD, "the shape input (tensor %d) is not computed anywhere", o->in[1]);
    }
  }
  if (nr < 0) {
    nr = Y->rank;
    for (int k = 0; k < nr; k++) ns[k] = Y->dims[k];
  }
  if (nr != Y->rank) return fail(L, BAD, "new shape has rank %d, the output %d", nr, Y->rank);
  int wild = 0;
  for (int k = 0; k < nr; k++) {
    if (ns[k] == -1 && !wild) {
      wild = 1;
    } else if (ns[k] != Y->dims[k]) {
      return fail(L, BAD, "new shape dimension %d is %lld, the output's %d", k, (long long)ns[k], Y->dims[k]);
    }
    op->new_shape[k] = (int)ns[k];
  }
  op->new_rank = nr;
  return 1;
}

static int op_softmax(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 1, 1));
  TRY(options(L, o, BO_SOFTMAX));
  TRY(need_act(L, m, T, o, 0, "input"));
  /* beta's schema default is 0, but converters always write it; a softmax
   * without any options table is taken as the ordinary beta = 1. */
  op->beta = 1.0f;
  if (o->has_opt) TRY(fv_fb_f32(L, &o->opt, 0, 0.0f, &op->beta, "beta"));
  if (!isfinite(op->beta) || op->beta < 0 || op->beta > 1e6f) return fail(L, BAD, "softmax beta is %g", (double)op->beta);
  if (!same_shape(&m->tensors[o->in[0]], &m->tensors[o->out[0]]))
    return fail(L, BAD, "output shape differs from the input's");
  return 1;
}

/* RELU, RELU6, RELU_N1_TO_1, LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU: FV_OP_ACT. */
static int op_unary(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 1, 1));
  TRY(need_act(L, m, T, o, 0, "input"));
  switch (o->code) {
    case B_RELU: op->act = FV_ACT_RELU; break;
    case B_RELU6: op->act = FV_ACT_RELU6; break;
    case B_RELU_N1_TO_1: op->act = FV_ACT_CLIP, op->act_a = -1, op->act_b = 1; break;
    case B_LOGISTIC: op->act = FV_ACT_SIGMOID; break;
    case B_TANH: op->act = FV_ACT_TANH; break;
    case B_HARD_SWISH: op->act = FV_ACT_HARD_SWISH; break;
    default: /* B_LEAKY_RELU */
      TRY(options(L, o, BO_LEAKY_RELU));
      op->act = FV_ACT_LEAKY_RELU;
      if (o->has_opt) TRY(fv_fb_f32(L, &o->opt, 0, 0.0f, &op->act_a, "alpha"));
      if (!isfinite(op->act_a)) return fail(L, BAD, "alpha is %g", (double)op->act_a);
      break;
  }
  if (!same_shape(&m->tensors[o->in[0]], &m->tensors[o->out[0]])) return fail(L, BAD, "output shape differs from the input's");
  return 1;
}

static int op_lrn(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 1, 1));
  TRY(options(L, o, BO_LRN));
  TRY(need_act(L, m, T, o, 0, "input"));
  int32_t radius = 5;
  float bias = 1, alpha = 1, beta = 0.5f;
  if (o->has_opt) {
    TRY(fv_fb_i32(L, &o->opt, 0, 5, &radius, "radius"));
    TRY(fv_fb_f32(L, &o->opt, 1, 1, &bias, "bias"));
    TRY(fv_fb_f32(L, &o->opt, 2, 1, &alpha, "alpha"));
    TRY(fv_fb_f32(L, &o->opt, 3, 0.5f, &beta, "beta"));
  }
  if (radius < 0 || radius > TFL_MAX_WINDOW || !isfinite(bias) || !isfinite(alpha) || !isfinite(beta) || !(bias > 0))
    return fail(L, BAD, "radius %d, bias %g, alpha %g, beta %g", radius, (double)bias, (double)alpha, (double)beta);
  if (m->tensors[o->in[0]].rank != 4) return fail(L, BAD, "input has rank %d, expected 4 (NHWC)", m->tensors[o->in[0]].rank);
  op->lrn_lo = op->lrn_hi = radius; /* TensorFlow's: alpha per element, window c − r .. c + r */
  op->lrn_alpha = alpha, op->lrn_beta = beta, op->lrn_bias = bias;
  if (!same_shape(&m->tensors[o->in[0]], &m->tensors[o->out[0]])) return fail(L, BAD, "output shape differs from the input's");
  return 1;
}

/* TRANSPOSE: the perm of the file's axes as a perm of the graph's 4-D NHWC view. */
static int op_transpose(ld *L, fv_model *m, const tinfo *T, const opctx *o, fv_op *op) {
  TRY(expect_inputs(L, o, 2, 2));
  TRY(options(L, o, BO_TRANSPOSE));
  TRY(need_act(L, m, T, o, 0, "input"));
  if (o->in[1] < 0) return fail(L, BAD, "the perm input is missing");
  int64_t p[FV_MAX_RANK];
  int np;
  TRY(const_ints(L, T, o->in[1], p, FV_MAX_RANK, &np, "perm"));
  const fv_tensor *X = &m->tensors[o->in[0]], *Y = &m->tensors[o->out[0]];
  const int r = X->rank;
  if (np != r || Y->rank != r) return fail(L, BAD, "perm has %d entries for rank %d", np, r);
  unsigned seen = 0;
  for (int k = 0; k < 4; k++) op->perm[k] = -1;
  for (int j = 0; j < r; j++) {
    if (p[j] < 0 || p[j] >= r || (seen & (1u << p[j]))) return fail(L, BAD, "perm is not a permutation");
    seen |= 1u << p[j];
    if (Y->dims[j] != X->dims[p[j]]) return fail(L, BAD, "output shape does not follow from the perm");
    op->perm[nhwc_axis(r, j)] = nhwc_axis(r, (int)p[j]);
  }
  unsigned used = 0;
  for (int k = 0; k < 4; k++)
    if (op->perm[k] >= 0) used |= 1u << op->perm[k];
  for (int k = 0, f = 0; k < 4; k++) /* axes of size 1 the rank leaves out keep their order */
    if (op->perm[k] < 0) {
      while (used & (1u << f)) f++;
      op->perm[k] = f;
      used |= 1u << f;
    }
  return 1;
}

/* SPLIT [axis, x] (num_splits equal parts) and SPLIT_V [x, size_splits, axis]:
 * one SLICE op per output, cut along the axis, whole along the others. */
static int op_split(ld *L, fv_model *m, tinfo *T, const opctx *o) {
  const int v = o->code == B_SPLIT_V, xi = v ? 0 : 1;
  TRY(expect_inputs(L, o, v ? 3 : 2, v ? 3 : 2));
  TRY(options(L, o, v ? BO_SPLIT_V : BO_SPLIT));
  TRY(need_act(L, m, T, o, xi, "input"));
  int64_t ax[1], sizes[TFL_MAX_OP_INPUTS];
  int nax, ns = o->n_out;
  int ai = v ? 2 : 0;
  if (o->in[ai] < 0) return fail(L, BAD, "the axis input is missing");
  TRY(const_ints(L, T, o->in[ai], ax, 1, &nax, "axis"));
  const fv_tensor *X = &m->tensors[o->in[xi]];
  const int r = X->rank;
  if (nax != 1 || ax[0] < -r || ax[0] >= r) return fail(L, BAD, "axis is out of range for rank %d", r);
  const int a = (int)(ax[0] < 0 ? ax[0] + r : ax[0]);
  int32_t num = ns;
  if (o->has_opt) TRY(fv_fb_i32(L, &o->opt, 0, ns, &num, "num_splits"));
  if (num != ns) return fail(L, BAD, "num_splits %d for %d outputs", num, ns);
  if (v) {
    int n;
    if (o->in[1] < 0) return fail(L, BAD, "the size_splits input is missing");
    TRY(const_ints(L, T, o->in[1], sizes, TFL_MAX_OP_INPUTS, &n, "size_splits"));
    if (n != ns) return fail(L, BAD, "%d sizes for %d outputs", n, ns);
    int64_t sum = 0, wild = -1;
    for (int k = 0; k < ns; k++) {
      if (sizes[k] == -1 && wild < 0) wild = k;
      else if (sizes[k] < 0 || sizes[k] > X->dims[a]) return fail(L, BAD, "size %d is %lld", k, (long long)sizes[k]);
      else sum += sizes[k];
    }
    if (wild >= 0) sizes[wild] = X->dims[a] - sum, sum = X->dims[a];
    if (sum != X->dims[a] || (wild >= 0 && sizes[wild] < 0)) return fail(L, BAD, "sizes add up to %lld, the axis has %d", (long long)sum, X->dims[a]);
  } else {
    if (ns < 1 || X->dims[a] % ns) return fail(L, BAD, "%d outputs do not divide an axis of %d", ns, X->dims[a]);
    for (int k = 0; k < ns; k++) sizes[k] = X->dims[a] / ns;
  }
  int64_t at = 0;
  for (int k = 0; k < ns; k++) {
    const fv_tensor *Y = &m->tensors[o->out[k]];
    int ok = Y->rank == r;
    for (int d = 0; ok && d < r; d++) ok = Y->dims[d] == (d == a ? sizes[k] : X->dims[d]);
    if (!ok) return fail(L, BAD, "output %d has the wrong shape", k);
    fv_op *op = fv_model_add_op(m, FV_OP_SLICE, 1, L->err);
    if (!op) return 0;
    op->inputs[0] = o->in[xi];
    op->output = o->out[k];
    snprintf(op->src_op, sizeof op->src_op, "%s", builtin_name(o->code));
    for (int d = 0; d < 4; d++) op->begin[d] = 0, op->size[d] = -1, op->step[d] = 1;
    op->begin[nhwc_axis(r, a)] = (int)at;
    op->size[nhwc_axis(r, a)] = (int)sizes[k];
    at += sizes[k];
    T[o->out[k]].producer = m->n_ops - 1;
  }
  T[o->in[xi]].real_uses++;
  return 1;
}

/* QUANTIZE, or DEQUANTIZE of an activation: in float the same values, an alias. */
static int op_alias(ld *L, fv_model *m, tinfo *T, const opctx *o) {
  TRY(expect_inputs(L, o, 1, 1));
  TRY(need_act(L, m, T, o, 0, "input"));
  if (!same_shape(&m->tensors[o->in[0]], &m->tensors[o->out[0]])) return fail(L, BAD, "output shape differs from the input's");
  T[o->out[0]].alias = o->in[0];
  T[o->out[0]].producer = T[o->in[0]].producer;
  return 1;
}

/* DEQUANTIZE of a constant (float16 or quantized weights of a float model):
 * the output becomes a constant holding the dequantized values and the op
 * disappears. */
static int op_dequantize_fold(ld *L, fv_model *m, tinfo *T, const opctx *o) {
  TRY(expect_inputs(L, o, 1, 1));
  TRY(options(L, o, BO_DEQUANTIZE));
  int s = o->in[0], d = o->out[0];
  if (s < 0) return fail(L, BAD, "the input is missing");
  if (!tt_size(T[s].type)) return fail(L, UNSUP, "DEQUANTIZE of a %s tensor", tt_name(T[s].type));
  if (T[d].type != TT_FLOAT32) return fail(L, UNSUP, "DEQUANTIZE to %s", tt_name(T[d].type));
  if (!same_shape(&m->tensors[s], &m->tensors[d])) return fail(L, BAD, "output shape differs from the input's");
  T[d].fold_src = s;
  T[s].fold_uses++;
  return 1;
}

/* A quantized model's ReLU can live in an output's quantization alone: the
 * converter drops a ReLU (or ReLU6) whose clamp the output range [0, hi]
 * already makes (MobileNet v3's hard sigmoids, ADD +3 → [0, 6]). In float
 * that clamp must be made explicit: an op that computes new values with no
 * fused activation and an output range starting at exactly 0 gets RELU, or
 * RELU6 when the range ends at 6 (within a step). Pools, concatenations and
 * reshapes keep their input's range and need none. */
static void implied_activation(const tinfo *T, const fv_model *m, fv_op *op) {
  const fv_tensor *Y = &m->tensors[op->output];
  const int type = T[op->output].type;
  switch (op->kind) {
    case FV_OP_CONV2D: case FV_OP_DWCONV2D: case FV_OP_FULLY_CONNECTED: case FV_OP_ADD: case FV_OP_SUB:
    case FV_OP_MUL: break;
    default: return;
  }
  if (op->act != FV_ACT_NONE || !(Y->scale > 0)) return;
  if (!(type == TT_UINT8 && Y->zero_point == 0) && !(type == TT_INT8 && Y->zero_point == -128)) return;
  double hi = (double)Y->scale * 255;
  op->act = fabs(hi - 6) <= Y->scale ? FV_ACT_RELU6 : FV_ACT_RELU;
}

static int resolve(const tinfo *T, int t) { return t >= 0 && T[t].alias >= 0 ? T[t].alias : t; }

/* One operator: decode, validate, and (unless folded or an alias) append to m->ops. */
static int parse_op(ld *L, fv_model *m, tinfo *T, const fbv *ops, const fbv *opcodes, int oi, opctx *o) {
  fbt ot, ct;
  fbv vin, vout;
  o->oi = oi;

  snprintf(L->where, sizeof L->where, "operator %d", oi);
  TRY(fv_fb_vec_table(L, ops, (uint32_t)oi, &ot, "operator"));
  uint32_t oc;
  TRY(fv_fb_u32(L, &ot, OP_OPCODE_INDEX, 0, &oc, "opcode_index"));
  if (oc >= opcodes->len) return fail(L, BAD, "opcode_index %u, but the model has %u operator codes", oc, opcodes->len);
  TRY(fv_fb_vec_table(L, opcodes, oc, &ct, "operator code"));
  int dep;
  int32_t code;
  TRY(fv_fb_i8(L, &ct, OC_DEPRECATED_BUILTIN, 0, &dep, "deprecated_builtin_code"));
  TRY(fv_fb_i32(L, &ct, OC_BUILTIN, 0, &code, "builtin_code"));
  if (dep > code) code = dep; /* as TFLite does: the larger of the two fields */
  o->code = code;

  fv_op_kind kind;
  switch (code) {
    case B_CONV_2D: kind = FV_OP_CONV2D; break;
    case B_DEPTHWISE_CONV_2D: kind = FV_OP_DWCONV2D; break;
    case B_FULLY_CONNECTED: kind = FV_OP_FULLY_CONNECTED; break;
    case B_ADD: kind = FV_OP_ADD; break;
    case B_MUL: kind = FV_OP_MUL; break;
    case B_SUB: kind = FV_OP_SUB; break;
    case B_DIV: kind = FV_OP_DIV; break;
    case B_MAXIMUM: kind = FV_OP_MAXIMUM; break;
    case B_MINIMUM: kind = FV_OP_MINIMUM; break;
    case B_PRELU: kind = FV_OP_PRELU; break;
    case B_AVERAGE_POOL_2D: kind = FV_OP_AVGPOOL2D; break;
    case B_MAX_POOL_2D: kind = FV_OP_MAXPOOL2D; break;
    case B_MEAN: kind = FV_OP_MEAN; break;
    case B_PAD: case B_PADV2: kind = FV_OP_PAD; break;
    case B_CONCATENATION: kind = FV_OP_CONCAT; break;
    case B_RESHAPE: case B_SQUEEZE: kind = FV_OP_RESHAPE; break;
    case B_SOFTMAX: kind = FV_OP_SOFTMAX; break;
    case B_RELU: case B_RELU6: case B_RELU_N1_TO_1: case B_LOGISTIC: case B_TANH: case B_HARD_SWISH:
    case B_LEAKY_RELU: kind = FV_OP_ACT; break;
    case B_LRN: kind = FV_OP_LRN; break;
    case B_TRANSPOSE: kind = FV_OP_TRANSPOSE; break;
    case B_SPLIT: case B_SPLIT_V: kind = FV_OP_SLICE; break;
    case B_DEQUANTIZE: case B_QUANTIZE: kind = FV_OP_COUNT; break; /* folded or an alias */
    case B_CUSTOM: {
      char cname[64];
      TRY(fv_fb_str(L, &ct, OC_CUSTOM, cname, sizeof cname, "custom_code"));
      L->where[0] = 0;
      return fail(L, UNSUP, "unsupported custom op '%s' at operator %d", cname, oi);
    }
    default:
      L->where[0] = 0;
      if (code < 0) return fail(L, BAD, "operator %d has a negative builtin code %d", oi, code);
      return fail(L, UNSUP, "unsupported op %s (builtin %d) at operator %d", builtin_name(code), code, oi);
  }
  snprintf(L->where, sizeof L->where, "operator %d (%s)", oi, builtin_name(code));

  TRY(fv_fb_vec_field(L, &ot, OP_INPUTS, 4, &vin, "inputs"));
  TRY(fv_fb_vec_field(L, &ot, OP_OUTPUTS, 4, &vout, "outputs"));
  if (vin.len > TFL_MAX_OP_INPUTS) return fail(L, BAD, "%u inputs", vin.len);
  const int split = code == B_SPLIT || code == B_SPLIT_V;
  if (split ? vout.len < 1 || vout.len > TFL_MAX_OP_INPUTS : vout.len != 1)
    return fail(L, BAD, "has %u outputs, expected %s", vout.len, split ? "1 or more" : "1");
  if (m->n_ops + (int)vout.len > 4 * TFL_MAX_OPS) return fail(L, BAD, "too many operators");
  TRY(fv_fb_u8(L, &ot, OP_OPTIONS_TYPE, 0, &o->opt_type, "builtin_options_type"));
  if (o->opt_type != BO_NONE) TRY(fv_fb_sub(L, &ot, OP_OPTIONS, &o->opt, &o->has_opt, "builtin_options"));

  o->n_in = (int)vin.len;
  o->n_out = (int)vout.len;
  o->in = (int *)malloc(sizeof(int) * (size_t)(o->n_in ? o->n_in : 1));
  o->out = (int *)malloc(sizeof(int) * (size_t)o->n_out);
  if (!o->in || !o->out) return fail(L, FV_ERR_NO_MEMORY, "out of memory");
  for (int k = 0; k < o->n_in; k++) {
    int32_t t = fv_le_i32(L->b + vin.pos + 4 * (uint64_t)k);
    if (t < -1 || t >= m->n_tensors) return fail(L, BAD, "input %d refers to tensor %d of %d", k, t, m->n_tensors);
    o->in[k] = resolve(T, t);
  }
  /* each output: written once, by this op, not a constant, an activation we compute in f32 */
  for (int k = 0; k < o->n_out; k++) {
    int32_t t = fv_le_i32(L->b + vout.pos + 4 * (uint64_t)k);
    if (t < 0 || t >= m->n_tensors) return fail(L, BAD, "output refers to tensor %d of %d", t, m->n_tensors);
    for (int j = 0; j < k; j++)
      if (o->out[j] == t) return fail(L, BAD, "writes tensor %d twice", t);
    o->out[k] = t;
    const tinfo *Y = &T[t];
    if (is_const(Y)) return fail(L, BAD, "writes to a constant tensor (%d)", t);
    if (Y->producer == PRODUCER_INPUT) return fail(L, BAD, "writes to the model input (tensor %d)", t);
    if (Y->producer != PRODUCER_NONE || Y->alias >= 0)
      return fail(L, BAD, "writes to tensor %d, already written by an earlier operator", t);
    if (code == B_DEQUANTIZE && o->n_in == 1 && o->in[0] >= 0 && T[o->in[0]].bytes) continue; /* folded: a constant */
    const fv_tensor *YT = &m->tensors[t];
    int yt = Y->type;
    if (yt != TT_FLOAT32 && yt != TT_UINT8 && yt != TT_INT8 && yt != TT_INT16)
      return fail(L, UNSUP, "output has type %s", tt_name(yt));
    if (!act_ok_rank(YT->rank))
      return fail(L, UNSUP, "output tensor %d has rank %d; featviz runs activations of rank 1, 2 or 4", t, YT->rank);
    if (elems(YT) > FV_MAX_ACT_ELEMS) return fail(L, BAD, "output tensor %d is too large", t);
  }

  if (code == B_DEQUANTIZE || code == B_QUANTIZE) {
    if (o->n_in == 1 && o->in[0] >= 0 && T[o->in[0]].bytes) {
      if (code == B_QUANTIZE) return fail(L, UNSUP, "QUANTIZE of a constant");
      return op_dequantize_fold(L, m, T, o);
    }
    return op_alias(L, m, T, o);
  }
  if (split) return op_split(L, m, T, o);

  fv_op *op = fv_model_add_op(m, kind, o->n_in, L->err);
  if (!op) return 0;
  memcpy(op->inputs, o->in, sizeof(int) * (size_t)o->n_in);
  op->output = o->out[0];
  snprintf(op->src_op, sizeof op->src_op, "%s", builtin_name(code));
  int ok;
  switch (code) {
    case B_CONV_2D: ok = op_conv(L, m, T, o, op, 0); break;
    case B_DEPTHWISE_CONV_2D: ok = op_conv(L, m, T, o, op, 1); break;
    case B_FULLY_CONNECTED: ok = op_fc(L, m, T, o, op); break;
    case B_ADD: case B_MUL: case B_SUB: case B_DIV: case B_MAXIMUM: case B_MINIMUM: case B_PRELU:
      ok = op_binary(L, m, T, o, op);
      break;
    case B_AVERAGE_POOL_2D: case B_MAX_POOL_2D: ok = op_pool(L, m, T, o, op); break;
    case B_MEAN: ok = op_mean(L, m, T, o, op); break;
    case B_PAD: case B_PADV2:
      ok = op_pad(L, m, T, o, op);
      if (ok && o->n_in > 2 && o->in[2] >= 0) op->pad_value = NAN; /* read from the constant after dequantization */
      break;
    case B_CONCATENATION: ok = op_concat(L, m, T, o, op); break;
    case B_RESHAPE: case B_SQUEEZE: ok = op_reshape(L, m, T, o, op); break;
    case B_SOFTMAX: ok = op_softmax(L, m, T, o, op); break;
    case B_LRN: ok = op_lrn(L, m, T, o, op); break;
    case B_TRANSPOSE: ok = op_transpose(L, m, T, o, op); break;
    default: ok = op_unary(L, m, T, o, op); break;
  }
  if (!ok) return 0;
  implied_activation(T, m, op);
  for (int k = 0; k < o->n_in; k++)
    if (o->in[k] >= 0) T[o->in[k]].real_uses++;
  T[o->out[0]].producer = m->n_ops - 1;
  return 1;
}

/* ==== constants ========================================================== */
/* Every constant becomes f32, except one read only by folded DEQUANTIZEs
 * (their outputs hold its values) and unused constants of types we cannot
 * read (strings, ...). */
static int load_constants(ld *L, fv_model *m, tinfo *T) {
  int64_t total = 0;
  for (int i = 0; i < m->n_tensors; i++) {
    const tinfo *ti = &T[i];
    if (ti->fold_src >= 0) total += ti->count;
    else if (ti->bytes && tt_size(ti->type) && !(ti->fold_uses && !ti->real_uses)) total += ti->count;
  }
  if (total > FV_MAX_WEIGHT_FLOATS) {
    L->where[0] = 0;
    return fail(L, FV_ERR_NO_MEMORY, "the model's constants need %lld MB as float32; the limit is %lld MB",
                (long long)(total >> 18), (long long)(FV_MAX_WEIGHT_FLOATS >> 18));
  }
  for (int i = 0; i < m->n_tensors; i++) {
    const tinfo *ti = &T[i];
    const tinfo *src;
    if (ti->fold_src >= 0) src = &T[ti->fold_src];
    else if (ti->bytes && tt_size(ti->type) && !(ti->fold_uses && !ti->real_uses)) src = ti;
    else continue;
    snprintf(L->where, sizeof L->where, "tensor %d '%.60s'", i, m->tensors[i].name);
    m->tensors[i].data = (float *)malloc(sizeof(float) * (size_t)(ti->count ? ti->count : 1));
    if (!m->tensors[i].data) return fail(L, FV_ERR_NO_MEMORY, "out of memory for %lld values", (long long)ti->count);
    TRY(dequantize(L, src, &m->tensors[ti->fold_src >= 0 ? ti->fold_src : i], m->tensors[i].data));
  }
  return 1;
}

/* ==== input and output =================================================== */
static int read_io(ld *L, fv_model *m, tinfo *T, const fbt *sg) {
  fbv vin, vout;
  L->where[0] = 0;
  TRY(fv_fb_vec_field(L, sg, SG_INPUTS, 4, &vin, "subgraph inputs"));
  TRY(fv_fb_vec_field(L, sg, SG_OUTPUTS, 4, &vout, "subgraph outputs"));
  if (!vin.len) return fail(L, BAD, "the model lists no inputs");
  if (!vout.len) return fail(L, BAD, "the model lists no outputs");
  int in = fv_le_i32(L->b + vin.pos), out = fv_le_i32(L->b + vout.pos);
  if (in < 0 || in >= m->n_tensors) return fail(L, BAD, "the model input refers to tensor %d of %d", in, m->n_tensors);
  if (out < 0 || out >= m->n_tensors) return fail(L, BAD, "the model output refers to tensor %d of %d", out, m->n_tensors);
  const fv_tensor *X = &m->tensors[in];
  char sb[64];
  if (is_const(&T[in])) return fail(L, BAD, "the model input (tensor %d) is a constant", in);
  if (X->rank != 4 || X->dims[3] != 3)
    return fail(L, UNSUP, "the model input '%.60s' has shape %s; featviz needs a 4-D NHWC image with 3 channels",
                X->name, shape_str(X, sb, sizeof sb));
  if (elems(X) > FV_MAX_ACT_ELEMS) return fail(L, BAD, "the model input is too large");
  /* What pixel p becomes. A quantized input says so exactly: the network
   * computes with the real value scale·(q − zero_point) of q = p (the
   * converter quantized its float input range onto the pixels). A float
   * input carries no such fact: metadata may say (tflite_meta.c), else the
   * common Keras / Teachable Machine convention of [-1, 1] is a guess. */
  double s = X->scale, z = X->zero_point, q0;
  switch (T[in].type) {
    case TT_UINT8: q0 = 0; break;    /* q = p */
    case TT_INT8: q0 = -128; break;  /* q = p − 128 */
    case TT_FLOAT32: q0 = NAN; break;
    default: return fail(L, UNSUP, "the model input has type %s", tt_name(T[in].type));
  }
  m->input = in;
  m->output = out;
  if (!(s > 0)) s = 1, z = 0;  /* an integer input without quantization: the pixel itself */
  float scale = isnan(q0) ? 2.0f / 255.0f : (float)s, offset = isnan(q0) ? -1.0f : (float)(s * (q0 - z));
  if (!(scale > 0) || !isfinite(scale) || !isfinite(offset) || !isfinite(offset + 255.0f * scale))
    return fail(L, BAD, "the model input's quantization (scale %g, zero point %d) gives pixel 0 the value %g",
                s, X->zero_point, (double)offset);
  for (int k = 0; k < 3; k++) {
    m->in_scale[k] = scale;
    m->in_offset[k] = offset;
  }
  m->in_bgr = 0;
  if (!isnan(q0)) snprintf(m->in_source, sizeof m->in_source, "input quantization");
  T[in].producer = PRODUCER_INPUT;
  return 1;
}

/* ==== metadata ============================================================ */
/* The buffer named TFLITE_METADATA, if any, read by tflite_meta.c; a broken
 * metadata entry is ignored (a reader of its own, errors to a scratch). */
static void read_metadata(const ld *L, fv_model *m, const tinfo *T, const fbt *mt, const fbv *buffers) {
  fv_error scratch;
  ld M = *L;
  M.err = &scratch;
  M.where[0] = 0;
  fbv metas;
  if (!fv_fb_vec_field(&M, mt, M_METADATA, 4, &metas, "metadata")) return;
  for (uint32_t k = 0; k < metas.len; k++) {
    fbt e;
    char name[32];
    uint32_t idx;
    uint64_t data, bytes;
    if (!fv_fb_vec_table(&M, &metas, k, &e, "metadata") || !fv_fb_str(&M, &e, 0, name, sizeof name, "name")) return;
    if (strcmp(name, "TFLITE_METADATA") != 0) continue;
    if (!fv_fb_u32(&M, &e, 1, 0, &idx, "buffer") || idx >= buffers->len || !read_buffer(&M, buffers, idx, &data, &bytes)) return;
    const fv_tensor *Y = &m->tensors[m->output];
    fv_tflite_meta_apply(L->b, L->n, L->b + data, bytes, m, T[m->input].type == TT_FLOAT32,
                         Y->rank ? Y->dims[Y->rank - 1] : 1);
    return;
  }
}

/* ==== the loader ========================================================== */
static int load(ld *L, fv_model *m, tinfo **Tp) {
  fbt mt, sg;
  fbv opcodes, subgraphs, buffers, tensors, ops;
  if (L->n < 8) return fail(L, BAD, "file too small (%llu bytes) to be a TFLite model", (unsigned long long)L->n);
  if (memcmp(L->b + 4, "TFL3", 4) != 0) {
    char id[20];
    size_t k = 0;
    for (int i = 4; i < 8; i++) {
      uint8_t c = L->b[i];
      k += (size_t)snprintf(id + k, sizeof id - k, c >= 32 && c < 127 && c != '\\' ? "%c" : "\\x%02x", c);
    }
    return fail(L, BAD, "not a TFLite model: file identifier is '%s', expected 'TFL3'", id);
  }
  uint64_t root;
  TRY(fv_fb_deref(L, 0, &root, "root table"));
  TRY(fv_fb_table_at(L, root, &mt, "model"));
  uint32_t version;
  TRY(fv_fb_u32(L, &mt, M_VERSION, 0, &version, "version"));
  if (version != 3) return fail(L, UNSUP, "schema version %u, expected 3", version);
  TRY(fv_fb_vec_field(L, &mt, M_OPERATOR_CODES, 4, &opcodes, "operator_codes"));
  TRY(fv_fb_vec_field(L, &mt, M_SUBGRAPHS, 4, &subgraphs, "subgraphs"));
  TRY(fv_fb_vec_field(L, &mt, M_BUFFERS, 4, &buffers, "buffers"));
  if (!subgraphs.len) return fail(L, BAD, "the model has no subgraphs");
  TRY(fv_fb_vec_table(L, &subgraphs, 0, &sg, "subgraph"));
  TRY(fv_fb_vec_field(L, &sg, SG_TENSORS, 4, &tensors, "tensors"));
  TRY(fv_fb_vec_field(L, &sg, SG_OPERATORS, 4, &ops, "operators"));
  if (!tensors.len) return fail(L, BAD, "the model has no tensors");
  if (tensors.len > TFL_MAX_TENSORS) return fail(L, BAD, "%u tensors (the limit is %d)", tensors.len, TFL_MAX_TENSORS);
  if (!ops.len) return fail(L, BAD, "the model has no operators");
  if (ops.len > TFL_MAX_OPS) return fail(L, BAD, "%u operators (the limit is %d)", ops.len, TFL_MAX_OPS);

  m->tensors = (fv_tensor *)calloc(tensors.len, sizeof(fv_tensor));
  tinfo *T = *Tp = (tinfo *)calloc(tensors.len, sizeof(tinfo));
  if (!m->tensors || !T) return fail(L, FV_ERR_NO_MEMORY, "out of memory");
  m->n_tensors = (int)tensors.len;
  for (int i = 0; i < m->n_tensors; i++) {
    T[i].producer = PRODUCER_NONE;
    T[i].fold_src = -1;
    T[i].alias = -1;
    TRY(parse_tensor(L, m, T, &tensors, &buffers, i));
  }
  TRY(read_io(L, m, T, &sg));
  for (int oi = 0; oi < (int)ops.len; oi++) {
    opctx o;
    memset(&o, 0, sizeof o);
    int ok = parse_op(L, m, T, &ops, &opcodes, oi, &o);
    free(o.in);
    free(o.out);
    if (!ok) return 0;
  }
  m->output = resolve(T, m->output);
  L->where[0] = 0;
  if (!m->n_ops) return fail(L, UNSUP, "the model has no operators featviz runs (only folded DEQUANTIZEs)");
  if (T[m->output].producer < 0)
    return fail(L, BAD, "the model output (tensor %d) is not computed by any operator", m->output);
  TRY(load_constants(L, m, T));
  read_metadata(L, m, T, &mt, &buffers);
  for (int i = 0; i < m->n_ops; i++) { /* PADV2's constant, now dequantized */
    fv_op *op = &m->ops[i];
    if (op->kind == FV_OP_PAD && op->n_inputs > 2 && op->inputs[2] >= 0) op->pad_value = m->tensors[op->inputs[2]].data[0];
  }
  return 1;
}

fv_model *fv_tflite_load(const uint8_t *bytes, size_t n, fv_error *err) {
  fv_error_clear(err);
  ld L;
  memset(&L, 0, sizeof L);
  L.b = bytes;
  L.n = bytes ? (uint64_t)n : 0;
  L.err = err;
  fv_model *m = fv_model_new(err);
  if (!m) return NULL;
  tinfo *T = NULL;
  int ok = load(&L, m, &T);
  free(T);
  if (!ok || !fv_model_finish(m, err)) {
    fv_model_free(m);
    return NULL;
  }
  return m;
}
