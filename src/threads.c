/* threads.c — the helper threads' loop, job posting, parallel-for and barrier (see threads.h).
 *
 * Thread 0 posts a job by writing it into the pool's state, setting the count
 * of helpers still to finish and bumping a generation counter; helpers wait
 * for the generation to change, run the job and count themselves out. Every
 * wait is the same two-stage one: spin on the word for a while (a render
 * posts a job per op, microseconds apart, and a parked thread takes tens of
 * microseconds to wake), then park on it (memory.atomic.wait32, natively a
 * futex). A waker only notifies when someone is parked: the parked count is
 * raised before the waiter's last look at the word, the word is changed
 * before the waker reads the count, and both are sequentially consistent, so
 * one of the two always sees the other.
 *
 * The platform part is the park/notify pair and, natively, spawning pthreads;
 * the plain wasm build (no atomics feature) has neither and runs one thread.
 */
#if !defined(__wasm__)
#define _GNU_SOURCE /* syscall */
#endif
#include "threads.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "model.h"

#if defined(__wasm__) && !defined(__wasm_atomics__)
#define FV_HAVE_THREADS 0 /* the plain build: compiled without atomics, one thread */
#else
#define FV_HAVE_THREADS 1
#endif

#if !defined(__wasm__)
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* Spins before parking: about 50-100 µs of atomic loads, longer than the gaps
 * between a render's parallel ops, shorter than the gap between steps. */
#define SPINS (1 << 16)
/* Chunks of a parallel for per thread: a thread that falls behind (the machine
 * is shared) leaves its later chunks to the others. */
#define CHUNKS_PER_THREAD 4

/* ---- park and notify ---------------------------------------------------------------- */
#if FV_HAVE_THREADS
static void park(_Atomic int *word, int expected) {
#if defined(__wasm__)
  __builtin_wasm_memory_atomic_wait32((int *)word, expected, -1);
#else
  syscall(SYS_futex, (int *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#endif
}
static void notify_all(_Atomic int *word) {
#if defined(__wasm__)
  __builtin_wasm_memory_atomic_notify((int *)word, UINT32_MAX);
#else
  syscall(SYS_futex, (int *)word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
#endif
}
#endif

/* A word threads wait on, and how many are parked on it; a line each, so
 * that spinning on one does not slow the writers of another. */
typedef struct {
  _Alignas(64) _Atomic int v;
  _Atomic int parked;
} word;

static struct {
  word gen;      /* +1 per posted job, and at stop */
  word pending;  /* helpers still in the current job */
  word alive;    /* helpers inside fv_threads_helper */
  word bar_gen;  /* +1 each time a barrier opens */
  word bar_in;   /* threads arrived at the current barrier */
  _Atomic int busy;  /* a job is running: nested calls run serially */
  _Atomic int stop;
  int n;         /* threads set up (1: no helpers) */
  int active;    /* threads jobs use: 1 until fv_threads_start */
  int can_block; /* thread 0 may park */
  /* the current job (written by thread 0 before the generation bump, read after it) */
  fv_task_fn *fn;
  void *ctx;
  int nt;
  unsigned char *stacks;
#if !defined(__wasm__)
  pthread_t tid[FV_THREADS_MAX];
#endif
} P = {.n = 1, .active = 1};

/* Waits until w->v != v: spins, then parks (when allowed). */
static void await_change(word *w, int v, int may_park) {
  for (int i = 0; i < SPINS; i++)
    if (atomic_load_explicit(&w->v, memory_order_acquire) != v) return;
#if FV_HAVE_THREADS
  if (may_park) {
    atomic_fetch_add(&w->parked, 1);
    while (atomic_load(&w->v) == v) park(&w->v, v);
    atomic_fetch_sub(&w->parked, 1);
    return;
  }
#endif
  while (atomic_load(&w->v) == v) {
  }
}

/* After changing w->v: wakes whoever is parked on it. */
static void wake(word *w) {
#if FV_HAVE_THREADS
  if (atomic_load(&w->parked) > 0) notify_all(&w->v);
#else
  (void)w;
#endif
}

/* ---- jobs ------------------------------------------------------------------------------ */

int fv_threads_count(void) { return atomic_load(&P.busy) ? 1 : P.active; }

void fv_threads_run(fv_task_fn *fn, void *ctx) {
  if (P.active <= 1 || atomic_load(&P.busy)) {
    fn(ctx, 0, 1);
    return;
  }
  const int nt = P.active;
  atomic_store(&P.busy, 1);
  P.fn = fn;
  P.ctx = ctx;
  P.nt = nt;
  atomic_store(&P.pending.v, nt - 1);
  atomic_fetch_add(&P.gen.v, 1);
  wake(&P.gen);
  fn(ctx, 0, nt);
  int left;
  while ((left = atomic_load(&P.pending.v)) != 0) await_change(&P.pending, left, P.can_block);
  atomic_store(&P.busy, 0);
}

void fv_threads_barrier(int t, int nt) {
  if (nt <= 1) return;
  const int g = atomic_load(&P.bar_gen.v);
  if (atomic_fetch_add(&P.bar_in.v, 1) == nt - 1) { /* the last to arrive opens it */
    atomic_store(&P.bar_in.v, 0);
    atomic_fetch_add(&P.bar_gen.v, 1);
    wake(&P.bar_gen);
    return;
  }
  await_change(&P.bar_gen, g, t > 0 || P.can_block);
}

/* ---- parallel for: contiguous chunks claimed in order ---------------------------------- */
typedef struct {
  int n, chunks;
  _Atomic int next;
  fv_range_fn *fn;
  void *ctx;
} for_job;

static void for_task(void *p, int t, int nt) {
  for_job *j = (for_job *)p;
  (void)nt;
  for (int c; (c = atomic_fetch_add(&j->next, 1)) < j->chunks;) {
    const int b = (int)((long long)c * j->n / j->chunks), e = (int)((long long)(c + 1) * j->n / j->chunks);
    j->fn(j->ctx, t, b, e);
  }
}

void fv_threads_for(int n, fv_range_fn *fn, void *ctx) {
  if (n <= 0) return;
  const int nt = fv_threads_count();
  if (nt <= 1 || n == 1) {
    fn(ctx, 0, 0, n);
    return;
  }
  for_job j = {n, n < nt * CHUNKS_PER_THREAD ? n : nt * CHUNKS_PER_THREAD, 0, fn, ctx};
  fv_threads_run(for_task, &j);
}

/* ---- helpers ---------------------------------------------------------------------------- */

void fv_threads_helper(int t) {
  int seen = atomic_load(&P.gen.v); /* before counting in: no job is posted until all are in */
  atomic_fetch_add(&P.alive.v, 1);
  wake(&P.alive);
  while (!atomic_load(&P.stop)) { /* stop is set before its generation bump */
    await_change(&P.gen, seen, 1);
    seen = atomic_load(&P.gen.v);
    if (atomic_load(&P.stop)) break;
    if (t < P.nt) P.fn(P.ctx, t, P.nt);
    if (atomic_fetch_sub(&P.pending.v, 1) == 1) wake(&P.pending);
  }
  atomic_fetch_sub(&P.alive.v, 1);
  wake(&P.alive);
}

int fv_threads_alive(void) { return atomic_load(&P.alive.v); }

fv_status fv_threads_init(int n, int can_block, fv_error *err) {
  if (n < 1 || n > FV_THREADS_MAX) {
    fv_error_set(err, FV_ERR_BAD_ARG, "threads: %d threads (1..%d)", n, FV_THREADS_MAX);
    return FV_ERR_BAD_ARG;
  }
  if (P.n > 1 || fv_threads_alive() > 0) {
    fv_error_set(err, FV_ERR_BAD_ARG, "threads: already set up for %d threads (fv_threads_stop first)", P.n);
    return FV_ERR_BAD_ARG;
  }
  if (!FV_HAVE_THREADS && n > 1) {
    fv_error_set(err, FV_ERR_UNSUPPORTED, "threads: this build has no threads (use featviz-threads.wasm)");
    return FV_ERR_UNSUPPORTED;
  }
#if defined(__wasm__)
  if (n > 1) {
    P.stacks = (unsigned char *)aligned_alloc(16, (size_t)(n - 1) * FV_THREADS_STACK);
    if (!P.stacks) {
      fv_error_set(err, FV_ERR_NO_MEMORY, "threads: no memory for %d helper stacks", n - 1);
      return FV_ERR_NO_MEMORY;
    }
  }
#endif
  atomic_store(&P.stop, 0);
  P.n = n;
  P.active = 1;
  P.can_block = can_block != 0;
  return FV_OK;
}

void *fv_threads_stack_top(int t) {
  if (!P.stacks || t < 1 || t >= P.n) return NULL;
  return P.stacks + (size_t)t * FV_THREADS_STACK; /* helper t's stack is [t-1, t) of them; it grows down */
}

int fv_threads_start(void) {
  if (P.n > 1 && fv_threads_alive() == P.n - 1) P.active = P.n;
  return P.active;
}

void fv_threads_stop(void) {
  if (atomic_load(&P.busy)) return; /* not from inside a job */
  P.active = 1;
  atomic_store(&P.stop, 1);
  atomic_fetch_add(&P.gen.v, 1);
  wake(&P.gen);
  int a;
  while ((a = fv_threads_alive()) != 0) await_change(&P.alive, a, P.can_block);
#if !defined(__wasm__)
  for (int t = 1; t < P.n; t++) pthread_join(P.tid[t], NULL);
#endif
  free(P.stacks);
  P.stacks = NULL;
  P.n = 1;
  atomic_store(&P.stop, 0);
}

/* ---- native: pthreads ------------------------------------------------------------------- */
#if !defined(__wasm__)
static void *native_helper(void *arg) {
  fv_threads_helper((int)(intptr_t)arg);
  return NULL;
}

fv_status fv_threads_spawn(int n, fv_error *err) {
  fv_status s = fv_threads_init(n, 1, err);
  if (s != FV_OK) return s;
  for (int t = 1; t < n; t++) {
    if (pthread_create(&P.tid[t], NULL, native_helper, (void *)(intptr_t)t) != 0) {
      P.n = t; /* stop joins the ones started */
      fv_threads_stop();
      fv_error_set(err, FV_ERR_NO_MEMORY, "threads: cannot start helper %d", t);
      return FV_ERR_NO_MEMORY;
    }
  }
  int a;
  while ((a = fv_threads_alive()) != n - 1) await_change(&P.alive, a, 1);
  fv_threads_start();
  return FV_OK;
}
#endif
