/**
 * The random stream used by data transforms that were given no explicit generator.
 *
 * A DataLoader seeds it per batch from (epoch seed, batch index) — in the main thread and in worker threads
 * alike — so augmentation is identical with and without workers and does not depend on which worker ran a batch.
 * Outside a DataLoader it falls back to the process-wide default generator (like torchvision's use of torch's
 * global RNG).
 */
import { defaultGenerator, Generator } from '../tensor/random.js';

let active: Generator | null = null;

/** The generator a random transform should draw from: its own, else the loader's per-batch one, else the default. */
export function dataGenerator(explicit?: Generator | null): Generator {
  return explicit ?? active ?? defaultGenerator;
}

/** Runs `fn` with the data stream seeded by `seed` (restoring the previous stream afterwards). */
export function withDataSeed<T>(seed: number, fn: () => T): T {
  const prev = active;
  active = new Generator(seed);
  try {
    return fn();
  } finally {
    active = prev;
  }
}

/** A 32-bit seed for batch `batch` of an epoch whose seed is `epochSeed` (SplitMix-style mixing). */
export function batchSeed(epochSeed: number, batch: number): number {
  let z = (epochSeed ^ Math.imul(batch + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
