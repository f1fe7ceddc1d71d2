/**
 * 1-D and 3-D pooling layers (MaxPool1d/3d, AvgPool1d/3d, AdaptiveAvgPool1d/3d, AdaptiveMaxPool1d/3d,
 * MaxUnpool1d/3d) around the functional ops of ../ops/poolnd.ts, with PyTorch's arguments and reprs.
 */
import type { IntSingle, IntTriple } from '../ops/convnd.js';
import type { MaxPoolNdOptions } from '../ops/poolnd.js';
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool3d,
  avgPool1d,
  avgPool3d,
  maxPool1d,
  maxPool3d,
  maxUnpool1d,
  maxUnpool3d,
  type AdaptiveSize3d,
} from '../ops/poolnd.js';
import { tupleN } from '../ops/convnd.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { pyBool, pyInts } from './repr.js';

/** Options of MaxPool1d (T = IntSingle) / MaxPool3d (T = IntTriple). */
export interface MaxPoolNdLayerOptions<T, R extends boolean = boolean> {
  /** Default: kernelSize. */
  stride?: T | null;
  padding?: T;
  dilation?: T;
  /** Also return the argmax indices (for MaxUnpool1d/3d). */
  returnIndices?: R;
  ceilMode?: boolean;
}

/** What a max-pooling layer returns: the pooled tensor, or [pooled, indices] with returnIndices. */
export type MaxPoolOutput<R extends boolean> = R extends true ? [Tensor, Tensor] : Tensor;

/** The 1-D and 3-D max-pooling layers differ only in their tuple type, rank and functional op. */
abstract class MaxPoolNd<T extends IntSingle | IntTriple, R extends boolean> extends Module<
  [Tensor],
  MaxPoolOutput<R>
> {
  readonly stride: T;
  readonly padding: T;
  readonly dilation: T;
  readonly returnIndices: boolean;
  readonly ceilMode: boolean;

  protected constructor(
    name: string,
    dims: number,
    readonly kernelSize: T,
    opts: MaxPoolNdLayerOptions<T, R>,
  ) {
    super();
    tupleN(name, 'kernel_size', kernelSize, dims, 1);
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? (0 as T);
    this.dilation = opts.dilation ?? (1 as T);
    this.returnIndices = opts.returnIndices ?? false;
    this.ceilMode = opts.ceilMode ?? false;
  }

  protected abstract pool(x: Tensor, opts: MaxPoolNdOptions<T>): Tensor | [Tensor, Tensor];

  forward(x: Tensor): MaxPoolOutput<R> {
    return this.pool(x, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
      returnIndices: this.returnIndices,
    }) as MaxPoolOutput<R>;
  }

  override extraRepr(): string {
    return `kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}, padding=${pyInts(this.padding)}, dilation=${pyInts(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/** Max over windows of k samples of [N, C, L]; with `returnIndices: true` forward returns [output, indices]. */
export class MaxPool1d<R extends boolean = false> extends MaxPoolNd<IntSingle, R> {
  constructor(kernelSize: IntSingle, opts: MaxPoolNdLayerOptions<IntSingle, R> = {}) {
    super('MaxPool1d', 1, kernelSize, opts);
  }

  protected pool(x: Tensor, opts: MaxPoolNdOptions<IntSingle>): Tensor | [Tensor, Tensor] {
    return maxPool1d(x, this.kernelSize, opts);
  }
}

/** Max over kd×kh×kw windows of [N, C, D, H, W]; with `returnIndices: true` forward returns [output, indices]. */
export class MaxPool3d<R extends boolean = false> extends MaxPoolNd<IntTriple, R> {
  constructor(kernelSize: IntTriple, opts: MaxPoolNdLayerOptions<IntTriple, R> = {}) {
    super('MaxPool3d', 3, kernelSize, opts);
  }

  protected pool(x: Tensor, opts: MaxPoolNdOptions<IntTriple>): Tensor | [Tensor, Tensor] {
    return maxPool3d(x, this.kernelSize, opts);
  }
}

/** Options of AvgPool1d. */
export interface AvgPool1dLayerOptions {
  stride?: IntSingle | null;
  padding?: IntSingle;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** Mean over windows of k samples. */
export class AvgPool1d extends Module {
  readonly stride: IntSingle;
  readonly padding: IntSingle;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(
    readonly kernelSize: IntSingle,
    opts: AvgPool1dLayerOptions = {},
  ) {
    super();
    tupleN('AvgPool1d', 'kernel_size', kernelSize, 1, 1);
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
  }

  forward(x: Tensor): Tensor {
    return avgPool1d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
  }

  override extraRepr(): string {
    const t = (v: IntSingle) => pyInts(typeof v === 'number' ? [v] : v);
    return `kernel_size=${t(this.kernelSize)}, stride=${t(this.stride)}, padding=${t(this.padding)}`;
  }
}

/** Options of AvgPool3d. */
export interface AvgPool3dLayerOptions extends Omit<AvgPool1dLayerOptions, 'stride' | 'padding'> {
  stride?: IntTriple | null;
  padding?: IntTriple;
  divisorOverride?: number | null;
}

/** Mean over kd×kh×kw windows. */
export class AvgPool3d extends Module {
  readonly stride: IntTriple;
  readonly padding: IntTriple;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(
    readonly kernelSize: IntTriple,
    opts: AvgPool3dLayerOptions = {},
  ) {
    super();
    tupleN('AvgPool3d', 'kernel_size', kernelSize, 3, 1);
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride ?? null;
  }

  forward(x: Tensor): Tensor {
    return avgPool3d(x, this.kernelSize, {
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

function sizeRepr(s: number | readonly (number | null)[]): string {
  return typeof s === 'number'
    ? String(s)
    : `(${s.map((v) => (v === null ? 'None' : String(v))).join(', ')}${s.length === 1 ? ',' : ''})`;
}

/** Average pooling of [N, C, L] to a fixed length. */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: IntSingle) {
    super();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool1d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Average pooling of [N, C, D, H, W] to a fixed size (1 for global average pooling). */
export class AdaptiveAvgPool3d extends Module {
  constructor(readonly outputSize: AdaptiveSize3d) {
    super();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool3d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Max pooling of [N, C, L] to a fixed length; `returnIndices` as MaxPool1d. */
export class AdaptiveMaxPool1d<R extends boolean = false> extends Module<[Tensor], MaxPoolOutput<R>> {
  readonly returnIndices: boolean;

  constructor(
    readonly outputSize: IntSingle,
    opts: { returnIndices?: R } = {},
  ) {
    super();
    this.returnIndices = opts.returnIndices ?? false;
  }

  forward(x: Tensor): MaxPoolOutput<R> {
    return adaptiveMaxPool1d(x, this.outputSize, { returnIndices: this.returnIndices }) as MaxPoolOutput<R>;
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Max pooling of [N, C, D, H, W] to a fixed size; `returnIndices` as MaxPool3d. */
export class AdaptiveMaxPool3d<R extends boolean = false> extends Module<[Tensor], MaxPoolOutput<R>> {
  readonly returnIndices: boolean;

  constructor(
    readonly outputSize: AdaptiveSize3d,
    opts: { returnIndices?: R } = {},
  ) {
    super();
    this.returnIndices = opts.returnIndices ?? false;
  }

  forward(x: Tensor): MaxPoolOutput<R> {
    return adaptiveMaxPool3d(x, this.outputSize, { returnIndices: this.returnIndices }) as MaxPoolOutput<R>;
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Partial inverse of MaxPool1d: forward(x, indices, outputSize?). */
export class MaxUnpool1d extends Module<[Tensor, Tensor, (readonly number[] | null)?]> {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];

  constructor(kernelSize: IntSingle, opts: { stride?: IntSingle | null; padding?: IntSingle } = {}) {
    super();
    this.kernelSize = tupleN('MaxUnpool1d', 'kernel_size', kernelSize, 1, 1);
    this.stride = tupleN('MaxUnpool1d', 'stride', opts.stride ?? kernelSize, 1, 1);
    this.padding = tupleN('MaxUnpool1d', 'padding', opts.padding ?? 0, 1);
  }

  forward(x: Tensor, indices: Tensor, outputSize: readonly number[] | null = null): Tensor {
    return maxUnpool1d(x, indices, this.kernelSize[0], {
      stride: this.stride[0],
      padding: this.padding[0],
      outputSize,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}, padding=${pyInts(this.padding)}`;
  }
}

/** Partial inverse of MaxPool3d: forward(x, indices, outputSize?). */
export class MaxUnpool3d extends Module<[Tensor, Tensor, (readonly number[] | null)?]> {
  readonly kernelSize: [number, number, number];
  readonly stride: [number, number, number];
  readonly padding: [number, number, number];

  constructor(kernelSize: IntTriple, opts: { stride?: IntTriple | null; padding?: IntTriple } = {}) {
    super();
    this.kernelSize = tupleN('MaxUnpool3d', 'kernel_size', kernelSize, 3, 1) as [number, number, number];
    this.stride = tupleN('MaxUnpool3d', 'stride', opts.stride ?? kernelSize, 3, 1) as [number, number, number];
    this.padding = tupleN('MaxUnpool3d', 'padding', opts.padding ?? 0, 3) as [number, number, number];
  }

  forward(x: Tensor, indices: Tensor, outputSize: readonly number[] | null = null): Tensor {
    return maxUnpool3d(x, indices, this.kernelSize, { stride: this.stride, padding: this.padding, outputSize });
  }

  override extraRepr(): string {
    return `kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}, padding=${pyInts(this.padding)}`;
  }
}
