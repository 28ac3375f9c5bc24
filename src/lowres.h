/* lowres.h — low-resolution tensors (Lucid's lowres_tensor, lucid/optvis/param/
 * spatial.py): a small [sn][sh][sw][c] tensor of free params, resized bilinearly
 * along the batch, rows and columns to [dn][dh][dw][c]. The building block of the
 * Laplacian pyramid (a sum of them at 1, 1/2, 1/4, 1/8 of the side) and of aligned
 * interpolation (tensors with fewer frames than the batch, shared across it).
 *
 * The resize is TensorFlow 1's resize_bilinear without align_corners or half-pixel
 * centres, as Lucid calls it (resize_bilinear_nd): along an axis of s source and
 * d output samples, output o reads source o·s/d, i.e. i0 = floor(o·s/d), i1 =
 * min(i0 + 1, s − 1), weight f = o·s/d − i0 on i1. The three axes are separable:
 * each output is a sum of 8 (or fewer) weighted taps.
 *
 * No state and no memory of its own: the caller owns every buffer.
 *   fv_lowres_up(&t, src, dst);              // dst += resize(src)
 *   fv_lowres_up_adjoint(&t, ddst, dsrc);    // dsrc = resizeᵀ(ddst) (overwritten)
 */
#ifndef FV_LOWRES_H
#define FV_LOWRES_H

#include <stddef.h>

typedef struct {
  int sn, sh, sw; /* the params' shape (1..the output's along each axis) */
  int dn, dh, dw; /* the output's */
  int c;          /* channels, not resized */
} fv_lowres;

/* floats of params */
size_t fv_lowres_count(const fv_lowres *t);
/* dst [dn][dh][dw][c] += resize(src [sn][sh][sw][c]) */
void fv_lowres_up(const fv_lowres *t, const float *src, float *dst);
/* the adjoint: dsrc [sn][sh][sw][c] = resizeᵀ(ddst) */
void fv_lowres_up_adjoint(const fv_lowres *t, const float *ddst, float *dsrc);

#endif
