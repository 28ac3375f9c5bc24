/* kernels_unary_test.c — the standalone activations of FV_OP_ACT (unary.c),
 * forward and input-gradient.
 *
 * The reference is each activation's ONNX definition written here in double
 * (Relu, Clip(min, max), LeakyRelu(alpha), Sigmoid, HardSigmoid(alpha, beta),
 * HardSwish = x·max(0, min(1, x/6 + 1/2)), Tanh), on inputs that cross every
 * kink and reach far into the tails (±100, where exp over/underflows). The
 * gradient is held to central differences of the reference away from the
 * kinks, and at the kinks (x exactly on a bound) to the rule unary.c states:
 * a unit on a bound is clamped. dx is always prefilled (gradients
 * accumulate). In wasm the SIMD twin is held to the scalar kernel: bit for bit
 * for the piecewise-linear activations, to a few ulps for SIGMOID and TANH
 * (exp4), and everything runs again with SIMD off.
 */
#include "kernel_test.h"

static const char *const ACT_NAME[FV_ACT_COUNT] = {"NONE",    "RELU",         "RELU6",      "CLIP", "LEAKY_RELU",
                                                   "SIGMOID", "HARD_SIGMOID", "HARD_SWISH", "TANH"};

/* parameters per activation: CLIP's bounds, LEAKY_RELU's slope, HARD_SIGMOID's alpha and beta */
static fv_act_params params_of(fv_act act, int variant) {
  fv_act_params u = {act, 0.0f, 0.0f};
  if (act == FV_ACT_CLIP) u.a = variant ? -1.5f : 0.0f, u.b = variant ? 0.25f : 6.0f;
  if (act == FV_ACT_LEAKY_RELU) u.a = variant ? 0.01f : 0.3f;
  if (act == FV_ACT_HARD_SIGMOID) u.a = variant ? 0.2f : 1.0f / 6.0f, u.b = 0.5f;
  return u;
}

static double ref_f(const fv_act_params *u, double x) {
  switch (u->act) {
    case FV_ACT_RELU: return x > 0 ? x : 0;
    case FV_ACT_RELU6: return fmin(6, fmax(0, x));
    case FV_ACT_CLIP: return fmin(u->b, fmax(u->a, x));
    case FV_ACT_LEAKY_RELU: return x < 0 ? u->a * x : x;
    case FV_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case FV_ACT_HARD_SIGMOID: return fmax(0, fmin(1, u->a * x + u->b));
    case FV_ACT_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
    case FV_ACT_TANH: return tanh(x);
    default: return x;
  }
}

/* the kinks of f, where the derivative jumps; returns their number */
static int kinks_of(const fv_act_params *u, double k[2]) {
  switch (u->act) {
    case FV_ACT_RELU:
    case FV_ACT_LEAKY_RELU: k[0] = 0; return 1;
    case FV_ACT_RELU6: k[0] = 0, k[1] = 6; return 2;
    case FV_ACT_CLIP: k[0] = u->a, k[1] = u->b; return 2;
    case FV_ACT_HARD_SIGMOID: k[0] = -u->b / u->a, k[1] = (1 - u->b) / u->a; return 2;
    case FV_ACT_HARD_SWISH: k[0] = -3, k[1] = 3; return 2;
    default: return 0;
  }
}

/* dy · f'(x): central differences of the reference, with a step that stays on x's side of every kink;
 * on a kink, unary.c's rule (a unit on a bound is clamped; LEAKY_RELU at 0 and HARD_SWISH at ±3 take
 * the piece their formula's comparison gives). */
static double ref_grad1(const fv_act_params *u, float xf, float dy) {
  const double x = xf;
  double k[2], h = 1e-4;
  const int nk = kinks_of(u, k);
  if (u->act == FV_ACT_HARD_SIGMOID) { /* decide on the float a·x + b, as the formula does */
    const float v = u->a * xf + u->b;
    if (v <= 0.0f || v >= 1.0f) return 0;
    return dy * (double)u->a;
  }
  for (int i = 0; i < nk; i++) {
    if (x == k[i]) {
      if (u->act == FV_ACT_LEAKY_RELU) return dy; /* x < 0 is false: the identity piece */
      if (u->act == FV_ACT_HARD_SWISH) return x > 0 ? dy : 0;
      return 0;
    }
    if (fabs(x - k[i]) < 4 * h) h = fabs(x - k[i]) / 4;
  }
  if (fabs(x) > 50 && (u->act == FV_ACT_SIGMOID || u->act == FV_ACT_TANH)) return 0; /* saturated */
  return dy * (ref_f(u, x + h) - ref_f(u, x - h)) / (2 * h);
}

/* x: the kinks themselves, points near them, a spread, the tails */
static void fill_x(const fv_act_params *u, float *x, size_t n) {
  const float special[] = {0.0f, -0.0f, 6.0f, 3.0f, -3.0f, u->a, u->b, -100.0f, 100.0f, 1e-8f, -1e-8f, 20.0f, -20.0f,
                           (u->act == FV_ACT_HARD_SIGMOID ? -u->b / u->a : 0.5f), 0.001f, -0.001f, 6.001f, 2.999f};
  const size_t ns = sizeof special / sizeof special[0];
  for (size_t i = 0; i < n; i++) x[i] = i < ns ? special[i] : check_uniform(-8, 8);
}

static void test_unary(void) {
  static const size_t SIZES[] = {1, 3, 4, 7, 18, 37, 200};
  for (int act = 0; act < FV_ACT_COUNT; act++)
    for (int variant = 0; variant < 2; variant++)
      for (size_t si = 0; si < sizeof SIZES / sizeof SIZES[0]; si++) {
        const fv_act_params u = params_of((fv_act)act, variant);
        const size_t n = SIZES[si] < 18 ? SIZES[si] + 18 : SIZES[si]; /* every special value at least once */
        float *x = fbuf(n), *y = fbuf(n + 1), *dy = fbuf(n), *dx = fbuf(n), *p = fbuf(n);
        double *ref = dbuf(n), *g = dbuf(n);
        fill_x(&u, x, n);
        check_fill(dy, n, -1, 1);
        check_fill(p, n, -1, 1);
        for (size_t i = 0; i < n; i++) ref[i] = ref_f(&u, x[i]);
        for (size_t i = 0; i <= n; i++) y[i] = 1e30f;
        fv_unary(&u, n, x, y);
        /* to a few ulps of the result, or of the float sums inside: SIGMOID and TANH (exp; TANH's SIMD form
         * is absolute near 0), HARD_SIGMOID (a·x + b) and HARD_SWISH (x + 3) near their clamps */
        const int sums = act == FV_ACT_SIGMOID || act == FV_ACT_TANH || act == FV_ACT_HARD_SIGMOID ||
                         act == FV_ACT_HARD_SWISH;
        const double atol = sums ? 2e-7 : 0, rtol = sums ? 1e-6 : 1e-7;
        CHECK(ratio_fd(y, ref, n, atol + 1e-30, rtol) <= 1 && y[n] == 1e30f, "%s (%g, %g) n=%zu: ratio %g",
              ACT_NAME[act], (double)u.a, (double)u.b, n, ratio_fd(y, ref, n, atol + 1e-30, rtol));
        kernel_mark("unary");

        for (size_t i = 0; i < n; i++) g[i] = ref_grad1(&u, x[i], dy[i]);
        memcpy(dx, p, n * sizeof *dx);
        fv_unary_grad(&u, n, x, y, dy, dx);
        CHECK(ratio_acc(dx, p, g, n, 1e-4, 1e-3) <= 1, "%s (%g, %g) grad n=%zu: ratio %g",
              ACT_NAME[act], (double)u.a, (double)u.b, n, ratio_acc(dx, p, g, n, 1e-4, 1e-3));
        kernel_mark("unary_grad");
        free(x), free(y), free(dy), free(dx), free(p), free(ref), free(g);
      }
  /* NaN passes through the clamps (as the fused ones); in place works (y = x) */
  {
    const fv_act_params u = params_of(FV_ACT_CLIP, 1);
    float v[5] = {NAN, -3, 0, 0.1f, 9};
    fv_unary(&u, 5, v, v);
    CHECK(isnan(v[0]) && v[1] == -1.5f && v[2] == 0 && v[3] == 0.1f && v[4] == 0.25f, "CLIP in place: %g %g %g %g",
          v[1], v[2], v[3], v[4]);
  }
}

#ifdef __wasm_simd128__
static int simd_vs_scalar(const kernel_pair *kp) {
  int cases = 0;
  for (int act = 0; act < FV_ACT_COUNT; act++)
    for (int trial = 0; trial < 6; trial++, cases++) {
      const fv_act_params u = params_of((fv_act)act, trial % 2);
      const size_t n = trial < 2 ? (size_t)(trial * 5 + 18) : (size_t)check_int(1, 2000);
      float *x = fbuf(n), *y = fbuf(n), *a = fbuf(n), *b = fbuf(n), *dy = fbuf(n);
      fill_x(&u, x, n);
      check_fill(dy, n, -1, 1);
      const int smooth = act == FV_ACT_SIGMOID || act == FV_ACT_TANH; /* exp4: a few ulps */
      if (!strcmp(kp->sig, "unary")) {
        ((fv_unary_fn *)kp->scalar)(&u, n, x, a);
        ((fv_unary_fn *)kp->simd)(&u, n, x, b);
      } else {
        fv_unary(&u, n, x, y);
        check_fill(a, n, -1, 1);
        memcpy(b, a, n * sizeof *a);
        ((fv_unary_grad_fn *)kp->scalar)(&u, n, x, y, dy, a);
        ((fv_unary_grad_fn *)kp->simd)(&u, n, x, y, dy, b);
      }
      if (smooth) CHECK(check_close_ratio(b, a, n, 2e-7, 2e-6) <= 1, "%s %s SIMD vs scalar n=%zu", kp->op, ACT_NAME[act], n);
      else CHECK(mismatch_ff(b, a, n) == 0, "%s %s SIMD vs scalar n=%zu: %zu differ", kp->op, ACT_NAME[act], n,
                 mismatch_ff(b, a, n));
      free(x), free(y), free(a), free(b), free(dy);
    }
  return cases;
}
#endif

int main(void) {
  check_seed(20261203);
  const int mine = kernel_test_main("kernels_unary", test_unary, KERNEL_TWIN(simd_vs_scalar));
  CHECK(mine == 2, "kernels_unary owns %d kernels of kernels.inc, not 2", mine);
  return check_summary("kernels_unary");
}
