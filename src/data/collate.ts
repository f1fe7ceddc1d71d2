/** Batching samples (PyTorch's default_collate) and moving batches between threads. */
import type { DType, TypedArray } from '../tensor/dtype.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** The type of a batch produced by `defaultCollate` from samples of type T. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: Collated<T[K]> }
        : T extends Record<string, unknown>
          ? { [K in keyof T]: Collated<T[K]> }
          : T[];

/**
 * Stacks a list of samples into a batch, like PyTorch's default_collate: tensors are stacked along a new first
 * dimension; numbers become a 1-d tensor (int32 when all are integers, else float32); booleans a bool tensor;
 * tuples/arrays and plain objects are collated position by position / key by key; strings become string arrays;
 * anything else is returned as the list of values.
 */
export function defaultCollate<T>(samples: readonly T[]): Collated<T> {
  return collateAt(samples as readonly unknown[], 'batch') as Collated<T>;
}

function collateAt(items: readonly unknown[], path: string): unknown {
  if (items.length === 0) throw new Error('defaultCollate: cannot collate an empty batch');
  const first = items[0];
  if (first instanceof Tensor) return stackTensors(items, path);
  if (typeof first === 'number') {
    for (let k = 0; k < items.length; k++)
      if (typeof items[k] !== 'number') throw mismatch(path, k, 'a number', items[k]);
    const nums = items as number[];
    const dtype: DType = nums.every(Number.isInteger) && nums.every((v) => Math.abs(v) < 2 ** 31) ? 'int32' : 'float32';
    const out = Tensor.empty([nums.length], dtype);
    out.storage.set(nums);
    return out;
  }
  if (typeof first === 'boolean') {
    const out = Tensor.empty([items.length], 'bool');
    items.forEach((v, k) => {
      if (typeof v !== 'boolean') throw mismatch(path, k, 'a boolean', v);
      out.storage[k] = v ? 1 : 0;
    });
    return out;
  }
  if (typeof first === 'string') return items.slice();
  if (Array.isArray(first)) {
    const len = first.length;
    items.forEach((v, k) => {
      if (!Array.isArray(v) || v.length !== len)
        throw new Error(
          `defaultCollate: ${path}: sample 0 is a tuple of ${len} elements but sample ${k} is ${Array.isArray(v) ? `a tuple of ${v.length}` : describe(v)}; each element in list of batch should be of equal size`,
        );
    });
    return first.map((_, j) =>
      collateAt(
        items.map((v) => (v as unknown[])[j]),
        `${path}[${j}]`,
      ),
    );
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      out[key] = collateAt(
        items.map((v, k) => {
          if (!isPlainObject(v) || !(key in v))
            throw new Error(
              `defaultCollate: ${path}: sample ${k} has no key '${key}' (sample 0 has ${keys.join(', ')})`,
            );
          return v[key];
        }),
        `${path}.${key}`,
      );
    }
    return out;
  }
  return items.slice();
}

function stackTensors(items: readonly unknown[], path: string): Tensor {
  const t0 = items[0] as Tensor;
  const per = t0.numel();
  const out = Tensor.empty([items.length, ...t0.shape], t0.dtype);
  items.forEach((v, k) => {
    if (!(v instanceof Tensor)) throw mismatch(path, k, 'a Tensor', v);
    if (!shapesEqual(v.shape, t0.shape)) {
      throw new Error(
        `defaultCollate: ${path}: sample ${k} has shape ${formatShape(v.shape)} but sample 0 has ${formatShape(t0.shape)}; stack expects each tensor to be equal size (resize or crop in a transform, or pass a custom collate)`,
      );
    }
    if (v.dtype !== t0.dtype)
      throw new Error(`defaultCollate: ${path}: sample ${k} is ${v.dtype} but sample 0 is ${t0.dtype}`);
    out.storage.set(v.dataView(), k * per);
  });
  return out;
}

function mismatch(path: string, k: number, expected: string, got: unknown): Error {
  return new Error(`defaultCollate: ${path}: sample 0 is ${expected} but sample ${k} is ${describe(got)}`);
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return `a Tensor ${formatShape(v.shape)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return v === null ? 'null' : typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A structured-cloneable stand-in for a tensor crossing a thread boundary. */
interface EncodedTensor {
  __tatamiTensor: true;
  data: TypedArray;
  shape: number[];
  dtype: DType;
}

/**
 * Replaces tensors in a nested value by cloneable records, collecting their buffers in `transfer` so
 * postMessage moves rather than copies them.
 */
export function encodeForTransfer(v: unknown, transfer: ArrayBuffer[]): unknown {
  if (v instanceof Tensor) {
    const data = v.dataView();
    // Own the buffer exactly, so transferring it cannot detach storage that something else still uses.
    const owned =
      data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && v.storage === data ? data : data.slice();
    transfer.push(owned.buffer as ArrayBuffer);
    const enc: EncodedTensor = { __tatamiTensor: true, data: owned, shape: v.shape.slice(), dtype: v.dtype };
    return enc;
  }
  if (Array.isArray(v)) return v.map((x) => encodeForTransfer(x, transfer));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encodeForTransfer(x, transfer);
    return out;
  }
  return v;
}

/** Inverse of encodeForTransfer. */
export function decodeFromTransfer(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeFromTransfer);
  if (isPlainObject(v)) {
    if (v.__tatamiTensor === true) {
      const e = v as unknown as EncodedTensor;
      let data = e.data;
      if (e.dtype === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data);
      return new Tensor(data, e.shape, e.dtype);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = decodeFromTransfer(x);
    return out;
  }
  return v;
}
