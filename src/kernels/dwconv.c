/* dwconv.c — DEPTHWISE_CONV_2D forward and input gradient.
 *
 * x [n][ih][iw][ic], w [kh][kw][oc] (TFLite's [1, KH, KW, IC*DM]), b [oc] or
 * NULL, y [n][oh][ow][oc] with oc = ic * dm: output channel o = i*dm + m reads
 * input channel i only. Output pixel (oy, ox) reads input
 * (oy*sh - pt + ky*dh, ox*sw - pl + kx*dw); taps outside the input read zero.
 *
 * SIMD (depth multiplier 1, the only one MobileNets use; dm > 1 runs scalar):
 * channels are contiguous in x, w and y, so one f32x4 holds 4 channels.
 *  - Forward, 3×3 (any stride, dilation): along each output row, the run of
 *    pixels whose column taps are all inside the input keeps the weights of
 *    a block of 4 channels (and the bias) in registers while it walks the
 *    row; rows cut by the top/bottom border use just their inside filter
 *    rows. The few pixels left at the left/right border, and other filter
 *    sizes, work out their inside taps per pixel and loop over channels.
 *  - Gradient: the transposed conv in gather form, each input pixel sums dy
 *    over the output pixels that read it (dx += Σ dy · w), so dx is loaded
 *    and stored once. Stride 1, 3×3: row runs as in the forward. Stride 2,
 *    3×3: input columns pair up (the even one reads taps kx = 0 and 2, the
 *    odd one kx = 1), so a run of pairs keeps 3 weights per filter row in
 *    registers. Other pixels get a per-pixel tap list (unrolled up to 4).
 * Channel tails (ic % 4) run scalar.
 */
#include "conv_family.h"

/* ---- scalar reference ------------------------------------------------------ */

void fv_f32_dwconv2d__scalar(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
  const int ic = s->ic, dm = s->dm, oc = s->oc;
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++) {
        float *yp = y + (((size_t)n * s->oh + oy) * s->ow + ox) * oc;
        for (int i = 0; i < ic; i++)
          for (int m = 0; m < dm; m++) {
            const int o = i * dm + m;
            float acc = b ? b[o] : 0.0f;
            for (int ky = 0; ky < s->kh; ky++) {
              const int iy = oy * s->sh - s->pt + ky * s->dh;
              if (iy < 0 || iy >= s->ih) continue;
              for (int kx = 0; kx < s->kw; kx++) {
                const int ix = ox * s->sw - s->pl + kx * s->dw;
                if (ix < 0 || ix >= s->iw) continue;
                acc += x[(((size_t)n * s->ih + iy) * s->iw + ix) * ic + i] * w[((size_t)ky * s->kw + kx) * oc + o];
              }
            }
            yp[o] = fv_act1(s->act, acc);
          }
      }
}

/* dx[iy][ix][i] += Σ dy[oy][ox][i*dm+m] · w[ky][kx][i*dm+m] over the taps that read (iy, ix). */
void fv_f32_dwconv2d_grad__scalar(const fv_conv_shape *s, const float *dy, const float *w, float *dx) {
  const int ic = s->ic, dm = s->dm, oc = s->oc;
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++) {
        const float *dyp = dy + (((size_t)n * s->oh + oy) * s->ow + ox) * oc;
        for (int ky = 0; ky < s->kh; ky++) {
          const int iy = oy * s->sh - s->pt + ky * s->dh;
          if (iy < 0 || iy >= s->ih) continue;
          for (int kx = 0; kx < s->kw; kx++) {
            const int ix = ox * s->sw - s->pl + kx * s->dw;
            if (ix < 0 || ix >= s->iw) continue;
            float *dxp = dx + (((size_t)n * s->ih + iy) * s->iw + ix) * ic;
            const float *wp = w + ((size_t)ky * s->kw + kx) * oc;
            for (int i = 0; i < ic; i++) {
              float acc = 0.0f;
              for (int m = 0; m < dm; m++) acc += dyp[i * dm + m] * wp[i * dm + m];
              dxp[i] += acc;
            }
          }
        }
      }
}

/* ---- WASM SIMD ------------------------------------------------------------------ */
#ifdef __wasm_simd128__

#define DW_MAXK 32 /* largest kh, kw the SIMD gradient's tap lists hold */

/* Filter taps k in [*k0, *k1) with 0 <= i0 + k*d < in. */
static inline void tap_range(int i0, int d, int k, int in, int *k0, int *k1) {
  *k0 = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
  *k1 = in - 1 - i0 < 0 ? 0 : (in - 1 - i0) / d + 1;
  if (*k1 > k) *k1 = k;
}

/* One output pixel with its taps worked out: y[c] = act(b[c] + Σ x · w) over the
 * taps inside the input. Used for the border ring and for filters not 3×3. */
static void dw_pixel(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *yp, int n, int iy0,
                     int ky0, int ky1, int ix0, v128_t lo, v128_t hi) {
  const int C = s->ic, C4 = C & ~3;
  const size_t ty = (size_t)s->dh * s->iw * C, tx = (size_t)s->dw * C; /* tap steps in x */
  int kx0, kx1;
  tap_range(ix0, s->dw, s->kw, s->iw, &kx0, &kx1);
  if (ky0 >= ky1 || kx0 >= kx1) { /* no tap inside: the bias alone */
    for (int c = 0; c < C; c++) yp[c] = fv_act1(s->act, b ? b[c] : 0.0f);
    return;
  }
  /* the input pixel of the first tap inside, (ky0, kx0) */
  const float *xp = x + (((size_t)n * s->ih + iy0 + ky0 * s->dh) * s->iw + ix0 + kx0 * s->dw) * C;
  const float *wp = w + ((size_t)ky0 * s->kw + kx0) * C;
  const int nky = ky1 - ky0, nkx = kx1 - kx0;
  for (int c = 0; c < C4; c += 4) {
    v128_t a = b ? wasm_v128_load(b + c) : wasm_f32x4_splat(0.0f);
    for (int ky = 0; ky < nky; ky++)
      for (int kx = 0; kx < nkx; kx++)
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(xp + ky * ty + kx * tx + c),
                                             wasm_v128_load(wp + ((size_t)ky * s->kw + kx) * C + c)));
    wasm_v128_store(yp + c, fv_act4(a, lo, hi));
  }
  for (int c = C4; c < C; c++) {
    float a = b ? b[c] : 0.0f;
    for (int ky = 0; ky < nky; ky++)
      for (int kx = 0; kx < nkx; kx++) a += xp[ky * ty + kx * tx + c] * wp[((size_t)ky * s->kw + kx) * C + c];
    yp[c] = fv_act1(s->act, a);
  }
}

/* A run of cnt output pixels of one row whose 3 column taps lie inside the
 * input, for the nrow (1..3) filter rows that do, starting at input xp (the
 * first such row, column tap 0, of the first pixel) with w at that filter
 * row. Per block of 4 channels the 3·nrow weights and the bias stay in
 * registers along the row. */
static inline __attribute__((always_inline)) void dw3x3_rows(const fv_conv_shape *s, const float *xp, const float *w,
                                                             const float *b, float *yp, int cnt, v128_t lo, v128_t hi,
                                                             int nrow) {
  const int C = s->ic, C4 = C & ~3;
  const size_t ty = (size_t)s->dh * s->iw * C, tx = (size_t)s->dw * C, step = (size_t)s->sw * C;
  for (int c = 0; c < C4; c += 4) {
    const v128_t w0 = wasm_v128_load(w + c), w1 = wasm_v128_load(w + C + c), w2 = wasm_v128_load(w + 2 * C + c);
    v128_t w3 = w0, w4 = w0, w5 = w0, w6 = w0, w7 = w0, w8 = w0;
    if (nrow >= 2)
      w3 = wasm_v128_load(w + 3 * C + c), w4 = wasm_v128_load(w + 4 * C + c), w5 = wasm_v128_load(w + 5 * C + c);
    if (nrow >= 3)
      w6 = wasm_v128_load(w + 6 * C + c), w7 = wasm_v128_load(w + 7 * C + c), w8 = wasm_v128_load(w + 8 * C + c);
    const v128_t bias = b ? wasm_v128_load(b + c) : wasm_f32x4_splat(0.0f);
    const float *r0 = xp + c;
    float *q = yp + c;
    for (int i = 0; i < cnt; i++, r0 += step, q += C) {
      const float *r1 = r0 + ty, *r2 = r1 + ty;
      v128_t a = wasm_f32x4_add(bias, wasm_f32x4_mul(wasm_v128_load(r0), w0));
      v128_t a2 = wasm_f32x4_mul(wasm_v128_load(r0 + tx), w1);
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r0 + 2 * tx), w2));
      if (nrow >= 2) {
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(r1), w3));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r1 + tx), w4));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(r1 + 2 * tx), w5));
      }
      if (nrow >= 3) {
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r2), w6));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(r2 + tx), w7));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r2 + 2 * tx), w8));
      }
      wasm_v128_store(q, fv_act4(wasm_f32x4_add(a, a2), lo, hi));
    }
  }
  for (int i = 0; i < cnt; i++, xp += step, yp += C)
    for (int c = C4; c < C; c++) {
      float a = b ? b[c] : 0.0f;
      for (int ky = 0; ky < nrow; ky++)
        for (int kx = 0; kx < 3; kx++) a += xp[ky * ty + kx * tx + c] * w[(ky * 3 + kx) * C + c];
      yp[c] = fv_act1(s->act, a);
    }
}

static void dw3x3_run(const fv_conv_shape *s, const float *xp, const float *w, const float *b, float *yp, int cnt,
                      v128_t lo, v128_t hi, int nrow) {
  if (nrow == 3)
    dw3x3_rows(s, xp, w, b, yp, cnt, lo, hi, 3);
  else if (nrow == 2)
    dw3x3_rows(s, xp, w, b, yp, cnt, lo, hi, 2);
  else
    dw3x3_rows(s, xp, w, b, yp, cnt, lo, hi, 1);
}

void fv_f32_dwconv2d__wasmsimd(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
  if (s->dm != 1) {
    fv_f32_dwconv2d__scalar(s, x, w, b, y);
    return;
  }
  const int C = s->ic;
  v128_t lo, hi;
  fv_act_bounds(s->act, &lo, &hi);
  /* Output columns [ox_lo, ox_hi) have all kw taps inside the input. */
  int ox_lo = (s->pl + s->sw - 1) / s->sw, ox_hi = 0;
  const int last = s->iw - 1 - (s->kw - 1) * s->dw + s->pl; /* ox*sw must not exceed it */
  if (last >= 0) ox_hi = last / s->sw + 1;
  if (ox_hi > s->ow) ox_hi = s->ow;
  if (ox_lo > ox_hi) ox_lo = ox_hi;
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++) {
      const int iy0 = oy * s->sh - s->pt;
      int ky0, ky1;
      tap_range(iy0, s->dh, s->kh, s->ih, &ky0, &ky1);
      float *yrow = y + ((size_t)n * s->oh + oy) * s->ow * C;
      int a = 0, z = 0; /* the unrolled run [a, z) */
      if (s->kh == 3 && s->kw == 3 && ky0 < ky1) a = ox_lo, z = ox_hi;
      for (int ox = 0; ox < a; ox++)
        dw_pixel(s, x, w, b, yrow + (size_t)ox * C, n, iy0, ky0, ky1, ox * s->sw - s->pl, lo, hi);
      if (a < z)
        dw3x3_run(s, x + (((size_t)n * s->ih + iy0 + ky0 * s->dh) * s->iw + a * s->sw - s->pl) * C,
                  w + (size_t)ky0 * 3 * C, b, yrow + (size_t)a * C, z - a, lo, hi, ky1 - ky0);
      for (int ox = z > a ? z : a; ox < s->ow; ox++)
        dw_pixel(s, x, w, b, yrow + (size_t)ox * C, n, iy0, ky0, ky1, ox * s->sw - s->pl, lo, hi);
    }
}

/* The (k, o) pairs of a filter axis that read input index i: o*stride - pad + k*d == i, 0 <= o < out.
 * Returns the count; ks[] and os[] get the taps in increasing k. */
static inline int gather_taps(int i, int pad, int stride, int d, int k, int out, int *ks, int *os) {
  int cnt = 0;
  for (int kk = 0; kk < k; kk++) {
    const int t = i + pad - kk * d;
    if (t < 0) break; /* t only falls as kk grows */
    if (t % stride) continue;
    const int o = t / stride;
    if (o >= out) continue;
    ks[cnt] = kk, os[cnt] = o, cnt++;
  }
  return cnt;
}

/* dx[c..c+4) += Σ_t dp[t][c..] · wp[t][c..] over T <= 4 taps, for every full block of 4 channels. */
static inline void dw_grad_taps4(int C4, int T, const float *const *dp, const float *const *wp, float *dx) {
  const float *d0 = dp[0], *d1 = dp[1], *d2 = dp[2], *d3 = dp[3];
  const float *w0 = wp[0], *w1 = wp[1], *w2 = wp[2], *w3 = wp[3];
  switch (T) {
    case 1:
      for (int c = 0; c < C4; c += 4)
        wasm_v128_store(dx + c, wasm_f32x4_add(wasm_v128_load(dx + c),
                                               wasm_f32x4_mul(wasm_v128_load(d0 + c), wasm_v128_load(w0 + c))));
      break;
    case 2:
      for (int c = 0; c < C4; c += 4) {
        v128_t a =
            wasm_f32x4_add(wasm_v128_load(dx + c), wasm_f32x4_mul(wasm_v128_load(d0 + c), wasm_v128_load(w0 + c)));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(d1 + c), wasm_v128_load(w1 + c)));
        wasm_v128_store(dx + c, a);
      }
      break;
    case 3:
      for (int c = 0; c < C4; c += 4) {
        v128_t a =
            wasm_f32x4_add(wasm_v128_load(dx + c), wasm_f32x4_mul(wasm_v128_load(d0 + c), wasm_v128_load(w0 + c)));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(d1 + c), wasm_v128_load(w1 + c)));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(d2 + c), wasm_v128_load(w2 + c)));
        wasm_v128_store(dx + c, a);
      }
      break;
    case 4:
      for (int c = 0; c < C4; c += 4) {
        v128_t a =
            wasm_f32x4_add(wasm_v128_load(dx + c), wasm_f32x4_mul(wasm_v128_load(d0 + c), wasm_v128_load(w0 + c)));
        v128_t a2 = wasm_f32x4_mul(wasm_v128_load(d1 + c), wasm_v128_load(w1 + c));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(d2 + c), wasm_v128_load(w2 + c)));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(d3 + c), wasm_v128_load(w3 + c)));
        wasm_v128_store(dx + c, wasm_f32x4_add(a, a2));
      }
      break;
    default: /* T == 0: nothing reads this pixel */
      break;
  }
}

/* A run of cnt input pixels of one row, stride 1, 3×3, whose 3 column taps
 * all read dy, for the nrow (1..3) consecutive filter rows that do, w at the
 * first of them. d is dy at the last of those rows and column tap kx = 2 of
 * the first pixel (the lowest address): filter row r reads (nrow-1-r) dy rows
 * further on, and tap kx (2-kx)·dw pixels further on. Per block of 4
 * channels the 3·nrow weights stay in registers along the row. */
static inline __attribute__((always_inline)) void dw3x3s1_grad_rows(const fv_conv_shape *s, const float *d,
                                                                    const float *w, float *dxp, int cnt, int nrow) {
  const int C = s->ic, C4 = C & ~3;
  const size_t ty = (size_t)s->dh * s->ow * C, tx = (size_t)s->dw * C;
  for (int c = 0; c < C4; c += 4) {
    const v128_t w0 = wasm_v128_load(w + c), w1 = wasm_v128_load(w + C + c), w2 = wasm_v128_load(w + 2 * C + c);
    v128_t w3 = w0, w4 = w0, w5 = w0, w6 = w0, w7 = w0, w8 = w0;
    if (nrow >= 2)
      w3 = wasm_v128_load(w + 3 * C + c), w4 = wasm_v128_load(w + 4 * C + c), w5 = wasm_v128_load(w + 5 * C + c);
    if (nrow >= 3)
      w6 = wasm_v128_load(w + 6 * C + c), w7 = wasm_v128_load(w + 7 * C + c), w8 = wasm_v128_load(w + 8 * C + c);
    const float *rl = d + c; /* the dy row of the last filter row */
    float *q = dxp + c;
    for (int i = 0; i < cnt; i++, rl += C, q += C) {
      const float *r0 = rl + (size_t)(nrow - 1) * ty, *r1 = r0 - ty, *r2 = r1 - ty;
      v128_t a = wasm_f32x4_add(wasm_v128_load(q), wasm_f32x4_mul(wasm_v128_load(r0 + 2 * tx), w0));
      v128_t a2 = wasm_f32x4_mul(wasm_v128_load(r0 + tx), w1);
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r0), w2));
      if (nrow >= 2) {
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(r1 + 2 * tx), w3));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r1 + tx), w4));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(r1), w5));
      }
      if (nrow >= 3) {
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r2 + 2 * tx), w6));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(r2 + tx), w7));
        a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(r2), w8));
      }
      wasm_v128_store(q, wasm_f32x4_add(a, a2));
    }
  }
  for (int i = 0; i < cnt; i++, d += C, dxp += C)
    for (int c = C4; c < C; c++) {
      float a = 0.0f;
      for (int r = 0; r < nrow; r++)
        for (int kx = 0; kx < 3; kx++)
          a += d[(size_t)(nrow - 1 - r) * ty + (2 - kx) * tx + c] * w[(r * 3 + kx) * C + c];
      dxp[c] += a;
    }
}

static void dw3x3s1_grad_run(const fv_conv_shape *s, const float *d, const float *w, float *dxp, int cnt, int nrow) {
  if (nrow == 3)
    dw3x3s1_grad_rows(s, d, w, dxp, cnt, 3);
  else if (nrow == 2)
    dw3x3s1_grad_rows(s, d, w, dxp, cnt, 2);
  else
    dw3x3s1_grad_rows(s, d, w, dxp, cnt, 1);
}

/* Stride 2, 3×3, no dilation: input columns pair up around output column j.
 * Column 2j - pl reads taps kx = 0 (dy column j) and kx = 2 (column j - 1);
 * column 2j + 1 - pl reads kx = 1 (column j). cnt pairs from column j0 of the
 * nr (1 or 2) dy rows dr[] with weight rows wr[]; dxp is the even column of
 * the first pair. The 3·nr weights of a block of channels stay in registers. */
static inline __attribute__((always_inline)) void dw3x3s2_grad_pairs(int C, int nr, const float *const *dr,
                                                                     const float *const *wr, int j0, float *dxp,
                                                                     int cnt) {
  const int C4 = C & ~3;
  for (int c = 0; c < C4; c += 4) {
    const v128_t u0 = wasm_v128_load(wr[0] + c), u1 = wasm_v128_load(wr[0] + C + c),
                 u2 = wasm_v128_load(wr[0] + 2 * C + c);
    v128_t v0 = u0, v1 = u1, v2 = u2;
    if (nr == 2)
      v0 = wasm_v128_load(wr[1] + c), v1 = wasm_v128_load(wr[1] + C + c), v2 = wasm_v128_load(wr[1] + 2 * C + c);
    const float *p = dr[0] + (size_t)j0 * C + c, *p2 = dr[nr - 1] + (size_t)j0 * C + c;
    float *q = dxp + c;
    for (int i = 0; i < cnt; i++, p += C, p2 += C, q += 2 * C) {
      const v128_t d = wasm_v128_load(p), dm = wasm_v128_load(p - C);
      v128_t e = wasm_f32x4_add(wasm_v128_load(q), wasm_f32x4_mul(d, u0));
      v128_t o = wasm_f32x4_add(wasm_v128_load(q + C), wasm_f32x4_mul(d, u1));
      e = wasm_f32x4_add(e, wasm_f32x4_mul(dm, u2));
      if (nr == 2) {
        const v128_t d2 = wasm_v128_load(p2), dm2 = wasm_v128_load(p2 - C);
        e = wasm_f32x4_add(e, wasm_f32x4_mul(d2, v0));
        o = wasm_f32x4_add(o, wasm_f32x4_mul(d2, v1));
        e = wasm_f32x4_add(e, wasm_f32x4_mul(dm2, v2));
      }
      wasm_v128_store(q, e);
      wasm_v128_store(q + C, o);
    }
  }
  for (int i = 0; i < cnt; i++, dxp += 2 * C)
    for (int c = C4; c < C; c++) {
      float e = 0.0f, o = 0.0f;
      for (int r = 0; r < nr; r++) {
        const float *d = dr[r] + (size_t)(j0 + i) * C + c;
        e += d[0] * wr[r][c] + d[-C] * wr[r][2 * C + c];
        o += d[0] * wr[r][C + c];
      }
      dxp[c] += e, dxp[C + c] += o;
    }
}

void fv_f32_dwconv2d_grad__wasmsimd(const fv_conv_shape *s, const float *dy, const float *w, float *dx) {
  if (s->dm != 1 || s->kh > DW_MAXK || s->kw > DW_MAXK) {
    fv_f32_dwconv2d_grad__scalar(s, dy, w, dx);
    return;
  }
  const int C = s->ic, C4 = C & ~3;
  /* Stride 1, 3×3: input columns [ix_lo, ix_hi) read all 3 column taps. */
  const int s1x3 = s->kh == 3 && s->kw == 3 && s->sh == 1 && s->sw == 1;
  int ix_lo = 2 * s->dw - s->pl, ix_hi = s->ow - s->pl;
  if (ix_lo < 0) ix_lo = 0;
  if (ix_hi > s->iw) ix_hi = s->iw;
  if (ix_lo > ix_hi) ix_lo = ix_hi;
  /* Stride 2, 3×3, no dilation: pairs j in [j_lo, j_hi) have both columns inside
   * and all three of their column taps inside dy. */
  const int s2x3 = s->kh == 3 && s->kw == 3 && s->sh == 2 && s->sw == 2 && s->dh == 1 && s->dw == 1;
  int j_lo = (s->pl + 1) / 2, j_hi = s->iw - 2 + s->pl >= 0 ? (s->iw - 2 + s->pl) / 2 + 1 : 0;
  if (j_lo < 1) j_lo = 1;
  if (j_hi > s->ow) j_hi = s->ow;
  if (j_lo > j_hi) j_lo = j_hi;
  int rk[DW_MAXK], ro[DW_MAXK], ck[DW_MAXK], co[DW_MAXK];
  const float *dr[DW_MAXK], *wr[DW_MAXK]; /* per row tap: dy row and w row */
  for (int n = 0; n < s->n; n++)
    for (int iy = 0; iy < s->ih; iy++) {
      const int nr = gather_taps(iy, s->pt, s->sh, s->dh, s->kh, s->oh, rk, ro);
      for (int r = 0; r < nr; r++) {
        dr[r] = dy + ((size_t)n * s->oh + ro[r]) * s->ow * C;
        wr[r] = w + (size_t)rk[r] * s->kw * C;
      }
      float *dxrow = dx + ((size_t)n * s->ih + iy) * s->iw * C;
      int a = 0, z = 0; /* the unrolled run [a, z) */
      if (s1x3 && nr >= 1) {
        a = ix_lo, z = ix_hi;
        if (a < z)
          dw3x3s1_grad_run(s, dr[nr - 1] + (size_t)(a + s->pl - 2 * s->dw) * C, wr[0], dxrow + (size_t)a * C, z - a,
                           nr);
      } else if (s2x3 && nr >= 1 && j_lo < j_hi) {
        a = 2 * j_lo - s->pl, z = 2 * j_hi - s->pl;
        if (nr == 2)
          dw3x3s2_grad_pairs(C, 2, dr, wr, j_lo, dxrow + (size_t)a * C, j_hi - j_lo);
        else
          dw3x3s2_grad_pairs(C, 1, dr, wr, j_lo, dxrow + (size_t)a * C, j_hi - j_lo);
      }
      for (int ix = 0; ix < s->iw; ix++) {
        if (ix == a && a < z) ix = z;
        if (ix >= s->iw) break;
        const int nc = gather_taps(ix, s->pl, s->sw, s->dw, s->kw, s->ow, ck, co);
        float *dxp = dxrow + (size_t)ix * C;
        if (nr * nc <= 4) {
          /* Stride 2 (3×3: 1, 2 or 4 taps per pixel) and borders: a flat tap list, unrolled. */
          const float *dp[4], *wp[4];
          int t = 0;
          for (int r = 0; r < nr; r++)
            for (int q = 0; q < nc; q++, t++) dp[t] = dr[r] + (size_t)co[q] * C, wp[t] = wr[r] + (size_t)ck[q] * C;
          for (; t < 4; t++) dp[t] = wp[t] = NULL;
          dw_grad_taps4(C4, nr * nc, dp, wp, dxp);
        } else {
          for (int c = 0; c < C4; c += 4) {
            v128_t acc = wasm_v128_load(dxp + c);
            for (int r = 0; r < nr; r++)
              for (int q = 0; q < nc; q++)
                acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(dr[r] + (size_t)co[q] * C + c),
                                                         wasm_v128_load(wr[r] + (size_t)ck[q] * C + c)));
            wasm_v128_store(dxp + c, acc);
          }
        }
        for (int c = C4; c < C; c++) {
          float acc = 0.0f;
          for (int r = 0; r < nr; r++)
            for (int q = 0; q < nc; q++) acc += dr[r][(size_t)co[q] * C + c] * wr[r][(size_t)ck[q] * C + c];
          dxp[c] += acc;
        }
      }
    }
}

#endif /* __wasm_simd128__ */

/* ---- dispatch ------------------------------------------------------------------ */
/* The SIMD twins take every shape (dm > 1 and huge filters fall back to scalar
 * inside them), so the switch is the only test. */

void fv_dwconv2d(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) { FV_PICK(dwconv2d)(s, x, w, b, y); }

void fv_dwconv2d_grad(const fv_conv_shape *s, const float *dy, const float *w, float *dx) { FV_PICK(dwconv2d_grad)(s, dy, w, dx); }
