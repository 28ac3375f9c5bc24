/* rng.h — the engine's one seeded random number generator (header only).
 *
 * Everything random in a render (the parameterization's initial noise, the
 * transforms' per-step draws) comes from an fv_rng, so a render is a pure
 * function of its seed. The generator is splitmix64 (Steele, Lea & Flood,
 * 2014): 64 bits of state, one add and a few multiply/xor-shifts per draw,
 * integer only, so its integer and uniform outputs are bit-identical in every
 * build. Normals use Marsaglia's polar method, which calls log and sqrt from
 * libm: identical draws within one build (native or wasm) for a seed, and in
 * practice across both (glibc and musl share their log), but that is not
 * promised.
 *
 * Memory: an fv_rng is a plain value; copy it to fork a stream.
 *
 *   fv_rng r;
 *   fv_rng_seed(&r, 42);
 *   int k = fv_rng_below(&r, 11);      // 0..10
 *   double z = fv_rng_normal(&r);      // N(0, 1)
 */
#ifndef FV_RNG_H
#define FV_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct {
  uint64_t s;       /* splitmix64 state */
  double spare;     /* the polar method's second normal */
  int has_spare;
} fv_rng;

static inline void fv_rng_seed(fv_rng *r, uint64_t seed) {
  r->s = seed;
  r->spare = 0;
  r->has_spare = 0;
}

static inline uint64_t fv_rng_u64(fv_rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint32_t fv_rng_u32(fv_rng *r) { return (uint32_t)(fv_rng_u64(r) >> 32); }

/* Uniform integer in [0, n) for 1 <= n < 2^31 (multiply-shift: bias below 2^-32 * n). */
static inline int fv_rng_below(fv_rng *r, int n) {
  return (int)(((uint64_t)fv_rng_u32(r) * (uint64_t)(uint32_t)n) >> 32);
}

/* Uniform double in [0, 1), 53 random bits. */
static inline double fv_rng_uniform(fv_rng *r) {
  return (double)(fv_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal N(0, 1) by the polar method (two per accepted pair). */
static inline double fv_rng_normal(fv_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u, v, s;
  do {
    u = 2.0 * fv_rng_uniform(r) - 1.0;
    v = 2.0 * fv_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double k = sqrt(-2.0 * log(s) / s);
  r->spare = v * k;
  r->has_spare = 1;
  return u * k;
}

#endif
