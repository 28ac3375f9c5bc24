/* le.h — little-endian loads at any alignment (byte loads, no pointer casts),
 * for the readers of untrusted files: flatbuffer.c, protobuf.c and the
 * dequantization in model.c. The caller has checked that the bytes exist. */
#ifndef FV_LE_H
#define FV_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t fv_le_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t fv_le_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t fv_le_u64(const uint8_t *p) {
  return (uint64_t)fv_le_u32(p) | ((uint64_t)fv_le_u32(p + 4) << 32);
}
static inline int32_t fv_le_i32(const uint8_t *p) {
  uint32_t u = fv_le_u32(p);
  int32_t v;
  memcpy(&v, &u, 4);
  return v;
}
static inline int64_t fv_le_i64(const uint8_t *p) {
  uint64_t u = fv_le_u64(p);
  int64_t v;
  memcpy(&v, &u, 8);
  return v;
}
static inline float fv_le_f32(const uint8_t *p) {
  uint32_t u = fv_le_u32(p);
  float v;
  memcpy(&v, &u, 4);
  return v;
}
static inline double fv_le_f64(const uint8_t *p) {
  uint64_t u = fv_le_u64(p);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

#endif
