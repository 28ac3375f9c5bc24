// GoogLeNet (the store's two ONNX files) and the newer TFLite MobileNets through
// wasm/engine.js, against the outside world: the known labels of the store's
// photos, and onnxruntime-node (an independent runtime, npm devDependency) on
// the same file and the same pixels — the logits and inner layers, value for
// value. Also what the files say about themselves: the input description
// (image metadata, input quantization) and the labels they carry.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadEngine } from '../wasm/engine.js';
import { ROOT, MODELS, model, image } from './paths.mjs';
import { withOutputs } from './onnx-bytes.mjs';

const LABELS = readFileSync(join(MODELS, 'imagenet_labels.txt'), 'utf8').split('\n'); // background first
const GOOGLENETS = ['googlenet_bvlc.onnx', 'googlenet_bvlc_int8.onnx'];
// What a float reference says (DESIGN.md); class names as the labels file spells them
const EXPECTED = {
  'cat.bmp': /^(Egyptian cat|tabby|tiger cat)/,
  'dragonfly.bmp': /^dragonfly/,
  'grace_hopper.bmp': /^military uniform/,
  'hot_dog.jpg': /^hotdog/,
  'parrot.jpg': /^macaw/,
};
const INNER = ['conv2/3x3', 'inception_3a/output', 'inception_4c/output', 'loss3/classifier', 'prob'];

let fv;
before(async () => { fv = await loadEngine(); });

// class name of a top-1 index: 1000-way (no background) or 1001-way outputs
const nameOf = (index, classes) => LABELS[classes === 1000 ? index + 1 : index];

for (const file of GOOGLENETS) {
  test(`${file}: BGR 0..255 from its image metadata; top-1 on the store photos`, () => {
    const m = fv.loadModel(readFileSync(model(file)));
    try {
      const inp = m.input;
      assert.deepEqual({ bgr: inp.bgr, scale: inp.scale, offset: inp.offset, source: inp.source, shape: inp.shape },
        { bgr: true, scale: [1, 1, 1], offset: [0, 0, 0], source: 'onnx metadata', shape: [1, 224, 224, 3] });
      assert.equal(m.labels, null, 'its metadata describes the labels, it does not list them');
      const layers = m.layers();
      assert.equal(layers.length, 143);
      assert.deepEqual(layers.find((l) => l.name === 'inception_4c/output'), { index: 81, name: 'inception_4c/output', op: 'Concat', shape: [1, 14, 14, 512] });
      for (const [photo, want] of Object.entries(EXPECTED)) {
        const [best] = fv.classify(m, readFileSync(image(photo)), 1);
        assert.match(nameOf(best.index, 1000), want, `${photo}: ${nameOf(best.index, 1000)} (${best.prob.toFixed(3)})`);
      }
    } finally {
      m.free();
    }
  });
}

// ---- onnxruntime on the same file, with inner tensors made graph outputs ------------------

for (const file of GOOGLENETS) {
  test(`${file}: logits and inner layers equal onnxruntime's on the same pixels`, async () => {
    const bytes = readFileSync(model(file));
    const session = await ort.InferenceSession.create(withOutputs(bytes, INNER.filter((n) => n !== 'prob')));
    const m = fv.loadModel(bytes);
    try {
      for (const photo of ['cat.bmp', 'parrot.jpg']) {
        // the pixels featviz runs on: decoded and resized by the engine, then fed to both
        const img = fv.decodeImage(readFileSync(image(photo))), small = img.resize(224, 224);
        const rgb = small.rgb();
        const x = new Float32Array(3 * 224 * 224); // NCHW, BGR, 0..255 (the metadata's description)
        for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) x[c * 224 * 224 + p] = rgb[3 * p + (2 - c)];
        const ref = await session.run({ data: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
        const inf = fv.infer(m);
        inf.run(small);
        img.free();
        small.free();
        for (const name of INNER) {
          const { shape, data } = inf.layer(m.layerIndex(name)); // NHWC
          const r = ref[name], [n, C, H, W] = r.dims.length === 4 ? r.dims : [r.dims[0], r.dims[1], 1, 1];
          assert.deepEqual(shape, [n, H, W, C], `${name} shape`);
          let worst = 0, scale = 0;
          for (let c = 0; c < C; c++)
            for (let p = 0; p < H * W; p++) {
              const want = r.data[c * H * W + p];
              scale = Math.max(scale, Math.abs(want));
              worst = Math.max(worst, Math.abs(data[p * C + c] - want));
            }
          // float32 sums in another order: a few ulps of the layer's largest value per accumulation
          assert.ok(worst <= 2e-5 * scale, `${file} ${photo} ${name}: max |featviz − onnxruntime| ${worst} of max ${scale}`);
        }
        inf.free();
      }
    } finally {
      m.free();
    }
  });
}

test('featviz activations --json: GoogLeNet\'s layers in NCHW, as onnxruntime gives them for the same pixels', async () => {
  const file = model('googlenet_bvlc_int8.onnx'), layers = ['conv2/3x3', 'inception_4c/output', 'loss3/classifier'];
  const session = await ort.InferenceSession.create(withOutputs(readFileSync(file), layers));
  // the same pixels for both: the photo at 224², written as a PNG the CLI reads back unchanged
  const img = fv.decodeImage(readFileSync(image('dragonfly.bmp'))), small = img.resize(224, 224), rgb = small.rgb();
  img.free();
  small.free();
  const photo = join(mkdtempSync(join(tmpdir(), 'fv-activations-')), 'dragonfly-224.png');
  writeFileSync(photo, fv.encodePNG(rgb, 224, 224, 3));
  const x = new Float32Array(3 * 224 * 224); // NCHW, BGR, 0..255
  for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) x[c * 224 * 224 + p] = rgb[3 * p + (2 - c)];
  const ref = await session.run({ data: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
  for (const layer of layers) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/featviz.mjs'), 'activations', file, photo, '--layer', layer, '--json'],
      { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, FEATVIZ_MODELS: MODELS } });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout), want = ref[layer];
    assert.equal(out.layer, layer);
    assert.equal(out.layout, 'NCHW');
    assert.deepEqual(out.shape, want.dims.length === 4 ? want.dims : [...want.dims, 1, 1], `${layer} shape`);
    assert.equal(out.values.length, want.data.length);
    let worst = 0, scale = 0;
    for (let i = 0; i < want.data.length; i++) {
      scale = Math.max(scale, Math.abs(want.data[i]));
      worst = Math.max(worst, Math.abs(out.values[i] - want.data[i]));
    }
    assert.ok(worst <= 2e-5 * scale, `${layer}: max |featviz activations − onnxruntime| ${worst} of max ${scale}`);
  }
});

test('googlenet_bvlc_int8.onnx renders at another size: a channel of inception_4c/output climbs', () => {
  const m = fv.loadModel(readFileSync(model('googlenet_bvlc_int8.onnx')));
  const r = fv.render(m, { size: 128, steps: 12, seed: 3, objective: { kind: 'channel', layer: 'inception_4c/output', channel: 7 } });
  try {
    r.step(2);
    const early = r.objective;
    r.step(10);
    assert.ok(r.objective > early * 1.5 && r.objective > 0, `objective ${early} → ${r.objective}`);
  } finally {
    r.free();
    m.free();
  }
});

// ---- the newer TFLite files ------------------------------------------------------------------
for (const [file, labelsInFile] of [['mobilenet_v3_small_1.0_224_uint8.tflite', false], ['tf2_mobilenet_v2_1.0_224_ptq.tflite', true]]) {
  test(`${file}: input quantization, ${labelsInFile ? 'its own labels, ' : ''}top-1 on the store photos`, () => {
    const m = fv.loadModel(readFileSync(model(file)));
    try {
      const inp = m.input;
      assert.equal(inp.source, 'input quantization');
      assert.equal(inp.bgr, false);
      assert.ok(inp.min > -1.01 && inp.min < -0.99 && inp.max > 0.99 && inp.max < 1.01, `range ${inp.min}..${inp.max}`);
      const labels = m.labels ?? LABELS;
      if (labelsInFile) assert.deepEqual(m.labels, LABELS.slice(0, 1001));
      for (const [photo, want] of Object.entries(EXPECTED)) {
        const [best] = fv.classify(m, readFileSync(image(photo)), 1);
        assert.match(labels[best.index], want, `${photo}: ${labels[best.index]} (${best.prob.toFixed(3)})`);
      }
    } finally {
      m.free();
    }
  });
}

test('labels the uint8 MobileNets carry (TFLite metadata and the appended zip): ImageNet\'s 1001', () => {
  for (const file of ['mobilenet_v2_1.0_224_quant.tflite', 'mobilenet_v1_0.25_128_quant.tflite']) {
    const m = fv.loadModel(readFileSync(model(file)));
    assert.deepEqual(m.labels, LABELS.slice(0, 1001), file);
    m.free();
  }
});

test('the input description, against a hand computation: each network channel is p·scale + offset of the photo channel it names', () => {
  const m = fv.loadModel(readFileSync(model('googlenet_bvlc_int8.onnx')));
  const img = fv.decodeImage(readFileSync(image('parrot.jpg'))), small = img.resize(224, 224);
  const rgb = small.rgb();
  const mean = m.op(0).inputs[1].data; // data_minus_mean = x − mean, mean on the NHWC channel axis
  try {
    for (const d of [null, { bgr: false, scale: [0.5, 1, 2], offset: [1, 2, 3], source: 'a test' },
      { bgr: true, scale: [1 / 255, 1 / 255, 1 / 255], offset: [-0.25, 0, 0.25], source: 'another' }]) {
      if (d) m.setInput(d);
      const { bgr, scale, offset, source } = m.input;
      if (d) assert.deepEqual({ bgr, source }, { bgr: d.bgr, source: d.source });
      const inf = fv.infer(m, { lastLayer: 0 });
      inf.run(small);
      const { data } = inf.layer(0);
      inf.free();
      let worst = 0;
      for (const p of [0, 1, 224 * 100 + 37, 224 * 224 - 1])
        for (let k = 0; k < 3; k++) {
          const want = rgb[3 * p + (bgr ? 2 - k : k)] * scale[k] + offset[k] - mean[k];
          worst = Math.max(worst, Math.abs(data[3 * p + k] - want));
        }
      assert.ok(worst < 1e-4, `${source}: ${worst}`);
    }
    assert.throws(() => m.setInput({ scale: [0, 1, 1], offset: [0, 0, 0] }), /scale/);
    assert.equal(m.input.source, 'another', 'a refused description leaves the old one');
  } finally {
    img.free();
    small.free();
    m.free();
  }
});
