/** Reference elementwise kernels: plain loops, the semantic ground truth for the faster backends. */
import type { FloatArray, TypedArray } from '../../tensor/dtype.js';
import type { BinaryOp, UnaryGradOp, UnaryOp, UnaryParams } from '../types.js';

/** erf by Abramowitz–Stegun 7.1.26 is too coarse for gradient checks; this uses a series/continued-fraction pair accurate to ~1e-15. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc at larger |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x > 0 ? 1 - erfc : erfc - 1;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function softplus(x: number, beta: number, threshold: number): number {
  const bx = beta * x;
  return bx > threshold ? x : Math.log1p(Math.exp(bx)) / beta;
}

/** Returns the scalar function for a unary op (kept monomorphic per op by the caller's loop). */
export function unaryFn(op: UnaryOp, p: UnaryParams): (x: number) => number {
  const a = p.a ?? 0;
  const b = p.b ?? 0;
  switch (op) {
    case 'neg':
      return (x) => -x;
    case 'abs':
      return Math.abs;
    case 'sign':
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'log1p':
      return Math.log1p;
    case 'expm1':
      return Math.expm1;
    case 'sqrt':
      return Math.sqrt;
    case 'rsqrt':
      return (x) => 1 / Math.sqrt(x);
    case 'square':
      return (x) => x * x;
    case 'reciprocal':
      return (x) => 1 / x;
    case 'sin':
      return Math.sin;
    case 'cos':
      return Math.cos;
    case 'tanh':
      return Math.tanh;
    case 'sigmoid':
      return (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
    case 'relu':
      return (x) => (x < 0 ? 0 : x); // NaN and −0 pass through, as PyTorch
    case 'relu6':
      return (x) => (x < 0 ? 0 : x > 6 ? 6 : x);
    case 'floor':
      return Math.floor;
    case 'ceil':
      return Math.ceil;
    case 'round':
      return roundHalfEven;
    case 'erf':
      return erf;
    case 'gelu':
      return (x) => 0.5 * x * (1 + erf(x * INV_SQRT_2));
    case 'geluTanh':
      return (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    case 'silu':
      return (x) => x / (1 + Math.exp(-x));
    case 'mish':
      return (x) => x * Math.tanh(softplus(x, 1, 20));
    case 'softplus':
      return (x) => softplus(x, a || 1, b || 20);
    case 'hardswish':
      return (x) => (x <= -3 ? 0 : x >= 3 ? x : (x * (x + 3)) / 6);
    case 'hardsigmoid':
      return (x) => (x <= -3 ? 0 : x >= 3 ? 1 : x / 6 + 0.5);
    case 'hardtanh':
      return (x) => (x < a ? a : x > b ? b : x);
    case 'leakyRelu':
      return (x) => (x > 0 ? x : a * x);
    case 'elu':
      return (x) => (x > 0 ? x : a * Math.expm1(x));
    case 'powScalar':
      return (x) => Math.pow(x, a);
    case 'clamp':
      return (x) => (x < a ? a : x > b ? b : Number.isNaN(x) ? x : x);
    case 'addScalar':
      return (x) => x + a;
    case 'mulScalar':
      return (x) => x * a;
    case 'rsubScalar':
      return (x) => a - x;
    case 'rdivScalar':
      return (x) => a / x;
  }
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function unary(op: UnaryOp, x: FloatArray, out: FloatArray, params: UnaryParams): void {
  const n = x.length;
  switch (op) {
    case 'relu':
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = v < 0 ? 0 : v;
      }
      return;
    case 'addScalar': {
      const a = params.a ?? 0;
      for (let i = 0; i < n; i++) out[i] = x[i] + a;
      return;
    }
    case 'mulScalar': {
      const a = params.a ?? 0;
      for (let i = 0; i < n; i++) out[i] = x[i] * a;
      return;
    }
    case 'tanh': // a generator's output layer: a monomorphic loop (see unaryGrad)
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return;
    default: {
      const f = unaryFn(op, params);
      for (let i = 0; i < n; i++) out[i] = f(x[i]);
    }
  }
}

/** Derivative factor f'(v) for each activation; `v` is the input x, except relu/sigmoid/tanh which receive the output y. */
export function unaryGradFn(op: UnaryGradOp, p: UnaryParams): (v: number) => number {
  const a = p.a ?? 0;
  const b = p.b ?? 0;
  switch (op) {
    case 'relu':
      return (y) => (y <= 0 ? 0 : 1);
    case 'relu6':
      return (x) => (x > 0 && x < 6 ? 1 : 0);
    case 'leakyRelu':
      return (x) => (x > 0 ? 1 : a);
    case 'elu':
      return (x) => (x > 0 ? 1 : a * Math.exp(x));
    case 'sigmoid':
      return (y) => y * (1 - y);
    case 'tanh':
      return (y) => 1 - y * y;
    case 'gelu':
      return (x) => 0.5 * (1 + erf(x * INV_SQRT_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case 'geluTanh':
      return (x) => {
        const inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
        const t = Math.tanh(inner);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
      };
    case 'silu':
      return (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 + x * (1 - s));
      };
    case 'mish':
      return (x) => {
        const sp = softplus(x, 1, 20);
        const t = Math.tanh(sp);
        const s = 1 / (1 + Math.exp(-x));
        return t + x * (1 - t * t) * s;
      };
    case 'softplus':
      return (x) => {
        const beta = a || 1;
        const threshold = b || 20;
        return beta * x > threshold ? 1 : 1 / (1 + Math.exp(-beta * x));
      };
    case 'hardswish':
      return (x) => (x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5);
    case 'hardsigmoid':
      return (x) => (x > -3 && x < 3 ? 1 / 6 : 0);
    case 'hardtanh':
      return (x) => (x > a && x < b ? 1 : 0);
    case 'clamp':
      return (x) => (x >= a && x <= b ? 1 : 0);
  }
}

export function unaryGrad(
  op: UnaryGradOp,
  input: FloatArray,
  gy: FloatArray,
  gx: FloatArray,
  params: UnaryParams,
): void {
  const n = input.length;
  if (op === 'relu') {
    for (let i = 0; i < n; i++) gx[i] = input[i] <= 0 ? 0 : gy[i]; // threshold_backward: a NaN input passes
    return;
  }
  // GAN layers (LeakyReLU in D, tanh at G's output) run these on millions of elements per step: monomorphic loops
  // instead of the shared closure call, which V8 cannot inline once many closures have gone through it (measured
  // 10× slower on the DCGAN step). Same formulas as unaryGradFn.
  if (op === 'leakyRelu') {
    const a = params.a ?? 0,
      b = 1 - a;
    // branch-free: the sign of a post-conv activation is a coin flip, which a branch mispredicts half the time
    // (3-4× slower on [64, 64, 32, 32]); exact whenever a + (1 − a) rounds to 1, as it does for the usual slopes
    if (a + b === 1) for (let i = 0; i < n; i++) gx[i] = gy[i] * (a + b * +(input[i] > 0));
    else for (let i = 0; i < n; i++) gx[i] = input[i] > 0 ? gy[i] : gy[i] * a;
    return;
  }
  if (op === 'tanh') {
    for (let i = 0; i < n; i++) {
      const y = input[i];
      gx[i] = gy[i] * (1 - y * y);
    }
    return;
  }
  if (op === 'sigmoid') {
    for (let i = 0; i < n; i++) {
      const y = input[i];
      gx[i] = gy[i] * (y * (1 - y));
    }
    return;
  }
  // SiLU follows every convolution of YOLOX (and EfficientNet/MobileNetV3-style nets): the closure call made its
  // gradient ~16 % of a YOLOX training step.
  if (op === 'silu') {
    for (let i = 0; i < n; i++) {
      const x = input[i];
      const s = 1 / (1 + Math.exp(-x));
      gx[i] = gy[i] * (s * (1 + x * (1 - s)));
    }
    return;
  }
  const f = unaryGradFn(op, params);
  for (let i = 0; i < n; i++) gx[i] = gy[i] * f(input[i]);
}

function binaryFn(op: BinaryOp): (x: number, y: number) => number {
  switch (op) {
    case 'add':
      return (x, y) => x + y;
    case 'sub':
      return (x, y) => x - y;
    case 'mul':
      return (x, y) => x * y;
    case 'div':
      return (x, y) => x / y;
    case 'pow':
      return Math.pow;
    case 'maximum':
      return (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x > y ? x : y);
    case 'minimum':
      return (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x < y ? x : y);
    case 'eq':
      return (x, y) => (x === y ? 1 : 0);
    case 'ne':
      return (x, y) => (x !== y ? 1 : 0);
    case 'lt':
      return (x, y) => (x < y ? 1 : 0);
    case 'le':
      return (x, y) => (x <= y ? 1 : 0);
    case 'gt':
      return (x, y) => (x > y ? 1 : 0);
    case 'ge':
      return (x, y) => (x >= y ? 1 : 0);
    case 'atan2':
      return Math.atan2;
    case 'remainder':
      return (x, y) => x - Math.floor(x / y) * y;
  }
}

/** Visits a broadcast index space, calling `body(outIndex, aIndex, bIndex)` with an inner-dim fast path. */
function forEachBroadcast(
  shape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
  inner: (o: number, ia: number, ib: number, count: number, sa: number, sb: number) => void,
): void {
  const rank = shape.length;
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  if (rank === 0) {
    inner(0, 0, 0, 1, 0, 0);
    return;
  }
  const last = rank - 1;
  const count = shape[last];
  const sa = aStrides[last];
  const sb = bStrides[last];
  const idx = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < total; o += count) {
    inner(o, ia, ib, count, sa, sb);
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      ia += aStrides[d];
      ib += bStrides[d];
      if (idx[d] < shape[d]) break;
      ia -= aStrides[d] * shape[d];
      ib -= bStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

export function binary(
  op: BinaryOp,
  a: TypedArray,
  aStrides: readonly number[],
  b: TypedArray,
  bStrides: readonly number[],
  out: TypedArray,
  shape: readonly number[],
): void {
  const f = binaryFn(op);
  // Fast paths for the shapes training spends its time on: same-shape and scalar operands.
  const n = out.length;
  if (a.length === n && b.length === n && isDense(aStrides, shape) && isDense(bStrides, shape)) {
    if (op === 'add') for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
    else if (op === 'mul') for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
    else if (op === 'sub') for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
    else for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
    return;
  }
  forEachBroadcast(shape, aStrides, bStrides, (o, ia, ib, count, sa, sb) => {
    for (let j = 0; j < count; j++, ia += sa, ib += sb) out[o + j] = f(a[ia], b[ib]);
  });
}

function isDense(strides: readonly number[], shape: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

export function where(
  cond: TypedArray,
  cStrides: readonly number[],
  a: TypedArray,
  aStrides: readonly number[],
  b: TypedArray,
  bStrides: readonly number[],
  out: TypedArray,
  shape: readonly number[],
): void {
  // Broadcast cond against a first, then b, reusing the two-operand walker for each.
  const tmpIdx = new Int32Array(out.length);
  forEachBroadcast(shape, cStrides, aStrides, (o, ic, ia, count, sc, sa) => {
    for (let j = 0; j < count; j++, ic += sc, ia += sa) {
      tmpIdx[o + j] = ia;
      out[o + j] = cond[ic] !== 0 ? 1 : 0;
    }
  });
  forEachBroadcast(shape, bStrides, bStrides, (o, ib, _unused, count, sb) => {
    for (let j = 0; j < count; j++, ib += sb) out[o + j] = out[o + j] !== 0 ? a[tmpIdx[o + j]] : b[ib];
  });
}

export function copyStrided(
  src: TypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  out: TypedArray,
  shape: readonly number[],
): void {
  const zero = shape.map(() => 0);
  forEachBroadcast(shape, srcStrides, zero, (o, is, _ib, count, ss) => {
    is += srcOffset;
    for (let j = 0; j < count; j++, is += ss) out[o + j] = src[is];
  });
}

export function axpy(alpha: number, x: FloatArray, y: FloatArray): void {
  const n = y.length;
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}
