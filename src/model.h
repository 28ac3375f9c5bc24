/* model.h — the in-memory model (internal): tensors, ops and f32 weights.
 *
 * src/tflite.c fills an fv_model from a .tflite flatbuffer; src/graph.c runs
 * it. Everything is float32 after loading: constant tensors are dequantized
 * once, so kernels never see quantized data. The model owns every pointer in
 * it; fv_model_free releases them all.
 *
 * Conventions:
 *  - Activation tensors are NHWC. Rank-2 activations ([N, C], e.g. after
 *    RESHAPE or FULLY_CONNECTED) are treated as N×1×1×C by the graph.
 *  - Weight layouts are TFLite's, unchanged:
 *      CONV_2D            [OC, KH, KW, IC]
 *      DEPTHWISE_CONV_2D  [1, KH, KW, IC*DM]   (output channel o = i*DM + m)
 *      FULLY_CONNECTED    [OC, IC]
 *    Biases are [OC] f32 (int32 biases dequantized with input_scale*weight_scale).
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
  float *packed;          /* 1×1 CONV_2D weights in the SIMD GEMM's panel layout (fv_fc_pack; owned), or NULL */
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
  int perm[FV_MAX_RANK];  /* TRANSPOSE, NHWC */
  float pad_value;      /* PAD: the constant (PADV2, ONNX Pad mode "constant") */
  int depth_mult;       /* DWCONV2D (0 in the file → derived from shapes) */
  int axis;             /* CONCAT: axis in NHWC 0..3 (negative already resolved) */
  int keep_dims;        /* MEAN */
  int mean_axes;        /* MEAN: bitmask over NHWC axes (bit 1 = H, bit 2 = W, ...) */
  int pads[FV_MAX_RANK][2]; /* PAD: before/after per NHWC axis */
  float beta;           /* SOFTMAX */
  int new_rank;         /* RESHAPE: target shape from the file (-1 allowed once) */
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
  float input_min;      /* value for pixel 0 (to be replaced by the per-channel description below) */
  float input_max;      /* value for pixel 255 */
  /* The input the network expects, per channel (issue 10: never silently
   * wrong). The network's input channel k holds p·in_scale[k] + in_offset[k]
   * for the 0..255 value p of the photo's channel (in_bgr ? 2 − k : k). */
  int in_bgr;
  float in_scale[3], in_offset[3];
  char in_source[32];   /* what said so: "onnx metadata", "tflite metadata", "input quantization", "" (nothing: a guess is needed) */
  char *labels;         /* class names the file carries, one per line (owned), or NULL */
};

const char *fv_op_name(fv_op_kind k);  /* "CONV_2D", ... (TFLite's builtin names) */

/* tflite.c */
fv_model *fv_tflite_load(const uint8_t *bytes, size_t n, fv_error *err);
void fv_model_free(fv_model *m);

/* util.c */
/* Every fallible export starts with fv_error_clear(err): after a call, err alone says whether it failed. */
void fv_error_clear(fv_error *err);
void fv_error_set(fv_error *err, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
