// strip.js — a batch as a strip of frames that plays (aligned interpolation: the
// frames go from one unit to another). Shows the latest frame of a render
// ({ size, batch, rgba }) one image at a time on #strip, forth and back while
// playing; hidden for a single image.
//   const strip = new Strip();  strip.show(frame);   // each drawn frame of a render
// DOM: #strip-box[hidden], #strip (canvas, data-frame = the image shown), #strip-play
// (aria-pressed while playing), #strip-label.

const $ = (id) => document.getElementById(id);
const PERIOD_MS = 160;

export class Strip {
  constructor() {
    this.frame = null;
    this.i = 0;
    this.dir = 1;
    this.timer = 0;
    $('strip-play').addEventListener('click', () => (this.timer ? this.stop() : this.play()));
  }

  /** The render's latest frame; a batch of one hides the strip. */
  show(frame) {
    this.frame = frame;
    const on = frame.batch > 1;
    $('strip-box').hidden = !on;
    if (!on) return this.stop();
    if (this.i >= frame.batch) this.i = 0;
    this.draw();
  }

  play() {
    if (!this.frame || this.timer) return;
    $('strip-play').setAttribute('aria-pressed', 'true');
    this.timer = setInterval(() => this.next(), PERIOD_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
    $('strip-play').setAttribute('aria-pressed', 'false');
  }

  // forth and back, so the loop has no jump from the last frame to the first
  next() {
    const n = this.frame.batch;
    if (this.i + this.dir < 0 || this.i + this.dir >= n) this.dir = -this.dir;
    this.i = Math.min(n - 1, Math.max(0, this.i + this.dir));
    this.draw();
  }

  draw() {
    const { size: s, batch: n, rgba } = this.frame, cv = $('strip');
    if (cv.width !== s) cv.width = cv.height = s;
    const bytes = new Uint8ClampedArray(rgba.buffer ?? rgba, (rgba.byteOffset ?? 0) + this.i * s * s * 4, s * s * 4);
    cv.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(bytes), s, s), 0, 0);
    cv.dataset.frame = String(this.i);
    $('strip-label').textContent = `frame ${this.i + 1} / ${n}`;
  }
}
