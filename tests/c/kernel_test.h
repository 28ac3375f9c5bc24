/* kernel_test.h — what the kernel tests (tests/c/kernels_*_test.c) share:
 * the inventory src/kernels/kernels.inc as a table, which test holds each
 * signature's kernels to their references, and small buffer and comparison
 * helpers.
 *
 * Each test walks kernel_pairs, runs every pair whose signature it owns
 * (kernel_owner) against its references and, in wasm, the SIMD twin against
 * the scalar kernel, and fails on a pair it owns but has no case for;
 * kernels_misc_test also fails on a signature nobody owns. So a kernel added
 * to kernels.inc is tested by construction.
 */
#ifndef FV_KERNEL_TEST_H
#define FV_KERNEL_TEST_H

#include "check.h"
#include "kernels/kernels.h"

/* ==== the inventory ================================================================= */

typedef void (*any_fn)(void); /* the one function-pointer type any other may be cast to and back */
typedef struct {
  const char *op, *sig;
  any_fn scalar, simd; /* simd NULL: scalar only (FV_SCALAR), or a native build */
} kernel_pair;

#ifdef __wasm_simd128__
#define FV_KERNEL(op, sig) {#op, #sig, (any_fn)fv_f32_##op##__scalar, (any_fn)fv_f32_##op##__wasmsimd},
#else
#define FV_KERNEL(op, sig) {#op, #sig, (any_fn)fv_f32_##op##__scalar, NULL},
#endif
#define FV_SCALAR(op, sig) {#op, #sig, (any_fn)fv_f32_##op##__scalar, NULL},
#define FV_TWIN(module, name, entry) /* tested by tests/c/<module>_test.c through entry */
static const kernel_pair kernel_pairs[] = {
#include "kernels/kernels.inc"
};
#undef FV_KERNEL
#undef FV_SCALAR
#undef FV_TWIN
#define N_KERNEL_PAIRS (sizeof kernel_pairs / sizeof kernel_pairs[0])

/* The test program that owns each signature, or NULL. */
static inline const char *kernel_owner(const char *sig) {
  static const char *const owners[][2] = {
      {"conv", "kernels_conv"},      {"conv_grad", "kernels_conv"},     {"fc", "kernels_conv"},
      {"fc_grad", "kernels_conv"},   {"bcast", "kernels_misc"},         {"bcast_grad", "kernels_misc"},
      {"bcast_grad_ab", "kernels_misc"}, {"pool", "kernels_misc"},      {"pool_grad", "kernels_misc"},
      {"pool_grad_x", "kernels_misc"}, {"pool_idx", "kernels_misc"},    {"pool_grad_idx", "kernels_misc"},
      {"act_apply", "kernels_misc"},   {"act_grad", "kernels_misc"},
      {"reduce", "kernels_misc"},    {"reduce_grad", "kernels_misc"},   {"pad", "kernels_misc"},
      {"pad_grad", "kernels_misc"},  {"concat", "kernels_misc"},        {"concat_grad", "kernels_misc"},
      {"softmax", "kernels_misc"},   {"softmax_grad", "kernels_misc"},  {"unary", "kernels_unary"},
      {"unary_grad", "kernels_unary"}, {"lrn", "kernels_lrn"},          {"lrn_grad", "kernels_lrn"},
      {"slice", "kernels_layout"},   {"slice_grad", "kernels_layout"},  {"transpose", "kernels_layout"},
      {"transpose_grad", "kernels_layout"},
  };
  for (size_t i = 0; i < sizeof owners / sizeof owners[0]; i++)
    if (!strcmp(owners[i][0], sig)) return owners[i][1];
  return NULL;
}

/* Reference cases per kernel, counted by the tests as they run them (kernel_mark)
 * and read back per listed kernel (kernel_marks). */
static struct {
  const char *op;
  int n;
} kernel_marks_[128];
static inline void kernel_mark(const char *op) {
  size_t i = 0;
  while (i < 128 && kernel_marks_[i].op && strcmp(kernel_marks_[i].op, op)) i++;
  if (i == 128) return;
  kernel_marks_[i].op = op;
  kernel_marks_[i].n++;
}
static inline int kernel_marks(const char *op) {
  for (size_t i = 0; i < 128 && kernel_marks_[i].op; i++)
    if (!strcmp(kernel_marks_[i].op, op)) return kernel_marks_[i].n;
  return 0;
}

/* Runs run(kp) for every pair `me` owns; run returns how many cases it ran (0: none for that kernel). */
static inline int for_my_kernels(const char *me, int (*run)(const kernel_pair *kp)) {
  int mine = 0;
  for (size_t i = 0; i < N_KERNEL_PAIRS; i++) {
    const kernel_pair *kp = &kernel_pairs[i];
    const char *owner = kernel_owner(kp->sig);
    if (!owner || strcmp(owner, me)) continue;
    mine++;
    CHECK(run(kp) > 0, "%s (%s): listed in kernels.inc but %s has no case for it", kp->op, kp->sig, me);
  }
  return mine;
}

/* The main of a kernel test: refs() (the references through the dispatching
 * names, so SIMD in wasm), again with SIMD off in wasm, then every kernel `me`
 * owns must have had reference cases and, in wasm, its SIMD twin is run
 * against its scalar kernel by twin(kp) (NULL when `me` owns scalar kernels
 * only). Returns the number of kernels `me` owns. */
static int (*kernel_twin_)(const kernel_pair *kp);
/* twin for kernel_test_main: the test's SIMD-vs-scalar function, which exists in SIMD builds only */
#ifdef __wasm_simd128__
#define KERNEL_TWIN(f) (f)
#else
#define KERNEL_TWIN(f) NULL
#endif
static inline int kernel_run_(const kernel_pair *kp) {
  int cases = kernel_marks(kp->op);
#ifdef __wasm_simd128__
  if (kp->simd) {
    const int twin = kernel_twin_ ? kernel_twin_(kp) : 0;
    CHECK(twin > 0, "%s: no SIMD-vs-scalar case", kp->op);
    if (!twin) cases = 0;
  }
#endif
  return cases;
}
static inline int kernel_test_main(const char *me, void (*refs)(void), int (*twin)(const kernel_pair *kp)) {
  refs();
#ifdef __wasm_simd128__
  fv_kernels_set_simd(0);
  CHECK(!fv_kernels_simd_enabled(), "SIMD switched off");
  refs();
  fv_kernels_set_simd(1);
#endif
  kernel_twin_ = twin;
  const int mine = for_my_kernels(me, kernel_run_);
  printf("%s: %d kernels of kernels.inc held to their references\n", me, mine);
  return mine;
}

/* ==== buffers and comparisons ========================================================= */

static inline float *fbuf(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }
static inline double *dbuf(size_t n) { return (double *)calloc(n ? n : 1, sizeof(double)); }
static inline double *to_double(const float *x, size_t n) {
  double *d = dbuf(n);
  for (size_t i = 0; i < n; i++) d[i] = x[i];
  return d;
}
static inline size_t numel(const int d[4]) { return (size_t)d[0] * d[1] * d[2] * d[3]; }

/* largest |a-b| / (atol + rtol*|b|), a float, b double; NaN is the worst */
static inline double ratio_fd(const float *a, const double *b, size_t n, double atol, double rtol) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs(b[i]));
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

/* number of a[i] != b[i] (b NULL: zeros); NaN == NaN here */
static inline size_t mismatch_fd(const float *a, const double *b, size_t n) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double want = b ? b[i] : 0.0;
    if (!((double)a[i] == want || (isnan(a[i]) && isnan(want)))) bad++;
  }
  return bad;
}
static inline size_t mismatch_ff(const float *a, const float *b, size_t n) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++)
    if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))) bad++;
  return bad;
}

/* ratio of the gradient a kernel accumulated, (after - before), to a double reference */
static inline double ratio_acc(const float *after, const float *before, const double *g, size_t n, double atol,
                               double rtol) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double got = (double)after[i] - (double)before[i];
    double r = fabs(got - g[i]) / (atol + rtol * fabs(g[i]));
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

/* <a, b> in double; *scale += Σ |a·b| (the size of the rounding) */
static inline double dotf(const float *a, const float *b, size_t n, double *scale) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    s += (double)a[i] * b[i];
    *scale += fabs((double)a[i] * b[i]);
  }
  return s;
}

/* Central differences of L(x) = Σ dy·f(x) in double, for every element of x:
 * f(x, ctx, out) writes ny values. Used for the gradients that are not linear. */
typedef void ref_fn(const double *x, void *ctx, double *out);
static inline void fd_grad(ref_fn *f, void *ctx, double *x, size_t nx, const float *dy, size_t ny, double h,
                           double *g) {
  double *tmp = dbuf(ny);
  for (size_t k = 0; k < nx; k++) {
    const double x0 = x[k];
    double lp = 0, lm = 0;
    x[k] = x0 + h;
    f(x, ctx, tmp);
    for (size_t i = 0; i < ny; i++) lp += dy[i] * tmp[i];
    x[k] = x0 - h;
    f(x, ctx, tmp);
    for (size_t i = 0; i < ny; i++) lm += dy[i] * tmp[i];
    x[k] = x0;
    g[k] = (lp - lm) / (2 * h);
  }
  free(tmp);
}

#endif
