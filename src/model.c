/* model.c — the in-memory model both loaders produce (model.h): building it,
 * the finishing touches every model gets, dequantization, the input
 * description and labels, and the fv.h getters. fv_model_load picks the
 * loader by the file's content.
 *
 * Every getter checks its indices and answers -1 / 0 / NULL when they are out
 * of range, so the JS shell and the benchmark's tfjs peer can walk a model
 * without knowing its sizes first.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/winograd.h"
#include "le.h"
#include "model.h"

/* ==== loading: the file's content picks the loader ========================= */
/* TFLite files carry "TFL3" at byte 4 (the flatbuffer file identifier). An
 * ONNX file is a protobuf ModelProto, whose first byte is a field tag: every
 * writer puts a low-numbered field first (ir_version = field 1 varint, 0x08),
 * but any valid ModelProto tag (fields 1..8 and 14 of wire types 0 or 2) is
 * taken as ONNX. Anything else gets the TFLite loader's message, which names
 * the identifier it found. */
static int looks_like_onnx(const uint8_t *b, size_t n) {
  if (n < 2) return 0;
  if (n >= 8 && memcmp(b + 4, "TFL3", 4) == 0) return 0;
  switch (b[0]) {
    case 0x08: case 0x12: case 0x1a: case 0x22: case 0x28: case 0x32: case 0x3a: case 0x42: case 0x72:
      return 1;
    default:
      return 0;
  }
}

fv_model *fv_model_load(const uint8_t *bytes, size_t n, fv_error *err) {
  fv_error_clear(err);
  if (bytes && looks_like_onnx(bytes, n)) return fv_onnx_load(bytes, n, err);
  return fv_tflite_load(bytes, n, err);
}

/* ==== building ============================================================== */
fv_model *fv_model_new(fv_error *err) {
  fv_model *m = (fv_model *)calloc(1, sizeof *m);
  if (!m) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  m->input = m->output = -1;
  m->in_scale[0] = m->in_scale[1] = m->in_scale[2] = 2.0f / 255.0f;
  m->in_offset[0] = m->in_offset[1] = m->in_offset[2] = -1.0f;
  return m;
}

static int grow(void **p, int *cap, int need, size_t elem) {
  if (need <= *cap) return 1;
  int c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, (size_t)c * elem);
  if (!q) return 0;
  memset((char *)q + (size_t)*cap * elem, 0, (size_t)(c - *cap) * elem);
  *p = q;
  *cap = c;
  return 1;
}

int fv_model_add_tensor(fv_model *m, const char *name, int rank, const int *dims, float *data, fv_error *err) {
  if (rank < 0 || rank > FV_MAX_RANK || !grow((void **)&m->tensors, &m->cap_tensors, m->n_tensors + 1, sizeof(fv_tensor))) {
    free(data);
    fv_error_set(err, rank < 0 || rank > FV_MAX_RANK ? FV_ERR_UNSUPPORTED : FV_ERR_NO_MEMORY,
                 rank < 0 || rank > FV_MAX_RANK ? "tensor '%.80s' has rank %d; featviz runs rank 4 at most"
                                                : "out of memory for tensor '%.80s' (rank %d)",
                 name ? name : "", rank);
    return -1;
  }
  fv_tensor *t = &m->tensors[m->n_tensors];
  memset(t, 0, sizeof *t);
  size_t len = name ? strlen(name) : 0;
  if (len >= FV_NAME_MAX) len = FV_NAME_MAX - 1;
  t->name = (char *)malloc(len + 1);
  if (!t->name) {
    free(data);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return -1;
  }
  if (len) memcpy(t->name, name, len);
  t->name[len] = 0;
  t->rank = rank;
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  t->data = data;
  return m->n_tensors++;
}

fv_op *fv_model_add_op(fv_model *m, fv_op_kind kind, int n_inputs, fv_error *err) {
  int *in = (int *)malloc(sizeof(int) * (size_t)(n_inputs > 0 ? n_inputs : 1));
  if (!in || !grow((void **)&m->ops, &m->cap_ops, m->n_ops + 1, sizeof(fv_op))) {
    free(in);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  fv_op *op = &m->ops[m->n_ops++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  op->n_inputs = n_inputs;
  op->inputs = in;
  for (int k = 0; k < n_inputs; k++) in[k] = -1;
  op->output = -1;
  op->stride_h = op->stride_w = op->dil_h = op->dil_w = 1;
  return op;
}

void fv_model_free(fv_model *m) {
  if (!m) return;
  for (int i = 0; i < m->n_tensors; i++) {
    free(m->tensors[i].name);
    free(m->tensors[i].data);
    free(m->tensors[i].packed);
    free(m->tensors[i].wino);
  }
  for (int i = 0; i < m->n_ops; i++) free(m->ops[i].inputs);
  free(m->tensors);
  free(m->ops);
  free(m->labels);
  free(m);
}

/* ==== finishing ============================================================= */
static int description_ok(int bgr, const float *scale, const float *offset) {
  if (bgr != 0 && bgr != 1) return 0;
  for (int k = 0; k < 3; k++)
    if (!isfinite(scale[k]) || scale[k] == 0 || !isfinite(offset[k]) || !isfinite(offset[k] + 255 * scale[k]))
      return 0;
  return 1;
}

/* The SIMD GEMMs read CONV_2D weights ([oc][kh·kw·ic], the im2col GEMM's
 * matrix) as panels of 8 output channels forward and 8 input columns
 * backward (fv_conv_pack): packed here once, instead of on every call. A 3×3
 * or 5×5 stride-1 conv's weights are also Winograd-transformed (fv_conv_wino:
 * 16/9 of the weights for each direction of a 3×3, and 4× for its F(4×4)
 * forward; 36/25 each for a 5×5), and a 7×7 stride-2 conv's as its phases'
 * F(3×3, 4×4) (fv_wino_s2_weights: 36·4/49 of them each way). Plain SIMD builds only. */
static int pack_conv_weights(fv_model *m, fv_error *err) {
#ifdef __wasm_simd128__
  for (int i = 0; i < m->n_ops; i++) {
    const fv_op *op = &m->ops[i];
    if (op->kind != FV_OP_CONV2D || op->groups > 1 || op->n_inputs < 2 || op->inputs[1] < 0) continue;
    fv_tensor *w = &m->tensors[op->inputs[1]];
    if (!w->data || w->packed || w->rank != 4) continue;
    const int K = w->dims[1] * w->dims[2] * w->dims[3];
    w->packed = (float *)malloc(fv_conv_pack_floats(K, w->dims[0]) * sizeof(float));
    if (!w->packed) {
      fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory packing the weights of layer %d", i);
      return 0;
    }
    fv_conv_pack(K, w->dims[0], w->data, w->packed);
    const int r = w->dims[1];
    if (fv_wino_s2_takes(r, w->dims[2], op->stride_h, op->stride_w, op->dil_h, op->dil_w, w->dims[3], w->dims[0])) {
      /* a 7×7 stride-2 first conv: its phases' weights (winograd_s2.c) */
      w->wino = (float *)malloc(fv_wino_s2_floats(w->dims[3], w->dims[0]) * sizeof(float));
      if (!w->wino || fv_wino_s2_weights(w->dims[3], w->dims[0], w->data, w->wino) != FV_OK) {
        fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory transforming the weights of layer %d", i);
        return 0;
      }
      continue;
    }
    if ((r != 3 && r != 5) || w->dims[2] != r || op->stride_h != 1 || op->stride_w != 1 || op->dil_h != 1 || op->dil_w != 1)
      continue;
    const int ic = w->dims[3], oc = w->dims[0];
    w->wino = (float *)malloc(fv_conv_wino_floats(ic, oc, r) * sizeof(float));
    if (!w->wino) {
      fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory transforming the weights of layer %d", i);
      return 0;
    }
    fv_conv_wino(ic, oc, r, w->data, w->wino);
  }
#else
  (void)m, (void)err;
#endif
  return 1;
}

int fv_model_finish(fv_model *m, fv_error *err) {
  /* every constant finite: a file may say inf, or a loader's folding make it (a BatchNormalization
   * of zero variance, a Div by zero) */
  for (int i = 0; i < m->n_tensors; i++) {
    const fv_tensor *t = &m->tensors[i];
    int64_t n = 1;
    for (int k = 0; k < t->rank; k++) n *= t->dims[k];
    for (int64_t k = 0; t->data && k < n; k++)
      if (!isfinite(t->data[k])) {
        fv_error_set(err, FV_ERR_BAD_MODEL, "constant '%.80s' holds an infinite or NaN value (at %lld)", t->name,
                     (long long)k);
        return 0;
      }
  }
  if (!description_ok(m->in_bgr, m->in_scale, m->in_offset)) {
    fv_error_set(err, FV_ERR_BAD_MODEL, "the model's input description (scale %g, offset %g) is not usable",
                 (double)m->in_scale[0], (double)m->in_offset[0]);
    return 0;
  }
  return pack_conv_weights(m, err);
}

fv_status fv_model_check_size(const fv_model *m, int h, int w, fv_error *err) {
  const fv_tensor *in = &m->tensors[m->input];
  if (!m->fixed_size[0] || (h == in->dims[1] && w == in->dims[2])) return FV_OK;
  fv_error_set(err, FV_ERR_SHAPE, "the model runs only at its native size %dx%d, not %dx%d: %s", in->dims[1],
               in->dims[2], h, w, m->fixed_size);
  return FV_ERR_SHAPE;
}

/* ==== dequantization ======================================================== */
int fv_dtype_size(fv_dtype t) {
  switch (t) {
    case FV_DT_F64: case FV_DT_U64: case FV_DT_I64: return 8;
    case FV_DT_F32: case FV_DT_U32: case FV_DT_I32: return 4;
    case FV_DT_F16: case FV_DT_BF16: case FV_DT_U16: case FV_DT_I16: return 2;
    case FV_DT_U8: case FV_DT_I8: case FV_DT_BOOL: return 1;
    default: return 0;
  }
}

int fv_dtype_is_float(fv_dtype t) { return t == FV_DT_F32 || t == FV_DT_F16 || t == FV_DT_BF16 || t == FV_DT_F64; }

/* IEEE binary16 → binary32, exact for every input: normals, subnormals
 * (renormalized), ±0, ±inf and NaN (payload kept, made quiet). */
float fv_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13) | (man ? 0x00400000u : 0);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13); /* rebias 15 → 127 */
  } else if (man == 0) {
    bits = sign;
  } else {
    /* subnormal: man * 2^-24; shift the leading 1 up to bit 10 */
    int e = 113; /* 127 - 14 */
    while (!(man & 0x400u)) {
      man <<= 1;
      e--;
    }
    bits = sign | ((uint32_t)e << 23) | ((man & 0x3FFu) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

double fv_dtype_load(const uint8_t *q, fv_dtype t) {
  switch (t) {
    case FV_DT_U8: case FV_DT_BOOL: return q[0];
    case FV_DT_I8: return (int8_t)q[0];
    case FV_DT_U16: return fv_le_u16(q);
    case FV_DT_I16: return (int16_t)fv_le_u16(q);
    case FV_DT_U32: return fv_le_u32(q);
    case FV_DT_I32: return fv_le_i32(q);
    case FV_DT_U64: return (double)fv_le_u64(q);
    case FV_DT_I64: return (double)fv_le_i64(q);
    case FV_DT_F16: return fv_half_to_float(fv_le_u16(q));
    case FV_DT_BF16: {
      uint32_t bits = (uint32_t)fv_le_u16(q) << 16;
      float f;
      memcpy(&f, &bits, 4);
      return f;
    }
    case FV_DT_F32: return fv_le_f32(q);
    case FV_DT_F64: return fv_le_f64(q);
    default: return 0;
  }
}

/* f = scale * (q - zero_point), computed in double and rounded once, as
 * TFLite's reference Dequantize and ONNX's DequantizeLinear define it (the
 * double product of a float scale and an integer is exact, so this is the
 * correctly rounded float result). */
int fv_dequantize(const uint8_t *raw, fv_dtype t, int64_t outer, int64_t nch, int64_t inner, const double *scale,
                  const double *zero, float *out) {
  const int es = fv_dtype_size(t);
  int finite = 1;
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t c = 0; c < nch; c++) {
      const double s = scale ? scale[c] : 1, z = zero ? zero[c] : 0;
      const int64_t base = (o * nch + c) * inner;
      const uint8_t *q = raw + (uint64_t)base * (uint64_t)es;
      float *y = out + base;
      for (int64_t k = 0; k < inner; k++, q += es) {
        double v = fv_dtype_load(q, t);
        float f = scale ? (float)(s * (v - z)) : (float)v;
        y[k] = f;
        finite &= isfinite(f) != 0;
      }
    }
  }
  return finite;
}

/* ==== op names ================================================================ */
const char *fv_op_name(fv_op_kind k) {
  static const char *const names[FV_OP_COUNT] = {
      [FV_OP_CONV2D] = "CONV_2D",        [FV_OP_DWCONV2D] = "DEPTHWISE_CONV_2D",
      [FV_OP_FULLY_CONNECTED] = "FULLY_CONNECTED", [FV_OP_ADD] = "ADD",
      [FV_OP_MUL] = "MUL",               [FV_OP_AVGPOOL2D] = "AVERAGE_POOL_2D",
      [FV_OP_MAXPOOL2D] = "MAX_POOL_2D", [FV_OP_MEAN] = "MEAN",
      [FV_OP_PAD] = "PAD",               [FV_OP_CONCAT] = "CONCATENATION",
      [FV_OP_RESHAPE] = "RESHAPE",       [FV_OP_SOFTMAX] = "SOFTMAX",
      [FV_OP_SUB] = "SUB",               [FV_OP_DIV] = "DIV",
      [FV_OP_MAXIMUM] = "MAXIMUM",       [FV_OP_MINIMUM] = "MINIMUM",
      [FV_OP_ACT] = "ACTIVATION",        [FV_OP_PRELU] = "PRELU",
      [FV_OP_LRN] = "LOCAL_RESPONSE_NORMALIZATION", [FV_OP_SLICE] = "SLICE",
      [FV_OP_TRANSPOSE] = "TRANSPOSE"};
  return (unsigned)k < FV_OP_COUNT ? names[k] : "UNKNOWN";
}

/* ==== layers (fv.h) ============================================================ */
static const fv_op *op_at(const fv_model *m, int layer) {
  return m && layer >= 0 && layer < m->n_ops ? &m->ops[layer] : NULL;
}

static const fv_tensor *tensor_at(const fv_model *m, int t) {
  return m && t >= 0 && t < m->n_tensors ? &m->tensors[t] : NULL;
}

int fv_model_layer_count(const fv_model *m) { return m ? m->n_ops : 0; }

const char *fv_model_layer_name(const fv_model *m, int layer) {
  const fv_op *op = op_at(m, layer);
  return op ? m->tensors[op->output].name : NULL;
}

const char *fv_model_layer_op(const fv_model *m, int layer) {
  const fv_op *op = op_at(m, layer);
  if (!op) return NULL;
  return op->src_op[0] ? op->src_op : fv_op_name(op->kind);
}

const char *fv_model_op_kind(const fv_model *m, int layer) {
  const fv_op *op = op_at(m, layer);
  return op ? fv_op_name(op->kind) : NULL;
}

/* The stored shape as N,H,W,C: rank 2 [N,C] → N,1,1,C; rank 3 [N,A,B] →
 * N,1,A,B; rank 1 [C] → 1,1,1,C (the graph's 4-D view). */
static int nhwc_dim(const fv_tensor *t, int d) {
  if (d < 0 || d > 3) return 0;
  switch (t->rank) {
    case 4: return t->dims[d];
    case 3: return d == 0 ? t->dims[0] : d == 1 ? 1 : t->dims[d - 1];
    case 2: return d == 0 ? t->dims[0] : d == 3 ? t->dims[1] : 1;
    case 1: return d == 3 ? t->dims[0] : 1;
    default: return 1;
  }
}

int fv_model_layer_dim(const fv_model *m, int layer, int d) {
  const fv_op *op = op_at(m, layer);
  return op ? nhwc_dim(&m->tensors[op->output], d) : 0;
}

int fv_model_layer_find(const fv_model *m, const char *name) {
  if (!m || !name) return -1;
  for (int i = 0; i < m->n_ops; i++)
    if (strcmp(m->tensors[m->ops[i].output].name, name) == 0) return i;
  return -1;
}

int fv_model_input_dim(const fv_model *m, int d) { return m ? nhwc_dim(&m->tensors[m->input], d) : 0; }

/* ==== the input description and labels ======================================== */
int fv_model_input_bgr(const fv_model *m) { return m ? m->in_bgr : 0; }
float fv_model_input_scale(const fv_model *m, int k) { return m && k >= 0 && k < 3 ? m->in_scale[k] : 0.0f; }
float fv_model_input_offset(const fv_model *m, int k) { return m && k >= 0 && k < 3 ? m->in_offset[k] : 0.0f; }
const char *fv_model_input_source(const fv_model *m) { return m ? m->in_source : ""; }

fv_status fv_model_set_input(fv_model *m, int bgr, float scale0, float scale1, float scale2, float offset0,
                             float offset1, float offset2, const char *source, fv_error *err) {
  const float scale[3] = {scale0, scale1, scale2}, offset[3] = {offset0, offset1, offset2};
  fv_error_clear(err);
  if (!m) {
    fv_error_set(err, FV_ERR_BAD_ARG, "no model");
    return FV_ERR_BAD_ARG;
  }
  if (!description_ok(bgr, scale, offset)) {
    fv_error_set(err, FV_ERR_BAD_ARG,
                 "input description out of range: bgr %d (0 or 1), scale %g %g %g (finite, not 0), offset %g %g %g",
                 bgr, (double)scale0, (double)scale1, (double)scale2, (double)offset0, (double)offset1,
                 (double)offset2);
    return FV_ERR_BAD_ARG;
  }
  m->in_bgr = bgr;
  memcpy(m->in_scale, scale, sizeof scale);
  memcpy(m->in_offset, offset, sizeof offset);
  size_t n = source ? strlen(source) : 0;
  if (n >= sizeof m->in_source) n = sizeof m->in_source - 1;
  if (n) memcpy(m->in_source, source, n);
  m->in_source[n] = 0;
  return FV_OK;
}

const char *fv_model_labels(const fv_model *m) { return m ? m->labels : NULL; }

/* ==== the network, read-only (fv.h): ops and tensors =========================== */
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
_Static_assert(FV_PADDING_SAME == 0 && FV_PADDING_VALID == 1 && FV_PADDING_EXPLICIT == 2,
               "fv.h documents padding 0 SAME, 1 VALID, 2 explicit");
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
    case FV_OPT_PAD_TOP: return op->padding == FV_PADDING_EXPLICIT ? op->pad_t : 0;
    case FV_OPT_PAD_LEFT: return op->padding == FV_PADDING_EXPLICIT ? op->pad_l : 0;
    case FV_OPT_PAD_BOTTOM: return op->padding == FV_PADDING_EXPLICIT ? op->pad_b : 0;
    case FV_OPT_PAD_RIGHT: return op->padding == FV_PADDING_EXPLICIT ? op->pad_r : 0;
    case FV_OPT_CEIL_MODE: return op->ceil_mode;
    case FV_OPT_GLOBAL: return op->global;
    case FV_OPT_COUNT_INCLUDE_PAD: return op->count_include_pad;
    case FV_OPT_GROUPS: return op->groups > 1 ? op->groups : 1;
    case FV_OPT_LRN_LO: return op->lrn_lo;
    case FV_OPT_LRN_HI: return op->lrn_hi;
    case FV_OPT_LRN_ALPHA: return op->lrn_alpha;
    case FV_OPT_LRN_BETA: return op->lrn_beta;
    case FV_OPT_LRN_BIAS: return op->lrn_bias;
    case FV_OPT_ACT_A: return op->act_a;
    case FV_OPT_ACT_B: return op->act_b;
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
