/* bench_clock.h — the WASI benchmark programs' clock (bench/kernels_bench.c,
 * bench/conv_bench.c): milliseconds of a monotonic clock, and the comparison
 * their medians sort with. Needs _POSIX_C_SOURCE >= 199309L before any include
 * (clock_gettime under -std=c11). */
#ifndef FV_BENCH_CLOCK_H
#define FV_BENCH_CLOCK_H

#include <time.h>

static inline double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static inline int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#endif
