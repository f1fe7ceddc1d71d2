/**
 * Where tensor storage comes from: zero-filled and unfilled typed arrays, checked and with clear errors, and a
 * small pool of buffers handed back for reuse (`recycleStorage`). JavaScript frees memory only when the garbage
 * collector runs; code that knows a buffer is dead (the backward pass, fused ops) hands it back so the next
 * allocation of the same size takes it while it is still in cache — PyTorch's caching allocator does the same
 * for every freed tensor. While a backward pass runs, every array allocated here gets an allocation stamp, so the
 * autograd engine can tell storage created during the pass (`openAllocationStamps` / `allocatedSince`) from storage
 * that existed before.
 */
import {
  ARRAY_OF,
  DTYPES,
  MAX_TENSOR_ELEMENTS,
  arrayClassOf,
  isFloating,
  shapeText,
  type DType,
  type TypedArray,
} from './dtype.js';

let allocations = 0;
const birth = new WeakMap<TypedArray, number>();
/** Open stamping scopes (backward passes, nested ones included): outside them arrays are not stamped. */
let stamping = 0;

function humanBytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** Throws a clear error when `n` elements of `dtype` cannot be allocated (not an integer, negative, or too many). */
function checkCount(dtype: DType, n: number, shape?: readonly number[]): void {
  const cls = arrayClassOf(dtype);
  if (cls === undefined)
    throw new Error(`allocate: unknown dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(', ')})`);
  if (Number.isInteger(n) && n >= 0 && n <= MAX_TENSOR_ELEMENTS) return;
  const what = shape ? `a ${dtype} tensor of shape ${shapeText(shape)}` : `${n} ${dtype} elements`;
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`cannot allocate ${what}: the element count ${n} is not a non-negative integer`);
  throw new Error(
    `cannot allocate ${what}: ${n} elements (${humanBytes(n * cls.BYTES_PER_ELEMENT)}) exceed the ${MAX_TENSOR_ELEMENTS} a tensor can hold`,
  );
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

/**
 * `a`, stamped when a backward pass is open. Only a pass asks whether storage is younger than its start, and
 * unstamped storage reads as older than any mark; a WeakMap entry per allocation cost ~1 µs and garbage-collector
 * work on every activation of an inference forward.
 */
function born(a: TypedArray): TypedArray {
  if (stamping > 0) birth.set(a, ++allocations);
  return a;
}

/**
 * Buffers of at least this many bytes are fresh memory mappings on every allocation (the native addon keeps smaller
 * ones in the C heap, whose pages are reused): they are offered to `largeBufferAdvice`.
 */
export const LARGE_BUFFER_BYTES = 32 << 20;
let largeBufferAdvice: ((buffer: ArrayBuffer) => void) | null = null;

/**
 * Installs what is done to every fresh buffer of ≥ LARGE_BUFFER_BYTES before anything touches it — the native
 * backend asks Linux for transparent huge pages there, so a 50 MB activation faults in ~25 pieces instead of
 * 12,250 (a layer above the tensors provides it, so the tensor layer stays free of backends). null removes it.
 */
export function setLargeBufferAdvice(advise: ((buffer: ArrayBuffer) => void) | null): void {
  largeBufferAdvice = advise;
}

/** `a`, after its fresh buffer was offered to the large-buffer advice when it is large. */
function advised<T extends TypedArray>(a: T): T {
  if (largeBufferAdvice && a.byteLength >= LARGE_BUFFER_BYTES) largeBufferAdvice(a.buffer as ArrayBuffer);
  return a;
}

/**
 * Cache-line alignment of unfilled storage: a layer above the tensors (the native backend) installs what tells
 * the bytes from a buffer's start to its first 64-byte boundary; each buffer is then allocated that many bytes
 * longer and its view starts there. Node's buffers start 32 bytes past a boundary, so every 64-byte vector access
 * of an AVX-512 kernel to them straddled two cache lines (a channels-last depthwise layer: 33 → 26 µs aligned).
 */
const ALIGN_BYTES = 64;
let alignmentSkip: ((buffer: ArrayBuffer) => number) | null = null;

/** Installs (or with null removes) what aligns unfilled storage: see ALIGN_BYTES. */
export function setStorageAlignment(skip: ((buffer: ArrayBuffer) => number) | null): void {
  alignmentSkip = skip;
}

/** Allocates zero-filled storage for `n` elements of `dtype` (`shape`, when given, is named in errors). */
export function allocate(dtype: DType, n: number, shape?: readonly number[]): TypedArray {
  checkCount(dtype, n, shape);
  return born(advised(tryAllocate(dtype, n, shape, () => new ARRAY_OF[dtype](n))));
}

/**
 * Buffers handed back for reuse, by byte length: at most `perSize` per length and `maxBytes` in all; when full,
 * the lengths handed back longest ago are dropped first (a training step cycles through the same few shapes, so
 * recent lengths are the ones about to be asked for), and a length nobody took or handed back in the last
 * `staleAfter` pool operations is dropped even below the bound (a last partial batch, an evaluation pass: sizes
 * never asked for again, which once filled a 128 MB pool and raised W5's peak RSS by ~150 MiB). A policy object
 * so its bounds can be tested on their own.
 */
export class StoragePool {
  /** Buffers by byte length, lengths in order of first hand-back. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** The operation count at which each length in `free` was last taken or handed back. */
  private readonly lastUse = new Map<number, number>();
  private held = 0;
  private clock = 0;
  private gives = 0;

  /**
   * @param maxBytes most memory waiting for reuse
   * @param perSize most buffers kept per length (a step rarely has more dead tensors of one shape at a time)
   * @param staleAfter operations (takes and hand-backs) after which an untouched length is dropped
   */
  constructor(
    readonly maxBytes = 32 << 20,
    readonly perSize = 4,
    readonly staleAfter = 4096,
  ) {}

  /** Bytes currently waiting for reuse. */
  get bytes(): number {
    return this.held;
  }

  /** A buffer of exactly `bytes` bytes handed back earlier, or undefined. */
  take(bytes: number): ArrayBuffer | undefined {
    this.clock++;
    const list = this.free.get(bytes);
    if (!list) return undefined;
    this.lastUse.set(bytes, this.clock);
    const buffer = list.pop();
    if (buffer) this.held -= bytes;
    return buffer;
  }

  /** Keeps `buffer` for a later `take` of its length, unless the bounds say no (then the GC frees it). */
  give(buffer: ArrayBuffer): void {
    const bytes = buffer.byteLength;
    this.clock++;
    if ((++this.gives & 63) === 0) this.dropStale();
    if (bytes > this.maxBytes) return;
    let list = this.free.get(bytes);
    if (list && list.length >= this.perSize) return;
    for (const [size, older] of this.free) {
      if (this.held + bytes <= this.maxBytes) break;
      if (size === bytes) continue;
      this.drop(size, older);
    }
    if (this.held + bytes > this.maxBytes) return;
    if (!list) this.free.set(bytes, (list = []));
    list.push(buffer);
    this.held += bytes;
    this.lastUse.set(bytes, this.clock);
  }

  private drop(size: number, list: ArrayBuffer[]): void {
    this.held -= size * list.length;
    this.free.delete(size);
    this.lastUse.delete(size);
  }

  /** Drops the lengths untouched for `staleAfter` operations (checked every 64 hand-backs). */
  private dropStale(): void {
    for (const [size, list] of this.free)
      if (this.clock - (this.lastUse.get(size) ?? 0) > this.staleAfter) this.drop(size, list);
  }
}

/** Node's Buffer when present: `allocUnsafeSlow` hands out un-zeroed memory of exactly the requested size. */
const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;

/**
 * Memory the pool may hold for reuse: 256 MB in Node, 64 MB in a browser tab. A bound of 32 MB turned every
 * activation larger than it away (MobileNetV2 at batch 8 has 38.5 MB maps at 112², ResNet-50's first stage 25.7 MB):
 * each call then took fresh memory from the system, page-faulted and zeroed by the kernel on first touch, and grew
 * V8's external memory towards its next full collection. One thread, CPU ms per batch-8 MobileNetV2 inference:
 * 168.7 → 73.4 with 256 MB (ONNX Runtime, whose arena keeps its memory, 40.4).
 */
const POOL_BYTES = nodeBuffer ? 256 << 20 : 64 << 20;
const pool = new StoragePool(POOL_BYTES);
/**
 * Memory for unfilled storage: un-zeroed from Node's Buffer; in a browser a plain (zeroed) ArrayBuffer — still
 * worth pooling there, since a large fresh ArrayBuffer is fresh pages: Chromium took about 3× Node's page faults
 * per small-CNN training step before its storage was recycled too (docs/browser.md).
 */
const unfilledBuffer: (bytes: number) => ArrayBuffer = nodeBuffer
  ? (bytes) => nodeBuffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer
  : (bytes) => new ArrayBuffer(bytes);
/** Below this many bytes zeroing is cheaper than leaving V8's fast path for typed arrays. */
const UNFILLED_MIN_BYTES = 16384;
/**
 * TATAMI_POISON=1 fills unfilled storage with NaN (0x7fc00000 per float, -1 bytes elsewhere), so a kernel that
 * reads an output it was meant to overwrite shows up in the tests instead of reading yesterday's numbers.
 */
const poison =
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TATAMI_POISON === '1';

/** Unfilled storage not yet handed back: only these may be recycled, and each only once. */
const recyclable = new WeakSet<TypedArray>();

let reuses = 0;
let fresh = 0;

/**
 * Storage for `n` elements whose contents are unspecified: for outputs that a kernel overwrites completely (the
 * backend contract for `out` buffers). Skipping the zero fill saves a pass over every activation and gradient —
 * 5 ms of a 40 ms small-CNN training step. A buffer of the same size handed back by `recycleStorage` is reused
 * first (in a browser, where Node's Buffer is absent, fresh storage is zeroed but handed-back storage is reused all the same).
 */
export function allocateUnfilled(dtype: DType, n: number, shape?: readonly number[]): TypedArray {
  checkCount(dtype, n, shape);
  const cls = ARRAY_OF[dtype];
  const bytes = n * cls.BYTES_PER_ELEMENT;
  if (bytes === 0) return allocate(dtype, n, shape);
  // small buffers come fresh from V8's zeroing fast path, and are pooled as the large ones: a fresh 4 KB array
  // after a forward's native work cost ~15 µs (the pooled map at the end of a MobileNet)
  const small = bytes < UNFILLED_MIN_BYTES;
  const skip = small ? null : alignmentSkip;
  // the pool keys buffers by their whole length, the alignment slack included
  const total = skip ? bytes + ALIGN_BYTES : bytes;
  const spare = pool.take(total);
  let a: TypedArray;
  if (spare) reuses++;
  else fresh++;
  if (small && !spare) a = tryAllocate(dtype, n, shape, () => new cls(n));
  else {
    const buffer = spare ?? tryAllocate(dtype, n, shape, () => unfilledBuffer(total));
    let offset = skip ? skip(buffer) : 0;
    if (offset % cls.BYTES_PER_ELEMENT !== 0 || offset > total - bytes) offset = 0;
    a = new cls(buffer, offset, n);
    if (!spare) advised(a);
  }
  if (poison) {
    if (isFloating(dtype)) a.fill(NaN);
    else a.fill(-1);
  }
  recyclable.add(a);
  return born(a);
}

/** How many allocations so far were served with handed-back storage (for tests and memory diagnostics). */
export function storageReuses(): number {
  return reuses;
}

/**
 * How many unfilled allocations so far took fresh memory, the pool having no buffer of their size (for tests and
 * memory diagnostics: a forward that recycles every map it is done with takes none once warm but its output).
 */
export function storageFreshAllocations(): number {
  return fresh;
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
  pool.give(storage.buffer as ArrayBuffer);
}

/**
 * Opens a stamping scope and returns a mark in the sequence of allocations: storage allocated later, while the scope
 * is open, satisfies `allocatedSince(storage, mark)`. Each call is paired with one `closeAllocationStamps`.
 */
export function openAllocationStamps(): number {
  stamping++;
  return allocations;
}

/** Closes a scope `openAllocationStamps` opened. */
export function closeAllocationStamps(): void {
  if (stamping > 0) stamping--;
}

/**
 * Whether `storage` came from `allocate` after `mark`, with the mark's scope open (arrays from elsewhere never
 * qualify). The autograd engine uses it to hand a gradient computed during backward to `.grad` without a defensive
 * copy.
 */
export function allocatedSince(storage: TypedArray, mark: number): boolean {
  return (birth.get(storage) ?? 0) > mark;
}
