/** `tatami models`: the model zoo, one line per model with its input size (detectors: their parameter count). */
import type { Command } from 'commander';
import { listModels } from '../models/index.js';

export function registerModels(program: Command): Command {
  return program
    .command('models')
    .description('list the model zoo')
    .action(() => {
      for (const m of listModels()) {
        const extra =
          m.task === 'detect'
            ? ` [detector, ${m.numParameters?.toLocaleString('en-US') ?? '?'} params; tatami train --task detect]`
            : '';
        console.log(`${m.name.padEnd(20)} ${m.inputShape.join('×').padEnd(10)} ${m.description}${extra}`);
      }
    });
}
