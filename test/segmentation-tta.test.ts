/** Test-time augmentation for segmentation (`models.segmentation.SegmentationTTA`): views, averaging, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const { SegmentationTTA } = tt.models.segmentation;

/** A small model that is not equivariant to flips (a 3×3 conv with random weights): every view differs. */
function lopsided(dims: 2 | 3, channels = 2, classes = 3): tt.nn.Module<[tt.Tensor], tt.Tensor> {
  tt.manualSeed(7);
  return dims === 2
    ? new tt.nn.Conv2d(channels, classes, 3, { padding: 1 })
    : new tt.nn.Conv3d(channels, classes, 3, { padding: 1 });
}

/** The mean softmax over the 8 symmetries of the square, written out by hand with flips and transposes. */
function d4ByHand(model: tt.nn.Module<[tt.Tensor], tt.Tensor>, x: tt.Tensor): tt.Tensor {
  const id = (t: tt.Tensor) => t;
  const h = (t: tt.Tensor) => tt.flip(t, [3]);
  const v = (t: tt.Tensor) => tt.flip(t, [2]);
  const hv = (t: tt.Tensor) => tt.flip(t, [2, 3]);
  const T = (t: tt.Tensor) => t.transpose(2, 3);
  // [into the view, back]: a flip is its own inverse; flip∘transpose is undone by transpose∘flip.
  const pairs: [(t: tt.Tensor) => tt.Tensor, (t: tt.Tensor) => tt.Tensor][] = [
    [id, id],
    [h, h],
    [v, v],
    [hv, hv],
    [(t) => T(id(t)), (t) => id(T(t))],
    [(t) => T(h(t)), (t) => h(T(t))],
    [(t) => T(v(t)), (t) => v(T(t))],
    [(t) => T(hv(t)), (t) => hv(T(t))],
  ];
  let sum = tt.zerosLike(model.forward(x));
  for (const [into, back] of pairs) sum = tt.add(sum, back(tt.softmax(model.forward(into(x)), 1)));
  return tt.mul(sum, 1 / 8);
}

test('SegmentationTTA d4: the log of the mean softmax over the 8 square symmetries, mapped back', () => {
  const model = lopsided(2);
  const x = tt.randn([2, 2, 5, 5]);
  const { out } = new SegmentationTTA(model, { mode: 'd4' }).forward(x);
  assert.deepEqual(out.shape, [2, 3, 5, 5]);
  assertClose(out.exp(), d4ByHand(model, x), { atol: 1e-6, what: 'mean probabilities' });
  // log-probabilities: they sum to one over classes, so crossEntropy is the ensemble's NLL
  assertClose(out.exp().sum(1), tt.ones([2, 5, 5]), { atol: 1e-6 });
  const y = tt
    .tensor(
      [...Array(50).keys()].map((i) => i % 3),
      { dtype: 'int32' },
    )
    .reshape([2, 5, 5]);
  assertClose(tt.F.crossEntropy(out, y), tt.F.nllLoss(out, y), { atol: 1e-6 });
});

test('SegmentationTTA: hflip and flips views; 3-D volumes get all 8 mirror images; a dict model’s out is used', () => {
  const m2 = lopsided(2);
  const x = tt.randn([1, 2, 4, 6]);
  const p = (t: tt.Tensor) => tt.softmax(m2.forward(t), 1);
  const hflip = tt.mul(tt.add(p(x), tt.flip(p(tt.flip(x, [3])), [3])), 0.5);
  assertClose(new SegmentationTTA(m2, { mode: 'hflip' }).forward(x).out.exp(), hflip, { atol: 1e-6 });
  let flips = tt.zerosLike(p(x));
  for (const axes of [[], [2], [3], [2, 3]])
    flips = tt.add(flips, axes.length ? tt.flip(p(tt.flip(x, axes)), axes) : p(x));
  assertClose(new SegmentationTTA(m2).forward(x).out.exp(), tt.mul(flips, 0.25), {
    atol: 1e-6,
    what: 'flips (default)',
  });

  // 3-D: count the model's calls and check against the mean over the 8 mirror images
  const m3 = lopsided(3);
  let calls = 0;
  const counted = new (class extends tt.nn.Module<[tt.Tensor], { out: tt.Tensor }> {
    forward(t: tt.Tensor) {
      calls++;
      return { out: m3.forward(t) };
    }
  })();
  const vol = tt.randn([1, 2, 3, 4, 5]);
  const got = new SegmentationTTA(counted, { mode: 'flips' }).forward(vol).out.exp();
  assert.equal(calls, 8);
  let sum = tt.zerosLike(got);
  for (let m = 0; m < 8; m++) {
    const axes = [2, 3, 4].filter((_, i) => m & (1 << i));
    const q = (t: tt.Tensor) => (axes.length ? tt.flip(t, axes) : t);
    sum = tt.add(sum, q(tt.softmax(m3.forward(q(vol)), 1)));
  }
  assertClose(got, tt.mul(sum, 1 / 8), { atol: 1e-6, what: '3-D mirror mean' });
});

test('SegmentationTTA: a flip-equivariant model gives its own softmax; bad modes and shapes are refused', () => {
  // A 1×1 conv commutes with every mirror and transpose: TTA must return exactly its softmax.
  tt.manualSeed(3);
  const pointwise = new tt.nn.Conv2d(3, 4, 1);
  const x = tt.randn([2, 3, 6, 6]);
  assertClose(new SegmentationTTA(pointwise, { mode: 'd4' }).forward(x).out, tt.logSoftmax(pointwise.forward(x), 1), {
    atol: 1e-5,
  });
  assert.throws(() => new SegmentationTTA(pointwise, { mode: 'rot90' as never }), /SegmentationTTA: mode must be/);
  assert.throws(
    () => new SegmentationTTA(pointwise, { mode: 'd4' }).forward(tt.randn([1, 3, 4, 6])),
    /SegmentationTTA: mode 'd4' .* square 2-D images \[N, C, S, S\], got \[1, 3, 4, 6\]/,
  );
  assert.throws(
    () => new SegmentationTTA(pointwise).forward(tt.randn([3, 6])),
    /expected a batch \[N, C, \.\.\.spatial\]/,
  );
});
