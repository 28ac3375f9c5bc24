// The static site of `featviz site` in Chromium: served as plain files (bin/serve.mjs
// on the atlas folder, the page's CSP), the index, a layer page and a unit page
// open without a console error, CSP violation or broken image, ask for nothing
// outside the site, and a unit's link to the live page renders that unit's PNG,
// byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser, download, skip } from './helpers.mjs';
import { startServer, CSP } from '../../bin/serve.mjs';
import { MODEL, LAYER_NAMES, photoFolder, tempDir, cli, readUnits } from '../atlas-helpers.mjs';

let b, site, out;
before(async () => {
  if (skip) return;
  b = await openBrowser();
  out = tempDir('site');
  site = await startServer(0, '127.0.0.1', { dir: out });
});
after(async () => {
  await b?.close();
  if (site) await new Promise((ok) => { site.close(ok); site.closeAllConnections?.(); });
});

const siteUrl = (path) => `http://127.0.0.1:${site.address().port}/${path}`;

// three units of one layer, each a diversity pair, with their top photos, in two shards
let photos;
async function shard(i) {
  photos ??= photoFolder();
  const atlas = await cli(['atlas', MODEL, '--layers', LAYER_NAMES[0], '--channels', '2-4', '--size', '48', '--steps', '24',
    '--batch', '2', '--diversity', '10', '--examples', photos, '--top', '3', '--out', out, '--shard', `${i}/2`]);
  assert.equal(atlas.code, 0, atlas.err);
  const made = await cli(['site', out, '--live', b.url('/web/')]);
  assert.equal(made.code, 0, made.err);
}

/** Every <img> of the page has loaded and has pixels. */
async function imagesLoaded(page) {
  const imgs = await page.evaluate(async () => {
    const all = [...document.images];
    await Promise.all(all.map((i) => (i.complete ? null : new Promise((ok) => { i.onload = i.onerror = ok; }))));
    return all.map((i) => ({ src: i.src, w: i.naturalWidth }));
  });
  assert.ok(imgs.length > 0);
  for (const i of imgs) assert.ok(i.w > 0, `${i.src} loaded`);
  return imgs.length;
}

test('index, layer and unit pages open cleanly under the page’s CSP, and ask for nothing outside the site', { skip }, async () => {
  await shard(1); // channels 2 and 4: the site of a half-done atlas
  let p = await b.page(siteUrl(`atlas/${readUnits(out)[0].m.unit.atlas}/0.html`));
  assert.equal(await imagesLoaded(p.page), 2);
  assert.deepEqual(await p.page.locator('ul.grid li.waiting').allTextContents(), ['#3'], 'channel 3 is still to come');
  await p.assertClean('a half-done layer page');

  await shard(2); // and again when the other shard is done
  p = await b.page(siteUrl(''));
  assert.equal(p.response.status(), 200);
  assert.equal(p.response.headers()['content-security-policy'], CSP, 'the served policy is the page’s');
  assert.match(await p.page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content'), /^default-src 'self'; script-src 'self'/);
  assert.equal(await imagesLoaded(p.page), 1, 'the layer’s preview');
  await p.shot('site-index');

  await p.page.click(`a:text("${LAYER_NAMES[0]}")`);
  await p.page.waitForSelector('ul.grid');
  assert.equal(await imagesLoaded(p.page), 3, 'a thumbnail per unit');
  assert.equal(await p.page.locator('ul.grid li.waiting').count(), 0);
  await p.shot('site-layer');

  await p.page.click('ul.grid a:has-text("#3")');
  await p.page.waitForSelector('img.render');
  // the render, its diversity pair and three top-photo crops
  assert.equal(await imagesLoaded(p.page), 1 + 2 + 3);
  assert.match(await p.page.textContent('h1'), /#3$/);
  assert.equal(await p.page.locator('.photos figure').count(), 3);
  await p.shot('site-unit');
  await p.assertClean('the site');
  const outside = p.requests.filter((r) => !r.url.startsWith(siteUrl('')) && !r.url.startsWith('data:'));
  assert.deepEqual(outside.map((r) => r.url), [], 'every request is the site’s');
  assert.ok(p.requests.every((r) => r.method === 'GET'));
});

test('a unit’s link opens the live page in its state, which renders the unit’s PNG byte for byte', { skip }, async () => {
  const u = readUnits(out).find((x) => x.m.unit.channel === 3);
  const html = readFileSync(join(out, 'atlas', u.m.unit.atlas, String(u.m.unit.index), '3.html'), 'utf8');
  const href = /<a class="live" href="([^"]+)"/.exec(html)[1].replace(/&amp;/g, '&');
  assert.ok(href.startsWith(b.url('/web/index.html?')), href);
  const p = await b.page(href);
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  const png = await download(p.page, '#export-png');
  assert.ok(png.bytes.equals(readFileSync(join(out, 'units', u.m.images[0]))), 'the live page’s PNG is the atlas’s');
  await p.assertClean('the live page');
});
