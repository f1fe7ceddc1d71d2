// Image | ground truth | prediction rows for held-out scenes, from a run of examples/segment-scenes.ts.
//   node --import tsx examples/segment-figure.ts RUN_DIR OUT.png [rows=4] [--crf]
import { readFileSync } from 'node:fs';
import * as tt from '../src/index.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';
import { colourizeMask } from '../src/viz/seg-report.ts';

const [run, out] = [process.argv[2], process.argv[3]];
if (!run || !out) throw new Error('usage: segment-figure.ts RUN_DIR OUT.png [rows] [--crf]');
const rows = Number(process.argv[4] ?? 4),
  crf = process.argv.includes('--crf');
const recipe = JSON.parse(readFileSync(`${run}/recipe.json`, 'utf8'));
const val = new tt.data.SegmentationScenes({ n: rows, seed: 2, ...recipe.scene });
const model =
  recipe.model === 'unet'
    ? tt.models.segmentation.unet({ numClasses: val.numClasses, baseChannels: recipe.base, depth: recipe.depth })
    : tt.models.segmentation.getSegmentationModel(recipe.model, { numClasses: val.numClasses, ...recipe.modelOptions });
model.loadStateDict((await readCheckpoint(`${run}/best.safetensors`)).model);
model.eval();
const S = val.size;
const cells: tt.Tensor[] = [];
const labels: string[] = [];
for (let i = 0; i < rows; i++) {
  const [x, y] = val.get(i);
  const logits = tt.noGrad(() => model.forward(x.unsqueeze(0))).out.squeeze(0);
  // Nearest ×3 so the small scenes are visible.
  const up = (t: tt.Tensor) => tt.F.interpolate(t.unsqueeze(0), { scaleFactor: 3 }).squeeze(0);
  cells.push(up(x), up(colourizeMask(y.dataView(), S, S)), up(colourizeMask(tt.argmax(logits, 0).dataView(), S, S)));
  labels.push('image', 'truth', recipe.model);
  if (crf) {
    cells.push(
      up(colourizeMask(tt.argmax(tt.models.segmentation.denseCrf(tt.softmax(logits, 0), x), 0).dataView(), S, S)),
    );
    labels.push('+ CRF');
  }
}
tt.saveImageGrid(out, cells, { nrow: crf ? 4 : 3, padding: 2, labels });
console.log(`wrote ${out}`);
