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
import { median } from './timing.mjs';
import { model } from '../tests/paths.mjs';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : +args.splice(i, 2)[1];
};
const threads = flag('--threads', 1), steps = flag('--steps', 30);
const layers = args.includes('--layers');
const net = args.find((a) => !a.startsWith('--')) ?? 'googlenet';
if (!['googlenet', 'mobilenet'].includes(net)) {
  console.error('usage: node bench/profile.mjs [googlenet|mobilenet] [--threads N] [--steps 30] [--layers]');
  process.exit(2);
}
const cfg = net === 'googlenet'
  ? { file: 'googlenet_bvlc.onnx', layer: 'inception_4c/output', channel: 97 }
  : { file: 'mobilenet_v2_1.0_224_quant.tflite', layer: 'MobilenetV2/expanded_conv_8/add', channel: 12 };

const e = await loadEngine(threads > 1 ? { threads } : {});
const m = e.loadModel(readFileSync(model(cfg.file)));
const names = m.layers().map((l) => l.name);
const r = e.render(m, { size: 128, batch: 1, objective: { kind: 'channel', layer: cfg.layer, channel: cfg.channel } });
r.step(20); // past the redirected-ReLU steps
const per = [];
for (let i = 0; i < steps; i++) {
  e.profileEnable(layers ? 'layers' : 'stages');
  e.profileReset();
  const t0 = performance.now();
  r.step(1);
  per.push({ ms: performance.now() - t0, slots: e.profile() });
  e.profileEnable(false);
}
const key = (s) => `${s.stage ? 'stage ' : ''}${s.backward ? 'bwd' : 'fwd'} ${s.name}`;
const flops = new Map();
for (const p of per) for (const s of p.slots) flops.set(key(s), s.flops);
const rows = [...flops].map(([k, f]) => {
  const ms = median(per.map((p) => p.slots.find((s) => key(s) === k)?.ms ?? 0));
  const layer = k.match(/ #(\d+)$/);
  return { k: layer ? `${k} ${names[+layer[1]]}` : k, ms, gflops: f && ms > 0 ? f / ms / 1e6 : 0 };
}).sort((a, b) => b.ms - a.ms);
console.log(`${net}, ${e.threads} thread${e.threads > 1 ? 's' : ''}: profiled step ${median(per.map((p) => p.ms)).toFixed(2)} ms ` +
  `(median of ${steps}); the slots sum to ${rows.reduce((a, x) => a + x.ms, 0).toFixed(2)} ms`);
for (const x of rows) console.log(`  ${x.k.padEnd(64)} ${x.ms.toFixed(3).padStart(8)} ms${x.gflops ? `  ${x.gflops.toFixed(1).padStart(6)} GFLOP/s` : ''}`);
r.free();
m.free();
e.close();
