// CycleGAN: generator/discriminator sizes and shapes, the image pool, the losses and training step (with and
// without fit), the unpaired data. PyTorch parity of the networks is in gan-parity.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const { models, nn } = tt;
const count = (m: tt.nn.AnyModule) => m.parameters().reduce((s, p) => s + p.numel(), 0);

test("ResnetGenerator and the instance-norm PatchGAN have the authors' parameter counts", () => {
  assert.equal(count(new models.ResnetGenerator(3, 3)), 11_378_179); // resnet_9blocks
  assert.equal(count(new models.ResnetGenerator(3, 3, { numBlocks: 6 })), 7_837_699); // resnet_6blocks
  assert.equal(count(new models.PatchGANDiscriminator(3, { norm: 'instance' })), 2_764_737);
  // the authors' state-dict names: model.1 is the 7×7 conv after ReflectionPad2d, model.10 the first residual block
  const names = Object.keys(new models.ResnetGenerator(3, 3, { ngf: 4, numBlocks: 1 }).stateDict());
  assert.ok(
    names.includes('model.1.weight') &&
      names.includes('model.10.conv_block.1.weight') &&
      names.includes('model.18.bias'),
    names.join(' '),
  );
});

test('ResnetGenerator keeps the image size; bad sizes and options are named', () => {
  const g = new models.ResnetGenerator(1, 3, { ngf: 4, numBlocks: 1 });
  const y = tt.noGrad(() => g.forward(tt.rand([2, 1, 12, 16])));
  assert.deepEqual(y.shape, [2, 3, 12, 16]);
  assert.ok(y.abs().max().item() <= 1);
  assert.throws(() => g.forward(tt.rand([1, 1, 10, 16])), /ResnetGenerator: expected images .* multiples of 4/);
  assert.throws(() => new models.ResnetGenerator(3, 3, { norm: 'layer' as 'batch' }), /norm must be/);
  assert.throws(() => new models.ResnetGenerator(3, 3, { numBlocks: -1 }), /numBlocks/);
  // with batch norm the convolutions before a norm drop their bias, as the authors' use_bias
  const gb = new models.ResnetGenerator(3, 3, { ngf: 4, numBlocks: 1, norm: 'batch' });
  assert.ok(!Object.keys(gb.stateDict()).includes('model.1.bias'));
  assert.ok(Object.keys(gb.stateDict()).includes('model.2.running_mean'));
});

test('padding modules equal F.pad and keep a Sequential slot', () => {
  const x = tt.arange(12).reshape([1, 1, 3, 4]).to('float32');
  assert.deepEqual(new nn.ReflectionPad2d(1).forward(x).select(2, 0).flatten().toArray(), [5, 4, 5, 6, 7, 6]);
  assert.deepEqual(new nn.ReplicationPad2d([1, 0, 0, 0]).forward(x).shape, [1, 1, 3, 5]);
  assert.equal(new nn.ConstantPad2d(1, 7).forward(x).select(2, 0).sum().item(), 42);
  assert.deepEqual(new nn.ZeroPad2d([0, 0, -1, 0]).forward(x).shape, [1, 1, 2, 4]);
  assert.throws(() => new nn.ReflectionPad2d([1, 2] as unknown as number), /ReflectionPad2d: padding must be/);
  assert.throws(() => new nn.ReflectionPad2d(1).forward(tt.rand([4])), /ReflectionPad2d: expected a 3D/);
});

test('ImagePool: fills first, then swaps about half the images for stored ones', () => {
  const gen = new tt.Generator(3);
  const pool = new models.ImagePool(4, gen);
  const batch = (v: number) => tt.full([2, 1, 2, 2], v);
  // the first four images go straight through and are stored
  assert.deepEqual(pool.query(batch(1)).mean([1, 2, 3]).toArray(), [1, 1]);
  assert.deepEqual(
    pool.query(batch(2)).mean([1, 2, 3]).toArray(),
    [1, 1].map(() => 2),
  );
  assert.equal(pool.length, 4);
  let fromPool = 0,
    total = 0;
  const seen = new Set<number>();
  for (let k = 3; k < 203; k++) {
    const out = pool.query(batch(k)).mean([1, 2, 3]).toArray() as number[];
    for (const v of out) {
      total++;
      if (v !== k) {
        fromPool++;
        assert.ok(v < k, `an image from the pool is older (${v} < ${k})`);
        seen.add(v);
      }
    }
    assert.equal(pool.length, 4);
  }
  // p = ½ per image: 400 draws, 200 expected, σ = 10
  assert.ok(fromPool > 160 && fromPool < 240, `${fromPool}/${total} images came from the pool`);
  assert.ok(seen.size > 50);
  // size 0 passes batches through; the result is detached
  const x = tt.rand([3, 2]).requiresGrad_(true);
  const y = new models.ImagePool(0).query(x);
  assert.equal(y.requiresGrad, false);
  assert.throws(() => new models.ImagePool(-1), /ImagePool: size must be a non-negative integer/);
});

function smallCycleGan(seed: number) {
  tt.manualSeed(seed);
  const net = new models.CycleGAN({ ngf: 4, numBlocks: 1, ndf: 4, numLayersD: 2 });
  return net;
}

test('cycleganStep: losses as the paper (hand-recomputed), parameters of all four networks move', () => {
  const net = smallCycleGan(1);
  const a = tt.rand([2, 3, 16, 16]).mul(2).sub(1),
    b = tt.rand([2, 3, 16, 16]).mul(2).sub(1);
  // recompute the generator objective before the step: LSGAN terms without ½, λ = 10, identity 0.5λ
  const expected = tt.noGrad(() => {
    const fb = net.generatorAB.forward(a),
      fa = net.generatorBA.forward(b);
    const mse1 = (t: tt.Tensor) => t.sub(1).square().mean().item();
    const l1 = (p: tt.Tensor, q: tt.Tensor) => p.sub(q).abs().mean().item();
    return (
      mse1(net.discriminatorB.forward(fb)) +
      mse1(net.discriminatorA.forward(fa)) +
      10 * (l1(net.generatorBA.forward(fb), a) + l1(net.generatorAB.forward(fa), b)) +
      5 * (l1(net.generatorAB.forward(b), b) + l1(net.generatorBA.forward(a), a))
    );
  });
  const before = net.parameters().map((p) => p.clone());
  const parts = {
    ...{
      generatorAB: net.generatorAB,
      generatorBA: net.generatorBA,
      discriminatorA: net.discriminatorA,
      discriminatorB: net.discriminatorB,
    },
    optimizerG: new tt.optim.Adam(net.generatorParameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
    optimizerD: new tt.optim.Adam(net.discriminatorParameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
  };
  const r = models.cycleganStep(parts, a, b, { poolA: new models.ImagePool(50), poolB: new models.ImagePool(50) });
  assert.ok(Math.abs(r.lossG - expected) < 1e-4 * Math.max(1, expected), `${r.lossG} vs ${expected}`);
  assert.ok(Math.abs(r.lossG - (r.ganAB + r.ganBA + r.cycleA + r.cycleB + r.idtA + r.idtB)) < 1e-4);
  assert.ok(r.lossDA > 0 && r.lossDB > 0);
  const moved = net.parameters().map((p, i) => p.sub(before[i]).abs().max().item() > 0);
  assert.ok(moved.every(Boolean), 'every parameter changed');
  assert.throws(() => models.cycleganStep(parts, a, b, { loss: 'wgan-gp' as 'bce' }), /cycleganStep: loss must be/);
  assert.throws(() => models.cycleganStep(parts, a.flatten(1), b), /expected image batches/);
  const r0 = models.cycleganStep(parts, a, b, { lambdaIdentity: 0 });
  assert.equal(r0.idtA, 0);
});

test('cycleganTrainingStep trains through fit on unpaired day/night patches; cycle loss falls', async () => {
  const net = smallCycleGan(2);
  const gen = new tt.Generator(5);
  // two tiny synthetic "photos": smooth colour gradients with blobs
  const base = [0, 1].map((k) =>
    tt.F.interpolate(tt.rand([1, 3, 6, 6], { generator: new tt.Generator(10 + k) }), {
      size: [40, 40],
      mode: 'bilinear',
    }).squeeze(0),
  );
  const day = tt.data.randomPatches(base, 16, 16, gen);
  const night = tt.data.toNight(tt.data.randomPatches(base, 16, 16, gen), gen);
  const ds = new tt.data.UnpairedDataset(day.mul(2).sub(1), night.mul(2).sub(1), 0);
  const loader = new tt.data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new tt.Generator(1) });
  const optimizerD = new tt.optim.Adam(net.discriminatorParameters(), { lr: 1e-3, betas: [0.5, 0.999] });
  const step = models.cycleganTrainingStep(net, optimizerD, {
    poolA: new models.ImagePool(8),
    poolB: new models.ImagePool(8),
  });
  const cycles: number[] = [];
  const history = await tt.train.fit(net, loader, {
    epochs: 6,
    optimizer: new tt.optim.Adam(net.generatorParameters(), { lr: 2e-3, betas: [0.5, 0.999] }),
    trainingStep: (batch) => {
      const r = step(batch);
      cycles.push(step.last!.cycleA + step.last!.cycleB);
      return r;
    },
    progress: false,
  });
  assert.equal(history.length, 6);
  const first = cycles.slice(0, 4).reduce((s, v) => s + v) / 4,
    last = cycles.slice(-4).reduce((s, v) => s + v) / 4;
  assert.ok(last < 0.7 * first, `cycle loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
  assert.ok(Number.isFinite(step.last!.lossDA) && step.last!.lossDB > 0);
});

test('UnpairedDataset, randomPatches and toNight', () => {
  const a = tt.rand([5, 3, 8, 8]),
    b = tt.rand([3, 3, 8, 8]);
  const ds = new tt.data.UnpairedDataset(a, b, 7);
  assert.equal(ds.length, 5);
  const [x0, y0] = ds.get(4);
  assert.deepEqual(x0.toArray(), a.select(0, 4).toArray());
  assert.deepEqual(y0.toArray(), ds.get(4)[1].toArray(), 'reproducible per index');
  const js = new Set(Array.from({ length: 5 }, (_, i) => ds.get(i)[1].sum().item()));
  assert.ok(js.size >= 2, 'B is drawn at random');
  assert.throws(() => new tt.data.UnpairedDataset(a, tt.rand([0, 3, 8, 8])), /both domains need images/);
  const img = tt.rand([3, 20, 30]);
  const p = tt.data.randomPatches([img], 6, 10, new tt.Generator(1));
  assert.deepEqual(p.shape, [6, 3, 10, 10]);
  assert.throws(() => tt.data.randomPatches([img], 1, 25), /H, W ≥ 25/);
  const day = tt.full([2, 3, 16, 16], 0.8);
  const night = tt.data.toNight(day, new tt.Generator(2));
  const m = night.mean([0, 2, 3]).toArray() as number[];
  // darker overall and bluer than red; stays in [0, 1]
  assert.ok(m[0] < 0.3 && m[2] > m[1] && m[1] > m[0], m.join(' '));
  assert.ok(night.min().item() >= 0 && night.max().item() <= 1);
  assert.throws(() => tt.data.toNight(tt.rand([1, 8, 8])), /toNight: expected float RGB images/);
});
