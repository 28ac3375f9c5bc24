/* flatbuffer.c — the bounds-checked FlatBuffers reader (see flatbuffer.h). */
#include "flatbuffer.h"

#include <stdarg.h>
#include <stdio.h>

#include "le.h"
#include "model.h"
#include "loader.h"

int fv_fb_fail(fv_fb *f, fv_status code, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (f->where[0])
    fv_error_set(f->err, code, "%s: %s", f->where, msg);
  else
    fv_error_set(f->err, code, "%s", msg);
  return 0;
}


int fv_fb_table_at(fv_fb *f, uint64_t pos, fv_fb_table *t, const char *name) {
  if (pos > f->n || f->n - pos < 4)
    return fv_fb_fail(f, BAD, "%s table at offset %llu lies outside the file", name, (unsigned long long)pos);
  int64_t vt = (int64_t)pos - (int64_t)fv_le_i32(f->b + pos);
  if (vt < 0 || (uint64_t)vt > f->n - 4)
    return fv_fb_fail(f, BAD, "%s table at offset %llu has its vtable outside the file", name,
                      (unsigned long long)pos);
  t->pos = pos;
  t->vt = (uint64_t)vt;
  t->vtsize = fv_le_u16(f->b + t->vt);
  t->tsize = fv_le_u16(f->b + t->vt + 2);
  if (t->vtsize < 4 || (t->vtsize & 1) || t->vt + t->vtsize > f->n)
    return fv_fb_fail(f, BAD, "%s table at offset %llu has a corrupt vtable", name, (unsigned long long)pos);
  if (t->tsize < 4 || pos + t->tsize > f->n)
    return fv_fb_fail(f, BAD, "%s table at offset %llu runs past the end of the file", name,
                      (unsigned long long)pos);
  return 1;
}

int fv_fb_field(fv_fb *f, const fv_fb_table *t, int id, uint32_t size, uint64_t *pos, const char *name) {
  uint32_t vo = 4 + 2 * (uint32_t)id;
  *pos = 0;
  if (vo + 2 > t->vtsize) return 1; /* written by an older schema: absent */
  uint32_t off = fv_le_u16(f->b + t->vt + vo);
  if (off == 0) return 1;
  if (off < 4 || off + size > t->tsize) return fv_fb_fail(f, BAD, "field '%s' lies outside its table", name);
  *pos = t->pos + off;
  return 1;
}

/* The scalar field readers: one definition, six types. */
#define FB_SCALAR(fn, T, size, load)                                                          \
  int fn(fv_fb *f, const fv_fb_table *t, int id, T def, T *v, const char *name) {             \
    uint64_t p;                                                                               \
    TRY(fv_fb_field(f, t, id, size, &p, name));                                               \
    *v = p ? (T)(load) : def;                                                                 \
    return 1;                                                                                 \
  }
FB_SCALAR(fv_fb_i32, int32_t, 4, fv_le_i32(f->b + p))
FB_SCALAR(fv_fb_u32, uint32_t, 4, fv_le_u32(f->b + p))
FB_SCALAR(fv_fb_u64, uint64_t, 8, fv_le_u64(f->b + p))
FB_SCALAR(fv_fb_i8, int, 1, (int8_t)f->b[p])
FB_SCALAR(fv_fb_u8, int, 1, f->b[p])
FB_SCALAR(fv_fb_f32, float, 4, fv_le_f32(f->b + p))

int fv_fb_deref(fv_fb *f, uint64_t fpos, uint64_t *target, const char *name) {
  if (fpos > f->n || f->n - fpos < 4)
    return fv_fb_fail(f, BAD, "'%s' lies outside the file (at %llu)", name, (unsigned long long)fpos);
  uint32_t off = fv_le_u32(f->b + fpos);
  uint64_t tg = fpos + off;
  if (off == 0 || tg > f->n || f->n - tg < 4)
    return fv_fb_fail(f, BAD, "'%s' points outside the file (offset %u at %llu)", name, off,
                      (unsigned long long)fpos);
  *target = tg;
  return 1;
}

int fv_fb_root(fv_fb *f, fv_fb_table *t, const char *name) {
  uint64_t root;
  TRY(fv_fb_deref(f, 0, &root, "root table"));
  return fv_fb_table_at(f, root, t, name);
}

int fv_fb_vec_at(fv_fb *f, uint64_t vpos, uint32_t esize, fv_fb_vec *v, const char *name) {
  uint32_t len = fv_le_u32(f->b + vpos);
  if ((uint64_t)len * esize > f->n - vpos - 4)
    return fv_fb_fail(f, BAD, "vector '%s' (%u elements) runs past the end of the file", name, len);
  v->pos = vpos + 4;
  v->len = len;
  return 1;
}

int fv_fb_vec_field(fv_fb *f, const fv_fb_table *t, int id, uint32_t esize, fv_fb_vec *v, const char *name) {
  uint64_t p, tg;
  v->pos = 0;
  v->len = 0;
  TRY(fv_fb_field(f, t, id, 4, &p, name));
  if (!p) return 1;
  TRY(fv_fb_deref(f, p, &tg, name));
  return fv_fb_vec_at(f, tg, esize, v, name);
}

int fv_fb_sub(fv_fb *f, const fv_fb_table *t, int id, fv_fb_table *sub, int *present, const char *name) {
  uint64_t p, tg;
  *present = 0;
  TRY(fv_fb_field(f, t, id, 4, &p, name));
  if (!p) return 1;
  TRY(fv_fb_deref(f, p, &tg, name));
  TRY(fv_fb_table_at(f, tg, sub, name));
  *present = 1;
  return 1;
}

int fv_fb_vec_table(fv_fb *f, const fv_fb_vec *v, uint32_t i, fv_fb_table *t, const char *name) {
  uint64_t tg;
  if (i >= v->len) return fv_fb_fail(f, BAD, "'%s' %u of %u", name, i, v->len);
  TRY(fv_fb_deref(f, v->pos + 4 * (uint64_t)i, &tg, name));
  return fv_fb_table_at(f, tg, t, name);
}

int fv_fb_str(fv_fb *f, const fv_fb_table *t, int id, char *out, size_t cap, const char *name) {
  fv_fb_vec v;
  out[0] = 0;
  TRY(fv_fb_vec_field(f, t, id, 1, &v, name));
  size_t k = 0;
  for (; k < v.len && k + 1 < cap && f->b[v.pos + k]; k++) out[k] = (char)f->b[v.pos + k];
  out[k] = 0;
  return 1;
}
