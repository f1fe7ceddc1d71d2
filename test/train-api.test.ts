import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';

test('the training API is public: top-level names are the tt.train ones', () => {
  for (const name of [
    'fit',
    'evaluate',
    'ConfusionMatrix',
    'accuracy',
    'topKAccuracy',
    'topKCorrect',
    'saveCheckpoint',
    'loadCheckpoint',
    'readCheckpoint',
    'ProgressBar',
  ] as const) {
    assert.equal(typeof tt[name], 'function', name);
    assert.equal(tt[name], (tt.train as Record<string, unknown>)[name], `tt.${name} === tt.train.${name}`);
  }
  assert.equal(typeof tt.models.ConvAutoencoder, 'function');
  assert.equal(typeof tt.recipes.runAnomalyDemo, 'function');
});

test('topKAccuracy: hand-computed, ties to the lower index as argmax', () => {
  const logits = tt.tensor([
    [0.1, 0.5, 0.4],
    [0.3, 0.3, 0.4],
    [0.9, 0.05, 0.05],
    [0.2, 0.2, 0.6],
  ]);
  const y = tt.tensor(Int32Array.from([2, 1, 0, 1]), [4], { dtype: 'int32' });
  // row 0: target 2 is 2nd; row 1: target 1 ties with class 0 (lower index wins) → 3rd; row 2: 1st; row 3: 1 ties 0 → 3rd.
  assert.equal(tt.accuracy(logits, y), 1 / 4);
  assert.equal(tt.topKAccuracy(logits, y, 1), 1 / 4);
  assert.equal(tt.topKAccuracy(logits, y, 2), 2 / 4);
  assert.equal(tt.topKAccuracy(logits, y, 3), 1);
  assert.throws(() => tt.topKAccuracy(logits, y, 0), /topKAccuracy: k must be a positive integer, got 0/);
});

test('fit + evaluate + checkpoints through the public names learn a separable problem', async () => {
  tt.manualSeed(1);
  const x = tt.randn([64, 2]);
  const xs = x.dataView();
  const y = tt.tensor(
    Int32Array.from({ length: 64 }, (_, i) => (xs[2 * i] + xs[2 * i + 1] > 0 ? 1 : 0)),
    [64],
    { dtype: 'int32' },
  );
  const loader = new tt.data.DataLoader(new tt.data.TensorDataset(x, y), { batchSize: 16, shuffle: true });
  const model = new tt.nn.Linear(2, 2);
  const dir = mkdtempSync(join(tmpdir(), 'tatami-fit-'));
  try {
    const seen: number[] = [];
    const history = await tt.fit(model, loader, {
      epochs: 8,
      optimizer: new tt.optim.SGD(model.parameters(), { lr: 0.5 }),
      outDir: dir,
      progress: false,
      callbacks: [
        {
          onEpochEnd: (r) => {
            seen.push(r.epoch);
          },
        },
      ],
    });
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').length, 8);
    const r = await tt.evaluate(model, loader, { numClasses: 2 });
    assert.ok(r.accuracy >= 0.9, `accuracy ${r.accuracy}`);
    assert.equal(
      r
        .confusion!.toArray()
        .flat()
        .reduce((a, b) => a + b, 0),
      64,
    );
    const fresh = new tt.nn.Linear(2, 2);
    const ck = await tt.loadCheckpoint(join(dir, 'last.safetensors'), { model: fresh });
    assert.equal(ck.epoch, 8);
    assert.deepEqual(Array.from(fresh.weight.dataView()), Array.from(model.weight.dataView()));
    assert.ok(history[7].trainLoss < history[0].trainLoss);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
