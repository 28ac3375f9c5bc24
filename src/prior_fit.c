/* prior_fit.c — fitting the patch mixture of prior.h to photos by EM.
 *
 * EM here is MAP-EM with fixed conjugate priors, so that no component can
 * collapse onto a few patches and EM still provably increases what it
 * optimizes (fv_prior_fit_objective) at every iteration:
 *   π_k = (N_k + 1) / (N + K)                       (a Dirichlet(2) prior on π)
 *   Σ_k = (S_k + λ I) / (N_k + 1)                   (log-prior −½ log|Σ_k| − ½ λ tr Σ_k⁻¹)
 * with N_k = Σ_n r_nk, S_k = Σ_n r_nk z_n z_nᵀ, λ = FIT_EPS·N/K: a variance floor of
 * about FIT_EPS for a component of average size. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prior.h"
#include "prior_impl.h"
#include "rng.h"

#define D FV_PRIOR_DIM
#define DP FV_PRIOR_DIM_PAD
#define TRI FV_PRIOR_TRI
#define FIT_EPS 1e-4
#define R_SKIP 1e-12 /* responsibilities below this add nothing a float could hold */

struct fv_prior_fit {
  fv_prior_fit_opts o;
  fv_prior_basis basis;
  float *z;          /* patches, n × DP */
  int n, cap;        /* held; room (max_patches) */
  long long seen;    /* patches offered so far (reservoir sampling) */
  int images;
  fv_rng rng;
  int iters;
  fv_prior *model;   /* the current parameters, factored */
  float w[FV_PRIOR_MAX_K];
  float *cov;        /* K × TRI */
  float *resp;       /* n × K */
  double *acc;       /* TRI: one component's S_k */
  double loglik, objective;
};

void fv_prior_fit_opts_default(fv_prior_fit_opts *o) {
  o->components = 8;
  o->iterations = 30;
  o->stride = 4;
  o->max_patches = 20000;
  o->seed = 0;
}

fv_prior_fit *fv_prior_fit_new(const fv_prior_fit_opts *o, fv_error *err) {
  fv_error_clear(err);
  if (!o || o->components < 1 || o->components > FV_PRIOR_MAX_K) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: components %d out of range (1..%d)", o ? o->components : 0, FV_PRIOR_MAX_K);
    return NULL;
  }
  if (o->iterations < 1 || o->iterations > 1000) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: iterations %d out of range (1..1000)", o->iterations);
    return NULL;
  }
  if (o->stride < 1 || o->stride > 64) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: stride %d out of range (1..64)", o->stride);
    return NULL;
  }
  if (o->max_patches < 16 * o->components || o->max_patches > 1000000) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: max patches %d out of range (%d..1000000: 16 a component at least)",
                 o->max_patches, 16 * o->components);
    return NULL;
  }
  fv_prior_fit *f = (fv_prior_fit *)calloc(1, sizeof *f);
  if (f) {
    f->o = *o;
    f->cap = o->max_patches;
    f->z = (float *)malloc((size_t)f->cap * DP * sizeof(float));
    f->cov = (float *)malloc((size_t)o->components * TRI * sizeof(float));
    f->acc = (double *)malloc(TRI * sizeof(double));
  }
  if (!f || !f->z || !f->cov || !f->acc) {
    fv_prior_fit_free(f);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a prior fit of %d patches", o->max_patches);
    return NULL;
  }
  fv_prior_basis_init(&f->basis);
  fv_rng_seed(&f->rng, o->seed);
  f->loglik = f->objective = NAN;
  return f;
}

void fv_prior_fit_free(fv_prior_fit *f) {
  if (!f) return;
  fv_prior_free(f->model);
  free(f->z), free(f->cov), free(f->resp), free(f->acc);
  free(f);
}

int fv_prior_fit_iterations(const fv_prior_fit *f) { return f ? f->iters : 0; }
int fv_prior_fit_patches(const fv_prior_fit *f) { return f ? f->n : 0; }
double fv_prior_fit_loglik(const fv_prior_fit *f) { return f ? f->loglik : NAN; }
double fv_prior_fit_objective(const fv_prior_fit *f) { return f ? f->objective : NAN; }

/* ==== the data: every patch offered, a seeded uniform sample of max_patches kept ======== */

fv_status fv_prior_fit_add(fv_prior_fit *f, const float *rgb, int h, int w, fv_error *err) {
  fv_error_clear(err);
  if (!f || !rgb) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: no photo");
    return FV_ERR_BAD_ARG;
  }
  if (f->iters) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: photos go in before the first EM step");
    return FV_ERR_BAD_ARG;
  }
  if (h < FV_PRIOR_SIDE || w < FV_PRIOR_SIDE) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: a photo of %dx%d is smaller than one %dx%d patch", w, h, FV_PRIOR_SIDE, FV_PRIOR_SIDE);
    return FV_ERR_BAD_ARG;
  }
  const int ny = fv_prior_positions(h, f->o.stride), nx = fv_prior_positions(w, f->o.stride);
  float z[DP];
  for (int a = 0; a < ny; a++)
    for (int b = 0; b < nx; b++) {
      /* reservoir sampling (Algorithm R): the first cap patches, then patch i replaces a
       * random slot with probability cap/(i+1) */
      const int slot = f->seen < f->cap ? (int)f->seen : fv_rng_below(&f->rng, f->seen < INT_MAX ? (int)f->seen + 1 : INT_MAX);
      f->seen++;
      if (slot >= f->cap) continue;
      fv_prior_patch(&f->basis, rgb, w, fv_prior_position(w, f->o.stride, b), fv_prior_position(h, f->o.stride, a), z);
      int bad = 0;
      for (int i = 0; i < D; i++) bad |= !isfinite(z[i]);
      if (bad) {
        fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: the photo has pixels that are not finite numbers");
        return FV_ERR_BAD_ARG;
      }
      memcpy(f->z + (size_t)slot * DP, z, sizeof z);
      if (slot >= f->n) f->n = slot + 1;
    }
  f->images++;
  return FV_OK;
}

/* ==== EM ===================================================================================== */

/* M-step from the responsibilities: weights, covariances, and their factorization. */
static fv_status m_step(fv_prior_fit *f, fv_error *err) {
  const int K = f->o.components, N = f->n;
  const double lambda = FIT_EPS * N / K;
  for (int c = 0; c < K; c++) {
    memset(f->acc, 0, TRI * sizeof(double));
    double nk = 0;
    for (int n = 0; n < N; n++) {
      const double r = f->resp[(size_t)n * K + c];
      if (r < R_SKIP) continue;
      nk += r;
      const float *z = f->z + (size_t)n * DP;
      double *row = f->acc;
      for (int i = 0; i < D; row += D - i, i++) { /* the upper triangle, row by row */
        const double a = r * z[i];
        for (int j = i; j < D; j++) row[j - i] += a * z[j];
      }
    }
    f->w[c] = (float)((nk + 1) / (N + K));
    float *cov = f->cov + (size_t)c * TRI;
    for (int i = 0, t = 0; i < D; i++)
      for (int j = i; j < D; j++, t++) cov[t] = (float)((f->acc[t] + (i == j ? lambda : 0)) / (nk + 1));
  }
  float wsum = 0; /* the weights, renormalized in float so the file's sum is 1 to rounding */
  for (int c = 0; c < K; c++) wsum += f->w[c];
  for (int c = 0; c < K; c++) f->w[c] /= wsum;
  fv_prior *m = fv_prior_from_params(K, f->w, f->cov, err);
  if (!m) {
    fv_error_set(err, FV_ERR_NUMERIC, "prior fit: a covariance lost positive definiteness at iteration %d", f->iters + 1);
    return FV_ERR_NUMERIC;
  }
  fv_prior_free(f->model);
  f->model = m;
  return FV_OK;
}

/* E-step under the current parameters: responsibilities, log-likelihood and the penalized objective. */
static void e_step(fv_prior_fit *f) {
  const int K = f->o.components, N = f->n;
  const fv_prior *m = f->model;
  float y[DP], a[FV_PRIOR_MAX_K];
  double ll = 0;
  for (int n = 0; n < N; n++) {
    const float *z = f->z + (size_t)n * DP;
    for (int c = 0; c < K; c++) a[c] = m->logc[c] - 0.5f * fv_prior_maha(m->L + (size_t)c * D * DP, z, y);
    const double lse = fv_prior_logsumexp(a, K);
    ll += lse;
    for (int c = 0; c < K; c++) f->resp[(size_t)n * K + c] = (float)exp(a[c] - lse);
  }
  const double lambda = FIT_EPS * N / K;
  double pen = 0;
  for (int c = 0; c < K; c++) {
    const float *L = m->L + (size_t)c * D * DP;
    double tr = 0; /* tr Σ⁻¹ = ‖L‖²_F */
    for (int i = 0; i < D; i++)
      for (int j = 0; j <= i; j++) tr += (double)L[(size_t)i * DP + j] * L[(size_t)i * DP + j];
    pen += log((double)f->w[c]) + 0.5 * m->logdet[c] - 0.5 * lambda * tr;
  }
  f->loglik = ll / N;
  f->objective = (ll + pen) / N;
}

typedef struct {
  float contrast;
  int i;
} ranked;

static int by_contrast(const void *a, const void *b) {
  const ranked *x = (const ranked *)a, *y = (const ranked *)b;
  return x->contrast < y->contrast ? -1 : x->contrast > y->contrast ? 1 : x->i - y->i;
}

/* The start: component k takes the k-th K-quantile of the patches by contrast ‖z‖²
 * (a flat patch and an edge are the two ends), responsibilities 0 or 1. */
static fv_status init(fv_prior_fit *f, fv_error *err) {
  const int K = f->o.components, N = f->n;
  if (N < 16 * K) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: %d patches for %d components; %d at least (more photos, or a smaller stride)",
                 N, K, 16 * K);
    return FV_ERR_BAD_ARG;
  }
  f->resp = (float *)calloc((size_t)N * K, sizeof(float));
  ranked *r = (ranked *)malloc((size_t)N * sizeof *r);
  if (!f->resp || !r) {
    free(r);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for the responsibilities of %d patches", N);
    return FV_ERR_NO_MEMORY;
  }
  for (int n = 0; n < N; n++) {
    float s = 0;
    for (int i = 0; i < D; i++) s += f->z[(size_t)n * DP + i] * f->z[(size_t)n * DP + i];
    r[n].contrast = s, r[n].i = n;
  }
  qsort(r, (size_t)N, sizeof *r, by_contrast);
  for (int q = 0; q < N; q++) f->resp[(size_t)r[q].i * K + (int)((long long)q * K / N)] = 1;
  free(r);
  return m_step(f, err);
}

fv_status fv_prior_fit_step(fv_prior_fit *f, fv_error *err) {
  fv_error_clear(err);
  if (!f) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: none");
    return FV_ERR_BAD_ARG;
  }
  if (!f->model) {
    fv_status s = init(f, err);
    if (s != FV_OK) return s;
  }
  e_step(f);
  fv_status s = m_step(f, err);
  if (s != FV_OK) return s;
  f->iters++;
  return FV_OK;
}

uint8_t *fv_prior_fit_save(fv_prior_fit *f, size_t *len, fv_error *err) {
  fv_error_clear(err);
  if (!f || !f->iters || !len) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: nothing fitted yet (run at least one EM step)");
    return NULL;
  }
  fv_prior_file_info info = {f->o.components, f->iters, f->n, f->o.stride, f->images, f->o.seed, (float)f->loglik};
  return fv_prior_write(&info, f->w, f->cov, len, err);
}

/* ==== for the shells: plain arguments, 8-bit photos ========================================= */

fv_prior_fit *fv_prior_fit_create(int components, int iterations, int stride, int max_patches, double seed, fv_error *err) {
  fv_prior_fit_opts o;
  fv_prior_fit_opts_default(&o);
  if (components > 0) o.components = components;
  if (iterations > 0) o.iterations = iterations;
  if (stride > 0) o.stride = stride;
  if (max_patches > 0) o.max_patches = max_patches;
  if (!(seed >= 0 && seed <= 9007199254740991.0)) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: seed %g is not a whole number 0..2^53-1", seed);
    return NULL;
  }
  o.seed = (uint64_t)seed;
  return fv_prior_fit_new(&o, err);
}

fv_status fv_prior_fit_add_image(fv_prior_fit *f, const fv_image *im, fv_error *err) {
  if (!im) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior fit: no photo");
    return FV_ERR_BAD_ARG;
  }
  const int w = fv_image_width(im), h = fv_image_height(im);
  const uint8_t *px = fv_image_rgb(im);
  float *rgb = (float *)malloc((size_t)w * h * 3 * sizeof(float));
  if (!rgb) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a %dx%d photo", w, h);
    return FV_ERR_NO_MEMORY;
  }
  for (size_t i = 0; i < (size_t)w * h * 3; i++) rgb[i] = px[i] / 255.0f;
  fv_status s = fv_prior_fit_add(f, rgb, h, w, err);
  free(rgb);
  return s;
}
