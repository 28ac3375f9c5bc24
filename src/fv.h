/* fv.h — the featviz engine's one public header.
 *
 * featviz runs an ImageNet CNN from a .tflite or .onnx file forward (and, for feature
 * visualization, backward to the input) in float32. This header is the API
 * that wasm/engine.js and the native tests call; every function here is
 * exported from featviz.wasm (see wasm/exports.json).
 *
 * Memory: the caller owns the bytes it passes in; the engine copies what it
 * keeps. Objects returned by *_new / *_load are freed by the matching *_free.
 * Pointers returned by getters stay valid until the owning object is freed.
 *
 * Errors: every function that can fail takes an fv_error* (may be NULL),
 * clears it on entry, and on failure returns NULL, a status other than FV_OK
 * or another value its comment names, with err->code and err->msg saying why.
 * So after any such call err alone tells whether it failed (wasm/engine.js's
 * check() relies on it). Read-only getters of a model, an image or a render
 * take no fv_error: out-of-range indices give -1, 0 or NULL, as they say.
 * The engine never aborts on bad input.
 *
 * Typical use: a feature visualization (the render loop), then a photo.
 *   fv_error err;
 *   fv_model *m = fv_model_load(bytes, n, &err);               // parse + dequantize
 *   if (!m) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *   const char *o = "{\"size\":128,\"steps\":512,\"seed\":0,\"objective\":{\"kind\":\"channel\","
 *                   "\"layer\":\"MobilenetV2/expanded_conv_8/add\",\"channel\":12}}";
 *   fv_render *r = fv_render_new(m, o, strlen(o), &err);       // options checked against the model
 *   while (r && fv_render_steps_done(r) < fv_render_steps_planned(r)) {
 *     if (fv_render_step(r, 16, &err) != FV_OK) break;          // FV_ERR_NUMERIC: the last good image stays
 *     show(fv_render_rgba(r, 0, &err), fv_render_size(r));     // size*size*4 bytes, until the next step
 *   }
 *   size_t len; uint8_t *png = fv_render_png(r, -1, &len, &err);  // the batch as a grid; fv_free it
 *   const char *canon = fv_render_options_json(r);             // for a manifest: re-renders the same bytes
 *   fv_free(png); fv_render_free(r);
 *
 *   fv_infer *in = fv_infer_new(m, 0, 0, -1, &err);            // native size, whole graph
 *   fv_infer_run_image(in, jpeg, jpeg_len, &err);              // decode, resize, normalize, forward
 *   int idx[5]; float p[5]; fv_infer_topk(in, 5, idx, p, &err);
 *   fv_infer_free(in); fv_model_free(m);
 */
#ifndef FV_H
#define FV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */
typedef enum {
  FV_OK = 0,
  FV_ERR_BAD_MODEL = 1,      /* malformed / truncated / hostile model file */
  FV_ERR_UNSUPPORTED = 2,    /* valid file, but an op or type we do not run */
  FV_ERR_BAD_ARG = 3,        /* an option or index out of range */
  FV_ERR_NO_MEMORY = 4,      /* allocation failed or the size is too large */
  FV_ERR_BAD_IMAGE = 5,      /* bytes are not a decodable image */
  FV_ERR_UNKNOWN_LAYER = 6,  /* no layer of that name / index */
  FV_ERR_SHAPE = 7,          /* the graph cannot run at the requested size */
  FV_ERR_NUMERIC = 8         /* an optimization produced NaN or infinity */
} fv_status;

typedef struct {
  int code;       /* an fv_status */
  char msg[240];  /* one line, no trailing newline */
} fv_error;

fv_error *fv_error_new(void);              /* for JS: a heap fv_error, kept for the instance's life */
int fv_error_code(const fv_error *e);
const char *fv_error_message(const fv_error *e);

/* ---- memory helpers for the JS shell ----------------------------------- */
void *fv_malloc(size_t n, fv_error *err);  /* NULL with FV_ERR_NO_MEMORY */
void fv_free(void *p);
const char *fv_version(void);
/* Bytes of heap in use (malloc'd and not freed): leak checks of long sessions. */
size_t fv_heap_in_use(void);

/* ---- model ------------------------------------------------------------- */
typedef struct fv_model fv_model;

fv_model *fv_model_load(const uint8_t *bytes, size_t n, fv_error *err);
void fv_model_free(fv_model *m);

/* A layer is one op's output; layers are numbered in execution order. */
int fv_model_layer_count(const fv_model *m);
const char *fv_model_layer_name(const fv_model *m, int layer);
/* The file's op type the layer came from: "CONV_2D" (TFLite), "Conv" (ONNX), ... */
const char *fv_model_layer_op(const fv_model *m, int layer);
int fv_model_layer_dim(const fv_model *m, int layer, int d);   /* d: 0..3 = N,H,W,C at native input size */
int fv_model_layer_find(const fv_model *m, const char *name);  /* index, or -1 */
int fv_model_input_dim(const fv_model *m, int d);              /* d: 0..3 = N,H,W,C */
/* The input the network expects, per channel: its channel k (k = 0..2) holds
 * p·scale(k) + offset(k) for the 0..255 value p of the photo's channel
 * (bgr ? 2 − k : k). source says what said so: "onnx metadata", "tflite
 * metadata", "input quantization", a preset name set by the shell, or ""
 * when nothing did (the values are then a guess: RGB (p − 127.5)/127.5 for
 * TFLite float inputs, torchvision's ImageNet normalization for ONNX). */
int fv_model_input_bgr(const fv_model *m);
float fv_model_input_scale(const fv_model *m, int k);
float fv_model_input_offset(const fv_model *m, int k);
const char *fv_model_input_source(const fv_model *m);
/* Replaces the input description (e.g. a user's preset); source is copied
 * (31 bytes at most). FV_ERR_BAD_ARG for a zero or non-finite scale or a
 * non-finite offset. Renders and inferences made afterwards use it. */
fv_status fv_model_set_input(fv_model *m, int bgr, float scale0, float scale1, float scale2, float offset0,
                             float offset1, float offset2, const char *source, fv_error *err);
/* Class names the file carries (TFLite metadata's label file, ONNX
 * metadata_props), one per line, or NULL. */
const char *fv_model_labels(const fv_model *m);
/* The network as the engine runs it, read-only (src/model.c): for a
 * second implementation of the same network, e.g. the benchmark's tfjs peer.
 * Op i is the op whose output is layer i. Tensors are numbered as in the
 * file (TFLite) or in the order the loader made them (ONNX, whose weights
 * and constants are already in the engine's NHWC layouts); a constant holds
 * the float32 values the engine computes with (dequantized at load). Out-of-range indices give -1 (or NULL), never a crash. */
typedef enum {
  FV_OPT_STRIDE_H, FV_OPT_STRIDE_W,     /* convs and pools; 1 for other ops */
  FV_OPT_DILATION_H, FV_OPT_DILATION_W, /* convs; 1 for other ops */
  FV_OPT_FILTER_H, FV_OPT_FILTER_W,     /* pools */
  FV_OPT_PADDING,                       /* convs and pools: 0 SAME, 1 VALID, 2 explicit pads (ONNX) */
  FV_OPT_ACTIVATION,                    /* fused (or FV_OP_ACT's): 0 none, 1 ReLU, 2 ReLU6, 3.. see model.h */
  FV_OPT_DEPTH_MULTIPLIER,              /* DEPTHWISE_CONV_2D */
  FV_OPT_AXIS,                          /* CONCATENATION: the NHWC axis 0..3 */
  FV_OPT_KEEP_DIMS,                     /* MEAN: 0 or 1 */
  FV_OPT_MEAN_AXES,                     /* MEAN: bitmask over NHWC axes (bit 1 = H, bit 2 = W) */
  FV_OPT_BETA,                          /* SOFTMAX */
  FV_OPT_PAD_TOP, FV_OPT_PAD_LEFT,      /* padding 2 (explicit): pads before H and W (0 otherwise) */
  FV_OPT_PAD_BOTTOM, FV_OPT_PAD_RIGHT,  /* ... and after */
  FV_OPT_CEIL_MODE,                     /* pools with explicit pads: output size rounded up, windows past the edge cut */
  FV_OPT_GLOBAL,                        /* pools: the window is the whole input map, at any input size */
  FV_OPT_COUNT_INCLUDE_PAD,             /* AVERAGE_POOL_2D with explicit pads: the divisor counts the pads */
  FV_OPT_GROUPS,                        /* CONV_2D: groups (1 = ordinary); 1 for other ops */
  FV_OPT_LRN_LO, FV_OPT_LRN_HI,         /* LRN: channels before / after c in the window (ONNX size 5: 2, 2) */
  FV_OPT_LRN_ALPHA,                     /* LRN: alpha per element (ONNX's alpha / size) */
  FV_OPT_LRN_BETA, FV_OPT_LRN_BIAS,     /* LRN: y = x / (bias + alpha · Σ window x²)^beta */
  FV_OPT_ACT_A, FV_OPT_ACT_B,           /* ACTIVATION's parameters (CLIP's range, LEAKY_RELU's slope, ...) */
  FV_OPT_COUNT
} fv_op_option;
int fv_model_input_tensor(const fv_model *m);                /* the image input's tensor */
const char *fv_model_op_kind(const fv_model *m, int layer);   /* the engine's op: "CONV_2D", ... (fv_op_name) */
int fv_model_op_output(const fv_model *m, int layer);         /* the tensor op `layer` writes */
int fv_model_op_input_count(const fv_model *m, int layer);
/* Input k's tensor, in the file's order; -1 also for an optional input left out (a conv without bias). */
int fv_model_op_input(const fv_model *m, int layer, int k);
/* An option (key: an fv_op_option) of op `layer`; ops without it read 0 (1 for strides, dilations). */
double fv_model_op_option(const fv_model *m, int layer, int key);
int fv_model_tensor_count(const fv_model *m);
int fv_model_tensor_rank(const fv_model *m, int t);
int fv_model_tensor_dim(const fv_model *m, int t, int d);    /* the file's shape, d < rank */
/* A constant's float32 values (the product of its dims, row-major in the file's
 * layout, e.g. CONV_2D filters [OC,KH,KW,IC]); NULL for an activation. */
const float *fv_model_tensor_data(const fv_model *m, int t);

/* ---- images ------------------------------------------------------------- */
typedef struct fv_image fv_image;   /* 8-bit RGB, row-major */

fv_image *fv_image_decode(const uint8_t *bytes, size_t n, fv_error *err); /* JPEG/PNG/BMP/GIF */
fv_image *fv_image_from_rgba(const uint8_t *rgba, int w, int h, fv_error *err);
void fv_image_free(fv_image *im);
int fv_image_width(const fv_image *im);
int fv_image_height(const fv_image *im);
const uint8_t *fv_image_rgb(const fv_image *im);
/* Bilinear resize (half-pixel centres, no antialias: torch's interpolate with align_corners=False). */
fv_image *fv_image_resize(const fv_image *im, int w, int h, fv_error *err);

/* PNG encode (stb_image_write) of 8-bit RGB or RGBA; returns a heap buffer freed by fv_free. */
uint8_t *fv_png_encode(const uint8_t *pixels, int w, int h, int channels, size_t *out_len, fv_error *err);

/* ---- inference on real images ------------------------------------------ */
typedef struct fv_infer fv_infer;

/* h, w = 0: the model's native input size. last_layer = -1: the whole graph. */
fv_infer *fv_infer_new(const fv_model *m, int h, int w, int last_layer, fv_error *err);
void fv_infer_free(fv_infer *in);
/* Decode, resize to the inference size, normalize as the model's input says, run. */
fv_status fv_infer_run_image(fv_infer *in, const uint8_t *bytes, size_t n, fv_error *err);
fv_status fv_infer_run(fv_infer *in, const fv_image *im, fv_error *err);
/* Activations of a layer after a run (NHWC, batch 1; NULL with FV_ERR_UNKNOWN_LAYER for a
 * layer this fv_infer does not compute), and that layer's dims at this size (0 for such a layer). */
const float *fv_infer_layer(const fv_infer *in, int layer, fv_error *err);
int fv_infer_layer_dim(const fv_infer *in, int layer, int d);
float fv_infer_channel_mean(const fv_infer *in, int layer, int channel, fv_error *err);
/* Every channel's mean over space (out: C floats, the same values as fv_infer_channel_mean). */
fv_status fv_infer_channel_means(const fv_infer *in, int layer, float *out, fv_error *err);
/* One channel's activation map (out: H*W floats, row-major), e.g. for a heat-map overlay. */
fv_status fv_infer_channel_map(const fv_infer *in, int layer, int channel, float *out, fv_error *err);
/* Top-k classes of the last layer computed (probabilities: softmax unless it already is one);
 * returns how many were written (k, or fewer outputs), 0 with err set before a run or for k < 1. */
int fv_infer_topk(const fv_infer *in, int k, int *idx, float *prob, fv_error *err);
/* Floating-point operations of one run (a multiply-add counts 2), for GFLOP/s figures. */
double fv_infer_flops(const fv_infer *in);

/* ---- a learned prior: a Gaussian mixture of 8x8 patches (src/prior.h: the manual) ---- */
typedef struct fv_prior fv_prior;
typedef struct fv_prior_fit fv_prior_fit;

fv_prior *fv_prior_load(const uint8_t *bytes, size_t n, fv_error *err);  /* prior.bin; a damaged file: NULL */
void fv_prior_free(fv_prior *p);
int fv_prior_components(const fv_prior *p);
/* The header's record of the fit: key 0 components, 1 iterations, 2 patches, 3 stride, 4 images,
 * 5 seed, 6 mean log-likelihood per patch; NAN for another key. */
double fv_prior_info(const fv_prior *p, int key);
/* Mean −log p per patch coordinate of an 8-bit image's patches (the render term's value). */
double fv_prior_image_score(const fv_prior *p, const fv_image *im, fv_error *err);
/* An EM fit (0 or less: the default: 8 components, 30 iterations, stride 4, 20000 patches). */
fv_prior_fit *fv_prior_fit_create(int components, int iterations, int stride, int max_patches, double seed, fv_error *err);
fv_status fv_prior_fit_add_image(fv_prior_fit *f, const fv_image *im, fv_error *err); /* before the first step */
fv_status fv_prior_fit_step(fv_prior_fit *f, fv_error *err);                          /* one EM iteration */
int fv_prior_fit_iterations(const fv_prior_fit *f);
int fv_prior_fit_patches(const fv_prior_fit *f);
double fv_prior_fit_loglik(const fv_prior_fit *f);     /* per patch, under the last step's starting parameters */
double fv_prior_fit_objective(const fv_prior_fit *f);  /* what EM increases, per patch */
uint8_t *fv_prior_fit_save(fv_prior_fit *f, size_t *len, fv_error *err);             /* prior.bin; fv_free it */
void fv_prior_fit_free(fv_prior_fit *f);

/* ---- feature visualization: a render ----------------------------------- */
/* A render optimizes a batch of images so that an objective on the model's
 * activations is as large as possible (Olah et al., Distill 2017). Options are
 * a JSON object (see src/options.h): size, batch, lr, seed, param, transforms,
 * objective terms, diversity. The same options and seed give the same pixels. */
typedef struct fv_render fv_render;

fv_render *fv_render_new(const fv_model *m, const char *options_json, size_t len, fv_error *err);
/* The same, with the patch prior that the objective's prior terms read; it must outlive
 * the render. A prior term without one is refused. */
fv_render *fv_render_new_prior(const fv_model *m, const char *options_json, size_t len, const fv_prior *prior,
                               fv_error *err);
void fv_render_free(fv_render *r);
/* Runs `steps` optimization steps; FV_OK, or an error (e.g. a numerical blow-up,
 * after which the last good image is kept). */
fv_status fv_render_step(fv_render *r, int steps, fv_error *err);
int fv_render_steps_done(const fv_render *r);
int fv_render_steps_planned(const fv_render *r);   /* the options' "steps" */
int fv_render_batch(const fv_render *r);
int fv_render_size(const fv_render *r);
float fv_render_objective(const fv_render *r);     /* objective value at the last step */
/* 8-bit RGBA of one image (size*size*4), valid until the next step; NULL for an image out of range. */
const uint8_t *fv_render_rgba(fv_render *r, int image, fv_error *err);
/* PNG of one image, or of the whole batch as a grid (image -1); free with fv_free. */
uint8_t *fv_render_png(fv_render *r, int image, size_t *out_len, fv_error *err);
/* A layer as render options name one: json is a JSON string (its name) or number (its
 * index). Returns the layer's index, or -1 with FV_ERR_UNKNOWN_LAYER ("unknown layer \"x\"",
 * "layer 99 out of range 0..65") or FV_ERR_BAD_ARG. */
int fv_options_find_layer(const fv_model *m, const char *json, size_t len, fv_error *err);
/* The objective of render options as the page's term list shows it, without rendering:
 *   {"options": <canonical options>, "expression": "<canonical expression>",
 *    "terms": [{"weight": w, "kind": "channel" | "class" | ..., "layer": name (terms on a layer),
 *               "channel": k (channel, class, neuron), "text": "<the term without its weight>"}]}
 * labels: the model's class names, one output a line (NULL, 0: class(...) takes indices
 * only); with them, class names resolve to indices here (fv_render_new takes indices).
 * A photo the objective names but "photos" does not hold is listed in the canonical
 * options' "photos" without "values": the caller computes them (wasm/photo-data.js).
 * Heap string (free with fv_free), or NULL with err set (the grammar's messages name
 * the character: "objective at 23: unknown layer \"x\""). See src/objective_expr.h. */
char *fv_objective_describe(const fv_model *m, const char *options_json, size_t len, const char *labels,
                            size_t labels_len, fv_error *err);
/* Canonical JSON of the options in force (layers by name); valid until fv_render_free. */
const char *fv_render_options_json(const fv_render *r);
/* Floating-point operations of one step's network passes: forward plus the
 * backward to the input, which costs the forward's multiply-adds again. */
double fv_render_flops(const fv_render *r);

/* ---- kernels ------------------------------------------------------------- */
/* 1: use the WASM SIMD kernels where built with them (default); 0: scalar references. */
void fv_kernels_set_simd(int on);
int fv_kernels_simd_available(void);

/* ---- threads (src/threads.h; driven by wasm/threads.js) ------------------ */
/* In the threads build, an engine runs each op on n threads over its one
 * memory: this thread (0) and n - 1 helpers, each a Worker running the same
 * module. Results are the same bits on any number of threads. The plain
 * build has no threads: fv_threads_init(n > 1) fails with FV_ERR_UNSUPPORTED. */
fv_status fv_threads_init(int n, int can_block, fv_error *err); /* can_block 0: thread 0 spins, never waits */
void *fv_threads_stack_top(int t); /* helper t's stack pointer, to set before fv_threads_helper */
void fv_threads_helper(int t);     /* helper t's loop (t = 1..n-1); returns after fv_threads_stop */
int fv_threads_alive(void);        /* helpers now inside fv_threads_helper */
int fv_threads_start(void);        /* once all n - 1 are alive: jobs use n threads; returns that n */
void fv_threads_stop(void);        /* helpers leave their loops; one thread again */
int fv_threads_count(void);        /* threads a job started now uses (1 inside a job) */

/* ---- graph rewrites (for the tests and the benchmark) --------------------- */
/* On (the default), a render's graph stores the branches of a channel concat
 * (GoogLeNet's inception outputs) as slices of the concat's buffer instead of
 * copying them, and runs a standalone ReLU inside the conv (or FC, or binary
 * op) before it, and skips the ops the objective does not reach (a channel
 * of an inception output reads one branch: fv_graph_prune, src/graph.h);
 * off, every op on its own. The images are the same bits either way. Applies
 * to renders made after the call. */
void fv_graph_fusions(int on);

/* ---- profiling (for the benchmark) -------------------------------------- */
/* Off by default. On: every graph pass times each op (a clock read before and
 * after) into slots keyed by op kind, filter, stride and direction, e.g.
 * "CONV_2D 1x1" forward, "DEPTHWISE_CONV_2D 3x3 s2" backward. A backward time
 * includes the fused activation's derivative. Slots accumulate until reset.
 * on = 2 also times the stages of a render step outside the network (the
 * parameterization, the transforms, zeroing the gradients, the objective,
 * Adam, ...) into slots marked by fv_profile_is_stage; on = 1 leaves them out.
 * on = 3: the stages, and a slot per op and direction, named with the op's
 * index ("CONV_2D 3x3 #7": layer 7). */
void fv_profile_enable(int on);
void fv_profile_reset(void);
int fv_profile_count(void);
const char *fv_profile_name(int i);  /* "" when i is out of range */
int fv_profile_backward(int i);      /* 0: forward, 1: backward to the input */
int fv_profile_is_stage(int i);      /* 1: a render step's stage outside the network (no flops) */
double fv_profile_ms(int i);          /* milliseconds, summed */
double fv_profile_calls(int i);       /* op executions, summed */
double fv_profile_flops(int i);       /* floating-point operations, summed (as fv_infer_flops counts) */

#ifdef __cplusplus
}
#endif
#endif
