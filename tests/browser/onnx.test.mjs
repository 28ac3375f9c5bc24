// .onnx on the page and in <feature-vis>, in Debian's Chromium: a user's GoogLeNet
// opened (its input from its metadata) and rendered; the same file with its metadata
// taken out, dropped: the page guesses its input from the store's photos and says it
// is a guess, and the preset control overrides it; a file with an op the engine does
// not run is refused with the op and node named, and the page (and its worker) go on;
// <feature-vis model="….onnx"> renders the file at that URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openBrowser, canvasStats, dropFiles, skip } from './helpers.mjs';
import { model } from '../paths.mjs';
import { withoutMetadata, withOpRenamed } from '../onnx-bytes.mjs';

const GOOGLENET = 'googlenet_bvlc_int8.onnx';
let b;
before(async () => { if (!skip) b = await openBrowser(); });
after(async () => { await b?.close(); });

const inputInfo = (page) => page.evaluate(() => {
  const el = document.querySelector('#input-info');
  return { text: el.textContent, guess: el.dataset.guess, source: el.dataset.source, label: el.dataset.label };
});

async function render(p, size, steps) {
  await p.page.fill('#size', String(size));
  await p.page.fill('#steps', String(steps));
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  return canvasStats(p.page, '#canvas');
}

test('an opened .onnx: its layers by the file\'s names, its input from its metadata, a render', { skip }, async () => {
  const p = await b.page('/web/?model=mobilenet_v2&autostart=0');
  await p.ready();
  await p.page.setInputFiles('#model-file', { name: 'my-googlenet.onnx', mimeType: 'application/octet-stream', buffer: readFileSync(model(GOOGLENET)) });
  await p.page.waitForFunction(() => document.body.dataset.model === 'file:1');
  const layers = await p.page.$$eval('#layer option', (os) => os.map((o) => o.value));
  assert.ok(layers.includes('inception_4c/output') && layers.includes('conv2/3x3_pre_relu'), `${layers.length} layers`);
  assert.deepEqual(await inputInfo(p.page), { text: 'input 0:255 --bgr (onnx metadata)', guess: '0', source: 'onnx metadata', label: '0:255 --bgr' });
  await p.page.selectOption('#layer', 'inception_4c/output');
  const end = await render(p, 48, 6);
  assert.ok(end.std > 5, `the image is not uniform (std ${end.std.toFixed(1)})`);
  await p.assertClean();
});

test('a dropped .onnx that does not say its input: a guess from the store\'s photos, shown as one; the preset control overrides', { skip }, async () => {
  const p = await b.page('/web/?model=mobilenet_v2&autostart=0');
  await p.ready();
  await dropFiles(p.page, '#model-drop', [{ name: 'exported.onnx', type: '', bytes: withoutMetadata(readFileSync(model(GOOGLENET))) }]);
  await p.page.waitForFunction(() => document.body.dataset.model === 'file:1', null, { timeout: 300000 });
  const guess = await inputInfo(p.page);
  assert.equal(guess.guess, '1', guess.text);
  assert.equal(guess.label, '0:255 --bgr', guess.text);
  assert.match(guess.text, /^input 0:255 --bgr: a guess, \d+% sure \(the file does not say\): on 6 photos/);
  await p.shot('onnx-input-guess');
  // the user knows better: caffe, from the control; the URL carries it
  await p.page.selectOption('#input-preset', 'caffe');
  await p.page.waitForFunction(() => document.querySelector('#input-info').dataset.source === 'you');
  assert.deepEqual(await inputInfo(p.page), { text: 'input caffe (your choice)', guess: '0', source: 'you', label: 'caffe' });
  await p.page.waitForFunction(() => /[?&]input=caffe(&|$)/.test(location.search));
  await p.assertClean();
});

test('a .onnx with an op the engine does not run: the op and node named; the page and its worker go on', { skip }, async () => {
  const p = await b.page('/web/?model=mobilenet_v2&autostart=0');
  await p.ready();
  await p.page.evaluate(() => {
    window.crashes = 0;
    window.featviz.pool.addEventListener('crash', () => window.crashes++);
  });
  await dropFiles(p.page, '#model-drop', [{ name: 'custom.onnx', type: '', bytes: withOpRenamed(readFileSync(model(GOOGLENET)), 'LRN', 'Erf') }]);
  await p.page.locator('#error').waitFor({ state: 'visible', timeout: 60000 });
  assert.match(await p.page.textContent('#error-text'), /^custom\.onnx cannot be used: unsupported ONNX op Erf at node 5 "pool1\/norm1"$/);
  assert.equal(await p.page.evaluate(() => document.body.dataset.model), 'mobilenet_v2', 'the model in use stays');
  const end = await render(p, 48, 8);
  assert.equal(end.w, 48);
  assert.equal(await p.page.evaluate(() => window.crashes), 0, 'no worker crashed');
  await p.assertClean();
});

test('<feature-vis model="….onnx">: the file at that URL renders, its input said on the element', { skip }, async () => {
  const p = await b.page('/web/examples/article.html');
  await p.page.evaluate((file) => {
    const el = document.createElement('feature-vis');
    Object.entries({ id: 'fv-onnx', model: `../../models/${file}`, layer: 'inception_3a/output', channel: '11', size: '48', steps: '8' })
      .forEach(([k, v]) => el.setAttribute(k, v));
    document.body.prepend(el);
  }, GOOGLENET);
  await p.page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('#fv-onnx').dataset.state), null, { timeout: 120000 });
  const el = await p.page.evaluate(() => ({ ...document.querySelector('#fv-onnx').dataset }));
  assert.equal(el.state, 'done', JSON.stringify(el));
  assert.deepEqual([el.input, el.inputGuess, el.step], ['0:255 --bgr', '0', '8']);
  await p.assertClean();
});
