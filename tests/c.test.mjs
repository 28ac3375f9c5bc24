// Runs the C test programs (tests/c/*_test.c) under node --test: each natively
// (gcc, ASan + UBSan, scalar kernels) and as WASI wasm (emcc -O3 -msimd128,
// SIMD kernels); the kernel and graph tests also in the relaxed-SIMD build
// (fused multiply-add), where the runtime has relaxed SIMD. Built by
// `make -f emcc.mk` (npm test runs it first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, mkdtempSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { WASI } from 'node:wasi';
import { join } from 'node:path';
import v8 from 'node:v8';
import { ROOT, MODELS, IMAGES } from './paths.mjs';
import { relaxedSimdSupported } from '../wasm/engine.js';

// Node 20 has relaxed SIMD behind a flag (Chromium ships it); set before any compile.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const RELAXED = relaxedSimdSupported();
const RELAXED_TESTS = new Set(['kernels_conv_test', 'kernels_misc_test', 'graph_test']);

// Tests that read the model store run natively only: Emscripten 3.1.6's standalone
// libc has no WASI path_open, so fopen cannot reach preopened folders. They test
// parsing, not SIMD kernels, so the native ASan run is the one that matters.
const NATIVE_ONLY = new Set(['tflite_test', 'options_test']);

const names = readdirSync(join(ROOT, 'tests/c')).filter((f) => f.endsWith('_test.c')).map((f) => f.slice(0, -2));

// The closing line "name: N passed, N failed" of a C test program.
function summary(out) {
  const m = out.match(/(\d+) passed, (\d+) failed\s*$/m);
  return m ? { passed: +m[1], failed: +m[2] } : null;
}

for (const name of names) {
  test(`${name} (native, ASan+UBSan)`, () => {
    const bin = join(ROOT, 'build/native/tests', name);
    assert.ok(existsSync(bin), `${bin} not built`);
    const r = spawnSync(bin, [], {
      cwd: ROOT, encoding: 'utf8', timeout: 600_000,
      env: { ...process.env, FEATVIZ_MODELS: MODELS, FEATVIZ_IMAGES: IMAGES, ASAN_OPTIONS: 'detect_leaks=1' },
    });
    const out = r.stdout + r.stderr;
    const s = summary(r.stdout);
    assert.equal(r.status, 0, out.slice(-4000));
    assert.ok(s && s.passed > 0 && s.failed === 0, out.slice(-4000));
  });

  if (NATIVE_ONLY.has(name)) continue;
  test(`${name} (wasm SIMD)`, () => runWasi(join(ROOT, 'build/wasm/tests', `${name}.wasm`), name));
  if (!RELAXED_TESTS.has(name)) continue;
  test(`${name} (wasm relaxed SIMD)`, { skip: !RELAXED && 'this runtime has no relaxed SIMD' },
    () => runWasi(join(ROOT, 'build/wasm-relaxed/tests', `${name}.wasm`), name));
}

// Runs a WASI test program; its closing summary must report passes and no failure.
async function runWasi(file, name) {
  assert.ok(existsSync(file), `${file} not built`);
  // WASI writes to a real file descriptor; a temp file collects the output.
  const outPath = join(mkdtempSync(join(tmpdir(), 'fvwasi-')), 'out.txt');
  const fd = openSync(outPath, 'w');
  const wasi = new WASI({
    version: 'preview1', args: [name], stdout: fd, stderr: fd,
    env: { FEATVIZ_MODELS: '/models', FEATVIZ_IMAGES: '/images' },
    preopens: { '/models': MODELS, '/images': IMAGES },
  });
  const { instance } = await WebAssembly.instantiate(readFileSync(file), { wasi_snapshot_preview1: wasi.wasiImport, env: { emscripten_notify_memory_growth() {} } });
  let code, out;
  try {
    code = wasi.start(instance);
  } finally {
    closeSync(fd);
    out = readFileSync(outPath, 'utf8');
  }
  const s = summary(out);
  assert.equal(code, 0, out.slice(-4000));
  assert.ok(s && s.passed > 0 && s.failed === 0, out.slice(-4000));
}
