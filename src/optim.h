/* optim.h — Adam on a flat float vector (the parameterization's params).
 *
 * This is TensorFlow's Adam, the optimizer Lucid renders with
 * (tf.train.AdamOptimizer(0.05)): with g the gradient of a loss to MINIMIZE,
 *
 *   m     += (g - m) * (1 - beta1)            (= beta1*m + (1-beta1)*g)
 *   v     += (g*g - v) * (1 - beta2)
 *   lr_t   = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   param -= lr_t * m / (sqrt(v) + eps)
 *
 * Note where eps sits: added to sqrt(v) of the UNcorrected v, after the bias
 * correction has been folded into lr_t (TF's "epsilon hat"); the Adam paper's
 * form m_hat / (sqrt(v_hat) + eps) differs from it in the first steps only.
 * beta1^t and beta2^t are kept in double.
 *
 * Memory: fv_adam_new allocates the two moment vectors (n floats each) once;
 * fv_adam_step allocates nothing and updates params in place. The caller owns
 * params and grad.
 *
 *   fv_error err;
 *   fv_adam *a = fv_adam_new(fv_param_count(p), 0.05f, &err);
 *   for (...) { ...; fv_adam_step(a, fv_param_values(p), grad); }
 *   fv_adam_free(a);
 */
#ifndef FV_OPTIM_H
#define FV_OPTIM_H

#include <stddef.h>

#include "fv.h"

#define FV_ADAM_LR 0.05f      /* Lucid's default learning rate */
#define FV_ADAM_BETA1 0.9f
#define FV_ADAM_BETA2 0.999f
#define FV_ADAM_EPS 1e-8f

typedef struct fv_adam fv_adam;

/* n >= 1 parameters; lr > 0 and finite. NULL with err set on a bad argument or no memory. */
fv_adam *fv_adam_new(size_t n, float lr, fv_error *err);
void fv_adam_free(fv_adam *a);

/* One step: params -= Adam(grad). grad is dLoss/dparams for a loss to minimize. */
void fv_adam_step(fv_adam *a, float *params, const float *grad);

/* Forget the moments and the step count (as a fresh optimizer). */
void fv_adam_reset(fv_adam *a);
/* Change the learning rate for the following steps (moments are kept). */
void fv_adam_set_lr(fv_adam *a, float lr);

float fv_adam_lr(const fv_adam *a);
size_t fv_adam_size(const fv_adam *a);
long fv_adam_steps(const fv_adam *a);   /* steps taken since new / reset */

#endif
