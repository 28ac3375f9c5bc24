/* prior.c — the patch Gaussian mixture of prior.h: the patch basis (decorrelated
 * colour, DC-free DCT), prior.bin in and out, and −log p summed over an image's
 * patches with its gradient. The EM fit is prior_fit.c's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "param.h"
#include "prior.h"
#include "prior_impl.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define D FV_PRIOR_DIM
#define DP FV_PRIOR_DIM_PAD
#define S FV_PRIOR_SIDE
#define FV_PRIOR_PI 3.14159265358979323846

static const char MAGIC[8] = {'F', 'V', 'P', 'R', 'I', 'O', 'R', 0};

/* ==== the patch basis ================================================================= */

/* M⁻¹ of param.c's colour matrix (read off fv_color_decorrelate, not written twice), and the
 * orthonormal 8-point DCT-II, C[u][x] = a(u)·cos((2x+1)uπ/16). */
void fv_prior_basis_init(fv_prior_basis *b) {
  double m[3][3], inv[3][3];
  for (int j = 0; j < 3; j++) {
    float e[3] = {0, 0, 0}, col[3];
    e[j] = 1;
    fv_color_decorrelate(e, col, 1);
    for (int i = 0; i < 3; i++) m[i][j] = col[i];
  }
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      /* the adjugate: cofactor of (j, i) */
      const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
    }
  for (int i = 0; i < 9; i++) b->minv[i] = (float)inv[i / 3][i % 3];
  for (int u = 0; u < S; u++)
    for (int x = 0; x < S; x++)
      b->dct[u * S + x] = (float)((u ? sqrt(2.0 / S) : sqrt(1.0 / S)) * cos((2 * x + 1) * u * FV_PRIOR_PI / (2 * S)));
}

void fv_prior_patch(const fv_prior_basis *b, const float *rgb, int w, int x0, int y0, float *z) {
  float c[3][S][S], t[S][S];
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      const float *px = rgb + ((size_t)(y0 + y) * w + x0 + x) * 3;
      for (int k = 0; k < 3; k++) c[k][y][x] = b->minv[3 * k] * px[0] + b->minv[3 * k + 1] * px[1] + b->minv[3 * k + 2] * px[2];
    }
  for (int k = 0; k < 3; k++) {
    for (int y = 0; y < S; y++) /* rows */
      for (int u = 0; u < S; u++) {
        float s = 0;
        for (int x = 0; x < S; x++) s += b->dct[u * S + x] * c[k][y][x];
        t[y][u] = s;
      }
    for (int v = 0; v < S; v++) /* columns; (0, 0), the DC, is dropped */
      for (int u = 0; u < S; u++) {
        if (!u && !v) continue;
        float s = 0;
        for (int y = 0; y < S; y++) s += b->dct[v * S + y] * t[y][u];
        z[k * (S * S - 1) + v * S + u - 1] = s;
      }
  }
  for (int i = D; i < DP; i++) z[i] = 0;
}

void fv_prior_patch_adjoint(const fv_prior_basis *b, const float *g, float scale, int w, int x0, int y0, float *drgb) {
  float c[3][S][S], t[S][S];
  for (int k = 0; k < 3; k++) {
    for (int y = 0; y < S; y++)
      for (int u = 0; u < S; u++) {
        float s = 0;
        for (int v = 0; v < S; v++)
          if (u || v) s += b->dct[v * S + y] * g[k * (S * S - 1) + v * S + u - 1];
        t[y][u] = s;
      }
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++) {
        float s = 0;
        for (int u = 0; u < S; u++) s += b->dct[u * S + x] * t[y][u];
        c[k][y][x] = s * scale;
      }
  }
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      float *px = drgb + ((size_t)(y0 + y) * w + x0 + x) * 3;
      for (int j = 0; j < 3; j++) px[j] += b->minv[j] * c[0][y][x] + b->minv[3 + j] * c[1][y][x] + b->minv[6 + j] * c[2][y][x];
    }
}

int fv_prior_positions(int side, int stride) {
  if (side < S || stride < 1) return 0;
  const int last = side - S;
  return last / stride + 1 + (last % stride != 0);
}

int fv_prior_position(int side, int stride, int i) {
  const int last = side - S;
  return i * stride < last ? i * stride : last;
}

/* ==== the hot pair: y = L z with ‖y‖², and g += r·Lᵀ y ===================================
 * L is lower-triangular, rows of DP floats (zero above the diagonal and past D), so row i
 * needs columns 0..i only: the SIMD twin reads them rounded up to 4 (the zeros make it exact
 * up to the order of the sums). */

static float maha__scalar(const float *L, const float *z, float *y) {
  float m = 0;
  for (int i = 0; i < D; i++) {
    const float *row = L + (size_t)i * DP;
    float s = 0;
    for (int j = 0; j <= i; j++) s += row[j] * z[j];
    y[i] = s;
    m += s * s;
  }
  return m;
}

static void maha_adj__scalar(const float *L, const float *y, float r, float *g) {
  for (int i = 0; i < D; i++) {
    const float *row = L + (size_t)i * DP;
    const float a = r * y[i];
    for (int j = 0; j <= i; j++) g[j] += a * row[j];
  }
}

#ifdef __wasm_simd128__
static float maha__wasmsimd(const float *L, const float *z, float *y) {
  float m = 0;
  for (int i = 0; i < D; i++) {
    const float *row = L + (size_t)i * DP;
    v128_t s4 = wasm_f32x4_splat(0);
    for (int j = 0; j <= i; j += 4) s4 = wasm_f32x4_add(s4, wasm_f32x4_mul(wasm_v128_load(row + j), wasm_v128_load(z + j)));
    const float s = (wasm_f32x4_extract_lane(s4, 0) + wasm_f32x4_extract_lane(s4, 1)) +
                    (wasm_f32x4_extract_lane(s4, 2) + wasm_f32x4_extract_lane(s4, 3));
    y[i] = s;
    m += s * s;
  }
  return m;
}

static void maha_adj__wasmsimd(const float *L, const float *y, float r, float *g) {
  for (int i = 0; i < D; i++) {
    const float *row = L + (size_t)i * DP;
    const v128_t a = wasm_f32x4_splat(r * y[i]);
    for (int j = 0; j <= i; j += 4)
      wasm_v128_store(g + j, wasm_f32x4_add(wasm_v128_load(g + j), wasm_f32x4_mul(a, wasm_v128_load(row + j))));
  }
}
#endif

float fv_prior_maha(const float *L, const float *z, float *y) {
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) return maha__wasmsimd(L, z, y);
#endif
  return maha__scalar(L, z, y);
}

void fv_prior_maha_adj(const float *L, const float *y, float r, float *g) {
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    maha_adj__wasmsimd(L, y, r, g);
    return;
  }
#endif
  maha_adj__scalar(L, y, r, g);
}

/* ==== the mixture ====================================================================== */

/* Factors one covariance (upper triangle, row by row, T floats) in double: Σ = C Cᵀ, then
 * L = C⁻¹ (so the precision is Lᵀ L), rows of DP floats; log|Σ⁻¹| into *logdet. 0 if Σ is
 * not positive definite. */
static int factor(const float *upper, float *L, double *logdet, double *work) {
  double *c = work, *inv = work + (size_t)D * D;
  for (int i = 0, t = 0; i < D; i++)
    for (int j = i; j < D; j++, t++) c[(size_t)j * D + i] = upper[t]; /* lower triangle of Σ */
  double ld = 0;
  for (int j = 0; j < D; j++) { /* Cholesky, column by column, in place in the lower triangle */
    double d = c[(size_t)j * D + j];
    for (int k = 0; k < j; k++) d -= c[(size_t)j * D + k] * c[(size_t)j * D + k];
    if (!(d > 0) || !isfinite(d)) return 0;
    d = sqrt(d);
    c[(size_t)j * D + j] = d;
    ld -= 2 * log(d);
    for (int i = j + 1; i < D; i++) {
      double s = c[(size_t)i * D + j];
      for (int k = 0; k < j; k++) s -= c[(size_t)i * D + k] * c[(size_t)j * D + k];
      c[(size_t)i * D + j] = s / d;
    }
  }
  for (int j = 0; j < D; j++) { /* C⁻¹ by forward substitution, one column of the identity at a time */
    for (int i = 0; i < j; i++) inv[(size_t)i * D + j] = 0;
    for (int i = j; i < D; i++) {
      double s = i == j ? 1.0 : 0.0;
      for (int k = j; k < i; k++) s -= c[(size_t)i * D + k] * inv[(size_t)k * D + j];
      inv[(size_t)i * D + j] = s / c[(size_t)i * D + i];
    }
  }
  for (int i = 0; i < D; i++)
    for (int j = 0; j < DP; j++) L[(size_t)i * DP + j] = j <= i ? (float)inv[(size_t)i * D + j] : 0.0f;
  *logdet = ld;
  return 1;
}

fv_prior *fv_prior_from_params(int k, const float *weights, const float *cov, fv_error *err) {
  if (k < 1 || k > FV_PRIOR_MAX_K) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior: %d components (1..%d)", k, FV_PRIOR_MAX_K);
    return NULL;
  }
  fv_prior *p = (fv_prior *)calloc(1, sizeof *p);
  double *work = (double *)malloc(2 * (size_t)D * D * sizeof(double));
  if (p) p->L = (float *)malloc((size_t)k * D * DP * sizeof(float));
  if (!p || !work || !p->L) {
    free(work);
    fv_prior_free(p);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a prior of %d components", k);
    return NULL;
  }
  p->k = k;
  fv_prior_basis_init(&p->basis);
  for (int c = 0; c < k; c++) {
    double ld;
    if (!factor(cov + (size_t)c * FV_PRIOR_TRI, p->L + (size_t)c * D * DP, &ld, work)) {
      free(work);
      fv_prior_free(p);
      fv_error_set(err, FV_ERR_BAD_ARG, "prior: component %d's covariance is not positive definite", c);
      return NULL;
    }
    p->logc[c] = (float)(log((double)weights[c]) + 0.5 * ld - 0.5 * D * log(2 * FV_PRIOR_PI));
    p->logdet[c] = ld;
  }
  free(work);
  return p;
}

void fv_prior_free(fv_prior *p) {
  if (!p) return;
  free(p->L);
  free(p);
}

int fv_prior_components(const fv_prior *p) { return p ? p->k : 0; }

size_t fv_prior_scratch_floats(const fv_prior *p) { return (size_t)(p->k + 2) * DP + FV_PRIOR_MAX_K; }

/* log Σ_k exp(a_k), the max taken out. */
double fv_prior_logsumexp(const float *a, int k) {
  float mx = a[0];
  for (int c = 1; c < k; c++) mx = a[c] > mx ? a[c] : mx;
  double s = 0;
  for (int c = 0; c < k; c++) s += exp((double)(a[c] - mx));
  return mx + log(s);
}

double fv_prior_patch_nll(const fv_prior *p, const float *z, float *g, float *scratch) {
  float *y = scratch, *a = scratch + (size_t)p->k * DP;
  for (int c = 0; c < p->k; c++) a[c] = p->logc[c] - 0.5f * fv_prior_maha(p->L + (size_t)c * D * DP, z, y + (size_t)c * DP);
  const double lse = fv_prior_logsumexp(a, p->k);
  if (g) {
    memset(g, 0, DP * sizeof(float));
    for (int c = 0; c < p->k; c++) { /* d(−log p)/dz = Σ_k r_k Lᵀ L z */
      const float r = (float)exp(a[c] - lse);
      if (r > 1e-9f) fv_prior_maha_adj(p->L + (size_t)c * D * DP, y + (size_t)c * DP, r, g);
    }
  }
  return -lse;
}

double fv_prior_nll(const fv_prior *p, const float *rgb, int n, int h, int w, int stride, float *drgb, float scale,
                    float *scratch) {
  const int ny = fv_prior_positions(h, stride), nx = fv_prior_positions(w, stride);
  float *z = scratch + (size_t)p->k * DP + FV_PRIOR_MAX_K, *g = z + DP;
  double sum = 0;
  for (int i = 0; i < n; i++) {
    const float *im = rgb + (size_t)i * h * w * 3;
    for (int a = 0; a < ny; a++)
      for (int b = 0; b < nx; b++) {
        const int x = fv_prior_position(w, stride, b), y = fv_prior_position(h, stride, a);
        fv_prior_patch(&p->basis, im, w, x, y, z);
        sum += fv_prior_patch_nll(p, z, drgb ? g : NULL, scratch);
        if (drgb) fv_prior_patch_adjoint(&p->basis, g, scale, w, x, y, drgb + (size_t)i * h * w * 3);
      }
  }
  return sum;
}

/* ==== prior.bin ========================================================================= */

/* CRC-32, IEEE polynomial (reflected 0xEDB88320), as zlib's crc32(0, bytes, n). */
uint32_t fv_prior_crc32(const uint8_t *b, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= b[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

static uint32_t rd32(const uint8_t *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
static float rdf(const uint8_t *b) {
  uint32_t u = rd32(b);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static void wr32(uint8_t *b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
}
static void wrf(uint8_t *b, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  wr32(b, u);
}

size_t fv_prior_file_bytes(int k) { return FV_PRIOR_HEADER + 4 * (size_t)k + 4 * (size_t)k * FV_PRIOR_TRI + 4; }

uint8_t *fv_prior_write(const fv_prior_file_info *info, const float *weights, const float *cov, size_t *len, fv_error *err) {
  const int k = info->k;
  const size_t n = fv_prior_file_bytes(k);
  uint8_t *b = (uint8_t *)calloc(1, n);
  if (!b) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for prior.bin (%zu bytes)", n);
    return NULL;
  }
  memcpy(b, MAGIC, 8);
  const uint32_t head[] = {FV_PRIOR_VERSION, (uint32_t)k, S, 3, D, 0, (uint32_t)info->iterations, (uint32_t)info->patches,
                           (uint32_t)info->stride, (uint32_t)info->images};
  for (int i = 0; i < 10; i++) wr32(b + 8 + 4 * i, head[i]);
  wr32(b + 48, (uint32_t)info->seed), wr32(b + 52, (uint32_t)(info->seed >> 32));
  wrf(b + 56, info->loglik);
  uint8_t *q = b + FV_PRIOR_HEADER;
  for (int c = 0; c < k; c++, q += 4) wrf(q, weights[c]);
  for (size_t i = 0; i < (size_t)k * FV_PRIOR_TRI; i++, q += 4) wrf(q, cov[i]);
  wr32(q, fv_prior_crc32(b, n - 4));
  *len = n;
  return b;
}

fv_prior *fv_prior_load(const uint8_t *bytes, size_t n, fv_error *err) {
  fv_error local;
  if (!err) err = &local;
  fv_error_clear(err);
#define REFUSE(...) return fv_error_set(err, FV_ERR_BAD_ARG, __VA_ARGS__), (fv_prior *)NULL
  if (!bytes || n < FV_PRIOR_HEADER + 4) REFUSE("prior.bin: %zu bytes, shorter than its %d-byte header", n, FV_PRIOR_HEADER + 4);
  if (memcmp(bytes, MAGIC, 8)) REFUSE("prior.bin: not a featviz prior (no \"FVPRIOR\" magic)");
  const uint32_t version = rd32(bytes + 8), k = rd32(bytes + 12), side = rd32(bytes + 16), ch = rd32(bytes + 20),
                 dim = rd32(bytes + 24);
  if (version != FV_PRIOR_VERSION) REFUSE("prior.bin: version %u, this engine reads version %d", version, FV_PRIOR_VERSION);
  if (k < 1 || k > FV_PRIOR_MAX_K) REFUSE("prior.bin: %u components (1..%d)", k, FV_PRIOR_MAX_K);
  if (side != S || ch != 3 || dim != D)
    REFUSE("prior.bin: patches %ux%u, %u channels, %u coordinates; this engine has %dx%d, 3, %d", side, side, ch, dim, S, S, D);
  const size_t want = fv_prior_file_bytes((int)k);
  if (n != want) REFUSE("prior.bin: %zu bytes, a prior of %u components has %zu (truncated or padded)", n, k, want);
  const uint32_t crc = fv_prior_crc32(bytes, n - 4);
  if (crc != rd32(bytes + n - 4)) REFUSE("prior.bin: checksum %08x does not match the contents (%08x): the file is damaged", rd32(bytes + n - 4), crc);
  float *w = (float *)malloc(k * sizeof(float)), *cov = (float *)malloc((size_t)k * FV_PRIOR_TRI * sizeof(float));
  if (!w || !cov) {
    free(w), free(cov);
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a prior of %u components", k);
    return NULL;
  }
  const uint8_t *q = bytes + FV_PRIOR_HEADER;
  double sum = 0;
  int bad = -1;
  for (uint32_t c = 0; c < k; c++, q += 4) {
    w[c] = rdf(q);
    if (!(w[c] > 0) || !isfinite(w[c])) bad = bad < 0 ? (int)c : bad;
    sum += w[c];
  }
  fv_prior *p = NULL;
  if (bad >= 0) fv_error_set(err, FV_ERR_BAD_ARG, "prior.bin: weight %d is %g, not a positive number", bad, (double)w[bad]);
  else if (fabs(sum - 1) > 1e-3) fv_error_set(err, FV_ERR_BAD_ARG, "prior.bin: the weights sum to %g, not 1", sum);
  else {
    size_t i = 0;
    for (; i < (size_t)k * FV_PRIOR_TRI; i++, q += 4)
      if (!isfinite(cov[i] = rdf(q))) break;
    if (i < (size_t)k * FV_PRIOR_TRI)
      fv_error_set(err, FV_ERR_BAD_ARG, "prior.bin: component %zu's covariance has a value that is not finite", i / FV_PRIOR_TRI);
    else if ((p = fv_prior_from_params((int)k, w, cov, err))) {
      fv_prior_file_info *in = &p->info;
      in->k = (int)k, in->iterations = (int)rd32(bytes + 32), in->patches = (int)rd32(bytes + 36);
      in->stride = (int)rd32(bytes + 40), in->images = (int)rd32(bytes + 44);
      in->seed = rd32(bytes + 48) | (uint64_t)rd32(bytes + 52) << 32, in->loglik = rdf(bytes + 56);
    }
  }
  free(w), free(cov);
  return p;
#undef REFUSE
}

const fv_prior_basis *fv_prior_basis_of(const fv_prior *p) { return &p->basis; }

double fv_prior_image_score(const fv_prior *p, const fv_image *im, fv_error *err) {
  fv_error_clear(err);
  const int w = im ? fv_image_width(im) : 0, h = im ? fv_image_height(im) : 0;
  if (!p || w < S || h < S) {
    fv_error_set(err, FV_ERR_BAD_ARG, "prior score: needs a prior and an image of 8x8 or more (got %dx%d)", w, h);
    return NAN;
  }
  const uint8_t *px = fv_image_rgb(im);
  float *rgb = (float *)malloc(((size_t)w * h * 3 + fv_prior_scratch_floats(p)) * sizeof(float));
  if (!rgb) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for a %dx%d image", w, h);
    return NAN;
  }
  for (size_t i = 0; i < (size_t)w * h * 3; i++) rgb[i] = px[i] / 255.0f;
  const double nll = fv_prior_nll(p, rgb, 1, h, w, FV_PRIOR_STRIDE, NULL, 0, rgb + (size_t)w * h * 3);
  free(rgb);
  return nll / ((double)fv_prior_positions(h, FV_PRIOR_STRIDE) * fv_prior_positions(w, FV_PRIOR_STRIDE) * D);
}

double fv_prior_info(const fv_prior *p, int key) {
  if (!p) return NAN;
  const fv_prior_file_info *in = &p->info;
  switch (key) {
  case 0: return p->k;
  case 1: return in->iterations;
  case 2: return in->patches;
  case 3: return in->stride;
  case 4: return in->images;
  case 5: return (double)in->seed;
  case 6: return in->loglik;
  default: return NAN;
  }
}
