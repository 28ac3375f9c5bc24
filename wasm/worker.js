// worker.js — one featviz engine in a Web Worker (or a Node worker_threads
// Worker: the same file, the same messages). The page never talks to it
// directly; wasm/pool.js does. This header is the protocol's reference.
//
// ---- transport --------------------------------------------------------------
// Browser: new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
// Node:    new Worker(new URL('./worker.js', import.meta.url))   (worker_threads)
// Messages are structured-cloned; ArrayBuffers named below are TRANSFERRED
// (the sender's copy becomes detached).
//
// ---- requests: { id, action, ...fields } ---------------------------------------
// `id` is any number or string the caller picks, unique among its pending
// requests and renders. Every request gets exactly one reply { id, result }
// or { id, error, code } (failures never kill the worker), except render:
// it answers with a stream of messages under its own id (see "render").
//
//   init      { wasmUrl?, threads? }             → { version, simd, threads, threadsReason }
//             Loads the engine (featviz.wasm next to this file by default);
//             threads > 1: the threads build on that many threads (engine.js),
//             or one thread where the realm cannot (threadsReason says why).
//             Any other action also initializes on first use.
//   loadModel { key, bytes: ArrayBuffer (transferred), name?, labels?, input? = 'auto', bgr?,
//               preprocess?: { preset, bgr }, photos?: [ArrayBuffer], decided? }
//             → { key, name, sha256, layers: [{index, name, op, shape:[N,H,W,C]}],
//                 input: Model.input after the choice ({ shape, bgr, scale, offset, source, min, max }),
//                 choice: { preset, swap, label, source, guess, sure, note, ranking? },
//                 labels: the class names the file carries, or null }
//             Parses the .tflite or .onnx and decides its input (wasm/input.js): input/bgr
//             the user's preset, preprocess the catalog's, photos (encoded, copied) the
//             real photos detection runs when neither the user nor the file nor the
//             catalog says; decided: a choice made before (another worker's), applied
//             as it is. `key` is the caller's name for it in later
//             requests (loading the same key again replaces the model and
//             frees its renders). `name` is the file name written into
//             manifests; `labels` (the catalog's label list, e.g. imagenet_labels.txt
//             by line; options.js's Labels fits it to the model's 1000 or 1001
//             outputs; labels the file carries win) names classes in classify and analyze.
//             sha256: hex digest of the bytes (crypto.subtle).
//   hasModel  { key }                            → { loaded: boolean }
//   describe  { model: key, options }          → { options, expression, terms: [{ weight, kind, text }] }
//             The objective through the engine's grammar without rendering
//             (engine.describe, with the model's labels: class names resolve):
//             the canonical expression and its terms, for the page's term list.
//             A photo the objective names appears in options.photos without values.
//   render    { model: key, options, photos?: { name: ArrayBuffer }, frameInterval? = 30,
//               frameEvery? }
//             options: the render options object of src/options.h (size, batch,
//             steps, lr, seed, param, decorrelate, transforms, objective (an
//             expression or terms), photos, ...); photos: the bytes of the photos
//             the objective names (copied, not transferred), whose activations the
//             worker computes into options.photos (wasm/photo-data.js); a photo it
//             needs but lacks is refused ('bad_request'). frameEvery: also a frame at
//             every step that is a multiple of it (a movie's frames; the page's "save
//             the movie"). Runs options.steps (default 512) steps, one step
//             per event-loop turn so control messages get in between steps.
//             The worker first posts { id, started: { step: 0, planned, size, batch,
//             options (canonical), threads (the render's) } } (or { id, error, code } if the options are
//             refused: that is the render's only message then), then a frame of
//             step 0 (the starting noise), and while it runs, under the render's id:
//               { id, frame: { step, objective, rgba: ArrayBuffer (transferred),
//                              size, batch } }
//                 rgba: batch images of size×size×4 bytes, one after another.
//                 At most one frame per frameInterval ms of wall time (every
//                 step when steps are slower), and always one for the last
//                 step before a run ends, pauses, is cancelled or fails.
//             The run ends with exactly one of
//               { id, done: true, step, objective }                  all planned steps run
//               { id, done: true, cancelled: true, step, objective } after cancel
//               { id, error, code, step }                            engine error (e.g. code 8:
//                                                                    numerical blow-up); the last
//                                                                    good image stays exportable
//             The render's id is its handle for the actions below; the render
//             (and its image) lives until `free` or until its model is freed/replaced.
//             Several renders may run in one worker: they take turns step by step.
//             prior?: { name, bytes: ArrayBuffer } (copied): the patch prior (prior.bin,
//             src/prior.h) that the objective's prior terms read; a damaged file is refused
//             with the engine's message. The render keeps it; its manifest records it under
//             name (absent: priorFileName of its sha256).
//   fitPrior  { photos: { name: ArrayBuffer }, components?, iterations?, stride?, maxPatches?, seed? }
//             Fits a patch prior to the photos (wasm/prior-fit.js; photos that do not
//             decode are skipped), one EM iteration per event-loop turn, and streams under
//             its id: { id, started: { photos, skipped: [{ name, error }] } }, then
//             { id, progress: { iteration, iterations, loglik, objective, patches } } per
//             iteration, and ends with exactly one of
//               { id, done: true, prior: ArrayBuffer (transferred, prior.bin), sha256, name }
//                 name: the file name it goes by (prior-fit.js priorFileName: by its sha256)
//               { id, done: true, cancelled: true }      after cancel { target: id }
//               { id, error, code }                      (no photo readable: 'bad_request')
//   pause     { target: renderId }               → { step, state }  no frame after this reply
//   resume    { target }                         → { step, state }  frames flow again under target
//   cancel    { target }                         → { step, state }  ends the run (done+cancelled
//             message under target first); at most the step in progress completes.
//   continue  { target, steps }                  → { step, planned, state }   ('bad_request' unless
//             steps is 1..100000 and the render did not stop on an error)
//             Plans `steps` more steps and runs them: after a finished or
//             cancelled run, counted from the current step (a new run: frames
//             and a new terminal message under target); on a running or paused
//             run, added to its plan (a paused run resumes).
//   state     { target }                         → { step, planned, objective, state, size, batch }
//             state: 'running' | 'paused' | 'done' | 'cancelled' | 'error'
//   png       { target, image? = -1 }            → { png: ArrayBuffer (transferred) }
//             PNG (stb_image_write, in C) of one image, or of the batch as a
//             grid (-1). Byte-identical to the CLI's for the same options/steps.
//   manifest  { target, images? = [] }          → { manifest }
//             options.js's makeManifest, as the CLI writes it: options are
//             canonical with "steps" set to the steps done, so
//             `featviz render --manifest` reproduces the current image bit for bit.
//   classify  { model: key, bytes: ArrayBuffer (transferred), k? = 5 }
//             → { top: [{ index, prob, label }] }   label: from `labels`, else "class N"
//   analyze   { model: key, bytes (transferred), layer: name|index, channel, k? = 10, top? = 5 }
//             One forward pass of a photo at the model's native size:
//             → { top: [{index, prob, label}],           predictions (as classify)
//                 layer, layerName, channel,
//                 heat: { data: ArrayBuffer (transferred) Float32 h×w, h, w, min, max },
//                                                        the channel's activation map
//                 mean,                                  that channel's mean activation
//                 channels: [{ channel, mean }] }        the layer's k channels with the
//                                                        highest mean, highest first
//   free      { render: renderId } | { model: key } → { freed: true }
//   crash     {}                                   test hook: replies, then throws an uncaught
//                                                  error (the pool must replace the worker);
//                                                  the reply can lose the race with the crash
//
// ---- errors ------------------------------------------------------------------
// { id, error: message, code }: code is the engine's fv_status number for
// engine errors (STATUS in options.js: 1 BAD_MODEL, 2 UNSUPPORTED, 3 BAD_ARG,
// 4 NO_MEMORY, 5 BAD_IMAGE, 6 UNKNOWN_LAYER, 7 SHAPE, 8 NUMERIC), with the
// engine's message (ranges are the engine's to check), or a string for
// protocol errors (CODE in options.js): 'bad_request' (unknown action, missing
// or mistyped field), 'no_model' (unknown key), 'no_render' (unknown target),
// 'internal' (a bug or a WebAssembly trap).
// After a trap ('internal' from inside the engine) the engine's memory can no
// longer be trusted: the worker replies, then exits, and the pool restarts it.
// A Web Worker that closes itself fires no event, so it first posts
// { id: null, fatal: message }; the pool treats that as a crash.

import { loadEngine } from './engine.js';
import { FvError, CODE, InputError, makeManifest, manifestInput, modelLabels } from './options.js';
import { chooseInput } from './input.js';
import { prepareOptions, sha256Hex } from './photo-data.js';
import { startFit, priorRecord, priorFileName } from './prior-fit.js';

// ---- transport: the same messages on a Web Worker and on worker_threads ------
const isNode = typeof self === 'undefined';
let post;
if (isNode) {
  const { parentPort } = await import('node:worker_threads');
  post = (msg, transfer = []) => parentPort.postMessage(msg, transfer);
  parentPort.on('message', (msg) => handle(msg));
} else {
  post = (msg, transfer = []) => self.postMessage(msg, transfer);
  self.onmessage = (e) => handle(e.data);
}

/** Yields to the event loop (so queued control messages run) and then calls fn. */
const yieldThen = isNode ? (fn) => setImmediate(fn) : (() => {
  // setTimeout(0) is clamped to 4 ms when nested; a MessageChannel round trip is not.
  const ch = new MessageChannel();
  const queue = [];
  ch.port1.onmessage = () => queue.shift()?.();
  return (fn) => { queue.push(fn); ch.port2.postMessage(0); };
})();

class RequestError extends Error {
  constructor(message, code) { super(message); this.code = code; }
}
const need = (cond, message, code = CODE.BAD_REQUEST) => { if (!cond) throw new RequestError(message, code); };
// bytes arrive as an ArrayBuffer (transferred) or a view of one (structured clone of a view)
const isBytes = (b) => b instanceof ArrayBuffer || ArrayBuffer.isView(b);
const bytesOf = (b) => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

// ---- state ---------------------------------------------------------------------------
let engine = null, enginePromise = null;
const models = new Map();   // key → { model, name, sha256, labels, layers, input }
const renders = new Map();  // render id → { id, r, modelKey, state, planned, frameInterval, lastFrameAt, lastFrameStep, prior }
const fits = new Map();     // fitPrior id → { id, fit, steps, cancelled }

function init(wasmUrl, threads = 1) {
  enginePromise ??= loadEngine({ ...(wasmUrl ? { url: wasmUrl } : {}), ...(threads > 1 ? { threads } : {}) }).then((e) => (engine = e));
  return enginePromise;
}

function modelOf(key) {
  const m = models.get(key);
  need(m, `no model "${key}" is loaded in this worker`, CODE.NO_MODEL);
  return m;
}

function renderOf(id) {
  const job = renders.get(id);
  need(job, `no render ${id} in this worker (freed, or its model was replaced)`, CODE.NO_RENDER);
  return job;
}

function freeRender(job) {
  job.r.free();
  job.prior?.prior.free();
  job.state = 'freed';
  renders.delete(job.id);
}

function freeModel(key) {
  const m = models.get(key);
  if (!m) return;
  for (const job of [...renders.values()]) if (job.modelKey === key) freeRender(job);
  m.model.free();
  models.delete(key);
}

// ---- render loop: one step per event-loop turn, renders take turns --------------------
let ticking = false, turn = 0;

function frameOf(job) {
  const { r } = job;
  const size = r.size, batch = r.batch, n = size * size * 4;
  const rgba = new Uint8Array(n * batch);
  for (let i = 0; i < batch; i++) rgba.set(r.rgba(i), i * n);
  job.lastFrameAt = performance.now();
  job.lastFrameStep = r.stepsDone;
  return { step: r.stepsDone, objective: r.objective, rgba: rgba.buffer, size, batch };
}

function postFrame(job) {
  const frame = frameOf(job);
  post({ id: job.id, frame }, [frame.rgba]);
}

/** Posts a frame for the current step unless one was already posted for it. */
function flushFrame(job) {
  if (job.lastFrameStep !== job.r.stepsDone) postFrame(job);
}

function schedule() {
  if (ticking) return;
  ticking = true;
  yieldThen(tick);
}

function tick() {
  ticking = false;
  const running = [...renders.values()].filter((j) => j.state === 'running');
  if (!running.length) return;
  const job = running[turn++ % running.length];
  const { r } = job;
  try {
    if (r.stepsDone < job.planned) r.step(1);
  } catch (e) {
    job.state = 'error';
    flushFrame(job); // the last good image
    post({ id: job.id, error: e.message, code: e instanceof FvError ? e.code : CODE.INTERNAL, step: r.stepsDone });
    if (!(e instanceof FvError)) fatal(e);
    schedule();
    return;
  }
  if (r.stepsDone >= job.planned) {
    job.state = 'done';
    flushFrame(job);
    post({ id: job.id, done: true, step: r.stepsDone, objective: r.objective });
  } else if (performance.now() - job.lastFrameAt >= job.frameInterval || (job.frameEvery && r.stepsDone % job.frameEvery === 0)) {
    postFrame(job);
  }
  schedule();
}

const stateOf = (job) => ({
  step: job.r.stepsDone, planned: job.planned, objective: job.r.objective, state: job.state,
  size: job.r.size, batch: job.r.batch,
});

// ---- actions ------------------------------------------------------------------------------
async function dispatch(msg) {
  const { action } = msg;
  if (action !== 'init' && action !== 'crash') await init();
  switch (action) {
    case 'init': {
      await init(msg.wasmUrl, Number.isInteger(msg.threads) ? msg.threads : 1);
      return { version: engine.version(), simd: engine.simdAvailable(), threads: engine.threads, threadsReason: engine.threadsReason };
    }
    case 'loadModel': {
      need(msg.key !== undefined && msg.key !== null, 'loadModel needs a key');
      need(isBytes(msg.bytes), 'loadModel needs bytes (an ArrayBuffer)');
      const bytes = bytesOf(msg.bytes);
      const model = engine.loadModel(bytes);  // throws FvError on a bad file
      let choice;
      try {
        choice = inputChoice(model, msg);
      } catch (e) {
        model.free();
        throw e instanceof InputError ? new RequestError(e.message, CODE.BAD_REQUEST) : e;
      }
      const sha256 = await sha256Hex(bytes);
      freeModel(msg.key);
      const info = {
        key: msg.key, name: msg.name ?? 'model.tflite', sha256, layers: model.layers(), input: model.input, choice,
        labels: model.labels,
      };
      const labels = modelLabels(info.layers, info.labels, Array.isArray(msg.labels) ? msg.labels : []);
      models.set(msg.key, { ...info, model, labels });
      return info;
    }
    case 'hasModel':
      return { loaded: models.has(msg.key) };
    case 'describe': {
      const m = modelOf(msg.model);
      need(msg.options && typeof msg.options === 'object', 'describe needs options (an object, see src/options.h)');
      return engine.describe(m.model, msg.options, m.labels.names);
    }
    case 'render': {
      const m = modelOf(msg.model);
      need(msg.options && typeof msg.options === 'object', 'render needs options (an object, see src/options.h)');
      need(!renders.has(msg.id), `a render with id ${msg.id} already exists`);
      need(msg.photos === undefined || (msg.photos && typeof msg.photos === 'object'), 'render: photos must be { name: bytes }');
      const photos = msg.photos ?? {};
      const { options } = await prepareOptions(engine, m.model, msg.options, {
        labels: m.labels.names,
        photo: (name) => {
          const b = photos[name];
          need(isBytes(b), `the objective names the photo "${name}", which is not open`);
          return bytesOf(b);
        },
      }).catch((e) => { throw e instanceof InputError ? new RequestError(e.message, CODE.BAD_REQUEST) : e; });
      need(!renders.has(msg.id), `a render with id ${msg.id} already exists`);
      const prior = msg.prior ? await openPrior(msg.prior) : null;
      let r;
      try {
        r = engine.render(m.model, options, { prior: prior?.prior });  // throws FvError on bad options
      } catch (e) {
        prior?.prior.free();
        throw e;
      }
      const every = Number(msg.frameEvery);
      const job = {
        id: msg.id, r, modelKey: msg.model, state: 'running', planned: r.stepsPlanned,
        frameInterval: Number.isFinite(msg.frameInterval) ? msg.frameInterval : 30, lastFrameAt: -Infinity, lastFrameStep: -1,
        frameEvery: Number.isInteger(every) && every > 0 ? every : 0, prior,
      };
      renders.set(msg.id, job);
      post({ id: job.id, started: { step: 0, planned: job.planned, size: r.size, batch: r.batch, options: r.options, threads: engine.threads } });
      postFrame(job); // step 0: the starting noise, so the page shows something at once
      if (job.planned <= 0) {
        job.state = 'done';
        post({ id: job.id, done: true, step: 0, objective: r.objective });
      } else {
        schedule();
      }
      return null; // the render streams; its terminal message is the reply
    }
    case 'pause': {
      const job = renderOf(msg.target);
      if (job.state === 'running') {
        job.state = 'paused';
        flushFrame(job);
      }
      return stateOf(job);
    }
    case 'resume': {
      const job = renderOf(msg.target);
      if (job.state === 'paused') {
        job.state = 'running';
        schedule();
      }
      return stateOf(job);
    }
    case 'fitPrior':
      return fitPrior(msg);
    case 'cancel': {
      if (fits.has(msg.target)) {
        fits.get(msg.target).cancelled = true; // the fit ends at its next turn
        return { state: 'cancelled' };
      }
      const job = renderOf(msg.target);
      if (job.state === 'running' || job.state === 'paused') {
        job.state = 'cancelled';
        flushFrame(job);
        post({ id: job.id, done: true, cancelled: true, step: job.r.stepsDone, objective: job.r.objective });
      }
      return stateOf(job);
    }
    case 'continue': {
      const job = renderOf(msg.target);
      const steps = Number(msg.steps);
      // the protocol's rules (this action's field, the render's state), so protocol codes, not an fv_status
      need(Number.isInteger(steps) && steps > 0 && steps <= 100000, `continue needs steps: a whole number 1..100000, got ${msg.steps}`);
      need(job.state !== 'error', 'this render stopped on an error; start a new one (its last good image can still be exported)');
      const live = job.state === 'running' || job.state === 'paused';
      job.planned = (live ? Math.max(job.planned, job.r.stepsDone) : job.r.stepsDone) + steps;
      if (job.state !== 'running') {
        job.state = 'running';
        schedule();
      }
      return stateOf(job);
    }
    case 'state':
      return stateOf(renderOf(msg.target));
    case 'png': {
      const job = renderOf(msg.target);
      const png = job.r.png(msg.image ?? -1);
      return { result: { png: png.buffer }, transfer: [png.buffer] };
    }
    case 'manifest': {
      const job = renderOf(msg.target);
      const m = modelOf(job.modelKey);
      return {
        manifest: makeManifest({
          version: engine.version(), file: m.name, sha256: m.sha256, input: manifestInput(m.choice), options: job.r.options,
          stepsDone: job.r.stepsDone,
          objective: job.r.objective, images: Array.isArray(msg.images) ? msg.images : [], prior: job.prior?.record,
        }),
      };
    }
    case 'classify': {
      const m = modelOf(msg.model);
      need(msg.bytes, 'classify needs bytes (a photo)');
      const top = engine.classify(m.model, new Uint8Array(msg.bytes), msg.k ?? 5);
      return { top: labelled(m, top) };
    }
    case 'analyze':
      return analyze(modelOf(msg.model), msg);
    case 'free': {
      if (msg.render !== undefined) {
        const job = renders.get(msg.render);
        if (job) freeRender(job);
      }
      if (msg.model !== undefined) freeModel(msg.model);
      return { freed: true };
    }
    case 'crash':
      // a little later, so that the reply usually arrives first
      setTimeout(() => { throw new Error('crash requested (test hook)'); }, 20);
      return { crashing: true };
    default:
      throw new RequestError(`unknown action "${action}"`, CODE.BAD_REQUEST);
  }
}

// ---- the patch prior --------------------------------------------------------------------------

async function openPrior(p) {
  need(typeof p === 'object' && isBytes(p.bytes), 'render: prior must be { name, bytes }');
  const bytes = bytesOf(p.bytes);
  const name = p.name ? String(p.name) : priorFileName(await sha256Hex(bytes));
  let prior;
  try {
    prior = engine.loadPrior(bytes);
  } catch (e) { // a damaged file: the engine's message, naming the file (as the CLI does)
    throw e instanceof FvError ? new FvError(`${name}: ${e.message}`, e.code) : e;
  }
  return { prior, record: await priorRecord(prior, bytes, name) };
}

function fitPrior(msg) {
  need(msg.photos && typeof msg.photos === 'object', 'fitPrior needs photos: { name: bytes }');
  const photos = Object.entries(msg.photos).map(([name, b]) => {
    need(isBytes(b), `fitPrior: photo "${name}" has no bytes`);
    return { name, bytes: bytesOf(b) };
  });
  need(photos.length > 0, 'fitPrior needs at least one photo');
  need(!fits.has(msg.id), `a fit with id ${msg.id} already exists`);
  const opts = {};
  for (const k of ['components', 'iterations', 'stride', 'maxPatches', 'seed']) if (msg[k] !== undefined) opts[k] = Number(msg[k]);
  let fit;
  try {
    fit = startFit(engine, photos, opts);
  } catch (e) {
    throw e instanceof FvError ? e : new RequestError(e.message, CODE.BAD_REQUEST);
  }
  const job = { id: msg.id, fit, steps: fit.steps(), cancelled: false };
  fits.set(job.id, job);
  post({ id: job.id, started: { photos: fit.used, skipped: fit.skipped } });
  yieldThen(() => fitTurn(job));
  return null; // the fit streams; its terminal message is the reply
}

function fitTurn(job) {
  try {
    if (job.cancelled) {
      fits.delete(job.id);
      job.fit.free();
      post({ id: job.id, done: true, cancelled: true });
      return;
    }
    const next = job.steps.next();
    if (!next.done) {
      post({ id: job.id, progress: next.value });
      yieldThen(() => fitTurn(job));
      return;
    }
    fits.delete(job.id);
    const { bytes } = job.fit.finish();
    sha256Hex(bytes).then((sha256) => post({ id: job.id, done: true, prior: bytes.buffer, sha256, name: priorFileName(sha256) }, [bytes.buffer]));
  } catch (e) {
    fits.delete(job.id);
    job.fit.free();
    post({ id: job.id, error: e.message, code: e instanceof FvError ? e.code : CODE.INTERNAL });
    if (!(e instanceof FvError)) fatal(e);
  }
}

/** The input choice of loadModel (see the header): the one made before, or wasm/input.js's. */
function inputChoice(model, msg) {
  if (msg.decided?.input) {
    model.setInput(msg.decided.input);
    return msg.decided;
  }
  const photos = Array.isArray(msg.photos) ? msg.photos.filter(isBytes) : [];
  const c = chooseInput(engine, model, {
    input: msg.input ?? 'auto', bgr: !!msg.bgr, catalog: msg.preprocess ?? null,
    photos: () => photos.map(bytesOf),
  });
  // what the page shows of a detection: each candidate's figures, not every photo's answer
  const ranking = c.ranking?.map(({ label, confidence, distinct, agree }) => ({ label, confidence, distinct, agree }));
  return { ...c, ranking, next: c.next?.label ?? null, tie: c.tie?.label ?? null };
}

function labelled(m, top) {
  return top.map(({ index, prob }) => ({ index, prob, label: m.labels.name(index) }));
}

/** A photo through the whole graph: predictions, one channel's map, the layer's strongest channels. */
function analyze(m, msg) {
  need(msg.bytes, 'analyze needs bytes (a photo)');
  const layer = m.model.layerIndex(msg.layer);
  const channel = Number(msg.channel);
  need(Number.isInteger(channel), `analyze needs channel: a whole number, got ${msg.channel}`); // its range: the engine's
  const inf = engine.infer(m.model);
  try {
    inf.runImage(new Uint8Array(msg.bytes));
    const top = labelled(m, inf.topk(msg.top ?? 5));
    const means = Array.from(inf.channelMeans(layer), (mean, c) => ({ channel: c, mean }));
    const channels = means.sort((a, b) => b.mean - a.mean || a.channel - b.channel).slice(0, msg.k ?? 10);
    const { h, w, data: heat } = inf.channelMap(layer, channel);
    let min = Infinity, max = -Infinity;
    for (const v of heat) { if (v < min) min = v; if (v > max) max = v; }
    return {
      result: {
        top, layer, layerName: m.layers[layer].name, channel,
        heat: { data: heat.buffer, h, w, min, max },
        mean: inf.channelMean(layer, channel),
        channels,
      },
      transfer: [heat.buffer],
    };
  } finally {
    inf.free();
  }
}

// A trap inside WebAssembly (or a bug here) leaves the engine's memory in an
// unknown state: reply, then exit so that the pool starts a fresh engine.
function fatal(e) {
  setTimeout(() => {
    if (isNode) process.exit(70);
    else self.close();
  });
  fatal.dead = true;
  if (!isNode) post({ id: null, fatal: e?.message ?? String(e) }); // a closed Web Worker fires no event
}

async function handle(msg) {
  if (fatal.dead) return;
  const id = msg?.id;
  try {
    const out = await dispatch(msg ?? {});
    if (out === null) return;
    if (out && 'result' in out && 'transfer' in out) post({ id, result: out.result }, out.transfer);
    else post({ id, result: out });
  } catch (e) {
    const known = e instanceof FvError || e instanceof RequestError;
    post({ id, error: e?.message ?? String(e), code: known ? e.code : CODE.INTERNAL });
    if (!known && msg?.action !== 'init') fatal(e);
  }
}
