// check-peer-googlenet.mjs — checks, once and outside the timed loop, that the tfjs peer
// (bench/peer-tfjs.mjs) computes GoogLeNet as featviz does, so that the benchmark's
// googlenet_step_b1 peer figure times the same network:
//   1. op by op: each op of the peer, fed featviz's own activations of its inputs (featviz's
//      inference on a store photo), against featviz's output of that op — explicit pads, ceil-mode
//      max pools, LRN, concatenations, the input's Sub — at 224 (the file's size) and at 128
//      (the Lucid step's: other ceil-mode overhangs); worst error per op kind;
//   2. the whole network: the peer's activations at inception_4c/output (and its logits) from
//      the photo alone, against featviz's, in each of the peer's forms (fused 'infer', the
//      custom-gradient 'grad', tfjs's own ops 'stock');
//   3. the LRN mapping against ONNX's formula written out here (size 5, alpha / size, the
//      window c − 2 .. c + 2), on random data: tfjs's depthRadius, bias, alpha and beta;
//   4. the gradient the Lucid step uses: d mean(inception_4c/output channel 97) / d input on the
//      photo at 128, the peer's (custom conv input gradients, tfjs's own for LRN, max pool, pad
//      and concat on wasm) against tfjs's own gradients everywhere on its CPU backend;
//   5. Lucid's redirected ReLU gradient (the peer's first 16 steps) against featviz's rule.
// Prints the max abs and relative (to the largest |value|) errors; exits 1 if one is above its
// tolerance (float32 sums in another order: 1e-4 of the largest, 2e-4 for the gradient).
// PEER_MODEL=googlenet_bvlc_int8.onnx runs it on the QDQ file: sections 1-3 hold; in 4 tfjs's
// wasm and CPU backends (tfjs's own gradients on both) differ by about 1e-2 of the largest in one
// 7×7 patch of the input — one early unit whose near-tied max or ReLU boundary falls the other way
// in the other backend's rounding (a subgradient choice, not the peer's).
//   node bench/check-peer-googlenet.mjs [IMAGE ...]
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../wasm/engine.js';
import { createPeer, tfReady, actGrad } from './peer-tfjs.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = process.env.FEATVIZ_MODELS || resolve(ROOT, '../shared/models');
const IMAGES = process.env.FEATVIZ_IMAGES || resolve(MODELS, '../images');
const MODEL = process.env.PEER_MODEL || 'googlenet_bvlc.onnx'; // bench/workloads.mjs's googlenet_step_b1 (PEER_MODEL=googlenet_bvlc_int8.onnx: the QDQ file)
const LAYER = 'inception_4c/output', CHANNEL = 97;
const photos = process.argv.slice(2).length ? process.argv.slice(2) : ['cat.bmp', 'dragonfly.bmp', 'parrot.jpg'];
const TOL = 1e-4, TOL_GRAD = 2e-4;
const tf = await tfReady();
let failed = 0;

/** { abs: max |a − b|, rel: abs / max |b| } */
function errors(a, b) {
  if (a.length !== b.length) return { abs: Infinity, rel: Infinity, big: NaN }; // another output size: wrong
  let d = 0, s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return { abs: d, rel: d / (s || 1), big: s };
}
function report(what, e, tol = TOL) {
  const ok = e.rel <= tol && Number.isFinite(e.abs) && e.big > 0;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what.padEnd(64)} max abs ${e.abs.toExponential(2)}  rel ${e.rel.toExponential(2)}  (largest ${e.big.toPrecision(4)}; tolerance ${tol.toExponential(0)})`);
}

const fv = await loadEngine();
const model = fv.loadModel(readFileSync(resolve(MODELS, MODEL)));
const last = model.layerIndex(LAYER);
const logitsLayer = model.layers().findIndex((l) => l.op === 'Softmax') - 1;
const peer = await createPeer(model);
const { input } = model;

/** The network's input from featviz's own resize of a photo: channel k = offset + scale · p[bgr ? 2 − k : k] (src/infer.c). */
function netInput(im) {
  const rgb = im.rgb(), x = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3)
    for (let k = 0; k < 3; k++) x[i + k] = input.offset[k] + input.scale[k] * rgb[i + (input.bgr ? 2 - k : k)];
  return x;
}

const tensorOf = (a) => tf.tensor(a.data, a.shape);

// ---- 1 and 2: op by op, and the whole network, on store photos ------------------------------
for (const size of [224, 128]) {
  const worst = new Map();
  for (const name of photos) {
    const photo = fv.decodeImage(readFileSync(resolve(IMAGES, name))), im = photo.resize(size, size);
    photo.free();
    const x = netInput(im);
    const inf = fv.infer(model, { h: size, w: size, lastLayer: size === 224 ? logitsLayer : last });
    inf.run(im);
    im.free();
    // featviz's activation of every tensor, by tensor id
    const acts = new Map([[peer.net.input, { data: x, shape: [1, size, size, 3] }]]);
    const upTo = size === 224 ? logitsLayer : last;
    for (let i = 0; i <= upTo; i++) acts.set(peer.layers[i].output, inf.layer(i));
    for (let i = 0; i <= upTo; i++) {
      const L = peer.layers[i];
      const y = tf.tidy(() => L.run(L.inputs.map((t) => tensorOf(acts.get(t))), 'infer'));
      const e = errors(y.dataSync(), inf.layer(i).data);
      y.dispose();
      const w = worst.get(L.kind);
      if (!w || e.rel > w.e.rel) worst.set(L.kind, { e, name: L.name });
    }
    for (const mode of ['infer', 'grad', 'stock']) {
      const y = tf.tidy(() => peer.net.forward(tf.tensor4d(x, [1, size, size, 3]), last, mode).get(peer.layers[last].output));
      report(`${name} ${size}x${size}: ${LAYER} from the photo, peer '${mode}'`, errors(y.dataSync(), inf.layer(last).data));
      y.dispose();
    }
    if (size === 224) {
      const logits = peer.logits(x, [1, size, size, 3]), ref = inf.layer(logitsLayer).data;
      const argmax = (a) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);
      report(`${name} 224x224: logits (top-1 featviz ${argmax(ref)}, peer ${argmax(logits)})`, errors(logits, ref));
      if (argmax(ref) !== argmax(logits)) failed++;
    }
    inf.free();
  }
  for (const [kind, { e, name }] of worst) report(`${size}x${size} op by op: ${kind} (worst: ${name})`, e);
}

// ---- 3. the LRN mapping against ONNX's formula ----------------------------------------------
{
  const lrn = peer.layers.find((L) => L.kind === 'LOCAL_RESPONSE_NORMALIZATION');
  const o = lrn.opt;
  // ONNX LRN (the file's attributes, Caffe's: local_size 5, alpha 1e-4, beta 0.75, k 1):
  // y = x / (bias + alpha / size · Σ_{max(0, c − ⌊(size−1)/2⌋) .. min(C−1, c + ⌈(size−1)/2⌉)} x²)^beta
  const size = 5, alpha = 1e-4, beta = 0.75, bias = 1, [h, w, c] = [3, 4, 37];
  console.log(`     featviz's view of ${lrn.name}: lo ${o.lrnLo}, hi ${o.lrnHi}, alpha ${o.lrnAlpha} (ONNX alpha / size: ${alpha / size}), beta ${o.lrnBeta}, bias ${o.lrnBias}`);
  const xv = tf.tidy(() => tf.mul(tf.randomNormal([1, h, w, c], 0, 1, 'float32', 5), 40).dataSync().slice()); // |x| ~ 40: Σ x² moves the denominator
  const ref = new Float64Array(xv.length);
  for (let p = 0; p < h * w; p++)
    for (let k = 0; k < c; k++) {
      let sq = 0;
      for (let j = Math.max(0, k - Math.floor((size - 1) / 2)); j <= Math.min(c - 1, k + Math.ceil((size - 1) / 2)); j++) sq += xv[p * c + j] ** 2;
      ref[p * c + k] = xv[p * c + k] / (bias + (alpha / size) * sq) ** beta;
    }
  const y = tf.tidy(() => lrn.run([tf.tensor(xv, [1, h, w, c])], 'infer'));
  report('LRN: the peer\'s tf.localResponseNormalization vs ONNX\'s formula', errors(y.dataSync(), ref));
  y.dispose();
  // a wrong mapping (ONNX's alpha taken per element) would be far off: show that the check sees it
  const bad = tf.tidy(() => tf.localResponseNormalization(tf.tensor(xv, [1, h, w, c]), 2, bias, alpha, beta));
  console.log(`     (for scale: tfjs with ONNX's alpha undivided is off by rel ${errors(bad.dataSync(), ref).rel.toExponential(2)})`);
  bad.dispose();
}

// ---- 4. the input gradient: the peer on wasm against tfjs's own gradients on CPU ---------------
{
  const size = 128, photo = fv.decodeImage(readFileSync(resolve(IMAGES, photos[0]))), im = photo.resize(size, size);
  photo.free();
  const x = netInput(im);
  im.free();
  const objective = (p, mode) => (t) => tf.mean(tf.slice(p.net.forward(t, last, mode).get(p.layers[last].output), [0, 0, 0, CHANNEL], [-1, -1, -1, 1]));
  const grad = (p, mode) => tf.tidy(() => tf.grad(objective(p, mode))(tf.tensor4d(x, [1, size, size, 3])).dataSync().slice());
  const mine = grad(peer, 'grad'), stockWasm = grad(peer, 'stock');
  await tf.setBackend('cpu');
  const cpuPeer = await createPeer(model); // its constants on the CPU backend
  const ref = grad(cpuPeer, 'stock');
  cpuPeer.dispose();
  await tf.setBackend('wasm');
  report(`${photos[0]} ${size}x${size}: d mean(${LAYER}:${CHANNEL})/d input, peer vs tfjs CPU`, errors(mine, ref), TOL_GRAD);
  report(`  the same, peer 'stock' on wasm vs tfjs CPU`, errors(stockWasm, ref), TOL_GRAD);
}

// ---- 5. Lucid's redirected ReLU (the peer's first 16 steps) against featviz's rule written out here ----
for (const act of ['relu', 'relu6']) {
  // item 0: every unit clamped (y 0 or 6), so its masked gradient is all zero; item 1: some alive
  const n = 2, per = 24, y = new Float32Array(n * per), dy = new Float32Array(n * per);
  for (let i = 0; i < n * per; i++) {
    y[i] = i < per ? (act === 'relu6' && i % 3 === 0 ? 6 : 0) : [0, 2.5, 6][i % 3] * (act === 'relu' && i % 3 === 2 ? 0.5 : 1);
    dy[i] = Math.sin(1.7 * i + 0.3);
  }
  const ref = new Float32Array(n * per);
  for (let b = 0; b < n; b++) {
    const at = (i) => b * per + i, live = (v) => v > 0 && (act === 'relu' || v < 6);
    const alive = Array.from({ length: per }, (_, i) => live(y[at(i)]) && dy[at(i)] !== 0).some(Boolean);
    for (let i = 0; i < per; i++) {
      const v = y[at(i)], g = dy[at(i)];
      const out = (v <= 0 && g > 0) || (act === 'relu6' && v >= 6 && g < 0);
      ref[at(i)] = alive ? (live(v) ? g : 0) : out ? 0 : g;
    }
  }
  const t = tf.tidy(() => actGrad(tf.tensor4d(dy, [n, 2, 3, 4]), tf.tensor4d(y, [n, 2, 3, 4]), act, true));
  report(`redirected ${act} gradient (one item clamped, one alive) vs featviz's rule`, errors(t.dataSync(), ref), 0);
  t.dispose();
}

peer.dispose();
model.free();
console.log(failed ? `${failed} check(s) failed` : 'the tfjs peer computes GoogLeNet as featviz does');
process.exitCode = failed ? 1 : 0;
