import { checkView, isFloating, type DType, type TypedArray } from './dtype.js';
import { allocate, allocateUnfilled } from './storage.js';
import { contiguousStrides, formatShape, numel, normalizeDim } from './shape.js';
import { formatTensor } from './format.js';

/** A hook run on the gradient of a tensor during backward; it may return a replacement gradient. */
export type GradHook = (grad: Tensor) => Tensor | void;

/** Nested JavaScript arrays as returned by `toArray()`. */
export type NestedArray = number | NestedArray[];
/** Nested arrays of booleans, accepted by `tensor()` (inferred as a bool tensor). */
export type NestedBoolArray = boolean | NestedBoolArray[];

/** Options for `backward()`. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again (default: createGraph). */
  retainGraph?: boolean;
  /**
   * Record the backward pass itself, so the `.grad` it produces is part of a graph and can be differentiated again
   * (PyTorch's create_graph; double backward). Default false.
   */
  createGraph?: boolean;
}

type BackwardImpl = (root: Tensor, gradient: Tensor | null, opts: BackwardOptions) => void;
let backwardImpl: BackwardImpl | null = null;

/** Called once by the autograd engine module; keeps tensor.ts free of an import cycle. */
export function installBackward(fn: BackwardImpl): void {
  backwardImpl = fn;
}

/**
 * The recorded op a tensor points to (its `gradFn`), implemented by autograd's `Node`. Declared here so that the
 * tensor layer does not import autograd (PyTorch's TensorImpl likewise knows autograd only through an interface).
 */
export interface GradNode {
  /** The op's name (`gradFn=<nameBackward>` when printed). */
  readonly name: string;
  /** Inputs in the op's argument order; null where the input does not require a gradient. */
  inputs: (Tensor | null)[];
  /** Gradients of the inputs from the gradient of the output. */
  apply(gradOutput: Tensor): (Tensor | null)[];
  /** Whether a backward pass already freed this node. */
  readonly released: boolean;
  /** Drops the inputs and saved tensors after a backward pass. */
  release(): void;
}

/** Modification counters per buffer (see `Tensor.version`). */
const versions = new WeakMap<ArrayBufferLike, number>();
/** How many times any tensor's version was set (see `versionEpoch`). */
let versionChanges = 0;

/**
 * A counter bumped whenever any tensor's `version` changes: while it stays the same, no tensor anywhere was changed
 * in place through tensor ops, an optimizer or loadStateDict, so a cache of values derived from many tensors can
 * skip looking up each one's version (models/fusion-nhwc.ts: 260 lookups a MobileNetV2 forward).
 */
export function versionEpoch(): number {
  return versionChanges;
}

/**
 * An n-dimensional array in row-major (NCHW for images) order, with define-by-run autograd.
 *
 * A tensor is a view over a typed-array `storage`: `shape`, `strides` and `offset` say which elements it covers,
 * so reshape, permute, slice and expand are free. Memory is ordinary JavaScript memory and is reclaimed by the
 * garbage collector when the tensor and its graph become unreachable — there is nothing to dispose.
 */
export class Tensor {
  /** Underlying buffer, shared between views. Use `offset`/`strides` to address it, or `contiguous()`. */
  readonly storage: TypedArray;
  /** Sizes of each dimension (do not mutate). */
  readonly shape: number[];
  /** Step in `storage` elements between neighbours along each dimension. */
  readonly strides: number[];
  /** Index in `storage` of the first element. */
  readonly offset: number;
  readonly dtype: DType;
  /** Accumulated gradient of a leaf after `backward()`, or of a non-leaf that called `retainGrad()`. */
  grad: Tensor | null = null;
  /** The recorded op that produced this tensor; null for leaves. */
  gradFn: GradNode | null = null;
  private requiresGradFlag = false;
  private retainsGrad = false;
  private hooks: GradHook[] | null = null;
  /**
   * Incremented by every in-place change. Shared by every tensor over the same buffer, as PyTorch shares its version
   * counter between views: writing through a view (`w.narrow(0, 0, 1).zero_()`) changes the version of `w` too, so
   * whatever caches a function of a tensor's values (the ONNX tracer's checks, the inference transforms of
   * conv weights in ops/conv-pack.ts) sees it.
   */
  get version(): number {
    return versions.get(this.storage.buffer) ?? 0;
  }

  set version(v: number) {
    versions.set(this.storage.buffer, v);
    versionChanges++;
  }

  /**
   * Wraps `storage` as a tensor of `shape` (row-major strides unless given). The view is validated once here —
   * dtype against the typed array, non-negative integer sizes, integer strides and offset, and every addressed
   * element inside `storage` — so no kernel can later be handed a view that reaches past its buffer.
   */
  constructor(storage: TypedArray, shape: readonly number[], dtype: DType, strides?: readonly number[], offset = 0) {
    checkView(storage, shape, dtype, strides, offset);
    this.storage = storage;
    this.shape = shape.slice();
    this.strides = strides ? strides.slice() : contiguousStrides(shape);
    this.offset = offset;
    this.dtype = dtype;
  }

  /** Fresh zero-filled contiguous tensor. */
  static empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    return new Tensor(allocate(dtype, numel(shape), shape), shape, dtype);
  }

  /**
   * Fresh contiguous tensor with unspecified contents (PyTorch's `torch.empty`), for an op's output that its kernel
   * overwrites completely.
   */
  static unfilled(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    return new Tensor(allocateUnfilled(dtype, numel(shape), shape), shape, dtype);
  }

  /** Whether gradients flow into this tensor. Only floating tensors may require gradients. */
  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }

  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }

  /** Sets `requiresGrad` in place and returns this tensor (PyTorch's `requires_grad_`). */
  requiresGrad_(value = true): this {
    if (value && !isFloating(this.dtype)) {
      throw new Error(`requiresGrad: only floating-point tensors can require gradients, this one is ${this.dtype}`);
    }
    if (!value && this.gradFn !== null) {
      throw new Error('requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach() instead');
    }
    this.requiresGradFlag = value;
    return this;
  }

  /** Internal: marks an op result as part of the graph. */
  setGradFn(node: GradNode): void {
    this.gradFn = node;
    this.requiresGradFlag = true;
  }

  /** True for tensors created by the user rather than by a recorded op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  dim(): number {
    return this.shape.length;
  }

  /** Total number of elements. */
  numel(): number {
    return numel(this.shape);
  }

  /** The shape, or the size of one dimension (negative dims count from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape.slice();
    return this.shape[normalizeDim('size', dim, this.shape.length)];
  }

  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }

  /**
   * The elements in row-major order as a typed array. For a contiguous tensor this is a view of `storage`
   * (no copy: writes show through); otherwise a fresh copy. Kernels use it to read inputs.
   */
  dataView(): TypedArray {
    const n = this.numel();
    if (this.isContiguous()) {
      // the whole storage: itself (a subarray is a new object, and inference asks for hundreds a forward)
      if (this.offset === 0 && this.storage.length === n) return this.storage;
      return this.storage.subarray(this.offset, this.offset + n);
    }
    return this.gatherStrided();
  }

  /** A copy of the elements in row-major order. */
  toTypedArray(): TypedArray {
    return this.dataView().slice();
  }

  private gatherStrided(): TypedArray {
    const n = this.numel();
    const out = allocate(this.dtype, n);
    const rank = this.shape.length;
    const { shape, strides, storage } = this;
    if (n === 0) return out;
    if (rank === 0) {
      out[0] = storage[this.offset];
      return out;
    }
    // Walk the index space with an odometer over all but the last dim; the last dim is a strided inner loop.
    const last = rank - 1;
    const innerSize = shape[last];
    const innerStride = strides[last];
    const idx = new Array<number>(rank).fill(0);
    let base = this.offset;
    let o = 0;
    for (;;) {
      for (let j = 0, p = base; j < innerSize; j++, p += innerStride) out[o++] = storage[p];
      let d = last - 1;
      for (; d >= 0; d--) {
        idx[d]++;
        base += strides[d];
        if (idx[d] < shape[d]) break;
        base -= strides[d] * shape[d];
        idx[d] = 0;
      }
      if (d < 0) break;
    }
    return out;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(
        `item: only one-element tensors can be converted to a number, got shape ${formatShape(this.shape)}`,
      );
    }
    return this.storage[this.offset];
  }

  /** Nested arrays of numbers (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const data = this.dataView();
    if (this.shape.length === 0) return data[0];
    let pos = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = new Array(this.shape[d]);
      if (d === this.shape.length - 1) {
        for (let i = 0; i < this.shape[d]; i++) out[i] = data[pos++];
      } else {
        for (let i = 0; i < this.shape[d]; i++) out[i] = build(d + 1);
      }
      return out;
    };
    return build(0);
  }

  /** A flat array of numbers in row-major order. */
  tolist(): number[] {
    return Array.from(this.dataView());
  }

  /** A tensor sharing storage with this one but cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype, this.strides, this.offset);
  }

  /** Keeps `.grad` for this non-leaf tensor after backward (leaves always keep theirs). */
  retainGrad(): this {
    if (!this.requiresGradFlag)
      throw new Error("retainGrad: can't retain the gradient of a tensor that does not require grad");
    this.retainsGrad = true;
    return this;
  }

  get retainsGradient(): boolean {
    return this.retainsGrad;
  }

  /**
   * Registers a hook called with this tensor's gradient during backward; returning a tensor replaces the gradient.
   * Returns a function that removes the hook.
   */
  registerHook(hook: GradHook): () => void {
    if (!this.requiresGradFlag)
      throw new Error("registerHook: can't register a hook on a tensor that does not require grad");
    (this.hooks ??= []).push(hook);
    return () => {
      const i = this.hooks?.indexOf(hook) ?? -1;
      if (i >= 0) this.hooks!.splice(i, 1);
    };
  }

  /** Internal: whether any gradient hooks are registered. */
  hasHooks(): boolean {
    return this.hooks !== null && this.hooks.length > 0;
  }

  /** Internal: applies registered hooks to an incoming gradient. */
  runHooks(grad: Tensor): Tensor {
    if (this.hooks === null) return grad;
    for (const hook of this.hooks) {
      const replaced = hook(grad);
      if (replaced instanceof Tensor) grad = replaced;
    }
    return grad;
  }

  /**
   * Computes gradients of this tensor with respect to every leaf that requires them, accumulating into `.grad`.
   * A scalar needs no `gradient`; otherwise pass the gradient of some scalar with respect to this tensor.
   */
  backward(gradient: Tensor | null = null, opts: BackwardOptions = {}): void {
    if (backwardImpl === null) throw new Error('backward: autograd engine not loaded (import from "tatami")');
    backwardImpl(this, gradient, opts);
  }

  /** PyTorch-style printing: values, then shape (and dtype/grad info when not default). */
  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
