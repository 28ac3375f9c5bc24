/* lowres.c — bilinear resize of a low-resolution tensor and its adjoint; see lowres.h.
 * The forward runs output row by output row, a twin (kernels.inc, up_row): the
 * scalar one, and with c = 3 (RGB) a SIMD one over 4 outputs along x (12
 * interleaved floats, the taps gathered), each float's taps added in the
 * scalar's order with the scalar's weights: the same bits. The adjoint, a
 * scatter, is a twin (adj_row) of the same kind: a tap's 3 floats as one
 * vector, the taps in the scalar's order. */
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

/* ---- the forward, one output row: dst [dw][c] += Σ_ab Σ_e (wab[ab]·wx[e])·rows[ab][xs[e]] ----
 * rows: the 4 source rows (batch tap a, row tap b; ab = 2a + b), wab their weights wn[a]·wy[b],
 * the order and association of the adjoint's taps (adj_one). */
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

/* Output row (n, y) reads the 4 source rows at[ab] (offsets into the source, in floats)
 * with weights wab[ab], a over n's two taps, b over y's. */
static void row_taps(const fv_lowres *t, int n, int y, size_t at[4], float wab[4]) {
  int n0, n1, y0, y1;
  float fn, fy;
  taps(n, t->sn, t->dn, &n0, &n1, &fn);
  taps(y, t->sh, t->dh, &y0, &y1, &fy);
  const int ns[2] = {n0, n1}, ys[2] = {y0, y1};
  const float wn[2] = {1 - fn, fn}, wy[2] = {1 - fy, fy};
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) {
      at[2 * a + b] = ((size_t)ns[a] * t->sh + ys[b]) * t->sw * t->c;
      wab[2 * a + b] = wn[a] * wy[b];
    }
}

void fv_lowres_up(const fv_lowres *t, const float *src, float *dst) {
  const int c = t->c;
  for (int n = 0; n < t->dn; n++)
    for (int y = 0; y < t->dh; y++) {
      size_t at[4];
      float wab[4];
      row_taps(t, n, y, at, wab);
      const float *rows[4] = {src + at[0], src + at[1], src + at[2], src + at[3]};
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

/* ---- the adjoint, one output row: rows[ab][xs[e]] += (wab[ab]·wx[e])·ddst[x], x in order ----
 * A scatter: two outputs (and at an edge two taps of one output) may share a
 * source, and each source float gets its terms in this order in both twins.
 * The SIMD twin (c = 3) adds a tap's 3 floats as one vector whose fourth lane
 * adds −0 (x + −0 is x, bit for bit), where that lane stays inside the buffers. */
static inline void adj_one(const fv_lowres *t, float *const rows[4], const float wab[4], int x, const float *in) {
  const int c = t->c;
  int x0, x1;
  float fx;
  taps(x, t->sw, t->dw, &x0, &x1, &fx);
  const int xs[2] = {x0, x1};
  const float wx[2] = {1 - fx, fx};
  const float *i = in + (size_t)x * c;
  for (int ab = 0; ab < 4; ab++)
    for (int e = 0; e < 2; e++) {
      const float wt = wab[ab] * wx[e];
      float *r = rows[ab] + (size_t)xs[e] * c;
      for (int k = 0; k < c; k++) r[k] += wt * i[k];
    }
}

static void adj_row__scalar(const fv_lowres *t, float *const rows[4], const float wab[4], const float *in, int in_whole,
                            const float *end) {
  (void)in_whole, (void)end;
  for (int x = 0; x < t->dw; x++) adj_one(t, rows, wab, x, in);
}

#ifdef __wasm_simd128__
/* in_whole: the row's last output may read a fourth float past it; end: dsrc's end */
static void adj_row__wasmsimd(const fv_lowres *t, float *const rows[4], const float wab[4], const float *in,
                              int in_whole, const float *end) {
  if (t->c != 3) {
    adj_row__scalar(t, rows, wab, in, in_whole, end);
    return;
  }
  const v128_t three = wasm_i32x4_make(-1, -1, -1, 0), nz = wasm_f32x4_splat(-0.0f);
  for (int x = 0; x < t->dw; x++) {
    if (x == t->dw - 1 && !in_whole) {
      adj_one(t, rows, wab, x, in);
      continue;
    }
    int x0, x1;
    float fx;
    taps(x, t->sw, t->dw, &x0, &x1, &fx);
    const int xs[2] = {x0, x1};
    const float wx[2] = {1 - fx, fx};
    const v128_t iv = wasm_v128_load(in + (size_t)x * 3);
    for (int ab = 0; ab < 4; ab++)
      for (int e = 0; e < 2; e++) {
        const float wt = wab[ab] * wx[e];
        float *r = rows[ab] + (size_t)xs[e] * 3;
        if (end - r < 4) { /* the last source pixel: no fourth float to carry */
          for (int k = 0; k < 3; k++) r[k] += wt * in[(size_t)x * 3 + k];
          continue;
        }
        const v128_t add = wasm_v128_bitselect(wasm_f32x4_mul(wasm_f32x4_splat(wt), iv), nz, three);
        wasm_v128_store(r, wasm_f32x4_add(wasm_v128_load(r), add));
      }
  }
}
#endif

void fv_lowres_up_adjoint(const fv_lowres *t, const float *ddst, float *dsrc) {
  const size_t count = fv_lowres_count(t);
  memset(dsrc, 0, count * sizeof(float));
  const int c = t->c;
  for (int n = 0; n < t->dn; n++)
    for (int y = 0; y < t->dh; y++) {
      size_t at[4];
      float wab[4];
      row_taps(t, n, y, at, wab);
      float *rows[4] = {dsrc + at[0], dsrc + at[1], dsrc + at[2], dsrc + at[3]};
      const float *in = ddst + ((size_t)n * t->dh + y) * t->dw * c;
      const int in_whole = n < t->dn - 1 || y < t->dh - 1; /* a row follows: its first float is readable */
#ifdef __wasm_simd128__
      if (fv_kernels_simd_enabled()) {
        adj_row__wasmsimd(t, rows, wab, in, in_whole, dsrc + count);
        continue;
      }
#endif
      adj_row__scalar(t, rows, wab, in, in_whole, dsrc + count);
    }
}
