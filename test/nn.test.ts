import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, decode, forEachBackend, inputsOf, loadFixtures, rand64, type EncodedTensor, type FixtureCase } from './helpers.ts';

const { nn } = tt;
const fx = loadFixtures('nn');

interface ModuleCase extends FixtureCase {
  state: Record<string, EncodedTensor>;
  repr: string;
  buffers_after: Record<string, EncodedTensor>;
  param_grads?: Record<string, EncodedTensor>;
}

function smallNet(): tt.nn.Sequential {
  return new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 3 * 3, 5));
}

/**
 * Builds the Tatami module, checks its state-dict keys/shapes equal PyTorch's, loads PyTorch's values, runs the
 * case and compares output, extra outputs, input and parameter gradients, and buffers after the forward.
 */
function checkModule(
  name: string, module: tt.nn.AnyModule, call: (m: tt.nn.AnyModule, inputs: Record<string, tt.Tensor>) => tt.Tensor | [tt.Tensor, tt.Tensor | null],
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
  for (const [k, e] of Object.entries(c.buffers_after)) assertClose(after[k], e, { ...tol, what: `${name} buffer ${k} after forward` });
  if (c.upstream) {
    outs[0].backward(decode(c.upstream));
    for (const [k, g] of Object.entries(c.grads ?? {})) assertClose(inputs[k].grad!, g, { atol: 1e-4, rtol: 1e-3, what: `${name} grad ${k}` });
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
    checkModule('conv2d_groups_reflect', new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2, paddingMode: 'reflect' }), fwd);
    checkModule('conv2d_same_nobias', new nn.Conv2d(3, 2, 3, { padding: 'same', bias: false }), fwd);
    checkModule('conv_transpose2d_output_size', new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, groups: 2 }), (m, i) => (m as tt.nn.ConvTranspose2d).forward(i.x, [6, 6]));
    checkModule('linear', new nn.Linear(5, 3), fwd);
  });
});

test('normalisation layers vs PyTorch (running stats, cumulative momentum, no-affine, eval without stats)', () => {
  forEachBackend(() => {
    checkModule('batchnorm2d_cumulative', new nn.BatchNorm2d(3, { momentum: null }), fwd);
    checkModule('batchnorm1d_noaffine', new nn.BatchNorm1d(4, { momentum: 0.3, affine: false }), fwd);
    checkModule('batchnorm2d_no_running_stats_eval', new nn.BatchNorm2d(3, { trackRunningStats: false }).eval(), fwd);
    checkModule('instancenorm2d_affine_tracking', new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true }), fwd);
    checkModule('groupnorm', new nn.GroupNorm(2, 4), fwd);
    checkModule('layernorm', new nn.LayerNorm([3, 4]), fwd);
    checkModule('local_response_norm', new nn.LocalResponseNorm(3, { alpha: 0.01, beta: 0.5, k: 2 }), fwd);
  });
});

test('MultiheadAttention vs PyTorch: batch-first with key padding mask; self-attention with float mask and per-head weights', () => {
  forEachBackend(() => {
    const kpm = tt.tensor([[0, 0, 0, 1], [0, 1, 0, 0]], { dtype: 'bool' });
    checkModule('mha_batch_first_padding', new nn.MultiheadAttention(8, 2, { batchFirst: true }),
      (m, i) => (m as tt.nn.MultiheadAttention).forward(i.q, i.k, i.v, { keyPaddingMask: kpm }));
    const mask = tt.tensor((fx.get('mha_self_attn_mask_per_head')!.params.attn_mask) as number[][]);
    checkModule('mha_self_attn_mask_per_head', new nn.MultiheadAttention(6, 3, { bias: false }),
      (m, i) => (m as tt.nn.MultiheadAttention).forward(i.x, i.x, i.x, { attnMask: mask, averageAttnWeights: false }));
  });
});

test('SqueezeExcitation, FReLU and NonLocal2d vs PyTorch references', () => {
  forEachBackend(() => {
    checkModule('squeeze_excitation_hardsigmoid', new nn.SqueezeExcitation(6, 3, { scaleActivation: nn.Hardsigmoid }), fwd);
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
    conv_full: new nn.Conv2d(4, 8, [3, 5], { stride: 2, padding: [1, 2], dilation: 2, groups: 4, bias: false, paddingMode: 'circular' }),
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
