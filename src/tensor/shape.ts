/** Shape arithmetic shared by tensors and ops: sizes, strides, broadcasting and dim normalisation. */
import { MAX_TENSOR_ELEMENTS } from './dtype.js';

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides for `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Broadcast two shapes with NumPy/PyTorch rules; throws naming `op` when they are incompatible. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast (dim ${i - n}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalises a possibly negative dim against `rank`; throws naming `op` if out of range. */
export function normalizeDim(op: string, dim: number, rank: number): number {
  if (!Number.isInteger(dim) || dim < -Math.max(rank, 1) || dim >= Math.max(rank, 1)) {
    throw new Error(
      `${op}: dim ${dim} is out of range for a tensor of rank ${rank} (expected ${-Math.max(rank, 1)}..${Math.max(rank, 1) - 1})`,
    );
  }
  return dim < 0 ? dim + Math.max(rank, 1) : dim;
}

/** Normalises a list of dims (or all dims when undefined), sorted and de-duplicated-checked. */
export function normalizeDims(op: string, dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normalizeDim(op, d, rank));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) throw new Error(`${op}: dim ${d} appears more than once in ${formatShape(list as number[])}`);
    seen.add(d);
  }
  return out.sort((x, y) => x - y);
}

/** Validates a user-given shape (non-negative integers) and resolves a single -1 against `total` when given. */
export function checkShape(op: string, shape: readonly number[], total?: number): number[] {
  if (!Array.isArray(shape))
    throw new Error(`${op}: shape must be an array of sizes, got ${shape === null ? 'null' : typeof shape}`);
  let infer = -1;
  let known = 1;
  const out = shape.slice();
  for (let i = 0; i < out.length; i++) {
    const d = out[i];
    if (d === -1 && total !== undefined) {
      if (infer >= 0) throw new Error(`${op}: only one dimension can be -1, got ${formatShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid shape ${formatShape(shape)}: sizes must be non-negative integers`);
    } else known *= d;
  }
  if (known > MAX_TENSOR_ELEMENTS) {
    throw new Error(
      `${op}: shape ${formatShape(shape)} has ${known} elements, more than the ${MAX_TENSOR_ELEMENTS} a tensor can hold`,
    );
  }
  if (infer >= 0) {
    if (known === 0 || total! % known !== 0) {
      throw new Error(`${op}: shape ${formatShape(shape)} is invalid for input of size ${total}`);
    }
    out[infer] = total! / known;
  } else if (total !== undefined && known !== total) {
    throw new Error(`${op}: shape ${formatShape(shape)} is invalid for input of size ${total}`);
  }
  return out;
}

/** Accepts PyTorch's two spellings: f(2, 3) and f([2, 3]). */
export function shapeArgs(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return (args[0] as number[]).slice();
  return args as number[];
}
