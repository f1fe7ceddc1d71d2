// pix2pix on Fashion-MNIST: edge map → garment (the paper's edges → shoes/handbags task at 32×32). Edge maps are
// made offline from the images (Sobel gradient magnitude, thresholded); the 28×28 images are padded to 32×32 so
// the U-Net can halve them five times. G is pix2pix's U-Net (numDowns 5, ngf 16, dropout), D a PatchGAN on the
// (edges, garment) pair (2 layers, ndf 16: 10×10 receptive field on 32×32); the objective is BCE + 100·L1.
// Trained by fit with a trainingStep that updates D first and returns G's loss. Writes a grid: rows test edge maps,
// pix2pix output, the real garment.
// Usage: nice -n 10 npx tsx examples/pix2pix-edges-fashion.ts [epochs=2] [images=2048] [out=docs/images/gen-pix2pix-edges.png]
import * as tt from '../src/index.ts';

const epochs = Number(process.argv[2] ?? 2),
  count = Number(process.argv[3] ?? 2048);
const out = process.argv[4] ?? 'docs/images/gen-pix2pix-edges.png';
tt.manualSeed(0);

/** Binary edge maps of images [N, 1, H, W] in [0, 1]: Sobel magnitude above 0.5 (of a maximum of 4·√2). */
function edges(x: tt.Tensor): tt.Tensor {
  const sx = tt.tensor([-1, 0, 1, -2, 0, 2, -1, 0, 1]).reshape([1, 1, 3, 3]);
  const sy = sx.transpose(2, 3).contiguous();
  const gx = tt.F.conv2d(x, sx, null, { padding: 1 }),
    gy = tt.F.conv2d(x, sy, null, { padding: 1 });
  return gx.square().add(gy.square()).sqrt().gt(0.5).to('float32');
}
const pad = (x: tt.Tensor) => tt.F.pad(x, [2, 2, 2, 2]);
const prepare = (train: boolean, n: number) => {
  const ds = new tt.data.FashionMNIST({ train });
  const x = ds.data.narrow(0, 0, n).to('float32').div(255).unsqueeze(1);
  // both in G's tanh range; the edge map is the input, the garment the target
  return { input: pad(edges(x)).mul(2).sub(1), target: pad(x).mul(2).sub(1) };
};
const trainSet = prepare(true, count),
  testSet = prepare(false, 8);
const loader = new tt.data.DataLoader(new tt.data.TensorDataset(trainSet.input, trainSet.target), {
  batchSize: 16,
  shuffle: true,
  generator: new tt.Generator(1),
});
const G = new tt.models.UnetGenerator(1, 1, { numDowns: 5, ngf: 16 });
const D = new tt.models.PatchGANDiscriminator(2, { ndf: 16, numLayers: 2 });
for (const net of [G, D]) tt.models.dcganInit(net); // the authors' init_type 'normal', gain 0.02
const gan = new tt.models.GAN(G, D);
const betas: [number, number] = [0.5, 0.999];
const optimizerD = new tt.optim.Adam(D.parameters(), { lr: 2e-4, betas });
let last = { lossD: 0, l1: 0 };
const c0 = process.cpuUsage(),
  t0 = performance.now();
await tt.train.fit(gan, loader, {
  epochs,
  optimizer: new tt.optim.Adam(G.parameters(), { lr: 2e-4, betas }),
  // pix2pix's alternating update: D on (edges, real) vs (edges, G(edges)) — the paper halves D's loss — then G
  trainingStep: ([edgeMap, real]) => {
    const fake = G.forward(edgeMap);
    const dLoss = tt.models
      .discriminatorLoss('bce', D.forward(tt.cat([edgeMap, real], 1)), D.forward(tt.cat([edgeMap, fake.detach()], 1)))
      .mul(0.5);
    optimizerD.zeroGrad();
    dLoss.backward();
    optimizerD.step();
    const loss = tt.models.pix2pixLoss(D.forward(tt.cat([edgeMap, fake], 1)), fake, real);
    last = { lossD: dLoss.item(), l1: tt.noGrad(() => tt.F.l1Loss(fake, real).item()) };
    return { loss, logs: last };
  },
  progress: false,
  log: console.log,
});
const cpu = process.cpuUsage(c0);
console.log(
  `trained ${epochs} epochs of ${count} pairs: ${((performance.now() - t0) / 1000).toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU; last D ${last.lossD.toFixed(3)}, L1 ${last.l1.toFixed(3)}`,
);
G.eval(); // the paper keeps dropout at test time for diversity; eval() gives the deterministic mapping
const fake = tt.noGrad(() => G.forward(testSet.input));
const testL1 = tt.F.l1Loss(fake, testSet.target).item() / 2; // in [0, 1] pixel units
const rows = [testSet.input, fake, testSet.target].map((t) => t.add(1).div(2).clamp(0, 1));
tt.saveImageGrid(out, tt.cat(rows, 0), { nrow: 8, padding: 1 });
console.log(`wrote ${out}: rows test edge maps, pix2pix output, real garments (test L1 ${testL1.toFixed(3)} of 1)`);
