/**
 * Max/average pooling (fixed and adaptive windows) and max-unpooling over NCHW (or unbatched CHW) input, with
 * PyTorch's output-size rules, index convention (flat h·w positions per plane) and window arithmetic.
 */
import { linearBackward, linearOp, record } from '../autograd/graph.js';
import { isCreatingGraph, isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { AdaptivePool2dGeometry, Pool2dGeometry } from '../backend/types.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { IntPair } from './conv.js';
import { squeeze, unsqueeze } from './shape.js';
import { floatData, pair, requireFloat, requireRank } from './util.js';

/**
 * Gradient of a max-style pooling: gx[p, idx[p, k]] += gy[p, k] over `planes` planes of `big` input and `small`
 * output positions. With createGraph it is recorded as a linear op whose adjoint gathers at the same indices, so
 * the gradient is differentiable again (the second derivative of max pooling with respect to x is zero).
 */
export function indexScatterGrad(
  name: string,
  gy: Tensor,
  idx: Int32Array,
  xShape: readonly number[],
  planes: number,
  big: number,
  small: number,
): Tensor {
  const scatter = (t: Tensor) => {
    const gx = Tensor.unfilled(xShape, t.dtype);
    backend().maxPool2dBackward(floatData(t), idx, floatData(gx), planes, big, small);
    return gx;
  };
  if (!isCreatingGraph()) return scatter(gy);
  const yShape = gy.shape.slice();
  const gather = (t: Tensor) => {
    const out = Tensor.unfilled(yShape, t.dtype);
    backend().maxUnpool2dBackward(floatData(t), idx, floatData(out), planes, small, big);
    return out;
  };
  return linearOp(`${name}Backward`, gy, scatter, gather);
}

export interface MaxPool2dOptions {
  /** Window step (default: the kernel size). */
  stride?: IntPair | null;
  /** Implicit −∞ padding on both sides, at most half the kernel (default 0). */
  padding?: IntPair;
  /** Spacing between window taps (default 1). */
  dilation?: IntPair;
  /** Use ceil instead of floor for the output size; the last window must still start inside the input or left padding. */
  ceilMode?: boolean;
  /** Also return the flat h·w position of each maximum (int32), for maxUnpool2d. */
  returnIndices?: boolean;
}

export interface AvgPool2dOptions {
  stride?: IntPair | null;
  /** Implicit zero padding on both sides, at most half the kernel (default 0). */
  padding?: IntPair;
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true). */
  countIncludePad?: boolean;
  /** Divide every window sum by this instead of the window size. */
  divisorOverride?: number | null;
}

export interface MaxUnpool2dOptions {
  stride?: IntPair | null;
  padding?: IntPair;
  /** Output [h, w] (or a full shape whose last two entries are used) when the default size is ambiguous. */
  outputSize?: readonly number[] | null;
}

/** Output size of adaptive pooling: an int, or [h, w] where null keeps that input dim. */
export type AdaptiveSize = number | readonly [number | null, number | null];

/** Runs a 4-D implementation on unbatched CHW input by adding and removing the batch dim. */
function batched<T extends Tensor | [Tensor, Tensor]>(x: Tensor, fn: (x4: Tensor) => T): T {
  if (x.shape.length === 4) return fn(x);
  const r = fn(unsqueeze(x, 0));
  return (Array.isArray(r) ? [squeeze(r[0], 0), squeeze(r[1], 0)] : squeeze(r, 0)) as T;
}

function checkInput(op: string, x: Tensor): void {
  requireFloat(op, x);
  requireRank(op, x, [3, 4], 'input', 'NCHW, or CHW unbatched');
}

/** PyTorch's pooling_output_shape: floor (or ceil) division, and with ceilMode no window starting in the right padding. */
function pooledSize(
  inSize: number,
  k: number,
  pad: number,
  stride: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = inSize + 2 * pad - dilation * (k - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + pad) out--;
  return out;
}

export function poolGeometry(
  op: string,
  x: Tensor,
  kernelSize: IntPair,
  stride: IntPair | null | undefined,
  padding: IntPair | undefined,
  dilation: IntPair | undefined,
  ceilMode: boolean,
): Pool2dGeometry {
  const k = pair(op, 'kernelSize', kernelSize, 1);
  const s = stride === null || stride === undefined ? k : pair(op, 'stride', stride, 1);
  const p = pair(op, 'padding', padding ?? 0);
  const d = pair(op, 'dilation', dilation ?? 1, 1);
  if (p[0] > k[0] >> 1 || p[1] > k[1] >> 1) {
    throw new Error(`${op}: padding ${JSON.stringify(p)} must be at most half the kernel size ${JSON.stringify(k)}`);
  }
  const [n, c, h, w] = x.shape;
  const oh = pooledSize(h, k[0], p[0], s[0], d[0], ceilMode);
  const ow = pooledSize(w, k[1], p[1], s[1], d[1], ceilMode);
  if (oh < 1 || ow < 1) {
    throw new Error(
      `${op}: output size ${oh}×${ow} is too small: input ${formatShape(x.shape)}, kernel ${JSON.stringify(k)}, ` +
        `stride ${JSON.stringify(s)}, padding ${JSON.stringify(p)}, dilation ${JSON.stringify(d)}`,
    );
  }
  return {
    n,
    c,
    h,
    w,
    oh,
    ow,
    kh: k[0],
    kw: k[1],
    strideH: s[0],
    strideW: s[1],
    padH: p[0],
    padW: p[1],
    dilationH: d[0],
    dilationW: d[1],
  };
}

/** 2-D max pooling; with `returnIndices` also the int32 flat h·w position of every maximum. */
export function maxPool2d(x: Tensor, kernelSize: IntPair, opts?: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(
  x: Tensor,
  kernelSize: IntPair,
  opts: MaxPool2dOptions & { returnIndices: true },
): [Tensor, Tensor];
export function maxPool2d(x: Tensor, kernelSize: IntPair, opts?: MaxPool2dOptions): Tensor | [Tensor, Tensor];
export function maxPool2d(x: Tensor, kernelSize: IntPair, opts: MaxPool2dOptions = {}): Tensor | [Tensor, Tensor] {
  const op = 'maxPool2d';
  checkInput(op, x);
  return batched(x, (x4): Tensor | [Tensor, Tensor] => {
    const g = poolGeometry(op, x4, kernelSize, opts.stride, opts.padding, opts.dilation, opts.ceilMode ?? false);
    const out = Tensor.unfilled([g.n, g.c, g.oh, g.ow], x4.dtype);
    // the argmax positions serve the backward pass and returnIndices; inference needs only the values
    const indices =
      opts.returnIndices || (isGradEnabled() && x4.requiresGrad) ? Tensor.unfilled(out.shape, 'int32') : null;
    const idx = indices ? (indices.storage as Int32Array) : null;
    backend().maxPool2d(floatData(x4), floatData(out), idx, g);
    if (idx) {
      record(op, out, [x4], () => (gy) => [indexScatterGrad(op, gy, idx, x4.shape, g.n * g.c, g.h * g.w, g.oh * g.ow)]);
    }
    return opts.returnIndices && indices ? [out, indices] : out;
  });
}

/**
 * Partial inverse of maxPool2d (SegNet's decoder): places each value of `x` at its `indices` position in a zero
 * plane of the pre-pooling size — (H−1)·stride − 2·padding + kernel unless `outputSize` says otherwise.
 */
export function maxUnpool2d(x: Tensor, indices: Tensor, kernelSize: IntPair, opts: MaxUnpool2dOptions = {}): Tensor {
  const op = 'maxUnpool2d';
  checkInput(op, x);
  if (indices.dtype !== 'int32')
    throw new Error(`${op}: indices must be an int32 tensor (as returned by maxPool2d), got ${indices.dtype}`);
  if (!shapesEqual(indices.shape, x.shape)) {
    throw new Error(
      `${op}: indices shape ${formatShape(indices.shape)} must match input shape ${formatShape(x.shape)}`,
    );
  }
  const k = pair(op, 'kernelSize', kernelSize, 1);
  const s = opts.stride === null || opts.stride === undefined ? k : pair(op, 'stride', opts.stride, 1);
  const p = pair(op, 'padding', opts.padding ?? 0);
  const inH = x.shape[x.shape.length - 2];
  const inW = x.shape[x.shape.length - 1];
  const defaults = [(inH - 1) * s[0] - 2 * p[0] + k[0], (inW - 1) * s[1] - 2 * p[1] + k[1]];
  let size = defaults;
  if (opts.outputSize) {
    const os = opts.outputSize;
    if (os.length !== 2 && os.length !== x.shape.length) {
      throw new Error(`${op}: outputSize must have 2 or ${x.shape.length} elements, got ${JSON.stringify(os)}`);
    }
    size = [os[os.length - 2], os[os.length - 1]];
    for (let d = 0; d < 2; d++) {
      if (!(size[d] > defaults[d] - s[d] && size[d] < defaults[d] + s[d])) {
        throw new Error(
          `${op}: invalid outputSize ${JSON.stringify(os)} (dim ${d} must be between ${defaults[d] - s[d]} and ${defaults[d] + s[d]}, exclusive)`,
        );
      }
    }
  }
  const [oh, ow] = size;
  if (oh < 1 || ow < 1) throw new Error(`${op}: output size ${oh}×${ow} is too small (input ${formatShape(x.shape)})`);
  const planes = x.numel() / (inH * inW);
  const outShape = [...x.shape.slice(0, -2), oh, ow];
  const out = Tensor.unfilled(outShape, x.dtype);
  const idx = indices.dataView() as Int32Array;
  const bad = backend().maxUnpool2d(floatData(x), idx, floatData(out), planes, inH * inW, oh * ow);
  if (bad >= 0) {
    throw new Error(
      `${op}: index ${idx[bad]} (element ${bad} of indices ${formatShape(indices.shape)}) is outside the ${oh}×${ow} output plane`,
    );
  }
  const gather = (t: Tensor) => {
    const gx = Tensor.unfilled(x.shape, t.dtype);
    backend().maxUnpool2dBackward(floatData(t), idx, floatData(gx), planes, inH * inW, oh * ow);
    return gx;
  };
  const scatter = (t: Tensor) => {
    const o = Tensor.unfilled(outShape, t.dtype);
    backend().maxPool2dBackward(floatData(t), idx, floatData(o), planes, oh * ow, inH * inW);
    return o;
  };
  return record(op, out, [x], () => (gy) => [linearBackward(op, gy, gather, scatter)]);
}

/** 2-D average pooling (torch.nn.functional.avg_pool2d). */
export function avgPool2d(x: Tensor, kernelSize: IntPair, opts: AvgPool2dOptions = {}): Tensor {
  const op = 'avgPool2d';
  checkInput(op, x);
  const countIncludePad = opts.countIncludePad ?? true;
  const divisor = opts.divisorOverride ?? 0;
  if (
    opts.divisorOverride !== undefined &&
    opts.divisorOverride !== null &&
    (!Number.isInteger(divisor) || divisor === 0)
  ) {
    throw new Error(`${op}: divisorOverride must be a non-zero integer, got ${opts.divisorOverride}`);
  }
  return batched(x, (x4) => {
    const g = poolGeometry(op, x4, kernelSize, opts.stride, opts.padding, 1, opts.ceilMode ?? false);
    const out = Tensor.unfilled([g.n, g.c, g.oh, g.ow], x4.dtype);
    backend().avgPool2d(floatData(x4), floatData(out), g, countIncludePad, divisor);
    const backwardRaw = (t: Tensor) => {
      const gx = Tensor.unfilled(x4.shape, t.dtype);
      backend().avgPool2dBackward(floatData(t), floatData(gx), g, countIncludePad, divisor);
      return gx;
    };
    const forwardRaw = (t: Tensor) => {
      const o = Tensor.unfilled(out.shape, t.dtype);
      backend().avgPool2d(floatData(t), floatData(o), g, countIncludePad, divisor);
      return o;
    };
    return record(op, out, [x4], () => (gy) => [linearBackward(op, gy, backwardRaw, forwardRaw)]);
  });
}

function adaptiveGeometry(op: string, x: Tensor, outputSize: AdaptiveSize): AdaptivePool2dGeometry {
  const [n, c, h, w] = x.shape;
  const raw: (number | null)[] =
    typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0], outputSize[1]];
  if (
    (typeof outputSize !== 'number' && outputSize.length !== 2) ||
    !raw.every((v) => v === null || (Number.isInteger(v) && v >= 1))
  ) {
    throw new Error(
      `${op}: outputSize must be a positive integer or an [h, w] pair of them (null keeps the input size), got ${JSON.stringify(outputSize)}`,
    );
  }
  if (h === 0 || w === 0) throw new Error(`${op}: input ${formatShape(x.shape)} has an empty spatial dim`);
  return { planes: n * c, h, w, oh: raw[0] ?? h, ow: raw[1] ?? w };
}

/** Average pooling to a fixed output size with PyTorch's windows [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉); outputSize 1 is global average pooling. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  const op = 'adaptiveAvgPool2d';
  checkInput(op, x);
  return batched(x, (x4) => {
    const g = adaptiveGeometry(op, x4, outputSize);
    const out = Tensor.unfilled([x4.shape[0], x4.shape[1], g.oh, g.ow], x4.dtype);
    backend().adaptiveAvgPool2d(floatData(x4), floatData(out), g);
    const backwardRaw = (t: Tensor) => {
      const gx = Tensor.unfilled(x4.shape, t.dtype);
      backend().adaptiveAvgPool2dBackward(floatData(t), floatData(gx), g);
      return gx;
    };
    const forwardRaw = (t: Tensor) => {
      const o = Tensor.unfilled(out.shape, t.dtype);
      backend().adaptiveAvgPool2d(floatData(t), floatData(o), g);
      return o;
    };
    return record(op, out, [x4], () => (gy) => [linearBackward(op, gy, backwardRaw, forwardRaw)]);
  });
}

/** Max pooling to a fixed output size (windows as adaptiveAvgPool2d); `returnIndices` adds the int32 flat h·w positions. */
export function adaptiveMaxPool2d(x: Tensor, outputSize: AdaptiveSize, opts?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(x: Tensor, outputSize: AdaptiveSize, opts: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool2d(
  x: Tensor,
  outputSize: AdaptiveSize,
  opts?: { returnIndices?: boolean },
): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool2d(
  x: Tensor,
  outputSize: AdaptiveSize,
  opts: { returnIndices?: boolean } = {},
): Tensor | [Tensor, Tensor] {
  const op = 'adaptiveMaxPool2d';
  checkInput(op, x);
  return batched(x, (x4): Tensor | [Tensor, Tensor] => {
    const g = adaptiveGeometry(op, x4, outputSize);
    const out = Tensor.unfilled([x4.shape[0], x4.shape[1], g.oh, g.ow], x4.dtype);
    const indices = Tensor.unfilled(out.shape, 'int32');
    const idx = indices.storage as Int32Array;
    backend().adaptiveMaxPool2d(floatData(x4), floatData(out), idx, g);
    record(op, out, [x4], () => (gy) => [indexScatterGrad(op, gy, idx, x4.shape, g.planes, g.h * g.w, g.oh * g.ow)]);
    return opts.returnIndices ? [out, indices] : out;
  });
}
