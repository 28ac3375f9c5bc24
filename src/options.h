/* options.h — render options: parsed from JSON (untrusted: the page, the
 * CLI and render manifests all send it), validated against the model, and
 * written back as canonical JSON for the render manifest.
 *
 * The JSON is an object; every key is optional except an objective:
 *   {
 *     "size": 128, "batch": 1, "steps": 512, "lr": 0.05, "seed": 0,
 *     "param": "fft" | "pixel" | "cppn" | "laplacian", "decorrelate": true, "decay_power": 1,
 *     "shared": false                         (aligned interpolation: low-res params shared across the batch, param.h),
 *     "cppn_size": 1024                      (cppn only: the PNG's side, the network drawn larger),
 *     "transforms": "standard" | "none", "redirect_steps": 16,
 *     "alpha": false, "alpha_blur": 0.1      (transparency, src/alpha.h; written only when on),
 *     "objective": "L:12 - 0.1*tv" | [ term, ... ] | term,
 *     "photos": [ photo, ... ],
 *     "diversity": 0, "diversity_layer": <layer>          (old manifests; see below)
 *   }
 * The objective is an expression (src/objective_expr.h: its grammar) or, as
 * older manifests and the shells' sugar write it, term objects; an array may
 * mix both, an expression element as a string or {"expr": "...", "weight": w}.
 * Term objects: {"kind", "weight": 1, "batch": -1, ...} with, by kind,
 * neuron {layer, channel, x, y}, channel {layer, channel}, layer {layer},
 * class {class: an output index, or a name the labels give (fv_options_parse_labelled)}
 * — a channel term on the logits (the input of the final SOFTMAX) —,
 * direction {layer, direction: [C floats] | direction_seed: n (a random unit
 * vector) | photo: name (its mean activation) | unit: k (basis vector k), cossim_pow}, interp {layer,
 * channel, channel2}, alignment {layer}, diversity {layer}, caricature {layer,
 * photo, cossim_pow}, l1/l2 {constant}, tv {}, blur {}, prior {} (the patch prior's
 * −log p, src/prior.h; the prior itself is fv_render_new_prior's). Unknown keys are
 * errors (a typo must not pass silently). A top-level "diversity": w > 0 adds
 * the term −w·diversity(diversity_layer, default the first term's layer) last.
 *
 * Photos: what a term takes from a photo (its activations at a layer, with
 * the photo resized to the render size), recorded so that a manifest
 * re-renders without the photo:
 *   {"name": "parrot.jpg", "sha256": "<64 hex, the photo file's>", "layer": L,
 *    "kind": "mean" (C floats: a direction) | "map" (H·W·C floats NHWC: a caricature),
 *    "shape": [H, W, C], "values": [...]}
 * The engine never reads files: the shells compute them (wasm/photo-data.js)
 * for what fv_objective_describe lists as "needs".
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

#define FV_ALPHA_BLUR 0.1f              /* Lucid's: obj -= 0.1·blur_alpha_each_step() */
#define FV_CPPN_SIZE_MAX 4096
#define FV_MAX_TERMS 32
#define FV_MAX_PARTS 8   /* parts of one direction vector: unit(3) - unit(5) is two */
#define FV_MAX_PHOTOS 8
#define FV_XY_MAX 4095                 /* loose: fv_obj_check checks x, y at the render size */
#define FV_COSSIM_POW_MAX 16.0
#define FV_DIRECTION_SEED_MAX 2147483647

typedef enum { FV_TRANSFORMS_STANDARD, FV_TRANSFORMS_NONE } fv_transforms_opt;

/* How a direction's vector was given; the vector is Σ weight·part. */
typedef enum {
  FV_PART_UNIT,    /* arg: a channel (a basis vector) */
  FV_PART_RANDOM,  /* arg: a seed (a random unit vector) */
  FV_PART_PHOTO,   /* arg: an index into photos (its mean activation) */
  FV_PART_VALUES   /* the term's literal vector (fv_term_src.values) */
} fv_part_kind;

typedef struct {
  int kind;        /* fv_part_kind */
  float weight;
  int arg;
} fv_vec_part;

/* What the canonical text of a term needs beyond the fv_obj_term. */
typedef struct {
  int n_parts;                     /* DIRECTION */
  fv_vec_part parts[FV_MAX_PARTS];
  float *values;                   /* a literal vector part (owned), or NULL */
  int photo;                       /* CARICATURE: an index into photos; else -1 */
  int is_class;                    /* a CHANNEL term on the logits written as class(N) */
  int pos;                         /* where the term starts in the expression (0-based), for messages */
} fv_term_src;

typedef enum { FV_PHOTO_MEAN, FV_PHOTO_MAP } fv_photo_kind;

typedef struct {
  char *name;                      /* owned */
  char sha256[65];                 /* "" when not given */
  int layer;
  int kind;                        /* fv_photo_kind */
  int dims[3];                     /* H, W, C of values */
  float *values;                   /* owned; NULL while not given (a need) */
  int len;
  int used;
} fv_photo;

typedef struct {
  int size;              /* render H = W, 8..1024 (default 128) */
  int batch;             /* 1..64 (default 1) */
  int steps;             /* default step count for a whole render, 0..100000 (default 512) */
  float lr;              /* Adam learning rate, finite, > 0 (default 0.05; 0.005 for param cppn) */
  uint64_t seed;         /* default 0 */
  int param;             /* fv_param_kind from param.h (default FV_PARAM_FFT) */
  int shared;            /* the shared low-resolution params of aligned interpolation (param.h); default 0 */
  int cppn_size;         /* CPPN: the side its PNG is drawn at, 8..FV_CPPN_SIZE_MAX; 0 = size (default) */
  int decorrelate;       /* default 1 */
  float decay_power;     /* Fourier spectrum decay (default 1) */
  int transforms;        /* fv_transforms_opt (default STANDARD) */
  int redirect_steps;    /* redirected ReLU gradient for the first steps (default 16) */
  int alpha;             /* an RGBA render composited over random backgrounds (src/alpha.h); default 0 */
  float alpha_blur;      /* the weight of its alpha blur penalty, 0..1000 (default FV_ALPHA_BLUR) */
  int n_terms;
  fv_obj_term terms[FV_MAX_TERMS]; /* layers resolved to op indices; direction arrays owned here */
  fv_term_src src[FV_MAX_TERMS];
  int n_photos;
  fv_photo photos[FV_MAX_PHOTOS];
} fv_render_opts;

/* Defaults for everything, no terms. */
void fv_options_default(fv_render_opts *o);
/* Parses and validates; on error o holds nothing to free. */
fv_status fv_options_parse(const char *json, size_t len, const fv_model *m, fv_render_opts *o, fv_error *err);
/* The same, with class names: labels holds the model's class names, one output a line
 * (NULL: indices only); lenient: photo data may be missing (the photos without values
 * are what the caller must supply), as fv_objective_describe needs. */
fv_status fv_options_parse_labelled(const char *json, size_t len, const fv_model *m, const char *labels,
                                    size_t labels_len, int lenient, fv_render_opts *o, fv_error *err);
/* Canonical JSON of the options (layers by name; the objective as its canonical
 * expression); heap string, NULL when out of memory. */
char *fv_options_to_json(const fv_render_opts *o, const fv_model *m);
void fv_options_free(fv_render_opts *o);

/* The logits: the input of the final SOFTMAX (the op that writes it); with no
 * SOFTMAX, the last op. -1 if the SOFTMAX reads no op's output. */
int fv_options_logits_layer(const fv_model *m);

#endif
