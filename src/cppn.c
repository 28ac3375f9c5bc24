/* cppn.c — the CPPN image: forward, and backward to its own weights; see cppn.h.
 * The 1×1 layers are GEMMs through fv_split_fc / fv_split_fc_grad (split.h:
 * rows over the threads, the same bits on any count; scalar and SIMD there);
 * the weight gradient dW += dzᵀ·in (wgrad: output units over the threads) and
 * the composite activation and its gradient (pixels over the threads) are this
 * module's twins, listed in kernels.inc. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cppn.h"
#include "kernels/kernels.h"
#include "split.h"
#include "rng.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define HID FV_CPPN_HIDDEN
#define WIDE (2 * FV_CPPN_HIDDEN) /* the composite activation's outputs */

struct fv_cppn {
  int n, channels;
  size_t one, count;   /* params per image, all */
  float *values;
  /* one chunk: the inputs of every layer (in[0]: coordinates, in[l]: layer l−1's
   * activation), every layer's z, and two gradient buffers */
  float *in[FV_CPPN_LAYERS + 1]; /* [CHUNK][2] then [CHUNK][WIDE] */
  float *z[FV_CPPN_LAYERS];      /* [CHUNK][HID] */
  float *dwide, *dz;             /* [CHUNK][WIDE], [CHUNK][HID] */
};

static int fan_in(int l) { return l == 0 ? 2 : WIDE; }

/* offsets of layer l's W and b in one image's params (l == LAYERS: the output layer) */
static size_t w_at(int l) {
  size_t o = 0;
  for (int k = 0; k < l; k++) o += (size_t)HID * fan_in(k) + HID;
  return o;
}

fv_cppn *fv_cppn_new(int n, int channels, uint64_t seed, fv_error *err) {
  if (n < 1 || n > 1024 || (channels != 3 && channels != 4)) {
    fv_error_set(err, FV_ERR_BAD_ARG, "cppn: %d images of %d channels (1..1024 images, 3 or 4 channels)", n, channels);
    return NULL;
  }
  fv_cppn *c = (fv_cppn *)calloc(1, sizeof *c);
  if (!c) goto oom;
  c->n = n, c->channels = channels;
  c->one = w_at(FV_CPPN_LAYERS) + (size_t)channels * WIDE + channels;
  c->count = c->one * n;
  c->values = (float *)malloc(c->count * sizeof(float));
  int ok = c->values != NULL;
  for (int l = 0; l <= FV_CPPN_LAYERS; l++) ok = ok && (c->in[l] = (float *)malloc((size_t)FV_CPPN_CHUNK * (l ? WIDE : 2) * sizeof(float)));
  for (int l = 0; l < FV_CPPN_LAYERS; l++) ok = ok && (c->z[l] = (float *)malloc((size_t)FV_CPPN_CHUNK * HID * sizeof(float)));
  c->dwide = (float *)malloc((size_t)FV_CPPN_CHUNK * WIDE * sizeof(float));
  c->dz = (float *)malloc((size_t)FV_CPPN_CHUNK * HID * sizeof(float));
  if (!ok || !c->dwide || !c->dz) goto oom;
  fv_cppn_reset(c, seed);
  return c;
oom:
  fv_error_set(err, FV_ERR_NO_MEMORY, "cppn: out of memory for %d networks", n);
  fv_cppn_free(c);
  return NULL;
}

void fv_cppn_free(fv_cppn *c) {
  if (!c) return;
  free(c->values);
  for (int l = 0; l <= FV_CPPN_LAYERS; l++) free(c->in[l]);
  for (int l = 0; l < FV_CPPN_LAYERS; l++) free(c->z[l]);
  free(c->dwide);
  free(c->dz);
  free(c);
}

float *fv_cppn_values(fv_cppn *c) { return c->values; }
size_t fv_cppn_count(const fv_cppn *c) { return c->count; }
size_t fv_cppn_count_one(const fv_cppn *c) { return c->one; }

void fv_cppn_reset(fv_cppn *c, uint64_t seed) {
  fv_rng r;
  fv_rng_seed(&r, seed);
  memset(c->values, 0, c->count * sizeof(float));
  for (int b = 0; b < c->n; b++) {
    float *p = c->values + (size_t)b * c->one;
    for (int l = 0; l < FV_CPPN_LAYERS; l++) {
      const double sd = sqrt(1.0 / fan_in(l));
      float *w = p + w_at(l);
      for (size_t i = 0; i < (size_t)HID * fan_in(l); i++) w[i] = (float)(sd * fv_rng_normal(&r));
    }
  }
}

/* tf.linspace(−√3, √3, n)[i] (one point: its start) */
static float coord(int i, int n) {
  const double r = sqrt(3.0);
  return n < 2 ? (float)-r : (float)(-r + 2.0 * r * i / (n - 1));
}

/* ---- the composite activation: z [np][HID] → out [np][WIDE] = [atan z / 0.67, atan² z / 0.6] ----
 * The scalar twin takes libm's atanf; the SIMD twin atan4 below, Cephes' atanf
 * (range reduction to |t| <= tan π/8 and its degree-9 odd polynomial), within
 * a few ulps of atanf (tests/c/cppn_test.c holds it there), so the two twins
 * differ in the last bits and a CPPN render's bytes depend on SIMD being on.
 * The gradient through it is plain arithmetic, the same operations in the
 * same order in both twins: the same bits. */
static void composite__scalar(int np, const float *z, float *out) {
  for (int p = 0; p < np; p++)
    for (int k = 0; k < HID; k++) {
      const float a = atanf(z[(size_t)p * HID + k]);
      out[(size_t)p * WIDE + k] = a / 0.67f;
      out[(size_t)p * WIDE + HID + k] = (a * a) / 0.6f;
    }
}

/* dz = dL/dz from dwide = dL/dout: d/dz [atan z / 0.67, atan² z / 0.6] = [1 / 0.67, 2 atan z / 0.6] / (1 + z²),
 * with atan z from the forward's output (out / 0.67 · 0.67: one atanf per unit and pixel saved) */
static void composite_grad__scalar(int np, const float *z, const float *out, const float *dwide, float *dz) {
  for (int p = 0; p < np; p++)
    for (int k = 0; k < HID; k++) {
      const float zk = z[(size_t)p * HID + k], a = out[(size_t)p * WIDE + k] * 0.67f;
      const float s = 1.0f / (1.0f + zk * zk);
      const float *dw = dwide + (size_t)p * WIDE;
      dz[(size_t)p * HID + k] = (dw[k] / 0.67f + dw[HID + k] * (2.0f * a / 0.6f)) * s;
    }
}

#ifdef __wasm_simd128__
#define SPLAT wasm_f32x4_splat
/* atan of each lane (Cephes atanf): |x| > tan 3π/8: π/2 + atan(−1/|x|); > tan π/8: π/4 + atan((|x| − 1)/(|x| + 1));
 * else atan |x|; the polynomial on the reduced t; x's sign back. NaN stays NaN, ±inf gives ±π/2. */
static inline v128_t atan4(v128_t x) {
  const v128_t sign = wasm_v128_and(x, wasm_i32x4_splat((int32_t)0x80000000)), ax = wasm_f32x4_abs(x);
  const v128_t big = wasm_f32x4_gt(ax, SPLAT(2.414213562373095f)), mid = wasm_f32x4_gt(ax, SPLAT(0.4142135623730950f));
  const v128_t one = SPLAT(1.0f);
  const v128_t num = wasm_v128_bitselect(SPLAT(-1.0f), wasm_v128_bitselect(wasm_f32x4_sub(ax, one), ax, mid), big);
  const v128_t den = wasm_v128_bitselect(ax, wasm_v128_bitselect(wasm_f32x4_add(ax, one), one, mid), big);
  const v128_t t = wasm_f32x4_div(num, den), t2 = wasm_f32x4_mul(t, t);
  const v128_t y0 = wasm_v128_bitselect(SPLAT(1.5707963267948966f), wasm_v128_and(SPLAT(0.7853981633974483f), mid), big);
  v128_t p = SPLAT(8.05374449538e-2f);
  p = wasm_f32x4_sub(wasm_f32x4_mul(p, t2), SPLAT(1.38776856032e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t2), SPLAT(1.99777106478e-1f));
  p = wasm_f32x4_sub(wasm_f32x4_mul(p, t2), SPLAT(3.33329491539e-1f));
  const v128_t r = wasm_f32x4_add(y0, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, t2), t), t));
  return wasm_v128_or(r, sign);
}

/* HID is a multiple of 4: whole vectors along the units of a pixel */
static void composite__wasmsimd(int np, const float *z, float *out) {
  const v128_t s1 = SPLAT(0.67f), s2 = SPLAT(0.6f);
  for (int p = 0; p < np; p++)
    for (int k = 0; k < HID; k += 4) {
      const v128_t a = atan4(wasm_v128_load(z + (size_t)p * HID + k));
      wasm_v128_store(out + (size_t)p * WIDE + k, wasm_f32x4_div(a, s1));
      wasm_v128_store(out + (size_t)p * WIDE + HID + k, wasm_f32x4_div(wasm_f32x4_mul(a, a), s2));
    }
}

static void composite_grad__wasmsimd(int np, const float *z, const float *out, const float *dwide, float *dz) {
  const v128_t one = SPLAT(1.0f), s1 = SPLAT(0.67f), s2 = SPLAT(0.6f), two = SPLAT(2.0f);
  for (int p = 0; p < np; p++)
    for (int k = 0; k < HID; k += 4) {
      const v128_t zk = wasm_v128_load(z + (size_t)p * HID + k);
      const v128_t a = wasm_f32x4_mul(wasm_v128_load(out + (size_t)p * WIDE + k), s1);
      const v128_t s = wasm_f32x4_div(one, wasm_f32x4_add(one, wasm_f32x4_mul(zk, zk)));
      const float *dw = dwide + (size_t)p * WIDE;
      const v128_t g1 = wasm_f32x4_div(wasm_v128_load(dw + k), s1);
      const v128_t g2 = wasm_f32x4_mul(wasm_v128_load(dw + HID + k), wasm_f32x4_div(wasm_f32x4_mul(two, a), s2));
      wasm_v128_store(dz + (size_t)p * HID + k, wasm_f32x4_mul(wasm_f32x4_add(g1, g2), s));
    }
}
#undef SPLAT
#endif

_Static_assert(HID % 4 == 0, "the SIMD composite runs whole vectors of units");

/* The composite's call over pixels [0, np) split across the threads (each pixel's units in one part). */
typedef struct {
  const float *z, *out, *dwide;
  float *y, *dz;
} composite_job;

static void composite_part(void *ctx, int t, int p0, int p1) {
  const composite_job *j = (const composite_job *)ctx;
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    composite__wasmsimd(p1 - p0, j->z + (size_t)p0 * HID, j->y + (size_t)p0 * WIDE);
    return;
  }
#endif
  composite__scalar(p1 - p0, j->z + (size_t)p0 * HID, j->y + (size_t)p0 * WIDE);
}

static void composite_grad_part(void *ctx, int t, int p0, int p1) {
  const composite_job *j = (const composite_job *)ctx;
  const float *z = j->z + (size_t)p0 * HID, *out = j->out + (size_t)p0 * WIDE, *dwide = j->dwide + (size_t)p0 * WIDE;
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    composite_grad__wasmsimd(p1 - p0, z, out, dwide, j->dz + (size_t)p0 * HID);
    return;
  }
#endif
  composite_grad__scalar(p1 - p0, z, out, dwide, j->dz + (size_t)p0 * HID);
}

/* Work per unit for the split (element operations): the atan's reduction, division and polynomial. */
#define COMPOSITE_OPS 24.0
#define COMPOSITE_GRAD_OPS 8.0

void fv_cppn_composite(int np, const float *z, float *out) {
  composite_job j = {.z = z, .y = out};
  fv_split_items(np, 1, COMPOSITE_OPS * np * HID, composite_part, &j);
}

void fv_cppn_composite_grad(int np, const float *z, const float *out, const float *dwide, float *dz) {
  composite_job j = {.z = z, .out = out, .dwide = dwide, .dz = dz};
  fv_split_items(np, 1, COMPOSITE_GRAD_OPS * np * HID, composite_grad_part, &j);
}

/* ---- a layer's pixels over the threads: the GEMM and the activation in one job ----
 * Forward, a part of whole pixels (GEMM rows, at least FV_SPLIT_GEMM_MIN_ROWS as
 * fv_split_fc's) runs z = W·in + b on its rows, then the composite on them.
 * Backward, a part runs dwide = dy·W of the layer above on its rows (fv_fc_grad:
 * any rows, the same bits) and at once the composite's gradient on them: dz of
 * the layer below, written over the layer above's dz after the GEMM has read
 * those rows. The same calls
 * on the same rows as fv_split_fc / fv_split_fc_grad and the composite's own
 * split: one job a layer instead of two. */
typedef struct {
  int ic, oc;
  const float *x, *w, *b; /* forward: the layer's input, W, b; backward: dy [np][oc], W */
  float *z, *out;         /* forward: the layer's z and activation */
  const float *zb, *ab;   /* backward: the layer below's z and activation */
  float *dwide, *dz;      /* backward: dL/d(that activation), dL/d(that z) (dz may be dy: row by row) */
} layer_job;

static void layer_forward_part(void *ctx, int t, int p0, int p1) {
  const layer_job *j = (const layer_job *)ctx;
  fv_fc(p1 - p0, j->ic, HID, j->x + (size_t)p0 * j->ic, j->w, j->b, FV_ACT_NONE, j->z + (size_t)p0 * HID);
  composite_job cj = {.z = j->z, .y = j->out};
  composite_part(&cj, t, p0, p1);
}

static void layer_backward_part(void *ctx, int t, int p0, int p1) {
  const layer_job *j = (const layer_job *)ctx;
  float *dwide = j->dwide + (size_t)p0 * WIDE;
  memset(dwide, 0, (size_t)(p1 - p0) * WIDE * sizeof(float));
  fv_fc_grad(p1 - p0, WIDE, j->oc, j->x + (size_t)p0 * j->oc, j->w, dwide);
  composite_job cj = {.z = j->zb, .out = j->ab, .dwide = j->dwide, .dz = j->dz};
  composite_grad_part(&cj, t, p0, p1);
}

/* pixels [p0, p0 + np) of an h×w image through every layer, keeping each layer's input and z */
static void chunk_forward(fv_cppn *c, const float *params, int p0, int np, int w, int h, float *logits) {
  for (int p = 0; p < np; p++) {
    const int i = (p0 + p) / w, j = (p0 + p) % w;
    c->in[0][2 * p] = coord(j, w);     /* x: along the row */
    c->in[0][2 * p + 1] = coord(i, h); /* y */
  }
  for (int l = 0; l < FV_CPPN_LAYERS; l++) {
    const float *W = params + w_at(l);
    layer_job j = {.ic = fan_in(l), .x = c->in[l], .w = W, .b = W + (size_t)HID * fan_in(l), .z = c->z[l], .out = c->in[l + 1]};
    fv_split_items(np, FV_SPLIT_GEMM_MIN_ROWS, (double)np * HID * (fan_in(l) + COMPOSITE_OPS), layer_forward_part, &j);
  }
  const float *W = params + w_at(FV_CPPN_LAYERS);
  fv_split_fc(np, WIDE, c->channels, c->in[FV_CPPN_LAYERS], W, W + (size_t)c->channels * WIDE, FV_ACT_NONE, logits);
}

void fv_cppn_logits(fv_cppn *c, const float *params, int b, int h, int w, float *logits) {
  const float *p = params + (size_t)b * c->one;
  const int total = h * w;
  for (int p0 = 0; p0 < total; p0 += FV_CPPN_CHUNK) {
    const int np = total - p0 < FV_CPPN_CHUNK ? total - p0 : FV_CPPN_CHUNK;
    chunk_forward(c, p, p0, np, w, h, logits + (size_t)p0 * c->channels);
  }
}

/* ---- the weight gradient: dw [oc][ic] += Σ_p dy[p][o]·x[p][k], db [oc] += Σ_p dy[p][o] ----
 * For the output units [o0, o1) (dw, db and dy are the whole layer's). Per
 * weight the sum runs over p in order in both twins, and the threads split
 * whole output units: the same bits on any count, SIMD or not. */
static void wgrad__scalar(int np, int ic, int oc, int o0, int o1, const float *dy, const float *x, float *dw, float *db) {
  for (int o = o0; o < o1; o++) {
    float *wo = dw + (size_t)o * ic;
    for (int p = 0; p < np; p++) {
      const float g = dy[(size_t)p * oc + o];
      const float *xp = x + (size_t)p * ic;
      for (int k = 0; k < ic; k++) wo[k] += g * xp[k];
      db[o] += g;
    }
  }
}

#ifdef __wasm_simd128__
/* Two output units at a time share each load of x; per unit and group of 16 inputs
 * the accumulators stay in registers across the pixels. */
static void wgrad__wasmsimd(int np, int ic, int oc, int o0, int o1, const float *dy, const float *x, float *dw, float *db) {
  if (ic % 4) {
    wgrad__scalar(np, ic, oc, o0, o1, dy, x, dw, db);
    return;
  }
  int o = o0;
  for (; o + 2 <= o1; o += 2) {
    float *wa = dw + (size_t)o * ic, *wb = wa + ic;
    for (int k0 = 0; k0 < ic; k0 += 16) {
      const int nv = (ic - k0) / 4 < 4 ? (ic - k0) / 4 : 4;
      v128_t a[4], b[4];
      for (int v = 0; v < nv; v++) a[v] = wasm_v128_load(wa + k0 + 4 * v), b[v] = wasm_v128_load(wb + k0 + 4 * v);
      for (int p = 0; p < np; p++) {
        const v128_t ga = wasm_f32x4_splat(dy[(size_t)p * oc + o]), gb = wasm_f32x4_splat(dy[(size_t)p * oc + o + 1]);
        const float *xp = x + (size_t)p * ic + k0;
        for (int v = 0; v < nv; v++) {
          const v128_t xv = wasm_v128_load(xp + 4 * v);
          a[v] = wasm_f32x4_add(a[v], wasm_f32x4_mul(ga, xv));
          b[v] = wasm_f32x4_add(b[v], wasm_f32x4_mul(gb, xv));
        }
      }
      for (int v = 0; v < nv; v++) wasm_v128_store(wa + k0 + 4 * v, a[v]), wasm_v128_store(wb + k0 + 4 * v, b[v]);
    }
    for (int p = 0; p < np; p++) db[o] += dy[(size_t)p * oc + o], db[o + 1] += dy[(size_t)p * oc + o + 1];
  }
  for (; o < o1; o++) { /* an odd unit left */
    float *wo = dw + (size_t)o * ic;
    for (int k0 = 0; k0 < ic; k0 += 16) {
      const int nv = (ic - k0) / 4 < 4 ? (ic - k0) / 4 : 4;
      v128_t acc[4];
      for (int v = 0; v < nv; v++) acc[v] = wasm_v128_load(wo + k0 + 4 * v);
      for (int p = 0; p < np; p++) {
        const v128_t g = wasm_f32x4_splat(dy[(size_t)p * oc + o]);
        const float *xp = x + (size_t)p * ic + k0;
        for (int v = 0; v < nv; v++) acc[v] = wasm_f32x4_add(acc[v], wasm_f32x4_mul(g, wasm_v128_load(xp + 4 * v)));
      }
      for (int v = 0; v < nv; v++) wasm_v128_store(wo + k0 + 4 * v, acc[v]);
    }
    for (int p = 0; p < np; p++) db[o] += dy[(size_t)p * oc + o];
  }
}
#endif

typedef struct {
  int np, ic, oc;
  const float *dy, *x;
  float *dw, *db;
} wgrad_job;

static void wgrad_part(void *ctx, int t, int o0, int o1) {
  const wgrad_job *j = (const wgrad_job *)ctx;
#ifdef __wasm_simd128__
  if (fv_kernels_simd_enabled()) {
    wgrad__wasmsimd(j->np, j->ic, j->oc, o0, o1, j->dy, j->x, j->dw, j->db);
    return;
  }
#endif
  wgrad__scalar(j->np, j->ic, j->oc, o0, o1, j->dy, j->x, j->dw, j->db);
}

/* output units over the threads */
static void wgrad(int np, int ic, int oc, const float *dy, const float *x, float *dw, float *db) {
  wgrad_job j = {np, ic, oc, dy, x, dw, db};
  fv_split_items(oc, 1, (double)np * (ic + 1) * oc, wgrad_part, &j);
}

void fv_cppn_backward(fv_cppn *c, int b, int h, int w, const float *dlogits, float *grad) {
  const float *params = c->values + (size_t)b * c->one;
  float *scratch_logits = c->dz; /* the forward's logits are not needed: dz is free until the layers */
  memset(grad, 0, c->one * sizeof(float));
  const int total = h * w, C = c->channels;
  for (int p0 = 0; p0 < total; p0 += FV_CPPN_CHUNK) {
    const int np = total - p0 < FV_CPPN_CHUNK ? total - p0 : FV_CPPN_CHUNK;
    chunk_forward(c, params, p0, np, w, h, scratch_logits);
    const float *dy = dlogits + (size_t)p0 * C;
    /* the output layer */
    const size_t wo = w_at(FV_CPPN_LAYERS);
    wgrad(np, WIDE, C, dy, c->in[FV_CPPN_LAYERS], grad + wo, grad + wo + (size_t)C * WIDE);
    /* then layer by layer down: dz of layer l (from the layer above's dy), its weight gradient */
    for (int l = FV_CPPN_LAYERS - 1; l >= 0; l--) {
      const int top = l == FV_CPPN_LAYERS - 1;
      const size_t above = top ? wo : w_at(l + 1);
      layer_job j = {.oc = top ? C : HID, .x = top ? dy : c->dz, .w = params + above,
                     .zb = c->z[l], .ab = c->in[l + 1], .dwide = c->dwide, .dz = c->dz};
      fv_split_items(np, 1, (double)np * WIDE * (j.oc + COMPOSITE_GRAD_OPS / 2), layer_backward_part, &j);
      const size_t at = w_at(l);
      wgrad(np, fan_in(l), HID, c->dz, c->in[l], grad + at, grad + at + (size_t)HID * fan_in(l));
    }
  }
}
