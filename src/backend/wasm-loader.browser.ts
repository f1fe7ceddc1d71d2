/**
 * The browser's way of loading the wasm kernels (wasm.ts): the build is fetched and compiled while it streams in
 * (WebAssembly.instantiateStreaming, falling back to an ArrayBuffer when the server sends the wrong MIME type), or
 * taken from bytes the caller already has; extra threads are Web Workers over the shared memory, which a page gets
 * only when it is cross-origin isolated (COOP: same-origin, COEP: require-corp). Otherwise the single-threaded
 * build runs on the calling thread.
 */
import type { Backend } from './types.js';
import {
  WASM_VARIANTS,
  WORKER_BODY,
  loadedWasm,
  setLoadedWasm,
  setWasmThreads,
  wasmBackendOf,
  wasmImports,
  wasmKernelsOf,
  wasmVariantFile,
  type WasmKernels,
  type WasmVariant,
  type WasmWorkerSpawner,
} from './wasm.js';

/** The file names of the four builds. */
export type WasmFileName = 'tatami.wasm' | 'tatami-relaxed.wasm' | 'tatami-mt.wasm' | 'tatami-mt-relaxed.wasm';

/**
 * The URL of each build, by file name: what a bundler's asset handling gives (hashed names, so the variant cannot
 * be read off the URL). Builds left out are not tried.
 */
export type WasmUrls = Partial<Record<WasmFileName, string | URL>>;

/** Where the kernels come from and how many threads to use. */
export interface WasmLoadOptions {
  /**
   * Where the builds are: a folder URL ending in '/' (tatami[-mt][-relaxed].wasm are fetched from it, best first),
   * the URL of one .wasm file, or a record of URLs by file name (from a bundler's asset imports; the best one the
   * page can run is tried first). Default: the folder of the Tatami bundle (`new URL('./', import.meta.url)`);
   * dist/browser/ of the package holds the bundle and the four builds side by side.
   */
  url?: string | URL | WasmUrls;
  /** The module itself (bytes, a fetch Response or a compiled module) instead of fetching; threaded or not is read off its imports. */
  bytes?: BufferSource | Response | WebAssembly.Module;
  /**
   * Threads: a count (the caller plus count − 1 Web Workers), or false for one thread. Default: all cores
   * (navigator.hardwareConcurrency) when the page is cross-origin isolated, else one.
   */
  threads?: number | boolean;
  /** Try the relaxed-SIMD builds (fused multiply-add) first; default true, falling back when the browser lacks them. */
  relaxed?: boolean;
  /** How long to wait for the workers to start, in ms (default 10 000); kernels run without the late ones. */
  workerTimeoutMs?: number;
}

/** Whether this page may share memory with workers (cross-origin isolated, SharedArrayBuffer defined). */
export function canShareMemory(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer !== 'undefined' && g.crossOriginIsolated !== false;
}

const WORKER_SOURCE = `onmessage = (e) => {
  const init = e.data;
  try {
${WORKER_BODY}
  } catch (err) {
    postMessage({ error: String(err && err.message || err) });
  }
};`;

let workerUrl: string | null = null;

/** Starts a Web Worker (from a Blob URL, so no extra file to serve) that parks in tt_worker. */
const spawnWebWorker: WasmWorkerSpawner = (init) => {
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(workerUrl, { name: `tatami-wasm-${init.tid}` });
  // A worker that fails never announces itself, so kernels run without it: say so, do not crash.
  const warn = (why: string) =>
    console.warn(`tatami: wasm worker ${init.tid} failed (${why}); running with fewer threads`);
  worker.onerror = (e) => warn(e.message);
  worker.onmessage = (e: MessageEvent<{ error?: string }>) => {
    if (e.data?.error) warn(e.data.error);
  };
  worker.postMessage(init);
};

async function instantiateFrom(
  source: string | URL | BufferSource | Response | WebAssembly.Module,
  imports: WebAssembly.Imports,
): Promise<{ module: WebAssembly.Module; instance: WebAssembly.Instance }> {
  if (source instanceof WebAssembly.Module)
    return { module: source, instance: await WebAssembly.instantiate(source, imports) };
  if (typeof source === 'string' || source instanceof URL || source instanceof Response) {
    const response = source instanceof Response ? source : await fetch(source);
    if (!response.ok) throw new Error(`${response.url || String(source)}: HTTP ${response.status}`);
    if (
      typeof WebAssembly.instantiateStreaming === 'function' &&
      response.headers.get('content-type')?.startsWith('application/wasm')
    ) {
      return WebAssembly.instantiateStreaming(response, imports);
    }
    // Wrong MIME type (a static server that does not know .wasm) or no streaming API: compile the whole bytes.
    return WebAssembly.instantiate(await response.arrayBuffer(), imports);
  }
  return WebAssembly.instantiate(source, imports);
}

/** Whether a compiled module is a threaded build (it imports its memory). */
function importsMemory(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
}

async function waitForThreads(k: WasmKernels, want: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (k.threads < want && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

/** The page's (or worker's) own URL, against which relative URLs resolve. */
function pageHref(): string | undefined {
  return (globalThis as { location?: { href: string } }).location?.href;
}

/**
 * The folder of the Tatami module. `import.meta.url` is read into a variable first: written as
 * `new URL('./', import.meta.url)`, bundlers take it for an asset to resolve at build time (Vite warns, webpack
 * swaps in the page's base URL), but the builds are picked at run time. A bundler that rewrites `import.meta.url`
 * to the file it bundled (webpack) leaves a file: URL, which a page cannot fetch: then say what to do.
 */
function defaultBase(): URL {
  const here = import.meta.url;
  const base = new URL('./', here);
  const page = pageHref();
  if (base.protocol === 'file:' && page !== undefined && !page.startsWith('file:'))
    throw new Error(
      `loadWasm: the bundler rewrote this module's URL to ${base.href}, so the wasm builds cannot be found next to it; pass their URLs: loadWasm({ url: '/folder/with/the/wasm/' }) or a record of asset URLs by file name (docs/browser.md)`,
    );
  return base;
}

/**
 * Fetches, compiles and instantiates the wasm kernels, starts the worker threads and resolves once they have
 * started (or the timeout passed). Resolves to the backend; the registry's 'wasm' entry returns it from then on.
 * Called twice, it returns the first load's backend.
 */
export async function loadWasmKernels(opts: WasmLoadOptions = {}): Promise<Backend> {
  const loaded = loadedWasm();
  if (loaded) return loaded.backend;
  if (typeof WebAssembly === 'undefined') throw new Error('loadWasm: WebAssembly is not available in this browser');
  const share = canShareMemory() && opts.threads !== false && opts.threads !== 1;
  const reasons: string[] = [];
  let candidates: { variant: WasmVariant; source: string | URL | BufferSource | Response | WebAssembly.Module }[];
  if (opts.bytes !== undefined) {
    let bytes = opts.bytes;
    if (bytes instanceof Response) bytes = await bytes.arrayBuffer();
    const module = bytes instanceof WebAssembly.Module ? bytes : await WebAssembly.compile(bytes);
    const threads = importsMemory(module);
    if (threads && !share)
      throw new Error(
        'loadWasm: these bytes are a threaded build, which needs a cross-origin isolated page (SharedArrayBuffer); pass tatami.wasm instead',
      );
    candidates = [{ variant: { threads, relaxed: opts.relaxed ?? false }, source: module }];
  } else if (opts.url !== undefined && typeof opts.url !== 'string' && !(opts.url instanceof URL)) {
    const urls = opts.url as Record<string, string | URL | undefined>;
    const unknown = Object.keys(urls).filter((k) => !WASM_VARIANTS.some((v) => wasmVariantFile(v) === k));
    if (unknown.length)
      throw new Error(
        `loadWasm: url record keys must be build file names (${WASM_VARIANTS.map(wasmVariantFile).join(', ')}), got ${unknown.join(', ')}`,
      );
    candidates = WASM_VARIANTS.filter((v) => (share || !v.threads) && (opts.relaxed !== false || !v.relaxed))
      .filter((v) => urls[wasmVariantFile(v)] !== undefined)
      .map((variant) => ({ variant, source: new URL(String(urls[wasmVariantFile(variant)]), pageHref()) }));
    if (candidates.length === 0)
      throw new Error(
        `loadWasm: none of the builds given (${Object.keys(urls).join(', ') || 'none'}) can run here: ${
          share
            ? 'relaxed: false leaves only the relaxed builds out'
            : 'the page is not cross-origin isolated (no SharedArrayBuffer), so it needs tatami.wasm or tatami-relaxed.wasm'
        }`,
      );
  } else {
    const url = opts.url ?? defaultBase();
    const href = String(url);
    if (/\.wasm([?#].*)?$/.test(href)) {
      candidates = [{ variant: { threads: /-mt[-.]/.test(href), relaxed: /-relaxed/.test(href) }, source: url }];
    } else {
      const base = new URL(href.endsWith('/') ? href : `${href}/`, pageHref());
      candidates = WASM_VARIANTS.filter((v) => (share || !v.threads) && (opts.relaxed !== false || !v.relaxed)).map(
        (variant) => ({ variant, source: new URL(wasmVariantFile(variant), base) }),
      );
    }
  }
  for (const { variant, source } of candidates) {
    try {
      const { imports, memory } = wasmImports(variant);
      const { module, instance } = await instantiateFrom(source, imports);
      const k = wasmKernelsOf(instance, memory, module, spawnWebWorker);
      if (typeof opts.threads === 'number') setWasmThreads(opts.threads);
      const backend = wasmBackendOf(variant, k);
      setLoadedWasm(backend, k, variant);
      const want =
        typeof opts.threads === 'number'
          ? Math.max(1, Math.floor(opts.threads))
          : Math.min(
              16,
              (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
            );
      if (variant.threads) await waitForThreads(k, want, opts.workerTimeoutMs ?? 10_000);
      return backend;
    } catch (err) {
      reasons.push(
        `${source instanceof WebAssembly.Module ? 'module' : String(source)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  throw new Error(`loadWasm: wasm kernels unavailable (${reasons.join('; ')})`);
}
