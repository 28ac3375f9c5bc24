/* vectors.c — directions' vectors and caricatures' targets, from their parts
 * and the options' photo table; see vectors.h. */
#include "vectors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* ==== a random unit direction from a seed ====================================== */
/* The engine's generator (rng.h) → Box–Muller in double → normalized; the same
 * seed and length give the same vector. (Box–Muller, not rng.h's polar normals:
 * the vectors of saved manifests must not change.) Two passes (norm, then
 * write) regenerate the stream instead of keeping a double copy. */

static double gauss_at(fv_rng *g, int i, double *spare) {
  if (i & 1) return *spare;
  double u1 = fv_rng_uniform(g) + 0x1.0p-53; /* (0, 1]: log is finite (exact: a multiple of 2^-53) */
  double u2 = fv_rng_uniform(g);
  double r = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
  *spare = r * sin(th);
  return r * cos(th);
}

void fv_vectors_random(float *v, int n, int seed) {
  fv_rng g;
  double spare = 0, ss = 0;
  fv_rng_seed(&g, (uint64_t)seed);
  for (int i = 0; i < n; i++) {
    double x = gauss_at(&g, i, &spare);
    ss += x * x;
  }
  double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
  fv_rng_seed(&g, (uint64_t)seed);
  for (int i = 0; i < n; i++) v[i] = (float)(gauss_at(&g, i, &spare) * inv);
  if (!(ss > 0)) v[0] = 1.0f; /* all draws exactly 0: only conceivable for n = 1 */
}

/* ==== the photo table ============================================================ */

int fv_vectors_photo_ref(fv_render_opts *o, const char *name, size_t n, int layer, int kind) {
  for (int k = 0; k < o->n_photos; k++) {
    fv_photo *ph = &o->photos[k];
    if (ph->layer == layer && ph->kind == kind && strlen(ph->name) == n && memcmp(ph->name, name, n) == 0) {
      ph->used = 1;
      return k;
    }
  }
  if (o->n_photos >= FV_MAX_PHOTOS) return -1;
  char *copy = (char *)malloc(n + 1);
  if (!copy) return -1;
  memcpy(copy, name, n);
  copy[n] = '\0';
  fv_photo *ph = &o->photos[o->n_photos];
  memset(ph, 0, sizeof *ph);
  ph->name = copy;
  ph->layer = layer;
  ph->kind = kind;
  ph->used = 1;
  return o->n_photos++;
}

/* Frees the entries no term uses and renumbers the terms' references. */
static void drop_unused(fv_render_opts *o) {
  int map[FV_MAX_PHOTOS], n = 0;
  for (int k = 0; k < o->n_photos; k++) {
    if (o->photos[k].used) {
      map[k] = n;
      o->photos[n++] = o->photos[k];
    } else {
      map[k] = -1;
      free(o->photos[k].name);
      free(o->photos[k].values);
    }
  }
  o->n_photos = n;
  for (int i = 0; i < o->n_terms; i++) {
    fv_term_src *s = &o->src[i];
    if (s->photo >= 0) s->photo = map[s->photo];
    for (int j = 0; j < s->n_parts; j++)
      if (s->parts[j].kind == FV_PART_PHOTO) s->parts[j].arg = map[s->parts[j].arg];
  }
}

/* ==== resolving ========================================================================== */

static fv_status missing(const fv_render_opts *o, const fv_model *m, int k, fv_error *err) {
  const fv_photo *ph = &o->photos[k];
  fv_error_set(err, FV_ERR_BAD_ARG,
               "no activations of photo \"%.60s\" at layer \"%.60s\" (%s) in \"photos\": featviz and the page read the "
               "photo and add them",
               ph->name, fv_model_layer_name(m, ph->layer), ph->kind == FV_PHOTO_MEAN ? "mean" : "map");
  return FV_ERR_BAD_ARG;
}

static fv_status resolve_direction(fv_render_opts *o, int i, const fv_model *m, int lenient, fv_error *err) {
  fv_obj_term *t = &o->terms[i];
  const fv_term_src *s = &o->src[i];
  const int C = fv_model_layer_dim(m, t->layer, 3);
  for (int j = 0; j < s->n_parts; j++)
    if (s->parts[j].kind == FV_PART_PHOTO && !o->photos[s->parts[j].arg].values) {
      if (lenient) return FV_OK; /* no vector until the caller supplies the photo */
      return missing(o, m, s->parts[j].arg, err);
    }
  float *v = (float *)calloc((size_t)(C > 0 ? C : 1), sizeof *v), *r = NULL;
  if (!v) goto oom;
  for (int j = 0; j < s->n_parts; j++) {
    const fv_vec_part *q = &s->parts[j];
    const float w = q->weight;
    switch (q->kind) {
    case FV_PART_UNIT: v[q->arg] += w; break;
    case FV_PART_RANDOM:
      if (!r && !(r = (float *)malloc((size_t)C * sizeof *r))) goto oom;
      fv_vectors_random(r, C, q->arg);
      for (int k = 0; k < C; k++) v[k] += w * r[k];
      break;
    case FV_PART_PHOTO: {
      const fv_photo *ph = &o->photos[q->arg];
      for (int k = 0; k < C && k < ph->len; k++) v[k] += w * ph->values[k];
      break;
    }
    default:
      for (int k = 0; k < C && s->values; k++) v[k] += w * s->values[k];
      break;
    }
  }
  free(r);
  int nonzero = 0;
  for (int k = 0; k < C; k++) nonzero |= v[k] != 0;
  if (!nonzero) {
    free(v);
    fv_error_set(err, FV_ERR_BAD_ARG, "objective term %d: the direction is all zeros", i + 1);
    return FV_ERR_BAD_ARG;
  }
  free((void *)t->direction);
  t->direction = v;
  t->direction_len = C;
  return FV_OK;
oom:
  free(v);
  free(r);
  fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a direction of %d floats", C);
  return FV_ERR_NO_MEMORY;
}

fv_status fv_vectors_resolve(fv_render_opts *o, const fv_model *m, int lenient, fv_error *err) {
  drop_unused(o);
  for (int i = 0; i < o->n_terms; i++) {
    fv_obj_term *t = &o->terms[i];
    if (t->kind == FV_OBJ_DIRECTION) {
      fv_status s = resolve_direction(o, i, m, lenient, err);
      if (s != FV_OK) return s;
    } else if (t->kind == FV_OBJ_CARICATURE) {
      const fv_photo *ph = &o->photos[o->src[i].photo];
      if (!ph->values && !lenient) return missing(o, m, o->src[i].photo, err);
      t->direction = ph->values; /* the photo's: not the term's to free */
      t->direction_len = ph->len;
    }
  }
  return FV_OK;
}
