/* tflite_meta.c — TFLite metadata: normalization and labels (see tflite_meta.h).
 *
 * Field ids (tensorflow_lite_support/metadata/metadata_schema.fbs):
 *   ModelMetadata     subgraph_metadata 3
 *   SubGraphMetadata  input_tensor_metadata 2, output_tensor_metadata 3
 *   TensorMetadata    process_units 4, associated_files 6
 *   ProcessUnit       options_type 0 (NormalizationOptions = 1), options 1
 *   NormalizationOptions mean 0, std 1
 *   AssociatedFile    name 0, type 2 (TENSOR_AXIS_LABELS = 2)
 */
#include "tflite_meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flatbuffer.h"
#include "le.h"
#include "zip.h"

/* The first TensorMetadata of subgraph 0's inputs (io 2) or outputs (io 3). */
static int tensor_meta(fv_fb *f, int io, fv_fb_table *t) {
  fv_fb_table root, sg;
  fv_fb_vec subs, tensors;
  if (f->n < 8 || memcmp(f->b + 4, "M001", 4) != 0) return 0;
  return fv_fb_root(f, &root, "metadata") && fv_fb_vec_field(f, &root, 3, 4, &subs, "subgraph_metadata") &&
         subs.len && fv_fb_vec_table(f, &subs, 0, &sg, "subgraph") && fv_fb_vec_field(f, &sg, io, 4, &tensors, "tensors") &&
         tensors.len && fv_fb_vec_table(f, &tensors, 0, t, "tensor");
}

static void normalization(fv_fb *f, fv_model *m) {
  fv_fb_table t, pu, opt;
  fv_fb_vec units, mean, std;
  int type, present;
  if (!tensor_meta(f, 2, &t) || !fv_fb_vec_field(f, &t, 4, 4, &units, "process_units")) return;
  for (uint32_t k = 0; k < units.len; k++) {
    if (!fv_fb_vec_table(f, &units, k, &pu, "process unit") || !fv_fb_u8(f, &pu, 0, 0, &type, "options_type")) return;
    if (type != 1) continue;
    if (!fv_fb_sub(f, &pu, 1, &opt, &present, "options") || !present) return;
    if (!fv_fb_vec_field(f, &opt, 0, 4, &mean, "mean") || !fv_fb_vec_field(f, &opt, 1, 4, &std, "std")) return;
    if ((mean.len != 1 && mean.len != 3) || (std.len != 1 && std.len != 3)) return;
    float scale[3], offset[3];
    for (int c = 0; c < 3; c++) {
      double mu = fv_le_f32(f->b + mean.pos + 4 * (uint64_t)(mean.len == 3 ? c : 0));
      double sd = fv_le_f32(f->b + std.pos + 4 * (uint64_t)(std.len == 3 ? c : 0));
      scale[c] = (float)(1.0 / sd);
      offset[c] = (float)(-mu / sd);
      if (!isfinite(scale[c]) || scale[c] == 0 || !isfinite(offset[c])) return;
    }
    memcpy(m->in_scale, scale, sizeof scale);
    memcpy(m->in_offset, offset, sizeof offset);
    m->in_bgr = 0;
    strcpy(m->in_source, "tflite metadata");
    return;
  }
}

static void labels(fv_fb *f, const uint8_t *file, size_t n, fv_model *m, int64_t classes) {
  fv_fb_table t, af;
  fv_fb_vec files;
  int type;
  char name[256];
  if (!tensor_meta(f, 3, &t) || !fv_fb_vec_field(f, &t, 6, 4, &files, "associated_files")) return;
  for (uint32_t k = 0; k < files.len; k++) {
    if (!fv_fb_vec_table(f, &files, k, &af, "file") || !fv_fb_u8(f, &af, 2, 0, &type, "type")) return;
    if (type != 2 || !fv_fb_str(f, &af, 0, name, sizeof name, "name")) continue;
    const uint8_t *p;
    size_t len;
    if (!fv_zip_find(file, n, name, &p, &len) || memchr(p, 0, len)) return;
    int64_t lines = 0;
    for (size_t q = 0; q < len; q++) lines += p[q] == '\n' && q + 1 < len;
    lines += len > 0;
    if (lines != classes) return; /* not one name a class: not trusted */
    char *s = (char *)malloc(len + 1);
    if (!s) return;
    memcpy(s, p, len);
    s[len] = 0;
    free(m->labels);
    m->labels = s;
    return;
  }
}

void fv_tflite_meta_apply(const uint8_t *file, size_t n, const uint8_t *meta, size_t meta_len, fv_model *m,
                          int input_is_float, int64_t classes) {
  fv_error scratch; /* metadata errors are not the model's */
  fv_fb f = {meta, meta_len, &scratch, ""};
  if (input_is_float) normalization(&f, m);
  labels(&f, file, n, m, classes);
}
