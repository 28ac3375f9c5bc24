// workloads.mjs — the benchmark's named workloads (issue 11), each with its peers beside it,
// as the JSON `npm run bench -- --json FILE` writes:
//   { "workloads": { NAME: { "featviz_ms", "gflop", "gflops", "pct_peak", "threads", "samples", peers… } } }
//
//   mobilenet_v2_infer_224          224×224 inference, 1 thread        peer: onnxruntime-web, 1 thread
//   mobilenet_v2_step_b1            Lucid step 128×128, 1 thread       (tfjs figures: bench.mjs section 1)
//   mobilenet_v2_step_b4_div        batch 4 + diversity, 1 thread
//   googlenet_infer_224             224×224 inference, 1 thread        peer: onnxruntime-web, 1 thread
//   googlenet_infer_224_threads2    the same, 2 threads                peer: onnxruntime-web, 2 threads
//   googlenet_step_b1               Lucid step 128×128, inception_4c/output channel 97, 1 thread   peer: tfjs-wasm (tuned and stock), 1 thread
//   googlenet_step_b1_threads2      the same, 2 threads, with the 1-thread step interleaved (speedup_vs_1thread_interleaved)
//   googlenet_step_b4_div           batch 4 + diversity, 1 thread, and its peak WASM memory
//   googlenet_step_b1_relaxed       googlenet_step_b1 on the relaxed-SIMD build (fused multiply-add), where the runtime has it
// and GoogLeNet's per-op profile of googlenet_step_b1, and its dense convs one by one
// (bench/conv_bench.c: GFLOP/s and share of the SIMD peak per shape, forward and gradient).
// "% peak" divides by this host's WASM SIMD limit, measured at the start of the run
// (bench/peak.c, simdPeak below; "peak_gflops" in the JSON). onnxruntime-web runs in a child process
// per thread count (bench/ort-child.mjs: its thread count is global to a process), interleaved
// with featviz's samples in short rounds. PyTorch (bench/peer-torch.mjs's torchServer: Debian's
// torch 1.13 on one thread, the same ONNX graphs) is a child process too, its samples interleaved
// the same way for the one-thread inferences and steps; the issue's figures for its machine
// (75–85 ms for the GoogLeNet step) stay beside them as `pytorch_1thread_ms_issue`.
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadEngine, relaxedSimdSupported } from '../wasm/engine.js';
import { onnxFromModel } from './peer-ort.mjs';
import { torchServer } from './peer-torch.mjs';
import { createPeer, tfInfo } from './peer-tfjs.mjs';
import { median, interleave, profiledSteps } from './timing.mjs';
import { STEP_NETS } from './nets.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const ISSUE_PEAK_GFLOPS = 45; // the issue's figure for its machine: used only if bench/peak.c is not built

/** This host's WASM SIMD limit, one thread (bench/peak.c in a child process, once a process):
 *  { gflops, source } — source 'measured', or the issue's figure with the reason. */
let peakMemo = null;
export function simdPeak() {
  if (peakMemo) return peakMemo;
  const wasm = join(ROOT, 'build/wasm/bench/peak.wasm');
  // --no-liftoff: the optimizing tier, as the engine's kernels run once warm (bench/peak.c)
  const r = existsSync(wasm) ? spawnSync(process.execPath, ['--no-liftoff', '--no-turbo-fast-api-calls', '--no-warnings',
    join(ROOT, 'tests/wasi-run.mjs'), wasm, 'peak'], { encoding: 'utf8' }) : null;
  const m = r?.stdout.match(/^peak_gflops ([\d.]+)$/m);
  peakMemo = m ? { gflops: +m[1], source: 'measured now (bench/peak.c)' }
    : { gflops: ISSUE_PEAK_GFLOPS, source: `the issue's figure (${r ? 'bench/peak.c failed' : 'not built: make -f emcc.mk bench'})` };
  return peakMemo;
}
const PYTORCH_GOOGLENET_STEP_MS = 80; // the issue's 75–85 ms, PyTorch 1.13 CPU, one thread, its machine
const PYTORCH_MOBILENET_STEP_MS = 28; // the issue's: featviz's ≈ 8.5 ms was ≈ 0.3× of it
const { layer: G_LAYER, channel: G_CHANNEL } = STEP_NETS.googlenet;
const { layer: M_LAYER, channel: M_CHANNEL } = STEP_NETS.mobilenet;

/** onnxruntime-web in a child process: await peer.ready; await peer.run(k) → ms of each of k runs. */
function ortChild(modelPath, threads, x, dims, dir) {
  const input = join(dir, `input-${threads}-${dims.join('x')}.f32`);
  writeFileSync(input, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const child = spawn(process.execPath, [join(HERE, 'ort-child.mjs'), modelPath, String(threads), input, dims.join(',')],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value);
  const peer = {
    top: -1,
    ready: next().then((r) => (peer.version = r.version)),
    async run(k = 1) {
      child.stdin.write(`run ${k}\n`);
      const r = await next();
      peer.top = r.top;
      return r.ms;
    },
    close: () => child.kill(),
  };
  return peer;
}

/** x for an ONNX image input [1, 3, H, W] from featviz's own resize of a photo and the model's input description. */
function nchwInput(image, input) {
  const rgb = image.rgb(), [h, w] = [image.height, image.width], x = new Float32Array(3 * h * w);
  for (let k = 0; k < 3; k++) {
    const src = input.bgr ? 2 - k : k;
    for (let i = 0; i < h * w; i++) x[k * h * w + i] = rgb[i * 3 + src] * input.scale[k] + input.offset[k];
  }
  return x;
}
/** ... and NHWC [1, H, W, 3] (the ONNX model onnxFromModel writes transposes it itself). */
function nhwcInput(image, input) {
  const rgb = image.rgb(), x = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const k = i % 3;
    x[i] = rgb[i - k + (input.bgr ? 2 - k : k)] * input.scale[k] + input.offset[k];
  }
  return x;
}

const argmax = (a) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);

/** A peer's sample fn: k runs per call would skew the rounds, so one run, its own ms. */
const peerFn = (peer) => async () => (await peer.run(1))[0];

function record(ms, n, gflop, threads, extra = {}) {
  const gflops = gflop / (ms / 1e3);
  return { featviz_ms: +ms.toFixed(2), gflop: +gflop.toFixed(4), gflops: +gflops.toFixed(2),
    pct_peak: +((100 * gflops) / (simdPeak().gflops * threads)).toFixed(1), threads, samples: n, ...extra };
}

/** GoogLeNet's per-op profile of a render's step: per kind, median ms over single profiled steps, share, GFLOP/s. */
function profileOf(e, r, steps = 15) {
  const p = profiledSteps(e, r, steps);
  const ops = p.rows.map(({ op, ms, flops }) => ({ op, ms: +ms.toFixed(3), share: +((100 * ms) / p.step_ms).toFixed(1),
    gflops: flops && ms > 0 ? +(flops / ms / 1e6).toFixed(2) : null }));
  return { step_ms: +p.step_ms.toFixed(2), ops };
}

const pad = (s, n) => String(s).padStart(n);

/** bench/conv_bench.c (a WASI program, tests/wasi-run.mjs in a child process): printed with each
 *  conv's share of the SIMD peak, and its rows as objects. */
function convBench() {
  const wasm = join(ROOT, 'build/wasm/bench/conv_bench.wasm');
  if (!existsSync(wasm)) {
    console.log(`\n(not built: ${wasm}; make -f emcc.mk bench)`);
    return null;
  }
  // Node 20's fast WASI calls off (the exit crash of issue 16; tests/c-programs.mjs)
  const r = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--no-warnings', join(ROOT, 'tests/wasi-run.mjs'), wasm, 'conv_bench'], { encoding: 'utf8' });
  const peak = simdPeak().gflops, pct = (g) => `${(100 * g / peak).toFixed(1)}%`;
  const rows = [], lines = [];
  for (const line of r.stdout.trimEnd().split('\n')) {
    const m = line.match(/^(\S.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$/);
    // conv_bench's columns up to the forward GFLOP/s take 69 characters (its printf)
    if (/^conv\s+size/.test(line)) lines.push(`${line.slice(0, 69)}  % peak${line.slice(69)}   % peak`);
    else if (!m) lines.push(line);
    else {
      const row = { conv: m[1], size: +m[2], pixels: +m[3], K: +m[4], oc: +m[5], fwd_ms: +m[6], fwd_gflops: +m[7], grad_ms: +m[8], grad_gflops: +m[9] };
      row.fwd_pct_peak = +(100 * row.fwd_gflops / peak).toFixed(1), row.grad_pct_peak = +(100 * row.grad_gflops / peak).toFixed(1);
      rows.push(row);
      lines.push(`${line.slice(0, 69)}  ${pad(pct(row.fwd_gflops), 6)}${line.slice(69)}  ${pad(pct(row.grad_gflops), 7)}`);
    }
  }
  console.log(`\n${lines.join('\n')}`);
  console.log(`(% peak: of ${peak} GFLOP/s, ${simdPeak().source}; a Winograd row counts the direct conv's multiply-adds, so it can pass 100%)`);
  return rows;
}

/** Runs every named workload; prints a table; answers { workloads, googlenet_profile, notes }. */
export async function runWorkloads({ models, images, budgetMs = 8000 }) {
  const dir = mkdtempSync(join(tmpdir(), 'featviz-bench-'));
  const cat = readFileSync(join(images, 'cat.bmp'));
  const gPath = join(models, STEP_NETS.googlenet.file), gBytes = readFileSync(gPath);
  const v2Bytes = readFileSync(join(models, STEP_NETS.mobilenet.file));
  const engines = { 1: await loadEngine(), 2: await loadEngine({ threads: 2 }) };
  const out = {}, notes = [];
  const peak = simdPeak(); // first, before the engines' work
  console.log(`WASM SIMD peak of this host, one thread: ${peak.gflops} GFLOP/s (multiply + add; ${peak.source})`);
  if (engines[2].threads !== 2) notes.push(`2 threads unavailable: ${engines[2].threadsReason}`);
  const models1 = {}, models2 = {};
  for (const [t, e] of Object.entries(engines)) {
    const ms = t === '1' ? models1 : models2;
    ms.g = e.loadModel(gBytes);
    ms.v2 = e.loadModel(v2Bytes);
  }
  const photoAt = (e, size) => {
    const p = e.decodeImage(cat), r = p.resize(size, size);
    p.free();
    return r;
  };

  // ---- PyTorch on this host, one thread: a server whose samples interleave with featviz's ----
  const v2OnnxBytes = onnxFromModel(models1.v2); // onnxruntime-web's and PyTorch's MobileNet v2
  const torch = await torchServer({
    googlenet: gPath, mobilenetOnnxBytes: v2OnnxBytes, threads: 1, image: join(images, 'cat.bmp'),
    mobilenetLayer: `t${models1.v2.op(models1.v2.layerIndex(M_LAYER)).output}`, mobilenetInput: models1.v2.input,
  });
  if (torch.error) notes.push(`PyTorch peer not measured: ${torch.error}`);
  else notes.push('PyTorch runs the same ONNX graphs through an interpreter of torch ops (bench/peer-torch.py, one thread, ' +
    'OpenBLAS too), its samples interleaved with featviz\'s; its step computes all four Inception branches and has no redirected ReLU');
  /** PyTorch's sample fn for workload name (the relaxed row's is the plain step's), or none. */
  const torchFn = (name) => (torch.error ? null : async () => (await torch.run(name.replace(/_relaxed$/, ''), 1))[0]);

  // ---- inference, featviz against onnxruntime-web on the same threads ----
  const v2Onnx = join(dir, 'mobilenet_v2.onnx');
  writeFileSync(v2Onnx, v2OnnxBytes);
  const inferCases = [
    { name: 'mobilenet_v2_infer_224', key: 'v2', onnx: v2Onnx, threads: 1, layout: 'nhwc' },
    { name: 'googlenet_infer_224', key: 'g', onnx: gPath, threads: 1, layout: 'nchw' },
    { name: 'googlenet_infer_224_threads2', key: 'g', onnx: gPath, threads: 2, layout: 'nchw' },
  ];
  for (const c of inferCases) {
    const e = engines[c.threads], model = (c.threads === 1 ? models1 : models2)[c.key];
    const img = photoAt(e, 224), inf = e.infer(model);
    const x = c.layout === 'nchw' ? nchwInput(img, model.input) : nhwcInput(img, model.input);
    const peer = ortChild(c.onnx, c.threads, x, c.layout === 'nchw' ? [1, 3, 224, 224] : [1, 224, 224, 3], dir);
    await peer.ready;
    const tf = c.threads === 1 ? torchFn(c.name) : null;
    const [f, o, pt] = await interleave([() => inf.run(img), peerFn(peer), ...(tf ? [tf] : [])], { warm: [3, 3, 3], budgetMs: budgetMs * (tf ? 1.5 : 1) });
    const top = argmax(inf.layer(model.layerCount - 1).data);
    out[c.name] = record(f.ms, f.n, inf.flops / 1e9, engines[c.threads].threads, {
      onnxruntime_web_ms: +o.ms.toFixed(2), onnxruntime_web_threads: c.threads, onnxruntime_web_samples: o.n,
      onnxruntime_web_version: peer.version, speedup_vs_onnxruntime_web: +(o.ms / f.ms).toFixed(2),
      same_top1: top === peer.top, target: 'featviz >= 2x faster than onnxruntime-web on the same threads (GoogLeNet)',
    });
    const check = torch.check?.[c.key === 'g' ? 'googlenet' : 'mobilenet_v2'];
    if (pt) Object.assign(out[c.name], { pytorch_1thread_ms: +pt.ms.toFixed(2), pytorch_samples: pt.n, speedup_vs_pytorch: +(pt.ms / f.ms).toFixed(2),
      same_top1_pytorch: check ? check.index === top : null });
    if (check && c.threads === 1) notes.push(`${c.name}: top-1 of cat.bmp, featviz ${top}, onnxruntime-web ${peer.top}, PyTorch ${check.index} (${check.label})` +
      (top === peer.top && top === check.index ? ': the same network' : ': they DISAGREE'));
    peer.close();
    inf.free();
    img.free();
  }

  // ---- Lucid steps ----
  const stepCases = [
    { name: 'mobilenet_v2_step_b1', key: 'v2', layer: M_LAYER, channel: M_CHANNEL, threads: 1, batch: 1, torch: PYTORCH_MOBILENET_STEP_MS, ratio: 0.25 },
    { name: 'mobilenet_v2_step_b4_div', key: 'v2', layer: M_LAYER, channel: M_CHANNEL, threads: 1, batch: 4, diversity: 100 },
    { name: 'googlenet_step_b1', key: 'g', layer: G_LAYER, channel: G_CHANNEL, threads: 1, batch: 1, torch: PYTORCH_GOOGLENET_STEP_MS, ratio: 0.5, tfjs: true },
    // with the same step on one thread interleaved: the ratio of two samples that saw the same machine
    { name: 'googlenet_step_b1_threads2', key: 'g', layer: G_LAYER, channel: G_CHANNEL, threads: 2, batch: 1, pair1: true },
    { name: 'googlenet_step_b4_div', key: 'g', layer: G_LAYER, channel: G_CHANNEL, threads: 1, batch: 4, diversity: 100, memory: true },
  ];
  const relaxed = relaxedSimdSupported() && existsSync(join(ROOT, 'wasm/featviz-relaxed.wasm'));
  if (relaxed) stepCases.push({ name: 'googlenet_step_b1_relaxed', key: 'g', layer: G_LAYER, channel: G_CHANNEL, threads: 1, batch: 1, torch: PYTORCH_GOOGLENET_STEP_MS, ratio: 0.5, relaxed: true });
  else notes.push('googlenet_step_b1_relaxed not measured: this runtime has no relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)');
  let gProfile = null;
  for (const c of stepCases) {
    // peak memory: a fresh engine holds only this workload (WASM memory never shrinks)
    const own = c.memory || c.relaxed;
    const e = own ? await loadEngine({ relaxed: !!c.relaxed }) : engines[c.threads];
    const model = own ? e.loadModel(gBytes) : (c.threads === 1 ? models1 : models2)[c.key];
    const r = e.render(model, { size: 128, batch: c.batch, objective: { kind: 'channel', layer: c.layer, channel: c.channel }, ...(c.diversity ? { diversity: c.diversity } : {}) });
    // the tfjs peer (bench/peer-tfjs.mjs, tuned; one thread under Node) on the same network and
    // weights, its Lucid step redirecting ReLU gradients in its first 16 steps as featviz does
    // (channel 97 is dead on the noise both start from); bench/check-peer-googlenet.mjs checks it
    const peer = c.tfjs ? await createPeer(model) : null;
    const popts = peer && { size: 128, batch: c.batch, layer: model.layerIndex(c.layer), channel: c.channel, input: model.input };
    const s = peer?.lucid({ ...popts, redirectSteps: 16 });
    // and the same loop the plain way (tfjs's own ops and gradients, no redirect): what a tfjs user gets untuned
    const ss = peer?.lucid({ ...popts, stock: true });
    // 20 warm-up steps (featviz, tuned), past the 16 redirected-ReLU steps
    // each side with its warm-up runs
    const fns = [() => r.step(1)], warm = [20];
    if (s) fns.push(() => s.step(), () => ss.step()), warm.push(20, 3);
    const tf = c.torch ? torchFn(c.name) : null, kTorch = fns.length;
    if (tf) fns.push(tf), warm.push(3);
    const r1 = c.pair1 ? engines[1].render(models1[c.key], { size: 128, batch: c.batch, objective: { kind: 'channel', layer: c.layer, channel: c.channel } }) : null;
    const kPair = fns.length;
    if (r1) fns.push(() => r1.step(1)), warm.push(20);
    const res = await interleave(fns, { warm, budgetMs: budgetMs * (c.batch > 1 ? 1.2 : 0.8) * (s || r1 || tf ? 2 : 1) });
    const f = res[0], t = s && res[1], st = s && res[2];
    const extra = {};
    if (r1) {
      extra.featviz_1thread_interleaved_ms = +res[kPair].ms.toFixed(2);
      extra.speedup_vs_1thread_interleaved = +(res[kPair].ms / f.ms).toFixed(2);
      r1.free();
    }
    if (t) {
      const ti = tfInfo();
      Object.assign(extra, { tfjs_tuned_ms: +t.ms.toFixed(2), tfjs_stock_ms: +st.ms.toFixed(2), tfjs_backend: ti.backend, tfjs_multithread: ti.threads,
        tfjs_samples: t.n, tfjs_stock_samples: st.n, tfjs_version: ti.version, speedup_vs_tfjs_tuned: +(t.ms / f.ms).toFixed(2),
        speedup_vs_tfjs_stock: +(st.ms / f.ms).toFixed(2), tfjs_objective_after: +s.objective.toFixed(2), featviz_objective_after: +r.objective.toFixed(2) });
      s.dispose();
      ss.dispose();
      peer.dispose();
    }
    if (c.torch) {
      const pt = tf && res[kTorch];
      extra.pytorch_1thread_ms_issue = c.torch;
      extra.ratio_to_pytorch_issue = +(f.ms / c.torch).toFixed(3);
      if (pt) Object.assign(extra, { pytorch_1thread_ms: +pt.ms.toFixed(2), pytorch_samples: pt.n, ratio_to_pytorch: +(f.ms / pt.ms).toFixed(3) });
      extra.target = `<= ${c.ratio}x PyTorch's one-thread step (${pt ? `${(pt.ms * c.ratio).toFixed(1)} ms from PyTorch on this host; ` : ''}` +
        `about ${(c.torch * c.ratio).toFixed(0)} ms from the issue's figure)`;
    }
    if (c.memory) extra.peak_wasm_mb = +(e.memoryBytes() / 2 ** 20).toFixed(1), extra.target = 'peak WASM memory < 512 MB';
    out[c.name] = record(f.ms, f.n, r.flops / 1e9, e.threads, extra);
    if (c.name === 'googlenet_step_b1') gProfile = profileOf(e, r);
    r.free();
    if (own) model.free(), e.close();
  }
  const s1 = out.googlenet_step_b1, s2 = out.googlenet_step_b1_threads2;
  s2.speedup_vs_1thread = +(s1.featviz_ms / s2.featviz_ms).toFixed(2); /* against googlenet_step_b1's own sample */
  s2.target = '>= 1.6x faster than one thread';
  notes.push('the tfjs peer\'s MobileNet v2 figures are bench.mjs section 1\'s (tuned and stock; --json adds them to these rows); its GoogLeNet step\'s stock loop has no redirected ReLU, so its channel stays dead (the same work per step)');

  for (const m of [models1, models2]) Object.values(m).forEach((x) => x.free());
  Object.values(engines).forEach((e) => e.close());
  rmSync(dir, { recursive: true, force: true });

  console.log('\nNamed workloads (issue 11; median ms, featviz interleaved with its peer where it has one; a shared 2-core machine)');
  console.log('workload                       threads  featviz ms  GFLOP  GFLOP/s  % peak  peer                      peer ms  peer/featviz  samples');
  for (const [name, w] of Object.entries(out)) {
    // every peer of the row: the first on its line, the others on lines of their own below it
    const peers = [];
    if (w.onnxruntime_web_ms) peers.push([`onnxruntime-web ${w.onnxruntime_web_threads}t`, w.onnxruntime_web_ms, w.onnxruntime_web_samples]);
    if (w.tfjs_tuned_ms) peers.push(['tfjs-wasm tuned 1t', w.tfjs_tuned_ms, w.tfjs_samples]);
    if (w.tfjs_stock_ms) peers.push(['tfjs-wasm stock 1t', w.tfjs_stock_ms, w.tfjs_stock_samples]);
    if (w.pytorch_1thread_ms) peers.push(['PyTorch 1t (this host)', w.pytorch_1thread_ms, w.pytorch_samples]);
    if (w.pytorch_1thread_ms_issue) peers.push(['PyTorch 1t (the issue\'s)', w.pytorch_1thread_ms_issue, null]);
    if (!peers.length) peers.push(['', null, null]);
    const cols = ([peer, pms, pn]) => `${peer.padEnd(24)}  ${pad(pms ? pms.toFixed(1) : '-', 7)}  ${pad(pms ? (pms / w.featviz_ms).toFixed(2) + 'x' : '-', 12)}`;
    console.log(`${name.padEnd(30)} ${pad(w.threads, 7)}  ${pad(w.featviz_ms.toFixed(1), 10)}  ${pad(w.gflop.toFixed(2), 5)}  ${pad(w.gflops.toFixed(1), 7)}  ${pad(w.pct_peak.toFixed(1), 6)}  ` +
      `${cols(peers[0])}  ${pad(peers[0][2] ? `${w.samples}/${peers[0][2]}` : w.samples, 7)}` +
      `${w.peak_wasm_mb ? `  peak ${w.peak_wasm_mb} MB` : ''}${w.speedup_vs_1thread ? `  ${w.speedup_vs_1thread}x one thread` : ''}` +
      `${w.speedup_vs_1thread_interleaved ? ` (${w.speedup_vs_1thread_interleaved}x the 1-thread step interleaved with it, ${w.featviz_1thread_interleaved_ms} ms)` : ''}`);
    for (const p of peers.slice(1)) console.log(`${''.padEnd(73)}${cols(p)}  ${pad(p[2] ? `${w.samples}/${p[2]}` : '', 7)}`);
  }
  console.log(`\nGoogLeNet per-op profile (googlenet_step_b1; median of single profiled steps, ${gProfile.step_ms} ms profiled)`);
  for (const p of gProfile.ops) console.log(`  ${p.op.padEnd(40)} ${pad(p.ms.toFixed(2), 7)} ms  ${pad(p.share.toFixed(1), 5)}%  ${p.gflops ? pad(p.gflops.toFixed(1), 5) + ' GFLOP/s' : ''}`);
  const denseConvs = convBench();
  for (const n of notes) console.log(`note: ${n}`);
  if (!torch.error) torch.close();
  return { workloads: out, pytorch: torch.error ? { error: torch.error } : { version: torch.torch, threads: torch.threads, check: torch.check }, peak_gflops: peak.gflops, peak_source: peak.source, googlenet_profile: gProfile, googlenet_dense_convs: denseConvs, notes };
}
