// prior.js — the page's learned prior (src/prior.h): which prior.bin the renders
// read when the prior weight is above 0 — the one shipped with the page (fitted on
// the store's photos by scripts/setup.sh: models/prior-store.bin) or one fitted here,
// in a worker, on the photos open in the photos panel (progress, cancel) — and saving it
// (#prior-download) under the name a render's manifest records, so that
// `featviz render --manifest` finds it beside the manifest and gives the page's bytes.
//
//   const prior = new PriorPanel({ pool, photos: () => photos.bytes() });
//   const p = await prior.current();   // { name, bytes } for pool.render(..., { prior: p }), or null
//
// Elements: #prior-source (select: store | photos), #prior-fit, #prior-cancel, #prior-download (buttons),
// #prior-progress (progress), #prior-status (text; data-state idle|fitting|done|cancelled|saved|error).
import { $, download, guard } from './messages.js';
import { SHIPPED_PRIOR_NAME } from '../wasm/prior-fit.js';

const SHIPPED = new URL(`../models/${SHIPPED_PRIOR_NAME}`, import.meta.url);

export class PriorPanel {
  constructor({ pool, photos }) {
    this.pool = pool;
    this.photos = photos;
    this.shipped = null; // Promise of its bytes
    this.mine = null;    // { name, bytes, sha256 } fitted here
    this.job = null;
    $('prior-fit').addEventListener('click', () => this.fit());
    $('prior-cancel').addEventListener('click', () => this.job?.cancel());
    $('prior-download').addEventListener('click', guard(() => this.save()));
  }

  status(text, state) {
    const el = $('prior-status');
    el.textContent = text;
    el.dataset.state = state;
  }

  /** The prior the next render reads, or null (an error says why in #prior-status). */
  async current() {
    if ($('prior-source').value === 'photos' && this.mine) return { name: this.mine.name, bytes: this.mine.bytes };
    this.shipped ??= fetch(SHIPPED).then(async (res) => {
      if (!res.ok) throw new Error(`cannot load models/${SHIPPED_PRIOR_NAME}: HTTP ${res.status} (bash scripts/setup.sh makes it)`);
      return new Uint8Array(await res.arrayBuffer());
    });
    try {
      return { name: SHIPPED_PRIOR_NAME, bytes: await this.shipped };
    } catch (e) {
      this.shipped = null;
      this.status(e.message, 'error');
      return null;
    }
  }

  /** Saves the chosen prior's bytes under the name a render's manifest records of it. */
  async save() {
    const p = await this.current();
    if (!p) return;
    download(p.bytes, p.name, 'application/octet-stream');
    this.status(`Saved ${p.name}: put it beside a manifest that names it, and \`featviz render --manifest\` gives the same PNG.`, 'saved');
  }

  async fit() {
    const photos = this.photos();
    const n = Object.keys(photos).length;
    if (!n) {
      this.status('Open photos in the photos panel first: the prior is fitted on them.', 'error');
      return;
    }
    const bar = $('prior-progress');
    bar.hidden = false;
    bar.value = 0;
    $('prior-fit').disabled = true;
    $('prior-cancel').hidden = false;
    this.status(`Fitting on ${n} photo${n > 1 ? 's' : ''}…`, 'fitting');
    this.job = this.pool.fitPrior(photos, {}, {
      onProgress: (p) => {
        bar.value = p.iteration / p.iterations;
        this.status(`EM ${p.iteration}/${p.iterations}: log-likelihood ${p.loglik.toFixed(1)} per patch`, 'fitting');
      },
    });
    try {
      const r = await this.job.finished;
      if (r.cancelled) {
        this.status('Cancelled; the renders keep the prior they had.', 'cancelled');
      } else {
        this.mine = { name: r.name, bytes: r.bytes, sha256: r.sha256 };
        const opt = $('prior-source').querySelector('option[value="photos"]');
        opt.disabled = false;
        $('prior-source').value = 'photos';
        this.status(`Fitted on ${n} photo${n > 1 ? 's' : ''} (sha256 ${r.sha256.slice(0, 12)}…); renders with a prior weight use it, ` +
          `and "download prior.bin" saves it as ${this.mine.name}.`, 'done');
      }
    } catch (e) {
      this.status(e.message, 'error');
    } finally {
      this.job = null;
      bar.hidden = true;
      $('prior-fit').disabled = false;
      $('prior-cancel').hidden = true;
    }
  }
}
