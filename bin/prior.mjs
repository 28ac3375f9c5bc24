// prior.mjs — `featviz prior fit|score` and the prior a render reads (src/prior.h):
// fitting a Gaussian mixture of 8x8 patches to a folder of photos (the recipe is
// wasm/prior-fit.js's), scoring images under one, and finding a render's prior.
import { writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEngine } from '../wasm/engine.js';
import { FvError, PRIOR_WEIGHT } from '../wasm/options.js';
import { startFit, PRIOR_FIT_DEFAULTS, SHIPPED_PRIOR_NAME } from '../wasm/prior-fit.js';
import { UsageError, ROOT, readInput, sha256, intFlag } from './inputs.mjs';
import { listPhotos } from './examples.mjs';

// the prior fitted on the store's photos, made by scripts/setup.sh (git-ignored: ~0.6 MB)
export const SHIPPED_PRIOR = `models/${SHIPPED_PRIOR_NAME}`;

const D = PRIOR_FIT_DEFAULTS;
export const PRIOR_USAGE = `  prior fit DIR --out prior.bin [--components ${D.components}] [--iterations ${D.iterations}] [--stride ${D.stride}]
           [--max-patches ${D.maxPatches}] [--seed 0]     fit a Gaussian mixture of 8x8 patches to the photos in DIR (EM)
  prior score prior.bin IMAGE...                    each image's mean −log p per patch coordinate (lower: likelier)
           render --prior prior.bin [--prior-weight W]: the render subtracts W (default ${PRIOR_WEIGHT}) times the prior's
           −log p; --prior-weight alone uses ${SHIPPED_PRIOR}; a manifest's prior is found beside it (the page's
           "download prior.bin" saves it under the name the manifest records), then in models/`;

/** The prior a render reads: --prior FILE; else a manifest's (beside it, then models/), checked
 * against its sha256; else the shipped one when the objective has a prior term; else null. */
export function openPrior(engine, v, manifest, weighs) {
  const rec = manifest?.prior;
  let path = v.prior;
  if (!path && rec) {
    if (typeof rec.file !== 'string' || !rec.file || rec.file !== basename(rec.file)) {
      throw new Error(`${v.manifest}: its prior's file must be a file name, got ${JSON.stringify(rec.file)}`);
    }
    const dir = resolve(dirname(v.manifest)), beside = join(dir, rec.file), models = join(ROOT, 'models', rec.file);
    path = [beside, models].find((f) => existsSync(f));
    if (!path) {
      const get = rec.file === SHIPPED_PRIOR_NAME ? `bash scripts/setup.sh makes ${SHIPPED_PRIOR}`
        : `download it from the page that rendered it ("download prior.bin" under Prior weight) into ${dir}`;
      throw new Error(`the manifest's prior ${rec.file} (sha256 ${rec.sha256}) is neither beside the manifest (${beside}) ` +
        `nor in models/: ${get}, or make it with: ${rec.made}`);
    }
  }
  if (!path && weighs) path = join(ROOT, SHIPPED_PRIOR);
  if (!path) return null;
  if (!existsSync(path) && !v.prior && !manifest) {
    throw new UsageError(`--prior-weight needs a prior: --prior FILE, or ${SHIPPED_PRIOR} (bash scripts/setup.sh makes it)`);
  }
  const bytes = readInput(path, 'prior');
  if (rec?.sha256 && sha256(bytes) !== rec.sha256) {
    throw new Error(`${path} is not the manifest's prior (sha256 ${sha256(bytes).slice(0, 12)}…, the manifest's ` +
      `${rec.sha256.slice(0, 12)}…): a damaged or different file; make it with: ${rec.made}`);
  }
  try {
    return { prior: engine.loadPrior(bytes), bytes, path };
  } catch (e) {
    if (e instanceof FvError) throw new Error(`${path}: ${e.message}`);
    throw e;
  }
}

export async function cmdPrior(args) {
  const [sub, ...rest] = args;
  if (sub === 'fit') return priorFit(rest);
  if (sub === 'score') return priorScore(rest);
  throw new UsageError(`prior needs a subcommand: fit or score${sub ? ` (got "${sub}")` : ''}`);
}

async function priorFit(args) {
  const options = Object.fromEntries(['out', 'components', 'iterations', 'stride', 'max-patches', 'seed'].map((k) => [k, { type: 'string' }]));
  const { values: v, positionals } = parseArgs({ args, allowPositionals: true, options });
  if (positionals.length !== 1) throw new UsageError('prior fit needs one DIR of photos');
  if (!v.out) throw new UsageError('prior fit needs --out prior.bin');
  const dir = positionals[0];
  const entries = listPhotos(dir);
  // ranges are the engine's (src/prior_fit.c) to judge; absent: its default
  const o = {};
  for (const [flag, key] of [['components', 'components'], ['iterations', 'iterations'], ['stride', 'stride'], ['max-patches', 'maxPatches'], ['seed', 'seed']]) {
    const n = intFlag(v, flag, 0);
    if (n !== undefined) o[key] = n;
  }
  const engine = await loadEngine();
  const fit = startFit(engine, entries.map((f) => ({ name: f, bytes: readInput(join(dir, f), 'photo') })), o);
  for (const s of fit.skipped) console.error(`featviz: skipping ${s.name}: ${s.error}`);
  let last;
  for (const p of fit.steps()) {
    last = p;
    if (process.stderr.isTTY) process.stderr.write(`\rEM ${p.iteration}/${p.iterations}  log-likelihood per patch ${p.loglik.toFixed(3)} `);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const { bytes } = fit.finish();
  writeFileSync(v.out, bytes);
  console.log(`${v.out}  (${fit.used} photos, ${last.patches} patches, ${fit.options.components} components, ` +
    `${last.iteration} EM iterations, log-likelihood per patch ${last.loglik.toFixed(3)}; sha256 ${sha256(bytes)})`);
}

async function priorScore(args) {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length < 2) throw new UsageError('prior score needs prior.bin and at least one IMAGE');
  const [file, ...images] = positionals;
  const engine = await loadEngine();
  let prior;
  try {
    prior = engine.loadPrior(readInput(file, 'prior'));
  } catch (e) {
    if (e instanceof FvError) throw new Error(`${file}: ${e.message}`);
    throw e;
  }
  for (const path of images) {
    const im = engine.decodeImage(readInput(path, 'image'));
    try {
      console.log(`${prior.score(im).toFixed(4).padStart(9)}  ${path}`);
    } finally {
      im.free();
    }
  }
  prior.free();
}
