/* objective_expr.c — the objective's grammar: a recursive-descent parser from
 * text into the terms of an fv_render_opts, and the canonical writer back;
 * see objective_expr.h. The text is untrusted (the page, the CLI and
 * manifests send it): every path is bounded (FV_MAX_TERMS, FV_MAX_PARTS,
 * FV_EXPR_MAX_DEPTH, names of at most NAME_MAX bytes) and every error names
 * the character where it was found. Ranges are checked as the JSON options
 * check them (fv_obj_check_channel, the same bounds from options.h). */
#include "objective_expr.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 512

/* ==== the parser's state and its messages ===================================================== */

typedef struct {
  const char *s;  /* the text */
  size_t n, i;    /* its length, the cursor */
  const fv_model *m;
  const char *labels;
  size_t labels_len;
  const char *where;
  fv_render_opts *o;
  fv_error *err;
  int depth;
} P;

/* 1-based position of byte `at`, counted in UTF-8 characters. */
static size_t column(const P *p, size_t at) {
  size_t col = 1;
  for (size_t k = 0; k < at && k < p->n; k++) col += ((unsigned char)p->s[k] & 0xC0) != 0x80;
  return col;
}

static int fail(P *p, size_t at, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int fail(P *p, size_t at, fv_status code, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  fv_error_set(p->err, code, "%s at %zu: %s", p->where, column(p, at), what);
  return 0;
}

static void skip_ws(P *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static char peek(P *p) {
  skip_ws(p);
  return p->i < p->n ? p->s[p->i] : '\0';
}

static int accept(P *p, char ch) {
  if (peek(p) != ch) return 0;
  p->i++;
  return 1;
}

/* What the cursor is at, for "expected ..., got X" messages. */
static const char *got(P *p, char buf[16]) {
  skip_ws(p);
  if (p->i >= p->n) return "the end";
  unsigned char ch = (unsigned char)p->s[p->i];
  if (ch >= 0x20 && ch < 0x7f) snprintf(buf, 16, "'%c'", ch);
  else snprintf(buf, 16, "byte 0x%02x", ch);
  return buf;
}

static int expect(P *p, char ch, const char *what) {
  char b[16];
  if (accept(p, ch)) return 1;
  return fail(p, p->i, FV_ERR_BAD_ARG, "expected '%c' %s, got %s", ch, what, got(p, b));
}

/* ==== tokens: names and numbers ========================================================== */

/* Bytes of an unquoted name: letters, digits, _ . / ~ and '-' (not first), and any non-ASCII byte. */
static int name_byte(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
         ch == '/' || ch == '~' || ch == '-' || ch >= 0x80;
}

/* Whether tok[0..n) reads as a number (a digit or '.' first, then only 0-9 . e E + -, all of it
 * consumed by strtod, finite); *d its value. */
static int as_number(const char *tok, size_t n, double *d) {
  if (n == 0 || n > 64 || !((tok[0] >= '0' && tok[0] <= '9') || tok[0] == '.')) return 0;
  char buf[65];
  for (size_t k = 0; k < n; k++) {
    char ch = tok[k];
    if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-')) return 0;
    buf[k] = ch;
  }
  buf[n] = '\0';
  char *end;
  double v = strtod(buf, &end);
  if (end != buf + n || !isfinite(v)) return 0;
  *d = v;
  return 1;
}

static int all_digits(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t k = 0; k < n; k++)
    if (s[k] < '0' || s[k] > '9') return 0;
  return 1;
}

typedef struct {
  char text[NAME_MAX_BYTES + 1]; /* NUL-terminated */
  size_t len;
  size_t at;                     /* where it starts */
  int quoted;
} token;

/* A name at the cursor: "quoted" (escapes \" and \\), or a run of name bytes not starting with '-'.
 * Bare numbers come out as names too; callers ask as_number. 0 with err set if there is none. */
static int read_token(P *p, token *t, const char *what) {
  char b[16];
  skip_ws(p);
  t->at = p->i;
  t->len = 0;
  t->quoted = 0;
  if (p->i < p->n && p->s[p->i] == '"') {
    t->quoted = 1;
    p->i++;
    for (;;) {
      if (p->i >= p->n) return fail(p, t->at, FV_ERR_BAD_ARG, "unterminated quoted name");
      unsigned char ch = (unsigned char)p->s[p->i++];
      if (ch == '"') break;
      if (ch < 0x20) return fail(p, p->i - 1, FV_ERR_BAD_ARG, "a control character in a quoted name");
      if (ch == '\\') {
        if (p->i >= p->n || (p->s[p->i] != '"' && p->s[p->i] != '\\'))
          return fail(p, p->i - 1, FV_ERR_BAD_ARG, "a quoted name escapes only \\\" and \\\\");
        ch = (unsigned char)p->s[p->i++];
      }
      if (t->len >= NAME_MAX_BYTES) return fail(p, t->at, FV_ERR_BAD_ARG, "a name longer than %d bytes", NAME_MAX_BYTES);
      t->text[t->len++] = (char)ch;
    }
    t->text[t->len] = '\0';
    if (!fv_json_utf8_valid(t->text, t->len)) return fail(p, t->at, FV_ERR_BAD_ARG, "a quoted name that is not UTF-8");
    return 1;
  }
  const int numeric = p->i < p->n && ((p->s[p->i] >= '0' && p->s[p->i] <= '9') || p->s[p->i] == '.');
  while (p->i < p->n && (name_byte((unsigned char)p->s[p->i]) ||
                         (numeric && p->s[p->i] == '+' && t->len && (t->text[t->len - 1] | 32) == 'e')) &&
         !(p->i == t->at && p->s[p->i] == '-')) {
    if (t->len >= NAME_MAX_BYTES) return fail(p, t->at, FV_ERR_BAD_ARG, "a name longer than %d bytes", NAME_MAX_BYTES);
    t->text[t->len++] = p->s[p->i++];
  }
  t->text[t->len] = '\0';
  if (t->len == 0) return fail(p, t->at, FV_ERR_BAD_ARG, "expected %s, got %s", what, got(p, b));
  if (!fv_json_utf8_valid(t->text, t->len)) return fail(p, t->at, FV_ERR_BAD_ARG, "a name that is not UTF-8");
  return 1;
}

/* A number token (a sign allowed in front). */
static int read_number(P *p, double *d, size_t *at, const char *what) {
  skip_ws(p);
  *at = p->i;
  double sign = 1;
  if (p->i < p->n && (p->s[p->i] == '-' || p->s[p->i] == '+')) sign = p->s[p->i++] == '-' ? -1 : 1;
  token t;
  if (!read_token(p, &t, what)) return 0;
  if (t.quoted || !as_number(t.text, t.len, d)) return fail(p, *at, FV_ERR_BAD_ARG, "expected %s, got \"%s\"", what, t.text);
  *d *= sign;
  return 1;
}

/* An integer in lo..hi; key names it in messages. */
static int read_int(P *p, const char *key, long lo, long hi, int *out) {
  double d;
  size_t at;
  if (!read_number(p, &d, &at, key)) return 0;
  if (d != floor(d)) return fail(p, at, FV_ERR_BAD_ARG, "%s %g must be a whole number in %ld..%ld", key, d, lo, hi);
  if (d < lo || d > hi) return fail(p, at, FV_ERR_BAD_ARG, "%s %.17g out of range %ld..%ld", key, d, lo, hi);
  *out = (int)d;
  return 1;
}

/* A number in [lo, hi] that is a finite float. */
static int read_float(P *p, const char *key, double lo, double hi, float *out) {
  double d;
  size_t at;
  if (!read_number(p, &d, &at, key)) return 0;
  if (!(d >= lo && d <= hi)) return fail(p, at, FV_ERR_BAD_ARG, "%s %g out of range %g..%g", key, d, lo, hi);
  *out = (float)d;
  return 1;
}

/* ==== layers, channels, classes ========================================================== */

static int layer_of(P *p, const token *t, int *out) {
  int count = fv_model_layer_count(p->m);
  if (count <= 0) return fail(p, t->at, FV_ERR_UNKNOWN_LAYER, "the model has no layers");
  if (!t->quoted && all_digits(t->text, t->len)) {
    double d = strtod(t->text, NULL);
    if (d > count - 1)
      return fail(p, t->at, FV_ERR_UNKNOWN_LAYER, "layer %s out of range 0..%d (or a layer name)", t->text, count - 1);
    *out = (int)d;
    return 1;
  }
  int k = fv_model_layer_find(p->m, t->text);
  if (k < 0) {
    char q[80];
    fv_json_quote(q, sizeof q, t->text, t->len);
    return fail(p, t->at, FV_ERR_UNKNOWN_LAYER, "unknown layer %s", q);
  }
  *out = k;
  return 1;
}

static int read_layer(P *p, int *out) {
  token t;
  return read_token(p, &t, "a layer (a name or an index)") && layer_of(p, &t, out);
}

static int read_channel(P *p, int layer, const char *key, int *out) {
  double d;
  size_t at;
  char num[40];
  fv_error e;
  if (!read_number(p, &d, &at, key)) return 0;
  snprintf(num, sizeof num, "%.17g", d);
  if (!fv_obj_check_channel(key, d, num, fv_model_layer_dim(p->m, layer, 3), fv_model_layer_name(p->m, layer), &e))
    return fail(p, at, (fv_status)e.code, "%s", e.msg);
  *out = (int)d;
  return 1;
}

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; }

int fv_expr_class_find(const char *labels, size_t labels_len, const char *name, size_t n) {
  while (n && (*name == ' ' || *name == '\t')) name++, n--;
  while (n && (name[n - 1] == ' ' || name[n - 1] == '\t')) n--;
  /* "macaw (89)": the form the page's class list shows */
  if (n >= 3 && name[n - 1] == ')') {
    size_t k = n - 1;
    while (k > 0 && name[k - 1] >= '0' && name[k - 1] <= '9') k--;
    if (k > 0 && k < n - 1 && name[k - 1] == '(' && n - 1 - k < 9) return (int)strtol(name + k, NULL, 10);
  }
  if (!labels || n == 0) return -1;
  int index = 0;
  for (size_t a = 0; a < labels_len; index++) {
    size_t b = a;
    while (b < labels_len && labels[b] != '\n') b++;
    for (size_t s = a; s <= b;) { /* each comma-separated name of the line [a, b) */
      size_t e = s;
      while (e < b && labels[e] != ',') e++;
      size_t x = s, y = e;
      while (x < y && (labels[x] == ' ' || labels[x] == '\t' || labels[x] == '\r')) x++;
      while (y > x && (labels[y - 1] == ' ' || labels[y - 1] == '\t' || labels[y - 1] == '\r')) y--;
      if (y - x == n) {
        size_t k = 0;
        while (k < n && lower((unsigned char)labels[x + k]) == lower((unsigned char)name[k])) k++;
        if (k == n) return index;
      }
      s = e + 1;
    }
    a = b + 1;
  }
  return -1;
}

/* ==== terms ============================================================================== */

static fv_obj_term *new_term(P *p, fv_obj_kind kind, size_t at) {
  fv_render_opts *o = p->o;
  if (o->n_terms >= FV_MAX_TERMS) {
    fail(p, at, FV_ERR_BAD_ARG, "more than %d terms", FV_MAX_TERMS);
    return NULL;
  }
  int k = o->n_terms++;
  o->terms[k] = fv_obj_default(kind);
  memset(&o->src[k], 0, sizeof o->src[k]);
  o->src[k].photo = -1;
  o->src[k].pos = (int)at;
  return &o->terms[k];
}

#define KW_BATCH 1
#define KW_COSSIM 2
#define KW_XY 4
#define KW_CONSTANT 8

/* [, key=value]* ')' for the keys in allowed (KW_*); bare: the first comes without a comma
 * (right after the '(' of a function that has no positional argument). */
static int parse_kwargs(P *p, fv_obj_term *t, int allowed, int bare) {
  int seen = 0;
  for (int first = 1;; first = 0) {
    if (first && bare) {
      if (accept(p, ')')) return 1;
    } else if (!accept(p, ',')) {
      break;
    }
    token k;
    if (!read_token(p, &k, "a key such as batch=")) return 0;
    int bit = !strcmp(k.text, "batch") ? KW_BATCH : !strcmp(k.text, "cossim") ? KW_COSSIM
              : (!strcmp(k.text, "x") || !strcmp(k.text, "y")) ? KW_XY : !strcmp(k.text, "constant") ? KW_CONSTANT : 0;
    int mark = bit == KW_XY ? (k.text[0] == 'x' ? 16 : 32) : bit;
    if (!(bit & allowed) || k.quoted)
      return fail(p, k.at, FV_ERR_BAD_ARG, "unknown argument \"%s\" for %s(...)", k.text,
                  t->kind == FV_OBJ_LAYER ? "deepdream" : t->kind == FV_OBJ_INTERP ? "interpolate" : fv_obj_name(t->kind));
    if (seen & mark) return fail(p, k.at, FV_ERR_BAD_ARG, "%s given twice", k.text);
    seen |= mark;
    if (!expect(p, '=', "after the argument's name")) return 0;
    int ok = bit == KW_BATCH    ? read_int(p, "batch", -1, p->o->batch - 1, &t->batch)
             : bit == KW_COSSIM ? read_float(p, "cossim", 0, FV_COSSIM_POW_MAX, &t->cossim_pow)
             : bit == KW_XY     ? read_int(p, k.text, -1, FV_XY_MAX, k.text[0] == 'x' ? &t->x : &t->y)
                                : read_float(p, "constant", 0, 1, &t->constant);
    if (!ok) return 0;
  }
  return expect(p, ')', "to close the arguments");
}

/* LAYER ':' C ['@' X ',' Y] into a channel or neuron term. */
static int parse_unit(P *p, const token *lt, size_t at, int allow_at) {
  int layer, channel;
  if (!layer_of(p, lt, &layer)) return 0;
  if (!expect(p, ':', "and a channel after the layer")) return 0;
  if (!read_channel(p, layer, "channel", &channel)) return 0;
  int neuron = allow_at && accept(p, '@');
  fv_obj_term *t = new_term(p, neuron ? FV_OBJ_NEURON : FV_OBJ_CHANNEL, at);
  if (!t) return 0;
  t->layer = layer;
  t->channel = channel;
  if (neuron && !(read_int(p, "x", 0, FV_XY_MAX, &t->x) && expect(p, ',', "between x and y") &&
                  read_int(p, "y", 0, FV_XY_MAX, &t->y)))
    return 0;
  return 1;
}

static int add_part(P *p, fv_term_src *src, int kind, double w, int arg, size_t at) {
  if (src->n_parts >= FV_MAX_PARTS) return fail(p, at, FV_ERR_BAD_ARG, "a vector of more than %d parts", FV_MAX_PARTS);
  float wf = fabs(w) < 0x1.ffffffp127 ? (float)w : INFINITY;
  if (!isfinite(wf)) return fail(p, at, FV_ERR_BAD_ARG, "weight %g is not a finite 32-bit float", w);
  src->parts[src->n_parts++] = (fv_vec_part){kind, wf, arg};
  return 1;
}

/* '[' v0, v1, ... ']' of exactly C numbers (the layer's channels). */
static int parse_literal(P *p, fv_term_src *src, int layer, size_t at) {
  const int C = fv_model_layer_dim(p->m, layer, 3);
  if (src->values) return fail(p, at, FV_ERR_BAD_ARG, "a vector takes one [...] literal");
  if (C < 1) return fail(p, at, FV_ERR_BAD_ARG, "layer %d has no channels", layer);
  src->values = (float *)malloc((size_t)C * sizeof(float));
  if (!src->values) return fail(p, at, FV_ERR_NO_MEMORY, "out of memory for a vector of %d floats", C);
  int k = 0;
  do {
    float v;
    if (k >= C) return fail(p, p->i, FV_ERR_BAD_ARG, "the vector has more than %d values: layer %d has %d channels", C, layer, C);
    if (!read_float(p, "a vector value", -FLT_MAX, FLT_MAX, &v)) return 0;
    src->values[k++] = v;
  } while (accept(p, ','));
  if (!expect(p, ']', "to close the vector")) return 0;
  if (k != C)
    return fail(p, at, FV_ERR_BAD_ARG, "the vector has %d values; layer \"%s\" has %d channels", k,
                fv_model_layer_name(p->m, layer), C);
  return 1;
}

static int photo_index(P *p, const token *name, int layer, int kind) {
  if (name->len == 0) return fail(p, name->at, FV_ERR_BAD_ARG, "an empty photo name");
  int k = fv_vectors_photo_ref(p->o, name->text, name->len, layer, kind);
  if (k < 0) return fail(p, name->at, FV_ERR_BAD_ARG, "more than %d photos", FV_MAX_PHOTOS);
  return k + 1; /* 1-based, so 0 can mean failure */
}

/* VECTOR (see the header) into src's parts. */
static int parse_vector(P *p, fv_term_src *src, int layer) {
  for (int first = 1;; first = 0) {
    double w = 1;
    char op = peek(p);
    if (op == '+' || op == '-') p->i++, w = op == '-' ? -1 : 1;
    else if (!first) return 1;
    skip_ws(p);
    size_t at = p->i;
    if (peek(p) == '[') {
      p->i++;
      if (!parse_literal(p, src, layer, at) || !add_part(p, src, FV_PART_VALUES, w, 0, at)) return 0;
      continue;
    }
    token t;
    double d;
    if (!read_token(p, &t, "a vector: unit(C), random(SEED), a photo or [values]")) return 0;
    if (!t.quoted && as_number(t.text, t.len, &d)) {
      if (!expect(p, '*', "after a weight")) return 0;
      w *= d;
      skip_ws(p);
      at = p->i;
      if (peek(p) == '[') {
        p->i++;
        if (!parse_literal(p, src, layer, at) || !add_part(p, src, FV_PART_VALUES, w, 0, at)) return 0;
        continue;
      }
      if (!read_token(p, &t, "a vector: unit(C), random(SEED), a photo or [values]")) return 0;
    }
    int fn = !t.quoted && peek(p) == '(';
    if (fn && !strcmp(t.text, "unit")) {
      int c;
      p->i++;
      if (!read_channel(p, layer, "unit", &c) || !expect(p, ')', "to close unit(...)")) return 0;
      if (!add_part(p, src, FV_PART_UNIT, w, c, t.at)) return 0;
    } else if (fn && !strcmp(t.text, "random")) {
      int seed;
      p->i++;
      if (!read_int(p, "seed", 0, FV_DIRECTION_SEED_MAX, &seed) || !expect(p, ')', "to close random(...)")) return 0;
      if (!add_part(p, src, FV_PART_RANDOM, w, seed, t.at)) return 0;
    } else if (fn && !strcmp(t.text, "photo")) {
      token name;
      p->i++;
      if (!read_token(p, &name, "a photo's name")) return 0;
      int k = photo_index(p, &name, layer, FV_PHOTO_MEAN);
      if (!k || !expect(p, ')', "to close photo(...)") || !add_part(p, src, FV_PART_PHOTO, w, k - 1, t.at)) return 0;
    } else if (fn) {
      return fail(p, t.at, FV_ERR_BAD_ARG, "unknown vector \"%s(...)\": unit(C), random(SEED), photo(NAME) or [values]",
                  t.text);
    } else {
      int k = photo_index(p, &t, layer, FV_PHOTO_MEAN); /* a bare name is a photo */
      if (!k || !add_part(p, src, FV_PART_PHOTO, w, k - 1, t.at)) return 0;
    }
  }
}

static const char *const FUNCTIONS =
    "neuron, channel, deepdream, class, direction, interpolate, alignment, diversity, caricature, l1, l2, tv, blur, prior";

/* name '(' ... ')' — the cursor is just past '('. */
static int parse_function(P *p, const token *f) {
  const char *n = f->text;
  const size_t at = f->at;
  fv_obj_term *t;
  if (!strcmp(n, "neuron") || !strcmp(n, "channel")) {
    token lt;
    if (!read_token(p, &lt, "a layer") || !parse_unit(p, &lt, at, n[0] == 'n')) return 0;
    t = &p->o->terms[p->o->n_terms - 1];
    if (n[0] == 'n') t->kind = FV_OBJ_NEURON; /* without @x,y: x = y = -1, the centre */
    return parse_kwargs(p, t, KW_BATCH | (n[0] == 'n' ? KW_XY : 0), 0);
  }
  if (!strcmp(n, "deepdream") || !strcmp(n, "alignment") || !strcmp(n, "diversity")) {
    int layer;
    if (!read_layer(p, &layer)) return 0;
    if (!(t = new_term(p, n[0] == 'd' && n[1] == 'e' ? FV_OBJ_LAYER : n[0] == 'a' ? FV_OBJ_ALIGNMENT : FV_OBJ_DIVERSITY, at)))
      return 0;
    t->layer = layer;
    return parse_kwargs(p, t, t->kind == FV_OBJ_LAYER ? KW_BATCH : 0, 0);
  }
  if (!strcmp(n, "class")) {
    token c;
    int logits = fv_options_logits_layer(p->m), index;
    if (logits < 0) return fail(p, at, FV_ERR_UNKNOWN_LAYER, "the model has no logits layer for a class term");
    const int C = fv_model_layer_dim(p->m, logits, 3);
    if (!read_token(p, &c, "a class name or index")) return 0;
    if (!c.quoted && all_digits(c.text, c.len)) {
      double d = strtod(c.text, NULL);
      if (d > C - 1) return fail(p, c.at, FV_ERR_BAD_ARG, "class %s out of range 0..%d (the model has %d classes)", c.text, C - 1, C);
      index = (int)d;
    } else {
      char q[80];
      fv_json_quote(q, sizeof q, c.text, c.len);
      index = fv_expr_class_find(p->labels, p->labels_len, c.text, c.len);
      if (index < 0 && !p->labels)
        return fail(p, c.at, FV_ERR_BAD_ARG, "class %s: no class names are known here; give the output index", q);
      if (index < 0)
        return fail(p, c.at, FV_ERR_BAD_ARG,
                    "unknown class %s: no such class in the model's labels (a label such as \"macaw\", or an output index)", q);
      if (index > C - 1) return fail(p, c.at, FV_ERR_BAD_ARG, "class %s is output %d; the model has %d", q, index, C);
    }
    if (!(t = new_term(p, FV_OBJ_CHANNEL, at))) return 0;
    t->layer = logits;
    t->channel = index;
    p->o->src[p->o->n_terms - 1].is_class = 1;
    return parse_kwargs(p, t, KW_BATCH, 0);
  }
  if (!strcmp(n, "direction") || !strcmp(n, "caricature")) {
    int layer;
    if (!read_layer(p, &layer) || !expect(p, ',', n[0] == 'd' ? "and a vector after the layer" : "and a photo after the layer"))
      return 0;
    if (!(t = new_term(p, n[0] == 'd' ? FV_OBJ_DIRECTION : FV_OBJ_CARICATURE, at))) return 0;
    t->layer = layer;
    fv_term_src *src = &p->o->src[p->o->n_terms - 1];
    if (t->kind == FV_OBJ_DIRECTION) {
      if (!parse_vector(p, src, layer)) return 0;
    } else {
      token ph;
      if (!read_token(p, &ph, "a photo's name")) return 0;
      int k = photo_index(p, &ph, layer, FV_PHOTO_MAP);
      if (!k) return 0;
      src->photo = k - 1;
    }
    return parse_kwargs(p, t, KW_BATCH | KW_COSSIM, 0);
  }
  if (!strcmp(n, "interpolate")) {
    int layer;
    if (!read_layer(p, &layer)) return 0;
    if (!(t = new_term(p, FV_OBJ_INTERP, at))) return 0;
    t->layer = layer;
    if (!expect(p, ',', "and the first channel") || !read_channel(p, layer, "channel", &t->channel) ||
        !expect(p, ',', "and the second channel") || !read_channel(p, layer, "channel2", &t->channel2))
      return 0;
    return parse_kwargs(p, t, KW_BATCH, 0);
  }
  int pen = !strcmp(n, "l1") ? FV_OBJ_L1 : !strcmp(n, "l2") ? FV_OBJ_L2 : !strcmp(n, "tv") ? FV_OBJ_TV
            : !strcmp(n, "blur") ? FV_OBJ_BLUR : !strcmp(n, "prior") ? FV_OBJ_PRIOR : -1;
  if (pen >= 0) {
    if (!(t = new_term(p, (fv_obj_kind)pen, at))) return 0;
    return parse_kwargs(p, t, KW_BATCH | (pen == FV_OBJ_L1 || pen == FV_OBJ_L2 ? KW_CONSTANT : 0), 1);
  }
  return fail(p, at, FV_ERR_BAD_ARG, "unknown function \"%s\" (%s)", n, FUNCTIONS);
}

static int parse_sum(P *p, double scale);

/* A term (or a parenthesized sum) at the cursor. */
static int parse_factor(P *p, double scale) {
  char b[16];
  skip_ws(p);
  const size_t at = p->i;
  if (accept(p, '(')) {
    if (++p->depth > FV_EXPR_MAX_DEPTH) return fail(p, at, FV_ERR_BAD_ARG, "parentheses nested deeper than %d", FV_EXPR_MAX_DEPTH);
    if (!parse_sum(p, scale) || !expect(p, ')', "to close the parenthesis")) return 0;
    p->depth--;
    return 1;
  }
  if (p->i >= p->n || !(p->s[p->i] == '"' || (name_byte((unsigned char)p->s[p->i]) && p->s[p->i] != '-')))
    return fail(p, at, FV_ERR_BAD_ARG, "expected a term (L:C, L:C@x,y, %s), got %s", FUNCTIONS, got(p, b));
  token t;
  if (!read_token(p, &t, "a term")) return 0;
  const int k0 = p->o->n_terms;
  if (!t.quoted && peek(p) == '(') {
    p->i++;
    if (!parse_function(p, &t)) return 0;
  } else if (peek(p) == ':') {
    if (!parse_unit(p, &t, at, 1)) return 0;
  } else if (!t.quoted && (!strcmp(t.text, "tv") || !strcmp(t.text, "blur") || !strcmp(t.text, "l1") || !strcmp(t.text, "l2") ||
                            !strcmp(t.text, "prior"))) {
    if (!new_term(p, t.text[0] == 't' ? FV_OBJ_TV : t.text[0] == 'b' ? FV_OBJ_BLUR : t.text[0] == 'p' ? FV_OBJ_PRIOR
                     : t.text[1] == '1' ? FV_OBJ_L1 : FV_OBJ_L2, at))
      return 0;
  } else {
    return fail(p, (peek(p), p->i), FV_ERR_BAD_ARG,
                "expected ':' and a channel after the layer \"%s\", or a term such as deepdream(%s) (%s), got %s", t.text,
                t.text, FUNCTIONS, got(p, b));
  }
  for (int k = k0; k < p->o->n_terms; k++) p->o->terms[k].weight = (float)scale;
  return 1;
}

/* Weights in front (NUMBER '*') and behind ('*' or '/' NUMBER) of one factor. */
static int parse_product(P *p, double scale) {
  const int k0 = p->o->n_terms;
  skip_ws(p);
  const size_t at0 = p->i;
  double coef = 1;
  for (;;) { /* NUMBER '*', unless the number is a layer index (12:3) */
    skip_ws(p);
    const size_t at = p->i;
    token t;
    double d;
    if (p->i >= p->n || !(p->s[p->i] >= '0' && p->s[p->i] <= '9') ) {
      if (!(p->i + 1 < p->n && p->s[p->i] == '.' && p->s[p->i + 1] >= '0' && p->s[p->i + 1] <= '9')) break;
    }
    if (!read_token(p, &t, "a number")) return 0;
    const int is_num = as_number(t.text, t.len, &d);
    const char next = peek(p);
    p->i = at;
    if (!is_num || next == ':') break; /* a layer: the factor reads it again */
    read_token(p, &t, "a number");
    if (!expect(p, '*', "after a weight (a weight multiplies a term: 0.5*L:C)")) return 0;
    coef *= d;
  }
  if (!parse_factor(p, 1.0)) return 0;
  for (;;) {
    char op = peek(p);
    if (op != '*' && op != '/') break;
    p->i++;
    double d;
    size_t at;
    if (!read_number(p, &d, &at, "a number (a term's weight: terms do not multiply each other)")) return 0;
    if (op == '/' && d == 0) return fail(p, at, FV_ERR_BAD_ARG, "division by zero");
    coef = op == '*' ? coef * d : coef / d;
  }
  for (int k = k0; k < p->o->n_terms; k++) {
    const double w = scale * coef * p->o->terms[k].weight;
    const float wf = fabs(w) < 0x1.ffffffp127 ? (float)w : INFINITY;
    if (!isfinite(wf)) return fail(p, at0, FV_ERR_BAD_ARG, "weight %g is not a finite 32-bit float", w);
    p->o->terms[k].weight = wf;
  }
  return 1;
}

static int parse_sum(P *p, double scale) {
  for (int first = 1;; first = 0) {
    double sign = 1;
    char op = peek(p);
    if (op == '+' || op == '-') p->i++, sign = op == '-' ? -1 : 1;
    else if (!first) return 1;
    if (!parse_product(p, scale * sign)) return 0;
  }
}

int fv_expr_parse(const char *text, size_t len, double scale, const fv_model *m, const char *labels, size_t labels_len,
                  const char *where, fv_render_opts *o, fv_error *err) {
  char b[16];
  P p = {text, len, 0, m, labels, labels_len, where ? where : "objective", o, err, 0};
  if (!text) return fail(&p, 0, FV_ERR_BAD_ARG, "no expression");
  if (memchr(text, '\0', len)) return fail(&p, (size_t)((const char *)memchr(text, '\0', len) - text), FV_ERR_BAD_ARG, "a NUL byte");
  if (peek(&p) == '\0') return fail(&p, p.i, FV_ERR_BAD_ARG, "an empty objective");
  if (!parse_sum(&p, scale)) return 0;
  if (peek(&p) != '\0') {
    const char *hint = peek(&p) == ')' ? " (a ')' without its '(')" : " (terms are joined by + or -)";
    return fail(&p, p.i, FV_ERR_BAD_ARG, "unexpected %s%s", got(&p, b), hint);
  }
  return 1;
}

/* ==== the canonical writer ================================================================ */

void fv_expr_write_number(fv_jbuf *b, float x) {
  char tmp[40];
  if (!isfinite(x)) {
    fv_jbuf_raw(b, "nan"); /* never: terms are checked finite */
    return;
  }
  if (x == floorf(x) && fabsf(x) < 1e15f) {
    snprintf(tmp, sizeof tmp, "%.0f", (double)x);
  } else {
    for (int prec = 1; prec <= 9; prec++) {
      snprintf(tmp, sizeof tmp, "%.*g", prec, (double)x);
      if ((float)strtod(tmp, NULL) == x) break; /* as both parsers read it: decimal → double → float */
    }
  }
  if (signbit(x) && tmp[0] != '-') fv_jbuf_raw(b, "-"); /* -0 */
  char *plus = strchr(tmp, '+'); /* 3e+38 → 3e38 */
  if (plus) memmove(plus, plus + 1, strlen(plus));
  fv_jbuf_raw(b, tmp);
}

/* A name bare when it reads back as this name, else "quoted"; 0 if it cannot be written. */
static int put_name(fv_jbuf *b, const char *s) {
  size_t n = strlen(s);
  double d;
  int bare = n > 0 && n <= NAME_MAX_BYTES && s[0] != '-' && fv_json_utf8_valid(s, n) && !as_number(s, n, &d) &&
             !all_digits(s, n);
  for (size_t k = 0; k < n && bare; k++) bare = name_byte((unsigned char)s[k]);
  if (bare) {
    fv_jbuf_raw(b, s);
    return 1;
  }
  if (n > NAME_MAX_BYTES || !fv_json_utf8_valid(s, n)) return 0;
  for (size_t k = 0; k < n; k++)
    if ((unsigned char)s[k] < 0x20) return 0;
  char one[2] = {0, 0};
  fv_jbuf_raw(b, "\"");
  for (size_t k = 0; k < n; k++) {
    if (s[k] == '"' || s[k] == '\\') fv_jbuf_raw(b, "\\");
    one[0] = s[k];
    fv_jbuf_raw(b, one);
  }
  fv_jbuf_raw(b, "\"");
  return 1;
}

/* By name when the name finds this very layer again, else by index. */
static void put_layer(fv_jbuf *b, const fv_model *m, int layer) {
  const char *name = fv_model_layer_name(m, layer);
  if (name && fv_model_layer_find(m, name) == layer) {
    fv_jbuf tmp = {0};
    if (put_name(&tmp, name)) {
      char *s = fv_jbuf_finish(&tmp);
      if (s) fv_jbuf_raw(b, s);
      else b->oom = 1;
      free(s);
      return;
    }
    free(fv_jbuf_finish(&tmp));
  }
  fv_jbuf_int(b, layer);
}

static void put_weighted(fv_jbuf *b, float w, int first) {
  const int neg = signbit(w);
  fv_jbuf_raw(b, first ? (neg ? "-" : "") : (neg ? " - " : " + "));
  if (fabsf(w) != 1.0f) {
    fv_expr_write_number(b, fabsf(w));
    fv_jbuf_raw(b, "*");
  }
}

static void put_kwargs(fv_jbuf *b, const fv_obj_term *t) {
  if ((t->kind == FV_OBJ_DIRECTION || t->kind == FV_OBJ_CARICATURE) && t->cossim_pow != 0) {
    fv_jbuf_raw(b, ", cossim=");
    fv_expr_write_number(b, t->cossim_pow);
  }
  if (t->kind == FV_OBJ_NEURON && t->x >= 0) fv_jbuf_raw(b, ", x="), fv_jbuf_int(b, t->x);
  if (t->kind == FV_OBJ_NEURON && t->y >= 0) fv_jbuf_raw(b, ", y="), fv_jbuf_int(b, t->y);
  if (t->batch >= 0) fv_jbuf_raw(b, ", batch="), fv_jbuf_int(b, t->batch);
}

static void put_photo(fv_jbuf *b, const fv_render_opts *o, int k) {
  if (k < 0 || k >= o->n_photos || !put_name(b, o->photos[k].name)) fv_jbuf_raw(b, "\"?\"");
}

void fv_expr_write_term(fv_jbuf *b, const fv_render_opts *o, int i, const fv_model *m) {
  const fv_obj_term *t = &o->terms[i];
  const fv_term_src *src = &o->src[i];
  switch (t->kind) {
  case FV_OBJ_CHANNEL:
    if (src->is_class) {
      fv_jbuf_raw(b, "class("), fv_jbuf_int(b, t->channel);
    } else {
      if (t->batch >= 0) fv_jbuf_raw(b, "channel(");
      put_layer(b, m, t->layer), fv_jbuf_raw(b, ":"), fv_jbuf_int(b, t->channel);
      if (t->batch < 0) return;
    }
    break;
  case FV_OBJ_NEURON:
    if (t->x >= 0 && t->y >= 0 && t->batch < 0) {
      put_layer(b, m, t->layer), fv_jbuf_raw(b, ":"), fv_jbuf_int(b, t->channel);
      fv_jbuf_raw(b, "@"), fv_jbuf_int(b, t->x), fv_jbuf_raw(b, ","), fv_jbuf_int(b, t->y);
      return;
    }
    fv_jbuf_raw(b, "neuron("), put_layer(b, m, t->layer), fv_jbuf_raw(b, ":"), fv_jbuf_int(b, t->channel);
    break;
  case FV_OBJ_LAYER: fv_jbuf_raw(b, "deepdream("), put_layer(b, m, t->layer); break;
  case FV_OBJ_ALIGNMENT: fv_jbuf_raw(b, "alignment("), put_layer(b, m, t->layer); break;
  case FV_OBJ_DIVERSITY: fv_jbuf_raw(b, "diversity("), put_layer(b, m, t->layer); break;
  case FV_OBJ_INTERP:
    fv_jbuf_raw(b, "interpolate("), put_layer(b, m, t->layer);
    fv_jbuf_raw(b, ", "), fv_jbuf_int(b, t->channel), fv_jbuf_raw(b, ", "), fv_jbuf_int(b, t->channel2);
    break;
  case FV_OBJ_DIRECTION:
    fv_jbuf_raw(b, "direction("), put_layer(b, m, t->layer), fv_jbuf_raw(b, ", ");
    for (int k = 0; k < src->n_parts; k++) {
      const fv_vec_part *q = &src->parts[k];
      put_weighted(b, q->weight, k == 0);
      if (q->kind == FV_PART_UNIT) fv_jbuf_raw(b, "unit("), fv_jbuf_int(b, q->arg), fv_jbuf_raw(b, ")");
      else if (q->kind == FV_PART_RANDOM) fv_jbuf_raw(b, "random("), fv_jbuf_int(b, q->arg), fv_jbuf_raw(b, ")");
      else if (q->kind == FV_PART_PHOTO) put_photo(b, o, q->arg);
      else {
        fv_jbuf_raw(b, "[");
        const int C = fv_model_layer_dim(m, t->layer, 3);
        for (int j = 0; j < C && src->values; j++) {
          if (j) fv_jbuf_raw(b, ", ");
          fv_expr_write_number(b, src->values[j]);
        }
        fv_jbuf_raw(b, "]");
      }
    }
    break;
  case FV_OBJ_CARICATURE:
    fv_jbuf_raw(b, "caricature("), put_layer(b, m, t->layer), fv_jbuf_raw(b, ", "), put_photo(b, o, src->photo);
    break;
  case FV_OBJ_L1:
  case FV_OBJ_L2:
  case FV_OBJ_TV:
  case FV_OBJ_BLUR:
  case FV_OBJ_PRIOR: {
    const int constant = (t->kind == FV_OBJ_L1 || t->kind == FV_OBJ_L2) && t->constant != 0.5f;
    fv_jbuf_raw(b, fv_obj_name(t->kind));
    if (!constant && t->batch < 0) return;
    fv_jbuf_raw(b, "(");
    if (constant) fv_jbuf_raw(b, "constant="), fv_expr_write_number(b, t->constant);
    if (t->batch >= 0) fv_jbuf_raw(b, constant ? ", batch=" : "batch="), fv_jbuf_int(b, t->batch);
    fv_jbuf_raw(b, ")");
    return;
  }
  default: fv_jbuf_raw(b, "?"); return;
  }
  put_kwargs(b, t);
  fv_jbuf_raw(b, ")");
}

void fv_expr_write(fv_jbuf *b, const fv_render_opts *o, const fv_model *m) {
  for (int i = 0; i < o->n_terms; i++) {
    put_weighted(b, o->terms[i].weight, i == 0);
    fv_expr_write_term(b, o, i, m);
  }
}
