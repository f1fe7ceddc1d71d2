/**
 * The WebAssembly backend: the C kernels of native/src compiled with clang to wasm32 + SIMD128 (build-wasm/,
 * produced by scripts/build-wasm.mjs at install). Each call copies its operands into an I/O region of the
 * module's memory (grown on demand, never shrunk), runs, and copies results back.
 *
 * Threads: where shared memory is available the threaded build is used, with one worker thread per extra core
 * (TATAMI_NUM_THREADS or setNumThreads, default all cores); the workers instantiate the same module over the same
 * memory and wait in the module for work, so a kernel call stays synchronous for the caller (with one thread the
 * threaded build simply runs everything on the caller). Without shared memory the single-threaded build runs.
 *
 * This module is platform-neutral: how the module bytes are found and compiled and how a worker thread is started
 * live in wasm-loader.ts (Node: file + worker_threads) and wasm-loader.browser.ts (fetch + Web Workers).
 */
import type { Backend } from './types.js';
import { makeAcceleratedBackend } from './accel.js';
import { WasmKernelCalls, type WasmRole } from './kernels.gen.js';

type Arr = Float32Array | Int32Array | Float64Array;

type WasmFn = (...args: number[]) => number;

/** Must match scripts/build-wasm.mjs (--initial-memory, --max-memory) for the shared memory to be importable. */
export const SHARED_INITIAL_PAGES = 16;
export const SHARED_MAX_PAGES = 65535;
const WORKER_STACK_BYTES = 1 << 20;
/** TT_MAX_THREADS of the threaded build (native/src/tt.h): the caller and at most 15 workers. */
const MAX_THREADS = 16;

/** What a worker thread needs: the compiled module, the shared memory, its thread id and the top of its stack. */
export interface WasmWorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tid: number;
  stackTop: number;
}

/**
 * Starts one worker thread that instantiates `module` over `memory`, sets `__stack_pointer` to `stackTop` and calls
 * `tt_worker(tid)`, never returning (Node: worker_threads; browser: a Web Worker). Errors are reported, not thrown:
 * a worker that fails never announces itself and kernels simply run without it.
 */
export type WasmWorkerSpawner = (init: WasmWorkerInit) => void;

/** The worker body shared by both platforms (`init` is a WasmWorkerInit). */
export const WORKER_BODY = `const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
instance.exports.__stack_pointer.value = init.stackTop;
instance.exports.tt_worker(init.tid);`;

/** One instantiated module: the kernel calls (generated from native/kernels.table.mjs with their copy roles) over `run`. */
export class WasmKernels extends WasmKernelCalls {
  private readonly memory: WebAssembly.Memory;
  protected readonly fn: Record<string, WasmFn>;
  private workers = 0;

  /**
   * `module` and `spawn` are given for the threaded build (workers instantiate the module again over the same
   * memory); null for the single-threaded one.
   */
  constructor(
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    private readonly module: WebAssembly.Module | null,
    private readonly spawn: WasmWorkerSpawner | null = null,
  ) {
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
    if (!this.module || !this.spawn) return 1;
    const want = Math.max(1, Math.min(MAX_THREADS, Math.floor(n)));
    while (this.workers < want - 1) {
      const tid = ++this.workers;
      const stackTop = this.fn.tt_stack(WORKER_STACK_BYTES) >>> 0;
      this.spawn({ module: this.module, memory: this.memory, tid, stackTop });
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
      if (!a) {
        ptrs.push(0);
        return;
      }
      ptrs.push(off);
      if (roles[i] !== 'o') mem.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
      off += (a.byteLength + 63) & ~63;
    });
    const r = body(ptrs);
    mem = new Uint8Array(this.memory.buffer); // the kernel may have grown (and so replaced) the buffer
    arrays.forEach((a, i) => {
      if (a && roles[i] !== 'i')
        new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(mem.subarray(ptrs[i], ptrs[i] + a.byteLength));
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

/** File name of a build: tatami[-mt][-relaxed].wasm. */
export function wasmVariantFile(v: WasmVariant): string {
  return `tatami${v.threads ? '-mt' : ''}${v.relaxed ? '-relaxed' : ''}.wasm`;
}

/** The four builds, best first: threaded before single-threaded, relaxed SIMD before plain SIMD128. */
export const WASM_VARIANTS: readonly WasmVariant[] = [
  { threads: true, relaxed: true },
  { threads: true, relaxed: false },
  { threads: false, relaxed: true },
  { threads: false, relaxed: false },
];

/** Imports for a build: the threaded ones import a fresh shared memory, the single-threaded ones own theirs. */
export function wasmImports(v: WasmVariant): { imports: WebAssembly.Imports; memory: WebAssembly.Memory | null } {
  if (!v.threads) return { imports: {}, memory: null };
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('threads need SharedArrayBuffer');
  const memory = new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: SHARED_MAX_PAGES, shared: true });
  return { imports: { env: { memory } }, memory };
}

/** Wraps an instantiated build (memory: the imported shared memory of a threaded build, else null). */
export function wasmKernelsOf(
  instance: WebAssembly.Instance,
  memory: WebAssembly.Memory | null,
  module: WebAssembly.Module,
  spawn: WasmWorkerSpawner | null,
): WasmKernels {
  return memory
    ? new WasmKernels(instance, memory, module, spawn)
    : new WasmKernels(instance, instance.exports.memory as WebAssembly.Memory, null);
}

/** Set by setWasmThreads, possibly before the backend loads; 0 = the default. */
let requestedThreads = 0;
/** Cores of this machine (Node: os.availableParallelism, set by the loader; browser: navigator.hardwareConcurrency). */
let cores = (): number =>
  (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;

/** Used by the Node loader to report os.availableParallelism() (Node 20 has no navigator). */
export function setWasmCoreCount(fn: () => number): void {
  cores = fn;
}

function defaultThreads(): number {
  if (requestedThreads > 0) return requestedThreads;
  const env = Number(typeof process !== 'undefined' ? process.env?.TATAMI_NUM_THREADS : undefined);
  return Number.isInteger(env) && env > 0 ? env : cores();
}

/** Makes a backend of loaded kernels, starting the default number of threads. */
export function wasmBackendOf(v: WasmVariant, k: WasmKernels): Backend {
  k.setThreads(defaultThreads());
  return makeAcceleratedBackend(v.relaxed ? 'wasm-relaxed-simd' : 'wasm-simd', k);
}

let cached: { backend: Backend; kernels: WasmKernels; variant: WasmVariant } | null = null;

/** Records the loaded default wasm backend (the loaders call it once). */
export function setLoadedWasm(backend: Backend, kernels: WasmKernels, variant: WasmVariant): void {
  cached = { backend, kernels, variant };
}

/** The loaded default wasm backend and the build it came from, or null before loading. */
export function loadedWasm(): { backend: Backend; variant: WasmVariant } | null {
  return cached;
}

/**
 * Sets the wasm kernels' thread count (0 = default: TATAMI_NUM_THREADS, else all cores), now if the backend is
 * loaded, else when it loads; returns the count in effect (1 for the single-threaded build or before loading).
 */
export function setWasmThreads(n: number): number {
  requestedThreads = Math.max(0, Math.floor(n));
  return cached ? cached.kernels.setThreads(defaultThreads()) : 1;
}

/**
 * Threads the wasm kernels use now (1 when the backend is not loaded or single-threaded); workers start in the
 * background, so right after loading this may still be below the count asked for.
 */
export function getWasmThreads(): number {
  return cached ? cached.kernels.threads : 1;
}
