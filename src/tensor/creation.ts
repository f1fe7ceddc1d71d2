/** Tensor factories: from data, filled, ranges and random (PyTorch's names and argument order). */
import { noGrad } from '../autograd/grad-mode.js';
import { dtypeOfArray, isFloating, type DType, type TypedArray } from './dtype.js';
import { allocate } from './storage.js';
import { defaultGenerator, type Generator } from './random.js';
import { checkShape, formatShape, numel } from './shape.js';
import { Tensor, type NestedArray, type NestedBoolArray } from './tensor.js';

/** Options shared by the factories. */
export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/** Options of the random factories. */
export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

function finish(t: Tensor, opts: TensorOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferShape(data: NestedArray | NestedBoolArray, _op: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray | NestedBoolArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flattenInto(
  data: NestedArray | NestedBoolArray,
  shape: number[],
  d: number,
  out: TypedArray,
  pos: { i: number },
  op: string,
): void {
  if (d === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean') {
      throw new Error(
        `${op}: expected a number at depth ${d}, got ${Array.isArray(data) ? 'an array' : typeof data} (ragged nested array?)`,
      );
    }
    out[pos.i++] = Number(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[d]) {
    throw new Error(
      `${op}: ragged nested array: expected length ${shape[d]} at depth ${d}, got ${Array.isArray(data) ? data.length : typeof data}`,
    );
  }
  for (const item of data) flattenInto(item, shape, d + 1, out, pos, op);
}

/**
 * Creates a tensor from nested arrays, a typed array (with a shape) or a number.
 * `tensor(float32Data, [8, 3, 32, 32], { requiresGrad: true })`, `tensor([[1, 2], [3, 4]])`.
 * A typed array of the requested dtype is used without copying.
 *
 * dtype, when not given: a typed array keeps its own (Int32Array → int32, Uint8Array → uint8 …); booleans give
 * bool; plain numbers give float32 — also when they are all integers. PyTorch infers int64 from `[0, 1, 2]` because
 * Python tells `1` from `1.0`; JavaScript cannot (`1.0 === 1`), so inferring from the values would turn
 * `tensor([1.0, 0.0])` weights into integers. Class labels say so: `tensor([0, 1, 2], { dtype: 'int32' })` or
 * `tensor(Int32Array.from(labels))` (int32 is Tatami's index type; there is no int64), and the losses and
 * `oneHot` reject float labels with an error saying that.
 */
export function tensor(
  data: NestedArray | NestedBoolArray | TypedArray,
  shapeOrOpts?: readonly number[] | TensorOptions,
  maybeOpts?: TensorOptions,
): Tensor {
  const shapeArg = Array.isArray(shapeOrOpts) ? (shapeOrOpts as number[]) : undefined;
  const opts = (Array.isArray(shapeOrOpts) ? maybeOpts : (shapeOrOpts as TensorOptions | undefined)) ?? {};
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const dtype = opts.dtype ?? dtypeOfArray(arr);
    const shape = shapeArg ? checkShape('tensor', shapeArg, arr.length) : [arr.length];
    let storage: TypedArray = arr;
    if (dtypeOfArray(arr) !== dtype && !(dtype === 'bool' && arr instanceof Uint8Array)) {
      storage = allocate(dtype, arr.length);
      storage.set(arr);
    }
    return finish(new Tensor(storage, shape, dtype), opts);
  }
  if (typeof data === 'number' || typeof data === 'boolean') {
    const dtype = opts.dtype ?? (typeof data === 'boolean' ? 'bool' : 'float32');
    const storage = allocate(dtype, 1);
    storage[0] = Number(data);
    const shape = shapeArg ? checkShape('tensor', shapeArg, 1) : [];
    return finish(new Tensor(storage, shape, dtype), opts);
  }
  if (!Array.isArray(data))
    throw new Error(`tensor: expected nested arrays, a typed array or a number, got ${typeof data}`);
  const inferred = inferShape(data, 'tensor');
  let leaf: unknown = data;
  while (Array.isArray(leaf) && leaf.length) leaf = leaf[0];
  const dtype = opts.dtype ?? (typeof leaf === 'boolean' ? 'bool' : 'float32');
  const storage = allocate(dtype, numel(inferred));
  flattenInto(data, inferred, 0, storage, { i: 0 }, 'tensor');
  const shape = shapeArg ? checkShape('tensor', shapeArg, storage.length) : inferred;
  return finish(new Tensor(storage, shape, dtype), opts);
}

/** Shorthand for a float32 scalar tensor (used to mix numbers into tensor expressions). */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return tensor(value, { dtype });
}

export function full(shape: readonly number[], value: number, opts?: TensorOptions): Tensor {
  const s = checkShape('full', shape);
  const t = Tensor.empty(s, opts?.dtype ?? 'float32');
  if (value !== 0) t.storage.fill(value);
  return finish(t, opts);
}

export function zeros(shape: readonly number[], opts?: TensorOptions): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts?: TensorOptions): Tensor {
  return full(shape, 1, opts);
}

export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  return zeros(t.shape, { dtype: t.dtype, ...opts });
}

export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  return ones(t.shape, { dtype: t.dtype, ...opts });
}

export function fullLike(t: Tensor, value: number, opts?: TensorOptions): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...opts });
}

/** Values start, start+step, … below end (PyTorch's arange(start, end, step); arange(n) counts 0..n-1). */
export function arange(startOrEnd: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  const start = end === undefined ? 0 : startOrEnd;
  const stop = end === undefined ? startOrEnd : end;
  if (step === 0 || !Number.isFinite(step))
    throw new Error(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const allInt = Number.isInteger(start) && Number.isInteger(stop) && Number.isInteger(step);
  const t = Tensor.empty([n], opts?.dtype ?? (allInt ? 'int32' : 'float32'));
  for (let i = 0; i < n; i++) t.storage[i] = start + i * step;
  return finish(t, opts);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new Error(`linspace: steps must be a non-negative integer, got ${steps}`);
  const t = Tensor.empty([steps], opts?.dtype ?? 'float32');
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends like PyTorch, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) t.storage[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  return finish(t, opts);
}

/** Identity matrix n×m (m defaults to n). */
export function eye(n: number, m = n, opts?: TensorOptions): Tensor {
  const t = zeros([n, m], opts);
  for (let i = 0; i < Math.min(n, m); i++) t.storage[i * m + i] = 1;
  return t;
}

/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], opts?: RandomOptions): Tensor {
  const g = opts?.generator ?? defaultGenerator;
  const t = Tensor.empty(checkShape('rand', shape), floatDtype('rand', opts?.dtype));
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = g.random();
  return finish(t, opts);
}

/** Standard normal samples. */
export function randn(shape: readonly number[], opts?: RandomOptions): Tensor {
  const g = opts?.generator ?? defaultGenerator;
  const t = Tensor.empty(checkShape('randn', shape), floatDtype('randn', opts?.dtype));
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = g.normal();
  return finish(t, opts);
}

/** Uniform integers in [low, high) (int32 unless a dtype is given). */
export function randint(low: number, high: number, shape: readonly number[], opts?: RandomOptions): Tensor {
  const g = opts?.generator ?? defaultGenerator;
  const t = Tensor.empty(checkShape('randint', shape), opts?.dtype ?? 'int32');
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = g.randint(low, high);
  return t;
}

/** A random permutation of 0..n-1 (int32). */
export function randperm(n: number, opts?: { generator?: Generator }): Tensor {
  const g = opts?.generator ?? defaultGenerator;
  return new Tensor(g.permutation(n), [n], 'int32');
}

export function randLike(t: Tensor, opts?: RandomOptions): Tensor {
  return rand(t.shape, { dtype: t.dtype, ...opts });
}

export function randnLike(t: Tensor, opts?: RandomOptions): Tensor {
  return randn(t.shape, { dtype: t.dtype, ...opts });
}

function floatDtype(op: string, dtype: DType | undefined): DType {
  const d = dtype ?? 'float32';
  if (!isFloating(d)) throw new Error(`${op}: dtype must be float32 or float64, got ${d}`);
  return d;
}

/** Fills a tensor in place with uniform samples in [low, high) (used by nn.init). */
export function uniform_(t: Tensor, low = 0, high = 1, generator: Generator = defaultGenerator): Tensor {
  return fillWith(t, 'uniform_', () => low + (high - low) * generator.random());
}

/** Fills a tensor in place with normal samples (used by nn.init). */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  return fillWith(t, 'normal_', () => mean + std * generator.normal());
}

function fillWith(t: Tensor, op: string, sample: () => number): Tensor {
  if (!t.isContiguous())
    throw new Error(
      `${op}: tensor must be contiguous, got shape ${formatShape(t.shape)} with strides ${formatShape(t.strides)}`,
    );
  noGrad(() => {
    const view = t.dataView();
    for (let i = 0; i < view.length; i++) view[i] = sample();
  });
  t.version++;
  return t;
}
