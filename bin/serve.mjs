#!/usr/bin/env node
// serve.mjs — serves the static site (web/, wasm/, models/) on localhost with
// the right MIME types and prints its URL. The site is plain files: any
// static host serves it the same way.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVED = ['web', 'wasm', 'models'];
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.tflite': 'application/octet-stream', '.txt': 'text/plain; charset=utf-8', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
};

/** Maps a URL path to a file under one of the served folders, or null. */
export function resolvePath(urlPath) {
  let p = decodeURIComponent(urlPath.split('?')[0]);
  if (p === '/' || p === '') p = '/web/index.html';
  const file = normalize(join(ROOT, p));
  const ok = SERVED.some((d) => file.startsWith(join(ROOT, d) + sep));
  return ok ? file : null;
}

export function startServer(port = Number(process.env.PORT) || 8080, host = '127.0.0.1') {
  const server = createServer((req, res) => {
    let file = null;
    try {
      file = resolvePath(req.url);
    } catch {
      file = null;
    }
    let st = null;
    try {
      st = file && statSync(file);
    } catch {
      st = null;
    }
    if (st && st.isDirectory()) {
      file = join(file, 'index.html');
      try { st = statSync(file); } catch { st = null; }
    }
    if (!st || !st.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let port = Number(process.env.PORT) || 8080;
  for (;;) {
    try {
      const server = await startServer(port);
      console.log(`featviz is being served at http://127.0.0.1:${server.address().port}/`);
      break;
    } catch (e) {
      if (e.code !== 'EADDRINUSE' || port > 8100) throw e;
      port++;
    }
  }
}
