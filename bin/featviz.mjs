#!/usr/bin/env node
// featviz — the command line: list a model's layers, classify photos, rank
// photos by a channel, render; `atlas` and `site` live in bin/atlas.mjs and
// bin/site.mjs. The engine (wasm/featviz.wasm) does the work; this file reads
// files, parses flags and prints (what commands share: bin/inputs.mjs).
import { writeFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  FvError, InputError, MODEL_EXTENSIONS, RENDER_FLAGS, readFlag, readFlags, renderOptions, makeManifest, readManifest,
  checkManifestModel,
} from '../wasm/options.js';
import { DEFAULT_MODEL, UsageError, modelsDir, readInput, sha256, takeModel, open, intFlag } from './inputs.mjs';
import { listPhotos, scoreLayer, rank } from './examples.mjs';
import { cmdAtlas, ATLAS_USAGE } from './atlas.mjs';
import { cmdSite, SITE_USAGE } from './site.mjs';
import { prepareOptions } from '../wasm/photo-data.js';
import { Movie } from '../wasm/movie.js';

export { DEFAULT_MODEL, modelsDir };

const USAGE = `usage: featviz <command> [MODEL] ...
  layers   [MODEL]                                  every layer: index, name, op, output shape
  classify [MODEL] IMAGE...  [--top K]              top-K ImageNet labels of each photo
  examples [MODEL] --layer L --channel K DIR [--top N]
                                                    photos in DIR ranked by the channel's mean activation
  render   [MODEL] --layer L --channel K [--objective neuron|channel|layer|class|direction|EXPRESSION]
           [--x X --y Y] [--class LABEL] [--photo PHOTO] [--caricature PHOTO] [--negative]
           [--batch N --diversity W] [--size 128] [--steps 512] [--lr 0.05] [--seed S] [--param fft|pixel|cppn|laplacian]
           [--no-decorrelate] [--no-transforms] [--alpha [--alpha-blur 0.1]] [--out out.png] [--each]
           [--no-manifest] [--movie out.gif [--movie-every 8]]
                                                    optimize an image that the objective likes;
                                                    writes out.png and its manifest out.json
           EXPRESSION: e.g. "L:97 + 0.5*L2:12 - 100*diversity(L)", "direction(L, photo.jpg)",
           "L:3@7,7", "class(macaw) - 0.1*tv" (the grammar: src/objective_expr.h)
           --objective direction --photo P: the photo's mean activation at --layer;
           --caricature P --layer L: an image whose activations at L match the photo's
           --movie: an animated GIF with a frame every N steps (the last is the PNG's image)
           --alpha: an RGBA image, optimized over a fresh random background each step
           --interpolate LAYER:CHANNEL --batch N: N frames from --channel to CHANNEL, aligned (shared low-res params)
           --param laplacian: the image as a Laplacian pyramid of low-resolution tensors
           --param cppn [--cppn-size 1024]: the image as a CPPN (Adam at 0.005 unless --lr), its PNG drawn at 1024 px
  render   --manifest m.json [--out out.png]        re-render exactly what a manifest describes
${ATLAS_USAGE}
${SITE_USAGE}
MODEL is a ${MODEL_EXTENSIONS.join(' or ')} file; by default ${DEFAULT_MODEL} from the model store
($FEATVIZ_MODELS, else models/, else ../shared/models).`;

// ---- commands ---------------------------------------------------------------------

async function cmdLayers(args) {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [modelPath, rest] = takeModel(positionals);
  if (rest.length) throw new UsageError(`unexpected argument: ${rest[0]}`);
  const { model } = await open(modelPath);
  const inp = model.input;
  console.log(`# ${basename(modelPath)}: input ${inp.shape.slice(1).join('x')}, values ${inp.min}..${inp.max}`);
  for (const l of model.layers()) {
    console.log(`${String(l.index).padStart(3)}  ${l.name.padEnd(48)} ${l.op.padEnd(18)} ${l.shape.slice(1).join('x')}`);
  }
}

async function cmdClassify(args) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { top: { type: 'string' } } });
  const [modelPath, images] = takeModel(positionals);
  if (!images.length) throw new UsageError('classify needs at least one IMAGE');
  const k = intFlag(values, 'top', 1) ?? 5;
  const photos = images.map((p) => [p, readInput(p, 'image')]);
  const { engine, model, labels } = await open(modelPath);
  const inf = engine.infer(model);
  for (const [path, bytes] of photos) {
    try {
      inf.runImage(bytes);
    } catch (e) {
      if (e instanceof FvError) throw new Error(`${path}: ${e.message}`);
      throw e;
    }
    console.log(path);
    inf.topk(k).forEach(({ index, prob }, j) => {
      console.log(`  ${j + 1}. ${labels.name(index).padEnd(32)} ${prob.toFixed(4)}  (${index})`);
    });
  }
  inf.free();
}

async function cmdExamples(args) {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { layer: { type: 'string' }, channel: { type: 'string' }, top: { type: 'string' } },
  });
  const [modelPath, rest] = takeModel(positionals);
  if (rest.length !== 1) throw new UsageError('examples needs one DIR of photos');
  if (values.layer === undefined) throw new UsageError('examples needs --layer NAME (see `featviz layers`)');
  if (values.channel === undefined) throw new UsageError('examples needs --channel K');
  const channel = readFlag(values, 'channel', 'int'); // its range is the engine's to check
  const top = intFlag(values, 'top', 1) ?? 10;
  const dir = rest[0];
  const files = listPhotos(dir);
  const { engine, model } = await open(modelPath);
  const layer = model.layerIndex(values.layer);
  const scores = scoreLayer(engine, model, layer, [channel], dir, files, {
    onSkip: (f, e) => console.error(`featviz: skipping ${f}: ${e.message}`),
  });
  console.log(`# ${model.layers()[layer].name} channel ${channel}: mean activation, highest first`);
  for (const { score, file } of rank(scores, channel, top)) console.log(`${score.toFixed(5).padStart(10)}  ${file}`);
}

// ---- render ------------------------------------------------------------------------------

/** Draws a progress bar with the objective on stderr (a terminal), or nothing. */
function progress(done, total, objective) {
  if (!process.stderr.isTTY) return;
  const w = 30, k = total ? Math.round((w * done) / total) : w;
  process.stderr.write(`\r[${'#'.repeat(k)}${'-'.repeat(w - k)}] ${done}/${total}  objective ${objective.toFixed(4)} `);
  if (done === total) process.stderr.write('\n');
}

async function cmdRender(args) {
  const options = {
    ...RENDER_FLAGS, out: { type: 'string' }, each: { type: 'boolean' }, manifest: { type: 'string' },
    'no-manifest': { type: 'boolean' }, movie: { type: 'string' }, 'movie-every': { type: 'string' },
  };
  const { values: v, positionals } = parseArgs({ args, allowPositionals: true, options });
  let [modelPath, rest] = takeModel(positionals);
  if (rest.length) throw new UsageError(`unexpected argument: ${rest[0]}`);
  let opts, manifest;
  if (v.manifest) {
    manifest = readManifest(readInput(v.manifest, 'manifest').toString('utf8'), v.manifest);
    if (!positionals.length) modelPath = join(modelsDir(), basename(manifest.model.file));
    opts = manifest.options;
  }
  const modelBytes = readInput(modelPath, 'model');
  if (manifest) checkManifestModel(manifest, sha256(modelBytes), basename(modelPath));
  if (v.movie !== undefined && !/\.gif$/i.test(v.movie)) throw new UsageError(`--movie writes an animated GIF: give a .gif file, got ${v.movie}`);
  const every = intFlag(v, 'movie-every', 1) ?? 8;
  const { engine, model, labels } = await open(modelPath);
  opts ??= renderOptions(readFlags(v));
  // the objective through the engine's grammar, class names through the labels, photos read from their paths
  const prepared = await prepareOptions(engine, model, opts, { labels: labels.names, photo: (name) => readInput(name, 'photo') });
  const r = engine.render(model, prepared.options);
  const total = r.stepsPlanned;
  const chunk = Math.max(1, Math.min(16, total >> 5));
  const movie = v.movie !== undefined ? new Movie({ every }) : null;
  const frame = () => {
    const n = r.size * r.size * 4, rgba = new Uint8Array(n * r.batch);
    for (let i = 0; i < r.batch; i++) rgba.set(r.rgba(i), i * n);
    return { step: r.stepsDone, size: r.size, batch: r.batch, rgba };
  };
  movie?.add(frame());
  for (let done = 0; done < total;) {
    const n = Math.min(chunk, total - done, movie ? every - (done % every) : Infinity); // stop at each movie frame
    r.step(n);
    done += n;
    movie?.add(frame(), { last: done === total });
    progress(done, total, r.objective);
  }
  const out = v.out ?? 'featviz.png';
  const written = [];
  if (v.each) {
    for (let i = 0; i < r.batch; i++) {
      const f = out.replace(/(\.png)?$/i, `-${i}.png`);
      writeFileSync(f, r.png(i));
      written.push(f);
    }
  } else {
    writeFileSync(out, r.png(-1));
    written.push(out);
  }
  if (!v['no-manifest']) {
    const m = makeManifest({
      version: engine.version(), file: basename(modelPath), sha256: sha256(modelBytes), options: r.options,
      stepsDone: r.stepsDone, objective: r.objective, images: written.map((f) => basename(f)),
    });
    const f = out.replace(/(\.png)?$/i, '.json');
    writeFileSync(f, JSON.stringify(m, null, 2) + '\n');
    written.push(f);
  }
  if (movie) {
    writeFileSync(v.movie, movie.gif());
    written.push(`${v.movie} (${movie.count} frames)`);
  }
  console.log(`${written.join(' ')}  (${total} steps, objective ${r.objective.toFixed(4)})`);
  r.free();
}

const COMMANDS = { layers: cmdLayers, classify: cmdClassify, examples: cmdExamples, render: cmdRender, atlas: cmdAtlas, site: cmdSite };

export async function main(argv) {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return 0;
  }
  const run = COMMANDS[cmd];
  try {
    if (!run) throw new UsageError(`unknown command "${cmd}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
    await run(args);
    return 0;
  } catch (e) {
    // One clear line for the user's mistakes; a stack only for our own bugs.
    const usage = e instanceof UsageError || e instanceof InputError || e.code?.startsWith?.('ERR_PARSE_ARGS');
    const userError = usage || e instanceof FvError || e.constructor === Error;
    console.error(`featviz: ${userError ? e.message : e.stack}`);
    return usage ? 2 : 1;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
