/* lowres.c — bilinear resize of a low-resolution tensor and its adjoint; see lowres.h.
 * The forward runs output row by output row, a twin (kernels.inc, up_row): the
 * scalar one, and with c = 3 (RGB) a SIMD one over 4 outputs along x (12
 * interleaved floats, the taps gathered), each float's taps added in the
 * scalar's order with the scalar's weights: the same bits. The adjoint scatters
 * (scalar: two outputs may share a tap, and its sums keep their order). */
#include <string.h>

#include "lowres.h"
#include "kernels/kernels.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

size_t fv_lowres_count(const fv_lowres *t) { return (size_t)t->sn * t->sh * t->sw * t->c; }

/* output o of d along an axis of s samples: taps i0, i1 with weights 1 − f, f */
static void taps(int o, int s, int d, int *i0, int *i1, float *f) {
  const double x = (double)o * s / d;
  int a = (int)x;
  if (a > s - 1) a = s - 1;
  *i0 = a;
  *i1 = a + 1 < s ? a + 1 : s - 1;
  *f = (float)(x - a);
}

/* The adjoint: over every output float with its 8 taps, scattering (the forward's
 * order, so the sums are the same bits every run). */
static void walk_adjoint(const fv_lowres *t, const float *in, float *out) {
  const int c = t->c;
  for (int n = 0; n < t->dn; n++) {
    int n0, n1;
    float fn;
    taps(n, t->sn, t->dn, &n0, &n1, &fn);
    for (int y = 0; y < t->dh; y++) {
      int y0, y1;
      float fy;
      taps(y, t->sh, t->dh, &y0, &y1, &fy);
      for (int x = 0; x < t->dw; x++) {
        int x0, x1;
        float fx;
        taps(x, t->sw, t->dw, &x0, &x1, &fx);
        const int ns[2] = {n0, n1}, ys[2] = {y0, y1}, xs[2] = {x0, x1};
        const float wn[2] = {1 - fn, fn}, wy[2] = {1 - fy, fy}, wx[2] = {1 - fx, fx};
        const size_t o = (((size_t)n * t->dh + y) * t->dw + x) * c;
        for (int a = 0; a < 2; a++)
          for (int b = 0; b < 2; b++)
            for (int e = 0; e < 2; e++) {
              const float wt = wn[a] * wy[b] * wx[e];
              const size_t s = (((size_t)ns[a] * t->sh + ys[b]) * t->sw + xs[e]) * c;
              for (int k = 0; k < c; k++) out[s + k] += wt * in[o + k];
            }
      }
    }
  }
}

/* ---- the forward, one output row: dst [dw][c] += Σ_ab Σ_e (wab[ab]·wx[e])·rows[ab][xs[e]] ----
 * rows: the 4 source rows (batch tap a, row tap b; ab = 2a + b), wab their weights wn[a]·wy[b],
 * the order and association of the adjoint's taps (walk_adjoint). */
static inline void up_one(const fv_lowres *t, const float *const rows[4], const float wab[4], int x, float *dst) {
  const int c = t->c;
  int x0, x1;
  float fx;
  taps(x, t->sw, t->dw, &x0, &x1, &fx);
  const int xs[2] = {x0, x1};
  const float wx[2] = {1 - fx, fx};
  float *o = dst + (size_t)x * c;
  for (int ab = 0; ab < 4; ab++)
    for (int e = 0; e < 2; e++) {
      const float wt = wab[ab] * wx[e];
      const float *r = rows[ab] + (size_t)xs[e] * c;
      for (int k = 0; k < c; k++) o[k] += wt * r[k];
    }
}

static void up_row__scalar(const fv_lowres *t, const float *const rows[4], const float wab[4], float *dst) {
  for (int x = 0; x < t->dw; x++) up_one(t, rows, wab, x, dst);
}

#ifdef __wasm_simd128__
#define SHUF wasm_i32x4_shuffle
static void up_row__wasmsimd(const fv_lowres *t, const float *const rows[4], const float wab[4], float *dst) {
  if (t->c != 3) {
    up_row__scalar(t, rows, wab, dst);
    return;
  }
  int x = 0;
  for (; x + 4 <= t->dw; x += 4) {
    int xs[2][4];
    float wx[2][4];
    for (int j = 0; j < 4; j++) {
      float fx;
      taps(x + j, t->sw, t->dw, &xs[0][j], &xs[1][j], &fx);
      wx[0][j] = 1 - fx, wx[1][j] = fx;
    }
    float *o = dst + (size_t)x * 3;
    v128_t acc0 = wasm_v128_load(o), acc1 = wasm_v128_load(o + 4), acc2 = wasm_v128_load(o + 8);
    for (int ab = 0; ab < 4; ab++)
      for (int e = 0; e < 2; e++) {
        const v128_t wt = wasm_f32x4_mul(wasm_f32x4_splat(wab[ab]), wasm_v128_load(wx[e])); /* 4 outputs' weights */
        const float *r = rows[ab];
        const float *p0 = r + 3 * xs[e][0], *p1 = r + 3 * xs[e][1], *p2 = r + 3 * xs[e][2], *p3 = r + 3 * xs[e][3];
        const v128_t v0 = wasm_f32x4_make(p0[0], p0[1], p0[2], p1[0]);
        const v128_t v1 = wasm_f32x4_make(p1[1], p1[2], p2[0], p2[1]);
        const v128_t v2 = wasm_f32x4_make(p2[2], p3[0], p3[1], p3[2]);
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(SHUF(wt, wt, 0, 0, 0, 1), v0));
        acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(SHUF(wt, wt, 1, 1, 2, 2), v1));
        acc2 = wasm_f32x4_add(acc2, wasm_f32x4_mul(SHUF(wt, wt, 2, 3, 3, 3), v2));
      }
    wasm_v128_store(o, acc0), wasm_v128_store(o + 4, acc1), wasm_v128_store(o + 8, acc2);
  }
  for (; x < t->dw; x++) up_one(t, rows, wab, x, dst); /* the tail */
}
#undef SHUF
#endif

void fv_lowres_up(const fv_lowres *t, const float *src, float *dst) {
  const int c = t->c;
  for (int n = 0; n < t->dn; n++) {
    int n0, n1;
    float fn;
    taps(n, t->sn, t->dn, &n0, &n1, &fn);
    for (int y = 0; y < t->dh; y++) {
      int y0, y1;
      float fy;
      taps(y, t->sh, t->dh, &y0, &y1, &fy);
      const int ns[2] = {n0, n1}, ys[2] = {y0, y1};
      const float wn[2] = {1 - fn, fn}, wy[2] = {1 - fy, fy};
      const float *rows[4];
      float wab[4];
      for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
          rows[2 * a + b] = src + ((size_t)ns[a] * t->sh + ys[b]) * t->sw * c;
          wab[2 * a + b] = wn[a] * wy[b];
        }
      float *row = dst + ((size_t)n * t->dh + y) * t->dw * c;
#ifdef __wasm_simd128__
      if (fv_kernels_simd_enabled()) {
        up_row__wasmsimd(t, rows, wab, row);
        continue;
      }
#endif
      up_row__scalar(t, rows, wab, row);
    }
  }
}

void fv_lowres_up_adjoint(const fv_lowres *t, const float *ddst, float *dsrc) {
  memset(dsrc, 0, fv_lowres_count(t) * sizeof(float));
  walk_adjoint(t, ddst, dsrc);
}
