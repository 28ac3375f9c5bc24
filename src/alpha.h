/* alpha.h — transparency: an RGBA render composited over a fresh random
 * background each step, Lucid's recipe ("Differentiable Image
 * Parameterizations", Distill 2018, §Transparency):
 *
 *   comp  = fg·α + bg·(1 − α)          per pixel and colour channel
 *   J     = O(comp)·(1 − mean α) − blur·0.5·Σ (α − stopgrad(blur3x3(α)))²
 *
 * fg and α come from the parameterization (param.h, opts.alpha); bg is a new
 * Fourier image (decorrelated colour, sd 0.2, Lucid's image(w, sd=0.2)) drawn
 * each step from the object's own random stream, so the network cannot lean on
 * a fixed background and the transforms' draws do not move. O is the render's
 * objective on the network (every term that reads a layer); the mean runs over
 * the whole batch, so the rule holds for objectives across images (diversity,
 * interpolation) too. The blur penalty is the objective's BLUR term on the
 * alpha plane (objective.h). The render MAXIMIZES J (the graph's loss is −J).
 *
 * Memory: fv_alpha_new allocates the background param, the composite and its
 * scratch once; the calls allocate nothing. Pointers stay valid until free.
 *
 *   fv_alpha *a = fv_alpha_new(n, h, w, blur, seed, &err);
 *   each step:
 *     const float *comp = fv_alpha_composite(a, fg, alpha);   // [N,H,W,3] → transforms → network
 *     ... O and dL/dcomp (L = −O) into dcomp ...
 *     J = fv_alpha_backward(a, O, dcomp, fg, alpha, dfg, dalpha);
 *     ... image penalties add into dfg; fv_param_backward_rgba(p, dfg, dalpha) ...
 *   fv_alpha_free(a);
 * Errors: bad sizes or blur, no memory: NULL with err set.
 */
#ifndef FV_ALPHA_H
#define FV_ALPHA_H

#include <stdint.h>

#include "fv.h"

#define FV_ALPHA_BG_SD 0.2f /* Lucid's background: param.image(w, sd=0.2) */
#define FV_ALPHA_BLUR_MAX 1000.0

typedef struct fv_alpha fv_alpha;

/* n images of h×w; blur: the weight of the alpha blur penalty (finite, >= 0). */
fv_alpha *fv_alpha_new(int n, int h, int w, float blur, uint64_t seed, fv_error *err);
void fv_alpha_free(fv_alpha *a);

/* Draws the next background, composites fg [N,H,W,3] with alpha [N,H,W] over it;
 * returns the composite [N,H,W,3] (the object's buffer, overwritten by the next call). */
const float *fv_alpha_composite(fv_alpha *a, const float *fg, const float *alpha);
/* The last background drawn [N,H,W,3] (tests). */
const float *fv_alpha_background(const fv_alpha *a);

/* From O (the network objective at the last composite) and dcomp = dL/dcomp for L = −O:
 * dfg = dL/dfg and dalpha = dL/dalpha for L = −J (both overwritten; fg, alpha as composited;
 * dfg may be dcomp).
 * Returns J. */
double fv_alpha_backward(fv_alpha *a, double objective, const float *dcomp, const float *fg, const float *alpha,
                         float *dfg, float *dalpha);

#endif
