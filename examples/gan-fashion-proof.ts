// Proof runs for the GANs on Fashion-MNIST (the full set: Debian's dataset-fashion-mnist or TATAMI_DATA):
// 1. a small CNN classifier trained with fit — its 128-d penultimate features and its probabilities are the offline
//    stand-ins for Inception v3 (so the "FID" here is a Fréchet distance in *this classifier's* feature space, and the
//    class score is an Inception Score with this classifier: comparable between runs of this script only);
// 2. the 1×28×28 DCGAN (models.dcgan) trained with ganStep; its samples' class histogram, FID and score against an
//    untrained generator's;
// 3. the conditional GAN (ConditionalGenerator + ProjectionDiscriminator): how often the classifier assigns a sample
//    to the class it was asked for.
// Writes sample grids to docs/images and the numbers to docs/gan-fashion-proof.json.
// Usage: nice -n 10 npx tsx examples/gan-fashion-proof.ts [dcganSteps=1500] [cganSteps=1500] [classifierImages=60000]
import { writeFileSync } from 'node:fs';
import * as tt from '../src/index.ts';

const dcganSteps = Number(process.argv[2] ?? 1500),
  cganSteps = Number(process.argv[3] ?? 1500);
const classifierImages = Number(process.argv[4] ?? 60000);
const N_EVAL = 1000;
tt.manualSeed(0);
const clock = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
const since = (c: ReturnType<typeof clock>) => {
  const u = process.cpuUsage(c.cpu);
  return {
    wallSeconds: Math.round((performance.now() - c.wall) / 1000),
    cpuSeconds: Math.round((u.user + u.system) / 1e6),
  };
};
const train = new tt.data.FashionMNIST({ train: true }),
  test = new tt.data.FashionMNIST({ train: false });
const images = train.data.to('float32').div(255).unsqueeze(1); // [60000, 1, 28, 28] in [0, 1]
const testImages = test.data.to('float32').div(255).unsqueeze(1);
const result: Record<string, unknown> = {
  note: 'FID and score computed on the features/probabilities of the Tatami-trained small CNN below, not Inception v3',
};

// 1. classifier
let c0 = clock();
const clf = tt.models.smallCnn({ inChannels: 1, imageSize: 28, numClasses: 10 });
const sub = tt.arange(classifierImages);
const loader = new tt.data.DataLoader(
  new tt.data.TensorDataset(images.indexSelect(0, sub), train.targets.indexSelect(0, sub)),
  { batchSize: 128, shuffle: true, generator: new tt.Generator(1) },
);
await tt.train.fit(clf, loader, {
  epochs: 1,
  optimizer: new tt.optim.Adam(clf.parameters(), { lr: 1e-3 }),
  progress: false,
  log: console.log,
});
clf.eval();
const features = (x01: tt.Tensor) =>
  tt.noGrad(() => {
    const out: tt.Tensor[] = [];
    for (let i = 0; i < x01.shape[0]; i += 250) {
      let h = x01.narrow(0, i, Math.min(250, x01.shape[0] - i));
      const mods = [...clf.children()];
      for (const m of mods.slice(0, mods.length - 1)) h = (m as tt.nn.Module).forward(h);
      out.push(h);
    }
    return tt.cat(out, 0);
  });
const probsOf = (x01: tt.Tensor) => tt.noGrad(() => tt.softmax(clf.forward(x01) as tt.Tensor, 1));
const testAcc = tt.noGrad(() =>
  probsOf(testImages.narrow(0, 5000, 5000))
    .argmax(1)
    .eq(test.targets.narrow(0, 5000, 5000))
    .to('float32')
    .mean()
    .item(),
);
result.classifier = {
  model: 'smallCnn',
  trainImages: classifierImages,
  epochs: 1,
  testAccuracy: testAcc,
  testImages: 5000,
  ...since(c0),
};
console.log(`classifier: test accuracy ${(testAcc * 100).toFixed(2)} %`, since(c0));
const realFeat = features(testImages.narrow(0, 0, N_EVAL));
const realSelf = tt.train.fid(realFeat, features(testImages.narrow(0, N_EVAL, N_EVAL)));

function judge(name: string, samples01: tt.Tensor) {
  const p = probsOf(samples01);
  const hist = Array(10).fill(0);
  for (const c of p.argmax(1).toArray() as number[]) hist[c]++;
  const r = {
    fid: tt.train.fid(realFeat, features(samples01)),
    classifierScore: tt.train.classifierScore(p, { splits: 10 }).mean,
    classHistogram: hist,
  };
  console.log(`${name}: FID ${r.fid.toFixed(2)}, score ${r.classifierScore.toFixed(2)}, classes ${hist.join(' ')}`);
  return r;
}

// 2. DCGAN
c0 = clock();
const { generator: G, discriminator: D, nz } = tt.models.dcgan({ imageSize: 28, ngf: 32, ndf: 32 });
tt.models.dcganInit(G);
tt.models.dcganInit(D);
const gen = new tt.Generator(3);
const zEval = tt.randn([N_EVAL, nz, 1, 1], { generator: new tt.Generator(4) });
const sample = () =>
  tt.noGrad(() => {
    G.eval();
    const s = G.forward(zEval).add(1).div(2);
    G.train();
    return s;
  });
const untrained = judge('untrained DCGAN', sample());
const parts = {
  generator: G,
  discriminator: D,
  optimizerG: new tt.optim.Adam(G.parameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
  optimizerD: new tt.optim.Adam(D.parameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
};
for (let s = 1; s <= dcganSteps; s++) {
  const idx = tt.randint(0, images.shape[0], [64], { generator: gen });
  const r = tt.models.ganStep(parts, images.indexSelect(0, idx).mul(2).sub(1), { labelSmoothing: 0.1, generator: gen });
  if (s % 100 === 0) console.log(`dcgan step ${s}: D ${r.lossD.toFixed(3)} G ${r.lossG.toFixed(3)}`, since(c0));
}
const samples = sample();
result.dcgan = {
  steps: dcganSteps,
  batch: 64,
  ngf: 32,
  ndf: 32,
  loss: 'bce, one-sided smoothing 0.1',
  untrained,
  trained: judge('trained DCGAN', samples),
  realVsReal: realSelf,
  ...since(c0),
};
tt.saveImageGrid('docs/images/dcgan-fashion.png', samples.narrow(0, 0, 64), { nrow: 8, padding: 1 });

// 3. conditional GAN
c0 = clock();
const cG = new tt.models.ConditionalGenerator(10, { width: 32 }),
  cD = new tt.models.ProjectionDiscriminator(10, { width: 32 });
tt.models.dcganInit(cG);
const cparts = {
  generator: cG,
  discriminator: cD,
  optimizerG: new tt.optim.Adam(cG.parameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
  optimizerD: new tt.optim.Adam(cD.parameters(), { lr: 2e-4, betas: [0.5, 0.999] }),
};
for (let s = 1; s <= cganSteps; s++) {
  const idx = tt.randint(0, images.shape[0], [64], { generator: gen });
  const r = tt.models.ganStep(
    cparts,
    images.indexSelect(0, idx).mul(2).sub(1),
    { loss: 'hinge', generator: gen },
    train.targets.indexSelect(0, idx),
  );
  if (s % 100 === 0) console.log(`cgan step ${s}: D ${r.lossD.toFixed(3)} G ${r.lossG.toFixed(3)}`, since(c0));
}
cG.eval();
const wantArr = Array.from({ length: N_EVAL }, (_, i) => i % 10);
const want = tt.tensor(wantArr, { dtype: 'int32' });
const csamples = tt.noGrad(() =>
  cG
    .forward(tt.randn([N_EVAL, 100], { generator: new tt.Generator(5) }), want)
    .add(1)
    .div(2),
);
const got = probsOf(csamples).argmax(1).toArray() as number[];
const perClass = Array.from(
  { length: 10 },
  (_, c) => got.filter((g, i) => wantArr[i] === c && g === c).length / (N_EVAL / 10),
);
const accuracy = got.filter((g, i) => g === wantArr[i]).length / N_EVAL;
result.cgan = {
  steps: cganSteps,
  batch: 64,
  width: 32,
  loss: 'hinge, projection discriminator',
  requestedClassAccuracy: accuracy,
  perClass,
  ...judge('cGAN', csamples),
  ...since(c0),
};
console.log(
  `cGAN: classifier agrees with the requested class for ${(accuracy * 100).toFixed(1)} %`,
  perClass.map((v) => v.toFixed(2)).join(' '),
);
// one row per class
const order = Array.from({ length: 80 }, (_, k) => (k % 8) * 10 + Math.floor(k / 8));
tt.saveImageGrid('docs/images/cgan-fashion.png', csamples.indexSelect(0, tt.tensor(order, { dtype: 'int32' })), {
  nrow: 8,
  padding: 1,
});
writeFileSync('docs/gan-fashion-proof.json', JSON.stringify(result, null, 2) + '\n');
console.log('wrote docs/gan-fashion-proof.json, docs/images/dcgan-fashion.png, docs/images/cgan-fashion.png');
