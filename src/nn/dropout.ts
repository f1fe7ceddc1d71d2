/** Dropout layers: active in training mode, identity in eval mode. */
import { dropout, dropout2d } from '../ops/dropout.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { pyFloat } from './repr.js';

function checkP(layer: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${layer}: dropout probability has to be between 0 and 1, but got ${p}`);
}

/** Zeroes each element with probability p during training, scaling the rest by 1/(1−p). */
export class Dropout extends Module {
  readonly generator: Generator | undefined;

  constructor(
    readonly p = 0.5,
    opts: { generator?: Generator } = {},
  ) {
    super();
    checkP('Dropout', p);
    this.generator = opts.generator;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training, generator: this.generator });
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}

/** Zeroes whole channels of [N, C, H, W] with probability p during training. */
export class Dropout2d extends Module {
  readonly generator: Generator | undefined;

  constructor(
    readonly p = 0.5,
    opts: { generator?: Generator } = {},
  ) {
    super();
    checkP('Dropout2d', p);
    this.generator = opts.generator;
  }

  forward(x: Tensor): Tensor {
    return dropout2d(x, { p: this.p, training: this.training, generator: this.generator });
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}
