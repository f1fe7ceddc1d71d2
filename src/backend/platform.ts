/**
 * The accelerated backends of this platform, as the registry (index.ts) sees them. This is Node's: the native
 * addon and the wasm kernels read from build-wasm/. Browser bundles replace this file by platform.browser.ts
 * (scripts/build-browser.mjs swaps every `X.ts` that has an `X.browser.ts` sibling), so nothing here is reachable
 * from the browser entry.
 */
export { loadNativeBackend, loadNativeVariant, setNativeThreads, getNativeThreads, NATIVE_ISAS } from './native.js';
export { loadWasmBackend, setWasmThreads, getWasmThreads } from './wasm-loader.js';
