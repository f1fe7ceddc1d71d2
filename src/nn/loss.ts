/** Loss modules around the functional losses, and Flooding. */
import { abs, add, sub } from '../ops/elementwise.js';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  mseLoss,
  nllLoss,
  smoothL1Loss,
  type Reduction,
} from '../ops/loss.js';
import { Tensor } from '../tensor/tensor.js';
import { Module, type AnyModule } from './module.js';
import { pyFloat } from './repr.js';

/** A module computing a loss from (input, target). */
export type LossModule = Module<[Tensor, Tensor], Tensor>;

function checkReduction(layer: string, r: Reduction): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none')
    throw new Error(`${layer}: reduction must be 'mean', 'sum' or 'none', got '${String(r)}'`);
  return r;
}

/** Options of the class-weighted losses. */
export interface WeightedLossOptions {
  /** Per-class rescaling weight [C] (a buffer named `weight`, so it moves with the state dict). */
  weight?: Tensor | null;
  reduction?: Reduction;
}

/** Cross entropy of logits [N, C, ...] against class indices [N, ...] (or class probabilities [N, C, ...]). */
export class CrossEntropyLoss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  declare weight: Tensor | null;

  constructor(opts: WeightedLossOptions & { ignoreIndex?: number; labelSmoothing?: number } = {}) {
    super();
    this.registerBuffer('weight', opts.weight ?? null);
    this.reduction = checkReduction('CrossEntropyLoss', opts.reduction ?? 'mean');
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

/** Negative log-likelihood of log-probabilities [N, C, ...] against class indices. */
export class NLLLoss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;
  readonly ignoreIndex: number;
  declare weight: Tensor | null;

  constructor(opts: WeightedLossOptions & { ignoreIndex?: number } = {}) {
    super();
    this.registerBuffer('weight', opts.weight ?? null);
    this.reduction = checkReduction('NLLLoss', opts.reduction ?? 'mean');
    this.ignoreIndex = opts.ignoreIndex ?? -100;
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/** Binary cross entropy of probabilities in [0, 1]. */
export class BCELoss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;
  declare weight: Tensor | null;

  constructor(opts: WeightedLossOptions = {}) {
    super();
    this.registerBuffer('weight', opts.weight ?? null);
    this.reduction = checkReduction('BCELoss', opts.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** Sigmoid + binary cross entropy in one numerically stable op; `posWeight` weights positives per class. */
export class BCEWithLogitsLoss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;
  declare weight: Tensor | null;
  declare posWeight: Tensor | null;

  constructor(opts: WeightedLossOptions & { posWeight?: Tensor | null } = {}) {
    super();
    this.registerBuffer('weight', opts.weight ?? null);
    this.registerBuffer('pos_weight', opts.posWeight ?? null);
    this.reduction = checkReduction('BCEWithLogitsLoss', opts.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.posWeight,
      reduction: this.reduction,
    });
  }
}

/** Mean squared error. */
export class MSELoss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;

  constructor(opts: { reduction?: Reduction } = {}) {
    super();
    this.reduction = checkReduction('MSELoss', opts.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

/** Mean absolute error. */
export class L1Loss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;

  constructor(opts: { reduction?: Reduction } = {}) {
    super();
    this.reduction = checkReduction('L1Loss', opts.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}

/** Quadratic below `beta`, linear above (Fast R-CNN's smooth L1). */
export class SmoothL1Loss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;
  readonly beta: number;

  constructor(opts: { reduction?: Reduction; beta?: number } = {}) {
    super();
    this.reduction = checkReduction('SmoothL1Loss', opts.reduction ?? 'mean');
    this.beta = opts.beta ?? 1;
    if (!(this.beta >= 0)) throw new Error(`SmoothL1Loss: beta must be ≥ 0, got ${this.beta}`);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** |loss − b| + b: the flooding transform (gradient descent above the flood level b, ascent below). */
export function flooding(loss: Tensor, b: number): Tensor {
  return add(abs(sub(loss, b)), b);
}

/**
 * Flooding (Ishida et al., ICML 2020): keeps the training loss around the flood level `b` instead of driving it
 * to zero, L̃ = |L − b| + b. Wrap a loss module — `new nn.Flooding(new nn.CrossEntropyLoss(), 0.02)` then
 * `forward(logits, target)` — or pass no module and call `forward(lossTensor)` on a scalar loss.
 */
export class Flooding extends Module<[Tensor, Tensor?]> {
  declare loss: AnyModule | null;

  constructor(
    loss: LossModule | null,
    readonly b: number,
  ) {
    super();
    if (!(b >= 0)) throw new Error(`Flooding: the flood level b must be ≥ 0, got ${b}`);
    this.registerModule('loss', loss);
  }

  forward(inputOrLoss: Tensor, target?: Tensor): Tensor {
    let loss: Tensor;
    if (target !== undefined) {
      if (!this.loss)
        throw new Error(
          'Flooding: got (input, target) but no loss module; construct with a loss module or pass a loss tensor',
        );
      loss = this.loss.forward(inputOrLoss, target) as Tensor;
    } else {
      loss = inputOrLoss;
    }
    if (!(loss instanceof Tensor) || loss.numel() !== 1) {
      throw new Error(
        `Flooding: expects a scalar loss (use reduction 'mean' or 'sum'), got shape [${loss.shape.join(', ')}]`,
      );
    }
    return flooding(loss, this.b);
  }

  override extraRepr(): string {
    return `b=${pyFloat(this.b)}`;
  }
}
