// The parameterizations of "Differentiable Image Parameterizations" (Distill 2018),
// measured on two networks: MobileNet v2 and GoogLeNet (the articles' network). Every
// number comes from the plain inference path (fv.infer on the rendered pixels), not
// from the render's own objective, and every store photo is the bar a render must
// clear. Small sizes and step counts keep the suite fast.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEngine } from '../wasm/engine.js';
import { readPng } from './png-read.mjs';
import { ROOT, MODELS, model, image, IMAGES } from './paths.mjs';

// each network's unit (layer, channel a) and the second unit of the interpolation (b);
// alphaSize: the alpha render's size (a 128-px GoogLeNet render costs four 64-px ones)
const NETWORKS = [
  { name: 'MobileNet v2', file: 'mobilenet_v2_1.0_224_quant.tflite', layer: 'MobilenetV2/expanded_conv_8/add', a: 5, b: 12, alphaSize: 128 },
  { name: 'GoogLeNet', file: 'googlenet_bvlc_int8.onnx', layer: 'inception_4a/output', a: 97, b: 12, alphaSize: 64 },
];
const L = NETWORKS[0].layer; // the CLI cases below: MobileNet v2
let fv, photos;
const nets = {};
before(async () => {
  fv = await loadEngine();
  photos = readdirSync(IMAGES).filter((f) => /\.(bmp|jpg|png)$/.test(f));
  for (const n of NETWORKS) {
    const m = fv.loadModel(readFileSync(model(n.file)));
    nets[n.name] = { ...n, m, li: m.layerIndex(n.layer) };
  }
});

/** Renders options on a network; returns the RGBA of each image. */
function render(net, options) {
  const r = fv.render(net.m, { size: 64, ...options });
  assert.equal(r.size, options.size ?? 64);
  r.step(r.stepsPlanned);
  const out = Array.from({ length: r.batch }, (_, i) => r.rgba(i).slice());
  r.free();
  return out;
}

/** The mean over space of channel ch at the network's layer, for RGBA pixels (size²) or a photo's bytes (resized to size²). */
function channelMean(net, input, ch, size) {
  const inf = fv.infer(net.m, { h: size, w: size, lastLayer: net.li });
  if (input instanceof Uint8ClampedArray) {
    const im = fv.imageFromRGBA(input, size, size);
    inf.run(im);
    im.free();
  } else {
    inf.runImage(input);
  }
  const v = inf.channelMean(net.li, ch);
  inf.free();
  return v;
}
const bestPhoto = (net, ch, size) => Math.max(...photos.map((f) => channelMean(net, readFileSync(image(f)), ch, size)));

/**
 * The high-frequency share of an RGBA image's luminance: the fraction of its power
 * (mean removed) at radial frequencies above a quarter cycle per pixel, from a plain
 * 2-D DFT written out here.
 */
function highFrequencyShare(rgba, n) {
  const lum = new Float64Array(n * n);
  let mean = 0;
  for (let p = 0; p < n * n; p++) mean += (lum[p] = 0.299 * rgba[4 * p] + 0.587 * rgba[4 * p + 1] + 0.114 * rgba[4 * p + 2]) / (n * n);
  const re = new Float64Array(n * n), im = new Float64Array(n * n); // rows first, then columns
  for (let y = 0; y < n; y++)
    for (let k = 0; k < n; k++) {
      let a = 0, b = 0;
      for (let x = 0; x < n; x++) { const t = (-2 * Math.PI * k * x) / n, v = lum[y * n + x] - mean; a += v * Math.cos(t); b += v * Math.sin(t); }
      re[y * n + k] = a, im[y * n + k] = b;
    }
  let high = 0, total = 0;
  for (let kx = 0; kx < n; kx++)
    for (let ky = 0; ky < n; ky++) {
      let a = 0, b = 0;
      for (let y = 0; y < n; y++) {
        const t = (-2 * Math.PI * ky * y) / n, c = Math.cos(t), s = Math.sin(t);
        a += re[y * n + kx] * c - im[y * n + kx] * s;
        b += re[y * n + kx] * s + im[y * n + kx] * c;
      }
      const fx = Math.min(kx, n - kx) / n, fy = Math.min(ky, n - ky) / n, power = a * a + b * b;
      total += power;
      if (Math.hypot(fx, fy) > 0.25) high += power;
    }
  return high / total;
}

/** RGBA composited over a flat grey (the straight-alpha "over" rule), opaque. */
function overGrey(rgba, grey = 127.5) {
  const out = new Uint8ClampedArray(rgba.length);
  for (let p = 0; p < rgba.length; p += 4) {
    const a = rgba[p + 3] / 255;
    for (let c = 0; c < 3; c++) out[p + c] = Math.round(rgba[p + c] * a + grey * (1 - a));
    out[p + 3] = 255;
  }
  return out;
}

for (const { name } of NETWORKS) test(`${name}, alpha: the alpha varies (neither all opaque nor all clear) and over grey the unit fires above every store photo`, () => {
  const net = nets[name], ch = net.a, size = net.alphaSize;
  const [rgba] = render(net, { size, steps: 128, alpha: true, objective: `${net.layer}:${ch}` });
  const n = size * size;
  let sum = 0, sq = 0, clear = 0, opaque = 0;
  for (let p = 0; p < n; p++) sum += rgba[4 * p + 3] / 255;
  const mean = sum / n;
  for (let p = 0; p < n; p++) {
    const a = rgba[4 * p + 3] / 255;
    sq += (a - mean) ** 2;
    clear += a < 0.25, opaque += a > 0.6;
  }
  const sd = Math.sqrt(sq / n);
  assert.ok(mean > 0.1 && mean < 0.9 && sd > 0.05, `alpha mean ${mean.toFixed(3)}, sd ${sd.toFixed(3)}`);
  assert.ok(clear > n * 0.01 && opaque > n * 0.01, `clear ${clear} and opaque ${opaque} of ${n} pixels`);
  const act = channelMean(net, overGrey(rgba), ch, size), best = bestPhoto(net, ch, size);
  assert.ok(act > best, `over grey ${act.toFixed(2)} vs the best store photo ${best.toFixed(2)}`);
  console.log(`# ${name} alpha: mean ${mean.toFixed(3)}, sd ${sd.toFixed(3)}; over grey ${act.toFixed(2)} vs best photo ${best.toFixed(2)}`);
});

const CLI = join(ROOT, 'bin/featviz.mjs');
const MV2 = model('mobilenet_v2_1.0_224_quant.tflite'); // the CLI's default model is GoogLeNet
const cli = (...args) => spawnSync(process.execPath, [CLI, ...args], {
  cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, FEATVIZ_MODELS: MODELS },
});
/** featviz render --manifest NAME.json gives the bytes of out (NAME.png) again. */
function assertReRenders(dir, name) {
  const again = join(dir, 'again.png');
  const r = cli('render', '--manifest', join(dir, `${name}.json`), '--out', again);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(readFileSync(again).equals(readFileSync(join(dir, `${name}.png`))), 'the manifest re-renders the same PNG bytes');
}
/** A flag mistake: exit code 2 and the message. */
function assertUsage(r, pattern) {
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, pattern);
}

test('alpha with batch, diversity and transforms: an RGBA PNG whose manifest re-renders the same bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-alpha-'));
  const out = join(dir, 'a.png');
  const r = cli('render', MV2, '--layer', L, '--channel', '5', '--size', '48', '--steps', '12', '--batch', '2', '--diversity', '2',
    '--alpha', '--alpha-blur', '0.5', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const manifest = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
  assert.equal(manifest.options.alpha, true);
  assert.equal(manifest.options.alpha_blur, 0.5);
  const png = readPng(readFileSync(out));
  assert.equal(png.channels, 4);
  const alphas = new Set();
  for (let i = 3; i < png.data.length; i += 4) alphas.add(png.data[i]);
  assert.ok(alphas.size > 10, `${alphas.size} distinct alpha values`);
  assertReRenders(dir, 'a');
  const bad = cli('render', MV2, '--layer', L, '--channel', '5', '--alpha-blur', '1');
  assertUsage(bad, /--alpha-blur W needs --alpha/);
});

for (const { name } of NETWORKS) test(`${name}, cppn: the unit fires above every store photo, with less high-frequency power than a pixel render of it`, () => {
  const net = nets[name], ch = net.a, size = 64;
  const [cppn] = render(net, { size, steps: 96, param: 'cppn', objective: `${net.layer}:${ch}` });
  const [pixel] = render(net, { size, steps: 96, param: 'pixel', objective: `${net.layer}:${ch}` });
  const act = channelMean(net, cppn, ch, size), best = bestPhoto(net, ch, size);
  assert.ok(act > best, `CPPN ${act.toFixed(2)} vs the best store photo ${best.toFixed(2)}`);
  const hc = highFrequencyShare(cppn, size), hp = highFrequencyShare(pixel, size);
  assert.ok(hc < hp, `high-frequency share: CPPN ${hc.toFixed(3)}, pixels ${hp.toFixed(3)}`);
  console.log(`# ${name} cppn: ${act.toFixed(2)} vs best photo ${best.toFixed(2)}; high-frequency share ${hc.toFixed(3)} vs pixels ${hp.toFixed(3)}`);
});

test('cppn with alpha and batch: --cppn-size draws the PNG larger, the manifest re-renders the same bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-cppn-'));
  const out = join(dir, 'c.png');
  const r = cli('render', MV2, '--layer', L, '--channel', '5', '--size', '32', '--steps', '6', '--batch', '2', '--diversity', '1',
    '--param', 'cppn', '--cppn-size', '80', '--alpha', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const manifest = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8'));
  assert.deepEqual([manifest.options.param, manifest.options.cppn_size, manifest.options.alpha], ['cppn', 80, true]);
  assert.ok(Math.abs(manifest.options.lr - 0.005) < 1e-9, `the CPPN's Adam rate: ${manifest.options.lr}`);
  const png = readPng(readFileSync(out));
  assert.deepEqual([png.width, png.height, png.channels], [2 * 80 + 2, 80, 4], 'two 80-px images side by side, RGBA');
  assertReRenders(dir, 'c');
  const bad = cli('render', MV2, '--layer', L, '--channel', '5', '--cppn-size', '64');
  assertUsage(bad, /--cppn-size N needs --param cppn/);
});

/** Mean absolute difference of two RGBA images' colour bytes. */
function pixelDistance(a, b) {
  let s = 0, n = 0;
  for (let k = 0; k < a.length; k++) if ((k & 3) !== 3) s += Math.abs(a[k] - b[k]), n++;
  return s / n;
}

for (const { name } of NETWORKS) test(`${name}, aligned interpolation: the two units cross over along the strip, and shared params bring neighbours closer`, () => {
  const net = nets[name], A = net.a, B = net.b, N = 5, size = 64, steps = 96;
  const strip = (shared) => render(net, { size, steps, batch: N, shared, objective: `interpolate(${net.layer}, ${A}, ${B})` });
  const aligned = strip(true), free = strip(false);
  const acts = aligned.map((f) => [channelMean(net, f, A, size), channelMean(net, f, B, size)]);
  const fmt = acts.map(([a, b]) => `${a.toFixed(1)}/${b.toFixed(1)}`).join(' ');
  assert.ok(acts[0][0] > acts[0][1] && acts[N - 1][1] > acts[N - 1][0], `A/B along the strip: ${fmt}`);
  const a0 = acts.map(([a]) => a), b0 = acts.map(([, b]) => b);
  assert.ok(a0[0] > a0[N - 1] && b0[N - 1] > b0[0], `A falls and B rises from end to end: ${fmt}`);
  const near = (frames) => frames.slice(1).reduce((s, f, i) => s + pixelDistance(frames[i], f), 0) / (N - 1);
  const dShared = near(aligned), dFree = near(free);
  assert.ok(dShared < dFree, `neighbouring frames: ${dShared.toFixed(1)} apart shared, ${dFree.toFixed(1)} unshared`);
  console.log(`# ${name} interpolation: A/B ${fmt}; neighbours ${dShared.toFixed(1)} apart shared, ${dFree.toFixed(1)} unshared`);
});

for (const { name } of NETWORKS) test(`${name}, laplacian: a pyramid render drives its unit above every store photo`, () => {
  const net = nets[name], ch = net.a, size = 64;
  const [img] = render(net, { size, steps: 96, param: 'laplacian', objective: `${net.layer}:${ch}` });
  const act = channelMean(net, img, ch, size), best = bestPhoto(net, ch, size);
  assert.ok(act > best, `laplacian ${act.toFixed(2)} vs the best store photo ${best.toFixed(2)}`);
});

test('--interpolate with a pyramid and diversity: the manifest records the term and shared, and re-renders the same bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-interp-'));
  const out = join(dir, 'i.png');
  const r = cli('render', MV2, '--layer', L, '--channel', '5', '--interpolate', `${L}:12`, '--batch', '3', '--diversity', '1',
    '--param', 'laplacian', '--size', '32', '--steps', '8', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const manifest = JSON.parse(readFileSync(join(dir, 'i.json'), 'utf8'));
  assert.equal(manifest.options.shared, true);
  assert.equal(manifest.options.param, 'laplacian');
  assert.match(manifest.options.objective, new RegExp(`^interpolate\\(${L}, 5, 12\\)`));
  assertReRenders(dir, 'i');
  const bad = cli('render', MV2, '--layer', L, '--channel', '5', '--interpolate', 'other:3', '--batch', '3');
  assertUsage(bad, /the layer must be --layer's/);
  const one = cli('render', MV2, '--layer', L, '--channel', '5', '--interpolate', `${L}:3`);
  assert.notEqual(one.status, 0);
  assert.match(one.stderr, /batch/);
});
