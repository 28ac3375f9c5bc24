// Feature visualization end to end on MobileNet v2, asserted against things
// measured outside the render: activations of the store's real photos, the
// spectrum of the image, Gram similarities, and byte-identical PNGs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { loadEngine, FvError, STATUS } from '../wasm/engine.js';
import { model, image, IMAGES } from './paths.mjs';

const LAYER = 'MobilenetV2/expanded_conv_8/add';
const CHANNEL = 12;
const SIZE = 128;
let fv, m, layer;
before(async () => {
  fv = await loadEngine();
  m = fv.loadModel(readFileSync(model('mobilenet_v2_1.0_224_quant.tflite')));
  layer = m.layerIndex(LAYER);
});

const render = (opts, steps) => {
  const r = fv.render(m, { size: SIZE, steps, ...opts });
  r.step(steps);
  return r;
};

/** Mean activation of (layer, channel) on 8-bit RGBA pixels, through the plain inference path. */
function channelMean(rgba, size, l = layer, c = CHANNEL) {
  const im = fv.imageFromRGBA(rgba, size, size);
  const inf = fv.infer(m, { h: size, w: size, lastLayer: l });
  inf.run(im);
  const v = inf.channelMean(l, c);
  inf.free();
  im.free();
  return v;
}

/** The same for every photo of the store, resized to size × size. */
function photoMeans(size, l = layer, c = CHANNEL) {
  const inf = fv.infer(m, { h: size, w: size, lastLayer: l });
  const out = readdirSync(IMAGES).filter((f) => /\.(bmp|jpg|png)$/.test(f)).map((f) => {
    inf.runImage(readFileSync(image(f)));
    return inf.channelMean(l, c);
  });
  inf.free();
  return out;
}

test('a channel render beats every real photo on that channel', () => {
  const r = render({ objective: { kind: 'channel', layer: LAYER, channel: CHANNEL } }, 256);
  const mine = channelMean(r.rgba(0), SIZE);
  const photos = photoMeans(SIZE);
  assert.ok(mine > Math.max(...photos), `render ${mine} vs photos ${photos}`);
  r.free();
});

// ---- preconditioning and robustness: Fourier + decorrelation + transforms vs raw pixels ----

/** Share of spectral power (DC excluded) at radial frequency above half Nyquist (0.25 cycles/pixel). */
function highFrequencyShare(rgba, n) {
  let high = 0, all = 0;
  const cos = new Float64Array(n * n), sin = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let x = 0; x < n; x++) {
    cos[k * n + x] = Math.cos((2 * Math.PI * k * x) / n);
    sin[k * n + x] = Math.sin((2 * Math.PI * k * x) / n);
  }
  for (let c = 0; c < 3; c++) {
    const g = new Float64Array(n * n);
    let mean = 0;
    for (let p = 0; p < n * n; p++) mean += rgba[4 * p + c] / (n * n);
    for (let p = 0; p < n * n; p++) g[p] = rgba[4 * p + c] - mean;
    // separable DFT: rows, then columns
    const re = new Float64Array(n * n), im = new Float64Array(n * n);
    for (let y = 0; y < n; y++) for (let k = 0; k < n; k++) {
      let a = 0, b = 0;
      for (let x = 0; x < n; x++) { a += g[y * n + x] * cos[k * n + x]; b -= g[y * n + x] * sin[k * n + x]; }
      re[y * n + k] = a; im[y * n + k] = b;
    }
    for (let kx = 0; kx < n; kx++) for (let ky = 0; ky < n; ky++) {
      let a = 0, b = 0;
      for (let y = 0; y < n; y++) {
        const c0 = cos[ky * n + y], s0 = sin[ky * n + y], r = re[y * n + kx], i = im[y * n + kx];
        a += r * c0 + i * s0; b += i * c0 - r * s0;
      }
      const fy = (ky <= n / 2 ? ky : ky - n) / n, fx = (kx <= n / 2 ? kx : kx - n) / n;
      const p = a * a + b * b;
      all += p;
      if (Math.hypot(fx, fy) > 0.25) high += p;
    }
  }
  return high / all;
}

/** The image shifted and rescaled: crop `crop` pixels at an offset, resize back (engine's bilinear resize). */
function jitterScale(rgba, n, crop, ox, oy) {
  const w = n - crop, out = new Uint8Array(w * w * 4);
  for (let y = 0; y < w; y++) out.set(rgba.subarray(((y + oy) * n + ox) * 4, ((y + oy) * n + ox + w) * 4), y * w * 4);
  const small = fv.imageFromRGBA(out, w, w), big = small.resize(n, n), rgb = big.rgb();
  small.free(); big.free();
  const back = new Uint8Array(n * n * 4).fill(255);
  for (let p = 0; p < n * n; p++) back.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
  return back;
}

/** Mean over a few shifts/rescales of the channel activation, relative to the untouched image. */
function robustness(rgba, n) {
  const base = channelMean(rgba, n);
  const moved = [[8, 0, 0], [8, 8, 8], [12, 3, 9], [16, 16, 0], [16, 5, 11]].map(([c, x, y]) => channelMean(jitterScale(rgba, n, c, x, y), n));
  return moved.reduce((a, b) => a + b, 0) / moved.length / base;
}

test('Fourier + decorrelation + transforms: less high-frequency energy and more robust than raw pixels', () => {
  const steps = 256;
  const obj = { kind: 'channel', layer: LAYER, channel: CHANNEL };
  const lucid = render({ objective: obj }, steps);
  const pixel = render({ objective: obj, param: 'pixel', decorrelate: false, transforms: 'none' }, steps);
  const a = lucid.rgba(0), b = pixel.rgba(0);
  const hfLucid = highFrequencyShare(a, SIZE), hfPixel = highFrequencyShare(b, SIZE);
  assert.ok(hfLucid < 0.5 * hfPixel, `high-frequency share: Fourier ${hfLucid.toFixed(4)} vs pixel ${hfPixel.toFixed(4)}`);
  const robLucid = robustness(a, SIZE), robPixel = robustness(b, SIZE);
  assert.ok(robLucid > robPixel, `activation kept under jitter/scale: Fourier ${robLucid.toFixed(3)} vs pixel ${robPixel.toFixed(3)}`);
  lucid.free();
  pixel.free();
});

// ---- diversity --------------------------------------------------------------------------

/** Mean pairwise cosine similarity of the flattened Gram matrices of the layer, per image. */
function gramSimilarity(r) {
  const grams = [];
  for (let i = 0; i < r.batch; i++) {
    const im = fv.imageFromRGBA(r.rgba(i), SIZE, SIZE);
    const inf = fv.infer(m, { h: SIZE, w: SIZE, lastLayer: layer });
    inf.run(im);
    const { shape, data } = inf.layer(layer);
    inf.free(); im.free();
    const C = shape[3], P = shape[1] * shape[2], G = new Float64Array(C * C);
    for (let p = 0; p < P; p++) for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) G[a * C + b] += data[p * C + a] * data[p * C + b];
    const norm = Math.hypot(...G);
    grams.push(G.map((v) => v / norm));
  }
  let s = 0, k = 0;
  for (let i = 0; i < grams.length; i++) for (let j = i + 1; j < grams.length; j++, k++) s += grams[i].reduce((acc, v, q) => acc + v * grams[j][q], 0);
  return s / k;
}

test('batch 4 with diversity: images less alike, each still beats the photos', () => {
  const steps = 192;
  const obj = { kind: 'channel', layer: LAYER, channel: CHANNEL };
  const plain = render({ batch: 4, objective: obj }, steps);
  const diverse = render({ batch: 4, objective: obj, diversity: 100 }, steps);
  const sPlain = gramSimilarity(plain), sDiverse = gramSimilarity(diverse);
  assert.ok(sDiverse < sPlain - 0.05, `Gram similarity: with diversity ${sDiverse.toFixed(3)}, without ${sPlain.toFixed(3)}`);
  const best = Math.max(...photoMeans(SIZE));
  for (let i = 0; i < 4; i++) {
    const v = channelMean(diverse.rgba(i), SIZE);
    assert.ok(v > best, `image ${i}: ${v} vs best photo ${best}`);
  }
  plain.free();
  diverse.free();
});

// ---- reproducibility ----------------------------------------------------------------------

test('the same options and seed give the same PNG bytes; another seed does not', () => {
  const opts = { size: 64, batch: 2, seed: 7, objective: { kind: 'neuron', layer: LAYER, channel: 3 }, diversity: 10 };
  const run = (o) => { const r = fv.render(m, o); r.step(24); const png = r.png(-1); r.free(); return Buffer.from(png); };
  const a = run(opts), b = run(opts), c = run({ ...opts, seed: 8 });
  assert.ok(a.equals(b), 'same seed, same bytes');
  assert.ok(!a.equals(c), 'another seed, other bytes');
  // the display reading each step's image (which the next step then reuses) does not change the run
  const r = fv.render(m, opts);
  const seen = [];
  for (let i = 0; i < 24; i++) { r.step(1); if (i % 5 !== 4) seen.push(Buffer.from(r.rgba(1))); }
  const d = Buffer.from(r.png(-1));
  r.free();
  assert.ok(d.equals(a), 'same bytes with the image read between steps');
  assert.ok(!seen[0].equals(seen[seen.length - 1]), 'and the images read did change');
});

// ---- the profile's stage slots ---------------------------------------------------------------

test('profile: op slots by default, the step\'s stages outside the network and a slot per layer on request', () => {
  const r = fv.render(m, { size: 64, batch: 2, diversity: 1, objective: { kind: 'channel', layer: LAYER, channel: 3 } });
  r.step(1);
  const profiled = (on) => {
    fv.profileEnable(on);
    fv.profileReset();
    r.step(3);
    const slots = fv.profile();
    fv.profileEnable(false);
    return slots;
  };
  const ops = profiled(true);
  assert.ok(ops.some((s) => s.name.startsWith('CONV_2D') && !s.stage && s.flops > 0), 'op slots');
  assert.ok(ops.every((s) => !s.stage), 'no stage slots unless asked');
  const all = profiled('stages');
  const stages = all.filter((s) => s.stage);
  const names = new Set(stages.map((s) => `${s.backward ? 'bwd' : 'fwd'} ${s.name}`));
  for (const n of ['fwd param', 'fwd transform', 'bwd objective', 'bwd transform', 'bwd param', 'bwd adam']) {
    assert.ok(names.has(n), `stage ${n} in ${[...names]}`);
  }
  for (const s of stages) {
    assert.equal(s.flops, 0, s.name);
    assert.ok(s.ms >= 0 && s.calls >= 3, `${s.name}: ${s.ms} ms, ${s.calls} calls`);
  }
  assert.equal(all.filter((s) => !s.stage).length, ops.length, 'the same op slots as without stages');
  // per layer: every op slot names its layer ("... #I"), one slot per layer and direction,
  // and they add up to the kind slots' calls and flops (the same ops, timed one by one)
  const layers = profiled('layers');
  const opSlots = layers.filter((s) => !s.stage);
  assert.ok(opSlots.every((s) => /^\S.* #\d+$/.test(s.name)), opSlots.map((s) => s.name).join(', '));
  const keys = opSlots.map((s) => `${s.backward} ${s.name.match(/#(\d+)$/)[1]}`);
  assert.equal(new Set(keys).size, keys.length, 'one slot per layer and direction');
  assert.ok(opSlots.length > ops.length, `${opSlots.length} layer slots, ${ops.length} kind slots`);
  for (const k of ops) {
    const mine = opSlots.filter((s) => s.backward === k.backward && s.name.replace(/ #\d+$/, '') === k.name);
    assert.equal(mine.reduce((a, s) => a + s.calls, 0), k.calls, `${k.name}: calls`);
    assert.ok(Math.abs(mine.reduce((a, s) => a + s.flops, 0) - k.flops) <= 1e-9 * k.flops, `${k.name}: flops`);
  }
  assert.deepEqual(layers.filter((s) => s.stage).map((s) => s.name).sort(), stages.map((s) => s.name).sort(), 'and the stages');
  r.free();
});

// ---- every objective rises under a few steps --------------------------------------------------

const KINDS = {
  neuron: { kind: 'neuron', layer: LAYER, channel: 5 },
  channel: { kind: 'channel', layer: LAYER, channel: 5 },
  'negative channel': { kind: 'channel', layer: LAYER, channel: 5, weight: -1 },
  layer: { kind: 'layer', layer: LAYER },
  class: { kind: 'class', class: 89 },
  direction: { kind: 'direction', layer: LAYER, direction_seed: 3 },
  interp: { kind: 'interp', layer: LAYER, channel: 5, channel2: 9 },
  alignment: { kind: 'alignment', layer: LAYER },
};
for (const [name, term] of Object.entries(KINDS)) {
  test(`objective rises from noise: ${name}`, () => {
    const batch = ['interp', 'alignment'].includes(name) ? 2 : 1;
    const terms = name === 'alignment' ? [{ kind: 'channel', layer: LAYER, channel: 5 }, term] : [term];
    const r = fv.render(m, { size: 64, batch, transforms: 'none', objective: terms, seed: 1 });
    r.step(1);
    const first = r.objective;
    r.step(15);
    assert.ok(r.objective > first, `${name}: ${first} → ${r.objective}`);
    r.free();
  });
}

// ---- bad options are errors, and the engine keeps working ----------------------------------------

test('bad render options are refused with a clear message', () => {
  const bad = [
    [{ objective: { kind: 'channel', layer: 'nope', channel: 1 } }, /unknown layer "nope"/],
    [{ objective: { kind: 'channel', layer: LAYER, channel: 64 } }, /channel 64/],
    [{ size: 0, objective: { kind: 'layer', layer: LAYER } }, /size/],
    [{ batch: 0, objective: { kind: 'layer', layer: LAYER } }, /batch/],
    [{ lr: -1, objective: { kind: 'layer', layer: LAYER } }, /lr/],
    [{ objective: { kind: 'neuron', layer: LAYER, channel: 1, x: 99 } }, /x 99/],
    [{ objective: { kind: 'class', class: 5000 } }, /class/],
    [{ diversity: 1, objective: { kind: 'layer', layer: LAYER } }, /diversity.*batch/],
    [{ objective: [] }, /objective/],
    ['{"size": 12', /JSON/],
  ];
  for (const [opts, pattern] of bad) {
    assert.throws(() => fv.render(m, opts), (e) => e instanceof FvError && pattern.test(e.message), JSON.stringify(opts));
  }
  const r = fv.render(m, { size: 32, objective: { kind: 'layer', layer: LAYER }, transforms: 'none' });
  r.step(2);
  assert.ok(Number.isFinite(r.objective));
  r.free();
});

test('a numerical blow-up stops with an error and keeps the last good image', () => {
  // a weight near float's limit makes the gradient overflow to infinity on the first step
  const r = fv.render(m, { size: 32, transforms: 'none', objective: { kind: 'channel', layer: LAYER, channel: 12, weight: 3e38 } });
  const before = r.rgba(0);
  assert.throws(() => r.step(5), (e) => e instanceof FvError && e.code === STATUS.NUMERIC && /blew up/.test(e.message));
  assert.equal(r.stepsDone, 0);
  assert.deepEqual(r.rgba(0), before, 'the image is the last good one');
  assert.ok(r.png(0).length > 100, 'and still exports');
  r.free();
});
