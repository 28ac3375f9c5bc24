// The served site's Content-Security-Policy (bin/serve.mjs) and privacy:
// the header is sent, Chromium enforces it, the page and the article work
// under it without a single violation, and a model or photo the user opens
// never leaves the machine (every request is a same-origin GET of a static file).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { openBrowser, dropFiles, skip } from './helpers.mjs';
import { CSP, SERVED } from '../../bin/serve.mjs';
import { model, image } from '../paths.mjs';

const POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; img-src 'self' data: blob:; " +
  "style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'";

let b;
before(async () => { if (!skip) b = await openBrowser(); });
after(async () => { await b?.close(); });

/** A raw GET/HEAD (no URL normalization, unlike fetch): { status, headers, body }. */
function raw(path, method = 'GET') {
  const { port } = b.server.address();
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('the server sends the Content-Security-Policy, the right types, and nothing outside the site', { skip }, async () => {
  assert.equal(CSP, POLICY);
  for (const path of ['/web/', '/web/index.html', '/web/examples/article.html']) {
    const r = await raw(path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers['content-type'], /^text\/html/, path);
    assert.equal(r.headers['content-security-policy'], POLICY, `${path} carries the policy`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(r.body.toString('utf8'), /<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|style=|javascript:/i, `${path}: no inline script, handler or style`);
  }
  // workers take the policy of their own script
  assert.equal((await raw('/wasm/worker.js')).headers['content-security-policy'], POLICY);
  assert.equal((await raw('/wasm/featviz.wasm', 'HEAD')).headers['content-type'], 'application/wasm');
  assert.match((await raw('/web/feature-vis.js')).headers['content-type'], /^text\/javascript/);
  const root = await raw('/?model=mobilenet_v2&ch=3');
  assert.equal(root.status, 302);
  assert.equal(root.headers.location, '/web/?model=mobilenet_v2&ch=3', '/ sends a shared link on to the page');
  assert.equal((await raw('/web/examples')).headers.location, '/web/examples/');
  for (const path of ['/package.json', '/web/../package.json', '/web/%2e%2e/package.json', '/models/../bin/serve.mjs', '/src/fv.h', '/web/nope.js']) {
    assert.equal((await raw(path)).status, 404, `${path} is not served`);
  }
  assert.equal((await raw('/web/', 'POST')).status, 405);
});

test('Chromium enforces the policy; the page renders and the article runs without a violation', { skip }, async () => {
  // the policy is in force, and a violation is noticed (so "no violation" below means something)
  const probe = await b.page('/web/?autostart=0');
  await probe.ready();
  const blocked = await probe.page.evaluate(async () => {
    const style = document.createElement('style');
    style.textContent = 'body { background: red }';
    document.head.append(style);
    const worker = await new Promise((ok) => {
      try {
        const w = new Worker('data:text/javascript,postMessage(1)');
        w.onmessage = () => ok('ran');
        w.onerror = () => ok('blocked');
      } catch (e) {
        ok(e.name);
      }
    });
    return { background: getComputedStyle(document.body).backgroundColor, worker };
  });
  assert.notEqual(blocked.background, 'rgb(255, 0, 0)', 'an inline <style> is blocked');
  assert.notEqual(blocked.worker, 'ran', 'a data: worker is blocked');
  const seen = await probe.problems();
  assert.ok(seen.some((p) => /style-src/.test(p)) && seen.some((p) => /worker-src/.test(p)), `the violations are seen:\n${seen.join('\n')}`);

  const p = await b.page('/web/?model=mobilenet_v2&layer=MobilenetV2%2Fexpanded_conv_8%2Fadd&ch=12&size=48&steps=16');
  assert.equal(p.response.headers()['content-security-policy'], POLICY, 'the browser got the policy');
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done');
  await p.assertClean('the page under the policy');

  const a = await b.page('/web/examples/article.html');
  await a.page.waitForFunction(() => document.querySelector('#fv-channel').dataset.step >= 16, null, { timeout: 90000, polling: 100 });
  await a.assertClean('the article under the policy');
});

test('a dropped model and an opened photo never leave the machine', { skip }, async () => {
  const p = await b.page('/web/?autostart=0');
  await p.ready();
  const mark = p.requests.length;
  const modelBytes = readFileSync(model('mobilenet_v1_0.25_128_quant.tflite'));
  await dropFiles(p.page, '#model-drop', [{ name: 'my-own-model.tflite', type: '', bytes: modelBytes }]);
  await p.page.waitForFunction(() => document.body.dataset.model === 'file:1', null, { timeout: 60000 });
  assert.match(await p.page.textContent('#model-info'), /my-own-model\.tflite/);

  await p.page.setInputFiles('#photo-file', { name: 'holiday-snap.jpg', mimeType: 'image/jpeg', buffer: readFileSync(image('hot_dog.jpg')) });
  await p.page.locator('#predictions > li').first().waitFor({ timeout: 60000 });

  await p.page.fill('#size', '48');
  await p.page.fill('#steps', '8');
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  await p.shot('csp-own-model-and-photo');

  const origin = new URL(p.origin);
  const bad = [];
  for (const [i, r] of p.requests.entries()) {
    const u = new URL(r.url);
    if (u.protocol === 'blob:' || u.protocol === 'data:') continue; // in-memory, the photo's preview
    const why = [];
    if (u.origin !== origin.origin) why.push('another origin');
    if (r.method !== 'GET' && r.method !== 'HEAD') why.push(`method ${r.method}`);
    if (r.postData?.length) why.push(`a body of ${r.postData.length} bytes`);
    if (!SERVED.some((d) => u.pathname.startsWith(`/${d}/`))) why.push('not a static file of the site');
    if (/my-own-model|holiday-snap/i.test(r.url)) why.push('names the user\'s file');
    if (i >= mark && /\.tflite$/i.test(u.pathname)) why.push('a model fetched after the user opened theirs');
    if (why.length) bad.push(`${r.method} ${r.url}: ${why.join(', ')}`);
  }
  assert.deepEqual(bad, [], `requests that should not have happened:\n${bad.join('\n')}`);
  assert.ok(p.requests.some((r) => r.url.endsWith('/wasm/featviz.wasm')), 'workers\' requests are watched too');
  await p.assertClean();
});
