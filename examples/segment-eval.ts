// Evaluates a run of examples/segment-scenes.ts on scenes of any seed: a second held-out set that no training
// run and no choice of recipe ever looked at (the runs monitor seed 2's 300 scenes while they train).
//   node --import tsx examples/segment-eval.ts RUN_DIR [--seed 7] [--n 1000] [--tta none|hflip|flips|d4]
// Prints mIoU, pixel accuracy and per-class IoU of RUN_DIR/last.safetensors (the weights the run ended with).
import * as tt from '../src/index.ts';
import { evaluate } from '../src/train/fit.ts';
import { SegmentationMetric } from '../src/train/seg-metrics.ts';
import { loadRunModel, readRecipe } from './scene-run.ts';

const run = process.argv[2];
if (!run || run.startsWith('--'))
  throw new Error('usage: segment-eval.ts RUN_DIR [--seed 7] [--n 1000] [--tta none|hflip|flips|d4]');
const opt = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : d;
};
const seed = Number(opt('seed', '7')),
  n = Number(opt('n', '1000')),
  tta = opt('tta', 'none');
const trainSeeds = [1, 3, 4, 5, 6]; // the seeds the documented runs trained on (docs/segmentation.md)
if (!Number.isInteger(seed) || trainSeeds.includes(seed))
  throw new Error(`segment-eval: --seed must be an integer no run trained on (not ${trainSeeds.join(', ')})`);
if (!Number.isInteger(n) || n < 1) throw new Error(`segment-eval: --n must be a positive integer, got ${n}`);
if (!['none', 'hflip', 'flips', 'd4'].includes(tta))
  throw new Error(`segment-eval: --tta must be none, hflip, flips or d4, got '${tta}'`);
const recipe = readRecipe(run);
const scenes = new tt.data.SegmentationScenes({ n, seed, ...recipe.scene });
const model = await loadRunModel(run, recipe, scenes.numClasses, 'last');
const net =
  tta === 'none'
    ? model
    : new tt.models.segmentation.SegmentationTTA(model, { mode: tta as tt.models.segmentation.TtaMode });
const metric = new SegmentationMetric(scenes.numClasses, { report: ['mIoU', 'pixelAccuracy'] });
const r = await evaluate(net, new tt.data.DataLoader(scenes, { batchSize: 50 }), { metrics: [metric] });
console.log(`${run} on ${n} scenes of seed ${seed}, TTA ${tta}: ${JSON.stringify(r.metrics)}`);
console.log(
  'per-class IoU: ' +
    metric.matrix
      .iou()
      .map((v, i) => `${scenes.classNames[i]} ${v.toFixed(3)}`)
      .join(', '),
);
