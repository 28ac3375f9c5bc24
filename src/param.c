/* param.c — pixel and Fourier image parameterizations, colour decorrelation,
 * sigmoid; each with its exact adjoint. See param.h for the maths. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kiss_fft.h"
#include "kiss_fftr.h"
#include "model.h"
#include "param.h"
#include "rng.h"

struct fv_param {
  fv_param_opts o;
  int wf;             /* W/2 + 1: spectrum columns */
  size_t count;       /* params */
  size_t numel;       /* N*H*W*3 */
  float *values;      /* params */
  float *grad;        /* dL/dparams */
  float *pre;         /* pre-sigmoid image [N,H,W,3] */
  float *rgb;         /* image [N,H,W,3] */
  float *tmp;         /* backward scratch [N,H,W,3] */
  /* FFT only */
  float *scale;       /* [H][wf]: the 1/f scale, the 1/sqrt(H*W) and the 1/4 folded together */
  float *plane;       /* [H][W] one channel */
  kiss_fft_cpx *spec; /* [H][wf] scaled spectrum / its gradient */
  kiss_fft_cpx *mid;  /* [H][wf] after the column transforms */
  kiss_fft_cpx *work1, *work2; /* [max(H, W)] */
  kiss_fft_cfg ifft_h, fft_h;      /* columns, length H */
  kiss_fftr_cfg irfft_w, rfft_w;   /* rows, W even */
  kiss_fft_cfg ifft_w, fft_w;      /* rows, W odd (full complex) */
};

/* ---- colour ------------------------------------------------------------------
 * Lucid's color_correlation_svd_sqrt, divided by max_norm_svd_sqrt, the largest
 * L2 norm of its columns (column 0: sqrt(.26^2 + .27^2 + .27^2)). Lucid applies
 * it as t_flat @ M^T, i.e. rgb_i = sum_j M[i][j] c_j. */
static const double kColorSqrt[3][3] = {
    {0.26, 0.09, 0.02}, {0.27, 0.00, -0.05}, {0.27, -0.09, 0.03}};

static void color_matrix(float m[9]) {
  double best = 0;
  for (int j = 0; j < 3; j++) {
    double s = 0;
    for (int i = 0; i < 3; i++) s += kColorSqrt[i][j] * kColorSqrt[i][j];
    if (sqrt(s) > best) best = sqrt(s);
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) m[3 * i + j] = (float)(kColorSqrt[i][j] / best);
}

void fv_color_decorrelate(const float *in, float *out, size_t npix) {
  float m[9];
  color_matrix(m);
  for (size_t p = 0; p < npix; p++) {
    const float a = in[3 * p], b = in[3 * p + 1], c = in[3 * p + 2];
    out[3 * p + 0] = m[0] * a + m[1] * b + m[2] * c;
    out[3 * p + 1] = m[3] * a + m[4] * b + m[5] * c;
    out[3 * p + 2] = m[6] * a + m[7] * b + m[8] * c;
  }
}

void fv_color_decorrelate_adjoint(const float *in, float *out, size_t npix) {
  float m[9];
  color_matrix(m);
  for (size_t p = 0; p < npix; p++) {
    const float a = in[3 * p], b = in[3 * p + 1], c = in[3 * p + 2];
    out[3 * p + 0] = m[0] * a + m[3] * b + m[6] * c;
    out[3 * p + 1] = m[1] * a + m[4] * b + m[7] * c;
    out[3 * p + 2] = m[2] * a + m[5] * b + m[8] * c;
  }
}

/* ---- set-up ------------------------------------------------------------------ */
void fv_param_opts_default(fv_param_opts *o) {
  memset(o, 0, sizeof *o);
  o->kind = FV_PARAM_FFT;
  o->n = 1;
  o->h = 128;
  o->w = 128;
  o->decorrelate = 1;
  o->decay_power = 1.0f;
  o->sd = 0.01f;
  o->seed = 0;
}

/* numpy.fft.fftfreq(n)[k]: k/n for k < (n+1)/2, else (k-n)/n. */
static double fftfreq(int k, int n) { return (k < (n + 1) / 2 ? k : k - n) / (double)n; }

static int fft_setup(fv_param *p, fv_error *err) {
  const int h = p->o.h, w = p->o.w, wf = p->wf;
  const int big = h > w ? h : w;
  p->scale = (float *)malloc((size_t)h * wf * sizeof(float));
  p->plane = (float *)malloc((size_t)h * w * sizeof(float));
  p->spec = (kiss_fft_cpx *)malloc((size_t)h * wf * sizeof(kiss_fft_cpx));
  p->mid = (kiss_fft_cpx *)malloc((size_t)h * wf * sizeof(kiss_fft_cpx));
  p->work1 = (kiss_fft_cpx *)malloc((size_t)big * sizeof(kiss_fft_cpx));
  p->work2 = (kiss_fft_cpx *)malloc((size_t)big * sizeof(kiss_fft_cpx));
  p->ifft_h = kiss_fft_alloc(h, 1, NULL, NULL);
  p->fft_h = kiss_fft_alloc(h, 0, NULL, NULL);
  int ok = p->scale && p->plane && p->spec && p->mid && p->work1 && p->work2 && p->ifft_h && p->fft_h;
  if (w % 2 == 0) {
    p->irfft_w = kiss_fftr_alloc(w, 1, NULL, NULL);
    p->rfft_w = kiss_fftr_alloc(w, 0, NULL, NULL);
    ok = ok && p->irfft_w && p->rfft_w;
  } else {
    p->ifft_w = kiss_fft_alloc(w, 1, NULL, NULL);
    p->fft_w = kiss_fft_alloc(w, 0, NULL, NULL);
    ok = ok && p->ifft_w && p->fft_w;
  }
  if (!ok) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "param: cannot allocate FFT buffers for %dx%d", h, w);
    return 0;
  }
  /* Lucid's fft_image: scale = 1/max(freqs, 1/max(w,h))**decay_power * sqrt(w*h),
   * then tf irfft2d (which divides by h*w), then / 4. Folded: 1/(f^d sqrt(hw) 4). */
  const double fmin = 1.0 / big, norm = 1.0 / (4.0 * sqrt((double)h * (double)w));
  for (int ky = 0; ky < h; ky++) {
    const double fy = fftfreq(ky, h);
    for (int kx = 0; kx < wf; kx++) {
      const double fx = (double)kx / w;
      double f = sqrt(fx * fx + fy * fy);
      if (f < fmin) f = fmin;
      p->scale[(size_t)ky * wf + kx] = (float)(norm / pow(f, (double)p->o.decay_power));
    }
  }
  return 1;
}

fv_param *fv_param_new(const fv_param_opts *o, fv_error *err) {
  if (!o) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: no options");
    return NULL;
  }
  if (o->kind != FV_PARAM_PIXEL && o->kind != FV_PARAM_FFT) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: unknown kind %d (0 pixel, 1 fft)", o->kind);
    return NULL;
  }
  if (o->n < 1 || o->n > FV_PARAM_MAX_BATCH || o->h < 1 || o->h > FV_PARAM_MAX_SIDE || o->w < 1 ||
      o->w > FV_PARAM_MAX_SIDE) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: batch %d of %dx%d images is out of range", o->n, o->h,
                 o->w);
    return NULL;
  }
  const size_t numel = (size_t)o->n * o->h * o->w * 3;
  if (numel > FV_PARAM_MAX_FLOATS) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "param: batch %d of %dx%d images is too large", o->n, o->h,
                 o->w);
    return NULL;
  }
  if (!isfinite(o->decay_power) || !isfinite(o->sd) || o->sd < 0) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: decay_power %g / sd %g must be finite (sd >= 0)",
                 (double)o->decay_power, (double)o->sd);
    return NULL;
  }
  fv_param *p = (fv_param *)calloc(1, sizeof *p);
  if (!p) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "param: out of memory");
    return NULL;
  }
  p->o = *o;
  p->wf = o->w / 2 + 1;
  p->numel = numel;
  p->count = o->kind == FV_PARAM_PIXEL ? numel : (size_t)o->n * 3 * o->h * p->wf * 2;
  p->values = (float *)malloc(p->count * sizeof(float));
  p->grad = (float *)malloc(p->count * sizeof(float));
  p->pre = (float *)malloc(numel * sizeof(float));
  p->rgb = (float *)calloc(numel, sizeof(float));
  p->tmp = (float *)malloc(numel * sizeof(float));
  if (!p->values || !p->grad || !p->pre || !p->rgb || !p->tmp) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "param: cannot allocate %zu params", p->count);
    fv_param_free(p);
    return NULL;
  }
  if (o->kind == FV_PARAM_FFT && !fft_setup(p, err)) {
    fv_param_free(p);
    return NULL;
  }
  fv_param_reset(p, o->seed);
  return p;
}

void fv_param_free(fv_param *p) {
  if (!p) return;
  free(p->values);
  free(p->grad);
  free(p->pre);
  free(p->rgb);
  free(p->tmp);
  free(p->scale);
  free(p->plane);
  free(p->spec);
  free(p->mid);
  free(p->work1);
  free(p->work2);
  kiss_fft_free(p->ifft_h);
  kiss_fft_free(p->fft_h);
  kiss_fftr_free(p->irfft_w);
  kiss_fftr_free(p->rfft_w);
  kiss_fft_free(p->ifft_w);
  kiss_fft_free(p->fft_w);
  free(p);
}

void fv_param_reset(fv_param *p, uint64_t seed) {
  fv_rng r;
  fv_rng_seed(&r, seed);
  const double sd = p->o.sd;
  for (size_t i = 0; i < p->count; i++) p->values[i] = (float)(sd * fv_rng_normal(&r));
}

float *fv_param_values(fv_param *p) { return p->values; }
size_t fv_param_count(const fv_param *p) { return p->count; }
const float *fv_param_image(const fv_param *p) { return p->rgb; }

int fv_param_dim(const fv_param *p, int d) {
  switch (d) {
    case 0: return p->o.n;
    case 1: return p->o.h;
    case 2: return p->o.w;
    case 3: return 3;
    default: return 0;
  }
}

/* ---- Fourier: one channel plane ------------------------------------------------
 * Forward: spec = params * scale; columns: complex inverse DFT (length H) of each
 * kx column; rows: real inverse DFT (length W) of each row's wf bins. kissfft is
 * unnormalized; the normalization is folded into scale. */
static void fft_plane(fv_param *p, const float *params, float *plane) {
  const int h = p->o.h, w = p->o.w, wf = p->wf;
  const size_t nb = (size_t)h * wf;
  for (size_t i = 0; i < nb; i++) {
    p->spec[i].r = params[2 * i] * p->scale[i];
    p->spec[i].i = params[2 * i + 1] * p->scale[i];
  }
  for (int kx = 0; kx < wf; kx++) {
    kiss_fft_stride(p->ifft_h, p->spec + kx, p->work1, wf); /* in != out: no kissfft scratch */
    for (int y = 0; y < h; y++) p->mid[(size_t)y * wf + kx] = p->work1[y];
  }
  for (int y = 0; y < h; y++) {
    const kiss_fft_cpx *row = p->mid + (size_t)y * wf;
    float *out = plane + (size_t)y * w;
    if (w % 2 == 0) {
      kiss_fftri(p->irfft_w, row, out); /* ignores Im of bins 0 and W/2, as numpy does */
    } else {
      /* Hermitian extension to the full spectrum, then a complex inverse DFT. */
      p->work1[0].r = row[0].r;
      p->work1[0].i = 0;
      for (int k = 1; k < wf; k++) {
        p->work1[k] = row[k];
        p->work1[w - k].r = row[k].r;
        p->work1[w - k].i = -row[k].i;
      }
      kiss_fft(p->ifft_w, p->work1, p->work2);
      for (int x = 0; x < w; x++) out[x] = p->work2[x].r;
    }
  }
}

/* Adjoint of fft_plane (for the real inner product on params and plane).
 * Row stage: x[n] = sum_k c_k Re(B_k e^{+2 pi i k n / W}) with c_k = 1 at k = 0
 * and at k = W/2 (W even), else 2; Im B_0 (and Im B_{W/2}) unused. So dRe B_k =
 * c_k sum_n dx[n] cos(..) and dIm B_k = -c_k sum_n dx[n] sin(..): c_k times the
 * forward real DFT of dx, with the unused imaginary parts zero. Column stage: the
 * adjoint of the unnormalized inverse complex DFT is the forward one. */
static void fft_plane_adjoint(fv_param *p, const float *dplane, float *dparams) {
  const int h = p->o.h, w = p->o.w, wf = p->wf;
  for (int y = 0; y < h; y++) {
    kiss_fft_cpx *row = p->mid + (size_t)y * wf;
    const float *in = dplane + (size_t)y * w;
    if (w % 2 == 0) {
      kiss_fftr(p->rfft_w, in, row);
    } else {
      for (int x = 0; x < w; x++) {
        p->work1[x].r = in[x];
        p->work1[x].i = 0;
      }
      kiss_fft(p->fft_w, p->work1, p->work2);
      for (int k = 0; k < wf; k++) row[k] = p->work2[k];
    }
    for (int k = 1; k < wf; k++) {
      if (w % 2 == 0 && k == w / 2) continue;
      row[k].r *= 2.0f;
      row[k].i *= 2.0f;
    }
    row[0].i = 0;
    if (w % 2 == 0) row[w / 2].i = 0;
  }
  for (int kx = 0; kx < wf; kx++) {
    kiss_fft_stride(p->fft_h, p->mid + kx, p->work1, wf);
    for (int ky = 0; ky < h; ky++) p->spec[(size_t)ky * wf + kx] = p->work1[ky];
  }
  const size_t nb = (size_t)h * wf;
  for (size_t i = 0; i < nb; i++) {
    dparams[2 * i] = p->spec[i].r * p->scale[i];
    dparams[2 * i + 1] = p->spec[i].i * p->scale[i];
  }
}

/* ---- the linear spatial stage ------------------------------------------------- */
void fv_param_spatial(fv_param *p, const float *params, float *out) {
  if (p->o.kind == FV_PARAM_PIXEL) {
    if (out != params) memcpy(out, params, p->numel * sizeof(float));
    return;
  }
  const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
  for (int b = 0; b < p->o.n; b++) {
    float *img = out + (size_t)b * hw * 3;
    for (int c = 0; c < 3; c++) {
      fft_plane(p, params + ((size_t)b * 3 + c) * nbf, p->plane);
      for (size_t i = 0; i < hw; i++) img[3 * i + c] = p->plane[i];
    }
  }
}

void fv_param_spatial_adjoint(fv_param *p, const float *dout, float *dparams) {
  if (p->o.kind == FV_PARAM_PIXEL) {
    if (dparams != dout) memcpy(dparams, dout, p->numel * sizeof(float));
    return;
  }
  const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
  for (int b = 0; b < p->o.n; b++) {
    const float *img = dout + (size_t)b * hw * 3;
    for (int c = 0; c < 3; c++) {
      for (size_t i = 0; i < hw; i++) p->plane[i] = img[3 * i + c];
      fft_plane_adjoint(p, p->plane, dparams + ((size_t)b * 3 + c) * nbf);
    }
  }
}

/* ---- render and backward ----------------------------------------------------------
 * The sigmoid's exp is Cephes' expf (range reduction by ln 2 in two parts, a degree-6
 * polynomial, 2^k built in the exponent bits), within about 2 ulp of libm's. It has no
 * branches and no calls, so the compiler vectorizes the loop; libm's expf, one call per
 * value, cost more than the rest of the colour stage. Plain float arithmetic in a fixed
 * order: the same bits natively and in wasm. */
static inline float sigmoidf(float v) {
  float x = -v;
  x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x; /* 2^k stays a normal float */
  const float k = floorf(x * 1.44269504088896341f + 0.5f);
  const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
  float q = 1.9875691500e-4f;
  q = q * r + 1.3981999507e-3f;
  q = q * r + 8.3334519073e-3f;
  q = q * r + 4.1665795894e-2f;
  q = q * r + 1.6666665459e-1f;
  q = q * r + 5.0000001201e-1f;
  q = (q * r) * r + r + 1.0f;
  const uint32_t bits = (uint32_t)((int32_t)k + 127) << 23;
  float two_k;
  memcpy(&two_k, &bits, sizeof two_k);
  return 1.0f / (1.0f + q * two_k);
}

const float *fv_param_render(fv_param *p) {
  const float *lin = p->values; /* PIXEL without decorrelation: the params themselves */
  if (p->o.kind == FV_PARAM_FFT) {
    fv_param_spatial(p, p->values, p->pre);
    lin = p->pre;
  }
  if (p->o.decorrelate) {
    fv_color_decorrelate(lin, p->pre, p->numel / 3);
    lin = p->pre;
  }
  float *restrict rgb = p->rgb;
  for (size_t i = 0; i < p->numel; i++) rgb[i] = sigmoidf(lin[i]);
  return p->rgb;
}

const float *fv_param_backward(fv_param *p, const float *drgb) {
  /* sigmoid' = y (1 - y), from the saved image */
  float *d = p->o.kind == FV_PARAM_PIXEL ? p->grad : p->tmp;
  for (size_t i = 0; i < p->numel; i++) d[i] = drgb[i] * p->rgb[i] * (1.0f - p->rgb[i]);
  if (p->o.decorrelate) fv_color_decorrelate_adjoint(d, d, p->numel / 3);
  if (p->o.kind == FV_PARAM_FFT) fv_param_spatial_adjoint(p, d, p->grad);
  return p->grad;
}
