// Held-out mIoU of a run of examples/segment-scenes.ts with and without DeepLab's dense CRF post-processing.
//   TATAMI_NUM_THREADS=1 nice -n 10 node --import tsx examples/segment-crf.ts RUN_DIR [scenes=100] [crf options JSON]
import * as tt from '../src/index.ts';
import { SegmentationConfusionMatrix } from '../src/train/seg-metrics.ts';
import { loadRunModel, readRecipe } from './scene-run.ts';

const run = process.argv[2];
if (!run) throw new Error('usage: segment-crf.ts RUN_DIR [scenes] [crf options JSON]');
const n = Number(process.argv[3] ?? 100);
const crfOpts = JSON.parse(process.argv[4] ?? '{}');
const recipe = readRecipe(run);
const val = new tt.data.SegmentationScenes({ n, seed: 2, ...recipe.scene });
const model = await loadRunModel(run, recipe, val.numClasses);
const plain = new SegmentationConfusionMatrix(val.numClasses),
  refined = new SegmentationConfusionMatrix(val.numClasses);
const t0 = performance.now();
let crfMs = 0;
for (let i = 0; i < n; i++) {
  const [x, y] = val.get(i);
  const logits = tt.noGrad(() => model.forward(x.unsqueeze(0))).out;
  plain.update(logits, y.unsqueeze(0));
  const t = performance.now();
  const q = tt.models.segmentation.denseCrf(tt.softmax(logits.squeeze(0), 0), x, crfOpts);
  crfMs += performance.now() - t;
  refined.update(q.unsqueeze(0), y.unsqueeze(0));
}
const f = (m: SegmentationConfusionMatrix) =>
  `mIoU ${m.meanIoU().toFixed(4)}, pixel accuracy ${m.pixelAccuracy().toFixed(4)}; IoU ${m
    .iou()
    .map((v, k) => `${val.classNames[k]} ${v.toFixed(3)}`)
    .join(', ')}`;
console.log(
  `${n} held-out scenes (${val.size}×${val.size}), CRF ${JSON.stringify(crfOpts)}: ${(crfMs / n).toFixed(0)} ms/image; ${((performance.now() - t0) / 1000).toFixed(0)} s total`,
);
console.log(`network: ${f(plain)}`);
console.log(`+ CRF:   ${f(refined)}`);
