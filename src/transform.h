/* transform.h — random, differentiable image transforms (transformation
 * robustness, Olah et al. 2017; Lucid's lucid/optvis/transform.py).
 *
 * A transform maps a batch [N, in_h, in_w, 3] to [N, out_h, out_w, 3] through
 * a list of stages, applied in order, then a final bilinear resize to the
 * output size (the model's input). Stages:
 *
 *   PAD     amount P pixels on each side, filled with value (Lucid's
 *           pad(12, mode="constant", constant_value=.5)); size grows by 2P.
 *   JITTER  a crop of size (h - d, w - d) at integer offsets oy, ox drawn
 *           uniformly from 0..d (Lucid's jitter(d), tf.image.random_crop).
 *   SCALE   a factor s drawn from choices[]; the image is resampled to
 *           ((int)(s*h), (int)(s*w)) (float product, truncated, as Lucid's
 *           random_scale does) by the same bilinear resize as the final one.
 *   ROTATE  an angle drawn from choices[] (degrees, converted with pi, where
 *           Lucid uses 3.14), about the pixel-centre grid's centre
 *           ((w-1)/2, (h-1)/2), counter-clockwise as tfa.image.rotate, which
 *           Lucid calls: output (x, y) samples the input at
 *           (c(x-cx) - s(y-cy) + cx, s(x-cx) + c(y-cy) + cy). Bilinear, where
 *           tfa defaults to nearest; a neighbour outside the image reads value
 *           (tfa's constant fill: 0). Sample positions within 1e-6 of a pixel
 *           centre snap to it, so 0 and multiples of 90 degrees are exact.
 *
 * Resize (SCALE and the final one): bilinear with half-pixel centres, source
 * coordinate (d + 0.5) * in/out - 0.5 clamped to [0, in-1], no antialias: the
 * same mapping as fv_image_resize (torch's align_corners=False; TF2's
 * resize). Lucid's random_scale calls TF1's resize_bilinear, which maps
 * d * in/out instead (anchored at the top-left corner, not the centre).
 *
 * Random draws are per image (Lucid draws one crop, scale and angle for the
 * whole batch), from the fv_rng given to fv_transform_sample, in image order
 * then stage order, so a seed fixes a render. Sizes after a SCALE depend on
 * the draw: every buffer is sized at set-up for the largest possible size.
 *
 * For fixed draws the transform is affine in the image (linear apart from the
 * PAD and ROTATE fill values); backward applies the exact adjoint of its
 * linear part, i.e. the gradient.
 *
 * Memory: fv_transform_new copies the options and allocates all scratch;
 * sample, forward and backward allocate nothing. The caller owns in/out and
 * the gradient buffers. One call at a time per object: forward and backward
 * run the batch's images on the engine's threads themselves (src/threads.h;
 * scratch per thread, the same bits on any number of threads).
 *
 * Typical use:
 *   fv_transform_opts o;
 *   fv_transform_opts_standard(&o, n, 128, 128, 224, 224);  // or fv_transform_opts_init: none
 *   fv_transform *t = fv_transform_new(&o, &err);
 *   fv_rng rng; fv_rng_seed(&rng, seed);
 *   for (step...) {
 *     fv_transform_sample(t, &rng);
 *     fv_transform_forward(t, rgb, model_input);            // [N,128,128,3] -> [N,224,224,3]
 *     ... model forward / backward gives d_model_input ...
 *     fv_transform_backward(t, d_model_input, drgb);        // overwrites drgb
 *   }
 *   fv_transform_free(t);
 */
#ifndef FV_TRANSFORM_H
#define FV_TRANSFORM_H

#include <stddef.h>

#include "fv.h"
#include "rng.h"

typedef enum { FV_TF_PAD = 1, FV_TF_JITTER = 2, FV_TF_SCALE = 3, FV_TF_ROTATE = 4 } fv_tf_kind;

#define FV_TF_MAX_STAGES 16
#define FV_TF_MAX_CHOICES 64
#define FV_TF_MAX_SIDE 8192
#define FV_TF_MAX_PIXELS (1 << 24)    /* per image, at any stage */

typedef struct {
  int kind;           /* fv_tf_kind */
  int amount;         /* PAD: pixels on each side; JITTER: d (0..1024) */
  float value;        /* PAD: fill value; ROTATE: value read outside the image */
  int n_choices;      /* SCALE, ROTATE: entries used in choices (1..FV_TF_MAX_CHOICES) */
  float choices[FV_TF_MAX_CHOICES]; /* SCALE: factors in (0, 4]; ROTATE: degrees */
} fv_tf_stage;

typedef struct {
  int n;              /* batch */
  int in_h, in_w;     /* images coming in */
  int out_h, out_w;   /* images going out (after the final resize) */
  int n_stages;
  fv_tf_stage stages[FV_TF_MAX_STAGES];
} fv_transform_opts;

/* No stages: only the final resize (a copy when the sizes agree). */
void fv_transform_opts_init(fv_transform_opts *o, int n, int in_h, int in_w, int out_h, int out_w);
/* Lucid's standard_transforms: pad(12, 0.5), jitter(8), scale(1 + (i-5)/50,
 * i = 0..10), rotate(-10..10 degrees and 0 five times more; fill 0), jitter(4). */
void fv_transform_opts_standard(fv_transform_opts *o, int n, int in_h, int in_w, int out_h, int out_w);
/* Append a stage; FV_ERR_BAD_ARG when the list or choices are full (values are checked by new). */
fv_status fv_transform_opts_add_pad(fv_transform_opts *o, int pixels, float value);
fv_status fv_transform_opts_add_jitter(fv_transform_opts *o, int d);
fv_status fv_transform_opts_add_scale(fv_transform_opts *o, int n, const float *scales);
fv_status fv_transform_opts_add_rotate(fv_transform_opts *o, int n, const float *degrees, float fill);

typedef struct fv_transform fv_transform;

/* NULL with err set for out-of-range options, or a stage list that can make an
 * image empty (a jitter not smaller than the image, a scale to 0 pixels). */
fv_transform *fv_transform_new(const fv_transform_opts *o, fv_error *err);
void fv_transform_free(fv_transform *t);

/* Draw the random parameters for the next forward/backward pair. Until the
 * first call every jitter offset is 0 and every choice is choices[0]. */
void fv_transform_sample(fv_transform *t, fv_rng *rng);

/* in [N,in_h,in_w,3] -> out [N,out_h,out_w,3]. in and out must not overlap. */
void fv_transform_forward(fv_transform *t, const float *in, float *out);
/* dout [N,out_h,out_w,3] -> din [N,in_h,in_w,3], overwritten (not accumulated),
 * for the current draws. */
void fv_transform_backward(fv_transform *t, const float *dout, float *din);

/* The current draw of one image at one stage (tests and diagnostics). */
typedef struct {
  int oy, ox;         /* JITTER: crop offsets */
  float scale;        /* SCALE: factor */
  float degrees;      /* ROTATE: angle */
  int h, w;           /* image size after this stage */
} fv_tf_draw;
const fv_tf_draw *fv_transform_draw(const fv_transform *t, int image, int stage);

#endif
