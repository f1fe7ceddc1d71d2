/**
 * 1-D and 3-D max/average/adaptive pooling and max-unpooling with PyTorch's names, output-size rules and index
 * convention (flat positions within each plane or volume).
 *
 * 1-D runs on the 2-D ops with a unit height (same kernels, same autograd; a 2-D flat index h·W + w with h = 0 is
 * the 1-D position). 3-D calls the backend's 3-D pooling kernels; its max-pool backward and unpooling reuse the
 * 2-D scatter kernels, which only see flat positions.
 */
import { record } from '../autograd/graph.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { AdaptivePool3dGeometry, Pool3dGeometry } from '../backend/types.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { IntSingle, IntTriple } from './convnd.js';
import { tupleN } from './convnd.js';
import { adaptiveAvgPool2d, adaptiveMaxPool2d, avgPool2d, maxPool2d, maxUnpool2d } from './pool.js';
import { squeeze, unsqueeze } from './shape.js';
import { floatData, requireFloat, requireRank } from './util.js';

/** Options of maxPool1d (T = IntSingle) and maxPool3d (T = IntTriple); see MaxPool2dOptions. */
export interface MaxPoolNdOptions<T> {
  /** Window step (default: the kernel size). */
  stride?: T | null;
  /** Implicit −∞ padding on both sides, at most half the kernel (default 0). */
  padding?: T;
  dilation?: T;
  ceilMode?: boolean;
  /** Also return the int32 flat position of each maximum within its plane/volume. */
  returnIndices?: boolean;
}
export type MaxPool1dOptions = MaxPoolNdOptions<IntSingle>;
export type MaxPool3dOptions = MaxPoolNdOptions<IntTriple>;

/** Options of avgPool1d (PyTorch's avg_pool1d has no divisor override). */
export interface AvgPool1dOptions {
  stride?: IntSingle | null;
  padding?: IntSingle;
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true). */
  countIncludePad?: boolean;
}

/** Options of avgPool3d. */
export interface AvgPool3dOptions {
  stride?: IntTriple | null;
  padding?: IntTriple;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  /** Divide every window sum by this instead of the window size. */
  divisorOverride?: number | null;
}

/** Options of maxUnpool1d/3d: outputSize is the spatial size (or a full shape whose trailing entries are used). */
export interface MaxUnpoolNdOptions<T> {
  stride?: T | null;
  padding?: T;
  outputSize?: readonly number[] | null;
}

/** Output size of 3-D adaptive pooling: an int, or [d, h, w] where null keeps that input dim. */
export type AdaptiveSize3d = number | readonly [number | null, number | null, number | null];

const first = (v: IntSingle): number => (typeof v === 'number' ? v : v[0]);

function check(op: string, x: Tensor, dims: number): void {
  requireFloat(op, x);
  requireRank(op, x, [dims + 1, dims + 2], 'input', dims === 1 ? 'NCL, or CL unbatched' : 'NCDHW, or CDHW unbatched');
}

/** Runs `fn` on the input with a unit height inserted before the last dim, and removes it from the result(s). */
function asUnitHeight<T extends Tensor | [Tensor, Tensor]>(x: Tensor, fn: (x4: Tensor) => T): T {
  const r = fn(unsqueeze(x, -2));
  return (Array.isArray(r) ? [squeeze(r[0], -2), squeeze(r[1], -2)] : squeeze(r, -2)) as T;
}

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
  const op = 'maxPool1d';
  check(op, x, 1);
  const k = tupleN(op, 'kernelSize', kernelSize, 1, 1)[0];
  const s = opts.stride === null || opts.stride === undefined ? k : tupleN(op, 'stride', opts.stride, 1, 1)[0];
  const p = tupleN(op, 'padding', opts.padding ?? 0, 1)[0];
  const d = tupleN(op, 'dilation', opts.dilation ?? 1, 1, 1)[0];
  return asUnitHeight(x, (x4) =>
    maxPool2d(x4, [1, k], {
      stride: [1, s],
      padding: [0, p],
      dilation: [1, d],
      ceilMode: opts.ceilMode,
      returnIndices: opts.returnIndices,
    }),
  );
}

/** 1-D average pooling (torch.nn.functional.avg_pool1d). */
export function avgPool1d(x: Tensor, kernelSize: IntSingle, opts: AvgPool1dOptions = {}): Tensor {
  const op = 'avgPool1d';
  check(op, x, 1);
  const k = tupleN(op, 'kernelSize', kernelSize, 1, 1)[0];
  const s = opts.stride === null || opts.stride === undefined ? k : tupleN(op, 'stride', opts.stride, 1, 1)[0];
  const p = tupleN(op, 'padding', opts.padding ?? 0, 1)[0];
  return asUnitHeight(x, (x4) =>
    avgPool2d(x4, [1, k], {
      stride: [1, s],
      padding: [0, p],
      ceilMode: opts.ceilMode,
      countIncludePad: opts.countIncludePad,
    }),
  );
}

function adaptive1d(op: string, outputSize: IntSingle): number {
  const o = first(outputSize);
  if ((typeof outputSize !== 'number' && outputSize.length !== 1) || !Number.isInteger(o) || o < 1) {
    throw new Error(`${op}: outputSize must be a positive integer (or a 1-list), got ${JSON.stringify(outputSize)}`);
  }
  return o;
}

/** Average pooling of [N, C, L] to a fixed length with PyTorch's windows [⌊i·L/o⌋, ⌈(i+1)·L/o⌉). */
export function adaptiveAvgPool1d(x: Tensor, outputSize: IntSingle): Tensor {
  const op = 'adaptiveAvgPool1d';
  check(op, x, 1);
  const o = adaptive1d(op, outputSize);
  return asUnitHeight(x, (x4) => adaptiveAvgPool2d(x4, [1, o]));
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
  const op = 'adaptiveMaxPool1d';
  check(op, x, 1);
  const o = adaptive1d(op, outputSize);
  return asUnitHeight(x, (x4) => adaptiveMaxPool2d(x4, [1, o], { returnIndices: opts.returnIndices }));
}

/** Partial inverse of maxPool1d: each value of `x` goes to its `indices` position in a zero signal. */
export function maxUnpool1d(
  x: Tensor,
  indices: Tensor,
  kernelSize: IntSingle,
  opts: MaxUnpoolNdOptions<IntSingle> = {},
): Tensor {
  const op = 'maxUnpool1d';
  check(op, x, 1);
  if (!shapesEqual(indices.shape, x.shape))
    throw new Error(
      `${op}: indices shape ${formatShape(indices.shape)} must match input shape ${formatShape(x.shape)}`,
    );
  const k = tupleN(op, 'kernelSize', kernelSize, 1, 1)[0];
  const s = opts.stride === null || opts.stride === undefined ? k : tupleN(op, 'stride', opts.stride, 1, 1)[0];
  const p = tupleN(op, 'padding', opts.padding ?? 0, 1)[0];
  const os = opts.outputSize;
  if (os && os.length !== 1 && os.length !== x.shape.length) {
    throw new Error(`${op}: outputSize must have 1 or ${x.shape.length} elements, got ${JSON.stringify(os)}`);
  }
  const outputSize = os ? [1, os[os.length - 1]] : null;
  return squeeze(
    maxUnpool2d(unsqueeze(x, -2), unsqueeze(indices, -2), [1, k], { stride: [1, s], padding: [0, p], outputSize }),
    -2,
  );
}

/** Runs a 5-D implementation on unbatched CDHW input by adding and removing the batch dim. */
function batched3d<T extends Tensor | [Tensor, Tensor]>(x: Tensor, fn: (x5: Tensor) => T): T {
  if (x.shape.length === 5) return fn(x);
  const r = fn(unsqueeze(x, 0));
  return (Array.isArray(r) ? [squeeze(r[0], 0), squeeze(r[1], 0)] : squeeze(r, 0)) as T;
}

/** PyTorch's pooling_output_shape for one dim. */
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

function pool3dGeometry(
  op: string,
  x: Tensor,
  kernelSize: IntTriple,
  stride: IntTriple | null | undefined,
  padding: IntTriple | undefined,
  dilation: IntTriple | undefined,
  ceilMode: boolean,
): Pool3dGeometry {
  const k = tupleN(op, 'kernelSize', kernelSize, 3, 1);
  const s = stride === null || stride === undefined ? k : tupleN(op, 'stride', stride, 3, 1);
  const p = tupleN(op, 'padding', padding ?? 0, 3);
  const dl = tupleN(op, 'dilation', dilation ?? 1, 3, 1);
  if (p.some((v, i) => v > k[i] >> 1))
    throw new Error(`${op}: padding ${JSON.stringify(p)} must be at most half the kernel size ${JSON.stringify(k)}`);
  const [n, c, d, h, w] = x.shape;
  const out = [d, h, w].map((size, i) => pooledSize(size, k[i], p[i], s[i], dl[i], ceilMode));
  if (out.some((o) => o < 1)) {
    throw new Error(
      `${op}: output size ${formatShape(out)} is too small: input ${formatShape(x.shape)}, kernel ${JSON.stringify(k)}, ` +
        `stride ${JSON.stringify(s)}, padding ${JSON.stringify(p)}, dilation ${JSON.stringify(dl)}`,
    );
  }
  return {
    n,
    c,
    d,
    h,
    w,
    od: out[0],
    oh: out[1],
    ow: out[2],
    kd: k[0],
    kh: k[1],
    kw: k[2],
    strideD: s[0],
    strideH: s[1],
    strideW: s[2],
    padD: p[0],
    padH: p[1],
    padW: p[2],
    dilationD: dl[0],
    dilationH: dl[1],
    dilationW: dl[2],
  };
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
  const op = 'maxPool3d';
  check(op, x, 3);
  return batched3d(x, (x5): Tensor | [Tensor, Tensor] => {
    const g = pool3dGeometry(op, x5, kernelSize, opts.stride, opts.padding, opts.dilation, opts.ceilMode ?? false);
    const out = Tensor.unfilled([g.n, g.c, g.od, g.oh, g.ow], x5.dtype);
    const indices =
      opts.returnIndices || (isGradEnabled() && x5.requiresGrad) ? Tensor.unfilled(out.shape, 'int32') : null;
    const idx = indices ? (indices.storage as Int32Array) : null;
    backend().maxPool3d(floatData(x5), floatData(out), idx, g);
    if (idx) {
      record(op, out, [x5], () => (gy) => {
        const gx = Tensor.unfilled(x5.shape, gy.dtype);
        backend().maxPool2dBackward(floatData(gy), idx, floatData(gx), g.n * g.c, g.d * g.h * g.w, g.od * g.oh * g.ow);
        return [gx];
      });
    }
    return opts.returnIndices && indices ? [out, indices] : out;
  });
}

/** 3-D average pooling (torch.nn.functional.avg_pool3d). */
export function avgPool3d(x: Tensor, kernelSize: IntTriple, opts: AvgPool3dOptions = {}): Tensor {
  const op = 'avgPool3d';
  check(op, x, 3);
  const countIncludePad = opts.countIncludePad ?? true;
  const divisor = opts.divisorOverride ?? 0;
  if (
    opts.divisorOverride !== undefined &&
    opts.divisorOverride !== null &&
    (!Number.isInteger(divisor) || divisor === 0)
  ) {
    throw new Error(`${op}: divisorOverride must be a non-zero integer, got ${opts.divisorOverride}`);
  }
  return batched3d(x, (x5) => {
    const g = pool3dGeometry(op, x5, kernelSize, opts.stride, opts.padding, 1, opts.ceilMode ?? false);
    const out = Tensor.unfilled([g.n, g.c, g.od, g.oh, g.ow], x5.dtype);
    backend().avgPool3d(floatData(x5), floatData(out), g, countIncludePad, divisor);
    return record(op, out, [x5], () => (gy) => {
      const gx = Tensor.unfilled(x5.shape, gy.dtype);
      backend().avgPool3dBackward(floatData(gy), floatData(gx), g, countIncludePad, divisor);
      return [gx];
    });
  });
}

function adaptive3dGeometry(op: string, x: Tensor, outputSize: AdaptiveSize3d): AdaptivePool3dGeometry {
  const [n, c, d, h, w] = x.shape;
  const raw: (number | null)[] =
    typeof outputSize === 'number' ? [outputSize, outputSize, outputSize] : [...outputSize];
  if (raw.length !== 3 || !raw.every((v) => v === null || (Number.isInteger(v) && v >= 1))) {
    throw new Error(
      `${op}: outputSize must be a positive integer or a [d, h, w] triple of them (null keeps the input size), got ${JSON.stringify(outputSize)}`,
    );
  }
  if (d === 0 || h === 0 || w === 0) throw new Error(`${op}: input ${formatShape(x.shape)} has an empty spatial dim`);
  return { planes: n * c, d, h, w, od: raw[0] ?? d, oh: raw[1] ?? h, ow: raw[2] ?? w };
}

/** Average pooling of [N, C, D, H, W] to a fixed size; outputSize 1 is global average pooling. */
export function adaptiveAvgPool3d(x: Tensor, outputSize: AdaptiveSize3d): Tensor {
  const op = 'adaptiveAvgPool3d';
  check(op, x, 3);
  return batched3d(x, (x5) => {
    const g = adaptive3dGeometry(op, x5, outputSize);
    const out = Tensor.unfilled([x5.shape[0], x5.shape[1], g.od, g.oh, g.ow], x5.dtype);
    backend().adaptiveAvgPool3d(floatData(x5), floatData(out), g);
    return record(op, out, [x5], () => (gy) => {
      const gx = Tensor.unfilled(x5.shape, gy.dtype);
      backend().adaptiveAvgPool3dBackward(floatData(gy), floatData(gx), g);
      return [gx];
    });
  });
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
  const op = 'adaptiveMaxPool3d';
  check(op, x, 3);
  return batched3d(x, (x5): Tensor | [Tensor, Tensor] => {
    const g = adaptive3dGeometry(op, x5, outputSize);
    const out = Tensor.unfilled([x5.shape[0], x5.shape[1], g.od, g.oh, g.ow], x5.dtype);
    const indices = Tensor.unfilled(out.shape, 'int32');
    const idx = indices.storage as Int32Array;
    backend().adaptiveMaxPool3d(floatData(x5), floatData(out), idx, g);
    record(op, out, [x5], () => (gy) => {
      const gx = Tensor.unfilled(x5.shape, gy.dtype);
      backend().maxPool2dBackward(floatData(gy), idx, floatData(gx), g.planes, g.d * g.h * g.w, g.od * g.oh * g.ow);
      return [gx];
    });
    return opts.returnIndices ? [out, indices] : out;
  });
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
  const op = 'maxUnpool3d';
  check(op, x, 3);
  if (indices.dtype !== 'int32')
    throw new Error(`${op}: indices must be an int32 tensor (as returned by maxPool3d), got ${indices.dtype}`);
  if (!shapesEqual(indices.shape, x.shape))
    throw new Error(
      `${op}: indices shape ${formatShape(indices.shape)} must match input shape ${formatShape(x.shape)}`,
    );
  const k = tupleN(op, 'kernelSize', kernelSize, 3, 1);
  const s = opts.stride === null || opts.stride === undefined ? k : tupleN(op, 'stride', opts.stride, 3, 1);
  const p = tupleN(op, 'padding', opts.padding ?? 0, 3);
  const inSize = x.shape.slice(-3);
  const defaults = inSize.map((v, d) => (v - 1) * s[d] - 2 * p[d] + k[d]);
  let size = defaults;
  const os = opts.outputSize;
  if (os) {
    if (os.length !== 3 && os.length !== x.shape.length)
      throw new Error(`${op}: outputSize must have 3 or ${x.shape.length} elements, got ${JSON.stringify(os)}`);
    size = os.slice(-3);
    for (let d = 0; d < 3; d++) {
      if (!(size[d] > defaults[d] - s[d] && size[d] < defaults[d] + s[d])) {
        throw new Error(
          `${op}: invalid outputSize ${JSON.stringify(os)} (dim ${d} must be between ${defaults[d] - s[d]} and ${defaults[d] + s[d]}, exclusive)`,
        );
      }
    }
  }
  if (size.some((v) => v < 1))
    throw new Error(`${op}: output size ${formatShape(size)} is too small (input ${formatShape(x.shape)})`);
  const inPlane = inSize[0] * inSize[1] * inSize[2];
  const outPlane = size[0] * size[1] * size[2];
  const planes = x.numel() / inPlane;
  const out = Tensor.unfilled([...x.shape.slice(0, -3), ...size], x.dtype);
  const idx = indices.dataView() as Int32Array;
  const bad = backend().maxUnpool2d(floatData(x), idx, floatData(out), planes, inPlane, outPlane);
  if (bad >= 0) {
    throw new Error(
      `${op}: index ${idx[bad]} (element ${bad} of indices ${formatShape(indices.shape)}) is outside the ${size.join('×')} output volume`,
    );
  }
  return record(op, out, [x], () => (gy) => {
    const gx = Tensor.unfilled(x.shape, gy.dtype);
    backend().maxUnpool2dBackward(floatData(gy), idx, floatData(gx), planes, inPlane, outPlane);
    return [gx];
  });
}
