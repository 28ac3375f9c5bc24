/* slice.c — SLICE (ONNX Slice, Split's pieces; TFLite SLICE, STRIDED_SLICE,
 * SPLIT, SPLIT_V), forward and input-gradient, on the 4-D NHWC view.
 *
 * y[n][h][w][c] = x[b0 + n·s0][b1 + h·s1][b2 + w·s2][b3 + c·s3] with
 * begin b and step s >= 1 per axis (fv_slice_shape), y's dims y[4]; the
 * graph checks every index stays inside x. The gradient scatters dy back to
 * those positions, accumulating (the slices of a Split each add their part).
 * Scalar only: a copy (kernels.inc); the channel run is a memcpy when the
 * channel step is 1.
 */
#include <assert.h>
#include <string.h>
#include "kernels.h"

/* offset in x of y's element (n, h, w, 0) */
static inline size_t x_offset(const fv_slice_shape *s, int n, int h, int w) {
  const int *d = s->d, *b = s->begin, *st = s->step;
  return (((size_t)(b[0] + n * st[0]) * d[1] + (size_t)(b[1] + h * st[1])) * d[2] + (size_t)(b[2] + w * st[2])) *
             d[3] +
         (size_t)b[3];
}

static void check(const fv_slice_shape *s) {
  for (int k = 0; k < 4; k++)
    assert(s->step[k] >= 1 && s->begin[k] >= 0 && s->y[k] >= 1 &&
           s->begin[k] + (s->y[k] - 1) * s->step[k] < s->d[k]);
  (void)s;
}

/* y = x at the slice (grad 0), or x += y there (grad 1) */
static void walk(const fv_slice_shape *s, float *x, float *y, int grad) {
  check(s);
  const int C = s->y[3], sc = s->step[3];
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++, y += C) {
        float *p = x + x_offset(s, n, h, w);
        if (grad)
          for (int c = 0; c < C; c++) p[(size_t)c * sc] += y[c];
        else if (sc == 1)
          memcpy(y, p, (size_t)C * sizeof *y);
        else
          for (int c = 0; c < C; c++) y[c] = p[(size_t)c * sc];
      }
}

/* (the casts drop const only where walk does not write: x forward, dy backward) */
void fv_f32_slice__scalar FV_PARAMS_slice { walk(s, (float *)x, y, 0); }

void fv_f32_slice_grad__scalar FV_PARAMS_slice_grad { walk(s, dx, (float *)dy, 1); }
