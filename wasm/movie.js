// movie.js — the optimization as an animated GIF: frames (the render's images every N
// steps, laid out as the PNG's grid) encoded by the npm package gifenc (MIT, pure
// JavaScript, no eval: it runs in Node and under the page's Content-Security-Policy).
// Each frame gets its own 256-colour palette (gifenc's quantize), so the last frame is
// the final PNG's pixels mapped to that palette. The CLI (--movie) and the page ("save
// the movie") both use it.
//
//   const movie = new Movie({ every: 8 });
//   job.onFrame = (f) => movie.add(f);            // { step, size, batch, rgba } frames; others are skipped
//   movie.add(lastFrame, { last: true });         // the final step, whatever its number
//   const gif = movie.gif();                      // Uint8Array
//
// Served with the site: the page imports the encoder from node_modules/gifenc/dist
// (bin/serve.mjs serves that folder; another static host must too).
import { GIFEncoder, quantize, applyPalette } from '../node_modules/gifenc/dist/gifenc.esm.js';
import { gridPixels } from './options.js';

export class Movie {
  /** every: keep a frame each time the step is a multiple of it; delay: ms a frame shows. */
  constructor({ every = 8, delay = 80 } = {}) {
    if (!Number.isInteger(every) || every < 1) throw new RangeError(`a movie's frame interval must be a whole number of steps >= 1, got ${every}`);
    this.every = every;
    this.delay = delay;
    this.frames = []; // { step, w, h, rgba }
  }

  /** Keeps frame f if its step is a multiple of `every` (or last), once per step; returns whether it did. */
  add(f, { last = false } = {}) {
    if (!last && f.step % this.every !== 0) return false;
    if (this.frames.at(-1)?.step === f.step) return false;
    this.frames.push({ step: f.step, ...gridPixels(f) });
    return true;
  }

  get count() { return this.frames.length; }
  /** The steps of the frames kept, in order. */
  get steps() { return this.frames.map((f) => f.step); }

  /** The animated GIF (loops forever). */
  gif() {
    if (!this.frames.length) throw new Error('the movie has no frames yet');
    const enc = GIFEncoder();
    for (const { w, h, rgba } of this.frames) {
      const palette = quantize(rgba, 256);
      enc.writeFrame(applyPalette(rgba, palette), w, h, { palette, delay: this.delay, repeat: 0 });
    }
    enc.finish();
    return enc.bytes();
  }
}
