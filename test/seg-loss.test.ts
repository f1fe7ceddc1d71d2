/** Segmentation losses: hand-computed cases, PyTorch goldens (tools/fixtures/segloss.py), gradcheck, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.js';
import { checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const F = tt.F;
const fx = loadFixtures('segloss');
type Fn = Parameters<typeof checkCase>[1];
const golden = (name: string, fn: Fn) => {
  const c = fx.get(name);
  test(`golden: ${name}`, () => {
    assert.ok(c, `fixture ${name} missing`);
    forEachBackend(() => checkCase(c, fn, { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-5 }));
  });
};

for (const r of ['mean', 'sum', 'none'] as const) {
  golden(`dice_${r}`, ({ x, t }) => F.diceLoss(x, t, { ignoreIndex: 255, reduction: r }));
  golden(`dice_weight_nobg_${r}`, ({ x, t, w }) =>
    F.diceLoss(x, t, { ignoreIndex: 255, weight: w, includeBackground: false, reduction: r }),
  );
  golden(`focal_${r}`, ({ x, t }) => F.focalLoss(x, t, { ignoreIndex: 255, reduction: r }));
  golden(`focal_alpha_g1_${r}`, ({ x, t, a }) =>
    F.focalLoss(x, t, { gamma: 1.5, alpha: a, ignoreIndex: 255, reduction: r }),
  );
  golden(`sigmoid_focal_${r}`, ({ x, t }) => F.sigmoidFocalLoss(x, t, { reduction: r }));
}
golden('dice_binary', ({ x, t }) => F.diceLoss(x, t, { mode: 'binary' }));
golden('dice_smooth1', ({ x, t }) => F.diceLoss(x, t, { smooth: 1, ignoreIndex: 255 }));
golden('dice_ce', ({ x, t }) => F.diceCELoss(x, t, { ignoreIndex: 255, ceWeight: 0.7, diceWeight: 1.3 }));
golden('focal_gamma0_is_ce', ({ x, t }) => F.focalLoss(x, t, { gamma: 0, ignoreIndex: 255 }));

const labels = (v: tt.NestedArray) => tt.tensor(v, { dtype: 'int32' });

test('Dice by hand: probabilities in, smooth 0', () => {
  // One image, 2 classes, 2 pixels: p(class 1) = [0.8, 0.4], targets [1, 0].
  const p = tt.tensor([[[[0.2, 0.6]], [[0.8, 0.4]]]]);
  const t = labels([[[1, 0]]]);
  // class 0: inter 0.6, |P| 0.8, |T| 1 → 1.2/1.8; class 1: inter 0.8, |P| 1.2, |T| 1 → 1.6/2.2.
  const perClass = F.diceLoss(p, t, { fromLogits: false, smooth: 0, reduction: 'none' }).dataView();
  assert.ok(Math.abs(perClass[0] - (1 - 1.2 / 1.8)) < 1e-6 && Math.abs(perClass[1] - (1 - 1.6 / 2.2)) < 1e-6);
  // A perfect one-hot prediction has loss 0; absent classes count as perfect with smoothing.
  const perfect = tt.tensor([[[[1, 0]], [[0, 1]], [[0, 0]]]]);
  assert.ok(F.diceLoss(perfect, labels([[[0, 1]]]), { fromLogits: false }).item() < 1e-6);
  // Binary: p = [0.9, 0.1, 0.5], t = [1, 0, 1] → 2·1.4 / (1.5 + 2).
  const b = F.diceLoss(tt.tensor([[0.9, 0.1, 0.5]]), tt.tensor([[1, 0, 1]]), {
    mode: 'binary',
    fromLogits: false,
    smooth: 0,
  });
  assert.ok(Math.abs(b.item() - (1 - 2.8 / 3.5)) < 1e-6);
});

test('focal loss by hand; γ = 0 equals cross entropy; ignored pixels count for nothing', () => {
  // logits [0, ln 3] → p = [0.25, 0.75]; target 1: −(0.25)²·ln 0.75.
  const x = tt.tensor([[[[0]], [[Math.log(3)]]]]);
  const v = F.focalLoss(x, labels([[[1]]])).item();
  assert.ok(Math.abs(v - -(0.25 ** 2) * Math.log(0.75)) < 1e-6, String(v));
  tt.manualSeed(0);
  const logits = tt.randn([2, 4, 3, 3]);
  const t = labels(
    Array.from({ length: 2 }, (_, n) =>
      Array.from({ length: 3 }, (_, i) =>
        Array.from({ length: 3 }, (_, j) => ((n + i * 3 + j) % 5 === 4 ? 255 : (n + i + j) % 4)),
      ),
    ),
  );
  assert.ok(
    Math.abs(
      F.focalLoss(logits, t, { gamma: 0, ignoreIndex: 255 }).item() -
        F.crossEntropy(logits, t, { ignoreIndex: 255 }).item(),
    ) < 1e-6,
  );
  const none = F.focalLoss(logits, t, { ignoreIndex: 255, reduction: 'none' });
  const tv = t.dataView(),
    nv = none.dataView();
  for (let i = 0; i < tv.length; i++) if (tv[i] === 255) assert.ok(nv[i] === 0, `pixel ${i}: ${nv[i]}`);
});

test('gradcheck (float64): Dice, focal, sigmoid focal, Dice + CE', () => {
  forEachBackend(() => {
    const x = rand64([2, 3, 2, 2], 1, -2, 2);
    const t = labels([
      [
        [0, 2],
        [9, 1],
      ],
      [
        [1, 1],
        [2, 9],
      ],
    ]);
    const w = rand64([3], 2, 0.5, 1.5).detach();
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      assert.ok(tt.gradcheck((a) => F.diceLoss(a, t, { ignoreIndex: 9, weight: w, reduction }), [x]));
      assert.ok(tt.gradcheck((a) => F.focalLoss(a, t, { ignoreIndex: 9, alpha: w, gamma: 2, reduction }), [x]));
    }
    const xb = rand64([2, 1, 2, 3], 3, -2, 2);
    const tb = tt.tensor(
      [
        [
          [
            [1, 0, 1],
            [0, 0, 1],
          ],
        ],
        [
          [
            [1, 1, 0],
            [0, 1, 0],
          ],
        ],
      ],
      { dtype: 'float64' },
    );
    assert.ok(tt.gradcheck((a) => F.sigmoidFocalLoss(a, tb, { reduction: 'mean' }), [xb]));
    assert.ok(tt.gradcheck((a) => F.diceLoss(a, tb, { mode: 'binary' }), [xb]));
    assert.ok(tt.gradcheck((a) => F.diceCELoss(a, t, { ignoreIndex: 9 }), [x]));
  });
});

test('deep-supervision wrapper: out + weighted aux terms, coarse aux maps get nearest-resized targets', () => {
  tt.manualSeed(1);
  const out = tt.randn([2, 3, 4, 4]),
    a1 = tt.randn([2, 3, 4, 4]),
    a2 = tt.randn([2, 3, 2, 2]);
  const t = labels(
    Array.from({ length: 2 }, (_, n) =>
      Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => (n + i + 2 * j) % 3)),
    ),
  );
  const ce = (i: tt.Tensor, y: tt.Tensor) => F.crossEntropy(i, y);
  const ds = tt.nn.deepSupervisionLoss(ce, { auxWeights: [0.5, 0.25] });
  const small = tt.nn.resizeTargets(t, [2, 2]);
  // Nearest picks source pixel floor(dst·2): rows/cols 0 and 2.
  assert.deepEqual(Array.from(small.dataView()).slice(0, 4), [
    t.dataView()[0],
    t.dataView()[2],
    t.dataView()[8],
    t.dataView()[10],
  ]);
  const expected = ce(out, t).item() + 0.5 * ce(a1, t).item() + 0.25 * ce(a2, small).item();
  assert.ok(Math.abs(ds({ out, aux: [a1, a2] }, t).item() - expected) < 1e-5);
  // torchvision's recipe: out + 0.5·aux; a plain tensor is just the loss.
  const tv = new tt.nn.DeepSupervisionLoss(new tt.nn.CrossEntropyLoss());
  assert.ok(Math.abs(tv.forward({ out, aux: a1 }, t).item() - (ce(out, t).item() + 0.5 * ce(a1, t).item())) < 1e-5);
  assert.ok(Math.abs(tv.forward(out, t).item() - ce(out, t).item()) < 1e-6);
  assert.throws(() => ds({ out, aux: [a1] }, t), /2 aux weights for 1 auxiliary outputs/);
});

test('errors name the op, shapes and values', () => {
  const x = tt.randn([1, 3, 2, 2]);
  assert.throws(
    () =>
      F.diceLoss(
        x,
        labels([
          [
            [0, 1],
            [2, 3],
          ],
        ]),
      ),
    /diceLoss: target 3 is out of range for 3 classes/,
  );
  assert.throws(() => F.diceLoss(x, labels([[0, 1]])), /diceLoss: target \[1, 2\] does not fit input \[1, 3, 2, 2\]/);
  assert.throws(
    () => F.diceLoss(x, tt.zeros([1, 3, 2]), { mode: 'binary' }),
    /binary mode needs target of the input's shape/,
  );
  assert.throws(
    () =>
      F.focalLoss(
        x,
        labels([
          [
            [0, 1],
            [2, 1],
          ],
        ]),
        { gamma: -1 },
      ),
    /gamma must be ≥ 0/,
  );
  assert.throws(() => F.focalLoss(x, tt.zeros([1, 2, 2])), /class-index target must be an integer tensor/);
  assert.throws(
    () =>
      F.diceLoss(
        x,
        labels([
          [
            [0, 1],
            [2, 1],
          ],
        ]),
        { weight: tt.ones([2]) },
      ),
    /weight has shape \[2\], expected \[3\]/,
  );
});
