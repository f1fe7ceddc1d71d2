/** `optim.ExponentialMovingAverage`: the update rule by hand, warm-up, buffers, store/copyTo/restore, state, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

/** A Linear and a BatchNorm1d: parameters, float buffers (running stats) and an int64/int32 counter. */
function net(): tt.nn.Sequential {
  tt.manualSeed(0);
  return new tt.nn.Sequential(new tt.nn.Linear(2, 3), new tt.nn.BatchNorm1d(3));
}

test('ExponentialMovingAverage: shadow ← d·shadow + (1 − d)·w per update, by hand; copyTo, store and restore', () => {
  const m = net();
  const w = m.getParameter('0.weight');
  const w0 = w.toTypedArray();
  const ema = new tt.optim.ExponentialMovingAverage(m, { decay: 0.5 });
  // Three updates after moving the weight by +1, +2, +3, the expected shadow folded by hand alongside.
  let expected = Array.from(w0);
  for (const delta of [1, 2, 3]) {
    tt.noGrad(() => tt.copy_(w, tt.add(w, delta)));
    ema.update();
    const cur = w.toTypedArray();
    expected = expected.map((s, i) => 0.5 * s + 0.5 * cur[i]);
  }
  assert.equal(ema.updates, 3);
  assertClose(ema.averagedStateDict()['0.weight'], tt.tensor(expected).reshape([3, 2]), { atol: 1e-6 });
  const last = w.toTypedArray();
  ema.store();
  ema.copyTo();
  assertClose(w, tt.tensor(expected).reshape([3, 2]), { atol: 1e-6, what: 'averaged weights in the model' });
  ema.restore();
  assert.deepEqual(Array.from(w.toTypedArray()), Array.from(last));
  assert.throws(() => ema.restore(), /restore\(\) without a store\(\)/);
});

test('ExponentialMovingAverage: warm-up decay, buffers averaged or left alone, integer counters copied', () => {
  const ema = new tt.optim.ExponentialMovingAverage(net(), { decay: 0.9998, warmup: 2000 });
  assert.ok(Math.abs(ema.currentDecay() - 0.9998 * (1 - Math.exp(-1 / 2000))) < 1e-15);

  const m = net();
  const bn = m.getSubmodule('1') as tt.nn.BatchNorm1d;
  const withBuffers = new tt.optim.ExponentialMovingAverage(m, { decay: 0.75 });
  const without = new tt.optim.ExponentialMovingAverage(m, { decay: 0.75, buffers: false });
  assert.ok('1.running_mean' in withBuffers.averagedStateDict());
  assert.ok(!('1.running_mean' in without.averagedStateDict()));
  m.train();
  tt.noGrad(() =>
    m.forward(
      tt.tensor([
        [1, 2],
        [3, 5],
        [-1, 4],
      ]),
    ),
  ); // moves running stats, counts one batch
  const mean = bn.runningMean!.toTypedArray();
  withBuffers.update();
  const avg = withBuffers.averagedStateDict();
  assertClose(avg['1.running_mean'], tt.tensor(Array.from(mean, (v) => 0.25 * v)), { atol: 1e-7 });
  assert.equal(Number(avg['1.num_batches_tracked'].item()), 1, 'the counter is copied, not averaged');
  // without buffers, copyTo leaves the running stats alone
  without.update();
  without.copyTo();
  assert.deepEqual(Array.from(bn.runningMean!.toTypedArray()), Array.from(mean));
});

test('ExponentialMovingAverage: stateDict round trip, a fresh model loads the averaged weights; errors', () => {
  const m = net();
  const ema = new tt.optim.ExponentialMovingAverage(m, { decay: 0.9 });
  tt.noGrad(() => tt.copy_(m.getParameter('0.bias'), tt.tensor([1, 2, 3])));
  ema.update();
  const sd = ema.stateDict();
  const other = new tt.optim.ExponentialMovingAverage(net(), { decay: 0.9 });
  other.loadStateDict(sd);
  assert.equal(other.updates, 1);
  assertClose(other.averagedStateDict()['0.bias'], sd.shadow['0.bias']);
  const fresh = net();
  fresh.loadStateDict(ema.averagedStateDict());
  assertClose(fresh.getParameter('0.bias'), ema.averagedStateDict()['0.bias']);

  assert.throws(() => new tt.optim.ExponentialMovingAverage(m, { decay: 1.5 }), /decay must be in \[0, 1\], got 1.5/);
  assert.throws(() => new tt.optim.ExponentialMovingAverage(m, { warmup: -1 }), /warmup must be a finite number ≥ 0/);
  const { ['0.bias']: _dropped, ...partial } = sd.shadow;
  assert.throws(() => other.loadStateDict({ shadow: partial, updates: 1 }), /missing '0.bias'/);
});
