/* cppn_test.c — the CPPN image (src/cppn.h) against independent references: its
 * logits against a plain double-precision network written here from Lucid's
 * definition, its weight gradients by central differences (through the
 * parameterization's sigmoid and alpha too), the SIMD path against the scalar
 * one, Lucid's init (a grey first image), and a drawing at another size that
 * samples the same function (its corners are the render's corners). The
 * composite activation on its own: both twins against atan in double on
 * awkward inputs (the SIMD atan's reduction boundaries tan π/8 and tan 3π/8,
 * ±0, tiny, huge, ±inf, NaN), its gradient against the derivative in double
 * and its SIMD twin bit for bit against the scalar one. */
#include "check.h"

#include "cppn.h"
#include "kernels/kernels.h"
#include "param.h"

/* Lucid's cppn() in double: coords linspace(−√3, √3), 8 × (1×1 conv 24, [atan/0.67, atan²/0.6]), 1×1 conv out */
static void reference(const float *p, int ch, int h, int w, double *out) {
  const double r = sqrt(3.0);
  for (int i = 0; i < h; i++)
    for (int j = 0; j < w; j++) {
      double in[48], z[24];
      in[0] = w > 1 ? -r + 2 * r * j / (w - 1) : -r;
      in[1] = h > 1 ? -r + 2 * r * i / (h - 1) : -r;
      int fan = 2;
      const float *q = p;
      for (int l = 0; l < FV_CPPN_LAYERS; l++) {
        for (int o = 0; o < 24; o++) {
          double s = q[24 * fan + o];
          for (int k = 0; k < fan; k++) s += q[o * fan + k] * in[k];
          z[o] = s;
        }
        q += 24 * fan + 24;
        for (int o = 0; o < 24; o++) in[o] = atan(z[o]) / 0.67, in[24 + o] = atan(z[o]) * atan(z[o]) / 0.6;
        fan = 48;
      }
      for (int c = 0; c < ch; c++) {
        double s = q[ch * 48 + c];
        for (int k = 0; k < 48; k++) s += q[c * 48 + k] * in[k];
        out[((size_t)i * w + j) * ch + c] = s;
      }
    }
}

static fv_cppn *make(int n, int ch, uint64_t seed) {
  fv_error err = {0, ""};
  fv_cppn *c = fv_cppn_new(n, ch, seed, &err);
  CHECK(c != NULL, "fv_cppn_new: %s", err.msg);
  return c;
}

static void randomize_output(fv_cppn *c, int b) {
  const size_t one = fv_cppn_count_one(c);
  float *p = fv_cppn_values(c) + b * one;
  /* the output layer is the last ch·48 + ch floats */
  const int ch = (int)((one - (2 * 24 + 24) - 7 * (48 * 24 + 24)) / 49);
  for (size_t i = one - (size_t)ch * 49; i < one; i++) p[i] = check_uniform(-1, 1);
}

static void test_init_and_layout(void) {
  fv_cppn *c = make(2, 3, 7);
  if (!c) return;
  CHECK(fv_cppn_count_one(c) == 72 + 7 * 1176 + 147, "params per image %zu", fv_cppn_count_one(c));
  const float *p = fv_cppn_values(c);
  double sq = 0;
  for (int k = 72; k < 72 + 48 * 24; k++) sq += p[k] * p[k];
  const double sd = sqrt(sq / (48 * 24));
  CHECK(fabs(sd - sqrt(1.0 / 48)) < 0.02, "layer 1 weights sd %g, want %g", sd, sqrt(1.0 / 48));
  int zero = 1;
  for (size_t k = fv_cppn_count_one(c) - 147; k < fv_cppn_count_one(c); k++) zero &= p[k] == 0;
  CHECK(zero, "the output layer starts at zero");
  CHECK(memcmp(p, p + fv_cppn_count_one(c), 72 * sizeof(float)) != 0, "each image has its own network");
  fv_error err = {0, ""};
  CHECK(fv_cppn_new(1, 5, 0, &err) == NULL && err.code == FV_ERR_BAD_ARG, "5 channels refused");
  fv_cppn_free(c);
}

static void test_forward(int ch, int h, int w) {
  fv_cppn *c = make(2, ch, 11);
  if (!c) return;
  randomize_output(c, 1);
  float *lg = (float *)malloc((size_t)h * w * ch * sizeof(float));
  double *ref = (double *)malloc((size_t)h * w * ch * sizeof(double));
  fv_cppn_logits(c, fv_cppn_values(c), 1, h, w, lg);
  reference(fv_cppn_values(c) + fv_cppn_count_one(c), ch, h, w, ref);
  double worst = 0, spread = 0;
  for (int i = 0; i < h * w * ch; i++) worst = fmax(worst, fabs(lg[i] - ref[i]) / (1 + fabs(ref[i]))), spread = fmax(spread, fabs(ref[i] - ref[0]));
  CHECK(worst < 1e-4, "%d channels %dx%d: logits against the double reference, worst %g", ch, h, w, worst);
  CHECK(spread > 0.1, "the pattern is not flat (%g)", spread);
  free(lg);
  free(ref);
  fv_cppn_free(c);
}

/* L = Σ wt·logits of image b; dL/dparams by central differences in double through the reference */
static void test_gradient(int ch, int h, int w) {
  fv_cppn *c = make(2, ch, 5);
  if (!c) return;
  randomize_output(c, 1);
  const size_t one = fv_cppn_count_one(c), nl = (size_t)h * w * ch;
  float *wt = (float *)malloc(nl * sizeof(float)), *g = (float *)malloc(one * sizeof(float));
  double *ref = (double *)malloc(nl * sizeof(double));
  check_fill(wt, nl, -1, 1);
  fv_cppn_backward(c, 1, h, w, wt, g);
  float *v = fv_cppn_values(c) + one;
  int bad = 0;
  double worst = 0;
  for (int t = 0; t < 80; t++) {
    size_t i = (size_t)check_int(0, (int)one - 1);
    if (t < 10) i = (size_t)check_int(0, 71);                       /* the first layer, deepest in the chain */
    else if (t < 20) i = one - (size_t)check_int(1, ch * 49);         /* the output layer */
    const float keep = v[i], eps = 1e-2f;
    double l[2];
    for (int s = 0; s < 2; s++) {
      v[i] = keep + (s ? -eps : eps);
      reference(v, ch, h, w, ref);
      l[s] = 0;
      for (size_t k = 0; k < nl; k++) l[s] += wt[k] * ref[k];
    }
    v[i] = keep;
    const double fd = (l[0] - l[1]) / (2.0 * eps), e = fabs(fd - g[i]) / (1e-2 + fabs(fd));
    worst = fmax(worst, e);
    bad += e > 2e-2;
  }
  CHECK(bad == 0, "%d channels %dx%d: weight gradients by finite differences, worst rel err %g", ch, h, w, worst);
  /* the SIMD path (fv_fc's GEMMs, the wgrad twin) against the scalar one */
  float *g0 = (float *)malloc(one * sizeof(float));
  fv_kernels_set_simd(0);
  fv_cppn_backward(c, 1, h, w, wt, g0);
  fv_kernels_set_simd(1);
  double dmax = 0, gmax = 0;
  for (size_t i = 0; i < one; i++) dmax = fmax(dmax, fabs(g0[i] - g[i])), gmax = fmax(gmax, fabs(g0[i]));
  CHECK(dmax <= 1e-5 * gmax, "SIMD and scalar gradients agree: worst %g of %g", dmax, gmax);
  free(g0);
  free(wt);
  free(g);
  free(ref);
  fv_cppn_free(c);
}

/* through fv_param: sigmoid, alpha, batch; and drawn at another size */
static void test_param(int alpha) {
  fv_param_opts o;
  fv_param_opts_default(&o);
  o.kind = FV_PARAM_CPPN, o.n = 2, o.h = 9, o.w = 7, o.alpha = alpha, o.seed = 4;
  fv_error err = {0, ""};
  fv_param *p = fv_param_new(&o, &err);
  CHECK(p != NULL, "fv_param_new cppn: %s", err.msg);
  if (!p) return;
  const size_t np = fv_param_count(p), ni = 2 * 9 * 7;
  const float *rgb = fv_param_render(p);
  int grey = 1;
  for (size_t i = 0; i < ni * 3; i++) grey &= rgb[i] == 0.5f;
  CHECK(grey, "the first image is grey (a zero output layer)");
  float *v = fv_param_values(p);
  for (size_t i = 0; i < np; i++) v[i] += check_uniform(-0.3f, 0.3f);
  float wt[2 * 9 * 7 * 3], u[2 * 9 * 7];
  check_fill(wt, ni * 3, -1, 1);
  check_fill(u, ni, -1, 1);
  fv_param_render(p);
  float *g = (float *)malloc(np * sizeof(float));
  memcpy(g, fv_param_backward_rgba(p, wt, alpha ? u : NULL), np * sizeof(float));
  int bad = 0;
  double worst = 0;
  for (int t = 0; t < 40; t++) {
    const size_t i = (size_t)check_int(0, (int)np - 1);
    const float keep = v[i], eps = 3e-3f;
    double l[2];
    for (int s = 0; s < 2; s++) {
      v[i] = keep + (s ? -eps : eps);
      const float *y = fv_param_render(p), *a = fv_param_alpha(p);
      l[s] = 0;
      for (size_t k = 0; k < ni * 3; k++) l[s] += (double)wt[k] * y[k];
      for (size_t k = 0; alpha && k < ni; k++) l[s] += (double)u[k] * a[k];
    }
    v[i] = keep;
    const double fd = (l[0] - l[1]) / (2.0 * eps), e = fabs(fd - g[i]) / (1e-2 + fabs(fd));
    worst = fmax(worst, e);
    bad += e > 3e-2;
  }
  CHECK(bad == 0, "alpha %d: the chain through the sigmoid by finite differences, worst rel err %g", alpha, worst);
  /* drawn at the render's size: the render; at 17×13 (the same corners): the render's corners */
  rgb = fv_param_render(p);
  const float *a = fv_param_alpha(p);
  const int ch = alpha ? 4 : 3;
  float same[9 * 7 * 4], big[17 * 13 * 4];
  CHECK(fv_param_draw(p, 1, 9, 7, same, &err) == FV_OK, "draw: %s", err.msg);
  int eq = 1;
  for (int k = 0; k < 63; k++) {
    for (int c = 0; c < 3; c++) eq &= same[ch * k + c] == rgb[3 * (63 + k) + c];
    if (alpha) eq &= same[4 * k + 3] == a[63 + k];
  }
  CHECK(eq, "alpha %d: drawn at its own size, the render's bits", alpha);
  CHECK(fv_param_draw(p, 1, 17, 13, big, &err) == FV_OK, "draw 17x13: %s", err.msg);
  const int corners[4][2] = {{0, 0}, {0, 6}, {8, 0}, {8, 6}}, bigc[4][2] = {{0, 0}, {0, 12}, {16, 0}, {16, 12}};
  double cw = 0;
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < 3; c++)
      cw = fmax(cw, fabs(big[(bigc[k][0] * 13 + bigc[k][1]) * ch + c] - rgb[3 * (63 + corners[k][0] * 7 + corners[k][1]) + c]));
  CHECK(cw < 1e-5, "the larger drawing has the render's corners (worst %g)", cw);
  CHECK(fv_param_draw(p, 2, 9, 9, big, &err) == FV_ERR_BAD_ARG, "draw of image 2 of 2 refused");
  free(g);
  fv_param_free(p);
  o.kind = FV_PARAM_FFT;
  p = fv_param_new(&o, &err);
  CHECK(p && fv_param_draw(p, 0, 9, 9, big, &err) == FV_ERR_BAD_ARG, "draw of a Fourier image refused");
  fv_param_free(p);
}

/* |got − want| / (ATOL + |want|): relative, absolute near zero */
#define ATOL 1e-30
static double rel(float got, double want) {
  if (isnan(want)) return isnan(got) ? 0 : INFINITY;
  if (isinf(want)) return got == want ? 0 : INFINITY;
  return fabs(got - want) / (ATOL + fabs(want));
}

/* The composite's values: special points then a spread over magnitudes and signs. */
static void composite_inputs(float *z, size_t n) {
  const float special[] = {0.0f, -0.0f, 1e-30f, -1e-20f, 1e-8f, 0.41421354f, 0.41421357f, 0.41421360f, -0.4142135f,
                           1.0f, -1.0f, 2.4142134f, 2.4142137f, -2.414214f, 10.0f, -1e3f, 1e30f, -3e38f,
                           INFINITY, -INFINITY, NAN, 0.5f, 3.0f, -7.0f};
  const size_t ns = sizeof special / sizeof special[0];
  for (size_t i = 0; i < n; i++) {
    if (i < ns) z[i] = special[i];
    else if (i % 3) z[i] = check_uniform(-4, 4);                                    /* a CPPN's z */
    else z[i] = (check_uniform(0, 1) < 0.5f ? -1 : 1) * powf(10.0f, check_uniform(-6, 6)); /* any scale */
  }
}

/* Worst relative errors of fv_cppn_composite against atan in double, SIMD on or off */
static void composite_errors(const float *z, int np, int simd, double worst[2]) {
  float *out = (float *)malloc((size_t)np * 2 * FV_CPPN_HIDDEN * sizeof(float));
  fv_kernels_set_simd(simd);
  fv_cppn_composite(np, z, out);
  fv_kernels_set_simd(1);
  worst[0] = worst[1] = 0;
  for (int p = 0; p < np; p++)
    for (int k = 0; k < FV_CPPN_HIDDEN; k++) {
      const double a = atan((double)z[p * FV_CPPN_HIDDEN + k]);
      worst[0] = fmax(worst[0], rel(out[p * 2 * FV_CPPN_HIDDEN + k], a / 0.67f));
      worst[1] = fmax(worst[1], rel(out[p * 2 * FV_CPPN_HIDDEN + FV_CPPN_HIDDEN + k], a * a / 0.6f));
    }
  free(out);
}

static void test_composite(void) {
  enum { NP = 301 };
  const size_t n = (size_t)NP * FV_CPPN_HIDDEN;
  float *z = (float *)malloc(n * sizeof(float)), *out = (float *)malloc(2 * n * sizeof(float));
  float *dout = (float *)malloc(2 * n * sizeof(float)), *dz[2] = {(float *)malloc(n * sizeof(float)), (float *)malloc(n * sizeof(float))};
  composite_inputs(z, n);
  /* scalar: libm's atanf (within an ulp), then a division (and a square): a few float roundings */
  double worst[2];
  composite_errors(z, NP, 0, worst);
  CHECK(worst[0] < 3e-7 && worst[1] < 5e-7, "scalar composite against atan in double: worst rel err %g, %g", worst[0], worst[1]);
#ifdef __wasm_simd128__
  /* SIMD: Cephes' atanf polynomial (1.9e-7 relative at worst by its notes) before the same roundings */
  composite_errors(z, NP, 1, worst);
  CHECK(worst[0] < 4e-7 && worst[1] < 7e-7, "SIMD composite against atan in double: worst rel err %g, %g", worst[0], worst[1]);
  printf("cppn: SIMD composite against atan in double: worst relative error %.3g (atan/0.67), %.3g (atan²/0.6)\n", worst[0], worst[1]);
#endif
  /* the gradient: d/dz = [1/0.67, 2 atan z/0.6] / (1 + z²), from the forward's own outputs */
  for (size_t i = 0; i < n; i++)
    if (!isfinite(z[i])) z[i] = check_uniform(-2, 2); /* inf·0 has no gradient to speak of */
  fv_cppn_composite(NP, z, out);
  check_fill(dout, 2 * n, -1, 1);
  double gw = 0;
  for (int simd = 0; simd < 2; simd++) {
    fv_kernels_set_simd(simd);
    fv_cppn_composite_grad(NP, z, out, dout, dz[simd]);
    fv_kernels_set_simd(1);
  }
  for (int p = 0; p < NP; p++)
    for (int k = 0; k < FV_CPPN_HIDDEN; k++) {
      const size_t i = (size_t)p * FV_CPPN_HIDDEN + k, o = (size_t)p * 2 * FV_CPPN_HIDDEN + k;
      const double zz = z[i], a = atan(zz), s = 1 / (1 + zz * zz);
      const double t1 = dout[o] / 0.67, t2 = dout[o + FV_CPPN_HIDDEN] * 2 * a / 0.6;
      gw = fmax(gw, fabs(dz[1][i] - (t1 + t2) * s) / (1e-30 + (fabs(t1) + fabs(t2)) * s));
    }
  CHECK(gw < 2e-6, "composite gradient against the derivative in double: worst %g", gw);
  CHECK(memcmp(dz[0], dz[1], n * sizeof(float)) == 0, "composite gradient: the SIMD twin has the scalar one's bits");
  free(z), free(out), free(dout), free(dz[0]), free(dz[1]);
}

int main(void) {
  check_seed(20261203);
  test_init_and_layout();
  test_composite();
  test_forward(3, 5, 7);
  test_forward(4, 1, 3);
  CHECK(37 * 41 > FV_CPPN_CHUNK && 33 * 32 > FV_CPPN_CHUNK, "the larger drawings below span chunks");
  test_forward(3, 37, 41); /* more than one chunk of pixels (FV_CPPN_CHUNK), the last short */
  test_gradient(3, 6, 5);
  test_gradient(4, 33, 32); /* two chunks: 1024 pixels and 32 */
  test_param(0);
  test_param(1);
  return check_summary("cppn");
}
