/* json.c — strict, bounded JSON parser (RFC 8259) and a small writer; see json.h. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h" /* fv_error_set */

/* ==== UTF-8 ================================================================== */

/* Length (1..4) of the valid UTF-8 sequence at p[0..avail), or 0 if invalid
 * (overlong forms, UTF-16 surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p, size_t avail) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  unsigned lo = 0x80, hi = 0xBF;
  size_t n;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;       /* overlong */
    else if (c == 0xED) hi = 0x9F;  /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;       /* overlong */
    else if (c == 0xF4) hi = 0x8F;  /* > U+10FFFF */
  } else return 0;
  if (avail < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return n;
}

int fv_json_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t k = utf8_seq(p + i, n - i);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

static size_t utf8_put(char *out, uint32_t cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

void fv_json_quote(char *dst, size_t cap, const char *s, size_t n) {
  if (!dst || cap == 0) return;
  dst[0] = '\0';
  if (cap < 8) return;
  const unsigned char *p = (const unsigned char *)s;
  size_t limit = cap - 5; /* keeps room for "...", the closing quote and the NUL */
  size_t o = 0, i = 0;
  dst[o++] = '"';
  while (i < n && i < 48) {
    char tmp[8];
    size_t k = 0, adv = 1;
    unsigned c = p[i];
    if (c == '"' || c == '\\') { tmp[k++] = '\\'; tmp[k++] = (char)c; }
    else if (c >= 0x20 && c < 0x7F) tmp[k++] = (char)c;
    else if (c >= 0x80 && (adv = utf8_seq(p + i, n - i)) > 0) { memcpy(tmp, p + i, adv); k = adv; }
    else { adv = 1; k = (size_t)snprintf(tmp, sizeof tmp, "\\x%02X", c); }
    if (o + k > limit) break;
    memcpy(dst + o, tmp, k);
    o += k;
    i += adv;
  }
  if (i < n) { memcpy(dst + o, "...", 3); o += 3; }
  dst[o++] = '"';
  dst[o] = '\0';
}

/* ==== parser ================================================================== */

typedef struct {
  const unsigned char *s;
  size_t n, pos;
  fv_error *err;
} parser;

static void fail(parser *P, fv_status code, size_t at, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void fail(parser *P, fv_status code, size_t at, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  fv_error_set(P->err, code, "JSON: %s at byte %zu", what, at);
}

static void fail_oom(parser *P) { fv_error_set(P->err, FV_ERR_NO_MEMORY, "JSON: out of memory"); }

/* "unexpected character 'x' at byte 4; expected ..." (or a byte value, or the end of input). */
static void fail_unexpected(parser *P, const char *expected) {
  size_t at = P->pos;
  char what[64];
  if (at >= P->n) snprintf(what, sizeof what, "unexpected end of input");
  else if (P->s[at] >= 0x21 && P->s[at] < 0x7F) snprintf(what, sizeof what, "unexpected character '%c'", P->s[at]);
  else snprintf(what, sizeof what, "unexpected byte 0x%02X", P->s[at]);
  fv_error_set(P->err, FV_ERR_BAD_ARG, "JSON: %s at byte %zu; expected %s", what, at, expected);
}

static void skip_ws(parser *P) {
  while (P->pos < P->n) {
    unsigned char c = P->s[P->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    P->pos++;
  }
}

static void free_node(fv_json *v) {
  if (v->type == FV_JSON_STRING) free(v->u.str);
  else if (v->type == FV_JSON_ARRAY || v->type == FV_JSON_OBJECT) {
    size_t k = v->type == FV_JSON_OBJECT ? 2 * (size_t)v->len : v->len;
    for (size_t i = 0; i < k; i++) free_node(&v->u.items[i]); /* depth ≤ FV_JSON_MAX_DEPTH */
    free(v->u.items);
  }
  v->type = FV_JSON_NULL;
}

/* A growable vector of nodes; doubling keeps appends amortized O(1). */
typedef struct {
  fv_json *v;
  size_t n, cap;
} nodevec;

static int vec_push(nodevec *a, const fv_json *x) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 4;
    fv_json *v = (fv_json *)realloc(a->v, cap * sizeof *v);
    if (!v) return 0;
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n++] = *x;
  return 1;
}

static void vec_free(nodevec *a) {
  for (size_t i = 0; i < a->n; i++) free_node(&a->v[i]);
  free(a->v);
  a->v = NULL;
  a->n = a->cap = 0;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at s[i..i+4) (i+4 ≤ end already checked by the caller), or -1. */
static long hex4(const unsigned char *s) {
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval(s[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* At '"'. First finds the closing quote (so the output can be sized: escapes
 * only shrink), then decodes. Both passes are linear. */
static int parse_string(parser *P, fv_json *out) {
  const unsigned char *s = P->s;
  size_t start = P->pos, i = start + 1;
  while (i < P->n && s[i] != '"') {
    if (s[i] < 0x20) {
      fail(P, FV_ERR_BAD_ARG, i, "control character 0x%02X in string", s[i]);
      return 0;
    }
    i += s[i] == '\\' ? 2 : 1;
  }
  if (i >= P->n) {
    fail(P, FV_ERR_BAD_ARG, start, "unterminated string");
    return 0;
  }
  size_t end = i; /* the closing quote */
  char *buf = (char *)malloc(end - start);  /* raw bytes + NUL */
  if (!buf) { fail_oom(P); return 0; }
  size_t o = 0;
  for (i = start + 1; i < end;) {
    unsigned c = s[i];
    if (c == '\\') {
      unsigned e = s[i + 1]; /* i + 1 < end: the first pass skipped escapes as pairs */
      const char *simple = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
      const char *hit = e ? strchr(simple, (int)e) : NULL;
      if (hit) {
        buf[o++] = to[hit - simple];
        i += 2;
        continue;
      }
      if (e != 'u') {
        free(buf);
        fail(P, FV_ERR_BAD_ARG, i, "invalid escape in string");
        return 0;
      }
      long cp = i + 6 <= end ? hex4(s + i + 2) : -1;
      if (cp < 0) {
        free(buf);
        fail(P, FV_ERR_BAD_ARG, i, "invalid \\u escape in string");
        return 0;
      }
      size_t esc = i;
      i += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        free(buf);
        fail(P, FV_ERR_BAD_ARG, esc, "invalid UTF-16 surrogate (a lone low surrogate)");
        return 0;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = (i + 6 <= end && s[i] == '\\' && s[i + 1] == 'u') ? hex4(s + i + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) {
          free(buf);
          fail(P, FV_ERR_BAD_ARG, esc, "invalid UTF-16 surrogate (a high surrogate without a low one)");
          return 0;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
      }
      o += utf8_put(buf + o, (uint32_t)cp);
      continue;
    }
    if (c < 0x80) {
      buf[o++] = (char)c;
      i++;
      continue;
    }
    size_t k = utf8_seq(s + i, end - i);
    if (!k) {
      free(buf);
      fail(P, FV_ERR_BAD_ARG, i, "invalid UTF-8");
      return 0;
    }
    memcpy(buf + o, s + i, k);
    o += k;
    i += k;
  }
  buf[o] = '\0';
  out->type = FV_JSON_STRING;
  out->offset = (uint32_t)start;
  out->len = (uint32_t)o;
  out->u.str = buf;
  P->pos = end + 1;
  return 1;
}

static int is_digit(parser *P, size_t i) { return i < P->n && P->s[i] >= '0' && P->s[i] <= '9'; }

/* -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?, then strtod (correctly
 * rounded in glibc and musl) on a bounded copy: the text is not NUL-terminated. */
static int parse_number(parser *P, fv_json *out) {
  size_t start = P->pos, i = start;
  if (i < P->n && P->s[i] == '-') i++;
  if (!is_digit(P, i)) {
    P->pos = i;
    fail_unexpected(P, "a digit");
    return 0;
  }
  if (P->s[i] == '0') {
    i++;
    if (is_digit(P, i)) {
      fail(P, FV_ERR_BAD_ARG, start, "leading zero in number");
      return 0;
    }
  } else {
    while (is_digit(P, i)) i++;
  }
  if (i < P->n && P->s[i] == '.') {
    i++;
    if (!is_digit(P, i)) {
      P->pos = i;
      fail_unexpected(P, "a digit after '.'");
      return 0;
    }
    while (is_digit(P, i)) i++;
  }
  if (i < P->n && (P->s[i] == 'e' || P->s[i] == 'E')) {
    i++;
    if (i < P->n && (P->s[i] == '+' || P->s[i] == '-')) i++;
    if (!is_digit(P, i)) {
      P->pos = i;
      fail_unexpected(P, "a digit in the exponent");
      return 0;
    }
    while (is_digit(P, i)) i++;
  }
  size_t len = i - start;
  if (len > FV_JSON_MAX_NUMBER) {
    fail(P, FV_ERR_BAD_ARG, start, "number longer than %d characters", FV_JSON_MAX_NUMBER);
    return 0;
  }
  char tmp[FV_JSON_MAX_NUMBER + 1];
  memcpy(tmp, P->s + start, len);
  tmp[len] = '\0';
  double d = strtod(tmp, NULL);
  if (!isfinite(d)) {
    fail(P, FV_ERR_BAD_ARG, start, "number out of range");
    return 0;
  }
  out->type = FV_JSON_NUMBER;
  out->offset = (uint32_t)start;
  out->len = (uint32_t)len;
  out->u.number = d;
  P->pos = i;
  return 1;
}

static int parse_value(parser *P, fv_json *out, int depth);

/* After an array item or object member: a ',' with more to come → 1, the
 * closing bracket → 0, anything else (or a trailing comma) → -1, error set. */
static int next_item(parser *P, char close, const char *what) {
  skip_ws(P);
  if (P->pos < P->n && P->s[P->pos] == ',') {
    P->pos++;
    skip_ws(P);
    if (P->pos < P->n && P->s[P->pos] == close) {
      fail(P, FV_ERR_BAD_ARG, P->pos, "trailing comma in %s", what);
      return -1;
    }
    return 1;
  }
  if (P->pos < P->n && P->s[P->pos] == close) {
    P->pos++;
    return 0;
  }
  fail(P, FV_ERR_BAD_ARG, P->pos, "expected ',' or '%c'", close);
  return -1;
}

static int parse_array(parser *P, fv_json *out, int depth) {
  size_t start = P->pos;
  nodevec a = {0};
  P->pos++; /* '[' */
  skip_ws(P);
  if (P->pos < P->n && P->s[P->pos] == ']') {
    P->pos++;
  } else {
    for (;;) {
      fv_json item;
      if (!parse_value(P, &item, depth)) goto fail;
      if (!vec_push(&a, &item)) {
        free_node(&item);
        fail_oom(P);
        goto fail;
      }
      int more = next_item(P, ']', "array");
      if (more < 0) goto fail;
      if (!more) break;
    }
  }
  out->type = FV_JSON_ARRAY;
  out->offset = (uint32_t)start;
  out->len = (uint32_t)a.n;
  out->u.items = a.v;
  return 1;
fail:
  vec_free(&a);
  return 0;
}

static int key_cmp(const void *pa, const void *pb) {
  const fv_json *a = *(const fv_json *const *)pa, *b = *(const fv_json *const *)pb;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->u.str, b->u.str, n);
  if (c) return c;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  return a->offset < b->offset ? -1 : a->offset > b->offset; /* equal keys in document order */
}

/* Duplicate keys by sorting (O(n log n)), not by pairwise comparison, so a
 * hostile object with many keys stays cheap. Reports the first duplicate. */
static int check_duplicates(parser *P, const nodevec *a) {
  size_t n = a->n / 2;
  if (n < 2) return 1;
  const fv_json **k = (const fv_json **)malloc(n * sizeof *k);
  if (!k) { fail_oom(P); return 0; }
  for (size_t i = 0; i < n; i++) k[i] = &a->v[2 * i];
  qsort(k, n, sizeof *k, key_cmp);
  const fv_json *dup = NULL;
  for (size_t i = 1; i < n; i++)
    if (k[i]->len == k[i - 1]->len && memcmp(k[i]->u.str, k[i - 1]->u.str, k[i]->len) == 0 &&
        (!dup || k[i]->offset < dup->offset))
      dup = k[i];
  if (dup) {
    char q[96];
    fv_json_quote(q, sizeof q, dup->u.str, dup->len);
    fail(P, FV_ERR_BAD_ARG, dup->offset, "duplicate key %s", q);
  }
  free(k);
  return dup == NULL;
}

static int parse_object(parser *P, fv_json *out, int depth) {
  size_t start = P->pos;
  nodevec a = {0};
  P->pos++; /* '{' */
  skip_ws(P);
  if (P->pos < P->n && P->s[P->pos] == '}') {
    P->pos++;
  } else {
    for (;;) {
      fv_json key, val;
      if (P->pos >= P->n || P->s[P->pos] != '"') {
        fail_unexpected(P, "a string key");
        goto fail;
      }
      if (!parse_string(P, &key)) goto fail;
      if (!vec_push(&a, &key)) {
        free_node(&key);
        fail_oom(P);
        goto fail;
      }
      skip_ws(P);
      if (P->pos >= P->n || P->s[P->pos] != ':') {
        fail(P, FV_ERR_BAD_ARG, P->pos, "expected ':'");
        goto fail;
      }
      P->pos++;
      if (!parse_value(P, &val, depth)) goto fail;
      if (!vec_push(&a, &val)) {
        free_node(&val);
        fail_oom(P);
        goto fail;
      }
      int more = next_item(P, '}', "object");
      if (more < 0) goto fail;
      if (!more) break;
    }
  }
  if (!check_duplicates(P, &a)) goto fail;
  out->type = FV_JSON_OBJECT;
  out->offset = (uint32_t)start;
  out->len = (uint32_t)(a.n / 2);
  out->u.items = a.v;
  return 1;
fail:
  vec_free(&a);
  return 0;
}

static int literal(parser *P, fv_json *out, const char *word, fv_json_type type, int b) {
  size_t k = strlen(word);
  if (P->n - P->pos < k || memcmp(P->s + P->pos, word, k) != 0) {
    fail_unexpected(P, "a value");
    return 0;
  }
  out->type = (uint8_t)type;
  out->boolean = (uint8_t)b;
  out->offset = (uint32_t)P->pos;
  out->len = 0;
  out->u.items = NULL;
  P->pos += k;
  return 1;
}

/* depth = containers already open around this value; recursion stops at the cap. */
static int parse_value(parser *P, fv_json *out, int depth) {
  memset(out, 0, sizeof *out);
  skip_ws(P);
  if (P->pos >= P->n) {
    fail_unexpected(P, "a value");
    return 0;
  }
  switch (P->s[P->pos]) {
    case '{':
    case '[':
      if (depth >= FV_JSON_MAX_DEPTH) {
        fail(P, FV_ERR_BAD_ARG, P->pos, "nesting deeper than %d", FV_JSON_MAX_DEPTH);
        return 0;
      }
      return P->s[P->pos] == '{' ? parse_object(P, out, depth + 1) : parse_array(P, out, depth + 1);
    case '"': return parse_string(P, out);
    case 't': return literal(P, out, "true", FV_JSON_BOOL, 1);
    case 'f': return literal(P, out, "false", FV_JSON_BOOL, 0);
    case 'n': return literal(P, out, "null", FV_JSON_NULL, 0);
    default:
      if (P->s[P->pos] == '-' || (P->s[P->pos] >= '0' && P->s[P->pos] <= '9')) return parse_number(P, out);
      fail_unexpected(P, "a value");
      return 0;
  }
}

fv_json *fv_json_parse(const char *text, size_t len, fv_error *err) {
  if (len == 0 || !text) {
    fv_error_set(err, FV_ERR_BAD_ARG, "JSON: empty input");
    return NULL;
  }
  if (len > FV_JSON_MAX_BYTES) {
    fv_error_set(err, FV_ERR_BAD_ARG, "JSON: input too large (%zu bytes; at most %u)", len, FV_JSON_MAX_BYTES);
    return NULL;
  }
  parser P = {(const unsigned char *)text, len, 0, err};
  fv_json *root = (fv_json *)malloc(sizeof *root);
  if (!root) {
    fail_oom(&P);
    return NULL;
  }
  if (!parse_value(&P, root, 0)) {
    free(root);
    return NULL;
  }
  skip_ws(&P);
  if (P.pos != P.n) {
    fail_unexpected(&P, "the end of the input");
    fv_json_free(root);
    return NULL;
  }
  return root;
}

void fv_json_free(fv_json *root) {
  if (!root) return;
  free_node(root);
  free(root);
}

const fv_json *fv_json_get(const fv_json *obj, const char *key) {
  if (!obj || obj->type != FV_JSON_OBJECT || !key) return NULL;
  size_t k = strlen(key);
  for (size_t i = 0; i < obj->len; i++) {
    const fv_json *name = &obj->u.items[2 * i];
    if (name->len == k && memcmp(name->u.str, key, k) == 0) return &obj->u.items[2 * i + 1];
  }
  return NULL;
}

const fv_json *fv_json_at(const fv_json *arr, size_t i) {
  if (!arr || arr->type != FV_JSON_ARRAY || i >= arr->len) return NULL;
  return &arr->u.items[i];
}

const fv_json *fv_json_key(const fv_json *obj, size_t i) {
  if (!obj || obj->type != FV_JSON_OBJECT || i >= obj->len) return NULL;
  return &obj->u.items[2 * i];
}

const fv_json *fv_json_value(const fv_json *obj, size_t i) {
  if (!obj || obj->type != FV_JSON_OBJECT || i >= obj->len) return NULL;
  return &obj->u.items[2 * i + 1];
}

/* ==== writer ==================================================================== */

static int jbuf_reserve(fv_jbuf *b, size_t extra) {
  if (b->oom) return 0;
  if (extra > ((size_t)-1) / 2 - b->len) goto oom;
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  char *p = (char *)realloc(b->p, cap);
  if (!p) goto oom;
  b->p = p;
  b->cap = cap;
  return 1;
oom:
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->oom = 1;
  return 0;
}

static void jbuf_put(fv_jbuf *b, const char *s, size_t n) {
  if (!jbuf_reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void fv_jbuf_raw(fv_jbuf *b, const char *s) { jbuf_put(b, s, strlen(s)); }

void fv_jbuf_string(fv_jbuf *b, const char *s, size_t n) {
  if (n > ((size_t)-1) / 8) { /* cannot be sized */
    jbuf_reserve(b, (size_t)-1);
    return;
  }
  if (!jbuf_reserve(b, 6 * n + 2)) return; /* worst case: every byte as \u00XX */
  const unsigned char *p = (const unsigned char *)s;
  char *o = b->p + b->len;
  *o++ = '"';
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    if (c >= 0x80) {
      size_t k = utf8_seq(p + i, n - i);
      if (k) memcpy(o, p + i, k), o += k, i += k;
      else memcpy(o, "\xEF\xBF\xBD", 3), o += 3, i++; /* U+FFFD */
      continue;
    }
    i++;
    switch (c) {
      case '"': *o++ = '\\'; *o++ = '"'; break;
      case '\\': *o++ = '\\'; *o++ = '\\'; break;
      case '\b': *o++ = '\\'; *o++ = 'b'; break;
      case '\f': *o++ = '\\'; *o++ = 'f'; break;
      case '\n': *o++ = '\\'; *o++ = 'n'; break;
      case '\r': *o++ = '\\'; *o++ = 'r'; break;
      case '\t': *o++ = '\\'; *o++ = 't'; break;
      default:
        if (c < 0x20) o += snprintf(o, 7, "\\u%04x", c);
        else *o++ = (char)c;
    }
  }
  *o++ = '"';
  *o = '\0';
  b->len = (size_t)(o - b->p);
}

void fv_jbuf_float(fv_jbuf *b, float x) {
  char tmp[32];
  /* 9 significant digits identify a float uniquely; the decimal lies far
   * from any rounding midpoint, so decimal → double → float is exact too. */
  if (!isfinite(x)) snprintf(tmp, sizeof tmp, "null");
  else snprintf(tmp, sizeof tmp, "%.9g", (double)x);
  fv_jbuf_raw(b, tmp);
}

void fv_jbuf_int(fv_jbuf *b, long long x) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%lld", x);
  fv_jbuf_raw(b, tmp);
}

void fv_jbuf_uint(fv_jbuf *b, unsigned long long x) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%llu", x);
  fv_jbuf_raw(b, tmp);
}

char *fv_jbuf_finish(fv_jbuf *b) {
  char *p = NULL;
  if (!b->oom) {
    p = b->p ? b->p : (char *)calloc(1, 1);
    b->p = NULL;
  }
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->oom = 0;
  return p;
}
