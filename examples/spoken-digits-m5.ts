// M5 (Dai et al. 2017) on the espeak-ng SpokenDigits set, tested on held-out voice variants.
//   npx tsx tools/make-spoken-digits.ts            # once: synthesise the set into the cache (needs espeak-ng)
//   npx tsx examples/spoken-digits-m5.ts [epochs=8] [width=64] [firstStride=16] [batch=32]
// Augmentation per training clip: time shift ±100 ms, gain ±6 dB, extra white noise at 15–40 dB SNR.
// Prints the test accuracy after every epoch.
import * as tt from '../src/index.ts';

const [epochs, width, firstStride, batch] = [8, 64, 16, 32].map((d, i) => Number(process.argv[2 + i] ?? d));
tt.manualSeed(0);
const { data } = tt;
const train = new data.SpokenDigits({ split: 'train' });
const test = new data.SpokenDigits({ split: 'test' });
const stackSplit = (ds: InstanceType<typeof data.SpokenDigits>) => {
  const xs: tt.Tensor[] = [],
    ys: number[] = [];
  for (let i = 0; i < ds.length; i++) {
    const [x, y] = ds.get(i);
    xs.push(x);
    ys.push(y);
  }
  return { x: tt.stack(xs), y: tt.tensor(Int32Array.from(ys), [ys.length], { dtype: 'int32' }) };
};
const tr = stackSplit(train),
  te = stackSplit(test);
console.log(
  `train ${train.length} clips (${new Set(train.clips.map((c) => c.variant)).size} variants), test ${test.length} (held-out variants: ${[...new Set(test.clips.map((c) => c.variant))].join(', ')})`,
);
const model = tt.models.m5({ numClasses: 10, width, firstStride });
const opt = new tt.optim.Adam(model.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
const steps = epochs * Math.ceil(train.length / batch);
const sched = new tt.optim.OneCycleLR(opt, 3e-3, { totalSteps: steps });
const g = new tt.Generator(1);
const augment = [
  new data.RandomTimeShift(800, { generator: g }),
  new data.RandomGain(-6, 6, { generator: g }),
  new data.AddNoise(15, 40, { generator: g }),
];

function evaluate(): number {
  model.eval();
  let correct = 0;
  tt.noGrad(() => {
    for (let i = 0; i < te.x.shape[0]; i += 128) {
      const n = Math.min(128, te.x.shape[0] - i);
      const pred = tt.argmax(model.forward(tt.narrow(te.x, 0, i, n)), 1).dataView();
      const y = tt.narrow(te.y, 0, i, n).dataView();
      for (let k = 0; k < n; k++) if (pred[k] === y[k]) correct++;
    }
  });
  model.train();
  return correct / te.x.shape[0];
}

const t0 = Date.now();
let best = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const perm = tt.randperm(train.length, { generator: g }).dataView();
  let lossSum = 0,
    seen = 0;
  for (let i = 0; i < perm.length; i += batch) {
    const idx = Array.from(perm.slice(i, i + batch));
    const xb = tt.stack(idx.map((j) => augment.reduce((w, t) => t.apply(w), tt.select(tr.x, 0, j))));
    const yb = tt.tensor(Int32Array.from(idx.map((j) => tr.y.dataView()[j])), [idx.length], { dtype: 'int32' });
    opt.zeroGrad();
    const loss = tt.F.crossEntropy(model.forward(xb), yb);
    loss.backward();
    opt.step();
    sched.step();
    lossSum += loss.item() * idx.length;
    seen += idx.length;
  }
  const acc = evaluate();
  best = Math.max(best, acc);
  console.log(
    `epoch ${epoch}: train loss ${(lossSum / seen).toFixed(4)}, test accuracy (held-out voices) ${(acc * 100).toFixed(2)}%, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}
console.log(`best test accuracy ${(best * 100).toFixed(2)}%`);
