/* lowres_test.c — low-resolution tensors (src/lowres.h) and the parameterizations
 * built of them (param.h: LAPLACIAN, shared): TF 1's legacy bilinear resize against
 * values worked out by hand, the adjoint identity <up(x), y> = <x, upᵀ(y)> in
 * double, and the whole chain (levels, Fourier or pixel base, colour, sigmoid,
 * alpha) by central differences; the frames of a shared render share structure.
 * The twins of the forward and the adjoint (scalar, and SIMD in wasm for c = 3)
 * give the same bits on widths with and without a tail, up and equal sizes,
 * c = 3 and 4. */
#include "check.h"

#include "kernels/kernels.h"
#include "lowres.h"
#include "param.h"

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

static void test_by_hand(void) {
  /* one axis, 2 → 4 (TF 1 without align_corners: source o·2/4): s0, (s0+s1)/2, s1, s1 */
  fv_lowres t = {1, 1, 2, 1, 1, 4, 1};
  const float src[2] = {1, 3};
  float dst[4] = {10, 10, 10, 10};
  fv_lowres_up(&t, src, dst);
  CHECK(dst[0] == 11 && dst[1] == 12 && dst[2] == 13 && dst[3] == 13, "2→4 along w (added): %g %g %g %g", dst[0], dst[1], dst[2], dst[3]);
  /* 3 → 6 along the batch, 2 channels: o·3/6 = 0, .5, 1, 1.5, 2, 2.5 */
  fv_lowres b = {3, 1, 1, 6, 1, 1, 2};
  const float s3[6] = {0, 1, 2, 3, 4, 5};
  float d6[12] = {0};
  fv_lowres_up(&b, s3, d6);
  const float want[12] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 4, 5};
  CHECK(memcmp(d6, want, sizeof want) == 0, "3→6 along the batch, channels kept");
}

static void test_adjoint(int sn, int sh, int sw, int dn, int dh, int dw) {
  fv_lowres t = {sn, sh, sw, dn, dh, dw, 3};
  const size_t ns = fv_lowres_count(&t), nd = (size_t)dn * dh * dw * 3;
  float *x = (float *)malloc(ns * sizeof(float)), *y = (float *)malloc(nd * sizeof(float));
  float *ux = (float *)calloc(nd, sizeof(float)), *aty = (float *)malloc(ns * sizeof(float));
  check_fill(x, ns, -1, 1);
  check_fill(y, nd, -1, 1);
  fv_lowres_up(&t, x, ux);
  fv_lowres_up_adjoint(&t, y, aty);
  const double l = dot(ux, y, nd), r = dot(x, aty, ns);
  CHECK(fabs(l - r) < 1e-4 * (1 + fabs(l)), "%dx%dx%d → %dx%dx%d: <up x, y> %g, <x, upT y> %g", sn, sh, sw, dn, dh, dw, l, r);
  free(x), free(y), free(ux), free(aty);
}

static void test_fd(int kind, int shared, int alpha, int decorrelate) {
  fv_param_opts o;
  fv_param_opts_default(&o);
  o.kind = kind, o.n = 3, o.h = 16, o.w = 12, o.shared = shared, o.alpha = alpha, o.decorrelate = decorrelate;
  o.sd = 0.5f, o.seed = 8;
  fv_error err = {0, ""};
  fv_param *p = fv_param_new(&o, &err);
  CHECK(p != NULL, "kind %d shared %d: %s", kind, shared, err.msg);
  if (!p) return;
  const size_t np = fv_param_count(p), ni = 3 * 16 * 12 * 3, na = ni / 3;
  float *wt = (float *)malloc(ni * sizeof(float)), *u = (float *)malloc(na * sizeof(float)), *g = (float *)malloc(np * sizeof(float));
  check_fill(wt, ni, -1, 1);
  check_fill(u, na, -1, 1);
  fv_param_render(p);
  memcpy(g, fv_param_backward_rgba(p, wt, alpha ? u : NULL), np * sizeof(float));
  float *v = fv_param_values(p);
  int bad = 0;
  double worst = 0;
  for (int t = 0; t < 60; t++) {
    size_t i = (size_t)check_int(0, (int)np - 1);
    if (t < 20) i = np - 1 - (size_t)check_int(0, 200); /* the last levels: the coarsest, most shared */
    const float keep = v[i], eps = 1e-2f;
    double l[2];
    for (int s = 0; s < 2; s++) {
      v[i] = keep + (s ? -eps : eps);
      l[s] = dot(fv_param_render(p), wt, ni) + (alpha ? dot(fv_param_alpha(p), u, na) : 0);
    }
    v[i] = keep;
    const double fd = (l[0] - l[1]) / (2.0 * eps), e = fabs(fd - g[i]) / (1e-3 + fabs(fd));
    worst = fmax(worst, e);
    bad += e > 2e-2;
  }
  CHECK(bad == 0, "kind %d shared %d alpha %d decorrelate %d: finite differences, worst rel err %g", kind, shared, alpha,
        decorrelate, worst);
  free(wt), free(u), free(g);
  fv_param_free(p);
}

/* with shared levels, a coarse change moves every frame; a base change only its own */
static void test_sharing(void) {
  fv_param_opts o;
  fv_param_opts_default(&o);
  o.n = 4, o.h = o.w = 32, o.shared = 1, o.seed = 2;
  fv_error err = {0, ""};
  fv_param *p = fv_param_new(&o, &err), *plain;
  o.shared = 0;
  plain = fv_param_new(&o, &err);
  CHECK(p && plain, "shared: %s", err.msg);
  if (!p || !plain) return;
  CHECK(memcmp(fv_param_values(p), fv_param_values(plain), fv_param_count(plain) * sizeof(float)) == 0,
        "the per-frame params draw the same init with sharing on");
  const size_t np = fv_param_count(p), frame = 32 * 32 * 3;
  float *before = (float *)malloc(4 * frame * sizeof(float));
  memcpy(before, fv_param_render(p), 4 * frame * sizeof(float));
  fv_param_values(p)[np - 1] += 5.0f; /* the last [2][2][2][3] level's last param */
  const float *after = fv_param_render(p);
  int moved = 0;
  for (int b = 0; b < 4; b++) moved += memcmp(before + b * frame, after + b * frame, frame * sizeof(float)) != 0;
  CHECK(moved >= 2, "a shared coarse param moves %d of 4 frames", moved);
  free(before);
  fv_param_free(p);
  fv_param_free(plain);
  o.kind = FV_PARAM_CPPN, o.shared = 1;
  CHECK(fv_param_new(&o, &err) == NULL && err.code == FV_ERR_BAD_ARG, "shared with a CPPN refused");
}

/* fv_lowres_up with SIMD off and on into the same prefilled dst, and the adjoint: the same bits */
static void test_twins(int sn, int sh, int sw, int dn, int dh, int dw, int c) {
  const fv_lowres t = {sn, sh, sw, dn, dh, dw, c};
  const size_t ns = fv_lowres_count(&t), nd = (size_t)dn * dh * dw * c;
  float *x = (float *)malloc(ns * sizeof(float)), *d[2] = {(float *)malloc(nd * sizeof(float)), (float *)malloc(nd * sizeof(float))};
  check_fill(x, ns, -1, 1);
  check_fill(d[0], nd, -1, 1);
  memcpy(d[1], d[0], nd * sizeof(float));
  for (int simd = 0; simd < 2; simd++) {
    fv_kernels_set_simd(simd);
    fv_lowres_up(&t, x, d[simd]);
  }
  fv_kernels_set_simd(1);
  CHECK(memcmp(d[0], d[1], nd * sizeof(float)) == 0, "%dx%dx%d -> %dx%dx%d, c %d: the twins' bits differ", sn, sh, sw, dn,
        dh, dw, c);
  float *g[2] = {(float *)malloc(ns * sizeof(float)), (float *)malloc(ns * sizeof(float))};
  for (int simd = 0; simd < 2; simd++) {
    fv_kernels_set_simd(simd);
    fv_lowres_up_adjoint(&t, d[0], g[simd]);
  }
  fv_kernels_set_simd(1);
  CHECK(memcmp(g[0], g[1], ns * sizeof(float)) == 0, "%dx%dx%d -> %dx%dx%d, c %d: the adjoint twins' bits differ", sn, sh,
        sw, dn, dh, dw, c);
  free(x), free(d[0]), free(d[1]), free(g[0]), free(g[1]);
}

int main(void) {
  check_seed(20261204);
  test_by_hand();
  test_adjoint(1, 4, 3, 5, 16, 12);
  test_adjoint(2, 2, 2, 6, 16, 16);
  test_adjoint(3, 7, 5, 3, 7, 5); /* the identity */
  test_adjoint(1, 1, 1, 2, 9, 4);
  test_fd(FV_PARAM_LAPLACIAN, 0, 0, 1);
  test_fd(FV_PARAM_LAPLACIAN, 0, 1, 0);
  test_fd(FV_PARAM_FFT, 1, 0, 1);
  test_fd(FV_PARAM_FFT, 1, 1, 1);
  test_fd(FV_PARAM_PIXEL, 1, 0, 1);
  test_fd(FV_PARAM_LAPLACIAN, 1, 0, 1);
  test_sharing();
  test_twins(1, 4, 3, 1, 16, 12, 3); /* ×4: whole vectors */
  test_twins(2, 5, 7, 3, 17, 23, 3); /* a tail of 3, batch taps */
  test_twins(1, 9, 13, 1, 9, 13, 3); /* the identity */
  test_twins(1, 3, 2, 1, 5, 1, 3);   /* width 1: the tail alone */
  test_twins(1, 16, 16, 1, 32, 33, 3); /* a Laplacian level's ×2, a tail of 1 */
  test_twins(1, 4, 5, 2, 9, 11, 4);  /* c = 4: the scalar row */
  return check_summary("lowres");
}
