/**
 * Samplers: the sequence of dataset indices a DataLoader batches in one epoch (PyTorch's `torch.utils.data.Sampler`).
 * The loader hands each epoch's sampler a generator seeded by the epoch seed, so orders are reproducible and
 * identical with and without worker threads.
 */
import type { Generator } from '../tensor/random.js';

/** An epoch's index order. `length` is the number of indices it yields (PyTorch's `__len__`). */
export interface Sampler {
  readonly length: number;
  /** The indices of one epoch, drawn from `generator` (seeded by the loader per epoch). */
  indices(generator: Generator): ArrayLike<number>;
}

/** 0, 1, …, n−1 (PyTorch's SequentialSampler; what `shuffle: false` does). */
export class SequentialSampler implements Sampler {
  readonly length: number;
  constructor(dataSource: { readonly length: number }) {
    this.length = dataSource.length;
  }

  indices(): Int32Array {
    const out = new Int32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = i;
    return out;
  }
}

/** Options of RandomSampler (PyTorch's `replacement`, `num_samples`). */
export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** Indices per epoch (default: the dataset's length). */
  numSamples?: number;
}

/**
 * Random indices (PyTorch's RandomSampler). Without replacement, an epoch is a random permutation; with a
 * `numSamples` larger than the dataset it is several fresh permutations one after the other, then part of one — so
 * a fixed number of optimiser steps walks through the data in shuffled passes whose batches may cross pass
 * boundaries, exactly as `RandomSampler(data, num_samples=steps * batch_size)` does in PyTorch.
 */
export class RandomSampler implements Sampler {
  readonly length: number;
  readonly replacement: boolean;
  private readonly n: number;

  constructor(dataSource: { readonly length: number }, opts: RandomSamplerOptions = {}) {
    this.n = dataSource.length;
    this.replacement = opts.replacement ?? false;
    const numSamples = opts.numSamples ?? this.n;
    if (!Number.isInteger(numSamples) || numSamples < 0)
      throw new Error(`RandomSampler: numSamples must be a non-negative integer, got ${numSamples}`);
    if (numSamples > 0 && this.n === 0)
      throw new Error(`RandomSampler: cannot draw ${numSamples} samples from an empty dataset`);
    this.length = numSamples;
  }

  indices(generator: Generator): Int32Array {
    const out = new Int32Array(this.length);
    if (this.replacement) {
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(generator.random() * this.n);
      return out;
    }
    for (let filled = 0; filled < out.length; filled += this.n) {
      const perm = generator.permutation(this.n);
      out.set(perm.subarray(0, Math.min(this.n, out.length - filled)), filled);
    }
    return out;
  }
}
