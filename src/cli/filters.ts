/** `tatami filters`: a convolution layer's kernels as images. */
import type { Command } from 'commander';
import { writeImage } from '../io/image.js';
import * as viz from '../viz/index.js';
import { action, ensureDir, loadModel, modelOptions, type ModelFlags } from './viz-common.js';

export function registerFilters(program: Command): Command {
  return modelOptions(
    program.command('filters').description('save convolution kernels (default: the first layer) as images'),
  )
    .option('-l, --layer <name>', 'conv module name (default: the first conv layer)')
    .option('-o, --out <file>', 'output PNG', 'filters.png')
    .action(
      action(async (o: ModelFlags & { layer?: string; out: string }) => {
        const m = await loadModel(o);
        const { name, weight } = viz.convWeight(m.model, o.layer);
        ensureDir(o.out);
        writeImage(o.out, viz.filterGrid(weight));
        console.log(`${o.out}: ${weight.shape[0]} kernels ${weight.shape.slice(1).join('×')} of layer '${name}'`);
      }),
    );
}
