/* infer.c — inference on real photos: decode, resize to the model's input,
 * normalize as the model's input description says (model.h: per channel,
 * RGB or BGR), run the graph (optionally only up
 * to one layer), then read activations, channel means or the top-k classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "image.h"
#include "model.h"
#include "objective.h"

struct fv_infer {
  const fv_model *m;
  fv_graph *g;
  int h, w;
  int ran;
};

fv_infer *fv_infer_new(const fv_model *m, int h, int w, int last_layer, fv_error *err) {
  fv_error_clear(err);
  if (!m) {
    fv_error_set(err, FV_ERR_BAD_ARG, "no model");
    return NULL;
  }
  const fv_tensor *in = &m->tensors[m->input];
  if (h == 0 && w == 0) {
    h = in->dims[1];
    w = in->dims[2];
  }
  if (last_layer == -1) last_layer = m->n_ops - 1;
  if (last_layer < 0 || last_layer >= m->n_ops) {
    fv_error_set(err, FV_ERR_UNKNOWN_LAYER, "layer %d out of range (the model has layers 0..%d)", last_layer,
                 m->n_ops - 1);
    return NULL;
  }
  fv_infer *r = (fv_infer *)calloc(1, sizeof *r);
  if (!r) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  r->m = m;
  r->h = h;
  r->w = w;
  if (fv_model_check_size(m, h, w, err) != FV_OK) {
    free(r);
    return NULL;
  }
  r->g = fv_graph_new(m, 1, h, w, last_layer, 0, err);
  if (!r->g) {
    free(r);
    return NULL;
  }
  return r;
}

void fv_infer_free(fv_infer *r) {
  if (!r) return;
  fv_graph_free(r->g);
  free(r);
}

fv_status fv_infer_run(fv_infer *r, const fv_image *im, fv_error *err) {
  fv_error_clear(err);
  if (!r || !im) {
    fv_error_set(err, FV_ERR_BAD_ARG, "no image");
    return FV_ERR_BAD_ARG;
  }
  float *x = fv_graph_input(r->g);
  fv_resize_bilinear_f32(fv_image_rgb(im), fv_image_width(im), fv_image_height(im), r->w, r->h, x);
  const fv_model *m = r->m;
  const int bgr = m->in_bgr;
  for (size_t i = 0; i < (size_t)r->w * r->h; i++, x += 3) {
    const float p[3] = {x[0], x[1], x[2]};
    for (int k = 0; k < 3; k++) x[k] = m->in_offset[k] + m->in_scale[k] * p[bgr ? 2 - k : k];
  }
  fv_graph_forward(r->g);
  r->ran = 1;
  return FV_OK;
}

fv_status fv_infer_run_image(fv_infer *r, const uint8_t *bytes, size_t n, fv_error *err) {
  fv_error_clear(err);
  fv_image *im = fv_image_decode(bytes, n, err);
  if (!im) return (fv_status)(err ? err->code : FV_ERR_BAD_IMAGE);
  fv_status s = fv_infer_run(r, im, err);
  fv_image_free(im);
  return s;
}

static int layer_ok(const fv_infer *r, int layer) {
  return r && layer >= 0 && layer <= fv_graph_last_op(r->g);
}

/* The layer's dims after a run, or NULL with err set. */
static const int *computed_dims(const fv_infer *r, int layer, fv_error *err) {
  if (!layer_ok(r, layer)) {
    fv_error_set(err, FV_ERR_UNKNOWN_LAYER, "layer %d was not computed (0..%d)", layer, r ? fv_graph_last_op(r->g) : -1);
    return NULL;
  }
  return fv_graph_dims(r->g, r->m->ops[layer].output);
}

const float *fv_infer_layer(const fv_infer *r, int layer, fv_error *err) {
  fv_error_clear(err);
  return computed_dims(r, layer, err) ? fv_graph_act(r->g, r->m->ops[layer].output) : NULL;
}

int fv_infer_layer_dim(const fv_infer *r, int layer, int d) {
  if (!layer_ok(r, layer) || d < 0 || d > 3) return 0;
  return fv_graph_dims(r->g, r->m->ops[layer].output)[d];
}

static int channel_ok(const fv_infer *r, int layer, const int *d, int channel, fv_error *err) {
  return fv_obj_check_channel("channel", channel, NULL, d[3], r->m->tensors[r->m->ops[layer].output].name, err);
}

/* mean over space of one channel, summed in double */
static float mean_of(const float *a, size_t hw, int c_count, int channel) {
  double s = 0;
  for (size_t p = 0; p < hw; p++) s += a[p * (size_t)c_count + channel];
  return (float)(s / (double)hw);
}

float fv_infer_channel_mean(const fv_infer *r, int layer, int channel, fv_error *err) {
  fv_error_clear(err);
  const int *d = computed_dims(r, layer, err);
  if (!d || !channel_ok(r, layer, d, channel, err)) return NAN;
  return mean_of(fv_infer_layer(r, layer, NULL), (size_t)d[1] * d[2], d[3], channel);
}

fv_status fv_infer_channel_means(const fv_infer *r, int layer, float *out, fv_error *err) {
  fv_error_clear(err);
  const int *d = computed_dims(r, layer, err);
  if (!d) return FV_ERR_UNKNOWN_LAYER;
  const float *a = fv_infer_layer(r, layer, NULL);
  for (int c = 0; c < d[3]; c++) out[c] = mean_of(a, (size_t)d[1] * d[2], d[3], c);
  return FV_OK;
}

fv_status fv_infer_channel_map(const fv_infer *r, int layer, int channel, float *out, fv_error *err) {
  fv_error_clear(err);
  const int *d = computed_dims(r, layer, err);
  if (!d) return FV_ERR_UNKNOWN_LAYER;
  if (!channel_ok(r, layer, d, channel, err)) return FV_ERR_BAD_ARG;
  const float *a = fv_infer_layer(r, layer, NULL);
  for (size_t p = 0; p < (size_t)d[1] * d[2]; p++) out[p] = a[p * d[3] + channel];
  return FV_OK;
}

int fv_infer_topk(const fv_infer *r, int k, int *idx, float *prob, fv_error *err) {
  fv_error_clear(err);
  if (!r || !idx || !prob || k <= 0) {
    fv_error_set(err, FV_ERR_BAD_ARG, "top-k needs k >= 1 (got %d) and room for k results", k);
    return 0;
  }
  if (!r->ran) {
    fv_error_set(err, FV_ERR_BAD_ARG, "top-k before any photo was run");
    return 0;
  }
  int last = fv_graph_last_op(r->g);
  const fv_op *op = &r->m->ops[last];
  const int *d = fv_graph_dims(r->g, op->output);
  const float *a = fv_graph_act(r->g, op->output);
  int n = (int)((size_t)d[1] * d[2] * d[3]);
  if (k > n) k = n;
  /* probabilities: the softmax op's output, or a stable softmax of the logits */
  double mx = -INFINITY, sum = 0;
  int is_softmax = op->kind == FV_OP_SOFTMAX;
  if (!is_softmax) {
    for (int i = 0; i < n; i++) mx = a[i] > mx ? a[i] : mx;
    for (int i = 0; i < n; i++) sum += exp((double)a[i] - mx);
  }
  for (int j = 0; j < k; j++) {
    int best = -1;
    for (int i = 0; i < n; i++) {
      int taken = 0;
      for (int q = 0; q < j; q++) taken |= idx[q] == i;
      if (!taken && (best < 0 || a[i] > a[best])) best = i;
    }
    idx[j] = best;
    prob[j] = is_softmax ? a[best] : (float)(exp((double)a[best] - mx) / sum);
  }
  return k;
}

double fv_infer_flops(const fv_infer *r) { return r ? fv_graph_flops(r->g) : 0; }
