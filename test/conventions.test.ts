/** API conventions shared across the library (issue 16, part 7): one calling style, PyTorch's where JS allows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const { optim } = tt;

function lrs(make: (opt: tt.optim.SGD) => { step(): void }, epochs = 7): number[] {
  const p = new tt.nn.Parameter(tt.zeros([1]));
  const opt = new optim.SGD([p], { lr: 1 });
  const s = make(opt);
  const out: number[] = [];
  for (let e = 0; e < epochs; e++) {
    out.push(opt.paramGroups[0].lr);
    s.step();
  }
  return out;
}

test('schedulers: required arguments positional, optional ones in an options object (positional still accepted)', () => {
  assert.deepEqual(
    lrs((o) => new optim.StepLR(o, 2, { gamma: 0.5 })),
    lrs((o) => new optim.StepLR(o, 2, 0.5)),
  );
  assert.deepEqual(
    lrs((o) => new optim.StepLR(o, 2, { gamma: 0.5 })),
    [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125],
  );
  assert.deepEqual(
    lrs((o) => new optim.StepLR(o, 3)),
    [1, 1, 1, 0.1, 0.1, 0.1, 0.1 * 0.1].map((v, i) => (i === 6 ? 0.1 * 0.1 : v)),
  );
  assert.deepEqual(
    lrs((o) => new optim.MultiStepLR(o, [1, 3], { gamma: 0.5 })),
    [1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25],
  );
  assert.deepEqual(
    lrs((o) => new optim.MultiStepLR(o, [1, 3], { gamma: 0.5 })),
    lrs((o) => new optim.MultiStepLR(o, [1, 3], 0.5)),
  );
  const cos = lrs((o) => new optim.CosineAnnealingLR(o, 4, { etaMin: 0.2 }));
  assert.deepEqual(
    cos,
    lrs((o) => new optim.CosineAnnealingLR(o, 4, 0.2)),
  );
  assert.ok(Math.abs(cos[4] - 0.2) < 1e-12 && Math.abs(cos[2] - 0.6) < 1e-12, `cosine to etaMin: ${cos}`);
  assert.deepEqual(
    lrs((o) => new optim.ExponentialLR(o, 0.5, { lastEpoch: -1 }), 3),
    [1, 0.5, 0.25],
  );
  // Resuming (lastEpoch ≥ 0) needs initialLr in the groups, in either spelling.
  const p = new tt.nn.Parameter(tt.zeros([1]));
  assert.throws(
    () => new optim.StepLR(new optim.SGD([p], { lr: 1 }), 2, { gamma: 0.5, lastEpoch: 3 }),
    /StepLR: param 'initialLr' is not specified/,
  );
  assert.throws(
    () => new optim.StepLR(new optim.SGD([p], { lr: 1 }), 2, { gamma: 0.5 }, 3),
    /StepLR: pass lastEpoch inside the options object/,
  );
  assert.throws(
    () => new optim.StepLR(new optim.SGD([p], { lr: 1 }), 2, 'x' as never),
    /StepLR: expected gamma \(a number\) or an options object, got string/,
  );
});

test('add_/sub_ take { alpha } like add/sub (a bare number still works)', () => {
  const o = tt.tensor([1, 2, 3]);
  const expect = tt.tensor([1, 1, 1]).add(o, { alpha: 2 });
  assert.deepEqual(Array.from(expect.dataView()), [3, 5, 7]);
  assert.deepEqual(Array.from(tt.tensor([1, 1, 1]).add_(o, { alpha: 2 }).dataView()), [3, 5, 7]);
  assert.deepEqual(Array.from(tt.tensor([1, 1, 1]).add_(o, 2).dataView()), [3, 5, 7]);
  assert.deepEqual(
    Array.from(tt.tensor([1, 1, 1]).sub_(o, { alpha: 2 }).dataView()),
    Array.from(tt.tensor([1, 1, 1]).sub(o, { alpha: 2 }).dataView()),
  );
  assert.deepEqual(Array.from(tt.add_(tt.tensor([0, 0]), tt.tensor([1, 2]), { alpha: -1 }).dataView()), [-1, -2]);
  assert.throws(
    () => tt.tensor([1]).add_(o.narrow(0, 0, 1), { alpha: Number.NaN }),
    /add_: alpha must be a number, got NaN/,
  );
});

test('tensor(): plain numbers are float32 even when integral; labels say int32; the losses explain', () => {
  assert.equal(tt.tensor([0, 1, 2]).dtype, 'float32');
  assert.equal(tt.tensor([1.0, 0.0]).dtype, 'float32');
  assert.equal(tt.tensor([true, false]).dtype, 'bool');
  assert.equal(tt.tensor([0, 1, 2], { dtype: 'int32' }).dtype, 'int32');
  assert.equal(tt.tensor(Int32Array.from([0, 1, 2])).dtype, 'int32');
  const logits = tt.randn([3, 4]);
  assert.throws(
    () => tt.F.crossEntropy(logits, tt.tensor([0, 1, 2])),
    /class-index targets must be int32 of shape \[3\]/,
  );
  assert.ok(Number.isFinite(tt.F.crossEntropy(logits, tt.tensor([0, 1, 2], { dtype: 'int32' })).item()));
});
