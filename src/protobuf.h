/* protobuf.h — a bounds-checked reader of the protocol buffers wire format,
 * for untrusted files (ONNX models).
 *
 * It knows the encoding, not any schema: a message is a sequence of fields,
 * each a tag (field number << 3 | wire type, a varint) and a value: a varint
 * (wire type 0), 8 bytes (1), a length-delimited byte string (2: strings,
 * bytes, sub-messages, packed repeated scalars) or 4 bytes (5). Groups (3,
 * 4) are refused. Varints are at most 10 bytes. Every length is checked
 * against the bytes that remain, so a truncated or hostile message ends in
 * FV_PB_BAD with a reason and the offset, never an out-of-bounds read.
 * Nothing is allocated and nothing recurses: a sub-message is read by a new
 * reader over the field's bytes. The caller owns the bytes.
 *
 * Facts: protobuf.dev, "Encoding" (wire types, varints, packed fields).
 *
 * Typical use:
 *   fv_pb r;  fv_pb_field f;  int s;
 *   fv_pb_init(&r, bytes, n);
 *   while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
 *     if (f.num == 7 && f.wire == FV_PB_LEN) { fv_pb sub; fv_pb_init(&sub, f.data, f.len); ... }
 *   }
 *   if (s == FV_PB_BAD) report(r.why, r.pos);
 *
 * Repeated scalars come packed (one LEN field) or one field per element;
 * fv_pb_values walks either form of one field occurrence.
 */
#ifndef FV_PROTOBUF_H
#define FV_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

enum { FV_PB_VARINT = 0, FV_PB_I64 = 1, FV_PB_LEN = 2, FV_PB_I32 = 5 };
enum { FV_PB_END = 0, FV_PB_FIELD = 1, FV_PB_BAD = -1 };

typedef struct {
  const uint8_t *p;
  size_t n, pos;
  const char *why;  /* FV_PB_BAD: what is wrong (a static string); pos: where */
} fv_pb;

typedef struct {
  uint32_t num;        /* field number ≥ 1 */
  int wire;            /* FV_PB_VARINT, FV_PB_I64, FV_PB_LEN, FV_PB_I32 */
  uint64_t v;          /* the value of VARINT, I64, I32 fields (fixed ones as raw little-endian bits) */
  const uint8_t *data; /* LEN: the payload ... */
  size_t len;          /* ... and its length */
} fv_pb_field;

void fv_pb_init(fv_pb *r, const uint8_t *p, size_t n);
/* The next field: FV_PB_FIELD, FV_PB_END at the end, FV_PB_BAD (r->why, r->pos). */
int fv_pb_next(fv_pb *r, fv_pb_field *f);

/* The elements of one occurrence of a repeated scalar field whose elements
 * have wire type elem (VARINT for int32/int64/bool/enums, I32 for float, I64
 * for double): packed (a LEN field) or a single element. */
typedef struct {
  const uint8_t *p, *end;
  int elem;
  uint64_t single;
  int has_single;
} fv_pb_values;
/* 0 when the field's wire type fits neither form. */
int fv_pb_values_init(fv_pb_values *it, const fv_pb_field *f, int elem);
/* FV_PB_FIELD with *v (raw bits for I32/I64), FV_PB_END, FV_PB_BAD (a truncated packed varint). */
int fv_pb_values_next(fv_pb_values *it, uint64_t *v);
/* Element count of the occurrence, or -1 when malformed. */
int64_t fv_pb_values_count(const fv_pb_field *f, int elem);

/* Scalar reinterpretations of field values. */
float fv_pb_float(uint64_t bits);   /* I32 bits → float */
double fv_pb_double(uint64_t bits); /* I64 bits → double */
int64_t fv_pb_int64(uint64_t v);    /* int64 / int32 varints (two's complement) */

#endif
