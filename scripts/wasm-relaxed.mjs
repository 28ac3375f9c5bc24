// wasm-relaxed.mjs — rewrites clang 14's prototype relaxed-SIMD fma to the final encoding.
//
// Debian's clang 14 (Emscripten 3.1.6) predates the final relaxed-SIMD opcode numbers: it
// writes f32x4 fma as 0xfd 0xaf 0x01 (a hole of the final SIMD opcode space), which current
// V8 rejects. The final f32x4.relaxed_madd (a*b + c, the same operation) is 0xfd 0x85 0x02
// (sub-op 0x105), also three bytes, so no size or offset moves. The bytes fd af 01 can also
// occur inside immediates and data, so every function body is decoded instruction by
// instruction and only real instructions are rewritten. Any other prototype relaxed op is
// an error: we don't use them, and a wrong encoding must not slip through.
//
//   node scripts/wasm-relaxed.mjs in.wasm out.wasm
//   import { finalizeRelaxed } from './wasm-relaxed.mjs'  → { bytes (a copy), rewritten }
//
// Opcodes: the WebAssembly core spec (binary/instructions), the SIMD proposal's BinarySIMD.md,
// and the relaxed-simd Overview's table of final and prototype opcodes.

import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export class WasmRelaxedError extends Error {}

const PROTO_FMA_F32X4 = 0xaf;
const FINAL_MADD_F32X4 = 0x105;

// Prototype relaxed-SIMD sub-ops (relaxed-simd Overview, "prototype opcode" column; the same
// numbers clang 14 emits). All are holes of the final SIMD space.
const PROTOTYPE_RELAXED = new Map([
  [0xa2, 'i8x16.relaxed_swizzle'], [0xa5, 'i32x4.relaxed_trunc_f32x4_s'],
  [0xa6, 'i32x4.relaxed_trunc_f32x4_u'], [0xc5, 'i32x4.relaxed_trunc_f64x2_s_zero'],
  [0xc6, 'i32x4.relaxed_trunc_f64x2_u_zero'], [0xaf, 'f32x4.fma'], [0xb0, 'f32x4.fms'],
  [0xcf, 'f64x2.fma'], [0xd0, 'f64x2.fms'], [0xb2, 'i8x16.laneselect'],
  [0xb3, 'i16x8.laneselect'], [0xd2, 'i32x4.laneselect'], [0xd3, 'i64x2.laneselect'],
  [0xb4, 'f32x4.relaxed_min'], [0xe2, 'f32x4.relaxed_max'], [0xd4, 'f64x2.relaxed_min'],
  [0xee, 'f64x2.relaxed_max'],
]);

// Final SIMD sub-ops by immediate kind. Every sub-op not listed is unknown.
const SIMD_MEMARG = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x5c, 0x5d]);
const SIMD_BYTES16 = new Set([0x0c, 0x0d]); // v128.const, i8x16.shuffle
const isLaneOp = (s) => s >= 0x15 && s <= 0x22; // extract/replace_lane: lane byte
const isMemLaneOp = (s) => s >= 0x54 && s <= 0x5b; // load/store*_lane: memarg + lane byte
const SIMD_PLAIN_RANGES = [
  [0x0e, 0x14], [0x23, 0x53], [0x5e, 0x99], [0x9b, 0xa1], [0xa3, 0xa4], [0xa7, 0xae],
  [0xb1, 0xb1], [0xb5, 0xba], [0xbc, 0xc1], [0xc3, 0xc4], [0xc7, 0xce], [0xd1, 0xd1],
  [0xd5, 0xe1], [0xe3, 0xed], [0xef, 0xff],
  [0x100, 0x114], // final relaxed SIMD (already final: left alone)
];
const isSimdPlain = (s) => SIMD_PLAIN_RANGES.some(([lo, hi]) => s >= lo && s <= hi);

const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);
const REFTYPES = new Set([0x70, 0x6f]);

const hex = (n) => '0x' + n.toString(16);

// A bounds-checked cursor over bytes[pos, end).
class Reader {
  constructor(bytes, pos, end) { this.b = bytes; this.pos = pos; this.end = end; }
  fail(msg, at = this.pos) { throw new WasmRelaxedError(`offset ${hex(at)}: ${msg}`); }
  u8() {
    if (this.pos >= this.end) this.fail('unexpected end (truncated)');
    return this.b[this.pos++];
  }
  skip(n) {
    if (n > this.end - this.pos) this.fail(`unexpected end (truncated): ${n} bytes needed`);
    this.pos += n;
  }
  // LEB128 of at most maxBytes bytes; returns the unsigned value of its bits (skip-only for signed).
  leb(maxBytes, what) {
    const start = this.pos;
    let value = 0, scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (!(byte & 0x80)) return value;
    }
    return this.fail(`${what}: LEB128 longer than ${maxBytes} bytes`, start);
  }
  u32(what = 'u32') {
    const start = this.pos;
    const v = this.leb(5, what);
    if (v > 0xffffffff) this.fail(`${what}: out of u32 range`, start);
    return v;
  }
  name() {
    const n = this.u32('name length');
    const start = this.pos;
    this.skip(n);
    return new TextDecoder().decode(this.b.subarray(start, start + n));
  }
  zeroByte(what) {
    const at = this.pos;
    if (this.u8() !== 0) this.fail(`${what}: expected 0x00 (multiple memories are not supported)`, at);
  }
  memarg() {
    const at = this.pos;
    if (this.u32('memarg align') >= 64) this.fail('memarg with a memory index (multi-memory) is not supported', at);
    this.u32('memarg offset');
  }
}

// Sections of the module: [{ id, start, end }] (payload bounds), after checking the header.
function sections(bytes) {
  const r = new Reader(bytes, 0, bytes.length);
  r.skip(8);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (magic.some((m, i) => bytes[i] !== m)) r.fail('not a WebAssembly version 1 module', 0);
  const out = [];
  while (r.pos < r.end) {
    const at = r.pos;
    const id = r.u8();
    const size = r.u32('section size');
    if (size > r.end - r.pos) r.fail(`section ${id} runs past the end of the module (truncated)`, at);
    out.push({ id, start: r.pos, end: r.pos + size });
    r.pos += size;
  }
  return out;
}

function importedFunctionCount(bytes, sec) {
  const r = new Reader(bytes, sec.start, sec.end);
  let funcs = 0;
  for (let n = r.u32('import count'); n > 0; n--) {
    r.name(); r.name();
    const kindAt = r.pos;
    const kind = r.u8();
    if (kind === 0) { r.u32('type index'); funcs++; }
    else if (kind === 1 || kind === 2) {
      if (kind === 1) r.u8(); // reftype
      const flags = r.u8();
      if (flags > 7) r.fail(`limits flags ${hex(flags)}`);
      r.leb(10, 'limits min');
      if (flags & 1) r.leb(10, 'limits max');
    } else if (kind === 3) { r.u8(); r.u8(); } // valtype, mutability
    else if (kind === 4) { r.u8(); r.u32('tag type'); }
    else r.fail(`unknown import kind ${hex(kind)}`, kindAt);
  }
  return funcs;
}

// Function names from the "name" custom section, for messages only (malformed → none).
function functionNames(bytes, secs) {
  const names = new Map();
  for (const sec of secs) {
    if (sec.id !== 0) continue;
    try {
      const r = new Reader(bytes, sec.start, sec.end);
      if (r.name() !== 'name') continue;
      while (r.pos < r.end) {
        const sub = r.u8();
        const size = r.u32();
        const end = r.pos + size;
        if (sub === 1) {
          const s = new Reader(bytes, r.pos, Math.min(end, r.end));
          for (let n = s.u32(); n > 0; n--) names.set(s.u32(), s.name());
        }
        r.pos = end;
      }
    } catch { /* names are a courtesy */ }
  }
  return names;
}

/**
 * Decodes every instruction of every function body; visit({ func, offset, op, sub, subStart, subEnd })
 * is called for each (func: index in the function index space; offset: of the opcode; sub, subStart,
 * subEnd: the u32 sub-op of a 0xfc/0xfd prefix and its byte range). Throws WasmRelaxedError on
 * anything it cannot decode. Returns { functions, instructions, codeStart } (codeStart: the code
 * section payload's offset).
 */
export function forEachInstruction(bytes, visit = () => {}) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('forEachInstruction: bytes must be a Uint8Array');
  const secs = sections(bytes);
  for (const id of [2, 3, 10]) {
    if (secs.filter((s) => s.id === id).length > 1) throw new WasmRelaxedError(`more than one section ${id}`);
  }
  const importSec = secs.find((s) => s.id === 2);
  const funcSec = secs.find((s) => s.id === 3);
  const codeSec = secs.find((s) => s.id === 10);
  const imported = importSec ? importedFunctionCount(bytes, importSec) : 0;
  const declared = funcSec ? new Reader(bytes, funcSec.start, funcSec.end).u32('function count') : 0;
  if (!codeSec) {
    if (declared) throw new WasmRelaxedError(`${declared} functions declared but no code section`);
    return { functions: 0, instructions: 0, codeStart: -1 };
  }
  let names = null;
  const where = (func) => {
    names ??= functionNames(bytes, secs);
    return `function ${func}${names.has(func) ? ` (${names.get(func)})` : ''}`;
  };

  const r = new Reader(bytes, codeSec.start, codeSec.end);
  const count = r.u32('code count');
  if (count !== declared) r.fail(`code section has ${count} bodies, function section declares ${declared}`, codeSec.start);
  let instructions = 0;
  for (let i = 0; i < count; i++) {
    const func = imported + i;
    const bodyAt = r.pos;
    const size = r.u32('body size');
    if (size > r.end - r.pos) r.fail(`${where(func)}: body runs past the code section (truncated)`, bodyAt);
    const body = new Reader(bytes, r.pos, r.pos + size);
    try {
      instructions += decodeBody(body, func, visit);
    } catch (e) {
      if (e instanceof WasmRelaxedError) e.message = `${where(func)}: ${e.message}`;
      throw e;
    }
    r.pos = body.end;
  }
  if (r.pos !== r.end) r.fail('bytes after the last function body');
  return { functions: count, instructions, codeStart: codeSec.start };
}

// Locals, then instructions up to the function's final `end`, which must close the body exactly.
function decodeBody(r, func, visit) {
  for (let n = r.u32('local decl count'); n > 0; n--) {
    r.u32('local count');
    const at = r.pos;
    const t = r.u8();
    if (!VALTYPES.has(t)) r.fail(`unknown local type ${hex(t)}`, at);
  }
  let depth = 0, instructions = 0;
  for (;;) {
    const offset = r.pos;
    const op = r.u8();
    let sub = -1, subStart = -1, subEnd = -1;
    instructions++;
    if (op === 0x02 || op === 0x03 || op === 0x04) { r.leb(5, 'block type'); depth++; } // s33
    else if (op === 0x0b) {
      if (depth-- === 0) {
        if (r.pos !== r.end) r.fail(`function body ends at ${hex(r.pos)}, declared end ${hex(r.end)}`, offset);
        visit({ func, offset, op, sub, subStart, subEnd });
        return instructions;
      }
    } else if (op <= 0x01 || op === 0x05 || op === 0x0f || op === 0x1a || op === 0x1b) { /* none */ }
    else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x26) || op === 0xd2) r.u32('index');
    else if (op === 0x0e) { for (let n = r.u32('br_table count'); n >= 0; n--) r.u32('label'); } // targets + default
    else if (op === 0x11) { r.u32('type index'); r.u32('table index'); }
    else if (op === 0x1c) {
      for (let n = r.u32('select arity'); n > 0; n--) {
        const at = r.pos;
        if (!VALTYPES.has(r.u8())) r.fail('select: unknown value type', at);
      }
    } else if (op >= 0x28 && op <= 0x3e) r.memarg();
    else if (op === 0x3f || op === 0x40) r.zeroByte('memory.size/grow');
    else if (op === 0x41) r.leb(5, 'i32.const');
    else if (op === 0x42) r.leb(10, 'i64.const');
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op >= 0x45 && op <= 0xc4) { /* numeric, no immediates */ }
    else if (op === 0xd0) {
      const at = r.pos;
      if (!REFTYPES.has(r.u8())) r.fail('ref.null: unknown reference type', at);
    } else if (op === 0xd1) { /* ref.is_null */ }
    else if (op === 0xfc) {
      subStart = r.pos; sub = r.u32('0xfc sub-op'); subEnd = r.pos;
      if (sub <= 7) { /* saturating truncations */ }
      else if (sub === 8) { r.u32('data index'); r.zeroByte('memory.init'); }
      else if (sub === 9 || sub === 13 || sub === 15 || sub === 16 || sub === 17) r.u32('index');
      else if (sub === 10) { r.zeroByte('memory.copy'); r.zeroByte('memory.copy'); }
      else if (sub === 11) r.zeroByte('memory.fill');
      else if (sub === 12 || sub === 14) { r.u32('index'); r.u32('index'); }
      else r.fail(`unknown opcode 0xfc ${sub}`, offset);
    } else if (op === 0xfd) {
      subStart = r.pos; sub = r.u32('SIMD sub-op'); subEnd = r.pos;
      if (SIMD_MEMARG.has(sub)) r.memarg();
      else if (SIMD_BYTES16.has(sub)) r.skip(16);
      else if (isLaneOp(sub)) r.skip(1);
      else if (isMemLaneOp(sub)) { r.memarg(); r.skip(1); }
      else if (isSimdPlain(sub)) { /* no immediates */ }
      else if (sub === PROTO_FMA_F32X4) { /* prototype f32x4 fma: the caller rewrites it */ }
      else if (PROTOTYPE_RELAXED.has(sub)) {
        r.fail(`prototype relaxed-SIMD op ${PROTOTYPE_RELAXED.get(sub)} (0xfd ${hex(sub)}): only f32x4.fma is ` +
          'rewritten to its final encoding; this one has no rewrite', offset);
      } else r.fail(`unknown opcode 0xfd ${hex(sub)}`, offset);
    } else r.fail(`unknown opcode ${hex(op)}`, offset);
    visit({ func, offset, op, sub, subStart, subEnd });
  }
}

// Writes value as a LEB128 of exactly `length` bytes (padded), so nothing moves.
function writePaddedLeb(out, at, length, value) {
  for (let i = 0; i < length; i++) {
    out[at + i] = (value & 0x7f) | (i < length - 1 ? 0x80 : 0);
    value >>>= 7;
  }
  if (value !== 0) throw new WasmRelaxedError(`offset ${hex(at)}: ${length} bytes cannot hold the new opcode`);
}

/** Rewrites every prototype f32x4 fma (0xfd 0xaf) to f32x4.relaxed_madd (0xfd 0x105). */
export function finalizeRelaxed(bytes) {
  const out = Uint8Array.from(bytes);
  let rewritten = 0;
  forEachInstruction(bytes, ({ op, sub, subStart, subEnd }) => {
    if (op === 0xfd && sub === PROTO_FMA_F32X4) {
      writePaddedLeb(out, subStart, subEnd - subStart, FINAL_MADD_F32X4);
      rewritten++;
    }
  });
  return { bytes: out, rewritten };
}

function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: node scripts/wasm-relaxed.mjs in.wasm out.wasm');
    return 2;
  }
  const [input, output] = argv;
  try {
    const { bytes, rewritten } = finalizeRelaxed(new Uint8Array(readFileSync(input)));
    const tmp = `${output}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, output); // never leave a half-written target for make
    console.log(`wasm-relaxed: ${rewritten} f32x4.relaxed_madd in ${output}`);
    return 0;
  } catch (e) {
    console.error(`wasm-relaxed: ${input}: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
