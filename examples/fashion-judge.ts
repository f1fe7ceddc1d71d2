// The judge of the GAN proofs: models.smallCnn trained by fit on Fashion-MNIST (the full set). Its probabilities
// and 128-d penultimate features are the offline stand-ins for Inception v3 in examples/gan-fashion-proof.ts and
// examples/cgan-fashion-proof.ts (FID and classifier score in *this classifier's* space).
// Usage: nice -n 10 npx tsx examples/fashion-judge.ts [epochs=2] [out=runs/fashion-judge.safetensors]
import * as tt from '../src/index.ts';

/** Builds the judge network (untrained). */
export const judgeNet = () => tt.models.smallCnn({ inChannels: 1, imageSize: 28, numClasses: 10 });

/** Trains the judge on all 60,000 training images; returns it with its per-class test accuracy. */
export async function trainJudge(epochs: number) {
  tt.manualSeed(0);
  const train = new tt.data.FashionMNIST({ train: true });
  const clf = judgeNet();
  const loader = new tt.data.DataLoader(
    new tt.data.TensorDataset(train.data.to('float32').div(255).unsqueeze(1), train.targets),
    { batchSize: 128, shuffle: true, generator: new tt.Generator(1) },
  );
  const optimizer = new tt.optim.Adam(clf.parameters(), { lr: 1e-3 });
  await tt.train.fit(clf, loader, {
    epochs,
    optimizer,
    scheduler: new tt.optim.CosineAnnealingLR(optimizer, epochs * loader.length),
    schedulerPerBatch: true,
    progress: false,
    log: console.log,
  });
  clf.eval();
  return clf;
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
  const epochs = Number(process.argv[2] ?? 2);
  const out = process.argv[3] ?? 'runs/fashion-judge.safetensors';
  const c0 = process.cpuUsage();
  const clf = await trainJudge(epochs);
  const cpu = process.cpuUsage(c0);
  const acc = judgeAccuracy(clf);
  console.log(
    `judge: test accuracy ${(acc.accuracy * 100).toFixed(2)} %, per class ${acc.perClass.map((v) => v.toFixed(3)).join(' ')}; ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU`,
  );
  await tt.saveSafetensors(out, clf.stateDict());
  console.log(`wrote ${out}`);
}
