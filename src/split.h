/* split.h — the kernels' work split over the engine's threads (src/threads.h).
 *
 * Each function has the signature of the kernel it splits (kernels.h) and the
 * same effect: with one thread it is that one call. With more, every output
 * element (y, or an accumulated dx) is computed by one thread, by the same
 * kernel code and in the same order as the single call would, so the result
 * is the same bits on any number of threads:
 *  - forward ops split their output: rows of a GEMM (1×1 convs and
 *    FULLY_CONNECTED; at least 16 rows a part, where the GEMM's path for
 *    short inputs differs), or FULLY_CONNECTED's output channels when there
 *    are fewer rows, the SIMD conv's own im2col blocks, output rows of a
 *    depthwise conv (and of the scalar conv) per image;
 *  - input gradients split dx, never the sum into one dx element: rows of
 *    dx for the GEMMs, input rows per image for the convs — a part runs the
 *    kernel on the output rows that reach its input rows, the kernel skipping
 *    taps outside them as it skips the padding, so each dx element still
 *    gets its terms in the serial order (the output rows on a part's border
 *    are run by both neighbours);
 *  - the activation mask splits elements (a redirected ReLU, whose rule is
 *    per batch item, splits items); so do the unary ops, in blocks of 1024,
 *    or in rows where the activation is a concat's slice (fv_rows);
 *  - pools split output rows forward (with the max pool's argmax, idx); the
 *    max pool's gradient splits channels in quads (gc0, gc1): a channel's
 *    argmax and adds are the whole call's;
 *  - LRN splits pixels, forward and gradient;
 *  - the binary ops split output rows (an input broadcast along them is read
 *    whole by each part), unless a gradient would sum across rows.
 * A part is one call of the kernel on a shifted sub-problem (pointers, sizes,
 * padding), so the kernels need no changes for it; only the SIMD conv's
 * blocks are the kernel's own (fv_conv2d_block_range).
 *
 * Called by graph.c in place of the kernels' dispatching names; the
 * arguments and ownership are theirs. Nothing is allocated.
 *
 * fv_split_items is the scheme's loop for a module's own twins (cppn.c):
 * fn(ctx, t, begin, end) over [0, count) in contiguous parts of at least
 * min_items items and enough of `work` (multiply-adds, or element operations)
 * to pay for posting them; the whole range in one call on one thread. The
 * caller keeps each output element inside one item.
 */
#ifndef FV_SPLIT_H
#define FV_SPLIT_H

#include "kernels/kernels.h"
#include "threads.h"

void fv_split_conv2d(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y);
void fv_split_conv2d_grad(const fv_conv_shape *s, const float *dy, const float *w, float *dx);
void fv_split_dwconv2d(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y);
void fv_split_dwconv2d_grad(const fv_conv_shape *s, const float *dy, const float *w, float *dx);
void fv_split_fc(int n, int ic, int oc, const float *x, const float *w, const float *b, fv_act act, float *y);
void fv_split_fc_grad(int n, int ic, int oc, const float *dy, const float *w, float *dx);
/* The SIMD GEMM's forward (fv_fc) takes another path for fewer rows than this
 * (fc.c: dot products along ic, summed in another order), so no part of a
 * longer forward is shorter. */
#define FV_SPLIT_GEMM_MIN_ROWS 16

void fv_split_items(int count, int min_items, double work, fv_range_fn *fn, void *ctx);
/* The binary ops (fn: fv_add, fv_sub_grad, ...): rows of the output, each input's rows or its broadcast row. */
void fv_split_binary(fv_bcast_fn *fn, const fv_bcast_shape *s, const float *a, const float *b, fv_act act, float *y);
void fv_split_binary_grad(fv_bcast_grad_fn *fn, const fv_bcast_shape *s, const float *dy, float *da, float *db);
void fv_split_binary_grad_ab(fv_bcast_grad_ab_fn *fn, const fv_bcast_shape *s, const float *a, const float *b,
                             const float *dy, float *da, float *db);
void fv_split_act_grad(fv_act act, int n, size_t per_item, const float *y, float *dy, int redirect);
void fv_split_maxpool2d(const fv_conv_shape *s, const float *x, float *y);
void fv_split_avgpool2d(const fv_conv_shape *s, const float *x, float *y);
void fv_split_maxpool2d_grad(const fv_conv_shape *s, const float *x, const float *y, const float *dy, float *dx);
void fv_split_maxpool2d_idx(const fv_conv_shape *s, const float *x, float *y, int32_t *idx);
void fv_split_maxpool2d_grad_idx(const fv_conv_shape *s, const int32_t *idx, const float *dy, float *dx);
/* p[0..n) = 0: a gradient buffer's lazy clearing (graph.c), in the unary ops' blocks. */
void fv_split_zero(size_t n, float *p);
/* dx = dy where dx is a gradient nothing has written yet: what clearing it and
 * adding dy gives, bit for bit, in one pass instead of two. */
void fv_split_first_grad(size_t n, const float *dy, float *dx);
void fv_split_unary(const fv_act_params *u, size_t n, const float *x, float *y);
void fv_split_unary_grad(const fv_act_params *u, size_t n, const float *x, const float *y, const float *dy, float *dx);
/* An activation seen as rows of len floats, stride apart: a view's (graph.c),
 * its slice of a channel concat's buffer, has the concat's channels as its
 * stride; a plain tensor has stride == len. In the _rows calls x and dx are
 * plain rows of len floats and y, dy the rows of r; each row is one call of
 * the kernel over len floats (the elementwise kernels compute each element
 * alone, so the bits are the whole call's); they split rows. act_grad_rows
 * with redirect decides Lucid's rule on a whole item (n items of r->rows / n
 * rows), as fv_act_grad does. */
typedef struct {
  size_t rows;
  int len, stride;
} fv_rows;
void fv_split_unary_rows(const fv_act_params *u, const fv_rows *r, const float *x, float *y);
void fv_split_unary_grad_rows(const fv_act_params *u, const fv_rows *r, const float *x, const float *y, const float *dy,
                              float *dx);
void fv_split_first_grad_rows(const fv_rows *r, const float *dy, float *dx);
void fv_split_act_grad_rows(fv_act act, int n, const fv_rows *r, const float *y, float *dy, int redirect);
void fv_split_lrn(const fv_lrn_shape *s, const float *x, float *y);
void fv_split_lrn_grad(const fv_lrn_shape *s, const float *x, const float *y, const float *dy, float *dx);

#endif
