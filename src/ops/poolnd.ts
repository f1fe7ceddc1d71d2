/**
 * 1-D and 3-D max/average/adaptive pooling and max-unpooling with PyTorch's names, output-size rules and index
 * convention (flat positions within each plane or volume): the N = 1 and N = 3 cases of the N-d pooling of
 * ./pool.ts, which also holds the 2-D functions.
 */
import type { Tensor } from '../tensor/tensor.js';
import {
  adaptiveAvgPoolNd,
  adaptiveMaxPoolNd,
  avgPoolNd,
  maxPoolNd,
  maxUnpoolNd,
  type AvgPoolNdOptions,
  type MaxPoolNdOptions,
  type MaxUnpoolNdOptions,
} from './pool.js';
import type { IntSingle, IntTriple } from './util.js';

export type { AvgPoolNdOptions, MaxPoolNdOptions, MaxUnpoolNdOptions } from './pool.js';
export type MaxPool1dOptions = MaxPoolNdOptions<IntSingle>;
export type MaxPool3dOptions = MaxPoolNdOptions<IntTriple>;

/** Options of avgPool1d (PyTorch's avg_pool1d has no divisor override). */
export type AvgPool1dOptions = Omit<AvgPoolNdOptions<IntSingle>, 'divisorOverride'>;
/** Options of avgPool3d. */
export type AvgPool3dOptions = AvgPoolNdOptions<IntTriple>;

/** Output size of 3-D adaptive pooling: an int, or [d, h, w] where null keeps that input dim. */
export type AdaptiveSize3d = number | readonly [number | null, number | null, number | null];

/** 1-D max pooling (torch.nn.functional.max_pool1d); with `returnIndices` also the int32 positions of the maxima. */
export function maxPool1d(
  x: Tensor,
  kernelSize: IntSingle,
  opts?: MaxPool1dOptions & { returnIndices?: false },
): Tensor;
export function maxPool1d(
  x: Tensor,
  kernelSize: IntSingle,
  opts: MaxPool1dOptions & { returnIndices: true },
): [Tensor, Tensor];
export function maxPool1d(x: Tensor, kernelSize: IntSingle, opts?: MaxPool1dOptions): Tensor | [Tensor, Tensor];
export function maxPool1d(x: Tensor, kernelSize: IntSingle, opts: MaxPool1dOptions = {}): Tensor | [Tensor, Tensor] {
  return maxPoolNd('maxPool1d', 1, x, kernelSize, opts);
}

/** 1-D average pooling (torch.nn.functional.avg_pool1d). */
export function avgPool1d(x: Tensor, kernelSize: IntSingle, opts: AvgPool1dOptions = {}): Tensor {
  return avgPoolNd('avgPool1d', 1, x, kernelSize, opts);
}

/** Average pooling of [N, C, L] to a fixed length with PyTorch's windows [⌊i·L/o⌋, ⌈(i+1)·L/o⌉). */
export function adaptiveAvgPool1d(x: Tensor, outputSize: IntSingle): Tensor {
  return adaptiveAvgPoolNd('adaptiveAvgPool1d', 1, x, outputSize);
}

/** Max pooling of [N, C, L] to a fixed length; `returnIndices` adds the int32 positions. */
export function adaptiveMaxPool1d(x: Tensor, outputSize: IntSingle, opts?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool1d(x: Tensor, outputSize: IntSingle, opts: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool1d(
  x: Tensor,
  outputSize: IntSingle,
  opts?: { returnIndices?: boolean },
): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool1d(
  x: Tensor,
  outputSize: IntSingle,
  opts: { returnIndices?: boolean } = {},
): Tensor | [Tensor, Tensor] {
  return adaptiveMaxPoolNd('adaptiveMaxPool1d', 1, x, outputSize, opts.returnIndices ?? false);
}

/** Partial inverse of maxPool1d: each value of `x` goes to its `indices` position in a zero signal. */
export function maxUnpool1d(
  x: Tensor,
  indices: Tensor,
  kernelSize: IntSingle,
  opts: MaxUnpoolNdOptions<IntSingle> = {},
): Tensor {
  return maxUnpoolNd('maxUnpool1d', 1, x, indices, kernelSize, opts);
}

/** 3-D max pooling (torch.nn.functional.max_pool3d); with `returnIndices` also the int32 flat d·h·w positions. */
export function maxPool3d(
  x: Tensor,
  kernelSize: IntTriple,
  opts?: MaxPool3dOptions & { returnIndices?: false },
): Tensor;
export function maxPool3d(
  x: Tensor,
  kernelSize: IntTriple,
  opts: MaxPool3dOptions & { returnIndices: true },
): [Tensor, Tensor];
export function maxPool3d(x: Tensor, kernelSize: IntTriple, opts?: MaxPool3dOptions): Tensor | [Tensor, Tensor];
export function maxPool3d(x: Tensor, kernelSize: IntTriple, opts: MaxPool3dOptions = {}): Tensor | [Tensor, Tensor] {
  return maxPoolNd('maxPool3d', 3, x, kernelSize, opts);
}

/** 3-D average pooling (torch.nn.functional.avg_pool3d). */
export function avgPool3d(x: Tensor, kernelSize: IntTriple, opts: AvgPool3dOptions = {}): Tensor {
  return avgPoolNd('avgPool3d', 3, x, kernelSize, opts);
}

/** Average pooling of [N, C, D, H, W] to a fixed size; outputSize 1 is global average pooling. */
export function adaptiveAvgPool3d(x: Tensor, outputSize: AdaptiveSize3d): Tensor {
  return adaptiveAvgPoolNd('adaptiveAvgPool3d', 3, x, outputSize);
}

/** Max pooling of [N, C, D, H, W] to a fixed size; `returnIndices` adds the int32 flat d·h·w positions. */
export function adaptiveMaxPool3d(x: Tensor, outputSize: AdaptiveSize3d, opts?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool3d(
  x: Tensor,
  outputSize: AdaptiveSize3d,
  opts: { returnIndices: true },
): [Tensor, Tensor];
export function adaptiveMaxPool3d(
  x: Tensor,
  outputSize: AdaptiveSize3d,
  opts?: { returnIndices?: boolean },
): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool3d(
  x: Tensor,
  outputSize: AdaptiveSize3d,
  opts: { returnIndices?: boolean } = {},
): Tensor | [Tensor, Tensor] {
  return adaptiveMaxPoolNd('adaptiveMaxPool3d', 3, x, outputSize, opts.returnIndices ?? false);
}

/**
 * Partial inverse of maxPool3d: places each value of `x` at its flat `indices` position in a zero volume of the
 * pre-pooling size — (D−1)·stride − 2·padding + kernel per dim unless `outputSize` says otherwise.
 */
export function maxUnpool3d(
  x: Tensor,
  indices: Tensor,
  kernelSize: IntTriple,
  opts: MaxUnpoolNdOptions<IntTriple> = {},
): Tensor {
  return maxUnpoolNd('maxUnpool3d', 3, x, indices, kernelSize, opts);
}
