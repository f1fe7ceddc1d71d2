/**
 * Shape and indexing ops. reshape/view, permute/transpose, narrow/select/slice, expand, squeeze/unsqueeze are
 * views sharing storage (no copy); cat/stack/gather/indexSelect allocate.
 */
import { linearBackward, record } from '../autograd/graph.js';
import { backend } from '../backend/index.js';
import type { DType } from '../tensor/dtype.js';
import {
  checkShape,
  contiguousStrides,
  formatShape,
  normalizeDim,
  normalizeDims,
  numel,
  shapeArgs,
  shapesEqual,
} from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { expand } from './broadcast.js';
import { storageFrom } from './util.js';

function view_(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, shape, x.dtype, strides, offset);
}

/** A contiguous tensor with the same elements (this tensor itself when already contiguous). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return clone(x);
}

/** A copy with its own contiguous storage; gradients flow through. */
export function clone(x: Tensor): Tensor {
  const out = Tensor.unfilled(x.shape, x.dtype);
  backend().copyStrided(storageFrom(x), 0, x.strides, out.storage, x.shape);
  return record('clone', out, [x], () => (g) => [g]);
}

/** Converts to another dtype (a copy; gradients flow between floating types). */
export function to(x: Tensor, dtype: DType): Tensor {
  if (dtype === x.dtype) return x;
  const out = Tensor.empty(x.shape, dtype);
  if (dtype === 'bool') {
    const src = x.dataView();
    for (let i = 0; i < src.length; i++) out.storage[i] = src[i] !== 0 ? 1 : 0;
  } else {
    backend().copyStrided(storageFrom(x), 0, x.strides, out.storage, x.shape);
  }
  return record('to', out, [x], () => (g) => [to(g, x.dtype)]);
}

/**
 * Same elements, new shape (one dim may be -1). A view when the layout allows it, otherwise a copy
 * (PyTorch's reshape). `view` is the strict form that never copies.
 */
export function reshape(x: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  const target = checkShape('reshape', shapeArgs(shape), x.numel());
  if (shapesEqual(target, x.shape)) return x;
  const strides = viewStrides(x, target);
  const out = strides
    ? view_(x, target, strides, x.offset)
    : view_(contiguousCopy(x), target, contiguousStrides(target), 0);
  return record('reshape', out, [x], () => (g) => [reshape(g, x.shape)]);
}

/** Like reshape but throws instead of copying when the tensor's strides do not allow a view. */
export function view(x: Tensor, ...shape: (number | readonly number[])[]): Tensor {
  const target = checkShape('view', shapeArgs(shape), x.numel());
  const strides = viewStrides(x, target);
  if (!strides) {
    throw new Error(
      `view: size ${formatShape(target)} is not compatible with input of shape ${formatShape(x.shape)} and strides ${formatShape(x.strides)}; use reshape() or contiguous() first`,
    );
  }
  const out = view_(x, target, strides, x.offset);
  return record('view', out, [x], () => (g) => [reshape(g, x.shape)]);
}

function contiguousCopy(x: Tensor): Tensor {
  const out = Tensor.unfilled(x.shape, x.dtype);
  backend().copyStrided(storageFrom(x), 0, x.strides, out.storage, x.shape);
  return out;
}

/** Strides that express `target` over x's storage without copying, or null (PyTorch's computeStride). */
function viewStrides(x: Tensor, target: readonly number[]): number[] | null {
  if (x.isContiguous()) return contiguousStrides(target);
  const oldShape = x.shape;
  const oldStrides = x.strides;
  const newStrides = new Array<number>(target.length);
  if (x.numel() === 0) return contiguousStrides(target);
  let viewD = target.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let tensorD = oldShape.length - 1; tensorD >= 0; tensorD--) {
    tensorNumel *= oldShape[tensorD];
    if (tensorD === 0 || (oldShape[tensorD - 1] !== 1 && oldStrides[tensorD - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= target[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (tensorD > 0) {
        chunkBaseStride = oldStrides[tensorD - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

/** Flattens dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.shape.length === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.shape.length);
  const e = normalizeDim('flatten', endDim, x.shape.length);
  if (s > e) throw new Error(`flatten: startDim ${startDim} cannot come after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Splits one dim into `sizes` (PyTorch's unflatten). */
export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const d = normalizeDim('unflatten', dim, x.shape.length);
  const inner = checkShape('unflatten', sizes, x.shape[d]);
  return reshape(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}

/** Reorders dims (a view). */
export function permute(x: Tensor, ...dims: (number | readonly number[])[]): Tensor {
  const order = shapeArgs(dims).map((d) => normalizeDim('permute', d, x.shape.length));
  if (order.length !== x.shape.length || new Set(order).size !== order.length) {
    throw new Error(
      `permute: dims ${formatShape(order)} must be a permutation of 0..${x.shape.length - 1} for shape ${formatShape(x.shape)}`,
    );
  }
  const out = view_(
    x,
    order.map((d) => x.shape[d]),
    order.map((d) => x.strides[d]),
    x.offset,
  );
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return record('permute', out, [x], () => (g) => [permute(g, inverse)]);
}

/** Swaps two dims (a view). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeDim('transpose', dim0, x.shape.length);
  const b = normalizeDim('transpose', dim1, x.shape.length);
  const order = x.shape.map((_, i) => i);
  order[a] = b;
  order[b] = a;
  return permute(x, order);
}

/** Transpose of a matrix (≤ 2 dims). */
export function t(x: Tensor): Tensor {
  if (x.shape.length > 2)
    throw new Error(`t: expects a tensor with ≤ 2 dims, got shape ${formatShape(x.shape)}; use transpose()`);
  return x.shape.length < 2 ? x : transpose(x, 0, 1);
}

/** Removes size-1 dims (all, or the given ones). */
export function squeeze(x: Tensor, dims?: number | readonly number[]): Tensor {
  const ds = dims === undefined ? x.shape.map((_, i) => i) : normalizeDims('squeeze', dims, x.shape.length);
  const shape = x.shape.filter((s, i) => !(s === 1 && ds.includes(i)));
  return reshape(x, shape);
}

/** Inserts a size-1 dim at `dim`. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.shape.length + 1);
  const shape = x.shape.slice();
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

export { expand };

export function expandAs(x: Tensor, other: Tensor): Tensor {
  return expand(x, other.shape);
}

/** Elements start..start+length-1 along `dim` (a view). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.shape.length);
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    throw new Error(
      `narrow: start ${start} and length ${length} exceed dim ${dim} of size ${size} (shape ${formatShape(x.shape)})`,
    );
  }
  return slice(x, d, s, s + length);
}

/** Python-style slice start:end:step along `dim` (a view; negative indices count from the end). */
export function slice(x: Tensor, dim: number, start: number | null = 0, end: number | null = null, step = 1): Tensor {
  const d = normalizeDim('slice', dim, x.shape.length);
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[d];
  const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = clampIdx(start ?? 0);
  const e = Math.max(clampIdx(end ?? size), s);
  const len = Math.ceil((e - s) / step);
  const shape = x.shape.slice();
  shape[d] = len;
  const strides = x.strides.slice();
  strides[d] = x.strides[d] * step;
  if (s === 0 && len === size && step === 1) return x;
  const out = view_(x, shape, strides, x.offset + s * x.strides[d]);
  const sliceOf = (t: Tensor) =>
    new Tensor(
      t.storage,
      shape,
      t.dtype,
      t.strides.map((st, i) => (i === d ? st * step : st)),
      s * t.strides[d],
    );
  const embedRaw = (g: Tensor) => {
    const gx = Tensor.empty(x.shape, g.dtype);
    copyInto(sliceOf(gx), g);
    return gx;
  };
  const sliceRaw = (t: Tensor) => {
    const whole = Tensor.empty(x.shape, t.dtype);
    copyInto(whole, t);
    return new Tensor(sliceOf(whole).dataView().slice(), shape, t.dtype);
  };
  return record('slice', out, [x], () => (g) => [linearBackward('slice', g, embedRaw, sliceRaw)]);
}

/** The sub-tensor at `index` along `dim`, with that dim removed (a view). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim('select', dim, x.shape.length);
  const size = x.shape[d];
  const i = index < 0 ? index + size : index;
  if (!Number.isInteger(i) || i < 0 || i >= size) {
    throw new Error(`select: index ${index} is out of bounds for dim ${dim} with size ${size}`);
  }
  return squeeze(slice(x, d, i, i + 1), d);
}

/** Writes `src` (broadcast to dst's shape) into the possibly strided view `dst`. */
export function copyInto(dst: Tensor, src: Tensor): void {
  const shape = dst.shape;
  const srcB = src.shape.length === shape.length && shapesEqual(src.shape, shape) ? src : expand(src, shape);
  const contiguousSrc = Tensor.unfilled(shape, dst.dtype);
  backend().copyStrided(storageFrom(srcB), 0, srcB.strides, contiguousSrc.storage, shape);
  if (dst.isContiguous()) {
    dst.storage.set(contiguousSrc.storage, dst.offset);
    return;
  }
  // Scatter into strided destination: walk its index space.
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  const n = contiguousSrc.storage.length;
  let p = dst.offset;
  for (let k = 0; k < n; k++) {
    dst.storage[p] = contiguousSrc.storage[k];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      p += dst.strides[d];
      if (idx[d] < shape[d]) break;
      p -= dst.strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** A list of tensors for cat/stack: non-empty, and every entry a Tensor (a hole is a clear error, not a TypeError). */
function checkTensorList(op: string, tensors: readonly Tensor[]): void {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error(`${op}: expected a non-empty list of tensors`);
  const k = tensors.findIndex((t) => !(t instanceof Tensor));
  if (k >= 0)
    throw new Error(
      `${op}: entry ${k} of the list must be a Tensor, got ${tensors[k] === null ? 'null' : typeof tensors[k]}`,
    );
}

/** Concatenates along `dim`; all other dims must match. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  checkTensorList('cat', tensors);
  const ref = tensors[0];
  const d = normalizeDim('cat', dim, ref.shape.length);
  let total = 0;
  tensors.forEach((t, k) => {
    if (t.shape.length !== ref.shape.length || t.shape.some((s, i) => i !== d && s !== ref.shape[i])) {
      throw new Error(
        `cat: tensor ${k} has shape ${formatShape(t.shape)} but tensor 0 has ${formatShape(ref.shape)}; sizes must match except in dim ${d}`,
      );
    }
    if (t.dtype !== ref.dtype) throw new Error(`cat: tensor ${k} is ${t.dtype} but tensor 0 is ${ref.dtype}`);
    total += t.shape[d];
  });
  const shape = ref.shape.slice();
  shape[d] = total;
  const out = Tensor.unfilled(shape, ref.dtype); // every element is one input's: the copies below cover it all
  let outer = 1;
  for (let i = 0; i < d; i++) outer *= shape[i];
  let inner = 1;
  for (let i = d + 1; i < shape.length; i++) inner *= shape[i];
  let offset = 0;
  for (const t of tensors) {
    const chunk = t.shape[d] * inner;
    const src = t.dataView();
    for (let o = 0; o < outer; o++)
      out.storage.set(src.subarray(o * chunk, (o + 1) * chunk), o * total * inner + offset);
    offset += chunk;
  }
  return record('cat', out, tensors, () => (g) => {
    let start = 0;
    return tensors.map((t) => {
      const piece = t.requiresGrad ? narrow(g, d, start, t.shape[d]) : null;
      start += t.shape[d];
      return piece;
    });
  });
}

/** Stacks equal-shape tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  checkTensorList('stack', tensors);
  const d = normalizeDim('stack', dim, tensors[0].shape.length + 1);
  tensors.forEach((t, k) => {
    if (!shapesEqual(t.shape, tensors[0].shape)) {
      throw new Error(
        `stack: tensor ${k} has shape ${formatShape(t.shape)} but tensor 0 has ${formatShape(tensors[0].shape)}`,
      );
    }
  });
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/** Splits into pieces of `size` along dim (the last may be smaller), or into the given sizes. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim('split', dim, x.shape.length);
  const total = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0)
      throw new Error(`split: size must be a positive integer, got ${sizeOrSections}`);
    sizes = [];
    for (let s = 0; s < total; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, total - s));
  } else {
    sizes = sizeOrSections.slice();
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== total)
      throw new Error(`split: sizes ${formatShape(sizes)} sum to ${sum} but dim ${d} has size ${total}`);
  }
  let start = 0;
  return sizes.map((s) => {
    const piece = narrow(x, d, start, s);
    start += s;
    return piece;
  });
}

/** Splits into `chunks` nearly equal pieces along dim. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const d = normalizeDim('chunk', dim, x.shape.length);
  if (!Number.isInteger(chunks) || chunks <= 0)
    throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  return split(x, Math.ceil(x.shape[d] / chunks) || 1, d);
}

function checkIndex(op: string, index: Tensor): void {
  if (index.dtype !== 'int32' && index.dtype !== 'uint8')
    throw new Error(`${op}: index must be an integer tensor (int32), got ${index.dtype}`);
}

/** out[…, i, …] = x[…, index[…, i, …], …] along `dim` (PyTorch's gather). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('gather', index);
  const d = normalizeDim('gather', dim, x.shape.length);
  if (index.shape.length !== x.shape.length) {
    throw new Error(
      `gather: index ${formatShape(index.shape)} must have as many dims as input ${formatShape(x.shape)}`,
    );
  }
  index.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i])
      throw new Error(`gather: index size ${s} exceeds input size ${x.shape[i]} at dim ${i}`);
  });
  const xs = contiguous(x);
  const idx = index.dataView();
  const out = Tensor.empty(index.shape, x.dtype);
  const size = x.shape[d];
  const pos = gatherPositions(index.shape, xs.shape, d, idx, size, 'gather');
  const src = xs.dataView();
  for (let k = 0; k < pos.length; k++) out.storage[k] = src[pos[k]];
  return record('gather', out, [x], () => (g) => [
    linearBackward(
      'gather',
      g,
      (t) => scatterAddAt(t, pos, x.shape),
      (t) => gatherAt(t, pos, index.shape),
    ),
  ]);
}

/** out[pos[k]] += t[k] into zeros of `shape` (the gradient of gathering at `pos`). */
function scatterAddAt(t: Tensor, pos: Int32Array, shape: readonly number[]): Tensor {
  const out = Tensor.empty(shape, t.dtype);
  const tv = t.dataView();
  for (let k = 0; k < pos.length; k++) out.storage[pos[k]] += tv[k];
  return out;
}

/** out[k] = t[pos[k]] (the adjoint of scatterAddAt). */
function gatherAt(t: Tensor, pos: Int32Array, shape: readonly number[]): Tensor {
  const out = Tensor.empty(shape, t.dtype);
  const tv = t.dataView();
  for (let k = 0; k < pos.length; k++) out.storage[k] = tv[pos[k]];
  return out;
}

/** Flat input positions read by gather/scatter for each index element. */
function gatherPositions(
  indexShape: readonly number[],
  xShape: readonly number[],
  d: number,
  idx: ArrayLike<number>,
  size: number,
  op: string,
): Int32Array {
  const xStrides = contiguousStrides(xShape);
  const n = numel(indexShape);
  const pos = new Int32Array(n);
  const rank = indexShape.length;
  const coord = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    const v = idx[k];
    if (v < 0 || v >= size) throw new Error(`${op}: index ${v} is out of bounds for dim ${d} with size ${size}`);
    let p = 0;
    for (let i = 0; i < rank; i++) p += (i === d ? v : coord[i]) * xStrides[i];
    pos[k] = p;
    for (let i = rank - 1; i >= 0; i--) {
      if (++coord[i] < indexShape[i]) break;
      coord[i] = 0;
    }
  }
  return pos;
}

/** Writes `src` into a copy of `x` at positions `index` along `dim`, adding when reduce is 'add' (scatter / scatter_add). */
export function scatter(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor | number,
  reduce: 'none' | 'add' = 'none',
): Tensor {
  checkIndex('scatter', index);
  const d = normalizeDim('scatter', dim, x.shape.length);
  const pos = gatherPositions(index.shape, x.shape, d, index.dataView(), x.shape[d], 'scatter');
  const out = clone(x).detach();
  const sv = typeof src === 'number' ? null : src.dataView();
  for (let k = 0; k < pos.length; k++) {
    const v = sv ? sv[k] : (src as number);
    out.storage[pos[k]] = reduce === 'add' ? out.storage[pos[k]] + v : v;
  }
  const srcT = typeof src === 'number' ? null : src;
  // both gradients are linear in g: x's keeps g except at overwritten positions (self-adjoint), src's reads g at pos
  const keepRaw = (t: Tensor) => {
    const gx = Tensor.empty(x.shape, t.dtype);
    gx.storage.set(t.dataView());
    if (reduce === 'none') for (let k = 0; k < pos.length; k++) gx.storage[pos[k]] = 0;
    return gx;
  };
  return record('scatter', out, [x, srcT], () => (g) => [
    x.requiresGrad ? linearBackward('scatter', g, keepRaw, keepRaw) : null,
    srcT && srcT.requiresGrad
      ? linearBackward(
          'scatter',
          g,
          (t) => gatherAt(t, pos, index.shape),
          (t) => scatterAddAt(t, pos, x.shape),
        )
      : null,
  ]);
}

/** Rows (or slices along `dim`) picked by a 1-D index tensor. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('indexSelect', index);
  if (index.shape.length > 1) throw new Error(`indexSelect: index must be 1-D, got shape ${formatShape(index.shape)}`);
  const d = normalizeDim('indexSelect', dim, x.shape.length);
  const idx = index.dataView();
  const size = x.shape[d];
  let outer = 1;
  for (let i = 0; i < d; i++) outer *= x.shape[i];
  let inner = 1;
  for (let i = d + 1; i < x.shape.length; i++) inner *= x.shape[i];
  const shape = x.shape.slice();
  shape[d] = idx.length;
  for (let k = 0; k < idx.length; k++) {
    if (idx[k] < 0 || idx[k] >= size)
      throw new Error(`indexSelect: index ${idx[k]} is out of bounds for dim ${d} with size ${size}`);
  }
  const selectRaw = (t: Tensor) => {
    const o = Tensor.empty(shape, t.dtype);
    const src = t.dataView();
    const dst = o.storage;
    for (let q = 0; q < outer; q++) {
      for (let k = 0; k < idx.length; k++) {
        const from = (q * size + idx[k]) * inner;
        const to = (q * idx.length + k) * inner;
        // Short rows (scores, boxes, labels: 1-4 values) element by element: a subarray view per row costs more
        // than the copy.
        if (inner <= 16) for (let e = 0; e < inner; e++) dst[to + e] = src[from + e];
        else dst.set(src.subarray(from, from + inner), to);
      }
    }
    return o;
  };
  const out = selectRaw(x);
  return record('indexSelect', out, [x], () => (g0) => [
    linearBackward(
      'indexSelect',
      g0,
      (g) => {
        const gx = Tensor.empty(x.shape, g.dtype);
        const gv = g.dataView();
        for (let o = 0; o < outer; o++) {
          for (let k = 0; k < idx.length; k++) {
            const to = (o * size + idx[k]) * inner;
            const from = (o * idx.length + k) * inner;
            for (let i = 0; i < inner; i++) gx.storage[to + i] += gv[from + i];
          }
        }
        return gx;
      },
      selectRaw,
    ),
  ]);
}

/** One-hot encoding of integer labels: shape [...labels.shape, numClasses], int32. */
export function oneHot(labels: Tensor, numClasses = -1): Tensor {
  checkIndex('oneHot', labels);
  const data = labels.dataView();
  let n = numClasses;
  if (n < 0) for (let i = 0; i < data.length; i++) n = Math.max(n, data[i] + 1);
  const out = Tensor.empty([...labels.shape, n], 'int32');
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0 || data[i] >= n) throw new Error(`oneHot: class value ${data[i]} is outside [0, ${n})`);
    out.storage[i * n + data[i]] = 1;
  }
  return out;
}

/** Tiles the tensor `reps` times along each dim (PyTorch's repeat). */
export function repeat(x: Tensor, ...reps: (number | readonly number[])[]): Tensor {
  const r = shapeArgs(reps);
  if (r.length < x.shape.length)
    throw new Error(`repeat: number of repeats ${formatShape(r)} must be ≥ the tensor's dims ${formatShape(x.shape)}`);
  const lead = r.length - x.shape.length;
  const padded = [...new Array<number>(lead).fill(1), ...x.shape];
  // Interleave: [r0, s0, r1, s1, …] via expand, then reshape to the product.
  const expandedShape: number[] = [];
  const unsqueezed: number[] = [];
  padded.forEach((s, i) => {
    expandedShape.push(r[i], s);
    unsqueezed.push(1, s);
  });
  const e = expand(reshape(x, unsqueezed), expandedShape);
  return reshape(
    contiguous(e),
    padded.map((s, i) => s * r[i]),
  );
}

/** Reverses the order of elements along `dims`. */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  const ds = normalizeDims('flip', dims, x.shape.length);
  const strides = x.strides.slice();
  let offset = x.offset;
  for (const d of ds) {
    if (x.shape[d] > 0) offset += (x.shape[d] - 1) * x.strides[d];
    strides[d] = -strides[d];
  }
  const out = Tensor.unfilled(x.shape, x.dtype);
  backend().copyStrided(x.storage, offset, strides, out.storage, x.shape);
  return record('flip', out, [x], () => (g) => [flip(g, ds)]);
}

/** Replaces elements where `mask` is true by `value`. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const shape = x.shape;
  const m =
    mask.shape.length === shape.length && shapesEqual(mask.shape, shape)
      ? mask.dataView()
      : contiguous(expand(mask, shape)).dataView();
  const out = clone(x).detach();
  for (let i = 0; i < m.length; i++) if (m[i]) out.storage[i] = value;
  const zeroMasked = (g: Tensor) => {
    const gx = Tensor.empty(g.shape, g.dtype);
    gx.storage.set(g.dataView());
    for (let i = 0; i < m.length; i++) if (m[i]) gx.storage[i] = 0;
    return gx;
  };
  return record('maskedFill', out, [x], () => (g) => [linearBackward('maskedFill', g, zeroMasked, zeroMasked)]);
}
