/* dispatch.c — the dispatching kernel names (fv_conv2d, ...), one per entry
 * of kernels.inc, and whether they pick SIMD or scalar. */
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

/* void fv_<op>(params) { <the picked kernel>(args); } */
#define FV_KERNEL(op, sig) \
  void fv_##op FV_PARAMS_##sig { FV_PICK(op) FV_ARGS_##sig; }
#define FV_SCALAR(op, sig) \
  void fv_##op FV_PARAMS_##sig { fv_f32_##op##__scalar FV_ARGS_##sig; }
#define FV_TWIN(module, name, entry)
#include "kernels.inc"
