/** Samplers and the DataLoader `sampler` option (PyTorch's RandomSampler / SequentialSampler semantics). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const { DataLoader, RandomSampler, SequentialSampler, TensorDataset } = tt.data;

const isPermutation = (xs: ArrayLike<number>, n: number): boolean =>
  Array.from(xs)
    .sort((a, b) => a - b)
    .every((v, i) => v === i) && xs.length === n;

test('RandomSampler: a permutation per pass; numSamples beyond the data chains fresh permutations', () => {
  const ds = { length: 7 };
  const one = new RandomSampler(ds).indices(new tt.Generator(1));
  assert.ok(isPermutation(one, 7));
  const s = new RandomSampler(ds, { numSamples: 17 });
  assert.equal(s.length, 17);
  const idx = s.indices(new tt.Generator(2));
  assert.equal(idx.length, 17);
  assert.ok(isPermutation(idx.subarray(0, 7), 7) && isPermutation(idx.subarray(7, 14), 7));
  assert.ok(new Set(idx.subarray(14)).size === 3, 'the last part of a pass has no repeats');
  assert.notDeepEqual(Array.from(idx.subarray(0, 7)), Array.from(idx.subarray(7, 14)));
  // Same generator seed, same order.
  assert.deepEqual(Array.from(s.indices(new tt.Generator(2))), Array.from(idx));
});

test('RandomSampler with replacement: uniform draws with repeats; bad options throw', () => {
  const s = new RandomSampler({ length: 4 }, { replacement: true, numSamples: 4000 });
  const counts = [0, 0, 0, 0];
  for (const i of s.indices(new tt.Generator(3))) counts[i]++;
  for (const c of counts) assert.ok(c > 900 && c < 1100, `counts ${counts}`);
  assert.throws(
    () => new RandomSampler({ length: 4 }, { numSamples: 2.5 }),
    /RandomSampler: numSamples must be a non-negative integer, got 2.5/,
  );
  assert.throws(
    () => new RandomSampler({ length: 0 }, { numSamples: 3 }),
    /cannot draw 3 samples from an empty dataset/,
  );
  assert.deepEqual(Array.from(new SequentialSampler({ length: 3 }).indices()), [0, 1, 2]);
});

test('DataLoader sampler: sets the epoch length and order, reproducibly; exclusive with shuffle', () => {
  const ds = new TensorDataset(tt.arange(10), tt.arange(10));
  const make = () =>
    new DataLoader(ds, {
      batchSize: 4,
      sampler: new RandomSampler(ds, { numSamples: 25 }),
      generator: new tt.Generator(5),
    });
  const a = make();
  assert.equal(a.length, 7);
  const batches = [...a].map((b) => Array.from((b as tt.Tensor[])[0].dataView()));
  assert.deepEqual(
    batches.map((b) => b.length),
    [4, 4, 4, 4, 4, 4, 1],
  );
  assert.ok(isPermutation(batches.flat().slice(0, 10), 10));
  assert.deepEqual(
    [...make()].map((b) => Array.from((b as tt.Tensor[])[0].dataView())),
    batches,
  );
  // A second epoch draws a new order.
  assert.notDeepEqual(
    [...a].map((b) => Array.from((b as tt.Tensor[])[0].dataView())),
    batches,
  );
  const fixed = new DataLoader(ds, { batchSize: 2, sampler: [9, 0, 3] });
  assert.deepEqual(
    [...fixed].map((b) => Array.from((b as tt.Tensor[])[1].dataView())),
    [[9, 0], [3]],
  );
  assert.throws(
    () => new DataLoader(ds, { shuffle: true, sampler: [1] }),
    /sampler and shuffle are mutually exclusive/,
  );
  assert.throws(() => new DataLoader(ds, { sampler: [10] }), /sampler index 10 is not an integer in \[0, 10\)/);
});
