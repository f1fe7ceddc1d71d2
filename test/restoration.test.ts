import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';
import { checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F, nn, data } = tt;

const shuffles = loadFixtures('pixelshuffle');
for (const [name, c] of shuffles) {
  test(`golden: ${name}`, () =>
    forEachBackend(() =>
      checkCase(c, ({ x }) => {
        const r = name.includes('r3') ? 3 : 2;
        return name.startsWith('unshuffle') ? F.pixelUnshuffle(x, r) : F.pixelShuffle(x, r);
      }),
    ));
}

test('PixelShuffle / PixelUnshuffle: modules, inverse of each other, gradcheck and gradgradcheck, errors', () => {
  const x = rand64([2, 8, 3, 2], 1);
  assert.equal(
    tt.autograd.gradcheck((t) => F.pixelShuffle(t, 2), [x]),
    true,
  );
  assert.equal(
    tt.autograd.gradgradcheck((t) => tt.square(F.pixelUnshuffle(t, 2)), [rand64([1, 2, 4, 2], 2)]),
    true,
  );
  const up = new nn.PixelShuffle(2);
  const down = new nn.PixelUnshuffle(2);
  assert.deepEqual(up.forward(x).shape, [2, 2, 6, 4]);
  assert.ok(tt.allclose(down.forward(up.forward(x)), x));
  assert.equal(String(up), 'PixelShuffle(upscale_factor=2)');
  // channel c·r² + i·r + j → pixel (h·r + i, w·r + j)
  const ramp = tt.arange(0, 4).reshape([1, 4, 1, 1]);
  assert.deepEqual(F.pixelShuffle(ramp, 2).tolist(), [0, 1, 2, 3]);
  assert.throws(
    () => F.pixelShuffle(tt.zeros([1, 6, 2, 2]), 2),
    /pixelShuffle: 6 channels are not divisible by upscaleFactor² = 4/,
  );
  assert.throws(
    () => F.pixelUnshuffle(tt.zeros([1, 1, 3, 4]), 2),
    /height 3 and width 4 must be divisible by downscaleFactor 2/,
  );
  assert.throws(() => new nn.PixelShuffle(0), /positive integer/);
});

const photoDir = new URL('./fixtures/photos/', import.meta.url);
const photo = (name: string) =>
  tt
    .readImage(fileURLToPath(new URL(`${name}.png`, photoDir)))
    .div(255)
    .unsqueeze(0);
const quality = JSON.parse(readFileSync(new URL('quality.json', photoDir), 'utf8')) as {
  pairs: { clean: string; distorted: string; ssim: number; psnr: number }[];
};

test('ssim and psnr equal scikit-image on its photos within 1e-4 (float32 and float64)', () => {
  for (const p of quality.pairs) {
    const a = photo(p.clean),
      b = photo(p.distorted);
    for (const dtype of ['float32', 'float64'] as const) {
      const s = F.ssim(a.to(dtype), b.to(dtype)).item();
      assert.ok(Math.abs(s - p.ssim) < 1e-4, `${p.clean}/${p.distorted} ${dtype}: ssim ${s} vs skimage ${p.ssim}`);
      const q = F.psnr(a.to(dtype), b.to(dtype)).item();
      assert.ok(Math.abs(q - p.psnr) < 1e-3, `${p.clean}/${p.distorted} ${dtype}: psnr ${q} vs skimage ${p.psnr}`);
    }
  }
});

test('ssim / psnr: identical images, batches, dataRange, gradients, errors', () => {
  const a = photo('camera');
  assert.ok(Math.abs(F.ssim(a, a).item() - 1) < 1e-6);
  assert.equal(F.psnr(a, a).item(), Infinity);
  const b = photo('camera_noisy');
  const batch = tt.cat([a, b], 0);
  const per = F.ssim(batch, tt.cat([b, b], 0), { reduction: 'none' });
  assert.deepEqual(per.shape, [2]);
  assert.ok(Math.abs(per.tolist()[0] - quality.pairs[0].ssim) < 1e-4 && Math.abs(per.tolist()[1] - 1) < 1e-6);
  // 8-bit values with dataRange 255 give the same SSIM and PSNR
  assert.ok(Math.abs(F.ssim(a.mul(255), b.mul(255), { dataRange: 255 }).item() - quality.pairs[0].ssim) < 1e-4);
  assert.ok(Math.abs(F.psnr(a.mul(255), b.mul(255), { dataRange: 255 }).item() - quality.pairs[0].psnr) < 1e-3);
  // differentiable: gradient ascent on SSIM towards the clean image
  const x = rand64([1, 1, 12, 12], 3, 0, 1);
  const y = rand64([1, 1, 12, 12], 4, 0, 1).detach();
  assert.equal(
    tt.autograd.gradcheck((t) => F.ssim(t, y), [x]),
    true,
  );
  assert.throws(() => F.ssim(tt.zeros([1, 1, 8, 8]), tt.zeros([1, 1, 8, 8])), /smaller than the 11×11 Gaussian window/);
  assert.throws(() => F.psnr(tt.zeros([1, 1, 8, 8]), tt.zeros([1, 1, 8, 9])), /same shape/);
});

test('degradations: blur kernels, noise statistics, JPEG, rain, downscaling; DegradedPairs is reproducible', () => {
  const gen = new tt.Generator(0);
  const flat = tt.full([1, 16, 16], 0.4);
  assert.ok(tt.allclose(data.gaussianBlur(flat, 1.5), flat, { atol: 1e-6 }), 'blur keeps a constant image');
  const impulse = tt.zeros([1, 15, 15]);
  impulse.storage[7 * 15 + 7] = 1;
  const g = data.gaussianBlur(impulse, 1);
  const e = (d: number) => Math.exp(-0.5 * d * d);
  const z = [-3, -2, -1, 0, 1, 2, 3].reduce((s, d) => s + e(d), 0);
  assert.ok(Math.abs(g.storage[7 * 15 + 8] - (e(0) * e(1)) / (z * z)) < 1e-6, 'Gaussian tap');
  const mb = data.motionBlur(impulse, 5, 0);
  const mv = mb.dataView();
  for (let i = 0; i < 225; i++)
    if (Math.floor(i / 15) !== 7) assert.ok(Math.abs(mv[i]) < 1e-7, 'horizontal motion stays on the row');
  assert.ok(Math.abs(mb.sum().item() - 1) < 1e-5);
  const k = data.motionBlurKernel(7, 90);
  assert.ok(
    Math.abs(k.flat().reduce((s, v) => s + v, 0) - 1) < 1e-9 &&
      k.length === 9 &&
      k[4][4] > 0 &&
      k[1][4] > 0 &&
      k[4][1] < 1e-12,
    'vertical kernel',
  );

  const mid = tt.full([1, 64, 64], 0.5);
  const noisy = data.gaussianNoise(mid, 0.1, { generator: gen });
  const sd = Math.sqrt(tt.square(noisy.sub(mid)).mean().item());
  assert.ok(Math.abs(sd - 0.1) < 0.01, `noise sd ${sd}`);
  const shot = data.poissonNoise(tt.full([1, 64, 64], 0.25), 40, { generator: gen });
  const m = shot.mean().item(),
    v = tt.square(shot.sub(m)).mean().item();
  assert.ok(Math.abs(m - 0.25) < 0.01 && Math.abs(v - 0.25 / 40) < 0.0015, `poisson mean ${m} var ${v}`);

  const cam = photo('camera').squeeze(0);
  const q90 = F.psnr(data.jpegArtifacts(cam, 90), cam).item();
  const q10 = F.psnr(data.jpegArtifacts(cam, 10), cam).item();
  assert.ok(q90 > 35 && q10 < q90 - 5, `JPEG PSNR q90 ${q90}, q10 ${q10}`);
  const astro = photo('astronaut').squeeze(0);
  assert.deepEqual(data.jpegArtifacts(astro, 50).shape, [3, 64, 64]);

  const rainy = data.rainStreaks(cam, { density: 0.02, length: 11, angle: 0, generator: gen });
  assert.ok(rainy.sub(cam).min().item() >= -1e-7, 'rain only brightens');
  const diff = rainy.sub(cam).squeeze(0).dataView();
  let vert = 0,
    horiz = 0;
  for (let i = 1; i < 63; i++)
    for (let j = 1; j < 63; j++) {
      vert += diff[i * 64 + j] * diff[(i + 1) * 64 + j];
      horiz += diff[i * 64 + j] * diff[i * 64 + j + 1];
    }
  assert.ok(vert > 2 * horiz, `streaks fall vertically (${vert} vs ${horiz})`);

  const small = data.downscale(cam, 4, { restoreSize: false });
  assert.deepEqual(small.shape, [1, 16, 16]);
  assert.ok(Math.abs(small.storage[0] - cam.narrow(1, 0, 4).narrow(2, 0, 4).mean().item()) < 1e-6);
  const lowRes = data.downscale(cam, 4);
  assert.deepEqual(lowRes.shape, [1, 64, 64]);
  assert.ok(F.ssim(lowRes.unsqueeze(0), cam.unsqueeze(0)).item() < 0.95);

  const images = new data.TensorDataset(tt.stack([cam, cam]));
  const pairs = new data.DegradedPairs(images, (img, gg) => data.gaussianNoise(img, 25 / 255, { generator: gg }), 7);
  const [d0, c0] = pairs.get(0);
  assert.ok(tt.allclose(pairs.get(0)[0], d0), 'same pair each time');
  assert.ok(!tt.allclose(pairs.get(1)[0], d0), 'different noise per index');
  assert.ok(tt.allclose(c0, cam));
  assert.throws(() => data.downscale(cam, 5), /not divisible by factor 5/);
  assert.throws(() => data.jpegArtifacts(cam, 0), /quality must be an integer in 1..100/);
});
