/* conv.c — CONV_2D forward and input gradient, and TFLite's padding rule.
 *
 * x [n][ih][iw][ic], w [oc][kh][kw][ic] (TFLite), b [oc] or NULL, y [n][oh][ow][oc].
 * Output pixel (oy, ox) reads input (oy*sh - pt + ky*dh, ox*sw - pl + kx*dw);
 * taps outside the input read zero.
 *
 * SIMD: everything is a GEMM with w as the [oc][K] matrix, K = kh*kw*ic
 * (TFLite's layout is already that). A 1×1 stride-1 unpadded conv is the
 * GEMM on x itself ([n*h*w][ic] · w[oc][ic]ᵀ, fc.c). Any other conv builds an
 * im2col block of output pixels on the stack ([rows][K], zero where the
 * filter hangs over the border) and runs the same GEMM on it; that covers
 * MobileNet's first conv (3×3, stride 2, ic 3: K = 27) with the register-
 * blocked micro-kernel. The gradient mirrors it: dx += dy · w for 1×1, and
 * otherwise col = dy · w for a block of pixels, then col2im adds col into dx;
 * there K is padded to a multiple of 8 (27 → 32) through a zero-padded stack
 * copy of w, as the GEMM's last partial column panel runs through a slow
 * stack tile. im2col and col2im step pixel coordinates instead of dividing,
 * and move the inside taps of a filter row as one span; a 9-float span (the
 * first conv, 3×3 × ic 3) away from the image edges moves as whole vectors
 * with no loop, which took a quarter off both directions of that conv.
 * (Measured and dropped: a direct per-pixel gradient without col, w rows
 * padded to 12 floats — 288 multiply-adds a pixel against the GEMM's 256,
 * no faster; smaller im2col blocks — no change.)
 * Weights come packed at load for both GEMMs (fv_conv_pack, model.c:
 * s->wpack, s->wgpack), so a block packs nothing; the blocks are 128 KB, so a
 * 3×3 over 192 channels (K = 1728) still gets 16 pixels per pass over its
 * weights, enough for the GEMM's 4×8 tiles (64 KB blocks of 8 pixels took its
 * dot-product path for short row counts and, with per-block packing, ran
 * GoogLeNet's big 3×3s at about 60% of the SIMD peak; these run at 85%).
 * Filters with K above CONV_COL floats (e.g. 3×3 with ic > 3640) run scalar.
 * 3×3 and 5×5 stride-1 convs with weights transformed at load (s->wino,
 * model.c) run Winograd instead (winograd.h): for 3×3 F(4×4) forward where it
 * fits (4× fewer multiply-adds), else F(2×2) (2.25×, also the gradient's);
 * for 5×5 F(2×2, 5×5) both directions (2.8×); when the
 * channels they sum fit its block and the map fills it (fv_wino_fits);
 * the others, and the scalar build, keep the im2col GEMM.
 * Grouped convs (ONNX group, groups > 1: ResNeXt, RegNet, ShuffleNet v1) run
 * the same GEMMs group by group on stack blocks: im2col of the group's
 * channels, the GEMM into a [rows][oc/groups] tile, copied into y (and for
 * the gradient, the group's dy columns copied into a tile first).
 */
#include <string.h>

#include "conv_family.h"
#include "winograd.h"

/* ---- padding ------------------------------------------------------------------ *
 * TFLite (tensorflow/lite/kernels/padding.h, ComputeOutSize, ComputePaddingWithOffset):
 *   eff   = (k - 1) * dil + 1
 *   SAME:  out = (in + stride - 1) / stride          = ceil(in / stride)
 *   VALID: out = (in + stride - eff) / stride        = ceil((in - eff + 1) / stride)
 *   total = max((out - 1) * stride + eff - in, 0)
 *   before = total / 2, after = total - before (the odd pixel goes after)
 * Integer division truncates toward zero, as in C++. For VALID, total is
 * always 0. An input smaller than the filter gives out <= 0: callers reject it.
 * EXPLICIT (ONNX pads, auto_pad NOTSET): before and after as given,
 *   out = floor((in + before + after - eff) / stride) + 1, or with ceil_mode
 *   rounded up, less the windows that would start at or past in + before
 *   (ONNX's rule: in ceil mode every window starts inside the input or the
 *   leading pad; PyTorch and onnxruntime drop the one such window there can
 *   be when the pads are smaller than the window). */
static void pad_dim(int in, int k, int stride, int dil, fv_padding padding, int ceil_mode, int *out, int *before,
                    int *after) {
  const int eff = (k - 1) * dil + 1;
  int o = 0;
  if (padding == FV_PADDING_EXPLICIT) {
    const int span = in + *before + *after - eff;
    if (span >= 0 && stride > 0) {
      o = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
      while (ceil_mode && o > 1 && (o - 1) * stride >= in + *before) o--;
    }
    *out = o;
    return;
  }
  if (stride > 0) o = padding == FV_PADDING_SAME ? (in + stride - 1) / stride : (in + stride - eff) / stride;
  if (o < 0) o = 0;
  const int total = o > 0 ? (o - 1) * stride + eff - in : 0;
  *out = o;
  *before = total > 0 ? total / 2 : 0;
  *after = total > 0 ? total - total / 2 : 0;
}

void fv_conv_shape_pad(fv_conv_shape *s, fv_padding padding) {
  pad_dim(s->ih, s->kh, s->sh, s->dh, padding, s->ceil_mode, &s->oh, &s->pt, &s->pb);
  pad_dim(s->iw, s->kw, s->sw, s->dw, padding, s->ceil_mode, &s->ow, &s->pl, &s->pr);
}

/* A 1×1 stride-1 conv without padding or groups reads pixel p for output pixel p: a GEMM over pixels. */
int fv_conv2d_is_pointwise(const fv_conv_shape *s) {
  return s->groups <= 1 && s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 &&
         s->oh == s->ih && s->ow == s->iw;
}

int fv_conv_grad_sets(const fv_conv_shape *s, int depthwise) {
  if (!depthwise) return fv_conv2d_is_pointwise(s);
  /* input row iy is read by output row oy = (iy + pt − ky·dh) / sh for some tap ky */
  for (int iy = 0; iy < s->ih; iy++) {
    int read = 0;
    for (int ky = 0; ky < s->kh && !read; ky++) {
      const int t = iy + s->pt - ky * s->dh;
      read = t >= 0 && t % s->sh == 0 && t / s->sh < s->oh;
    }
    if (!read) return 0;
  }
  return s->ih > 0;
}

/* ---- scalar reference ---------------------------------------------------------- */

/* Groups: output channel o reads input channels [g·icg, (g+1)·icg) of group g = o / ocg. */
static inline int conv_groups(const fv_conv_shape *s) { return s->groups > 1 ? s->groups : 1; }

void fv_f32_conv2d__scalar(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
  const int ic = s->ic, oc = s->oc, icg = ic / conv_groups(s), ocg = oc / conv_groups(s);
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++) {
        float *yp = y + (((size_t)n * s->oh + oy) * s->ow + ox) * oc;
        for (int o = 0; o < oc; o++) {
          const int c0 = o / ocg * icg;
          float acc = b ? b[o] : 0.0f;
          for (int ky = 0; ky < s->kh; ky++) {
            const int iy = oy * s->sh - s->pt + ky * s->dh;
            if (iy < 0 || iy >= s->ih) continue;
            for (int kx = 0; kx < s->kw; kx++) {
              const int ix = ox * s->sw - s->pl + kx * s->dw;
              if (ix < 0 || ix >= s->iw) continue;
              const float *xp = x + (((size_t)n * s->ih + iy) * s->iw + ix) * ic + c0;
              const float *wp = w + (((size_t)o * s->kh + ky) * s->kw + kx) * icg;
              for (int i = 0; i < icg; i++) acc += xp[i] * wp[i];
            }
          }
          yp[o] = fv_act1(s->act, acc);
        }
      }
}

/* dx[iy][ix][c0 + i] += Σ dy[oy][ox][o] · w[o][ky][kx][i] over the taps that read (iy, ix). */
void fv_f32_conv2d_grad__scalar(const fv_conv_shape *s, const float *dy, const float *w, float *dx) {
  const int ic = s->ic, oc = s->oc, icg = ic / conv_groups(s), ocg = oc / conv_groups(s);
  if (s->dx_set) memset(dx, 0, (size_t)s->n * s->ih * s->iw * ic * sizeof(float));
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++) {
        const float *dyp = dy + (((size_t)n * s->oh + oy) * s->ow + ox) * oc;
        for (int ky = 0; ky < s->kh; ky++) {
          const int iy = oy * s->sh - s->pt + ky * s->dh;
          if (iy < 0 || iy >= s->ih) continue;
          for (int kx = 0; kx < s->kw; kx++) {
            const int ix = ox * s->sw - s->pl + kx * s->dw;
            if (ix < 0 || ix >= s->iw) continue;
            float *dxp = dx + (((size_t)n * s->ih + iy) * s->iw + ix) * ic;
            for (int o = 0; o < oc; o++) {
              const float g = dyp[o];
              const float *wp = w + (((size_t)o * s->kh + ky) * s->kw + kx) * icg;
              float *d = dxp + o / ocg * icg;
              for (int i = 0; i < icg; i++) d[i] += g * wp[i];
            }
          }
        }
      }
}

/* ---- WASM SIMD ---------------------------------------------------------------- */
#ifdef __wasm_simd128__

#define CONV_COL 32768 /* floats in the stack im2col block (128 KB) */
#define CONV_WPAD 4096 /* floats of the gradient's zero-padded copy of w (16 KB) */


/* Output pixels per im2col block: a multiple of 4 (the GEMM's tile) when it can be. */
static int conv_block_rows(int K) {
  int rows = K > 0 ? CONV_COL / K : 0;
  if (rows > 4) rows &= ~3;
  return rows;
}

/* Inline copies: the spans are short (ic = 3 in the first conv), too short for a libc call. */
static inline void copy_f32(float *d, const float *s, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(d + i, wasm_v128_load(s + i));
  for (; i < n; i++) d[i] = s[i];
}
static inline void zero_f32(float *d, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(d + i, wasm_f32x4_splat(0.0f));
  for (; i < n; i++) d[i] = 0.0f;
}

/* The taps kx in [*kx0, *kx1) of an output pixel whose first tap column is ix0 lie inside the input. */
static inline void inside_taps(const fv_conv_shape *s, int ix0, int *kx0, int *kx1) {
  if (s->dw == 1 && ix0 >= 0 && ix0 + s->kw <= s->iw) { /* interior: no divisions */
    *kx0 = 0, *kx1 = s->kw;
    return;
  }
  int a = ix0 >= 0 ? 0 : (-ix0 + s->dw - 1) / s->dw;
  int e = s->iw - 1 - ix0 < 0 ? 0 : (s->iw - 1 - ix0) / s->dw + 1;
  if (e > s->kw) e = s->kw;
  if (a > e) a = e;
  *kx0 = a, *kx1 = e;
}

/* Output pixel p's coordinates, then stepped along the row: one division per
 * block, not per pixel (the first conv has ic = 3, so per-pixel work shows). */
typedef struct {
  int n, oy, ox;
} conv_pos;
static inline conv_pos pos_of(const fv_conv_shape *s, int p) {
  conv_pos q = {p / (s->ow * s->oh), (p / s->ow) % s->oh, p % s->ow};
  return q;
}
static inline void pos_next(const fv_conv_shape *s, conv_pos *q) {
  if (++q->ox < s->ow) return;
  q->ox = 0;
  if (++q->oy < s->oh) return;
  q->oy = 0, q->n++;
}

/* col[j][ky][kx][i] = x channel c0 + i (i < cn) at the input pixel tap (ky, kx)
 * of output pixel p0 + j reads, or 0. cn < ic: one group's channels. */
static void im2col(const fv_conv_shape *s, const float *x, int p0, int rows, int c0, int cn, float *col) {
  const int ic = s->ic, kwic = s->kw * cn, span = s->dw == 1 && cn == ic;
  conv_pos q = pos_of(s, p0);
  for (int j = 0; j < rows; j++, pos_next(s, &q)) {
    const int ix0 = q.ox * s->sw - s->pl;
    if (kwic == 9 && span && ix0 >= 0 && ix0 + s->kw < s->iw) {
      /* 9-float rows (the first conv) away from the right edge: 12 floats moved
       * as 3 vectors; the 3 extra land where the next filter row or pixel goes. */
      for (int ky = 0; ky < s->kh; ky++, col += 9) {
        const int iy = q.oy * s->sh - s->pt + ky * s->dh;
        v128_t a = wasm_f32x4_splat(0.0f), b = a, c = a;
        if (iy >= 0 && iy < s->ih) {
          const float *xr = x + (((size_t)q.n * s->ih + iy) * s->iw + ix0) * ic;
          a = wasm_v128_load(xr), b = wasm_v128_load(xr + 4), c = wasm_v128_load(xr + 8);
        }
        wasm_v128_store(col, a), wasm_v128_store(col + 4, b), wasm_v128_store(col + 8, c);
      }
      continue;
    }
    int kx0, kx1;
    inside_taps(s, ix0, &kx0, &kx1);
    for (int ky = 0; ky < s->kh; ky++, col += kwic) {
      const int iy = q.oy * s->sh - s->pt + ky * s->dh;
      if (iy < 0 || iy >= s->ih || kx0 == kx1) {
        zero_f32(col, kwic);
        continue;
      }
      if (kx0 > 0) zero_f32(col, kx0 * cn);
      const float *xr = x + (((size_t)q.n * s->ih + iy) * s->iw + ix0 + kx0 * s->dw) * ic + c0;
      if (span) { /* the inside taps are one contiguous span of x */
        copy_f32(col + kx0 * ic, xr, (kx1 - kx0) * ic);
      } else {
        for (int kx = kx0; kx < kx1; kx++) copy_f32(col + kx * cn, xr + (size_t)(kx - kx0) * s->dw * ic, cn);
      }
      if (kx1 < s->kw) zero_f32(col + kx1 * cn, (s->kw - kx1) * cn);
    }
  }
}

static inline void add_f32(float *d, const float *s, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(d + i, wasm_f32x4_add(wasm_v128_load(d + i), wasm_v128_load(s + i)));
  for (; i < n; i++) d[i] += s[i];
}

/* dx channel c0 + i at the input pixel tap (ky, kx) of output pixel p0 + j
 * reads += col[j][ky][kx][i]. Like im2col, the inside taps of a filter row
 * are one span of dx when dw = 1 and cn = ic (9 floats in the first conv),
 * so they are added as one. */
static void col2im_add(const fv_conv_shape *s, const float *col, int ldc, int p0, int rows, int c0, int cn,
                       float *dx) {
  const int ic = s->ic, kwic = s->kw * cn, span = s->dw == 1 && cn == ic;
  conv_pos q = pos_of(s, p0);
  for (int j = 0; j < rows; j++, pos_next(s, &q), col += ldc - s->kh * kwic) {
    const int ix0 = q.ox * s->sw - s->pl;
    if (kwic == 9 && span && ix0 >= 0 && ix0 + s->kw <= s->iw) { /* the first conv, inside columns */
      for (int ky = 0; ky < s->kh; ky++, col += 9) {
        const int iy = q.oy * s->sh - s->pt + ky * s->dh;
        if (iy < 0 || iy >= s->ih) continue;
        float *d = dx + (((size_t)q.n * s->ih + iy) * s->iw + ix0) * ic;
        wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), wasm_v128_load(col)));
        wasm_v128_store(d + 4, wasm_f32x4_add(wasm_v128_load(d + 4), wasm_v128_load(col + 4)));
        d[8] += col[8];
      }
      continue;
    }
    int kx0, kx1;
    inside_taps(s, ix0, &kx0, &kx1);
    for (int ky = 0; ky < s->kh; ky++, col += kwic) {
      const int iy = q.oy * s->sh - s->pt + ky * s->dh;
      if (iy < 0 || iy >= s->ih || kx0 == kx1) continue;
      float *d = dx + (((size_t)q.n * s->ih + iy) * s->iw + ix0 + kx0 * s->dw) * ic + c0;
      if (span) {
        add_f32(d, col + kx0 * ic, (kx1 - kx0) * ic);
      } else {
        for (int kx = kx0; kx < kx1; kx++) add_f32(d + (size_t)(kx - kx0) * s->dw * ic, col + kx * cn, cn);
      }
    }
  }
}

/* Groups, per block of output pixels and per group (in = x, out = y forward;
 * in = dy, out = dx for the gradient):
 *  forward: im2col of the group's channels, the GEMM with the group's weight
 *    rows into a stack tile, the tile's rows copied into y's group channels;
 *  gradient: the group's dy columns into the tile, col = tile · w_g, col2im
 *    into dx's group channels. */
static int grouped_block_rows(const fv_conv_shape *s) {
  const int G = s->groups, icg = s->ic / G, ocg = s->oc / G, K = s->kh * s->kw * icg;
  return conv_block_rows(K > ocg ? K : ocg);
}

/* ... over the blocks [b0, b1) of grouped_block_rows output pixels. */
static void conv2d_grouped(const fv_conv_shape *s, const float *in, const float *w, const float *b, float *out,
                           int grad, int b0, int b1) {
  const int G = s->groups, icg = s->ic / G, ocg = s->oc / G, K = s->kh * s->kw * icg;
  const int P = s->n * s->oh * s->ow, rows = grouped_block_rows(s);
  if (rows == 0) {
    if (grad) fv_f32_conv2d_grad__scalar(s, in, w, out);
    else fv_f32_conv2d__scalar(s, in, w, b, out);
    return;
  }
  float col[CONV_COL] __attribute__((aligned(16)));
  float tile[CONV_COL] __attribute__((aligned(16)));
  for (int p0 = b0 * rows; p0 < P && p0 < b1 * rows; p0 += rows) {
    const int r = P - p0 < rows ? P - p0 : rows;
    for (int g = 0; g < G; g++) {
      const float *wg = w + (size_t)g * ocg * K;
      if (!grad) {
        im2col(s, in, p0, r, g * icg, icg, col);
        fv_f32_fc__wasmsimd(r, K, ocg, col, wg, b ? b + g * ocg : NULL, s->act, tile);
        for (int j = 0; j < r; j++) copy_f32(out + (size_t)(p0 + j) * s->oc + g * ocg, tile + (size_t)j * ocg, ocg);
      } else {
        for (int j = 0; j < r; j++) copy_f32(tile + (size_t)j * ocg, in + (size_t)(p0 + j) * s->oc + g * ocg, ocg);
        zero_f32(col, r * K);
        fv_f32_fc_grad__wasmsimd(r, K, ocg, tile, wg, col);
        col2im_add(s, col, K, p0, r, g * icg, icg, out);
      }
    }
  }
}

/* The im2col blocks [b0, b1) of `rows` output pixels each (the last may be short). */
static void conv2d_blocks(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y, int rows,
                          int b0, int b1) {
  const int P = s->n * s->oh * s->ow, K = s->kh * s->kw * s->ic;
  float col[CONV_COL + 4] __attribute__((aligned(16))); /* + 4: im2col's last 12-float move */
  for (int p0 = b0 * rows; p0 < P && p0 < b1 * rows; p0 += rows) {
    const int r = P - p0 < rows ? P - p0 : rows;
    im2col(s, x, p0, r, 0, s->ic, col);
    fv_f32_fc_gemm__wasmsimd(r, K, s->oc, col, w, s->wpack, b, s->act, y + (size_t)p0 * s->oc);
  }
}

/* 1 (and *g, *u) when direction grad of s runs Winograd: weights transformed at load, the
 * shape fits; a 3×3 forward takes F(4×4) where it fits, else F(2×2). */
static int wino_route(const fv_conv_shape *s, int grad, fv_wino_shape *g, const float **u) {
  if (!s->wino || !fv_wino_applies(s)) return 0;
  for (int m = 4; m >= 2; m -= 2) { /* F(4×4) first where its weights were made and the tiles fill a block */
    *g = fv_wino_shape_of(s, grad, m);
    *u = fv_conv_wino_part(s->ic, s->oc, s->kh, s->wino, grad, m);
    if (*u && fv_wino_fits(g)) return 1;
  }
  return 0;
}

/* 1 when s is the 7×7 stride-2 conv whose phase weights model.c made (winograd_s2.c). */
static int s2_route(const fv_conv_shape *s) { return s->wino && fv_wino_s2_applies(s); }

void fv_f32_conv2d__wasmsimd(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
  const int P = s->n * s->oh * s->ow, K = s->kh * s->kw * s->ic;
  fv_wino_shape g;
  const float *u;
  if (wino_route(s, 0, &g, &u)) {
    fv_f32_wino__wasmsimd(&g, x, u, b, s->act, 0, y, 0, fv_wino_units(&g));
    return;
  }
  if (s2_route(s)) {
    fv_wino_s2_range(s, x, s->wino, b, y, 0, 0, fv_wino_s2_bands(s, 0));
    return;
  }
  if (s->groups > 1) {
    conv2d_grouped(s, x, w, b, y, 0, 0, P);
    return;
  }
  if (fv_conv2d_is_pointwise(s)) {
    fv_f32_fc_gemm__wasmsimd(P, s->ic, s->oc, x, w, s->wpack, b, s->act, y);
    return;
  }
  const int rows = conv_block_rows(K);
  if (rows == 0) {
    fv_f32_conv2d__scalar(s, x, w, b, y);
    return;
  }
  conv2d_blocks(s, x, w, b, y, rows, 0, (P + rows - 1) / rows);
}

/* A Winograd route's units, and in *group those of one block. */
static int wino_units(const fv_wino_shape *g, int *group) {
  const int units = fv_wino_units(g);
  *group = units / fv_wino_blocks(g);
  return units;
}

int fv_conv2d_blocks(const fv_conv_shape *s, int *group) {
  const int P = s->n * s->oh * s->ow;
  fv_wino_shape g;
  const float *u;
  *group = 1;
  if (fv_kernels_simd_enabled() && wino_route(s, 0, &g, &u)) return wino_units(&g, group);
  if (fv_kernels_simd_enabled() && s2_route(s)) return fv_wino_s2_bands(s, 0);
  const int rows = s->groups > 1 ? grouped_block_rows(s) : conv_block_rows(s->kh * s->kw * s->ic);
  return fv_kernels_simd_enabled() && !fv_conv2d_is_pointwise(s) && rows > 0 ? (P + rows - 1) / rows : 0;
}

void fv_conv2d_block_range(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y, int b0,
                           int b1) {
  fv_wino_shape g;
  const float *u;
  if (wino_route(s, 0, &g, &u)) fv_f32_wino__wasmsimd(&g, x, u, b, s->act, 0, y, b0, b1);
  else if (s2_route(s)) fv_wino_s2_range(s, x, s->wino, b, y, 0, b0, b1);
  else if (s->groups > 1) conv2d_grouped(s, x, w, b, y, 0, b0, b1);
  else conv2d_blocks(s, x, w, b, y, conv_block_rows(s->kh * s->kw * s->ic), b0, b1);
}

int fv_conv2d_grad_blocks(const fv_conv_shape *s, int *group) {
  fv_wino_shape g;
  const float *u;
  *group = 1;
  if (fv_kernels_simd_enabled() && wino_route(s, 1, &g, &u)) return wino_units(&g, group);
  return fv_kernels_simd_enabled() && s2_route(s) ? fv_wino_s2_bands(s, 1) : 0;
}

void fv_conv2d_grad_block_range(const fv_conv_shape *s, const float *dy, const float *w, float *dx, int b0, int b1) {
  fv_wino_shape g;
  const float *u;
  if (wino_route(s, 1, &g, &u)) fv_f32_wino__wasmsimd(&g, dy, u, NULL, FV_ACT_NONE, 1, dx, b0, b1);
  else if (s2_route(s)) fv_wino_s2_range(s, dy, s->wino, NULL, dx, 1, b0, b1);
}

void fv_f32_conv2d_grad__wasmsimd(const fv_conv_shape *s, const float *dy, const float *w, float *dx) {
  const int P = s->n * s->oh * s->ow, K = s->kh * s->kw * s->ic;
  fv_wino_shape g;
  const float *u;
  if (fv_conv2d_is_pointwise(s)) {
    fv_f32_fc_grad_gemm__wasmsimd(P, s->ic, s->oc, dy, w, s->wgpack, dx, s->dx_set);
    return;
  }
  if (s->dx_set) zero_f32(dx, s->n * s->ih * s->iw * s->ic); /* the paths below add into dx */
  if (wino_route(s, 1, &g, &u)) { /* dx tiles: each dx pixel summed whole, added once */
    fv_f32_wino__wasmsimd(&g, dy, u, NULL, FV_ACT_NONE, 1, dx, 0, fv_wino_units(&g));
    return;
  }
  if (s2_route(s)) { /* dx's phases in bands, each dx pixel added once */
    fv_wino_s2_range(s, dy, s->wino, NULL, dx, 1, 0, fv_wino_s2_bands(s, 1));
    return;
  }
  if (s->groups > 1) {
    conv2d_grouped(s, dy, w, NULL, dx, 1, 0, P);
    return;
  }
  /* The GEMM's columns are K; when K is not a multiple of its 8-column panel
   * (27 in the first conv) the last panel goes through a stack tile, slowly.
   * So w is copied with its rows zero-padded to Kp and col gets Kp columns.
   * Weights packed at load have that padding already (and every panel contiguous). */
  int Kp = (K + 7) & ~7;
  if (Kp == K || (size_t)s->oc * Kp > CONV_WPAD || s->wgpack) Kp = K;
  const int rows = conv_block_rows(Kp);
  if (rows == 0) {
    fv_f32_conv2d_grad__scalar(s, dy, w, dx);
    return;
  }
  float wpad[CONV_WPAD] __attribute__((aligned(16)));
  const float *wg = w;
  if (Kp != K) {
    for (int o = 0; o < s->oc; o++) {
      copy_f32(wpad + (size_t)o * Kp, w + (size_t)o * K, K);
      zero_f32(wpad + (size_t)o * Kp + K, Kp - K);
    }
    wg = wpad;
  }
  float col[CONV_COL] __attribute__((aligned(16)));
  for (int p0 = 0; p0 < P; p0 += rows) {
    const int r = P - p0 < rows ? P - p0 : rows;
    fv_f32_fc_grad_gemm__wasmsimd(r, Kp, s->oc, dy + (size_t)p0 * s->oc, wg, s->wgpack, col, 1);
    col2im_add(s, col, Kp, p0, r, 0, s->ic, dx);
  }
}

#else
int fv_conv2d_blocks(const fv_conv_shape *s, int *group) { return *group = 1, 0; }
void fv_conv2d_block_range(const fv_conv_shape *s, const float *x, const float *w, const float *b, float *y, int b0,
                           int b1) {}
int fv_conv2d_grad_blocks(const fv_conv_shape *s, int *group) { return *group = 1, 0; }
void fv_conv2d_grad_block_range(const fv_conv_shape *s, const float *dy, const float *w, float *dx, int b0, int b1) {}
#endif /* __wasm_simd128__ */
