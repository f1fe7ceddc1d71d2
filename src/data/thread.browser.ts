/**
 * thread.ts for browser bundles: DataLoader's worker pool is built on Node's worker_threads (module paths,
 * workerData), so in a page batches load on the calling thread (numWorkers: 0, the default).
 */
export class Worker {
  constructor() {
    throw new Error(
      'DataLoader: numWorkers > 0 needs Node worker_threads; in the browser load batches on the calling thread (numWorkers: 0)',
    );
  }
}
