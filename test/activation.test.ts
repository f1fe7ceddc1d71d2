import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F } = tt;
const fx = loadFixtures('activation');
type Fn = Parameters<typeof checkCase>[1];
// Elementwise float32: outputs within 1e-6 abs / 1e-5 rel of PyTorch, gradients within 1e-5 / 1e-4.
const golden = (name: string, fn: Fn) => {
  const c = fx.get(name);
  test(`golden: ${name}`, () => {
    assert.ok(c, `fixture ${name} missing`);
    forEachBackend(() => checkCase(c, fn, { atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 }));
  });
};

golden('relu', ({ x }) => F.relu(x));
golden('relu6', ({ x }) => F.relu6(x));
golden('leaky_relu_default', ({ x }) => F.leakyRelu(x));
golden('leaky_relu_0_2', ({ x }) => F.leakyRelu(x, { negativeSlope: 0.2 }));
golden('elu_default', ({ x }) => F.elu(x));
golden('elu_alpha', ({ x }) => F.elu(x, { alpha: 0.7 }));
golden('gelu', ({ x }) => F.gelu(x));
golden('gelu_tanh', ({ x }) => F.gelu(x, { approximate: 'tanh' }));
golden('silu', ({ x }) => F.silu(x));
golden('hardswish', ({ x }) => F.hardswish(x));
golden('hardsigmoid', ({ x }) => F.hardsigmoid(x));
golden('hardtanh_default', ({ x }) => F.hardtanh(x));
golden('hardtanh_range', ({ x }) => F.hardtanh(x, { minVal: -0.5, maxVal: 2 }));
golden('sigmoid', ({ x }) => F.sigmoid(x));
golden('tanh', ({ x }) => x.tanh());
golden('softplus_default', ({ x }) => F.softplus(x));
golden('softplus_beta_threshold', ({ x }) => F.softplus(x, { beta: 2, threshold: 5 }));
golden('mish', ({ x }) => F.mish(x));
golden('softmax_dim0', ({ x }) => F.softmax(x, 0));
golden('log_softmax_dim1', ({ x }) => F.logSoftmax(x, 1));
golden('selu', ({ x }) => F.selu(x));
golden('celu_alpha', ({ x }) => F.celu(x, { alpha: 0.6 }));
golden('logsigmoid', ({ x }) => F.logSigmoid(x));
golden('softsign', ({ x }) => F.softsign(x));
golden('prelu_channels', ({ x, w }) => F.prelu(x, w));
golden('prelu_shared', ({ x, w }) => F.prelu(x, w));

/** Float64 input in [lo, hi) with every element at least 1e-3 away from the given kinks (finite differences use 1e-6). */
function awayFrom(kinks: number[], seed: number, lo = -5, hi = 8): tt.Tensor {
  const t = rand64([3, 7], seed, lo, hi);
  const d = t.storage;
  for (let i = 0; i < d.length; i++) for (const k of kinks) if (Math.abs(d[i] - k) < 1e-3) d[i] = k + 0.01;
  return t;
}

test('gradcheck: every activation and option (float64, away from kinks)', () => {
  forEachBackend(() => {
    const cases: [string, (x: tt.Tensor) => tt.Tensor, number[]][] = [
      ['relu', F.relu, [0]],
      ['relu6', F.relu6, [0, 6]],
      ['leakyRelu', (x) => F.leakyRelu(x), [0]],
      ['leakyRelu 0.3', (x) => F.leakyRelu(x, { negativeSlope: 0.3 }), [0]],
      ['elu', (x) => F.elu(x), [0]],
      ['elu 1.7', (x) => F.elu(x, { alpha: 1.7 }), [0]],
      ['gelu', (x) => F.gelu(x), []],
      ['gelu tanh', (x) => F.gelu(x, { approximate: 'tanh' }), []],
      ['silu', F.silu, []],
      ['hardswish', F.hardswish, [-3, 3]],
      ['hardsigmoid', F.hardsigmoid, [-3, 3]],
      ['hardtanh', (x) => F.hardtanh(x), [-1, 1]],
      ['hardtanh [-2, 0.5]', (x) => F.hardtanh(x, { minVal: -2, maxVal: 0.5 }), [-2, 0.5]],
      ['sigmoid', F.sigmoid, []],
      ['tanh', F.tanh, []],
      ['softplus', (x) => F.softplus(x), []],
      ['softplus beta 3 threshold 4', (x) => F.softplus(x, { beta: 3, threshold: 4 }), [4 / 3]],
      ['mish', F.mish, []],
      ['selu', F.selu, [0]],
      ['celu 0.6', (x) => F.celu(x, { alpha: 0.6 }), [0]],
      ['logSigmoid', F.logSigmoid, []],
      ['softsign', F.softsign, [0]],
    ];
    let seed = 1;
    for (const [name, fn, kinks] of cases) {
      assert.ok(tt.gradcheck(fn, [awayFrom(kinks, seed++)]), name);
    }
  });
});

test('gradcheck: prelu, per-channel and shared weight (float64)', () => {
  forEachBackend(() => {
    const x = awayFrom([0], 40);
    const xc = rand64([2, 3, 2, 2], 41);
    assert.ok(tt.gradcheck((a, w) => F.prelu(a, w), [xc, rand64([3], 42, 0, 0.5)]));
    assert.ok(tt.gradcheck((a, w) => F.prelu(a, w), [x, rand64([1], 43, 0, 0.5)]));
    assert.ok(tt.gradcheck((a, w) => F.prelu(a, w), [rand64([2, 3, 4], 44), rand64([3], 45, -0.5, 0.5)]));
  });
});

test('activations: PyTorch values at the kinks, module-level and method spellings agree', () => {
  const k = tt.tensor([-3, 0, 3, 6], { requiresGrad: true });
  F.relu6(k).sum().backward();
  assert.deepEqual(k.grad!.tolist(), [0, 0, 1, 0], 'hardtanh-style: zero gradient at the bounds');
  const h = tt.tensor([-3, 3], { requiresGrad: true });
  F.hardswish(h).sum().backward();
  assert.deepEqual(h.grad!.tolist(), [-0.5, 1.5]);
  const z = tt.tensor([0], { requiresGrad: true });
  F.leakyRelu(z, { negativeSlope: 0.2 }).sum().backward();
  assert.deepEqual(z.grad!.tolist(), [Math.fround(0.2)]);
  const x = tt.tensor([-1, 0.5, 2]);
  assert.deepEqual(tt.relu(x).tolist(), x.relu().tolist());
  assert.deepEqual(tt.sigmoid(x).tolist(), F.sigmoid(x).tolist());
  assert.deepEqual(
    F.softplus(tt.tensor([30, -30]))
      .tolist()
      .map((v) => Math.round(v * 1e6) / 1e6),
    [30, 0],
  );
});

test('activation error messages', () => {
  assert.throws(
    () => F.gelu(tt.ones([2]), { approximate: 'fast' as 'tanh' }),
    /gelu: approximate must be 'none' or 'tanh', got 'fast'/,
  );
  assert.throws(
    () => F.hardtanh(tt.ones([2]), { minVal: 1, maxVal: 0 }),
    /hardtanh: maxVal \(0\) must be ≥ minVal \(1\)/,
  );
  assert.throws(() => F.softplus(tt.ones([2]), { beta: 0 }), /softplus: beta must be > 0/);
  assert.throws(
    () => F.silu(tt.tensor([1, 2], { dtype: 'int32' })),
    /silu: input must be a floating-point tensor, got int32/,
  );
  assert.throws(
    () => F.prelu(tt.ones([2, 3]), tt.ones([2])),
    /prelu: weight \[2\] must have 1 element or one per channel \(3 for input \[2, 3\]\)/,
  );
  assert.throws(() => F.celu(tt.ones([2]), { alpha: 0 }), /celu: alpha must be a finite non-zero number/);
});

test('dropout: inverted scaling, statistics, determinism with a seed, identity in eval', () => {
  const x = tt.ones([200, 50]);
  const y = F.dropout(x, { p: 0.3, generator: new tt.Generator(5) });
  const vals = y.tolist();
  const kept = vals.filter((v) => v !== 0);
  assert.ok(
    kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6),
    'kept values are scaled by 1/(1-p)',
  );
  const dropRate = 1 - kept.length / vals.length;
  assert.ok(Math.abs(dropRate - 0.3) < 0.02, `drop rate ${dropRate}`);
  assert.ok(Math.abs(y.mean().item() - 1) < 0.03, 'expectation is preserved');
  const again = F.dropout(x, { p: 0.3, generator: new tt.Generator(5) });
  assert.deepEqual(again.tolist(), vals, 'same seed, same mask');
  assert.notDeepEqual(F.dropout(x, { p: 0.3, generator: new tt.Generator(6) }).tolist(), vals);
  tt.manualSeed(11);
  const a = F.dropout(x, { p: 0.5 }).tolist();
  tt.manualSeed(11);
  assert.deepEqual(F.dropout(x, { p: 0.5 }).tolist(), a, 'the global generator is seeded by manualSeed');
  assert.equal(F.dropout(x, { p: 0.5, training: false }), x, 'identity when not training');
  assert.equal(F.dropout(x, { p: 0 }), x);
  assert.ok(
    F.dropout(x, { p: 1 })
      .tolist()
      .every((v) => v === 0),
  );
  // Gradient: the same mask scales the gradient.
  const w = tt.ones([4, 5], { requiresGrad: true });
  const d = F.dropout(w, { p: 0.4, generator: new tt.Generator(3) });
  d.sum().backward();
  assert.deepEqual(w.grad!.tolist(), d.detach().tolist());
  const p1 = tt.ones([3], { requiresGrad: true });
  F.dropout(p1, { p: 1 }).sum().backward();
  assert.deepEqual(p1.grad!.tolist(), [0, 0, 0]);
});

test('dropout2d zeroes whole channels', () => {
  const x = tt.ones([8, 16, 3, 3], { requiresGrad: true });
  const y = F.dropout2d(x, { p: 0.5, generator: new tt.Generator(9) });
  const planes = y.reshape(8 * 16, 9).toArray() as number[][];
  let dropped = 0;
  for (const p of planes) {
    assert.ok(
      p.every((v) => v === p[0]),
      'a channel is dropped or kept as a whole',
    );
    assert.ok(p[0] === 0 || p[0] === 2);
    if (p[0] === 0) dropped++;
  }
  assert.ok(dropped > 40 && dropped < 88, `dropped ${dropped} of 128 channels`);
  y.sum().backward();
  assert.deepEqual(x.grad!.tolist(), y.detach().tolist());
  // A 3-D input is read as [N, C, L] (PyTorch 1.13): each row of L values is dropped or kept together.
  const rows = F.dropout2d(tt.ones([4, 6, 5]), { p: 0.5, generator: new tt.Generator(1) })
    .reshape(24, 5)
    .toArray() as number[][];
  assert.ok(rows.every((r) => r.every((v) => v === r[0])));
  assert.ok(rows.some((r) => r[0] === 0) && rows.some((r) => r[0] === 2));
  assert.equal(F.dropout2d(x, { training: false }), x);
  assert.ok(tt.gradcheck((a) => F.dropout2d(a, { p: 0.5, generator: new tt.Generator(2) }), [rand64([2, 3, 2, 2], 1)]));
  assert.ok(tt.gradcheck((a) => F.dropout(a, { p: 0.3, generator: new tt.Generator(2) }), [rand64([3, 4], 2)]));
});

test('dropout error messages', () => {
  assert.throws(
    () => F.dropout(tt.ones([2]), { p: 1.5 }),
    /dropout: dropout probability has to be between 0 and 1, but got 1.5/,
  );
  assert.throws(() => F.dropout(tt.ones([2]), { p: -0.1 }), /between 0 and 1/);
  assert.throws(
    () => F.dropout2d(tt.ones([2, 3]), { p: 0.5 }),
    /dropout2d: expected a 4-D input \[N, C, H, W\] \(or 3-D \[N, C, L\]\), got shape \[2, 3\]/,
  );
});
