/**
 * Transfer learning on Fashion-MNIST, end to end (used by examples/transfer-learning.ts and its test): pretrain a
 * small CNN on classes 0–7, transfer it to classes 8–9 from `shots` images per class — freeze the backbone and
 * train a new head, then unfreeze everything and fine-tune with a 10× lower learning rate — and compare with the
 * same network trained from scratch on the same images for the same number of steps.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Flatten, Linear } from '../nn/linear.js';
import { MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { Adam } from '../optim/adam.js';
import { crossEntropy } from '../ops/loss.js';
import { argmax } from '../ops/reduce.js';
import { manualSeed, Generator } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { FashionMNIST } from '../data/idx.js';
import { freeze, unfreeze } from './freeze.js';

/** Images [N, 1, 28, 28] in [0, 1] and labels [N] (int32, renumbered 0…k−1 in the order of `classes`). */
export interface LabelledImages {
  x: Tensor;
  y: Tensor;
}

/** The images of `classes` from an MNIST-format dataset, at most `perClass` each (in dataset order, from `skip`). */
export function selectClasses(ds: FashionMNIST, classes: readonly number[], perClass = Infinity, skip = 0): LabelledImages {
  const labels = ds.targets.dataView();
  const pixels = ds.data.dataView();
  const [H, W] = [ds.data.shape[1], ds.data.shape[2]];
  const picked: number[] = [];
  const newLabel: number[] = [];
  const seen = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const c = classes.indexOf(labels[i]);
    if (c < 0) continue;
    const k = seen.get(c) ?? 0;
    seen.set(c, k + 1);
    if (k < skip || k >= skip + perClass) continue;
    picked.push(i);
    newLabel.push(c);
  }
  const x = new Float32Array(picked.length * H * W);
  picked.forEach((src, j) => {
    for (let p = 0; p < H * W; p++) x[j * H * W + p] = pixels[src * H * W + p] / 255;
  });
  return { x: tensor(x, [picked.length, 1, H, W]), y: tensor(Int32Array.from(newLabel), [picked.length], { dtype: 'int32' }) };
}

/** The default small CNN's layout (Conv-ReLU-Pool ×2, Linear-ReLU-Linear) at a chosen width. */
export function smallCnnLike(numClasses: number, width: [number, number] = [32, 64], hidden = 128): Sequential {
  return new Sequential(
    new Conv2d(1, width[0], 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Conv2d(width[0], width[1], 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(width[1] * 49, hidden), new ReLU(), new Linear(hidden, numClasses),
  );
}

/** Trains `model` on `data` for `steps` minibatches (seeded sampling) with the parameters given to `opt`. */
export function trainSteps(model: Sequential, data: LabelledImages, opt: Adam, steps: number, batchSize: number, gen: Generator): number {
  model.train();
  const n = data.x.shape[0];
  let last = NaN;
  for (let s = 0; s < steps; s++) {
    const idx = Int32Array.from({ length: Math.min(batchSize, n) }, () => Math.floor(gen.random() * n));
    const ix = tensor(idx, [idx.length], { dtype: 'int32' });
    const xb = data.x.indexSelect(0, ix), yb = data.y.indexSelect(0, ix);
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(xb), yb);
    loss.backward();
    opt.step();
    last = loss.item();
  }
  return last;
}

/** Top-1 accuracy of `model` on `data` (eval mode, no graph). */
export function accuracy(model: Sequential, data: LabelledImages): number {
  model.eval();
  const pred = noGrad(() => argmax(model.forward(data.x), 1)).dataView();
  const y = data.y.dataView();
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return ok / y.length;
}

/** Options of `transferLearningExperiment`. */
export interface TransferExperimentOptions {
  /** Minibatches of pretraining on classes 0–7 (default 300). */
  pretrainSteps?: number;
  /** Minibatches training only the new head (default 60). */
  headSteps?: number;
  /** Minibatches fine-tuning everything at lr/10 (default 60). */
  finetuneSteps?: number;
  /** Training images per new class (default 50). */
  shots?: number;
  batchSize?: number;
  width?: [number, number];
  hidden?: number;
  /** Learning rate of pretraining and of training from scratch (default 1e-3); fine-tuning uses lr/10. */
  lr?: number;
  /** Learning rate of the head-only phase (default 10·lr: a fresh linear layer on fixed features). */
  headLr?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** Result of `transferLearningExperiment` (accuracies on the held-out test images of classes 8 and 9). */
export interface TransferExperimentResult {
  pretrainAccuracy: number;
  headOnlyAccuracy: number;
  transferAccuracy: number;
  scratchAccuracy: number;
  testImages: number;
}

/** Runs the experiment described in the file comment on the embedded Fashion-MNIST subset. */
export function transferLearningExperiment(opts: TransferExperimentOptions = {}): TransferExperimentResult {
  const seed = opts.seed ?? 0;
  const log = opts.log ?? (() => {});
  const bs = opts.batchSize ?? 32, lr = opts.lr ?? 1e-3;
  const shots = opts.shots ?? 50;
  const train = new FashionMNIST({ subset: 'embedded', train: true });
  const test = new FashionMNIST({ subset: 'embedded', train: false });
  const base = selectClasses(train, [0, 1, 2, 3, 4, 5, 6, 7]);
  const baseTest = selectClasses(test, [0, 1, 2, 3, 4, 5, 6, 7]);
  const few = selectClasses(train, [8, 9], shots);
  const fewTest = selectClasses(test, [8, 9]);

  manualSeed(seed);
  const gen = new Generator(seed);
  const model = smallCnnLike(8, opts.width, opts.hidden);
  trainSteps(model, base, new Adam(model.parameters(), { lr }), opts.pretrainSteps ?? 300, bs, gen);
  const pretrainAccuracy = accuracy(model, baseTest);
  log(`pretrained on classes 0-7: test accuracy ${(100 * pretrainAccuracy).toFixed(1)}% (${baseTest.y.shape[0]} images)`);

  // Transfer: frozen backbone, new 2-way head.
  freeze(model);
  const hidden = (model.at(-1) as Linear).inFeatures;
  model.set(-1, new Linear(hidden, 2));
  const headSteps = opts.headSteps ?? 60, ftSteps = opts.finetuneSteps ?? 60;
  trainSteps(model, few, new Adam((model.at(-1) as Linear).parameters(), { lr: opts.headLr ?? 10 * lr }), headSteps, bs, gen);
  const headOnlyAccuracy = accuracy(model, fewTest);
  log(`head only (${shots}/class): ${(100 * headOnlyAccuracy).toFixed(1)}%`);
  unfreeze(model);
  trainSteps(model, few, new Adam(model.parameters(), { lr: lr / 10 }), ftSteps, bs, gen);
  const transferAccuracy = accuracy(model, fewTest);
  log(`after fine-tuning everything at lr/10: ${(100 * transferAccuracy).toFixed(1)}%`);

  manualSeed(seed + 1);
  const scratch = smallCnnLike(2, opts.width, opts.hidden);
  trainSteps(scratch, few, new Adam(scratch.parameters(), { lr }), headSteps + ftSteps, bs, new Generator(seed));
  const scratchAccuracy = accuracy(scratch, fewTest);
  log(`from scratch on the same ${2 * shots} images, ${headSteps + ftSteps} steps: ${(100 * scratchAccuracy).toFixed(1)}%`);
  return { pretrainAccuracy, headOnlyAccuracy, transferAccuracy, scratchAccuracy, testImages: fewTest.y.shape[0] };
}
