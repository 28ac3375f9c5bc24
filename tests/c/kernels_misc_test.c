/* kernels_misc_test.c — the kernels outside the convolution family that
 * kernels_unary/lrn/layout_test do not hold: the binary ops (elementwise.c:
 * ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, PRELU), the pools (pool.c: SAME,
 * VALID, explicit asymmetric pads, ceil mode, count_include_pad, global),
 * MEAN, PAD (with a value), CONCATENATION, SOFTMAX and the fused
 * activations (act.c), forward and input-gradient.
 *
 * Natively (scalar kernels under ASan/UBSan) and in wasm (SIMD kernels, then
 * again with SIMD switched off):
 *  - every forward kernel against a naive double-precision reference written
 *    here from the op's definition (ONNX's for the new ops), on awkward
 *    shapes (odd channel counts, width/height 1, broadcasts in both orders,
 *    stride 1/2, SAME/VALID/explicit pads, ceil overhang), and a few of
 *    PyTorch's own outputs for ceil mode and count_include_pad;
 *  - every gradient against an independent check: the exact adjoint identity
 *    <f(x), dy> = <x, f^T(dy)> for the linear ops plus an elementwise double
 *    reference, central finite differences of the double reference forward
 *    for MUL, DIV, MAXIMUM, MINIMUM, PRELU, MAX_POOL_2D and SOFTMAX (inputs
 *    kept away from ties and kinks), and always with dx prefilled, since
 *    gradients accumulate;
 *  - fv_act_grad's ordinary masks at, below and above the bounds, and Lucid's
 *    redirected gradient on hand-made cases whose expected values are derived
 *    from lucid/misc/redirected_relu_grad.py in the comments.
 * In wasm, every SIMD twin of these signatures in kernels.inc is also run
 * against its scalar kernel on random shapes (bit for bit: they do the same
 * float operations); a listed kernel of these signatures without cases fails.
 */
#include "kernel_test.h"

/* ==== helpers ====================================================================== */

static const int ODD_C[] = {1, 3, 5, 7, 13};
static const int SMALL_HW[] = {1, 2, 3, 5};
#define PICK(arr) ((arr)[check_int(0, (int)(sizeof(arr) / sizeof((arr)[0])) - 1)])

static double ref_act(fv_act act, double v) {
  if (act == FV_ACT_NONE) return v;
  if (v < 0) v = 0;
  if (act == FV_ACT_RELU6 && v > 6) v = 6;
  return v;
}

static const char *act_name(fv_act a) { return a == FV_ACT_NONE ? "none" : a == FV_ACT_RELU ? "relu" : "relu6"; }

/* ==== binary ops: ADD SUB MUL DIV MAXIMUM MINIMUM PRELU ============================ */

typedef enum { K_ADD, K_SUB, K_MUL, K_DIV, K_MAX, K_MIN, K_PRELU, K_COUNT } bkind;
static const char *const BNAME[K_COUNT] = {"add", "sub", "mul", "div", "maximum", "minimum", "prelu"};
static fv_bcast_fn *const BFWD[K_COUNT] = {fv_add, fv_sub, fv_mul, fv_div, fv_maximum, fv_minimum, fv_prelu};
static fv_bcast_grad_ab_fn *const BGRAD[K_COUNT] = {NULL, NULL, fv_mul_grad, fv_div_grad, fv_maximum_grad,
                                                    fv_minimum_grad, fv_prelu_grad};

/* pattern: 0 same shape, 1 a=[N,1,1,C], 2 b=[N,1,1,C], 3 a=[1,1,1,1], 4 b=[1,1,1,1], 5 random per dim */
static void rand_bcast(fv_bcast_shape *s, int pattern, int big) {
  static const int BIG_C[] = {1, 3, 5, 7, 13, 16, 37};
  s->y[0] = check_int(1, 2);
  s->y[1] = PICK(SMALL_HW);
  s->y[2] = PICK(SMALL_HW);
  s->y[3] = big ? PICK(BIG_C) : PICK(ODD_C);
  memcpy(s->a, s->y, sizeof s->a);
  memcpy(s->b, s->y, sizeof s->b);
  switch (pattern) {
    /* [n, 1, 1, C], or per channel only ([1, 1, 1, C]: the SIMD forward's flat path for C <= 8) */
    case 1: s->a[1] = s->a[2] = 1, s->a[0] = check_int(0, 1) ? 1 : s->a[0]; break;
    case 2: s->b[1] = s->b[2] = 1, s->b[0] = check_int(0, 1) ? 1 : s->b[0]; break;
    case 3: s->a[0] = s->a[1] = s->a[2] = s->a[3] = 1; break;
    case 4: s->b[0] = s->b[1] = s->b[2] = s->b[3] = 1; break;
    case 5:
      for (int k = 0; k < 4; k++) {
        int r = check_int(0, 2);
        if (r == 1) s->a[k] = 1;
        if (r == 2) s->b[k] = 1;
      }
      break;
    default: break;
  }
}

/* flat index into an input of dims d at output coordinates (a size-1 dim repeats) */
static size_t bidx(const int d[4], int n, int h, int w, int c) {
  n = d[0] == 1 ? 0 : n;
  h = d[1] == 1 ? 0 : h;
  w = d[2] == 1 ? 0 : w;
  c = d[3] == 1 ? 0 : c;
  return (((size_t)n * d[1] + h) * d[2] + w) * d[3] + c;
}

/* The ops as ONNX defines them (Add, Sub, Mul, Div, Max, Min, PRelu), in double. */
static double ref_op(bkind k, double u, double v) {
  switch (k) {
    case K_ADD: return u + v;
    case K_SUB: return u - v;
    case K_MUL: return u * v;
    case K_DIV: return u / v;
    case K_MAX: return u > v ? u : v;
    case K_MIN: return u < v ? u : v;
    default: return u < 0 ? v * u : u;
  }
}

static void ref_binary(const fv_bcast_shape *s, const double *a, const double *b, fv_act act, bkind k, double *y) {
  size_t i = 0;
  for (int n = 0; n < s->y[0]; n++)
    for (int h = 0; h < s->y[1]; h++)
      for (int w = 0; w < s->y[2]; w++)
        for (int c = 0; c < s->y[3]; c++)
          y[i++] = ref_act(act, ref_op(k, a[bidx(s->a, n, h, w, c)], b[bidx(s->b, n, h, w, c)]));
}

/* for fd_grad: the op of ctx over (a, b), x being one of them */
typedef struct {
  const fv_bcast_shape *s;
  bkind k;
  double *a, *b;
} binary_ctx;
static void binary_f(const double *x, void *vc, double *out) {
  (void)x; /* x is a or b itself, moved in place */
  binary_ctx *c = (binary_ctx *)vc;
  ref_binary(c->s, c->a, c->b, FV_ACT_NONE, c->k, out);
}

/* Values away from the kinks for finite differences: a on the grid 0.1·k + 0.03, b on 0.1·k + 0.08, so
 * |a − b| >= 0.05 (MAXIMUM, MINIMUM) and |a| >= 0.03 (PRELU); DIV's b in ±[0.5, 2]. */
static void fill_binary(bkind k, float *a, size_t na, float *b, size_t nb) {
  for (size_t i = 0; i < na; i++) a[i] = 0.1f * (float)check_int(-30, 30) + 0.03f;
  for (size_t i = 0; i < nb; i++) b[i] = 0.1f * (float)check_int(-30, 30) + 0.08f;
  if (k == K_DIV)
    for (size_t i = 0; i < nb; i++) b[i] = (check_int(0, 1) ? 1.0f : -1.0f) * check_uniform(0.5f, 2.0f);
  if (k == K_PRELU)
    for (size_t i = 0; i < nb; i++) b[i] = check_uniform(-0.5f, 1.5f); /* slopes */
}

static void test_binary(void) {
  for (int trial = 0; trial < 84; trial++) {
    const bkind k = (bkind)(trial % K_COUNT);
    fv_bcast_shape s;
    rand_bcast(&s, trial / K_COUNT % 6, 0);
    size_t na = numel(s.a), nb = numel(s.b), ny = numel(s.y);
    float *a = fbuf(na), *b = fbuf(nb), *y = fbuf(ny);
    float *dy = fbuf(ny), *da = fbuf(na), *db = fbuf(nb), *pa = fbuf(na), *pb = fbuf(nb);
    fill_binary(k, a, na, b, nb);
    check_fill(dy, ny, -1, 1);
    check_fill(pa, na, -1, 1);
    check_fill(pb, nb, -1, 1);
    double *ad = to_double(a, na), *bd = to_double(b, nb), *ref = dbuf(ny), *ga = dbuf(na), *gb = dbuf(nb);
    char what[160];
    snprintf(what, sizeof what, "%s a=[%d,%d,%d,%d] b=[%d,%d,%d,%d]", BNAME[k], s.a[0], s.a[1], s.a[2], s.a[3],
             s.b[0], s.b[1], s.b[2], s.b[3]);

    /* forward, every fused activation */
    for (fv_act act = FV_ACT_NONE; act <= FV_ACT_RELU6; act++) {
      for (size_t i = 0; i < ny; i++) y[i] = 1e30f; /* every output must be written */
      BFWD[k](&s, a, b, act, y);
      ref_binary(&s, ad, bd, act, k, ref);
      double r = ratio_fd(y, ref, ny, 1e-6, 1e-6);
      CHECK(r <= 1, "%s act=%s: ratio %g", what, act_name(act), r);
    }
    kernel_mark(BNAME[k]);

    /* gradients, accumulated onto prefilled buffers; NULL for an input without one */
    if (k == K_ADD || k == K_SUB) { /* linear: the reduction by hand, and the adjoint identity */
      memset(ga, 0, na * sizeof *ga);
      memset(gb, 0, nb * sizeof *gb);
      size_t i = 0;
      for (int n = 0; n < s.y[0]; n++)
        for (int h = 0; h < s.y[1]; h++)
          for (int w = 0; w < s.y[2]; w++)
            for (int c = 0; c < s.y[3]; c++, i++) {
              ga[bidx(s.a, n, h, w, c)] += dy[i];
              gb[bidx(s.b, n, h, w, c)] += k == K_SUB ? -dy[i] : dy[i];
            }
      fv_bcast_grad_fn *grad = k == K_ADD ? fv_add_grad : fv_sub_grad;
      memcpy(da, pa, na * sizeof *da);
      memcpy(db, pb, nb * sizeof *db);
      grad(&s, dy, da, db);
      CHECK(ratio_acc(da, pa, ga, na, 1e-5, 1e-5) <= 1 && ratio_acc(db, pb, gb, nb, 1e-5, 1e-5) <= 1, "%s grad",
            what);
      memcpy(db, pb, nb * sizeof *db);
      grad(&s, dy, NULL, db);
      CHECK(ratio_acc(db, pb, gb, nb, 1e-5, 1e-5) <= 1, "%s grad db with da NULL", what);
      memcpy(da, pa, na * sizeof *da);
      grad(&s, dy, da, NULL);
      CHECK(ratio_acc(da, pa, ga, na, 1e-5, 1e-5) <= 1, "%s grad da with db NULL", what);
      memset(da, 0, na * sizeof *da);
      memset(db, 0, nb * sizeof *db);
      grad(&s, dy, da, db);
      BFWD[k](&s, a, b, FV_ACT_NONE, y);
      double scale = 1e-6, lhs = dotf(y, dy, ny, &scale), rhs = dotf(a, da, na, &scale) + dotf(b, db, nb, &scale);
      CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "%s adjoint: %g vs %g", what, lhs, rhs);
      kernel_mark(k == K_ADD ? "add_grad" : "sub_grad");
    } else { /* central differences of the double reference, off the kinks */
      binary_ctx c = {&s, k, ad, bd};
      fd_grad(binary_f, &c, ad, na, dy, ny, 1e-3, ga);
      fd_grad(binary_f, &c, bd, nb, dy, ny, 1e-3, gb);
      memcpy(da, pa, na * sizeof *da);
      memcpy(db, pb, nb * sizeof *db);
      BGRAD[k](&s, a, b, dy, da, db);
      double r1 = ratio_acc(da, pa, ga, na, 1e-4, 1e-4), r2 = ratio_acc(db, pb, gb, nb, 1e-4, 1e-4);
      CHECK(r1 <= 1 && r2 <= 1, "%s grad vs finite differences: %g %g", what, r1, r2);
      memcpy(db, pb, nb * sizeof *db);
      BGRAD[k](&s, a, b, dy, NULL, db);
      CHECK(ratio_acc(db, pb, gb, nb, 1e-4, 1e-4) <= 1, "%s grad db with da NULL", what);
      memcpy(da, pa, na * sizeof *da);
      BGRAD[k](&s, a, b, dy, da, NULL);
      CHECK(ratio_acc(da, pa, ga, na, 1e-4, 1e-4) <= 1, "%s grad da with db NULL", what);
      kernel_mark(k == K_MUL ? "mul_grad" : k == K_DIV ? "div_grad" : k == K_MAX ? "maximum_grad"
                  : k == K_MIN ? "minimum_grad" : "prelu_grad");
    }
    free(a), free(b), free(y), free(dy), free(da), free(db), free(pa), free(pb);
    free(ad), free(bd), free(ref), free(ga), free(gb);
  }
  /* ties of MAXIMUM and MINIMUM give the whole gradient to the first input */
  {
    fv_bcast_shape s = {{1, 1, 1, 2}, {1, 1, 1, 2}, {1, 1, 1, 2}};
    const float a[2] = {1.5f, -2.0f}, b[2] = {1.5f, -2.0f}, dy[2] = {3.0f, -1.0f};
    float da[2] = {0, 0}, db[2] = {0, 0};
    fv_maximum_grad(&s, a, b, dy, da, db);
    CHECK(da[0] == 3.0f && da[1] == -1.0f && db[0] == 0.0f && db[1] == 0.0f, "MAXIMUM tie: %g %g | %g %g", da[0],
          da[1], db[0], db[1]);
    da[0] = da[1] = db[0] = db[1] = 0.0f;
    fv_minimum_grad(&s, a, b, dy, da, db);
    CHECK(da[0] == 3.0f && da[1] == -1.0f && db[0] == 0.0f && db[1] == 0.0f, "MINIMUM tie");
  }
}

/* ==== pools ======================================================================== */

/* TFLite's geometry: SAME out = ceil(in/stride), pad total = max((out-1)*stride + k - in, 0), before = total/2;
 * VALID out = ceil((in-k+1)/stride), no pad. */
static void pool_geom(fv_conv_shape *s, int n, int ih, int iw, int c, int kh, int kw, int st, fv_padding pad,
                      fv_act act) {
  memset(s, 0, sizeof *s);
  s->n = n, s->ih = ih, s->iw = iw, s->ic = s->oc = c, s->kh = kh, s->kw = kw;
  s->sh = s->sw = st, s->dh = s->dw = 1, s->dm = 1, s->act = act;
  if (pad == FV_PADDING_SAME) {
    s->oh = (ih + st - 1) / st;
    s->ow = (iw + st - 1) / st;
    int ph = (s->oh - 1) * st + kh - ih, pw = (s->ow - 1) * st + kw - iw;
    s->pt = ph > 0 ? ph / 2 : 0;
    s->pl = pw > 0 ? pw / 2 : 0;
    s->pb = ph > 0 ? ph - ph / 2 : 0;
    s->pr = pw > 0 ? pw - pw / 2 : 0;
  } else {
    s->oh = (ih - kh + st) / st;
    s->ow = (iw - kw + st) / st;
  }
}

/* ONNX's explicit pads (asymmetric, each below the window), ceil mode and count_include_pad; the output size
 * from fv_conv_shape_pad, which kernels_conv_test holds to PyTorch's. 0 if the output is empty. */
static int pool_explicit(fv_conv_shape *s, int pt, int pl, int pb, int pr, int ceil_mode, int count_pad) {
  s->pt = pt, s->pl = pl, s->pb = pb, s->pr = pr, s->ceil_mode = ceil_mode, s->count_pad = count_pad;
  fv_conv_shape_pad(s, FV_PADDING_EXPLICIT);
  return s->oh > 0 && s->ow > 0;
}

static void rand_pool(fv_conv_shape *s, int big) {
  static const int HW[] = {1, 2, 3, 5, 7, 8};
  static const int BIG_C[] = {1, 3, 5, 7, 13, 8, 16, 20, 37};
  for (;;) {
    int ih = PICK(HW), iw = PICK(HW), kh = check_int(1, 3), kw = check_int(1, 3), st = check_int(1, 2);
    const int mode = check_int(0, 3), n = check_int(1, 2), c = big ? PICK(BIG_C) : PICK(ODD_C);
    const fv_act act = (fv_act)check_int(0, 2);
    if (mode == 3) { /* global: the window is the whole map */
      pool_geom(s, n, ih, iw, c, ih, iw, 1, FV_PADDING_VALID, act);
      return;
    }
    fv_padding pad = mode == 0 ? FV_PADDING_SAME : FV_PADDING_VALID;
    if (mode == 1 && (ih < kh || iw < kw)) pad = FV_PADDING_SAME;
    pool_geom(s, n, ih, iw, c, kh, kw, st, pad, act);
    if (mode < 2) return;
    if (pool_explicit(s, check_int(0, kh - 1), check_int(0, kw - 1), check_int(0, kh - 1), check_int(0, kw - 1),
                      check_int(0, 1), check_int(0, 1)))
      return;
  }
}

/* maximum: 0 average, 1 max. Taps are enumerated from the filter, skipping those in the padding; with
 * count_pad the average divides by the taps inside the padded input [-pt, ih+pb) × [-pl, iw+pr) instead. */
static void ref_pool(const fv_conv_shape *s, const double *x, int maximum, fv_act act, double *y) {
  size_t i = 0;
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++)
        for (int c = 0; c < s->ic; c++, i++) {
          double acc = maximum ? -HUGE_VAL : 0;
          int cnt = 0, padded = 0;
          for (int ky = 0; ky < s->kh; ky++)
            for (int kx = 0; kx < s->kw; kx++) {
              int iy = oy * s->sh - s->pt + ky, ix = ox * s->sw - s->pl + kx;
              padded += iy >= -s->pt && iy < s->ih + s->pb && ix >= -s->pl && ix < s->iw + s->pr;
              if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
              double v = x[(((size_t)n * s->ih + iy) * s->iw + ix) * s->ic + c];
              acc = maximum ? (v > acc ? v : acc) : acc + v;
              cnt++;
            }
          const int div = s->count_pad ? padded : cnt;
          y[i] = !cnt ? 0 : ref_act(act, maximum ? acc : acc / div);
        }
}

static void ref_avgpool_grad(const fv_conv_shape *s, const float *dy, double *g) {
  size_t i = 0;
  for (int n = 0; n < s->n; n++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++)
        for (int c = 0; c < s->ic; c++, i++) {
          int cnt = 0, padded = 0;
          for (int pass = 0; pass < 2; pass++)
            for (int ky = 0; ky < s->kh; ky++)
              for (int kx = 0; kx < s->kw; kx++) {
                int iy = oy * s->sh - s->pt + ky, ix = ox * s->sw - s->pl + kx;
                if (pass == 0) padded += iy >= -s->pt && iy < s->ih + s->pb && ix >= -s->pl && ix < s->iw + s->pr;
                if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                if (pass == 0) cnt++;
                else g[(((size_t)n * s->ih + iy) * s->iw + ix) * s->ic + c] += (double)dy[i] / (s->count_pad ? padded : cnt);
              }
        }
}

static void shuffle_distinct(float *x, size_t n, float gap) {
  for (size_t i = 0; i < n; i++) x[i] = (float)i * gap - (float)n * gap / 2;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)check_int(0, (int)i - 1);
    float t = x[i - 1];
    x[i - 1] = x[j];
    x[j] = t;
  }
}

static void pool_fixed(int trial, fv_conv_shape *s) {
  switch (trial) {
    case 0: pool_geom(s, 2, 7, 7, 13, 7, 7, 1, FV_PADDING_VALID, FV_ACT_NONE); break; /* global pool */
    case 1: pool_geom(s, 1, 1, 1, 5, 1, 1, 1, FV_PADDING_VALID, FV_ACT_RELU6); break;
    case 2: pool_geom(s, 1, 5, 1, 3, 3, 3, 2, FV_PADDING_SAME, FV_ACT_RELU); break; /* width 1 */
    case 3: pool_geom(s, 1, 2, 2, 1, 3, 3, 2, FV_PADDING_SAME, FV_ACT_NONE); break; /* filter > input */
    case 4: /* GoogLeNet's max pools: 3×3 stride 2, ceil mode, no pads (odd map: the last window is cut) */
      pool_geom(s, 1, 9, 9, 6, 3, 3, 2, FV_PADDING_VALID, FV_ACT_NONE);
      pool_explicit(s, 0, 0, 0, 0, 1, 0);
      break;
    case 5: /* ... even map, the last window hangs one past the edge */
      pool_geom(s, 2, 8, 6, 5, 3, 3, 2, FV_PADDING_VALID, FV_ACT_NONE);
      pool_explicit(s, 0, 0, 0, 0, 1, 0);
      break;
    case 6: /* GoogLeNet's inception max pools: 3×3 stride 1, pads 1 */
      pool_geom(s, 1, 5, 4, 7, 3, 3, 1, FV_PADDING_VALID, FV_ACT_NONE);
      pool_explicit(s, 1, 1, 1, 1, 0, 0);
      break;
    case 7: /* count_include_pad with asymmetric pads and ceil overhang, width 1 */
      pool_geom(s, 1, 6, 1, 3, 3, 2, 2, FV_PADDING_VALID, FV_ACT_RELU6);
      pool_explicit(s, 1, 0, 0, 1, 1, 1);
      break;
    default: /* global over a 1-wide map */
      pool_geom(s, 2, 5, 1, 9, 5, 1, 1, FV_PADDING_VALID, FV_ACT_RELU);
      break;
  }
}

static void test_pools(void) {
  for (int trial = 0; trial < 120; trial++) {
    fv_conv_shape s;
    if (trial < 9) pool_fixed(trial, &s);
    else rand_pool(&s, 0);
    size_t nx = (size_t)s.n * s.ih * s.iw * s.ic, ny = (size_t)s.n * s.oh * s.ow * s.ic;
    float *x = fbuf(nx), *y = fbuf(ny), *dy = fbuf(ny), *dx = fbuf(nx), *p = fbuf(nx);
    double *ref = dbuf(ny), *g = dbuf(nx);
    char what[200];
    snprintf(what, sizeof what, "n%d %dx%dx%d k%dx%d s%d pad%d,%d,%d,%d ceil%d cnt%d out %dx%d act=%s", s.n, s.ih,
             s.iw, s.ic, s.kh, s.kw, s.sh, s.pt, s.pl, s.pb, s.pr, s.ceil_mode, s.count_pad, s.oh, s.ow,
             act_name(s.act));
    check_fill(x, nx, -2, 8);
    check_fill(dy, ny, -1, 1);
    check_fill(p, nx, -1, 1);
    double *xd = to_double(x, nx);

    /* AVERAGE_POOL_2D forward */
    for (size_t i = 0; i < ny; i++) y[i] = 1e30f;
    fv_avgpool2d(&s, x, y);
    ref_pool(&s, xd, 0, s.act, ref);
    CHECK(ratio_fd(y, ref, ny, 1e-5, 1e-5) <= 1, "AVERAGE_POOL_2D %s", what);
    kernel_mark("avgpool2d");

    /* its gradient: elementwise reference (prefilled) and the adjoint identity */
    ref_avgpool_grad(&s, dy, g);
    memcpy(dx, p, nx * sizeof *dx);
    fv_avgpool2d_grad(&s, dy, dx);
    CHECK(ratio_acc(dx, p, g, nx, 1e-5, 1e-5) <= 1, "AVERAGE_POOL_2D grad %s", what);
    {
      fv_conv_shape s0 = s;
      s0.act = FV_ACT_NONE;
      fv_avgpool2d(&s0, x, y);
      memset(dx, 0, nx * sizeof *dx);
      fv_avgpool2d_grad(&s0, dy, dx);
      double scale = 1e-6, lhs = dotf(y, dy, ny, &scale), rhs = dotf(x, dx, nx, &scale);
      CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "AVERAGE_POOL_2D adjoint %s: %g vs %g", what, lhs, rhs);
    }
    kernel_mark("avgpool2d_grad");

    /* MAX_POOL_2D forward */
    for (size_t i = 0; i < ny; i++) y[i] = 1e30f;
    fv_maxpool2d(&s, x, y);
    ref_pool(&s, xd, 1, s.act, ref);
    CHECK(mismatch_fd(y, ref, ny) == 0, "MAX_POOL_2D %s", what);
    kernel_mark("maxpool2d");

    /* ... with its argmax: the same y, and the gradient from the argmax is the search's, bit
     * for bit (ties included: every third x repeats another) */
    {
      float *yi = fbuf(ny), *dx1 = fbuf(nx), *dx2 = fbuf(nx);
      int32_t *idx = (int32_t *)malloc((ny ? ny : 1) * sizeof(int32_t));
      for (size_t i = 0; i < nx; i += 3) x[i] = x[i / 2];
      fv_maxpool2d(&s, x, y);
      fv_maxpool2d_idx(&s, x, yi, idx);
      CHECK(!memcmp(y, yi, ny * sizeof(float)), "MAX_POOL_2D with argmax: y differs %s", what);
      int in_range = 1;
      for (size_t i = 0; i < ny; i++) in_range &= idx[i] >= -1 && idx[i] < s.ih * s.iw;
      CHECK(in_range, "MAX_POOL_2D argmax out of the image %s", what);
      kernel_mark("maxpool2d_idx");
      memcpy(dx1, p, nx * sizeof(float));
      memcpy(dx2, p, nx * sizeof(float));
      fv_maxpool2d_grad(&s, x, y, dy, dx1);
      fv_maxpool2d_grad_idx(&s, idx, dy, dx2);
      CHECK(!memcmp(dx1, dx2, nx * sizeof(float)), "MAX_POOL_2D grad from the argmax differs %s", what);
      kernel_mark("maxpool2d_grad_idx");
      for (size_t i = 0; i < nx; i++) xd[i] = x[i];
      free(yi), free(dx1), free(dx2), free(idx);
    }

    /* its gradient: central differences of the double reference, on distinct values (no ties);
     * the FD is costly, so only on the smaller shapes */
    if (nx <= 400) {
      shuffle_distinct(x, nx, 0.01f);
      for (size_t i = 0; i < nx; i++) xd[i] = x[i];
      fv_maxpool2d(&s, x, y);
      memcpy(dx, p, nx * sizeof *dx);
      fv_maxpool2d_grad(&s, x, y, dy, dx);
      double *tmp = dbuf(ny);
      const double h = 1e-3; /* well below half the gap */
      for (size_t k = 0; k < nx; k++) {
        double x0 = xd[k], lp = 0, lm = 0;
        xd[k] = x0 + h;
        ref_pool(&s, xd, 1, FV_ACT_NONE, tmp);
        for (size_t i = 0; i < ny; i++) lp += dy[i] * tmp[i];
        xd[k] = x0 - h;
        ref_pool(&s, xd, 1, FV_ACT_NONE, tmp);
        for (size_t i = 0; i < ny; i++) lm += dy[i] * tmp[i];
        xd[k] = x0;
        g[k] = (lp - lm) / (2 * h);
      }
      free(tmp);
      CHECK(ratio_acc(dx, p, g, nx, 1e-5, 1e-4) <= 1, "MAX_POOL_2D grad vs finite differences %s", what);
      kernel_mark("maxpool2d_grad");
    }
    free(x), free(y), free(dy), free(dx), free(p), free(ref), free(g), free(xd);
  }

  /* PyTorch 1.13's own numbers (AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=True) on a
   * 6×7 map of ones; MaxPool2d(3, 2, padding=1, ceil_mode=True) on 0..41): the divisor counts the pads
   * but not the ceil overhang, and the last row and column of windows are cut. */
  {
    fv_conv_shape s;
    pool_geom(&s, 1, 6, 7, 1, 3, 3, 2, FV_PADDING_VALID, FV_ACT_NONE);
    pool_explicit(&s, 1, 1, 1, 1, 1, 1);
    float x[42], y[16];
    for (int i = 0; i < 42; i++) x[i] = 1.0f;
    const double want[16] = {4 / 9.0, 6 / 9.0, 6 / 9.0, 4 / 9.0, 6 / 9.0, 1, 1, 6 / 9.0,
                             6 / 9.0, 1,       1,       6 / 9.0, 2 / 6.0, 3 / 6.0, 3 / 6.0, 2 / 6.0};
    CHECK(s.oh == 4 && s.ow == 4, "torch case: out %dx%d", s.oh, s.ow);
    fv_avgpool2d(&s, x, y);
    CHECK(ratio_fd(y, want, 16, 1e-7, 1e-6) <= 1, "AVERAGE_POOL_2D count_include_pad, ceil: %g %g %g %g | %g %g",
          y[0], y[1], y[2], y[3], y[12], y[13]);
    const double wmax[16] = {8, 10, 12, 13, 22, 24, 26, 27, 36, 38, 40, 41, 36, 38, 40, 41};
    for (int i = 0; i < 42; i++) x[i] = (float)i;
    fv_maxpool2d(&s, x, y);
    CHECK(mismatch_fd(y, wmax, 16) == 0, "MAX_POOL_2D ceil: %g %g %g %g | %g", y[0], y[1], y[2], y[3], y[15]);
  }
  /* ties go to the first tap in (ky, kx) order, also when the window starts in the padding */
  {
    fv_conv_shape s;
    pool_geom(&s, 1, 2, 2, 1, 2, 2, 1, FV_PADDING_VALID, FV_ACT_NONE);
    float x[4] = {1, 1, 1, 1}, y[1], dy[1] = {2}, dx[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    fv_maxpool2d(&s, x, y);
    fv_maxpool2d_grad(&s, x, y, dy, dx);
    CHECK(y[0] == 1 && dx[0] == 2.5f && dx[1] == 0.5f && dx[2] == 0.5f && dx[3] == 0.5f,
          "MAX_POOL_2D tie: %g %g %g %g", dx[0], dx[1], dx[2], dx[3]);
    /* 3x3 SAME stride 1 on 3x3, C=1: output (0,0) sees rows 0-1, cols 0-1, all equal to 3 → tap (0,0) */
    pool_geom(&s, 1, 3, 3, 1, 3, 3, 1, FV_PADDING_SAME, FV_ACT_NONE);
    float x2[9] = {3, 3, 0, 3, 3, 0, 0, 0, 0}, y2[9], dy2[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0}, dx2[9] = {0};
    fv_maxpool2d(&s, x2, y2);
    fv_maxpool2d_grad(&s, x2, y2, dy2, dx2);
    CHECK(dx2[0] == 1 && dx2[1] == 0 && dx2[3] == 0 && dx2[4] == 0, "MAX_POOL_2D SAME tie");
    /* the argmax is taken from x, not from a clamped y: RELU6 output 6 from inputs {7, 9} */
    pool_geom(&s, 1, 1, 2, 1, 1, 2, 1, FV_PADDING_VALID, FV_ACT_RELU6);
    float x3[2] = {7, 9}, y3[1], dy3[1] = {1}, dx3[2] = {0, 0};
    fv_maxpool2d(&s, x3, y3);
    fv_maxpool2d_grad(&s, x3, y3, dy3, dx3);
    CHECK(y3[0] == 6 && dx3[0] == 0 && dx3[1] == 1, "MAX_POOL_2D argmax under RELU6: y %g dx %g %g", y3[0], dx3[0],
          dx3[1]);
    /* 5 channels (a SIMD block and a tail), ties everywhere: each channel's gradient to its first tap */
    pool_geom(&s, 1, 2, 2, 5, 2, 2, 1, FV_PADDING_VALID, FV_ACT_NONE);
    float x4[20], y4[5], dy4[5] = {1, 2, 3, 4, 5}, dx4[20] = {0};
    for (int i = 0; i < 20; i++) x4[i] = 2.0f;
    fv_maxpool2d(&s, x4, y4);
    fv_maxpool2d_grad(&s, x4, y4, dy4, dx4);
    int ok = 1;
    for (int i = 0; i < 20; i++) ok &= dx4[i] == (i < 5 ? dy4[i] : 0.0f);
    CHECK(ok, "MAX_POOL_2D ties across channels");
  }
}

/* ==== MEAN ========================================================================= */

static void test_mean(void) {
  for (int trial = 0; trial < 12; trial++) {
    int d[4] = {check_int(1, 2), PICK(SMALL_HW), PICK(SMALL_HW), PICK(ODD_C)};
    size_t nx = numel(d);
    float *x = fbuf(nx), *dx = fbuf(nx), *p = fbuf(nx);
    check_fill(x, nx, -3, 3);
    check_fill(p, nx, -1, 1);
    for (int axes = 0; axes < 16; axes++) {
      int od[4], cnt = 1;
      for (int k = 0; k < 4; k++) {
        od[k] = axes >> k & 1 ? 1 : d[k];
        if (axes >> k & 1) cnt *= d[k];
      }
      size_t ny = numel(od);
      float *y = fbuf(ny), *dy = fbuf(ny);
      double *ref = dbuf(ny), *g = dbuf(nx);
      check_fill(dy, ny, -1, 1);
      size_t i = 0;
      for (int n = 0; n < d[0]; n++)
        for (int h = 0; h < d[1]; h++)
          for (int w = 0; w < d[2]; w++)
            for (int c = 0; c < d[3]; c++, i++) {
              size_t o = bidx(od, n, h, w, c);
              ref[o] += (double)x[i] / cnt;
              g[i] = (double)dy[o] / cnt;
            }
      for (size_t k = 0; k < ny; k++) y[k] = 1e30f;
      fv_mean(d, axes, x, y);
      CHECK(ratio_fd(y, ref, ny, 1e-6, 1e-5) <= 1, "MEAN [%d,%d,%d,%d] axes %#x", d[0], d[1], d[2], d[3], axes);
      kernel_mark("mean");
      memcpy(dx, p, nx * sizeof *dx);
      fv_mean_grad(d, axes, dy, dx);
      CHECK(ratio_acc(dx, p, g, nx, 1e-6, 1e-5) <= 1, "MEAN grad [%d,%d,%d,%d] axes %#x", d[0], d[1], d[2], d[3],
            axes);
      memset(dx, 0, nx * sizeof *dx);
      fv_mean_grad(d, axes, dy, dx);
      double scale = 1e-6, lhs = dotf(y, dy, ny, &scale), rhs = dotf(x, dx, nx, &scale);
      CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "MEAN adjoint axes %#x: %g vs %g", axes, lhs, rhs);
      kernel_mark("mean_grad");
      free(y), free(dy), free(ref), free(g);
    }
    free(x), free(dx), free(p);
  }
}

/* ==== PAD ========================================================================== */

static void test_pad(void) {
  for (int trial = 0; trial < 40; trial++) {
    int d[4] = {check_int(1, 2), PICK(SMALL_HW), PICK(SMALL_HW), PICK(ODD_C)}, pads[4][2], yd[4];
    for (int k = 0; k < 4; k++) {
      pads[k][0] = check_int(0, k == 0 ? 1 : 2);
      pads[k][1] = check_int(0, 2);
      yd[k] = d[k] + pads[k][0] + pads[k][1];
    }
    size_t nx = numel(d), ny = numel(yd);
    float *x = fbuf(nx), *y = fbuf(ny), *dy = fbuf(ny), *dx = fbuf(nx), *p = fbuf(nx);
    double *ref = dbuf(ny), *g = dbuf(nx);
    check_fill(x, nx, -3, 3);
    check_fill(dy, ny, -1, 1);
    check_fill(p, nx, -1, 1);
    const float value = trial % 3 == 0 ? 0.0f : trial % 3 == 1 ? -0.0f : check_uniform(-5, 5); /* PADV2's constant */
    size_t i = 0;
    for (int n = 0; n < yd[0]; n++)
      for (int h = 0; h < yd[1]; h++)
        for (int w = 0; w < yd[2]; w++)
          for (int c = 0; c < yd[3]; c++, i++) {
            int q[4] = {n - pads[0][0], h - pads[1][0], w - pads[2][0], c - pads[3][0]};
            int in = 1;
            for (int k = 0; k < 4; k++) in &= q[k] >= 0 && q[k] < d[k];
            ref[i] = value;
            if (!in) continue;
            size_t xi = (((size_t)q[0] * d[1] + q[1]) * d[2] + q[2]) * d[3] + q[3];
            ref[i] = x[xi];
            g[xi] = dy[i];
          }
    for (size_t k = 0; k < ny; k++) y[k] = 1e30f;
    fv_pad(d, (const int(*)[2])pads, value, x, y);
    int sign_ok = 1; /* -0.0 stays -0.0 */
    for (size_t k = 0; k < ny; k++) sign_ok &= ref[k] != 0.0 || !signbit(y[k]) == !signbit(ref[k]);
    CHECK(mismatch_fd(y, ref, ny) == 0 && sign_ok, "PAD [%d,%d,%d,%d] value %g", d[0], d[1], d[2], d[3], value);
    kernel_mark("pad");
    memcpy(dx, p, nx * sizeof *dx);
    fv_pad_grad(d, (const int(*)[2])pads, dy, dx);
    CHECK(ratio_acc(dx, p, g, nx, 1e-6, 1e-6) <= 1, "PAD grad [%d,%d,%d,%d]", d[0], d[1], d[2], d[3]);
    memset(dx, 0, nx * sizeof *dx);
    fv_pad_grad(d, (const int(*)[2])pads, dy, dx);
    fv_pad(d, (const int(*)[2])pads, 0.0f, x, y); /* the linear part */
    double scale = 1e-6, lhs = dotf(y, dy, ny, &scale), rhs = dotf(x, dx, nx, &scale);
    CHECK(fabs(lhs - rhs) <= 1e-6 * scale, "PAD adjoint: %g vs %g", lhs, rhs);
    kernel_mark("pad_grad");
    free(x), free(y), free(dy), free(dx), free(p), free(ref), free(g);
  }
}

/* ==== CONCATENATION ================================================================ */

static void test_concat(void) {
  for (int trial = 0; trial < 40; trial++) {
    int n_in = check_int(1, 3), axis = trial % 4, base[4] = {check_int(1, 2), PICK(SMALL_HW), PICK(SMALL_HW),
                                                             PICK(ODD_C)};
    int d[3][4], yd[4];
    memcpy(yd, base, sizeof yd);
    yd[axis] = 0;
    float *x[3], *dx[3], *p[3];
    size_t nx[3];
    for (int j = 0; j < n_in; j++) {
      memcpy(d[j], base, sizeof base);
      d[j][axis] = axis == 3 ? PICK(ODD_C) : check_int(1, 3);
      yd[axis] += d[j][axis];
      nx[j] = numel(d[j]);
      x[j] = fbuf(nx[j]), dx[j] = fbuf(nx[j]), p[j] = fbuf(nx[j]);
      check_fill(x[j], nx[j], -3, 3);
      check_fill(p[j], nx[j], -1, 1);
    }
    size_t ny = numel(yd);
    float *y = fbuf(ny), *dy = fbuf(ny);
    double *ref = dbuf(ny), *g[3];
    check_fill(dy, ny, -1, 1);
    for (int j = 0; j < n_in; j++) g[j] = dbuf(nx[j]);
    size_t i = 0;
    for (int n = 0; n < yd[0]; n++)
      for (int h = 0; h < yd[1]; h++)
        for (int w = 0; w < yd[2]; w++)
          for (int c = 0; c < yd[3]; c++, i++) {
            int q[4] = {n, h, w, c}, j = 0;
            while (q[axis] >= d[j][axis]) q[axis] -= d[j++][axis];
            size_t xi = (((size_t)q[0] * d[j][1] + q[1]) * d[j][2] + q[2]) * d[j][3] + q[3];
            ref[i] = x[j][xi];
            g[j][xi] = dy[i];
          }
    for (size_t k = 0; k < ny; k++) y[k] = 1e30f;
    fv_concat(n_in, (const int(*)[4])d, axis, (const float *const *)x, y);
    CHECK(mismatch_fd(y, ref, ny) == 0, "CONCATENATION %d inputs axis %d", n_in, axis);
    kernel_mark("concat");
    for (int j = 0; j < n_in; j++) memcpy(dx[j], p[j], nx[j] * sizeof(float));
    fv_concat_grad(n_in, (const int(*)[4])d, axis, dy, dx);
    for (int j = 0; j < n_in; j++)
      CHECK(ratio_acc(dx[j], p[j], g[j], nx[j], 1e-6, 1e-6) <= 1, "CONCATENATION grad input %d axis %d", j, axis);
    /* a constant input has no gradient buffer: dx[0] NULL is skipped, the others still get theirs */
    float *dx_null[3] = {NULL, n_in > 1 ? dx[1] : NULL, n_in > 2 ? dx[2] : NULL};
    for (int j = 0; j < n_in; j++) memset(dx[j], 0, nx[j] * sizeof(float));
    fv_concat_grad(n_in, (const int(*)[4])d, axis, dy, dx_null);
    CHECK(mismatch_fd(dx[0], NULL, nx[0]) == 0, "CONCATENATION wrote through a NULL dx");
    for (int j = 1; j < n_in; j++) CHECK(mismatch_fd(dx[j], g[j], nx[j]) == 0, "CONCATENATION grad with a NULL dx");
    /* adjoint identity over all inputs */
    for (int j = 0; j < n_in; j++) memset(dx[j], 0, nx[j] * sizeof(float));
    fv_concat_grad(n_in, (const int(*)[4])d, axis, dy, dx);
    double scale = 1e-6, lhs = dotf(y, dy, ny, &scale), rhs = 0;
    for (int j = 0; j < n_in; j++) rhs += dotf(x[j], dx[j], nx[j], &scale);
    CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "CONCATENATION adjoint: %g vs %g", lhs, rhs);
    kernel_mark("concat_grad");
    for (int j = 0; j < n_in; j++) free(x[j]), free(dx[j]), free(p[j]), free(g[j]);
    free(y), free(dy), free(ref);
  }
}

/* ==== SOFTMAX ====================================================================== */

static void ref_softmax(size_t rows, int c, double beta, const double *x, double *y) {
  for (size_t r = 0; r < rows; r++) {
    double m = -HUGE_VAL, sum = 0;
    for (int k = 0; k < c; k++) m = fmax(m, beta * x[r * c + k]);
    for (int k = 0; k < c; k++) sum += y[r * c + k] = exp(beta * x[r * c + k] - m);
    for (int k = 0; k < c; k++) y[r * c + k] /= sum;
  }
}

static void test_softmax(void) {
  static const float BETAS[] = {1.0f, 0.5f, 2.5f, -1.0f};
  for (int trial = 0; trial < 24; trial++) {
    size_t rows = (size_t)check_int(1, 4);
    int c = trial == 0 ? 1001 : PICK(ODD_C);
    if (trial == 0) rows = 1;
    float beta = BETAS[trial % 4], range = trial % 3 == 2 ? 100.0f : 3.0f; /* 100: exp overflows without the max */
    size_t nx = rows * (size_t)c;
    float *x = fbuf(nx), *y = fbuf(nx), *dy = fbuf(nx), *dx = fbuf(nx), *p = fbuf(nx);
    double *xd, *ref = dbuf(nx), *g = dbuf(nx), *tmp = dbuf(nx);
    check_fill(x, nx, -range, range);
    check_fill(dy, nx, -1, 1);
    check_fill(p, nx, -1, 1);
    xd = to_double(x, nx);
    fv_softmax(rows, c, beta, x, y);
    ref_softmax(rows, c, beta, xd, ref);
    /* float's beta*x carries an absolute error ~|beta*x|*2^-24, which exp turns into a relative one */
    double rtol = 1e-5 + 4 * fabs(beta) * range * 0x1p-24;
    CHECK(ratio_fd(y, ref, nx, 1e-7, rtol) <= 1, "SOFTMAX rows %zu c %d beta %g range %g", rows, c, beta, range);
    kernel_mark("softmax");
    if (range < 10) { /* finite differences need a smooth neighbourhood: skip the saturated case */
      const double h = 1e-4;
      for (size_t k = 0; k < nx; k++) {
        double x0 = xd[k], lp = 0, lm = 0;
        xd[k] = x0 + h;
        ref_softmax(rows, c, beta, xd, tmp);
        for (size_t i = 0; i < nx; i++) lp += dy[i] * tmp[i];
        xd[k] = x0 - h;
        ref_softmax(rows, c, beta, xd, tmp);
        for (size_t i = 0; i < nx; i++) lm += dy[i] * tmp[i];
        xd[k] = x0;
        g[k] = (lp - lm) / (2 * h);
      }
      memcpy(dx, p, nx * sizeof *dx);
      fv_softmax_grad(rows, c, beta, y, dy, dx);
      CHECK(ratio_acc(dx, p, g, nx, 1e-5, 1e-3) <= 1, "SOFTMAX grad vs finite differences rows %zu c %d beta %g",
            rows, c, beta);
      kernel_mark("softmax_grad");
    }
    free(x), free(y), free(dy), free(dx), free(p), free(xd), free(ref), free(g), free(tmp);
  }
  /* stability at both ends: exp(±1000) over/underflows unless the row max is subtracted */
  {
    const float x[9] = {1000, 1001, 1002, -1002, -1001, -1000, -300, -300, -300};
    const double e = exp(1.0), z = 1 + e + e * e;
    const double want[9] = {1 / z, e / z, e * e / z, 1 / z, e / z, e * e / z, 1 / 3.0, 1 / 3.0, 1 / 3.0};
    float y[9];
    fv_softmax(3, 3, 1.0f, x, y);
    CHECK(ratio_fd(y, want, 9, 1e-7, 1e-5) <= 1, "SOFTMAX stability: %g %g %g | %g %g %g | %g", y[0], y[1], y[2],
          y[3], y[4], y[5], y[6]);
  }
}

/* ==== activations ================================================================== */

/* The rule of fv_act_grad, written from its contract, per batch item. */
static void ref_act_grad(fv_act act, int n, size_t per, const float *y, const float *dy, int redirect, double *out) {
  for (int b = 0; b < n; b++) {
    const float *yb = y + b * per, *gb = dy + b * per;
    double *ob = out + b * per, norm2 = 0;
    for (size_t i = 0; i < per; i++) {
      int live = act == FV_ACT_NONE || (yb[i] > 0 && (act == FV_ACT_RELU || yb[i] < 6));
      ob[i] = live ? gb[i] : 0;
      norm2 += ob[i] * ob[i];
    }
    if (!redirect || act == FV_ACT_NONE || norm2 > 0) continue;
    for (size_t i = 0; i < per; i++) {
      int push_down = yb[i] <= 0 && gb[i] > 0, push_up = act == FV_ACT_RELU6 && yb[i] >= 6 && gb[i] < 0;
      ob[i] = push_down || push_up ? 0 : gb[i];
    }
  }
}

/* y values as activation outputs: many exactly on the bounds; some items fully clamped */
static void fill_act_case(fv_act act, int n, size_t per, float *y, float *dy) {
  for (int b = 0; b < n; b++) {
    int clamped = check_int(0, 1);
    for (size_t i = 0; i < per; i++) {
      float *v = &y[b * per + i];
      int r = check_int(0, 3);
      if (act == FV_ACT_RELU6 && r >= 2) *v = 6.0f;
      else if (clamped || r == 0) *v = 0.0f;
      else *v = check_uniform(0.01f, act == FV_ACT_RELU6 ? 5.99f : 9.0f);
      dy[b * per + i] = check_int(0, 5) == 0 ? 0.0f : check_uniform(-1, 1);
    }
  }
}

static void test_act(void) {
  /* fv_act_apply at, below and above the bounds, and NaN passing through */
  {
    const float in[9] = {-3.0f, -0.0f, 0.0f, 1e-7f, 2.5f, 6.0f, 6.5f, 100.0f, -1e-7f};
    for (fv_act act = FV_ACT_NONE; act <= FV_ACT_RELU6; act++)
      for (size_t n = 1; n <= 9; n++) {
        float y[9];
        memcpy(y, in, sizeof y);
        fv_act_apply(act, n, y);
        int ok = 1;
        for (size_t i = 0; i < 9; i++) ok &= y[i] == (i < n ? (float)ref_act(act, in[i]) : in[i]);
        CHECK(ok, "fv_act_apply %s n=%zu", act_name(act), n);
      }
    for (size_t n = 0; n < 70; n += 3) {
      float *y = fbuf(n + 1);
      double *ref = dbuf(n + 1);
      for (fv_act act = FV_ACT_NONE; act <= FV_ACT_RELU6; act++) {
        check_fill(y, n, -3, 9);
        y[n] = 42.0f; /* past the end: untouched */
        for (size_t i = 0; i < n; i++) ref[i] = ref_act(act, y[i]);
        fv_act_apply(act, n, y);
        CHECK(mismatch_fd(y, ref, n) == 0 && y[n] == 42.0f, "fv_act_apply %s n=%zu", act_name(act), n);
        kernel_mark("act_apply");
      }
      free(y), free(ref);
    }
    float nan5[5] = {NAN, NAN, NAN, NAN, NAN};
    fv_act_apply(FV_ACT_RELU6, 5, nan5);
    CHECK(isnan(nan5[0]) && isnan(nan5[4]), "fv_act_apply lets NaN through");
  }

  /* ordinary masks from the output y: blocked on and beyond the bounds */
  {
    const float y[8] = {-1.0f, 0.0f, 1e-7f, 3.0f, 5.999f, 6.0f, 7.0f, 0.0f};
    const float pass_relu[8] = {0, 0, 1, 1, 1, 1, 1, 0}, pass_relu6[8] = {0, 0, 1, 1, 1, 0, 0, 0};
    for (fv_act act = FV_ACT_NONE; act <= FV_ACT_RELU6; act++)
      for (int redirect = 0; redirect < 2; redirect++) {
        float dy[8];
        for (int i = 0; i < 8; i++) dy[i] = (float)(i + 1) * (i % 2 ? -1.0f : 1.0f);
        float want[8];
        for (int i = 0; i < 8; i++)
          want[i] = dy[i] * (act == FV_ACT_NONE ? 1 : act == FV_ACT_RELU ? pass_relu[i] : pass_relu6[i]);
        /* the item has live units with nonzero dy, so redirect must not change anything */
        fv_act_grad(act, 1, 8, y, dy, redirect);
        int ok = 1;
        for (int i = 0; i < 8; i++) ok &= dy[i] == want[i];
        CHECK(ok, "fv_act_grad ordinary mask %s redirect=%d", act_name(act), redirect);
      }
  }

  /* Lucid's redirected ReLU6 gradient, by hand. Lucid (redirected_relu6_grad) works on the pre-activation
   * x: relu_grad = grad where 0 <= x <= 6 else 0; if an item's relu_grad has norm 0 it uses instead grad with
   * zeros where (x < 0 and grad > 0) or (x > 6 and grad < 0). Items of 4 units:
   *  item 0: x = {-1, -2, 7, 8} → y = {0, 0, 6, 6}, dy = {+1, -2, +3, -4}: all clamped, relu_grad = 0 →
   *          redirected: -1 with +1 pushes down (0), -2 keeps -2, 7 with +3 pulls down (3), 8 with -4 (0).
   *  item 1: x = {-1, 2.5, 9, -3} → y = {0, 2.5, 6, 0}, dy = {-1, 0.5, 2, 3}: relu_grad = {0, 0.5, 0, 0},
   *          nonzero → ordinary.
   *  item 2: x = {-1, 3, 7, -0.5} → y = {0, 3, 6, 0}, dy = {-1, 0, 2, 5}: the live unit has dy 0, so
   *          relu_grad = 0 → redirected {-1, 0, 2, 0}. */
  {
    const float y[12] = {0, 0, 6, 6, 0, 2.5f, 6, 0, 0, 3, 6, 0};
    const float dy0[12] = {1, -2, 3, -4, -1, 0.5f, 2, 3, -1, 0, 2, 5};
    const float want_redirect[12] = {0, -2, 3, 0, 0, 0.5f, 0, 0, -1, 0, 2, 0};
    const float want_plain[12] = {0, 0, 0, 0, 0, 0.5f, 0, 0, 0, 0, 0, 0};
    float dy[12];
    memcpy(dy, dy0, sizeof dy);
    fv_act_grad(FV_ACT_RELU6, 3, 4, y, dy, 1);
    int ok = 1;
    for (int i = 0; i < 12; i++) ok &= dy[i] == want_redirect[i];
    CHECK(ok, "redirected RELU6: %g %g %g %g | %g %g %g %g | %g %g %g %g", dy[0], dy[1], dy[2], dy[3], dy[4], dy[5],
          dy[6], dy[7], dy[8], dy[9], dy[10], dy[11]);
    memcpy(dy, dy0, sizeof dy);
    fv_act_grad(FV_ACT_RELU6, 3, 4, y, dy, 0);
    ok = 1;
    for (int i = 0; i < 12; i++) ok &= dy[i] == want_plain[i];
    CHECK(ok, "RELU6 without redirect");
    /* the same items seen as one item: it has a live unit, so everything is ordinary */
    memcpy(dy, dy0, sizeof dy);
    fv_act_grad(FV_ACT_RELU6, 1, 12, y, dy, 1);
    ok = 1;
    for (int i = 0; i < 12; i++) ok &= dy[i] == want_plain[i];
    CHECK(ok, "redirect is decided per item, not per unit");
  }
  /* Lucid's redirected_relu_grad (plain ReLU has no upper bound), items of 3 units:
   *  item 0: x = {-1, -2, -3} → y = {0, 0, 0}, dy = {1, -1, 0.25}: all clamped → redirected {0, -1, 0}.
   *  item 1: x = {-1, 7, -2} → y = {0, 7, 0}, dy = {-2, 0.5, -3}: 7 is live for ReLU → ordinary {0, 0.5, 0}. */
  {
    const float y[6] = {0, 0, 0, 0, 7, 0};
    float dy[6] = {1, -1, 0.25f, -2, 0.5f, -3};
    const float want[6] = {0, -1, 0, 0, 0.5f, 0};
    fv_act_grad(FV_ACT_RELU, 2, 3, y, dy, 1);
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= dy[i] == want[i];
    CHECK(ok, "redirected RELU: %g %g %g | %g %g %g", dy[0], dy[1], dy[2], dy[3], dy[4], dy[5]);
  }
  /* one live unit, at every position of items of several lengths (SIMD blocks and tails), keeps the item
   * ordinary: the clamped units' dy = -1 (which the redirect would let through) must be zeroed */
  for (fv_act act = FV_ACT_RELU; act <= FV_ACT_RELU6; act++)
    for (size_t per = 1; per <= 13; per += 4)
      for (size_t pos = 0; pos <= per; pos++) { /* pos == per: no live unit, redirected */
        float y[2 * 13], dy[2 * 13];
        int ok = 1;
        for (size_t i = 0; i < 2 * per; i++) y[i] = 0.0f, dy[i] = -1.0f;
        if (pos < per) y[per + pos] = 3.0f, dy[per + pos] = 1.0f; /* item 1; item 0 is all clamped */
        fv_act_grad(act, 2, per, y, dy, 1);
        for (size_t i = 0; i < per; i++) ok &= dy[i] == -1.0f;
        for (size_t i = 0; i < per; i++) ok &= dy[per + i] == (pos == per ? -1.0f : i == pos ? 1.0f : 0.0f);
        CHECK(ok, "redirect with one live unit: %s per=%zu pos=%zu", act_name(act), per, pos);
      }
  /* NONE is the identity, redirected or not */
  {
    const float y[3] = {-1, 0, 9};
    float dy[3] = {1, 2, 3};
    fv_act_grad(FV_ACT_NONE, 1, 3, y, dy, 1);
    CHECK(dy[0] == 1 && dy[1] == 2 && dy[2] == 3, "fv_act_grad NONE");
  }
  /* random cases against the rule */
  static const size_t PER[] = {1, 3, 4, 5, 7, 13, 37};
  for (int trial = 0; trial < 60; trial++) {
    fv_act act = (fv_act)(trial % 3);
    int n = check_int(1, 3), redirect = trial / 3 % 2;
    size_t per = PICK(PER), total = (size_t)n * per;
    float *y = fbuf(total), *dy = fbuf(total);
    double *ref = dbuf(total);
    fill_act_case(act, n, per, y, dy);
    ref_act_grad(act, n, per, y, dy, redirect, ref);
    fv_act_grad(act, n, per, y, dy, redirect);
    CHECK(mismatch_fd(dy, ref, total) == 0, "fv_act_grad %s n=%d per=%zu redirect=%d", act_name(act), n, per,
          redirect);
    kernel_mark("act_grad");
    free(y), free(dy), free(ref);
  }
}

/* ==== SIMD vs scalar over kernels.inc ============================================== */

#ifdef __wasm_simd128__
static int simd_vs_scalar(const kernel_pair *kp) {
  const char *sig = kp->sig;
  int cases = 0;
  for (int trial = 0; trial < 48; trial++) {
    if (!strcmp(sig, "bcast") || !strcmp(sig, "bcast_grad") || !strcmp(sig, "bcast_grad_ab")) {
      fv_bcast_shape s;
      rand_bcast(&s, trial % 6, 1);
      size_t na = numel(s.a), nb = numel(s.b), ny = numel(s.y);
      float *a = fbuf(na), *b = fbuf(nb), *y1 = fbuf(ny), *y2 = fbuf(ny);
      float *da1 = fbuf(na), *da2 = fbuf(na), *db1 = fbuf(nb), *db2 = fbuf(nb);
      check_fill(a, na, -4, 4);
      check_fill(b, nb, -4, 4);
      for (size_t i = 0; i < na; i += 7) a[i] = i < nb ? b[i] : 0.0f; /* ties and zeros: MAXIMUM, MINIMUM, PRELU */
      if (!strcmp(sig, "bcast")) {
        fv_act act = (fv_act)(trial % 3);
        for (size_t i = 0; i < ny; i++) y1[i] = 1e30f, y2[i] = -1e30f;
        ((fv_bcast_fn *)kp->scalar)(&s, a, b, act, y1);
        ((fv_bcast_fn *)kp->simd)(&s, a, b, act, y2);
        CHECK(mismatch_ff(y2, y1, ny) == 0, "%s SIMD vs scalar y=[%d,%d,%d,%d] a=[%d,%d,%d,%d] b=[%d,%d,%d,%d]",
              kp->op, s.y[0], s.y[1], s.y[2], s.y[3], s.a[0], s.a[1], s.a[2], s.a[3], s.b[0], s.b[1], s.b[2],
              s.b[3]);
      } else {
        check_fill(y1, ny, -1, 1); /* dy */
        check_fill(da1, na, -1, 1);
        check_fill(db1, nb, -1, 1);
        memcpy(da2, da1, na * sizeof(float));
        memcpy(db2, db1, nb * sizeof(float));
        int null_a = trial % 5 == 4, null_b = trial % 5 == 3;
        if (!strcmp(sig, "bcast_grad")) {
          ((fv_bcast_grad_fn *)kp->scalar)(&s, y1, null_a ? NULL : da1, null_b ? NULL : db1);
          ((fv_bcast_grad_fn *)kp->simd)(&s, y1, null_a ? NULL : da2, null_b ? NULL : db2);
        } else {
          ((fv_bcast_grad_ab_fn *)kp->scalar)(&s, a, b, y1, null_a ? NULL : da1, null_b ? NULL : db1);
          ((fv_bcast_grad_ab_fn *)kp->simd)(&s, a, b, y1, null_a ? NULL : da2, null_b ? NULL : db2);
        }
        CHECK(mismatch_ff(da2, da1, na) == 0 && mismatch_ff(db2, db1, nb) == 0,
              "%s SIMD vs scalar a=[%d,%d,%d,%d] b=[%d,%d,%d,%d]", kp->op, s.a[0], s.a[1], s.a[2], s.a[3], s.b[0],
              s.b[1], s.b[2], s.b[3]);
      }
      free(a), free(b), free(y1), free(y2), free(da1), free(da2), free(db1), free(db2);
    } else if (!strcmp(sig, "pool_idx")) {
      fv_conv_shape s;
      if (trial < 8) {
        pool_fixed(4 + trial % 5, &s); /* GoogLeNet's max pools and others */
        s.ic = s.oc = 13 + trial; /* blocks of 4 and tails */
      } else rand_pool(&s, 1);
      size_t nx = (size_t)s.n * s.ih * s.iw * s.ic, ny = (size_t)s.n * s.oh * s.ow * s.ic;
      float *x = fbuf(nx), *y1 = fbuf(ny), *y2 = fbuf(ny);
      int32_t *i1 = (int32_t *)malloc((ny ? ny : 1) * sizeof(int32_t)), *i2 = (int32_t *)malloc((ny ? ny : 1) * sizeof(int32_t));
      check_fill(x, nx, -2, 8);
      for (size_t i = 0; i < nx; i += 3) x[i] = x[i / 2]; /* ties for the argmax */
      ((fv_pool_idx_fn *)kp->scalar)(&s, x, y1, i1);
      ((fv_pool_idx_fn *)kp->simd)(&s, x, y2, i2);
      CHECK(mismatch_ff(y2, y1, ny) == 0 && !memcmp(i1, i2, ny * sizeof(int32_t)),
            "%s SIMD vs scalar n%d %dx%dx%d k%dx%d s%d", kp->op, s.n, s.ih, s.iw, s.ic, s.kh, s.kw, s.sh);
      free(x), free(y1), free(y2), free(i1), free(i2);
    } else if (!strcmp(sig, "pool") || !strcmp(sig, "pool_grad") || !strcmp(sig, "pool_grad_x")) {
      fv_conv_shape s;
      if (trial == 0) pool_geom(&s, 1, 7, 7, 1280, 7, 7, 1, FV_PADDING_VALID, FV_ACT_NONE); /* MobileNet's */
      else if (trial == 1) pool_geom(&s, 2, 3, 3, 37, 3, 3, 1, FV_PADDING_VALID, FV_ACT_RELU6);
      else if (trial < 8) {
        pool_fixed(trial - 2 + 4, &s);
        s.ic = s.oc = 13 + trial; /* blocks of 8, 4 and tails */
      } else rand_pool(&s, 1);
      size_t nx = (size_t)s.n * s.ih * s.iw * s.ic, ny = (size_t)s.n * s.oh * s.ow * s.ic;
      float *x = fbuf(nx), *y1 = fbuf(ny > nx ? ny : nx), *y2 = fbuf(ny > nx ? ny : nx);
      check_fill(x, nx, -2, 8);
      for (size_t i = 0; i < nx; i += 3) x[i] = x[i / 2]; /* ties for the argmax */
      if (!strcmp(sig, "pool")) {
        for (size_t i = 0; i < ny; i++) y1[i] = 1e30f, y2[i] = -1e30f;
        ((fv_pool_fn *)kp->scalar)(&s, x, y1);
        ((fv_pool_fn *)kp->simd)(&s, x, y2);
        CHECK(mismatch_ff(y2, y1, ny) == 0, "%s SIMD vs scalar n%d %dx%dx%d k%dx%d s%d", kp->op, s.n, s.ih, s.iw,
              s.ic, s.kh, s.kw, s.sh);
      } else {
        float *dy = fbuf(ny), *y = fbuf(ny);
        check_fill(dy, ny, -1, 1);
        check_fill(y1, nx, -1, 1);
        memcpy(y2, y1, nx * sizeof(float));
        if (!strcmp(sig, "pool_grad")) {
          ((fv_pool_grad_fn *)kp->scalar)(&s, dy, y1);
          ((fv_pool_grad_fn *)kp->simd)(&s, dy, y2);
        } else {
          fv_maxpool2d(&s, x, y);
          ((fv_pool_grad_x_fn *)kp->scalar)(&s, x, y, dy, y1);
          ((fv_pool_grad_x_fn *)kp->simd)(&s, x, y, dy, y2);
        }
        CHECK(mismatch_ff(y2, y1, nx) == 0, "%s SIMD vs scalar n%d %dx%dx%d k%dx%d s%d", kp->op, s.n, s.ih, s.iw,
              s.ic, s.kh, s.kw, s.sh);
        free(dy), free(y);
      }
      free(x), free(y1), free(y2);
    } else if (!strcmp(sig, "act_apply")) {
      size_t n = trial < 40 ? (size_t)trial : (size_t)check_int(41, 3000);
      float *y1 = fbuf(n + 1), *y2 = fbuf(n + 1);
      fv_act act = (fv_act)(trial % 3);
      check_fill(y1, n, -3, 9);
      for (size_t i = 0; i < n; i += 5) y1[i] = (i / 5) % 2 ? 6.0f : 0.0f;
      memcpy(y2, y1, n * sizeof(float));
      y1[n] = y2[n] = 42.0f;
      ((fv_act_apply_fn *)kp->scalar)(act, n, y1);
      ((fv_act_apply_fn *)kp->simd)(act, n, y2);
      CHECK(mismatch_ff(y2, y1, n + 1) == 0, "%s SIMD vs scalar %s n=%zu", kp->op, act_name(act), n);
      free(y1), free(y2);
    } else if (!strcmp(sig, "act_grad")) {
      static const size_t PER[] = {1, 2, 3, 4, 5, 7, 8, 13, 37, 1000};
      fv_act act = (fv_act)(trial % 3);
      int n = check_int(1, 3), redirect = trial / 3 % 2;
      size_t per = PICK(PER), total = (size_t)n * per;
      float *y = fbuf(total), *g1 = fbuf(total), *g2 = fbuf(total);
      fill_act_case(act, n, per, y, g1);
      memcpy(g2, g1, total * sizeof(float));
      ((fv_act_grad_fn *)kp->scalar)(act, n, per, y, g1, redirect);
      ((fv_act_grad_fn *)kp->simd)(act, n, per, y, g2, redirect);
      CHECK(mismatch_ff(g2, g1, total) == 0, "%s SIMD vs scalar %s n=%d per=%zu redirect=%d", kp->op,
            act_name(act), n, per, redirect);
      free(y), free(g1), free(g2);
    } else {
      return 0;
    }
    cases++;
  }
  return cases;
}
#endif

/* ==== main ========================================================================= */

static void run_all(void) {
  test_binary();
  test_pools();
  test_mean();
  test_pad();
  test_concat();
  test_softmax();
  test_act();
}

int main(void) {
  check_seed(20240611);
  kernel_test_main("kernels_misc", run_all, KERNEL_TWIN(simd_vs_scalar));
  /* every listed kernel belongs to some test */
  for (size_t i = 0; i < N_KERNEL_PAIRS; i++)
    CHECK(kernel_owner(kernel_pairs[i].sig) != NULL, "%s (%s): listed in kernels.inc, but no test owns its signature",
          kernel_pairs[i].op, kernel_pairs[i].sig);
  return check_summary("kernels_misc");
}
