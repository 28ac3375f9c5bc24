// The engine through wasm/engine.js, against the outside world: known labels
// of real photos, golden logits from an independent PyTorch reference
// (scripts/golden_reference.py), and clear errors for bad input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { loadEngine, FvError, STATUS, relaxedSimdSupported } from '../wasm/engine.js';
import { ROOT, MODELS, model, image } from './paths.mjs';

// Node 20 has relaxed SIMD behind a flag (Chromium ships it): set before any compile.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const RELAXED = relaxedSimdSupported();

const V2 = 'mobilenet_v2_1.0_224_quant.tflite';
const V1_075 = 'mobilenet_v1_0.75_192_quant.tflite';
const V1_025 = 'mobilenet_v1_0.25_128_quant.tflite';
const LABELS = readFileSync(join(MODELS, 'imagenet_labels.txt'), 'utf8').split('\n');

let fv;
const models = {};
// The builds the golden tests hold to the reference: plain SIMD, and relaxed SIMD
// (fused multiply-add, wasm/featviz-relaxed.wasm) where the runtime has it.
const builds = [{ name: 'SIMD', fv: null, models }, { name: 'relaxed SIMD', fv: null, models: {}, relaxed: true }];
before(async () => {
  fv = builds[0].fv = await loadEngine();
  if (RELAXED) builds[1].fv = await loadEngine({ relaxed: true });
  for (const b of builds) {
    if (b.fv) for (const m of [V2, V1_075, V1_025]) b.models[m] = b.fv.loadModel(readFileSync(model(m)));
  }
});

const top1 = (m, photo) => {
  const [best] = fv.classify(models[m], readFileSync(image(photo)), 1);
  return LABELS[best.index];
};

// What a float reference of these models says (DESIGN.md); owl.jpg is left out: the models disagree with "owl".
const EXPECTED = {
  'cat.bmp': /^(Egyptian cat|tabby|tiger cat)/,
  'dragonfly.bmp': /^dragonfly/,
  'grace_hopper.bmp': /^military uniform/,
  'hot_dog.jpg': /^hotdog/,
  'parrot.jpg': /^macaw/,
};

for (const m of [V2, V1_075]) {
  for (const [photo, label] of Object.entries(EXPECTED)) {
    test(`${m}: ${photo} → ${label.source.slice(2, -1)}`, () => {
      assert.match(top1(m, photo), label);
    });
  }
}

test(`${V1_025}: parrot.jpg → macaw`, () => {
  assert.match(top1(V1_025, 'parrot.jpg'), /^macaw/);
});

test('probabilities of the top-5 are sorted and sum to at most 1', () => {
  const top = fv.classify(models[V2], readFileSync(image('cat.bmp')), 5);
  assert.equal(top.length, 5);
  for (let i = 1; i < 5; i++) assert.ok(top[i - 1].prob >= top[i].prob);
  const s = top.reduce((a, t) => a + t.prob, 0);
  assert.ok(s > 0.3 && s <= 1.0001, `sum ${s}`);
});

// ---- golden logits from the independent float reference --------------------------------
const goldenDir = join(ROOT, 'tests/golden');
const goldens = existsSync(goldenDir) ? readdirSync(goldenDir).filter((f) => f.endsWith('.json')) : [];
test('golden logits exist for every store model', () => {
  assert.deepEqual(goldens.map((g) => g.replace(/\.json$/, '')).sort(), [V1_025, V1_075, V2].map((m) => m.replace(/\.tflite$/, '')).sort());
});

for (const [g, { name, relaxed }] of goldens.flatMap((g) => builds.map((b) => [g, b]))) {
  test(`logits match the float reference: ${g} (${name})`, { skip: relaxed && !RELAXED && 'no relaxed SIMD here' }, () => {
    const ref = JSON.parse(readFileSync(join(goldenDir, g), 'utf8'));
    const { fv, models } = builds.find((b) => b.name === name);
    const m = models[ref.model];
    assert.ok(m, `model ${ref.model}`);
    const layers = m.layers();
    // the logits are the input of the final SOFTMAX: the layer before it
    const logitsLayer = layers.findIndex((l) => l.op === 'SOFTMAX') - 1;
    const inf = fv.infer(m, { lastLayer: logitsLayer });
    inf.runImage(readFileSync(image(ref.photo)));
    const { data } = inf.layer(logitsLayer);
    inf.free();
    assert.equal(data.length, ref.logits.length);
    // |Δ| ≤ 2e-4: 5× the float32-vs-float64 spread of the reference itself (≤ 3.8e-5 on logits of
    // magnitude ~12), 75× below the smallest plausible bug (tests/golden/README.md).
    const TOL = 2e-4;
    let worst = 0, at = -1;
    for (let i = 0; i < data.length; i++) {
      const err = Math.abs(data[i] - ref.logits[i]);
      if (!(err <= worst)) { worst = err; at = i; }
    }
    assert.ok(worst <= TOL, `logit ${at}: engine ${data[at]} vs reference ${ref.logits[at]} (|Δ| ${worst} > ${TOL})`);
  });
}

for (const [g, { name, relaxed }] of goldens.flatMap((g) => builds.map((b) => [g, b]))) {
  test(`intermediate layers match the float reference: ${g} (${name})`, { skip: relaxed && !RELAXED && 'no relaxed SIMD here' }, () => {
    const ref = JSON.parse(readFileSync(join(goldenDir, g), 'utf8'));
    const { fv, models } = builds.find((b) => b.name === name);
    const m = models[ref.model];
    const inf = fv.infer(m);
    inf.runImage(readFileSync(image(ref.photo)));
    for (const L of ref.layers) {
      if (L.op === 'SOFTMAX') continue;
      const { shape, data } = inf.layer(L.op_index);
      const want = L.shape.length === 2 ? [L.shape[0], 1, 1, L.shape[1]] : L.shape; // [N, C] is N×1×1×C
      assert.deepEqual(shape, want, `layer ${L.op_index} shape`);
      let sum = 0;
      for (const v of data) sum += v;
      const tol = 5e-5 * Math.max(1, L.max_abs); // README: 5e-5 of the layer's scale
      assert.ok(Math.abs(sum / data.length - L.mean) <= tol, `layer ${L.op_index} (${L.op}) mean ${sum / data.length} vs ${L.mean}`);
      L.first8.forEach((v, i) => assert.ok(Math.abs(data[i] - v) <= tol, `layer ${L.op_index} (${L.op}) value ${i}: ${data[i]} vs ${v}`));
    }
    inf.free();
  });
}

// ---- errors are values, thrown as FvError with a clear message ----------------------------
test('a file that is not a model is refused with a message', () => {
  assert.throws(() => fv.loadModel(readFileSync(image('cat.bmp'))), (e) => e instanceof FvError && e.code === STATUS.BAD_MODEL && /model|TFL3|identifier/i.test(e.message));
  assert.throws(() => fv.loadModel(new Uint8Array(0)), FvError);
});

test('a truncated model is refused and the engine keeps working', () => {
  const bytes = readFileSync(model(V1_025));
  for (const n of [8, 100, 5000, bytes.length >> 2, bytes.length >> 1]) {
    assert.throws(() => fv.loadModel(bytes.subarray(0, n)), FvError, `truncated at ${n}`);
  }
  assert.match(top1(V1_025, 'parrot.jpg'), /^macaw/);
});

test('an image that is not an image is refused', () => {
  const inf = fv.infer(models[V1_025]);
  assert.throws(() => inf.runImage(Buffer.from('hello, not a photo')), (e) => e instanceof FvError && e.code === STATUS.BAD_IMAGE);
  assert.throws(() => inf.runImage(readFileSync(model(V1_025)).subarray(0, 1000)), FvError);
  inf.free();
});

test('unknown layer and channel out of range give clear errors', () => {
  const m = models[V2];
  assert.throws(() => m.layerIndex('no/such/layer'), /unknown layer "no\/such\/layer"/);
  assert.throws(() => m.layerIndex(9999), /out of range/);
  const layer = m.layerIndex('MobilenetV2/expanded_conv_8/add');
  const inf = fv.infer(m, { lastLayer: layer });
  inf.runImage(readFileSync(image('cat.bmp')));
  const c = m.layers()[layer].shape[3];
  assert.throws(() => inf.channelMean(layer, c), /channel \d+ out of range/);
  assert.ok(Number.isFinite(inf.channelMean(layer, c - 1)));
  assert.throws(() => fv.infer(m, { lastLayer: 9999 }), (e) => e.code === STATUS.UNKNOWN_LAYER);
  assert.throws(() => inf.channelMap(layer, c), /channel \d+ out of range/);
  // every channel's mean and one channel's map agree with the layer's raw activations
  const { shape, data } = inf.layer(layer);
  const means = inf.channelMeans(layer);
  assert.equal(means.length, c);
  for (const ch of [0, 7, c - 1]) {
    let s = 0;
    for (let p = 0; p < shape[1] * shape[2]; p++) s += data[p * c + ch];
    assert.ok(Math.abs(means[ch] - s / (shape[1] * shape[2])) < 1e-5, `mean of channel ${ch}`);
    assert.equal(means[ch], inf.channelMean(layer, ch));
    const map = inf.channelMap(layer, ch);
    assert.deepEqual([map.h, map.w], [shape[1], shape[2]]);
    map.data.forEach((v, p) => assert.equal(v, data[p * c + ch]));
  }
  inf.free();
});

test('sizes the graph cannot run at, or too large for memory, are refused', () => {
  const m = models[V2];
  // the whole graph needs 224×224: its final 7×7 VALID pool does not fit a 64×64 input
  assert.throws(() => fv.infer(m, { h: 64, w: 64 }), (e) => e.code === STATUS.SHAPE);
  assert.throws(() => fv.infer(m, { h: 4000, w: 4000, lastLayer: 5 }), (e) => e.code === STATUS.NO_MEMORY);
  assert.throws(() => fv.infer(m, { h: -3, w: 10, lastLayer: 5 }), FvError);
});

test('truncated execution: a middle layer at another size matches the full run on the same layer', () => {
  const m = models[V2];
  const layer = m.layerIndex('MobilenetV2/expanded_conv_8/add');
  const photo = readFileSync(image('dragonfly.bmp'));
  const full = fv.infer(m);
  full.runImage(photo);
  const part = fv.infer(m, { lastLayer: layer });
  part.runImage(photo);
  assert.deepEqual(part.layer(layer).data, full.layer(layer).data);
  full.free();
  part.free();
  const small = fv.infer(m, { h: 128, w: 128, lastLayer: layer });
  small.runImage(photo);
  assert.deepEqual(small.layer(layer).shape, [1, 8, 8, m.layers()[layer].shape[3]]);
  small.free();
});

test('SIMD and scalar kernels give the same logits on a real photo', () => {
  const m = models[V1_075];
  const run = () => {
    const inf = fv.infer(m);
    inf.runImage(readFileSync(image('grace_hopper.bmp')));
    const d = inf.layer(m.layerCount - 2).data;
    inf.free();
    return d;
  };
  assert.ok(fv.simdAvailable());
  const simd = run();
  fv.setSimd(false);
  const scalar = run();
  fv.setSimd(true);
  let worst = 0;
  for (let i = 0; i < simd.length; i++) worst = Math.max(worst, Math.abs(simd[i] - scalar[i]) / (1e-3 + 1e-4 * Math.abs(scalar[i])));
  assert.ok(worst <= 1, `worst ${worst}`);
});

test('PNG encoding round-trips through the decoder', () => {
  const w = 7, h = 5, rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37) & 255;
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  const png = fv.encodePNG(rgba, w, h, 4);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const im = fv.decodeImage(png);
  assert.equal(im.width, w);
  assert.equal(im.height, h);
  const rgb = im.rgb();
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) assert.equal(rgb[3 * p + c], rgba[4 * p + c]);
  im.free();
});

test('wasm/exports.json lists exactly the functions of src/fv.h', () => {
  const header = readFileSync(join(ROOT, 'src/fv.h'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const declared = [...header.matchAll(/\b(fv_\w+)\s*\(/g)].map((m) => '_' + m[1]);
  const exported = JSON.parse(readFileSync(join(ROOT, 'wasm/exports.json'), 'utf8'));
  assert.deepEqual([...new Set(declared)].sort(), [...exported].sort());
});

// ---- the error convention: every fallible export clears the error slot on entry --------------
test('a refused model does not haunt later calls: each error is the call\'s own', () => {
  const refuse = () => assert.throws(() => fv.loadModel(new Uint8Array([1, 2, 3])), (e) => e.code === STATUS.BAD_MODEL && /3 bytes/.test(e.message));
  const r = fv.render(models[V1_025], { size: 32, steps: 1, objective: { kind: 'layer', layer: 3 } });
  refuse();
  assert.equal(r.rgba(0).length, 32 * 32 * 4, 'rgba after a refused model');
  refuse();
  assert.throws(() => r.rgba(99), (e) => e instanceof FvError && e.code === STATUS.BAD_ARG && /image 99 out of range \(0\.\.0\)/.test(e.message));
  assert.throws(() => r.png(7), (e) => e.code === STATUS.BAD_ARG && /image 7 out of range/.test(e.message));
  r.free();
  const inf = fv.infer(models[V1_025], { lastLayer: 5 });
  assert.throws(() => inf.topk(5), (e) => e.code === STATUS.BAD_ARG && /before any photo/.test(e.message));
  assert.throws(() => inf.layer(6), (e) => e.code === STATUS.UNKNOWN_LAYER && /layer 6 was not computed \(0\.\.5\)/.test(e.message));
  inf.runImage(readFileSync(image('parrot.jpg')));
  refuse();
  assert.equal(inf.layer(5).shape.length, 4, 'a layer after a refused model');
  assert.throws(() => inf.topk(0), (e) => e.code === STATUS.BAD_ARG && /k >= 1/.test(e.message));
  assert.equal(inf.topk(3).length, 3, 'top-k after a failed top-k');
  inf.free();
  // layers by name or index: the engine's lookup and messages
  refuse();
  assert.equal(models[V2].layerIndex('7'), 7);
  assert.throws(() => models[V2].layerIndex(-1), (e) => e.code === STATUS.UNKNOWN_LAYER && /layer -1 out of range 0\.\.\d+/.test(e.message));
});
