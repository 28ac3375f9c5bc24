/* threads.h — the engine's helper threads, and a deterministic parallel-for.
 *
 * One engine (one memory) runs on the thread that calls it, thread 0, and in
 * the threads build (wasm/featviz-threads.wasm, or natively) on up to
 * FV_THREADS_MAX - 1 helper threads over the same memory. Helpers are started
 * outside this module: wasm/threads.js runs each in a Worker that
 * instantiates the same module over the shared memory, sets its stack pointer
 * to fv_threads_stack_top(t) and calls fv_threads_helper(t); natively,
 * fv_threads_spawn starts pthreads. A helper waits in fv_threads_helper for
 * work: it spins briefly (the next op follows within microseconds), then
 * parks with memory.atomic.wait32 (natively a futex) until thread 0 posts a
 * job or stops the pool.
 *
 * Jobs are posted by thread 0 only, one at a time:
 *   fv_threads_run(fn, ctx)       fn(ctx, t, nt) once on each of the nt threads, t = 0..nt-1;
 *                                 returns when every thread has returned from it
 *   fv_threads_for(n, fn, ctx)    [0, n) split into contiguous chunks, fn(ctx, t, begin, end)
 *                                 once per chunk, on whichever thread t claims it first
 *                                 (t picks per-thread scratch, never the result)
 *   fv_threads_barrier(t, nt)     inside a job's fn on thread t: waits until all nt threads reach it
 * With one thread, or when called from inside a job, both run on the calling
 * thread alone: fn(ctx, 0, 1), fn(ctx, 0, 0, n).
 *
 * Determinism is the caller's: the chunks of [0, n) depend only on n and the
 * number of threads, but which thread runs a chunk varies from run to run, so
 * each output element must be computed inside one chunk, in an order that
 * does not depend on where chunks begin (src/split.c keeps that promise for
 * the kernels, which then give the same bits on any number of threads).
 *
 * Memory: fv_threads_init allocates the helpers' stacks (wasm), freed by
 * fv_threads_stop. Helpers never allocate and never touch libc state (malloc,
 * stdio, errno): the threads build keeps Emscripten's single-threaded libc,
 * which only thread 0 calls. Job contexts may live on thread 0's stack, which
 * is in the shared memory.
 *
 * Set-up, on thread 0:
 *   fv_threads_init(n, can_block, &err)  // n threads in all; helpers 1..n-1 get stacks
 *   ... start helper t = 1..n-1 (stack pointer fv_threads_stack_top(t), then fv_threads_helper(t)) ...
 *   fv_threads_start()                   // when fv_threads_alive() == n - 1: jobs now use n threads
 *   ... render, infer ...
 *   fv_threads_stop()                    // helpers return from fv_threads_helper; one thread again
 * can_block = 0: thread 0 may not wait (a browser's main thread) and spins instead.
 * Errors: fv_threads_init returns FV_ERR_UNSUPPORTED in a build without
 * threads (the plain featviz.wasm), FV_ERR_BAD_ARG for n outside
 * 1..FV_THREADS_MAX or while helpers run, FV_ERR_NO_MEMORY for the stacks.
 */
#ifndef FV_THREADS_H
#define FV_THREADS_H

#include <stddef.h>

#include "fv.h"

#define FV_THREADS_MAX 16
#define FV_THREADS_STACK (1u << 20) /* bytes of stack per helper (wasm), as thread 0's TOTAL_STACK */

/* A job: run once on each thread t of nt. */
typedef void fv_task_fn(void *ctx, int t, int nt);
/* One chunk [begin, end) of a parallel for, run by thread t (0..nt-1). */
typedef void fv_range_fn(void *ctx, int t, int begin, int end);

/* fv_threads_count (fv.h): the threads a job started now would use (1 without helpers, or inside a job). */
void fv_threads_run(fv_task_fn *fn, void *ctx);
void fv_threads_for(int n, fv_range_fn *fn, void *ctx);
void fv_threads_barrier(int t, int nt);

/* Set-up, exported and declared in fv.h: fv_threads_init, fv_threads_stack_top,
 * fv_threads_helper, fv_threads_alive, fv_threads_start, fv_threads_stop. */

#if !defined(__wasm__)
/* Natively: fv_threads_init, n - 1 pthreads in fv_threads_helper, fv_threads_start. */
fv_status fv_threads_spawn(int n, fv_error *err);
#endif

#endif
