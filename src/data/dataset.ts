/**
 * Map-style datasets (PyTorch's torch.utils.data.Dataset): a length and random access by index.
 * Samples are whatever `get` returns — usually a tuple `[image, label]` or an object of tensors — and a
 * DataLoader batches them with its collate function.
 */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { importModule } from './thread.js';

/**
 * How a worker thread re-creates a dataset: it imports `module` (an absolute file URL or path), takes its export
 * `export` and calls it with `args` (structured-cloneable values: plain data, typed arrays). With `construct`
 * the export is called with `new`. See DataLoader's `numWorkers`.
 */
export interface WorkerSpec {
  module: string;
  export: string;
  args: unknown[];
  construct?: boolean;
}

/** A dataset of `length` samples addressed by index 0..length-1. */
export abstract class Dataset<T> {
  /** Number of samples. */
  abstract get length(): number;

  /** The sample at `index` (0 ≤ index < length). */
  abstract get(index: number): T;

  /**
   * A serialisable description from which a worker thread can rebuild this dataset (null when the dataset
   * lives only in this thread's memory, e.g. a TensorDataset or one with a Lambda transform).
   */
  workerSpec(): WorkerSpec | null {
    return null;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** Throws a clear error unless `index` addresses a sample; returns it as an integer. */
  protected checkIndex(index: number): number {
    const n = this.length;
    if (!Number.isInteger(index) || index < -n || index >= n) {
      throw new Error(`${this.constructor.name}: index ${index} is out of range for a dataset of ${n} samples`);
    }
    return index < 0 ? index + n : index;
  }
}

/** Rows of one or more tensors that share their first dimension: sample i is `[t0[i], t1[i], …]`. */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new Error('TensorDataset: expected at least one tensor');
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor)) throw new Error(`TensorDataset: argument ${k} is not a Tensor`);
      if (t.shape.length === 0)
        throw new Error(`TensorDataset: tensor ${k} is 0-d; tensors need a first (sample) dimension`);
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new Error(
          `TensorDataset: size mismatch between tensors: tensor 0 has shape ${formatShape(tensors[0].shape)} but tensor ${k} has ${formatShape(t.shape)} (first dims must agree)`,
        );
      }
    });
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  get(index: number): Tensor[] {
    const i = this.checkIndex(index);
    return this.tensors.map((t) => rowOf(t, i));
  }
}

/** Row `i` of `t` as a view (no copy). */
function rowOf(t: Tensor, i: number): Tensor {
  return new Tensor(t.storage, t.shape.slice(1), t.dtype, t.strides.slice(1), t.offset + i * t.strides[0]);
}

/** The samples of `dataset` at `indices`, in that order. */
export class Subset<T> extends Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: Int32Array;

  constructor(dataset: Dataset<T>, indices: ArrayLike<number>) {
    super();
    const n = dataset.length;
    const idx = Int32Array.from(indices as ArrayLike<number>);
    for (let k = 0; k < idx.length; k++) {
      if (!Number.isInteger(indices[k]) || idx[k] < 0 || idx[k] >= n) {
        throw new Error(`Subset: index ${indices[k]} (position ${k}) is out of range for a dataset of ${n} samples`);
      }
    }
    this.dataset = dataset;
    this.indices = idx;
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    return this.dataset.get(this.indices[this.checkIndex(index)]);
  }

  override workerSpec(): WorkerSpec | null {
    const inner = this.dataset.workerSpec();
    if (inner === null) return null;
    return { module: import.meta.url, export: 'subsetFromSpec', args: [inner, Array.from(this.indices)] };
  }
}

/** The concatenation of several datasets (PyTorch's ConcatDataset). */
export class ConcatDataset<T> extends Dataset<T> {
  readonly datasets: Dataset<T>[];
  /** cumulativeSizes[k] = total length of datasets 0..k. */
  readonly cumulativeSizes: number[];

  constructor(datasets: readonly Dataset<T>[]) {
    super();
    if (datasets.length === 0) throw new Error('ConcatDataset: expected a non-empty list of datasets');
    this.datasets = datasets.slice();
    let total = 0;
    this.cumulativeSizes = this.datasets.map((d) => (total += d.length));
  }

  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  get(index: number): T {
    const i = this.checkIndex(index);
    // Binary search for the first dataset whose cumulative size exceeds i.
    let lo = 0;
    let hi = this.cumulativeSizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulativeSizes[mid] > i) hi = mid;
      else lo = mid + 1;
    }
    const start = lo === 0 ? 0 : this.cumulativeSizes[lo - 1];
    return this.datasets[lo].get(i - start);
  }

  override workerSpec(): WorkerSpec | null {
    const specs = this.datasets.map((d) => d.workerSpec());
    if (specs.some((s) => s === null)) return null;
    return { module: import.meta.url, export: 'concatFromSpec', args: [specs] };
  }
}

/** Rebuilds a dataset from its WorkerSpec (used by DataLoader workers; also handy for tests). */
export async function datasetFromSpec(spec: WorkerSpec): Promise<Dataset<unknown>> {
  const mod = (await importModule(spec.module)) as Record<string, unknown>;
  const fn = mod[spec.export];
  if (typeof fn !== 'function')
    throw new Error(`datasetFromSpec: module ${spec.module} has no function export '${spec.export}'`);
  const made: unknown = spec.construct
    ? new (fn as new (...a: unknown[]) => unknown)(...spec.args)
    : await (fn as (...a: unknown[]) => unknown)(...spec.args);
  if (!(made instanceof Dataset) && !(typeof made === 'object' && made !== null && 'get' in made && 'length' in made)) {
    throw new Error(
      `datasetFromSpec: ${spec.module}#${spec.export} did not return a dataset (an object with length and get)`,
    );
  }
  return made as Dataset<unknown>;
}

/** Internal (worker specs): a Subset of a dataset described by a spec. */
export async function subsetFromSpec(inner: WorkerSpec, indices: number[]): Promise<Dataset<unknown>> {
  return new Subset(await datasetFromSpec(inner), indices);
}

/** Internal (worker specs): a ConcatDataset of datasets described by specs. */
export async function concatFromSpec(specs: WorkerSpec[]): Promise<Dataset<unknown>> {
  return new ConcatDataset(await Promise.all(specs.map((s) => datasetFromSpec(s))));
}
