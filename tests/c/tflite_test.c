/* tflite_test.c — the TFLite loader (src/tflite.c) and the public view of what it loads (src/model_info.c).
 *
 *  1. The store's three MobileNets load: op kinds and counts, known layer
 *     names and shapes, op options, the input range.
 *  2. Dequantization against an independent path: a second, minimal
 *     flatbuffer walker written here reads each constant's raw bytes and
 *     quantization and recomputes scale*(q-z); plus the invariants that can
 *     fail (values on the quantization grid, within the uint8 bounds, biases
 *     integer multiples of their scale).
 *  3. Hand-built models (a small forward flatbuffer builder below) with
 *     float16, per-channel int8, int32 bias, float32, int64 paddings and a
 *     folded DEQUANTIZE: exact values and every op field; then mutations of
 *     them that must be refused with the right code and message.
 *     The same two models through the public view of ops and tensors
 *     (src/model_info.c), and its answers to indices out of range.
 *  4. Robustness: truncations and byte flips of the store models, junk
 *     files, and a real model patched to use an unsupported op; each load
 *     either fails with a code and message or yields a model that passes a
 *     sanity walk (run under ASan/UBSan natively).
 */
#include "check.h"
#include "model.h"

#if defined(__SANITIZE_ADDRESS__)
#define FV_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FV_HAVE_ASAN 1
#endif
#endif
#ifdef FV_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

/* ==== a sanity walk over any model the loader returns ===================== */
/* The values pixels 0 and 255 of channel 0 become. */
static float in_min(const fv_model *m) { return fv_model_input_offset(m, 0); }
static float in_max(const fv_model *m) { return fv_model_input_offset(m, 0) + 255.0f * fv_model_input_scale(m, 0); }

static int64_t count_of(const fv_tensor *t) {
  int64_t c = 1;
  for (int k = 0; k < t->rank; k++) c *= t->dims[k];
  return c;
}

static int sane_model(const fv_model *m) {
  if (!m || m->n_ops < 1 || m->n_tensors < 1) return 0;
  if (m->input < 0 || m->input >= m->n_tensors || m->output < 0 || m->output >= m->n_tensors) return 0;
  for (int k = 0; k < 3; k++)
    if (!(m->in_scale[k] > 0) || !isfinite(m->in_offset[k])) return 0;
  for (int i = 0; i < m->n_tensors; i++) {
    const fv_tensor *t = &m->tensors[i];
    if (!t->name || t->rank < 0 || t->rank > FV_MAX_RANK) return 0;
    for (int k = 0; k < t->rank; k++)
      if (t->dims[k] < 1) return 0;
    if (t->data) {
      int64_t c = count_of(t);
      for (int64_t k = 0; k < c; k++)
        if (!isfinite(t->data[k])) return 0;
    }
  }
  for (int i = 0; i < m->n_ops; i++) {
    const fv_op *op = &m->ops[i];
    if ((unsigned)op->kind >= FV_OP_COUNT) return 0;
    if (op->output < 0 || op->output >= m->n_tensors || m->tensors[op->output].data) return 0;
    if (op->n_inputs < 1 || !op->inputs) return 0;
    for (int k = 0; k < op->n_inputs; k++)
      if (op->inputs[k] < -1 || op->inputs[k] >= m->n_tensors) return 0;
    if (op->kind == FV_OP_CONV2D || op->kind == FV_OP_DWCONV2D || op->kind == FV_OP_FULLY_CONNECTED)
      if (op->inputs[1] < 0 || !m->tensors[op->inputs[1]].data) return 0;
    if (!fv_model_layer_name(m, i) || !fv_model_layer_op(m, i)) return 0;
    for (int d = 0; d < 4; d++)
      if (fv_model_layer_dim(m, i, d) < 1) return 0;
  }
  return 1;
}

/* One load of untrusted bytes: NULL with a code and a message, or a sane model. */
static int load_is_clean_ex(const uint8_t *b, size_t n, int *loaded) {
  fv_error e;
  memset(&e, 0x55, sizeof e); /* the loader must overwrite it */
  fv_model *m = fv_model_load(b, n, &e);
  int ok;
  if (!m) {
    ok = e.code != FV_OK && memchr(e.msg, 0, sizeof e.msg) && e.msg[0];
  } else {
    ok = e.code == FV_OK && sane_model(m);
  }
  if (!ok) printf("  unclean load of %zu bytes: %s (%d: %.200s)\n", n, m ? "model" : "NULL", e.code, e.msg);
  if (loaded) *loaded = m != NULL;
  fv_model_free(m);
  return ok;
}

/* ==== an independent, minimal flatbuffer walker (valid files only) ========= */
static uint32_t le16(const uint8_t *p) { return (uint32_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static float lef32(const uint8_t *p) {
  uint32_t u = le32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static int64_t lei64(const uint8_t *p) { return (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32); }
/* position of field id of the table at t, 0 if absent */
static size_t w_field(const uint8_t *b, size_t t, int id) {
  size_t vt = (size_t)((int64_t)t - (int32_t)le32(b + t));
  if ((uint32_t)(4 + 2 * id + 2) > le16(b + vt)) return 0;
  uint32_t o = le16(b + vt + 4 + 2 * id);
  return o ? t + o : 0;
}
static size_t w_ref(const uint8_t *b, size_t p) { return p + le32(b + p); }
/* first element of vector field id, and its length; 0 if absent */
static size_t w_vec(const uint8_t *b, size_t t, int id, uint32_t *len) {
  size_t f = w_field(b, t, id);
  *len = 0;
  if (!f) return 0;
  size_t v = w_ref(b, f);
  *len = le32(b + v);
  return v + 4;
}
static size_t w_elem_table(const uint8_t *b, size_t vec, uint32_t i) { return w_ref(b, vec + 4 * (size_t)i); }
static size_t w_model(const uint8_t *b) { return w_ref(b, 0); }
static size_t w_subgraph0(const uint8_t *b) {
  uint32_t n;
  size_t v = w_vec(b, w_model(b), 2, &n);
  return w_elem_table(b, v, 0);
}

typedef struct {
  int type;
  const uint8_t *data;
  uint32_t bytes;
  const uint8_t *scale, *zp; /* f32[], i64[] */
  uint32_t nscale, nzp;
  char name[256];
} wtensor;

static void w_tensor(const uint8_t *b, int i, wtensor *w) {
  uint32_t n;
  memset(w, 0, sizeof *w);
  size_t tv = w_vec(b, w_subgraph0(b), 0, &n);
  size_t t = w_elem_table(b, tv, (uint32_t)i);
  size_t f = w_field(b, t, 1);
  w->type = f ? (int8_t)b[f] : 0;
  f = w_field(b, t, 2);
  uint32_t buf = f ? le32(b + f) : 0;
  size_t bv = w_vec(b, w_model(b), 4, &n);
  size_t bt = w_elem_table(b, bv, buf);
  size_t d = w_vec(b, bt, 0, &w->bytes);
  w->data = b + d;
  f = w_field(b, t, 3);
  if (f) {
    size_t s = w_ref(b, f);
    uint32_t len = le32(b + s);
    memcpy(w->name, b + s + 4, len < 255 ? len : 255);
  }
  f = w_field(b, t, 4);
  if (f) {
    size_t q = w_ref(b, f);
    size_t sv = w_vec(b, q, 2, &w->nscale), zv = w_vec(b, q, 3, &w->nzp);
    w->scale = b + sv;
    w->zp = b + zv;
  }
}

/* ==== a forward flatbuffer builder for hand-made models ================== */
typedef struct {
  uint8_t *b;
  size_t n, cap;
} bb;
static size_t bb_alloc(bb *B, size_t size, size_t align) {
  while (B->n % align) B->n++;
  if (B->n + size > B->cap) {
    size_t c = B->cap ? B->cap : 256;
    while (c < B->n + size) c *= 2;
    B->b = (uint8_t *)realloc(B->b, c);
    memset(B->b + B->cap, 0, c - B->cap);
    B->cap = c;
  }
  size_t p = B->n;
  B->n += size;
  return p;
}
static void bb_put16(bb *B, size_t p, uint32_t v) { B->b[p] = (uint8_t)v; B->b[p + 1] = (uint8_t)(v >> 8); }
static void bb_put32(bb *B, size_t p, uint32_t v) {
  for (int k = 0; k < 4; k++) B->b[p + k] = (uint8_t)(v >> (8 * k));
}
static void bb_put(bb *B, size_t p, uint64_t v, int size) {
  for (int k = 0; k < size; k++) B->b[p + k] = (uint8_t)(v >> (8 * k));
}
#define BB_MAXF 16
typedef struct {
  size_t pos, f[BB_MAXF];
} bbt;
/* A table with nf fields of the given byte sizes (0 = absent), vtable just before it. */
static bbt bb_table(bb *B, int nf, const int *sizes) {
  bbt T;
  size_t offs[BB_MAXF], off = 4;
  memset(&T, 0, sizeof T);
  size_t vt = bb_alloc(B, 4 + 2 * (size_t)nf, 2);
  for (int i = 0; i < nf; i++) {
    offs[i] = 0;
    if (sizes[i]) {
      off = (off + (size_t)sizes[i] - 1) / (size_t)sizes[i] * (size_t)sizes[i];
      offs[i] = off;
      off += (size_t)sizes[i];
    }
  }
  size_t t = bb_alloc(B, off, 8);
  bb_put16(B, vt, 4 + 2 * (uint32_t)nf);
  bb_put16(B, vt + 2, (uint32_t)off);
  for (int i = 0; i < nf; i++) bb_put16(B, vt + 4 + 2 * (size_t)i, (uint32_t)offs[i]);
  bb_put32(B, t, (uint32_t)(t - vt));
  T.pos = t;
  for (int i = 0; i < nf; i++) T.f[i] = offs[i] ? t + offs[i] : 0;
  return T;
}
static size_t bb_vec(bb *B, size_t esize, size_t count, const void *data, size_t align) {
  while ((B->n + 4) % align) bb_alloc(B, 1, 1);
  size_t p = bb_alloc(B, 4 + esize * count, 1);
  bb_put32(B, p, (uint32_t)count);
  if (data && count) memcpy(B->b + p + 4, data, esize * count);
  return p;
}
static void bb_link(bb *B, size_t field, size_t target) { bb_put32(B, field, (uint32_t)(target - field)); }
static size_t bb_str(bb *B, const char *s) {
  size_t p = bb_vec(B, 1, strlen(s) + 1, s, 4);
  bb_put32(B, p, (uint32_t)strlen(s));
  return p;
}

/* A model described as plain data. */
typedef struct {
  const char *name;
  int type;
  int rank, dims[6];
  const void *data; /* constant bytes or NULL */
  size_t bytes;
  int nscale;
  float scale[4];
  int nzp;
  int64_t zp[4];
  int qdim;
  int buffer; /* > 0: write this buffer index instead (sharing, corruption) */
} tspec;
typedef struct {
  int id, size;
  uint64_t bits;
} ofield;
typedef struct {
  int code;       /* builtin code; >= 127 goes in builtin_code with deprecated 127 */
  int nin, in[8];
  int nout, out[2];
  int opt_type, nf;
  ofield f[8];
  int vec_id, nvec; /* an int32 vector option (new_shape) */
  int32_t vec[4];
} ospec;
typedef struct {
  int nt, no;
  tspec t[128];
  ospec o[12];
  int input, output;
  uint32_t version;
  int new_codes; /* also write builtin_code (newer converters); else only the deprecated byte */
  const uint8_t *meta; /* a TFLITE_METADATA buffer (Model.metadata), or NULL */
  size_t meta_len;
} mspec;

enum { F32 = 0, F16 = 1, I32 = 2, U8 = 3, I64 = 4, I8 = 9 };
enum { OPT_CONV = 1, OPT_DW = 2, OPT_POOL = 5, OPT_FC = 8, OPT_SOFTMAX = 9, OPT_CONCAT = 10, OPT_ADD = 11,
       OPT_RESHAPE = 17, OPT_MUL = 21, OPT_PAD = 22, OPT_REDUCER = 27, OPT_SQUEEZE = 30, OPT_DEQUANTIZE = 38 };

static uint8_t *build_model(const mspec *S, size_t *len) {
  bb B = {0};
  bb_alloc(&B, 8, 8);
  memcpy(B.b + 4, "TFL3", 4);
  bbt model = bb_table(&B, 7, (const int[]){4, 4, 4, 0, 4, 0, S->meta ? 4 : 0});
  bb_link(&B, 0, model.pos);
  bb_put32(&B, model.f[0], S->version ? S->version : 3);

  size_t codes = bb_vec(&B, 4, (size_t)S->no, NULL, 4);
  bb_link(&B, model.f[1], codes);
  for (int i = 0; i < S->no; i++) {
    int c = S->o[i].code, wide = S->new_codes || c >= 127 || c < 0;
    bbt oc = bb_table(&B, 4, (const int[]){1, 0, 4, wide ? 4 : 0});
    bb_put(&B, oc.f[0], (uint64_t)(c < 127 ? c : 127), 1);
    bb_put32(&B, oc.f[2], 1);
    if (wide) bb_put32(&B, oc.f[3], (uint32_t)c);
    bb_link(&B, codes + 4 + 4 * (size_t)i, oc.pos);
  }

  size_t sgs = bb_vec(&B, 4, 1, NULL, 4);
  bb_link(&B, model.f[2], sgs);
  bbt sg = bb_table(&B, 4, (const int[]){4, 4, 4, 4});
  bb_link(&B, sgs + 4, sg.pos);

  size_t tv = bb_vec(&B, 4, (size_t)S->nt, NULL, 4);
  bb_link(&B, sg.f[0], tv);
  int nbuf = 1;
  for (int i = 0; i < S->nt; i++) {
    const tspec *t = &S->t[i];
    bbt tt = bb_table(&B, 5, (const int[]){4, 1, 4, 4, t->nscale ? 4 : 0});
    bb_link(&B, tv + 4 + 4 * (size_t)i, tt.pos);
    bb_put(&B, tt.f[1], (uint64_t)t->type, 1);
    bb_put32(&B, tt.f[2], t->buffer > 0 ? (uint32_t)t->buffer : t->data ? (uint32_t)nbuf++ : 0);
    size_t sh = bb_vec(&B, 4, (size_t)t->rank, t->dims, 4);
    bb_link(&B, tt.f[0], sh);
    bb_link(&B, tt.f[3], bb_str(&B, t->name));
    if (t->nscale) {
      bbt q = bb_table(&B, 7, (const int[]){0, 0, 4, t->nzp ? 4 : 0, 0, 0, 4});
      bb_link(&B, tt.f[4], q.pos);
      bb_put32(&B, q.f[6], (uint32_t)t->qdim);
      bb_link(&B, q.f[2], bb_vec(&B, 4, (size_t)t->nscale, t->scale, 4));
      if (t->nzp) bb_link(&B, q.f[3], bb_vec(&B, 8, (size_t)t->nzp, t->zp, 8));
    }
  }
  bb_link(&B, sg.f[1], bb_vec(&B, 4, 1, &S->input, 4));
  bb_link(&B, sg.f[2], bb_vec(&B, 4, 1, &S->output, 4));

  size_t ov = bb_vec(&B, 4, (size_t)S->no, NULL, 4);
  bb_link(&B, sg.f[3], ov);
  for (int i = 0; i < S->no; i++) {
    const ospec *o = &S->o[i];
    int has_opt = o->opt_type != 0;
    bbt ot = bb_table(&B, 5, (const int[]){4, 4, 4, has_opt ? 1 : 0, has_opt ? 4 : 0});
    bb_link(&B, ov + 4 + 4 * (size_t)i, ot.pos);
    bb_put32(&B, ot.f[0], (uint32_t)i);
    bb_link(&B, ot.f[1], bb_vec(&B, 4, (size_t)o->nin, o->in, 4));
    bb_link(&B, ot.f[2], bb_vec(&B, 4, (size_t)(o->nout ? o->nout : 1), o->nout ? o->out : o->out, 4));
    if (has_opt) {
      bb_put(&B, ot.f[3], (uint64_t)o->opt_type, 1);
      int sizes[BB_MAXF] = {0}, nf = 0;
      for (int k = 0; k < o->nf; k++) {
        sizes[o->f[k].id] = o->f[k].size;
        if (o->f[k].id + 1 > nf) nf = o->f[k].id + 1;
      }
      if (o->nvec) {
        sizes[o->vec_id] = 4;
        if (o->vec_id + 1 > nf) nf = o->vec_id + 1;
      }
      bbt opt = bb_table(&B, nf ? nf : 1, sizes);
      bb_link(&B, ot.f[4], opt.pos);
      for (int k = 0; k < o->nf; k++) bb_put(&B, opt.f[o->f[k].id], o->f[k].bits, o->f[k].size);
      if (o->nvec) bb_link(&B, opt.f[o->vec_id], bb_vec(&B, 4, (size_t)o->nvec, o->vec, 4));
    }
  }

  if (S->meta) { /* Model.metadata = [Metadata{name, buffer}], the bytes in the last buffer */
    size_t mv = bb_vec(&B, 4, 1, NULL, 4);
    bb_link(&B, model.f[6], mv);
    bbt md = bb_table(&B, 2, (const int[]){4, 4});
    bb_link(&B, mv + 4, md.pos);
    bb_link(&B, md.f[0], bb_str(&B, "TFLITE_METADATA"));
    bb_put32(&B, md.f[1], (uint32_t)nbuf);
  }
  size_t bv = bb_vec(&B, 4, (size_t)nbuf + (S->meta ? 1 : 0), NULL, 4);
  bb_link(&B, model.f[4], bv);
  bbt b0 = bb_table(&B, 1, (const int[]){0});
  bb_link(&B, bv + 4, b0.pos);
  for (int i = 0, k = 1; i < S->nt; i++) {
    if (!S->t[i].data || S->t[i].buffer > 0) continue;
    bbt bt = bb_table(&B, 1, (const int[]){4});
    bb_link(&B, bv + 4 + 4 * (size_t)k++, bt.pos);
    bb_link(&B, bt.f[0], bb_vec(&B, 1, S->t[i].bytes, S->t[i].data, 16));
  }
  if (S->meta) {
    bbt bt = bb_table(&B, 1, (const int[]){4});
    bb_link(&B, bv + 4 + 4 * (size_t)nbuf, bt.pos);
    bb_link(&B, bt.f[0], bb_vec(&B, 1, S->meta_len, S->meta, 16));
  }
  *len = B.n;
  return B.b;
}

static uint64_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* ---- model A: CONV(int8 per-channel, int32 bias) → ADD(f16) → MUL(folded
 * DEQUANTIZE of f16) → MUL(f32) → MEAN → SOFTMAX ---- */
static const int8_t A_w[6] = {-128, 127, 5, 64, -3, 0};              /* [2,1,1,3], scales 0.5, 0.25 */
static const int32_t A_bias[2] = {8, -3};                             /* scales 0.125, 0.0625 */
static const uint16_t A_half[8] = {0x3C00, 0xC100, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x8000, 0x3555};
static const float A_half_f[8] = {1.0f, -2.5f, 5.9604644775390625e-8f, 6.0975551605224609375e-5f,
                                  6.103515625e-5f, 65504.0f, -0.0f, 0.333251953125f};
static const uint16_t A_half2[2] = {0x4000, 0xB800}; /* 2, -0.5 */
static const float A_scale[2] = {1.5f, -0.25f};
static const int32_t A_axes[2] = {1, 2};
static const float A_bias3[3] = {1, 2, 3};

static void model_a(mspec *S) {
  memset(S, 0, sizeof *S);
  S->nt = 14;
  S->t[0] = (tspec){.name = "input", .type = F32, .rank = 4, .dims = {1, 2, 2, 3}};
  S->t[1] = (tspec){.name = "w", .type = I8, .rank = 4, .dims = {2, 1, 1, 3}, .data = A_w, .bytes = 6,
                    .nscale = 2, .scale = {0.5f, 0.25f}, .nzp = 2, .qdim = 0};
  S->t[2] = (tspec){.name = "bias", .type = I32, .rank = 1, .dims = {2}, .data = A_bias, .bytes = 8,
                    .nscale = 2, .scale = {0.125f, 0.0625f}, .nzp = 2};
  S->t[3] = (tspec){.name = "conv;fused/name", .type = F32, .rank = 4, .dims = {1, 2, 2, 2}};
  S->t[4] = (tspec){.name = "half", .type = F16, .rank = 4, .dims = {1, 2, 2, 2}, .data = A_half, .bytes = 16};
  S->t[5] = (tspec){.name = "add", .type = F32, .rank = 4, .dims = {1, 2, 2, 2}};
  S->t[6] = (tspec){.name = "half2", .type = F16, .rank = 1, .dims = {2}, .data = A_half2, .bytes = 4};
  S->t[7] = (tspec){.name = "dq", .type = F32, .rank = 1, .dims = {2}};
  S->t[8] = (tspec){.name = "mul1", .type = F32, .rank = 4, .dims = {1, 2, 2, 2}};
  S->t[9] = (tspec){.name = "scale", .type = F32, .rank = 1, .dims = {2}, .data = A_scale, .bytes = 8};
  S->t[10] = (tspec){.name = "mul2", .type = F32, .rank = 4, .dims = {1, 2, 2, 2}};
  S->t[11] = (tspec){.name = "axes", .type = I32, .rank = 1, .dims = {2}, .data = A_axes, .bytes = 8};
  S->t[12] = (tspec){.name = "mean", .type = F32, .rank = 2, .dims = {1, 2}};
  S->t[13] = (tspec){.name = "prob", .type = F32, .rank = 2, .dims = {1, 2}};
  S->no = 7;
  S->o[0] = (ospec){.code = 3, .nin = 3, .in = {0, 1, 2}, .out = {3}, .opt_type = OPT_CONV, .nf = 4,
                    .f = {{0, 1, 1}, {1, 4, 1}, {2, 4, 1}, {3, 1, 3}}}; /* VALID, stride 1, RELU6 */
  S->o[1] = (ospec){.code = 0, .nin = 2, .in = {3, 4}, .out = {5}, .opt_type = OPT_ADD, .nf = 1, .f = {{0, 1, 1}}};
  S->o[2] = (ospec){.code = 6, .nin = 1, .in = {6}, .out = {7}};
  S->o[3] = (ospec){.code = 18, .nin = 2, .in = {5, 7}, .out = {8}, .opt_type = OPT_MUL};
  S->o[4] = (ospec){.code = 18, .nin = 2, .in = {8, 9}, .out = {10}, .opt_type = OPT_MUL};
  S->o[5] = (ospec){.code = 40, .nin = 2, .in = {10, 11}, .out = {12}, .opt_type = OPT_REDUCER, .nf = 1,
                    .f = {{0, 1, 0}}};
  S->o[6] = (ospec){.code = 25, .nin = 1, .in = {12}, .out = {13}, .opt_type = OPT_SOFTMAX, .nf = 1,
                    .f = {{0, 4, 0}}};
  S->o[6].f[0].bits = f32_bits(1.0f);
  S->input = 0;
  S->output = 13;
}

/* ---- model B: FC, FC → CONCATENATION(axis -1 of rank 2) → RESHAPE(new_shape
 * with -1) → PAD(int64) → AVERAGE_POOL → MAX_POOL → DEPTHWISE(dm 2) → MEAN → SQUEEZE ---- */
static const float B_fc1[6] = {1, 2, 3, 4, 5, 6}, B_fc2[6] = {-1, 0, 1, 0.5f, 0.25f, 0.125f};
static const float B_b1[2] = {0.5f, -0.5f};
static const int64_t B_pads[8] = {0, 0, 0, 1, 1, 2, 0, 0};
static const float B_dw[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const int32_t B_axes[2] = {-3, -2};

static void model_b(mspec *S) {
  memset(S, 0, sizeof *S);
  S->nt = 18;
  S->t[0] = (tspec){.name = "input", .type = F32, .rank = 4, .dims = {1, 1, 1, 3}};
  S->t[1] = (tspec){.name = "fc1_w", .type = F32, .rank = 2, .dims = {2, 3}, .data = B_fc1, .bytes = 24};
  S->t[2] = (tspec){.name = "fc1_b", .type = F32, .rank = 1, .dims = {2}, .data = B_b1, .bytes = 8};
  S->t[3] = (tspec){.name = "fc1", .type = F32, .rank = 2, .dims = {1, 2}};
  S->t[4] = (tspec){.name = "fc2_w", .type = F32, .rank = 2, .dims = {2, 3}, .data = B_fc2, .bytes = 24};
  S->t[5] = (tspec){.name = "fc2", .type = F32, .rank = 2, .dims = {1, 2}};
  S->t[6] = (tspec){.name = "cat", .type = F32, .rank = 2, .dims = {1, 4}};
  S->t[7] = (tspec){.name = "reshaped", .type = F32, .rank = 4, .dims = {1, 1, 1, 4}};
  S->t[8] = (tspec){.name = "pads", .type = I64, .rank = 2, .dims = {4, 2}, .data = B_pads, .bytes = 64};
  S->t[9] = (tspec){.name = "padded", .type = F32, .rank = 4, .dims = {1, 2, 4, 4}};
  S->t[10] = (tspec){.name = "avg", .type = F32, .rank = 4, .dims = {1, 1, 2, 4}};
  S->t[11] = (tspec){.name = "max", .type = F32, .rank = 4, .dims = {1, 1, 2, 4}};
  S->t[12] = (tspec){.name = "dw_w", .type = F32, .rank = 4, .dims = {1, 1, 1, 8}, .data = B_dw, .bytes = 32};
  S->t[13] = (tspec){.name = "dw", .type = F32, .rank = 4, .dims = {1, 1, 2, 8}};
  S->t[14] = (tspec){.name = "axes", .type = I32, .rank = 1, .dims = {2}, .data = B_axes, .bytes = 8};
  S->t[15] = (tspec){.name = "mean", .type = F32, .rank = 2, .dims = {1, 8}};
  S->t[16] = (tspec){.name = "squeezed", .type = F32, .rank = 1, .dims = {8}};
  S->t[17] = (tspec){.name = "unused_shape", .type = I32, .rank = 1, .dims = {2}, .data = A_axes, .bytes = 8};
  S->no = 10;
  S->o[0] = (ospec){.code = 9, .nin = 3, .in = {0, 1, 2}, .out = {3}, .opt_type = OPT_FC, .nf = 1, .f = {{0, 1, 1}}};
  S->o[1] = (ospec){.code = 9, .nin = 3, .in = {0, 4, -1}, .out = {5}, .opt_type = OPT_FC};
  S->o[2] = (ospec){.code = 2, .nin = 2, .in = {3, 5}, .out = {6}, .opt_type = OPT_CONCAT, .nf = 1,
                    .f = {{0, 4, (uint32_t)-1}}};
  S->o[3] = (ospec){.code = 22, .nin = 1, .in = {6}, .out = {7}, .opt_type = OPT_RESHAPE, .vec_id = 0, .nvec = 4,
                    .vec = {1, 1, -1, 4}};
  S->o[4] = (ospec){.code = 34, .nin = 2, .in = {7, 8}, .out = {9}, .opt_type = OPT_PAD};
  S->o[5] = (ospec){.code = 1, .nin = 1, .in = {9}, .out = {10}, .opt_type = OPT_POOL, .nf = 5,
                    .f = {{0, 1, 1}, {1, 4, 2}, {2, 4, 2}, {3, 4, 2}, {4, 4, 2}}};
  S->o[6] = (ospec){.code = 17, .nin = 1, .in = {10}, .out = {11}, .opt_type = OPT_POOL, .nf = 5,
                    .f = {{0, 1, 0}, {1, 4, 1}, {2, 4, 1}, {3, 4, 2}, {4, 4, 1}}};
  S->o[7] = (ospec){.code = 4, .nin = 2, .in = {11, 12}, .out = {13}, .opt_type = OPT_DW, .nf = 4,
                    .f = {{0, 1, 0}, {1, 4, 1}, {2, 4, 1}, {3, 4, 2}}};
  S->o[8] = (ospec){.code = 40, .nin = 2, .in = {13, 14}, .out = {15}, .opt_type = OPT_REDUCER};
  S->o[9] = (ospec){.code = 43, .nin = 1, .in = {15}, .out = {16}, .opt_type = OPT_SQUEEZE};
  S->input = 0;
  S->output = 16;
  S->new_codes = 1;
}

static fv_model *load_spec(const mspec *S, fv_error *e) {
  size_t n;
  uint8_t *b = build_model(S, &n);
  fv_model *m = fv_model_load(b, n, e);
  free(b);
  return m;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

/* A mutation of model A or B must fail with this code and a message containing `want`. */
static void expect_fail(const mspec *S, int code, const char *want, const char *what) {
  fv_error e;
  fv_model *m = load_spec(S, &e);
  CHECK(!m && e.code == code && strstr(e.msg, want), "%s: got %s code %d '%s'", what, m ? "a model" : "NULL",
        e.code, e.msg);
  fv_model_free(m);
}

static void test_model_a(void) {
  mspec S;
  fv_error e;
  model_a(&S);
  fv_model *m = load_spec(&S, &e);
  CHECK(m != NULL, "model A: %d %s", e.code, e.msg);
  if (!m) return;
  CHECK(sane_model(m), "model A sane");
  CHECK(m->n_ops == 6, "DEQUANTIZE folded: %d layers", m->n_ops);
  const char *names[6] = {"conv", "add", "mul1", "mul2", "mean", "prob"};
  const fv_op_kind kinds[6] = {FV_OP_CONV2D, FV_OP_ADD, FV_OP_MUL, FV_OP_MUL, FV_OP_MEAN, FV_OP_SOFTMAX};
  for (int i = 0; i < 6 && i < m->n_ops; i++) {
    CHECK(strcmp(fv_model_layer_name(m, i), names[i]) == 0, "layer %d name %s", i, fv_model_layer_name(m, i));
    CHECK(m->ops[i].kind == kinds[i], "layer %d kind", i);
    CHECK(fv_model_layer_find(m, names[i]) == i, "find %s", names[i]);
  }
  CHECK(fv_model_layer_find(m, "nope") == -1 && fv_model_layer_find(m, "w") == -1, "find misses");
  CHECK(fv_model_layer_name(m, 6) == NULL && fv_model_layer_name(m, -1) == NULL, "name out of range");
  CHECK(strcmp(fv_model_layer_op(m, 0), "CONV_2D") == 0 && strcmp(fv_model_layer_op(m, 5), "SOFTMAX") == 0, "op names");
  /* int8 per-channel along dim 0: 0.5*q for channel 0, 0.25*q for channel 1 */
  const float wexp[6] = {-64.0f, 63.5f, 2.5f, 16.0f, -0.75f, 0.0f};
  int ok = 1;
  for (int k = 0; k < 6; k++) ok &= same_bits(m->tensors[1].data[k], wexp[k]);
  CHECK(ok, "int8 per-channel weights exact");
  CHECK(m->tensors[2].data[0] == 1.0f && m->tensors[2].data[1] == -0.1875f, "int32 bias per channel: %g %g",
        m->tensors[2].data[0], m->tensors[2].data[1]);
  ok = 1;
  for (int k = 0; k < 8; k++) ok &= same_bits(m->tensors[4].data[k], A_half_f[k]);
  CHECK(ok, "float16 exact incl. subnormals, max, -0");
  CHECK(m->tensors[7].data && m->tensors[7].data[0] == 2.0f && m->tensors[7].data[1] == -0.5f, "folded DEQUANTIZE");
  CHECK(m->tensors[6].data == NULL, "the DEQUANTIZE source is not kept twice");
  CHECK(m->tensors[9].data[0] == 1.5f && m->tensors[9].data[1] == -0.25f, "float32 constant");
  CHECK(m->ops[2].inputs[1] == 7, "MUL reads the folded constant");
  const fv_op *c = &m->ops[0];
  CHECK(c->padding == FV_PADDING_VALID && c->stride_h == 1 && c->stride_w == 1 && c->dil_h == 1 && c->dil_w == 1 &&
            c->act == FV_ACT_RELU6,
        "conv options");
  CHECK(m->ops[1].act == FV_ACT_RELU && m->ops[2].act == FV_ACT_NONE, "add/mul activations");
  CHECK(m->ops[4].mean_axes == 6 && m->ops[4].keep_dims == 0, "mean axes %d", m->ops[4].mean_axes);
  CHECK(m->ops[5].beta == 1.0f, "softmax beta");
  CHECK(fv_model_layer_dim(m, 4, 0) == 1 && fv_model_layer_dim(m, 4, 1) == 1 && fv_model_layer_dim(m, 4, 2) == 1 &&
            fv_model_layer_dim(m, 4, 3) == 2,
        "rank-2 layer padded to N,1,1,C");
  CHECK(in_min(m) == -1.0f && in_max(m) == 1.0f && !fv_model_input_bgr(m) && !fv_model_input_source(m)[0],
        "float input → [-1, 1], a guess");
  CHECK(fv_model_input_dim(m, 1) == 2 && fv_model_input_dim(m, 3) == 3, "input dims");
  fv_model_free(m);

  /* quantized inputs: the range comes from the input's quantization */
  model_a(&S);
  S.t[0].type = U8;
  S.t[0].nscale = 1;
  S.t[0].scale[0] = 0.0078125f;
  S.t[0].nzp = 1;
  S.t[0].zp[0] = 128;
  m = load_spec(&S, &e);
  CHECK(m && in_min(m) == -1.0f && in_max(m) == 127.0f / 128.0f && fv_model_input_scale(m, 2) == 0.0078125f &&
            strcmp(fv_model_input_source(m), "input quantization") == 0,
        "uint8 input range");
  fv_model_free(m);
  S.t[0].type = I8;
  S.t[0].zp[0] = -1;
  m = load_spec(&S, &e);
  CHECK(m && in_min(m) == -127.0f / 128.0f && in_max(m) == 1.0f, "int8 input range");
  fv_model_free(m);
  S.t[0].scale[0] = 3e38f;
  expect_fail(&S, FV_ERR_BAD_MODEL, "gives pixel 0 the value", "infinite input range");
}

static void test_model_b(void) {
  mspec S;
  fv_error e;
  model_b(&S);
  fv_model *m = load_spec(&S, &e);
  CHECK(m != NULL, "model B: %d %s", e.code, e.msg);
  if (!m) return;
  CHECK(sane_model(m), "model B sane");
  CHECK(m->n_ops == 10, "10 layers");
  CHECK(m->ops[0].kind == FV_OP_FULLY_CONNECTED && m->ops[0].act == FV_ACT_RELU, "fc");
  CHECK(m->ops[1].n_inputs == 3 && m->ops[1].inputs[2] == -1, "fc without bias keeps -1");
  CHECK(m->ops[2].kind == FV_OP_CONCAT && m->ops[2].axis == 3, "rank-2 concat axis -1 → NHWC 3 (%d)", m->ops[2].axis);
  const fv_op *r = &m->ops[3];
  CHECK(r->kind == FV_OP_RESHAPE && r->new_rank == 4 && r->new_shape[0] == 1 && r->new_shape[1] == 1 &&
            r->new_shape[2] == -1 && r->new_shape[3] == 4,
        "reshape new_shape from options");
  const fv_op *p = &m->ops[4];
  CHECK(p->kind == FV_OP_PAD && p->pads[0][0] == 0 && p->pads[0][1] == 0 && p->pads[1][0] == 0 && p->pads[1][1] == 1 &&
            p->pads[2][0] == 1 && p->pads[2][1] == 2 && p->pads[3][0] == 0 && p->pads[3][1] == 0,
        "int64 paddings");
  const fv_op *a = &m->ops[5], *x = &m->ops[6];
  CHECK(a->kind == FV_OP_AVGPOOL2D && a->filter_h == 2 && a->filter_w == 2 && a->stride_h == 2 &&
            a->padding == FV_PADDING_VALID,
        "avg pool");
  CHECK(x->kind == FV_OP_MAXPOOL2D && x->filter_h == 1 && x->filter_w == 2 && x->padding == FV_PADDING_SAME, "max pool");
  CHECK(m->ops[7].kind == FV_OP_DWCONV2D && m->ops[7].depth_mult == 2, "depthwise dm %d", m->ops[7].depth_mult);
  CHECK(m->ops[8].mean_axes == 6, "negative mean axes → H,W");
  CHECK(m->ops[9].kind == FV_OP_RESHAPE && m->ops[9].new_rank == 1 && m->ops[9].new_shape[0] == 8, "squeeze");
  CHECK(fv_model_layer_dim(m, 9, 0) == 1 && fv_model_layer_dim(m, 9, 3) == 8, "rank-1 layer → 1,1,1,C");
  CHECK(fv_model_layer_dim(m, 5, 1) == 1 && fv_model_layer_dim(m, 5, 2) == 2 && fv_model_layer_dim(m, 5, 3) == 4,
        "pool dims");
  CHECK(fv_model_layer_dim(m, 0, 4) == 0 && fv_model_layer_dim(m, 99, 0) == 0, "dim out of range");
  CHECK(m->tensors[17].data && m->tensors[17].data[1] == 2.0f, "unused int32 constant read as numbers");
  CHECK(m->tensors[1].data[5] == 6.0f && m->tensors[4].data[5] == 0.125f, "f32 weights");
  fv_model_free(m);
}

/* The public view of the ops and tensors (fv.h, src/model_info.c) on models
 * A and B, whose every field is known from the specs above; then indices out
 * of range, which must answer -1 / NULL. */
/* ---- model C (the newer converters' ops): QUANTIZE (an alias) → HARD_SWISH → SPLIT_V → TRANSPOSE,
 * SUB (uint8 output [0, 6]: an implied RELU6) → PADV2 (a constant value) → LEAKY_RELU →
 * DEQUANTIZE (an alias) → LOGISTIC ---- */
static const int32_t C_axis[1] = {3}, C_sizes[2] = {1, -1}, C_perm[4] = {0, 2, 1, 3}, C_pads[8] = {0, 0, 1, 0, 0, 1, 0, 0};
static const float C_cval[1] = {-2};

static void model_c(mspec *S) {
  memset(S, 0, sizeof *S);
  S->nt = 16;
  S->t[0] = (tspec){.name = "input", .type = F32, .rank = 4, .dims = {1, 2, 2, 3}};
  S->t[1] = (tspec){.name = "q", .type = I8, .rank = 4, .dims = {1, 2, 2, 3}, .nscale = 1, .scale = {0.05f}, .nzp = 1};
  S->t[2] = (tspec){.name = "hswish", .type = F32, .rank = 4, .dims = {1, 2, 2, 3}};
  S->t[3] = (tspec){.name = "axis", .type = I32, .rank = 0, .data = C_axis, .bytes = 4};
  S->t[4] = (tspec){.name = "s0", .type = F32, .rank = 4, .dims = {1, 2, 2, 1}};
  S->t[5] = (tspec){.name = "s1", .type = F32, .rank = 4, .dims = {1, 2, 2, 2}};
  S->t[6] = (tspec){.name = "perm", .type = I32, .rank = 1, .dims = {4}, .data = C_perm, .bytes = 16};
  S->t[7] = (tspec){.name = "tr", .type = F32, .rank = 4, .dims = {1, 2, 2, 1}};
  S->t[8] = (tspec){.name = "sub", .type = U8, .rank = 4, .dims = {1, 2, 2, 2}, .nscale = 1, .scale = {6.0f / 255}, .nzp = 1};
  S->t[9] = (tspec){.name = "pads", .type = I32, .rank = 2, .dims = {4, 2}, .data = C_pads, .bytes = 32};
  S->t[10] = (tspec){.name = "cval", .type = F32, .rank = 1, .dims = {1}, .data = C_cval, .bytes = 4};
  S->t[11] = (tspec){.name = "padded", .type = F32, .rank = 4, .dims = {1, 3, 3, 2}};
  S->t[12] = (tspec){.name = "leaky", .type = F32, .rank = 4, .dims = {1, 3, 3, 2}};
  S->t[13] = (tspec){.name = "dq", .type = F32, .rank = 4, .dims = {1, 3, 3, 2}};
  S->t[14] = (tspec){.name = "sig", .type = F32, .rank = 4, .dims = {1, 3, 3, 2}};
  S->t[15] = (tspec){.name = "sizes", .type = I32, .rank = 1, .dims = {2}, .data = C_sizes, .bytes = 8};
  S->no = 9;
  S->o[0] = (ospec){.code = 114, .nin = 1, .in = {0}, .out = {1}};
  S->o[1] = (ospec){.code = 117, .nin = 1, .in = {1}, .out = {2}};
  S->o[2] = (ospec){.code = 102, .nin = 3, .in = {2, 15, 3}, .nout = 2, .out = {4, 5}, .opt_type = 79, .nf = 1, .f = {{0, 4, 2}}};
  S->o[3] = (ospec){.code = 39, .nin = 2, .in = {4, 6}, .out = {7}, .opt_type = 26};
  S->o[4] = (ospec){.code = 41, .nin = 2, .in = {7, 5}, .out = {8}, .opt_type = 28, .nf = 1, .f = {{0, 1, 0}}};
  S->o[5] = (ospec){.code = 60, .nin = 3, .in = {8, 9, 10}, .out = {11}, .opt_type = 43};
  S->o[6] = (ospec){.code = 98, .nin = 1, .in = {11}, .out = {12}, .opt_type = 75, .nf = 1, .f = {{0, 4, 0}}};
  S->o[6].f[0].bits = f32_bits(0.125f);
  S->o[7] = (ospec){.code = 6, .nin = 1, .in = {12}, .out = {13}};
  S->o[8] = (ospec){.code = 14, .nin = 1, .in = {13}, .out = {14}};
  S->input = 0;
  S->output = 14;
  S->new_codes = 1;
}

static void test_model_c(void) {
  mspec S;
  fv_error e;
  model_c(&S);
  fv_model *m = load_spec(&S, &e);
  CHECK(m && sane_model(m), "model C loads: %s", m ? "" : e.msg);
  if (!m) return;
  static const fv_op_kind kinds[8] = {FV_OP_ACT, FV_OP_SLICE, FV_OP_SLICE, FV_OP_TRANSPOSE, FV_OP_SUB, FV_OP_PAD, FV_OP_ACT, FV_OP_ACT};
  int ok = m->n_ops == 8;
  for (int i = 0; ok && i < 8; i++) ok = m->ops[i].kind == kinds[i];
  CHECK(ok, "model C: QUANTIZE and DEQUANTIZE are aliases, SPLIT_V two SLICEs (%d ops)", m->n_ops);
  if (ok) {
    const fv_op *o = m->ops;
    CHECK(o[0].act == FV_ACT_HARD_SWISH && o[0].inputs[0] == 0, "HARD_SWISH reads the input through the QUANTIZE alias");
    CHECK(o[1].begin[3] == 0 && o[1].size[3] == 1 && o[2].begin[3] == 1 && o[2].size[3] == 2 && o[1].size[1] == -1 &&
              o[1].size[2] == -1 && o[1].output == 4 && o[2].output == 5,
          "SPLIT_V: channel 0 and 1-2 (the -1 resolved), H and W whole");
    CHECK(o[3].perm[0] == 0 && o[3].perm[1] == 2 && o[3].perm[2] == 1 && o[3].perm[3] == 3, "TRANSPOSE perm");
    CHECK(o[4].act == FV_ACT_RELU6, "a uint8 output of range [0, 6]: the implied RELU6");
    CHECK(o[5].pads[1][0] == 1 && o[5].pads[2][1] == 1 && o[5].pad_value == -2, "PADV2 pads and constant");
    CHECK(o[6].act == FV_ACT_LEAKY_RELU && o[6].act_a == 0.125f, "LEAKY_RELU alpha");
    CHECK(o[7].act == FV_ACT_SIGMOID && o[7].inputs[0] == o[6].output, "LOGISTIC reads through the DEQUANTIZE alias");
    CHECK(strcmp(fv_model_layer_op(m, 0), "HARD_SWISH") == 0 && strcmp(fv_model_op_kind(m, 0), "ACTIVATION") == 0 &&
              strcmp(fv_model_layer_op(m, 1), "SPLIT_V") == 0,
          "layer ops: the file's, op kinds: the engine's");
  }
  fv_model_free(m);
  model_c(&S); S.o[2].f[0].bits = 3;
  expect_fail(&S, FV_ERR_BAD_MODEL, "num_splits 3 for 2 outputs", "SPLIT_V num_splits");
  model_c(&S); S.t[4].dims[3] = 2;
  expect_fail(&S, FV_ERR_BAD_MODEL, "output 0 has the wrong shape", "SPLIT_V output shape");
  model_c(&S); S.o[2].code = 49; S.o[2].nin = 2; S.o[2].in[0] = 3; S.o[2].in[1] = 2; S.o[2].opt_type = 35;
  expect_fail(&S, FV_ERR_BAD_MODEL, "2 outputs do not divide an axis of 3", "SPLIT of 3 channels in 2");
  model_c(&S); S.t[6].dims[0] = 3; S.t[6].bytes = 12;
  expect_fail(&S, FV_ERR_BAD_MODEL, "perm has 3 entries for rank 4", "TRANSPOSE perm length");
}

/* TFLite Support's ModelMetadata ("M001") with NormalizationOptions on the input: the
 * fields of tensorflow_lite_support/metadata/metadata_schema.fbs, written here. */
static uint8_t *metadata_with_normalization(int nmean, const float *mean, int nstd, const float *std, size_t *len) {
  bb B = {0};
  bb_alloc(&B, 8, 8);
  memcpy(B.b + 4, "M001", 4);
  bbt mm = bb_table(&B, 4, (const int[]){0, 0, 0, 4});
  bb_link(&B, 0, mm.pos);
  size_t sgv = bb_vec(&B, 4, 1, NULL, 4);
  bb_link(&B, mm.f[3], sgv);
  bbt sg = bb_table(&B, 3, (const int[]){0, 0, 4});
  bb_link(&B, sgv + 4, sg.pos);
  size_t tv = bb_vec(&B, 4, 1, NULL, 4);
  bb_link(&B, sg.f[2], tv);
  bbt tm = bb_table(&B, 5, (const int[]){0, 0, 0, 0, 4});
  bb_link(&B, tv + 4, tm.pos);
  size_t pv = bb_vec(&B, 4, 1, NULL, 4);
  bb_link(&B, tm.f[4], pv);
  bbt pu = bb_table(&B, 2, (const int[]){1, 4});
  bb_link(&B, pv + 4, pu.pos);
  bb_put(&B, pu.f[0], 1, 1); /* NormalizationOptions */
  bbt no = bb_table(&B, 2, (const int[]){4, 4});
  bb_link(&B, pu.f[1], no.pos);
  bb_link(&B, no.f[0], bb_vec(&B, 4, (size_t)nmean, mean, 4));
  bb_link(&B, no.f[1], bb_vec(&B, 4, (size_t)nstd, std, 4));
  *len = B.n;
  return B.b;
}

static void test_metadata(void) {
  mspec S;
  fv_error e;
  size_t n;
  const float mean[3] = {123.675f, 116.28f, 103.53f}, std[3] = {58.395f, 57.12f, 57.375f}, one[1] = {127.5f};
  uint8_t *meta = metadata_with_normalization(3, mean, 3, std, &n);
  model_a(&S); /* a float input */
  S.meta = meta, S.meta_len = n;
  fv_model *m = load_spec(&S, &e);
  int ok = m && strcmp(fv_model_input_source(m), "tflite metadata") == 0 && !fv_model_input_bgr(m);
  for (int k = 0; ok && k < 3; k++)
    ok = fabs(fv_model_input_scale(m, k) - 1.0 / std[k]) < 1e-7 && fabs(fv_model_input_offset(m, k) + mean[k] / std[k]) < 1e-6;
  CHECK(ok, "a float input's NormalizationOptions: scale 1/std, offset -mean/std per channel");
  fv_model_free(m);
  free(meta);
  meta = metadata_with_normalization(1, one, 1, one, &n);
  S.meta = meta, S.meta_len = n;
  S.t[0].type = U8, S.t[0].nscale = 1, S.t[0].scale[0] = 0.0078125f, S.t[0].nzp = 1, S.t[0].zp[0] = 128;
  m = load_spec(&S, &e);
  CHECK(m && strcmp(fv_model_input_source(m), "input quantization") == 0 && fv_model_input_offset(m, 0) == -1,
        "a quantized input keeps its quantization over the metadata's normalization");
  fv_model_free(m);
  S.t[0].type = F32, S.t[0].nscale = 0;
  meta[5] ^= 0xff; /* the identifier broken: the metadata is ignored, the model still loads */
  m = load_spec(&S, &e);
  CHECK(m && fv_model_input_source(m)[0] == 0 && fv_model_input_offset(m, 0) == -1, "broken metadata: ignored");
  fv_model_free(m);
  free(meta);
}

static void test_public_view(void) {
  mspec S;
  fv_error e;
  model_a(&S);
  fv_model *m = load_spec(&S, &e);
  CHECK(m != NULL, "model A: %d %s", e.code, e.msg);
  if (!m) return;
  CHECK(fv_model_input_tensor(m) == 0 && fv_model_tensor_count(m) == 14, "input tensor, tensor count");
  CHECK(fv_model_op_input_count(m, 0) == 3 && fv_model_op_input(m, 0, 0) == 0 && fv_model_op_input(m, 0, 1) == 1 &&
            fv_model_op_input(m, 0, 2) == 2 && fv_model_op_output(m, 0) == 3,
        "conv tensors");
  /* the file says VALID (1) and RELU6 (3 in TFLite's enum): the public codes are 1 and 2 */
  CHECK(fv_model_op_option(m, 0, FV_OPT_PADDING) == 1 && fv_model_op_option(m, 0, FV_OPT_ACTIVATION) == 2 &&
            fv_model_op_option(m, 0, FV_OPT_STRIDE_H) == 1 && fv_model_op_option(m, 0, FV_OPT_DILATION_W) == 1,
        "conv options");
  CHECK(fv_model_op_option(m, 1, FV_OPT_ACTIVATION) == 1, "add: RELU");
  CHECK(fv_model_op_input(m, 2, 1) == 7, "MUL reads the folded DEQUANTIZE's output");
  CHECK(fv_model_op_option(m, 4, FV_OPT_MEAN_AXES) == 6 && fv_model_op_option(m, 4, FV_OPT_KEEP_DIMS) == 0, "mean");
  CHECK(fv_model_op_option(m, 5, FV_OPT_BETA) == 1.0, "softmax beta");
  CHECK(fv_model_tensor_rank(m, 1) == 4 && fv_model_tensor_dim(m, 1, 0) == 2 && fv_model_tensor_dim(m, 1, 1) == 1 &&
            fv_model_tensor_dim(m, 1, 3) == 3,
        "filter shape");
  const float wexp[6] = {-64.0f, 63.5f, 2.5f, 16.0f, -0.75f, 0.0f};
  const float *w = fv_model_tensor_data(m, 1), *dq = fv_model_tensor_data(m, 7);
  int ok = w != NULL;
  for (int k = 0; ok && k < 6; k++) ok &= same_bits(w[k], wexp[k]);
  CHECK(ok, "int8 per-channel weights, dequantized");
  CHECK(dq && dq[0] == 2.0f && dq[1] == -0.5f, "folded DEQUANTIZE's values");
  CHECK(fv_model_tensor_data(m, 0) == NULL && fv_model_tensor_data(m, 3) == NULL, "activations have no data");
  /* out of range */
  CHECK(fv_model_op_output(m, -1) == -1 && fv_model_op_output(m, 6) == -1, "op output out of range");
  CHECK(fv_model_op_input_count(m, -1) == -1 && fv_model_op_input_count(m, 6) == -1, "input count out of range");
  CHECK(fv_model_op_input(m, 0, -1) == -1 && fv_model_op_input(m, 0, 3) == -1 && fv_model_op_input(m, 6, 0) == -1 &&
            fv_model_op_input(m, 1 << 30, 0) == -1,
        "op input out of range");
  CHECK(fv_model_op_option(m, 0, -1) == -1 && fv_model_op_option(m, 0, FV_OPT_COUNT) == -1 &&
            fv_model_op_option(m, 6, FV_OPT_STRIDE_H) == -1 && fv_model_op_option(m, -1, FV_OPT_BETA) == -1,
        "option out of range");
  CHECK(fv_model_tensor_rank(m, -1) == -1 && fv_model_tensor_rank(m, 14) == -1, "rank out of range");
  CHECK(fv_model_tensor_dim(m, 1, -1) == -1 && fv_model_tensor_dim(m, 1, 4) == -1 && fv_model_tensor_dim(m, 6, 1) == -1 &&
            fv_model_tensor_dim(m, 14, 0) == -1,
        "dim out of range (tensor 6 has rank 1)");
  CHECK(fv_model_tensor_data(m, -1) == NULL && fv_model_tensor_data(m, 14) == NULL, "data out of range");
  fv_model_free(m);
  CHECK(fv_model_input_tensor(NULL) == -1 && fv_model_op_output(NULL, 0) == -1 && fv_model_op_input_count(NULL, 0) == -1 &&
            fv_model_op_input(NULL, 0, 0) == -1 && fv_model_op_option(NULL, 0, 0) == -1 &&
            fv_model_tensor_count(NULL) == 0 && fv_model_tensor_rank(NULL, 0) == -1 && fv_model_tensor_dim(NULL, 0, 0) == -1 &&
            fv_model_tensor_data(NULL, 0) == NULL,
        "no model");

  model_b(&S);
  m = load_spec(&S, &e);
  CHECK(m != NULL, "model B: %d %s", e.code, e.msg);
  if (!m) return;
  CHECK(fv_model_op_input_count(m, 1) == 3 && fv_model_op_input(m, 1, 2) == -1, "fc without bias: input 2 is -1");
  CHECK(fv_model_op_option(m, 0, FV_OPT_ACTIVATION) == 1, "fc RELU");
  CHECK(fv_model_op_option(m, 2, FV_OPT_AXIS) == 3, "concat axis -1 of rank 2 → NHWC 3");
  CHECK(fv_model_op_option(m, 5, FV_OPT_FILTER_H) == 2 && fv_model_op_option(m, 5, FV_OPT_FILTER_W) == 2 &&
            fv_model_op_option(m, 5, FV_OPT_STRIDE_W) == 2 && fv_model_op_option(m, 5, FV_OPT_PADDING) == 1,
        "avg pool 2x2 s2 VALID");
  CHECK(fv_model_op_option(m, 6, FV_OPT_FILTER_H) == 1 && fv_model_op_option(m, 6, FV_OPT_FILTER_W) == 2 &&
            fv_model_op_option(m, 6, FV_OPT_PADDING) == 0,
        "max pool 1x2 SAME");
  CHECK(fv_model_op_option(m, 7, FV_OPT_DEPTH_MULTIPLIER) == 2 && fv_model_op_input(m, 7, 1) == 12, "depthwise dm 2");
  const float *dw = fv_model_tensor_data(m, 12);
  CHECK(dw && dw[0] == 1.0f && dw[7] == 8.0f && fv_model_tensor_dim(m, 12, 3) == 8, "depthwise filter");
  CHECK(fv_model_op_option(m, 8, FV_OPT_MEAN_AXES) == 6, "negative mean axes → H,W");
  fv_model_free(m);
}

static void test_refusals(void) {
  mspec S;
  static const uint16_t inf_half[8] = {0x3C00, 0x7C00, 0, 0, 0, 0, 0, 0};
  static const uint16_t nan_half[2] = {0x7E00, 0};

  model_a(&S); S.o[1].code = 16;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "unsupported op LSTM (builtin 16) at operator 1", "LSTM");
  model_a(&S); S.o[4].code = 150; /* only in builtin_code; deprecated field says 127 */
  expect_fail(&S, FV_ERR_UNSUPPORTED, "GELU (builtin 150) at operator 4", "extended builtin code");
  model_a(&S); S.o[0].f[3].bits = 4;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "TANH", "fused TANH");
  model_a(&S); S.o[1].f[0].bits = 2;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "RELU_N1_TO_1", "fused RELU_N1_TO_1");
  model_a(&S); S.o[0].f[0].bits = 7;
  expect_fail(&S, FV_ERR_BAD_MODEL, "padding", "bad padding enum");
  model_a(&S); S.o[0].f[1].bits = 0;
  expect_fail(&S, FV_ERR_BAD_MODEL, "stride_w is 0", "zero stride");
  model_a(&S); S.o[0].f[1].bits = 2;
  expect_fail(&S, FV_ERR_BAD_MODEL, "output shape", "stride inconsistent with shapes");
  model_a(&S); { ospec t = S.o[1]; S.o[1] = S.o[3]; S.o[3] = t; }
  expect_fail(&S, FV_ERR_BAD_MODEL, "earlier operator", "not in execution order");
  model_a(&S); S.o[1].out[0] = 9;
  expect_fail(&S, FV_ERR_BAD_MODEL, "writes to a constant", "op writes a constant");
  model_a(&S); S.o[3].out[0] = 5;
  expect_fail(&S, FV_ERR_BAD_MODEL, "already written", "tensor written twice");
  model_a(&S); S.o[0].out[0] = 0;
  expect_fail(&S, FV_ERR_BAD_MODEL, "model input", "op writes the input");
  model_a(&S); S.o[0].nin = 1;
  expect_fail(&S, FV_ERR_BAD_MODEL, "has 1 inputs", "conv with one input");
  model_a(&S); S.o[0].nout = 2; S.o[0].out[1] = 5;
  expect_fail(&S, FV_ERR_BAD_MODEL, "outputs", "two outputs");
  model_a(&S); S.o[0].in[1] = 0;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "not a constant", "conv filter is an activation");
  model_a(&S); S.o[0].in[0] = 99;
  expect_fail(&S, FV_ERR_BAD_MODEL, "refers to tensor 99", "tensor index out of range");
  model_a(&S); S.o[0].in[2] = 4;
  expect_fail(&S, FV_ERR_BAD_MODEL, "bias (tensor 4) has rank 4", "bias of rank 4");
  model_a(&S); S.o[0].in[2] = 9; S.t[9].dims[0] = 3; S.t[9].bytes = 12; S.t[9].data = A_bias3;
  expect_fail(&S, FV_ERR_BAD_MODEL, "bias has 3 values", "bias of the wrong length");
  model_a(&S); S.o[0].in[1] = 9;
  expect_fail(&S, FV_ERR_BAD_MODEL, "rank 1, expected 4", "filter of rank 1");
  model_a(&S); S.t[0].dims[3] = 1;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "3 channels", "grey input");
  model_a(&S); S.t[0].type = I32;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "INT32", "int32 input");
  model_a(&S); S.t[5].rank = 5; S.t[5].dims[4] = 1;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "rank 5", "rank 5 tensor");
  model_a(&S); S.t[5].dims[1] = 0;
  expect_fail(&S, FV_ERR_BAD_MODEL, "dimension 1 has size 0", "zero dimension");
  model_a(&S); S.t[4].data = inf_half;
  expect_fail(&S, FV_ERR_BAD_MODEL, "infinite or NaN", "f16 inf");
  model_a(&S); S.t[6].data = nan_half;
  expect_fail(&S, FV_ERR_BAD_MODEL, "infinite or NaN", "f16 NaN through DEQUANTIZE");
  model_a(&S); S.t[1].nscale = 3; S.t[1].nzp = 3;
  expect_fail(&S, FV_ERR_BAD_MODEL, "per-channel", "scales vs channels");
  model_a(&S); S.t[1].qdim = 2;
  expect_fail(&S, FV_ERR_BAD_MODEL, "quantized_dimension", "wrong quantized_dimension");
  model_a(&S); S.t[1].scale[1] = -1;
  expect_fail(&S, FV_ERR_BAD_MODEL, "scale", "negative scale");
  model_a(&S); S.t[1].bytes = 5;
  expect_fail(&S, FV_ERR_BAD_MODEL, "needs 6", "short buffer");
  model_a(&S); S.t[1].data = A_bias; S.t[1].bytes = 7;
  expect_fail(&S, FV_ERR_BAD_MODEL, "holds 7 bytes", "long buffer");
  model_a(&S); S.t[9].buffer = 6;
  expect_fail(&S, FV_ERR_BAD_MODEL, "buffer index 6, but the model has 6 buffers", "buffer index out of range");
  model_a(&S); /* 110 views of one 1M-value buffer: 440 MB as f32, over the cap */
  {
    static uint8_t big[1000000];
    S.t[S.nt] = (tspec){.name = "big", .type = U8, .rank = 2, .dims = {1000, 1000}, .data = big, .bytes = sizeof big};
    int first_buf = 7; /* buffers 1..6 hold model A's constants */
    for (int k = 1; k <= 110; k++) S.t[S.nt + k] = S.t[S.nt], S.t[S.nt + k].buffer = first_buf;
    S.nt += 111;
    expect_fail(&S, FV_ERR_NO_MEMORY, "the limit is", "total weights capped");
  }
  model_a(&S); S.o[2].in[0] = 5;
  expect_fail(&S, FV_ERR_BAD_MODEL, "DEQUANTIZE): output shape differs", "DEQUANTIZE of an activation: an alias of its input's shape");
  model_a(&S); S.o[5].in[1] = 9;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "int32 or int64", "mean axes as float");
  model_a(&S); S.o[6].opt_type = OPT_CONV;
  expect_fail(&S, FV_ERR_BAD_MODEL, "options of union type", "wrong options type");
  model_a(&S); S.o[6].f[0].bits = f32_bits(NAN);
  expect_fail(&S, FV_ERR_BAD_MODEL, "beta", "NaN beta");
  model_a(&S); S.t[13].dims[1] = 3;
  expect_fail(&S, FV_ERR_BAD_MODEL, "", "softmax shape");
  model_a(&S); S.t[10].dims[2] = 3;
  expect_fail(&S, FV_ERR_BAD_MODEL, "broadcast", "mul broadcast");
  model_a(&S); S.output = 9;
  expect_fail(&S, FV_ERR_BAD_MODEL, "not computed", "output is a constant");
  model_a(&S); S.version = 2;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "schema version 2", "old schema");
  model_a(&S); S.o[3].code = 32;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "custom op", "custom op");
  model_a(&S); S.o[0].code = -5;
  expect_fail(&S, FV_ERR_BAD_MODEL, "negative builtin", "negative op code");
  model_a(&S); S.no = 1; S.output = 3; S.o[0].in[2] = -1; S.o[0].nin = 2;
  {
    fv_error e;
    fv_model *m = load_spec(&S, &e);
    CHECK(m && m->n_ops == 1 && m->ops[0].n_inputs == 2, "conv without bias loads: %s", m ? "" : e.msg);
    fv_model_free(m);
  }

  model_b(&S); S.o[2].f[0].bits = 2;
  expect_fail(&S, FV_ERR_BAD_MODEL, "axis 2 is out of range", "concat axis");
  model_b(&S); S.o[3].vec[3] = 5;
  expect_fail(&S, FV_ERR_BAD_MODEL, "new shape", "reshape new_shape mismatch");
  model_b(&S); S.t[16].dims[0] = 9;
  expect_fail(&S, FV_ERR_BAD_MODEL, "differ in size", "squeeze size");
  model_b(&S); S.t[8].dims[0] = 2; S.t[8].bytes = 32;
  expect_fail(&S, FV_ERR_BAD_MODEL, "paddings", "paddings shape");
  model_b(&S); S.t[9].dims[2] = 5;
  expect_fail(&S, FV_ERR_BAD_MODEL, "paddings", "pad output");
  model_b(&S); S.t[12].dims[3] = 7; S.t[12].bytes = 28;
  expect_fail(&S, FV_ERR_BAD_MODEL, "depthwise", "depthwise channels");
  model_b(&S); S.t[1].dims[1] = 4; S.t[1].dims[0] = 1; S.t[1].bytes = 16;
  expect_fail(&S, FV_ERR_BAD_MODEL, "", "fc weights vs input");
  model_b(&S); S.o[0].f[0] = (ofield){1, 1, 1};
  expect_fail(&S, FV_ERR_UNSUPPORTED, "weights_format", "shuffled fc weights");
  model_b(&S); S.t[15].rank = 3; S.t[15].dims[0] = 1; S.t[15].dims[1] = 1; S.t[15].dims[2] = 8;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "rank 3", "rank-3 activation");
  model_b(&S); /* concat with a [1,2] constant: fine */
  S.t[18] = (tspec){.name = "cat_const", .type = F32, .rank = 2, .dims = {1, 2}, .data = B_fc1, .bytes = 8};
  S.nt = 19;
  S.o[2].in[1] = 18;
  {
    fv_error e;
    fv_model *m = load_spec(&S, &e);
    CHECK(m && m->ops[2].inputs[1] == 18 && m->tensors[18].data[1] == 2.0f, "concat with a constant: %s", m ? "" : e.msg);
    fv_model_free(m);
  }
  S.t[18].dims[0] = 2; S.t[18].bytes = 16;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "rank-2 constant input with 2 rows", "concat with a [2,2] constant");
  model_a(&S); S.t[9].rank = 2; S.t[9].dims[0] = 1; S.t[9].dims[1] = 2;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "constant operand of shape rank 2", "rank-2 constant with a rank-4 activation");
  model_b(&S); /* ADD of [1,2] and a [2,2] constant: numpy would broadcast, the NHWC layouts would not */
  S.t[18] = (tspec){.name = "add_const", .type = F32, .rank = 2, .dims = {2, 2}, .data = B_fc1, .bytes = 16};
  S.nt = 19;
  S.o[2] = (ospec){.code = 0, .nin = 2, .in = {3, 18}, .out = {6}, .opt_type = OPT_ADD};
  S.t[6].dims[0] = 2; S.t[6].dims[1] = 2;
  expect_fail(&S, FV_ERR_UNSUPPORTED, "(leading 2) with a rank-2 activation", "ADD with a [2,2] constant");
  model_b(&S); S.o[8].f[0] = (ofield){0, 1, 1}; S.o[8].nf = 1;
  expect_fail(&S, FV_ERR_BAD_MODEL, "does not follow", "mean keep_dims vs output");
}

/* ==== the store's models =================================================== */
typedef struct {
  const char *file;
  int n_ops, n_conv, n_dw, n_add, size, ch0;
  const char *layer;   /* a known layer ... */
  int layer_dims[4];   /* ... and its shape */
  fv_op_kind layer_kind;
} store_model;

static const store_model STORE[3] = {
    {"mobilenet_v2_1.0_224_quant.tflite", 66, 36, 17, 10, 224, 32, "MobilenetV2/expanded_conv_8/add", {1, 14, 14, 64}, FV_OP_ADD},
    {"mobilenet_v1_0.75_192_quant.tflite", 31, 15, 13, 0, 192, 24, "MobilenetV1/MobilenetV1/Conv2d_13_pointwise/Relu6", {1, 6, 6, 768}, FV_OP_CONV2D},
    {"mobilenet_v1_0.25_128_quant.tflite", 31, 15, 13, 0, 128, 8, "MobilenetV1/Logits/AvgPool_1a/AvgPool", {1, 1, 1, 256}, FV_OP_AVGPOOL2D},
};

static uint8_t *read_store(const char *file, size_t *n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", check_models_dir(), file);
  uint8_t *b = check_read_file(path, n);
  CHECK(b != NULL, "read %s", path);
  return b;
}

/* Every constant against the walker's raw bytes, plus grid invariants. */
static void check_dequant(const uint8_t *b, const fv_model *m, const char *file) {
  int n_u8 = 0, n_i32 = 0, bad_value = 0, bad_grid = 0, bad_name = 0, bad_bias = 0;
  for (int i = 0; i < m->n_tensors; i++) {
    wtensor w;
    w_tensor(b, i, &w);
    char first[256];
    snprintf(first, sizeof first, "%s", w.name);
    char *semi = strchr(first, ';');
    if (semi) *semi = 0;
    if (strcmp(first, m->tensors[i].name) != 0) bad_name++;
    if (!w.bytes) {
      if (m->tensors[i].data) bad_value++;
      continue;
    }
    const float *d = m->tensors[i].data;
    if (!d) {
      bad_value++;
      continue;
    }
    double s = w.nscale ? lef32(w.scale) : 1, z = w.nzp ? (double)lei64(w.zp) : 0;
    if (w.type == U8) {
      n_u8++;
      if (w.nscale != 1) bad_value++;
      float lo = (float)(s * (0 - z)), hi = (float)(s * (255 - z));
      for (uint32_t k = 0; k < w.bytes; k++) {
        float want = (float)(s * ((double)w.data[k] - z));
        if (!same_bits(d[k], want)) bad_value++;
        double q = d[k] / s + z; /* back on the grid, within the uint8 range */
        if (fabs(q - floor(q + 0.5)) > 1e-3 || q < -1e-3 || q > 255.001 || d[k] < lo || d[k] > hi) bad_grid++;
      }
    } else if (w.type == I32) {
      n_i32++;
      for (uint32_t k = 0; k < w.bytes / 4; k++) {
        int32_t q = (int32_t)le32(w.data + 4 * k);
        float want = (float)(s * ((double)q - z));
        if (!same_bits(d[k], want)) bad_value++;
        double r = d[k] / s; /* an integer multiple of the bias scale */
        if (w.nscale && fabs(r - floor(r + 0.5)) > 1e-6 * fmax(1.0, fabs(r))) bad_bias++;
      }
    } else {
      bad_value++;
    }
  }
  CHECK(n_u8 > 20 && n_i32 > 20, "%s: %d uint8 and %d int32 constants", file, n_u8, n_i32);
  CHECK(bad_value == 0, "%s: %d constants differ from scale*(q-z) of the raw bytes", file, bad_value);
  CHECK(bad_grid == 0, "%s: %d values off the uint8 grid", file, bad_grid);
  CHECK(bad_bias == 0, "%s: %d biases not multiples of their scale", file, bad_bias);
  CHECK(bad_name == 0, "%s: %d names differ", file, bad_name);
}

/* A depthwise layer recomputed by hand from the walker: its weights are the
 * op's input 1 and follow [1,KH,KW,C]. */
static void test_store_model(const store_model *sm) {
  size_t n;
  uint8_t *b = read_store(sm->file, &n);
  if (!b) return;
  fv_error e;
  fv_model *m = fv_model_load(b, n, &e);
  CHECK(m != NULL, "%s: %s", sm->file, e.msg);
  if (!m) {
    free(b);
    return;
  }
  CHECK(e.code == FV_OK, "no error set");
  CHECK(sane_model(m), "%s sane", sm->file);
  CHECK(fv_model_layer_count(m) == sm->n_ops, "%s: %d layers", sm->file, fv_model_layer_count(m));
  int counts[FV_OP_COUNT] = {0};
  for (int i = 0; i < m->n_ops; i++) counts[m->ops[i].kind]++;
  CHECK(counts[FV_OP_CONV2D] == sm->n_conv && counts[FV_OP_DWCONV2D] == sm->n_dw && counts[FV_OP_ADD] == sm->n_add &&
            counts[FV_OP_AVGPOOL2D] == 1 && counts[FV_OP_RESHAPE] == 1 && counts[FV_OP_SOFTMAX] == 1,
        "%s: op kinds", sm->file);
  CHECK(m->ops[m->n_ops - 1].kind == FV_OP_SOFTMAX && m->ops[m->n_ops - 1].output == m->output, "softmax last");
  CHECK(in_min(m) == -1.0f && in_max(m) == 127.0f / 128.0f && !fv_model_input_bgr(m) &&
            strcmp(fv_model_input_source(m), "input quantization") == 0,
        "%s: input range %.9g %.9g", sm->file, in_min(m), in_max(m));
  CHECK(fv_model_input_dim(m, 0) == 1 && fv_model_input_dim(m, 1) == sm->size && fv_model_input_dim(m, 2) == sm->size &&
            fv_model_input_dim(m, 3) == 3,
        "%s: input dims", sm->file);
  int L = fv_model_layer_find(m, sm->layer);
  CHECK(L >= 0, "%s: layer %s", sm->file, sm->layer);
  if (L >= 0) {
    CHECK(m->ops[L].kind == sm->layer_kind, "kind of %s", sm->layer);
    for (int d = 0; d < 4; d++)
      CHECK(fv_model_layer_dim(m, L, d) == sm->layer_dims[d], "%s dim %d = %d", sm->layer, d, fv_model_layer_dim(m, L, d));
  }
  /* the first conv: stride 2, SAME, RELU6, 3x3x3 filters */
  const fv_op *c0 = &m->ops[0];
  const fv_tensor *w0 = &m->tensors[c0->inputs[1]];
  CHECK(c0->kind == FV_OP_CONV2D && c0->stride_h == 2 && c0->stride_w == 2 && c0->padding == FV_PADDING_SAME &&
            c0->act == FV_ACT_RELU6 && c0->inputs[0] == m->input,
        "first conv");
  CHECK(w0->rank == 4 && w0->dims[0] == sm->ch0 && w0->dims[1] == 3 && w0->dims[2] == 3 && w0->dims[3] == 3, "first filter");
  CHECK(fv_model_layer_dim(m, 0, 1) == sm->size / 2 && fv_model_layer_dim(m, 0, 3) == sm->ch0, "first layer dims");
  int dw_ok = 1, pool_ok = 0, reshape_ok = 0, names_unique = 1;
  for (int i = 0; i < m->n_ops; i++) {
    const fv_op *op = &m->ops[i];
    if (op->kind == FV_OP_DWCONV2D)
      dw_ok &= op->depth_mult == 1 && m->tensors[op->inputs[1]].dims[1] == 3 && op->act == FV_ACT_RELU6;
    if (op->kind == FV_OP_AVGPOOL2D)
      pool_ok = op->padding == FV_PADDING_VALID && op->filter_h == m->tensors[op->inputs[0]].dims[1] &&
                fv_model_layer_dim(m, i, 1) == 1;
    if (op->kind == FV_OP_RESHAPE)
      reshape_ok = op->new_rank == 2 && op->new_shape[0] == 1 && op->new_shape[1] == 1001 &&
                   fv_model_layer_dim(m, i, 3) == 1001;
    for (int j = 0; j < i; j++)
      if (strcmp(fv_model_layer_name(m, i), fv_model_layer_name(m, j)) == 0) names_unique = 0;
  }
  CHECK(dw_ok && pool_ok && reshape_ok, "%s: depthwise %d, pool %d, reshape %d", sm->file, dw_ok, pool_ok, reshape_ok);
  CHECK(names_unique, "%s: layer names unique", sm->file);
  CHECK(m->ops[m->n_ops - 1].beta == 1.0f, "softmax beta 1");
  check_dequant(b, m, sm->file);
  fv_model_free(m);
  free(b);
}

/* ==== robustness ============================================================ */
/* Positions where the file's structures begin and end (tables, vectors,
 * buffer data), found with the walker, for truncations right at them. */
static size_t structure_points(const uint8_t *b, size_t *pts, size_t cap) {
  size_t np = 0;
#define PT(p) \
  do {        \
    if (np < cap) pts[np++] = (p); \
  } while (0)
#define PT_TABLE(t) /* the table, and cuts inside its vtable */ \
  do {                                                       \
    size_t vt_ = (size_t)((int64_t)(t) - (int32_t)le32(b + (t))); \
    PT(t);                                                   \
    PT(vt_ + 2);                                             \
    PT(vt_ + 5);                                             \
  } while (0)
  size_t mt = w_model(b);
  PT_TABLE(mt);
  uint32_t n;
  size_t sg = w_subgraph0(b);
  PT_TABLE(sg);
  size_t tv = w_vec(b, sg, 0, &n);
  PT(tv);
  PT(tv + 4 * (size_t)n);
  for (uint32_t i = 0; i < n; i += 7) {
    size_t t = w_elem_table(b, tv, i);
    PT_TABLE(t);
    uint32_t k;
    size_t sh = w_vec(b, t, 0, &k);
    if (sh) PT(sh + 4 * (size_t)k);
  }
  size_t ov = w_vec(b, sg, 3, &n);
  PT(ov);
  for (uint32_t i = 0; i < n; i += 5) PT_TABLE(w_elem_table(b, ov, i));
  size_t bv = w_vec(b, mt, 4, &n);
  PT(bv);
  for (uint32_t i = 0; i < n; i += 9) {
    size_t bt = w_elem_table(b, bv, i);
    uint32_t len;
    size_t d = w_vec(b, bt, 0, &len);
    PT_TABLE(bt);
    if (d) {
      PT(d);
      PT(d + len);
    }
  }
  return np;
#undef PT
#undef PT_TABLE
}

/* A truncation to len bytes: the bytes after len are poisoned for ASan, so
 * any read past the end is caught without copying the file each time. (In
 * a build without ASan the macros do nothing.) */
static int truncated_is_clean_ex(uint8_t *b, size_t n, size_t len, int *loaded) {
  ASAN_POISON_MEMORY_REGION(b + len, n - len);
  int ok = load_is_clean_ex(len ? b : NULL, len, loaded);
  ASAN_UNPOISON_MEMORY_REGION(b + len, n - len);
  return ok;
}
static int truncated_is_clean(uint8_t *b, size_t n, size_t len) { return truncated_is_clean_ex(b, n, len, NULL); }

/* End of the last constant buffer's data: the converter writes the weights
 * first and the graph's metadata after them (the Model table itself sits at
 * the start and points forward). */
static size_t data_end(const uint8_t *b) {
  uint32_t nb, len;
  size_t bv = w_vec(b, w_model(b), 4, &nb), end = 0;
  for (uint32_t i = 0; i < nb; i++) {
    size_t d = w_vec(b, w_elem_table(b, bv, i), 0, &len);
    if (d && d + len > end) end = d + len;
  }
  return end;
}

static void test_truncations(uint8_t *b, size_t n, const char *file) {
  int bad = 0, tried = 0;
  /* every length in the first 2 KB and in the metadata after the weights
   * (up to where the flatbuffer ends: the store's files carry a zip of
   * labels after it, so longer truncations load), a coarse grid, and
   * around structure boundaries */
  for (size_t len = 0; len < 2048 && len < n; len++, tried++) bad += !truncated_is_clean(b, n, len);
  size_t lo = data_end(b);
  int run = 0;
  for (size_t len = lo; len < n && run < 8; len++, tried++) {
    int loaded;
    bad += !truncated_is_clean_ex(b, n, len, &loaded);
    run = loaded ? run + 1 : 0;
  }
  for (int k = 0; k < 100; k++, tried++) bad += !truncated_is_clean(b, n, (n - 1) / 100 * (size_t)k);
  size_t pts[1000];
  size_t np = structure_points(b, pts, 1000);
  for (size_t k = 0; k < np; k++) {
    for (int d = -1; d <= 1; d++) {
      size_t len = pts[k] + (size_t)d;
      if (len >= n) continue;
      bad += !truncated_is_clean(b, n, len);
      tried++;
    }
  }
  bad += !truncated_is_clean(b, n, n - 1);
  printf("  %s: %d truncations (metadata from %zu)\n", file, tried, lo);
  CHECK(bad == 0 && tried > 2500, "%s: %d of %d truncations unclean", file, bad, tried);
}

/* Byte flips: a quarter anywhere, the rest in the metadata outside the
 * constant buffers (where they matter), with 1-3 flips per trial. */
static void test_flips(const uint8_t *b, size_t n, const char *file, int trials) {
  uint8_t *c = (uint8_t *)malloc(n);
  int bad = 0, loaded = 0;
  check_seed(0xF11Bull ^ n);
  /* the metadata is everything outside the buffers' data */
  size_t mt = w_model(b);
  uint32_t nb;
  size_t bv = w_vec(b, mt, 4, &nb);
  uint8_t *is_data = (uint8_t *)calloc(n, 1);
  for (uint32_t i = 0; i < nb; i++) {
    uint32_t len;
    size_t d = w_vec(b, w_elem_table(b, bv, i), 0, &len);
    if (d) memset(is_data + d, 1, len);
  }
  size_t *meta = (size_t *)malloc(n * sizeof(size_t)), nmeta = 0;
  for (size_t i = 0; i < n; i++)
    if (!is_data[i]) meta[nmeta++] = i;
  memcpy(c, b, n);
  for (int t = 0; t < trials; t++) {
    size_t pos[3];
    int nf = check_int(1, 3);
    for (int k = 0; k < nf; k++) {
      pos[k] = (t % 4 == 0) ? check_u32() % n : meta[check_u32() % nmeta];
      c[pos[k]] ^= (uint8_t)check_int(1, 255);
    }
    fv_error e;
    fv_model *m = fv_model_load(c, n, &e);
    loaded += m != NULL;
    int ok = m ? (e.code == FV_OK && sane_model(m)) : (e.code != FV_OK && e.msg[0] != 0);
    if (!ok) printf("  flip trial %d unclean: %d %s\n", t, e.code, e.msg);
    bad += !ok;
    fv_model_free(m);
    for (int k = 0; k < nf; k++) c[pos[k]] = b[pos[k]];
  }
  CHECK(bad == 0, "%s: %d of %d flip trials unclean (%d loaded)", file, bad, trials, loaded);
  free(meta);
  free(is_data);
  free(c);
}

/* Patch the first operator code whose deprecated_builtin_code is stored to
 * LSTM (16); the first op using it must be named in the message. */
static void test_patched_op(const uint8_t *b, size_t n, const char *file) {
  uint8_t *c = (uint8_t *)malloc(n);
  memcpy(c, b, n);
  size_t mt = w_model(c);
  uint32_t ncodes, nops;
  size_t cv = w_vec(c, mt, 1, &ncodes);
  int patched = -1;
  for (uint32_t k = 0; k < ncodes && patched < 0; k++) {
    size_t oc = w_elem_table(c, cv, k);
    size_t f = w_field(c, oc, 0);
    if (!f) continue;
    c[f] = 16;
    size_t f3 = w_field(c, oc, 3);
    if (f3) c[f3] = 16, c[f3 + 1] = c[f3 + 2] = c[f3 + 3] = 0;
    patched = (int)k;
  }
  size_t ov = w_vec(c, w_subgraph0(c), 3, &nops);
  int first = -1;
  for (uint32_t i = 0; i < nops && first < 0; i++) {
    size_t f = w_field(c, w_elem_table(c, ov, i), 0);
    if ((f ? (int)le32(c + f) : 0) == patched) first = (int)i;
  }
  char want[96];
  snprintf(want, sizeof want, "unsupported op LSTM (builtin 16) at operator %d", first);
  fv_error e;
  fv_model *m = fv_model_load(c, n, &e);
  CHECK(patched >= 0 && first >= 0 && !m && e.code == FV_ERR_UNSUPPORTED && strcmp(e.msg, want) == 0,
        "%s patched: '%s' (want '%s')", file, e.msg, want);
  fv_model_free(m);
  free(c);
}

static void test_junk(void) {
  fv_error e;
  static const uint8_t png[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  fv_model *m = fv_model_load(NULL, 0, &e);
  CHECK(!m && e.code == FV_ERR_BAD_MODEL && strstr(e.msg, "too small"), "empty: %s", e.msg);
  m = fv_model_load((const uint8_t *)"TFL3", 4, &e);
  CHECK(!m && e.code == FV_ERR_BAD_MODEL && strstr(e.msg, "too small"), "4 bytes: %s", e.msg);
  m = fv_model_load(png, sizeof png, &e);
  CHECK(!m && e.code == FV_ERR_BAD_MODEL && strstr(e.msg, "expected 'TFL3'"), "png: %s", e.msg);
  static const uint8_t wrong[16] = {12, 0, 0, 0, 'T', 'F', 'L', '2', 0};
  m = fv_model_load(wrong, sizeof wrong, &e);
  CHECK(!m && e.code == FV_ERR_BAD_MODEL && strstr(e.msg, "'TFL2'"), "identifier TFL2: %s", e.msg);
  /* a vtable that claims to run past the end of the file */
  static const uint8_t vt_past_end[16] = {8, 0, 0, 0, 'T', 'F', 'L', '3', 0xFC, 0xFF, 0xFF, 0xFF, 64, 0, 4, 0};
  uint8_t *r = (uint8_t *)malloc(sizeof vt_past_end);
  memcpy(r, vt_past_end, sizeof vt_past_end);
  m = fv_model_load(r, sizeof vt_past_end, &e);
  CHECK(!m && e.code == FV_ERR_BAD_MODEL && strstr(e.msg, "corrupt vtable"), "vtable past the end: %s", e.msg);
  free(r);
  r = (uint8_t *)malloc(65536);
  check_seed(7);
  int bad = 0;
  for (int t = 0; t < 200; t++) {
    size_t len = (size_t)check_int(0, 65535);
    for (size_t k = 0; k < len; k++) r[k] = (uint8_t)check_u32();
    if (t % 2 && len >= 8) memcpy(r + 4, "TFL3", 4); /* get past the identifier */
    if (t % 4 == 1 && len >= 8) r[0] = (uint8_t)check_int(8, 64), r[1] = r[2] = r[3] = 0;
    bad += !truncated_is_clean(r, 65536, len);
  }
  CHECK(bad == 0, "random bytes: %d unclean", bad);
  free(r);
  m = fv_model_load(png, sizeof png, NULL); /* no error struct: still no crash */
  CHECK(!m, "NULL err");
  CHECK(fv_model_layer_count(NULL) == 0 && fv_model_layer_find(NULL, "x") == -1 && fv_model_layer_name(NULL, 0) == NULL,
        "getters accept NULL");
  fv_model_free(NULL);
  CHECK(strcmp(fv_op_name(FV_OP_DWCONV2D), "DEPTHWISE_CONV_2D") == 0 && strcmp(fv_op_name(FV_OP_COUNT), "UNKNOWN") == 0,
        "fv_op_name");
}

/* `tflite_test --write-seeds DIR`: the hand-built models as files, small
 * valid seeds for the fuzzer (scripts/fuzz.sh). */
static int write_seeds(const char *dir) {
  mspec S;
  int bad = 0;
  for (int k = 0; k < 4; k++) {
    if (k == 0 || k == 2) model_a(&S);
    else model_b(&S);
    if (k == 2) { /* quantized input, old-style operator codes */
      S.t[0].type = U8;
      S.t[0].nscale = 1;
      S.t[0].scale[0] = 0.0078125f;
      S.t[0].nzp = 1;
      S.t[0].zp[0] = 128;
    }
    if (k == 3) S.new_codes = 0;
    size_t n;
    uint8_t *b = build_model(&S, &n);
    char path[512];
    snprintf(path, sizeof path, "%s/built_%d.tflite", dir, k);
    FILE *f = fopen(path, "wb");
    bad |= !f || fwrite(b, 1, n, f) != n;
    if (f) fclose(f);
    free(b);
  }
  return bad;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
  test_junk();
  test_model_a();
  test_model_b();
  test_model_c();
  test_metadata();
  test_public_view();
  test_refusals();
  for (int i = 0; i < 3; i++) {
    test_store_model(&STORE[i]);
    size_t n;
    uint8_t *b = read_store(STORE[i].file, &n);
    if (!b) continue;
    test_patched_op(b, n, STORE[i].file);
    test_truncations(b, n, STORE[i].file);
    test_flips(b, n, STORE[i].file, i == 2 ? 400 : 200);
    free(b);
  }
  return check_summary("tflite");
}
