// cppn.mjs — ms per step of a CPPN render (--param cppn, src/cppn.c) at 128×128, on 1 and 2
// threads, MobileNet v2 and GoogLeNet, and how much of it is the parameterization (the CPPN
// forward and backward: the profile's "param" stages, src/profile.h). Prints; never asserts.
//   node bench/cppn.mjs [--steps N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadEngine } from '../wasm/engine.js';
import { median } from './timing.mjs';
import { model } from '../tests/paths.mjs';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '20' } } });
const STEPS = Number(values.steps);
const MODELS = [
  { name: 'MobileNet v2', file: 'mobilenet_v2_1.0_224_quant.tflite', objective: { kind: 'channel', layer: 'MobilenetV2/expanded_conv_8/add', channel: 12 } },
  { name: 'GoogLeNet', file: 'googlenet_bvlc_int8.onnx', objective: { kind: 'channel', layer: 'inception_4c/output', channel: 97 } },
];

console.log(`CPPN render, 128×128, batch 1: median ms per step over ${STEPS} steps (after 2 warm-up steps); ` +
  'param: the CPPN forward + backward (profile stages) in one profiled step');
console.log('model          threads  ms/step  param fwd ms  param bwd ms');
for (const threads of [1, 2]) {
  const e = await loadEngine(threads > 1 ? { threads } : {});
  for (const m of MODELS) {
    const fm = e.loadModel(readFileSync(model(m.file)));
    const r = e.render(fm, { size: 128, param: 'cppn', objective: m.objective });
    r.step(2);
    const ts = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      r.step(1);
      ts.push(performance.now() - t0);
    }
    e.profileEnable('stages');
    e.profileReset();
    r.step(1);
    const slots = e.profile();
    e.profileEnable(false);
    const stage = (bw) => slots.filter((s) => s.stage && s.name === 'param' && s.backward === bw).reduce((a, s) => a + s.ms, 0);
    console.log(`${m.name.padEnd(14)} ${String(e.threads).padStart(7)}  ${median(ts).toFixed(1).padStart(7)}  ` +
      `${stage(false).toFixed(1).padStart(12)}  ${stage(true).toFixed(1).padStart(12)}`);
    r.free();
    fm.free();
  }
  e.close?.();
}
