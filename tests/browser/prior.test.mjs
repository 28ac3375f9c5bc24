// The learned prior on the page (web/prior.js) in Debian's Chromium: a render with the
// shipped prior gives the CLI's PNG bytes for the same manifest, and a prior is fitted in
// a worker on the photos the user opens (progress, cancel), then used by the next render;
// its manifest and prior.bin, downloaded, re-render in the CLI to the page's bytes.
// <feature-vis prior="store" | prior="URL">: the manifest names the prior; a missing or
// damaged one is an error inside the element, and the worker goes on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, dropFiles, download, skip, ROOT } from './helpers.mjs';
import { model, image } from '../paths.mjs';

const SHIPPED = join(ROOT, 'models', 'prior-store.bin');
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const cli = (args, cwd) => spawnSync(process.execPath, [join(ROOT, 'bin', 'featviz.mjs'), ...args], { cwd, encoding: null });
let b, tmp;
before(async () => {
  if (skip) return;
  assert.ok(existsSync(SHIPPED), `${SHIPPED}: bash scripts/setup.sh makes it`);
  b = await openBrowser();
  tmp = mkdtempSync(join(tmpdir(), 'featviz-prior-browser-'));
});
after(async () => {
  await b?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a render with the shipped prior gives the CLI\'s PNG bytes, and its manifest names the prior', { skip }, async () => {
  const out = join(tmp, 'cli.png');
  execFileSync(process.execPath, [
    join(ROOT, 'bin', 'featviz.mjs'), 'render', model('mobilenet_v2_1.0_224_quant.tflite'),
    '--layer', 'MobilenetV2/expanded_conv_5/add', '--channel', '7', '--size', '64', '--steps', '16', '--seed', '5', '--prior-weight', '3', '--out', out,
  ], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = JSON.parse(readFileSync(join(tmp, 'cli.json'), 'utf8'));
  assert.equal(cli.prior.file, 'prior-store.bin');
  const o = cli.options;
  const q = new URLSearchParams({
    model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_5/add', expr: o.objective, size: '64', steps: '16', seed: '5',
  });
  const p = await b.page(`/web/?${q}`);
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  const png = await download(p.page, '#export-png');
  const manifest = JSON.parse((await download(p.page, '#export-manifest')).bytes.toString('utf8'));
  assert.equal(manifest.options.objective, o.objective);
  assert.deepEqual(manifest.prior, cli.prior, 'the same prior file, sha256 and recipe');
  assert.ok(png.bytes.equals(readFileSync(out)), 'the page\'s PNG is the CLI\'s, byte for byte');
  // the shipped prior can be saved too, under the name the manifest records
  const bin = await download(p.page, '#prior-download');
  assert.equal(bin.name, manifest.prior.file);
  assert.ok(bin.bytes.equals(readFileSync(SHIPPED)), 'the shipped prior\'s bytes');
  assert.equal(await p.page.getAttribute('#prior-status', 'data-state'), 'saved');
  await p.assertClean();
});

test('a prior fitted on the user\'s photos in a worker: progress, cancel, then a render uses it', { skip }, async () => {
  const p = await b.page('/web/?autostart=0&size=48&steps=8&prior=2');
  await p.ready();
  await dropFiles(p.page, '#photos-panel', ['cat.bmp', 'owl.jpg'].map((f) => ({ name: f, type: f.endsWith('.jpg') ? 'image/jpeg' : 'image/bmp', bytes: readFileSync(image(f)) })));
  await p.page.locator('#photos li.photo').nth(1).waitFor();
  // cancel one fit at its first progress
  await p.page.click('#prior-fit');
  await p.page.waitForFunction(() => /EM \d+\/\d+/.test(document.querySelector('#prior-status').textContent), null, { timeout: 60000 });
  await p.page.click('#prior-cancel');
  await p.page.waitForFunction(() => document.querySelector('#prior-status').dataset.state === 'cancelled', null, { timeout: 60000 });
  assert.equal(await p.page.locator('#prior-source option[value="photos"]').isDisabled(), true, 'no prior of the photos yet');
  // then a whole fit
  await p.page.click('#prior-fit');
  await p.page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('#prior-status').dataset.state), null, { timeout: 240000 });
  assert.match(await p.page.textContent('#prior-status'), /Fitted on 2 photos \(sha256 [0-9a-f]{12}/);
  assert.equal(await p.page.inputValue('#prior-source'), 'photos');
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  const mf = await download(p.page, '#export-manifest');
  const manifest = JSON.parse(mf.bytes.toString('utf8'));
  assert.match(manifest.options.objective, /- 2\*prior$/);
  assert.notEqual(manifest.prior.sha256, JSON.parse(readFileSync(join(tmp, 'cli.json'), 'utf8')).prior.sha256);
  // the fitted prior leaves the page under the name its manifest records (by its sha256)
  const bin = await download(p.page, '#prior-download');
  assert.equal(manifest.prior.file, `prior-${manifest.prior.sha256.slice(0, 12)}.bin`);
  assert.equal(bin.name, manifest.prior.file);
  assert.equal(sha(bin.bytes), manifest.prior.sha256, 'the downloaded bytes are the manifest\'s prior');
  const png = await download(p.page, '#export-png');
  await p.shot('page-prior-fitted');
  await p.assertClean();
  // the CLI finds it beside the manifest and gives the page's PNG bytes
  const dir = join(tmp, 'page-fit');
  mkdirSync(dir);
  writeFileSync(join(dir, mf.name), mf.bytes);
  const r0 = cli(['render', '--manifest', mf.name, '--out', 'missing.png', '--threads', '1'], dir);
  assert.equal(r0.status, 1, 'no prior beside the manifest yet');
  assert.match(r0.stderr.toString(), new RegExp(`prior ${bin.name.replace('.', '\\.')} \\(sha256 ${manifest.prior.sha256}\\) is neither beside the manifest.*"download prior\\.bin"`));
  writeFileSync(join(dir, bin.name), bin.bytes);
  const r = cli(['render', '--manifest', mf.name, '--out', 'cli.png', '--threads', '1'], dir);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.ok(readFileSync(join(dir, 'cli.png')).equals(png.bytes), 'the CLI renders the page\'s PNG, byte for byte, with the downloaded prior');
});

// ---- <feature-vis prior=…> ------------------------------------------------------------------
const ARTICLE = '/web/examples/article.html';
const waitState = (page, sel, states, timeout = 120000) => page.waitForFunction(
  ([q, l]) => l.includes(document.querySelector(q)?.dataset.state), [sel, [].concat(states)], { timeout, polling: 100 });
const addElement = (page, id, attrs) => page.evaluate(([i, a]) => {
  document.getElementById(i)?.remove();
  const el = document.createElement('feature-vis');
  el.id = i;
  for (const [k, v] of Object.entries(a)) el.setAttribute(k, v);
  document.querySelector('article header').after(el);
}, [id, attrs]);

test('<feature-vis prior="store"> renders the CLI\'s bytes and names the prior; a missing or damaged prior is an error in the element', { skip }, async () => {
  const p = await b.page(ARTICLE, { viewport: { width: 1000, height: 800 } });
  const unit = { model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_5/add', channel: '7', size: '40', steps: '6', seed: '4' };
  await addElement(p.page, 'fv-prior', { ...unit, prior: 'store', 'prior-weight': '3' });
  await waitState(p.page, '#fv-prior', ['done', 'error']);
  assert.equal(await p.page.evaluate(() => document.querySelector('#fv-prior').dataset.state), 'done',
    await p.page.locator('#fv-prior .error').textContent());
  const { manifest, png } = await p.page.evaluate(async () => {
    const el = document.querySelector('#fv-prior');
    return { manifest: await el.manifest(), png: Array.from(await el.png()) };
  });
  assert.equal(manifest.prior.file, 'prior-store.bin');
  assert.equal(manifest.prior.sha256, sha(readFileSync(SHIPPED)));
  assert.match(manifest.options.objective, /- 3\*prior$/);
  const dir = join(tmp, 'embed');
  mkdirSync(dir);
  writeFileSync(join(dir, 'm.json'), JSON.stringify(manifest));
  const r = cli(['render', '--manifest', 'm.json', '--out', 'cli.png', '--threads', '1'], dir); // prior-store.bin: from models/
  assert.equal(r.status, 0, r.stderr.toString());
  assert.ok(readFileSync(join(dir, 'cli.png')).equals(Buffer.from(png)), 'the element\'s PNG is the CLI\'s');
  // a prior that is not there, and a file that is not a prior: said in the element
  await addElement(p.page, 'fv-nope', { ...unit, prior: '/nope.bin' });
  await waitState(p.page, '#fv-nope', ['done', 'error']);
  assert.equal(await p.page.evaluate(() => document.querySelector('#fv-nope').dataset.state), 'error');
  assert.match(await p.page.locator('#fv-nope .error').textContent(), /cannot load prior="\/nope\.bin" \(\/nope\.bin\): HTTP 404/);
  await addElement(p.page, 'fv-damaged', { ...unit, prior: '/web/index.html' });
  await waitState(p.page, '#fv-damaged', ['done', 'error']);
  assert.equal(await p.page.evaluate(() => document.querySelector('#fv-damaged').dataset.state), 'error');
  assert.match(await p.page.locator('#fv-damaged .error').textContent(), /^index\.html: prior\.bin: /);
  assert.equal(await p.page.locator('#fv-damaged .error').isVisible(), true);
  await p.shot('article-prior-errors', { fullPage: false });
  // the worker survives: the element renders once its prior is fixed
  await p.page.evaluate(() => document.querySelector('#fv-damaged').setAttribute('prior', 'store'));
  await waitState(p.page, '#fv-damaged', ['done', 'error']);
  assert.equal(await p.page.evaluate(() => document.querySelector('#fv-damaged').dataset.state), 'done');
  assert.equal(await p.page.locator('#fv-damaged .error').isVisible(), false);
  // the one expected console error: the browser's own line for the 404
  const problems = (await p.problems()).filter((e) => !/Failed to load resource: .*404/.test(e));
  assert.deepEqual(problems, [], problems.join('\n'));
});
