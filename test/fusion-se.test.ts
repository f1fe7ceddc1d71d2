/**
 * Squeeze-excitation's gate under `nn.fuse` in inference (`squeezeExcitationGate` in nn/fusion.ts): the pooling
 * and both 1×1 convolutions call their kernels directly, fc1's activation in the epilogue. The outputs must be
 * bitwise those of the modules (same kernels, same operands), and every case the shortcut cannot honour — grad
 * mode, hooks, a subclass, an activation with no epilogue form — must run the modules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

type SeOpts = tt.nn.SqueezeExcitationOptions;

/** A fused Sequential [conv, SE] (the conv hands its output over, so the gate scales it in place) and its input. */
function seNet(c: number, squeeze: number, opts: SeOpts, seed: number) {
  tt.manualSeed(seed);
  const se = new tt.nn.SqueezeExcitation(c, squeeze, opts);
  // weights large enough that fc1's pre-activations and the gates cross the activations' bends
  tt.noGrad(() => {
    for (const p of se.parameters()) p.copy_(tt.randn(p.shape).mul(1.5));
  });
  const net = new tt.nn.Sequential(new tt.nn.Conv2d(3, c, 3, { padding: 1, dtype: opts.dtype }), se).eval();
  const x = tt.randn([2, 3, 9, 7]);
  return { net, se, x: opts.dtype === 'float64' ? x.to('float64') : x };
}

function gateCount(): number {
  return tt.nn.fusionCounts().squeezeExcitationGate;
}

test('squeeze-excitation gate: bitwise the modules, with ReLU/Sigmoid, Hardswish/Hardsigmoid, ReLU6', () => {
  const cases: [string, SeOpts][] = [
    ['ReLU, Sigmoid (torchvision default)', {}],
    ['ReLU, Hardsigmoid (MobileNetV3)', { scaleActivation: tt.nn.Hardsigmoid }],
    ['Hardswish, Hardsigmoid', { activation: tt.nn.Hardswish, scaleActivation: tt.nn.Hardsigmoid }],
    ['ReLU6, Sigmoid', { activation: tt.nn.ReLU6 }],
  ];
  for (const [i, [what, opts]] of cases.entries()) {
    const { net, x } = seNet(12, 5, opts, 10 + i);
    const plain = tt.noGrad(() => net.forward(x)).toTypedArray();
    tt.nn.fuse(net);
    tt.nn.resetFusionCounts();
    const fused = tt.noGrad(() => net.forward(x)).toTypedArray();
    assert.equal(gateCount(), 1, `${what}: the gate ran`);
    assert.deepEqual(fused, plain, what);
  }
});

test('squeeze-excitation gate: float64 and a batch of one agree with the modules too', () => {
  const { net, x } = seNet(6, 3, { scaleActivation: tt.nn.Hardsigmoid, dtype: 'float64' }, 3);
  const x64 = x.narrow(0, 0, 1);
  const plain = tt.noGrad(() => net.forward(x64)).toTypedArray();
  tt.nn.fuse(net);
  tt.nn.resetFusionCounts();
  const fused = tt.noGrad(() => net.forward(x64));
  assert.equal(fused.dtype, 'float64');
  assert.equal(gateCount(), 1);
  assert.deepEqual(fused.toTypedArray(), plain);
});

test('squeeze-excitation gate: the modules run wherever the shortcut would skip something', () => {
  const check = (what: string, prepare: (se: tt.nn.SqueezeExcitation) => void, grad = false) => {
    const { net, se, x } = seNet(8, 4, { scaleActivation: tt.nn.Hardsigmoid }, 7);
    const plain = tt.noGrad(() => net.forward(x)).toTypedArray();
    prepare(se);
    tt.nn.fuse(net);
    tt.nn.resetFusionCounts();
    const out = grad ? net.forward(x) : tt.noGrad(() => net.forward(x));
    assert.equal(gateCount(), 0, `${what}: no shortcut`);
    assert.deepEqual(out.toTypedArray(), plain, what);
  };
  let calls = 0;
  check('a forward hook on fc1', (se) => se.fc1.registerForwardHook(() => void calls++));
  assert.equal(calls, 1, 'the hook saw its call');
  check('a pre-hook on the pooling', (se) => se.avgpool.registerForwardPreHook(() => void calls++));
  assert.equal(calls, 2);
  check('grad mode on', () => {}, true);
  // a fc1 that is not 1×1 on the pixel (3×3 with padding 1 computes something else on a 1×1 map: only the centre tap)
  {
    const { net, se, x } = seNet(8, 4, {}, 9);
    se.registerModule('fc1', new tt.nn.Conv2d(8, 4, 3, { padding: 1 }));
    const plain = tt.noGrad(() => net.forward(x)).toTypedArray();
    tt.nn.fuse(net);
    tt.nn.resetFusionCounts();
    assert.deepEqual(tt.noGrad(() => net.forward(x)).toTypedArray(), plain, '3×3 fc1');
    assert.equal(gateCount(), 0, '3×3 fc1: no shortcut');
  }
});

test('squeeze-excitation gate: an activation without an epilogue form (SiLU, with a hook) runs as its module', () => {
  const { net, se, x } = seNet(8, 4, { activation: tt.nn.SiLU }, 8);
  const plain = tt.noGrad(() => net.forward(x)).toTypedArray();
  let seen = 0;
  se.activation.registerForwardHook(() => void seen++);
  tt.nn.fuse(net);
  tt.nn.resetFusionCounts();
  assert.deepEqual(tt.noGrad(() => net.forward(x)).toTypedArray(), plain, 'SiLU');
  assert.equal(gateCount(), 1);
  assert.equal(seen, 1, 'the activation ran as its module, hooks and all');
});

test('squeeze-excitation gate: a subclass that changes scale() keeps its own', () => {
  class HalfGate extends tt.nn.SqueezeExcitation {
    override scale(x: tt.Tensor): tt.Tensor {
      return super.scale(x).mul(0.5);
    }
  }
  tt.manualSeed(2);
  const se = new HalfGate(4, 2);
  const x = tt.randn([1, 4, 5, 5]);
  const plain = tt.noGrad(() => se.forward(x)).toTypedArray();
  tt.nn.fuse(se);
  tt.nn.resetFusionCounts();
  assert.deepEqual(tt.noGrad(() => se.forward(x)).toTypedArray(), plain);
  assert.equal(gateCount(), 0);
});

test('MobileNetV3-Large: all eight squeeze-excitation gates take the shortcut; logits as the modules give them', () => {
  tt.manualSeed(4);
  const m = tt.models.mobilenet_v3_large({ numClasses: 10 }).eval();
  const x = tt.randn([1, 3, 64, 64]);
  tt.nn.fuse(m);
  tt.nn.resetFusionCounts();
  const fused = tt.noGrad(() => m.forward(x)).toTypedArray();
  assert.equal(gateCount(), 8);
  // the same fused model with every gate forced through its modules (a forward hook on each fc1 that changes
  // nothing); that also keeps the model off the channels-last program (models/fusion-nhwc.ts), whose sums run in
  // another order, so the logits agree to float32 rounding rather than bitwise (the bitwise checks are above)
  for (const [, mod] of m.namedModules())
    if (mod instanceof tt.nn.SqueezeExcitation) mod.fc1.registerForwardHook(() => undefined);
  tt.nn.resetFusionCounts();
  const hooked = tt.noGrad(() => m.forward(x)).toTypedArray();
  const scale = Math.max(...fused.map(Math.abs));
  for (let i = 0; i < fused.length; i++)
    assert.ok(Math.abs(hooked[i] - fused[i]) <= 2e-5 * scale, `logit ${i}: ${hooked[i]} vs ${fused[i]}`);
  assert.equal(gateCount(), 0);
});
