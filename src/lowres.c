/* lowres.c — bilinear resize of a low-resolution tensor and its adjoint; see lowres.h.
 * Scalar: a level costs 8 taps per output float, a sliver next to the network. */
#include <string.h>

#include "lowres.h"

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

/* Runs over every output float with its 8 taps; adjoint: scatters instead of gathers,
 * in the same order (so the sums are the same bits every run). */
static void walk(const fv_lowres *t, const float *in, float *out, int adjoint) {
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
              if (adjoint)
                for (int k = 0; k < c; k++) out[s + k] += wt * in[o + k];
              else
                for (int k = 0; k < c; k++) out[o + k] += wt * in[s + k];
            }
      }
    }
  }
}

void fv_lowres_up(const fv_lowres *t, const float *src, float *dst) { walk(t, src, dst, 0); }

void fv_lowres_up_adjoint(const fv_lowres *t, const float *ddst, float *dsrc) {
  memset(dsrc, 0, fv_lowres_count(t) * sizeof(float));
  walk(t, ddst, dsrc, 1);
}
