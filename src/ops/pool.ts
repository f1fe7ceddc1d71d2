/**
 * Max/average pooling (fixed and adaptive windows) and max-unpooling over N = 1, 2 or 3 spatial dims, with
 * PyTorch's output-size rules, index convention (flat positions within each plane) and window arithmetic.
 *
 * One implementation of each over N (`maxPoolNd`, `avgPoolNd`, …): validation, geometry and autograd are written
 * once with per-dim arrays; only the backend call depends on N — 2-D and 1-D (as 2-D with a unit height: the flat
 * index of (0, w) is w) run the backend's 2-D pooling kernels, 3-D its 3-D kernels. Max-pool backward and
 * unpooling scatter/gather at flat positions, which is the same kernel for every N. This file holds the N-d core
 * and the 2-D functions; ./poolnd.ts the 1-D and 3-D ones.
 */
import { linearBackward, linearOp, record } from '../autograd/graph.js';
import { isCreatingGraph, isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type {
  AdaptivePool2dGeometry,
  AdaptivePool3dGeometry,
  Pool2dGeometry,
  Pool3dGeometry,
} from '../backend/types.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { squeeze, unsqueeze } from './shape.js';
import { floatData, requireFloat, requireRank, tupleN, type IntPair } from './util.js';

/** A per-dim int option of any rank: one int for every dim, or one per dim. */
type IntN = number | readonly number[];

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

/** Options of maxPool1d/2d/3d (T = IntSingle / IntPair / IntTriple). */
export interface MaxPoolNdOptions<T> {
  /** Window step (default: the kernel size). */
  stride?: T | null;
  /** Implicit −∞ padding on both sides, at most half the kernel (default 0). */
  padding?: T;
  /** Spacing between window taps (default 1). */
  dilation?: T;
  /** Use ceil instead of floor for the output size; the last window must still start inside the input or left padding. */
  ceilMode?: boolean;
  /** Also return the int32 flat position of each maximum within its plane (for maxUnpool). */
  returnIndices?: boolean;
}
export type MaxPool2dOptions = MaxPoolNdOptions<IntPair>;

/** Options of avgPool2d/3d (T = IntPair / IntTriple); avgPool1d has no divisorOverride, like PyTorch. */
export interface AvgPoolNdOptions<T> {
  stride?: T | null;
  /** Implicit zero padding on both sides, at most half the kernel (default 0). */
  padding?: T;
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true). */
  countIncludePad?: boolean;
  /** Divide every window sum by this instead of the window size. */
  divisorOverride?: number | null;
}
export type AvgPool2dOptions = AvgPoolNdOptions<IntPair>;

/** Options of maxUnpool1d/2d/3d: outputSize is the spatial size (or a full shape whose trailing entries are used). */
export interface MaxUnpoolNdOptions<T> {
  stride?: T | null;
  padding?: T;
  outputSize?: readonly number[] | null;
}
export type MaxUnpool2dOptions = MaxUnpoolNdOptions<IntPair>;

/** Output size of adaptive pooling: an int, or [h, w] where null keeps that input dim. */
export type AdaptiveSize = number | readonly [number | null, number | null];

const LAYOUTS = ['', 'NCL, or CL unbatched', 'NCHW, or CHW unbatched', 'NCDHW, or CDHW unbatched'];
/** What a window's flat index ranges over, per N (for messages). */
const PLANE = ['', 'signal', 'plane', 'volume'];

function checkInput(op: string, x: Tensor, dims: number): void {
  requireFloat(op, x);
  requireRank(op, x, [dims + 1, dims + 2], 'input', LAYOUTS[dims]);
}

/** Runs a batched implementation on unbatched input (rank dims + 1) by adding and removing the batch dim. */
function batched<T extends Tensor | [Tensor, Tensor]>(x: Tensor, dims: number, fn: (xb: Tensor) => T): T {
  if (x.shape.length === dims + 2) return fn(x);
  const r = fn(unsqueeze(x, 0));
  return (Array.isArray(r) ? [squeeze(r[0], 0), squeeze(r[1], 0)] : squeeze(r, 0)) as T;
}

/** PyTorch's pooling_output_shape: floor (or ceil) division, and with ceilMode no window starting in the right padding. */
function pooledSize(inSize: number, k: number, pad: number, stride: number, dilation: number, ceilMode: boolean) {
  const span = inSize + 2 * pad - dilation * (k - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + pad) out--;
  return out;
}

/** A fixed-window pooling of n·c planes of N dims, per-dim. */
export interface PoolNd {
  n: number;
  c: number;
  inSize: number[];
  outSize: number[];
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
}

/** Validates a fixed-window pooling's options for batched `x` and works out its output size, as PyTorch. */
export function poolNd(
  op: string,
  dims: number,
  x: { readonly shape: readonly number[] },
  kernelSize: IntN,
  stride: IntN | null | undefined,
  padding: IntN | undefined,
  dilation: IntN | undefined,
  ceilMode: boolean,
): PoolNd {
  const k = tupleN(op, 'kernelSize', kernelSize, dims, 1);
  const s = stride === null || stride === undefined ? k : tupleN(op, 'stride', stride, dims, 1);
  const p = tupleN(op, 'padding', padding ?? 0, dims);
  const d = tupleN(op, 'dilation', dilation ?? 1, dims, 1);
  if (p.some((v, i) => v > k[i] >> 1))
    throw new Error(`${op}: padding ${JSON.stringify(p)} must be at most half the kernel size ${JSON.stringify(k)}`);
  const inSize = x.shape.slice(2);
  const outSize = inSize.map((size, i) => pooledSize(size, k[i], p[i], s[i], d[i], ceilMode));
  if (outSize.some((o) => o < 1)) {
    throw new Error(
      `${op}: output size ${outSize.join('×')} is too small: input ${formatShape(x.shape)}, kernel ${JSON.stringify(k)}, ` +
        `stride ${JSON.stringify(s)}, padding ${JSON.stringify(p)}, dilation ${JSON.stringify(d)}`,
    );
  }
  return { n: x.shape[0], c: x.shape[1], inSize, outSize, kernel: k, stride: s, padding: p, dilation: d };
}

/** The backend's 2-D geometry of a 1-D (as a unit height) or 2-D pooling. */
export function pool2dOf(s: PoolNd): Pool2dGeometry {
  const [h, w] = s.inSize.length === 1 ? [1, s.inSize[0]] : s.inSize;
  const at = (v: number[], unit: number) => (v.length === 1 ? [unit, v[0]] : v);
  const [oh, ow] = at(s.outSize, 1);
  const [kh, kw] = at(s.kernel, 1);
  const [strideH, strideW] = at(s.stride, 1);
  const [padH, padW] = at(s.padding, 0);
  const [dilationH, dilationW] = at(s.dilation, 1);
  return { n: s.n, c: s.c, h, w, oh, ow, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW };
}

/** The backend's 3-D geometry of a 3-D pooling. */
function pool3dOf(s: PoolNd): Pool3dGeometry {
  const [d, h, w] = s.inSize;
  const [od, oh, ow] = s.outSize;
  const [kd, kh, kw] = s.kernel;
  const [strideD, strideH, strideW] = s.stride;
  const [padD, padH, padW] = s.padding;
  const [dilationD, dilationH, dilationW] = s.dilation;
  return {
    n: s.n,
    c: s.c,
    d,
    h,
    w,
    od,
    oh,
    ow,
    kd,
    kh,
    kw,
    strideD,
    strideH,
    strideW,
    padD,
    padH,
    padW,
    dilationD,
    dilationH,
    dilationW,
  };
}

const product = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

/** Max pooling over the last `dims` dims; with `returnIndices` also the int32 flat in-plane position of each maximum. */
export function maxPoolNd(
  op: string,
  dims: number,
  x: Tensor,
  kernelSize: IntN,
  opts: MaxPoolNdOptions<IntN>,
): Tensor | [Tensor, Tensor] {
  checkInput(op, x, dims);
  return batched(x, dims, (xb): Tensor | [Tensor, Tensor] => {
    const s = poolNd(op, dims, xb, kernelSize, opts.stride, opts.padding, opts.dilation, opts.ceilMode ?? false);
    const out = Tensor.unfilled([s.n, s.c, ...s.outSize], xb.dtype);
    // the argmax positions serve the backward pass and returnIndices; inference needs only the values
    const indices =
      opts.returnIndices || (isGradEnabled() && xb.requiresGrad) ? Tensor.unfilled(out.shape, 'int32') : null;
    const idx = indices ? (indices.storage as Int32Array) : null;
    if (dims === 3) backend().maxPool3d(floatData(xb), floatData(out), idx, pool3dOf(s));
    else backend().maxPool2d(floatData(xb), floatData(out), idx, pool2dOf(s));
    if (idx) {
      const [planes, big, small] = [s.n * s.c, product(s.inSize), product(s.outSize)];
      record(op, out, [xb], () => (gy) => [indexScatterGrad(op, gy, idx, xb.shape, planes, big, small)]);
    }
    return opts.returnIndices && indices ? [out, indices] : out;
  });
}

/** Average pooling over the last `dims` dims (torch.nn.functional.avg_pool1d/2d/3d). */
export function avgPoolNd(op: string, dims: number, x: Tensor, kernelSize: IntN, opts: AvgPoolNdOptions<IntN>): Tensor {
  checkInput(op, x, dims);
  const countIncludePad = opts.countIncludePad ?? true;
  const divisor = opts.divisorOverride ?? 0;
  if (
    opts.divisorOverride !== undefined &&
    opts.divisorOverride !== null &&
    (!Number.isInteger(divisor) || divisor === 0)
  ) {
    throw new Error(`${op}: divisorOverride must be a non-zero integer, got ${opts.divisorOverride}`);
  }
  return batched(x, dims, (xb) => {
    const s = poolNd(op, dims, xb, kernelSize, opts.stride, opts.padding, 1, opts.ceilMode ?? false);
    const outShape = [s.n, s.c, ...s.outSize];
    // the pooling is linear in x: forward and its adjoint are all its autograd needs (createGraph included)
    const forwardRaw = (t: Tensor) => {
      const o = Tensor.unfilled(outShape, t.dtype);
      if (dims === 3) backend().avgPool3d(floatData(t), floatData(o), pool3dOf(s), countIncludePad, divisor);
      else backend().avgPool2d(floatData(t), floatData(o), pool2dOf(s), countIncludePad, divisor);
      return o;
    };
    const backwardRaw = (t: Tensor) => {
      const gx = Tensor.unfilled(xb.shape, t.dtype);
      if (dims === 3) backend().avgPool3dBackward(floatData(t), floatData(gx), pool3dOf(s), countIncludePad, divisor);
      else backend().avgPool2dBackward(floatData(t), floatData(gx), pool2dOf(s), countIncludePad, divisor);
      return gx;
    };
    return record(op, forwardRaw(xb), [xb], () => (gy) => [linearBackward(op, gy, backwardRaw, forwardRaw)]);
  });
}

const ADAPTIVE_FORMS = ['', 'a 1-list', 'an [h, w] pair', 'a [d, h, w] triple'];

/** Output size of adaptive pooling of batched `x`: an int for every dim, or one per dim where null keeps the input's. */
function adaptiveSize(op: string, dims: number, x: Tensor, outputSize: number | readonly (number | null)[]): number[] {
  const inSize = x.shape.slice(2);
  const raw = typeof outputSize === 'number' ? new Array<number>(dims).fill(outputSize) : [...outputSize];
  if (raw.length !== dims || !raw.every((v) => v === null || (Number.isInteger(v) && v >= 1))) {
    throw new Error(
      `${op}: outputSize must be a positive integer or ${ADAPTIVE_FORMS[dims]} of them (null keeps the input size), got ${JSON.stringify(outputSize)}`,
    );
  }
  if (inSize.some((v) => v === 0)) throw new Error(`${op}: input ${formatShape(x.shape)} has an empty spatial dim`);
  return raw.map((v, d) => v ?? inSize[d]);
}

/** The backend geometry of an adaptive pooling: 1-D as 2-D with a unit height. */
function adaptiveOf(planes: number, inSize: number[], out: number[]): AdaptivePool2dGeometry | AdaptivePool3dGeometry {
  if (inSize.length === 3) {
    const [[d, h, w], [od, oh, ow]] = [inSize, out];
    return { planes, d, h, w, od, oh, ow };
  }
  const [[h, w], [oh, ow]] =
    inSize.length === 1
      ? [
          [1, inSize[0]],
          [1, out[0]],
        ]
      : [inSize, out];
  return { planes, h, w, oh, ow };
}
const is3d = (g: AdaptivePool2dGeometry | AdaptivePool3dGeometry): g is AdaptivePool3dGeometry => 'd' in g;

/** Average pooling to a fixed output size with PyTorch's windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉), over the last `dims` dims. */
export function adaptiveAvgPoolNd(
  op: string,
  dims: number,
  x: Tensor,
  outputSize: number | readonly (number | null)[],
): Tensor {
  checkInput(op, x, dims);
  return batched(x, dims, (xb) => {
    const outShape = [xb.shape[0], xb.shape[1], ...adaptiveSize(op, dims, xb, outputSize)];
    const g = adaptiveOf(xb.shape[0] * xb.shape[1], xb.shape.slice(2), outShape.slice(2));
    const forwardRaw = (t: Tensor) => {
      const o = Tensor.unfilled(outShape, t.dtype);
      if (is3d(g)) backend().adaptiveAvgPool3d(floatData(t), floatData(o), g);
      else backend().adaptiveAvgPool2d(floatData(t), floatData(o), g);
      return o;
    };
    const backwardRaw = (t: Tensor) => {
      const gx = Tensor.unfilled(xb.shape, t.dtype);
      if (is3d(g)) backend().adaptiveAvgPool3dBackward(floatData(t), floatData(gx), g);
      else backend().adaptiveAvgPool2dBackward(floatData(t), floatData(gx), g);
      return gx;
    };
    return record(op, forwardRaw(xb), [xb], () => (gy) => [linearBackward(op, gy, backwardRaw, forwardRaw)]);
  });
}

/** Max pooling to a fixed output size (windows as adaptiveAvgPoolNd); `returnIndices` adds the int32 flat positions. */
export function adaptiveMaxPoolNd(
  op: string,
  dims: number,
  x: Tensor,
  outputSize: number | readonly (number | null)[],
  returnIndices: boolean,
): Tensor | [Tensor, Tensor] {
  checkInput(op, x, dims);
  return batched(x, dims, (xb): Tensor | [Tensor, Tensor] => {
    const outShape = [xb.shape[0], xb.shape[1], ...adaptiveSize(op, dims, xb, outputSize)];
    const g = adaptiveOf(xb.shape[0] * xb.shape[1], xb.shape.slice(2), outShape.slice(2));
    const out = Tensor.unfilled(outShape, xb.dtype);
    const indices = Tensor.unfilled(outShape, 'int32');
    const idx = indices.storage as Int32Array;
    if (is3d(g)) backend().adaptiveMaxPool3d(floatData(xb), floatData(out), idx, g);
    else backend().adaptiveMaxPool2d(floatData(xb), floatData(out), idx, g);
    const [big, small] = [product(xb.shape.slice(2)), product(outShape.slice(2))];
    record(op, out, [xb], () => (gy) => [indexScatterGrad(op, gy, idx, xb.shape, g.planes, big, small)]);
    return returnIndices ? [out, indices] : out;
  });
}

/**
 * Partial inverse of max pooling over the last `dims` dims: places each value of `x` at its flat `indices`
 * position in a zero plane of the pre-pooling size — (in−1)·stride − 2·padding + kernel per dim unless
 * `outputSize` says otherwise.
 */
export function maxUnpoolNd(
  op: string,
  dims: number,
  x: Tensor,
  indices: Tensor,
  kernelSize: IntN,
  opts: MaxUnpoolNdOptions<IntN>,
): Tensor {
  checkInput(op, x, dims);
  if (indices.dtype !== 'int32')
    throw new Error(`${op}: indices must be an int32 tensor (as returned by maxPool${dims}d), got ${indices.dtype}`);
  if (!shapesEqual(indices.shape, x.shape)) {
    throw new Error(
      `${op}: indices shape ${formatShape(indices.shape)} must match input shape ${formatShape(x.shape)}`,
    );
  }
  const k = tupleN(op, 'kernelSize', kernelSize, dims, 1);
  const s = opts.stride === null || opts.stride === undefined ? k : tupleN(op, 'stride', opts.stride, dims, 1);
  const p = tupleN(op, 'padding', opts.padding ?? 0, dims);
  const inSize = x.shape.slice(-dims);
  const defaults = inSize.map((v, d) => (v - 1) * s[d] - 2 * p[d] + k[d]);
  let size = defaults;
  const os = opts.outputSize;
  if (os) {
    if (os.length !== dims && os.length !== x.shape.length)
      throw new Error(`${op}: outputSize must have ${dims} or ${x.shape.length} elements, got ${JSON.stringify(os)}`);
    size = os.slice(-dims);
    for (let d = 0; d < dims; d++) {
      if (!(size[d] > defaults[d] - s[d] && size[d] < defaults[d] + s[d])) {
        throw new Error(
          `${op}: invalid outputSize ${JSON.stringify(os)} (dim ${d} must be between ${defaults[d] - s[d]} and ${defaults[d] + s[d]}, exclusive)`,
        );
      }
    }
  }
  if (size.some((v) => v < 1))
    throw new Error(`${op}: output size ${size.join('×')} is too small (input ${formatShape(x.shape)})`);
  const [inPlane, outPlane] = [product(inSize), product(size)];
  const planes = x.numel() / inPlane;
  const outShape = [...x.shape.slice(0, -dims), ...size];
  const out = Tensor.unfilled(outShape, x.dtype);
  const idx = indices.dataView() as Int32Array;
  const bad = backend().maxUnpool2d(floatData(x), idx, floatData(out), planes, inPlane, outPlane);
  if (bad >= 0) {
    throw new Error(
      `${op}: index ${idx[bad]} (element ${bad} of indices ${formatShape(indices.shape)}) is outside the ${size.join('×')} output ${PLANE[dims]}`,
    );
  }
  // linear in x: the backward gathers at the indices, and its adjoint scatters again (createGraph)
  const gather = (t: Tensor) => {
    const gx = Tensor.unfilled(x.shape, t.dtype);
    backend().maxUnpool2dBackward(floatData(t), idx, floatData(gx), planes, inPlane, outPlane);
    return gx;
  };
  const scatter = (t: Tensor) => {
    const o = Tensor.unfilled(outShape, t.dtype);
    backend().maxPool2dBackward(floatData(t), idx, floatData(o), planes, outPlane, inPlane);
    return o;
  };
  return record(op, out, [x], () => (gy) => [linearBackward(op, gy, gather, scatter)]);
}

// ---- the 2-D functions ----

/** Validates a 2-D pooling of batched `x` and returns the backend's geometry (the fused conv→pool op uses it). */
export function poolGeometry(
  op: string,
  x: Tensor,
  kernelSize: IntPair,
  stride: IntPair | null | undefined,
  padding: IntPair | undefined,
  dilation: IntPair | undefined,
  ceilMode: boolean,
): Pool2dGeometry {
  return pool2dOf(poolNd(op, 2, x, kernelSize, stride, padding, dilation, ceilMode));
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
  return maxPoolNd('maxPool2d', 2, x, kernelSize, opts);
}

/**
 * Partial inverse of maxPool2d (SegNet's decoder): places each value of `x` at its `indices` position in a zero
 * plane of the pre-pooling size — (H−1)·stride − 2·padding + kernel unless `outputSize` says otherwise.
 */
export function maxUnpool2d(x: Tensor, indices: Tensor, kernelSize: IntPair, opts: MaxUnpool2dOptions = {}): Tensor {
  return maxUnpoolNd('maxUnpool2d', 2, x, indices, kernelSize, opts);
}

/** 2-D average pooling (torch.nn.functional.avg_pool2d). */
export function avgPool2d(x: Tensor, kernelSize: IntPair, opts: AvgPool2dOptions = {}): Tensor {
  return avgPoolNd('avgPool2d', 2, x, kernelSize, opts);
}

/** Average pooling to a fixed output size with PyTorch's windows [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉); outputSize 1 is global average pooling. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveAvgPoolNd('adaptiveAvgPool2d', 2, x, outputSize);
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
  return adaptiveMaxPoolNd('adaptiveMaxPool2d', 2, x, outputSize, opts.returnIndices ?? false);
}
