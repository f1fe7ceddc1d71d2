/**
 * The browser's accelerated backends (replaces platform.ts in browser bundles): no native addon; the wasm kernels
 * once `loadWasm()` (wasm-loader.browser.ts) has fetched and instantiated them — a page may not compile a large
 * module synchronously, so until then the registry falls back to the reference backend.
 */
import type { Backend } from './types.js';
import { loadedWasm } from './wasm.js';

export { setWasmThreads, getWasmThreads } from './wasm.js';

/** No instruction-set builds of the native addon in a browser. */
export const NATIVE_ISAS = [] as const;

export function loadNativeBackend(): Backend {
  throw new Error('the native addon is Node-only (the browser uses the wasm kernels: await tt.loadWasm())');
}

export function loadNativeVariant(isa: string): Backend {
  throw new Error(`native-${isa}: the native addon is Node-only`);
}

export function setNativeThreads(): number {
  return 1;
}

export function getNativeThreads(): number {
  return 1;
}

export function loadWasmBackend(): Backend {
  const loaded = loadedWasm();
  if (!loaded)
    throw new Error('wasm kernels not loaded yet: await tt.loadWasm() first (it fetches build-wasm/tatami*.wasm)');
  return loaded.backend;
}
