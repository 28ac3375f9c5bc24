/* objective.c — the terms a render maximizes: each term's value and its
 * gradient, added into the caller's dLoss/dActivation (see objective.h for
 * the sign convention: the return is weight·term, dloss gets −weight·dterm).
 *
 * Formulas follow Lucid's lucid/optvis/objectives.py. Sums are kept in
 * double so small terms and finite-difference checks stay accurate; only
 * diversity's Gram products run in float, through the GEMM kernel
 * (fv_fc_grad), since they are the one O(HW·C²) cost. Two deliberate choices:
 *  - batch = b restricts a per-image term to image b; the terms that compare
 *    images with each other (alignment, diversity) take the whole batch only.
 *  - NEURON's x runs along W and y along H (Lucid indexes its "x" on H).
 *
 * Diversity is the only term that needs memory beyond its arguments: the
 * batch's C×C Gram matrices. It keeps them in one static scratch buffer,
 * grown with realloc the first time a larger layer is seen and then reused,
 * so steady-state steps do not allocate. The buffer is never freed (about
 * 4·(N+1)·C² bytes: 59 MB for N = 8, C = 1280; 5 MB for C = 384) and makes
 * the diversity term non-reentrant (one render at a time per thread of the
 * engine, which is how wasm runs it).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kernels/kernels.h"
#include "objective.h"
#include "prior.h"

/* ---- names and defaults ------------------------------------------------------ */

static const char *const kind_names[FV_OBJ_COUNT] = {
    "neuron", "channel", "layer", "direction", "interp", "alignment", "diversity", "l1", "l2", "tv", "blur",
    "caricature", "prior",
};

fv_obj_term fv_obj_default(fv_obj_kind kind) {
  fv_obj_term t;
  memset(&t, 0, sizeof t);
  t.kind = kind;
  t.weight = 1.0f;
  t.batch = -1;
  t.x = t.y = -1;
  t.constant = 0.5f;
  return t;
}

int fv_obj_on_image(fv_obj_kind kind) {
  return kind == FV_OBJ_L1 || kind == FV_OBJ_L2 || kind == FV_OBJ_TV || kind == FV_OBJ_BLUR || kind == FV_OBJ_PRIOR;
}

void fv_obj_channels(const fv_obj_term *t, int *c0, int *c1) {
  *c0 = *c1 = 0;
  if (t->kind == FV_OBJ_CHANNEL || t->kind == FV_OBJ_NEURON) *c0 = t->channel, *c1 = t->channel + 1;
  if (t->kind == FV_OBJ_INTERP) { /* both channels and those between: one span */
    *c0 = t->channel < t->channel2 ? t->channel : t->channel2;
    *c1 = (t->channel < t->channel2 ? t->channel2 : t->channel) + 1;
  }
}

const char *fv_obj_name(fv_obj_kind kind) {
  return (unsigned)kind < FV_OBJ_COUNT ? kind_names[kind] : "unknown";
}

int fv_obj_from_name(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < FV_OBJ_COUNT; k++)
    if (strcmp(name, kind_names[k]) == 0) return k;
  return -1;
}

/* ---- checks ------------------------------------------------------------------------ */

int fv_obj_check_channel(const char *key, double value, const char *text, int count, const char *layer, fv_error *err) {
  if (value == floor(value) && value >= 0 && value < count) return 1;
  char num[40], q[80] = "the layer";
  if (!text) snprintf(num, sizeof num, "%.17g", value), text = num;
  if (layer) {
    strcpy(q, "layer ");
    fv_json_quote(q + 6, sizeof q - 6, layer, strlen(layer));
  }
  fv_error_set(err, FV_ERR_BAD_ARG, "%s %s out of range: %s has channels 0..%d", key, text, q, count - 1);
  return 0;
}

static int check_channel(const char *key, int ch, int c, fv_error *err) {
  return fv_obj_check_channel(key, ch, NULL, c, NULL, err);
}

/* Runs every check of fv_obj_check; fv_obj_eval repeats it (err = NULL) so a
 * term that skipped set-up returns NaN instead of reading out of bounds. */
fv_status fv_obj_check(const fv_obj_term *t, const int dims[4], fv_error *err) {
  if (!t || !dims) {
    fv_error_set(err, FV_ERR_BAD_ARG, "objective: no term or no dims");
    return FV_ERR_BAD_ARG;
  }
  if ((unsigned)t->kind >= FV_OBJ_COUNT) {
    fv_error_set(err, FV_ERR_BAD_ARG, "objective kind %d is unknown (0..%d)", (int)t->kind, FV_OBJ_COUNT - 1);
    return FV_ERR_BAD_ARG;
  }
  const char *name = kind_names[t->kind];
  const int n = dims[0], h = dims[1], w = dims[2], c = dims[3];
  if (n <= 0 || h <= 0 || w <= 0 || c <= 0 ||
      (double)n * h * w * c > (double)(SIZE_MAX / sizeof(float))) {
    fv_error_set(err, FV_ERR_BAD_ARG, "%s: dims %d,%d,%d,%d (N,H,W,C) must be positive", name, n, h, w, c);
    return FV_ERR_BAD_ARG;
  }
  if (!isfinite(t->weight)) {
    fv_error_set(err, FV_ERR_BAD_ARG, "%s: weight %g is not finite", name, (double)t->weight);
    return FV_ERR_BAD_ARG;
  }
  if (t->batch < -1 || t->batch >= n) {
    fv_error_set(err, FV_ERR_BAD_ARG, "%s: batch %d out of range: the batch has images 0..%d (or -1 for all)",
                 name, t->batch, n - 1);
    return FV_ERR_BAD_ARG;
  }
  switch (t->kind) {
  case FV_OBJ_NEURON:
    if (!check_channel("channel", t->channel, c, err)) return FV_ERR_BAD_ARG;
    if (t->x < -1 || t->x >= w) {
      fv_error_set(err, FV_ERR_BAD_ARG, "x %d outside the %d×%d (W×H) map: x must be 0..%d, or -1 for the centre",
                   t->x, w, h, w - 1);
      return FV_ERR_BAD_ARG;
    }
    if (t->y < -1 || t->y >= h) {
      fv_error_set(err, FV_ERR_BAD_ARG, "y %d outside the %d×%d (W×H) map: y must be 0..%d, or -1 for the centre",
                   t->y, w, h, h - 1);
      return FV_ERR_BAD_ARG;
    }
    break;
  case FV_OBJ_CHANNEL:
    if (!check_channel("channel", t->channel, c, err)) return FV_ERR_BAD_ARG;
    break;
  case FV_OBJ_LAYER:
    break;
  case FV_OBJ_DIRECTION:
    if (!t->direction) {
      fv_error_set(err, FV_ERR_BAD_ARG, "direction: no vector given; the layer has %d channels", c);
      return FV_ERR_BAD_ARG;
    }
    if (t->direction_len != c) {
      fv_error_set(err, FV_ERR_BAD_ARG, "direction: the vector has %d values; the layer has %d channels",
                   t->direction_len, c);
      return FV_ERR_BAD_ARG;
    }
    for (int k = 0; k < c; k++)
      if (!isfinite(t->direction[k])) {
        fv_error_set(err, FV_ERR_BAD_ARG, "direction: value %d is not finite", k);
        return FV_ERR_BAD_ARG;
      }
    if (!isfinite(t->cossim_pow)) {
      fv_error_set(err, FV_ERR_BAD_ARG, "direction: cossim_pow %g is not finite", (double)t->cossim_pow);
      return FV_ERR_BAD_ARG;
    }
    break;
  case FV_OBJ_CARICATURE:
    if (!t->direction || (size_t)t->direction_len != (size_t)h * w * c) {
      fv_error_set(err, FV_ERR_BAD_ARG,
                   "caricature: the target has %d values; the layer is %d×%d×%d (H×W×C) = %lld at this render size",
                   t->direction ? t->direction_len : 0, h, w, c, (long long)h * w * c);
      return FV_ERR_BAD_ARG;
    }
    if (!isfinite(t->cossim_pow)) {
      fv_error_set(err, FV_ERR_BAD_ARG, "caricature: cossim_pow %g is not finite", (double)t->cossim_pow);
      return FV_ERR_BAD_ARG;
    }
    break;
  case FV_OBJ_INTERP:
  case FV_OBJ_ALIGNMENT:
  case FV_OBJ_DIVERSITY:
    if (n < 2) {
      fv_error_set(err, FV_ERR_BAD_ARG, "%s needs a batch of at least 2 (the batch has %d)", name, n);
      return FV_ERR_BAD_ARG;
    }
    if (t->kind == FV_OBJ_INTERP) {
      if (!check_channel("channel", t->channel, c, err) || !check_channel("channel2", t->channel2, c, err))
        return FV_ERR_BAD_ARG;
    } else if (t->batch != -1) {
      fv_error_set(err, FV_ERR_BAD_ARG, "%s compares the images of the batch with each other: batch must be -1 (got %d)",
                   name, t->batch);
      return FV_ERR_BAD_ARG;
    }
    break;
  case FV_OBJ_PRIOR:
    if (!t->prior || !t->prior_scratch) {
      fv_error_set(err, FV_ERR_BAD_ARG, "the objective's prior term needs a prior (a prior.bin: render --prior FILE)");
      return FV_ERR_BAD_ARG;
    }
    if (h < FV_PRIOR_SIDE || w < FV_PRIOR_SIDE) {
      fv_error_set(err, FV_ERR_BAD_ARG, "prior: an image of %dx%d is smaller than one %dx%d patch", w, h, FV_PRIOR_SIDE, FV_PRIOR_SIDE);
      return FV_ERR_BAD_ARG;
    }
    /* fall through - an RGB image, as the penalties read */
  case FV_OBJ_L1:
  case FV_OBJ_L2:
  case FV_OBJ_TV:
  case FV_OBJ_BLUR:
    if (c != 3 && !(t->kind == FV_OBJ_BLUR && c == 1)) { /* blur also takes an alpha plane (alpha.h) */
      fv_error_set(err, FV_ERR_BAD_ARG, "%s reads the RGB image: expected 3 channels, got %d", name, c);
      return FV_ERR_BAD_ARG;
    }
    if ((t->kind == FV_OBJ_L1 || t->kind == FV_OBJ_L2) && !isfinite(t->constant)) {
      fv_error_set(err, FV_ERR_BAD_ARG, "%s: constant %g is not finite", name, (double)t->constant);
      return FV_ERR_BAD_ARG;
    }
    break;
  default:
    break;
  }
  return FV_OK;
}

/* ---- evaluation ----------------------------------------------------------------------- */

/* What every term needs: the dims, the images it reads [n0, n1), and g =
 * −weight, the factor that turns d(term)/da into the loss gradient. Each
 * eval_* returns the term (unweighted) and, when dl is not NULL, adds g·dterm. */
typedef struct {
  int n, h, w, c;
  size_t hw, hwc;
  int n0, n1;
  double g;
} ctx;

static double eval_neuron(const fv_obj_term *t, const ctx *s, const float *a, float *dl) {
  const int x = t->x < 0 ? s->w / 2 : t->x, y = t->y < 0 ? s->h / 2 : t->y;
  const size_t off = ((size_t)y * s->w + x) * s->c + t->channel;
  const double inv = 1.0 / (s->n1 - s->n0);
  double sum = 0;
  for (int n = s->n0; n < s->n1; n++) {
    const size_t i = n * s->hwc + off;
    sum += a[i];
    if (dl) dl[i] += (float)(s->g * inv);
  }
  return sum * inv;
}

static double eval_channel(const fv_obj_term *t, const ctx *s, const float *a, float *dl) {
  const double inv = 1.0 / ((double)(s->n1 - s->n0) * s->hw);
  const float gi = (float)(s->g * inv);
  double sum = 0;
  for (int n = s->n0; n < s->n1; n++)
    for (size_t p = 0; p < s->hw; p++) {
      const size_t i = n * s->hwc + p * s->c + t->channel;
      sum += a[i];
      if (dl) dl[i] += gi;
    }
  return sum * inv;
}

/* DeepDream. */
static double eval_layer(const ctx *s, const float *a, float *dl) {
  const size_t i0 = s->n0 * s->hwc, i1 = s->n1 * s->hwc;
  const double inv = 1.0 / (double)(i1 - i0);
  const float g2 = (float)(2.0 * s->g * inv);
  double sum = 0;
  for (size_t i = i0; i < i1; i++) {
    sum += (double)a[i] * a[i];
    if (dl) dl[i] += g2 * a[i];
  }
  return sum * inv;
}

/* Lucid's _dot_cossim for one pair of vectors a, v (len values; ev = ε + |v|):
 * returns dot·max(0.1, cos)^p, cos = dot/((ε+|a|)(ε+|v|)), and sets d/da = cv·v + ca·a.
 * Through the floor the gradient is v·0.1^p; above it, the product rule adds
 * dot·p·cos^(p−1)·dcos/da, with dcos/da = v/den − dot/((ε+|a|)²(ε+|v|))·a/|a|. */
static double dot_cossim(const float *a, const float *v, size_t len, double p, double ev, double *cv, double *ca) {
  const double eps = 1e-4;
  double dot = 0, aa = 0;
  for (size_t k = 0; k < len; k++) {
    dot += (double)a[k] * v[k];
    aa += (double)a[k] * a[k];
  }
  *cv = 1, *ca = 0;
  if (p == 0) return dot;
  const double mag = sqrt(aa), ea = eps + mag, cosv = dot / (ea * ev);
  const double f = cosv > 0.1 ? cosv : 0.1, fp = pow(f, p);
  *cv = fp;
  if (cosv > 0.1) { /* here dot > 0, so |a| > 0 */
    const double k1 = dot * p * pow(cosv, p - 1);
    *cv += k1 / (ea * ev);
    *ca = -k1 * dot / (ea * ea * ev * mag);
  }
  return dot * fp;
}

/* ε + |v| of dot_cossim. */
static double norm_eps(const float *v, size_t len) {
  double vv = 0;
  for (size_t k = 0; k < len; k++) vv += (double)v[k] * v[k];
  return 1e-4 + sqrt(vv);
}

/* dl[0..len) += gv·v + ga·a. */
static void add_dot_cossim_grad(float *dl, const float *a, const float *v, size_t len, double gv, double ga) {
  for (size_t k = 0; k < len; k++) dl[k] += (float)(gv * v[k] + ga * a[k]);
}

/* Mean over positions of dot_cossim(a[p], v). */
static double eval_direction(const fv_obj_term *t, const ctx *s, const float *a, float *dl) {
  const float *v = t->direction;
  const int c = s->c;
  const double ev = norm_eps(v, (size_t)c);
  const double inv = 1.0 / ((double)(s->n1 - s->n0) * s->hw);
  double sum = 0;
  for (int n = s->n0; n < s->n1; n++)
    for (size_t q = 0; q < s->hw; q++) {
      const size_t i = n * s->hwc + q * c;
      double cv, ca;
      sum += dot_cossim(a + i, v, (size_t)c, t->cossim_pow, ev, &cv, &ca);
      if (dl) add_dot_cossim_grad(dl + i, a + i, v, (size_t)c, s->g * inv * cv, s->g * inv * ca);
    }
  return sum * inv;
}

/* Lucid's caricature (recipes/caricature.py, dot_compare): each image's whole
 * activation tensor against the target, mean over the images. Lucid divides
 * the dot by |t| alone, which rewards sheer magnitude; this is the true
 * cosine of _dot_cossim (as the direction term), so cossim_pow weighs the
 * likeness of the pattern, not its size. */
static double eval_caricature(const fv_obj_term *t, const ctx *s, const float *a, float *dl) {
  const double ev = norm_eps(t->direction, s->hwc);
  const double inv = 1.0 / (double)(s->n1 - s->n0);
  double sum = 0;
  for (int n = s->n0; n < s->n1; n++) {
    const size_t i = n * s->hwc;
    double cv, ca;
    sum += dot_cossim(a + i, t->direction, s->hwc, t->cossim_pow, ev, &cv, &ca);
    if (dl) add_dot_cossim_grad(dl + i, a + i, t->direction, s->hwc, s->g * inv * cv, s->g * inv * ca);
  }
  return sum * inv;
}

/* Lucid's channel_interpolate: image n weighs channel2 by n/(N−1). */
static double eval_interp(const fv_obj_term *t, const ctx *s, const float *a, float *dl) {
  const double inv = 1.0 / (double)s->hw;
  double sum = 0;
  for (int n = s->n0; n < s->n1; n++) {
    const double w2 = s->n > 1 ? (double)n / (s->n - 1) : 0.0, w1 = 1.0 - w2;
    const float g1 = (float)(s->g * inv * w1), g2 = (float)(s->g * inv * w2);
    double s1 = 0, s2 = 0;
    for (size_t p = 0; p < s->hw; p++) {
      const size_t i = n * s->hwc + p * s->c;
      s1 += a[i + t->channel];
      s2 += a[i + t->channel2];
      if (dl) {
        dl[i + t->channel] += g1;
        dl[i + t->channel2] += g2;
      }
    }
    sum += inv * (w1 * s1 + w2 * s2);
  }
  return sum;
}

/* Lucid's alignment: −Σ_{d=1..4} Σ_i mean((a_i − a_{i+d})²) / 2^d. */
static double eval_alignment(const ctx *s, const float *a, float *dl) {
  const double inv = 1.0 / (double)s->hwc;
  double sum = 0;
  for (int d = 1; d <= 4; d++) {
    const double decay = 1.0 / (double)(1 << d);
    const float gd = (float)(-2.0 * s->g * inv * decay); /* g · d(term)/d(a_i − a_j) per unit difference */
    for (int i = 0; i + d < s->n; i++) {
      const float *ai = a + i * s->hwc, *aj = a + (i + d) * s->hwc;
      double acc = 0;
      for (size_t k = 0; k < s->hwc; k++) {
        const float diff = ai[k] - aj[k];
        acc += (double)diff * diff;
        if (dl) {
          dl[i * s->hwc + k] += gd * diff;
          dl[(i + d) * s->hwc + k] -= gd * diff;
        }
      }
      sum -= acc * inv * decay;
    }
  }
  return sum;
}

/* ---- diversity ------------------------------------------------------------------------- */

#define DIV_CHUNK 256 /* positions per transposed slice of A when forming a Gram matrix */

static void *scratch;      /* see the top of the file: grown, reused, never freed */
static size_t scratch_cap; /* in bytes */

static void *scratch_get(size_t bytes) {
  if (bytes <= scratch_cap) return scratch;
  void *p = realloc(scratch, bytes);
  if (!p) return NULL; /* the old buffer stays valid for smaller requests */
  scratch = p;
  scratch_cap = bytes;
  return p;
}

/* G = AᵀA (C×C) for one image A (hw×C), through the GEMM kernel: a slice of
 * positions is transposed into at (C×chunk), then G += atᵀ-slice · A-slice. */
static void gram(const float *a, size_t hw, int c, float *at, float *g) {
  memset(g, 0, (size_t)c * c * sizeof(float));
  for (size_t p0 = 0; p0 < hw; p0 += DIV_CHUNK) {
    const int pb = hw - p0 < DIV_CHUNK ? (int)(hw - p0) : DIV_CHUNK;
    for (int j = 0; j < pb; j++)
      for (int k = 0; k < c; k++) at[(size_t)k * pb + j] = a[(p0 + j) * c + k];
    fv_fc_grad(c, c, pb, at, a + p0 * c, g); /* g[k][l] += Σ_j at[k][j] · a[p0+j][l] */
  }
}

/* Lucid's diversity. With Ĝ_i = G_i / r_i (r_i = sqrt(max(‖G_i‖², 1e-10)), as
 * tf.nn.l2_normalize) and T = Σ_j Ĝ_j, the similarity is
 *   S = (1/N) Σ_{i≠j} <Ĝ_i, Ĝ_j> = (1/N) Σ_i (<T, Ĝ_i> − ‖Ĝ_i‖²),
 * so no pair loop is needed. Backward: R_i = dS/dĜ_i = (2/N)(T − Ĝ_i);
 * D_i = dS/dG_i = R_i/r_i − <R_i, G_i>/r_i³ · G_i (the second part only when
 * the norm is above the floor); dS/dA_i = A_i(D_i + D_iᵀ) = 2·A_i·D_i. */
static double eval_diversity(const ctx *s, const float *a, float *dl) {
  const int n = s->n, c = s->c;
  const size_t cc = (size_t)c * c;
  /* Scratch: per-image norms (2N doubles), T, the N Gram matrices, a transposed slice of A. */
  const double floats = ((double)n + 1) * (double)cc + (double)c * DIV_CHUNK;
  const double bytes = 2.0 * n * sizeof(double) + floats * sizeof(float);
  if (bytes > (double)(SIZE_MAX / 2)) return NAN;
  void *buf = scratch_get((size_t)bytes);
  if (!buf) return NAN;
  double *r = (double *)buf, *sq = r + n;
  float *tsum = (float *)(sq + n), *grams = tsum + cc, *at = grams + (size_t)n * cc;

  memset(tsum, 0, cc * sizeof(float));
  for (int i = 0; i < n; i++) {
    float *gi = grams + i * cc;
    gram(a + i * s->hwc, s->hw, c, at, gi);
    double ss = 0;
    for (size_t k = 0; k < cc; k++) ss += (double)gi[k] * gi[k];
    sq[i] = ss;
    r[i] = sqrt(ss > 1e-10 ? ss : 1e-10);
    const float ri = (float)(1.0 / r[i]);
    for (size_t k = 0; k < cc; k++) tsum[k] += gi[k] * ri;
  }
  double sim = 0;
  for (int i = 0; i < n; i++) {
    const float *gi = grams + i * cc;
    double tg = 0; /* <T, G_i> */
    for (size_t k = 0; k < cc; k++) tg += (double)tsum[k] * gi[k];
    const double self = sq[i] / (r[i] * r[i]); /* ‖Ĝ_i‖² */
    sim += tg / r[i] - self;
    if (!dl) continue;
    /* 2·g·D_i, written over G_i (no longer needed), then dl_i += A_i · that. */
    const double ri = r[i], rg = 2.0 / n * (tg - sq[i] / ri); /* <R_i, G_i> */
    const double ct = 2.0 * s->g * (2.0 / n) / ri;            /* on T */
    const double cg = 2.0 * s->g * (-(2.0 / n) / (ri * ri) - (sq[i] > 1e-10 ? rg / (ri * ri * ri) : 0.0));
    float *di = grams + i * cc;
    for (size_t k = 0; k < cc; k++) di[k] = (float)(ct * tsum[k] + cg * di[k]);
    fv_fc_grad((int)s->hw, c, c, a + i * s->hwc, di, dl + i * s->hwc); /* dl[p][l] += Σ_k a[p][k]·di[k][l] */
  }
  return sim / n;
}

/* ---- image penalties --------------------------------------------------------------------- */

static double eval_l1(const fv_obj_term *t, const ctx *s, const float *x, float *dl) {
  const float c = t->constant, g = (float)s->g;
  double sum = 0;
  for (size_t i = s->n0 * s->hwc; i < s->n1 * s->hwc; i++) {
    const float d = x[i] - c;
    sum += fabsf(d);
    if (dl) dl[i] += d > 0 ? g : d < 0 ? -g : 0.0f;
  }
  return sum;
}

static double eval_l2(const fv_obj_term *t, const ctx *s, const float *x, float *dl) {
  const size_t i0 = s->n0 * s->hwc, i1 = s->n1 * s->hwc;
  const float c = t->constant;
  double ss = 0;
  for (size_t i = i0; i < i1; i++) ss += ((double)x[i] - c) * ((double)x[i] - c);
  const double val = sqrt(1e-6 + ss); /* Lucid's epsilon */
  if (dl) {
    const double gv = s->g / val;
    for (size_t i = i0; i < i1; i++) dl[i] += (float)(gv * ((double)x[i] - c));
  }
  return val;
}

/* tf.image.total_variation, summed over the images: |d| has gradient sign(d), 0 at 0. */
static double eval_tv(const ctx *s, const float *x, float *dl) {
  const int h = s->h, w = s->w, c = s->c;
  const float g = (float)s->g;
  double sum = 0;
  for (int n = s->n0; n < s->n1; n++)
    for (int y = 0; y < h; y++)
      for (int xx = 0; xx < w; xx++)
        for (int k = 0; k < c; k++) {
          const size_t i = n * s->hwc + ((size_t)y * w + xx) * c + k;
          for (int dir = 0; dir < 2; dir++) {
            if (dir == 0 ? y + 1 >= h : xx + 1 >= w) continue;
            const size_t j = i + (dir == 0 ? (size_t)w * c : (size_t)c);
            const float d = x[j] - x[i];
            sum += fabsf(d);
            if (dl) {
              const float sg = d > 0 ? g : d < 0 ? -g : 0.0f;
              dl[j] += sg;
              dl[i] -= sg;
            }
          }
        }
  return sum;
}

/* Lucid's _tf_blur: a 3×3 kernel (1 at the centre, 0.5 around) with zero
 * padding, divided by the same kernel applied to ones, so border pixels
 * average only the taps inside the image. The term is 0.5·Σ(x − blur(x))²
 * with the blur held constant, so its gradient is x − blur(x). */
static double eval_blur(const ctx *s, const float *x, float *dl) {
  const int h = s->h, w = s->w, c = s->c;
  double sum = 0;
  for (int n = s->n0; n < s->n1; n++)
    for (int y = 0; y < h; y++)
      for (int xx = 0; xx < w; xx++)
        for (int k = 0; k < c; k++) {
          const size_t i = n * s->hwc + ((size_t)y * w + xx) * c + k;
          double num = 0, den = 0;
          for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
              const int yy = y + dy, xq = xx + dx;
              if (yy < 0 || yy >= h || xq < 0 || xq >= w) continue;
              const double kw = dy == 0 && dx == 0 ? 1.0 : 0.5;
              num += kw * x[n * s->hwc + ((size_t)yy * w + xq) * c + k];
              den += kw;
            }
          const double d = x[i] - num / den;
          sum += 0.5 * d * d;
          if (dl) dl[i] += (float)(s->g * d);
        }
  return sum;
}

/* mean over the patches of the images in range of −log p / D (prior.h), at FV_PRIOR_STRIDE */
static double eval_prior(const fv_obj_term *t, const ctx *s, const float *x, float *dl) {
  const double per = (double)fv_prior_positions(s->h, FV_PRIOR_STRIDE) * fv_prior_positions(s->w, FV_PRIOR_STRIDE);
  const double norm = 1.0 / (per * (s->n1 - s->n0) * FV_PRIOR_DIM);
  const size_t off = (size_t)s->n0 * s->hwc;
  const double nll = fv_prior_nll(t->prior, x + off, s->n1 - s->n0, s->h, s->w, FV_PRIOR_STRIDE, dl ? dl + off : NULL,
                                  (float)(s->g * norm), t->prior_scratch);
  return nll * norm;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static double eval(const fv_obj_term *t, const int dims[4], const float *a, float *dl) {
  if (fv_obj_check(t, dims, NULL) != FV_OK || !a) return NAN;
  ctx s;
  s.n = dims[0], s.h = dims[1], s.w = dims[2], s.c = dims[3];
  s.hw = (size_t)s.h * s.w;
  s.hwc = s.hw * s.c;
  s.n0 = t->batch < 0 ? 0 : t->batch;
  s.n1 = t->batch < 0 ? s.n : t->batch + 1;
  s.g = -(double)t->weight;
  double term;
  switch (t->kind) {
  case FV_OBJ_NEURON: term = eval_neuron(t, &s, a, dl); break;
  case FV_OBJ_CHANNEL: term = eval_channel(t, &s, a, dl); break;
  case FV_OBJ_LAYER: term = eval_layer(&s, a, dl); break;
  case FV_OBJ_DIRECTION: term = eval_direction(t, &s, a, dl); break;
  case FV_OBJ_INTERP: term = eval_interp(t, &s, a, dl); break;
  case FV_OBJ_ALIGNMENT: term = eval_alignment(&s, a, dl); break;
  case FV_OBJ_DIVERSITY: term = eval_diversity(&s, a, dl); break;
  case FV_OBJ_L1: term = eval_l1(t, &s, a, dl); break;
  case FV_OBJ_L2: term = eval_l2(t, &s, a, dl); break;
  case FV_OBJ_TV: term = eval_tv(&s, a, dl); break;
  case FV_OBJ_BLUR: term = eval_blur(&s, a, dl); break;
  case FV_OBJ_CARICATURE: term = eval_caricature(t, &s, a, dl); break;
  case FV_OBJ_PRIOR: term = eval_prior(t, &s, a, dl); break;
  default: return NAN;
  }
  return (double)t->weight * term;
}

double fv_obj_eval(const fv_obj_term *t, const int dims[4], const float *a, float *dloss) {
  return eval(t, dims, a, dloss);
}

double fv_obj_value(const fv_obj_term *t, const int dims[4], const float *a) { return eval(t, dims, a, NULL); }
