/** `tatami summary`: a model's layers, output shapes, parameters and multiply-accumulates. */
import type { Command } from 'commander';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { getModel, getModelInfo, summary } from '../models/index.js';
import { CliError, positiveInt, readRunConfig, shapeOption } from './common.js';

export function registerSummary(program: Command): Command {
  return program
    .command('summary')
    .description("print a model's layers, output shapes, parameters and multiply-accumulates")
    .option('--model <name>', 'model name (see `tatami models`)')
    .option('--run <dir>', 'a `tatami train` output folder: its model, classes and input size')
    .option('--input <shape>', "input shape C,H,W (default: the model's)", shapeOption('--input'))
    .option('--num-classes <n>', 'classifier outputs', positiveInt('--num-classes'))
    .action((opts: { model?: string; run?: string; input?: number[]; numClasses?: number }) => {
      const cfg = opts.run ? readRunConfig(opts.run) : null;
      const name = opts.model ?? cfg?.model;
      if (!name) throw new CliError('--model <name> or --run <dir> is required (`tatami models` lists the names)');
      const info = getModelInfo(name);
      const shape = opts.input !== undefined ? opts.input : (cfg?.inputShape ?? info.inputShape);
      const numClasses = opts.numClasses ?? cfg?.classes.length;
      const model = getModel(name, numClasses ? { numClasses } : {}) as Module<[Tensor], Tensor>;
      let table: string;
      try {
        table = summary(model, shape).toString();
      } catch (e) {
        throw new CliError(
          `--model ${name} cannot take input ${shape.join('×')} (${(e as Error).message}); its own input is ${info.inputShape.join('×')}`,
        );
      }
      console.log(table);
    });
}
