/* options.h — render options: parsed from JSON (untrusted: the page, the
 * CLI and render manifests all send it), validated against the model, and
 * written back as canonical JSON for the render manifest.
 *
 * The JSON is an object; every key is optional except an objective:
 *   {
 *     "size": 128, "batch": 1, "steps": 512, "lr": 0.05, "seed": 0,
 *     "param": "fft" | "pixel", "decorrelate": true, "decay_power": 1,
 *     "transforms": "standard" | "none", "redirect_steps": 16,
 *     "objective": [ { "kind": "channel", "layer": "MobilenetV2/expanded_conv_8/add" | 42,
 *                      "channel": 12, "weight": 1, "batch": -1 }, ... ],
 *     "diversity": 0, "diversity_layer": <layer, default the first term's layer>
 *   }
 * Term keys by kind: neuron {channel, x, y}, channel {channel}, layer {},
 * class {class: index into the model's output (1001 for the store's models)}
 * — a channel term on the logits (the input of the final SOFTMAX) —,
 * direction {direction: [C floats] | direction_seed: n (a random unit vector),
 * cossim_pow}, interp {channel, channel2}, alignment {}, l1/l2 {constant},
 * tv {}, blur {}. Unknown keys are errors (a typo must not pass silently).
 *
 *   fv_render_opts o;
 *   if (fv_options_parse(json, len, model, &o, &err) != FV_OK) ...;
 *   char *canon = fv_options_to_json(&o, model);   // free with free()
 *   fv_options_free(&o);
 */
#ifndef FV_OPTIONS_H
#define FV_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "objective.h"
#include "param.h"

#define FV_MAX_TERMS 16

typedef enum { FV_TRANSFORMS_STANDARD, FV_TRANSFORMS_NONE } fv_transforms_opt;

typedef struct {
  int size;              /* render H = W, 8..1024 (default 128) */
  int batch;             /* 1..64 (default 1) */
  int steps;             /* default step count for a whole render, 0..100000 (default 512) */
  float lr;              /* Adam learning rate, finite, > 0 (default 0.05) */
  uint64_t seed;         /* default 0 */
  int param;             /* fv_param_kind from param.h (default FV_PARAM_FFT) */
  int decorrelate;       /* default 1 */
  float decay_power;     /* Fourier spectrum decay (default 1) */
  int transforms;        /* fv_transforms_opt (default STANDARD) */
  int redirect_steps;    /* redirected ReLU gradient for the first steps (default 16) */
  int n_terms;
  fv_obj_term terms[FV_MAX_TERMS]; /* layers resolved to op indices; direction arrays owned here */
  int direction_seed[FV_MAX_TERMS]; /* −1, or the seed a random direction was drawn from */
  float diversity;       /* weight of the diversity penalty, ≥ 0 (default 0) */
  int diversity_layer;   /* op index */
} fv_render_opts;

/* Defaults for everything, no terms. */
void fv_options_default(fv_render_opts *o);
/* Parses and validates; on error o holds nothing to free. */
fv_status fv_options_parse(const char *json, size_t len, const fv_model *m, fv_render_opts *o, fv_error *err);
/* Canonical JSON of the options (layers by name); heap string, NULL when out of memory. */
char *fv_options_to_json(const fv_render_opts *o, const fv_model *m);
void fv_options_free(fv_render_opts *o);

#endif
