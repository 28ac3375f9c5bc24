/* vectors.h — what a term compares activations with, beyond the model: the
 * vector of a direction (Σ weight·part over unit, random, photo and literal
 * parts) and a caricature's target, both from the photo table of the options
 * (options.h: fv_photo, fv_vec_part).
 *
 *   int k = fv_vectors_photo_ref(&o, "parrot.jpg", 10, layer, FV_PHOTO_MEAN); // while parsing
 *   ... the "photos" key fills values ...
 *   if (fv_vectors_resolve(&o, model, 0, &err) != FV_OK) ...;   // after all terms are parsed
 *
 * Memory: a direction's vector is malloc'd here and owned by the options (freed
 * by fv_options_free); a caricature's target points into its photo's values.
 */
#ifndef FV_VECTORS_H
#define FV_VECTORS_H

#include "options.h"

/* The photo entry of (name, layer, kind): an existing one, marked used, or a new one
 * without values. Its index, or -1 when the table is full or out of memory. */
int fv_vectors_photo_ref(fv_render_opts *o, const char *name, size_t n, int layer, int kind);

/* Drops the photo entries no term uses, then computes each direction's vector and points
 * each caricature at its target. lenient: a photo without values leaves its terms without
 * vectors (what fv_objective_describe reports); else that is an error. */
fv_status fv_vectors_resolve(fv_render_opts *o, const fv_model *m, int lenient, fv_error *err);

/* A random unit vector of n floats from seed; the same seed and n give the same bits. */
void fv_vectors_random(float *v, int n, int seed);

#endif
