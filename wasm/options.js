// options.js — the rules the JavaScript around the engine shares, each written
// once: errors, render options and their defaults, how CLI flags, the page's URL
// and <feature-vis> attributes become render options, layer lookup and selection,
// the render manifest and the content ids that name what it makes, and the model
// catalog with its class labels. A plain ES module without I/O of its own: the
// CLI (Node), wasm/worker.js, the page and the element all import it.
//
// Ranges are not checked here: the engine is their one judge (src/options.c,
// src/infer.c) and its messages reach the user as they are. What is checked here
// is only what the engine never sees: the type of a flag or attribute (a size
// of "big"), a label name, a file that is not a manifest.
//
//   import { readFlags, readQuery, renderOptions, makeManifest, Catalog } from '../wasm/options.js';
//   const s = readQuery(location.search);                  // state: DEFAULTS overlaid with the URL
//   const labels = catalog.labelsFor(info.layers);          // the class names of a model's outputs (labels.names → the engine)
//   const opts = renderOptions(readFlags(values));          // the src/options.h object
//
// The objective is the engine's grammar (src/objective_expr.h): state.expr holds an
// expression as the user wrote it; the other objective fields (objective, layer, channel,
// x, y, class, photo, negative, l1, tv, blur, diversity) are sugar that renderOptions turns
// into term objects, which the engine writes back as the canonical expression. Class names
// are resolved by the engine too, from the names a Labels hands it.
//   const m = makeManifest({ version, file, sha256, options: r.options, stepsDone, objective, images });
//   const id = await manifestId(m);                         // the content id that names its files (featviz atlas)
//   const chosen = selectLayers(info.layers, 'inception_*/output');   // the atlas's --layers: indices
//
// The model's input (what a photo's 0..255 pixels become before the first op) is
// named by a preset (INPUT_PRESETS, inputFor); where it comes from and how 'auto'
// decides is wasm/input.js's.

// ==== errors ======================================================================

/** The engine's fv_status codes (src/fv.h), the one copy in JavaScript. */
export const STATUS = Object.freeze({
  OK: 0, BAD_MODEL: 1, UNSUPPORTED: 2, BAD_ARG: 3, NO_MEMORY: 4, BAD_IMAGE: 5, UNKNOWN_LAYER: 6, SHAPE: 7, NUMERIC: 8,
});

/** An error the engine reported: `code` is its fv_status (only engine.js's check() makes these). */
export class FvError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'FvError';
    this.code = code;
  }
}

/** The worker protocol's and the pool's own error codes (err.code beside the fv_status numbers). */
export const CODE = Object.freeze({
  BAD_REQUEST: 'bad_request', // unknown action, a missing or mistyped field
  NO_MODEL: 'no_model',       // no model under that key
  NO_RENDER: 'no_render',     // no render under that id
  INTERNAL: 'internal',       // a bug or a WebAssembly trap (the worker restarts)
  CRASHED: 'crashed',         // the worker died (pool.js)
  TERMINATED: 'terminated',   // the pool was terminated (pool.js)
});

/** A value of the wrong type (a flag, an attribute): the user's mistake, found before the engine runs. */
export class InputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InputError';
  }
}

// ==== render state: what a render is, before it is engine options ====================

export const OBJECTIVES = Object.freeze(['channel', 'neuron', 'layer', 'class', 'direction', 'caricature']);
export const PARAMS = Object.freeze(['fft', 'pixel', 'cppn', 'laplacian']);
/** Adam's learning rate when none is given, by parameterization (the engine's defaults: src/options.h). */
export const PARAM_LR = Object.freeze({ fft: 0.05, pixel: 0.05, cppn: 0.005, laplacian: 0.05 });

/** The state of a render (the page's, the CLI's, an element's). Values equal the engine's defaults. */
export const DEFAULTS = Object.freeze({
  model: '', layer: '', channel: 0, objective: 'channel', expr: '', photo: '', negative: false, x: null, y: null, class: 1,
  batch: 1, diversity: 0, size: 128, steps: 512, lr: 0.05, seed: 0, param: 'fft', decorrelate: true,
  transforms: true, l1: 0, tv: 0, blur: 0, prior: 0, alpha: false, alphaBlur: 0.1, cppnSize: 0,
  interp: null, shared: false, // aligned interpolation: the channel the batch ends at; low-res params shared across it
  input: 'auto', bgr: false, // the model's input: a preset name (INPUT_PRESETS) or auto; bgr swaps its channel order
});

/** The patch prior's weight when a prior is chosen without one (README, "A learned prior"). */
export const PRIOR_WEIGHT = 1;

// ---- the model's input: presets -------------------------------------------------------
// A preset says what a photo's 0..255 value p of each colour becomes, and the channel
// order the network reads. Its constants belong to colours (R, G, B), so --bgr (bgr: true)
// swaps only the order: network channel k reads colour (order is BGR ? 2 − k : k) with
// that colour's scale and offset — the engine's input description (Model.input).
const IMAGENET_MEAN = [0.485, 0.456, 0.406], IMAGENET_STD = [0.229, 0.224, 0.225]; // torchvision's
export const INPUT_PRESETS = Object.freeze({
  imagenet: { bgr: false, scale: IMAGENET_STD.map((s) => 1 / (255 * s)), offset: IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]),
    text: 'RGB, (p/255 − mean)/std with torchvision\'s ImageNet mean and std' },
  caffe: { bgr: true, scale: [1, 1, 1], offset: [-123, -117, -104], text: 'BGR, p − [104, 117, 123] (Caffe\'s BGR mean)' },
  '0:1': { bgr: false, scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0], text: 'RGB, p/255' },
  '-1:1': { bgr: false, scale: [2 / 255, 2 / 255, 2 / 255], offset: [-1, -1, -1], text: 'RGB, p/127.5 − 1' },
  '0:255': { bgr: false, scale: [1, 1, 1], offset: [0, 0, 0], text: 'RGB, p as it is' },
});
export const INPUT_NAMES = Object.freeze(Object.keys(INPUT_PRESETS));

/** A preset's name as text says it: "caffe", "0:255 --bgr" (swapped). */
export const presetLabel = (preset, bgr = false) => `${preset}${bgr ? ' --bgr' : ''}`;

/**
 * The engine's input description (Model.setInput's argument) of a preset, its channel
 * order swapped when bgr: { bgr, scale: [3], offset: [3], source: presetLabel }. Throws
 * InputError for an unknown name.
 */
export function inputFor(preset, bgr = false) {
  const p = INPUT_PRESETS[preset];
  if (!p) throw new InputError(`unknown input preset "${preset}" (presets: auto, ${INPUT_NAMES.join(', ')})`);
  const order = p.bgr !== !!bgr; // BGR?
  const colour = (k) => (order ? 2 - k : k);
  return {
    bgr: order, scale: [0, 1, 2].map((k) => p.scale[colour(k)]), offset: [0, 1, 2].map((k) => p.offset[colour(k)]),
    source: presetLabel(preset, bgr),
  };
}

/** The preset (and swap) an input description ({ bgr, scale, offset }, e.g. Model.input) is, or null. */
export function presetOf(input) {
  const near = (a, b) => a.every((v, k) => Math.abs(v - b[k]) <= 1e-6 * Math.max(1, Math.abs(v)));
  for (const preset of INPUT_NAMES) {
    for (const bgr of [false, true]) {
      const d = inputFor(preset, bgr);
      if (d.bgr === !!input.bgr && near(input.scale, d.scale) && near(input.offset, d.offset)) return { preset, bgr };
    }
  }
  return null;
}

/** An embedded <feature-vis> renders fewer steps by default. */
export const ELEMENT_DEFAULTS = Object.freeze({ ...DEFAULTS, steps: 256 });

// The value types of state fields, and how a message names what a type wants.
const TYPES = {
  str: { want: 'text', parse: (raw) => raw },
  int: { want: 'a whole number', parse: (raw) => (/^-?\d+$/.test(raw) ? Number(raw) : undefined) },
  num: { want: 'a number', parse: (raw) => { const n = Number(raw); return raw.trim() !== '' && Number.isFinite(n) ? n : undefined; } },
  opt: { want: 'a whole number (empty: the centre)', parse: (raw) => (raw === '' ? null : /^\d+$/.test(raw) ? Number(raw) : undefined) },
  bool: { want: '1 or 0', parse: (raw) => (raw === '1' || raw === 'true' ? true : raw === '0' || raw === 'false' ? false : undefined) },
  obj: { want: `one of ${OBJECTIVES.join(', ')}`, parse: (raw) => (OBJECTIVES.includes(raw) ? raw : undefined) },
  // an output index, or a name the engine looks up in the model's labels
  class: { want: 'a class name or output index', parse: (raw) => (/^\d+$/.test(raw.trim()) ? Number(raw) : raw.trim() || undefined) },
  param: { want: PARAMS.join(' or '), parse: (raw) => (PARAMS.includes(raw) ? raw : undefined) },
  input: { want: `one of auto, ${INPUT_NAMES.join(', ')}`, parse: (raw) => (raw === 'auto' || Object.hasOwn(INPUT_PRESETS, raw) ? raw : undefined) },
};

// state key → [URL query key, type]. Flags and attributes use the state keys (see readFlags, readAttributes).
const FIELDS = {
  model: ['model', 'str'], layer: ['layer', 'str'], channel: ['ch', 'int'], objective: ['obj', 'obj'], expr: ['expr', 'str'],
  photo: ['photo', 'str'], negative: ['neg', 'bool'], x: ['x', 'opt'], y: ['y', 'opt'], class: ['class', 'class'], batch: ['batch', 'int'],
  diversity: ['div', 'num'], size: ['size', 'int'], steps: ['steps', 'int'], lr: ['lr', 'num'], seed: ['seed', 'int'],
  param: ['param', 'param'], decorrelate: ['decor', 'bool'], transforms: ['tf', 'bool'], l1: ['l1', 'num'],
  tv: ['tv', 'num'], blur: ['blur', 'num'], prior: ['prior', 'num'], input: ['input', 'input'], bgr: ['bgr', 'bool'],
  alpha: ['alpha', 'bool'], alphaBlur: ['ablur', 'num'], cppnSize: ['cppnsize', 'int'], interp: ['interp', 'opt'],
  shared: ['shared', 'bool'],
};

/** A layer as text names it: a string of digits is an index, anything else a name. */
export const layerRef = (text) => (typeof text === 'number' || /^\d+$/.test(String(text)) ? Number(text) : String(text));

/** The term object (src/options.h) of state s's objective fields, without s.expr. */
export function objectiveTerm(s) {
  if (s.objective === 'channel' && s.interp !== null && s.interp !== undefined) { // aligned interpolation: from s.channel to s.interp across the batch
    return { kind: 'interp', weight: s.negative ? -1 : 1, layer: s.layer, channel: s.channel, channel2: s.interp };
  }
  const term = { kind: s.objective, weight: s.negative ? -1 : 1 };
  if (s.objective === 'class') term.class = s.class;
  else term.layer = s.layer;
  if (s.objective === 'channel' || s.objective === 'neuron') term.channel = s.channel;
  if (s.objective === 'neuron') {
    if (s.x !== null && s.x !== undefined) term.x = s.x;
    if (s.y !== null && s.y !== undefined) term.y = s.y;
  }
  if (s.objective === 'direction') {
    if (s.photo) term.photo = s.photo; // the photo's mean activation at the layer
    else term.direction_seed = s.seed;
  }
  if (s.objective === 'caricature') Object.assign(term, { photo: s.photo, cossim_pow: 1 }); // Lucid's recipe, dot·cos
  return term;
}

/**
 * Render options (the src/options.h object) for state s: its objective (main: s.expr, else the term
 * of its objective fields; a caller may give another, a term object or an expression) with the
 * state's penalties and diversity.
 */
export function renderOptions(s, main = s.expr || objectiveTerm(s)) {
  const objective = [main];
  // image penalties: the objective is maximized, so a penalty has a negative weight
  if (s.l1 > 0) objective.push({ kind: 'l1', weight: -s.l1, constant: 0.5 });
  if (s.tv > 0) objective.push({ kind: 'tv', weight: -s.tv });
  if (s.blur > 0) objective.push({ kind: 'blur', weight: -s.blur });
  if (s.prior > 0) objective.push({ kind: 'prior', weight: -s.prior }); // the patch prior's −log p (src/prior.h)
  const o = {
    size: s.size, batch: s.batch, steps: s.steps, lr: s.lr, seed: s.seed, param: s.param,
    decorrelate: !!s.decorrelate, transforms: s.transforms ? 'standard' : 'none', objective,
  };
  if (s.diversity) o.diversity = s.diversity;
  if (s.alpha) Object.assign(o, { alpha: true, alpha_blur: s.alphaBlur }); // transparency (src/alpha.h)
  if (s.param === 'cppn' && s.cppnSize) o.cppn_size = s.cppnSize; // the PNG drawn at this side
  if (s.shared) o.shared = true; // low-resolution params shared across the batch (src/param.h)
  if (typeof main === 'string' && objective.length === 1) o.objective = main; // so the engine's messages say "objective at N"
  return o;
}

/** Whether state s's render reads a prior (src/prior.h): a prior weight, or a `prior` term in its expression. */
export const wantsPrior = (s) => s.prior > 0 || /(^|[^\w."])prior\b(?!\s*:)/.test(s.expr ?? '');

// ---- the URL: the page's query string ------------------------------------------------
// Query keys (only values that differ from DEFAULTS are written; model and layer always):
//   model  catalog id (e.g. mobilenet_v2)      layer  layer name (or index)
//   ch     channel                             obj    channel|neuron|layer|class|direction|caricature
//   expr   an objective expression (src/objective_expr.h); when set, obj, ch, x, y, class, photo, neg are not used
//   photo  a photo's name (direction: its mean activation; caricature), from the photos panel
//   neg    1 = minimize                        x, y   neuron position (empty = centre)
//   class  output index or name of the class   batch  images (diversity set)
//   div    diversity weight                    size   render size (px)
//   steps  steps                               lr     learning rate
//   seed   seed (also the random direction's)  param  fft|pixel
//   decor  0 = no colour decorrelation         tf     0 = no transforms
//   l1, tv, blur   penalty strengths (0 = off; the term weight is minus this)
//   prior  the patch prior's weight (0 = off); the page's prior is the one its prior panel chose
//   input  the model's input preset (auto|imagenet|caffe|0:1|-1:1|0:255)   bgr  1 = swap its channel order
//   alpha  1 = transparency (RGBA)             ablur  its alpha blur weight (default 0.1)
//   cppnsize  param=cppn: the PNG's side (the network drawn larger; 0 = the render size)
//   interp  aligned interpolation: the channel the batch ends at (from ch)   shared  1 = low-res params shared across the batch
//   (no lr with param=cppn: the CPPN's rate, PARAM_LR)
//   autostart=0    (page only) do not start rendering on load
// A value of the wrong type is ignored (the default stays): a link is not a place for errors.

/** State from a query string (or URLSearchParams): DEFAULTS overlaid with every valid key. */
export function readQuery(search) {
  const q = search instanceof URLSearchParams ? search : new URLSearchParams(search);
  const s = { ...DEFAULTS };
  for (const [key, [qk, type]] of Object.entries(FIELDS)) {
    if (!q.has(qk)) continue;
    const v = TYPES[type].parse(q.get(qk));
    if (v !== undefined) s[key] = v;
  }
  if (!q.has('lr')) s.lr = PARAM_LR[s.param];
  return s;
}

/** Whether a query string carries any render state (a shared link). */
export function hasQuery(search) {
  const q = new URLSearchParams(search);
  return Object.values(FIELDS).some(([qk]) => q.has(qk));
}

/** Query string (no '?') of the values that differ from DEFAULTS; model and layer always. */
export function writeQuery(s) {
  const q = new URLSearchParams();
  for (const [key, [qk, type]] of Object.entries(FIELDS)) {
    const v = s[key];
    const dflt = key === 'lr' ? PARAM_LR[s.param] : DEFAULTS[key];
    if (v === undefined || (v === dflt && key !== 'model' && key !== 'layer')) continue;
    if ((key === 'x' || key === 'y') && v === null) continue;
    q.set(qk, type === 'bool' ? (v ? '1' : '0') : String(v));
  }
  return q.toString();
}

/** The URL of the full page (web/index.html) showing state s; base: the page's URL. */
export function stateUrl(s, base = new URL('../web/', import.meta.url)) {
  const u = new URL('./index.html', base);
  u.search = writeQuery(s);
  return u.href;
}

// ---- CLI flags (node:util parseArgs values: strings and booleans) ---------------------

/** The parseArgs options of the render flags; `featviz render` adds its own (out, manifest, ...). */
export const RENDER_FLAGS = Object.freeze(Object.fromEntries([
  ...['layer', 'channel', 'objective', 'photo', 'caricature', 'x', 'y', 'class', 'batch', 'diversity', 'size', 'steps', 'lr',
    'seed', 'param', 'prior', 'prior-weight', 'input', 'alpha-blur', 'cppn-size', 'interpolate']
    .map((k) => [k, { type: 'string' }]),
  ...['negative', 'no-decorrelate', 'no-transforms', 'bgr', 'alpha'].map((k) => [k, { type: 'boolean' }]),
]));

/** Flag --key of parseArgs values as a type ('int', 'num', 'obj', 'param'); undefined when absent. Throws InputError. */
export function readFlag(v, key, type) {
  if (v[key] === undefined) return undefined;
  const out = TYPES[type].parse(v[key]);
  if (out === undefined) throw new InputError(`--${key} must be ${TYPES[type].want}, got "${v[key]}"`);
  return out;
}

/** --threads N, the CLI's engine threads (not a render option: the same bytes on any count). */
export const THREADS_FLAG = Object.freeze({ threads: { type: 'string' } });

/** The threads flag: a whole number 1 or more; absent: cores (the machine's). Above the engine's
 * most (src/threads.h), the engine runs its most and says so (engine.threadsReason). Throws InputError. */
export function readThreads(v, cores) {
  const n = readFlag(v, 'threads', 'int');
  if (n !== undefined && n < 1) throw new InputError(`--threads must be 1 or more, got ${n}`);
  return n ?? Math.max(1, cores | 0 || 1);
}

/**
 * State from render flags. --objective takes a kind (the sugar below) or an expression;
 * --class a name or an index (the engine resolves names); --caricature PHOTO is
 * --objective caricature --photo PHOTO. Throws InputError.
 */
export function readFlags(v) {
  const s = { ...DEFAULTS };
  if (v.caricature !== undefined) {
    if (v.objective !== undefined || v.photo !== undefined) throw new InputError('--caricature PHOTO takes no --objective or --photo');
    v = { ...v, objective: 'caricature', photo: v.caricature };
  }
  const isKind = v.objective === undefined || OBJECTIVES.includes(v.objective);
  s.objective = v.objective === undefined ? (v.class !== undefined ? 'class' : 'channel') : isKind ? v.objective : 'channel';
  const kind = s.objective;
  if (!isKind) {
    s.expr = v.objective; // an expression: the engine parses and judges it
  } else if (kind === 'class') {
    if (v.class === undefined) throw new InputError('--objective class needs --class LABEL');
    s.class = readFlag(v, 'class', 'class');
  } else {
    if (v.layer === undefined) throw new InputError(`--objective ${kind} needs --layer NAME (see \`featviz layers\`)`);
    s.layer = layerRef(v.layer);
  }
  if (isKind && (kind === 'neuron' || kind === 'channel')) {
    if (v.channel === undefined) throw new InputError(`--objective ${kind} needs --channel K`);
    s.channel = readFlag(v, 'channel', 'int');
  }
  if (isKind && kind === 'neuron') {
    s.x = readFlag(v, 'x', 'int') ?? null;
    s.y = readFlag(v, 'y', 'int') ?? null;
  }
  if (isKind && (kind === 'caricature' || (kind === 'direction' && v.photo !== undefined))) {
    if (!v.photo) throw new InputError(`--objective ${kind} needs --photo PHOTO`);
    s.photo = v.photo;
  }
  for (const [key, type] of [['seed', 'int'], ['size', 'int'], ['batch', 'int'], ['steps', 'int'], ['lr', 'num'],
    ['diversity', 'num'], ['param', 'param']]) {
    s[key] = readFlag(v, key, type) ?? s[key];
  }
  if (v.lr === undefined) s.lr = PARAM_LR[s.param];
  if (v['cppn-size'] !== undefined) {
    if (s.param !== 'cppn') throw new InputError('--cppn-size N needs --param cppn');
    s.cppnSize = readFlag(v, 'cppn-size', 'int');
  }
  if (v.interpolate !== undefined) readInterpolate(s, v.interpolate, isKind ? kind : 'expression');
  // --prior FILE is the CLI's to read; its weight is state (a prior without a weight: the default weight)
  s.prior = readFlag(v, 'prior-weight', 'num') ?? (v.prior !== undefined ? PRIOR_WEIGHT : 0);
  s.negative = !!v.negative;
  s.alpha = !!v.alpha;
  if (v['alpha-blur'] !== undefined) {
    if (!s.alpha) throw new InputError('--alpha-blur W needs --alpha');
    s.alphaBlur = readFlag(v, 'alpha-blur', 'num');
  }
  s.decorrelate = !v['no-decorrelate'];
  s.transforms = !v['no-transforms'];
  Object.assign(s, readInputFlags(v));
  return s;
}

/**
 * --interpolate LAYER:CHANNEL: the batch goes from --channel to CHANNEL of --layer (the
 * interpolate term), its frames aligned by low-resolution params they share (Lucid's recipe).
 */
function readInterpolate(s, text, kind) {
  const at = text.lastIndexOf(':'), layer = at < 0 ? '' : text.slice(0, at), ch = text.slice(at + 1);
  if (at < 0 || !/^\d+$/.test(ch)) throw new InputError(`--interpolate must be LAYER:CHANNEL, got "${text}"`);
  if (kind !== 'channel') throw new InputError('--interpolate goes from a channel: use it with --layer L --channel K');
  if (String(layerRef(layer)) !== String(s.layer)) {
    throw new InputError(`--interpolate ${text}: the layer must be --layer's (${s.layer}); the interpolation is between two channels of it`);
  }
  s.interp = Number(ch);
  s.shared = true;
}

/** { input, bgr } from --input PRESET and --bgr (every command that runs a photo takes them). Throws InputError. */
export function readInputFlags(v) {
  const input = readFlag(v, 'input', 'input') ?? 'auto';
  if (v.bgr && input === 'auto') throw new InputError('--bgr swaps the channels of a preset: give --input PRESET too');
  return { input, bgr: !!v.bgr };
}

/** The parseArgs options of --input and --bgr. */
export const INPUT_FLAGS = Object.freeze({ input: { type: 'string' }, bgr: { type: 'boolean' } });

// ---- <feature-vis> attributes (el.getAttribute / el.hasAttribute) ---------------------

/** The attributes <feature-vis> reads (a change re-renders). */
export const ATTRIBUTES = Object.freeze(['model', 'objective', 'layer', 'channel', 'x', 'y', 'label', 'class', 'negative', 'batch',
  'diversity', 'size', 'steps', 'lr', 'seed', 'param', 'decorrelate', 'transforms', 'input', 'bgr', 'alpha', 'prior', 'prior-weight']);

function attrValue(el, name, type) {
  const raw = el.getAttribute(name);
  if (raw === null || raw.trim() === '') return undefined;
  const v = TYPES[type].parse(raw.trim());
  if (v === undefined) throw new InputError(`${name}="${raw}" is not ${TYPES[type].want}`);
  return v;
}

// A boolean attribute is on when present, unless it says one of the off words.
const saysOff = (el, name, words) => el.hasAttribute(name) && new RegExp(`^(${words})$`, 'i').test(el.getAttribute(name).trim());
const OFF = 'false|0|no|off';

/**
 * State from an element's attributes over ELEMENT_DEFAULTS, with priorSource: the `prior` attribute
 * ('' when absent; "store" or a URL, the element's to fetch). The model, layer and class stay
 * as written (model: '' for the catalog's default, layer: '' for its suggestion, label: the
 * class as text) and channel undefined when not given: they need the catalog and the model
 * (see Catalog.suggestedChannel, findLayer, Labels.index). Throws InputError.
 */
export function readAttributes(el) {
  const s = { ...ELEMENT_DEFAULTS };
  s.model = el.getAttribute('model')?.trim() ?? '';
  const raw = el.getAttribute('objective')?.trim() ?? '';
  if (raw && !OBJECTIVES.includes(raw)) s.expr = raw; // an expression (the engine's grammar)
  s.objective = raw && OBJECTIVES.includes(raw) ? raw : el.hasAttribute('label') ? 'class' : 'channel';
  s.layer = el.getAttribute('layer')?.trim() ?? '';
  s.channel = attrValue(el, 'channel', 'int');
  s.x = attrValue(el, 'x', 'int') ?? null;
  s.y = attrValue(el, 'y', 'int') ?? null;
  s.label = s.objective === 'class' ? (el.getAttribute('label') ?? el.getAttribute('class') ?? '').trim() : '';
  s.negative = el.hasAttribute('negative') && !saysOff(el, 'negative', OFF);
  for (const [key, type] of [['size', 'int'], ['steps', 'int'], ['batch', 'int'], ['diversity', 'num'], ['lr', 'num'],
    ['seed', 'int'], ['param', 'param']]) {
    s[key] = attrValue(el, key, type) ?? s[key];
  }
  if (!el.hasAttribute('lr')) s.lr = PARAM_LR[s.param];
  s.decorrelate = !saysOff(el, 'decorrelate', `none|${OFF}`);
  s.transforms = !saysOff(el, 'transforms', `none|${OFF}`);
  s.input = attrValue(el, 'input', 'input') ?? s.input;
  s.bgr = el.hasAttribute('bgr') && !saysOff(el, 'bgr', OFF);
  s.alpha = el.hasAttribute('alpha') && !saysOff(el, 'alpha', OFF);
  // prior="store" | a prior.bin's URL: which prior (priorSource, not render state); its weight is
  // prior-weight, else PRIOR_WEIGHT when a prior is named (as the CLI's --prior without --prior-weight)
  s.priorSource = el.getAttribute('prior')?.trim() ?? '';
  s.prior = attrValue(el, 'prior-weight', 'num') ?? (s.priorSource ? PRIOR_WEIGHT : 0);
  return s;
}

// ==== layers of a model (info.layers: [{ index, name, op, shape: [N, H, W, C] }]) =======

/** Index of a layer given by name or index (layerRef), or -1. */
export function findLayer(layers, ref) {
  const r = layerRef(ref);
  if (typeof r === 'number') return r < layers.length ? r : -1;
  return r === '' ? -1 : layers.findIndex((l) => l.name === r);
}

// The layers a spec names (the atlas's --layers), as indices in model order, each once:
// `all` (every layer with a feature map, height × width > 1), or a comma-separated list of
// names, indices and globs (`*` any run of characters but '/', `**` any run, `?` one
// character but '/', `[…]` a class), e.g. `inception_*/output` or `3,MobilenetV2/expanded_conv_8/add`.
// Throws InputError naming an item that matches no layer.
export function selectLayers(layers, spec) {
  const text = String(spec ?? '').trim();
  if (text === 'all') return layers.filter((l) => l.shape[1] * l.shape[2] > 1).map((l) => l.index);
  const items = text.split(',').map((t) => t.trim());
  if (!text || items.includes('')) throw new InputError(`--layers needs "all" or a comma-separated list of layer names, indices or globs, got "${text}"`);
  const chosen = new Set();
  for (const item of items) {
    const exact = findLayer(layers, item);
    const found = exact >= 0 ? [exact] : /[*?[]/.test(item) ? layers.filter((l) => globRegExp(item).test(l.name)).map((l) => l.index) : [];
    if (!found.length) throw new InputError(`--layers: no layer matches "${item}" (see \`featviz layers\`)`);
    for (const i of found) chosen.add(i);
  }
  return [...chosen].sort((a, b) => a - b);
}

// A layer-name glob as an anchored RegExp (see selectLayers).
function globRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i], end = c === '[' ? glob.indexOf(']', i + 2) : -1;
    if (c === '*' && glob[i + 1] === '*') { re += '.*'; i++; }
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (end > 0) {
      const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      re += body[0] === '!' ? `[^${body.slice(1)}]` : `[${body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The layer to show when none is asked for: the catalog's suggestion, else a conv/add/concat two thirds deep. */
export function defaultLayer(layers, entry) {
  let i = findLayer(layers, entry?.suggested?.layer ?? '');
  // op names as the file has them: TFLite's CONV_2D, ADD; ONNX's Conv, Add, Concat
  if (i < 0) i = layers.findLastIndex((l, j) => j < (layers.length * 2) / 3 && l.shape[3] > 1 && /conv|add|concat/i.test(l.op));
  return i < 0 ? 0 : i;
}

/** How many outputs (classes) a model has: the last layer's channels. */
export const outputCount = (layers) => layers.at(-1)?.shape[3] ?? 0;

/** The grid a batch is drawn in, the engine's PNG's (src/render.c): ceil(sqrt(n)) columns, 2 px gaps. */
export function batchGrid(size, n) {
  let cols = 1;
  while (cols * cols < n) cols++;
  const rows = Math.ceil(n / cols), gap = 2;
  return { cols, rows, gap, w: cols * size + (cols - 1) * gap, h: rows * size + (rows - 1) * gap };
}

/** A frame ({ size, batch, rgba: the images one after another }) as one RGBA image laid out as
 * batchGrid says, white between images: { w, h, rgba: Uint8ClampedArray } — the engine's PNG's pixels. */
export function gridPixels({ size: s, batch: n, rgba }) {
  const g = batchGrid(s, n), src = new Uint8Array(rgba.buffer ?? rgba, rgba.byteOffset ?? 0, n * s * s * 4);
  const out = new Uint8ClampedArray(g.w * g.h * 4).fill(255);
  for (let i = 0; i < n; i++) {
    const x0 = (i % g.cols) * (s + g.gap), y0 = Math.floor(i / g.cols) * (s + g.gap);
    for (let y = 0; y < s; y++) out.set(src.subarray((i * s + y) * s * 4, (i * s + y + 1) * s * 4), ((y0 + y) * g.w + x0) * 4);
  }
  return { w: g.w, h: g.h, rgba: out };
}

/** Draws a frame ({ size, batch, rgba }) on a canvas (browsers only) as gridPixels lays it out. */
export function drawBatch(canvas, frame) {
  const { w, h, rgba } = gridPixels(frame);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  canvas.getContext('2d').putImageData(new ImageData(rgba, w, h), 0, 0);
}

// ==== class labels ======================================================================

/** Lines of a labels file (imagenet_labels.txt: one class a line), trimmed, no trailing empty line. */
export function parseLabels(text) {
  const l = String(text).split('\n').map((s) => s.trim());
  if (l.at(-1) === '') l.pop();
  return l;
}

/**
 * The names of a model's outputs. names: a label list; outputs: the model's output count.
 * A list with one entry more than the outputs starts with a background class the model
 * lacks (the store's imagenet_labels.txt has 1001 lines, 'background' first; a 1000-class
 * model's output i is line i + 1). A list that fits neither way names nothing.
 */
export class Labels {
  constructor(names = [], outputs = names.length, { source = 'ImageNet' } = {}) {
    names = names.slice(0, names.findLastIndex((n) => n !== '') + 1); // a file's trailing newline is no class
    this.outputs = outputs;
    this.source = source;
    this.offset = names.length === outputs ? 0 : names.length === outputs + 1 ? 1 : -1;
    this.names = this.offset < 0 ? [] : names.slice(this.offset, this.offset + outputs);
  }
  /** Whether the list names this model's outputs. */
  get known() { return this.names.length > 0; }
  /** The full label of output i ("tabby, tabby cat"), or "class i". */
  name(i) { return this.names[i] || `class ${i}`; }
  /** The first name of output i's label ("tabby"). */
  short(i) { return this.name(i).split(',')[0].trim(); }
  // A class name's output index is the engine's to find (src/objective_expr.c), from these names.
  /** Every named class as { index, name }, skipping a 'background' output. */
  classes() {
    return this.names.map((name, index) => ({ index, name })).filter((c) => c.name !== 'background');
  }
}

/**
 * The class names of a model with these layers: the labels its file carries (`carried`,
 * Model.labels) when they name its outputs, else `names` (the catalog's list, fitted to
 * 1000 or 1001 outputs by Labels).
 */
export function modelLabels(layers, carried, names = []) {
  const n = outputCount(layers);
  const own = carried ? new Labels(carried, n, { source: 'the model file' }) : null;
  return own?.known ? own : new Labels(names, n);
}

// ==== the model catalog (models/catalog.json) =====================================================
// { default: id, labels: 'imagenet_labels.txt', photos: [names under photos/, for input detection],
//   models: [{ id, file, title, input, preprocess?: preset | { preset, bgr }, suggested: { layer, channel } }] }
// "preprocess" names the input of a file that does not say it itself (Catalog.preprocess).

/** File name endings of the model files the engine reads. */
export const MODEL_EXTENSIONS = Object.freeze(['.onnx', '.tflite']);
export const isModelFile = (name) => MODEL_EXTENSIONS.some((ext) => String(name).toLowerCase().endsWith(ext));

export class Catalog {
  /** json: catalog.json parsed; labels: the lines of its labels file ([] when it could not be read). */
  constructor(json, labels = []) {
    this.json = json;
    this.models = json.models ?? [];
    this.default = json.default ?? this.models[0]?.id;
    this.labelsFile = json.labels ?? 'imagenet_labels.txt';
    this.labels = labels;
  }

  /** Reads catalog.json and its labels through read(name) → Promise<string> (fetch on the page, fs in Node). */
  static async load(read) {
    const json = JSON.parse(await read('catalog.json'));
    const labels = await read(json.labels ?? 'imagenet_labels.txt').then(parseLabels, () => []);
    return new Catalog(json, labels);
  }

  get ids() { return this.models.map((m) => m.id); }
  find(id) { return this.models.find((m) => m.id === id); }
  /** The entry whose file is this (a path's last part counts), or undefined. */
  byFile(file) {
    const name = String(file).split(/[\\/]/).pop();
    return this.models.find((m) => m.file === name);
  }
  /** The entry of id, or an Error listing the catalog's ids. */
  entry(id) {
    const e = this.find(id);
    if (!e) throw new Error(`unknown model "${id}" (the catalog has ${this.ids.join(', ')})`);
    return e;
  }
  /** The default model's file name. */
  get defaultFile() { return this.entry(this.default).file; }
  /** The channel to show on a layer: the entry's suggestion on its suggested layer, else 0. */
  suggestedChannel(entry, layerName) {
    return entry?.suggested?.layer === layerName ? entry.suggested.channel ?? 0 : 0;
  }
  /** The entry's input preset as { preset, bgr }, or null (the file or detection decides). */
  preprocess(entry) {
    const p = entry?.preprocess;
    if (!p) return null;
    return typeof p === 'string' ? { preset: p, bgr: false } : { preset: p.preset, bgr: !!p.bgr };
  }
  /** The store's photos input detection runs (names under models/photos/). */
  get photos() { return this.json.photos ?? []; }
  /**
   * The class names of a model with these layers: labels the model file carries
   * (`carried`, Model.labels) win over the catalog's list when they name its outputs.
   */
  labelsFor(layers, carried = null) { return modelLabels(layers, carried, this.labels); }
}

// ==== the render manifest ====================================================================
// What `featviz render --manifest` re-renders bit for bit, written by the CLI and by the
// worker (the page's export) alike:
//   { featviz: version, model: { file, sha256 }, input: { preset, bgr, source, guess, order, scale, offset },
//     options (canonical, steps = the steps done), objective, images: [png file names] }
// and, when `featviz atlas` made it, unit: { layer, index, channel, channels (the layer's count), atlas (its id) }.
// "input" is the model's input the render used (wasm/input.js's choice): a re-render sets
// exactly its scale, offset and order (Model.setInput), whatever would be chosen now; its
// numbers are part of pixelKey (another input, other pixels).

/** The manifest's record of an input choice (wasm/input.js's { preset, swap, source, guess, input }). */
export function manifestInput(choice) {
  const { bgr, scale, offset } = choice.input;
  return { preset: choice.preset, bgr: choice.swap ?? false, source: choice.source, guess: !!choice.guess, order: bgr ? 'BGR' : 'RGB', scale, offset };
}

export function makeManifest({ version, file, sha256, input = null, options, stepsDone, objective, images = [], unit, prior = null }) {
  const m = { featviz: version, model: { file, sha256 } };
  if (input) m.input = input;
  Object.assign(m, { options: { ...options, steps: stepsDone }, objective, images });
  if (unit) m.unit = unit;
  if (prior) m.prior = prior; // wasm/prior-fit.js priorRecord: { file, sha256, components, made }
  return m;
}

// ---- content addressing: files named by what they hold ---------------------------------------

/** JSON with every object's keys sorted and no spaces: equal values, equal text. */
export function canonicalJson(v) {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * What determines a manifest's pixels: the engine's version, the model's bytes (sha256) and
 * the canonical options (steps and seed among them). Not the model's file name, the
 * objective reached or the image names: those are outputs or labels.
 */
export const pixelKey = (m) => ({
  featviz: m.featviz, model: m.model.sha256, options: m.options,
  ...(m.input ? { input: { order: m.input.order, scale: m.input.scale, offset: m.input.offset } } : {}),
});

/** The content id of a value: the first 32 hex digits of the SHA-256 of its canonicalJson (Web Crypto: Node and browsers). */
export async function contentId(v) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson(v)));
  return Array.from(new Uint8Array(digest).subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The id that names a manifest's files (`featviz atlas`): the content id of its pixelKey. */
export const manifestId = (m) => contentId(pixelKey(m));

/** A manifest from its JSON text; where: its name in messages. Throws an Error that names it. */
export function readManifest(text, where) {
  let m;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where} is not JSON: ${e.message}`);
  }
  if (!m || typeof m.options !== 'object' || typeof m.model?.file !== 'string') {
    throw new Error(`${where} is not a featviz render manifest (needs "model" and "options")`);
  }
  return m;
}

/** Throws unless the model's sha256 is the manifest's (a manifest without one takes any). */
export function checkManifestModel(m, sha256, name) {
  if (m.model.sha256 && m.model.sha256 !== sha256) {
    throw new Error(`${name} is not the model the manifest was rendered with (sha256 differs)`);
  }
}
