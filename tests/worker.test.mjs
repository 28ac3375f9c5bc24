// The engine worker (wasm/worker.js) under Node's worker_threads, driven
// through the pool (wasm/pool.js) exactly as the page drives it: streaming
// frames, pause / resume / cancel, PNG bytes against a direct engine render,
// errors that leave the worker alive, and a worker killed mid-job.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadEngine } from '../wasm/engine.js';
import { Pool, CRASHED } from '../wasm/pool.js';
import { model, image } from './paths.mjs';

const FILE = 'mobilenet_v2_1.0_224_quant.tflite';
const LAYER = 'MobilenetV2/expanded_conv_8/add';
const channelOpts = (extra = {}) => ({
  size: 64, steps: 16, seed: 3, objective: [{ kind: 'channel', layer: LAYER, channel: 12 }], ...extra,
});
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
/** Resolves once pred() holds, polling; fails after ms. */
async function until(pred, ms = 20000, what = 'condition') {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let pool, modelBytes, labels;
before(async () => {
  modelBytes = readFileSync(model(FILE));
  labels = readFileSync(model('imagenet_labels.txt'), 'utf8').split('\n').map((s) => s.trim());
  pool = new Pool({ size: 2 });
  const info = await pool.ready;
  assert.equal(typeof info.version, 'string');
  const m = await pool.loadModel('v2', modelBytes, { name: FILE, labels });
  assert.equal(m.layers.find((l) => l.name === LAYER)?.op, 'ADD');
  assert.deepEqual(m.input.shape, [1, 224, 224, 3]);
  assert.match(m.sha256, /^[0-9a-f]{64}$/);
});
after(() => pool?.terminate());

test('a render streams frames with increasing steps, then ends done', async () => {
  const frames = [];
  const job = pool.render('v2', channelOpts(), { onFrame: (f) => frames.push(f), frameInterval: 0 });
  await job.started;
  const end = await job.finished;
  assert.equal(end.step, 16);
  assert.ok(Number.isFinite(end.objective));
  assert.equal(job.state, 'done');
  const steps = frames.map((f) => f.step);
  assert.equal(steps[0], 0, 'the first frame is the starting image');
  assert.equal(steps.at(-1), 16);
  for (let i = 1; i < steps.length; i++) assert.ok(steps[i] > steps[i - 1], `steps ${steps}`);
  for (const f of frames) {
    assert.ok(f.rgba instanceof ArrayBuffer, 'pixels arrive as a transferred ArrayBuffer');
    assert.equal(f.rgba.byteLength, 64 * 64 * 4);
    assert.equal(f.size, 64);
    assert.equal(f.batch, 1);
  }
  const last = new Uint8Array(frames.at(-1).rgba);
  assert.ok(new Set(last.filter((_, i) => i % 4 === 0)).size > 10, 'the image is not uniform');
  await job.free();
});

test('pause stops frames, resume continues, cancel stops within one step', async () => {
  const frames = [];
  // every step posts a frame, so the last frame seen is the worker's step
  const job = pool.render('v2', channelOpts({ size: 96, steps: 400 }), { onFrame: (f) => frames.push(f.step), frameInterval: 0 });
  await job.started;
  await until(() => frames.at(-1) >= 3, 20000, 'three steps');

  const p = await job.pause();
  assert.equal(p.state, 'paused');
  const countAtPause = frames.length;
  assert.equal(frames.at(-1), p.step, 'the last frame before the pause reply shows the paused step');
  await sleep(400);
  assert.equal(frames.length, countAtPause, 'no frames while paused');
  assert.equal((await job.query()).step, p.step, 'no steps while paused');

  const r = await job.resume();
  assert.equal(r.state, 'running');
  await until(() => frames.at(-1) >= p.step + 3, 20000, 'steps after resume');

  const seen = frames.at(-1);
  const c = await job.cancel();
  assert.equal(c.state, 'cancelled');
  assert.ok(c.step <= seen + 1, `cancel at step ${seen} stopped at ${c.step}`);
  const end = await job.finished;
  assert.equal(end.cancelled, true);
  assert.equal(end.step, c.step);
  const countAtCancel = frames.length;
  await sleep(300);
  assert.equal(frames.length, countAtCancel, 'no frames after cancel');
  assert.equal((await job.query()).step, c.step);

  // continue N more steps after a cancel
  const more = await job.continue(3);
  assert.equal(more.planned, c.step + 3);
  const end2 = await job.finished;
  assert.equal(end2.step, c.step + 3);
  assert.equal(job.state, 'done');
  await job.free();
});

test('png bytes equal a direct engine render with the same options; the manifest reproduces a paused render', async () => {
  const fv = await loadEngine();
  const m = fv.loadModel(modelBytes);
  const opts = channelOpts({ batch: 2, diversity: 0.5, steps: 12 });
  const job = pool.render('v2', opts);
  await job.finished;
  const fromWorker = await job.png(-1);
  const fromWorker1 = await job.png(1);
  const r = fv.render(m, opts);
  r.step(12);
  assert.deepEqual(fromWorker, r.png(-1), 'grid PNG is byte-identical');
  assert.deepEqual(fromWorker1, r.png(1), 'single-image PNG is byte-identical');
  assert.deepEqual(fromWorker.subarray(0, 8), new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]));
  r.free();
  await job.free();

  // stop a longer render early: its manifest says the steps done, and
  // rendering the manifest's options gives the same bytes
  const frames = [];
  const long = pool.render('v2', channelOpts({ steps: 300 }), { onFrame: (f) => frames.push(f.step), frameInterval: 0 });
  await long.started;
  await until(() => frames.at(-1) >= 5, 20000, 'five steps');
  const { step } = await long.pause();
  const man = await long.manifest(['x.png']);
  assert.equal(man.options.steps, step);
  assert.deepEqual(man.model, { file: FILE, sha256: pool.modelInfo('v2').sha256 });
  assert.deepEqual(man.images, ['x.png']);
  const again = fv.render(m, man.options);
  again.step(again.stepsPlanned);
  assert.deepEqual(await long.png(), again.png(-1));
  assert.equal(man.objective, again.objective);
  again.free();
  m.free();
  await long.cancel();
  await long.free();
});

test('errors reply {error, code} and the worker keeps working', async () => {
  const bad = new Uint8Array(4096).fill(7);
  await assert.rejects(pool.loadModel('bad', bad), (e) => e.code === 1 && /TFLite|model/i.test(e.message));
  assert.equal(pool.hasModel('bad'), false);
  await assert.rejects(pool.loadModel('empty', new Uint8Array(0)), (e) => e.code === 1);

  // bad options: a typo, a channel out of range, an unknown layer
  await assert.rejects(pool.render('v2', { ...channelOpts(), sizee: 3 }).started, (e) => e.code === 3);
  await assert.rejects(pool.render('v2', channelOpts({ objective: [{ kind: 'channel', layer: LAYER, channel: 9999 }] })).started,
    (e) => e.code === 3 && /channel/.test(e.message));
  await assert.rejects(pool.render('v2', channelOpts({ objective: [{ kind: 'channel', layer: 'nope', channel: 1 }] })).started,
    (e) => e.code === 6);
  await assert.rejects(pool.render('nope', channelOpts()).started, (e) => e.code === 'no_model');
  await assert.rejects(pool.request('fly', {}), (e) => e.code === 'bad_request');
  await assert.rejects(pool.classify('v2', new Uint8Array([1, 2, 3])), (e) => e.code === 5);
  await assert.rejects(pool.analyze('v2', readFileSync(image('parrot.jpg')), { layer: LAYER, channel: 64 }), (e) => e.code === 3);

  // a numerical blow-up stops the render with code 8; its last good image stays exportable
  const ends = [];
  const boom = pool.render('v2', channelOpts({ objective: [{ kind: 'channel', layer: LAYER, channel: 12, weight: 3e38 }] }),
    { onEnd: (e) => ends.push(e) });
  await boom.started;
  await assert.rejects(boom.finished, (e) => e.code === 8);
  assert.equal(boom.state, 'error');
  assert.ok(ends[0].error);
  const png = await boom.png();
  assert.ok(png.length > 100);
  await boom.free();

  // and afterwards, on every worker, a render works
  for (let w = 0; w < pool.size; w++) {
    const job = pool.render('v2', channelOpts({ steps: 2 }), { worker: w });
    assert.equal((await job.finished).step, 2);
    await job.free();
  }
});

test('a worker that dies mid-job is replaced; its requests reject clearly; the next request works', async () => {
  const crashes = [];
  pool.addEventListener('crash', (e) => crashes.push(e.detail));
  const ends = [];
  const job = pool.render('v2', channelOpts({ steps: 1000 }), { worker: 1, onEnd: (e) => ends.push(e) });
  await job.started;
  await until(() => job.step >= 1, 20000, 'a step');
  const pending = pool.classify('v2', readFileSync(image('parrot.jpg'))).catch((e) => e);
  await pool.workerHandle(job.worker).terminate();
  await assert.rejects(job.finished, (e) => e.message === CRASHED && e.code === 'crashed');
  assert.equal(job.state, 'crashed');
  assert.equal(ends.length, 1);
  assert.ok(crashes.some((c) => c.worker === 1 && c.restarted));
  await assert.rejects(job.png(), (e) => e.code === 'crashed');
  const p = await pending; // went to the idle worker 0, or died with worker 1
  assert.ok(Array.isArray(p) ? p[0].index === 89 : p.message === CRASHED);
  // the replacement loads the model again by itself
  const next = pool.render('v2', channelOpts({ steps: 3 }), { worker: 1 });
  assert.equal((await next.finished).step, 3);
  await next.free();
  const top = await pool.request('classify', { model: 'v2', bytes: readFileSync(image('parrot.jpg')).buffer.slice(0) }, { worker: 1, model: 'v2' });
  assert.equal(top.top[0].index, 89);
});

test('a worker that throws an uncaught error (the crash hook) is replaced too', async () => {
  const crashed = new Promise((ok) => pool.addEventListener('crash', (e) => ok(e.detail), { once: true }));
  // the reply and the crash race (different channels): either is fine
  await pool.request('crash', {}, { worker: 0 }).catch((e) => assert.equal(e.code, 'crashed'));
  const d = await crashed;
  assert.equal(d.worker, 0);
  const top = await pool.request('classify', { model: 'v2', bytes: readFileSync(image('parrot.jpg')).buffer.slice(0) }, { worker: 0, model: 'v2' });
  assert.equal(top.top[0].label, 'macaw');
});

test('classify parrot.jpg: macaw (89) on top; analyze gives a heat map and the top channels', async () => {
  const top = await pool.classify('v2', readFileSync(image('parrot.jpg')));
  assert.equal(top.length, 5);
  assert.equal(top[0].index, 89);
  assert.equal(top[0].label, 'macaw');
  for (let i = 1; i < 5; i++) assert.ok(top[i].prob <= top[i - 1].prob);

  const a = await pool.analyze('v2', readFileSync(image('parrot.jpg')), { layer: LAYER, channel: 12 });
  assert.equal(a.top[0].index, 89);
  assert.equal(a.layerName, LAYER);
  assert.equal(a.heat.data.length, a.heat.h * a.heat.w);
  assert.deepEqual([a.heat.h, a.heat.w], [14, 14]);
  // the map's mean is the channel's mean; the top channels are sorted and include the strongest
  const mapMean = a.heat.data.reduce((s, v) => s + v, 0) / a.heat.data.length;
  assert.ok(Math.abs(mapMean - a.mean) < 1e-5 * (1 + Math.abs(a.mean)), `${mapMean} vs ${a.mean}`);
  assert.equal(a.channels.length, 10);
  for (let i = 1; i < 10; i++) assert.ok(a.channels[i].mean <= a.channels[i - 1].mean);
  const fv = await loadEngine();
  const m = fv.loadModel(modelBytes);
  const inf = fv.infer(m);
  inf.runImage(readFileSync(image('parrot.jpg')));
  const li = m.layerIndex(LAYER);
  const means = Array.from({ length: 64 }, (_, c) => inf.channelMean(li, c));
  assert.equal(a.channels[0].mean, Math.max(...means));
  assert.equal(a.channels[0].channel, means.indexOf(Math.max(...means)));
  assert.equal(a.mean, means[12]);
  inf.free();
  m.free();
});

test('describe and photos: class names through the worker\'s labels; a photo direction renders the CLI path\'s bytes', async () => {
  const d = await pool.describe('v2', { objective: `class(macaw) - 0.5*${LAYER}:3` });
  assert.equal(d.expression, `class(89) - 0.5*${LAYER}:3`);
  await assert.rejects(pool.describe('v2', { objective: `${LAYER}:99` }), (e) => e.code === 3 && /^objective at 33: channel 99/.test(e.message));
  // the objective names a photo: the worker computes its activations from the bytes sent
  const photo = readFileSync(image('owl.jpg'));
  const opts = { size: 48, steps: 10, seed: 2, objective: `direction(${LAYER}, owl.jpg, cossim=1) - 0.01*tv` };
  await assert.rejects(pool.render('v2', opts).started, (e) => e.code === 'bad_request' && /names the photo "owl.jpg", which is not open/.test(e.message));
  const frames = [];
  const job = pool.render('v2', opts, { photos: { 'owl.jpg': photo }, frameEvery: 4, frameInterval: 1e9, onFrame: (f) => frames.push(f.step) });
  await job.finished;
  assert.deepEqual([...new Set(frames)], [0, 4, 8, 10], 'frameEvery: a frame at every 4th step and the last');
  const man = await job.manifest();
  assert.equal(man.options.photos[0].name, 'owl.jpg');
  assert.equal(man.options.photos[0].values.length, 64);
  // the same options straight through the engine, as the CLI does: the same bytes
  const { prepareOptions } = await import('../wasm/photo-data.js');
  const fv = await loadEngine();
  const m = fv.loadModel(modelBytes);
  const { options } = await prepareOptions(fv, m, opts, { photo: () => photo });
  assert.deepEqual(fv.describe(m, options).options, man.options, 'the same canonical options (the manifest\'s)');
  const r = fv.render(m, options);
  r.step(r.stepsPlanned);
  assert.deepEqual(await job.png(-1), r.png(-1));
  r.free();
  m.free();
  await job.free();
});
