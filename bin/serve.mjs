#!/usr/bin/env node
// serve.mjs — serves the static site (web/, wasm/, models/, and the npm GIF encoder) on localhost with
// the right MIME types and prints its URL. The site is plain files: any
// static host serves it the same way (send the same Content-Security-Policy
// and cross-origin isolation headers there too: SITE_HEADERS). Given a folder,
// it serves that folder instead (the site of `featviz site DIR`), under the
// same headers.
//
//   node bin/serve.mjs [DIR]               PORT=8080 by default (the next free one up to 8100)
//   import { startServer } from './serve.mjs';
//   const server = await startServer(0);   // port 0: any free port; server.address().port
//   const site = await startServer(0, '127.0.0.1', { dir });   // DIR's files, / is DIR/index.html
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// node_modules/gifenc/dist: the GIF encoder the page's "save the movie" imports (wasm/movie.js)
export const SERVED = ['web', 'wasm', 'models', 'node_modules/gifenc/dist'];
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.tflite': 'application/octet-stream', '.onnx': 'application/octet-stream', '.bmp': 'image/bmp', '.txt': 'text/plain; charset=utf-8', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
};

// Only the site's own origin. 'wasm-unsafe-eval' lets WebAssembly.compile run
// (and nothing else: eval and new Function stay blocked); blob: images are the
// photo previews (URL.createObjectURL of a dropped file), data: images are
// canvases turned into URLs. Workers get it too (their policy is the one
// their own script is served with), so it is sent with every response.
export const CSP = [
  "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'", "img-src 'self' data: blob:",
  "style-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'",
].join('; ');

// Cross-origin isolation: browsers give SharedArrayBuffer, and so the engine's
// threads (wasm/threads.js), only to documents served with both; a page
// without them runs on one thread. Every response carries them (workers take
// the policies of their own script's response), with the CSP.
export const SITE_HEADERS = {
  'content-security-policy': CSP,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'x-content-type-options': 'nosniff',
};

/**
 * Maps a URL path to a file under one of the served folders, or null. dir: serve that
 * folder's files instead (hidden ones, such as a writer's temporary files, never).
 */
export function resolvePath(urlPath, dir = null) {
  const p = decodeURIComponent(urlPath.split('?')[0]);
  if (p.includes('\0')) return null;
  if (dir) {
    const root = resolve(dir), file = normalize(join(root, p));
    const inside = file === root || file.startsWith(root + sep);
    return inside && !file.slice(root.length).split(sep).some((part) => part.startsWith('.')) ? file : null;
  }
  const file = normalize(join(ROOT, p));
  const ok = SERVED.some((d) => file.startsWith(join(ROOT, d) + sep));
  return ok ? file : null;
}

function send(res, status, headers, body = '') {
  res.writeHead(status, { ...SITE_HEADERS, ...headers });
  res.end(body);
}

function handle(req, res, dir) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }, 'method not allowed');
    return;
  }
  const [path, query = ''] = req.url.split(/\?(.*)/s);
  // The page lives in web/ and loads its files by relative URLs: send / to
  // /web/ (keeping a shared link's query), and a folder to its trailing slash.
  if (!dir && (path === '/' || path === '')) {
    send(res, 302, { location: `/web/${query ? `?${query}` : ''}`, 'content-type': 'text/plain' }, 'see /web/');
    return;
  }
  // Browsers ask for /favicon.ico on their own; the site has none (a 404 here
  // would be a console error on every page).
  if (path === '/favicon.ico') {
    send(res, 204, {});
    return;
  }
  let file = null, st = null;
  try {
    file = resolvePath(path, dir);
    st = file && statSync(file);
  } catch {
    st = null;
  }
  if (st && st.isDirectory()) {
    if (!path.endsWith('/')) {
      send(res, 301, { location: `${path}/${query ? `?${query}` : ''}`, 'content-type': 'text/plain' }, 'moved');
      return;
    }
    file = join(file, 'index.html');
    try { st = statSync(file); } catch { st = null; }
  }
  if (!st || !st.isFile()) {
    send(res, 404, { 'content-type': 'text/plain' }, 'not found');
    return;
  }
  res.writeHead(200, {
    'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': st.size,
    'cache-control': 'no-cache',
    ...SITE_HEADERS,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** Serves the site (or, with { dir }, that folder) on host:port; resolves to the listening server. */
export function startServer(port = Number(process.env.PORT) || 8080, host = '127.0.0.1', { dir = null } = {}) {
  const server = createServer((req, res) => handle(req, res, dir));
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok(server);
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let port = Number(process.env.PORT) || 8080;
  const dir = process.argv[2] ?? null;
  if (dir && !existsSync(join(dir, 'index.html'))) {
    console.error(`serve: no ${join(dir, 'index.html')} (an atlas folder's site: featviz site ${dir})`);
    process.exit(1);
  }
  for (;;) {
    try {
      const server = await startServer(port, '127.0.0.1', { dir });
      if (dir) {
        console.log(`${dir} is being served at http://127.0.0.1:${server.address().port}/`);
        break;
      }
      console.log(`featviz is being served at http://127.0.0.1:${server.address().port}/web/`);
      console.log(`  an explainer article with <feature-vis> elements: http://127.0.0.1:${server.address().port}/web/examples/article.html`);
      break;
    } catch (e) {
      if (e.code !== 'EADDRINUSE' || port > 8100) throw e;
      port++;
    }
  }
}
