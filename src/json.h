/* json.h — a small, strict JSON (RFC 8259) parser into a DOM, and a tiny
 * writer, for render options and manifests. The input is untrusted (the page,
 * the CLI and manifests send it), so the parser is bounded everywhere:
 *
 *  - at most FV_JSON_MAX_BYTES of text and FV_JSON_MAX_DEPTH nested
 *    arrays/objects (recursion never goes deeper than that);
 *  - linear time: no quadratic scans (duplicate keys are found by sorting);
 *  - strict grammar: no NaN/Infinity, no leading zeros, no trailing commas,
 *    no comments, nothing after the value; numbers that overflow a double
 *    are errors; strings must be valid UTF-8 with no raw control characters,
 *    \uXXXX escapes (surrogate pairs included) are decoded to UTF-8;
 *  - duplicate keys in an object are errors;
 *  - every allocation is checked; errors are values with the byte offset:
 *    "JSON: expected ',' or '}' at byte 41" (FV_ERR_BAD_ARG, or
 *    FV_ERR_NO_MEMORY).
 *
 * Memory: fv_json_parse returns one tree owned by the caller, released by
 * fv_json_free. Strings are NUL-terminated copies, but may hold NUL bytes
 * (from \u0000): use .len when that matters. Node offsets refer to the text
 * that was parsed (for error messages quoting the source).
 *
 *   fv_error err;
 *   fv_json *root = fv_json_parse(text, len, &err);
 *   if (!root) ... err.msg ...;
 *   const fv_json *v = fv_json_get(root, "size");
 *   if (v && v->type == FV_JSON_NUMBER) ... v->u.number ...;
 *   fv_json_free(root);
 *
 * Writer: an fv_jbuf grows as needed; an allocation failure is sticky (oom),
 * so callers append freely and check once at the end.
 */
#ifndef FV_JSON_H
#define FV_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "fv.h"

#define FV_JSON_MAX_BYTES (1u << 20) /* 1 MiB of text */
#define FV_JSON_MAX_DEPTH 32         /* nested arrays/objects */
#define FV_JSON_MAX_NUMBER 512       /* characters in one number token */

typedef enum {
  FV_JSON_NULL,
  FV_JSON_BOOL,
  FV_JSON_NUMBER,
  FV_JSON_STRING,
  FV_JSON_ARRAY,
  FV_JSON_OBJECT
} fv_json_type;

typedef struct fv_json fv_json;
struct fv_json {
  uint8_t type;      /* fv_json_type */
  uint8_t boolean;   /* BOOL */
  uint32_t offset;   /* byte offset of the value in the text */
  uint32_t len;      /* NUMBER: token length in the text; STRING: bytes (no NUL);
                        ARRAY: items; OBJECT: members */
  union {
    double number;   /* NUMBER: finite */
    char *str;       /* STRING: UTF-8, NUL-terminated */
    fv_json *items;  /* ARRAY: len items; OBJECT: 2·len nodes, key (STRING) then value */
  } u;
};

/* Parses text[0..len) (need not be NUL-terminated). NULL on error. */
fv_json *fv_json_parse(const char *text, size_t len, fv_error *err);
void fv_json_free(fv_json *root);

/* Member of an object by key (exact bytes, no embedded NUL), or NULL. */
const fv_json *fv_json_get(const fv_json *obj, const char *key);
/* Item i of an array, or NULL. */
const fv_json *fv_json_at(const fv_json *arr, size_t i);
/* Key / value of member i of an object, or NULL. */
const fv_json *fv_json_key(const fv_json *obj, size_t i);
const fv_json *fv_json_value(const fv_json *obj, size_t i);

/* Whether s[0..n) is valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF). */
int fv_json_utf8_valid(const char *s, size_t n);

/* For error messages: s[0..n) double-quoted into dst (always NUL-terminated),
 * with quotes, backslashes, control and invalid bytes escaped, cut with "..."
 * after about 48 bytes. */
void fv_json_quote(char *dst, size_t cap, const char *s, size_t n);

/* ---- writer ------------------------------------------------------------- */
typedef struct {
  char *p;       /* NUL-terminated while not oom */
  size_t len, cap;
  int oom;       /* an allocation failed: the content is incomplete */
} fv_jbuf;

void fv_jbuf_raw(fv_jbuf *b, const char *s);                 /* appends s as is */
/* A quoted, escaped JSON string; s should be UTF-8 (an invalid byte becomes
 * U+FFFD, so the output is always valid JSON). */
void fv_jbuf_string(fv_jbuf *b, const char *s, size_t n);
void fv_jbuf_float(fv_jbuf *b, float x);  /* "%.9g": round-trips every finite float; non-finite → null */
void fv_jbuf_int(fv_jbuf *b, long long x);
void fv_jbuf_uint(fv_jbuf *b, unsigned long long x);
/* The finished string (caller frees with free()), or NULL when an allocation
 * failed; either way b is left empty. */
char *fv_jbuf_finish(fv_jbuf *b);

#endif
