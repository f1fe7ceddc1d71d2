/** Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, MaxUnpool2d. */
import {
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  avgPool2d,
  maxPool2d,
  maxUnpool2d,
  type AdaptiveSize,
} from '../ops/pool.js';
import type { IntPair } from '../ops/conv.js';
import { pair } from '../ops/util.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { pyBool, pyInts } from './repr.js';

/** Options of MaxPool2d. */
export interface MaxPool2dLayerOptions<R extends boolean = boolean> {
  /** Default: kernelSize. */
  stride?: IntPair | null;
  padding?: IntPair;
  dilation?: IntPair;
  /** Also return the argmax indices (for MaxUnpool2d). */
  returnIndices?: R;
  ceilMode?: boolean;
}

/** Max over kh×kw windows. With `returnIndices: true` forward returns [output, indices]. */
export class MaxPool2d<R extends boolean = false> extends Module<[Tensor], R extends true ? [Tensor, Tensor] : Tensor> {
  readonly kernelSize: IntPair;
  readonly stride: IntPair;
  readonly padding: IntPair;
  readonly dilation: IntPair;
  readonly returnIndices: boolean;
  readonly ceilMode: boolean;

  constructor(kernelSize: IntPair, opts: MaxPool2dLayerOptions<R> = {}) {
    super();
    pair('MaxPool2d', 'kernel_size', kernelSize, 1);
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.returnIndices = opts.returnIndices ?? false;
    this.ceilMode = opts.ceilMode ?? false;
  }

  forward(x: Tensor): R extends true ? [Tensor, Tensor] : Tensor {
    const o = { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode };
    const out = this.returnIndices
      ? maxPool2d(x, this.kernelSize, { ...o, returnIndices: true })
      : maxPool2d(x, this.kernelSize, o);
    return out as R extends true ? [Tensor, Tensor] : Tensor;
  }

  override extraRepr(): string {
    return `kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}, padding=${pyInts(this.padding)}, dilation=${pyInts(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/** Options of AvgPool2d. */
export interface AvgPool2dLayerOptions {
  stride?: IntPair | null;
  padding?: IntPair;
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (default true). */
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** Mean over kh×kw windows. */
export class AvgPool2d extends Module {
  readonly kernelSize: IntPair;
  readonly stride: IntPair;
  readonly padding: IntPair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: IntPair, opts: AvgPool2dLayerOptions = {}) {
    super();
    pair('AvgPool2d', 'kernel_size', kernelSize, 1);
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride ?? null;
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}, padding=${pyInts(this.padding)}`;
  }
}

function sizeRepr(s: AdaptiveSize): string {
  return typeof s === 'number' ? String(s) : `(${s.map((v) => (v === null ? 'None' : String(v))).join(', ')})`;
}

/** Average pooling to a fixed output size (e.g. 1 for global average pooling). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Max pooling to a fixed output size; `returnIndices` as MaxPool2d. */
export class AdaptiveMaxPool2d<R extends boolean = false> extends Module<
  [Tensor],
  R extends true ? [Tensor, Tensor] : Tensor
> {
  readonly returnIndices: boolean;

  constructor(
    readonly outputSize: AdaptiveSize,
    opts: { returnIndices?: R } = {},
  ) {
    super();
    this.returnIndices = opts.returnIndices ?? false;
  }

  forward(x: Tensor): R extends true ? [Tensor, Tensor] : Tensor {
    const out = this.returnIndices
      ? adaptiveMaxPool2d(x, this.outputSize, { returnIndices: true })
      : adaptiveMaxPool2d(x, this.outputSize);
    return out as R extends true ? [Tensor, Tensor] : Tensor;
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Partial inverse of MaxPool2d: forward(x, indices, outputSize?) scatters x to the recorded argmax positions. */
export class MaxUnpool2d extends Module<[Tensor, Tensor, (readonly number[] | null)?]> {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: IntPair, opts: { stride?: IntPair | null; padding?: IntPair } = {}) {
    super();
    this.kernelSize = pair('MaxUnpool2d', 'kernel_size', kernelSize, 1);
    this.stride = pair('MaxUnpool2d', 'stride', opts.stride ?? kernelSize, 1);
    this.padding = pair('MaxUnpool2d', 'padding', opts.padding ?? 0, 0);
  }

  forward(x: Tensor, indices: Tensor, outputSize: readonly number[] | null = null): Tensor {
    return maxUnpool2d(x, indices, this.kernelSize, { stride: this.stride, padding: this.padding, outputSize });
  }

  override extraRepr(): string {
    return `kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}, padding=${pyInts(this.padding)}`;
  }
}
