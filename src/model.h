/* model.h — the in-memory model (internal): tensors, ops and f32 weights.
 *
 * Two loaders fill an fv_model: src/tflite.c from a .tflite flatbuffer and
 * src/onnx.c from an ONNX protobuf; src/model.c owns the rest of its life
 * (building, the finishing touches, the fv.h getters, freeing) and
 * fv_model_load picks the loader by the file's content; src/graph.c runs
 * it. Everything is float32 after loading: constant tensors are dequantized
 * once, so kernels never see quantized data. The model owns every pointer in
 * it; fv_model_free releases them all.
 *
 * Conventions:
 *  - Activation tensors are NHWC. Rank-2 activations ([N, C], e.g. after
 *    RESHAPE or FULLY_CONNECTED) are treated as N×1×1×C by the graph, rank 3
 *    [N, A, B] as N×1×A×B.
 *  - Weight layouts are TFLite's (the ONNX loader permutes its weights to them):
 *      CONV_2D            [OC, KH, KW, IC/groups]
 *      DEPTHWISE_CONV_2D  [1, KH, KW, IC*DM]   (output channel o = i*DM + m)
 *      FULLY_CONNECTED    [OC, IC]
 *    Biases are [OC] f32 (int32 biases dequantized with input_scale*weight_scale).
 *  - Constants an ONNX model broadcasts against activations are stored rank 4,
 *    in the NHWC order of the activation they meet.
 *  - Each op has exactly one output tensor; layer i is op i's output.
 */
#ifndef FV_MODEL_H
#define FV_MODEL_H

#include "fv.h"

#define FV_MAX_RANK 4
#define FV_NAME_MAX 256

typedef enum {
  FV_OP_CONV2D,    /* groups ≥ 1: w [OC, KH, KW, IC/groups] */
  FV_OP_DWCONV2D,
  FV_OP_FULLY_CONNECTED,
  FV_OP_ADD,
  FV_OP_MUL,
  FV_OP_AVGPOOL2D, /* global: the window is the whole input map at plan time */
  FV_OP_MAXPOOL2D, /* global as for AVGPOOL2D */
  FV_OP_MEAN,
  FV_OP_PAD,
  FV_OP_CONCAT,
  FV_OP_RESHAPE,   /* also SQUEEZE / UNSQUEEZE / FLATTEN: all only relabel the same floats */
  FV_OP_SOFTMAX,
  /* ---- added for ONNX and newer TFLite exports (issue 10) ---- */
  FV_OP_SUB,       /* binary ops with NHWC broadcasting, as ADD/MUL */
  FV_OP_DIV,
  FV_OP_MAXIMUM,
  FV_OP_MINIMUM,
  FV_OP_ACT,       /* a standalone activation: y = act(x), op->act with op->act_a / act_b */
  FV_OP_PRELU,     /* y = x > 0 ? x : slope·x; input 1 the slope, a constant broadcast like ADD's */
  FV_OP_LRN,       /* across channels: y = x / (bias + alpha · Σ_{c' = c−lrn_lo .. c+lrn_hi} x²)^beta */
  FV_OP_SLICE,     /* y = x[begin[k] : begin[k] + size[k]·step[k] : step[k]] on each NHWC axis (Split → several) */
  FV_OP_TRANSPOSE, /* y's axis k is x's axis perm[k], on the 4-D NHWC view */
  FV_OP_COUNT
} fv_op_kind;

/* Activations. Fused into an op (op->act of CONV2D, ADD, ...) only NONE,
 * RELU and RELU6 occur; FV_OP_ACT may carry any of them. Parameters:
 * CLIP [act_a, act_b]; LEAKY_RELU slope act_a; HARD_SIGMOID
 * max(0, min(1, act_a·x + act_b)); HARD_SWISH x·relu6(x + 3)/6. */
typedef enum {
  FV_ACT_NONE,
  FV_ACT_RELU,
  FV_ACT_RELU6,
  FV_ACT_CLIP,
  FV_ACT_LEAKY_RELU,
  FV_ACT_SIGMOID,
  FV_ACT_HARD_SIGMOID,
  FV_ACT_HARD_SWISH,
  FV_ACT_TANH,
  FV_ACT_COUNT
} fv_act;
/* EXPLICIT: op->pad_t/l/b/r (ONNX pads, auto_pad NOTSET). */
typedef enum { FV_PADDING_SAME, FV_PADDING_VALID, FV_PADDING_EXPLICIT } fv_padding;

typedef struct {
  char *name;
  int rank;
  int dims[FV_MAX_RANK];  /* shape as stored in the file */
  float *data;            /* constant tensors: dequantized f32 (owned); activations: NULL */
  float *packed;          /* CONV_2D weights in the SIMD GEMMs' panel layouts (fv_conv_pack; owned), or NULL */
  float *wino;            /* 3×3 stride-1 CONV_2D weights Winograd-transformed, packed (fv_conv_wino; owned), or NULL */
  /* quantization of the tensor in the file (scale 0 = none); kept for the input range */
  float scale;
  int zero_point;
} fv_tensor;

typedef struct {
  fv_op_kind kind;
  int n_inputs;
  int *inputs;          /* tensor indices; -1 = optional input absent (e.g. no bias) */
  int output;           /* tensor index */
  fv_act act;           /* fused activation */
  fv_padding padding;   /* CONV2D, DWCONV2D, pools */
  int stride_h, stride_w;
  int dil_h, dil_w;     /* CONV2D, DWCONV2D; 1 when absent */
  int pad_t, pad_l, pad_b, pad_r; /* FV_PADDING_EXPLICIT: before/after on H and W */
  int filter_h, filter_w; /* pools */
  int global;           /* pools: the window is the whole input map (ONNX GlobalAveragePool/GlobalMaxPool) */
  int ceil_mode;        /* pools: output size rounded up (ONNX ceil_mode = 1); windows past the edge are cut */
  int count_include_pad; /* AVGPOOL2D with explicit pads: the divisor counts the pads (never the ceil overhang) */
  int groups;           /* CONV2D: 0 or 1 = ordinary; else IC/groups input channels per group */
  float act_a, act_b;   /* FV_OP_ACT parameters (see fv_act) */
  int lrn_lo, lrn_hi;   /* LRN: channels before / after c in the window */
  float lrn_alpha, lrn_beta, lrn_bias; /* LRN: alpha per element (ONNX's alpha / size) */
  int begin[FV_MAX_RANK], size[FV_MAX_RANK], step[FV_MAX_RANK]; /* SLICE, NHWC; step ≥ 1 */
  /* i10-load addition: SLICE size[k] = -1 means "to the end of axis k at the
   * run size" (an axis the Split/Slice does not cut), so a channel split runs
   * at any input size. */
  int perm[FV_MAX_RANK];  /* TRANSPOSE, NHWC */
  float pad_value;      /* PAD: the constant (PADV2, ONNX Pad mode "constant") */
  int depth_mult;       /* DWCONV2D (0 in the file → derived from shapes) */
  int axis;             /* CONCAT: axis in NHWC 0..3 (negative already resolved) */
  int keep_dims;        /* MEAN */
  int mean_axes;        /* MEAN: bitmask over NHWC axes (bit 1 = H, bit 2 = W, ...) */
  int pads[FV_MAX_RANK][2]; /* PAD: before/after per NHWC axis */
  float beta;           /* SOFTMAX */
  int new_rank;         /* RESHAPE: target shape from the file (-1 allowed once) */
  /* i10-load addition: RESHAPE new_rank = 0: the output takes the planned
   * dims of the activation inputs[1] (no gradient to it): the end of a
   * channel shuffle, which then runs at any input size. */
  int new_shape[FV_MAX_RANK];
  char src_op[32];      /* the file's op type it came from ("Conv", "CONV_2D"), for layer lists and messages */
} fv_op;

struct fv_model {
  int n_tensors;
  fv_tensor *tensors;
  int n_ops;
  fv_op *ops;
  int input;            /* the graph's image input tensor (NHWC, C = 3) */
  int output;           /* the graph's output tensor */
  /* The input the network expects, per channel (issue 10: never silently
   * wrong). The network's input channel k holds p·in_scale[k] + in_offset[k]
   * for the 0..255 value p of the photo's channel (in_bgr ? 2 − k : k). */
  int in_bgr;
  float in_scale[3], in_offset[3];
  char in_source[32];   /* what said so: "onnx metadata", "tflite metadata", "input quantization", "" (nothing: a guess is needed) */
  char *labels;         /* class names the file carries, one per line (owned), or NULL */
  /* i10-load additions */
  char fixed_size[128]; /* non-empty: why the graph is right only at the native input size
                           (the loader folded that size into an op, e.g. a spatial Slice) */
  int cap_tensors, cap_ops; /* allocated lengths of tensors / ops (fv_model_add_*) */
};

/* ==== model.c: what both loaders share ==================================== */
const char *fv_op_name(fv_op_kind k);  /* "CONV_2D", ... (TFLite's builtin names) */

/* Limits on what a browser tab can hold, checked before anything is allocated. */
#define FV_MAX_WEIGHT_FLOATS ((int64_t)100 << 20) /* all constants together: 400 MB of f32 */
#define FV_MAX_ACT_ELEMS ((int64_t)1 << 26)       /* one activation at native size: 256 MB of f32 */

fv_model *fv_model_new(fv_error *err);
/* Appends a tensor (name copied; data owned by the model from here on, freed
 * on failure too); returns its index, or -1 with err set. */
int fv_model_add_tensor(fv_model *m, const char *name, int rank, const int *dims, float *data, fv_error *err);
/* Appends a zeroed op with n_inputs inputs (all -1), strides and dilations 1;
 * NULL with err set when out of memory. */
fv_op *fv_model_add_op(fv_model *m, fv_op_kind kind, int n_inputs, fv_error *err);
/* After a loader: checks the input description and packs 1×1 conv weights
 * for the SIMD GEMM. 0 with err set on failure (the caller frees m). */
int fv_model_finish(fv_model *m, fv_error *err);
/* FV_OK, or FV_ERR_SHAPE when m->fixed_size forbids running at h×w. */
fv_status fv_model_check_size(const fv_model *m, int h, int w, fv_error *err);

/* Element types of constant data in files, and their dequantization. */
typedef enum {
  FV_DT_NONE, FV_DT_F32, FV_DT_F16, FV_DT_BF16, FV_DT_F64, FV_DT_U8, FV_DT_I8, FV_DT_U16, FV_DT_I16,
  FV_DT_U32, FV_DT_I32, FV_DT_U64, FV_DT_I64, FV_DT_BOOL
} fv_dtype;
int fv_dtype_size(fv_dtype t);               /* bytes per element; 0 for FV_DT_NONE */
int fv_dtype_is_float(fv_dtype t);
double fv_dtype_load(const uint8_t *p, fv_dtype t); /* one little-endian element, exactly */
float fv_half_to_float(uint16_t h);          /* IEEE binary16, exact for every input */
/* out[(o·nch + c)·inner + k] = scale[c]·(q − zero[c]) for the raw elements q
 * (rounded once to f32, TFLite's and ONNX's rule); scale NULL: the plain
 * values; zero NULL: 0. Returns 0 if a result is not finite. */
int fv_dequantize(const uint8_t *raw, fv_dtype t, int64_t outer, int64_t nch, int64_t inner,
                  const double *scale, const double *zero, float *out);

/* tflite.c, onnx.c */
fv_model *fv_tflite_load(const uint8_t *bytes, size_t n, fv_error *err);
fv_model *fv_onnx_load(const uint8_t *bytes, size_t n, fv_error *err);

/* util.c */
/* Every fallible export starts with fv_error_clear(err): after a call, err alone says whether it failed. */
void fv_error_clear(fv_error *err);
void fv_error_set(fv_error *err, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
