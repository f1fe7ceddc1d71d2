/**
 * The two ops broadcasting is made of, each the other's gradient: `expand` (a stride-0 view) and `sumToShape` (sums
 * a broadcast gradient back down to an operand's shape), plus the reduction kernel driver they share with reduce.ts.
 * They live together, below elementwise, reduce and shape, so that those files import them without a cycle.
 */
import { record } from '../autograd/graph.js';
import { isCreatingGraph } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { ReduceOp } from '../backend/types.js';
import { isFloating, type DType } from '../tensor/dtype.js';
import { formatShape, shapeArgs, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { floatData } from './util.js';

/**
 * Runs a reduction kernel over sorted `dims` of a contiguous tensor: adjacent dims are merged into one pass,
 * runs are processed from the innermost outward. Returns the keepdim-shaped result (not recorded for autograd).
 */
export function reduceRaw(op: ReduceOp, x: Tensor, dims: readonly number[], outDtype: DType): Tensor {
  // a strided float view (a narrowed gradient) is gathered by the backend's copy kernel, not element by element
  let cur = x.isContiguous() || !isFloating(x.dtype) ? x.dataView() : floatData(x);
  let shape = x.shape.slice();
  if (dims.length === 0) {
    const copy = Tensor.empty(shape, outDtype);
    copy.storage.set(cur);
    return copy;
  }
  // Group sorted dims into runs of adjacent dims.
  const runs: [number, number][] = [];
  for (const d of dims) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d) last[1] = d + 1;
    else runs.push([d, d + 1]);
  }
  let result: Tensor | null = null;
  for (let r = runs.length - 1; r >= 0; r--) {
    const [start, end] = runs[r];
    let outer = 1;
    let size = 1;
    let inner = 1;
    for (let i = 0; i < start; i++) outer *= shape[i];
    for (let i = start; i < end; i++) size *= shape[i];
    for (let i = end; i < shape.length; i++) inner *= shape[i];
    const nextShape = shape.slice();
    for (let i = start; i < end; i++) nextShape[i] = 1;
    result = Tensor.unfilled(nextShape, outDtype);
    backend().reduce(op, cur, result.storage, outer, size, inner);
    cur = result.storage;
    shape = nextShape;
  }
  return result!;
}

/** Broadcasts size-1 dims to `shape` without copying (-1 keeps a size); PyTorch's `Tensor.expand`. */
export function expand(x: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  const target = shapeArgs(shape);
  if (target.length < x.shape.length) {
    throw new Error(
      `expand: the number of sizes ${formatShape(target)} must be ≥ the tensor's dims ${formatShape(x.shape)}`,
    );
  }
  const lead = target.length - x.shape.length;
  const outShape = target.slice();
  const strides = new Array<number>(target.length).fill(0);
  for (let i = 0; i < target.length; i++) {
    const src = i - lead;
    if (src < 0) {
      if (target[i] < 0)
        throw new Error(`expand: -1 is not allowed for a new leading dim (sizes ${formatShape(target)})`);
      continue;
    }
    const have = x.shape[src];
    if (target[i] === -1 || target[i] === have) {
      outShape[i] = have;
      strides[i] = x.strides[src];
    } else if (have === 1) {
      strides[i] = 0;
    } else {
      throw new Error(
        `expand: the size ${have} at dim ${src} of ${formatShape(x.shape)} must be 1 to expand to ${target[i]} (target ${formatShape(target)})`,
      );
    }
  }
  if (shapesEqual(outShape, x.shape)) return x;
  const out = new Tensor(x.storage, outShape, x.dtype, strides, x.offset);
  return record('expand', out, [x], () => (g) => [sumToShape(g, x.shape)]);
}

/** Sums a broadcast gradient back down to `shape` (leading dims and size-1 dims). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  // The keepdim result is contiguous, so dropping the leading size-1 dims is a plain view.
  const kept = reduceRaw('sum', g, dims, g.dtype);
  const out = new Tensor(kept.storage, shape, kept.dtype);
  // Under createGraph the reduction is recorded: the gradient is differentiated again (its gradient is expand).
  return isCreatingGraph() ? record('sumToShape', out, [g], () => (gg) => [expand(gg, g.shape)]) : out;
}
