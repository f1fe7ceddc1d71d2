// Proof run for the conditional GAN on Fashion-MNIST: ConditionalGenerator + ProjectionDiscriminator trained by fit
// with models.ganTrainingStep; every `evalEvery` steps (and at the end) 1,000 samples, 100 per requested class, are
// labelled by the judge (examples/fashion-judge.ts: a Tatami-trained smallCnn with batch norm, trained on real
// training images only) — the rate at which the judge agrees with the requested class, per class and overall — and
// the Fréchet distance of their judge features to 1,000 real test images'. Writes <out>/images/cgan-fashion.png
// (one row per class) and <out>/cgan-fashion-proof.json.
// Usage: TATAMI_NUM_THREADS=1 nice -n 19 npx tsx examples/cgan-fashion-proof.ts [steps=3000] [evalEvery=500]
//   [judge=runs/fashion-judge.safetensors]   (trains the judge, 8 epochs, when the judge file does not exist.)
// Env, for the diagnostic runs (defaults = the final recipe): CGAN_LOSS (hinge), CGAN_WIDTH (32), CGAN_LR_D (4e-4),
//   CGAN_LR_G (1e-4), CGAN_BETAS (0,0.9), CGAN_LABEL_MAPS (1: one-hot maps into every D layer), CGAN_CBN (1:
//   conditional batch norm in G), CGAN_SN (1: spectral norm in D), CGAN_OUT (docs).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as tt from '../src/index.ts';
import { judgeAccuracy, judgeFeatures, judgeNet, trainJudge } from './fashion-judge.ts';

const steps = Number(process.argv[2] ?? 3000),
  evalEvery = Number(process.argv[3] ?? 500),
  judgePath = process.argv[4] ?? 'runs/fashion-judge.safetensors';
const env = process.env;
const lossKind = (env.CGAN_LOSS ?? 'hinge') as tt.models.GanLossKind;
const width = Number(env.CGAN_WIDTH ?? 32),
  lrD = Number(env.CGAN_LR_D ?? 4e-4),
  lrG = Number(env.CGAN_LR_G ?? 1e-4);
const betas = (env.CGAN_BETAS ?? '0,0.9').split(',').map(Number) as [number, number];
const outDir = env.CGAN_OUT ?? 'docs';
const labelMaps = env.CGAN_LABEL_MAPS !== '0',
  conditionalNorm = env.CGAN_CBN !== '0',
  spectralNorm = env.CGAN_SN !== '0';
mkdirSync(`${outDir}/images`, { recursive: true });
const cpuSeconds = (c: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(c);
  return Math.round((u.user + u.system) / 1e6);
};

// the judge
let c0 = process.cpuUsage();
let judge: tt.nn.Sequential;
let judgeCpu: number | null = null;
if (existsSync(judgePath)) {
  judge = judgeNet();
  judge.loadStateDict(await tt.loadSafetensors(judgePath));
  judge.eval();
} else {
  judge = (await trainJudge(8)).clf;
  judgeCpu = cpuSeconds(c0);
  await tt.saveSafetensors(judgePath, judge.stateDict());
}
const judgeAcc = judgeAccuracy(judge);
console.log(
  `judge: test accuracy ${(judgeAcc.accuracy * 100).toFixed(2)} %, per class ${judgeAcc.perClass.map((v) => v.toFixed(3)).join(' ')}`,
);

// the cGAN
tt.manualSeed(0);
const train = new tt.data.FashionMNIST({ train: true });
const images = train.data.to('float32').div(127.5).sub(1).unsqueeze(1); // tanh range
const G = new tt.models.ConditionalGenerator(10, { width, conditionalNorm }),
  D = new tt.models.ProjectionDiscriminator(10, { width, labelMaps, spectralNorm });
tt.models.dcganInit(G);
const gan = new tt.models.GAN(G, D);
const step = tt.models.ganTrainingStep(gan, new tt.optim.Adam(D.parameters(), { lr: lrD, betas }), {
  loss: lossKind,
  labelSmoothing: lossKind === 'bce' ? 0.1 : 0, // one-sided, as the DCGAN proof
  conditional: true,
  nz: G.nz,
});
const trainSet = new tt.data.TensorDataset(images, train.targets);
// exactly `steps` batches of 64, in shuffled passes over the 60,000 images (PyTorch's RandomSampler(num_samples=…))
const loader = new tt.data.DataLoader(trainSet, {
  batchSize: 64,
  sampler: new tt.data.RandomSampler(trainSet, { numSamples: steps * 64 }),
  generator: new tt.Generator(2),
});
const test = new tt.data.FashionMNIST({ train: false });
const realFeat = judgeFeatures(judge, test.data.narrow(0, 0, 1000).to('float32').div(255).unsqueeze(1));
const realSelf = tt.train.fid(
  realFeat,
  judgeFeatures(judge, test.data.narrow(0, 1000, 1000).to('float32').div(255).unsqueeze(1)),
);
const N_EVAL = 1000;
const wantArr = Array.from({ length: N_EVAL }, (_, i) => i % 10);
const want = tt.tensor(wantArr, { dtype: 'int32' });
const zEval = tt.randn([N_EVAL, G.nz], { generator: new tt.Generator(5) });
// the truncation trick (Brock et al. 2019, BigGAN): components with |z| > 1 redrawn until inside — less diverse,
// more typical samples; reported next to the plain N(0, I) samples, never instead of them
const zTrunc = (() => {
  const g = new tt.Generator(6);
  const v = zEval.toArray() as number[];
  for (let i = 0; i < v.length; i++) while (Math.abs(v[i]) > 1) v[i] = g.normal();
  return tt.tensor(v).reshape(zEval.shape);
})();
const samples = (z = zEval) =>
  tt.noGrad(() => {
    G.eval();
    const s = G.forward(z, want).add(1).div(2);
    G.train();
    return s;
  });
function rate(s01: tt.Tensor) {
  const got = tt.noGrad(() => (judge.forward(s01) as tt.Tensor).argmax(1).toArray() as number[]);
  const perClass = Array.from(
    { length: 10 },
    (_, c) => got.filter((g, i) => wantArr[i] === c && g === c).length / (N_EVAL / 10),
  );
  return { accuracy: got.filter((g, i) => g === wantArr[i]).length / N_EVAL, perClass };
}
/** The judge's verdict on G as it is now: requested-class rates and the FID of its samples (judge features). */
function measure() {
  const final = samples();
  return { final, r: rate(final), fid: tt.train.fid(realFeat, judgeFeatures(judge, final)) };
}
/** Writes the grid and the numbers of the generator as it is now (after each probe, so a stopped run keeps them). */
function save(finished: boolean, history: tt.train.EpochRecord[] = [], m = measure()) {
  const ganCpu = cpuSeconds(c0);
  const { final, r, fid } = m;
  // the truncation trick only at the end (one more set of 1,000 samples): it changed nothing in the first runs
  const rt = finished ? rate(samples(zTrunc)) : null;
  if (finished && rt)
    console.log(
      `final: requested class ${(r.accuracy * 100).toFixed(1)} % · ${r.perClass.map((v) => v.toFixed(2)).join(' ')}; truncated z ${(rt.accuracy * 100).toFixed(1)} %; FID (judge features) ${fid.toFixed(2)}, real vs real ${realSelf.toFixed(2)}`,
    );
  const order = Array.from({ length: 80 }, (_, k) => (k % 8) * 10 + Math.floor(k / 8)); // one row per class
  tt.saveImageGrid(`${outDir}/images/cgan-fashion.png`, final.indexSelect(0, tt.tensor(order, { dtype: 'int32' })), {
    nrow: 8,
    padding: 1,
  });
  writeFileSync(
    `${outDir}/cgan-fashion-proof.json`,
    JSON.stringify(
      {
        command: `npx tsx examples/cgan-fashion-proof.ts ${steps} ${evalEvery}`,
        env: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('CGAN_'))),
        finished,
        judge: {
          model: 'smallCnn({ batchNorm: true })',
          cpuSeconds: judgeCpu,
          testAccuracy: judgeAcc.accuracy,
          perClass: judgeAcc.perClass,
        },
        cgan: {
          steps: global,
          batch: 64,
          width,
          loss: lossKind,
          labelMaps,
          conditionalNorm,
          spectralNorm,
          lrD,
          lrG,
          betas,
          cpuSeconds: ganCpu,
          requestedClassAccuracy: r.accuracy,
          perClass: r.perClass,
          truncated: rt,
          fid,
          fidRealVsReal: realSelf,
        },
        trace,
        history,
      },
      null,
      2,
    ) + '\n',
  );
}
const trace: { step: number; accuracy: number; perClass: number[]; fid: number; cpuSeconds: number }[] = [];
c0 = process.cpuUsage();
let global = 0;
const probe = () => {
  const m = measure();
  trace.push({ step: global, ...m.r, fid: m.fid, cpuSeconds: cpuSeconds(c0) });
  save(false, [], m);
  console.log(
    `step ${global}: requested class ${(m.r.accuracy * 100).toFixed(1)} % · ${m.r.perClass.map((v) => v.toFixed(2)).join(' ')} · FID ${m.fid.toFixed(1)} · D ${step.last?.lossD.toFixed(3)} G ${step.last?.lossG.toFixed(3)} dReal ${step.last?.dReal.toFixed(2)} dFake ${step.last?.dFake.toFixed(2)} · ${cpuSeconds(c0)} s CPU`,
  );
};
const history = await tt.train.fit(gan, loader, {
  epochs: 1,
  optimizer: new tt.optim.Adam(G.parameters(), { lr: lrG, betas }),
  trainingStep: step,
  progress: false,
  log: console.log,
  callbacks: [
    {
      onBatchEnd: () => {
        global++;
        if (global % evalEvery === 0) probe();
      },
    },
  ],
});
save(true, history);
console.log(`wrote ${outDir}/images/cgan-fashion.png and ${outDir}/cgan-fashion-proof.json`);
