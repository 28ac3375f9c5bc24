/* threads.c — the helper threads' loop, job posting, parallel-for and barrier (see threads.h).
 *
 * Thread 0 posts a job by writing it into the pool's state and bumping a
 * generation counter that idle helpers wait on. A job for every thread
 * (fv_threads_run) counts the helpers out; a parallel for publishes its
 * chunks in one atomic word that any thread takes them from, and counts the
 * chunks done, so a helper that comes late is not waited for. Every
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

/* Spins before parking: a few hundred µs of atomic loads, longer than the gaps
 * between a render's parallel ops and than its serial stretches (the objective,
 * Adam, the step's set-up: with 2^16 spins the helpers parked there and woke
 * late, 2-7% of a 2-thread step), shorter than the gaps between steps a page
 * or an atlas leaves. */
#define SPINS (1 << 18)
/* Chunks of a parallel for per thread: a thread that falls behind (the machine
 * is shared) leaves its later chunks to the others. At most 0xffff chunks. */
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
  word gen;      /* +1 per posted job of either kind, and at stop: what parked helpers wait on */
  word run_gen;  /* +1 per job that runs on every thread (fv_threads_run) */
  word pending;  /* helpers still in the current fv_threads_run job */
  word done;     /* chunks of the current for finished */
  word alive;    /* helpers inside fv_threads_helper */
  word bar_gen;  /* +1 each time a barrier opens */
  word bar_in;   /* threads arrived at the current barrier */
  /* The current for's chunks: (generation << 32) | (chunks << 16) | next chunk. A thread
   * takes a chunk by a compare-and-swap of next; the generation and the count inside the
   * word make a stale thread's attempt fail, so only the current for's chunks are taken. */
  _Alignas(64) _Atomic uint64_t claim;
  _Atomic int busy;  /* a job is running: nested calls run serially */
  _Atomic int stop;
  int n;         /* threads set up (1: no helpers) */
  int active;    /* threads jobs use: 1 until fv_threads_start */
  int can_block; /* thread 0 may park */
  unsigned for_gen;
  /* the current jobs (written by thread 0 before they are posted, read after) */
  fv_task_fn *fn;
  void *ctx;
  int nt;
  fv_range_fn *for_fn;
  void *for_ctx;
  int for_n;
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

/* ---- jobs on every thread --------------------------------------------------------------- */

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
  atomic_fetch_add(&P.run_gen.v, 1);
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

/* ---- parallel for: contiguous chunks, taken in order by whoever is free -----------------
 * Thread 0 waits for the chunks to be done, not for every helper to look in: a helper
 * that wakes late (parked, or descheduled on a busy machine) finds nothing left and
 * costs nothing. */

/* Takes and runs chunks of the current for until none is left. */
static void take_chunks(int t) {
  for (;;) {
    uint64_t w = atomic_load(&P.claim);
    const unsigned chunks = (unsigned)(w >> 16) & 0xffff, c = (unsigned)w & 0xffff;
    if (c >= chunks) return;
    if (!atomic_compare_exchange_weak(&P.claim, &w, w + 1)) continue;
    /* chunk c is ours; the for cannot end before it is done, so its fields stay */
    const int n = P.for_n, b = (int)((long long)c * n / chunks), e = (int)((long long)(c + 1) * n / chunks);
    P.for_fn(P.for_ctx, t, b, e);
    if (atomic_fetch_add(&P.done.v, 1) + 1 == (int)chunks) wake(&P.done);
  }
}

void fv_threads_for(int n, fv_range_fn *fn, void *ctx) {
  if (n <= 0) return;
  const int nt = fv_threads_count();
  if (nt <= 1 || n == 1) {
    fn(ctx, 0, 0, n);
    return;
  }
  const int chunks = n < nt * CHUNKS_PER_THREAD ? n : nt * CHUNKS_PER_THREAD;
  atomic_store(&P.busy, 1);
  P.for_fn = fn;
  P.for_ctx = ctx;
  P.for_n = n;
  atomic_store(&P.done.v, 0);
  atomic_store(&P.claim, (uint64_t)++P.for_gen << 32 | (uint64_t)chunks << 16);
  atomic_fetch_add(&P.gen.v, 1);
  wake(&P.gen);
  take_chunks(0);
  int d;
  while ((d = atomic_load(&P.done.v)) != chunks) await_change(&P.done, d, P.can_block);
  atomic_store(&P.busy, 0);
}

/* ---- helpers ---------------------------------------------------------------------------- */

void fv_threads_helper(int t) {
  /* read before counting in: no job is posted until all helpers are in */
  int seen = atomic_load(&P.gen.v), seen_run = atomic_load(&P.run_gen.v);
  atomic_fetch_add(&P.alive.v, 1);
  wake(&P.alive);
  while (!atomic_load(&P.stop)) { /* stop is set before its generation bump */
    await_change(&P.gen, seen, 1);
    seen = atomic_load(&P.gen.v);
    if (atomic_load(&P.stop)) break;
    const int r = atomic_load(&P.run_gen.v);
    if (r != seen_run) { /* a job for every thread: thread 0 waits for this one too */
      seen_run = r;
      if (t < P.nt) P.fn(P.ctx, t, P.nt);
      if (atomic_fetch_sub(&P.pending.v, 1) == 1) wake(&P.pending);
    }
    take_chunks(t);
  }
  atomic_fetch_sub(&P.alive.v, 1);
  wake(&P.alive);
}

int fv_threads_alive(void) { return atomic_load(&P.alive.v); }

fv_status fv_threads_init(int n, int can_block, fv_error *err) {
  fv_error_clear(err);
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
  fv_status s = fv_threads_init(n, 1, err); /* clears err */
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
