/* options.c — render options from JSON, validated against the model, and back
 * to canonical JSON; see options.h. The JSON is untrusted: every key is
 * type- and range-checked with a message naming the key, the value and the
 * valid range, and unknown keys are errors. An objective given as text goes
 * to the grammar (objective_expr.c); vectors and photos are vectors.c's. */
#include "options.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alpha.h"
#include "cppn.h"
#include "json.h"
#include "objective_expr.h"
#include "vectors.h"

#define SEED_MAX 9007199254740992.0 /* 2^53: every integer up to it is exact in a double (and in JS) */

/* ==== term kinds and the keys each accepts ==================================== */

/* The JSON names are fv_obj_name's; "class" is a CHANNEL term on the logits. */
typedef struct {
  const char *name;
  int kind;           /* fv_obj_kind */
  int has_layer_key;  /* has a "layer" key (class: implicitly the logits) */
  const char *keys[8]; /* NULL-terminated: at most 7 */
} kind_spec;

static const kind_spec KINDS[] = {
    {"neuron", FV_OBJ_NEURON, 1, {"layer", "channel", "x", "y"}},
    {"channel", FV_OBJ_CHANNEL, 1, {"layer", "channel"}},
    {"layer", FV_OBJ_LAYER, 1, {"layer"}},
    {"class", FV_OBJ_CHANNEL, 1, {"class"}},
    {"direction", FV_OBJ_DIRECTION, 1, {"layer", "direction", "direction_seed", "photo", "unit", "cossim_pow"}},
    {"interp", FV_OBJ_INTERP, 1, {"layer", "channel", "channel2"}},
    {"alignment", FV_OBJ_ALIGNMENT, 1, {"layer"}},
    {"diversity", FV_OBJ_DIVERSITY, 1, {"layer"}},
    {"caricature", FV_OBJ_CARICATURE, 1, {"layer", "photo", "cossim_pow"}},
    {"l1", FV_OBJ_L1, 0, {"constant"}},
    {"l2", FV_OBJ_L2, 0, {"constant"}},
    {"tv", FV_OBJ_TV, 0, {NULL}},
    {"blur", FV_OBJ_BLUR, 0, {NULL}},
    {"prior", FV_OBJ_PRIOR, 0, {NULL}},
};
#define N_KINDS (int)(sizeof KINDS / sizeof KINDS[0])

static const char *const TOP_KEYS[] = {"size", "batch", "steps", "lr", "seed", "param", "decorrelate",
                                       "decay_power", "transforms", "redirect_steps", "objective", "photos",
                                       "diversity", "diversity_layer", "alpha", "alpha_blur", "cppn_size", "shared", NULL};

/* Whether a term of this (stored) kind reads a layer rather than the image. */
static int reads_layer(int kind) { return (unsigned)kind < FV_OBJ_COUNT && !fv_obj_on_image((fv_obj_kind)kind); }

/* ==== parsing context and messages ===================================================== */

typedef struct {
  const char *text;   /* the JSON text (numbers are quoted from it in messages) */
  const fv_model *m;
  fv_render_opts *o;
  fv_error *err;
  char where[48];     /* "" or "objective[3]: " */
  const char *labels; /* class names, one output a line, or NULL */
  size_t labels_len;
} ctx;

static int failf(ctx *c, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int failf(ctx *c, fv_status code, const char *fmt, ...) {
  char what[220];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  fv_error_set(c->err, code, "%s%s", c->where, what);
  return 0;
}

/* The number as the user wrote it (at most 32 characters). */
static const char *num_text(const ctx *c, const fv_json *v, char buf[40]) {
  size_t n = v->len > 32 ? 32 : v->len;
  memcpy(buf, c->text + v->offset, n);
  strcpy(buf + n, v->len > 32 ? "..." : "");
  return buf;
}

static int want_number(ctx *c, const fv_json *v, const char *key) {
  if (v->type == FV_JSON_NUMBER) return 1;
  return failf(c, FV_ERR_BAD_ARG, "\"%s\" must be a number", key);
}

static int get_int(ctx *c, const fv_json *v, const char *key, int lo, int hi, int *out) {
  char b[40];
  if (!want_number(c, v, key)) return 0;
  double d = v->u.number;
  if (d != floor(d)) return failf(c, FV_ERR_BAD_ARG, "%s %s must be an integer in %d..%d", key, num_text(c, v, b), lo, hi);
  if (d < lo || d > hi) return failf(c, FV_ERR_BAD_ARG, "%s %s out of range %d..%d", key, num_text(c, v, b), lo, hi);
  *out = (int)d;
  return 1;
}

/* A finite float in [lo, hi] ((lo, hi] when lo_open); range is how the message says it. */
static int get_float(ctx *c, const fv_json *v, const char *key, double lo, double hi, int lo_open, const char *range,
                     float *out) {
  char b[40];
  if (!want_number(c, v, key)) return 0;
  double d = v->u.number;
  /* Checked as a float: 1e39 is a finite double but not a finite float, and
   * 1e-50 is > 0 but becomes 0. Below the midpoint between FLT_MAX and 2^128
   * a double rounds to a finite float (3.40282347e+38, FLT_MAX printed with
   * 9 digits, is a bit above FLT_MAX). */
  float f = fabs(d) < 0x1.ffffffp127 ? (float)d : INFINITY;
  if (!isfinite(f) || f < lo || f > hi || (lo_open && f <= lo))
    return failf(c, FV_ERR_BAD_ARG, "%s %s out of range %s", key, num_text(c, v, b), range);
  *out = f;
  return 1;
}

static int get_bool(ctx *c, const fv_json *v, const char *key, int *out) {
  if (v->type != FV_JSON_BOOL) return failf(c, FV_ERR_BAD_ARG, "\"%s\" must be true or false", key);
  *out = v->boolean;
  return 1;
}

/* One of names[] (NULL-terminated); *out = its index. */
static int get_enum(ctx *c, const fv_json *v, const char *key, const char *const *names, int *out) {
  char q[80], list[80] = "";
  for (int i = 0; names[i]; i++) {
    if (v->type == FV_JSON_STRING && strlen(v->u.str) == v->len && strcmp(v->u.str, names[i]) == 0) {
      *out = i;
      return 1;
    }
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s\"%s\"", i ? " or " : "", names[i]);
  }
  if (v->type != FV_JSON_STRING) return failf(c, FV_ERR_BAD_ARG, "\"%s\" must be %s", key, list);
  fv_json_quote(q, sizeof q, v->u.str, v->len);
  return failf(c, FV_ERR_BAD_ARG, "%s %s must be %s", key, q, list);
}

/* seed: an integer in 0..2^53. A plain integer literal is read digit by digit,
 * so 9007199254740993 (which a double rounds to 2^53) is refused. */
static int get_seed(ctx *c, const fv_json *v, uint64_t *out) {
  char b[40];
  if (!want_number(c, v, "seed")) return 0;
  double d = v->u.number;
  if (d != floor(d)) return failf(c, FV_ERR_BAD_ARG, "seed %s must be an integer in 0..2^53", num_text(c, v, b));
  int plain = 1, neg = c->text[v->offset] == '-';
  uint64_t u = 0;
  for (uint32_t i = neg; i < v->len && plain; i++) {
    char ch = c->text[v->offset + i];
    if (ch < '0' || ch > '9') plain = 0;
    else u = u > (uint64_t)SEED_MAX ? u : u * 10 + (uint64_t)(ch - '0'); /* saturates past 2^53 */
  }
  if (d < 0 || d > SEED_MAX || (plain && u > (uint64_t)SEED_MAX))
    return failf(c, FV_ERR_BAD_ARG, "seed %s out of range 0..9007199254740992 (2^53)", num_text(c, v, b));
  *out = (uint64_t)d;
  return 1;
}

static int layer_channels(const fv_model *m, int layer) { return fv_model_layer_dim(m, layer, 3); }

static void layer_quoted(const fv_model *m, int layer, char *q, size_t cap) {
  const char *name = fv_model_layer_name(m, layer);
  if (name) fv_json_quote(q, cap, name, strlen(name));
  else snprintf(q, cap, "%d", layer);
}

/* A layer: its name, or its index. */
static int get_layer(ctx *c, const fv_json *v, const char *key, int *out) {
  int count = fv_model_layer_count(c->m);
  char q[80], b[40];
  if (count <= 0) return failf(c, FV_ERR_UNKNOWN_LAYER, "the model has no layers");
  if (v->type == FV_JSON_STRING) {
    /* an embedded NUL would make the name match a prefix */
    int k = strlen(v->u.str) == v->len ? fv_model_layer_find(c->m, v->u.str) : -1;
    if (k < 0) {
      fv_json_quote(q, sizeof q, v->u.str, v->len);
      return failf(c, FV_ERR_UNKNOWN_LAYER, "unknown layer %s%s%s", q, strcmp(key, "layer") ? " in " : "",
                   strcmp(key, "layer") ? key : "");
    }
    *out = k;
    return 1;
  }
  if (v->type == FV_JSON_NUMBER) {
    double d = v->u.number;
    if (d != floor(d) || d < 0 || d > count - 1)
      return failf(c, FV_ERR_UNKNOWN_LAYER, "%s %s out of range 0..%d (or a layer name)", key, num_text(c, v, b),
                   count - 1);
    *out = (int)d;
    return 1;
  }
  return failf(c, FV_ERR_BAD_ARG, "\"%s\" must be a layer name or index", key);
}

/* Every key of obj must be in keys[] (NULL-terminated), or in extra[]. */
static int check_keys(ctx *c, const fv_json *obj, const char *const *keys, const char *const *extra, const char *kind) {
  for (size_t i = 0; i < obj->len; i++) {
    const fv_json *k = fv_json_key(obj, i);
    int ok = 0;
    if (strlen(k->u.str) == k->len) {
      for (int j = 0; keys[j] && !ok; j++) ok = strcmp(k->u.str, keys[j]) == 0;
      for (int j = 0; extra && extra[j] && !ok; j++) ok = strcmp(k->u.str, extra[j]) == 0;
    }
    if (!ok) {
      char q[80];
      fv_json_quote(q, sizeof q, k->u.str, k->len);
      if (kind) return failf(c, FV_ERR_BAD_ARG, "unknown key %s for kind \"%s\"", q, kind);
      return failf(c, FV_ERR_BAD_ARG, "unknown key %s", q);
    }
  }
  return 1;
}

int fv_options_logits_layer(const fv_model *m) {
  for (int i = m->n_ops - 1; i >= 0; i--) {
    if (m->ops[i].kind != FV_OP_SOFTMAX) continue;
    if (m->ops[i].n_inputs < 1 || !m->ops[i].inputs) return -1;
    int t = m->ops[i].inputs[0];
    for (int j = i - 1; j >= 0; j--)
      if (m->ops[j].output == t) return j;
    return -1;
  }
  return m->n_ops - 1;
}

/* ==== one objective term ================================================================== */

static int check_channel(ctx *c, const fv_json *v, const char *key, int layer, int *out) {
  char b[40];
  fv_error e;
  if (!want_number(c, v, key)) return 0;
  if (!fv_obj_check_channel(key, v->u.number, num_text(c, v, b), layer_channels(c->m, layer), fv_model_layer_name(c->m, layer), &e))
    return failf(c, (fv_status)e.code, "%s", e.msg);
  *out = (int)v->u.number;
  return 1;
}

/* A photo's name: a non-empty UTF-8 string without control characters or NUL. */
static int get_photo_name(ctx *c, const fv_json *v, const char *key) {
  int ok = v->type == FV_JSON_STRING && v->len > 0 && v->len <= 512 && strlen(v->u.str) == v->len;
  for (uint32_t i = 0; ok && i < v->len; i++) ok = (unsigned char)v->u.str[i] >= 0x20;
  if (!ok) return failf(c, FV_ERR_BAD_ARG, "\"%s\" must be a photo's name (1..512 bytes, no control characters)", key);
  return 1;
}

/* The term's vector: "direction" (C floats), "direction_seed" (random), "photo" (its mean) or "unit"
 * (a basis vector), one of them. */
static int parse_direction(ctx *c, const fv_json *obj, int i) {
  const fv_json *dv = fv_json_get(obj, "direction"), *sv = fv_json_get(obj, "direction_seed"), *pv = fv_json_get(obj, "photo");
  const fv_json *uv = fv_json_get(obj, "unit");
  fv_obj_term *t = &c->o->terms[i];
  fv_term_src *src = &c->o->src[i];
  int C = layer_channels(c->m, t->layer);
  char q[80];
  if (!!dv + !!sv + !!pv + !!uv > 1)
    return failf(c, FV_ERR_BAD_ARG, "give one of \"direction\", \"direction_seed\", \"photo\" and \"unit\"");
  if (!dv && !sv && !pv && !uv)
    return failf(c, FV_ERR_BAD_ARG, "missing \"direction\" (an array of floats), \"direction_seed\", \"photo\" or \"unit\"");
  if (C < 1) {
    layer_quoted(c->m, t->layer, q, sizeof q);
    return failf(c, FV_ERR_BAD_ARG, "layer %s has no channels", q);
  }
  src->n_parts = 1;
  src->parts[0] = (fv_vec_part){FV_PART_VALUES, 1.0f, 0};
  if (sv) {
    src->parts[0].kind = FV_PART_RANDOM;
    return get_int(c, sv, "direction_seed", 0, FV_DIRECTION_SEED_MAX, &src->parts[0].arg);
  }
  if (uv) {
    src->parts[0].kind = FV_PART_UNIT;
    return check_channel(c, uv, "unit", t->layer, &src->parts[0].arg);
  }
  if (pv) {
    if (!get_photo_name(c, pv, "photo")) return 0;
    int k = fv_vectors_photo_ref(c->o, pv->u.str, pv->len, t->layer, FV_PHOTO_MEAN);
    if (k < 0) return failf(c, FV_ERR_BAD_ARG, "more than %d photos", FV_MAX_PHOTOS);
    src->parts[0] = (fv_vec_part){FV_PART_PHOTO, 1.0f, k};
    return 1;
  }
  if (dv->type != FV_JSON_ARRAY) return failf(c, FV_ERR_BAD_ARG, "\"direction\" must be an array of numbers");
  if ((int64_t)dv->len != C) {
    layer_quoted(c->m, t->layer, q, sizeof q);
    return failf(c, FV_ERR_BAD_ARG, "direction has %u entries; layer %s has %d channels", dv->len, q, C);
  }
  if (!(src->values = (float *)malloc((size_t)C * sizeof(float))))
    return failf(c, FV_ERR_NO_MEMORY, "out of memory for a direction of %d floats", C);
  for (int k = 0; k < C; k++) {
    char key[32];
    snprintf(key, sizeof key, "direction[%d]", k);
    if (!get_float(c, fv_json_at(dv, (size_t)k), key, -FLT_MAX, FLT_MAX, 0, "(a finite 32-bit float)", &src->values[k]))
      return 0;
  }
  return 1;
}

/* "class": an output index, or a name the labels give ("macaw", "macaw (89)"). */
static int get_class(ctx *c, const fv_json *v, int C, int *out) {
  char b[40], q[80];
  if (v->type == FV_JSON_STRING) {
    fv_json_quote(q, sizeof q, v->u.str, v->len);
    int k = strlen(v->u.str) == v->len ? fv_expr_class_find(c->labels, c->labels_len, v->u.str, v->len) : -1;
    if (k < 0 && !c->labels) return failf(c, FV_ERR_BAD_ARG, "class %s: no class names are known here; give the output index", q);
    if (k < 0)
      return failf(c, FV_ERR_BAD_ARG, "unknown class %s: no such class in the model's labels (a label such as \"macaw\", or an output index)", q);
    if (k > C - 1) return failf(c, FV_ERR_BAD_ARG, "class %s is output %d; the model has %d", q, k, C);
    *out = k;
    return 1;
  }
  if (!want_number(c, v, "class")) return 0;
  if (v->u.number != floor(v->u.number) || v->u.number < 0 || v->u.number > C - 1)
    return failf(c, FV_ERR_BAD_ARG, "class %s out of range 0..%d (the model has %d classes)", num_text(c, v, b), C - 1, C);
  *out = (int)v->u.number;
  return 1;
}

/* Parses obj into term i (o->n_terms is i + 1 by then, so fv_options_free releases what it owns). */
static int parse_term(ctx *c, const fv_json *obj, int i) {
  static const char *const common[] = {"kind", "weight", "batch", NULL};
  const fv_json *kv = fv_json_get(obj, "kind");
  if (!kv) return failf(c, FV_ERR_BAD_ARG, "missing \"kind\"");
  if (kv->type != FV_JSON_STRING) return failf(c, FV_ERR_BAD_ARG, "\"kind\" must be a string");
  const kind_spec *ks = NULL;
  for (int k = 0; k < N_KINDS && !ks; k++)
    if (strlen(kv->u.str) == kv->len && strcmp(kv->u.str, KINDS[k].name) == 0) ks = &KINDS[k];
  if (!ks) {
    char q[80];
    fv_json_quote(q, sizeof q, kv->u.str, kv->len);
    return failf(c, FV_ERR_BAD_ARG,
                 "unknown kind %s (neuron, channel, layer, class, direction, interp, alignment, diversity, caricature, "
                 "l1, l2, tv, blur)", q);
  }
  if (!check_keys(c, obj, common, ks->keys, ks->name)) return 0;

  fv_obj_term *t = &c->o->terms[i];
  fv_term_src *src = &c->o->src[i];
  *t = fv_obj_default((fv_obj_kind)ks->kind);
  const fv_json *v;
  if ((v = fv_json_get(obj, "weight")) && !get_float(c, v, "weight", -FLT_MAX, FLT_MAX, 0, "(a finite 32-bit float)", &t->weight))
    return 0;
  if ((v = fv_json_get(obj, "batch")) && !get_int(c, v, "batch", -1, c->o->batch - 1, &t->batch)) return 0;

  if (strcmp(ks->name, "class") == 0) {
    int logits = fv_options_logits_layer(c->m);
    if (logits < 0) return failf(c, FV_ERR_UNKNOWN_LAYER, "the model has no logits layer for a class term");
    if (!(v = fv_json_get(obj, "class"))) return failf(c, FV_ERR_BAD_ARG, "missing \"class\"");
    if (!get_class(c, v, layer_channels(c->m, logits), &t->channel)) return 0;
    t->layer = logits;
    src->is_class = 1;
    return 1;
  }
  if (ks->has_layer_key) {
    if (!(v = fv_json_get(obj, "layer"))) return failf(c, FV_ERR_BAD_ARG, "missing \"layer\"");
    if (!get_layer(c, v, "layer", &t->layer)) return 0;
  }
  switch (ks->kind) {
    case FV_OBJ_NEURON:
    case FV_OBJ_CHANNEL:
    case FV_OBJ_INTERP:
      if (!(v = fv_json_get(obj, "channel"))) return failf(c, FV_ERR_BAD_ARG, "missing \"channel\"");
      if (!check_channel(c, v, "channel", t->layer, &t->channel)) return 0;
      if (ks->kind == FV_OBJ_INTERP) {
        if (!(v = fv_json_get(obj, "channel2"))) return failf(c, FV_ERR_BAD_ARG, "missing \"channel2\"");
        if (!check_channel(c, v, "channel2", t->layer, &t->channel2)) return 0;
      }
      if (ks->kind == FV_OBJ_NEURON) {
        if ((v = fv_json_get(obj, "x")) && !get_int(c, v, "x", -1, FV_XY_MAX, &t->x)) return 0;
        if ((v = fv_json_get(obj, "y")) && !get_int(c, v, "y", -1, FV_XY_MAX, &t->y)) return 0;
      }
      break;
    case FV_OBJ_DIRECTION:
    case FV_OBJ_CARICATURE:
      if ((v = fv_json_get(obj, "cossim_pow")) &&
          !get_float(c, v, "cossim_pow", 0, FV_COSSIM_POW_MAX, 0, "0..16", &t->cossim_pow))
        return 0;
      if (ks->kind == FV_OBJ_DIRECTION) return parse_direction(c, obj, i);
      if (!(v = fv_json_get(obj, "photo"))) return failf(c, FV_ERR_BAD_ARG, "missing \"photo\"");
      if (!get_photo_name(c, v, "photo")) return 0;
      if ((src->photo = fv_vectors_photo_ref(c->o, v->u.str, v->len, t->layer, FV_PHOTO_MAP)) < 0)
        return failf(c, FV_ERR_BAD_ARG, "more than %d photos", FV_MAX_PHOTOS);
      break;
    case FV_OBJ_L1:
    case FV_OBJ_L2:
      if ((v = fv_json_get(obj, "constant")) && !get_float(c, v, "constant", 0, 1, 0, "0..1", &t->constant)) return 0;
      break;
    default:
      break;
  }
  return 1;
}

/* An element of "objective": a term object, an expression string, or {"expr": text, "weight": w}. */
static int parse_element(ctx *c, const fv_json *v, const char *where) {
  fv_render_opts *o = c->o;
  const fv_json *ev = v->type == FV_JSON_OBJECT ? fv_json_get(v, "expr") : NULL;
  if (v->type == FV_JSON_STRING || ev) {
    static const char *const keys[] = {"expr", "weight", NULL};
    float w = 1;
    const fv_json *wv;
    if (ev && !check_keys(c, v, keys, NULL, NULL)) return 0;
    if (ev && (wv = fv_json_get(v, "weight")) && !get_float(c, wv, "weight", -FLT_MAX, FLT_MAX, 0, "(a finite 32-bit float)", &w))
      return 0;
    const fv_json *tv = ev ? ev : v;
    if (tv->type != FV_JSON_STRING) return failf(c, FV_ERR_BAD_ARG, "\"expr\" must be a string (an objective expression)");
    return fv_expr_parse(tv->u.str, tv->len, w, c->m, c->labels, c->labels_len, where, o, c->err);
  }
  if (v->type != FV_JSON_OBJECT) return failf(c, FV_ERR_BAD_ARG, "a term must be an object or an expression string");
  if (o->n_terms >= FV_MAX_TERMS) return failf(c, FV_ERR_BAD_ARG, "more than %d terms", FV_MAX_TERMS);
  const int i = o->n_terms++;
  memset(&o->src[i], 0, sizeof o->src[i]);
  o->src[i].photo = -1;
  o->terms[i] = fv_obj_default(FV_OBJ_CHANNEL);
  return parse_term(c, v, i);
}

/* ==== photos: activations the shells computed ==================================================== */

/* One entry of "photos" (before the objective, whose references then find it). */
static int parse_photo(ctx *c, const fv_json *v) {
  static const char *const keys[] = {"name", "sha256", "layer", "kind", "shape", "values", NULL};
  static const char *const kinds[] = {"mean", "map", NULL};
  fv_render_opts *o = c->o;
  const fv_json *nv, *lv, *kv, *sv, *vv, *hv;
  int layer, kind;
  if (v->type != FV_JSON_OBJECT) return failf(c, FV_ERR_BAD_ARG, "a photo must be an object");
  if (!check_keys(c, v, keys, NULL, NULL)) return 0;
  if (!(nv = fv_json_get(v, "name")) || !get_photo_name(c, nv, "name")) return nv ? 0 : failf(c, FV_ERR_BAD_ARG, "missing \"name\"");
  if (!(lv = fv_json_get(v, "layer"))) return failf(c, FV_ERR_BAD_ARG, "missing \"layer\"");
  if (!get_layer(c, lv, "layer", &layer)) return 0;
  if (!(kv = fv_json_get(v, "kind"))) return failf(c, FV_ERR_BAD_ARG, "missing \"kind\" (\"mean\" or \"map\")");
  if (!get_enum(c, kv, "kind", kinds, &kind)) return 0;
  for (int k = 0; k < o->n_photos; k++)
    if (o->photos[k].layer == layer && o->photos[k].kind == kind && !strcmp(o->photos[k].name, nv->u.str))
      return failf(c, FV_ERR_BAD_ARG, "photo \"%.60s\" is given twice for this layer and kind", nv->u.str);
  int k = fv_vectors_photo_ref(o, nv->u.str, nv->len, layer, kind);
  if (k < 0) return failf(c, FV_ERR_BAD_ARG, "more than %d photos", FV_MAX_PHOTOS);
  fv_photo *ph = &o->photos[k];
  ph->used = 0; /* until a term refers to it */
  if ((hv = fv_json_get(v, "sha256"))) {
    int ok = hv->type == FV_JSON_STRING && hv->len == 64;
    for (int j = 0; ok && j < 64; j++) ok = strchr("0123456789abcdef", hv->u.str[j]) != NULL;
    if (!ok) return failf(c, FV_ERR_BAD_ARG, "\"sha256\" must be 64 lowercase hex digits");
    memcpy(ph->sha256, hv->u.str, 65);
  }
  sv = fv_json_get(v, "shape");
  vv = fv_json_get(v, "values");
  if (!sv && !vv) return 1; /* a need: the values are the caller's to supply */
  const int C = layer_channels(c->m, layer), rank = kind == FV_PHOTO_MEAN ? 1 : 3;
  if (!sv || !vv) return failf(c, FV_ERR_BAD_ARG, "photo \"%.60s\": give \"shape\" and \"values\" together", ph->name);
  if (sv->type != FV_JSON_ARRAY || (int)sv->len != rank)
    return failf(c, FV_ERR_BAD_ARG, "photo \"%.60s\": \"shape\" must be %s", ph->name, rank == 1 ? "[C]" : "[H, W, C]");
  ph->dims[0] = ph->dims[1] = 1;
  for (int d = 0; d < rank; d++)
    if (!get_int(c, fv_json_at(sv, (size_t)d), "shape", 1, 1 << 20, &ph->dims[3 - rank + d])) return 0;
  if (ph->dims[2] != C)
    return failf(c, FV_ERR_BAD_ARG, "photo \"%.60s\": %d channels; layer \"%.60s\" has %d", ph->name, ph->dims[2],
                 fv_model_layer_name(c->m, layer), C);
  const double count = (double)ph->dims[0] * ph->dims[1] * ph->dims[2];
  if (vv->type != FV_JSON_ARRAY || (double)vv->len != count)
    return failf(c, FV_ERR_BAD_ARG, "photo \"%.60s\": \"values\" must be an array of %.0f numbers (the shape's)", ph->name, count);
  if (!(ph->values = (float *)malloc((size_t)count * sizeof(float))))
    return failf(c, FV_ERR_NO_MEMORY, "out of memory for %.0f values of photo \"%.60s\"", count, ph->name);
  ph->len = (int)count;
  for (int j = 0; j < ph->len; j++)
    if (!get_float(c, fv_json_at(vv, (size_t)j), "values[]", -FLT_MAX, FLT_MAX, 0, "(a finite 32-bit float)", &ph->values[j]))
      return 0;
  return 1;
}

/* ==== the options ============================================================================ */

void fv_options_default(fv_render_opts *o) {
  memset(o, 0, sizeof *o);
  o->size = 128;
  o->batch = 1;
  o->steps = 512;
  o->lr = 0.05f;
  o->seed = 0;
  o->param = FV_PARAM_FFT;
  o->decorrelate = 1;
  o->decay_power = 1.0f;
  o->transforms = FV_TRANSFORMS_STANDARD;
  o->redirect_steps = 16;
  o->alpha = 0;
  o->alpha_blur = FV_ALPHA_BLUR;
  o->n_terms = 0;
  o->n_photos = 0;
}

void fv_options_free(fv_render_opts *o) {
  if (!o) return;
  for (int i = 0; i < o->n_terms && i < FV_MAX_TERMS; i++) {
    if (o->terms[i].kind == FV_OBJ_DIRECTION) free((void *)o->terms[i].direction); /* a caricature's is its photo's */
    free(o->src[i].values);
  }
  for (int k = 0; k < o->n_photos && k < FV_MAX_PHOTOS; k++) {
    free(o->photos[k].name);
    free(o->photos[k].values);
  }
  fv_options_default(o);
}

/* Checks across terms, once all are parsed. */
static int check_terms(ctx *c) {
  fv_render_opts *o = c->o;
  int first_layer = -1;
  for (int i = 0; i < o->n_terms; i++) {
    const fv_obj_term *t = &o->terms[i];
    if (reads_layer(t->kind) && first_layer < 0) first_layer = t->layer;
    snprintf(c->where, sizeof c->where, "objective term %d: ", i + 1);
    if ((t->kind == FV_OBJ_INTERP || t->kind == FV_OBJ_ALIGNMENT || t->kind == FV_OBJ_DIVERSITY) && o->batch < 2)
      return failf(c, FV_ERR_BAD_ARG, "%s compares the images of a batch: it needs \"batch\" >= 2 (batch is %d)",
                   t->kind == FV_OBJ_INTERP ? "interpolate" : fv_obj_name(t->kind), o->batch);
    if ((t->kind == FV_OBJ_ALIGNMENT || t->kind == FV_OBJ_DIVERSITY) && t->batch != -1)
      return failf(c, FV_ERR_BAD_ARG, "batch %d: %s takes the whole batch (batch must be -1)", t->batch, fv_obj_name(t->kind));
  }
  c->where[0] = '\0';
  if (first_layer < 0)
    return failf(c, FV_ERR_BAD_ARG, "no objective (image penalties alone are not one: add a term that reads a layer)");
  return 1;
}

static int parse_root(ctx *c, const fv_json *root, int lenient) {
  static const char *const params[] = {"fft", "pixel", "cppn", "laplacian", NULL};
  static const char *const transforms[] = {"standard", "none", NULL};
  fv_render_opts *o = c->o;
  const fv_json *v;
  if (root->type != FV_JSON_OBJECT) return failf(c, FV_ERR_BAD_ARG, "options must be a JSON object");
  if (!check_keys(c, root, TOP_KEYS, NULL, NULL)) return 0;

  if ((v = fv_json_get(root, "size")) && !get_int(c, v, "size", 8, 1024, &o->size)) return 0;
  if ((v = fv_json_get(root, "batch")) && !get_int(c, v, "batch", 1, 64, &o->batch)) return 0;
  if ((v = fv_json_get(root, "steps")) && !get_int(c, v, "steps", 0, 100000, &o->steps)) return 0;
  if ((v = fv_json_get(root, "lr")) && !get_float(c, v, "lr", 0, 10, 1, "(0, 10]", &o->lr)) return 0;
  if ((v = fv_json_get(root, "seed")) && !get_seed(c, v, &o->seed)) return 0;
  int k;
  if ((v = fv_json_get(root, "param"))) {
    if (!get_enum(c, v, "param", params, &k)) return 0;
    static const int kinds[] = {FV_PARAM_FFT, FV_PARAM_PIXEL, FV_PARAM_CPPN, FV_PARAM_LAPLACIAN};
    o->param = kinds[k];
    if (o->param == FV_PARAM_CPPN && !fv_json_get(root, "lr")) o->lr = FV_CPPN_LR; /* Lucid's CPPN rate */
  }
  if ((v = fv_json_get(root, "cppn_size"))) {
    if (o->param != FV_PARAM_CPPN) return failf(c, FV_ERR_BAD_ARG, "\"cppn_size\" needs \"param\": \"cppn\"");
    if (!get_int(c, v, "cppn_size", 8, FV_CPPN_SIZE_MAX, &o->cppn_size)) return 0;
  }
  if ((v = fv_json_get(root, "decorrelate")) && !get_bool(c, v, "decorrelate", &o->decorrelate)) return 0;
  if ((v = fv_json_get(root, "decay_power")) && !get_float(c, v, "decay_power", 0, 4, 0, "0..4", &o->decay_power))
    return 0;
  if ((v = fv_json_get(root, "transforms"))) {
    if (!get_enum(c, v, "transforms", transforms, &k)) return 0;
    o->transforms = k == 0 ? FV_TRANSFORMS_STANDARD : FV_TRANSFORMS_NONE;
  }
  if ((v = fv_json_get(root, "redirect_steps")) && !get_int(c, v, "redirect_steps", 0, 100000, &o->redirect_steps))
    return 0;
  if ((v = fv_json_get(root, "alpha")) && !get_bool(c, v, "alpha", &o->alpha)) return 0;
  if ((v = fv_json_get(root, "shared")) && !get_bool(c, v, "shared", &o->shared)) return 0;
  if (o->shared && o->param == FV_PARAM_CPPN)
    return failf(c, FV_ERR_BAD_ARG, "\"shared\" (aligned interpolation) needs \"param\" fft, pixel or laplacian, not cppn");
  if ((v = fv_json_get(root, "alpha_blur")) &&
      !get_float(c, v, "alpha_blur", 0, FV_ALPHA_BLUR_MAX, 0, "0..1000", &o->alpha_blur))
    return 0;
  if (fv_json_get(root, "alpha_blur") && !o->alpha)
    return failf(c, FV_ERR_BAD_ARG, "\"alpha_blur\" needs \"alpha\": true");
  float diversity = 0;
  if ((v = fv_json_get(root, "diversity")) &&
      !get_float(c, v, "diversity", 0, FLT_MAX, 0, "0..3.4e38 (finite, >= 0)", &diversity))
    return 0;

  /* photo data first: the objective's references find it */
  const fv_json *pv = fv_json_get(root, "photos");
  if (pv && pv->type != FV_JSON_ARRAY) return failf(c, FV_ERR_BAD_ARG, "\"photos\" must be an array");
  for (size_t i = 0; pv && i < pv->len; i++) {
    snprintf(c->where, sizeof c->where, "photos[%zu]: ", i);
    if (!parse_photo(c, fv_json_at(pv, i))) return 0;
  }
  c->where[0] = '\0';

  /* The objective: an expression, one term, or an array of terms and expressions. */
  const fv_json *obj = fv_json_get(root, "objective");
  if (!obj) return failf(c, FV_ERR_BAD_ARG, "no objective (\"objective\" is missing)");
  if (obj->type == FV_JSON_STRING) {
    if (!fv_expr_parse(obj->u.str, obj->len, 1.0, c->m, c->labels, c->labels_len, "objective", o, c->err)) return 0;
  } else if (obj->type == FV_JSON_ARRAY || obj->type == FV_JSON_OBJECT) {
    size_t n = obj->type == FV_JSON_ARRAY ? obj->len : 1;
    if (n > FV_MAX_TERMS) return failf(c, FV_ERR_BAD_ARG, "objective has %zu terms; at most %d", n, FV_MAX_TERMS);
    for (size_t i = 0; i < n; i++) {
      const fv_json *tv = obj->type == FV_JSON_ARRAY ? fv_json_at(obj, i) : obj;
      char where[32];
      snprintf(where, sizeof where, "objective[%zu]", i);
      snprintf(c->where, sizeof c->where, "%s: ", where);
      if (!parse_element(c, tv, where)) return 0;
    }
    c->where[0] = '\0';
  } else {
    return failf(c, FV_ERR_BAD_ARG, "\"objective\" must be an expression, a term object or an array of them");
  }

  /* an old manifest's diversity: the term -diversity·diversity(layer), last */
  if (diversity > 0) {
    int layer = -1;
    for (int i = 0; i < o->n_terms && layer < 0; i++)
      if (reads_layer(o->terms[i].kind)) layer = o->terms[i].layer;
    if ((v = fv_json_get(root, "diversity_layer")) && !get_layer(c, v, "diversity_layer", &layer)) return 0;
    if (o->n_terms >= FV_MAX_TERMS) return failf(c, FV_ERR_BAD_ARG, "more than %d terms with diversity", FV_MAX_TERMS);
    if (layer >= 0) {
      const int i = o->n_terms++;
      memset(&o->src[i], 0, sizeof o->src[i]);
      o->src[i].photo = -1;
      o->terms[i] = fv_obj_default(FV_OBJ_DIVERSITY);
      o->terms[i].weight = -diversity;
      o->terms[i].layer = layer;
    }
  } else if ((v = fv_json_get(root, "diversity_layer")) && !get_layer(c, v, "diversity_layer", &k)) {
    return 0;
  }
  if (!check_terms(c)) return 0;
  return fv_vectors_resolve(o, c->m, lenient, c->err) == FV_OK;
}

fv_status fv_options_parse_labelled(const char *json, size_t len, const fv_model *m, const char *labels,
                                    size_t labels_len, int lenient, fv_render_opts *o, fv_error *err) {
  fv_options_default(o);
  if (!m) {
    fv_error_set(err, FV_ERR_BAD_ARG, "options: no model");
    return FV_ERR_BAD_ARG;
  }
  fv_error local;
  if (!err) err = &local; /* the status returned comes from err->code */
  fv_json *root = fv_json_parse(json, len, err);
  if (!root) return (fv_status)err->code;
  ctx c = {json, m, o, err, "", labels, labels_len};
  int ok = parse_root(&c, root, lenient);
  fv_json_free(root);
  if (!ok) {
    fv_options_free(o);
    return (fv_status)err->code;
  }
  return FV_OK;
}

fv_status fv_options_parse(const char *json, size_t len, const fv_model *m, fv_render_opts *o, fv_error *err) {
  return fv_options_parse_labelled(json, len, m, NULL, 0, 0, o, err);
}

int fv_options_find_layer(const fv_model *m, const char *json, size_t len, fv_error *err) {
  fv_error local;
  if (!err) err = &local;
  fv_error_clear(err);
  if (!m || !json) {
    fv_error_set(err, FV_ERR_BAD_ARG, "a layer lookup needs a model and a layer");
    return -1;
  }
  fv_json *v = fv_json_parse(json, len, err);
  if (!v) return -1;
  fv_render_opts o;
  fv_options_default(&o);
  ctx c = {json, m, &o, err, "", NULL, 0};
  int layer = -1;
  if (!get_layer(&c, v, "layer", &layer)) layer = -1;
  fv_json_free(v);
  return layer;
}

/* ==== canonical JSON ============================================================================ */

/* By name when the name finds this very layer again (and is valid UTF-8),
 * else by index, so that parse(to_json(o)) == o. */
static void put_layer(fv_jbuf *b, const fv_model *m, int layer) {
  const char *name = fv_model_layer_name(m, layer);
  if (name && fv_json_utf8_valid(name, strlen(name)) && fv_model_layer_find(m, name) == layer)
    fv_jbuf_string(b, name, strlen(name));
  else
    fv_jbuf_int(b, layer);
}

static void put_key(fv_jbuf *b, const char *key) {
  fv_jbuf_raw(b, ",\"");
  fv_jbuf_raw(b, key);
  fv_jbuf_raw(b, "\":");
}

/* The canonical expression as a JSON string. */
static void put_expression(fv_jbuf *b, const fv_render_opts *o, const fv_model *m) {
  fv_jbuf e = {0};
  fv_expr_write(&e, o, m);
  size_t n = e.len;
  char *s = fv_jbuf_finish(&e);
  if (!s) {
    b->oom = 1;
    return;
  }
  fv_jbuf_string(b, s, n);
  free(s);
}

static void put_photos(fv_jbuf *b, const fv_render_opts *o, const fv_model *m) {
  fv_jbuf_raw(b, "[");
  for (int k = 0; k < o->n_photos; k++) {
    const fv_photo *ph = &o->photos[k];
    fv_jbuf_raw(b, k ? ",{\"name\":" : "{\"name\":");
    fv_jbuf_string(b, ph->name, strlen(ph->name));
    if (ph->sha256[0]) put_key(b, "sha256"), fv_jbuf_string(b, ph->sha256, 64);
    put_key(b, "layer"), put_layer(b, m, ph->layer);
    put_key(b, "kind"), fv_jbuf_raw(b, ph->kind == FV_PHOTO_MEAN ? "\"mean\"" : "\"map\"");
    if (ph->values) {
      put_key(b, "shape");
      if (ph->kind == FV_PHOTO_MEAN) fv_jbuf_raw(b, "["), fv_jbuf_int(b, ph->dims[2]), fv_jbuf_raw(b, "]");
      else {
        fv_jbuf_raw(b, "["), fv_jbuf_int(b, ph->dims[0]), fv_jbuf_raw(b, ","), fv_jbuf_int(b, ph->dims[1]);
        fv_jbuf_raw(b, ","), fv_jbuf_int(b, ph->dims[2]), fv_jbuf_raw(b, "]");
      }
      put_key(b, "values"), fv_jbuf_raw(b, "[");
      for (int j = 0; j < ph->len; j++) {
        if (j) fv_jbuf_raw(b, ",");
        fv_expr_write_number(b, ph->values[j]);
      }
      fv_jbuf_raw(b, "]");
    }
    fv_jbuf_raw(b, "}");
  }
  fv_jbuf_raw(b, "]");
}

char *fv_options_to_json(const fv_render_opts *o, const fv_model *m) {
  fv_jbuf b = {0};
  fv_jbuf_raw(&b, "{\"size\":"), fv_jbuf_int(&b, o->size);
  put_key(&b, "batch"), fv_jbuf_int(&b, o->batch);
  put_key(&b, "steps"), fv_jbuf_int(&b, o->steps);
  put_key(&b, "lr"), fv_jbuf_float(&b, o->lr);
  put_key(&b, "seed"), fv_jbuf_uint(&b, (unsigned long long)o->seed);
  put_key(&b, "param"),
      fv_jbuf_raw(&b, o->param == FV_PARAM_PIXEL  ? "\"pixel\""
                      : o->param == FV_PARAM_CPPN ? "\"cppn\""
                      : o->param == FV_PARAM_LAPLACIAN ? "\"laplacian\""
                                                  : "\"fft\"");
  put_key(&b, "decorrelate"), fv_jbuf_raw(&b, o->decorrelate ? "true" : "false");
  put_key(&b, "decay_power"), fv_jbuf_float(&b, o->decay_power);
  put_key(&b, "transforms"), fv_jbuf_raw(&b, o->transforms == FV_TRANSFORMS_NONE ? "\"none\"" : "\"standard\"");
  put_key(&b, "redirect_steps"), fv_jbuf_int(&b, o->redirect_steps);
  if (o->cppn_size) put_key(&b, "cppn_size"), fv_jbuf_int(&b, o->cppn_size);
  if (o->shared) put_key(&b, "shared"), fv_jbuf_raw(&b, "true");
  if (o->alpha) { /* only when on: manifests from before alpha keep their bytes */
    put_key(&b, "alpha"), fv_jbuf_raw(&b, "true");
    put_key(&b, "alpha_blur"), fv_jbuf_float(&b, o->alpha_blur);
  }
  put_key(&b, "objective"), put_expression(&b, o, m);
  if (o->n_photos) put_key(&b, "photos"), put_photos(&b, o, m);
  fv_jbuf_raw(&b, "}");
  return fv_jbuf_finish(&b);
}

/* ==== the objective as the page's term list sees it ============================================ */

char *fv_objective_describe(const fv_model *m, const char *json, size_t len, const char *labels, size_t labels_len,
                            fv_error *err) {
  fv_error_clear(err);
  if (!m || !json) {
    fv_error_set(err, FV_ERR_BAD_ARG, "describing an objective needs a model and options");
    return NULL;
  }
  fv_render_opts o;
  if (fv_options_parse_labelled(json, len, m, labels, labels_len, 1, &o, err) != FV_OK) return NULL;
  char *canon = fv_options_to_json(&o, m);
  fv_jbuf b = {0};
  fv_jbuf_raw(&b, "{\"options\":");
  fv_jbuf_raw(&b, canon ? canon : "null");
  put_key(&b, "expression"), put_expression(&b, &o, m);
  put_key(&b, "terms"), fv_jbuf_raw(&b, "[");
  for (int i = 0; i < o.n_terms; i++) {
    fv_jbuf t = {0};
    fv_expr_write_term(&t, &o, i, m);
    size_t n = t.len;
    char *s = fv_jbuf_finish(&t);
    fv_jbuf_raw(&b, i ? ",{\"weight\":" : "{\"weight\":");
    fv_jbuf_float(&b, o.terms[i].weight);
    const char *kind = o.src[i].is_class ? "class" : fv_obj_name(o.terms[i].kind);
    put_key(&b, "kind"), fv_jbuf_string(&b, kind, strlen(kind));
    if (reads_layer(o.terms[i].kind)) put_key(&b, "layer"), put_layer(&b, m, o.terms[i].layer);
    if (o.terms[i].kind == FV_OBJ_CHANNEL || o.terms[i].kind == FV_OBJ_NEURON) put_key(&b, "channel"), fv_jbuf_int(&b, o.terms[i].channel);
    put_key(&b, "text");
    if (s) fv_jbuf_string(&b, s, n);
    else b.oom = 1;
    free(s);
    fv_jbuf_raw(&b, "}");
  }
  fv_jbuf_raw(&b, "]}");
  const int ok = canon != NULL;
  free(canon);
  fv_options_free(&o);
  char *out = fv_jbuf_finish(&b);
  if (!ok) free(out), out = NULL;
  if (!out) fv_error_set(err, FV_ERR_NO_MEMORY, "out of memory describing the objective");
  return out;
}
