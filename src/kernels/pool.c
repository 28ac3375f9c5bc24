/* pool.c — AVERAGE_POOL_2D and MAX_POOL_2D, forward and input-gradient, NHWC.
 *
 * Geometry comes filled in by the caller (fv_conv_shape: pt/pl, oh/ow; oc =
 * ic; dilation is ignored, TFLite pools have none). As in TFLite, padded
 * positions are not taps: an average divides by the number of in-bounds taps
 * and a max is over in-bounds taps only. A window with no in-bounds tap (not
 * reachable with SAME/VALID geometry) yields 0. The fused activation s->act
 * is applied.
 *
 * MAX_POOL_2D's gradient goes to the argmax, recomputed from x (y may be
 * clamped by the activation), ties to the first tap in (ky, kx) order.
 *
 * The SIMD average pool vectorizes over channels, summing taps in the scalar
 * order, so it matches the scalar kernel exactly; the global pool at the end
 * of MobileNet is its hot case.
 */
#include <assert.h>
#include <math.h>
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

/* prototypes from the signatures in kernels.h, so a mismatch fails to compile */
fv_pool_fn fv_f32_avgpool2d__scalar, fv_f32_avgpool2d__wasmsimd, fv_f32_maxpool2d__scalar;
fv_pool_grad_fn fv_f32_avgpool2d_grad__scalar, fv_f32_avgpool2d_grad__wasmsimd;
void fv_f32_maxpool2d_grad__scalar(const fv_conv_shape *s, const float *x, const float *y, const float *dy,
                                   float *dx);

/* Fused activation of one value, as compares so NaN passes through exactly as
 * wasm's pmax/pmin do in the SIMD twin (and as conv_family.h's fv_act1). */
static inline float act1(fv_act act, float v) {
  if (act == FV_ACT_NONE) return v;
  v = v < 0.0f ? 0.0f : v;
  return act == FV_ACT_RELU6 && v > 6.0f ? 6.0f : v;
}

/* The in-bounds taps of one output position: rows [y0, y1), cols [x0, x1) of the input. */
typedef struct {
  int y0, y1, x0, x1, count;
} window;

static inline window window_at(const fv_conv_shape *s, int oy, int ox) {
  window r;
  int iy = oy * s->sh - s->pt, ix = ox * s->sw - s->pl;
  r.y0 = iy > 0 ? iy : 0;
  r.y1 = iy + s->kh < s->ih ? iy + s->kh : s->ih;
  r.x0 = ix > 0 ? ix : 0;
  r.x1 = ix + s->kw < s->iw ? ix + s->kw : s->iw;
  if (r.y1 < r.y0) r.y1 = r.y0;
  if (r.x1 < r.x0) r.x1 = r.x0;
  r.count = (r.y1 - r.y0) * (r.x1 - r.x0);
  return r;
}

static void check_shape(const fv_conv_shape *s) {
  assert(s->oc == s->ic && s->sh > 0 && s->sw > 0);
  (void)s;
}

/* ==== scalar ===================================================================== */

void fv_f32_avgpool2d__scalar(const fv_conv_shape *s, const float *x, float *y) {
  check_shape(s);
  const int C = s->ic;
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, y += C) {
        window r = window_at(s, oy, ox);
        for (int c = 0; c < C; c++) {
          float sum = 0.0f;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) sum += xn[((size_t)iy * s->iw + ix) * C + c];
          y[c] = r.count ? act1(s->act, sum / (float)r.count) : 0.0f;
        }
      }
  }
}

void fv_f32_avgpool2d_grad__scalar(const fv_conv_shape *s, const float *dy, float *dx) {
  check_shape(s);
  const int C = s->ic;
  for (int n = 0; n < s->n; n++) {
    float *dxn = dx + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, dy += C) {
        window r = window_at(s, oy, ox);
        for (int iy = r.y0; iy < r.y1; iy++)
          for (int ix = r.x0; ix < r.x1; ix++) {
            float *d = dxn + ((size_t)iy * s->iw + ix) * C;
            for (int c = 0; c < C; c++) d[c] += dy[c] / (float)r.count;
          }
      }
  }
}

void fv_f32_maxpool2d__scalar(const fv_conv_shape *s, const float *x, float *y) {
  check_shape(s);
  const int C = s->ic;
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, y += C) {
        window r = window_at(s, oy, ox);
        for (int c = 0; c < C; c++) {
          float m = -INFINITY;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) {
              float v = xn[((size_t)iy * s->iw + ix) * C + c];
              if (v > m) m = v;
            }
          y[c] = r.count ? act1(s->act, m) : 0.0f;
        }
      }
  }
}

void fv_f32_maxpool2d_grad__scalar(const fv_conv_shape *s, const float *x, const float *y, const float *dy,
                                   float *dx) {
  (void)y; /* the argmax is recomputed from x: y may be clamped by the activation */
  check_shape(s);
  const int C = s->ic;
  for (int n = 0; n < s->n; n++) {
    const size_t off = (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, dy += C) {
        window r = window_at(s, oy, ox);
        if (!r.count) continue;
        for (int c = 0; c < C; c++) {
          size_t best = off + ((size_t)r.y0 * s->iw + r.x0) * C + c;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) {
              size_t k = off + ((size_t)iy * s->iw + ix) * C + c;
              if (x[k] > x[best]) best = k; /* strict: ties stay with the first */
            }
          dx[best] += dy[c];
        }
      }
  }
}

/* ==== wasm simd ================================================================== */
#ifdef __wasm_simd128__

void fv_f32_avgpool2d__wasmsimd(const fv_conv_shape *s, const float *x, float *y) {
  check_shape(s);
  const int C = s->ic;
  const fv_act act = s->act;
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, y += C) {
        window r = window_at(s, oy, ox);
        const v128_t cnt = wasm_f32x4_splat((float)r.count);
        int c = 0;
        /* 8 channels at a time: two independent sums hide the add latency */
        for (; c + 8 <= C; c += 8) {
          v128_t s0 = zero, s1 = zero;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) {
              const float *p = xn + ((size_t)iy * s->iw + ix) * C + c;
              s0 = wasm_f32x4_add(s0, wasm_v128_load(p));
              s1 = wasm_f32x4_add(s1, wasm_v128_load(p + 4));
            }
          s0 = wasm_f32x4_div(s0, cnt);
          s1 = wasm_f32x4_div(s1, cnt);
          if (act != FV_ACT_NONE) {
            s0 = wasm_f32x4_pmax(s0, zero);
            s1 = wasm_f32x4_pmax(s1, zero);
            if (act == FV_ACT_RELU6) {
              s0 = wasm_f32x4_pmin(s0, six);
              s1 = wasm_f32x4_pmin(s1, six);
            }
          }
          if (!r.count) s0 = s1 = zero;
          wasm_v128_store(y + c, s0);
          wasm_v128_store(y + c + 4, s1);
        }
        for (; c + 4 <= C; c += 4) {
          v128_t s0 = zero;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++)
              s0 = wasm_f32x4_add(s0, wasm_v128_load(xn + ((size_t)iy * s->iw + ix) * C + c));
          s0 = wasm_f32x4_div(s0, cnt);
          if (act != FV_ACT_NONE) {
            s0 = wasm_f32x4_pmax(s0, zero);
            if (act == FV_ACT_RELU6) s0 = wasm_f32x4_pmin(s0, six);
          }
          wasm_v128_store(y + c, r.count ? s0 : zero);
        }
        for (; c < C; c++) {
          float sum = 0.0f;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) sum += xn[((size_t)iy * s->iw + ix) * C + c];
          y[c] = r.count ? act1(act, sum / (float)r.count) : 0.0f;
        }
      }
  }
}

void fv_f32_avgpool2d_grad__wasmsimd(const fv_conv_shape *s, const float *dy, float *dx) {
  check_shape(s);
  const int C = s->ic;
  for (int n = 0; n < s->n; n++) {
    float *dxn = dx + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, dy += C) {
        window r = window_at(s, oy, ox);
        const float cnt = (float)r.count;
        const v128_t cnt4 = wasm_f32x4_splat(cnt);
        for (int iy = r.y0; iy < r.y1; iy++)
          for (int ix = r.x0; ix < r.x1; ix++) {
            float *d = dxn + ((size_t)iy * s->iw + ix) * C;
            int c = 0;
            for (; c + 4 <= C; c += 4) {
              v128_t g = wasm_f32x4_div(wasm_v128_load(dy + c), cnt4);
              wasm_v128_store(d + c, wasm_f32x4_add(wasm_v128_load(d + c), g));
            }
            for (; c < C; c++) d[c] += dy[c] / cnt;
          }
      }
  }
}

#endif

/* ==== dispatch =================================================================== */

void fv_avgpool2d(const fv_conv_shape *s, const float *x, float *y) { FV_PICK(avgpool2d)(s, x, y); }

void fv_avgpool2d_grad(const fv_conv_shape *s, const float *dy, float *dx) { FV_PICK(avgpool2d_grad)(s, dy, dx); }

void fv_maxpool2d(const fv_conv_shape *s, const float *x, float *y) { fv_f32_maxpool2d__scalar(s, x, y); }

void fv_maxpool2d_grad(const fv_conv_shape *s, const float *x, const float *y, const float *dy, float *dx) {
  fv_f32_maxpool2d_grad__scalar(s, x, y, dy, dx);
}
