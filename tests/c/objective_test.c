/* objective_test.c — objective terms against independent references:
 *  - each value against a naive double-precision formula written here from
 *    Lucid's definitions (diversity by explicit pairs, blur with an explicit
 *    padded 3×3 kernel), and known closed-form values;
 *  - each gradient against central finite differences of fv_obj_value in
 *    double (blur, which holds its blurred copy constant, against x − blur(x)),
 *    with weights ≠ 1 and negative, batch −1 and a single image (the others'
 *    gradient exactly zero), and the accumulate convention (dloss prefilled);
 *  - the sign convention: a few steps a −= lr·dloss raise weight·term;
 *  - fv_obj_check's range errors and their messages, names and defaults.
 */
#include "check.h"
#include "objective.h"

#define NKIND FV_OBJ_COUNT

static size_t count(const int d[4]) { return (size_t)d[0] * d[1] * d[2] * d[3]; }
static size_t at4(const int d[4], int n, int y, int x, int c) {
  return (((size_t)n * d[1] + y) * d[2] + x) * d[3] + c;
}

/* ---- naive references (double) ------------------------------------------------------ */

static double ref_blur_at(const int d[4], const float *x, int n, int y, int xx, int c) {
  static const double k[3][3] = {{0.5, 0.5, 0.5}, {0.5, 1.0, 0.5}, {0.5, 0.5, 0.5}};
  double num = 0, den = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      const int yy = y + i - 1, xq = xx + j - 1;
      const int inside = yy >= 0 && yy < d[1] && xq >= 0 && xq < d[2];
      num += k[i][j] * (inside ? x[at4(d, n, yy, xq, c)] : 0.0); /* zero padding */
      den += k[i][j] * (inside ? 1.0 : 0.0);                       /* the same conv of ones */
    }
  return num / den;
}

/* weight·term, computed the plain way. */
static double ref_value(const fv_obj_term *t, const int d[4], const float *a) {
  const int N = d[0], H = d[1], W = d[2], C = d[3];
  const int n0 = t->batch < 0 ? 0 : t->batch, n1 = t->batch < 0 ? N : t->batch + 1;
  const int nsel = n1 - n0;
  double v = 0;
  switch (t->kind) {
  case FV_OBJ_NEURON: {
    const int x = t->x < 0 ? W / 2 : t->x, y = t->y < 0 ? H / 2 : t->y;
    for (int n = n0; n < n1; n++) v += a[at4(d, n, y, x, t->channel)];
    v /= nsel;
    break;
  }
  case FV_OBJ_CHANNEL:
    for (int n = n0; n < n1; n++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) v += a[at4(d, n, y, x, t->channel)];
    v /= (double)nsel * H * W;
    break;
  case FV_OBJ_LAYER:
    for (int n = n0; n < n1; n++)
      for (size_t i = 0; i < (size_t)H * W * C; i++) {
        const double q = a[(size_t)n * H * W * C + i];
        v += q * q;
      }
    v /= (double)nsel * H * W * C;
    break;
  case FV_OBJ_DIRECTION: {
    double vm = 0;
    for (int k = 0; k < C; k++) vm += (double)t->direction[k] * t->direction[k];
    vm = sqrt(vm);
    for (int n = n0; n < n1; n++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          double dot = 0, am = 0;
          for (int k = 0; k < C; k++) {
            dot += a[at4(d, n, y, x, k)] * (double)t->direction[k];
            am += (double)a[at4(d, n, y, x, k)] * a[at4(d, n, y, x, k)];
          }
          if (t->cossim_pow == 0) {
            v += dot;
          } else {
            const double cs = dot / ((1e-4 + sqrt(am)) * (1e-4 + vm));
            v += dot * pow(fmax(0.1, cs), t->cossim_pow);
          }
        }
    v /= (double)nsel * H * W;
    break;
  }
  case FV_OBJ_CARICATURE: { /* the whole H×W×C tensor of each image against the target */
    const size_t hwc = (size_t)H * W * C;
    double tm = 0;
    for (size_t k = 0; k < hwc; k++) tm += (double)t->direction[k] * t->direction[k];
    tm = sqrt(tm);
    for (int n = n0; n < n1; n++) {
      double dot = 0, am = 0;
      for (size_t k = 0; k < hwc; k++) {
        dot += (double)a[n * hwc + k] * t->direction[k];
        am += (double)a[n * hwc + k] * a[n * hwc + k];
      }
      const double cs = dot / ((1e-4 + sqrt(am)) * (1e-4 + tm));
      v += t->cossim_pow == 0 ? dot : dot * pow(fmax(0.1, cs), t->cossim_pow);
    }
    v /= nsel;
    break;
  }
  case FV_OBJ_INTERP:
    for (int n = n0; n < n1; n++) {
      const double w = (double)n / (N - 1);
      double m1 = 0, m2 = 0;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          m1 += a[at4(d, n, y, x, t->channel)];
          m2 += a[at4(d, n, y, x, t->channel2)];
        }
      v += (1 - w) * m1 / (H * W) + w * m2 / (H * W);
    }
    break;
  case FV_OBJ_ALIGNMENT:
    for (int dd = 1; dd <= 4; dd++)
      for (int i = 0; i < N - dd; i++) {
        double m = 0;
        for (size_t k = 0; k < (size_t)H * W * C; k++) {
          const double q = (double)a[(size_t)i * H * W * C + k] - a[(size_t)(i + dd) * H * W * C + k];
          m += q * q;
        }
        v -= m / ((double)H * W * C) / pow(2.0, dd);
      }
    break;
  case FV_OBJ_DIVERSITY: {
    double *g = (double *)calloc((size_t)N * C * C, sizeof(double));
    for (int n = 0; n < N; n++) {
      double *gn = g + (size_t)n * C * C, ss = 0;
      for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++) {
          double s = 0;
          for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) s += (double)a[at4(d, n, y, x, i)] * a[at4(d, n, y, x, j)];
          gn[i * C + j] = s;
          ss += s * s;
        }
      const double r = 1.0 / sqrt(fmax(ss, 1e-10));
      for (int k = 0; k < C * C; k++) gn[k] *= r;
    }
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++)
        if (i != j)
          for (int k = 0; k < C * C; k++) v += g[(size_t)i * C * C + k] * g[(size_t)j * C * C + k];
    v /= N;
    free(g);
    break;
  }
  case FV_OBJ_L1:
  case FV_OBJ_L2:
    for (int n = n0; n < n1; n++)
      for (size_t i = 0; i < (size_t)H * W * C; i++) {
        const double q = (double)a[(size_t)n * H * W * C + i] - t->constant;
        v += t->kind == FV_OBJ_L1 ? fabs(q) : q * q;
      }
    if (t->kind == FV_OBJ_L2) v = sqrt(1e-6 + v);
    break;
  case FV_OBJ_TV:
    for (int n = n0; n < n1; n++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          for (int c = 0; c < C; c++) {
            if (y + 1 < H) v += fabs((double)a[at4(d, n, y + 1, x, c)] - a[at4(d, n, y, x, c)]);
            if (x + 1 < W) v += fabs((double)a[at4(d, n, y, x + 1, c)] - a[at4(d, n, y, x, c)]);
          }
    break;
  case FV_OBJ_BLUR:
    for (int n = n0; n < n1; n++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          for (int c = 0; c < C; c++) {
            const double q = a[at4(d, n, y, x, c)] - ref_blur_at(d, a, n, y, x, c);
            v += 0.5 * q * q;
          }
    break;
  default:
    return NAN;
  }
  return t->weight * v;
}

/* ---- test data --------------------------------------------------------------------------- */

/* Image-penalty inputs away from the kinks: |x − 0.5| and neighbour differences ≥ 0.01. */
static void fill_image_away_from_kinks(const int d[4], float *x) {
  const size_t n = count(d);
  check_fill(x, n, 0.0f, 1.0f);
  for (int pass = 0; pass < 1000; pass++) {
    int bad = 0;
    for (int b = 0; b < d[0]; b++)
      for (int y = 0; y < d[1]; y++)
        for (int xx = 0; xx < d[2]; xx++)
          for (int c = 0; c < d[3]; c++) {
            float *p = &x[at4(d, b, y, xx, c)];
            int near = fabsf(*p - 0.5f) < 0.01f;
            if (y + 1 < d[1]) near |= fabsf(x[at4(d, b, y + 1, xx, c)] - *p) < 0.01f;
            if (xx + 1 < d[2]) near |= fabsf(x[at4(d, b, y, xx + 1, c)] - *p) < 0.01f;
            if (near) {
              *p = check_uniform(0.0f, 1.0f);
              bad = 1;
            }
          }
    if (!bad) return;
  }
}

/* Direction inputs whose cosines stay away from the 0.1 floor (0.02 either
 * side), with some positions on each side of it. Returns how many are above. */
static int fill_direction(const int d[4], float *a, const float *v, int *below) {
  const int C = d[3];
  double vm = 0;
  for (int k = 0; k < C; k++) vm += (double)v[k] * v[k];
  vm = sqrt(vm);
  int above = 0;
  *below = 0;
  for (size_t p = 0; p < count(d) / C; p++) {
    float *ap = a + p * C;
    for (;;) {
      check_fill(ap, C, -0.7f, 1.0f);
      double dot = 0, am = 0;
      for (int k = 0; k < C; k++) dot += (double)ap[k] * v[k], am += (double)ap[k] * ap[k];
      const double cs = dot / ((1e-4 + sqrt(am)) * (1e-4 + vm));
      if (fabs(cs - 0.1) < 0.02) continue;
      if (cs > 0.1) above++;
      else (*below)++;
      break;
    }
  }
  return above;
}

/* ---- gradient check --------------------------------------------------------------------- */

/* Checks fv_obj_eval against ref_value and its gradient against central
 * differences of fv_obj_value (or, for blur, against −weight·(x − blur(x))),
 * the batch restriction and the accumulate convention. */
static void grad_check(const char *label, const fv_obj_term *t, const int d[4], float *a, double h, double tol) {
  const size_t n = count(d);
  float *dl = (float *)calloc(n, sizeof(float));
  float *acc = (float *)malloc(n * sizeof(float));
  float *pre = (float *)malloc(n * sizeof(float));
  double *want = (double *)malloc(n * sizeof(double));

  const double v = fv_obj_eval(t, d, a, dl);
  const double r = ref_value(t, d, a);
  CHECK(fabs(v - r) <= 1e-5 * (1e-3 + fabs(r)), "%s: value %.9g, reference %.9g", label, v, r);
  CHECK(v == fv_obj_value(t, d, a), "%s: fv_obj_value differs from fv_obj_eval", label);

  double scale = 0;
  for (size_t i = 0; i < n; i++) {
    if (t->kind == FV_OBJ_BLUR) {
      const int c = (int)(i % d[3]), x = (int)(i / d[3] % d[2]), y = (int)(i / d[3] / d[2] % d[1]);
      const int b = (int)(i / ((size_t)d[1] * d[2] * d[3]));
      const int sel = t->batch < 0 || t->batch == b;
      want[i] = sel ? -t->weight * ((double)a[i] - ref_blur_at(d, a, b, y, x, c)) : 0.0;
    } else {
      const float save = a[i];
      a[i] = (float)(save + h);
      const double xp = a[i], vp = fv_obj_value(t, d, a);
      a[i] = (float)(save - h);
      const double xm = a[i], vm = fv_obj_value(t, d, a);
      a[i] = save;
      want[i] = -(vp - vm) / (xp - xm); /* dloss = −d(weight·term)/da */
    }
    if (fabs(want[i]) > scale) scale = fabs(want[i]);
  }
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs(dl[i] - want[i]) / (scale * tol);
    if (!(e <= worst)) worst = e, wi = i;
  }
  CHECK(scale > 0, "%s: gradient is identically zero", label);
  CHECK(worst <= 1.0, "%s: gradient off by %.3g×tol at %zu: %.9g vs %.9g (scale %.3g)", label, worst, wi,
        (double)dl[wi], want[wi], scale);

  if (t->batch >= 0) {
    const size_t per = n / d[0];
    int nonzero = 0;
    for (size_t i = 0; i < n; i++)
      if ((int)(i / per) != t->batch && dl[i] != 0.0f) nonzero++;
    CHECK(nonzero == 0, "%s: %d gradient entries outside batch %d", label, nonzero, t->batch);
  }

  /* Accumulate: dloss prefilled, the same gradient on top. */
  check_fill(pre, n, -1.0f, 1.0f);
  memcpy(acc, pre, n * sizeof(float));
  const double v2 = fv_obj_eval(t, d, a, acc);
  CHECK(v2 == v, "%s: second evaluation gives %.9g, first %.9g", label, v2, v);
  double aw = 0;
  int untouched = 1;
  for (size_t i = 0; i < n; i++) {
    aw = fmax(aw, fabs((double)acc[i] - ((double)pre[i] + dl[i])));
    if (t->batch >= 0 && (int)(i / (n / d[0])) != t->batch && acc[i] != pre[i]) untouched = 0;
  }
  CHECK(aw <= 1e-5 * (1 + scale), "%s: accumulated gradient differs by %.3g", label, aw);
  CHECK(untouched, "%s: other images' dloss changed when accumulating", label);

  free(dl);
  free(acc);
  free(pre);
  free(want);
}

static void test_gradients(void) {
  const int da[4] = {3, 4, 5, 6}; /* activations */
  const int di[4] = {3, 4, 5, 3}; /* images */
  const size_t na = count(da), ni = count(di);
  float *a = (float *)malloc(na * sizeof(float));
  float *img = (float *)malloc(ni * sizeof(float));
  float v[6], target[120];
  const float weights[2] = {1.7f, -0.6f};
  char label[96];

  for (int k = 0; k < FV_OBJ_COUNT; k++) {
    if (k == FV_OBJ_PRIOR) continue; /* needs a fitted prior and 8x8 patches: tests/c/prior_test.c */
    const int batches = (k == FV_OBJ_ALIGNMENT || k == FV_OBJ_DIVERSITY) ? 1 : 2;
    for (int wi = 0; wi < 2; wi++)
      for (int bi = 0; bi < batches; bi++) {
        const int pows = k == FV_OBJ_DIRECTION || k == FV_OBJ_CARICATURE ? 3 : 1;
        for (int pi = 0; pi < pows; pi++) {
          fv_obj_term t = fv_obj_default((fv_obj_kind)k);
          t.weight = weights[wi];
          t.batch = bi == 0 ? -1 : 1;
          t.channel = 4;
          t.channel2 = 1;
          if (k == FV_OBJ_NEURON && wi == 1) t.x = 1, t.y = 3; /* explicit position; wi 0 uses the centre */
          const int *d = fv_obj_on_image((fv_obj_kind)k) ? di : da;
          float *x = fv_obj_on_image((fv_obj_kind)k) ? img : a;
          double h = 1e-3, tol = 1e-3;
          if (fv_obj_on_image((fv_obj_kind)k)) {
            fill_image_away_from_kinks(d, x);
            if (k == FV_OBJ_L1 || k == FV_OBJ_L2) t.constant = wi == 0 ? 0.5f : 0.25f;
          } else {
            check_fill(x, na, -1.0f, 1.0f);
          }
          if (k == FV_OBJ_DIRECTION) {
            static const float pw[3] = {0.0f, 1.0f, 2.5f};
            check_fill(v, 6, 0.0f, 1.0f);
            t.direction = v;
            t.direction_len = 6;
            t.cossim_pow = pw[pi];
            int below, above = fill_direction(d, x, v, &below);
            CHECK(above > 0 && below > 0, "direction data: %d cosines above the floor, %d below", above, below);
          }
          if (k == FV_OBJ_CARICATURE) {
            /* image 0 close to the target (cos ≈ 0.9), 1 opposite (below the floor), 2 partly (cos ≈ 0.5) */
            static const float pw[3] = {0.0f, 1.0f, 2.5f}, along[3] = {1.0f, -1.0f, 0.5f}, noise[3] = {0.3f, 0.5f, 0.6f};
            check_fill(target, 120, -1.0f, 1.0f);
            for (int n = 0; n < 3; n++)
              for (int q = 0; q < 120; q++) x[n * 120 + q] = along[n] * target[q] + noise[n] * check_uniform(-1.0f, 1.0f);
            t.direction = target;
            t.direction_len = 120;
            t.cossim_pow = pw[pi];
          }
          if (k == FV_OBJ_DIVERSITY) h = 1e-2; /* Gram matrices are float sums */
          fv_error err;
          CHECK(fv_obj_check(&t, d, &err) == FV_OK, "%s: check failed: %s", fv_obj_name((fv_obj_kind)k), err.msg);
          snprintf(label, sizeof label, "%s w=%g batch=%d pow=%g", fv_obj_name((fv_obj_kind)k), (double)t.weight,
                   t.batch, (double)t.cossim_pow);
          grad_check(label, &t, d, x, h, tol);
        }
      }
  }

  /* Diversity on a layer that takes several Gram slices (hw 289 > 256) and C not a multiple of 8:
   * the value against explicit pairs, the gradient at a few coordinates against differences. */
  {
    const int d[4] = {4, 17, 17, 20};
    const size_t n = count(d);
    float *b = (float *)malloc(n * sizeof(float)), *dl = (float *)calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++) b[i] = fmaxf(0.0f, check_uniform(-0.5f, 1.0f)); /* ReLU-like */
    fv_obj_term t = fv_obj_default(FV_OBJ_DIVERSITY);
    t.weight = -2.0f;
    const double v0 = fv_obj_eval(&t, d, b, dl), r0 = ref_value(&t, d, b);
    CHECK(fabs(v0 - r0) <= 1e-5 * fabs(r0), "diversity 4×17×17×20: %.9g vs reference %.9g", v0, r0);
    double worst = 0, scale = 0;
    for (int q = 0; q < 24; q++) { /* differences of the double reference: float Gram sums are too noisy here */
      const size_t i = (size_t)check_u32() % n;
      const float save = b[i];
      b[i] = save + 1e-3f;
      const double xp = b[i], vp = ref_value(&t, d, b);
      b[i] = save - 1e-3f;
      const double xm = b[i], vm = ref_value(&t, d, b);
      b[i] = save;
      const double want = -(vp - vm) / (xp - xm);
      scale = fmax(scale, fabs(want));
      worst = fmax(worst, fabs(dl[i] - want));
    }
    CHECK(scale > 0 && worst <= 1e-3 * scale, "diversity 4×17×17×20: gradient off by %.3g (scale %.3g)", worst,
          scale);
    free(b);
    free(dl);
  }
  free(a);
  free(img);
}

/* ---- known values -------------------------------------------------------------------------- */

static void test_known_values(void) {
  fv_error err;
  /* Identical images: every normalized Gram equals every other, similarity N−1. */
  for (int N = 2; N <= 4; N++) {
    const int d[4] = {N, 3, 4, 5};
    const size_t per = 60;
    float *a = (float *)malloc(N * per * sizeof(float));
    check_fill(a, per, -1.0f, 1.0f);
    for (int n = 1; n < N; n++) memcpy(a + n * per, a, per * sizeof(float));
    fv_obj_term t = fv_obj_default(FV_OBJ_DIVERSITY);
    const double s = fv_obj_value(&t, d, a);
    CHECK(fabs(s - (N - 1)) < 1e-5, "diversity of %d identical images: %.9g, want %d", N, s, N - 1);
    fv_obj_term al = fv_obj_default(FV_OBJ_ALIGNMENT);
    al.weight = 3.0f;
    float *dl = (float *)malloc(N * per * sizeof(float));
    for (size_t i = 0; i < N * per; i++) dl[i] = 0.25f;
    const double va = fv_obj_eval(&al, d, a, dl);
    int same = 1;
    for (size_t i = 0; i < N * per; i++) same &= dl[i] == 0.25f;
    CHECK(va == 0.0 && same, "alignment of identical images: %.9g (want 0, no gradient)", va);
    free(a);
    free(dl);
  }
  /* Orthogonal Gram matrices (disjoint channels): similarity 0. */
  {
    const int d[4] = {2, 2, 2, 4};
    float a[32] = {0};
    for (int p = 0; p < 4; p++) a[p * 4 + 0] = 1.0f + p, a[16 + p * 4 + 3] = 2.0f - p * 0.1f;
    fv_obj_term t = fv_obj_default(FV_OBJ_DIVERSITY);
    CHECK(fabs(fv_obj_value(&t, d, a)) < 1e-12, "diversity of disjoint channels is not 0");
  }
  /* DeepDream of a constant a is a²; channel of a constant map is the constant. */
  {
    const int d[4] = {2, 3, 5, 7};
    float a[210];
    for (int i = 0; i < 210; i++) a[i] = 0.7f;
    fv_obj_term t = fv_obj_default(FV_OBJ_LAYER);
    const double want = (double)0.7f * 0.7f;
    CHECK(fabs(fv_obj_value(&t, d, a) - want) < 1e-12, "deepdream of constant 0.7: %.12g", fv_obj_value(&t, d, a));
    check_fill(a, 210, -1, 1);
    for (int p = 0; p < 30; p++) a[p * 7 + 5] = 0.3f;
    fv_obj_term c = fv_obj_default(FV_OBJ_CHANNEL);
    c.channel = 5;
    CHECK(fabs(fv_obj_value(&c, d, a) - (double)0.3f) < 1e-12, "channel of a constant map: %.12g",
          fv_obj_value(&c, d, a));
    c.batch = 1;
    CHECK(fabs(fv_obj_value(&c, d, a) - (double)0.3f) < 1e-12, "channel of a constant map, batch 1");
  }
  /* Neuron: the default centre of an H=3, W=6 map is x=3, y=1. */
  {
    const int d[4] = {3, 3, 6, 2};
    float a[108] = {0}, dl[108] = {0};
    for (int n = 0; n < 3; n++) a[at4(d, n, 1, 3, 1)] = (float)(n + 1);
    a[at4(d, 0, 1, 2, 1)] = 50.0f; /* a neighbour, which must not be read */
    fv_obj_term t = fv_obj_default(FV_OBJ_NEURON);
    t.channel = 1;
    t.weight = 2.0f;
    CHECK(fv_obj_check(&t, d, &err) == FV_OK, "neuron centre check: %s", err.msg);
    const double v = fv_obj_eval(&t, d, a, dl);
    CHECK(fabs(v - 4.0) < 1e-12, "neuron at the default centre: %.9g, want 2·mean(1,2,3) = 4", v);
    int ok = 1;
    for (int n = 0; n < 3; n++)
      for (int y = 0; y < 3; y++)
        for (int x = 0; x < 6; x++)
          for (int c = 0; c < 2; c++) {
            const float want = (y == 1 && x == 3 && c == 1) ? -2.0f / 3.0f : 0.0f;
            ok &= fabsf(dl[at4(d, n, y, x, c)] - want) < 1e-7f;
          }
    CHECK(ok, "neuron gradient is not −weight/N at (y 1, x 3) only");
    t.batch = 2;
    CHECK(fabs(fv_obj_value(&t, d, a) - 6.0) < 1e-12, "neuron batch 2: %.9g", fv_obj_value(&t, d, a));
    /* x along W: an explicit x = 5 is valid on a 6-wide map, y = 5 is not on a 3-high one. */
    t.x = 5, t.y = 0;
    CHECK(fv_obj_check(&t, d, &err) == FV_OK, "x 5 on a 6-wide map rejected: %s", err.msg);
    t.x = 0, t.y = 5;
    CHECK(fv_obj_check(&t, d, &err) == FV_ERR_BAD_ARG, "y 5 on a 3-high map accepted");
  }
  /* Direction with cossim_pow 0 along a basis vector is that channel's mean. */
  {
    const int d[4] = {2, 3, 4, 5};
    float a[120], v[5] = {0, 0, 0, 1, 0};
    check_fill(a, 120, -1, 1);
    fv_obj_term t = fv_obj_default(FV_OBJ_DIRECTION), c = fv_obj_default(FV_OBJ_CHANNEL);
    t.direction = v, t.direction_len = 5, c.channel = 3;
    for (int b = -1; b < 2; b++) {
      t.batch = c.batch = b;
      CHECK(fabs(fv_obj_value(&t, d, a) - fv_obj_value(&c, d, a)) < 1e-12, "direction e3 ≠ channel 3 (batch %d)",
            b);
    }
    /* Activations along v: cos ≈ 1, so any power gives the plain dot (up to the ε in the cosine). */
    for (int p = 0; p < 24; p++)
      for (int k = 0; k < 5; k++) a[p * 5 + k] = (k == 3) ? 0.5f + p * 0.1f : 0.0f;
    t.batch = c.batch = -1;
    t.cossim_pow = 3.0f;
    const double plain = fv_obj_value(&c, d, a), powered = fv_obj_value(&t, d, a);
    CHECK(fabs(powered - plain) < 1e-3 * plain && powered < plain, "direction along v, pow 3: %.9g vs dot %.9g",
          powered, plain);
  }
  /* Caricature of a 1×1 map is the direction of that position; of an image equal to the
   * target, |t|²·cos^p with cos = |t|/(ε+|t|)² · |t| (1 up to the ε). */
  {
    const int d1[4] = {2, 1, 1, 5}, d[4] = {1, 2, 3, 4};
    float a[24], v[5] = {0.3f, -1, 0.5f, 2, 0.25f};
    check_fill(a, 10, -1, 1);
    fv_obj_term t = fv_obj_default(FV_OBJ_CARICATURE), u = fv_obj_default(FV_OBJ_DIRECTION);
    t.direction = u.direction = v, t.direction_len = u.direction_len = 5, t.cossim_pow = u.cossim_pow = 1.5f;
    CHECK(fabs(fv_obj_value(&t, d1, a) - fv_obj_value(&u, d1, a)) < 1e-12, "caricature 1×1 = direction");
    check_fill(a, 24, -1, 1);
    t.direction = a, t.direction_len = 24, t.cossim_pow = 2;
    double tt = 0;
    for (int k = 0; k < 24; k++) tt += (double)a[k] * a[k];
    const double cs = tt / ((1e-4 + sqrt(tt)) * (1e-4 + sqrt(tt)));
    CHECK(fabs(fv_obj_value(&t, d, a) - tt * cs * cs) < 1e-9 * tt, "caricature of the target itself: %.9g vs %.9g",
          fv_obj_value(&t, d, a), tt * cs * cs);
  }
  /* Interp: image 0 is channel, the last is channel2, the middle half of each. */
  {
    const int d[4] = {3, 2, 2, 3};
    float a[36];
    for (int n = 0; n < 3; n++)
      for (int p = 0; p < 4; p++)
        for (int k = 0; k < 3; k++) a[(n * 4 + p) * 3 + k] = (float)(10 * n + k);
    fv_obj_term t = fv_obj_default(FV_OBJ_INTERP);
    t.channel = 0, t.channel2 = 2;
    /* 1·0 + (0.5·10 + 0.5·12) + 1·22 = 33 */
    CHECK(fabs(fv_obj_value(&t, d, a) - 33.0) < 1e-9, "interp: %.9g, want 33", fv_obj_value(&t, d, a));
  }
  /* Image penalties on a grey image: L1 0, L2 sqrt(ε), TV 0, blur 0. */
  {
    const int d[4] = {1, 4, 4, 3};
    float x[48];
    for (int i = 0; i < 48; i++) x[i] = 0.5f;
    fv_obj_term t = fv_obj_default(FV_OBJ_L1);
    CHECK(fv_obj_value(&t, d, x) == 0.0, "l1 of grey");
    t.kind = FV_OBJ_L2;
    CHECK(fabs(fv_obj_value(&t, d, x) - 1e-3) < 1e-12, "l2 of grey: %.9g, want sqrt(1e-6)", fv_obj_value(&t, d, x));
    t.kind = FV_OBJ_TV;
    CHECK(fv_obj_value(&t, d, x) == 0.0, "tv of grey");
    t.kind = FV_OBJ_BLUR;
    CHECK(fabs(fv_obj_value(&t, d, x)) < 1e-20, "blur of grey: %g", fv_obj_value(&t, d, x));
    /* A single bright corner pixel: blur averages it with 3 inside neighbours, weights 1 + 3·0.5. */
    x[0] = 1.0f;
    float dl[48] = {0};
    fv_obj_eval(&t, d, x, dl);
    CHECK(fabsf(dl[0] - (float)-(1.0 - (1.0 + 1.5 * 0.5) / 2.5)) < 1e-6f, "blur at the corner: %.9g", (double)dl[0]);
  }
}

/* ---- the sign convention ---------------------------------------------------------------------- */

/* From noise, a few steps a −= lr·dloss/max|dloss| raise weight·term. */
static void test_ascent(void) {
  const int da[4] = {3, 4, 5, 6}, di[4] = {3, 6, 5, 3};
  float a[360], dl[360], v[6];
  for (int k = 0; k < FV_OBJ_COUNT; k++)
    for (int s = 0; s < 2 && k != FV_OBJ_PRIOR; s++) { /* the prior: tests/c/prior_test.c */
      fv_obj_term t = fv_obj_default((fv_obj_kind)k);
      t.weight = s == 0 ? 1.0f : -1.5f;
      t.channel = 2, t.channel2 = 5;
      check_fill(v, 6, -1, 1);
      t.direction = v, t.direction_len = 6, t.cossim_pow = 2.0f;
      const int *d = fv_obj_on_image((fv_obj_kind)k) ? di : da;
      const size_t n = count(d);
      check_fill(a, n, fv_obj_on_image((fv_obj_kind)k) ? 0.0f : -1.0f, 1.0f);
      double prev = fv_obj_value(&t, d, a);
      int rising = 1;
      for (int step = 0; step < 5; step++) {
        memset(dl, 0, sizeof dl);
        fv_obj_eval(&t, d, a, dl);
        float m = 0;
        for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(dl[i]));
        if (m == 0) break;
        for (size_t i = 0; i < n; i++) a[i] -= 0.01f * dl[i] / m;
        const double cur = fv_obj_value(&t, d, a);
        rising &= cur > prev;
        prev = cur;
      }
      CHECK(rising, "%s with weight %g does not rise under steps along −dloss", fv_obj_name((fv_obj_kind)k),
            (double)t.weight);
    }
}

/* ---- checks, errors and names ----------------------------------------------------------------------- */

static void expect_error(const char *label, const fv_obj_term *t, const int d[4], const char *s1, const char *s2) {
  fv_error err;
  memset(&err, 0, sizeof err);
  const fv_status st = fv_obj_check(t, d, &err);
  CHECK(st == FV_ERR_BAD_ARG && err.code == FV_ERR_BAD_ARG, "%s: status %d", label, (int)st);
  CHECK(strstr(err.msg, s1) != NULL && (!s2 || strstr(err.msg, s2) != NULL), "%s: message \"%s\" lacks \"%s\"/\"%s\"",
        label, err.msg, s1, s2 ? s2 : "");
  /* An unchecked bad term evaluates to NaN and leaves dloss alone. */
  const size_t n = d[0] > 0 && d[1] > 0 && d[2] > 0 && d[3] > 0 ? count(d) : 1;
  float *a = (float *)calloc(n, sizeof(float)), *dl = (float *)calloc(n, sizeof(float));
  const double v = fv_obj_eval(t, d, a, dl);
  int clean = 1;
  for (size_t i = 0; i < n; i++) clean &= dl[i] == 0.0f;
  CHECK(isnan(v) && clean, "%s: eval of a bad term gave %g", label, v);
  free(a);
  free(dl);
}

static void test_checks(void) {
  const int big[4] = {2, 14, 14, 1280};
  fv_obj_term t = fv_obj_default(FV_OBJ_CHANNEL);
  t.channel = 1300;
  expect_error("channel 1300", &t, big, "channel 1300 out of range", "0..1279");
  t.channel = -1;
  expect_error("channel -1", &t, big, "channel -1", "0..1279");
  t = fv_obj_default(FV_OBJ_NEURON);
  t.x = 20;
  expect_error("x 20", &t, big, "x 20 outside the 14×14", "0..13");
  t.x = 3, t.y = 14;
  expect_error("y 14", &t, big, "y 14", "0..13");
  t.y = -2;
  expect_error("y -2", &t, big, "y -2", "0..13");
  t = fv_obj_default(FV_OBJ_LAYER);
  t.batch = 2;
  expect_error("batch 2", &t, big, "batch 2", "0..1");
  t.batch = -3;
  expect_error("batch -3", &t, big, "batch -3", "0..1");
  t.batch = -1;
  t.weight = NAN;
  expect_error("weight NaN", &t, big, "weight", "finite");
  t.weight = INFINITY;
  expect_error("weight inf", &t, big, "weight", "finite");

  const int d6[4] = {3, 4, 5, 6};
  float v[6] = {1, 2, 3, 4, 5, 6};
  t = fv_obj_default(FV_OBJ_DIRECTION);
  expect_error("direction NULL", &t, d6, "direction", "6 channels");
  t.direction = v, t.direction_len = 5;
  expect_error("direction of 5", &t, d6, "5 values", "6 channels");
  t.direction_len = 6;
  fv_error err;
  CHECK(fv_obj_check(&t, d6, &err) == FV_OK, "direction of 6: %s", err.msg);
  v[2] = NAN;
  expect_error("direction NaN", &t, d6, "value 2", "finite");
  v[2] = 3;
  t.cossim_pow = INFINITY;
  expect_error("cossim_pow inf", &t, d6, "cossim_pow", "finite");
  float map[120];
  check_fill(map, 120, 0, 1);
  t = fv_obj_default(FV_OBJ_CARICATURE);
  expect_error("caricature NULL", &t, d6, "caricature: the target has 0 values", "4×5×6");
  t.direction = map, t.direction_len = 119;
  expect_error("caricature of 119", &t, d6, "119 values", "= 120 at this render size");
  t.direction_len = 120;
  CHECK(fv_obj_check(&t, d6, &err) == FV_OK, "caricature of 120: %s", err.msg);

  const int one[4] = {1, 4, 5, 6};
  t = fv_obj_default(FV_OBJ_DIVERSITY);
  expect_error("diversity N=1", &t, one, "diversity needs a batch of at least 2", NULL);
  t.kind = FV_OBJ_ALIGNMENT;
  expect_error("alignment N=1", &t, one, "alignment needs a batch of at least 2", NULL);
  t.kind = FV_OBJ_INTERP;
  expect_error("interp N=1", &t, one, "interp needs a batch of at least 2", NULL);
  t.channel2 = 6;
  expect_error("interp channel2 6", &t, d6, "channel2 6", "0..5");
  t = fv_obj_default(FV_OBJ_DIVERSITY);
  t.batch = 1;
  expect_error("diversity batch 1", &t, d6, "batch must be -1", NULL);
  t.batch = 0;
  t.kind = FV_OBJ_INTERP;
  CHECK(fv_obj_check(&t, d6, &err) == FV_OK, "interp on one image: %s", err.msg);

  t = fv_obj_default(FV_OBJ_TV);
  expect_error("tv on 6 channels", &t, d6, "3 channels", "got 6");
  t.kind = FV_OBJ_L1;
  const int rgb[4] = {2, 8, 8, 3};
  t.constant = NAN;
  expect_error("l1 constant NaN", &t, rgb, "constant", "finite");
  const int zero[4] = {2, 0, 8, 3};
  t = fv_obj_default(FV_OBJ_BLUR);
  expect_error("zero height", &t, zero, "dims", "positive");
  t.kind = (fv_obj_kind)FV_OBJ_COUNT;
  expect_error("unknown kind", &t, rgb, "unknown", NULL);
  CHECK(fv_obj_check(NULL, rgb, &err) == FV_ERR_BAD_ARG, "NULL term accepted");
  CHECK(fv_obj_check(&t, rgb, NULL) == FV_ERR_BAD_ARG, "NULL err crashes or passes");
}

static void test_names(void) {
  static const char *const want[NKIND] = {"neuron", "channel", "layer", "direction", "interp", "alignment",
                                          "diversity", "l1", "l2", "tv", "blur", "caricature", "prior"};
  for (int k = 0; k < NKIND; k++) {
    CHECK(strcmp(fv_obj_name((fv_obj_kind)k), want[k]) == 0, "name of %d: %s", k, fv_obj_name((fv_obj_kind)k));
    CHECK(fv_obj_from_name(want[k]) == k, "from_name(%s) = %d", want[k], fv_obj_from_name(want[k]));
    CHECK(fv_obj_on_image((fv_obj_kind)k) == ((k >= FV_OBJ_L1 && k <= FV_OBJ_BLUR) || k == FV_OBJ_PRIOR), "on_image(%s)", want[k]);
  }
  CHECK(fv_obj_from_name("Channel") == -1 && fv_obj_from_name("") == -1 && fv_obj_from_name(NULL) == -1,
        "from_name accepts a non-name");
  fv_obj_term t = fv_obj_default(FV_OBJ_L2);
  CHECK(t.kind == FV_OBJ_L2 && t.weight == 1.0f && t.batch == -1 && t.x == -1 && t.y == -1 && t.constant == 0.5f &&
            t.direction == NULL && t.cossim_pow == 0.0f,
        "defaults");
}

int main(void) {
  check_seed(20240611);
  test_names();
  test_checks();
  test_known_values();
  test_gradients();
  test_ascent();
  return check_summary("objective");
}
