/** DeepLab's fully connected CRF (`models.segmentation.denseCrf`): hand-computed mean field, denoising, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const { denseCrf } = tt.models.segmentation;

test('denseCrf: with zero kernel weights (or 0 iterations) the marginals are the input probabilities', () => {
  tt.manualSeed(0);
  const p = tt.softmax(tt.randn([3, 4, 5]), 0);
  const img = tt.rand([3, 4, 5]);
  for (const q of [denseCrf(p, img, { bilateralWeight: 0, gaussianWeight: 0 }), denseCrf(p, img, { iterations: 0 })]) {
    const a = q.dataView(),
      b = p.dataView();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6);
  }
});

test('denseCrf: two pixels, two mean-field iterations match the update Q_i(l) ∝ P_i(l)·exp(k·Q_j(l)) by hand', () => {
  // Pixels (0,0) and (1,0); colours differ by (10, 0, 20) on the 0-255 scale.
  const P = [
    [0.7, 0.45],
    [0.3, 0.55],
  ]; // [label][pixel]
  const probs = tt.tensor([P[0], P[1]]).reshape([2, 1, 2]);
  const image = tt
    .tensor([
      [0.2, 0.2 + 10 / 255],
      [0.5, 0.5],
      [0.1, 0.1 + 20 / 255],
    ])
    .reshape([3, 1, 2]);
  const o = {
    bilateralWeight: 4,
    bilateralSxy: 2,
    bilateralSrgb: 15,
    gaussianWeight: 3,
    gaussianSxy: 1.5,
    iterations: 2,
  };
  const k = 4 * Math.exp(-0.5 * (1 / 4 + (100 + 400) / 225)) + 3 * Math.exp(-0.5 / 2.25);
  let Q = [
    [0.7, 0.45],
    [0.3, 0.55],
  ];
  for (let t = 0; t < 2; t++) {
    const next = [
      [0, 0],
      [0, 0],
    ];
    for (let i = 0; i < 2; i++) {
      const j = 1 - i;
      const e = [0, 1].map((l) => P[l][i] * Math.exp(k * Q[l][j]));
      next[0][i] = e[0] / (e[0] + e[1]);
      next[1][i] = e[1] / (e[0] + e[1]);
    }
    Q = next;
  }
  const got = denseCrf(probs, image, o).dataView();
  assert.deepEqual(
    Array.from(got).map((v) => Number(v.toFixed(5))),
    [Q[0][0], Q[0][1], Q[1][0], Q[1][1]].map((v) => Number(v.toFixed(5))),
  );
  // The second pixel leaned to label 1 on its own; its strongly connected, confident neighbour pulls it to label 0.
  assert.ok(got[1] > 0.5);
});

test('denseCrf: flipped pixels inside a uniform region follow their region; the edge between two colours stays', () => {
  const H = 12,
    W = 12,
    N = H * W;
  const img = new Float32Array(3 * N),
    pr = new Float32Array(2 * N),
    truth = new Int32Array(N);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = y * W + x,
        right = x >= 6 ? 1 : 0;
      truth[i] = right;
      for (let c = 0; c < 3; c++) img[c * N + i] = right ? 0.9 : 0.1;
      // Weakly correct everywhere, wrong on a scattered 1-in-7 of the pixels.
      const p1 = (i % 7 === 3) !== (right === 1) ? 0.65 : 0.35;
      pr[i] = 1 - p1;
      pr[N + i] = p1;
    }
  const probs = new tt.Tensor(pr, [2, H, W], 'float32');
  const before = tt.argmax(probs, 0).dataView();
  const after = tt.argmax(denseCrf(probs, new tt.Tensor(img, [3, H, W], 'float32')), 0).dataView();
  const errors = (l: ArrayLike<number>) => Array.from(l).filter((v, i) => v !== truth[i]).length;
  assert.ok(errors(before) >= 20, `${errors(before)}`);
  assert.equal(errors(after), 0);
});

test('denseCrf: clear errors for bad shapes, options and sizes', () => {
  const p = tt.softmax(tt.randn([2, 4, 4]), 0);
  assert.throws(() => denseCrf(tt.randn([2, 4]), tt.rand([3, 4, 4])), /denseCrf: probs must be a \[K, H, W\] Tensor/);
  assert.throws(
    () => denseCrf(p, tt.rand([3, 4, 5])),
    /denseCrf: image must be \[C, 4, 4\] to match probs \[2, 4, 4\], got \[3, 4, 5\]/,
  );
  assert.throws(() => denseCrf(p, tt.rand([3, 4, 4]), { bilateralSxy: 0 }), /bilateralSxy must be > 0, got 0/);
  assert.throws(
    () => denseCrf(p, tt.rand([3, 4, 4]), { iterations: 1.5 }),
    /iterations must be a non-negative integer/,
  );
  assert.throws(() => denseCrf(p, tt.rand([3, 4, 4]), { maxPixels: 10 }), /4×4 = 16 pixels exceeds maxPixels 10/);
  assert.throws(() => denseCrf(tt.mul(p, -1), tt.rand([3, 4, 4])), /must be non-negative probabilities/);
});
