// <feature-vis> (web/feature-vis.js) in the example article
// (web/examples/article.html): elements start when they scroll into view and
// render; play/pause works; every element shares one pool of workers; "open
// in featviz" leads to the full page with the same state, which renders the
// same PNG bytes; bad attributes show an error inside the element.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, canvasStats, download, skip } from './helpers.mjs';

const ARTICLE = '/web/examples/article.html';
let b;
before(async () => { if (!skip) b = await openBrowser(); });
after(async () => { await b?.close(); });

const state = (page, sel) => page.evaluate((s) => document.querySelector(s).dataset.state, sel);
const waitState = (page, sel, states, timeout = 90000) => page.waitForFunction(
  ([s, l]) => l.includes(document.querySelector(s)?.dataset.state), [sel, [].concat(states)], { timeout, polling: 100 });

/** canvasStats for a canvas inside an element's shadow root. */
async function shadowCanvasStats(page, sel) {
  const handle = await page.evaluateHandle((s) => document.querySelector(s).shadowRoot.querySelector('canvas'), sel);
  try {
    return await canvasStats(page, handle);
  } finally {
    await handle.dispose();
  }
}

test('the example article renders two elements, each when it scrolls into view', { skip }, async () => {
  const p = await b.page(ARTICLE, { viewport: { width: 1000, height: 800 } });
  const ids = await p.page.$$eval('feature-vis', (els) => els.map((e) => e.id));
  assert.deepEqual(ids, ['fv-channel', 'fv-diversity', 'fv-class', 'fv-negative'], 'the article embeds four');
  await waitState(p.page, '#fv-channel', ['done', 'error']);
  assert.equal(await state(p.page, '#fv-channel'), 'done', await p.page.locator('#fv-channel .error').textContent());
  assert.equal(await state(p.page, '#fv-negative'), 'waiting', 'an element far below the fold has not started');

  await p.page.locator('#fv-diversity').scrollIntoViewIfNeeded();
  await waitState(p.page, '#fv-diversity', ['done', 'error']);
  assert.equal(await state(p.page, '#fv-diversity'), 'done', await p.page.locator('#fv-diversity .error').textContent());

  const one = await shadowCanvasStats(p.page, '#fv-channel');
  assert.deepEqual([one.w, one.h], [128, 128]);
  assert.ok(one.std > 12, `the channel's image is not uniform (std ${one.std.toFixed(1)})`);
  assert.equal(await p.page.evaluate(() => document.querySelector('#fv-channel').dataset.step), '256');
  const four = await shadowCanvasStats(p.page, '#fv-diversity');
  assert.deepEqual([four.w, four.h], [2 * 96 + 2, 2 * 96 + 2], 'a batch of 4 is a 2×2 grid');
  assert.ok(four.std > 12, `the diversity set is not uniform (std ${four.std.toFixed(1)})`);
  // the four images of the diversity set differ from one another
  const quads = await p.page.evaluate(() => {
    const cv = document.querySelector('#fv-diversity').shadowRoot.querySelector('canvas');
    const ctx = cv.getContext('2d');
    return [[0, 0], [98, 0], [0, 98], [98, 98]].map(([x, y]) => Array.from(ctx.getImageData(x, y, 96, 96).data.filter((_, i) => i % 4 !== 3)));
  });
  for (let i = 0; i < 4; i++) {
    for (let j = i + 1; j < 4; j++) {
      const d = quads[i].reduce((s, v, k) => s + Math.abs(v - quads[j][k]), 0) / quads[i].length;
      assert.ok(d > 8, `images ${i} and ${j} of the set differ (mean abs difference ${d.toFixed(1)})`);
    }
  }
  await p.page.evaluate(() => window.scrollTo(0, 0));
  await p.shot('article-two-elements');
  await p.assertClean('the article');
});

test('play/pause on an element, one shared pool, and the link to the full page', { skip }, async () => {
  const p = await b.page(ARTICLE, { viewport: { width: 1000, height: 800 } });
  const workers = [];
  p.page.on('worker', (w) => workers.push(w.url()));
  await p.page.locator('#fv-negative').scrollIntoViewIfNeeded();
  await p.page.waitForFunction(() => Number(document.querySelector('#fv-negative').dataset.step) >= 3, null, { timeout: 120000, polling: 50 });
  assert.equal(await state(p.page, '#fv-negative'), 'rendering');
  // out of view it pauses, back in view it goes on
  await p.page.evaluate(() => window.scrollTo(0, 0));
  await waitState(p.page, '#fv-negative', 'paused');
  assert.match(await p.page.locator('#fv-negative .note').textContent(), /out of view/);
  await p.page.locator('#fv-negative').scrollIntoViewIfNeeded();
  await waitState(p.page, '#fv-negative', 'rendering');
  const button = p.page.locator('#fv-negative button');
  assert.equal(await button.getAttribute('aria-label'), 'Pause');

  await button.click();
  await waitState(p.page, '#fv-negative', 'paused');
  assert.equal(await button.getAttribute('aria-label'), 'Resume');
  const s1 = await p.page.evaluate(() => document.querySelector('#fv-negative').job.query());
  assert.equal(s1.state, 'paused');
  await p.page.waitForTimeout(400); // proves an absence: no step while paused
  const s2 = await p.page.evaluate(() => document.querySelector('#fv-negative').job.query());
  assert.equal(s2.step, s1.step, 'no step is taken while paused');

  await button.click();
  await waitState(p.page, '#fv-negative', 'rendering');
  await waitState(p.page, '#fv-negative', ['done', 'error']);
  assert.equal(await state(p.page, '#fv-negative'), 'done');
  assert.equal(await button.getAttribute('aria-label'), 'Render again');

  // the elements that ran share the page's one pool: no more workers than it has
  const pool = await p.page.evaluate(() => {
    const pl = globalThis[Symbol.for('featviz.pool')];
    const jobs = [...document.querySelectorAll('feature-vis')].map((e) => e.job).filter(Boolean);
    return { size: pl.size, jobs: jobs.length, same: jobs.every((j) => j.pool === pl) };
  });
  assert.ok(pool.jobs >= 2, `several elements rendered (${pool.jobs})`);
  assert.ok(pool.same, 'every element\'s render is on the shared pool');
  assert.equal(workers.filter((u) => u.endsWith('/wasm/worker.js')).length, pool.size, `${pool.size} workers for the whole page`);

  const link = p.page.locator('#fv-negative a');
  assert.equal(await link.textContent(), 'open in featviz');
  const href = new URL(await link.getAttribute('href'));
  assert.equal(href.origin, b.origin);
  assert.equal(href.pathname, '/web/index.html');
  assert.equal(href.searchParams.get('model'), 'mobilenet_v2');
  assert.equal(href.searchParams.get('layer'), 'MobilenetV2/expanded_conv_8/add');
  assert.equal(href.searchParams.get('ch'), '12');
  assert.equal(href.searchParams.get('neg'), '1');
  assert.equal(href.searchParams.get('seed'), '1');
  await p.assertClean('the article');
});

test('"open in featviz" renders the element\'s image in the full page, byte for byte', { skip }, async () => {
  // a small element of its own on the article page, so the comparison is quick
  const p = await b.page(ARTICLE, { viewport: { width: 1000, height: 800 } });
  await p.page.evaluate(() => {
    const el = document.createElement('feature-vis');
    el.id = 'fv-small';
    for (const [k, v] of Object.entries({ model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_5/add', channel: '3', size: '64', steps: '32', seed: '9', lr: '0.08' })) el.setAttribute(k, v);
    el.setAttribute('negative', '');
    document.querySelector('article header').after(el);
  });
  await waitState(p.page, '#fv-small', ['done', 'error']);
  assert.equal(await state(p.page, '#fv-small'), 'done', await p.page.locator('#fv-small .error').textContent());
  const element = Buffer.from(await p.page.evaluate(async () => Array.from(await document.querySelector('#fv-small').png())));
  const href = await p.page.evaluate(() => document.querySelector('#fv-small').href);

  const full = await b.page(href);
  await full.ready();
  assert.equal(await full.state(['done', 'error']), 'done', await full.page.textContent('#error-text'));
  const png = await download(full.page, '#export-png');
  assert.ok(png.bytes.equals(element), `the full page's PNG (${png.bytes.length} bytes) is the element's (${element.length} bytes)`);
  await p.assertClean('the article');
  await full.assertClean('the full page');
});

test('bad attributes show an error inside the element; fixing them renders', { skip }, async () => {
  const p = await b.page(ARTICLE, { viewport: { width: 1000, height: 800 } });
  const cases = [
    [{ model: 'resnet_9000' }, /model="resnet_9000": not in the catalog/],
    [{ layer: 'no/such/layer', channel: '1' }, /no such layer/],
    [{ model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_8/add', channel: '64' }, /channel 64 out of range: .* 0\.\.63/],
    [{ objective: 'class', label: 'not a bird' }, /unknown class "not a bird": no such class in the model's labels/],
    [{ model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_8/add', size: 'big' }, /size="big" is not a whole number/],
    [{ model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_8/add', lr: '-1' }, /./],          // the engine's message
  ];
  for (const [i, [attrs, want]] of cases.entries()) {
    await p.page.evaluate(([id, a]) => {
      const el = document.createElement('feature-vis');
      el.id = id;
      el.setAttribute('steps', '4');
      el.setAttribute('size', '32');
      for (const [k, v] of Object.entries(a)) el.setAttribute(k, v);
      document.querySelector('article header').after(el);
    }, [`bad${i}`, attrs]);
    await waitState(p.page, `#bad${i}`, ['error', 'done']);
    assert.equal(await state(p.page, `#bad${i}`), 'error', `${JSON.stringify(attrs)} is refused`);
    const err = p.page.locator(`#bad${i} .error`);
    assert.equal(await err.isVisible(), true);
    assert.match(await err.textContent(), want);
  }
  await p.shot('article-errors', { fullPage: false });
  // a fixed attribute renders at once
  await p.page.evaluate(() => document.querySelector('#bad2').setAttribute('channel', '5'));
  await waitState(p.page, '#bad2', ['done', 'error']);
  assert.equal(await state(p.page, '#bad2'), 'done');
  assert.equal(await p.page.locator('#bad2 .error').isVisible(), false);
  await p.assertClean('the article');
});

test('an element whose worker crashes says so, and renders again on a click', { skip }, async () => {
  const p = await b.page(ARTICLE, { viewport: { width: 1000, height: 800 } });
  await p.page.evaluate(() => {
    const el = document.createElement('feature-vis');
    el.id = 'fv-crash';
    for (const [k, v] of Object.entries({ model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_2/add', channel: '1', size: '32', steps: '100000' })) el.setAttribute(k, v);
    document.querySelector('article header').after(el);
  });
  await p.page.waitForFunction(() => Number(document.querySelector('#fv-crash').dataset.step) >= 2, null, { timeout: 90000, polling: 50 });
  await p.page.evaluate(() => {
    const job = document.querySelector('#fv-crash').job;
    return job.pool.request('crash', {}, { worker: job.worker }).catch(() => {});
  });
  await waitState(p.page, '#fv-crash', 'error');
  assert.match(await p.page.locator('#fv-crash .error').textContent(), /crashed and was restarted/);
  await p.page.evaluate(() => document.querySelector('#fv-crash').setAttribute('steps', '8'));
  await waitState(p.page, '#fv-crash', ['done', 'error']);
  assert.equal(await state(p.page, '#fv-crash'), 'done', 'a new render runs on the restarted worker');
  await p.page.locator('#fv-crash button').click();
  await waitState(p.page, '#fv-crash', ['rendering', 'done']);
  await waitState(p.page, '#fv-crash', ['done', 'error']);
  assert.equal(await state(p.page, '#fv-crash'), 'done', '"render again" renders again');
  assert.equal(await p.page.locator('#fv-crash .error').isVisible(), false);
  await p.assertClean('the article');
});
