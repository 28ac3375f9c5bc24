/* winograd.c — Winograd F(2×2, 3×3) for 3×3 stride-1 convs (see winograd.h).
 * WORK IN PROGRESS (issue 11, branch i11-wino): the scalar twin and the
 * weight transform only; not yet called by conv.c or split.c. */
#include "winograd.h"

#include "clamp.h"

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
