// The threads build in Chromium (wasm/threads.js): the served site is
// cross-origin isolated (bin/serve.mjs sends COOP/COEP with every response),
// so a page runs the engine on several threads — helpers are module Workers
// over one shared memory — and renders the same PNG bytes as the plain build
// in Node. Served without those headers, the page is not isolated and the
// engine falls back to one thread, saying why, with the same bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { openBrowser, skip } from './helpers.mjs';
import { loadEngine } from '../../wasm/engine.js';
import { model } from '../paths.mjs';

const OPTS = { size: 64, redirect_steps: 2, objective: { kind: 'channel', layer: 'MobilenetV2/expanded_conv_8/add', channel: 12 } };
const STEPS = 4;

let b, want;
before(async () => {
  if (skip) return;
  b = await openBrowser();
  // the reference: the plain single-threaded build in Node
  const fv = await loadEngine();
  const m = fv.loadModel(readFileSync(model('mobilenet_v2_1.0_224_quant.tflite')));
  const r = fv.render(m, OPTS);
  const objective = [];
  for (let i = 0; i < STEPS; i++) {
    r.step(1);
    objective.push(r.objective);
  }
  want = { objective, png: createHash('sha256').update(r.png()).digest('hex') };
  r.free();
  m.free();
});
after(async () => { await b?.close(); });

function head(path) {
  const { port } = b.server.address();
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'HEAD' }, (res) => { res.resume(); ok(res); });
    req.on('error', fail);
    req.end();
  });
}

/** In the page: the engine with `threads`, the same render as `want`, and what it says about threads. */
function renderInPage(page, threads) {
  return page.evaluate(async ({ threads, opts, steps }) => {
    const { loadEngine } = await import('/wasm/engine.js');
    const { threadsAvailable } = await import('/wasm/threads.js');
    const fv = await loadEngine({ threads });
    const bytes = new Uint8Array(await (await fetch('/models/mobilenet_v2_1.0_224_quant.tflite')).arrayBuffer());
    const m = fv.loadModel(bytes);
    const r = fv.render(m, opts);
    const objective = [];
    for (let i = 0; i < steps; i++) {
      r.step(1);
      objective.push(r.objective);
    }
    const digest = await crypto.subtle.digest('SHA-256', r.png());
    const png = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
    const out = { isolated: self.crossOriginIsolated, available: threadsAvailable(), threads: fv.threads, reason: fv.threadsReason, objective, png };
    r.free();
    m.free();
    fv.close();
    return out;
  }, { threads, opts: OPTS, steps: STEPS });
}

test('every response carries the cross-origin isolation headers (and the CSP)', { skip }, async () => {
  for (const path of ['/web/', '/web/examples/article.html', '/wasm/engine.js', '/wasm/thread-helper.js', '/wasm/featviz-threads.wasm', '/web/nope.js', '/', '/favicon.ico']) {
    const res = await head(path);
    assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin', path);
    assert.equal(res.headers['cross-origin-embedder-policy'], 'require-corp', path);
    assert.ok(res.headers['content-security-policy'], `${path}: the CSP stays`);
  }
});

test('an isolated page renders on 2 threads (module Workers over one shared memory): the plain build\'s bytes', { skip }, async () => {
  const p = await b.page('/web/?autostart=0');
  await p.ready();
  // the page's own pool: worker 0 on every core (at most the engine's 16), and it says so
  const cores = Math.min(16, await p.page.evaluate(() => navigator.hardwareConcurrency || 1));
  assert.equal(await p.page.getAttribute('body', 'data-threads'), String(cores));
  assert.match(await p.page.textContent('#engine-info'), new RegExp(`renders on ${cores} thread`));
  const got = await renderInPage(p.page, 2);
  assert.equal(got.isolated, true, 'the page is cross-origin isolated');
  assert.deepEqual(got.available, { available: true, reason: '' });
  assert.equal(got.threads, 2, got.reason);
  assert.deepEqual({ objective: got.objective, png: got.png }, want);
  assert.ok(p.requests.some((r) => r.url.endsWith('/wasm/featviz-threads.wasm')), 'the threads build was loaded');
  assert.ok(p.requests.some((r) => r.url.endsWith('/wasm/thread-helper.js')), 'a helper Worker was started');
  await p.assertClean('the page running the threads build');
});

test('a page that is not isolated falls back to one thread, says why, and renders the same bytes', { skip }, async () => {
  const p = await b.page(null);
  // the same site without COOP/COEP (as another static host might serve it)
  await p.context.route('**/*', async (route) => {
    const res = await route.fetch();
    const headers = { ...res.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    await route.fulfill({ response: res, headers });
  });
  await p.page.goto(b.url('/web/?autostart=0'));
  await p.ready();
  // the page's own pool says it renders on one thread, and why
  assert.equal(await p.page.getAttribute('body', 'data-threads'), '1');
  assert.match(await p.page.textContent('#engine-info'), /renders on 1 thread \(.*not cross-origin isolated/);
  const got = await renderInPage(p.page, 2);
  assert.equal(got.isolated, false);
  assert.equal(got.available.available, false);
  assert.equal(got.threads, 1);
  assert.match(got.reason, /not cross-origin isolated/);
  assert.deepEqual({ objective: got.objective, png: got.png }, want);
  assert.ok(!p.requests.some((r) => r.url.endsWith('/wasm/featviz-threads.wasm')), 'the plain build was loaded');
  await p.assertClean('the page on one thread');
});
