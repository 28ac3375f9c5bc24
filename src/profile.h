/* profile.h — per-op timing of graph passes, for the benchmark's profile.
 *
 * Off by default. When on (fv_profile_enable(1), exported in fv.h), the graph
 * times every op's forward and backward (the backward includes the fused
 * activation's derivative) and adds the time, the call and the op's
 * floating-point operations to a slot keyed by op kind, filter size, stride
 * and direction: "CONV_2D 1x1", "DEPTHWISE_CONV_2D 3x3 s2", "ADD", ...
 * Slots keep their order of first appearance and accumulate until
 * fv_profile_reset.
 *
 * When off the graph pays one global flag check per op and nothing else:
 *   if (!fv_profile_on) forward_op(g, i);
 *   else { double t0 = fv_profile_now_ms(); forward_op(g, i); fv_profile_add(m, i, geo, ydims, 0, t0); }
 *
 * Clock: clock_gettime(CLOCK_MONOTONIC). Natively that is the OS clock; in
 * the standalone wasm build libc turns it into WASI's clock_time_get, which
 * wasm/engine.js implements with performance.now() (Node's WASI and the test
 * runner provide their own). Without a working clock every time reads 0.
 *
 * State is global (one profile per engine instance): wasm runs one thread per
 * instance, and the native tests are single-threaded.
 */
#ifndef FV_PROFILE_H
#define FV_PROFILE_H

#include "kernels/kernels.h"
#include "model.h"

extern int fv_profile_on;  /* nonzero: the graph times each op */

/* Milliseconds on a monotonic clock (0 when there is none). */
double fv_profile_now_ms(void);

/* Adds the time since t0_ms to op `op` of m's slot. s: the op's geometry (conv,
 * depthwise, pools; ignored otherwise); y: its output dims N,H,W,C. */
void fv_profile_add(const fv_model *m, int op, const fv_conv_shape *s, const int y[4], int backward,
                    double t0_ms);

#endif
