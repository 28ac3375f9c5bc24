// threads.js — the helper threads of the threads build (wasm/featviz-threads.wasm,
// src/threads.h): one engine over one shared memory, its ops split across
// thread 0 (the engine's own) and n - 1 helpers. Each helper is a Worker
// (Node: worker_threads) running wasm/thread-helper.js, which instantiates the
// same module over the same memory, moves its stack pointer to its own stack
// and enters the C helper loop; it never returns to JS until stopped and never
// allocates, so the memory may grow at any time (wasm sees the new size
// everywhere; the engine's views are made fresh from memory.buffer).
//
//   import { threadsAvailable } from './threads.js';
//   const { available, reason } = threadsAvailable();   // false on a page that is not cross-origin isolated
//   const fv = await loadEngine({ threads: 4 });         // engine.js uses startHelpers; fv.threads says how many run
//   ...
//   fv.close();                                          // helpers leave their loops, the Workers end
//
// Browsers give SharedArrayBuffer only to cross-origin-isolated documents: the
// server must send Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp (bin/serve.mjs does). Node always has it.

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/**
 * Whether this context can run the threads build: { available, reason }, reason saying
 * why not (for the page to show) or '' when it can.
 */
export function threadsAvailable() {
  if (typeof SharedArrayBuffer === 'undefined' || globalThis.crossOriginIsolated === false) {
    return { available: false, reason: 'this page is not cross-origin isolated (the server must send COOP: same-origin and COEP: require-corp), so it has no shared memory: one thread' };
  }
  if (!isNode && typeof Worker === 'undefined') return { available: false, reason: 'no Web Workers here: one thread' };
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return { available: false, reason: 'this WebAssembly runtime has no shared memory (threads): one thread' };
  }
  return { available: true, reason: '' };
}

/** True where this thread may block on Atomics.wait (not a browser's main thread). */
export function canBlock() {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- the module's imported memory ---------------------------------------------------------------

function leb(bytes, pos) {
  let v = 0, shift = 0, b;
  do {
    b = bytes[pos.i++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return v;
}

/** The limits { initial, maximum, shared } (pages) of the memory a wasm binary imports, or null. */
export function importedMemory(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const pos = { i: 8 };
  while (pos.i < u8.length) {
    const id = u8[pos.i++], size = leb(u8, pos), end = pos.i + size;
    if (id !== 2) {
      pos.i = end;
      continue;
    }
    for (let n = leb(u8, pos); n > 0; n--) {
      for (let k = 0; k < 2; k++) { // module and field names
        const len = leb(u8, pos);
        pos.i += len;
      }
      const kind = u8[pos.i++];
      if (kind === 0) leb(u8, pos);
      else if (kind === 1 || kind === 2) {
        if (kind === 1) pos.i++; // reference type
        const flags = u8[pos.i++], initial = leb(u8, pos), maximum = flags & 1 ? leb(u8, pos) : undefined;
        if (kind === 2) return { initial, maximum, shared: !!(flags & 2) };
      } else if (kind === 3) pos.i += 2;
    }
    return null;
  }
  return null;
}

// ---- helpers ------------------------------------------------------------------------------------

async function spawn(url, data) {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(url, { workerData: data });
    // unref after the listeners: adding one refs the worker again. A parked helper must
    // not keep a Node process alive (one that never called engine.close() still exits).
    return { worker: w, on: (ev, fn) => w.on(ev, fn), unref: () => w.unref(), terminate: () => w.terminate() };
  }
  const w = new Worker(url, { type: 'module', name: `featviz helper ${data.t}` });
  w.postMessage(data);
  return {
    worker: w,
    on: (ev, fn) => w.addEventListener(ev, ev === 'message' ? (e) => fn(e.data) : (e) => fn(e.error ?? new Error(e.message || 'helper failed'))),
    unref: () => {},
    terminate: () => w.terminate(),
  };
}

/**
 * Starts n - 1 helpers for an engine instance of the threads build (exports x, over memory;
 * err: its fv_error) and turns its threads on. Resolves to { count, reason, stop() }; count < n
 * when they could not all start (then reason says why). stop() brings the engine back to one
 * thread and ends the Workers.
 */
export async function startHelpers({ module, memory, exports: x, err, n, timeoutMs = 20000 }) {
  const workers = [];
  const stop = () => {
    x.fv_threads_stop();
    for (const w of workers) w.terminate();
    workers.length = 0;
  };
  try {
    if (x.fv_threads_init(n, canBlock() ? 1 : 0, err) !== 0) {
      return { count: 1, reason: `threads: the engine refused ${n} threads (code ${x.fv_error_code(err)}); one thread`, stop: () => {} };
    }
    const url = new URL('./thread-helper.js', import.meta.url);
    const ready = [];
    for (let t = 1; t < n; t++) {
      const w = await spawn(url, { module, memory, t, stackTop: x.fv_threads_stack_top(t) });
      workers.push(w);
      ready.push(new Promise((resolve, reject) => {
        w.on('message', (m) => (m === 'ready' ? resolve() : m?.error && (reject(new Error(m.error)), console.error(m.error))));
        w.on('error', reject);
      }));
      w.unref();
    }
    let timer;
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`helpers did not start in ${timeoutMs} ms`)), timeoutMs); });
    try {
      await Promise.race([Promise.all(ready), timeout]);
      // 'ready' is posted just before the helper enters its loop: wait until all are in
      for (const t0 = Date.now(); x.fv_threads_alive() < n - 1;) {
        if (Date.now() - t0 > timeoutMs) throw new Error('helpers did not enter their loop');
        await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      clearTimeout(timer);
    }
    return { count: x.fv_threads_start(), reason: '', stop };
  } catch (e) {
    stop();
    return { count: 1, reason: `threads: ${e.message}; one thread`, stop: () => {} };
  }
}
