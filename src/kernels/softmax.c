/* softmax.c — SOFTMAX over the last axis (rows x c) with TFLite's beta,
 * forward and input-gradient.
 *
 * y = exp(beta*x - max(beta*x)) / sum: subtracting the row's max keeps exp
 * from overflowing for any input (and handles a negative beta). The gradient
 * is dx += beta * y * (dy - <dy, y>), computed from the output y in two
 * passes per row, with no scratch memory.
 */
#include <assert.h>
#include <math.h>
#include "kernels.h"


void fv_f32_softmax__scalar(size_t rows, int c, float beta, const float *x, float *y) {
  assert(c >= 1);
  for (size_t r = 0; r < rows; r++, x += c, y += c) {
    float m = beta * x[0];
    for (int k = 1; k < c; k++)
      if (beta * x[k] > m) m = beta * x[k];
    float sum = 0.0f;
    for (int k = 0; k < c; k++) sum += y[k] = expf(beta * x[k] - m);
    const float inv = 1.0f / sum;
    for (int k = 0; k < c; k++) y[k] *= inv;
  }
}

void fv_f32_softmax_grad__scalar(size_t rows, int c, float beta, const float *y, const float *dy, float *dx) {
  for (size_t r = 0; r < rows; r++, y += c, dy += c, dx += c) {
    float dot = 0.0f;
    for (int k = 0; k < c; k++) dot += dy[k] * y[k];
    for (int k = 0; k < c; k++) dx[k] += beta * y[k] * (dy[k] - dot);
  }
}
