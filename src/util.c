/* util.c — errors as values, and the small allocation helpers the JS shell uses. */
#define _GNU_SOURCE /* mallinfo2 */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define FV_VERSION "0.1.0"

void fv_error_set(fv_error *err, fv_status code, const char *fmt, ...) {
  if (!err) return;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

void fv_error_clear(fv_error *err) {
  if (!err) return;
  err->code = FV_OK;
  err->msg[0] = '\0';
}

fv_error *fv_error_new(void) { return (fv_error *)calloc(1, sizeof(fv_error)); }
int fv_error_code(const fv_error *e) { return e ? e->code : FV_ERR_BAD_ARG; }
const char *fv_error_message(const fv_error *e) { return e ? e->msg : ""; }

void *fv_malloc(size_t n, fv_error *err) {
  fv_error_clear(err);
  void *p = malloc(n ? n : 1);
  if (!p) fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory for %zu bytes", n);
  return p;
}
void fv_free(void *p) { free(p); }
const char *fv_version(void) { return FV_VERSION; }

size_t fv_heap_in_use(void) {
#if defined(__EMSCRIPTEN__)
  return (size_t)mallinfo().uordblks;
#else
  return mallinfo2().uordblks;
#endif
}
