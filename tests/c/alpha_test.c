/* alpha_test.c — transparency (src/alpha.h) against independent references:
 * the composite against its formula, J's gradient in fg and alpha by central
 * differences of J computed here in double (the blur penalty with its stopped
 * gradient written out again), the background fresh each step, seeded, and
 * within [0, 1]; and the parameterization's alpha channel (param.h) by finite
 * differences, its colour params the same bits as without alpha. The twins
 * (scalar, and SIMD in wasm) give the bits of the formulas written here in
 * float in the scalar's order, on 35 pixels (8 vectors and a tail), in place too. */
#include "check.h"

#include "alpha.h"
#include "kernels/kernels.h"
#include "param.h"

enum { N = 2, H = 7, W = 6, NP = N * H * W };

/* Lucid's 3x3 blur of one plane (weights 1 centre, 0.5 around, normalized where the window fits) */
static void blur3(const double *x, double *out) {
  for (int n = 0; n < N; n++)
    for (int y = 0; y < H; y++)
      for (int xx = 0; xx < W; xx++) {
        double num = 0, den = 0;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++) {
            const int yy = y + dy, xq = xx + dx;
            if (yy < 0 || yy >= H || xq < 0 || xq >= W) continue;
            const double k = dy || dx ? 0.5 : 1.0;
            num += k * x[(n * H + yy) * W + xq];
            den += k;
          }
        out[(n * H + y) * W + xx] = num / den;
      }
}

/* J = (Σ wt·comp)(1 − mean α) − blur·0.5·Σ (α − fixed)², comp over bg */
static double objective_j(const float *fg, const double *al, const float *bg, const float *wt, const double *fixed,
                          double blur) {
  double o = 0, mean = 0, pen = 0;
  for (int i = 0; i < NP; i++) {
    mean += al[i] / NP;
    pen += 0.5 * (al[i] - fixed[i]) * (al[i] - fixed[i]);
    for (int c = 0; c < 3; c++) o += wt[3 * i + c] * (fg[3 * i + c] * al[i] + bg[3 * i + c] * (1 - al[i]));
  }
  return o * (1 - mean) - blur * pen;
}

static void test_composite_and_gradient(double blur) {
  fv_error err = {0, ""};
  fv_alpha *a = fv_alpha_new(N, H, W, (float)blur, 5, &err);
  CHECK(a != NULL, "fv_alpha_new: %s", err.msg);
  if (!a) return;
  float fg[NP * 3], al[NP], wt[NP * 3], dcomp[NP * 3], dfg[NP * 3], dal[NP], bg[NP * 3];
  check_fill(fg, NP * 3, 0, 1);
  check_fill(al, NP, 0.05f, 0.95f);
  check_fill(wt, NP * 3, -1, 1);
  const float *comp = fv_alpha_composite(a, fg, al);
  memcpy(bg, fv_alpha_background(a), sizeof bg);
  double worst = 0, o = 0, lo = 1, hi = 0;
  for (int i = 0; i < NP; i++)
    for (int c = 0; c < 3; c++) {
      const double want = fg[3 * i + c] * al[i] + bg[3 * i + c] * (1.0 - al[i]);
      worst = fmax(worst, fabs(comp[3 * i + c] - want));
      o += wt[3 * i + c] * comp[3 * i + c];
      lo = fmin(lo, bg[3 * i + c]), hi = fmax(hi, bg[3 * i + c]);
    }
  CHECK(worst < 1e-6, "composite: worst error %g", worst);
  CHECK(lo > 0 && hi < 1 && hi - lo > 0.05, "background in (0, 1) and not flat: %g..%g", lo, hi);
  for (int i = 0; i < NP * 3; i++) dcomp[i] = -wt[i]; /* L = −O */
  double ald[NP], fixed[NP];
  for (int i = 0; i < NP; i++) ald[i] = al[i];
  blur3(ald, fixed);
  const double j = fv_alpha_backward(a, o, dcomp, fg, al, dfg, dal);
  const double jr = objective_j(fg, ald, bg, wt, fixed, blur);
  CHECK(fabs(j - jr) < 1e-4 * (1 + fabs(jr)), "J %g, reference %g", j, jr);
  int bad = 0;
  double worst_rel = 0;
  const double eps = 1e-3;
  for (int i = 0; i < NP; i++) { /* dL/dα = −dJ/dα */
    double keep = ald[i];
    ald[i] = keep + eps;
    double jp = objective_j(fg, ald, bg, wt, fixed, blur);
    ald[i] = keep - eps;
    double jm = objective_j(fg, ald, bg, wt, fixed, blur);
    ald[i] = keep;
    double fd = -(jp - jm) / (2 * eps), e = fabs(fd - dal[i]) / (1e-3 + fabs(fd));
    worst_rel = fmax(worst_rel, e);
    bad += e > 1e-3;
  }
  for (int i = 0; i < NP * 3; i++) {
    float f[NP * 3];
    memcpy(f, fg, sizeof f);
    f[i] = fg[i] + (float)eps;
    double jp = objective_j(f, ald, bg, wt, fixed, blur);
    f[i] = fg[i] - (float)eps;
    double jm = objective_j(f, ald, bg, wt, fixed, blur);
    double fd = -(jp - jm) / (2 * eps), e = fabs(fd - dfg[i]) / (1e-3 + fabs(fd));
    worst_rel = fmax(worst_rel, e);
    bad += e > 1e-2;
  }
  CHECK(bad == 0, "blur %g: finite differences of J, worst rel err %g", blur, worst_rel);
  /* in place (dfg = dcomp), as the render calls it */
  float dd[NP * 3], dal2[NP];
  memcpy(dd, dcomp, sizeof dd);
  fv_alpha_backward(a, o, dd, fg, al, dd, dal2);
  CHECK(memcmp(dd, dfg, sizeof dd) == 0 && memcmp(dal2, dal, sizeof dal) == 0, "in place gives the same bits");
  /* the next step draws another background; a second object with the seed draws the same ones */
  fv_alpha_composite(a, fg, al);
  CHECK(memcmp(fv_alpha_background(a), bg, sizeof bg) != 0, "a fresh background each step");
  fv_alpha *b = fv_alpha_new(N, H, W, (float)blur, 5, &err);
  fv_alpha_composite(b, fg, al);
  CHECK(memcmp(fv_alpha_background(b), bg, sizeof bg) == 0, "the same seed draws the same backgrounds");
  fv_alpha_free(b);
  fv_alpha_free(a);
}

static void test_refusals(void) {
  fv_error err = {0, ""};
  CHECK(fv_alpha_new(1, 8, 8, -1, 0, &err) == NULL && err.code == FV_ERR_BAD_ARG, "negative blur refused");
  CHECK(fv_alpha_new(1, 8, 8, NAN, 0, &err) == NULL && err.code == FV_ERR_BAD_ARG, "NaN blur refused");
  CHECK(fv_alpha_new(1, 0, 8, 0, 0, &err) == NULL && err.code == FV_ERR_BAD_ARG, "empty image refused: %s", err.msg);
}

/* composite and adjoint with SIMD on and off against the scalar's float formulas, bit for bit */
static void test_twins(int simd) {
  enum { TP = 5 * 7 };
  fv_error err = {0, ""};
  fv_alpha *a = fv_alpha_new(1, 5, 7, 0, 9, &err);
  CHECK(a != NULL, "fv_alpha_new: %s", err.msg);
  if (!a) return;
  float fg[TP * 3], al[TP], dc[TP * 3], want[TP * 3], dfg[TP * 3], dal[TP], wdfg[TP * 3], wdal[TP], dd[TP * 3], dal2[TP];
  check_fill(fg, TP * 3, 0, 1);
  check_fill(al, TP, 0, 1);
  check_fill(dc, TP * 3, -1, 1);
  al[3] = 0, al[4] = 1, dc[0] = dc[1] = dc[2] = -0.0f; /* the ends of α; a pixel of −0 gradients (Σ starts at +0) */
  fv_kernels_set_simd(simd);
  const float *comp = fv_alpha_composite(a, fg, al);
  const float *bg = fv_alpha_background(a);
  for (int i = 0; i < TP; i++)
    for (int c = 0; c < 3; c++) want[3 * i + c] = fg[3 * i + c] * al[i] + bg[3 * i + c] * (1.0f - al[i]);
  CHECK(memcmp(comp, want, sizeof want) == 0, "simd %d: the composite has the formula's bits", simd);
  const double o = 0.37;
  fv_alpha_backward(a, o, dc, fg, al, dfg, dal);
  double mean = 0;
  for (int i = 0; i < TP; i++) mean += al[i];
  mean /= TP;
  const float keep = (float)(1.0 - mean), tm = (float)(o / TP);
  for (int i = 0; i < TP; i++) {
    float d = 0;
    for (int c = 0; c < 3; c++) {
      const float g = keep * dc[3 * i + c];
      wdfg[3 * i + c] = g * al[i];
      d += g * (fg[3 * i + c] - bg[3 * i + c]);
    }
    wdal[i] = d + tm;
  }
  CHECK(memcmp(dfg, wdfg, sizeof dfg) == 0 && memcmp(dal, wdal, sizeof dal) == 0,
        "simd %d: the adjoint has the formulas' bits", simd);
  memcpy(dd, dc, sizeof dd);
  fv_alpha_backward(a, o, dd, fg, al, dd, dal2); /* dfg = dcomp */
  CHECK(memcmp(dd, wdfg, sizeof dd) == 0 && memcmp(dal2, wdal, sizeof dal2) == 0, "simd %d: the adjoint in place", simd);
  fv_kernels_set_simd(1);
  fv_alpha_free(a);
}

/* the parameterization's alpha: L = Σ wt·rgb + Σ u·α, central differences over colour and alpha params */
static void test_param_alpha(int kind) {
  fv_param_opts o;
  fv_param_opts_default(&o);
  o.kind = kind, o.n = N, o.h = H, o.w = W, o.sd = kind == FV_PARAM_FFT ? 2.0f : 1.0f, o.seed = 3;
  fv_error err = {0, ""};
  fv_param *plain = fv_param_new(&o, &err);
  o.alpha = 1;
  fv_param *p = fv_param_new(&o, &err);
  CHECK(p && plain, "fv_param_new with alpha: %s", err.msg);
  if (!p || !plain) return;
  const size_t nc = fv_param_count(plain), np = fv_param_count(p);
  CHECK(np == nc + (kind == FV_PARAM_FFT ? (size_t)N * H * (W / 2 + 1) * 2 : (size_t)NP), "alpha adds one plane per image");
  CHECK(memcmp(fv_param_values(p), fv_param_values(plain), nc * sizeof(float)) == 0, "colour init unchanged by alpha");
  CHECK(memcmp(fv_param_render(p), fv_param_render(plain), NP * 3 * sizeof(float)) == 0, "colour image unchanged by alpha");
  CHECK(fv_param_alpha(plain) == NULL, "no alpha without alpha");
  float wt[NP * 3], u[NP];
  check_fill(wt, NP * 3, -1, 1);
  check_fill(u, NP, -1, 1);
  float *g = (float *)malloc(np * sizeof(float));
  fv_param_render(p);
  memcpy(g, fv_param_backward_rgba(p, wt, u), np * sizeof(float));
  float *v = fv_param_values(p);
  int bad = 0;
  double worst = 0;
  for (int t = 0; t < 60; t++) {
    size_t i = t < 30 ? (size_t)check_int((int)nc, (int)np - 1) : (size_t)check_int(0, (int)nc - 1);
    if (t == 0) i = nc; /* alpha's DC bin */
    const float keep = v[i], eps = 1e-2f;
    double l[2];
    for (int s = 0; s < 2; s++) {
      v[i] = keep + (s ? -eps : eps);
      const float *rgb = fv_param_render(p), *a = fv_param_alpha(p);
      double sum = 0;
      for (int k = 0; k < NP * 3; k++) sum += (double)wt[k] * rgb[k];
      for (int k = 0; k < NP; k++) sum += (double)u[k] * a[k];
      l[s] = sum;
    }
    v[i] = keep;
    const double fd = (l[0] - l[1]) / (2.0 * eps), e = fabs(fd - g[i]) / (1e-3 + fabs(fd));
    worst = fmax(worst, e);
    bad += e > 2e-2;
  }
  CHECK(bad == 0, "kind %d alpha: finite differences, worst rel err %g", kind, worst);
  const float *a = fv_param_alpha(p);
  double lo = 1, hi = 0;
  for (int k = 0; k < NP; k++) lo = fmin(lo, a[k]), hi = fmax(hi, a[k]);
  CHECK(lo > 0 && hi < 1 && hi > lo, "alpha in (0, 1) and not flat: %g..%g", lo, hi);
  /* NULL dalpha: no gradient for alpha's params */
  const float *g0 = fv_param_backward(p, wt);
  int nonzero = 0;
  for (size_t k = nc; k < np; k++) nonzero += g0[k] != 0;
  CHECK(nonzero == 0, "no dalpha, no alpha gradient (%d nonzero)", nonzero);
  free(g);
  fv_param_free(p);
  fv_param_free(plain);
}

int main(void) {
  check_seed(20261202);
  test_twins(0);
  test_twins(1);
  test_refusals();
  test_composite_and_gradient(0.1);
  test_composite_and_gradient(0);
  test_composite_and_gradient(3);
  test_param_alpha(FV_PARAM_FFT);
  test_param_alpha(FV_PARAM_PIXEL);
  return check_summary("alpha");
}
