/* optim.c — TensorFlow's Adam (see optim.h for the update and its eps). */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "optim.h"

struct fv_adam {
  size_t n;
  float lr, beta1, beta2, eps;
  long t;                 /* steps taken */
  double beta1_pow, beta2_pow;  /* beta^t, kept in double */
  float *m, *v;           /* first and second moments, n each */
};

fv_adam *fv_adam_new(size_t n, float lr, fv_error *err) {
  if (n == 0 || n > SIZE_MAX / (2 * sizeof(float))) {
    fv_error_set(err, FV_ERR_BAD_ARG, "adam: parameter count %zu is out of range", n);
    return NULL;
  }
  if (!(lr > 0.0f) || !isfinite(lr)) {
    fv_error_set(err, FV_ERR_BAD_ARG, "adam: learning rate %g must be positive and finite", (double)lr);
    return NULL;
  }
  fv_adam *a = (fv_adam *)calloc(1, sizeof *a);
  float *mv = a ? (float *)malloc(2 * n * sizeof(float)) : NULL;
  if (!mv) {
    free(a);
    fv_error_set(err, FV_ERR_NO_MEMORY, "adam: cannot allocate moments for %zu parameters", n);
    return NULL;
  }
  a->n = n;
  a->lr = lr;
  a->beta1 = FV_ADAM_BETA1;
  a->beta2 = FV_ADAM_BETA2;
  a->eps = FV_ADAM_EPS;
  a->m = mv;
  a->v = mv + n;
  fv_adam_reset(a);
  return a;
}

void fv_adam_free(fv_adam *a) {
  if (!a) return;
  free(a->m); /* m and v share one block */
  free(a);
}

void fv_adam_reset(fv_adam *a) {
  memset(a->m, 0, 2 * a->n * sizeof(float));
  a->t = 0;
  a->beta1_pow = 1.0;
  a->beta2_pow = 1.0;
}

void fv_adam_set_lr(fv_adam *a, float lr) {
  assert(lr > 0.0f && isfinite(lr));
  a->lr = lr;
}

float fv_adam_lr(const fv_adam *a) { return a->lr; }
size_t fv_adam_size(const fv_adam *a) { return a->n; }
long fv_adam_steps(const fv_adam *a) { return a->t; }

void fv_adam_step(fv_adam *a, float *params, const float *grad) {
  a->t++;
  a->beta1_pow *= (double)a->beta1;
  a->beta2_pow *= (double)a->beta2;
  /* Bias correction folded into the step size, as TF's ApplyAdam does. */
  const float lr_t = (float)((double)a->lr * sqrt(1.0 - a->beta2_pow) / (1.0 - a->beta1_pow));
  const float c1 = 1.0f - a->beta1, c2 = 1.0f - a->beta2, eps = a->eps;
  /* params, grad and the moments are separate arrays (restrict), so the loop vectorizes */
  float *restrict m = a->m, *restrict v = a->v, *restrict x = params;
  const float *restrict gr = grad;
  const size_t n = a->n;
  for (size_t i = 0; i < n; i++) {
    const float g = gr[i];
    m[i] += (g - m[i]) * c1;
    v[i] += (g * g - v[i]) * c2;
    x[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
  }
}
