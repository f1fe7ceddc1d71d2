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
import { startWorker, type Worker } from './thread.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import type { Sampler } from './sampler.js';
import { decodeFromTransfer, defaultCollate, type Collated } from './collate.js';
import { batchSeed, withDataSeed } from './rng.js';

/** Options of a DataLoader (PyTorch's names in camelCase). */
export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Reshuffle the samples at every epoch (default false). */
  shuffle?: boolean;
  /**
   * The indices of each epoch, instead of `shuffle` (PyTorch's `sampler`; the two are exclusive): a Sampler (e.g.
   * `RandomSampler(ds, { replacement: true, numSamples })` for a fixed number of steps), or a fixed index list.
   */
  sampler?: Sampler | readonly number[];
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
  /**
   * Seconds to wait for a batch from a worker before giving up (PyTorch's `timeout`; default 0: wait forever). On
   * a timeout the loop throws naming the batch and the worker, and the workers are stopped (a stuck thread cannot
   * be interrupted otherwise); the next epoch starts fresh ones.
   */
  timeout?: number;
}

/**
 * Stops the workers of a loader that became garbage without `close()` (an abandoned loader used to keep its
 * threads, ~27 MB each, until the process exited). Holds the pool, never the loader.
 */
const abandonedPools = new FinalizationRegistry<{ pool: WorkerPool | null }>((box) => {
  void box.pool?.terminate();
});

const warnedNoSpec = new WeakSet<object>();

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
  /** Sent once by each worker when its dataset is built. */
  ready?: boolean;
}

/**
 * Iterates over a dataset in batches: `for (const [x, y] of loader)` (synchronous) or
 * `for await (const [x, y] of loader)` (asynchronous; uses the worker threads when numWorkers > 0).
 */
export class DataLoader<T, B = Collated<T>> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** The sampler option (null: sequential, or shuffled when `shuffle`). */
  readonly sampler: Sampler | readonly number[] | null;
  readonly dropLast: boolean;
  readonly numWorkers: number;
  readonly prefetchFactor: number;
  readonly generator: Generator;
  private readonly collateFn: (samples: T[]) => B;
  private readonly customCollate: boolean;
  private readonly workerDataset: WorkerSpec | undefined;
  private readonly persistentWorkers: boolean;
  private readonly timeoutMs: number;
  /** The worker pool, boxed so the finalization registry can reach it without holding the loader. */
  private readonly poolBox: { pool: WorkerPool | null } = { pool: null };
  /** Number of epochs started so far. */
  epoch = 0;

  constructor(dataset: Dataset<T>, opts: DataLoaderOptions<T, B> = {}) {
    if (!dataset || typeof dataset.get !== 'function' || typeof dataset.length !== 'number') {
      throw new Error('DataLoader: expected a dataset with a numeric length and a get(index) method');
    }
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    const numWorkers = opts.numWorkers ?? 0;
    if (!Number.isInteger(numWorkers) || numWorkers < 0)
      throw new Error(`DataLoader: numWorkers must be a non-negative integer, got ${numWorkers}`);
    const prefetchFactor = opts.prefetchFactor ?? 2;
    if (!Number.isInteger(prefetchFactor) || prefetchFactor < 1)
      throw new Error(`DataLoader: prefetchFactor must be a positive integer, got ${prefetchFactor}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    if (opts.sampler !== undefined && this.shuffle)
      throw new Error(
        'DataLoader: sampler and shuffle are mutually exclusive (a sampler decides the order; drop shuffle: true)',
      );
    if (
      opts.sampler !== undefined &&
      !Array.isArray(opts.sampler) &&
      typeof (opts.sampler as Sampler).indices !== 'function'
    ) {
      throw new Error(
        'DataLoader: sampler must be a Sampler (with length and indices(generator)) or an array of indices',
      );
    }
    if (Array.isArray(opts.sampler)) {
      const bad = (opts.sampler as readonly number[]).find((i) => !Number.isInteger(i) || i < 0 || i >= dataset.length);
      if (bad !== undefined)
        throw new Error(`DataLoader: sampler index ${bad} is not an integer in [0, ${dataset.length})`);
    }
    this.sampler = opts.sampler ?? null;
    this.dropLast = opts.dropLast ?? false;
    this.numWorkers = numWorkers;
    this.prefetchFactor = prefetchFactor;
    this.generator = opts.generator ?? defaultGenerator;
    this.customCollate = opts.collate !== undefined;
    this.collateFn = opts.collate ?? ((s: T[]) => defaultCollate(s) as B);
    this.workerDataset = opts.workerDataset;
    this.persistentWorkers = opts.persistentWorkers ?? true;
    const timeout = opts.timeout ?? 0;
    if (!(typeof timeout === 'number' && timeout >= 0 && Number.isFinite(timeout)))
      throw new Error(`DataLoader: timeout must be a non-negative number of seconds, got ${timeout}`);
    this.timeoutMs = timeout * 1000;
    abandonedPools.register(this, this.poolBox);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.sampler ? this.sampler.length : this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Starts an epoch: its seed and the list of index batches. */
  private plan(): { seed: number; batches: number[][] } {
    const seed = this.generator.nextUint32();
    this.epoch++;
    let order: ArrayLike<number>;
    if (Array.isArray(this.sampler)) order = this.sampler as readonly number[];
    else if (this.sampler) order = (this.sampler as Sampler).indices(new Generator(seed));
    else if (this.shuffle) order = new Generator(seed).permutation(this.dataset.length);
    else {
      const n = this.dataset.length;
      const o = new Int32Array(n);
      for (let i = 0; i < n; i++) o[i] = i;
      order = o;
    }
    const n = order.length;
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
    if (spec === null && this.numWorkers > 0 && !warnedNoSpec.has(this)) {
      warnedNoSpec.add(this);
      process.emitWarning(
        `DataLoader: numWorkers=${this.numWorkers} but ${this.dataset.constructor.name} cannot be rebuilt in a worker thread ` +
          '(it lives only in memory, or uses a plain-function/Lambda transform or a transform bound to its own generator); ' +
          'loading in the main thread. Pass the workerDataset option to name a module that builds it.',
        'TatamiDataLoaderWarning',
      );
    }
    if (spec === null) {
      const { seed, batches } = this.plan();
      for (let b = 0; b < batches.length; b++) {
        yield this.loadBatch(batches[b], batchSeed(seed, b));
        // Yield to the event loop between batches so timers and I/O callbacks keep running during an epoch.
        await yieldToEventLoop();
      }
      return;
    }
    const { seed, batches } = this.plan();
    // A pool with a dead or failed worker is replaced: one bad epoch must not fail every later one.
    if (this.poolBox.pool?.broken) await this.close();
    const pool = (this.poolBox.pool ??= new WorkerPool(spec, this.numWorkers, !this.customCollate));
    const inFlight = new Map<number, Promise<unknown>>();
    const maxAhead = this.numWorkers * this.prefetchFactor;
    let next = 0;
    const launch = () => {
      while (next < batches.length && inFlight.size < maxAhead) {
        const p = pool.request(next % this.numWorkers, batches[next], batchSeed(seed, next));
        // Batches fetched ahead may fail while the consumer is busy with an earlier one: mark the rejection as
        // handled now (it is re-raised when that batch is awaited) so it cannot crash the process as unhandled.
        p.catch(() => undefined);
        inFlight.set(next, p);
        next++;
      }
    };
    let completed = false;
    try {
      for (let b = 0; b < batches.length; b++) {
        launch();
        const reply = (await this.withTimeout(inFlight.get(b)!, b, b % this.numWorkers)) as WorkerReply;
        inFlight.delete(b);
        launch();
        yield reply.batch !== undefined ? (reply.batch as B) : this.collateFn(reply.samples as T[]);
      }
      completed = true;
    } finally {
      // An epoch left early (break, return(), an error) releases its workers: their in-flight batches are not
      // wanted, and an abandoned iteration is usually the last use of the loader.
      if (!completed || !this.persistentWorkers || pool.broken) await this.close();
    }
  }

  /** Waits for `p`; with a timeout, at most timeoutMs once the worker is running (its start-up is not counted). */
  private async withTimeout<R>(p: Promise<R>, batch: number, worker: number): Promise<R> {
    if (this.timeoutMs <= 0) return p;
    await Promise.race([this.poolBox.pool?.started(worker), p]);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `DataLoader: timed out after ${this.timeoutMs / 1000} s waiting for batch ${batch} from worker ${worker} (timeout option); workers stopped`,
            ),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([p, expired]);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('DataLoader: timed out')) await this.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the worker threads (they are restarted on the next asynchronous epoch). */
  async close(): Promise<void> {
    const pool = this.poolBox.pool;
    this.poolBox.pool = null;
    if (pool) await pool.terminate();
  }
}

/** Lets timers and I/O run between batches: setImmediate in Node, a zero timeout in a page (no setImmediate). */
function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)));
}

class WorkerPool {
  private readonly workers: Worker[];
  /** Resolved when each worker has built its dataset (or failed: then requests fail anyway). */
  private readonly readiness: { promise: Promise<void>; resolve: () => void }[];
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | null = null;
  private readonly exited = new Set<Worker>();

  /** A worker died or failed: the pool must be replaced before the next epoch. */
  get broken(): boolean {
    return this.failed !== null;
  }

  constructor(spec: WorkerSpec, n: number, collateInWorker: boolean) {
    this.readiness = Array.from({ length: n }, () => {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    });
    this.workers = Array.from({ length: n }, (_, w) => {
      const worker = startWorker({ spec, collateInWorker });
      // Idle workers must not keep the process alive once the training script is done.
      worker.unref();
      worker.on('message', (reply: WorkerReply) => {
        if (reply.ready) return this.readiness[w].resolve();
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
        this.exited.add(worker);
        if (!this.terminating) this.fail(new Error(`DataLoader worker ${w} exited unexpectedly (code ${code})`));
      });
      return worker;
    });
  }

  /** Resolves once worker `w` can serve requests (or the pool failed). */
  started(w: number): Promise<void> {
    return this.readiness[w].promise;
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const r of this.readiness) r.resolve();
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

  private terminating = false;

  async terminate(): Promise<void> {
    this.terminating = true;
    this.fail(new Error('DataLoader: the workers were stopped'));
    const live = this.workers.filter((w) => !this.exited.has(w));
    if (live.length === 0) return;
    // A worker that is already dying (after an uncaught error) may no longer hold the event loop open, so its
    // 'exit' could be left unobserved; a timer keeps the loop alive until every exit has been seen (5 s at most).
    let keepAlive: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (keepAlive = setTimeout(resolve, 5000)));
    try {
      await Promise.race([Promise.all(live.map((w) => w.terminate())), limit]);
    } finally {
      clearTimeout(keepAlive);
    }
  }
}
