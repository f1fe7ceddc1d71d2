/** The worker threads DataLoader's numWorkers uses (Node's); browser bundles swap in thread.browser.ts. */
export { Worker } from 'node:worker_threads';
