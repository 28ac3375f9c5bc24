// Activation space, measured: caricatures against the photo they invert, a photo's
// direction against the store's photos, and the movie of a render against its PNG.
// Every number comes from the plain inference path (fv.infer on the rendered pixels),
// not from the render's own objective; the GIF is decoded by omggif, not by its encoder.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import omggif from 'omggif';
import { loadEngine } from '../wasm/engine.js';
import { prepareOptions } from '../wasm/photo-data.js';
import { ROOT, MODELS, model, image, IMAGES } from './paths.mjs';

const L = 'MobilenetV2/expanded_conv_8/add';
const SIZE = 128;
let fv, m, li;
before(async () => {
  fv = await loadEngine();
  m = fv.loadModel(readFileSync(model('mobilenet_v2_1.0_224_quant.tflite')));
  li = m.layerIndex(L);
});

/** Renders options (photos read from the store) and returns the image's RGBA. */
async function render(options) {
  const { options: o } = await prepareOptions(fv, m, { size: SIZE, ...options }, { photo: (name) => readFileSync(image(name)) });
  const r = fv.render(m, o);
  r.step(r.stepsPlanned);
  const rgba = r.rgba(0);
  r.free();
  return rgba;
}

/** Activations at L (Float32Array, H·W·C) of RGBA pixels or of a photo's bytes, at SIZE × SIZE. */
function acts(input) {
  const inf = fv.infer(m, { h: SIZE, w: SIZE, lastLayer: li });
  if (input instanceof Uint8ClampedArray) {
    const im = fv.imageFromRGBA(input, SIZE, SIZE);
    inf.run(im);
    im.free();
  } else {
    inf.runImage(input);
  }
  const { data } = inf.layer(li);
  inf.free();
  return data;
}

const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
const cos = (a, b) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
/** Mean over positions of a·v̂ (a: H·W·C, v: C). */
function projection(a, v) {
  const C = v.length, n = Math.sqrt(dot(v, v));
  let s = 0;
  for (let p = 0; p < a.length; p += C) for (let k = 0; k < C; k++) s += a[p + k] * v[k];
  return s / (a.length / C) / n;
}
/** Every channel's mean over space. */
function means(a, C) {
  const out = new Float64Array(C);
  for (let p = 0; p < a.length; p += C) for (let k = 0; k < C; k++) out[k] += a[p + k] / (a.length / C);
  return out;
}

test('a caricature matches its photo\'s activations better than a random direction does, and another photo\'s differs', async () => {
  const steps = 160;
  const parrot = acts(readFileSync(image('parrot.jpg'))), fly = acts(readFileSync(image('dragonfly.bmp')));
  const carParrot = acts(await render({ steps, objective: `caricature(${L}, parrot.jpg, cossim=1)` }));
  const carFly = acts(await render({ steps, objective: `caricature(${L}, dragonfly.bmp, cossim=1)` }));
  const random = [1, 2].map(async (seed) => acts(await render({ steps, objective: `direction(${L}, random(${seed}))` })));
  const rand = await Promise.all(random);
  const c = { parrot: cos(carParrot, parrot), fly: cos(carFly, fly), randParrot: Math.max(...rand.map((a) => cos(a, parrot))),
    randFly: Math.max(...rand.map((a) => cos(a, fly))), crossParrot: cos(carFly, parrot), crossFly: cos(carParrot, fly) };
  console.log(`# cosine at ${L} (${SIZE}px, ${steps} steps): caricature/photo parrot ${c.parrot.toFixed(3)}, dragonfly ${c.fly.toFixed(3)}; ` +
    `random-direction renders ≤ ${c.randParrot.toFixed(3)} / ${c.randFly.toFixed(3)}; the other photo's caricature ${c.crossParrot.toFixed(3)} / ${c.crossFly.toFixed(3)}`);
  assert.ok(c.parrot > c.randParrot + 0.2, `parrot: caricature ${c.parrot} vs random ${c.randParrot}`);
  assert.ok(c.fly > c.randFly + 0.2, `dragonfly: caricature ${c.fly} vs random ${c.randFly}`);
  // each caricature is closer to its own photo than the other photo's caricature is
  assert.ok(c.parrot > c.crossParrot + 0.1 && c.fly > c.crossFly + 0.1, JSON.stringify(c));
});

test('a photo\'s direction render projects on that direction beyond every other store photo', async () => {
  const source = 'parrot.jpg';
  const v = means(acts(readFileSync(image(source))), 64);
  const rgba = await render({ steps: 160, objective: `direction(${L}, ${source}, cossim=1)` });
  const mine = projection(acts(rgba), v);
  const photos = readdirSync(IMAGES).filter((f) => /\.(bmp|jpg|png)$/.test(f));
  assert.ok(photos.length >= 6);
  const theirs = Object.fromEntries(photos.map((f) => [f, projection(acts(readFileSync(image(f))), v)]));
  console.log(`# projection on the mean activation of ${source}: render ${mine.toFixed(3)}; photos ${JSON.stringify(theirs, (k, x) => (typeof x === 'number' ? +x.toFixed(3) : x))}`);
  for (const [f, p] of Object.entries(theirs)) if (f !== source) assert.ok(mine > p, `render ${mine} vs ${f} ${p}`);
});

test('featviz render --movie: one frame every N steps and the last, which is the PNG through its palette', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-movie-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/featviz.mjs'), 'render', model('mobilenet_v2_1.0_224_quant.tflite'), '--layer', L, '--channel', '12', '--size', '48',
    '--batch', '2', '--steps', '30', '--out', join(dir, 'm.png'), '--movie', join(dir, 'm.gif'), '--movie-every', '8'],
  { encoding: 'utf8', env: { ...process.env, FEATVIZ_MODELS: MODELS } });
  assert.equal(r.status, 0, r.stderr);
  const gif = new omggif.GifReader(readFileSync(join(dir, 'm.gif')));
  assert.equal(gif.numFrames(), 5, 'steps 0, 8, 16, 24 and the last, 30');
  const png = fv.decodeImage(readFileSync(join(dir, 'm.png')));
  const w = png.width, h = png.height, rgb = png.rgb();
  png.free();
  assert.deepEqual([gif.width, gif.height], [w, h], 'the batch grid, as the PNG');
  const frame = (k) => {
    const px = new Uint8Array(w * h * 4);
    gif.decodeAndBlitFrameRGBA(k, px);
    return px;
  };
  const last = frame(4), before = frame(3);
  // the palette of the last frame, from the GIF itself: each PNG pixel's nearest colour must be the frame's
  const pal = new Set();
  for (let p = 0; p < w * h; p++) pal.add((last[4 * p] << 16) | (last[4 * p + 1] << 8) | last[4 * p + 2]);
  const colours = [...pal].map((c) => [c >> 16, (c >> 8) & 255, c & 255]);
  let worse = 0, err = 0, moved = 0;
  for (let p = 0; p < w * h; p++) {
    const q = [rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]], f = [last[4 * p], last[4 * p + 1], last[4 * p + 2]];
    const d = (a) => (a[0] - q[0]) ** 2 + (a[1] - q[1]) ** 2 + (a[2] - q[2]) ** 2;
    const best = Math.min(...colours.map(d));
    if (d(f) > best + 3 * 64) worse++; // gifenc maps through rgb565 bins: within one bin of the nearest colour
    err += Math.abs(f[0] - q[0]) + Math.abs(f[1] - q[1]) + Math.abs(f[2] - q[2]);
    moved += before[4 * p] !== last[4 * p] || before[4 * p + 1] !== last[4 * p + 1] || before[4 * p + 2] !== last[4 * p + 2];
  }
  const mae = err / (3 * w * h);
  console.log(`# movie: ${gif.numFrames()} frames ${w}x${h}; last frame vs PNG: mean |error| ${mae.toFixed(2)} levels, ${colours.length} colours; ${moved} pixels moved since the previous frame`);
  assert.ok(worse <= w * h * 0.01, `${worse} pixels are far from their nearest palette colour`);
  assert.ok(mae < 4, `the last frame is not the PNG: mean error ${mae}`);
  assert.ok(moved > w * h * 0.1, 'the last frame is not the previous one');
});
