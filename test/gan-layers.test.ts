// nn.ConditionalBatchNorm2d and nn.utils.spectralNorm / removeSpectralNorm: hand-computed cases, PyTorch goldens
// (test/fixtures/ganlayers.json from tools/fixtures/ganlayers.py: BatchNorm2d(affine=False) + per-class gain/bias,
// and torch.nn.utils.spectral_norm over two training forwards and one eval forward) and gradient checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, decode, loadFixtures } from './helpers.ts';

const fx = loadFixtures('ganlayers');
const i32 = (v: number[]) => tt.tensor(v, { dtype: 'int32' });

test('ConditionalBatchNorm2d: hand-computed gain and bias per class', () => {
  const cbn = new tt.nn.ConditionalBatchNorm2d(1, 2, { eps: 0 });
  tt.noGrad(() => {
    cbn.weight.copy_(tt.tensor([[2], [3]]));
    cbn.bias.copy_(tt.tensor([[0], [1]]));
  });
  // one channel, values 1, 3 (sample 0) and 5, 7 (sample 1): mean 4, biased variance 5
  const x = tt.tensor([1, 3, 5, 7]).reshape([2, 1, 1, 2]);
  const y = cbn.forward(x, i32([0, 1]));
  const s = Math.sqrt(5);
  assertClose(y.reshape([-1]), [(2 * -3) / s, (2 * -1) / s, (3 * 1) / s + 1, (3 * 3) / s + 1], { atol: 1e-6 });
  // running statistics: momentum 0.1 toward mean 4 and the unbiased variance 20/3
  assertClose(cbn.bn.runningMean!, [0.4], { atol: 1e-6 });
  assertClose(cbn.bn.runningVar!, [0.9 + 0.1 * (20 / 3)], { atol: 1e-6 });
  // a fresh layer is plain batch norm: every class gain 1, bias 0
  const plain = new tt.nn.ConditionalBatchNorm2d(1, 2, { eps: 0 });
  assertClose(plain.forward(x, i32([1, 1])).reshape([-1]), [-3 / s, -1 / s, 1 / s, 3 / s], { atol: 1e-6 });
});

for (const name of ['cbn_train', 'cbn_eval']) {
  test(`ConditionalBatchNorm2d matches PyTorch: ${name}`, () => {
    const c = fx.get(name)!;
    const cbn = new tt.nn.ConditionalBatchNorm2d(3, 3);
    cbn.loadStateDict({
      weight: decode(c.inputs.weight),
      bias: decode(c.inputs.bias),
      'bn.running_mean': decode(c.inputs.running_mean),
      'bn.running_var': decode(c.inputs.running_var),
      'bn.num_batches_tracked': tt.tensor(0, { dtype: 'int32' }),
    });
    if (!c.params.training) cbn.eval();
    const x = decode(c.inputs.x, true);
    const y = cbn.forward(x, decode(c.inputs.labels));
    assertClose(y, c.output, { atol: 1e-5 });
    assertClose(cbn.bn.runningMean!, c.extra[0], { atol: 1e-6 });
    assertClose(cbn.bn.runningVar!, c.extra[1], { atol: 1e-6 });
    y.backward(decode(c.upstream!));
    assertClose(x.grad!, c.grads!.x, { atol: 1e-4 });
    assertClose(cbn.weight.grad!, c.grads!.weight, { atol: 1e-4 });
    assertClose(cbn.bias.grad!, c.grads!.bias, { atol: 1e-4 });
  });
}

test('ConditionalBatchNorm2d: gradcheck (float64) and its state dict', () => {
  const cbn = new tt.nn.ConditionalBatchNorm2d(2, 3, { dtype: 'float64' });
  tt.noGrad(() => {
    cbn.weight.copy_(tt.rand([3, 2], { dtype: 'float64', generator: new tt.Generator(1) }).add(0.5));
    cbn.bias.copy_(tt.randn([3, 2], { dtype: 'float64', generator: new tt.Generator(2) }));
  });
  const x = tt.randn([3, 2, 2, 2], { dtype: 'float64', generator: new tt.Generator(3), requiresGrad: true });
  const labels = i32([2, 0, 2]);
  assert.ok(tt.gradcheck((xx) => cbn.forward(xx, labels), [x, cbn.weight, cbn.bias]));
  assert.deepEqual(Object.keys(cbn.stateDict()).sort(), [
    'bias',
    'bn.num_batches_tracked',
    'bn.running_mean',
    'bn.running_var',
    'weight',
  ]);
  assert.match(
    String(cbn),
    /^ConditionalBatchNorm2d\(\n {2}2, num_classes=3\n {2}\(bn\): BatchNorm2d\(2, .*affine=False/,
  );
});

test('ConditionalBatchNorm2d: bad input names the layer and what it expected', () => {
  const cbn = new tt.nn.ConditionalBatchNorm2d(4, 3);
  const x = tt.randn([2, 4, 3, 3]);
  assert.throws(
    () => cbn.forward(tt.randn([2, 5, 3, 3]), i32([0, 1])),
    /ConditionalBatchNorm2d: expected input \[N, 4, H, W\], got \[2, 5, 3, 3\]/,
  );
  assert.throws(() => cbn.forward(x, tt.tensor([0, 1])), /labels must be an int32 tensor \[N\], got float32 \[2\]/);
  assert.throws(() => cbn.forward(x, i32([0, 3])), /label 3 out of range \[0, 3\)/);
  assert.throws(() => cbn.forward(x, i32([0])), /1 labels for a batch of 2/);
  assert.throws(() => new tt.nn.ConditionalBatchNorm2d(4, 0), /num_classes must be an integer ≥ 1, got 0/);
});

/** A module as the fixture's PyTorch one: spectral norm applied, then weight_orig, bias, u and v loaded. */
function snModule(name: string): {
  m: tt.nn.AnyModule & { forward(x: tt.Tensor): tt.Tensor };
  c: ReturnType<typeof fx.get> & object;
} {
  const c = fx.get(name)!;
  const m =
    name === 'sn_linear'
      ? new tt.nn.Linear(5, 4)
      : name === 'sn_conv2d'
        ? new tt.nn.Conv2d(2, 3, 3, { padding: 1 })
        : new tt.nn.ConvTranspose2d(3, 2, 3, { stride: 2 });
  tt.nn.utils.spectralNorm(m, { nPowerIterations: c.params.iters as number });
  m.loadStateDict({
    weight_orig: decode(c.inputs.weight_orig),
    bias: decode(c.inputs.bias),
    weight_u: decode(c.inputs.weight_u),
    weight_v: decode(c.inputs.weight_v),
  });
  return { m, c };
}

for (const name of ['sn_linear', 'sn_conv2d', 'sn_convtranspose2d']) {
  test(`spectralNorm matches torch.nn.utils.spectral_norm: ${name}`, () => {
    const { m, c } = snModule(name);
    const x = decode(c.inputs.x, true);
    const out1 = m.forward(x) as tt.Tensor;
    assertClose(out1, c.extra[0], { atol: 1e-5, what: 'first training forward' });
    const out2 = m.forward(x) as tt.Tensor;
    assertClose(out2, c.output, { atol: 1e-5, what: 'second training forward' });
    const state = m.stateDict();
    assertClose(state.weight_u, c.extra[1], { atol: 1e-5, what: 'u after two steps' });
    assertClose(state.weight_v, c.extra[2], { atol: 1e-5, what: 'v after two steps' });
    out2.backward(decode(c.upstream!));
    assertClose(x.grad!, c.grads!.x, { atol: 1e-4, what: 'grad x' });
    const wOrig = new Map(m.namedParameters()).get('weight_orig')!;
    assertClose(wOrig.grad!, c.grads!.weight_orig, { atol: 1e-4, what: 'grad weight_orig' });
    m.eval();
    assertClose(m.forward(x) as tt.Tensor, c.extra[3], { atol: 1e-5, what: 'eval forward' });
    assertClose(m.stateDict().weight_u, state.weight_u, { atol: 0, rtol: 0, what: 'eval leaves u alone' });
  });
}

test('spectralNorm: hand-computed σ of a diagonal weight; state dict and parameters as PyTorch', () => {
  const lin = new tt.nn.Linear(2, 2, { bias: false });
  tt.noGrad(() =>
    lin.weight.copy_(
      tt.tensor([
        [3, 0],
        [0, 1],
      ]),
    ),
  );
  tt.nn.utils.spectralNorm(lin, { nPowerIterations: 30, generator: new tt.Generator(0) });
  assert.deepEqual(Object.keys(lin.stateDict()).sort(), ['weight_orig', 'weight_u', 'weight_v']);
  assert.deepEqual(
    lin.namedParameters().map(([k]) => k),
    ['weight_orig'],
  );
  const y = lin.forward(tt.tensor([[1, 1]]));
  assertClose(y.reshape([-1]), [1, 1 / 3], { atol: 1e-5 }); // W / σ with σ = 3
  assertClose((lin as unknown as { weight: tt.Tensor }).weight.reshape([-1]), [1, 0, 0, 1 / 3], { atol: 1e-5 });
  assertClose(tt.abs(lin.stateDict().weight_u), [1, 0], { atol: 1e-5 });
  // remove: weight is a parameter again, holding W/σ
  tt.nn.utils.removeSpectralNorm(lin);
  assert.deepEqual(Object.keys(lin.stateDict()), ['weight']);
  assert.ok(lin.weight instanceof tt.nn.Parameter);
  assertClose(lin.weight.reshape([-1]), [1, 0, 0, 1 / 3], { atol: 1e-5 });
  assertClose(lin.forward(tt.tensor([[1, 1]])).reshape([-1]), [1, 1 / 3], { atol: 1e-5 });
});

test('spectralNorm: gradcheck through σ (float64, eval mode: fixed u and v)', () => {
  const lin = new tt.nn.Linear(4, 3, { dtype: 'float64', generator: new tt.Generator(4) });
  tt.nn.utils.spectralNorm(lin, { generator: new tt.Generator(5) });
  lin.forward(tt.randn([1, 4], { dtype: 'float64' })); // one power-iteration step, then freeze u and v
  lin.eval();
  const w = new Map(lin.namedParameters()).get('weight_orig')!;
  const x = tt.randn([2, 4], { dtype: 'float64', generator: new tt.Generator(6), requiresGrad: true });
  assert.ok(tt.gradcheck((xx) => lin.forward(xx), [x, w, lin.bias!]));
});

test('spectralNorm: bad arguments name the op', () => {
  assert.throws(() => tt.nn.utils.spectralNorm(new tt.nn.ReLU()), /spectralNorm: ReLU has no parameter 'weight'/);
  const lin = tt.nn.utils.spectralNorm(new tt.nn.Linear(2, 2));
  assert.throws(
    () => tt.nn.utils.spectralNorm(lin),
    /cannot register two spectral_norm hooks on the same parameter 'weight'/,
  );
  assert.throws(() => tt.nn.utils.spectralNorm(new tt.nn.Linear(2, 2), { dim: 2 }), /dim must be in \[0, 2\)/);
  assert.throws(
    () => tt.nn.utils.spectralNorm(new tt.nn.Linear(2, 2), { nPowerIterations: -1 }),
    /nPowerIterations must be a non-negative integer/,
  );
  assert.throws(() => tt.nn.utils.removeSpectralNorm(new tt.nn.Linear(2, 2)), /spectral_norm of 'weight' not found/);
});

test('ConditionalGenerator({ conditionalNorm }) and ProjectionDiscriminator({ spectralNorm })', () => {
  tt.manualSeed(3);
  const G = new tt.models.ConditionalGenerator(10, { width: 4, conditionalNorm: true });
  const keys = Object.keys(G.stateDict());
  assert.ok(keys.includes('net.1.weight') && keys.includes('net.1.bn.running_mean'), keys.join(' '));
  assert.deepEqual(G.stateDict()['net.1.weight'].shape, [10, 16]); // one gain per class and channel
  const z = tt.randn([4, 100]);
  const y = i32([0, 1, 2, 3]);
  assert.deepEqual(G.forward(z, y).shape, [4, 1, 28, 28]);
  // the label reaches the normalisations: with the embedding fixed, changing one class's CBN bias moves only its sample
  G.eval();
  const before = G.forward(z, y);
  const cbn = [...G.net.children()][1] as tt.nn.ConditionalBatchNorm2d;
  tt.noGrad(() => cbn.bias.narrow(0, 2, 1).add_(1));
  const diff = G.forward(z, y).sub(before).abs().sum([1, 2, 3]).toArray() as number[];
  assert.ok(diff[2] > 1e-3 && diff[0] === 0 && diff[1] === 0 && diff[3] === 0, `${diff}`);

  const D = new tt.models.ProjectionDiscriminator(10, { width: 4, labelMaps: true, spectralNorm: true });
  const dk = Object.keys(D.stateDict());
  for (const k of ['body.0.weight_orig', 'body.2.weight_u', 'body.4.weight_v', 'linear.weight_orig'])
    assert.ok(dk.includes(k), `${k} missing from ${dk.join(' ')}`);
  const logits = D.forward(tt.rand([4, 1, 28, 28]), y);
  assert.deepEqual(logits.shape, [4]);
  logits.sum().backward();
  assert.ok(new Map(D.namedParameters()).get('body.0.weight_orig')!.grad, 'no gradient reaches weight_orig');
});
