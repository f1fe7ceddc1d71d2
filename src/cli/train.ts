/**
 * `tatami train`: trains a model on a dataset with the fit loop and saves the run (weights, checkpoints, history,
 * config) to an output folder. With no options it is the main job: the default small CNN on Fashion-MNIST — the
 * full set when it is installed, otherwise the subset shipped in the repository.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { manualSeed } from '../tensor/random.js';
import { getBackendName } from '../backend/index.js';
import { FashionMNIST, MNIST } from '../data/idx.js';
import { DataLoader } from '../data/dataloader.js';
import { randomSplit } from '../data/split.js';
import type { Dataset } from '../data/dataset.js';
import * as T from '../data/transforms.js';
import type { Tensor } from '../tensor/tensor.js';
import * as nn from '../nn/index.js';
import * as optim from '../optim/index.js';
import { crossEntropy } from '../ops/loss.js';
import { saveSafetensors, writeFileAtomic } from '../io/safetensors.js';
import { evaluate, fit, type Callback, type EpochRecord, type SchedulerLike } from '../train/fit.js';
import { getModel, getModelInfo, listModels } from '../models/index.js';
import { writeReport } from '../viz/report.js';

export interface TrainConfig {
  model: string;
  dataset: 'fashion-mnist' | 'mnist';
  /** Dataset folder; otherwise the usual search (Debian package, cache), then the embedded subset for Fashion-MNIST. */
  data?: string;
  /** 'full' requires the full dataset, 'embedded' uses the repository subset, 'auto' prefers full. */
  subset: 'auto' | 'full' | 'embedded';
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'adamw' | 'sgd' | 'rmsprop';
  lr: number;
  momentum: number;
  weightDecay: number;
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
  epochs: 5,
  batchSize: 64,
  optimizer: 'adam',
  lr: 1e-3,
  momentum: 0.9,
  weightDecay: 0,
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

/** Models the train command can build for 28×28 grayscale data. */
function buildModel(name: string, numClasses: number): nn.Module<[Tensor], Tensor> {
  const info = getModelInfo(name);
  const [c, h, w] = info.inputShape;
  if (c !== 1 || h !== 28 || w !== 28) {
    const fits = listModels().filter((m) => m.inputShape.join('x') === '1x28x28').map((m) => m.name);
    throw new Error(`tatami train: model '${name}' expects input ${info.inputShape.join('×')}, but ${'this dataset'} gives 1×28×28 (choose one of ${fits.join(', ')})`);
  }
  return getModel(name, { numClasses }) as nn.Module<[Tensor], Tensor>;
}

function loadSplit(cfg: TrainConfig, train: boolean): { ds: FashionMNIST | MNIST; source: string } {
  const Ctor = cfg.dataset === 'mnist' ? MNIST : FashionMNIST;
  const transform = train && cfg.augment ? new T.Compose([new T.RandomCrop(28, { padding: 2 }), new T.RandomHorizontalFlip()]) : undefined;
  if (cfg.subset === 'embedded') return { ds: new Ctor({ train, subset: 'embedded', transform }), source: 'embedded subset' };
  try {
    const ds = new Ctor({ train, root: cfg.data, transform });
    return { ds, source: ds.imagesPath.replace(/\/[^/]+$/, '') };
  } catch (err) {
    if (cfg.subset === 'full' || cfg.data || Ctor !== FashionMNIST) throw err;
    return { ds: new Ctor({ train, subset: 'embedded', transform }), source: 'embedded subset (full set not found)' };
  }
}

function makeOptimizer(cfg: TrainConfig, params: nn.Parameter[]): optim.Optimizer {
  switch (cfg.optimizer) {
    case 'adam': return new optim.Adam(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    case 'adamw': return new optim.AdamW(params, { lr: cfg.lr, weightDecay: cfg.weightDecay || 1e-2 });
    case 'sgd': return new optim.SGD(params, { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay, nesterov: cfg.momentum > 0 });
    case 'rmsprop': return new optim.RMSprop(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  }
}

function makeScheduler(cfg: TrainConfig, opt: optim.Optimizer, stepsPerEpoch: number): { scheduler?: SchedulerLike; perBatch: boolean } {
  switch (cfg.schedule) {
    case 'none': return { perBatch: false };
    case 'cosine': return { scheduler: new optim.CosineAnnealingLR(opt, cfg.epochs), perBatch: false };
    case 'step': return { scheduler: new optim.StepLR(opt, Math.max(1, Math.floor(cfg.epochs / 3)), 0.1), perBatch: false };
    case 'plateau': return { scheduler: new optim.ReduceLROnPlateau(opt, { mode: 'max', patience: 1 }), perBatch: false };
    case 'onecycle':
      return { scheduler: new optim.OneCycleLR(opt, cfg.lr * 10, { totalSteps: cfg.epochs * stepsPerEpoch }), perBatch: true };
  }
}

/** Runs a training job; returns the history and the final test metrics. */
export async function runTrain(cfg: TrainConfig, log: (line: string) => void = (l) => console.log(l)): Promise<{ history: EpochRecord[]; testAccuracy: number; testLoss: number }> {
  manualSeed(cfg.seed);
  const { ds: trainFull, source } = loadSplit(cfg, true);
  const { ds: test } = loadSplit({ ...cfg, augment: false }, false);
  const numClasses = trainFull.classes.length;
  let trainSet: Dataset<[Tensor, number]> = trainFull;
  let valSet: Dataset<[Tensor, number]> | undefined;
  if (cfg.valSplit > 0) {
    const nVal = Math.max(1, Math.round(trainFull.length * cfg.valSplit));
    [trainSet, valSet] = randomSplit(trainFull, [trainFull.length - nVal, nVal]);
  }
  const trainLoader = new DataLoader(trainSet, { batchSize: cfg.batchSize, shuffle: true, numWorkers: cfg.workers });
  const valLoader = valSet ? new DataLoader(valSet, { batchSize: 500 }) : undefined;
  const testLoader = new DataLoader(test, { batchSize: 500 });
  const model = buildModel(cfg.model, numClasses);
  const optimizer = makeOptimizer(cfg, model.parameters());
  const { scheduler, perBatch } = makeScheduler(cfg, optimizer, trainLoader.length);
  log(`tatami train: ${cfg.model} (${model.numParameters().toLocaleString('en-US')} parameters) on ${cfg.dataset} [${source}]: ` +
    `${trainSet.length} train / ${valSet?.length ?? 0} val / ${test.length} test images · backend ${getBackendName()} · ` +
    `${cfg.optimizer} lr ${cfg.lr} · batch ${cfg.batchSize} · ${cfg.epochs} epochs · seed ${cfg.seed}`);
  await mkdir(cfg.out, { recursive: true });
  await writeFileAtomic(join(cfg.out, 'config.json'), JSON.stringify({ ...cfg, classes: trainFull.classes, inputShape: [1, 28, 28] }, null, 2) + '\n');
  const loss = (o: Tensor, t: Tensor) => crossEntropy(o, t, { labelSmoothing: cfg.labelSmoothing });
  const testEachEpoch: Callback = {
    async onEpochEnd(record) {
      const r = await evaluate(model, testLoader);
      record.testLoss = r.loss;
      record.testAccuracy = r.accuracy;
      log(`epoch ${record.epoch}: test accuracy ${(r.accuracy * 100).toFixed(2)}% · test loss ${r.loss.toFixed(4)}`);
    },
  };
  const history = await fit(model, trainLoader, {
    epochs: cfg.epochs,
    optimizer,
    scheduler,
    schedulerPerBatch: perBatch,
    loss,
    valLoader,
    callbacks: cfg.evalTest ? [testEachEpoch] : [],
    outDir: cfg.out,
    resume: cfg.resume,
    progress: cfg.progress,
    log,
  });
  const result = await evaluate(model, testLoader, { numClasses });
  if (cfg.report) {
    const path = join(cfg.out, 'report.html');
    writeReport(path, { history, model, testLoader, classes: trainFull.classes, title: `${cfg.model} on ${cfg.dataset}` });
    log(`report: ${path}`);
  }
  await saveSafetensors(join(cfg.out, 'model.safetensors'), model.stateDict());
  log(`test accuracy ${(result.accuracy * 100).toFixed(2)}% · loss ${result.loss.toFixed(4)} (${result.count} images) · saved ${join(cfg.out, 'model.safetensors')}, history.jsonl, best/last checkpoints`);
  return { history, testAccuracy: result.accuracy, testLoss: result.loss };
}
