// peer-ort.mjs — the benchmark's inference peer: onnxruntime-web (npm, its
// wasm backend with SIMD, on 1 or more threads) running the same network on
// the same weights.
//
//   const s = await ortSession(bytes, { threads: 2 });   // ONNX bytes
//   const ms = await s.run(x, [1, 3, 224, 224]);          // one inference; s.output is the last result
//   const bytes = onnxFromModel(model);                    // a featviz Model (MobileNet v2 from TFLite) as ONNX
//
// GoogLeNet is an ONNX file in the store and runs as it is. The store's
// MobileNet v2 is TFLite, which onnxruntime does not read: onnxFromModel writes
// the network featviz's reader made of it (the op list, options and dequantized
// float32 constants of Model.op(), the same numbers the tfjs peer runs) as an
// ONNX model, NHWC input transposed to NCHW by its first node. Only the ops
// MobileNet v2 has are written (CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D,
// RESHAPE, SOFTMAX); anything else throws.
import * as ort from 'onnxruntime-web';

/** An onnxruntime-web session on its wasm backend (SIMD) with `threads` threads. */
export async function ortSession(bytes, { threads = 1 } = {}) {
  // numThreads is global to onnxruntime-web and read when its wasm starts: one setting per process.
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0], outputName = session.outputNames[0];
  return {
    version: ort.env.versions?.web ?? ort.env.versions?.common ?? '?',
    threads,
    output: null,
    async run(x, dims) {
      const t0 = performance.now();
      const out = await session.run({ [inputName]: new ort.Tensor('float32', x, dims) });
      this.output = out[outputName].data;
      return performance.now() - t0;
    },
    release: () => session.release(),
  };
}

// ==== protobuf, the few ONNX messages needed (onnx/onnx.proto field numbers) ========

const enc = new TextEncoder();
function varint(n, out) {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
}
/** A message: a list of [field, wireType, value] (0: varint; 2: bytes, string or message; 5: float). */
function msg(fields) {
  const out = [];
  for (const [f, wt, v] of fields) {
    varint((f << 3) | wt, out);
    if (wt === 0) varint(v, out);
    else if (wt === 5) out.push(...new Uint8Array(new Float32Array([v]).buffer));
    else {
      const b = typeof v === 'string' ? enc.encode(v) : v;
      varint(b.length, out);
      for (let i = 0; i < b.length; i += 65536) out.push(...b.subarray(i, i + 65536));
    }
  }
  return Uint8Array.from(out);
}
const attrInt = (name, i) => msg([[1, 2, name], [20, 0, 2], [3, 0, i]]);
const attrInts = (name, xs) => msg([[1, 2, name], [20, 0, 7], ...xs.map((x) => [8, 0, x])]);
const attrStr = (name, s) => msg([[1, 2, name], [20, 0, 3], [4, 2, s]]);
const node = (op, inputs, outputs, attrs = []) =>
  msg([...inputs.map((s) => [1, 2, s]), ...outputs.map((s) => [2, 2, s]), [4, 2, op], ...attrs.map((a) => [5, 2, a])]);
const tensor = (name, dims, data) =>
  msg([...dims.map((d) => [1, 0, d]), [2, 0, 1], [8, 2, name], [9, 2, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]]);
const valueInfo = (name, dims) =>
  msg([[1, 2, name], [2, 2, msg([[1, 2, msg([[1, 0, 1], [2, 2, msg(dims.map((d) => [1, 2, msg([[1, 0, d]])]))]])]])]]);

/** A featviz Model (its ops through Model.op()) as ONNX bytes, input [1, H, W, 3] NHWC named 'input'. */
export function onnxFromModel(model) {
  const nodes = [], inits = [];
  const layers = model.layers();
  const name = (t) => `t${t}`;
  const [, H, W, C] = model.input.shape;
  nodes.push(node('Transpose', ['input'], [name(model.inputTensor)], [attrInts('perm', [0, 3, 1, 2])]));
  let last = null;
  for (let i = 0; i < layers.length; i++) {
    const op = model.op(i), o = op.options, out = name(op.output);
    const ins = op.inputs.map((t) => name(t.tensor));
    const post = []; // the fused activation's node, after the op's
    const act = (y) => {
      if (o.act === 'linear') return y;
      const pre = `${y}_pre`;
      post.push(o.act === 'relu' ? node('Relu', [pre], [y]) : node('Clip', [pre, 'zero', 'six'], [y]));
      return pre;
    };
    if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D') {
      const dw = op.kind === 'DEPTHWISE_CONV_2D', ws = op.inputs[1].shape, w = op.inputs[1].data;
      if (o.dilationH !== 1 || o.dilationW !== 1 || (dw && o.depthMultiplier !== 1)) throw new Error(`onnxFromModel: op ${i} (${op.kind}) options not written`);
      const [a, kh, kw, b] = ws; // CONV_2D [OC,KH,KW,IC]; DEPTHWISE [1,KH,KW,C]
      const oc = dw ? b : a, ic = dw ? 1 : b;
      const t = new Float32Array(w.length); // to [OC, IC, KH, KW]
      for (let q = 0; q < oc; q++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            for (let c = 0; c < ic; c++) t[((q * ic + c) * kh + y) * kw + x] = dw ? w[(y * kw + x) * b + q] : w[((q * kh + y) * kw + x) * b + c];
      inits.push(tensor(`${out}_w`, [oc, ic, kh, kw], t));
      const inputs = [ins[0], `${out}_w`];
      if (op.inputs[2]?.data) inits.push(tensor(`${out}_b`, [oc], op.inputs[2].data)), inputs.push(`${out}_b`);
      nodes.push(node('Conv', inputs, [act(out)], [attrInts('kernel_shape', [kh, kw]), attrInts('strides', [o.strideH, o.strideW]),
        attrStr('auto_pad', o.padding === 'same' ? 'SAME_UPPER' : 'VALID'), ...(dw ? [attrInt('group', oc)] : [])]));
    } else if (op.kind === 'ADD') {
      nodes.push(node('Add', ins.slice(0, 2), [act(out)]));
    } else if (op.kind === 'AVERAGE_POOL_2D') {
      nodes.push(node('AveragePool', [ins[0]], [act(out)], [attrInts('kernel_shape', [o.filterH, o.filterW]),
        attrInts('strides', [o.strideH, o.strideW]), attrStr('auto_pad', o.padding === 'same' ? 'SAME_UPPER' : 'VALID')]));
    } else if (op.kind === 'RESHAPE') {
      nodes.push(node('Flatten', [ins[0]], [out], [attrInt('axis', 1)]));
    } else if (op.kind === 'SOFTMAX') {
      if (o.beta !== 1) throw new Error('onnxFromModel: softmax beta ≠ 1 not written');
      nodes.push(node('Softmax', [ins[0]], [out], [attrInt('axis', 1)]));
    } else {
      throw new Error(`onnxFromModel: op ${op.kind} not written`);
    }
    nodes.push(...post);
    last = out;
  }
  inits.push(tensor('zero', [], new Float32Array([0])), tensor('six', [], new Float32Array([6])));
  const graph = msg([...nodes.map((n) => [1, 2, n]), [2, 2, 'featviz'], ...inits.map((t) => [5, 2, t]),
    [11, 2, valueInfo('input', [1, H, W, C])], [12, 2, msg([[1, 2, last]])]]);
  return msg([[1, 0, 7], [8, 2, msg([[1, 2, ''], [2, 0, 13]])], [7, 2, graph]]);
}
