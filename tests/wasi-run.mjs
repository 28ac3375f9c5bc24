// Runs one WASI test program (a tests/c/*_test.c built as wasm) in this
// process and exits with its exit code. tests/c-programs.mjs starts it as a
// child process, one per program, with the node flags it needs, so that a
// crash of the runtime (a signal) is that program's failure and no other's.
//   node --no-turbo-fast-api-calls --experimental-wasm-relaxed-simd \
//        tests/wasi-run.mjs FILE.wasm NAME [FILE.wasm NAME ...]
// stdout and stderr are this process's own (the parent collects them), so the
// lines printed before a crash are not lost in a buffer.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { MODELS, IMAGES } from './paths.mjs';

// More than one FILE NAME pair runs them one after another in this one process (as
// the tests once did; scripts/stress-c.mjs --together), stopping at the first non-zero exit.
const argv = process.argv.slice(2);
if (argv.length === 0 || argv.length % 2) {
  console.error('usage: node tests/wasi-run.mjs FILE.wasm NAME [FILE.wasm NAME ...]');
  process.exit(2);
}
// The standalone build calls this after each memory.grow; nothing to refresh here.
const env = { emscripten_notify_memory_growth() {} };
for (let i = 0; i < argv.length && !process.exitCode; i += 2) {
  const [file, name] = argv.slice(i, i + 2);
  const wasi = new WASI({
    version: 'preview1', args: [name], stdout: 1, stderr: 2, returnOnExit: true,
    env: { FEATVIZ_MODELS: '/models', FEATVIZ_IMAGES: '/images' },
    preopens: { '/models': MODELS, '/images': IMAGES },
  });
  // Synchronous: no event-loop turn between a new 32 MB memory and the program's first
  // WASI call, the harshest case for the Node crash that tests/c-programs.mjs avoids.
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { wasi_snapshot_preview1: wasi.wasiImport, env });
  process.exitCode = wasi.start(instance);
}
