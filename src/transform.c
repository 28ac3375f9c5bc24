/* transform.c — pad, jitter, scale, rotate and the final resize, each with the
 * exact adjoint of its (bi)linear sampling. See transform.h for semantics.
 * Images are HWC with 3 channels; one image at a time (a batch over the
 * threads, or one image's forward stages by output rows and its resize and
 * rotate adjoints by the rows they add into, each element's adds in the
 * serial order) through two ping-pong
 * scratch buffers sized for the largest stage output; a pad followed by a
 * jitter runs as one pass, and resize and rotate tabulate their per-column
 * arithmetic once per call (the same operations, so the same bits).
 *
 * The bilinear sampling of resize and rotate (forward and adjoint) has a
 * plain scalar reference (`__scalar`) and, in wasm SIMD builds, a twin
 * (`__wasmsimd`) picked like the kernels' (fv_kernels_set_simd) that keeps a
 * pixel's 3 channels in the lanes of one vector: the same float operations
 * per channel in the same order, so the same bits (tests/c/transform_test.c).
 * Forward, the fourth lane reads the next pixel's first channel and is
 * thrown away; pixels whose 4-float load or store could leave the image take
 * the scalar path. Adjoint, the scatter accumulates into a scratch image of
 * 4 floats a pixel (acc4; the fourth lane gets 0s) and is packed to 3 at the
 * end: 4-float read-modify-writes at a 3-float stride would overlap, and a
 * load that straddles an earlier store stalls. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model.h"
#include "threads.h"
#include "transform.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct {
  fv_tf_draw d;
  double c, s;        /* ROTATE: cos and sin of the angle */
} tf_draw;

/* The part of a stage's output image that the rest of the chain reads: rows
 * [y0, y0 + h), columns [x0, x0 + w). The whole image, unless a final jitter
 * follows (its crop is then read by the final resize in place). */
typedef struct {
  int y0, x0, h, w;
} tf_win;

struct fv_transform {
  fv_transform_opts o;
  tf_draw *draws;     /* [n][n_stages] */
  float *buf[2];      /* ping-pong scratch, buf_floats each */
  size_t buf_floats;
  /* per-column tables of the current resize / rotation (tab_side entries each):
   * the same values the per-pixel arithmetic would compute, computed once a row */
  int *tx0, *tx1;
  float *tlx;
  double *tcx, *tsx;
  int tab_side;
#ifdef __wasm_simd128__
  float *acc4;        /* adjoint accumulator, 4 floats a pixel, for the largest image a stage reads */
#endif
  /* The images of a batch go through the chain on the engine's threads (src/threads.h),
   * or a batch of one's forward stages by rows: thread t > 0 uses th[t - 1], a copy of
   * this transform with scratch of its own (the options and draws are this one's). */
  struct fv_transform *th;
  int n_th;           /* threads with scratch, this one included */
};

/* ---- options --------------------------------------------------------------------- */
void fv_transform_opts_init(fv_transform_opts *o, int n, int in_h, int in_w, int out_h, int out_w) {
  memset(o, 0, sizeof *o);
  o->n = n;
  o->in_h = in_h;
  o->in_w = in_w;
  o->out_h = out_h;
  o->out_w = out_w;
}

static fv_tf_stage *add_stage(fv_transform_opts *o, int kind) {
  if (o->n_stages < 0 || o->n_stages >= FV_TF_MAX_STAGES) return NULL;
  fv_tf_stage *s = &o->stages[o->n_stages++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  return s;
}

fv_status fv_transform_opts_add_pad(fv_transform_opts *o, int pixels, float value) {
  fv_tf_stage *s = add_stage(o, FV_TF_PAD);
  if (!s) return FV_ERR_BAD_ARG;
  s->amount = pixels;
  s->value = value;
  return FV_OK;
}

fv_status fv_transform_opts_add_jitter(fv_transform_opts *o, int d) {
  fv_tf_stage *s = add_stage(o, FV_TF_JITTER);
  if (!s) return FV_ERR_BAD_ARG;
  s->amount = d;
  return FV_OK;
}

static fv_status add_choices(fv_transform_opts *o, int kind, int n, const float *c, float value) {
  if (n < 1 || n > FV_TF_MAX_CHOICES || !c) return FV_ERR_BAD_ARG;
  fv_tf_stage *s = add_stage(o, kind);
  if (!s) return FV_ERR_BAD_ARG;
  s->n_choices = n;
  memcpy(s->choices, c, (size_t)n * sizeof(float));
  s->value = value;
  return FV_OK;
}

fv_status fv_transform_opts_add_scale(fv_transform_opts *o, int n, const float *scales) {
  return add_choices(o, FV_TF_SCALE, n, scales, 0.0f);
}

fv_status fv_transform_opts_add_rotate(fv_transform_opts *o, int n, const float *degrees, float fill) {
  return add_choices(o, FV_TF_ROTATE, n, degrees, fill);
}

void fv_transform_opts_standard(fv_transform_opts *o, int n, int in_h, int in_w, int out_h, int out_w) {
  fv_transform_opts_init(o, n, in_h, in_w, out_h, out_w);
  float scales[11], angles[26];
  for (int i = 0; i < 11; i++) scales[i] = (float)(1.0 + (i - 5) / 50.0);
  for (int i = 0; i < 21; i++) angles[i] = (float)(i - 10);
  for (int i = 21; i < 26; i++) angles[i] = 0.0f; /* Lucid: list(range(-10, 11)) + 5 * [0] */
  fv_transform_opts_add_pad(o, 12, 0.5f);
  fv_transform_opts_add_jitter(o, 8);
  fv_transform_opts_add_scale(o, 11, scales);
  fv_transform_opts_add_rotate(o, 26, angles, 0.0f);
  fv_transform_opts_add_jitter(o, 4);
}

/* The size a SCALE stage makes: float product truncated, as Lucid's
 * tf.cast(scale * tf.cast(shape, float32), int32). */
static int scaled_size(float s, int n) { return (int)(s * (float)n); }

/* ---- set-up ---------------------------------------------------------------------- */
static int side_ok(int v) { return v >= 1 && v <= FV_TF_MAX_SIDE; }

/* Sizes after each stage from the current draws of image i. */
static void update_sizes(fv_transform *t, int i) {
  int h = t->o.in_h, w = t->o.in_w;
  for (int s = 0; s < t->o.n_stages; s++) {
    const fv_tf_stage *st = &t->o.stages[s];
    tf_draw *d = &t->draws[(size_t)i * t->o.n_stages + s];
    switch (st->kind) {
      case FV_TF_PAD: h += 2 * st->amount; w += 2 * st->amount; break;
      case FV_TF_JITTER: h -= st->amount; w -= st->amount; break;
      case FV_TF_SCALE: h = scaled_size(d->d.scale, h); w = scaled_size(d->d.scale, w); break;
      default: break;
    }
    d->d.h = h;
    d->d.w = w;
  }
}

static void set_rotation(tf_draw *d, float degrees) {
  const double a = (double)degrees * (M_PI / 180.0);
  d->d.degrees = degrees;
  d->c = cos(a);
  d->s = sin(a);
}

/* Each stage kind checks its options and maps the range of image sizes coming in to
 * the range it can make, one function per kind (PLAN, indexed by fv_tf_kind). */
typedef struct {
  long hmin, hmax, wmin, wmax;
} size_range;

typedef int (*stage_plan)(const fv_tf_stage *st, int s, size_range *z, fv_error *err);

static int plan_pad(const fv_tf_stage *st, int s, size_range *z, fv_error *err) {
  if (st->amount < 0 || st->amount > 1024 || !isfinite(st->value)) {
    fv_error_set(err, FV_ERR_BAD_ARG, "transform: stage %d: pad %d / value %g out of range", s, st->amount,
                 (double)st->value);
    return 0;
  }
  z->hmin += 2 * st->amount, z->hmax += 2 * st->amount, z->wmin += 2 * st->amount, z->wmax += 2 * st->amount;
  return 1;
}

static int plan_jitter(const fv_tf_stage *st, int s, size_range *z, fv_error *err) {
  if (st->amount < 0 || st->amount >= z->hmin || st->amount >= z->wmin) {
    fv_error_set(err, FV_ERR_BAD_ARG, "transform: stage %d: jitter %d needs images larger than it (smallest %ldx%ld)",
                 s, st->amount, z->hmin, z->wmin);
    return 0;
  }
  z->hmin -= st->amount, z->hmax -= st->amount, z->wmin -= st->amount, z->wmax -= st->amount;
  return 1;
}

static int choices_ok(const fv_tf_stage *st, int s, fv_error *err) {
  if (st->n_choices >= 1 && st->n_choices <= FV_TF_MAX_CHOICES) return 1;
  fv_error_set(err, FV_ERR_BAD_ARG, "transform: stage %d: %d choices (1..%d)", s, st->n_choices, FV_TF_MAX_CHOICES);
  return 0;
}

static int plan_scale(const fv_tf_stage *st, int s, size_range *z, fv_error *err) {
  if (!choices_ok(st, s, err)) return 0;
  size_range nz = {z->hmax * 5, 0, z->wmax * 5, 0};
  for (int k = 0; k < st->n_choices; k++) {
    const float c = st->choices[k];
    if (!(c > 0.0f && c <= 4.0f)) {
      fv_error_set(err, FV_ERR_BAD_ARG, "transform: stage %d: scale %g not in (0, 4]", s, (double)c);
      return 0;
    }
    /* (int)(c * n) is monotone in n, so the extremes come from the extremes. */
    long a = scaled_size(c, (int)z->hmin), b = scaled_size(c, (int)z->hmax);
    long e = scaled_size(c, (int)z->wmin), f = scaled_size(c, (int)z->wmax);
    if (a < nz.hmin) nz.hmin = a;
    if (b > nz.hmax) nz.hmax = b;
    if (e < nz.wmin) nz.wmin = e;
    if (f > nz.wmax) nz.wmax = f;
  }
  if (nz.hmin < 1 || nz.wmin < 1) {
    fv_error_set(err, FV_ERR_BAD_ARG, "transform: stage %d: a scale makes an empty image", s);
    return 0;
  }
  *z = nz;
  return 1;
}

static int plan_rotate(const fv_tf_stage *st, int s, size_range *z, fv_error *err) {
  if (!choices_ok(st, s, err)) return 0;
  int ok = isfinite(st->value);
  for (int k = 0; k < st->n_choices; k++) ok &= fabsf(st->choices[k]) <= 3600.0f;
  if (!ok) fv_error_set(err, FV_ERR_BAD_ARG, "transform: stage %d: angle or fill out of range", s);
  return ok; /* the size is unchanged */
}

static const stage_plan PLAN[] = {[FV_TF_PAD] = plan_pad, [FV_TF_JITTER] = plan_jitter, [FV_TF_SCALE] = plan_scale,
                                  [FV_TF_ROTATE] = plan_rotate};

/* One thread's scratch (t->o set): ping-pong buffers for `most` pixels, column tables
 * for the widest image, the SIMD adjoint's accumulator. 0 when out of memory. */
static int alloc_scratch(fv_transform *t, size_t most, long widest) {
  t->buf_floats = most * 3;
  if (most) {
    t->buf[0] = (float *)malloc(t->buf_floats * sizeof(float));
    t->buf[1] = (float *)malloc(t->buf_floats * sizeof(float));
  }
  t->tab_side = (int)widest;
  t->tx0 = (int *)malloc((size_t)widest * 2 * sizeof(int));
  t->tlx = (float *)malloc((size_t)widest * sizeof(float));
  t->tcx = (double *)malloc((size_t)widest * 2 * sizeof(double));
  if (t->tx0) t->tx1 = t->tx0 + widest;
  if (t->tcx) t->tsx = t->tcx + widest;
  int acc_ok = 1;
#ifdef __wasm_simd128__
  {
    size_t px = most > (size_t)t->o.in_h * t->o.in_w ? most : (size_t)t->o.in_h * t->o.in_w;
    t->acc4 = (float *)aligned_alloc(16, px * 4 * sizeof(float));
    acc_ok = t->acc4 != NULL;
  }
#endif
  return !(most && (!t->buf[0] || !t->buf[1])) && t->tx0 && t->tlx && t->tcx && acc_ok;
}

static void free_scratch(fv_transform *t) {
  free(t->buf[0]);
  free(t->buf[1]);
  free(t->tx0);
  free(t->tlx);
  free(t->tcx);
#ifdef __wasm_simd128__
  free(t->acc4);
#endif
}

/* The scratch for images of at most `most` pixels and `widest` columns, for each thread. */
static fv_transform *transform_alloc(const fv_transform_opts *o, size_t most, long widest, fv_error *err) {
  fv_transform *t = (fv_transform *)calloc(1, sizeof *t);
  if (!t) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "transform: out of memory");
    return NULL;
  }
  t->o = *o;
  t->draws = (tf_draw *)calloc((size_t)o->n * (o->n_stages ? o->n_stages : 1), sizeof(tf_draw));
  t->n_th = fv_threads_count(); /* one image: its stages' rows on the threads, forward */
  t->th = t->n_th > 1 ? (fv_transform *)calloc((size_t)t->n_th - 1, sizeof *t->th) : NULL;
  int ok = t->draws && (t->n_th == 1 || t->th) && alloc_scratch(t, most, widest);
  for (int k = 0; ok && k < t->n_th - 1; k++) {
    t->th[k].o = *o;
    t->th[k].draws = t->draws;
    ok = alloc_scratch(&t->th[k], most, widest);
  }
  if (!ok) {
    fv_error_set(err, FV_ERR_NO_MEMORY, "transform: cannot allocate scratch for %zu pixels", most);
    fv_transform_free(t);
    return NULL;
  }
  return t;
}

fv_transform *fv_transform_new(const fv_transform_opts *o, fv_error *err) {
  if (!o) {
    fv_error_set(err, FV_ERR_BAD_ARG, "transform: no options");
    return NULL;
  }
  if (o->n < 1 || o->n > 1024 || !side_ok(o->in_h) || !side_ok(o->in_w) || !side_ok(o->out_h) ||
      !side_ok(o->out_w) || (size_t)o->in_h * o->in_w > FV_TF_MAX_PIXELS ||
      (size_t)o->out_h * o->out_w > FV_TF_MAX_PIXELS) {
    fv_error_set(err, FV_ERR_BAD_ARG, "transform: batch %d, %dx%d -> %dx%d is out of range", o->n,
                 o->in_h, o->in_w, o->out_h, o->out_w);
    return NULL;
  }
  if (o->n_stages < 0 || o->n_stages > FV_TF_MAX_STAGES) {
    fv_error_set(err, FV_ERR_BAD_ARG, "transform: %d stages (at most %d)", o->n_stages, FV_TF_MAX_STAGES);
    return NULL;
  }
  /* Walk the stages with the range of sizes each can produce. */
  size_range z = {o->in_h, o->in_h, o->in_w, o->in_w};
  size_t most = 0; /* largest stage output, in pixels */
  long widest = o->in_w > o->out_w ? o->in_w : o->out_w; /* widest image any stage reads or makes */
  for (int s = 0; s < o->n_stages; s++) {
    const fv_tf_stage *st = &o->stages[s];
    stage_plan plan = st->kind >= 0 && st->kind < (int)(sizeof PLAN / sizeof PLAN[0]) ? PLAN[st->kind] : NULL;
    if (!plan) {
      fv_error_set(err, FV_ERR_BAD_ARG, "transform: stage %d: unknown kind %d", s, st->kind);
      return NULL;
    }
    if (!plan(st, s, &z, err)) return NULL;
    if (z.hmax > FV_TF_MAX_SIDE || z.wmax > FV_TF_MAX_SIDE || (size_t)z.hmax * (size_t)z.wmax > FV_TF_MAX_PIXELS) {
      fv_error_set(err, FV_ERR_NO_MEMORY, "transform: stage %d can make %ldx%ld images, too large", s, z.hmax, z.wmax);
      return NULL;
    }
    if ((size_t)z.hmax * (size_t)z.wmax > most) most = (size_t)z.hmax * (size_t)z.wmax;
    if (z.wmax > widest) widest = z.wmax;
  }

  fv_transform *t = transform_alloc(o, most, widest, err);
  if (!t) return NULL;
  /* Until the first sample: offsets 0, the first choice. */
  for (int i = 0; i < o->n; i++) {
    for (int s = 0; s < o->n_stages; s++) {
      tf_draw *d = &t->draws[(size_t)i * o->n_stages + s];
      d->d.scale = 1.0f;
      if (o->stages[s].kind == FV_TF_SCALE) d->d.scale = o->stages[s].choices[0];
      set_rotation(d, o->stages[s].kind == FV_TF_ROTATE ? o->stages[s].choices[0] : 0.0f);
    }
    update_sizes(t, i);
  }
  return t;
}

void fv_transform_free(fv_transform *t) {
  if (!t) return;
  free(t->draws);
  free_scratch(t);
  for (int k = 0; t->th && k < t->n_th - 1; k++) free_scratch(&t->th[k]);
  free(t->th);
  free(t);
}

void fv_transform_sample(fv_transform *t, fv_rng *rng) {
  for (int i = 0; i < t->o.n; i++) {
    for (int s = 0; s < t->o.n_stages; s++) {
      const fv_tf_stage *st = &t->o.stages[s];
      tf_draw *d = &t->draws[(size_t)i * t->o.n_stages + s];
      switch (st->kind) {
        case FV_TF_JITTER:
          d->d.oy = fv_rng_below(rng, st->amount + 1);
          d->d.ox = fv_rng_below(rng, st->amount + 1);
          break;
        case FV_TF_SCALE: d->d.scale = st->choices[fv_rng_below(rng, st->n_choices)]; break;
        case FV_TF_ROTATE: set_rotation(d, st->choices[fv_rng_below(rng, st->n_choices)]); break;
        default: break;
      }
    }
    update_sizes(t, i);
  }
}

const fv_tf_draw *fv_transform_draw(const fv_transform *t, int image, int stage) {
  assert(image >= 0 && image < t->o.n && stage >= 0 && stage < t->o.n_stages);
  return &t->draws[(size_t)image * t->o.n_stages + stage].d;
}

/* ---- pad -------------------------------------------------------------------------- */
static void pad_fwd(const float *in, int h, int w, int p, float value, float *out) {
  const int ow = w + 2 * p, oh = h + 2 * p;
  for (int y = 0; y < oh; y++) {
    float *o = out + (size_t)y * ow * 3;
    if (y < p || y >= p + h) {
      for (int x = 0; x < 3 * ow; x++) o[x] = value;
      continue;
    }
    for (int x = 0; x < 3 * p; x++) o[x] = value;
    memcpy(o + 3 * p, in + (size_t)(y - p) * w * 3, (size_t)w * 3 * sizeof(float));
    for (int x = 3 * (p + w); x < 3 * ow; x++) o[x] = value;
  }
}

/* Adjoint: the gradient of the interior (the fill is a constant). */
static void pad_adj(const float *dout, int h, int w, int p, float *din) {
  const int ow = w + 2 * p;
  for (int y = 0; y < h; y++)
    memcpy(din + (size_t)y * w * 3, dout + ((size_t)(y + p) * ow + p) * 3, (size_t)w * 3 * sizeof(float));
}

/* ---- crop (jitter) ------------------------------------------------------------------- */
static void crop_fwd(const float *in, int w, int oy, int ox, int ch, int cw, float *out) {
  for (int y = 0; y < ch; y++)
    memcpy(out + (size_t)y * cw * 3, in + ((size_t)(y + oy) * w + ox) * 3, (size_t)cw * 3 * sizeof(float));
}

static void crop_adj(const float *dout, int h, int w, int oy, int ox, int ch, int cw, float *din) {
  memset(din, 0, (size_t)h * w * 3 * sizeof(float));
  for (int y = 0; y < ch; y++)
    memcpy(din + ((size_t)(y + oy) * w + ox) * 3, dout + (size_t)y * cw * 3, (size_t)cw * 3 * sizeof(float));
}

/* ---- pad then crop, in one pass ---------------------------------------------------------
 * A pad followed by a jitter is a crop of a virtual padded image: output pixel (y, x)
 * reads padded (y + oy, x + ox), i.e. input (y + oy - p, x + ox - p) or the fill.
 * The same values as pad_fwd then crop_fwd, one pass instead of two. */
static void pad_crop_fwd(const float *in, int h, int w, int p, float value, int oy, int ox, int ch, int cw,
                         float *out) {
  const int sx = ox - p;                            /* input column of output column 0 */
  int xa = -sx, xb = w - sx;                        /* output columns [xa, xb) read the input */
  if (xa < 0) xa = 0;
  if (xb > cw) xb = cw;
  if (xb < xa) xb = xa;
  for (int y = 0; y < ch; y++) {
    float *o = out + (size_t)y * cw * 3;
    const int iy = y + oy - p;
    if (iy < 0 || iy >= h) {
      for (int x = 0; x < 3 * cw; x++) o[x] = value;
      continue;
    }
    for (int x = 0; x < 3 * xa; x++) o[x] = value;
    if (xb > xa) memcpy(o + 3 * xa, in + ((size_t)iy * w + xa + sx) * 3, (size_t)(xb - xa) * 3 * sizeof(float));
    for (int x = 3 * xb; x < 3 * cw; x++) o[x] = value;
  }
}

/* Adjoint: din (h×w) gets the crop's gradient where the crop saw the input, 0 elsewhere
 * (the same values as crop_adj then pad_adj). */
static void pad_crop_adj(const float *dout, int h, int w, int p, int oy, int ox, int ch, int cw, float *din) {
  const int sx = ox - p;                            /* input column of crop column 0 */
  int xa = sx, xb = sx + cw;                        /* input columns [xa, xb) the crop saw */
  if (xa < 0) xa = 0;
  if (xb > w) xb = w;
  if (xb < xa) xb = xa;
  for (int y = 0; y < h; y++) {
    float *d = din + (size_t)y * w * 3;
    const int cy = y + p - oy;                      /* the crop row that saw input row y */
    if (cy < 0 || cy >= ch) {
      memset(d, 0, (size_t)w * 3 * sizeof(float));
      continue;
    }
    if (xa > 0) memset(d, 0, (size_t)xa * 3 * sizeof(float));
    if (xb > xa) memcpy(d + 3 * xa, dout + ((size_t)cy * cw + xa - sx) * 3, (size_t)(xb - xa) * 3 * sizeof(float));
    if (xb < w) memset(d + 3 * xb, 0, (size_t)(w - xb) * 3 * sizeof(float));
  }
}

/* ---- bilinear resize (half-pixel centres, clamped) ------------------------------------
 * The same float arithmetic as fv_resize_bilinear_f32 in image.c, so a photo and
 * a rendered image are resized alike. Forward and adjoint share lerp_at; the
 * column taps are the same on every row, so they are tabulated once per call. */
static inline void lerp_at(int d, float ratio, int n, int *i0, int *i1, float *t) {
  float f = ((float)d + 0.5f) * ratio - 0.5f;
  if (f < 0) f = 0;
  int a = (int)f;
  if (a > n - 1) a = n - 1;
  *i0 = a;
  *i1 = a + 1 < n ? a + 1 : n - 1;
  *t = f - (float)a;
}

static void col_taps(fv_transform *t, int iw, int ow) {
  assert(ow <= t->tab_side);
  const float rx = (float)iw / (float)ow;
  for (int x = 0; x < ow; x++) lerp_at(x, rx, iw, &t->tx0[x], &t->tx1[x], &t->tlx[x]);
}

/* Output row y of the resize: columns [x_from, ow). */
static void resize_row__scalar(const fv_transform *t, const float *r0, const float *r1, float hy, float ly, float *o,
                               int x_from, int ow) {
  const int *tx0 = t->tx0, *tx1 = t->tx1;
  const float *tlx = t->tlx;
  for (int x = x_from; x < ow; x++) {
    const int x0 = tx0[x], x1 = tx1[x];
    const float lx = tlx[x], hx = 1.0f - lx;
    for (int c = 0; c < 3; c++)
      o[3 * x + c] = hy * (hx * r0[3 * x0 + c] + lx * r0[3 * x1 + c]) +
                     ly * (hx * r1[3 * x0 + c] + lx * r1[3 * x1 + c]);
  }
}

static void resize_row_adj__scalar(const fv_transform *t, const float *g, float hy, float ly, float *r0, float *r1,
                                   int ow) {
  const int *tx0 = t->tx0, *tx1 = t->tx1;
  const float *tlx = t->tlx;
  for (int x = 0; x < ow; x++) {
    const int x0 = tx0[x], x1 = tx1[x];
    const float lx = tlx[x], hx = 1.0f - lx;
    for (int c = 0; c < 3; c++) {
      const float gy0 = hy * g[3 * x + c], gy1 = ly * g[3 * x + c];
      r0[3 * x0 + c] += hx * gy0;
      r0[3 * x1 + c] += lx * gy0;
      r1[3 * x0 + c] += hx * gy1;
      r1[3 * x1 + c] += lx * gy1;
    }
  }
}

/* One image's stage on the threads (a batch of one), by rows: forward its output rows
 * (stage_part, each thread with its own tables), backward the rows its adjoint adds
 * into (adj_part, SIMD: the caller's tables, shared). */
typedef struct {
  fv_transform *t;
  int rotate;                 /* else a resize */
  const float *in;            /* forward: the stage's input; adjoint: dout */
  float *out;                 /* forward: its output; adjoint: din */
  int ih, iw, stride, oh, ow; /* resize: in ih × iw (rows stride apart), out oh × ow; adjoint: din ih × iw, dout oh × ow */
  double c, s;                /* rotate (ih × iw), over win's rows */
  float fill;
  tf_win win;
  int parts;                  /* rotate adjoint: row ranges (a part recomputes its border rows' coordinates) */
} stage_job;

/* All `items` of j here, or over the threads when `split`. */
static void run_parts(fv_range_fn *fn, const stage_job *j, int items, int split) {
  if (split) fv_threads_for(items, fn, (void *)j);
  else fn((void *)j, 0, 0, items);
}

#ifdef __wasm_simd128__
#define SHUF4 wasm_i32x4_shuffle

/* Output columns [0, xs) whose taps and store stay 4 floats inside their rows
 * (tx1 <= iw-2, x <= ow-2; tx1 never decreases), for the 4-lane rows. */
static int lane_safe_cols(const fv_transform *t, int iw, int ow) {
  int xs = ow - 1;
  while (xs > 0 && t->tx1[xs - 1] > iw - 2) xs--;
  return xs < 0 ? 0 : xs;
}

/* all ones in the 3 channel lanes */
static inline v128_t lane_mask3(void) { return wasm_i32x4_make(-1, -1, -1, 0); }

static void resize_row__wasmsimd(const fv_transform *t, const float *r0, const float *r1, float hy, float ly, float *o,
                                 int xs, int ow) {
  const int *tx0 = t->tx0, *tx1 = t->tx1;
  const float *tlx = t->tlx;
  const v128_t vhy = wasm_f32x4_splat(hy), vly = wasm_f32x4_splat(ly);
  int x = 0;
  for (; x < xs; x++) {
    const int x0 = tx0[x], x1 = tx1[x];
    const float lx = tlx[x], hx = 1.0f - lx;
    const v128_t vlx = wasm_f32x4_splat(lx), vhx = wasm_f32x4_splat(hx);
    const v128_t top = wasm_f32x4_add(wasm_f32x4_mul(vhx, wasm_v128_load(r0 + 3 * x0)),
                                      wasm_f32x4_mul(vlx, wasm_v128_load(r0 + 3 * x1)));
    const v128_t bot = wasm_f32x4_add(wasm_f32x4_mul(vhx, wasm_v128_load(r1 + 3 * x0)),
                                      wasm_f32x4_mul(vlx, wasm_v128_load(r1 + 3 * x1)));
    wasm_v128_store(o + 3 * x, wasm_f32x4_add(wasm_f32x4_mul(vhy, top), wasm_f32x4_mul(vly, bot)));
  }
  resize_row__scalar(t, r0, r1, hy, ly, o, x, ow);
}

/* acc4 (n pixels, 4 floats each) → din (3 floats each) */
static void pack4to3(const float *acc4, size_t n, float *din) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v0 = wasm_v128_load(acc4 + 4 * i), v1 = wasm_v128_load(acc4 + 4 * i + 4);
    const v128_t v2 = wasm_v128_load(acc4 + 4 * i + 8), v3 = wasm_v128_load(acc4 + 4 * i + 12);
    wasm_v128_store(din + 3 * i, wasm_i32x4_shuffle(v0, v1, 0, 1, 2, 4));
    wasm_v128_store(din + 3 * i + 4, wasm_i32x4_shuffle(v1, v2, 1, 2, 4, 5));
    wasm_v128_store(din + 3 * i + 8, wasm_i32x4_shuffle(v2, v3, 2, 4, 5, 6));
  }
  for (; i < n; i++)
    for (int c = 0; c < 3; c++) din[3 * i + c] = acc4[4 * i + c];
}

/* A pixel's 3-channel gradient in lanes 0-2, 0 in lane 3; `last`: the pixel may end its buffer. */
static inline v128_t load3(const float *g, int last) {
  if (!last) return wasm_v128_and(wasm_v128_load(g), lane_mask3());
  const float t[4] = {g[0], g[1], g[2], 0.0f};
  return wasm_v128_load(t);
}

/* Rows [a0, a1) of din (a part of the threads' split, src: each element gets its adds in
 * the order of the whole call): their share of every dout row that reaches them. */
static void resize_adj__wasmsimd(fv_transform *t, const float *dout, int oh, int ow, float *din, int dw, int dh,
                                 tf_win win, int a0, int a1) {
  float *acc4 = t->acc4;
  memset(acc4 + (size_t)a0 * dw * 4, 0, (size_t)(a1 - a0) * dw * 4 * sizeof(float));
  float *acc = acc4 + ((size_t)win.y0 * dw + win.x0) * 4;
  const int ih = win.h;
  const int *tx0 = t->tx0, *tx1 = t->tx1;
  const float *tlx = t->tlx;
  const float ry = (float)ih / (float)oh;
  for (int y = 0; y < oh; y++) {
    int y0, y1;
    float ly;
    lerp_at(y, ry, ih, &y0, &y1, &ly);
    const int in0 = win.y0 + y0 >= a0 && win.y0 + y0 < a1, in1 = win.y0 + y1 >= a0 && win.y0 + y1 < a1;
    if (!in0 && !in1) continue;
    const float hy = 1.0f - ly;
    float *r0 = acc + (size_t)y0 * dw * 4, *r1 = acc + (size_t)y1 * dw * 4;
    const float *g = dout + (size_t)y * ow * 3;
    const v128_t vhy = wasm_f32x4_splat(hy), vly = wasm_f32x4_splat(ly);
    for (int x = 0; x < ow; x++) {
      const int x0 = tx0[x], x1 = tx1[x];
      const float lx = tlx[x], hx = 1.0f - lx;
      const v128_t vlx = wasm_f32x4_splat(lx), vhx = wasm_f32x4_splat(hx);
      const v128_t gv = load3(g + 3 * x, x == ow - 1);
      if (in0) {
        const v128_t gy0 = wasm_f32x4_mul(vhy, gv);
        float *a = r0 + 4 * x0, *b = r0 + 4 * x1;
        wasm_v128_store(a, wasm_f32x4_add(wasm_v128_load(a), wasm_f32x4_mul(vhx, gy0)));
        wasm_v128_store(b, wasm_f32x4_add(wasm_v128_load(b), wasm_f32x4_mul(vlx, gy0)));
      }
      if (in1) {
        const v128_t gy1 = wasm_f32x4_mul(vly, gv);
        float *c = r1 + 4 * x0, *d = r1 + 4 * x1;
        wasm_v128_store(c, wasm_f32x4_add(wasm_v128_load(c), wasm_f32x4_mul(vhx, gy1)));
        wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), wasm_f32x4_mul(vlx, gy1)));
      }
    }
  }
  pack4to3(acc4 + (size_t)a0 * dw * 4, (size_t)(a1 - a0) * dw, din + (size_t)a0 * dw * 3);
}

static void rotate_adj__wasmsimd(fv_transform *t, const float *dout, int h, int w, double c, double s, tf_win win,
                                 float *din, int a0, int a1);

static void adj_part(void *ctx, int th, int b, int e) {
  const stage_job *j = (const stage_job *)ctx;
  if (!j->rotate) {
    resize_adj__wasmsimd(j->t, j->in, j->oh, j->ow, j->out, j->iw, j->ih, j->win, b, e);
    return;
  }
  for (int k = b; k < e; k++)
    rotate_adj__wasmsimd(j->t, j->in, j->ih, j->iw, j->c, j->s, j->win, j->out, (int)((long)k * j->ih / j->parts),
                         (int)((long)(k + 1) * j->ih / j->parts));
}
#endif

/* in: ih × iw pixels, rows `stride` pixels apart (a window of a wider image, or stride = iw);
 * output rows [r0, r1) */
static void resize_fwd(fv_transform *t, const float *in, int ih, int iw, int stride, float *out, int oh, int ow, int r0,
                       int r1) {
  if (ih == oh && iw == ow) {
    for (int y = r0; y < r1; y++)
      memcpy(out + (size_t)y * iw * 3, in + (size_t)y * stride * 3, (size_t)iw * 3 * sizeof(float));
    return;
  }
  col_taps(t, iw, ow);
#ifdef __wasm_simd128__
  const int simd = fv_kernels_simd_enabled(), xs = lane_safe_cols(t, iw, ow);
#endif
  const float ry = (float)ih / (float)oh;
  for (int y = r0; y < r1; y++) {
    int y0, y1;
    float ly;
    lerp_at(y, ry, ih, &y0, &y1, &ly);
    const float hy = 1.0f - ly;
    const float *p0 = in + (size_t)y0 * stride * 3, *p1 = in + (size_t)y1 * stride * 3;
    float *o = out + (size_t)y * ow * 3;
#ifdef __wasm_simd128__
    if (simd) {
      resize_row__wasmsimd(t, p0, p1, hy, ly, o, xs, ow);
      continue;
    }
#endif
    resize_row__scalar(t, p0, p1, hy, ly, o, 0, ow);
  }
}

/* The adjoint of resize_fwd from window `win` of a dh × dw image: din is that whole
 * image, 0 outside the window. */
static void resize_adj(fv_transform *t, const float *dout, int oh, int ow, float *din, int dh, int dw, tf_win win,
                       int split) {
  const int ih = win.h, iw = win.w;
  if (ih == oh && iw == ow) {
    if (ih != dh || iw != dw) memset(din, 0, (size_t)dh * dw * 3 * sizeof(float));
    for (int y = 0; y < ih; y++)
      memcpy(din + ((size_t)(win.y0 + y) * dw + win.x0) * 3, dout + (size_t)y * ow * 3, (size_t)iw * 3 * sizeof(float));
    return;
  }
  col_taps(t, iw, ow);
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    const stage_job j = {.t = t, .in = dout, .out = din, .ih = dh, .iw = dw, .oh = oh, .ow = ow, .win = win};
    run_parts(adj_part, &j, dh, split);
    return;
  }
#endif
  (void)split;
  memset(din, 0, (size_t)dh * dw * 3 * sizeof(float));
  float *base = din + ((size_t)win.y0 * dw + win.x0) * 3;
  const float ry = (float)ih / (float)oh;
  for (int y = 0; y < oh; y++) {
    int y0, y1;
    float ly;
    lerp_at(y, ry, ih, &y0, &y1, &ly);
    const float hy = 1.0f - ly;
    float *r0 = base + (size_t)y0 * dw * 3, *r1 = base + (size_t)y1 * dw * 3;
    resize_row_adj__scalar(t, dout + (size_t)y * ow * 3, hy, ly, r0, r1, ow);
  }
}

static tf_win whole(int h, int w) {
  tf_win v = {0, 0, h, w};
  return v;
}

/* ---- rotate ------------------------------------------------------------------------------
 * The source position of output pixel (x, y), as tfa's angles_to_projective_transforms:
 *   u = c·(x − cx) − s·(y − cy) + cx,  v = s·(x − cx) + c·(y − cy) + cy,
 * with c·(x − cx) and s·(x − cx) tabulated per column and the y products per row
 * (the same double operations in the same order as computing them per pixel).
 * Gives the top-left neighbour and the fractions; positions within 1e-6 of a pixel
 * centre snap to it, so that cos(pi/2) = 6e-17 does not blur a 90-degree turn. */
static void rot_cols(fv_transform *t, int w, double c, double s, double cx) {
  assert(w <= t->tab_side);
  for (int x = 0; x < w; x++) {
    t->tcx[x] = c * (x - cx);
    t->tsx[x] = s * (x - cx);
  }
}

static inline void rot_src(double cxx, double sxx, double sy, double cyy, double cx, double cy, int *x0, int *y0,
                           float *fx, float *fy) {
  double u = cxx - sy + cx;
  double v = sxx + cyy + cy;
  double ru = floor(u + 0.5), rv = floor(v + 0.5);
  if (fabs(u - ru) < 1e-6) u = ru;
  if (fabs(v - rv) < 1e-6) v = rv;
  double fu = floor(u), fv = floor(v);
  *x0 = (int)fu;
  *y0 = (int)fv;
  *fx = (float)(u - fu);
  *fy = (float)(v - fv);
}

/* A pixel with a tap outside the image: the fill stands in for it (forward), or its share is dropped (adjoint). */
static inline void rot_edge_fwd(const float *in, int h, int w, int x0, int y0, const float wt[4], float fill,
                                float *o) {
  float acc[3] = {0, 0, 0};
  for (int k = 0; k < 4; k++) {
    const int xx = x0 + (k & 1), yy = y0 + (k >> 1);
    if (xx >= 0 && xx < w && yy >= 0 && yy < h) {
      const float *p = in + ((size_t)yy * w + xx) * 3;
      acc[0] += wt[k] * p[0];
      acc[1] += wt[k] * p[1];
      acc[2] += wt[k] * p[2];
    } else {
      acc[0] += wt[k] * fill;
      acc[1] += wt[k] * fill;
      acc[2] += wt[k] * fill;
    }
  }
  o[0] = acc[0];
  o[1] = acc[1];
  o[2] = acc[2];
}

static inline void rot_edge_adj(float *din, int h, int w, int x0, int y0, const float wt[4], const float *g) {
  for (int k = 0; k < 4; k++) {
    const int xx = x0 + (k & 1), yy = y0 + (k >> 1);
    if (xx >= 0 && xx < w && yy >= 0 && yy < h) {
      float *p = din + ((size_t)yy * w + xx) * 3;
      p[0] += wt[k] * g[0];
      p[1] += wt[k] * g[1];
      p[2] += wt[k] * g[2];
    }
  }
}

static void rotate_fwd__scalar(fv_transform *t, const float *in, int h, int w, double c, double s, float fill,
                               tf_win win, float *out) {
  const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  rot_cols(t, w, c, s, cx);
  const double *tcx = t->tcx, *tsx = t->tsx;
  for (int y = win.y0; y < win.y0 + win.h; y++) {
    const double sy = s * (y - cy), cyy = c * (y - cy);
    for (int x = win.x0; x < win.x0 + win.w; x++) {
      int x0, y0;
      float fx, fy;
      rot_src(tcx[x], tsx[x], sy, cyy, cx, cy, &x0, &y0, &fx, &fy);
      const float wt[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
      float *o = out + ((size_t)y * w + x) * 3;
      if (x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h) { /* all four inside: no checks */
        const float *p = in + ((size_t)y0 * w + x0) * 3, *q = p + (size_t)w * 3;
        for (int ch = 0; ch < 3; ch++) {
          float a = 0;
          a += wt[0] * p[ch];
          a += wt[1] * p[3 + ch];
          a += wt[2] * q[ch];
          a += wt[3] * q[3 + ch];
          o[ch] = a;
        }
        continue;
      }
      rot_edge_fwd(in, h, w, x0, y0, wt, fill, o);
    }
  }
}

static void rotate_adj__scalar(fv_transform *t, const float *dout, int h, int w, double c, double s, tf_win win,
                               float *din) {
  const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  rot_cols(t, w, c, s, cx);
  const double *tcx = t->tcx, *tsx = t->tsx;
  for (int y = win.y0; y < win.y0 + win.h; y++) {
    const double sy = s * (y - cy), cyy = c * (y - cy);
    for (int x = win.x0; x < win.x0 + win.w; x++) {
      int x0, y0;
      float fx, fy;
      rot_src(tcx[x], tsx[x], sy, cyy, cx, cy, &x0, &y0, &fx, &fy);
      const float wt[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
      const float *g = dout + ((size_t)y * w + x) * 3;
      if (x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h) { /* all four inside: no checks */
        float *p = din + ((size_t)y0 * w + x0) * 3, *q = p + (size_t)w * 3;
        for (int ch = 0; ch < 3; ch++) {
          p[ch] += wt[0] * g[ch];
          p[3 + ch] += wt[1] * g[ch];
          q[ch] += wt[2] * g[ch];
          q[3 + ch] += wt[3] * g[ch];
        }
        continue;
      }
      rot_edge_adj(din, h, w, x0, y0, wt, g);
    }
  }
}

#ifdef __wasm_simd128__
/* rot_src and the tap weights of the 4 pixels x..x+3 of a row: the scalar's double
 * operations in f64x2 pairs, its float ones in f32x4, lane by lane. Out: the taps'
 * top-left corners and, per pixel j, its weights (wt[0..3] of the scalar) in wv[j]. */
static inline void rot_src4(const double *tcx, const double *tsx, int x, double sy, double cyy, double cx, double cy,
                            int32_t x0[4], int32_t y0[4], v128_t wv[4]) {
  const v128_t vsy = wasm_f64x2_splat(sy), vcyy = wasm_f64x2_splat(cyy), vcx = wasm_f64x2_splat(cx);
  const v128_t vcy = wasm_f64x2_splat(cy), half = wasm_f64x2_splat(0.5), tol = wasm_f64x2_splat(1e-6);
  v128_t xi[2], yi[2], fx[2], fy[2];
  for (int k = 0; k < 2; k++) {
    v128_t u = wasm_f64x2_add(wasm_f64x2_sub(wasm_v128_load(tcx + x + 2 * k), vsy), vcx);
    v128_t v = wasm_f64x2_add(wasm_f64x2_add(wasm_v128_load(tsx + x + 2 * k), vcyy), vcy);
    const v128_t ru = wasm_f64x2_floor(wasm_f64x2_add(u, half)), rv = wasm_f64x2_floor(wasm_f64x2_add(v, half));
    u = wasm_v128_bitselect(ru, u, wasm_f64x2_lt(wasm_f64x2_abs(wasm_f64x2_sub(u, ru)), tol));
    v = wasm_v128_bitselect(rv, v, wasm_f64x2_lt(wasm_f64x2_abs(wasm_f64x2_sub(v, rv)), tol));
    const v128_t fu = wasm_f64x2_floor(u), fvv = wasm_f64x2_floor(v);
    xi[k] = wasm_i32x4_trunc_sat_f64x2_zero(fu);
    yi[k] = wasm_i32x4_trunc_sat_f64x2_zero(fvv);
    fx[k] = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_sub(u, fu));
    fy[k] = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_sub(v, fvv));
  }
  wasm_v128_store(x0, SHUF4(xi[0], xi[1], 0, 1, 4, 5));
  wasm_v128_store(y0, SHUF4(yi[0], yi[1], 0, 1, 4, 5));
  const v128_t one = wasm_f32x4_splat(1.0f);
  const v128_t vfx = SHUF4(fx[0], fx[1], 0, 1, 4, 5), vfy = SHUF4(fy[0], fy[1], 0, 1, 4, 5);
  const v128_t gx = wasm_f32x4_sub(one, vfx), gy = wasm_f32x4_sub(one, vfy);
  wv[0] = wasm_f32x4_mul(gy, gx);   /* (1 - fy)(1 - fx) of pixels x..x+3 */
  wv[1] = wasm_f32x4_mul(gy, vfx);  /* (1 - fy) fx */
  wv[2] = wasm_f32x4_mul(vfy, gx);  /* fy (1 - fx) */
  wv[3] = wasm_f32x4_mul(vfy, vfx); /* fy fx */
  /* per tap → per pixel */
  const v128_t t0 = SHUF4(wv[0], wv[1], 0, 4, 1, 5), t1 = SHUF4(wv[0], wv[1], 2, 6, 3, 7);
  const v128_t t2 = SHUF4(wv[2], wv[3], 0, 4, 1, 5), t3 = SHUF4(wv[2], wv[3], 2, 6, 3, 7);
  wv[0] = SHUF4(t0, t2, 0, 1, 4, 5);
  wv[1] = SHUF4(t0, t2, 2, 3, 6, 7);
  wv[2] = SHUF4(t1, t3, 0, 1, 4, 5);
  wv[3] = SHUF4(t1, t3, 2, 3, 6, 7);
}

/* As the scalar twins, the coordinates 4 pixels at a time (the row's last w % 4 one by
 * one); the 4-lane taps need the pixel not last in the image (its store) and the
 * bottom-right tap not last either (its load). */
static void rotate_fwd__wasmsimd(fv_transform *t, const float *in, int h, int w, double c, double s, float fill,
                                 tf_win win, float *out) {
  const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  rot_cols(t, w, c, s, cx);
  const double *tcx = t->tcx, *tsx = t->tsx;
  const int xe = win.x0 + win.w;
  for (int y = win.y0; y < win.y0 + win.h; y++) {
    const double sy = s * (y - cy), cyy = c * (y - cy);
    for (int xb = win.x0; xb < xe; xb += 4) {
      int32_t bx0[4], by0[4];
      v128_t wv[4];
      const int nb = xe - xb < 4 ? xe - xb : 4;
      if (nb == 4) {
        rot_src4(tcx, tsx, xb, sy, cyy, cx, cy, bx0, by0, wv);
      } else {
        for (int j = 0; j < nb; j++) {
          float fx, fy;
          rot_src(tcx[xb + j], tsx[xb + j], sy, cyy, cx, cy, &bx0[j], &by0[j], &fx, &fy);
          const float wt[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
          wv[j] = wasm_v128_load(wt);
        }
      }
      for (int j = 0; j < nb; j++) {
        const int x = xb + j, x0 = bx0[j], y0 = by0[j];
        float *o = out + ((size_t)y * w + x) * 3;
        const v128_t wj = wv[j];
        if (x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h && (y0 + 2 < h || x0 + 2 < w) && (y + 1 < h || x + 1 < w)) {
          const float *p = in + ((size_t)y0 * w + x0) * 3, *q = p + (size_t)w * 3;
          v128_t a = wasm_f32x4_splat(0.0f); /* 0 + ..., as the scalar's accumulator */
          a = wasm_f32x4_add(a, wasm_f32x4_mul(SHUF4(wj, wj, 0, 0, 0, 0), wasm_v128_load(p)));
          a = wasm_f32x4_add(a, wasm_f32x4_mul(SHUF4(wj, wj, 1, 1, 1, 1), wasm_v128_load(p + 3)));
          a = wasm_f32x4_add(a, wasm_f32x4_mul(SHUF4(wj, wj, 2, 2, 2, 2), wasm_v128_load(q)));
          a = wasm_f32x4_add(a, wasm_f32x4_mul(SHUF4(wj, wj, 3, 3, 3, 3), wasm_v128_load(q + 3)));
          wasm_v128_store(o, a);
          continue;
        }
        float wt[4];
        wasm_v128_store(wt, wj);
        rot_edge_fwd(in, h, w, x0, y0, wt, fill, o); /* the fill, or a tap at the end of the image */
      }
    }
  }
}

/* Rows [a0, a1) of din: the taps there of every dout row that can reach them (the
 * caller has the column tables, rot_cols). */
static void rotate_adj__wasmsimd(fv_transform *t, const float *dout, int h, int w, double c, double s, tf_win win,
                                 float *din, int a0, int a1) {
  float *acc = t->acc4;
  memset(acc + (size_t)a0 * w * 4, 0, (size_t)(a1 - a0) * w * 4 * sizeof(float));
  const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  const double *tcx = t->tcx, *tsx = t->tsx;
  const int xe = win.x0 + win.w;
  /* a row's source v = tsx[x] + c·(y − cy) + cy is linear in x: its ends bound the tap rows */
  const double slo = tsx[win.x0] < tsx[xe - 1] ? tsx[win.x0] : tsx[xe - 1];
  const double shi = tsx[win.x0] < tsx[xe - 1] ? tsx[xe - 1] : tsx[win.x0];
  for (int y = win.y0; y < win.y0 + win.h; y++) {
    const double sy = s * (y - cy), cyy = c * (y - cy);
    if (floor(shi + cyy + cy + 1e-6) + 1 < a0 || floor(slo + cyy + cy - 1e-6) >= a1) continue;
    for (int xb = win.x0; xb < xe; xb += 4) {
      int32_t bx0[4], by0[4];
      v128_t wv[4];
      const int nb = xe - xb < 4 ? xe - xb : 4;
      if (nb == 4) {
        rot_src4(tcx, tsx, xb, sy, cyy, cx, cy, bx0, by0, wv);
      } else {
        for (int j = 0; j < nb; j++) {
          float fx, fy;
          rot_src(tcx[xb + j], tsx[xb + j], sy, cyy, cx, cy, &bx0[j], &by0[j], &fx, &fy);
          const float wt[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
          wv[j] = wasm_v128_load(wt);
        }
      }
      for (int j = 0; j < nb; j++) {
        const int x = xb + j, x0 = bx0[j], y0 = by0[j];
        if (y0 + 1 < a0 || y0 >= a1) continue; /* no tap in these rows */
        const v128_t wj = wv[j];
        const v128_t gv = load3(dout + ((size_t)y * w + x) * 3, y == h - 1 && x == w - 1);
        if (x0 >= 0 && x0 + 1 < w && y0 >= a0 && y0 + 1 < a1) { /* all four inside these rows */
          float *p = acc + ((size_t)y0 * w + x0) * 4, *q = p + (size_t)w * 4;
          wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), wasm_f32x4_mul(SHUF4(wj, wj, 0, 0, 0, 0), gv)));
          wasm_v128_store(p + 4, wasm_f32x4_add(wasm_v128_load(p + 4), wasm_f32x4_mul(SHUF4(wj, wj, 1, 1, 1, 1), gv)));
          wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), wasm_f32x4_mul(SHUF4(wj, wj, 2, 2, 2, 2), gv)));
          wasm_v128_store(q + 4, wasm_f32x4_add(wasm_v128_load(q + 4), wasm_f32x4_mul(SHUF4(wj, wj, 3, 3, 3, 3), gv)));
          continue;
        }
        float wt[4];
        wasm_v128_store(wt, wj);
        for (int k = 0; k < 4; k++) { /* the taps inside the image and these rows */
          const int xx = x0 + (k & 1), yy = y0 + (k >> 1);
          if (xx >= 0 && xx < w && yy >= a0 && yy < a1) {
            float *p = acc + ((size_t)yy * w + xx) * 4;
            wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), wasm_f32x4_mul(wasm_f32x4_splat(wt[k]), gv)));
          }
        }
      }
    }
  }
  pack4to3(acc + (size_t)a0 * w * 4, (size_t)(a1 - a0) * w, din + (size_t)a0 * w * 3);
}
#endif

/* Output pixels in `win` only (the rest of out is not written, except that no rotation
 * copies whole rows). */
static void rotate_fwd(fv_transform *t, const float *in, int h, int w, double c, double s, float fill, tf_win win,
                       float *out) {
  if (c == 1.0 && s == 0.0) {
    const size_t row = (size_t)w * 3;
    memcpy(out + win.y0 * row, in + win.y0 * row, (size_t)win.h * row * sizeof(float));
    return;
  }
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    rotate_fwd__wasmsimd(t, in, h, w, c, s, fill, win, out);
    return;
  }
#endif
  rotate_fwd__scalar(t, in, h, w, c, s, fill, win, out);
}

/* Output pixels in `win` only: dout must be 0 outside it (those pixels would add nothing). */
static void rotate_adj(fv_transform *t, const float *dout, int h, int w, double c, double s, tf_win win, float *din,
                       int split) {
  if (c == 1.0 && s == 0.0) {
    memcpy(din, dout, (size_t)h * w * 3 * sizeof(float));
    return;
  }
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    rot_cols(t, w, c, s, 0.5 * (w - 1));
    /* one row range per thread: each recomputes the coordinates of the rows on its borders */
    const stage_job j = {.t = t, .rotate = 1, .in = dout, .out = din, .ih = h, .iw = w, .c = c, .s = s, .win = win,
                         .parts = split ? fv_threads_count() : 1};
    run_parts(adj_part, &j, j.parts, split);
    return;
  }
#endif
  (void)split;
  memset(din, 0, (size_t)h * w * 3 * sizeof(float));
  rotate_adj__scalar(t, dout, h, w, c, s, win, din);
}

/* ---- the chain ------------------------------------------------------------------------------
 * A jitter that ends the chain (and is not fused with a pad before it) is not run as a
 * copy: the final resize reads its crop in place, the stage before it computes only
 * that crop when it is a rotation, and backward the resize's adjoint writes straight
 * into the crop of the jitter's input. The same values, a pass fewer each way. */
static int final_jitter(const fv_transform_opts *o) {
  const int ns = o->n_stages;
  return ns >= 1 && o->stages[ns - 1].kind == FV_TF_JITTER && !(ns >= 2 && o->stages[ns - 2].kind == FV_TF_PAD);
}

static tf_win crop_win(const tf_draw *d) {
  tf_win v = {d->d.oy, d->d.ox, d->d.h, d->d.w};
  return v;
}

/* ---- one image's stages on the threads, by output rows (a batch of one) ------------------------ */

/* Rows [b, e) of the stage's output (win's, from its top, for a rotation), with thread th's tables. */
static void stage_part(void *ctx, int th, int b, int e) {
  const stage_job *j = (const stage_job *)ctx;
  fv_transform *t = th == 0 ? j->t : &j->t->th[th - 1];
  if (!j->rotate) {
    resize_fwd(t, j->in, j->ih, j->iw, j->stride, j->out, j->oh, j->ow, b, e);
    return;
  }
  tf_win w = j->win;
  w.y0 += b;
  w.h = e - b;
  rotate_fwd(t, j->in, j->ih, j->iw, j->c, j->s, j->fill, w, j->out);
}

/* The stage on all threads when `split` (each output pixel computed as one call would), else here. */
static void run_stage(stage_job *j, int split) { run_parts(stage_part, j, j->rotate ? j->win.h : j->oh, split); }

static void resize_stage(fv_transform *t, int split, const float *in, int ih, int iw, int stride, float *out, int oh,
                         int ow) {
  stage_job j = {.t = t, .in = in, .out = out, .ih = ih, .iw = iw, .stride = stride, .oh = oh, .ow = ow};
  run_stage(&j, split);
}

/* Image i of in through the chain into out, with t's scratch; split: each stage by rows on
 * the threads (their scratch for the tables), for a batch of one. */
static void forward_image(fv_transform *t, int i, const float *in, float *out, int split) {
  const fv_transform_opts *o = &t->o;
  const size_t in_sz = (size_t)o->in_h * o->in_w * 3, out_sz = (size_t)o->out_h * o->out_w * 3;
  const int fuse = final_jitter(o), ns = o->n_stages - fuse; /* stages run here */
  {
    const tf_draw *dr = &t->draws[(size_t)i * o->n_stages];
    const float *src = in + i * in_sz;
    int h = o->in_h, w = o->in_w, which = 0;
    for (int s = 0; s < ns; s++) {
      const fv_tf_stage *st = &o->stages[s];
      const tf_draw *d = &dr[s];
      float *dst = t->buf[which];
      which ^= 1;
      if (st->kind == FV_TF_PAD && s + 1 < ns && o->stages[s + 1].kind == FV_TF_JITTER) {
        d++; /* pad then jitter: one pass, and the jitter's sizes */
        s++;
        pad_crop_fwd(src, h, w, st->amount, st->value, d->d.oy, d->d.ox, d->d.h, d->d.w, dst);
      } else {
        switch (st->kind) {
          case FV_TF_PAD: pad_fwd(src, h, w, st->amount, st->value, dst); break;
          case FV_TF_JITTER: crop_fwd(src, w, d->d.oy, d->d.ox, d->d.h, d->d.w, dst); break;
          case FV_TF_SCALE: resize_stage(t, split, src, h, w, w, dst, d->d.h, d->d.w); break;
          case FV_TF_ROTATE: {
            stage_job j = {.t = t, .rotate = 1, .in = src, .out = dst, .ih = h, .iw = w, .c = d->c, .s = d->s,
                           .fill = st->value, .win = fuse && s == ns - 1 ? crop_win(&dr[ns]) : whole(h, w)};
            run_stage(&j, split);
            break;
          }
          default: assert(0);
        }
      }
      src = dst;
      h = d->d.h;
      w = d->d.w;
    }
    if (fuse) {
      const tf_win c = crop_win(&dr[ns]);
      resize_stage(t, split, src + ((size_t)c.y0 * w + c.x0) * 3, c.h, c.w, w, out + i * out_sz, o->out_h, o->out_w);
    } else {
      resize_stage(t, split, src, h, w, w, out + i * out_sz, o->out_h, o->out_w);
    }
  }
}

/* Image i of dout back through the chain into din, with t's scratch. */
static void backward_image(fv_transform *t, int i, const float *dout, float *din, int split) {
  const fv_transform_opts *o = &t->o;
  const size_t in_sz = (size_t)o->in_h * o->in_w * 3, out_sz = (size_t)o->out_h * o->out_w * 3;
  const int ns = o->n_stages, fuse = final_jitter(o);
  {
    const tf_draw *dr = &t->draws[(size_t)i * ns];
    float *dst_img = din + i * in_sz;
    /* the final resize's adjoint, into the last stage's output, or with a final jitter
     * into the crop of the jitter's input */
    const int last = ns - 1 - fuse; /* the last stage left to undo */
    const int lh = last >= 0 ? dr[last].d.h : o->in_h, lw = last >= 0 ? dr[last].d.w : o->in_w;
    float *dst = last >= 0 ? t->buf[0] : dst_img;
    resize_adj(t, dout + i * out_sz, o->out_h, o->out_w, dst, lh, lw, fuse ? crop_win(&dr[ns - 1]) : whole(lh, lw),
               split);
    const float *g = dst;
    int which = 1;
    for (int s = last; s >= 0; s--) {
      const fv_tf_stage *st = &o->stages[s];
      if (st->kind == FV_TF_JITTER && s >= 1 && o->stages[s - 1].kind == FV_TF_PAD) {
        /* a jitter after a pad: both adjoints in one pass, into the pad's input */
        const int p = s - 1, h = p ? dr[p - 1].d.h : o->in_h, w = p ? dr[p - 1].d.w : o->in_w;
        float *to = p ? t->buf[which] : dst_img;
        which ^= 1;
        pad_crop_adj(g, h, w, o->stages[p].amount, dr[s].d.oy, dr[s].d.ox, dr[s].d.h, dr[s].d.w, to);
        g = to;
        s--;
        continue;
      }
      /* this stage's input size: the previous stage's output, or the transform's input */
      const int h = s ? dr[s - 1].d.h : o->in_h, w = s ? dr[s - 1].d.w : o->in_w;
      float *to = s ? t->buf[which] : dst_img;
      which ^= 1;
      switch (st->kind) {
        case FV_TF_PAD: pad_adj(g, h, w, st->amount, to); break;
        case FV_TF_JITTER: crop_adj(g, h, w, dr[s].d.oy, dr[s].d.ox, dr[s].d.h, dr[s].d.w, to); break;
        case FV_TF_SCALE: resize_adj(t, g, dr[s].d.h, dr[s].d.w, to, h, w, whole(h, w), split); break;
        case FV_TF_ROTATE: {
          /* with a final jitter after it, g is 0 outside the crop */
          const tf_win win = fuse && s == last ? crop_win(&dr[ns - 1]) : whole(h, w);
          rotate_adj(t, g, h, w, dr[s].c, dr[s].s, win, to, split);
          break;
        }
        default: assert(0);
      }
      g = to;
    }
  }
}

/* ---- the batch, image by image on the threads -------------------------------------------- */
typedef struct {
  fv_transform *t;
  const float *in;
  float *out;
  int backward;
} batch_job;

static void batch_part(void *ctx, int th, int b, int e) {
  const batch_job *j = (const batch_job *)ctx;
  fv_transform *t = th == 0 ? j->t : &j->t->th[th - 1];
  for (int i = b; i < e; i++) {
    if (j->backward) backward_image(t, i, j->in, j->out, 0);
    else forward_image(t, i, j->in, j->out, 0);
  }
}

static void run_batch(fv_transform *t, const float *in, float *out, int backward) {
  batch_job j = {t, in, out, backward};
  const int nt = fv_threads_count();
  if (nt > t->n_th) batch_part(&j, 0, 0, t->o.n); /* more threads than scratch */
  else if (t->o.n == 1 && nt > 1) { /* one image: its stages' rows */
    if (backward) backward_image(t, 0, in, out, 1);
    else forward_image(t, 0, in, out, 1);
  }
  else fv_threads_for(t->o.n, batch_part, &j);
}

void fv_transform_forward(fv_transform *t, const float *in, float *out) { run_batch(t, in, out, 0); }

void fv_transform_backward(fv_transform *t, const float *dout, float *din) { run_batch(t, dout, din, 1); }
