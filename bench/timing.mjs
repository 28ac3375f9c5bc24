// timing.mjs — the benchmark's clocks: medians over samples, and sides interleaved in short
// rounds so that every side gets samples from the same moments of the shared machine's load.
import v8 from 'node:v8';
import vm from 'node:vm';

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// A full garbage collection between the sides of a comparison: the peers make JS garbage
// (tensors, tapes) that V8 would otherwise collect, partly on background threads, while
// featviz's steps run. Each side's collections during its own samples stay in its times.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** Median ms of fn over runs after warm-up, at least minRuns and about minMs of work. */
export function time(fn, { warm = 2, minRuns = 5, minMs = 1500 } = {}) {
  for (let i = 0; i < warm; i++) fn();
  const ts = [];
  const start = performance.now();
  while (ts.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Samples of fn (ms each) for about minMs, at least minRuns, appended to ts. A fn may be async,
 * and may answer its own ms (a peer in a child process times itself there). */
export async function sample(fn, ts, { minRuns = 5, minMs = 1000 } = {}) {
  const start = performance.now();
  for (let n = 0; n < minRuns || performance.now() - start < minMs; n++) {
    const t0 = performance.now();
    let r = fn();
    if (r instanceof Promise) r = await r;
    ts.push(typeof r === 'number' ? r : performance.now() - t0);
  }
}

/**
 * Each fn interleaved with the others after warm-up: in every round each fn runs for
 * about roundMs (at least once), a garbage collection at each switch of side. warm: runs
 * per fn. Per fn: the median ms and the sample count.
 */
export async function interleave(fns, { warm, budgetMs, minRounds = 8, roundMs = 150 }) {
  const est = [];
  for (const [k, fn] of fns.entries()) {
    for (let i = 0; i < warm[k]; i++) await fn();
    const t0 = performance.now();
    await fn();
    est.push(performance.now() - t0);
  }
  const reps = est.map((ms) => Math.max(1, Math.round(roundMs / Math.max(ms, 0.01))));
  const ts = fns.map(() => []);
  const start = performance.now();
  for (let r = 0; r < minRounds || performance.now() - start < budgetMs; r++) {
    for (const [k, fn] of fns.entries()) {
      gc();
      await sample(fn, ts[k], { minRuns: reps[k], minMs: 0 });
    }
  }
  return ts.map((t) => ({ ms: median(t), n: t.length }));
}

/** One step of render r with engine e's per-op profile on (src/profile.h, with the stages; level
 * 'layers': a slot per layer too): { ms, slots }. */
export function profiledStep(e, r, level = 'stages') {
  e.profileEnable(level);
  e.profileReset();
  const t0 = performance.now();
  r.step(1);
  const out = { ms: performance.now() - t0, slots: e.profile() };
  e.profileEnable(false);
  return out;
}

/** `steps` single profiled steps: { step_ms (median), rows: [{ op, ms (median), flops }] } with op
 * "[stage ]fwd|bwd NAME", the costliest first. */
export function profiledSteps(e, r, steps, level = 'stages') {
  const per = Array.from({ length: steps }, () => profiledStep(e, r, level));
  const key = (s) => `${s.stage ? 'stage ' : ''}${s.backward ? 'bwd' : 'fwd'} ${s.name}`;
  const flops = new Map();
  for (const p of per) for (const s of p.slots) flops.set(key(s), s.flops);
  const rows = [...flops].map(([op, f]) => ({ op, ms: median(per.map((p) => p.slots.find((s) => key(s) === op)?.ms ?? 0)), flops: f }));
  rows.sort((a, b) => b.ms - a.ms);
  return { step_ms: median(per.map((p) => p.ms)), rows };
}
