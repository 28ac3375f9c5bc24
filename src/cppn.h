/* cppn.h — a compositional pattern-producing network as the image (Lucid's
 * lucid/optvis/param/cppn.py; "Differentiable Image Parameterizations",
 * Distill 2018, §CPPN): per pixel, the coordinates (x, y), each in
 * linspace(−√3, √3, side) (unit variance), go through `FV_CPPN_LAYERS` 1×1
 * layers of `FV_CPPN_HIDDEN` units, each z = W·in + b followed by the composite
 * activation [atan(z)/0.67, atan(z)²/0.6] (twice the units: its input to the
 * next layer), then an output layer to `channels` logits (3: RGB, 4: RGBA).
 * The sigmoid after it is the parameterization's (param.c), so the logits are
 * what this module gives and takes gradients for.
 *
 * Initialization (from the seed): hidden weights N(0, 1/fan_in) (the untruncated
 * variance-scaling initializer), biases zero, the output layer all zero (so
 * the first image is grey). Each image of a batch has its own network.
 *
 * Params, per image, in order: for each hidden layer W [HIDDEN][fan_in] then
 * b [HIDDEN]; then W_out [channels][2·HIDDEN], b_out [channels].
 *
 * Memory: fv_cppn_new allocates the params and a chunk of per-pixel scratch;
 * the calls allocate nothing. Pixels go through in chunks (FV_CPPN_CHUNK): the
 * backward recomputes a chunk's activations instead of keeping the whole
 * image's, so memory does not grow with the drawing size. The weight gradients
 * sum chunk by chunk in a fixed order: the same bits on every run.
 *
 *   fv_cppn *c = fv_cppn_new(n, channels, seed, &err);
 *   fv_cppn_logits(c, fv_cppn_values(c), b, h, w, logits);   // image b: [h][w][channels]
 *   fv_cppn_backward(c, b, h, w, dlogits, grad);              // dL/dparams of image b (overwritten)
 *   fv_cppn_free(c);
 * Threads and SIMD: the GEMMs split rows (split.h); the weight-gradient product
 * (wgrad) splits output units, the composite activation and its gradient
 * pixels; each has a SIMD twin, listed in kernels.inc. The gradient's bits do
 * not depend on the thread count; the composite's SIMD atan is a polynomial
 * a few ulps from libm's atanf (the scalar twin's).
 */
#ifndef FV_CPPN_H
#define FV_CPPN_H

#include <stddef.h>
#include <stdint.h>

#include "fv.h"

#define FV_CPPN_LAYERS 8
#define FV_CPPN_HIDDEN 24
#define FV_CPPN_CHUNK 1024 /* pixels per pass (2.7 MB of scratch): fewer, larger jobs for the threads */
#define FV_CPPN_LR 0.005f /* Lucid's notebook: Adam at 0.005 */

typedef struct fv_cppn fv_cppn;

/* n images (1..1024), channels 3 or 4. NULL with err set on a bad argument or no memory. */
fv_cppn *fv_cppn_new(int n, int channels, uint64_t seed, fv_error *err);
void fv_cppn_free(fv_cppn *c);

float *fv_cppn_values(fv_cppn *c);       /* n · fv_cppn_count_one floats */
size_t fv_cppn_count(const fv_cppn *c);
size_t fv_cppn_count_one(const fv_cppn *c);
void fv_cppn_reset(fv_cppn *c, uint64_t seed);

/* Image b's logits [h][w][channels] at any size (h, w >= 1), from params (the
 * object's values or another vector of the same layout). */
void fv_cppn_logits(fv_cppn *c, const float *params, int b, int h, int w, float *logits);

/* dL/dlogits [h][w][channels] of image b (at the current values) → dL/d(image b's
 * params), fv_cppn_count_one floats, overwritten. */
void fv_cppn_backward(fv_cppn *c, int b, int h, int w, const float *dlogits, float *grad);

/* The composite activation on its own (every layer's; the tests and the benchmark call it too):
 * z [np][FV_CPPN_HIDDEN] → out [np][2·FV_CPPN_HIDDEN]; its gradient dz [np][FV_CPPN_HIDDEN]
 * (overwritten) from z, out and dout = dL/dout [np][2·FV_CPPN_HIDDEN]. */
void fv_cppn_composite(int np, const float *z, float *out);
void fv_cppn_composite_grad(int np, const float *z, const float *out, const float *dout, float *dz);

#endif
