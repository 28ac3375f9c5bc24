// state.js — what a render is, as page state, as a URL and as engine options.
//
// The page's state (model, layer, channel, objective, parameters, seed) lives
// in the URL's query string, so a link reproduces the same image: the same
// state gives the same options object (renderOptions), and the engine gives
// the same bytes for the same options — the same bytes as
// `featviz render --manifest` for the manifest the page exports.
//
//   import { DEFAULTS, readState, writeState, renderOptions, stateUrl } from './state.js';
//   const s = readState(location.search);          // DEFAULTS overlaid with the URL's values
//   const opts = renderOptions(s, { layerName });   // src/options.h object for pool.render
//   history.replaceState(null, '', '?' + writeState(s));
//
// Query keys (only values that differ from DEFAULTS are written):
//   model  catalog id (e.g. mobilenet_v2)      layer  layer name (or index)
//   ch     channel                             obj    channel|neuron|layer|class|direction
//   neg    1 = minimize                        x, y   neuron position (empty = centre)
//   class  class index (ImageNet: 1..1000)     batch  images (diversity set)
//   div    diversity weight                    size   render size (px)
//   steps  steps                               lr     learning rate
//   seed   seed (also the random direction's)  param  fft|pixel
//   decor  0 = no colour decorrelation         tf     0 = no transforms
//   l1, tv, blur   penalty strengths (0 = off; the term weight is minus this)
//   autostart=0    (page only) do not start rendering on load

export const OBJECTIVES = ['channel', 'neuron', 'layer', 'class', 'direction'];

export const DEFAULTS = Object.freeze({
  model: '', layer: '', channel: 0, objective: 'channel', negative: false, x: null, y: null, class: 1,
  batch: 1, diversity: 0, size: 128, steps: 512, lr: 0.05, seed: 0, param: 'fft', decorrelate: true,
  transforms: true, l1: 0, tv: 0, blur: 0,
});

// state key → [query key, type]
const KEYS = {
  model: ['model', 'str'], layer: ['layer', 'str'], channel: ['ch', 'int'], objective: ['obj', 'obj'],
  negative: ['neg', 'bool'], x: ['x', 'opt'], y: ['y', 'opt'], class: ['class', 'int'], batch: ['batch', 'int'],
  diversity: ['div', 'num'], size: ['size', 'int'], steps: ['steps', 'int'], lr: ['lr', 'num'], seed: ['seed', 'int'],
  param: ['param', 'param'], decorrelate: ['decor', 'bool'], transforms: ['tf', 'bool'], l1: ['l1', 'num'],
  tv: ['tv', 'num'], blur: ['blur', 'num'],
};

function parseValue(type, raw) {
  switch (type) {
    case 'str': return raw;
    case 'int': return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
    case 'num': { const n = Number(raw); return raw.trim() !== '' && Number.isFinite(n) ? n : undefined; }
    case 'opt': return raw === '' ? null : /^\d+$/.test(raw) ? Number(raw) : undefined;
    case 'bool': return raw === '1' || raw === 'true' ? true : raw === '0' || raw === 'false' ? false : undefined;
    case 'obj': return OBJECTIVES.includes(raw) ? raw : undefined;
    case 'param': return raw === 'fft' || raw === 'pixel' ? raw : undefined;
    default: return undefined;
  }
}

function formatValue(type, v) {
  if (type === 'bool') return v ? '1' : '0';
  if (v === null) return '';
  return String(v);
}

/** State from a query string (or URLSearchParams): DEFAULTS overlaid with every valid key. */
export function readState(search) {
  const q = search instanceof URLSearchParams ? search : new URLSearchParams(search);
  const s = { ...DEFAULTS };
  for (const [key, [qk, type]] of Object.entries(KEYS)) {
    if (!q.has(qk)) continue;
    const v = parseValue(type, q.get(qk));
    if (v !== undefined) s[key] = v;
  }
  return s;
}

/** Whether a query string carries any render state (a shared link). */
export function hasState(search) {
  const q = new URLSearchParams(search);
  return Object.values(KEYS).some(([qk]) => q.has(qk));
}

/** Query string (no '?') of the values that differ from DEFAULTS; model and layer always. */
export function writeState(s) {
  const q = new URLSearchParams();
  for (const [key, [qk, type]] of Object.entries(KEYS)) {
    const v = s[key];
    if (v === undefined || (v === DEFAULTS[key] && key !== 'model' && key !== 'layer')) continue;
    if (key === 'x' || key === 'y') { if (v === null) continue; }
    q.set(qk, formatValue(type, v));
  }
  return q.toString();
}

/** A URL of the full page (web/index.html) showing state s; base: the page's URL. */
export function stateUrl(s, base) {
  const u = new URL('./index.html', base ?? new URL('./', import.meta.url));
  u.search = writeState(s);
  return u.href;
}

/** Render options (src/options.h) for state s. */
export function renderOptions(s) {
  const term = { kind: s.objective, weight: s.negative ? -1 : 1 };
  if (s.objective === 'class') {
    term.class = s.class;
  } else {
    term.layer = s.layer;
  }
  if (s.objective === 'channel' || s.objective === 'neuron') term.channel = s.channel;
  if (s.objective === 'neuron') {
    if (s.x !== null && s.x !== undefined) term.x = s.x;
    if (s.y !== null && s.y !== undefined) term.y = s.y;
  }
  if (s.objective === 'direction') term.direction_seed = s.seed;
  const objective = [term];
  // image penalties: the objective is maximized, so a penalty has a negative weight
  if (s.l1 > 0) objective.push({ kind: 'l1', weight: -s.l1, constant: 0.5 });
  if (s.tv > 0) objective.push({ kind: 'tv', weight: -s.tv });
  if (s.blur > 0) objective.push({ kind: 'blur', weight: -s.blur });
  const o = {
    size: s.size, batch: s.batch, steps: s.steps, lr: s.lr, seed: s.seed, param: s.param,
    decorrelate: !!s.decorrelate, transforms: s.transforms ? 'standard' : 'none', objective,
  };
  if (s.diversity) o.diversity = s.diversity;
  return o;
}
