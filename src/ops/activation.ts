/**
 * Activation functions. Each is one backend `unary` kernel forward and one `unaryGrad` kernel backward (see
 * src/backend/reference/elementwise.ts for the exact formulas, which follow PyTorch's, kinks included: the
 * derivative at a kink is the one PyTorch uses, e.g. relu'(0) = 0, leakyRelu'(0) = slope, hardtanh' = 0 at the bounds).
 */
import { record } from '../autograd/graph.js';
import { erf } from '../backend/reference/elementwise.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { abs, activation, add, div, exp, gt, lt, mul, neg, square, sub, where } from './elementwise.js';
import { reshape } from './shape.js';
import { requireFloat } from './util.js';

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
  const alpha = opts.alpha ?? 1;
  return activation('elu', 'elu', x, { a: alpha }, false, (v) => where(gt(v, 0), 1, mul(exp(v), alpha)));
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
  if (approximate === 'tanh') {
    return activation('gelu', 'geluTanh', x, {}, false, (v) => {
      const c = Math.sqrt(2 / Math.PI);
      const t = tanh(mul(add(v, mul(mul(square(v), v), 0.044715)), c));
      // ½(1 + t) + ½·x·(1 − t²)·c·(1 + 3·0.044715·x²)
      const dInner = mul(add(mul(square(v), 3 * 0.044715), 1), c);
      return add(mul(add(t, 1), 0.5), mul(mul(mul(v, sub(1, square(t))), dInner), 0.5));
    });
  }
  // Φ(x) + x·φ(x)
  return activation('gelu', 'gelu', x, {}, false, (v) => add(normalCdf(v), mul(v, normalPdf(v))));
}

/** x·sigmoid(x) (a.k.a. swish). */
export function silu(x: Tensor): Tensor {
  return activation('silu', 'silu', x, {}, false, (v) => {
    const s = sigmoid(v);
    return mul(s, add(mul(v, sub(1, s)), 1));
  });
}

/** x·relu6(x + 3)/6 (MobileNetV3). */
export function hardswish(x: Tensor): Tensor {
  return activation('hardswish', 'hardswish', x, {}, false, (v) =>
    where(lt(v, -3), 0, where(gt(v, 3), 1, add(div(v, 3), 0.5))),
  );
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
  return activation('sigmoid', 'sigmoid', x, {}, true, (_v, out) => mul(out, sub(1, out)));
}

export function tanh(x: Tensor): Tensor {
  return activation('tanh', 'tanh', x, {}, true, (_v, out) => sub(1, square(out)));
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
  return activation('softplus', 'softplus', x, { a: beta, b: threshold }, false, (v) => {
    const bx = mul(v, beta);
    return where(gt(bx, threshold), 1, sigmoid(bx));
  });
}

/** x·tanh(softplus(x)). */
export function mish(x: Tensor): Tensor {
  return activation('mish', 'mish', x, {}, false, (v) => {
    const t = tanh(softplus(v));
    return add(t, mul(mul(v, sub(1, square(t))), sigmoid(v)));
  });
}

// SELU's constants (Klambauer et al. 2017) as the nearest doubles, as PyTorch stores them.
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** scale·elu(x, alpha) with the self-normalising constants of Klambauer et al. (PyTorch's F.selu). */
export function selu(x: Tensor): Tensor {
  return mul(elu(x, { alpha: SELU_ALPHA }), SELU_SCALE);
}

/** Options of `celu`. */
export interface CeluOptions {
  /** Default 1; must be non-zero. */
  alpha?: number;
}

/** max(0, x) + min(0, alpha·(exp(x/alpha) − 1)) (PyTorch's F.celu), i.e. alpha·elu(x/alpha). */
export function celu(x: Tensor, opts: CeluOptions = {}): Tensor {
  const alpha = opts.alpha ?? 1;
  if (alpha === 0 || !Number.isFinite(alpha))
    throw new Error(`celu: alpha must be a finite non-zero number, got ${alpha}`);
  return alpha === 1 ? elu(x) : mul(elu(div(x, alpha)), alpha);
}

/** log(sigmoid(x)) = −softplus(−x), computed stably for large |x|. */
export function logSigmoid(x: Tensor): Tensor {
  return neg(softplus(neg(x)));
}

/** x / (1 + |x|). */
export function softsign(x: Tensor): Tensor {
  requireFloat('softsign', x);
  return div(x, add(abs(x), 1));
}

/**
 * Parametric ReLU (PyTorch's F.prelu): x for x > 0, weight·x otherwise, with `weight` a learnable tensor of one
 * element (shared) or of C elements (one per channel, dim 1 of the input).
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  requireFloat('prelu', x);
  requireFloat('prelu', weight, 'weight');
  const n = weight.numel();
  const c = x.shape.length >= 2 ? x.shape[1] : 1;
  if (weight.shape.length > 1 || (n !== 1 && n !== c)) {
    throw new Error(
      `prelu: weight ${formatShape(weight.shape)} must have 1 element or one per channel (${c} for input ${formatShape(x.shape)})`,
    );
  }
  let w = weight;
  if (n !== 1) {
    const shape = x.shape.map(() => 1);
    shape[1] = n;
    w = reshape(weight, shape);
  } else if (weight.shape.length !== 0) {
    w = reshape(weight, []);
  }
  return where(gt(x, 0), x, mul(x, w));
}

/** Standard normal density φ(x) = exp(−x²/2)/√(2π), from differentiable ops. */
function normalPdf(x: Tensor): Tensor {
  return mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
}

/** Standard normal CDF Φ(x) = ½(1 + erf(x/√2)) as a recorded op (gelu's double backward needs it); Φ' = φ. */
function normalCdf(x: Tensor): Tensor {
  const out = Tensor.unfilled(x.shape, x.dtype);
  const src = x.dataView();
  for (let i = 0; i < src.length; i++) out.storage[i] = 0.5 * (1 + erf(src[i] / Math.SQRT2));
  return record('normalCdf', out, [x], () => (g) => [mul(g, normalPdf(x))]);
}
