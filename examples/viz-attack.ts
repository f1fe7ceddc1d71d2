// FGSM and PGD against the small CNN trained by Tatami: accuracy against ε, and docs/images/attack-fashion.png.
import * as tt from 'tatami';
import { CLASSES, fashion, trainedSmallCnn } from './viz-fashion.ts';

const { viz } = tt;
const model = await trainedSmallCnn();
const { x, y } = fashion(false, 200);
const eps = [0, 0.02, 0.05, 0.1, 0.2];
const batches: [tt.Tensor, tt.Tensor][] = [
  [x.narrow(0, 0, 100), y.narrow(0, 0, 100)],
  [x.narrow(0, 100, 100), y.narrow(0, 100, 100)],
];
const rows: tt.Tensor[] = [],
  labels: string[] = [];
const fg = viz.accuracyVsEpsilon(model, batches, eps, {
  onBatch: (e, adv, preds, bi) => {
    if (bi !== 0 || ![0, 0.05, 0.1, 0.2].includes(e)) return;
    for (let i = 0; i < 8; i++) {
      rows.push(viz.upscaleNearest(adv.select(0, i).contiguous(), 3));
      labels.push(`${e}:${CLASSES[preds[i]].slice(0, 7)}`);
    }
  },
});
const pg = viz.accuracyVsEpsilon(model, batches, eps, { attack: 'pgd', steps: 5 });
console.log('eps\tFGSM\tPGD-5');
eps.forEach((e, i) =>
  console.log(`${e}\t${(fg[i].accuracy * 100).toFixed(1)}%\t${(pg[i].accuracy * 100).toFixed(1)}%`),
);
tt.writeImage('docs/images/attack-fashion.png', tt.makeGrid(rows, { nrow: 8, padValue: 1, labels }));
