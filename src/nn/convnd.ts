/**
 * Conv1d, Conv3d, ConvTranspose1d and ConvTranspose3d: one layer implementation over the number of spatial dims
 * (PyTorch's _ConvNd), on the functional ops of ../ops/convnd.ts. Conv2d/ConvTranspose2d (./conv.ts) keep their
 * own classes for the fused inference paths.
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { ConvPaddingMode } from '../ops/conv.js';
import {
  conv1d,
  conv3d,
  convTranspose1d,
  convTranspose3d,
  tupleN,
  type IntSingle,
  type IntTriple,
} from '../ops/convnd.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { checkSize, resetLinearLike, type FactoryOptions } from './linear.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { pyInts } from './repr.js';

/** Options of Conv1d (T = IntSingle) and Conv3d (T = IntTriple): PyTorch's keyword arguments. */
export interface ConvNdLayerOptions<T> extends FactoryOptions {
  stride?: T;
  /** Padding on each side, or 'same'/'valid'. */
  padding?: T | 'same' | 'valid';
  dilation?: T;
  groups?: number;
  bias?: boolean;
  paddingMode?: ConvPaddingMode;
}
export type Conv1dLayerOptions = ConvNdLayerOptions<IntSingle>;
export type Conv3dLayerOptions = ConvNdLayerOptions<IntTriple>;

/** Options of ConvTranspose1d / ConvTranspose3d. */
export interface ConvTransposeNdLayerOptions<T> extends FactoryOptions {
  stride?: T;
  padding?: T;
  outputPadding?: T;
  groups?: number;
  bias?: boolean;
  dilation?: T;
}
export type ConvTranspose1dLayerOptions = ConvTransposeNdLayerOptions<IntSingle>;
export type ConvTranspose3dLayerOptions = ConvTransposeNdLayerOptions<IntTriple>;

const nonZero = (v: readonly number[]) => v.some((x) => x !== 0);
const nonOne = (v: readonly number[]) => v.some((x) => x !== 1);

type Fn = (x: Tensor, w: Tensor, b: Tensor | null, opts: Record<string, unknown>) => Tensor;

/** Shared state, init and repr of the N-d convolution layers. */
abstract class ConvNdBase<In extends unknown[] = [Tensor]> extends Module<In> {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly dilation: number[];
  readonly groups: number;
  declare weight: Parameter;
  declare bias: Parameter | null;

  protected constructor(
    protected readonly layer: string,
    protected readonly dims: number,
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    opts: FactoryOptions & {
      stride?: number | readonly number[];
      dilation?: number | readonly number[];
      groups?: number;
      bias?: boolean;
    },
    transposed: boolean,
  ) {
    super();
    checkSize(layer, 'in_channels', inChannels);
    checkSize(layer, 'out_channels', outChannels);
    this.groups = opts.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1)
      throw new Error(`${layer}: groups must be a positive integer, got ${this.groups}`);
    if (inChannels % this.groups !== 0)
      throw new Error(`${layer}: in_channels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0)
      throw new Error(`${layer}: out_channels (${outChannels}) must be divisible by groups (${this.groups})`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = tupleN(layer, 'kernel_size', kernelSize, dims, 1);
    this.stride = tupleN(layer, 'stride', opts.stride ?? 1, dims, 1);
    this.dilation = tupleN(layer, 'dilation', opts.dilation ?? 1, dims, 1);
    const dtype = opts.dtype ?? 'float32';
    const wShape = transposed
      ? [inChannels, outChannels / this.groups, ...this.kernelSize]
      : [outChannels, inChannels / this.groups, ...this.kernelSize];
    this.registerParameter('weight', new Parameter(Tensor.empty(wShape, dtype)));
    this.registerParameter('bias', opts.bias === false ? null : new Parameter(Tensor.empty([outChannels], dtype)));
    noGrad(() => this.resetParameters(opts.generator));
  }

  /** PyTorch's default: kaiming_uniform_(a=√5) weight, U(±1/√fan_in) bias. */
  resetParameters(generator?: Generator): void {
    resetLinearLike(this.weight, this.bias, generator);
  }

  protected checkChannels(x: Tensor): void {
    const rank = x.shape.length;
    const c = rank === this.dims + 2 ? x.shape[1] : rank === this.dims + 1 ? x.shape[0] : -1;
    if (c < 0)
      throw new Error(
        `${this.layer}: expected a ${this.dims + 2}-D (batched) or ${this.dims + 1}-D (unbatched) input, got shape ${formatShape(x.shape)}`,
      );
    if (c !== this.inChannels) {
      throw new Error(
        `${this.layer}: input ${formatShape(x.shape)} has ${c} channels but this layer expects ${this.inChannels} (weight ${formatShape(this.weight.shape)}, groups=${this.groups})`,
      );
    }
  }

  /** Padding of each side (or 'same'/'valid' for the convolutions). */
  abstract readonly padding: number[] | 'same' | 'valid';
  /** Transposed convolutions only. */
  declare readonly outputPadding?: number[];
  /** Convolutions only. */
  declare readonly paddingMode?: ConvPaddingMode;

  /** PyTorch's _ConvNd.extra_repr: the options that differ from their defaults, in its order. */
  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (nonZero(this.padding)) s += `, padding=${pyInts(this.padding)}`;
    if (nonOne(this.dilation)) s += `, dilation=${pyInts(this.dilation)}`;
    if (this.outputPadding && nonZero(this.outputPadding)) s += `, output_padding=${pyInts(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode && this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

/** N-d convolution layer (Conv1d, Conv3d). */
abstract class ConvNd extends ConvNdBase {
  readonly padding: number[] | 'same' | 'valid';
  override readonly paddingMode: ConvPaddingMode;

  protected constructor(
    layer: string,
    dims: number,
    private readonly fn: Fn,
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    opts: ConvNdLayerOptions<number | readonly number[]>,
  ) {
    super(layer, dims, inChannels, outChannels, kernelSize, opts, false);
    const padding = opts.padding ?? 0;
    if (typeof padding === 'string') {
      if (padding !== 'same' && padding !== 'valid')
        throw new Error(`${layer}: invalid padding string '${padding}', should be one of 'valid', 'same'`);
      if (padding === 'same' && nonOne(this.stride))
        throw new Error(`${layer}: padding='same' is not supported for strided convolutions`);
      this.padding = padding;
    } else {
      this.padding = tupleN(layer, 'padding', padding, dims);
    }
    this.paddingMode = opts.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(this.paddingMode)) {
      throw new Error(
        `${layer}: paddingMode must be one of 'zeros', 'reflect', 'replicate', 'circular', got '${this.paddingMode}'`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    this.checkChannels(x);
    return this.fn(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      paddingMode: this.paddingMode,
    });
  }
}

/** 1-D convolution over [N, C, L] (or [C, L]): weight [outChannels, inChannels/groups, k], as torch.nn.Conv1d. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntSingle, opts: Conv1dLayerOptions = {}) {
    super('Conv1d', 1, conv1d as Fn, inChannels, outChannels, kernelSize, opts);
  }
}

/** 3-D convolution over [N, C, D, H, W] (or unbatched): weight [outChannels, inChannels/groups, kd, kh, kw], as torch.nn.Conv3d. */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntTriple, opts: Conv3dLayerOptions = {}) {
    super('Conv3d', 3, conv3d as Fn, inChannels, outChannels, kernelSize, opts);
  }
}

/** N-d transposed convolution layer; `forward(x, outputSize)` picks the output padding as PyTorch does. */
abstract class ConvTransposeNd extends ConvNdBase<[Tensor, (readonly number[])?]> {
  readonly padding: number[];
  override readonly outputPadding: number[];

  protected constructor(
    layer: string,
    dims: number,
    private readonly fn: Fn,
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    opts: ConvTransposeNdLayerOptions<number | readonly number[]>,
  ) {
    super(layer, dims, inChannels, outChannels, kernelSize, opts, true);
    this.padding = tupleN(layer, 'padding', opts.padding ?? 0, dims);
    this.outputPadding = tupleN(layer, 'output_padding', opts.outputPadding ?? 0, dims);
  }

  /** The output padding that makes the output spatial size equal `outputSize` (spatial sizes, or a full shape). */
  private outputPaddingFor(x: Tensor, outputSize: readonly number[]): number[] {
    const dims = this.dims;
    const size = outputSize.length > dims ? outputSize.slice(-dims) : outputSize;
    if (size.length !== dims)
      throw new Error(
        `${this.layer}: outputSize must have ${dims} (or ${dims + 2}) elements, got ${formatShape(outputSize)}`,
      );
    return size.map((s, d) => {
      const inSize = x.shape[x.shape.length - dims + d];
      const min = (inSize - 1) * this.stride[d] - 2 * this.padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1;
      const max = min + this.stride[d] - 1;
      if (s < min || s > max) {
        throw new Error(
          `${this.layer}: requested an output size of ${formatShape(size)}, but valid sizes range from [${min}..${max}] in dim ${d} (for an input of ${formatShape(x.shape)})`,
        );
      }
      return s - min;
    });
  }

  forward(x: Tensor, outputSize?: readonly number[]): Tensor {
    this.checkChannels(x);
    const outputPadding = outputSize ? this.outputPaddingFor(x, outputSize) : this.outputPadding;
    return this.fn(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }
}

/** Transposed 1-D convolution: weight [inChannels, outChannels/groups, k], as torch.nn.ConvTranspose1d. */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntSingle, opts: ConvTranspose1dLayerOptions = {}) {
    super('ConvTranspose1d', 1, convTranspose1d as Fn, inChannels, outChannels, kernelSize, opts);
  }
}

/** Transposed 3-D convolution: weight [inChannels, outChannels/groups, kd, kh, kw], as torch.nn.ConvTranspose3d. */
export class ConvTranspose3d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntTriple, opts: ConvTranspose3dLayerOptions = {}) {
    super('ConvTranspose3d', 3, convTranspose3d as Fn, inChannels, outChannels, kernelSize, opts);
  }
}
