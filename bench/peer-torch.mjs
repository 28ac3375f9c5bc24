// peer-torch.mjs — the benchmark's PyTorch peer (issue 11's targets are relative to "PyTorch 1.13
// CPU, one thread"): bench/peer-torch.py under Debian's /usr/bin/python3 (python3-torch 1.13,
// python3-onnx), run in a child process on this host, so that its figures come from the same
// machine and the same run as featviz's.
//
//   import { torchServer } from './peer-torch.mjs';
//   const p = await torchServer({ googlenet: 'models/googlenet_bvlc.onnx',     // a path (the store's ONNX file)
//                                 mobilenetOnnxBytes: onnxFromModel(v2Model),   // bytes (bench/peer-ort.mjs)
//                                 threads: 1, image: 'cat.bmp' });
//   // → { torch, threads, check: { googlenet: { index, label, p }, mobilenet_v2: … }, run, close }
//   //   or { error: message } when Python, torch or onnx is missing or the script fails:
//   //   the bench runs on without this peer
//   const [ms] = await p.run('googlenet_step_b1', 1);  // also googlenet_infer_224, mobilenet_v2_step_b1, …
//   p.close();
//
// The script runs as a server (--serve): one workload run per request, so that
// bench/workloads.mjs interleaves PyTorch's samples with featviz's and both see the same load.
// Run by hand without --serve, it times each workload itself, one after another.
//
// Either model may be left out (only its workloads are missing then). The MobileNet bytes go to a
// temporary file that close() removes. The objective's tensor in that ONNX is the output
// of its fifth Add node (MobileNet v2's expanded_conv_8/add, as onnxFromModel names tensors
// t<id>), unless mobilenetLayer names it (`t${model.op(model.layerIndex(layer)).output}`);
// mobilenetInput ({ scale, offset } of featviz's model.input; default 2/255·x − 1) is its input
// range. `image`: a photo whose top-1 at 224 the script reports per model (the caller compares
// it with featviz's). It cannot measure what PyTorch would do on another host: it times the one
// it runs on, with the threads it is given (OpenBLAS's as well as torch's).
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const TORCH_PYTHON = '/usr/bin/python3'; // Debian's, with python3-torch; a pyenv python on PATH has none

/** peer-torch.py's arguments for the models (the MobileNet bytes written into dir). */
function scriptArgs(dir, { googlenet, mobilenetOnnxBytes, threads, mobilenetLayer, mobilenetInput, image }) {
  const args = [join(HERE, 'peer-torch.py'), '--threads', String(threads)];
  if (googlenet) args.push('--googlenet', googlenet);
  if (mobilenetOnnxBytes) {
    const file = join(dir, 'mobilenet_v2.onnx');
    writeFileSync(file, mobilenetOnnxBytes);
    args.push('--mobilenet', file);
    if (mobilenetLayer) args.push('--mobilenet-layer', mobilenetLayer);
    if (mobilenetInput) args.push('--mobilenet-input', `${mobilenetInput.scale?.[0] ?? mobilenetInput.scale},${mobilenetInput.offset?.[0] ?? mobilenetInput.offset}`);
  }
  if (image) args.push('--check', image);
  return args;
}

/**
 * The same script as a server (--serve), so that its samples interleave with featviz's
 * (bench/timing.mjs interleave) and see the same load:
 *   const p = await torchServer({ googlenet, mobilenetOnnxBytes, image, ... });  // p.error, or:
 *   p.torch, p.threads, p.check
 *   const [ms] = await p.run('googlenet_step_b1', 1);   // ms of each of k runs (a step keeps its state)
 *   p.close();
 */
export async function torchServer({ python = TORCH_PYTHON, threads = 1, ...models } = {}) {
  if (!models.googlenet && !models.mobilenetOnnxBytes) return { error: 'torchServer: no model given' };
  const dir = mkdtempSync(join(tmpdir(), 'featviz-torch-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const child = spawn(python, [...scriptArgs(dir, { threads, ...models }), '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ended = new Promise((resolve) => child.on('close', resolve));
  const failed = (what) => `peer-torch.py ${what}: ${err.trim().split('\n').slice(-3).join(' / ') || 'no message'}`;
  const next = async () => {
    const l = await Promise.race([lines.next(), ended.then(() => ({ done: true }))]);
    if (l.done) throw new Error(failed('ended'));
    return JSON.parse(l.value);
  };
  const spawned = new Promise((resolve) => child.on('error', (e) => resolve(e)));
  const first = await Promise.race([next().catch((e) => e), spawned]);
  if (first instanceof Error || !first.ready) {
    child.kill();
    cleanup();
    const e = first?.code === 'ENOENT' ? `${python}: not found (the PyTorch peer needs Debian's python3-torch)` : first?.message ?? failed('failed');
    return { error: e };
  }
  return {
    torch: first.torch, threads: first.threads, check: first.check,
    async run(name, k = 1) {
      child.stdin.write(`${name} ${k}\n`);
      const r = await next();
      if (r.error) throw new Error(`peer-torch.py: ${r.error}`);
      return r.ms;
    },
    close: () => (child.kill(), cleanup()),
  };
}
