// pool.js — a pool of featviz engine workers (wasm/worker.js), for the page,
// the layer atlas and every <feature-vis> element. Works in browsers (Web
// Workers) and in Node (worker_threads). This header is the API's reference.
//
//   import { sharedPool } from '../wasm/pool.js';
//   const pool = sharedPool();               // one pool per page (or Node process)
//   await pool.ready;                        // every worker's engine loaded
//   const info = await pool.loadModel('mobilenet_v2', bytes, { name: 'x.tflite', labels });
//   //   info: { key, name, sha256, layers, input } (see worker.js "loadModel")
//   const job = pool.render('mobilenet_v2', options, {
//     onFrame(f) {},   // { step, objective, rgba: ArrayBuffer, size, batch }
//     onEnd(e) {},     // { step, objective, cancelled? } | { error: Error } — once per run
//   });
//   await job.started;                       // the render exists in its worker
//   job.pause(); job.resume(); job.cancel(); job.continue(64);   // Promises of { step, state, ... }
//   const end = await job.finished;          // the current run's end: { step, objective, cancelled? }
//                                            // (rejects with the run's error)
//   const png = await job.png(-1);           // Uint8Array
//   const manifest = await job.manifest();   // the CLI's manifest format
//   job.free();
//   const top = await pool.classify('mobilenet_v2', photoBytes, 5);   // [{ index, prob, label }]
//   const a = await pool.analyze('mobilenet_v2', photoBytes, { layer, channel });
//   //   a: { top, layer, layerName, channel, heat: { data: Float32Array, h, w, min, max }, mean, channels }
//
// ---- class Pool ----------------------------------------------------------------
// new Pool({ size?, workerUrl?, wasmUrl?, threads? })
//   size: workers, default navigator.hardwareConcurrency (browser) or
//   os.availableParallelism() (Node), clamped to 1..8.
//   threads: threads of worker 0's engine (the threads build, wasm/threads.js),
//   default 1; the other workers stay single-threaded (the atlas's pool). A
//   realm that cannot run threads (a page that is not cross-origin isolated)
//   gets one, and pool.ready says why.
// pool.size, pool.ready (Promise<{ version, simd, size, threads, threadsReason }>: threads and
//   why fewer than asked, of worker 0), pool.workers (read-only info: [{ index, load }])
// pool.loadModel(key, bytes, { name, labels, input, bgr, preprocess, photos }) → Promise<info>
//   (input/bgr/preprocess/photos: how the model's input is decided, worker.js "loadModel";
//   the first worker decides, the others load the model with its choice)
//   Keeps a copy of the bytes; parses them on one worker at once (so a bad
//   file rejects here with the engine's message, err.code = fv_status) and on
//   the other workers lazily, the first time a request needs the model there
//   (also after a crash). The caller's bytes are not detached.
// pool.hasModel(key) → boolean;  pool.modelInfo(key) → info | undefined
// pool.freeModel(key) → Promise (frees it, and its renders, on every worker)
// pool.request(action, fields, { worker?, transfer?, model? }) → Promise<result>
//   Low level: one worker.js request. Routed to `worker` (an index) when
//   given, else to the least busy worker (fewest pending requests + running
//   renders). `model` (a key) makes sure the worker has that model first.
// pool.render(modelKey, options, { onFrame, onEnd, worker?, frameInterval?, frameEvery?, photos?, prior? }) → RenderJob
//   The render is pinned to the worker that holds it; all its control
//   requests go there. photos: { name: bytes } of the photos the objective names
//   (copied); frameEvery: a frame also at every multiple of that step (worker.js "render");
//   prior: { name, bytes } a prior.bin for the objective's prior terms (copied).
// pool.fitPrior(photos, opts, { onProgress? }) → { finished: Promise<{ bytes: Uint8Array, sha256, name } | { cancelled }>, cancel() }
//   A patch prior fitted on one worker (worker.js "fitPrior"): photos { name: bytes } (copied),
//   opts { components, iterations, stride, maxPatches, seed }; onProgress({ iteration, iterations, loglik, ... }).
// pool.describe(modelKey, options) → Promise<{ options, expression, terms }>   (worker.js "describe")
// pool.classify(modelKey, bytes, k = 5) → Promise<[{ index, prob, label }]>
// pool.analyze(modelKey, bytes, { layer, channel, k = 10, top = 5 }) → Promise<analysis>
//   `bytes` (Uint8Array/ArrayBuffer) are copied for the worker, not detached.
// pool.addEventListener('crash', (e) => e.detail = { worker, message, restarted })
//   A worker died (error event, unexpected exit, or a trap inside the
//   engine): it is replaced by a fresh one (models reload lazily), every
//   request pending on it rejects with
//     Error('the engine worker crashed and was restarted'), err.code = 'crashed'
//   and its render jobs end (onEnd({ error }), job.finished rejects, job.state = 'crashed').
// pool.terminate() — stops every worker (pending requests reject with code 'terminated').
//   In Node the workers keep the process alive until then.
// pool.workerHandle(i) — test hook: the raw Worker of slot i (e.g. to terminate() it
//   and check that the pool recovers).
// Errors from the engine reject with an Error whose .code is the worker's code
// (an fv_status number, or 'bad_request' | 'no_model' | 'no_render' | 'internal'),
// plus 'crashed' and 'terminated' from the pool itself.
//
// ---- class RenderJob -------------------------------------------------------------
// job.id (the worker-side render id), job.worker (index), job.state:
//   'starting' | 'running' | 'paused' | 'done' | 'cancelled' | 'error' | 'crashed' | 'freed'
// job.step, job.planned, job.objective, job.size, job.batch (from the latest frame/reply),
// job.options (canonical options from the worker, once started), job.threads (the threads
// its engine runs it on, once started), job.modelKey
// job.lastFrame: the latest frame (its rgba is the job's; copy it to keep it)
// job.started: Promise<job>, rejects when the options are refused (err.code = fv_status)
// job.finished: Promise of the current run's end (a new Promise after continue() of an
//   ended run; pause/resume keep the same run)
// job.pause() / job.resume() / job.cancel() / job.continue(n) / job.query() → Promise<{ step, planned, state, … }>
// job.png(image = -1) → Promise<Uint8Array>;  job.manifest(images = []) → Promise<manifest>
// job.free() → Promise
//
// ---- exports ---------------------------------------------------------------------------
// Pool, RenderJob, sharedPool, CRASHED (the crash message, for comparisons).
//
// ---- one pool per page -----------------------------------------------------------
// sharedPool(opts?) returns the same Pool for every caller in this realm
// (kept on globalThis under Symbol.for('featviz.pool')); opts count only for
// the first call. The page, the atlas and every <feature-vis> share it.

import { CODE } from './options.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
const wt = isNode ? await import('node:worker_threads') : null;
const os = isNode ? await import('node:os') : null;

export const CRASHED = 'the engine worker crashed and was restarted';

function defaultSize() {
  const n = isNode ? (os.availableParallelism?.() ?? os.cpus().length) : (globalThis.navigator?.hardwareConcurrency ?? 2);
  return Math.max(1, Math.min(8, n | 0 || 1));
}

function poolError(message, code) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/** A fresh ArrayBuffer holding a copy of bytes (Uint8Array, ArrayBuffer, Buffer, any view). */
function copyBuffer(bytes) {
  if (bytes instanceof ArrayBuffer) return bytes.slice(0);
  if (ArrayBuffer.isView(bytes)) return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  throw new TypeError('expected bytes: an ArrayBuffer or a typed array');
}

/** Promise with its resolvers; never reported as unhandled (callers may ignore it). */
function deferred() {
  let resolve, reject;
  const promise = new Promise((a, b) => { resolve = a; reject = b; });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** One Worker (browser or worker_threads) behind the same three calls. */
function spawn(url, on) {
  if (isNode) {
    const w = new wt.Worker(url);
    w.on('message', on.message);
    w.on('error', (e) => on.crash(e?.message ?? String(e)));
    w.on('exit', (code) => on.crash(`exited with code ${code}`));
    return { post: (m, t) => w.postMessage(m, t), terminate: () => w.terminate(), raw: w };
  }
  const w = new Worker(url, { type: 'module' });
  w.addEventListener('message', (e) => on.message(e.data));
  w.addEventListener('error', (e) => {
    e.preventDefault();
    on.crash(e.message || 'the worker failed to start');
  });
  return { post: (m, t) => w.postMessage(m, t), terminate: () => w.terminate(), raw: w };
}

// ---- a slot: one worker, replaced when it dies ------------------------------------
class Slot {
  constructor(pool, index) {
    this.pool = pool;
    this.index = index;
    this.pending = new Map();   // request id → { resolve, reject }
    this.streams = new Map();   // render id → RenderJob
    this.models = new Map();    // model key → Promise<info> (loaded in this worker)
    this.reserved = 0;          // requests being prepared for this slot
    this.crashesInRow = 0;
    this.broken = null;         // a message once the slot gave up restarting
    this.start();
  }

  start() {
    const handle = spawn(this.pool.workerUrl, {
      message: (msg) => { if (this.handle === handle) this.onMessage(msg); },
      crash: (why) => { if (this.handle === handle) this.crash(why); },
    });
    this.handle = handle;
    const threads = this.index === 0 && this.pool.threads > 1 ? { threads: this.pool.threads } : {};
    this.ready = this.send('init', { ...(this.pool.wasmUrl ? { wasmUrl: String(this.pool.wasmUrl) } : {}), ...threads });
  }

  get load() {
    let running = 0;
    for (const job of this.streams.values()) if (job.state === 'running' || job.state === 'starting') running++;
    return this.pending.size + running + this.reserved;
  }

  send(action, fields = {}, transfer = []) {
    if (this.broken) return Promise.reject(poolError(`the engine could not be started: ${this.broken}`, CODE.CRASHED));
    const id = this.pool.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.handle.post({ ...fields, id, action }, transfer);
      } catch (e) {
        this.pending.delete(id);
        reject(e);
      }
    });
  }

  onMessage(msg) {
    if (msg?.id === null && msg.fatal) {
      this.crash(msg.fatal);
      return;
    }
    const p = this.pending.get(msg.id);
    if (p) {
      this.pending.delete(msg.id);
      if ('error' in msg) {
        p.reject(poolError(msg.error, msg.code));
      } else {
        this.crashesInRow = 0;
        p.resolve(msg.result);
      }
      return;
    }
    this.streams.get(msg.id)?._message(msg);
  }

  crash(why) {
    const old = this.handle;
    this.handle = null;
    try { old?.terminate(); } catch { /* already gone */ }
    const pending = [...this.pending.values()], jobs = [...this.streams.values()];
    this.pending.clear();
    this.streams.clear();
    this.models = new Map();
    this.crashesInRow++;
    // A worker that dies again and again before answering anything (a missing
    // featviz.wasm, a browser without WASM SIMD) is not restarted forever.
    if (this.crashesInRow >= 3) this.broken = why;
    else this.start();
    for (const p of pending) p.reject(poolError(CRASHED, CODE.CRASHED));
    for (const job of jobs) job._crashed(poolError(CRASHED, CODE.CRASHED));
    this.pool.dispatchEvent(new CustomEvent('crash', { detail: { worker: this.index, message: why, restarted: !this.broken } }));
  }

  /** Makes sure the model `key` is loaded in this worker (loads it from the pool's copy). */
  ensureModel(key) {
    const entry = this.pool.models.get(key);
    if (!entry) return Promise.reject(poolError(`no model "${key}" is loaded (pool.loadModel first)`, CODE.NO_MODEL));
    let p = this.models.get(key);
    if (!p || p.entry !== entry) {
      const bytes = copyBuffer(entry.bytes);
      // the first worker decides the model's input (wasm/input.js); the others take its choice
      const choose = entry.info ? { decided: entry.info.choice } : { input: entry.input, bgr: entry.bgr, preprocess: entry.preprocess, photos: entry.photos };
      p = this.send('loadModel', { key, bytes, name: entry.name, labels: entry.labels, ...choose }, [bytes]);
      p.entry = entry;
      this.models.set(key, p);
      p.catch(() => { if (this.models.get(key) === p) this.models.delete(key); });
    }
    return p;
  }
}

// ---- the pool ----------------------------------------------------------------------------------
export class Pool extends EventTarget {
  constructor({ size, workerUrl, wasmUrl, threads = 1 } = {}) {
    super();
    this.size = Math.max(1, Math.min(8, (size ?? defaultSize()) | 0 || 1));
    this.threads = Math.max(1, threads | 0 || 1);
    this.workerUrl = workerUrl ?? new URL('./worker.js', import.meta.url);
    this.wasmUrl = wasmUrl;
    this.nextId = 1;
    this.models = new Map();   // key → { bytes: Uint8Array, name, labels, info }
    this.slots = Array.from({ length: this.size }, (_, i) => new Slot(this, i));
    // ready once every worker has answered; fine if some were replaced on the way
    this.ready = Promise.allSettled(this.slots.map((s) => s.ready)).then(async (all) => {
      const ok = all.find((r) => r.status === 'fulfilled');
      const first = all[0].status === 'fulfilled' ? all[0].value : null; // worker 0: the threaded one
      const info = ok ? ok.value : await this.pick().ready;
      return { ...info, threads: first?.threads ?? 1, threadsReason: first?.threadsReason ?? '', size: this.size };
    });
    this.ready.catch(() => {});
  }

  get workers() { return this.slots.map((s) => ({ index: s.index, load: s.load, broken: s.broken })); }

  workerHandle(i) { return this.slots[i].handle?.raw; }

  /** The least busy slot that works (lowest index on ties). */
  pick() {
    let best = null;
    for (const s of this.slots) if (!s.broken && (!best || s.load < best.load)) best = s;
    if (!best) throw poolError(`the engine could not be started: ${this.slots[0].broken}`, CODE.CRASHED);
    return best;
  }

  slotFor(worker) {
    if (worker === undefined || worker === null) return this.pick();
    const s = this.slots[worker];
    if (!s) throw poolError(`no worker ${worker} (the pool has ${this.size})`, CODE.BAD_REQUEST);
    return s;
  }

  async request(action, fields = {}, { worker, transfer = [], model } = {}) {
    const slot = this.slotFor(worker);
    if (model !== undefined) {
      slot.reserved++;
      try { await slot.ensureModel(model); } finally { slot.reserved--; }
    }
    return slot.send(action, fields, transfer);
  }

  async loadModel(key, bytes, { name, labels, input = 'auto', bgr = false, preprocess = null, photos = [] } = {}) {
    const entry = {
      bytes: new Uint8Array(copyBuffer(bytes)), name: name ?? `${key}.tflite`, labels: labels ?? [], input, bgr, preprocess,
      photos: photos.map((b) => copyBuffer(b)), info: null,
    };
    if (this.models.has(key)) this.dropModel(key, 'its model was replaced');
    this.models.set(key, entry);
    const slot = this.pick();
    slot.reserved++;
    try {
      entry.info = await slot.ensureModel(key);
      return entry.info;
    } catch (e) {
      if (this.models.get(key) === entry) this.models.delete(key);
      throw e;
    } finally {
      slot.reserved--;
    }
  }

  hasModel(key) { return this.models.has(key); }
  modelInfo(key) { return this.models.get(key)?.info ?? undefined; }

  /** Forgets a model everywhere: its renders end, workers free it. */
  dropModel(key, why) {
    this.models.delete(key);
    const waits = [];
    for (const s of this.slots) {
      for (const job of [...s.streams.values()]) {
        if (job.modelKey === key) job._crashed(poolError(`render ended: ${why}`, CODE.NO_MODEL), 'freed');
      }
      if (s.models.has(key)) {
        s.models.delete(key);
        waits.push(s.send('free', { model: key }).catch(() => {}));
      }
    }
    return Promise.all(waits);
  }

  async freeModel(key) { await this.dropModel(key, 'its model was freed'); }

  render(modelKey, options, { onFrame, onEnd, worker, frameInterval, frameEvery, photos, prior } = {}) {
    const job = new RenderJob(this, modelKey, onFrame, onEnd);
    job.started = (async () => {
      const slot = this.slotFor(worker);
      slot.reserved++;
      try { await slot.ensureModel(modelKey); } finally { slot.reserved--; }
      job.slot = slot;
      job.worker = slot.index;
      job.id = this.nextId++;
      slot.streams.set(job.id, job);
      const fields = { id: job.id, action: 'render', model: modelKey, options };
      if (frameInterval !== undefined) fields.frameInterval = frameInterval;
      if (frameEvery !== undefined) fields.frameEvery = frameEvery;
      if (photos) fields.photos = Object.fromEntries(Object.entries(photos).map(([k, b]) => [k, copyBuffer(b)]));
      if (prior) fields.prior = { name: prior.name, bytes: copyBuffer(prior.bytes) };
      slot.handle.post(fields);
      return job._start.promise;
    })();
    job.started.catch((e) => job._fail(e));
    return job;
  }

  fitPrior(photos, opts = {}, { onProgress } = {}) {
    const slot = this.pick(), id = this.nextId++;
    let settle;
    const finished = new Promise((resolve, reject) => { settle = { resolve, reject }; });
    // a stream of the slot's like a render's: _message for its messages, _crashed when the worker dies
    const job = {
      state: 'running',
      _message(msg) {
        if (msg.progress) onProgress?.(msg.progress);
        else if ('error' in msg) this._end(), settle.reject(poolError(msg.error, msg.code));
        else if (msg.done) this._end(), settle.resolve(msg.cancelled ? { cancelled: true } : { bytes: new Uint8Array(msg.prior), sha256: msg.sha256, name: msg.name });
      },
      _crashed(e) { this._end(); settle.reject(e); },
      _end() { this.state = 'done'; slot.streams.delete(id); },
    };
    slot.streams.set(id, job);
    const fields = { id, action: 'fitPrior', ...opts, photos: Object.fromEntries(Object.entries(photos).map(([k, b]) => [k, copyBuffer(b)])) };
    try {
      slot.handle.post(fields);
    } catch (e) {
      job._crashed(e);
    }
    return { finished, cancel: () => (job.state === 'running' ? slot.send('cancel', { target: id }) : Promise.resolve(null)) };
  }

  describe(modelKey, options) {
    return this.request('describe', { model: modelKey, options }, { model: modelKey });
  }

  async classify(modelKey, bytes, k = 5) {
    const buf = copyBuffer(bytes);
    const r = await this.request('classify', { model: modelKey, bytes: buf, k }, { transfer: [buf], model: modelKey });
    return r.top;
  }

  async analyze(modelKey, bytes, { layer, channel, k = 10, top = 5 } = {}) {
    const buf = copyBuffer(bytes);
    const r = await this.request('analyze', { model: modelKey, bytes: buf, layer, channel, k, top }, { transfer: [buf], model: modelKey });
    r.heat.data = new Float32Array(r.heat.data);
    return r;
  }

  terminate() {
    for (const s of this.slots) {
      const h = s.handle;
      s.handle = null;
      s.broken = 'the pool was terminated';
      try { h?.terminate(); } catch { /* gone */ }
      for (const p of s.pending.values()) p.reject(poolError('the engine pool was terminated', CODE.TERMINATED));
      for (const job of s.streams.values()) job._crashed(poolError('the engine pool was terminated', CODE.TERMINATED), 'freed');
      s.pending.clear();
      s.streams.clear();
    }
    if (globalThis[POOL_KEY] === this) delete globalThis[POOL_KEY];
  }
}

// ---- a render, pinned to its worker ---------------------------------------------------------------
export class RenderJob {
  constructor(pool, modelKey, onFrame, onEnd) {
    this.pool = pool;
    this.modelKey = modelKey;
    this.onFrame = onFrame;
    this.onEnd = onEnd;
    this.id = null;
    this.slot = null;
    this.worker = null;
    this.state = 'starting';
    this.step = 0;
    this.planned = 0;
    this.objective = NaN;
    this.size = 0;
    this.batch = 0;
    this.options = null;
    this.lastFrame = null;
    this._start = deferred();
    this._run = deferred();
  }

  get finished() { return this._run.promise; }

  _message(msg) {
    if (msg.started) {
      Object.assign(this, { state: 'running', planned: msg.started.planned, size: msg.started.size, batch: msg.started.batch, options: msg.started.options, threads: msg.started.threads ?? 1 });
      this._start.resolve(this);
    } else if (msg.frame) {
      const f = msg.frame;
      Object.assign(this, { step: f.step, objective: f.objective, size: f.size, batch: f.batch, lastFrame: f });
      this.onFrame?.(f);
    } else if (msg.done) {
      Object.assign(this, { step: msg.step, objective: msg.objective, state: msg.cancelled ? 'cancelled' : 'done' });
      const end = { step: msg.step, objective: msg.objective, cancelled: !!msg.cancelled };
      this._run.resolve(end);
      this.onEnd?.(end);
    } else if ('error' in msg) {
      const e = poolError(msg.error, msg.code);
      if (this.state === 'starting') {
        this.slot.streams.delete(this.id);
        this._fail(e);
        return;
      }
      this.state = 'error';
      if (msg.step !== undefined) this.step = msg.step;
      this._run.reject(e);
      this.onEnd?.({ error: e, step: this.step });
    }
  }

  _fail(e) {
    if (this.state !== 'starting') return;
    this.state = 'error';
    this._start.reject(e);
    this._run.reject(e);
    this.onEnd?.({ error: e, step: 0 });
  }

  _crashed(e, state = 'crashed') {
    const wasLive = this.state === 'running' || this.state === 'paused' || this.state === 'starting';
    this.slot?.streams.delete(this.id);
    this.state = state;
    this._start.reject(e);
    this._run.reject(e);
    if (wasLive) this.onEnd?.({ error: e, step: this.step });
  }

  async _control(action, fields = {}) {
    await this.started;
    if (this.state === 'crashed' || this.state === 'freed') {
      throw poolError(this.state === 'crashed' ? CRASHED : 'this render was freed', this.state === 'crashed' ? CODE.CRASHED : CODE.NO_RENDER);
    }
    return this.slot.send(action, { target: this.id, ...fields });
  }

  async pause() { return this._apply(await this._control('pause')); }
  async resume() { return this._apply(await this._control('resume')); }
  async cancel() { return this._apply(await this._control('cancel')); }
  async query() { return this._apply(await this._control('state')); }

  async continue(steps) {
    await this.started;
    const ended = this.state === 'done' || this.state === 'cancelled';
    const r = await this._control('continue', { steps });
    if (ended) this._run = deferred();
    return this._apply(r);
  }

  _apply(r) {
    if (r && this.state !== 'crashed' && this.state !== 'freed') {
      this.state = r.state;
      this.step = r.step;
      if (r.planned !== undefined) this.planned = r.planned;
    }
    return r;
  }

  async png(image = -1) { return new Uint8Array((await this._control('png', { image })).png); }
  async manifest(images = []) { return (await this._control('manifest', { images })).manifest; }

  async free() {
    try { await this.started; } catch { return; }
    if (this.state === 'crashed' || this.state === 'freed') return;
    this.slot.streams.delete(this.id);
    this.state = 'freed';
    await this.slot.send('free', { render: this.id }).catch(() => {});
  }
}

// ---- exports ---------------------------------------------------------------------------
// Pool, RenderJob, sharedPool, CRASHED (the crash message, for comparisons).
//
// ---- one pool per page ---------------------------------------------------------------------------------
const POOL_KEY = Symbol.for('featviz.pool');

export function sharedPool(opts) {
  globalThis[POOL_KEY] ??= new Pool(opts);
  return globalThis[POOL_KEY];
}
