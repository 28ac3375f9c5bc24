// Runs the C test programs (tests/c/*_test.c) under node --test: each natively
// (gcc, ASan + UBSan, scalar kernels) and as WASI wasm (emcc -O3 -msimd128,
// SIMD kernels); the kernel and graph tests also in the relaxed-SIMD build
// (fused multiply-add), where the runtime has relaxed SIMD. Built by
// `make -f emcc.mk` (npm test runs it first). Each program runs in a child
// process of its own (tests/c-programs.mjs): a crash fails that program, with
// its signal and last lines, and the others still run. Never retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { programs, runProgram, relaxedNodeFlags } from './c-programs.mjs';

const noRelaxed = relaxedNodeFlags() === null && 'this runtime has no relaxed SIMD';

for (const p of programs()) {
  test(p.title, { skip: p.build === 'relaxed' && noRelaxed }, () => {
    const r = runProgram(p);
    assert.ok(r.ok, r.why);
  });
}
