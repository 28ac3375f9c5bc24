// photos.js — the real-photos panel: the user's photos classified, the selected
// channel's activation drawn over each as a heat map, the layer's channels that
// fire most on each (a click visualizes one), and several photos ranked by the
// channel. Every number comes from the engine (pool.analyze); a channel out of
// range is the engine's to refuse, and its message shows on the photo. From a
// photo, activation space: "what it activates here" renders the direction of its
// mean activation at the layer (onDirection), and "caricature" renders, beside
// the photo, an image whose activations at the layer match the photo's
// (Lucid's caricature: caricature(L, photo, cossim=1)).
//
//   const photos = new Photos({ pool, current: () => ({ modelKey, layer, channel, labels, state }), onOpen: (c) => …,
//                               onDirection: (name) => … });
//   await photos.add(fileList);     // analyzes and ranks the new photos
//   photos.reanalyze();             // after the model, layer or channel changed (debounced)
//   photos.clear();
//
// Elements: #photos (li.photo[data-name] per photo, with img, canvas.heat, ol.predictions,
// .top-channels > button[data-channel][data-testid=top-channel], .mean, button.photo-direction,
// button.photo-caricature, canvas.caricature[data-step][data-state], .caricature-label),
// #predictions (the top-5 list of the photo opened last), #photos-rank.
import { $, showError, clearError } from './messages.js';
import { CODE, STATUS, renderOptions, drawBatch } from '../wasm/options.js';

let photoSeq = 0;

export class Photos {
  /** current() → { modelKey, layer: { name, shape } | undefined, channel, labels: Labels }. */
  constructor({ pool, current, onOpen, onDirection }) {
    this.pool = pool;
    this.current = current;
    this.onOpen = onOpen;
    this.onDirection = onDirection;
    this.list = [];
    this.timer = 0;
  }

  get count() { return this.list.length; }

  /** The open photos' bytes by name, for renders whose objective names a photo. */
  bytes() { return Object.fromEntries(this.list.map((p) => [p.name, p.bytes])); }

  async add(files) {
    clearError();
    const added = [...files];
    if (!added.length) return;
    for (const file of added) {
      const p = { id: ++photoSeq, name: file.name, bytes: new Uint8Array(await file.arrayBuffer()), url: URL.createObjectURL(file) };
      p.el = this.card(p);
      this.list.push(p);
      $('photos').append(p.el);
    }
    // #predictions: the list of the photo opened last
    document.querySelectorAll('#photos ol.predictions').forEach((ol) => ol.removeAttribute('id'));
    this.list.at(-1).el.querySelector('ol.predictions').id = 'predictions';
    await Promise.all(this.list.slice(-added.length).map((p) => this.analyze(p)));
    this.rank();
  }

  card(p) {
    const li = document.createElement('li');
    li.className = 'photo';
    li.dataset.name = p.name;
    li.innerHTML = `<div class="photo-pair"><div class="photo-box"><img alt=""><canvas class="heat" aria-hidden="true"></canvas><span class="rank"></span></div>
      <figure class="caricature-box" hidden><canvas class="caricature" data-step="0" aria-label="caricature"></canvas>
      <figcaption class="caricature-label small muted"></figcaption></figure></div>
      <div class="photo-info"><h3></h3><ol class="predictions"></ol><p class="mean small"></p>
      <p class="small muted">channels of this layer that fire most:</p><div class="top-channels"></div>
      <div class="photo-actions"><button type="button" class="photo-direction">visualize what this photo activates at this layer</button>
      <button type="button" class="photo-caricature">caricature</button></div>
      <p class="photo-error error small" role="alert" hidden></p></div>`;
    const img = li.querySelector('img');
    img.src = p.url;
    img.alt = p.name;
    img.addEventListener('load', () => li.querySelector('.photo-box').style.setProperty('--ratio', `${img.naturalWidth} / ${img.naturalHeight}`));
    li.querySelector('h3').textContent = p.name;
    li.querySelector('.top-channels').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-channel]');
      if (b) this.onOpen(Number(b.dataset.channel));
    });
    li.querySelector('.photo-direction').addEventListener('click', () => this.onDirection(p.name));
    li.querySelector('.photo-caricature').addEventListener('click', () => this.caricature(p).catch((e) => {
      const err = li.querySelector('.photo-error');
      err.textContent = e.message;
      err.hidden = false;
      showError(`${p.name}: ${e.message}`);
    }));
    return li;
  }

  /** Renders the photo's caricature at the current layer beside it (the current size, steps and seed). */
  async caricature(p) {
    const { modelKey, layer, state } = this.current();
    if (!layer) throw new Error('choose a layer first');
    p.caricatureJob?.cancel().catch(() => {}).finally(() => p.caricatureJob?.free());
    const cv = p.el.querySelector('canvas.caricature'), label = p.el.querySelector('.caricature-label');
    p.el.querySelector('.caricature-box').hidden = false;
    cv.dataset.state = 'rendering';
    const options = renderOptions({ ...state, expr: '', objective: 'caricature', photo: p.name, layer: layer.name, batch: 1, diversity: 0 });
    const job = this.pool.render(modelKey, options, {
      photos: { [p.name]: p.bytes },
      onFrame: (f) => {
        if (p.caricatureJob !== job) return;
        drawBatch(cv, f);
        cv.dataset.step = String(f.step);
        label.textContent = `caricature at ${layer.name.split('/').slice(-2).join('/')}: step ${f.step} / ${job.planned}`;
      },
      onEnd: (e) => {
        if (p.caricatureJob !== job) return;
        cv.dataset.state = e.error ? 'error' : 'done';
        if (e.error) label.textContent = e.error.message;
      },
    });
    p.caricatureJob = job;
    await job.started;
    label.title = job.options.objective;
  }

  async analyze(p) {
    const token = (p.token = {});
    const { modelKey, layer, channel } = this.current();
    if (!layer || !Number.isInteger(channel)) return; // an empty channel field: nothing to ask yet
    const err = p.el.querySelector('.photo-error');
    for (let attempt = 0; ; attempt++) {
      try {
        const a = await this.pool.analyze(modelKey, p.bytes, { layer: layer.name, channel, k: 10, top: 5 });
        if (p.token !== token) return;
        p.analysis = a;
        p.error = null;
        err.hidden = true;
        break;
      } catch (e) {
        if (p.token !== token) return;
        if (e.code === CODE.CRASHED && attempt === 0) continue;
        p.analysis = null;
        p.error = e;
        err.textContent = e.code === STATUS.BAD_IMAGE ? `${p.name} is not an image the engine can read: ${e.message}` : e.message;
        err.hidden = false;
        showError(`${p.name}: ${e.message}`);
        break;
      }
    }
    this.fill(p);
  }

  fill(p) {
    const a = p.analysis, li = p.el;
    const preds = li.querySelector('ol.predictions');
    if (!a) {
      preds.replaceChildren();
      li.querySelector('.top-channels').replaceChildren();
      li.querySelector('.mean').textContent = '';
      return;
    }
    const { labels, channel: current } = this.current();
    preds.replaceChildren(...a.top.map(({ index, prob }) => {
      const item = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'label';
      name.textContent = labels.short(index);
      name.title = labels.name(index);
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
      b.className = 'chip' + (channel === current ? ' current' : '');
      b.dataset.channel = String(channel);
      b.dataset.testid = 'top-channel';
      b.textContent = String(channel);
      b.title = `channel ${channel}: mean ${mean.toFixed(3)} — visualize it`;
      b.setAttribute('aria-label', `visualize channel ${channel} (mean ${mean.toFixed(2)})`);
      return b;
    }));
  }

  /** Heat maps share one colour scale (the largest activation over all photos) so they compare. */
  drawHeatmaps() {
    let hi = 0;
    for (const p of this.list) if (p.analysis) hi = Math.max(hi, p.analysis.heat.max);
    for (const p of this.list) {
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

  rank() {
    this.drawHeatmaps();
    const ok = this.list.filter((p) => p.analysis);
    const { layer, channel } = this.current();
    if (this.list.length >= 2 && ok.length) {
      const sorted = [...this.list].sort((a, b) => (b.analysis?.mean ?? -Infinity) - (a.analysis?.mean ?? -Infinity));
      sorted.forEach((p, i) => {
        p.el.querySelector('.rank').textContent = p.analysis ? `#${i + 1}` : '';
        $('photos').append(p.el);
      });
      $('photos-rank').textContent = `Ranked by channel ${channel} of ${layer?.name}: the photo it fires on most comes first.`;
    } else {
      this.list.forEach((p) => { p.el.querySelector('.rank').textContent = ''; });
      $('photos-rank').textContent = this.list.length ? `Heat map: channel ${channel} of ${layer?.name}.` : '';
    }
  }

  reanalyze() {
    clearTimeout(this.timer);
    if (!this.list.length) return;
    this.timer = setTimeout(async () => {
      await Promise.all(this.list.map((p) => this.analyze(p)));
      this.rank();
    }, 150);
  }

  clear() {
    for (const p of this.list) {
      URL.revokeObjectURL(p.url);
      p.caricatureJob?.cancel().catch(() => {}).finally(() => p.caricatureJob?.free());
    }
    this.list = [];
    $('photos').replaceChildren();
    this.rank();
  }
}

/** Black-body-like ramp: dark red → orange → yellow → white. */
function heatColour(t) {
  const r = Math.min(255, 80 + 400 * t), g = Math.max(0, Math.min(255, 420 * (t - 0.3))), b = Math.max(0, Math.min(255, 500 * (t - 0.7)));
  return [r, g, b];
}
