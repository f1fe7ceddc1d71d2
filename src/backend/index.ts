/**
 * Backend registry: the one place a kernel implementation is chosen. Ops call `backend()` for every loop.
 * Order of preference: native addon → WebAssembly → reference, overridable with TATAMI_BACKEND or setBackend().
 */
import type { Backend } from './types.js';
import { referenceBackend } from './reference/index.js';
// platform.ts: Node's native addon and wasm loader; browser bundles swap in platform.browser.ts.
import {
  loadNativeBackend,
  loadNativeVariant,
  setNativeThreads,
  getNativeThreads,
  NATIVE_ISAS,
  loadWasmBackend,
  setWasmThreads,
  getWasmThreads,
} from './platform.js';
import { guardReference } from './guard.js';
import { guardedTableKernels } from './accel.gen.js';

/** The reference backend handed out by the registry, with geometry checks at its kernel boundary (guard.ts). */
const guardedReference = guardReference({ ...referenceBackend, ...guardedTableKernels(referenceBackend) });

export type { Backend } from './types.js';

/** A loader returns a ready backend, or throws saying why it is unavailable. */
export type BackendLoader = () => Backend;

const loaders = new Map<string, BackendLoader>([
  ['native', loadNativeBackend],
  ['wasm', loadWasmBackend],
  ['reference', () => guardedReference],
]);
const preference: string[] = ['native', 'wasm', 'reference'];
/**
 * One backend per native instruction-set build ('native-avx512', 'native-avx2', 'native-generic',
 * 'native-generic16', 'native-generic8'): selectable by name (setBackend, TATAMI_BACKEND) for tests and
 * benchmarks, but not listed by availableBackends() unless asked, since 'native' already is one of them.
 */
const variantNames = new Set<string>();
for (const isa of NATIVE_ISAS) {
  const name = `native-${isa}`;
  loaders.set(name, () => loadNativeVariant(isa));
  variantNames.add(name);
}
const failures = new Map<string, string>();
let current: Backend | null = null;

/** Makes a backend available under `name` (accelerated backends register themselves when their module loads). */
export function registerBackend(name: string, loader: BackendLoader): void {
  loaders.set(name, loader);
  failures.delete(name);
}

function tryLoad(name: string): Backend | null {
  const loader = loaders.get(name);
  if (!loader) {
    failures.set(name, 'not registered');
    return null;
  }
  try {
    return loader();
  } catch (err) {
    failures.set(name, err instanceof Error ? err.message : String(err));
    return null;
  }
}

/** The active backend; chosen on first use from TATAMI_BACKEND or the preference order. */
export function backend(): Backend {
  return current ?? selectDefault();
}

function selectDefault(): Backend {
  const requested = typeof process !== 'undefined' ? process.env?.TATAMI_BACKEND : undefined;
  if (requested) {
    current = tryLoad(requested);
    if (!current) {
      throw new Error(
        `TATAMI_BACKEND=${requested}: backend unavailable (${failures.get(requested)}); known: ${[...loaders.keys()].join(', ')}`,
      );
    }
    return current;
  }
  for (const name of preference) {
    const b = tryLoad(name);
    if (b) {
      if (b === guardedReference) warnReference();
      return (current = b);
    }
  }
  warnReference();
  return (current = guardedReference);
}

let warnedReference = false;

/**
 * One line on stderr the first time Tatami falls back to the float64 reference backend by itself: it is 10–100×
 * slower than the addon or wasm, and an install whose compile step failed is otherwise invisible (npm hides
 * install-script output). Not shown when the reference backend was asked for (TATAMI_BACKEND, setBackend).
 */
function warnReference(): void {
  if (warnedReference || typeof process === 'undefined' || !process.stderr) return;
  warnedReference = true;
  const why = preference
    .filter((n) => n !== 'reference' && failures.has(n))
    .map((n) => `${n}: ${failures.get(n)}`)
    .join('; ');
  process.stderr.write(
    `tatami: warning: running on the slow reference backend (${why || 'no accelerated backend'}); \`tatami info\` explains, TATAMI_BACKEND=reference silences this\n`,
  );
}

/** Switches the active backend by name (or to a given implementation). Throws if it cannot load. */
export function setBackend(which: string | Backend): Backend {
  if (typeof which !== 'string') return (current = which);
  const b = tryLoad(which);
  if (!b) throw new Error(`setBackend: backend '${which}' is unavailable: ${failures.get(which)}`);
  return (current = b);
}

/** Name of the active backend ('native-avx2', 'wasm-simd', 'reference' …). */
export function getBackendName(): string {
  return backend().name;
}

/**
 * Names of backends that load on this machine, and why the others do not. With `variants`, also each native
 * instruction-set build ('native-avx512' …) on its own.
 */
export function availableBackends(
  opts: { variants?: boolean } = {},
): { name: string; available: boolean; reason?: string }[] {
  return [...loaders.keys()]
    .filter((name) => opts.variants || !variantNames.has(name))
    .map((name) => {
      const b = tryLoad(name);
      return b ? { name, available: true } : { name, available: false, reason: failures.get(name) };
    });
}

/** Runs `fn` with a given backend active, restoring the previous one (tests use it to cover every backend). */
export function withBackend<T>(which: string | Backend, fn: () => T): T {
  const prev = current;
  setBackend(which);
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/**
 * Sets the number of threads the accelerated kernels use (0 restores the default: TATAMI_NUM_THREADS, else all
 * cores), for the native addon and the wasm kernels alike. Returns the count in effect for the active backend
 * (1 for the reference backend, which runs on the calling thread).
 */
export function setNumThreads(n: number): number {
  const native = attempt(() => setNativeThreads(n));
  const wasm = attempt(() => setWasmThreads(n));
  const name = backend().name;
  return name.startsWith('native') ? native : name.startsWith('wasm') ? wasm : 1;
}

/** Number of threads the active backend's kernels use (1 for the reference backend). */
export function getNumThreads(): number {
  const name = backend().name;
  return name.startsWith('native') ? getNativeThreads() : name.startsWith('wasm') ? getWasmThreads() : 1;
}

function attempt(fn: () => number): number {
  try {
    return fn();
  } catch {
    return 1;
  }
}

/** What runs the kernels now: see backendInfo(). */
export interface BackendInfo {
  /** Active backend ('native-avx2', 'wasm-relaxed-simd', 'wasm-simd', 'reference' …). */
  name: string;
  /** Threads its kernels use now (the caller included). */
  threads: number;
  /**
   * Whether shared memory (SharedArrayBuffer) is available, which threaded wasm needs: in a browser only when the
   * page is cross-origin isolated (COOP/COEP headers); always in Node.
   */
  sharedMemory: boolean;
  /** The page's `crossOriginIsolated` flag; null outside a browser. */
  crossOriginIsolated: boolean | null;
}

/** Which backend runs the kernels, on how many threads, and whether the page allows threads (browser). */
export function backendInfo(): BackendInfo {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return {
    name: getBackendName(),
    threads: getNumThreads(),
    sharedMemory: typeof SharedArrayBuffer !== 'undefined',
    crossOriginIsolated: typeof g.crossOriginIsolated === 'boolean' ? g.crossOriginIsolated : null,
  };
}
