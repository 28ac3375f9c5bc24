// thread-helper.js — the body of one helper thread of the threads build (started by
// wasm/threads.js as a Node worker_threads Worker or a browser Worker). It instantiates
// the engine's module over the engine's shared memory (the module's start function sees
// the memory already initialized and leaves it), moves this instance's stack pointer to
// the stack thread 0 allocated for helper t, and enters the C helper loop, which only
// returns when the engine stops its threads. No constructor runs here (_initialize is
// thread 0's), and nothing here allocates.
import { wasmImports } from './engine.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

async function run({ module, memory, t, stackTop }, post) {
  try {
    const instance = await WebAssembly.instantiate(module, wasmImports(module, () => memory, memory));
    const x = instance.exports;
    x.stackRestore(stackTop);
    post('ready');
    x.fv_threads_helper(t);
    post('done');
  } catch (e) {
    post({ error: `helper ${t}: ${e.message}` });
  }
}

if (isNode) {
  const { workerData, parentPort } = await import('node:worker_threads');
  await run(workerData, (m) => parentPort.postMessage(m));
} else {
  self.onmessage = (e) => run(e.data, (m) => self.postMessage(m)).then(() => self.close());
}
