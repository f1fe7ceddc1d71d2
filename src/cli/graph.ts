/** `tatami graph`: the module tree with output shapes, as SVG or HTML. */
import type { Command } from 'commander';
import { Tensor } from '../tensor/tensor.js';
import * as viz from '../viz/index.js';
import { readRunConfig, shapeOption } from './common.js';
import { getModel, getModelInfo } from '../models/index.js';
import { action, ensureDir } from './viz-common.js';

export function registerGraph(program: Command): Command {
  return program
    .command('graph')
    .description('draw the module tree with output shapes (SVG, or HTML when --out ends in .html)')
    .option('-m, --model <name>', 'zoo model', 'small_cnn')
    .option('-r, --run <dir>', 'a `tatami train` output folder: its model, classes and input size (overrides --model)')
    .option('--input-size <c,h,w>', "input shape (default: the model's)", shapeOption('--input-size'))
    .option('-o, --out <file>', 'output .svg or .html', 'model-graph.svg')
    .action(
      action(async (o: { model: string; run?: string; inputSize?: number[]; out: string }) => {
        const cfg = o.run ? readRunConfig(o.run) : null;
        if (cfg) o.model = cfg.model;
        const info = getModelInfo(o.model);
        const shape = o.inputSize ? o.inputSize : (cfg?.inputShape ?? info.inputShape);
        const model = getModel(o.model, cfg ? { numClasses: cfg.classes.length } : {});
        model.eval();
        ensureDir(o.out);
        const nodes = viz.writeModelGraph(
          o.out,
          model,
          new Tensor(new Float32Array(shape[0] * shape[1] * shape[2]), [1, ...shape], 'float32'),
          { title: `${o.model} (input ${shape.join('×')})` },
        );
        console.log(`${o.out}: ${nodes.length} modules, output ${nodes[0].outputShape?.join('×')}`);
      }),
    );
}
