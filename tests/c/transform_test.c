/* transform_test.c — each transform stage against an exact small reference
 * (hand-built pad, exact crops, identities, a 90-degree turn as a permutation,
 * naive double-precision bilinear resize and rotation), and every stage's and
 * the whole chain's backward by the adjoint identity <T x - T 0, y> = <x, T^T y>
 * for fixed draws, plus finite differences of a quadratic loss. */
#include "check.h"

#include "transform.h"

static const double kPi = 3.14159265358979323846;

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

static fv_transform *make(const fv_transform_opts *o) {
  fv_error err = {0, ""};
  fv_transform *t = fv_transform_new(o, &err);
  CHECK(t != NULL, "fv_transform_new: %s", err.msg);
  return t;
}

static float *fbuf(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }

/* ---- naive double references ------------------------------------------------------------ */
/* Half-pixel bilinear resize: src = (d + 0.5) * in / out - 0.5, clamped to [0, in-1]. */
static void src_index(int d, int in, int out, int *i0, int *i1, double *t) {
  double s = (d + 0.5) * in / out - 0.5;
  if (s < 0) s = 0;
  if (s > in - 1) s = in - 1;
  *i0 = (int)floor(s);
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
  *t = s - *i0;
}

static void naive_resize(const float *in, int ih, int iw, double *out, int oh, int ow) {
  for (int y = 0; y < oh; y++) {
    int y0, y1;
    double ty;
    src_index(y, ih, oh, &y0, &y1, &ty);
    for (int x = 0; x < ow; x++) {
      int x0, x1;
      double tx;
      src_index(x, iw, ow, &x0, &x1, &tx);
      for (int c = 0; c < 3; c++) {
        double a = in[(y0 * iw + x0) * 3 + c], b = in[(y0 * iw + x1) * 3 + c];
        double d = in[(y1 * iw + x0) * 3 + c], e = in[(y1 * iw + x1) * 3 + c];
        out[(y * ow + x) * 3 + c] = (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * d + tx * e);
      }
    }
  }
}

/* Bilinear rotation about ((w-1)/2, (h-1)/2), tfa's mapping; outside reads fill. */
static void naive_rotate(const float *in, int h, int w, double deg, double fill, double *out) {
  double a = deg * kPi / 180, c = cos(a), s = sin(a), cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double u = c * (x - cx) - s * (y - cy) + cx, v = s * (x - cx) + c * (y - cy) + cy;
      int x0 = (int)floor(u), y0 = (int)floor(v);
      double tx = u - x0, ty = v - y0;
      for (int ch = 0; ch < 3; ch++) {
        double acc = 0;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++) {
            int xx = x0 + dx, yy = y0 + dy;
            double wgt = (dx ? tx : 1 - tx) * (dy ? ty : 1 - ty);
            acc += wgt * ((xx >= 0 && xx < w && yy >= 0 && yy < h) ? in[(yy * w + xx) * 3 + ch] : fill);
          }
        out[(y * w + x) * 3 + ch] = acc;
      }
    }
}

static double max_err(const float *a, const double *b, size_t n) {
  double e = 0;
  for (size_t i = 0; i < n; i++)
    if (!(fabs(a[i] - b[i]) <= e)) e = fabs(a[i] - b[i]);
  return e;
}

/* ---- options --------------------------------------------------------------------------- */
static void test_options(void) {
  fv_transform_opts o;
  fv_error err = {0, ""};
  fv_transform_opts_standard(&o, 2, 128, 128, 224, 224);
  CHECK(o.n_stages == 5, "standard has 5 stages");
  CHECK(o.stages[0].kind == FV_TF_PAD && o.stages[0].amount == 12 && o.stages[0].value == 0.5f, "pad(12, .5)");
  CHECK(o.stages[1].kind == FV_TF_JITTER && o.stages[1].amount == 8, "jitter(8)");
  CHECK(o.stages[2].kind == FV_TF_SCALE && o.stages[2].n_choices == 11 &&
            o.stages[2].choices[0] == 0.9f && o.stages[2].choices[5] == 1.0f &&
            o.stages[2].choices[10] == 1.1f && o.stages[2].choices[6] == 1.02f,
        "scales 1 + (i-5)/50");
  int zeros = 0, ok = o.stages[3].kind == FV_TF_ROTATE && o.stages[3].n_choices == 26 && o.stages[3].value == 0;
  for (int i = 0; i < 26; i++) zeros += o.stages[3].choices[i] == 0;
  for (int i = 0; i < 21; i++) ok &= o.stages[3].choices[i] == (float)(i - 10);
  CHECK(ok && zeros == 6, "angles -10..10 and five more zeros");
  CHECK(o.stages[4].kind == FV_TF_JITTER && o.stages[4].amount == 4, "jitter(4)");
  fv_transform *t = make(&o);
  fv_transform_free(t);

  fv_transform_opts_init(&o, 1, 8, 8, 8, 8);
  fv_transform_opts_add_jitter(&o, 8);
  CHECK(fv_transform_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "jitter as large as the image");
  fv_transform_opts_init(&o, 1, 8, 8, 8, 8);
  float bad = 0;
  fv_transform_opts_add_scale(&o, 1, &bad);
  err.code = 0;
  CHECK(fv_transform_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "scale 0 refused");
  fv_transform_opts_init(&o, 1, 8, 8, 8, 8);
  float tiny = 0.1f;
  fv_transform_opts_add_scale(&o, 1, &tiny); /* 8 * 0.1 -> 0 pixels */
  err.code = 0;
  CHECK(fv_transform_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "empty image refused");
  fv_transform_opts_init(&o, 1, 0, 8, 8, 8);
  err.code = 0;
  CHECK(fv_transform_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "zero size refused");
  fv_transform_opts_init(&o, 1, 8, 8, 8, 8);
  o.n_stages = 1;
  o.stages[0].kind = 99;
  err.code = 0;
  CHECK(fv_transform_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "unknown stage refused");
  fv_transform_opts_init(&o, 1, 8, 8, 8, 8);
  float nan = NAN;
  fv_transform_opts_add_rotate(&o, 1, &nan, 0);
  err.code = 0;
  CHECK(fv_transform_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "NaN angle refused");
  fv_transform_opts_init(&o, 1, 8, 8, 8, 8);
  int added = 0;
  for (int i = 0; i < FV_TF_MAX_STAGES + 3; i++) added += fv_transform_opts_add_pad(&o, 1, 0) == FV_OK;
  CHECK(added == FV_TF_MAX_STAGES, "stage list full at %d", added);
  CHECK(fv_transform_new(NULL, NULL) == NULL, "NULL options refused");
}

/* ---- single stages against exact references ---------------------------------------------- */
static void test_pad(int h, int w) {
  fv_transform_opts o;
  fv_transform_opts_init(&o, 2, h, w, h + 2, w + 2);
  fv_transform_opts_add_pad(&o, 1, 0.5f);
  fv_transform *t = make(&o);
  if (!t) return;
  size_t ni = (size_t)2 * h * w * 3, no = (size_t)2 * (h + 2) * (w + 2) * 3;
  float *in = fbuf(ni), *out = fbuf(no);
  check_fill(in, ni, -1, 1);
  fv_transform_forward(t, in, out);
  int ok = 1;
  for (int b = 0; b < 2; b++)
    for (int y = 0; y < h + 2; y++)
      for (int x = 0; x < w + 2; x++)
        for (int c = 0; c < 3; c++) {
          int inside = y >= 1 && y <= h && x >= 1 && x <= w;
          float want = inside ? in[((b * h + y - 1) * w + x - 1) * 3 + c] : 0.5f;
          ok &= out[((b * (h + 2) + y) * (w + 2) + x) * 3 + c] == want;
        }
  CHECK(ok, "pad 1 of %dx%d exact", h, w);
  free(in);
  free(out);
  fv_transform_free(t);
}

static void test_jitter(int h, int w, int d) {
  fv_transform_opts o;
  fv_transform_opts_init(&o, 3, h, w, h - d, w - d);
  fv_transform_opts_add_jitter(&o, d);
  fv_transform *t = make(&o);
  if (!t) return;
  size_t ni = (size_t)3 * h * w * 3, no = (size_t)3 * (h - d) * (w - d) * 3;
  float *in = fbuf(ni), *out = fbuf(no);
  check_fill(in, ni, -1, 1);
  fv_rng r;
  fv_rng_seed(&r, 77);
  int seen_y[64] = {0}, seen_x[64] = {0}, ok = 1, differ = 0;
  for (int rep = 0; rep < 60; rep++) {
    fv_transform_sample(t, &r);
    fv_transform_forward(t, in, out);
    for (int b = 0; b < 3; b++) {
      const fv_tf_draw *dr = fv_transform_draw(t, b, 0);
      ok &= dr->oy >= 0 && dr->oy <= d && dr->ox >= 0 && dr->ox <= d && dr->h == h - d && dr->w == w - d;
      if (dr->oy < 64) seen_y[dr->oy] = 1;
      if (dr->ox < 64) seen_x[dr->ox] = 1;
      if (b && (dr->oy != fv_transform_draw(t, 0, 0)->oy || dr->ox != fv_transform_draw(t, 0, 0)->ox)) differ = 1;
      for (int y = 0; y < h - d; y++)
        for (int x = 0; x < w - d; x++)
          for (int c = 0; c < 3; c++)
            ok &= out[((b * (h - d) + y) * (w - d) + x) * 3 + c] ==
                  in[((b * h + y + dr->oy) * w + x + dr->ox) * 3 + c];
    }
  }
  int all = 1;
  for (int k = 0; k <= d && k < 64; k++) all &= seen_y[k] && seen_x[k];
  CHECK(ok, "jitter %d of %dx%d is the drawn crop", d, h, w);
  CHECK(all, "jitter %d draws every offset 0..%d", d, d);
  CHECK(differ, "jitter draws differ between images of a batch");
  free(in);
  free(out);
  fv_transform_free(t);
}

/* A scale stage with one factor, out size = its size, so the final resize is a copy. */
static void test_scale(int h, int w, float s) {
  int sh = (int)(s * (float)h), sw = (int)(s * (float)w);
  fv_transform_opts o;
  fv_transform_opts_init(&o, 1, h, w, sh, sw);
  fv_transform_opts_add_scale(&o, 1, &s);
  fv_transform *t = make(&o);
  if (!t) return;
  size_t ni = (size_t)h * w * 3, no = (size_t)sh * sw * 3;
  float *in = fbuf(ni), *out = fbuf(no);
  double *ref = (double *)malloc(no * sizeof(double));
  check_fill(in, ni, -1, 1);
  fv_transform_forward(t, in, out);
  CHECK(fv_transform_draw(t, 0, 0)->h == sh && fv_transform_draw(t, 0, 0)->w == sw, "scale size");
  if (s == 1.0f) {
    CHECK(memcmp(in, out, ni * sizeof(float)) == 0, "scale 1 of %dx%d is the identity", h, w);
  } else {
    naive_resize(in, h, w, ref, sh, sw);
    double e = max_err(out, ref, no);
    CHECK(e < 1e-5, "scale %g of %dx%d -> %dx%d vs naive bilinear: %g", (double)s, h, w, sh, sw, e);
  }
  free(in);
  free(out);
  free(ref);
  fv_transform_free(t);
}

/* The final resize alone (no stages), down and up, odd and even. */
static void test_resize(int ih, int iw, int oh, int ow) {
  fv_transform_opts o;
  fv_transform_opts_init(&o, 2, ih, iw, oh, ow);
  fv_transform *t = make(&o);
  if (!t) return;
  size_t ni = (size_t)ih * iw * 3, no = (size_t)oh * ow * 3;
  float *in = fbuf(2 * ni), *out = fbuf(2 * no);
  double *ref = (double *)malloc(no * sizeof(double));
  check_fill(in, 2 * ni, -1, 1);
  fv_transform_forward(t, in, out);
  double e = 0;
  for (int b = 0; b < 2; b++) {
    naive_resize(in + b * ni, ih, iw, ref, oh, ow);
    double eb = max_err(out + b * no, ref, no);
    if (eb > e) e = eb;
  }
  /* float source coordinates: their rounding grows with the size */
  CHECK(e < 1e-5 + 1e-7 * (ih > iw ? ih : iw), "resize %dx%d -> %dx%d vs naive bilinear: %g", ih, iw, oh, ow, e);
  if (ih == oh && iw == ow) CHECK(memcmp(in, out, 2 * ni * sizeof(float)) == 0, "same-size resize is a copy");
  free(in);
  free(out);
  free(ref);
  fv_transform_free(t);
}

static void test_rotate(int h, int w, float deg, float fill) {
  fv_transform_opts o;
  fv_transform_opts_init(&o, 1, h, w, h, w);
  fv_transform_opts_add_rotate(&o, 1, &deg, fill);
  fv_transform *t = make(&o);
  if (!t) return;
  size_t n = (size_t)h * w * 3;
  float *in = fbuf(n), *out = fbuf(n);
  double *ref = (double *)malloc(n * sizeof(double));
  check_fill(in, n, -1, 1);
  fv_transform_forward(t, in, out);
  if (deg == 0) {
    CHECK(memcmp(in, out, n * sizeof(float)) == 0, "rotate 0 of %dx%d is the identity", h, w);
  } else if (deg == 90 && h == w) {
    /* about the pixel-centre grid: out(y, x) = in(x, n-1-y), exactly */
    int ok = 1;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++) ok &= out[(y * w + x) * 3 + c] == in[(x * w + (w - 1 - y)) * 3 + c];
    CHECK(ok, "rotate 90 of %dx%d is an exact permutation", h, w);
  } else if (deg == 180) {
    int ok = 1;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
          ok &= out[(y * w + x) * 3 + c] == in[((h - 1 - y) * w + (w - 1 - x)) * 3 + c];
    CHECK(ok, "rotate 180 of %dx%d is an exact permutation", h, w);
  } else {
    naive_rotate(in, h, w, deg, fill, ref);
    double e = max_err(out, ref, n);
    CHECK(e < 2e-5, "rotate %g of %dx%d (fill %g) vs naive bilinear: %g", (double)deg, h, w, (double)fill, e);
  }
  free(in);
  free(out);
  free(ref);
  fv_transform_free(t);
}

/* ---- adjoints ------------------------------------------------------------------------------
 * For fixed draws T x = L x + b (b from the pad / rotate fill): check
 * <T x - T 0, y> = <x, T^T y> over several draws. backward must overwrite din,
 * so din starts as garbage. */
static void check_adjoint(const fv_transform_opts *o, const char *what, int draws) {
  fv_transform *t = make(o);
  if (!t) return;
  size_t ni = (size_t)o->n * o->in_h * o->in_w * 3, no = (size_t)o->n * o->out_h * o->out_w * 3;
  float *x = fbuf(ni), *zero = fbuf(ni), *tx = fbuf(no), *t0 = fbuf(no), *y = fbuf(no), *ty = fbuf(ni);
  fv_rng r;
  fv_rng_seed(&r, 1234);
  double worst = 0;
  for (int k = 0; k < draws; k++) {
    fv_transform_sample(t, &r);
    check_fill(x, ni, -1, 1);
    check_fill(y, no, -1, 1);
    check_fill(ty, ni, -100, 100);
    fv_transform_forward(t, x, tx);
    fv_transform_forward(t, zero, t0);
    fv_transform_backward(t, y, ty);
    for (size_t i = 0; i < no; i++) tx[i] -= t0[i];
    double l = dot(tx, y, no), rr = dot(x, ty, ni);
    double mag = sqrt(dot(tx, tx, no) * dot(y, y, no)) + sqrt(dot(x, x, ni) * dot(ty, ty, ni)) + 1e-30;
    double e = fabs(l - rr) / mag;
    if (e > worst) worst = e;
  }
  CHECK(worst < 1e-6, "%s: adjoint identity, worst relative gap %g", what, worst);
  free(x);
  free(zero);
  free(tx);
  free(t0);
  free(y);
  free(ty);
  fv_transform_free(t);
}

static void test_adjoints(void) {
  fv_transform_opts o;
  fv_transform_opts_init(&o, 2, 7, 6, 11, 10);
  fv_transform_opts_add_pad(&o, 2, 0.5f);
  check_adjoint(&o, "pad 2 (7x6)", 2);

  fv_transform_opts_init(&o, 2, 9, 8, 6, 5);
  fv_transform_opts_add_jitter(&o, 3);
  check_adjoint(&o, "jitter 3 (9x8)", 8);

  const float scales[] = {0.9f, 0.95f, 1.0f, 1.05f, 1.1f, 0.5f, 2.0f};
  fv_transform_opts_init(&o, 3, 13, 10, 12, 9);
  fv_transform_opts_add_scale(&o, 7, scales);
  check_adjoint(&o, "scale (13x10, final resize 12x9)", 8);

  const float angles[] = {-10, -3.5f, 0, 7, 10, 90, 45, 180};
  fv_transform_opts_init(&o, 2, 9, 12, 9, 12);
  fv_transform_opts_add_rotate(&o, 8, angles, 0.5f);
  check_adjoint(&o, "rotate (9x12, fill 0.5)", 10);

  fv_transform_opts_init(&o, 2, 7, 9, 16, 13);
  check_adjoint(&o, "final resize up 7x9 -> 16x13", 1);
  fv_transform_opts_init(&o, 2, 17, 14, 6, 9);
  check_adjoint(&o, "final resize down 17x14 -> 6x9", 1);

  fv_transform_opts_standard(&o, 3, 32, 30, 27, 29);
  check_adjoint(&o, "standard chain 32x30 -> 27x29", 12);
  fv_transform_opts_standard(&o, 1, 33, 33, 33, 33);
  check_adjoint(&o, "standard chain 33x33", 12);
}

/* ---- SIMD twins against their scalar references ------------------------------------------------
 * In wasm, resize and rotate (forward and adjoint) have 4-lane twins (transform.c) that do the
 * scalar code's float operations per channel in the same order, so the whole chain must give
 * the same bits with SIMD on and off, draw by draw: forward and backward, on sizes with pixel
 * tails, fills, up- and down-sampling. Natively both runs are scalar. */
static void simd_vs_scalar(const fv_transform_opts *o, const char *what, int draws) {
  fv_transform *t = make(o);
  if (!t) return;
  size_t ni = (size_t)o->n * o->in_h * o->in_w * 3, no = (size_t)o->n * o->out_h * o->out_w * 3;
  float *x = fbuf(ni), *y = fbuf(no), *fw[2] = {fbuf(no), fbuf(no)}, *bw[2] = {fbuf(ni), fbuf(ni)};
  fv_rng r;
  fv_rng_seed(&r, 77);
  int fwd_bad = 0, bwd_bad = 0;
  for (int k = 0; k < draws; k++) {
    fv_transform_sample(t, &r);
    check_fill(x, ni, -1, 1);
    check_fill(y, no, -1, 1);
    for (int simd = 0; simd < 2; simd++) {
      fv_kernels_set_simd(simd);
      fv_transform_forward(t, x, fw[simd]);
      fv_transform_backward(t, y, bw[simd]);
    }
    fwd_bad += memcmp(fw[0], fw[1], no * sizeof(float)) != 0;
    bwd_bad += memcmp(bw[0], bw[1], ni * sizeof(float)) != 0;
  }
  fv_kernels_set_simd(1);
  CHECK(fwd_bad == 0, "%s: SIMD forward differs from scalar in %d of %d draws", what, fwd_bad, draws);
  CHECK(bwd_bad == 0, "%s: SIMD backward differs from scalar in %d of %d draws", what, bwd_bad, draws);
  free(x);
  free(y);
  for (int i = 0; i < 2; i++) {
    free(fw[i]);
    free(bw[i]);
  }
  fv_transform_free(t);
}

static void test_simd(void) {
  fv_transform_opts o;
  fv_transform_opts_standard(&o, 2, 128, 128, 128, 128);
  simd_vs_scalar(&o, "standard chain 128x128", 6);
  fv_transform_opts_standard(&o, 3, 37, 30, 29, 35);
  simd_vs_scalar(&o, "standard chain 37x30 -> 29x35", 12);
  const float angles[] = {-10, -3.5f, 7, 10, 90, 45, 180, 33};
  fv_transform_opts_init(&o, 2, 9, 13, 9, 13);
  fv_transform_opts_add_rotate(&o, 8, angles, 0.5f);
  simd_vs_scalar(&o, "rotate 9x13, fill 0.5", 16);
  fv_transform_opts_init(&o, 1, 2, 3, 2, 3);
  fv_transform_opts_add_rotate(&o, 8, angles, 0.25f);
  simd_vs_scalar(&o, "rotate 2x3", 16);
  const float scales[] = {0.9f, 1.1f, 0.5f, 2.0f, 1.3f};
  fv_transform_opts_init(&o, 2, 11, 14, 16, 7);
  fv_transform_opts_add_scale(&o, 5, scales);
  simd_vs_scalar(&o, "scale 11x14, final resize 16x7", 10);
  fv_transform_opts_init(&o, 2, 5, 6, 1, 2);
  simd_vs_scalar(&o, "final resize 5x6 -> 1x2", 1);
  fv_transform_opts_init(&o, 2, 1, 2, 6, 5);
  simd_vs_scalar(&o, "final resize 1x2 -> 6x5", 1);
}

/* ---- the whole chain by finite differences of L = sum w * T(x)^2 --------------------------- */
static void test_fd(void) {
  fv_transform_opts o;
  fv_transform_opts_standard(&o, 2, 20, 18, 16, 17);
  fv_transform *t = make(&o);
  if (!t) return;
  size_t ni = (size_t)2 * 20 * 18 * 3, no = (size_t)2 * 16 * 17 * 3;
  float *x = fbuf(ni), *tx = fbuf(no), *w = fbuf(no), *g = fbuf(no), *dx = fbuf(ni);
  check_fill(x, ni, 0, 1);
  check_fill(w, no, -1, 1);
  fv_rng r;
  fv_rng_seed(&r, 5);
  fv_transform_sample(t, &r);
  fv_transform_forward(t, x, tx);
  for (size_t i = 0; i < no; i++) g[i] = 2 * w[i] * tx[i];
  fv_transform_backward(t, g, dx);
  int bad = 0;
  double worst = 0;
  for (int k = 0; k < 30; k++) {
    size_t i = (size_t)check_int(0, (int)ni - 1);
    float keep = x[i];
    const float eps = 1e-2f;
    double l[2];
    for (int sgn = 0; sgn < 2; sgn++) {
      x[i] = keep + (sgn ? -eps : eps);
      fv_transform_forward(t, x, tx);
      l[sgn] = 0;
      for (size_t j = 0; j < no; j++) l[sgn] += (double)w[j] * tx[j] * tx[j];
    }
    x[i] = keep;
    double fd = (l[0] - l[1]) / (2.0 * eps), e = fabs(fd - dx[i]) / (1e-3 + fabs(fd));
    if (fabs(fd - dx[i]) < 1e-4) e = 0; /* pixels the draw cropped away: both ~0 */
    if (e > worst) worst = e;
    bad += e > 1e-2;
  }
  CHECK(bad == 0, "standard chain: finite differences, worst rel err %g", worst);
  free(x);
  free(tx);
  free(w);
  free(g);
  free(dx);
  fv_transform_free(t);
}

/* ---- reproducibility and size bookkeeping ---------------------------------------------------- */
static void test_repro(void) {
  fv_transform_opts o;
  fv_transform_opts_standard(&o, 4, 64, 64, 48, 48);
  fv_transform *a = make(&o), *b = make(&o);
  if (!a || !b) return;
  size_t ni = (size_t)4 * 64 * 64 * 3, no = (size_t)4 * 48 * 48 * 3;
  float *x = fbuf(ni), *ya = fbuf(no), *yb = fbuf(no);
  check_fill(x, ni, 0, 1);
  fv_rng ra, rb;
  fv_rng_seed(&ra, 99);
  fv_rng_seed(&rb, 99);
  int same = 1, sizes_ok = 1, scales_differ = 0;
  for (int k = 0; k < 20; k++) {
    fv_transform_sample(a, &ra);
    fv_transform_sample(b, &rb);
    fv_transform_forward(a, x, ya);
    fv_transform_forward(b, x, yb);
    same &= memcmp(ya, yb, no * sizeof(float)) == 0;
    for (int i = 0; i < 4; i++) {
      const fv_tf_draw *d2 = fv_transform_draw(a, i, 2), *d4 = fv_transform_draw(a, i, 4);
      int s1 = 64 + 24 - 8; /* after pad 12 and jitter 8 */
      sizes_ok &= d2->h == (int)(d2->scale * (float)s1) && d4->h == d2->h - 4 && d4->w == d2->w - 4;
      sizes_ok &= fabsf(fv_transform_draw(a, i, 3)->degrees) <= 10;
      if (d2->scale != fv_transform_draw(a, 0, 2)->scale) scales_differ = 1;
    }
  }
  CHECK(same, "same seed, same transformed batch");
  CHECK(sizes_ok, "stage sizes follow the draws");
  CHECK(scales_differ, "scales drawn per image");
  free(x);
  free(ya);
  free(yb);
  fv_transform_free(a);
  fv_transform_free(b);
}

int main(void) {
  check_seed(4242);
  test_options();
  test_pad(3, 3);
  test_pad(2, 5);
  test_jitter(9, 9, 4);
  test_jitter(8, 11, 3);
  test_scale(10, 10, 1.0f);
  test_scale(24, 20, 0.9f);
  test_scale(25, 19, 1.1f);
  test_scale(40, 40, 1.02f);
  test_resize(12, 12, 12, 12);
  test_resize(13, 10, 5, 7);
  test_resize(6, 5, 17, 16);
  test_resize(224, 200, 128, 128);
  test_rotate(9, 7, 0, 0);
  test_rotate(7, 7, 90, 0);
  test_rotate(8, 8, 90, 0.5f);
  test_rotate(6, 9, 180, 0);
  test_rotate(7, 8, 30, 0);
  test_rotate(11, 11, -7, 0.5f);
  test_rotate(10, 6, 10, 0);
  test_adjoints();
  test_simd();
  test_fd();
  test_repro();
  return check_summary("transform");
}
