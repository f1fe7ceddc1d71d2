/**
 * Siamese networks for one-shot classification (Koch et al. 2015; contrastive loss of Hadsell, Chopra & LeCun 2006):
 * one embedding network applied to both images of a pair, trained so that same-class pairs are close and
 * different-class pairs at least `margin` apart; a new class is then recognised from a single example by the
 * nearest support embedding.
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { AnyModule } from '../nn/module.js';
import { FashionMNIST } from '../data/idx.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Flatten, Linear } from '../nn/linear.js';
import { MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { Adam } from '../optim/adam.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import { selectClasses } from './transfer.js';
import { Module } from '../nn/module.js';
import { add, clamp, mul, neg, square, sqrt, sub } from '../ops/elementwise.js';
import { mean, sum } from '../ops/reduce.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

const rsub = (x: Tensor, c: number): Tensor => add(neg(x), c);

/** Options of `contrastiveLoss`. */
export interface ContrastiveLossOptions {
  /** Distance beyond which a different-class pair costs nothing (default 1). */
  margin?: number;
  /** 'mean' (default) or 'sum' over the pairs. */
  reduction?: 'mean' | 'sum';
}

/**
 * Contrastive loss of embeddings e1, e2 [N, D] and `same` [N] (1 = same class, 0 = different):
 * same·d² + (1 − same)·max(0, margin − d)², with d the Euclidean distance (ε inside the root keeps the gradient
 * finite at d = 0).
 */
export function contrastiveLoss(e1: Tensor, e2: Tensor, same: Tensor, opts: ContrastiveLossOptions = {}): Tensor {
  if (e1.shape.length !== 2 || e1.shape.join() !== e2.shape.join() || same.shape.length !== 1 || same.shape[0] !== e1.shape[0]) {
    throw new Error(`contrastiveLoss: expected embeddings [N, D], [N, D] and same [N], got ${formatShape(e1.shape)}, ${formatShape(e2.shape)}, ${formatShape(same.shape)}`);
  }
  const margin = opts.margin ?? 1;
  const d2 = sum(square(sub(e1, e2)), 1);
  const d = sqrt(add(d2, 1e-12));
  const s = same.dtype === 'float32' || same.dtype === 'float64' ? same : same.to(e1.dtype);
  const loss = add(mul(s, d2), mul(rsub(s, 1), square(clamp(rsub(d, margin), 0))));
  return opts.reduction === 'sum' ? sum(loss) : mean(loss);
}

/** Wraps an embedding network: `forward(x1, x2)` → [e1, e2] with shared weights; `embed(x)` for one batch. */
export class SiameseNetwork extends Module<[Tensor, Tensor], [Tensor, Tensor]> {
  embedding: AnyModule;
  constructor(embedding: AnyModule) {
    super();
    this.embedding = embedding;
  }

  embed(x: Tensor): Tensor {
    return this.embedding.forward(x) as Tensor;
  }

  forward(x1: Tensor, x2: Tensor): [Tensor, Tensor] {
    return [this.embed(x1), this.embed(x2)];
  }

  /**
   * One-shot classification: for each query the index of the nearest support embedding (support = one image per
   * class, [K, C, H, W]); returns class indices into the support set. Runs without a graph.
   */
  classify(support: Tensor, queries: Tensor): number[] {
    return noGrad(() => {
      const s = this.embed(support).contiguous().dataView();
      const q = this.embed(queries).contiguous().dataView();
      const K = support.shape[0], N = queries.shape[0], D = s.length / K;
      const out: number[] = [];
      for (let i = 0; i < N; i++) {
        let best = 0, bestD = Infinity;
        for (let k = 0; k < K; k++) {
          let dd = 0;
          for (let j = 0; j < D; j++) dd += (q[i * D + j] - s[k * D + j]) ** 2;
          if (dd < bestD) { bestD = dd; best = k; }
        }
        out.push(best);
      }
      return out;
    });
  }
}

/** Options of `siameseOneShotExperiment`. */
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
export function siameseOneShotExperiment(opts: SiameseExperimentOptions = {}): SiameseExperimentResult {
  const seed = opts.seed ?? 0;
  const log = opts.log ?? (() => {});
  const trainC = opts.trainClasses ?? [0, 1, 2, 3, 4, 5, 6];
  const heldC = opts.heldOutClasses ?? [7, 8, 9];
  const train = selectClasses(new FashionMNIST({ subset: 'embedded', train: true }), trainC);
  const held = selectClasses(new FashionMNIST({ subset: 'embedded', train: false }), heldC);
  manualSeed(seed);
  const gen = new Generator(seed);
  const dim = opts.embeddingDim ?? 32;
  const net = new SiameseNetwork(new Sequential(
    new Conv2d(1, 16, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Conv2d(16, 32, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(32 * 49, 64), new ReLU(), new Linear(64, dim),
  ));
  const byClass = (d: { y: Tensor }, k: number): number[][] => {
    const y = d.y.dataView();
    const out: number[][] = Array.from({ length: k }, () => []);
    for (let i = 0; i < y.length; i++) out[y[i]].push(i);
    return out;
  };
  const trainIdx = byClass(train, trainC.length);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(gen.random() * a.length)];
  const opt = new Adam(net.parameters(), { lr: opts.lr ?? 1e-3 });
  const bs = opts.batchSize ?? 32;
  let finalLoss = NaN;
  net.train();
  for (let s = 0; s < (opts.steps ?? 300); s++) {
    const a: number[] = [], b: number[] = [], same: number[] = [];
    for (let i = 0; i < bs; i++) {
      const c1 = Math.floor(gen.random() * trainC.length);
      const isSame = i % 2 === 0;
      let c2 = c1;
      while (!isSame && c2 === c1) c2 = Math.floor(gen.random() * trainC.length);
      a.push(pick(trainIdx[c1]));
      b.push(pick(trainIdx[c2]));
      same.push(isSame ? 1 : 0);
    }
    const ia = tensor(Int32Array.from(a), [bs], { dtype: 'int32' }), ib = tensor(Int32Array.from(b), [bs], { dtype: 'int32' });
    opt.zeroGrad();
    const [e1, e2] = net.forward(train.x.indexSelect(0, ia), train.x.indexSelect(0, ib));
    const loss = contrastiveLoss(e1, e2, tensor(same), { margin: opts.margin ?? 1 });
    loss.backward();
    opt.step();
    finalLoss = loss.item();
    if (s % 50 === 0) log(`step ${s}: contrastive loss ${finalLoss.toFixed(4)}`);
  }
  net.eval();
  // One-shot episodes on the held-out classes.
  const heldIdx = byClass(held, heldC.length);
  const pixels = held.x.dataView();
  const P = 28 * 28;
  let ok = 0, okPix = 0;
  const episodes = opts.episodes ?? 200;
  for (let e = 0; e < episodes; e++) {
    const truth = Math.floor(gen.random() * heldC.length);
    const support = heldIdx.map((ids) => pick(ids));
    let q = pick(heldIdx[truth]);
    while (q === support[truth]) q = pick(heldIdx[truth]);
    const sx = held.x.indexSelect(0, tensor(Int32Array.from(support), [support.length], { dtype: 'int32' }));
    const qx = held.x.indexSelect(0, tensor(Int32Array.from([q]), [1], { dtype: 'int32' }));
    if (net.classify(sx, qx)[0] === truth) ok++;
    let best = -1, bestD = Infinity;
    support.forEach((si, k) => {
      let d = 0;
      for (let p = 0; p < P; p++) d += (pixels[si * P + p] - pixels[q * P + p]) ** 2;
      if (d < bestD) { bestD = d; best = k; }
    });
    if (best === truth) okPix++;
  }
  const r = { oneShotAccuracy: ok / episodes, pixelBaselineAccuracy: okPix / episodes, chance: 1 / heldC.length, finalLoss };
  log(`${heldC.length}-way one-shot on held-out classes ${heldC.join(', ')}: ${(100 * r.oneShotAccuracy).toFixed(1)}% ` +
    `(raw-pixel nearest neighbour ${(100 * r.pixelBaselineAccuracy).toFixed(1)}%, chance ${(100 * r.chance).toFixed(1)}%)`);
  return r;
}
