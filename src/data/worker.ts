/**
 * DataLoader worker thread: rebuilds the dataset from its WorkerSpec, then answers batch requests
 * `{ id, indices, seed }` with the collated batch (or the raw samples when the loader has a custom collate,
 * which cannot cross threads), moving tensor buffers instead of copying them.
 */
import { parentPort, workerData } from 'node:worker_threads';
// What the main thread installed through the library's entry: the autograd engine, the Tensor methods and every
// built-in dataset and registered transform (a spec names them); user modules import their own dependencies.
import '../autograd/engine.js';
import '../ops/methods.js';
import './index.js';
import { datasetFromSpec, type WorkerSpec } from './dataset.js';
import { defaultCollate, encodeForTransfer } from './collate.js';
import { withDataSeed } from './rng.js';

const { spec, collateInWorker } = workerData as { spec: WorkerSpec; collateInWorker: boolean };
const port = parentPort!;
const ready = datasetFromSpec(spec);
// A dataset that fails to build is reported with the first request; it must not crash the thread as unhandled.
// Announced so the loader's `timeout` clock starts once the thread can serve (starting one takes seconds).
ready.then(
  () => port.postMessage({ id: -1, ready: true }),
  () => undefined,
);

port.on('message', async (req: { id: number; indices: number[]; seed: number }) => {
  try {
    const dataset = await ready;
    const result = withDataSeed(req.seed, () => {
      const samples = req.indices.map((i) => dataset.get(i));
      return collateInWorker ? defaultCollate(samples) : samples;
    });
    const transfer: ArrayBuffer[] = [];
    const encoded = encodeForTransfer(result, transfer);
    port.postMessage(collateInWorker ? { id: req.id, batch: encoded } : { id: req.id, samples: encoded }, transfer);
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: req.id, error: err?.stack ?? String(e) });
  }
});
