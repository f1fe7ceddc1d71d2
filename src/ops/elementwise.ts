/**
 * Elementwise arithmetic, math functions and comparisons with NumPy/PyTorch broadcasting.
 * Gradients of broadcast operands are summed back to the operand's shape.
 */
import { record } from '../autograd/graph.js';
import { isCreatingGraph } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { BinaryOp, UnaryOp, UnaryParams } from '../backend/types.js';
import { isFloating, type DType } from '../tensor/dtype.js';
import { broadcastShapes, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { sumToShape } from './broadcast.js';
import {
  asTensor,
  broadcastStrides,
  floatData,
  requireFloat,
  requireTensor,
  resultType,
  storageFrom,
  type TensorLike,
} from './util.js';

const COMPARISONS = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

/** Runs a broadcasting binary kernel; the output dtype is the promoted type (bool for comparisons). */
export function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor, outDtype?: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const dtype = outDtype ?? (COMPARISONS.has(op) ? 'bool' : resultType(a, b));
  const out = Tensor.unfilled(shape, dtype);
  backend().binary(
    op,
    storageFrom(a),
    broadcastStrides(a, shape),
    storageFrom(b),
    broadcastStrides(b, shape),
    out.storage,
    shape,
  );
  return out;
}

function unaryKernel(op: UnaryOp, x: Tensor, params: UnaryParams = {}): Tensor {
  const dtype = isFloating(x.dtype) ? x.dtype : 'float32';
  const out = Tensor.unfilled(x.shape, dtype);
  const src = isFloating(x.dtype) ? floatData(x) : Float32Array.from(x.dataView());
  backend().unary(op, src, floatData(out), params);
  return out;
}

/** a + alpha·b. */
export function add(a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor {
  const [ta, tb] = operands(a, b);
  const alpha = opts?.alpha ?? 1;
  const scaledB = alpha === 1 ? tb : mul(tb, alpha);
  const out = binaryKernel('add', ta, scaledB);
  return record('add', out, [ta, scaledB], () => (g) => [sumToShape(g, ta.shape), sumToShape(g, scaledB.shape)]);
}

/** a − alpha·b. */
export function sub(a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor {
  const [ta, tb] = operands(a, b);
  const alpha = opts?.alpha ?? 1;
  const scaledB = alpha === 1 ? tb : mul(tb, alpha);
  const out = binaryKernel('sub', ta, scaledB);
  return record('sub', out, [ta, scaledB], () => (g) => [sumToShape(g, ta.shape), sumToShape(neg(g), scaledB.shape)]);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(a, b);
  const out = binaryKernel('mul', ta, tb);
  return record('mul', out, [ta, tb], () => (g) => [
    ta.requiresGrad ? sumToShape(mul(g, tb), ta.shape) : null,
    tb.requiresGrad ? sumToShape(mul(g, ta), tb.shape) : null,
  ]);
}

/** True division (integer inputs give a float result, as PyTorch's `/`). */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(a, b);
  const dtype = isFloating(resultType(ta, tb)) ? resultType(ta, tb) : 'float32';
  const out = binaryKernel('div', ta, tb, dtype);
  return record('div', out, [ta, tb], () => (g) => [
    ta.requiresGrad ? sumToShape(div(g, tb), ta.shape) : null,
    tb.requiresGrad ? sumToShape(neg(div(mul(g, out), tb)), tb.shape) : null,
  ]);
}

/** a ** b (elementwise, broadcasting). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (a instanceof Tensor && typeof b === 'number') return powScalar(a, b);
  const [ta, tb] = operands(a, b);
  const out = binaryKernel('pow', ta, tb);
  return record('pow', out, [ta, tb], () => (g) => [
    ta.requiresGrad ? sumToShape(mul(g, mul(tb, pow(ta, sub(tb, 1)))), ta.shape) : null,
    // d/db a^b = a^b · ln a; PyTorch defines it as 0 where a == 0 and b ≥ 0.
    tb.requiresGrad ? sumToShape(mul(g, where(eq(ta, 0), 0, mul(out, log(ta)))), tb.shape) : null,
  ]);
}

function powScalar(x: Tensor, exponent: number): Tensor {
  if (exponent === 2) return square(x);
  if (exponent === 1) return mul(x, 1);
  const out = unaryKernel('powScalar', x, { a: exponent });
  return record('pow', out, [x], () => (g) => [mul(g, mul(powScalar(x, exponent - 1), exponent))]);
}

export function neg(x: Tensor): Tensor {
  const out = unaryKernel('mulScalar', x, { a: -1 });
  return record('neg', out, [x], () => (g) => [neg(g)]);
}

export function abs(x: Tensor): Tensor {
  const out = unaryKernel('abs', x);
  return record('abs', out, [x], () => (g) => [mul(g, sign(x))]);
}

/** −1, 0 or +1 (no gradient). */
export function sign(x: Tensor): Tensor {
  return unaryKernel('sign', x);
}

export function exp(x: Tensor): Tensor {
  const out = unaryKernel('exp', x);
  return record('exp', out, [x], () => (g) => [mul(g, out)]);
}

export function expm1(x: Tensor): Tensor {
  const out = unaryKernel('expm1', x);
  return record('expm1', out, [x], () => (g) => [mul(g, add(out, 1))]);
}

export function log(x: Tensor): Tensor {
  const out = unaryKernel('log', x);
  return record('log', out, [x], () => (g) => [div(g, x)]);
}

export function log1p(x: Tensor): Tensor {
  const out = unaryKernel('log1p', x);
  return record('log1p', out, [x], () => (g) => [div(g, add(x, 1))]);
}

export function sqrt(x: Tensor): Tensor {
  const out = unaryKernel('sqrt', x);
  return record('sqrt', out, [x], () => (g) => [div(g, mul(out, 2))]);
}

export function rsqrt(x: Tensor): Tensor {
  const out = unaryKernel('rsqrt', x);
  // d/dx x^-1/2 = -1/2 x^-3/2 = -out³/2
  return record('rsqrt', out, [x], () => (g) => [mul(g, mul(powScalar(out, 3), -0.5))]);
}

export function square(x: Tensor): Tensor {
  const out = unaryKernel('square', x);
  return record('square', out, [x], () => (g) => [mul(g, mul(x, 2))]);
}

export function reciprocal(x: Tensor): Tensor {
  const out = unaryKernel('reciprocal', x);
  return record('reciprocal', out, [x], () => (g) => [neg(mul(g, square(out)))]);
}

export function sin(x: Tensor): Tensor {
  const out = unaryKernel('sin', x);
  return record('sin', out, [x], () => (g) => [mul(g, cos(x))]);
}

export function cos(x: Tensor): Tensor {
  const out = unaryKernel('cos', x);
  return record('cos', out, [x], () => (g) => [neg(mul(g, sin(x)))]);
}

/** Rounding ops have zero gradient almost everywhere; like PyTorch they return zeros. */
export function floor(x: Tensor): Tensor {
  return isFloating(x.dtype) ? record('floor', unaryKernel('floor', x), [x], () => (g) => [mul(g, 0)]) : x;
}

export function ceil(x: Tensor): Tensor {
  return isFloating(x.dtype) ? record('ceil', unaryKernel('ceil', x), [x], () => (g) => [mul(g, 0)]) : x;
}

/** Round half to even, as PyTorch. */
export function round(x: Tensor): Tensor {
  return isFloating(x.dtype) ? record('round', unaryKernel('round', x), [x], () => (g) => [mul(g, 0)]) : x;
}

/** Clamps into [min, max]; either bound may be omitted (null). Gradient passes where the input was inside. */
export function clamp(x: Tensor, min: number | null = null, max: number | null = null): Tensor {
  if (min === null && max === null) throw new Error('clamp: at least one of min or max must be given');
  if (min !== null && max !== null && min > max) {
    // PyTorch sets everything to max in this case; mirror that rather than erroring.
  }
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  const params = { a: lo, b: hi };
  if (!isFloating(x.dtype)) {
    const out = Tensor.empty(x.shape, x.dtype);
    const src = x.dataView();
    for (let i = 0; i < src.length; i++) out.storage[i] = Math.min(Math.max(src[i], lo), hi);
    return out;
  }
  const out = unaryKernel('clamp', x, params);
  return record('clamp', out, [x], () => (g) => {
    // piecewise linear: under createGraph the gradient is g times a constant 0/1 mask (the second derivative is 0)
    if (isCreatingGraph()) return [mul(g, rawDerivative('clamp', x, params))];
    const gx = Tensor.unfilled(x.shape, g.dtype);
    backend().unaryGrad('clamp', floatData(x), floatData(g), floatData(gx), params);
    return [gx];
  });
}

/** Elementwise maximum of two tensors (NaN propagates). Gradient is split evenly at ties, as PyTorch. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('maximum', a, b);
}

export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('minimum', a, b);
}

function extremum(op: 'maximum' | 'minimum', a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(a, b);
  const out = binaryKernel(op, ta, tb);
  return record(op, out, [ta, tb], () => (g) => {
    const aWins = op === 'maximum' ? gt(ta, tb) : lt(ta, tb);
    const tie = eq(ta, tb);
    const wa = add(aWins, mul(tie, 0.5));
    const wb = sub(1, wa);
    return [
      ta.requiresGrad ? sumToShape(mul(g, wa), ta.shape) : null,
      tb.requiresGrad ? sumToShape(mul(g, wb), tb.shape) : null,
    ];
  });
}

export function eq(a: TensorLike, b: TensorLike): Tensor {
  return compare('eq', a, b);
}
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return compare('ne', a, b);
}
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return compare('lt', a, b);
}
export function le(a: TensorLike, b: TensorLike): Tensor {
  return compare('le', a, b);
}
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return compare('gt', a, b);
}
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return compare('ge', a, b);
}

function compare(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(a, b);
  return binaryKernel(op, ta, tb);
}

/** cond ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = operands(a, b);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const out = Tensor.unfilled(shape, resultType(ta, tb));
  backend().where(
    storageFrom(cond),
    broadcastStrides(cond, shape),
    storageFrom(ta),
    broadcastStrides(ta, shape),
    storageFrom(tb),
    broadcastStrides(tb, shape),
    out.storage,
    shape,
  );
  return record('where', out, [ta, tb], () => (g) => {
    const zero = Tensor.empty([], g.dtype);
    return [
      ta.requiresGrad ? sumToShape(where(cond, g, zero), ta.shape) : null,
      tb.requiresGrad ? sumToShape(where(cond, zero, g), tb.shape) : null,
    ];
  });
}

/** True where |a − b| ≤ atol + rtol·|b| everywhere (NaNs unequal unless equalNan). */
export function allclose(
  a: Tensor,
  b: Tensor,
  opts: { rtol?: number; atol?: number; equalNan?: boolean } = {},
): boolean {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-8;
  const shape = broadcastShapes('allclose', a.shape, b.shape);
  if (!shapesEqual(shape, a.shape) && !shapesEqual(shape, b.shape)) return false;
  const diff = binaryKernel('sub', a, b, 'float64').storage;
  const bb = binaryKernel('add', b, Tensor.empty([], 'float64'), 'float64').storage;
  const aa = binaryKernel('add', a, Tensor.empty([], 'float64'), 'float64').storage;
  for (let i = 0; i < diff.length; i++) {
    if (Number.isNaN(aa[i]) || Number.isNaN(bb[i])) {
      if (!(opts.equalNan && Number.isNaN(aa[i]) && Number.isNaN(bb[i]))) return false;
      continue;
    }
    if (aa[i] === bb[i]) continue;
    if (!(Math.abs(diff[i]) <= atol + rtol * Math.abs(bb[i]))) return false;
  }
  return true;
}

function operands(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor) return [a, asTensor(b, a)];
  if (b instanceof Tensor) return [asTensor(a, b), b];
  if (typeof a !== 'number') requireTensor('elementwise op', a, 'first operand');
  if (typeof b !== 'number') requireTensor('elementwise op', b, 'second operand');
  throw new Error('elementwise op: at least one operand must be a tensor, got two numbers');
}

/** Activations whose derivative is piecewise constant: their createGraph gradient is g times a constant tensor. */
const PIECEWISE_LINEAR = new Set<string>(['relu', 'relu6', 'leakyRelu', 'hardsigmoid', 'hardtanh', 'clamp']);

/** f'(v) elementwise as a constant tensor, from the backend's unaryGrad kernel with a gradient of ones. */
function rawDerivative(op: import('../backend/types.js').UnaryGradOp, v: Tensor, params: UnaryParams): Tensor {
  const ones = Tensor.unfilled(v.shape, v.dtype);
  ones.storage.fill(1);
  const d = Tensor.unfilled(v.shape, v.dtype);
  backend().unaryGrad(op, floatData(v), floatData(ones), floatData(d), params);
  return d;
}

/**
 * Applies a unary kernel to a float tensor and records its gradient via the backend's unaryGrad (activations use
 * it). Under createGraph the gradient is g·f'(x) from differentiable ops: `derivative(x, out)` for smooth
 * activations, a constant mask for piecewise-linear ones; any other activation refuses double backward by name.
 */
export function activation(
  name: string,
  op: UnaryOp & import('../backend/types.js').UnaryGradOp,
  x: Tensor,
  params: UnaryParams = {},
  gradFromOutput = false,
  derivative?: (x: Tensor, out: Tensor) => Tensor,
): Tensor {
  requireFloat(name, x);
  const out = unaryKernel(op, x, params);
  return record(name, out, [x], () => (g) => {
    if (isCreatingGraph()) {
      if (derivative) return [mul(g, derivative(x, out))];
      if (PIECEWISE_LINEAR.has(op)) return [mul(g, rawDerivative(op, gradFromOutput ? out : x, params))];
      throw new Error(`${name}: double backward (createGraph) is not supported for this activation`);
    }
    const gx = Tensor.unfilled(x.shape, g.dtype);
    backend().unaryGrad(op, floatData(gradFromOutput ? out : x), floatData(g), floatData(gx), params);
    return [gx];
  });
}
