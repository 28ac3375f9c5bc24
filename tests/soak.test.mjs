// A long session in one engine: 200 renders (different layers, sizes, batches,
// objectives, renders abandoned mid-run, bad options in between) must leave the
// heap where it started and the results identical to a fresh engine's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadEngine, FvError } from '../wasm/engine.js';
import { model, image } from './paths.mjs';

const LAYERS = ['MobilenetV2/expanded_conv_2/add', 'MobilenetV2/expanded_conv_5/add', 'MobilenetV2/expanded_conv_8/add',
  'MobilenetV2/expanded_conv_12/add', 'MobilenetV2/Conv/Relu6'];
const REFERENCE = { size: 48, batch: 2, seed: 5, diversity: 20, objective: { kind: 'channel', layer: LAYERS[2], channel: 3 } };

function renderPNG(fv, m, opts, steps) {
  const r = fv.render(m, opts);
  r.step(steps);
  const png = Buffer.from(r.png(-1));
  r.free();
  return png;
}

test('200 renders in one engine: no leak, same results as a fresh engine', async () => {
  const bytes = readFileSync(model('mobilenet_v2_1.0_224_quant.tflite'));
  const fv = await loadEngine();
  let m = fv.loadModel(bytes);
  // warm-up: the largest diversity layer first, so the objective's reusable scratch is at its size
  renderPNG(fv, m, { size: 64, batch: 4, diversity: 10, objective: { kind: 'channel', layer: LAYERS[3], channel: 1 } }, 1);
  const baseline = fv.heapInUse();
  const kinds = ['channel', 'neuron', 'layer', 'direction'];
  for (let i = 0; i < 200; i++) {
    const layer = LAYERS[i % LAYERS.length];
    const kind = kinds[i % kinds.length];
    const term = { kind, layer };
    if (kind === 'channel' || kind === 'neuron') term.channel = i % 16;
    if (kind === 'direction') term.direction_seed = i;
    const batch = 1 + (i % 3);
    const opts = { size: [32, 48, 64][i % 3], batch, seed: i, objective: term, param: i % 5 ? 'fft' : 'pixel',
      transforms: i % 7 ? 'standard' : 'none', diversity: batch > 1 && i % 2 ? 5 : 0 };
    const r = fv.render(m, opts);
    r.step(1 + (i % 3));            // abandoned after a few steps, as a cancel does
    if (i % 4 === 0) r.png(-1);
    if (i % 6 === 0) r.rgba(0);
    r.free();
    if (i % 10 === 0) assert.throws(() => fv.render(m, { ...opts, size: 5000 }), FvError);
    if (i % 25 === 0) { m.free(); m = fv.loadModel(bytes); }  // reload the model now and then
    if (i % 40 === 0) fv.classify(m, readFileSync(image('parrot.jpg')), 5);
  }
  assert.equal(fv.heapInUse(), baseline, `heap in use after 200 renders: ${fv.heapInUse()} vs ${baseline} at the start`);
  const afterMany = renderPNG(fv, m, REFERENCE, 12);
  const fresh = await loadEngine();
  const fm = fresh.loadModel(bytes);
  assert.ok(afterMany.equals(renderPNG(fresh, fm, REFERENCE, 12)), 'same PNG bytes as a fresh engine');
});
