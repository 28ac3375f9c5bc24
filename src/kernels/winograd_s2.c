/* winograd_s2.c — the 7×7 stride-2 conv (GoogLeNet's first, pad 3) as a 4×4
 * stride-1 conv on the input's 2×2 phases, run by Winograd F(3×3, 4×4) (see
 * winograd.h).
 *
 * Input row iy = 2u + py (phase py of row u) meets output row oy through tap
 * ky = 2(u − oy) + py + 3, so with j = u − oy + 2 in 0..3 the conv is
 *   y[oy][ox] = Σ_{j, i, py, px, c} w4[j][i][py·2 + px][c] · x'[oy − 2 + j][ox − 2 + i][py·2 + px][c]
 * where x'[u][v][(py·2 + px)·ic + c] = x[2u + py][2v + px][c] (0 past the
 * image) and w4[j][i][ph][c] = w[2j + py − 1][2i + px − 1][c] (0 at tap −1):
 * 4·ic channels, 16 taps where the direct conv has 49 (the 0 taps included,
 * 64 against 49 multiply-adds a pixel), and F(3×3, 4×4) does each 3×3 output
 * tile's 16 taps in 36 products: 4·ic·36/9 = 16·ic multiply-adds an output
 * against the direct conv's 49·ic. The gradient is the same 4×4 conv's input
 * gradient (F(3×3, 4×4) of dy with the flipped filter) into the phases of dx.
 *
 * A call is cut into bands of BAND_BLOCKS Winograd blocks of one image (the
 * tiles in row-major order, as the whole image's call would group them):
 * forward, the x' rows a band's tiles read are gathered into a stack buffer
 * (fv_wino_shape.xrow0) and its blocks run from it; backward, its tiles of
 * dx' are computed into a stack buffer (yrow0) and added into dx's phases.
 * Each output element is computed as in the whole call, and each dx element
 * receives one add, so the threads split bands (src/split.c) and get the same
 * bytes on any number of them.
 */
#include "winograd.h"

#include <stdlib.h>

#ifdef __wasm_simd128__

#define BAND_BLOCKS 2     /* Winograd blocks (FV_WINO_BLOCK tiles each) per band */
#define BAND_FLOATS 32768 /* the band buffer (128 KB of the 1 MB stacks, beside the Winograd block's 516 KB) */
#define PH_K 4            /* the phase filter's side */

static int phase_rows(int n) { return (n + 1) / 2; }
static int tiles_of_side(int n) { return (n + 2) / 3; }

/* One image of the 4×4 conv on the phases (x' → y), or of its gradient (dy → dx'). */
static fv_wino_shape image_shape(const fv_conv_shape *s, int grad) {
  const int hp = phase_rows(s->ih), wp = phase_rows(s->iw), C4 = 4 * s->ic;
  if (grad) return (fv_wino_shape){1, s->oh, s->ow, s->oc, hp, wp, C4, 1, 1, 3, PH_K, 0, 0};
  return (fv_wino_shape){1, hp, wp, C4, s->oh, s->ow, s->oc, 2, 2, 3, PH_K, 0, 0};
}

/* Tile rows a band's tiles can span, at most. */
static int band_tile_rows(const fv_wino_shape *g) { return (FV_WINO_BLOCK * BAND_BLOCKS - 1) / tiles_of_side(g->ow) + 2; }

/* The larger band buffer of the two directions: x' rows of a forward band (its tile rows' output rows and the
 * filter's 3 more), dx' rows of a gradient band. */
static size_t band_floats(const fv_conv_shape *s) {
  const fv_wino_shape f = image_shape(s, 0), g = image_shape(s, 1);
  const size_t fw = (size_t)(3 * band_tile_rows(&f) + PH_K - 1) * f.w * f.c, gw = (size_t)3 * band_tile_rows(&g) * g.ow * g.o;
  return fw > gw ? fw : gw;
}

int fv_wino_s2_takes(int kh, int kw, int sh, int sw, int dh, int dw, int ic, int oc) {
  return kh == 7 && kw == 7 && sh == 2 && sw == 2 && dh == 1 && dw == 1 && ic >= 1 && 4 * ic <= FV_WINO4_CMAX &&
         oc >= 1 && oc <= FV_WINO4_CMAX;
}

int fv_wino_s2_applies(const fv_conv_shape *s) {
  return s->groups <= 1 && fv_wino_s2_takes(s->kh, s->kw, s->sh, s->sw, s->dh, s->dw, s->ic, s->oc) && s->pt == 3 &&
         s->pl == 3 && s->oh > 0 && s->ow > 0 && band_floats(s) <= BAND_FLOATS;
}

static int bands_per_image(const fv_conv_shape *s, int grad) {
  const fv_wino_shape g = image_shape(s, grad);
  return (fv_wino_blocks(&g) + BAND_BLOCKS - 1) / BAND_BLOCKS;
}

int fv_wino_s2_bands(const fv_conv_shape *s, int grad) { return s->n * bands_per_image(s, grad); }

/* ---- weights ---------------------------------------------------------------------------- */

/* w4 [oc][4][4][4·ic] from w [oc][7][7][ic] */
static void phase_filter(int ic, int oc, const float *w, float *w4) {
  const int C4 = 4 * ic;
  for (int o = 0; o < oc; o++)
    for (int j = 0; j < PH_K; j++)
      for (int i = 0; i < PH_K; i++)
        for (int ph = 0; ph < 4; ph++)
          for (int c = 0; c < ic; c++) {
            const int ky = 2 * j + (ph >> 1) - 1, kx = 2 * i + (ph & 1) - 1;
            w4[(((size_t)o * PH_K + j) * PH_K + i) * C4 + ph * ic + c] =
                ky >= 0 && kx >= 0 ? w[(((size_t)o * 7 + ky) * 7 + kx) * ic + c] : 0.0f;
          }
}

size_t fv_wino_s2_floats(int ic, int oc) {
  return fv_wino_pack_floats(4 * ic, oc, 3, PH_K) + fv_wino_pack_floats(oc, 4 * ic, 3, PH_K);
}

fv_status fv_wino_s2_weights(int ic, int oc, const float *w, float *p) {
  float *w4 = (float *)malloc((size_t)oc * PH_K * PH_K * 4 * ic * sizeof(float));
  if (!w4) return FV_ERR_NO_MEMORY;
  phase_filter(ic, oc, w, w4);
  fv_wino_pack_weights(4 * ic, oc, PH_K, w4, 0, 3, p);
  fv_wino_pack_weights(4 * ic, oc, PH_K, w4, 1, 3, p + fv_wino_pack_floats(4 * ic, oc, 3, PH_K)); /* o = 4·ic, c = oc, flipped */
  free(w4);
  return FV_OK;
}

static const float *part(const fv_conv_shape *s, const float *p, int grad) {
  return grad ? p + fv_wino_pack_floats(4 * s->ic, s->oc, 3, PH_K) : p;
}

/* ---- bands ---------------------------------------------------------------------------------- */

/* Band k of image n: its blocks [*b0, *b1) of g, their tiles [*t0, *t1) and those tiles' rows [*ty0, *ty1]. */
static void band_of(const fv_wino_shape *g, int k, int *b0, int *b1, long *t0, long *t1, int *ty0, int *ty1) {
  const int blocks = fv_wino_blocks(g), TW = tiles_of_side(g->ow);
  const long tiles = (long)tiles_of_side(g->oh) * TW;
  *b0 = k * BAND_BLOCKS, *b1 = *b0 + BAND_BLOCKS < blocks ? *b0 + BAND_BLOCKS : blocks;
  *t0 = (long)*b0 * FV_WINO_BLOCK, *t1 = (long)*b1 * FV_WINO_BLOCK < tiles ? (long)*b1 * FV_WINO_BLOCK : tiles;
  *ty0 = (int)(*t0 / TW), *ty1 = (int)((*t1 - 1) / TW);
}

/* Band k of image n forward: the x' rows its tiles read gathered into buf, then its blocks. */
static void forward_band(const fv_conv_shape *s, const float *x, const float *up, const float *b, float *y, int n,
                         int k, float *buf) {
  fv_wino_shape g = image_shape(s, 0);
  const int ic = s->ic, C4 = g.c, per = fv_wino_units(&g) / fv_wino_blocks(&g);
  int b0, b1, ty0, ty1;
  long t0, t1;
  band_of(&g, k, &b0, &b1, &t0, &t1, &ty0, &ty1);
  /* tile row ty reads x' rows 3·ty − 2 .. 3·ty + 3 */
  const int u0 = 3 * ty0 - 2 > 0 ? 3 * ty0 - 2 : 0, u1 = 3 * ty1 + 4 < g.h ? 3 * ty1 + 4 : g.h;
  for (int u = u0; u < u1; u++)
    for (int ph = 0; ph < 4; ph++) {
      const int iy = 2 * u + (ph >> 1), px = ph & 1;
      float *d = buf + (size_t)(u - u0) * g.w * C4 + ph * ic;
      for (int v = 0; v < g.w; v++, d += C4) {
        const int ix = 2 * v + px;
        const float *src = iy < s->ih && ix < s->iw ? x + (((size_t)n * s->ih + iy) * s->iw + ix) * ic : NULL;
        for (int c = 0; c < ic; c++) d[c] = src ? src[c] : 0.0f;
      }
    }
  g.xrow0 = u0;
  fv_f32_wino__wasmsimd(&g, buf, up, b, s->act, 0, y + (size_t)n * s->oh * s->ow * s->oc, b0 * per, b1 * per);
}

/* Band k of image n backward: its tiles of dx' into buf from dy, then added into dx's phases. */
static void grad_band(const fv_conv_shape *s, const float *dy, const float *up, float *dx, int n, int k, float *buf) {
  fv_wino_shape g = image_shape(s, 1);
  const int ic = s->ic, C4 = g.o, hp = g.oh, wp = g.ow, TW = tiles_of_side(wp), per = fv_wino_units(&g) / fv_wino_blocks(&g);
  int b0, b1, ty0, ty1;
  long t0, t1;
  band_of(&g, k, &b0, &b1, &t0, &t1, &ty0, &ty1);
  const int r0 = 3 * ty0, r1 = 3 * ty1 + 3 < hp ? 3 * ty1 + 3 : hp;
  const size_t nb = (size_t)(r1 - r0) * wp * C4;
  for (size_t i = 0; i < nb; i++) buf[i] = 0.0f;
  g.yrow0 = r0;
  fv_f32_wino__wasmsimd(&g, dy + (size_t)n * s->oh * s->ow * s->oc, up, NULL, FV_ACT_NONE, 1, buf, b0 * per, b1 * per);
  for (long t = t0; t < t1; t++) /* this band's tiles only: each dx element gets its one add */
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) {
        const int u = 3 * (int)(t / TW) + i, v = 3 * (int)(t % TW) + j;
        if (u >= hp || v >= wp) continue;
        const float *gp = buf + ((size_t)(u - r0) * wp + v) * C4;
        for (int ph = 0; ph < 4; ph++) {
          const int iy = 2 * u + (ph >> 1), ix = 2 * v + (ph & 1);
          if (iy >= s->ih || ix >= s->iw) continue;
          float *d = dx + (((size_t)n * s->ih + iy) * s->iw + ix) * ic;
          for (int c = 0; c < ic; c++) d[c] += gp[ph * ic + c];
        }
      }
}

void fv_wino_s2_range(const fv_conv_shape *s, const float *in, const float *p, const float *b, float *out, int grad,
                      int b0, int b1) {
  float buf[BAND_FLOATS] __attribute__((aligned(16)));
  const int per = bands_per_image(s, grad);
  const float *up = part(s, p, grad);
  for (int k = b0; k < b1; k++) {
    if (grad) grad_band(s, in, up, out, k / per, k % per, buf);
    else forward_band(s, in, up, b, out, k / per, k % per, buf);
  }
}

#endif /* __wasm_simd128__ */
