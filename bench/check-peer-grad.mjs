// check-peer-grad.mjs — checks, once and outside the timed loop, the
// gradients the tfjs peer (bench/peer-tfjs.mjs) writes by hand, against
// tfjs's own gradients on its CPU backend (which registers
// DepthwiseConv2dNativeBackpropInput and Conv2DBackpropInput):
//   1. the conv input gradient (flipped filter over the dilated, padded dy),
//      depthwise and full, on awkward shapes: stride 1 and 2, even and odd
//      sizes, SAME, VALID and explicit (ONNX) pads, 3×3, 5×5 and 7×7;
//   2. the constant matMuls of the Fourier parameterization and the Gram
//      matrices of the diversity term (custom gradients with explicit transposes);
//   3. the whole peer network's input gradient of a channel mean on
//      MobilenetV2/expanded_conv_8/add (custom gradients for every conv, fused
//      forward kernels; and the "stock" variant) against the same network in
//      plain tfjs ops on CPU;
//   4. the whole Lucid step, tuned against stock (same seed, same draws): the
//      gradient of the loss (channel mean + diversity) to the Fourier params.
// Prints the worst relative error of each (relative to the largest value); exits 1
// if one is above 1e-4 (section 4: above twice tfjs's own wasm-vs-CPU spread).
//   node bench/check-peer-grad.mjs
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../wasm/engine.js';
import { createPeer, convInputGrad, gram, linear, tfReady } from './peer-tfjs.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = process.env.FEATVIZ_MODELS || resolve(ROOT, '../shared/models');
const tf = await tfReady();
const TOL = 1e-4;
let failed = 0;

/** max |a − b| / max(|b|) over the arrays */
function relErr(a, b) {
  let d = 0, s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / (s || 1);
}

function report(what, err, tol = TOL) {
  const ok = err <= tol;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what.padEnd(72)} rel. error ${err.toExponential(2)}${tol !== TOL ? ` (tolerance ${tol.toExponential(1)})` : ''}`);
}

/** tfjs's own gradient of Σ dy ⊙ f(x) on its CPU backend (the arrays are plain JS). */
async function cpuGrad(f, xv, dyv) {
  await tf.setBackend('cpu');
  const g = tf.tidy(() => tf.grad((x) => tf.sum(tf.mul(f(x), tf.tensor(dyv))))(tf.tensor(xv)));
  const out = g.dataSync().slice();
  g.dispose();
  await tf.setBackend('wasm');
  return out;
}
/** The peer's gradient of Σ dy ⊙ f(x) on wasm, through its custom gradients. */
function peerGrad(f, xv, dyv) {
  const g = tf.tidy(() => tf.grad((x) => tf.sum(tf.mul(f(x), tf.tensor(dyv))))(tf.tensor(xv)));
  const out = g.dataSync().slice();
  g.dispose();
  return out;
}
const randn = (shape, seed) => tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).arraySync());

// ---- 1. conv input gradients ---------------------------------------------------------
const cases = [
  { h: 8, w: 8, c: 5, k: 3, s: 1, pad: 'same' },
  { h: 8, w: 8, c: 5, k: 3, s: 2, pad: 'same' },
  { h: 9, w: 7, c: 3, k: 3, s: 2, pad: 'same' },
  { h: 7, w: 10, c: 4, k: 5, s: 2, pad: 'same' },
  { h: 9, w: 9, c: 2, k: 3, s: 2, pad: 'valid' },
  { h: 6, w: 11, c: 3, k: 3, s: 1, pad: 'valid' },
  { h: 16, w: 16, c: 8, k: 3, s: 2, pad: 'same' },
  // ONNX's explicit pads (tfjs's explicit padding): GoogLeNet's conv1 (7×7, stride 2, pads 3), asymmetric ones
  { h: 15, w: 14, c: 3, k: 7, s: 2, pad: [[0, 0], [3, 3], [3, 3], [0, 0]] },
  { h: 9, w: 8, c: 4, k: 3, s: 2, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
  { h: 7, w: 7, c: 3, k: 3, s: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
];
for (const depthwise of [true, false]) {
  for (const { h, w, c, k, s, pad } of cases) {
    const oc = depthwise ? 1 : 6;
    const xv = randn([2, h, w, c], 1), fv = randn([k, k, c, oc], 2);
    const conv = (x) => (depthwise ? tf.depthwiseConv2d(x, tf.tensor(fv), s, pad) : tf.conv2d(x, tf.tensor(fv), s, pad));
    const dyv = randn(tf.tidy(() => conv(tf.tensor(xv)).shape), 3);
    const t = tf.tidy(() => {
      // the peer's flipped filter: depthwise [KH,KW,C,1]; full [KH,KW,OC,IC]
      const flipped = tf.reverse(tf.tensor(fv), [0, 1]);
      return convInputGrad(tf.tensor(dyv), depthwise ? flipped : tf.transpose(flipped, [0, 1, 3, 2]), [2, h, w, c], [s, s], pad, [k, k], depthwise);
    });
    const mine = t.dataSync().slice();
    t.dispose();
    const ref = await cpuGrad(conv, xv, dyv);
    const padName = Array.isArray(pad) ? `pads ${pad[1][0]},${pad[2][0]},${pad[1][1]},${pad[2][1]}` : pad;
    report(`${depthwise ? 'depthwise' : 'conv'} dx ${h}x${w}x${c}, ${k}x${k}, stride ${s}, ${padName}`, relErr(mine, ref));
  }
}

// ---- 2. matMuls with hand-written gradients -------------------------------------------
{
  const kv = randn([12, 7], 4), xl = randn([7, 5], 5), xr = randn([3, 12], 6);
  const K = tf.tensor(kv), left = linear(K, 'left'), right = linear(K, 'right');
  report('linear K·x', relErr(peerGrad(left, xl, randn([12, 5], 7)), await cpuGrad((x) => tf.matMul(tf.tensor(kv), x), xl, randn([12, 5], 7))));
  report('linear x·K', relErr(peerGrad(right, xr, randn([3, 7], 8)), await cpuGrad((x) => tf.matMul(x, tf.tensor(kv)), xr, randn([3, 7], 8))));
  left.dispose();
  right.dispose();
  K.dispose();
  const fv = randn([3, 10, 4], 9), dg = randn([3, 4, 4], 10);
  report('Gram Fᵀ·F per image', relErr(peerGrad(gram, fv, dg), await cpuGrad((f) => tf.matMul(f, f, true, false), fv, dg)));
}

// ---- 3. the whole network's input gradient -------------------------------------------
const fvModel = (await loadEngine()).loadModel(readFileSync(resolve(MODELS, 'mobilenet_v2_1.0_224_quant.tflite')));
const peer = await createPeer(fvModel);
fvModel.free();
const layer = peer.layers.findIndex((L) => L.name.startsWith('MobilenetV2/expanded_conv_8/add'));
const size = 64, channel = 12;
const xv = tf.tidy(() => tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 4).arraySync());
const objective = (forward) => (x) => tf.neg(tf.mean(tf.slice(forward(x).get(peer.layers[layer].output), [0, 0, 0, channel], [-1, -1, -1, 1])));
const mine = tf.tidy(() => tf.grad(objective((x) => peer.net.forward(x, layer, 'grad')))(tf.tensor(xv)).dataSync().slice());
const stock = tf.tidy(() => tf.grad(objective((x) => peer.net.forward(x, layer, 'stock')))(tf.tensor(xv)).dataSync().slice());
await tf.setBackend('cpu');
// the same network in plain tfjs ops, with tfjs's registered gradients
const plain = (x) => {
  const act = new Map([[peer.net.input, x]]);
  for (let i = 0; i <= layer; i++) {
    const L = peer.layers[i], a = act.get(L.inputs[0]);
    let y;
    if (L.kind === 'ADD') y = tf.add(a, act.get(L.inputs[1]));
    else {
      const f = tf.tensor(L.filter.arraySync()), b = tf.tensor(L.bias.arraySync());
      y = tf.add(L.depthwise ? tf.depthwiseConv2d(a, f, L.strides, L.pad) : tf.conv2d(a, f, L.strides, L.pad), b);
      if (L.act === 'relu6') y = tf.relu6(y);
    }
    act.set(L.output, y);
  }
  return act;
};
const ref = tf.tidy(() => tf.grad(objective(plain))(tf.tensor(xv)).dataSync().slice());
await tf.setBackend('wasm');
report(`network dx to ${peer.layers[layer].name.split(';')[0]}, batch 2, ${size}x${size}`, relErr(mine, ref));
report('network dx, stock variant', relErr(stock, ref));

// ---- 4. the Lucid step: the tuned gradient to the params against tfjs's own --------------
// The whole step's gradient is sensitive to float32 rounding (sums with cancellation over
// the DFT, the resizes, the Gram matrices): tfjs's own gradients on wasm and on CPU already
// differ by about 1e-3 of the largest. So the tuned one must agree with tfjs's own on CPU
// at least as well as that (a wrong hand-made gradient is off by O(1)).
for (const diversity of [0, 100]) {
  const g = {};
  for (const [name, stock, backend] of [['tuned', false, 'wasm'], ['stock', true, 'wasm'], ['cpu', true, 'cpu']]) {
    await tf.setBackend(backend);
    const s = peer.lucid({ size: 64, batch: 4, layer, channel, diversity, seed: 7, stock });
    g[name] = s.gradient(); // same seed: same initial params, same transform draws
    s.dispose();
  }
  await tf.setBackend('wasm');
  const spread = relErr(g.stock.grad, g.cpu.grad);
  console.log(`     diversity ${diversity}: tfjs's own gradient, wasm vs CPU: ${spread.toExponential(2)} of the largest`);
  report(`Lucid step batch 4, diversity ${diversity}: d loss/d params, tuned vs tfjs CPU`, relErr(g.tuned.grad, g.cpu.grad), Math.max(TOL, 2 * spread));
}
peer.dispose();
console.log(failed ? `${failed} check(s) failed` : 'all peer gradients match tfjs CPU');
process.exitCode = failed ? 1 : 0;
