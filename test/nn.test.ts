import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { conv2dReluMaxPool2d } from '../src/ops/fused.ts';
import {
  assertClose,
  decode,
  forEachBackend,
  inputsOf,
  loadFixtures,
  rand64,
  type EncodedTensor,
  type FixtureCase,
} from './helpers.ts';

const { nn } = tt;
const fx = loadFixtures('nn');

interface ModuleCase extends FixtureCase {
  state: Record<string, EncodedTensor>;
  repr: string;
  buffers_after: Record<string, EncodedTensor>;
  param_grads?: Record<string, EncodedTensor>;
}

function smallNet(): tt.nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }),
    new nn.BatchNorm2d(4),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(4 * 3 * 3, 5),
  );
}

/**
 * Builds the Tatami module, checks its state-dict keys/shapes equal PyTorch's, loads PyTorch's values, runs the
 * case and compares output, extra outputs, input and parameter gradients, and buffers after the forward.
 */
function checkModule(
  name: string,
  module: tt.nn.AnyModule,
  call: (m: tt.nn.AnyModule, inputs: Record<string, tt.Tensor>) => tt.Tensor | [tt.Tensor, tt.Tensor | null],
  tol: { atol?: number; rtol?: number; repr?: boolean } = {},
): void {
  const c = fx.get(name) as ModuleCase;
  assert.ok(c, `fixture ${name}`);
  const sd = module.stateDict();
  assert.deepEqual(Object.keys(sd), Object.keys(c.state), `${name}: state-dict keys (names and order) match PyTorch's`);
  for (const [k, t] of Object.entries(sd)) assert.deepEqual(t.shape, c.state[k].shape, `${name}: shape of ${k}`);
  const loaded: Record<string, tt.Tensor> = {};
  for (const [k, e] of Object.entries(c.state)) loaded[k] = decode(e);
  const res = module.loadStateDict(loaded);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  const inputs = inputsOf(c);
  const result = call(module, inputs);
  const outs = Array.isArray(result) ? result : [result];
  assertClose(outs[0], c.output, { ...tol, what: `${name} output` });
  c.extra.forEach((e, i) => assertClose(outs[i + 1]!, e, { ...tol, what: `${name} extra ${i}` }));
  const after = module.stateDict();
  for (const [k, e] of Object.entries(c.buffers_after))
    assertClose(after[k], e, { ...tol, what: `${name} buffer ${k} after forward` });
  if (c.upstream) {
    outs[0].backward(decode(c.upstream));
    for (const [k, g] of Object.entries(c.grads ?? {}))
      assertClose(inputs[k].grad!, g, { atol: 1e-4, rtol: 1e-3, what: `${name} grad ${k}` });
    const params = Object.fromEntries(module.namedParameters());
    for (const [k, g] of Object.entries(c.param_grads ?? {})) {
      assert.ok(params[k].grad, `${name}: no gradient for parameter ${k}`);
      // The state was loaded before this forward; PyTorch's parameter grads come from a second identical forward.
      assertClose(params[k].grad!, g, { atol: 1e-4, rtol: 1e-3, what: `${name} grad of ${k}` });
    }
  }
  if (tol.repr !== false) assert.equal(module.toString(), c.repr, `${name}: repr`);
}

const fwd = (m: tt.nn.AnyModule, i: Record<string, tt.Tensor>) => m.forward(...Object.values(i)) as tt.Tensor;

test('small net (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear): PyTorch state dict loads; eval and train outputs match', () => {
  forEachBackend(() => {
    checkModule('small_net_eval', smallNet().eval(), fwd);
    checkModule('small_net_train', smallNet(), fwd);
  });
});

test('layers vs PyTorch: conv, transposed conv, linear', () => {
  forEachBackend(() => {
    checkModule(
      'conv2d_groups_reflect',
      new nn.Conv2d(4, 6, [3, 2], {
        stride: [2, 1],
        padding: [1, 2],
        dilation: [1, 2],
        groups: 2,
        paddingMode: 'reflect',
      }),
      fwd,
    );
    checkModule('conv2d_same_nobias', new nn.Conv2d(3, 2, 3, { padding: 'same', bias: false }), fwd);
    checkModule(
      'conv_transpose2d_output_size',
      new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, groups: 2 }),
      (m, i) => (m as tt.nn.ConvTranspose2d).forward(i.x, [6, 6]),
    );
    checkModule('linear', new nn.Linear(5, 3), fwd);
  });
});

test('normalisation layers vs PyTorch (running stats, cumulative momentum, no-affine, eval without stats)', () => {
  forEachBackend(() => {
    checkModule('batchnorm2d_cumulative', new nn.BatchNorm2d(3, { momentum: null }), fwd);
    checkModule('batchnorm1d_noaffine', new nn.BatchNorm1d(4, { momentum: 0.3, affine: false }), fwd);
    checkModule('batchnorm2d_no_running_stats_eval', new nn.BatchNorm2d(3, { trackRunningStats: false }).eval(), fwd);
    checkModule(
      'instancenorm2d_affine_tracking',
      new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true }),
      fwd,
    );
    checkModule('groupnorm', new nn.GroupNorm(2, 4), fwd);
    checkModule('layernorm', new nn.LayerNorm([3, 4]), fwd);
    checkModule('local_response_norm', new nn.LocalResponseNorm(3, { alpha: 0.01, beta: 0.5, k: 2 }), fwd);
  });
});

test('MultiheadAttention vs PyTorch: batch-first with key padding mask; self-attention with float mask and per-head weights', () => {
  forEachBackend(() => {
    const kpm = tt.tensor(
      [
        [0, 0, 0, 1],
        [0, 1, 0, 0],
      ],
      { dtype: 'bool' },
    );
    checkModule('mha_batch_first_padding', new nn.MultiheadAttention(8, 2, { batchFirst: true }), (m, i) =>
      (m as tt.nn.MultiheadAttention).forward(i.q, i.k, i.v, { keyPaddingMask: kpm }),
    );
    const mask = tt.tensor(fx.get('mha_self_attn_mask_per_head')!.params.attn_mask as number[][]);
    checkModule('mha_self_attn_mask_per_head', new nn.MultiheadAttention(6, 3, { bias: false }), (m, i) =>
      (m as tt.nn.MultiheadAttention).forward(i.x, i.x, i.x, { attnMask: mask, averageAttnWeights: false }),
    );
  });
});

test('SqueezeExcitation, FReLU and NonLocal2d vs PyTorch references', () => {
  forEachBackend(() => {
    checkModule(
      'squeeze_excitation_hardsigmoid',
      new nn.SqueezeExcitation(6, 3, { scaleActivation: nn.Hardsigmoid }),
      fwd,
    );
    checkModule('frelu_eval', new nn.FReLU(3).eval(), fwd);
    checkModule('frelu_train', new nn.FReLU(3), fwd);
    // The reference is a plain torch module without an extra_repr, so only the numbers are compared.
    checkModule('nonlocal2d', new nn.NonLocal2d(4, { innerChannels: 2 }), fwd, { repr: false });
  });
});

test('toString matches PyTorch reprs', () => {
  const expected = fx.get('reprs')!.params as Record<string, string>;
  const mods: Record<string, tt.nn.AnyModule> = {
    conv: new nn.Conv2d(1, 32, 3, { padding: 1 }),
    conv_full: new nn.Conv2d(4, 8, [3, 5], {
      stride: 2,
      padding: [1, 2],
      dilation: 2,
      groups: 4,
      bias: false,
      paddingMode: 'circular',
    }),
    convt: new nn.ConvTranspose2d(8, 4, 4, { stride: 2, padding: 1, outputPadding: 1 }),
    bn: new nn.BatchNorm2d(16),
    bn_none: new nn.BatchNorm1d(3, { momentum: null, affine: false }),
    in: new nn.InstanceNorm2d(3),
    gn: new nn.GroupNorm(2, 8, { eps: 1e-3 }),
    ln: new nn.LayerNorm(8),
    lrn: new nn.LocalResponseNorm(5),
    maxpool: new nn.MaxPool2d(2),
    maxpool_full: new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    avgpool: new nn.AvgPool2d(2),
    adaptive: new nn.AdaptiveAvgPool2d([1, 1]),
    adaptive_int: new nn.AdaptiveMaxPool2d(7),
    unpool: new nn.MaxUnpool2d(2),
    dropout: new nn.Dropout(0.25),
    dropout2d: new nn.Dropout2d(),
    leaky: new nn.LeakyReLU(0.2),
    elu: new nn.ELU(),
    gelu: new nn.GELU({ approximate: 'tanh' }),
    hardtanh: new nn.Hardtanh(-2, 2),
    softplus: new nn.Softplus(),
    softmax: new nn.Softmax(1),
    upsample: new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }),
    upsample_size: new nn.Upsample({ size: [4, 6] }),
    flatten: new nn.Flatten(),
    linear: new nn.Linear(4, 2),
    identity: new nn.Identity(),
    mha: new nn.MultiheadAttention(8, 2),
    se: new nn.SqueezeExcitation(8, 2),
    net: smallNet(),
    named: new nn.Sequential({ conv: new nn.Conv2d(1, 2, 3), act: new nn.ReLU6() }),
    prelu: new nn.PReLU(3),
  };
  for (const [k, m] of Object.entries(mods)) assert.equal(m.toString(), expected[k], `repr of ${k}`);
});

class TwoLayer extends nn.Module {
  features = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU());
  scale = new nn.Parameter(tt.ones([1]));
  head: tt.nn.Linear = new nn.Linear(2, 3);

  forward(x: tt.Tensor): tt.Tensor {
    const f = this.features.forward(x).mean([2, 3]);
    return this.head.forward(f.mul(this.scale));
  }
}

test('Module registration: fields discovered in order, dotted PyTorch names, snake_case buffers with camelCase accessors', () => {
  const m = new TwoLayer();
  assert.deepEqual(
    m.namedParameters().map(([k]) => k),
    [
      'scale',
      'features.0.weight',
      'features.0.bias',
      'features.1.weight',
      'features.1.bias',
      'head.weight',
      'head.bias',
    ],
  );
  assert.deepEqual(Object.keys(m.stateDict()), [
    'scale',
    'features.0.weight',
    'features.0.bias',
    'features.1.weight',
    'features.1.bias',
    'features.1.running_mean',
    'features.1.running_var',
    'features.1.num_batches_tracked',
    'head.weight',
    'head.bias',
  ]);
  assert.deepEqual(
    m.namedModules().map(([k]) => k),
    ['', 'features', 'features.0', 'features.1', 'features.2', 'head'],
  );
  assert.deepEqual(
    m.namedChildren().map(([k]) => k),
    ['features', 'head'],
  );
  assert.deepEqual(
    m.namedBuffers().map(([k]) => k),
    ['features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked'],
  );
  const bn = m.features[1] as tt.nn.BatchNorm2d;
  assert.ok(bn.runningMean instanceof tt.Tensor);
  assert.equal(
    bn.runningMean,
    (bn as unknown as Record<string, unknown>).running_mean,
    'camelCase accessor reaches the snake_case buffer',
  );
  assert.equal(m.stateDict()['features.1.running_mean'].storage, bn.runningMean!.storage);
  assert.equal(bn.numBatchesTracked!.dtype, 'int32');
  assert.ok(m.parameters().every((p) => p instanceof nn.Parameter && p instanceof tt.Tensor && p.requiresGrad));
  assert.equal(m.getParameter('head.bias'), m.head.bias);
  assert.throws(() => m.getSubmodule('features.7'), /has no submodule '7'/);
  // Replacing the head (transfer learning) re-registers it.
  m.head = new nn.Linear(2, 10);
  assert.deepEqual(m.stateDict()['head.weight'].shape, [10, 2]);
  assert.throws(() => {
    (m as unknown as { head: unknown }).head = tt.ones([2]);
  }, /cannot assign 'Tensor' as child module 'head'/);
  assert.throws(() => {
    (bn as unknown as { weight: unknown }).weight = tt.ones([2]);
  }, /nn.Parameter or null expected/);
  // Non-persistent buffers are not state; a shared module is listed once.
  const lin = new nn.Linear(2, 2);
  class Shared extends nn.Module {
    a = lin;
    b = lin;
    constructor() {
      super();
      this.registerBuffer('cache', tt.zeros([2]), false);
      this.registerBuffer('step_count', tt.zeros([1]));
    }

    forward(x: tt.Tensor) {
      return this.b.forward(this.a.forward(x));
    }
  }
  const s = new Shared();
  assert.equal(s.parameters().length, 2);
  assert.deepEqual(Object.keys(s.stateDict()), ['step_count', 'a.weight', 'a.bias', 'b.weight', 'b.bias']);
  assert.deepEqual(
    s.namedBuffers().map(([k]) => k),
    ['cache', 'step_count'],
  );
  assert.ok((s as unknown as { stepCount: tt.Tensor }).stepCount instanceof tt.Tensor);
  // stateDict shares storage (detached); Parameter shares storage with its data.
  const data = tt.ones([3]);
  const p = new nn.Parameter(data);
  assert.equal(p.storage, data.storage);
  assert.equal(lin.stateDict().weight.storage, lin.weight.storage);
  assert.equal(lin.stateDict().weight.requiresGrad, false);
  assert.equal(m.numParameters(), 2 * 9 + 2 + 2 + 2 + 1 + 10 * 2 + 10);
});

test('loadStateDict: clear errors for missing/unexpected keys and shape mismatches; strict=false reports keys', () => {
  const net = smallNet();
  const sd = net.stateDict();
  const other = smallNet();
  const res = other.loadStateDict(sd);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual(other.stateDict()['0.weight'].tolist(), sd['0.weight'].tolist());
  assert.notEqual(other.stateDict()['0.weight'].storage, sd['0.weight'].storage, 'values are copied');
  const { ['5.bias']: _drop, ...missing } = sd;
  assert.throws(
    () => other.loadStateDict({ ...missing, extra: tt.ones([1]) }),
    (e: Error) =>
      /Error\(s\) in loading state_dict for Sequential/.test(e.message) &&
      /Unexpected key\(s\) in state_dict: "extra"/.test(e.message) &&
      /Missing key\(s\) in state_dict: "5.bias"/.test(e.message),
  );
  assert.deepEqual(other.loadStateDict({ ...missing, extra: tt.ones([1]) }, false), {
    missingKeys: ['5.bias'],
    unexpectedKeys: ['extra'],
  });
  assert.throws(
    () => other.loadStateDict({ ...sd, '5.weight': tt.ones([5, 4]) }, false),
    /size mismatch for 5.weight: copying a param with shape \[5, 4\] from checkpoint, the shape in current model is \[5, 36\]/,
  );
});

test('forward hooks and pre-hooks run on every call (model.forward, nested forward, call) and can be removed', () => {
  const m = new TwoLayer();
  const seen: string[] = [];
  const h1 = m.features.registerForwardHook((mod, inputs, out) => {
    seen.push(`features ${inputs[0].shape} -> ${out.shape}`);
  });
  const conv = m.features[0] as tt.nn.Conv2d;
  const h2 = conv.registerForwardHook((_mod, _inp, out) => out.mul(0));
  const x = tt.randn([2, 1, 5, 5]);
  const y = m.forward(x);
  assert.deepEqual(seen, ['features 2,1,5,5 -> 2,2,3,3']);
  // The conv output was replaced by zeros: batch norm of a constant is 0, relu 0, so y = head bias.
  assertClose(y, [...m.head.bias!.tolist(), ...m.head.bias!.tolist()], { atol: 1e-6 });
  h2();
  h1.remove();
  m.call(x);
  assert.equal(seen.length, 1, 'removed hook does not fire');
  const pre = m.head.registerForwardPreHook((_mod, [inp]) => [inp.mul(0)]);
  assertClose(m.head.forward(tt.ones([1, 2])), m.head.bias!.tolist(), { atol: 0 });
  pre();
  // Feature-map capture for Grad-CAM: the hooked activation keeps its graph.
  let act: tt.Tensor | null = null;
  m.features[2].registerForwardHook((_m, _i, out) => {
    act = out as tt.Tensor;
    (act as tt.Tensor).retainGrad();
  });
  m.forward(x).sum().backward();
  assert.ok(act && (act as tt.Tensor).grad, 'activation gradient retained');
});

test('train/eval switch Dropout and BatchNorm; freezing with requiresGrad_(false) excludes parameters from gradients', () => {
  const m = new nn.Sequential(
    new nn.Linear(4, 4),
    new nn.Dropout(0.5, { generator: new tt.Generator(1) }),
    new nn.BatchNorm1d(4),
  );
  assert.ok(m.modules().every((mod) => mod.training));
  m.eval();
  assert.ok(m.modules().every((mod) => !mod.training));
  const x = tt.randn([8, 4], { generator: new tt.Generator(2) });
  const drop = m[1];
  assert.deepEqual((drop.forward(x) as tt.Tensor).tolist(), x.tolist(), 'dropout is the identity in eval');
  m.train();
  const d = (drop.forward(x) as tt.Tensor).tolist();
  const zeros = d.filter((v) => v === 0).length;
  assert.ok(zeros > 4 && zeros < 28, `about half dropped, got ${zeros}/32`);
  d.forEach((v, i) => assert.ok(v === 0 || Math.abs(v - 2 * x.tolist()[i]) < 1e-6));
  const bn = m[2] as tt.nn.BatchNorm1d;
  const before = bn.runningMean!.tolist();
  const yTrain = bn.forward(x);
  assertClose(yTrain.mean(0), [0, 0, 0, 0], { atol: 1e-5 });
  assert.notDeepEqual(bn.runningMean!.tolist(), before);
  assert.equal(bn.numBatchesTracked!.item(), 1);
  bn.eval();
  const rm = bn.runningMean!.tolist();
  bn.forward(x);
  assert.deepEqual(bn.runningMean!.tolist(), rm, 'eval does not update running statistics');
  assert.equal(bn.numBatchesTracked!.item(), 1);

  const net = new TwoLayer();
  net.features.requiresGrad_(false);
  assert.equal(net.numParameters(true), 1 + 2 * 3 + 3);
  net
    .forward(tt.randn([2, 1, 4, 4]))
    .sum()
    .backward();
  assert.ok(net.features.parameters().every((p) => p.grad === null && !p.requiresGrad));
  assert.ok(net.head.weight.grad !== null && net.scale.grad !== null);
  net.zeroGrad(false);
  assert.deepEqual(net.head.weight.grad!.tolist(), new Array(6).fill(0));
  net.zeroGrad();
  assert.equal(net.head.weight.grad, null);
});

test('default initialisation matches PyTorch: Conv/Linear U(±1/√fan_in), BN ones/zeros, MHA xavier + zero biases', () => {
  const g = new tt.Generator(7);
  const conv = new nn.Conv2d(16, 64, 3, { generator: g });
  const bound = 1 / Math.sqrt(16 * 9); // kaiming_uniform_(a=√5): gain·√(3/fan_in) = √(1/3)·√3/√fan_in
  const w = conv.weight.tolist();
  assert.ok(w.every((v) => Math.abs(v) <= bound));
  const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
  assert.ok(
    Math.abs(variance - (bound * bound) / 3) / ((bound * bound) / 3) < 0.05,
    `weight variance ${variance} vs ${(bound * bound) / 3}`,
  );
  assert.ok(Math.max(...w.map(Math.abs)) > 0.95 * bound, 'fills the whole interval');
  assert.ok(conv.bias!.tolist().every((v) => Math.abs(v) <= bound));
  const lin = new nn.Linear(50, 200);
  assert.ok(lin.weight.tolist().every((v) => Math.abs(v) <= 1 / Math.sqrt(50)));
  const ct = new nn.ConvTranspose2d(8, 4, 3);
  assert.ok(
    ct.weight.tolist().every((v) => Math.abs(v) <= 1 / Math.sqrt(4 * 9)),
    'transposed conv fan_in is weight.size(1)·k·k',
  );
  const bn = new nn.BatchNorm2d(3);
  assert.deepEqual(
    [bn.weight!.tolist(), bn.bias!.tolist(), bn.runningMean!.tolist(), bn.runningVar!.tolist()],
    [
      [1, 1, 1],
      [0, 0, 0],
      [0, 0, 0],
      [1, 1, 1],
    ],
  );
  const mha = new nn.MultiheadAttention(16, 4);
  const a = Math.sqrt(6 / (16 + 48));
  assert.ok(mha.inProjWeight.tolist().every((v) => Math.abs(v) <= a));
  assert.ok(mha.inProjBias!.tolist().every((v) => v === 0) && mha.outProj.bias!.tolist().every((v) => v === 0));
  // Same generator seed, same weights.
  assert.deepEqual(
    new nn.Linear(3, 2, { generator: new tt.Generator(5) }).weight.tolist(),
    new nn.Linear(3, 2, { generator: new tt.Generator(5) }).weight.tolist(),
  );
});

test('nn.init: gains, fan modes, distributions, generator, works on parameters; errors', () => {
  const { init } = nn;
  assert.equal(init.calculateGain('relu'), Math.SQRT2);
  assert.equal(init.calculateGain('tanh'), 5 / 3);
  assert.equal(init.calculateGain('conv2d'), 1);
  assert.equal(init.calculateGain('selu'), 0.75);
  assert.ok(Math.abs(init.calculateGain('leaky_relu', Math.sqrt(5)) - Math.sqrt(1 / 3)) < 1e-12);
  assert.ok(Math.abs(init.calculateGain('leaky_relu') - Math.sqrt(2 / 1.0001)) < 1e-12);
  const p = new nn.Parameter(tt.zeros([256, 128, 3, 3]));
  const stats = (t: tt.Tensor) => {
    const v = t.tolist();
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    let min = Infinity;
    let max = -Infinity;
    for (const x of v) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    return { mean, std: Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length), min, max };
  };
  const g = new tt.Generator(3);
  init.kaimingNormal_(p, { mode: 'fanOut', nonlinearity: 'relu', generator: g });
  let s = stats(p);
  assert.ok(
    Math.abs(s.std - Math.SQRT2 / Math.sqrt(256 * 9)) / (Math.SQRT2 / Math.sqrt(256 * 9)) < 0.02,
    `kaimingNormal_ std ${s.std}`,
  );
  init.kaimingUniform_(p, { nonlinearity: 'relu', generator: g });
  s = stats(p);
  const kb = Math.SQRT2 * Math.sqrt(3 / (128 * 9));
  assert.ok(s.max <= kb && s.min >= -kb && s.max > 0.99 * kb);
  init.xavierNormal_(p, { gain: 2, generator: g });
  assert.ok(
    Math.abs(stats(p).std - 2 * Math.sqrt(2 / (128 * 9 + 256 * 9))) < 0.02 * 2 * Math.sqrt(2 / (128 * 9 + 256 * 9)),
  );
  init.truncNormal_(p, 1, 2, -1, 2, g);
  s = stats(p);
  assert.ok(s.min >= -1 && s.max <= 2, 'truncated to [a, b]');
  // Mean of N(1, 2²) truncated to [−1, 2]: μ + σ(φ(α) − φ(β))/(Φ(β) − Φ(α)) with α = −1, β = 0.5.
  const phi = (z: number) => Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  const expectedMean = 1 + (2 * (phi(-1) - phi(0.5))) / (0.691462461 - 0.158655254);
  assert.ok(Math.abs(s.mean - expectedMean) < 0.01, `truncNormal_ mean ${s.mean} vs ${expectedMean}`);
  init.uniform_(p, -3, -2, g);
  s = stats(p);
  assert.ok(s.min >= -3 && s.max < -2);
  init.constant_(p, 0.5);
  assert.ok(p.tolist().every((v) => v === 0.5));
  assert.ok(p.requiresGrad && p.isLeaf, 'initialisers keep the parameter a leaf that requires grad');
  const e = init.eye_(tt.zeros([2, 3]));
  assert.deepEqual(e.toArray(), [
    [1, 0, 0],
    [0, 1, 0],
  ]);
  const a1 = init.normal_(tt.zeros([5]), 0, 1, new tt.Generator(9)).tolist();
  assert.deepEqual(init.normal_(tt.zeros([5]), 0, 1, new tt.Generator(9)).tolist(), a1);
  assert.throws(() => init.kaimingUniform_(tt.zeros([5])), /fewer than 2 dimensions/);
  assert.throws(() => init.calculateGain('swish' as 'relu'), /unsupported nonlinearity 'swish'/);
  // A strided view is initialised in place.
  const big = tt.zeros([4, 4]);
  init.constant_(big.T.narrow(0, 1, 2), 7);
  assert.deepEqual(big.toArray(), [
    [0, 7, 7, 0],
    [0, 7, 7, 0],
    [0, 7, 7, 0],
    [0, 7, 7, 0],
  ]);
});

test('clear errors: Linear feature mismatch, Conv2d groups and channels, BatchNorm rank, MHA divisibility', () => {
  assert.throws(
    () => new nn.Linear(3, 2).forward(tt.ones([4, 5])),
    /linear: input \[4, 5\] has 5 features but weight \[2, 3\] expects 3/,
  );
  assert.throws(
    () => new nn.Conv2d(3, 6, 3, { groups: 2 }),
    /Conv2d: in_channels \(3\) must be divisible by groups \(2\)/,
  );
  assert.throws(() => new nn.Conv2d(4, 6, 3, { groups: 4 }), /out_channels \(6\) must be divisible by groups \(4\)/);
  assert.throws(
    () => new nn.Conv2d(4, 6, 3, { padding: 'same', stride: 2 }),
    /padding='same' is not supported for strided convolutions/,
  );
  assert.throws(
    () => new nn.Conv2d(3, 8, 3).forward(tt.ones([1, 1, 5, 5])),
    /Conv2d: input \[1, 1, 5, 5\] has 1 channels but this layer expects 3/,
  );
  assert.throws(
    () => new nn.BatchNorm2d(3).forward(tt.ones([2, 3, 4])),
    /BatchNorm2d: expected 4D input \(got 3D input/,
  );
  assert.throws(() => new nn.MultiheadAttention(10, 3), /embed_dim \(10\) must be divisible by num_heads \(3\)/);
  assert.throws(() => new nn.GroupNorm(3, 8), /num_channels \(8\) must be divisible by num_groups \(3\)/);
  assert.throws(() => new nn.Dropout(1.5), /between 0 and 1/);
  assert.throws(() => new nn.ModuleList([new nn.ReLU()]).forward(), /ModuleList has no forward/);
});

test('containers: Sequential indexing, append/insert/pop/slice, named records; ModuleList and ModuleDict register children', () => {
  const s = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
  s.append(new nn.Linear(3, 1));
  assert.equal(s.length, 3);
  assert.ok(s[2] instanceof nn.Linear && s.at(-1) === s[2]);
  assert.deepEqual(s.forward(tt.ones([4, 2])).shape, [4, 1]);
  s.insert(1, new nn.Dropout(0.1));
  assert.deepEqual(
    s.namedChildren().map(([k, m]) => `${k}:${m.constructor.name}`),
    ['0:Linear', '1:Dropout', '2:ReLU', '3:Linear'],
  );
  assert.ok(s.pop(1) instanceof nn.Dropout);
  assert.deepEqual(Object.keys(s.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.equal([...s].length, 3);
  const head = s.slice(0, 2);
  assert.equal(head.length, 2);
  assert.equal(head[0], s[0], 'slice shares modules');
  const named = new nn.Sequential({ conv: new nn.Conv2d(1, 2, 3), act: new nn.ReLU() });
  assert.deepEqual(Object.keys(named.stateDict()), ['conv.weight', 'conv.bias']);
  assert.ok((named as unknown as { conv: unknown }).conv instanceof nn.Conv2d);
  const list = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 1)]);
  class WithList extends nn.Module {
    blocks = list;
    forward(x: tt.Tensor) {
      for (const b of this.blocks) x = b.forward(x) as tt.Tensor;
      return x;
    }
  }
  assert.deepEqual(Object.keys(new WithList().stateDict()), [
    'blocks.0.weight',
    'blocks.0.bias',
    'blocks.1.weight',
    'blocks.1.bias',
  ]);
  const dict = new nn.ModuleDict({ a: new nn.Linear(1, 2), b: new nn.ReLU() });
  assert.deepEqual(dict.keys(), ['a', 'b']);
  assert.ok(dict.get('a') instanceof nn.Linear);
  dict.pop('a');
  assert.deepEqual(Object.keys(dict.stateDict()), []);
  assert.throws(() => dict.get('a'), /no module named 'a'/);
});

test('loss modules wrap the functional losses; Flooding = |L − b| + b flips the gradient below the flood level', () => {
  const logits = tt.tensor(
    [
      [2, 0.5, -1],
      [0.1, 0.2, 3],
    ],
    { requiresGrad: true },
  );
  const target = tt.tensor([0, 2], { dtype: 'int32' });
  const ce = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
  assert.equal(ce.forward(logits, target).item(), tt.F.crossEntropy(logits, target, { labelSmoothing: 0.1 }).item());
  const w = tt.tensor([1, 2, 3]);
  const wce = new nn.CrossEntropyLoss({ weight: w });
  assert.deepEqual(Object.keys(wce.stateDict()), ['weight']);
  assert.equal(
    new nn.NLLLoss().forward(logits.logSoftmax(1), target).item(),
    tt.F.nllLoss(logits.logSoftmax(1), target).item(),
  );
  assert.equal(wce.forward(logits, target).item(), tt.F.crossEntropy(logits, target, { weight: w }).item());
  const p = tt.tensor([0.2, 0.9]);
  const t = tt.tensor([0, 1]);
  assert.equal(new nn.BCELoss().forward(p, t).item(), tt.F.binaryCrossEntropy(p, t).item());
  assert.equal(
    new nn.BCEWithLogitsLoss({ posWeight: tt.tensor([2, 2]) }).forward(p, t).item(),
    tt.F.binaryCrossEntropyWithLogits(p, t, { posWeight: tt.tensor([2, 2]) }).item(),
  );
  assert.equal(
    new nn.MSELoss({ reduction: 'sum' }).forward(p, t).item(),
    tt.F.mseLoss(p, t, { reduction: 'sum' }).item(),
  );
  assert.equal(new nn.L1Loss().forward(p, t).item(), tt.F.l1Loss(p, t).item());
  assert.equal(new nn.SmoothL1Loss({ beta: 0.5 }).forward(p, t).item(), tt.F.smoothL1Loss(p, t, { beta: 0.5 }).item());
  assert.throws(() => new nn.MSELoss({ reduction: 'avg' as 'mean' }), /reduction must be 'mean', 'sum' or 'none'/);

  const base = ce.forward(logits, target).item();
  const high = new nn.Flooding(ce, base + 1);
  const flooded = high.forward(logits, target);
  assert.ok(Math.abs(flooded.item() - (2 * (base + 1) - base)) < 1e-6, 'below b: 2b − L');
  flooded.backward();
  const gBelow = logits.grad!.tolist();
  logits.grad = null;
  ce.forward(logits, target).backward();
  const gPlain = logits.grad!.tolist();
  gBelow.forEach((v, i) => assert.ok(Math.abs(v + gPlain[i]) < 1e-6, 'gradient ascent below the flood level'));
  const low = new nn.Flooding(null, 0.01);
  assert.ok(Math.abs(low.forward(tt.scalar(base)).item() - base) < 1e-6, 'above b: unchanged');
  assert.throws(() => low.forward(logits, target), /no loss module/);
  assert.throws(() => low.forward(tt.ones([2])), /expects a scalar loss/);
  assert.equal(high.toString(), `Flooding(\n  b=${String(base + 1)}\n  (loss): CrossEntropyLoss()\n)`);
});

test('pooling modules: MaxPool2d returnIndices feeds MaxUnpool2d; AdaptiveAvgPool2d global pooling', () => {
  const x = tt.arange(0, 16, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);
  const pool = new nn.MaxPool2d(2, { returnIndices: true });
  const [y, idx] = pool.forward(x);
  assert.deepEqual(y.tolist(), [5, 7, 13, 15]);
  const up = new nn.MaxUnpool2d(2).forward(y, idx);
  assert.deepEqual(
    up.tolist(),
    x.tolist().map((v) => ([5, 7, 13, 15].includes(v) ? v : 0)),
  );
  assert.deepEqual(new nn.AdaptiveAvgPool2d(1).forward(x).tolist(), [7.5]);
  assert.deepEqual(new nn.Flatten().forward(tt.ones([2, 3, 4])).shape, [2, 12]);
  assert.deepEqual(new nn.Upsample({ scaleFactor: 2 }).forward(x).shape, [1, 1, 8, 8]);
});

test('gradcheck (float64): MultiheadAttention with masks, NonLocal2d, SqueezeExcitation, FReLU', () => {
  const g = new tt.Generator(11);
  const mha = new nn.MultiheadAttention(4, 2, { dtype: 'float64', generator: g, batchFirst: true });
  const kpm = tt.tensor(
    [
      [0, 0, 1],
      [0, 0, 0],
    ],
    { dtype: 'bool' },
  );
  assert.ok(
    tt.gradcheck(
      (q, kv) => mha.forward(q, kv, kv, { keyPaddingMask: kpm })[0],
      [rand64([2, 2, 4], 1), rand64([2, 3, 4], 2)],
    ),
  );
  assert.ok(tt.gradcheck((q) => mha.forward(q, q, q, { averageAttnWeights: false })[1]!, [rand64([2, 3, 4], 3)]));
  const nl = new nn.NonLocal2d(3, { dtype: 'float64' });
  assert.ok(tt.gradcheck((x) => nl.forward(x), [rand64([1, 3, 2, 3], 4)]));
  const se = new nn.SqueezeExcitation(4, 2, { dtype: 'float64' });
  assert.ok(tt.gradcheck((x) => se.forward(x), [rand64([2, 4, 2, 2], 5)]));
  const fr = new nn.FReLU(2, { dtype: 'float64' });
  assert.ok(tt.gradcheck((x) => fr.forward(x), [rand64([2, 2, 3, 3], 6)]));
});

test('NonLocal2d with zeroInit starts as the identity; MHA unbatched input', () => {
  const nl = new nn.NonLocal2d(4, { zeroInit: true });
  const x = tt.randn([1, 4, 3, 3]);
  assert.deepEqual(nl.forward(x).tolist(), x.tolist());
  assert.deepEqual(nl.attention(x).shape, [1, 9, 9]);
  const mha = new nn.MultiheadAttention(4, 2);
  const [out, w] = mha.forward(tt.randn([3, 4]), tt.randn([5, 4]), tt.randn([5, 4]));
  assert.deepEqual(
    [out.shape, w!.shape],
    [
      [3, 4],
      [3, 5],
    ],
  );
  const [, none] = mha.forward(tt.randn([3, 1, 4]), tt.randn([5, 1, 4]), tt.randn([5, 1, 4]), { needWeights: false });
  assert.equal(none, null);
});

test('apply visits children before parents (custom initialisation)', () => {
  const net = smallNet();
  const order: string[] = [];
  net.apply((m) => {
    order.push(m.constructor.name);
    if (m instanceof nn.Conv2d || m instanceof nn.Linear) {
      nn.init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu', generator: new tt.Generator(1) });
      if (m.bias) nn.init.zeros_(m.bias);
    }
  });
  assert.deepEqual(order, ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear', 'Sequential']);
  assert.ok((net[0] as tt.nn.Conv2d).bias!.tolist().every((v) => v === 0));
});

test('a fused Sequential runs Conv2d → ReLU as one convolution unless a hook or a replaced forward must see it', () => {
  tt.manualSeed(3);
  const conv = new tt.nn.Conv2d(2, 4, 3, { padding: 1 });
  const relu = new tt.nn.ReLU();
  const seq = new tt.nn.Sequential(conv, relu);
  const x = tt.randn([2, 2, 5, 5]).requiresGrad_(true);
  const expected = tt.F.relu(tt.F.conv2d(x, conv.weight, conv.bias, { padding: 1 }));
  assert.equal(seq.forward(x).gradFn?.name, 'relu', 'a Sequential is a plain loop until nn.fuse');
  tt.nn.fuse(seq);
  const fused = seq.forward(x);
  assert.equal(fused.gradFn?.name, 'conv2dRelu');
  assert.deepEqual(fused.tolist(), expected.tolist());
  // same gradients as the unfused pair
  const gy = tt.randn(fused.shape);
  fused.backward(gy);
  const [gx1, gw1, gb1] = [x.grad!.tolist(), conv.weight.grad!.tolist(), conv.bias!.grad!.tolist()];
  x.grad = null;
  conv.weight.grad = null;
  conv.bias!.grad = null;
  tt.F.relu(tt.F.conv2d(x, conv.weight, conv.bias, { padding: 1 })).backward(gy);
  assert.deepEqual(x.grad!.tolist(), gx1);
  assert.deepEqual(conv.weight.grad!.tolist(), gw1);
  assert.deepEqual(conv.bias!.grad!.tolist(), gb1);
  // a forward hook on the conv sees the pre-activation, so the pair runs unfused
  let seen: tt.Tensor | null = null;
  const handle = conv.registerForwardHook((_m, _i, out) => {
    seen = out as tt.Tensor;
  });
  const y = seq.forward(x);
  assert.notEqual(y.gradFn?.name, 'conv2dRelu');
  assert.ok(seen !== null && (seen as tt.Tensor).min().item() < 0, 'the hook saw negative pre-activations');
  handle.remove();
  assert.equal(seq.forward(x).gradFn?.name, 'conv2dRelu');
});

test('a fused Sequential runs Conv2d → ReLU → MaxPool2d as one op with the unfused values and gradients, on every backend', () => {
  const cases: {
    conv: ConstructorParameters<typeof tt.nn.Conv2d>[3];
    pool: [number, ConstructorParameters<typeof tt.nn.MaxPool2d>[1]];
    shift: number;
  }[] = [
    { conv: { padding: 1 }, pool: [2, {}], shift: 0 },
    { conv: { padding: 1, bias: false, paddingMode: 'reflect' }, pool: [3, { stride: 1, padding: 1 }], shift: 0 },
    { conv: { stride: 2 }, pool: [2, { ceilMode: true }], shift: 0 },
    // most windows all negative: their gradient must be zero, as through relu then max pooling
    { conv: { padding: 1 }, pool: [2, {}], shift: -2 },
  ];
  forEachBackend(() => {
    for (const c of cases) {
      tt.manualSeed(11);
      const conv = new tt.nn.Conv2d(3, 5, 3, c.conv);
      if (conv.bias) tt.noGrad(() => conv.bias!.add_(c.shift));
      const pool = new tt.nn.MaxPool2d(c.pool[0], c.pool[1]);
      const seq = tt.nn.fuse(new tt.nn.Sequential(conv, new tt.nn.ReLU(), pool));
      const x = tt.randn([2, 3, 9, 8]).requiresGrad_(true);
      const fused = seq.forward(x);
      assert.equal(fused.gradFn?.name, 'conv2dReluMaxPool2d');
      const unfused = pool.forward(tt.F.relu(conv.forward(x))) as tt.Tensor;
      assert.deepEqual(fused.tolist(), unfused.tolist());
      const gy = tt.randn(fused.shape);
      fused.backward(gy);
      const grads = [x.grad!.tolist(), conv.weight.grad!.tolist(), conv.bias?.grad?.tolist()];
      x.grad = null;
      conv.weight.grad = null;
      if (conv.bias) conv.bias.grad = null;
      unfused.backward(gy);
      assert.deepEqual(
        [x.grad!.tolist(), conv.weight.grad!.tolist(), conv.bias?.grad?.tolist()],
        grads,
        JSON.stringify(c),
      );
      x.grad = null;
      conv.weight.grad = null;
      if (conv.bias) conv.bias.grad = null;
    }
  });
  // a hook on the pool, or indices asked for, run the chain unfused
  const conv = new tt.nn.Conv2d(1, 2, 3);
  const x = tt.randn([1, 1, 6, 6]);
  const hooked = new tt.nn.MaxPool2d(2);
  hooked.registerForwardHook(() => undefined);
  assert.notEqual(
    tt.nn.fuse(new tt.nn.Sequential(conv, new tt.nn.ReLU(), hooked)).forward(x.requiresGrad_(true)).gradFn?.name,
    'conv2dReluMaxPool2d',
  );
  assert.equal(
    tt.nn.fuse(new tt.nn.Sequential(conv, new tt.nn.ReLU(), new tt.nn.MaxPool2d(2))).forward(x).gradFn?.name,
    'conv2dReluMaxPool2d',
  );
});

test('gradcheck: the fused conv → ReLU → max pool (float64)', () => {
  const x = rand64([2, 2, 7, 6], 1),
    w = rand64([3, 2, 3, 3], 2),
    b = rand64([3], 3, -0.2, 0.2);
  assert.ok(tt.gradcheck((a, k, c) => conv2dReluMaxPool2d(a, k, c, { padding: 1 }, 2), [x, w, b]));
  assert.ok(
    tt.gradcheck((a, k) => conv2dReluMaxPool2d(a, k, null, { stride: 2 }, 3, { stride: 1, padding: 1 }), [x, w]),
  );
});

test('conv → batch norm → ReLU folds into one convolution in inference, and only then', () => {
  tt.manualSeed(5);
  const conv = new tt.nn.Conv2d(3, 6, 3, { padding: 1, stride: 2 });
  const bn = new tt.nn.BatchNorm2d(6);
  const relu = new tt.nn.ReLU();
  const seq = tt.nn.fuse(new tt.nn.Sequential(conv, bn, relu));
  seq.train();
  seq.forward(tt.randn([8, 3, 9, 9])); // give the running statistics non-trivial values
  tt.nn.init.uniform_(bn.weight!, 0.5, 1.5);
  tt.nn.init.uniform_(bn.bias!, -0.5, 0.5);
  seq.eval();
  const x = tt.randn([2, 3, 9, 9]);
  const unfused = tt.noGrad(() => relu.forward(bn.forward(conv.forward(x))));
  assert.ok(tt.noGrad(() => tt.nn.canFoldConvBn(conv, bn, relu)));
  assert.ok(!tt.nn.canFoldConvBn(conv, bn, relu), 'not while grad mode is on');
  for (const y of [tt.noGrad(() => seq.forward(x)), tt.noGrad(() => tt.nn.convBnAct(conv, bn, relu, x))]) {
    assert.deepEqual(y.shape, unfused.shape);
    const err = y.sub(unfused).abs().max().item();
    assert.ok(err < 1e-5, `folded output differs by ${err}`);
  }
  // with a hook on the batch norm, or in training mode, the modules run one by one
  let calls = 0;
  const handle = bn.registerForwardHook(() => {
    calls++;
  });
  tt.noGrad(() => seq.forward(x));
  assert.equal(calls, 1);
  handle.remove();
  bn.train();
  assert.ok(!tt.noGrad(() => tt.nn.canFoldConvBn(conv, bn, relu)));
});
