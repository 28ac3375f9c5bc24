// atlas.mjs — throughput of `featviz atlas` on this machine, and what a whole
// GoogLeNet would take; prints figures, never asserts. Run: npm run bench:atlas
//
// Each model renders a sample of units (a channel or two of every layer of a layer
// set, the atlas's default render: 128 px, 512 steps) with the real CLI, as 1
// shard and as 2 shards in parallel processes (this machine has 2 cores); units
// per minute are wall-clock, start-up and model loading included. The projection
// for a whole GoogLeNet (every conv of its inception blocks, `inception_*/*_pre_relu`)
// weighs each block's per-unit time, from the 1-shard run on the block's output,
// by that block's channel count, at the 2-shard throughput of this machine, on
// 1, 10 and 100 such machines (interleaved shards take equal shares).
//
//   npm run bench:atlas                 both models (GoogLeNet once the engine loads ONNX)
//   node bench/atlas.mjs --steps 64     a quicker, rougher run
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEngine } from '../wasm/engine.js';
import { selectLayers, isModelFile } from '../wasm/options.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = process.env.FEATVIZ_MODELS || resolve(ROOT, '../shared/models');
const CLI = join(ROOT, 'bin', 'featviz.mjs');
const { values: flags } = parseArgs({ options: { steps: { type: 'string', default: '512' }, size: { type: 'string', default: '128' } } });

const BENCH = [
  { name: 'MobileNet v2', file: 'mobilenet_v2_1.0_224_quant.tflite', layers: 'MobilenetV2/expanded_conv_*/add', channels: '0-1' },
  {
    name: 'GoogLeNet', file: 'googlenet_bvlc.onnx', layers: 'inception_*/output', channels: '0',
    whole: 'inception_*/*_pre_relu', block: (name) => name.split('/')[0],
  },
];

/** Runs the shards' processes at once; resolves to { ms, units: [{ layer, s }], out, err } when all are done. */
function runShards(argsList) {
  const t0 = performance.now();
  return Promise.all(argsList.map((args) => new Promise((ok, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FEATVIZ_MODELS: MODELS } });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => (code === 0 ? ok({ out, err }) : fail(new Error(`featviz ${args.join(' ')}: exit ${code}\n${err}`))));
  }))).then((runs) => ({
    ms: performance.now() - t0,
    units: runs.flatMap((r) => [...r.err.matchAll(/: (\S+) #\d+ rendered in ([\d.]+) s/g)].map((m) => ({ layer: m[1], s: Number(m[2]) }))),
  }));
}

/** Why the engine cannot render this model here, or null. */
async function unusable(path) {
  if (!existsSync(path)) return `${path} is not in the model store`;
  if (!isModelFile(path)) return `this build's CLI does not take ${path.split('.').pop()} files yet`;
  try {
    const fv = await loadEngine();
    fv.loadModel(readFileSync(path)).free();
    return null;
  } catch (e) {
    return `the engine refuses it: ${e.message}`;
  }
}

const fmt = (n, d = 1) => n.toFixed(d).padStart(8);
const hours = (min) => (min >= 120 ? `${(min / 60).toFixed(1)} h` : `${min.toFixed(1)} min`);

console.log(`featviz atlas throughput: ${flags.size} px, ${flags.steps} steps a unit; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.versions.node}`);
console.log('The machine is shared with other work while this runs: figures move by ±20% or more between runs.\n');
console.log('model            sample units   1 shard units/min   2 shards units/min   speed-up   s/unit (1 shard)');
const results = new Map();
for (const b of BENCH) {
  const path = join(MODELS, b.file);
  const why = await unusable(path);
  if (why) {
    console.log(`${b.name.padEnd(16)} not measured: ${why}`);
    continue;
  }
  const base = ['atlas', path, '--layers', b.layers, '--channels', b.channels, '--size', flags.size, '--steps', flags.steps];
  const runs = {};
  for (const n of [1, 2]) {
    const out = mkdtempSync(join(tmpdir(), 'fv-bench-atlas-'));
    runs[n] = await runShards(Array.from({ length: n }, (_, i) => [...base, '--out', out, '--shard', `${i + 1}/${n}`]));
    rmSync(out, { recursive: true, force: true });
  }
  const units = runs[1].units.length, rate = (n) => (runs[n].units.length * 60000) / runs[n].ms;
  const perUnit = runs[1].units.reduce((s, u) => s + u.s, 0) / units;
  results.set(b.name, { b, runs, rate2: rate(2), perUnit });
  console.log(`${b.name.padEnd(16)} ${String(units).padStart(12)} ${fmt(rate(1))} ${' '.repeat(11)}${fmt(rate(2))} ${' '.repeat(12)}${fmt(rate(2) / rate(1), 2)}x ${fmt(perUnit, 2)}`);
}

// ---- a whole GoogLeNet ------------------------------------------------------------------------------
const g = results.get('GoogLeNet');
console.log('\nA whole GoogLeNet (every conv of its inception blocks):');
if (!g) {
  console.log('  not projected: GoogLeNet was not measured (above)');
} else {
  const fv = await loadEngine();
  const m = fv.loadModel(readFileSync(join(MODELS, g.b.file)));
  const layers = m.layers();
  const whole = selectLayers(layers, g.b.whole).map((i) => layers[i]);
  m.free();
  // per block: its channels in the whole set, and the sample's mean seconds a unit there
  const blocks = new Map();
  for (const l of whole) blocks.set(g.b.block(l.name), (blocks.get(g.b.block(l.name)) ?? 0) + l.shape[3]);
  const sampleS = new Map();
  for (const u of g.runs[1].units) (sampleS.get(g.b.block(u.layer)) ?? sampleS.set(g.b.block(u.layer), []).get(g.b.block(u.layer))).push(u.s);
  let total = 0, weighted = 0;
  for (const [block, n] of blocks) {
    const s = sampleS.get(block);
    if (!s) throw new Error(`no sample of block ${block}`);
    total += n;
    weighted += n * (s.reduce((a, x) => a + x, 0) / s.length);
  }
  const cost = weighted / total / g.perUnit; // the whole set's per-unit cost relative to the sample's
  const oneMachineMin = (total * cost) / g.rate2;
  console.log(`  ${total} units in ${whole.length} layers; per unit ${((weighted / total)).toFixed(2)} s on one core (the sample: ${g.perUnit.toFixed(2)} s)`);
  console.log(`  at this machine's 2-shard rate (${g.rate2.toFixed(1)} units/min on the sample):`);
  for (const machines of [1, 10, 100]) console.log(`  ${String(machines).padStart(4)} machine${machines > 1 ? 's' : ' '}  ${hours(oneMachineMin / machines)}`);
}
