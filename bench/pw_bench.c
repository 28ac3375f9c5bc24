/* pw_bench.c — MobileNet v2's 1×1 convs at 128×128 (the Lucid step to
 * expanded_conv_8/add: its map sizes and channel counts, each with how many
 * times the step has it), forward and input gradient (accumulating), one
 * thread, through the dispatching kernels with weights packed as the loader
 * packs them; median ms and GFLOP/s (2 per multiply-add), and the step's
 * total. A WASI program, not part of `npm run bench`:
 *   make -f emcc.mk build/wasm/bench/pw_bench.wasm
 *   node tests/wasi-run.mjs build/wasm/bench/pw_bench.wasm pw_bench
 * On a shared machine, compare two builds by alternating runs. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_clock.h"
#include "kernels/kernels.h"
#include "rng.h"

static float *randoms(size_t n, unsigned seed) {
  float *p = (float *)malloc(n * sizeof(float));
  fv_rng r;
  fv_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) p[i] = (float)(fv_rng_uniform(&r) * 2.0 - 1.0);
  return p;
}
typedef struct { fv_conv_shape s; float *x, *w, *b, *y; } job;
static void run_fwd(void *p) { job *j = p; fv_conv2d(&j->s, j->x, j->w, j->b, j->y); }
static void run_grad(void *p) { job *j = p; fv_conv2d_grad(&j->s, j->y, j->w, j->x); }
static double median_ms(void (*fn)(void *), void *ctx, double budget) {
  double ts[2048];
  int n = 0;
  fn(ctx);
  const double start = now_ms();
  while (n < 2048 && (n < 5 || now_ms() - start < budget)) {
    const double t0 = now_ms();
    fn(ctx);
    ts[n++] = now_ms() - t0;
  }
  qsort(ts, (size_t)n, sizeof ts[0], cmp_double);
  return ts[n / 2];
}
/* map side, ic, oc, how many in the step */
static const int CASES[][4] = {{64, 32, 16, 1}, {64, 16, 96, 1}, {32, 96, 24, 1}, {32, 24, 144, 2}, {32, 144, 24, 1},
                               {16, 144, 32, 1}, {16, 32, 192, 3}, {16, 192, 32, 2}, {8, 192, 64, 1},
                               {8, 64, 384, 2}, {8, 384, 64, 2}};
int main(void) {
  const double budget = 200.0;
  double tf = 0, tg = 0;
  printf("%4s %5s %5s %3s %8s %7s %8s %7s\n", "map", "ic", "oc", "n", "fwd ms", "GF/s", "grad ms", "GF/s");
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    const int *c = CASES[i];
    job j;
    memset(&j, 0, sizeof j);
    fv_conv_shape *s = &j.s;
    s->n = 1, s->ih = s->iw = c[0], s->ic = c[1], s->oc = c[2];
    s->kh = s->kw = 1, s->sh = s->sw = 1, s->dh = s->dw = 1, s->dm = 1, s->groups = 1;
    s->act = (i == 0 || c[1] > c[2]) ? FV_ACT_NONE : FV_ACT_RELU6;
    fv_conv_shape_pad(s, FV_PADDING_VALID);
    const int P = s->oh * s->ow, K = c[1];
    j.x = randoms((size_t)P * K + 16, 1), j.w = randoms((size_t)c[2] * K, 2), j.b = randoms(c[2], 3);
    j.y = randoms((size_t)P * c[2] + 16, 4);
    for (size_t q = 0; q < (size_t)P * K; q++) j.x[q] *= 4;
    float *packed = malloc(fv_conv_pack_floats(K, c[2]) * sizeof(float));
    fv_conv_pack(K, c[2], j.w, packed);
    s->wpack = packed, s->wgpack = fv_conv_pack_grad_part(K, c[2], packed);
    const double gflop = 2.0 * P * (double)K * c[2] / 1e9;
    const double f = median_ms(run_fwd, &j, budget), g = median_ms(run_grad, &j, budget);
    tf += f * c[3], tg += g * c[3];
    printf("%4d %5d %5d %3d %8.4f %7.2f %8.4f %7.2f\n", c[0], c[1], c[2], c[3], f, gflop / f * 1e3, g, gflop / g * 1e3);
    free(packed), free(j.x), free(j.w), free(j.b), free(j.y);
  }
  printf("total (weighted by n): fwd %.3f ms  grad %.3f ms\n", tf, tg);
  return 0;
}
