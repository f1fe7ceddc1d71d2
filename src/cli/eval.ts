/** `tatami eval`: a trained run on its dataset's test split — accuracy, top-5, per-class P/R/F1, confusion matrix. */
import { Option, type Command } from 'commander';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { DataLoader } from '../data/dataloader.js';
import { getModel } from '../models/index.js';
import { loadSafetensors } from '../io/safetensors.js';
import { evaluate } from '../train/fit.js';
import { CliError, inputTransforms, nonEmptyPath, readRunConfig, runWeights } from './common.js';
import { DATASETS, imageFormat, loadSplit, type DatasetName } from './datasets.js';
import { isSegmentRun, runSegmentEval, ttaOption } from './segment.js';
import type { TtaMode } from '../models/segmentation/tta.js';
import { isDetectRun, runDetectEval } from './detect.js';

export function registerEval(program: Command): Command {
  return program
    .command('eval')
    .description(
      "evaluate a `tatami train` run on its dataset's test split: accuracy, per-class metrics, confusion matrix (segmentation runs: per-class IoU, mIoU; detection runs: the COCO table — AP, AP50, AP75, APs/m/l, AR@1/10/100)",
    )
    .requiredOption('--run <dir>', 'output folder of `tatami train`', nonEmptyPath('--run'))
    .addOption(new Option('--dataset <name>', "dataset (default: the run's)").choices(DATASETS))
    .option('--data <dir>', "dataset folder (default: the run's)", nonEmptyPath('--data'))
    .addOption(
      new Option('--subset <which>', 'Fashion-MNIST/MNIST data').default('auto').choices(['auto', 'full', 'embedded']),
    )
    .addOption(ttaOption())
    .action(
      async (opts: {
        run: string;
        dataset?: DatasetName;
        data?: string;
        subset: 'auto' | 'full' | 'embedded';
        tta?: TtaMode;
      }) => {
        if (isDetectRun(opts.run)) {
          await runDetectEval(opts.run);
          return;
        }
        if (isSegmentRun(opts.run)) {
          await runSegmentEval(opts.run, undefined, { tta: opts.tta });
          return;
        }
        if (opts.tta) throw new CliError('--tta applies to segmentation runs only');
        const cfg = readRunConfig(opts.run);
        const weights = runWeights(opts.run);
        const model = getModel(cfg.model, { numClasses: cfg.classes.length }) as Module<[Tensor], Tensor>;
        model.loadStateDict(await loadSafetensors(weights));
        const dataset = opts.dataset ?? (cfg.dataset as DatasetName | undefined) ?? 'fashion-mnist';
        const data = opts.data ?? cfg.data;
        const format = imageFormat(dataset, cfg.inputShape[0]);
        const transform = inputTransforms(format.channels, cfg.inputShape, cfg.normalize, { sizeIn: format.size });
        const test = loadSplit({
          dataset,
          data,
          subset: opts.subset,
          train: false,
          channels: cfg.inputShape[0],
          transform: transform as never,
        });
        if (!test) throw new CliError(`--data ${data}: no test/ or val/ folder beside train/ to evaluate on`);
        if (test.classes.length !== cfg.classes.length)
          throw new CliError(
            `--run ${opts.run}: the model has ${cfg.classes.length} classes but ${test.source} has ${test.classes.length}`,
          );
        const r = await evaluate(model, new DataLoader(test.ds, { batchSize: 500 }), {
          numClasses: cfg.classes.length,
        });
        console.log(`${cfg.model} from ${weights} on ${dataset} [${test.source}]`);
        console.log(
          `accuracy ${(r.accuracy * 100).toFixed(2)}% · top-5 ${(r.top5 * 100).toFixed(2)}% · loss ${r.loss.toFixed(4)} · ${r.count} images`,
        );
        const pc = r.confusion!.perClass();
        const w = Math.max(16, ...cfg.classes.map((c) => c.length + 2));
        console.log('class'.padEnd(w) + 'precision  recall     f1  support');
        pc.forEach((c, i) =>
          console.log(
            `${cfg.classes[i].padEnd(w)}${c.precision.toFixed(3).padStart(9)}${c.recall.toFixed(3).padStart(8)}${c.f1.toFixed(3).padStart(7)}${String(c.support).padStart(9)}`,
          ),
        );
        console.log('confusion matrix (rows = true class):');
        for (const row of r.confusion!.toArray()) console.log(row.map((v) => String(v).padStart(5)).join(''));
        console.log('(printed only; nothing written)');
      },
    );
}
