// controls.js — the page's controls and the render they start: the form ⇄ the
// render state (wasm/options.js), the layer and class lists of the model in
// use, start / pause / resume / cancel / continue on the worker pool, the live
// canvas and the objective plot, and the exports (PNG, manifest, movie, link).
// The objective's expression and term list are objective.js's.
// Ranges (a channel the layer lacks, a size too large) are the engine's to
// judge: a refused render shows the engine's message.
//
//   const controls = new Controls(app, { onLayer: () => …, onChannel: () => … });
//   controls.bind();                  // once: the listeners of the form and the run buttons
//   controls.showModel();             // after app.info / app.labels changed: layer select, table, class list
//   controls.write(); controls.layerChanged(false);
//   await controls.start();           // renders app.state
//
// `app` is the page's shared state (app.js): { pool, state, info, labels, modelKey, models, job, photoBytes() }.
import { $, showError, clearError, say, guard, download } from './messages.js';
import { renderOptions, writeQuery, drawBatch, CODE, PARAM_LR, wantsPrior } from '../wasm/options.js';
import { Strip } from './strip.js';
import { CRASHED } from '../wasm/pool.js';
import { Movie } from '../wasm/movie.js';

const WORKER_TO_PAGE = { running: 'rendering', paused: 'paused', done: 'done', cancelled: 'idle', error: 'error' };

const num = (id) => { const v = $(id).value.trim(); return v === '' ? NaN : Number(v); };
const optInt = (id) => { const v = $(id).value.trim(); return v === '' ? null : Math.trunc(Number(v)); };

export class Controls {
  constructor(app, { onLayer, onChannel, onObjective }) {
    this.app = app;
    this.onLayer = onLayer;       // the layer changed (by the user)
    this.onChannel = onChannel;   // the channel changed
    this.onObjective = onObjective; // any objective control changed
    this.movie = null;            // the frames of the render in view (wasm/movie.js)
    this.plot = [];
    this.pending = null;
    const every = Math.trunc(num('movie-every'));
    this.movie = new Movie({ every: Number.isInteger(every) && every >= 1 ? every : 8 });          // the latest frame, drawn at the next animation frame
    this.raf = 0;
  }

  // ---- body state and buttons ----------------------------------------------------------------
  setRunState(s) {
    const job = this.app.job;
    document.body.dataset.state = s;
    const has = !!job && job.state !== 'crashed' && job.state !== 'starting';
    const ready = document.body.dataset.ready === '1';
    $('start').disabled = !ready;
    $('pause').disabled = s !== 'rendering';
    $('resume').disabled = s !== 'paused';
    $('cancel').disabled = !(s === 'rendering' || s === 'paused');
    $('continue').disabled = !has || !(s === 'done' || s === 'idle' || s === 'paused');
    $('export-png').disabled = !has;
    $('export-manifest').disabled = !has;
    $('export-movie').disabled = !has || !this.movie?.count;
  }

  // ---- the model's lists ------------------------------------------------------------------------
  /** Fills the layer select, the table of layers and the class list from app.info and app.labels. */
  showModel() {
    const layers = this.app.info.layers;
    $('layer').replaceChildren(...layers.map((l) => new Option(
      `${l.index} · ${l.name} · ${l.op} · ${l.shape.slice(1).join('×')}`, l.name)));
    $('layers').tBodies[0].replaceChildren(...layers.map((l) => {
      const tr = document.createElement('tr');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link';
      b.textContent = l.name;
      b.dataset.layer = l.name;
      for (const v of [String(l.index), b, l.op, l.shape.slice(1).join('×')]) {
        const td = document.createElement('td');
        td.append(v);
        tr.append(td);
      }
      return tr;
    }));
    $('class-list').replaceChildren(...this.app.labels.classes().slice(0, 5000).map(({ index, name }) => new Option(`${name} (${index})`)));
  }

  currentLayer() {
    return this.app.info?.layers.find((l) => l.name === this.app.state.layer);
  }

  // ---- controls ⇄ state ------------------------------------------------------------------------------
  read() {
    const s = this.app.state;
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
    s.alpha = $('alpha').checked;
    s.cppnSize = Math.trunc(num('cppn-size')) || 0;
    s.interp = optInt('interp');
    s.shared = $('shared').checked;
    s.alphaBlur = num('alpha-blur') || 0;
    s.l1 = num('l1') || 0;
    s.tv = num('tv') || 0;
    s.blur = num('blur') || 0;
    s.prior = num('prior') || 0;
    s.size = Math.trunc(num('size'));
    s.steps = Math.trunc(num('steps'));
    s.lr = num('lr');
    s.seed = Math.trunc(num('seed'));
    const cls = $('class').value.trim(); // a name or an index: the engine resolves it
    s.class = /^\d+$/.test(cls) ? Number(cls) : cls;
  }

  write() {
    const s = this.app.state;
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
    $('alpha').checked = s.alpha;
    $('cppn-size').value = s.cppnSize;
    $('interp').value = s.interp ?? '';
    $('shared').checked = s.shared;
    $('alpha-blur').value = s.alphaBlur;
    $('l1').value = s.l1;
    $('tv').value = s.tv;
    $('blur').value = s.blur;
    $('prior').value = s.prior;
    $('size').value = s.size;
    $('steps').value = s.steps;
    $('lr').value = s.lr;
    $('seed').value = s.seed;
    $('class').value = typeof s.class === 'number' ? (this.app.info ? `${this.app.labels.name(s.class)} (${s.class})` : '') : s.class;
    $('photo-name').textContent = s.photo ? `photo: ${s.photo}` : 'no photo (open one in the photos panel)';
    this.showObjectiveFields();
  }

  showObjectiveFields() {
    const o = $('objective').value;
    $('neuron-fields').hidden = o !== 'neuron';
    $('class-fields').hidden = o !== 'class';
    $('photo-fields').hidden = o !== 'direction' && o !== 'caricature';
    const noChannel = o === 'layer' || o === 'class' || o === 'direction' || o === 'caricature';
    $('channel').disabled = noChannel;
    $('channel-slider').disabled = noChannel;
    $('layer').disabled = o === 'class';
  }

  /** The layer's channel count and names; fromUser: a channel the new layer lacks goes back to 0. */
  layerChanged(fromUser) {
    const l = this.currentLayer();
    if (!l) return;
    const C = l.shape[3];
    $('channel').max = String(C - 1);
    $('channel-slider').max = String(C - 1);
    $('channel-count').textContent = `of ${C} (0–${C - 1})`;
    $('layer-info').textContent = `${l.name} · ${l.op} · ${l.shape.slice(1).join('×')}`;
    if (fromUser) {
      if (this.app.state.channel >= C) this.app.state.channel = 0;
      $('channel').value = this.app.state.channel;
    }
    $('channel-slider').value = this.app.state.channel;
    $('atlas-open').textContent = `Render the atlas of ${l.name.split('/').slice(-2).join('/')} (${C} channels)`;
  }

  updateUrl() {
    const app = this.app;
    const q = writeQuery({ ...app.state, model: app.models.get(app.modelKey)?.own ? 'file' : app.modelKey });
    history.replaceState(null, '', `${location.pathname}?${q}${location.hash}`);
  }

  // ---- rendering --------------------------------------------------------------------------------------
  async start() {
    const app = this.app;
    clearError();
    this.read();
    // what only the page knows: the engine judges every range and the expression, with its own message
    if (!app.state.expr && !this.currentLayer()) {
      this.setRunState('error');
      throw new Error(`unknown layer "${app.state.layer}"`);
    }
    this.updateUrl();
    // the prior panel's choice (web/prior.js), when the weight or the expression asks for a prior term
    const prior = wantsPrior(app.state) ? await app.prior.current() : null;
    const old = app.job;
    app.job = null;
    if (old) old.cancel().catch(() => {}).finally(() => old.free());
    const options = renderOptions(app.state);
    this.plot = [];
    this.pending = null;
    const every = Math.trunc(num('movie-every'));
    this.movie = new Movie({ every: Number.isInteger(every) && every >= 1 ? every : 8 });
    $('canvas').dataset.step = '0';
    $('progress').value = 0;
    $('step-label').textContent = 'starting…';
    $('objective-value').textContent = '—';
    const job = app.pool.render(app.modelKey, options, {
      onFrame: (f) => this.onFrame(job, f),
      onEnd: (e) => this.onEnd(job, e),
      worker: 0,                    // worker 0 is the threaded engine (web/app.js main)
      frameEvery: this.movie.every, // the movie's frames come at exact steps
      photos: app.photoBytes(),     // the photos the objective may name (photos panel)
      prior,
    });
    app.job = job;
    this.setRunState('rendering');
    say('Rendering…');
    await job.started.catch((e) => {
      if (app.job !== job) return;
      app.job = null;
      this.setRunState('error');
      throw e;
    });
    if (app.job === job) {
      this.setRunState(WORKER_TO_PAGE[job.state] ?? 'rendering');
      $('canvas').dataset.threads = String(job.threads);
      say(`Rendering on ${job.threads} thread${job.threads > 1 ? 's' : ''}…`);
    }
  }

  async control(action) {
    const job = this.app.job;
    if (!job) return;
    let r;
    if (action === 'continue') {
      clearError();
      r = await job.continue(Math.trunc(num('continue-steps'))); // 1..100000: the worker says so otherwise
    } else {
      r = await job[action]();
    }
    if (job !== this.app.job) return;
    this.setRunState(WORKER_TO_PAGE[r.state] ?? document.body.dataset.state);
    if (r.planned) $('progress').max = r.planned;
    if (action === 'pause') say(`Paused at step ${r.step}.`);
    if (action === 'resume' || action === 'continue') say('Rendering…');
  }

  onFrame(job, f) {
    if (job !== this.app.job) return;
    this.movie?.add(f);
    this.pending = f;
    this.plot.push([f.step, f.objective]);
    $('progress').max = Math.max(1, job.planned);
    $('progress').value = f.step;
    $('step-label').textContent = `step ${f.step} / ${job.planned}`;
    $('objective-value').textContent = Number.isFinite(f.objective) ? f.objective.toFixed(4) : '—';
    this.raf ||= requestAnimationFrame(() => this.drawPending());
  }

  drawPending() {
    this.raf = 0;
    const f = this.pending;
    this.pending = null;
    if (!f) return;
    drawBatch($('canvas'), f);
    (this.strip ||= new Strip()).show(f);
    $('canvas').dataset.step = String(f.step);
    drawPlot(this.plot);
  }

  onEnd(job, e) {
    if (job !== this.app.job) return;
    if (job.lastFrame) this.movie?.add(job.lastFrame, { last: true });
    this.drawPending(); // the final frame, before the state says so
    if (e.error) {
      this.setRunState('error');
      const crashed = e.error.code === CODE.CRASHED;
      showError(crashed ? `${CRASHED}: the render was lost at step ${e.step}. Press Start to render again.`
        : `${e.error.message}${job.step ? ' (the last good image can still be exported)' : ''}`);
      say(crashed ? 'The engine worker was restarted.' : 'Stopped by an error.');
    } else if (e.cancelled) {
      this.setRunState('idle');
      say(`Cancelled at step ${e.step}.`);
    } else {
      this.setRunState('done');
      say(`Done: ${e.step} steps, objective ${e.objective.toFixed(4)}.`);
    }
  }

  // ---- exports --------------------------------------------------------------------------------------
  fileBase() {
    const s = this.app.state;
    const what = s.expr ? 'expression' : s.objective === 'class' ? `class${s.class}`
      : `${s.layer.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}` + (['channel', 'neuron'].includes(s.objective) ? `-${s.channel}` : `-${s.objective}`);
    return `featviz-${what}${s.negative ? '-neg' : ''}-s${s.seed}`;
  }

  async exportPng() {
    const job = this.app.job;
    if (!job) throw new Error('nothing rendered yet: press Start first');
    const png = await job.png(-1);
    download(png, `${this.fileBase()}.png`, 'image/png');
    say(`Saved ${this.fileBase()}.png (step ${job.step}).`);
  }

  async exportMovie() {
    if (!this.movie?.count) throw new Error('no movie yet: press Start first');
    download(this.movie.gif(), `${this.fileBase()}.gif`, 'image/gif');
    say(`Saved ${this.fileBase()}.gif: ${this.movie.count} frames, one every ${this.movie.every} steps (steps ${this.movie.steps.at(0)}–${this.movie.steps.at(-1)}).`);
  }

  async exportManifest() {
    if (!this.app.job) throw new Error('nothing rendered yet: press Start first');
    const m = await this.app.job.manifest([`${this.fileBase()}.png`]);
    download(JSON.stringify(m, null, 2) + '\n', `${this.fileBase()}.json`, 'application/json');
    say(`Saved ${this.fileBase()}.json: \`featviz render --manifest ${this.fileBase()}.json\` gives the same PNG.`);
  }

  async copyLink() {
    this.updateUrl();
    try {
      await navigator.clipboard.writeText(location.href);
      say('Link copied.');
    } catch {
      say(`Link: ${location.href}`);
    }
  }

  // ---- listeners ---------------------------------------------------------------------------------------
  bind() {
    const changed = () => { this.read(); this.showObjectiveFields(); this.updateUrl(); this.onObjective(); };
    const start = guard(() => this.start());
    $('controls').addEventListener('submit', (e) => { e.preventDefault(); start(); });
    $('controls').addEventListener('change', changed);
    $('layer').addEventListener('change', () => {
      this.read();
      this.layerChanged(true);
      this.read();
      this.updateUrl();
      this.onLayer();
    });
    $('layers').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-layer]');
      if (!b) return;
      $('layer').value = b.dataset.layer;
      $('layer').dispatchEvent(new Event('change', { bubbles: true }));
      $('layer').focus();
    });
    $('channel').addEventListener('input', () => {
      $('channel-slider').value = $('channel').value;
      this.read();
      this.onChannel();
    });
    $('channel-slider').addEventListener('input', () => {
      $('channel').value = $('channel-slider').value;
      this.read();
      this.updateUrl();
      this.onChannel();
    });

    $('seed-random').addEventListener('click', () => {
      $('seed').value = Math.floor(Math.random() * 1e6);
      changed();
    });
    $('start').addEventListener('click', start);
    for (const a of ['pause', 'resume', 'cancel', 'continue']) $(a).addEventListener('click', guard(() => this.control(a)));
    $('export-png').addEventListener('click', guard(() => this.exportPng()));
    $('export-manifest').addEventListener('click', guard(() => this.exportManifest()));
    $('export-movie').addEventListener('click', guard(() => this.exportMovie()));
    $('photo-clear').addEventListener('click', () => { this.app.state.photo = ''; this.write(); changed(); });
    $('copy-link').addEventListener('click', guard(() => this.copyLink()));
    $('smooth').addEventListener('change', () => $('canvas').classList.toggle('smooth', $('smooth').checked));
    // a parameterization's own learning rate (PARAM_LR) replaces the last one's default, not a rate the user typed
    // an interpolation's frames are aligned by shared params unless the user says otherwise
    $('interp').addEventListener('change', () => { if ($('interp').value.trim() !== '') $('shared').checked = true; });
    // (this runs before the form's change handler reads the controls: state.param is still the last one)
    $('param').addEventListener('change', () => {
      if (num('lr') === PARAM_LR[this.app.state.param]) $('lr').value = PARAM_LR[$('param').value];
    });
    $('backdrop').addEventListener('change', () => { $('canvas-box').dataset.backdrop = $('backdrop').value; });
  }
}

/** The objective over the steps so far. */
function drawPlot(plot) {
  const cv = $('plot'), dpr = window.devicePixelRatio || 1;
  const W = cv.clientWidth || 280, H = cv.clientHeight || 64;
  if (cv.width !== Math.round(W * dpr)) { cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr); }
  const ctx = cv.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  const pts = plot.filter(([, v]) => Number.isFinite(v));
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

