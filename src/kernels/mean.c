/* mean.c — MEAN over a bitmask of NHWC axes (bit k = axis k), forward and
 * input-gradient.
 *
 * The output has the input's dims with 1 on every reduced axis (keep_dims is
 * only a question of how the graph labels that shape). The forward pass sums
 * into y, which it owns, then divides once by the number of reduced elements.
 */
#include <assert.h>
#include <string.h>
#include "kernels.h"


/* Strides of the output read at the input's coordinates (0 on reduced axes);
 * returns the number of input elements averaged into each output. */
static size_t mean_geometry(const int d[4], int axes, size_t st[4], size_t *ny) {
  size_t s = 1, count = 1;
  for (int k = 3; k >= 0; k--) {
    assert(d[k] >= 1);
    if (axes >> k & 1) {
      st[k] = 0;
      count *= (size_t)d[k];
    } else {
      st[k] = s;
      s *= (size_t)d[k];
    }
  }
  *ny = s;
  return count;
}

void fv_f32_mean__scalar(const int d[4], int axes, const float *x, float *y) {
  size_t st[4], ny;
  const float inv = 1.0f / (float)mean_geometry(d, axes, st, &ny);
  memset(y, 0, ny * sizeof *y);
  size_t i = 0;
  for (int n = 0; n < d[0]; n++)
    for (int h = 0; h < d[1]; h++)
      for (int w = 0; w < d[2]; w++) {
        float *py = y + n * st[0] + h * st[1] + w * st[2];
        for (int c = 0; c < d[3]; c++) py[c * st[3]] += x[i++];
      }
  for (size_t k = 0; k < ny; k++) y[k] *= inv;
}

void fv_f32_mean_grad__scalar(const int d[4], int axes, const float *dy, float *dx) {
  size_t st[4], ny;
  const float inv = 1.0f / (float)mean_geometry(d, axes, st, &ny);
  size_t i = 0;
  for (int n = 0; n < d[0]; n++)
    for (int h = 0; h < d[1]; h++)
      for (int w = 0; w < d[2]; w++) {
        const float *g = dy + n * st[0] + h * st[1] + w * st[2];
        for (int c = 0; c < d[3]; c++) dx[i++] += g[c * st[3]] * inv;
      }
}
