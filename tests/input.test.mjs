// The model's input (wasm/options.js presets, wasm/input.js's choice) against the
// outside world: each preset's values against a hand computation, read from inside
// the engine (GoogLeNet's first op subtracts its mean from exactly the values the
// preset makes); detection on real photos picks the right preset for GoogLeNet and
// the MobileNets with what their files say hidden from it, and for a torchvision
// export (random weights: nothing to detect) keeps the ONNX convention and says it
// is a guess; the order of sources; the manifest's record.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadEngine } from '../wasm/engine.js';
import { INPUT_NAMES, InputError, inputFor, presetOf, manifestInput, readFlags, readQuery, writeQuery } from '../wasm/options.js';
import { chooseInput, applyManifestInput } from '../wasm/input.js';
import { ROOT, IMAGES, model } from './paths.mjs';

const PHOTOS = readdirSync(IMAGES).filter((f) => /\.(jpe?g|bmp|png)$/i.test(f)).sort().map((f) => readFileSync(join(IMAGES, f)));
let fv;
before(async () => { fv = await loadEngine(); });

// ---- each preset, by hand ---------------------------------------------------------------------
// A photo of one colour (R, G, B) = (200, 100, 50): what network channels 0, 1, 2 hold.
const R = 200, G = 100, B = 50;
const HAND = {
  imagenet: [(R / 255 - 0.485) / 0.229, (G / 255 - 0.456) / 0.224, (B / 255 - 0.406) / 0.225],
  'imagenet --bgr': [(B / 255 - 0.406) / 0.225, (G / 255 - 0.456) / 0.224, (R / 255 - 0.485) / 0.229],
  caffe: [B - 104, G - 117, R - 123],
  'caffe --bgr': [R - 123, G - 117, B - 104],
  '0:1': [R / 255, G / 255, B / 255],
  '0:1 --bgr': [B / 255, G / 255, R / 255],
  '-1:1': [R / 127.5 - 1, G / 127.5 - 1, B / 127.5 - 1],
  '-1:1 --bgr': [B / 127.5 - 1, G / 127.5 - 1, R / 127.5 - 1],
  '0:255': [R, G, B],
  '0:255 --bgr': [B, G, R],
};

test('each preset gives the hand-computed network input (read inside the engine, after GoogLeNet\'s mean subtraction)', () => {
  const m = fv.loadModel(readFileSync(model('googlenet_bvlc_int8.onnx')));
  const rgb = new Uint8Array(16 * 16 * 4);
  for (let p = 0; p < 256; p++) rgb.set([R, G, B, 255], 4 * p);
  const im = fv.imageFromRGBA(rgb, 16, 16);
  try {
    const sub = m.op(0); // data_minus_mean: data − the file's mean (BGR)
    assert.equal(sub.kind, 'SUB');
    const mean = Array.from(sub.inputs[1].data);
    assert.equal(mean.length, 3);
    for (const preset of INPUT_NAMES) {
      for (const bgr of [false, true]) {
        const label = `${preset}${bgr ? ' --bgr' : ''}`;
        m.setInput(inputFor(preset, bgr));
        const inf = fv.infer(m, { lastLayer: 0 });
        inf.run(im);
        const { data } = inf.layer(0);
        inf.free();
        for (let k = 0; k < 3; k++) {
          const want = HAND[label][k] - mean[k], got = data[(100 * 224 + 37) * 3 + k]; // any pixel: the photo is one colour
          assert.ok(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${label} channel ${k}: ${got}, by hand ${want}`);
        }
        assert.deepEqual(presetOf(m.input), { preset, bgr }, `${label}: the description names its preset`);
      }
    }
  } finally {
    im.free();
    m.free();
  }
});

test('an unknown preset is refused with the list; --bgr needs a preset; URL and flags carry the preset', () => {
  assert.throws(() => inputFor('vgg'), (e) => e instanceof InputError && /unknown input preset "vgg".*auto, imagenet, caffe, 0:1, -1:1, 0:255/.test(e.message));
  assert.throws(() => readFlags({ layer: 'x', channel: '1', input: 'vgg' }), /--input must be one of auto, imagenet, caffe, 0:1, -1:1, 0:255, got "vgg"/);
  assert.throws(() => readFlags({ layer: 'x', channel: '1', bgr: true }), /--bgr .*--input PRESET/);
  const s = readFlags({ layer: 'x', channel: '1', input: 'caffe', bgr: true });
  assert.deepEqual([s.input, s.bgr], ['caffe', true]);
  const q = writeQuery({ ...s, model: 'googlenet' });
  assert.match(q, /input=caffe/);
  assert.deepEqual([readQuery(q).input, readQuery(q).bgr], ['caffe', true]);
  assert.equal(readQuery('input=vgg').input, 'auto', 'a link is not a place for errors: the default stays');
});

// ---- detection on real photos, what the file says hidden -------------------------------------------
const hidden = (m) => ({ ...m.input, source: '' });

test('detection: GoogLeNet (its image metadata hidden) → 0:255 --bgr, said to be a guess', () => {
  const m = fv.loadModel(readFileSync(model('googlenet_bvlc_int8.onnx')));
  try {
    const c = chooseInput(fv, m, { photos: PHOTOS, file: hidden(m) });
    assert.equal(c.label, '0:255 --bgr', c.note);
    assert.equal(c.source, 'detected');
    assert.equal(c.guess, true);
    assert.match(c.note, /^input 0:255 --bgr: a guess, \d+% sure/);
    assert.deepEqual({ bgr: m.input.bgr, scale: m.input.scale, offset: m.input.offset, source: m.input.source },
      { bgr: true, scale: [1, 1, 1], offset: [0, 0, 0], source: 'detected' }, 'the model now runs with it');
    // the ranges a decade off make it give (nearly) every photo one class: not credible
    for (const r of c.ranking.filter((x) => /^(0:1|-1:1|imagenet)/.test(x.label))) assert.ok(r.distinct < 0.75, `${r.label} ${r.distinct}`);
  } finally {
    m.free();
  }
});

for (const file of ['mobilenet_v2_1.0_224_quant.tflite', 'mobilenet_v1_0.75_192_quant.tflite', 'mobilenet_v3_small_1.0_224_uint8.tflite',
  'tf2_mobilenet_v2_1.0_224_ptq.tflite']) {
  test(`detection: ${file} (its input quantization hidden) → -1:1`, () => {
    const m = fv.loadModel(readFileSync(model(file)));
    try {
      const c = chooseInput(fv, m, { photos: PHOTOS, file: hidden(m) });
      assert.equal(c.label, '-1:1', c.note);
      assert.equal(c.guess, true);
      // the saturating ranges look confident and are not credible
      const wide = c.ranking.filter((x) => /^(0:255|caffe)/.test(x.label));
      assert.ok(wide.every((x) => x.agree < 0.5 || x.distinct < 0.75), JSON.stringify(wide.map(({ label, distinct, agree }) => ({ label, distinct, agree }))));
    } finally {
      m.free();
    }
  });
}

test('detection: a torchvision export with random weights tells no photos apart: ONNX\'s convention (imagenet), 0% sure', { skip: process.env.FEATVIZ_TORCH_TESTS === '0' && 'FEATVIZ_TORCH_TESTS=0' }, () => {
  const out = join(ROOT, 'build/torchvision');
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'scripts/torchvision_models.py'), 'export', out], { encoding: 'utf8', timeout: 900_000 });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  for (const arch of ['resnet18', 'mobilenet_v3_small']) {
    const m = fv.loadModel(readFileSync(join(out, `${arch}.onnx`)));
    try {
      assert.equal(m.input.source, '', 'a torch export says nothing about its input');
      const c = chooseInput(fv, m, { photos: PHOTOS });
      assert.deepEqual([c.label, c.source, c.guess, c.sure], ['imagenet', 'default', true, 0], `${arch}: ${c.note}`);
      assert.match(c.note, /a guess, 0% sure .*no preset makes the model tell the photos apart/);
      assert.ok(c.ranking.every((x) => x.distinct < 0.75 || x.agree < 0.5), `${arch}: no candidate credible`);
    } finally {
      m.free();
    }
  }
});

// ---- the order of sources; the manifest's record ---------------------------------------------------------------
test('order: your preset, then the file, then the catalog, then detection; a manifest\'s input is set as recorded', () => {
  const m = fv.loadModel(readFileSync(model('googlenet_bvlc_int8.onnx')));
  try {
    const file = m.input;
    const yours = chooseInput(fv, m, { input: 'caffe', catalog: { preset: 'imagenet' }, photos: PHOTOS, file });
    assert.deepEqual([yours.label, yours.source, yours.guess], ['caffe', 'you', false]);
    const own = chooseInput(fv, m, { catalog: { preset: 'imagenet' }, photos: PHOTOS, file });
    assert.deepEqual([own.label, own.source, own.guess], ['0:255 --bgr', 'onnx metadata', false]);
    assert.equal(own.ranking, undefined, 'no detection ran');
    const cat = chooseInput(fv, m, { catalog: { preset: 'caffe', bgr: false }, photos: PHOTOS, file: hidden(m) });
    assert.deepEqual([cat.label, cat.source, cat.guess], ['caffe', 'catalog', false]);
    const none = chooseInput(fv, m, { photos: [], file: hidden(m) });
    assert.deepEqual([none.source, none.guess], ['default', true]);
    assert.match(none.note, /no photos to test presets on/);

    const rec = manifestInput(yours);
    assert.deepEqual({ preset: rec.preset, bgr: rec.bgr, order: rec.order, source: rec.source }, { preset: 'caffe', bgr: false, order: 'BGR', source: 'you' });
    const m2 = fv.loadModel(readFileSync(model('googlenet_bvlc_int8.onnx')));
    applyManifestInput(m2, JSON.parse(JSON.stringify(rec)));
    const a = m2.input, want = inputFor('caffe');
    assert.deepEqual([a.bgr, a.scale, a.offset, a.source], [true, want.scale, want.offset, 'you']);
    m2.free();
  } finally {
    m.free();
  }
});
