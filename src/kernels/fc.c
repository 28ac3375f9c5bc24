/* fc.c — FULLY_CONNECTED forward and input gradient; the GEMMs of the conv family.
 *
 *   fv_f32_fc:      y[n][oc]  = act(x[n][ic] · w[oc][ic]ᵀ + b)
 *   fv_f32_fc_grad: dx[n][ic] += dy[n][oc] · w[oc][ic]
 *
 * conv.c runs every CONV_2D through these two (1×1 convs directly, others
 * via im2col / col2im), so their speed is the engine's speed.
 *
 * SIMD scheme: one register-blocked micro-kernel computes a 4-row × 8-column
 * tile with 8 f32x4 accumulators: per step k it loads 8 packed weights (two
 * vectors), broadcasts one value of each of the 4 rows, and does 8
 * multiply-adds. The weights are packed into a small stack panel first:
 *  - forward: w is [oc][ic] (OC-major), the tile's columns are 8 output
 *    channels, so the panel is w transposed, pw[k][8] for a KC-long slice of ic;
 *  - gradient: the tile's columns are 8 input channels, contiguous in w, so
 *    the panel is a plain copy pw[o][8] of an OCB-long slice of oc.
 * Rows are blocked by MC so a block of x stays in cache while every column
 * panel streams over it. Short tiles at the edges (rows < 4, columns < 8)
 * go through a stack tile: the same micro-kernel, no out-of-bounds access.
 */
#include "conv_family.h"

/* ---- scalar reference ---------------------------------------------------- */

void fv_f32_fc__scalar(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act,
                       float *y) {
  for (int i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * ic;
    for (int o = 0; o < oc; o++) {
      const float *wo = w + (size_t)o * ic;
      float acc = b ? b[o] : 0.0f;
      for (int k = 0; k < ic; k++) acc += xi[k] * wo[k];
      y[(size_t)i * oc + o] = fv_act1(act, acc);
    }
  }
}

void fv_f32_fc_grad__scalar(int n, int ic, int oc, const float *dy, const float *w, float *dx) {
  for (int i = 0; i < n; i++) {
    float *dxi = dx + (size_t)i * ic;
    for (int o = 0; o < oc; o++) {
      const float g = dy[(size_t)i * oc + o];
      const float *wo = w + (size_t)o * ic;
      for (int k = 0; k < ic; k++) dxi[k] += g * wo[k];
    }
  }
}

/* ---- WASM SIMD ------------------------------------------------------------- */
#ifdef __wasm_simd128__

#define FC_MR 4     /* tile rows */
#define FC_NR 8     /* tile columns (two f32x4) */
#define FC_KC 256   /* forward: ic slice per packed panel (8 KB) */
#define FC_OCB 512  /* gradient: oc slice per packed panel (16 KB) */
#define FC_MC 64    /* rows per block kept in cache across panels */

/* c[r][0..8] = (load ? c[r] : init) + Σ_k a[r][k] · pw[k][0..8], then clamped to [lo, hi].
 * a rows are read at a[r][0..kc); c rows are 8 contiguous floats each. */
static inline __attribute__((always_inline)) void tile_4x8(int kc, const float *a0, const float *a1,
                                                           const float *a2, const float *a3, const float *pw,
                                                           float *c0, float *c1, float *c2, float *c3,
                                                           int load, v128_t init0, v128_t init1, v128_t lo,
                                                           v128_t hi) {
  v128_t s00, s01, s10, s11, s20, s21, s30, s31;
  if (load) {
    s00 = wasm_v128_load(c0), s01 = wasm_v128_load(c0 + 4);
    s10 = wasm_v128_load(c1), s11 = wasm_v128_load(c1 + 4);
    s20 = wasm_v128_load(c2), s21 = wasm_v128_load(c2 + 4);
    s30 = wasm_v128_load(c3), s31 = wasm_v128_load(c3 + 4);
  } else {
    s00 = s10 = s20 = s30 = init0;
    s01 = s11 = s21 = s31 = init1;
  }
  for (int k = 0; k < kc; k++) {
    const v128_t w0 = wasm_v128_load(pw), w1 = wasm_v128_load(pw + 4);
    pw += FC_NR;
    v128_t v = wasm_v128_load32_splat(a0 + k);
    s00 = wasm_f32x4_add(s00, wasm_f32x4_mul(v, w0));
    s01 = wasm_f32x4_add(s01, wasm_f32x4_mul(v, w1));
    v = wasm_v128_load32_splat(a1 + k);
    s10 = wasm_f32x4_add(s10, wasm_f32x4_mul(v, w0));
    s11 = wasm_f32x4_add(s11, wasm_f32x4_mul(v, w1));
    v = wasm_v128_load32_splat(a2 + k);
    s20 = wasm_f32x4_add(s20, wasm_f32x4_mul(v, w0));
    s21 = wasm_f32x4_add(s21, wasm_f32x4_mul(v, w1));
    v = wasm_v128_load32_splat(a3 + k);
    s30 = wasm_f32x4_add(s30, wasm_f32x4_mul(v, w0));
    s31 = wasm_f32x4_add(s31, wasm_f32x4_mul(v, w1));
  }
  wasm_v128_store(c0, fv_act4(s00, lo, hi)), wasm_v128_store(c0 + 4, fv_act4(s01, lo, hi));
  wasm_v128_store(c1, fv_act4(s10, lo, hi)), wasm_v128_store(c1 + 4, fv_act4(s11, lo, hi));
  wasm_v128_store(c2, fv_act4(s20, lo, hi)), wasm_v128_store(c2 + 4, fv_act4(s21, lo, hi));
  wasm_v128_store(c3, fv_act4(s30, lo, hi)), wasm_v128_store(c3 + 4, fv_act4(s31, lo, hi));
}

/* One row block [m0, m0+mr) × one column panel: full tiles in place, edge
 * tiles (mr < 4 rows or nr < 8 columns) through a stack tile. a is the row
 * operand (x or dy) with row stride lda, already offset to the panel's slice;
 * c (y or dx) has row stride ldc, already offset to the panel's columns. */
static void panel_rows(int m0, int m1, int kc, const float *a, size_t lda, const float *pw, float *c, size_t ldc,
                       int nr, int load, v128_t init0, v128_t init1, v128_t lo, v128_t hi) {
  for (int m = m0; m < m1; m += FC_MR) {
    const int mr = m1 - m < FC_MR ? m1 - m : FC_MR;
    /* Rows past the end re-read the last row; their results are dropped. */
    const float *a0 = a + (size_t)m * lda;
    const float *a1 = a + (size_t)(m + (mr > 1 ? 1 : 0)) * lda;
    const float *a2 = a + (size_t)(m + (mr > 2 ? 2 : mr - 1)) * lda;
    const float *a3 = a + (size_t)(m + (mr > 3 ? 3 : mr - 1)) * lda;
    float *c0 = c + (size_t)m * ldc;
    if (mr == FC_MR && nr == FC_NR) {
      tile_4x8(kc, a0, a1, a2, a3, pw, c0, c0 + ldc, c0 + 2 * ldc, c0 + 3 * ldc, load, init0, init1, lo, hi);
    } else {
      float t[FC_MR][FC_NR] __attribute__((aligned(16))) = {{0}};
      if (load)
        for (int r = 0; r < mr; r++)
          for (int j = 0; j < nr; j++) t[r][j] = c0[r * ldc + j];
      tile_4x8(kc, a0, a1, a2, a3, pw, t[0], t[1], t[2], t[3], load, init0, init1, lo, hi);
      for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) c0[r * ldc + j] = t[r][j];
    }
  }
}

void fv_f32_fc__wasmsimd(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act,
                         float *y) {
  if (ic <= 0) { /* no products: y = act(b); not worth a vector path */
    fv_f32_fc__scalar(n, ic, oc, x, w, b, act, y);
    return;
  }
  float pw[FC_KC * FC_NR] __attribute__((aligned(16)));
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  const v128_t none_lo = wasm_f32x4_splat(-INFINITY), none_hi = wasm_f32x4_splat(INFINITY);
  for (int m0 = 0; m0 < n; m0 += FC_MC) {
    const int m1 = n - m0 < FC_MC ? n : m0 + FC_MC;
    for (int o0 = 0; o0 < oc; o0 += FC_NR) {
      const int nr = oc - o0 < FC_NR ? oc - o0 : FC_NR;
      float bb[FC_NR] __attribute__((aligned(16))) = {0};
      if (b)
        for (int j = 0; j < nr; j++) bb[j] = b[o0 + j];
      const v128_t b0 = wasm_v128_load(bb), b1 = wasm_v128_load(bb + 4);
      for (int k0 = 0; k0 < ic; k0 += FC_KC) {
        const int kc = ic - k0 < FC_KC ? ic - k0 : FC_KC;
        /* Pack w[o0..o0+8)[k0..k0+kc) transposed; missing columns are zero. */
        for (int j = 0; j < FC_NR; j++) {
          if (j < nr) {
            const float *wj = w + (size_t)(o0 + j) * ic + k0;
            for (int k = 0; k < kc; k++) pw[k * FC_NR + j] = wj[k];
          } else {
            for (int k = 0; k < kc; k++) pw[k * FC_NR + j] = 0.0f;
          }
        }
        const int last = k0 + kc == ic;
        panel_rows(m0, m1, kc, x + k0, (size_t)ic, pw, y + o0, (size_t)oc, nr, k0 > 0, b0, b1,
                   last ? lo : none_lo, last ? hi : none_hi);
      }
    }
  }
}

void fv_f32_fc_grad__wasmsimd(int n, int ic, int oc, const float *dy, const float *w, float *dx) {
  float pw[FC_OCB * FC_NR] __attribute__((aligned(16)));
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const v128_t none_lo = wasm_f32x4_splat(-INFINITY), none_hi = wasm_f32x4_splat(INFINITY);
  for (int m0 = 0; m0 < n; m0 += FC_MC) {
    const int m1 = n - m0 < FC_MC ? n : m0 + FC_MC;
    for (int k0 = 0; k0 < ic; k0 += FC_NR) {
      const int nr = ic - k0 < FC_NR ? ic - k0 : FC_NR;
      for (int o0 = 0; o0 < oc; o0 += FC_OCB) {
        const int ob = oc - o0 < FC_OCB ? oc - o0 : FC_OCB;
        /* Pack w[o0..o0+ob)[k0..k0+8); missing columns are zero. */
        for (int o = 0; o < ob; o++) {
          const float *wo = w + (size_t)(o0 + o) * ic + k0;
          for (int j = 0; j < FC_NR; j++) pw[o * FC_NR + j] = j < nr ? wo[j] : 0.0f;
        }
        panel_rows(m0, m1, ob, dy + o0, (size_t)oc, pw, dx + k0, (size_t)ic, nr, 1, zero, zero, none_lo,
                   none_hi);
      }
    }
  }
}

#endif /* __wasm_simd128__ */

/* ---- dispatch ---------------------------------------------------------------- */

void fv_fc(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y) {
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    fv_f32_fc__wasmsimd(n, ic, oc, x, w, b, act, y);
    return;
  }
#endif
  fv_f32_fc__scalar(n, ic, oc, x, w, b, act, y);
}

void fv_fc_grad(int n, int ic, int oc, const float *dy, const float *w, float *dx) {
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    fv_f32_fc_grad__wasmsimd(n, ic, oc, dy, w, dx);
    return;
  }
#endif
  fv_f32_fc_grad__scalar(n, ic, oc, dy, w, dx);
}
