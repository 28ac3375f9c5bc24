// ab.mjs — two builds of featviz side by side in one process: the same render's step
// (GoogLeNet's googlenet_step_b1, or MobileNet v2's) from each checkout's wasm/engine.js,
// interleaved (timing.mjs), so a change is measured against its parent under the same load.
//
//   node bench/ab.mjs ROOT_A ROOT_B [googlenet|mobilenet] [--threads N | --threads NA,NB] [--ms 30000]
//
// --threads NA,NB gives each side its own thread count: `ab.mjs . . googlenet --threads 1,2` is one
// build's two-thread speedup, both sides interleaved.
// Each ROOT is a built checkout (`git worktree add /tmp/a REV && make -C /tmp/a -f emcc.mk wasm`).
// Prints each side's median step ms, its sample count and B's ratio to A.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { interleave } from './timing.mjs';
import { STEP_NETS } from './nets.mjs';
import { model } from '../tests/paths.mjs';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args.splice(i, 2)[1];
};
const [threadsA, threadsB = threadsA] = String(flag('--threads', '1')).split(',').map(Number), budgetMs = +flag('--ms', 30000);
const [rootA, rootB, net = 'googlenet'] = args;
if (!rootA || !rootB || !STEP_NETS[net]) {
  console.error('usage: node bench/ab.mjs ROOT_A ROOT_B [googlenet|mobilenet] [--threads N|NA,NB] [--ms 30000]');
  process.exit(2);
}
const cfg = STEP_NETS[net]; // the named workloads' objectives
const bytes = readFileSync(model(cfg.file));

async function side(root, threads) {
  const url = pathToFileURL(resolve(root, 'wasm/engine.js')).href;
  const { loadEngine } = await import(url);
  const e = await loadEngine(threads > 1 ? { threads } : {});
  const objective = { kind: 'channel', layer: cfg.layer, channel: cfg.channel };
  const r = e.render(e.loadModel(bytes), { size: 128, batch: 1, objective });
  return () => r.step(1);
}

const fns = [await side(rootA, threadsA), await side(rootB, threadsB)];
const [a, b] = await interleave(fns, { warm: [3, 3], budgetMs });
const th = threadsA === threadsB ? `${threadsA} thread${threadsA > 1 ? 's' : ''}` : `A ${threadsA}, B ${threadsB} threads`;
console.log(`${net} step at 128 px, ${th}: A ${a.ms.toFixed(2)} ms (${a.n}), ` +
  `B ${b.ms.toFixed(2)} ms (${b.n}), B/A ${(b.ms / a.ms).toFixed(3)}`);
