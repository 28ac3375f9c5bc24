/* onnx_test.c — the protobuf reader (src/protobuf.c) and the ONNX loader
 * (src/onnx_proto.c, src/onnx_fold.c, src/onnx.c).
 *
 *  1. The wire format: varints at their limits, every wire type, lengths
 *     past the end, packed and unpacked repeated fields, groups refused.
 *  2. Hand-built models (a protobuf writer below, independent of the
 *     reader): Conv weights permuted to [OC,KH,KW,IC] (depthwise and grouped
 *     too), a Gemm after a spatial Flatten whose weights make the engine's
 *     NHWC product equal the NCHW one, BatchNormalization folded into the
 *     Conv before it (and as a scale and shift where there is none), torch's
 *     shape arithmetic (Shape → Gather → Unsqueeze → Concat → Reshape)
 *     folded, DequantizeLinear per axis folded, a channel shuffle as three
 *     NHWC ops, Split, Slice, Pad, Transpose, Softmax, ReduceMean axes, QDQ
 *     activations, image metadata and labels — each against values the test
 *     computes itself from the arrays it wrote.
 *  3. Refusals with their messages: an unsupported op and attribute, a cycle,
 *     a tensor read before it is made, a 2^31 dimension, a negative pad, an
 *     initializer shorter than its shape, two inputs, an activation and
 *     weights over what a tab holds.
 *  4. The store's GoogLeNet files: structure, input description, the int8
 *     weights within half a quantization step of the float ones; then
 *     truncations and byte flips (run under ASan/UBSan natively): each load
 *     fails with a code and a message or gives a sane model.
 */
#include "check.h"
#include "model.h"
#include "protobuf.h"

/* attribute literals name their leading fields only */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ==== a protobuf writer ====================================================== */
typedef struct {
  uint8_t *b;
  size_t n, cap;
} pb;

static void pb_bytes(pb *w, const void *p, size_t n) {
  if (w->n + n > w->cap) {
    w->cap = (w->n + n) * 2 + 64;
    w->b = (uint8_t *)realloc(w->b, w->cap);
  }
  memcpy(w->b + w->n, p, n);
  w->n += n;
}
static void pb_varint(pb *w, uint64_t v) {
  uint8_t t[10];
  int k = 0;
  do {
    t[k] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) t[k] |= 0x80;
    k++;
  } while (v);
  pb_bytes(w, t, (size_t)k);
}
static void pb_tag(pb *w, int field, int wire) { pb_varint(w, (uint64_t)field << 3 | (uint64_t)wire); }
static void pb_int(pb *w, int field, int64_t v) {
  pb_tag(w, field, 0);
  pb_varint(w, (uint64_t)v);
}
static void pb_float(pb *w, int field, float f) {
  pb_tag(w, field, 5);
  pb_bytes(w, &f, 4);
}
static void pb_len(pb *w, int field, const void *p, size_t n) {
  pb_tag(w, field, 2);
  pb_varint(w, n);
  pb_bytes(w, p, n);
}
static void pb_str(pb *w, int field, const char *s) { pb_len(w, field, s, strlen(s)); }
static void pb_msg(pb *w, int field, pb *sub) { /* embeds and frees sub */
  pb_len(w, field, sub->b, sub->n);
  free(sub->b);
  memset(sub, 0, sizeof *sub);
}
static void pb_packed_ints(pb *w, int field, const int64_t *v, int n) {
  pb p = {0};
  for (int k = 0; k < n; k++) pb_varint(&p, (uint64_t)v[k]);
  pb_len(w, field, p.b ? p.b : (uint8_t *)"", p.n);
  free(p.b);
}

/* ---- ONNX messages ---- */
enum { F32 = 1, U8 = 2, I8 = 3, I32 = 6, I64 = 7 };

/* TensorProto: name, dims, type and raw little-endian data (bytes = count × size). */
static void t_raw(pb *w, int field, const char *name, int type, int rank, const int64_t *dims, const void *data,
                  size_t bytes) {
  pb t = {0};
  for (int k = 0; k < rank; k++) pb_int(&t, 1, dims[k]);
  pb_int(&t, 2, type);
  pb_str(&t, 8, name);
  pb_len(&t, 9, data ? data : "", bytes);
  pb_msg(w, field, &t);
}
static void init_f32(pb *g, const char *name, int rank, const int64_t *dims, const float *v) {
  int64_t n = 1;
  for (int k = 0; k < rank; k++) n *= dims[k];
  t_raw(g, 5, name, F32, rank, dims, v, (size_t)n * 4);
}
static void init_i64(pb *g, const char *name, int n, const int64_t *v) {
  int64_t d = n;
  t_raw(g, 5, name, I64, 1, &d, v, (size_t)n * 8);
}

typedef struct {
  const char *name;
  int type;          /* 'i' int, 'f' float, 's' string, 'I' ints, 'F' floats */
  int64_t i;
  float f;
  const char *s;
  int n;
  const int64_t *ints;
  const float *floats;
} attr;

static void node(pb *g, const char *op, const char *name, int n_in, const char *const *in, int n_out,
                 const char *const *out, int n_attr, const attr *at) {
  pb nd = {0};
  for (int k = 0; k < n_in; k++) pb_str(&nd, 1, in[k]);
  for (int k = 0; k < n_out; k++) pb_str(&nd, 2, out[k]);
  pb_str(&nd, 3, name);
  pb_str(&nd, 4, op);
  for (int k = 0; k < n_attr; k++) {
    pb a = {0};
    pb_str(&a, 1, at[k].name);
    switch (at[k].type) {
      case 'i': pb_int(&a, 3, at[k].i), pb_int(&a, 20, 2); break;
      case 'f': pb_float(&a, 2, at[k].f), pb_int(&a, 20, 1); break;
      case 's': pb_str(&a, 4, at[k].s), pb_int(&a, 20, 3); break;
      case 'I': pb_packed_ints(&a, 8, at[k].ints, at[k].n), pb_int(&a, 20, 7); break;
      default: /* 'F', unpacked on purpose: both forms must read */
        for (int j = 0; j < at[k].n; j++) pb_float(&a, 7, at[k].floats[j]);
        pb_int(&a, 20, 6);
        break;
    }
    pb_msg(&nd, 5, &a);
  }
  pb_msg(g, 1, &nd);
}
#define NODE(g, op, name, IN, OUT, ...)                                                                      \
  do {                                                                                                       \
    const char *in_[] = IN, *out_[] = OUT;                                                                   \
    const attr at_[] = {{0}, __VA_ARGS__};                                                                   \
    node(g, op, name, (int)(sizeof in_ / sizeof *in_), in_, (int)(sizeof out_ / sizeof *out_), out_,        \
         (int)(sizeof at_ / sizeof *at_) - 1, at_ + 1);                                                      \
  } while (0)
#define L(...) {__VA_ARGS__}

/* ValueInfoProto of a float tensor (dims < 0: a symbolic dim). */
static void value(pb *g, int field, const char *name, int rank, const int64_t *dims) {
  pb v = {0}, t = {0}, tt = {0}, sh = {0};
  for (int k = 0; k < rank; k++) {
    pb d = {0};
    if (dims[k] >= 0) pb_int(&d, 1, dims[k]);
    else pb_str(&d, 2, "N");
    pb_msg(&sh, 1, &d);
  }
  pb_int(&tt, 1, F32);
  pb_msg(&tt, 2, &sh);
  pb_msg(&t, 1, &tt);
  pb_str(&v, 1, name);
  pb_msg(&v, 2, &t);
  pb_msg(g, field, &v);
}

/* `onnx_test --write-seeds DIR`: every model built here is also written to DIR (the fuzzer's seeds). */
static const char *seed_dir;
static int seed_count;

static void write_seed(const uint8_t *b, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/built_%03d.onnx", seed_dir, seed_count++);
  FILE *f = fopen(path, "wb");
  if (f) fwrite(b, 1, n, f), fclose(f);
}

/* ModelProto around graph g (freed), opset 13 unless given; meta: key, value pairs. */
static uint8_t *model_of(pb *g, int opset, const char *const *meta, int n_meta, size_t *len) {
  pb m = {0}, os = {0};
  pb_int(&m, 1, 7);
  pb_str(&m, 2, "onnx_test");
  pb_msg(&m, 7, g);
  pb_str(&os, 1, "");
  pb_int(&os, 2, opset ? opset : 13);
  pb_msg(&m, 8, &os);
  for (int k = 0; k < n_meta; k++) {
    pb e = {0};
    pb_str(&e, 1, meta[2 * k]);
    pb_str(&e, 2, meta[2 * k + 1]);
    pb_msg(&m, 14, &e);
  }
  *len = m.n;
  if (seed_dir) write_seed(m.b, m.n);
  return m.b;
}

static fv_model *load_graph(pb *g, int opset, fv_error *e) {
  size_t n;
  uint8_t *b = model_of(g, opset, NULL, 0, &n);
  fv_model *m = fv_model_load(b, n, e);
  free(b);
  return m;
}

static void expect_refusal(pb *g, int opset, int code, const char *want, const char *what) {
  fv_error e;
  fv_model *m = load_graph(g, opset, &e);
  CHECK(!m && e.code == code && strstr(e.msg, want), "%s: %s code %d '%s' (want %d '%s')", what,
        m ? "loaded" : "refused", e.code, e.msg, code, want);
  fv_model_free(m);
}

static int layer(const fv_model *m, const char *name) { return fv_model_layer_find(m, name); }
static const fv_op *op_of(const fv_model *m, const char *name) {
  int i = layer(m, name);
  return i >= 0 ? &m->ops[i] : NULL;
}
static const fv_tensor *w_of(const fv_model *m, const fv_op *op, int k) {
  return op && op->n_inputs > k && op->inputs[k] >= 0 ? &m->tensors[op->inputs[k]] : NULL;
}

/* ==== 1. the wire format ======================================================== */
static void test_wire(void) {
  fv_pb r;
  fv_pb_field f;
  /* a 10-byte varint (2^64 − 1), then the 11-byte one that is too long */
  const uint8_t max[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  fv_pb_init(&r, max, sizeof max);
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && f.num == 1 && f.wire == FV_PB_VARINT && f.v == UINT64_MAX, "10-byte varint");
  CHECK(fv_pb_next(&r, &f) == FV_PB_END, "end after it");
  const uint8_t over[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  fv_pb_init(&r, over, sizeof over);
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD && r.why, "a varint past 64 bits");
  const uint8_t longer[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  fv_pb_init(&r, longer, sizeof longer);
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD, "an 11-byte varint");
  const uint8_t cut[] = {0x08, 0x80};
  fv_pb_init(&r, cut, sizeof cut);
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD && r.pos == 0, "a truncated varint, reported at its field");
  /* fixed32, fixed64, a length-delimited field, then one whose length runs past the end */
  const uint8_t mix[] = {0x15, 0x00, 0x00, 0x80, 0x3f, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 0x02, 'h', 'i', 0x2a, 0x05, 'x'};
  fv_pb_init(&r, mix, sizeof mix);
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && f.num == 2 && f.wire == FV_PB_I32 && fv_pb_float(f.v) == 1.0f, "fixed32");
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && f.num == 3 && f.wire == FV_PB_I64 && f.v == 0x0807060504030201ull, "fixed64");
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && f.num == 4 && f.len == 2 && memcmp(f.data, "hi", 2) == 0, "bytes");
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD && r.pos == 18, "a length past the end, at byte %zu", r.pos);
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD, "stays bad");
  const uint8_t group[] = {0x0b, 0x0c};
  fv_pb_init(&r, group, sizeof group);
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD, "groups are refused");
  const uint8_t zero[] = {0x00, 0x01};
  fv_pb_init(&r, zero, sizeof zero);
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD, "field number 0");
  const uint8_t trunc32[] = {0x15, 0x00, 0x00};
  fv_pb_init(&r, trunc32, sizeof trunc32);
  CHECK(fv_pb_next(&r, &f) == FV_PB_BAD, "a truncated fixed32");
  fv_pb_init(&r, NULL, 5);
  CHECK(fv_pb_next(&r, &f) == FV_PB_END, "no bytes");
  /* packed: three varints, one of them negative (10 bytes), and floats */
  pb w = {0};
  const int64_t iv[3] = {1, -2, 300};
  pb_packed_ints(&w, 8, iv, 3);
  float fv[2] = {0.5f, -3};
  pb_len(&w, 7, fv, 8);
  pb_int(&w, 8, 7); /* the same field unpacked */
  fv_pb_init(&r, w.b, w.n);
  fv_pb_values it;
  uint64_t v;
  int64_t got[4];
  int k = 0;
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && fv_pb_values_count(&f, FV_PB_VARINT) == 3, "packed varint count");
  fv_pb_values_init(&it, &f, FV_PB_VARINT);
  while (fv_pb_values_next(&it, &v) == FV_PB_FIELD && k < 4) got[k++] = fv_pb_int64(v);
  CHECK(k == 3 && got[0] == 1 && got[1] == -2 && got[2] == 300, "packed varints");
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && fv_pb_values_count(&f, FV_PB_I32) == 2, "packed floats");
  fv_pb_values_init(&it, &f, FV_PB_I32);
  CHECK(fv_pb_values_next(&it, &v) == FV_PB_FIELD && fv_pb_float(v) == 0.5f && fv_pb_values_next(&it, &v) == FV_PB_FIELD &&
            fv_pb_float(v) == -3.0f && fv_pb_values_next(&it, &v) == FV_PB_END,
        "packed float values");
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && fv_pb_values_count(&f, FV_PB_VARINT) == 1 &&
            fv_pb_values_init(&it, &f, FV_PB_VARINT) && fv_pb_values_next(&it, &v) == FV_PB_FIELD && v == 7,
        "an unpacked element");
  CHECK(!fv_pb_values_init(&it, &f, FV_PB_I32) && fv_pb_values_count(&f, FV_PB_I32) == -1, "a varint is not a float");
  free(w.b);
  const uint8_t badpack[] = {0x42, 0x02, 0x01, 0x80};
  fv_pb_init(&r, badpack, sizeof badpack);
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && fv_pb_values_count(&f, FV_PB_VARINT) == -1, "a packed varint cut short");
  const uint8_t badf[] = {0x3a, 0x03, 0, 0, 0};
  fv_pb_init(&r, badf, sizeof badf);
  CHECK(fv_pb_next(&r, &f) == FV_PB_FIELD && fv_pb_values_count(&f, FV_PB_I32) == -1, "3 bytes of packed floats");
}

/* ==== 2. lowering ================================================================ */
static float frand(void) { return check_uniform(-1, 1); }

/* Conv [OC,IC/g,KH,KW] → CONV_2D [OC,KH,KW,IC/g] or DEPTHWISE [1,KH,KW,OC]; strides, pads, groups. */
static void test_conv(void) {
  for (int variant = 0; variant < 3; variant++) { /* ordinary, depthwise (multiplier 2), grouped */
    const int ic = variant == 2 ? 4 : 3, g = variant == 0 ? 1 : variant == 1 ? 3 : 2, oc = variant == 1 ? 6 : 4;
    const int icg = ic / g, kh = 3, kw = 2;
    float w[6 * 4 * 3 * 2], b[6];
    for (int k = 0; k < oc * icg * kh * kw; k++) w[k] = frand();
    for (int k = 0; k < oc; k++) b[k] = frand();
    pb gr = {0};
    float pre[6 * 3];
    for (int k = 0; k < ic * 3; k++) pre[k] = frand();
    NODE(&gr, "Conv", "pre", L("in", "pw"), L("x"));
    init_f32(&gr, "pw", 4, (int64_t[]){ic, 3, 1, 1}, pre);
    NODE(&gr, "Conv", "conv", L("x", "w", "b"), L("y"), {"group", 'i', g}, {"strides", 'I', .n = 2, .ints = (int64_t[]){2, 1}},
         {"pads", 'I', .n = 4, .ints = (int64_t[]){1, 0, 1, 1}}, {"kernel_shape", 'I', .n = 2, .ints = (int64_t[]){kh, kw}});
    init_f32(&gr, "w", 4, (int64_t[]){oc, icg, kh, kw}, w);
    init_f32(&gr, "b", 1, (int64_t[]){oc}, b);
    value(&gr, 11, "in", 4, (int64_t[]){1, 3, 8, 7});
    value(&gr, 12, "y", 4, (int64_t[]){1, oc, 4, 7});
    fv_error e;
    fv_model *m = load_graph(&gr, 13, &e);
    CHECK(m, "conv %d loads: %s", variant, e.msg);
    if (!m) continue;
    const fv_op *op = op_of(m, "y");
    const fv_tensor *W = w_of(m, op, 1), *B = w_of(m, op, 2);
    CHECK(op && op->kind == (variant == 1 ? FV_OP_DWCONV2D : FV_OP_CONV2D) && m->n_ops == 2, "conv %d kind", variant);
    CHECK(op && op->padding == FV_PADDING_EXPLICIT && op->pad_t == 1 && op->pad_l == 0 && op->pad_b == 1 &&
              op->pad_r == 1 && op->stride_h == 2 && op->stride_w == 1,
          "conv %d pads and strides", variant);
    CHECK(op && (variant != 2 || op->groups == 2) && (variant != 1 || op->depth_mult == 2), "conv %d groups", variant);
    CHECK(fv_model_layer_dim(m, 1, 1) == 4 && fv_model_layer_dim(m, 1, 2) == 7 && fv_model_layer_dim(m, 1, 3) == oc,
          "conv %d output NHWC 4x7x%d", variant, oc);
    int bad = !W || !B;
    for (int o = 0; !bad && o < oc; o++) {
      bad |= B->data[o] != b[o];
      for (int i = 0; i < icg; i++)
        for (int y = 0; y < kh; y++)
          for (int x = 0; x < kw; x++) {
            float want = w[((o * icg + i) * kh + y) * kw + x];
            float got = variant == 1 ? W->data[(y * kw + x) * oc + o] : W->data[((o * kh + y) * kw + x) * icg + i];
            bad |= got != want;
          }
    }
    CHECK(!bad, "conv %d weights permuted exactly", variant);
    CHECK(strcmp(fv_model_layer_op(m, 1), "Conv") == 0 && strcmp(fv_model_layer_name(m, 1), "y") == 0, "conv %d names", variant);
    fv_model_free(m);
  }
}

/* Conv → Flatten → Gemm: the engine's FC over NHWC order must equal ONNX's Gemm over NCHW order. */
static void test_flatten_gemm(void) {
  const int C = 3, H = 2, W = 4, K = C * H * W, O = 5;
  float w1[3 * 3], gw[5 * 24], gb[5];
  for (int k = 0; k < 9; k++) w1[k] = frand();
  for (int k = 0; k < O * K; k++) gw[k] = frand();
  for (int k = 0; k < O; k++) gb[k] = frand();
  for (int transB = 0; transB < 2; transB++) {
    pb g = {0};
    NODE(&g, "Conv", "c", L("x", "w1"), L("a"));
    NODE(&g, "Flatten", "f", L("a"), L("flat"), {"axis", 'i', 1});
    NODE(&g, "Gemm", "fc", L("flat", "gw", "gb"), L("y"), {"transB", 'i', transB}, {"alpha", 'f', .f = 0.5f});
    init_f32(&g, "w1", 4, (int64_t[]){3, 3, 1, 1}, w1);
    float bt[24 * 5];
    for (int o = 0; o < O; o++)
      for (int k = 0; k < K; k++) bt[k * O + o] = gw[o * K + k];
    init_f32(&g, "gw", 2, transB ? (int64_t[]){O, K} : (int64_t[]){K, O}, transB ? gw : bt);
    init_f32(&g, "gb", 1, (int64_t[]){O}, gb);
    value(&g, 11, "x", 4, (int64_t[]){1, 3, H, W});
    value(&g, 12, "y", 2, (int64_t[]){1, O});
    fv_error e;
    fv_model *m = load_graph(&g, 13, &e);
    CHECK(m, "flatten+gemm loads: %s", e.msg);
    if (!m) continue;
    const fv_op *fc = op_of(m, "y");
    const fv_tensor *E = w_of(m, fc, 1), *EB = w_of(m, fc, 2);
    CHECK(fc && fc->kind == FV_OP_FULLY_CONNECTED && E && E->dims[0] == O && E->dims[1] == K, "FC [5,24]");
    CHECK(op_of(m, "flat") && op_of(m, "flat")->kind == FV_OP_RESHAPE && m->n_ops == 3, "flatten is a relabel, no transpose");
    /* a random map a[c,h,w]: ONNX gives alpha·gw·flat_nchw(a) + gb; the engine E·flat_nhwc(a) + EB */
    float a[24];
    for (int k = 0; k < K; k++) a[k] = frand();
    double worst = 0;
    for (int o = 0; E && EB && o < O; o++) {
      double ref = gb[o], got = EB->data[o];
      for (int c = 0; c < C; c++)
        for (int h = 0; h < H; h++)
          for (int x = 0; x < W; x++) {
            ref += 0.5 * gw[o * K + (c * H + h) * W + x] * a[(c * H + h) * W + x];
            got += E->data[o * K + (h * W + x) * C + c] * a[(c * H + h) * W + x];
          }
      worst = fmax(worst, fabs(ref - got));
    }
    CHECK(E && worst < 1e-6, "transB %d: FC over NHWC equals Gemm over NCHW (worst %g)", transB, worst);
    fv_model_free(m);
  }
}

/* Conv → BatchNormalization: folded (weights ×s, bias (b − mean)·s + beta); a BN after a ReLU:
 * a 1×1 depthwise scale and shift. */
static void test_batchnorm(void) {
  float w[2 * 3 * 3 * 3], b[2] = {0.25f, -1}, gamma[2] = {1.5f, 0.5f}, beta[2] = {0.1f, -0.2f}, mean[2] = {0.3f, -0.4f},
                            var[2] = {0.8f, 2.0f};
  for (int k = 0; k < 54; k++) w[k] = frand();
  pb g = {0};
  NODE(&g, "Conv", "c", L("x", "w", "b"), L("pre"), {"pads", 'I', .n = 4, .ints = (int64_t[]){1, 1, 1, 1}});
  NODE(&g, "BatchNormalization", "bn", L("pre", "gamma", "beta", "mean", "var"), L("bn_out"), {"epsilon", 'f', .f = 1e-3f});
  NODE(&g, "Relu", "r", L("bn_out"), L("relu"));
  NODE(&g, "BatchNormalization", "bn2", L("relu", "gamma", "beta", "mean", "var"), L("y"));
  init_f32(&g, "w", 4, (int64_t[]){2, 3, 3, 3}, w);
  init_f32(&g, "b", 1, (int64_t[]){2}, b);
  init_f32(&g, "gamma", 1, (int64_t[]){2}, gamma);
  init_f32(&g, "beta", 1, (int64_t[]){2}, beta);
  init_f32(&g, "mean", 1, (int64_t[]){2}, mean);
  init_f32(&g, "var", 1, (int64_t[]){2}, var);
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 5, 5});
  value(&g, 12, "y", 4, (int64_t[]){1, 2, 5, 5});
  fv_error e;
  fv_model *m = load_graph(&g, 13, &e);
  CHECK(m, "batchnorm model loads: %s", e.msg);
  if (!m) return;
  CHECK(m->n_ops == 3 && layer(m, "pre") < 0 && layer(m, "bn_out") == 0, "the BN folded into the conv: 3 layers");
  const fv_op *c = op_of(m, "bn_out");
  const fv_tensor *W = w_of(m, c, 1), *B = w_of(m, c, 2);
  int bad = !c || c->kind != FV_OP_CONV2D || strcmp(c->src_op, "Conv+BatchNormalization") != 0;
  for (int o = 0; !bad && o < 2; o++) {
    double s = gamma[o] / sqrt((double)var[o] + 1e-3f);
    bad |= fabs(B->data[o] - ((b[o] - mean[o]) * s + beta[o])) > 1e-6;
    for (int i = 0; i < 3; i++)
      for (int p = 0; p < 9; p++) bad |= fabs(W->data[(o * 9 + p) * 3 + i] - w[(o * 3 + i) * 9 + p] * s) > 1e-6;
  }
  CHECK(!bad, "folded weights and bias");
  const fv_op *d = op_of(m, "y");
  const fv_tensor *S = w_of(m, d, 1), *T = w_of(m, d, 2);
  bad = !d || d->kind != FV_OP_DWCONV2D || !S || S->dims[1] != 1 || S->dims[2] != 1 || S->dims[3] != 2;
  for (int o = 0; !bad && o < 2; o++) {
    double s = gamma[o] / sqrt((double)var[o] + 1e-5f);
    bad |= fabs(S->data[o] - s) > 1e-6 || fabs(T->data[o] - (beta[o] - mean[o] * s)) > 1e-6;
  }
  CHECK(!bad, "BN after a ReLU: a 1x1 depthwise scale and shift");
  fv_model_free(m);
}

/* torch's shape arithmetic: Shape → Gather → Unsqueeze → Concat (with a constant) → Reshape. */
static void test_shape_folding(void) {
  pb g = {0};
  NODE(&g, "Relu", "r", L("x"), L("a"));
  NODE(&g, "Shape", "s", L("a"), L("shape"));
  NODE(&g, "Constant", "k0", L(), L("zero"), {"value_int", 'i', 0});
  NODE(&g, "Gather", "gat", L("shape", "zero"), L("n"), {"axis", 'i', 0});
  NODE(&g, "Unsqueeze", "u", L("n", "axes0"), L("n1"));
  NODE(&g, "Concat", "cat", L("n1", "minus1"), L("target"), {"axis", 'i', 0});
  NODE(&g, "Reshape", "resh", L("a", "target"), L("y"));
  init_i64(&g, "axes0", 1, (int64_t[]){0});
  init_i64(&g, "minus1", 1, (int64_t[]){-1});
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 1, 1});
  value(&g, 12, "y", 2, (int64_t[]){1, 3});
  fv_error e;
  fv_model *m = load_graph(&g, 13, &e);
  CHECK(m, "shape arithmetic loads: %s", e.msg);
  if (m) {
    const fv_op *r = op_of(m, "y");
    CHECK(m->n_ops == 2 && r && r->kind == FV_OP_RESHAPE && r->new_rank == 2 && r->new_shape[1] == 3 &&
              m->tensors[r->output].rank == 2,
          "folded to one RESHAPE [1,3] after the ReLU (%d ops)", m->n_ops);
    CHECK(!m->fixed_size[0], "no fixed size");
  }
  fv_model_free(m);
}

/* DequantizeLinear on weights: int8 per axis (axis 0) and uint8 per tensor, folded. */
static void test_dequantize(void) {
  const int8_t q[2 * 3] = {-128, 0, 127, 5, -5, 1};
  const float scale[2] = {0.5f, 0.03125f};
  const int8_t zp[2] = {0, -3};
  const uint8_t bq[2] = {10, 250};
  const float bs = 0.25f;
  const uint8_t bz = 128;
  pb g = {0};
  NODE(&g, "DequantizeLinear", "dqw", L("wq", "ws", "wz"), L("w"), {"axis", 'i', 0});
  NODE(&g, "DequantizeLinear", "dqb", L("bq", "bs", "bz"), L("b"));
  NODE(&g, "Conv", "c", L("x", "w", "b"), L("y"));
  t_raw(&g, 5, "wq", I8, 4, (int64_t[]){2, 3, 1, 1}, q, 6);
  init_f32(&g, "ws", 1, (int64_t[]){2}, scale);
  t_raw(&g, 5, "wz", I8, 1, (int64_t[]){2}, zp, 2);
  t_raw(&g, 5, "bq", U8, 1, (int64_t[]){2}, bq, 2);
  init_f32(&g, "bs", 0, NULL, &bs);
  t_raw(&g, 5, "bz", U8, 0, NULL, &bz, 1);
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 2, 2});
  value(&g, 12, "y", 4, (int64_t[]){1, 2, 2, 2});
  fv_error e;
  fv_model *m = load_graph(&g, 13, &e);
  CHECK(m, "dequantized weights load: %s", e.msg);
  if (!m) return;
  const fv_op *c = op_of(m, "y");
  const fv_tensor *W = w_of(m, c, 1), *B = w_of(m, c, 2);
  int bad = !W || !B || m->n_ops != 1;
  for (int o = 0; !bad && o < 2; o++)
    for (int i = 0; i < 3; i++) bad |= W->data[o * 3 + i] != (float)((q[o * 3 + i] - zp[o]) * (double)scale[o]);
  CHECK(!bad, "per-axis int8 weights: (q - zp)·scale exactly");
  CHECK(B && B->data[0] == (10 - 128) * 0.25f && B->data[1] == (250 - 128) * 0.25f, "per-tensor uint8 bias");
  fv_model_free(m);
}

/* A channel shuffle: Reshape [N,g,C/g,H,W] → Transpose [0,2,1,3,4] → Reshape [N,C,H,W]. */
static void test_shuffle(void) {
  pb g = {0};
  float w6[18];
  for (int k = 0; k < 18; k++) w6[k] = frand();
  NODE(&g, "Conv", "c", L("x", "w6"), L("a"));
  init_f32(&g, "w6", 4, (int64_t[]){6, 3, 1, 1}, w6);
  NODE(&g, "Reshape", "r5", L("a", "s5"), L("a5"));
  NODE(&g, "Transpose", "t5", L("a5"), L("b5"), {"perm", 'I', .n = 5, .ints = (int64_t[]){0, 2, 1, 3, 4}});
  NODE(&g, "Reshape", "r4", L("b5", "s4"), L("y"));
  init_i64(&g, "s5", 5, (int64_t[]){1, 2, 3, 4, 5});
  init_i64(&g, "s4", 4, (int64_t[]){1, -1, 4, 5});
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 4, 5});
  value(&g, 12, "y", 4, (int64_t[]){1, 6, 4, 5});
  fv_error e;
  fv_model *m = load_graph(&g, 13, &e);
  CHECK(m, "channel shuffle loads: %s", e.msg);
  if (!m) return;
  const fv_op *r1 = op_of(m, "a5"), *t = op_of(m, "b5"), *r2 = op_of(m, "y");
  CHECK(m->n_ops == 4 && r1 && t && r2, "three ops after the conv");
  CHECK(r1 && r1->kind == FV_OP_RESHAPE && r1->new_rank == 4 && r1->new_shape[1] == -1 && r1->new_shape[2] == 2 &&
            r1->new_shape[3] == 3,
        "RESHAPE [1,-1,2,3]");
  CHECK(t && t->kind == FV_OP_TRANSPOSE && t->perm[0] == 0 && t->perm[1] == 1 && t->perm[2] == 3 && t->perm[3] == 2,
        "TRANSPOSE [0,1,3,2]");
  CHECK(r2 && r2->kind == FV_OP_RESHAPE && r2->new_rank == 0 && r2->n_inputs == 2 && r2->inputs[1] == op_of(m, "a")->output,
        "RESHAPE like the shuffle's input");
  /* the permutation the three ops make on NHWC channels equals ONNX's on NCHW ones */
  int ok = 1;
  for (int c = 0; c < 6; c++) { /* ONNX: y[j*2 + i] = x[i*3 + j] (g 2, C/g 3) */
    int i = c % 2, j = c / 2, src_onnx = i * 3 + j;
    /* engine: x channel s = gi*3 + gj viewed [g=2][3] → transposed [3][2]: position gj*2 + gi */
    int gi = src_onnx / 3, gj = src_onnx % 3;
    ok &= gj * 2 + gi == c;
  }
  CHECK(ok, "the shuffle's channel order");
  fv_model_free(m);
}

/* Split (equal and sized), Slice on channels and on H (fixed size), Pad, Transpose, Concat with a
 * ROW constant, Softmax over the last axis, ReduceMean keepdims 0, QDQ activations, Clip, Div by a constant. */
static void test_more_ops(void) {
  pb g = {0};
  NODE(&g, "Split", "sp", L("x", "sizes"), L("s0", "s1"), {"axis", 'i', 1});
  NODE(&g, "QuantizeLinear", "q", L("s0", "qs", "qz"), L("s0q"));
  NODE(&g, "DequantizeLinear", "dq", L("s0q", "qs", "qz"), L("s0d"));
  NODE(&g, "Clip", "clip", L("s0d", "lo", "hi"), L("c6"));
  NODE(&g, "Pad", "pad", L("c6", "pads", "pv"), L("p"));
  NODE(&g, "Slice", "sl", L("p", "st", "en", "ax"), L("cut"));
  NODE(&g, "Div", "div", L("cut", "two"), L("half"));
  NODE(&g, "ReduceMean", "rm", L("half"), L("m2"), {"axes", 'I', .n = 2, .ints = (int64_t[]){2, 3}}, {"keepdims", 'i', 0});
  NODE(&g, "Softmax", "sm", L("m2"), L("y"), {"axis", 'i', -1});
  init_i64(&g, "sizes", 2, (int64_t[]){1, 2});
  float qs = 0.1f, lo = 0, hi = 6, pv = -1, two = 2;
  uint8_t qz = 128;
  init_f32(&g, "qs", 0, NULL, &qs);
  t_raw(&g, 5, "qz", U8, 0, NULL, &qz, 1);
  init_f32(&g, "lo", 0, NULL, &lo);
  init_f32(&g, "hi", 0, NULL, &hi);
  init_i64(&g, "pads", 8, (int64_t[]){0, 0, 1, 2, 0, 0, 3, 4});
  init_f32(&g, "pv", 0, NULL, &pv);
  init_i64(&g, "st", 1, (int64_t[]){1});
  init_i64(&g, "en", 1, (int64_t[]){INT64_MAX});
  init_i64(&g, "ax", 1, (int64_t[]){2});
  init_f32(&g, "two", 1, (int64_t[]){1}, &two);
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 4, 4});
  value(&g, 12, "y", 2, (int64_t[]){1, 1});
  fv_error e;
  fv_model *m = load_graph(&g, 13, &e);
  CHECK(m, "mixed ops load: %s", e.msg);
  if (!m) return;
  const fv_op *s0 = op_of(m, "s0"), *s1 = op_of(m, "s1"), *c6 = op_of(m, "c6"), *p = op_of(m, "p"), *cut = op_of(m, "cut");
  CHECK(s0 && s0->kind == FV_OP_SLICE && s0->begin[3] == 0 && s0->size[3] == 1 && s0->size[1] == -1 && s0->size[2] == -1,
        "split 0: channel 0, H and W whole");
  CHECK(!s1, "split 1 is unused: pruned");
  CHECK(layer(m, "s0q") < 0 && layer(m, "s0d") < 0 && c6 && c6->inputs[0] == s0->output, "QDQ on an activation: an alias");
  CHECK(c6 && c6->kind == FV_OP_ACT && c6->act == FV_ACT_RELU6, "Clip 0..6 is RELU6");
  CHECK(p && p->kind == FV_OP_PAD && p->pads[1][0] == 1 && p->pads[1][1] == 3 && p->pads[2][0] == 2 && p->pads[2][1] == 4 &&
            p->pads[3][0] == 0 && p->pad_value == -1,
        "Pad: NCHW pads on NHWC axes, the value");
  CHECK(cut && cut->kind == FV_OP_SLICE && cut->begin[1] == 1 && cut->size[1] == 7 && cut->step[1] == 1 &&
            cut->size[2] == -1 && cut->size[3] == -1,
        "Slice of H: begin 1, 7 rows");
  CHECK(strstr(m->fixed_size, "Slice") != NULL, "a spatial slice fixes the size: '%s'", m->fixed_size);
  fv_error se;
  CHECK(fv_model_check_size(m, 4, 4, &se) == FV_OK && fv_model_check_size(m, 8, 8, &se) == FV_ERR_SHAPE &&
            strstr(se.msg, "native size 4x4"),
        "other sizes refused: %s", se.msg);
  const fv_op *mean = op_of(m, "m2"), *sm = op_of(m, "y"), *dv = op_of(m, "half");
  CHECK(dv && dv->kind == FV_OP_DIV && m->tensors[dv->inputs[1]].rank == 4 && m->tensors[dv->inputs[1]].data[0] == 2,
        "Div by a constant laid out rank 4");
  CHECK(mean && mean->kind == FV_OP_MEAN && mean->mean_axes == 6 && m->tensors[mean->output].rank == 2, "ReduceMean H,W → [N,C]");
  CHECK(sm && sm->kind == FV_OP_SOFTMAX && sm->output == m->output, "softmax last, the output");
  fv_model_free(m);
}

static void test_metadata(void) {
  const char *meta[] = {"Image.BitmapPixelFormat", "Bgr8", "Image.NominalPixelRange", "Normalized_1_1",
                        "labels", "zero\none\ntwo"};
  for (int variant = 0; variant < 3; variant++) {
    pb g = {0};
    NODE(&g, "GlobalAveragePool", "gap", L("x"), L("p"));
    NODE(&g, "Flatten", "f", L("p"), L("flat"));
    NODE(&g, "Gemm", "fc", L("flat", "w"), L("y"), {"transB", 'i', 1});
    float w[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    init_f32(&g, "w", 2, (int64_t[]){3, 3}, w);
    value(&g, 11, "x", 4, (int64_t[]){-1, 3, -1, -1});
    value(&g, 12, "y", 2, (int64_t[]){-1, 3});
    size_t n;
    uint8_t *b = model_of(&g, 13, variant == 2 ? NULL : meta, variant == 2 ? 0 : variant == 0 ? 3 : 1, &n);
    fv_error e;
    fv_model *m = fv_model_load(b, n, &e);
    free(b);
    CHECK(m, "metadata model %d loads: %s", variant, e.msg);
    if (!m) continue;
    CHECK(fv_model_input_dim(m, 0) == 1 && fv_model_input_dim(m, 1) == 224 && fv_model_input_dim(m, 2) == 224,
          "symbolic N,H,W → 1x224x224");
    if (variant == 0) {
      CHECK(fv_model_input_bgr(m) == 1 && fv_model_input_scale(m, 1) == 2.0f / 255 && fv_model_input_offset(m, 2) == -1 &&
                strcmp(fv_model_input_source(m), "onnx metadata") == 0,
            "Bgr8 + Normalized_1_1");
      CHECK(fv_model_labels(m) && strcmp(fv_model_labels(m), "zero\none\ntwo") == 0, "labels from metadata_props");
    } else { /* a pixel format alone does not say the range; nothing: torchvision's normalization, a guess */
      CHECK(fv_model_input_bgr(m) == 0 && fv_model_input_source(m)[0] == 0 && fabsf(fv_model_input_offset(m, 0) + 2.1179f) < 1e-4f &&
                fabsf(fv_model_input_scale(m, 2) - 1.0f / (255 * 0.225f)) < 1e-7f && !fv_model_labels(m),
            "variant %d: no description, the ImageNet guess", variant);
    }
    CHECK(fv_model_set_input(m, 1, 1, 1, 1, -104, -117, -123, "caffe", &e) == FV_OK && fv_model_input_bgr(m) == 1 &&
              fv_model_input_offset(m, 2) == -123 && strcmp(fv_model_input_source(m), "caffe") == 0,
          "set_input");
    CHECK(fv_model_set_input(m, 0, 0, 1, 1, 0, 0, 0, "zero", &e) == FV_ERR_BAD_ARG && strstr(e.msg, "scale") &&
              fv_model_input_bgr(m) == 1,
          "set_input refuses a zero scale and keeps the old: %s", e.msg);
    CHECK(fv_model_set_input(m, 2, 1, 1, 1, 0, 0, 0, "", &e) == FV_ERR_BAD_ARG, "bgr must be 0 or 1");
    fv_model_free(m);
  }
}

/* ==== 3. refusals ================================================================ */
static void small_input(pb *g) {
  value(g, 11, "x", 4, (int64_t[]){1, 3, 4, 4});
  value(g, 12, "y", 4, (int64_t[]){1, 3, 4, 4});
}

static void test_refusals(void) {
  pb g = {0};
  NODE(&g, "Relu", "r", L("x"), L("a"));
  NODE(&g, "Einsum", "/attn/Einsum", L("a", "a"), L("y"), {"equation", 's', .s = "ij,jk->ik"});
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_UNSUPPORTED, "unsupported ONNX op Einsum at node 1 \"/attn/Einsum\"", "Einsum");

  g = (pb){0};
  NODE(&g, "FusedConv", "fc1", L("x"), L("y"));
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_UNSUPPORTED, "unsupported ONNX op FusedConv at node 0 \"fc1\"", "unknown op");

  g = (pb){0};
  NODE(&g, "MaxPool", "mp", L("x"), L("y"), {"kernel_shape", 'I', .n = 2, .ints = (int64_t[]){2, 2}},
       {"dilations", 'I', .n = 2, .ints = (int64_t[]){2, 2}});
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_UNSUPPORTED, "node 0 \"mp\" (MaxPool): dilations 2x2 are not supported", "dilated pool");

  g = (pb){0};
  NODE(&g, "MaxPool", "mp", L("x"), L("y"), {"kernel_shape", 'I', .n = 2, .ints = (int64_t[]){2, 2}},
       {"strides", 'I', .n = 2, .ints = (int64_t[]){2, 2}}, {"auto_pad", 's', .s = "SAME_LOWER"});
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_UNSUPPORTED, "auto_pad SAME_LOWER is not supported", "SAME_LOWER with stride 2");

  g = (pb){0};
  NODE(&g, "Pad", "pd", L("x", "pads"), L("y"), {"mode", 's', .s = "reflect"});
  init_i64(&g, "pads", 8, (int64_t[]){0, 0, 1, 1, 0, 0, 1, 1});
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_UNSUPPORTED, "Pad mode reflect is not supported", "reflect pad");

  g = (pb){0};
  NODE(&g, "Pad", "pd", L("x", "pads"), L("y"));
  init_i64(&g, "pads", 8, (int64_t[]){0, 0, -1, 0, 0, 0, 0, 0});
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_UNSUPPORTED, "a negative pad", "negative Pad");

  g = (pb){0};
  NODE(&g, "Conv", "c", L("x", "w"), L("y"), {"pads", 'I', .n = 4, .ints = (int64_t[]){0, -1, 0, 0}});
  init_f32(&g, "w", 4, (int64_t[]){1, 3, 1, 1}, (float[]){1, 1, 1});
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "pads -1 is out of range", "negative conv pad");

  g = (pb){0}; /* a cycle: a ← b ← a */
  NODE(&g, "Relu", "r1", L("b"), L("a"));
  NODE(&g, "Relu", "r2", L("a"), L("b"));
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "node 0 \"r1\" (Relu): reads tensor 'b' before node 1 makes it", "a cycle");

  g = (pb){0};
  NODE(&g, "Relu", "r1", L("ghost"), L("y"));
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "reads tensor 'ghost', which no node, initializer or input makes", "an unknown tensor");

  g = (pb){0};
  NODE(&g, "Relu", "r1", L("x"), L("y"));
  NODE(&g, "Relu", "r2", L("x"), L("y"));
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "tensor 'y' is written twice", "SSA");

  g = (pb){0};
  NODE(&g, "Relu", "r1", L("x"), L("y"));
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 2147483648LL, 4});
  value(&g, 12, "y", 4, (int64_t[]){1, 3, 4, 4});
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "dimension 2 of size 2147483648", "a 2^31 input dimension");

  g = (pb){0};
  NODE(&g, "Conv", "c", L("x", "w"), L("y"));
  t_raw(&g, 5, "w", F32, 4, (int64_t[]){1, 3, 2147483648LL, 1}, NULL, 0);
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "initializer 0: initializer 'w' has dimension 2 of size 2147483648", "a 2^31 weight dimension");

  g = (pb){0};
  NODE(&g, "Conv", "c", L("x", "w"), L("y"));
  t_raw(&g, 5, "w", F32, 4, (int64_t[]){2, 3, 1, 1}, (float[]){1, 2, 3, 4, 5}, 20);
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "initializer 'w' holds 20 bytes; its shape of 6 FLOAT elements needs 24",
                 "an initializer shorter than its shape");

  g = (pb){0};
  NODE(&g, "Add", "add", L("x", "x2"), L("y"));
  small_input(&g);
  value(&g, 11, "x2", 4, (int64_t[]){1, 3, 4, 4});
  expect_refusal(&g, 13, FV_ERR_UNSUPPORTED, "the model has several inputs ('x', 'x2')", "two inputs");

  g = (pb){0}; /* an activation over what a tab holds, refused before anything is allocated */
  NODE(&g, "Relu", "r1", L("x"), L("y"));
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 8192, 8192});
  value(&g, 12, "y", 4, (int64_t[]){1, 3, 4, 4});
  expect_refusal(&g, 13, FV_ERR_NO_MEMORY, "activation 'x' needs 768 MB at the native size; the limit is 256 MB", "huge input");

  g = (pb){0};
  NODE(&g, "Relu", "r1", L("x"), L("y"));
  small_input(&g);
  expect_refusal(&g, 19, FV_ERR_UNSUPPORTED, "opset 19; featviz reads ONNX opsets 7 to 18", "opset 19");

  g = (pb){0};
  NODE(&g, "Softmax", "sm", L("x"), L("y"), {"axis", 'i', 1});
  small_input(&g);
  expect_refusal(&g, 11, FV_ERR_UNSUPPORTED, "a softmax over axis 1 of shape [1,3,4,4]", "old-opset softmax over C,H,W");

  g = (pb){0};
  NODE(&g, "Conv", "c", L("x", "w"), L("y"));
  float w27[27] = {0};
  init_f32(&g, "w", 4, (int64_t[]){1, 3, 3, 3}, w27);
  value(&g, 11, "x", 4, (int64_t[]){1, 3, 2, 2});
  value(&g, 12, "y", 4, (int64_t[]){1, 1, 1, 1});
  expect_refusal(&g, 13, FV_ERR_BAD_MODEL, "a 2x2 input is smaller than the 3x3 window", "window larger than the input");

  uint8_t junk[64];
  for (int k = 0; k < 64; k++) junk[k] = (uint8_t)(k * 37 + 11);
  junk[0] = 0x08; /* looks like ir_version, then garbage */
  fv_error e;
  fv_model *m = fv_model_load(junk, sizeof junk, &e);
  CHECK(!m && e.code == FV_ERR_BAD_MODEL && strstr(e.msg, "not an ONNX model"), "junk: %s", e.msg);
  fv_model_free(m);
}

/* A model whose weights are over what a tab holds: 105 M int8 values (420 MB as float32). Native only
 * (the wasm test would need the 105 MB twice in its memory). */
static void test_weights_limit(void) {
#ifndef __wasm__
  const size_t n = 105u << 20;
  uint8_t *q = (uint8_t *)calloc(n, 1);
  pb g = {0};
  NODE(&g, "Relu", "r1", L("x"), L("y"));
  t_raw(&g, 5, "big", I8, 2, (int64_t[]){105, 1 << 20}, q, n);
  free(q);
  small_input(&g);
  expect_refusal(&g, 13, FV_ERR_NO_MEMORY, "the model's weights need 420 MB as float32; the limit is 400 MB", "weights limit");
#endif
}

/* Findings of tests/fuzz/onnx_fuzz.c (tests/fuzz/README.md), replayed: each must load
 * cleanly (and, under ASan natively, without a leak). */
static const uint8_t FINDING_1[] = { /* a Gather folded into a result, then refused: the result leaked */
  0x08, 0x07, 0x12, 0x09, 0x6f, 0x6e, 0x6e, 0x78, 0x5f, 0x74, 0x65, 0x73,
  0x74, 0x3a, 0xc9, 0x02, 0x0a, 0x0f, 0x0a, 0x01, 0x78, 0x12, 0x01, 0x61,
  0x1a, 0x01, 0x72, 0x22, 0x04, 0x52, 0x65, 0x6c, 0x75, 0x0a, 0x14, 0x0a,
  0x01, 0x61, 0x12, 0x05, 0x73, 0x68, 0x61, 0x70, 0x65, 0x1a, 0x01, 0x73,
  0x22, 0x05, 0x53, 0x68, 0x61, 0x70, 0x65, 0x0a, 0x26, 0x12, 0x04, 0x7a,
  0x65, 0x72, 0x6f, 0x1a, 0x02, 0x6b, 0x30, 0x22, 0x08, 0x43, 0x6f, 0x6e,
  0x73, 0x74, 0x61, 0x6e, 0x74, 0x2a, 0x10, 0x0a, 0x09, 0x76, 0x61, 0x6c,
  0x75, 0x65, 0x5f, 0x69, 0x6e, 0x74, 0x18, 0x30, 0xa0, 0x01, 0x02, 0x0a,
  0x2a, 0x0a, 0x05, 0x73, 0x68, 0x61, 0x70, 0x65, 0x0a, 0x04, 0x7a, 0x65,
  0x72, 0x6f, 0x12, 0x01, 0x6e, 0x1a, 0x03, 0x67, 0x61, 0x74, 0x22, 0x06,
  0x47, 0x61, 0x74, 0x68, 0x65, 0x72, 0x2a, 0x0b, 0x0a, 0x04, 0x61, 0x78,
  0x69, 0x73, 0x18, 0x00, 0xa0, 0x01, 0x02, 0x0a, 0x1c, 0x0a, 0x01, 0x6e,
  0x0a, 0x05, 0x61, 0x78, 0x65, 0x73, 0x30, 0x12, 0x02, 0x6e, 0x31, 0x1a,
  0x01, 0x75, 0x22, 0x09, 0x55, 0x6e, 0x73, 0x71, 0x75, 0x65, 0x65, 0x7a,
  0x65, 0x0a, 0x2e, 0x0a, 0x02, 0x6e, 0x31, 0x0a, 0x06, 0x6d, 0x69, 0x6e,
  0x75, 0x73, 0x31, 0x12, 0x06, 0x74, 0x61, 0x72, 0x67, 0x65, 0x74, 0x1a,
  0x03, 0x63, 0x61, 0x74, 0x22, 0x06, 0x43, 0x6f, 0x6e, 0x63, 0x61, 0x74,
  0x2a, 0x0b, 0x0a, 0x04, 0x61, 0x78, 0x69, 0x73, 0x18, 0x00, 0xa0, 0x01,
  0x02, 0x0a, 0x1d, 0x0a, 0x01, 0x61, 0x0a, 0x06, 0x74, 0x61, 0x72, 0x67,
  0x65, 0x74, 0x12, 0x01, 0x79, 0x1a, 0x04, 0x72, 0x65, 0x73, 0x68, 0x22,
  0x07, 0x52, 0x65, 0x73, 0x43, 0x6f, 0x6e, 0x76, 0x2a, 0x15, 0x08, 0x01,
  0x10, 0x07, 0x42, 0x05, 0x61, 0x78, 0x65, 0x73, 0x30, 0x4a, 0x08, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf6, 0x2a, 0x16, 0x08, 0x01, 0x10,
  0x07, 0x42, 0x06, 0x6d, 0x69, 0x6e, 0x75, 0x73, 0x31, 0x4a, 0x08, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5a, 0x1b, 0x0a, 0x01, 0x78,
  0x12, 0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08, 0x01,
  0x0a, 0x02, 0x08, 0x03, 0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x01,
  0x62, 0x13, 0x0a, 0x01, 0x79, 0x12, 0x0e, 0x0a, 0x0c, 0x08, 0x01, 0x12,
  0x08, 0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x03, 0x42, 0x04, 0x0a,
  0x00, 0x10, 0x0d
};

static const uint8_t FINDING_2[] = { /* a Reshape target whose entries overflow int64 when multiplied */
  0x08, 0x07, 0x12, 0x09, 0x6f, 0x6e, 0x6e, 0x78, 0x5f, 0x74, 0x65, 0x73,
  0x74, 0x3a, 0xe8, 0x02, 0x0a, 0x13, 0x0a, 0x01, 0x78, 0x0a, 0x02, 0x77,
  0x36, 0x12, 0x01, 0x61, 0x1a, 0x01, 0x63, 0x22, 0x04, 0x43, 0x6f, 0x6e,
  0x76, 0x2a, 0x58, 0x08, 0x06, 0x08, 0x03, 0x08, 0x01, 0x08, 0x01, 0x10,
  0x01, 0x42, 0x02, 0x77, 0x36, 0x4a, 0x48, 0x64, 0x25, 0x89, 0xbe, 0x00,
  0xd8, 0xd0, 0x3a, 0xb6, 0xfd, 0x3c, 0xbf, 0xb6, 0xfe, 0x7a, 0x3f, 0x54,
  0x70, 0xb2, 0xbe, 0x70, 0x24, 0xe7, 0xbe, 0x3e, 0xc4, 0x20, 0x3f, 0x54,
  0xa3, 0xa9, 0x3e, 0x64, 0x2b, 0x66, 0x3f, 0x34, 0xb4, 0x17, 0x3f, 0xf8,
  0xaa, 0x2a, 0x3f, 0x9a, 0x5f, 0x7f, 0xbf, 0x24, 0xad, 0xce, 0x3e, 0x38,
  0xc4, 0xa5, 0x3e, 0xac, 0xda, 0x54, 0x3f, 0x20, 0x52, 0x18, 0x3e, 0xb2,
  0x96, 0x34, 0x3f, 0xe0, 0xeb, 0x0b, 0x3d, 0x0a, 0x18, 0x0a, 0x01, 0x61,
  0x0a, 0x02, 0x73, 0x35, 0x12, 0x02, 0x61, 0x35, 0x1a, 0x02, 0x72, 0x35,
  0x22, 0x07, 0x52, 0x65, 0x73, 0x68, 0x61, 0x70, 0x65, 0x0a, 0x29, 0x0a,
  0x02, 0x61, 0x35, 0x12, 0x02, 0x62, 0x35, 0x1a, 0x02, 0x74, 0x35, 0x22,
  0x09, 0x54, 0x72, 0x61, 0x6e, 0x73, 0x70, 0x6f, 0x73, 0x65, 0x2a, 0x10,
  0x0a, 0x04, 0x70, 0x65, 0x72, 0x6d, 0x42, 0x05, 0x00, 0x02, 0x01, 0x03,
  0x04, 0xa0, 0x01, 0x07, 0x0a, 0x18, 0x0a, 0x02, 0x62, 0x35, 0x0a, 0x02,
  0x73, 0x34, 0x12, 0x01, 0x79, 0x1a, 0x02, 0x72, 0x35, 0x22, 0x07, 0x52,
  0x65, 0x73, 0x68, 0x61, 0x70, 0x65, 0x2a, 0x32, 0x08, 0x05, 0x10, 0x07,
  0x42, 0x02, 0x73, 0x35, 0x4a, 0x28, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x2a,
  0x08, 0x04, 0x10, 0x07, 0x42, 0x02, 0x73, 0x34, 0x4a, 0x20, 0x01, 0x47,
  0x65, 0x6d, 0x6d, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x02, 0x73, 0x35,
  0x12, 0x02, 0x61, 0x35, 0x1a, 0x02, 0x72, 0x35, 0x22, 0x07, 0x52, 0x65,
  0x73, 0x68, 0x61, 0x00, 0x00, 0x00, 0x5a, 0x1b, 0x0a, 0x01, 0x78, 0x12,
  0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08, 0x01, 0x0a,
  0x02, 0x08, 0x03, 0x0a, 0x02, 0x08, 0x04, 0x0a, 0x02, 0x08, 0x05, 0x62,
  0x1b, 0x0a, 0x01, 0x79, 0x12, 0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10,
  0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x06, 0x0a, 0x02, 0x08, 0x04,
  0x0a, 0x02, 0x08, 0x05, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d
};
static const uint8_t FINDING_3[] = { /* a Reshape target whose entries overflow int64 when multiplied */
  0x08, 0x07, 0x12, 0x09, 0x6f, 0x6e, 0x6e, 0x78, 0x5f, 0x74, 0x65, 0x73,
  0x74, 0x3a, 0xe8, 0x02, 0x0a, 0x13, 0x0a, 0x01, 0x78, 0x0a, 0x02, 0x77,
  0x36, 0x12, 0x01, 0x61, 0x1a, 0x01, 0x63, 0x22, 0x04, 0x43, 0x6f, 0x6e,
  0x76, 0x2a, 0x58, 0x08, 0x06, 0x08, 0x03, 0x08, 0x01, 0x08, 0x01, 0x10,
  0x01, 0x42, 0x02, 0x77, 0x36, 0x4a, 0x48, 0x64, 0x25, 0x89, 0xbe, 0x00,
  0xd8, 0xd0, 0x3a, 0xb6, 0xfd, 0x3c, 0xbf, 0xb6, 0xfe, 0x7a, 0x3f, 0x54,
  0x70, 0xb2, 0xbe, 0x70, 0x24, 0xe7, 0xbe, 0x3e, 0xc4, 0x20, 0x3f, 0x54,
  0xa3, 0xa9, 0x3e, 0x64, 0x2b, 0x66, 0x3f, 0x34, 0xb4, 0x17, 0x3f, 0xf8,
  0xaa, 0x2a, 0x3f, 0x9a, 0x5f, 0x7f, 0xbf, 0x24, 0xad, 0xce, 0x3e, 0x38,
  0xc4, 0xa5, 0x3e, 0xac, 0xda, 0x54, 0x3f, 0x20, 0x52, 0x18, 0x3e, 0xb2,
  0x96, 0x34, 0x3f, 0xe0, 0xeb, 0x0b, 0x3d, 0x0a, 0x18, 0x0a, 0x01, 0x61,
  0x0a, 0x02, 0x73, 0x35, 0x12, 0x02, 0x61, 0x35, 0x1a, 0x02, 0x72, 0x35,
  0x22, 0x07, 0x52, 0x65, 0x73, 0x68, 0x61, 0x70, 0x65, 0x0a, 0x29, 0x0a,
  0x02, 0x61, 0x35, 0x12, 0x02, 0x62, 0x35, 0x1a, 0x02, 0x74, 0x35, 0x22,
  0x09, 0x54, 0x72, 0x61, 0x6e, 0x73, 0x70, 0x6f, 0x73, 0x65, 0x2a, 0x10,
  0x0a, 0x04, 0x70, 0x65, 0x72, 0x6d, 0x42, 0x05, 0x00, 0x02, 0x01, 0x03,
  0x04, 0xa0, 0x01, 0x07, 0x0a, 0x18, 0x0a, 0x02, 0x62, 0x35, 0x0a, 0x02,
  0x73, 0x34, 0x12, 0x01, 0x79, 0x1a, 0x02, 0x72, 0x34, 0x22, 0x07, 0x52,
  0x65, 0x73, 0x68, 0x61, 0x70, 0x65, 0x2a, 0x32, 0x08, 0x05, 0x10, 0x07,
  0x42, 0x02, 0x73, 0x35, 0x4a, 0x28, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x2a,
  0x08, 0x04, 0x10, 0x07, 0x42, 0x02, 0x73, 0x34, 0x4a, 0x20, 0x01, 0x00,
  0x00, 0x00, 0x61, 0x70, 0x65, 0x2a, 0x32, 0x08, 0xce, 0x3e, 0x38, 0xc4,
  0xa5, 0x3e, 0xac, 0xda, 0x54, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5a, 0x1b, 0x0a, 0x01, 0x78, 0x12,
  0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08, 0x01, 0x0a,
  0x02, 0x08, 0x03, 0x0a, 0x02, 0x08, 0x04, 0x0a, 0x02, 0x08, 0x05, 0x62,
  0x1b, 0x0a, 0x01, 0x79, 0x12, 0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10,
  0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x06, 0x0a, 0x02, 0x08, 0x04,
  0x0a, 0x02, 0x08, 0x05, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d
};
static const uint8_t FINDING_4[] = { /* a float shape constant of 9.2e18: converted to int64 without a range check */
  0x08, 0x07, 0x12, 0x09, 0x6f, 0x6e, 0x6e, 0x78, 0x5f, 0x74, 0x65, 0x73,
  0x74, 0x3a, 0xe8, 0x02, 0x0a, 0x13, 0x0a, 0x01, 0x78, 0x0a, 0x02, 0x77,
  0x36, 0x12, 0x01, 0x61, 0x1a, 0x01, 0x63, 0x22, 0x04, 0x43, 0x6f, 0x6e,
  0x76, 0x2a, 0x58, 0x08, 0x06, 0x08, 0x03, 0x08, 0x01, 0x08, 0x01, 0x10,
  0x01, 0x42, 0x02, 0x77, 0x36, 0x4a, 0x48, 0x64, 0x25, 0x89, 0xbe, 0x00,
  0xd8, 0xd0, 0x3a, 0xb6, 0xfd, 0x3c, 0xbf, 0xb6, 0xfe, 0x7a, 0x3f, 0x54,
  0x44, 0x72, 0x6f, 0x70, 0x6f, 0x75, 0x74, 0x3e, 0xc4, 0x20, 0x3f, 0x54,
  0xa3, 0xa9, 0x3e, 0x64, 0x2b, 0x66, 0x3f, 0x34, 0xb4, 0x17, 0x3f, 0xf8,
  0xaa, 0x2a, 0x3f, 0x9a, 0x5f, 0x7f, 0xbf, 0x24, 0xad, 0xce, 0x3e, 0x38,
  0xc4, 0xa5, 0x3e, 0xac, 0xda, 0x54, 0x3f, 0x20, 0x52, 0x18, 0x3e, 0xb2,
  0x96, 0x34, 0x3f, 0xe0, 0xeb, 0x0b, 0x3d, 0x0a, 0x18, 0x0a, 0x01, 0x61,
  0x0a, 0x02, 0x73, 0x34, 0x12, 0x02, 0x61, 0x35, 0x1a, 0x02, 0x72, 0x35,
  0x22, 0x07, 0x52, 0x65, 0x73, 0x68, 0x61, 0x70, 0x65, 0x0a, 0x29, 0x0a,
  0x02, 0x61, 0x35, 0x12, 0x02, 0x62, 0x35, 0x1a, 0x02, 0x74, 0x35, 0x22,
  0x09, 0x54, 0x72, 0x61, 0x6e, 0x73, 0x70, 0x6f, 0x73, 0x65, 0x2a, 0x10,
  0x0a, 0x04, 0x70, 0x65, 0x72, 0x6d, 0x42, 0x05, 0x00, 0x01, 0x01, 0x03,
  0x04, 0xa0, 0x01, 0x07, 0x0a, 0x18, 0x0a, 0x02, 0x62, 0x37, 0x0a, 0x02,
  0x73, 0x34, 0x12, 0x01, 0x79, 0x1a, 0x02, 0x72, 0x34, 0x22, 0x07, 0x52,
  0x65, 0x73, 0x6c, 0x61, 0x70, 0x65, 0x2a, 0x32, 0x08, 0x05, 0x10, 0x07,
  0x42, 0x02, 0x73, 0x35, 0x4a, 0x28, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x05, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x2a,
  0x08, 0x04, 0x10, 0x07, 0x42, 0x02, 0x73, 0x34, 0x4a, 0x20, 0x01, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0x7f, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5a, 0x1b, 0x0a, 0x01, 0x78, 0x12,
  0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08, 0x01, 0x0a,
  0x02, 0x08, 0x03, 0x0a, 0x02, 0x08, 0x04, 0x0a, 0x02, 0x08, 0x05, 0x62,
  0x1b, 0x0a, 0x01, 0x79, 0x12, 0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10,
  0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x06, 0x0a, 0x02, 0x08, 0x04,
  0x0a, 0x02, 0x08, 0x05, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d
};
static const uint8_t FINDING_5[] = { /* Split sizes that overflow int64 when added */
  0x08, 0x07, 0x12, 0x09, 0x6f, 0x6e, 0x6e, 0x78, 0x5f, 0x74, 0x65, 0x73,
  0x74, 0x3a, 0x8c, 0x05, 0x0a, 0x2a, 0x0a, 0x01, 0x78, 0x0a, 0x05, 0x73,
  0x69, 0x7a, 0x65, 0x73, 0x12, 0x02, 0x73, 0x30, 0x12, 0x02, 0x73, 0x27,
  0x1a, 0x02, 0x73, 0x70, 0x22, 0x05, 0x53, 0x70, 0x6c, 0x69, 0x74, 0x2a,
  0x0b, 0x0a, 0x04, 0x61, 0x78, 0x69, 0x73, 0x18, 0x01, 0xa0, 0x01, 0x02,
  0x0a, 0x24, 0x0a, 0x02, 0x73, 0x30, 0x0a, 0x02, 0x71, 0x73, 0x0a, 0x02,
  0x71, 0x7a, 0x12, 0x03, 0x73, 0x30, 0x71, 0x1a, 0x01, 0x71, 0x22, 0x0e,
  0x51, 0x75, 0x61, 0x6e, 0x74, 0x69, 0x7a, 0x65, 0x4c, 0x69, 0x6e, 0x65,
  0x61, 0x72, 0x0a, 0x28, 0x0a, 0x03, 0x73, 0x30, 0x71, 0x0a, 0x02, 0x71,
  0x73, 0x0a, 0x02, 0x71, 0x7a, 0x12, 0x03, 0x73, 0x30, 0x64, 0x1a, 0x02,
  0x64, 0x71, 0x22, 0x10, 0x44, 0x65, 0x71, 0x75, 0x61, 0x6e, 0x74, 0x69,
  0x7a, 0x65, 0x4c, 0x69, 0x6e, 0x65, 0x61, 0x72, 0x0a, 0x1d, 0x0a, 0x03,
  0x73, 0x30, 0x64, 0x0a, 0x02, 0x6c, 0x6f, 0x0a, 0x02, 0x68, 0x69, 0x12,
  0x02, 0x63, 0x36, 0x1a, 0x04, 0x63, 0x6c, 0x69, 0x70, 0x22, 0x04, 0x43,
  0x6c, 0x69, 0x70, 0x0a, 0x1b, 0x0a, 0x02, 0x63, 0x36, 0x0a, 0x04, 0x70,
  0x61, 0x64, 0x73, 0x0a, 0x02, 0x70, 0x76, 0x12, 0x01, 0x70, 0x1a, 0x03,
  0x70, 0x61, 0x64, 0x22, 0x03, 0x50, 0x61, 0x64, 0x0a, 0x1f, 0x0a, 0x01,
  0x70, 0x0a, 0x02, 0x73, 0x74, 0x0a, 0x02, 0x65, 0x6e, 0x0a, 0x02, 0x61,
  0x78, 0x12, 0x03, 0x63, 0x75, 0x74, 0x1a, 0x02, 0x73, 0x6c, 0x22, 0x05,
  0x53, 0x6c, 0x69, 0x63, 0x65, 0x0a, 0x1a, 0x0a, 0x03, 0x63, 0x75, 0x74,
  0x0a, 0x03, 0x74, 0x77, 0x6f, 0x12, 0x04, 0x68, 0x61, 0x6c, 0x66, 0x1a,
  0x03, 0x64, 0x69, 0x76, 0x22, 0x03, 0x44, 0x69, 0x76, 0x0a, 0x3a, 0x0a,
  0x04, 0x68, 0x61, 0x6c, 0x66, 0x12, 0x02, 0x6d, 0x32, 0x1a, 0x02, 0x72,
  0x6d, 0x22, 0x0a, 0x52, 0x65, 0x64, 0x75, 0x63, 0x65, 0x4d, 0x65, 0x61,
  0x6e, 0x2a, 0x0d, 0x0a, 0x04, 0x61, 0x78, 0x65, 0x73, 0x42, 0x02, 0x02,
  0x03, 0xa0, 0x01, 0x07, 0x2a, 0x0f, 0x0a, 0x08, 0x6b, 0x65, 0x65, 0x70,
  0x64, 0x69, 0x6d, 0x73, 0x18, 0x00, 0xa0, 0x01, 0x02, 0x0a, 0x2a, 0x0a,
  0x02, 0x6d, 0x32, 0x12, 0x01, 0x79, 0x1a, 0x02, 0x73, 0x6d, 0x22, 0x07,
  0x53, 0x6f, 0x66, 0x74, 0x6d, 0x61, 0x78, 0x2a, 0x14, 0x0a, 0x04, 0x61,
  0x78, 0x69, 0x73, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0x01, 0xa0, 0x01, 0x02, 0x2a, 0x1d, 0x08, 0x02, 0x10, 0x07, 0x42,
  0x05, 0x73, 0x69, 0x7a, 0x65, 0x73, 0x4a, 0x10, 0x01, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x55, 0x6e, 0x73, 0x71, 0x75, 0x65, 0x65, 0x7a, 0x65,
  0x2a, 0x0c, 0x10, 0x01, 0x42, 0x02, 0x71, 0x73, 0x4a, 0x04, 0xcd, 0xcc,
  0xcc, 0x3d, 0x2a, 0x09, 0x10, 0x02, 0x42, 0x02, 0x71, 0x7a, 0x4a, 0x01,
  0x80, 0x2a, 0x0c, 0x10, 0x01, 0x42, 0x02, 0x6c, 0x6f, 0x4a, 0x04, 0x00,
  0x00, 0x00, 0x00, 0x2a, 0x0c, 0x10, 0x01, 0x42, 0x02, 0x68, 0x69, 0x4a,
  0x04, 0x00, 0x40, 0xc0, 0x00, 0x2a, 0x4c, 0x08, 0x08, 0x10, 0x07, 0x42,
  0x04, 0x70, 0x61, 0x64, 0x73, 0x4a, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
  0x0c, 0x10, 0x01, 0x42, 0x02, 0x70, 0x76, 0x4a, 0x04, 0x00, 0x00, 0x80,
  0xbf, 0x2a, 0x12, 0x08, 0x01, 0x10, 0x07, 0x42, 0x02, 0x73, 0x74, 0x4a,
  0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x12, 0x08,
  0x01, 0x10, 0x07, 0x42, 0x02, 0x65, 0x6e, 0x4a, 0x08, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0x7f, 0x2a, 0x12, 0x08, 0x01, 0x10, 0x07, 0x42,
  0x02, 0x61, 0x78, 0x4a, 0x08, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x2a, 0x0f, 0x08, 0x01, 0x10, 0x01, 0x42, 0x03, 0x74, 0x77, 0x6f,
  0x4a, 0x04, 0x00, 0x00, 0x00, 0x40, 0x5a, 0x1b, 0x0a, 0x01, 0x78, 0x12,
  0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08, 0x01, 0x0a,
  0x02, 0x08, 0x03, 0x0a, 0x02, 0x08, 0x04, 0x0a, 0x02, 0x08, 0x04, 0x62,
  0x13, 0x0a, 0x01, 0x79, 0x60, 0x0e, 0x0a, 0x0c, 0x08, 0x01, 0x12, 0x08,
  0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x01, 0x42, 0x04, 0x0a, 0x00,
  0x10, 0x0d
};
static const uint8_t FINDING_6[] = { /* folding made an infinite weight, which the model kept */
  0x08, 0x07, 0x12, 0x09, 0x6f, 0x6e, 0x6e, 0x78, 0x5f, 0x74, 0x65, 0x73,
  0x74, 0x3a, 0xe1, 0x04, 0x0a, 0x28, 0x0a, 0x01, 0x78, 0x0a, 0x01, 0x77,
  0x0a, 0x01, 0x62, 0x12, 0x03, 0x70, 0x72, 0x65, 0x1a, 0x01, 0x63, 0x22,
  0x04, 0x43, 0x6f, 0x6e, 0x76, 0x2a, 0x0f, 0x0a, 0x04, 0x70, 0x61, 0x64,
  0x73, 0x42, 0x04, 0x01, 0x01, 0x01, 0x01, 0xa0, 0x01, 0x07, 0x0a, 0x50,
  0x0a, 0x03, 0x70, 0x72, 0x65, 0x0a, 0x05, 0x67, 0x61, 0x6d, 0x6d, 0x61,
  0x0a, 0x04, 0x62, 0x65, 0x74, 0x61, 0x0a, 0x04, 0x6d, 0x65, 0x61, 0x6e,
  0x0a, 0x03, 0x76, 0x61, 0x72, 0x12, 0x06, 0x62, 0x6e, 0x5f, 0x6f, 0x75,
  0x74, 0x1a, 0x02, 0x62, 0x6e, 0x22, 0x12, 0x42, 0x61, 0x74, 0x63, 0x68,
  0x4e, 0x6f, 0x72, 0x6d, 0x61, 0x6c, 0x69, 0x7a, 0x61, 0x74, 0x69, 0x6f,
  0x6e, 0x2a, 0x11, 0x0a, 0x07, 0x65, 0x70, 0x73, 0x69, 0x6c, 0x6f, 0x6e,
  0x15, 0x6f, 0x12, 0x83, 0x3a, 0xa0, 0x01, 0x01, 0x0a, 0x17, 0x0a, 0x06,
  0x62, 0x6e, 0x5f, 0x6f, 0x75, 0x74, 0x12, 0x04, 0x72, 0x65, 0x6c, 0x75,
  0x1a, 0x01, 0x72, 0x22, 0x04, 0x52, 0x65, 0x6c, 0x75, 0x0a, 0x3a, 0x0a,
  0x04, 0x72, 0x65, 0x6c, 0x75, 0x0a, 0x05, 0x67, 0x61, 0x6d, 0x6d, 0x61,
  0x0a, 0x04, 0x62, 0x65, 0x74, 0x61, 0x0a, 0x04, 0x6d, 0x65, 0x61, 0x6e,
  0x0a, 0x03, 0x76, 0x61, 0x72, 0x12, 0x01, 0x79, 0x1a, 0x03, 0x62, 0x6e,
  0x32, 0x22, 0x12, 0x42, 0x61, 0x74, 0x63, 0x68, 0x4e, 0x6f, 0x72, 0x6d,
  0x61, 0x6c, 0x69, 0x7a, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2a, 0xe8, 0x01,
  0x08, 0x02, 0x08, 0x03, 0x08, 0x03, 0x08, 0x03, 0x10, 0x01, 0x42, 0x01,
  0x77, 0x4a, 0xd8, 0x01, 0xe0, 0x29, 0x94, 0xbd, 0x08, 0x53, 0x2e, 0x3e,
  0x28, 0x64, 0xcc, 0xbe, 0xcc, 0x4d, 0xcc, 0xbe, 0x2c, 0x41, 0x9e, 0x3e,
  0x60, 0x1b, 0x4c, 0xbd, 0xd8, 0x26, 0x84, 0x3e, 0x18, 0x2f, 0x26, 0xbf,
  0x08, 0x9b, 0x5e, 0xbe, 0x00, 0x6b, 0xbc, 0xbc, 0x34, 0xa7, 0xaf, 0x3e,
  0x80, 0x83, 0x08, 0x3d, 0xf0, 0xad, 0x6c, 0xbe, 0xc8, 0x78, 0xfd, 0x3e,
  0x9c, 0x00, 0x69, 0x3f, 0xca, 0x1c, 0x14, 0x3f, 0x8a, 0x0f, 0x1a, 0xbf,
  0xf4, 0x18, 0xb9, 0x3e, 0x54, 0x51, 0x36, 0x3f, 0x88, 0x4c, 0x20, 0x3e,
  0x3e, 0x36, 0x04, 0xbf, 0x30, 0x56, 0xdd, 0x3e, 0x38, 0xf9, 0x69, 0x3f,
  0x7e, 0x12, 0x4c, 0xff, 0xbf, 0xff, 0x8f, 0xe0, 0xef, 0xff, 0x11, 0xbd,
  0x50, 0x2a, 0x3b, 0xbf, 0xc0, 0xa8, 0xa7, 0x3c, 0xd0, 0xcd, 0x20, 0xb7,
  0xfa, 0x5f, 0x48, 0xbf, 0xd6, 0x9f, 0x78, 0xbf, 0xdc, 0xcd, 0x3d, 0x3f,
  0x3e, 0x27, 0x40, 0xbf, 0x70, 0x06, 0x34, 0xbf, 0x8e, 0x1b, 0x03, 0x3f,
  0x60, 0xcb, 0x0b, 0xbd, 0x16, 0xc8, 0x3f, 0xbf, 0xd2, 0xff, 0x6d, 0x3f,
  0xb4, 0x68, 0xcf, 0xbe, 0xa0, 0xf8, 0x54, 0xbd, 0x54, 0x35, 0xe5, 0x3e,
  0x0c, 0x2c, 0x0f, 0x3f, 0xa0, 0x0c, 0x42, 0x3f, 0x54, 0xfd, 0x38, 0x3f,
  0x74, 0xda, 0xa5, 0x3e, 0x34, 0xc8, 0x03, 0xbf, 0x30, 0x2a, 0x75, 0xbf,
  0xd0, 0xa2, 0x3c, 0xbe, 0x42, 0x0b, 0x3c, 0xbf, 0xb2, 0x2e, 0x21, 0x3f,
  0xe8, 0xe2, 0xdd, 0xbe, 0xe0, 0x54, 0x74, 0x3d, 0x00, 0xc3, 0xfc, 0x3c,
  0xb4, 0xc1, 0xaa, 0x3e, 0x2a, 0x11, 0x08, 0x02, 0x10, 0x01, 0x42, 0x01,
  0x62, 0x4a, 0x08, 0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x80, 0xbf, 0x2a,
  0x15, 0x08, 0x02, 0x10, 0x01, 0x42, 0x05, 0x67, 0x61, 0x6d, 0x6d, 0x61,
  0x4a, 0x08, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x3f, 0x2a, 0x14,
  0x08, 0x02, 0x10, 0x01, 0x42, 0x04, 0x62, 0x65, 0x74, 0x61, 0x4a, 0x08,
  0xcd, 0xcc, 0xcc, 0x3d, 0xcd, 0xcc, 0x4c, 0xbe, 0x2a, 0x14, 0x08, 0x02,
  0x10, 0x01, 0x42, 0x04, 0x6d, 0x65, 0x61, 0x6e, 0x4a, 0x08, 0x9a, 0x99,
  0x99, 0x3e, 0xcd, 0xcc, 0xcc, 0xbe, 0x2a, 0x13, 0x08, 0x02, 0x10, 0x01,
  0x42, 0x03, 0x76, 0x61, 0x72, 0x4a, 0x08, 0xcd, 0xcc, 0x4c, 0x3f, 0x00,
  0x00, 0x00, 0x40, 0x5a, 0x1b, 0x0a, 0x01, 0x78, 0x12, 0x16, 0x0a, 0x14,
  0x08, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x03,
  0x0a, 0x02, 0x08, 0x05, 0x0a, 0x02, 0x08, 0x05, 0x62, 0x1b, 0x0a, 0x01,
  0x79, 0x12, 0x16, 0x0a, 0x14, 0x08, 0x01, 0x12, 0x10, 0x0a, 0x02, 0x08,
  0x01, 0x0a, 0x02, 0x08, 0x02, 0x0a, 0x02, 0x08, 0x05, 0x0a, 0x02, 0x08,
  0x05, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d
};

static void test_findings(void) {
  const struct {
    const uint8_t *b;
    size_t n;
  } F[] = {{FINDING_1, sizeof FINDING_1}, {FINDING_2, sizeof FINDING_2}, {FINDING_3, sizeof FINDING_3}, {FINDING_4, sizeof FINDING_4}, {FINDING_5, sizeof FINDING_5}, {FINDING_6, sizeof FINDING_6}};
  for (int k = 0; k < 6; k++) {
    fv_error e;
    fv_model *m = fv_model_load(F[k].b, F[k].n, &e);
    CHECK(!m && e.code != FV_OK && e.msg[0], "finding %d refused: %s", k + 1, e.msg);
    fv_model_free(m);
  }
}

/* ==== 4. the store's GoogLeNet ================================================== */
#ifndef __wasm__ /* the store is read natively only (the standalone wasm libc has no path_open) */
static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = (uint8_t *)malloc((size_t)len);
  if (b && fread(b, 1, (size_t)len, f) != (size_t)len) free(b), b = NULL;
  fclose(f);
  *n = (size_t)len;
  return b;
}

static uint8_t *store(const char *file, size_t *n) {
  const char *dir = getenv("FEATVIZ_MODELS");
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared/models", file);
  return read_file(path, n);
}

static int64_t count_of4(const fv_tensor *t) {
  int64_t c = 1;
  for (int k = 0; k < t->rank; k++) c *= t->dims[k];
  return c;
}

static int sane(const fv_model *m) {
  if (!m || m->n_ops < 1 || m->input < 0 || m->output < 0 || m->input >= m->n_tensors || m->output >= m->n_tensors) return 0;
  for (int i = 0; i < m->n_tensors; i++) {
    const fv_tensor *t = &m->tensors[i];
    int64_t c = 1;
    if (!t->name || t->rank < 0 || t->rank > 4) return 0;
    for (int k = 0; k < t->rank; k++) {
      if (t->dims[k] < 1) return 0;
      c *= t->dims[k];
    }
    for (int64_t k = 0; t->data && k < c; k++)
      if (!isfinite(t->data[k])) return 0;
  }
  for (int i = 0; i < m->n_ops; i++) {
    const fv_op *op = &m->ops[i];
    if ((unsigned)op->kind >= FV_OP_COUNT || op->output < 0 || op->output >= m->n_tensors || m->tensors[op->output].data)
      return 0;
    for (int k = 0; k < op->n_inputs; k++)
      if (op->inputs[k] < -1 || op->inputs[k] >= m->n_tensors) return 0;
    for (int d = 0; d < 4; d++)
      if (fv_model_layer_dim(m, i, d) < 1) return 0;
  }
  return 1;
}

static int clean_load(const uint8_t *b, size_t n, int *loaded) {
  fv_error e;
  memset(&e, 0x55, sizeof e);
  fv_model *m = fv_model_load(b, n, &e);
  int ok = m ? sane(m) : e.code > 0 && e.code <= FV_ERR_NUMERIC && memchr(e.msg, 0, sizeof e.msg) && e.msg[0];
  if (m && loaded) (*loaded)++;
  fv_model_free(m);
  return ok;
}

static void test_googlenet(void) {
  size_t nf, nq;
  uint8_t *bf = store("googlenet_bvlc.onnx", &nf), *bq = store("googlenet_bvlc_int8.onnx", &nq);
  CHECK(bf && bq, "the store's GoogLeNet files (FEATVIZ_MODELS)");
  if (!bf || !bq) return free(bf), free(bq);
  fv_error e;
  fv_model *mf = fv_model_load(bf, nf, &e), *mq = fv_model_load(bq, nq, &e);
  CHECK(mf && mq, "both load: %s", e.msg);
  if (mf && mq) {
    int counts[FV_OP_COUNT] = {0}, acts = 0;
    for (int i = 0; i < mf->n_ops; i++) counts[mf->ops[i].kind]++, acts += mf->ops[i].kind == FV_OP_ACT && mf->ops[i].act == FV_ACT_RELU;
    CHECK(mf->n_ops == 143 && mq->n_ops == 143 && counts[FV_OP_CONV2D] == 57 && acts == 57 && counts[FV_OP_MAXPOOL2D] == 13 &&
              counts[FV_OP_LRN] == 2 && counts[FV_OP_CONCAT] == 9 && counts[FV_OP_SUB] == 1 && counts[FV_OP_AVGPOOL2D] == 1 &&
              counts[FV_OP_FULLY_CONNECTED] == 1 && counts[FV_OP_SOFTMAX] == 1 && counts[FV_OP_RESHAPE] == 1,
          "GoogLeNet: 143 layers of the expected kinds");
    const fv_op *p1 = op_of(mf, "pool1/3x3_s2"), *gap = op_of(mf, "pool5/7x7_s1"), *lrn = op_of(mf, "pool1/norm1");
    CHECK(p1 && p1->ceil_mode && p1->padding == FV_PADDING_EXPLICIT && p1->filter_h == 3 && p1->stride_h == 2 &&
              fv_model_layer_dim(mf, layer(mf, "pool1/3x3_s2"), 1) == 56,
          "pool1: ceil mode, 112 → 56");
    CHECK(gap && gap->global, "pool5 is global");
    CHECK(lrn && lrn->lrn_lo == 2 && lrn->lrn_hi == 2 && fabsf(lrn->lrn_alpha - 1e-4f / 5) < 1e-12f && lrn->lrn_beta == 0.75f,
          "LRN: size 5 → 2 + 2, alpha / size");
    int l4c = layer(mf, "inception_4c/output");
    CHECK(l4c >= 0 && fv_model_layer_dim(mf, l4c, 1) == 14 && fv_model_layer_dim(mf, l4c, 3) == 512 &&
              strcmp(fv_model_layer_op(mf, l4c), "Concat") == 0,
          "inception_4c/output 14x14x512");
    const fv_op *sub = op_of(mf, "data_minus_mean");
    const fv_tensor *mean = w_of(mf, sub, 1);
    CHECK(sub && mean && mean->rank == 4 && mean->dims[3] == 3 && fabsf(mean->data[0] - 104) < 1 && fabsf(mean->data[1] - 117) < 1 &&
              fabsf(mean->data[2] - 123) < 1,
          "the mean, BGR, on the NHWC channel axis");
    CHECK(fv_model_input_bgr(mf) && fv_model_input_scale(mf, 0) == 1 && fv_model_input_offset(mf, 0) == 0 &&
              strcmp(fv_model_input_source(mf), "onnx metadata") == 0 && fv_model_input_bgr(mq),
          "input: BGR 0..255 from the metadata");
    /* the int8 file's weights: the float ones rounded to a per-channel grid of max|w|/127 */
    int worst_layer = -1;
    double worst = 0;
    for (int i = 0; i < mf->n_ops; i++) {
      const fv_op *a = &mf->ops[i], *b = &mq->ops[i];
      if (a->kind != FV_OP_CONV2D && a->kind != FV_OP_FULLY_CONNECTED) continue;
      const fv_tensor *wa = w_of(mf, a, 1), *wb = w_of(mq, b, 1);
      int oc = wa->dims[0], per = (int)(count_of4(wa) / oc);
      for (int o = 0; o < oc; o++) {
        double mx = 0, d = 0;
        for (int k = 0; k < per; k++) mx = fmax(mx, fabs(wa->data[o * per + k]));
        for (int k = 0; k < per; k++) d = fmax(d, fabs(wa->data[o * per + k] - wb->data[o * per + k]));
        double r = mx > 0 ? d / (mx / 127) : 0;
        if (r > worst) worst = r, worst_layer = i;
      }
    }
    CHECK(worst > 0.3 && worst <= 0.5001, "int8 weights within half a step of the float ones (worst %.4f steps, layer %d)",
          worst, worst_layer);
  }
  fv_model_free(mf);
  fv_model_free(mq);

  /* truncations: every 1/300 of the file, and around its start and end */
  int n_ok = 0, loaded = 0, trials = 0;
  for (int k = 0; k <= 300; k++) {
    size_t len = k < 100 ? (size_t)k * 7 : k < 200 ? nq - (size_t)(k - 100) * 13 : (nq / 100) * (size_t)(k - 200);
    if (len > nq) continue;
    uint8_t *c = (uint8_t *)malloc(len ? len : 1);
    memcpy(c, bq, len);
    n_ok += clean_load(c, len, &loaded);
    trials++;
    free(c);
  }
  CHECK(n_ok == trials, "%d of %d truncations of googlenet_bvlc_int8.onnx clean (%d loaded)", n_ok, trials, loaded);
  /* byte flips where the structure is: the graph's nodes (before the first initializer's raw data),
   * the headers of initializers and the inputs, outputs and metadata at the end */
  check_seed(10);
  n_ok = 0, loaded = 0, trials = 0;
  uint8_t *c = (uint8_t *)malloc(nq);
  for (int t = 0; t < 200; t++) {
    memcpy(c, bq, nq);
    int flips = check_int(1, 4);
    for (int f = 0; f < flips; f++) {
      size_t at = t % 3 == 0 ? (size_t)check_int(0, 60000) : t % 3 == 1 ? nq - 1 - (size_t)check_int(0, 4000)
                                                                         : (size_t)check_int(0, (int)(nq - 1));
      c[at] ^= (uint8_t)(1u << check_int(0, 7));
    }
    n_ok += clean_load(c, nq, &loaded);
    trials++;
  }
  free(c);
  CHECK(n_ok == trials, "%d of %d byte-flipped googlenet_bvlc_int8.onnx clean (%d loaded)", n_ok, trials, loaded);
  printf("  googlenet int8: %d flips, %d loaded\n", trials, loaded);
  c = (uint8_t *)malloc(nf);
  n_ok = 0, loaded = 0;
  for (int t = 0; t < 20; t++) {
    memcpy(c, bf, nf);
    size_t at = t % 2 ? (size_t)check_int(0, 40000) : nf - 1 - (size_t)check_int(0, 3000);
    c[at] ^= (uint8_t)(1u << check_int(0, 7));
    n_ok += clean_load(c, nf, &loaded);
  }
  free(c);
  CHECK(n_ok == 20, "%d of 20 byte-flipped googlenet_bvlc.onnx clean (%d loaded)", n_ok, loaded);
  free(bf);
  free(bq);
}
#endif

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) seed_dir = argv[2];
  test_wire();
  test_conv();
  test_flatten_gemm();
  test_batchnorm();
  test_shape_folding();
  test_dequantize();
  test_shuffle();
  test_more_ops();
  test_metadata();
  test_refusals();
  test_weights_limit();
  test_findings();
#ifndef __wasm__
  if (!seed_dir) test_googlenet();
#endif
  return check_summary("onnx");
}
