/**
 * `tt.loadWasm()` for pages: fetches and instantiates the wasm kernels (backend/wasm-loader.browser.ts) and makes
 * them the active backend. A page cannot compile a large module synchronously, so unlike Node (which loads the
 * kernels on first use) a page awaits this once before heavy work; until then ops run on the reference backend.
 */
import { backendInfo, setBackend, type BackendInfo } from '../backend/index.js';
import { loadWasmKernels, type WasmLoadOptions } from '../backend/wasm-loader.browser.js';

export type { WasmLoadOptions, WasmUrls, WasmFileName } from '../backend/wasm-loader.browser.js';

/**
 * Loads the wasm kernels — threaded over Web Workers when the page is cross-origin isolated, single-threaded
 * otherwise — and (unless `activate: false`) makes them the active backend. Resolves to backendInfo().
 *
 * ```ts
 * const info = await tt.loadWasm();                       // from the folder of the Tatami bundle
 * await tt.loadWasm({ url: '/static/tatami-wasm/' });      // or from elsewhere
 * await tt.loadWasm({ bytes: await file.arrayBuffer() });  // or from bytes
 * info.name; info.threads; info.crossOriginIsolated;       // 'wasm-relaxed-simd', 8, true
 * ```
 */
export async function loadWasm(opts: WasmLoadOptions & { activate?: boolean } = {}): Promise<BackendInfo> {
  await loadWasmKernels(opts);
  if (opts.activate !== false) setBackend('wasm');
  return backendInfo();
}
