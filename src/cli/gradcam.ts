/** `tatami gradcam`: Grad-CAM / Grad-CAM++ heat map of a conv layer, overlaid on the input. */
import type { Command } from 'commander';
import { writeImage, makeGrid } from '../io/image.js';
import * as viz from '../viz/index.js';
import { choice, nonNegativeInt } from './common.js';
import { action, ensureDir, inputImage, loadModel, modelOptions, type ModelFlags } from './viz-common.js';

export function registerGradcam(program: Command): Command {
  return modelOptions(
    program.command('gradcam').description('Grad-CAM / Grad-CAM++ heat map of a conv layer, overlaid on the input'),
  )
    .option('-l, --layer <name>', 'conv module name (default: the last conv layer)')
    .option('-i, --image <file>', 'input image (default: a Fashion-MNIST test image, or the cat photo for RGB models)')
    .option('--index <n>', 'Fashion-MNIST test image index when no --image', nonNegativeInt('--index'), 0)
    .option('-c, --class <k>', 'class to explain (default: the predicted class)', nonNegativeInt('--class'))
    .option('--method <m>', 'gradcam | gradcam++', choice('--method', ['gradcam', 'gradcam++'] as const), 'gradcam')
    .option('-o, --out <file>', 'output PNG', 'gradcam.png')
    .action(
      action(
        async (
          o: ModelFlags & {
            layer?: string;
            image?: string;
            index: number;
            class?: number;
            method: 'gradcam' | 'gradcam++';
            out: string;
          },
        ) => {
          const m = await loadModel(o);
          const { x, label } = inputImage(m, o.image, o.index);
          const res = viz.gradCam(m.model, x, { layer: o.layer, method: o.method, target: o.class });
          const disp = viz.toRgbFloat(m.display(x));
          const up = disp.shape[1] < 100 ? 8 : 1;
          const big = viz.upscaleNearest(disp, up);
          const cam = res.cams.reshape(res.cams.shape.slice(1));
          const over = viz.overlayHeatmap(big, cam, { alpha: 0.45, cmap: 'jet', vmin: 0, vmax: 1 });
          ensureDir(o.out);
          writeImage(o.out, makeGrid([big, over], { nrow: 2, padValue: 1 }));
          const t = res.targets[0];
          console.log(
            `${o.out}: ${o.method} of layer '${res.layer}' for class ${t} (${m.classes[t] ?? t})${label !== null ? `; true class ${label} (${m.classes[label]})` : ''}; predicted ${res.predictions[0]} (${m.classes[res.predictions[0]] ?? ''})`,
          );
        },
      ),
    );
}
