/** Element types a tensor can hold. Floating tensors take part in autograd; integer ones hold labels and indices. */
export type DType = 'float32' | 'float64' | 'int32' | 'uint8' | 'bool';

/** Typed array backing a tensor of each dtype (bool is stored one byte per element, 0 or 1). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;
export type FloatArray = Float32Array | Float64Array;

let allocations = 0;
const birth = new WeakMap<TypedArray, number>();

/** Allocates zero-filled storage for `n` elements of `dtype`. */
export function allocate(dtype: DType, n: number): TypedArray {
  let a: TypedArray;
  switch (dtype) {
    case 'float32': a = new Float32Array(n); break;
    case 'float64': a = new Float64Array(n); break;
    case 'int32': a = new Int32Array(n); break;
    case 'uint8': case 'bool': a = new Uint8Array(n); break;
  }
  birth.set(a, ++allocations);
  return a;
}

/** A mark in the sequence of `allocate` calls: storage allocated later satisfies `allocatedSince(storage, mark)`. */
export function allocationMark(): number {
  return allocations;
}

/**
 * Whether `storage` came from `allocate` after `mark` (arrays from elsewhere never qualify). The autograd engine
 * uses it to hand a gradient computed during backward to `.grad` without a defensive copy.
 */
export function allocatedSince(storage: TypedArray, mark: number): boolean {
  return (birth.get(storage) ?? 0) > mark;
}

/** The dtype that matches a typed array (Uint8Array is read as uint8). */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'uint8';
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Result dtype of a binary arithmetic op, following PyTorch's promotion for the dtypes Tatami has. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  if (a === 'int32' || b === 'int32') return 'int32';
  return 'uint8';
}
