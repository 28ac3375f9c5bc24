/* concat.c — CONCATENATION along an NHWC axis, forward and input-gradient.
 *
 * Input i has dims d[i]; all agree except along `axis`, where the output's
 * dim is their sum. Seen from the axis, the output is `outer` blocks, each the
 * inputs' contiguous slices (d[i][axis] x inner floats) one after another.
 * A NULL x[i] is skipped: its slice of y was written in place by the op
 * that made it (a view, graph.c). In the gradient a NULL dx[i] (a constant
 * input, or a view, whose gradient is its slice of dy) is skipped.
 */
#include <assert.h>
#include <string.h>
#include "kernels.h"


/* elements per outer block of input i */
static size_t slice(const int d[4], int axis) {
  size_t s = 1;
  for (int k = axis; k < 4; k++) s *= (size_t)d[k];
  return s;
}

static size_t outer_count(int n, const int (*d)[4], int axis) {
  assert(n >= 1 && axis >= 0 && axis < 4);
  size_t o = 1;
  for (int k = 0; k < axis; k++) o *= (size_t)d[0][k];
#ifndef NDEBUG
  for (int i = 1; i < n; i++)
    for (int k = 0; k < 4; k++) assert(k == axis || d[i][k] == d[0][k]);
#endif
  return o;
}

void fv_f32_concat__scalar(int n, const int (*d)[4], int axis, const float *const *x, float *y) {
  size_t outer = outer_count(n, d, axis);
  for (size_t o = 0; o < outer; o++)
    for (int i = 0; i < n; i++) {
      size_t len = slice(d[i], axis);
      if (x[i]) memcpy(y, x[i] + o * len, len * sizeof *y);
      y += len;
    }
}

void fv_f32_concat_grad__scalar(int n, const int (*d)[4], int axis, const float *dy, float *const *dx) {
  size_t outer = outer_count(n, d, axis);
  for (size_t o = 0; o < outer; o++)
    for (int i = 0; i < n; i++) {
      size_t len = slice(d[i], axis);
      if (dx[i]) {
        float *p = dx[i] + o * len;
        for (size_t k = 0; k < len; k++) p[k] += dy[k];
      }
      dy += len;
    }
}
