/** Element types a tensor can hold. Floating tensors take part in autograd; integer ones hold labels and indices. */
export type DType = 'float32' | 'float64' | 'int32' | 'uint8' | 'bool';

/** Typed array backing a tensor of each dtype (bool is stored one byte per element, 0 or 1). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;
export type FloatArray = Float32Array | Float64Array;

let allocations = 0;
const birth = new WeakMap<TypedArray, number>();

/** The typed array class that stores each dtype. */
const ARRAY_OF: Record<DType, Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor> = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array,
};

/**
 * Most elements one tensor may hold: V8's largest typed array (2³² − 1 elements on 64-bit builds of Node 20;
 * `buffer.constants.MAX_LENGTH` bounds Buffers alike). Larger requests fail here with the shape named instead of
 * V8's bare "RangeError: Invalid typed array length".
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 32 - 1;

const DTYPES: readonly string[] = Object.keys(ARRAY_OF);

function shapeText(shape: readonly unknown[]): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : typeof d === 'string' ? JSON.stringify(d) : String(d))).join(', ')}]`;
}

function humanBytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** The typed-array class of `dtype`, or undefined for a name that is not a dtype (own keys only: not "constructor"). */
function arrayClassOf(dtype: string): (typeof ARRAY_OF)[DType] | undefined {
  return Object.hasOwn(ARRAY_OF, dtype) ? ARRAY_OF[dtype as DType] : undefined;
}

/** Throws a clear error when `n` elements of `dtype` cannot be allocated (not an integer, negative, or too many). */
function checkCount(dtype: DType, n: number, shape?: readonly number[]): void {
  const cls = arrayClassOf(dtype);
  if (cls === undefined) throw new Error(`allocate: unknown dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(', ')})`);
  if (Number.isInteger(n) && n >= 0 && n <= MAX_TENSOR_ELEMENTS) return;
  const what = shape ? `a ${dtype} tensor of shape ${shapeText(shape)}` : `${n} ${dtype} elements`;
  if (!Number.isInteger(n) || n < 0) throw new Error(`cannot allocate ${what}: the element count ${n} is not a non-negative integer`);
  throw new Error(`cannot allocate ${what}: ${n} elements (${humanBytes(n * cls.BYTES_PER_ELEMENT)}) exceed the ${MAX_TENSOR_ELEMENTS} a tensor can hold`);
}

/** Calls `make`, turning an out-of-memory RangeError into an error that names the request. */
function tryAllocate<T>(dtype: DType, n: number, shape: readonly number[] | undefined, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const what = shape ? `a ${dtype} tensor of shape ${shapeText(shape)}` : `${n} ${dtype} elements`;
    throw new Error(`cannot allocate ${what} (${humanBytes(n * ARRAY_OF[dtype].BYTES_PER_ELEMENT)}): ${err.message}`);
  }
}

/** Allocates zero-filled storage for `n` elements of `dtype` (`shape`, when given, is named in errors). */
export function allocate(dtype: DType, n: number, shape?: readonly number[]): TypedArray {
  checkCount(dtype, n, shape);
  return born(tryAllocate(dtype, n, shape, () => new ARRAY_OF[dtype](n)));
}

/**
 * Validates a tensor view before it is built: `storage` is the typed array of `dtype`, every size is a
 * non-negative safe integer, strides (one per dim) and `offset` are integers, and every element the view addresses
 * lies inside `storage`. O(rank). Throws naming the first problem; this is what keeps a JavaScript caller from
 * handing the native kernels a view that reaches outside its buffer.
 */
export function checkView(storage: TypedArray, shape: readonly number[], dtype: DType, strides?: readonly number[], offset = 0): void {
  const cls = arrayClassOf(dtype);
  if (cls === undefined) throw new Error(`Tensor: unknown dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(', ')})`);
  if (!(storage instanceof cls)) {
    const got = ArrayBuffer.isView(storage) ? storage.constructor.name : storage === null ? 'null' : Array.isArray(storage) ? 'a plain array' : typeof storage;
    throw new Error(`Tensor: dtype ${dtype} needs a ${cls.name} as storage, got ${got}`);
  }
  if (!Array.isArray(shape)) throw new Error(`Tensor: shape must be an array of sizes, got ${shape === null ? 'null' : typeof shape}`);
  const rank = shape.length;
  let n = 1;
  for (let i = 0; i < rank; i++) {
    const d = shape[i];
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new Error(`Tensor: invalid shape ${shapeText(shape)}: sizes must be non-negative integers (dim ${i} is ${typeof d === 'number' ? d : JSON.stringify(d)})`);
    }
    n *= d;
  }
  if (strides !== undefined && (!Array.isArray(strides) || strides.length !== rank)) {
    throw new Error(`Tensor: strides ${Array.isArray(strides) ? shapeText(strides) : String(strides)} do not match shape ${shapeText(shape)} (expected ${rank} integers)`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`Tensor: offset must be a non-negative integer, got ${offset}`);
  let lo = offset, hi = offset;
  if (strides === undefined) hi = offset + n - 1;
  else {
    for (let i = 0; i < rank; i++) {
      const s = strides[i];
      if (!Number.isSafeInteger(s)) throw new Error(`Tensor: invalid strides ${shapeText(strides)}: strides must be integers (dim ${i} is ${s})`);
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

function born(a: TypedArray): TypedArray {
  birth.set(a, ++allocations);
  return a;
}

/** Node's Buffer when present: `allocUnsafeSlow` hands out un-zeroed memory of exactly the requested size. */
const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;
/** Below this many bytes zeroing is cheaper than leaving V8's fast path for typed arrays. */
const UNFILLED_MIN_BYTES = 16384;
/**
 * TATAMI_POISON=1 fills unfilled storage with NaN (0x7fc00000 per float, -1 bytes elsewhere), so a kernel that
 * reads an output it was meant to overwrite shows up in the tests instead of reading yesterday's numbers.
 */
const poison = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TATAMI_POISON === '1';

/**
 * Storage for `n` elements whose contents are unspecified: for outputs that a kernel overwrites completely (the
 * backend contract for `out` buffers). Skipping the zero fill saves a pass over every activation and gradient —
 * 5 ms of a 40 ms small-CNN training step. A buffer of the same size handed back by `recycleStorage` is reused
 * first. Falls back to zeroed storage where Node's Buffer is absent.
 */
export function allocateUnfilled(dtype: DType, n: number, shape?: readonly number[]): TypedArray {
  checkCount(dtype, n, shape);
  const bytes = n * ARRAY_OF[dtype].BYTES_PER_ELEMENT;
  if (!nodeBuffer || bytes < UNFILLED_MIN_BYTES) return allocate(dtype, n, shape);
  const spare = recycled.get(bytes)?.pop();
  if (spare) {
    recycledBytes -= bytes;
    reuses++;
  }
  const a = new ARRAY_OF[dtype](spare ?? tryAllocate(dtype, n, shape, () => nodeBuffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer), 0, n);
  if (poison) {
    if (isFloating(dtype)) a.fill(NaN);
    else a.fill(-1);
  }
  recyclable.add(a);
  return born(a);
}

/** Unfilled storage not yet handed back: only these may be recycled, and each only once. */
const recyclable = new WeakSet<TypedArray>();
/** Buffers handed back, by byte length, for the next allocation of that size (sizes in order of first use). */
const recycled = new Map<number, ArrayBuffer[]>();
let recycledBytes = 0;
/** At most this much memory waits for reuse; beyond it the sizes handed back longest ago are dropped first. */
const RECYCLED_MAX_BYTES = 32 << 20;
/** Buffers kept per size: a training step rarely has more than a few dead tensors of one shape at a time. */
const RECYCLED_PER_SIZE = 4;

let reuses = 0;

/** How many allocations so far were served with handed-back storage (for tests and memory diagnostics). */
export function storageReuses(): number {
  return reuses;
}

/**
 * Hands back storage from `allocateUnfilled` that nothing will read or write again, so the next allocation of
 * the same size reuses it while it is still in cache, instead of waiting for the garbage collector (the backward
 * pass knows when an intermediate gradient is dead; JavaScript cannot tell otherwise). Other arrays, and a second
 * hand-back of the same one, are ignored. The caller guarantees no view of `storage` is still in use.
 */
export function recycleStorage(storage: TypedArray): void {
  if (!recyclable.has(storage)) return;
  recyclable.delete(storage);
  const bytes = storage.buffer.byteLength;
  if (bytes > RECYCLED_MAX_BYTES) return;
  let list = recycled.get(bytes);
  if (list && list.length >= RECYCLED_PER_SIZE) return;
  for (const [size, older] of recycled) {
    if (recycledBytes + bytes <= RECYCLED_MAX_BYTES) break;
    if (size === bytes) continue;
    recycledBytes -= size * older.length;
    recycled.delete(size);
  }
  if (recycledBytes + bytes > RECYCLED_MAX_BYTES) return;
  if (!list) recycled.set(bytes, (list = []));
  list.push(storage.buffer as ArrayBuffer);
  recycledBytes += bytes;
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
