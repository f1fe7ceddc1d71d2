// The judge of the conditional-GAN proof: a small CNN trained by fit on real Fashion-MNIST training images only
// (never on GAN samples). Its probabilities and 128-d penultimate features are the offline stand-ins for Inception v3
// (FID and classifier score in *this classifier's* space). models.smallCnn with batch norm (one 3×3 conv → BN → ReLU
// → 2×2 max pool per block, 32 then 64 channels, a 128-unit hidden layer), random horizontal flips, AdamW with a
// OneCycle schedule (Smith & Topin 2019) — the recipe of the README's Fashion-MNIST section at the cost of smallCnn.
// Usage: TATAMI_NUM_THREADS=1 nice -n 19 npx tsx examples/fashion-judge.ts [epochs=8] [out=runs/fashion-judge.safetensors]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tt from '../src/index.ts';

/** Builds the judge network (untrained). */
export const judgeNet = () => tt.models.smallCnn({ inChannels: 1, imageSize: 28, numClasses: 10, batchNorm: true });

/** The judge's 128-d penultimate features (after the hidden layer's ReLU) of images [N, 1, 28, 28] in [0, 1]. */
export function judgeFeatures(clf: tt.nn.Sequential, x01: tt.Tensor): tt.Tensor {
  return tt.noGrad(() => {
    const mods = [...clf.children()] as tt.nn.Module[];
    const out: tt.Tensor[] = [];
    for (let i = 0; i < x01.shape[0]; i += 500) {
      let h = x01.narrow(0, i, Math.min(500, x01.shape[0] - i));
      for (const m of mods.slice(0, mods.length - 1)) h = m.forward(h) as tt.Tensor;
      out.push(h);
    }
    return tt.cat(out, 0);
  });
}

/** Trains the judge on all 60,000 training images (flips only: a random crop under-fits this small a net). */
export async function trainJudge(epochs: number, log: (s: string) => void = console.log) {
  tt.manualSeed(0);
  const train = new tt.data.FashionMNIST({ train: true, transform: new tt.data.transforms.RandomHorizontalFlip() });
  const clf = judgeNet();
  const loader = new tt.data.DataLoader(train, { batchSize: 128, shuffle: true, generator: new tt.Generator(1) });
  const optimizer = new tt.optim.AdamW(clf.parameters(), { lr: 3e-4, weightDecay: 0.01 });
  const history = await tt.train.fit(clf, loader, {
    epochs,
    optimizer,
    scheduler: new tt.optim.OneCycleLR(optimizer, 3e-3, { totalSteps: epochs * loader.length }),
    schedulerPerBatch: true,
    progress: false,
    log,
  });
  clf.eval();
  return { clf, history };
}

/** Per-class and overall accuracy of a classifier on the 10,000 test images. */
export function judgeAccuracy(clf: tt.nn.Module) {
  const test = new tt.data.FashionMNIST({ train: false });
  const x = test.data.to('float32').div(255).unsqueeze(1);
  const pred = tt.noGrad(() => {
    const out: number[] = [];
    for (let i = 0; i < x.shape[0]; i += 500)
      out.push(...((clf.forward(x.narrow(0, i, 500)) as tt.Tensor).argmax(1).toArray() as number[]));
    return out;
  });
  const y = test.targets.toArray() as number[];
  const perClass = Array.from({ length: 10 }, (_, c) => {
    const idx = y.flatMap((t, i) => (t === c ? [i] : []));
    return idx.filter((i) => pred[i] === c).length / idx.length;
  });
  return { accuracy: pred.filter((p, i) => p === y[i]).length / y.length, perClass };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const epochs = Number(process.argv[2] ?? 8);
  const out = process.argv[3] ?? 'runs/fashion-judge.safetensors';
  const c0 = process.cpuUsage();
  const { clf, history } = await trainJudge(epochs);
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = Math.round((cpu.user + cpu.system) / 1e6);
  const acc = judgeAccuracy(clf);
  console.log(
    `judge: test accuracy ${(acc.accuracy * 100).toFixed(2)} %, per class ${acc.perClass.map((v) => v.toFixed(3)).join(' ')}; ${cpuSeconds} s CPU`,
  );
  mkdirSync(dirname(out), { recursive: true });
  await tt.saveSafetensors(out, clf.stateDict());
  writeFileSync(
    out.replace(/\.safetensors$/, '.json'),
    JSON.stringify(
      { model: 'smallCnn(batchNorm)', epochs, cpuSeconds, testAccuracy: acc.accuracy, perClass: acc.perClass, history },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}
