// The engine's public view of the network it runs (src/model_info.c through
// Model.op() of wasm/engine.js), which the benchmark's tfjs peer is built from.
// Checked against independent facts: MobileNet v2's published architecture,
// and convolutions recomputed here in plain JS from the view's weights, bias
// and options, against the engine's own layer outputs on an image we feed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadEngine, FvError } from '../wasm/engine.js';
import { model as modelPath } from './paths.mjs';

let fv, m, inf, x, rgba;
before(async () => {
  fv = await loadEngine();
  m = fv.loadModel(readFileSync(modelPath('mobilenet_v2_1.0_224_quant.tflite')));
  // A seeded pattern at the native size: the engine's resize is then the identity, so its
  // input is min + (max − min)/255 · pixel, which we compute here too.
  const [, h, w] = m.input.shape;
  rgba = new Uint8Array(h * w * 4);
  let s = 12345;
  for (let i = 0; i < rgba.length; i++) rgba[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  const im = fv.imageFromRGBA(rgba, w, h);
  inf = fv.infer(m);
  inf.run(im);
  im.free();
  const { min, max } = m.input, step = Math.fround((max - min) / 255);
  x = { shape: [1, h, w, 3], data: new Float32Array(h * w * 3) };
  for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) x.data[3 * p + c] = min + step * rgba[4 * p + c];
});

after(() => {
  inf.free();
  m.free();
});

/** TF's SAME padding before the first row (column): half the total, rounded down. */
const padBefore = (n, k, s, padding) => (padding === 'same' ? Math.floor(Math.max((Math.ceil(n / s) - 1) * s + k - n, 0) / 2) : 0);
const activate = (v, act) => (act === 'relu6' ? Math.min(Math.max(v, 0), 6) : act === 'relu' ? Math.max(v, 0) : v);

/**
 * Output (oy, ox, every channel) of op `op` on activation x (NHWC, batch 1), from the op's
 * own weights [OC,KH,KW,IC] (full) or [1,KH,KW,C] (depthwise, multiplier 1), bias and options.
 */
function convAt(op, x, oy, ox) {
  const [wt, bt] = [op.inputs[1], op.inputs[2]], o = op.options;
  const depthwise = op.kind === 'DEPTHWISE_CONV_2D';
  const [, kh, kw] = wt.shape, oc = depthwise ? wt.shape[3] : wt.shape[0], ic = x.shape[3];
  const [, h, w] = x.shape;
  const py = padBefore(h, kh, o.strideH, o.padding), px = padBefore(w, kw, o.strideW, o.padding);
  const out = new Float64Array(oc);
  for (let c = 0; c < oc; c++) {
    let acc = bt.data[c];
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * o.strideH + ky * o.dilationH - py;
      if (iy < 0 || iy >= h) continue;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * o.strideW + kx * o.dilationW - px;
        if (ix < 0 || ix >= w) continue;
        const at = (iy * w + ix) * ic;
        if (depthwise) acc += wt.data[(ky * kw + kx) * oc + c] * x.data[at + c];
        else for (let i = 0; i < ic; i++) acc += wt.data[((c * kh + ky) * kw + kx) * ic + i] * x.data[at + i];
      }
    }
    out[c] = activate(acc, o.act);
  }
  return out;
}

/** The engine's layer `layer` against convAt at the corners, edges and a few inside positions. */
function checkConv(layer, input) {
  const op = m.op(layer), y = inf.layer(layer), [, oh, ow, oc] = y.shape;
  let worst = 0, big = 0;
  const at = [[0, 0], [0, ow - 1], [oh - 1, 0], [oh - 1, ow - 1], [oh >> 1, ow >> 1], [1, ow >> 2], [oh - 2, 3], [oh >> 2, ow - 1]];
  for (const [oy, ox] of at) {
    const ref = convAt(op, input, oy, ox);
    for (let c = 0; c < oc; c++) {
      worst = Math.max(worst, Math.abs(ref[c] - y.data[(oy * ow + ox) * oc + c]));
      big = Math.max(big, Math.abs(ref[c]));
    }
  }
  assert.ok(big > 0.1, `layer ${layer}: the checked outputs are not all near zero (${big})`);
  assert.ok(worst <= 1e-4 * Math.max(1, big), `layer ${layer} (${op.kind}): worst |diff| ${worst}, largest ${big}`);
}

/** The layer whose output is tensor t, as { shape, data }; the image input for the input tensor. */
function activation(t) {
  if (t === m.inputTensor) return x;
  const j = m.layers().findIndex((_, i) => m.op(i).output === t);
  assert.ok(j >= 0, `tensor ${t} is written by some op`);
  return inf.layer(j);
}

test('MobileNet v2 through the view: its published architecture', () => {
  const ops = Array.from({ length: m.layerCount }, (_, i) => m.op(i));
  const c0 = ops[0];
  assert.equal(c0.kind, 'CONV_2D');
  assert.equal(c0.inputs[0].tensor, m.inputTensor);
  assert.equal(c0.inputs[0].data, null, 'the image is not a constant');
  assert.deepEqual(c0.inputs[1].shape, [32, 3, 3, 3]); // 32 filters 3×3 over RGB
  assert.equal(c0.inputs[1].data.length, 32 * 27);
  assert.deepEqual(c0.inputs[2].shape, [32]);
  assert.deepEqual([c0.options.strideH, c0.options.strideW, c0.options.padding, c0.options.act], [2, 2, 'same', 'relu6']);
  const count = (k) => ops.filter((o) => o.kind === k).length;
  // 17 bottlenecks: 16 with an expansion 1×1 conv, all with a depthwise 3×3 and a projection 1×1;
  // plus the stem conv, the 1×1 to 1280 and the 1×1 classifier; 10 residual ADDs
  assert.deepEqual([count('CONV_2D'), count('DEPTHWISE_CONV_2D'), count('ADD')], [36, 17, 10]);
  const dw = ops.filter((o) => o.kind === 'DEPTHWISE_CONV_2D');
  assert.ok(dw.every((o) => o.options.depthMultiplier === 1 && o.inputs[1].shape[1] === 3 && o.options.act === 'relu6'));
  // stride 2 in the first depthwise of the stages of 24, 32, 64 and 160 channels
  assert.equal(dw.filter((o) => o.options.strideH === 2).length, 4);
  const pool = ops.find((o) => o.kind === 'AVERAGE_POOL_2D');
  assert.deepEqual([pool.options.filterH, pool.options.filterW, pool.options.padding], [7, 7, 'valid']);
  assert.equal(ops.at(-1).kind, 'SOFTMAX');
  assert.equal(ops.at(-1).options.beta, 1);
  // linear bottlenecks: the 17 projection 1×1 convs and the classifier have no activation, nor do the residual ADDs
  assert.equal(ops.filter((o) => o.kind === 'CONV_2D' && o.options.act === 'linear').length, 18);
  assert.ok(ops.filter((o) => o.kind === 'ADD').every((o) => o.options.act === 'linear'));
});

test('the stem CONV_2D (3×3, stride 2, SAME) recomputed from the view matches the engine', () => {
  assert.equal(m.op(0).inputs[0].tensor, m.inputTensor);
  checkConv(0, x);
});

test('depthwise convs (stride 1 and 2) recomputed from the view match the engine', () => {
  const dw = m.layers().map((_, i) => i).filter((i) => m.op(i).kind === 'DEPTHWISE_CONV_2D');
  const s1 = dw.find((i) => m.op(i).options.strideH === 1), s2 = dw.find((i) => m.op(i).options.strideH === 2);
  for (const i of [s1, s2]) checkConv(i, activation(m.op(i).inputs[0].tensor));
});

test('a 1×1 projection CONV_2D (linear) recomputed from the view matches the engine', () => {
  const i = m.layers().findIndex((l, j) => l.op === 'CONV_2D' && m.op(j).inputs[1].shape[1] === 1 && m.op(j).options.act === 'linear');
  checkConv(i, activation(m.op(i).inputs[0].tensor));
});

test('indices out of range give the error value (C) or an FvError (JS), and the engine goes on', () => {
  const { x: c } = fv, p = m.ptr, n = m.layerCount, nt = c.fv_model_tensor_count(p);
  assert.ok(nt > n);
  for (const i of [-1, n, 1 << 30]) {
    assert.equal(c.fv_model_op_output(p, i), -1);
    assert.equal(c.fv_model_op_input_count(p, i), -1);
    assert.equal(c.fv_model_op_input(p, i, 0), -1);
    assert.equal(c.fv_model_op_option(p, i, 0), -1);
  }
  assert.equal(c.fv_model_op_input(p, 0, 3), -1); // CONV_2D has inputs 0..2
  assert.equal(c.fv_model_op_input(p, 0, -1), -1);
  assert.equal(c.fv_model_op_option(p, 0, 28), -1); // FV_OPT_COUNT
  assert.notEqual(c.fv_model_op_option(p, 0, 27), -1); // the last option Model.op() reads (FV_OPT_ACT_B)
  assert.equal(c.fv_model_op_option(p, 0, -1), -1);
  for (const t of [-1, nt, 1 << 30]) {
    assert.equal(c.fv_model_tensor_rank(p, t), -1);
    assert.equal(c.fv_model_tensor_dim(p, t, 0), -1);
    assert.equal(c.fv_model_tensor_data(p, t), 0);
  }
  const w = m.op(0).inputs[1].tensor;
  assert.equal(c.fv_model_tensor_dim(p, w, 4), -1);
  assert.equal(c.fv_model_tensor_dim(p, w, -1), -1);
  assert.equal(c.fv_model_tensor_data(p, m.inputTensor), 0, 'an activation has no data');
  assert.equal(c.fv_model_input_tensor(0), -1);
  assert.equal(c.fv_model_op_input_count(0, 0), -1);
  assert.equal(c.fv_model_tensor_data(0, 0), 0);
  for (const i of [-1, n, 2.5]) assert.throws(() => m.op(i), FvError);
  assert.throws(() => m.tensor(nt), FvError);
  assert.deepEqual(m.tensor(-1), { tensor: -1, shape: [], data: null });
  assert.equal(m.op(n - 1).kind, 'SOFTMAX');
  // the engine goes on: the same first layer again
  const again = fv.infer(m, { lastLayer: 0 }), im = fv.imageFromRGBA(rgba, m.input.shape[2], m.input.shape[1]);
  again.run(im);
  assert.deepEqual(again.layer(0).data, inf.layer(0).data);
  again.free();
  im.free();
});

// GoogLeNet (ONNX from Caffe): the options an ONNX graph brings — explicit pads, ceil-mode pools,
// LRN, concat axis — checked against BVLC GoogLeNet's published prototxt, and a ceil-mode max
// pool and an LRN recomputed here from the view's options against the engine's own outputs.
test('GoogLeNet through the view: explicit pads, ceil-mode pools, LRN and concat options', () => {
  const g = fv.loadModel(readFileSync(modelPath('googlenet_bvlc.onnx')));
  const ops = Array.from({ length: g.layerCount }, (_, i) => g.op(i)), names = g.layers().map((l) => l.name);
  const at = (name) => ops[names.indexOf(name)].options;
  const pads = (o) => [o.padTop, o.padLeft, o.padBottom, o.padRight];
  const c1 = at('conv1/7x7_s2_pre_relu');
  assert.deepEqual([c1.padding, ...pads(c1), c1.strideH, c1.groups], ['explicit', 3, 3, 3, 3, 2, 1]); // kernel 7, stride 2, pad 3
  assert.deepEqual(pads(at('inception_3a/3x3_pre_relu')), [1, 1, 1, 1]);
  assert.deepEqual(pads(at('inception_3a/5x5_pre_relu')), [2, 2, 2, 2]);
  assert.equal(at('inception_3a/1x1_pre_relu').padding, 'valid');
  // Caffe's pools round up: 3×3 stride 2 without pads in ceil mode; the inception pools 3×3 stride 1 pad 1
  const p1 = at('pool1/3x3_s2');
  assert.deepEqual([p1.filterH, p1.strideH, p1.padding, ...pads(p1), p1.ceilMode, p1.global], [3, 2, 'explicit', 0, 0, 0, 0, 1, 0]);
  assert.deepEqual([...pads(at('inception_3a/pool')), at('inception_3a/pool').strideH], [1, 1, 1, 1, 1]);
  assert.equal(at('pool5/7x7_s1').global, 1);
  assert.equal(ops.filter((o) => o.kind === 'MAX_POOL_2D' && o.options.ceilMode === 1).length, 13);
  // LRN local_size 5, alpha 1e-4 (ONNX: over the window, so 2e-5 per element), beta 0.75, k 1
  const lrn = ops.filter((o) => o.kind === 'LOCAL_RESPONSE_NORMALIZATION');
  assert.equal(lrn.length, 2);
  for (const { options: o } of lrn) {
    assert.deepEqual([o.lrnLo, o.lrnHi, o.lrnBeta, o.lrnBias], [2, 2, 0.75, 1]);
    assert.equal(o.lrnAlpha, Math.fround(1e-4 / 5));
  }
  // nine inception modules, each the concat of four branches along channels (NHWC axis 3)
  const cat = ops.filter((o) => o.kind === 'CONCATENATION');
  assert.equal(cat.length, 9);
  assert.ok(cat.every((o) => o.options.axis === 3 && o.inputs.length === 4));
  assert.ok(ops.filter((o) => o.kind === 'CONV_2D').every((o) => o.options.groups === 1));

  // pool1 (ceil mode: 112 → 56, the last window cut at the edge) and norm1 recomputed from the view
  const [, h, w] = g.input.shape, px = new Uint8Array(h * w * 4);
  let s = 777;
  for (let i = 0; i < px.length; i++) px[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  const im = fv.imageFromRGBA(px, w, h), gi = fv.infer(g, { lastLayer: names.indexOf('pool1/norm1') });
  gi.run(im);
  im.free();
  const x = gi.layer(names.indexOf('conv1/7x7_s2')), y = gi.layer(names.indexOf('pool1/3x3_s2')), z = gi.layer(names.indexOf('pool1/norm1'));
  gi.free();
  const [, ih, iw, c] = x.shape, k = p1.filterH, st = p1.strideH;
  // ONNX ceil mode: ⌈(in + pads − k) / s⌉ + 1, less a window that would start past the input
  let oh = Math.ceil((ih + p1.padTop + p1.padBottom - k) / st) + 1;
  if ((oh - 1) * st >= ih + p1.padTop) oh--;
  assert.deepEqual(y.shape, [1, oh, oh, c]);
  assert.equal(oh, Math.ceil((ih - k) / st) + 1); // 56, not floor's 55
  let worst = 0;
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < oh; ox++)
      for (let ch = 0; ch < c; ch++) {
        let m = -Infinity;
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++) {
            const iy = oy * st - p1.padTop + ky, ix = ox * st - p1.padLeft + kx;
            if (iy >= 0 && iy < ih && ix >= 0 && ix < iw) m = Math.max(m, x.data[(iy * iw + ix) * c + ch]);
          }
        worst = Math.max(worst, Math.abs(m - y.data[(oy * oh + ox) * c + ch]));
      }
  assert.equal(worst, 0, 'a max pool is exact');
  const o = lrn[0].options;
  let big = 0;
  worst = 0;
  for (let p = 0; p < oh * oh; p++)
    for (let ch = 0; ch < c; ch++) {
      let sq = 0;
      for (let j = Math.max(0, ch - o.lrnLo); j <= Math.min(c - 1, ch + o.lrnHi); j++) sq += y.data[p * c + j] ** 2;
      const ref = y.data[p * c + ch] / (o.lrnBias + o.lrnAlpha * sq) ** o.lrnBeta;
      worst = Math.max(worst, Math.abs(ref - z.data[p * c + ch]));
      big = Math.max(big, Math.abs(ref));
    }
  assert.ok(big > 1, `norm1's outputs are not all near zero (${big})`);
  assert.ok(worst <= 1e-5 * big, `LRN recomputed from the view: worst |diff| ${worst}, largest ${big}`);
  g.free();
});
