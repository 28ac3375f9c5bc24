// bench.mjs — prints speed figures; never asserts. Run: npm run bench
//   forward pass of each store model at its native size, scalar vs SIMD kernels,
//   in one run: ms per image (median) and GFLOP/s.
import { readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../wasm/engine.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = process.env.FEATVIZ_MODELS || resolve(ROOT, '../shared/models');
const IMAGES = process.env.FEATVIZ_IMAGES || resolve(ROOT, '../shared/images');
const STORE = ['mobilenet_v2_1.0_224_quant.tflite', 'mobilenet_v1_0.75_192_quant.tflite', 'mobilenet_v1_0.25_128_quant.tflite'];

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Median ms of fn over runs after warm-up, at least minRuns and about minMs of work. */
function time(fn, { warm = 2, minRuns = 5, minMs = 1500 } = {}) {
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

const fv = await loadEngine();
const photo = fv.decodeImage(readFileSync(join(IMAGES, 'cat.bmp')));
console.log(`featviz ${fv.version()} — Node ${process.version}, one thread, WASM SIMD available: ${fv.simdAvailable()}`);
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
console.log('\nOptimization step (MobileNet v2, channel objective on MobilenetV2/expanded_conv_8/add, 128x128, full pipeline)');
console.log('workload                      scalar ms  SIMD ms  speed-up  GFLOP/step  scalar GFLOP/s  SIMD GFLOP/s');
const v2 = fv.loadModel(readFileSync(join(MODELS, STORE[0])));
const objective = { kind: 'channel', layer: 'MobilenetV2/expanded_conv_8/add', channel: 12 };
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
