// bench.mjs — prints speed and memory figures; never asserts. Run: npm run bench
//   1. featviz against a tfjs-wasm peer (bench/peer-tfjs.mjs) on the same weights
//      (read from the .tflite by featviz's own reader),
//      tuned and stock, one after the other in this run, interleaved in short
//      rounds (the machine is shared, so each side gets samples from the same
//      moments of load): 224x224 inference, the Lucid step (128x128, batch 1)
//      and batch 4 with diversity: median ms per step, the ratios, featviz's
//      GFLOP/s and its share of the WASM SIMD peak; featviz also in its optional
//      relaxed-SIMD build (fused multiply-add) where the runtime has it;
//   2. featviz's per-op profile of the Lucid steps (src/profile.h);
//   3. peak WASM memory per workload, each in a fresh engine instance;
//   4. the atlas throughput on the worker pool (wasm/pool.js) with 1 and 2 workers;
//   5. scalar vs SIMD: forward pass of each store model, and the steps;
//   6. scalar vs SIMD per kernel: one row per entry of src/kernels/kernels.inc
//      (bench/kernels_bench.c, a WASI program run in a child process by tests/wasi-run.mjs);
//   7. threads: the same workloads on 1 and 2 threads (wasm/featviz-threads.wasm,
//      wasm/threads.js), interleaved, against the plain single-threaded build.
//   0. (first) the named workloads of issue 11 with their peers (bench/workloads.mjs):
//      MobileNet v2 and GoogLeNet inference against onnxruntime-web on the same threads,
//      the Lucid steps on 1 and 2 threads, GoogLeNet's per-op profile and peak memory.
// The peer's hand-written gradients are checked by bench/check-peer-grad.mjs.
//   node bench/bench.mjs [--json FILE] [--workloads]
//   --json FILE   also writes the figures as JSON: {"workloads": {NAME: {"featviz_ms", "gflops", ...}}}
//   --workloads   the named workloads only (section 0)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import v8 from 'node:v8';
import { loadEngine, relaxedSimdSupported } from '../wasm/engine.js';
import { createPeer, tfInfo, PEER_DIFFERENCES } from './peer-tfjs.mjs';
import { median, time, sample, interleave, profiledStep } from './timing.mjs';
import { runWorkloads, simdPeak } from './workloads.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = process.env.FEATVIZ_MODELS || resolve(ROOT, '../shared/models');
const IMAGES = process.env.FEATVIZ_IMAGES || resolve(MODELS, '../images'); // beside the store's models
const STORE = ['mobilenet_v2_1.0_224_quant.tflite', 'mobilenet_v1_0.75_192_quant.tflite', 'mobilenet_v1_0.25_128_quant.tflite'];
const LAYER = 'MobilenetV2/expanded_conv_8/add';
const CHANNEL = 12;
const MB = 2 ** 20;

const pad = (s, n) => String(s).padStart(n);

// Node 20 has relaxed SIMD behind this flag (Chromium ships it): set before any compile.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const RELAXED = relaxedSimdSupported() && existsSync(join(ROOT, 'wasm/featviz-relaxed.wasm'));

const args = process.argv.slice(2);
const JSON_FILE = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
if (args.includes('--json') && (!JSON_FILE || JSON_FILE.startsWith('--'))) {
  console.error('bench: --json needs a file name (npm run bench -- --json FILE)');
  process.exit(2);
}
const report = { host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', node: process.version, loadavg_start: os.loadavg() } };
const writeReport = () => {
  if (!JSON_FILE) return;
  report.host.loadavg_end = os.loadavg();
  writeFileSync(JSON_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${JSON_FILE}`);
};

// ==== 0. the named workloads ==============================================================================
console.log(`host: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')} (shared with other work)`);
Object.assign(report, await runWorkloads({ models: MODELS, images: IMAGES }));
if (args.includes('--workloads')) {
  writeReport();
  process.exit(0);
}

const v2Bytes = readFileSync(join(MODELS, STORE[0]));
const catBytes = readFileSync(join(IMAGES, 'cat.bmp'));
const fv = await loadEngine();
console.log(`featviz ${fv.version()} — Node ${process.version}, one thread, WASM SIMD available: ${fv.simdAvailable()}`);
const peer = await (async () => {
  const m = fv.loadModel(v2Bytes); // the peer's network and weights: what featviz's reader made of the file
  try { return await createPeer(m); } finally { m.free(); }
})();
const ti = tfInfo();
console.log(`peer: tfjs ${ti.version}, backend ${ti.backend} (SIMD ${ti.simd}, threads ${ti.threads})`);
console.log(`host: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);

// ==== 1. featviz vs tfjs-wasm ==========================================================================

/** A fresh engine with MobileNet v2 loaded: per-workload peak memory (WASM memory never shrinks). */
async function freshV2(relaxed = false) {
  const e = await loadEngine({ relaxed });
  const model = e.loadModel(v2Bytes);
  return { e, model, afterLoad: e.memoryBytes() };
}

// -- same input, same logits: the peer computes the same network --
const rows = [], memory = [], profiles = {};
{
  const { e, model, afterLoad } = await freshV2();
  const photo = e.decodeImage(catBytes);
  const p224 = photo.resize(224, 224); // featviz's resize; both sides then see the same pixels
  photo.free();
  const layers = model.layers();
  const logitsLayer = layers.findIndex((l) => l.op === 'SOFTMAX') - 1;
  const { min, max } = model.input;
  const rgb = p224.rgb(), x = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) x[i] = min + ((max - min) / 255) * rgb[i];
  const li = e.infer(model, { lastLayer: logitsLayer });
  li.run(p224);
  const a = li.layer(logitsLayer).data;
  li.free();
  const b = peer.logits(x, [1, 224, 224, 3]);
  let diff = 0, big = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    big = Math.max(big, Math.abs(a[i]));
  }
  const sameOps = peer.layers.length === layers.length && peer.layers.every((L, i) => L.kind === layers[i].op);
  console.log(`\nSame network: ${peer.layers.length} ops in the same order: ${sameOps}; logits of cat.bmp at 224x224, ` +
    `featviz vs tfjs-wasm: max |diff| ${diff.toExponential(2)} (logits up to ${big.toFixed(2)})`);

  // -- 224x224 inference: whole network + softmax --
  const inf = e.infer(model);
  const xt = peer.tf.tensor4d(x, [1, 224, 224, 3]);
  // the relaxed build: its own engine, the same photo decoded and resized by the same code
  const rx = RELAXED ? await freshV2(true) : null, infR = rx?.e.infer(rx.model);
  const photoR = rx?.e.decodeImage(catBytes), p224R = photoR?.resize(224, 224);
  photoR?.free();
  const fns = [() => inf.run(p224), () => peer.infer(xt), () => peer.infer(xt, { stock: true })];
  if (rx) fns.push(() => infR.run(p224R));
  const [f, t, st, fr] = await interleave(fns, { warm: [3, 3, 3, 3], budgetMs: rx ? 8000 : 6000 });
  rows.push({ name: '224x224 inference', fv: f, tuned: t, stock: st, relaxed: fr, gflop: inf.flops / 1e9 });
  infR?.free();
  p224R?.free();
  rx?.model.free();
  memory.push({ name: '224x224 inference', afterLoad, peak: e.memoryBytes(), heap: e.heapInUse(), peer: peer.tf.backend().wasm.HEAPU8.buffer.byteLength });
  xt.dispose();
  inf.free();
  p224.free();
  model.free();
}

// -- the Lucid step, batch 1 and batch 4 with diversity --
const LUCID = [
  { name: 'Lucid step, batch 1', key: 'b1', batch: 1, diversity: 0 },
  { name: 'batch 4 + diversity', key: 'b4', batch: 4, diversity: 100 },
];
for (const w of LUCID) {
  const { e, model, afterLoad } = await freshV2();
  const layer = model.layerIndex(LAYER);
  const r = e.render(model, { size: 128, batch: w.batch, objective: { kind: 'channel', layer: LAYER, channel: CHANNEL }, ...(w.diversity ? { diversity: w.diversity } : {}) });
  const opts = { size: 128, batch: w.batch, layer, channel: CHANNEL, diversity: w.diversity, inputMin: model.input.min, inputMax: model.input.max };
  const s = peer.lucid(opts), ss = peer.lucid({ ...opts, stock: true });
  const rx = RELAXED ? await freshV2(true) : null;
  const rR = rx?.e.render(rx.model, { size: 128, batch: w.batch, objective: { kind: 'channel', layer: LAYER, channel: CHANNEL }, ...(w.diversity ? { diversity: w.diversity } : {}) });
  const fns = [() => r.step(1), () => s.step(), () => ss.step()];
  if (rR) fns.push(() => rR.step(1));
  // featviz: 20 warm-up steps, past its 16 redirected-ReLU steps, so every side times the plain gradient
  const [f, t, st, fr] = await interleave(fns, { warm: [20, 5, 3, 20], budgetMs: (w.batch > 1 ? 12000 : 9000) * (rR ? 1.3 : 1) });
  rows.push({ name: w.name, fv: f, tuned: t, stock: st, relaxed: fr, gflop: r.flops / 1e9 });
  rR?.free();
  rx?.model.free();
  memory.push({ name: `${w.name} (128x128)`, afterLoad, peak: e.memoryBytes(), heap: e.heapInUse(), peer: peer.tf.backend().wasm.HEAPU8.buffer.byteLength });
  s.dispose();
  ss.dispose();

  // per-op profile of featviz, one step at a time (medians resist the shared machine's load),
  // each profiled step next to an unprofiled one, so that the profiling overhead shows
  const per = [], plain = [];
  for (let i = 0; i < (w.batch > 1 ? 15 : 40); i++) {
    await sample(() => r.step(1), plain, { minRuns: 1, minMs: 0 });
    per.push(profiledStep(e, r));
  }
  profiles[w.key] = { per, unprofiled: median(plain) };
  r.free();
  model.free();
}

console.log('\nfeatviz vs tfjs-wasm (MobileNet v2, one thread; median ms per step after warm-up, the sides interleaved)');
console.log('  tuned: the peer written for speed (fused kernels, input-only custom gradients; bench/peer-tfjs.mjs)');
console.log('  stock: the same loop with tfjs\'s own ops and gradients (only the depthwise input gradient hand-made)');
console.log(`workload                 featviz ms  tfjs tuned ms  tuned/featviz  tfjs stock ms  stock/featviz  net GFLOP  featviz GFLOP/s  ${`% of ${Math.round(simdPeak().gflops)} peak`.padStart(12)}  tuned GFLOP/s  samples`);
for (const r of rows) {
  const g = r.gflop / (r.fv.ms / 1e3);
  console.log(`${r.name.padEnd(23)} ${pad(r.fv.ms.toFixed(1), 10)}  ${pad(r.tuned.ms.toFixed(1), 13)}  ${pad((r.tuned.ms / r.fv.ms).toFixed(2) + 'x', 13)}  ` +
    `${pad(r.stock.ms.toFixed(1), 13)}  ${pad((r.stock.ms / r.fv.ms).toFixed(2) + 'x', 13)}  ${pad(r.gflop.toFixed(3), 9)}  ${pad(g.toFixed(2), 15)}  ` +
    `${pad(((100 * g) / simdPeak().gflops).toFixed(1) + '%', 12)}  ${pad((r.gflop / (r.tuned.ms / 1e3)).toFixed(2), 13)}  ${pad(`${r.fv.n}/${r.tuned.n}/${r.stock.n}`, 9)}`);
}
const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
const inf = byName['224x224 inference'], b1 = byName[LUCID[0].name], b4 = byName[LUCID[1].name];
console.log('net GFLOP: the network passes featviz counts (forward, plus the input gradient for the Lucid steps), the same for every side.');
console.log(`Issue 5 targets: Lucid step >= 6x tfjs: ${(b1.tuned.ms / b1.fv.ms).toFixed(2)}x tuned, ${(b1.stock.ms / b1.fv.ms).toFixed(2)}x stock` +
  ` (at or under ~29 ms: ${b1.fv.ms.toFixed(1)} ms); batch 4 + diversity <= 3.5x batch 1: ${(b4.fv.ms / b1.fv.ms).toFixed(2)}x;` +
  ` inference >= 2x tfjs: ${(inf.tuned.ms / inf.fv.ms).toFixed(2)}x tuned, ${(inf.stock.ms / inf.fv.ms).toFixed(2)}x stock.`);
if (RELAXED) {
  console.log('\nfeatviz relaxed-SIMD build (wasm/featviz-relaxed.wasm: fused multiply-add in the kernels; same runs, interleaved with the above)');
  console.log('workload                 relaxed ms  SIMD ms  SIMD/relaxed  tuned/relaxed  stock/relaxed  relaxed GFLOP/s  samples');
  for (const r of rows) {
    const g = r.gflop / (r.relaxed.ms / 1e3);
    console.log(`${r.name.padEnd(23)} ${pad(r.relaxed.ms.toFixed(1), 10)}  ${pad(r.fv.ms.toFixed(1), 7)}  ${pad((r.fv.ms / r.relaxed.ms).toFixed(2) + 'x', 12)}  ` +
      `${pad((r.tuned.ms / r.relaxed.ms).toFixed(2) + 'x', 13)}  ${pad((r.stock.ms / r.relaxed.ms).toFixed(2) + 'x', 13)}  ${pad(g.toFixed(2), 15)}  ${pad(r.relaxed.n, 7)}`);
  }
  console.log(`Relaxed build against the targets: Lucid step ${(b1.stock.ms / b1.relaxed.ms).toFixed(2)}x stock, ${(b1.tuned.ms / b1.relaxed.ms).toFixed(2)}x tuned;` +
    ` batch 4 + diversity ${(b4.relaxed.ms / b1.relaxed.ms).toFixed(2)}x batch 1; inference ${(inf.stock.ms / inf.relaxed.ms).toFixed(2)}x stock, ${(inf.tuned.ms / inf.relaxed.ms).toFixed(2)}x tuned.`);
} else {
  console.log('\nfeatviz relaxed-SIMD build: not measured (runtime without relaxed SIMD, or wasm/featviz-relaxed.wasm not built)');
}
console.log('What the peer\'s loop does differently:');
for (const d of PEER_DIFFERENCES) console.log(`  - ${d}`);
console.log(`load average now: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);

// ==== 2. per-op profile ==================================================================================
console.log('\nfeatviz per-op time in the Lucid steps (128x128; src/profile.h: each op timed; backward includes the fused ReLU6 mask;');
console.log('medians over single profiled steps; share of the profiled step; GFLOP/s of the kind\'s multiply-adds)');
const keyOf = (s) => `${s.stage ? '  ' : ''}${s.backward ? 'bwd' : 'fwd'} ${s.name}`;
for (const w of LUCID) {
  // per step: ms of each kind, forward, backward and the rest; then medians over the steps
  const p = profiles[w.key];
  const kinds = new Map();
  for (const st of p.per) for (const sl of st.slots) kinds.set(keyOf(sl), sl.flops);
  const col = (k) => median(p.per.map((st) => st.slots.find((sl) => keyOf(sl) === k)?.ms ?? 0));
  const sum = (st, bwd) => st.slots.filter((sl) => !sl.stage && sl.backward === bwd).reduce((a, sl) => a + sl.ms, 0);
  p.kinds = [...kinds].map(([k, flops]) => ({ k, ms: col(k), flops }));
  p.fwd = median(p.per.map((st) => sum(st, false)));
  p.bwd = median(p.per.map((st) => sum(st, true)));
  p.rest = median(p.per.map((st) => st.ms - sum(st, false) - sum(st, true)));
  p.step = median(p.per.map((st) => st.ms));
}
const allNames = [...new Set(LUCID.flatMap((w) => profiles[w.key].kinds.map((x) => x.k)))];
const names = allNames.filter((k) => !k.startsWith(' ')), stageNames = allNames.filter((k) => k.startsWith(' '));
const kind = (w, k) => profiles[w.key].kinds.find((x) => x.k === k);
// forward then backward, each by batch-1 time, largest first
names.sort((a, b) => (a.startsWith('bwd') - b.startsWith('bwd')) || ((kind(LUCID[0], b)?.ms ?? 0) - (kind(LUCID[0], a)?.ms ?? 0)));
console.log('op (direction, kind)           ' + LUCID.map((w) => `${w.name.padStart(20)}: ms/step   share  GFLOP/s`).join('  '));
const cell = (w, ms, flops) => {
  const p = profiles[w.key];
  if (ms === undefined) return `${''.padStart(22)}${'-'.padStart(8)}  ${'-'.padStart(6)}  ${'-'.padStart(7)}`;
  const gf = flops && ms > 0 ? (flops / ms / 1e6).toFixed(2) : '';
  return `${''.padStart(22)}${pad(ms.toFixed(2), 8)}  ${pad(((100 * ms) / p.step).toFixed(1) + '%', 6)}  ${pad(gf, 7)}`;
};
const line = (label, cells) => console.log(`${label.padEnd(31)}${cells.join('  ')}`);
for (const k of names) line(k, LUCID.map((w) => cell(w, kind(w, k)?.ms, kind(w, k)?.flops)));
line('forward, all ops', LUCID.map((w) => cell(w, profiles[w.key].fwd)));
line('backward, all ops', LUCID.map((w) => cell(w, profiles[w.key].bwd)));
line('rest: params, transforms,', LUCID.map((w) => cell(w, profiles[w.key].rest)));
line('  objective, diversity, Adam', []);
for (const k of stageNames) line(k, LUCID.map((w) => cell(w, kind(w, k)?.ms, 0))); // the step's stages (src/render.c)
line('whole step, profiled', LUCID.map((w) => cell(w, profiles[w.key].step)));
line('whole step, not profiled', LUCID.map((w) => `${''.padStart(22)}${pad(profiles[w.key].unprofiled.toFixed(2), 8)}`));

// ==== 3. memory ==============================================================================================
console.log(`\nload average now: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.log('\nPeak WASM memory per workload (featviz: a fresh engine instance each; WASM memory never shrinks)');
console.log('workload                              after model load  peak (end of workload)  heap in use  tfjs-wasm heap (cumulative)');
for (const m of memory) {
  console.log(`${m.name.padEnd(38)} ${pad((m.afterLoad / MB).toFixed(1) + ' MB', 15)}  ${pad((m.peak / MB).toFixed(1) + ' MB', 22)}  ` +
    `${pad((m.heap / MB).toFixed(1) + ' MB', 11)}  ${pad((m.peer / MB).toFixed(1) + ' MB', 27)}`);
}
const m4 = memory.find((m) => m.name.startsWith(LUCID[1].name));
console.log(`batch 4 + diversity at 128x128: peak ${(m4.peak / MB).toFixed(1)} MB — ${m4.peak < 256 * MB ? 'under' : 'NOT under'} the 256 MB budget.`);

// ==== 4. atlas throughput on the worker pool =====================================================================
{
  const ATLAS = { size: 64, steps: 96, channels: 12 }; // the page's atlas options (web/app.js: 64x64, 96 steps)
  console.log(`\nAtlas throughput (wasm/pool.js, ${LAYER}, ${ATLAS.size}x${ATLAS.size}, ${ATLAS.steps} steps per channel, ${ATLAS.channels} channels per run)`);
  let Pool = null;
  try {
    if (existsSync(join(ROOT, 'wasm/pool.js'))) ({ Pool } = await import('../wasm/pool.js'));
  } catch (e) {
    console.log(`  skipped: wasm/pool.js does not load (${e.message})`);
  }
  if (!Pool) {
    console.log('  skipped: no wasm/pool.js');
  } else {
    try {
      // 1 and 2 single-threaded workers, and 1 worker on 2 threads (the threads build), twice
      // each: the machine is shared, so each configuration's best run is reported
      const CONFIGS = { '1 worker': { size: 1 }, '2 workers': { size: 2 }, '1 worker, 2 threads': { size: 1, threads: 2 } };
      const best = {}, all = Object.fromEntries(Object.keys(CONFIGS).map((k) => [k, []]));
      for (const key of [...Object.keys(CONFIGS), ...Object.keys(CONFIGS)]) {
        const { size, threads = 1 } = CONFIGS[key];
        const pool = new Pool({ size, threads });
        try {
          await pool.ready;
          await pool.loadModel('v2', v2Bytes, { name: STORE[0] });
          const opts = (c, steps = ATLAS.steps) => ({ size: ATLAS.size, steps, objective: { kind: 'channel', layer: LAYER, channel: c } });
          // every worker parses the model and warms up before the clock starts
          await Promise.all(Array.from({ length: size }, async (_, i) => {
            const job = pool.render('v2', opts(0, 20), { worker: i, frameInterval: 200 });
            await job.finished;
            await job.free();
          }));
          const todo = Array.from({ length: ATLAS.channels }, (_, c) => c);
          const t0 = performance.now();
          // as web/atlas.js: one render at a time per worker, frames every 200 ms
          const runOne = async () => {
            while (todo.length) {
              const job = pool.render('v2', opts(todo.shift()), { frameInterval: 200 });
              await job.finished;
              await job.free();
            }
          };
          await Promise.all(Array.from({ length: size }, runOne));
          const perMin = ATLAS.channels / ((performance.now() - t0) / 60000);
          all[key].push(perMin);
          best[key] = Math.max(best[key] ?? 0, perMin);
        } finally {
          pool.terminate();
        }
      }
      for (const key of Object.keys(CONFIGS)) {
        console.log(`  ${key.padEnd(20)}: ${pad(best[key].toFixed(1), 6)} channels per minute ` +
          `(best of ${all[key].map((v) => v.toFixed(1)).join(', ')})`);
      }
      console.log(`  2 workers / 1 worker: ${(best['2 workers'] / best['1 worker']).toFixed(2)}x; 2 workers / 1 worker on 2 threads: ` +
        `${(best['2 workers'] / best['1 worker, 2 threads']).toFixed(2)}x; load average now: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
      report.atlas_channels_per_minute = best;
    } catch (e) {
      console.log(`  skipped: the pool failed (${e.message})`);
    }
  }
}

// ==== 5. scalar vs SIMD ==========================================================================================
const photo = fv.decodeImage(catBytes);
console.log('\nForward pass (inference of one photo, whole network, native size)');
console.log('model                                   size   scalar ms  SIMD ms  speed-up  GFLOP  scalar GFLOP/s  SIMD GFLOP/s');
for (const file of STORE) {
  const model = fv.loadModel(readFileSync(join(MODELS, file)));
  const inf = fv.infer(model);
  const gflop = inf.flops / 1e9;
  const row = {};
  for (const simd of [false, true]) {
    fv.setSimd(simd);
    row[simd] = time(() => inf.run(photo));
  }
  fv.setSimd(true);
  const size = model.input.shape[1];
  console.log(`${file.padEnd(38)} ${String(size).padStart(4)}  ${row.false.toFixed(2).padStart(9)}  ${row.true.toFixed(2).padStart(7)}  ` +
    `${(row.false / row.true).toFixed(2).padStart(7)}x  ${gflop.toFixed(3)}  ${(gflop / (row.false / 1e3)).toFixed(2).padStart(14)}  ` +
    `${(gflop / (row.true / 1e3)).toFixed(2).padStart(12)}`);
  inf.free();
  model.free();
}
photo.free();

// ---- optimization steps (issue 3): the full pipeline, Fourier + decorrelation + Lucid's transforms ----
console.log(`\nOptimization step (MobileNet v2, channel objective on ${LAYER}, 128x128, full pipeline)`);
console.log('workload                      scalar ms  SIMD ms  speed-up  GFLOP/step  scalar GFLOP/s  SIMD GFLOP/s');
const v2 = fv.loadModel(v2Bytes);
const objective = { kind: 'channel', layer: LAYER, channel: CHANNEL };
for (const [name, extra] of [['batch 1', {}], ['batch 4 + diversity', { batch: 4, diversity: 100 }]]) {
  const r = fv.render(v2, { size: 128, objective, ...extra });
  const gflop = r.flops / 1e9;
  const row = {};
  for (const simd of [false, true]) {
    fv.setSimd(simd);
    row[simd] = time(() => r.step(1), { warm: 3, minRuns: simd ? 30 : 5, minMs: 3000 });
  }
  fv.setSimd(true);
  console.log(`${name.padEnd(28)} ${row.false.toFixed(1).padStart(9)}  ${row.true.toFixed(1).padStart(7)}  ` +
    `${(row.false / row.true).toFixed(2).padStart(7)}x  ${gflop.toFixed(3).padStart(10)}  ` +
    `${(gflop / (row.false / 1e3)).toFixed(2).padStart(14)}  ${(gflop / (row.true / 1e3)).toFixed(2).padStart(12)}`);
  r.free();
}
v2.free();

// ==== 6. scalar vs SIMD per kernel ================================================================================
console.log('\nKernels, scalar vs SIMD (bench/kernels_bench.c: one row per entry of src/kernels/kernels.inc, median ms of one call)');
const kernelBench = join(ROOT, 'build/wasm/bench/kernels_bench.wasm');
if (existsSync(kernelBench)) {
  // tests/wasi-run.mjs, with Node 20's fast WASI calls off (the exit crash of issue 16; tests/c-programs.mjs)
  const r = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', join(ROOT, 'tests/wasi-run.mjs'),
    kernelBench, 'kernels_bench'], { stdio: 'inherit' });
  if (r.status !== 0) console.log(`  (the kernel benchmark ended with ${r.signal || `status ${r.status}`})`);
} else {
  console.log(`  not built: ${kernelBench} (make -f emcc.mk bench)`);
}
peer.dispose();

// ==== 7. threads ==================================================================================================
{
  // the plain build (one thread), and the threads build on 1 and 2 threads: each its own engine
  const sides = [
    { name: 'plain', e: await loadEngine() },
    { name: 'threads build, 1 thread', e: await loadEngine({ url: new URL('../wasm/featviz-threads.wasm', import.meta.url) }) },
    { name: '2 threads', e: await loadEngine({ threads: 2 }) },
  ];
  console.log(`\nThreads (MobileNet v2; the same bits on every side; median ms, the sides interleaved; ${sides[2].e.threads} threads ran` +
    `${sides[2].e.threadsReason ? ` — ${sides[2].e.threadsReason}` : ''})`);
  console.log(`host: ${os.cpus().length} CPUs, load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')} (a shared machine: a busy core slows the 2-thread side most)`);
  for (const sd of sides) {
    sd.model = sd.e.loadModel(v2Bytes);
    const photo = sd.e.decodeImage(catBytes);
    sd.p224 = photo.resize(224, 224);
    photo.free();
    sd.inf = sd.e.infer(sd.model);
    sd.renders = LUCID.map((w) => sd.e.render(sd.model, { size: 128, batch: w.batch, objective: { kind: 'channel', layer: LAYER, channel: CHANNEL }, ...(w.diversity ? { diversity: w.diversity } : {}) }));
  }
  const work = [
    { name: '224x224 inference', fn: (sd) => () => sd.inf.run(sd.p224), warm: 3, budgetMs: 6000 },
    ...LUCID.map((w, k) => ({ name: `${w.name} (128)`, fn: (sd) => () => sd.renders[k].step(1), warm: 20, budgetMs: w.batch > 1 ? 10000 : 8000 })),
  ];
  console.log('workload                     plain ms  threads build 1 thread ms  2 threads ms  2 threads / plain  samples');
  for (const w of work) {
    const [a, b1, b2] = await interleave(sides.map((sd) => w.fn(sd)), { warm: sides.map(() => w.warm), budgetMs: w.budgetMs });
    console.log(`${w.name.padEnd(27)} ${pad(a.ms.toFixed(1), 9)}  ${pad(b1.ms.toFixed(1), 25)}  ${pad(b2.ms.toFixed(1), 12)}  ` +
      `${pad((a.ms / b2.ms).toFixed(2) + 'x faster', 17)}  ${pad(`${a.n}/${b1.n}/${b2.n}`, 7)}`);
  }
  for (const sd of sides) {
    sd.renders.forEach((r) => r.free());
    sd.inf.free();
    sd.p224.free();
    sd.model.free();
    sd.e.close();
  }
}
console.log(`\nload average at the end: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
// the tfjs peer's MobileNet figures (section 1) beside the named workloads
for (const [name, row] of [['mobilenet_v2_infer_224', inf], ['mobilenet_v2_step_b1', b1], ['mobilenet_v2_step_b4_div', b4]]) {
  Object.assign(report.workloads[name], { tfjs_tuned_ms: +row.tuned.ms.toFixed(2), tfjs_stock_ms: +row.stock.ms.toFixed(2),
    tfjs_featviz_ms_same_rounds: +row.fv.ms.toFixed(2) });
}
writeReport();
