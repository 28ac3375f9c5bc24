// Activation space on the page, in Debian's Chromium: the objective as an expression
// (typed, with the engine's error at the character; built with the term list), a
// photo's direction and caricature from the photos panel, side-by-side pairs on the
// shared pool, and "save the movie" (decoded by omggif, frame count and last frame).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import omggif from 'omggif';
import { openBrowser, canvasStats, dropFiles, download, skip } from './helpers.mjs';
import { image } from '../paths.mjs';

const L8 = 'MobilenetV2/expanded_conv_8/add', L5 = 'MobilenetV2/expanded_conv_5/add';
let b;
before(async () => { if (!skip) b = await openBrowser(); });
after(async () => { await b?.close(); });

const terms = (p) => p.page.$$eval('#terms li.term', (lis) => lis.map((li) => [Number(li.querySelector('.term-weight').value), li.querySelector('.term-text').textContent]));

test('an expression: refused at the character, built with the term list, rendered as written', { skip }, async () => {
  const p = await b.page('/web/?model=mobilenet_v2&autostart=0&size=48&steps=12');
  await p.ready();
  await p.page.waitForFunction((l) => document.querySelector('#expression').value === `${l}:12`, L8);
  // a typo: the engine's message, the caret on the character
  const typo = `${L8}:3 + 0.5*MobilenetV2/expanded_conv_9x/add:1`;
  await p.page.fill('#expression', typo);
  await p.page.press('#expression', 'Enter');
  await p.page.locator('#expression-error').waitFor({ state: 'visible' });
  assert.match(await p.page.textContent('#expression-error'), /^objective at 41: unknown layer "MobilenetV2\/expanded_conv_9x\/add"/);
  assert.equal(await p.page.evaluate(() => document.querySelector('#expression').selectionStart), 40);
  // a good one: its terms, as the engine writes them
  await p.page.fill('#expression', `${L8}:3+0.5*${L5}:7 - 2*tv`);
  await p.page.press('#expression', 'Enter');
  await p.page.waitForFunction(() => document.querySelectorAll('#terms li.term').length === 3);
  assert.deepEqual(await terms(p), [[1, `${L8}:3`], [0.5, `${L5}:7`], [-2, 'tv']]);
  assert.equal(await p.page.inputValue('#expression'), `${L8}:3 + 0.5*${L5}:7 - 2*tv`);
  // negate, weight, remove, add
  await p.page.locator('#terms li.term').nth(1).locator('.term-negate').click();
  await p.page.waitForFunction(() => /- 0\.5\*/.test(document.querySelector('#expression').value));
  await p.page.locator('#terms li.term').nth(0).locator('.term-weight').fill('4');
  await p.page.locator('#terms li.term').nth(0).locator('.term-weight').dispatchEvent('change');
  await p.page.waitForFunction(() => /^4\*/.test(document.querySelector('#expression').value));
  await p.page.locator('#terms li.term').nth(2).locator('.term-remove').click();
  await p.page.waitForFunction(() => document.querySelectorAll('#terms li.term').length === 2);
  await p.page.selectOption('#objective', 'neuron');
  await p.page.fill('#channel', '5');
  await p.page.dispatchEvent('#channel', 'change');
  await p.page.click('#term-add');
  await p.page.waitForFunction(() => document.querySelectorAll('#terms li.term').length === 3);
  const expr = `4*${L8}:3 - 0.5*${L5}:7 + neuron(${L8}:5)`;
  assert.equal(await p.page.inputValue('#expression'), expr);
  assert.match(new URL(p.page.url()).searchParams.get('expr'), /neuron/);
  // the render: its manifest records the expression
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  const manifest = JSON.parse((await download(p.page, '#export-manifest')).bytes.toString('utf8'));
  assert.equal(manifest.options.objective, expr);
  await p.shot('page-expression');
  await p.assertClean();
});

test('from a photo: its direction renders, its caricature shows beside it', { skip }, async () => {
  const p = await b.page(`/web/?model=mobilenet_v2&autostart=0&layer=${encodeURIComponent(L8)}&size=64&steps=24`);
  await p.ready();
  const bytes = readFileSync(image('parrot.jpg'));
  await dropFiles(p.page, '#photos-panel', [{ name: 'parrot.jpg', type: 'image/jpeg', bytes }]);
  const card = p.page.locator('#photos li.photo[data-name="parrot.jpg"]');
  await card.locator('.top-channels button[data-channel]').first().waitFor();
  await card.locator('.photo-caricature').click();
  await p.page.waitForFunction(() => document.querySelector('#photos canvas.caricature')?.dataset.state === 'done', null, { timeout: 120000 });
  const car = await canvasStats(p.page, '#photos canvas.caricature');
  assert.equal(car.w, 64);
  assert.ok(car.std > 10, `the caricature is a picture (std ${car.std})`);
  assert.match(await card.locator('.caricature-label').getAttribute('title'), /^caricature\(MobilenetV2\/expanded_conv_8\/add, parrot\.jpg, cossim=1\)$/);
  // the direction of what the photo activates, rendered on the main canvas
  await card.locator('.photo-direction').click();
  assert.equal(await p.state(['done', 'error'], 120000), 'done', await p.page.textContent('#error-text'));
  const manifest = JSON.parse((await download(p.page, '#export-manifest')).bytes.toString('utf8'));
  assert.equal(manifest.options.objective, `direction(${L8}, parrot.jpg)`);
  const [ph] = manifest.options.photos;
  assert.equal(ph.sha256, createHash('sha256').update(bytes).digest('hex'), 'the photo is named by its sha256');
  assert.deepEqual([ph.kind, ph.shape, ph.values.length], ['mean', [64], 64], 'its mean activation, recorded');
  await p.shot('page-photo-direction-caricature');
  await p.assertClean();
});

test('side by side: neuron vs channel renders both at once, each captioned with its expression', { skip }, async () => {
  const p = await b.page(`/web/?model=mobilenet_v2&autostart=0&layer=${encodeURIComponent(L8)}&ch=7&size=48&steps=16`);
  await p.ready();
  await p.page.click('#pair-neuron');
  await p.page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('#pairs').dataset.state), null, { timeout: 120000 });
  assert.equal(await p.page.evaluate(() => document.querySelector('#pairs').dataset.state), 'done', await p.page.textContent('#pairs-status'));
  assert.equal(await p.page.textContent('#pair-a-label'), `neuron(${L8}:7)`);
  assert.equal(await p.page.textContent('#pair-b-label'), `${L8}:7`);
  const a = await canvasStats(p.page, '#pair-a'), c = await canvasStats(p.page, '#pair-b');
  assert.ok(a.std > 8 && c.std > 8 && a.hash !== c.hash, 'two different pictures');
  await p.page.click('#pair-direction');
  await p.page.waitForFunction(() => document.querySelector('#pairs').dataset.state === 'done' && /random/.test(document.querySelector('#pair-b-label').textContent), null, { timeout: 120000 });
  assert.equal(await p.page.textContent('#pair-a-label'), `direction(${L8}, unit(7))`);
  await p.page.click('#pair-sign');
  await p.page.waitForFunction(() => document.querySelector('#pairs').dataset.state === 'done' && /^-/.test(document.querySelector('#pair-b-label').textContent), null, { timeout: 120000 });
  await p.shot('page-pairs');
  await p.assertClean();
});

test('save the movie: a GIF with a frame every N steps whose last frame is the PNG', { skip }, async () => {
  const p = await b.page(`/web/?model=mobilenet_v2&autostart=0&layer=${encodeURIComponent(L8)}&size=48&steps=24`);
  await p.ready();
  await p.page.fill('#movie-every', '8');
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done');
  const gif = new omggif.GifReader((await download(p.page, '#export-movie')).bytes);
  assert.equal(gif.numFrames(), 4, 'steps 0, 8, 16, 24');
  const png = await download(p.page, '#export-png');
  const rgb = await p.page.evaluate(async (bytes) => {
    const img = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/png' }));
    const cv = new OffscreenCanvas(img.width, img.height), ctx = cv.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return Array.from(ctx.getImageData(0, 0, img.width, img.height).data);
  }, Array.from(png.bytes));
  const last = new Uint8Array(gif.width * gif.height * 4);
  gif.decodeAndBlitFrameRGBA(3, last);
  let err = 0;
  for (let i = 0; i < last.length; i++) if (i % 4 !== 3) err += Math.abs(last[i] - rgb[i]);
  const mae = err / (gif.width * gif.height * 3);
  assert.equal(rgb.length, last.length);
  assert.ok(mae < 4, `the last frame is the PNG through its palette (mean error ${mae.toFixed(2)} levels)`);
  await p.assertClean();
});
