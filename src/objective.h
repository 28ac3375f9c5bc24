/* objective.h — what a render maximizes: terms on a layer's activations (or
 * on the image), each giving a value and its gradient.
 *
 * An objective is a weighted sum of terms, objective = Σ weight·term, which
 * the render MAXIMIZES (a negative weight minimizes that term). The graph
 * minimizes a loss, loss = −objective, so fv_obj_eval ADDS
 * −weight·d(term)/d(activation) into the caller's gradient buffer and returns
 * weight·term. Terms follow Lucid (lucid/optvis/objectives.py) unless noted.
 *
 * Activations are NHWC, dims[4] = N,H,W,C. Image penalties (L1, L2, TV,
 * BLUR, PRIOR) read the image [N,H,W,3] in [0,1] instead (layer is ignored); BLUR also
 * takes an alpha plane [N,H,W,1] (src/alpha.h).
 *
 *   fv_obj_term t = fv_obj_default(FV_OBJ_CHANNEL); t.layer = k; t.channel = 12;
 *   if (fv_obj_check(&t, dims, &err) != FV_OK) ...;          // ranges, once at set-up
 *   double v = fv_obj_eval(&t, dims, act, dloss);              // each step
 */
#ifndef FV_OBJECTIVE_H
#define FV_OBJECTIVE_H

#include "model.h"

typedef enum {
  FV_OBJ_NEURON,     /* a[n, y, x, channel]; x, y default to the centre (W/2, H/2); mean over the batch */
  FV_OBJ_CHANNEL,    /* mean over space (and the batch) of one channel; a class logit is a channel of the logits layer */
  FV_OBJ_LAYER,      /* DeepDream: mean of squares of the whole layer */
  FV_OBJ_DIRECTION,  /* mean over positions of dot(a, v) · max(0.1, cos(a, v))^cossim_pow */
  FV_OBJ_INTERP,     /* channel interpolation across the batch: Σ_n (1−w_n)·mean(a_n[channel]) + w_n·mean(a_n[channel2]), w_n = n/(N−1) */
  FV_OBJ_ALIGNMENT,  /* −Σ_{d=1..4} Σ_i mean((a_i − a_{i+d})²) / decay^d (decay ratio 2) */
  FV_OBJ_DIVERSITY,  /* similarity (1/N)·Σ_{i≠j} <G_i, G_j> of Frobenius-normalized Gram matrices (C×C); use a negative weight */
  FV_OBJ_L1,         /* Σ |x − constant| over the image */
  FV_OBJ_L2,         /* sqrt(ε + Σ (x − constant)²) over the image */
  FV_OBJ_TV,         /* total variation: Σ |x[h+1,w]−x[h,w]| + |x[h,w+1]−x[h,w]| over the image */
  FV_OBJ_BLUR,       /* 0.5·Σ (x − stopgrad(blur3x3(x)))², Lucid's blur_input_each_step */
  FV_OBJ_CARICATURE, /* per image, dot(a, t) · max(0.1, cos(a, t))^cossim_pow of the whole H×W×C tensor a
                        against a target t (a photo's activations): Lucid's caricature recipe */
  FV_OBJ_PRIOR,      /* mean over patches of −log p(patch)/D under a learned patch prior (src/prior.h); subtract it */
  FV_OBJ_COUNT
} fv_obj_kind;

typedef struct {
  fv_obj_kind kind;
  float weight;         /* objective += weight·term */
  int layer;            /* op index of the layer read; ignored by image penalties */
  int channel;          /* NEURON, CHANNEL, INTERP (first) */
  int channel2;         /* INTERP (second) */
  int x, y;             /* NEURON position; −1 = centre */
  int batch;            /* −1: every image; else only this batch index */
  const float *direction; /* DIRECTION: C floats; CARICATURE: the target, H·W·C floats (NHWC); owned by the caller */
  int direction_len;
  float cossim_pow;     /* DIRECTION (Lucid's default 0 = plain dot), CARICATURE */
  float constant;       /* L1, L2: penalize distance from this (0.5 = grey) */
  const struct fv_prior *prior; /* PRIOR: the patch mixture; owned by the caller, as its scratch */
  float *prior_scratch;         /* PRIOR: fv_prior_scratch_floats(prior) floats */
} fv_obj_term;

/* A term of this kind with the defaults: weight 1, batch −1, x = y = −1, constant 0.5. */
fv_obj_term fv_obj_default(fv_obj_kind kind);

/* Checks a term against the dims of what it reads (channel, x/y, batch, direction length);
 * FV_OK or FV_ERR_BAD_ARG with a message. */
fv_status fv_obj_check(const fv_obj_term *t, const int dims[4], fv_error *err);

/* The one rule for a channel of a layer with `count` channels, and its message: a whole
 * number in 0..count-1 (render options, objective terms and photos all ask here).
 * key: "channel" or "channel2"; value: a double, so 1.5 is refused, not truncated; text:
 * the value as the caller got it, for the message (NULL: printed from value); layer: the
 * layer's name (NULL: "the layer"). 1 if it is one, else 0 with err set (FV_ERR_BAD_ARG):
 * "channel 64 out of range: layer \"L\" has channels 0..63". */
int fv_obj_check_channel(const char *key, double value, const char *text, int count, const char *layer, fv_error *err);

/* Returns weight·term and ADDS −weight·d(term)/da into dloss (same layout as a). */
double fv_obj_eval(const fv_obj_term *t, const int dims[4], const float *a, float *dloss);

/* Only the value (no gradient), e.g. to measure an image. */
double fv_obj_value(const fv_obj_term *t, const int dims[4], const float *a);

/* Whether the term reads the image rather than a layer. */
int fv_obj_on_image(fv_obj_kind kind);
/* The channels [*c0, *c1) of its layer a layer term reads; *c1 = 0: all of them
 * (a render computes no more than that: fv_graph_prune, src/graph.h). */
void fv_obj_channels(const fv_obj_term *t, int *c0, int *c1);

const char *fv_obj_name(fv_obj_kind kind);          /* "neuron", "channel", ... */
int fv_obj_from_name(const char *name);             /* kind, or −1 */

#endif
