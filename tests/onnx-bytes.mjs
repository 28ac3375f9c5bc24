// onnx-bytes.mjs — the store's ONNX files changed the way the tests need, at the
// protobuf wire level (varints, tags, length-delimited fields; onnx.proto's field
// numbers): inner tensors made graph outputs (for onnxruntime), the metadata taken
// out (a user's export that says nothing about its input), an op renamed (one the
// engine does not run).
//
//   import { withOutputs, withoutMetadata, withOpRenamed } from './onnx-bytes.mjs';
//   const bytes = withoutMetadata(readFileSync(model('googlenet_bvlc_int8.onnx')));

function varint(n) {
  const out = [];
  do { out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0)); n = Math.floor(n / 128); } while (n > 0);
  return out;
}
const field = (num, bytes) => [...varint(num * 8 + 2), ...varint(bytes.length), ...bytes];
function readVarint(b, at) {
  let v = 0, mul = 1, k = at;
  for (;;) { const c = b[k++]; v += (c & 0x7f) * mul; mul *= 128; if (!(c & 0x80)) return [v, k]; }
}

/** Rewrites the top-level fields of a message: edit(num, body) → replacement Buffer, or undefined to keep it. */
function rewrite(bytes, edit) {
  const parts = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    let tag; [tag, at] = readVarint(bytes, at);
    const wire = tag & 7;
    if (wire === 0) [, at] = readVarint(bytes, at);
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else {
      let len; [len, at] = readVarint(bytes, at);
      const out = edit(tag >>> 3, bytes.subarray(at, at + len));
      at += len;
      if (out !== undefined) {
        parts.push(out);
        continue;
      }
    }
    parts.push(bytes.subarray(start, at));
  }
  return Buffer.concat(parts);
}

/** The model with these tensors appended to its graph's outputs (GraphProto field 12 in ModelProto field 7). */
export function withOutputs(bytes, names) {
  return rewrite(bytes, (num, body) => {
    if (num !== 7) return undefined;
    const graph = Buffer.concat([body, Buffer.from(names.flatMap((n) => field(12, field(1, [...Buffer.from(n)]))))]);
    return Buffer.from([...varint(7 * 8 + 2), ...varint(graph.length), ...graph]);
  });
}

/** The model without its metadata_props (ModelProto field 14): ONNX image metadata gone. */
export const withoutMetadata = (bytes) => rewrite(bytes, (num) => (num === 14 ? Buffer.alloc(0) : undefined));

/** The model with its first node of op type `from` given op type `to` (NodeProto field 4, GraphProto field 1). */
export function withOpRenamed(bytes, from, to) {
  let done = false;
  return rewrite(bytes, (num, graph) => {
    if (num !== 7) return undefined;
    const g = rewrite(graph, (n, node) => {
      if (n !== 1 || done) return undefined;
      const changed = rewrite(node, (k, s) => (k === 4 && s.toString() === from ? Buffer.from(field(4, [...Buffer.from(to)])) : undefined));
      if (changed.equals(node)) return undefined;
      done = true;
      return Buffer.from(field(1, [...changed]));
    });
    return Buffer.from(field(7, [...g]));
  });
}
