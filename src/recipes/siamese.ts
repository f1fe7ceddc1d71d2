/**
 * One-shot classification with a Siamese CNN (Koch et al. 2015) trained with the contrastive loss (Hadsell, Chopra &
 * LeCun 2006) on pairs of Fashion-MNIST classes 0–6, then K-way one-shot on the held-out classes 7–9 from ONE
 * example each (examples/siamese-one-shot.ts). Training is `fit` with a custom training step over a dataset of pairs.
 */
import { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/dataloader.js';
import { dataGenerator } from '../data/rng.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Flatten, Linear } from '../nn/linear.js';
import { MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { Adam } from '../optim/adam.js';
import { fit } from '../train/fit.js';
import { contrastiveLoss, SiameseNetwork } from '../models/siamese.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { fashionImages } from './fashion.js';

/**
 * `length` pairs of images [1, H, W] from `x`, with `same` = 1 for even indices (two images of one class) and 0 for
 * odd ones (two classes); classes and images are drawn from the loader's per-batch data stream, so a seeded
 * DataLoader gives the same pairs every run.
 */
export class ContrastivePairs extends Dataset<[Tensor, Tensor, number]> {
  private readonly byClass: number[][];
  constructor(
    private readonly x: Tensor,
    labels: Tensor,
    private readonly pairs: number,
  ) {
    super();
    const y = labels.dataView();
    let k = 0; // a loop, not Math.max(...y): 60,000 labels are more arguments than a call may take
    for (let i = 0; i < y.length; i++) k = Math.max(k, y[i] + 1);
    this.byClass = Array.from({ length: k }, () => []);
    for (let i = 0; i < y.length; i++) this.byClass[y[i]].push(i);
    if (k < 2 || this.byClass.some((c) => c.length === 0))
      throw new Error(
        `ContrastivePairs: need images of at least two classes, each non-empty (labels 0…k−1), got class sizes ${this.byClass.map((c) => c.length).join(', ')}`,
      );
  }

  get length(): number {
    return this.pairs;
  }

  get(index: number): [Tensor, Tensor, number] {
    const g = dataGenerator();
    const K = this.byClass.length;
    const pick = (ids: readonly number[]): number => ids[Math.floor(g.random() * ids.length)];
    const c1 = Math.floor(g.random() * K);
    const same = index % 2 === 0;
    let c2 = c1;
    while (!same && c2 === c1) c2 = Math.floor(g.random() * K);
    return [this.x.select(0, pick(this.byClass[c1])), this.x.select(0, pick(this.byClass[c2])), same ? 1 : 0];
  }
}

/** Options of `siameseOneShot`. */
export interface SiameseExperimentOptions {
  /** Classes the embedding is trained on (default 0–6); the others are held out for one-shot evaluation. */
  trainClasses?: readonly number[];
  /** Held-out classes (default 7, 8, 9). */
  heldOutClasses?: readonly number[];
  /** Training minibatches of pairs (default 300). */
  steps?: number;
  /** Pairs per minibatch, half same-class (default 32). */
  batchSize?: number;
  /** Embedding size (default 32). */
  embeddingDim?: number;
  margin?: number;
  lr?: number;
  /** One-shot episodes to evaluate (default 200). */
  episodes?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** Result: one-shot accuracy on held-out classes, of the trained embedding and of raw-pixel nearest neighbour. */
export interface SiameseExperimentResult {
  oneShotAccuracy: number;
  pixelBaselineAccuracy: number;
  chance: number;
  finalLoss: number;
}

/**
 * Trains a Siamese CNN with the contrastive loss on pairs from `trainClasses` of the embedded Fashion-MNIST subset,
 * then evaluates K-way one-shot classification on the held-out classes: each episode draws one support image per
 * held-out class and a query, and predicts the class of the nearest support embedding.
 */
export async function siameseOneShot(opts: SiameseExperimentOptions = {}): Promise<SiameseExperimentResult> {
  const seed = opts.seed ?? 0;
  const log = opts.log ?? (() => {});
  const trainC = opts.trainClasses ?? [0, 1, 2, 3, 4, 5, 6];
  const heldC = opts.heldOutClasses ?? [7, 8, 9];
  const train = fashionImages({ train: true, classes: trainC });
  const held = fashionImages({ train: false, classes: heldC });
  manualSeed(seed);
  const gen = new Generator(seed);
  const dim = opts.embeddingDim ?? 32;
  const net = new SiameseNetwork(
    new Sequential(
      new Conv2d(1, 16, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(16, 32, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(32 * 49, 64),
      new ReLU(),
      new Linear(64, dim),
    ),
  );
  const byClass = (d: { y: Tensor }, k: number): number[][] => {
    const y = d.y.dataView();
    const out: number[][] = Array.from({ length: k }, () => []);
    for (let i = 0; i < y.length; i++) out[y[i]].push(i);
    return out;
  };
  const pick = <T>(a: readonly T[]): T => a[Math.floor(gen.random() * a.length)];
  const bs = opts.batchSize ?? 32,
    steps = opts.steps ?? 300;
  const pairs = new DataLoader(new ContrastivePairs(train.x, train.y, steps * bs), {
    batchSize: bs,
    generator: new Generator(seed),
  });
  let finalLoss = NaN;
  // fit sees the shared embedding network (it holds every parameter); the step runs both branches on a pair batch.
  await fit(net.embedding as Sequential, pairs, {
    epochs: 1,
    optimizer: new Adam(net.parameters(), { lr: opts.lr ?? 1e-3 }),
    progress: false,
    trainingStep: ([a, b, same]) => {
      const [e1, e2] = net.forward(a, b);
      return contrastiveLoss(e1, e2, same, { margin: opts.margin ?? 1 });
    },
    callbacks: [
      {
        onBatchEnd: (step, loss) => {
          finalLoss = loss;
          if (step % 50 === 1) log(`step ${step - 1}: contrastive loss ${loss.toFixed(4)}`);
        },
      },
    ],
  });
  net.eval();
  // One-shot episodes on the held-out classes.
  const heldIdx = byClass(held, heldC.length);
  const pixels = held.x.dataView();
  const P = 28 * 28;
  let ok = 0,
    okPix = 0;
  const episodes = opts.episodes ?? 200;
  for (let e = 0; e < episodes; e++) {
    const truth = Math.floor(gen.random() * heldC.length);
    const support = heldIdx.map((ids) => pick(ids));
    let q = pick(heldIdx[truth]);
    while (q === support[truth]) q = pick(heldIdx[truth]);
    const sx = held.x.indexSelect(0, tensor(Int32Array.from(support), [support.length], { dtype: 'int32' }));
    const qx = held.x.indexSelect(0, tensor(Int32Array.from([q]), [1], { dtype: 'int32' }));
    if (net.classify(sx, qx)[0] === truth) ok++;
    let best = -1,
      bestD = Infinity;
    support.forEach((si, k) => {
      let d = 0;
      for (let p = 0; p < P; p++) d += (pixels[si * P + p] - pixels[q * P + p]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    });
    if (best === truth) okPix++;
  }
  const r = {
    oneShotAccuracy: ok / episodes,
    pixelBaselineAccuracy: okPix / episodes,
    chance: 1 / heldC.length,
    finalLoss,
  };
  log(
    `${heldC.length}-way one-shot on held-out classes ${heldC.join(', ')}: ${(100 * r.oneShotAccuracy).toFixed(1)}% ` +
      `(raw-pixel nearest neighbour ${(100 * r.pixelBaselineAccuracy).toFixed(1)}%, chance ${(100 * r.chance).toFixed(1)}%)`,
  );
  return r;
}
