/**
 * Siamese networks for one-shot classification (Koch et al. 2015; contrastive loss of Hadsell, Chopra & LeCun 2006):
 * one embedding network applied to both images of a pair, trained so that same-class pairs are close and
 * different-class pairs at least `margin` apart; a new class is then recognised from a single example by the
 * nearest support embedding. The Fashion-MNIST experiment is `recipes.siameseOneShot`.
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { AnyModule } from '../nn/module.js';
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
  if (
    e1.shape.length !== 2 ||
    e1.shape.join() !== e2.shape.join() ||
    same.shape.length !== 1 ||
    same.shape[0] !== e1.shape[0]
  ) {
    throw new Error(
      `contrastiveLoss: expected embeddings [N, D], [N, D] and same [N], got ${formatShape(e1.shape)}, ${formatShape(e2.shape)}, ${formatShape(same.shape)}`,
    );
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
      const K = support.shape[0],
        N = queries.shape[0],
        D = s.length / K;
      const out: number[] = [];
      for (let i = 0; i < N; i++) {
        let best = 0,
          bestD = Infinity;
        for (let k = 0; k < K; k++) {
          let dd = 0;
          for (let j = 0; j < D; j++) dd += (q[i * D + j] - s[k * D + j]) ** 2;
          if (dd < bestD) {
            bestD = dd;
            best = k;
          }
        }
        out.push(best);
      }
      return out;
    });
  }
}
