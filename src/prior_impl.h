/* prior_impl.h — what prior.c shares with prior_fit.c (the EM fit): the mixture's
 * layout, its factorization, the hot kernels and the writer of prior.bin. The
 * module's manual and public calls are prior.h. */
#ifndef FV_PRIOR_IMPL_H
#define FV_PRIOR_IMPL_H

#include "model.h"
#include "prior.h"

#define FV_PRIOR_VERSION 1
#define FV_PRIOR_TRI (FV_PRIOR_DIM * (FV_PRIOR_DIM + 1) / 2) /* floats of one covariance's upper triangle */

typedef struct {
  int k, iterations, patches, stride, images;
  uint64_t seed;
  float loglik;
} fv_prior_file_info;

struct fv_prior {
  int k;
  fv_prior_file_info info;       /* the header's record of the fit (zeros for a prior not from a file) */
  float logc[FV_PRIOR_MAX_K];    /* log π_k + ½ log|Σ_k⁻¹| − ½ D log 2π */
  double logdet[FV_PRIOR_MAX_K]; /* log|Σ_k⁻¹| */
  float *L;                      /* K × D rows of DP floats: Σ_k⁻¹ = L_kᵀ L_k, L_k lower-triangular */
  fv_prior_basis basis;
};

/* A mixture from weights (K) and covariances (K upper triangles, FV_PRIOR_TRI floats each):
 * the covariances factored in double; NULL with err set when one is not positive definite. */
fv_prior *fv_prior_from_params(int k, const float *weights, const float *cov, fv_error *err);

/* The twin pair (kernels.inc FV_TWIN prior maha): y = L z (D floats) returning ‖y‖², and
 * g += r·Lᵀ y. L: D rows of DP floats, zero above the diagonal; z, g: DP floats. */
float fv_prior_maha(const float *L, const float *z, float *y);
void fv_prior_maha_adj(const float *L, const float *y, float r, float *g);

double fv_prior_logsumexp(const float *a, int k);
uint32_t fv_prior_crc32(const uint8_t *b, size_t n);

size_t fv_prior_file_bytes(int k);
uint8_t *fv_prior_write(const fv_prior_file_info *info, const float *weights, const float *cov, size_t *len, fv_error *err);

#endif
