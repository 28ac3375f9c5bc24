// engine.js — instantiates featviz.wasm (Node or browser) and wraps the C API
// in small classes. It only moves bytes and turns engine errors into thrown
// FvErrors (one check(), see below); all numerical work happens in the engine.
// Render options, labels and manifests are options.js's.
//
//   import { loadEngine } from './engine.js';
//   import { renderOptions, readQuery } from './options.js';
//   const fv = await loadEngine();                 // or loadEngine({ bytes }) / ({ url }) / ({ relaxed: true }) / ({ threads: 4 })
//   const model = fv.loadModel(tfliteBytes);       // throws FvError (code: STATUS.BAD_MODEL, ...) on a bad file
//   const r = fv.render(model, renderOptions(readQuery('?layer=MobilenetV2/expanded_conv_8/add&ch=12')));
//   while (r.stepsDone < r.stepsPlanned) {         // the engine refuses options out of range, with its message
//     r.step(16);                                  // throws FvError STATUS.NUMERIC on a blow-up (the last good image stays)
//     draw(r.rgba(0), r.size);                     // RGBA, size × size × 4 bytes
//   }
//   const png = r.png(-1), options = r.options;    // the batch as a grid; canonical options for makeManifest
//   fv.describe(model, { objective: 'L:12 - 0.1*tv' });  // the grammar without a render: canonical expression, terms
//                                                  // (photo-data.js's prepareOptions: class names, photos' activations)
//   r.free();
//   const top = fv.classify(model, jpegBytes, 5);  // [{ index, prob }]; names: Catalog.labelsFor(model.layers())
//   model.free();
//   fv.close();                                    // ends the helper threads, if any

import { FvError, STATUS, layerRef } from './options.js';
import { threadsAvailable, importedMemory, startHelpers } from './threads.js';

export { FvError, STATUS }; // defined with the other shared rules in options.js

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

// One function using f32x4.relaxed_madd: validates where the runtime has relaxed SIMD
// (Chromium; Node 20 only with --experimental-wasm-relaxed-simd).
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17,
  0, 65, 0, 253, 17, 65, 0, 253, 17, 65, 0, 253, 17, 253, 133, 2, 11]);

/** True when this runtime runs relaxed SIMD, so wasm/featviz-relaxed.wasm can load. */
export function relaxedSimdSupported() {
  return WebAssembly.validate(RELAXED_PROBE);
}

async function wasmBytes(opts) {
  if (opts.bytes) return opts.bytes;
  // relaxed: the build with fused multiply-add (results differ from the plain build in the last bits);
  // threads: the build over a shared memory (the same bits as the plain build)
  const file = opts.relaxed ? './featviz-relaxed.wasm' : opts.threadsBuild ? './featviz-threads.wasm' : './featviz.wasm';
  const url = opts.url ?? new URL(file, import.meta.url);
  const parsed = url instanceof URL ? url : String(url).includes('://') ? new URL(url) : null;
  if (isNode && (!parsed || parsed.protocol === 'file:')) {
    const { readFile } = await import('node:fs/promises');
    return readFile(parsed ?? url);
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

// The engine is built standalone (no Emscripten JS glue); the few WASI calls
// libc may make get minimal stand-ins here. memory: the shared memory the
// threads build imports (the plain build exports its own). Text is decoded
// from copies: browsers refuse to decode views of shared memory.
export function wasmImports(module, getMemory, memory = null) {
  const out = {};
  const text = new TextDecoder();
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'memory') {
      (out[imp.module] ??= {})[imp.name] = memory;
      continue;
    }
    if (imp.kind !== 'function') continue;
    out[imp.module] ??= {};
    let fn;
    if (imp.name === 'fd_write') {
      fn = (fd, iovs, iovsLen, nwritten) => {
        const mem = new DataView(getMemory().buffer);
        let n = 0, s = '';
        for (let i = 0; i < iovsLen; i++) {
          const p = mem.getUint32(iovs + 8 * i, true), len = mem.getUint32(iovs + 8 * i + 4, true);
          s += text.decode(new Uint8Array(getMemory().buffer, p, len).slice());
          n += len;
        }
        (fd === 2 ? console.error : console.log)(s.replace(/\n$/, ''));
        mem.setUint32(nwritten, n, true);
        return 0;
      };
    } else if (imp.name === 'proc_exit' || imp.name === 'abort') {
      // not an FvError: the engine's memory can no longer be trusted (the worker restarts)
      fn = (code) => { throw new Error(`engine aborted (${code})`); };
    } else if (imp.name === 'emscripten_notify_memory_growth') {
      fn = () => {};
    } else if (imp.name === 'clock_time_get') {
      // WASI clock (libc's clock_gettime), for the engine's per-op profile (src/profile.h):
      // id 0 realtime, else monotonic; nanoseconds as a u64.
      fn = (id, _precision, out) => {
        const ms = id === 0 ? Date.now() : performance.now();
        new DataView(getMemory().buffer).setBigUint64(out, BigInt(Math.round(ms * 1e6)), true);
        return 0;
      };
    } else {
      fn = () => 52; // ENOSYS
    }
    out[imp.module][imp.name] = fn;
  }
  return out;
}

/**
 * Loads and instantiates the engine. opts: { bytes } | { url } | {} (featviz.wasm next to
 * this file) | { relaxed: true } (featviz-relaxed.wasm; throws where relaxedSimdSupported() is false);
 * threads: N > 1 loads featviz-threads.wasm and runs every op on N threads (wasm/threads.js),
 * the same bits as one; where threads are unavailable (a page that is not cross-origin isolated)
 * it loads the plain build: engine.threads is then 1 and engine.threadsReason says why.
 * bytes/url of the threads build (it imports its memory) run it, on opts.threads threads.
 */
export async function loadEngine(opts = {}) {
  const want = opts.threads ?? 1;
  if (!Number.isInteger(want) || want < 1) throw new Error(`threads must be a whole number 1 or more, got ${opts.threads}`);
  if (want > 1 && opts.relaxed) throw new Error('the relaxed-SIMD build has no threads; use one or the other');
  if (opts.relaxed && !opts.bytes && !opts.url && !relaxedSimdSupported()) {
    throw new Error('this WebAssembly runtime has no relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)');
  }
  const avail = want > 1 ? threadsAvailable() : { available: false, reason: '' };
  const bytes = await wasmBytes({ ...opts, threadsBuild: avail.available });
  const shared = importedMemory(bytes); // the threads build's memory comes from here
  if (shared && !threadsAvailable().available) throw new Error(`cannot run the threads build: ${threadsAvailable().reason}`);
  const module = await WebAssembly.compile(bytes);
  let memory = shared ? new WebAssembly.Memory(shared) : null;
  const instance = await WebAssembly.instantiate(module, wasmImports(module, () => memory, memory));
  memory ??= instance.exports.memory;
  instance.exports._initialize?.();
  const engine = new Engine(instance, memory);
  if (!shared) engine.threadsReason = want > 1 ? avail.reason || 'this build has no threads: one thread' : '';
  else if (want > 1) {
    const h = await startHelpers({ module, memory, exports: instance.exports, err: engine.err, n: want });
    engine.threads = h.count;
    engine.threadsReason = h.reason;
    engine.helpers = h;
  }
  return engine;
}

export class Engine {
  constructor(instance, memory = instance.exports.memory) {
    this.x = instance.exports;
    this.memory = memory;
    this.err = this.x.fv_error_new();
    /** Threads every op runs on (wasm/threads.js), and why fewer than asked ('' when as asked). */
    this.threads = 1;
    this.threadsReason = '';
    this.helpers = null;
  }
  /** Ends the helper threads (the engine goes on, on one thread). */
  close() {
    this.helpers?.stop();
    this.helpers = null;
    this.threads = 1;
  }

  // ---- bytes in and out (views are made fresh: memory may grow) ----
  u8() { return new Uint8Array(this.memory.buffer); }
  f32(ptr, n) { return new Float32Array(this.memory.buffer, ptr, n); }
  i32(ptr, n) { return new Int32Array(this.memory.buffer, ptr, n); }
  cstr(ptr) {
    if (!ptr) return '';
    const u8 = this.u8();
    let end = ptr;
    while (u8[end]) end++;
    return new TextDecoder().decode(u8.slice(ptr, end));
  }
  /** n bytes of engine heap; the caller frees them with fv_free. */
  alloc(n) { return this.check(this.x.fv_malloc(n, this.err)); }
  /** Copies bytes into engine memory; the caller frees the pointer with fv_free. */
  put(bytes) {
    const src = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength);
    const ptr = this.alloc(src.length);
    this.u8().set(src, ptr);
    return ptr;
  }
  putString(s) { return this.put(new TextEncoder().encode(s + '\0')); }
  /** Runs fn(ptr) with bytes copied in, freeing them afterwards. */
  withBytes(bytes, fn) {
    const ptr = this.put(bytes);
    try { return fn(ptr, bytes.length ?? bytes.byteLength); } finally { this.x.fv_free(ptr); }
  }
  /**
   * The one place engine errors become thrown FvErrors: wrap every call of a fallible export
   * (one taking this.err) in it. Such an export clears the error slot on entry and fills it on
   * failure (src/fv.h), so the slot alone says whether this call failed; returns the result.
   */
  check(result) {
    const code = this.x.fv_error_code(this.err);
    if (code !== STATUS.OK) throw new FvError(this.cstr(this.x.fv_error_message(this.err)) || 'engine error', code);
    return result;
  }

  version() { return this.cstr(this.x.fv_version()); }
  /** Bytes of engine heap in use (for leak checks); the wasm memory itself never shrinks. */
  heapInUse() { return this.x.fv_heap_in_use(); }
  /** Bytes of WASM memory now; it never shrinks, so this is the instance's peak so far. */
  memoryBytes() { return this.memory.buffer.byteLength; }
  // ---- per-op profile (src/profile.h) ----
  /** on: every graph pass times each op into slots keyed by op kind, filter, stride, direction;
   * 'stages': a render step's stages outside the network too (slots with stage: true). */
  /** on: true (per op kind), 'stages' (and the render's stages), 'layers' (and a slot per layer, "... #I"), false. */
  profileEnable(on) { this.x.fv_profile_enable(on === 'layers' ? 3 : on === 'stages' ? 2 : on ? 1 : 0); }
  profileReset() { this.x.fv_profile_reset(); }
  /** The slots since the last reset: [{ name, backward, stage, ms, calls, flops }] (sums). */
  profile() {
    const { x } = this, out = [];
    for (let i = 0; i < x.fv_profile_count(); i++) {
      out.push({
        name: this.cstr(x.fv_profile_name(i)), backward: !!x.fv_profile_backward(i), stage: !!x.fv_profile_is_stage(i),
        ms: x.fv_profile_ms(i), calls: x.fv_profile_calls(i), flops: x.fv_profile_flops(i),
      });
    }
    return out;
  }
  /** Graph rewrites (src/graph.h: concat views, fused ReLUs) on (the default) or off, for renders made after: the same bits either way. */
  graphFusions(on) { this.x.fv_graph_fusions(on ? 1 : 0); }
  setSimd(on) { this.x.fv_kernels_set_simd(on ? 1 : 0); }
  simdAvailable() { return !!this.x.fv_kernels_simd_available(); }

  // ---- models ----
  loadModel(bytes) {
    return new Model(this, this.withBytes(bytes, (p, n) => this.check(this.x.fv_model_load(p, n, this.err))));
  }

  // ---- images ----
  decodeImage(bytes) {
    return new Image(this, this.withBytes(bytes, (p, n) => this.check(this.x.fv_image_decode(p, n, this.err))));
  }
  imageFromRGBA(rgba, w, h) {
    return new Image(this, this.withBytes(rgba, (p) => this.check(this.x.fv_image_from_rgba(p, w, h, this.err))));
  }
  /** PNG bytes of 8-bit RGB (channels 3) or RGBA (4) pixels, encoded in C by stb_image_write. */
  encodePNG(pixels, w, h, channels = 4) {
    return this.withBytes(pixels, (p) => this.takeBuffer((lenPtr) => this.x.fv_png_encode(p, w, h, channels, lenPtr, this.err)));
  }
  /** Copies out and frees a heap buffer that fn(lenPtr) returns, its length written at lenPtr. */
  takeBuffer(fn) {
    const lenPtr = this.alloc(8);
    try {
      const out = this.check(fn(lenPtr));
      const len = new DataView(this.memory.buffer).getUint32(lenPtr, true);
      const bytes = this.u8().slice(out, out + len);
      this.x.fv_free(out);
      return bytes;
    } finally {
      this.x.fv_free(lenPtr);
    }
  }

  // ---- inference ----
  /** opts: { h, w } (0: native), lastLayer (-1: whole graph). */
  infer(model, { h = 0, w = 0, lastLayer = -1 } = {}) {
    return new Infer(this, model, this.check(this.x.fv_infer_new(model.ptr, h, w, lastLayer, this.err)));
  }
  // ---- feature visualization ----
  /** A render (see src/options.h for the options: an object or a JSON string); prior: a Prior
   * that the objective's prior terms read (it must outlive the render). */
  render(model, options, { prior = null } = {}) {
    const json = typeof options === 'string' ? options : JSON.stringify(options);
    const bytes = new TextEncoder().encode(json);
    return new Render(this, this.withBytes(bytes, (p, n) => this.check(this.x.fv_render_new_prior(model.ptr, p, n, prior?.ptr ?? 0, this.err))));
  }

  // ---- the patch prior (src/prior.h) ----
  /** A prior from prior.bin bytes (a damaged file throws, with the engine's message). */
  loadPrior(bytes) {
    return new Prior(this, this.withBytes(bytes, (p, n) => this.check(this.x.fv_prior_load(p, n, this.err))));
  }
  /** An EM fit: options { components, iterations, stride, maxPatches, seed } (absent: the engine's defaults). */
  priorFit({ components = 0, iterations = 0, stride = 0, maxPatches = 0, seed = 0 } = {}) {
    return new PriorFit(this, this.check(this.x.fv_prior_fit_create(components, iterations, stride, maxPatches, seed, this.err)));
  }

  /**
   * The objective of render options without rendering (src/fv.h fv_objective_describe): { options
   * (canonical; a photo the objective names but the options lack is in options.photos without
   * values), expression (canonical), terms: [{ weight, kind, text }] }. labels: the model's class
   * names (Labels.names), so class(macaw) resolves; the engine judges the grammar and every range.
   */
  describe(model, options, labels = null) {
    const json = new TextEncoder().encode(typeof options === 'string' ? options : JSON.stringify(options));
    const lab = labels?.length ? new TextEncoder().encode(labels.join('\n')) : null;
    const lp = lab ? this.put(lab) : 0;
    try {
      const out = this.withBytes(json, (p, n) => this.check(this.x.fv_objective_describe(model.ptr, p, n, lp, lab ? lab.length : 0, this.err)));
      const text = this.cstr(out);
      this.x.fv_free(out);
      return JSON.parse(text);
    } finally {
      if (lp) this.x.fv_free(lp);
    }
  }

  /** Top-k classes of a photo: [{ index, prob }]. */
  classify(model, imageBytes, k = 5) {
    const inf = this.infer(model);
    try {
      inf.runImage(imageBytes);
      return inf.topk(k);
    } finally {
      inf.free();
    }
  }
}

// fv_op_option's keys (src/fv.h), by the names Model.op() gives them
const OP_OPTIONS = Object.freeze({
  strideH: 0, strideW: 1, dilationH: 2, dilationW: 3, filterH: 4, filterW: 5, padding: 6, act: 7,
  depthMultiplier: 8, axis: 9, keepDims: 10, meanAxes: 11, beta: 12,
  padTop: 13, padLeft: 14, padBottom: 15, padRight: 16, ceilMode: 17, global: 18, countIncludePad: 19,
  groups: 20, lrnLo: 21, lrnHi: 22, lrnAlpha: 23, lrnBeta: 24, lrnBias: 25, actA: 26, actB: 27,
});
// the codes of FV_OPT_PADDING and FV_OPT_ACTIVATION (src/fv.h, src/model.h's fv_act), by name
const PADDINGS = ['same', 'valid', 'explicit'];
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'clip', 'leaky_relu', 'sigmoid', 'hard_sigmoid', 'hard_swish', 'tanh'];

export class Model {
  constructor(engine, ptr) { this.e = engine; this.ptr = ptr; }
  get layerCount() { return this.e.x.fv_model_layer_count(this.ptr); }
  /** Every layer: { index, name, op, shape: [N, H, W, C] } at the native input size. */
  layers() {
    const { x } = this.e, out = [];
    for (let i = 0; i < this.layerCount; i++) {
      out.push({
        index: i,
        name: this.e.cstr(x.fv_model_layer_name(this.ptr, i)),
        op: this.e.cstr(x.fv_model_layer_op(this.ptr, i)),
        shape: [0, 1, 2, 3].map((d) => x.fv_model_layer_dim(this.ptr, i, d)),
      });
    }
    return out;
  }
  /** Layer index by name or number (layerRef: a string of digits is an index); the engine judges (FvError). */
  layerIndex(nameOrIndex) {
    const json = new TextEncoder().encode(JSON.stringify(layerRef(nameOrIndex)));
    return this.e.withBytes(json, (p, n) => this.e.check(this.e.x.fv_options_find_layer(this.ptr, p, n, this.e.err)));
  }
  /**
   * The input the network expects: { shape, bgr, scale: [3], offset: [3], source, min, max }.
   * Network channel k holds p·scale[k] + offset[k] for the 0..255 value p of the photo's channel
   * (bgr ? 2 − k : k); source says what said so ('' = nothing: a guess). min / max: the lowest and
   * highest value any channel takes.
   */
  get input() {
    const { x } = this.e, p = this.ptr;
    const scale = [0, 1, 2].map((k) => x.fv_model_input_scale(p, k));
    const offset = [0, 1, 2].map((k) => x.fv_model_input_offset(p, k));
    const ends = offset.flatMap((o, k) => [o, o + 255 * scale[k]]);
    return {
      shape: [0, 1, 2, 3].map((d) => x.fv_model_input_dim(p, d)),
      bgr: x.fv_model_input_bgr(p) === 1,
      scale, offset,
      source: this.e.cstr(x.fv_model_input_source(p)),
      min: Math.min(...ends),
      max: Math.max(...ends),
    };
  }
  /** Replaces the input description (e.g. a user's preset): { bgr, scale: [3], offset: [3], source }. */
  setInput({ bgr = false, scale, offset, source = '' }) {
    const { e } = this, s = e.putString(String(source));
    try {
      e.check(e.x.fv_model_set_input(this.ptr, bgr ? 1 : 0, ...scale, ...offset, s, e.err));
    } finally {
      e.x.fv_free(s);
    }
  }
  /** Class names the file carries (TFLite metadata, ONNX metadata_props), or null. */
  get labels() {
    const p = this.e.x.fv_model_labels(this.ptr);
    return p ? this.e.cstr(p).split('\n').filter((l, i, a) => l !== '' || i < a.length - 1) : null;
  }
  /** The tensor id of the image input (what the first ops read; see op()). */
  get inputTensor() { return this.e.x.fv_model_input_tensor(this.ptr); }
  /**
   * Op i (the op whose output is layer i) as the engine runs it, copied out of the engine:
   * { kind: 'CONV_2D', output: tensor id, inputs: [{ tensor, shape, data }], options }.
   * Tensor ids are the file's; an optional input left out has tensor -1. data: a constant's
   * float32 values as the engine computes with them (dequantized; the file's layout, e.g.
   * CONV_2D filters [OC,KH,KW,IC]), or null for an activation. options: { strideH, strideW,
   * dilationH, dilationW, filterH, filterW, padding: 'same' | 'valid' | 'explicit', padTop,
   * padLeft, padBottom, padRight (explicit's pads, else 0), ceilMode, global, countIncludePad
   * (pools: 0 or 1), groups (CONV_2D), act: 'linear' | 'relu' | 'relu6' (fused) or, for an
   * ACTIVATION op, also 'clip' | 'leaky_relu' | 'sigmoid' | 'hard_sigmoid' | 'hard_swish' | 'tanh'
   * with actA, actB (src/model.h's fv_act), depthMultiplier, axis, keepDims, meanAxes (bitmask over
   * NHWC), beta, lrnLo, lrnHi, lrnAlpha, lrnBeta, lrnBias (LRN: y = x / (bias + alpha·Σ x²)^beta over
   * channels c − lo .. c + hi; alpha per element, i.e. ONNX's alpha / size) }.
   */
  op(i) {
    const { x } = this.e, p = this.ptr;
    this.layerIndex(typeof i === 'number' ? i : NaN); // op i writes layer i: the engine's range (NaN: refused as not a layer)
    const n = x.fv_model_op_input_count(p, i);
    const inputs = [];
    for (let k = 0; k < n; k++) inputs.push(this.tensor(x.fv_model_op_input(p, i, k)));
    const o = Object.fromEntries(Object.entries(OP_OPTIONS).map(([name, key]) => [name, x.fv_model_op_option(p, i, key)]));
    o.padding = PADDINGS[o.padding];
    o.act = ACTIVATIONS[o.act];
    return { kind: this.e.cstr(x.fv_model_op_kind(p, i)), output: x.fv_model_op_output(p, i), inputs, options: o };
  }
  /** Tensor t: { tensor, shape, data: Float32Array copy of a constant | null }; tensor -1: an absent input. */
  tensor(t) {
    const { x } = this.e, p = this.ptr;
    const rank = x.fv_model_tensor_rank(p, t);
    if (rank < 0) {
      if (t === -1) return { tensor: -1, shape: [], data: null };
      // the read-only getters answer -1 and take no fv_error (src/model_info.c): their one translation
      throw new FvError(`tensor ${t} out of range: the model has tensors 0..${x.fv_model_tensor_count(p) - 1}`, STATUS.BAD_ARG);
    }
    const shape = Array.from({ length: rank }, (_, d) => x.fv_model_tensor_dim(p, t, d));
    const ptr = x.fv_model_tensor_data(p, t);
    return { tensor: t, shape, data: ptr ? this.e.f32(ptr, shape.reduce((a, b) => a * b, 1)).slice() : null };
  }
  free() { if (this.ptr) this.e.x.fv_model_free(this.ptr); this.ptr = 0; }
}

export class Image {
  constructor(engine, ptr) { this.e = engine; this.ptr = ptr; }
  get width() { return this.e.x.fv_image_width(this.ptr); }
  get height() { return this.e.x.fv_image_height(this.ptr); }
  rgb() { const p = this.e.x.fv_image_rgb(this.ptr); return this.e.u8().slice(p, p + this.width * this.height * 3); }
  resize(w, h) { return new Image(this.e, this.e.check(this.e.x.fv_image_resize(this.ptr, w, h, this.e.err))); }
  free() { if (this.ptr) this.e.x.fv_image_free(this.ptr); this.ptr = 0; }
}

export class Infer {
  constructor(engine, model, ptr) { this.e = engine; this.model = model; this.ptr = ptr; }
  runImage(bytes) {
    this.e.withBytes(bytes, (p, n) => this.e.check(this.e.x.fv_infer_run_image(this.ptr, p, n, this.e.err)));
  }
  run(image) { this.e.check(this.e.x.fv_infer_run(this.ptr, image.ptr, this.e.err)); }
  /** A copy of a layer's activations with its shape: { shape: [N,H,W,C], data: Float32Array }. */
  layer(index) {
    const { x } = this.e;
    const p = this.e.check(x.fv_infer_layer(this.ptr, index, this.e.err));
    const shape = [0, 1, 2, 3].map((d) => x.fv_infer_layer_dim(this.ptr, index, d));
    return { shape, data: this.e.f32(p, shape.reduce((a, b) => a * b, 1)).slice() };
  }
  channelMean(layer, channel) { return this.e.check(this.e.x.fv_infer_channel_mean(this.ptr, layer, channel, this.e.err)); }
  /** Every channel's mean over space of a layer: Float32Array(C). */
  channelMeans(layer) {
    const C = this.e.x.fv_infer_layer_dim(this.ptr, layer, 3);
    return this.withOut(C, (p) => this.e.x.fv_infer_channel_means(this.ptr, layer, p, this.e.err));
  }
  /** One channel's activation map: { h, w, data: Float32Array(h*w) }. */
  channelMap(layer, channel) {
    const h = this.e.x.fv_infer_layer_dim(this.ptr, layer, 1), w = this.e.x.fv_infer_layer_dim(this.ptr, layer, 2);
    return { h, w, data: this.withOut(h * w, (p) => this.e.x.fv_infer_channel_map(this.ptr, layer, channel, p, this.e.err)) };
  }
  /** Runs fn(ptr) on a scratch of n floats and returns a copy of them (throws on an engine error). */
  withOut(n, fn) {
    const p = this.e.alloc(4 * Math.max(n, 1));
    try {
      this.e.check(fn(p));
      return this.e.f32(p, n).slice();
    } finally {
      this.e.x.fv_free(p);
    }
  }
  topk(k = 5) {
    const idx = this.e.alloc(4 * Math.max(k, 1)), prob = this.e.alloc(4 * Math.max(k, 1));
    try {
      const n = this.e.check(this.e.x.fv_infer_topk(this.ptr, k, idx, prob, this.e.err));
      const I = this.e.i32(idx, n), P = this.e.f32(prob, n);
      return Array.from(I, (index, j) => ({ index, prob: P[j] }));
    } finally {
      this.e.x.fv_free(idx);
      this.e.x.fv_free(prob);
    }
  }
  /** Floating-point operations of one run (a multiply-add counts 2). */
  get flops() { return this.e.x.fv_infer_flops(this.ptr); }
  free() { if (this.ptr) this.e.x.fv_infer_free(this.ptr); this.ptr = 0; }
}

export class Prior {
  constructor(engine, ptr) { this.e = engine; this.ptr = ptr; }
  get components() { return this.e.x.fv_prior_components(this.ptr); }
  /** The fit its header records: { components, iterations, patches, stride, images, seed, loglik }. */
  info() {
    const keys = ['components', 'iterations', 'patches', 'stride', 'images', 'seed', 'loglik'];
    return Object.fromEntries(keys.map((k, i) => [k, this.e.x.fv_prior_info(this.ptr, i)]));
  }
  /** Mean −log p per coordinate of an Image's patches (the render term's value; lower: likelier). */
  score(image) { return this.e.check(this.e.x.fv_prior_image_score(this.ptr, image.ptr, this.e.err)); }
  free() { if (this.ptr) this.e.x.fv_prior_free(this.ptr); this.ptr = 0; }
}

export class PriorFit {
  constructor(engine, ptr) { this.e = engine; this.ptr = ptr; }
  /** The patches of an Image (before the first step). */
  add(image) { this.e.check(this.e.x.fv_prior_fit_add_image(this.ptr, image.ptr, this.e.err)); }
  /** One EM iteration. */
  step() { this.e.check(this.e.x.fv_prior_fit_step(this.ptr, this.e.err)); }
  get iterations() { return this.e.x.fv_prior_fit_iterations(this.ptr); }
  get patches() { return this.e.x.fv_prior_fit_patches(this.ptr); }
  /** Mean log-likelihood per patch under the parameters the last step started from. */
  get loglik() { return this.e.x.fv_prior_fit_loglik(this.ptr); }
  /** What EM increases: the log-likelihood plus the regularizer's log-prior, per patch. */
  get objective() { return this.e.x.fv_prior_fit_objective(this.ptr); }
  /** prior.bin bytes of the current parameters. */
  save() { return this.e.takeBuffer((lenPtr) => this.e.x.fv_prior_fit_save(this.ptr, lenPtr, this.e.err)); }
  free() { if (this.ptr) this.e.x.fv_prior_fit_free(this.ptr); this.ptr = 0; }
}

export class Render {
  constructor(engine, ptr) { this.e = engine; this.ptr = ptr; }
  /** Runs n optimization steps (throws FvError on a numerical blow-up; the last good image stays). */
  step(n = 1) { this.e.check(this.e.x.fv_render_step(this.ptr, n, this.e.err)); }
  get stepsDone() { return this.e.x.fv_render_steps_done(this.ptr); }
  get stepsPlanned() { return this.e.x.fv_render_steps_planned(this.ptr); }
  get batch() { return this.e.x.fv_render_batch(this.ptr); }
  get size() { return this.e.x.fv_render_size(this.ptr); }
  get objective() { return this.e.x.fv_render_objective(this.ptr); }
  /** Floating-point operations of one step's forward + backward network passes. */
  get flops() { return this.e.x.fv_render_flops(this.ptr); }
  /** The options in force, canonical (layers by name), as an object. */
  get options() { return JSON.parse(this.e.cstr(this.e.x.fv_render_options_json(this.ptr))); }
  /** A copy of image i as RGBA bytes (size × size × 4). */
  rgba(i = 0) {
    const p = this.e.check(this.e.x.fv_render_rgba(this.ptr, i, this.e.err));
    const n = this.size * this.size * 4;
    return new Uint8ClampedArray(this.e.u8().slice(p, p + n).buffer);
  }
  /** PNG bytes of image i, or of the whole batch as a grid (i = -1). */
  png(i = -1) {
    return this.e.takeBuffer((lenPtr) => this.e.x.fv_render_png(this.ptr, i, lenPtr, this.e.err));
  }
  free() { if (this.ptr) this.e.x.fv_render_free(this.ptr); this.ptr = 0; }
}
