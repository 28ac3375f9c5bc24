/* options_test.c — the JSON parser (src/json.c) and the render options
 * (src/options.c): RFC 8259 conformance, hostile inputs (nesting bombs, huge
 * strings and objects, bad surrogates, overflowing numbers), every option's
 * range error, layer / class / direction validation against the store's
 * MobileNet v2, and the canonical JSON round trip (bit-exact floats).
 *
 * References are independent of the code: expected doubles come from the C
 * compiler's own conversion of the literal, expected UTF-8 bytes are written
 * out by hand, the layer facts (expanded_conv_8/add has 64 channels, 1001
 * classes, the logits are "MobilenetV2/Logits/Squeeze1") from the
 * architecture. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fv.h"
#include "check.h"
#include "json.h"
#include "options.h"

/* ==== helpers ============================================================== */

static fv_json *parse_s(const char *s, fv_error *err) { return fv_json_parse(s, strlen(s), err); }

/* Valid JSON: parses, and the root has this type. */
static void valid(const char *s, int type) {
  fv_error err = {0};
  fv_json *j = parse_s(s, &err);
  CHECK(j != NULL, "valid JSON %.60s refused: %s", s, err.msg);
  if (j) CHECK(j->type == type, "%.60s: type %d, want %d", s, j->type, type);
  fv_json_free(j);
}

/* Invalid JSON: refused, the message starts with "JSON:" and contains want. */
static void invalid_n(const char *s, size_t n, const char *want) {
  fv_error err = {0};
  fv_json *j = fv_json_parse(s, n, &err);
  CHECK(j == NULL, "invalid JSON %.60s accepted", s);
  if (!j) {
    CHECK(strncmp(err.msg, "JSON: ", 6) == 0, "%.60s: message %s", s, err.msg);
    CHECK(err.code == FV_ERR_BAD_ARG, "%.60s: code %d", s, err.code);
    if (want) CHECK(strstr(err.msg, want) != NULL, "%.60s: message \"%s\" lacks \"%s\"", s, err.msg, want);
  }
  fv_json_free(j);
}
static void invalid(const char *s, const char *want) { invalid_n(s, strlen(s), want); }

static double number_of(const char *s) {
  fv_error err = {0};
  fv_json *j = parse_s(s, &err);
  double d = j && j->type == FV_JSON_NUMBER ? j->u.number : NAN;
  fv_json_free(j);
  return d;
}

static uint32_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* ==== JSON: grammar ========================================================== */

static void test_json_valid(void) {
  valid("null", FV_JSON_NULL);
  valid("true", FV_JSON_BOOL);
  valid("false", FV_JSON_BOOL);
  valid("0", FV_JSON_NUMBER);
  valid(" \t\r\n[ 1 , 2 ,3 ] \n", FV_JSON_ARRAY);
  valid("[]", FV_JSON_ARRAY);
  valid("{}", FV_JSON_OBJECT);
  valid("{ \"a\" : [ { } , [ ] , \"\" ] }", FV_JSON_OBJECT);
  valid("\"\"", FV_JSON_STRING);
  valid("\"\x7f\"", FV_JSON_STRING); /* DEL is not a control character for JSON */

  /* numbers, against the compiler's conversion of the same literals */
  CHECK(number_of("1.5e-3") == 1.5e-3, "1.5e-3");
  CHECK(number_of("-0") == 0 && signbit(number_of("-0")), "-0 keeps its sign");
  CHECK(number_of("-0.0e+0") == 0 && signbit(number_of("-0.0e+0")), "-0.0e+0");
  CHECK(number_of("1E+2") == 100, "1E+2");
  CHECK(number_of("12345678901234567890") == 12345678901234567890.0, "big integer");
  CHECK(number_of("0.1") == 0.1, "0.1 correctly rounded");
  CHECK(number_of("2.2250738585072014e-308") == 2.2250738585072014e-308, "DBL_MIN");
  CHECK(number_of("1.7976931348623157e308") == 1.7976931348623157e308, "DBL_MAX");
  CHECK(number_of("4.9e-324") == 4.9e-324, "denormal");
  CHECK(number_of("1e-999") == 0, "underflow to 0 is fine (only overflow is an error)");
  CHECK(number_of("-123.456e-7") == -123.456e-7, "-123.456e-7");

  /* strings: escapes, \u to UTF-8 (bytes written out by hand), surrogate pairs */
  fv_error err = {0};
  fv_json *j = parse_s("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\", \"a\\u0000b\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", &err);
  CHECK(j && j->type == FV_JSON_ARRAY && j->len == 5, "escape array: %s", err.msg);
  if (j && j->len == 5) {
    const fv_json *s0 = fv_json_at(j, 0), *s1 = fv_json_at(j, 1), *s2 = fv_json_at(j, 2), *s3 = fv_json_at(j, 3),
                  *s4 = fv_json_at(j, 4);
    CHECK(s0->len == 8 && memcmp(s0->u.str, "\"\\/\b\f\n\r\t", 8) == 0, "simple escapes");
    CHECK(s1->len == 5 && memcmp(s1->u.str, "\xc3\xa9\xe2\x82\xac", 5) == 0, "\\u00e9\\u20AC → UTF-8");
    CHECK(s2->len == 4 && memcmp(s2->u.str, "\xf0\x9f\x98\x80", 4) == 0, "surrogate pair → U+1F600");
    CHECK(s3->len == 3 && memcmp(s3->u.str, "a\0b", 3) == 0 && s3->u.str[3] == 0, "\\u0000 kept, with length");
    CHECK(s4->len == 9 && memcmp(s4->u.str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9) == 0, "raw UTF-8 passes");
  }
  fv_json_free(j);

  /* objects: lookup, order kept, offsets */
  j = parse_s("{\"a\":1,\"b\":{\"c\":[true,null]},\"\":2}", &err);
  CHECK(j && j->len == 3, "object");
  if (j) {
    const fv_json *b = fv_json_get(j, "b");
    CHECK(b && b->type == FV_JSON_OBJECT && b->offset == 11, "b at byte 11");
    const fv_json *c = fv_json_get(b, "c");
    CHECK(c && c->len == 2 && fv_json_at(c, 0)->boolean == 1 && fv_json_at(c, 1)->type == FV_JSON_NULL, "c");
    CHECK(fv_json_get(j, "")->u.number == 2, "empty key");
    CHECK(fv_json_get(j, "z") == NULL && fv_json_at(j, 0) == NULL && fv_json_get(c, "a") == NULL, "misses");
    CHECK(strcmp(fv_json_key(j, 1)->u.str, "b") == 0 && fv_json_value(j, 0)->u.number == 1, "by index");
  }
  fv_json_free(j);

  /* exactly the depth cap nests fine */
  char deep[2 * FV_JSON_MAX_DEPTH + 1];
  for (int i = 0; i < FV_JSON_MAX_DEPTH; i++) deep[i] = '[', deep[2 * FV_JSON_MAX_DEPTH - 1 - i] = ']';
  deep[2 * FV_JSON_MAX_DEPTH] = 0;
  valid(deep, FV_JSON_ARRAY);
}

static void test_json_invalid(void) {
  invalid("", "empty input");
  invalid_n("", 0, "empty input");
  invalid("   ", "end of input");
  invalid("01", "leading zero");
  invalid("-01", "leading zero");
  invalid("[00]", "leading zero");
  invalid("1.", "digit after '.'");
  invalid(".5", "unexpected character '.'");
  invalid("+1", "unexpected character '+'");
  invalid("1e", "exponent");
  invalid("1e+", "exponent");
  invalid("-", "digit");
  invalid("NaN", "unexpected character 'N'");
  invalid("Infinity", "unexpected character 'I'");
  invalid("-Infinity", "digit");
  invalid("[nan]", NULL);
  invalid("1e999", "number out of range");
  invalid("-1e999", "number out of range");
  invalid("[1.8e308]", "number out of range at byte 1");
  invalid("0x10", "end of the input");
  invalid("[1,]", "trailing comma");
  invalid("{\"a\":1,}", "trailing comma");
  invalid("[,1]", NULL);
  invalid("[1 2]", "expected ',' or ']' at byte 3");
  invalid("{\"a\":1 \"b\":2}", "expected ',' or '}' at byte 7");
  invalid("{\"a\" 1}", "expected ':'");
  invalid("{a:1}", "string key");
  invalid("{1:1}", "string key");
  invalid("['x']", "unexpected character");
  invalid("[1] x", "unexpected character 'x' at byte 4");
  invalid("{} {}", "at byte 3");
  invalid("[1]]", "at byte 3");
  invalid("tru", NULL);
  invalid("nul", NULL);
  invalid("True", NULL);
  invalid("[", "end of input");
  invalid("{", "end of input");
  invalid("{\"a\":", "end of input");
  invalid("\"abc", "unterminated string at byte 0");
  invalid("\"abc\\", "unterminated");
  invalid("\"\\x\"", "invalid escape in string at byte 1");
  invalid("\"\\'\"", "invalid escape");
  invalid("\"\\u12\"", "invalid \\u escape");
  invalid("\"\\u12G4\"", "invalid \\u escape");
  invalid("\"\\ud800\"", "surrogate");
  invalid("\"\\udc00\"", "surrogate");
  invalid("\"\\ud800\\u0041\"", "surrogate");
  invalid("\"\\ud800\\ud800\"", "surrogate");
  invalid("\"\\udbff\"", "surrogate");
  invalid("\"a\x01" "b\"", "control character 0x01 in string at byte 2");
  invalid("\"a\nb\"", "control character");
  invalid("\"a\tb\"", "control character");
  invalid("\"\xc0\xaf\"", "invalid UTF-8"); /* overlong '/' */
  invalid("\"\xe0\x80\xaf\"", "invalid UTF-8"); /* overlong */
  invalid("\"\xed\xa0\x80\"", "invalid UTF-8"); /* an encoded surrogate */
  invalid("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* > U+10FFFF */
  invalid("\"\xc3\"", "invalid UTF-8"); /* truncated sequence */
  invalid("\"\x80\"", "invalid UTF-8");
  invalid("\xef\xbb\xbf{}", "unexpected byte 0xEF at byte 0"); /* no BOM */
  invalid_n("[1,\0]", 5, "unexpected byte 0x00 at byte 3");
  invalid_n("\"a\0\"", 4, "control character 0x00");
  invalid("{\"a\":1,\"a\":2}", "duplicate key \"a\" at byte 7");
  invalid("{\"b\":1,\"a\":1,\"c\":{},\"a\":2,\"b\":3}", "duplicate key \"a\" at byte 20"); /* the first duplicate */
  invalid("{\"a\\u0000\":1,\"a\\u0000\":2}", "duplicate key");
  invalid("/* no */ 1", NULL);
  invalid("[1,2", "expected ',' or ']' at byte 4");

  /* depth cap + 1, and a nesting bomb: refused quickly, no deep recursion */
  char deep[2 * FV_JSON_MAX_DEPTH + 3];
  for (int i = 0; i <= FV_JSON_MAX_DEPTH; i++) deep[i] = '[', deep[2 * FV_JSON_MAX_DEPTH + 1 - i] = ']';
  deep[2 * FV_JSON_MAX_DEPTH + 2] = 0;
  invalid(deep, "nesting deeper than 32 at byte 32");
  size_t nb = 100000;
  char *bomb = (char *)malloc(2 * nb + 1);
  memset(bomb, '[', nb);
  bomb[nb] = 0;
  invalid(bomb, "nesting deeper than 32");
  for (size_t i = 0; i < nb; i++) bomb[2 * i] = '{', bomb[2 * i + 1] = '"';
  invalid_n(bomb, nb, NULL); /* {"{"{"... */
  memset(bomb, 0, 2 * nb + 1);
  for (size_t i = 0, o = 0; o + 6 < 2 * nb; i++) o += (size_t)sprintf(bomb + o, i & 1 ? "{\"k\":" : "[");
  invalid(bomb, "nesting deeper than 32");
  free(bomb);
}

/* Big but legal inputs stay fast (linear) and exact; over the cap is refused. */
static void test_json_large(void) {
  fv_error err = {0};
  /* a string of ~1 MB mixing raw bytes and escapes */
  size_t n = FV_JSON_MAX_BYTES;
  char *s = (char *)malloc(n + 16);
  size_t o = 0;
  s[o++] = '"';
  size_t want = 0;
  while (o + 12 < n) {
    if ((o & 255) == 7) memcpy(s + o, "\\ud83d\\ude00", 12), o += 12, want += 4;
    else s[o++] = 'a', want++;
  }
  s[o++] = '"';
  fv_json *j = fv_json_parse(s, o, &err);
  CHECK(j && j->type == FV_JSON_STRING && j->len == want, "1 MB string: %s (len %u, want %zu)", err.msg,
        j ? j->len : 0, want);
  fv_json_free(j);
  /* over the cap */
  memset(s, ' ', n + 1);
  s[0] = '1';
  invalid_n(s, n + 1, "input too large");

  /* an object with many keys: duplicate detection must not be quadratic */
  int keys = 60000;
  char *big = (char *)malloc((size_t)keys * 16 + 16);
  o = 0;
  big[o++] = '{';
  for (int i = 0; i < keys; i++) o += (size_t)sprintf(big + o, "%s\"k%d\":%d", i ? "," : "", i, i);
  big[o++] = '}';
  j = fv_json_parse(big, o, &err);
  CHECK(j && j->len == (uint32_t)keys, "60000 keys: %s", err.msg);
  CHECK(j && fv_json_get(j, "k59999") && fv_json_get(j, "k59999")->u.number == 59999, "last key");
  fv_json_free(j);
  o -= 1;
  o += (size_t)sprintf(big + o, ",\"k123\":0}");
  invalid_n(big, o, "duplicate key \"k123\"");
  free(big);

  /* a wide array */
  size_t items = 400000;
  char *arr = (char *)malloc(items * 2 + 2);
  arr[0] = '[';
  for (size_t i = 0; i < items; i++) arr[1 + 2 * i] = '0', arr[2 + 2 * i] = ',';
  arr[2 * items] = ']';
  j = fv_json_parse(arr, 2 * items + 1, &err);
  CHECK(j && j->len == items, "400000 items: %s", err.msg);
  fv_json_free(j);
  free(arr);
  free(s);
}

/* ==== JSON: writer ============================================================ */

static void test_json_writer(void) {
  fv_error err = {0};
  /* every byte 1..127, then UTF-8, then an invalid byte → U+FFFD */
  char in[160];
  size_t n = 0;
  for (int c = 1; c < 128; c++) in[n++] = (char)c;
  memcpy(in + n, "\xc3\xa9\xf0\x9f\x98\x80\xff", 7);
  n += 7;
  fv_jbuf b = {0};
  fv_jbuf_string(&b, in, n);
  char *out = fv_jbuf_finish(&b);
  CHECK(out != NULL, "writer");
  fv_json *j = out ? parse_s(out, &err) : NULL;
  CHECK(j && j->type == FV_JSON_STRING, "escaped string parses: %s", err.msg);
  if (j) {
    CHECK(j->len == n - 1 + 3 && memcmp(j->u.str, in, n - 1) == 0 && memcmp(j->u.str + n - 1, "\xef\xbf\xbd", 3) == 0,
          "string round trip");
  }
  CHECK(out && strstr(out, "\\n") && strstr(out, "\\\"") && strstr(out, "\\\\") && strstr(out, "\\u0001"),
        "escapes: %s", out ? out : "");
  fv_json_free(j);
  free(out);

  /* floats: %.9g round-trips bit-exactly through the parser (random bit patterns + specials) */
  int bad = 0;
  check_seed(7);
  for (int i = 0; i < 20000; i++) {
    uint32_t u = check_u32();
    float f;
    if (i < 8) {
      const float sp[8] = {0.0f, -0.0f, FLT_MIN, FLT_MAX, -FLT_MAX, 1e-45f, 0.05f, 16777217.0f};
      f = sp[i];
    } else {
      memcpy(&f, &u, 4);
      if (!isfinite(f)) continue;
    }
    fv_jbuf_float(&b, f);
    char *t = fv_jbuf_finish(&b);
    double d = number_of(t);
    if (fbits((float)d) != fbits(f)) {
      if (bad++ < 5) printf("float %.9g (0x%08x) → %s → 0x%08x\n", (double)f, fbits(f), t, fbits((float)d));
    }
    free(t);
  }
  CHECK(bad == 0, "%d floats did not round-trip", bad);
  fv_jbuf_float(&b, NAN);
  fv_jbuf_raw(&b, ",");
  fv_jbuf_int(&b, -9007199254740992LL);
  fv_jbuf_raw(&b, ",");
  fv_jbuf_uint(&b, 18446744073709551615ull);
  out = fv_jbuf_finish(&b);
  CHECK(out && strcmp(out, "null,-9007199254740992,18446744073709551615") == 0, "ints: %s", out ? out : "");
  free(out);
  out = fv_jbuf_finish(&b);
  CHECK(out && out[0] == 0, "an empty buffer finishes as \"\"");
  free(out);

  char q[64];
  fv_json_quote(q, sizeof q, "a\"b\\c\n\xff", 7);
  CHECK(strcmp(q, "\"a\\\"b\\\\c\\x0A\\xFF\"") == 0, "quote: %s", q);
  char longs[200];
  memset(longs, 'x', sizeof longs);
  fv_json_quote(q, sizeof q, longs, sizeof longs);
  CHECK(strlen(q) < sizeof q && strstr(q, "...\"") != NULL, "quote cut: %s", q);
  fv_json_quote(q, 12, longs, sizeof longs);
  CHECK(strlen(q) < 12 && strstr(q, "...\""), "quote small cap: %s", q);
}

/* ==== options ==================================================================== */

static fv_model *M;
#define L8 "MobilenetV2/expanded_conv_8/add" /* 14×14×64 at 224 */
#define LOGITS "MobilenetV2/Logits/Squeeze1" /* [1, 1001], the input of the final softmax */
static int l8, logits;

static fv_status popt(const char *json, fv_render_opts *o, fv_error *err) {
  return fv_options_parse(json, strlen(json), M, o, err);
}

/* Parses a JSON built with printf; must fail with code and a message containing each of the strings. */
static void opt_fails(fv_status code, const char *want1, const char *want2, const char *fmt, ...) {
  char json[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(json, sizeof json, fmt, ap);
  va_end(ap);
  fv_render_opts o;
  fv_error err = {0};
  fv_status st = popt(json, &o, &err);
  CHECK(st == code && err.code == (int)code, "%s: status %d want %d (%s)", json, st, code, err.msg);
  if (want1) CHECK(strstr(err.msg, want1) != NULL, "%s: message \"%s\" lacks \"%s\"", json, err.msg, want1);
  if (want2) CHECK(strstr(err.msg, want2) != NULL, "%s: message \"%s\" lacks \"%s\"", json, err.msg, want2);
  CHECK(o.n_terms == 0 && o.size == 128, "on error the options are the defaults");
  fv_options_free(&o);
}

static int opt_ok(fv_render_opts *o, const char *fmt, ...) {
  char json[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(json, sizeof json, fmt, ap);
  va_end(ap);
  fv_error err = {0};
  fv_status st = popt(json, o, &err);
  CHECK(st == FV_OK, "%s: refused: %s", json, err.msg);
  return st == FV_OK;
}

#define TERM "{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":3}"

static void test_defaults(void) {
  fv_render_opts o;
  fv_options_default(&o);
  CHECK(o.size == 128 && o.batch == 1 && o.steps == 512 && o.lr == 0.05f && o.seed == 0 && o.param == FV_PARAM_FFT &&
            o.decorrelate == 1 && o.decay_power == 1.0f && o.transforms == FV_TRANSFORMS_STANDARD &&
            o.redirect_steps == 16 && o.n_terms == 0 && o.n_photos == 0,
        "fv_options_default");

  if (!opt_ok(&o, "{\"objective\":" TERM "}")) return; /* a single object, not an array */
  CHECK(o.size == 128 && o.batch == 1 && o.steps == 512 && o.lr == 0.05f && o.seed == 0 && o.param == FV_PARAM_FFT &&
            o.decorrelate == 1 && o.decay_power == 1.0f && o.transforms == FV_TRANSFORMS_STANDARD &&
            o.redirect_steps == 16,
        "defaults after parse");
  CHECK(o.n_terms == 1 && o.terms[0].kind == FV_OBJ_CHANNEL && o.terms[0].layer == l8 && o.terms[0].channel == 3 &&
            o.terms[0].weight == 1.0f && o.terms[0].batch == -1 && o.src[0].n_parts == 0 &&
            o.terms[0].direction == NULL,
        "one channel term (and no diversity term)");
  fv_options_free(&o);

  /* every key set; layer by index; whitespace; the first layer term after an image penalty */
  if (!opt_ok(&o,
              "{ \"size\": 224, \"batch\": 4, \"steps\": 0, \"lr\": 10, \"seed\": 9007199254740992, \"param\": \"pixel\","
              " \"decorrelate\": false, \"decay_power\": 0, \"transforms\": \"none\", \"redirect_steps\": 100000,"
              " \"objective\": [ {\"kind\":\"tv\",\"weight\":-0.25}, {\"kind\":\"neuron\",\"layer\":%d,\"channel\":63,"
              "\"x\":5,\"y\":-1,\"batch\":3} ], \"diversity\": 1e3 }",
              l8))
    return;
  CHECK(o.size == 224 && o.batch == 4 && o.steps == 0 && o.lr == 10.0f && o.seed == 9007199254740992ull &&
            o.param == FV_PARAM_PIXEL && o.decorrelate == 0 && o.decay_power == 0 &&
            o.transforms == FV_TRANSFORMS_NONE && o.redirect_steps == 100000,
        "all keys");
  CHECK(o.n_terms == 3 && o.terms[0].kind == FV_OBJ_TV && o.terms[0].weight == -0.25f && o.terms[1].kind == FV_OBJ_NEURON &&
            o.terms[1].layer == l8 && o.terms[1].channel == 63 && o.terms[1].x == 5 && o.terms[1].y == -1 &&
            o.terms[1].batch == 3,
        "terms");
  CHECK(o.terms[2].kind == FV_OBJ_DIVERSITY && o.terms[2].weight == -1000.0f && o.terms[2].layer == l8,
        "diversity: the term -1000·diversity(the first term that reads a layer), last");
  fv_options_free(&o);

  if (opt_ok(&o, "{\"batch\":2,\"diversity\":1,\"objective\":[" TERM "],\"diversity_layer\":\"MobilenetV2/Conv/Relu6\",\"seed\":1e3}")) {
    CHECK(o.n_terms == 2 && o.terms[1].layer == 0 && o.seed == 1000, "diversity_layer by name; 1e3 is an integer");
    fv_options_free(&o);
  }
}

static void test_range_errors(void) {
  const fv_status E = FV_ERR_BAD_ARG;
  opt_fails(E, "size 0 out of range 8..1024", NULL, "{\"size\":0,\"objective\":" TERM "}");
  opt_fails(E, "size 7 out of range 8..1024", NULL, "{\"size\":7,\"objective\":" TERM "}");
  opt_fails(E, "size 1025 out of range 8..1024", NULL, "{\"size\":1025,\"objective\":" TERM "}");
  opt_fails(E, "size 1e300 out of range", NULL, "{\"size\":1e300,\"objective\":" TERM "}");
  opt_fails(E, "size 128.5 must be an integer", NULL, "{\"size\":128.5,\"objective\":" TERM "}");
  opt_fails(E, "\"size\" must be a number", NULL, "{\"size\":\"128\",\"objective\":" TERM "}");
  opt_fails(E, "\"size\" must be a number", NULL, "{\"size\":null,\"objective\":" TERM "}");
  opt_fails(E, "batch 0 out of range 1..64", NULL, "{\"batch\":0,\"objective\":" TERM "}");
  opt_fails(E, "batch 65 out of range 1..64", NULL, "{\"batch\":65,\"objective\":" TERM "}");
  opt_fails(E, "steps -1 out of range 0..100000", NULL, "{\"steps\":-1,\"objective\":" TERM "}");
  opt_fails(E, "steps 100001 out of range", NULL, "{\"steps\":100001,\"objective\":" TERM "}");
  opt_fails(E, "lr 0 out of range (0, 10]", NULL, "{\"lr\":0,\"objective\":" TERM "}");
  opt_fails(E, "lr -0.1 out of range", NULL, "{\"lr\":-0.1,\"objective\":" TERM "}");
  opt_fails(E, "lr 10.5 out of range", NULL, "{\"lr\":10.5,\"objective\":" TERM "}");
  opt_fails(E, "lr 1e-50 out of range", NULL, "{\"lr\":1e-50,\"objective\":" TERM "}"); /* 0 as a float */
  opt_fails(E, "\"lr\" must be a number", NULL, "{\"lr\":[0.1],\"objective\":" TERM "}");
  opt_fails(E, "seed -1 out of range 0..9007199254740992", NULL, "{\"seed\":-1,\"objective\":" TERM "}");
  opt_fails(E, "seed 9007199254740993 out of range", NULL, "{\"seed\":9007199254740993,\"objective\":" TERM "}");
  opt_fails(E, "seed 1e20 out of range", NULL, "{\"seed\":1e20,\"objective\":" TERM "}");
  opt_fails(E, "seed 0.5 must be an integer", NULL, "{\"seed\":0.5,\"objective\":" TERM "}");
  opt_fails(E, "\"seed\" must be a number", NULL, "{\"seed\":true,\"objective\":" TERM "}");
  opt_fails(E, "decay_power -0.5 out of range 0..4", NULL, "{\"decay_power\":-0.5,\"objective\":" TERM "}");
  opt_fails(E, "decay_power 4.5 out of range 0..4", NULL, "{\"decay_power\":4.5,\"objective\":" TERM "}");
  opt_fails(E, "redirect_steps -1 out of range 0..100000", NULL, "{\"redirect_steps\":-1,\"objective\":" TERM "}");
  opt_fails(E, "redirect_steps 200000 out of range", NULL, "{\"redirect_steps\":200000,\"objective\":" TERM "}");
  opt_fails(E, "diversity -1 out of range", NULL, "{\"diversity\":-1,\"objective\":" TERM "}");
  opt_fails(E, "diversity 1e39 out of range", NULL, "{\"diversity\":1e39,\"objective\":" TERM "}");
  opt_fails(E, "param \"rgb\" must be \"fft\" or \"pixel\"", NULL, "{\"param\":\"rgb\",\"objective\":" TERM "}");
  opt_fails(E, "\"param\" must be \"fft\" or \"pixel\"", NULL, "{\"param\":1,\"objective\":" TERM "}");
  opt_fails(E, "param \"fft\\x00\"", NULL, "{\"param\":\"fft\\u0000\",\"objective\":" TERM "}");
  opt_fails(E, "transforms \"all\" must be \"standard\" or \"none\"", NULL, "{\"transforms\":\"all\",\"objective\":" TERM "}");
  opt_fails(E, "\"decorrelate\" must be true or false", NULL, "{\"decorrelate\":1,\"objective\":" TERM "}");
  /* a long number is quoted cut, not whole */
  opt_fails(E, "size 10000000000000000000000000000000... out of range", NULL,
            "{\"size\":1000000000000000000000000000000000000000000000000000,\"objective\":" TERM "}");

  /* term keys */
  opt_fails(E, "objective[0]: weight 1e39 out of range", NULL,
            "{\"objective\":{\"kind\":\"channel\",\"layer\":0,\"channel\":0,\"weight\":1e39}}");
  opt_fails(E, "objective[1]: \"weight\" must be a number", NULL,
            "{\"objective\":[" TERM ",{\"kind\":\"tv\",\"weight\":\"1\"}]}");
  opt_fails(E, "objective[0]: batch 1 out of range -1..0", NULL, "{\"objective\":{\"kind\":\"tv\",\"batch\":1}}");
  opt_fails(E, "objective[0]: batch -2 out of range -1..3", NULL,
            "{\"batch\":4,\"objective\":{\"kind\":\"layer\",\"layer\":0,\"batch\":-2}}");
  opt_fails(E, "objective[0]: channel 64 out of range: layer \"" L8 "\" has channels 0..63", L8,
            "{\"objective\":{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":64}}");
  opt_fails(E, "objective[0]: channel -1 out of range: ", "0..63",
            "{\"objective\":{\"kind\":\"neuron\",\"layer\":\"" L8 "\",\"channel\":-1}}");
  opt_fails(E, "channel 1.5 out of range", NULL, "{\"objective\":{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":1.5}}");
  opt_fails(E, "objective[0]: channel2 64 out of range: ", "0..63",
            "{\"batch\":2,\"objective\":{\"kind\":\"interp\",\"layer\":\"" L8 "\",\"channel\":1,\"channel2\":64}}");
  opt_fails(E, "objective[0]: x 4096 out of range -1..4095", NULL,
            "{\"objective\":{\"kind\":\"neuron\",\"layer\":\"" L8 "\",\"channel\":1,\"x\":4096}}");
  opt_fails(E, "objective[0]: y -2 out of range -1..4095", NULL,
            "{\"objective\":{\"kind\":\"neuron\",\"layer\":\"" L8 "\",\"channel\":1,\"y\":-2}}");
  opt_fails(E, "objective[0]: constant 1.5 out of range 0..1", NULL, "{\"objective\":[{\"kind\":\"l1\",\"constant\":1.5}," TERM "]}");
  opt_fails(E, "objective[0]: cossim_pow -1 out of range 0..16", NULL,
            "{\"objective\":{\"kind\":\"direction\",\"layer\":0,\"direction_seed\":1,\"cossim_pow\":-1}}");
  opt_fails(E, "objective[0]: direction_seed -1 out of range 0..2147483647", NULL,
            "{\"objective\":{\"kind\":\"direction\",\"layer\":0,\"direction_seed\":-1}}");
  opt_fails(E, "objective[0]: class 1001 out of range 0..1000", NULL, "{\"objective\":{\"kind\":\"class\",\"class\":1001}}");
  opt_fails(E, "objective[0]: class -1 out of range 0..1000", NULL, "{\"objective\":{\"kind\":\"class\",\"class\":-1}}");
  opt_fails(E, "objective[0]: class \"cat\": no class names are known here; give the output index", NULL,
            "{\"objective\":{\"kind\":\"class\",\"class\":\"cat\"}}");
  opt_fails(E, "objective[0]: \"class\" must be a number", NULL, "{\"objective\":{\"kind\":\"class\",\"class\":[1]}}");
  opt_fails(E, "missing \"class\"", NULL, "{\"objective\":{\"kind\":\"class\"}}");
  opt_fails(E, "missing \"channel\"", NULL, "{\"objective\":{\"kind\":\"channel\",\"layer\":0}}");
  opt_fails(E, "missing \"channel2\"", NULL, "{\"batch\":2,\"objective\":{\"kind\":\"interp\",\"layer\":0,\"channel\":0}}");
  opt_fails(E, "missing \"layer\"", NULL, "{\"objective\":{\"kind\":\"layer\"}}");
  opt_fails(E, "missing \"kind\"", NULL, "{\"objective\":{\"layer\":0}}");
  opt_fails(E, "\"kind\" must be a string", NULL, "{\"objective\":{\"kind\":3}}");
  opt_fails(E, "unknown kind \"neurons\"", NULL, "{\"objective\":{\"kind\":\"neurons\"}}");
  opt_fails(E, "objective term 1: diversity compares the images of a batch", NULL,
            "{\"objective\":{\"kind\":\"diversity\",\"layer\":0}}");
  opt_fails(E, "objective[0]: a term must be an object or an expression string", NULL, "{\"objective\":[3]}");
  opt_fails(E, "\"objective\" must be an expression, a term object or an array", NULL, "{\"objective\":3}");
  opt_fails(E, "objective at 8: expected ':' and a channel after the layer \"channel\"", NULL, "{\"objective\":\"channel\"}");

  /* terms that compare the images of a batch, and diversity, need a batch */
  opt_fails(E, "objective term 1: interpolate compares the images of a batch: it needs \"batch\" >= 2", NULL,
            "{\"objective\":{\"kind\":\"interp\",\"layer\":0,\"channel\":0,\"channel2\":1}}");
  opt_fails(E, "objective term 2: alignment compares the images of a batch", NULL,
            "{\"objective\":[" TERM ",{\"kind\":\"alignment\",\"layer\":0}]}");
  opt_fails(E, "objective term 1: batch 0: alignment takes the whole batch", NULL,
            "{\"batch\":2,\"objective\":{\"kind\":\"alignment\",\"layer\":0,\"batch\":0}}");
  opt_fails(E, "diversity compares the images of a batch", NULL, "{\"diversity\":0.5,\"objective\":" TERM "}");

  /* unknown keys, at the top and in terms (a key of another kind is unknown too) */
  opt_fails(E, "unknown key \"sizee\"", NULL, "{\"sizee\":128,\"objective\":" TERM "}");
  opt_fails(E, "unknown key \"Size\"", NULL, "{\"Size\":128,\"objective\":" TERM "}");
  opt_fails(E, "unknown key \"size\\x00\"", NULL, "{\"size\\u0000\":128,\"objective\":" TERM "}");
  opt_fails(E, "objective[0]: unknown key \"chanel\" for kind \"channel\"", NULL,
            "{\"objective\":{\"kind\":\"channel\",\"layer\":0,\"chanel\":1}}");
  opt_fails(E, "unknown key \"layer\" for kind \"tv\"", NULL, "{\"objective\":[" TERM ",{\"kind\":\"tv\",\"layer\":0}]}");
  opt_fails(E, "unknown key \"x\" for kind \"channel\"", NULL,
            "{\"objective\":{\"kind\":\"channel\",\"layer\":0,\"channel\":1,\"x\":1}}");
  opt_fails(E, "unknown key \"layer\" for kind \"class\"", NULL, "{\"objective\":{\"kind\":\"class\",\"class\":1,\"layer\":0}}");
  /* fuzz finding: a direction term with an unknown key read past its kind's key list (6 keys, no NULL) */
  opt_fails(E, "objective[0]: unknown key \"directio n_seed\" for kind \"direction\"", NULL,
            "{\"batch\":3,\"objective\":[{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"directio n_seed\":42,\"cossim_pow\":2}]}");

  /* layers */
  const fv_status U = FV_ERR_UNKNOWN_LAYER;
  opt_fails(U, "objective[0]: unknown layer \"foo\"", NULL, "{\"objective\":{\"kind\":\"layer\",\"layer\":\"foo\"}}");
  opt_fails(U, "unknown layer \"MobilenetV2/Conv/Relu6\\x00x\"", NULL, /* no prefix match through a NUL */
            "{\"objective\":{\"kind\":\"layer\",\"layer\":\"MobilenetV2/Conv/Relu6\\u0000x\"}}");
  opt_fails(U, "layer 66 out of range 0..65", NULL, "{\"objective\":{\"kind\":\"layer\",\"layer\":66}}");
  opt_fails(U, "layer -1 out of range 0..65", NULL, "{\"objective\":{\"kind\":\"layer\",\"layer\":-1}}");
  opt_fails(U, "layer 1.5 out of range", NULL, "{\"objective\":{\"kind\":\"layer\",\"layer\":1.5}}");
  opt_fails(E, "\"layer\" must be a layer name or index", NULL, "{\"objective\":{\"kind\":\"layer\",\"layer\":[0]}}");
  opt_fails(U, "unknown layer \"bar\" in diversity_layer", NULL, "{\"objective\":" TERM ",\"diversity_layer\":\"bar\"}");
  opt_fails(U, "diversity_layer 99 out of range", NULL, "{\"objective\":" TERM ",\"diversity_layer\":99}");

  /* no objective */
  opt_fails(E, "no objective", NULL, "{}");
  opt_fails(E, "no objective", NULL, "{\"objective\":[]}");
  opt_fails(E, "no objective", NULL, "{\"objective\":[{\"kind\":\"tv\"},{\"kind\":\"l1\"},{\"kind\":\"blur\"}]}");
  opt_fails(E, "no objective", NULL, "{\"objective\":{\"kind\":\"l2\",\"constant\":0}}");
  /* too many terms */
  char many[8192] = "{\"objective\":[";
  for (int i = 0; i <= FV_MAX_TERMS; i++) strcat(many, i ? "," TERM : TERM);
  strcat(many, "]}");
  opt_fails(E, "objective has 33 terms; at most 32", NULL, "%s", many);

  /* JSON errors come through, and the root must be an object */
  opt_fails(E, "JSON: expected ',' or '}' at byte 11", NULL, "{\"size\":12 \"batch\":1}");
  opt_fails(E, "JSON: duplicate key \"size\"", NULL, "{\"size\":12,\"size\":13,\"objective\":" TERM "}");
  opt_fails(E, "options must be a JSON object", NULL, "[" TERM "]");
  opt_fails(E, "JSON: empty input", NULL, "%s", "");

  /* no model */
  fv_render_opts o;
  fv_error err = {0};
  CHECK(fv_options_parse("{}", 2, NULL, &o, &err) == FV_ERR_BAD_ARG && strstr(err.msg, "no model"), "no model");
  /* err may be NULL */
  CHECK(fv_options_parse("{", 1, M, &o, NULL) == FV_ERR_BAD_ARG, "NULL err");
  const char *ul = "{\"objective\":{\"kind\":\"layer\",\"layer\":\"x\"}}";
  CHECK(fv_options_parse(ul, strlen(ul), M, &o, NULL) == FV_ERR_UNKNOWN_LAYER, "NULL err keeps the status");
}

static double norm2(const float *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)v[i] * v[i];
  return sqrt(s);
}

static void test_class_and_direction(void) {
  fv_render_opts o, p;
  fv_error err = {0};
  /* class → channel on the logits (the softmax's input) */
  if (opt_ok(&o, "{\"objective\":[{\"kind\":\"class\",\"class\":1000,\"weight\":2},{\"kind\":\"class\",\"class\":0}]}")) {
    CHECK(o.terms[0].kind == FV_OBJ_CHANNEL && o.terms[0].layer == logits && o.terms[0].channel == 1000 &&
              o.terms[0].weight == 2.0f && o.terms[1].channel == 0,
          "class term: kind %d layer %d channel %d", o.terms[0].kind, o.terms[0].layer, o.terms[0].channel);
    char *js = fv_options_to_json(&o, M);
    CHECK(js && strstr(js, "\"objective\":\"2*class(1000) + class(0)\""), "class written back: %s", js ? js : "");
    free(js);
    fv_options_free(&o);
  }

  /* explicit direction: exact length, entries checked, all-zero refused */
  char dir[8192];
  size_t k = (size_t)sprintf(dir, "{\"objective\":{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"direction\":[");
  for (int i = 0; i < 64; i++) k += (size_t)sprintf(dir + k, "%s%d.5", i ? "," : "", i - 32);
  sprintf(dir + k, "],\"cossim_pow\":2}}");
  if (opt_ok(&o, "%s", dir)) {
    CHECK(o.terms[0].kind == FV_OBJ_DIRECTION && o.terms[0].direction_len == 64 && o.terms[0].direction &&
              o.terms[0].direction[0] == -32.5f && o.terms[0].direction[63] == 31.5f && o.terms[0].cossim_pow == 2.0f &&
              o.src[0].n_parts == 1 && o.src[0].parts[0].kind == FV_PART_VALUES,
          "explicit direction");
    fv_options_free(&o);
    CHECK(o.n_terms == 0 && o.terms[0].direction == NULL, "free resets");
  }
  k = (size_t)sprintf(dir, "{\"objective\":{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"direction\":[");
  for (int i = 0; i < 63; i++) k += (size_t)sprintf(dir + k, "%s1", i ? "," : "");
  sprintf(dir + k, "]}}");
  opt_fails(FV_ERR_BAD_ARG, "objective[0]: direction has 63 entries", "has 64 channels", "%s", dir);
  sprintf(dir + k, ",0,0]}}");
  opt_fails(FV_ERR_BAD_ARG, "direction has 65 entries", NULL, "%s", dir);
  sprintf(dir + k, ",1e39]}}");
  opt_fails(FV_ERR_BAD_ARG, "objective[0]: direction[63] 1e39 out of range", NULL, "%s", dir);
  sprintf(dir + k, ",\"1\"]}}");
  opt_fails(FV_ERR_BAD_ARG, "\"direction[63]\" must be a number", NULL, "%s", dir);
  k = (size_t)sprintf(dir, "{\"objective\":{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"direction\":[");
  for (int i = 0; i < 64; i++) k += (size_t)sprintf(dir + k, "%s%s", i ? "," : "", i & 1 ? "-0" : "0.0");
  sprintf(dir + k, "]}}");
  opt_fails(FV_ERR_BAD_ARG, "all zeros", NULL, "%s", dir);
  opt_fails(FV_ERR_BAD_ARG, "give one of \"direction\", \"direction_seed\", \"photo\" and \"unit\"", NULL,
            "{\"objective\":{\"kind\":\"direction\",\"layer\":0,\"direction\":[1],\"direction_seed\":1}}");
  opt_fails(FV_ERR_BAD_ARG, "missing \"direction\"", NULL, "{\"objective\":{\"kind\":\"direction\",\"layer\":0}}");
  opt_fails(FV_ERR_BAD_ARG, "objective[0]: unit 64 out of range: layer \"" L8 "\" has channels 0..63", NULL,
            "{\"objective\":{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"unit\":64}}");
  opt_fails(FV_ERR_BAD_ARG, "\"direction\" must be an array", NULL,
            "{\"objective\":{\"kind\":\"direction\",\"layer\":0,\"direction\":1}}");
  /* a direction allocated, then a later term fails: nothing leaks (LeakSanitizer watches) */
  opt_fails(FV_ERR_BAD_ARG, "objective[1]: channel 64", NULL,
            "{\"objective\":[{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"direction_seed\":5},"
            "{\"kind\":\"channel\",\"layer\":\"" L8 "\",\"channel\":64}]}");
  opt_fails(FV_ERR_UNKNOWN_LAYER, "diversity_layer", NULL,
            "{\"objective\":[{\"kind\":\"direction\",\"layer\":\"" L8 "\",\"direction_seed\":5}],\"diversity_layer\":\"q\"}");

  /* direction_seed: a unit vector of length C, the same for the same seed */
  const char *seeded = "{\"objective\":[{\"kind\":\"direction\",\"layer\":%d,\"direction_seed\":%d},"
                       "{\"kind\":\"direction\",\"layer\":61,\"direction_seed\":%d}]}";
  if (opt_ok(&o, seeded, l8, 42, 42) && opt_ok(&p, seeded, l8, 42, 43)) {
    CHECK(o.terms[0].direction_len == 64 && o.terms[1].direction_len == 1280, "lengths 64 and 1280 (Conv_1)");
    CHECK(o.src[0].parts[0].kind == FV_PART_RANDOM && o.src[0].parts[0].arg == 42 && o.src[1].parts[0].arg == 42 &&
              p.src[1].parts[0].arg == 43, "seeds recorded");
    CHECK(fabs(norm2(o.terms[0].direction, 64) - 1) < 1e-6, "unit: |v| = %.9f", norm2(o.terms[0].direction, 64));
    CHECK(fabs(norm2(o.terms[1].direction, 1280) - 1) < 1e-6, "unit: |v| = %.9f", norm2(o.terms[1].direction, 1280));
    CHECK(memcmp(o.terms[0].direction, p.terms[0].direction, 64 * sizeof(float)) == 0, "same seed, same vector");
    CHECK(memcmp(o.terms[1].direction, p.terms[1].direction, 64 * sizeof(float)) != 0, "another seed, another vector");
    /* roughly Gaussian before normalizing: mean ≈ 0, and no single axis dominates */
    double mean = 0, maxabs = 0;
    for (int i = 0; i < 1280; i++) {
      mean += o.terms[1].direction[i];
      if (fabs(o.terms[1].direction[i]) > maxabs) maxabs = fabs(o.terms[1].direction[i]);
    }
    mean /= 1280;
    /* entries ~ N(0, 1/1280): σ ≈ 0.028, the mean's σ ≈ 0.0008 */
    CHECK(fabs(mean) < 0.005 && maxabs < 0.15 && maxabs > 0.05, "spread: mean %g max %g", mean, maxabs);
    fv_options_free(&p);
    fv_options_free(&o);
  }
  (void)err;
}

/* ==== canonical JSON round trip ========================================================== */

static int same_opts(const fv_render_opts *a, const fv_render_opts *b) {
  int ok = a->size == b->size && a->batch == b->batch && a->steps == b->steps && fbits(a->lr) == fbits(b->lr) &&
           a->seed == b->seed && a->param == b->param && a->decorrelate == b->decorrelate &&
           fbits(a->decay_power) == fbits(b->decay_power) && a->transforms == b->transforms &&
           a->redirect_steps == b->redirect_steps && a->n_terms == b->n_terms && a->n_photos == b->n_photos &&
           a->alpha == b->alpha && fbits(a->alpha_blur) == fbits(b->alpha_blur) && a->cppn_size == b->cppn_size &&
           a->shared == b->shared;
  for (int i = 0; ok && i < a->n_terms; i++) {
    const fv_obj_term *s = &a->terms[i], *t = &b->terms[i];
    ok = s->kind == t->kind && fbits(s->weight) == fbits(t->weight) && s->layer == t->layer &&
         s->channel == t->channel && s->channel2 == t->channel2 && s->x == t->x && s->y == t->y &&
         s->batch == t->batch && s->direction_len == t->direction_len && fbits(s->cossim_pow) == fbits(t->cossim_pow) &&
         fbits(s->constant) == fbits(t->constant) && a->src[i].n_parts == b->src[i].n_parts &&
         a->src[i].is_class == b->src[i].is_class && a->src[i].photo == b->src[i].photo &&
         (s->direction == NULL) == (t->direction == NULL);
    for (int k = 0; ok && k < a->src[i].n_parts; k++)
      ok = a->src[i].parts[k].kind == b->src[i].parts[k].kind && a->src[i].parts[k].arg == b->src[i].parts[k].arg &&
           fbits(a->src[i].parts[k].weight) == fbits(b->src[i].parts[k].weight);
    for (int k = 0; ok && s->direction && k < s->direction_len; k++) ok = fbits(s->direction[k]) == fbits(t->direction[k]);
  }
  return ok;
}

static void round_trip(const char *json, const char *what) {
  fv_render_opts a, b;
  fv_error err = {0};
  if (fv_options_parse(json, strlen(json), M, &a, &err) != FV_OK) {
    CHECK(0, "%s: refused: %s", what, err.msg);
    return;
  }
  char *c1 = fv_options_to_json(&a, M);
  CHECK(c1 != NULL, "%s: to_json", what);
  if (!c1) {
    fv_options_free(&a);
    return;
  }
  CHECK(strncmp(c1, "{\"size\":", 8) == 0, "%s: canonical starts with size", what);
  fv_status st = fv_options_parse(c1, strlen(c1), M, &b, &err);
  CHECK(st == FV_OK, "%s: canonical refused: %s\n%.300s", what, err.msg, c1);
  if (st == FV_OK) {
    CHECK(same_opts(&a, &b), "%s: parse(to_json(o)) != o\n%.300s", what, c1);
    char *c2 = fv_options_to_json(&b, M);
    CHECK(c2 && strcmp(c1, c2) == 0, "%s: canonical JSON is a fixed point", what);
    free(c2);
    fv_options_free(&b);
  }
  free(c1);
  fv_options_free(&a);
}

static void test_round_trip(void) {
  round_trip("{\"objective\":" TERM "}", "minimal");
  round_trip("{\"size\":8,\"batch\":64,\"steps\":100000,\"lr\":0.001,\"seed\":123456789012345,\"param\":\"pixel\","
             "\"decorrelate\":false,\"decay_power\":0.75,\"transforms\":\"none\",\"redirect_steps\":0,"
             "\"objective\":[{\"kind\":\"neuron\",\"layer\":3,\"channel\":95,\"x\":0,\"y\":4095,\"weight\":-1e-45,\"batch\":63},"
             "{\"kind\":\"layer\",\"layer\":\"MobilenetV2/Conv_1/Relu6\",\"weight\":3.4028234663852886e38},"
             "{\"kind\":\"class\",\"class\":409,\"batch\":0},"
             "{\"kind\":\"direction\",\"layer\":0,\"direction_seed\":2147483647,\"cossim_pow\":16},"
             "{\"kind\":\"interp\",\"layer\":9,\"channel\":0,\"channel2\":23},"
             "{\"kind\":\"alignment\",\"layer\":\"" L8 "\",\"weight\":-0},"
             "{\"kind\":\"l1\",\"constant\":0},{\"kind\":\"l2\",\"constant\":1},{\"kind\":\"tv\",\"weight\":0.1},"
             "{\"kind\":\"blur\",\"weight\":1e-3}],\"diversity\":0.3333333333333333,\"diversity_layer\":64}",
             "every kind");

  /* random options, with explicit directions from random float bit patterns */
  check_seed(99);
  static char js[65536];
  for (int it = 0; it < 150; it++) {
    int n = 0;
    n += sprintf(js + n, "{\"size\":%d,\"lr\":%.17g,\"seed\":%u,\"decay_power\":%.17g,\"batch\":%d,\"objective\":[",
                 check_int(8, 1024), (double)check_uniform(1e-6f, 10.0f), check_u32(), (double)check_uniform(0, 4),
                 check_int(2, 64)); /* diversity > 0 needs a batch of 2 */
    int terms = check_int(1, 4);
    for (int t = 0; t < terms; t++) {
      int layer = check_int(0, 65);
      int C = fv_model_layer_dim(M, layer, 3);
      if (t) n += sprintf(js + n, ",");
      switch (check_int(0, 3)) {
        case 0:
          n += sprintf(js + n, "{\"kind\":\"channel\",\"layer\":%d,\"channel\":%d,\"weight\":%.17g}", layer,
                       check_int(0, C - 1), (double)check_uniform(-100, 100));
          break;
        case 1:
          n += sprintf(js + n, "{\"kind\":\"direction\",\"layer\":%d,\"direction_seed\":%d}", layer, check_int(0, 1 << 30));
          break;
        case 2:
          if (C <= 384) { /* keep the JSON small: explicit vectors only on narrow layers */
            n += sprintf(js + n, "{\"kind\":\"direction\",\"layer\":%d,\"direction\":[", layer);
            for (int i = 0; i < C; i++) {
              float f;
              do {
                uint32_t u = check_u32();
                memcpy(&f, &u, 4);
              } while (!isfinite(f));
              if (i == 0) f = 1.0f; /* never all zeros */
              n += sprintf(js + n, "%s%.17g", i ? "," : "", (double)f);
            }
            n += sprintf(js + n, "]}");
            break;
          }
          /* fall through */
        default:
          n += sprintf(js + n, "{\"kind\":\"neuron\",\"layer\":%d,\"channel\":%d,\"x\":%d}", layer, check_int(0, C - 1),
                       check_int(-1, 100));
      }
    }
    n += sprintf(js + n, "],\"diversity\":%.17g}", (double)check_uniform(0, 5));
    round_trip(js, "random");
  }
}

/* the parameterizations' keys (issue 12): ranges, what needs what, written only when on */
static void test_param_keys(void) {
  fv_render_opts o;
  if (opt_ok(&o, "{\"objective\":" TERM "}")) {
    char *c = fv_options_to_json(&o, M);
    CHECK(c && !strstr(c, "alpha") && !strstr(c, "cppn_size") && !strstr(c, "shared"), "off: no new keys (old manifests keep their bytes): %s", c);
    free(c);
    fv_options_free(&o);
  }
  if (opt_ok(&o, "{\"param\":\"cppn\",\"objective\":" TERM "}")) {
    CHECK(o.param == FV_PARAM_CPPN && o.lr == 0.005f, "cppn: Adam at 0.005 by default (%g)", (double)o.lr);
    fv_options_free(&o);
  }
  if (opt_ok(&o, "{\"lr\":0.1,\"param\":\"cppn\",\"cppn_size\":512,\"alpha\":true,\"objective\":" TERM "}")) {
    CHECK(o.lr == 0.1f && o.cppn_size == 512 && o.alpha && o.alpha_blur == 0.1f, "cppn: lr given, cppn_size, alpha (blur 0.1)");
    fv_options_free(&o);
  }
  if (opt_ok(&o, "{\"param\":\"laplacian\",\"shared\":true,\"batch\":3,\"objective\":" TERM "}")) {
    CHECK(o.param == FV_PARAM_LAPLACIAN && o.shared && o.lr == 0.05f, "laplacian, shared");
    fv_options_free(&o);
  }
  opt_fails(FV_ERR_BAD_ARG, "alpha_blur", "needs", "{\"alpha_blur\":1,\"objective\":" TERM "}");
  opt_fails(FV_ERR_BAD_ARG, "alpha_blur", "0..1000", "{\"alpha\":true,\"alpha_blur\":-1,\"objective\":" TERM "}");
  opt_fails(FV_ERR_BAD_ARG, "alpha", NULL, "{\"alpha\":1,\"objective\":" TERM "}");
  opt_fails(FV_ERR_BAD_ARG, "cppn_size", "needs", "{\"cppn_size\":512,\"objective\":" TERM "}");
  opt_fails(FV_ERR_BAD_ARG, "cppn_size", NULL, "{\"param\":\"cppn\",\"cppn_size\":5000,\"objective\":" TERM "}");
  opt_fails(FV_ERR_BAD_ARG, "shared", "cppn", "{\"param\":\"cppn\",\"shared\":true,\"objective\":" TERM "}");
  round_trip("{\"param\":\"cppn\",\"cppn_size\":300,\"alpha\":true,\"alpha_blur\":2.5,\"objective\":" TERM "}", "cppn alpha");
  round_trip("{\"param\":\"laplacian\",\"shared\":true,\"batch\":4,\"objective\":\"interpolate(" L8 ", 1, 2)\"}", "laplacian shared");
}

int main(void) {
  test_json_valid();
  test_json_invalid();
  test_json_large();
  test_json_writer();

  M = check_store_model("mobilenet_v2_1.0_224_quant.tflite");
  if (M) {
    l8 = fv_model_layer_find(M, L8);
    logits = fv_model_layer_find(M, LOGITS);
    CHECK(l8 >= 0 && fv_model_layer_dim(M, l8, 3) == 64, "layer " L8 " with 64 channels");
    CHECK(logits >= 0 && fv_model_layer_dim(M, logits, 3) == 1001, "logits " LOGITS " with 1001 classes");
    CHECK(fv_model_layer_count(M) == 66, "66 layers");
    test_defaults();
    test_range_errors();
    test_class_and_direction();
    test_round_trip();
    test_param_keys();
    fv_model_free(M);
  }
  return check_summary("options");
}
