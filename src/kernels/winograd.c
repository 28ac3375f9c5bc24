/* winograd.c — Winograd F(m×m, r×r): F(2×2, 3×3), F(4×4, 3×3), F(2×2, 5×5) and F(3×3, 4×4) (the 7×7
 * stride-2 conv's phases, winograd_s2.c), for stride-1 convs (see
 * winograd.h): the weight transforms, the scalar twin (one tile and output
 * channel at a time, as the formulas read) and the SIMD twin (a block's input
 * transform four channels to a vector, then per output-channel chunk T² GEMMs
 * of the block's tiles with the packed transformed weights, fc.c's
 * micro-kernel, then the output transform four channels to a vector).
 *
 * The matrices are Lavin & Gray's ("Fast Algorithms for Convolutional Neural
 * Networks", 2016), interpolation points 0, ±1 (m = 2) and 0, ±1, ±2 (m = 4),
 * written out as 1-D transforms of a column: Bᵀ (T inputs → T), G (r filter
 * taps → T), Aᵀ (T products → m outputs), T = m + r − 1; the 2-D transform applies
 * each to the columns, then to the rows. */
#include "winograd.h"

#include "conv_family.h"

int fv_wino_applies(const fv_conv_shape *s) {
  return s->groups <= 1 && s->kh == s->kw && (s->kh == 3 || s->kh == 5) && s->sh == 1 && s->sw == 1 && s->dh == 1 &&
         s->dw == 1;
}

fv_wino_shape fv_wino_shape_of(const fv_conv_shape *s, int grad, int m) {
  /* the gradient: dx[iy] = Σ dy[iy + pt − ky] w[ky] = Σ dy[iy − (r − 1 − pt) + ky'] w[r − 1 − ky'] */
  const int r = s->kh;
  if (grad) return (fv_wino_shape){s->n, s->oh, s->ow, s->oc, s->ih, s->iw, s->ic, r - 1 - s->pt, r - 1 - s->pl, m, r, 0, 0};
  return (fv_wino_shape){s->n, s->ih, s->iw, s->ic, s->oh, s->ow, s->oc, s->pt, s->pl, m, r, 0, 0};
}

/* T² transformed entries per (o, c) pair, T = m + r − 1 */
static inline int wino_k(int m, int r) { return (m + r - 1) * (m + r - 1); }

size_t fv_wino_floats(int ic, int oc, int m, int r) { return (size_t)wino_k(m, r) * ic * oc; }

/* ---- 1-D transforms, scalar ------------------------------------------------------ *
 * T = 4: points 0, ±1, ∞ (F(2, 3)); T = 6: points 0, ±1, ±2, ∞ (F(4, 3) and F(2, 5)),
 * whose input transform Bᵀ is the same; G evaluates the filter at the points, scaled. */

/* G g of r taps: G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1] (T = 4);
 * [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1] (T = 6, r = 3); for r = 5 the
 * rows are ¼·(1 0 0 0 0), −⅙·(1 1 1 1 1), −⅙·(1 −1 1 −1 1), 1/24·(1 2 4 8 16),
 * 1/24·(1 −2 4 −8 16), (0 0 0 0 1); for r = 4 the same rows on 4 taps (F(3, 4)). */
static void g1d(int T, int r, const float *g, float *u) {
  if (T == 4) {
    const float a = g[0], b = g[1], c = g[2];
    u[0] = a, u[1] = 0.5f * (a + b + c), u[2] = 0.5f * (a - b + c), u[3] = c;
    return;
  }
  if (r == 3) {
    const float a = g[0], b = g[1], c = g[2];
    u[0] = 0.25f * a;
    u[1] = -(a + b + c) / 6.0f, u[2] = -(a - b + c) / 6.0f;
    u[3] = a / 24.0f + b / 12.0f + c / 6.0f, u[4] = a / 24.0f - b / 12.0f + c / 6.0f;
    u[5] = c;
    return;
  }
  /* r = 4 or 5 (T = 6): sums of the even and the odd taps, plain and weighted by the points ±2's powers */
  float e = g[0], o = g[1], e2 = g[0], o2 = 2.0f * g[1];
  for (int k = 2; k < r; k += 2) e += g[k], e2 += (float)(1 << 2 * (k / 2)) * g[k];
  for (int k = 3; k < r; k += 2) o += g[k], o2 += (float)(2 << 2 * (k / 2)) * g[k];
  u[0] = 0.25f * g[0];
  u[1] = -(e + o) / 6.0f, u[2] = -(e - o) / 6.0f;
  u[3] = (e2 + o2) / 24.0f, u[4] = (e2 - o2) / 24.0f;
  u[5] = g[r - 1];
}

/* Bᵀ d: [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1] (T = 4);
 * [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1] (T = 6). */
static void bt1d(int T, const float *d, float *r) {
  if (T == 4) {
    r[0] = d[0] - d[2], r[1] = d[1] + d[2], r[2] = d[2] - d[1], r[3] = d[1] - d[3];
    return;
  }
  r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
  r[1] = -4.0f * d[1] - 4.0f * d[2] + d[3] + d[4];
  r[2] = 4.0f * d[1] - 4.0f * d[2] - d[3] + d[4];
  r[3] = -2.0f * d[1] - d[2] + 2.0f * d[3] + d[4];
  r[4] = 2.0f * d[1] - d[2] - 2.0f * d[3] + d[4];
  r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

/* Aᵀ p: [1 1 1 0; 0 1 −1 −1] (m = 2, T = 4); [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 1] (m = 3);
 * [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0;
 * 0 1 −1 8 −8 1] (m = 4); [1 1 1 1 1 0; 0 1 −1 2 −2 1] (m = 2, T = 6): row i holds the points' i-th powers. */
static void at1d(int m, int T, const float *p, float *o) {
  if (T == 4) {
    o[0] = p[0] + p[1] + p[2], o[1] = p[1] - p[2] - p[3];
    return;
  }
  if (m == 2) {
    o[0] = p[0] + p[1] + p[2] + p[3] + p[4];
    o[1] = p[1] - p[2] + 2.0f * p[3] - 2.0f * p[4] + p[5];
    return;
  }
  if (m == 3) {
    o[0] = p[0] + p[1] + p[2] + p[3] + p[4];
    o[1] = p[1] - p[2] + 2.0f * p[3] - 2.0f * p[4];
    o[2] = p[1] + p[2] + 4.0f * p[3] + 4.0f * p[4] + p[5];
    return;
  }
  o[0] = p[0] + p[1] + p[2] + p[3] + p[4];
  o[1] = p[1] - p[2] + 2.0f * p[3] - 2.0f * p[4];
  o[2] = p[1] + p[2] + 4.0f * p[3] + 4.0f * p[4];
  o[3] = p[1] - p[2] + 8.0f * p[3] - 8.0f * p[4] + p[5];
}

/* G g Gᵀ of a row-major r×r g into u[T·T] (row-major). */
static void wino_filter(int m, int r, const float *g, float *u) {
  const int T = m + r - 1;
  float t[6][5], col[5], row[6];
  for (int j = 0; j < r; j++) {
    for (int i = 0; i < r; i++) col[i] = g[i * r + j];
    g1d(T, r, col, row);
    for (int i = 0; i < T; i++) t[i][j] = row[i];
  }
  for (int i = 0; i < T; i++) g1d(T, r, t[i], u + i * T);
}

/* Bᵀ d B of one channel's T×T input tile d (row-major, stride 6) into v[T·T]. */
static void wino_input(int T, const float d[6][6], float *v) {
  float t[6][6], col[6], r[6];
  for (int j = 0; j < T; j++) {
    for (int i = 0; i < T; i++) col[i] = d[i][j];
    bt1d(T, col, r);
    for (int i = 0; i < T; i++) t[i][j] = r[i];
  }
  for (int i = 0; i < T; i++) bt1d(T, t[i], v + i * T);
}

/* Aᵀ p A of T·T products into out[m][m] (stride 4). */
static void wino_output(int m, int T, const float *p, float out[4][4]) {
  float t[4][6], col[6], o[4];
  for (int j = 0; j < T; j++) {
    for (int i = 0; i < T; i++) col[i] = p[i * T + j];
    at1d(m, T, col, o);
    for (int i = 0; i < m; i++) t[i][j] = o[i];
  }
  for (int i = 0; i < m; i++) at1d(m, T, t[i], out[i]);
}

/* ---- weights ------------------------------------------------------------------------ */

/* g: the r×r filter that output channel o applies to input channel c (grad: flipped, ic/oc swapped). */
static void filter_of(int ic, int r, const float *w, int grad, int o, int c, float *g) {
  for (int ky = 0; ky < r; ky++)
    for (int kx = 0; kx < r; kx++)
      g[ky * r + kx] = grad ? w[(((size_t)c * r + r - 1 - ky) * r + r - 1 - kx) * ic + o]
                            : w[(((size_t)o * r + ky) * r + kx) * ic + c];
}

void fv_wino_weights(int ic, int oc, int r, const float *w, int grad, int m, float *u) {
  const int O = grad ? ic : oc, C = grad ? oc : ic, K = wino_k(m, r);
  for (int o = 0; o < O; o++)
    for (int c = 0; c < C; c++) {
      float g[25], uk[36];
      filter_of(ic, r, w, grad, o, c, g);
      wino_filter(m, r, g, uk);
      for (int k = 0; k < K; k++) u[((size_t)k * O + o) * C + c] = uk[k];
    }
}

size_t fv_wino_pack_floats(int c, int o, int m, int r) { return (size_t)wino_k(m, r) * fv_fc_pack_floats(c, o); }

void fv_wino_pack(int c, int o, int m, int r, const float *u, float *p) {
  for (int k = 0; k < wino_k(m, r); k++)
    fv_fc_pack(c, o, u + (size_t)k * o * c, p + (size_t)k * fv_fc_pack_floats(c, o));
}

/* One direction, transformed straight into fv_fc_pack's panels of each k:
 * entry (o, c) of k at k·pack + ((o / 8)·C + c)·8 + o % 8. */
void fv_wino_pack_weights(int ic, int oc, int r, const float *w, int grad, int m, float *p) {
  const int O = grad ? ic : oc, C = grad ? oc : ic, K = wino_k(m, r);
  const size_t kpack = fv_fc_pack_floats(C, O);
  for (size_t i = 0; i < K * kpack; i++) p[i] = 0.0f; /* the last panel's missing channels */
  for (int o = 0; o < O; o++)
    for (int c = 0; c < C; c++) {
      float g[25], uk[36];
      filter_of(ic, r, w, grad, o, c, g);
      wino_filter(m, r, g, uk);
      for (int k = 0; k < K; k++) p[k * kpack + ((size_t)(o / 8) * C + c) * 8 + o % 8] = uk[k];
    }
}

/* The loader's block: F(2×2) forward, F(2×2) gradient, then for r = 3 F(4×4) forward
 * when ic allows it and F(4×4) gradient when oc does (its c is the forward's oc). */
static int has_f4(int c, int r) { return r == 3 && c <= FV_WINO4_CMAX; }

size_t fv_conv_wino_floats(int ic, int oc, int r) {
  return fv_wino_pack_floats(ic, oc, 2, r) + fv_wino_pack_floats(oc, ic, 2, r) +
         (has_f4(ic, r) ? fv_wino_pack_floats(ic, oc, 4, r) : 0) + (has_f4(oc, r) ? fv_wino_pack_floats(oc, ic, 4, r) : 0);
}

void fv_conv_wino(int ic, int oc, int r, const float *w, float *p) {
  fv_wino_pack_weights(ic, oc, r, w, 0, 2, p);
  p += fv_wino_pack_floats(ic, oc, 2, r);
  fv_wino_pack_weights(ic, oc, r, w, 1, 2, p);
  p += fv_wino_pack_floats(oc, ic, 2, r);
  if (has_f4(ic, r)) {
    fv_wino_pack_weights(ic, oc, r, w, 0, 4, p);
    p += fv_wino_pack_floats(ic, oc, 4, r);
  }
  if (has_f4(oc, r)) fv_wino_pack_weights(ic, oc, r, w, 1, 4, p);
}

const float *fv_conv_wino_part(int ic, int oc, int r, const float *p, int grad, int m) {
  if (!p || (m == 4 && !has_f4(grad ? oc : ic, r))) return NULL;
  if (m == 2) return grad ? p + fv_wino_pack_floats(ic, oc, 2, r) : p;
  p += fv_wino_pack_floats(ic, oc, 2, r) + fv_wino_pack_floats(oc, ic, 2, r);
  return grad && has_f4(ic, r) ? p + fv_wino_pack_floats(ic, oc, 4, r) : p;
}

/* ---- tiles ------------------------------------------------------------------------------ */

static inline long tiles_of(const fv_wino_shape *g) {
  return (long)g->n * ((g->oh + g->m - 1) / g->m) * ((g->ow + g->m - 1) / g->m);
}

int fv_wino_blocks(const fv_wino_shape *g) { return (int)((tiles_of(g) + FV_WINO_BLOCK - 1) / FV_WINO_BLOCK); }

/* Few blocks (small maps: GoogLeNet's 8×8 and 16×16 at a 128-px step are one or
 * four) leave threads idle, so their output channels are cut into units too; with
 * many, a unit is a whole block (its input transform is done once per unit). */
int fv_wino_unit_channels(const fv_wino_shape *g) { return fv_wino_blocks(g) >= 8 ? g->o : FV_WINO_UNIT; }
int fv_wino_units(const fv_wino_shape *g) {
  const int span = fv_wino_unit_channels(g);
  return fv_wino_blocks(g) * ((g->o + span - 1) / span);
}

/* Output channels [oa, ob) of tile t, one channel at a time, as the formulas read. */
static void scalar_tile(const fv_wino_shape *g, const float *x, const float *u, const float *b, fv_act act,
                        int accumulate, float *y, long t, int oa, int ob) {
  const int m = g->m, T = m + g->r - 1, K = T * T, TH = (g->oh + m - 1) / m, TW = (g->ow + m - 1) / m, C = g->c, O = g->o;
  const int n = (int)(t / ((long)TH * TW)), ty = (int)(t / TW % TH), tx = (int)(t % TW);
  const int y0 = m * ty - g->pt, x0 = m * tx - g->pl;
  for (int o = oa; o < ob; o++) {
    float p[36] = {0}, out[4][4];
    for (int c = 0; c < C; c++) {
      float d[6][6], v[36];
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
          const int iy = y0 + i, ix = x0 + j;
          d[i][j] = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w ? x[(((size_t)n * g->h + iy - g->xrow0) * g->w + ix) * C + c] : 0.0f;
        }
      wino_input(T, d, v);
      for (int k = 0; k < K; k++) p[k] += u[((size_t)k * O + o) * C + c] * v[k];
    }
    wino_output(m, T, p, out);
    for (int i = 0; i < m; i++)
      for (int j = 0; j < m; j++) {
        const int oy = m * ty + i, ox = m * tx + j;
        if (oy >= g->oh || ox >= g->ow) continue;
        float *yp = y + (((size_t)n * g->oh + oy - g->yrow0) * g->ow + ox) * O + o;
        if (accumulate) *yp += out[i][j];
        else *yp = fv_act1(act, out[i][j] + (b ? b[o] : 0.0f));
      }
  }
}

void fv_f32_wino__scalar(const fv_wino_shape *g, const float *x, const float *u, const float *b, fv_act act,
                         int accumulate, float *y, int u0, int u1) {
  const long tiles = tiles_of(g);
  const int O = g->o, span = fv_wino_unit_channels(g), per = (O + span - 1) / span;
  for (int un = u0; un < u1; un++) {
    const long t0 = (long)(un / per) * FV_WINO_BLOCK;
    const int oa = un % per * span, ob = oa + span < O ? oa + span : O;
    for (long t = t0; t < t0 + FV_WINO_BLOCK && t < tiles; t++) scalar_tile(g, x, u, b, act, accumulate, y, t, oa, ob);
  }
}

/* ---- WASM SIMD ---------------------------------------------------------------- */
#ifdef __wasm_simd128__


/* A block's 16 GEMM rows are tiles: a map of fewer tiles fills them with zeros.
 * Below half full (GoogLeNet's 4×4 inception_5b maps at 128 px: 4 tiles of
 * 2×2), the im2col GEMM is faster (bench/conv_bench.c: 0.51 vs 0.90 ms). */
int fv_wino_fits(const fv_wino_shape *g) {
  const int cmax = g->m + g->r - 1 == 6 ? FV_WINO4_CMAX : FV_WINO_CMAX;
  return g->c >= 1 && g->c <= cmax && g->o >= 1 && tiles_of(g) * 2 >= (long)fv_wino_blocks(g) * FV_WINO_BLOCK;
}

static inline v128_t mul4(float k, v128_t v) { return wasm_f32x4_mul(wasm_f32x4_splat(k), v); }
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub

/* The same 1-D transforms on vectors of 4 channels (the same operations, so the same
 * bits per lane as the scalar forms above). */
static inline void bt1d4(int T, const v128_t *d, v128_t *r) {
  if (T == 4) {
    r[0] = SUB(d[0], d[2]), r[1] = ADD(d[1], d[2]), r[2] = SUB(d[2], d[1]), r[3] = SUB(d[1], d[3]);
    return;
  }
  r[0] = ADD(SUB(mul4(4.0f, d[0]), mul4(5.0f, d[2])), d[4]);
  r[1] = ADD(ADD(SUB(mul4(-4.0f, d[1]), mul4(4.0f, d[2])), d[3]), d[4]);
  r[2] = ADD(SUB(SUB(mul4(4.0f, d[1]), mul4(4.0f, d[2])), d[3]), d[4]);
  r[3] = ADD(ADD(SUB(mul4(-2.0f, d[1]), d[2]), mul4(2.0f, d[3])), d[4]);
  r[4] = ADD(SUB(SUB(mul4(2.0f, d[1]), d[2]), mul4(2.0f, d[3])), d[4]);
  r[5] = ADD(SUB(mul4(4.0f, d[1]), mul4(5.0f, d[3])), d[5]);
}

static inline void at1d4(int m, int T, const v128_t *p, v128_t *o) {
  if (T == 4) {
    o[0] = ADD(ADD(p[0], p[1]), p[2]), o[1] = SUB(SUB(p[1], p[2]), p[3]);
    return;
  }
  if (m == 2) {
    o[0] = ADD(ADD(ADD(ADD(p[0], p[1]), p[2]), p[3]), p[4]);
    o[1] = ADD(SUB(ADD(SUB(p[1], p[2]), mul4(2.0f, p[3])), mul4(2.0f, p[4])), p[5]);
    return;
  }
  if (m == 3) {
    o[0] = ADD(ADD(ADD(ADD(p[0], p[1]), p[2]), p[3]), p[4]);
    o[1] = SUB(ADD(SUB(p[1], p[2]), mul4(2.0f, p[3])), mul4(2.0f, p[4]));
    o[2] = ADD(ADD(ADD(ADD(p[1], p[2]), mul4(4.0f, p[3])), mul4(4.0f, p[4])), p[5]);
    return;
  }
  o[0] = ADD(ADD(ADD(ADD(p[0], p[1]), p[2]), p[3]), p[4]);
  o[1] = SUB(ADD(SUB(p[1], p[2]), mul4(2.0f, p[3])), mul4(2.0f, p[4]));
  o[2] = ADD(ADD(ADD(p[1], p[2]), mul4(4.0f, p[3])), mul4(4.0f, p[4]));
  o[3] = ADD(SUB(ADD(SUB(p[1], p[2]), mul4(8.0f, p[3])), mul4(8.0f, p[4])), p[5]);
}

/* A block's transformed inputs V and products P hold T² matrices of FV_WINO_BLOCK rows,
 * one per entry k of the transform. A matrix of 16 rows of 64·j channels is a multiple of
 * 4 KB, so back to back the T² entries of one tile and channel quad (stored and loaded
 * together) would all fall in one L1 set; a cache line between matrices spreads them. */
#define WINO_PAD 16
#define VSTRIDE(c) ((size_t)FV_WINO_BLOCK * (c) + WINO_PAD)

/* V[k][r][c] for the block's tiles r = 0..15 (tile t0 + r; zero past the last tile). */
static inline __attribute__((always_inline)) void block_input_m(const int m, const int T, const fv_wino_shape *g,
                                                                const float *x, long t0, long tiles, float *V) {
  const int K = T * T, TH = (g->oh + m - 1) / m, TW = (g->ow + m - 1) / m, C = g->c, C4 = C & ~3;
  const size_t kstride = VSTRIDE(C);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int r = 0; r < FV_WINO_BLOCK; r++) {
    const long t = t0 + r;
    float *vr = V + (size_t)r * C;
    if (t >= tiles) {
      for (int k = 0; k < K; k++)
        for (int c = 0; c < C; c++) vr[k * kstride + c] = 0.0f;
      continue;
    }
    const int n = (int)(t / ((long)TH * TW)), ty = (int)(t / TW % TH), tx = (int)(t % TW);
    const int y0 = m * ty - g->pt, x0 = m * tx - g->pl;
    const float *px[6][6]; /* the T×T input pixels' channel rows, NULL outside x */
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++) {
        const int iy = y0 + i, ix = x0 + j;
        px[i][j] = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w ? x + (((size_t)n * g->h + iy - g->xrow0) * g->w + ix) * C : NULL;
      }
    int c = 0;
    for (; c < C4; c += 4) {
      v128_t tt[6][6], col[6], res[6];
      for (int j = 0; j < T; j++) {
        for (int i = 0; i < T; i++) col[i] = px[i][j] ? wasm_v128_load(px[i][j] + c) : zero;
        bt1d4(T, col, res);
        for (int i = 0; i < T; i++) tt[i][j] = res[i];
      }
      for (int i = 0; i < T; i++) {
        bt1d4(T, tt[i], res);
        for (int j = 0; j < T; j++) wasm_v128_store(vr + (i * T + j) * kstride + c, res[j]);
      }
    }
    for (; c < C; c++) { /* the channels past the last multiple of 4, as the scalar twin */
      float d[6][6], v[36];
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) d[i][j] = px[i][j] ? px[i][j][c] : 0.0f;
      wino_input(T, d, v);
      for (int k = 0; k < K; k++) vr[k * kstride + c] = v[k];
    }
  }
}

/* y (output channels [o0, o0 + on)) of the block's tiles from P[k][r][0..on). */
static inline __attribute__((always_inline)) void block_output_m(const int m, const int T, const fv_wino_shape *g,
                                                                 const float *P, int on, long t0, long tiles, int o0,
                                                                 const float *b, fv_act act, int accumulate, float *y) {
  const int K = T * T, TH = (g->oh + m - 1) / m, TW = (g->ow + m - 1) / m, O = g->o, on4 = on & ~3;
  const size_t kstride = VSTRIDE(on);
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  for (int r = 0; r < FV_WINO_BLOCK && t0 + r < tiles; r++) {
    const long t = t0 + r;
    const int n = (int)(t / ((long)TH * TW)), ty = (int)(t / TW % TH), tx = (int)(t % TW);
    float *yp[4][4]; /* the tile's output pixels' channel rows (at o0), NULL past the map */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < m; j++) {
        const int oy = m * ty + i, ox = m * tx + j;
        yp[i][j] = oy < g->oh && ox < g->ow ? y + (((size_t)n * g->oh + oy - g->yrow0) * g->ow + ox) * O + o0 : NULL;
      }
    const float *pr = P + (size_t)r * on;
    int o = 0;
    for (; o < on4; o += 4) {
      v128_t tt[4][6], col[6], res[4];
      for (int j = 0; j < T; j++) {
        for (int i = 0; i < T; i++) col[i] = wasm_v128_load(pr + (i * T + j) * kstride + o);
        at1d4(m, T, col, res);
        for (int i = 0; i < m; i++) tt[i][j] = res[i];
      }
      const v128_t bias = b && !accumulate ? wasm_v128_load(b + o0 + o) : wasm_f32x4_splat(0.0f);
      for (int i = 0; i < m; i++) {
        at1d4(m, T, tt[i], res);
        for (int j = 0; j < m; j++) {
          float *d = yp[i][j];
          if (!d) continue;
          if (accumulate) wasm_v128_store(d + o, ADD(wasm_v128_load(d + o), res[j]));
          else wasm_v128_store(d + o, fv_act4(ADD(res[j], bias), lo, hi));
        }
      }
    }
    for (; o < on; o++) {
      float p[36], out[4][4];
      for (int k = 0; k < K; k++) p[k] = pr[k * kstride + o];
      wino_output(m, T, p, out);
      for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
          float *d = yp[i][j];
          if (!d) continue;
          if (accumulate) d[o] += out[i][j];
          else d[o] = fv_act1(act, out[i][j] + (b ? b[o0 + o] : 0.0f));
        }
    }
  }
}

static inline __attribute__((always_inline)) void wino_m(const int m, const int T, const fv_wino_shape *g,
                                                         const float *x, const float *up, const float *b, fv_act act,
                                                         int accumulate, float *y, int u0, int u1, float *V, float *P) {
  const int K = T * T, C = g->c, O = g->o;
  const long tiles = tiles_of(g);
  const size_t kpack = fv_fc_pack_floats(C, O); /* one k's packed [O][C] */
  const int span = fv_wino_unit_channels(g), per = (O + span - 1) / span;
  for (int un = u0; un < u1;) {
    /* the call's units of this block: one run of channels, in GEMM chunks of FV_WINO_OCH
     * (a unit's channels are the same bits in any chunk: chunks start at multiples of 16) */
    const int blk = un / per, end = u1 < (blk + 1) * per ? u1 : (blk + 1) * per, last = (end - 1) % per * span;
    const int oa = un % per * span, ob = last + span < O ? last + span : O;
    const long t0 = (long)blk * FV_WINO_BLOCK;
    un = end;
    if (t0 >= tiles) break;
    block_input_m(m, T, g, x, t0, tiles, V);
    for (int o0 = oa; o0 < ob; o0 += FV_WINO_OCH) {
      const int on = ob - o0 < FV_WINO_OCH ? ob - o0 : FV_WINO_OCH;
      /* the packed panels of channels [o0, o0 + on) are the packing of those rows alone */
      for (int k = 0; k < K; k++)
        fv_f32_fc_gemm__wasmsimd(FV_WINO_BLOCK, C, on, V + k * VSTRIDE(C), NULL, up + k * kpack + (size_t)o0 * C, NULL,
                                 FV_ACT_NONE, P + k * VSTRIDE(on));
      block_output_m(m, T, g, P, on, t0, tiles, o0, b, act, accumulate, y);
    }
  }
}

void fv_f32_wino__wasmsimd(const fv_wino_shape *g, const float *x, const float *up, const float *b, fv_act act,
                           int accumulate, float *y, int u0, int u1) {
  /* the larger of the variants' blocks: 36 matrices of FV_WINO4_CMAX channels (T = 6) and 16 of
   * FV_WINO_CMAX in, 36 of FV_WINO_OCH products */
  enum { V_F2 = 16 * VSTRIDE(FV_WINO_CMAX), V_F4 = 36 * VSTRIDE(FV_WINO4_CMAX) };
  float V[V_F2 > V_F4 ? V_F2 : V_F4] __attribute__((aligned(16)));
  float P[36 * VSTRIDE(FV_WINO_OCH)] __attribute__((aligned(16)));
  if (g->m == 4) wino_m(4, 6, g, x, up, b, act, accumulate, y, u0, u1, V, P);
  else if (g->m == 3) wino_m(3, 6, g, x, up, b, act, accumulate, y, u0, u1, V, P);
  else if (g->r == 5) wino_m(2, 6, g, x, up, b, act, accumulate, y, u0, u1, V, P);
  else wino_m(2, 4, g, x, up, b, act, accumulate, y, u0, u1, V, P);
}
#endif /* __wasm_simd128__ */
