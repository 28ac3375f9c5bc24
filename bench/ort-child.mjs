// ort-child.mjs — onnxruntime-web in a process of its own (its thread count is global to the
// process and fixed when its wasm starts), driven by bench/workloads.mjs over stdin/stdout:
//   node bench/ort-child.mjs MODEL.onnx THREADS INPUT.f32 D0,D1,D2,D3
// then per line "run K" on stdin it runs K inferences and answers one JSON line
// {"ms": [...], "top": argmax of the last output}; "ready" is its first line.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ortSession } from './peer-ort.mjs';

const [model, threads, input, dims] = process.argv.slice(2);
const s = await ortSession(readFileSync(model), { threads: Number(threads) });
const buf = readFileSync(input);
const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const shape = dims.split(',').map(Number);
process.stdout.write(`${JSON.stringify({ ready: true, version: s.version })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const k = Number(line.split(' ')[1] || 1), ms = [];
  for (let i = 0; i < k; i++) ms.push(await s.run(x, shape));
  let top = 0;
  for (let i = 1; i < s.output.length; i++) if (s.output[i] > s.output[top]) top = i;
  process.stdout.write(`${JSON.stringify({ ms, top })}\n`);
}
process.exit(0);
