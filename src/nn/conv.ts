/** Conv2d and ConvTranspose2d. */
import { noGrad } from '../autograd/grad-mode.js';
import { conv2d, convTranspose2d, type ConvPaddingMode, type IntPair } from '../ops/conv.js';
import { conv2dReluMaxPool2d } from '../ops/fused.js';
import { pair } from '../ops/util.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { checkSize, resetLinearLike, type FactoryOptions } from './linear.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import type { MaxPool2d } from './pooling.js';
import { pyInts } from './repr.js';

/** Options of Conv2d (PyTorch's keyword arguments). */
export interface Conv2dLayerOptions extends FactoryOptions {
  stride?: IntPair;
  /** Zero (or paddingMode) padding on each side, or 'same'/'valid'. */
  padding?: IntPair | 'same' | 'valid';
  dilation?: IntPair;
  groups?: number;
  bias?: boolean;
  paddingMode?: ConvPaddingMode;
}

function checkGroups(layer: string, inC: number, outC: number, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inC % groups !== 0) throw new Error(`${layer}: in_channels (${inC}) must be divisible by groups (${groups})`);
  if (outC % groups !== 0) throw new Error(`${layer}: out_channels (${outC}) must be divisible by groups (${groups})`);
}

/**
 * 2-D convolution over [N, C, H, W]: weight [outChannels, inChannels/groups, kh, kw], bias [outChannels].
 * Default init as PyTorch: kaiming_uniform_(a=√5) (U(±1/√fan_in)) for the weight and U(±1/√fan_in) for the bias.
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: ConvPaddingMode;
  declare weight: Parameter;
  declare bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, opts: Conv2dLayerOptions = {}) {
    super();
    const L = 'Conv2d';
    checkSize(L, 'in_channels', inChannels);
    checkSize(L, 'out_channels', outChannels);
    this.groups = opts.groups ?? 1;
    checkGroups(L, inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(L, 'kernel_size', kernelSize, 1);
    this.stride = pair(L, 'stride', opts.stride ?? 1, 1);
    this.dilation = pair(L, 'dilation', opts.dilation ?? 1, 1);
    const padding = opts.padding ?? 0;
    if (typeof padding === 'string') {
      if (padding !== 'same' && padding !== 'valid')
        throw new Error(`${L}: invalid padding string '${padding}', should be one of 'valid', 'same'`);
      if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
        throw new Error(`${L}: padding='same' is not supported for strided convolutions`);
      }
      this.padding = padding;
    } else {
      this.padding = pair(L, 'padding', padding, 0);
    }
    this.paddingMode = opts.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(this.paddingMode)) {
      throw new Error(
        `${L}: paddingMode must be one of 'zeros', 'reflect', 'replicate', 'circular', got '${this.paddingMode}'`,
      );
    }
    const dtype = opts.dtype ?? 'float32';
    const [kh, kw] = this.kernelSize;
    this.registerParameter(
      'weight',
      new Parameter(Tensor.empty([outChannels, inChannels / this.groups, kh, kw], dtype)),
    );
    this.registerParameter('bias', opts.bias === false ? null : new Parameter(Tensor.empty([outChannels], dtype)));
    noGrad(() => this.resetParameters(opts.generator));
  }

  resetParameters(generator?: Generator): void {
    resetLinearLike(this.weight, this.bias, generator);
  }

  forward(x: Tensor): Tensor {
    return this.convolve(x, 'none');
  }

  /**
   * The layer's convolution with an optional fused ReLU epilogue (what `relu(this.forward(x))` computes, in one
   * pass). Runs no hooks: the fusion pass (nn/fusion.ts) calls it only for a Conv2d → ReLU pair without hooks.
   */
  convolve(x: Tensor, activation: 'none' | 'relu'): Tensor {
    this.checkInput(x);
    return conv2d(x, this.weight, this.bias, { ...this.convOptions(), activation });
  }

  /**
   * `pool(relu(this.forward(x)))` as one fused op (see conv2dReluMaxPool2d) for a batched input. Runs no hooks:
   * the fusion pass (nn/fusion.ts) calls it only for a Conv2d → ReLU → MaxPool2d chain without hooks.
   */
  convolveReluMaxPool(x: Tensor, pool: MaxPool2d): Tensor {
    this.checkInput(x);
    const { stride, padding, dilation, ceilMode } = pool;
    return conv2dReluMaxPool2d(x, this.weight, this.bias, this.convOptions(), pool.kernelSize, {
      stride,
      padding,
      dilation,
      ceilMode,
    });
  }

  private convOptions() {
    return {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      paddingMode: this.paddingMode,
    };
  }

  private checkInput(x: Tensor): void {
    const c = x.shape.length === 4 ? x.shape[1] : x.shape.length === 3 ? x.shape[0] : -1;
    if (c !== this.inChannels) {
      if (c < 0)
        throw new Error(
          `Conv2d: expected a 4-D input [N, C, H, W] (or 3-D [C, H, W]), got shape ${formatShape(x.shape)}`,
        );
      throw new Error(
        `Conv2d: input ${formatShape(x.shape)} has ${c} channels but this layer expects ${this.inChannels} (weight ${formatShape(this.weight.shape)}, groups=${this.groups})`,
      );
    }
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pyInts(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${pyInts(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

/** Options of ConvTranspose2d. */
export interface ConvTranspose2dLayerOptions extends FactoryOptions {
  stride?: IntPair;
  padding?: IntPair;
  outputPadding?: IntPair;
  groups?: number;
  bias?: boolean;
  dilation?: IntPair;
}

/**
 * Transposed 2-D convolution: weight [inChannels, outChannels/groups, kh, kw]. `forward(x, outputSize)` picks
 * the output padding that yields `outputSize` (the [H, W] or [N, C, H, W] of the matching conv's input), as PyTorch.
 */
export class ConvTranspose2d extends Module<[Tensor, (readonly number[])?]> {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  declare weight: Parameter;
  declare bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, opts: ConvTranspose2dLayerOptions = {}) {
    super();
    const L = 'ConvTranspose2d';
    checkSize(L, 'in_channels', inChannels);
    checkSize(L, 'out_channels', outChannels);
    this.groups = opts.groups ?? 1;
    checkGroups(L, inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(L, 'kernel_size', kernelSize, 1);
    this.stride = pair(L, 'stride', opts.stride ?? 1, 1);
    this.padding = pair(L, 'padding', opts.padding ?? 0, 0);
    this.outputPadding = pair(L, 'output_padding', opts.outputPadding ?? 0, 0);
    this.dilation = pair(L, 'dilation', opts.dilation ?? 1, 1);
    const dtype = opts.dtype ?? 'float32';
    const [kh, kw] = this.kernelSize;
    this.registerParameter(
      'weight',
      new Parameter(Tensor.empty([inChannels, outChannels / this.groups, kh, kw], dtype)),
    );
    this.registerParameter('bias', opts.bias === false ? null : new Parameter(Tensor.empty([outChannels], dtype)));
    noGrad(() => this.resetParameters(opts.generator));
  }

  resetParameters(generator?: Generator): void {
    resetLinearLike(this.weight, this.bias, generator);
  }

  /** The output padding that makes the output spatial size equal `outputSize`. */
  private outputPaddingFor(x: Tensor, outputSize: readonly number[]): [number, number] {
    const size = outputSize.length > 2 ? outputSize.slice(-2) : outputSize;
    if (size.length !== 2)
      throw new Error(`ConvTranspose2d: outputSize must have 2 (or 4) elements, got ${formatShape(outputSize)}`);
    const out: [number, number] = [0, 0];
    for (let d = 0; d < 2; d++) {
      const inSize = x.shape[x.shape.length - 2 + d];
      const min = (inSize - 1) * this.stride[d] - 2 * this.padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1;
      const max = min + this.stride[d] - 1;
      if (size[d] < min || size[d] > max) {
        throw new Error(
          `ConvTranspose2d: requested an output size of ${formatShape(size)}, but valid sizes range from [${min}..${max}] in dim ${d} (for an input of ${formatShape(x.shape)})`,
        );
      }
      out[d] = size[d] - min;
    }
    return out;
  }

  forward(x: Tensor, outputSize?: readonly number[]): Tensor {
    const outputPadding = outputSize ? this.outputPaddingFor(x, outputSize) : this.outputPadding;
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}`;
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pyInts(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${pyInts(this.dilation)}`;
    if (this.outputPadding[0] !== 0 || this.outputPadding[1] !== 0)
      s += `, output_padding=${pyInts(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}
