/**
 * In-place updates for optimizers, initialisers and running statistics. Like PyTorch they refuse to modify a
 * leaf that requires grad while the graph is being recorded (wrap updates in noGrad), and bump `version`.
 */
import { isGradEnabled } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { binaryKernel } from './elementwise.js';
import { relu } from './activation.js';
import { isFloating, type FloatArray } from '../tensor/dtype.js';
import { copyInto } from './shape.js';
import { asTensor, broadcastStrides, storageFrom, type TensorLike } from './util.js';
import { backend } from '../backend/index.js';
import { broadcastShapes, contiguousStrides, shapesEqual } from '../tensor/shape.js';

function checkWritable(op: string, t: Tensor): void {
  if (isGradEnabled() && t.requiresGrad && t.isLeaf) {
    throw new Error(
      `${op}: a leaf tensor that requires grad is being used in an in-place operation; wrap the update in noGrad()`,
    );
  }
  if (isGradEnabled() && t.gradFn) {
    throw new Error(
      `${op}: in-place update of a tensor that is part of the autograd graph is not supported; use the out-of-place op`,
    );
  }
}

function inplaceBinary(op: 'add' | 'sub' | 'mul' | 'div', name: string, t: Tensor, other: TensorLike): Tensor {
  checkWritable(name, t);
  const o = asTensor(other, t);
  const shape = broadcastShapes(name, t.shape, o.shape);
  if (t.isContiguous() && o.storage !== t.storage && shapesEqual(shape, t.shape)) {
    // Truly in place: the kernel reads t[i] and writes t[i], so no temporary the size of t (a dataset scaled by
    // div_(255) would otherwise briefly need twice its memory).
    const data = t.storage.subarray(t.offset, t.offset + t.numel());
    backend().binary(op, data, contiguousStrides(t.shape), storageFrom(o), broadcastStrides(o, t.shape), data, t.shape);
    t.version++;
    return t;
  }
  const result = binaryKernel(op, t, o, t.dtype);
  if (result.shape.length !== t.shape.length || result.shape.some((s, i) => s !== t.shape[i])) {
    throw new Error(
      `${name}: the result shape [${result.shape.join(', ')}] does not match the tensor's shape [${t.shape.join(', ')}]`,
    );
  }
  copyInto(t, result);
  t.version++;
  return t;
}

/** t += alpha·other, in place. */
export function add_(t: Tensor, other: TensorLike, opts?: { alpha?: number } | number): Tensor {
  const alpha = alphaOf('add_', opts);
  return inplaceBinary('add', 'add_', t, alpha === 1 ? other : scaled(other, alpha, t));
}

export function sub_(t: Tensor, other: TensorLike, opts?: { alpha?: number } | number): Tensor {
  const alpha = alphaOf('sub_', opts);
  return inplaceBinary('sub', 'sub_', t, alpha === 1 ? other : scaled(other, alpha, t));
}

/**
 * `alpha` as PyTorch spells it (keyword-only: `t.add_(o, { alpha: 2 })`, like the out-of-place `t.add(o, { alpha })`);
 * a bare number is still accepted for code written before the two agreed.
 */
function alphaOf(op: string, opts: { alpha?: number } | number | undefined): number {
  const alpha = typeof opts === 'number' ? opts : (opts?.alpha ?? 1);
  if (typeof alpha !== 'number' || Number.isNaN(alpha))
    throw new Error(`${op}: alpha must be a number, got ${String(alpha)}`);
  return alpha;
}

export function mul_(t: Tensor, other: TensorLike): Tensor {
  return inplaceBinary('mul', 'mul_', t, other);
}

export function div_(t: Tensor, other: TensorLike): Tensor {
  return inplaceBinary('div', 'div_', t, other);
}

function scaled(other: TensorLike, alpha: number, like: Tensor): TensorLike {
  return typeof other === 'number' ? other * alpha : binaryKernel('mul', other, asTensor(alpha, like), like.dtype);
}

/** Overwrites every element with `value`. */
export function fill_(t: Tensor, value: number): Tensor {
  checkWritable('fill_', t);
  if (t.isContiguous()) t.storage.fill(value, t.offset, t.offset + t.numel());
  else copyInto(t, asTensor(value, t));
  t.version++;
  return t;
}

export function zero_(t: Tensor): Tensor {
  return fill_(t, 0);
}

/** Copies `src` (broadcast to t's shape, converted to t's dtype) into t. */
export function copy_(t: Tensor, src: Tensor): Tensor {
  checkWritable('copy_', t);
  copyInto(t, src);
  t.version++;
  return t;
}

/** max(t, 0) in place (NaN stays NaN), PyTorch's relu_. */
export function relu_(t: Tensor): Tensor {
  checkWritable('relu_', t);
  if (!isFloating(t.dtype)) throw new Error(`relu_: expected a floating-point tensor, got ${t.dtype}`);
  if (t.isContiguous()) {
    const data = t.storage.subarray(t.offset, t.offset + t.numel()) as FloatArray;
    backend().unary('relu', data, data, {});
  } else {
    copyInto(t, relu(t));
  }
  t.version++;
  return t;
}
