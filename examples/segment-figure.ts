// Image | ground truth | prediction rows for held-out scenes, from runs of examples/segment-scenes.ts.
//   node --import tsx examples/segment-figure.ts RUN_DIR[,RUN_DIR…] OUT.png [rows=4] [--crf]
// Several runs (comma-separated, trained on the same scenes) give one prediction column each; --crf adds the
// first run's prediction refined by the dense CRF.
import * as tt from '../src/index.ts';
import { colourizeMask } from '../src/viz/seg-report.ts';
import { loadRunModel, readRecipe } from './scene-run.ts';

const [runArg, out] = [process.argv[2], process.argv[3]];
if (!runArg || !out) throw new Error('usage: segment-figure.ts RUN_DIR[,RUN_DIR…] OUT.png [rows] [--crf]');
const rows = Number(process.argv[4] ?? 4),
  crf = process.argv.includes('--crf');
const runs = runArg.split(',');
const recipes = runs.map(readRecipe);
for (const [k, r] of recipes.entries()) {
  if (JSON.stringify(r.scene) !== JSON.stringify(recipes[0].scene))
    throw new Error(`segment-figure: ${runs[k]} was trained on other scenes than ${runs[0]}`);
}
const val = new tt.data.SegmentationScenes({ n: rows, seed: 2, ...recipes[0].scene });
const models = await Promise.all(recipes.map((recipe, k) => loadRunModel(runs[k], recipe, val.numClasses)));
const S = val.size;
const cells: tt.Tensor[] = [];
const labels: string[] = [];
// Nearest ×3 so the small scenes are visible.
const up = (t: tt.Tensor) => tt.F.interpolate(t.unsqueeze(0), { scaleFactor: 3 }).squeeze(0);
for (let i = 0; i < rows; i++) {
  const [x, y] = val.get(i);
  cells.push(up(x), up(colourizeMask(y.dataView(), S, S)));
  labels.push('image', 'truth');
  for (const [k, model] of models.entries()) {
    const logits = tt.noGrad(() => model.forward(x.unsqueeze(0))).out.squeeze(0);
    cells.push(up(colourizeMask(tt.argmax(logits, 0).dataView(), S, S)));
    labels.push(recipes[k].model.replace(/^deeplabv3plus.*/, 'deeplabv3+')); // fits under a 120 px cell
    if (crf && k === 0) {
      cells.push(
        up(colourizeMask(tt.argmax(tt.models.segmentation.denseCrf(tt.softmax(logits, 0), x), 0).dataView(), S, S)),
      );
      labels.push('+ CRF');
    }
  }
}
tt.saveImageGrid(out, cells, { nrow: 2 + models.length + (crf ? 1 : 0), padding: 2, labels });
console.log(`wrote ${out}`);
