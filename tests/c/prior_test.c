/* prior_test.c — the patch prior (src/prior.h) against independent references:
 * the patch basis is orthonormal and its adjoint is its transpose (in double),
 * −log p against a direct double-precision evaluation of the mixture density,
 * the image gradient against central finite differences, EM's objective rising
 * every iteration, the same bytes from the same fit, the SIMD twin against the
 * scalar one, prior.bin round trips, and damaged files refused with a message.
 * Real photos (fitting on some, measuring others) are tests/prior.test.mjs's. */
#include "check.h"

#include "fv.h"
#include "kernels/kernels.h"
#include "param.h"
#include "prior.h"
#include "prior_impl.h"
#include "rng.h"

#define D FV_PRIOR_DIM
#define DP FV_PRIOR_DIM_PAD

/* A picture with the statistics the prior should learn: smooth shading, a few hard edges
 * (discs of flat colour) and a little noise; values in [0.05, 0.95]. */
static float *picture(int h, int w, uint64_t seed) {
  fv_rng r;
  fv_rng_seed(&r, seed);
  float *im = (float *)malloc((size_t)h * w * 3 * sizeof(float));
  double base[3], gx[3], gy[3];
  for (int c = 0; c < 3; c++) base[c] = 0.3 + 0.4 * fv_rng_uniform(&r), gx[c] = 0.3 * (fv_rng_uniform(&r) - 0.5), gy[c] = 0.3 * (fv_rng_uniform(&r) - 0.5);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) im[((size_t)y * w + x) * 3 + c] = (float)(base[c] + gx[c] * x / w + gy[c] * y / h);
  for (int d = 0; d < 6; d++) {
    const double cx = fv_rng_uniform(&r) * w, cy = fv_rng_uniform(&r) * h, rad = (0.1 + 0.25 * fv_rng_uniform(&r)) * w;
    double col[3];
    for (int c = 0; c < 3; c++) col[c] = 0.1 + 0.8 * fv_rng_uniform(&r);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < rad * rad)
          for (int c = 0; c < 3; c++) im[((size_t)y * w + x) * 3 + c] = (float)col[c];
  }
  for (size_t i = 0; i < (size_t)h * w * 3; i++) {
    float v = im[i] + 0.005f * (float)fv_rng_normal(&r);
    im[i] = v < 0.05f ? 0.05f : v > 0.95f ? 0.95f : v;
  }
  return im;
}

static float *noise(int h, int w, uint64_t seed) {
  fv_rng r;
  fv_rng_seed(&r, seed);
  float *im = (float *)malloc((size_t)h * w * 3 * sizeof(float));
  for (size_t i = 0; i < (size_t)h * w * 3; i++) im[i] = (float)fv_rng_uniform(&r);
  return im;
}

static fv_prior_fit *fit_pictures(int k, int iters, int n_pictures, uint64_t seed, double *objective, int n_obj) {
  fv_prior_fit_opts o;
  fv_prior_fit_opts_default(&o);
  o.components = k, o.iterations = iters, o.stride = 4, o.max_patches = 3000, o.seed = seed;
  fv_error err = {0};
  fv_prior_fit *f = fv_prior_fit_new(&o, &err);
  CHECK(f != NULL, "fit_new: %s", err.msg);
  if (!f) return NULL;
  for (int i = 0; i < n_pictures; i++) {
    float *im = picture(64, 64, 100 + i);
    CHECK(fv_prior_fit_add(f, im, 64, 64, &err) == FV_OK, "fit_add: %s", err.msg);
    free(im);
  }
  for (int i = 0; i < iters; i++) {
    CHECK(fv_prior_fit_step(f, &err) == FV_OK, "fit step %d: %s", i, err.msg);
    if (objective && i < n_obj) objective[i] = fv_prior_fit_objective(f);
  }
  return f;
}

static fv_prior *load_fit(fv_prior_fit *f, uint8_t **bytes, size_t *len) {
  fv_error err = {0};
  *bytes = fv_prior_fit_save(f, len, &err);
  CHECK(*bytes != NULL, "save: %s", err.msg);
  fv_prior *p = *bytes ? fv_prior_load(*bytes, *len, &err) : NULL;
  CHECK(p != NULL, "load what save wrote: %s", err.msg);
  return p;
}

/* ---- the basis: orthonormal rows, adjoint = transpose ------------------------------------ */
static void test_basis(void) {
  fv_prior_basis b;
  fv_prior_basis_init(&b);
  /* M⁻¹ times param.c's M is the identity */
  for (int j = 0; j < 3; j++) {
    float e[3] = {0, 0, 0}, m[3], back[3];
    e[j] = 1;
    fv_color_decorrelate(e, m, 1);
    for (int i = 0; i < 3; i++) back[i] = b.minv[3 * i] * m[0] + b.minv[3 * i + 1] * m[1] + b.minv[3 * i + 2] * m[2];
    for (int i = 0; i < 3; i++) CHECK(fabsf(back[i] - (i == j)) < 1e-5f, "M⁻¹M[%d][%d] = %g", i, j, back[i]);
  }
  /* a constant patch (any colour) has no coordinates: the DC is gone */
  float flat[8 * 8 * 3], z[DP], g[DP];
  for (int i = 0; i < 8 * 8 * 3; i++) flat[i] = (float)(0.2 + 0.1 * (i % 3));
  fv_prior_patch(&b, flat, 8, 0, 0, z);
  double zz = 0;
  for (int i = 0; i < DP; i++) zz += fabs(z[i]);
  CHECK(zz < 1e-5, "a flat patch has coordinates summing to %g", zz);
  /* <B x, g> = <x, Bᵀ g> in double, on a patch inside a larger image */
  fv_rng r;
  fv_rng_seed(&r, 5);
  float x[20 * 20 * 3], bt[20 * 20 * 3];
  for (int i = 0; i < 20 * 20 * 3; i++) x[i] = (float)fv_rng_normal(&r), bt[i] = 0;
  for (int i = 0; i < DP; i++) g[i] = i < D ? (float)fv_rng_normal(&r) : 0;
  fv_prior_patch(&b, x, 20, 5, 7, z);
  fv_prior_patch_adjoint(&b, g, 1.0f, 20, 5, 7, bt);
  double lhs = 0, rhs = 0;
  for (int i = 0; i < D; i++) lhs += (double)z[i] * g[i];
  for (int i = 0; i < 20 * 20 * 3; i++) rhs += (double)x[i] * bt[i];
  CHECK(fabs(lhs - rhs) < 1e-4 * (fabs(lhs) + 1), "adjoint: <Bx,g> %.8g vs <x,Bᵀg> %.8g", lhs, rhs);
  /* the DCT part is orthonormal: with M⁻¹ out of the way (a grey ramp in one decorrelated channel), ‖z‖ = ‖patch − mean‖ */
  float p[8 * 8 * 3];
  double mean = 0, ss = 0;
  for (int i = 0; i < 64; i++) mean += (double)((i * 7) % 11) / 64.0;
  for (int i = 0; i < 64; i++) {
    /* rgb = M e0 · v: decorrelated channel 0 carries v, the others 0 */
    float e[3] = {1, 0, 0}, m[3];
    fv_color_decorrelate(e, m, 1);
    const float v = (float)((i * 7) % 11);
    for (int c = 0; c < 3; c++) p[3 * i + c] = m[c] * v;
    ss += (v - mean) * (v - mean);
  }
  fv_prior_patch(&b, p, 8, 0, 0, z);
  double zn = 0;
  for (int i = 0; i < D; i++) zn += (double)z[i] * z[i];
  CHECK(fabs(zn - ss) < 1e-3 * ss, "orthonormal: ‖z‖² %.6g, ‖patch − mean‖² %.6g", zn, ss);
  /* positions: every pixel in some patch, none outside */
  for (int side = 8; side <= 40; side++)
    for (int s = 1; s <= 8; s++) { /* a stride above 8 leaves gaps by design */
      int cover[40] = {0}, n = fv_prior_positions(side, s), ok = 1;
      for (int i = 0; i < n; i++) {
        const int q = fv_prior_position(side, s, i);
        ok &= q >= 0 && q + 8 <= side && (i == 0 || q > fv_prior_position(side, s, i - 1));
        for (int d = 0; d < 8; d++) cover[q + d] = 1;
      }
      for (int i = 0; i < side; i++) ok &= cover[i];
      CHECK(ok, "positions side %d stride %d", side, s);
    }
  CHECK(fv_prior_positions(7, 4) == 0, "a side below 8 has no patches");
}

/* ---- −log p against the mixture density computed directly ------------------------------- */
static void test_density(fv_prior *p, const float *cov, const float *w) {
  /* a direct evaluation: Σ⁻¹ z by Gaussian elimination in double on the full matrix */
  float *scratch = (float *)malloc(fv_prior_scratch_floats(p) * sizeof(float));
  float *im = picture(16, 16, 77), z[DP];
  fv_prior_patch(fv_prior_basis_of(p), im, 16, 3, 5, z);
  double *a = (double *)malloc((size_t)D * (D + 1) * sizeof(double)), terms[FV_PRIOR_MAX_K];
  const int K = fv_prior_components(p);
  for (int c = 0; c < K; c++) {
    const float *u = cov + (size_t)c * FV_PRIOR_TRI;
    for (int i = 0, t = 0; i < D; i++)
      for (int j = i; j < D; j++, t++) a[(size_t)i * (D + 1) + j] = a[(size_t)j * (D + 1) + i] = u[t];
    for (int i = 0; i < D; i++) a[(size_t)i * (D + 1) + D] = z[i];
    double logdet = 0;
    for (int i = 0; i < D; i++) { /* no pivoting: Σ is positive definite */
      const double piv = a[(size_t)i * (D + 1) + i];
      logdet += log(piv);
      for (int r = i + 1; r < D; r++) {
        const double f = a[(size_t)r * (D + 1) + i] / piv;
        for (int j = i; j <= D; j++) a[(size_t)r * (D + 1) + j] -= f * a[(size_t)i * (D + 1) + j];
      }
    }
    double x[D], q = 0;
    for (int i = D - 1; i >= 0; i--) {
      double s = a[(size_t)i * (D + 1) + D];
      for (int j = i + 1; j < D; j++) s -= a[(size_t)i * (D + 1) + j] * x[j];
      x[i] = s / a[(size_t)i * (D + 1) + i];
    }
    for (int i = 0; i < D; i++) q += x[i] * z[i];
    terms[c] = log((double)w[c]) - 0.5 * (D * log(2 * 3.14159265358979323846) + logdet + q);
  }
  double mx = terms[0], s = 0;
  for (int c = 1; c < K; c++) mx = terms[c] > mx ? terms[c] : mx;
  for (int c = 0; c < K; c++) s += exp(terms[c] - mx);
  const double want = -(mx + log(s)), got = fv_prior_patch_nll(p, z, NULL, scratch);
  CHECK(fabs(got - want) < 1e-3 * fabs(want) + 1e-2, "−log p: engine %.6f, direct %.6f", got, want);
  free(a), free(im), free(scratch);
}

/* ---- the image gradient against central differences --------------------------------------- */
static void test_gradient(fv_prior *p) {
  const int h = 13, w = 11; /* sides the stride does not divide: the last patch overlaps */
  float *im = picture(h, w, 31), *g = (float *)calloc((size_t)h * w * 3, sizeof(float));
  float *scratch = (float *)malloc(fv_prior_scratch_floats(p) * sizeof(float));
  fv_prior_nll(p, im, 1, h, w, 3, g, 1.0f, scratch);
  fv_rng r;
  fv_rng_seed(&r, 9);
  int bad = 0;
  double worst = 0;
  for (int t = 0; t < 40; t++) {
    const int i = fv_rng_below(&r, h * w * 3);
    const float keep = im[i], step = 1e-3f;
    im[i] = keep + step;
    const double up = fv_prior_nll(p, im, 1, h, w, 3, NULL, 1.0f, scratch);
    im[i] = keep - step;
    const double down = fv_prior_nll(p, im, 1, h, w, 3, NULL, 1.0f, scratch);
    im[i] = keep;
    const double fd = (up - down) / (2.0 * step);
    const double err = fabs(fd - g[i]) / (fabs(fd) + fabs(g[i]) + 1.0);
    worst = err > worst ? err : worst;
    bad += err > 2e-2;
  }
  CHECK(!bad, "gradient vs central differences: %d of 40 off, worst relative error %.3g", bad, worst);
  printf("note: gradient vs central differences: worst relative error %.3g\n", worst);
  /* the scale multiplies and the gradient accumulates */
  float *g2 = (float *)malloc((size_t)h * w * 3 * sizeof(float));
  memcpy(g2, g, (size_t)h * w * 3 * sizeof(float));
  fv_prior_nll(p, im, 1, h, w, 3, g2, -0.5f, scratch);
  double dev = 0, mag = 0;
  for (int i = 0; i < h * w * 3; i++) dev = fmax(dev, fabs(g2[i] - 0.5 * g[i])), mag = fmax(mag, fabs(g[i]));
  CHECK(dev < 1e-5 * mag, "scale −0.5 added to the gradient: max deviation %g of %g", dev, mag);
  free(im), free(g), free(g2), free(scratch);
}

/* ---- SIMD twin vs scalar (on the wasm build; natively both are the scalar) ----------------- */
static void test_twin(fv_prior *p) {
  const int h = 24, w = 24;
  float *im = picture(h, w, 12), *g0 = (float *)calloc((size_t)h * w * 3, sizeof(float)),
        *g1 = (float *)calloc((size_t)h * w * 3, sizeof(float));
  float *scratch = (float *)malloc(fv_prior_scratch_floats(p) * sizeof(float));
  const int was = fv_kernels_simd_enabled();
  fv_kernels_set_simd(0);
  const double v0 = fv_prior_nll(p, im, 1, h, w, 4, g0, 1.0f, scratch);
  fv_kernels_set_simd(1);
  const double v1 = fv_prior_nll(p, im, 1, h, w, 4, g1, 1.0f, scratch);
  fv_kernels_set_simd(was);
  double dev = 0, mag = 0;
  for (int i = 0; i < h * w * 3; i++) dev = fmax(dev, fabs(g0[i] - g1[i])), mag = fmax(mag, fabs(g0[i]));
  CHECK(fabs(v0 - v1) < 1e-4 * fabs(v0) + 1e-3, "maha twin: NLL scalar %.6f simd %.6f", v0, v1);
  CHECK(dev < 1e-3 * mag + 1e-5, "maha twin: gradient max deviation %g of %g", dev, mag);
  free(im), free(g0), free(g1), free(scratch);
}

/* ---- EM and its bytes ------------------------------------------------------------------------ */
static void test_em(void) {
  double obj[12];
  fv_prior_fit *f = fit_pictures(4, 12, 3, 1, obj, 12);
  if (!f) return;
  int drops = 0;
  for (int i = 1; i < 12; i++) drops += obj[i] < obj[i - 1] - 1e-6 * fabs(obj[i - 1]);
  CHECK(!drops, "EM's objective fell at %d of 11 iterations (%.6f → %.6f)", drops, obj[0], obj[11]);
  CHECK(obj[11] > obj[0] + 1e-3, "EM improved the objective: %.6f → %.6f", obj[0], obj[11]);
  printf("note: EM objective per patch %.4f → %.4f over 11 iterations\n", obj[0], obj[11]);
  CHECK(fv_prior_fit_patches(f) == 3 * 15 * 15, "patches kept: %d", fv_prior_fit_patches(f));
  uint8_t *b1;
  size_t n1;
  fv_prior *p = load_fit(f, &b1, &n1);
  /* the same photos and options: the same bytes */
  fv_prior_fit *f2 = fit_pictures(4, 12, 3, 1, NULL, 0);
  uint8_t *b2;
  size_t n2;
  fv_prior *p2 = load_fit(f2, &b2, &n2);
  CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1), "the same fit twice gives the same bytes");
  CHECK(n1 == fv_prior_file_bytes(4), "file size %zu", n1);

  if (p) {
    /* pictures like those it was fitted on are likelier than noise, even unseen ones */
    float *scratch = (float *)malloc(fv_prior_scratch_floats(p) * sizeof(float));
    float *seen = picture(64, 64, 100), *unseen = picture(64, 64, 999), *nz = noise(64, 64, 4);
    const double a = fv_prior_nll(p, seen, 1, 64, 64, 4, NULL, 1, scratch), b = fv_prior_nll(p, unseen, 1, 64, 64, 4, NULL, 1, scratch),
                 c = fv_prior_nll(p, nz, 1, 64, 64, 4, NULL, 1, scratch);
    CHECK(a < c && b < c, "NLL: fitted picture %.1f, unseen picture %.1f, noise %.1f", a, b, c);
    printf("note: −log p summed: fitted picture %.1f, unseen picture %.1f, noise %.1f\n", a, b, c);
    free(seen), free(unseen), free(nz), free(scratch);
    /* the density against a direct evaluation, from the file's own weights and covariances */
    const int K = 4;
    float w[4], *cov = (float *)malloc((size_t)K * FV_PRIOR_TRI * sizeof(float));
    for (int c2 = 0; c2 < K; c2++) memcpy(&w[c2], b1 + FV_PRIOR_HEADER + 4 * c2, 4);
    memcpy(cov, b1 + FV_PRIOR_HEADER + 4 * K, (size_t)K * FV_PRIOR_TRI * 4);
    test_density(p, cov, w);
    free(cov);
    test_gradient(p);
    test_twin(p);
  }

  /* a fit refuses what it cannot use */
  fv_prior_fit_opts o;
  fv_prior_fit_opts_default(&o);
  fv_error err = {0};
  o.components = 0;
  CHECK(!fv_prior_fit_new(&o, &err) && strstr(err.msg, "components"), "0 components refused: %s", err.msg);
  fv_prior_fit_opts_default(&o);
  o.components = 8;
  fv_prior_fit *few = fv_prior_fit_new(&o, &err);
  float *tiny = picture(16, 16, 1);
  CHECK(fv_prior_fit_add(few, tiny, 4, 16, &err) == FV_ERR_BAD_ARG && strstr(err.msg, "smaller"), "a 16x4 photo: %s", err.msg);
  CHECK(fv_prior_fit_add(few, tiny, 16, 16, &err) == FV_OK, "a 16x16 photo");
  CHECK(fv_prior_fit_step(few, &err) == FV_ERR_BAD_ARG && strstr(err.msg, "patches"), "too few patches: %s", err.msg);
  size_t n;
  CHECK(!fv_prior_fit_save(few, &n, &err) && strstr(err.msg, "nothing fitted"), "save before a step: %s", err.msg);
  free(tiny);
  fv_prior_fit_free(few);

  if (b1) {
    /* damaged files, each refused with a message naming what is wrong */
    uint8_t *c = (uint8_t *)malloc(n1);
#define RESEAL() do { uint32_t crc = fv_prior_crc32(c, n1 - 4); for (int i = 0; i < 4; i++) c[n1 - 4 + i] = (uint8_t)(crc >> (8 * i)); } while (0)
#define REFUSED(len, want, what)                                                            \
  do {                                                                                      \
    fv_error e = {0};                                                                       \
    fv_prior *q = fv_prior_load(c, len, &e);                                                \
    CHECK(!q && e.code == FV_ERR_BAD_ARG && strstr(e.msg, want), "%s: %s", what, e.msg);    \
    fv_prior_free(q);                                                                       \
  } while (0)
    memcpy(c, b1, n1);
    REFUSED(n1 - 1, "truncated", "truncated by a byte");
    REFUSED(40, "header", "only a header");
    REFUSED(0, "header", "empty");
    c[0] = 'X';
    REFUSED(n1, "magic", "bad magic");
    memcpy(c, b1, n1), c[8] = 2;
    REFUSED(n1, "version", "version 2");
    memcpy(c, b1, n1), c[12] = 0;
    REFUSED(n1, "components", "0 components");
    memcpy(c, b1, n1), c[12] = 200;
    REFUSED(n1, "components", "200 components");
    memcpy(c, b1, n1), c[12] = 5;
    REFUSED(n1, "truncated", "5 components claimed, 4 present");
    memcpy(c, b1, n1), c[16] = 7;
    REFUSED(n1, "patches", "7x7 patches");
    memcpy(c, b1, n1), c[n1 / 2] ^= 1;
    REFUSED(n1, "checksum", "a flipped bit");
    const float nan = NAN, neg = -0.25f, big = 1e30f;
    memcpy(c, b1, n1), memcpy(c + FV_PRIOR_HEADER + 4, &nan, 4);
    RESEAL();
    REFUSED(n1, "weight 1", "a NaN weight");
    memcpy(c, b1, n1), memcpy(c + FV_PRIOR_HEADER, &neg, 4);
    RESEAL();
    REFUSED(n1, "weight 0", "a negative weight");
    memcpy(c, b1, n1), memcpy(c + FV_PRIOR_HEADER + 4 * 4 + 4 * FV_PRIOR_TRI + 8, &nan, 4);
    RESEAL();
    REFUSED(n1, "component 1", "a NaN covariance");
    /* Σ_2[0][1] huge: no longer positive definite */
    memcpy(c, b1, n1), memcpy(c + FV_PRIOR_HEADER + 4 * 4 + 4 * 2 * FV_PRIOR_TRI + 4, &big, 4);
    RESEAL();
    REFUSED(n1, "component 2", "a covariance not positive definite");
    free(c);
  }
  fv_prior_free(p), fv_prior_free(p2);
  free(b1), free(b2);
  fv_prior_fit_free(f), fv_prior_fit_free(f2);
}

int main(void) {
  test_basis();
  test_em();
  return check_summary("prior");
}
