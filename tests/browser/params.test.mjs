// The parameterizations on the page (web/index.html) in Debian's Chromium: a
// transparent render is an RGBA image on the canvas, shown over a checkerboard,
// black or white as the user switches, and its PNG is the CLI's byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, canvasStats, download, skip, ROOT } from './helpers.mjs';
import { model } from '../paths.mjs';

const LAYER = 'MobilenetV2/expanded_conv_8/add';

let b, tmp;
before(async () => {
  if (skip) return;
  b = await openBrowser();
  tmp = mkdtempSync(join(tmpdir(), 'featviz-params-'));
});
after(async () => {
  await b?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('alpha: an RGBA canvas over a switchable backdrop, and the CLI\'s PNG bytes', { skip }, async () => {
  const cliPng = join(tmp, 'cli.png');
  execFileSync(process.execPath, [
    join(ROOT, 'bin', 'featviz.mjs'), 'render', model('mobilenet_v2_1.0_224_quant.tflite'), '--layer', LAYER, '--channel', '5',
    '--size', '64', '--steps', '24', '--seed', '3', '--alpha', '--alpha-blur', '0.5', '--out', cliPng,
  ], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const cliManifest = JSON.parse(readFileSync(join(tmp, 'cli.json'), 'utf8'));

  const q = new URLSearchParams({ model: 'mobilenet_v2', layer: LAYER, ch: '5', size: '64', steps: '24', seed: '3', alpha: '1', ablur: '0.5' });
  const p = await b.page(`/web/?${q}`);
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  assert.equal(await p.page.isChecked('#alpha'), true, 'the URL turns transparency on');
  const st = await canvasStats(p.page, '#canvas');
  assert.ok(st.alphaMin < 200, `the canvas is transparent in places (alpha down to ${st.alphaMin})`);
  const png = await download(p.page, '#export-png');
  const manifest = JSON.parse((await download(p.page, '#export-manifest')).bytes.toString('utf8'));
  assert.deepEqual(manifest.options, cliManifest.options, 'the page renders with the CLI\'s options');
  assert.ok(png.bytes.equals(readFileSync(cliPng)), 'the page\'s RGBA PNG is the CLI\'s, byte for byte');

  const backdrop = () => p.page.evaluate(() => getComputedStyle(document.querySelector('#canvas')).backgroundImage + ' ' +
    getComputedStyle(document.querySelector('#canvas')).backgroundColor);
  assert.match(await backdrop(), /conic-gradient/, 'a checkerboard by default');
  await p.page.selectOption('#backdrop', 'black');
  assert.match(await backdrop(), /^none rgb\(0, 0, 0\)$/);
  await p.shot('alpha-over-black');
  await p.page.selectOption('#backdrop', 'white');
  assert.match(await backdrop(), /^none rgb\(255, 255, 255\)$/);
  await p.assertClean();
});

test('cppn: the page draws the PNG at cppnsize with the CPPN\'s rate, the CLI\'s bytes', { skip }, async () => {
  const cliPng = join(tmp, 'cppn.png');
  execFileSync(process.execPath, [
    join(ROOT, 'bin', 'featviz.mjs'), 'render', model('mobilenet_v2_1.0_224_quant.tflite'), '--layer', LAYER, '--channel', '5',
    '--size', '32', '--steps', '6', '--param', 'cppn', '--cppn-size', '96', '--out', cliPng,
  ], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const q = new URLSearchParams({ model: 'mobilenet_v2', layer: LAYER, ch: '5', size: '32', steps: '6', param: 'cppn', cppnsize: '96' });
  const p = await b.page(`/web/?${q}`);
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  assert.equal(await p.page.inputValue('#lr'), '0.005', 'the CPPN\'s learning rate without lr in the URL');
  const png = await download(p.page, '#export-png');
  assert.ok(png.bytes.equals(readFileSync(cliPng)), 'the page\'s 96-px CPPN PNG is the CLI\'s, byte for byte');
  // switching the parameterization moves a default rate along, not a typed one
  await p.page.selectOption('#param', 'fft');
  assert.equal(await p.page.inputValue('#lr'), '0.05');
  await p.page.fill('#lr', '0.02');
  await p.page.selectOption('#param', 'cppn');
  assert.equal(await p.page.inputValue('#lr'), '0.02');
  await p.assertClean();
});

test('interpolation: the page plays the strip, and its PNG is the CLI\'s', { skip }, async () => {
  const cliPng = join(tmp, 'interp.png');
  execFileSync(process.execPath, [
    join(ROOT, 'bin', 'featviz.mjs'), 'render', model('mobilenet_v2_1.0_224_quant.tflite'), '--layer', LAYER, '--channel', '5',
    '--interpolate', `${LAYER}:12`, '--batch', '3', '--size', '32', '--steps', '6', '--out', cliPng,
  ], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const q = new URLSearchParams({ model: 'mobilenet_v2', layer: LAYER, ch: '5', interp: '12', shared: '1', batch: '3', size: '32', steps: '6' });
  const p = await b.page(`/web/?${q}`);
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  const png = await download(p.page, '#export-png');
  assert.ok(png.bytes.equals(readFileSync(cliPng)), 'the page\'s strip PNG is the CLI\'s, byte for byte');
  assert.equal(await p.page.isVisible('#strip'), true, 'a batch shows the strip player');
  await p.page.click('#strip-play');
  // every frame shows up while it plays (a condition, not a duration)
  await p.page.waitForFunction(() => {
    (window.stripSeen ??= new Set()).add(document.querySelector('#strip').dataset.frame);
    return window.stripSeen.size === 3;
  }, null, { polling: 20 });
  await p.page.click('#strip-play');
  assert.equal(await p.page.getAttribute('#strip-play', 'aria-pressed'), 'false');
  await p.assertClean();
});
