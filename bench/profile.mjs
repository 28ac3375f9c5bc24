// profile.mjs — the per-op profile of one network's Lucid step (bench/workloads.mjs's
// objectives, 128 px, batch 1), on N threads, by op kind or layer by layer:
//
//   node bench/profile.mjs [googlenet|mobilenet] [--threads N] [--steps 30] [--layers]
//
// Prints the median profiled step and, per slot (direction, op kind, and with --layers the
// layer: "fwd CONV_2D 3x3 #7 conv2/3x3"), the median ms over single profiled steps and its
// GFLOP/s. Each step is timed around every op (a clock read before and after), so the
// profiled step is a little slower than the plain one; compare slots with each other, and two
// builds with bench/ab.mjs. Asserts nothing.
import { readFileSync } from 'node:fs';
import { loadEngine } from '../wasm/engine.js';
import { profiledSteps } from './timing.mjs';
import { STEP_NETS } from './nets.mjs';
import { model } from '../tests/paths.mjs';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : +args.splice(i, 2)[1];
};
const threads = flag('--threads', 1), steps = flag('--steps', 30);
const layers = args.includes('--layers');
const net = args.find((a) => !a.startsWith('--')) ?? 'googlenet', cfg = STEP_NETS[net];
if (!cfg) {
  console.error('usage: node bench/profile.mjs [googlenet|mobilenet] [--threads N] [--steps 30] [--layers]');
  process.exit(2);
}

const e = await loadEngine(threads > 1 ? { threads } : {});
const m = e.loadModel(readFileSync(model(cfg.file)));
const names = m.layers().map((l) => l.name);
const r = e.render(m, { size: 128, batch: 1, objective: { kind: 'channel', layer: cfg.layer, channel: cfg.channel } });
r.step(20); // past the redirected-ReLU steps
const p = profiledSteps(e, r, steps, layers ? 'layers' : 'stages');
console.log(`${net}, ${e.threads} thread${e.threads > 1 ? 's' : ''}: profiled step ${p.step_ms.toFixed(2)} ms ` +
  `(median of ${steps}); the slots sum to ${p.rows.reduce((a, x) => a + x.ms, 0).toFixed(2)} ms`);
for (const { op, ms, flops } of p.rows) {
  const layer = op.match(/ #(\d+)$/), name = layer ? `${op} ${names[+layer[1]]}` : op;
  console.log(`  ${name.padEnd(64)} ${ms.toFixed(3).padStart(8)} ms${flops && ms > 0 ? `  ${(flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s` : ''}`);
}
r.free();
m.free();
e.close();
