// feature-vis.js — the <feature-vis> element: a live feature visualization
// for explainer articles. One script tag is all an article needs:
//
//   <script type="module" src="…/web/feature-vis.js"></script>
//   <feature-vis model="mobilenet_v2" layer="MobilenetV2/expanded_conv_8/add" channel="12"
//                steps="256" seed="1">Optional caption</feature-vis>
//
// Attributes (all optional; a change re-renders):
//   model      catalog id (models/catalog.json), default the catalog's default; or the URL of
//              a .onnx or .tflite file (relative to the document)
//   input      the model's input preset (auto | imagenet | caffe | 0:1 | -1:1 | 0:255; default
//              auto: the file, the catalog, else a guess from the store's photos), bgr to swap its order
//   objective  channel | neuron | layer | class | direction (default: class when `label`
//              is given, else channel)
//   layer      layer name or index (default: the catalog's suggested layer of the model)
//   channel    default 0 (the catalog's suggested channel for its suggested layer)
//   x, y       neuron position (default the centre)
//   label      with objective="class": an ImageNet label ("macaw") or an output index
//              (the store's models: 1..1000). `class="macaw"` works too when objective="class"
//              (the attribute is also the element's CSS class, so `label` is the safer name)
//   negative   boolean: minimize instead of maximize
//   batch, diversity   a diversity set: batch images pushed apart with this weight
//   size (128), steps (256), lr (0.05; 0.005 for cppn), seed (0), param (fft | pixel | cppn | laplacian),
//   decorrelate ("false" to turn off), transforms ("none" to turn off),
//   alpha      boolean: a transparent (RGBA) render, over the page behind it
//   prior      the learned patch prior: "store" (the one fitted on the store's photos,
//              models/prior-store.bin) or the URL of a prior.bin (relative to the document;
//              e.g. one the page fitted and saved); prior-weight its weight (default 1 when
//              `prior` is given; a prior weight without `prior` uses "store"). The manifest
//              records the prior under its file name (the URL's last part); "open in featviz"
//              carries the weight, and the full page reads its own prior (the shipped one).
//
// It starts rendering when it scrolls into view (an article with many stays
// responsive) and pauses while it is out of view. The play/pause button
// pauses, resumes, and renders again once done; "open in featviz" links to
// the full page with the same state (the same image, bit for bit). Every
// <feature-vis> on a page shares one pool of engine workers (wasm/pool.js);
// the engine, its worker and the models are found relative to this file.
//
// Host attributes it sets, for styling and tests: data-state = waiting |
// loading | rendering | paused | done | error, data-step = the step drawn,
// data-input = the input in use ("0:255 --bgr"), data-input-guess = 1 when it is a guess
// (also said under the image).
// Properties and methods: el.job (the pool's RenderJob), el.options (the
// render options), el.href (the full page's URL), el.play(), el.pause(),
// el.restart(), el.png() → Promise<Uint8Array>, el.manifest() → Promise<object>.
// CSS: --feature-vis-size (the image's width, default 256px); ::part() names
// canvas, controls, button, link, error. Light-DOM children are the caption.
import { sharedPool } from '../wasm/pool.js';
import { ATTRIBUTES, Catalog, readAttributes, renderOptions, stateUrl, findLayer, batchGrid, drawBatch, isModelFile, wantsPrior } from '../wasm/options.js';
import { SHIPPED_PRIOR_NAME } from '../wasm/prior-fit.js';

const MODELS = new URL('../models/', import.meta.url);
const PAGE = new URL('./index.html', import.meta.url);

// ---- what every element on the page shares: the catalog (with labels), loaded models ----------------
const shared = { catalog: null, models: new Map(), priors: new Map() };

async function fetchOk(url, what) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`cannot load ${what}: ${e.message}`);
  }
  if (!res.ok) throw new Error(`cannot load ${what} (${decodeURIComponent(new URL(url).pathname)}): HTTP ${res.status}`);
  return res;
}

function catalog() {
  shared.catalog ??= Catalog.load((name) => fetchOk(new URL(name, MODELS), name === 'catalog.json' ? 'the model catalog' : 'the class labels')
    .then((r) => r.text()));
  shared.catalog.catch(() => { shared.catalog = null; });
  return shared.catalog;
}

/** The store's photos (catalog "photos"), for a model whose input must be guessed. */
function storePhotos(cat) {
  shared.photos ??= Promise.all(cat.photos.map((n) => fetch(new URL(`photos/${n}`, MODELS))
    .then((r) => (r.ok ? r.arrayBuffer() : null), () => null))).then((all) => all.filter(Boolean));
  return shared.photos;
}

/** The prior a `prior` attribute names ("store" or a URL against the document), fetched once per URL:
 * { name (the file name a manifest records), bytes } for pool.render. */
function priorOf(source, doc) {
  const store = source === 'store';
  const url = store ? new URL(SHIPPED_PRIOR_NAME, MODELS).href : new URL(source, doc.baseURI).href;
  let p = shared.priors.get(url);
  if (!p) {
    const name = store ? SHIPPED_PRIOR_NAME : decodeURIComponent(new URL(url).pathname).split('/').pop() || 'prior.bin';
    p = fetchOk(url, `prior="${source}"`)
      .then(async (r) => ({ name, bytes: new Uint8Array(await r.arrayBuffer()) }));
    shared.priors.set(url, p);
    p.catch(() => shared.priors.delete(url));
  }
  return p;
}

/** The pool's key of a model with an input preset: elements with the same share it. */
const modelKey = (entry, s) => `${entry.id} ${s.input}${s.bgr ? ' --bgr' : ''}`;

/** Loads a model (with its input decided) into the shared pool once, whoever asks first. */
function loadModel(pool, cat, entry, s) {
  const key = modelKey(entry, s);
  if (pool.modelInfo(key)) return Promise.resolve(pool.modelInfo(key));
  let p = shared.models.get(key);
  if (!p) {
    p = fetchOk(new URL(entry.file, MODELS), `the model ${entry.file}`)
      .then((r) => r.arrayBuffer())
      .then(async (bytes) => pool.loadModel(key, new Uint8Array(bytes), {
        name: entry.file.split('/').pop(), labels: cat.labels, input: s.input, bgr: s.bgr, preprocess: cat.preprocess(entry),
        photos: await storePhotos(cat),
      }));
    shared.models.set(key, p);
    p.catch(() => shared.models.delete(key));
  }
  return p;
}

// ---- attributes → render state (wasm/options.js); ranges are the engine's to check ------------------
function readState(el, cat) {
  const s = readAttributes(el);
  const id = s.model || cat.default;
  if (isModelFile(id)) { // a file of the article's own, beside the document
    const url = new URL(id, el.ownerDocument.baseURI).href;
    return { entry: { id: url, file: url, title: id }, s };
  }
  const entry = cat.find(id);
  if (!entry) throw new Error(`model="${id}": not in the catalog (${cat.ids.join(', ')})`);
  s.model = id;
  return { entry, s };
}

/** Fills in the layer, the channel and the class against the loaded model's layers. */
function resolveState(cat, entry, info, s) {
  const layers = info.layers;
  const want = s.layer || entry.suggested?.layer || '';
  let i = findLayer(layers, want);
  if (i < 0 && s.objective !== 'class' && !s.expr) {
    throw new Error(want ? `layer="${want}": the model has no such layer (${layers.length} layers, 0..${layers.length - 1})`
      : 'no layer given (layer="…")');
  }
  if (i < 0) i = Math.max(0, findLayer(layers, entry.suggested?.layer ?? ''));
  s.layer = layers[i].name;
  s.channel ??= cat.suggestedChannel(entry, s.layer);
  if (s.objective === 'class' && !s.expr) {
    if (!s.label) throw new Error('objective="class" needs label="…" (an ImageNet label such as "macaw")');
    s.class = s.label; // a name or an index: the engine resolves it with the model's labels
  }
  return s;
}

// ---- the element's own look (shadow DOM) -----------------------------------------------------
const CSS = `
:host { display: inline-block; vertical-align: top; max-width: 100%; margin: 0.5rem 0;
  font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; }
:host([hidden]) { display: none; }
figure { margin: 0; width: var(--feature-vis-size, 256px); max-width: 100%; }
.stage { position: relative; background: #eee; border-radius: 6px; overflow: hidden; line-height: 0; }
canvas { display: block; width: 100%; height: auto; }
.note { position: absolute; inset: auto 0 0 0; padding: 4px 8px; font-size: 12px; line-height: 1.3;
  color: #fff; background: rgba(0, 0, 0, 0.45); }
.note:empty { display: none; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 6px; margin-top: 4px; }
button { flex: none; width: 28px; height: 28px; padding: 0; border: 1px solid #c8c8c4; border-radius: 50%;
  background: #fff; color: #1d1d1f; font: inherit; font-size: 12px; line-height: 1; cursor: pointer; }
button:hover { background: #f0f0ee; }
button:focus-visible, a:focus-visible { outline: 2px solid #f0a500; outline-offset: 2px; }
progress { flex: 1 1 24px; min-width: 24px; height: 6px; accent-color: #2a5db0; }
.step { flex: none; width: 5.4em; white-space: nowrap; font-size: 12px; font-variant-numeric: tabular-nums; color: #5f6368; text-align: right; }
a { flex: none; margin-left: auto; padding-right: 2px; color: #2a5db0; white-space: nowrap; }
.error { margin: 4px 0 0; padding: 4px 6px; border-radius: 4px; background: #fdecee; color: #b00020; }
.error[hidden] { display: none; }
figcaption { margin-top: 2px; color: #5f6368; }
`;

let sheet = null;
function styleShadow(root) {
  // A constructed stylesheet is not an inline <style>, so a strict
  // Content-Security-Policy (style-src 'self') lets it through.
  if ('adoptedStyleSheets' in Document.prototype && 'replaceSync' in CSSStyleSheet.prototype) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = CSS;
    root.append(style);
  }
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

const ICON = { play: '\u25B6', pause: '\u275A\u275A', again: '\u21BB' };

// ---- the element ----------------------------------------------------------------------------------
export class FeatureVis extends HTMLElement {
  static get observedAttributes() { return ATTRIBUTES; }

  #ui;
  #job = null;
  #options = null;
  #href = '';
  #gen = 0;                // bumps on every (re)start, so stale async work drops out
  #began = false;          // a render was asked for (visible once, or play pressed)
  #visible = false;
  #userPaused = false;
  #pending = null;         // the latest frame, drawn at the next animation frame
  #raf = 0;
  #sync = Promise.resolve();
  #restartQueued = false;
  #observer = null;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    styleShadow(root);
    const canvas = el('canvas', { part: 'canvas', width: '128', height: '128', role: 'img' });
    const note = el('div', { class: 'note', 'aria-live': 'polite' });
    const button = el('button', { type: 'button', part: 'button' });
    const progress = el('progress', { max: 1, value: 0 });
    const step = el('span', { class: 'step' });
    const link = el('a', { part: 'link', target: '_blank', rel: 'noopener' }, 'open in featviz');
    const error = el('p', { class: 'error', part: 'error', role: 'alert', hidden: true });
    root.append(el('figure', {},
      el('div', { class: 'stage' }, canvas, note),
      el('div', { class: 'controls', part: 'controls' }, button, progress, step, link),
      error,
      el('figcaption', {}, el('slot'))));
    this.#ui = { canvas, note, button, progress, step, link, error };
    button.addEventListener('click', () => this.#onButton());
    // (no attributes of its own yet: an element made by createElement must have none)
  }

  // ---- public ----
  get job() { return this.#job; }
  get options() { return this.#options; }
  get href() { return this.#href; }
  play() {
    this.#userPaused = false;
    if (!this.#began || this.#ended()) this.#start();
    else this.#applyRun();
  }
  pause() {
    this.#userPaused = true;
    this.#applyRun();
  }
  restart() { this.#start(); }
  async png() {
    if (!this.#job) throw new Error('nothing rendered yet');
    return this.#job.png(-1);
  }
  async manifest() {
    if (!this.#job) throw new Error('nothing rendered yet');
    return this.#job.manifest();
  }

  // ---- lifecycle ----
  connectedCallback() {
    if (!this.#began) this.#setState('waiting');
    if (!this.#href) this.#link(PAGE.href);
    if (typeof IntersectionObserver === 'undefined') {
      this.#visible = true;
      this.#start();
      return;
    }
    this.#observer = new IntersectionObserver((entries) => {
      const seen = entries.some((e) => e.isIntersecting);
      if (seen === this.#visible) return;
      this.#visible = seen;
      if (seen && !this.#began) this.#start();
      else this.#applyRun();
    }, { rootMargin: '150px 0px' });
    this.#observer.observe(this);
  }

  disconnectedCallback() {
    this.#observer?.disconnect();
    this.#observer = null;
    this.#visible = false;
    this.#began = false;
    this.#gen++;
    this.#drop();
    this.#setState('waiting');
  }

  attributeChangedCallback(name, old, now) {
    if (old === now || !this.#began || this.#restartQueued) return;
    // `class` is also the CSS class: it counts only as the label of a class objective
    if (name === 'class' && (this.getAttribute('objective') !== 'class' || this.hasAttribute('label'))) return;
    this.#restartQueued = true;
    queueMicrotask(() => {
      this.#restartQueued = false;
      if (this.isConnected) this.#start();
    });
  }

  // ---- rendering ----
  async #start() {
    const gen = ++this.#gen;
    this.#began = true;
    this.#drop();
    this.#showError(null);
    this.#setState('loading');
    this.#ui.note.textContent = 'loading the network…';
    this.#ui.progress.value = 0;
    this.#ui.step.textContent = '';
    try {
      const pool = sharedPool();
      const cat = await catalog();
      const { entry, s } = readState(this, cat);
      this.#link(stateUrl(s, PAGE));
      const info = await loadModel(pool, cat, entry, s);
      if (gen !== this.#gen) return;
      this.dataset.input = info.choice.label ?? info.input.source;
      this.dataset.inputGuess = info.choice.guess ? '1' : '0';
      resolveState(cat, entry, info, s);
      this.#link(stateUrl(s, PAGE));
      this.#describe(s);
      const options = renderOptions(s);
      this.#options = options;
      // a damaged file is the worker's to refuse (job.started), with the engine's message
      const prior = wantsPrior(s) ? await priorOf(s.priorSource || 'store', this.ownerDocument) : null;
      if (gen !== this.#gen) return;
      this.#ui.progress.max = s.steps;
      this.#ui.note.textContent = info.choice.guess ? info.choice.note : ''; // a guessed input is said
      const job = pool.render(modelKey(entry, s), options, {
        onFrame: (f) => this.#onFrame(job, f),
        onEnd: (e) => this.#onEnd(job, e),
        prior,
      });
      this.#job = job;
      this.#setState('rendering');
      await job.started; // the engine refuses options out of range here, with its message
      if (job !== this.#job) return;
      const g = batchGrid(job.size, job.batch), cv = this.#ui.canvas; // the right shape before the first frame
      if (cv.width !== g.w || cv.height !== g.h) [cv.width, cv.height] = [g.w, g.h];
      this.#applyRun();
    } catch (e) {
      if (gen === this.#gen) this.#fail(e);
    }
  }

  /** Pauses or resumes the render so that it runs only when visible and not paused by the reader. */
  #applyRun() {
    this.#sync = this.#sync.then(async () => {
      const job = this.#job;
      if (!job || (job.state !== 'running' && job.state !== 'paused')) return;
      const run = this.#visible && !this.#userPaused;
      try {
        if (run && job.state === 'paused') await job.resume();
        else if (!run && job.state === 'running') await job.pause();
      } catch (e) {
        if (job === this.#job && !['done', 'cancelled', 'error', 'crashed', 'freed'].includes(job.state)) this.#fail(e);
        return;
      }
      if (job !== this.#job) return;
      if (job.state === 'paused') {
        this.#setState('paused');
        this.#ui.note.textContent = this.#userPaused ? '' : 'paused while out of view';
      } else if (job.state === 'running') {
        this.#setState('rendering');
        this.#ui.note.textContent = '';
      }
    });
    return this.#sync;
  }

  #onFrame(job, f) {
    if (job !== this.#job) return;
    this.#pending = f;
    this.#raf ||= requestAnimationFrame(() => this.#draw());
  }

  #draw() {
    this.#raf = 0;
    const f = this.#pending;
    this.#pending = null;
    if (!f) return;
    drawBatch(this.#ui.canvas, f);
    this.dataset.step = String(f.step);
    this.#ui.progress.value = f.step;
    this.#ui.step.textContent = `${f.step} / ${this.#job?.planned || this.#ui.progress.max}`;
  }

  #onEnd(job, e) {
    if (job !== this.#job) return;
    if (this.#raf) {
      cancelAnimationFrame(this.#raf);
      this.#draw();
    }
    if (e.error) {
      this.#fail(e.error.code === 'crashed'
        ? new Error('the engine worker crashed and was restarted: press \u21BB to render again')
        : new Error(`${e.error.message}${e.step ? ' (stopped at step ' + e.step + ')' : ''}`));
    } else if (e.cancelled) {
      this.#setState('paused');
    } else {
      this.#setState('done');
      this.#ui.note.textContent = '';
    }
  }

  #onButton() {
    const st = this.dataset.state;
    if (st === 'rendering') this.pause();
    else if (st === 'paused') this.play();
    else if (st === 'loading') this.pause();
    else this.play();
  }

  #ended() {
    const st = this.#job?.state;
    return !this.#job || st === 'done' || st === 'cancelled' || st === 'error' || st === 'crashed' || st === 'freed';
  }

  /** Forgets the current render (cancelled and freed in its worker). */
  #drop() {
    const job = this.#job;
    this.#job = null;
    this.#pending = null;
    if (job) job.cancel().catch(() => {}).finally(() => job.free().catch(() => {}));
  }

  #fail(e) {
    this.#setState('error');
    this.#ui.note.textContent = '';
    this.#showError(e?.message ?? String(e));
  }

  #showError(msg) {
    this.#ui.error.textContent = msg ?? '';
    this.#ui.error.hidden = !msg;
  }

  #setState(st) {
    this.dataset.state = st;
    const b = this.#ui.button;
    const [icon, label] = st === 'rendering' || st === 'loading' ? [ICON.pause, 'Pause']
      : st === 'paused' || st === 'waiting' ? [ICON.play, st === 'waiting' ? 'Render now' : 'Resume']
        : [ICON.again, 'Render again'];
    b.textContent = icon;
    b.setAttribute('aria-label', label);
    b.title = label;
  }

  #link(href) {
    this.#href = href;
    this.#ui.link.href = href;
  }

  #describe(s) {
    const what = s.objective === 'class' ? `class ${s.class}`
      : s.objective === 'layer' ? `layer ${s.layer} (DeepDream)`
        : s.objective === 'direction' ? `a random direction in ${s.layer}`
          : `${s.objective} ${s.channel} of ${s.layer}`;
    this.#ui.canvas.setAttribute('aria-label',
      `Feature visualization: an image optimized to ${s.negative ? 'minimize' : 'maximize'} ${what}` +
      (s.batch > 1 ? `, ${s.batch} diverse images` : ''));
  }
}

if (!customElements.get('feature-vis')) customElements.define('feature-vis', FeatureVis);
