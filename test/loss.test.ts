import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F } = tt;
const fx = loadFixtures('loss');
type Fn = Parameters<typeof checkCase>[1];
// Losses are float32 reductions of a few dozen terms: outputs within 1e-5 abs / 1e-4 rel, gradients 1e-5 / 1e-3.
const golden = (
  name: string,
  fn: Fn,
  opts: Parameters<typeof checkCase>[2] = { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-5 },
) => {
  const c = fx.get(name);
  test(`golden: ${name}`, () => {
    assert.ok(c, `fixture ${name} missing`);
    forEachBackend(() => checkCase(c, fn, opts));
  });
};

const REDUCTIONS = ['mean', 'sum', 'none'] as const;
for (const r of REDUCTIONS) {
  golden(`ce_${r}`, ({ x, t }) => F.crossEntropy(x, t, { reduction: r }));
  golden(`ce_weight_${r}`, ({ x, t, w }) => F.crossEntropy(x, t, { weight: w, reduction: r }));
  golden(`ce_ignore_${r}`, ({ x, t }) => F.crossEntropy(x, t, { reduction: r }));
  golden(`ce_weight_ignore7_${r}`, ({ x, t, w }) => F.crossEntropy(x, t, { weight: w, ignoreIndex: 7, reduction: r }));
  golden(`ce_smooth_${r}`, ({ x, t }) => F.crossEntropy(x, t, { labelSmoothing: 0.2, reduction: r }));
  golden(`ce_smooth_weight_ignore_${r}`, ({ x, t, w }) =>
    F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.3, reduction: r }),
  );
  golden(`ce_seg_${r}`, ({ x, t, w }) =>
    F.crossEntropy(x, t, { weight: w, ignoreIndex: 255, labelSmoothing: 0.1, reduction: r }),
  );
  golden(`ce_prob_${r}`, ({ x, t }) => F.crossEntropy(x, t, { reduction: r }));
  golden(`ce_prob_weight_smooth_${r}`, ({ x, t, w }) =>
    F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.25, reduction: r }),
  );
  golden(`ce_prob_seg_${r}`, ({ x, t }) => F.crossEntropy(x, t, { reduction: r }));
  golden(`nll_weight_ignore_${r}`, ({ x, t, w }) => F.nllLoss(x, t, { weight: w, reduction: r }));
  golden(`nll_seg_${r}`, ({ x, t }) => F.nllLoss(x, t, { ignoreIndex: 255, reduction: r }));
  golden(`bce_${r}`, ({ p, t }) => F.binaryCrossEntropy(p, t, { reduction: r }));
  golden(`bce_weight_${r}`, ({ p, t, w }) => F.binaryCrossEntropy(p, t, { weight: w, reduction: r }));
  golden(`bce_logits_${r}`, ({ x, t }) => F.binaryCrossEntropyWithLogits(x, t, { reduction: r }));
  golden(`bce_logits_weights_${r}`, ({ x, t, w, pw }) =>
    F.binaryCrossEntropyWithLogits(x, t, { weight: w, posWeight: pw, reduction: r }),
  );
  golden(`mse_${r}`, ({ x, y }) => F.mseLoss(x, y, { reduction: r }));
  golden(`l1_${r}`, ({ x, y }) => F.l1Loss(x, y, { reduction: r }));
  golden(`smooth_l1_${r}`, ({ x, y }) => F.smoothL1Loss(x, y, { beta: 0.5, reduction: r }));
  golden(`huber_${r}`, ({ x, y }) => F.huberLoss(x, y, { delta: 0.7, reduction: r }));
}
for (const r of [...REDUCTIONS, 'batchmean'] as const) {
  golden(`kl_div_${r}`, ({ x, t }) => F.klDiv(x, t, { reduction: r }));
  golden(`kl_div_target_grad_${r}`, ({ x, t }) => F.klDiv(x, t, { reduction: r }));
  golden(`kl_div_log_target_${r}`, ({ x, t }) => F.klDiv(x, t, { reduction: r, logTarget: true }));
}
// p ∈ {0, 1}: the logs are clamped at -100 and the gradient's denominator at 1e-12 (so |grad| reaches 1e12).
golden('bce_clamped_extremes', ({ p, t }) => F.binaryCrossEntropy(p, t, { reduction: 'sum' }), {
  atol: 1e-4,
  rtol: 1e-5,
  gradAtol: 1e-4,
  gradRtol: 1e-5,
});
golden('smooth_l1_beta0', ({ x, y }) => F.smoothL1Loss(x, y, { beta: 0 }));
golden('ce_1d', ({ x }) => F.crossEntropy(x, tt.tensor(2, { dtype: 'int32' })));

const labels = (v: tt.NestedArray) => tt.tensor(v, { dtype: 'int32' });

test('gradcheck: cross entropy and nll, every option (float64)', () => {
  forEachBackend(() => {
    const t = labels([1, 0, 3, 2, 3]);
    const tIgn = labels([1, -100, 3, 2, -100]);
    const w = rand64([4], 3, 0.3, 2).detach();
    const x = rand64([5, 4], 1, -2, 2);
    for (const reduction of REDUCTIONS) {
      assert.ok(tt.gradcheck((a) => F.crossEntropy(a, t, { reduction }), [x]));
      assert.ok(tt.gradcheck((a) => F.crossEntropy(a, tIgn, { weight: w, reduction }), [x]));
      assert.ok(tt.gradcheck((a) => F.crossEntropy(a, tIgn, { weight: w, labelSmoothing: 0.2, reduction }), [x]));
      assert.ok(tt.gradcheck((a) => F.nllLoss(a.logSoftmax(1), tIgn, { weight: w, reduction }), [x]));
      const seg = rand64([2, 3, 2, 2], 5, -2, 2);
      const segT = labels([
        [
          [0, 2],
          [9, 1],
        ],
        [
          [1, 1],
          [2, 9],
        ],
      ]);
      assert.ok(
        tt.gradcheck((a) => F.crossEntropy(a, segT, { ignoreIndex: 9, labelSmoothing: 0.1, reduction }), [seg]),
      );
      const probs = rand64([5, 4], 6, 0, 1);
      assert.ok(
        tt.gradcheck((a, p) => F.crossEntropy(a, p, { weight: w, labelSmoothing: 0.3, reduction }), [x, probs]),
      );
    }
  });
});

test('gradcheck: binary cross entropy (with logits) and regression losses (float64)', () => {
  forEachBackend(() => {
    for (const reduction of REDUCTIONS) {
      const p = rand64([3, 4], 11, 0.05, 0.95);
      const t = rand64([3, 4], 12, 0, 1);
      const w = rand64([4], 13, 0.5, 1.5).detach();
      assert.ok(tt.gradcheck((a, b) => F.binaryCrossEntropy(a, b, { weight: w, reduction }), [p, t]));
      const x = rand64([3, 4], 14, -5, 5);
      const pw = rand64([4], 15, 0.5, 3).detach();
      assert.ok(
        tt.gradcheck((a, b) => F.binaryCrossEntropyWithLogits(a, b, { weight: w, posWeight: pw, reduction }), [x, t]),
      );
      assert.ok(tt.gradcheck((a, b) => F.binaryCrossEntropyWithLogits(a, b, { reduction }), [x, t]));
      const y = rand64([3, 4], 16, -5, 5);
      assert.ok(tt.gradcheck((a, b) => F.mseLoss(a, b, { reduction }), [x, y]));
      assert.ok(tt.gradcheck((a, b) => F.l1Loss(a, b, { reduction }), [x, y]));
      assert.ok(tt.gradcheck((a, b) => F.smoothL1Loss(a, b, { beta: 2, reduction }), [x, y]));
      assert.ok(tt.gradcheck((a, b) => F.huberLoss(a, b, { delta: 1.5, reduction }), [x, y]));
      assert.ok(tt.gradcheck((a, b) => F.klDiv(a.logSoftmax(1), b, { reduction }), [x, p]));
      assert.ok(tt.gradcheck((a, b) => F.klDiv(a, b, { reduction, logTarget: true }), [x, y]));
    }
  });
});

test('losses: stable with large logits, mean over all-ignored targets is NaN (as PyTorch)', () => {
  const x = tt.tensor([[1000, -1000, 0]], { requiresGrad: true });
  const l = F.crossEntropy(x, labels([1]));
  assert.equal(l.item(), 2000);
  l.backward();
  assert.deepEqual(
    x.grad!.tolist().map((v) => Math.round(v)),
    [1, -1, 0],
  );
  const z = F.binaryCrossEntropyWithLogits(tt.tensor([200, -200]), tt.tensor([0, 1]), { reduction: 'none' });
  assert.deepEqual(z.tolist(), [200, 200]);
  assert.ok(Number.isNaN(F.crossEntropy(tt.ones([2, 3]), labels([-100, -100])).item()));
  assert.equal(F.crossEntropy(tt.ones([2, 3]), labels([-100, -100]), { reduction: 'sum' }).item(), 0);
  // uint8 labels: 156 is a class, not the byte-wrapped default ignoreIndex -100.
  assert.ok(
    Math.abs(F.crossEntropy(tt.zeros([1, 200]), tt.tensor([156], { dtype: 'uint8' })).item() - Math.log(200)) < 1e-5,
  );
  // klDiv: a zero target contributes 0 (0·log 0 = 0) and finite gradients.
  const lp = tt.tensor([[-1, -2]], { requiresGrad: true });
  const kt = tt.tensor([[0, 1]], { requiresGrad: true });
  assert.ok(Math.abs(F.klDiv(lp, kt, { reduction: 'sum' }).item() - 2) < 1e-6);
  F.klDiv(lp, kt, { reduction: 'sum' }).backward();
  assert.ok([...lp.grad!.tolist(), ...kt.grad!.tolist()].every(Number.isFinite));
});

test('loss error messages', () => {
  const x = tt.zeros([4, 10]);
  assert.throws(
    () => F.crossEntropy(x, labels([1, 2, 10, 0])),
    /crossEntropy: target 10 is out of range for 10 classes/,
  );
  assert.throws(
    () => F.crossEntropy(x, labels([1, -3, 0, 0])),
    /crossEntropy: target -3 is out of range for 10 classes/,
  );
  assert.throws(() => F.nllLoss(x, labels([1, 2, 11, 0])), /nllLoss: target 11 is out of range for 10 classes/);
  assert.throws(
    () => F.crossEntropy(x, labels([1, 2, 3])),
    /crossEntropy: input \[4, 10\] has batch size 4 but target \[3\] has 3/,
  );
  assert.throws(
    () => F.crossEntropy(x, tt.zeros([4])),
    /crossEntropy: float target of shape \[4\] must match input \[4, 10\].*int32 of shape \[4\]/,
  );
  assert.throws(
    () => F.crossEntropy(x, labels([[1], [2], [3], [4]])),
    /crossEntropy: target shape \[4, 1\] does not fit input \[4, 10\]/,
  );
  assert.throws(
    () => F.crossEntropy(x, labels([1, 2, 3, 4]), { weight: tt.ones([9]) }),
    /crossEntropy: weight has shape \[9\] but input \[4, 10\] has 10 classes/,
  );
  assert.throws(
    () => F.crossEntropy(x, labels([1, 2, 3, 4]), { labelSmoothing: 1.5 }),
    /labelSmoothing must be in \[0, 1\]/,
  );
  assert.throws(
    () => F.crossEntropy(x, labels([1, 2, 3, 4]), { reduction: 'avg' as 'mean' }),
    /crossEntropy: reduction must be 'mean', 'sum' or 'none', got 'avg'/,
  );
  assert.throws(
    () => F.binaryCrossEntropy(tt.tensor([0.5, 1.5]), tt.tensor([0, 1])),
    /binaryCrossEntropy: input values must be probabilities in \[0, 1\], got values in \[0.5, 1.5\]/,
  );
  assert.throws(
    () => F.binaryCrossEntropy(tt.tensor([0.5, 0.2]), labels([0, 1])),
    /binaryCrossEntropy: target must be a floating-point tensor, got int32/,
  );
  assert.throws(
    () => F.binaryCrossEntropyWithLogits(tt.zeros([2, 1]), tt.zeros([2])),
    /binaryCrossEntropyWithLogits: input shape \[2, 1\] and target shape \[2\] must match/,
  );
  assert.throws(
    () => F.mseLoss(tt.zeros([3, 1]), tt.zeros([3])),
    /mseLoss: input shape \[3, 1\] and target shape \[3\] must match/,
  );
  assert.throws(
    () => F.crossEntropy(labels([1, 2]), labels([0])),
    /crossEntropy: input must be a floating-point tensor/,
  );
});
