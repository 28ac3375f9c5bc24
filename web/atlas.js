// atlas.js — the layer atlas: every channel of a layer rendered as a small
// thumbnail, progressively, on the worker pool (as many renders at once as
// the pool has workers), cancellable. Finished thumbnails are kept in
// IndexedDB under (model sha256, layer, channel, options), so reopening a
// layer shows them at once and the atlas resumes where it stopped.
//
//   const atlas = new Atlas({ pool, grid, status, onOpen: (channel) => …, onError: (e) => … });
//   atlas.open({ modelKey, sha256, layer: 'MobilenetV2/expanded_conv_8/add', channels: 64,
//                options: (channel) => renderOptions });   // resolves when every thumbnail is there (or cancelled)
//   atlas.cancel();
//
// The grid gets one <button class="thumb" data-channel=c> per channel, each
// holding a <canvas data-channel=c> (size × size pixels) and the channel
// number; data-state on the button is 'pending' | 'running' | 'done' | 'error',
// and the grid's data-done / data-total count finished thumbnails.

const DB_NAME = 'featviz-atlas';
const STORE = 'thumbs';

// ---- IndexedDB (optional: without it the atlas still works, uncached) -------------
let dbPromise = null;
function db() {
  dbPromise ??= new Promise((ok) => {
    try {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => ok(req.result);
      req.onerror = () => ok(null);
      req.onblocked = () => ok(null);
    } catch {
      ok(null);
    }
  });
  return dbPromise;
}

async function getMany(keys) {
  const d = await db();
  if (!d) return keys.map(() => undefined);
  return new Promise((ok) => {
    const out = new Array(keys.length);
    let tx;
    try {
      tx = d.transaction(STORE, 'readonly');
    } catch {
      ok(out);
      return;
    }
    const st = tx.objectStore(STORE);
    keys.forEach((k, i) => { st.get(k).onsuccess = (e) => { out[i] = e.target.result; }; });
    tx.oncomplete = () => ok(out);
    tx.onerror = () => ok(out);
    tx.onabort = () => ok(out);
  });
}

async function put(key, value) {
  const d = await db();
  if (!d) return;
  await new Promise((ok) => {
    try {
      const tx = d.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put(value, key);
      tx.oncomplete = ok;
      tx.onerror = ok;
      tx.onabort = ok;
    } catch {
      ok();
    }
  });
}

/** The cache key of one thumbnail: everything that decides its pixels. */
export function thumbKey(sha256, layer, channel, options) {
  return `${sha256}|${layer}|${channel}|${JSON.stringify(options)}`;
}

// ---- the atlas -------------------------------------------------------------------------------
export class Atlas {
  constructor({ pool, grid, status, onOpen, onError }) {
    this.pool = pool;
    this.grid = grid;
    this.status = status;
    this.onOpen = onOpen;
    this.onError = onError;
    this.gen = 0;
    this.jobs = new Set();
    this.running = false;
    this.layer = null;
    grid.addEventListener('click', (e) => {
      const b = e.target.closest('button.thumb');
      if (b) this.onOpen?.(Number(b.dataset.channel));
    });
  }

  /** Stops rendering; finished thumbnails stay (and stay cached). */
  cancel() {
    if (!this.running) return;
    this.gen++;
    this.running = false;
    for (const job of this.jobs) job.cancel().catch(() => {}).finally(() => job.free());
    this.jobs.clear();
    this.grid.querySelectorAll('button.thumb[data-state="running"]').forEach((b) => { b.dataset.state = 'pending'; });
    this.say(`Stopped: ${this.done} of ${this.total} channels rendered. Open the atlas again to resume.`);
    this.grid.dataset.running = 'false';
  }

  /** Empties the grid (e.g. another layer or model was chosen). */
  clear() {
    this.cancel();
    this.grid.replaceChildren();
    this.grid.dataset.done = '0';
    this.grid.dataset.total = '0';
    this.layer = null;
    this.say('');
  }

  say(text) { if (this.status) this.status.textContent = text; }

  async open({ modelKey, sha256, layer, channels, options, size = 64 }) {
    this.cancel();
    const gen = ++this.gen;
    this.running = true;
    this.layer = layer;
    this.total = channels;
    this.done = 0;
    this.grid.dataset.running = 'true';
    this.grid.dataset.total = String(channels);
    this.grid.style.setProperty('--thumb', `${size}px`);

    const cells = [];
    const frag = document.createDocumentFragment();
    for (let c = 0; c < channels; c++) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'thumb';
      b.dataset.channel = String(c);
      b.dataset.state = 'pending';
      b.title = `channel ${c}: open its visualization`;
      b.setAttribute('aria-label', `channel ${c}`);
      const cv = document.createElement('canvas');
      cv.width = cv.height = size;
      cv.dataset.channel = String(c);
      const label = document.createElement('span');
      label.textContent = String(c);
      b.append(cv, label);
      frag.append(b);
      cells.push(b);
    }
    this.grid.replaceChildren(frag);

    // cached thumbnails first, all at once
    const opts = Array.from({ length: channels }, (_, c) => options(c));
    const keys = opts.map((o, c) => thumbKey(sha256, layer, c, o));
    const cached = await getMany(keys);
    if (gen !== this.gen) return;
    const todo = [];
    cached.forEach((v, c) => {
      if (v && v.rgba && v.size) {
        this.draw(cells[c], new Uint8ClampedArray(v.rgba), v.size);
        this.finish(cells[c], v.objective);
      } else {
        todo.push(c);
      }
    });
    const fromCache = channels - todo.length;
    this.progress(fromCache);

    // then the missing ones, as many at once as there are workers
    let failures = 0;
    const runOne = async () => {
      while (todo.length && gen === this.gen) {
        const c = todo.shift();
        const cell = cells[c];
        cell.dataset.state = 'running';
        const job = this.pool.render(modelKey, opts[c], {
          frameInterval: 200,
          onFrame: (f) => { if (gen === this.gen) this.draw(cell, new Uint8ClampedArray(f.rgba), f.size); },
        });
        this.jobs.add(job);
        try {
          const end = await job.finished;
          if (gen !== this.gen || end.cancelled) break;
          const f = job.lastFrame;
          const rgba = new Uint8Array(f.rgba).slice(0, f.size * f.size * 4);
          this.finish(cell, end.objective);
          this.progress(fromCache);
          await put(keys[c], { rgba: rgba.buffer, size: f.size, objective: end.objective });
        } catch (e) {
          if (gen !== this.gen) break;
          cell.dataset.state = 'error';
          cell.title = `channel ${c}: ${e.message}`;
          if (e.code === 'crashed' && !cell.dataset.retried) {
            cell.dataset.retried = '1';
            todo.unshift(c); // one more try on the restarted worker
          } else if (++failures >= 3 && this.done === fromCache) {
            this.onError?.(e); // every thumbnail fails: the options are wrong, stop
            this.cancel();
            break;
          }
        } finally {
          this.jobs.delete(job);
          job.free();
        }
      }
    };
    await Promise.all(Array.from({ length: this.pool.size }, runOne));
    if (gen === this.gen) {
      this.running = false;
      this.grid.dataset.running = 'false';
      this.say(`${this.done} of ${channels} channels of ${layer}` + (fromCache ? ` (${fromCache} from the cache)` : '') + '. Click one to open it.');
    }
  }

  progress(fromCache) {
    this.grid.dataset.done = String(this.done);
    this.say(`Rendering the atlas: ${this.done} of ${this.total} channels` + (fromCache ? ` (${fromCache} from the cache)` : '') + '…');
  }

  finish(cell, objective) {
    cell.dataset.state = 'done';
    if (Number.isFinite(objective)) cell.title = `channel ${cell.dataset.channel} (objective ${objective.toFixed(3)}): open its visualization`;
    this.done++;
  }

  draw(cell, rgba, size) {
    const cv = cell.firstChild;
    if (cv.width !== size) cv.width = cv.height = size;
    cv.getContext('2d').putImageData(new ImageData(rgba.subarray(0, size * size * 4), size, size), 0, 0);
  }
}
