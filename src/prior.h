/* prior.h — a learned natural-image prior: a Gaussian mixture over 8×8 patches
 * (EPLL, Zoran & Weiss, ICCV 2011), its patch log-likelihood summed over an
 * image and the gradient of that sum, as an objective term (FV_OBJ_PRIOR),
 * and the file format prior.bin. Fitting by EM is prior_fit.c's (below).
 *
 * A patch: 8×8 pixels of an image [H,W,3] in [0,1], taken to decorrelated
 * colour (c = M⁻¹ rgb per pixel, M param.c's colour matrix, so a patch is in
 * the colour space the Fourier parameterization optimizes in), then each
 * channel through the orthonormal 8×8 DCT-II with its DC coefficient dropped:
 * D = 3·63 = 189 coordinates. Dropping the DC is how EPLL models patches
 * "with their mean removed": brightness and the mean colour of a patch are not
 * modelled at all, and since the basis is orthonormal the density over the
 * 189 coordinates is a proper density of the DC-free patch.
 *   p(z) = Σ_k π_k N(z; 0, Σ_k)        (zero-mean components, as EPLL's)
 * Over an image, patches sit at x, y ∈ {0, s, 2s, ...} with the patch inside
 * the image, plus the last position H−8 (W−8) when the stride does not land on
 * it, so at a stride of 8 or less every pixel is in some patch; nothing is padded.
 *
 * The term FV_OBJ_PRIOR (objective text `prior`, a penalty: subtract it) is
 *   prior = mean over the batch's patches of −log p(z) / D       (nats per coordinate)
 * at stride FV_PRIOR_STRIDE.
 *
 * prior.bin, little-endian, version 1:
 *   0  "FVPRIOR\0"   magic              32  u32 fit iterations
 *   8  u32 version (1)                  36  u32 patches the fit used
 *   12 u32 K, 1..FV_PRIOR_MAX_K         40  u32 fit stride
 *   16 u32 patch side (8)               44  u32 fit images
 *   20 u32 channels (3)                 48  u64 fit seed
 *   24 u32 D (189)                      56  f32 mean log-likelihood per patch at the end of the fit
 *   28 u32 0 (reserved)                 60  u32 0 (reserved)
 *   64 K f32 weights π_k (each > 0, summing to 1 within 1e-3)
 *      K × D(D+1)/2 f32: Σ_k's upper triangle, row by row
 *   end u32 CRC-32 (IEEE, as zlib's crc32) of every byte before it
 * A file of another length, a bad magic, version, side or D, a weight or
 * covariance that is not finite, a covariance that is not positive definite
 * or a checksum that does not match is refused with FV_ERR_BAD_ARG and a
 * message naming what is wrong.
 *
 * Memory: fv_prior_load copies what it needs (the caller keeps its bytes);
 * an fv_prior is read-only after load, so renders may share one; each
 * evaluation uses the caller's scratch (fv_prior_scratch_floats).
 *
 *   fv_prior *p = fv_prior_load(bytes, n, &err);              // NULL: err says why
 *   float *scratch = malloc(fv_prior_scratch_floats(p) * sizeof(float));
 *   double nll = fv_prior_nll(p, rgb, n, h, w, stride, drgb, scratch);   // Σ over patches; drgb += d/drgb (or NULL)
 *   fv_prior_free(p);
 *
 * Fitting (prior_fit.c), one EM iteration per call so a shell can show
 * progress and stop between calls:
 *   fv_prior_fit *f = fv_prior_fit_new(&opts, &err);
 *   fv_prior_fit_add(f, rgb, h, w, &err);                    // per photo; its patches at opts.stride
 *   while (fv_prior_fit_iterations(f) < opts.iterations) fv_prior_fit_step(f, &err);
 *   uint8_t *bin = fv_prior_fit_save(f, &len, &err);         // prior.bin bytes; fv_free
 * EM is deterministic: the initial responsibilities come from each patch's
 * contrast rank (the seed only picks which patches, when there are more than
 * opts.max_patches), every sum runs in a fixed order, so the same photos and
 * options give the same bytes.
 */
#ifndef FV_PRIOR_H
#define FV_PRIOR_H

#include <stddef.h>
#include <stdint.h>

#include "fv.h"

#define FV_PRIOR_SIDE 8
#define FV_PRIOR_DIM (3 * (FV_PRIOR_SIDE * FV_PRIOR_SIDE - 1)) /* 189 */
#define FV_PRIOR_DIM_PAD 192       /* D rounded up to 4 floats: a patch vector's length in memory */
#define FV_PRIOR_MAX_K 64
#define FV_PRIOR_STRIDE 4          /* the objective term's patch stride */
#define FV_PRIOR_HEADER 64

/* fv_prior and its public calls (load, free, components, info, image_score) are in fv.h. */

/* Floats of scratch one fv_prior_nll call needs. */
size_t fv_prior_scratch_floats(const fv_prior *p);

/* How many patch positions a side of `side` pixels has at this stride (as above; 0 below 8),
 * and the i-th of them: min(i·stride, side − 8). */
int fv_prior_positions(int side, int stride);
int fv_prior_position(int side, int stride, int i);

/* Σ over the patches of n images rgb [n,h,w,3] (h, w >= 8) of −log p(z). drgb (same layout)
 * gets scale·d(that sum)/d(rgb) ADDED, or is NULL. */
double fv_prior_nll(const fv_prior *p, const float *rgb, int n, int h, int w, int stride, float *drgb, float scale,
                    float *scratch);

/* −log p(z) of one patch's coordinates z (FV_PRIOR_DIM_PAD floats, zero past D); g (as many
 * floats, or NULL) gets d/dz written. */
double fv_prior_patch_nll(const fv_prior *p, const float *z, float *g, float *scratch);

/* The patch basis: M⁻¹ (decorrelated colour) and the 8-point DCT-II. */
typedef struct {
  float minv[9];
  float dct[FV_PRIOR_SIDE * FV_PRIOR_SIDE];
} fv_prior_basis;
void fv_prior_basis_init(fv_prior_basis *b);
const fv_prior_basis *fv_prior_basis_of(const fv_prior *p);

/* The D coordinates of the patch at (x, y) of one image [h,w,3] into z (FV_PRIOR_DIM_PAD
 * floats, zero past D); and the adjoint: drgb += scale·Bᵀ g. */
void fv_prior_patch(const fv_prior_basis *b, const float *rgb, int w, int x, int y, float *z);
void fv_prior_patch_adjoint(const fv_prior_basis *b, const float *g, float scale, int w, int x, int y, float *drgb);

/* ---- fitting: prior_fit.c ---------------------------------------------------------- */

typedef struct {
  int components;    /* K, 1..FV_PRIOR_MAX_K (default 8) */
  int iterations;    /* EM iterations (default 30) */
  int stride;        /* patch stride in the photos, 1..64 (default 4) */
  int max_patches;   /* at most this many patches, a seeded sample (default 20000) */
  uint64_t seed;     /* default 0 */
} fv_prior_fit_opts;

void fv_prior_fit_opts_default(fv_prior_fit_opts *o);
fv_prior_fit *fv_prior_fit_new(const fv_prior_fit_opts *o, fv_error *err);
/* The patches of one photo rgb [h,w,3] in [0,1]; before the first step. */
fv_status fv_prior_fit_add(fv_prior_fit *f, const float *rgb, int h, int w, fv_error *err);
/* The public calls (load, free, info, score, and the fit's create, add_image, step,
 * iterations, patches, loglik, objective, save, free) are in fv.h. fv_prior_fit_loglik:
 * the mean log-likelihood per patch under the parameters the last step started from;
 * fv_prior_fit_objective: the penalized objective EM increases (plus the regularizer's
 * log-prior, per patch); both NAN before the first step. The first step also samples
 * the patches and initializes. */

#endif
