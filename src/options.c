/* options.c — render options from JSON, validated against the model, and back
 * to canonical JSON; see options.h. The JSON is untrusted: every key is
 * type- and range-checked with a message naming the key, the value and the
 * valid range, and unknown keys are errors. */
#include "options.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rng.h"

#define SEED_MAX 9007199254740992.0 /* 2^53: every integer up to it is exact in a double (and in JS) */
#define XY_MAX 4095                 /* loose: fv_obj_check checks x, y at the render size */
#define COSSIM_POW_MAX 16.0
#define DIRECTION_SEED_MAX 2147483647

/* ==== term kinds and the keys each accepts ==================================== */

/* The JSON names are fv_obj_name's; "class" is a CHANNEL term on the logits.
 * (DIVERSITY is not a term here: the top-level "diversity" keys set it.) */
typedef struct {
  const char *name;
  int kind;           /* fv_obj_kind */
  int has_layer_key;  /* has a "layer" key (class: implicitly the logits) */
  const char *keys[6];
} kind_spec;

static const kind_spec KINDS[] = {
    {"neuron", FV_OBJ_NEURON, 1, {"layer", "channel", "x", "y"}},
    {"channel", FV_OBJ_CHANNEL, 1, {"layer", "channel"}},
    {"layer", FV_OBJ_LAYER, 1, {"layer"}},
    {"class", FV_OBJ_CHANNEL, 1, {"class"}},
    {"direction", FV_OBJ_DIRECTION, 1, {"layer", "direction", "direction_seed", "cossim_pow"}},
    {"interp", FV_OBJ_INTERP, 1, {"layer", "channel", "channel2"}},
    {"alignment", FV_OBJ_ALIGNMENT, 1, {"layer"}},
    {"l1", FV_OBJ_L1, 0, {"constant"}},
    {"l2", FV_OBJ_L2, 0, {"constant"}},
    {"tv", FV_OBJ_TV, 0, {NULL}},
    {"blur", FV_OBJ_BLUR, 0, {NULL}},
};
#define N_KINDS (int)(sizeof KINDS / sizeof KINDS[0])

static const char *const TOP_KEYS[] = {"size", "batch", "steps", "lr", "seed", "param", "decorrelate",
                                       "decay_power", "transforms", "redirect_steps", "objective",
                                       "diversity", "diversity_layer", NULL};

/* Whether a term of this (stored) kind reads a layer rather than the image. */
static int reads_layer(int kind) { return (unsigned)kind < FV_OBJ_COUNT && !fv_obj_on_image((fv_obj_kind)kind); }

/* ==== a random unit direction from a seed ====================================== */
/* The engine's generator (rng.h) → Box–Muller in double → normalized; the same
 * seed and length give the same vector. (Box–Muller, not rng.h's polar normals:
 * the vectors of saved manifests must not change.) Two passes (norm, then
 * write) regenerate the stream instead of keeping a double copy. */

static double gauss_at(fv_rng *g, int i, double *spare) {
  if (i & 1) return *spare;
  double u1 = fv_rng_uniform(g) + 0x1.0p-53; /* (0, 1]: log is finite (exact: a multiple of 2^-53) */
  double u2 = fv_rng_uniform(g);
  double r = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
  *spare = r * sin(th);
  return r * cos(th);
}

static void random_direction(float *v, int n, int seed) {
  fv_rng g;
  double spare = 0, ss = 0;
  fv_rng_seed(&g, (uint64_t)seed);
  for (int i = 0; i < n; i++) {
    double x = gauss_at(&g, i, &spare);
    ss += x * x;
  }
  double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
  fv_rng_seed(&g, (uint64_t)seed);
  for (int i = 0; i < n; i++) v[i] = (float)(gauss_at(&g, i, &spare) * inv);
  if (!(ss > 0)) v[0] = 1.0f; /* all draws exactly 0: only conceivable for n = 1 */
}

/* ==== parsing context and messages ===================================================== */

typedef struct {
  const char *text;   /* the JSON text (numbers are quoted from it in messages) */
  const fv_model *m;
  fv_render_opts *o;
  fv_error *err;
  char where[32];     /* "" or "objective[3]: " */
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

/* The logits: the input of the final SOFTMAX, i.e. the op that writes it;
 * with no SOFTMAX, the last op. -1 if the SOFTMAX reads no op's output. */
static int logits_layer(const fv_model *m) {
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

static int parse_direction(ctx *c, const fv_json *obj, fv_obj_term *t, int *dir_seed) {
  const fv_json *dv = fv_json_get(obj, "direction"), *sv = fv_json_get(obj, "direction_seed");
  int C = layer_channels(c->m, t->layer);
  char q[80];
  if (dv && sv) return failf(c, FV_ERR_BAD_ARG, "give \"direction\" or \"direction_seed\", not both");
  if (!dv && !sv) return failf(c, FV_ERR_BAD_ARG, "missing \"direction\" (an array of floats) or \"direction_seed\"");
  if (C < 1) {
    layer_quoted(c->m, t->layer, q, sizeof q);
    return failf(c, FV_ERR_BAD_ARG, "layer %s has no channels", q);
  }
  if (dv) {
    if (dv->type != FV_JSON_ARRAY) return failf(c, FV_ERR_BAD_ARG, "\"direction\" must be an array of numbers");
    if ((int64_t)dv->len != C) {
      layer_quoted(c->m, t->layer, q, sizeof q);
      return failf(c, FV_ERR_BAD_ARG, "direction has %u entries; layer %s has %d channels", dv->len, q, C);
    }
  }
  int seed = -1;
  if (sv && !get_int(c, sv, "direction_seed", 0, DIRECTION_SEED_MAX, &seed)) return 0;
  float *v = (float *)malloc((size_t)C * sizeof *v);
  if (!v) return failf(c, FV_ERR_NO_MEMORY, "out of memory for a direction of %d floats", C);
  if (dv) {
    int nonzero = 0;
    for (int i = 0; i < C; i++) {
      char key[32];
      snprintf(key, sizeof key, "direction[%d]", i);
      if (!get_float(c, fv_json_at(dv, (size_t)i), key, -FLT_MAX, FLT_MAX, 0, "(a finite 32-bit float)", &v[i])) {
        free(v);
        return 0;
      }
      nonzero |= v[i] != 0;
    }
    if (!nonzero) {
      free(v);
      return failf(c, FV_ERR_BAD_ARG, "direction must not be all zeros");
    }
  } else {
    random_direction(v, C, seed);
  }
  t->direction = v;
  t->direction_len = C;
  *dir_seed = seed;
  return 1;
}

/* Parses obj into a term; the term owns its direction only once this returns 1. */
static int parse_term(ctx *c, const fv_json *obj, fv_obj_term *out, int *dir_seed) {
  static const char *const common[] = {"kind", "weight", "batch", NULL};
  if (obj->type != FV_JSON_OBJECT) return failf(c, FV_ERR_BAD_ARG, "a term must be an object");
  const fv_json *kv = fv_json_get(obj, "kind");
  if (!kv) return failf(c, FV_ERR_BAD_ARG, "missing \"kind\"");
  if (kv->type != FV_JSON_STRING) return failf(c, FV_ERR_BAD_ARG, "\"kind\" must be a string");
  const kind_spec *ks = NULL;
  for (int i = 0; i < N_KINDS && !ks; i++)
    if (strlen(kv->u.str) == kv->len && strcmp(kv->u.str, KINDS[i].name) == 0) ks = &KINDS[i];
  if (!ks) {
    char q[80];
    fv_json_quote(q, sizeof q, kv->u.str, kv->len);
    if (strcmp(kv->u.str, "diversity") == 0)
      return failf(c, FV_ERR_BAD_ARG, "kind \"diversity\" is set by the top-level \"diversity\" and \"diversity_layer\"");
    return failf(c, FV_ERR_BAD_ARG,
                 "unknown kind %s (neuron, channel, layer, class, direction, interp, alignment, l1, l2, tv, blur)", q);
  }
  if (!check_keys(c, obj, common, ks->keys, ks->name)) return 0;

  fv_obj_term t = fv_obj_default((fv_obj_kind)ks->kind);
  const fv_json *v;
  *dir_seed = -1;
  if ((v = fv_json_get(obj, "weight")) && !get_float(c, v, "weight", -FLT_MAX, FLT_MAX, 0, "(a finite 32-bit float)", &t.weight))
    return 0;
  if ((v = fv_json_get(obj, "batch")) && !get_int(c, v, "batch", -1, c->o->batch - 1, &t.batch)) return 0;

  if (ks->kind == FV_OBJ_INTERP || ks->kind == FV_OBJ_ALIGNMENT) {
    /* they compare the images of the batch with each other (see fv_obj_check) */
    if (c->o->batch < 2)
      return failf(c, FV_ERR_BAD_ARG, "kind \"%s\" needs a batch of at least 2 (\"batch\" is %d)", ks->name, c->o->batch);
    if (ks->kind == FV_OBJ_ALIGNMENT && t.batch != -1)
      return failf(c, FV_ERR_BAD_ARG, "batch %d: an alignment term takes the whole batch (batch must be -1)", t.batch);
  }
  if (strcmp(ks->name, "class") == 0) {
    int logits = logits_layer(c->m);
    if (logits < 0) return failf(c, FV_ERR_UNKNOWN_LAYER, "the model has no logits layer for a class term");
    int C = layer_channels(c->m, logits);
    char b[40];
    if (!(v = fv_json_get(obj, "class"))) return failf(c, FV_ERR_BAD_ARG, "missing \"class\"");
    if (!want_number(c, v, "class")) return 0;
    if (v->u.number != floor(v->u.number) || v->u.number < 0 || v->u.number > C - 1)
      return failf(c, FV_ERR_BAD_ARG, "class %s out of range 0..%d (the model has %d classes)", num_text(c, v, b), C - 1, C);
    t.layer = logits;
    t.channel = (int)v->u.number;
    *out = t;
    return 1;
  }
  if (ks->has_layer_key) {
    if (!(v = fv_json_get(obj, "layer"))) return failf(c, FV_ERR_BAD_ARG, "missing \"layer\"");
    if (!get_layer(c, v, "layer", &t.layer)) return 0;
  }
  switch (ks->kind) {
    case FV_OBJ_NEURON:
    case FV_OBJ_CHANNEL:
    case FV_OBJ_INTERP:
      if (!(v = fv_json_get(obj, "channel"))) return failf(c, FV_ERR_BAD_ARG, "missing \"channel\"");
      if (!check_channel(c, v, "channel", t.layer, &t.channel)) return 0;
      if (ks->kind == FV_OBJ_INTERP) {
        if (!(v = fv_json_get(obj, "channel2"))) return failf(c, FV_ERR_BAD_ARG, "missing \"channel2\"");
        if (!check_channel(c, v, "channel2", t.layer, &t.channel2)) return 0;
      }
      if (ks->kind == FV_OBJ_NEURON) {
        if ((v = fv_json_get(obj, "x")) && !get_int(c, v, "x", -1, XY_MAX, &t.x)) return 0;
        if ((v = fv_json_get(obj, "y")) && !get_int(c, v, "y", -1, XY_MAX, &t.y)) return 0;
      }
      break;
    case FV_OBJ_DIRECTION:
      if ((v = fv_json_get(obj, "cossim_pow")) &&
          !get_float(c, v, "cossim_pow", 0, COSSIM_POW_MAX, 0, "0..16", &t.cossim_pow))
        return 0;
      if (!parse_direction(c, obj, &t, dir_seed)) return 0; /* last: nothing can fail after the allocation */
      break;
    case FV_OBJ_L1:
    case FV_OBJ_L2:
      if ((v = fv_json_get(obj, "constant")) && !get_float(c, v, "constant", 0, 1, 0, "0..1", &t.constant)) return 0;
      break;
    default:
      break;
  }
  *out = t;
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
  o->n_terms = 0;
  for (int i = 0; i < FV_MAX_TERMS; i++) o->direction_seed[i] = -1;
  o->diversity = 0.0f;
  o->diversity_layer = -1;
}

void fv_options_free(fv_render_opts *o) {
  if (!o) return;
  for (int i = 0; i < o->n_terms && i < FV_MAX_TERMS; i++) free((void *)o->terms[i].direction);
  fv_options_default(o);
}

static int parse_root(ctx *c, const fv_json *root) {
  static const char *const params[] = {"fft", "pixel", NULL};
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
    o->param = k == 0 ? FV_PARAM_FFT : FV_PARAM_PIXEL;
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
  if ((v = fv_json_get(root, "diversity")) &&
      !get_float(c, v, "diversity", 0, FLT_MAX, 0, "0..3.4e38 (finite, >= 0)", &o->diversity))
    return 0;

  /* The objective: one term or an array of them. */
  const fv_json *obj = fv_json_get(root, "objective");
  if (!obj) return failf(c, FV_ERR_BAD_ARG, "no objective (\"objective\" is missing)");
  if (obj->type != FV_JSON_ARRAY && obj->type != FV_JSON_OBJECT)
    return failf(c, FV_ERR_BAD_ARG, "\"objective\" must be a term object or an array of them");
  size_t n = obj->type == FV_JSON_ARRAY ? obj->len : 1;
  if (n > FV_MAX_TERMS) return failf(c, FV_ERR_BAD_ARG, "objective has %zu terms; at most %d", n, FV_MAX_TERMS);
  int first_layer = -1;
  for (size_t i = 0; i < n; i++) {
    const fv_json *tv = obj->type == FV_JSON_ARRAY ? fv_json_at(obj, i) : obj;
    snprintf(c->where, sizeof c->where, "objective[%zu]: ", i);
    if (!parse_term(c, tv, &o->terms[o->n_terms], &o->direction_seed[o->n_terms])) return 0;
    if (reads_layer(o->terms[o->n_terms].kind) && first_layer < 0) first_layer = o->terms[o->n_terms].layer;
    o->n_terms++;
  }
  c->where[0] = '\0';
  if (first_layer < 0)
    return failf(c, FV_ERR_BAD_ARG, "no objective (image penalties alone are not one: add a term that reads a layer)");

  if (o->diversity > 0 && o->batch < 2)
    return failf(c, FV_ERR_BAD_ARG, "diversity compares the images of a batch: it needs \"batch\" >= 2 (batch is %d)",
                 o->batch);
  o->diversity_layer = first_layer;
  if ((v = fv_json_get(root, "diversity_layer")) && !get_layer(c, v, "diversity_layer", &o->diversity_layer)) return 0;
  return 1;
}

fv_status fv_options_parse(const char *json, size_t len, const fv_model *m, fv_render_opts *o, fv_error *err) {
  fv_options_default(o);
  if (!m) {
    fv_error_set(err, FV_ERR_BAD_ARG, "options: no model");
    return FV_ERR_BAD_ARG;
  }
  fv_error local;
  if (!err) err = &local; /* the status returned comes from err->code */
  fv_json *root = fv_json_parse(json, len, err);
  if (!root) return (fv_status)err->code;
  ctx c = {json, m, o, err, ""};
  int ok = parse_root(&c, root);
  fv_json_free(root);
  if (!ok) {
    fv_options_free(o);
    return (fv_status)err->code;
  }
  return FV_OK;
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
  ctx c = {json, m, &o, err, ""};
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

static void put_term(fv_jbuf *b, const fv_obj_term *t, int dir_seed, const fv_model *m) {
  fv_jbuf_raw(b, "{\"kind\":");
  const char *kn = fv_obj_name(t->kind);
  fv_jbuf_string(b, kn, strlen(kn));
  if (reads_layer(t->kind)) put_key(b, "layer"), put_layer(b, m, t->layer);
  switch (t->kind) {
    case FV_OBJ_NEURON:
      put_key(b, "channel"), fv_jbuf_int(b, t->channel);
      put_key(b, "x"), fv_jbuf_int(b, t->x);
      put_key(b, "y"), fv_jbuf_int(b, t->y);
      break;
    case FV_OBJ_CHANNEL: put_key(b, "channel"), fv_jbuf_int(b, t->channel); break;
    case FV_OBJ_INTERP:
      put_key(b, "channel"), fv_jbuf_int(b, t->channel);
      put_key(b, "channel2"), fv_jbuf_int(b, t->channel2);
      break;
    case FV_OBJ_DIRECTION:
      if (dir_seed >= 0) {
        put_key(b, "direction_seed"), fv_jbuf_int(b, dir_seed);
      } else {
        put_key(b, "direction");
        fv_jbuf_raw(b, "[");
        for (int i = 0; i < t->direction_len && t->direction; i++) {
          if (i) fv_jbuf_raw(b, ",");
          fv_jbuf_float(b, t->direction[i]);
        }
        fv_jbuf_raw(b, "]");
      }
      put_key(b, "cossim_pow"), fv_jbuf_float(b, t->cossim_pow);
      break;
    case FV_OBJ_L1:
    case FV_OBJ_L2: put_key(b, "constant"), fv_jbuf_float(b, t->constant); break;
    default: break;
  }
  put_key(b, "weight"), fv_jbuf_float(b, t->weight);
  put_key(b, "batch"), fv_jbuf_int(b, t->batch);
  fv_jbuf_raw(b, "}");
}

char *fv_options_to_json(const fv_render_opts *o, const fv_model *m) {
  fv_jbuf b = {0};
  fv_jbuf_raw(&b, "{\"size\":"), fv_jbuf_int(&b, o->size);
  put_key(&b, "batch"), fv_jbuf_int(&b, o->batch);
  put_key(&b, "steps"), fv_jbuf_int(&b, o->steps);
  put_key(&b, "lr"), fv_jbuf_float(&b, o->lr);
  put_key(&b, "seed"), fv_jbuf_uint(&b, (unsigned long long)o->seed);
  put_key(&b, "param"), fv_jbuf_raw(&b, o->param == FV_PARAM_PIXEL ? "\"pixel\"" : "\"fft\"");
  put_key(&b, "decorrelate"), fv_jbuf_raw(&b, o->decorrelate ? "true" : "false");
  put_key(&b, "decay_power"), fv_jbuf_float(&b, o->decay_power);
  put_key(&b, "transforms"), fv_jbuf_raw(&b, o->transforms == FV_TRANSFORMS_NONE ? "\"none\"" : "\"standard\"");
  put_key(&b, "redirect_steps"), fv_jbuf_int(&b, o->redirect_steps);
  put_key(&b, "objective"), fv_jbuf_raw(&b, "[");
  for (int i = 0; i < o->n_terms && i < FV_MAX_TERMS; i++) {
    if (i) fv_jbuf_raw(&b, ",");
    put_term(&b, &o->terms[i], o->direction_seed[i], m);
  }
  fv_jbuf_raw(&b, "]");
  put_key(&b, "diversity"), fv_jbuf_float(&b, o->diversity);
  if (o->diversity_layer >= 0) put_key(&b, "diversity_layer"), put_layer(&b, m, o->diversity_layer);
  fv_jbuf_raw(&b, "}");
  return fv_jbuf_finish(&b);
}
