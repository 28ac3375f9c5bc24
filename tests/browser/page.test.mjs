// The page (web/index.html) in Debian's Chromium: it loads cleanly, a render
// changes the canvas, pause / resume / cancel / continue work, the page's
// PNG is byte-identical to the CLI's for the same manifest (both ways), a
// dropped photo is classified, a malformed model is refused without breaking
// the page, and the layer atlas fills (and comes back from its cache).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, canvasStats, dropFiles, download, skip, ROOT } from './helpers.mjs';
import { model, image } from '../paths.mjs';

const LAYER = 'MobilenetV2/expanded_conv_8/add';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let b, tmp;
before(async () => {
  if (skip) return;
  b = await openBrowser();
  tmp = mkdtempSync(join(tmpdir(), 'featviz-browser-'));
});
after(async () => {
  await b?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const steps = (p) => p.page.evaluate(() => Number(document.querySelector('#canvas').dataset.step));

test('the page loads without console errors', { skip }, async () => {
  const p = await b.page('/');
  await p.ready();
  assert.match(new URL(p.page.url()).pathname, /^\/web\/$/, '/ leads to the page in /web/');
  const models = await p.page.$$eval('#model option', (os) => os.map((o) => o.value));
  assert.ok(models.includes('mobilenet_v2'), `the catalog's models are listed: ${models}`);
  const layers = await p.page.$$eval('#layer option', (os) => os.length);
  assert.ok(layers >= 60, `MobileNet v2's layers are listed (${layers})`);
  assert.equal(await p.page.locator('#start').isEnabled(), true);
  assert.equal(await p.page.evaluate(() => document.body.dataset.state), 'idle');
  await p.page.waitForFunction(() => /engine/.test(document.querySelector('#engine-info').textContent));
  await p.shot('page-loaded');
  await p.assertClean();
});

test('a 64-step render changes the canvas and ends non-uniform', { skip }, async () => {
  const p = await b.page('/web/');
  await p.ready();
  const blank = await canvasStats(p.page, '#canvas');
  await p.page.fill('#size', '64');
  await p.page.fill('#steps', '64');
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  await p.page.waitForFunction(() => document.querySelector('#canvas').dataset.step === '64');
  const end = await canvasStats(p.page, '#canvas');
  assert.deepEqual([end.w, end.h], [64, 64]);
  assert.notEqual(end.hash, blank.hash, 'the canvas changed');
  assert.equal(end.alphaMin, 255, 'the image is opaque');
  assert.ok(end.std > 12, `the image is not uniform (std ${end.std.toFixed(1)} of 0..255 values)`);
  assert.equal(await p.page.evaluate(() => document.querySelector('#progress').value), 64);
  assert.match(await p.page.textContent('#objective-value'), /^-?\d+\.\d+$/);
  assert.equal(await p.page.locator('#export-png').isEnabled(), true);
  await p.shot('page-render-64');
  await p.assertClean();
});

test('pause, resume, cancel and continue', { skip }, async () => {
  const p = await b.page('/web/');
  await p.ready();
  await p.page.fill('#size', '64');
  await p.page.fill('#steps', '5000');
  await p.page.click('#start');
  await p.state('rendering');
  await p.page.waitForFunction(() => Number(document.querySelector('#canvas').dataset.step) >= 3);

  await p.page.click('#pause');
  await p.state('paused');
  const paused = await p.page.evaluate(() => featviz.job.query());
  assert.equal(paused.state, 'paused');
  // a paused render stays where it is (this wait proves an absence, so it has to be a wait)
  await p.page.waitForTimeout(400);
  const still = await p.page.evaluate(() => featviz.job.query());
  assert.equal(still.step, paused.step, 'no step is taken while paused');
  assert.equal(await p.page.locator('#resume').isEnabled(), true);
  assert.equal(await p.page.locator('#pause').isEnabled(), false);

  await p.page.click('#resume');
  await p.state('rendering');
  await p.page.waitForFunction((s) => Number(document.querySelector('#canvas').dataset.step) > s, paused.step);

  await p.page.click('#cancel');
  await p.state('idle');
  const cancelled = await p.page.evaluate(() => featviz.job.query());
  assert.equal(cancelled.state, 'cancelled');
  assert.ok(cancelled.step > paused.step && cancelled.step < 5000, `cancelled at step ${cancelled.step}`);
  await p.page.waitForFunction((s) => Number(document.querySelector('#canvas').dataset.step) === s, cancelled.step);
  assert.match(await p.page.textContent('#status'), /Cancelled at step/);
  // the image stays exportable after a cancel
  const png = await download(p.page, '#export-png');
  assert.ok(png.bytes.subarray(0, 8).equals(PNG_SIGNATURE), 'a PNG is downloaded');
  assert.match(png.name, /\.png$/);

  await p.page.fill('#continue-steps', '16');
  await p.page.click('#continue');
  assert.equal(await p.state(['done', 'error']), 'done');
  await p.page.waitForFunction((s) => Number(document.querySelector('#canvas').dataset.step) === s + 16, cancelled.step);
  assert.equal((await p.page.evaluate(() => featviz.job.query())).step, cancelled.step + 16);
  await p.assertClean();
});

/** The page's query string for a CLI manifest: its canonical expression as the page's expr (the rest must be defaults). */
function manifestQuery(m) {
  const catalog = JSON.parse(readFileSync(join(ROOT, 'models', 'catalog.json'), 'utf8'));
  const o = m.options;
  assert.equal(typeof o.objective, 'string', 'the manifest records the expression');
  assert.equal(o.decay_power, 1);
  assert.equal(o.redirect_steps, 16);
  const entry = catalog.models.find((e) => e.file === m.model.file);
  assert.ok(entry, `${m.model.file} is in the catalog`);
  const q = new URLSearchParams({
    model: entry.id, layer: entry.suggested.layer, expr: o.objective, size: String(o.size), steps: String(o.steps),
    lr: String(o.lr), seed: String(o.seed), batch: String(o.batch), param: o.param,
    decor: o.decorrelate ? '1' : '0', tf: o.transforms === 'none' ? '0' : '1',
  });
  return q.toString();
}

test('a render in the browser gives the CLI\'s PNG bytes for the same manifest', { skip }, async () => {
  // the CLI first: its manifest, through the page's URL state, into the page
  const cliPng = join(tmp, 'cli.png');
  execFileSync(process.execPath, [
    join(ROOT, 'bin', 'featviz.mjs'), 'render', model('mobilenet_v2_1.0_224_quant.tflite'),
    '--layer', 'MobilenetV2/expanded_conv_5/add', '--channel', '7', '--size', '64', '--steps', '24', '--seed', '5',
    '--batch', '2', '--diversity', '20', '--threads', '1', '--out', cliPng,
  ], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = { png: readFileSync(cliPng), manifest: JSON.parse(readFileSync(join(tmp, 'cli.json'), 'utf8')) };

  const p = await b.page(`/web/?${manifestQuery(cli.manifest)}`);
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  // the page renders on every core it is given (worker 0 on the threads build), the CLI above on one
  const cores = Math.min(16, await p.page.evaluate(() => navigator.hardwareConcurrency || 1));
  assert.equal(await p.page.getAttribute('#canvas', 'data-threads'), String(cores), 'the page\'s render ran on every core');
  const png = await download(p.page, '#export-png');
  const manifest = JSON.parse((await download(p.page, '#export-manifest')).bytes.toString('utf8'));
  assert.deepEqual(manifest.options, cli.manifest.options, 'the page renders with the CLI\'s options');
  assert.deepEqual(manifest.model, cli.manifest.model, 'the same model file and sha256');
  assert.equal(manifest.objective, cli.manifest.objective, 'the same objective value');
  assert.ok(png.bytes.subarray(0, 8).equals(PNG_SIGNATURE));
  assert.ok(png.bytes.equals(cli.png), `the page's PNG (${png.bytes.length} bytes) is the CLI's (${cli.png.length} bytes), byte for byte`);

  // and back: the page's manifest through the CLI gives the page's bytes
  const pageManifest = join(tmp, 'page.json');
  writeFileSync(pageManifest, JSON.stringify(manifest));
  execFileSync(process.execPath, [join(ROOT, 'bin', 'featviz.mjs'), 'render', '--manifest', pageManifest, '--out', join(tmp, 'again.png')], {
    cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEATVIZ_MODELS: model('.') },
  });
  assert.ok(readFileSync(join(tmp, 'again.png')).equals(png.bytes), 'featviz render --manifest <the page\'s manifest> gives the page\'s PNG');
  await p.shot('page-cli-identical');
  await p.assertClean();
});

test('dropping parrot.jpg shows "macaw" on top', { skip }, async () => {
  const p = await b.page('/web/?autostart=0');
  await p.ready();
  await dropFiles(p.page, '#photos-panel', [{ name: 'parrot.jpg', type: 'image/jpeg', bytes: readFileSync(image('parrot.jpg')) }]);
  const top = p.page.locator('#predictions > li').first();
  await top.waitFor({ timeout: 60000 });
  assert.match(await top.locator('.label').textContent(), /macaw/i);
  const card = p.page.locator('#photos li.photo[data-name="parrot.jpg"]');
  assert.equal(await card.count(), 1);
  await card.locator('.top-channels button[data-channel]').first().waitFor();
  assert.ok((await card.locator('.top-channels button[data-channel]').count()) >= 5, 'the layer\'s top channels are listed');
  const heat = await canvasStats(p.page, '#photos li.photo canvas.heat');
  assert.ok(heat.w > 1 && heat.h > 1, 'a heat map is drawn');
  await p.shot('page-photo-parrot');
  await p.assertClean();
});

test('a malformed model shows an error, and a following render still works', { skip }, async () => {
  const p = await b.page('/web/');
  await p.ready();
  const real = readFileSync(model('mobilenet_v2_1.0_224_quant.tflite'));
  // the real file cut short: the header is right, the buffers point past the end
  await p.page.setInputFiles('#model-file', { name: 'broken.tflite', mimeType: 'application/octet-stream', buffer: real.subarray(0, 65536) });
  await p.page.locator('#error').waitFor({ state: 'visible', timeout: 60000 });
  assert.match(await p.page.textContent('#error-text'), /broken\.tflite/);
  await p.shot('page-malformed-model');
  // not even a flatbuffer
  await p.page.setInputFiles('#model-file', { name: 'notes.tflite', mimeType: 'application/octet-stream', buffer: Buffer.from('these are not the weights you are looking for\n'.repeat(20)) });
  await p.page.waitForFunction(() => /notes\.tflite/.test(document.querySelector('#error-text').textContent));
  assert.equal(await p.page.evaluate(() => document.body.dataset.model), 'googlenet_int8', 'the model in use (the default) stays');

  await p.page.fill('#size', '48');
  await p.page.fill('#steps', '8');
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done');
  assert.equal(await p.page.locator('#error').isHidden(), true, 'the error is cleared by the new render');
  const end = await canvasStats(p.page, '#canvas');
  assert.equal(end.w, 48);
  await p.assertClean();
});

test('the layer atlas fills at least 8 thumbnails, a click opens one, and they come back from the cache', { skip }, async () => {
  const layer = 'MobilenetV2/expanded_conv_2/add';
  const p = await b.page(`/web/?model=mobilenet_v2&layer=${encodeURIComponent(layer)}&autostart=0`);
  await p.ready();
  assert.equal(await p.page.inputValue('#layer'), layer);
  await p.page.click('#atlas-open');
  await p.page.waitForFunction(() => Number(document.querySelector('#atlas-grid').dataset.done) >= 8, null, { timeout: 120000, polling: 100 });
  await p.page.click('#atlas-cancel');
  const total = await p.page.evaluate(() => Number(document.querySelector('#atlas-grid').dataset.total));
  assert.equal(total, 24, 'one thumbnail per channel');
  const stds = await p.page.$$eval('#atlas-grid button.thumb[data-state="done"] canvas', (cvs) => cvs.map((cv) => {
    const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    let s = 0, q = 0, n = 0;
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) { s += d[i + k]; q += d[i + k] * d[i + k]; n++; }
    return Math.sqrt(q / n - (s / n) ** 2);
  }));
  assert.ok(stds.length >= 8, `${stds.length} thumbnails done`);
  assert.ok(stds.filter((s) => s > 8).length >= 8, `at least 8 thumbnails show a picture (std ${stds.map((s) => s.toFixed(1))})`);
  await p.shot('page-atlas');

  // a click on a thumbnail opens that channel
  const thumb = p.page.locator('#atlas-grid button.thumb[data-state="done"]').nth(3);
  const channel = await thumb.getAttribute('data-channel');
  await thumb.click();
  await p.page.waitForFunction((c) => document.querySelector('#channel').value === c, channel);
  await p.state(['rendering', 'done']);
  await p.page.evaluate(() => featviz.job?.cancel().catch(() => {}));

  // reopening the layer (a new page, the same browser profile) takes the thumbnails from IndexedDB
  await p.page.goto(b.url(`/web/?model=mobilenet_v2&layer=${encodeURIComponent(layer)}&autostart=0`));
  await p.ready();
  await p.page.click('#atlas-open');
  await p.page.waitForFunction(() => Number(document.querySelector('#atlas-grid').dataset.done) >= 8, null, { timeout: 10000, polling: 50 });
  assert.match(await p.page.textContent('#atlas-status'), /from the cache/);
  await p.page.click('#atlas-cancel');
  await p.assertClean();
});
