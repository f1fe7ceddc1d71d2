/**
 * The WebAssembly backend: the C kernels of native/src compiled with clang to wasm32 + SIMD128 (build-wasm/,
 * produced by scripts/build-wasm.mjs at install). Each call copies its operands into an I/O region of the
 * module's memory (grown on demand, never shrunk), runs, and copies results back.
 *
 * Threads: where shared memory is available the threaded build is used, with one worker thread per extra core
 * (TATAMI_NUM_THREADS or setNumThreads, default all cores); the workers instantiate the same module over the same
 * memory and wait in the module for work, so a kernel call stays synchronous for the caller (with one thread the
 * threaded build simply runs everything on the caller). Without shared memory the single-threaded build runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Backend } from './types.js';
import { makeAcceleratedBackend } from './accel.js';
import { WasmKernelCalls, type WasmRole } from './kernels.gen.js';

type Arr = Float32Array | Int32Array | Float64Array;

type WasmFn = (...args: number[]) => number;


/** Must match scripts/build-wasm.mjs (--initial-memory, --max-memory) for the shared memory to be importable. */
const SHARED_INITIAL_PAGES = 16;
const SHARED_MAX_PAGES = 65535;
const WORKER_STACK_BYTES = 1 << 20;
/** TT_MAX_THREADS of the threaded build (native/src/tt.h): the caller and at most 15 workers. */
const MAX_THREADS = 16;

/** Runs in each worker thread: the same module over the same memory, its own stack, parked in tt_worker. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, tid, stackTop } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
instance.exports.__stack_pointer.value = stackTop;
instance.exports.tt_worker(tid);
`;

/** One instantiated module: the kernel calls (generated from native/kernels.table.mjs with their copy roles) over `run`. */
class WasmKernels extends WasmKernelCalls {
  private readonly memory: WebAssembly.Memory;
  protected readonly fn: Record<string, WasmFn>;
  private readonly workers: Worker[] = [];

  /** `module` is given for the threaded build (workers instantiate it again); null for the single-threaded one. */
  constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, private readonly module: WebAssembly.Module | null) {
    super();
    this.memory = memory;
    this.fn = instance.exports as unknown as Record<string, WasmFn>;
  }

  /** Threads taking part in kernels now: the caller plus the workers that have started (they start in the background). */
  get threads(): number {
    return this.module ? this.fn.tt_live_threads() : 1;
  }

  /**
   * Uses `n` threads (the caller and n − 1 workers), starting workers as needed; never stops one (a parked worker
   * costs nothing). Workers announce themselves from their own thread: until one has, kernels run without it.
   */
  setThreads(n: number): number {
    if (!this.module) return 1;
    const want = Math.max(1, Math.min(MAX_THREADS, Math.floor(n)));
    while (this.workers.length < want - 1) {
      const tid = this.workers.length + 1;
      const stackTop = this.fn.tt_stack(WORKER_STACK_BYTES) >>> 0;
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: this.module, memory: this.memory, tid, stackTop } });
      worker.unref(); // parked workers must not keep the process alive
      // A worker that fails to start never announces itself, so kernels run without it: warn, do not crash.
      worker.on('error', (err) => process.emitWarning(`tatami: wasm worker ${tid} failed (${err.message}); running with fewer threads`));
      this.workers.push(worker);
    }
    return this.fn.tt_threads(want);
  }

  /** Lays the arrays out in the I/O region, runs `body` with their addresses, copies outputs back. */
  protected run(arrays: (Arr | null)[], roles: WasmRole[], body: (p: number[]) => number): number {
    let total = 0;
    for (const a of arrays) if (a) total += (a.byteLength + 63) & ~63;
    const base = this.fn.tt_io(total) >>> 0;
    const ptrs: number[] = [];
    let off = base;
    let mem = new Uint8Array(this.memory.buffer);
    arrays.forEach((a, i) => {
      if (!a) { ptrs.push(0); return; }
      ptrs.push(off);
      if (roles[i] !== 'o') mem.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
      off += (a.byteLength + 63) & ~63;
    });
    const r = body(ptrs);
    mem = new Uint8Array(this.memory.buffer); // the kernel may have grown (and so replaced) the buffer
    arrays.forEach((a, i) => {
      if (a && roles[i] !== 'i') new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(mem.subarray(ptrs[i], ptrs[i] + a.byteLength));
    });
    return r;
  }
}

/** Which of the four builds to load (scripts/build-wasm.mjs makes them all from the same source). */
export interface WasmVariant {
  /** Threads over a shared memory (needs SharedArrayBuffer). */
  threads: boolean;
  /** Relaxed SIMD: fused multiply-add, about twice the GEMM throughput on FMA hardware. */
  relaxed: boolean;
}

/** Path of a build: tatami[-mt][-relaxed].wasm. */
export function wasmVariantPath(v: WasmVariant): string {
  return fileURLToPath(new URL(`../../build-wasm/tatami${v.threads ? '-mt' : ''}${v.relaxed ? '-relaxed' : ''}.wasm`, import.meta.url));
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
    if (relaxed && !relaxedFlagSet && typeof process !== 'undefined' && process.versions?.node) {
      relaxedFlagSet = true;
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      return compile(path, relaxed);
    }
    throw new Error(`wasm kernels do not compile here (${relaxed ? 'relaxed SIMD' : 'SIMD128'} unsupported?): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Instantiates one build (threaded builds over a fresh shared memory); throws saying why it cannot. */
function instantiate(v: WasmVariant): WasmKernels {
  const path = wasmVariantPath(v);
  if (!existsSync(path)) throw new Error(`${path} missing (run npm run build:wasm${v.relaxed ? '; relaxed SIMD needs clang ≥ 16' : ''})`);
  if (v.threads && typeof SharedArrayBuffer === 'undefined') throw new Error('threads need SharedArrayBuffer');
  const module = compile(path, v.relaxed);
  if (!v.threads) {
    const instance = new WebAssembly.Instance(module, {});
    return new WasmKernels(instance, instance.exports.memory as WebAssembly.Memory, null);
  }
  const memory = new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: SHARED_MAX_PAGES, shared: true });
  return new WasmKernels(new WebAssembly.Instance(module, { env: { memory } }), memory, module);
}

/** Set by setWasmThreads, possibly before the backend loads; 0 = the default. */
let requestedThreads = 0;

function defaultThreads(): number {
  if (requestedThreads > 0) return requestedThreads;
  const env = Number(process.env.TATAMI_NUM_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

function backendOf(v: WasmVariant, k: WasmKernels): Backend {
  k.setThreads(defaultThreads());
  return makeAcceleratedBackend(v.relaxed ? 'wasm-relaxed-simd' : 'wasm-simd', k);
}

/**
 * Loads one particular build as a backend of its own (not the cached default): tests use it to check every build
 * against the reference. Throws saying why the build cannot load here.
 */
export function loadWasmVariant(v: WasmVariant): Backend {
  if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
  return backendOf(v, instantiate(v));
}

let cached: Backend | null = null;
let kernels: WasmKernels | null = null;

/**
 * Compiles and instantiates the best wasm build this runtime accepts, synchronously: threaded before
 * single-threaded, relaxed SIMD before plain SIMD128. Throws saying why when none loads.
 */
export function loadWasmBackend(): Backend {
  if (cached) return cached;
  if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
  const reasons: string[] = [];
  for (const threads of [true, false]) {
    for (const relaxed of [true, false]) {
      try {
        const v = { threads, relaxed };
        const k = instantiate(v);
        cached = backendOf(v, k);
        kernels = k;
        return cached;
      } catch (err) {
        reasons.push(err instanceof Error ? err.message : String(err));
      }
    }
  }
  throw new Error(`wasm kernels unavailable: ${reasons.at(-1)}`);
}

/**
 * Sets the wasm kernels' thread count (0 = default: TATAMI_NUM_THREADS, else all cores), now if the backend is
 * loaded, else when it loads; returns the count in effect (1 for the single-threaded build or before loading).
 */
export function setWasmThreads(n: number): number {
  requestedThreads = Math.max(0, Math.floor(n));
  return kernels ? kernels.setThreads(defaultThreads()) : 1;
}

/**
 * Threads the wasm kernels use now (1 when the backend is not loaded or single-threaded); workers start in the
 * background, so right after loading this may still be below the count asked for.
 */
export function getWasmThreads(): number {
  return kernels ? kernels.threads : 1;
}
