// The CLI as a user runs it: a child process, its stdout, its exit code and
// its one line on stderr when something is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, symlinkSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, MODELS, model, image } from './paths.mjs';

const CLI = join(ROOT, 'bin/featviz.mjs');
// The MobileNet the tests below were written for (the default model is GoogLeNet, slower to render)
const MV2 = model('mobilenet_v2_1.0_224_quant.tflite');
const run = (...args) => {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, FEATVIZ_MODELS: MODELS },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
// A user error: non-zero exit, exactly one line on stderr starting "featviz:", no stack trace.
const userError = (r, pattern) => {
  assert.notEqual(r.code, 0, r.out + r.err);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0], /^featviz: /);
  assert.doesNotMatch(r.err, /\n\s+at /);
  assert.match(lines[0], pattern);
};

test('layers lists every layer with index, name, op and shape', () => {
  const r = run('layers', MV2);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0], /input 224x224x3/);
  assert.ok(lines.some((l) => /^\s*\d+\s+MobilenetV2\/expanded_conv_8\/add\s+ADD\s+14x14x64$/.test(l)), r.out);
  assert.ok(lines.some((l) => /SOFTMAX\s+1x1x1001$/.test(l)), r.out);
  const v1 = run('layers', model('mobilenet_v1_0.25_128_quant.tflite'));
  assert.equal(v1.code, 0, v1.err);
  assert.match(v1.out, /DEPTHWISE_CONV_2D/);
});

test('classify prints the top-5 labels of each photo', () => {
  const r = run('classify', MV2, image('parrot.jpg'), image('grace_hopper.bmp'));
  assert.equal(r.code, 0, r.err);
  const blocks = r.out.trim().split(/\n(?=\S)/);
  assert.equal(blocks.length, 2);
  assert.match(blocks[0].split('\n')[1], /^\s+1\. macaw\s+0\.\d{4}\s+\(89\)$/);
  assert.match(blocks[1].split('\n')[1], /^\s+1\. military uniform/);
  assert.equal(blocks[0].split('\n').length, 6);
});

test('examples ranks photos in a folder by a channel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-examples-'));
  for (const f of ['cat.bmp', 'dragonfly.bmp', 'parrot.jpg', 'hot_dog.jpg']) symlinkSync(image(f), join(dir, f));
  writeFileSync(join(dir, 'notes.txt'), 'not a photo');
  const r = run('examples', MV2, '--layer', 'MobilenetV2/expanded_conv_8/add', '--channel', '5', dir);
  assert.equal(r.code, 0, r.err);
  const rows = r.out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  assert.equal(rows.length, 4);
  const scores = rows.map((x) => Number(x[0]));
  for (let i = 1; i < scores.length; i++) assert.ok(scores[i - 1] >= scores[i]);
  assert.ok(new Set(scores).size > 1, 'different photos give different scores');
});

test('bad input: one clear line on stderr and a non-zero exit', () => {
  userError(run('classify', '/no/such/photo.jpg'), /image not found: \/no\/such\/photo\.jpg/);
  userError(run('classify', model('imagenet_labels.txt')), /not an image/);
  const dir = mkdtempSync(join(tmpdir(), 'fv-bad-'));
  const fake = join(dir, 'fake.tflite');
  copyFileSync(image('cat.bmp'), fake);
  userError(run('layers', fake), /fake\.tflite: .*(model|TFL3|identifier)/i);
  userError(run('layers', join(dir, 'missing.tflite')), /model not found/);
  userError(run('examples', '--layer', 'nope', '--channel', '1', dir), /no photos/);
  symlinkSync(image('cat.bmp'), join(dir, 'cat.bmp'));
  userError(run('examples', '--layer', 'nope', '--channel', '1', dir), /unknown layer "nope"/);
  userError(run('examples', MV2, '--layer', 'MobilenetV2/expanded_conv_8/add', '--channel', '64', dir), /channel 64 out of range.*0\.\.63/);
  userError(run('examples', MV2, '--layer', 'MobilenetV2/expanded_conv_8/add', '--channel', 'x', dir), /--channel must be a whole number/);
  userError(run('classify', '--bogus', image('cat.bmp')), /bogus/);
  userError(run('frobnicate'), /unknown command "frobnicate"/);
});

test('render writes a PNG and a manifest that re-renders the same bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-render-'));
  const out = join(dir, 'n.png');
  const r = run('render', MV2, '--layer', 'MobilenetV2/expanded_conv_5/add', '--objective', 'neuron', '--channel', '7',
    '--size', '64', '--steps', '24', '--batch', '2', '--diversity', '5', '--seed', '3', '--out', out);
  assert.equal(r.code, 0, r.err);
  const png = readFileSync(out);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const manifest = JSON.parse(readFileSync(join(dir, 'n.json'), 'utf8'));
  assert.equal(manifest.model.file, 'mobilenet_v2_1.0_224_quant.tflite');
  assert.match(manifest.model.sha256, /^[0-9a-f]{64}$/);
  // the flags are sugar for an expression, which the manifest records (diversity as its term)
  assert.equal(manifest.options.objective, 'neuron(MobilenetV2/expanded_conv_5/add:7) - 5*diversity(MobilenetV2/expanded_conv_5/add)');
  assert.equal(manifest.options.steps, 24);
  assert.equal(manifest.options.seed, 3);
  const again = join(dir, 'again.png');
  const r2 = run('render', '--manifest', join(dir, 'n.json'), '--out', again);
  assert.equal(r2.code, 0, r2.err);
  assert.ok(readFileSync(again).equals(png), 'the manifest re-renders the same PNG bytes');
  // one file per image
  const each = run('render', '--manifest', join(dir, 'n.json'), '--out', join(dir, 'e.png'), '--each', '--no-manifest');
  assert.equal(each.code, 0, each.err);
  assert.ok(readFileSync(join(dir, 'e-0.png')).length > 100 && readFileSync(join(dir, 'e-1.png')).length > 100);
});

test('render --caricature: the manifest records the photo\'s activations and sha256, and re-renders without the photo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-caricature-'));
  const photo = join(dir, 'my parrot.jpg');
  copyFileSync(image('parrot.jpg'), photo);
  const r = run('render', MV2, '--caricature', photo, '--layer', 'MobilenetV2/expanded_conv_8/add', '--size', '48', '--steps', '10',
    '--out', join(dir, 'c.png'));
  assert.equal(r.code, 0, r.err);
  const m = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8'));
  assert.equal(m.options.objective, `caricature(MobilenetV2/expanded_conv_8/add, "${photo}", cossim=1)`);
  const [ph] = m.options.photos;
  assert.equal(ph.sha256, createHash('sha256').update(readFileSync(image('parrot.jpg'))).digest('hex'));
  assert.deepEqual([ph.kind, ph.shape], ['map', [3, 3, 64]], 'the activation map at the render size (48 px: 3×3)');
  rmSync(photo);
  const again = run('render', '--manifest', join(dir, 'c.json'), '--out', join(dir, 'again.png'));
  assert.equal(again.code, 0, again.err);
  assert.ok(readFileSync(join(dir, 'again.png')).equals(readFileSync(join(dir, 'c.png'))), 'the same bytes, the photo gone');
});

test('render: bad flags and manifests give one clear line', () => {
  userError(run('render', '--layer', 'nope', '--channel', '1', '--steps', '1'), /unknown layer "nope"/);
  userError(run('render', MV2, '--layer', 'MobilenetV2/expanded_conv_5/add', '--channel', '999', '--steps', '1'), /channel 999/);
  userError(run('render', '--objective', 'class', '--class', 'no such label', '--steps', '1'), /unknown class "no such label"/);
  // an expression's mistakes point at the character (the engine's grammar)
  userError(run('render', '--objective', 'bogus', '--layer', '3'), /objective at 6: expected ':' and a channel after the layer "bogus"/);
  userError(run('render', MV2, '--objective', 'MobilenetV2/expanded_conv_5/add:3 + 0.5*MobilenetV2/expanded_conv_5x/add:1', '--steps', '1'),
    /^featviz: objective at 41: unknown layer "MobilenetV2\/expanded_conv_5x\/add"/);
  userError(run('render', '--caricature', 'no-such-photo.jpg', '--layer', '3', '--steps', '1'), /photo not found: no-such-photo\.jpg/);
  userError(run('render', '--layer', '3', '--channel', '1', '--movie', 'm.webp'), /--movie writes an animated GIF/);
  userError(run('render', '--layer', '3', '--channel', '1', '--lr', 'fast'), /--lr must be a number/);
  userError(run('render', '--layer', '3', '--channel', '1', '--size', '0'), /size 0 out of range 8\.\.1024/);
  const dir = mkdtempSync(join(tmpdir(), 'fv-man-'));
  writeFileSync(join(dir, 'bad.json'), '{ not json');
  userError(run('render', '--manifest', join(dir, 'bad.json')), /not JSON/);
  writeFileSync(join(dir, 'other.json'), '{"hello": 1}');
  userError(run('render', '--manifest', join(dir, 'other.json')), /not a featviz render manifest/);
  writeFileSync(join(dir, 'sha.json'), JSON.stringify({ model: { file: 'mobilenet_v2_1.0_224_quant.tflite', sha256: '0'.repeat(64) }, options: {} }));
  userError(run('render', '--manifest', join(dir, 'sha.json')), /sha256 differs/);
});

// ---- .onnx everywhere, the model's input ------------------------------------------------------------
const GOOGLENET = model('googlenet_bvlc_int8.onnx');

test('.onnx: layers lists the file\'s names and its input; classify (the default model) names the macaw; examples ranks', () => {
  const l = run('layers', GOOGLENET);
  assert.equal(l.code, 0, l.err);
  assert.match(l.out.split('\n')[0], /^# googlenet_bvlc_int8\.onnx: input 224x224x3, BGR, values 0\.\.255 \(onnx metadata\)$/);
  assert.match(l.out, /^\s*81\s+inception_4c\/output\s+Concat\s+14x14x512$/m);
  assert.match(l.out, /^\s*\d+\s+conv2\/3x3_pre_relu\s+Conv\s+56x56x192$/m);
  const c = run('classify', image('parrot.jpg'), '--top', '1');
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^\s+1\. macaw\s+0\.\d{4}\s+\(88\)$/m, 'GoogLeNet has 1000 outputs: macaw is 88, named from line 89 of the labels');
  assert.equal(c.err, '', 'the input the file states is no guess: nothing on stderr');
  const dir = mkdtempSync(join(tmpdir(), 'fv-onnx-examples-'));
  for (const f of ['cat.bmp', 'parrot.jpg', 'hot_dog.jpg']) symlinkSync(image(f), join(dir, f));
  const e = run('examples', GOOGLENET, '--layer', 'inception_4c/output', '--channel', '97', dir);
  assert.equal(e.code, 0, e.err);
  assert.equal(e.out.trim().split('\n').length, 4, e.out);
});

test('.onnx render: the manifest records the input; --input caffe renders other bytes, and each manifest re-renders its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-onnx-render-'));
  const args = ['render', GOOGLENET, '--layer', 'inception_3a/output', '--channel', '11', '--size', '48', '--steps', '6', '--seed', '2'];
  const a = run(...args, '--out', join(dir, 'a.png'));
  assert.equal(a.code, 0, a.err);
  const ma = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
  assert.deepEqual({ preset: ma.input.preset, bgr: ma.input.bgr, order: ma.input.order, source: ma.input.source, guess: ma.input.guess },
    { preset: '0:255', bgr: true, order: 'BGR', source: 'onnx metadata', guess: false });
  const b = run(...args, '--input', 'caffe', '--out', join(dir, 'b.png'));
  assert.equal(b.code, 0, b.err);
  const mb = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
  assert.deepEqual([mb.input.preset, mb.input.source, mb.input.offset], ['caffe', 'you', [-104, -117, -123]]);
  assert.ok(!readFileSync(join(dir, 'a.png')).equals(readFileSync(join(dir, 'b.png'))), 'another input, another image');
  for (const n of ['a', 'b']) {
    const again = run('render', '--manifest', join(dir, `${n}.json`), '--out', join(dir, `${n}2.png`));
    assert.equal(again.code, 0, again.err);
    assert.ok(readFileSync(join(dir, `${n}2.png`)).equals(readFileSync(join(dir, `${n}.png`))), `${n}: the manifest re-renders the same bytes`);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, `${n}2.json`), 'utf8')).input, n === 'a' ? ma.input : mb.input);
  }
});

test('--input: an unknown preset, --bgr alone, and activations without a layer are one clear line', () => {
  userError(run('classify', '--input', 'vgg', image('cat.bmp')), /--input must be one of auto, imagenet, caffe, 0:1, -1:1, 0:255, got "vgg"/);
  userError(run('render', '--layer', '3', '--channel', '1', '--bgr'), /--bgr swaps the channels of a preset: give --input PRESET too/);
  userError(run('activations', image('cat.bmp')), /activations needs --layer/);
  userError(run('activations', '--layer', 'nope', image('cat.bmp')), /unknown layer "nope"/);
});
