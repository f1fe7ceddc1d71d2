/**
 * Activation functions. Each is one backend `unary` kernel forward and one `unaryGrad` kernel backward (see
 * src/backend/reference/elementwise.ts for the exact formulas, which follow PyTorch's, kinks included: the
 * derivative at a kink is the one PyTorch uses, e.g. relu'(0) = 0, leakyRelu'(0) = slope, hardtanh' = 0 at the bounds).
 */
import { Tensor } from '../tensor/tensor.js';
import { activation } from './elementwise.js';

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return activation('relu', 'relu', x, {}, true);
}

/** min(max(x, 0), 6). */
export function relu6(x: Tensor): Tensor {
  return activation('relu6', 'relu6', x);
}

/** Options of `leakyRelu`. */
export interface LeakyReluOptions {
  /** Slope for x < 0 (default 0.01). */
  negativeSlope?: number;
}

/** x for x > 0, negativeSlope·x otherwise. */
export function leakyRelu(x: Tensor, opts: LeakyReluOptions = {}): Tensor {
  return activation('leakyRelu', 'leakyRelu', x, { a: opts.negativeSlope ?? 0.01 });
}

/** Options of `elu`. */
export interface EluOptions {
  /** Scale of the negative branch (default 1). */
  alpha?: number;
}

/** x for x > 0, alpha·(exp(x) − 1) otherwise. */
export function elu(x: Tensor, opts: EluOptions = {}): Tensor {
  return activation('elu', 'elu', x, { a: opts.alpha ?? 1 });
}

/** Options of `gelu`. */
export interface GeluOptions {
  /** 'none' (default): exact x·Φ(x) with the error function; 'tanh': the tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/** Gaussian error linear unit x·Φ(x). */
export function gelu(x: Tensor, opts: GeluOptions = {}): Tensor {
  const approximate = opts.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
  }
  return approximate === 'tanh' ? activation('gelu', 'geluTanh', x) : activation('gelu', 'gelu', x);
}

/** x·sigmoid(x) (a.k.a. swish). */
export function silu(x: Tensor): Tensor {
  return activation('silu', 'silu', x);
}

/** x·relu6(x + 3)/6 (MobileNetV3). */
export function hardswish(x: Tensor): Tensor {
  return activation('hardswish', 'hardswish', x);
}

/** relu6(x + 3)/6. */
export function hardsigmoid(x: Tensor): Tensor {
  return activation('hardsigmoid', 'hardsigmoid', x);
}

/** Options of `hardtanh`. */
export interface HardtanhOptions {
  minVal?: number;
  maxVal?: number;
}

/** Clamp to [minVal, maxVal] (default [−1, 1]); gradient 1 strictly inside, 0 elsewhere. */
export function hardtanh(x: Tensor, opts: HardtanhOptions = {}): Tensor {
  const minVal = opts.minVal ?? -1;
  const maxVal = opts.maxVal ?? 1;
  if (!(maxVal >= minVal)) throw new Error(`hardtanh: maxVal (${maxVal}) must be ≥ minVal (${minVal})`);
  return activation('hardtanh', 'hardtanh', x, { a: minVal, b: maxVal });
}

/** 1 / (1 + exp(−x)). */
export function sigmoid(x: Tensor): Tensor {
  return activation('sigmoid', 'sigmoid', x, {}, true);
}

export function tanh(x: Tensor): Tensor {
  return activation('tanh', 'tanh', x, {}, true);
}

/** Options of `softplus`. */
export interface SoftplusOptions {
  /** Sharpness (default 1). */
  beta?: number;
  /** Above beta·x > threshold the function is the identity, for numerical stability (default 20). */
  threshold?: number;
}

/** log(1 + exp(beta·x))/beta, reverting to x where beta·x > threshold. */
export function softplus(x: Tensor, opts: SoftplusOptions = {}): Tensor {
  const beta = opts.beta ?? 1;
  const threshold = opts.threshold ?? 20;
  // The kernel reads 0 as "default", so 0 cannot be passed through; neither makes sense for softplus anyway.
  if (!(beta > 0)) throw new Error(`softplus: beta must be > 0, got ${beta}`);
  if (!(threshold > 0)) throw new Error(`softplus: threshold must be > 0, got ${threshold}`);
  return activation('softplus', 'softplus', x, { a: beta, b: threshold });
}

/** x·tanh(softplus(x)). */
export function mish(x: Tensor): Tensor {
  return activation('mish', 'mish', x);
}
