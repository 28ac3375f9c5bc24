/* alpha.c — compositing over a random background and its adjoint; see alpha.h.
 * The per-pixel loops have no branches or calls: the compiler vectorizes them
 * (no hand-written twin: they are a few multiplies next to the FFTs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alpha.h"
#include "objective.h"
#include "param.h"
#include "rng.h"

struct fv_alpha {
  int n, h, w;
  float blur;
  fv_param *bg;     /* the background's Fourier image, re-drawn each step */
  fv_rng rng;       /* its seeds */
  const float *bgp; /* the last background [N,H,W,3] */
  float *comp;      /* [N,H,W,3] */
};

fv_alpha *fv_alpha_new(int n, int h, int w, float blur, uint64_t seed, fv_error *err) {
  if (!isfinite(blur) || blur < 0 || blur > FV_ALPHA_BLUR_MAX) {
    fv_error_set(err, FV_ERR_BAD_ARG, "alpha: blur weight %g out of range 0..%g", (double)blur, FV_ALPHA_BLUR_MAX);
    return NULL;
  }
  fv_alpha *a = (fv_alpha *)calloc(1, sizeof *a);
  if (!a) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "alpha: out of memory");
    return NULL;
  }
  a->n = n, a->h = h, a->w = w, a->blur = blur;
  fv_param_opts o;
  fv_param_opts_default(&o);
  o.n = n, o.h = h, o.w = w, o.sd = FV_ALPHA_BG_SD, o.seed = seed;
  a->bg = fv_param_new(&o, err);
  if (!a->bg) {
    free(a);
    return NULL;
  }
  a->comp = (float *)malloc((size_t)n * h * w * 3 * sizeof(float));
  if (!a->comp) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "alpha: out of memory for %d images of %dx%d", n, h, w);
    fv_alpha_free(a);
    return NULL;
  }
  fv_rng_seed(&a->rng, seed ^ 0x616C706861626721ull);
  return a;
}

void fv_alpha_free(fv_alpha *a) {
  if (!a) return;
  fv_param_free(a->bg);
  free(a->comp);
  free(a);
}

const float *fv_alpha_background(const fv_alpha *a) { return a->bgp; }

const float *fv_alpha_composite(fv_alpha *a, const float *fg, const float *alpha) {
  fv_param_reset(a->bg, fv_rng_u64(&a->rng));
  const float *restrict bg = a->bgp = fv_param_render(a->bg);
  const size_t np = (size_t)a->n * a->h * a->w;
  float *restrict out = a->comp;
  for (size_t i = 0; i < np; i++)
    for (int c = 0; c < 3; c++) out[3 * i + c] = fg[3 * i + c] * alpha[i] + bg[3 * i + c] * (1.0f - alpha[i]);
  return a->comp;
}

double fv_alpha_backward(fv_alpha *a, double objective, const float *dcomp, const float *fg, const float *alpha,
                         float *dfg, float *dalpha) {
  const size_t np = (size_t)a->n * a->h * a->w;
  double sum = 0;
  for (size_t i = 0; i < np; i++) sum += alpha[i];
  const double mean = sum / (double)np;
  /* J = O·(1 − ā): dL/dcomp scales by (1 − ā); −J's derivative in α_i through ā is O/np */
  const float keep = (float)(1.0 - mean), through_mean = (float)(objective / (double)np);
  const float *restrict bg = a->bgp;
  for (size_t i = 0; i < np; i++) {
    float d = 0;
    for (int c = 0; c < 3; c++) {
      const float g = keep * dcomp[3 * i + c];
      dfg[3 * i + c] = g * alpha[i];
      d += g * (fg[3 * i + c] - bg[3 * i + c]);
    }
    dalpha[i] = d + through_mean;
  }
  double j = objective * (1.0 - mean);
  if (a->blur > 0) {
    fv_obj_term t = fv_obj_default(FV_OBJ_BLUR);
    t.weight = -a->blur;
    const int dims[4] = {a->n, a->h, a->w, 1};
    j += fv_obj_eval(&t, dims, alpha, dalpha);
  }
  return j;
}
