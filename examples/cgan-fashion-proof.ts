// Proof run for the conditional GAN on Fashion-MNIST: ConditionalGenerator + ProjectionDiscriminator trained by fit
// with models.ganTrainingStep; every `evalEvery` steps (and at the end) 1,000 samples, 100 per requested class, are
// labelled by the judge (examples/fashion-judge.ts: a Tatami-trained smallCnn) — the rate at which the judge agrees
// with the requested class, per class and overall. Writes docs/images/cgan-fashion.png (one row per class) and
// docs/cgan-fashion-proof.json.
// Usage: nice -n 10 npx tsx examples/cgan-fashion-proof.ts [epochs=3] [evalEvery=400] [judge=runs/fashion-judge.safetensors]
//   (trains the judge, 3 epochs, when the judge file does not exist.)  Env: CGAN_LOSS (bce), CGAN_WIDTH (32),
//   CGAN_LR (2e-4), CGAN_BETA1 (0.5), CGAN_LABEL_MAPS (1: one-hot maps into every D layer; 0: projection
//   only), CGAN_OUT (docs) — for the diagnostic runs.
import { existsSync, writeFileSync } from 'node:fs';
import * as tt from '../src/index.ts';
import { judgeAccuracy, judgeNet, trainJudge } from './fashion-judge.ts';

const epochs = Number(process.argv[2] ?? 3),
  evalEvery = Number(process.argv[3] ?? 400),
  judgePath = process.argv[4] ?? 'runs/fashion-judge.safetensors';
const env = process.env;
const lossKind = (env.CGAN_LOSS ?? 'bce') as tt.models.GanLossKind;
const width = Number(env.CGAN_WIDTH ?? 32),
  lr = Number(env.CGAN_LR ?? 2e-4),
  beta1 = Number(env.CGAN_BETA1 ?? 0.5);
const outDir = env.CGAN_OUT ?? 'docs';
const labelMaps = env.CGAN_LABEL_MAPS !== '0';
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
  judge = await trainJudge(3);
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
const G = new tt.models.ConditionalGenerator(10, { width }),
  D = new tt.models.ProjectionDiscriminator(10, { width, labelMaps });
tt.models.dcganInit(G);
const gan = new tt.models.GAN(G, D);
const betas: [number, number] = [beta1, 0.999];
const step = tt.models.ganTrainingStep(gan, new tt.optim.Adam(D.parameters(), { lr, betas }), {
  loss: lossKind,
  labelSmoothing: lossKind === 'bce' ? 0.1 : 0, // one-sided, as the DCGAN proof
  conditional: true,
  nz: G.nz,
});
const loader = new tt.data.DataLoader(new tt.data.TensorDataset(images, train.targets), {
  batchSize: 64,
  shuffle: true,
  dropLast: true,
  generator: new tt.Generator(2),
});
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
/** Writes the grid and the numbers of the generator as it is now (after each probe, so a stopped run keeps them). */
function save(finished: boolean, history: tt.train.EpochRecord[] = []) {
  const ganCpu = cpuSeconds(c0);
  const final = samples();
  const r = rate(final);
  const rt = rate(samples(zTrunc));
  if (finished)
    console.log(
      `final: requested class ${(r.accuracy * 100).toFixed(1)} % · ${r.perClass.map((v) => v.toFixed(2)).join(' ')}; truncated z ${(rt.accuracy * 100).toFixed(1)} %`,
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
        command: `npx tsx examples/cgan-fashion-proof.ts ${epochs} ${evalEvery}`,
        finished,
        judge: {
          model: 'smallCnn',
          cpuSeconds: judgeCpu,
          testAccuracy: judgeAcc.accuracy,
          perClass: judgeAcc.perClass,
        },
        cgan: {
          epochs,
          steps: global,
          batch: 64,
          width,
          loss: lossKind,
          labelMaps,
          lr,
          betas,
          cpuSeconds: ganCpu,
          requestedClassAccuracy: r.accuracy,
          perClass: r.perClass,
          truncated: rt,
        },
        trace,
        history,
      },
      null,
      2,
    ) + '\n',
  );
}
const trace: { step: number; accuracy: number; perClass: number[]; truncated: number; cpuSeconds: number }[] = [];
c0 = process.cpuUsage();
let global = 0;
const probe = () => {
  const r = rate(samples());
  const t = rate(samples(zTrunc)).accuracy;
  trace.push({ step: global, ...r, truncated: t, cpuSeconds: cpuSeconds(c0) });
  save(false);
  console.log(
    `step ${global}: requested class ${(r.accuracy * 100).toFixed(1)} % (truncated z ${(t * 100).toFixed(1)} %) · ${r.perClass.map((v) => v.toFixed(2)).join(' ')} · D ${step.last?.lossD.toFixed(3)} G ${step.last?.lossG.toFixed(3)} · ${cpuSeconds(c0)} s CPU`,
  );
};
const history = await tt.train.fit(gan, loader, {
  epochs,
  optimizer: new tt.optim.Adam(G.parameters(), { lr, betas }),
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
