// The learned patch prior (src/prior.h) on the store's real photos, in the release
// engine: EM on photos, photos likelier than noise and than renders, and the evidence
// of issue 12 item 6 — a render with the prior is likelier under a prior fitted on
// OTHER photos (held out from the render's prior) than the same render without it,
// and it still drives its unit above every store photo. The CLI end to end: fit,
// render with --prior, the manifest's sha256 and an exact re-render, damaged files, a
// manifest's prior beside it (missing, different, truncated).
// The density and gradient against independent references are tests/c/prior_test.c's.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadEngine, FvError } from '../wasm/engine.js';
import { startFit, PRIOR_PHOTO_SIZE } from '../wasm/prior-fit.js';
import { ROOT, model, image, IMAGES } from './paths.mjs';

const LAYER = 'MobilenetV2/expanded_conv_8/add';
const CHANNEL = 12;
const SIZE = 128;
const STEPS = 256;
const WEIGHT = 1;
// the render's prior is fitted on FIT; its renders are judged by a prior fitted on HELD only
const PHOTOS = readdirSync(IMAGES).filter((f) => /\.(bmp|jpg|png)$/.test(f)).sort();
const HELD = ['owl.jpg', 'parrot.jpg'];
const FIT = PHOTOS.filter((f) => !HELD.includes(f));
const FIT_OPTS = { components: 6, iterations: 15, stride: 4, maxPatches: 12000 };

let fv, m, layer, priorFit, priorHeld, fitBytes, fitTrace;
const photo = (f) => ({ name: f, bytes: readFileSync(image(f)) });

function fit(names, opts = FIT_OPTS, trace = null) {
  const f = startFit(fv, names.map(photo), opts);
  for (const p of f.steps()) trace?.push(p);
  return f.finish().bytes;
}

before(async () => {
  fv = await loadEngine();
  m = fv.loadModel(readFileSync(model('mobilenet_v2_1.0_224_quant.tflite')));
  layer = m.layerIndex(LAYER);
  fitTrace = [];
  fitBytes = fit(FIT, FIT_OPTS, fitTrace);
  priorFit = fv.loadPrior(fitBytes);
  priorHeld = fv.loadPrior(fit(HELD));
});

/** The prior's score (mean −log p per coordinate) of a photo resized to size × size, or of RGBA pixels. */
function scorePhoto(prior, f, size = SIZE) {
  const im = fv.decodeImage(readFileSync(image(f)));
  const sq = im.resize(size, size);
  const s = prior.score(sq);
  sq.free(), im.free();
  return s;
}
function scoreRGBA(prior, rgba, size) {
  const im = fv.imageFromRGBA(rgba, size, size);
  const s = prior.score(im);
  im.free();
  return s;
}
function channelMean(rgba, size) {
  const im = fv.imageFromRGBA(rgba, size, size);
  const inf = fv.infer(m, { h: size, w: size, lastLayer: layer });
  inf.run(im);
  const v = inf.channelMean(layer, CHANNEL);
  inf.free(), im.free();
  return v;
}
function photoMeans(size) {
  const inf = fv.infer(m, { h: size, w: size, lastLayer: layer });
  const out = PHOTOS.map((f) => (inf.runImage(readFileSync(image(f))), inf.channelMean(layer, CHANNEL)));
  inf.free();
  return out;
}
function render(prior, weight, steps = STEPS, extra = {}) {
  const objective = [{ kind: 'channel', layer: LAYER, channel: CHANNEL }];
  if (weight) objective.push({ kind: 'prior', weight: -weight });
  const r = fv.render(m, { size: SIZE, steps, seed: 3, objective, ...extra }, { prior });
  r.step(steps);
  const rgba = r.rgba(0), png = r.png(0);
  r.free();
  return { rgba, png };
}

test('EM on real photos: its objective rises at every iteration, and the fit is the same bytes twice', () => {
  assert.equal(fitTrace.length, FIT_OPTS.iterations);
  for (let i = 1; i < fitTrace.length; i++) {
    const [a, b] = [fitTrace[i - 1].objective, fitTrace[i].objective];
    assert.ok(b >= a - 1e-6 * Math.abs(a), `EM objective fell at iteration ${i + 1}: ${a} → ${b}`);
  }
  const [first, last] = [fitTrace[0], fitTrace.at(-1)];
  assert.ok(last.loglik > first.loglik + 1, `log-likelihood per patch ${first.loglik} → ${last.loglik}`);
  assert.ok(Buffer.from(fit(FIT)).equals(Buffer.from(fitBytes)), 'the same photos and options give the same prior.bin');
  assert.deepEqual(priorFit.info(), { components: 6, iterations: 15, patches: 12000, stride: 4, images: FIT.length, seed: 0, loglik: priorFit.info().loglik });
});

// parrot.jpg (sharp, saturated) is about as likely as the Fourier render without the prior
// (−0.37 vs −0.44 per coordinate with these options; −0.48 vs −0.46 with 12 components at
// stride 2): so the Fourier render is held to the photos' mean, the pixel render to each.
test('held-out photos are likelier than noise, a pixel render and (on average) a Fourier render without the prior', () => {
  const noise = new Uint8ClampedArray(SIZE * SIZE * 4);
  let s = 12345;
  for (let i = 0; i < noise.length; i++) noise[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  const plain = render(null, 0), pixel = render(null, 0, STEPS, { param: 'pixel', decorrelate: false });
  // photos at the scale the prior was fitted at (wasm/prior-fit.js), the render at its own size
  const held = HELD.map((f) => scorePhoto(priorFit, f, PRIOR_PHOTO_SIZE));
  const nNoise = scoreRGBA(priorFit, noise, SIZE), nPlain = scoreRGBA(priorFit, plain.rgba, SIZE);
  const nPixel = scoreRGBA(priorFit, pixel.rgba, SIZE), mean = held.reduce((a, b) => a + b) / held.length;
  for (const [i, h] of held.entries()) {
    assert.ok(h < nNoise, `${HELD[i]} ${h} vs noise ${nNoise}`);
    assert.ok(h < nPixel, `${HELD[i]} ${h} vs a pixel render without the prior ${nPixel}`);
  }
  assert.ok(mean < nPlain, `held-out photos ${held} (mean ${mean}) vs a Fourier render without the prior ${nPlain}`);
  console.log(`# −log p/coord under the prior of the other photos: ${HELD.join(', ')} ${held.map((h) => h.toFixed(3)).join(', ')}; ` +
    `noise ${nNoise.toFixed(3)}; renders without the prior: pixel ${nPixel.toFixed(3)}, Fourier ${nPlain.toFixed(3)}`);
});

test('evidence: with the prior a render is likelier under a prior fitted on other photos, and still beats every photo', () => {
  const plain = render(null, 0), withPrior = render(priorFit, WEIGHT);
  const a = scoreRGBA(priorHeld, plain.rgba, SIZE), b = scoreRGBA(priorHeld, withPrior.rgba, SIZE);
  assert.ok(b < a - 0.05, `−log p per coordinate under the held-out prior: without ${a}, with ${b}`);
  const mine = channelMean(withPrior.rgba, SIZE), photos = photoMeans(SIZE);
  assert.ok(mine > Math.max(...photos), `render with the prior ${mine} vs photos ${photos}`);
  console.log(`# held-out prior −log p/coord: photos ${HELD.map((f) => scorePhoto(priorHeld, f, PRIOR_PHOTO_SIZE).toFixed(3)).join(', ')}; ` +
    `render without ${a.toFixed(3)}, with ${b.toFixed(3)}; channel ${mine.toFixed(3)} vs best photo ${Math.max(...photos).toFixed(3)}`);
});

// The same evidence on GoogLeNet (the Distill articles' network), smaller and shorter: its
// Fourier renders are busier than MobileNet's, so the prior has more to take away.
test('evidence on GoogLeNet: with the prior a render is likelier under the held-out prior, and still beats every photo', () => {
  const g = fv.loadModel(readFileSync(model('googlenet_bvlc_int8.onnx')));
  const L = 'inception_4a/output', ch = 97, size = 96, steps = 128, li = g.layerIndex(L);
  const go = (prior, weight) => {
    const objective = [{ kind: 'channel', layer: L, channel: ch }];
    if (weight) objective.push({ kind: 'prior', weight: -weight });
    const r = fv.render(g, { size, steps, seed: 3, objective }, { prior });
    r.step(steps);
    const rgba = r.rgba(0).slice();
    r.free();
    return rgba;
  };
  try {
    const plain = go(null, 0), withPrior = go(priorFit, WEIGHT);
    const a = scoreRGBA(priorHeld, plain, size), b = scoreRGBA(priorHeld, withPrior, size);
    assert.ok(b < a - 0.05, `−log p per coordinate under the held-out prior: without ${a}, with ${b}`);
    const inf = fv.infer(g, { h: size, w: size, lastLayer: li });
    const im = fv.imageFromRGBA(withPrior, size, size);
    inf.run(im);
    const mine = inf.channelMean(li, ch);
    const photos = PHOTOS.map((f) => (inf.runImage(readFileSync(image(f))), inf.channelMean(li, ch)));
    im.free(), inf.free();
    assert.ok(mine > Math.max(...photos), `render with the prior ${mine} vs photos ${photos}`);
    console.log(`# GoogLeNet ${L}:${ch}, held-out prior −log p/coord: render without ${a.toFixed(3)}, with ${b.toFixed(3)}; ` +
      `channel ${mine.toFixed(1)} vs best photo ${Math.max(...photos).toFixed(1)}`);
  } finally {
    g.free();
  }
});

test('a prior term needs a prior, and damaged prior.bin files are refused with a message', () => {
  assert.throws(() => fv.render(m, { size: 32, objective: 'MobilenetV2/expanded_conv_8/add:3 - prior' }),
    (e) => e instanceof FvError && /needs a prior/.test(e.message));
  const bad = [
    [fitBytes.subarray(0, fitBytes.length - 10), /truncated/],
    [fitBytes.subarray(0, 30), /header/],
    [Uint8Array.from(fitBytes, (b, i) => (i === 1000 ? b ^ 4 : b)), /checksum/],
    [Uint8Array.from(fitBytes, (b, i) => (i === 0 ? 0x58 : b)), /magic/],
    [new TextEncoder().encode('not a prior at all, but long enough to have a header of sixty-four bytes and more'), /magic/],
  ];
  for (const [bytes, want] of bad) assert.throws(() => fv.loadPrior(bytes), (e) => e instanceof FvError && want.test(e.message), String(want));
  assert.ok(fv.loadPrior(fitBytes).components === 6, 'the engine goes on');
});

// ---- the CLI ----------------------------------------------------------------------------------
const cli = (args, cwd) => spawnSync(process.execPath, [join(ROOT, 'bin/featviz.mjs'), ...args], { cwd, encoding: null });

test('featviz prior fit, render --prior, the manifest and its exact re-render', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featviz-prior-'));
  try {
    const photos = join(dir, 'photos');
    spawnSync('mkdir', [photos]);
    for (const f of FIT.slice(0, 2)) symlinkSync(image(f), join(photos, f));
    writeFileSync(join(photos, 'broken.jpg'), 'not a jpeg');
    let r = cli(['prior', 'fit', photos, '--out', 'p.bin', '--components', '3', '--iterations', '4'], dir);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), /skipping broken\.jpg/);
    assert.match(r.stdout.toString(), /2 photos, .* 3 components, 4 EM iterations/);
    const mp = model('mobilenet_v2_1.0_224_quant.tflite');
    const args = ['render', mp, '--layer', LAYER, '--channel', String(CHANNEL), '--size', '48', '--steps', '6', '--prior', 'p.bin', '--prior-weight', '2'];
    r = cli([...args, '--out', 'a.png'], dir);
    assert.equal(r.status, 0, r.stderr.toString());
    const man = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
    const sha = spawnSync('sha256sum', [join(dir, 'p.bin')], { encoding: 'utf8' }).stdout.split(' ')[0];
    assert.equal(man.prior.sha256, sha);
    assert.equal(man.prior.file, 'p.bin');
    assert.match(man.prior.made, /featviz prior fit PHOTOS --out p\.bin --components 3 --iterations 4 --stride 4/);
    assert.match(man.options.objective, /- 2\*prior$/);
    r = cli(['render', '--manifest', 'a.json', '--out', 'b.png'], dir);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(readFileSync(join(dir, 'a.png')).equals(readFileSync(join(dir, 'b.png'))), 'the manifest re-renders the same bytes');
    // without the prior the image differs; with another prior the manifest is refused
    r = cli(['render', mp, '--layer', LAYER, '--channel', String(CHANNEL), '--size', '48', '--steps', '6', '--out', 'c.png', '--no-manifest'], dir);
    assert.ok(!readFileSync(join(dir, 'a.png')).equals(readFileSync(join(dir, 'c.png'))), 'the prior changes the render');
    r = cli(['prior', 'fit', photos, '--out', 'q.bin', '--components', '2', '--iterations', '2'], dir);
    r = cli(['render', '--manifest', 'a.json', '--prior', 'q.bin', '--out', 'd.png'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr.toString(), /not the manifest's prior.*featviz prior fit/);
    // a damaged file: one line naming it
    writeFileSync(join(dir, 'bad.bin'), readFileSync(join(dir, 'p.bin')).subarray(0, 500));
    r = cli([...args.slice(0, -4), '--prior', 'bad.bin', '--out', 'e.png'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr.toString(), /^featviz: bad\.bin: prior\.bin: 500 bytes/);
    r = cli(['prior', 'score', 'p.bin', image('cat.bmp')], dir);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stdout.toString(), /^\s*-?\d+\.\d{4}\s+\S*cat\.bmp/);
    r = cli(['prior', 'fit', photos, '--out', 'x.bin', '--components', '99'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr.toString(), /components 99 out of range/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a manifest\'s prior is found beside it; missing, different or truncated: one line that says how to get it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featviz-prior-beside-'));
  try {
    const photos = join(dir, 'photos'), away = join(dir, 'away');
    mkdirSync(photos), mkdirSync(away);
    for (const f of FIT.slice(0, 2)) symlinkSync(image(f), join(photos, f));
    let r = cli(['prior', 'fit', photos, '--out', 'p.bin', '--components', '2', '--iterations', '2'], dir);
    assert.equal(r.status, 0, r.stderr.toString());
    r = cli(['prior', 'fit', photos, '--out', 'q.bin', '--components', '2', '--iterations', '3'], dir);
    assert.equal(r.status, 0, r.stderr.toString());
    r = cli(['render', model('mobilenet_v2_1.0_224_quant.tflite'), '--layer', LAYER, '--channel', String(CHANNEL), '--size', '40',
      '--steps', '4', '--prior', 'p.bin', '--prior-weight', '3', '--out', 'a.png', '--threads', '1'], dir);
    assert.equal(r.status, 0, r.stderr.toString());
    const man = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
    assert.equal(man.prior.file, 'p.bin');
    writeFileSync(join(away, 'a.json'), JSON.stringify(man));
    const again = (out) => cli(['render', '--manifest', join(away, 'a.json'), '--out', join(away, out), '--threads', '1'], dir);
    // missing: names the file, its sha256, where it looked and how to get it
    r = again('b.png');
    assert.equal(r.status, 1);
    const err = r.stderr.toString();
    assert.equal(err.trim().split('\n').length, 1, err);
    assert.ok(err.includes(`the manifest's prior p.bin (sha256 ${man.prior.sha256}) is neither beside the manifest (${join(away, 'p.bin')}) nor in models/`), err);
    assert.match(err, /download it from the page .*"download prior\.bin".*, or make it with: featviz prior fit PHOTOS --out p\.bin --components 2 --iterations 2/);
    // beside it: the same bytes
    writeFileSync(join(away, 'p.bin'), readFileSync(join(dir, 'p.bin')));
    r = again('b.png');
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(readFileSync(join(away, 'b.png')).equals(readFileSync(join(dir, 'a.png'))), 'the prior beside the manifest gives its bytes');
    // another valid prior under that name, and a truncated one: refused before the engine reads them
    for (const bytes of [readFileSync(join(dir, 'q.bin')), readFileSync(join(dir, 'p.bin')).subarray(0, 4000)]) {
      writeFileSync(join(away, 'p.bin'), bytes);
      r = again('c.png');
      assert.equal(r.status, 1);
      assert.match(r.stderr.toString(), /^featviz: \S*p\.bin is not the manifest's prior \(sha256 [0-9a-f]{12}…, the manifest's [0-9a-f]{12}…\): a damaged or different file; make it with: featviz prior fit/);
    }
    // a file name only: a manifest cannot send the CLI elsewhere
    writeFileSync(join(away, 'd.json'), JSON.stringify({ ...man, prior: { ...man.prior, file: '../p.bin' } }));
    r = cli(['render', '--manifest', join(away, 'd.json'), '--out', join(away, 'd.png')], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr.toString(), /its prior's file must be a file name, got "\.\.\/p\.bin"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the worker (wasm/pool.js → wasm/worker.js under worker_threads, as the page runs it) ----------
test('the worker fits a prior with progress and cancel, and renders with it to the engine\'s bytes', async () => {
  const { Pool } = await import('../wasm/pool.js');
  const pool = new Pool({ size: 1 });
  try {
    await pool.ready;
    const photos = Object.fromEntries(FIT.slice(0, 2).map((f) => [f, readFileSync(image(f))]));
    const seen = [];
    const job = pool.fitPrior(photos, { components: 3, iterations: 3 }, { onProgress: (p) => seen.push(p.iteration) });
    const { bytes, sha256, name } = await job.finished;
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(name, `prior-${sha256.slice(0, 12)}.bin`, 'named by its sha256, so two fits do not collide');
    const direct = fit(FIT.slice(0, 2), { components: 3, iterations: 3 });
    assert.ok(Buffer.from(bytes).equals(Buffer.from(direct)), 'the worker fits the same bytes as the engine in this thread');
    assert.match(sha256, /^[0-9a-f]{64}$/);
    // cancel: the fit ends early with cancelled
    const long = pool.fitPrior(photos, { components: 3, iterations: 200 });
    await long.cancel();
    assert.deepEqual(await long.finished, { cancelled: true });
    // a render with the prior: the same PNG as the engine here, and its manifest names the prior
    await pool.loadModel('v2', readFileSync(model('mobilenet_v2_1.0_224_quant.tflite')), { name: 'mobilenet_v2_1.0_224_quant.tflite' });
    const options = { size: 48, steps: 5, seed: 2, objective: `${LAYER}:${CHANNEL} - 2*prior` };
    const r = pool.render('v2', options, { prior: { name: 'mine.bin', bytes } });
    await r.finished;
    const png = await r.png(-1), man = await r.manifest();
    const local = fv.loadPrior(bytes), e = fv.render(m, options, { prior: local });
    e.step(5);
    assert.ok(Buffer.from(png).equals(Buffer.from(e.png(-1))), 'worker and engine give the same PNG bytes');
    e.free(), local.free();
    assert.equal(man.prior.sha256, sha256);
    assert.equal(man.prior.file, 'mine.bin');
    r.free();
    // a damaged prior is refused with the engine's message; the worker goes on
    const bad = pool.render('v2', options, { prior: { name: 'bad.bin', bytes: bytes.subarray(0, 100) } });
    await assert.rejects(bad.started, (err) => /^bad\.bin: prior\.bin: 100 bytes/.test(err.message));
    const again = pool.fitPrior(photos, { components: 2, iterations: 1 });
    assert.ok((await again.finished).bytes.length > 0);
    // no photo readable: a clear error
    await assert.rejects(pool.fitPrior({ 'x.jpg': new TextEncoder().encode('no') }).finished, /none of the 1 photos/);
  } finally {
    pool.terminate();
  }
});
