#!/usr/bin/env node
// Runs the C test programs N times, each run a child process as in npm test
// (tests/c-programs.mjs), and prints how many crashed (died of a signal) and how
// many failed. Not part of npm test: it is for checking that a rare crash is gone.
//   npm run stress:c -- N [--builds=native,wasm,relaxed] [--only=NAME,...]
//                         [--together] [--fast-api-calls] [--node-flags="..."]
//   --builds          which builds' programs run (default: all three)
//   --only            only these programs (tests/c/NAME.c)
//   --together        each round runs the wasm programs one after another in ONE node
//                     process, as tests/c.test.mjs did before issue 16
//   --fast-api-calls  leave Node's fast WASI calls on: the crash tests/c-programs.mjs
//                     avoids (e.g. `taskset -c 1 npm run stress:c -- 20 --builds=wasm
//                     --together --fast-api-calls` shows it on Node 20.20.2)
//   --node-flags      extra node/V8 flags for the node that runs the wasm
//                     (--disable-wasm-trap-handler, --wasm-enforce-bounds-checks, ...)
// Exits 1 if any run crashed or failed. Build first (npm run build).
import { parseArgs } from 'node:util';
import { programs, runProgram, runTogether } from '../tests/c-programs.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    builds: { type: 'string', default: 'native,wasm,relaxed' },
    only: { type: 'string' },
    together: { type: 'boolean', default: false },
    'fast-api-calls': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
  },
});
const rounds = Number(positionals[0] ?? 10);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: npm run stress:c -- N [--builds=native,wasm,relaxed] [--only=NAME,...] [--together] [--fast-api-calls] [--node-flags="..."]');
  process.exit(2);
}
const builds = new Set(values.builds.split(','));
const only = values.only && new Set(values.only.split(','));
const opts = { nodeFlags: values['node-flags'].split(/\s+/).filter(Boolean), fastApiCalls: values['fast-api-calls'] };
const list = programs().filter((p) => builds.has(p.build) && (!only || only.has(p.name)));
if (list.length === 0) { console.error('stress-c: no program matches'); process.exit(2); }

// one unit of work per round: each program alone, or (--together) the natives alone and
// the wasm programs as one group
const units = values.together
  ? [...list.filter((p) => p.build === 'native').map((p) => ({ title: p.title, run: () => runProgram(p, opts) })),
     ...(list.some((p) => p.build !== 'native') ? [{ title: 'wasm programs in one process', run: () => runTogether(list, opts) }] : [])]
  : list.map((p) => ({ title: p.title, run: () => runProgram(p, opts) }));

const tally = new Map(units.map((u) => [u.title, { runs: 0, crashed: 0, failed: 0, skipped: 0, signals: {} }]));
const mode = [opts.fastApiCalls && 'fast WASI calls ON', ...opts.nodeFlags].filter(Boolean).join(' ');
console.log(`stress-c: ${rounds} rounds of ${units.length} runs, node ${process.version}${mode ? `, ${mode}` : ''}`);
for (let round = 1; round <= rounds; round++) {
  for (const u of units) {
    const r = u.run();
    const t = tally.get(u.title);
    if (r.skip) { t.skipped++; continue; }
    t.runs++;
    if (r.ok) continue;
    if (r.crashed) { t.crashed++; t.signals[r.signal] = (t.signals[r.signal] ?? 0) + 1; } else t.failed++;
    console.log(`\nround ${round}: ${r.why}\n`);
  }
  if (round % 10 === 0 || round === rounds) {
    const c = [...tally.values()].reduce((n, t) => n + t.crashed, 0), f = [...tally.values()].reduce((n, t) => n + t.failed, 0);
    console.log(`round ${round}/${rounds}: ${c} crashed, ${f} failed so far`);
  }
}

let runs = 0, crashed = 0, failed = 0;
console.log('\nprogram                                             runs  crashed  failed');
for (const [title, t] of tally) {
  runs += t.runs; crashed += t.crashed; failed += t.failed;
  const sig = Object.entries(t.signals).map(([s, n]) => `${s}×${n}`).join(' ');
  console.log(`${title.padEnd(50)} ${String(t.runs).padStart(5)}  ${String(t.crashed).padStart(7)}  ${String(t.failed).padStart(6)}${t.skipped ? `  (${t.skipped} skipped)` : ''}${sig ? `  ${sig}` : ''}`);
}
console.log(`stress-c: ${crashed} of ${runs} runs crashed, ${failed} failed otherwise`);
process.exit(crashed || failed ? 1 : 0);
