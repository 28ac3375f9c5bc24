#!/usr/bin/env node
// featviz — the command line: list a model's layers, classify photos, rank
// photos by a channel, print a layer's activations, render; `atlas` and `site` live in bin/atlas.mjs and
// bin/site.mjs. The engine (wasm/featviz.wasm) does the work; this file reads
// files, parses flags and prints (what commands share: bin/inputs.mjs).
import { writeFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  FvError, InputError, MODEL_EXTENSIONS, RENDER_FLAGS, INPUT_FLAGS, THREADS_FLAG, readThreads, readFlag, readFlags, readInputFlags, renderOptions, makeManifest,
  manifestInput, readManifest, checkManifestModel,
} from '../wasm/options.js';
import { DEFAULT_MODEL, UsageError, modelsDir, readInput, sha256, takeModel, open, intFlag, cores, closeAll } from './inputs.mjs';
import { listPhotos, scoreLayer, rank } from './examples.mjs';
import { cmdAtlas, ATLAS_USAGE } from './atlas.mjs';
import { cmdSite, SITE_USAGE } from './site.mjs';
import { cmdPrior, openPrior, PRIOR_USAGE } from './prior.mjs';
import { priorRecord } from '../wasm/prior-fit.js';
import { prepareOptions } from '../wasm/photo-data.js';
import { Movie } from '../wasm/movie.js';

export { DEFAULT_MODEL, modelsDir };

const USAGE = `usage: featviz <command> [MODEL] ...
  layers   [MODEL]                                  every layer: index, name (the file's), op, output shape
  classify [MODEL] IMAGE...  [--top K]              top-K ImageNet labels of each photo
  examples [MODEL] --layer L --channel K DIR [--top N]
                                                    photos in DIR ranked by the channel's mean activation
  activations [MODEL] IMAGE --layer L [--json]      the layer's activations for the photo: layer, shape,
                                                    layout (the file's: NCHW for ONNX, NHWC for TFLite), values
  render   [MODEL] --layer L --channel K [--objective neuron|channel|layer|class|direction|EXPRESSION]
           [--x X --y Y] [--class LABEL] [--photo PHOTO] [--caricature PHOTO] [--negative]
           [--batch N --diversity W] [--size 128] [--steps 512] [--lr 0.05] [--seed S] [--param fft|pixel|cppn|laplacian]
           [--no-decorrelate] [--no-transforms] [--alpha [--alpha-blur 0.1]] [--out out.png] [--each]
           [--no-manifest] [--movie out.gif [--movie-every 8]] [--prior prior.bin] [--prior-weight W]
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
${PRIOR_USAGE}
${ATLAS_USAGE}
${SITE_USAGE}
MODEL is a ${MODEL_EXTENSIONS.join(' or ')} file; by default ${DEFAULT_MODEL} from the model store
($FEATVIZ_MODELS, else models/, else ../shared/models).
Every command that runs the model takes --input PRESET [--bgr]: what a photo's pixels become
  imagenet  RGB, (p/255 - mean)/std (torchvision)   caffe  BGR, p - [104, 117, 123]
  0:1  p/255   -1:1  p/127.5 - 1   0:255  p         --bgr swaps the preset's channel order
  auto (the default): what the file says (ONNX image metadata, TFLite normalization or input
  quantization), else the catalog's entry, else a guess from the store's photos
  ($FEATVIZ_IMAGES, else the store's images/), said on stderr with how sure it is.
layers, classify, examples, activations and render take --threads N: the engine's threads
  (default: the machine's cores; the same bytes on any count).`;

/** One line on the model's input as the engine holds it: "BGR, values 0..255 (onnx metadata)". */
function inputLine(inp) {
  const r = (v) => Number(v.toFixed(4));
  return `${inp.bgr ? 'BGR' : 'RGB'}, values ${r(inp.min)}..${r(inp.max)} (${inp.source || 'not stated by the file'})`;
}

// ---- commands ---------------------------------------------------------------------

async function cmdLayers(args) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...THREADS_FLAG } });
  const [modelPath, rest] = takeModel(positionals);
  if (rest.length) throw new UsageError(`unexpected argument: ${rest[0]}`);
  // what the file says; classify, examples and render decide with photos
  const { model } = await open(modelPath, null, [], { threads: readThreads(values, cores()) });
  const inp = model.input;
  console.log(`# ${basename(modelPath)}: input ${inp.shape.slice(1).join('x')}, ${inputLine(inp)}`);
  for (const l of model.layers()) {
    console.log(`${String(l.index).padStart(3)}  ${l.name.padEnd(48)} ${l.op.padEnd(18)} ${l.shape.slice(1).join('x')}`);
  }
}

async function cmdClassify(args) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { top: { type: 'string' }, ...INPUT_FLAGS, ...THREADS_FLAG } });
  const [modelPath, images] = takeModel(positionals);
  if (!images.length) throw new UsageError('classify needs at least one IMAGE');
  const k = intFlag(values, 'top', 1) ?? 5;
  const want = readInputFlags(values);
  const photos = images.map((p) => [p, readInput(p, 'image')]);
  const { engine, model, labels } = await open(modelPath, want, photos.map(([, b]) => b), { threads: readThreads(values, cores()) });
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
    options: { layer: { type: 'string' }, channel: { type: 'string' }, top: { type: 'string' }, ...INPUT_FLAGS, ...THREADS_FLAG },
  });
  const [modelPath, rest] = takeModel(positionals);
  if (rest.length !== 1) throw new UsageError('examples needs one DIR of photos');
  if (values.layer === undefined) throw new UsageError('examples needs --layer NAME (see `featviz layers`)');
  if (values.channel === undefined) throw new UsageError('examples needs --channel K');
  const channel = readFlag(values, 'channel', 'int'); // its range is the engine's to check
  const top = intFlag(values, 'top', 1) ?? 10;
  const want = readInputFlags(values);
  const dir = rest[0];
  const files = listPhotos(dir);
  const { engine, model } = await open(modelPath, want, files.slice(0, 8).map((f) => readInput(join(dir, f), 'image')), { threads: readThreads(values, cores()) });
  const layer = model.layerIndex(values.layer);
  const scores = scoreLayer(engine, model, layer, [channel], dir, files, {
    onSkip: (f, e) => console.error(`featviz: skipping ${f}: ${e.message}`),
  });
  console.log(`# ${model.layers()[layer].name} channel ${channel}: mean activation, highest first`);
  for (const { score, file } of rank(scores, channel, top)) console.log(`${score.toFixed(5).padStart(10)}  ${file}`);
}

/**
 * A layer's activations as the model's file lays them out: ONNX tensors are NCHW (a tensor
 * without space, e.g. Gemm's [N, C], as [N, C, 1, 1]), TFLite's NHWC, the engine's own.
 */
export function fileLayout(model, { shape, data }) {
  const onnx = !/^[A-Z0-9_]+$/.test(model.layers()[0]?.op ?? '');
  if (!onnx) return { shape, layout: 'NHWC', values: data };
  const [N, H, W, C] = shape, out = new Float32Array(data.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(n * C + c) * H * W + p] = data[(n * H * W + p) * C + c];
  return { shape: [N, C, H, W], layout: 'NCHW', values: out };
}

async function cmdActivations(args) {
  const { values: v, positionals } = parseArgs({
    args, allowPositionals: true, options: { layer: { type: 'string' }, json: { type: 'boolean' }, ...INPUT_FLAGS, ...THREADS_FLAG },
  });
  const [modelPath, rest] = takeModel(positionals);
  if (rest.length !== 1) throw new UsageError('activations needs one IMAGE');
  if (v.layer === undefined) throw new UsageError('activations needs --layer NAME (see `featviz layers`)');
  const want = readInputFlags(v);
  const photo = readInput(rest[0], 'image');
  const { engine, model, choice } = await open(modelPath, want, [photo], { threads: readThreads(v, cores()) });
  const layer = model.layerIndex(v.layer);
  const inf = engine.infer(model, { lastLayer: layer });
  try {
    inf.runImage(photo);
  } catch (e) {
    if (e instanceof FvError) throw new Error(`${rest[0]}: ${e.message}`);
    throw e;
  }
  const name = model.layers()[layer].name;
  const { shape, layout, values } = fileLayout(model, inf.layer(layer));
  inf.free();
  if (v.json) {
    // 9 significant digits read back to the same float32
    const text = Array.from(values, (x) => String(Number(x.toPrecision(9)))).join(',');
    process.stdout.write(`{"layer":${JSON.stringify(name)},"shape":${JSON.stringify(shape)},"layout":"${layout}",`
      + `"input":${JSON.stringify(choice.label ?? choice.input.source)},"values":[${text}]}\n`);
    return;
  }
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (const x of values) { lo = Math.min(lo, x); hi = Math.max(hi, x); sum += x; }
  console.log(`# ${name}: shape ${shape.join('x')} (${layout}), input ${choice.label ?? choice.input.source}`);
  console.log(`min ${lo.toPrecision(6)}  max ${hi.toPrecision(6)}  mean ${(sum / values.length).toPrecision(6)}`);
  console.log(`first values: ${Array.from(values.subarray(0, 8), (x) => x.toPrecision(6)).join(' ')}`);
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
  const { values: v, positionals } = parseArgs({ args, allowPositionals: true, options: { ...options, ...INPUT_FLAGS, ...THREADS_FLAG } });
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
  const state = manifest ? null : readFlags(v);
  const { engine, model, labels, choice } = await open(modelPath, manifest ? { manifest: manifest.input } : state, [], { threads: readThreads(v, cores()) });
  opts ??= renderOptions(state);
  const weighsPrior = engine.describe(model, opts, labels.names).terms.some((t) => t.kind === 'prior');
  const prior = openPrior(engine, v, manifest, weighsPrior);
  // the objective through the engine's grammar, class names through the labels, photos read from their paths
  const prepared = await prepareOptions(engine, model, opts, { labels: labels.names, photo: (name) => readInput(name, 'photo') });
  const r = engine.render(model, prepared.options, { prior: prior?.prior });
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
      version: engine.version(), file: basename(modelPath), sha256: sha256(modelBytes),
      input: manifest?.input ?? manifestInput(choice), options: r.options,
      stepsDone: r.stepsDone, objective: r.objective, images: written.map((f) => basename(f)),
      prior: prior && (await priorRecord(prior.prior, prior.bytes, basename(prior.path))),
    });
    const f = out.replace(/(\.png)?$/i, '.json');
    writeFileSync(f, JSON.stringify(m, null, 2) + '\n');
    written.push(f);
  }
  if (movie) {
    writeFileSync(v.movie, movie.gif());
    written.push(`${v.movie} (${movie.count} frames)`);
  }
  console.log(`${written.join(' ')}  (${total} steps, objective ${r.objective.toFixed(4)}, ${engine.threads} thread${engine.threads > 1 ? 's' : ''}${engine.threadsReason ? `: ${engine.threadsReason}` : ''})`);
  r.free();
  prior?.prior.free();
}

const COMMANDS = {
  layers: cmdLayers, classify: cmdClassify, examples: cmdExamples, activations: cmdActivations, render: cmdRender, prior: cmdPrior,
  atlas: cmdAtlas, site: cmdSite,
};

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
  } finally {
    closeAll();
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
