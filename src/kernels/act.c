/* act.c — the fused activations (NONE, RELU, RELU6) applied in place, and
 * their gradient (incl. Lucid's redirected ReLU / ReLU6 gradient). The graph
 * uses both for fused activations and for standalone FV_OP_ACT RELU/RELU6;
 * the other activations are unary.c's.
 *
 * The activation's derivative is judged from its OUTPUT y, as TensorFlow's
 * ReluGrad / Relu6Grad do: a unit passes gradient iff 0 < y (< 6 for RELU6).
 * A unit sitting exactly on a bound is clamped (its pre-activation is at or
 * beyond the bound), so it is blocked.
 *
 * Redirected gradient (lucid/misc/redirected_relu_grad.py): when a whole batch
 * item's ordinary gradient is zero, nothing reaches the image and the
 * optimization cannot start. For such an item only, pass dy through except
 * where it would push a clamped unit further out of range. The loss is
 * MINIMIZED (x -= lr * g), so at y <= 0 a POSITIVE dy pushes further down and
 * is dropped, and at y >= 6 (RELU6) a NEGATIVE dy pushes further up and is
 * dropped. An item with any live unit (nonzero ordinary gradient) keeps the
 * ordinary mask, as Lucid decides per batch item.
 *
 * The clamp is clamp.h's, written as compares, so NaN passes through
 * fv_act_apply; a NaN output blocks its gradient. Scalar and SIMD compute
 * the same comparisons, so they agree bit for bit.
 */
#include "clamp.h"
#include "kernels.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

/* ==== scalar ===================================================================== */

void fv_f32_act_apply__scalar(fv_act act, size_t n, float *y) {
  if (act == FV_ACT_NONE) return;
  for (size_t i = 0; i < n; i++) y[i] = fv_act1(act, y[i]);
}

/* 1 if the unit with output v passes the ordinary gradient. */
static inline int live1(fv_act act, float v) {
  return act == FV_ACT_RELU6 ? (v > 0.0f && v < 6.0f) : v > 0.0f;
}

static void mask_scalar(fv_act act, size_t n, const float *y, float *dy) {
  for (size_t i = 0; i < n; i++)
    if (!live1(act, y[i])) dy[i] = 0.0f;
}

int fv_act_grad_any_live(fv_act act, size_t n, const float *y, const float *dy) {
  for (size_t i = 0; i < n; i++)
    if (live1(act, y[i]) && dy[i] != 0.0f) return 1;
  return 0;
}

void fv_f32_act_grad__scalar(fv_act act, int n, size_t per_item, const float *y, float *dy, int redirect) {
  if (act == FV_ACT_NONE) return;
  if (!redirect) {
    mask_scalar(act, (size_t)n * per_item, y, dy);
    return;
  }
  for (int b = 0; b < n; b++) {
    const float *yb = y + (size_t)b * per_item;
    float *gb = dy + (size_t)b * per_item;
    if (fv_act_grad_any_live(act, per_item, yb, gb)) {
      mask_scalar(act, per_item, yb, gb);
      continue;
    }
    for (size_t i = 0; i < per_item; i++) {
      int out_low = yb[i] <= 0.0f && gb[i] > 0.0f;
      int out_high = act == FV_ACT_RELU6 && yb[i] >= 6.0f && gb[i] < 0.0f;
      if (out_low || out_high) gb[i] = 0.0f;
    }
  }
}

/* ==== wasm simd ================================================================== */
#ifdef __wasm_simd128__

void fv_f32_act_apply__wasmsimd(fv_act act, size_t n, float *y) {
  if (act == FV_ACT_NONE) return;
  v128_t lo, hi;
  fv_act_bounds(act, &lo, &hi);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t a = wasm_v128_load(y + i), b = wasm_v128_load(y + i + 4);
    wasm_v128_store(y + i, fv_act4(a, lo, hi));
    wasm_v128_store(y + i + 4, fv_act4(b, lo, hi));
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, fv_act4(wasm_v128_load(y + i), lo, hi));
  fv_f32_act_apply__scalar(act, n - i, y + i);
}

/* all-ones lanes where the unit passes the ordinary gradient */
static inline v128_t live4(int relu6, v128_t v) {
  v128_t m = wasm_f32x4_gt(v, wasm_f32x4_splat(0.0f));
  return relu6 ? wasm_v128_and(m, wasm_f32x4_lt(v, wasm_f32x4_splat(6.0f))) : m;
}

static void mask_simd(fv_act act, size_t n, const float *y, float *dy) {
  int relu6 = act == FV_ACT_RELU6;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t a = wasm_v128_and(wasm_v128_load(dy + i), live4(relu6, wasm_v128_load(y + i)));
    v128_t b = wasm_v128_and(wasm_v128_load(dy + i + 4), live4(relu6, wasm_v128_load(y + i + 4)));
    wasm_v128_store(dy + i, a);
    wasm_v128_store(dy + i + 4, b);
  }
  for (; i + 4 <= n; i += 4)
    wasm_v128_store(dy + i, wasm_v128_and(wasm_v128_load(dy + i), live4(relu6, wasm_v128_load(y + i))));
  mask_scalar(act, n - i, y + i, dy + i);
}

void fv_f32_act_grad__wasmsimd(fv_act act, int n, size_t per_item, const float *y, float *dy, int redirect) {
  if (act == FV_ACT_NONE) return;
  if (!redirect) {
    mask_simd(act, (size_t)n * per_item, y, dy);
    return;
  }
  const int relu6 = act == FV_ACT_RELU6;
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  for (int b = 0; b < n; b++) {
    const float *yb = y + (size_t)b * per_item;
    float *gb = dy + (size_t)b * per_item;
    int any = 0;
    size_t i = 0;
    for (; i + 4 <= per_item && !any; i += 4) {
      v128_t g = wasm_v128_and(wasm_v128_load(gb + i), live4(relu6, wasm_v128_load(yb + i)));
      any = wasm_v128_any_true(wasm_f32x4_ne(g, zero));
    }
    for (; i < per_item && !any; i++) any = live1(act, yb[i]) && gb[i] != 0.0f;
    if (any) {
      mask_simd(act, per_item, yb, gb);
      continue;
    }
    for (i = 0; i + 4 <= per_item; i += 4) {
      v128_t v = wasm_v128_load(yb + i), g = wasm_v128_load(gb + i);
      v128_t kill = wasm_v128_and(wasm_f32x4_le(v, zero), wasm_f32x4_gt(g, zero));
      if (relu6) kill = wasm_v128_or(kill, wasm_v128_and(wasm_f32x4_ge(v, six), wasm_f32x4_lt(g, zero)));
      wasm_v128_store(gb + i, wasm_v128_andnot(g, kill));
    }
    for (; i < per_item; i++) {
      int out_low = yb[i] <= 0.0f && gb[i] > 0.0f;
      int out_high = relu6 && yb[i] >= 6.0f && gb[i] < 0.0f;
      if (out_low || out_high) gb[i] = 0.0f;
    }
  }
}

#endif
