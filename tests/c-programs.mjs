// The C test programs (tests/c/*_test.c) in each build, and how one of them is
// run: every run is a child process (the native binary, or tests/wasi-run.mjs
// for the wasm builds), so a crash comes back as that program's signal and the
// lines it printed, and the programs after it still run. Used by
// tests/c.test.mjs (asserts) and scripts/stress-c.mjs (counts).
import { readdirSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, MODELS, IMAGES } from './paths.mjs';

// Programs that read the model store run natively only: Emscripten 3.1.6's standalone
// libc has no WASI path_open, so fopen cannot reach preopened folders. They test
// parsing, not SIMD kernels, so the native ASan run is the one that matters.
const NATIVE_ONLY = new Set(['tflite_test', 'options_test', 'objective_expr_test']);
// Programs built also with relaxed SIMD (fused multiply-add): the ones with kernels in them.
const RELAXED = new Set(['kernels_conv_test', 'kernels_misc_test', 'graph_test']);

export const BUILDS = {
  native: { label: 'native, ASan+UBSan', path: (name) => join(ROOT, 'build/native/tests', name) },
  wasm: { label: 'wasm SIMD', path: (name) => join(ROOT, 'build/wasm/tests', `${name}.wasm`) },
  relaxed: { label: 'wasm relaxed SIMD', path: (name) => join(ROOT, 'build/wasm-relaxed/tests', `${name}.wasm`) },
};

const RUNNER = join(ROOT, 'tests/wasi-run.mjs');
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
// Node 20 calls its WASI functions from wasm as V8 fast API calls, where no GC may run;
// but uvwasi's malloc inside fd_write reports external memory to V8, which, when a new
// wasm memory has pushed that count past its limit, can finish a mark-compact right
// there: the heap is left with stale pointers and node dies of SIGSEGV/SIGTRAP in JS
// code after the program returns (nodejs/node#46777, open). The regular callback path
// allows the GC. Evidence and figures: README, "Tests"; scripts/stress-c.mjs
// --fast-api-calls shows the crash.
const WASI_NODE_FLAGS = ['--no-turbo-fast-api-calls'];

/** Every program as { name, build, title, path }, in the order they run. */
export function programs() {
  const names = readdirSync(join(ROOT, 'tests/c')).filter((f) => f.endsWith('_test.c')).map((f) => f.slice(0, -2)).sort();
  const list = [];
  for (const name of names) {
    const builds = ['native', ...(NATIVE_ONLY.has(name) ? [] : ['wasm']), ...(RELAXED.has(name) ? ['relaxed'] : [])];
    for (const build of builds) list.push({ name, build, title: `${name} (${BUILDS[build].label})`, path: BUILDS[build].path(name) });
  }
  return list;
}

let relaxedArgs;
/** The node flags under which this node has relaxed SIMD, or null where it has none
 * (Node 20: behind a flag; later: on by default). Asked of a child node once. */
export function relaxedNodeFlags() {
  if (relaxedArgs !== undefined) return relaxedArgs;
  const probe = `import { relaxedSimdSupported } from ${JSON.stringify(join(ROOT, 'wasm/engine.js'))}; process.exit(relaxedSimdSupported() ? 0 : 1);`;
  relaxedArgs = null;
  for (const flags of [[], [RELAXED_FLAG]]) {
    const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', probe], { stdio: 'ignore' });
    if (r.status === 0) { relaxedArgs = flags; break; }
  }
  return relaxedArgs;
}

/**
 * Runs one program in a child process. nodeFlags: extra flags for the wasm runner's
 * node (V8 flags such as --wasm-enforce-bounds-checks); fastApiCalls: leave Node's
 * fast WASI calls on (the crash above; for scripts/stress-c.mjs only). Returns { ok, crashed, code, signal,
 * passed, failed, out, why }: crashed when the child died of a signal (a timeout is
 * reported as such, not as a crash); ok when it exited 0 and its summary counts passes
 * and no failure; why says what went wrong, with the last lines it printed.
 */
export function runProgram(p, { nodeFlags = [], fastApiCalls = false, timeout = 600_000 } = {}) {
  if (!existsSync(p.path)) return { ok: false, crashed: false, why: `${p.path} not built (make -f emcc.mk)` };
  if (p.build === 'native') return run(p.title, p.path, [], { ASAN_OPTIONS: 'detect_leaks=1' }, timeout);
  return runWasm(p.title, [p], nodeFlags, fastApiCalls, timeout);
}

/** Runs the wasm programs of list one after another in one child process (as the tests
 * did before each had its own); the result is runProgram's, for the group. */
export function runTogether(list, { nodeFlags = [], fastApiCalls = false, timeout = 600_000 } = {}) {
  const wasm = list.filter((p) => p.build !== 'native' && (p.build !== 'relaxed' || relaxedNodeFlags() !== null));
  const missing = wasm.find((p) => !existsSync(p.path));
  if (missing) return { ok: false, crashed: false, why: `${missing.path} not built (make -f emcc.mk)` };
  return runWasm(`${wasm.length} wasm programs in one process`, wasm, nodeFlags, fastApiCalls, timeout);
}

// The wasm programs of list in one tests/wasi-run.mjs process.
function runWasm(title, list, nodeFlags, fastApiCalls, timeout) {
  const relaxed = list.some((p) => p.build === 'relaxed') ? relaxedNodeFlags() : [];
  if (relaxed === null) return { ok: false, crashed: false, skip: 'this node has no relaxed SIMD' };
  const flags = [...(fastApiCalls ? [] : WASI_NODE_FLAGS), ...relaxed, ...nodeFlags];
  return run(title, process.execPath, [...flags, RUNNER, ...list.flatMap((p) => [p.path, p.name])], {}, timeout);
}

function run(title, cmd, args, extraEnv, timeout) {
  const env = { ...process.env, FEATVIZ_MODELS: MODELS, FEATVIZ_IMAGES: IMAGES, ...extraEnv };
  // stdout and stderr into one file, so the lines keep their order (an ASan report among them)
  const dir = mkdtempSync(join(tmpdir(), 'fv-ctest-'));
  const fd = openSync(join(dir, 'out.txt'), 'w');
  let r, out;
  try {
    r = spawnSync(cmd, args, { cwd: ROOT, env, stdio: ['ignore', fd, fd], timeout });
  } finally {
    closeSync(fd);
    out = readFileSync(join(dir, 'out.txt'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
  }
  // every program's summary must count passes and no failure (a group prints one each)
  const sums = [...out.matchAll(/(\d+) passed, (\d+) failed\s*$/gm)].map((m) => ({ passed: +m[1], failed: +m[2] }));
  const passed = sums.reduce((n, x) => n + x.passed, 0), failed = sums.reduce((n, x) => n + x.failed, 0);
  const timedOut = r.error?.code === 'ETIMEDOUT';
  const res = { code: r.status, signal: r.signal, out, passed, failed, crashed: !!r.signal && !timedOut };
  res.ok = r.status === 0 && sums.length > 0 && sums.every((x) => x.passed > 0 && x.failed === 0);
  if (!res.ok) {
    const how = timedOut ? `timed out after ${timeout / 1000} s`
      : r.error ? `could not start: ${r.error.message}`
      : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}${sums.length ? `, ${passed} passed, ${failed} failed` : ', no summary line'}`;
    res.why = `${title}: ${how}\n--- last lines it printed:\n${lastLines(out, 40)}`;
  }
  return res;
}

function lastLines(text, n) {
  const lines = text.trimEnd().split('\n');
  return (lines.length > n ? ['…', ...lines.slice(-n)] : lines).join('\n');
}
