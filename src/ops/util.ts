/** Small helpers shared by op families: argument coercion, output allocation and gradient reduction. */
import { Tensor } from '../tensor/tensor.js';
import { isFloating, promoteTypes, type DType, type FloatArray } from '../tensor/dtype.js';
import { allocate } from '../tensor/storage.js';
import { backend } from '../backend/index.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';

/** A tensor or a plain number where PyTorch accepts a Python scalar. */
export type TensorLike = Tensor | number;

/** Says what a non-tensor value is, for errors ("a plain array", "undefined", "a Float32Array"). */
export function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return `a plain array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'no prototype'})`;
  return `${typeof x} ${String(x)}`;
}

/**
 * Throws naming `op` unless `x` is a Tensor: JavaScript has no static check at a user's call site, and a plain
 * array or `undefined` would otherwise surface as "Cannot read properties of undefined" deep inside the op.
 */
export function requireTensor(op: string, x: unknown, what = 'input'): asserts x is Tensor {
  if (x instanceof Tensor) return;
  const hint = Array.isArray(x) || ArrayBuffer.isView(x) ? ' (wrap it with tt.tensor(...))' : '';
  throw new Error(`${op}: ${what} must be a Tensor, got ${describeValue(x)}${hint}`);
}

/** Turns a number into a 0-d tensor whose dtype suits an operation with `like`. */
export function asTensor(x: TensorLike, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== 'number' && typeof x !== 'boolean') requireTensor('elementwise op', x, 'operand');
  let dtype: DType = like.dtype;
  if (!isFloating(dtype) && !Number.isInteger(x)) dtype = 'float32';
  if (dtype === 'bool') dtype = Number.isInteger(x) ? 'int32' : 'float32';
  const t = Tensor.empty([], dtype);
  t.storage[0] = x;
  return t;
}

/** Result dtype of arithmetic between a and b. */
export function resultType(a: Tensor, b: Tensor): DType {
  if (a.shape.length === 0 && b.shape.length > 0 && isFloating(b.dtype) === isFloating(a.dtype))
    return b.dtype === 'bool' ? 'int32' : b.dtype;
  if (b.shape.length === 0 && a.shape.length > 0 && isFloating(a.dtype) === isFloating(b.dtype))
    return a.dtype === 'bool' ? 'int32' : a.dtype;
  const t = promoteTypes(a.dtype, b.dtype);
  return t === 'bool' ? 'uint8' : t;
}

/** Strides that read `t` as if broadcast to `shape` (0 along broadcast dims). */
export function broadcastStrides(t: Tensor, shape: readonly number[]): number[] {
  const rank = shape.length;
  const lead = rank - t.shape.length;
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < t.shape.length; i++) out[lead + i] = t.shape[i] === 1 ? 0 : t.strides[i];
  return out;
}

/** The elements of `t` as a buffer starting at its offset (strides still apply). */
export function storageFrom(t: Tensor) {
  return t.offset === 0 ? t.storage : t.storage.subarray(t.offset);
}

/** Contiguous float data of a tensor for kernels (a view when possible, else a copy by the backend's gather). */
export function floatData(t: Tensor): FloatArray {
  if (t.isContiguous()) return t.dataView() as FloatArray;
  const out = allocate(t.dtype, t.numel());
  backend().copyStrided(t.storage, t.offset, t.strides, out, t.shape);
  return out as FloatArray;
}

/** Throws naming `op` unless `t` is a floating-point tensor. */
export function requireFloat(op: string, t: Tensor, what = 'input'): void {
  requireTensor(op, t, what);
  if (!isFloating(t.dtype))
    throw new Error(`${op}: ${what} must be a floating-point tensor, got ${t.dtype} (use .float())`);
}

/** Throws naming `op` unless `t` has exactly `rank` dims. */
export function requireRank(op: string, t: Tensor, rank: number | number[], what = 'input', layout?: string): void {
  requireTensor(op, t, what);
  const ranks = typeof rank === 'number' ? [rank] : rank;
  if (!ranks.includes(t.shape.length)) {
    throw new Error(
      `${op}: expected ${what} of rank ${ranks.join(' or ')}${layout ? ` (${layout})` : ''}, got shape ${formatShape(t.shape)}`,
    );
  }
}

/** Throws naming `op` unless shapes are equal. */
export function requireSameShape(op: string, a: Tensor, b: Tensor, aName = 'input', bName = 'target'): void {
  requireTensor(op, a, aName);
  requireTensor(op, b, bName);
  if (!shapesEqual(a.shape, b.shape)) {
    throw new Error(
      `${op}: ${aName} shape ${formatShape(a.shape)} and ${bName} shape ${formatShape(b.shape)} must match`,
    );
  }
}

/** An int for the one spatial dim, or a 1-tuple. */
export type IntSingle = number | readonly [number];
/** An int used for both spatial dims, or an [h, w] pair. */
export type IntPair = number | readonly [number, number];
/** An int used for all three spatial dims, or a [d, h, w] triple. */
export type IntTriple = number | readonly [number, number, number];

/** PyTorch's _single/_pair/_triple: an int repeated `dims` times or a list of `dims` ints, each an integer ≥ min. */
export function tupleN(op: string, name: string, v: number | readonly number[], dims: number, min = 0): number[] {
  const t = typeof v === 'number' ? new Array<number>(dims).fill(v) : Array.from(v);
  if (t.length !== dims || !t.every((x) => Number.isInteger(x) && x >= min)) {
    const list = dims === 2 ? 'a pair' : `a list of ${dims}`;
    throw new Error(`${op}: ${name} must be an integer ≥ ${min} or ${list} of them, got ${JSON.stringify(v)}`);
  }
  return t;
}

/** Accepts an int or an [h, w] pair (PyTorch's _pair) and validates each is an integer ≥ min. */
export function pair(op: string, name: string, v: number | readonly number[], min = 0): [number, number] {
  return tupleN(op, name, v, 2, min) as [number, number];
}
