/* param.c — pixel and Fourier image parameterizations, colour decorrelation,
 * sigmoid; each with its exact adjoint. See param.h for the maths.
 *
 * The Fourier image's hot parts have a plain scalar reference (`__scalar`)
 * and, in wasm SIMD builds, a twin (`__wasmsimd`) picked like the kernels'
 * (fv_kernels_set_simd); tests/c/param_test.c holds each twin to its
 * reference. The twins do the same float operations in the same order per
 * value, so they give the same bits:
 *  - fft_planes / fft_planes_adjoint: the 2-D transforms of an image's
 *    channels, with kissfft's own SIMD build (kissfft4.h) running 4 columns
 *    or 4 rows per call, 4×4 transposes between the passes (W even; odd W
 *    stays scalar); the groups of columns, then the blocks of rows, are
 *    split over the engine's threads;
 *  - colour_out / colour_in: decorrelation and sigmoid fused with the
 *    planar↔interleaved conversion, 4 pixels at a time. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cppn.h"
#include "kernels/kernels.h"
#include "kiss_fft.h"
#include "lowres.h"
#include "kiss_fftr.h"
#include "kissfft4.h"
#include "model.h"
#include "param.h"
#include "rng.h"
#include "threads.h"

#ifdef __wasm_simd128__
/* One thread's scratch for the 4-lane transforms. kissfft's real-transform
 * plans hold scratch of their own (kiss_fftr's tmpbuf), so they are per
 * thread too; the complex plans are only read (their input and output differ). */
typedef struct {
  void *irfft_w4, *rfft_w4;
  kiss4_cpx *col4; /* [H]: one group's column input / output */
  kiss4_cpx *row4; /* [4*groups]: one row block's bins, lane j = row 4b+j */
  v128_t *line4;   /* [W]: one row block's samples, lane j = row 4b+j */
} fft4_scratch;
#endif

struct fv_param {
  fv_param_opts o;
  int wf;             /* W/2 + 1: spectrum columns */
  size_t count;       /* params */
  size_t numel;       /* N*H*W*3 */
  float *values;      /* params */
  float *grad;        /* dL/dparams */
  float *pre;         /* PIXEL: pre-sigmoid image [N,H,W,3] */
  float *rgb;         /* image [N,H,W,3] */
  size_t count_rgb;   /* params of the colour channels; alpha's follow (alpha on) */
  float *alpha;       /* alpha on: [N,H,W] in (0, 1), else NULL */
  size_t count_alpha; /* alpha params, after the colour params */
  int n_levels;       /* low-resolution tensors added before the colour stage (lowres.h) */
  fv_lowres levels[FV_PARAM_MAX_LEVELS];
  size_t level_at[FV_PARAM_MAX_LEVELS]; /* where each level's params start (after colour and alpha) */
  float *low;         /* levels on: [N,H,W,3] their sum; in backward dL/d(pre-colour image) */
  fv_cppn *cppn;      /* CPPN: the networks (values are theirs) */
  float *logits;      /* CPPN: [N][H·W][3 or 4], the logits, then their gradients */
  float m[9];         /* the colour matrix (colour_matrix) */
  /* FFT only */
  float *scale;       /* [H][wf]: the 1/f scale, the 1/sqrt(H*W) and the 1/4 folded together */
  float *planes;      /* [3][H][W] one image's channels, pre-colour (or their gradients) */
  kiss_fft_cpx *spec; /* [H][wf] scaled spectrum / its gradient */
  kiss_fft_cpx *mid;  /* [H][wf] after the column transforms */
  kiss_fft_cpx *work1, *work2; /* [max(H, W)] */
  kiss_fft_cfg ifft_h, fft_h;      /* columns, length H */
  kiss_fftr_cfg irfft_w, rfft_w;   /* rows, W even */
  kiss_fft_cfg ifft_w, fft_w;      /* rows, W odd (full complex) */
#ifdef __wasm_simd128__
  /* the 4-lane path (W even): groups of 4 spectrum columns, blocks of 4 rows */
  void *ifft_h4, *fft_h4;
  int groups, hpad;   /* ceil(wf/4); H rounded up to a multiple of 4 */
  kiss4_cpx *cols4;   /* [3][groups][hpad]: an image's column spectra, lane l = column 4g+l; rows >= H stay 0 */
  fft4_scratch *th;   /* [n_th]: per thread (src/threads.h) */
  int n_th;
#endif
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

#ifdef __wasm_simd128__
/* Zeroed, 16-byte aligned (vectors); freed with free. */
static void *vec_calloc(size_t bytes) {
  bytes = (bytes + 15) & ~(size_t)15;
  void *v = aligned_alloc(16, bytes ? bytes : 16);
  if (v) memset(v, 0, bytes);
  return v;
}
#endif

/* numpy.fft.fftfreq(n)[k]: k/n for k < (n+1)/2, else (k-n)/n. */
static double fftfreq(int k, int n) { return (k < (n + 1) / 2 ? k : k - n) / (double)n; }

static int fft_setup(fv_param *p, fv_error *err) {
  const int h = p->o.h, w = p->o.w, wf = p->wf;
  const int big = h > w ? h : w;
  p->scale = (float *)malloc((size_t)h * wf * sizeof(float));
  p->planes = (float *)malloc((size_t)3 * h * w * sizeof(float));
  p->spec = (kiss_fft_cpx *)malloc((size_t)h * wf * sizeof(kiss_fft_cpx));
  p->mid = (kiss_fft_cpx *)malloc((size_t)h * wf * sizeof(kiss_fft_cpx));
  p->work1 = (kiss_fft_cpx *)malloc((size_t)big * sizeof(kiss_fft_cpx));
  p->work2 = (kiss_fft_cpx *)malloc((size_t)big * sizeof(kiss_fft_cpx));
  p->ifft_h = kiss_fft_alloc(h, 1, NULL, NULL);
  p->fft_h = kiss_fft_alloc(h, 0, NULL, NULL);
  int ok = p->scale && p->planes && p->spec && p->mid && p->work1 && p->work2 && p->ifft_h && p->fft_h;
  if (w % 2 == 0) {
    p->irfft_w = kiss_fftr_alloc(w, 1, NULL, NULL);
    p->rfft_w = kiss_fftr_alloc(w, 0, NULL, NULL);
    ok = ok && p->irfft_w && p->rfft_w;
  } else {
    p->ifft_w = kiss_fft_alloc(w, 1, NULL, NULL);
    p->fft_w = kiss_fft_alloc(w, 0, NULL, NULL);
    ok = ok && p->ifft_w && p->fft_w;
  }
#ifdef __wasm_simd128__
  if (w % 2 == 0) {
    p->groups = (wf + 3) / 4;
    p->hpad = (h + 3) & ~3;
    p->ifft_h4 = kiss4_fft_alloc(h, 1, NULL, NULL);
    p->fft_h4 = kiss4_fft_alloc(h, 0, NULL, NULL);
    p->cols4 = (kiss4_cpx *)vec_calloc((size_t)3 * p->groups * p->hpad * sizeof(kiss4_cpx));
    p->n_th = fv_threads_count();
    p->th = (fft4_scratch *)calloc((size_t)p->n_th, sizeof *p->th);
    ok = ok && p->ifft_h4 && p->fft_h4 && p->cols4 && p->th;
    for (int t = 0; ok && t < p->n_th; t++) {
      fft4_scratch *s = &p->th[t];
      s->irfft_w4 = kiss4_fftr_alloc(w, 1, NULL, NULL);
      s->rfft_w4 = kiss4_fftr_alloc(w, 0, NULL, NULL);
      s->col4 = (kiss4_cpx *)vec_calloc((size_t)h * sizeof(kiss4_cpx));
      s->row4 = (kiss4_cpx *)vec_calloc((size_t)4 * p->groups * sizeof(kiss4_cpx));
      s->line4 = (v128_t *)vec_calloc((size_t)w * sizeof(v128_t));
      ok = s->irfft_w4 && s->rfft_w4 && s->col4 && s->row4 && s->line4;
    }
  }
#endif
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

/* The low-resolution tensors: a Laplacian pyramid's levels (sides 1, 1/2, 1/4, 1/8:
 * Lucid's laplacian_pyramid, n_levels 4), then the ones aligned interpolation shares
 * across the batch (Lucid's interpolation notebook: fewer frames than the batch). */
static void add_level(fv_param *p, int frames, int k) {
  fv_lowres *t = &p->levels[p->n_levels];
  t->dn = p->o.n, t->dh = p->o.h, t->dw = p->o.w, t->c = 3;
  t->sn = frames < p->o.n ? frames : p->o.n;
  t->sh = p->o.h / k > 0 ? p->o.h / k : 1;
  t->sw = p->o.w / k > 0 ? p->o.w / k : 1;
  p->level_at[p->n_levels++] = p->count;
  p->count += fv_lowres_count(t);
}

static void plan_levels(fv_param *p) {
  const int n = p->o.n;
  if (p->o.kind == FV_PARAM_LAPLACIAN)
    for (int k = 1; k <= 8; k *= 2) add_level(p, n, k);
  if (p->o.shared) {
    static const int shared[][2] = {{1, 2}, {1, 4}, {1, 8}, {2, 8}, {1, 16}, {2, 16}}; /* frames, 1/side */
    for (int i = 0; i < 6; i++) add_level(p, shared[i][0], shared[i][1]);
  }
}

/* low = the sum of the levels [N,H,W,3] */
static void levels_sum(fv_param *p) {
  if (!p->n_levels) return;
  memset(p->low, 0, p->numel * sizeof(float));
  for (int l = 0; l < p->n_levels; l++) fv_lowres_up(&p->levels[l], p->values + p->level_at[l], p->low);
}

/* dlow = dL/d(pre-colour image) → each level's gradient */
static void levels_adjoint(fv_param *p, const float *dlow) {
  for (int l = 0; l < p->n_levels; l++) fv_lowres_up_adjoint(&p->levels[l], dlow, p->grad + p->level_at[l]);
}

/* CPPN: the networks hold the params; the image is the sigmoid of their logits */
static fv_param *cppn_setup(fv_param *p, fv_error *err) {
  const int ch = p->o.alpha ? 4 : 3;
  p->cppn = fv_cppn_new(p->o.n, ch, p->o.seed, err);
  if (!p->cppn) {
    fv_param_free(p);
    return NULL;
  }
  p->values = fv_cppn_values(p->cppn);
  p->count = p->count_rgb = fv_cppn_count(p->cppn);
  p->grad = (float *)malloc(p->count * sizeof(float));
  p->rgb = (float *)calloc(p->numel, sizeof(float));
  p->alpha = p->o.alpha ? (float *)calloc(p->numel / 3, sizeof(float)) : NULL;
  p->logits = (float *)malloc(p->numel / 3 * ch * sizeof(float));
  if (!p->grad || !p->rgb || (p->o.alpha && !p->alpha) || !p->logits) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "param: cannot allocate a CPPN image of %d x %dx%d", p->o.n, p->o.h, p->o.w);
    fv_param_free(p);
    return NULL;
  }
  return p;
}

fv_param *fv_param_new(const fv_param_opts *o, fv_error *err) {
  if (!o) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: no options");
    return NULL;
  }
  if (o->kind != FV_PARAM_PIXEL && o->kind != FV_PARAM_FFT && o->kind != FV_PARAM_CPPN && o->kind != FV_PARAM_LAPLACIAN) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: unknown kind %d (0 pixel, 1 fft, 2 cppn, 3 laplacian)", o->kind);
    return NULL;
  }
  if (o->shared && o->kind == FV_PARAM_CPPN) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: shared low-resolution params need an fft, pixel or laplacian image, not a CPPN");
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
  color_matrix(p->m);
  p->wf = o->w / 2 + 1;
  p->numel = numel;
  if (o->kind == FV_PARAM_CPPN) return cppn_setup(p, err);
  /* alpha's plane per image after all colour params, so the colour init is the same bits with alpha on */
  const size_t plane = o->kind == FV_PARAM_FFT ? (size_t)o->h * p->wf * 2 : (size_t)o->h * o->w;
  p->count_rgb = o->kind == FV_PARAM_LAPLACIAN ? 0 : plane * 3 * o->n; /* a pyramid is its levels alone */
  p->count_alpha = o->alpha ? plane * o->n : 0;
  p->count = p->count_rgb + p->count_alpha;
  plan_levels(p);
  p->values = (float *)malloc(p->count * sizeof(float));
  p->grad = (float *)malloc(p->count * sizeof(float));
  const int pre = o->kind != FV_PARAM_FFT;
  p->pre = pre ? (float *)malloc(numel * sizeof(float)) : NULL;
  p->low = p->n_levels ? (float *)malloc(numel * sizeof(float)) : NULL;
  p->rgb = (float *)calloc(numel, sizeof(float));
  p->alpha = o->alpha ? (float *)calloc(numel / 3, sizeof(float)) : NULL;
  if (!p->values || !p->grad || (pre && !p->pre) || (p->n_levels && !p->low) || !p->rgb ||
      (o->alpha && !p->alpha)) {
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
  if (p->cppn) fv_cppn_free(p->cppn); /* it owns values */
  else free(p->values);
  free(p->logits);
  free(p->low);
  free(p->grad);
  free(p->pre);
  free(p->rgb);
  free(p->alpha);
  free(p->scale);
  free(p->planes);
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
#ifdef __wasm_simd128__
  if (p->ifft_h4) kiss4_fft_free(p->ifft_h4);
  if (p->fft_h4) kiss4_fft_free(p->fft_h4);
  free(p->cols4);
  for (int t = 0; p->th && t < p->n_th; t++) {
    if (p->th[t].irfft_w4) kiss4_fftr_free(p->th[t].irfft_w4);
    if (p->th[t].rfft_w4) kiss4_fftr_free(p->th[t].rfft_w4);
    free(p->th[t].col4);
    free(p->th[t].row4);
    free(p->th[t].line4);
  }
  free(p->th);
#endif
  free(p);
}

void fv_param_reset(fv_param *p, uint64_t seed) {
  if (p->cppn) {
    fv_cppn_reset(p->cppn, seed);
    return;
  }
  fv_rng r;
  fv_rng_seed(&r, seed);
  const double sd = p->o.sd;
  for (size_t i = 0; i < p->count; i++) p->values[i] = (float)(sd * fv_rng_normal(&r));
}

float *fv_param_values(fv_param *p) { return p->values; }
size_t fv_param_count(const fv_param *p) { return p->count; }
const float *fv_param_image(const fv_param *p) { return p->rgb; }
const float *fv_param_alpha(const fv_param *p) { return p->alpha; }

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
static void fft_plane__scalar(fv_param *p, const float *params, float *plane) {
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
static void fft_plane_adjoint__scalar(fv_param *p, const float *dplane, float *dparams) {
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

/* ---- the 4-lane Fourier planes (wasm SIMD) -------------------------------------------
 * The same transforms as the scalar ones, 4 at a time: the column pass takes 4
 * spectrum columns per call (lane l = column 4g+l; lanes past wf carry zeros), the
 * row pass 4 rows (lane j = row 4b+j; rows past H carry zeros). Between the passes
 * and at the ends, 4×4 transposes move the lanes. */
#ifdef __wasm_simd128__
#define SHUF wasm_i32x4_shuffle

/* (a, b, c, d) as the rows of a 4×4 matrix → its columns */
static inline void tr4(v128_t *a, v128_t *b, v128_t *c, v128_t *d) {
  const v128_t t0 = SHUF(*a, *b, 0, 4, 1, 5), t1 = SHUF(*a, *b, 2, 6, 3, 7);
  const v128_t t2 = SHUF(*c, *d, 0, 4, 1, 5), t3 = SHUF(*c, *d, 2, 6, 3, 7);
  *a = SHUF(t0, t2, 0, 1, 4, 5);
  *b = SHUF(t0, t2, 2, 3, 6, 7);
  *c = SHUF(t1, t3, 0, 1, 4, 5);
  *d = SHUF(t1, t3, 2, 3, 6, 7);
}

/* 4 complex vectors c[0..3] as the rows of a 4×4 matrix → its columns in o[0..3]
 * (a row block's column bins ↔ its row lanes) */
static inline void tr4_cpx(const kiss4_cpx *c, kiss4_cpx *o) {
  v128_t r0 = c[0].r, r1 = c[1].r, r2 = c[2].r, r3 = c[3].r;
  v128_t i0 = c[0].i, i1 = c[1].i, i2 = c[2].i, i3 = c[3].i;
  tr4(&r0, &r1, &r2, &r3);
  tr4(&i0, &i1, &i2, &i3);
  o[0].r = r0, o[1].r = r1, o[2].r = r2, o[3].r = r3;
  o[0].i = i0, o[1].i = i1, o[2].i = i2, o[3].i = i3;
}

/* lanes j < n of v into out[j * stride] */
static inline void scatter_lanes(v128_t v, int n, float *out, size_t stride) {
  float t[4];
  wasm_v128_store(t, v);
  for (int j = 0; j < n; j++) out[(size_t)j * stride] = t[j];
}

/* Columns, group g of one plane: gather 4 bins of each row (times the scale),
 * inverse transform down the column into cols (the plane's [groups][hpad]). */
static void fft_cols4(const fv_param *p, const fft4_scratch *s, const float *params, int g, kiss4_cpx *cols) {
  const int h = p->o.h, wf = p->wf, hp = p->hpad;
  const int k0 = 4 * g, nk = wf - k0 < 4 ? wf - k0 : 4;
  for (int ky = 0; ky < h; ky++) {
    const size_t b = (size_t)ky * wf + k0;
    v128_t re, im;
    if (nk == 4) {
      const v128_t u = wasm_v128_load(params + 2 * b), v = wasm_v128_load(params + 2 * b + 4);
      const v128_t sc = wasm_v128_load(p->scale + b);
      re = wasm_f32x4_mul(SHUF(u, v, 0, 2, 4, 6), sc);
      im = wasm_f32x4_mul(SHUF(u, v, 1, 3, 5, 7), sc);
    } else {
      float r[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0};
      for (int l = 0; l < nk; l++) {
        r[l] = params[2 * (b + l)] * p->scale[b + l];
        q[l] = params[2 * (b + l) + 1] * p->scale[b + l];
      }
      re = wasm_v128_load(r);
      im = wasm_v128_load(q);
    }
    s->col4[ky].r = re;
    s->col4[ky].i = im;
  }
  kiss4_fft(p->ifft_h4, s->col4, cols + (size_t)g * hp);
}

/* Rows y0..y0+3 of one plane: transpose the block's bins to row lanes, real
 * inverse transform, transpose back. */
static void fft_rows4(const fv_param *p, const fft4_scratch *s, const kiss4_cpx *cols, int y0, float *plane) {
  const int h = p->o.h, w = p->o.w, hp = p->hpad;
  const int ny = h - y0 < 4 ? h - y0 : 4;
  for (int g = 0; g < p->groups; g++) tr4_cpx(cols + (size_t)g * hp + y0, s->row4 + 4 * g);
  kiss4_fftri(s->irfft_w4, s->row4, s->line4); /* ignores Im of bins 0 and W/2, as numpy does */
  float *out = plane + (size_t)y0 * w;
  int x = 0;
  for (; x + 4 <= w; x += 4) {
    v128_t a = s->line4[x], b = s->line4[x + 1], c = s->line4[x + 2], d = s->line4[x + 3];
    tr4(&a, &b, &c, &d); /* now row y0+j, columns x..x+3 */
    if (ny == 4) {
      wasm_v128_store(out + x, a);
      wasm_v128_store(out + w + x, b);
      wasm_v128_store(out + 2 * (size_t)w + x, c);
      wasm_v128_store(out + 3 * (size_t)w + x, d);
    } else {
      const v128_t rows[4] = {a, b, c, d};
      for (int j = 0; j < ny; j++) wasm_v128_store(out + (size_t)j * w + x, rows[j]);
    }
  }
  for (; x < w; x++) scatter_lanes(s->line4[x], ny, out + x, (size_t)w);
}

/* Adjoint rows y0..y0+3 of one plane: real forward transform, the c_k factors,
 * transpose to column lanes into cols. */
static void fft_rows4_adjoint(const fv_param *p, const fft4_scratch *s, const float *dplane, int y0, kiss4_cpx *cols) {
  const int h = p->o.h, w = p->o.w, wf = p->wf, hp = p->hpad;
  const v128_t two = wasm_f32x4_splat(2.0f), zero = wasm_f32x4_splat(0.0f);
  const int ny = h - y0 < 4 ? h - y0 : 4;
  const float *in = dplane + (size_t)y0 * w;
  int x = 0;
  for (; x + 4 <= w; x += 4) {
    v128_t a = zero, b = zero, c = zero, d = zero;
    a = wasm_v128_load(in + x);
    if (ny > 1) b = wasm_v128_load(in + w + x);
    if (ny > 2) c = wasm_v128_load(in + 2 * (size_t)w + x);
    if (ny > 3) d = wasm_v128_load(in + 3 * (size_t)w + x);
    tr4(&a, &b, &c, &d); /* now column x+l, rows y0..y0+3 */
    s->line4[x] = a, s->line4[x + 1] = b, s->line4[x + 2] = c, s->line4[x + 3] = d;
  }
  for (; x < w; x++) {
    float t[4] = {0, 0, 0, 0};
    for (int j = 0; j < ny; j++) t[j] = in[(size_t)j * w + x];
    s->line4[x] = wasm_v128_load(t);
  }
  kiss4_fftr(s->rfft_w4, s->line4, s->row4);
  kiss4_cpx *row = s->row4;
  for (int k = 1; k < wf - 1; k++) { /* k = W/2 = wf-1 keeps c = 1 */
    row[k].r = wasm_f32x4_mul(row[k].r, two);
    row[k].i = wasm_f32x4_mul(row[k].i, two);
  }
  row[0].i = zero;
  row[wf - 1].i = zero;
  for (int g = 0; g < p->groups; g++) tr4_cpx(s->row4 + 4 * g, cols + (size_t)g * hp + y0);
}

/* Adjoint columns, group g: forward transform (the adjoint of the unnormalized
 * inverse), scale, interleave into dparams. */
static void fft_cols4_adjoint(const fv_param *p, const fft4_scratch *s, const kiss4_cpx *cols, int g, float *dparams) {
  const int h = p->o.h, wf = p->wf, hp = p->hpad;
  const int k0 = 4 * g, nk = wf - k0 < 4 ? wf - k0 : 4;
  kiss4_fft(p->fft_h4, cols + (size_t)g * hp, s->col4);
  for (int ky = 0; ky < h; ky++) {
    const size_t b = (size_t)ky * wf + k0;
    if (nk == 4) {
      const v128_t sc = wasm_v128_load(p->scale + b);
      const v128_t re = wasm_f32x4_mul(s->col4[ky].r, sc), im = wasm_f32x4_mul(s->col4[ky].i, sc);
      wasm_v128_store(dparams + 2 * b, SHUF(re, im, 0, 4, 1, 5));
      wasm_v128_store(dparams + 2 * b + 4, SHUF(re, im, 2, 6, 3, 7));
    } else {
      float r[4], q[4];
      wasm_v128_store(r, s->col4[ky].r);
      wasm_v128_store(q, s->col4[ky].i);
      for (int l = 0; l < nk; l++) {
        dparams[2 * (b + l)] = r[l] * p->scale[b + l];
        dparams[2 * (b + l) + 1] = q[l] * p->scale[b + l];
      }
    }
  }
}

/* Up to 3 planes of an image on the threads: every column group of every
 * plane, then every row block (the column spectra of all planes are in
 * cols4 in between); the adjoint runs the passes the other way round. A unit
 * writes its own columns or rows only, so any thread may run it. */
typedef struct {
  fv_param *p;
  const float *in; /* params (stride nbf) or dplanes (stride hw) */
  float *out;      /* planes or dparams */
  int adjoint;
} planes_job;

static void planes_cols(void *ctx, int t, int u0, int u1) {
  const planes_job *j = (const planes_job *)ctx;
  const fv_param *p = j->p;
  const size_t nbf = (size_t)p->o.h * p->wf * 2, nc = (size_t)p->groups * p->hpad;
  for (int u = u0; u < u1; u++) {
    const int c = u / p->groups, g = u % p->groups;
    if (j->adjoint) fft_cols4_adjoint(p, &p->th[t], p->cols4 + c * nc, g, j->out + c * nbf);
    else fft_cols4(p, &p->th[t], j->in + c * nbf, g, p->cols4 + c * nc);
  }
}

static void planes_rows(void *ctx, int t, int u0, int u1) {
  const planes_job *j = (const planes_job *)ctx;
  const fv_param *p = j->p;
  const int blocks = (p->o.h + 3) / 4;
  const size_t hw = (size_t)p->o.h * p->o.w, nc = (size_t)p->groups * p->hpad;
  for (int u = u0; u < u1; u++) {
    const int c = u / blocks, y0 = 4 * (u % blocks);
    if (j->adjoint) fft_rows4_adjoint(p, &p->th[t], j->in + c * hw, y0, p->cols4 + c * nc);
    else fft_rows4(p, &p->th[t], p->cols4 + c * nc, y0, j->out + c * hw);
  }
}

/* n planes (1..3) of one image, forward or adjoint; on one thread when there are
 * more threads than per-thread scratch (threads started after this param was made). */
static void fft_planes__wasmsimd(fv_param *p, const float *in, float *out, int n, int adjoint) {
  planes_job j = {p, in, out, adjoint};
  const int cols = n * p->groups, rows = n * ((p->o.h + 3) / 4), serial = fv_threads_count() > p->n_th;
  if (!adjoint) {
    if (serial) planes_cols(&j, 0, 0, cols);
    else fv_threads_for(cols, planes_cols, &j);
  }
  if (serial) planes_rows(&j, 0, 0, rows);
  else fv_threads_for(rows, planes_rows, &j);
  if (adjoint) {
    if (serial) planes_cols(&j, 0, 0, cols);
    else fv_threads_for(cols, planes_cols, &j);
  }
}
#endif

/* n consecutive planes of one image: params (2·H·wf floats apart) → planes (H·W apart).
 * The 4-lane path runs on the engine's threads; the scalar reference on this one. */
static void fft_planes(fv_param *p, const float *params, float *planes, int n) {
  const size_t nbf = (size_t)p->o.h * p->wf * 2, hw = (size_t)p->o.h * p->o.w;
#ifdef __wasm_simd128__
  if (p->ifft_h4 && fv_kernels_simd_enabled()) {
    fft_planes__wasmsimd(p, params, planes, n, 0);
    return;
  }
#endif
  for (int c = 0; c < n; c++) fft_plane__scalar(p, params + c * nbf, planes + c * hw);
}

static void fft_planes_adjoint(fv_param *p, const float *dplanes, float *dparams, int n) {
  const size_t nbf = (size_t)p->o.h * p->wf * 2, hw = (size_t)p->o.h * p->o.w;
#ifdef __wasm_simd128__
  if (p->ifft_h4 && fv_kernels_simd_enabled()) {
    fft_planes__wasmsimd(p, dplanes, dparams, n, 1);
    return;
  }
#endif
  for (int c = 0; c < n; c++) fft_plane_adjoint__scalar(p, dplanes + c * hw, dparams + c * nbf);
}

/* ---- the linear spatial stage ------------------------------------------------- */
void fv_param_spatial(fv_param *p, const float *params, float *out) {
  assert(!p->cppn && p->o.kind != FV_PARAM_LAPLACIAN); /* PIXEL and FFT only (levels are not in it) */
  if (p->o.kind == FV_PARAM_PIXEL) {
    if (out != params) memcpy(out, params, p->numel * sizeof(float));
    return;
  }
  const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
  for (int b = 0; b < p->o.n; b++) {
    float *img = out + (size_t)b * hw * 3;
    for (int c = 0; c < 3; c++) {
      fft_planes(p, params + ((size_t)b * 3 + c) * nbf, p->planes, 1);
      for (size_t i = 0; i < hw; i++) img[3 * i + c] = p->planes[i];
    }
  }
}

void fv_param_spatial_adjoint(fv_param *p, const float *dout, float *dparams) {
  assert(!p->cppn && p->o.kind != FV_PARAM_LAPLACIAN); /* PIXEL and FFT only (levels are not in it) */
  if (p->o.kind == FV_PARAM_PIXEL) {
    if (dparams != dout) memcpy(dparams, dout, p->numel * sizeof(float));
    return;
  }
  const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
  for (int b = 0; b < p->o.n; b++) {
    const float *img = dout + (size_t)b * hw * 3;
    for (int c = 0; c < 3; c++) {
      for (size_t i = 0; i < hw; i++) p->planes[i] = img[3 * i + c];
      fft_planes_adjoint(p, p->planes, dparams + ((size_t)b * 3 + c) * nbf, 1);
    }
  }
}

/* ---- the sigmoid ----------------------------------------------------------------------
 * Its exp is Cephes' expf (range reduction by ln 2 in two parts, a degree-6
 * polynomial, 2^k built in the exponent bits), within about 2 ulp of libm's. It has no
 * branches and no calls, so the compiler vectorizes a loop of it; libm's expf, one call
 * per value, cost more than the rest of the colour stage. Plain float arithmetic in a
 * fixed order: the same bits natively, in wasm and in its SIMD twin below. */
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

/* ---- colour: the per-pixel stage of the Fourier image ------------------------------------
 * colour_out: planes [3][n] (one image, pre-colour) → rgb [n][3] = sigmoid(M c), or
 * sigmoid(c) without decorrelation. colour_in: its adjoint at the saved rgb, drgb [n][3] →
 * planes [3][n] = M^T (drgb · y (1 − y)). The same operations as fv_color_decorrelate(_adjoint)
 * and the sigmoid in the pixel path. Each pixel on its own: the twins take pixels [i0, i1)
 * and the engine's threads split an image into such ranges. */
static void colour_out_range(const fv_param *p, const float *planes, size_t n, size_t i0, size_t i1, float *rgb) {
  const float *c0 = planes, *c1 = planes + n, *c2 = planes + 2 * n;
  const float *m = p->m;
  for (size_t i = i0; i < i1; i++) {
    const float a = c0[i], b = c1[i], c = c2[i];
    if (p->o.decorrelate) {
      rgb[3 * i + 0] = sigmoidf(m[0] * a + m[1] * b + m[2] * c);
      rgb[3 * i + 1] = sigmoidf(m[3] * a + m[4] * b + m[5] * c);
      rgb[3 * i + 2] = sigmoidf(m[6] * a + m[7] * b + m[8] * c);
    } else {
      rgb[3 * i + 0] = sigmoidf(a);
      rgb[3 * i + 1] = sigmoidf(b);
      rgb[3 * i + 2] = sigmoidf(c);
    }
  }
}

static void colour_in_range(const fv_param *p, const float *drgb, const float *rgb, size_t n, size_t i0, size_t i1,
                            float *planes) {
  float *c0 = planes, *c1 = planes + n, *c2 = planes + 2 * n;
  const float *m = p->m;
  for (size_t i = i0; i < i1; i++) {
    const float *y = rgb + 3 * i, *g = drgb + 3 * i;
    const float a = g[0] * y[0] * (1.0f - y[0]), b = g[1] * y[1] * (1.0f - y[1]), c = g[2] * y[2] * (1.0f - y[2]);
    if (p->o.decorrelate) {
      c0[i] = m[0] * a + m[3] * b + m[6] * c;
      c1[i] = m[1] * a + m[4] * b + m[7] * c;
      c2[i] = m[2] * a + m[5] * b + m[8] * c;
    } else {
      c0[i] = a, c1[i] = b, c2[i] = c;
    }
  }
}

#ifdef __wasm_simd128__
static inline v128_t sigmoid4(v128_t v) {
#define F4 wasm_f32x4_splat
  v128_t x = wasm_f32x4_neg(v);
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, F4(-87.0f)), F4(88.0f)); /* the scalar's selects, NaN kept */
  const v128_t k = wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, F4(1.44269504088896341f)), F4(0.5f)));
  const v128_t r = wasm_f32x4_sub(wasm_f32x4_sub(x, wasm_f32x4_mul(k, F4(0.693359375f))),
                                  wasm_f32x4_mul(k, F4(-2.12194440e-4f)));
  v128_t q = F4(1.9875691500e-4f);
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), F4(1.3981999507e-3f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), F4(8.3334519073e-3f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), F4(4.1665795894e-2f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), F4(1.6666665459e-1f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), F4(5.0000001201e-1f));
  q = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(q, r), r), r), F4(1.0f));
  const v128_t two_k = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_div(F4(1.0f), wasm_f32x4_add(F4(1.0f), wasm_f32x4_mul(q, two_k)));
#undef F4
}

/* m0·a + m1·b + m2·c, in the scalar's order */
static inline v128_t mix3(float m0, float m1, float m2, v128_t a, v128_t b, v128_t c) {
  const v128_t ab = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(m0), a), wasm_f32x4_mul(wasm_f32x4_splat(m1), b));
  return wasm_f32x4_add(ab, wasm_f32x4_mul(wasm_f32x4_splat(m2), c));
}

static void colour_out__wasmsimd(const fv_param *p, const float *planes, size_t n, size_t i0, size_t i1, float *rgb) {
  const float *c0 = planes, *c1 = planes + n, *c2 = planes + 2 * n;
  const float *m = p->m;
  size_t i = i0;
  for (; i + 4 <= i1; i += 4) {
    v128_t a = wasm_v128_load(c0 + i), b = wasm_v128_load(c1 + i), c = wasm_v128_load(c2 + i);
    if (p->o.decorrelate) {
      const v128_t u = mix3(m[0], m[1], m[2], a, b, c), v = mix3(m[3], m[4], m[5], a, b, c);
      c = mix3(m[6], m[7], m[8], a, b, c);
      a = u, b = v;
    }
    a = sigmoid4(a), b = sigmoid4(b), c = sigmoid4(c);
    /* planar (a, b, c) × 4 pixels → 12 interleaved floats */
    float *o = rgb + 3 * i;
    const v128_t ab = SHUF(a, b, 0, 4, 1, 5), bc = SHUF(b, c, 1, 5, 2, 6), ab3 = SHUF(a, b, 3, 7, 3, 7);
    wasm_v128_store(o, SHUF(ab, c, 0, 1, 4, 2));
    wasm_v128_store(o + 4, SHUF(bc, a, 0, 1, 6, 2));
    wasm_v128_store(o + 8, SHUF(c, ab3, 2, 4, 5, 3));
  }
  colour_out_range(p, planes, n, i, i1, rgb); /* the tail */
}

static void colour_in__wasmsimd(const fv_param *p, const float *drgb, const float *rgb, size_t n, size_t i0, size_t i1,
                                float *planes) {
  float *c0 = planes, *c1 = planes + n, *c2 = planes + 2 * n;
  const float *m = p->m;
  const v128_t one = wasm_f32x4_splat(1.0f);
  size_t i = i0;
  for (; i + 4 <= i1; i += 4) {
    v128_t e[3];
    for (int k = 0; k < 3; k++) { /* g · y · (1 − y), interleaved */
      const v128_t y = wasm_v128_load(rgb + 3 * i + 4 * k), g = wasm_v128_load(drgb + 3 * i + 4 * k);
      e[k] = wasm_f32x4_mul(wasm_f32x4_mul(g, y), wasm_f32x4_sub(one, y));
    }
    /* 12 interleaved floats → planar (a, b, c) */
    v128_t a = SHUF(SHUF(e[0], e[1], 0, 3, 6, 0), e[2], 0, 1, 2, 5);
    v128_t b = SHUF(SHUF(e[0], e[1], 1, 4, 7, 0), e[2], 0, 1, 2, 6);
    v128_t c = SHUF(SHUF(e[0], e[1], 2, 5, 0, 0), e[2], 0, 1, 4, 7);
    if (p->o.decorrelate) {
      const v128_t u = mix3(m[0], m[3], m[6], a, b, c), v = mix3(m[1], m[4], m[7], a, b, c);
      c = mix3(m[2], m[5], m[8], a, b, c);
      a = u, b = v;
    }
    wasm_v128_store(c0 + i, a);
    wasm_v128_store(c1 + i, b);
    wasm_v128_store(c2 + i, c);
  }
  colour_in_range(p, drgb, rgb, n, i, i1, planes); /* the tail */
}
#endif

/* One image's n pixels through colour_out or colour_in, in ranges of COLOUR_PIXELS on the threads. */
#define COLOUR_PIXELS 2048
typedef struct {
  const fv_param *p;
  const float *planes, *drgb, *rgb; /* colour_in reads drgb and rgb, writes planes */
  float *out;                       /* colour_out: rgb; colour_in: planes */
  size_t n;
  int adjoint;
} colour_job;

static void colour_part(void *ctx, int t, int b, int e) {
  const colour_job *j = (const colour_job *)ctx;
  const size_t i0 = (size_t)b * COLOUR_PIXELS, i1 = (size_t)e * COLOUR_PIXELS < j->n ? (size_t)e * COLOUR_PIXELS : j->n;
  (void)t;
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    if (j->adjoint) colour_in__wasmsimd(j->p, j->drgb, j->rgb, j->n, i0, i1, j->out);
    else colour_out__wasmsimd(j->p, j->planes, j->n, i0, i1, j->out);
    return;
  }
#endif
  if (j->adjoint) colour_in_range(j->p, j->drgb, j->rgb, j->n, i0, i1, j->out);
  else colour_out_range(j->p, j->planes, j->n, i0, i1, j->out);
}

static void colour_out(const fv_param *p, const float *planes, size_t n, float *rgb) {
  colour_job j = {p, planes, NULL, NULL, rgb, n, 0};
  fv_threads_for((int)((n + COLOUR_PIXELS - 1) / COLOUR_PIXELS), colour_part, &j);
}

static void colour_in(const fv_param *p, const float *drgb, const float *rgb, size_t n, float *planes) {
  colour_job j = {p, NULL, drgb, rgb, planes, n, 1};
  fv_threads_for((int)((n + COLOUR_PIXELS - 1) / COLOUR_PIXELS), colour_part, &j);
}

/* ---- alpha: its own plane per image (Fourier or pixels), then its own sigmoid -------------
 * Lucid's image(alpha=True): the fourth channel skips the colour matrix. The sigmoid loop
 * has no branches or calls, so the compiler vectorizes it (no hand-written twin). */
static void render_alpha(fv_param *p) {
  if (!p->alpha) return;
  const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
  for (int b = 0; b < p->o.n; b++) {
    const float *lin = p->values + p->count_rgb + (size_t)b * hw;
    if (p->o.kind == FV_PARAM_FFT) {
      fft_planes(p, p->values + p->count_rgb + (size_t)b * nbf, p->planes, 1);
      lin = p->planes;
    }
    float *restrict a = p->alpha + (size_t)b * hw;
    for (size_t i = 0; i < hw; i++) a[i] = sigmoidf(lin[i]);
  }
}

/* dL/dalpha [N,H,W] (NULL: zero) → the alpha params' gradient */
static void backward_alpha(fv_param *p, const float *dalpha) {
  if (!p->alpha) return;
  float *g = p->grad + p->count_rgb;
  if (!dalpha) {
    memset(g, 0, p->count_alpha * sizeof(float));
    return;
  }
  const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
  for (int b = 0; b < p->o.n; b++) {
    const float *a = p->alpha + (size_t)b * hw, *d = dalpha + (size_t)b * hw;
    float *restrict s = p->o.kind == FV_PARAM_FFT ? p->planes : g + (size_t)b * hw;
    for (size_t i = 0; i < hw; i++) s[i] = d[i] * a[i] * (1.0f - a[i]);
    if (p->o.kind == FV_PARAM_FFT) fft_planes_adjoint(p, p->planes, g + (size_t)b * nbf, 1);
  }
}

/* ---- CPPN: logits → sigmoid (colour, and alpha when on), and back -------------------------- */
/* interleaved logits [np][ch] in place → sigmoid, split into rgb [np][3] and alpha [np] (or NULL) */
static void cppn_out(const float *logits, size_t np, int ch, float *rgb, float *alpha) {
  for (size_t i = 0; i < np; i++) {
    for (int c = 0; c < 3; c++) rgb[3 * i + c] = sigmoidf(logits[ch * i + c]);
    if (alpha) alpha[i] = sigmoidf(logits[ch * i + 3]);
  }
}

static void cppn_render(fv_param *p) {
  const int ch = p->o.alpha ? 4 : 3;
  const size_t hw = (size_t)p->o.h * p->o.w;
  for (int b = 0; b < p->o.n; b++) {
    float *lg = p->logits + (size_t)b * hw * ch;
    fv_cppn_logits(p->cppn, p->values, b, p->o.h, p->o.w, lg);
    cppn_out(lg, hw, ch, p->rgb + (size_t)b * hw * 3, p->alpha ? p->alpha + (size_t)b * hw : NULL);
  }
}

static void cppn_backward(fv_param *p, const float *drgb, const float *dalpha) {
  const int ch = p->o.alpha ? 4 : 3;
  const size_t hw = (size_t)p->o.h * p->o.w, one = fv_cppn_count_one(p->cppn);
  for (int b = 0; b < p->o.n; b++) {
    float *dl = p->logits + (size_t)b * hw * ch; /* the logits are spent: their gradient goes here */
    const float *y = p->rgb + (size_t)b * hw * 3, *g = drgb + (size_t)b * hw * 3;
    for (size_t i = 0; i < hw; i++) {
      for (int c = 0; c < 3; c++) dl[ch * i + c] = g[3 * i + c] * y[3 * i + c] * (1.0f - y[3 * i + c]);
      if (ch == 4) {
        const float a = p->alpha[(size_t)b * hw + i];
        dl[ch * i + 3] = dalpha ? dalpha[(size_t)b * hw + i] * a * (1.0f - a) : 0.0f;
      }
    }
    fv_cppn_backward(p->cppn, b, p->o.h, p->o.w, dl, p->grad + (size_t)b * one);
  }
}

fv_status fv_param_draw(fv_param *p, int b, int h, int w, float *out, fv_error *err) {
  if (!p->cppn) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: only a CPPN image can be drawn at another size");
    return FV_ERR_BAD_ARG;
  }
  if (b < 0 || b >= p->o.n || h < 1 || w < 1 || h > FV_PARAM_MAX_SIDE || w > FV_PARAM_MAX_SIDE) {
    fv_error_set(err, FV_ERR_BAD_ARG, "param: image %d at %dx%d out of range", b, h, w);
    return FV_ERR_BAD_ARG;
  }
  const int ch = p->o.alpha ? 4 : 3;
  const size_t np = (size_t)h * w;
  fv_cppn_logits(p->cppn, p->values, b, h, w, out);
  for (size_t i = 0; i < np * ch; i++) out[i] = sigmoidf(out[i]);
  return FV_OK;
}

/* ---- render and backward ---------------------------------------------------------- */
const float *fv_param_render(fv_param *p) {
  if (p->cppn) {
    cppn_render(p);
    return p->rgb;
  }
  if (p->o.kind == FV_PARAM_FFT) {
    /* per image: the three channel planes, then colour and sigmoid into the interleaved image */
    const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
    levels_sum(p);
    for (int b = 0; b < p->o.n; b++) {
      fft_planes(p, p->values + (size_t)b * 3 * nbf, p->planes, 3);
      if (p->low) /* the shared levels join each channel plane */
        for (int c = 0; c < 3; c++)
          for (size_t i = 0; i < hw; i++) p->planes[c * hw + i] += p->low[((size_t)b * hw + i) * 3 + c];
      colour_out(p, p->planes, hw, p->rgb + (size_t)b * hw * 3);
    }
    render_alpha(p);
    return p->rgb;
  }
  const float *lin = p->values; /* PIXEL without decorrelation or levels: the params themselves */
  if (p->n_levels) {
    levels_sum(p);
    const int base = p->o.kind == FV_PARAM_PIXEL;
    for (size_t i = 0; i < p->numel; i++) p->pre[i] = (base ? p->values[i] : 0.0f) + p->low[i];
    lin = p->pre;
  }
  if (p->o.decorrelate) {
    fv_color_decorrelate(lin, p->pre, p->numel / 3);
    lin = p->pre;
  }
  float *restrict rgb = p->rgb;
  for (size_t i = 0; i < p->numel; i++) rgb[i] = sigmoidf(lin[i]);
  render_alpha(p);
  return p->rgb;
}

const float *fv_param_backward(fv_param *p, const float *drgb) { return fv_param_backward_rgba(p, drgb, NULL); }

const float *fv_param_backward_rgba(fv_param *p, const float *drgb, const float *dalpha) {
  if (p->cppn) {
    cppn_backward(p, drgb, dalpha);
    return p->grad;
  }
  backward_alpha(p, dalpha);
  if (p->o.kind == FV_PARAM_FFT) {
    const size_t hw = (size_t)p->o.h * p->o.w, nbf = (size_t)p->o.h * p->wf * 2;
    for (int b = 0; b < p->o.n; b++) {
      colour_in(p, drgb + (size_t)b * hw * 3, p->rgb + (size_t)b * hw * 3, hw, p->planes);
      if (p->low)
        for (int c = 0; c < 3; c++)
          for (size_t i = 0; i < hw; i++) p->low[((size_t)b * hw + i) * 3 + c] = p->planes[c * hw + i];
      fft_planes_adjoint(p, p->planes, p->grad + (size_t)b * 3 * nbf, 3);
    }
    levels_adjoint(p, p->low);
    return p->grad;
  }
  /* sigmoid' = y (1 - y), from the saved image; a pyramid's goes to its levels alone */
  float *d = p->o.kind == FV_PARAM_PIXEL ? p->grad : p->low;
  for (size_t i = 0; i < p->numel; i++) d[i] = drgb[i] * p->rgb[i] * (1.0f - p->rgb[i]);
  if (p->o.decorrelate) fv_color_decorrelate_adjoint(d, d, p->numel / 3);
  if (p->n_levels) {
    if (d != p->low) memcpy(p->low, d, p->numel * sizeof(float));
    levels_adjoint(p, p->low);
  }
  return p->grad;
}
