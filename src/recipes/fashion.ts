/**
 * What the recipes share: Fashion-MNIST images of chosen classes from the embedded subset, and "train for N steps"
 * on the one training loop — `fit` over a DataLoader whose sampler yields N minibatches (PyTorch's
 * `RandomSampler(data, num_samples=N * batch_size)`).
 */
import { FashionMNIST } from '../data/idx.js';
import { DataLoader } from '../data/dataloader.js';
import { TensorDataset } from '../data/dataset.js';
import { RandomSampler } from '../data/sampler.js';
import { Adam } from '../optim/adam.js';
import { fit, type LossFunction, type OptimizerLike, type TrainableModel } from '../train/fit.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** Images [N, 1, 28, 28] in [0, 1] and labels [N] (int32). */
export interface LabelledImages {
  x: Tensor;
  y: Tensor;
}

/** Options of `fashionImages`. */
export interface FashionImagesOptions {
  /** The training split (default) or the test split of the embedded subset (6,000 / 1,000 images). */
  train?: boolean;
  /** Keep only these classes, relabelled 0…k−1 in this order (default: all ten, labels unchanged). */
  classes?: readonly number[];
  /** At most this many images per class, in dataset order, after skipping `skip` of each (default all, 0). */
  perClass?: number;
  skip?: number;
  /** At most this many images in all (default all). */
  limit?: number;
}

/** Images of the embedded Fashion-MNIST subset as one tensor pair, scaled to [0, 1]. */
export function fashionImages(opts: FashionImagesOptions = {}): LabelledImages {
  const ds = new FashionMNIST({ subset: 'embedded', train: opts.train ?? true });
  const labels = ds.targets.dataView();
  const pixels = ds.data.dataView();
  const [H, W] = [ds.data.shape[1], ds.data.shape[2]];
  const perClass = opts.perClass ?? Infinity,
    skip = opts.skip ?? 0,
    limit = opts.limit ?? Infinity;
  const picked: number[] = [];
  const newLabel: number[] = [];
  const seen = new Map<number, number>();
  for (let i = 0; i < labels.length && picked.length < limit; i++) {
    const c = opts.classes ? opts.classes.indexOf(labels[i]) : labels[i];
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
  return {
    x: tensor(x, [picked.length, 1, H, W]),
    y: tensor(Int32Array.from(newLabel), [picked.length], { dtype: 'int32' }),
  };
}

/** Options of `trainSteps`. */
export interface TrainStepsOptions {
  optimizer: OptimizerLike;
  /** Minibatches to train on. */
  steps: number;
  /** Images per minibatch (capped at the dataset size; default 64). */
  batchSize?: number;
  /** Draw minibatch images with replacement (default false: shuffled passes, as RandomSampler). */
  replacement?: boolean;
  /** Seed of the minibatch order (default 0). */
  seed?: number;
  /** Use exactly these image indices, in order, instead of drawing them (`steps × batchSize` of them). */
  order?: ArrayLike<number>;
  /** Loss of (output, target) (default fit's: cross entropy). */
  loss?: LossFunction;
  /** Receives `<label> step s/N: loss …` every `logEvery` steps (default 50) and at the last one. */
  log?: (line: string) => void;
  logEvery?: number;
  label?: string;
}

/**
 * Trains `model` for a number of minibatches of `data` with `fit` (one epoch over a DataLoader whose sampler yields
 * exactly those minibatches); returns the loss of every step. Leaves the model in eval mode.
 */
export async function trainSteps(
  model: TrainableModel,
  data: LabelledImages,
  opts: TrainStepsOptions,
): Promise<number[]> {
  const ds = new TensorDataset(data.x, data.y);
  const bs = Math.min(opts.batchSize ?? 64, ds.length);
  const order = opts.order ? Array.from(opts.order) : null;
  const steps = order ? Math.ceil(order.length / bs) : opts.steps;
  const losses: number[] = [];
  if (steps > 0) {
    const sampler = order ?? new RandomSampler(ds, { replacement: opts.replacement, numSamples: steps * bs });
    const loader = new DataLoader(ds, { batchSize: bs, sampler, generator: new Generator(opts.seed ?? 0) });
    const every = opts.logEvery ?? 50,
      log = opts.log;
    await fit(model, loader, {
      epochs: 1,
      optimizer: opts.optimizer,
      loss: opts.loss,
      progress: false,
      callbacks: [
        {
          onBatchEnd: (step, loss) => {
            losses.push(loss);
            if (log && (step % every === 0 || step === steps))
              log(`${opts.label ?? 'train'} step ${step}/${steps}: loss ${loss.toFixed(4)}`);
          },
        },
      ],
    });
  }
  model.eval();
  return losses;
}

/**
 * Trains a 1×28×28 classifier for `steps` minibatches of 64 images drawn with replacement from the embedded
 * Fashion-MNIST training subset (Adam, lr 2e-3; logs every 50 steps): what the viz commands do without `--weights`.
 */
export async function trainFashionClassifier(
  model: TrainableModel & { parameters(): Tensor[] },
  opts: { steps: number; seed?: number; log?: (line: string) => void },
): Promise<number[]> {
  return trainSteps(model, fashionImages({ train: true }), {
    optimizer: new Adam(model.parameters(), { lr: 2e-3 }),
    steps: opts.steps,
    batchSize: 64,
    replacement: true,
    seed: opts.seed,
    log: opts.log,
  });
}
