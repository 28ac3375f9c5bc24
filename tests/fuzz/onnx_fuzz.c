/* onnx_fuzz.c — libFuzzer target for the ONNX loader: the protobuf reader
 * (src/protobuf.c), the schema (src/onnx_proto.c), constant folding
 * (src/onnx_fold.c) and the lowering (src/onnx.c).
 *
 * Every input goes to fv_onnx_load (not the content sniffing of
 * fv_model_load, so no byte is spent on choosing the loader). A failure must
 * come back as NULL with a code and a one-line message; a success must be a
 * model that passes model_walk.h. Any violation traps.
 *
 * Build and run: scripts/fuzz.sh onnx SECONDS (see tests/fuzz/README.md).
 */
#include "model_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fv_error err;
  check_load(fv_onnx_load(data, size, &err), &err);
  return 0;
}
