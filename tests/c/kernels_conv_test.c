/* kernels_conv_test.c — the convolution family: CONV_2D (also grouped),
 * DEPTHWISE_CONV_2D, FULLY_CONNECTED, forward and input gradient, and the
 * padding rules (TFLite's SAME/VALID, ONNX's explicit pads and ceil mode).
 *
 * Every kernel pair in kernels.inc whose signature is one of the family's
 * (conv, conv_grad, fc, fc_grad) is run over fixed awkward shapes and random
 * ones, and checked against:
 *  - a naive double-precision direct loop written here (scalar and SIMD),
 *  - for gradients, the accumulate convention (dx is pre-filled) and the
 *    adjoint identity <conv(x), dy> == <x, conv_grad(dy)> in double, which
 *    holds the gradient to the forward independently of the reference,
 *  - under wasm, the SIMD twin against the scalar reference,
 *  - guard floats around every output, so no kernel writes out of bounds.
 * Natively only the scalar kernels exist (ASan/UBSan); the wasm build adds
 * the SIMD ones and checks that the dispatching names follow the switch.
 */
#include "kernel_test.h"

/* ---- buffers with guard floats -------------------------------------------- */

#define GUARD 16
static const float guard_val = -12345.678f;

static float *gbuf(size_t n) {
  float *p = (float *)malloc((n + 2 * GUARD) * sizeof(float));
  for (size_t i = 0; i < n + 2 * GUARD; i++) p[i] = guard_val;
  return p + GUARD;
}
static int guards_ok(const float *p, size_t n) {
  for (int i = 1; i <= GUARD; i++)
    if (p[-i] != guard_val || p[n + i - 1] != guard_val) return 0;
  return 1;
}
static void gfree(float *p) { free(p - GUARD); }
static float *grand(size_t n, float lo, float hi) {
  float *p = gbuf(n);
  check_fill(p, n, lo, hi);
  return p;
}
static void gnan(float *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = NAN;
}

/* Largest |a - r| / tol over n values, tol = 1e-5 + 1e-5·|r| + 1e-6·mag: a
 * relative tolerance with an absolute floor, widened for long sums by mag,
 * the sum of the absolute values of the terms (float rounding grows with
 * it). Any NaN makes the ratio infinite, so no later value can hide it. */
static double tol_of(double r, double mag) { return 1e-5 + 1e-5 * fabs(r) + 1e-6 * mag; }
static double ratio_ref(const float *a, const double *r, const double *mag, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double q = fabs((double)a[i] - r[i]) / tol_of(r[i], mag[i]);
    if (isnan(q)) return INFINITY;
    if (q > worst) worst = q;
  }
  return worst;
}
/* The same against a float result (SIMD against scalar). */
static double ratio_f(const float *a, const float *r, const double *mag, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double q = fabs((double)a[i] - r[i]) / tol_of(r[i], mag[i]);
    if (isnan(q)) return INFINITY;
    if (q > worst) worst = q;
  }
  return worst;
}

static double act_ref(fv_act act, double v) {
  if (act == FV_ACT_NONE) return v;
  if (v < 0) v = 0;
  if (act == FV_ACT_RELU6 && v > 6) v = 6;
  return v;
}

/* ---- naive double references ------------------------------------------------ */

/* Input index read by tap k of output index o, or -1 when it is padding. */
static int tap_in(int o, int stride, int pad, int k, int dil, int in) {
  int i = o * stride - pad + k * dil;
  return i >= 0 && i < in ? i : -1;
}

static int groups_of(const fv_conv_shape *s) { return s->groups > 1 ? s->groups : 1; }

/* y = conv(x) + b (no activation), mag = Σ |terms|; dw: depthwise layout. A
 * grouped conv: output o reads input channels g·icg + i of its group g = o / ocg. */
static void ref_forward(int dw, const fv_conv_shape *s, const float *x, const float *w, const float *b, double *y,
                        double *mag) {
  const int icg = s->ic / groups_of(s), ocg = s->oc / groups_of(s);
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++)
        for (int o = 0; o < s->oc; o++) {
          double acc = b ? b[o] : 0.0, m = fabs(acc);
          for (int ky = 0; ky < s->kh; ky++)
            for (int kx = 0; kx < s->kw; kx++) {
              int iy = tap_in(oy, s->sh, s->pt, ky, s->dh, s->ih), ix = tap_in(ox, s->sw, s->pl, kx, s->dw, s->iw);
              if (iy < 0 || ix < 0) continue;
              const float *xp = x + (((size_t)n * s->ih + iy) * s->iw + ix) * s->ic;
              if (dw) {
                double t = (double)xp[o / s->dm] * w[((size_t)ky * s->kw + kx) * s->oc + o];
                acc += t, m += fabs(t);
              } else {
                for (int i = 0; i < icg; i++) {
                  double t = (double)xp[o / ocg * icg + i] * w[(((size_t)o * s->kh + ky) * s->kw + kx) * icg + i];
                  acc += t, m += fabs(t);
                }
              }
            }
          const size_t at = (((size_t)n * s->oh + oy) * s->ow + ox) * s->oc + o;
          y[at] = acc;
          if (mag) mag[at] = m;
        }
}

/* g = d<y, dy>/dx of the forward without bias/activation, mag = Σ |terms| (both zeroed here). */
static void ref_grad(int dw, const fv_conv_shape *s, const float *dy, const float *w, double *g, double *mag) {
  const int icg = s->ic / groups_of(s), ocg = s->oc / groups_of(s);
  memset(g, 0, sizeof(double) * (size_t)s->n * s->ih * s->iw * s->ic);
  memset(mag, 0, sizeof(double) * (size_t)s->n * s->ih * s->iw * s->ic);
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++)
        for (int o = 0; o < s->oc; o++) {
          const double d = dy[(((size_t)n * s->oh + oy) * s->ow + ox) * s->oc + o];
          for (int ky = 0; ky < s->kh; ky++)
            for (int kx = 0; kx < s->kw; kx++) {
              int iy = tap_in(oy, s->sh, s->pt, ky, s->dh, s->ih), ix = tap_in(ox, s->sw, s->pl, kx, s->dw, s->iw);
              if (iy < 0 || ix < 0) continue;
              const size_t at = (((size_t)n * s->ih + iy) * s->iw + ix) * s->ic;
              double *gp = g + at, *mp = mag + at;
              if (dw) {
                double t = d * w[((size_t)ky * s->kw + kx) * s->oc + o];
                gp[o / s->dm] += t, mp[o / s->dm] += fabs(t);
              } else {
                for (int i = 0; i < icg; i++) {
                  double t = d * w[(((size_t)o * s->kh + ky) * s->kw + kx) * icg + i];
                  gp[o / ocg * icg + i] += t, mp[o / ocg * icg + i] += fabs(t);
                }
              }
            }
        }
}

/* ---- shapes ------------------------------------------------------------------- */

typedef struct {
  fv_conv_shape s;
  int bias;
} conv_case;

static const char *shape_str(const fv_conv_shape *s) {
  static char buf[200];
  snprintf(buf, sizeof buf, "n%d %dx%dx%d -> %dx%dx%d k%dx%d s%d,%d d%d,%d pad%d,%d dm%d g%d act%d", s->n, s->ih,
           s->iw, s->ic, s->oh, s->ow, s->oc, s->kh, s->kw, s->sh, s->sw, s->dh, s->dw, s->pt, s->pl, s->dm,
           groups_of(s), (int)s->act);
  return buf;
}

/* Fill from the input geometry with TFLite padding; 0 if the output is empty. */
static int make_shape(fv_conv_shape *s, int dw, int n, int ih, int iw, int ic, int oc_or_dm, int kh, int kw, int sh,
                      int sw, int dh, int dwl, fv_padding pad, fv_act act) {
  memset(s, 0, sizeof *s);
  s->n = n, s->ih = ih, s->iw = iw, s->ic = ic, s->kh = kh, s->kw = kw, s->sh = sh, s->sw = sw, s->dh = dh,
  s->dw = dwl, s->act = act;
  s->dm = dw ? oc_or_dm : 1;
  s->oc = dw ? ic * oc_or_dm : oc_or_dm;
  fv_conv_shape_pad(s, pad);
  return s->oh > 0 && s->ow > 0;
}

static size_t conv_cost(const fv_conv_shape *s, int dw) {
  return (size_t)s->n * s->oh * s->ow * s->oc * s->kh * s->kw * (dw ? 1 : s->ic / groups_of(s));
}

/* Explicit pads (ONNX's) through fv_conv_shape_pad; 0 if the output is empty. */
static int make_explicit(fv_conv_shape *s, int pt, int pl, int pb, int pr) {
  s->pt = pt, s->pl = pl, s->pb = pb, s->pr = pr;
  fv_conv_shape_pad(s, FV_PADDING_EXPLICIT);
  return s->oh > 0 && s->ow > 0;
}

/* 3×3 depthwise without column dilation runs on the SIMD row kernels. Their
 * seams (row ends, rows too narrow for an interior, top and bottom rows with
 * fewer filter rows, stride 2 on odd and even widths, padding 0..2 on either
 * side, channel tails, batch > 1) are walked by this grid: case j of DW_GRID,
 * over widths × heights × column stride × row stride × row dilation × padding. */
#define DW_GRID (8 * 4 * 2 * 2 * 2 * 3)
static void dw_grid_case(int j, conv_case *c) {
  static const int widths[] = {1, 2, 3, 4, 5, 6, 7, 13}, heights[] = {1, 2, 3, 6};
  static const int chans[] = {4, 5, 8, 11, 1, 7, 12, 3, 16}; /* blocks of 4 and every tail */
  fv_conv_shape *s = &c->s;
  int t = j;
  const int iw = widths[t % 8];
  t /= 8;
  const int ih = heights[t % 4];
  t /= 4;
  const int sw = 1 + t % 2, sh = 1 + t / 2 % 2, dh = 1 + t / 4 % 2, mode = t / 8; /* SAME, VALID, explicit */
  const int n = j % 5 == 0 ? 2 : 1, ic = chans[j % 9];
  const fv_act act = (fv_act)(j % 3);
  c->bias = j % 4 != 3;
  if (mode == 1 && make_shape(s, 1, n, ih, iw, ic, 1, 3, 3, sh, sw, dh, 1, FV_PADDING_VALID, act)) return;
  make_shape(s, 1, n, ih, iw, ic, 1, 3, 3, sh, sw, dh, 1, FV_PADDING_SAME, act); /* never empty */
  if (mode == 2) { /* explicit padding, 0..2 before and after on each axis */
    const int pt = j / 11 % 3, pb = j / 13 % 3, pl = j / 2 % 3, pr = j / 5 % 3, effh = 2 * dh + 1;
    if (ih + pt + pb >= effh && iw + pl + pr >= 3) {
      s->pt = pt, s->pl = pl;
      s->oh = (ih + pt + pb - effh) / sh + 1, s->ow = (iw + pl + pr - 3) / sw + 1;
    }
  }
}

/* Fixed awkward shapes first, then random ones. Returns 0 when idx is past the end. */
static int conv_case_at(int dw, int idx, int n_random, conv_case *c) {
  const fv_padding S = FV_PADDING_SAME, V = FV_PADDING_VALID;
  const fv_act N = FV_ACT_NONE, R = FV_ACT_RELU, R6 = FV_ACT_RELU6;
  fv_conv_shape *s = &c->s;
  c->bias = idx % 2 == 0;
  if (!dw) {
    switch (idx) {
      case 0: return make_shape(s, 0, 1, 7, 9, 13, 17, 1, 1, 1, 1, 1, 1, S, R6);      /* pointwise, tails */
      case 1: return make_shape(s, 0, 1, 3, 5, 300, 19, 1, 1, 1, 1, 1, 1, V, N);      /* ic past the GEMM's KC */
      case 2: return make_shape(s, 0, 3, 5, 5, 8, 16, 1, 1, 1, 1, 1, 1, S, R);        /* batch 3, exact tiles */
      case 3: return make_shape(s, 0, 1, 17, 17, 3, 32, 3, 3, 2, 2, 1, 1, S, R6);     /* MobileNet's first conv, odd */
      case 4: return make_shape(s, 0, 3, 29, 29, 3, 32, 3, 3, 2, 2, 1, 1, S, R6);     /* ... several im2col blocks */
      case 5: return make_shape(s, 0, 1, 16, 16, 3, 8, 3, 3, 2, 2, 1, 1, S, N);       /* ... even: pad after only */
      case 6: return make_shape(s, 0, 2, 9, 1, 5, 7, 3, 3, 1, 1, 1, 1, S, R);         /* width 1 */
      case 7: return make_shape(s, 0, 1, 1, 9, 4, 5, 3, 3, 2, 2, 1, 1, S, N);         /* height 1 */
      case 8: return make_shape(s, 0, 1, 1, 9, 4, 5, 1, 3, 1, 1, 1, 1, V, R6);        /* height 1, VALID */
      case 9: return make_shape(s, 0, 1, 9, 8, 5, 6, 3, 3, 1, 1, 2, 2, S, R);         /* dilation 2 */
      case 10: return make_shape(s, 0, 3, 10, 9, 7, 3, 3, 3, 2, 1, 2, 2, V, N);       /* dilation 2, VALID, s2×1 */
      case 11: return make_shape(s, 0, 1, 12, 12, 5, 13, 5, 5, 2, 2, 1, 1, V, R6);    /* 5×5 s2 VALID even */
      case 12: return make_shape(s, 0, 1, 3, 3, 1900, 3, 3, 3, 1, 1, 1, 1, V, N);     /* K > the im2col block */
      case 13: return make_shape(s, 0, 1, 8, 7, 3, 5, 2, 2, 3, 3, 1, 1, S, N);        /* stride > kernel */
      case 14: return make_shape(s, 0, 3, 6, 7, 17, 8, 1, 1, 2, 2, 1, 1, S, R);       /* 1×1 stride 2 */
      case 15: return make_shape(s, 0, 1, 1, 1, 9, 5, 3, 3, 1, 1, 1, 1, S, R6);       /* 1×1 image, 3×3 filter */
      case 16:                                                                         /* asymmetric padding */
        make_shape(s, 0, 1, 6, 5, 5, 7, 3, 3, 1, 2, 1, 1, V, N);
        s->pt = 2, s->pl = 0, s->oh = 7, s->ow = 3; /* 2 rows before, 1 after; 0 before, 2 after */
        return 1;
      /* The SIMD gradient pads K to a multiple of 8 when w fits its stack copy (oc·Kp <= 4096 floats). */
      case 17: return make_shape(s, 0, 2, 20, 22, 3, 32, 3, 3, 2, 2, 1, 1, S, R6);   /* first conv: batch 2, even */
      case 18: return make_shape(s, 0, 2, 3, 2, 3, 32, 3, 3, 2, 2, 1, 1, S, N);      /* ... 3 rows, 2 columns */
      case 19: return make_shape(s, 0, 1, 11, 9, 5, 40, 3, 3, 2, 2, 1, 1, S, R);     /* K 45 padded to 48 */
      case 20: return make_shape(s, 0, 1, 9, 10, 3, 160, 3, 3, 2, 2, 1, 1, S, N);    /* K 27, w too big to pad */
      /* im2col / col2im move a filter row of 9 floats (kw·ic = 9) as vectors away from the edges. */
      case 21: return make_shape(s, 0, 2, 7, 15, 1, 6, 2, 9, 1, 1, 1, 1, S, R);      /* ic 1, 2×9 filter */
      case 22: return make_shape(s, 0, 1, 6, 13, 3, 8, 3, 3, 1, 1, 1, 1, V, N);      /* first conv's filter, s1 VALID */
      case 23: return make_shape(s, 0, 1, 5, 7, 9, 4, 1, 1, 2, 2, 1, 1, S, R6);      /* ic 9, 1×1 stride 2 */
      /* groups (ONNX group): ic and oc split in g; w [oc][kh][kw][ic/g] */
      case 24: make_shape(s, 0, 1, 7, 6, 6, 9, 3, 3, 1, 1, 1, 1, S, R); s->groups = 3; return 1;    /* icg 2, ocg 3 */
      case 25: make_shape(s, 0, 2, 5, 9, 5, 10, 3, 3, 2, 2, 1, 1, S, N); s->groups = 5; return 1;   /* icg 1 (depthwise-like) ×2 */
      case 26: make_shape(s, 0, 1, 6, 7, 16, 8, 1, 1, 1, 1, 1, 1, V, R6); s->groups = 4; return 1;  /* grouped 1×1 */
      case 27: /* grouped 3×3 stride 2, asymmetric explicit pads, channels not a multiple of 4 */
        make_shape(s, 0, 1, 9, 8, 14, 21, 3, 3, 2, 2, 1, 1, V, R);
        s->groups = 7;
        return make_explicit(s, 1, 0, 2, 1);
      case 28: make_shape(s, 0, 1, 9, 9, 8, 64, 3, 3, 1, 1, 2, 2, S, N); s->groups = 2; return 1;   /* dilated, wide groups */
      /* explicit pads through fv_conv_shape_pad: GoogLeNet's 7×7 s2 pad 3, asymmetric, width 1 */
      case 29: make_shape(s, 0, 1, 13, 11, 3, 8, 7, 7, 2, 2, 1, 1, V, R); return make_explicit(s, 3, 3, 3, 3);
      case 30: make_shape(s, 0, 2, 6, 5, 5, 7, 3, 3, 1, 2, 1, 1, V, N); return make_explicit(s, 2, 0, 1, 2);
      case 31: make_shape(s, 0, 1, 5, 1, 3, 4, 3, 3, 1, 1, 1, 1, V, R6); return make_explicit(s, 0, 1, 2, 1);
    }
    idx -= 32;
  } else {
    switch (idx) {
      case 0: return make_shape(s, 1, 1, 9, 9, 8, 1, 3, 3, 1, 1, 1, 1, S, R6);        /* 3×3 s1, interior + ring */
      case 1: return make_shape(s, 1, 1, 14, 14, 17, 1, 3, 3, 2, 2, 1, 1, S, R6);     /* 3×3 s2 even, tail 1 */
      case 2: return make_shape(s, 1, 3, 15, 15, 13, 1, 3, 3, 2, 2, 1, 1, S, N);      /* 3×3 s2 odd, batch 3 */
      case 3: return make_shape(s, 1, 1, 11, 10, 5, 1, 3, 3, 1, 1, 2, 2, V, R);       /* dilation 2 VALID */
      case 4: return make_shape(s, 1, 1, 10, 11, 7, 1, 3, 3, 1, 1, 2, 2, S, N);       /* dilation 2 SAME */
      case 5: return make_shape(s, 1, 1, 7, 6, 3, 2, 3, 3, 1, 1, 1, 1, S, R6);        /* depth multiplier 2 */
      case 6: return make_shape(s, 1, 3, 9, 9, 5, 2, 3, 3, 2, 2, 1, 1, V, N);         /* dm 2, s2, batch 3 */
      case 7: return make_shape(s, 1, 1, 11, 12, 7, 1, 5, 5, 2, 2, 1, 1, S, R);       /* 5×5 s2 */
      case 8: return make_shape(s, 1, 2, 9, 1, 12, 1, 3, 3, 1, 1, 1, 1, S, R6);       /* width 1 */
      case 9: return make_shape(s, 1, 1, 1, 9, 12, 1, 3, 3, 2, 2, 1, 1, S, N);        /* height 1 */
      case 10: return make_shape(s, 1, 1, 1, 70, 4, 1, 1, 33, 1, 1, 1, 1, V, N);      /* wider than the tap lists */
      case 11: return make_shape(s, 1, 1, 14, 14, 32, 1, 3, 3, 1, 1, 1, 1, S, R6);    /* MobileNet-like */
      case 12: return make_shape(s, 1, 1, 14, 14, 16, 1, 3, 3, 2, 2, 1, 1, S, R6);
      case 13: return make_shape(s, 1, 1, 6, 6, 4, 1, 1, 1, 1, 1, 1, 1, S, N);        /* 1×1 depthwise */
      case 14:                                                                         /* padding beyond the filter */
        make_shape(s, 1, 1, 4, 5, 6, 1, 3, 3, 1, 1, 1, 1, V, R);
        s->pt = 3, s->pl = 1, s->oh = 8, s->ow = 4; /* rows 0 and 7 read no input at all */
        return 1;
      case 15: return make_shape(s, 1, 2, 5, 37, 16, 1, 3, 3, 1, 1, 1, 1, S, R6);     /* long rows, 4 blocks */
      case 16: return make_shape(s, 1, 1, 6, 38, 12, 1, 3, 3, 2, 2, 1, 1, S, R6);     /* s2 even: pad after only */
      case 17: return make_shape(s, 1, 1, 7, 37, 12, 1, 3, 3, 2, 2, 1, 1, S, N);      /* s2 odd: pad both sides */
      /* rows wide enough for the SIMD kernels to split them into segments */
      case 18: return make_shape(s, 1, 1, 4, 150, 5, 1, 3, 3, 1, 1, 1, 1, S, R6);
      case 19: return make_shape(s, 1, 1, 3, 131, 8, 1, 3, 3, 1, 1, 1, 1, V, N);
      case 20: return make_shape(s, 1, 1, 5, 151, 5, 1, 3, 3, 2, 2, 1, 1, S, R);
      case 21: return make_shape(s, 1, 1, 4, 130, 4, 1, 3, 3, 2, 2, 1, 1, S, R6);
      case 22: /* ... and padded 2 on both sides */
        make_shape(s, 1, 1, 4, 140, 4, 1, 3, 3, 1, 1, 1, 1, V, N);
        s->pt = 1, s->pl = 2, s->oh = 4, s->ow = 142;
        return 1;
      case 23: /* ... at stride 2 along the row only */
        make_shape(s, 1, 1, 4, 140, 4, 1, 3, 3, 1, 2, 1, 1, V, N);
        s->pt = 2, s->pl = 2, s->oh = 5, s->ow = 71;
        return 1;
      /* explicit pads through fv_conv_shape_pad, larger than the 3×3 row kernels take */
      case 24: make_shape(s, 1, 1, 7, 9, 6, 1, 3, 3, 1, 1, 1, 1, V, R); return make_explicit(s, 0, 3, 2, 4);
      case 25: make_shape(s, 1, 1, 8, 6, 5, 1, 3, 3, 2, 2, 1, 1, V, R6); return make_explicit(s, 2, 0, 0, 1);
    }
    idx -= 26;
    if (idx < DW_GRID) {
      dw_grid_case(idx, c);
      return 1;
    }
    idx -= DW_GRID;
  }
  if (idx >= n_random) return 0;
  for (;;) { /* random, cheap enough for ASan */
    static const int chans[] = {1, 3, 4, 5, 7, 8, 13, 17};
    int n = check_int(0, 3) == 0 ? 3 : 1;
    int ih = check_int(1, 12), iw = check_int(1, 12), ic = chans[check_int(0, 7)];
    int oc = dw ? check_int(1, 2) : chans[check_int(0, 7)];
    int kh = check_int(1, 4), kw = check_int(1, 4);
    int sh = check_int(1, 2), sw = check_int(1, 2), dh = check_int(1, 2), dwl = check_int(1, 2);
    fv_padding pad = check_int(0, 1) ? S : V;
    fv_act act = (fv_act)check_int(0, 2);
    if (!make_shape(s, dw, n, ih, iw, ic, oc, kh, kw, sh, sw, dh, dwl, pad, act)) continue;
    if (check_int(0, 3) == 0) { /* explicit, asymmetric padding, as a PAD op folded in would give */
      const int effh = (kh - 1) * dh + 1, effw = (kw - 1) * dwl + 1;
      const int pb = check_int(0, effh - 1), pr = check_int(0, effw - 1);
      s->pt = check_int(0, effh - 1), s->pl = check_int(0, effw - 1);
      s->oh = (ih + s->pt + pb - effh) / sh + 1, s->ow = (iw + s->pl + pr - effw) / sw + 1;
      if (ih + s->pt + pb < effh || iw + s->pl + pr < effw) continue;
    }
    if (!dw && check_int(0, 3) == 0) { /* groups: a common divisor of ic and oc */
      int g = check_int(2, 4);
      while (g > 1 && (ic % g || oc % g)) g--;
      s->groups = g;
    }
    if (conv_cost(s, dw) > 200000) continue;
    c->bias = check_int(0, 1);
    return 1;
  }
}

/* ---- conv / dwconv forward ------------------------------------------------------ */

static int test_conv_forward(const kernel_pair *kp, int dw) {
  fv_conv_fn *scalar = (fv_conv_fn *)kp->scalar, *simd = (fv_conv_fn *)kp->simd;
  int cases = 0;
  conv_case c;
  for (int idx = 0; conv_case_at(dw, idx, 300, &c); idx++, cases++) {
    const fv_conv_shape *s = &c.s;
    const size_t nx = (size_t)s->n * s->ih * s->iw * s->ic, ny = (size_t)s->n * s->oh * s->ow * s->oc;
    const size_t nw = dw ? (size_t)s->kh * s->kw * s->oc : (size_t)s->oc * s->kh * s->kw * (s->ic / groups_of(s));
    float *x = grand(nx, -1, 1), *w = grand(nw, -1, 1), *b = grand((size_t)s->oc, -1, 1);
    float *y = gbuf(ny), *y2 = gbuf(ny);
    double *ref = (double *)malloc(sizeof(double) * ny), *mag = (double *)malloc(sizeof(double) * ny);
    const float *bb = c.bias ? b : NULL;
    ref_forward(dw, s, x, w, bb, ref, mag);
    for (size_t i = 0; i < ny; i++) ref[i] = act_ref(s->act, ref[i]);

    gnan(y, ny); /* every output must be written */
    scalar(s, x, w, bb, y);
    double r = ratio_ref(y, ref, mag, ny);
    CHECK(r <= 1, "%s__scalar vs reference: ratio %g at %s bias %d", kp->op, r, shape_str(s), c.bias);
    CHECK(guards_ok(y, ny), "%s__scalar wrote outside y at %s", kp->op, shape_str(s));
    if (simd) {
      gnan(y2, ny);
      simd(s, x, w, bb, y2);
      r = ratio_f(y2, y, mag, ny);
      CHECK(r <= 1, "%s__wasmsimd vs scalar: ratio %g at %s bias %d", kp->op, r, shape_str(s), c.bias);
      r = ratio_ref(y2, ref, mag, ny);
      CHECK(r <= 1, "%s__wasmsimd vs reference: ratio %g at %s bias %d", kp->op, r, shape_str(s), c.bias);
      CHECK(guards_ok(y2, ny), "%s__wasmsimd wrote outside y at %s", kp->op, shape_str(s));
      if (!dw && groups_of(s) == 1) { /* weights packed once (as the model does at load) give the very same bytes */
        const int K = s->kh * s->kw * s->ic;
        float *pw = gbuf(fv_conv_pack_floats(K, s->oc)), *y3 = gbuf(ny);
        fv_conv_pack(K, s->oc, w, pw);
        const float *pg = fv_conv_pack_grad_part(K, s->oc, pw);
        int layout = 1;
        for (int o = 0; o < s->oc; o++)
          for (int k = 0; k < K; k++) {
            layout &= pw[((size_t)(o / 8) * K + k) * 8 + o % 8] == w[(size_t)o * K + k];
            layout &= pg[((size_t)(k / 8) * s->oc + o) * 8 + k % 8] == w[(size_t)o * K + k];
          }
        for (int o = s->oc; o % 8; o++) layout &= pw[((size_t)(o / 8) * K) * 8 + o % 8] == 0.0f;
        for (int k = K; k % 8; k++) layout &= pg[((size_t)(k / 8) * s->oc) * 8 + k % 8] == 0.0f;
        CHECK(layout, "fv_conv_pack layout at %s", shape_str(s));
        fv_conv_shape sp = *s;
        sp.wpack = pw;
        gnan(y3, ny);
        simd(&sp, x, w, bb, y3);
        CHECK(!memcmp(y2, y3, ny * sizeof(float)), "%s__wasmsimd with packed weights differs at %s", kp->op,
              shape_str(s));
        gfree(pw), gfree(y3);
      }
    }
    gfree(x), gfree(w), gfree(b), gfree(y), gfree(y2), free(ref), free(mag);
  }
  printf("%s: %d shapes\n", kp->op, cases);
  return cases;
}

/* ---- conv / dwconv gradient ----------------------------------------------------- */

/* <x, g> against <conv(x), dy>, both in double: the adjoint identity. */
static int adjoint_ok(double lhs, double lhs_mag, const float *x, const float *g, size_t nx, double *out_err) {
  double rhs = 0, rhs_mag = 0;
  for (size_t i = 0; i < nx; i++) rhs += (double)x[i] * g[i], rhs_mag += fabs((double)x[i] * g[i]);
  double err = fabs(lhs - rhs) / (1e-5 * (lhs_mag + rhs_mag) + 1e-12);
  *out_err = err;
  return err <= 1;
}

static int test_conv_grad(const kernel_pair *kp, int dw) {
  fv_conv_grad_fn *scalar = (fv_conv_grad_fn *)kp->scalar, *simd = (fv_conv_grad_fn *)kp->simd;
  fv_conv_grad_fn *fns[2] = {scalar, simd};
  static const char *names[2] = {"scalar", "wasmsimd"};
  int cases = 0;
  conv_case c;
  for (int idx = 0; conv_case_at(dw, idx, 300, &c); idx++, cases++) {
    const fv_conv_shape *s = &c.s;
    const size_t nx = (size_t)s->n * s->ih * s->iw * s->ic, ny = (size_t)s->n * s->oh * s->ow * s->oc;
    const size_t nw = dw ? (size_t)s->kh * s->kw * s->oc : (size_t)s->oc * s->kh * s->kw * (s->ic / groups_of(s));
    float *x = grand(nx, -1, 1), *w = grand(nw, -1, 1), *dy = grand(ny, -1, 1), *dx0 = grand(nx, -1, 1);
    float *dx = gbuf(nx), *g = gbuf(nx), *dx_scalar = gbuf(nx);
    double *yref = (double *)malloc(sizeof(double) * ny), *gref = (double *)malloc(sizeof(double) * nx);
    double *mag = (double *)malloc(sizeof(double) * nx);
    ref_forward(dw, s, x, w, NULL, yref, NULL);
    double lhs = 0, lhs_mag = 0;
    for (size_t i = 0; i < ny; i++) lhs += yref[i] * dy[i], lhs_mag += fabs(yref[i] * dy[i]);
    ref_grad(dw, s, dy, w, gref, mag);
    for (size_t i = 0; i < nx; i++) gref[i] += dx0[i], mag[i] += fabs(dx0[i]); /* the expected dx after accumulating */

    for (int v = 0; v < 2; v++) {
      if (!fns[v]) continue;
      /* accumulate: dx starts as dx0 */
      memcpy(dx, dx0, nx * sizeof(float));
      fns[v](s, dy, w, dx);
      double r = ratio_ref(dx, gref, mag, nx);
      CHECK(r <= 1, "%s__%s dx0 + grad vs reference: ratio %g at %s", kp->op, names[v], r, shape_str(s));
      CHECK(guards_ok(dx, nx), "%s__%s wrote outside dx at %s", kp->op, names[v], shape_str(s));
      if (v == 0) memcpy(dx_scalar, dx, nx * sizeof(float));
      else {
        r = ratio_f(dx, dx_scalar, mag, nx);
        CHECK(r <= 1, "%s__wasmsimd vs scalar: ratio %g at %s", kp->op, r, shape_str(s));
        if (!dw && groups_of(s) == 1) { /* weights packed once (as the model does at load): the very same bytes */
          const int K = s->kh * s->kw * s->ic;
          float *pw = gbuf(fv_conv_pack_floats(K, s->oc)), *dx3 = gbuf(nx);
          fv_conv_pack(K, s->oc, w, pw);
          fv_conv_shape sp = *s;
          sp.wpack = pw, sp.wgpack = fv_conv_pack_grad_part(K, s->oc, pw);
          memcpy(dx3, dx0, nx * sizeof(float));
          fns[v](&sp, dy, w, dx3);
          CHECK(!memcmp(dx, dx3, nx * sizeof(float)), "%s__wasmsimd with packed weights differs at %s", kp->op,
                shape_str(s));
          gfree(pw), gfree(dx3);
        }
      }
      /* adjoint: from zero */
      memset(g, 0, nx * sizeof(float));
      fns[v](s, dy, w, g);
      double err;
      CHECK(adjoint_ok(lhs, lhs_mag, x, g, nx, &err), "%s__%s adjoint identity off by %g tolerances at %s", kp->op,
            names[v], err, shape_str(s));
      /* dx_set: dx holds garbage, and comes out as the gradient added to a cleared dx, bit for bit
       * (with weights packed at load too, the engine's case) */
      for (int packed = 0; packed <= (!dw && groups_of(s) == 1); packed++) {
        const int K = s->kh * s->kw * s->ic;
        float *pw = packed ? gbuf(fv_conv_pack_floats(K, s->oc)) : NULL;
        fv_conv_shape ss = *s;
        ss.dx_set = 1;
        if (packed) {
          fv_conv_pack(K, s->oc, w, pw);
          ss.wpack = pw, ss.wgpack = fv_conv_pack_grad_part(K, s->oc, pw);
        }
        memcpy(dx, dx0, nx * sizeof(float));
        fns[v](&ss, dy, w, dx);
        CHECK(!memcmp(dx, g, nx * sizeof(float)), "%s__%s with dx_set%s differs from cleared + grad at %s", kp->op,
              names[v], packed ? " (packed weights)" : "", shape_str(s));
        CHECK(guards_ok(dx, nx), "%s__%s with dx_set wrote outside dx at %s", kp->op, names[v], shape_str(s));
        if (pw) gfree(pw);
      }
    }
    gfree(x), gfree(w), gfree(dy), gfree(dx0), gfree(dx), gfree(g), gfree(dx_scalar), free(yref), free(gref), free(mag);
  }
  printf("%s: %d shapes\n", kp->op, cases);
  return cases;
}

/* ---- fully connected -------------------------------------------------------------- */

static int fc_case_at(int idx, int *n, int *ic, int *oc) {
  static const int fixed[][3] = {{1, 1, 1},    {3, 7, 5},   {5, 17, 13}, {13, 64, 33}, {70, 300, 9},
                                 {3, 64, 1001}, {1, 600, 8}, {4, 8, 8},   {2, 1, 19},   {9, 3, 1},
                                 {16, 17, 13},  {21, 40, 40}, {64, 9, 17}, {19, 1, 3},  {40, 260, 1001}};
  const int nf = (int)(sizeof fixed / sizeof fixed[0]);
  if (idx < nf) {
    *n = fixed[idx][0], *ic = fixed[idx][1], *oc = fixed[idx][2];
    return 1;
  }
  if (idx >= nf + 200) return 0;
  *n = check_int(1, 40), *ic = check_int(1, 40), *oc = check_int(1, 40);
  return 1;
}

static int test_fc_forward(const kernel_pair *kp) {
  fv_fc_fn *scalar = (fv_fc_fn *)kp->scalar, *simd = (fv_fc_fn *)kp->simd;
  int cases = 0, n, ic, oc;
  for (int idx = 0; fc_case_at(idx, &n, &ic, &oc); idx++, cases++) {
    const int bias = idx % 2 == 0;
    const fv_act act = (fv_act)(idx % 3);
    const size_t nx = (size_t)n * ic, ny = (size_t)n * oc;
    float *x = grand(nx, -1, 1), *w = grand((size_t)oc * ic, -1, 1), *b = grand((size_t)oc, -1, 1);
    float *y = gbuf(ny), *y2 = gbuf(ny);
    const float *bb = bias ? b : NULL;
    double *ref = (double *)malloc(sizeof(double) * ny), *mag = (double *)malloc(sizeof(double) * ny);
    for (int i = 0; i < n; i++)
      for (int o = 0; o < oc; o++) {
        double acc = bb ? bb[o] : 0.0, m = fabs(acc);
        for (int k = 0; k < ic; k++) {
          double t = (double)x[(size_t)i * ic + k] * w[(size_t)o * ic + k];
          acc += t, m += fabs(t);
        }
        ref[(size_t)i * oc + o] = act_ref(act, acc), mag[(size_t)i * oc + o] = m;
      }
    gnan(y, ny);
    scalar(n, ic, oc, x, w, bb, act, y);
    double r = ratio_ref(y, ref, mag, ny);
    CHECK(r <= 1, "%s__scalar vs reference: ratio %g at n%d ic%d oc%d act%d bias%d", kp->op, r, n, ic, oc, (int)act,
          bias);
    CHECK(guards_ok(y, ny), "%s__scalar wrote outside y at n%d ic%d oc%d", kp->op, n, ic, oc);
    if (simd) {
      gnan(y2, ny);
      simd(n, ic, oc, x, w, bb, act, y2);
      r = ratio_f(y2, y, mag, ny);
      CHECK(r <= 1, "%s__wasmsimd vs scalar: ratio %g at n%d ic%d oc%d act%d bias%d", kp->op, r, n, ic, oc, (int)act,
            bias);
      r = ratio_ref(y2, ref, mag, ny);
      CHECK(r <= 1, "%s__wasmsimd vs reference: ratio %g at n%d ic%d oc%d", kp->op, r, n, ic, oc);
      CHECK(guards_ok(y2, ny), "%s__wasmsimd wrote outside y at n%d ic%d oc%d", kp->op, n, ic, oc);
    }
    gfree(x), gfree(w), gfree(b), gfree(y), gfree(y2), free(ref), free(mag);
  }
  printf("%s: %d shapes\n", kp->op, cases);
  return cases;
}

static int test_fc_grad(const kernel_pair *kp) {
  fv_fc_grad_fn *fns[2] = {(fv_fc_grad_fn *)kp->scalar, (fv_fc_grad_fn *)kp->simd};
  static const char *names[2] = {"scalar", "wasmsimd"};
  int cases = 0, n, ic, oc;
  for (int idx = 0; fc_case_at(idx, &n, &ic, &oc); idx++, cases++) {
    const size_t nx = (size_t)n * ic, ny = (size_t)n * oc;
    float *x = grand(nx, -1, 1), *w = grand((size_t)oc * ic, -1, 1), *dy = grand(ny, -1, 1), *dx0 = grand(nx, -1, 1);
    float *dx = gbuf(nx), *g = gbuf(nx), *dx_scalar = gbuf(nx);
    double *gref = (double *)malloc(sizeof(double) * nx), *mag = (double *)malloc(sizeof(double) * nx);
    double lhs = 0, lhs_mag = 0;
    for (int i = 0; i < n; i++)
      for (int o = 0; o < oc; o++) {
        double acc = 0;
        for (int k = 0; k < ic; k++) acc += (double)x[(size_t)i * ic + k] * w[(size_t)o * ic + k];
        lhs += acc * dy[(size_t)i * oc + o], lhs_mag += fabs(acc * dy[(size_t)i * oc + o]);
      }
    for (int i = 0; i < n; i++)
      for (int k = 0; k < ic; k++) {
        double acc = dx0[(size_t)i * ic + k], m = fabs(acc);
        for (int o = 0; o < oc; o++) {
          double t = (double)dy[(size_t)i * oc + o] * w[(size_t)o * ic + k];
          acc += t, m += fabs(t);
        }
        gref[(size_t)i * ic + k] = acc, mag[(size_t)i * ic + k] = m;
      }
    for (int v = 0; v < 2; v++) {
      if (!fns[v]) continue;
      memcpy(dx, dx0, nx * sizeof(float));
      fns[v](n, ic, oc, dy, w, dx);
      double r = ratio_ref(dx, gref, mag, nx);
      CHECK(r <= 1, "%s__%s dx0 + grad vs reference: ratio %g at n%d ic%d oc%d", kp->op, names[v], r, n, ic, oc);
      CHECK(guards_ok(dx, nx), "%s__%s wrote outside dx at n%d ic%d oc%d", kp->op, names[v], n, ic, oc);
      if (v == 0) memcpy(dx_scalar, dx, nx * sizeof(float));
      else {
        r = ratio_f(dx, dx_scalar, mag, nx);
        CHECK(r <= 1, "%s__wasmsimd vs scalar: ratio %g at n%d ic%d oc%d", kp->op, r, n, ic, oc);
      }
      memset(g, 0, nx * sizeof(float));
      fns[v](n, ic, oc, dy, w, g);
      double err;
      CHECK(adjoint_ok(lhs, lhs_mag, x, g, nx, &err), "%s__%s adjoint identity off by %g tolerances at n%d ic%d oc%d",
            kp->op, names[v], err, n, ic, oc);
    }
    gfree(x), gfree(w), gfree(dy), gfree(dx0), gfree(dx), gfree(g), gfree(dx_scalar), free(gref), free(mag);
  }
  printf("%s: %d shapes\n", kp->op, cases);
  return cases;
}

/* ---- padding ----------------------------------------------------------------------- */

static void test_padding(void) {
  /* Known values: MobileNet's layers and TFLite's docs. */
  static const struct {
    int in, k, stride, dil, same, out, before;
  } known[] = {
      {224, 3, 2, 1, 1, 112, 0}, /* first conv: total 1, the odd pixel after */
      {112, 3, 1, 1, 1, 112, 1}, {7, 3, 2, 1, 1, 4, 1}, {14, 1, 1, 1, 1, 14, 0}, {5, 3, 1, 2, 1, 5, 2},
      {224, 3, 2, 1, 0, 111, 0}, {7, 3, 1, 1, 0, 5, 0},  {8, 3, 1, 2, 0, 4, 0},  {2, 3, 1, 1, 0, 0, 0},
      {1, 3, 2, 1, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    fv_conv_shape s = {0};
    s.ih = s.iw = known[i].in, s.kh = s.kw = known[i].k, s.sh = s.sw = known[i].stride, s.dh = s.dw = known[i].dil;
    fv_conv_shape_pad(&s, known[i].same ? FV_PADDING_SAME : FV_PADDING_VALID);
    CHECK(s.oh == known[i].out && s.ow == known[i].out && s.pt == known[i].before && s.pl == known[i].before,
          "pad in %d k %d s %d d %d %s: got out %d before %d, want %d %d", known[i].in, known[i].k, known[i].stride,
          known[i].dil, known[i].same ? "SAME" : "VALID", s.oh, s.pt, known[i].out, known[i].before);
  }
  /* The formulas, restated in floating point, over a grid (H and W independently). */
  for (int in = 1; in <= 20; in++)
    for (int k = 1; k <= 5; k++)
      for (int st = 1; st <= 3; st++)
        for (int d = 1; d <= 2; d++)
          for (int same = 0; same <= 1; same++) {
            const int eff = (k - 1) * d + 1;
            int out = same ? (int)ceil((double)in / st) : (int)ceil((double)(in - eff + 1) / st);
            if (out < 0) out = 0;
            int total = (out - 1) * st + eff - in;
            int before = out > 0 && total > 0 ? total / 2 : 0;
            fv_conv_shape s = {0};
            s.ih = in, s.iw = in + 1, s.kh = k, s.kw = 1, s.sh = st, s.sw = 1, s.dh = d, s.dw = 1;
            fv_conv_shape_pad(&s, same ? FV_PADDING_SAME : FV_PADDING_VALID);
            CHECK(s.oh == out && s.pt == before, "pad in %d k %d s %d d %d same %d: got %d/%d want %d/%d", in, k, st, d,
                  same, s.oh, s.pt, out, before);
            CHECK(s.ow == in + 1 && s.pl == 0, "pad: 1×1 width axis changed: %d %d", s.ow, s.pl);
            /* VALID never pads; SAME keeps every tap of the last output inside input + padding */
            if (!same) CHECK(before == 0 || out == 0, "VALID padded");
          }

  /* Explicit pads and ceil mode: PyTorch 1.13's max_pool2d output sizes (in, k, stride, pad on both sides,
   * ceil_mode → out), GoogLeNet's pools among them (112 → 56 → 28 → 14 → 7 with ceil mode). */
  static const struct {
    int in, k, stride, pad, ceil, out;
  } torch_sizes[] = {
      {112, 3, 2, 0, 0, 55}, {112, 3, 2, 0, 1, 56}, {56, 3, 2, 0, 1, 28}, {28, 3, 2, 0, 1, 14}, {14, 3, 2, 0, 0, 6},
      {14, 3, 2, 0, 1, 7},   {6, 3, 2, 1, 0, 3},    {6, 3, 2, 1, 1, 4},   {7, 3, 2, 1, 1, 4},   {5, 2, 2, 0, 1, 3},
      {5, 3, 3, 1, 1, 2},    {4, 3, 3, 1, 1, 2},    {1, 3, 2, 1, 1, 1},   {10, 4, 3, 2, 1, 4},  {8, 2, 3, 1, 0, 3},
      {8, 2, 3, 1, 1, 3},    {9, 5, 4, 2, 1, 3},
  };
  for (size_t i = 0; i < sizeof torch_sizes / sizeof torch_sizes[0]; i++) {
    fv_conv_shape s = {0};
    s.ih = s.iw = torch_sizes[i].in, s.kh = s.kw = torch_sizes[i].k, s.sh = s.sw = torch_sizes[i].stride;
    s.dh = s.dw = 1, s.ceil_mode = torch_sizes[i].ceil;
    s.pt = s.pl = s.pb = s.pr = torch_sizes[i].pad;
    fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
    CHECK(s.oh == torch_sizes[i].out && s.ow == torch_sizes[i].out && s.pt == torch_sizes[i].pad,
          "explicit in %d k %d s %d pad %d ceil %d: out %d, PyTorch %d", torch_sizes[i].in, torch_sizes[i].k,
          torch_sizes[i].stride, torch_sizes[i].pad, torch_sizes[i].ceil, s.oh, torch_sizes[i].out);
  }
  /* ... and by enumeration over a grid of asymmetric pads: without ceil mode output o exists iff its window
   * ends inside the trailing pad; with ceil mode iff it starts before the last whole window's start plus a
   * stride (o·s < span + s) and inside the input or the leading pad (o·s − before < in). */
  for (int in = 1; in <= 12; in++)
    for (int k = 1; k <= 4; k++)
      for (int st = 1; st <= 3; st++)
        for (int d = 1; d <= 2; d++)
          for (int before = 0; before <= 3; before++)
            for (int after = 0; after <= 3; after++)
              for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++) {
                const int eff = (k - 1) * d + 1, span = in + before + after - eff;
                int out = 0;
                for (int o = 0; o < 64; o++) {
                  int fits = ceil_mode ? o * st < span + st : o * st + eff <= in + before + after;
                  if (span >= 0 && fits && (!ceil_mode || o * st - before < in)) out = o + 1;
                }
                fv_conv_shape s = {0};
                s.ih = in, s.iw = 1, s.kh = k, s.kw = 1, s.sh = st, s.sw = 1, s.dh = d, s.dw = 1;
                s.pt = before, s.pb = after, s.ceil_mode = ceil_mode;
                fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
                CHECK(s.oh == out && s.pt == before && s.pb == after && s.ow == 1,
                      "explicit in %d k %d s %d d %d pads %d,%d ceil %d: out %d, want %d", in, k, st, d, before, after,
                      ceil_mode, s.oh, out);
              }
}

/* ---- dispatch ------------------------------------------------------------------------ */

/* The dispatching names follow fv_kernels_set_simd bit for bit. */
static void test_dispatch(void) {
  fv_conv_shape s;
  make_shape(&s, 0, 1, 9, 9, 5, 6, 3, 3, 2, 2, 1, 1, FV_PADDING_SAME, FV_ACT_RELU6);
  fv_conv_shape d;
  make_shape(&d, 1, 1, 9, 9, 6, 1, 3, 3, 1, 1, 1, 1, FV_PADDING_SAME, FV_ACT_RELU);
  const size_t nx = 9 * 9 * 6, ny = 5 * 5 * 6, nw = 6 * 9 * 6;
  float *x = grand(nx, -1, 1), *w = grand(nw, -1, 1), *b = grand(8, -1, 1), *dy = grand(nx, -1, 1);
  float *a = gbuf(nx), *e = gbuf(nx);
  for (int on = 0; on <= 1; on++) {
    fv_kernels_set_simd(on);
    const int simd = fv_kernels_simd_enabled();
#ifdef __wasm_simd128__
    CHECK(simd == on, "fv_kernels_set_simd(%d) not honoured", on);
#define REF(op) (simd ? fv_f32_##op##__wasmsimd : fv_f32_##op##__scalar)
#else
    CHECK(!simd, "SIMD enabled without SIMD kernels");
#define REF(op) fv_f32_##op##__scalar
#endif
    fv_conv2d(&s, x, w, b, a), REF(conv2d)(&s, x, w, b, e);
    CHECK(!memcmp(a, e, ny * sizeof(float)), "fv_conv2d does not dispatch (simd %d)", simd);
    memset(a, 0, nx * sizeof(float)), memset(e, 0, nx * sizeof(float));
    fv_conv2d_grad(&s, dy, w, a), REF(conv2d_grad)(&s, dy, w, e);
    CHECK(!memcmp(a, e, nx * sizeof(float)), "fv_conv2d_grad does not dispatch (simd %d)", simd);
    fv_dwconv2d(&d, x, w, b, a), REF(dwconv2d)(&d, x, w, b, e);
    CHECK(!memcmp(a, e, nx * sizeof(float)), "fv_dwconv2d does not dispatch (simd %d)", simd);
    memset(a, 0, nx * sizeof(float)), memset(e, 0, nx * sizeof(float));
    fv_dwconv2d_grad(&d, dy, w, a), REF(dwconv2d_grad)(&d, dy, w, e);
    CHECK(!memcmp(a, e, nx * sizeof(float)), "fv_dwconv2d_grad does not dispatch (simd %d)", simd);
    fv_fc(7, 13, 6, x, w, b, FV_ACT_RELU, a), REF(fc)(7, 13, 6, x, w, b, FV_ACT_RELU, e);
    CHECK(!memcmp(a, e, 7 * 6 * sizeof(float)), "fv_fc does not dispatch (simd %d)", simd);
    memset(a, 0, nx * sizeof(float)), memset(e, 0, nx * sizeof(float));
    fv_fc_grad(7, 13, 6, dy, w, a), REF(fc_grad)(7, 13, 6, dy, w, e);
    CHECK(!memcmp(a, e, 7 * 13 * sizeof(float)), "fv_fc_grad does not dispatch (simd %d)", simd);
#undef REF
  }
  fv_kernels_set_simd(1);
  gfree(x), gfree(w), gfree(b), gfree(dy), gfree(a), gfree(e);
}

static int run(const kernel_pair *kp) {
  CHECK(kp->scalar != NULL, "%s: no scalar kernel", kp->op);
#ifdef __wasm_simd128__
  CHECK(kp->simd != NULL, "%s: no SIMD kernel", kp->op);
#endif
  if (!strcmp(kp->op, "conv2d")) return test_conv_forward(kp, 0);
  if (!strcmp(kp->op, "dwconv2d")) return test_conv_forward(kp, 1);
  if (!strcmp(kp->op, "conv2d_grad")) return test_conv_grad(kp, 0);
  if (!strcmp(kp->op, "dwconv2d_grad")) return test_conv_grad(kp, 1);
  if (!strcmp(kp->op, "fc")) return test_fc_forward(kp);
  if (!strcmp(kp->op, "fc_grad")) return test_fc_grad(kp);
  return 0;
}

int main(void) {
  check_seed(20240611);
  test_padding();
  int mine = for_my_kernels("kernels_conv", run);
  CHECK(mine >= 6, "only %d convolution-family kernels listed in kernels.inc", mine);
  test_dispatch();
  return check_summary("kernels_conv");
}
