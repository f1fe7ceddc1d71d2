/** `tatami anomaly`: anomaly detection on Fashion-MNIST (autoencoder and PANDA-style kNN), AUROC for both. */
import type { Command } from 'commander';
import { choice, integer, nonNegativeInt, positiveInt } from './common.js';
import { action } from './viz-common.js';

export function registerAnomaly(program: Command): Command {
  return program
    .command('anomaly')
    .description(
      'anomaly detection on Fashion-MNIST with one class as "normal": autoencoder and PANDA-style kNN, AUROC for both',
    )
    .option('--normal <k>', 'the normal class', nonNegativeInt('--normal'), 7)
    .option('--method <m>', 'ae | knn | both', choice('--method', ['ae', 'knn', 'both'] as const), 'both')
    .option('--train-steps <n>', 'training steps (autoencoder and feature CNN)', positiveInt('--train-steps'), 300)
    .option('-n, --num <n>', 'test images', positiveInt('--num'), 400)
    .option('-k, --k <n>', 'nearest neighbours', positiveInt('--k'), 2)
    .option('--seed <n>', 'random seed', integer('--seed'), 0)
    .option('-o, --out <file>', 'anomaly-map figure', 'anomaly.png')
    .action(
      action(
        async (o: {
          normal: number;
          method: 'ae' | 'knn' | 'both';
          trainSteps: number;
          num: number;
          k: number;
          seed: number;
          out: string;
        }) => {
          const { runAnomalyDemo } = await import('../recipes/anomaly.js');
          const r = await runAnomalyDemo({
            normalClass: o.normal,
            method: o.method,
            trainSteps: o.trainSteps,
            numTest: o.num,
            k: o.k,
            seed: o.seed,
            out: o.out,
            log: console.error,
          });
          for (const [name, v] of Object.entries(r.auroc)) console.log(`AUROC (${name}): ${(v as number).toFixed(4)}`);
          console.log(`anomaly maps: ${o.out}`);
        },
      ),
    );
}
