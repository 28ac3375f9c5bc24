/* zip.c — a stored zip member by name (see zip.h). Format facts: PKWARE's
 * APPNOTE.TXT, sections 4.3.7 (local file header), 4.3.12 (central directory
 * header) and 4.3.16 (end of central directory record). */
#include "zip.h"

#include <string.h>

#include "le.h"

#define EOCD_SIG 0x06054b50u
#define CDIR_SIG 0x02014b50u
#define LOCAL_SIG 0x04034b50u

int fv_zip_find(const uint8_t *b, size_t n, const char *name, const uint8_t **data, size_t *len) {
  const size_t want = strlen(name);
  if (!b || n < 22) return 0;
  /* the end record: 22 bytes plus a comment of at most 65535, at the end */
  size_t eocd = 0;
  int found = 0;
  for (size_t back = 22; back <= n && back <= 22 + 65535 && !found; back++)
    if (fv_le_u32(b + n - back) == EOCD_SIG) eocd = n - back, found = 1;
  if (!found) return 0;
  const uint32_t entries = fv_le_u16(b + eocd + 10), cd_size = fv_le_u32(b + eocd + 12), cd_at = fv_le_u32(b + eocd + 16);
  if (cd_at > eocd || cd_size > eocd - cd_at) return 0;
  size_t p = cd_at;
  const size_t cd_end = (size_t)cd_at + cd_size;
  for (uint32_t e = 0; e < entries; e++) {
    if (cd_end - p < 46 || fv_le_u32(b + p) != CDIR_SIG) return 0;
    const uint32_t method = fv_le_u16(b + p + 10), csize = fv_le_u32(b + p + 20), usize = fv_le_u32(b + p + 24);
    const uint32_t nlen = fv_le_u16(b + p + 28), xlen = fv_le_u16(b + p + 30), clen = fv_le_u16(b + p + 32);
    const uint32_t local = fv_le_u32(b + p + 42);
    if (cd_end - p - 46 < (size_t)nlen + xlen + clen) return 0;
    if (nlen == want && memcmp(b + p + 46, name, want) == 0) {
      if (method != 0 || csize != usize) return 0; /* compressed: not read */
      if (local > n || n - local < 30 || fv_le_u32(b + local) != LOCAL_SIG) return 0;
      const size_t at = (size_t)local + 30 + fv_le_u16(b + local + 26) + fv_le_u16(b + local + 28);
      if (at > n || n - at < csize) return 0;
      *data = b + at;
      *len = csize;
      return 1;
    }
    p += 46 + (size_t)nlen + xlen + clen;
  }
  return 0;
}
