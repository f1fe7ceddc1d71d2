/**
 * DataLoader: batches a map-style dataset, optionally shuffled, with prefetching worker threads.
 *
 * Determinism: every epoch (each new iteration over the loader) draws one 32-bit epoch seed from the loader's
 * generator. The epoch's sample order is a permutation seeded by it, and each batch `b` runs its dataset reads and
 * transforms with the data stream seeded by (epoch seed, b) — see rng.ts. A worker thread does exactly the same
 * for the batches it is given, so a fixed seed yields identical batches with any number of workers.
 *
 * Workers (`numWorkers > 0`) are Node worker_threads. A worker cannot share the dataset object, so it rebuilds
 * it from `dataset.workerSpec()` (built-in file datasets — MNIST, FashionMNIST, CIFAR10, ImageFolder, Shapes, and
 * Subset/ConcatDataset of them — provide one when their transforms are built-in transform classes), or from the
 * `workerDataset` option: `{ module: import.meta.url, export: 'makeDataset', args: [...] }` naming a module
 * export that builds the dataset (called with `new` when `construct: true`). Datasets that live only in memory
 * (TensorDataset) gain nothing from workers and are loaded in the main thread.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import { decodeFromTransfer, defaultCollate, type Collated } from './collate.js';
import { batchSeed, withDataSeed } from './rng.js';

/** Options of a DataLoader (PyTorch's names in camelCase). */
export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Reshuffle the samples at every epoch (default false). */
  shuffle?: boolean;
  /** Source of the epoch seeds (default: the global generator). Pass `new Generator(seed)` for reproducibility. */
  generator?: Generator;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Turns a list of samples into a batch (default: defaultCollate). */
  collate?: (samples: T[]) => B;
  /** Worker threads that load and transform batches in parallel (default 0: load in the calling thread). */
  numWorkers?: number;
  /** Batches each worker keeps in flight ahead of the consumer (default 2). */
  prefetchFactor?: number;
  /** How workers rebuild the dataset when `dataset.workerSpec()` is null (see the module comment). */
  workerDataset?: WorkerSpec;
  /** Keep the worker threads alive between epochs (default true when numWorkers > 0). */
  persistentWorkers?: boolean;
}

/** Request sent to a worker. */
interface WorkerRequest {
  id: number;
  indices: number[];
  seed: number;
}

/** Reply from a worker. */
interface WorkerReply {
  id: number;
  batch?: unknown;
  samples?: unknown[];
  error?: string;
}

/**
 * Iterates over a dataset in batches: `for (const [x, y] of loader)` (synchronous) or
 * `for await (const [x, y] of loader)` (asynchronous; uses the worker threads when numWorkers > 0).
 */
export class DataLoader<T, B = Collated<T>> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly numWorkers: number;
  readonly prefetchFactor: number;
  readonly generator: Generator;
  private readonly collateFn: (samples: T[]) => B;
  private readonly customCollate: boolean;
  private readonly workerDataset: WorkerSpec | undefined;
  private readonly persistentWorkers: boolean;
  private pool: WorkerPool | null = null;
  /** Number of epochs started so far. */
  epoch = 0;

  constructor(dataset: Dataset<T>, opts: DataLoaderOptions<T, B> = {}) {
    if (!dataset || typeof dataset.get !== 'function' || typeof dataset.length !== 'number') {
      throw new Error('DataLoader: expected a dataset with a numeric length and a get(index) method');
    }
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    const numWorkers = opts.numWorkers ?? 0;
    if (!Number.isInteger(numWorkers) || numWorkers < 0) throw new Error(`DataLoader: numWorkers must be a non-negative integer, got ${numWorkers}`);
    const prefetchFactor = opts.prefetchFactor ?? 2;
    if (!Number.isInteger(prefetchFactor) || prefetchFactor < 1) throw new Error(`DataLoader: prefetchFactor must be a positive integer, got ${prefetchFactor}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.numWorkers = numWorkers;
    this.prefetchFactor = prefetchFactor;
    this.generator = opts.generator ?? defaultGenerator;
    this.customCollate = opts.collate !== undefined;
    this.collateFn = opts.collate ?? ((s: T[]) => defaultCollate(s) as B);
    this.workerDataset = opts.workerDataset;
    this.persistentWorkers = opts.persistentWorkers ?? true;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Starts an epoch: its seed and the list of index batches. */
  private plan(): { seed: number; batches: number[][] } {
    const seed = this.generator.nextUint32();
    this.epoch++;
    const n = this.dataset.length;
    let order: ArrayLike<number>;
    if (this.shuffle) order = new Generator(seed).permutation(n);
    else {
      const o = new Int32Array(n);
      for (let i = 0; i < n; i++) o[i] = i;
      order = o;
    }
    const batches: number[][] = [];
    for (let s = 0; s < n; s += this.batchSize) {
      const e = Math.min(n, s + this.batchSize);
      if (e - s < this.batchSize && this.dropLast) break;
      batches.push(Array.from({ length: e - s }, (_, k) => order[s + k]));
    }
    return { seed, batches };
  }

  private loadBatch(indices: number[], seed: number): B {
    return withDataSeed(seed, () => this.collateFn(indices.map((i) => this.dataset.get(i))));
  }

  /** Synchronous iteration in the calling thread (workers are not used). */
  *[Symbol.iterator](): Iterator<B> {
    const { seed, batches } = this.plan();
    for (let b = 0; b < batches.length; b++) yield this.loadBatch(batches[b], batchSeed(seed, b));
  }

  /** Asynchronous iteration; with numWorkers > 0 batches are prepared by worker threads ahead of use. */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const spec = this.numWorkers > 0 ? (this.workerDataset ?? this.dataset.workerSpec()) : null;
    if (spec === null) {
      const { seed, batches } = this.plan();
      for (let b = 0; b < batches.length; b++) {
        yield this.loadBatch(batches[b], batchSeed(seed, b));
        // Yield to the event loop between batches so timers and I/O callbacks keep running during an epoch.
        await new Promise<void>((r) => setImmediate(r));
      }
      return;
    }
    const { seed, batches } = this.plan();
    const pool = (this.pool ??= new WorkerPool(spec, this.numWorkers, !this.customCollate));
    const inFlight = new Map<number, Promise<unknown>>();
    const maxAhead = this.numWorkers * this.prefetchFactor;
    let next = 0;
    const launch = () => {
      while (next < batches.length && inFlight.size < maxAhead) {
        inFlight.set(next, pool.request(next % this.numWorkers, batches[next], batchSeed(seed, next)));
        next++;
      }
    };
    try {
      for (let b = 0; b < batches.length; b++) {
        launch();
        const reply = (await inFlight.get(b)!) as WorkerReply;
        inFlight.delete(b);
        launch();
        yield reply.batch !== undefined ? (reply.batch as B) : this.collateFn(reply.samples as T[]);
      }
    } finally {
      // Let outstanding requests settle so their rejections are not left unhandled.
      for (const p of inFlight.values()) p.catch(() => undefined);
      if (!this.persistentWorkers) await this.close();
    }
  }

  /** Stops the worker threads (they are restarted on the next asynchronous epoch). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.terminate();
  }
}

/** Worker module: the compiled .js next to this file, or the .ts source when running from source (tsx). */
function workerUrl(): URL {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return js;
  return new URL('./worker.ts', import.meta.url);
}

class WorkerPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | null = null;

  constructor(spec: WorkerSpec, n: number, collateInWorker: boolean) {
    this.workers = Array.from({ length: n }, (_, w) => {
      const worker = new Worker(workerUrl(), { workerData: { spec, collateInWorker } });
      // Idle workers must not keep the process alive once the training script is done.
      worker.unref();
      worker.on('message', (reply: WorkerReply) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        if (reply.error !== undefined) p.reject(new Error(`DataLoader worker ${w}: ${reply.error}`));
        else {
          if (reply.batch !== undefined) reply.batch = decodeFromTransfer(reply.batch);
          if (reply.samples !== undefined) reply.samples = decodeFromTransfer(reply.samples) as unknown[];
          p.resolve(reply);
        }
      });
      worker.on('error', (e) => this.fail(new Error(`DataLoader worker ${w} failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`DataLoader worker ${w} exited with code ${code}`));
      });
      return worker;
    });
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  request(worker: number, indices: number[], seed: number): Promise<WorkerReply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const w = this.workers[worker];
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // A busy worker keeps the process alive until it answers.
      w.ref();
      const msg: WorkerRequest = { id, indices, seed };
      w.postMessage(msg);
    }).finally(() => {
      if (![...this.pending.keys()].length) for (const x of this.workers) x.unref();
    });
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
