// tflite-weights.mjs — a minimal, read-only TFLite reader for the benchmark's
// tfjs peer: the op list (kind, tensors, the options MobileNets use) and the
// constant tensors dequantized to float32 (uint8/int8: scale·(q − zero_point),
// per tensor or per channel; int32 biases: scale·q; float32 as is).
// Benchmark code, not engine code: it trusts the store's files, the engine's
// own reader (src/tflite.c) is the one that validates untrusted models.
//
//   const m = readTflite(bytes);
//   m.ops[i]     → { kind: 'CONV_2D', inputs: [t...], outputs: [t], opt: { padding, strideH, strideW, act, ... } }
//   m.tensors[t] → { name, shape, type, quant: { scale: [], zeroPoint: [], dim } | null, hasData }
//   m.weights(t) → Float32Array (dequantized), or null for an activation

const BUILTIN = { 0: 'ADD', 1: 'AVERAGE_POOL_2D', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D',
  9: 'FULLY_CONNECTED', 17: 'MAX_POOL_2D', 22: 'RESHAPE', 25: 'SOFTMAX', 40: 'MEAN', 34: 'PAD' };
const TYPE = { 0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 9: 'int8' };
const ACT = { 0: 'linear', 1: 'relu', 3: 'relu6' };

/** A flatbuffer table view: field(i) is the absolute offset of field i, or 0 when absent. */
class Table {
  constructor(dv, pos) {
    this.dv = dv;
    this.pos = pos;
    this.vt = pos - dv.getInt32(pos, true);
    this.vtLen = dv.getUint16(this.vt, true);
  }
  field(i) {
    const o = 4 + 2 * i;
    if (o >= this.vtLen) return 0;
    const off = this.dv.getUint16(this.vt + o, true);
    return off ? this.pos + off : 0;
  }
  u8(i, dflt = 0) { const f = this.field(i); return f ? this.dv.getUint8(f) : dflt; }
  i8(i, dflt = 0) { const f = this.field(i); return f ? this.dv.getInt8(f) : dflt; }
  i32(i, dflt = 0) { const f = this.field(i); return f ? this.dv.getInt32(f, true) : dflt; }
  u32(i, dflt = 0) { const f = this.field(i); return f ? this.dv.getUint32(f, true) : dflt; }
  f32(i, dflt = 0) { const f = this.field(i); return f ? this.dv.getFloat32(f, true) : dflt; }
  ref(i) { const f = this.field(i); return f ? f + this.dv.getUint32(f, true) : 0; }
  table(i) { const r = this.ref(i); return r ? new Table(this.dv, r) : null; }
  /** A vector field: { start, length } of its elements, or null. */
  vec(i) { const r = this.ref(i); return r ? { start: r + 4, length: this.dv.getUint32(r, true) } : null; }
  tables(i) {
    const v = this.vec(i);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, k) => {
      const at = v.start + 4 * k;
      return new Table(this.dv, at + this.dv.getUint32(at, true));
    });
  }
  ints(i) { const v = this.vec(i); return v ? Array.from({ length: v.length }, (_, k) => this.dv.getInt32(v.start + 4 * k, true)) : []; }
  floats(i) { const v = this.vec(i); return v ? Array.from({ length: v.length }, (_, k) => this.dv.getFloat32(v.start + 4 * k, true)) : []; }
  longs(i) { const v = this.vec(i); return v ? Array.from({ length: v.length }, (_, k) => Number(this.dv.getBigInt64(v.start + 8 * k, true))) : []; }
  string(i) {
    const v = this.vec(i);
    return v ? new TextDecoder().decode(new Uint8Array(this.dv.buffer, this.dv.byteOffset + v.start, v.length)) : '';
  }
}

function options(kind, t) {
  if (!t) return {};
  const pad = (v) => (v === 0 ? 'same' : 'valid');
  switch (kind) {
    case 'CONV_2D':
      return { padding: pad(t.i8(0)), strideW: t.i32(1, 1), strideH: t.i32(2, 1), act: ACT[t.i8(3)], dilW: t.i32(4, 1), dilH: t.i32(5, 1) };
    case 'DEPTHWISE_CONV_2D':
      return { padding: pad(t.i8(0)), strideW: t.i32(1, 1), strideH: t.i32(2, 1), depthMultiplier: t.i32(3, 1),
        act: ACT[t.i8(4)], dilW: t.i32(5, 1), dilH: t.i32(6, 1) };
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
      return { padding: pad(t.i8(0)), strideW: t.i32(1, 1), strideH: t.i32(2, 1), filterW: t.i32(3), filterH: t.i32(4), act: ACT[t.i8(5)] };
    case 'ADD':
      return { act: ACT[t.i8(0)] };
    case 'RESHAPE':
      return { newShape: t.ints(0) };
    case 'SOFTMAX':
      return { beta: t.f32(0, 1) };
    default:
      return {};
  }
}

export function readTflite(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const model = new Table(dv, dv.getUint32(0, true));
  const codes = model.tables(1).map((c) => {
    const code = Math.max(c.i8(0), c.i32(3)); // deprecated_builtin_code (byte), builtin_code (int32)
    return BUILTIN[code] ?? `BUILTIN_${code}`;
  });
  const buffers = model.tables(4).map((b) => b.vec(0));
  const sg = model.tables(2)[0];
  const tensors = sg.tables(0).map((t) => {
    const q = t.table(4);
    const scale = q ? q.floats(2) : [];
    const buf = buffers[t.u32(2)];
    return {
      name: t.string(3),
      shape: t.ints(0),
      type: TYPE[t.u8(1)] ?? `type${t.u8(1)}`,
      quant: scale.length ? { scale, zeroPoint: q.longs(3), dim: q.i32(6) } : null,
      data: buf && buf.length ? buf : null,
      hasData: !!(buf && buf.length),
    };
  });
  const ops = sg.tables(3).map((o) => {
    const kind = codes[o.u32(0)];
    return { kind, inputs: o.ints(1), outputs: o.ints(2), opt: options(kind, o.table(4)) };
  });

  function weights(ti) {
    const t = tensors[ti];
    if (!t || !t.data) return null;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const at = t.data.start;
    const out = new Float32Array(n);
    const q = t.quant;
    // per-channel quantization: the channel of element k along axis q.dim
    const inner = q ? t.shape.slice(q.dim + 1).reduce((a, b) => a * b, 1) : 1;
    const perCh = q && q.scale.length > 1;
    const chOf = (k) => (perCh ? Math.floor(k / inner) % t.shape[q.dim] : 0);
    switch (t.type) {
      case 'float32':
        for (let k = 0; k < n; k++) out[k] = dv.getFloat32(at + 4 * k, true);
        break;
      case 'uint8':
      case 'int8':
        for (let k = 0; k < n; k++) {
          const c = chOf(k), v = t.type === 'uint8' ? dv.getUint8(at + k) : dv.getInt8(at + k);
          out[k] = q.scale[c] * (v - (q.zeroPoint[c] ?? 0));
        }
        break;
      case 'int32':
        for (let k = 0; k < n; k++) out[k] = (q ? q.scale[chOf(k)] : 1) * dv.getInt32(at + 4 * k, true);
        break;
      default:
        throw new Error(`tensor ${t.name}: type ${t.type} is not read by the benchmark's reader`);
    }
    return out;
  }

  return { tensors, ops, inputs: sg.ints(1), outputs: sg.ints(2), weights };
}
