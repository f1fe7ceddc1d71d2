import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { fashion } from './viz-helpers.ts';

const { models } = tt;

/** Mean squared reconstruction error of `recon(x)` on x, in eval mode without a graph. */
function mse(model: tt.nn.Module, x: tt.Tensor, recon: (x: tt.Tensor) => tt.Tensor): number {
  model.eval();
  const v = tt.noGrad(() => tt.F.mseLoss(recon(x), x).item());
  model.train();
  return v;
}

/** `steps` Adam steps of `lossOf` over random minibatches of x. */
function train(
  model: tt.nn.AnyModule,
  x: tt.Tensor,
  steps: number,
  lossOf: (xb: tt.Tensor) => tt.Tensor,
  lr = 2e-3,
): void {
  const opt = new tt.optim.Adam(model.parameters(), { lr });
  const gen = new tt.Generator(1);
  model.train();
  for (let s = 0; s < steps; s++) {
    const idx = tt.randint(0, x.shape[0], [32], { generator: gen });
    const loss = lossOf(x.indexSelect(0, idx));
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
}

test('ConvAutoencoder: encoder and decoder shapes; sizes not divisible by 4 are refused', () => {
  const ae = new models.ConvAutoencoder({ width: 4, latentChannels: 2 });
  const x = tt.rand([2, 1, 28, 28]);
  assert.deepEqual(ae.encode(x).shape, [2, 2, 7, 7]);
  assert.deepEqual(ae.forward(x).shape, [2, 1, 28, 28]);
  assert.throws(() => ae.forward(tt.rand([1, 1, 30, 30])), /H and W divisible by 4, got \[1, 1, 30, 30\]/);
});

test('LinearAutoencoder: shapes, parameter count, and training on Fashion-MNIST lowers the reconstruction error', () => {
  tt.manualSeed(0);
  const ae = new models.LinearAutoencoder({ hidden: [128], latentDim: 16 });
  // 784·128+128 + 128·16+16 + 16·128+128 + 128·784+784
  assert.equal(
    ae.parameters().reduce((s, p) => s + p.numel(), 0),
    784 * 128 + 128 + 128 * 16 + 16 + 16 * 128 + 128 + 128 * 784 + 784,
  );
  const { x } = fashion(true, 512);
  const { x: held } = fashion(false, 128);
  assert.deepEqual(ae.encode(held).shape, [128, 16]);
  const before = mse(ae, held, (t) => ae.forward(t));
  train(ae, x, 120, (xb) => tt.F.mseLoss(ae.forward(xb), xb), 3e-3);
  const after = mse(ae, held, (t) => ae.forward(t));
  assert.ok(after < 0.5 * before, `held-out mse ${before} → ${after}`);
  assert.ok(after < 0.04, `held-out mse ${after}`);
  assert.throws(() => new models.LinearAutoencoder({ imageShape: [28, 28] }), /imageShape must be \[C, H, W\]/);
});

test('DenoisingAutoencoder: corrupts only in training mode; learns to denoise', () => {
  tt.manualSeed(1);
  const dae = new models.DenoisingAutoencoder(new models.LinearAutoencoder({ hidden: [128], latentDim: 32 }), {
    level: 0.3,
    generator: new tt.Generator(5),
  });
  const x = tt.full([2, 1, 28, 28], 0.5);
  const noisy = dae.corrupt(x);
  assert.ok(!tt.allclose(noisy, x));
  assert.ok(noisy.min().item() >= 0 && noisy.max().item() <= 1);
  const masked = new models.DenoisingAutoencoder(new models.LinearAutoencoder(), {
    noise: 'masking',
    level: 0.5,
  }).corrupt(tt.ones([1, 1, 28, 28]));
  const kept = masked.sum().item() / 784;
  assert.ok(kept > 0.4 && kept < 0.6, `masking kept ${kept}`);
  const { x: train_ } = fashion(true, 512);
  const { x: held } = fashion(false, 128);
  const noisyHeld = dae.corrupt(held);
  const inputError = tt.F.mseLoss(noisyHeld, held).item();
  train(dae, train_, 250, (xb) => tt.F.mseLoss(dae.forward(xb), xb), 3e-3);
  dae.eval();
  const denoised = tt.noGrad(() => tt.F.mseLoss(dae.forward(noisyHeld), held).item());
  assert.ok(denoised < 0.7 * inputError, `noisy ${inputError} → denoised ${denoised}`);
  assert.throws(
    () => new models.DenoisingAutoencoder(new models.LinearAutoencoder(), { noise: 'masking', level: 2 }),
    /level must be/,
  );
});

test('vaeLoss and the KL term match a hand computation', () => {
  const mu = tt.tensor([
    [0.5, -1],
    [0, 2],
  ]);
  const logVar = tt.tensor([
    [0, Math.log(4)],
    [-1, 0.5],
  ]);
  // KL per row: ½Σ(μ² + σ² − logσ² − 1)
  const klRow = (m: number[], lv: number[]) =>
    0.5 * m.reduce((s, mi, i) => s + mi * mi + Math.exp(lv[i]) - lv[i] - 1, 0);
  const kl = (klRow([0.5, -1], [0, Math.log(4)]) + klRow([0, 2], [-1, 0.5])) / 2;
  assert.ok(Math.abs(models.klDivergenceGaussian(mu, logVar).item() - kl) < 1e-6);
  const x = tt.tensor([[[[1, 0]]], [[[0.5, 0.25]]]]);
  const reconstruction = tt.tensor([[[[0.9, 0.2]]], [[[0.5, 0.5]]]]);
  const bce = (p: number, t: number) => -(t * Math.log(p) + (1 - t) * Math.log(1 - p));
  const rec = (bce(0.9, 1) + bce(0.2, 0) + bce(0.5, 0.5) + bce(0.5, 0.25)) / 2;
  const out = models.vaeLoss({ reconstruction, mu, logVar, z: mu }, x, { beta: 2 });
  assert.ok(Math.abs(out.reconstruction.item() - rec) < 1e-6);
  assert.ok(Math.abs(out.loss.item() - (rec + 2 * kl)) < 1e-5);
  const mseOut = models.vaeLoss({ reconstruction, mu, logVar, z: mu }, x, { reconstruction: 'mse' });
  assert.ok(Math.abs(mseOut.reconstruction.item() - (0.01 + 0.04 + 0 + 0.0625) / 2) < 1e-6);
});

test('VAE: reparameterisation, sampling, interpolation, and training lowers the negative ELBO', () => {
  tt.manualSeed(2);
  const vae = new models.VAE({ hidden: [128], latentDim: 8, generator: new tt.Generator(3) });
  const { x } = fashion(true, 512);
  const { x: held } = fashion(false, 64);
  // reparameterize: μ + exp(½logVar)·ε with the generator's ε
  const mu = tt.tensor([[1, -1]]);
  const lv = tt.tensor([[Math.log(4), 0]]);
  const eps = tt.randn([1, 2], { generator: new tt.Generator(9) });
  const z = vae.reparameterize(mu, lv, new tt.Generator(9));
  assert.ok(tt.allclose(z, tt.tensor([[1 + 2 * eps.tolist()[0], -1 + eps.tolist()[1]]]), { atol: 1e-6 }));
  // eval mode decodes the mean (deterministic); training mode a sample
  vae.eval();
  const a = vae.forward(held.narrow(0, 0, 2));
  assert.ok(tt.allclose(a.z, a.mu));
  vae.train();
  const b = vae.forward(held.narrow(0, 0, 2));
  assert.ok(!tt.allclose(b.z, b.mu));
  const elbo = () => {
    vae.eval();
    const v = tt.noGrad(() => models.vaeLoss(vae.forward(held), held).loss.item());
    vae.train();
    return v;
  };
  const before = elbo();
  train(vae, x, 150, (xb) => models.vaeLoss(vae.forward(xb), xb).loss, 3e-3);
  const after = elbo();
  assert.ok(after < 0.7 * before, `negative ELBO ${before} → ${after}`);
  const samples = vae.sample(5);
  assert.deepEqual(samples.shape, [5, 1, 28, 28]);
  assert.ok(samples.min().item() >= 0 && samples.max().item() <= 1);
  const path = vae.interpolate(held.select(0, 0), held.select(0, 1), 5);
  assert.deepEqual(path.shape, [5, 1, 28, 28]);
  vae.eval();
  const ends = tt.noGrad(() => vae.forward(held.narrow(0, 0, 2)).reconstruction);
  assert.ok(tt.allclose(path.select(0, 0), ends.select(0, 0), { atol: 1e-5 }));
  assert.ok(tt.allclose(path.select(0, 4), ends.select(0, 1), { atol: 1e-5 }));
  assert.throws(() => vae.decode(tt.zeros([2, 3])), /expected latent codes \[N, 8\], got \[2, 3\]/);
  assert.throws(() => vae.interpolate(held.select(0, 0), held.select(0, 1), 1), /steps must be an integer ≥ 2/);
});
