/** R-CNN training building blocks against torchvision 0.14 goldens: Matcher, sampler, RPN and Fast R-CNN losses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, inputsOf, loadFixtures } from './helpers.ts';

const det = tt.models.detection;
const fx = loadFixtures('detection');

test('golden: Matcher (thresholds, −1 / −2, low-quality matches with ties)', () => {
  for (const name of ['matcher_0.7_0.3_1', 'matcher_0.5_0.5_0', 'matcher_0.7_0.3_0']) {
    const c = fx.get(name)!;
    const p = c.params as { high: number; low: number; lowQuality: boolean };
    const m = new det.Matcher(p.high, p.low, p.lowQuality).call(inputsOf(c).quality);
    assert.deepEqual(Array.from(m.dataView()), c.output.data, name);
  }
  assert.throws(() => new det.Matcher(0.7, 0.3).call(tt.zeros([0, 5])), /No ground-truth boxes/);
});

test('golden: fastrcnnLoss and rpnLoss (values and gradients)', () => {
  const f = fx.get('fastrcnn_loss')!;
  const i = inputsOf(f);
  const logits = i.logits.detach().requiresGrad_(true);
  const reg = i.reg.detach().requiresGrad_(true);
  const { lossClassifier, lossBoxReg } = det.fastrcnnLoss(
    logits,
    reg,
    [i.labels0, i.labels1],
    [i.targets0, i.targets1],
  );
  assertClose(tt.stack([lossClassifier, lossBoxReg]), f.output, { atol: 1e-6, rtol: 1e-5 });
  lossClassifier.add(lossBoxReg.mul(2)).backward();
  assertClose(logits.grad!, f.extra[0], { atol: 1e-6, rtol: 1e-4, what: 'grad logits' });
  assertClose(reg.grad!, f.extra[1], { atol: 1e-6, rtol: 1e-4, what: 'grad regression' });

  const r = fx.get('rpn_loss')!;
  const j = inputsOf(r);
  const obj = j.obj.detach().requiresGrad_(true);
  const deltas = j.deltas.detach().requiresGrad_(true);
  const { lossObjectness, lossRpnBoxReg } = det.rpnLoss(
    obj,
    deltas,
    [j.labels0, j.labels1],
    [j.targets0, j.targets1],
    [j.pos0, j.pos1],
    [j.neg0, j.neg1],
  );
  assertClose(tt.stack([lossObjectness, lossRpnBoxReg]), r.output, { atol: 1e-6, rtol: 1e-5 });
  lossObjectness.add(lossRpnBoxReg.mul(3)).backward();
  assertClose(obj.grad!, r.extra[0], { atol: 1e-6, rtol: 1e-4, what: 'grad objectness' });
  assertClose(deltas.grad!, r.extra[1], { atol: 1e-6, rtol: 1e-4, what: 'grad deltas' });
});

test('BalancedPositiveNegativeSampler: counts, fractions, ignored labels, reproducible with a seed', () => {
  const labels = tt.tensor(
    Int32Array.from({ length: 100 }, (_, i) => (i < 10 ? 1 + (i % 3) : i < 20 ? -1 : 0)),
    [100],
    { dtype: 'int32' },
  );
  const s = new det.BalancedPositiveNegativeSampler(16, 0.25, new tt.Generator(3));
  const [[pos], [neg]] = s.call([labels]);
  const p = Array.from(pos.dataView());
  const n = Array.from(neg.dataView());
  assert.equal(
    p.reduce((a, b) => a + b, 0),
    4,
  );
  assert.equal(
    n.reduce((a, b) => a + b, 0),
    12,
  );
  p.forEach((v, i) => {
    if (v) assert.ok(i < 10);
  });
  n.forEach((v, i) => {
    if (v) assert.ok(i >= 20);
  });
  // Few positives: the negatives fill the batch.
  const few = tt.tensor(
    Int32Array.from({ length: 40 }, (_, i) => (i === 0 ? 1 : 0)),
    [40],
    { dtype: 'int32' },
  );
  const [[p2], [n2]] = new det.BalancedPositiveNegativeSampler(16, 0.5).call([few]);
  assert.equal(
    Array.from(p2.dataView()).reduce((a, b) => a + b, 0),
    1,
  );
  assert.equal(
    Array.from(n2.dataView()).reduce((a, b) => a + b, 0),
    15,
  );
  const again = new det.BalancedPositiveNegativeSampler(16, 0.25, new tt.Generator(3)).call([labels]);
  assert.deepEqual(Array.from(again[0][0].dataView()), p);
});
