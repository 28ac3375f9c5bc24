/* param.h — image parameterizations: the free variables the optimizer moves,
 * and the differentiable map from them to a batch of RGB images in [0, 1].
 *
 * Two kinds, as in Lucid (lucid/optvis/param/spatial.py and color.py) and
 * "Differentiable Image Parameterizations" (Mordvintsev et al., Distill 2018):
 *
 *   PIXEL  params [N][H][W][3], one per pixel and channel.
 *   FFT    params [N][3][H][W/2+1][2]: per image and channel, the real-FFT
 *          spectrum of the image (re, im interleaved), rows ky = 0..H-1 in the
 *          standard FFT order, columns kx = 0..W/2. The image plane is
 *              plane = irfft2_ortho(spectrum * s) / 4,
 *              s[ky][kx] = 1 / max(f, 1/max(H, W))^decay_power,
 *              f = sqrt(fy^2 + fx^2) in cycles per pixel
 *          (fy = numpy.fft.fftfreq(H)[ky], fx = kx/W). Lucid writes it as
 *          irfft2d(spectrum * s * sqrt(W*H)) / 4 with TF's irfft2d dividing by
 *          H*W: the same as the orthonormal inverse (divide by sqrt(H*W)).
 *          irfft2 has numpy's semantics: a complex inverse DFT down the
 *          columns, then a real inverse DFT along each row that ignores the
 *          imaginary parts of the kx = 0 bin and (W even) of the kx = W/2 bin.
 *          Odd W is a true odd-length irfft (W/2+1 bins, no crop); Lucid
 *          instead keeps W/2+2 bins, runs an even irfft of W+1 and crops.
 *
 *   LAPLACIAN  a Laplacian pyramid (Lucid's laplacian_pyramid, 4 levels): the
 *          pre-colour image is a sum of low-resolution tensors (src/lowres.h) at
 *          1, 1/2, 1/4, 1/8 of the side, each [N][H/k][W/k][3], bilinearly
 *          resized up; then colour and sigmoid as for PIXEL.
 *   CPPN   a compositional pattern-producing network per image (src/cppn.h: its
 *          layers, params and init); rgb = sigmoid(its logits), no colour
 *          matrix (Lucid's cppn()), decorrelate and sd unused. With alpha it has
 *          a fourth output. Drawn at any size (fv_param_draw).
 *
 * Then, for the PIXEL and FFT kinds, per pixel: decorrelated colour (optional), rgb = M c,
 * with M Lucid's color_correlation_svd_sqrt divided by its largest column
 * norm; and finally rgb = sigmoid(.) into [0, 1] (Lucid's to_valid_rgb with
 * sigmoid=True: colour first, then the sigmoid).
 *
 * Shared (opts.shared, aligned interpolation; Lucid's interpolation notebook): six
 * low-resolution tensors with fewer frames than the batch — [1][H/2][W/2],
 * [1][H/4][W/4], [1][H/8][W/8], [2][H/8][W/8], [1][H/16][W/16], [2][H/16][W/16],
 * each resized along the batch too — are added to every frame's pre-colour image,
 * so neighbouring frames share their coarse structure and line up. Their params
 * (and a pyramid's) come after the colour and alpha params.
 *
 * Alpha (opts.alpha, Lucid's image(alpha=True)): a fourth channel per image, its
 * own plane of the same kind (Fourier: the same 1/f scale), through its own
 * sigmoid and no colour matrix: alpha [N,H,W] in (0, 1). Its params follow all
 * the colour params (per image, one plane), so the colour init is the same bits
 * as without alpha. Compositing over a background is the render's (src/alpha.h).
 *
 * Initial params are N(0, sd^2) draws from the seed (Lucid: sd = 0.01).
 *
 * Memory: fv_param_new allocates everything once (params, gradient, image,
 * scratch, kissfft plans); render and backward allocate nothing themselves,
 * but kissfft mallocs scratch inside each transform whose length has a prime
 * factor above 5 (224 = 32*7: ~30 mallocs per row) or is 1 (H = 1, W <= 2),
 * unless kiss_fft.c is built with -DKISS_FFT_USE_ALLOCA. Pointers returned
 * by the getters stay valid until fv_param_free. One call at a time per
 * object: render and backward run their Fourier and colour stages on the
 * engine's threads themselves (src/threads.h; each thread with its own FFT
 * scratch, the same bits on any number of threads).
 *
 * Typical use:
 *   fv_param_opts o;
 *   fv_param_opts_default(&o);  o.n = 1; o.h = o.w = 224;  o.seed = 7;
 *   fv_param *p = fv_param_new(&o, &err);
 *   fv_adam *a = fv_adam_new(fv_param_count(p), 0.05f, &err);
 *   for (step...) {
 *     const float *rgb = fv_param_render(p);            // [N,H,W,3] in [0,1]
 *     ... loss, dL/drgb into drgb ...
 *     const float *g = fv_param_backward(p, drgb);      // dL/dparams
 *     fv_adam_step(a, fv_param_values(p), g);
 *   }
 *   fv_adam_free(a); fv_param_free(p);
 */
#ifndef FV_PARAM_H
#define FV_PARAM_H

#include <stddef.h>
#include <stdint.h>

#include "fv.h"

typedef enum { FV_PARAM_PIXEL = 0, FV_PARAM_FFT = 1, FV_PARAM_CPPN = 2, FV_PARAM_LAPLACIAN = 3 } fv_param_kind;

typedef struct {
  int kind;             /* fv_param_kind */
  int n, h, w;          /* batch, height, width: 1..FV_PARAM_MAX_SIDE each, n*h*w*3 <= FV_PARAM_MAX_FLOATS */
  int decorrelate;      /* nonzero: Lucid's colour decorrelation before the sigmoid */
  float decay_power;    /* FFT: exponent of the 1/f spectrum scale (Lucid: 1; 0 = flat) */
  float sd;             /* std of the initial N(0, sd^2) params (Lucid: 0.01) */
  uint64_t seed;        /* the initial params are a function of this */
  int alpha;            /* nonzero: an alpha channel too (fv_param_alpha) */
  int shared;           /* nonzero: the shared low-resolution tensors of aligned interpolation (not CPPN) */
} fv_param_opts;

#define FV_PARAM_MAX_SIDE 4096
#define FV_PARAM_MAX_BATCH 1024
#define FV_PARAM_MAX_FLOATS (1u << 26)
#define FV_PARAM_MAX_LEVELS 10 /* a pyramid's 4 and the 6 shared ones */

typedef struct fv_param fv_param;

/* FFT, n 1, 128x128, decorrelate on, decay_power 1, sd 0.01, seed 0 (Lucid's image()). */
void fv_param_opts_default(fv_param_opts *o);

fv_param *fv_param_new(const fv_param_opts *o, fv_error *err);
void fv_param_free(fv_param *p);

/* Draw fresh initial params N(0, sd^2) from seed (as new does). */
void fv_param_reset(fv_param *p, uint64_t seed);

float *fv_param_values(fv_param *p);        /* the params, writable (the optimizer's vector) */
size_t fv_param_count(const fv_param *p);   /* number of floats in it */
int fv_param_dim(const fv_param *p, int d); /* d 0..3: N, H, W, C (=3) of the image */

/* params -> image [N,H,W,3] in [0,1]; returns the engine's buffer, which the
 * next render overwrites. Saves what backward needs. */
const float *fv_param_render(fv_param *p);
const float *fv_param_image(const fv_param *p);   /* the last render's image */
const float *fv_param_alpha(const fv_param *p);   /* the last render's alpha [N,H,W]; NULL without alpha */

/* dL/dimage [N,H,W,3] (for the image of the last render) -> dL/dparams,
 * written into the engine's gradient buffer (overwritten, not accumulated),
 * which is returned; fv_param_count floats. drgb is not modified. */
const float *fv_param_backward(fv_param *p, const float *drgb);
/* The same with dL/dalpha [N,H,W] too (NULL: zero; ignored without alpha). */
const float *fv_param_backward_rgba(fv_param *p, const float *drgb, const float *dalpha);

/* A CPPN's image b drawn at h×w: out [h·w][3, or 4 with alpha], interleaved, in [0, 1].
 * FV_ERR_BAD_ARG for another kind or a bad size. */
fv_status fv_param_draw(fv_param *p, int b, int h, int w, float *out, fv_error *err);

/* ---- the linear stages (PIXEL, FFT), exposed for tests and for callers that need them --
 * spatial: params -> pre-colour image [N,H,W,3] (PIXEL: a copy; FFT: the
 * scaled irfft2 of each channel, / 4). Its adjoint maps [N,H,W,3] to params.
 * Both use the object's scratch; out must not alias the object's buffers. */
void fv_param_spatial(fv_param *p, const float *params, float *out);
void fv_param_spatial_adjoint(fv_param *p, const float *dout, float *dparams);

/* Lucid's colour decorrelation on npix RGB triples: out = M in per pixel, and
 * its adjoint out = M^T in. In place (out == in) is allowed. */
void fv_color_decorrelate(const float *in, float *out, size_t npix);
void fv_color_decorrelate_adjoint(const float *in, float *out, size_t npix);

#endif
