/* peak.c — the WASM SIMD limit of this host, one thread: GFLOP/s of independent
 * f32x4 multiply + add chains (c = c·a + b: 8 flops a step, the operation
 * pair the plain SIMD build's kernels issue; it has no fused multiply-add).
 * The benchmark's "% peak" columns divide by this figure, measured in the same
 * run, not by a constant from another machine. A WASI program built by emcc.mk
 * as build/wasm/bench/peak.wasm and run by bench/workloads.mjs (simdPeak, with
 * node --no-liftoff: the optimizing tier, as the engine's hot kernels run);
 * prints one line, "peak_gflops X": the best call over 8, 12 and 16 chains
 * (enough in flight to cover a multiply's and an add's latency, or too many
 * and spilled). Asserts nothing. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <wasm_simd128.h>

#include "bench_clock.h"

/* N chains, each started apart (no two the same value); the inner loop unrolls
 * fully, so the chains live in registers. Returns a sum so nothing is dead. */
#define CHAINS(N)                                                                     \
  __attribute__((noinline)) static float chains_##N(long iters, float s, float fa, float fb) { \
    const v128_t a = wasm_f32x4_splat(fa), b = wasm_f32x4_splat(fb);                  \
    v128_t c[N];                                                                      \
    for (int k = 0; k < N; k++) c[k] = wasm_f32x4_splat(s + (float)k);               \
    for (long i = 0; i < iters; i++)                                                  \
      for (int k = 0; k < N; k++) c[k] = wasm_f32x4_add(wasm_f32x4_mul(c[k], a), b); \
    v128_t t = c[0];                                                                  \
    for (int k = 1; k < N; k++) t = wasm_f32x4_add(t, c[k]);                         \
    return wasm_f32x4_extract_lane(t, 0);                                             \
  }
CHAINS(8)
CHAINS(12)
CHAINS(16)

typedef float (*chain_fn)(long, float, float, float);

/* not constants: a v128.const operand would be re-made at every use by some engines */
static volatile float A = 0.9995f, B = 1e-4f;

int main(void) {
  static const struct {
    chain_fn fn;
    int n;
  } runs[] = {{chains_8, 8}, {chains_12, 12}, {chains_16, 16}};
  /* The best of many short calls counts. Run with node --no-liftoff: V8's
   * baseline tier keeps every value in memory (about 18 GFLOP/s here), and
   * these functions were not seen to tier up within the run. */
  const long iters = 100000; /* about 0.2 ms a call */
  double best = 0, sink = 0;
  for (int r = 0; r < 3; r++) {
    double mine = 0;
    for (int rep = 0; rep < 400; rep++) {
      const double t0 = now_ms();
      sink += runs[r].fn(iters, (float)(rep & 7), A, B);
      const double ms = now_ms() - t0, gflops = 8.0 * runs[r].n * (double)iters / (ms * 1e6);
      if (gflops > mine) mine = gflops;
    }
    if (getenv("PEAK_DEBUG")) printf("%d chains %.1f\n", runs[r].n, mine);
    if (mine > best) best = mine;
  }
  printf("peak_gflops %.1f\n", best);
  return sink == 12345.0; /* keeps the sums alive */
}
