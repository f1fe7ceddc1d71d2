/** Reductions over dims with keepdim: sum, mean, var/std, max/min, argmax/argmin, logsumexp, prod. */
import { linearBackward, record } from '../autograd/graph.js';
import { backend } from '../backend/index.js';
import { isFloating, type DType } from '../tensor/dtype.js';
import { formatShape, normalizeDim, normalizeDims } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { div, eq, exp, mul, square, sub } from './elementwise.js';
import { reshape } from './shape.js';
import { expand, reduceRaw } from './broadcast.js';
import { floatData } from './util.js';

/** Dims argument of reductions: one dim, a list, or undefined for all. */
export type Dims = number | readonly number[] | undefined;

/** Shape after reducing `dims` (kept as size 1 when keepdim). */
function reducedShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (dims.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(shape[i]);
  }
  return out;
}

function accumulatorType(x: Tensor): DType {
  return isFloating(x.dtype) ? x.dtype : x.dtype === 'bool' || x.dtype === 'uint8' ? 'int32' : x.dtype;
}

/** Sum over `dims` (all when omitted). */
export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims('sum', dims, x.shape.length);
  const kept = reduceRaw('sum', x, d, accumulatorType(x));
  const out = keepdim ? kept : reshape(kept, reducedShape(x.shape, d, false));
  return record('sum', out, [x], () => (g) => [expand(reshape(g, kept.shape), x.shape)]);
}

/** Mean over `dims` (all when omitted). */
export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  if (!isFloating(x.dtype)) throw new Error(`mean: input dtype should be float32 or float64, got ${x.dtype}`);
  const d = normalizeDims('mean', dims, x.shape.length);
  let count = 1;
  for (const i of d) count *= x.shape[i];
  return div(sum(x, d, keepdim), count);
}

/** Options of var/std. `correction` 1 is Bessel's (unbiased) estimate, the PyTorch default. */
export interface VarOptions {
  unbiased?: boolean;
  correction?: number;
  keepdim?: boolean;
}

/** Variance over `dims`. */
export function variance(x: Tensor, dims?: Dims, opts: VarOptions = {}): Tensor {
  const d = normalizeDims('var', dims, x.shape.length);
  const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  let count = 1;
  for (const i of d) count *= x.shape[i];
  const centered = sub(x, mean(x, d, true));
  return div(sum(square(centered), d, opts.keepdim ?? false), Math.max(count - correction, 0));
}

/** Standard deviation over `dims`. */
export function std(x: Tensor, dims?: Dims, opts: VarOptions = {}): Tensor {
  const v = variance(x, dims, opts);
  const out = Tensor.unfilled(v.shape, v.dtype);
  backend().unary('sqrt', floatData(v), floatData(out), {});
  return record('std', out, [v], () => (g) => [div(g, mul(out, 2))]);
}

/** Product over `dims`. */
export function prod(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const d = normalizeDims('prod', dims, x.shape.length);
  const kept = reduceRaw('prod', x, d, accumulatorType(x));
  const out = keepdim ? kept : reshape(kept, reducedShape(x.shape, d, false));
  // d prod / d x_i = prod / x_i (inputs are assumed non-zero, as in most uses).
  // the recorded output (not the raw `kept`), so that the gradient stays differentiable under createGraph
  return record('prod', out, [x], () => (g) => [
    div(mul(expand(reshape(g, kept.shape), x.shape), expand(reshape(out, kept.shape), x.shape)), x),
  ]);
}

/** Max and the index of the first max along one dim. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** Max of all elements, or `{values, indices}` along `dim`. */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? extremeAll('max', x) : extremeDim('max', x, dim, keepdim);
}

/** Min of all elements, or `{values, indices}` along `dim`. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? extremeAll('min', x) : extremeDim('min', x, dim, keepdim);
}

/** Max over `dims` without indices; the gradient is shared evenly among ties (PyTorch's amax). */
export function amax(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extremeDims('amax', x, dims, keepdim);
}

export function amin(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extremeDims('amin', x, dims, keepdim);
}

function extremeAll(op: 'max' | 'min', x: Tensor): Tensor {
  if (x.numel() === 0) throw new Error(`${op}: cannot reduce an empty tensor of shape ${formatShape(x.shape)}`);
  return extremeDims(op === 'max' ? 'amax' : 'amin', x, undefined, false);
}

function extremeDims(op: 'amax' | 'amin', x: Tensor, dims: Dims, keepdim: boolean): Tensor {
  const d = normalizeDims(op, dims, x.shape.length);
  for (const i of d)
    if (x.shape[i] === 0)
      throw new Error(`${op}: cannot reduce over dim ${i} of size 0 (shape ${formatShape(x.shape)})`);
  const kept = reduceRaw(op, x, d, x.dtype);
  const out = keepdim ? kept : reshape(kept, reducedShape(x.shape, d, false));
  return record(op, out, [x], () => (g) => {
    const mask = eq(x, expand(kept, x.shape));
    const count = sum(mask, d, true);
    return [div(mul(expand(reshape(g, kept.shape), x.shape), mask), expand(count, x.shape))];
  });
}

function extremeDim(op: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const d = normalizeDim(op, dim, x.shape.length);
  if (x.shape.length > 0 && x.shape[d] === 0)
    throw new Error(`${op}: cannot reduce over dim ${dim} of size 0 (shape ${formatShape(x.shape)})`);
  const keptShape = x.shape.slice();
  if (keptShape.length > 0) keptShape[d] = 1;
  const { outer, size, inner } = splitAt(x.shape, d);
  const values = Tensor.empty(keptShape, x.dtype);
  const indices = Tensor.empty(keptShape, 'int32');
  backend().argReduce(op, x.dataView(), values.storage, indices.storage as Int32Array, outer, size, inner);
  const finalShape = keepdim ? keptShape : reducedShape(x.shape, [d], false);
  const v = reshape(values, finalShape);
  const idx = indices.storage;
  // the gradient puts g at the argmax positions: linear in g, its adjoint reads those positions back
  const scatterRaw = (g: Tensor) => {
    const gx = Tensor.empty(x.shape, g.dtype);
    const gv = g.dataView();
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) gx.storage[(o * size + idx[o * inner + i]) * inner + i] = gv[o * inner + i];
    }
    return gx;
  };
  const gatherRaw = (t: Tensor) => {
    const out = Tensor.empty(finalShape, t.dtype);
    const tv = t.dataView();
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) out.storage[o * inner + i] = tv[(o * size + idx[o * inner + i]) * inner + i];
    }
    return out;
  };
  const outValues = record(op, v, [x], () => (g) => [linearBackward(op, g, scatterRaw, gatherRaw)]);
  return { values: outValues, indices: keepdim ? indices : reshape(indices, finalShape) };
}

/** Index of the max along `dim` (of the flattened tensor when omitted). */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  if (dim === undefined) return extremeDim('max', reshape(x, [-1]), 0, false).indices;
  return extremeDim('max', x, dim, keepdim).indices;
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  if (dim === undefined) return extremeDim('min', reshape(x, [-1]), 0, false).indices;
  return extremeDim('min', x, dim, keepdim).indices;
}

/** log(sum(exp(x))) over `dims`, computed stably. */
export function logsumexp(x: Tensor, dims: Dims, keepdim = false): Tensor {
  const d = normalizeDims('logsumexp', dims, x.shape.length);
  if (!isFloating(x.dtype)) throw new Error(`logsumexp: input must be floating point, got ${x.dtype}`);
  let out: Tensor;
  if (d.length === 1) {
    const { outer, size, inner } = splitAt(x.shape, d[0]);
    const keptShape = x.shape.slice();
    keptShape[d[0]] = 1;
    const kept = Tensor.empty(keptShape, x.dtype);
    backend().logsumexp(floatData(x), floatData(kept), outer, size, inner);
    out = reshape(kept, keepdim ? keptShape : reducedShape(x.shape, d, false));
  } else {
    const m = reduceRaw('amax', x, d, x.dtype);
    const finite = Tensor.empty(m.shape, m.dtype);
    for (let i = 0; i < m.storage.length; i++) finite.storage[i] = Number.isFinite(m.storage[i]) ? m.storage[i] : 0;
    const s = reduceRaw('sum', exp(sub(x.detach(), expand(finite, x.shape))), d, x.dtype);
    const kept = Tensor.empty(m.shape, m.dtype);
    for (let i = 0; i < kept.storage.length; i++) kept.storage[i] = Math.log(s.storage[i]) + finite.storage[i];
    out = reshape(kept, keepdim ? m.shape : reducedShape(x.shape, d, false));
  }
  const keptShape = reducedShape(x.shape, d, true);
  return record('logsumexp', out, [x], () => (g) => [
    mul(expand(reshape(g, keptShape), x.shape), exp(sub(x, expand(reshape(out, keptShape), x.shape)))),
  ]);
}

/** Sizes before, at and after `dim`, for kernels that see a tensor as [outer, size, inner]. */
export function splitAt(shape: readonly number[], dim: number): { outer: number; size: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < dim; i++) outer *= shape[i];
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, size: shape.length === 0 ? 1 : shape[dim], inner };
}
