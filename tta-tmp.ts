import * as tt from './src/index.ts';
import { readCheckpoint } from './src/train/checkpoint.ts';
import { SegmentationMetric } from './src/train/seg-metrics.ts';
const run = process.argv[2]; const depth = Number(process.argv[3] ?? 3);
const scene = { size: 40, radius: [0.14, 0.3] as [number, number], objects: [3, 5] as [number, number] };
const val = new tt.data.SegmentationScenes({ n: 300, seed: 2, ...scene });
const model = tt.models.segmentation.unet({ numClasses: val.numClasses, baseChannels: 16, depth });
model.loadStateDict((await readCheckpoint(`${run}/best.safetensors`)).model);
model.eval();
const ms = [0, 2, 4, 8].map(() => new SegmentationMetric(val.numClasses));
const out = (x: tt.Tensor) => { const o = model.forward(x) as any; return o instanceof tt.Tensor ? o : o.out; };
tt.noGrad(() => {
  for (let b = 0; b < 300; b += 50) {
    const xs: tt.Tensor[] = [], ys: tt.Tensor[] = [];
    for (let i = b; i < b + 50; i++) { const [im, mk] = val.get(i); xs.push(im); ys.push(mk); }
    const x = tt.stack(xs), y = tt.stack(ys);
    const views: [boolean, number[]][] = [[false, []], [false, [3]], [false, [2]], [false, [2, 3]], [true, []], [true, [3]], [true, [2]], [true, [2, 3]]];
    let acc: tt.Tensor | null = null;
    views.forEach(([tr, ax], k) => {
      let xi = ax.length ? tt.flip(x, ax) : x; if (tr) xi = xi.transpose(2, 3).contiguous();
      let p = tt.softmax(out(xi), 1); if (tr) p = p.transpose(2, 3); if (ax.length) p = tt.flip(p, ax);
      acc = acc ? tt.add(acc, p) : p;
      if (k === 0) ms[0].update(acc!, y); if (k === 1) ms[1].update(acc!, y); if (k === 3) ms[2].update(acc!, y); if (k === 7) ms[3].update(acc!, y);
    });
  }
});
console.log(['none', 'hflip', 'flips4', 'dihedral8'].map((n, i) => `${n} ${(ms[i].compute() as any).mIoU.toFixed(4)}`).join('  '));
