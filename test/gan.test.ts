import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { fashion } from './viz-helpers.ts';

const { models, nn } = tt;
const count = (m: tt.nn.AnyModule) => m.parameters().reduce((s, p) => s + p.numel(), 0);
const close = (a: number, b: number, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('dcgan: W8 parameter counts, torch_bench layer order, shapes; 28×28 variant', () => {
  const { generator: G, discriminator: D, nz } = models.dcgan();
  assert.equal(count(G), 3576704);
  assert.equal(count(D), 2765568);
  assert.equal(nz, 100);
  // state-dict keys as torch_bench's nn.Sequential
  const keys = Object.keys(G.stateDict());
  assert.deepEqual(keys.slice(0, 6), [
    '0.weight',
    '1.weight',
    '1.bias',
    '1.running_mean',
    '1.running_var',
    '1.num_batches_tracked',
  ]);
  assert.ok(keys.includes('12.weight') && !keys.includes('12.bias'));
  assert.deepEqual(
    Object.keys(D.stateDict()).filter((k) => k.endsWith('weight')),
    ['0.weight', '2.weight', '3.weight', '5.weight', '6.weight', '8.weight', '9.weight', '11.weight'],
  );
  models.dcganInit(G, new tt.Generator(0));
  models.dcganInit(D, new tt.Generator(1));
  const w = (G.at(3) as tt.nn.ConvTranspose2d).weight;
  const sd = Math.sqrt(tt.square(w).mean().item());
  assert.ok(Math.abs(sd - 0.02) < 0.001, `init std ${sd}`);
  assert.ok(Math.abs((G.at(1) as tt.nn.BatchNorm2d).weight!.mean().item() - 1) < 0.01);
  G.eval();
  D.eval();
  const img = tt.noGrad(() => G.forward(tt.randn([2, 100, 1, 1])));
  assert.deepEqual(img.shape, [2, 3, 64, 64]);
  assert.ok(img.abs().max().item() <= 1);
  assert.deepEqual(tt.noGrad(() => D.forward(img)).shape, [2, 1, 1, 1]);
  const small = models.dcgan({ imageSize: 28 });
  assert.equal(count(small.generator), 100 * 256 * 49 + 512 + 256 * 128 * 16 + 256 + 128 * 16);
  assert.equal(count(small.discriminator), 16 * 64 + 64 * 128 * 16 + 256 + 128 * 49);
  const s = small.generator.forward(tt.randn([3, 100, 1, 1]));
  assert.deepEqual(s.shape, [3, 1, 28, 28]);
  assert.deepEqual(small.discriminator.forward(s).shape, [3, 1, 1, 1]);
  assert.throws(() => models.dcgan({ imageSize: 32 as 64 }), /imageSize must be 64 or 28, got 32/);
});

test('GAN losses equal their formulas; label smoothing', () => {
  const r = tt.tensor([2, -1]);
  const f = tt.tensor([0.5, -3]);
  const sp = (x: number) => Math.log1p(Math.exp(x)); // −log σ(−x) = softplus(x)
  close(models.discriminatorLoss('bce', r, f).item(), (sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(-3)) / 2);
  // target 0.9: BCE(x, t) = softplus(x) − t·x
  close(
    models.discriminatorLoss('bce', r, f, { labelSmoothing: 0.1 }).item(),
    (sp(2) - 1.8 + sp(-1) - 0.9 * -1) / 2 + (sp(0.5) + sp(-3)) / 2,
  );
  close(models.generatorLoss('bce', f).item(), (sp(-0.5) + sp(3)) / 2);
  close(models.discriminatorLoss('lsgan', r, f).item(), 0.5 * ((1 + 4) / 2 + (0.25 + 9) / 2));
  close(models.generatorLoss('lsgan', f).item(), 0.5 * ((0.25 + 16) / 2));
  close(models.discriminatorLoss('hinge', r, f).item(), (0 + 2) / 2 + (1.5 + 0) / 2);
  close(models.generatorLoss('hinge', f).item(), 1.25);
  close(models.discriminatorLoss('wgan-gp', r, f).item(), -1.25 - 0.5);
  close(models.generatorLoss('wgan-gp', f).item(), 1.25);
  assert.throws(() => models.generatorLoss('wgan' as 'hinge', f), /loss must be one of bce, lsgan, hinge, wgan-gp/);
  assert.throws(
    () => models.discriminatorLoss('bce', r, f, { labelSmoothing: 1 }),
    /labelSmoothing must be in \[0, 1\)/,
  );
});

test('gradientPenalty and r1Penalty on a linear critic: closed forms and their gradients', () => {
  const w = tt.tensor([[[[0.3, -0.4]], [[1.2, 0.0]]]], { dtype: 'float64' }).requiresGrad_(); // [1, 2, 1, 2]
  const critic = (x: tt.Tensor) => tt.sum(tt.mul(x, w), [1, 2, 3]);
  const real = tt.rand([3, 2, 1, 2], { dtype: 'float64' });
  const fake = tt.rand([3, 2, 1, 2], { dtype: 'float64' });
  const norm = Math.sqrt(0.09 + 0.16 + 1.44);
  const gp = models.gradientPenalty(critic, real, fake, { generator: new tt.Generator(0) });
  close(gp.item(), (norm - 1) ** 2, 1e-9);
  gp.backward();
  const expected = w
    .detach()
    .mul((2 * (norm - 1)) / norm)
    .tolist();
  w.grad!.tolist().forEach((v, i) => close(v, expected[i], 1e-9));
  w.grad = null;
  const r1 = models.r1Penalty(critic, real);
  close(r1.item(), norm * norm, 1e-9);
  r1.backward();
  w.grad!.tolist().forEach((v, i) => close(v, 2 * w.tolist()[i], 1e-9));
});

test('ganStep trains a 28×28 DCGAN on Fashion-MNIST (BCE with smoothing, then WGAN-GP, hinge and R1)', () => {
  tt.manualSeed(0);
  const { x } = fashion(true, 64);
  const real = x.mul(2).sub(1);
  const { generator, discriminator } = models.dcgan({ imageSize: 28, ngf: 8, ndf: 8, nz: 16 });
  models.dcganInit(generator);
  models.dcganInit(discriminator);
  const parts = {
    generator,
    discriminator,
    optimizerG: new tt.optim.Adam(generator.parameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
    optimizerD: new tt.optim.Adam(discriminator.parameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
  };
  const g0 = generator.parameters()[0].clone();
  const gen = new tt.Generator(1);
  let last = models.ganStep(parts, real.narrow(0, 0, 32), { nz: 16, labelSmoothing: 0.1, generator: gen });
  for (let s = 1; s < 6; s++)
    last = models.ganStep(parts, real.narrow(0, (s % 2) * 32, 32), { nz: 16, labelSmoothing: 0.1, generator: gen });
  assert.ok(Number.isFinite(last.lossD) && Number.isFinite(last.lossG));
  assert.ok(last.dReal > last.dFake, `D separates real from fake after a few steps (${last.dReal} vs ${last.dFake})`);
  assert.ok(!tt.allclose(generator.parameters()[0], g0), 'G was updated');
  // the penalties backpropagate into D through double backward
  const d0 = discriminator.parameters()[0].clone();
  const wgan = models.ganStep(parts, real.narrow(0, 0, 16), { nz: 16, loss: 'wgan-gp', dSteps: 2, generator: gen });
  assert.ok(Number.isFinite(wgan.lossD) && !tt.allclose(discriminator.parameters()[0], d0));
  const hinge = models.ganStep(parts, real.narrow(0, 0, 16), { nz: 16, loss: 'hinge', r1Gamma: 10, generator: gen });
  assert.ok(Number.isFinite(hinge.lossD) && Number.isFinite(hinge.lossG));
  assert.throws(() => models.ganStep(parts, real, { dSteps: 0 }), /dSteps must be a positive integer/);
});

test('conditional GAN: class embedding in G, projection D, trained by fit with ganTrainingStep', async () => {
  tt.manualSeed(1);
  const G = new models.ConditionalGenerator(10, { nz: 16, embedDim: 10, width: 8 });
  const D = new models.ProjectionDiscriminator(10, { width: 8 });
  assert.equal(count(G), 10 * 10 + count(models.dcgan({ imageSize: 28, nz: 26, ngf: 8 }).generator));
  const labels = tt.tensor([0, 3, 9], { dtype: 'int32' });
  const img = G.forward(tt.randn([3, 16]), labels);
  assert.deepEqual(img.shape, [3, 1, 28, 28]);
  assert.deepEqual(D.forward(img, labels).shape, [3]);
  // the projection term: changing only the label changes the logit by ⟨e(y') − e(y), φ(x)⟩
  const other = D.forward(img, tt.tensor([1, 3, 9], { dtype: 'int32' }));
  const base = D.forward(img, labels);
  assert.ok(other.tolist()[0] !== base.tolist()[0] && Math.abs(other.tolist()[1] - base.tolist()[1]) < 1e-6);
  // labelMaps: the one-hot label enters every convolution as 10 constant maps (10 extra input channels each)
  const Dm = new models.ProjectionDiscriminator(10, { width: 8, labelMaps: true });
  assert.equal(count(Dm), count(D) + 10 * (16 * (8 + 16) + 9 * 32)); // 4×4 kernels of 8 and 16, 3×3 of 32
  const hot = Dm.forward(img, labels);
  assert.deepEqual(hot.shape, [3]);
  // it is the projection discriminator's body run on [x, one-hot maps] at each layer
  const body = [...Dm.body.children()] as tt.nn.Module[];
  let act = img;
  for (let i = 0; i < body.length; i += 2) {
    const maps = tt.F.oneHot(labels, 10)
      .to('float32')
      .reshape([3, 10, 1, 1])
      .expand([3, 10, act.shape[2], act.shape[3]]);
    act = body[i + 1].forward(body[i].forward(tt.cat([act, maps], 1)));
  }
  const pooled = act.sum([2, 3]);
  const want = Dm.linear.forward(pooled).reshape([-1]).add(Dm.embedding.indexSelect(0, labels).mul(pooled).sum(1));
  assert.ok(tt.allclose(hot, want, { atol: 1e-5 }));
  const { x, y } = fashion(true, 16);
  const e0 = G.embedding.clone();
  const d0 = D.embedding.clone();
  // trained by fit: the step updates D itself and returns G's loss, which fit steps with its optimizer
  const gan = new models.GAN(G, D);
  const step = models.ganTrainingStep(gan, new tt.optim.Adam(D.parameters(), { lr: 2e-4 }), {
    nz: 16,
    latent: (n) => tt.randn([n, 16]),
    loss: 'hinge',
    conditional: true,
    preprocess: (t) => t.mul(2).sub(1),
  });
  const loader = new tt.data.DataLoader(new tt.data.TensorDataset(x, y), { batchSize: 8 });
  const lines: string[] = [];
  const history = await tt.train.fit(gan, loader, {
    epochs: 1,
    optimizer: new tt.optim.Adam(G.parameters(), { lr: 2e-4 }),
    trainingStep: step,
    progress: false,
    log: (l) => lines.push(l),
  });
  const r = step.last!;
  assert.ok(Number.isFinite(r.lossD) && Number.isFinite(r.lossG));
  // D/G numbers in the history (epoch means) and the epoch line; fit's loss is G's
  const h = history[0];
  for (const k of ['trainLossD', 'trainLossG', 'trainDReal', 'trainDFake']) assert.ok(Number.isFinite(h[k]), k);
  close(h.trainLossG!, h.trainLoss, 1e-6);
  assert.match(lines[0], /lossD [\d.]+.*lossG [\d.]+/);
  assert.ok(!tt.allclose(G.embedding, e0), 'class embeddings of G are trained (fit steps G)');
  assert.ok(!tt.allclose(D.embedding, d0), 'class embeddings of D are trained (the step updates D)');
  // one state dict holds both networks
  assert.ok('generator.embedding' in gan.stateDict() && 'discriminator.embedding' in gan.stateDict());
  assert.throws(() => step([x]), /must be \[images, labels\]/);
  assert.throws(() => step([x, y.narrow(0, 0, 3)]), /3 labels for a batch of 16 images/);
  assert.throws(() => G.forward(tt.randn([2, 16]), tt.tensor([1, 2])), /labels must be an int32 tensor/);
});

test('pix2pix: U-Net generator (unet_256 count, skips, dropout), 70×70 PatchGAN, GAN + λ·L1', () => {
  assert.equal(count(new models.UnetGenerator(3, 3)), 54413955);
  const D = new models.PatchGANDiscriminator(6);
  assert.equal(count(D), 2768705);
  const small = new models.UnetGenerator(3, 2, { numDowns: 5, ngf: 4 });
  assert.equal(small.modules().filter((m) => m instanceof nn.Dropout).length, 0);
  assert.equal(
    new models.UnetGenerator(1, 1, { numDowns: 8, ngf: 1 }).modules().filter((m) => m instanceof nn.Dropout).length,
    3,
  );
  const out = small.forward(tt.rand([2, 3, 32, 32]));
  assert.deepEqual(out.shape, [2, 2, 32, 32]);
  assert.throws(() => small.forward(tt.rand([1, 3, 48, 40])), /divisible by 2\^5 = 32/);
  // one patch logit sees a 70×70 window of the input
  D.eval();
  const inp = tt.rand([1, 6, 96, 96]).requiresGrad_();
  const logits = D.forward(inp);
  assert.deepEqual(logits.shape, [1, 1, 10, 10]);
  logits.select(2, 5).select(2, 5).sum().backward();
  const g = inp.grad!.abs().sum([0, 1]).dataView();
  let top = 96,
    bottom = -1,
    left = 96,
    right = -1;
  for (let i = 0; i < 96; i++)
    for (let j = 0; j < 96; j++)
      if (g[i * 96 + j] > 0) {
        top = Math.min(top, i);
        bottom = Math.max(bottom, i);
        left = Math.min(left, j);
        right = Math.max(right, j);
      }
  assert.equal(bottom - top + 1, 70);
  assert.equal(right - left + 1, 70);
  const fakeLogits = tt.tensor([0.5, -1]);
  const output = tt.tensor([0.2, 0.4]);
  const target = tt.tensor([0, 1]);
  const sp = (v: number) => Math.log1p(Math.exp(v));
  close(models.pix2pixLoss(fakeLogits, output, target).item(), (sp(-0.5) + sp(1)) / 2 + (100 * (0.2 + 0.6)) / 2, 1e-5);
});

test('restoration models: DnCNN, SRCNN, ESPCN parameter counts and shapes', () => {
  const dn = new models.DnCNN();
  assert.equal(count(dn), 556096);
  const noisy = tt.rand([1, 1, 12, 12]);
  dn.eval();
  const clean = tt.noGrad(() => dn.forward(noisy));
  assert.ok(tt.allclose(clean, noisy.sub(tt.noGrad(() => dn.residual(noisy))), { atol: 1e-6 }), 'residual learning');
  assert.equal(count(new models.SRCNN()), 8129);
  assert.deepEqual(new models.SRCNN({ channels: 3 }).forward(tt.rand([1, 3, 20, 20])).shape, [1, 3, 20, 20]);
  const es = new models.ESPCN({ upscaleFactor: 3 });
  assert.equal(count(es), 22729);
  assert.deepEqual(es.forward(tt.rand([2, 1, 8, 8])).shape, [2, 1, 24, 24]);
  assert.throws(() => new models.SRCNN({ kernelSizes: [9, 2, 5] }), /odd positive integers/);
});
