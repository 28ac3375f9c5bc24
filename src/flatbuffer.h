/* flatbuffer.h — a bounds-checked reader of the FlatBuffers binary format,
 * for untrusted files (TFLite models and their metadata).
 *
 * It knows the format, not any schema: tables, their vtables and fields,
 * vectors, strings and offsets. Every offset, length and vtable is checked
 * against the buffer before it is followed; reads are byte loads (le.h), so
 * a truncated or hostile buffer ends in 0 with err set, never an
 * out-of-bounds read. Nothing is allocated; the caller owns the bytes.
 *
 * Format facts (flatbuffers.dev, "FlatBuffers internals"):
 *   buffer = u32 root offset, then (optionally) a 4-byte file identifier, ...
 *   table  = i32 soffset to its vtable (vtable = table - soffset), then fields
 *   vtable = u16 vtable size, u16 table size, u16 field offsets (0 = absent)
 *   offset fields (tables, vectors, strings) are u32, relative to the field
 *   vector = u32 length, then the elements; string = byte vector + NUL
 *
 * Typical use:
 *   fv_fb f = {bytes, n, err, ""};
 *   fv_fb_table root, t;  fv_fb_vec v;  int present;
 *   if (!fv_fb_root(&f, &root, "model")) return 0;
 *   if (!fv_fb_vec_field(&f, &root, 2, 4, &v, "subgraphs")) return 0;   // field id 2, 4-byte elements
 *   if (!fv_fb_vec_table(&f, &v, 0, &t, "subgraph")) return 0;
 *
 * Errors: every function returns 1 on success and 0 after setting f->err
 * (FV_ERR_BAD_MODEL unless said otherwise) to "<where>: <what>", where
 * f->where is a prefix the caller keeps up to date ("tensor 12"; may be "").
 */
#ifndef FV_FLATBUFFER_H
#define FV_FLATBUFFER_H

#include <stdint.h>

#include "fv.h"

typedef struct {
  const uint8_t *b;
  uint64_t n;
  fv_error *err;
  char where[96];
} fv_fb;

typedef struct {
  uint64_t pos, vt;       /* table and vtable positions */
  uint32_t vtsize, tsize;
} fv_fb_table;

typedef struct {
  uint64_t pos;           /* first element */
  uint32_t len;
} fv_fb_vec;

/* Sets f->err to "<where>: <message>" (or the message alone); returns 0. */
int fv_fb_fail(fv_fb *f, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The root table (the u32 offset at byte 0). */
int fv_fb_root(fv_fb *f, fv_fb_table *t, const char *name);
/* The table at pos: its vtable and inline part lie in the buffer. */
int fv_fb_table_at(fv_fb *f, uint64_t pos, fv_fb_table *t, const char *name);
/* Position of inline field `id` (size bytes), or *pos = 0 when absent. */
int fv_fb_field(fv_fb *f, const fv_fb_table *t, int id, uint32_t size, uint64_t *pos, const char *name);

/* Scalar fields; absent → def. */
int fv_fb_i32(fv_fb *f, const fv_fb_table *t, int id, int32_t def, int32_t *v, const char *name);
int fv_fb_u32(fv_fb *f, const fv_fb_table *t, int id, uint32_t def, uint32_t *v, const char *name);
int fv_fb_u64(fv_fb *f, const fv_fb_table *t, int id, uint64_t def, uint64_t *v, const char *name);
int fv_fb_i8(fv_fb *f, const fv_fb_table *t, int id, int def, int *v, const char *name);
int fv_fb_u8(fv_fb *f, const fv_fb_table *t, int id, int def, int *v, const char *name);
int fv_fb_f32(fv_fb *f, const fv_fb_table *t, int id, float def, float *v, const char *name);

/* Follows the u32 offset stored at fpos. */
int fv_fb_deref(fv_fb *f, uint64_t fpos, uint64_t *target, const char *name);
/* The vector whose length word is at vpos, of esize-byte elements. */
int fv_fb_vec_at(fv_fb *f, uint64_t vpos, uint32_t esize, fv_fb_vec *v, const char *name);
/* A vector field; absent → empty (pos 0, len 0). */
int fv_fb_vec_field(fv_fb *f, const fv_fb_table *t, int id, uint32_t esize, fv_fb_vec *v, const char *name);
/* A sub-table field; *present = 0 when absent. */
int fv_fb_sub(fv_fb *f, const fv_fb_table *t, int id, fv_fb_table *sub, int *present, const char *name);
/* Element i (< v->len) of a vector of tables. */
int fv_fb_vec_table(fv_fb *f, const fv_fb_vec *v, uint32_t i, fv_fb_table *t, const char *name);
/* A string field copied into out (at most cap-1 bytes, stopping at a NUL); absent → "". */
int fv_fb_str(fv_fb *f, const fv_fb_table *t, int id, char *out, size_t cap, const char *name);

#endif
