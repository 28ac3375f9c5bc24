// peer-torch.mjs — the benchmark's PyTorch peer (issue 11's targets are relative to "PyTorch 1.13
// CPU, one thread"): bench/peer-torch.py under Debian's /usr/bin/python3 (python3-torch 1.13,
// python3-onnx), run in a child process on this host, so that its figures come from the same
// machine and the same run as featviz's.
//
//   import { torchPeer } from './peer-torch.mjs';
//   const t = await torchPeer({ googlenet: 'models/googlenet_bvlc.onnx',        // a path (the store's ONNX file)
//                               mobilenetOnnxBytes: onnxFromModel(v2Model),      // bytes (bench/peer-ort.mjs)
//                               threads: 1, ms: 4000, image: 'cat.bmp' });
//   // → { torch, threads, workloads: { googlenet_step_b1: { ms, n, objective_after, layer, channel },
//   //       googlenet_infer_224: { ms, n }, mobilenet_v2_step_b1: …, mobilenet_v2_infer_224: … },
//   //     check: { googlenet: { index, label, p }, mobilenet_v2: … }, seconds }
//   // or { error: message } when Python, torch or onnx is missing or the script fails:
//   // the bench runs on without this peer.
//
// torchServer (below) runs the same script as a server instead (--serve): one workload run per
// request, so that bench/workloads.mjs interleaves PyTorch's samples with featviz's.
//
// Either model may be left out (only its workloads are missing then). The MobileNet bytes go to a
// temporary file that is removed afterwards. The objective's tensor in that ONNX is the output
// of its fifth Add node (MobileNet v2's expanded_conv_8/add, as onnxFromModel names tensors
// t<id>), unless mobilenetLayer names it (`t${model.op(model.layerIndex(layer)).output}`);
// mobilenetInput ({ scale, offset } of featviz's model.input; default 2/255·x − 1) is its input
// range. `image`: a photo whose top-1 at 224 the script reports per model (the caller compares
// it with featviz's). Each workload takes about `ms` of samples plus a warm-up, one after the
// other (about 20 s for the four at 4000 ms); this function does not interleave them with
// featviz's samples, and it cannot measure what PyTorch would do on another host: it times
// the one it runs on, with the threads it is given (OpenBLAS's as well as torch's).
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
 *   p.torch, p.threads, p.check                      // as torchPeer's
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

/** Runs bench/peer-torch.py; answers its JSON (plus `seconds`, the script's wall time) or { error }. */
export async function torchPeer({ googlenet, mobilenetOnnxBytes, threads = 1, ms = 4000, image, mobilenetLayer,
  mobilenetInput, python = TORCH_PYTHON, checkOnly = false, timeoutMs = 600000 } = {}) {
  if (!googlenet && !mobilenetOnnxBytes) return { error: 'torchPeer: no model given' };
  const dir = mkdtempSync(join(tmpdir(), 'featviz-torch-'));
  try {
    const args = scriptArgs(dir, { googlenet, mobilenetOnnxBytes, threads, mobilenetLayer, mobilenetInput, image });
    args.push('--ms', String(ms));
    if (checkOnly) args.push('--check-only');
    const t0 = performance.now();
    const r = await new Promise((resolve) => {
      let out = '', err = '';
      const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill(), timeoutMs);
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', (e) => (clearTimeout(timer), resolve({ spawnError: e })));
      child.on('close', (code, signal) => (clearTimeout(timer), resolve({ code, signal, out, err })));
    });
    if (r.spawnError) return { error: `${python}: ${r.spawnError.code === 'ENOENT' ? 'not found' : r.spawnError.message} (the PyTorch peer needs Debian's python3-torch)` };
    const why = r.err.trim().split('\n').slice(-3).join(' / ');
    if (r.code !== 0) return { error: r.signal ? `peer-torch.py: killed (${r.signal})` : `peer-torch.py exit ${r.code}: ${why || 'no message'}` };
    try {
      return { ...JSON.parse(r.out), seconds: +((performance.now() - t0) / 1e3).toFixed(1) };
    } catch {
      return { error: `peer-torch.py: no JSON on stdout (${why || r.out.slice(0, 200)})` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
