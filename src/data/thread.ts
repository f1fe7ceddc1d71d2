/**
 * The worker threads DataLoader's numWorkers uses (Node's worker_threads); browser bundles swap in
 * thread.browser.ts. Starting one lives here, behind the seam, because it names its module by
 * `new URL('./worker.js', import.meta.url)` — a pattern bundlers (webpack, Vite) try to resolve as an asset of
 * the browser bundle, where no worker.js exists.
 */
import { Worker } from 'node:worker_threads';
import { existsSync, fileURLToPath } from '../io/fs.js';

export { Worker };

/**
 * Imports a dataset module named at run time (datasetFromSpec, in DataLoader's worker threads). Behind the seam
 * because a bundler cannot resolve an `import()` of a variable: webpack warns, Vite leaves a warning too.
 */
export function importModule(url: string): Promise<unknown> {
  return import(url);
}

/**
 * Starts a worker thread running worker.ts/js. From compiled JavaScript that is a plain Worker. When running from
 * TypeScript sources (tsx), the loader hooks of the main thread do not reach worker threads, so the worker is
 * started through a tiny bootstrap that registers tsx's ESM hooks first, then imports the TypeScript worker.
 */
export function startWorker(workerData: unknown): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL('./worker.ts', import.meta.url);
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    throw new Error(
      'DataLoader: numWorkers > 0 from TypeScript sources needs the tsx package (npm i -D tsx), or build to JavaScript first',
    );
  }
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); }).catch((e) => { process.nextTick(() => { throw e; }); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
