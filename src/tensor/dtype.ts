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

/** Allocates zero-filled storage for `n` elements of `dtype`. */
export function allocate(dtype: DType, n: number): TypedArray {
  return born(new ARRAY_OF[dtype](n));
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
export function allocateUnfilled(dtype: DType, n: number): TypedArray {
  const bytes = n * ARRAY_OF[dtype].BYTES_PER_ELEMENT;
  if (!nodeBuffer || bytes < UNFILLED_MIN_BYTES) return allocate(dtype, n);
  const spare = recycled.get(bytes)?.pop();
  if (spare) {
    recycledBytes -= bytes;
    reuses++;
  }
  const a = new ARRAY_OF[dtype](spare ?? (nodeBuffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer), 0, n);
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
