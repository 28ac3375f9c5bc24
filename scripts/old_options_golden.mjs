// old_options_golden.mjs — tests/fixtures/old-options.json: render options in the form
// written before objectives were expressions (term objects, a top-level "diversity"),
// rendered by the engine of commit 6d69cfb (main before issue 13), with the sha256 of
// each PNG. tests/objective.test.mjs holds today's engine to those bytes.
//
//   git archive 6d69cfb | (mkdir -p /tmp/fv-old && tar x -C /tmp/fv-old)
//   make -C /tmp/fv-old -f emcc.mk wasm/featviz.wasm KISSFFT=$PWD/node_modules/kissfft-js/src
//   node scripts/old_options_golden.mjs /tmp/fv-old/wasm/engine.js > tests/fixtures/old-options.json
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const MODEL = 'mobilenet_v2_1.0_224_quant.tflite';
const L8 = 'MobilenetV2/expanded_conv_8/add', L5 = 'MobilenetV2/expanded_conv_5/add', L2 = 'MobilenetV2/expanded_conv_2/add';
const CASES = [
  { size: 64, steps: 24, seed: 3, objective: [{ kind: 'channel', layer: L8, channel: 12 }] },
  { size: 48, steps: 16, seed: 1, batch: 2, diversity: 50, objective: [{ kind: 'channel', layer: L8, channel: 5 },
    { kind: 'tv', weight: -0.001 }, { kind: 'l1', weight: -0.01, constant: 0.5 }] },
  { size: 48, steps: 16, seed: 2, objective: [{ kind: 'direction', layer: L5, direction_seed: 5, cossim_pow: 1 }] },
  { size: 48, steps: 12, seed: 4, batch: 3, objective: [{ kind: 'neuron', layer: L5, channel: 3, x: 2, y: 4 },
    { kind: 'interp', layer: L8, channel: 1, channel2: 7, weight: 0.5 }, { kind: 'alignment', layer: L8, weight: -1 },
    { kind: 'blur', weight: -0.5 }], diversity: 3, diversity_layer: L5 },
  { size: 32, steps: 6, seed: 9, objective: { kind: 'class', class: 89, weight: 1 } },
  { size: 40, steps: 10, seed: 5, param: 'pixel', decorrelate: false, transforms: 'none', objective: [
    { kind: 'layer', layer: L2, weight: -1 },
    { kind: 'direction', layer: L2, direction: Array.from({ length: 24 }, (_, i) => [1, 0, 0, -0.5, 0, 0, 0, 0.25][i] ?? 0), cossim_pow: 2.5 }] },
];

const { loadEngine } = await import(process.argv[2]);
const fv = await loadEngine();
const store = process.env.FEATVIZ_MODELS ?? join(import.meta.dirname, '..', '..', 'shared', 'models');
const m = fv.loadModel(readFileSync(join(store, MODEL)));
const cases = CASES.map((options) => {
  const r = fv.render(m, options);
  r.step(r.stepsPlanned);
  const out = { options, png_sha256: createHash('sha256').update(r.png(-1)).digest('hex'), objective: r.objective };
  r.free();
  return out;
});
console.log(JSON.stringify({ model: MODEL, engine: '6d69cfb', cases }, null, 1));
