/**
 * Weights transformed once for inference (src/ops/conv-pack.ts, `Backend.packConv2dWeights`): in grad-free
 * forwards a leaf weight's Winograd transform is made on first use and reused until the weights change. The
 * outputs must be those of the per-call forward, the transform must be made once and remade after every kind of
 * change (in-place op, optimizer step, loadStateDict, a write through a view, a rewrite of `storage` that skipped the
 * version counter), and
 * nothing is packed where it cannot pay (grad mode, computed weights, backends without packing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { backend, setBackend, availableBackends } from '../src/backend/index.ts';
import type { Backend } from '../src/backend/types.ts';

const hasNative = availableBackends().some((b) => b.name === 'native' && b.available);

/** The native backend with its packer counted. */
function countingNative(): { b: Backend; packs: () => number } {
  const base = tt.withBackend('native', () => backend());
  let n = 0;
  const b: Backend = {
    ...base,
    packConv2dWeights: (w, g) => {
      n++;
      return base.packConv2dWeights!(w, g);
    },
  };
  return { b, packs: () => n };
}

function maxDiff(a: tt.Tensor, b: tt.Tensor): number {
  const x = a.toTypedArray(),
    y = b.toTypedArray();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

test('packed conv weights: made once, same outputs, remade after every change', { skip: !hasNative }, () => {
  const before = backend(); // the object: a name such as wasm-relaxed-simd need not be registered
  const { b, packs } = countingNative();
  setBackend(b);
  try {
    tt.manualSeed(3);
    // 48→40 channels at 20×20, dilation 2: four 10×10 phase images, 100 tiles — Winograd per call and packed
    const conv = new tt.nn.Conv2d(48, 40, 3, { padding: 2, dilation: 2 });
    const x = tt.randn([1, 48, 20, 20]);
    const ref = () => tt.withBackend('reference', () => tt.noGrad(() => conv.forward(x)));
    const perCall = conv.forward(x).detach(); // grad mode on: no packing
    assert.equal(packs(), 0, 'grad mode packs nothing');
    const y1 = tt.noGrad(() => conv.forward(x));
    const y2 = tt.noGrad(() => conv.forward(x));
    assert.equal(packs(), 1, 'packed on first use, reused after');
    assert.deepEqual(y1.toTypedArray(), perCall.toTypedArray(), 'the same transform as per call: bitwise');
    assert.deepEqual(y2.toTypedArray(), y1.toTypedArray());
    assert.ok(maxDiff(y1, ref()) < 1e-4, 'against the reference backend');

    // in-place op (version bump)
    tt.noGrad(() => conv.weight.mul_(-0.5));
    const y3 = tt.noGrad(() => conv.forward(x));
    assert.equal(packs(), 2, 'remade after mul_');
    assert.ok(maxDiff(y3, ref()) < 1e-4);

    // optimizer step
    const opt = new tt.optim.SGD(conv.parameters(), { lr: 0.1 });
    conv.forward(x).square().mean().backward();
    opt.step();
    const y4 = tt.noGrad(() => conv.forward(x));
    assert.equal(packs(), 3, 'remade after an optimizer step');
    assert.ok(maxDiff(y4, ref()) < 1e-4);

    // loadStateDict
    tt.manualSeed(4);
    const other = new tt.nn.Conv2d(48, 40, 3, { padding: 2, dilation: 2 });
    conv.loadStateDict(other.stateDict());
    const y5 = tt.noGrad(() => conv.forward(x));
    assert.equal(packs(), 4, 'remade after loadStateDict');
    assert.ok(maxDiff(y5, ref()) < 1e-4);

    // an in-place write through a view of one output channel (pruning, surgery): the version is the buffer's
    tt.noGrad(() => conv.weight.narrow(0, 3, 1).zero_());
    const y5b = tt.noGrad(() => conv.forward(x));
    assert.equal(packs(), 5, 'remade after a write through a view');
    assert.ok(maxDiff(y5b, ref()) < 1e-4);

    // a rewrite of the storage that skipped the version counter: seen by the sampled values
    const version = conv.weight.version;
    (conv.weight.storage as Float32Array).fill(0.01);
    assert.equal(conv.weight.version, version);
    const y6 = tt.noGrad(() => conv.forward(x));
    assert.equal(packs(), 6, 'remade after a storage rewrite');
    assert.ok(maxDiff(y6, ref()) < 1e-4);
  } finally {
    setBackend(before);
  }
});

test('packed conv weights: plans that differ packed, computed weights, other backends', { skip: !hasNative }, () => {
  const before = backend(); // the object: a name such as wasm-relaxed-simd need not be registered
  const { b, packs } = countingNative();
  setBackend(b);
  try {
    tt.manualSeed(5);
    // 1×64→64 at 10×10: 25 tiles — too few to pack (direct plan, no transform made)
    const small = new tt.nn.Conv2d(64, 64, 3, { padding: 1 });
    tt.noGrad(() => small.forward(tt.randn([1, 64, 10, 10])));
    assert.equal(packs(), 0, 'nothing packed for a direct plan');
    // 1×64→64 at 14×14, 49 tiles: Winograd only with packed weights; checked against the reference backend
    const x = tt.randn([1, 64, 14, 14]);
    const y = tt.noGrad(() => small.forward(x));
    const want = tt.withBackend('reference', () => tt.noGrad(() => small.forward(x)));
    assert.ok(maxDiff(y, want) < 1e-4);
    assert.equal(packs(), 1);
    tt.noGrad(() => small.forward(x));
    assert.equal(packs(), 1, 'reused');
    // a weight computed in the graph (spectral norm, weight standardisation) is new on every call: never packed
    const w = small.weight.mul(1);
    const yc = tt.noGrad(() => tt.F.conv2d(x, w, null, { padding: 1 }));
    assert.equal(packs(), 1, 'no transform kept for a computed weight');
    assert.ok(maxDiff(yc, want.sub(small.bias!.reshape([1, 64, 1, 1]))) < 1e-4);
  } finally {
    setBackend(before);
  }
  // the reference backend has no packer: the same model runs unpacked there
  const conv = new tt.nn.Conv2d(16, 16, 3, { padding: 1 });
  const x = tt.randn([1, 16, 16, 16]);
  const y = tt.withBackend('reference', () => tt.noGrad(() => conv.forward(x)));
  assert.equal(y.shape.join(), '1,16,16,16');
});

test('derivedFromWeight: made once, remade after a change, null where nothing stays valid', async () => {
  const { derivedFromWeight } = await import('../src/ops/conv-pack.ts');
  const w = tt.randn([8, 6, 1, 1], { generator: new tt.Generator(5) });
  let made = 0;
  const derive = () =>
    tt.noGrad(() =>
      derivedFromWeight(w, 'sum', () => {
        made++;
        return w.sum().item();
      }),
    );
  const first = derive();
  assert.equal(derive(), first, 'the cached value');
  assert.equal(made, 1, 'made once');
  // keys are separate
  tt.noGrad(() => derivedFromWeight(w, 'other', () => 0));
  assert.equal(derive(), first, 'another key leaves this one');
  assert.equal(made, 1);
  // an in-place op bumps the version
  tt.noGrad(() => w.mul_(2));
  assert.ok(Math.abs(derive()! - 2 * first!) < 1e-4, 'remade after mul_');
  assert.equal(made, 2);
  // a rewrite of storage that skipped the version counter, caught by the sampled values
  const data = w.storage as Float32Array;
  for (let i = 0; i < data.length; i++) data[i] = 1;
  assert.equal(derive(), 48, 'remade after a storage rewrite');
  assert.equal(made, 3);
  // grad mode on, a non-contiguous or a non-float32 weight: nothing cached
  assert.equal(
    derivedFromWeight(w, 'sum', () => 0),
    null,
    'grad mode on',
  );
  assert.equal(
    tt.noGrad(() => derivedFromWeight(w.transpose(0, 1), 'sum', () => 1)),
    null,
    'not contiguous',
  );
  assert.equal(
    tt.noGrad(() => derivedFromWeight(w.double(), 'sum', () => 1)),
    null,
    'float64',
  );
});
