/* alpha.c — compositing over a random background and its adjoint; see alpha.h.
 * The per-pixel loops are twins (listed in kernels.inc): a plain scalar one
 * and a SIMD one over 4 pixels (12 interleaved floats) doing the same
 * operations in the same order, so the two give the same bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alpha.h"
#include "objective.h"
#include "param.h"
#include "rng.h"
#include "kernels/kernels.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#define SHUF wasm_i32x4_shuffle
#endif

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

/* ---- the composite: out = fg·α + bg·(1 − α), pixels [0, np) ---- */
static void composite__scalar(size_t np, const float *restrict fg, const float *restrict alpha,
                              const float *restrict bg, float *restrict out) {
  for (size_t i = 0; i < np; i++)
    for (int c = 0; c < 3; c++) out[3 * i + c] = fg[3 * i + c] * alpha[i] + bg[3 * i + c] * (1.0f - alpha[i]);
}

/* ---- the adjoint: g = keep·dcomp, dfg = g·α, dα = Σ_c g·(fg − bg) + through_mean ---- */
static void backward__scalar(size_t np, float keep, float through_mean, const float *dcomp,
                             const float *restrict fg, const float *restrict alpha, const float *restrict bg,
                             float *dfg, float *restrict dalpha) {
  for (size_t i = 0; i < np; i++) {
    float d = 0;
    for (int c = 0; c < 3; c++) {
      const float g = keep * dcomp[3 * i + c];
      dfg[3 * i + c] = g * alpha[i]; /* dfg may be dcomp: element by element, after reading it */
      d += g * (fg[3 * i + c] - bg[3 * i + c]);
    }
    dalpha[i] = d + through_mean;
  }
}

#ifdef __wasm_simd128__
/* α of 4 pixels [a0 a1 a2 a3] spread over their 12 interleaved floats */
static inline void spread4(v128_t a, v128_t s[3]) {
  s[0] = SHUF(a, a, 0, 0, 0, 1), s[1] = SHUF(a, a, 1, 1, 2, 2), s[2] = SHUF(a, a, 2, 3, 3, 3);
}

static void composite__wasmsimd(size_t np, const float *fg, const float *alpha, const float *bg, float *out) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  size_t i = 0;
  for (; i + 4 <= np; i += 4) {
    v128_t s[3];
    spread4(wasm_v128_load(alpha + i), s);
    for (int v = 0; v < 3; v++) {
      const size_t o = 3 * i + 4 * v;
      wasm_v128_store(out + o, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(fg + o), s[v]),
                                              wasm_f32x4_mul(wasm_v128_load(bg + o), wasm_f32x4_sub(one, s[v]))));
    }
  }
  composite__scalar(np - i, fg + 3 * i, alpha + i, bg + 3 * i, out + 3 * i); /* the tail */
}

static void backward__wasmsimd(size_t np, float keep, float through_mean, const float *dcomp, const float *fg,
                               const float *alpha, const float *bg, float *dfg, float *dalpha) {
  const v128_t k = wasm_f32x4_splat(keep), tm = wasm_f32x4_splat(through_mean);
  size_t i = 0;
  for (; i + 4 <= np; i += 4) {
    v128_t s[3], e[3];
    spread4(wasm_v128_load(alpha + i), s);
    for (int v = 0; v < 3; v++) {
      const size_t o = 3 * i + 4 * v;
      const v128_t g = wasm_f32x4_mul(k, wasm_v128_load(dcomp + o));
      e[v] = wasm_f32x4_mul(g, wasm_f32x4_sub(wasm_v128_load(fg + o), wasm_v128_load(bg + o)));
      wasm_v128_store(dfg + o, wasm_f32x4_mul(g, s[v]));
    }
    /* 12 interleaved terms → per channel, summed from 0 in the scalar's order */
    const v128_t c0 = SHUF(SHUF(e[0], e[1], 0, 3, 6, 0), e[2], 0, 1, 2, 5);
    const v128_t c1 = SHUF(SHUF(e[0], e[1], 1, 4, 7, 0), e[2], 0, 1, 2, 6);
    const v128_t c2 = SHUF(SHUF(e[0], e[1], 2, 5, 0, 0), e[2], 0, 1, 4, 7);
    const v128_t d = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_splat(0.0f), c0), c1), c2);
    wasm_v128_store(dalpha + i, wasm_f32x4_add(d, tm));
  }
  backward__scalar(np - i, keep, through_mean, dcomp + 3 * i, fg + 3 * i, alpha + i, bg + 3 * i, dfg + 3 * i,
                   dalpha + i); /* the tail */
}
#endif

const float *fv_alpha_composite(fv_alpha *a, const float *fg, const float *alpha) {
  fv_param_reset(a->bg, fv_rng_u64(&a->rng));
  const float *bg = a->bgp = fv_param_render(a->bg);
  const size_t np = (size_t)a->n * a->h * a->w;
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    composite__wasmsimd(np, fg, alpha, bg, a->comp);
    return a->comp;
  }
#endif
  composite__scalar(np, fg, alpha, bg, a->comp);
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
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) backward__wasmsimd(np, keep, through_mean, dcomp, fg, alpha, a->bgp, dfg, dalpha);
  else
#endif
    backward__scalar(np, keep, through_mean, dcomp, fg, alpha, a->bgp, dfg, dalpha);
  double j = objective * (1.0 - mean);
  if (a->blur > 0) {
    fv_obj_term t = fv_obj_default(FV_OBJ_BLUR);
    t.weight = -a->blur;
    const int dims[4] = {a->n, a->h, a->w, 1};
    j += fv_obj_eval(&t, dims, alpha, dalpha);
  }
  return j;
}
