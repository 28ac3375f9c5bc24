/* onnx_proto.c — ModelProto → fv_onnx_graph (see onnx_proto.h).
 *
 * Field numbers (onnx/onnx.proto):
 *   ModelProto        ir_version 1, producer_name 2, graph 7, opset_import 8, metadata_props 14
 *   OperatorSetIdProto domain 1, version 2
 *   StringStringEntry key 1, value 2
 *   GraphProto        node 1, initializer 5, input 11, output 12, sparse_initializer 15
 *   NodeProto         input 1, output 2, name 3, op_type 4, attribute 5, domain 7
 *   AttributeProto    name 1, f 2, i 3, s 4, t 5, g 6, floats 7, ints 8, strings 9, type 20
 *   TensorProto       dims 1, data_type 2, segment 3, float_data 4, int32_data 5, string_data 6,
 *                     int64_data 7, name 8, raw_data 9, double_data 10, uint64_data 11,
 *                     external_data 13, data_location 14
 *   ValueInfoProto    name 1, type 2;  TypeProto tensor_type 1;  Tensor elem_type 1, shape 2
 *   TensorShapeProto  dim 1;  Dimension dim_value 1, dim_param 2
 * Fields we do not use are skipped, whatever their number.
 */
#include "onnx_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "protobuf.h"
#include "loader.h"

/* ==== limits =============================================================== */
#define MAX_NODES 100000
#define MAX_INITS 100000
#define MAX_NODE_IO 4096
#define MAX_ATTRS 256
#define MAX_ATTR_VALUES (1 << 20)
#define MAX_NAME 4096
#define MAX_DIM ((int64_t)1 << 24)
#define MAX_ELEMS ((int64_t)1 << 28)

/* ==== allocation: one list the graph owns ================================== */
struct fv_onnx_block {
  fv_onnx_block *next;
  max_align_t align[];
};

typedef struct {
  fv_onnx_graph *g;
  fv_error *err;
  char where[96];
} rd;

static int fail(rd *R, fv_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(rd *R, fv_status code, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (R->where[0]) fv_error_set(R->err, code, "%s: %s", R->where, msg);
  else fv_error_set(R->err, code, "%s", msg);
  return 0;
}

static void *alloc(rd *R, size_t n) {
  fv_onnx_block *b = (fv_onnx_block *)calloc(1, sizeof(fv_onnx_block) + (n ? n : 1));
  if (!b) {
    fail(R, FV_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  b->next = R->g->mem;
  R->g->mem = b;
  return b->align;
}

void fv_onnx_graph_free(fv_onnx_graph *g) {
  if (!g) return;
  for (fv_onnx_block *b = g->mem, *nx; b; b = nx) {
    nx = b->next;
    free(b);
  }
  memset(g, 0, sizeof *g);
}

/* A protobuf failure inside a message, reported with the reader's reason. */
static int pb_bad(rd *R, const fv_pb *r, const char *what) {
  return fail(R, BAD, "malformed %s: %s (byte %zu of %zu)", what, r->why ? r->why : "?", r->pos, r->n);
}

/* A string field as a NUL-terminated copy. */
static int str(rd *R, const fv_pb_field *f, const char **out, const char *what) {
  if (f->wire != FV_PB_LEN) return fail(R, BAD, "%s is not a string", what);
  if (f->len > MAX_NAME) return fail(R, BAD, "%s has %zu bytes (the limit is %d)", what, f->len, MAX_NAME);
  if (memchr(f->data, 0, f->len)) return fail(R, BAD, "%s contains a NUL byte", what);
  char *s = (char *)alloc(R, f->len + 1);
  if (!s) return 0;
  memcpy(s, f->data, f->len);
  s[f->len] = 0;
  *out = s;
  return 1;
}

static int varint_field(rd *R, const fv_pb_field *f, int64_t *v, const char *what) {
  if (f->wire != FV_PB_VARINT) return fail(R, BAD, "%s is not a varint", what);
  *v = fv_pb_int64(f->v);
  return 1;
}

/* ==== data types ================================================================ */
fv_dtype fv_onnx_dtype(int t) {
  switch (t) {
    case FV_ONNX_FLOAT: return FV_DT_F32;
    case FV_ONNX_UINT8: return FV_DT_U8;
    case FV_ONNX_INT8: return FV_DT_I8;
    case FV_ONNX_UINT16: return FV_DT_U16;
    case FV_ONNX_INT16: return FV_DT_I16;
    case FV_ONNX_INT32: return FV_DT_I32;
    case FV_ONNX_INT64: return FV_DT_I64;
    case FV_ONNX_BOOL: return FV_DT_BOOL;
    case FV_ONNX_FLOAT16: return FV_DT_F16;
    case FV_ONNX_DOUBLE: return FV_DT_F64;
    case FV_ONNX_UINT32: return FV_DT_U32;
    case FV_ONNX_UINT64: return FV_DT_U64;
    case FV_ONNX_BFLOAT16: return FV_DT_BF16;
    default: return FV_DT_NONE;
  }
}

const char *fv_onnx_dtype_name(int t) {
  static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",  "INT8",   "UINT16",    "INT16",
                                      "INT32",     "INT64",  "STRING", "BOOL",   "FLOAT16",   "DOUBLE",
                                      "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "unknown type";
}

int fv_onnx_dtype_is_int(int t) {
  fv_dtype d = fv_onnx_dtype(t);
  return d != FV_DT_NONE && !fv_dtype_is_float(d);
}

/* The typed field that holds a type's values when there is no raw_data. */
static int typed_field_of(int t) {
  switch (t) {
    case FV_ONNX_FLOAT: return 4;
    case FV_ONNX_UINT8: case FV_ONNX_INT8: case FV_ONNX_UINT16: case FV_ONNX_INT16: case FV_ONNX_INT32:
    case FV_ONNX_BOOL: case FV_ONNX_FLOAT16: case FV_ONNX_BFLOAT16: return 5;
    case FV_ONNX_INT64: return 7;
    case FV_ONNX_DOUBLE: return 10;
    case FV_ONNX_UINT32: case FV_ONNX_UINT64: return 11;
    default: return 0;
  }
}
static int typed_wire(int field) { return field == 4 ? FV_PB_I32 : field == 10 ? FV_PB_I64 : FV_PB_VARINT; }

/* ==== tensors ===================================================================== */
static int read_tensor(rd *R, const uint8_t *p, size_t n, fv_onnx_tensor *t, const char *what) {
  fv_pb r;
  fv_pb_field f;
  int s, has_type = 0, location = 0;
  int64_t typed_count[12] = {0};
  memset(t, 0, sizeof *t);
  t->name = "";
  fv_pb_init(&r, p, n);
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    switch (f.num) {
      case 1: { /* dims, packed or not */
        fv_pb_values it;
        uint64_t v;
        int e;
        if (!fv_pb_values_init(&it, &f, FV_PB_VARINT)) return fail(R, BAD, "%s: dims are not integers", what);
        while ((e = fv_pb_values_next(&it, &v)) == FV_PB_FIELD) {
          if (t->rank >= FV_ONNX_MAX_RANK)
            return fail(R, FV_ERR_UNSUPPORTED, "%s '%.60s' has more than %d dimensions", what, t->name,
                        FV_ONNX_MAX_RANK);
          t->dims[t->rank++] = fv_pb_int64(v);
        }
        if (e == FV_PB_BAD) return fail(R, BAD, "%s: malformed dims", what);
        break;
      }
      case 2: {
        int64_t v;
        TRY(varint_field(R, &f, &v, "data_type"));
        t->dtype = v >= 0 && v < 64 ? (int)v : -1;
        has_type = 1;
        break;
      }
      case 3: return fail(R, FV_ERR_UNSUPPORTED, "%s is segmented (TensorProto.segment)", what);
      case 8: TRY(str(R, &f, &t->name, "a tensor name")); break;
      case 9:
        if (f.wire != FV_PB_LEN) return fail(R, BAD, "%s: raw_data is not bytes", what);
        t->raw = f.data;
        t->raw_len = f.len;
        break;
      case 13: location = 1; break; /* external_data entries */
      case 14: {
        int64_t v;
        TRY(varint_field(R, &f, &v, "data_location"));
        if (v == 1) location = 1;
        break;
      }
      case 4: case 5: case 6: case 7: case 10: case 11: {
        int64_t c = f.num == 6 ? 1 : fv_pb_values_count(&f, typed_wire((int)f.num));
        if (c < 0) return fail(R, BAD, "%s: malformed values (field %u)", what, f.num);
        typed_count[f.num] += c;
        break;
      }
      default: break;
    }
  }
  if (s == FV_PB_BAD) return pb_bad(R, &r, what);
  if (!has_type) return fail(R, BAD, "%s '%.60s' has no data_type", what, t->name);
  if (location)
    return fail(R, FV_ERR_UNSUPPORTED,
                "%s '%.60s' keeps its data in an external file; featviz reads single-file models "
                "(save with onnx.save_model(..., save_as_external_data=False))",
                what, t->name);
  t->count = 1;
  for (int k = 0; k < t->rank; k++) {
    if (t->dims[k] < 0 || t->dims[k] > MAX_DIM)
      return fail(R, BAD, "%s '%.60s' has dimension %d of size %lld", what, t->name, k, (long long)t->dims[k]);
    t->count *= t->dims[k];
    if (t->count > MAX_ELEMS) return fail(R, BAD, "%s '%.60s' has too many elements", what, t->name);
  }
  fv_dtype dt = fv_onnx_dtype(t->dtype);
  if (t->raw) {
    if (dt == FV_DT_NONE)
      return fail(R, FV_ERR_UNSUPPORTED, "%s '%.60s' has type %s", what, t->name, fv_onnx_dtype_name(t->dtype));
    if ((uint64_t)t->count * (uint64_t)fv_dtype_size(dt) != t->raw_len)
      return fail(R, BAD, "%s '%.60s' holds %zu bytes; its shape of %lld %s elements needs %lld", what, t->name,
                  t->raw_len, (long long)t->count, fv_onnx_dtype_name(t->dtype),
                  (long long)t->count * fv_dtype_size(dt));
    return 1;
  }
  t->typed_field = typed_field_of(t->dtype);
  int64_t have = t->typed_field ? typed_count[t->typed_field] : 0;
  if (t->dtype == FV_ONNX_STRING) have = typed_count[6];
  if (have != t->count)
    return fail(R, BAD, "%s '%.60s' holds %lld values; its shape needs %lld", what, t->name, (long long)have,
                (long long)t->count);
  t->msg = p;
  t->msg_len = n;
  return 1;
}

/* Typed values, each handed to put(k, bits) in order. */
typedef void (*put_fn)(void *out, int64_t k, uint64_t bits, int dtype);

static int typed_values(const fv_onnx_tensor *t, void *out, put_fn put, fv_error *err) {
  fv_pb r;
  fv_pb_field f;
  int s;
  int64_t k = 0;
  const int wire = typed_wire(t->typed_field);
  fv_pb_init(&r, t->msg, t->msg_len);
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    if ((int)f.num != t->typed_field) continue;
    fv_pb_values it;
    uint64_t v;
    int e;
    if (!fv_pb_values_init(&it, &f, wire)) break;
    while ((e = fv_pb_values_next(&it, &v)) == FV_PB_FIELD && k < t->count) put(out, k++, v, t->dtype);
    if (e == FV_PB_BAD) break;
  }
  if (k != t->count) {
    fv_error_set(err, FV_ERR_BAD_MODEL, "tensor '%.60s': malformed values", t->name);
    return 0;
  }
  return 1;
}

/* A typed element as a double: int32_data holds the narrow types (float16 as bits). */
static double typed_double(uint64_t bits, int dtype) {
  switch (dtype) {
    case FV_ONNX_FLOAT: return fv_pb_float(bits);
    case FV_ONNX_DOUBLE: return fv_pb_double(bits);
    case FV_ONNX_FLOAT16: return fv_half_to_float((uint16_t)bits);
    case FV_ONNX_BFLOAT16: {
      uint8_t b[2] = {(uint8_t)bits, (uint8_t)(bits >> 8)};
      return fv_dtype_load(b, FV_DT_BF16);
    }
    case FV_ONNX_UINT64: case FV_ONNX_UINT32: return (double)bits;
    default: return (double)fv_pb_int64(bits); /* int32 varints are sign-extended */
  }
}
static void put_f32(void *out, int64_t k, uint64_t bits, int dtype) { ((float *)out)[k] = (float)typed_double(bits, dtype); }
static void put_i64(void *out, int64_t k, uint64_t bits, int dtype) {
  ((int64_t *)out)[k] = dtype == FV_ONNX_BOOL ? bits != 0 : fv_pb_int64(bits);
}

int fv_onnx_tensor_f32(const fv_onnx_tensor *t, float *out, fv_error *err) {
  fv_dtype dt = fv_onnx_dtype(t->dtype);
  if (dt == FV_DT_NONE) {
    fv_error_set(err, FV_ERR_UNSUPPORTED, "tensor '%.60s' has type %s", t->name, fv_onnx_dtype_name(t->dtype));
    return 0;
  }
  if (t->raw) {
    if (!fv_dequantize(t->raw, dt, 1, 1, t->count, NULL, NULL, out)) {
      fv_error_set(err, FV_ERR_BAD_MODEL, "tensor '%.60s' holds an infinite or NaN value", t->name);
      return 0;
    }
    return 1;
  }
  TRY(typed_values(t, out, put_f32, err));
  for (int64_t k = 0; k < t->count; k++)
    if (!(out[k] - out[k] == 0)) {
      fv_error_set(err, FV_ERR_BAD_MODEL, "tensor '%.60s' holds an infinite or NaN value", t->name);
      return 0;
    }
  return 1;
}

int fv_onnx_tensor_i64(const fv_onnx_tensor *t, int64_t *out, fv_error *err) {
  fv_dtype dt = fv_onnx_dtype(t->dtype);
  if (!fv_onnx_dtype_is_int(t->dtype)) {
    fv_error_set(err, FV_ERR_BAD_MODEL, "tensor '%.60s' has type %s where integers are expected", t->name,
                 fv_onnx_dtype_name(t->dtype));
    return 0;
  }
  if (t->raw) {
    const int es = fv_dtype_size(dt);
    for (int64_t k = 0; k < t->count; k++) {
      const uint8_t *q = t->raw + (size_t)k * (size_t)es;
      /* 64-bit values directly: a double would round INT64_MAX (Slice's "to the end") */
      out[k] = dt == FV_DT_I64 || dt == FV_DT_U64 ? (int64_t)fv_le_i64(q) : (int64_t)fv_dtype_load(q, dt);
    }
    return 1;
  }
  return typed_values(t, out, put_i64, err);
}

/* ==== attributes and nodes ========================================================== */
static int read_attr(rd *R, const fv_pb_field *af, fv_onnx_attr *a) {
  fv_pb r;
  fv_pb_field f;
  int s;
  int64_t n_ints = 0, n_floats = 0;
  static const int64_t no_ints[1];
  static const float no_floats[1];
  memset(a, 0, sizeof *a);
  a->name = "";
  a->ints = no_ints; /* never NULL, so an empty list can be copied */
  a->floats = no_floats;
  fv_pb_init(&r, af->data, af->len);
  /* pass 1: scalars and counts */
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    switch (f.num) {
      case 1: TRY(str(R, &f, &a->name, "an attribute name")); break;
      case 20: {
        int64_t v;
        TRY(varint_field(R, &f, &v, "attribute type"));
        a->type = (int)(v >= 0 && v < 64 ? v : 0);
        break;
      }
      case 2:
        if (f.wire != FV_PB_I32) return fail(R, BAD, "attribute f is not a float");
        a->f = fv_pb_float(f.v);
        break;
      case 3: TRY(varint_field(R, &f, &a->i, "attribute i")); break;
      case 4: TRY(str(R, &f, &a->s, "attribute s")); break;
      case 5:
        if (f.wire != FV_PB_LEN) return fail(R, BAD, "attribute t is not a tensor");
        a->t = (fv_onnx_tensor *)alloc(R, sizeof *a->t);
        TRY(a->t);
        TRY(read_tensor(R, f.data, f.len, a->t, "an attribute's tensor"));
        break;
      case 7: case 8: {
        int64_t c = fv_pb_values_count(&f, f.num == 7 ? FV_PB_I32 : FV_PB_VARINT);
        if (c < 0) return fail(R, BAD, "attribute '%.60s' has malformed values", a->name);
        if (f.num == 7) n_floats += c;
        else n_ints += c;
        if (n_floats + n_ints > MAX_ATTR_VALUES) return fail(R, BAD, "attribute '%.60s' has too many values", a->name);
        break;
      }
      default: break;
    }
  }
  if (s == FV_PB_BAD) return pb_bad(R, &r, "attribute");
  if (!a->name[0]) return fail(R, BAD, "an attribute has no name");
  if (!a->type) { /* IR < 2 wrote no type: infer it from the field in use */
    a->type = a->t ? FV_ONNX_ATTR_TENSOR : a->s ? FV_ONNX_ATTR_STRING : n_ints ? FV_ONNX_ATTR_INTS
              : n_floats ? FV_ONNX_ATTR_FLOATS : FV_ONNX_ATTR_INT;
  }
  if (!n_ints && !n_floats) return 1;
  /* pass 2: the lists */
  int64_t *ints = (int64_t *)alloc(R, sizeof(int64_t) * (size_t)n_ints);
  float *floats = (float *)alloc(R, sizeof(float) * (size_t)n_floats);
  TRY(ints && floats);
  int ki = 0, kf = 0;
  fv_pb_init(&r, af->data, af->len);
  while (fv_pb_next(&r, &f) == FV_PB_FIELD) {
    if (f.num != 7 && f.num != 8) continue;
    fv_pb_values it;
    uint64_t v;
    fv_pb_values_init(&it, &f, f.num == 7 ? FV_PB_I32 : FV_PB_VARINT);
    while (fv_pb_values_next(&it, &v) == FV_PB_FIELD) {
      if (f.num == 7) floats[kf++] = fv_pb_float(v);
      else ints[ki++] = fv_pb_int64(v);
    }
  }
  a->ints = ints;
  a->floats = floats;
  a->n_ints = ki;
  a->n_floats = kf;
  return 1;
}

static int read_node(rd *R, const fv_pb_field *nf, fv_onnx_node *nd) {
  fv_pb r;
  fv_pb_field f;
  int s, n_in = 0, n_out = 0, n_attr = 0;
  memset(nd, 0, sizeof *nd);
  nd->op_type = nd->name = nd->domain = "";
  fv_pb_init(&r, nf->data, nf->len);
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    switch (f.num) {
      case 1: n_in++; break;
      case 2: n_out++; break;
      case 3: TRY(str(R, &f, &nd->name, "a node name")); break;
      case 4: TRY(str(R, &f, &nd->op_type, "an op type")); break;
      case 5: n_attr++; break;
      case 7: TRY(str(R, &f, &nd->domain, "a domain")); break;
      default: break;
    }
  }
  if (s == FV_PB_BAD) return pb_bad(R, &r, "node");
  if (n_in > MAX_NODE_IO || n_out > MAX_NODE_IO || n_attr > MAX_ATTRS)
    return fail(R, BAD, "%d inputs, %d outputs, %d attributes", n_in, n_out, n_attr);
  nd->in = (const char **)alloc(R, sizeof(char *) * (size_t)n_in);
  nd->out = (const char **)alloc(R, sizeof(char *) * (size_t)n_out);
  nd->attr = (fv_onnx_attr *)alloc(R, sizeof(fv_onnx_attr) * (size_t)n_attr);
  TRY(nd->in && nd->out && nd->attr);
  fv_pb_init(&r, nf->data, nf->len);
  while (fv_pb_next(&r, &f) == FV_PB_FIELD) {
    if (f.num == 1) TRY(str(R, &f, &nd->in[nd->n_in++], "an input name"));
    else if (f.num == 2) TRY(str(R, &f, &nd->out[nd->n_out++], "an output name"));
    else if (f.num == 5) {
      if (f.wire != FV_PB_LEN) return fail(R, BAD, "an attribute is not a message");
      TRY(read_attr(R, &f, &nd->attr[nd->n_attr++]));
    }
  }
  return 1;
}

const fv_onnx_attr *fv_onnx_attr_find(const fv_onnx_node *nd, const char *name) {
  for (int k = 0; k < nd->n_attr; k++)
    if (strcmp(nd->attr[k].name, name) == 0) return &nd->attr[k];
  return NULL;
}

/* ==== value infos (graph inputs and outputs) ============================================ */
static int read_shape(rd *R, const fv_pb_field *sf, fv_onnx_value *v) {
  fv_pb r, dr;
  fv_pb_field f, d;
  int s;
  v->rank = 0;
  fv_pb_init(&r, sf->data, sf->len);
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    if (f.num != 1) continue;
    if (f.wire != FV_PB_LEN) return fail(R, BAD, "a dimension is not a message");
    if (v->rank >= FV_ONNX_MAX_RANK)
      return fail(R, FV_ERR_UNSUPPORTED, "'%.60s' has more than %d dimensions", v->name, FV_ONNX_MAX_RANK);
    int64_t dim = -1;
    fv_pb_init(&dr, f.data, f.len);
    int e;
    while ((e = fv_pb_next(&dr, &d)) == FV_PB_FIELD)
      if (d.num == 1) {
        TRY(varint_field(R, &d, &dim, "dim_value"));
        if (dim < 0 || dim > MAX_DIM)
          return fail(R, BAD, "'%.60s' has dimension %d of size %lld", v->name, v->rank, (long long)dim);
      }
    if (e == FV_PB_BAD) return pb_bad(R, &dr, "dimension");
    v->dims[v->rank++] = dim;
  }
  if (s == FV_PB_BAD) return pb_bad(R, &r, "shape");
  return 1;
}

static int read_value(rd *R, const fv_pb_field *vf, fv_onnx_value *v) {
  fv_pb r, tr, ttr;
  fv_pb_field f, t, tt;
  int s;
  memset(v, 0, sizeof *v);
  v->name = "";
  v->rank = -1;
  fv_pb_init(&r, vf->data, vf->len);
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    if (f.num == 1) TRY(str(R, &f, &v->name, "a value name"));
    if (f.num != 2 || f.wire != FV_PB_LEN) continue;
    fv_pb_init(&tr, f.data, f.len); /* TypeProto */
    while (fv_pb_next(&tr, &t) == FV_PB_FIELD) {
      if (t.num != 1 || t.wire != FV_PB_LEN) continue;
      fv_pb_init(&ttr, t.data, t.len); /* TypeProto.Tensor */
      while (fv_pb_next(&ttr, &tt) == FV_PB_FIELD) {
        if (tt.num == 1 && tt.wire == FV_PB_VARINT) v->elem_type = (int)(tt.v < 64 ? tt.v : 0);
        if (tt.num == 2 && tt.wire == FV_PB_LEN) TRY(read_shape(R, &tt, v));
      }
      if (ttr.why) return pb_bad(R, &ttr, "tensor type");
    }
    if (tr.why) return pb_bad(R, &tr, "type");
  }
  if (s == FV_PB_BAD) return pb_bad(R, &r, "value info");
  return 1;
}

/* ==== the graph and the model ============================================================ */
static int read_graph(rd *R, const fv_pb_field *gf) {
  fv_onnx_graph *g = R->g;
  fv_pb r;
  fv_pb_field f;
  int s;
  int64_t nn = 0, ni = 0, nin = 0, nout = 0;
  fv_pb_init(&r, gf->data, gf->len);
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    if (f.wire != FV_PB_LEN) continue;
    if (f.num == 1) nn++;
    else if (f.num == 5) ni++;
    else if (f.num == 11) nin++;
    else if (f.num == 12) nout++;
    else if (f.num == 15) return fail(R, FV_ERR_UNSUPPORTED, "sparse initializers are not supported");
  }
  if (s == FV_PB_BAD) return pb_bad(R, &r, "graph");
  if (nn > MAX_NODES || ni > MAX_INITS || nin > MAX_INITS || nout > MAX_INITS)
    return fail(R, BAD, "the graph has %lld nodes and %lld initializers (the limits are %d and %d)",
                (long long)nn, (long long)ni, MAX_NODES, MAX_INITS);
  g->nodes = (fv_onnx_node *)alloc(R, sizeof(fv_onnx_node) * (size_t)nn);
  g->inits = (fv_onnx_tensor *)alloc(R, sizeof(fv_onnx_tensor) * (size_t)ni);
  g->inputs = (fv_onnx_value *)alloc(R, sizeof(fv_onnx_value) * (size_t)nin);
  g->outputs = (fv_onnx_value *)alloc(R, sizeof(fv_onnx_value) * (size_t)nout);
  TRY(g->nodes && g->inits && g->inputs && g->outputs);
  fv_pb_init(&r, gf->data, gf->len);
  while (fv_pb_next(&r, &f) == FV_PB_FIELD) {
    if (f.wire != FV_PB_LEN) continue;
    switch (f.num) {
      case 1:
        snprintf(R->where, sizeof R->where, "node %d", g->n_nodes);
        TRY(read_node(R, &f, &g->nodes[g->n_nodes]));
        g->n_nodes++;
        break;
      case 5:
        snprintf(R->where, sizeof R->where, "initializer %d", g->n_inits);
        TRY(read_tensor(R, f.data, f.len, &g->inits[g->n_inits], "initializer"));
        g->n_inits++;
        break;
      case 11:
        snprintf(R->where, sizeof R->where, "graph input %d", g->n_inputs);
        TRY(read_value(R, &f, &g->inputs[g->n_inputs++]));
        break;
      case 12:
        snprintf(R->where, sizeof R->where, "graph output %d", g->n_outputs);
        TRY(read_value(R, &f, &g->outputs[g->n_outputs++]));
        break;
      default: break;
    }
  }
  R->where[0] = 0;
  return 1;
}

static int read_opset(rd *R, const fv_pb_field *of) {
  fv_pb r;
  fv_pb_field f;
  const char *domain = "";
  int64_t version = 0;
  fv_pb_init(&r, of->data, of->len);
  while (fv_pb_next(&r, &f) == FV_PB_FIELD) {
    if (f.num == 1) TRY(str(R, &f, &domain, "an opset domain"));
    if (f.num == 2) TRY(varint_field(R, &f, &version, "an opset version"));
  }
  if (r.why) return pb_bad(R, &r, "opset_import");
  if (!domain[0] || strcmp(domain, "ai.onnx") == 0) R->g->opset = version;
  return 1;
}

static int read_meta(rd *R, const fv_pb_field *mf) {
  fv_onnx_graph *g = R->g;
  fv_pb r;
  fv_pb_field f;
  const char *key = "", *value = "";
  fv_pb_init(&r, mf->data, mf->len);
  while (fv_pb_next(&r, &f) == FV_PB_FIELD) {
    if (f.num == 1) TRY(str(R, &f, &key, "a metadata key"));
    if (f.num == 2) { /* values may be long (a label list): not capped like names */
      if (f.wire != FV_PB_LEN || memchr(f.data, 0, f.len)) return fail(R, BAD, "a metadata value is not a string");
      char *s = (char *)alloc(R, f.len + 1);
      TRY(s);
      memcpy(s, f.data, f.len);
      s[f.len] = 0;
      value = s;
    }
  }
  if (r.why) return pb_bad(R, &r, "metadata_props");
  g->meta_key[g->n_meta] = key;
  g->meta_value[g->n_meta++] = value;
  return 1;
}

int fv_onnx_read(const uint8_t *bytes, size_t n, fv_onnx_graph *g, fv_error *err) {
  rd R = {g, err, ""};
  fv_pb r;
  fv_pb_field f;
  int s, graphs = 0;
  int64_t metas = 0;
  memset(g, 0, sizeof *g);
  fv_pb_init(&r, bytes, n);
  while ((s = fv_pb_next(&r, &f)) == FV_PB_FIELD) {
    if (f.num == 14) metas++;
    if (f.num == 7) graphs++;
  }
  if (s == FV_PB_BAD || !graphs)
    return fail(&R, BAD, "not an ONNX model: %s%s (byte %zu of %zu)", s == FV_PB_BAD ? "malformed protobuf, " : "",
                s == FV_PB_BAD ? r.why : "no graph", r.pos, r.n);
  if (graphs > 1) return fail(&R, BAD, "the model has %d graphs", graphs);
  if (metas > MAX_INITS) return fail(&R, BAD, "%lld metadata entries", (long long)metas);
  g->meta_key = (const char **)alloc(&R, sizeof(char *) * (size_t)metas);
  g->meta_value = (const char **)alloc(&R, sizeof(char *) * (size_t)metas);
  TRY(g->meta_key && g->meta_value);
  fv_pb_init(&r, bytes, n);
  while (fv_pb_next(&r, &f) == FV_PB_FIELD) {
    switch (f.num) {
      case 1: TRY(varint_field(&R, &f, &g->ir_version, "ir_version")); break;
      case 7:
        if (f.wire != FV_PB_LEN) return fail(&R, BAD, "not an ONNX model: the graph is not a message");
        TRY(read_graph(&R, &f));
        break;
      case 8:
        if (f.wire != FV_PB_LEN) return fail(&R, BAD, "opset_import is not a message");
        TRY(read_opset(&R, &f));
        break;
      case 14:
        if (f.wire != FV_PB_LEN) return fail(&R, BAD, "metadata_props is not a message");
        TRY(read_meta(&R, &f));
        break;
      default: break;
    }
  }
  return 1;
}
