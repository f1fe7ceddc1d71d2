import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { record } from '../src/autograd/graph.ts';
import { conv2dReluMaxPool2d } from '../src/ops/fused.ts';
import { assertClose, decode, forEachBackend, inputsOf, loadFixtures, rand64, type FixtureCase } from './helpers.ts';

const { F } = tt;
const ggc = (fn: (...t: tt.Tensor[]) => tt.Tensor | tt.Tensor[], inputs: tt.Tensor[]) =>
  assert.equal(tt.autograd.gradgradcheck(fn, inputs, { atol: 1e-5, rtol: 1e-3 }), true);

test('grad: x³ gives 3x², and its gradient 6x with createGraph', () => {
  const x = tt.tensor([1, -2, 3], { dtype: 'float64' }).requiresGrad_();
  const [g] = tt.autograd.grad(tt.pow(x, 3).sum(), x, { createGraph: true });
  assert.deepEqual(g!.tolist(), [3, 12, 27]);
  assert.equal(g!.requiresGrad, true);
  const [h] = tt.autograd.grad(g!.sum(), x);
  assert.deepEqual(h!.tolist(), [6, -12, 18]);
  assert.equal(x.grad, null, 'grad() must not accumulate into .grad');
});

test('grad: without createGraph the result is a plain tensor and the graph is freed', () => {
  const x = tt.tensor([1, 2], { dtype: 'float64' }).requiresGrad_();
  const y = tt.mul(x, x).sum();
  const [g] = tt.autograd.grad(y, x);
  assert.equal(g!.requiresGrad, false);
  assert.throws(() => tt.autograd.grad(y, x), /retainGraph/);
});

test('grad: gradOutputs, several outputs and inputs, non-leaf inputs, allowUnused', () => {
  const x = tt.tensor([1, 2, 3], { dtype: 'float64' }).requiresGrad_();
  const w = tt.tensor([0.5], { dtype: 'float64' }).requiresGrad_();
  const unused = tt.tensor([7], { dtype: 'float64' }).requiresGrad_();
  const h = tt.mul(x, w); // non-leaf
  const y1 = tt.square(h);
  const y2 = tt.sum(h);
  const v = tt.tensor([1, 0, 2], { dtype: 'float64' });
  const [gh, gx, gw] = tt.autograd.grad([y1, y2], [h, x, w], { gradOutputs: [v, null], retainGraph: true });
  // ∂/∂h (v·h² + Σh) = 2vh + 1
  assert.deepEqual(gh!.tolist(), [2 * 1 * 0.5 + 1, 1, 2 * 2 * 1.5 + 1]);
  assert.deepEqual(
    gx!.tolist(),
    gh!.tolist().map((a) => a * 0.5),
  );
  assert.equal(
    gw!.item(),
    gh!.tolist().reduce((s, a, i) => s + a * (i + 1), 0),
  );
  assert.throws(() => tt.autograd.grad(y2, [x, unused], { retainGraph: true }), /input 1 .*not used.*allowUnused/);
  const [, none] = tt.autograd.grad(y2, [x, unused], { allowUnused: true });
  assert.equal(none, null);
  assert.throws(() => tt.autograd.grad(y1, x), /scalar outputs/);
  assert.throws(() => tt.autograd.grad(y1, tt.tensor([1])), /does not require grad/);
});

test('backward({ createGraph }) leaves a differentiable .grad that accumulates like PyTorch', () => {
  const x = tt.tensor([0.5, -1], { dtype: 'float64' }).requiresGrad_();
  tt.exp(tt.mul(x, 2)).sum().backward(null, { createGraph: true });
  const g = x.grad!; // 2·e^{2x}
  assert.equal(g.requiresGrad, true);
  x.grad = null;
  g.sum().backward(); // 4·e^{2x}
  assert.ok(Math.abs(x.grad!.tolist()[0] - 4 * Math.exp(1)) < 1e-12);
  assert.ok(Math.abs(x.grad!.tolist()[1] - 4 * Math.exp(-2)) < 1e-12);
});

test('first-order backward is unchanged: gradients carry no graph', () => {
  const x = rand64([2, 3, 5, 5], 1);
  const w = rand64([4, 3, 3, 3], 2);
  F.conv2d(x, w, null, { padding: 1 }).sum().backward();
  assert.equal(x.grad!.requiresGrad, false);
  assert.equal(w.grad!.gradFn, null);
});

test('an op without double backward throws naming it, never a silent zero', () => {
  const x = rand64([3], 3);
  const y = record('rawSquare', tt.square(x.detach()), [x], () => (g) => [
    tt.noGrad(() => tt.mul(g, tt.mul(x.detach(), 2))),
  ]);
  assert.throws(
    () => tt.autograd.grad(y.sum(), x, { createGraph: true }),
    /rawSquare does not support double backward/,
  );
  // without createGraph the same op is fine
  const [g] = tt.autograd.grad(
    record('rawSquare', tt.square(x.detach()), [x], () => (gg) => [tt.mul(gg, tt.mul(x.detach(), 2))]).sum(),
    x,
  );
  assert.deepEqual(
    g!.tolist(),
    x.tolist().map((v) => 2 * v),
  );
});

test('gradgradcheck: elementwise, broadcasting and reductions', () => {
  const a = rand64([2, 3], 4, 0.5, 2);
  const b = rand64([3], 5, 0.5, 2);
  ggc((p, q) => tt.div(tt.mul(tt.add(p, q), tt.sub(p, q)), tt.sqrt(q)), [a, b]);
  ggc((p, q) => tt.pow(p, q), [a, b]);
  ggc((p) => [tt.logsumexp(p, 1), tt.std(p, 0), tt.amax(p, 1), tt.prod(p, 1)], [a]);
  ggc((p) => tt.max(p, 1).values, [a]);
  ggc((p, q) => tt.mul(tt.maximum(p, q), tt.clamp(p, 0.8, 1.5)), [a, b]);
  ggc((p) => tt.mul(tt.abs(tt.sin(p)), tt.log1p(p)), [a]);
});

test('gradgradcheck: activations', () => {
  const x = rand64([2, 7], 6, -4, 4);
  const acts: [string, (t: tt.Tensor) => tt.Tensor][] = [
    ['relu', F.relu],
    ['relu6', (t) => F.relu6(tt.mul(t, 2))],
    ['leakyRelu', (t) => F.leakyRelu(t, { negativeSlope: 0.2 })],
    ['elu', (t) => F.elu(t, { alpha: 1.3 })],
    ['gelu', F.gelu],
    ['geluTanh', (t) => F.gelu(t, { approximate: 'tanh' })],
    ['silu', F.silu],
    ['hardswish', F.hardswish],
    ['hardsigmoid', F.hardsigmoid],
    ['hardtanh', F.hardtanh],
    ['sigmoid', F.sigmoid],
    ['tanh', F.tanh],
    ['softplus', (t) => F.softplus(t, { beta: 2, threshold: 3 })],
    ['mish', F.mish],
    ['selu', F.selu],
    ['logSigmoid', F.logSigmoid],
    ['softmax', (t) => F.softmax(t, 1)],
    ['logSoftmax', (t) => F.logSoftmax(t, 0)],
  ];
  for (const [name, f] of acts) {
    // a product makes the second derivative of piecewise-linear activations non-trivial too
    assert.doesNotThrow(() => ggc((t) => tt.mul(f(t), t), [x]), name);
  }
});

test('gradgradcheck: conv2d (stride, padding, dilation, groups, padding modes, fused ReLU) and convTranspose2d', () => {
  const x = rand64([2, 4, 5, 5], 7);
  const w = rand64([4, 2, 3, 3], 8);
  const b = rand64([4], 9);
  ggc((p, q, r) => tt.square(F.conv2d(p, q, r, { stride: 2, padding: 1, dilation: [1, 2], groups: 2 })), [x, w, b]);
  ggc((p, q) => tt.square(F.conv2d(p, q, null, { padding: 1, groups: 2, paddingMode: 'reflect' })), [x, w]);
  ggc((p, q, r) => tt.square(F.conv2d(p, q, r, { padding: 1, groups: 2, activation: 'relu' })), [x, w, b]);
  const xt = rand64([1, 4, 3, 3], 10);
  ggc(
    (p, q, r) => tt.square(F.convTranspose2d(p, q, r, { stride: 2, padding: 1, outputPadding: 1, groups: 2 })),
    [xt, w, b],
  );
});

test('gradgradcheck: linear, matmul, bmm', () => {
  const x = rand64([3, 4], 11);
  const w = rand64([2, 4], 12);
  const b = rand64([2], 13);
  ggc((p, q, r) => tt.square(F.linear(p, q, r)), [x, w, b]);
  ggc((p, q) => tt.square(tt.matmul(p, q)), [rand64([2, 3, 4], 14), rand64([4, 2], 15)]);
  ggc((p, q) => tt.square(tt.bmm(p, q)), [rand64([2, 3, 2], 16), rand64([2, 2, 3], 17)]);
});

test('gradgradcheck: batch, layer, group and instance norm; eval-mode batch norm', () => {
  const x = rand64([3, 2, 2, 2], 18);
  const w = rand64([2], 19);
  const b = rand64([2], 20);
  ggc((p, q, r) => tt.square(F.batchNorm(p, null, null, { training: true, weight: q, bias: r })), [x, w, b]);
  const rm = tt.tensor([0.1, -0.2], { dtype: 'float64' });
  const rv = tt.tensor([0.5, 2], { dtype: 'float64' });
  ggc((p, q, r) => tt.square(F.batchNorm(p, rm, rv, { training: false, weight: q, bias: r })), [x, w, b]);
  ggc((p) => tt.square(F.layerNorm(p, [2, 2])), [x]);
  ggc((p) => tt.square(F.groupNorm(p, 1)), [x]);
  ggc((p) => tt.square(F.instanceNorm(p)), [x]);
});

test('gradgradcheck: 1-D and 3-D convolution and pooling share the N-d autograd', () => {
  const x1 = rand64([2, 4, 6], 31);
  const w1 = rand64([4, 2, 3], 32);
  const b = rand64([4], 33);
  ggc((p, q, r) => tt.square(F.conv1d(p, q, r, { stride: 2, padding: 'valid', dilation: 2, groups: 2 })), [x1, w1, b]);
  ggc((p, q, r) => tt.square(F.convTranspose1d(p, q, r, { stride: 2, padding: 1, groups: 2 })), [x1, w1, b]);
  const x3 = rand64([1, 2, 3, 3, 4], 34);
  const w3 = rand64([2, 1, 2, 2, 3], 35);
  ggc((p, q, r) => tt.square(F.conv3d(p, q, r, { padding: [0, 1, 1], groups: 2 })), [x3, w3, rand64([2], 37)]);
  ggc((p, q) => tt.square(F.convTranspose3d(p, q, null, { stride: [1, 2, 1], groups: 2 })), [x3, w3]);
  ggc((p) => tt.square(F.maxPool1d(p, 3, { stride: 2, padding: 1 })), [x1]);
  ggc((p) => tt.square(F.avgPool3d(p, 2, { stride: 1, padding: 1, countIncludePad: false })), [x3]);
  ggc((p) => tt.square(F.maxPool3d(p, 2, { stride: 1 })), [x3]);
  ggc((p) => tt.square(F.adaptiveAvgPool3d(p, [2, 1, 3])), [x3]);
  ggc((p) => tt.square(F.adaptiveMaxPool1d(p, 4)), [x1]);
  const [pooled, idx] = F.maxPool3d(x3.detach(), 2, { returnIndices: true });
  ggc((p) => tt.square(F.maxUnpool3d(p, idx, 2, { outputSize: [3, 3, 4] })), [rand64(pooled.shape, 36)]);
});

test('gradgradcheck: pooling, padding, interpolation', () => {
  const x = rand64([1, 2, 5, 5], 21);
  ggc((p) => tt.square(F.maxPool2d(p, 3, { stride: 2, padding: 1 })), [x]);
  ggc((p) => tt.square(F.avgPool2d(p, 2, { stride: 2, padding: 1, countIncludePad: false })), [x]);
  ggc((p) => tt.square(F.adaptiveAvgPool2d(p, [2, 3])), [x]);
  ggc((p) => tt.square(F.adaptiveMaxPool2d(p, 2)), [x]);
  ggc((p) => tt.square(F.pad(p, [1, 2, 2, 1], { mode: 'reflect' })), [x]);
  ggc((p) => tt.square(F.interpolate(p, { scaleFactor: 2, mode: 'bilinear' })), [x]);
  const [pooled, idx] = F.maxPool2d(x.detach(), 2, { returnIndices: true });
  ggc((p) => tt.square(F.maxUnpool2d(p, idx, 2, { outputSize: [5, 5] })), [rand64(pooled.shape, 22)]);
  ggc(
    (p, q, r) => tt.square(conv2dReluMaxPool2d(p, q, r, { padding: 1 }, 2)),
    [rand64([1, 2, 4, 4], 27), rand64([3, 2, 3, 3], 28), rand64([3], 29)],
  );
});

test('gradgradcheck: losses', () => {
  const x = rand64([3, 4], 23);
  const t = rand64([3, 4], 24);
  const labels = tt.tensor([0, 3, 1], { dtype: 'int32' });
  ggc((p) => F.crossEntropy(p, labels), [x]);
  ggc((p, q) => F.mseLoss(p, q), [x, t]);
  ggc((p, q) => F.binaryCrossEntropyWithLogits(p, tt.sigmoid(q)), [x, t]);
  ggc((p, q) => F.binaryCrossEntropy(tt.sigmoid(p), tt.sigmoid(q)), [x, t]);
  ggc((p, q) => F.smoothL1Loss(tt.mul(p, 3), q), [x, t]);
});

test('gradgradcheck: shape ops', () => {
  const x = rand64([3, 4], 25);
  const y = rand64([3, 2], 26);
  const idx = tt.tensor(
    [
      [0, 2],
      [3, 3],
      [1, 0],
    ],
    { dtype: 'int32' },
  );
  ggc((p) => tt.square(tt.slice(p, 1, 1, 4, 2)), [x]);
  ggc((p, q) => tt.square(tt.cat([p, q], 1)), [x, y]);
  ggc((p) => tt.square(tt.gather(p, 1, idx)), [x]);
  ggc(
    (p, q) =>
      tt.square(
        tt.scatter(
          p,
          1,
          tt.tensor(
            [
              [0, 2],
              [3, 1],
              [1, 0],
            ],
            { dtype: 'int32' },
          ),
          q,
        ),
      ),
    [x, y],
  );
  ggc((p) => tt.square(tt.indexSelect(p, 0, tt.tensor([2, 0, 2], { dtype: 'int32' }))), [x]);
  ggc((p) => tt.square(tt.maskedFill(p, tt.gt(p.detach(), 0), 0.5)), [x]);
  ggc((p) => tt.square(tt.permute(tt.reshape(p, [2, 6]), [1, 0])), [x]);
  ggc((p) => tt.square(tt.flip(p, [0])), [x]);
});

// PyTorch goldens (tools/fixtures/penalty.py): the penalty and its gradients with respect to the discriminator's
// parameters and the images, i.e. second derivatives of D, in float32 on every backend.
const penalties = loadFixtures('penalty');

/**
 * Replays a penalty case. A parameter that reaches the penalty only through a kink's mask (the bias before a
 * LeakyReLU) has second derivative zero: PyTorch materialises zeros there, Tatami leaves `.grad` null.
 */
function checkPenalty(c: FixtureCase, fn: (p: Record<string, tt.Tensor>) => tt.Tensor): void {
  const p = inputsOf(c);
  const out = fn(p);
  assertClose(out, c.output, { atol: 1e-5, rtol: 1e-4, what: `${c.name} penalty` });
  out.backward(decode(c.upstream!));
  for (const [k, g] of Object.entries(c.grads!)) {
    const got = p[k].grad ?? (g.data.every((v) => v === 0) ? tt.zeros(g.shape) : null);
    assert.ok(got, `${c.name}: no gradient for ${k}`);
    assertClose(got, g, { atol: 2e-5, rtol: 2e-3, what: `${c.name} grad ${k}` });
  }
}

/** conv(3→4, s2) → LeakyReLU(0.2) → conv(4→4, s2) → GroupNorm(2) → LeakyReLU(0.2) → linear(16 → 1). */
function discGn(x: tt.Tensor, p: Record<string, tt.Tensor>): tt.Tensor {
  let h = F.leakyRelu(F.conv2d(x, p.w1, p.b1, { stride: 2, padding: 1 }), { negativeSlope: 0.2 });
  h = F.conv2d(h, p.w2, p.b2, { stride: 2, padding: 1 });
  h = F.leakyRelu(F.groupNorm(h, 2, { weight: p.gnw, bias: p.gnb }), { negativeSlope: 0.2 });
  return F.linear(tt.flatten(h, 1), p.w3, p.b3);
}

test('golden: WGAN-GP gradient penalty (PyTorch)', () =>
  forEachBackend(() =>
    checkPenalty(penalties.get('wgan_gp_groupnorm')!, (p) => {
      const interp = tt.add(tt.mul(p.eps, p.real), tt.mul(tt.sub(1, p.eps), p.fake));
      const d = discGn(interp, p);
      const [g] = tt.autograd.grad(d, interp, { gradOutputs: tt.onesLike(d), createGraph: true });
      const norms = tt.sqrt(tt.sum(tt.square(tt.flatten(g!, 1)), 1));
      return tt.mean(tt.square(tt.sub(norms, 1)));
    }),
  ));

test('golden: R1 penalty with group norm (PyTorch)', () =>
  forEachBackend(() =>
    checkPenalty(penalties.get('r1_groupnorm')!, (p) => {
      const d = discGn(p.real, p);
      const [g] = tt.autograd.grad(tt.sum(d), p.real, { createGraph: true });
      return tt.mul(tt.mean(tt.sum(tt.square(g!), [1, 2, 3])), 5);
    }),
  ));

test('golden: R1 penalty with batch norm and average pooling (PyTorch)', () =>
  forEachBackend(() =>
    checkPenalty(penalties.get('r1_batchnorm')!, (p) => {
      let h = F.conv2d(p.real, p.w1, null, { stride: 2, padding: 1 });
      h = F.leakyRelu(F.batchNorm(h, null, null, { training: true, weight: p.bnw, bias: p.bnb }), {
        negativeSlope: 0.2,
      });
      const d = F.linear(tt.flatten(F.avgPool2d(h, 2), 1), p.w2, p.b2);
      const [g] = tt.autograd.grad(tt.sum(d), p.real, { createGraph: true });
      return tt.mul(tt.mean(tt.sum(tt.square(g!), [1, 2, 3])), 5);
    }),
  ));

test('grad: a returned gradient of a non-leaf is not recycled by the rest of the pass', () => {
  // h's gradient passes on through h's node (4096 float64: above the size the allocator recycles); its buffer must stay the caller's
  const x = rand64([4096], 30);
  const h = tt.mul(x, 3);
  const y = tt.exp(tt.mul(h, 0.5)).sum();
  const [gh, gx] = tt.autograd.grad(y, [h, x]);
  const before = gh!.tolist();
  // allocate buffers of the same size (as the next step's kernels would): the returned gradients must not change
  for (let i = 0; i < 4; i++) tt.mul(rand64([4096], 31 + i), 2);
  assert.deepEqual(gh!.tolist(), before, 'gradient of h intact');
  const expected = h.detach().mul(0.5).exp().mul(0.5);
  assert.ok(tt.allclose(gh!, expected));
  assert.ok(tt.allclose(gx!, expected.mul(3)));
});

test('gradgradcheck: composites (LRN, attention, dropout, nearest interpolation, more losses, split/stack)', () => {
  const x = rand64([2, 4, 3, 3], 40, 0.1, 1);
  ggc((p) => tt.square(F.localResponseNorm(p, 3)), [x]);
  const q = rand64([1, 2, 3, 4], 41),
    k = rand64([1, 2, 3, 4], 42),
    v = rand64([1, 2, 3, 4], 43);
  ggc((a, b, c) => tt.square(F.scaledDotProductAttention(a, b, c)), [q, k, v]);
  ggc((p) => tt.square(F.dropout(p, { p: 0.3, generator: new tt.Generator(5) })), [x]);
  ggc((p) => tt.square(F.interpolate(p, { scaleFactor: 2, mode: 'nearest' })), [x]);
  const logits = rand64([3, 4], 44);
  const t = rand64([3, 4], 45);
  ggc((p) => F.nllLoss(F.logSoftmax(p, 1), tt.tensor([1, 0, 3], { dtype: 'int32' })), [logits]);
  ggc((p, r) => F.huberLoss(tt.mul(p, 2), r, { delta: 0.5 }), [logits, t]);
  ggc((p, r) => F.l1Loss(tt.mul(p, p), r), [logits, t]);
  ggc((p, r) => F.klDiv(F.logSoftmax(p, 1), F.softmax(r, 1), { reduction: 'batchmean' }), [logits, t]);
  ggc((p) => tt.square(tt.stack(tt.split(p, 2, 1).reverse(), 0)), [logits]);
  ggc((p, w) => tt.square(F.prelu(p, w)), [x, rand64([4], 46, 0.1, 0.3)]);
});
