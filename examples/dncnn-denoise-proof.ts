// DnCNN proof: Gaussian denoising at σ = 25 (of 255) learned from patches of two shipped photos (chelsea, coffee;
// gray) and measured on a photo it never saw (camera.png, CC0): the 64 non-overlapping 64×64 patches of the
// 512×512 image, with noise from a fixed seed. Reports PSNR and SSIM (data.psnr / F.ssim, skimage's definitions)
// of the noisy input and of DnCNN's output, writes the table to docs/dncnn-denoise-proof.json and a before/after
// picture (clean | noisy | denoised) to docs/images/gen-dncnn-camera.png.
// Usage: nice -n 10 npx tsx examples/dncnn-denoise-proof.ts [epochs=6] [patches=1024] [depth=8] [features=32]
import { writeFileSync } from 'node:fs';
import * as tt from '../src/index.ts';

const epochs = Number(process.argv[2] ?? 6),
  count = Number(process.argv[3] ?? 1024),
  depth = Number(process.argv[4] ?? 8),
  features = Number(process.argv[5] ?? 32);
const SIGMA = 25 / 255;
tt.manualSeed(0);
const gray = (path: string) => tt.readImage(path, { mode: 'gray' }).to('float32').div(255);
// training patches: random 40×40 crops (with flips) of the two training photos, fresh noise every batch
const trainPhotos = ['assets/images/chelsea.png', 'assets/images/coffee.png'].map(gray);
const clean = tt.data.randomPatches(trainPhotos, count, 40, new tt.Generator(1));
const loader = new tt.data.DataLoader(new tt.data.TensorDataset(clean), {
  batchSize: 16,
  shuffle: true,
  generator: new tt.Generator(2),
});
const net = new tt.models.DnCNN({ depth, features });
const noiseGen = new tt.Generator(3);
const optimizer = new tt.optim.Adam(net.parameters(), { lr: 1e-3 });
const c0 = process.cpuUsage();
await tt.train.fit(net, loader, {
  epochs,
  optimizer,
  scheduler: new tt.optim.CosineAnnealingLR(optimizer, epochs * loader.length),
  schedulerPerBatch: true,
  // additive white Gaussian noise, not clipped (as the DnCNN paper's σ = 25 setting)
  trainingStep: ([x]) => tt.F.mseLoss(net.forward(x.add(tt.randn(x.shape, { generator: noiseGen }).mul(SIGMA))), x),
  progress: false,
  log: console.log,
});
const u = process.cpuUsage(c0);
const cpuSeconds = Math.round((u.user + u.system) / 1e6);

// held-out photo: the 64 tiles of camera.png
net.eval();
const camera = gray('assets/images/camera.png'); // [1, 512, 512]
const tiles = camera.reshape([1, 8, 64, 8, 64]).permute([1, 3, 0, 2, 4]).reshape([64, 1, 64, 64]).contiguous();
const noisy = tiles.add(tt.randn(tiles.shape, { generator: new tt.Generator(4) }).mul(SIGMA));
const denoised = tt.noGrad(() => net.forward(noisy)).clamp(0, 1);
const noisyClipped = noisy.clamp(0, 1);
const measure = (x: tt.Tensor) => ({
  psnr: tt.F.psnr(x, tiles).item(),
  ssim: tt.F.ssim(x, tiles).item(),
});
const before = measure(noisyClipped),
  after = measure(denoised);
// the whole photo, denoised in one pass (fully convolutional)
const noisyFull = camera.unsqueeze(0).add(tt.randn([1, 1, 512, 512], { generator: new tt.Generator(5) }).mul(SIGMA));
const fullOut = tt.noGrad(() => net.forward(noisyFull)).clamp(0, 1);
const full = {
  noisyPsnr: tt.F.psnr(noisyFull.clamp(0, 1), camera.unsqueeze(0)).item(),
  denoisedPsnr: tt.F.psnr(fullOut, camera.unsqueeze(0)).item(),
  noisySsim: tt.F.ssim(noisyFull.clamp(0, 1), camera.unsqueeze(0)).item(),
  denoisedSsim: tt.F.ssim(fullOut, camera.unsqueeze(0)).item(),
};
console.log(
  `held-out tiles: noisy PSNR ${before.psnr.toFixed(2)} dB SSIM ${before.ssim.toFixed(3)} → DnCNN ${after.psnr.toFixed(2)} dB SSIM ${after.ssim.toFixed(3)} (gain ${(after.psnr - before.psnr).toFixed(2)} dB); whole photo ${full.noisyPsnr.toFixed(2)} → ${full.denoisedPsnr.toFixed(2)} dB; training ${cpuSeconds} s CPU`,
);
// before/after: a 192×192 crop of the whole photo, clean | noisy | denoised
const crop = (t: tt.Tensor) => t.narrow(2, 96, 192).narrow(3, 224, 192);
tt.saveImageGrid(
  'docs/images/gen-dncnn-camera.png',
  tt.cat([crop(camera.unsqueeze(0)), crop(noisyFull.clamp(0, 1)), crop(fullOut)], 0),
  { nrow: 3, padding: 2 },
);
writeFileSync(
  'docs/dncnn-denoise-proof.json',
  JSON.stringify(
    {
      command: `npx tsx examples/dncnn-denoise-proof.ts ${epochs} ${count} ${depth} ${features}`,
      sigma: 25,
      train: { photos: ['chelsea.png', 'coffee.png'], patches: count, patchSize: 40, epochs, batch: 16, cpuSeconds },
      model: { depth, features, parameters: net.parameters().reduce((s, p) => s + p.numel(), 0) },
      test: {
        photo: 'camera.png',
        tiles: 64,
        tileSize: 64,
        noisy: before,
        denoised: after,
        gain: after.psnr - before.psnr,
      },
      wholePhoto: full,
    },
    null,
    2,
  ) + '\n',
);
console.log('wrote docs/dncnn-denoise-proof.json and docs/images/gen-dncnn-camera.png');
