/* transpose.c — TRANSPOSE on the 4-D NHWC view, forward and input-gradient.
 *
 * y's axis k is x's axis perm[k] (perm a permutation of 0..3): y has dims
 * d[perm[0]], ..., d[perm[3]] and y[i0][i1][i2][i3] = x at index i_k on
 * axis perm[k]. A channel shuffle is reshape [N,HW,g,C/g] → perm [0,1,3,2]
 * → reshape. The gradient is the inverse permutation, accumulated. Scalar
 * only: a strided copy (kernels.inc).
 */
#include <assert.h>
#include "kernels.h"

/* x's strides read in y's axis order */
static void strides(const int d[4], const int perm[4], size_t st[4], int yd[4]) {
  size_t xs[4], s = 1;
  for (int k = 3; k >= 0; k--) xs[k] = s, s *= (size_t)d[k];
  for (int k = 0; k < 4; k++) {
    assert(perm[k] >= 0 && perm[k] < 4);
    st[k] = xs[perm[k]];
    yd[k] = d[perm[k]];
  }
}

/* y = x permuted (grad 0), or x += y permuted back (grad 1): the same walk in y's order */
static void walk(const int d[4], const int perm[4], float *x, float *y, int grad) {
  size_t st[4];
  int yd[4];
  strides(d, perm, st, yd);
  for (int a = 0; a < yd[0]; a++)
    for (int b = 0; b < yd[1]; b++)
      for (int c = 0; c < yd[2]; c++) {
        float *p = x + a * st[0] + b * st[1] + c * st[2];
        for (int e = 0; e < yd[3]; e++, y++) {
          if (grad) p[e * st[3]] += *y;
          else *y = p[e * st[3]];
        }
      }
}

/* (the casts drop const only where walk does not write: x forward, dy backward) */
void fv_f32_transpose__scalar FV_PARAMS_transpose { walk(d, perm, (float *)x, y, 0); }

void fv_f32_transpose_grad__scalar FV_PARAMS_transpose_grad { walk(d, perm, dx, (float *)dy, 1); }
