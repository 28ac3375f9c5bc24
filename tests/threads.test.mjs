// The threads build (wasm/featviz-threads.wasm, wasm/threads.js, src/threads.h,
// src/split.h) in Node: renders and inference give the same bytes on 1, 2, 4 and
// 8 threads (more threads than this machine's cores work too) as the plain
// single-threaded build, for MobileNet v2 (batch 1, batch 4 with diversity,
// logits of a photo), GoogLeNet (batch 2 with diversity) and MobileNet v1 at an
// odd size; the worker pool's threaded worker 0 against a single-threaded one; memory grown while
// helpers run is theirs too; close() goes back to one thread. No timing here
// (bench/bench.mjs measures).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadEngine } from '../wasm/engine.js';
import { threadsAvailable } from '../wasm/threads.js';
import { Pool } from '../wasm/pool.js';
import { model, image } from './paths.mjs';

const THREADS_WASM = new URL('../wasm/featviz-threads.wasm', import.meta.url);
const V2 = readFileSync(model('mobilenet_v2_1.0_224_quant.tflite'));
const V1 = readFileSync(model('mobilenet_v1_0.25_128_quant.tflite'));
const G = readFileSync(model('googlenet_bvlc.onnx'));
const LAYER = 'MobilenetV2/expanded_conv_8/add';
const COUNTS = [1, 2, 4, 8];

let plain;
const threaded = {}; // threads → engine of the threads build (1: no helpers)
before(async () => {
  plain = await loadEngine();
  threaded[1] = await loadEngine({ url: THREADS_WASM });
  for (const n of COUNTS.slice(1)) threaded[n] = await loadEngine({ threads: n });
});
after(() => { for (const e of Object.values(threaded)) e.close(); });

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * A render's `steps` steps: the objective after each (a float32 of the network's
 * activations: any bit that moves upstream moves it) and the PNG bytes of the batch.
 */
function renderRun(fv, bytes, opts, steps) {
  const m = fv.loadModel(bytes);
  try {
    const r = fv.render(m, opts);
    try {
      const objective = [];
      for (let i = 0; i < steps; i++) {
        r.step(1);
        objective.push(r.objective);
      }
      return { objective, png: sha(r.png()) };
    } finally {
      r.free();
    }
  } finally {
    m.free();
  }
}

/** The same render on the plain build and on every thread count: the same objectives, bit for bit, and PNG bytes. */
function sameEverywhere(bytes, opts, steps) {
  const want = renderRun(plain, bytes, opts, steps);
  for (const n of COUNTS) assert.deepEqual(renderRun(threaded[n], bytes, opts, steps), want, `${n} thread(s) vs the plain build`);
}

test('Node has shared memory; the threads build runs the threads asked for', () => {
  assert.deepEqual(threadsAvailable(), { available: true, reason: '' });
  for (const n of COUNTS) {
    assert.equal(threaded[n].threads, n);
    assert.equal(threaded[n].threadsReason, '');
    assert.ok(threaded[n].memory.buffer instanceof SharedArrayBuffer, 'the threads build runs on shared memory');
  }
  assert.ok(!(plain.memory.buffer instanceof SharedArrayBuffer), 'the plain build keeps its own memory');
});

test('MobileNet v2 Lucid render, batch 1: the same PNG bytes on 1, 2, 4 and 8 threads as the plain build', () => {
  // 3 steps with the redirected ReLU6 gradient, 3 without
  sameEverywhere(V2, { size: 128, redirect_steps: 3, objective: { kind: 'channel', layer: LAYER, channel: 12 } }, 6);
});

test('GoogLeNet (dense 7×7 s2, 3×3, 5×5 and wide 1×1 convs, LRN, ceil-mode pools, concats), batch 2 + diversity: the same bytes on every thread count', () => {
  // the packed-weight GEMMs of both directions, split at the forward's im2col blocks and the gradient's input rows
  sameEverywhere(G, { size: 96, batch: 2, diversity: 50, redirect_steps: 1, objective: { kind: 'channel', layer: 'inception_4c/output', channel: 97 } }, 3);
});

test('Concat without copies, fused ReLUs, pruned branches: GoogLeNet rewritten gives the same bytes as op by op, on 1 and 2 threads, in less memory', () => {
  // the inception branches' ReLUs write their slices of the concat, the other ReLUs run inside their convs;
  // the redirected rule runs on both (redirect_steps); a channel of inception_4c/output reaches one of its branches
  // (fv_graph_prune): the other three run in neither direction
  const cases = [
    { size: 96, batch: 2, redirect_steps: 2, objective: { kind: 'channel', layer: 'inception_4c/output', channel: 97 } },
    { size: 96, redirect_steps: 1, objective: { kind: 'channel', layer: 'inception_4b/5x5', channel: 3 } }, // a branch: pinned, read itself
  ];
  const m = plain.loadModel(G);
  const layers = m.layers();
  m.free();
  for (const opts of cases) {
    const runs = [];
    for (const fv of [plain, threaded[2]]) {
      for (const on of [true, false]) {
        fv.graphFusions(on);
        try { runs.push(renderRun(fv, G, opts, 3)); } finally { fv.graphFusions(true); }
      }
    }
    for (const run of runs.slice(1)) assert.deepEqual(run, runs[0], `views on/off, 1/2 threads: ${JSON.stringify(opts.objective)}`);
  }
  // the arena without rewrites minus with: every ReLU up to inception_4c/output, activation and gradient, batch 2,
  // at 96 px (the native 224's maps × 3/7: 112 → 48, 28 → 12, 14 → 6): a branch's is a view, another's input
  // (the conv's output) is not stored
  const last = layers.find((l) => l.name === 'inception_4c/output').index;
  const relus = layers.filter((l) => l.index < last && l.op === 'Relu');
  assert.equal(relus.length, 3 + 5 * 6);
  const want = relus.reduce((a, l) => a + 2 * 2 * 4 * (l.shape[1] * 3 / 7) * (l.shape[2] * 3 / 7) * l.shape[3], 0);
  const heap = {};
  for (const on of [true, false]) {
    plain.graphFusions(on);
    const mm = plain.loadModel(G);
    const h0 = plain.heapInUse();
    const r = plain.render(mm, cases[0]);
    heap[on] = plain.heapInUse() - h0;
    r.free();
    mm.free();
  }
  plain.graphFusions(true);
  assert.ok(Math.abs(heap.false - heap.true - want) < 65536, `rewrites save ${heap.false - heap.true} bytes, the ReLUs hold ${want}`);
});

test('the pool: worker 0 renders on the threads build, the others on one thread, the same PNG bytes', async () => {
  const pool = new Pool({ size: 2, threads: 2 });
  try {
    const info = await pool.ready;
    assert.equal(info.threads, 2, info.threadsReason);
    await pool.loadModel('v1', V1, { name: 'v1.tflite' });
    const opts = { size: 64, steps: 6, redirect_steps: 2, objective: { kind: 'channel', layer: 5, channel: 3 } };
    const got = [];
    for (const worker of [0, 1]) {
      const job = pool.render('v1', opts, { worker, frameInterval: 1e9 });
      await job.started;
      await job.finished;
      got.push({ threads: job.threads, png: sha(await job.png()) });
      await job.free();
    }
    assert.deepEqual(got.map((g) => g.threads), [2, 1]);
    assert.equal(got[0].png, got[1].png, 'the same PNG bytes on 2 threads and on 1');
  } finally {
    pool.terminate();
  }
});

test('MobileNet v2, batch 4 + diversity: the same PNG bytes on 1, 2, 4 and 8 threads as the plain build', () => {
  sameEverywhere(V2, { size: 128, batch: 4, diversity: 100, redirect_steps: 2, objective: { kind: 'channel', layer: LAYER, channel: 12 } }, 4);
});

test('issue 12\'s parameterizations (alpha, a CPPN drawn larger, a pyramid with shared params): the same bytes on every thread count', () => {
  const objective = { kind: 'channel', layer: LAYER, channel: 12 };
  sameEverywhere(V2, { size: 64, alpha: true, redirect_steps: 1, objective }, 3);
  sameEverywhere(V2, { size: 32, param: 'cppn', cppn_size: 48, alpha: true, objective }, 2);
  sameEverywhere(V2, { size: 64, batch: 3, param: 'laplacian', shared: true, objective: `interpolate(${LAYER}, 12, 40)` }, 3);
});

test('MobileNet v2 inference of a photo: the same logits (every bit) and labels on every thread count', () => {
  const photo = readFileSync(image('cat.bmp'));
  const logits = (fv) => {
    const m = fv.loadModel(V2);
    const softmax = m.layers().findIndex((l) => l.op === 'SOFTMAX');
    const inf = fv.infer(m, { lastLayer: softmax - 1 });
    try {
      inf.runImage(photo);
      return { bits: sha(new Uint8Array(inf.layer(softmax - 1).data.buffer)), top: fv.classify(m, photo, 5) };
    } finally {
      inf.free();
      m.free();
    }
  };
  const want = logits(plain);
  assert.ok(want.top[0].index === 286 || want.top[0].index === 282 || want.top[0].index === 283, 'a cat (a real photo, a real answer)');
  for (const n of COUNTS) assert.deepEqual(logits(threaded[n]), want, `${n} thread(s)`);
});

test('MobileNet v1 0.25 at an odd size, batch 3 with diversity, and its class logit at the native size: the same bytes', () => {
  sameEverywhere(V1, { size: 99, batch: 3, diversity: 50, redirect_steps: 1, objective: { kind: 'channel', layer: 'MobilenetV1/MobilenetV1/Conv2d_9_pointwise/Relu6', channel: 5 } }, 3);
  sameEverywhere(V1, { size: 128, redirect_steps: 1, objective: { kind: 'class', class: 89 } }, 3);
});

test('memory grown while the helpers run is theirs too: a render larger than the initial memory, same bytes', async () => {
  const fv = await loadEngine({ threads: 2 });
  try {
    const before = fv.memoryBytes();
    const opts = { size: 224, batch: 6, diversity: 10, redirect_steps: 1, objective: { kind: 'channel', layer: LAYER, channel: 3 } };
    const got = renderRun(fv, V2, opts, 2);
    assert.ok(fv.memoryBytes() > 2 * before, `the memory grew (${before} → ${fv.memoryBytes()} bytes)`);
    assert.deepEqual(got, renderRun(plain, V2, opts, 2));
  } finally {
    fv.close();
  }
});

test('close() ends the helpers; the engine goes on, on one thread, with the same bytes', async () => {
  const fv = await loadEngine({ threads: 3 });
  const opts = { size: 64, redirect_steps: 1, objective: { kind: 'channel', layer: LAYER, channel: 7 } };
  const want = renderRun(plain, V2, opts, 3);
  assert.deepEqual(renderRun(fv, V2, opts, 3), want);
  fv.close();
  assert.equal(fv.threads, 1);
  assert.equal(fv.x.fv_threads_alive(), 0, 'no helper left in its loop');
  assert.deepEqual(renderRun(fv, V2, opts, 3), want);
});

test('loadEngine refuses bad thread counts and the relaxed build with threads; threads: 1 is the plain build', async () => {
  for (const threads of [0, -1, 1.5, '2']) await assert.rejects(loadEngine({ threads }), /threads must be a whole number/);
  await assert.rejects(loadEngine({ threads: 2, relaxed: true }), /relaxed-SIMD build has no threads/);
  const one = await loadEngine({ threads: 1 });
  assert.ok(!(one.memory.buffer instanceof SharedArrayBuffer), 'threads: 1 loads featviz.wasm');
  const many = await loadEngine({ threads: 17 });
  assert.equal(many.threads, 1, 'more threads than the engine takes: one, with a reason');
  assert.match(many.threadsReason, /refused 17 threads/);
  many.close();
});
