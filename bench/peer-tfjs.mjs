// peer-tfjs.mjs — the benchmark's peer: the same network and the same
// optimization loop in TensorFlow.js 4.22 on its WASM backend (XNNPACK, SIMD,
// one thread under Node), on the same weights: the op list, options and
// dequantized float32 constants come from featviz's own reader (src/tflite.c,
// src/onnx.c, through Model.op() of wasm/engine.js), so both run exactly the
// same numbers. It writes the ops of the MobileNets (TFLite) and of GoogLeNet
// (ONNX: explicit pads, ceil-mode max pools, LRN, Concat, the input's Sub, Gemm);
// an op or option it cannot express throws, naming it.
//
//   const model = (await loadEngine()).loadModel(tfliteOrOnnxBytes);
//   const peer = await createPeer(model);           // copies what it needs: model.free() may follow
//   const logits = peer.logits(input, [1, H, W, 3]); // Float32Array; input: Float32Array in the model's range
//   peer.infer(tensor, { stock })                   // whole network + softmax, result read back
//   const s = peer.lucid({ size: 128, batch: 1, layer, channel: 12, diversity: 0, stock: false,
//                          input: model.input, redirectSteps: 16 }); // the model's range and BGR order; Lucid's redirected ReLU
//   s.step(); ... s.dispose();
//
// What the peer does to be a fair, fast tfjs program (not a naive one):
//  - forward ops are tfjs's fused kernels (conv + bias + ReLU6 in one XNNPACK
//    call), also inside the gradient pass;
//  - every conv has a custom gradient to its INPUT only (weights are frozen, as
//    in featviz; tfjs's own fused-conv gradient also computes the filter's):
//    the ReLU6 mask as dy·step(y·(6−y)) (on wasm tfjs's comparison and
//    logical ops are several times slower than its arithmetic ones), then a
//    1×1 conv's input gradient as one matMul, and a k×k or depthwise conv's as
//    a (depthwise) conv of the spatially flipped filter over the output
//    gradient, dilated by the stride and padded so that the result has the
//    input's size — the wasm backend has no DepthwiseConv2dNativeBackpropInput
//    (and its Conv2DBackpropInput is no faster than this);
//  - the 2-D inverse real DFT of the Fourier parameterization is two dense
//    matMuls (tfjs's irfft has no gradient), and they and the diversity's Gram
//    matrices have custom gradients with explicit transposes: tfjs's own
//    matMul gradients multiply by transposed operands, a path about 15× slower
//    than a plain matMul on wasm (measured here on the DFT's shapes).
// bench/check-peer-grad.mjs checks every hand-written gradient against tfjs's
// own on its CPU backend; bench/check-peer-googlenet.mjs checks GoogLeNet op by op
// and whole against featviz's own activations on store photos.
//
// lucid({ stock: true }) is the same loop written the plain way, with tfjs's
// own gradients wherever tfjs has one (conv2d, relu6, the matMuls; only the
// depthwise input gradient is hand-made): what a tfjs user gets without
// tuning, and about what issue 5 measured (169 ms per Lucid step).
// What it cannot do like featviz is listed in PEER_DIFFERENCES.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export const PEER_DIFFERENCES = [
  'no rotation: tfjs has no differentiable rotation (featviz rotates by -10..10 degrees, bilinear, between scale and the last jitter)',
  'Fourier parameterization as dense DFT matMuls (featviz: kissfft); same maths, same 1/f scale and normalization',
  'tfjs computes the ReLU6 mask and the dilated, padded conv input gradients as separate ops (featviz: fused in its kernels)',
  'random draws from a different generator (both draw crop and scale per image, as featviz does)',
  'both measured after 20 warm-up steps, so featviz\'s redirected ReLU (first 16 steps) is not in the timed steps; on GoogLeNet the peer redirects its first 16 too (lucid({ redirectSteps: 16 })), since channel 97 of inception_4c/output is dead on the noise both start from',
  'GoogLeNet: tfjs has no ceil mode; the peer pads its max pools with -Infinity so that VALID windows are featviz\'s (output sizes equal), and tfjs differentiates the pad (a slice) and the pool (MaxPoolGrad) as separate ops',
  'GoogLeNet: ONNX\'s explicit pads are tfjs\'s explicit padding arrays in the fused conv (XNNPACK pads inside the kernel; the custom input gradient pads dy itself)',
  'GoogLeNet: LRN as tf.localResponseNormalization(x, 2, 1, 2e-5, 0.75) (depthRadius (size-1)/2, alpha per element = ONNX alpha / size); tfjs cannot express an ONNX LRN of even size (an asymmetric window), nor average pools with explicit pads or ceil mode (the peer refuses both; GoogLeNet has neither)',
  'GoogLeNet: each Conv -> Relu pair runs as one fused tfjs conv (featviz runs the ReLU as an op of its own, forward and backward); the gradient of LRN is tfjs\'s own LRNGrad kernel, of Concat its slices',
  'Adam: tf.train.adam(0.05, 0.9, 0.999, 1e-8), the same constants as featviz',
];

let ready = null;
/** tfjs on its wasm backend (SIMD; one thread under Node). */
export async function tfReady() {
  ready ??= (async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  })();
  await ready;
  return tf;
}

export function tfInfo() {
  return {
    version: tf.version.tfjs,
    backend: tf.getBackend(),
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

// ==== the network ================================================================

/** The fused forward kernels, called directly so that they stay fused inside a gradient pass. */
function fusedConv(x, L) {
  const attrs = { strides: L.strides, pad: L.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
    activation: L.act, leakyreluAlpha: undefined };
  return tf.engine().runKernel(L.depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', { x, filter: L.filter, bias: L.bias }, attrs);
}

/**
 * dy through a ReLU or ReLU6, given its output y. redirect: Lucid's redirected gradient, as
 * featviz's fv_act_grad (src/kernels/kernels.h) — per batch item, where the masked gradient is all
 * zero, dy with only the entries zeroed that push a clamped unit further out (y ≤ 0 and dy > 0;
 * y ≥ 6 and dy < 0 for ReLU6).
 */
export function actGrad(dy, y, act, redirect = false) {
  // 0 < y < 6 ⇔ y·(6 − y) > 0; step(v) = v > 0 ? 1 : 0
  if (act !== 'relu6' && act !== 'relu') return dy;
  const g = act === 'relu6' ? tf.mul(dy, tf.step(tf.mul(y, tf.sub(6, y)))) : tf.mul(dy, tf.step(y));
  if (!redirect) return g;
  let out = tf.mul(tf.sub(1, tf.step(y)), tf.step(dy)); // y ≤ 0, dy > 0
  if (act === 'relu6') out = tf.add(out, tf.mul(tf.sub(1, tf.step(tf.sub(6, y))), tf.step(tf.neg(dy)))); // y ≥ 6, dy < 0
  const alive = tf.step(tf.sum(tf.square(g), [1, 2, 3], true)); // per item: the masked gradient is not all zero
  return tf.add(tf.mul(g, alive), tf.mul(tf.mul(dy, tf.sub(1, out)), tf.sub(1, alive)));
}

/** TF's SAME padding before (pad_top or pad_left) for input n, filter k, stride s. */
function samePadBefore(n, k, s) {
  const out = Math.ceil(n / s);
  return Math.floor(Math.max((out - 1) * s + k - n, 0) / 2);
}

/** The pads before on H and W of a conv: pad 'same' | 'valid' | tfjs's explicit [[0,0],[t,b],[l,r],[0,0]]. */
function padsBefore(pad, h, w, k, strides) {
  if (Array.isArray(pad)) return [pad[1][0], pad[2][0]];
  return pad === 'same' ? [samePadBefore(h, k[0], strides[0]), samePadBefore(w, k[1], strides[1])] : [0, 0];
}

/** An op's explicit pads (options padding 'explicit') as tfjs's explicit padding. */
const explicitPads = (o) => [[0, 0], [o.padTop, o.padBottom], [o.padLeft, o.padRight], [0, 0]];

/**
 * featviz's output size on one axis of a window with explicit pads (src/kernels/conv.c, pad_dim):
 * floor, or in ceil mode rounded up less the windows that would start at or past n + before.
 */
export function explicitOutSize(n, k, s, before, after, ceil) {
  const span = n + before + after - k;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  while (ceil && o > 1 && (o - 1) * s >= n + before) o--;
  return o;
}

/**
 * dx of a conv: a conv of the dilated, padded dy with the spatially flipped filter —
 * depthwise (depth multiplier 1; flipped [KH,KW,C,1]) or full (flipped [KH,KW,OC,IC],
 * i.e. the forward filter flipped with its channel axes swapped). pad: 'same', 'valid' or
 * tfjs's explicit [[0,0],[t,b],[l,r],[0,0]] (ONNX pads); the pads after follow from dy's size.
 */
export function convInputGrad(dy, flipped, xShape, strides, pad, k, depthwise) {
  const [n, oh, ow, c] = dy.shape;
  const [, h, w] = xShape;
  const [sh, sw] = strides;
  const [pt, pl] = padsBefore(pad, h, w, k, strides);
  let d = dy;
  if (sh > 1 || sw > 1) {
    // dy[o] goes to position s·o; the zeros after it are the positions no output reads
    d = tf.reshape(tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]),
      [n, oh * sh, ow * sw, c]);
  }
  // dx[i] = Σ_j flipped[j] · D[i + j], D = d with k-1-pt zeros before: a VALID correlation of length h
  let padB = h + pt - oh * sh, padR = w + pl - ow * sw;
  if (padB < 0 || padR < 0) {
    d = tf.slice(d, [0, 0, 0, 0], [n, oh * sh + Math.min(padB, 0), ow * sw + Math.min(padR, 0), c]);
    padB = Math.max(padB, 0);
    padR = Math.max(padR, 0);
  }
  const p = [[0, 0], [k[0] - 1 - pt, padB], [k[1] - 1 - pl, padR], [0, 0]];
  return depthwise ? tf.depthwiseConv2d(d, flipped, 1, p) : tf.conv2d(d, flipped, 1, p);
}

function inputGrad(L, dy, xShape) {
  if (L.pointwise) {
    const oc = dy.shape[3];
    return tf.reshape(tf.matMul(tf.reshape(dy, [-1, oc]), L.w2d), xShape);
  }
  return convInputGrad(dy, L.flipped, xShape, L.strides, L.pad, L.k, L.depthwise);
}

/** x ↦ K·x (left) or x·K (right) for a constant K, its gradient through the pre-transposed Kᵀ. */
export function linear(K, side) {
  const Kt = tf.keep(tf.transpose(K));
  const apply = tf.customGrad((x, save) => ({
    value: side === 'left' ? tf.matMul(K, x) : tf.matMul(x, K),
    gradFunc: (dy) => [side === 'left' ? tf.matMul(Kt, dy) : tf.matMul(dy, Kt)],
  }));
  apply.dispose = () => Kt.dispose();
  return apply;
}

/** Per-image Gram matrices Fᵀ·F of f [n, hw, c] → [n, c, c]; dF = F·(dG + dGᵀ). */
export const gram = tf.customGrad((f, save) => {
  save([f]);
  return {
    value: tf.matMul(tf.transpose(f, [0, 2, 1]), f),
    gradFunc: (dg, [ff]) => [tf.matMul(ff, tf.add(dg, tf.transpose(dg, [0, 2, 1])))],
  };
});

/** A standalone activation (featviz's ACTIVATION op; src/model.h's fv_act). */
function activation(x, act, a, b) {
  switch (act) {
    case 'linear': return x;
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'tanh': return tf.tanh(x);
    case 'clip': return tf.clipByValue(x, a, b);
    case 'leaky_relu': return tf.leakyRelu(x, a);
    case 'hard_swish': return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
    case 'hard_sigmoid': return tf.clipByValue(tf.add(tf.mul(x, a), b), 0, 1);
    default: throw new Error(`peer: activation ${act} is not implemented`);
  }
}

const BINARY = { ADD: tf.add, SUB: tf.sub, MUL: tf.mul, DIV: tf.div, MAXIMUM: tf.maximum, MINIMUM: tf.minimum };

/** A conv's differentiable forms with fused activation act: the custom input-only gradient, tfjs's stock ops. */
function convForms(L, act) {
  const attrs = { ...L, act };
  const apply = tf.customGrad((x, save) => {
    const y = fusedConv(x, attrs);
    save([y]);
    return { value: y, gradFunc: (dy, [yy]) => [inputGrad(L, actGrad(dy, yy, act, L.state.redirect), x.shape)] };
  });
  // stock: tfjs's own ops and gradients, but for the depthwise input gradient it does not have
  const dwStock = L.depthwise && tf.customGrad((x) => ({
    value: tf.depthwiseConv2d(x, L.filter, L.strides, L.pad),
    gradFunc: (dy) => [convInputGrad(dy, L.flipped, x.shape, L.strides, L.pad, L.k, true)],
  }));
  const stock = (x) => activation(tf.add(L.depthwise ? dwStock(x) : tf.conv2d(x, L.filter, L.strides, L.pad), L.bias), act);
  const infer = (x) => fusedConv(x, attrs);
  return { apply, stock, infer };
}

/**
 * The network featviz runs (a loaded featviz Model): per op its kind, the activation tensors it
 * reads (L.inputs), tfjs-layout constants and its forms run(args, mode). A CONV_2D whose output
 * only a ReLU / ReLU6 ACTIVATION reads (ONNX's Conv → Relu) runs fused with it (L.fuse: that
 * op's index), as a fast tfjs program would (featviz runs that ReLU as an op of its own).
 */
function buildNet(model) {
  const ops = model.layers().map((_, i) => model.op(i));
  const state = { redirect: false }; // the gradients' mode: Lucid's redirected ReLU (lucid({ redirectSteps }))
  const readers = new Map();
  for (const op of ops) for (const t of op.inputs) if (!t.data) readers.set(t.tensor, (readers.get(t.tensor) ?? 0) + 1);
  const layers = model.layers().map(({ name }, i) => {
    const op = ops[i], opt = op.options, owned = [];
    const own = (t) => (owned.push(t), t);
    // activations read (constants are captured below); a conv's filter and bias are its constants
    const inputs = op.inputs.filter((t) => t.tensor >= 0 && !t.data).map((t) => t.tensor);
    const L = { index: i, kind: op.kind, inputs, output: op.output, name, opt, owned, state };
    if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D') {
      const ws = op.inputs[1].shape; // CONV_2D [OC,KH,KW,IC]; DEPTHWISE [1,KH,KW,C·DM]
      const w = op.inputs[1].data, b = op.inputs[2]?.data;
      L.depthwise = op.kind === 'DEPTHWISE_CONV_2D';
      if (L.depthwise && opt.depthMultiplier !== 1) throw new Error('peer: depth multiplier ≠ 1 is not implemented');
      if (!L.depthwise && opt.groups !== 1) throw new Error(`peer: grouped convs (${name}: ${opt.groups} groups) are not implemented`);
      if (opt.dilationH !== 1 || opt.dilationW !== 1) throw new Error('peer: dilated convs are not implemented');
      L.k = [ws[1], ws[2]];
      L.strides = [opt.strideH, opt.strideW];
      L.pad = opt.padding === 'explicit' ? explicitPads(opt) : opt.padding;
      L.act = opt.act;
      const noPad = opt.padding !== 'explicit' || [opt.padTop, opt.padLeft, opt.padBottom, opt.padRight].every((v) => v === 0);
      if (L.depthwise) {
        L.filter = own(tf.tensor4d(w, [ws[1], ws[2], ws[3], 1]));
        L.flipped = own(tf.reverse(L.filter, [0, 1]));
      } else {
        const w4 = tf.tensor4d(w, ws);
        L.filter = own(tf.transpose(w4, [1, 2, 3, 0])); // [KH,KW,IC,OC]
        L.pointwise = ws[1] === 1 && ws[2] === 1 && L.strides[0] === 1 && L.strides[1] === 1 && noPad;
        if (L.pointwise) L.w2d = own(tf.reshape(w4, [ws[0], ws[3]])); // [OC, IC]: dx = dy · W
        else L.flipped = own(tf.tidy(() => tf.transpose(tf.reverse(w4, [1, 2]), [1, 2, 0, 3]))); // [KH,KW,OC,IC]
        w4.dispose();
      }
      L.bias = own(b ? tf.tensor1d(b) : tf.zeros([L.depthwise ? ws[3] : ws[0]]));
      L.forms = { [L.act]: convForms(L, L.act) };
      const next = ops[i + 1];
      if (L.act === 'linear' && next?.kind === 'ACTIVATION' && readers.get(op.output) === 1 && next.inputs[0].tensor === op.output &&
          (next.options.act === 'relu' || next.options.act === 'relu6')) {
        L.fuse = i + 1;
        L.forms[next.options.act] = convForms(L, next.options.act);
      }
      L.run = ([x], mode, act = L.act) => {
        const f = L.forms[act];
        return mode === 'grad' ? f.apply(x) : mode === 'stock' ? f.stock(x) : f.infer(x);
      };
    } else if (op.kind in BINARY) {
      // each operand an activation or a constant (the input preprocessing: ONNX's Sub of the mean)
      const consts = op.inputs.map((t) => (t.data ? own(tf.tensor(t.data, t.shape)) : null));
      const fn = BINARY[op.kind];
      L.act = opt.act;
      L.run = (args) => {
        let k = 0;
        const [a, b] = consts.map((c) => c ?? args[k++]);
        return activation(fn(a, b), L.act);
      };
    } else if (op.kind === 'ACTIVATION') {
      // ReLU / ReLU6 in 'grad' mode: the gradient featviz takes (redirected in the first steps)
      const relu = (opt.act === 'relu' || opt.act === 'relu6') && tf.customGrad((x, save) => {
        const y = activation(x, opt.act);
        save([y]);
        return { value: y, gradFunc: (dy, [yy]) => [actGrad(dy, yy, opt.act, state.redirect)] };
      });
      L.run = ([x], mode) => (relu && mode === 'grad' ? relu(x) : activation(x, opt.act, opt.actA, opt.actB));
    } else if (op.kind === 'AVERAGE_POOL_2D' || op.kind === 'MAX_POOL_2D') {
      if (opt.act !== 'linear') throw new Error('peer: a pool with a fused activation is not implemented');
      const max = op.kind === 'MAX_POOL_2D', k = [opt.filterH, opt.filterW], s = [opt.strideH, opt.strideW];
      if (opt.global) L.run = ([x]) => (max ? tf.max(x, [1, 2], true) : tf.mean(x, [1, 2], true));
      else if (opt.padding !== 'explicit') L.run = ([x]) => (max ? tf.maxPool : tf.avgPool)(x, k, s, opt.padding);
      else if (max) {
        // explicit pads and ceil mode: pad with −∞ (a pad never wins a max) so that tfjs's VALID
        // windows are featviz's, windows cut at the edge included; tfjs's gradients (pad's is a slice)
        L.run = ([x]) => {
          const [, h, w] = x.shape;
          const oh = explicitOutSize(h, k[0], s[0], opt.padTop, opt.padBottom, opt.ceilMode);
          const ow = explicitOutSize(w, k[1], s[1], opt.padLeft, opt.padRight, opt.ceilMode);
          const eb = Math.max(0, (oh - 1) * s[0] + k[0] - (h + opt.padTop + opt.padBottom));
          const er = Math.max(0, (ow - 1) * s[1] + k[1] - (w + opt.padLeft + opt.padRight));
          const p = [[0, 0], [opt.padTop, opt.padBottom + eb], [opt.padLeft, opt.padRight + er], [0, 0]];
          const padded = p.flat().some((v) => v > 0) ? tf.pad(x, p, -Infinity) : x;
          const y = tf.maxPool(padded, k, s, 'valid');
          return y.shape[1] > oh || y.shape[2] > ow ? tf.slice(y, [0, 0, 0, 0], [-1, oh, ow, -1]) : y;
        };
      } else if (!opt.ceilMode && [opt.padTop, opt.padLeft, opt.padBottom, opt.padRight].every((v) => v === 0)) {
        L.run = ([x]) => tf.avgPool(x, k, s, 'valid');
      } else {
        throw new Error(`peer: ${name}: an average pool with explicit pads or ceil mode is not implemented (tfjs's avgPool divides by the whole window)`);
      }
    } else if (op.kind === 'LOCAL_RESPONSE_NORMALIZATION') {
      // featviz: y = x / (bias + alpha·Σ_{c−lo..c+hi} x²)^beta, alpha per element (ONNX's alpha / size);
      // tfjs (TensorFlow's LRN): the same with depthRadius r for the window c−r..c+r, alpha per element
      if (opt.lrnLo !== opt.lrnHi) {
        throw new Error(`peer: ${name}: an LRN window of ${opt.lrnLo} channels before and ${opt.lrnHi} after (ONNX's even size) is not expressible in tfjs (depthRadius: a symmetric window)`);
      }
      L.run = ([x]) => tf.localResponseNormalization(x, opt.lrnLo, opt.lrnBias, opt.lrnAlpha, opt.lrnBeta);
    } else if (op.kind === 'CONCATENATION') {
      L.run = (args) => tf.concat(args, opt.axis);
    } else if (op.kind === 'FULLY_CONNECTED') {
      const ws = op.inputs[1].shape; // [OC, IC]
      const wT = own(tf.tidy(() => tf.transpose(tf.tensor2d(op.inputs[1].data, ws))));
      const bias = own(op.inputs[2]?.data ? tf.tensor1d(op.inputs[2].data) : tf.zeros([ws[0]]));
      L.run = ([x]) => activation(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), wT), bias), opt.act);
    } else if (op.kind === 'RESHAPE') {
      L.run = ([x]) => tf.reshape(x, [x.shape[0], -1]);
    } else if (op.kind === 'SOFTMAX') {
      L.run = ([x]) => tf.softmax(opt.beta === 1 ? x : tf.mul(x, opt.beta));
    } else {
      throw new Error(`peer: op ${op.kind} is not implemented`);
    }
    return L;
  });
  for (const L of layers) if (L.fuse !== undefined) layers[L.fuse].fusedFrom = L.index;
  const input = model.inputTensor;

  /** Runs ops 0..last on x; returns the activation of every tensor computed. mode: 'grad' (the
   * convs' custom gradients), 'stock' (tfjs's own conv ops and gradients) or 'infer' (the fused
   * kernels, no gradient). A conv fused with its ReLU writes the ReLU's output (its own, the
   * pre-activation, only when the ReLU is past `last`). */
  function forward(x, last = layers.length - 1, mode = 'grad') {
    const act = new Map([[input, x]]);
    for (let i = 0; i <= last; i++) {
      const L = layers[i];
      if (L.fusedFrom !== undefined) continue; // computed by its conv
      const args = L.inputs.map((t) => act.get(t));
      if (L.fuse !== undefined && L.fuse <= last) {
        const R = layers[L.fuse];
        act.set(R.output, L.run(args, mode, R.opt.act));
      } else {
        act.set(L.output, L.run(args, mode));
      }
    }
    return act;
  }
  const dispose = () => {
    for (const L of layers) for (const t of L.owned) t.dispose();
  };
  return { layers, input, forward, dispose, state };
}

// ==== the Lucid step ================================================================

/** mulberry32: the peer's own seeded draws. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lucid's color_correlation_svd_sqrt / max column norm, as src/param.c: rgb_i = Σ_j M[i][j] c_j. */
function colorMatrix() {
  const C = [[0.26, 0.09, 0.02], [0.27, 0.0, -0.05], [0.27, -0.09, 0.03]];
  let best = 0;
  for (let j = 0; j < 3; j++) best = Math.max(best, Math.hypot(C[0][j], C[1][j], C[2][j]));
  return C.map((r) => r.map((v) => v / best));
}

/**
 * The Fourier parameterization as constants for two matMuls. Params P: [2H, N·3·wf]
 * (real parts over ky, then imaginary parts; columns: image, channel, kx), scaled by
 * 1/(4·sqrt(HW)·max(f, 1/max(H,W))^decay) as src/param.c; then
 *   M = Kcol · (P ⊙ scale)   Kcol = [[cos, −sin], [sin, cos]](2π·ky·y/H)   (complex inverse DFT over ky)
 *   img = [Mr | Mi] · Krow    Krow = [c_k cos; −c_k sin](2π·kx·x/W)       (real inverse DFT over kx, c_k = 1 or 2)
 */
function fourier(n, h, w, decay = 1) {
  const wf = (w >> 1) + 1, cols = n * 3 * wf;
  const scale = new Float32Array(2 * h * cols);
  const fmin = 1 / Math.max(h, w), norm = 1 / (4 * Math.sqrt(h * w));
  for (let part = 0; part < 2; part++)
    for (let ky = 0; ky < h; ky++) {
      const fy = (ky < (h + 1) >> 1 ? ky : ky - h) / h;
      for (let c = 0; c < cols; c++) {
        const kx = c % wf, f = Math.max(Math.hypot(kx / w, fy), fmin);
        scale[(part * h + ky) * cols + c] = norm / f ** decay;
      }
    }
  const kcol = new Float32Array(4 * h * h);
  for (let y = 0; y < h; y++)
    for (let ky = 0; ky < h; ky++) {
      const a = (2 * Math.PI * ((ky * y) % h)) / h, c = Math.cos(a), s = Math.sin(a);
      kcol[y * 2 * h + ky] = c;
      kcol[y * 2 * h + h + ky] = -s;
      kcol[(h + y) * 2 * h + ky] = s;
      kcol[(h + y) * 2 * h + h + ky] = c;
    }
  const krow = new Float32Array(2 * wf * w);
  for (let k = 0; k < wf; k++) {
    const ck = k === 0 || (w % 2 === 0 && k === w / 2) ? 1 : 2;
    for (let x = 0; x < w; x++) {
      const a = (2 * Math.PI * ((k * x) % w)) / w;
      krow[k * w + x] = ck * Math.cos(a);
      krow[(wf + k) * w + x] = -ck * Math.sin(a);
    }
  }
  const kc = tf.tensor2d(kcol, [2 * h, 2 * h]), kr = tf.tensor2d(krow, [2 * wf, w]);
  const out = { wf, cols, scale: tf.tensor2d(scale, [2 * h, cols]), kc, kr, kcol: linear(kc, 'left'), krow: linear(kr, 'right') };
  out.dispose = () => {
    out.scale.dispose();
    out.kcol.dispose();
    out.krow.dispose();
    kc.dispose();
    kr.dispose();
  };
  return out;
}

const SCALES = Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50);

/** Lucid's standard transforms without rotation, one image (draws per image, as featviz). */
function transformOne(img, out, rand) {
  const pick = (k) => Math.floor(rand() * (k + 1)); // 0..k
  // pad 12 (value 0.5) then a crop of 8 less at (oy, ox) is one pad by 12 − o before, 4 + o after
  const oy = pick(8), ox = pick(8);
  let x = tf.pad(img, [[0, 0], [12 - oy, 4 + oy], [12 - ox, 4 + ox], [0, 0]], 0.5);
  const s = SCALES[Math.floor(rand() * SCALES.length)];
  let [, h, w] = x.shape;
  x = tf.image.resizeBilinear(x, [Math.trunc(s * h), Math.trunc(s * w)], false, true);
  [, h, w] = x.shape;
  x = tf.slice(x, [0, pick(4), pick(4), 0], [1, h - 4, w - 4, 3]);
  return tf.image.resizeBilinear(x, [out, out], false, true);
}

/** Lucid's diversity: (1/N) Σ_{i≠j} <Ĝ_i, Ĝ_j>, Ĝ the L2-normalized Gram matrix of image i. */
function similarity(a, stock) {
  const [n, h, w, c] = a.shape;
  const f = tf.reshape(a, [n, h * w, c]);
  const g = stock ? tf.matMul(f, f, true, false) : gram(f); // [n, c, c]
  const gn = tf.div(g, tf.sqrt(tf.maximum(tf.sum(tf.square(g), [1, 2], true), 1e-10)));
  const flat = tf.reshape(gn, [n, c * c]);
  const all = tf.sum(tf.matMul(flat, flat, false, true));
  return tf.div(tf.sub(all, tf.sum(tf.square(flat))), n);
}

// ==== the peer ======================================================================

/** The peer of a loaded featviz Model (wasm/engine.js); its weights are copied into tfjs tensors. */
export async function createPeer(model) {
  await tfReady();
  const net = buildNet(model);
  const lastLayer = net.layers.length - 1;

  function logits(input, shape) {
    const logitsOp = net.layers.findIndex((L) => L.kind === 'SOFTMAX') - 1;
    const y = tf.tidy(() => net.forward(tf.tensor4d(input, shape), logitsOp, 'infer').get(net.layers[logitsOp].output));
    const out = y.dataSync().slice();
    y.dispose();
    return out;
  }

  /** One inference: whole network and softmax; the probabilities read back (the end of the work).
   * stock: unfused tfjs ops (conv2d, add, relu6) instead of the fused kernels. */
  function infer(x, { stock = false } = {}) {
    const y = tf.tidy(() => net.forward(x, lastLayer, stock ? 'stock' : 'infer').get(net.layers[lastLayer].output));
    const p = y.dataSync();
    y.dispose();
    return p;
  }

  /**
   * The Lucid step: Fourier params → decorrelated colour → sigmoid → transforms →
   * model range → forward to `layer` → −mean(channel) [+ diversity·similarity] →
   * gradient to the params → Adam.
   */
  function lucid({ size = 128, batch = 1, layer, channel = 12, diversity = 0, seed = 1, lr = 0.05, inputMin = -1, inputMax = 1, input = null,
    redirectSteps = 0, stock = false }) {
    const fz = fourier(batch, size, size);
    // stock: tfjs's own gradients for the DFT matMuls too (kc, kr: the plain constants)
    const kcol = stock ? (x) => tf.matMul(fz.kc, x) : fz.kcol, krow = stock ? (x) => tf.matMul(x, fz.kr) : fz.krow;
    const rand = rng(seed);
    const init = new Float32Array(2 * size * fz.cols);
    for (let i = 0; i < init.length; i += 2) { // Box–Muller, sd 0.01
      const u = Math.max(rand(), 1e-12), v = rand(), r = 0.01 * Math.sqrt(-2 * Math.log(u));
      init[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < init.length) init[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    const params = tf.variable(tf.tensor2d(init, [2 * size, fz.cols]));
    const color = tf.tidy(() => tf.transpose(tf.tensor2d(colorMatrix().flat(), [3, 3]))); // rgb = c · Mᵀ
    const opt = tf.train.adam(lr, 0.9, 0.999, 1e-8);
    const out = net.layers[layer].output;
    // the model's range: input (Model.input: channel k = offset[k] + 255·scale[k]·image channel
    // (bgr ? 2 − k : k), as src/render.c) or, without it, the same min..max on every channel
    const span = input ? tf.tensor1d(input.scale.map((v) => 255 * v)) : tf.scalar(inputMax - inputMin);
    const offset = input ? tf.tensor1d(input.offset) : tf.scalar(inputMin);
    const bgr = !!input?.bgr;

    const image = () => {
      const m = kcol(tf.mul(params, fz.scale)); // [2H, N·3·wf]
      const rows = tf.reshape(tf.transpose(tf.reshape(m, [2, size, batch * 3, fz.wf]), [2, 1, 0, 3]), [batch * 3 * size, 2 * fz.wf]);
      const planes = krow(rows); // [N·3·H, W]
      const lin = tf.transpose(tf.reshape(planes, [batch, 3, size, size]), [0, 2, 3, 1]);
      const rgb = tf.reshape(tf.matMul(tf.reshape(lin, [-1, 3]), color), [batch, size, size, 3]);
      return tf.sigmoid(rgb);
    };
    const loss = () => {
      const img = image();
      const xs = (batch === 1 ? [img] : tf.split(img, batch, 0)).map((im) => transformOne(im, size, rand));
      const rgb = batch === 1 ? xs[0] : tf.concat(xs, 0);
      const x = tf.add(tf.mul(bgr ? tf.reverse(rgb, 3) : rgb, span), offset);
      const a = net.forward(x, layer, stock ? 'stock' : 'grad').get(out);
      let l = tf.neg(tf.mean(tf.slice(a, [0, 0, 0, channel], [-1, -1, -1, 1])));
      if (diversity > 0) l = tf.add(l, tf.mul(similarity(a, stock), diversity));
      return l;
    };
    let objective = NaN, steps = 0;
    return {
      step() {
        // Lucid's redirected ReLU in the first redirectSteps steps (featviz: 16), in the tuned gradients
        net.state.redirect = !stock && steps++ < redirectSteps;
        const cost = opt.minimize(loss, true, [params]);
        net.state.redirect = false;
        objective = -cost.dataSync()[0];
        cost.dispose();
      },
      get objective() { return objective; },
      /** The loss's gradient to the params at the current params, without a step (for checks). */
      gradient() {
        const { value, grads } = tf.variableGrads(loss, [params]);
        const g = grads[params.name];
        const out = { loss: value.dataSync()[0], grad: g.dataSync().slice() };
        value.dispose();
        g.dispose();
        return out;
      },
      image() {
        const t = tf.tidy(image);
        const out = t.dataSync().slice();
        t.dispose();
        return out;
      },
      dispose() {
        params.dispose();
        opt.dispose();
        span.dispose();
        offset.dispose();
        color.dispose();
        fz.dispose();
      },
    };
  }

  return {
    tf,
    net,
    layers: net.layers,
    logits,
    infer,
    lucid,
    dispose: () => net.dispose(),
  };
}
