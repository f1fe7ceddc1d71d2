/** Element types a tensor can hold. Floating tensors take part in autograd; integer ones hold labels and indices. */
export type DType = 'float32' | 'float64' | 'int32' | 'uint8' | 'bool';

/** Typed array backing a tensor of each dtype (bool is stored one byte per element, 0 or 1). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;
export type FloatArray = Float32Array | Float64Array;

/** The typed array class that stores each dtype. */
export const ARRAY_OF: Record<
  DType,
  Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor
> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/**
 * Most elements one tensor may hold: V8's largest typed array (2³² − 1 elements on 64-bit builds of Node 20;
 * `buffer.constants.MAX_LENGTH` bounds Buffers alike). Larger requests fail here with the shape named instead of
 * V8's bare "RangeError: Invalid typed array length".
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 32 - 1;

/** The dtype names, for error messages. */
export const DTYPES: readonly string[] = Object.keys(ARRAY_OF);

/** A shape as `[2, 3]`, tolerating non-numbers (for messages about invalid shapes). */
export function shapeText(shape: readonly unknown[]): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : typeof d === 'string' ? JSON.stringify(d) : String(d))).join(', ')}]`;
}

/** The typed-array class of `dtype`, or undefined for a name that is not a dtype (own keys only: not "constructor"). */
export function arrayClassOf(dtype: string): (typeof ARRAY_OF)[DType] | undefined {
  return Object.hasOwn(ARRAY_OF, dtype) ? ARRAY_OF[dtype as DType] : undefined;
}

/**
 * Validates a tensor view before it is built: `storage` is the typed array of `dtype`, every size is a
 * non-negative safe integer, strides (one per dim) and `offset` are integers, and every element the view addresses
 * lies inside `storage`. O(rank). Throws naming the first problem; this is what keeps a JavaScript caller from
 * handing the native kernels a view that reaches outside its buffer.
 */
export function checkView(
  storage: TypedArray,
  shape: readonly number[],
  dtype: DType,
  strides?: readonly number[],
  offset = 0,
): void {
  const cls = arrayClassOf(dtype);
  if (cls === undefined)
    throw new Error(`Tensor: unknown dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(', ')})`);
  if (!(storage instanceof cls)) {
    const got = ArrayBuffer.isView(storage)
      ? storage.constructor.name
      : storage === null
        ? 'null'
        : Array.isArray(storage)
          ? 'a plain array'
          : typeof storage;
    throw new Error(`Tensor: dtype ${dtype} needs a ${cls.name} as storage, got ${got}`);
  }
  if (!Array.isArray(shape))
    throw new Error(`Tensor: shape must be an array of sizes, got ${shape === null ? 'null' : typeof shape}`);
  const rank = shape.length;
  let n = 1;
  for (let i = 0; i < rank; i++) {
    const d = shape[i];
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new Error(
        `Tensor: invalid shape ${shapeText(shape)}: sizes must be non-negative integers (dim ${i} is ${typeof d === 'number' ? d : JSON.stringify(d)})`,
      );
    }
    n *= d;
  }
  if (strides !== undefined && (!Array.isArray(strides) || strides.length !== rank)) {
    throw new Error(
      `Tensor: strides ${Array.isArray(strides) ? shapeText(strides) : String(strides)} do not match shape ${shapeText(shape)} (expected ${rank} integers)`,
    );
  }
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new Error(`Tensor: offset must be a non-negative integer, got ${offset}`);
  let lo = offset,
    hi = offset;
  if (strides === undefined) hi = offset + n - 1;
  else {
    for (let i = 0; i < rank; i++) {
      const s = strides[i];
      if (!Number.isSafeInteger(s))
        throw new Error(`Tensor: invalid strides ${shapeText(strides)}: strides must be integers (dim ${i} is ${s})`);
      const reach = (shape[i] - 1) * s;
      if (reach > 0) hi += reach;
      else lo += reach;
    }
  }
  // An empty view reads nothing, so any offset is safe (as in PyTorch: column 1 of a [0, 4] tensor has offset 1).
  if (n === 0) return;
  if (lo < 0 || hi >= storage.length || !Number.isSafeInteger(hi)) {
    const layout = strides === undefined ? '' : ` with strides ${shapeText(strides)}`;
    throw new Error(
      `Tensor: a view of shape ${shapeText(shape)}${layout} at offset ${offset} addresses elements ${lo}..${hi}, ` +
        `outside its ${dtype} storage of ${storage.length} elements (expected indices 0..${storage.length - 1})`,
    );
  }
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
