/* kernels_lrn_test.c — LOCAL_RESPONSE_NORMALIZATION (lrn.c), forward and
 * input-gradient, against ONNX's definition.
 *
 * The reference is ONNX's LRN written here in double from its attributes
 * (size, alpha, beta, bias): square_sum[c] = Σ x[i]² over
 * max(0, c − ⌊(size−1)/2⌋) <= i <= min(C−1, c + ⌈(size−1)/2⌉), and
 * y = x / (bias + alpha/size · square_sum)^beta; the kernel's fields are
 * derived from those attributes the way the ONNX loader does. Shapes: channel
 * counts below, at and above a SIMD block, even and odd window sizes, one
 * pixel and many, alpha large enough that the normalization matters
 * (GoogLeNet's 1e-4 makes LRN nearly the identity; that case is run too).
 * The gradient is held to central differences of the double reference
 * (smooth everywhere, as bias > 0), with dx prefilled. In wasm the SIMD twin
 * is held to the scalar kernel (to the rounding of t^beta; bit for bit
 * where it falls back to scalar), and everything runs again with SIMD off.
 */
#include "kernel_test.h"

typedef struct {
  int size;
  double alpha, beta, bias;
} lrn_attrs;

static fv_lrn_shape lrn_of(const lrn_attrs *a, size_t pixels, int c) {
  fv_lrn_shape s = {pixels, c, (a->size - 1) / 2, a->size - 1 - (a->size - 1) / 2, (float)(a->alpha / a->size),
                    (float)a->beta, (float)a->bias};
  return s;
}

/* ONNX's LRN over pixels × C */
static void ref_lrn(const lrn_attrs *a, size_t pixels, int C, const double *x, double *y) {
  const int lo = (int)floor((a->size - 1) / 2.0), hi = (int)ceil((a->size - 1) / 2.0);
  for (size_t p = 0; p < pixels; p++)
    for (int c = 0; c < C; c++) {
      double ss = 0;
      for (int i = c - lo > 0 ? c - lo : 0; i <= (c + hi < C - 1 ? c + hi : C - 1); i++) ss += x[p * C + i] * x[p * C + i];
      y[p * C + c] = x[p * C + c] / pow(a->bias + a->alpha / a->size * ss, a->beta);
    }
}

typedef struct {
  const lrn_attrs *a;
  size_t pixels;
  int c;
} lrn_ctx;
static void lrn_f(const double *x, void *vc, double *out) {
  const lrn_ctx *c = (const lrn_ctx *)vc;
  ref_lrn(c->a, c->pixels, c->c, x, out);
}

static const lrn_attrs ATTRS[] = {
    {5, 1e-4, 0.75, 1.0}, /* GoogLeNet's (Caffe's defaults): nearly the identity */
    {5, 2.0, 0.75, 1.0},  {3, 1.5, 0.75, 2.0}, {2, 1.0, 0.5, 1.0}, {1, 0.8, 1.0, 1.0},
    {6, 3.0, 0.6, 1.5},   {4, 1.0, 0.75, 0.5}, {9, 2.0, 1.3, 1.0},
};
#define N_ATTRS (sizeof ATTRS / sizeof ATTRS[0])
static const int CHANS[] = {1, 3, 4, 5, 7, 8, 13, 37, 64};

static void test_lrn(void) {
  for (int trial = 0; trial < 72; trial++) {
    const lrn_attrs *a = &ATTRS[trial % N_ATTRS];
    const int C = CHANS[trial / N_ATTRS % 9];
    const size_t pixels = trial % 4 == 0 ? 1 : (size_t)check_int(2, 9), n = pixels * C;
    const fv_lrn_shape s = lrn_of(a, pixels, C);
    float *x = fbuf(n), *y = fbuf(n), *dy = fbuf(n), *dx = fbuf(n), *p = fbuf(n);
    check_fill(x, n, -2, 2);
    check_fill(dy, n, -1, 1);
    check_fill(p, n, -1, 1);
    double *xd = to_double(x, n), *ref = dbuf(n), *g = dbuf(n);
    char what[120];
    snprintf(what, sizeof what, "LRN size %d alpha %g beta %g bias %g, %zu pixels × %d", a->size, a->alpha, a->beta,
             a->bias, pixels, C);

    for (size_t i = 0; i < n; i++) y[i] = 1e30f;
    fv_lrn(&s, x, y);
    ref_lrn(a, pixels, C, xd, ref);
    CHECK(ratio_fd(y, ref, n, 1e-6, 1e-5) <= 1, "%s: ratio %g", what, ratio_fd(y, ref, n, 1e-6, 1e-5));
    kernel_mark("lrn");

    lrn_ctx ctx = {a, pixels, C};
    fd_grad(lrn_f, &ctx, xd, n, dy, n, 1e-4, g);
    memcpy(dx, p, n * sizeof *dx);
    fv_lrn_grad(&s, x, y, dy, dx);
    double r = ratio_acc(dx, p, g, n, 1e-4, 1e-3);
    CHECK(r <= 1, "%s grad vs finite differences: ratio %g", what, r);
    kernel_mark("lrn_grad");
    free(x), free(y), free(dy), free(dx), free(p), free(xd), free(ref), free(g);
  }
  /* by hand, size 3, alpha 3 (1 per element), beta 1, bias 1, C = 2: t = 1 + x0² + x1² for both channels */
  {
    const fv_lrn_shape s = {1, 2, 1, 1, 1.0f, 1.0f, 1.0f};
    const float x[2] = {1.0f, 2.0f};
    float y[2];
    fv_lrn(&s, x, y);
    CHECK(fabsf(y[0] - 1.0f / 6.0f) < 1e-7f && fabsf(y[1] - 2.0f / 6.0f) < 1e-7f, "LRN by hand: %g %g", y[0], y[1]);
  }
}

#ifdef __wasm_simd128__
static int simd_vs_scalar(const kernel_pair *kp) {
  int cases = 0;
  for (int trial = 0; trial < 40; trial++, cases++) {
    const lrn_attrs *a = &ATTRS[trial % N_ATTRS];
    const int C = trial == 0 ? 4100 : trial < 4 ? 192 + trial : CHANS[check_int(0, 8)]; /* 4100: past the buffers */
    const size_t pixels = trial == 0 ? 2 : (size_t)check_int(1, 20), n = pixels * C;
    const fv_lrn_shape s = lrn_of(a, pixels, C);
    float *x = fbuf(n), *y = fbuf(n), *y1 = fbuf(n), *y2 = fbuf(n), *dy = fbuf(n);
    check_fill(x, n, -3, 3);
    check_fill(dy, n, -1, 1);
    const double tol = trial == 0 ? 0 : 1e-6; /* t^beta is rounded differently unless it falls back to scalar */
    if (!strcmp(kp->sig, "lrn")) {
      ((fv_lrn_fn *)kp->scalar)(&s, x, y1);
      ((fv_lrn_fn *)kp->simd)(&s, x, y2);
      CHECK(check_close_ratio(y2, y1, n, tol + 1e-30, tol) <= 1, "lrn SIMD vs scalar: C %d size %d beta %g", C,
            a->size, a->beta);
    } else {
      fv_lrn(&s, x, y);
      check_fill(y1, n, -1, 1);
      memcpy(y2, y1, n * sizeof(float));
      ((fv_lrn_grad_fn *)kp->scalar)(&s, x, y, dy, y1);
      ((fv_lrn_grad_fn *)kp->simd)(&s, x, y, dy, y2);
      CHECK(check_close_ratio(y2, y1, n, 4 * tol + 1e-30, 4 * tol) <= 1, "lrn_grad SIMD vs scalar: C %d size %d beta %g",
            C, a->size, a->beta);
    }
    free(x), free(y), free(y1), free(y2), free(dy);
  }
  return cases;
}
#endif

int main(void) {
  check_seed(20261202);
  const int mine = kernel_test_main("kernels_lrn", test_lrn, KERNEL_TWIN(simd_vs_scalar));
  CHECK(mine == 2, "kernels_lrn owns %d kernels of kernels.inc, not 2", mine);
  return check_summary("kernels_lrn");
}
