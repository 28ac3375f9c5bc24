// wasi-run.mjs — runs a WASI program built by emcc.mk (node bench/wasi-run.mjs FILE.wasm [ARGS...]) with
// this process's stdio. bench.mjs starts it as a child process: Node 20 can crash at exit after a WASI
// program has grown its memory (see issue 16), and that must not take the benchmark down with it.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, preopens: {} });
const { instance } = await WebAssembly.instantiate(readFileSync(file), {
  wasi_snapshot_preview1: wasi.wasiImport,
  env: { emscripten_notify_memory_growth() {} },
});
process.exitCode = wasi.start(instance);
