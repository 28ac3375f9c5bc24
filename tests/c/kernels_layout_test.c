/* kernels_layout_test.c — the kernels that only move floats: SLICE
 * (slice.c) and TRANSPOSE (transpose.c), forward and input-gradient.
 *
 * Forward against an index map written here (ONNX Slice with starts, ends
 * and steps; Transpose with perm), on awkward shapes: steps > 1 on every
 * axis, slices of width 1, all 24 permutations, and ShuffleNet's channel
 * shuffle checked against torchvision's definition (channel g·C/g + j goes to
 * j·g + g). Gradients: the elementwise scatter of dy into a prefilled dx,
 * the adjoint identity <f(x), dy> = <x, f^T(dy)>, and the pieces of a Split
 * (several slices of one tensor) adding up to dy. Scalar only (kernels.inc
 * says why), so the wasm build runs the same cases through the same code.
 */
#include "kernel_test.h"

static size_t at4(const int d[4], int a, int b, int c, int e) { return (((size_t)a * d[1] + b) * d[2] + c) * d[3] + e; }

/* ==== SLICE ======================================================================== */

static void test_slice(void) {
  for (int trial = 0; trial < 200; trial++) {
    fv_slice_shape s;
    for (int k = 0; k < 4; k++) {
      s.d[k] = check_int(1, k == 0 ? 2 : 7);
      s.step[k] = check_int(1, 3);
      s.begin[k] = check_int(0, s.d[k] - 1);
      const int most = (s.d[k] - 1 - s.begin[k]) / s.step[k] + 1; /* ONNX: ends clamped to the axis */
      s.y[k] = check_int(1, most);
    }
    const size_t nx = numel(s.d), ny = numel(s.y);
    float *x = fbuf(nx), *y = fbuf(ny), *dy = fbuf(ny), *dx = fbuf(nx), *p = fbuf(nx);
    double *ref = dbuf(ny), *g = dbuf(nx);
    check_fill(x, nx, -3, 3);
    check_fill(dy, ny, -1, 1);
    check_fill(p, nx, -1, 1);
    size_t i = 0;
    for (int a = 0; a < s.y[0]; a++)
      for (int b = 0; b < s.y[1]; b++)
        for (int c = 0; c < s.y[2]; c++)
          for (int e = 0; e < s.y[3]; e++, i++) {
            const size_t xi = at4(s.d, s.begin[0] + a * s.step[0], s.begin[1] + b * s.step[1],
                                  s.begin[2] + c * s.step[2], s.begin[3] + e * s.step[3]);
            ref[i] = x[xi];
            g[xi] += dy[i];
          }
    for (size_t k = 0; k < ny; k++) y[k] = 1e30f;
    fv_slice(&s, x, y);
    CHECK(mismatch_fd(y, ref, ny) == 0, "SLICE of [%d,%d,%d,%d] from %d,%d,%d,%d step %d,%d,%d,%d", s.d[0], s.d[1],
          s.d[2], s.d[3], s.begin[0], s.begin[1], s.begin[2], s.begin[3], s.step[0], s.step[1], s.step[2], s.step[3]);
    kernel_mark("slice");
    memcpy(dx, p, nx * sizeof *dx);
    fv_slice_grad(&s, dy, dx);
    CHECK(ratio_acc(dx, p, g, nx, 1e-6, 1e-6) <= 1, "SLICE grad");
    memset(dx, 0, nx * sizeof *dx);
    fv_slice_grad(&s, dy, dx);
    double scale = 1e-6, lhs = dotf(y, dy, ny, &scale), rhs = dotf(x, dx, nx, &scale);
    CHECK(fabs(lhs - rhs) <= 1e-6 * scale, "SLICE adjoint: %g vs %g", lhs, rhs);
    kernel_mark("slice_grad");
    free(x), free(y), free(dy), free(dx), free(p), free(ref), free(g);
  }
  /* a Split in three along C (5 = 2 + 1 + 2): the pieces' gradients add up to dy itself */
  {
    const int d[4] = {2, 3, 2, 5}, c0[3] = {0, 2, 3}, cn[3] = {2, 1, 2};
    const size_t nx = numel(d);
    float *x = fbuf(nx), *dx = fbuf(nx), *piece = fbuf(nx), *dpiece = fbuf(nx);
    check_fill(x, nx, -1, 1);
    for (int j = 0; j < 3; j++) {
      fv_slice_shape s = {{2, 3, 2, 5}, {0, 0, 0, c0[j]}, {1, 1, 1, 1}, {2, 3, 2, cn[j]}};
      fv_slice(&s, x, piece);
      memcpy(dpiece, piece, numel(s.y) * sizeof(float)); /* dy = the piece: the Split's adjoint rebuilds x */
      fv_slice_grad(&s, dpiece, dx);
    }
    CHECK(memcmp(dx, x, nx * sizeof(float)) == 0, "SLICE: a Split's pieces scattered back give x");
    free(x), free(dx), free(piece), free(dpiece);
  }
}

/* ==== TRANSPOSE ==================================================================== */

static void test_transpose(void) {
  int perms = 0;
  for (int p0 = 0; p0 < 4; p0++)
    for (int p1 = 0; p1 < 4; p1++)
      for (int p2 = 0; p2 < 4; p2++)
        for (int p3 = 0; p3 < 4; p3++) {
          const int perm[4] = {p0, p1, p2, p3};
          if (p0 == p1 || p0 == p2 || p0 == p3 || p1 == p2 || p1 == p3 || p2 == p3) continue;
          perms++;
          for (int trial = 0; trial < 3; trial++) {
            const int d[4] = {check_int(1, 2), check_int(1, 4), check_int(1, 5), trial == 0 ? 1 : check_int(2, 7)};
            const int yd[4] = {d[perm[0]], d[perm[1]], d[perm[2]], d[perm[3]]};
            const size_t n = numel(d);
            float *x = fbuf(n), *y = fbuf(n), *dy = fbuf(n), *dx = fbuf(n), *p = fbuf(n);
            double *ref = dbuf(n), *g = dbuf(n);
            check_fill(x, n, -3, 3);
            check_fill(dy, n, -1, 1);
            check_fill(p, n, -1, 1);
            int q[4];
            size_t i = 0;
            for (q[0] = 0; q[0] < yd[0]; q[0]++)
              for (q[1] = 0; q[1] < yd[1]; q[1]++)
                for (q[2] = 0; q[2] < yd[2]; q[2]++)
                  for (q[3] = 0; q[3] < yd[3]; q[3]++, i++) {
                    int xi[4]; /* y's index k is x's index on axis perm[k] */
                    for (int k = 0; k < 4; k++) xi[perm[k]] = q[k];
                    const size_t at = at4(d, xi[0], xi[1], xi[2], xi[3]);
                    ref[i] = x[at];
                    g[at] = dy[i];
                  }
            for (size_t k = 0; k < n; k++) y[k] = 1e30f;
            fv_transpose(d, perm, x, y);
            CHECK(mismatch_fd(y, ref, n) == 0, "TRANSPOSE perm %d%d%d%d of [%d,%d,%d,%d]", p0, p1, p2, p3, d[0], d[1],
                  d[2], d[3]);
            kernel_mark("transpose");
            memcpy(dx, p, n * sizeof *dx);
            fv_transpose_grad(d, perm, dy, dx);
            CHECK(ratio_acc(dx, p, g, n, 1e-6, 1e-6) <= 1, "TRANSPOSE grad perm %d%d%d%d", p0, p1, p2, p3);
            kernel_mark("transpose_grad");
            free(x), free(y), free(dy), free(dx), free(p), free(ref), free(g);
          }
        }
  CHECK(perms == 24, "%d permutations", perms);

  /* ShuffleNet's channel shuffle: NHWC x seen as [N, H·W, g, C/g], perm 0,1,3,2. torchvision's
   * channel_shuffle (view(N, g, C/g, H, W).transpose(1, 2)) sends channel g_i·(C/g) + j to j·g + g_i. */
  {
    const int N = 2, HW = 3, G = 3, C = 12;
    const int d[4] = {N, HW, G, C / G}, perm[4] = {0, 1, 3, 2};
    float x[2 * 3 * 12], y[2 * 3 * 12];
    for (int i = 0; i < N * HW * C; i++) x[i] = (float)i;
    fv_transpose(d, perm, x, y);
    int ok = 1;
    for (int n = 0; n < N; n++)
      for (int p = 0; p < HW; p++)
        for (int gi = 0; gi < G; gi++)
          for (int j = 0; j < C / G; j++)
            ok &= y[(n * HW + p) * C + j * G + gi] == x[(n * HW + p) * C + gi * (C / G) + j];
    CHECK(ok, "channel shuffle as transpose");
  }
}

static void refs(void) {
  test_slice();
  test_transpose();
}

int main(void) {
  check_seed(20261204);
  CHECK(kernel_test_main("kernels_layout", refs, NULL) == 4, "kernels.inc lists slice, transpose and their gradients");
  return check_summary("kernels_layout");
}
