// 3-D U-Net (Çiçek et al. 2016) segmenting the lesion-like blobs of procedural CT-like volumes (tt.data.CTVolumes),
// trained through `fit` and tested on held-out volumes (seeds never used in training).
//   TATAMI_NUM_THREADS=1 nice -n 10 node --import tsx examples/ct-unet3d.ts [--key value ...]
// Options: --epochs 4 --train 400 --val 8 --test 16 --size 32 --batch 2 --features 8,16,32,64 --lr 3e-3
// --loss dice-ce|ce --out runs/ct-unet3d --figure docs/images/ct-unet3d.png --init RUN/last.safetensors
// 3 classes (body 0, shell 1, blob 2), random 3-D flips, OneCycle Adam. Each epoch reports the validation Dice of the
// blob class (volumes of seed 3); the end reports the test Dice (seed 2, never seen in training or selection) over
// all test voxels, Dice = 2|P∩G| / (|P| + |G|), with the final weights, plain and with mirror test-time augmentation
// (the mean softmax over the 8 flips of the three axes, as nnU-Net), and writes a figure of central slices:
// volume | truth | prediction. `--init CHECKPOINT --epochs 0` only evaluates a trained run.
import { mkdirSync } from 'node:fs';
import * as tt from '../src/index.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';
import { evaluate, fit } from '../src/train/fit.ts';
import { SegmentationConfusionMatrix, mainOutput, type Metric } from '../src/train/seg-metrics.ts';
import { colourizeMask } from '../src/viz/seg-report.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  if (!k.startsWith('--') || process.argv[i + 1] === undefined)
    throw new Error(`ct-unet3d: expected --key value pairs, got '${k}'`);
  args.set(k.slice(2), process.argv[i + 1]);
}
const num = (k: string, d: number) => {
  const v = Number(args.get(k) ?? d);
  if (!Number.isFinite(v)) throw new Error(`ct-unet3d: --${k} must be a number, got '${args.get(k)}'`);
  return v;
};
const epochs = num('epochs', 4),
  size = num('size', 32),
  batch = num('batch', 2),
  lr = num('lr', 3e-3);
const features = (args.get('features') ?? '8,16,32,64').split(',').map(Number);
const lossName = args.get('loss') ?? 'dice-ce';
const outDir = args.get('out') ?? 'runs/ct-unet3d';
const shape: [number, number, number] = [size, size, size];
const BLOB = 2;

tt.manualSeed(0);
const g = new tt.Generator(1);
const train = new tt.data.CTVolumes({
  length: num('train', 400),
  size: shape,
  seed: 1,
  transform: new tt.data.RandomFlip3d<tt.data.VolumeSample>(0.5, { generator: g }),
});
const val = new tt.data.CTVolumes({ length: num('val', 8), size: shape, seed: 3 });
const test = new tt.data.CTVolumes({ length: num('test', 16), size: shape, seed: 2 });
const collate = (s: tt.data.VolumeSample[]) => [tt.stack(s.map((v) => v.image)), tt.stack(s.map((v) => v.mask))];
const loader = (ds: tt.data.CTVolumes, shuffle: boolean) =>
  new tt.data.DataLoader(ds, { batchSize: batch, shuffle, generator: g, collate });

/** Dice of the blob class (and the mean over the three classes) from one confusion matrix over the epoch. */
class BlobDice implements Metric {
  readonly m = new SegmentationConfusionMatrix(3);
  reset(): void {
    this.m.reset();
  }
  update(output: unknown, target: tt.Tensor): void {
    this.m.update(mainOutput(output), target);
  }
  compute(): Record<string, number> {
    return { blobDice: this.m.dice()[BLOB], mDice: this.m.meanDice() };
  }
}

const model = tt.models.unet3d({ inChannels: 1, numClasses: 3, features });
if (args.has('init')) model.loadStateDict((await readCheckpoint(args.get('init')!)).model);
const trainLoader = loader(train, true);
const optimizer = new tt.optim.Adam(model.parameters(), { lr });
const scheduler = new tt.optim.OneCycleLR(optimizer, lr, { totalSteps: Math.max(1, epochs * trainLoader.length) });
console.log(
  `unet3d ${JSON.stringify(features)}: ${model.numParameters()} parameters; ${train.length} training volumes of ${size}³, loss ${lossName}`,
);
mkdirSync(outDir, { recursive: true });
const t0 = performance.now(),
  c0 = process.cpuUsage();
const minutes = () => {
  const c = process.cpuUsage(c0);
  return `${((performance.now() - t0) / 60000).toFixed(1)} min wall, ${((c.user + c.system) / 6e7).toFixed(1)} min CPU`;
};
if (epochs > 0)
  await fit(model, trainLoader, {
    epochs,
    optimizer,
    scheduler,
    schedulerPerBatch: true,
    loss: lossName === 'ce' ? (o, t) => tt.F.crossEntropy(o, t) : (o, t) => tt.F.diceCELoss(o, t),
    valLoader: loader(val, false),
    metrics: [new BlobDice()],
    monitor: 'valBlobDice',
    outDir,
    progress: false,
    log: (l) => console.log(`${l} [${minutes()}]`),
  });
const metric = new BlobDice();
const r = await evaluate(model, loader(test, false), { metrics: [metric] });
const perClass = (m: BlobDice) => m.m.dice().map((d) => d.toFixed(4));
console.log(
  `held-out test (${test.length} volumes): blob Dice ${r.metrics.blobDice.toFixed(4)}, per-class Dice body/shell/blob ${perClass(metric).join('/')}, voxel accuracy ${r.accuracy.toFixed(4)} after ${minutes()}`,
);

model.eval();
// Mean softmax over the 8 mirror images of each volume (each flipped back), as nnU-Net.
const mirrored = new tt.models.segmentation.SegmentationTTA(model, { mode: 'flips' });
const tta = new BlobDice();
tt.noGrad(() => {
  for (let i = 0; i < test.length; i++) {
    const { image, mask } = test.get(i);
    tta.update(mirrored.forward(image.unsqueeze(0)), mask.unsqueeze(0));
  }
});
console.log(
  `held-out test with mirror TTA: blob Dice ${tta.compute().blobDice.toFixed(4)}, per-class Dice ${perClass(tta).join('/')} after ${minutes()}`,
);

// Central axial, coronal and sagittal slices of the first test volumes: volume | truth | prediction.
const figure = args.get('figure');
if (figure) {
  model.eval();
  const cells: tt.Tensor[] = [];
  const labels: string[] = [];
  const up = (t: tt.Tensor) => tt.F.interpolate(t.unsqueeze(0), { scaleFactor: 4 }).squeeze(0);
  for (let i = 0; i < 2; i++) {
    const { image, mask } = test.get(i);
    const pred = tt.noGrad(() => tt.argmax(model.forward(image.unsqueeze(0)), 1).squeeze(0));
    for (const axis of [0, 1, 2]) {
      const cut = (t: tt.Tensor) => tt.select(t, t.shape.length - 3 + axis, size >> 1).contiguous();
      const img = cut(image.squeeze(0));
      const lo = img.min().item(),
        hi = img.max().item();
      cells.push(
        up(tt.expand(tt.div(tt.sub(img, lo), hi - lo).unsqueeze(0), [3, size, size])),
        up(colourizeMask(cut(mask).dataView(), size, size)),
        up(colourizeMask(cut(pred).dataView(), size, size)),
      );
      labels.push(`volume ${i} ${['axial', 'coronal', 'sagittal'][axis]}`, 'truth', 'prediction');
    }
  }
  tt.saveImageGrid(figure, cells, { nrow: 3, padding: 2, labels });
  console.log(`wrote ${figure}`);
}
