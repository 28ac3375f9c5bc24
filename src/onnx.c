/* onnx.c — the ONNX loader (to come: this commit only splits the TFLite loader). */
#include "model.h"

fv_model *fv_onnx_load(const uint8_t *bytes, size_t n, fv_error *err) {
  (void)bytes, (void)n;
  fv_error_set(err, FV_ERR_BAD_MODEL, "not a TFLite model, and ONNX models are not supported yet");
  return NULL;
}
