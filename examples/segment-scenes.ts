// Trains a U-Net on the procedural segmentation scenes and reports held-out mIoU and per-class IoU.
//   TATAMI_NUM_THREADS=1 node --import tsx examples/segment-scenes.ts [epochs] [outDir] [size] [trainScenes]
// [batchSize=16]. Held-out scenes come from another seed, so no scene is seen in training.
import * as tt from '../src/index.ts';
import { evaluate, fit } from '../src/train/fit.ts';
import { SegmentationMetric } from '../src/train/seg-metrics.ts';

const epochs = Number(process.argv[2] ?? 12);
const outDir = process.argv[3] ?? 'runs/unet-scenes';
tt.manualSeed(0);
const size = Number(process.argv[4] ?? 64);
const nTrain = Number(process.argv[5] ?? 2000);
const train = new tt.data.SegmentationScenes({ n: nTrain, size, seed: 1, transform: new tt.data.transforms.RandomHorizontalFlip() });
const val = new tt.data.SegmentationScenes({ n: Math.max(100, Math.round(nTrain / 6)), size, seed: 2 });
const model = tt.models.segmentation.unet({ numClasses: train.numClasses, baseChannels: 16, depth: 3 });
console.log(`U-Net: ${model.numParameters()} parameters; ${train.length} training scenes, ${val.length} held-out`);
const optimizer = new tt.optim.Adam(model.parameters(), { lr: 2e-3 });
const scheduler = new tt.optim.CosineAnnealingLR(optimizer, epochs);
const t0 = performance.now();
await fit(model, new tt.data.DataLoader(train, { batchSize: Number(process.argv[6] ?? 16), shuffle: true }), {
  epochs, optimizer, scheduler, valLoader: new tt.data.DataLoader(val, { batchSize: 50 }),
  metrics: [new SegmentationMetric(train.numClasses)], monitor: 'valMIoU', outDir, progress: false, log: (l) => console.log(l),
});
const metric = new SegmentationMetric(train.numClasses, { report: ['mIoU', 'pixelAccuracy', 'fwIoU', 'mDice'] });
const r = await evaluate(model, new tt.data.DataLoader(val, { batchSize: 50 }), { metrics: [metric] });
console.log(`held-out: ${JSON.stringify(r.metrics)} after ${((performance.now() - t0) / 60000).toFixed(1)} min`);
console.log('per-class IoU: ' + metric.matrix.iou().map((v, i) => `${train.classNames[i]} ${v.toFixed(3)}`).join(', '));
