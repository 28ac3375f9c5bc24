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
  FV_OP_CONV2D,
  FV_OP_DWCONV2D,
  FV_OP_FULLY_CONNECTED,
  FV_OP_ADD,
  FV_OP_MUL,
  FV_OP_AVGPOOL2D,
  FV_OP_MAXPOOL2D,
  FV_OP_MEAN,
  FV_OP_PAD,
  FV_OP_CONCAT,
  FV_OP_RESHAPE,   /* also SQUEEZE: both only relabel the same floats */
  FV_OP_SOFTMAX,
  FV_OP_COUNT
} fv_op_kind;

typedef enum { FV_ACT_NONE, FV_ACT_RELU, FV_ACT_RELU6 } fv_act;
typedef enum { FV_PADDING_SAME, FV_PADDING_VALID } fv_padding;

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
  int filter_h, filter_w; /* pools */
  int depth_mult;       /* DWCONV2D (0 in the file → derived from shapes) */
  int axis;             /* CONCAT: axis in NHWC 0..3 (negative already resolved) */
  int keep_dims;        /* MEAN */
  int mean_axes;        /* MEAN: bitmask over NHWC axes (bit 1 = H, bit 2 = W, ...) */
  int pads[FV_MAX_RANK][2]; /* PAD: before/after per NHWC axis */
  float beta;           /* SOFTMAX */
  int new_rank;         /* RESHAPE: target shape from the file (-1 allowed once) */
  int new_shape[FV_MAX_RANK];
} fv_op;

struct fv_model {
  int n_tensors;
  fv_tensor *tensors;
  int n_ops;
  fv_op *ops;
  int input;            /* the graph's image input tensor (NHWC, C = 3) */
  int output;           /* the graph's output tensor */
  float input_min;      /* value for pixel 0 */
  float input_max;      /* value for pixel 255 */
};

const char *fv_op_name(fv_op_kind k);  /* "CONV_2D", ... (TFLite's builtin names) */

/* tflite.c */
fv_model *fv_tflite_load(const uint8_t *bytes, size_t n, fv_error *err);
void fv_model_free(fv_model *m);

/* util.c */
void fv_error_set(fv_error *err, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
