// atlas.mjs — `featviz atlas`: every channel of the chosen layers rendered
// into an atlas folder (layout: bin/atlas-files.mjs), by one shard of as many
// as the job runner starts (bin/shard.mjs), with each unit's top photos when a
// photo folder is given (bin/examples.mjs). `featviz site DIR` turns the folder
// into pages (bin/site.mjs).
//
// A unit is one channel of one layer. Its files are named by the content id of
// what determines its pixels (manifestId: engine version, model sha256, the
// canonical options), so a shard skips a unit whose manifest is there, whoever
// wrote it, and a unit is written whole or not at all (atlas-files.mjs). A
// shard killed at any point and started again renders only what is missing.
// Progress goes to stderr, one line a unit; the summary line to stdout.
import { join, basename } from 'node:path';
import { parseArgs } from 'node:util';
import {
  FvError, RENDER_FLAGS, readFlags, readInputFlags, renderOptions, selectLayers, makeManifest, manifestInput, manifestId, contentId,
} from '../wasm/options.js';
import { UsageError, CATALOG, readInput, sha256, takeModel, open, intFlag } from './inputs.mjs';
import { ShardError, readShard, owns } from './shard.mjs';
import { CROP, listPhotos, scoreLayer, rank, cropAround } from './examples.mjs';
import {
  UNITS, EXAMPLES, makeAtlasDir, runPath, unitManifest, unitImages, examplesManifest, exampleImage, writeWhole, writeJson, done,
} from './atlas-files.mjs';

export const ATLAS_USAGE = `  atlas    [MODEL] --layers all|LIST|GLOB --out DIR [--channels 0-7,12] [--shard I/N] [--shard-count N]
           [--size --steps --batch --diversity --lr --seed --param --negative --no-decorrelate --no-transforms]
           [--examples PHOTO_DIR [--top 6]]
                                                    every channel of the layers rendered into DIR (named by
                                                    content, resumable): this process's shard of them, from
                                                    --shard or the job runner's variables (see examples/)`;

// the render flags that make sense for every unit (the objective is each unit's channel)
const PER_UNIT = new Set(['layer', 'channel', 'objective', 'x', 'y', 'class']);
const FLAGS = {
  ...Object.fromEntries(Object.entries(RENDER_FLAGS).filter(([k]) => !PER_UNIT.has(k))),
  layers: { type: 'string' }, channels: { type: 'string' }, out: { type: 'string' }, shard: { type: 'string' },
  'shard-count': { type: 'string' }, examples: { type: 'string' }, top: { type: 'string' },
};

/** --channels: "0-7,12" → [0..7, 12] sorted, each once. */
function parseChannels(text) {
  const out = new Set();
  for (const item of String(text).split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw new UsageError(`--channels must be a list of channels and ranges such as 0-7,12, got "${text}"`);
    }
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

export async function cmdAtlas(args) {
  const { values: v, positionals } = parseArgs({ args, allowPositionals: true, options: FLAGS });
  const [modelPath, rest] = takeModel(positionals);
  if (rest.length) throw new UsageError(`unexpected argument: ${rest[0]}`);
  if (v.layers === undefined) throw new UsageError('atlas needs --layers all|LIST|GLOB (see `featviz layers`)');
  if (v.out === undefined) throw new UsageError('atlas needs --out DIR');
  let shard;
  try {
    shard = readShard({ shard: v.shard, shardCount: v['shard-count'] }, process.env);
  } catch (e) {
    if (e instanceof ShardError) throw new UsageError(e.message);
    throw e;
  }
  const top = intFlag(v, 'top', 1) ?? 6;
  const wanted = v.channels === undefined ? null : parseChannels(v.channels);
  const photoDir = v.examples;
  const photos = photoDir === undefined ? null : listPhotos(photoDir);

  const { engine, model, labels, bytes, choice } = await open(modelPath, readInputFlags(v));
  const input = manifestInput(choice); // every unit's manifest records the model's input (and its id depends on it)
  const version = engine.version(), modelSha = sha256(bytes), file = basename(modelPath);
  const layers = model.layers();
  // the state every unit shares: the render flags over the defaults, the objective a channel
  const template = readFlags({ ...v, objective: 'channel', layer: '0', channel: '0' });
  delete template.layer;
  delete template.channel;
  const chosen = selectLayers(layers, v.layers).map((i) => {
    const l = layers[i], C = l.shape[3];
    const units = wanted ?? Array.from({ length: C }, (_, c) => c);
    if (units.at(-1) >= C) throw new UsageError(`--channels ${v.channels}: ${l.name} has channels 0..${C - 1}`);
    return { index: i, name: l.name, channels: C, units };
  });
  const all = chosen.flatMap((l) => l.units.map((channel) => ({ layer: l, channel })));
  const mine = all.filter((u, k) => owns(shard, k));
  const unitOptions = (u) => renderOptions({ ...template, layer: u.layer.name, channel: u.channel });
  engine.render(model, unitOptions(all[0])).free(); // options out of range are wrong for every unit: the engine says so once
  const out = v.out;
  makeAtlasDir(out);

  // the run: what this atlas is, the same file from every shard of the command
  const atlas = await contentId({ featviz: version, model: modelSha, state: template });
  const set = photos && await contentId(photos.map((f) => [f, sha256(readInput(join(photoDir, f), 'image'))]));
  const run = {
    featviz: version, model: { file, sha256: modelSha, catalog: CATALOG.byFile(file)?.id ?? null }, atlas, state: template,
    layers: chosen.map(({ index, name, channels, units }) => ({ index, name, channels, units })),
    examples: photos && { set, top, photos: photos.length, crop: CROP },
  };
  const runFile = runPath(out, await contentId(run));
  if (!done(runFile)) writeJson(runFile, run);

  const name = `featviz atlas ${shard.index + 1}/${shard.count}`;
  const say = (line) => process.stderr.write(`${name}: ${line}\n`);
  say(`${mine.length} of the atlas's ${all.length} units (${shard.source}), ${chosen.length} layer${chosen.length > 1 ? 's' : ''}, into ${out}`);
  const t0 = performance.now();
  const n = { rendered: 0, skipped: 0, failed: 0, examples: 0 };
  let k = 0;
  for (const layer of chosen) {
    const here = mine.filter((u) => u.layer === layer);
    if (!here.length) continue;
    if (photos) await writeExamples({ engine, model, layer, here, photoDir, photos, set, top, version, file, modelSha, out, say, n });
    for (const u of here) {
      k++;
      const unit = `unit ${k} of ${mine.length}: ${layer.name} #${u.channel}`;
      let r = null;
      try {
        r = engine.render(model, unitOptions(u));
        const id = await manifestId({ featviz: version, model: { sha256: modelSha }, input, options: r.options });
        if (done(unitManifest(out, id))) {
          n.skipped++;
          continue;
        }
        const t = performance.now();
        r.step(r.stepsPlanned);
        const images = unitImages(id, r.batch);
        images.forEach((f, i) => writeWhole(join(out, UNITS, f), r.png(i - 1)));
        const m = makeManifest({
          version, file, sha256: modelSha, input, options: r.options, stepsDone: r.stepsDone, objective: r.objective, images,
          unit: { layer: layer.name, index: layer.index, channel: u.channel, channels: layer.channels, atlas },
        });
        if ((await manifestId(m)) !== id) throw new Error(`${unit}: the finished render's manifest is not the one it was named by`);
        writeJson(unitManifest(out, id), m); // last: now the unit is done
        n.rendered++;
        say(`${unit} rendered in ${secs(performance.now() - t)}, objective ${r.objective.toFixed(4)} (${UNITS}/${id}.png)`);
      } catch (e) {
        if (!(e instanceof FvError)) throw e;
        n.failed++;
        say(`${unit} failed: ${e.message}`);
      } finally {
        r?.free();
      }
    }
  }
  const ms = performance.now() - t0;
  const rate = n.rendered ? `, ${((n.rendered * 60000) / ms).toFixed(1)} units/min` : '';
  console.log(`${name} (${shard.source}): ${mine.length} units: ${n.rendered} rendered, ${n.skipped} already done, ` +
    `${n.failed} failed` + (photos ? `; top photos of ${n.examples}` : '') + `; ${secs(ms)}${rate}; ${out}`);
  if (n.failed) throw new Error(`${n.failed} of ${mine.length} units failed (see the lines above); run the shard again once fixed`);
}

/** The top photos of the shard's units of one layer that lack them: one pass of the photos, then a file per unit. */
async function writeExamples({ engine, model, layer, here, photoDir, photos, set, top, version, file, modelSha, out, say, n }) {
  const todo = [];
  for (const u of here) {
    const id = await contentId({ featviz: version, model: modelSha, layer: layer.name, channel: u.channel, photos: set, top, crop: CROP });
    if (!done(examplesManifest(out, id))) todo.push({ ...u, id });
  }
  if (!todo.length) return;
  const t = performance.now();
  const scores = scoreLayer(engine, model, layer.index, todo.map((u) => u.channel), photoDir, photos, {
    onSkip: (f, e) => say(`skipping photo ${f}: ${e.message}`),
  });
  for (const u of todo) {
    const best = rank(scores, u.channel, top).map((p, k) => {
      const { png, box } = cropAround(engine, readInput(join(photoDir, p.file), 'image'), p, scores);
      writeWhole(join(out, EXAMPLES, exampleImage(u.id, k)), png);
      return { ...p, box, image: exampleImage(u.id, k) };
    });
    writeJson(examplesManifest(out, u.id), {
      featviz: version, model: { file, sha256: modelSha }, layer: layer.name, channel: u.channel, photos: set,
      ranking: 'mean activation over space, highest first', map: [scores.h, scores.w], crop: CROP, top: best,
    });
    n.examples++;
  }
  say(`${layer.name}: top ${top} of ${scores.files.length} photos for ${todo.length} unit${todo.length > 1 ? 's' : ''} in ${secs(performance.now() - t)}`);
}
