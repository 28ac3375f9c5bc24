/* param_test.c — the image parameterizations against independent references:
 * adjoint identities in double for each linear stage, finite differences for
 * the whole chain with its sigmoid, the Fourier stage against a naive
 * double-precision 2-D inverse DFT, and fitting a real photo with Adam. */
#include "check.h"

#include "optim.h"
#include "param.h"

/* stb_image, private to this test (static, so it cannot clash with src/image.c). */
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
/* Unused static stb functions are reported at the end of the file, so this one stays off. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "stb_image.h"
#pragma GCC diagnostic pop

static const double kPi = 3.14159265358979323846;

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

static fv_param *make(int kind, int n, int h, int w, int decorrelate, float decay, float sd,
                      uint64_t seed) {
  fv_param_opts o;
  fv_param_opts_default(&o);
  o.kind = kind;
  o.n = n;
  o.h = h;
  o.w = w;
  o.decorrelate = decorrelate;
  o.decay_power = decay;
  o.sd = sd;
  o.seed = seed;
  fv_error err = {0, ""};
  fv_param *p = fv_param_new(&o, &err);
  CHECK(p != NULL, "fv_param_new kind %d %dx%dx%d: %s", kind, n, h, w, err.msg);
  return p;
}

/* ---- options and initialization ------------------------------------------------ */
static void test_options(void) {
  fv_param_opts o;
  fv_param_opts_default(&o);
  CHECK(o.kind == FV_PARAM_FFT && o.decorrelate && o.decay_power == 1.0f && o.sd == 0.01f,
        "defaults are Lucid's image()");
  fv_error err = {0, ""};
  o.kind = 7;
  CHECK(fv_param_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "unknown kind refused");
  fv_param_opts_default(&o);
  o.h = 0;
  err.code = 0;
  CHECK(fv_param_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "zero height refused");
  fv_param_opts_default(&o);
  o.sd = NAN;
  err.code = 0;
  CHECK(fv_param_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "NaN sd refused");
  fv_param_opts_default(&o);
  o.n = 1000;
  o.h = o.w = 4096;
  err.code = 0;
  CHECK(fv_param_new(&o, &err) == NULL && err.code != FV_OK, "huge batch refused");
  CHECK(fv_param_new(NULL, NULL) == NULL, "NULL options refused");

  /* sizes, and the initial noise: N(0, 0.01^2), a function of the seed */
  fv_param *a = make(FV_PARAM_FFT, 2, 32, 20, 1, 1, 0.01f, 5);
  fv_param *b = make(FV_PARAM_FFT, 2, 32, 20, 1, 1, 0.01f, 5);
  fv_param *c = make(FV_PARAM_FFT, 2, 32, 20, 1, 1, 0.01f, 6);
  fv_param *d = make(FV_PARAM_PIXEL, 2, 32, 20, 1, 1, 0.01f, 5);
  if (!a || !b || !c || !d) return;
  size_t n = fv_param_count(a);
  CHECK(n == (size_t)2 * 3 * 32 * 11 * 2, "fft count %zu", n);
  CHECK(fv_param_count(d) == (size_t)2 * 32 * 20 * 3, "pixel count %zu", fv_param_count(d));
  CHECK(fv_param_dim(a, 0) == 2 && fv_param_dim(a, 1) == 32 && fv_param_dim(a, 2) == 20 &&
            fv_param_dim(a, 3) == 3,
        "dims");
  CHECK(memcmp(fv_param_values(a), fv_param_values(b), n * sizeof(float)) == 0, "same seed, same params");
  CHECK(memcmp(fv_param_values(a), fv_param_values(c), n * sizeof(float)) != 0, "other seed differs");
  double m = 0, s2 = 0;
  for (size_t i = 0; i < n; i++) m += fv_param_values(a)[i];
  m /= n;
  for (size_t i = 0; i < n; i++) s2 += (fv_param_values(a)[i] - m) * (fv_param_values(a)[i] - m);
  double sd = sqrt(s2 / n);
  CHECK(fabs(m) < 0.001 && fabs(sd - 0.01) < 0.0007, "init mean %g sd %g", m, sd);
  fv_param_values(b)[3] = 1;
  fv_param_reset(b, 5);
  CHECK(memcmp(fv_param_values(a), fv_param_values(b), n * sizeof(float)) == 0, "reset redraws");
  /* a render is in (0, 1) and near 0.5 at initialization */
  const float *rgb = fv_param_render(a);
  int ok = 1;
  for (size_t i = 0; i < (size_t)2 * 32 * 20 * 3; i++) ok &= rgb[i] > 0.45f && rgb[i] < 0.55f;
  CHECK(ok, "initial render near grey");
  CHECK(rgb == fv_param_image(a), "image getter");
  fv_param_free(a);
  fv_param_free(b);
  fv_param_free(c);
  fv_param_free(d);
}

/* ---- colour ---------------------------------------------------------------------- */
static void test_color(void) {
  /* Lucid's matrix, normalized by its largest column norm, computed here apart. */
  const double c[3][3] = {{0.26, 0.09, 0.02}, {0.27, 0.00, -0.05}, {0.27, -0.09, 0.03}};
  const double norm0 = sqrt(0.26 * 0.26 + 0.27 * 0.27 + 0.27 * 0.27); /* the largest column */
  enum { NP = 257 };
  static float in[3 * NP], out[3 * NP], y[3 * NP], back[3 * NP];
  check_fill(in, 3 * NP, -3, 3);
  check_fill(y, 3 * NP, -1, 1);
  fv_color_decorrelate(in, out, NP);
  double worst = 0;
  for (int p = 0; p < NP; p++)
    for (int i = 0; i < 3; i++) {
      double r = 0;
      for (int j = 0; j < 3; j++) r += c[i][j] / norm0 * in[3 * p + j];
      double e = fabs(r - out[3 * p + i]);
      if (e > worst) worst = e;
    }
  CHECK(worst < 1e-6, "colour against the matrix: %g", worst);
  fv_color_decorrelate_adjoint(y, back, NP);
  double l = dot(out, y, 3 * NP), r = dot(in, back, 3 * NP);
  CHECK(fabs(l - r) <= 1e-6 * (fabs(l) + 1), "colour adjoint %.9g vs %.9g", l, r);
  /* in place */
  memcpy(back, in, sizeof in);
  fv_color_decorrelate(back, back, NP);
  CHECK(memcmp(back, out, sizeof out) == 0, "colour in place");
}

/* ---- the Fourier stage against a naive 2-D inverse DFT --------------------------------
 * numpy's irfft2 of an H x (W/2+1) spectrum S, written as one double sum:
 *   x[y][n] = 1/(HW) sum_ky sum_kx c_kx Re(S[ky][kx] e^{2 pi i (ky y / H + kx n / W)}),
 *   c = 1 at kx = 0 and (W even) kx = W/2, else 2.
 * The parameterization's plane is irfft2_ortho(P * s) / 4 = irfft2(P * s) * sqrt(HW) / 4. */
static void naive_plane(const float *spec, const double *scale, int h, int w, double *out) {
  const int wf = w / 2 + 1;
  for (int y = 0; y < h; y++)
    for (int n = 0; n < w; n++) {
      double acc = 0;
      for (int ky = 0; ky < h; ky++)
        for (int kx = 0; kx < wf; kx++) {
          double cx = (kx == 0 || (w % 2 == 0 && kx == w / 2)) ? 1 : 2;
          double ph = 2 * kPi * ((double)ky * y / h + (double)kx * n / w);
          double re = spec[2 * (ky * wf + kx)] * scale[ky * wf + kx];
          double im = spec[2 * (ky * wf + kx) + 1] * scale[ky * wf + kx];
          acc += cx * (re * cos(ph) - im * sin(ph));
        }
      out[y * w + n] = acc / (h * w) * sqrt((double)h * w) / 4;
    }
}

static void test_fft_naive(int h, int w, float decay) {
  const int wf = w / 2 + 1;
  fv_param *p = make(FV_PARAM_FFT, 2, h, w, 0, decay, 1.0f, 11);
  if (!p) return;
  /* the 1/f scale, from the formula (fftfreq rows, rfftfreq columns) */
  double *scale = (double *)malloc(sizeof(double) * h * wf);
  double *ref = (double *)malloc(sizeof(double) * h * w);
  float *img = (float *)malloc(sizeof(float) * 2 * h * w * 3);
  double big = h > w ? h : w;
  for (int ky = 0; ky < h; ky++)
    for (int kx = 0; kx < wf; kx++) {
      double fy = (2 * ky < h ? ky : ky - h) / (double)h; /* same as fftfreq for odd and even */
      double fx = kx / (double)w;
      double f = sqrt(fx * fx + fy * fy);
      scale[ky * wf + kx] = 1.0 / pow(f > 1 / big ? f : 1 / big, decay);
    }
  fv_param_spatial(p, fv_param_values(p), img);
  double worst = 0, peak = 0;
  for (int b = 0; b < 2; b++)
    for (int c = 0; c < 3; c++) {
      naive_plane(fv_param_values(p) + (size_t)(b * 3 + c) * h * wf * 2, scale, h, w, ref);
      for (int i = 0; i < h * w; i++) {
        double e = fabs(ref[i] - img[(size_t)b * h * w * 3 + 3 * i + c]);
        if (e > worst) worst = e;
        if (fabs(ref[i]) > peak) peak = fabs(ref[i]);
      }
    }
  CHECK(worst <= 2e-6 * peak + 1e-7, "irfft2 %dx%d decay %g vs naive DFT: err %g (peak %g)", h, w,
        (double)decay, worst, peak);
  free(scale);
  free(ref);
  free(img);
  fv_param_free(p);
}

/* ---- adjoints of the linear stages ---------------------------------------------------- */
static void test_adjoints(int kind, int n, int h, int w) {
  fv_param *p = make(kind, n, h, w, 1, 1, 1.0f, 3);
  if (!p) return;
  size_t np = fv_param_count(p), ni = (size_t)n * h * w * 3;
  float *x = (float *)malloc(np * sizeof(float)), *xt = (float *)malloc(np * sizeof(float));
  float *y = (float *)malloc(ni * sizeof(float)), *ax = (float *)malloc(ni * sizeof(float));
  float *cy = (float *)malloc(ni * sizeof(float));
  check_fill(x, np, -1, 1);
  check_fill(y, ni, -1, 1);
  /* spatial stage */
  fv_param_spatial(p, x, ax);
  fv_param_spatial_adjoint(p, y, xt);
  double l = dot(ax, y, ni), r = dot(x, xt, np), mag = sqrt(dot(ax, ax, ni) * dot(y, y, ni));
  CHECK(fabs(l - r) <= 1e-5 * mag, "kind %d %dx%dx%d spatial adjoint %.9g vs %.9g", kind, n, h, w, l, r);
  /* whole linear chain: colour after spatial */
  fv_color_decorrelate(ax, ax, ni / 3);
  fv_color_decorrelate_adjoint(y, cy, ni / 3);
  fv_param_spatial_adjoint(p, cy, xt);
  l = dot(ax, y, ni);
  r = dot(x, xt, np);
  mag = sqrt(dot(ax, ax, ni) * dot(y, y, ni));
  CHECK(fabs(l - r) <= 1e-5 * mag, "kind %d %dx%dx%d linear chain adjoint %.9g vs %.9g", kind, n, h,
        w, l, r);
  free(x);
  free(xt);
  free(y);
  free(ax);
  free(cy);
  fv_param_free(p);
}

/* ---- SIMD twins against their scalar references -------------------------------------------
 * In wasm the Fourier planes and the fused colour stage have 4-lane twins (param.c) that do
 * the scalar code's float operations in the same order, so they must give the same bits:
 * render, backward and the spatial stage and its adjoint, on sizes with partial column
 * groups, partial row blocks and pixel tails. Natively both runs are scalar. */
static size_t bit_mismatches(const float *a, const float *b, size_t n) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return bad;
}

static void test_simd_vs_scalar(int n, int h, int w, int decorrelate) {
  fv_param *p = make(FV_PARAM_FFT, n, h, w, decorrelate, 1, 3.0f, 21);
  if (!p) return;
  const size_t np = fv_param_count(p), ni = (size_t)n * h * w * 3;
  float *out[2], *grad[2], *sp[2], *spa[2];
  float *d = (float *)malloc(ni * sizeof(float));
  check_fill(d, ni, -1, 1);
  for (int simd = 0; simd < 2; simd++) {
    fv_kernels_set_simd(simd);
    out[simd] = (float *)malloc(ni * sizeof(float));
    grad[simd] = (float *)malloc(np * sizeof(float));
    sp[simd] = (float *)malloc(ni * sizeof(float));
    spa[simd] = (float *)malloc(np * sizeof(float));
    memcpy(out[simd], fv_param_render(p), ni * sizeof(float));
    memcpy(grad[simd], fv_param_backward(p, d), np * sizeof(float));
    fv_param_spatial(p, fv_param_values(p), sp[simd]);
    fv_param_spatial_adjoint(p, d, spa[simd]);
  }
  fv_kernels_set_simd(1);
  CHECK(bit_mismatches(out[1], out[0], ni) == 0, "%dx%dx%d decorrelate %d: SIMD render differs from scalar", n, h, w,
        decorrelate);
  CHECK(bit_mismatches(grad[1], grad[0], np) == 0, "%dx%dx%d decorrelate %d: SIMD backward differs from scalar", n, h,
        w, decorrelate);
  CHECK(bit_mismatches(sp[1], sp[0], ni) == 0, "%dx%dx%d: SIMD spatial differs from scalar", n, h, w);
  CHECK(bit_mismatches(spa[1], spa[0], np) == 0, "%dx%dx%d: SIMD spatial adjoint differs from scalar", n, h, w);
  for (int simd = 0; simd < 2; simd++) {
    free(out[simd]);
    free(grad[simd]);
    free(sp[simd]);
    free(spa[simd]);
  }
  free(d);
  fv_param_free(p);
}

/* ---- the whole chain with its sigmoid, by central differences ----------------------------
 * L = sum w_i rgb_i, so dL/drgb = w; backward gives dL/dparams to compare. */
static double weighted(fv_param *p, const float *wt, size_t ni) { return dot(fv_param_render(p), wt, ni); }

static void test_fd(int kind, int decorrelate, int h, int w) {
  fv_param *p = make(kind, 2, h, w, decorrelate, 1, kind == FV_PARAM_FFT ? 2.0f : 1.0f, 9);
  if (!p) return;
  size_t np = fv_param_count(p), ni = (size_t)2 * h * w * 3;
  float *wt = (float *)malloc(ni * sizeof(float)), *g = (float *)malloc(np * sizeof(float));
  check_fill(wt, ni, -1, 1);
  fv_param_render(p);
  memcpy(g, fv_param_backward(p, wt), np * sizeof(float));
  float *v = fv_param_values(p);
  int bad = 0;
  double worst = 0;
  for (int t = 0; t < 40; t++) {
    size_t i = (size_t)check_int(0, (int)np - 1);
    if (t == 0) i = 0; /* the DC bin, scaled most */
    float keep = v[i];
    const float eps = 1e-2f;
    v[i] = keep + eps;
    double lp = weighted(p, wt, ni);
    v[i] = keep - eps;
    double lm = weighted(p, wt, ni);
    v[i] = keep;
    double fd = (lp - lm) / (2.0 * eps);
    double e = fabs(fd - g[i]) / (1e-3 + fabs(fd));
    if (e > worst) worst = e;
    bad += e > 2e-2;
  }
  CHECK(bad == 0, "kind %d decorrelate %d %dx%d: finite differences, worst rel err %g", kind,
        decorrelate, h, w, worst);
  free(wt);
  free(g);
  fv_param_free(p);
}

/* ---- fitting a real photo ------------------------------------------------------------------
 * cat.bmp (512x341): the centred 320x320 crop, 5x5 box-averaged to 64x64. */
static float *load_cat64(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/cat.bmp", check_images_dir());
  size_t n = 0;
  uint8_t *bytes = check_read_file(path, &n);
#ifdef __wasm__
  /* Emscripten 3.1.6's standalone libc cannot open files (no WASI path_open):
   * the caller then fits a synthetic picture; natively the photo is required. */
  if (!bytes) {
    printf("note: %s unreadable in this WASI build; fitting a synthetic image\n", path);
    return NULL;
  }
#endif
  CHECK(bytes != NULL, "read %s", path);
  if (!bytes) return NULL;
  int w, h, ch;
  uint8_t *px = stbi_load_from_memory(bytes, (int)n, &w, &h, &ch, 3);
  free(bytes);
  CHECK(px != NULL && w >= 320 && h >= 320, "decode cat.bmp");
  if (!px || w < 320 || h < 320) {
    stbi_image_free(px);
    return NULL;
  }
  float *t = (float *)malloc(64 * 64 * 3 * sizeof(float));
  int x0 = (w - 320) / 2, y0 = (h - 320) / 2;
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      for (int c = 0; c < 3; c++) {
        int acc = 0;
        for (int dy = 0; dy < 5; dy++)
          for (int dx = 0; dx < 5; dx++) acc += px[3 * ((size_t)(y0 + 5 * y + dy) * w + x0 + 5 * x + dx) + c];
        t[3 * (y * 64 + x) + c] = (float)acc / (25.0f * 255.0f);
      }
  stbi_image_free(px);
  return t;
}

#ifdef __wasm__
/* A stand-in photo: smooth gradients, a hard-edged disc, a coarse checker. */
static float *synthetic64(void) {
  float *t = (float *)malloc(64 * 64 * 3 * sizeof(float));
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++) {
      int disc = (x - 40) * (x - 40) + (y - 24) * (y - 24) < 15 * 15;
      float *o = t + 3 * (y * 64 + x);
      o[0] = disc ? 0.9f : 0.1f + 0.8f * x / 63.0f;
      o[1] = disc ? 0.2f : 0.1f + 0.8f * y / 63.0f;
      o[2] = ((x / 8 + y / 8) % 2) ? 0.7f : 0.3f;
    }
  return t;
}
#endif

static void test_fit(const float *target, int kind, int decorrelate) {
  const int n = 64 * 64 * 3;
  fv_param *p = make(kind, 1, 64, 64, decorrelate, 1, 0.01f, 1);
  fv_error err = {0, ""};
  fv_adam *a = p ? fv_adam_new(fv_param_count(p), 0.05f, &err) : NULL;
  CHECK(a != NULL, "adam: %s", err.msg);
  if (!p || !a) {
    fv_param_free(p);
    return;
  }
  static float drgb[64 * 64 * 3];
  double mae = 1;
  for (int step = 0; step < 1000; step++) {
    const float *rgb = fv_param_render(p);
    for (int i = 0; i < n; i++) drgb[i] = 2.0f * (rgb[i] - target[i]) / n; /* d mean((rgb-t)^2) */
    fv_adam_step(a, fv_param_values(p), fv_param_backward(p, drgb));
  }
  const float *rgb = fv_param_render(p);
  mae = 0;
  for (int i = 0; i < n; i++) mae += fabs(rgb[i] - target[i]);
  mae /= n;
  printf("fit kind %d decorrelate %d: mean abs error %.5f after 1000 steps\n", kind, decorrelate, mae);
  CHECK(mae < 0.01, "kind %d decorrelate %d fits the photo: MAE %g", kind, decorrelate, mae);
  fv_adam_free(a);
  fv_param_free(p);
}

int main(void) {
  check_seed(20240611);
  test_options();
  test_color();
  const int sizes[][2] = {{8, 8}, {6, 5}, {5, 7}, {7, 6}, {9, 9}, {2, 2}, {1, 4}, {4, 1}, {12, 10}, {14, 21}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    test_fft_naive(sizes[i][0], sizes[i][1], 1.0f);
    test_adjoints(FV_PARAM_FFT, 2, sizes[i][0], sizes[i][1]);
  }
  const int simd_sizes[][3] = {{2, 16, 16}, {1, 128, 128}, {3, 13, 10}, {1, 1, 4}, {2, 7, 2}, {1, 6, 9}, {1, 31, 30}};
  for (size_t i = 0; i < sizeof simd_sizes / sizeof simd_sizes[0]; i++)
    for (int dc = 0; dc < 2; dc++) test_simd_vs_scalar(simd_sizes[i][0], simd_sizes[i][1], simd_sizes[i][2], dc);
  test_fft_naive(8, 6, 0.0f);
  test_fft_naive(7, 9, 2.0f);
  test_adjoints(FV_PARAM_PIXEL, 2, 5, 6);
  test_fd(FV_PARAM_PIXEL, 1, 6, 5);
  test_fd(FV_PARAM_PIXEL, 0, 6, 5);
  test_fd(FV_PARAM_FFT, 1, 8, 6);
  test_fd(FV_PARAM_FFT, 1, 7, 5);
  test_fd(FV_PARAM_FFT, 0, 6, 9);
  float *cat = load_cat64();
#ifdef __wasm__
  if (!cat) cat = synthetic64();
#endif
  if (cat) {
    test_fit(cat, FV_PARAM_PIXEL, 1);
    test_fit(cat, FV_PARAM_FFT, 1);
    test_fit(cat, FV_PARAM_FFT, 0);
    free(cat);
  }
  return check_summary("param");
}
