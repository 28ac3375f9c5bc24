/* objective_expr_test.c — the objective's grammar (src/objective_expr.c) on the
 * store's MobileNet v2: each form of term parsed to the terms the JSON options
 * give for it, the canonical text (written out by hand here) and its round
 * trip, weights through products and parentheses, vectors (units, random,
 * photos, literals), class names from the store's labels file, refusals that
 * name the character, and mutated expressions that must be refused cleanly
 * (ASan/UBSan watch). References: the JSON term objects of options.h (an
 * independent path to the same terms), vectors and weights written out by
 * hand, the labels file's line numbers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv.h"
#include "check.h"
#include "objective_expr.h"
#include "options.h"

#define L8 "MobilenetV2/expanded_conv_8/add"
#define L5 "MobilenetV2/expanded_conv_5/add"

static fv_model *M;
static int l8, l5, logits;
static char *labels;
static size_t labels_len;

static uint32_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* Options from JSON with labels; lenient as fv_objective_describe parses. */
static fv_status popt(const char *json, int lenient, fv_render_opts *o, fv_error *err) {
  return fv_options_parse_labelled(json, strlen(json), M, labels, labels_len, lenient, o, err);
}

/* The options {batch, objective: expr} (expr JSON-escaped by the caller where needed). */
static fv_status pexpr(const char *expr, int batch, fv_render_opts *o, fv_error *err) {
  static char json[1 << 16];
  fv_jbuf b = {0};
  fv_jbuf_string(&b, expr, strlen(expr));
  char *q = fv_jbuf_finish(&b);
  snprintf(json, sizeof json, "{\"batch\":%d,\"objective\":%s}", batch, q ? q : "null");
  free(q);
  return popt(json, 0, o, err);
}

static char *canonical(const fv_render_opts *o) {
  fv_jbuf b = {0};
  fv_expr_write(&b, o, M);
  return fv_jbuf_finish(&b);
}

static int same_terms(const fv_render_opts *a, const fv_render_opts *b) {
  if (a->n_terms != b->n_terms || a->n_photos != b->n_photos) return 0;
  for (int i = 0; i < a->n_terms; i++) {
    const fv_obj_term *s = &a->terms[i], *t = &b->terms[i];
    if (s->kind != t->kind || fbits(s->weight) != fbits(t->weight) || s->layer != t->layer || s->channel != t->channel ||
        s->channel2 != t->channel2 || s->x != t->x || s->y != t->y || s->batch != t->batch ||
        fbits(s->cossim_pow) != fbits(t->cossim_pow) || fbits(s->constant) != fbits(t->constant) ||
        s->direction_len != t->direction_len || (s->direction == NULL) != (t->direction == NULL))
      return 0;
    for (int k = 0; s->direction && k < s->direction_len; k++)
      if (fbits(s->direction[k]) != fbits(t->direction[k])) return 0;
  }
  return 1;
}

/* expr parses; its canonical text is want (NULL: itself); that parses to the same terms. */
static void canon(const char *expr, int batch, const char *want) {
  fv_render_opts a, b;
  fv_error err = {0};
  if (pexpr(expr, batch, &a, &err) != FV_OK) {
    CHECK(0, "\"%s\" refused: %s", expr, err.msg);
    return;
  }
  char *c = canonical(&a);
  CHECK(c && strcmp(c, want ? want : expr) == 0, "\"%s\": canonical\n  \"%s\", want\n  \"%s\"", expr, c ? c : "(oom)",
        want ? want : expr);
  if (c && pexpr(c, batch, &b, &err) == FV_OK) {
    CHECK(same_terms(&a, &b), "\"%s\": the canonical text gives other terms", expr);
    char *c2 = canonical(&b);
    CHECK(c2 && strcmp(c, c2) == 0, "\"%s\": canonical is a fixed point", expr);
    free(c2);
    fv_options_free(&b);
  } else {
    CHECK(0, "canonical \"%s\" refused: %s", c ? c : "", err.msg);
  }
  free(c);
  fv_options_free(&a);
}

/* expr is refused with a message containing want (and the code). */
static void refused(const char *expr, int batch, fv_status code, const char *want) {
  fv_render_opts o;
  fv_error err = {0};
  fv_status st = pexpr(expr, batch, &o, &err);
  CHECK(st != FV_OK, "\"%s\" accepted", expr);
  if (st == FV_OK) {
    fv_options_free(&o);
    return;
  }
  CHECK(st == code, "\"%s\": status %d, want %d (%s)", expr, st, code, err.msg);
  CHECK(strstr(err.msg, want) != NULL, "\"%s\": message\n  \"%s\" lacks\n  \"%s\"", expr, err.msg, want);
  CHECK(o.n_terms == 0, "on error nothing is left to free");
}

/* The expression and the JSON terms give the same terms. */
static void same_as_json(const char *expr, const char *json_terms, int batch) {
  fv_render_opts a, b;
  fv_error err = {0};
  char json[4096];
  snprintf(json, sizeof json, "{\"batch\":%d,\"objective\":%s}", batch, json_terms);
  int ok = pexpr(expr, batch, &a, &err) == FV_OK;
  CHECK(ok, "\"%s\" refused: %s", expr, err.msg);
  if (!ok) return;
  ok = popt(json, 0, &b, &err) == FV_OK;
  CHECK(ok, "%s refused: %s", json, err.msg);
  if (ok) {
    CHECK(same_terms(&a, &b), "\"%s\" and %s give different terms", expr, json_terms);
    fv_options_free(&b);
  }
  fv_options_free(&a);
}

/* ==== each form of term ===================================================================== */

static void test_terms(void) {
  same_as_json(L8 ":12", "{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":12}", 1);
  same_as_json(L8 ":12@3,4", "{\"kind\":\"neuron\",\"layer\":\"" L8 "\",\"channel\":12,\"x\":3,\"y\":4}", 1);
  same_as_json("neuron(" L8 ":12)", "{\"kind\":\"neuron\",\"layer\":\"" L8 "\",\"channel\":12}", 1);
  same_as_json("neuron(" L8 ":12, y=2)", "{\"kind\":\"neuron\",\"layer\":\"" L8 "\",\"channel\":12,\"y\":2}", 1);
  same_as_json("deepdream(" L8 ")", "{\"kind\":\"layer\",\"layer\":\"" L8 "\"}", 1);
  same_as_json("class(89)", "{\"kind\":\"class\",\"class\":89}", 1);
  same_as_json("class(macaw)", "{\"kind\":\"class\",\"class\":89}", 1);
  same_as_json("class(\"Tabby Cat\")", "{\"kind\":\"class\",\"class\":282}", 1);
  same_as_json("class(\"tiger cat\")", "{\"kind\":\"class\",\"class\":\"tiger cat\"}", 1);
  same_as_json("class(\"macaw (89)\")", "{\"kind\":\"class\",\"class\":\"macaw (89)\"}", 1);
  same_as_json("direction(" L8 ", random(7), cossim=1)",
               "{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"direction_seed\":7,\"cossim_pow\":1}", 1);
  same_as_json("direction(" L8 ", unit(5))", "{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"unit\":5}", 1);
  same_as_json("interpolate(" L8 ", 1, 2)", "{\"kind\":\"interp\",\"layer\":\"" L8 "\",\"channel\":1,\"channel2\":2}", 2);
  same_as_json("alignment(" L8 ")", "{\"kind\":\"alignment\",\"layer\":\"" L8 "\"}", 2);
  same_as_json("diversity(" L8 ")", "{\"kind\":\"diversity\",\"layer\":\"" L8 "\"}", 2);
  same_as_json("-0.25*tv + l1 - l2(constant=0) + blur(batch=0) + " L8 ":1",
               "[{\"kind\":\"tv\",\"weight\":-0.25},{\"kind\":\"l1\"},{\"kind\":\"l2\",\"constant\":0,\"weight\":-1},"
               "{\"kind\":\"blur\",\"batch\":0},{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":1}]",
               1);
  /* the top-level "diversity" of older options is the same as the term, last */
  same_as_json(L8 ":3 - 100*diversity(" L8 ")",
               "[{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":3}],\"diversity\":100", 4);
  /* by index, and the grammar inside a JSON array with weights */
  same_as_json("31:3", "{\"kind\":\"channel\",\"layer\":31,\"channel\":3}", 1);
  same_as_json("2*" L8 ":1 - " L5 ":2",
               "[{\"expr\":\"" L8 ":1 - 0.5*" L5 ":2\",\"weight\":2}]", 1);
  same_as_json(L8 ":1 + " L5 ":2", "[\"" L8 ":1\",{\"kind\":\"channel\",\"layer\":\"" L5 "\",\"channel\":2}]", 1);
}

/* ==== canonical text ====================================================================== */

static void test_canonical(void) {
  canon(L8 ":12", 1, NULL);
  canon("  " L8 " :\t12  ", 1, L8 ":12");
  canon(L8 ":12@3,4", 1, NULL);
  canon("neuron(" L8 ":12)", 1, NULL);
  canon("neuron(" L8 ":12@3,4)", 1, L8 ":12@3,4");
  canon("neuron(" L8 ":12, y=2, x=1)", 1, L8 ":12@1,2");
  canon("neuron(" L8 ":12, x=5)", 1, NULL);
  canon("channel(" L8 ":12)", 1, L8 ":12");
  canon("channel(" L8 ":12, batch=1)", 2, NULL);
  canon("deepdream(" L8 ", batch=0)", 2, NULL);
  canon("class(macaw) - 0.5*class(\"tiger cat\")", 1, "class(89) - 0.5*class(283)");
  canon(L8 ":37 + 0.5*" L5 ":12 - 100*diversity(" L8 ")", 2, NULL);
  canon("2*(" L8 ":1 + 0.5*(" L5 ":2 - tv)) / 4", 1, "0.5*" L8 ":1 + 0.25*" L5 ":2 - 0.25*tv");
  canon("+" L8 ":1*3", 1, "3*" L8 ":1");
  canon("-" L8 ":1", 1, NULL);
  canon("0.1*" L8 ":1 + 1e-3*tv - 3e+38*blur", 1, "0.1*" L8 ":1 + 0.001*tv - 3e38*blur");
  canon("-0*" L8 ":1", 1, "-0*" L8 ":1");
  canon("1e-45*" L8 ":1", 1, "1e-45*" L8 ":1"); /* the smallest denormal */
  canon("direction(" L8 ", unit(3) - unit(5))", 1, NULL);
  canon("direction(" L8 ", 2*unit(3) + 0.5*random(9), cossim=2, batch=1)", 2, NULL);
  canon("direction(" L8 ",random(0))", 1, "direction(" L8 ", random(0))");
  canon("interpolate(" L8 ", 1, 2)", 2, NULL);
  canon("alignment(" L8 ") + diversity(" L8 ")", 3, NULL);
  canon("l1 + l1(constant=0.25) + l2(batch=0) + tv(batch=1) + blur + " L8 ":1", 2, NULL);
  canon(L8 ":1 - 4*prior + prior(batch=1)", 2, NULL);
  same_as_json(L8 ":1 - 2*prior", "[{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":1},{\"kind\":\"prior\",\"weight\":-2}]", 1);
  canon("31:3", 1, L8 ":3"); /* an index is written as the layer's name */
  canon("\"" L8 "\":3", 1, L8 ":3");
  /* a literal vector: exactly C values, written in their shortest exact form */
  char expr[4096], want[4096];
  size_t k = (size_t)sprintf(expr, "direction(" L8 ", 0.5*[");
  size_t w = (size_t)sprintf(want, "direction(" L8 ", 0.5*[");
  for (int i = 0; i < 64; i++) {
    k += (size_t)sprintf(expr + k, "%s%d.2500", i ? "," : "", i - 32);
    w += (size_t)sprintf(want + w, "%s%s%d.25", i ? ", " : "", i - 32 < 0 && i - 32 > -1 ? "-" : "", i - 32);
  }
  sprintf(expr + k, "])");
  sprintf(want + w, "])");
  canon(expr, 1, want);
}

/* ==== weights and vectors: values ============================================================== */

static void test_values(void) {
  fv_render_opts o, p;
  fv_error err = {0};
  if (pexpr("2*(" L8 ":1 - 0.5*(" L5 ":2 + tv)) / 8 - -3", 1, &o, &err) == FV_OK) {
    fv_options_free(&o);
    CHECK(0, "a signed number as a term is refused");
  }
  if (pexpr("2*(" L8 ":1 - 0.5*(" L5 ":2 + tv)) / 8", 1, &o, &err) == FV_OK) {
    CHECK(o.n_terms == 3 && o.terms[0].weight == 0.25f && o.terms[1].weight == -0.125f && o.terms[2].weight == -0.125f &&
              o.terms[2].kind == FV_OBJ_TV,
          "weights through products: %g %g %g", o.terms[0].weight, o.terms[1].weight, o.terms[2].weight);
    fv_options_free(&o);
  } else {
    CHECK(0, "weights: %s", err.msg);
  }
  /* unit(3) - 2*unit(5): the vector e3 - 2·e5 */
  if (pexpr("direction(" L8 ", unit(3) - 2*unit(5) + unit(3))", 1, &o, &err) == FV_OK) {
    int ok = o.terms[0].direction_len == 64;
    for (int i = 0; ok && i < 64; i++) ok = o.terms[0].direction[i] == (i == 3 ? 2.0f : i == 5 ? -2.0f : 0.0f);
    CHECK(ok, "unit parts add up");
    fv_options_free(&o);
  } else {
    CHECK(0, "units: %s", err.msg);
  }
  /* random(42) is the JSON's direction_seed 42, bit for bit; minus it is its negation */
  const char *js = "{\"objective\":{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"direction_seed\":42}}";
  if (pexpr("direction(" L8 ", -random(42))", 1, &o, &err) == FV_OK && popt(js, 0, &p, &err) == FV_OK) {
    int ok = 1;
    for (int i = 0; i < 64; i++) ok &= fbits(o.terms[0].direction[i]) == fbits(-p.terms[0].direction[i]);
    CHECK(ok, "-random(42) = -direction_seed 42");
    fv_options_free(&o);
    fv_options_free(&p);
  } else {
    CHECK(0, "random: %s", err.msg);
  }
  refused("direction(" L8 ", unit(3) - unit(3))", 1, FV_ERR_BAD_ARG, "the direction is all zeros");
}

/* ==== photos: what the shells must supply, and what they supplied ============================================ */

static void test_photos(void) {
  fv_render_opts o;
  fv_error err = {0};
  /* strict: the activations must be there */
  refused("direction(" L8 ", parrot.jpg)", 1, FV_ERR_BAD_ARG,
          "no activations of photo \"parrot.jpg\" at layer \"" L8 "\" (mean) in \"photos\"");
  refused("caricature(" L8 ", \"my cat.jpg\")", 1, FV_ERR_BAD_ARG, "no activations of photo \"my cat.jpg\"");
  /* lenient (as fv_objective_describe): listed without values, once per (name, layer, kind) */
  const char *need = "{\"objective\":\"direction(" L8 ", photo(a.jpg) - b.jpg) + caricature(" L8
                     ", a.jpg) + direction(" L8 ", a.jpg, cossim=1)\"}";
  if (popt(need, 1, &o, &err) == FV_OK) {
    CHECK(o.n_photos == 3 && !strcmp(o.photos[0].name, "a.jpg") && o.photos[0].kind == FV_PHOTO_MEAN &&
              !strcmp(o.photos[1].name, "b.jpg") && !strcmp(o.photos[2].name, "a.jpg") &&
              o.photos[2].kind == FV_PHOTO_MAP && !o.photos[0].values,
          "needs: %d photos", o.n_photos);
    char *c = canonical(&o);
    CHECK(c && !strcmp(c, "direction(" L8 ", a.jpg - b.jpg) + caricature(" L8 ", a.jpg) + direction(" L8
                          ", a.jpg, cossim=1)"),
          "photo names written bare: %s", c ? c : "");
    free(c);
    char *j = fv_options_to_json(&o, M);
    CHECK(j && strstr(j, "\"photos\":[{\"name\":\"a.jpg\",\"layer\":\"" L8 "\",\"kind\":\"mean\"}"), "needs in JSON: %s",
          j ? j : "");
    free(j);
    fv_options_free(&o);
  } else {
    CHECK(0, "lenient: %s", err.msg);
  }
  /* supplied: the vector is Σ w·mean; unused entries are dropped; a caricature's target is the map */
  char json[1 << 15];
  size_t k = (size_t)sprintf(json, "{\"batch\":2,\"objective\":\"direction(" L8 ", 2*a.jpg - unit(0)) + caricature(" L8
                                   ", a.jpg, batch=1)\",\"photos\":["
                                   "{\"name\":\"unused.jpg\",\"layer\":0,\"kind\":\"mean\",\"shape\":[32],\"values\":[");
  for (int i = 0; i < 32; i++) k += (size_t)sprintf(json + k, "%s1", i ? "," : "");
  k += (size_t)sprintf(json + k, "]},{\"name\":\"a.jpg\",\"sha256\":\"%s\",\"layer\":\"" L8 "\",\"kind\":\"mean\","
                                 "\"shape\":[64],\"values\":[",
                       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  for (int i = 0; i < 64; i++) k += (size_t)sprintf(json + k, "%s%d.5", i ? "," : "", i);
  k += (size_t)sprintf(json + k, "]},{\"name\":\"a.jpg\",\"layer\":\"" L8 "\",\"kind\":\"map\",\"shape\":[2,3,64],\"values\":[");
  for (int i = 0; i < 384; i++) k += (size_t)sprintf(json + k, "%s%d", i ? "," : "", i % 7 - 3);
  sprintf(json + k, "]}]}");
  if (popt(json, 0, &o, &err) == FV_OK) {
    const float *v = o.terms[0].direction;
    int ok = o.terms[0].direction_len == 64 && v[0] == 2 * 0.5f - 1 && v[63] == 127.0f;
    CHECK(ok, "2*a.jpg - unit(0): %g %g", v ? v[0] : NAN, v ? v[63] : NAN);
    CHECK(o.n_photos == 2 && o.terms[1].direction_len == 384 && o.terms[1].direction[1] == -2.0f &&
              o.terms[1].batch == 1 && o.terms[1].kind == FV_OBJ_CARICATURE,
          "caricature target");
    /* round trip, values and sha256 included */
    char *j = fv_options_to_json(&o, M);
    fv_render_opts p;
    CHECK(j && strstr(j, "\"sha256\":\"0123456789abcdef") && !strstr(j, "unused.jpg"), "canonical photos");
    if (j && fv_options_parse(j, strlen(j), M, &p, &err) == FV_OK) {
      CHECK(same_terms(&o, &p), "photos round trip");
      fv_options_free(&p);
    } else {
      CHECK(0, "canonical photos refused: %s", err.msg);
    }
    free(j);
    fv_options_free(&o);
  } else {
    CHECK(0, "photos: %s", err.msg);
  }
  /* bad entries */
  const fv_status E = FV_ERR_BAD_ARG;
  const char *bad[][2] = {
      {"{\"objective\":\"" L8 ":1\",\"photos\":[{\"name\":\"a\",\"layer\":\"" L8 "\",\"kind\":\"mean\",\"shape\":[63],\"values\":[]}]}",
       "photos[0]: photo \"a\": 63 channels; layer \"" L8 "\" has 64"},
      {"{\"objective\":\"" L8 ":1\",\"photos\":[{\"name\":\"a\",\"layer\":\"" L8 "\",\"kind\":\"mean\",\"shape\":[64],\"values\":[1]}]}",
       "\"values\" must be an array of 64 numbers"},
      {"{\"objective\":\"" L8 ":1\",\"photos\":[{\"name\":\"a\",\"layer\":\"" L8 "\",\"kind\":\"pose\"}]}", "kind \"pose\" must be"},
      {"{\"objective\":\"" L8 ":1\",\"photos\":[{\"name\":\"\",\"layer\":0,\"kind\":\"map\"}]}", "must be a photo's name"},
      {"{\"objective\":\"" L8 ":1\",\"photos\":[{\"name\":\"a\",\"layer\":0,\"kind\":\"map\",\"sha256\":\"AB\"}]}",
       "\"sha256\" must be 64 lowercase hex digits"},
      {"{\"objective\":\"" L8 ":1\",\"photos\":[{\"name\":\"a\",\"layer\":0,\"kind\":\"map\"},{\"name\":\"a\",\"layer\":0,\"kind\":\"map\"}]}",
       "given twice"},
      {"{\"objective\":\"" L8 ":1\",\"photos\":[{\"name\":\"a\",\"layer\":0,\"kind\":\"map\",\"values\":[]}]}",
       "give \"shape\" and \"values\" together"},
      {"{\"objective\":\"" L8 ":1\",\"photos\":{}}", "\"photos\" must be an array"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fv_status st = popt(bad[i][0], 1, &o, &err);
    CHECK(st == E && strstr(err.msg, bad[i][1]), "%s: %s (want %s)", bad[i][0], err.msg, bad[i][1]);
    if (st == FV_OK) fv_options_free(&o);
  }
  /* a caricature's target against the layer at the render size is render.c's check (fv_obj_check) */
}

/* ==== refusals that name the character ====================================================== */

static void test_errors(void) {
  const fv_status E = FV_ERR_BAD_ARG, U = FV_ERR_UNKNOWN_LAYER;
  /* the example with a typo: the position is the layer name's first character */
  refused(L8 ":37 + 0.5*MobilenetV2/expanded_conv_9x/add:12", 1, U,
          "objective at 42: unknown layer \"MobilenetV2/expanded_conv_9x/add\"");
  refused(L8 ":64", 1, E, "objective at 33: channel 64 out of range: layer \"" L8 "\" has channels 0..63");
  refused(L8 ":1.5", 1, E, "at 33: channel 1.5 out of range");
  refused(L8, 1, E, "objective at 32: expected ':' and a channel after the layer");
  refused(L8 ":3 " L8 ":4", 1, E, "objective at 35: unexpected 'M' (terms are joined by + or -)");
  refused(L8 ":3 +", 1, E, "objective at 36: expected a term");
  refused("", 1, E, "objective at 1: an empty objective");
  refused("   ", 1, E, "objective at 4: an empty objective");
  refused("2 " L8 ":3", 1, E, "objective at 3: expected '*' after a weight");
  refused(L8 ":3 * " L5 ":1", 1, E, "objective at 37: expected a number (a term's weight: terms do not multiply each other)");
  refused(L8 ":3 / 0", 1, E, "objective at 37: division by zero");
  refused("1e39*" L8 ":3", 1, E, "objective at 1: weight 1e+39 is not a finite 32-bit float");
  refused("(" L8 ":3", 1, E, "objective at 35: expected ')' to close the parenthesis");
  refused(L8 ":3)", 1, E, "objective at 34: unexpected ')' (a ')' without its '(')");
  refused("deepdream(" L8, 1, E, "objective at 42: expected ')' to close the arguments, got the end");
  refused("deepdream(" L8 ", batch=1)", 1, E, "objective at 50: batch 1 out of range -1..0");
  refused("deepdream(" L8 ", batch=0, batch=0)", 2, E, "batch given twice");
  refused("deepdream(" L8 ", cossim=1)", 1, E, "objective at 44: unknown argument \"cossim\" for deepdream(...)");
  refused("dreamdeep(" L8 ")", 1, E, "objective at 1: unknown function \"dreamdeep\"");
  refused("class(\"not a bird\")", 1, E, "objective at 7: unknown class \"not a bird\": no such class in the model's labels");
  refused("class(1001)", 1, E, "objective at 7: class 1001 out of range 0..1000");
  refused(L8 ":1@3", 1, E, "objective at 36: expected ',' between x and y");
  refused(L8 ":1@4096,0", 1, E, "x 4096 out of range 0..4095");
  refused("direction(" L8 ", unit(64))", 1, E, "objective at 49: unit 64 out of range: layer \"" L8 "\" has channels 0..63");
  refused("direction(" L8 ", random(-1))", 1, E, "seed -1 out of range 0..2147483647");
  refused("direction(" L8 ", [1, 2])", 1, E, "objective at 44: the vector has 2 values; layer \"" L8 "\" has 64 channels");
  refused("direction(" L8 ", unit(1), cossim=17)", 1, E, "cossim 17 out of range 0..16");
  refused("direction(" L8 ", sideways(1))", 1, E, "unknown vector \"sideways(...)\"");
  refused("direction(" L8 ")", 1, E, "objective at 42: expected ',' and a vector after the layer");
  refused("interpolate(" L8 ", 1, 2)", 1, E, "interpolate compares the images of a batch: it needs \"batch\" >= 2");
  refused("tv", 1, E, "no objective (image penalties alone are not one");
  refused("\"" L8 ":3", 1, E, "objective at 1: unterminated quoted name");
  refused("\"a\\nb\":3", 1, E, "objective at 3: a quoted name escapes only");
  refused("l1(constant=2) + " L8 ":1", 1, E, "constant 2 out of range 0..1");
  refused("99:1", 1, U, "objective at 1: layer 99 out of range 0..65");
  refused("\xc3\xa9t\xc3\xa9:1", 1, U, "objective at 1: unknown layer \"\xc3\xa9t\xc3\xa9\"");
  refused("tv + \xc3\xa9t\xc3\xa9:1", 1, U, "objective at 6: unknown layer"); /* é counts as one character */
  /* no labels: a class name cannot be resolved */
  fv_render_opts o;
  fv_error err = {0};
  const char *js = "{\"objective\":\"class(macaw)\"}";
  CHECK(fv_options_parse(js, strlen(js), M, &o, &err) == E && strstr(err.msg, "no class names are known here"),
        "class names without labels: %s", err.msg);
  /* in an array, the element is named */
  const char *arr = "{\"objective\":[\"" L8 ":1\", \"" L8 ":99\"]}";
  CHECK(popt(arr, 0, &o, &err) == E && strstr(err.msg, "objective[1] at 33: channel 99"), "element named: %s", err.msg);
  /* deep nesting is bounded */
  char deep[256] = "";
  for (int i = 0; i < 20; i++) strcat(deep, "(");
  strcat(deep, L8 ":1");
  for (int i = 0; i < 20; i++) strcat(deep, ")");
  refused(deep, 1, E, "parentheses nested deeper than 16");
  /* too many terms */
  char many[8192] = "";
  for (int i = 0; i <= FV_MAX_TERMS; i++) strcat(many, i ? " + " L8 ":1" : L8 ":1");
  refused(many, 1, E, "more than 32 terms");
}

/* ==== mutations: never a crash, always a clean refusal or a valid parse ===================== */

static void test_mutations(void) {
  const char *seeds[] = {
      L8 ":37 + 0.5*" L5 ":12 - 100*diversity(" L8 ")",
      "direction(" L8 ", 2*unit(3) - random(9) + a.jpg, cossim=2, batch=1) - 0.25*l1(constant=0.5)",
      "neuron(" L8 ":12, x=3) + class(macaw) - (tv + blur)/3 + interpolate(" L8 ", 1, 2)",
  };
  const char alphabet[] = "()[],:@*/+-=\" .0123456789eEabcxyz\\";
  check_seed(7);
  int parsed = 0, refused_n = 0;
  for (int it = 0; it < 3000; it++) {
    char s[512];
    strcpy(s, seeds[it % 3]);
    size_t n = strlen(s);
    for (int e = check_int(1, 4); e > 0; e--) {
      size_t at = (size_t)check_int(0, (int)n - 1);
      switch (check_int(0, 2)) {
        case 0: s[at] = alphabet[check_int(0, (int)sizeof alphabet - 2)]; break;
        case 1: memmove(s + at, s + at + 1, n - at), n--; break;
        default:
          if (n + 1 < sizeof s) memmove(s + at + 1, s + at, n - at + 1), s[at] = alphabet[check_int(0, (int)sizeof alphabet - 2)], n++;
      }
    }
    fv_render_opts o;
    fv_error err = {0};
    /* the expression alone, straight into the grammar */
    fv_options_default(&o);
    o.batch = 2;
    if (fv_expr_parse(s, n, 1.0, M, labels, labels_len, "objective", &o, &err)) {
      parsed++;
      char *c = canonical(&o);
      fv_render_opts p;
      fv_options_default(&p);
      p.batch = 2;
      CHECK(c && fv_expr_parse(c, strlen(c), 1.0, M, labels, labels_len, "objective", &p, &err), "mutant \"%s\": canonical \"%s\" refused: %s",
            s, c ? c : "", err.msg);
      free(c);
      fv_options_free(&p);
    } else {
      refused_n++;
      if (strncmp(err.msg, "objective at ", 13) != 0) CHECK(0, "mutant \"%s\": message \"%s\"", s, err.msg);
    }
    fv_options_free(&o);
  }
  CHECK(parsed > 20 && refused_n > 1000, "mutations: %d parsed, %d refused", parsed, refused_n);
}

int main(void) {
  char path[512];
  M = check_store_model("mobilenet_v2_1.0_224_quant.tflite");
  snprintf(path, sizeof path, "%s/imagenet_labels.txt", check_models_dir());
  labels = (char *)check_read_file(path, &labels_len);
  CHECK(labels != NULL, "read %s", path);
  if (M && labels) {
    l8 = fv_model_layer_find(M, L8);
    l5 = fv_model_layer_find(M, L5);
    logits = fv_options_logits_layer(M);
    CHECK(l8 == 31 && l5 >= 0 && fv_model_layer_dim(M, logits, 3) == 1001, "layers %d %d %d", l8, l5, logits);
    CHECK(fv_expr_class_find(labels, labels_len, "macaw", 5) == 89 && fv_expr_class_find(labels, labels_len, " TABBY ", 7) == 282 &&
              fv_expr_class_find(labels, labels_len, "tabby cat", 9) == 282 && fv_expr_class_find(labels, labels_len, "tabb", 4) == -1 &&
              fv_expr_class_find(labels, labels_len, "x (17)", 6) == 17 && fv_expr_class_find(NULL, 0, "macaw", 5) == -1,
          "class names");
    test_terms();
    test_canonical();
    test_values();
    test_photos();
    test_errors();
    test_mutations();
  }
  fv_model_free(M);
  free(labels);
  return check_summary("objective_expr");
}
