/** `tatami saliency`: input-gradient saliency (optionally SmoothGrad) of a class. */
import type { Command } from 'commander';
import { writeImage, makeGrid } from '../io/image.js';
import * as viz from '../viz/index.js';
import { nonNegativeInt } from './common.js';
import { action, ensureDir, inputImage, loadModel, modelOptions, type ModelFlags } from './viz-common.js';

export function registerSaliency(program: Command): Command {
  return modelOptions(
    program.command('saliency').description('saliency map (input gradient, optionally SmoothGrad) of a class'),
  )
    .option('-i, --image <file>', 'input image (default: a Fashion-MNIST test image, or the cat photo for RGB models)')
    .option('--index <n>', 'Fashion-MNIST test image index when no --image', nonNegativeInt('--index'), 0)
    .option('-c, --class <k>', 'class (default: the predicted class)', nonNegativeInt('--class'))
    .option('--samples <n>', 'SmoothGrad samples (0 = plain gradient)', nonNegativeInt('--samples'), 0)
    .option('-o, --out <file>', 'output PNG', 'saliency.png')
    .action(
      action(
        async (o: ModelFlags & { image?: string; index: number; class?: number; samples: number; out: string }) => {
          const m = await loadModel(o);
          const { x } = inputImage(m, o.image, o.index);
          const r = viz.saliencyMap(m.model, x, { target: o.class, samples: o.samples });
          const [, H, W] = r.maps.shape;
          const disp = viz.toRgbFloat(m.display(x));
          const up = H < 100 ? 8 : 1;
          const heat = viz.upscaleNearest(viz.applyColormap(r.maps.reshape([H, W]), { cmap: 'inferno' }), up);
          ensureDir(o.out);
          writeImage(o.out, makeGrid([viz.upscaleNearest(disp, up), heat], { nrow: 2, padValue: 1 }));
          console.log(`${o.out}: saliency of class ${r.targets[0]} (${m.classes[r.targets[0]] ?? ''})`);
        },
      ),
    );
}
