/* loader.h — shorthand the model-file readers share (flatbuffer.c, tflite.c,
 * onnx_proto.c, onnx_fold.c and the lowering behind onnx_lower.h).
 *
 * A reader's function returns 1 on success or 0 after it (or what it called)
 * has recorded the error in its fv_error; TRY passes such a 0 straight up, so
 * the first message recorded is the one the caller sees. No state, no memory.
 *
 *   TRY(read_tensor(R, i));
 *   if (dims < 0) return fail(R, BAD, "tensor %d: negative dimension", i);
 */
#ifndef FV_LOADER_H
#define FV_LOADER_H

#include "fv.h"

#define BAD FV_ERR_BAD_MODEL
#define UNSUP FV_ERR_UNSUPPORTED
#define TRY(x)            \
  do {                    \
    if (!(x)) return 0;   \
  } while (0)

#endif
