/** `tatami maximize`: activation maximisation — the input that excites a channel or a class logit most. */
import type { Command } from 'commander';
import { Tensor } from '../tensor/tensor.js';
import { writeImage, makeGrid } from '../io/image.js';
import * as viz from '../viz/index.js';
import { intList, nonNegativeInt, positiveInt } from './common.js';
import { action, ensureDir, loadModel, modelOptions, type ModelFlags } from './viz-common.js';

export function registerMaximize(program: Command): Command {
  return modelOptions(
    program
      .command('maximize')
      .description('activation maximisation: the input that excites a channel (or class) most'),
  )
    .option('-l, --layer <name>', 'module name; omit to maximise a class logit')
    .option(
      '-c, --channels <list>',
      'comma-separated channels (or classes)',
      intList('--channels'),
      [0, 1, 2, 3, 4, 5, 6, 7],
    )
    .option('--steps <n>', 'gradient-ascent steps', positiveInt('--steps'), 128)
    .option('--jitter <px>', 'random shift per step', nonNegativeInt('--jitter'), 2)
    .option('--blur-every <n>', 'Gaussian blur every n steps (0 = off)', nonNegativeInt('--blur-every'), 4)
    .option('-o, --out <file>', 'output PNG', 'maximize.png')
    .action(
      action(
        async (
          o: ModelFlags & {
            layer?: string;
            channels: number[];
            steps: number;
            jitter: number;
            blurEvery: number;
            out: string;
          },
        ) => {
          const channels = o.channels;
          const m = await loadModel(o);
          const images: Tensor[] = [];
          const labels: string[] = [];
          for (const c of channels) {
            const r = viz.maximizeActivation(m.model, {
              layer: o.layer,
              channel: c,
              inputShape: m.inputShape,
              steps: o.steps,
              jitter: o.jitter,
              blurEvery: o.blurEvery,
              range: m.range,
            });
            images.push(viz.upscaleNearest(viz.toRgbFloat(m.display(r.image)), m.inputShape[1] < 64 ? 3 : 1));
            labels.push(o.layer ? `ch ${c}` : (m.classes[c] ?? String(c)).slice(0, 12));
            console.log(
              `${o.layer ? `channel ${c}` : `class ${c}`}: objective ${r.objective[0].toFixed(3)} → ${r.objective[r.objective.length - 1].toFixed(3)}`,
            );
          }
          ensureDir(o.out);
          writeImage(o.out, makeGrid(images, { nrow: Math.min(8, images.length), padValue: 1, labels }));
          console.log(`wrote ${o.out}`);
        },
      ),
    );
}
