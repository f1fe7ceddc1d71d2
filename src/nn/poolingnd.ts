/**
 * Pooling layers over 1, 2 or 3 spatial dims: one implementation of each kind (max, average, adaptive average,
 * adaptive max, max-unpool) as PyTorch's _MaxPoolNd/_AvgPoolNd/_AdaptiveAvgPoolNd/_AdaptiveMaxPoolNd/_MaxUnpoolNd,
 * on the functional ops of ../ops/poolnd.ts (1-D, 3-D) and ../ops/pool.ts (2-D). The 1-D and 3-D layers live
 * here; the 2-D ones (./pooling.ts) subclass the same bases.
 */
import type { IntSingle, IntTriple } from '../ops/convnd.js';
import type { AdaptiveSize } from '../ops/pool.js';
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

/** A kernel size, stride or padding of any of the layers: an int or a tuple. */
type IntN = number | readonly number[];

/** Options of MaxPool1d (T = IntSingle) / MaxPool2d (IntPair) / MaxPool3d (IntTriple). */
export interface MaxPoolNdLayerOptions<T, R extends boolean = boolean> {
  /** Default: kernelSize. */
  stride?: T | null;
  padding?: T;
  dilation?: T;
  /** Also return the argmax indices (for MaxUnpool1d/2d/3d). */
  returnIndices?: R;
  ceilMode?: boolean;
}

/** What a max-pooling layer returns: the pooled tensor, or [pooled, indices] with returnIndices. */
export type MaxPoolOutput<R extends boolean> = R extends true ? [Tensor, Tensor] : Tensor;

/** The functional max pooling of one rank (maxPool1d/2d/3d). */
export type MaxPoolFn = (
  x: Tensor,
  kernelSize: never,
  opts: { stride: IntN; padding: IntN; dilation: IntN; ceilMode: boolean; returnIndices: boolean },
) => Tensor | [Tensor, Tensor];

/** Max pooling layers (PyTorch's _MaxPoolNd): the sizes are kept as given, as PyTorch keeps them. */
export abstract class MaxPoolNd<T extends IntN, R extends boolean> extends Module<[Tensor], MaxPoolOutput<R>> {
  readonly stride: T;
  readonly padding: T;
  readonly dilation: T;
  readonly returnIndices: boolean;
  readonly ceilMode: boolean;

  protected constructor(
    name: string,
    dims: number,
    private readonly fn: MaxPoolFn,
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

  forward(x: Tensor): MaxPoolOutput<R> {
    return this.fn(x, this.kernelSize as never, {
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
    super('MaxPool1d', 1, maxPool1d as MaxPoolFn, kernelSize, opts);
  }
}

/** Max over kd×kh×kw windows of [N, C, D, H, W]; with `returnIndices: true` forward returns [output, indices]. */
export class MaxPool3d<R extends boolean = false> extends MaxPoolNd<IntTriple, R> {
  constructor(kernelSize: IntTriple, opts: MaxPoolNdLayerOptions<IntTriple, R> = {}) {
    super('MaxPool3d', 3, maxPool3d as MaxPoolFn, kernelSize, opts);
  }
}

/** Options of AvgPool1d (T = IntSingle; PyTorch's AvgPool1d has no divisor override) and of AvgPool2d/3d. */
export interface AvgPoolNdLayerOptions<T> {
  stride?: T | null;
  padding?: T;
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (default true). */
  countIncludePad?: boolean;
}
export type AvgPool1dLayerOptions = AvgPoolNdLayerOptions<IntSingle>;
/** Options of AvgPool3d. */
export interface AvgPool3dLayerOptions extends AvgPoolNdLayerOptions<IntTriple> {
  divisorOverride?: number | null;
}

/** The functional average pooling of one rank (avgPool1d/2d/3d). */
export type AvgPoolFn = (
  x: Tensor,
  kernelSize: never,
  opts: { stride: IntN; padding: IntN; ceilMode: boolean; countIncludePad: boolean; divisorOverride?: number | null },
) => Tensor;

/** Average pooling layers (PyTorch's _AvgPoolNd). */
export abstract class AvgPoolNd<T extends IntN> extends Module {
  readonly stride: T;
  readonly padding: T;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  /** null: divide by the window size; always null for AvgPool1d, which has no such option. */
  readonly divisorOverride: number | null;

  protected constructor(
    name: string,
    dims: number,
    private readonly fn: AvgPoolFn,
    readonly kernelSize: T,
    opts: AvgPoolNdLayerOptions<T> & { divisorOverride?: number | null },
  ) {
    super();
    tupleN(name, 'kernel_size', kernelSize, dims, 1);
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? (0 as T);
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride ?? null;
  }

  forward(x: Tensor): Tensor {
    return this.fn(x, this.kernelSize as never, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      ...(this.divisorOverride === null ? {} : { divisorOverride: this.divisorOverride }),
    });
  }

  /** What the repr prints for a size (AvgPool1d normalises ints to 1-tuples, as PyTorch's `_single`). */
  protected reprSize(v: T): string {
    return pyInts(v);
  }

  override extraRepr(): string {
    const t = (v: T) => this.reprSize(v);
    return `kernel_size=${t(this.kernelSize)}, stride=${t(this.stride)}, padding=${t(this.padding)}`;
  }
}

/** Mean over windows of k samples. */
export class AvgPool1d extends AvgPoolNd<IntSingle> {
  constructor(kernelSize: IntSingle, opts: AvgPool1dLayerOptions = {}) {
    super('AvgPool1d', 1, avgPool1d as AvgPoolFn, kernelSize, opts);
  }

  protected override reprSize(v: IntSingle): string {
    return pyInts(typeof v === 'number' ? [v] : v);
  }
}

/** Mean over kd×kh×kw windows. */
export class AvgPool3d extends AvgPoolNd<IntTriple> {
  constructor(kernelSize: IntTriple, opts: AvgPool3dLayerOptions = {}) {
    super('AvgPool3d', 3, avgPool3d as AvgPoolFn, kernelSize, opts);
  }
}

/** PyTorch's repr of an adaptive output size: an int, or a tuple with None for "keep this dim". */
function sizeRepr(s: number | readonly (number | null)[]): string {
  return typeof s === 'number'
    ? String(s)
    : `(${s.map((v) => (v === null ? 'None' : String(v))).join(', ')}${s.length === 1 ? ',' : ''})`;
}

/** An adaptive output size of any rank. */
type AnySize = IntSingle | AdaptiveSize | AdaptiveSize3d;

/** Average pooling to a fixed output size (PyTorch's _AdaptiveAvgPoolNd). */
export abstract class AdaptiveAvgPoolNd<S extends AnySize> extends Module {
  protected constructor(
    private readonly fn: (x: Tensor, outputSize: never) => Tensor,
    readonly outputSize: S,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return this.fn(x, this.outputSize as never);
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Average pooling of [N, C, L] to a fixed length. */
export class AdaptiveAvgPool1d extends AdaptiveAvgPoolNd<IntSingle> {
  constructor(outputSize: IntSingle) {
    super(adaptiveAvgPool1d, outputSize);
  }
}

/** Average pooling of [N, C, D, H, W] to a fixed size (1 for global average pooling). */
export class AdaptiveAvgPool3d extends AdaptiveAvgPoolNd<AdaptiveSize3d> {
  constructor(outputSize: AdaptiveSize3d) {
    super(adaptiveAvgPool3d, outputSize);
  }
}

/** The functional adaptive max pooling of one rank. */
export type AdaptiveMaxPoolFn = (
  x: Tensor,
  outputSize: never,
  opts: { returnIndices: boolean },
) => Tensor | [Tensor, Tensor];

/** Max pooling to a fixed output size (PyTorch's _AdaptiveMaxPoolNd); `returnIndices` as the MaxPool layers. */
export abstract class AdaptiveMaxPoolNd<S extends AnySize, R extends boolean> extends Module<
  [Tensor],
  MaxPoolOutput<R>
> {
  readonly returnIndices: boolean;

  protected constructor(
    private readonly fn: AdaptiveMaxPoolFn,
    readonly outputSize: S,
    opts: { returnIndices?: R },
  ) {
    super();
    this.returnIndices = opts.returnIndices ?? false;
  }

  forward(x: Tensor): MaxPoolOutput<R> {
    return this.fn(x, this.outputSize as never, { returnIndices: this.returnIndices }) as MaxPoolOutput<R>;
  }

  override extraRepr(): string {
    return `output_size=${sizeRepr(this.outputSize)}`;
  }
}

/** Max pooling of [N, C, L] to a fixed length; `returnIndices` as MaxPool1d. */
export class AdaptiveMaxPool1d<R extends boolean = false> extends AdaptiveMaxPoolNd<IntSingle, R> {
  constructor(outputSize: IntSingle, opts: { returnIndices?: R } = {}) {
    super(adaptiveMaxPool1d as AdaptiveMaxPoolFn, outputSize, opts);
  }
}

/** Max pooling of [N, C, D, H, W] to a fixed size; `returnIndices` as MaxPool3d. */
export class AdaptiveMaxPool3d<R extends boolean = false> extends AdaptiveMaxPoolNd<AdaptiveSize3d, R> {
  constructor(outputSize: AdaptiveSize3d, opts: { returnIndices?: R } = {}) {
    super(adaptiveMaxPool3d as AdaptiveMaxPoolFn, outputSize, opts);
  }
}

/** The functional max-unpooling of one rank (maxUnpool1d/2d/3d). */
export type MaxUnpoolFn = (
  x: Tensor,
  indices: Tensor,
  kernelSize: never,
  opts: { stride: never; padding: never; outputSize: readonly number[] | null },
) => Tensor;

/** Partial inverse of the max pooling layers (PyTorch's _MaxUnpoolNd): sizes normalised to tuples, as PyTorch. */
export abstract class MaxUnpoolNd<K extends number[]> extends Module<[Tensor, Tensor, (readonly number[] | null)?]> {
  readonly kernelSize: K;
  readonly stride: K;
  readonly padding: K;

  protected constructor(
    name: string,
    dims: number,
    private readonly fn: MaxUnpoolFn,
    kernelSize: IntN,
    opts: { stride?: IntN | null; padding?: IntN },
  ) {
    super();
    this.kernelSize = tupleN(name, 'kernel_size', kernelSize, dims, 1) as K;
    this.stride = tupleN(name, 'stride', opts.stride ?? kernelSize, dims, 1) as K;
    this.padding = tupleN(name, 'padding', opts.padding ?? 0, dims) as K;
  }

  forward(x: Tensor, indices: Tensor, outputSize: readonly number[] | null = null): Tensor {
    return this.fn(x, indices, this.kernelSize as never, {
      stride: this.stride as never,
      padding: this.padding as never,
      outputSize,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${pyInts(this.kernelSize)}, stride=${pyInts(this.stride)}, padding=${pyInts(this.padding)}`;
  }
}

/** Partial inverse of MaxPool1d: forward(x, indices, outputSize?). */
export class MaxUnpool1d extends MaxUnpoolNd<[number]> {
  constructor(kernelSize: IntSingle, opts: { stride?: IntSingle | null; padding?: IntSingle } = {}) {
    super('MaxUnpool1d', 1, maxUnpool1d as MaxUnpoolFn, kernelSize, opts);
  }
}

/** Partial inverse of MaxPool3d: forward(x, indices, outputSize?). */
export class MaxUnpool3d extends MaxUnpoolNd<[number, number, number]> {
  constructor(kernelSize: IntTriple, opts: { stride?: IntTriple | null; padding?: IntTriple } = {}) {
    super('MaxUnpool3d', 3, maxUnpool3d as MaxUnpoolFn, kernelSize, opts);
  }
}
