/**
 * The `tatami` command line: train, eval, predict, summary and info. Every command has --help.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { availableBackends, getBackendName, setBackend } from '../backend/index.js';
import { DEFAULT_TRAIN_CONFIG, runTrain, type TrainConfig } from './train.js';
import { registerVizCommands } from './viz.js';
import { registerSegmentCommands } from './segment.js';
import { getModel, getModelInfo, listModels, predict, summary, IMAGENET_CLASSES, imagenetPreprocess } from '../models/index.js';
import { loadSafetensors } from '../io/safetensors.js';
import { readImage } from '../io/image.js';
import { FashionMNIST } from '../data/idx.js';
import { DataLoader } from '../data/dataloader.js';
import { evaluate } from '../train/fit.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Resize } from '../data/transforms.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got '${v}'`);
    return n;
  };
}

/** Builds the command tree (exported so tests can drive it without spawning a process). */
export function buildProgram(): Command {
  const program = new Command('tatami')
    .description('Tatami 畳み込み — convolutional neural networks in TypeScript')
    .option('--backend <name>', 'kernel backend: native, wasm or reference (default: best available)')
    .hook('preAction', (cmd) => {
      const name = cmd.opts<{ backend?: string }>().backend;
      if (name) setBackend(name);
    })
    .showHelpAfterError();

  const d = DEFAULT_TRAIN_CONFIG;
  program
    .command('train')
    .description('train a model; with no options: the small CNN on Fashion-MNIST (full set if installed, else the embedded subset)')
    .option('--model <name>', 'model from the zoo that takes 1×28×28 input (small_cnn, small_cnn_bn, small_vgg, lenet5)', d.model)
    .addOption(new Option('--dataset <name>', 'dataset').default(d.dataset).choices(['fashion-mnist', 'mnist']))
    .option('--data <dir>', 'folder with the dataset files (else: /usr/share/datasets, the cache, the embedded subset)')
    .addOption(new Option('--subset <which>', 'which data to use').default(d.subset).choices(['auto', 'full', 'embedded']))
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), d.epochs)
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), d.batchSize)
    .addOption(new Option('--optimizer <name>', 'optimizer').default(d.optimizer).choices(['adam', 'adamw', 'sgd', 'rmsprop']))
    .option('--lr <x>', 'learning rate', nonNegativeNumber('--lr'), d.lr)
    .option('--momentum <x>', 'SGD momentum', nonNegativeNumber('--momentum'), d.momentum)
    .option('--weight-decay <x>', 'weight decay', nonNegativeNumber('--weight-decay'), d.weightDecay)
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').default(d.schedule).choices(['none', 'cosine', 'step', 'onecycle', 'plateau']))
    .option('--augment', 'random crop (padding 2) and horizontal flip', d.augment)
    .option('--label-smoothing <x>', 'label smoothing for cross entropy', nonNegativeNumber('--label-smoothing'), d.labelSmoothing)
    .option('--val-split <x>', 'fraction of the training set held out for validation', nonNegativeNumber('--val-split'), d.valSplit)
    .option('--eval-test', 'also evaluate the test set after every epoch (logged and saved in history.jsonl; not used to pick checkpoints)', d.evalTest)
    .option('--seed <n>', 'random seed', (v) => Number(v), d.seed)
    .option('--out <dir>', 'output folder for weights, checkpoints and history', d.out)
    .option('--resume', 'resume from <out>/last.safetensors', d.resume)
    .option('--workers <n>', 'data-loading worker threads', (v) => Number(v), d.workers)
    .option('--no-progress', 'plain log lines instead of a progress bar')
    .option('--report', 'also write <out>/report.html (curves, confusion matrix, misclassified images, Grad-CAM)', d.report)
    .action(async (opts: Omit<TrainConfig, 'progress'> & { progress: boolean }) => {
      await runTrain({ ...d, ...opts });
    });

  program
    .command('summary')
    .description('print a model\'s layers, output shapes, parameters and multiply-accumulates')
    .requiredOption('--model <name>', 'model name (see `tatami models`)')
    .option('--input <shape>', 'input shape C,H,W (default: the model\'s)')
    .option('--num-classes <n>', 'classifier outputs', positiveInt('--num-classes'))
    .action((opts: { model: string; input?: string; numClasses?: number }) => {
      const info = getModelInfo(opts.model);
      const shape = opts.input ? opts.input.split(',').map(Number) : info.inputShape;
      const model = getModel(opts.model, opts.numClasses ? { numClasses: opts.numClasses } : {}) as Module<[Tensor], Tensor>;
      console.log(summary(model, shape).toString());
    });

  program
    .command('models')
    .description('list the model zoo')
    .action(() => {
      for (const m of listModels()) console.log(`${m.name.padEnd(20)} ${m.inputShape.join('×').padEnd(10)} ${m.description}`);
    });

  program
    .command('predict <images...>')
    .description('classify images: top-k classes with probabilities')
    .option('--model <name>', 'zoo model (ImageNet models use torchvision preprocessing)', 'resnet18')
    .option('--weights <file>', 'weights (.safetensors); a run folder\'s model.safetensors for models trained by tatami')
    .option('--run <dir>', 'a `tatami train` output folder (uses its config.json and model.safetensors)')
    .option('--topk <k>', 'classes shown', positiveInt('--topk'), 5)
    .action(async (images: string[], opts: { model: string; weights?: string; run?: string; topk: number }) => {
      let labels: readonly string[] = IMAGENET_CLASSES;
      let name = opts.model;
      let weights = opts.weights;
      let gray = false;
      if (opts.run) {
        const cfg = JSON.parse(await readFile(join(opts.run, 'config.json'), 'utf8')) as { model: string; classes: string[] };
        name = cfg.model;
        labels = cfg.classes;
        weights ??= join(opts.run, 'model.safetensors');
        gray = true;
      }
      if (!weights) throw new Error(`predict: --weights <file.safetensors> is required (export torchvision weights with tools/export_torchvision.py), or --run <dir>`);
      const model = getModel(name, { numClasses: labels.length }) as Module<[Tensor], Tensor>;
      model.loadStateDict(await loadSafetensors(weights));
      for (const path of images) {
        const img = readImage(path, { mode: gray ? 'gray' : 'rgb' });
        const x = gray ? (new Resize([28, 28]).apply(img.float().div(255)) as Tensor) : imagenetPreprocess(img);
        console.log(path);
        for (const p of predict(model, x, { topk: opts.topk, labels })) console.log(`  ${(p.probability * 100).toFixed(2).padStart(6)}%  ${p.label}`);
      }
    });

  program
    .command('eval')
    .description('evaluate a `tatami train` run on the Fashion-MNIST test set: accuracy, per-class metrics, confusion matrix')
    .requiredOption('--run <dir>', 'output folder of `tatami train`')
    .option('--data <dir>', 'dataset folder')
    .option('--subset <which>', 'auto | full | embedded', 'auto')
    .action(async (opts: { run: string; data?: string; subset: string }) => {
      const cfg = JSON.parse(await readFile(join(opts.run, 'config.json'), 'utf8')) as { model: string; classes: string[] };
      const model = getModel(cfg.model, { numClasses: cfg.classes.length }) as Module<[Tensor], Tensor>;
      model.loadStateDict(await loadSafetensors(join(opts.run, 'model.safetensors')));
      let test: FashionMNIST;
      try {
        test = opts.subset === 'embedded' ? new FashionMNIST({ train: false, subset: 'embedded' }) : new FashionMNIST({ train: false, root: opts.data });
      } catch (err) {
        if (opts.subset !== 'auto' || opts.data) throw err;
        test = new FashionMNIST({ train: false, subset: 'embedded' });
      }
      const r = await evaluate(model, new DataLoader(test, { batchSize: 500 }), { numClasses: cfg.classes.length });
      console.log(`accuracy ${(r.accuracy * 100).toFixed(2)}% · top-5 ${(r.top5 * 100).toFixed(2)}% · loss ${r.loss.toFixed(4)} · ${r.count} images`);
      const pc = r.confusion!.perClass();
      console.log('class'.padEnd(16) + 'precision  recall     f1  support');
      pc.forEach((c, i) => console.log(`${cfg.classes[i].padEnd(16)}${c.precision.toFixed(3).padStart(9)}${c.recall.toFixed(3).padStart(8)}${c.f1.toFixed(3).padStart(7)}${String(c.support).padStart(9)}`));
      console.log('confusion matrix (rows = true class):');
      for (const row of r.confusion!.toArray()) console.log(row.map((v) => String(v).padStart(5)).join(''));
    });

  registerVizCommands(program);
  registerSegmentCommands(program);

  program
    .command('info')
    .description('show the kernel backends and which one is active')
    .action(() => {
      console.log(`active backend: ${getBackendName()}`);
      for (const b of availableBackends()) console.log(`  ${b.name.padEnd(10)} ${b.available ? 'available' : `unavailable: ${b.reason}`}`);
    });
  return program;
}

/** Entry point used by bin/tatami.js. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    console.error(`tatami: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
