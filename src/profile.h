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
 * Level 2 (fv_profile_enable(FV_PROFILE_STAGES)) also times the stages of a
 * render step outside the network (render.c: "param", "transform", "input
 * range", "objective", "adam"; forward and backward) into slots keyed by name
 * and direction, reported with fv_profile_is_stage = 1 and no flops; level 1
 * leaves them out, so a caller that sums the slots as op time is unaffected.
 * Level 3 (FV_PROFILE_LAYERS) keeps those and gives every op a slot of its own
 * in each direction, its name ended by " #I" (the op's index, which is its
 * layer's: "CONV_2D 3x3 #7"), to find which layer of a kind costs what.
 * (Gradient buffers are zeroed lazily, by the first op that writes them, so
 * that time is in the ops' backward slots.)
 *
 * State is global (one profile per engine) and only thread 0 touches it: an
 * op is timed around its whole split over the threads (src/split.h), and
 * helper threads never call in here.
 */
#ifndef FV_PROFILE_H
#define FV_PROFILE_H

#include "kernels/kernels.h"
#include "model.h"

extern int fv_profile_on;  /* nonzero: the graph times each op; FV_PROFILE_STAGES: the render's stages too */

#define FV_PROFILE_STAGES 2
#define FV_PROFILE_LAYERS 3 /* the stages, and each op in a slot of its own (bench/profile.mjs --layers) */

/* Milliseconds on a monotonic clock (0 when there is none). */
double fv_profile_now_ms(void);

/* Adds the time since t0_ms to op `op` of m's slot. s: the op's geometry (conv,
 * depthwise, pools; ignored otherwise); y: its output dims N,H,W,C. */
void fv_profile_add(const fv_model *m, int op, const fv_conv_shape *s, const int y[4], int backward,
                    double t0_ms);

/* Adds the time since t0_ms to the step stage `name` (a static string). */
void fv_profile_add_stage(const char *name, int backward, double t0_ms);

#endif
