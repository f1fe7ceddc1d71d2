/**
 * `tatami train`: trains a zoo model on a dataset with the fit loop and saves the run (weights, checkpoints, history,
 * config) to an output folder. With no options it is the main job: the default small CNN on Fashion-MNIST — the
 * full set when it is installed, otherwise the subset shipped with the package.
 *
 * Any zoo model trains on any of the datasets: images are converted to the model's channels, resized to its input
 * size (or `--image-size`), and normalised with ImageNet's statistics when they are RGB; config.json records all of
 * it so that eval, predict and the viz commands rebuild the same input from a run folder.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { manualSeed } from '../tensor/random.js';
import { zeros } from '../tensor/creation.js';
import { noGrad } from '../autograd/grad-mode.js';
import { getBackendName } from '../backend/index.js';
import { DataLoader } from '../data/dataloader.js';
import { randomSplit } from '../data/split.js';
import { Subset, type Dataset } from '../data/dataset.js';
import type { Tensor } from '../tensor/tensor.js';
import type * as nn from '../nn/index.js';
import * as optim from '../optim/index.js';
import { crossEntropy } from '../ops/loss.js';
import { saveSafetensors, writeFileAtomic } from '../io/safetensors.js';
import { evaluate, fit, type Callback, type EpochRecord, type SchedulerLike } from '../train/fit.js';
import { getModel, getModelInfo } from '../models/index.js';
import { writeReport } from '../viz/report.js';
import {
  CliError,
  defaultNormalization,
  fraction,
  integer,
  unitInterval,
  inputTransforms,
  nonEmptyPath,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  type Normalization,
} from './common.js';
import { DATASETS, imageFormat, loadSplit, type DatasetName } from './datasets.js';
import { DEFAULT_SEGMENT_CONFIG, jsonObject, runSegmentTrain } from './segment.js';

export interface TrainConfig {
  model: string;
  dataset: DatasetName;
  /** Dataset folder; otherwise the usual search (Debian package, cache), then the embedded subset for Fashion-MNIST. */
  data?: string;
  /** 'full' requires the full dataset, 'embedded' uses the repository subset, 'auto' prefers full. */
  subset: 'auto' | 'full' | 'embedded';
  /** CIFAR-10: refuse files that are not the official ones (default); false for subsets made by hand. */
  checkIntegrity: boolean;
  /** Square input size (H = W) instead of the model's own; the model must accept it (adaptive pooling). */
  imageSize?: number;
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'adamw' | 'sgd' | 'rmsprop' | 'sam';
  lr: number;
  momentum: number;
  weightDecay: number;
  /** SAM's neighbourhood radius (--optimizer sam). */
  rho: number;
  schedule: 'none' | 'cosine' | 'step' | 'onecycle' | 'plateau';
  augment: boolean;
  labelSmoothing: number;
  valSplit: number;
  /** Also evaluate the test set after every epoch (testAccuracy/testLoss in history.jsonl); checkpoints are still picked without it. */
  evalTest: boolean;
  seed: number;
  out: string;
  resume: boolean;
  workers: number;
  progress: boolean;
  /** Also write a self-contained HTML training report to <out>/report.html. */
  report: boolean;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  model: 'small_cnn',
  dataset: 'fashion-mnist',
  subset: 'auto',
  checkIntegrity: true,
  epochs: 5,
  batchSize: 64,
  optimizer: 'adam',
  lr: 1e-3,
  momentum: 0.9,
  weightDecay: 0,
  rho: 0.05,
  schedule: 'none',
  augment: false,
  labelSmoothing: 0,
  valSplit: 0.1,
  evalTest: false,
  seed: 0,
  out: 'runs/latest',
  resume: false,
  workers: 0,
  progress: true,
  report: false,
};

/** Adds `tatami train` to the program. */
export function registerTrain(program: Command): Command {
  const d = DEFAULT_TRAIN_CONFIG;
  return program
    .command('train')
    .description(
      'train a zoo model on Fashion-MNIST, MNIST, CIFAR-10 or an image folder; with no options: the small CNN on Fashion-MNIST (full set if installed, else the embedded subset)',
    )
    .option('--model <name>', 'any zoo model (`tatami models`); images are converted and resized to its input', d.model)
    .addOption(
      new Option(
        '--dataset <name>',
        'dataset (folder: --data is a folder of class sub-folders, or of train/ and test/ folders of those)',
      )
        .default(d.dataset)
        .choices(DATASETS),
    )
    .option(
      '--data <dir>',
      'folder with the dataset files (else: /usr/share/datasets, the cache, the embedded subset)',
      nonEmptyPath('--data'),
    )
    .addOption(
      new Option('--subset <which>', 'which Fashion-MNIST/MNIST data to use')
        .default(d.subset)
        .choices(['auto', 'full', 'embedded']),
    )
    .option(
      '--no-check-integrity',
      'accept CIFAR-10 batch files that are not the official 10,000-record ones (a subset made by hand)',
    )
    .option(
      '--image-size <n>',
      "train at n×n instead of the model's input size (models with adaptive pooling, e.g. resnet18 at 32)",
      positiveInt('--image-size'),
    )
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), d.epochs)
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), d.batchSize)
    .addOption(
      new Option('--optimizer <name>', 'optimizer (sam: sharpness-aware minimisation around SGD with --momentum)')
        .default(d.optimizer)
        .choices(['adam', 'adamw', 'sgd', 'rmsprop', 'sam']),
    )
    .option('--lr <x>', 'learning rate', nonNegativeNumber('--lr'), d.lr)
    .option('--momentum <x>', 'SGD/SAM momentum', nonNegativeNumber('--momentum'), d.momentum)
    .option('--weight-decay <x>', 'weight decay', nonNegativeNumber('--weight-decay'), d.weightDecay)
    .option('--rho <x>', 'SAM neighbourhood radius', nonNegativeNumber('--rho'), d.rho)
    .addOption(
      new Option('--schedule <name>', 'learning-rate schedule')
        .default(d.schedule)
        .choices(['none', 'cosine', 'step', 'onecycle', 'plateau']),
    )
    .option('--augment', 'random crop (padding 2 at 28 px, H/8 above) and horizontal flip', d.augment)
    .option(
      '--label-smoothing <x>',
      'label smoothing for cross entropy',
      unitInterval('--label-smoothing'),
      d.labelSmoothing,
    )
    .option(
      '--val-split <x>',
      'fraction of the training set held out for validation, in [0, 1)',
      fraction('--val-split'),
      d.valSplit,
    )
    .option(
      '--eval-test',
      'also evaluate the test set after every epoch (logged and saved in history.jsonl; not used to pick checkpoints)',
      d.evalTest,
    )
    .option('--seed <n>', 'random seed', integer('--seed'), d.seed)
    .option('--out <dir>', 'output folder for weights, checkpoints and history', nonEmptyPath('--out'), d.out)
    .option('--resume', 'resume from <out>/last.safetensors (an error when there is none)', d.resume)
    .option('--workers <n>', 'data-loading worker threads', nonNegativeInt('--workers'), d.workers)
    .option('--no-progress', 'plain log lines instead of a progress bar')
    .option(
      '--report',
      'also write <out>/report.html (curves, confusion matrix, misclassified images, Grad-CAM)',
      d.report,
    )
    .addOption(
      new Option(
        '--task <task>',
        'classify, or segment: a segmentation model (unet, segnet, deeplabv3plus_mobilenet_v2, fcn8s, …) on the procedural scenes or a --data folder of images/ + masks/ (more options: `tatami segment train --help`)',
      )
        .default('classify')
        .choices(['classify', 'segment']),
    )
    .option('--model-options <json>', 'segment: model builder options as JSON', jsonObject('--model-options'))
    .option(
      '--num-classes <n>',
      'segment: classes including background (folder datasets)',
      positiveInt('--num-classes'),
    )
    .option('--scenes <n>', 'segment: procedural training scenes without --data', positiveInt('--scenes'))
    .action(async function (
      this: Command,
      opts: Omit<TrainConfig, 'progress'> & {
        progress: boolean;
        task: 'classify' | 'segment';
        modelOptions?: Record<string, unknown>;
        numClasses?: number;
        scenes?: number;
      },
    ) {
      if (opts.task === 'segment') {
        const s = DEFAULT_SEGMENT_CONFIG;
        // Options left at their classification defaults take the segmentation ones.
        const given = (k: string) => this.getOptionValueSource(k) !== 'default';
        await runSegmentTrain({
          ...s,
          model: given('model') ? opts.model : s.model,
          modelOptions: opts.modelOptions ?? s.modelOptions,
          data: opts.data ?? 'scenes',
          numClasses: opts.numClasses,
          scenes: opts.scenes ?? s.scenes,
          size: opts.imageSize ?? s.size,
          epochs: opts.epochs,
          batchSize: given('batchSize') ? opts.batchSize : s.batchSize,
          lr: given('lr') ? opts.lr : s.lr,
          schedule: opts.schedule === 'onecycle' || opts.schedule === 'cosine' ? opts.schedule : 'none',
          seed: opts.seed,
          out: given('out') ? opts.out : s.out,
          progress: opts.progress,
          report: opts.report,
        });
        return;
      }
      const { task: _t, modelOptions: _m, numClasses: _n, scenes: _s, ...classify } = opts;
      await runTrain({ ...d, ...classify });
    });
}

/** Builds the model and checks with one forward pass that it takes `shape`; errors say which sizes it does take. */
function buildModel(name: string, numClasses: number, shape: [number, number, number]): nn.Module<[Tensor], Tensor> {
  const model = getModel(name, { numClasses }) as nn.Module<[Tensor], Tensor>;
  const info = getModelInfo(name);
  if (shape.join() !== info.inputShape.join()) {
    try {
      model.eval();
      const out = noGrad(() => model.forward(zeros([1, ...shape])));
      if (out.shape.join() !== `1,${numClasses}`)
        throw new Error(`output [${out.shape.join(', ')}], expected [1, ${numClasses}]`);
    } catch (e) {
      throw new CliError(
        `--model ${name} cannot take ${shape.join('×')} inputs (${(e as Error).message}); its own input size is ${info.inputShape.join('×')} (drop --image-size, or pick a model with adaptive pooling)`,
      );
    }
  }
  return model;
}

/**
 * The optimizer of a train configuration. SAM comes back as optim.SAM, which `fit` recognises and drives itself:
 * it calls step with a closure that reruns the batch's forward and backward at the perturbed weights.
 */
export function makeOptimizer(cfg: TrainConfig, params: nn.Parameter[]): optim.Optimizer {
  switch (cfg.optimizer) {
    case 'adam':
      return new optim.Adam(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    case 'adamw':
      return new optim.AdamW(params, { lr: cfg.lr, weightDecay: cfg.weightDecay || 1e-2 });
    case 'sgd':
      return new optim.SGD(params, {
        lr: cfg.lr,
        momentum: cfg.momentum,
        weightDecay: cfg.weightDecay,
        nesterov: cfg.momentum > 0,
      });
    case 'rmsprop':
      return new optim.RMSprop(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    // Foret et al. train with SAM around SGD + momentum; the base optimizer's options pass through.
    case 'sam':
      return new optim.SAM(params, optim.SGD, {
        rho: cfg.rho,
        lr: cfg.lr,
        momentum: cfg.momentum,
        weightDecay: cfg.weightDecay,
      });
  }
}

function makeScheduler(
  cfg: TrainConfig,
  opt: optim.Optimizer,
  stepsPerEpoch: number,
): { scheduler?: SchedulerLike; perBatch: boolean } {
  switch (cfg.schedule) {
    case 'none':
      return { perBatch: false };
    case 'cosine':
      return { scheduler: new optim.CosineAnnealingLR(opt, cfg.epochs), perBatch: false };
    case 'step':
      return { scheduler: new optim.StepLR(opt, Math.max(1, Math.floor(cfg.epochs / 3)), 0.1), perBatch: false };
    case 'plateau':
      return { scheduler: new optim.ReduceLROnPlateau(opt, { mode: 'max', patience: 1 }), perBatch: false };
    case 'onecycle':
      return {
        scheduler: new optim.OneCycleLR(opt, cfg.lr * 10, { totalSteps: cfg.epochs * stepsPerEpoch }),
        perBatch: true,
      };
  }
}

/** Runs a training job; returns the history and the final test metrics (on the validation split when there is no test split). */
export async function runTrain(
  cfg: TrainConfig,
  log: (line: string) => void = (l) => console.log(l),
): Promise<{ history: EpochRecord[]; testAccuracy: number; testLoss: number }> {
  const lastPath = join(cfg.out, 'last.safetensors');
  if (cfg.resume && !existsSync(lastPath)) {
    throw new CliError(
      `--resume: nothing to resume in ${cfg.out} (${lastPath} not found); drop --resume to start a new run there, or pass the run's --out`,
    );
  }
  manualSeed(cfg.seed);
  const info = getModelInfo(cfg.model);
  const inputShape: [number, number, number] = cfg.imageSize
    ? [info.inputShape[0], cfg.imageSize, cfg.imageSize]
    : [...info.inputShape];
  const normalize: Normalization | null = defaultNormalization(inputShape[0]);
  const format = imageFormat(cfg.dataset, inputShape[0]);
  const tf = (augment: boolean) =>
    inputTransforms(format.channels, inputShape, normalize, { augment, sizeIn: format.size });
  const trainSplit = loadSplit({
    dataset: cfg.dataset,
    data: cfg.data,
    subset: cfg.subset,
    checkIntegrity: cfg.checkIntegrity,
    train: true,
    channels: inputShape[0],
    transform: tf(cfg.augment) as never,
  })!;
  const testSplit = loadSplit({
    dataset: cfg.dataset,
    data: cfg.data,
    subset: cfg.subset,
    checkIntegrity: cfg.checkIntegrity,
    train: false,
    channels: inputShape[0],
    transform: tf(false) as never,
  });
  if (testSplit && testSplit.classes.join('\n') !== trainSplit.classes.join('\n')) {
    throw new CliError(
      `--data ${cfg.data}: the test split's classes (${testSplit.classes.join(', ')}) differ from the training split's (${trainSplit.classes.join(', ')})`,
    );
  }
  const trainFull = trainSplit.ds;
  const classes = trainSplit.classes;
  const numClasses = classes.length;
  let trainSet: Dataset<[Tensor, number]> = trainFull;
  let valSet: Dataset<[Tensor, number]> | undefined;
  if (cfg.valSplit > 0) {
    const nVal = Math.max(1, Math.round(trainFull.length * cfg.valSplit));
    if (trainFull.length - nVal < 1)
      throw new CliError(`--val-split ${cfg.valSplit} holds out all ${trainFull.length} training images; lower it`);
    const [tr, va] = randomSplit(trainFull, [trainFull.length - nVal, nVal]);
    trainSet = tr;
    // Validation images are not augmented: the same indices of the split read through the evaluation transforms.
    valSet = cfg.augment
      ? new Subset(
          loadSplit({
            dataset: cfg.dataset,
            data: cfg.data,
            subset: cfg.subset,
            checkIntegrity: cfg.checkIntegrity,
            train: true,
            channels: inputShape[0],
            transform: tf(false) as never,
          })!.ds,
          va.indices,
        )
      : va;
  }
  if (trainSet.length === 0) throw new CliError(`no training images in ${trainSplit.source}`);
  const trainLoader = new DataLoader(trainSet, { batchSize: cfg.batchSize, shuffle: true, numWorkers: cfg.workers });
  const valLoader = valSet ? new DataLoader(valSet, { batchSize: 500 }) : undefined;
  const testLoader = testSplit ? new DataLoader(testSplit.ds, { batchSize: 500 }) : undefined;
  const net = buildModel(cfg.model, numClasses, inputShape);
  const base = makeOptimizer(cfg, net.parameters());
  const { scheduler, perBatch } = makeScheduler(cfg, base, trainLoader.length);
  const lossFn = (o: Tensor, t: Tensor) => crossEntropy(o, t, { labelSmoothing: cfg.labelSmoothing });
  log(
    `train: ${cfg.model} (${net.numParameters().toLocaleString('en-US')} parameters, input ${inputShape.join('×')}) on ${cfg.dataset} [${trainSplit.source}]: ` +
      `${trainSet.length} train / ${valSet?.length ?? 0} val / ${testSplit?.ds.length ?? 0} test images · backend ${getBackendName()} · ` +
      `${cfg.optimizer} lr ${cfg.lr} · batch ${cfg.batchSize} · ${cfg.epochs} epochs · seed ${cfg.seed}`,
  );
  await mkdir(cfg.out, { recursive: true });
  await writeFileAtomic(
    join(cfg.out, 'config.json'),
    JSON.stringify({ ...cfg, classes, inputShape, normalize }, null, 2) + '\n',
  );
  const testEachEpoch: Callback = {
    async onEpochEnd(record) {
      const r = await evaluate(net, testLoader!);
      record.testLoss = r.loss;
      record.testAccuracy = r.accuracy;
      log(`epoch ${record.epoch}: test accuracy ${(r.accuracy * 100).toFixed(2)}% · test loss ${r.loss.toFixed(4)}`);
    },
  };
  const history = await fit(net, trainLoader, {
    epochs: cfg.epochs,
    // SAM's second forward/backward is fit's own (its closure path), like any other optimizer here
    optimizer: base,
    scheduler,
    schedulerPerBatch: perBatch,
    loss: lossFn,
    valLoader,
    callbacks: cfg.evalTest && testLoader ? [testEachEpoch] : [],
    outDir: cfg.out,
    resume: cfg.resume,
    progress: cfg.progress,
    log,
  });
  const finalLoader = testLoader ?? valLoader;
  const result = finalLoader ? await evaluate(net, finalLoader, { numClasses }) : null;
  const written = [
    join(cfg.out, 'model.safetensors'),
    join(cfg.out, 'config.json'),
    join(cfg.out, 'history.jsonl'),
    join(cfg.out, 'best.safetensors'),
    join(cfg.out, 'last.safetensors'),
  ];
  if (cfg.report && finalLoader) {
    const path = join(cfg.out, 'report.html');
    writeReport(path, {
      history,
      model: net,
      testLoader: finalLoader,
      classes: [...classes],
      title: `${cfg.model} on ${cfg.dataset}`,
    });
    written.push(path);
  }
  await saveSafetensors(join(cfg.out, 'model.safetensors'), net.stateDict());
  if (result)
    log(
      `${testLoader ? 'test' : 'validation'} accuracy ${(result.accuracy * 100).toFixed(2)}% · loss ${result.loss.toFixed(4)} (${result.count} images)`,
    );
  log(`wrote ${written.join(', ')}`);
  return { history, testAccuracy: result?.accuracy ?? Number.NaN, testLoss: result?.loss ?? Number.NaN };
}
