/** `tatami attack`: FGSM/PGD adversarial examples, accuracy against ε on the Fashion-MNIST test subset. */
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { writeImage, makeGrid } from '../io/image.js';
import * as viz from '../viz/index.js';
import { choice, nonNegativeNumber, numberList, positiveInt } from './common.js';
import { fashionImages } from '../recipes/fashion.js';
import { action, loadModel, modelOptions, type ModelFlags } from './viz-common.js';

export function registerAttack(program: Command): Command {
  return modelOptions(
    program
      .command('attack')
      .description('FGSM/PGD adversarial examples: accuracy against ε on the Fashion-MNIST test subset'),
  )
    .option('--attack <a>', 'fgsm | pgd', choice('--attack', ['fgsm', 'pgd'] as const), 'fgsm')
    .option(
      '-e, --eps <list>',
      'comma-separated ε (L∞, in [0, 1] pixel units)',
      numberList('--eps', 0, 1),
      [0, 0.01, 0.02, 0.05, 0.1, 0.2],
    )
    .option('--steps <n>', 'PGD iterations', positiveInt('--steps'), 10)
    .option('--step-size <a>', 'PGD step size (default 2.5·ε/steps)', nonNegativeNumber('--step-size'))
    .option('--no-random-start', 'PGD without the random start')
    .option('-n, --num <n>', 'test images', positiveInt('--num'), 500)
    .option('-o, --out <dir>', 'folder for the perturbed example images', 'attack')
    .action(
      action(
        async (
          o: ModelFlags & {
            attack: 'fgsm' | 'pgd';
            eps: number[];
            steps: number;
            stepSize?: number;
            randomStart: boolean;
            num: number;
            out: string;
          },
        ) => {
          const eps = o.eps;
          const m = await loadModel(o);
          if (m.inputShape[0] !== 1 || m.inputShape[1] !== 28)
            throw new Error(
              `attack: evaluates on Fashion-MNIST, so the model must take 1×28×28 inputs; ${m.name} takes ${m.inputShape.join('×')}`,
            );
          const { x, y } = fashionImages({ train: false, limit: o.num });
          const batches: [Tensor, Tensor][] = [];
          for (let s = 0; s < x.shape[0]; s += 100)
            batches.push([
              x.narrow(0, s, Math.min(100, x.shape[0] - s)),
              y.narrow(0, s, Math.min(100, x.shape[0] - s)),
            ]);
          mkdirSync(o.out, { recursive: true });
          const rows = viz.accuracyVsEpsilon(m.model, batches, eps, {
            attack: o.attack,
            steps: o.steps,
            stepSize: o.stepSize,
            randomStart: o.randomStart,
            onBatch: (e, adv, preds, bi) => {
              if (bi !== 0) return;
              const n = Math.min(16, adv.shape[0]);
              const tiles = Array.from({ length: n }, (_, i) => viz.upscaleNearest(adv.select(0, i).contiguous(), 2));
              writeImage(
                join(o.out, `eps-${e}.png`),
                makeGrid(tiles, {
                  nrow: 8,
                  padValue: 1,
                  labels: preds.slice(0, n).map((p) => m.classes[p].slice(0, 9)),
                }),
              );
            },
          });
          console.log(`${o.attack.toUpperCase()} on ${x.shape[0]} test images (${m.name})`);
          console.log('eps\taccuracy');
          for (const r of rows) console.log(`${r.eps}\t${(r.accuracy * 100).toFixed(1)}%`);
          console.log(`perturbed images: ${o.out}/eps-*.png`);
        },
      ),
    );
}
