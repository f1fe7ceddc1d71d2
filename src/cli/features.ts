/** `tatami features`: a layer's feature maps for one image, as a grid of heat maps. */
import type { Command } from 'commander';
import { writeImage } from '../io/image.js';
import * as viz from '../viz/index.js';
import { choice, nonNegativeInt, positiveInt } from './common.js';
import { action, ensureDir, inputImage, loadModel, modelOptions, type ModelFlags } from './viz-common.js';

export function registerFeatures(program: Command): Command {
  return modelOptions(program.command('features').description("save a layer's feature maps as a grid of heat maps"))
    .option('-l, --layer <name>', 'module name (see `tatami graph`); default: the last conv layer')
    .option('-i, --image <file>', 'input image (default: a Fashion-MNIST test image, or the cat photo for RGB models)')
    .option('--index <n>', 'Fashion-MNIST test image index when no --image', nonNegativeInt('--index'), 0)
    .option('--max-maps <n>', 'channels shown', positiveInt('--max-maps'), 64)
    .option(
      '--cmap <name>',
      'viridis | jet | inferno | gray',
      choice('--cmap', ['viridis', 'jet', 'inferno', 'gray'] as const),
      'viridis',
    )
    .option('-o, --out <file>', 'output PNG', 'feature-maps.png')
    .action(
      action(
        async (
          o: ModelFlags & {
            layer?: string;
            image?: string;
            index: number;
            maxMaps: number;
            cmap: viz.ColormapName;
            out: string;
          },
        ) => {
          const m = await loadModel(o);
          const layer = o.layer ?? viz.lastConvLayer(m.model, 'features');
          const { x } = inputImage(m, o.image, o.index);
          const act = viz.captureActivations(m.model, x, [layer]).get(layer)!;
          ensureDir(o.out);
          writeImage(o.out, viz.featureMapGrid(act, { maxMaps: o.maxMaps, cmap: o.cmap, order: 'activation' }));
          console.log(
            `${o.out}: ${Math.min(o.maxMaps, act.shape[1])} of ${act.shape[1]} feature maps of layer '${layer}' (${act.shape.slice(1).join('×')})`,
          );
        },
      ),
    );
}
