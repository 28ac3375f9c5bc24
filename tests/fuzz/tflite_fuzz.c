/* tflite_fuzz.c — libFuzzer target for the TFLite loader (src/tflite.c).
 *
 * Feeds arbitrary bytes to fv_model_load. A failure must come back as NULL
 * with a code and a one-line message; a success must be a model whose every
 * index is in range and whose every constant value is finite. Walking all
 * constant data lets ASan check that each buffer really is as long as the
 * shape says. Any violation traps, which libFuzzer reports as a crash.
 *
 * Build and run: scripts/fuzz.sh tflite SECONDS (see tests/fuzz/README.md).
 */
#include "model_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fv_error err;
  check_load(fv_model_load(data, size, &err), &err);
  return 0;
}
