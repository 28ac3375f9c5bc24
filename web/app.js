// app.js — the featviz page: pick a model and what to visualize, watch the
// optimization step by step, export it, test the channel on real photos, and
// browse a layer's atlas. The engine runs in Web Workers (wasm/pool.js,
// wasm/worker.js); this file only moves bytes and draws.
//
// ---- element ids (stable: the browser tests use them) ------------------------------------
// state on <body>:  data-state = 'idle' | 'rendering' | 'paused' | 'done' | 'error'
//                   ('idle' also after a cancel; the image stays exportable)
//                   data-ready = '1' once the engine and the model are loaded
//                   data-model = the loaded model's key (catalog id, or 'file:N' for an opened file)
// model:    #model (select: catalog ids; opened files as 'file:N'), #model-file (file input,
//           .tflite), #model-drop (drop zone), #model-info
// what:     #layer (select, value = layer name), #layers (table of all layers), #channel (number),
//           #layer-info (full name · op · shape), #channel-slider (range), #channel-count ("of 64 (0–63)"),
//           #objective (select: channel|neuron|layer|class|direction), #negative (checkbox),
//           #neuron-x, #neuron-y (empty = centre), #class (text + datalist #class-list:
//           "macaw (89)" or a name), #class-name
// params:   #batch, #diversity, #param (fft|pixel), #decorrelate, #transforms, #l1, #tv, #blur,
//           #size, #steps, #lr, #seed, #seed-random
// run:      #start, #pause, #resume, #cancel, #continue + #continue-steps (Enter in a control starts too)
// output:   #canvas (data-step = the step drawn; a batch is a grid like the PNG's), #progress
//           (<progress>, value = step, max = planned), #step-label, #objective-value, #plot,
//           #export-png, #export-manifest (downloads), #copy-link, #smooth, #status
// errors:   #error (role=alert; hidden when there is none) with #error-text, #error-close
// photos:   #photo-file (file input, multiple), #photos-panel (drop zone), #photos (list of
//           li.photo[data-name], each with img, canvas.heat, ol.predictions, .top-channels >
//           button[data-channel][data-testid=top-channel], .mean), #predictions (the top-5 list of
//           the photo opened last), #photos-rank, #photos-clear
// atlas:    #atlas-open, #atlas-cancel, #atlas-status, #atlas-grid (data-done, data-total,
//           data-running; children button.thumb[data-channel][data-state] > canvas[data-channel])
// window.featviz = { pool, state, job, start() } for tests and the console; a worker crash can
//           be simulated with featviz.pool.request('crash', {}, { worker: 0 }).
// URL: the query string holds the state (web/state.js); a link with state starts rendering at
//           once unless it has autostart=0.
import { sharedPool, CRASHED } from '../wasm/pool.js';
import { DEFAULTS, readState, writeState, hasState, renderOptions } from './state.js';
import { Atlas } from './atlas.js';

const $ = (id) => document.getElementById(id);
const MODELS = new URL('../models/', import.meta.url);
const IMAGE_EXT = /\.(jpe?g|png|bmp|gif)$/i;

const app = {
  pool: null,
  catalog: null,
  labels: [],              // imagenet_labels.txt: 1001 lines, 0 = background
  models: new Map(),       // key → { key, title, file, info, own }
  modelKey: null,
  info: null,              // pool model info: { sha256, layers, input, name }
  state: { ...DEFAULTS },
  job: null,
  plot: [],
  photos: [],
  ownCount: 0,
  atlas: null,
};

// ---- messages --------------------------------------------------------------------------
function showError(e) {
  const msg = e ? String(e.message ?? e) : '';
  $('error-text').textContent = msg;
  $('error').hidden = !msg;
  if (msg) console.warn('featviz:', msg);
}
const clearError = () => showError(null);
const say = (text) => { $('status').textContent = text; };
/** Runs an async handler, showing any failure in the page. */
const guard = (fn) => (...args) => Promise.resolve().then(() => fn(...args)).catch(showError);

// ---- body state and buttons -----------------------------------------------------------------------
function setRunState(s) {
  document.body.dataset.state = s;
  const has = !!app.job && app.job.state !== 'crashed' && app.job.state !== 'starting';
  const ready = document.body.dataset.ready === '1';
  $('start').disabled = !ready;
  $('pause').disabled = s !== 'rendering';
  $('resume').disabled = s !== 'paused';
  $('cancel').disabled = !(s === 'rendering' || s === 'paused');
  $('continue').disabled = !has || !(s === 'done' || s === 'idle' || s === 'paused');
  $('export-png').disabled = !has;
  $('export-manifest').disabled = !has;
}
const WORKER_TO_PAGE = { running: 'rendering', paused: 'paused', done: 'done', cancelled: 'idle', error: 'error' };

// ---- models --------------------------------------------------------------------------------------
async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${decodeURIComponent(new URL(url).pathname)}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A class label for an output index of the current model (ImageNet models: 1001 or 1000 outputs). */
function labelOf(index, outputs = outputCount()) {
  const L = app.labels;
  if (L.length && outputs === L.length) return L[index] ?? `class ${index}`;
  if (L.length && outputs === L.length - 1) return L[index + 1] ?? `class ${index}`;
  return `class ${index}`;
}
const shortLabel = (index) => labelOf(index).split(',')[0].trim();
const outputCount = () => app.info?.layers.at(-1)?.shape[3] ?? 0;

const catalogLoads = new Map(); // id → Promise of the pool's model info

async function loadCatalogModel(id) {
  const entry = app.catalog.models.find((m) => m.id === id);
  if (!entry) throw new Error(`unknown model "${id}" (the catalog has ${app.catalog.models.map((m) => m.id).join(', ')})`);
  if (!catalogLoads.has(id)) {
    $('model-info').textContent = `Loading ${entry.title}…`;
    const p = fetchBytes(new URL(entry.file, MODELS)).then((bytes) => app.pool.loadModel(id, bytes, { name: entry.file, labels: app.labels }));
    catalogLoads.set(id, p);
    p.catch(() => catalogLoads.delete(id));
  }
  await catalogLoads.get(id);
  app.models.set(id, { key: id, title: entry.title, file: entry.file, suggested: entry.suggested, own: false });
  return id;
}

async function loadOwnModel(file) {
  clearError();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const key = `file:${++app.ownCount}`;
  $('model-info').textContent = `Reading ${file.name}…`;
  try {
    await app.pool.loadModel(key, bytes, { name: file.name });
  } catch (e) {
    $('model-info').textContent = describeModel();
    throw new Error(`${file.name} cannot be used: ${e.message}`);
  }
  app.models.set(key, { key, title: file.name, file: file.name, own: true });
  $('model').append(new Option(`your file: ${file.name}`, key));
  $('model').value = key;
  await useModel(key);
  updateUrl();
}

function describeModel() {
  if (!app.info) return '';
  const m = app.models.get(app.modelKey);
  const shape = app.info.input.shape;
  return `${m.title}: ${app.info.layers.length} layers, input ${shape[1]}×${shape[2]}, sha256 ${app.info.sha256.slice(0, 12)}…`;
}

/** Makes `key` the page's model: layers, class list, photos, atlas. */
async function useModel(key, wanted = {}) {
  app.modelKey = key;
  app.info = app.pool.modelInfo(key);
  document.body.dataset.model = key;
  $('model-info').textContent = describeModel();
  const layers = app.info.layers;

  $('layer').replaceChildren(...layers.map((l) => new Option(
    `${l.index} · ${l.name} · ${l.op} · ${l.shape.slice(1).join('×')}`, l.name)));
  $('layers').tBodies[0].replaceChildren(...layers.map((l) => {
    const tr = document.createElement('tr');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    b.textContent = l.name;
    b.dataset.layer = l.name;
    const cells = [String(l.index), b, l.op, l.shape.slice(1).join('×')];
    for (const v of cells) {
      const td = document.createElement('td');
      td.append(v);
      tr.append(td);
    }
    return tr;
  }));

  // class list for this model's outputs (skipping ImageNet's "background")
  const n = outputCount();
  const opts = [];
  for (let i = 0; i < n && i < 5000; i++) {
    const name = labelOf(i, n);
    if (name === 'background') continue;
    opts.push(new Option(`${name} (${i})`));
  }
  $('class-list').replaceChildren(...opts);

  // the layer: what was asked for, else the catalog's suggestion, else a layer two thirds deep
  const m = app.models.get(key);
  const find = (name) => (name === undefined || name === '' ? -1 : /^\d+$/.test(String(name)) ? Number(name) : layers.findIndex((l) => l.name === name));
  let li = find(wanted.layer);
  if (wanted.layer && (li < 0 || li >= layers.length)) {
    showError(`unknown layer "${wanted.layer}" in ${m.title}: showing another layer instead`);
    li = -1;
  }
  if (li < 0) li = find(m.suggested?.layer);
  if (li < 0) li = layers.findLastIndex((l, i) => i < (layers.length * 2) / 3 && l.shape[3] > 1 && /CONV|ADD/.test(l.op));
  if (li < 0) li = 0;
  app.state.layer = layers[li].name;
  app.state.model = key;
  if (wanted.channel === undefined && m.suggested?.layer === layers[li].name) app.state.channel = m.suggested.channel ?? 0;
  writeControls();
  onLayerChange(false);
  app.atlas?.clear();
  reanalyzePhotos();
}

// ---- controls ⇄ state ------------------------------------------------------------------------------
const num = (id) => { const v = $(id).value.trim(); return v === '' ? NaN : Number(v); };
const optInt = (id) => { const v = $(id).value.trim(); return v === '' ? null : Math.trunc(Number(v)); };

function readControls() {
  const s = app.state;
  s.layer = $('layer').value;
  s.channel = Math.trunc(num('channel'));
  s.objective = $('objective').value;
  s.negative = $('negative').checked;
  s.x = optInt('neuron-x');
  s.y = optInt('neuron-y');
  s.batch = Math.trunc(num('batch'));
  s.diversity = num('diversity') || 0;
  s.param = $('param').value;
  s.decorrelate = $('decorrelate').checked;
  s.transforms = $('transforms').checked;
  s.l1 = num('l1') || 0;
  s.tv = num('tv') || 0;
  s.blur = num('blur') || 0;
  s.size = Math.trunc(num('size'));
  s.steps = Math.trunc(num('steps'));
  s.lr = num('lr');
  s.seed = Math.trunc(num('seed'));
  const cls = parseClass($('class').value);
  if (cls !== null) s.class = cls;
}

function writeControls() {
  const s = app.state;
  if ([...$('layer').options].some((o) => o.value === s.layer)) $('layer').value = s.layer;
  $('channel').value = s.channel;
  $('channel-slider').value = s.channel;
  $('objective').value = s.objective;
  $('negative').checked = s.negative;
  $('neuron-x').value = s.x ?? '';
  $('neuron-y').value = s.y ?? '';
  $('batch').value = s.batch;
  $('diversity').value = s.diversity;
  $('param').value = s.param;
  $('decorrelate').checked = s.decorrelate;
  $('transforms').checked = s.transforms;
  $('l1').value = s.l1;
  $('tv').value = s.tv;
  $('blur').value = s.blur;
  $('size').value = s.size;
  $('steps').value = s.steps;
  $('lr').value = s.lr;
  $('seed').value = s.seed;
  $('class').value = app.info ? `${labelOf(s.class)} (${s.class})` : '';
  showObjectiveFields();
}

/** A class from the search box: "name (index)", an index, or any of a label's names. */
function parseClass(text) {
  const t = text.trim();
  if (!t) return null;
  let m = /\((\d+)\)\s*$/.exec(t) || /^(\d+)$/.exec(t);
  if (m) return Number(m[1]);
  const want = t.toLowerCase();
  const n = outputCount();
  for (let i = 0; i < n; i++) {
    if (labelOf(i, n).split(',').some((x) => x.trim().toLowerCase() === want)) return i;
  }
  return null;
}

function showObjectiveFields() {
  const o = $('objective').value;
  $('neuron-fields').hidden = o !== 'neuron';
  $('class-fields').hidden = o !== 'class';
  const noChannel = o === 'layer' || o === 'class' || o === 'direction';
  $('channel').disabled = noChannel;
  $('channel-slider').disabled = noChannel;
  $('layer').disabled = o === 'class';
  const cls = parseClass($('class').value);
  $('class-name').textContent = o !== 'class' ? '' : cls === null ? 'no such class: type part of a name and pick one from the list'
    : cls >= outputCount() ? `class ${cls} is out of range (0..${outputCount() - 1})` : `class ${cls}: ${labelOf(cls)}`;
}

function currentLayer() {
  return app.info?.layers.find((l) => l.name === app.state.layer);
}

function onLayerChange(fromUser) {
  const l = currentLayer();
  if (!l) return;
  const C = l.shape[3];
  $('channel').max = String(C - 1);
  $('channel-slider').max = String(C - 1);
  $('channel-count').textContent = `of ${C} (0–${C - 1})`;
  $('layer-info').textContent = `${l.name} · ${l.op} · ${l.shape.slice(1).join('×')}`;
  if (fromUser) {
    if (app.state.channel >= C) app.state.channel = 0;
    $('channel').value = app.state.channel;
    app.atlas?.clear();
  }
  $('channel-slider').value = app.state.channel;
  $('atlas-open').textContent = `Render the atlas of ${l.name.split('/').slice(-2).join('/')} (${C} channels)`;
}

/** Checks what the engine would refuse with a less helpful message; returns an error text or null. */
function checkState() {
  const s = app.state, l = currentLayer();
  if (!l) return `unknown layer "${s.layer}"`;
  const C = l.shape[3];
  if ((s.objective === 'channel' || s.objective === 'neuron') && !(Number.isInteger(s.channel) && s.channel >= 0 && s.channel < C)) {
    return `channel ${Number.isNaN(s.channel) ? '(empty)' : s.channel} out of range: layer ${l.name} has channels 0..${C - 1}`;
  }
  if (s.objective === 'class') {
    const cls = parseClass($('class').value);
    if (cls === null) return `no class "${$('class').value}": type part of a name and pick one from the list`;
    if (cls >= outputCount()) return `class ${cls} out of range: the model has classes 0..${outputCount() - 1}`;
  }
  for (const [k, label] of [['size', 'size'], ['steps', 'steps'], ['batch', 'images'], ['seed', 'seed']]) {
    if (!Number.isInteger(s[k])) return `${label} must be a whole number`;
  }
  if (!Number.isFinite(s.lr)) return 'the learning rate must be a number';
  return null;
}

function updateUrl() {
  const q = writeState({ ...app.state, model: app.models.get(app.modelKey)?.own ? 'file' : app.modelKey });
  history.replaceState(null, '', `${location.pathname}?${q}${location.hash}`);
}

// ---- rendering --------------------------------------------------------------------------------------
let pendingFrame = null, rafId = 0;

function onFrame(job, f) {
  if (job !== app.job) return;
  pendingFrame = f;
  app.plot.push([f.step, f.objective]);
  $('progress').max = Math.max(1, job.planned);
  $('progress').value = f.step;
  $('step-label').textContent = `step ${f.step} / ${job.planned}`;
  $('objective-value').textContent = Number.isFinite(f.objective) ? f.objective.toFixed(4) : '—';
  rafId ||= requestAnimationFrame(drawPending);
}

function drawPending() {
  rafId = 0;
  const f = pendingFrame;
  pendingFrame = null;
  if (!f) return;
  drawFrame($('canvas'), f);
  $('canvas').dataset.step = String(f.step);
  drawPlot();
}

/** Draws a frame's batch as the PNG's grid: ceil(sqrt(n)) columns, 2 white pixels between images. */
function drawFrame(canvas, f) {
  const { size: s, batch: n } = f;
  let cols = 1;
  while (cols * cols < n) cols++;
  const rows = Math.ceil(n / cols), gap = 2;
  const w = cols * s + (cols - 1) * gap, h = rows * s + (rows - 1) * gap;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  const all = new Uint8ClampedArray(f.rgba);
  for (let i = 0; i < n; i++) {
    const img = new ImageData(all.slice(i * s * s * 4, (i + 1) * s * s * 4), s, s);
    ctx.putImageData(img, (i % cols) * (s + gap), Math.floor(i / cols) * (s + gap));
  }
}

function drawPlot() {
  const cv = $('plot'), dpr = window.devicePixelRatio || 1;
  const W = cv.clientWidth || 280, H = cv.clientHeight || 64;
  if (cv.width !== Math.round(W * dpr)) { cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr); }
  const ctx = cv.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  const pts = app.plot.filter(([, v]) => Number.isFinite(v));
  if (pts.length < 2) return;
  const x1 = Math.max(pts.at(-1)[0], 1);
  let lo = Infinity, hi = -Infinity;
  for (const [, v] of pts) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (hi === lo) { hi += 1; lo -= 1; }
  const X = (s) => 4 + (s / x1) * (W - 8), Y = (v) => H - 4 - ((v - lo) / (hi - lo)) * (H - 8);
  ctx.strokeStyle = '#ccc';
  ctx.lineWidth = 1;
  if (lo < 0 && hi > 0) { ctx.beginPath(); ctx.moveTo(0, Y(0)); ctx.lineTo(W, Y(0)); ctx.stroke(); }
  ctx.strokeStyle = '#2a5db0';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  pts.forEach(([s, v], i) => (i ? ctx.lineTo(X(s), Y(v)) : ctx.moveTo(X(s), Y(v))));
  ctx.stroke();
  ctx.fillStyle = '#666';
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillText(hi.toFixed(2), 6, 11);
  ctx.fillText(lo.toFixed(2), 6, H - 6);
}

function onEnd(job, e) {
  if (job !== app.job) return;
  drawPending(); // the final frame, before the state says so
  if (e.error) {
    setRunState('error');
    const crashed = e.error.code === 'crashed';
    showError(crashed ? `${CRASHED}: the render was lost at step ${e.step}. Press Start to render again.`
      : `${e.error.message}${job.step ? ' (the last good image can still be exported)' : ''}`);
    say(crashed ? 'The engine worker was restarted.' : 'Stopped by an error.');
  } else if (e.cancelled) {
    setRunState('idle');
    say(`Cancelled at step ${e.step}.`);
  } else {
    setRunState('done');
    say(`Done: ${e.step} steps, objective ${e.objective.toFixed(4)}.`);
  }
}

async function start() {
  clearError();
  readControls();
  const problem = checkState();
  if (problem) {
    setRunState('error');
    throw new Error(problem);
  }
  updateUrl();
  const old = app.job;
  app.job = null;
  if (old) old.cancel().catch(() => {}).finally(() => old.free());
  const options = renderOptions(app.state);
  app.plot = [];
  pendingFrame = null;
  $('canvas').dataset.step = '0';
  $('progress').value = 0;
  $('step-label').textContent = 'starting…';
  $('objective-value').textContent = '—';
  const job = app.pool.render(app.modelKey, options, {
    onFrame: (f) => onFrame(job, f),
    onEnd: (e) => onEnd(job, e),
  });
  app.job = job;
  setRunState('rendering');
  say('Rendering…');
  await job.started.catch((e) => {
    if (app.job !== job) return;
    app.job = null;
    setRunState('error');
    throw e;
  });
  if (app.job === job) setRunState(WORKER_TO_PAGE[job.state] ?? 'rendering');
}

async function control(action) {
  const job = app.job;
  if (!job) return;
  let r;
  if (action === 'continue') {
    const n = Math.trunc(num('continue-steps'));
    if (!(n >= 1 && n <= 100000)) throw new Error('continue: the number of more steps must be 1..100000');
    clearError();
    r = await job.continue(n);
  } else {
    r = await job[action]();
  }
  if (job !== app.job) return;
  setRunState(WORKER_TO_PAGE[r.state] ?? document.body.dataset.state);
  if (r.planned) $('progress').max = r.planned;
  if (action === 'pause') say(`Paused at step ${r.step}.`);
  if (action === 'resume' || action === 'continue') say('Rendering…');
}

function fileBase() {
  const s = app.state;
  const what = s.objective === 'class' ? `class${s.class}`
    : `${s.layer.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}` + (['channel', 'neuron'].includes(s.objective) ? `-${s.channel}` : `-${s.objective}`);
  return `featviz-${what}${s.negative ? '-neg' : ''}-s${s.seed}`;
}

function download(bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function exportPng() {
  if (!app.job) throw new Error('nothing rendered yet: press Start first');
  const png = await app.job.png(-1);
  download(png, `${fileBase()}.png`, 'image/png');
  say(`Saved ${fileBase()}.png (step ${app.job.step}).`);
}

async function exportManifest() {
  if (!app.job) throw new Error('nothing rendered yet: press Start first');
  const m = await app.job.manifest([`${fileBase()}.png`]);
  download(JSON.stringify(m, null, 2) + '\n', `${fileBase()}.json`, 'application/json');
  say(`Saved ${fileBase()}.json: \`featviz render --manifest ${fileBase()}.json\` gives the same PNG.`);
}

async function copyLink() {
  updateUrl();
  try {
    await navigator.clipboard.writeText(location.href);
    say('Link copied.');
  } catch {
    say(`Link: ${location.href}`);
  }
}

/** Opens channel c of the current layer (from a photo or the atlas): a channel render at once. */
function openChannel(c) {
  readControls();
  app.state.channel = c;
  if (!['channel', 'neuron'].includes(app.state.objective)) app.state.objective = 'channel';
  writeControls();
  reanalyzePhotos();
  updateUrl();
  document.querySelector('.stage').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  guard(start)();
}

// ---- real photos ------------------------------------------------------------------------------------
let photoSeq = 0;

async function addPhotos(files) {
  clearError();
  const list = [...files];
  if (!list.length) return;
  for (const file of list) {
    const p = { id: ++photoSeq, name: file.name, bytes: new Uint8Array(await file.arrayBuffer()), url: URL.createObjectURL(file) };
    p.el = photoCard(p);
    app.photos.push(p);
    $('photos').append(p.el);
  }
  // #predictions: the list of the photo opened last
  document.querySelectorAll('#photos ol.predictions').forEach((ol) => ol.removeAttribute('id'));
  app.photos.at(-1).el.querySelector('ol.predictions').id = 'predictions';
  await Promise.all(app.photos.slice(-list.length).map((p) => analyzePhoto(p)));
  rankPhotos();
}

function photoCard(p) {
  const li = document.createElement('li');
  li.className = 'photo';
  li.dataset.name = p.name;
  li.innerHTML = `<div class="photo-box"><img alt=""><canvas class="heat" aria-hidden="true"></canvas><span class="rank"></span></div>
    <div class="photo-info"><h3></h3><ol class="predictions"></ol><p class="mean small"></p>
    <p class="small muted">channels of this layer that fire most:</p><div class="top-channels"></div><p class="photo-error error small" role="alert" hidden></p></div>`;
  const img = li.querySelector('img');
  img.src = p.url;
  img.alt = p.name;
  img.addEventListener('load', () => li.querySelector('.photo-box').style.setProperty('--ratio', `${img.naturalWidth} / ${img.naturalHeight}`));
  li.querySelector('h3').textContent = p.name;
  li.querySelector('.top-channels').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-channel]');
    if (b) openChannel(Number(b.dataset.channel));
  });
  return li;
}

async function analyzePhoto(p) {
  const token = (p.token = {});
  const { layer, channel } = app.state;
  const l = currentLayer();
  if (!l || !(channel >= 0 && channel < l.shape[3])) return;
  const err = p.el.querySelector('.photo-error');
  for (let attempt = 0; ; attempt++) {
    try {
      const a = await app.pool.analyze(app.modelKey, p.bytes, { layer, channel, k: 10, top: 5 });
      if (p.token !== token) return;
      p.analysis = a;
      p.error = null;
      err.hidden = true;
      break;
    } catch (e) {
      if (p.token !== token) return;
      if (e.code === 'crashed' && attempt === 0) continue;
      p.analysis = null;
      p.error = e;
      err.textContent = e.code === 5 ? `${p.name} is not an image the engine can read: ${e.message}` : e.message;
      err.hidden = false;
      showError(`${p.name}: ${e.message}`);
      break;
    }
  }
  fillCard(p);
}

function fillCard(p) {
  const a = p.analysis, li = p.el;
  const preds = li.querySelector('ol.predictions');
  if (!a) {
    preds.replaceChildren();
    li.querySelector('.top-channels').replaceChildren();
    li.querySelector('.mean').textContent = '';
    return;
  }
  preds.replaceChildren(...a.top.map(({ index, prob }) => {
    const item = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'label';
    name.textContent = shortLabel(index);
    name.title = labelOf(index);
    const pct = document.createElement('span');
    pct.className = 'num muted';
    pct.textContent = ` ${(100 * prob).toFixed(1)}%`;
    item.append(name, pct);
    return item;
  }));
  li.querySelector('.mean').textContent = `channel ${a.channel}: mean activation ${a.mean.toFixed(3)} (max ${a.heat.max.toFixed(2)})`;
  li.querySelector('.top-channels').replaceChildren(...a.channels.map(({ channel, mean }) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chip' + (channel === app.state.channel ? ' current' : '');
    b.dataset.channel = String(channel);
    b.dataset.testid = 'top-channel';
    b.textContent = String(channel);
    b.title = `channel ${channel}: mean ${mean.toFixed(3)} — visualize it`;
    b.setAttribute('aria-label', `visualize channel ${channel} (mean ${mean.toFixed(2)})`);
    return b;
  }));
}

/** Heat maps share one colour scale (the largest activation over all photos) so they compare. */
function drawHeatmaps() {
  let hi = 0;
  for (const p of app.photos) if (p.analysis) hi = Math.max(hi, p.analysis.heat.max);
  for (const p of app.photos) {
    const cv = p.el.querySelector('canvas.heat');
    if (!p.analysis) { cv.width = 1; cv.height = 1; continue; }
    const { data, h, w } = p.analysis.heat;
    cv.width = w;
    cv.height = h;
    const img = new ImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const t = hi > 0 ? Math.max(0, data[i]) / hi : 0;
      const [r, g, b] = heatColour(t);
      img.data.set([r, g, b, Math.round(200 * Math.sqrt(t))], i * 4);
    }
    cv.getContext('2d').putImageData(img, 0, 0);
  }
}

/** Black-body-like ramp: dark red → orange → yellow → white. */
function heatColour(t) {
  const r = Math.min(255, 80 + 400 * t), g = Math.max(0, Math.min(255, 420 * (t - 0.3))), b = Math.max(0, Math.min(255, 500 * (t - 0.7)));
  return [r, g, b];
}

function rankPhotos() {
  drawHeatmaps();
  const ok = app.photos.filter((p) => p.analysis);
  const l = currentLayer();
  if (app.photos.length >= 2 && ok.length) {
    const sorted = [...app.photos].sort((a, b) => (b.analysis?.mean ?? -Infinity) - (a.analysis?.mean ?? -Infinity));
    sorted.forEach((p, i) => {
      p.el.querySelector('.rank').textContent = p.analysis ? `#${i + 1}` : '';
      $('photos').append(p.el);
    });
    $('photos-rank').textContent = `Ranked by channel ${app.state.channel} of ${l?.name}: the photo it fires on most comes first.`;
  } else {
    app.photos.forEach((p) => { p.el.querySelector('.rank').textContent = ''; });
    $('photos-rank').textContent = app.photos.length ? `Heat map: channel ${app.state.channel} of ${l?.name}.` : '';
  }
}

let reanalyzeTimer = 0;
function reanalyzePhotos() {
  clearTimeout(reanalyzeTimer);
  if (!app.photos.length) return;
  reanalyzeTimer = setTimeout(async () => {
    await Promise.all(app.photos.map((p) => analyzePhoto(p)));
    rankPhotos();
  }, 150);
}

function clearPhotos() {
  for (const p of app.photos) URL.revokeObjectURL(p.url);
  app.photos = [];
  $('photos').replaceChildren();
  rankPhotos();
}

// ---- the atlas -----------------------------------------------------------------------------------------
async function openAtlas() {
  clearError();
  readControls();
  const l = currentLayer();
  if (!l) throw new Error('choose a layer first');
  $('atlas-cancel').disabled = false;
  $('atlas-open').disabled = true;
  const base = { ...app.state, objective: 'channel', negative: false, size: 64, steps: 96, batch: 1, diversity: 0 };
  try {
    await app.atlas.open({
      modelKey: app.modelKey, sha256: app.info.sha256, layer: l.name, channels: l.shape[3], size: 64,
      options: (c) => renderOptions({ ...base, channel: c }),
    });
  } finally {
    $('atlas-open').disabled = false;
    $('atlas-cancel').disabled = !app.atlas.running;
  }
}

// ---- drag and drop ----------------------------------------------------------------------------------------
function routeFiles(files, zone) {
  const list = [...files];
  const models = list.filter((f) => zone === 'model' || (zone !== 'photos' && /\.tflite$/i.test(f.name)));
  const photos = list.filter((f) => !models.includes(f));
  if (models.length) guard(loadOwnModel)(models[0]);
  if (photos.length) guard(addPhotos)(photos);
}

function bindDrop() {
  const zoneOf = (t) => (t.closest?.('#model-drop') ? 'model' : t.closest?.('#photos-panel') ? 'photos' : null);
  document.addEventListener('dragover', (e) => {
    if (!e.dataTransfer?.types?.includes('Files')) return;
    e.preventDefault();
    document.querySelectorAll('.drop-target.over').forEach((el) => el.classList.remove('over'));
    e.target.closest?.('.drop-target')?.classList.add('over');
  });
  document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.querySelectorAll('.drop-target.over').forEach((el) => el.classList.remove('over')); });
  document.addEventListener('drop', (e) => {
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault();
    document.querySelectorAll('.drop-target.over').forEach((el) => el.classList.remove('over'));
    routeFiles(e.dataTransfer.files, zoneOf(e.target));
  });
}

// ---- wiring -------------------------------------------------------------------------------------------------
function bindControls() {
  const changed = () => { readControls(); showObjectiveFields(); updateUrl(); };
  $('controls').addEventListener('submit', (e) => { e.preventDefault(); guard(start)(); });
  $('controls').addEventListener('change', changed);
  $('model').addEventListener('change', guard(async () => {
    const key = $('model').value;
    if (!app.models.get(key)?.own) await loadCatalogModel(key);
    await useModel(key);
    updateUrl();
  }));
  $('model-file').addEventListener('change', () => {
    const f = $('model-file').files[0];
    $('model-file').value = '';
    if (f) guard(loadOwnModel)(f);
  });
  $('layer').addEventListener('change', () => { readControls(); onLayerChange(true); readControls(); updateUrl(); reanalyzePhotos(); });
  $('layers').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-layer]');
    if (!b) return;
    $('layer').value = b.dataset.layer;
    $('layer').dispatchEvent(new Event('change', { bubbles: true }));
    $('layer').focus();
  });
  $('channel').addEventListener('input', () => {
    $('channel-slider').value = $('channel').value;
    readControls();
    reanalyzePhotos();
  });
  $('channel-slider').addEventListener('input', () => {
    $('channel').value = $('channel-slider').value;
    readControls();
    updateUrl();
    reanalyzePhotos();
  });
  $('class').addEventListener('input', showObjectiveFields);
  $('seed-random').addEventListener('click', () => {
    $('seed').value = Math.floor(Math.random() * 1e6);
    changed();
  });
  $('start').addEventListener('click', guard(start));
  for (const a of ['pause', 'resume', 'cancel', 'continue']) $(a).addEventListener('click', guard(() => control(a)));
  $('export-png').addEventListener('click', guard(exportPng));
  $('export-manifest').addEventListener('click', guard(exportManifest));
  $('copy-link').addEventListener('click', guard(copyLink));
  $('smooth').addEventListener('change', () => $('canvas').classList.toggle('smooth', $('smooth').checked));
  $('error-close').addEventListener('click', clearError);
  $('photo-file').addEventListener('change', () => {
    const files = [...$('photo-file').files];
    $('photo-file').value = '';
    guard(addPhotos)(files);
  });
  $('photos-clear').addEventListener('click', clearPhotos);
  $('atlas-open').addEventListener('click', guard(openAtlas));
  $('atlas-cancel').addEventListener('click', () => { app.atlas.cancel(); $('atlas-cancel').disabled = true; });
  bindDrop();
}

async function main() {
  setRunState('idle');
  app.pool = sharedPool();
  app.pool.addEventListener('crash', (e) => {
    const d = e.detail;
    showError(d.restarted
      ? `An engine worker crashed and was restarted (${d.message}). The page keeps working; anything it was doing must be started again.`
      : `An engine worker keeps crashing and was stopped: ${d.message}`);
  });
  app.atlas = new Atlas({
    pool: app.pool, grid: $('atlas-grid'), status: $('atlas-status'), onOpen: openChannel,
    onError: (e) => showError(`atlas: ${e.message}`),
  });
  bindControls();

  const res = await fetch(new URL('catalog.json', MODELS));
  if (!res.ok) throw new Error(`cannot load models/catalog.json: HTTP ${res.status} (run npm start, which lays out the models)`);
  app.catalog = await res.json();
  try {
    app.labels = (await (await fetch(new URL(app.catalog.labels, MODELS))).text()).split('\n').map((s) => s.trim());
    if (app.labels.at(-1) === '') app.labels.pop();
  } catch {
    app.labels = [];
  }
  for (const m of app.catalog.models) $('model').append(new Option(m.title, m.id));

  const linked = hasState(location.search);
  const want = readState(location.search);
  const autostart = new URLSearchParams(location.search).get('autostart') !== '0';
  const linkedChannel = new URLSearchParams(location.search).has('ch');
  app.state = { ...want };
  let modelId = want.model || app.catalog.default;
  if (!app.catalog.models.some((m) => m.id === modelId)) {
    showError(want.model === 'file' || want.model.startsWith('file:')
      ? 'This link was made with a model file of its own: open that .tflite to reproduce it (showing the default model meanwhile).'
      : `unknown model "${want.model}": showing ${app.catalog.default} instead`);
    modelId = app.catalog.default;
  }
  $('model').value = modelId;
  const info = app.pool.ready.then((i) => { $('engine-info').textContent = `engine ${i.version}, ${i.size} worker${i.size > 1 ? 's' : ''}${i.simd ? ', SIMD' : ''}`; });
  await loadCatalogModel(modelId);
  await useModel(modelId, { layer: want.layer || undefined, channel: linkedChannel ? want.channel : undefined });
  await info.catch(() => {});
  document.body.dataset.ready = '1';
  setRunState('idle');
  if (linked) {
    const C = currentLayer()?.shape[3];
    if (want.objective !== 'class' && C !== undefined && want.channel >= C) {
      showError(`channel ${want.channel} out of range: layer ${app.state.layer} has channels 0..${C - 1}`);
      return;
    }
    updateUrl();
    if (autostart) await start();
  } else {
    updateUrl();
    say('Choose what to visualize and press Start.');
  }
}

window.featviz = {
  get pool() { return app.pool; },
  get state() { return app.state; },
  get job() { return app.job; },
  start: () => start(),
};

main().catch((e) => {
  showError(e);
  setRunState('error');
});
