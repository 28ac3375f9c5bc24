/* dispatch.c — whether the dispatching kernel names pick SIMD or scalar. */
#include "kernels.h"

#ifdef __wasm_simd128__
static int simd_on = 1;
#else
static int simd_on = 0;
#endif

void fv_kernels_set_simd(int on) {
#ifdef __wasm_simd128__
  simd_on = on != 0;
#else
  (void)on;
#endif
}

int fv_kernels_simd_enabled(void) { return simd_on; }

int fv_kernels_simd_available(void) {
#ifdef __wasm_simd128__
  return 1;
#else
  return 0;
#endif
}
