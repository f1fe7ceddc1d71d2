/**
 * The native backend: a Node-API addon (native/src, built by `npm ci` through scripts/build-native.mjs into
 * build/Release/tatami.node) with SIMD kernels for AVX-512F, AVX2+FMA and a portable baseline, chosen at load
 * time from the CPU's features, and a pthread pool (TATAMI_NUM_THREADS, default: all cores). Kernels work on
 * the tensors' own typed arrays, in place.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend } from './types.js';
import { makeAcceleratedBackend, type RawKernels } from './accel.js';

interface NativeModule extends RawKernels {
  /** 'native-avx512' | 'native-avx2' | 'native-generic' */
  readonly name: string;
  setNumThreads(n: number): number;
  getNumThreads(): number;
}

let mod: NativeModule | null = null;
let backendCache: Backend | null = null;

/** Path of the compiled addon (same relative place from src/ and from dist/). */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../build/Release/tatami.node', import.meta.url));

function load(): NativeModule {
  if (mod) return mod;
  if (typeof process === 'undefined' || !process.versions?.node) throw new Error('the native addon needs Node.js');
  if (!existsSync(NATIVE_ADDON_PATH)) throw new Error(`addon not built (${NATIVE_ADDON_PATH} missing; run npm run build:native)`);
  const require = createRequire(import.meta.url);
  mod = require(NATIVE_ADDON_PATH) as NativeModule;
  return mod;
}

/** Loads the addon and returns its backend; throws saying why when it is unavailable. */
export function loadNativeBackend(): Backend {
  if (backendCache) return backendCache;
  const m = load();
  backendCache = makeAcceleratedBackend(m.name, m);
  return backendCache;
}

/** Sets the native thread-pool size (0 = default: TATAMI_NUM_THREADS or all cores); returns the size in effect. */
export function setNativeThreads(n: number): number {
  return load().setNumThreads(Math.max(0, Math.floor(n)));
}

/** Current native thread-pool size (1 when the addon is not available). */
export function getNativeThreads(): number {
  try {
    return load().getNumThreads();
  } catch {
    return 1;
  }
}
