// Trains a segmentation model on the procedural scenes and reports held-out mIoU and per-class IoU.
//   TATAMI_NUM_THREADS=1 nice -n 10 node --import tsx examples/segment-scenes.ts [--key value ...]
// Options (defaults = the recipe in docs/segmentation.md): --model unet|segnet|deeplabv3plus_mobilenet_v2|…
// --epochs 10 --train 6000 --val 300 --size 48 --radius 0.12,0.3 --objects 3,5 --batch 16 --lr 3e-3
// --base 16 --depth 3 (U-Net) --loss ce|dice-ce --tta d4|flips|hflip|none --out runs/unet-scenes
// [--init RUN/best.safetensors] [--seed 1] [--augment hflip|flips]. Held-out scenes come from seed 2 (training uses --seed, default 1; 2 is
// refused), so no held-out scene is seen in training; a second stage can draw fresh scenes with another seed. The
// held-out metrics are printed without and with test-time augmentation (--tta, default d4).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as tt from '../src/index.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';
import { evaluate, fit } from '../src/train/fit.ts';
import { SegmentationMetric } from '../src/train/seg-metrics.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  if (!k.startsWith('--') || process.argv[i + 1] === undefined)
    throw new Error(`segment-scenes: expected --key value pairs, got '${k}'`);
  args.set(k.slice(2), process.argv[i + 1]);
}
const num = (k: string, d: number) => {
  const v = Number(args.get(k) ?? d);
  if (!Number.isFinite(v)) throw new Error(`segment-scenes: --${k} must be a number, got '${args.get(k)}'`);
  return v;
};
const pair = (k: string, d: [number, number]): [number, number] => {
  const s = args.get(k);
  if (!s) return d;
  const [a, b] = s.split(',').map(Number);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`segment-scenes: --${k} must be a,b got '${s}'`);
  return [a, b];
};
const epochs = num('epochs', 10),
  size = num('size', 48),
  nTrain = num('train', 6000),
  nVal = num('val', 300);
const outDir = args.get('out') ?? 'runs/unet-scenes';
const modelName = args.get('model') ?? 'unet';
const scene = { size, radius: pair('radius', [0.12, 0.3]), objects: pair('objects', [3, 5]) };
/** The held-out scenes' seed: training must draw from any other. */
const heldOutSeed = 2;
const trainSeed = num('seed', 1);
if (!Number.isInteger(trainSeed) || trainSeed === heldOutSeed)
  throw new Error(
    `segment-scenes: --seed must be an integer other than ${heldOutSeed} (the held-out set), got ${trainSeed}`,
  );
// --augment: hflip (default) or flips (horizontal and vertical, independently): the scenes are isotropic, so a
// mirrored scene is another valid one and the net is pushed towards the symmetry that test-time augmentation uses.
const augment = args.get('augment') ?? 'hflip';
if (augment !== 'hflip' && augment !== 'flips')
  throw new Error(`segment-scenes: --augment must be hflip or flips, got '${augment}'`);
tt.manualSeed(0);
const train = new tt.data.SegmentationScenes({
  n: nTrain,
  seed: trainSeed,
  ...scene,
  transform:
    augment === 'flips'
      ? new tt.data.transforms.Compose([
          new tt.data.transforms.RandomHorizontalFlip(),
          new tt.data.transforms.RandomVerticalFlip(),
        ])
      : new tt.data.transforms.RandomHorizontalFlip(),
});
const val = new tt.data.SegmentationScenes({ n: nVal, seed: heldOutSeed, ...scene });
const model =
  modelName === 'unet'
    ? tt.models.segmentation.unet({
        numClasses: train.numClasses,
        baseChannels: num('base', 16),
        depth: num('depth', 3),
      })
    : tt.models.segmentation.getSegmentationModel(modelName, {
        numClasses: train.numClasses,
        ...JSON.parse(args.get('model-options') ?? '{}'),
      });
// --init CHECKPOINT continues from an earlier run's weights (a second stage on the same scenes).
if (args.has('init')) model.loadStateDict((await readCheckpoint(args.get('init')!)).model);
const loader = new tt.data.DataLoader(train, { batchSize: num('batch', 16), shuffle: true });
console.log(
  `${modelName}: ${model.numParameters()} parameters; ${train.length} training scenes, ${val.length} held-out; ${JSON.stringify(scene)}`,
);
const optimizer = new tt.optim.Adam(model.parameters(), { lr: num('lr', 3e-3) });
const scheduler = new tt.optim.OneCycleLR(optimizer, num('lr', 3e-3), {
  totalSteps: Math.max(1, epochs * loader.length),
});
const lossName = args.get('loss') ?? 'dice-ce';
// What segment-figure.ts and segment-crf.ts need to rebuild the model and the held-out scenes.
const recipe = {
  model: modelName,
  base: num('base', 16),
  depth: num('depth', 3),
  modelOptions: JSON.parse(args.get('model-options') ?? '{}'),
  scene,
};
mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}/recipe.json`, JSON.stringify(recipe) + '\n');
const t0 = performance.now(),
  c0 = process.cpuUsage();
await fit(model, loader, {
  epochs,
  optimizer,
  scheduler,
  schedulerPerBatch: true,
  valLoader: new tt.data.DataLoader(val, { batchSize: 50 }),
  // Custom losses get the model's output as it is: a `{ out }` dict for the segmentation models.
  loss: (o, t) => {
    const out = o instanceof tt.Tensor ? o : (o as unknown as { out: tt.Tensor }).out;
    return lossName === 'ce' ? tt.F.crossEntropy(out, t) : tt.F.diceCELoss(out, t);
  },
  metrics: [new SegmentationMetric(train.numClasses)],
  monitor: 'valMIoU',
  outDir,
  progress: false,
  log: (l) => console.log(`${l} [${((performance.now() - t0) / 60000).toFixed(1)} min]`),
});
const valLoader = new tt.data.DataLoader(val, { batchSize: 50 });
const names = train.classNames;
/** Evaluates `m` on the held-out scenes and prints the metrics, per-class IoU and the confusion matrix. */
async function report(label: string, m: typeof model | InstanceType<typeof tt.models.segmentation.SegmentationTTA>) {
  const metric = new SegmentationMetric(train.numClasses, { report: ['mIoU', 'pixelAccuracy', 'fwIoU', 'mDice'] });
  const r = await evaluate(m, valLoader, { metrics: [metric] });
  const cpu = process.cpuUsage(c0);
  console.log(
    `${label}: ${JSON.stringify(r.metrics)} after ${((performance.now() - t0) / 60000).toFixed(1)} min wall, ${((cpu.user + cpu.system) / 6e7).toFixed(1)} min CPU`,
  );
  console.log(
    'per-class IoU: ' +
      metric.matrix
        .iou()
        .map((v, i) => `${names[i]} ${v.toFixed(3)}`)
        .join(', '),
  );
  // Confusion matrix, rows = true class, as % of the row: shows which shapes are taken for which (and a class that
  // is never predicted would show as an empty column).
  console.log(`confusion (% of true-class pixels; columns ${names.map((c) => c.slice(0, 4)).join(' ')}):`);
  for (const [i, row] of metric.matrix.toArray().entries()) {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    console.log(`  ${names[i].padEnd(10)} ${row.map((v) => ((100 * v) / total).toFixed(1).padStart(5)).join(' ')}`);
  }
}
await report('held-out', model);
// Test-time augmentation (--tta d4 by default; none | hflip | flips | d4): the scenes' shapes are drawn at random
// orientations over isotropic backgrounds, so every mirror and transpose of a scene is another valid scene.
const tta = args.get('tta') ?? 'd4';
if (tta !== 'none')
  await report(
    `held-out with ${tta} test-time augmentation`,
    new tt.models.segmentation.SegmentationTTA(model, { mode: tta as tt.models.segmentation.TtaMode }),
  );
