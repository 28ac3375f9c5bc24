/* options_fuzz.c — libFuzzer target for the JSON parser and the render options.
 *
 * Each input is fed to fv_json_parse and, when it parses, the tree is written
 * back out (strings escaped, numbers "%.17g") and parsed again: the two trees
 * must be equal. Then fv_options_parse against the store's MobileNet v2;
 * when it succeeds, the canonical JSON must parse again to identical options
 * and be a fixed point of to_json. Errors must carry a code and a message.
 * Any broken property aborts, which libFuzzer records as a crash.
 *
 * The model is loaded once from $FEATVIZ_MODELS (else ../shared/models, so
 * run from the repository root); without it only the JSON half runs.
 *
 *   make -f emcc.mk build/fuzz/options_fuzz
 *   build/fuzz/options_fuzz -max_total_time=180 -dict=... tests/fuzz/corpus/options/
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv.h"
#include "json.h"
#include "options.h"

static fv_model *model;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "options_fuzz: %s\n%s\n", what, detail ? detail : "");
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *dir = getenv("FEATVIZ_MODELS");
  if (!dir || !*dir) dir = "../shared/models";
  char path[1024];
  snprintf(path, sizeof path, "%s/mobilenet_v2_1.0_224_quant.tflite", dir);
  FILE *f = fopen(path, "rb");
  uint8_t *bytes = NULL;
  long n = 0;
  if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (bytes = (uint8_t *)malloc((size_t)n)) && fread(bytes, 1, (size_t)n, f) == (size_t)n) {
    fv_error err = {0};
    model = fv_model_load(bytes, (size_t)n, &err);
    if (!model) fprintf(stderr, "options_fuzz: %s: %s\n", path, err.msg);
  }
  if (f) fclose(f);
  free(bytes);
  if (!model) fprintf(stderr, "options_fuzz: no model at %s: fuzzing fv_json_parse alone\n", path);
  return 0;
}

/* ---- JSON: write the tree back, parse it again, compare ------------------------------ */

static void write_node(fv_jbuf *b, const fv_json *v) {
  char tmp[40];
  switch (v->type) {
    case FV_JSON_NULL: fv_jbuf_raw(b, "null"); break;
    case FV_JSON_BOOL: fv_jbuf_raw(b, v->boolean ? "true" : "false"); break;
    case FV_JSON_NUMBER:
      snprintf(tmp, sizeof tmp, "%.17g", v->u.number);
      fv_jbuf_raw(b, tmp);
      break;
    case FV_JSON_STRING: fv_jbuf_string(b, v->u.str, v->len); break;
    case FV_JSON_ARRAY:
      fv_jbuf_raw(b, "[");
      for (uint32_t i = 0; i < v->len; i++) {
        if (i) fv_jbuf_raw(b, ",");
        write_node(b, fv_json_at(v, i)); /* depth ≤ FV_JSON_MAX_DEPTH */
      }
      fv_jbuf_raw(b, "]");
      break;
    case FV_JSON_OBJECT:
      fv_jbuf_raw(b, "{");
      for (uint32_t i = 0; i < v->len; i++) {
        if (i) fv_jbuf_raw(b, ",");
        write_node(b, fv_json_key(v, i));
        fv_jbuf_raw(b, ":");
        write_node(b, fv_json_value(v, i));
      }
      fv_jbuf_raw(b, "}");
      break;
  }
}

static int same_node(const fv_json *a, const fv_json *b) {
  if (a->type != b->type || (a->type != FV_JSON_NUMBER && a->len != b->len)) return 0;
  switch (a->type) {
    case FV_JSON_BOOL: return a->boolean == b->boolean;
    case FV_JSON_NUMBER: return memcmp(&a->u.number, &b->u.number, sizeof(double)) == 0;
    case FV_JSON_STRING: return memcmp(a->u.str, b->u.str, a->len) == 0 && b->u.str[b->len] == 0;
    case FV_JSON_ARRAY:
      for (uint32_t i = 0; i < a->len; i++)
        if (!same_node(fv_json_at(a, i), fv_json_at(b, i))) return 0;
      return 1;
    case FV_JSON_OBJECT:
      for (uint32_t i = 0; i < a->len; i++)
        if (!same_node(fv_json_key(a, i), fv_json_key(b, i)) || !same_node(fv_json_value(a, i), fv_json_value(b, i)))
          return 0;
      return 1;
    default: return 1;
  }
}

static void check_error(const fv_error *err, const char *where) {
  if (err->code == FV_OK || memchr(err->msg, 0, sizeof err->msg) == NULL || err->msg[0] == 0)
    die("an error without a code or a message", where);
}

static void fuzz_json(const uint8_t *data, size_t size) {
  fv_error err = {0};
  fv_json *j = fv_json_parse((const char *)data, size, &err);
  if (!j) {
    check_error(&err, "fv_json_parse");
    return;
  }
  fv_jbuf b = {0};
  write_node(&b, j);
  char *s = fv_jbuf_finish(&b);
  if (!s) die("writer out of memory", NULL);
  fv_json *k = fv_json_parse(s, strlen(s), &err);
  if (!k) die("written JSON does not parse again", err.msg);
  if (!same_node(j, k)) die("written JSON parses to another tree", s);
  fv_json_free(k);
  fv_json_free(j);
  free(s);
}

/* ---- options: parse, canonical JSON, parse again ------------------------------------ */

static uint32_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static int same_opts(const fv_render_opts *a, const fv_render_opts *b) {
  int ok = a->size == b->size && a->batch == b->batch && a->steps == b->steps && fbits(a->lr) == fbits(b->lr) &&
           a->seed == b->seed && a->param == b->param && a->decorrelate == b->decorrelate &&
           fbits(a->decay_power) == fbits(b->decay_power) && a->transforms == b->transforms &&
           a->redirect_steps == b->redirect_steps && a->n_terms == b->n_terms && a->n_photos == b->n_photos;
  for (int i = 0; ok && i < a->n_terms; i++) {
    const fv_obj_term *s = &a->terms[i], *t = &b->terms[i];
    ok = s->kind == t->kind && fbits(s->weight) == fbits(t->weight) && s->layer == t->layer &&
         s->channel == t->channel && s->channel2 == t->channel2 && s->x == t->x && s->y == t->y &&
         s->batch == t->batch && s->direction_len == t->direction_len && fbits(s->cossim_pow) == fbits(t->cossim_pow) &&
         fbits(s->constant) == fbits(t->constant) && a->src[i].n_parts == b->src[i].n_parts &&
         a->src[i].is_class == b->src[i].is_class && (s->direction == NULL) == (t->direction == NULL);
    for (int k = 0; ok && s->direction && k < s->direction_len; k++) ok = fbits(s->direction[k]) == fbits(t->direction[k]);
  }
  return ok;
}

static void fuzz_options(const uint8_t *data, size_t size) {
  fv_render_opts o, p;
  fv_error err = {0};
  if (fv_options_parse((const char *)data, size, model, &o, &err) != FV_OK) {
    check_error(&err, "fv_options_parse");
    if (o.n_terms != 0) die("options left holding terms after an error", NULL);
    return;
  }
  if (o.n_terms < 1 || o.n_terms > FV_MAX_TERMS) die("accepted options without a valid term count", NULL);
  char *s = fv_options_to_json(&o, model);
  if (!s) die("to_json out of memory", NULL);
  if (fv_options_parse(s, strlen(s), model, &p, &err) != FV_OK) die("canonical JSON refused", err.msg);
  if (!same_opts(&o, &p)) die("parse(to_json(o)) != o", s);
  char *s2 = fv_options_to_json(&p, model);
  if (!s2 || strcmp(s, s2) != 0) die("canonical JSON is not a fixed point", s);
  free(s2);
  free(s);
  fv_options_free(&p);
  fv_options_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_json(data, size);
  if (model) fuzz_options(data, size);
  return 0;
}
