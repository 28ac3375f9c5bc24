// scripts/wasm-relaxed.mjs: rewrites clang 14's prototype f32x4 fma (0xfd 0xaf) to the final
// f32x4.relaxed_madd (0xfd 0x105) by decoding every instruction, never by byte search.
// Small modules are hand-assembled here, with decoy bytes fd af 01 inside immediates and data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join, delimiter } from 'node:path';
import v8 from 'node:v8';
import { ROOT } from './paths.mjs';
import { finalizeRelaxed, forEachInstruction, WasmRelaxedError } from '../scripts/wasm-relaxed.mjs';

// Node 20 has relaxed SIMD behind a flag; set before any compile.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

// ---- a tiny assembler ----------------------------------------------------------------------
const uleb = (n) => { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
const str = (s) => [...uleb(s.length), ...Buffer.from(s)];
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, payload) => [id, ...uleb(payload.length), ...payload];
const I32 = 0x7f, V128 = 0x7b;
const PROTO = [0xfd, 0xaf, 0x01]; // prototype f32x4 fma
const FINAL = [0xfd, 0x85, 0x02]; // f32x4.relaxed_madd, sub-op 0x105 (relaxed-simd Overview)

/** A module: types [(i32 i32 i32 i32)->(), ()->(), (v128 v128 v128)->v128], an optional imported
 * function, functions { type, locals: [[count, type]], code }, one memory page, exports, data. */
function assemble({ importFunc = false, funcs, exports = [], data = [], names = null }) {
  const types = [[0x60, ...vec([I32, I32, I32, I32]), 0], [0x60, 0, 0], [0x60, ...vec([V128, V128, V128]), ...vec([V128])]];
  const bodies = funcs.map((f) => {
    const body = [...vec((f.locals ?? []).map(([n, t]) => [...uleb(n), t])), ...f.code];
    return [...uleb(body.length), ...body];
  });
  const out = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec(types)),
    ...(importFunc ? section(2, vec([[...str('env'), ...str('f'), 0x00, 1]])) : []),
    ...section(3, vec(funcs.map((f) => uleb(f.type)))),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...str('mem'), 0x02, 0], ...exports.map(([name, idx]) => [...str(name), 0x00, ...uleb(idx)])])),
    ...section(10, vec(bodies)),
    ...(data.length ? section(11, vec(data.map(([at, bytes]) => [0x00, 0x41, ...uleb(at), 0x0b, ...vec(bytes)]))) : []),
    ...(names ? section(0, [...str('name'), ...((sub) => [1, ...uleb(sub.length), ...sub])(vec(names.map(([i, n]) => [...uleb(i), ...str(n)])))]) : []),
  ];
  return Uint8Array.from(out);
}

const indexOfSeq = (hay, needle, from = 0) => {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};
const countSeq = (hay, needle) => { let n = 0; for (let i = indexOfSeq(hay, needle); i >= 0; i = indexOfSeq(hay, needle, i + 1)) n++; return n; };

// madd(pa, pb, pc, pout): v128 at pout = fma(v128 at pa, pb, pc); before it, instructions whose
// immediates hold the bytes fd af 01, and a block with a br_table.
const DECOY_V128 = [0xfd, 0xaf, 0x01, 0x00, 0x11, 0x22, 0x33, 0xfd, 0xaf, 0x01, 0x44, 0x55, 0x66, 0x77, 0xfd, 0xaf];
// Each decoy sits where a decoder that misjudged that immediate's length would read fd af 01 as an opcode.
const decoys = [
  0x41, 0x81, 0xfd, 0xaf, 0x01, 0x1a, //              i32.const 2883201 (LEB 81 fd af 01); drop
  0x42, 0x81, 0xfd, 0xaf, 0x01, 0x1a, //              i64.const 2883201; drop
  0x43, 0x00, 0xfd, 0xaf, 0x01, 0x1a, //              f32.const (bytes 00 fd af 01); drop
  0x44, 0, 0, 0, 0, 0, 0xfd, 0xaf, 0x01, 0x1a, //     f64.const; drop
  0xfd, 0x0c, ...DECOY_V128, 0x21, 0x04, //           v128.const; local.set 4
  0x41, 0x00, 0x28, 0x02, 0xfd, 0xaf, 0x01, 0x1a, //  i32.load align=4 offset=22525 (in the page); drop
  0x41, 0x00, 0x04, 0x40, //                          if (0), never taken:
  0x41, 0x00, 0x28, 0x02, 0x81, 0xfd, 0xaf, 0x01, 0x1a, 0x0b, // i32.load offset=2883201; drop; end
  0x02, 0x40, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x00, 0x0b, // block; i32.const 0; br_table [0] 0; end
];
const load = (p) => [0x20, p, 0xfd, 0x00, 0x04, 0x00]; // local.get p; v128.load
// local.get pout; a; b; <combine>; v128.store; end
const maddCode = (combine) => [...decoys, 0x20, 3, ...load(0), ...load(1), ...combine, 0xfd, 0x0b, 0x04, 0x00, 0x0b];
const withOp = (op) => [...load(2), ...op]; // fma(a, b, c)
const maddModule = (op) => assemble({
  funcs: [{ type: 0, locals: [[1, V128]], code: maddCode(withOp(op)) }],
  exports: [['madd', 0]],
  data: [[1024, [0xfd, 0xaf, 0x01, 0xfd, 0xaf, 0x01]]],
});
// The same with f32x4.mul, f32x4.add (final SIMD, valid without flags).
const plainModule = () => assemble({
  funcs: [{ type: 0, locals: [[1, V128]], code: maddCode([0xfd, 0xe6, 0x01, ...load(2), 0xfd, 0xe4, 0x01]) }],
  exports: [['madd', 0]],
});

// Relaxed SIMD present? Probe with a hand-written final-encoding relaxed_madd.
const RELAXED = WebAssembly.validate(assemble({ funcs: [{ type: 2, code: [0x20, 0, 0x20, 1, 0x20, 2, ...FINAL, 0x0b] }] }));
const NO_RELAXED = !RELAXED && 'this runtime has no relaxed SIMD even with --experimental-wasm-relaxed-simd';

// The disassembler, for an independent decoding of the real module.
const OBJDUMP = ['llvm-objdump-14', 'llvm-objdump'].flatMap((c) => (process.env.PATH ?? '').split(delimiter).map((d) => join(d, c)))
  .find((p) => existsSync(p));
function objdump(file) {
  // Through a file: a pipe into spawnSync is twice as slow for these ~5 MB.
  const dir = mkdtempSync(join(tmpdir(), 'wasm-relaxed-'));
  try {
    const fd = openSync(join(dir, 'dis.txt'), 'w');
    const r = spawnSync(OBJDUMP, ['-d', '--no-show-raw-insn', file], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    closeSync(fd);
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(join(dir, 'dis.txt'), 'latin1');
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

// ---- the real build -------------------------------------------------------------------------
const FEATVIZ = join(ROOT, 'wasm/featviz.wasm');

test('featviz.wasm (plain SIMD): every function decodes, nothing is rewritten, bytes identical', () => {
  assert.ok(existsSync(FEATVIZ), `${FEATVIZ} not built (make -f emcc.mk wasm)`);
  const bytes = new Uint8Array(readFileSync(FEATVIZ));
  const { functions } = forEachInstruction(bytes);
  assert.ok(functions > 100, `only ${functions} functions`);
  const out = finalizeRelaxed(bytes);
  assert.equal(out.rewritten, 0);
  assert.notEqual(out.bytes.buffer, bytes.buffer, 'a copy');
  assert.ok(Buffer.from(out.bytes).equals(Buffer.from(bytes)), 'output byte-identical');
});

test('featviz.wasm: instruction boundaries match llvm-objdump\'s disassembly', { skip: !OBJDUMP && 'no llvm-objdump' }, () => {
  const bytes = new Uint8Array(readFileSync(FEATVIZ));
  const starts = [];
  const { functions, codeStart } = forEachInstruction(bytes, ({ offset }) => starts.push(offset));
  const ours = starts.map((o) => o - codeStart);
  const dis = objdump(FEATVIZ);
  // Offsets are relative to the code section's payload; one line per instruction.
  const theirs = [...dis.matchAll(/^ +([0-9a-f]+): /gm)].map((m) => parseInt(m[1], 16));
  assert.equal(Number(dis.match(/# (\d+) functions in section/)[1]), functions);
  assert.equal(ours.length, theirs.length, 'instruction count');
  const first = ours.findIndex((o, i) => o !== theirs[i]);
  assert.equal(first, -1, `first differing instruction: ours ${ours[first]?.toString(16)}, objdump ${theirs[first]?.toString(16)}`);
});

const PROTO_BUILD = join(ROOT, 'build/wasm-relaxed/featviz.proto.wasm');
test('relaxed build (clang 14 output): every prototype fma rewritten, the result validates', { skip: !existsSync(PROTO_BUILD) && 'build/wasm-relaxed/featviz.proto.wasm not built' }, (t) => {
  const bytes = new Uint8Array(readFileSync(PROTO_BUILD));
  const out = finalizeRelaxed(bytes);
  assert.ok(out.rewritten > 0);
  // Each rewrite is the two sub-op bytes of an instruction fd af 01 → fd 85 02; nothing moves.
  const changed = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== out.bytes[i]) changed.push(i);
  assert.equal(changed.length, 2 * out.rewritten);
  const starts = (b) => { const s = []; forEachInstruction(b, ({ offset }) => s.push(offset)); return s; };
  const before = new Set(starts(bytes));
  for (let k = 0; k < changed.length; k += 2) {
    const at = changed[k] - 1;
    assert.ok(before.has(at) && changed[k + 1] === at + 2, `rewrite at ${at} is an instruction`);
    assert.deepEqual([...bytes.subarray(at, at + 3), ...out.bytes.subarray(at, at + 3)], [...PROTO, ...FINAL]);
  }
  assert.deepEqual(starts(out.bytes), [...before], 'same instruction boundaries');
  if (!RELAXED) return t.skip(NO_RELAXED);
  assert.equal(WebAssembly.validate(bytes), false, 'the prototype encoding is rejected');
  assert.equal(WebAssembly.validate(out.bytes), true);
});

// ---- hand-assembled modules ---------------------------------------------------------------
test('only the real fma is rewritten, not the bytes fd af 01 in immediates and data', () => {
  const input = maddModule(PROTO);
  const decoyCount = countSeq(input, PROTO);
  assert.ok(decoyCount >= 9, `${decoyCount} occurrences`);
  const body = Uint8Array.from(maddCode(withOp(PROTO)));
  const real = indexOfSeq(input, body) + body.length - 1 - 4 - PROTO.length; // before v128.store, end
  assert.deepEqual([...input.subarray(real, real + 3)], PROTO);

  const { bytes, rewritten } = finalizeRelaxed(input);
  assert.equal(rewritten, 1);
  assert.deepEqual([...bytes.subarray(real, real + 3)], FINAL);
  const diff = [];
  for (let i = 0; i < input.length; i++) if (input[i] !== bytes[i]) diff.push(i);
  assert.deepEqual(diff, [real + 1, real + 2]);
  assert.equal(countSeq(bytes, PROTO), decoyCount - 1);
  assert.equal(input[real], 0xfd, 'input untouched');

  // Already final: nothing more to do.
  const again = finalizeRelaxed(bytes);
  assert.equal(again.rewritten, 0);
  assert.ok(Buffer.from(again.bytes).equals(Buffer.from(bytes)));
});

test('the rewritten module validates and computes a*b + c per lane', { skip: NO_RELAXED }, () => {
  const input = maddModule(PROTO);
  assert.equal(WebAssembly.validate(input), false, 'V8 rejects the prototype encoding');
  const { bytes } = finalizeRelaxed(input);
  assert.equal(WebAssembly.validate(bytes), true);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const f32 = new Float32Array(exports.mem.buffer);
  // Exact in f32 with one rounding or two, and distinct from -a*b + c, a + b*c, a*b - c.
  const a = [1.5, -2, 3.25, 0.5], b = [2, 4, -1.5, 8], c = [0.25, 1, 10, -3];
  f32.set(a, 0); f32.set(b, 4); f32.set(c, 8);
  exports.madd(0, 16, 32, 48);
  assert.deepEqual([...f32.subarray(12, 16)], a.map((x, i) => Math.fround(x * b[i] + c[i])));
  assert.deepEqual([...new Uint8Array(exports.mem.buffer, 1024, 3)], PROTO, 'data segment untouched');
});

test('every kind of immediate decodes to the hand-counted instruction boundaries', () => {
  const b16 = [...Array(16).keys()];
  const ops = [
    [0x01], [0x02, 0x40], [0x0b], [0x03, 0x7f], [0x0b], [0x04, 0x00], [0x05], [0x0b], // blocktypes: empty, i32, type 0
    [0x0c, 0x00], [0x0d, 0x80, 0x01], [0x0e, 0x02, 0x00, 0x01, 0x00], [0x0f], [0x10, 0x81, 0x01], [0x11, 0x02, 0x00],
    [0x1a], [0x1b], [0x1c, 0x02, 0x7f, 0x7b], [0x20, 0x85, 0x02], [0x24, 0x00], [0x25, 0x00], [0x26, 0x01],
    [0x28, 0x02, 0xfd, 0xaf, 0x01], [0x3e, 0x03, 0x00], [0x3f, 0x00], [0x40, 0x00],
    [0x41, 0x7f], [0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], [0x43, 1, 2, 3, 4], [0x44, ...b16.slice(0, 8)],
    [0x6a], [0xc4], [0xd0, 0x70], [0xd1], [0xd2, 0x03],
    [0xfc, 0x00], [0xfc, 0x07], [0xfc, 0x08, 0x01, 0x00], [0xfc, 0x09, 0x01], [0xfc, 0x0a, 0x00, 0x00], [0xfc, 0x0b, 0x00],
    [0xfc, 0x0c, 0x01, 0x00], [0xfc, 0x0d, 0x01], [0xfc, 0x0e, 0x00, 0x01], [0xfc, 0x0f, 0x00], [0xfc, 0x10, 0x00], [0xfc, 0x11, 0x00],
    [0xfd, 0x00, 0x04, 0x00], [0xfd, 0x0b, 0x04, 0x10], [0xfd, 0x5c, 0x02, 0x00], [0xfd, 0x5d, 0x03, 0x00],
    [0xfd, 0x0c, ...b16], [0xfd, 0x0d, ...b16], [0xfd, 0x15, 0x0f], [0xfd, 0x22, 0x01],
    [0xfd, 0x54, 0x00, 0x00, 0x0f], [0xfd, 0x5b, 0x03, 0x08, 0x01], [0xfd, 0x0e], [0xfd, 0x53], [0xfd, 0x5e], [0xfd, 0x99, 0x01],
    [0xfd, 0x9b, 0x01], [0xfd, 0xba, 0x01], [0xfd, 0xff, 0x01], [0xfd, ...FINAL.slice(1)], [0xfd, 0x94, 0x02], // 0x114
    [0x0b],
  ];
  const m = assemble({ funcs: [{ type: 1, locals: [[2, I32], [1, V128]], code: ops.flat() }] });
  const first = indexOfSeq(m, ops.flat());
  const expected = [];
  ops.reduce((at, op) => (expected.push(at), at + op.length), first);
  const seen = [];
  forEachInstruction(m, ({ offset }) => seen.push(offset));
  assert.deepEqual(seen, expected);
  const out = finalizeRelaxed(m);
  assert.equal(out.rewritten, 0);
  assert.ok(Buffer.from(out.bytes).equals(Buffer.from(m)));
});

test('other prototype relaxed ops throw, naming the op and the function', () => {
  // The relaxed-simd Overview's prototype opcodes (also what clang 14 emits).
  const others = {
    0xa2: 'i8x16.relaxed_swizzle', 0xa5: 'i32x4.relaxed_trunc_f32x4_s', 0xa6: 'i32x4.relaxed_trunc_f32x4_u',
    0xc5: 'i32x4.relaxed_trunc_f64x2_s_zero', 0xc6: 'i32x4.relaxed_trunc_f64x2_u_zero', 0xb0: 'f32x4.fms',
    0xcf: 'f64x2.fma', 0xd0: 'f64x2.fms', 0xb2: 'i8x16.laneselect', 0xb3: 'i16x8.laneselect',
    0xd2: 'i32x4.laneselect', 0xd3: 'i64x2.laneselect', 0xb4: 'f32x4.relaxed_min', 0xe2: 'f32x4.relaxed_max',
    0xd4: 'f64x2.relaxed_min', 0xee: 'f64x2.relaxed_max',
  };
  for (const [sub, name] of Object.entries(others)) {
    // Function 0 is imported; the op sits in function 2, after a proper fma in function 1.
    const input = assemble({
      importFunc: true,
      funcs: [
        { type: 2, code: [0x20, 0, 0x20, 1, 0x20, 2, ...PROTO, 0x0b] },
        { type: 2, code: [0x20, 0, 0x20, 1, 0x20, 2, 0xfd, ...uleb(Number(sub)), 0x0b] },
      ],
      names: [[2, 'bad_op']],
    });
    assert.throws(() => finalizeRelaxed(input), (e) => e instanceof WasmRelaxedError &&
      e.message.includes(name) && /function 2 \(bad_op\)/.test(e.message) && e.message.includes(`0xfd 0x${Number(sub).toString(16)}`),
    name);
  }
});

test('truncated modules and unknown opcodes throw WasmRelaxedError, never crash', () => {
  const valid = plainModule();
  assert.equal(WebAssembly.validate(valid), true, 'the base module is valid');
  assert.equal(finalizeRelaxed(valid).rewritten, 0);
  // Every cut: an error of ours, or (at a section boundary) a module V8 accepts too.
  let threw = 0;
  for (let len = 0; len < valid.length; len++) {
    const cut = valid.subarray(0, len);
    try { finalizeRelaxed(cut); assert.ok(WebAssembly.validate(cut), `cut at ${len} accepted`); }
    catch (e) { assert.ok(e instanceof WasmRelaxedError, `cut at ${len}: ${e}`); threw++; }
  }
  assert.ok(threw > valid.length - 10, `${threw} of ${valid.length} cuts threw`);

  // Sizes consistent, instructions cut short: mid v128.const, mid LEB, no final end.
  for (const code of [[0xfd, 0x0c, 1, 2, 3], [0x41, 0x80], [0x20, 0, 0x1a], [0xfd]]) {
    const m = assemble({ funcs: [{ type: 1, code }] });
    assert.throws(() => finalizeRelaxed(m), (e) => e instanceof WasmRelaxedError && /truncated|ends at/.test(e.message), String(code));
  }
  // Unknown opcodes, with the offset in the message.
  for (const [code, what] of [[[0x27], '0x27'], [[0xfd, 0x9a, 0x01], '0xfd 0x9a'], [[0xfd, 0xc2, 0x01], '0xfd 0xc2'],
    [[0xfe, 0x00], '0xfe'], [[0xfc, 0x12], '0xfc 18'], [[0xfd, 0x80, 0x04], '0xfd 0x200']]) {
    const m = assemble({ funcs: [{ type: 1, code: [0x01, ...code, 0x0b] }] });
    const at = indexOfSeq(m, [0x01, ...code, 0x0b]) + 1;
    assert.throws(() => finalizeRelaxed(m), (e) => e instanceof WasmRelaxedError &&
      e.message.includes(`unknown opcode ${what}`) && e.message.includes(`offset 0x${at.toString(16)}`), what);
  }
  assert.throws(() => finalizeRelaxed(Uint8Array.from(Buffer.from('not wasm at all'))), WasmRelaxedError);

  // Random byte mutations: each is decoded or rejected with our error (seeded, reproducible).
  let seed = 0x2545f491;
  const rnd = () => ((seed ^= seed << 13, seed ^= seed >>> 17, seed ^= seed << 5) >>> 0);
  const base = maddModule(PROTO);
  for (let i = 0; i < 2000; i++) {
    const m = Uint8Array.from(base);
    for (let k = 1 + (rnd() % 3); k > 0; k--) m[rnd() % m.length] = rnd() & 0xff;
    try { finalizeRelaxed(m); } catch (e) { assert.ok(e instanceof WasmRelaxedError, `mutant ${i}: ${e.stack}`); }
  }
});
