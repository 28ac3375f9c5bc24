// pairs.js — side by side: two renders of the current settings that differ in one
// thing, started together on the shared pool (one per worker when there are two):
// neuron vs channel of the same unit, the basis direction of a channel vs a random
// direction of the layer, and the objective vs its negative. Each caption is the
// canonical expression the engine rendered.
//
//   const pairs = new Pairs({ pool, current: () => ({ modelKey, state, photos }) });
//   pairs.bind();                         // #pair-neuron, #pair-direction, #pair-sign
//   await pairs.run('neuron');            // both ended (or failed)
//
// Elements: #pairs (data-state = idle | rendering | done | error), #pair-a, #pair-b
// (canvas[data-step]), #pair-a-label, #pair-b-label, #pairs-status.
import { $ } from './messages.js';
import { renderOptions, objectiveTerm, drawBatch } from '../wasm/options.js';

/** The two objectives of a pair, from the page's state (term objects or expressions). */
function objectives(kind, s) {
  const unit = { ...s, expr: '' };
  if (kind === 'neuron') {
    return [objectiveTerm({ ...unit, objective: 'neuron', x: null, y: null }), objectiveTerm({ ...unit, objective: 'channel' })];
  }
  if (kind === 'direction') {
    return [{ kind: 'direction', layer: s.layer, unit: s.channel }, { kind: 'direction', layer: s.layer, direction_seed: s.seed }];
  }
  const main = s.expr || objectiveTerm(s); // kind 'sign'
  return [main, typeof main === 'string' ? { expr: main, weight: -1 } : { ...main, weight: -main.weight }];
}

export class Pairs {
  constructor({ pool, current }) {
    this.pool = pool;
    this.current = current;
    this.jobs = [];
  }

  async run(kind) {
    const { modelKey, state, photos } = this.current();
    for (const j of this.jobs) j.cancel().catch(() => {}).finally(() => j.free());
    $('pairs').dataset.state = 'rendering';
    $('pairs-status').textContent = 'Rendering the pair…';
    const two = this.pool.size > 1;
    const jobs = objectives(kind, state).map((main, i) => {
      const side = i ? 'b' : 'a';
      $(`pair-${side}-label`).textContent = '…';
      const job = this.pool.render(modelKey, renderOptions(state, main), {
        worker: two ? i : undefined, photos,
        onFrame: (f) => {
          drawBatch($(`pair-${side}`), f);
          $(`pair-${side}`).dataset.step = String(f.step);
        },
      });
      job.started.then(() => { $(`pair-${side}-label`).textContent = job.options.objective; }, () => {});
      return job;
    });
    this.jobs = jobs;
    try {
      await Promise.all(jobs.map((j) => j.finished));
      if (this.jobs !== jobs) return;
      $('pairs').dataset.state = 'done';
      $('pairs-status').textContent = `Done: ${jobs[0].step} steps each${two ? ', on two workers at once' : ''}.`;
    } catch (e) {
      if (this.jobs !== jobs) return;
      $('pairs').dataset.state = 'error';
      $('pairs-status').textContent = e.message;
      throw e;
    }
  }

  bind(guard) {
    for (const kind of ['neuron', 'direction', 'sign']) $(`pair-${kind}`).addEventListener('click', guard(() => this.run(kind)));
  }
}
