/**
 * Node's way of loading the wasm kernels (wasm.ts): the builds are read from build-wasm/ next to the package,
 * compiled synchronously (a Node process may), and extra threads are worker_threads over the shared memory.
 * The browser counterpart is wasm-loader.browser.ts (fetch, Web Workers); bundles for the browser swap it in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Backend } from './types.js';
import {
  WASM_VARIANTS,
  WORKER_BODY,
  loadedWasm,
  setLoadedWasm,
  setWasmCoreCount,
  wasmBackendOf,
  wasmImports,
  wasmKernelsOf,
  wasmVariantFile,
  type WasmKernels,
  type WasmVariant,
  type WasmWorkerSpawner,
} from './wasm.js';

export { setWasmThreads, getWasmThreads, type WasmVariant } from './wasm.js';

setWasmCoreCount(availableParallelism);

/** Runs in each worker thread: the same module over the same memory, its own stack, parked in tt_worker. */
const WORKER_SOURCE = `const init = require('node:worker_threads').workerData;\n${WORKER_BODY}\n`;

const spawnNodeWorker: WasmWorkerSpawner = (init) => {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: init });
  worker.unref(); // parked workers must not keep the process alive
  // A worker that fails to start never announces itself, so kernels run without it: warn, do not crash.
  worker.on('error', (err) =>
    process.emitWarning(`tatami: wasm worker ${init.tid} failed (${err.message}); running with fewer threads`),
  );
};

/** Path of a build: build-wasm/tatami[-mt][-relaxed].wasm. */
export function wasmVariantPath(v: WasmVariant): string {
  return fileURLToPath(new URL(`../../build-wasm/${wasmVariantFile(v)}`, import.meta.url));
}

let relaxedFlagSet = false;

/**
 * Compiles a build. A relaxed-SIMD module that does not validate gets one more try after switching on V8's
 * relaxed-SIMD flag (Node 20 has it behind --experimental-wasm-relaxed-simd; later versions ship it).
 */
function compile(path: string, relaxed: boolean): WebAssembly.Module {
  const bytes = readFileSync(path);
  try {
    return new WebAssembly.Module(bytes);
  } catch (err) {
    if (relaxed && !relaxedFlagSet) {
      relaxedFlagSet = true;
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      return compile(path, relaxed);
    }
    throw new Error(
      `wasm kernels do not compile here (${relaxed ? 'relaxed SIMD' : 'SIMD128'} unsupported?): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Instantiates one build (threaded builds over a fresh shared memory); throws saying why it cannot. */
function instantiate(v: WasmVariant): WasmKernels {
  const path = wasmVariantPath(v);
  if (!existsSync(path))
    throw new Error(`${path} missing (run npm run build:wasm${v.relaxed ? '; relaxed SIMD needs clang ≥ 16' : ''})`);
  const { imports, memory } = wasmImports(v);
  const module = compile(path, v.relaxed);
  return wasmKernelsOf(new WebAssembly.Instance(module, imports), memory, module, spawnNodeWorker);
}

/**
 * Loads one particular build as a backend of its own (not the cached default): tests use it to check every build
 * against the reference. Throws saying why the build cannot load here.
 */
export function loadWasmVariant(v: WasmVariant): Backend {
  if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
  return wasmBackendOf(v, instantiate(v));
}

/**
 * Compiles and instantiates the best wasm build this runtime accepts, synchronously: threaded before
 * single-threaded, relaxed SIMD before plain SIMD128. Throws saying why when none loads.
 */
export function loadWasmBackend(): Backend {
  const loaded = loadedWasm();
  if (loaded) return loaded.backend;
  if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
  const reasons: string[] = [];
  for (const v of WASM_VARIANTS) {
    try {
      const k = instantiate(v);
      const b = wasmBackendOf(v, k);
      setLoadedWasm(b, k, v);
      return b;
    } catch (err) {
      reasons.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new Error(`wasm kernels unavailable: ${reasons.at(-1)}`);
}
