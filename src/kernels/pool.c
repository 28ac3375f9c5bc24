/* pool.c — AVERAGE_POOL_2D and MAX_POOL_2D, forward and input-gradient, NHWC.
 *
 * Geometry comes filled in by the caller (fv_conv_shape: pt/pl/pb/pr, oh/ow;
 * oc = ic; dilation is ignored, neither TFLite nor the ONNX loader makes
 * dilated pools). A global pool is one whose window is the whole input map
 * (the graph plans it so). Padded positions are not taps: a max is over
 * in-bounds taps only, and an average divides by the number of in-bounds
 * taps, as TFLite and ONNX's count_include_pad = 0 do; with s->count_pad
 * (ONNX count_include_pad = 1) it divides by the taps inside the padded
 * input instead, so pads count but a ceil-mode window's overhang past the
 * bottom/right pad does not (ONNX's and PyTorch's definition). Ceil mode
 * needs nothing here: windows past the edge are cut like any border window.
 * A window with no in-bounds tap (possible only when a pad is as large as
 * the window) yields 0. The fused activation s->act is applied.
 *
 * MAX_POOL_2D's gradient goes to the argmax, recomputed from x (y may be
 * clamped by the activation), ties to the first tap in (ky, kx) order; or
 * from the argmax that maxpool2d_idx recorded beside its forward, when the
 * caller kept it (graph.c, with gradients): the same adds, no search.
 *
 * The SIMD twins vectorize over channels and visit the taps in the scalar
 * order with the scalar comparisons (the max as pmax, `m < v ? v : m`; the
 * argmax as a strict greater-than select), so they match the scalar kernels
 * exactly; the global pool at the end of MobileNet and GoogLeNet's 3×3
 * stride-2 max pools are the hot cases.
 */
#include <assert.h>
#include <math.h>
#include "clamp.h"
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

/* The in-bounds taps of one output position: rows [y0, y1), cols [x0, x1) of
 * the input; taps their number, div the average's divisor. */
typedef struct {
  int y0, y1, x0, x1, taps, div;
} window;

static inline int imin(int a, int b) { return a < b ? a : b; }

static inline window window_at(const fv_conv_shape *s, int oy, int ox) {
  window r;
  const int iy = oy * s->sh - s->pt, ix = ox * s->sw - s->pl;
  r.y0 = iy > 0 ? iy : 0;
  r.y1 = imin(iy + s->kh, s->ih);
  r.x0 = ix > 0 ? ix : 0;
  r.x1 = imin(ix + s->kw, s->iw);
  if (r.y1 < r.y0) r.y1 = r.y0;
  if (r.x1 < r.x0) r.x1 = r.x0;
  r.taps = (r.y1 - r.y0) * (r.x1 - r.x0);
  r.div = r.taps;
  if (s->count_pad) { /* the window cut at the padded input's far edges, pads included */
    const int h = imin(iy + s->kh, s->ih + s->pb) - iy, w = imin(ix + s->kw, s->iw + s->pr) - ix;
    r.div = h > 0 && w > 0 ? h * w : 0;
  }
  return r;
}

/* Channel c of a window, in the scalar order (the SIMD kernels' channel tails use these too). */
static inline float window_sum(const fv_conv_shape *s, const window *r, const float *xn, int c) {
  float sum = 0.0f;
  for (int iy = r->y0; iy < r->y1; iy++)
    for (int ix = r->x0; ix < r->x1; ix++) sum += xn[((size_t)iy * s->iw + ix) * s->ic + c];
  return sum;
}
static inline float window_max(const fv_conv_shape *s, const window *r, const float *xn, int c) {
  float m = -INFINITY;
  for (int iy = r->y0; iy < r->y1; iy++)
    for (int ix = r->x0; ix < r->x1; ix++) {
      const float v = xn[((size_t)iy * s->iw + ix) * s->ic + c];
      if (v > m) m = v;
    }
  return m;
}
/* the pixel (iy·iw + ix) of the window's first largest value */
static inline int window_argmax(const fv_conv_shape *s, const window *r, const float *xn, int c) {
  int best = r->y0 * s->iw + r->x0;
  for (int iy = r->y0; iy < r->y1; iy++)
    for (int ix = r->x0; ix < r->x1; ix++) {
      const int p = iy * s->iw + ix;
      if (xn[(size_t)p * s->ic + c] > xn[(size_t)best * s->ic + c]) best = p; /* strict: ties stay with the first */
    }
  return best;
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
        for (int c = 0; c < C; c++) y[c] = r.div ? fv_act1(s->act, window_sum(s, &r, xn, c) / (float)r.div) : 0.0f;
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
            for (int c = 0; c < C; c++) d[c] += dy[c] / (float)r.div;
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
        for (int c = 0; c < C; c++) y[c] = r.taps ? fv_act1(s->act, window_max(s, &r, xn, c)) : 0.0f;
      }
  }
}

/* The channels this gradient call adds into: [s->gc0, s->gc1), or all (gc1 = 0). */
static inline void grad_channels(const fv_conv_shape *s, int *c0, int *c1) {
  *c0 = s->gc1 ? s->gc0 : 0;
  *c1 = s->gc1 ? s->gc1 : s->ic;
}

void fv_f32_maxpool2d_grad__scalar(const fv_conv_shape *s, const float *x, const float *y, const float *dy,
                                   float *dx) {
  (void)y; /* the argmax is recomputed from x: y may be clamped by the activation */
  check_shape(s);
  const int C = s->ic;
  int c0, c1;
  grad_channels(s, &c0, &c1);
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    float *dxn = dx + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, dy += C) {
        window r = window_at(s, oy, ox);
        if (!r.taps) continue;
        for (int c = c0; c < c1; c++) dxn[(size_t)window_argmax(s, &r, xn, c) * C + c] += dy[c];
      }
  }
}

void fv_f32_maxpool2d_idx__scalar(const fv_conv_shape *s, const float *x, float *y, int32_t *idx) {
  check_shape(s);
  const int C = s->ic;
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, y += C, idx += C) {
        window r = window_at(s, oy, ox);
        for (int c = 0; c < C; c++) {
          y[c] = r.taps ? fv_act1(s->act, window_max(s, &r, xn, c)) : 0.0f;
          idx[c] = r.taps ? window_argmax(s, &r, xn, c) : -1;
        }
      }
  }
}

void fv_f32_maxpool2d_grad_idx__scalar(const fv_conv_shape *s, const int32_t *idx, const float *dy, float *dx) {
  check_shape(s);
  const int C = s->ic;
  int c0, c1;
  grad_channels(s, &c0, &c1);
  for (int n = 0; n < s->n; n++) {
    float *dxn = dx + (size_t)n * s->ih * s->iw * C;
    for (int o = 0; o < s->oh * s->ow; o++, dy += C, idx += C)
      for (int c = c0; c < c1; c++)
        if (idx[c] >= 0) dxn[(size_t)idx[c] * C + c] += dy[c];
  }
}

/* ==== wasm simd ================================================================== */
#ifdef __wasm_simd128__

void fv_f32_avgpool2d__wasmsimd(const fv_conv_shape *s, const float *x, float *y) {
  check_shape(s);
  const int C = s->ic;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t lo, hi;
  fv_act_bounds(s->act, &lo, &hi);
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, y += C) {
        window r = window_at(s, oy, ox);
        const v128_t cnt = wasm_f32x4_splat((float)r.div);
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
          s0 = fv_act4(wasm_f32x4_div(s0, cnt), lo, hi);
          s1 = fv_act4(wasm_f32x4_div(s1, cnt), lo, hi);
          if (!r.div) s0 = s1 = zero;
          wasm_v128_store(y + c, s0);
          wasm_v128_store(y + c + 4, s1);
        }
        for (; c + 4 <= C; c += 4) {
          v128_t s0 = zero;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++)
              s0 = wasm_f32x4_add(s0, wasm_v128_load(xn + ((size_t)iy * s->iw + ix) * C + c));
          s0 = fv_act4(wasm_f32x4_div(s0, cnt), lo, hi);
          wasm_v128_store(y + c, r.div ? s0 : zero);
        }
        for (; c < C; c++) y[c] = r.div ? fv_act1(s->act, window_sum(s, &r, xn, c) / (float)r.div) : 0.0f;
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
        const float cnt = (float)r.div;
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

void fv_f32_maxpool2d__wasmsimd(const fv_conv_shape *s, const float *x, float *y) {
  check_shape(s);
  const int C = s->ic;
  const v128_t zero = wasm_f32x4_splat(0.0f), ninf = wasm_f32x4_splat(-INFINITY);
  v128_t lo, hi;
  fv_act_bounds(s->act, &lo, &hi);
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, y += C) {
        window r = window_at(s, oy, ox);
        int c = 0;
        for (; c + 8 <= C; c += 8) {
          v128_t m0 = ninf, m1 = ninf;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) {
              const float *p = xn + ((size_t)iy * s->iw + ix) * C + c;
              m0 = wasm_f32x4_pmax(m0, wasm_v128_load(p)); /* m < v ? v : m, the scalar `if (v > m) m = v` */
              m1 = wasm_f32x4_pmax(m1, wasm_v128_load(p + 4));
            }
          wasm_v128_store(y + c, r.taps ? fv_act4(m0, lo, hi) : zero);
          wasm_v128_store(y + c + 4, r.taps ? fv_act4(m1, lo, hi) : zero);
        }
        for (; c + 4 <= C; c += 4) {
          v128_t m0 = ninf;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++)
              m0 = wasm_f32x4_pmax(m0, wasm_v128_load(xn + ((size_t)iy * s->iw + ix) * C + c));
          wasm_v128_store(y + c, r.taps ? fv_act4(m0, lo, hi) : zero);
        }
        for (; c < C; c++) y[c] = r.taps ? fv_act1(s->act, window_max(s, &r, xn, c)) : 0.0f;
      }
  }
}

/* Per 4 channels the best value and its pixel (iy·iw + ix, as i32 lanes),
 * replaced on a strictly greater value as the scalar kernel does; then each
 * lane's dy goes to its pixel. */
void fv_f32_maxpool2d_grad__wasmsimd(const fv_conv_shape *s, const float *x, const float *y, const float *dy,
                                     float *dx) {
  (void)y;
  check_shape(s);
  const int C = s->ic;
  int c0, c1;
  grad_channels(s, &c0, &c1);
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    float *dxn = dx + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, dy += C) {
        window r = window_at(s, oy, ox);
        if (!r.taps) continue;
        const int first = r.y0 * s->iw + r.x0;
        int c = c0;
        for (; c + 4 <= c1; c += 4) {
          v128_t bv = wasm_v128_load(xn + (size_t)first * C + c), bi = wasm_i32x4_splat(first);
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) {
              const int p = iy * s->iw + ix;
              const v128_t v = wasm_v128_load(xn + (size_t)p * C + c), gt = wasm_f32x4_gt(v, bv);
              bv = wasm_v128_bitselect(v, bv, gt);
              bi = wasm_v128_bitselect(wasm_i32x4_splat(p), bi, gt);
            }
          const int p0 = wasm_i32x4_extract_lane(bi, 0), p1 = wasm_i32x4_extract_lane(bi, 1);
          const int p2 = wasm_i32x4_extract_lane(bi, 2), p3 = wasm_i32x4_extract_lane(bi, 3);
          dxn[(size_t)p0 * C + c] += dy[c];
          dxn[(size_t)p1 * C + c + 1] += dy[c + 1];
          dxn[(size_t)p2 * C + c + 2] += dy[c + 2];
          dxn[(size_t)p3 * C + c + 3] += dy[c + 3];
        }
        for (; c < c1; c++) dxn[(size_t)window_argmax(s, &r, xn, c) * C + c] += dy[c];
      }
  }
}

/* The forward's max (pmax from -inf, as fv_maxpool2d) and, beside it, the
 * gradient's argmax (strict greater-than from the first tap, as
 * fv_maxpool2d_grad): two chains over the same loads. */
void fv_f32_maxpool2d_idx__wasmsimd(const fv_conv_shape *s, const float *x, float *y, int32_t *idx) {
  check_shape(s);
  const int C = s->ic;
  const v128_t zero = wasm_f32x4_splat(0.0f), ninf = wasm_f32x4_splat(-INFINITY), none = wasm_i32x4_splat(-1);
  v128_t lo, hi;
  fv_act_bounds(s->act, &lo, &hi);
  for (int n = 0; n < s->n; n++) {
    const float *xn = x + (size_t)n * s->ih * s->iw * C;
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++, y += C, idx += C) {
        window r = window_at(s, oy, ox);
        const int first = r.y0 * s->iw + r.x0;
        int c = 0;
        /* 8 channels at a time when the window has taps: two sets of chains hide the latency */
        for (; r.taps && c + 8 <= C; c += 8) {
          const float *f = xn + (size_t)first * C + c;
          v128_t m0 = ninf, m1 = ninf, b0 = wasm_v128_load(f), b1 = wasm_v128_load(f + 4);
          v128_t i0 = wasm_i32x4_splat(first), i1 = i0;
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) {
              const int p = iy * s->iw + ix;
              const float *q = xn + (size_t)p * C + c;
              const v128_t v0 = wasm_v128_load(q), v1 = wasm_v128_load(q + 4), pp = wasm_i32x4_splat(p);
              const v128_t g0 = wasm_f32x4_gt(v0, b0), g1 = wasm_f32x4_gt(v1, b1);
              m0 = wasm_f32x4_pmax(m0, v0);
              m1 = wasm_f32x4_pmax(m1, v1);
              b0 = wasm_v128_bitselect(v0, b0, g0);
              b1 = wasm_v128_bitselect(v1, b1, g1);
              i0 = wasm_v128_bitselect(pp, i0, g0);
              i1 = wasm_v128_bitselect(pp, i1, g1);
            }
          wasm_v128_store(y + c, fv_act4(m0, lo, hi));
          wasm_v128_store(y + c + 4, fv_act4(m1, lo, hi));
          wasm_v128_store(idx + c, i0);
          wasm_v128_store(idx + c + 4, i1);
        }
        for (; c + 4 <= C; c += 4) {
          if (!r.taps) {
            wasm_v128_store(y + c, zero);
            wasm_v128_store(idx + c, none);
            continue;
          }
          v128_t m = ninf, bv = wasm_v128_load(xn + (size_t)first * C + c), bi = wasm_i32x4_splat(first);
          for (int iy = r.y0; iy < r.y1; iy++)
            for (int ix = r.x0; ix < r.x1; ix++) {
              const int p = iy * s->iw + ix;
              const v128_t v = wasm_v128_load(xn + (size_t)p * C + c), gt = wasm_f32x4_gt(v, bv);
              m = wasm_f32x4_pmax(m, v);
              bv = wasm_v128_bitselect(v, bv, gt);
              bi = wasm_v128_bitselect(wasm_i32x4_splat(p), bi, gt);
            }
          wasm_v128_store(y + c, fv_act4(m, lo, hi));
          wasm_v128_store(idx + c, bi);
        }
        for (; c < C; c++) {
          y[c] = r.taps ? fv_act1(s->act, window_max(s, &r, xn, c)) : 0.0f;
          idx[c] = r.taps ? window_argmax(s, &r, xn, c) : -1;
        }
      }
  }
}

#endif
