/* winograd.c — Winograd F(2×2, 3×3) for 3×3 stride-1 convs (see winograd.h):
 * the weight transform, the scalar twin (one tile and output channel at a
 * time, as the formulas read) and the SIMD twin (a block's input transform
 * four channels to a vector, then per output-channel chunk 16 GEMMs of the
 * block's tiles with the packed transformed weights, fc.c's micro-kernel,
 * then the output transform four channels to a vector). */
#include "winograd.h"

#include "conv_family.h"

int fv_wino_applies(const fv_conv_shape *s) {
  return s->groups <= 1 && s->kh == 3 && s->kw == 3 && s->sh == 1 && s->sw == 1 && s->dh == 1 && s->dw == 1;
}

fv_wino_shape fv_wino_shape_of(const fv_conv_shape *s, int grad) {
  /* the gradient: dx[iy] = Σ dy[iy + pt − ky] w[ky] = Σ dy[iy − (2 − pt) + ky'] w[2 − ky'] */
  if (grad) return (fv_wino_shape){s->n, s->oh, s->ow, s->oc, s->ih, s->iw, s->ic, 2 - s->pt, 2 - s->pl};
  return (fv_wino_shape){s->n, s->ih, s->iw, s->ic, s->oh, s->ow, s->oc, s->pt, s->pl};
}

size_t fv_wino_floats(int ic, int oc) { return (size_t)16 * ic * oc; }

/* G g Gᵀ, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]; g row-major 3×3. */
static void wino_filter(const float *g, float *u16) {
  float t[4][3];
  for (int j = 0; j < 3; j++) {
    const float a = g[j], b = g[3 + j], c = g[6 + j];
    t[0][j] = a, t[1][j] = 0.5f * (a + b + c), t[2][j] = 0.5f * (a - b + c), t[3][j] = c;
  }
  for (int i = 0; i < 4; i++) {
    const float a = t[i][0], b = t[i][1], c = t[i][2];
    u16[i * 4 + 0] = a, u16[i * 4 + 1] = 0.5f * (a + b + c), u16[i * 4 + 2] = 0.5f * (a - b + c), u16[i * 4 + 3] = c;
  }
}

void fv_wino_weights(int ic, int oc, const float *w, int grad, float *u) {
  const int O = grad ? ic : oc, C = grad ? oc : ic;
  for (int o = 0; o < O; o++)
    for (int c = 0; c < C; c++) {
      float g[9], u16[16];
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
          g[ky * 3 + kx] = grad ? w[(((size_t)c * 3 + 2 - ky) * 3 + 2 - kx) * ic + o] : w[(((size_t)o * 3 + ky) * 3 + kx) * ic + c];
      wino_filter(g, u16);
      for (int k = 0; k < 16; k++) u[((size_t)k * O + o) * C + c] = u16[k];
    }
}

size_t fv_wino_pack_floats(int c, int o) { return 16 * fv_fc_pack_floats(c, o); }

void fv_wino_pack(int c, int o, const float *u, float *p) {
  for (int k = 0; k < 16; k++) fv_fc_pack(c, o, u + (size_t)k * o * c, p + (size_t)k * fv_fc_pack_floats(c, o));
}

/* Both directions, transformed straight into fv_fc_pack's panels of each k:
 * entry (o, c) of k at k·pack + ((o / 8)·C + c)·8 + o % 8. */
static void wino_pack_direct(int ic, int oc, const float *w, int grad, float *p) {
  const int O = grad ? ic : oc, C = grad ? oc : ic;
  const size_t kpack = fv_fc_pack_floats(C, O);
  for (size_t i = 0; i < 16 * kpack; i++) p[i] = 0.0f; /* the last panel's missing channels */
  for (int o = 0; o < O; o++)
    for (int c = 0; c < C; c++) {
      float g[9], u16[16];
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
          g[ky * 3 + kx] = grad ? w[(((size_t)c * 3 + 2 - ky) * 3 + 2 - kx) * ic + o] : w[(((size_t)o * 3 + ky) * 3 + kx) * ic + c];
      wino_filter(g, u16);
      for (int k = 0; k < 16; k++) p[k * kpack + ((size_t)(o / 8) * C + c) * 8 + o % 8] = u16[k];
    }
}

size_t fv_conv_wino_floats(int ic, int oc) { return fv_wino_pack_floats(ic, oc) + fv_wino_pack_floats(oc, ic); }
void fv_conv_wino(int ic, int oc, const float *w, float *p) {
  wino_pack_direct(ic, oc, w, 0, p);
  wino_pack_direct(ic, oc, w, 1, p + fv_wino_pack_floats(ic, oc));
}
const float *fv_conv_wino_grad_part(int ic, int oc, const float *p) { return p ? p + fv_wino_pack_floats(ic, oc) : NULL; }

int fv_wino_blocks(const fv_wino_shape *g) {
  const long tiles = (long)g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
  return (int)((tiles + FV_WINO_BLOCK - 1) / FV_WINO_BLOCK);
}

/* Bᵀ d B of one channel, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]. */
static void wino_input(const float d[4][4], float v[16]) {
  float t[4][4];
  for (int j = 0; j < 4; j++)
    t[0][j] = d[0][j] - d[2][j], t[1][j] = d[1][j] + d[2][j], t[2][j] = d[2][j] - d[1][j], t[3][j] = d[1][j] - d[3][j];
  for (int i = 0; i < 4; i++)
    v[i * 4 + 0] = t[i][0] - t[i][2], v[i * 4 + 1] = t[i][1] + t[i][2], v[i * 4 + 2] = t[i][2] - t[i][1],
              v[i * 4 + 3] = t[i][1] - t[i][3];
}

void fv_f32_wino__scalar(const fv_wino_shape *g, const float *x, const float *u, const float *b, fv_act act,
                         int accumulate, float *y, int b0, int b1) {
  const int TH = (g->oh + 1) / 2, TW = (g->ow + 1) / 2, C = g->c, O = g->o;
  const long tiles = (long)g->n * TH * TW;
  for (long t = (long)b0 * FV_WINO_BLOCK; t < (long)b1 * FV_WINO_BLOCK && t < tiles; t++) {
    const int n = (int)(t / ((long)TH * TW)), ty = (int)(t / TW % TH), tx = (int)(t % TW);
    const int y0 = 2 * ty - g->pt, x0 = 2 * tx - g->pl;
    for (int o = 0; o < O; o++) {
      float m[16] = {0};
      for (int c = 0; c < C; c++) {
        float d[4][4], v[16];
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 4; j++) {
            const int iy = y0 + i, ix = x0 + j;
            d[i][j] = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w ? x[(((size_t)n * g->h + iy) * g->w + ix) * C + c] : 0.0f;
          }
        wino_input(d, v);
        for (int k = 0; k < 16; k++) m[k] += u[((size_t)k * O + o) * C + c] * v[k];
      }
      /* Aᵀ M A, Aᵀ = [1 1 1 0; 0 1 −1 −1] */
      float r[2][4], out[2][2];
      for (int j = 0; j < 4; j++) r[0][j] = m[j] + m[4 + j] + m[8 + j], r[1][j] = m[4 + j] - m[8 + j] - m[12 + j];
      for (int i = 0; i < 2; i++) out[i][0] = r[i][0] + r[i][1] + r[i][2], out[i][1] = r[i][1] - r[i][2] - r[i][3];
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
          const int oy = 2 * ty + i, ox = 2 * tx + j;
          if (oy >= g->oh || ox >= g->ow) continue;
          float *yp = y + (((size_t)n * g->oh + oy) * g->ow + ox) * O + o;
          if (accumulate) *yp += out[i][j];
          else *yp = fv_act1(act, out[i][j] + (b ? b[o] : 0.0f));
        }
    }
  }
}

/* ---- WASM SIMD ---------------------------------------------------------------- */
#ifdef __wasm_simd128__

#define WINO_OCH 64 /* output channels per GEMM chunk: the block's M is 16 × 16 × 64 floats (64 KB) */

/* A block's 16 GEMM rows are tiles: a map of fewer tiles fills them with zeros.
 * Below half full (GoogLeNet's 4×4 inception_5b maps at 128 px: 4 tiles), the
 * im2col GEMM is faster (bench/conv_bench.c: 0.51 vs 0.90 ms). */
int fv_wino_fits(const fv_wino_shape *g) {
  const long tiles = (long)g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
  return g->c >= 1 && g->c <= FV_WINO_CMAX && g->o >= 1 && tiles * 2 >= (long)fv_wino_blocks(g) * FV_WINO_BLOCK;
}

/* Bᵀ d B on vectors of 4 channels; d[i][j] is row i, column j of the 4×4 input tile. */
static inline void wino_input4(const v128_t d[4][4], v128_t v[16]) {
  v128_t t[4][4];
  for (int j = 0; j < 4; j++) {
    t[0][j] = wasm_f32x4_sub(d[0][j], d[2][j]), t[1][j] = wasm_f32x4_add(d[1][j], d[2][j]);
    t[2][j] = wasm_f32x4_sub(d[2][j], d[1][j]), t[3][j] = wasm_f32x4_sub(d[1][j], d[3][j]);
  }
  for (int i = 0; i < 4; i++) {
    v[i * 4 + 0] = wasm_f32x4_sub(t[i][0], t[i][2]), v[i * 4 + 1] = wasm_f32x4_add(t[i][1], t[i][2]);
    v[i * 4 + 2] = wasm_f32x4_sub(t[i][2], t[i][1]), v[i * 4 + 3] = wasm_f32x4_sub(t[i][1], t[i][3]);
  }
}

/* V[k][r][c] for the block's tiles r = 0..15 (tile t0 + r; zero past the last tile). */
static void block_input(const fv_wino_shape *g, const float *x, long t0, long tiles, float *V) {
  const int TH = (g->oh + 1) / 2, TW = (g->ow + 1) / 2, C = g->c, C4 = C & ~3;
  const size_t kstride = (size_t)FV_WINO_BLOCK * C;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int r = 0; r < FV_WINO_BLOCK; r++) {
    const long t = t0 + r;
    float *vr = V + (size_t)r * C;
    if (t >= tiles) {
      for (int k = 0; k < 16; k++)
        for (int c = 0; c < C; c++) vr[k * kstride + c] = 0.0f;
      continue;
    }
    const int n = (int)(t / ((long)TH * TW)), ty = (int)(t / TW % TH), tx = (int)(t % TW);
    const int y0 = 2 * ty - g->pt, x0 = 2 * tx - g->pl;
    const float *px[4][4]; /* the 16 input pixels' channel rows, NULL outside x */
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) {
        const int iy = y0 + i, ix = x0 + j;
        px[i][j] = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w ? x + (((size_t)n * g->h + iy) * g->w + ix) * C : NULL;
      }
    int c = 0;
    for (; c < C4; c += 4) {
      v128_t d[4][4], v[16];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) d[i][j] = px[i][j] ? wasm_v128_load(px[i][j] + c) : zero;
      wino_input4(d, v);
      for (int k = 0; k < 16; k++) wasm_v128_store(vr + k * kstride + c, v[k]);
    }
    for (; c < C; c++) { /* the channels past the last multiple of 4, as the scalar twin */
      float d[4][4], v[16];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) d[i][j] = px[i][j] ? px[i][j][c] : 0.0f;
      wino_input(d, v);
      for (int k = 0; k < 16; k++) vr[k * kstride + c] = v[k];
    }
  }
}

/* Aᵀ m A of 4 channels: out[i][j], i, j in 0..1. */
static inline void wino_output4(const v128_t m[16], v128_t out[2][2]) {
  v128_t r[2][4];
  for (int j = 0; j < 4; j++) {
    r[0][j] = wasm_f32x4_add(wasm_f32x4_add(m[j], m[4 + j]), m[8 + j]);
    r[1][j] = wasm_f32x4_sub(wasm_f32x4_sub(m[4 + j], m[8 + j]), m[12 + j]);
  }
  for (int i = 0; i < 2; i++) {
    out[i][0] = wasm_f32x4_add(wasm_f32x4_add(r[i][0], r[i][1]), r[i][2]);
    out[i][1] = wasm_f32x4_sub(wasm_f32x4_sub(r[i][1], r[i][2]), r[i][3]);
  }
}

/* y (output channels [o0, o0 + on)) of the block's tiles from M[k][r][0..on). */
static void block_output(const fv_wino_shape *g, const float *M, int on, long t0, long tiles, int o0, const float *b,
                         fv_act act, int accumulate, float *y) {
  const int TH = (g->oh + 1) / 2, TW = (g->ow + 1) / 2, O = g->o, on4 = on & ~3;
  const size_t kstride = (size_t)FV_WINO_BLOCK * on;
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  for (int r = 0; r < FV_WINO_BLOCK && t0 + r < tiles; r++) {
    const long t = t0 + r;
    const int n = (int)(t / ((long)TH * TW)), ty = (int)(t / TW % TH), tx = (int)(t % TW);
    float *yp[2][2]; /* the tile's output pixels' channel rows (at o0), NULL past the map */
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        const int oy = 2 * ty + i, ox = 2 * tx + j;
        yp[i][j] = oy < g->oh && ox < g->ow ? y + (((size_t)n * g->oh + oy) * g->ow + ox) * O + o0 : NULL;
      }
    const float *mr = M + (size_t)r * on;
    int o = 0;
    for (; o < on4; o += 4) {
      v128_t m[16], out[2][2];
      for (int k = 0; k < 16; k++) m[k] = wasm_v128_load(mr + k * kstride + o);
      wino_output4(m, out);
      const v128_t bias = b && !accumulate ? wasm_v128_load(b + o0 + o) : wasm_f32x4_splat(0.0f);
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
          float *d = yp[i][j];
          if (!d) continue;
          if (accumulate) wasm_v128_store(d + o, wasm_f32x4_add(wasm_v128_load(d + o), out[i][j]));
          else wasm_v128_store(d + o, fv_act4(wasm_f32x4_add(out[i][j], bias), lo, hi));
        }
    }
    for (; o < on; o++) {
      float m[16], rr[2][4], out[2][2];
      for (int k = 0; k < 16; k++) m[k] = mr[k * kstride + o];
      for (int j = 0; j < 4; j++) rr[0][j] = m[j] + m[4 + j] + m[8 + j], rr[1][j] = m[4 + j] - m[8 + j] - m[12 + j];
      for (int i = 0; i < 2; i++) out[i][0] = rr[i][0] + rr[i][1] + rr[i][2], out[i][1] = rr[i][1] - rr[i][2] - rr[i][3];
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
          float *d = yp[i][j];
          if (!d) continue;
          if (accumulate) d[o] += out[i][j];
          else d[o] = fv_act1(act, out[i][j] + (b ? b[o0 + o] : 0.0f));
        }
    }
  }
}

void fv_f32_wino__wasmsimd(const fv_wino_shape *g, const float *x, const float *up, const float *b, fv_act act,
                           int accumulate, float *y, int b0, int b1) {
  const int C = g->c, O = g->o;
  const long tiles = (long)g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
  const size_t kpack = fv_fc_pack_floats(C, O); /* one k's packed [O][C] */
  float V[16 * FV_WINO_BLOCK * FV_WINO_CMAX] __attribute__((aligned(16)));
  float M[16 * FV_WINO_BLOCK * WINO_OCH] __attribute__((aligned(16)));
  for (int blk = b0; blk < b1; blk++) {
    const long t0 = (long)blk * FV_WINO_BLOCK;
    if (t0 >= tiles) break;
    block_input(g, x, t0, tiles, V);
    for (int o0 = 0; o0 < O; o0 += WINO_OCH) {
      const int on = O - o0 < WINO_OCH ? O - o0 : WINO_OCH;
      /* the packed panels of channels [o0, o0 + on) are the packing of those rows alone */
      for (int k = 0; k < 16; k++)
        fv_f32_fc_gemm__wasmsimd(FV_WINO_BLOCK, C, on, V + (size_t)k * FV_WINO_BLOCK * C, NULL,
                                 up + k * kpack + (size_t)o0 * C, NULL, FV_ACT_NONE, M + (size_t)k * FV_WINO_BLOCK * on);
      block_output(g, M, on, t0, tiles, o0, b, act, accumulate, y);
    }
  }
}
#endif /* __wasm_simd128__ */
