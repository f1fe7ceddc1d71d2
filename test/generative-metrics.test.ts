// FID / KID / classifier score against scipy/numpy goldens (tools/fixtures/fid_golden.py), the symmetric
// eigensolver against numpy.linalg.eigvalsh and hand cases; Inception v3's sizes and feature output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tt from '../src/index.ts';

const G = JSON.parse(readFileSync(new URL('./fixtures/generative/fid.json', import.meta.url), 'utf8'));
const T = (rows: number[][]) => tt.tensor(rows, { dtype: 'float64' });
const close = (a: number, b: number, rel: number, what: string) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('symmetricEigen: numpy eigvalsh values; A V = V Λ with orthonormal V; hand 2×2 and diagonal cases', () => {
  const M = Float64Array.from((G.eig_matrix as number[][]).flat());
  const n = 12;
  const { values, vectors } = tt.train.symmetricEigen(M, n, { vectors: true });
  (G.eig_values as number[]).forEach((v, i) => close(values[i], v, 1e-10, `λ${i}`));
  const V = vectors!;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let k = 0; k < n; k++) av += M[i * n + k] * V[k * n + j];
      assert.ok(Math.abs(av - values[j] * V[i * n + j]) < 1e-9, `residual at (${i}, ${j})`);
    }
    for (let j2 = 0; j2 < n; j2++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += V[k * n + j] * V[k * n + j2];
      assert.ok(Math.abs(dot - (j === j2 ? 1 : 0)) < 1e-10);
    }
  }
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3
  assert.deepEqual(
    Array.from(tt.train.symmetricEigen(Float64Array.of(2, 1, 1, 2), 2).values).map((v) => +v.toFixed(12)),
    [1, 3],
  );
  assert.deepEqual(
    Array.from(tt.train.symmetricEigen(Float64Array.of(5, 0, 0, 0, -1, 0, 0, 0, 2), 3).values),
    [-1, 2, 5],
  );
  // a repeated eigenvalue and a 1×1 matrix
  assert.deepEqual(Array.from(tt.train.symmetricEigen(Float64Array.of(4), 1).values), [4]);
  const I4 = new Float64Array(16);
  for (let i = 0; i < 4; i++) I4[i * 5] = 3;
  assert.deepEqual(Array.from(tt.train.symmetricEigen(I4, 4).values), [3, 3, 3, 3]);
  assert.throws(
    () => tt.train.symmetricEigen(new Float64Array(5), 2),
    /symmetricEigen: expected 2×2 = 4 values, got 5/,
  );
});

test("fid equals pytorch-fid's formula (scipy sqrtm), also with singular covariances; 0 on identical sets", () => {
  close(tt.train.fid(T(G.real), T(G.fake)), G.fid, 1e-8, 'fid');
  close(tt.train.fid(T(G.few_a), T(G.few_b)), G.fid_few, 1e-6, 'fid with N < D');
  assert.ok(tt.train.fid(T(G.real), T(G.real)) < 1e-9);
  // float32 features give the same value up to their rounding
  close(tt.train.fid(T(G.real).to('float32'), T(G.fake).to('float32')), G.fid, 1e-5, 'fid float32');
  // hand case, 1-D: means 0 and 3, unbiased variances 2 and 16 → 9 + 2 + 16 − 2·√32
  const a = T([[-1], [1]]),
    b = T([[3 - 2 * Math.SQRT2], [3 + 2 * Math.SQRT2]]);
  close(tt.train.fid(a, b), 27 - 2 * Math.sqrt(32), 1e-12, 'hand 1-D');
  assert.throws(
    () =>
      tt.train.fid(
        T(G.real),
        T([
          [1, 2],
          [3, 4],
        ]),
      ),
    /frechetDistance: the statistics have different dimensions \(12 and 2\)/,
  );
  assert.throws(
    () =>
      tt.train.fid(
        T([[1, 2]]),
        T([
          [1, 2],
          [3, 4],
        ]),
      ),
    /featureStatistics: need at least 2 feature vectors/,
  );
  assert.throws(() => tt.train.fid(tt.rand([3, 2, 2]), tt.rand([3, 4])), /expected features \[N, D\]/);
  assert.throws(
    () =>
      tt.train.fid(
        T([
          [1, NaN],
          [0, 0],
        ]),
        T([
          [1, 2],
          [3, 4],
        ]),
      ),
    /features contain NaN/,
  );
});

test('kid equals the unbiased MMD² with (xᵀy/d + 1)³; subsets of a set against itself average ≈ 0', () => {
  const r = tt.train.kid(T(G.real), T(G.fake), { subsets: 1 });
  close(r.mean, G.kid, 1e-9, 'kid');
  assert.equal(r.std, 0);
  // two disjoint halves of the real set (subsets of one set against itself would share samples)
  const self = tt.train.kid(T(G.real.slice(0, 60)), T(G.real.slice(60)), {
    subsets: 20,
    subsetSize: 50,
    generator: new tt.Generator(1),
  });
  const far = tt.train.kid(T(G.real), T(G.fake), { subsets: 20, subsetSize: 60, generator: new tt.Generator(1) });
  // subsets estimate the same MMD² without bias: near the full-set value for the two sets, near 0 for one set
  assert.ok(far.mean > 0.5 * G.kid && far.mean < 1.5 * G.kid, `KID ${far.mean} ± ${far.std} vs ${G.kid}`);
  assert.ok(Math.abs(self.mean) < 0.25 * G.kid, `self KID ${self.mean} ± ${self.std}`);
  assert.throws(() => tt.train.kid(T(G.real), T([[1]])), /kid: the feature sets have different dimensions/);
  assert.throws(() => tt.train.kid(T(G.real), T(G.fake), { subsets: 0 }), /subsets must be a positive integer/);
});

test('classifierScore equals the Inception Score formula; 1 for one class, C for confident uniform classes', () => {
  close(tt.train.classifierScore(T(G.probs)).mean, G.is, 1e-7, 'IS');
  assert.equal(
    tt.train.classifierScore(
      T([
        [1, 0],
        [1, 0],
      ]),
    ).mean,
    1,
  );
  close(
    tt.train.classifierScore(
      T([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]),
    ).mean,
    3,
    1e-12,
    'uniform',
  );
  const split = tt.train.classifierScore(
    T([
      [1, 0],
      [0, 1],
      [1, 0],
      [1, 0],
    ]),
    { splits: 2 },
  );
  close(split.mean, 1.5, 1e-12, 'splits'); // halves score 2 and 1
  assert.throws(() => tt.train.classifierScore(T([[2, 1]])), /row 0 sums to 3, expected probabilities/);
});

test('inception_v3: torchvision sizes, 2048-d features, aux logits in training mode, input checks', () => {
  const count = (m: tt.nn.AnyModule) => m.parameters().reduce((s, p) => s + p.numel(), 0);
  const net = tt.models.inception_v3();
  assert.equal(count(net), 27_161_264);
  assert.equal(count(tt.models.inception_v3({ auxLogits: false })), 23_834_568);
  assert.equal(tt.models.getModelInfo('inception_v3').inputShape.join('x'), '3x299x299');
  net.eval();
  const x = tt.randn([1, 3, 75, 75], { generator: new tt.Generator(0) });
  const f = tt.noGrad(() => net.forwardFeatures(x));
  assert.deepEqual(f.shape, [1, 2048]);
  // forwardFeatures is the input of fc (dropout is off in eval)
  const logits = tt.noGrad(() => net.forward(x));
  tt.noGrad(() => assert.ok(net.fc.forward(f).sub(logits).abs().max().item() < 1e-3));
  assert.equal(net.forwardWithAux(x).aux, null);
  assert.throws(
    () => net.forward(tt.rand([1, 3, 64, 64])),
    /Inception3: expected RGB images \[N, 3, H, W\] with H, W ≥ 75/,
  );
});
