/** Splitting datasets: random splits, k-fold cross-validation. */
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Dataset, Subset } from './dataset.js';

/**
 * Randomly splits a dataset into non-overlapping subsets (PyTorch's random_split). `lengths` are sample counts
 * summing to the dataset length, or fractions summing to 1 (the remainder after flooring is dealt round-robin,
 * as PyTorch does).
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  opts: { generator?: Generator } = {},
): Subset<T>[] {
  const n = dataset.length;
  if (lengths.length === 0) throw new Error('randomSplit: expected at least one length');
  if (lengths.some((l) => !Number.isFinite(l) || l < 0))
    throw new Error(`randomSplit: lengths must be non-negative numbers, got ${JSON.stringify(lengths)}`);
  let sizes: number[];
  const total = lengths.reduce((a, b) => a + b, 0);
  // PyTorch's rule: lengths summing to 1 (and not to n) are fractions.
  if (Math.abs(total - 1) < 1e-6 && total !== n) {
    sizes = lengths.map((f) => Math.floor(n * f));
    let rem = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; rem > 0; i = (i + 1) % sizes.length, rem--) sizes[i]++;
  } else {
    if (!lengths.every(Number.isInteger))
      throw new Error(
        `randomSplit: lengths must be integers summing to ${n} or fractions summing to 1, got ${JSON.stringify(lengths)}`,
      );
    if (total !== n)
      throw new Error(`randomSplit: sum of input lengths (${total}) does not equal the length of the dataset (${n})`);
    sizes = lengths.slice();
  }
  const perm = (opts.generator ?? defaultGenerator).permutation(n);
  const out: Subset<T>[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(new Subset(dataset, perm.subarray(start, start + s)));
    start += s;
  }
  return out;
}

/** One fold of a KFold split. */
export interface Fold {
  fold: number;
  train: Int32Array;
  val: Int32Array;
}

/**
 * K-fold cross-validation splitter (scikit-learn's KFold): the indices 0..n-1 (optionally shuffled) are cut into
 * `nSplits` consecutive folds — the first n % nSplits folds one larger — and each fold serves once as validation.
 */
export class KFold {
  readonly nSplits: number;
  readonly shuffle: boolean;
  private readonly generator: Generator | undefined;

  constructor(nSplits = 5, opts: { shuffle?: boolean; generator?: Generator } = {}) {
    if (!Number.isInteger(nSplits) || nSplits < 2)
      throw new Error(`KFold: nSplits must be an integer ≥ 2, got ${nSplits}`);
    this.nSplits = nSplits;
    this.shuffle = opts.shuffle ?? false;
    this.generator = opts.generator;
  }

  /** Yields `{ fold, train, val }` index arrays for a dataset (or a sample count). */
  *split(data: Dataset<unknown> | number): Generator_<Fold> {
    const n = typeof data === 'number' ? data : data.length;
    if (n < this.nSplits) throw new Error(`KFold: cannot make ${this.nSplits} folds from ${n} samples`);
    let order: Int32Array;
    if (this.shuffle) order = (this.generator ?? defaultGenerator).permutation(n);
    else {
      order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
    }
    let start = 0;
    for (let k = 0; k < this.nSplits; k++) {
      const size = Math.floor(n / this.nSplits) + (k < n % this.nSplits ? 1 : 0);
      const val = order.slice(start, start + size);
      const train = new Int32Array(n - size);
      train.set(order.subarray(0, start), 0);
      train.set(order.subarray(start + size), start);
      yield { fold: k, train, val };
      start += size;
    }
  }
}

/** The iterator KFold.split returns (a JavaScript generator; the name `Generator` is Tatami's random generator). */
export type Generator_<T> = globalThis.Generator<T, void, undefined>;

/** Per-fold scores and their summary from crossValidate. */
export interface CrossValidationResult {
  scores: number[];
  mean: number;
  /** Sample standard deviation (n − 1), 0 for a single fold. */
  std: number;
  /** e.g. "0.8123 ± 0.0150 (5 folds)". */
  summary: string;
}

/**
 * K-fold cross-validation: calls `trainAndScore(train, val, fold)` for each fold (awaiting it if it returns a
 * promise) and reports the per-fold scores with their mean ± std.
 */
export async function crossValidate<T>(
  dataset: Dataset<T>,
  k: number,
  trainAndScore: (train: Subset<T>, val: Subset<T>, fold: number) => number | Promise<number>,
  opts: { shuffle?: boolean; generator?: Generator } = {},
): Promise<CrossValidationResult> {
  const kf = new KFold(k, { shuffle: opts.shuffle ?? true, generator: opts.generator });
  const scores: number[] = [];
  for (const { fold, train, val } of kf.split(dataset)) {
    const score = await trainAndScore(new Subset(dataset, train), new Subset(dataset, val), fold);
    if (typeof score !== 'number' || Number.isNaN(score))
      throw new Error(`crossValidate: fold ${fold} returned ${String(score)}; trainAndScore must return a number`);
    scores.push(score);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = scores.length > 1 ? Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / (scores.length - 1)) : 0;
  return { scores, mean, std, summary: `${mean.toFixed(4)} ± ${std.toFixed(4)} (${scores.length} folds)` };
}
