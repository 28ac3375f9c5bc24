/* dwconv.c — DEPTHWISE_CONV_2D forward and input gradient.
 *
 * x [n][ih][iw][ic], w [kh][kw][oc] (TFLite's [1, KH, KW, IC*DM]), b [oc] or
 * NULL, y [n][oh][ow][oc] with oc = ic * dm: output channel o = i*dm + m reads
 * input channel i only. Output pixel (oy, ox) reads input
 * (oy*sh - pt + ky*dh, ox*sw - pl + kx*dw); taps outside the input read zero.
 *
 * SIMD (depth multiplier 1, the only one MobileNets use; dm > 1 runs scalar):
 * channels are contiguous in x, w and y, so one f32x4 holds 4 channels.
 *  - 3×3 without column dilation (column stride 1 or 2, any row stride or
 *    dilation): one output row at a time. A forward row, and a gradient row
 *    in gather form (dx += Σ dy · w, so each dx pixel is loaded and stored
 *    once), are 3-tap correlations along the row summed over up to 3 source
 *    rows. Per block of 4 channels the weights stay in registers for the
 *    whole row and the interior rolls along it, loading each source column
 *    once; the row ends take their taps one by one. The stride-1 gradient is
 *    the stride-1 kernel with the filter reversed; the stride-2 gradient
 *    pairs dx columns around each dy column. Wide rows go in segments that
 *    stay in L1 across the channel blocks. Rows about to be read for the
 *    first time (and dx rows) are first read once in address order, which
 *    streams them in far faster than the kernels' strided visits would.
 *  - Other filters: per output pixel with its taps worked out (forward), per
 *    input pixel with the taps that read it (gradient).
 * Channel tails (ic % 4) run scalar.
 */
#include <string.h>

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
  if (s->dx_set) memset(dx, 0, (size_t)s->n * s->ih * s->iw * ic * sizeof(float));
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
#define DW_SEG1 64 /* longest row segment, in outputs, of the 3×3 row kernels at stride 1 */
#define DW_SEG2 32 /* ... and at stride 2 (twice the source columns per output) */

/* Filter taps k in [*k0, *k1) with 0 <= i0 + k*d < in. */
static inline void tap_range(int i0, int d, int k, int in, int *k0, int *k1) {
  *k0 = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
  *k1 = in - 1 - i0 < 0 ? 0 : (in - 1 - i0) / d + 1;
  if (*k1 > k) *k1 = k;
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

/* Reads every cache line of p[0, n) once, in address order. The row kernels
 * visit a line four times (once per block of 4 channels), pixels C floats
 * apart, a pattern the hardware prefetcher follows poorly from L3 or DRAM; a
 * sequential pass first streams the rows in at full speed. The result goes
 * where the compiler cannot drop the loads. */
static void dw_touch(const float *p, size_t n) {
  v128_t t = wasm_f32x4_splat(0.0f);
  for (size_t k = 0; k + 4 <= n; k += 16) t = wasm_v128_xor(t, wasm_v128_load(p + k));
  volatile v128_t sink = t; /* on this thread's stack: threads share no scratch (src/threads.h) */
  (void)sink;
}

/* ---- 3×3 rows, no column dilation --------------------------------------------------
 * A forward output row reads up to 3 input rows; a gradient row (gather form)
 * reads up to 3 dy rows. Either is a 3-tap correlation along the row summed
 * over those rows, so both run on these row kernels. Per block of 4 channels
 * the 3·NR weights stay in registers for the whole row, and the interior
 * rolls along it so each source column is loaded once, not once per tap.
 * The pixels at the row ends take their taps one by one with the same
 * weights. */

/* The rows feeding one output row: n (0..3) source rows src[r] (x or dy, at
 * column 0) and their weight rows; tap k of row r is at w[r] + k*ws. */
typedef struct {
  const float *src[3], *w[3];
  int n;
} dw3_rows;

/* Forward (ACC 0): y = act(v + bias). Gradient: dx += v (ACC 1), or dx = +0 + v
 * (ACC 2, s->dx_set: the bytes of adding to a cleared dx, without reading it). */
static inline __attribute__((always_inline)) void dw3_put(float *q, v128_t v, v128_t bias, v128_t lo, v128_t hi,
                                                          int ACC) {
  if (ACC == 2)
    wasm_v128_store(q, wasm_f32x4_add(wasm_f32x4_splat(0.0f), v));
  else if (ACC)
    wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), v));
  else
    wasm_v128_store(q, fv_act4(wasm_f32x4_add(v, bias), lo, hi));
}

/* a + Σ over the NR rows of taps k in [k0, 3) of an output whose tap 0 reads
 * column col; taps off the row [0, nin) are skipped. p[r]: row r at column 0,
 * columns cs floats apart. */
static inline __attribute__((always_inline)) v128_t dw3_taps(v128_t a, const float *const *p, const v128_t *w, int NR,
                                                             int col, int nin, int k0, size_t cs) {
  for (int k = k0; k < 3; k++) {
    if (col + k < 0 || col + k >= nin) continue;
    for (int r = 0; r < NR; r++) a = fv_madd4(wasm_v128_load(p[r] + (size_t)(col + k) * cs), w[3 * r + k], a);
  }
  return a;
}

/* Channels [c0, C) of one row, scalar: out[o] (+)= Σ_r Σ_k src_r[o*sw - pad + k] · w_r[k*ws]. */
static void dw3_row_tail(const dw3_rows *R, ptrdiff_t ws, int C, int c0, int sw, int pad, int nin, int nout,
                         const float *b, float *out, fv_act act, int acc) {
  for (int o = 0; o < nout; o++)
    for (int c = c0; c < C; c++) {
      float a = acc || !b ? 0.0f : b[c];
      for (int r = 0; r < R->n; r++)
        for (int k = 0; k < 3; k++) {
          const int col = o * sw - pad + k;
          if (col >= 0 && col < nin) a += R->src[r][(size_t)col * C + c] * R->w[r][k * ws + c];
        }
      float *q = out + (size_t)o * C + c;
      *q = acc == 2 ? 0.0f + a : acc ? *q + a : fv_act1(act, a);
    }
}

/* Stride 1: out[o] = act(b + Σ) (forward) or out[o] += Σ (ACC, gradient), with
 * Σ = Σ_r Σ_k src_r[o - pad + k] · w_r[k] over the columns inside [0, nin).
 * Interior outputs [olo, ohi) read three columns inside. Column o - pad + 2
 * finishes output o and feeds the next two, whose sums ride along in a0, a1.
 * Output ohi (and ohi + 1) reads past the row end, so a0 (a1) is its whole
 * sum; using them after the loop also stops V8 from deferring their sums into
 * the next of its unrolled copies, which then carries three loaded columns
 * instead and spills. */
static inline __attribute__((always_inline)) void dw3s1_row(const dw3_rows *R, ptrdiff_t ws, int C, int pad, int nin,
                                                            int nout, const float *b, float *out, fv_act act, int NR,
                                                            int ACC) {
  const int C4 = C & ~3;
  const size_t cs = (size_t)C;
  int ohi = nin - 2 + pad;
  if (ohi > nout) ohi = nout;
  if (ohi < 0) ohi = 0;
  const int olo = pad < ohi ? pad : ohi;
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  for (int c = 0; c < C4; c += 4) {
    v128_t w[9];
    const float *p[3];
    for (int r = 0; r < NR; r++) {
      p[r] = R->src[r] + c;
      for (int k = 0; k < 3; k++) w[3 * r + k] = wasm_v128_load(R->w[r] + k * ws + c);
    }
    const v128_t zero = wasm_f32x4_splat(0.0f), bias = ACC || !b ? zero : wasm_v128_load(b + c);
    float *q = out + c;
    int o = 0;
    for (; o < olo; o++, q += cs) dw3_put(q, dw3_taps(zero, p, w, NR, o - pad, nin, 0, cs), bias, lo, hi, ACC);
    if (olo < ohi) {
      const float *s[3];
      v128_t a0, a1, t;
      for (int r = 0; r < NR; r++) s[r] = p[r] + (size_t)(olo - pad) * cs;
      a0 = wasm_f32x4_mul(wasm_v128_load(s[0]), w[0]);
      for (int r = 1; r < NR; r++) a0 = fv_madd4(wasm_v128_load(s[r]), w[3 * r], a0);
      t = wasm_v128_load(s[0] + cs);
      a0 = fv_madd4(t, w[1], a0), a1 = wasm_f32x4_mul(t, w[0]);
      for (int r = 1; r < NR; r++)
        t = wasm_v128_load(s[r] + cs), a0 = fv_madd4(t, w[3 * r + 1], a0), a1 = fv_madd4(t, w[3 * r], a1);
      for (int r = 0; r < NR; r++) s[r] += 2 * cs;
      for (; o < ohi; o++, q += cs) {
        t = wasm_v128_load(s[0]);
        v128_t v = fv_madd4(t, w[2], a0), n0 = fv_madd4(t, w[1], a1), n1 = wasm_f32x4_mul(t, w[0]);
        for (int r = 1; r < NR; r++) {
          t = wasm_v128_load(s[r]);
          v = fv_madd4(t, w[3 * r + 2], v), n0 = fv_madd4(t, w[3 * r + 1], n0), n1 = fv_madd4(t, w[3 * r], n1);
        }
        dw3_put(q, v, bias, lo, hi, ACC);
        a0 = n0, a1 = n1;
        for (int r = 0; r < NR; r++) s[r] += cs;
      }
      if (o < nout) dw3_put(q, a0, bias, lo, hi, ACC), o++, q += cs;
      if (o < nout) dw3_put(q, a1, bias, lo, hi, ACC), o++, q += cs;
    }
    for (; o < nout; o++, q += cs) dw3_put(q, dw3_taps(zero, p, w, NR, o - pad, nin, 0, cs), bias, lo, hi, ACC);
  }
  if (C4 < C) dw3_row_tail(R, ws, C, C4, 1, pad, nin, nout, b, out, act, ACC);
}

/* Forward, stride 2: y[o] = act(b + Σ_r Σ_k x_r[2o - pad + k] · w_r[k]). An
 * interior output loads columns 2o - pad + 1 and + 2 of each row; the second
 * is tap 0 of the next output too, whose sum rides along in a. */
static inline __attribute__((always_inline)) void dw3s2_row(const dw3_rows *R, int C, int pad, int nin, int nout,
                                                            const float *b, float *out, fv_act act, int NR) {
  const int C4 = C & ~3;
  const size_t cs = (size_t)C;
  int ohi = nin - 3 + pad >= 0 ? (nin - 3 + pad) / 2 + 1 : 0; /* outputs [olo, ohi) read three columns inside */
  if (ohi > nout) ohi = nout;
  const int olo = (pad + 1) / 2 < ohi ? (pad + 1) / 2 : ohi;
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  for (int c = 0; c < C4; c += 4) {
    v128_t w[9];
    const float *p[3];
    for (int r = 0; r < NR; r++) {
      p[r] = R->src[r] + c;
      for (int k = 0; k < 3; k++) w[3 * r + k] = wasm_v128_load(R->w[r] + (size_t)k * cs + c);
    }
    const v128_t zero = wasm_f32x4_splat(0.0f), bias = b ? wasm_v128_load(b + c) : zero;
    float *q = out + c;
    int o = 0;
    for (; o < olo; o++, q += cs) dw3_put(q, dw3_taps(zero, p, w, NR, 2 * o - pad, nin, 0, cs), bias, lo, hi, 0);
    if (olo < ohi) {
      const float *s[3];
      for (int r = 0; r < NR; r++) s[r] = p[r] + (size_t)(2 * olo - pad) * cs;
      v128_t a = wasm_f32x4_mul(wasm_v128_load(s[0]), w[0]);
      for (int r = 1; r < NR; r++) a = fv_madd4(wasm_v128_load(s[r]), w[3 * r], a);
      for (; o < ohi; o++, q += cs) {
        v128_t v = fv_madd4(wasm_v128_load(s[0] + cs), w[1], a), t = wasm_v128_load(s[0] + 2 * cs);
        v = fv_madd4(t, w[2], v), a = wasm_f32x4_mul(t, w[0]);
        for (int r = 1; r < NR; r++) {
          v = fv_madd4(wasm_v128_load(s[r] + cs), w[3 * r + 1], v), t = wasm_v128_load(s[r] + 2 * cs);
          v = fv_madd4(t, w[3 * r + 2], v), a = fv_madd4(t, w[3 * r], a);
        }
        dw3_put(q, v, bias, lo, hi, 0);
        for (int r = 0; r < NR; r++) s[r] += 2 * cs;
      }
      /* output ohi has tap 0 in a; its tap 1 may still be inside */
      if (o < nout) dw3_put(q, dw3_taps(a, p, w, NR, 2 * o - pad, nin, 1, cs), bias, lo, hi, 0), o++, q += cs;
    }
    for (; o < nout; o++, q += cs) dw3_put(q, dw3_taps(zero, p, w, NR, 2 * o - pad, nin, 0, cs), bias, lo, hi, 0);
  }
  if (C4 < C) dw3_row_tail(R, (ptrdiff_t)C, C, C4, 2, pad, nin, nout, b, out, act, 0);
}

/* a + Σ over the NR rows of the taps k < k1 that read dx column i: dy column
 * (i + pad - k) / 2 when that divides evenly and lies inside [0, nin). */
static inline __attribute__((always_inline)) v128_t dw3s2g_taps(v128_t a, const float *const *p, const v128_t *w,
                                                                 int NR, int i, int pad, int nin, int k1, size_t cs) {
  for (int k = 0; k < k1; k++) {
    const int t = i + pad - k;
    if (t < 0 || t & 1 || t / 2 >= nin) continue;
    for (int r = 0; r < NR; r++) a = fv_madd4(wasm_v128_load(p[r] + (size_t)(t / 2) * cs), w[3 * r + k], a);
  }
  return a;
}

/* Gradient, stride 2: dx[i] += Σ_r Σ_k dy_r[(i + pad - k) / 2] · w_r[k]. dx
 * columns pair up around dy column j: the even one, 2j - pad, reads taps 0
 * (column j) and 2 (column j - 1); the odd one reads tap 1 (column j). The
 * interior pairs [jlo, jhi) load each dy column once; the tap-2 sum for the
 * next even column rides along in e2. */
static inline __attribute__((always_inline)) void dw3s2_grad_row(const dw3_rows *R, int C, int pad, int nin,
                                                                 int nout, float *dx, int NR, int SET) {
  const int ACC = SET ? 2 : 1;
  const int C4 = C & ~3;
  const size_t cs = (size_t)C;
  int jhi = nout - 2 + pad >= 0 ? (nout - 2 + pad) / 2 + 1 : 0; /* pairs j in [jlo, jhi) lie inside dx and dy */
  if (jhi > nin) jhi = nin;
  const int jlo = (pad + 1) / 2 < jhi ? (pad + 1) / 2 : jhi;
  for (int c = 0; c < C4; c += 4) {
    v128_t w[9];
    const float *p[3];
    for (int r = 0; r < NR; r++) {
      p[r] = R->src[r] + c;
      for (int k = 0; k < 3; k++) w[3 * r + k] = wasm_v128_load(R->w[r] + (size_t)k * cs + c);
    }
    const v128_t zero = wasm_f32x4_splat(0.0f);
    float *q = dx + c;
    int i = 0;
    for (; i < 2 * jlo - pad; i++, q += cs)
      dw3_put(q, dw3s2g_taps(zero, p, w, NR, i, pad, nin, 3, cs), zero, zero, zero, ACC);
    if (jlo < jhi) {
      const float *s[3];
      for (int r = 0; r < NR; r++) s[r] = p[r] + (size_t)jlo * cs;
      v128_t e2 = zero; /* dy column jlo - 1 */
      if (jlo > 0)
        for (int r = 0; r < NR; r++) e2 = fv_madd4(wasm_v128_load(s[r] - cs), w[3 * r + 2], e2);
      for (int j = jlo; j < jhi; j++, i += 2, q += 2 * cs) {
        v128_t t = wasm_v128_load(s[0]);
        v128_t e = fv_madd4(t, w[0], e2), od = wasm_f32x4_mul(t, w[1]);
        e2 = wasm_f32x4_mul(t, w[2]);
        for (int r = 1; r < NR; r++) {
          t = wasm_v128_load(s[r]);
          e = fv_madd4(t, w[3 * r], e), od = fv_madd4(t, w[3 * r + 1], od), e2 = fv_madd4(t, w[3 * r + 2], e2);
        }
        wasm_v128_store(q, wasm_f32x4_add(SET ? zero : wasm_v128_load(q), e));
        wasm_v128_store(q + cs, wasm_f32x4_add(SET ? zero : wasm_v128_load(q + cs), od));
        for (int r = 0; r < NR; r++) s[r] += cs;
      }
      /* the next column is even: tap 2 is in e2, tap 0 may still be inside */
      if (i < nout) dw3_put(q, dw3s2g_taps(e2, p, w, NR, i, pad, nin, 1, cs), zero, zero, zero, ACC), i++, q += cs;
    }
    for (; i < nout; i++, q += cs) dw3_put(q, dw3s2g_taps(zero, p, w, NR, i, pad, nin, 3, cs), zero, zero, zero, ACC);
  }
  for (int i = 0; i < nout; i++)
    for (int c = C4; c < C; c++) {
      float a = 0.0f;
      for (int r = 0; r < R->n; r++)
        for (int k = 0; k < 3; k++) {
          const int t = i + pad - k;
          if (t >= 0 && !(t & 1) && t / 2 < nin) a += R->src[r][(size_t)(t / 2) * C + c] * R->w[r][k * C + c];
        }
      float *q = dx + (size_t)i * C + c;
      *q = (SET ? 0.0f : *q) + a;
    }
}

/* One forward output row of width nout from input rows of width nin.
 * noinline (and dw3_grad_row too): inlined by LLVM into the entry points, the
 * row loops came out of V8 with spilled registers, the gradient ~40% slower.
 * (wasm-opt may still inline them at link time; that does no harm.) */
static __attribute__((noinline)) void dw3_fwd_row(const dw3_rows *R, int C, int sw, int pad, int nin, int nout,
                                                  const float *b, float *out, fv_act act) {
  if (R->n == 0) { /* no input row inside: the bias alone */
    for (int o = 0; o < nout; o++)
      for (int c = 0; c < C; c++) out[(size_t)o * C + c] = fv_act1(act, b ? b[c] : 0.0f);
  } else if (sw == 1) {
    if (R->n == 3) dw3s1_row(R, C, C, pad, nin, nout, b, out, act, 3, 0);
    else if (R->n == 2) dw3s1_row(R, C, C, pad, nin, nout, b, out, act, 2, 0);
    else dw3s1_row(R, C, C, pad, nin, nout, b, out, act, 1, 0);
  } else {
    if (R->n == 3) dw3s2_row(R, C, pad, nin, nout, b, out, act, 3);
    else if (R->n == 2) dw3s2_row(R, C, pad, nin, nout, b, out, act, 2);
    else dw3s2_row(R, C, pad, nin, nout, b, out, act, 1);
  }
}

/* One gradient row of width nout (dx) from dy rows of width nin. Stride 1 is
 * the stride-1 row kernel on dy with each filter row reversed (w at tap 2,
 * stepping back); pad is then the mirrored padding, 2 - pl. */
static __attribute__((noinline)) void dw3_grad_row(const dw3_rows *R, int C, int sw, int pad, int nin, int nout,
                                                   float *dx, int set) {
  if (sw == 1) {
    dw3_rows F = *R;
    for (int r = 0; r < F.n; r++) F.w[r] += 2 * C;
    const ptrdiff_t ws = -(ptrdiff_t)C;
    if (set) {
      if (F.n == 3) dw3s1_row(&F, ws, C, pad, nin, nout, NULL, dx, FV_ACT_NONE, 3, 2);
      else if (F.n == 2) dw3s1_row(&F, ws, C, pad, nin, nout, NULL, dx, FV_ACT_NONE, 2, 2);
      else dw3s1_row(&F, ws, C, pad, nin, nout, NULL, dx, FV_ACT_NONE, 1, 2);
    } else {
      if (F.n == 3) dw3s1_row(&F, ws, C, pad, nin, nout, NULL, dx, FV_ACT_NONE, 3, 1);
      else if (F.n == 2) dw3s1_row(&F, ws, C, pad, nin, nout, NULL, dx, FV_ACT_NONE, 2, 1);
      else dw3s1_row(&F, ws, C, pad, nin, nout, NULL, dx, FV_ACT_NONE, 1, 1);
    }
  } else if (set) {
    if (R->n == 3) dw3s2_grad_row(R, C, pad, nin, nout, dx, 3, 1);
    else if (R->n == 2) dw3s2_grad_row(R, C, pad, nin, nout, dx, 2, 1);
    else dw3s2_grad_row(R, C, pad, nin, nout, dx, 1, 1);
  } else {
    if (R->n == 3) dw3s2_grad_row(R, C, pad, nin, nout, dx, 3, 0);
    else if (R->n == 2) dw3s2_grad_row(R, C, pad, nin, nout, dx, 2, 0);
    else dw3s2_grad_row(R, C, pad, nin, nout, dx, 1, 0);
  }
}

/* ---- entry points ---------------------------------------------------------------- */

/* Wide rows go to the row kernels in segments of at most seg outputs, so that
 * what one 4-channel block reads and writes of a segment is still in L1 when
 * the next block comes round. Segment [o0, o1) of a row kernel with stride sw
 * and padding pad reads source columns [*c0, *c0 + *nin1) and pads *pad1. */
static void dw3_segment(int o0, int o1, int sw, int pad, int nin, int *c0, int *pad1, int *nin1) {
  const int first = o0 * sw - pad, end = (o1 - 1) * sw - pad + 3;
  *c0 = first < 0 ? 0 : first;
  *pad1 = *c0 - first;
  *nin1 = (end < nin ? end : nin) - *c0;
  if (*nin1 < 0) *nin1 = 0;
}
/* The segment length for a row of nout outputs: equal segments, none longer than DW_SEG1/2. */
static int dw3_seg_len(int nout, int sw) {
  const int seg = sw == 1 ? DW_SEG1 : DW_SEG2, nseg = (nout + seg - 1) / seg;
  return nseg > 1 ? (nout + nseg - 1) / nseg : nout;
}

/* The 3×3 row kernels take stride 1 or 2 along the row and any row stride or
 * row dilation; pl <= 2 always holds for 3×3 without column dilation. */
static int dw3_rows_apply(const fv_conv_shape *s) {
  return s->dm == 1 && s->kh == 3 && s->kw == 3 && s->dw == 1 && s->sw <= 2 && s->pl <= 2;
}

/* One output pixel with its taps worked out: y[c] = act(b[c] + Σ x · w) over the
 * taps inside the input. For the filters the 3×3 row kernels do not take. */
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

void fv_f32_dwconv2d__wasmsimd(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
  if (s->dm != 1) {
    fv_f32_dwconv2d__scalar(s, x, w, b, y);
    return;
  }
  const int C = s->ic;
  if (dw3_rows_apply(s)) {
    for (int n = 0; n < s->n; n++)
      for (int oy = 0, fresh = 0; oy < s->oh; oy++) { /* input rows below fresh are touched */
        const int iy0 = oy * s->sh - s->pt;
        int ky0, ky1;
        tap_range(iy0, s->dh, 3, s->ih, &ky0, &ky1);
        dw3_rows R;
        R.n = ky1 > ky0 ? ky1 - ky0 : 0;
        for (int r = 0; r < R.n; r++) {
          const int iy = iy0 + (ky0 + r) * s->dh;
          R.src[r] = x + ((size_t)n * s->ih + iy) * s->iw * C;
          R.w[r] = w + (size_t)(ky0 + r) * 3 * C;
          if (iy >= fresh) dw_touch(R.src[r], (size_t)s->iw * C), fresh = iy + 1;
        }
        float *yrow = y + ((size_t)n * s->oh + oy) * s->ow * C;
        for (int o0 = 0, len = dw3_seg_len(s->ow, s->sw); o0 < s->ow; o0 += len) {
          const int o1 = o0 + len < s->ow ? o0 + len : s->ow;
          int c0, pad1, nin1;
          dw3_segment(o0, o1, s->sw, s->pl, s->iw, &c0, &pad1, &nin1);
          dw3_rows S = R;
          for (int r = 0; r < S.n; r++) S.src[r] += (size_t)c0 * C;
          dw3_fwd_row(&S, C, s->sw, pad1, nin1, o1 - o0, b, yrow + (size_t)o0 * C, s->act);
        }
      }
    return;
  }
  /* Other filters and column dilation: per output pixel. */
  v128_t lo, hi;
  fv_act_bounds(s->act, &lo, &hi);
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++) {
      const int iy0 = oy * s->sh - s->pt;
      int ky0, ky1;
      tap_range(iy0, s->dh, s->kh, s->ih, &ky0, &ky1);
      float *yrow = y + ((size_t)n * s->oh + oy) * s->ow * C;
      for (int ox = 0; ox < s->ow; ox++)
        dw_pixel(s, x, w, b, yrow + (size_t)ox * C, n, iy0, ky0, ky1, ox * s->sw - s->pl, lo, hi);
    }
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


void fv_f32_dwconv2d_grad__wasmsimd(const fv_conv_shape *s, const float *dy, const float *w, float *dx) {
  if (s->dm != 1 || s->kh > DW_MAXK || s->kw > DW_MAXK) {
    fv_f32_dwconv2d_grad__scalar(s, dy, w, dx);
    return;
  }
  const int C = s->ic, C4 = C & ~3, set = s->dx_set;
  int rk[DW_MAXK], ro[DW_MAXK], ck[DW_MAXK], co[DW_MAXK];
  if (dw3_rows_apply(s)) {
    /* set: the row kernels write dx (each dx pixel is summed whole, once) and
     * rows nothing reads are cleared; dx is then never read, nor touched. */
    for (int n = 0; n < s->n; n++)
      for (int iy = 0, fresh = 0; iy < s->ih; iy++) { /* dy rows below fresh are touched */
        dw3_rows R;
        float *dxrow = dx + ((size_t)n * s->ih + iy) * s->iw * C;
        R.n = gather_taps(iy, s->pt, s->sh, s->dh, 3, s->oh, rk, ro);
        if (R.n == 0) {
          if (set) memset(dxrow, 0, (size_t)s->iw * C * sizeof(float));
          continue;
        }
        for (int r = 0; r < R.n; r++) {
          R.src[r] = dy + ((size_t)n * s->oh + ro[r]) * s->ow * C;
          R.w[r] = w + (size_t)rk[r] * 3 * C;
          if (ro[r] >= fresh) dw_touch(R.src[r], (size_t)s->ow * C), fresh = ro[r] + 1;
        }
        if (!set) dw_touch(dxrow, (size_t)s->iw * C);
        if (s->sw == 2) {
          dw3_grad_row(&R, C, 2, s->pl, s->ow, s->iw, dxrow, set);
          continue;
        }
        for (int o0 = 0, len = dw3_seg_len(s->iw, 1); o0 < s->iw; o0 += len) {
          const int o1 = o0 + len < s->iw ? o0 + len : s->iw;
          int c0, pad1, nin1;
          dw3_segment(o0, o1, 1, 2 - s->pl, s->ow, &c0, &pad1, &nin1);
          dw3_rows S = R;
          for (int r = 0; r < S.n; r++) S.src[r] += (size_t)c0 * C;
          dw3_grad_row(&S, C, 1, pad1, nin1, o1 - o0, dxrow + (size_t)o0 * C, set);
        }
      }
    return;
  }
  if (set) memset(dx, 0, (size_t)s->n * s->ih * s->iw * C * sizeof(float)); /* the path below adds into dx */
  /* Other filters: per input pixel, the taps that read it. */
  const float *dr[DW_MAXK], *wr[DW_MAXK]; /* per row tap: dy row and w row */
  for (int n = 0; n < s->n; n++)
    for (int iy = 0; iy < s->ih; iy++) {
      const int nr = gather_taps(iy, s->pt, s->sh, s->dh, s->kh, s->oh, rk, ro);
      for (int r = 0; r < nr; r++) {
        dr[r] = dy + ((size_t)n * s->oh + ro[r]) * s->ow * C;
        wr[r] = w + (size_t)rk[r] * s->kw * C;
      }
      float *dxrow = dx + ((size_t)n * s->ih + iy) * s->iw * C;
      for (int ix = 0; ix < s->iw; ix++) {
        const int nc = gather_taps(ix, s->pl, s->sw, s->dw, s->kw, s->ow, ck, co);
        float *dxp = dxrow + (size_t)ix * C;
        if (nr * nc <= 4) {
          /* a flat tap list, unrolled */
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
