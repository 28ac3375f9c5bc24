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

fv_error *fv_error_new(void) { return (fv_error *)calloc(1, sizeof(fv_error)); }
void fv_error_free(fv_error *e) { free(e); }
int fv_error_code(const fv_error *e) { return e ? e->code : FV_ERR_BAD_ARG; }
const char *fv_error_message(const fv_error *e) { return e ? e->msg : ""; }

void *fv_malloc(size_t n) { return malloc(n ? n : 1); }
void fv_free(void *p) { free(p); }
const char *fv_version(void) { return FV_VERSION; }

size_t fv_heap_in_use(void) {
#if defined(__EMSCRIPTEN__)
  return (size_t)mallinfo().uordblks;
#else
  return mallinfo2().uordblks;
#endif
}
