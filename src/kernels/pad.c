/* pad.c — PAD with a constant (0 for TFLite's PAD; PADV2's and ONNX Pad's
 * constant value), forward and input-gradient, NHWC.
 *
 * d[4] are the input's dims; pads[k][0] / pads[k][1] (>= 0) the values before /
 * after along axis k, so the output's dim k is d[k] + pads[k][0] + pads[k][1].
 * The gradient is the adjoint: the input's window of dy, accumulated into dx
 * (the constant has none). Scalar only: copies (kernels.inc).
 */
#include <assert.h>
#include <math.h>
#include <string.h>
#include "kernels.h"


static void out_dims(const int d[4], const int pads[4][2], int yd[4]) {
  for (int k = 0; k < 4; k++) {
    assert(pads[k][0] >= 0 && pads[k][1] >= 0);
    yd[k] = d[k] + pads[k][0] + pads[k][1];
  }
}

/* offset in y of input element (n, h, w, 0) */
static inline size_t y_offset(const int yd[4], const int pads[4][2], int n, int h, int w) {
  return (((size_t)(n + pads[0][0]) * yd[1] + (h + pads[1][0])) * yd[2] + (w + pads[2][0])) * yd[3] + pads[3][0];
}

void fv_f32_pad__scalar(const int d[4], const int pads[4][2], float value, const float *x, float *y) {
  int yd[4];
  out_dims(d, pads, yd);
  const size_t ny = (size_t)yd[0] * yd[1] * yd[2] * yd[3];
  if (value == 0.0f && !signbit(value)) memset(y, 0, ny * sizeof *y);
  else
    for (size_t i = 0; i < ny; i++) y[i] = value;
  for (int n = 0; n < d[0]; n++)
    for (int h = 0; h < d[1]; h++)
      for (int w = 0; w < d[2]; w++, x += d[3]) memcpy(y + y_offset(yd, pads, n, h, w), x, (size_t)d[3] * sizeof *x);
}

void fv_f32_pad_grad__scalar(const int d[4], const int pads[4][2], const float *dy, float *dx) {
  int yd[4];
  out_dims(d, pads, yd);
  for (int n = 0; n < d[0]; n++)
    for (int h = 0; h < d[1]; h++)
      for (int w = 0; w < d[2]; w++, dx += d[3]) {
        const float *g = dy + y_offset(yd, pads, n, h, w);
        for (int c = 0; c < d[3]; c++) dx[c] += g[c];
      }
}
