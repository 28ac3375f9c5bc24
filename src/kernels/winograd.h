/* winograd.h — Winograd F(m×m, r×r) for stride-1 dense convs: F(2×2, 3×3)
 * (each 2×2 output tile and channel pair: 16 multiply-adds instead of 36,
 * 2.25× fewer), F(4×4, 3×3) (36 instead of 144, 4× fewer) and F(2×2, 5×5)
 * (36 instead of 100, 2.8× fewer); the two with 6×6 tiles have transforms
 * with larger coefficients, so they round a little more.
 *
 * One kernel serves both directions: the input gradient of a 3×3 s1 conv is
 * an r×r s1 conv of dy with the filter flipped and ic/oc swapped, padded by
 * r − 1 − pad (fv_wino_weights with grad = 1 builds those weights; the caller
 * passes dy as x and accumulates into dx). The loader transforms F(2×2) for
 * both directions and, for 3×3, F(4×4) for each direction whose input
 * channels fit its block (fv_conv_wino, kernels.h).
 *
 * Shapes (fv_wino_shape_of): x [n][h][w][c] NHWC, y [n][oh][ow][o]; output
 * pixel (oy, ox) reads x rows oy − pt .. oy − pt + r − 1 and columns likewise,
 * zero outside x (pt, pl may be negative or larger than 2: the gradient's
 * sub-problems). Output tiles of m×m pixels are numbered over (n, ty, tx)
 * and run in blocks of FV_WINO_BLOCK tiles, a block's output channels in
 * units (fv_wino_units); a unit's bytes do not depend on which other units run
 * in the same call, so a thread split over units gives the same bits on any
 * number of threads.
 *
 * Weights: u[k][o][c] = (G g_oc G^T)[k], k the T² = (m + r − 1)² entries of the
 * transform in row-major order; the SIMD twin reads them packed per k for
 * the GEMM (fv_wino_pack, fc.c's panels of 8 o).
 *
 * conv.c runs it for the 3×3 and 5×5 s1 convs whose weights model.c transformed at
 * load (fv_conv_shape.wino) and whose shape fits a block (fv_wino_fits),
 * F(4×4) first where it fits, in either direction; src/split.c splits a call over its blocks.
 *
 * Accuracy: the transforms are exact up to float rounding of short sums with
 * small coefficients; the test holds both twins to the direct conv in double
 * (1e-5 of the sum of |terms| for F(2×2, 3×3), 2e-5 for the 6×6 tiles).
 */
#ifndef FV_WINOGRAD_H
#define FV_WINOGRAD_H

#include <stddef.h>
#include "kernels.h"

#define FV_WINO_BLOCK 16 /* tiles per block: the GEMM's rows (its packed path needs 16) */
#define FV_WINO_CMAX 256  /* F(2×2): input channels the SIMD block's stack holds (16 × 16 × 256 floats) */
#define FV_WINO_OCH 32    /* output channels per GEMM chunk (the block's products: T² × 16 × 32 floats) */
#define FV_WINO_UNIT 16   /* output channels per unit of a small map's block (a multiple of the GEMM's 16-column pairs) */
#define FV_WINO4_CMAX 192 /* 6×6 tiles: the same (36 × 16 × 192 floats; with the products, 516 KB of the 1 MB stacks) */

typedef struct {
  int n, h, w, c; /* input */
  int oh, ow, o;  /* output */
  int pt, pl;     /* rows / columns of zero before the input (any sign) */
  int m;          /* output tile side: 2, 4 (r = 3 only) or 3 (r = 4 only) */
  int r;          /* filter side: 3, 5, or 4 (winograd_s2.c's phases) */
  /* The first row x holds and the first row of y given (0: whole images; a band's
   * buffers in winograd_s2.c, one image, hold rows from these on: only the tiles
   * called for may read or write outside them). */
  int xrow0, yrow0;
} fv_wino_shape;

/* The forward shape of conv s (3×3 or 5×5), or of its input gradient (grad = 1), in tiles of m×m. */
fv_wino_shape fv_wino_shape_of(const fv_conv_shape *s, int grad, int m);
/* 1 when s is a conv Winograd can run: 3×3 or 5×5, stride 1, dilation 1, no groups. */
int fv_wino_applies(const fv_conv_shape *s);

/* u: (m+r−1)²·ic·oc floats from w [oc][r][r][ic]; grad = 1: the gradient's (o = ic, c = oc). */
size_t fv_wino_floats(int ic, int oc, int m, int r);
void fv_wino_weights(int ic, int oc, int r, const float *w, int grad, int m, float *u);
/* Packed for the SIMD twin: (m+r−1)² blocks of fv_fc_pack_floats(c, o) floats. */
size_t fv_wino_pack_floats(int c, int o, int m, int r);
void fv_wino_pack(int c, int o, int m, int r, const float *u, float *p);
/* fv_wino_weights then fv_wino_pack in one pass, with no u in between (the loader's; the same bytes). */
void fv_wino_pack_weights(int ic, int oc, int r, const float *w, int grad, int m, float *p);

/* Blocks of FV_WINO_BLOCK tiles in shape g. */
int fv_wino_blocks(const fv_wino_shape *g);
/* The twins' units of work, block-major: (block, a range of fv_wino_unit_channels(g)
 * output channels). A whole block's channels when there are 8 blocks or more, else
 * FV_WINO_UNIT: small maps still give the threads even parts (a call runs its units
 * of one block together, transforming the block's input once). */
int fv_wino_units(const fv_wino_shape *g);
int fv_wino_unit_channels(const fv_wino_shape *g);
/* Units [u0, u1): y = act(conv + b) (accumulate = 0; b may be NULL) or y += conv
 * (accumulate = 1: the gradient; b and act unused). The scalar twin reads u,
 * the SIMD twin up (packed). */
void fv_f32_wino__scalar(const fv_wino_shape *g, const float *x, const float *u, const float *b, fv_act act,
                         int accumulate, float *y, int u0, int u1);
#ifdef __wasm_simd128__
/* The same over the packed weights up (fv_wino_pack); needs fv_wino_fits(g). A block's
 * transformed inputs and products live on the stack (516 KB: the threads' stacks are 1 MB,
 * threads.h; each of the T² matrices is a cache line longer than its rows). */
void fv_f32_wino__wasmsimd(const fv_wino_shape *g, const float *x, const float *up, const float *b, fv_act act,
                           int accumulate, float *y, int u0, int u1);
/* 1 when the SIMD twin can run g and pays: 1..FV_WINO_CMAX input channels
 * (FV_WINO4_CMAX for 6×6 tiles), and enough tiles to fill its blocks at least half. */
int fv_wino_fits(const fv_wino_shape *g);

/* The 7×7 stride-2 conv with pad 3 (GoogLeNet's conv1) as F(3×3, 4×4) on its input's
 * 2×2 phases (winograd_s2.c): 4·ic channels, 16·ic multiply-adds an output against
 * 49·ic. fv_wino_s2_applies: s is that conv and fits (4·ic and oc up to
 * FV_WINO4_CMAX, its band buffer). Weights: fv_wino_s2_floats(ic, oc) floats, both
 * directions packed, from w [oc][7][7][ic] (FV_ERR_NO_MEMORY when its scratch cannot
 * be had). The work comes in bands of Winograd blocks of one image (tiles of y forward,
 * of dx's phases backward), fv_wino_s2_bands of them; fv_wino_s2_range runs bands
 * [b0, b1): y = act(conv + b),
 * or dx += its gradient (grad = 1: in = dy, b unused), each element as the whole call
 * computes it. */
int fv_wino_s2_applies(const fv_conv_shape *s);
/* The loader's half of that rule: a filter kh×kw, strides, dilations and channels it takes. */
int fv_wino_s2_takes(int kh, int kw, int sh, int sw, int dh, int dw, int ic, int oc);
size_t fv_wino_s2_floats(int ic, int oc);
fv_status fv_wino_s2_weights(int ic, int oc, const float *w, float *p);
int fv_wino_s2_bands(const fv_conv_shape *s, int grad);
void fv_wino_s2_range(const fv_conv_shape *s, const float *in, const float *p, const float *b, float *out, int grad,
                      int b0, int b1);
#endif

#endif
