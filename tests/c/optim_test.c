/* optim_test.c — Adam against a double-precision transcription of TF's
 * ApplyAdam (eps added to sqrt(v) after the bias correction went into the
 * step size), and minimizing a badly scaled quadratic. */
#include "check.h"

#include "optim.h"

/* TF's Adam in double: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); x -= lr_t m / (sqrt(v) + eps). */
typedef struct {
  double m, v, b1t, b2t;
} ref_adam;

static double ref_step(ref_adam *r, double x, double g, double lr) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  r->b1t *= b1;
  r->b2t *= b2;
  r->m = b1 * r->m + (1 - b1) * g;
  r->v = b2 * r->v + (1 - b2) * g * g;
  double lr_t = lr * sqrt(1 - r->b2t) / (1 - r->b1t);
  return x - lr_t * r->m / (sqrt(r->v) + eps);
}

static void test_against_reference(void) {
  enum { N = 37, STEPS = 25 };
  fv_error err = {0, ""};
  fv_adam *a = fv_adam_new(N, 0.05f, &err);
  CHECK(a != NULL, "fv_adam_new: %s", err.msg);
  if (!a) return;
  float x[N], g[N];
  double xr[N];
  ref_adam r[N];
  memset(r, 0, sizeof r);
  for (int i = 0; i < N; i++) {
    x[i] = check_uniform(-1, 1);
    xr[i] = x[i];
    r[i].b1t = r[i].b2t = 1;
  }
  double worst = 0;
  for (int t = 0; t < STEPS; t++) {
    for (int i = 0; i < N; i++) {
      /* gradients across scales, both signs; a few tiny ones where eps matters */
      double scale = i % 7 == 0 ? 1e-8 : pow(10.0, (i % 5) - 3);
      g[i] = (float)(scale * check_uniform(-1, 1) + scale * 0.3 * sin(i + t));
    }
    fv_adam_step(a, x, g);
    for (int i = 0; i < N; i++) {
      xr[i] = ref_step(&r[i], xr[i], g[i], 0.05);
      double e = fabs(x[i] - xr[i]);
      if (e > worst) worst = e;
    }
  }
  CHECK(worst < 2e-6, "Adam vs double reference over %d steps: max |dx| %g", STEPS, worst);
  CHECK(fv_adam_steps(a) == STEPS && fv_adam_size(a) == N && fv_adam_lr(a) == 0.05f, "bookkeeping");

  /* the first step by hand: g = 1e-8 gives m = 1e-9, v = 1e-19, lr_t = lr sqrt(.001)/.1,
   * step = lr_t * 1e-9 / (sqrt(1e-19) + 1e-8) (the paper's form would step lr/2). */
  fv_adam_reset(a);
  float one[N], tiny[N];
  for (int i = 0; i < N; i++) {
    one[i] = 0;
    tiny[i] = 1e-8f;
  }
  fv_adam_step(a, one, tiny);
  double lr_t = 0.05 * sqrt(1 - 0.999) / (1 - 0.9);
  double want = -lr_t * (0.1 * (double)1e-8f) / (sqrt(0.001 * (double)1e-8f * (double)1e-8f) + 1e-8);
  CHECK(fabs(one[0] - want) < 1e-4 * fabs(want), "first step with a tiny gradient: %g vs %g", one[0], want);
  /* and a plain one: the first step of Adam is -lr * sign(g) up to eps */
  fv_adam_reset(a);
  for (int i = 0; i < N; i++) {
    one[i] = 1;
    tiny[i] = i % 2 ? 3.0f : -0.25f;
  }
  fv_adam_step(a, one, tiny);
  CHECK(fabsf(one[1] - (1 - 0.05f)) < 1e-6f && fabsf(one[0] - (1 + 0.05f)) < 1e-6f, "first step is lr: %g %g",
        one[1], one[0]);
  fv_adam_set_lr(a, 0.5f);
  CHECK(fv_adam_lr(a) == 0.5f, "set_lr");
  fv_adam_free(a);
}

/* f(x) = sum a_i (x_i - c_i)^2 with curvatures from 1e-2 to 1e2. */
static void test_quadratic(void) {
  enum { N = 64 };
  fv_adam *a = fv_adam_new(N, 0.05f, NULL);
  if (!a) {
    CHECK(0, "fv_adam_new");
    return;
  }
  float x[N], g[N], c[N], k[N];
  double f0 = 0, f = 0;
  for (int i = 0; i < N; i++) {
    c[i] = check_uniform(-2, 2);
    k[i] = (float)pow(10.0, -2 + 4.0 * i / (N - 1));
    x[i] = 0;
    f0 += k[i] * c[i] * c[i];
  }
  for (int t = 0; t < 3000; t++) {
    for (int i = 0; i < N; i++) g[i] = 2 * k[i] * (x[i] - c[i]);
    fv_adam_step(a, x, g);
  }
  double worst = 0;
  for (int i = 0; i < N; i++) {
    f += k[i] * (x[i] - c[i]) * (x[i] - c[i]);
    if (fabs(x[i] - c[i]) > worst) worst = fabs(x[i] - c[i]);
  }
  printf("quadratic: f %g -> %g, max |x - c| %g\n", f0, f, worst);
  CHECK(f < 1e-6 * f0 && worst < 1e-3, "Adam minimizes a quadratic: f %g -> %g, max |x-c| %g", f0, f, worst);
  fv_adam_free(a);
}

static void test_errors(void) {
  fv_error err = {0, ""};
  CHECK(fv_adam_new(0, 0.05f, &err) == NULL && err.code == FV_ERR_BAD_ARG, "n 0 refused");
  err.code = 0;
  CHECK(fv_adam_new(10, 0.0f, &err) == NULL && err.code == FV_ERR_BAD_ARG, "lr 0 refused");
  err.code = 0;
  CHECK(fv_adam_new(10, NAN, &err) == NULL && err.code == FV_ERR_BAD_ARG, "lr NaN refused");
  err.code = 0;
  CHECK(fv_adam_new((size_t)-1, 0.05f, &err) == NULL && err.code != FV_OK, "huge n refused");
  fv_adam_free(NULL);
}

int main(void) {
  check_seed(31337);
  test_against_reference();
  test_quadratic();
  test_errors();
  return check_summary("optim");
}
