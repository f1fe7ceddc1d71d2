/** Linear, Identity, Flatten and Unflatten. */
import { noGrad } from '../autograd/grad-mode.js';
import { linear } from '../ops/matmul.js';
import { flatten, unflatten } from '../ops/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** Factory options every layer with weights accepts (PyTorch's `dtype`; a Generator for reproducible init). */
export interface FactoryOptions {
  /** Parameter dtype (default float32; float64 for gradient checks). */
  dtype?: DType;
  /** Generator used by the default initialisation (default: the global one). */
  generator?: Generator;
}

/** Checks that a layer size is a positive integer. */
export function checkSize(layer: string, name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${layer}: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/**
 * PyTorch's default init of Linear/Conv weights: kaiming_uniform_(a=√5), i.e. U(±1/√fan_in), and of their
 * biases: U(±1/√fan_in).
 */
export function resetLinearLike(weight: Tensor, bias: Tensor | null, generator?: Generator): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound, generator);
  }
}

/** Options of Linear. */
export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/** y = x·Wᵀ + b over the last dim: weight [outFeatures, inFeatures], bias [outFeatures]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  declare weight: Parameter;
  declare bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures, 0);
    checkSize('Linear', 'outFeatures', outFeatures, 0);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = opts.dtype ?? 'float32';
    this.registerParameter('weight', new Parameter(Tensor.empty([outFeatures, inFeatures], dtype)));
    this.registerParameter('bias', opts.bias === false ? null : new Parameter(Tensor.empty([outFeatures], dtype)));
    noGrad(() => this.resetParameters(opts.generator));
  }

  /** Re-draws the weights with PyTorch's default initialisation. */
  resetParameters(generator?: Generator): void {
    resetLinearLike(this.weight, this.bias, generator);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? 'True' : 'False'}`;
  }
}

/** Returns its input (a placeholder, e.g. to remove a classifier head). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim (default 1..-1, keeping the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Splits dim `dim` into `sizes` (inverse of Flatten). */
export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly unflattenedSize: readonly number[],
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return unflatten(x, this.dim, this.unflattenedSize);
  }

  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=(${this.unflattenedSize.join(', ')})`;
  }
}
