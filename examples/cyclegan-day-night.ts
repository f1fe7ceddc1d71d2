// CycleGAN between two unpaired domains made offline: daylight patches of the shipped photos (A) and procedural
// night versions of *other* patches (B, data.toNight). Trains with models.cycleganTrainingStep on fit and writes a
// grid: rows day → G(day) and night → F(night).
// Usage: npx tsx examples/cyclegan-day-night.ts [epochs=4] [out.png] [patches=256] [size=32]
import * as tt from '../src/index.ts';

const epochs = Number(process.argv[2] ?? 4);
const out = process.argv[3] ?? 'cyclegan-day-night.png';
const count = Number(process.argv[4] ?? 256);
const size = Number(process.argv[5] ?? 32);
tt.manualSeed(0);
// the photos at half size, so a patch shows more of the scene
const photos = ['assets/images/chelsea.png', 'assets/images/coffee.png'].map((p) => {
  const img = tt.readImage(p, { mode: 'rgb' }).to('float32').div(255).unsqueeze(0);
  return tt.F.interpolate(img, { scaleFactor: 0.5, mode: 'bilinear' }).squeeze(0);
});
const gen = new tt.Generator(1);
const day = tt.data.randomPatches(photos, count, size, gen);
const night = tt.data.toNight(tt.data.randomPatches(photos, count, size, gen), gen);
// G's tanh range
const ds = new tt.data.UnpairedDataset(day.mul(2).sub(1), night.mul(2).sub(1), 0);
const loader = new tt.data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new tt.Generator(2) });
// the paper's networks at a CPU-sized width: 6 residual blocks (its 128×128 generator), ngf 16, 70×70-style D of ndf 16
const net = new tt.models.CycleGAN({ ngf: 16, numBlocks: 6, ndf: 16 });
for (const p of net.parameters()) tt.nn.init.normal_(p, 0, 0.02); // the authors' init_type 'normal', gain 0.02
for (const [name, p] of net.namedParameters()) if (name.endsWith('bias')) tt.nn.init.zeros_(p);
const betas: [number, number] = [0.5, 0.999];
const optimizerD = new tt.optim.Adam(net.discriminatorParameters(), { lr: 2e-4, betas });
const step = tt.models.cycleganTrainingStep(net, optimizerD, {
  poolA: new tt.models.ImagePool(50),
  poolB: new tt.models.ImagePool(50),
});
const t0 = performance.now(),
  c0 = process.cpuUsage();
await tt.train.fit(net, loader, {
  epochs,
  optimizer: new tt.optim.Adam(net.generatorParameters(), { lr: 2e-4, betas }),
  trainingStep: step,
  log: (line) =>
    console.log(
      `${line} · D_A ${step.last!.lossDA.toFixed(3)} D_B ${step.last!.lossDB.toFixed(3)} cycle ${(step.last!.cycleA + step.last!.cycleB).toFixed(3)}`,
    ),
  progress: false,
});
const cpu = process.cpuUsage(c0);
console.log(
  `trained ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU`,
);
net.eval();
const k = 8;
const dayIn = day.narrow(0, 0, k),
  nightIn = night.narrow(0, 0, k);
const [toNightOut, toDayOut] = tt.noGrad(() => [
  net.generatorAB.forward(dayIn.mul(2).sub(1)),
  net.generatorBA.forward(nightIn.mul(2).sub(1)),
]);
const rows = [dayIn, toNightOut.add(1).div(2), nightIn, toDayOut.add(1).div(2)];
tt.saveImageGrid(out, tt.cat(rows, 0).clamp(0, 1), { nrow: k, padding: 1 });
console.log(`wrote ${out}: rows day, G(day), night, F(night)`);
