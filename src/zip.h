/* zip.h — finds a stored (uncompressed) member of a zip archive, bounds-checked.
 *
 * TFLite's metadata writer appends its associated files (label lists) to the
 * model as a zip archive of stored members, so the .tflite is also a zip file
 * (the archive's offsets count from the start of the file). This reader knows
 * just enough of the format (PKWARE APPNOTE: end of central directory record,
 * central directory headers, local file headers) to find one member by name
 * and return where its bytes lie. Compressed members, zip64 and multi-disk
 * archives are not read. Nothing is allocated; the bytes are the caller's.
 *
 *   const uint8_t *p; size_t len;
 *   if (fv_zip_find(bytes, n, "labels.txt", &p, &len)) ... p[0 .. len) ...
 */
#ifndef FV_ZIP_H
#define FV_ZIP_H

#include <stddef.h>
#include <stdint.h>

/* 1 and the member's bytes, or 0 when there is no such stored member (or no archive). */
int fv_zip_find(const uint8_t *b, size_t n, const char *name, const uint8_t **data, size_t *len);

#endif
