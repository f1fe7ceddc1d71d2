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

/** No worker threads in a page (see Worker above). */
export function startWorker(): Worker {
  return new Worker();
}

/** datasetFromSpec rebuilds datasets in Node's worker threads; a page builds its dataset directly. */
export function importModule(url: string): Promise<unknown> {
  return Promise.reject(
    new Error(
      `datasetFromSpec(${url}): importing a dataset module by URL is for Node's DataLoader workers; in a page, build the dataset directly`,
    ),
  );
}
