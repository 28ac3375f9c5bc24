// app.js — the featviz page's glue: the catalog and the model in use, the URL,
// drag and drop, and the panels wired together. Each feature has its own file:
// controls.js (the form and the render it starts), photos.js (the real-photos
// panel), atlas.js (the layer atlas); wasm/options.js holds the rules they share
// (render options, URL state, labels, manifest, errors). The engine runs in Web
// Workers (wasm/pool.js, wasm/worker.js); the page only moves bytes and draws.
//
// ---- element ids (stable: the browser tests use them) ------------------------------------
// state on <body>:  data-state = 'idle' | 'rendering' | 'paused' | 'done' | 'error'
//                   data-threads = the threads worker 0's engine renders on (#engine-info says why fewer)
//                   ('idle' also after a cancel; the image stays exportable)
//                   data-ready = '1' once the engine and the model are loaded
//                   data-model = the loaded model's key (catalog id, or 'file:N' for an opened file)
// model:    #model (select: catalog ids; opened files as 'file:N'), #model-file (file input,
//           .onnx, .tflite), #model-drop (drop zone), #model-info
// input:    #input-preset (auto|imagenet|caffe|0:1|-1:1|0:255), #input-bgr (swap the order),
//           #input-info (what was chosen and why; data-guess = '1' for a guess, data-source,
//           data-label = the preset as text: "0:255 --bgr")
// what:     #layer (select, value = layer name), #layers (table of all layers), #channel (number),
//           #layer-info (full name · op · shape), #channel-slider (range), #channel-count ("of 64 (0–63)"),
//           #objective (select: channel|neuron|layer|class|direction|caricature), #negative (checkbox),
//           #neuron-x, #neuron-y (empty = centre), #class (text + datalist #class-list:
//           "macaw (89)" or a name), #class-name, #photo-fields > #photo-name, #photo-clear
// expression: #expression, #expression-error, #expression-mode, #terms, #term-add, #terms-clear (objective.js)
// params:   #batch, #diversity, #interp (aligned interpolation: to channel; empty = off), #shared,
//           #param (fft|pixel|cppn|laplacian), #cppn-size, #decorrelate, #transforms, #alpha, #alpha-blur, #l1, #tv, #blur,
//           #prior (the learned prior's weight; which prior: web/prior.js, #prior-source ...),
//           #size, #steps, #lr, #seed, #seed-random
// run:      #start, #pause, #resume, #cancel, #continue + #continue-steps (Enter in a control starts too)
// output:   #canvas (data-step = the step drawn, data-threads = the render's threads; a batch is a grid like the PNG's), #progress
//           (<progress>, value = step, max = planned), #step-label, #objective-value, #plot,
//           #export-png, #export-manifest, #export-movie + #movie-every (downloads), #copy-link, #smooth,
//           #backdrop (checker|black|white: behind a transparent render, on #canvas-box), #status,
//           #strip-box > #strip[data-frame], #strip-play, #strip-label (a batch played frame by frame: strip.js)
// pairs:    #pairs[data-state], #pair-neuron, #pair-direction, #pair-sign, #pair-a, #pair-b, #pair-a-label,
//           #pair-b-label, #pairs-status (pairs.js)
// errors:   #error (role=alert; hidden when there is none) with #error-text, #error-close
// photos:   #photo-file (file input, multiple), #photos-panel (drop zone), #photos (list of
//           li.photo[data-name], each with img, canvas.heat, ol.predictions, .top-channels >
//           button[data-channel][data-testid=top-channel], .mean, button.photo-direction, button.photo-caricature,
//           canvas.caricature[data-step][data-state]), #predictions (the top-5 list of
//           the photo opened last), #photos-rank, #photos-clear
// atlas:    #atlas-open, #atlas-cancel, #atlas-status, #atlas-grid (data-done, data-total,
//           data-running; children button.thumb[data-channel][data-state] > canvas[data-channel])
// window.featviz = { pool, state, job, start() } for tests and the console; a worker crash can
//           be simulated with featviz.pool.request('crash', {}, { worker: 0 }).
// URL: the query string holds the state (wasm/options.js); a link with state starts rendering at
//           once unless it has autostart=0.
import { sharedPool } from '../wasm/pool.js';
import { Catalog, Labels, readQuery, hasQuery, findLayer, defaultLayer, isModelFile, MODEL_EXTENSIONS, renderOptions } from '../wasm/options.js';
import { $, showError, clearError, say, guard } from './messages.js';
import { Controls } from './controls.js';
import { Photos } from './photos.js';
import { Atlas } from './atlas.js';
import { Objective } from './objective.js';
import { Pairs } from './pairs.js';
import { PriorPanel } from './prior.js';

const MODELS = new URL('../models/', import.meta.url);

// The page's shared state; the panels read it (controls.js documents what they use).
const app = {
  pool: null,
  catalog: null,           // wasm/options.js Catalog, with the store's labels
  labels: new Labels(),    // the class names of the model in use
  models: new Map(),       // key → { key, title, file, entry (catalog entry, or undefined), own, bytes (own files) }
  modelKey: null,
  info: null,              // pool model info: { sha256, layers, input, name }
  state: readQuery(''),
  job: null,
  ownCount: 0,
  photoBytes: () => photos.bytes(), // the open photos by name (an objective may name them)
};

const objective = new Objective(app, { onChange: () => controls.updateUrl() });
const controls = new Controls(app, {
  onLayer: () => { atlas.clear(); photos.reanalyze(); objective.show(); },
  onChannel: () => { photos.reanalyze(); objective.show(); },
  onObjective: () => objective.show(),
});
const photos = new Photos({
  pool: null,
  current: () => ({ modelKey: app.modelKey, layer: controls.currentLayer(), channel: app.state.channel, labels: app.labels, state: app.state }),
  onOpen: (c) => openChannel(c),
  onDirection: (name) => openPhotoDirection(name),
});
const pairs = new Pairs({ pool: null, current: () => ({ modelKey: app.modelKey, state: app.state, photos: photos.bytes() }) });
app.prior = new PriorPanel({ pool: null, photos: () => photos.bytes() });
let atlas = null;

// ---- models --------------------------------------------------------------------------------------
async function fetchText(name) {
  const res = await fetch(new URL(name, MODELS));
  if (!res.ok) {
    throw new Error(`cannot load models/${name}: HTTP ${res.status}` + (name === 'catalog.json' ? ' (run npm start, which lays out the models)' : ''));
  }
  return res.text();
}

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${decodeURIComponent(new URL(url).pathname)}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

// ---- the model's input: what a photo's pixels become (wasm/input.js decides in the worker) ----
/** The store's photos (catalog "photos", under models/photos/) and the user's open photos, for detection. */
async function detectionPhotos() {
  const store = await Promise.all(app.catalog.photos.map((n) => fetchBytes(new URL(`photos/${n}`, MODELS)).catch(() => null)));
  return [...Object.values(photos.bytes()), ...store.filter(Boolean)];
}

/** The loadModel fields that decide a model's input: the page's preset, the catalog's. */
const inputFields = (entry) => ({ input: app.state.input, bgr: app.state.bgr, preprocess: app.catalog.preprocess(entry) });

const catalogLoads = new Map(); // id + input → Promise of the pool's model info

async function loadCatalogModel(id) {
  const entry = app.catalog.entry(id);
  const key = `${id} ${app.state.input} ${app.state.bgr}`;
  if (!catalogLoads.has(key) || !app.pool.hasModel(id)) {
    $('model-info').textContent = `Loading ${entry.title}…`;
    const p = fetchBytes(new URL(entry.file, MODELS)).then(async (bytes) => app.pool.loadModel(id, bytes,
      { name: entry.file, labels: app.catalog.labels, ...inputFields(entry), photos: await detectionPhotos() }));
    for (const k of catalogLoads.keys()) if (k.startsWith(`${id} `)) catalogLoads.delete(k); // the pool holds one
    catalogLoads.set(key, p);
    p.catch(() => catalogLoads.delete(key));
  }
  await catalogLoads.get(key);
  app.models.set(id, { key: id, title: entry.title, file: entry.file, entry, own: false });
  return id;
}

async function loadOwnModel(file) {
  clearError();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const key = `file:${++app.ownCount}`;
  $('model-info').textContent = `Reading ${file.name}…`;
  try {
    await app.pool.loadModel(key, bytes, { name: file.name, labels: app.catalog.labels, ...inputFields(null), photos: await detectionPhotos() });
  } catch (e) {
    $('model-info').textContent = describeModel();
    throw new Error(`${file.name} cannot be used: ${e.message}`);
  }
  app.models.set(key, { key, title: file.name, file: file.name, own: true, bytes });
  $('model').append(new Option(`your file: ${file.name}`, key));
  $('model').value = key;
  await useModel(key);
  controls.updateUrl();
}

function describeModel() {
  if (!app.info) return '';
  const m = app.models.get(app.modelKey);
  const shape = app.info.input.shape;
  return `${m.title}: ${app.info.layers.length} layers, input ${shape[1]}×${shape[2]}, sha256 ${app.info.sha256.slice(0, 12)}…`;
}

/** Shows the model's input choice (#input-info) and the page's preset controls. */
function showInput() {
  const c = app.info.choice, el = $('input-info');
  el.textContent = c.note;
  el.dataset.guess = c.guess ? '1' : '0';
  el.dataset.source = c.source;
  el.dataset.label = c.label ?? '';
  $('input-preset').value = app.state.input;
  $('input-bgr').checked = app.state.bgr;
  $('input-bgr').disabled = app.state.input === 'auto';
}

/** The page's preset changed: the model is loaded again with it (its renders end). */
async function changeInput() {
  app.state.input = $('input-preset').value;
  app.state.bgr = app.state.input !== 'auto' && $('input-bgr').checked;
  const m = app.models.get(app.modelKey);
  $('input-info').textContent = 'Loading the model with that input…';
  if (m.own) {
    await app.pool.loadModel(m.key, m.bytes, { name: m.file, labels: app.catalog.labels, ...inputFields(null), photos: await detectionPhotos() });
  } else {
    await loadCatalogModel(m.key);
  }
  await useModel(m.key, { layer: app.state.layer, channel: app.state.channel });
  controls.updateUrl();
}

/** Makes `key` the page's model: layers, class list, photos, atlas. wanted: { layer, channel } from a link. */
async function useModel(key, wanted = {}) {
  app.modelKey = key;
  app.info = app.pool.modelInfo(key);
  app.labels = app.catalog.labelsFor(app.info.layers, app.info.labels);
  document.body.dataset.model = key;
  $('model-info').textContent = describeModel();
  showInput();
  controls.showModel();

  // the layer: what was asked for, else the catalog's suggestion, else a layer two thirds deep
  const layers = app.info.layers, m = app.models.get(key);
  let li = findLayer(layers, wanted.layer ?? '');
  if (wanted.layer && li < 0) showError(`unknown layer "${wanted.layer}" in ${m.title}: showing another layer instead`);
  if (li < 0) li = defaultLayer(layers, m.entry);
  const name = layers[li].name;
  app.state.layer = name;
  app.state.model = key;
  if (wanted.channel === undefined && m.entry?.suggested?.layer === name) app.state.channel = app.catalog.suggestedChannel(m.entry, name);
  controls.write();
  controls.layerChanged(false);
  atlas?.clear();
  photos.reanalyze();
  await objective.show();
}

/** Opens channel c of the current layer (from a photo or the atlas): a channel render at once. */
function openChannel(c) {
  controls.read();
  app.state.expr = '';
  app.state.channel = c;
  if (!['channel', 'neuron'].includes(app.state.objective)) app.state.objective = 'channel';
  controls.write();
  photos.reanalyze();
  controls.updateUrl();
  document.querySelector('.stage').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  guard(() => controls.start())();
}

/** Renders the direction of what photo `name` activates at the current layer (its mean activation). */
function openPhotoDirection(name) {
  controls.read();
  Object.assign(app.state, { expr: '', objective: 'direction', photo: name, negative: false });
  controls.write();
  objective.show();
  controls.updateUrl();
  document.querySelector('.stage').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  guard(() => controls.start())();
}

// ---- the atlas -----------------------------------------------------------------------------------------
async function openAtlas() {
  clearError();
  controls.read();
  const l = controls.currentLayer();
  if (!l) throw new Error('choose a layer first');
  $('atlas-cancel').disabled = false;
  $('atlas-open').disabled = true;
  const base = { ...app.state, expr: '', objective: 'channel', negative: false, size: 64, steps: 96, batch: 1, diversity: 0 };
  try {
    await atlas.open({
      modelKey: app.modelKey, sha256: app.info.sha256, layer: l.name, channels: l.shape[3], size: 64,
      options: (c) => renderOptions({ ...base, channel: c }),
    });
  } finally {
    $('atlas-open').disabled = false;
    $('atlas-cancel').disabled = !atlas.running;
  }
}

// ---- drag and drop ----------------------------------------------------------------------------------------
function routeFiles(files, zone) {
  const list = [...files];
  const models = list.filter((f) => zone === 'model' || (zone !== 'photos' && isModelFile(f.name)));
  const rest = list.filter((f) => !models.includes(f));
  if (models.length) guard(loadOwnModel)(models[0]);
  if (rest.length) guard((fs) => photos.add(fs))(rest);
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
function bind() {
  controls.bind();
  objective.bind();
  pairs.bind(guard);
  $('model').addEventListener('change', guard(async () => {
    const key = $('model').value;
    Object.assign(app.state, { input: 'auto', bgr: false }); // a preset chosen for one model is not another's
    if (!app.models.get(key)?.own) await loadCatalogModel(key);
    await useModel(key);
    controls.updateUrl();
  }));
  $('model-file').accept = [...MODEL_EXTENSIONS, 'application/octet-stream'].join(',');
  $('model-file').addEventListener('change', () => {
    const f = $('model-file').files[0];
    $('model-file').value = '';
    if (f) guard(loadOwnModel)(f);
  });
  $('input-preset').addEventListener('change', guard(changeInput));
  $('input-bgr').addEventListener('change', guard(changeInput));
  $('error-close').addEventListener('click', clearError);
  $('photo-file').addEventListener('change', () => {
    const files = [...$('photo-file').files];
    $('photo-file').value = '';
    guard((fs) => photos.add(fs))(files);
  });
  $('photos-clear').addEventListener('click', () => photos.clear());
  $('atlas-open').addEventListener('click', guard(openAtlas));
  $('atlas-cancel').addEventListener('click', () => { atlas.cancel(); $('atlas-cancel').disabled = true; });
  bindDrop();
}

async function main() {
  controls.setRunState('idle');
  // worker 0 renders on every core (the threads build; wasm/threads.js caps the count at what the
  // engine allows and falls back to one thread, with the reason, when the page is not
  // cross-origin isolated); the other workers stay single-threaded for photos, pairs and the atlas.
  // #engine-info and the status line say how many threads a render runs on
  app.pool = photos.pool = pairs.pool = app.prior.pool = sharedPool({ threads: navigator.hardwareConcurrency || 1 });
  app.pool.addEventListener('crash', (e) => {
    const d = e.detail;
    showError(d.restarted
      ? `An engine worker crashed and was restarted (${d.message}). The page keeps working; anything it was doing must be started again.`
      : `An engine worker keeps crashing and was stopped: ${d.message}`);
  });
  atlas = new Atlas({
    pool: app.pool, grid: $('atlas-grid'), status: $('atlas-status'), onOpen: openChannel,
    onError: (e) => showError(`atlas: ${e.message}`),
  });
  bind();

  app.catalog = await Catalog.load(fetchText);
  for (const m of app.catalog.models) $('model').append(new Option(m.title, m.id));

  const linked = hasQuery(location.search);
  const want = readQuery(location.search);
  const q = new URLSearchParams(location.search);
  const autostart = q.get('autostart') !== '0';
  app.state = { ...want };
  let modelId = want.model || app.catalog.default;
  if (!app.catalog.find(modelId)) {
    showError(want.model === 'file' || want.model.startsWith('file:')
      ? 'This link was made with a model file of its own: open that file to reproduce it (showing the default model meanwhile).'
      : `unknown model "${want.model}": showing ${app.catalog.default} instead`);
    modelId = app.catalog.default;
  }
  $('model').value = modelId;
  const info = app.pool.ready.then((i) => {
    document.body.dataset.threads = String(i.threads);
    $('engine-info').textContent = `engine ${i.version}, ${i.size} worker${i.size > 1 ? 's' : ''}${i.simd ? ', SIMD' : ''}, ` +
      `renders on ${i.threads} thread${i.threads > 1 ? 's' : ''}${i.threadsReason ? ` (${i.threadsReason})` : ''}`;
  });
  await loadCatalogModel(modelId);
  await useModel(modelId, { layer: want.layer || undefined, channel: q.has('ch') ? want.channel : undefined });
  await info.catch(() => {});
  document.body.dataset.ready = '1';
  controls.setRunState('idle');
  controls.updateUrl();
  if (linked) {
    if (autostart) await controls.start(); // a channel the layer lacks: the engine's message
  } else {
    say('Choose what to visualize and press Start.');
  }
}

window.featviz = {
  get pool() { return app.pool; },
  get state() { return app.state; },
  get job() { return app.job; },
  start: () => controls.start(),
};

main().catch((e) => {
  showError(e);
  controls.setRunState('error');
});
