// `featviz atlas` and `featviz site` as a user runs them: three shards of a
// small layer set in parallel processes, one killed with SIGKILL half-way and
// started again; then what the folder holds (each unit once, named by its
// manifest, re-rendering to the same bytes), the top photos against activations
// summed here, and the site's links. The shard rules against each runner's
// variables; the layer spec against MobileNet v2's layer list.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEngine } from '../wasm/engine.js';
import { selectLayers, manifestId, contentId, canonicalJson, readQuery } from '../wasm/options.js';
import { readShard, owns } from '../bin/shard.mjs';
import { ROOT, MODELS, model, image } from './paths.mjs';
import {
  CLI, MODEL, LAYER_NAMES, PHOTOS, TOP, ALL_UNITS, atlasArgs, photoFolder, tempDir, startCli, cli, renderedIn,
  summary, readUnits, crawlSite,
} from './atlas-helpers.mjs';

// ---- the shard of a process ----------------------------------------------------------------------------

test('the shard comes from --shard or the job runner’s own variables, and a variable that cannot be one is an error', () => {
  const at = (flags, env) => { const s = readShard(flags, env); return [s.index, s.count]; };
  assert.deepEqual(at({}, {}), [0, 1], 'no shard: the whole atlas');
  assert.deepEqual(at({ shard: '2/3' }, {}), [1, 3]);
  assert.deepEqual(at({ shard: '3/3' }, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '5' }), [2, 3], '--shard wins');
  // Slurm: --array=0-4, --array=1-5, --array=3-11:4 (ids 3, 7, 11)
  assert.deepEqual(at({}, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '5' }), [4, 5]);
  assert.deepEqual(at({}, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '5' }), [0, 5]);
  assert.deepEqual(at({}, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_STEP: '4', SLURM_ARRAY_TASK_COUNT: '3' }), [1, 3]);
  // Kubernetes Indexed Job: 0-based index, the count from the flag or FEATVIZ_SHARDS
  assert.deepEqual(at({ shardCount: '4' }, { JOB_COMPLETION_INDEX: '3' }), [3, 4]);
  assert.deepEqual(at({}, { JOB_COMPLETION_INDEX: '0', FEATVIZ_SHARDS: '2' }), [0, 2]);
  // GNU parallel: 1-based {#}; without a count it is not a shard
  assert.deepEqual(at({}, { PARALLEL_SEQ: '2', FEATVIZ_SHARDS: '2' }), [1, 2]);
  assert.deepEqual(at({}, { PARALLEL_SEQ: '2' }), [0, 1]);

  const refuses = (flags, env, re) => assert.throws(() => readShard(flags, env), re);
  refuses({ shard: '0/3' }, {}, /--shard must be I\/N with 1 ≤ I ≤ N/);
  refuses({ shard: '4/3' }, {}, /got "4\/3"/);
  refuses({ shard: 'two' }, {}, /--shard must be/);
  refuses({ shard: '1/3', shardCount: '4' }, {}, /says 3 shards but --shard-count says 4/);
  refuses({}, { SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' }, /task 9 is not one of 3 tasks/);
  refuses({}, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '3' }, /--array=0-N-1/);
  refuses({}, { JOB_COMPLETION_INDEX: '1' }, /needs the shard count: --shard-count N or FEATVIZ_SHARDS/);
  refuses({}, { JOB_COMPLETION_INDEX: '2', FEATVIZ_SHARDS: '2' }, /past the 2 shards/);
  refuses({}, { PARALLEL_SEQ: '3', FEATVIZ_SHARDS: '2' }, /not a shard 1\.\.2/);
  refuses({ shardCount: '3' }, {}, /nothing says which one this is/);

  // interleaved: every unit has exactly one owner, and owners' shares differ by at most one
  for (const n of [1, 2, 3, 7]) {
    const shares = Array.from({ length: n }, (_, i) => Array.from({ length: 23 }, (_, k) => k).filter((k) => owns({ index: i, count: n }, k)));
    assert.deepEqual(shares.flat().sort((a, b) => a - b), Array.from({ length: 23 }, (_, k) => k));
    assert.ok(Math.max(...shares.map((s) => s.length)) - Math.min(...shares.map((s) => s.length)) <= 1);
  }
});

test('--layers: all, lists and globs on MobileNet v2’s layer list', async () => {
  const fv = await loadEngine();
  const m = fv.loadModel(readFileSync(model('mobilenet_v2_1.0_224_quant.tflite')));
  const layers = m.layers();
  const adds = layers.filter((l) => /^MobilenetV2\/expanded_conv_\d+\/add$/.test(l.name)).map((l) => l.index);
  assert.equal(adds.length, 10);
  assert.deepEqual(selectLayers(layers, 'MobilenetV2/expanded_conv_*/add'), adds);
  assert.deepEqual(selectLayers(layers, 'all'), layers.filter((l) => l.shape[1] > 1 || l.shape[2] > 1).map((l) => l.index));
  assert.ok(!selectLayers(layers, 'all').includes(layers.at(-1).index), 'all: not the 1×1 logits');
  // a list in any order, with an index and a duplicate: model order, each once
  const i8 = layers.findIndex((l) => l.name === 'MobilenetV2/expanded_conv_8/add');
  // * stays within a part of the name, ** does not
  const under8 = (re) => layers.filter((l) => re.test(l.name)).map((l) => l.index);
  assert.deepEqual(selectLayers(layers, 'MobilenetV2/expanded_conv_8/add, 3, MobilenetV2/expanded_conv_8/*'),
    [3, ...under8(/^MobilenetV2\/expanded_conv_8\/[^/]+$/)].sort((a, b) => a - b));
  assert.deepEqual(selectLayers(layers, 'MobilenetV2/expanded_conv_8/**'), under8(/^MobilenetV2\/expanded_conv_8\//));
  assert.ok(under8(/^MobilenetV2\/expanded_conv_8\//).length > 3);
  assert.ok(selectLayers(layers, '**/add').includes(i8));
  assert.throws(() => selectLayers(layers, 'MobilenetV2/nope_*'), /no layer matches "MobilenetV2\/nope_\*"/);
  assert.throws(() => selectLayers(layers, ''), /--layers needs "all"/);
  m.free();
});

test('content ids: the same pixels, the same name; anything that changes them, another', async () => {
  assert.equal(canonicalJson({ b: [1, { d: 2, c: 'x' }], a: true }), '{"a":true,"b":[1,{"c":"x","d":2}]}');
  const m = { featviz: '0.1.0', model: { file: 'a.tflite', sha256: 'ab' }, options: { size: 64, steps: 512, seed: 7 }, objective: 1.5, images: ['x.png'] };
  const id = await manifestId(m);
  assert.match(id, /^[0-9a-f]{32}$/);
  // not part of the pixels: the file's name, the objective reached, the images' names, key order
  assert.equal(await manifestId({ ...m, model: { sha256: 'ab', file: 'renamed.tflite' }, objective: 2, images: [] }), id);
  assert.equal(await manifestId({ ...m, options: { seed: 7, steps: 512, size: 64 } }), id);
  for (const other of [{ options: { ...m.options, seed: 8 } }, { options: { ...m.options, steps: 511 } }, { model: { ...m.model, sha256: 'ac' } }, { featviz: '0.2.0' }]) {
    assert.notEqual(await manifestId({ ...m, ...other }), id, JSON.stringify(other));
  }
  // the SHA-256 of the canonical JSON (node:crypto as the reference)
  const { createHash } = await import('node:crypto');
  assert.equal(await contentId({ b: 1, a: 2 }), createHash('sha256').update('{"a":2,"b":1}').digest('hex').slice(0, 32));
});

// ---- three shards, one killed -------------------------------------------------------------------------

describe('an atlas in 3 parallel shards, shard 2 killed with SIGKILL after its first unit and started again', () => {
  const out = tempDir('atlas');
  let photos, first, killedBefore, restart, again;
  before(async () => {
    photos = photoFolder();
    let killed = false;
    const runs = [1, 2, 3].map((i) => startCli(atlasArgs(out, photos, '--shard', `${i}/3`), i !== 2 ? {} : {
      onErr: (line, child) => {
        if (!killed && / rendered in /.test(line)) {
          killed = true;
          child.kill('SIGKILL');
        }
      },
    }));
    first = await Promise.all(runs.map((r) => r.done));
    // what the killed shard had finished, as files
    killedBefore = new Map(readUnits(out).filter((u) => renderedIn(first[1].err).includes(u.key))
      .map((u) => [u.key, statSync(join(out, 'units', `${u.id}.json`))]));
    restart = await cli(atlasArgs(out, photos, '--shard', '2/3'));
    again = await Promise.all([1, 2, 3].map((i) => cli(atlasArgs(out, photos, '--shard', `${i}/3`))));
  });

  test('the shards ran; shard 2 died of SIGKILL with units left to do', () => {
    for (const i of [0, 2]) assert.equal(first[i].code, 0, first[i].err);
    assert.equal(first[1].signal, 'SIGKILL', `shard 2 was to be killed: ${first[1].err}`);
    const did = renderedIn(first[1].err).length;
    assert.ok(did >= 1 && did < 6, `the kill came half-way (shard 2 owns 5 units, had rendered ${did}): ${first[1].err}`);
    assert.equal(restart.code, 0, restart.err);
  });

  test('every unit was rendered exactly once, by the shard that owns it (interleaved over the layers)', () => {
    const lines = [...first.map((r) => r.err), restart.err, ...again.map((r) => r.err)].flatMap(renderedIn);
    assert.deepEqual([...lines].sort(), [...ALL_UNITS].sort(), 'each unit has one "rendered" line over all the runs');
    const units = readUnits(out);
    assert.deepEqual(units.map((u) => u.key).sort(), [...ALL_UNITS].sort(), 'one manifest per unit');
    // unit k of the atlas order belongs to shard k mod 3
    const byShard = [first[0].err, first[1].err + restart.err, first[2].err].map(renderedIn);
    ALL_UNITS.forEach((key, k) => assert.ok(byShard[k % 3].includes(key), `${key} (unit ${k}) by shard ${(k % 3) + 1}`));
    // every PNG is a manifest's, named by the manifest's content id
    const pngs = readdirSync(join(out, 'units')).filter((f) => f.endsWith('.png') && !f.startsWith('.'));
    assert.deepEqual(pngs.sort(), units.flatMap((u) => u.m.images).sort());
  });

  test('the restarted shard rendered only what was missing; finished units were not touched', () => {
    const s = summary(restart.out);
    assert.equal(s.units, 5);
    assert.equal(s.skipped, killedBefore.size, restart.out);
    assert.equal(s.rendered, 5 - killedBefore.size);
    assert.ok(killedBefore.size >= 1);
    for (const u of readUnits(out).filter((x) => killedBefore.has(x.key))) {
      const now = statSync(join(out, 'units', `${u.id}.json`)), was = killedBefore.get(u.key);
      assert.equal(now.ino, was.ino, `${u.key}: the same file`);
      assert.equal(now.mtimeMs, was.mtimeMs, `${u.key}: not rewritten`);
    }
    // and a second run of every shard has nothing left to do
    for (const r of again) {
      assert.equal(r.code, 0, r.err);
      const x = summary(r.out);
      assert.equal(x.rendered, 0, r.out);
      assert.equal(x.skipped, x.units);
    }
  });

  test('a unit’s files are named by its manifest, and its PNG re-renders from the manifest to the same bytes', async () => {
    const units = readUnits(out);
    for (const u of units) assert.equal(await manifestId(u.m), u.id, `${u.key}: named by the content id of its manifest`);
    for (const key of [`${LAYER_NAMES[0]}#3`, `${LAYER_NAMES[1]}#6`]) {
      const u = units.find((x) => x.key === key);
      const png = join(tempDir('again'), 'again.png');
      const r = spawnSync(process.execPath, [CLI, 'render', '--manifest', join(out, 'units', `${u.id}.json`), '--out', png], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, FEATVIZ_MODELS: MODELS },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(png).equals(readFileSync(join(out, 'units', u.m.images[0]))), `${key}: the same PNG bytes`);
    }
  });

  test('top photos: the ranking by mean activation and the crop around the strongest position, against activations summed here', async () => {
    const fv = await loadEngine();
    const m = fv.loadModel(readFileSync(MODEL));
    const examples = readdirSync(join(out, 'examples')).filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => JSON.parse(readFileSync(join(out, 'examples', f), 'utf8')));
    assert.deepEqual(examples.map((e) => `${e.layer}#${e.channel}`).sort(), [...ALL_UNITS].sort(), 'one set of top photos per unit');
    for (const [layerName, channel] of [[LAYER_NAMES[0], 3], [LAYER_NAMES[1], 5]]) {
      const layer = m.layerIndex(layerName);
      const inf = fv.infer(m, { lastLayer: layer });
      const ref = PHOTOS.map((file) => {
        inf.runImage(readFileSync(image(file)));
        const { shape: [, H, W, C], data } = inf.layer(layer);
        let sum = 0, best = 0;
        for (let p = 0; p < H * W; p++) {
          sum += data[p * C + channel];
          if (data[p * C + channel] > data[best * C + channel]) best = p;
        }
        return { file, mean: sum / (H * W), y: Math.floor(best / W), x: best % W, H, W };
      }).sort((a, b) => b.mean - a.mean || (a.file < b.file ? -1 : 1));
      inf.free();
      const e = examples.find((x) => x.layer === layerName && x.channel === channel);
      assert.deepEqual(e.top.map((p) => p.file), ref.slice(0, TOP).map((r) => r.file), `${layerName} #${channel}: the top ${TOP} in order`);
      e.top.forEach((p, k) => {
        const r = ref[k];
        assert.ok(Math.abs(p.score - r.mean) <= 1e-4 * Math.max(1, Math.abs(r.mean)), `${p.file}: score ${p.score} vs ${r.mean}`);
        assert.deepEqual([p.y, p.x], [r.y, r.x], `${p.file}: the strongest cell`);
        // the crop holds the centre of that cell, in the photo's pixels
        const im = fv.decodeImage(readFileSync(image(p.file)));
        const cx = ((r.x + 0.5) / r.W) * im.width, cy = ((r.y + 0.5) / r.H) * im.height;
        const [bx, by, bw, bh] = p.box;
        assert.ok(bx <= cx && cx <= bx + bw && by <= cy && cy <= by + bh, `${p.file}: box ${p.box} holds (${cx}, ${cy})`);
        assert.ok(bw < im.width || bh < im.height, `${p.file}: a crop, not the whole photo`);
        im.free();
        const png = readFileSync(join(out, 'examples', p.image));
        assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [96, 96], `${p.image}: 96×96`);
      });
    }
    m.free();
  });

  test('the site links every unit, its files and the live page in its state; every local link resolves', () => {
    const r = spawnSync(process.execPath, [CLI, 'site', out, '--live', 'http://127.0.0.1:9/web/'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /16 of 16 units rendered/);
    const site = crawlSite(out);
    assert.deepEqual(site.missing, [], 'no broken link');
    const units = readUnits(out);
    for (const u of units) {
      for (const f of [...u.m.images, `${u.id}.json`]) assert.ok(site.files.has(join(out, 'units', f)), `${u.key}: ${f} linked`);
    }
    const unitPages = [...site.pages].filter((p) => /\/atlas\/[0-9a-f]{32}\/\d+\/\d+\.html$/.test(p));
    assert.equal(unitPages.length, ALL_UNITS.length, 'a page per unit, reached from the index');
    assert.ok(readdirSync(join(out, 'examples')).filter((f) => f.endsWith('.png')).every((f) => site.files.has(join(out, 'examples', f))),
      'every top-photo crop is shown');
    // each unit page's live link carries that unit's state
    for (const p of unitPages) {
      const [, li, c] = /\/(\d+)\/(\d+)\.html$/.exec(p).map(Number);
      const href = /<a class="live" href="([^"]+)"/.exec(readFileSync(p, 'utf8'))[1].replace(/&amp;/g, '&');
      const url = new URL(href);
      assert.equal(url.origin + url.pathname, 'http://127.0.0.1:9/web/index.html');
      const s = readQuery(url.search);
      assert.deepEqual([s.model, s.layer, s.channel, s.size, s.steps, s.seed], ['mobilenet_v1_025', LAYER_NAMES[li], c, 64, 512, 7], p);
    }
    assert.ok(site.external.every((u) => u.startsWith('http://127.0.0.1:9/web/index.html?')), site.external.join('\n'));
  });
});

// ---- a unit written partly ------------------------------------------------------------------------------

test('a unit written partly (its PNG, a half-written temporary manifest) is not taken for done', async () => {
  const out = tempDir('partial');
  const args = ['atlas', MODEL, '--layers', LAYER_NAMES[0], '--channels', '3', '--size', '32', '--steps', '16', '--out', out];
  const r1 = await cli(args);
  assert.equal(r1.code, 0, r1.err);
  const [u] = readUnits(out);
  const png = readFileSync(join(out, 'units', u.m.images[0]));
  // what a kill between the PNG's rename and the manifest's leaves (plus a temporary file cut short)
  const text = readFileSync(join(out, 'units', `${u.id}.json`), 'utf8');
  unlinkSync(join(out, 'units', `${u.id}.json`));
  writeFileSync(join(out, 'units', `.${u.id}.json.99999.tmp`), text.slice(0, text.length >> 1));
  assert.deepEqual(readUnits(out), []);
  const r2 = await cli(args);
  assert.equal(r2.code, 0, r2.err);
  assert.deepEqual(summary(r2.out), { units: 1, rendered: 1, skipped: 0, failed: 0 });
  assert.deepEqual(readUnits(out).map((x) => x.m), [u.m], 'the same manifest, whole');
  assert.ok(readFileSync(join(out, 'units', u.m.images[0])).equals(png), 'the same PNG');
  assert.deepEqual(summary((await cli(args)).out), { units: 1, rendered: 0, skipped: 1, failed: 0 });
});

test('atlas and site: bad input gives one clear line and a non-zero exit', async () => {
  const out = tempDir('bad');
  const oneLine = (r, code, re) => {
    assert.equal(r.code, code, r.out + r.err);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /^featviz: /);
    assert.match(lines[0], re);
  };
  const base = ['atlas', MODEL, '--out', out];
  oneLine(await cli([...base, '--layers', 'nope']), 2, /no layer matches "nope"/);
  oneLine(await cli([...base, '--layers', LAYER_NAMES[0], '--shard', '4/3']), 2, /--shard must be I\/N/);
  oneLine(await cli([...base, '--layers', LAYER_NAMES[0]], { env: { JOB_COMPLETION_INDEX: '1' } }), 2, /JOB_COMPLETION_INDEX=1 .*needs the shard count/);
  oneLine(await cli([...base, '--layers', LAYER_NAMES[0], '--channels', '2-9']), 2, /has channels 0\.\.7/);
  oneLine(await cli([...base, '--layers', LAYER_NAMES[0], '--channels', '5-2']), 2, /--channels must be a list/);
  oneLine(await cli([...base, '--layers', LAYER_NAMES[0], '--size', '2']), 1, /size 2 out of range/);
  oneLine(await cli(['atlas', MODEL, '--layers', 'all']), 2, /needs --out DIR/);
  oneLine(await cli(['site', out]), 1, /not an atlas folder/);
});
