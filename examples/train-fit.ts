// The public training API from the package: fit with callbacks, early stopping, best/last checkpoints, a cosine
// schedule and history.jsonl; then evaluate with a confusion matrix, top-k accuracy, and resume from the checkpoint.
//   npx tsx examples/train-fit.ts [epochs=3] [outDir=runs/example-fit]
// Copy it into an app that has `npm install tatami` and it runs unchanged.
import * as tt from 'tatami';
import { fit, evaluate, loadCheckpoint, topKAccuracy, type Callback, type EpochRecord } from 'tatami';

const epochs = Number(process.argv[2] ?? 3);
const outDir = process.argv[3] ?? 'runs/example-fit';
tt.manualSeed(0);

// The Fashion-MNIST subset that ships with tatami (6,000 train / 1,000 test images), 10 % held out for validation.
const full = new tt.data.FashionMNIST({ train: true, subset: 'embedded' });
const test = new tt.data.FashionMNIST({ train: false, subset: 'embedded' });
const [trainSet, valSet] = tt.data.randomSplit(full, [0.9, 0.1]);
const trainLoader = new tt.data.DataLoader(trainSet, { batchSize: 64, shuffle: true });
const valLoader = new tt.data.DataLoader(valSet, { batchSize: 500 });
const testLoader = new tt.data.DataLoader(test, { batchSize: 500 });

const model = tt.models.smallCnn({ numClasses: 10 });
const optimizer = new tt.optim.AdamW(model.parameters(), { lr: 2e-3, weightDecay: 1e-2 });
const scheduler = new tt.optim.CosineAnnealingLR(optimizer, epochs);

// A custom callback: fields added to the record before it is written go into history.jsonl.
const lossGap: Callback = {
  onEpochEnd(record: EpochRecord) {
    (record as EpochRecord & { gap?: number }).gap = (record.valLoss ?? record.trainLoss) - record.trainLoss;
  },
};

const history = await fit(model, trainLoader, {
  epochs,
  optimizer,
  scheduler,
  valLoader,
  callbacks: [lossGap],
  earlyStopping: { patience: 2 },
  outDir, // history.jsonl, best.safetensors, last.safetensors
  resume: true, // rerun the script: it continues after the last finished epoch
  log: (line) => console.log(line),
});
console.log(
  `trained ${history.length} epochs; best val accuracy ${Math.max(...history.map((h) => h.valAccuracy ?? 0)).toFixed(4)}`,
);

// Evaluate the best checkpoint on the test split.
await loadCheckpoint(`${outDir}/best.safetensors`, { model });
const r = await evaluate(model, testLoader, { numClasses: 10 });
console.log(
  `test accuracy ${(r.accuracy * 100).toFixed(2)}% · top-5 ${(r.top5 * 100).toFixed(2)}% · ${r.count} images`,
);
const worst = r
  .confusion!.perClass()
  .map((c, i) => ({ name: tt.data.FashionMNIST.classes[i], f1: c.f1 }))
  .sort((a, b) => a.f1 - b.f1)[0];
console.log(`hardest class: ${worst.name} (F1 ${worst.f1.toFixed(3)})`);

// The metrics work on any logits/targets pair too.
const [x, y] = tt.data.defaultCollate([test.get(0), test.get(1), test.get(2), test.get(3)]) as [tt.Tensor, tt.Tensor];
const logits = tt.noGrad(() => model.eval().forward(x));
console.log(`top-1 ${tt.accuracy(logits, y)} · top-3 ${topKAccuracy(logits, y, 3)} on 4 test images`);
