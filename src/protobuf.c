/* protobuf.c — the bounds-checked wire-format reader (see protobuf.h). */
#include "protobuf.h"

#include <string.h>

#include "le.h"

void fv_pb_init(fv_pb *r, const uint8_t *p, size_t n) {
  r->p = p;
  r->n = p ? n : 0;
  r->pos = 0;
  r->why = NULL;
}

/* A varint at *pos below end: at most 10 bytes, the 10th holding bit 63 only. */
static int varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *v) {
  uint64_t x = 0;
  for (int k = 0; k < 10; k++) {
    if (*pos >= end) return 0;
    uint8_t b = p[(*pos)++];
    if (k == 9 && b > 1) return 0;
    x |= (uint64_t)(b & 0x7f) << (7 * k);
    if (!(b & 0x80)) {
      *v = x;
      return 1;
    }
  }
  return 0;
}

static int bad(fv_pb *r, const char *why) {
  r->why = why;
  return FV_PB_BAD;
}

int fv_pb_next(fv_pb *r, fv_pb_field *f) {
  if (r->why) return FV_PB_BAD;
  if (r->pos >= r->n) return FV_PB_END;
  uint64_t tag;
  size_t at = r->pos;
  if (!varint(r->p, r->n, &r->pos, &tag)) return r->pos = at, bad(r, "a field tag runs past the end");
  if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return r->pos = at, bad(r, "a field number is out of range");
  memset(f, 0, sizeof *f);
  f->num = (uint32_t)(tag >> 3);
  f->wire = (int)(tag & 7);
  switch (f->wire) {
    case FV_PB_VARINT:
      if (!varint(r->p, r->n, &r->pos, &f->v)) return r->pos = at, bad(r, "a varint runs past the end");
      return FV_PB_FIELD;
    case FV_PB_I64:
      if (r->n - r->pos < 8) return r->pos = at, bad(r, "a 64-bit field runs past the end");
      f->v = fv_le_u64(r->p + r->pos);
      r->pos += 8;
      return FV_PB_FIELD;
    case FV_PB_I32:
      if (r->n - r->pos < 4) return r->pos = at, bad(r, "a 32-bit field runs past the end");
      f->v = fv_le_u32(r->p + r->pos);
      r->pos += 4;
      return FV_PB_FIELD;
    case FV_PB_LEN: {
      uint64_t len;
      if (!varint(r->p, r->n, &r->pos, &len)) return r->pos = at, bad(r, "a length runs past the end");
      if (len > r->n - r->pos) return r->pos = at, bad(r, "a length-delimited field runs past the end");
      f->data = r->p + r->pos;
      f->len = (size_t)len;
      r->pos += (size_t)len;
      return FV_PB_FIELD;
    }
    default:
      r->pos = at;
      return bad(r, "a field has wire type 3, 4, 6 or 7 (groups or invalid)");
  }
}

int fv_pb_values_init(fv_pb_values *it, const fv_pb_field *f, int elem) {
  memset(it, 0, sizeof *it);
  it->elem = elem;
  if (f->wire == FV_PB_LEN) {
    it->p = f->data;
    it->end = f->data + f->len;
    return 1;
  }
  if (f->wire != elem) return 0;
  it->single = f->v;
  it->has_single = 1;
  return 1;
}

int fv_pb_values_next(fv_pb_values *it, uint64_t *v) {
  if (it->has_single) {
    it->has_single = 0;
    *v = it->single;
    return FV_PB_FIELD;
  }
  if (!it->p || it->p >= it->end) return FV_PB_END;
  size_t left = (size_t)(it->end - it->p);
  switch (it->elem) {
    case FV_PB_I32:
      if (left < 4) return FV_PB_BAD;
      *v = fv_le_u32(it->p);
      it->p += 4;
      return FV_PB_FIELD;
    case FV_PB_I64:
      if (left < 8) return FV_PB_BAD;
      *v = fv_le_u64(it->p);
      it->p += 8;
      return FV_PB_FIELD;
    default: {
      size_t pos = 0;
      if (!varint(it->p, left, &pos, v)) return FV_PB_BAD;
      it->p += pos;
      return FV_PB_FIELD;
    }
  }
}

int64_t fv_pb_values_count(const fv_pb_field *f, int elem) {
  if (f->wire != FV_PB_LEN) return f->wire == elem ? 1 : -1;
  if (elem == FV_PB_I32) return f->len % 4 ? -1 : (int64_t)(f->len / 4);
  if (elem == FV_PB_I64) return f->len % 8 ? -1 : (int64_t)(f->len / 8);
  /* varints: one per byte without the continuation bit; the last must end one */
  if (f->len && (f->data[f->len - 1] & 0x80)) return -1;
  int64_t c = 0;
  for (size_t k = 0; k < f->len; k++) c += !(f->data[k] & 0x80);
  return c;
}

float fv_pb_float(uint64_t bits) {
  uint32_t u = (uint32_t)bits;
  float x;
  memcpy(&x, &u, 4);
  return x;
}

double fv_pb_double(uint64_t bits) {
  double x;
  memcpy(&x, &bits, 8);
  return x;
}

int64_t fv_pb_int64(uint64_t v) {
  int64_t x;
  memcpy(&x, &v, 8);
  return x;
}
