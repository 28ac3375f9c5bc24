/* conv_bench.c — GoogLeNet's dense convolutions, forward and input gradient,
 * one thread, through the dispatching kernels with weights packed as the
 * loader packs them (fv_fc_pack over K = kh·kw·ic): GFLOP/s (2 per
 * multiply-add; bench/workloads.mjs adds each one's share of the SIMD peak
 * bench/peak.c measures in the same run). A WASI program built by emcc.mk as
 * build/wasm/bench/conv_bench.wasm, run by bench/workloads.mjs; prints figures,
 * asserts nothing. Shapes at 224×224 (inference) and at 128×128 (the Lucid
 * step's map sizes), as the network has them. Each 3×3 and 5×5 stride-1 conv has a
 * second row, "(Winograd)": the same call with the weights also transformed as
 * the loader does (fv_conv_wino), so conv.c runs Winograd (F(4×4) or F(2×2) for
 * 3×3, F(2×2, 5×5)), and the 7×7 s2 conv one, "(Winograd)" too, on its input's
 * phases (fv_wino_s2_weights, F(3×3, 4×4)); their GFLOP/s count the direct
 * conv's multiply-adds (effective rate, which can pass the peak: Winograd does
 * 2.25–4× fewer, 3× on the phases).
 *
 *   conv                                  size  pixels   K     oc  fwd ms  GFLOP/s  grad ms  GFLOP/s
 *
 * Then MobileNet v2's 1×1 convs at 128 px, each with the times the step has it,
 * and their weighted total (the GEMMs with 2×16 tiles, fc.c). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "kernels/kernels.h"
#include "kernels/winograd.h"
#include "rng.h"

static float *randoms(size_t n, unsigned seed) {
  float *p = (float *)malloc(n * sizeof(float));
  fv_rng r;
  fv_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) p[i] = (float)(fv_rng_uniform(&r) * 2.0 - 1.0);
  return p;
}

typedef struct {
  const char *name;
  int map, ic, oc, k, stride; /* input map side at 224; the pads are ONNX's (k / 2) */
} conv_case;

/* GoogLeNet (BVLC): the first conv, conv2, and inception blocks' 3×3, 5×5 and widest 1×1 */
static const conv_case CASES[] = {
    {"conv1/7x7_s2", 224, 3, 64, 7, 2},         {"conv2/3x3", 56, 64, 192, 3, 1},
    {"inception_3a/3x3", 28, 96, 128, 3, 1},    {"inception_3b/5x5", 28, 32, 96, 5, 1},
    {"inception_4c/3x3", 14, 128, 256, 3, 1},   {"inception_4c/5x5", 14, 24, 64, 5, 1},
    {"inception_4e/3x3", 14, 160, 320, 3, 1},   {"inception_5b/3x3", 7, 192, 384, 3, 1},
    {"inception_5a/1x1 (K 832)", 7, 832, 256, 1, 1}, {"inception_4a/1x1 (K 480)", 14, 480, 192, 1, 1},
};

static double median_ms(void (*fn)(void *), void *ctx, double budget) {
  double ts[512];
  int n = 0;
  fn(ctx);
  const double start = now_ms();
  while (n < 512 && (n < 5 || now_ms() - start < budget)) {
    const double t0 = now_ms();
    fn(ctx);
    ts[n++] = now_ms() - t0;
  }
  qsort(ts, (size_t)n, sizeof ts[0], cmp_double);
  return ts[n / 2];
}

typedef struct {
  fv_conv_shape s;
  float *x, *w, *b, *y;
} job;

static void run_fwd(void *p) {
  job *j = (job *)p;
  fv_conv2d(&j->s, j->x, j->w, j->b, j->y);
}
static void run_grad(void *p) {
  job *j = (job *)p;
  fv_conv2d_grad(&j->s, j->y, j->w, j->x);
}

/* MobileNet v2's 1×1 convs at 128×128 (the Lucid step to expanded_conv_8/add): map side, ic, oc,
 * times in the step; the expands (ic < oc) with ReLU6, the projections without */
static const int PW_CASES[][4] = {{64, 32, 16, 1}, {64, 16, 96, 1},  {32, 96, 24, 1},  {32, 24, 144, 2},
                                  {32, 144, 24, 1}, {16, 144, 32, 1}, {16, 32, 192, 3}, {16, 192, 32, 2},
                                  {8, 192, 64, 1},  {8, 64, 384, 2},  {8, 384, 64, 2}};

static void pointwise_table(void) {
  printf("\nMobileNet v2's 1x1 convs at 128 px, one thread (the step has each n times; grad accumulates)\n");
  printf("%4s %5s %5s %3s %8s %7s %8s %7s\n", "map", "ic", "oc", "n", "fwd ms", "GF/s", "grad ms", "GF/s");
  double tf = 0, tg = 0;
  for (size_t i = 0; i < sizeof PW_CASES / sizeof PW_CASES[0]; i++) {
    const int *c = PW_CASES[i];
    job j;
    memset(&j, 0, sizeof j);
    fv_conv_shape *s = &j.s;
    s->n = 1, s->ih = s->iw = c[0], s->ic = c[1], s->oc = c[2];
    s->kh = s->kw = 1, s->sh = s->sw = 1, s->dh = s->dw = 1, s->dm = 1, s->groups = 1;
    s->act = c[1] < c[2] ? FV_ACT_RELU6 : FV_ACT_NONE;
    fv_conv_shape_pad(s, FV_PADDING_VALID);
    const int P = s->oh * s->ow, K = c[1];
    j.x = randoms((size_t)P * K + 16, 1), j.w = randoms((size_t)c[2] * K, 2), j.b = randoms((size_t)c[2], 3);
    j.y = randoms((size_t)P * c[2] + 16, 4);
    for (size_t q = 0; q < (size_t)P * K; q++) j.x[q] *= 4; /* ReLU6 live and clamped */
    float *packed = (float *)malloc(fv_conv_pack_floats(K, c[2]) * sizeof(float));
    fv_conv_pack(K, c[2], j.w, packed);
    s->wpack = packed, s->wgpack = fv_conv_pack_grad_part(K, c[2], packed);
    const double gflop = 2.0 * P * (double)K * c[2] / 1e9;
    const double f = median_ms(run_fwd, &j, 200.0), g = median_ms(run_grad, &j, 200.0);
    tf += f * c[3], tg += g * c[3];
    printf("%4d %5d %5d %3d %8.4f %7.2f %8.4f %7.2f\n", c[0], c[1], c[2], c[3], f, gflop / f * 1e3, g, gflop / g * 1e3);
    free(packed), free(j.x), free(j.w), free(j.b), free(j.y);
  }
  printf("the step's 1x1 convs (each n times): fwd %.3f ms, grad %.3f ms\n", tf, tg);
}

int main(void) {
  printf("Dense convolutions of GoogLeNet, one thread, SIMD (bench/conv_bench.c; GFLOP/s at 2 per multiply-add;\n"
         "weights packed at load as the engine does)\n");
  printf("%-28s %4s %6s %5s %4s %8s %8s %8s %8s\n", "conv", "size", "pixels", "K", "oc", "fwd ms", "GFLOP/s", "grad ms",
         "GFLOP/s");
  for (int size = 224; size >= 128; size -= 96)
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
      const conv_case *c = &CASES[i];
      job j;
      memset(&j, 0, sizeof j);
      fv_conv_shape *s = &j.s;
      s->n = 1, s->ih = s->iw = c->map * size / 224, s->ic = c->ic, s->oc = c->oc;
      s->kh = s->kw = c->k, s->sh = s->sw = c->stride, s->dh = s->dw = 1, s->dm = 1, s->groups = 1;
      s->pt = s->pb = s->pl = s->pr = c->k / 2;
      s->act = FV_ACT_RELU;
      fv_conv_shape_pad(s, FV_PADDING_EXPLICIT);
      const int K = c->k * c->k * c->ic, P = s->oh * s->ow;
      j.x = randoms((size_t)s->ih * s->iw * s->ic + 16, 1);
      j.w = randoms((size_t)c->oc * K, 2);
      j.b = randoms((size_t)c->oc, 3);
      j.y = randoms((size_t)P * c->oc + 16, 4);
      float *packed = (float *)malloc(fv_conv_pack_floats(K, c->oc) * sizeof(float));
      fv_conv_pack(K, c->oc, j.w, packed);
      s->wpack = packed, s->wgpack = fv_conv_pack_grad_part(K, c->oc, packed);
      float *wino = NULL;
      const double gflop = 2.0 * P * (double)K * c->oc / 1e9;
      for (int pass = 0; pass < 2; pass++) {
        if (pass && c->k == 7 && c->stride == 2) { /* the 7×7 s2 conv's phases (winograd_s2.c) */
          if (!fv_wino_s2_takes(7, 7, 2, 2, 1, 1, c->ic, c->oc)) break;
          wino = (float *)malloc(fv_wino_s2_floats(c->ic, c->oc) * sizeof(float));
          fv_wino_s2_weights(c->ic, c->oc, j.w, wino);
          s->wino = wino;
        } else if (pass) { /* the Winograd row: 3×3 and 5×5 stride 1 */
          if ((c->k != 3 && c->k != 5) || c->stride != 1) break;
          wino = (float *)malloc(fv_conv_wino_floats(c->ic, c->oc, c->k) * sizeof(float));
          fv_conv_wino(c->ic, c->oc, c->k, j.w, wino);
          s->wino = wino;
        }
        char name[64];
        snprintf(name, sizeof name, "%s%s", c->name, pass ? " (Winograd)" : "");
        const double f = median_ms(run_fwd, &j, 200.0), g = median_ms(run_grad, &j, 200.0);
        printf("%-28s %4d %6d %5d %4d %8.3f %8.2f %8.3f %8.2f\n", name, size, P, K, c->oc, f, gflop / (f / 1e3), g,
               gflop / (g / 1e3));
      }
      free(wino), free(packed), free(j.x), free(j.w), free(j.b), free(j.y);
    }
  pointwise_table();
  return 0;
}
