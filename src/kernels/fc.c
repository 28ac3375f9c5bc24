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
 * multiply-adds. The 8 weights of a step k are contiguous:
 *  - forward: w is [oc][ic] (OC-major) and the tile's columns are 8 output
 *    channels, so w is first packed transposed into a small stack panel
 *    pw[k][8] for a KC-long slice of ic (zero columns past oc);
 *  - gradient: the tile's columns are 8 input channels, contiguous in a row
 *    of w, so w is read in place (row stride ic); only the last panel, when
 *    ic % 8 != 0, is copied into a zero-padded stack panel. CONV_2D weights
 *    come packed at load for both (fv_conv_pack, model.c): the forward's
 *    panels are then not packed per call, and the gradient's panels are
 *    contiguous [oc][8] blocks with the last one zero-padded.
 * Rows are blocked by MC so a block of x stays in cache while every column
 * panel streams over it. Rows past the last multiple of 4 take a one-row
 * tile; a panel of fewer than 8 columns goes through a stack tile, so nothing
 * is read or written out of bounds. A forward with fewer than 16 rows (a
 * classifier head over a small batch) skips packing: dot products along ic.
 * A forward with weights packed at load runs pairs of full panels as 2-row ×
 * 16-column tiles (tile_2x16: the same 8 accumulators, half the broadcasts per
 * multiply-add; MobileNet v2's 1×1 forwards 3–4% faster, bench/conv_bench.c's second table;
 * the gradient measured no faster with them).
 */
#include "conv_family.h"

/* ---- scalar reference ---------------------------------------------------- */

void fv_f32_fc__scalar(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y) {
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

/* ---- packed weights (plain C: the layout the SIMD forward reads) ------------ */

size_t fv_fc_pack_floats(int ic, int oc) { return (size_t)((oc + 7) / 8) * 8 * (size_t)ic; }

void fv_fc_pack(int ic, int oc, const float *w, float *pw) {
  for (int o0 = 0; o0 < oc; o0 += 8)
    for (int k = 0; k < ic; k++, pw += 8)
      for (int j = 0; j < 8; j++) pw[j] = o0 + j < oc ? w[(size_t)(o0 + j) * ic + k] : 0.0f;
}

size_t fv_fc_pack_grad_floats(int ic, int oc) { return (size_t)((ic + 7) / 8) * 8 * (size_t)oc; }

void fv_fc_pack_grad(int ic, int oc, const float *w, float *pg) {
  for (int k0 = 0; k0 < ic; k0 += 8)
    for (int o = 0; o < oc; o++, pg += 8)
      for (int j = 0; j < 8; j++) pg[j] = k0 + j < ic ? w[(size_t)o * ic + k0 + j] : 0.0f;
}

size_t fv_conv_pack_floats(int K, int oc) { return fv_fc_pack_floats(K, oc) + fv_fc_pack_grad_floats(K, oc); }

void fv_conv_pack(int K, int oc, const float *w, float *p) {
  fv_fc_pack(K, oc, w, p);
  fv_fc_pack_grad(K, oc, w, p + fv_fc_pack_floats(K, oc));
}

const float *fv_conv_pack_grad_part(int K, int oc, const float *p) { return p ? p + fv_fc_pack_floats(K, oc) : NULL; }

/* ---- WASM SIMD ------------------------------------------------------------- */
#ifdef __wasm_simd128__

#define FC_MR 4        /* tile rows */
#define FC_NR 8        /* tile columns (two f32x4) */
#define FC_KC 256      /* forward: ic slice per packed panel (8 KB) */
#define FC_OCB 512     /* gradient: oc slice per packed tail panel (16 KB) */
#define FC_MC 64       /* rows per block kept in cache across panels (at least) */
#define FC_MC_MAX 512  /* forward: rows per block at most (short ic) */
#define FC_OCS 16      /* gradient with < 4 rows: rows of w per chunk */
#define FC_DOT_ROWS 16 /* forward with fewer rows: dot products, no packing (measured) */

/* c[r][0..8] = (load ? c[r] : init) + Σ_k a[r][k] · pw[k·ldw + 0..8], then clamped to [lo, hi].
 * a rows are read at a[r][0..kc); c rows are 8 contiguous floats each. */
static inline __attribute__((always_inline)) void tile_4x8(int kc, size_t ldw, const float *a0, const float *a1,
                                                           const float *a2, const float *a3, const float *pw, float *c0,
                                                           float *c1, float *c2, float *c3, int load, v128_t init0,
                                                           v128_t init1, v128_t lo, v128_t hi) {
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
    pw += ldw;
    v128_t v = wasm_v128_load32_splat(a0 + k);
    s00 = fv_madd4(v, w0, s00);
    s01 = fv_madd4(v, w1, s01);
    v = wasm_v128_load32_splat(a1 + k);
    s10 = fv_madd4(v, w0, s10);
    s11 = fv_madd4(v, w1, s11);
    v = wasm_v128_load32_splat(a2 + k);
    s20 = fv_madd4(v, w0, s20);
    s21 = fv_madd4(v, w1, s21);
    v = wasm_v128_load32_splat(a3 + k);
    s30 = fv_madd4(v, w0, s30);
    s31 = fv_madd4(v, w1, s31);
  }
  wasm_v128_store(c0, fv_act4(s00, lo, hi)), wasm_v128_store(c0 + 4, fv_act4(s01, lo, hi));
  wasm_v128_store(c1, fv_act4(s10, lo, hi)), wasm_v128_store(c1 + 4, fv_act4(s11, lo, hi));
  wasm_v128_store(c2, fv_act4(s20, lo, hi)), wasm_v128_store(c2 + 4, fv_act4(s21, lo, hi));
  wasm_v128_store(c3, fv_act4(s30, lo, hi)), wasm_v128_store(c3 + 4, fv_act4(s31, lo, hi));
}

/* The same for one row: c[0..8] = (load ? c : init) + Σ_k a[k] · pw[k·ldw + 0..8], clamped. */
static inline __attribute__((always_inline)) void tile_1x8(int kc, size_t ldw, const float *a, const float *pw,
                                                           float *c, int load, v128_t init0, v128_t init1, v128_t lo,
                                                           v128_t hi) {
  v128_t s0 = load ? wasm_v128_load(c) : init0, s1 = load ? wasm_v128_load(c + 4) : init1;
  for (int k = 0; k < kc; k++, pw += ldw) {
    const v128_t v = wasm_v128_load32_splat(a + k);
    s0 = fv_madd4(v, wasm_v128_load(pw), s0);
    s1 = fv_madd4(v, wasm_v128_load(pw + 4), s1);
  }
  wasm_v128_store(c, fv_act4(s0, lo, hi)), wasm_v128_store(c + 4, fv_act4(s1, lo, hi));
}

/* Rows [m0, m1) × one column panel: 4-row tiles, then single rows. a is the
 * row operand (x or dy) with row stride lda, already offset to the panel's
 * slice; c (y or dx) has row stride ldc, already offset to the panel's
 * columns. A panel of nr < 8 columns goes through a stack tile. */
static void panel_rows(int m0, int m1, int kc, size_t ldw, const float *a, size_t lda, const float *pw, float *c,
                       size_t ldc, int nr, int load, v128_t init0, v128_t init1, v128_t lo, v128_t hi) {
  int m = m0;
  for (; m + FC_MR <= m1; m += FC_MR) {
    const float *a0 = a + (size_t)m * lda;
    float *c0 = c + (size_t)m * ldc;
    if (nr == FC_NR) {
      tile_4x8(kc, ldw, a0, a0 + lda, a0 + 2 * lda, a0 + 3 * lda, pw, c0, c0 + ldc, c0 + 2 * ldc, c0 + 3 * ldc, load,
               init0, init1, lo, hi);
    } else {
      float t[FC_MR][FC_NR] __attribute__((aligned(16))) = {{0}};
      if (load)
        for (int r = 0; r < FC_MR; r++)
          for (int j = 0; j < nr; j++) t[r][j] = c0[r * ldc + j];
      tile_4x8(kc, ldw, a0, a0 + lda, a0 + 2 * lda, a0 + 3 * lda, pw, t[0], t[1], t[2], t[3], load, init0, init1, lo,
               hi);
      for (int r = 0; r < FC_MR; r++)
        for (int j = 0; j < nr; j++) c0[r * ldc + j] = t[r][j];
    }
  }
  for (; m < m1; m++) {
    const float *a0 = a + (size_t)m * lda;
    float *c0 = c + (size_t)m * ldc;
    if (nr == FC_NR) {
      tile_1x8(kc, ldw, a0, pw, c0, load, init0, init1, lo, hi);
    } else {
      float t[FC_NR] __attribute__((aligned(16))) = {0};
      if (load)
        for (int j = 0; j < nr; j++) t[j] = c0[j];
      tile_1x8(kc, ldw, a0, pw, t, load, init0, init1, lo, hi);
      for (int j = 0; j < nr; j++) c0[j] = t[j];
    }
  }
}

/* Two rows × two adjacent full panels (16 columns): c[r][0..16) = (load ? c[r] : init) +
 * Σ_k a[r][k] · (pw0 | pw1)[k·ldw + 0..8], clamped. The same 8 accumulators as a
 * 4×8 tile, but each broadcast feeds 4 multiply-adds, not 2: on x86 V8's
 * broadcasts take a vector port too, so the 4×8 tile spent 20 vector
 * operations on 8 multiply-adds and this one spends 18. The sums are the 4×8's. */
static inline __attribute__((always_inline)) void tile_2x16(int kc, size_t ldw, const float *a0, const float *a1,
                                                            const float *pw0, const float *pw1, float *c0, float *c1,
                                                            int load, const v128_t *init, v128_t lo, v128_t hi) {
  v128_t s00, s01, s02, s03, s10, s11, s12, s13;
  if (load) {
    s00 = wasm_v128_load(c0), s01 = wasm_v128_load(c0 + 4), s02 = wasm_v128_load(c0 + 8), s03 = wasm_v128_load(c0 + 12);
    s10 = wasm_v128_load(c1), s11 = wasm_v128_load(c1 + 4), s12 = wasm_v128_load(c1 + 8), s13 = wasm_v128_load(c1 + 12);
  } else {
    s00 = s10 = init[0], s01 = s11 = init[1], s02 = s12 = init[2], s03 = s13 = init[3];
  }
  for (int k = 0; k < kc; k++) {
    const v128_t w0 = wasm_v128_load(pw0), w1 = wasm_v128_load(pw0 + 4);
    const v128_t w2 = wasm_v128_load(pw1), w3 = wasm_v128_load(pw1 + 4);
    pw0 += ldw, pw1 += ldw;
    v128_t v = wasm_v128_load32_splat(a0 + k);
    s00 = fv_madd4(v, w0, s00);
    s01 = fv_madd4(v, w1, s01);
    s02 = fv_madd4(v, w2, s02);
    s03 = fv_madd4(v, w3, s03);
    v = wasm_v128_load32_splat(a1 + k);
    s10 = fv_madd4(v, w0, s10);
    s11 = fv_madd4(v, w1, s11);
    s12 = fv_madd4(v, w2, s12);
    s13 = fv_madd4(v, w3, s13);
  }
  wasm_v128_store(c0, fv_act4(s00, lo, hi)), wasm_v128_store(c0 + 4, fv_act4(s01, lo, hi));
  wasm_v128_store(c0 + 8, fv_act4(s02, lo, hi)), wasm_v128_store(c0 + 12, fv_act4(s03, lo, hi));
  wasm_v128_store(c1, fv_act4(s10, lo, hi)), wasm_v128_store(c1 + 4, fv_act4(s11, lo, hi));
  wasm_v128_store(c1 + 8, fv_act4(s12, lo, hi)), wasm_v128_store(c1 + 12, fv_act4(s13, lo, hi));
}

/* Rows [m0, m1) × two adjacent full panels pw0, pw1 (columns c[0..16)): 2×16
 * tiles, then a last odd row as two 1×8 tiles. init[0..4): the 16 columns' start. */
static void panel2_rows(int m0, int m1, int kc, size_t ldw, const float *a, size_t lda, const float *pw0,
                        const float *pw1, float *c, size_t ldc, int load, const v128_t *init, v128_t lo, v128_t hi) {
  int m = m0;
  for (; m + 2 <= m1; m += 2) {
    const float *a0 = a + (size_t)m * lda;
    float *c0 = c + (size_t)m * ldc;
    tile_2x16(kc, ldw, a0, a0 + lda, pw0, pw1, c0, c0 + ldc, load, init, lo, hi);
  }
  if (m < m1) {
    tile_1x8(kc, ldw, a + (size_t)m * lda, pw0, c + (size_t)m * ldc, load, init[0], init[1], lo, hi);
    tile_1x8(kc, ldw, a + (size_t)m * lda, pw1, c + (size_t)m * ldc + FC_NR, load, init[2], init[3], lo, hi);
  }
}

/* Forward for fewer than FC_DOT_ROWS rows (a classifier head over a small
 * batch): packing w costs about as much as the product, so dot products along ic instead, 4
 * output channels at a time, each w row read in place; the 4 partial-sum
 * vectors are reduced with a 4×4 transpose-add into one vector of outputs. */
static void fc_dot_rows(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y) {
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  const int ic4 = ic & ~3;
  for (int i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * ic;
    for (int o0 = 0; o0 < oc; o0 += 4) {
      const int no = oc - o0 < 4 ? oc - o0 : 4;
      /* Channels past oc re-read the last one; their sums are dropped. */
      const float *w0 = w + (size_t)o0 * ic, *w1 = w + (size_t)(o0 + (no > 1 ? 1 : 0)) * ic;
      const float *w2 = w + (size_t)(o0 + (no > 2 ? 2 : no - 1)) * ic,
                  *w3 = w + (size_t)(o0 + (no > 3 ? 3 : no - 1)) * ic;
      v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
      for (int k = 0; k < ic4; k += 4) {
        const v128_t v = wasm_v128_load(xi + k);
        s0 = fv_madd4(v, wasm_v128_load(w0 + k), s0);
        s1 = fv_madd4(v, wasm_v128_load(w1 + k), s1);
        s2 = fv_madd4(v, wasm_v128_load(w2 + k), s2);
        s3 = fv_madd4(v, wasm_v128_load(w3 + k), s3);
      }
      for (int k = ic4; k < ic; k++) { /* ic % 4 tail, in lane 0 */
        const v128_t v = wasm_v128_load32_zero(xi + k);
        s0 = fv_madd4(v, wasm_v128_load32_zero(w0 + k), s0);
        s1 = fv_madd4(v, wasm_v128_load32_zero(w1 + k), s1);
        s2 = fv_madd4(v, wasm_v128_load32_zero(w2 + k), s2);
        s3 = fv_madd4(v, wasm_v128_load32_zero(w3 + k), s3);
      }
      const v128_t u0 = wasm_f32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
      const v128_t u1 = wasm_f32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
      v128_t sum = wasm_f32x4_add(wasm_i32x4_shuffle(u0, u1, 0, 1, 4, 5), wasm_i32x4_shuffle(u0, u1, 2, 3, 6, 7));
      float t[4] __attribute__((aligned(16))) = {0};
      if (b)
        for (int j = 0; j < no; j++) t[j] = b[o0 + j];
      sum = fv_act4(wasm_f32x4_add(wasm_v128_load(t), sum), lo, hi);
      if (no == 4) {
        wasm_v128_store(y + (size_t)i * oc + o0, sum);
      } else {
        wasm_v128_store(t, sum);
        for (int j = 0; j < no; j++) y[(size_t)i * oc + o0 + j] = t[j];
      }
    }
  }
}

void fv_f32_fc__wasmsimd(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y) {
  fv_f32_fc_gemm__wasmsimd(n, ic, oc, x, w, NULL, b, act, y);
}

void fv_f32_fc_gemm__wasmsimd(int n, int ic, int oc, const float *x, const float *w, const float *wpack,
                              const float *b, fv_act act, float *y) {
  if (ic <= 0) { /* no products: y = act(b); not worth a vector path */
    fv_f32_fc__scalar(n, ic, oc, x, w, b, act, y);
    return;
  }
  /* Packed or not (the bytes of earlier renders stay as they were; the conv
   * blocks have 16 rows or more up to K = 2048, so only short tails take it). */
  if (n < FC_DOT_ROWS) {
    fc_dot_rows(n, ic, oc, x, w, b, act, y);
    return;
  }
  float pw[FC_KC * FC_NR] __attribute__((aligned(16)));
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  const v128_t none_lo = wasm_f32x4_splat(-INFINITY), none_hi = wasm_f32x4_splat(INFINITY);
  /* Rows per block: w is packed again for every block, so with a short ic (the
   * early 1×1 convs) the block grows, keeping its slice of x near 64 KB. */
  const int kmax = ic < FC_KC ? ic : FC_KC;
  int mc = (16384 / kmax) & ~(FC_MR - 1);
  mc = mc < FC_MC ? FC_MC : mc > FC_MC_MAX ? FC_MC_MAX : mc;
  for (int m0 = 0; m0 < n; m0 += mc) {
    const int m1 = n - m0 < mc ? n : m0 + mc;
    for (int o0 = 0; o0 < oc; o0 += FC_NR) {
      const int nr = oc - o0 < FC_NR ? oc - o0 : FC_NR;
      float bb[FC_NR] __attribute__((aligned(16))) = {0};
      if (b)
        for (int j = 0; j < nr; j++) bb[j] = b[o0 + j];
      const v128_t b0 = wasm_v128_load(bb), b1 = wasm_v128_load(bb + 4);
      for (int k0 = 0; k0 < ic; k0 += FC_KC) {
        const int kc = ic - k0 < FC_KC ? ic - k0 : FC_KC;
        const int last = k0 + kc == ic;
        if (wpack && o0 + 2 * FC_NR <= oc && !(o0 / FC_NR & 1)) { /* two full panels packed at load */
          float bb2[FC_NR] __attribute__((aligned(16))) = {0};
          if (b)
            for (int j = 0; j < FC_NR; j++) bb2[j] = b[o0 + FC_NR + j];
          const v128_t init[4] = {b0, b1, wasm_v128_load(bb2), wasm_v128_load(bb2 + 4)};
          const float *p0 = wpack + ((size_t)o0 * ic + (size_t)k0 * FC_NR);
          panel2_rows(m0, m1, kc, FC_NR, x + k0, (size_t)ic, p0, p0 + (size_t)FC_NR * ic, y + o0, (size_t)oc, k0 > 0,
                      init, last ? lo : none_lo, last ? hi : none_hi);
          continue;
        }
        if (wpack && o0 % (2 * FC_NR) && o0 + FC_NR <= oc) continue; /* the second of a pair, done with the first */
        if (wpack) { /* packed at load: the same panel, in place */
          panel_rows(m0, m1, kc, FC_NR, x + k0, (size_t)ic, wpack + ((size_t)o0 * ic + (size_t)k0 * FC_NR), y + o0,
                     (size_t)oc, nr, k0 > 0, b0, b1, last ? lo : none_lo, last ? hi : none_hi);
          continue;
        }
        /* Pack w[o0..o0+8)[k0..k0+kc) transposed; missing columns are zero. */
        for (int j = 0; j < FC_NR; j++) {
          if (j < nr) {
            const float *wj = w + (size_t)(o0 + j) * ic + k0;
            for (int k = 0; k < kc; k++) pw[k * FC_NR + j] = wj[k];
          } else {
            for (int k = 0; k < kc; k++) pw[k * FC_NR + j] = 0.0f;
          }
        }
        panel_rows(m0, m1, kc, FC_NR, x + k0, (size_t)ic, pw, y + o0, (size_t)oc, nr, k0 > 0, b0, b1,
                   last ? lo : none_lo, last ? hi : none_hi);
      }
    }
  }
}

void fv_f32_fc_grad__wasmsimd(int n, int ic, int oc, const float *dy, const float *w, float *dx) {
  fv_f32_fc_grad_gemm__wasmsimd(n, ic, oc, dy, w, NULL, dx, 0);
}

void fv_f32_fc_grad_gemm__wasmsimd(int n, int ic, int oc, const float *dy, const float *w, const float *wgpack,
                                   float *dx, int set) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const v128_t none_lo = wasm_f32x4_splat(-INFINITY), none_hi = wasm_f32x4_splat(INFINITY);
  if (wgpack) { /* packed at load (fv_fc_pack_grad): every panel contiguous, the last one zero-padded */
    /* Each dx tile is summed whole over oc here, so set starts it at +0 (the
     * bytes of clearing dx and loading it) instead of loading it. */
    for (int m0 = 0; m0 < n; m0 += FC_MC) {
      const int m1 = n - m0 < FC_MC ? n : m0 + FC_MC;
      /* (2×16 tiles, as the forward's, measured no faster here: 0.98–1.02) */
      for (int k0 = 0; k0 < ic; k0 += FC_NR)
        panel_rows(m0, m1, oc, FC_NR, dy, (size_t)oc, wgpack + (size_t)k0 * oc, dx + k0, (size_t)ic,
                   ic - k0 < FC_NR ? ic - k0 : FC_NR, !set, zero, zero, none_lo, none_hi);
    }
    return;
  }
  if (set) /* the chunks below add up partial sums in dx */
    for (size_t i = 0; i < (size_t)n * ic; i++) dx[i] = 0.0f;
  float pw[FC_OCB * FC_NR] __attribute__((aligned(16)));
  for (int m0 = 0; m0 < n; m0 += FC_MC) {
    const int m1 = n - m0 < FC_MC ? n : m0 + FC_MC;
    /* Panels of 8 whole columns read w in place (row stride ic). With a few
     * rows w is the traffic, so oc is cut into chunks of FC_OCS rows of w
     * that stay in cache across the panels; with many rows, dx is. */
    const int ocs = m1 - m0 < FC_MR ? FC_OCS : oc, icf = ic & ~(FC_NR - 1);
    for (int o0 = 0; o0 < oc; o0 += ocs) {
      const int ob = oc - o0 < ocs ? oc - o0 : ocs;
      for (int k0 = 0; k0 < icf; k0 += FC_NR)
        panel_rows(m0, m1, ob, (size_t)ic, dy + o0, (size_t)oc, w + (size_t)o0 * ic + k0, dx + k0, (size_t)ic, FC_NR, 1,
                   zero, zero, none_lo, none_hi);
    }
    for (int k0 = icf; k0 < ic; k0 += FC_NR) { /* the last, short panel */
      const int nr = ic - k0;
      for (int o0 = 0; o0 < oc; o0 += FC_OCB) {
        const int ob = oc - o0 < FC_OCB ? oc - o0 : FC_OCB;
        /* Copy w[o0..o0+ob)[k0..ic) and pad it with zeros to 8 columns. */
        for (int o = 0; o < ob; o++) {
          const float *wo = w + (size_t)(o0 + o) * ic + k0;
          for (int j = 0; j < FC_NR; j++) pw[o * FC_NR + j] = j < nr ? wo[j] : 0.0f;
        }
        panel_rows(m0, m1, ob, FC_NR, dy + o0, (size_t)oc, pw, dx + k0, (size_t)ic, nr, 1, zero, zero, none_lo,
                   none_hi);
      }
    }
  }
}

#endif /* __wasm_simd128__ */
