// Image | ground truth | prediction rows for held-out scenes, from a run of examples/segment-scenes.ts.
//   node --import tsx examples/segment-figure.ts RUN_DIR OUT.png [size=64] [rows=4]
import * as tt from '../src/index.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';

const [run, out] = [process.argv[2], process.argv[3]];
if (!run || !out) throw new Error('usage: segment-figure.ts RUN_DIR OUT.png [size] [rows]');
const size = Number(process.argv[4] ?? 64), rows = Number(process.argv[5] ?? 4);
const val = new tt.data.SegmentationScenes({ n: rows, size, seed: 2 });
const model = tt.models.segmentation.unet({ numClasses: val.numClasses, baseChannels: 16, depth: 3 });
model.loadStateDict((await readCheckpoint(`${run}/best.safetensors`)).model);
model.eval();
const pal = tt.vocPalette();
const colour = (labels: ArrayLike<number>) => {
  const t = new Float32Array(3 * size * size);
  for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) t[c * size * size + p] = pal[3 * labels[p] + c] / 255;
  return tt.tensor(Array.from(t)).reshape([3, size, size]);
};
const cells: tt.Tensor[] = [];
const labels: string[] = [];
for (let i = 0; i < rows; i++) {
  const [x, y] = val.get(i);
  const pred = tt.argmax(tt.noGrad(() => model.forward(x.unsqueeze(0))).out, 1);
  // Nearest ×3 so the small scenes are visible.
  const up = (t: tt.Tensor) => tt.F.interpolate(t.unsqueeze(0), { scaleFactor: 3 }).squeeze(0);
  cells.push(up(x), up(colour(y.dataView())), up(colour(pred.dataView())));
  labels.push('image', 'truth', 'U-Net');
}
tt.saveImageGrid(out, cells, { nrow: 3, padding: 2, labels });
console.log(`wrote ${out}`);
