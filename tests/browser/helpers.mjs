// helpers.mjs — what the browser tests share: the static server of
// `npm start` (bin/serve.mjs) on a free port in this process, Debian's
// Chromium driven by playwright-core, a page that records console errors,
// page errors, CSP violations and every request, and screenshots under
// tests/artifacts/ (git-ignored).
//
//   import { openBrowser } from './helpers.mjs';
//   const b = await openBrowser();                 // in before(); b.close() in after()
//   const p = await b.page('/web/?autostart=0');    // a fresh context (own IndexedDB, downloads on);
//                                                   // p.response: the navigation's response
//   await p.ready();                                // body[data-ready="1"]
//   ...
//   p.assertClean();                                // no console error, page error or CSP violation
//   await p.shot('name');                           // tests/artifacts/name.png
//
// FEATVIZ_BROWSER_TESTS=0 skips the browser tests (setup.sh then installs no Chromium);
// FEATVIZ_CHROMIUM overrides /usr/bin/chromium.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../bin/serve.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
export const CHROMIUM = process.env.FEATVIZ_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage',
];

/** A reason to skip the browser tests, or false (node:test's `skip` option). */
export const skip = process.env.FEATVIZ_BROWSER_TESTS === '0' ? 'FEATVIZ_BROWSER_TESTS=0' : false;

/** Starts the server and Chromium. Every page it opens is closed by close(). */
export async function openBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run scripts/setup.sh (apt-get install chromium), or FEATVIZ_BROWSER_TESTS=0 to skip`);
  }
  // playwright-core is a devDependency: imported here so the rest of the suite runs without it
  const { chromium } = await import('playwright-core');
  mkdirSync(ARTIFACTS, { recursive: true });
  const server = await startServer(0);
  const origin = `http://127.0.0.1:${server.address().port}`;
  let browser;
  try {
    // playwright gives the browser a new temporary profile and deletes it on close
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60000 });
  } catch (e) {
    server.close();
    throw e;
  }
  const contexts = new Set();
  return {
    origin,
    server,
    browser,
    url: (path) => new URL(path, origin).href,
    /** A new context and page on path; see the page object below. */
    async page(path, { viewport = { width: 1280, height: 900 } } = {}) {
      const context = await browser.newContext({ viewport, acceptDownloads: true });
      context.setDefaultTimeout(60000); // the machine may be busy: generous, but every wait is on a condition
      contexts.add(context);
      const p = watch(context, await context.newPage(), origin);
      if (path) p.response = await p.page.goto(new URL(path, origin).href);
      return p;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      const closed = new Promise((ok) => server.close(ok));
      server.closeAllConnections?.();
      await closed;
    },
  };
}

/** Records what a page says and asks for. */
function watch(context, page, origin) {
  const errors = [];       // console errors and uncaught exceptions, as text
  const warnings = [];     // console warnings (the page logs shown errors as warnings)
  const csp = [];          // CSP violations (console text and securitypolicyviolation events)
  const requests = [];     // { url, method, resourceType, postData, headers, origin }
  // the page's console events carry its dedicated workers' messages too
  page.on('console', (m) => {
    const w = m.worker?.();
    const text = `${w ? `[worker ${w.url().split('/').pop()}] ` : ''}${m.text()}`;
    if (/Content Security Policy|Refused to/i.test(text)) csp.push(text);
    if (m.type() === 'error') errors.push(text);
    else if (m.type() === 'warning') warnings.push(text);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  // requests from the page and its workers
  context.on('request', (r) => {
    let postData = null;
    try { postData = r.postDataBuffer(); } catch { postData = null; }
    requests.push({ url: r.url(), method: r.method(), resourceType: r.resourceType(), postData, headers: r.headers() });
  });
  page.on('crash', () => errors.push('page crashed'));
  // violations reported to the page itself (also those of inline handlers or styles)
  page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__cspViolations ??= []).push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });

  const obj = {
    page, context, errors, warnings, csp, requests, origin,
    /** Waits for the page's engine and model: body[data-ready="1"]. */
    async ready(timeout = 90000) {
      await page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout });
    },
    /** Waits for body[data-state] to be one of states. */
    async state(states, timeout = 120000) {
      const list = [].concat(states);
      await page.waitForFunction((l) => l.includes(document.body.dataset.state), list, { timeout, polling: 50 });
      return page.evaluate(() => document.body.dataset.state);
    },
    /** Console errors, page errors and CSP violations so far (in the page and its workers). */
    async problems() {
      const inPage = await page.evaluate(() => window.__cspViolations ?? []).catch(() => []);
      return [...errors, ...csp.filter((c) => !errors.includes(c)), ...inPage.map((v) => `CSP violation: ${v}`)];
    },
    async assertClean(what = 'the page') {
      const p = await obj.problems();
      assert.deepEqual(p, [], `${what}: console errors, page errors or CSP violations:\n${p.join('\n')}`);
    },
    /** Full-page screenshot to tests/artifacts/NAME.png; returns the path. */
    async shot(name, opts = {}) {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true, ...opts });
      return path;
    },
  };
  return obj;
}

/** Statistics of a canvas's pixels in the page: { w, h, hash, mean, std (over RGB values), alphaMin }. */
export function canvasStats(page, selector) {
  return page.evaluate((sel) => {
    const cv = typeof sel === 'string' ? document.querySelector(sel) : sel;
    const { width: w, height: h } = cv;
    const d = cv.getContext('2d').getImageData(0, 0, w, h).data;
    let sum = 0, sq = 0, n = 0, hash = 2166136261, alphaMin = 255;
    for (let i = 0; i < d.length; i++) {
      hash = Math.imul(hash ^ d[i], 16777619) >>> 0;
      if ((i & 3) === 3) { alphaMin = Math.min(alphaMin, d[i]); continue; }
      sum += d[i];
      sq += d[i] * d[i];
      n++;
    }
    const mean = sum / n;
    return { w, h, hash, mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), alphaMin };
  }, selector);
}

/** Drops files on the element at selector, as a user's drag and drop does: [{ name, type, bytes }]. */
export async function dropFiles(page, selector, files) {
  const payload = files.map((f) => ({ name: f.name, type: f.type, b64: Buffer.from(f.bytes).toString('base64') }));
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bin = atob(f.b64);
      const u8 = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
      dt.items.add(new File([u8], f.name, { type: f.type }));
    }
    return dt;
  }, payload);
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer });
  await page.dispatchEvent(selector, 'dragover', { dataTransfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
  await dataTransfer.dispose();
}

/** Bytes of the download that clicking selector starts. */
export async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), page.click(selector)]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}
