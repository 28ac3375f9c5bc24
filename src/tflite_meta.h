/* tflite_meta.h — what a TFLite file's metadata says about its input and
 * output: the input's NormalizationOptions and the output's label file.
 *
 * The metadata is a second flatbuffer (TFLite Support's ModelMetadata,
 * file identifier "M001") in one of the model's buffers, named
 * "TFLITE_METADATA"; the files it names (a TENSOR_AXIS_LABELS list) are
 * stored members of a zip archive appended to the model (zip.h). Both are
 * optional and untrusted: anything missing, malformed or inconsistent
 * (labels that are not one a line for each output class) is ignored, never
 * an error, and leaves the model as it was.
 *
 *   fv_tflite_meta_apply(file, n, meta, meta_len, m, input_is_float, classes);
 *
 * Effects on m: a float input with NormalizationOptions gets in_scale =
 * 1/std, in_offset = −mean/std per channel (a quantized input keeps its
 * input quantization, which is exact for the values the network computes
 * with) and in_source "tflite metadata"; m->labels gets the label file.
 */
#ifndef FV_TFLITE_META_H
#define FV_TFLITE_META_H

#include "model.h"

void fv_tflite_meta_apply(const uint8_t *file, size_t n, const uint8_t *meta, size_t meta_len, fv_model *m,
                          int input_is_float, int64_t classes);

#endif
