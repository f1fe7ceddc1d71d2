/**
 * 2-D pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, MaxUnpool2d — the 2-D members
 * of the N-d pooling layers of ./poolingnd.ts, on the functional ops of ../ops/pool.ts.
 */
import {
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  avgPool2d,
  maxPool2d,
  maxUnpool2d,
  type AdaptiveSize,
} from '../ops/pool.js';
import type { IntPair } from '../ops/conv.js';
import {
  AdaptiveAvgPoolNd,
  AdaptiveMaxPoolNd,
  AvgPoolNd,
  MaxPoolNd,
  MaxUnpoolNd,
  type AdaptiveMaxPoolFn,
  type AvgPoolFn,
  type AvgPoolNdLayerOptions,
  type MaxPoolFn,
  type MaxPoolNdLayerOptions,
  type MaxUnpoolFn,
} from './poolingnd.js';

/** Options of MaxPool2d. */
export type MaxPool2dLayerOptions<R extends boolean = boolean> = MaxPoolNdLayerOptions<IntPair, R>;

/** Max over kh×kw windows. With `returnIndices: true` forward returns [output, indices]. */
export class MaxPool2d<R extends boolean = false> extends MaxPoolNd<IntPair, R> {
  constructor(kernelSize: IntPair, opts: MaxPool2dLayerOptions<R> = {}) {
    super('MaxPool2d', 2, maxPool2d as MaxPoolFn, kernelSize, opts);
  }
}

/** Options of AvgPool2d. */
export interface AvgPool2dLayerOptions extends AvgPoolNdLayerOptions<IntPair> {
  divisorOverride?: number | null;
}

/** Mean over kh×kw windows. */
export class AvgPool2d extends AvgPoolNd<IntPair> {
  constructor(kernelSize: IntPair, opts: AvgPool2dLayerOptions = {}) {
    super('AvgPool2d', 2, avgPool2d as AvgPoolFn, kernelSize, opts);
  }
}

/** Average pooling to a fixed output size (e.g. 1 for global average pooling). */
export class AdaptiveAvgPool2d extends AdaptiveAvgPoolNd<AdaptiveSize> {
  constructor(outputSize: AdaptiveSize) {
    super(adaptiveAvgPool2d, outputSize);
  }
}

/** Max pooling to a fixed output size; `returnIndices` as MaxPool2d. */
export class AdaptiveMaxPool2d<R extends boolean = false> extends AdaptiveMaxPoolNd<AdaptiveSize, R> {
  constructor(outputSize: AdaptiveSize, opts: { returnIndices?: R } = {}) {
    super(adaptiveMaxPool2d as AdaptiveMaxPoolFn, outputSize, opts);
  }
}

/** Partial inverse of MaxPool2d: forward(x, indices, outputSize?) scatters x to the recorded argmax positions. */
export class MaxUnpool2d extends MaxUnpoolNd<[number, number]> {
  constructor(kernelSize: IntPair, opts: { stride?: IntPair | null; padding?: IntPair } = {}) {
    super('MaxUnpool2d', 2, maxUnpool2d as MaxUnpoolFn, kernelSize, opts);
  }
}
