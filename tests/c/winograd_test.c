/* winograd_test.c — the Winograd F(2×2, 3×3) scalar twin (src/kernels/winograd.c)
 * against the direct conv's scalar reference (conv.c), forward and input
 * gradient, at odd sizes (H, W not multiples of the 2×2 tile), pads 0 and 1,
 * channel counts not multiples of 4 or 8, and one GoogLeNet-sized shape.
 * Tolerance: 1e-5 of the sum of |terms| (the direct conv on |x|, |w|, |b|)
 * plus 1e-6: the transforms add a few roundings of sums of up to 4 inputs
 * (and ×0.5 weights) per term, far below that; a wrong tap or sign is O(1). */
#include "check.h"
#include "kernels/kernels.h"
#include "kernels/winograd.h"

static float rnd(void) { return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f; }

static void absf(float *d, const float *s, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = fabsf(s[i]);
}

static int close_all(const float *a, const float *r, const float *mag, size_t n, double *worst) {
  int ok = 1;
  *worst = 0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs((double)a[i] - r[i]), tol = 1e-5 * mag[i] + 1e-6;
    if (e / tol > *worst) *worst = e / tol;
    if (!(e <= tol)) ok = 0;
  }
  return ok;
}

static void one_case(int n, int h, int w_, int ic, int oc, int pad) {
  fv_conv_shape s = {0};
  s.n = n, s.ih = h, s.iw = w_, s.ic = ic, s.oc = oc, s.kh = s.kw = 3, s.sh = s.sw = 1, s.dh = s.dw = 1;
  s.pt = s.pb = s.pl = s.pr = pad;
  fv_conv_shape_pad(&s, FV_PADDING_EXPLICIT);
  CHECK(fv_wino_applies(&s), "3x3 s1 not taken");
  const size_t nx = (size_t)n * h * w_ * ic, ny = (size_t)n * s.oh * s.ow * oc, nw = (size_t)oc * 9 * ic;
  float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(oc * 4), *dy = malloc(ny * 4);
  float *ax = malloc(nx * 4), *aw = malloc(nw * 4), *ab = malloc(oc * 4), *ady = malloc(ny * 4);
  float *y0 = calloc(ny, 4), *y1 = calloc(ny, 4), *ym = calloc(ny, 4), *g0 = calloc(nx, 4), *g1 = calloc(nx, 4),
        *gm = calloc(nx, 4), *u = malloc(fv_wino_floats(ic, oc) * 4);
  for (size_t i = 0; i < nx; i++) x[i] = rnd();
  for (size_t i = 0; i < nw; i++) w[i] = rnd();
  for (int i = 0; i < oc; i++) b[i] = rnd();
  for (size_t i = 0; i < ny; i++) dy[i] = rnd();
  absf(ax, x, nx), absf(aw, w, nw), absf(ab, b, oc), absf(ady, dy, ny);
  fv_f32_conv2d__scalar(&s, x, w, b, y0), fv_f32_conv2d__scalar(&s, ax, aw, ab, ym);
  fv_f32_conv2d_grad__scalar(&s, dy, w, g0), fv_f32_conv2d_grad__scalar(&s, ady, aw, gm);
  for (size_t i = 0; i < nx; i++) g1[i] = 0.0f;
  fv_wino_weights(ic, oc, w, 0, u);
  fv_wino_shape g = fv_wino_shape_of(&s, 0);
  fv_f32_wino__scalar(&g, x, u, b, FV_ACT_NONE, 0, y1, 0, fv_wino_blocks(&g));
  double worst;
  CHECK(close_all(y1, y0, ym, ny, &worst), "forward %dx%dx%d ic %d oc %d pad %d: %.2f of tol", n, h, w_, ic, oc, pad,
        worst);
  fv_wino_weights(ic, oc, w, 1, u);
  g = fv_wino_shape_of(&s, 1);
  fv_f32_wino__scalar(&g, dy, u, NULL, FV_ACT_NONE, 1, g1, 0, fv_wino_blocks(&g));
  CHECK(close_all(g1, g0, gm, nx, &worst), "grad %dx%dx%d ic %d oc %d pad %d: %.2f of tol", n, h, w_, ic, oc, pad,
        worst);
  free(x), free(w), free(b), free(dy), free(ax), free(aw), free(ab), free(ady);
  free(y0), free(y1), free(ym), free(g0), free(g1), free(gm), free(u);
}

int main(void) {
  srand(11);
  one_case(1, 7, 9, 5, 6, 1);
  one_case(2, 8, 8, 4, 8, 1);
  one_case(1, 5, 6, 3, 3, 0);
  one_case(1, 9, 7, 13, 11, 0);
  one_case(1, 10, 10, 96, 208, 1); /* GoogLeNet inception_4a/3x3 at a 160-px step */
  return check_summary("winograd");
}
