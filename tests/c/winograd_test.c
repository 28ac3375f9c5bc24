/* winograd_test.c — the Winograd twins (src/kernels/winograd.c): F(2×2, 3×3), F(4×4, 3×3), F(2×2, 5×5),
 * F(3×3, 4×4) and the 7×7 stride-2 conv on its phases (winograd_s2.c),
 * against the direct conv's scalar reference (conv.c), forward (with bias and
 * ReLU) and input gradient (accumulating onto what dx held), at odd sizes (H, W
 * not multiples of the 2×2 tile), pads 0 and 1, channel counts not multiples
 * of 4 or 8, output channels past one 64-channel chunk, and GoogLeNet-sized
 * shapes. The SIMD twin (wasm build) is also held to its own bytes when the
 * call is cut into two ranges of units anywhere, as the threads cut it.
 * Tolerance: 1e-5 (F(2×2, 3×3)) or 2e-5 (the 6×6 tiles, coefficients up to 16
 * and 1/24; measured 2.6e-6 for F(4×4)) of the sum of |terms| (the direct
 * conv on |x|, |w|, |b|) plus 1e-6: the transforms add a few roundings of
 * short sums per term, far below that; a wrong tap or sign is O(1). */
#include "check.h"
#include "kernels/kernels.h"
#include "kernels/winograd.h"

static float rnd(void) { return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f; }

static void absf(float *d, const float *s, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = fabsf(s[i]);
}

static int close_all(const float *a, const float *r, const float *mag, size_t n, double rel, double *worst) {
  int ok = 1;
  *worst = 0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs((double)a[i] - r[i]), tol = rel * mag[i] + 1e-6;
    if (e / tol > *worst) *worst = e / tol;
    if (!(e <= tol)) ok = 0;
  }
  return ok;
}

#ifdef __wasm_simd128__
/* Enough 2×2 tiles to fill g's blocks of 16 at least half (winograd.h, fv_wino_fits). */
static int half_full(const fv_wino_shape *g) {
  const long tiles = (long)g->n * ((g->oh + g->m - 1) / g->m) * ((g->ow + g->m - 1) / g->m);
  return tiles * 2 >= (long)fv_wino_blocks(g) * FV_WINO_BLOCK;
}
#endif

/* Runs one twin (simd: the packed SIMD one) over units [0, nb), or [0, cut) then [cut, nb). */
static void run(int simd, const fv_wino_shape *g, const float *x, const float *u, const float *up, const float *b,
                fv_act act, int acc, float *y, int cut) {
  const int nb = fv_wino_units(g);
#ifdef __wasm_simd128__
  if (simd && fv_wino_fits(g)) { /* else the caller (conv.c) runs the direct conv: here the scalar twin */
    if (cut > 0 && cut < nb) {
      fv_f32_wino__wasmsimd(g, x, up, b, act, acc, y, 0, cut);
      fv_f32_wino__wasmsimd(g, x, up, b, act, acc, y, cut, nb);
    } else {
      fv_f32_wino__wasmsimd(g, x, up, b, act, acc, y, 0, nb);
    }
    return;
  }
#endif
  (void)up, (void)cut;
  fv_f32_wino__scalar(g, x, u, b, act, acc, y, 0, nb);
}

/* One shape in tiles of m: forward (bias, ReLU) and gradient (onto dx0) of both twins against
 * the direct conv, the loader's packing, and the SIMD twin cut into two ranges of blocks. */
static void one_m(const fv_conv_shape *sp, int m, const float *x, const float *w, const float *b, const float *dy,
                  const float *dx0, const float *y0, const float *ym, const float *g0, const float *gm) {
  const fv_conv_shape s = *sp;
  const int n = s.n, h = s.ih, w_ = s.iw, ic = s.ic, oc = s.oc, pad = s.pt, r = s.kh;
  const size_t nx = (size_t)n * h * w_ * ic, ny = (size_t)n * s.oh * s.ow * oc;
  const double tol = m == 2 && r == 3 ? 1e-5 : 2e-5;
  float *u = malloc(fv_wino_floats(ic, oc, m, r) * 4), *ug = malloc(fv_wino_floats(ic, oc, m, r) * 4);
  float *up = malloc(fv_wino_pack_floats(ic, oc, m, r) * 4), *upg = malloc(fv_wino_pack_floats(oc, ic, m, r) * 4);
  float *y1 = calloc(ny, 4), *y2 = calloc(ny, 4), *g1 = calloc(nx, 4), *g2 = calloc(nx, 4);
  fv_wino_weights(ic, oc, r, w, 0, m, u), fv_wino_weights(ic, oc, r, w, 1, m, ug);
  fv_wino_pack(ic, oc, m, r, u, up), fv_wino_pack(oc, ic, m, r, ug, upg);
  if (r != 4) { /* the loader's one-pass transform + packing (model.c) is these two steps' bytes */
    float *all = malloc(fv_conv_wino_floats(ic, oc, r) * 4);
    fv_conv_wino(ic, oc, r, w, all);
    const float *f = fv_conv_wino_part(ic, oc, r, all, 0, m), *gr = fv_conv_wino_part(ic, oc, r, all, 1, m);
    CHECK(f ? !memcmp(f, up, fv_wino_pack_floats(ic, oc, m, r) * 4) : m == 4 && ic > FV_WINO4_CMAX,
          "fv_conv_wino F(%d) ic %d oc %d: not fv_wino_pack of fv_wino_weights", m, ic, oc);
    CHECK(gr ? !memcmp(gr, upg, fv_wino_pack_floats(oc, ic, m, r) * 4) : m == 4 && oc > FV_WINO4_CMAX,
          "fv_conv_wino F(%d) gradient ic %d oc %d", m, ic, oc);
    free(all);
  }
  const fv_wino_shape g = fv_wino_shape_of(&s, 0, m), gg = fv_wino_shape_of(&s, 1, m);
  const int simds = fv_kernels_simd_enabled() ? 2 : 1;
  for (int simd = 0; simd < simds; simd++) {
    const char *twin = simd ? "simd" : "scalar";
    double worst;
    run(simd, &g, x, u, up, b, FV_ACT_RELU, 0, y1, 0);
    CHECK(close_all(y1, y0, ym, ny, tol, &worst), "%s F(%d) forward %dx%dx%d ic %d oc %d pad %d: %.2f of tol", twin, m,
          n, h, w_, ic, oc, pad, worst);
    memcpy(g1, dx0, nx * 4);
    run(simd, &gg, dy, ug, upg, NULL, FV_ACT_NONE, 1, g1, 0);
    CHECK(close_all(g1, g0, gm, nx, tol, &worst), "%s F(%d) grad %dx%dx%d ic %d oc %d pad %d: %.2f of tol", twin, m, n,
          h, w_, ic, oc, pad, worst);
    if (!simd) continue;
#ifdef __wasm_simd128__
    const int cmax = m + r - 1 == 6 ? FV_WINO4_CMAX : FV_WINO_CMAX;
    CHECK(fv_wino_fits(&g) == (ic <= cmax && half_full(&g)) && fv_wino_fits(&gg) == (oc <= cmax && half_full(&gg)),
          "F(%d) fits ic %d oc %d", m, ic, oc);
#endif
    /* cut where the threads might: the same bytes */
    for (int cut = 1; cut < fv_wino_units(&g); cut += 3) {
      run(1, &g, x, u, up, b, FV_ACT_RELU, 0, y2, cut);
      CHECK(!memcmp(y1, y2, ny * 4), "simd F(%d) forward cut at block %d: other bytes", m, cut);
    }
    for (int cut = 1; cut < fv_wino_units(&gg); cut += 3) {
      memcpy(g2, dx0, nx * 4);
      run(1, &gg, dy, ug, upg, NULL, FV_ACT_NONE, 1, g2, cut);
      CHECK(!memcmp(g1, g2, nx * 4), "simd F(%d) grad cut at block %d: other bytes", m, cut);
    }
  }
  free(u), free(ug), free(up), free(upg), free(y1), free(y2), free(g1), free(g2);
}

static void one_case_r(int r, int n, int h, int w_, int ic, int oc, int pad) {
  fv_conv_shape s = {0};
  s.n = n, s.ih = h, s.iw = w_, s.ic = ic, s.oc = oc, s.kh = s.kw = r, s.sh = s.sw = 1, s.dh = s.dw = 1;
  s.pt = s.pb = s.pl = s.pr = pad;
  fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
  CHECK(fv_wino_applies(&s) == (r != 4), "%dx%d s1 taken: %d", r, r, fv_wino_applies(&s));
  const size_t nx = (size_t)n * h * w_ * ic, ny = (size_t)n * s.oh * s.ow * oc, nw = (size_t)oc * r * r * ic;
  float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(oc * 4), *dy = malloc(ny * 4), *dx0 = malloc(nx * 4);
  float *ax = malloc(nx * 4), *aw = malloc(nw * 4), *ab = malloc(oc * 4), *ady = malloc(ny * 4);
  float *y0 = calloc(ny, 4), *ym = calloc(ny, 4), *g0 = calloc(nx, 4), *gm = calloc(nx, 4);
  for (size_t i = 0; i < nx; i++) x[i] = rnd(), dx0[i] = rnd();
  for (size_t i = 0; i < nw; i++) w[i] = rnd();
  for (int i = 0; i < oc; i++) b[i] = rnd();
  for (size_t i = 0; i < ny; i++) dy[i] = rnd();
  absf(ax, x, nx), absf(aw, w, nw), absf(ab, b, oc), absf(ady, dy, ny);
  /* the references: y0 = relu(conv + b), g0 = dx0 + conv_grad(dy); magnitudes for the tolerance */
  fv_f32_conv2d__scalar(&s, x, w, b, y0), fv_f32_conv2d__scalar(&s, ax, aw, ab, ym);
  for (size_t i = 0; i < ny; i++) y0[i] = y0[i] > 0 ? y0[i] : 0;
  memcpy(g0, dx0, nx * 4);
  fv_f32_conv2d_grad__scalar(&s, dy, w, g0), fv_f32_conv2d_grad__scalar(&s, ady, aw, gm);
  for (size_t i = 0; i < nx; i++) gm[i] += fabsf(dx0[i]);
  if (r == 4) one_m(&s, 3, x, w, b, dy, dx0, y0, ym, g0, gm); /* F(3×3, 4×4): the 7×7 s2 conv's phases */
  else one_m(&s, 2, x, w, b, dy, dx0, y0, ym, g0, gm);
  if (r == 3) one_m(&s, 4, x, w, b, dy, dx0, y0, ym, g0, gm);
  free(x), free(w), free(b), free(dy), free(dx0), free(ax), free(aw), free(ab), free(ady);
  free(y0), free(ym), free(g0), free(gm);
}

static void one_case(int n, int h, int w_, int ic, int oc, int pad) { one_case_r(3, n, h, w_, ic, oc, pad); }

/* The 7×7 stride-2 pad-3 conv on its phases (winograd_s2.c) against the direct conv:
 * forward (bias, ReLU) and gradient (onto dx0), and the same bytes when the bands are
 * cut in two ranges anywhere, as the threads cut them. */
static void one_s2(int n, int h, int w_, int ic, int oc) {
#ifdef __wasm_simd128__
  fv_conv_shape s = {0};
  s.n = n, s.ih = h, s.iw = w_, s.ic = ic, s.oc = oc, s.kh = s.kw = 7, s.sh = s.sw = 2, s.dh = s.dw = 1;
  s.pt = s.pb = s.pl = s.pr = 3;
  fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
  s.act = FV_ACT_RELU;
  CHECK(fv_wino_s2_applies(&s), "7x7 s2 %dx%d ic %d oc %d not taken", h, w_, ic, oc);
  const size_t nx = (size_t)n * h * w_ * ic, ny = (size_t)n * s.oh * s.ow * oc, nw = (size_t)oc * 49 * ic;
  float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(oc * 4), *dy = malloc(ny * 4), *dx0 = malloc(nx * 4);
  float *ax = malloc(nx * 4), *aw = malloc(nw * 4), *ab = malloc(oc * 4), *ady = malloc(ny * 4);
  float *y0 = calloc(ny, 4), *ym = calloc(ny, 4), *g0 = calloc(nx, 4), *gm = calloc(nx, 4);
  float *y1 = calloc(ny, 4), *y2 = calloc(ny, 4), *g1 = calloc(nx, 4), *g2 = calloc(nx, 4);
  float *p = malloc(fv_wino_s2_floats(ic, oc) * 4);
  for (size_t i = 0; i < nx; i++) x[i] = rnd(), dx0[i] = rnd();
  for (size_t i = 0; i < nw; i++) w[i] = rnd();
  for (int i = 0; i < oc; i++) b[i] = rnd();
  for (size_t i = 0; i < ny; i++) dy[i] = rnd();
  absf(ax, x, nx), absf(aw, w, nw), absf(ab, b, oc), absf(ady, dy, ny);
  fv_conv_shape plain = s;
  plain.act = FV_ACT_NONE;
  fv_f32_conv2d__scalar(&s, x, w, b, y0), fv_f32_conv2d__scalar(&plain, ax, aw, ab, ym);
  memcpy(g0, dx0, nx * 4);
  fv_f32_conv2d_grad__scalar(&s, dy, w, g0), fv_f32_conv2d_grad__scalar(&s, ady, aw, gm);
  for (size_t i = 0; i < nx; i++) gm[i] += fabsf(dx0[i]);
  CHECK(fv_wino_s2_weights(ic, oc, w, p) == FV_OK, "fv_wino_s2_weights");
  const int bf = fv_wino_s2_bands(&s, 0), bg = fv_wino_s2_bands(&s, 1);
  double worst;
  fv_wino_s2_range(&s, x, p, b, y1, 0, 0, bf);
  CHECK(close_all(y1, y0, ym, ny, 2e-5, &worst), "s2 forward %dx%dx%d ic %d oc %d: %.2f of tol", n, h, w_, ic, oc, worst);
  memcpy(g1, dx0, nx * 4);
  fv_wino_s2_range(&s, dy, p, NULL, g1, 1, 0, bg);
  CHECK(close_all(g1, g0, gm, nx, 2e-5, &worst), "s2 grad %dx%dx%d ic %d oc %d: %.2f of tol", n, h, w_, ic, oc, worst);
  for (int cut = 1; cut < bf; cut += 2) {
    fv_wino_s2_range(&s, x, p, b, y2, 0, 0, cut), fv_wino_s2_range(&s, x, p, b, y2, 0, cut, bf);
    CHECK(!memcmp(y1, y2, ny * 4), "s2 forward cut at band %d: other bytes", cut);
  }
  for (int cut = 1; cut < bg; cut += 2) {
    memcpy(g2, dx0, nx * 4);
    fv_wino_s2_range(&s, dy, p, NULL, g2, 1, cut, bg), fv_wino_s2_range(&s, dy, p, NULL, g2, 1, 0, cut);
    CHECK(!memcmp(g1, g2, nx * 4), "s2 grad cut at band %d (later bands first): other bytes", cut);
  }
  { /* the route conv.c takes with the weights the loader makes: the same bytes */
    fv_conv_shape r = s;
    r.wino = p;
    fv_f32_conv2d__wasmsimd(&r, x, w, b, y2);
    CHECK(!memcmp(y1, y2, ny * 4), "s2: fv_f32_conv2d__wasmsimd took another route");
  }
  free(x), free(w), free(b), free(dy), free(dx0), free(ax), free(aw), free(ab), free(ady), free(p);
  free(y0), free(ym), free(g0), free(gm), free(y1), free(y2), free(g1), free(g2);
#else
  (void)n, (void)h, (void)w_, (void)ic, (void)oc;
#endif
}

int main(void) {
  srand(11);
  one_case(1, 7, 9, 5, 6, 1);
  one_case(2, 8, 8, 4, 8, 1);
  one_case(1, 5, 6, 3, 3, 0);
  one_case(1, 9, 7, 13, 11, 0);
  one_case(1, 10, 10, 96, 208, 1); /* GoogLeNet inception_4a/3x3 at a 160-px step */
  one_case(1, 8, 8, 160, 320, 1);  /* inception_4e/3x3 at 128 px; its gradient sums 320 > 256 channels (scalar only) */
  one_case(2, 16, 16, 64, 192, 1); /* conv2/3x3 at 64 px, two images */
  one_case(3, 6, 6, 7, 70, 1);     /* 27 tiles, output channels past one chunk, not a multiple of 8 */
  one_case(1, 3, 3, 5, 9, 1);      /* 4 tiles: too few for a block (the SIMD side declines) */
  one_case(1, 14, 14, 192, 40, 1); /* inception_5b-like ic at the F(4×4) limit */
  one_case(1, 14, 14, 200, 24, 1); /* past it: F(4×4) not transformed at load */
  /* F(2×2, 5×5): pads 2 and 0, odd sizes, GoogLeNet's 5×5 shapes */
  one_case_r(5, 1, 9, 11, 5, 7, 2);
  one_case_r(5, 2, 10, 8, 6, 9, 0);
  one_case_r(5, 1, 14, 14, 32, 96, 2);  /* inception_3b/5x5 at 112 px */
  one_case_r(5, 1, 7, 7, 48, 128, 2);   /* inception_5b/5x5 at 224 px */
  /* F(3×3, 4×4) as a 4×4 s1 conv (pads 2 and 1, or 0), then on the 7×7 s2 conv's phases */
  one_case_r(4, 1, 9, 11, 12, 7, 0);
  one_case_r(4, 2, 13, 10, 5, 19, 1);
  one_case_r(4, 1, 16, 16, 12, 64, 2); /* conv1's phases at a 32-px input */
  one_s2(1, 32, 32, 3, 64);            /* GoogLeNet's conv1, small */
  one_s2(2, 29, 23, 3, 13);            /* odd sizes: the last phase rows and columns are past the image */
  one_s2(1, 70, 18, 2, 20);            /* bands of one image, channels not a multiple of 4 */
  one_s2(1, 128, 128, 3, 64);          /* the 128-px step's */
  return check_summary("winograd");
}
