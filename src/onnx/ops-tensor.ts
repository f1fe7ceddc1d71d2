/**
 * ONNX tensor operators on Tatami ops: broadcast arithmetic, unary math, reductions, and the shape operators
 * (Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Slice, Gather, Concat, Pad, Expand, Shape, Constant …).
 * Shape-like inputs (shapes, axes, pads, starts) are read as plain numbers; int64 arrives as int32.
 */
import { Tensor } from '../tensor/tensor.js';
import { tensor, zeros } from '../tensor/creation.js';
import { isFloating, type DType } from '../tensor/dtype.js';
import {
  abs,
  add,
  ceil,
  cos,
  div,
  eq,
  exp,
  floor,
  gt,
  log,
  lt,
  maximum,
  minimum,
  mul,
  neg,
  pow,
  reciprocal,
  sign,
  sin,
  sqrt,
  sub,
  where,
} from '../ops/elementwise.js';
import { amax, amin, mean, prod, sum } from '../ops/reduce.js';
import { cat, expand, flip, indexSelect, permute, reshape, slice, to } from '../ops/shape.js';
import { matmul } from '../ops/matmul.js';
import { pad } from '../ops/pad.js';
import { dtypeOfOnnx } from './proto.js';
import { axis, need, numbers, OnnxUnsupportedError, type OpFn } from './ops-common.js';

/** Integer division truncates toward zero in ONNX; Tatami's div of integers is true division. */
function divide(a: Tensor, b: Tensor): Tensor {
  if (isFloating(a.dtype) || isFloating(b.dtype)) return div(a, b);
  const q = div(to(a, 'float64'), to(b, 'float64'));
  return to(where(lt(q, 0), ceil(q), floor(q)), a.dtype);
}

function binary(f: (a: Tensor, b: Tensor) => Tensor): OpFn {
  return (ins) => f(ins[0]!, ins[1]!);
}

function variadic(f: (a: Tensor, b: Tensor) => Tensor): OpFn {
  return (ins) => ins.filter((t): t is Tensor => t !== null).reduce((acc, t) => f(acc, t));
}

/** Axes of a reduction: attribute before the opset where they became an input (13 for ReduceSum, 18 others). */
function reduceOp(
  kind: 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'sumSquare' | 'l1' | 'l2' | 'logSumExp' | 'logSum',
): OpFn {
  return (ins, ctx) => {
    let x = need('Reduce', ins, 0, 'data');
    const inputAxes = kind === 'sum' ? ctx.opset >= 13 : ctx.opset >= 18;
    let axes = inputAxes ? (ins[1] ? numbers(ins[1]) : undefined) : ctx.attrs.ints('axes');
    const keep = ctx.attrs.int('keepdims', 1) === 1;
    if (axes === undefined || axes.length === 0) {
      if (ctx.attrs.int('noop_with_empty_axes', 0) === 1) return x;
      axes = x.shape.map((_, i) => i);
    }
    const dims = axes.map((a) => axis('Reduce', a, x.shape.length));
    if (!isFloating(x.dtype) && kind !== 'max' && kind !== 'min') x = to(x, 'float32');
    let y: Tensor;
    switch (kind) {
      case 'sum':
        y = sum(x, dims, keep);
        break;
      case 'mean':
        y = mean(x, dims, keep);
        break;
      case 'max':
        y = amax(x, dims, keep);
        break;
      case 'min':
        y = amin(x, dims, keep);
        break;
      case 'prod':
        y = prod(x, dims, keep);
        break;
      case 'sumSquare':
        y = sum(mul(x, x), dims, keep);
        break;
      case 'l1':
        y = sum(abs(x), dims, keep);
        break;
      case 'l2':
        y = sqrt(sum(mul(x, x), dims, keep));
        break;
      case 'logSum':
        y = log(sum(x, dims, keep));
        break;
      case 'logSumExp':
        y = log(sum(exp(x), dims, keep));
        break;
    }
    const orig = ins[0]!.dtype;
    return y.dtype === orig ? y : to(y, orig);
  };
}

const Reshape: OpFn = (ins, ctx) => {
  const x = need('Reshape', ins, 0, 'data');
  const allowZero = ctx.attrs.int('allowzero', 0) === 1;
  const shape = numbers(need('Reshape', ins, 1, 'shape')).map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  return reshape(x, shape);
};

const Flatten: OpFn = (ins, ctx) => {
  const x = need('Flatten', ins, 0, 'input');
  let a = ctx.attrs.int('axis', 1);
  if (a < 0) a += x.shape.length;
  const outer = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
  const inner = x.shape.slice(a).reduce((p, q) => p * q, 1);
  return reshape(x, [outer, inner]);
};

const Transpose: OpFn = (ins, ctx) => {
  const x = need('Transpose', ins, 0, 'data');
  const perm = ctx.attrs.ints(
    'perm',
    x.shape.map((_, i) => x.shape.length - 1 - i),
  );
  return permute(x, perm);
};

const Squeeze: OpFn = (ins, ctx) => {
  const x = need('Squeeze', ins, 0, 'data');
  const axes = ctx.opset >= 13 ? (ins[1] ? numbers(ins[1]) : undefined) : ctx.attrs.ints('axes');
  const drop = axes
    ? axes.map((a) => axis('Squeeze', a, x.shape.length))
    : x.shape.map((s, i) => (s === 1 ? i : -1)).filter((i) => i >= 0);
  for (const d of drop)
    if (x.shape[d] !== 1)
      throw new Error(`onnx import: Squeeze: axis ${d} of shape ${JSON.stringify(x.shape)} is not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => !drop.includes(i)),
  );
};

const Unsqueeze: OpFn = (ins, ctx) => {
  const x = need('Unsqueeze', ins, 0, 'data');
  const axes = ctx.opset >= 13 ? numbers(need('Unsqueeze', ins, 1, 'axes')) : ctx.attrs.ints('axes', []);
  const rank = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => axis('Unsqueeze', a, rank)));
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(at.has(i) ? 1 : x.shape[j++]);
  return reshape(x, shape);
};

const Slice: OpFn = (ins, ctx) => {
  let x = need('Slice', ins, 0, 'data');
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset >= 10) {
    starts = numbers(ins[1]);
    ends = numbers(ins[2]);
    axes = ins[3] ? numbers(ins[3]) : undefined;
    steps = ins[4] ? numbers(ins[4]) : undefined;
  } else {
    starts = ctx.attrs.ints('starts', []);
    ends = ctx.attrs.ints('ends', []);
    axes = ctx.attrs.ints('axes');
  }
  const ax = axes ?? starts.map((_, i) => i);
  for (let k = 0; k < ax.length; k++) {
    const d = axis('Slice', ax[k], x.shape.length);
    const dim = x.shape[d];
    const step = steps?.[k] ?? 1;
    if (step === 0) throw new Error('onnx import: Slice: step 0');
    let s = starts[k],
      e = ends[k];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      x = slice(x, d, s, Math.max(e, s), step);
    } else {
      // Walk backwards: flip the axis and slice forwards from the mirrored indices.
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      const fs = dim - 1 - s,
        fe = dim - 1 - e;
      x = slice(flip(x, d), d, fs, Math.max(fe, fs), -step);
    }
  }
  return x;
};

const Gather: OpFn = (ins, ctx) => {
  const x = need('Gather', ins, 0, 'data'),
    idx = need('Gather', ins, 1, 'indices');
  const d = axis('Gather', ctx.attrs.int('axis', 0), x.shape.length);
  const n = x.shape[d];
  const flat = Int32Array.from(idx.toTypedArray(), (v) => (v < 0 ? v + n : v));
  for (const v of flat)
    if (v < 0 || v >= n) throw new Error(`onnx import: Gather: index ${v} is out of range for axis ${d} of size ${n}`);
  const picked = indexSelect(x, d, new Tensor(flat, [flat.length], 'int32'));
  return reshape(picked, [...x.shape.slice(0, d), ...idx.shape, ...x.shape.slice(d + 1)]);
};

const Concat: OpFn = (ins, ctx) => {
  const ts = ins.filter((t): t is Tensor => t !== null);
  return cat(ts, axis('Concat', ctx.attrs.int('axis', 0), ts[0].shape.length));
};

const PadOp: OpFn = (ins, ctx) => {
  let x = need('Pad', ins, 0, 'data');
  const mode = ctx.attrs.str('mode', 'constant');
  let pads: number[], value: number;
  if (ctx.opset >= 11) {
    pads = numbers(need('Pad', ins, 1, 'pads'));
    value = ins[2] ? (numbers(ins[2])[0] ?? 0) : 0;
  } else {
    pads = ctx.attrs.ints('pads', []);
    value = ctx.attrs.float('value', 0);
  }
  const rank = x.shape.length;
  let axesList = x.shape.map((_, i) => i);
  if (ctx.opset >= 18 && ins[3]) axesList = numbers(ins[3]).map((a) => axis('Pad', a, rank));
  const n = axesList.length;
  const before = new Array<number>(rank).fill(0),
    after = new Array<number>(rank).fill(0);
  axesList.forEach((a, i) => {
    before[a] = pads[i];
    after[a] = pads[i + n];
  });
  // Negative pads crop.
  for (let d = 0; d < rank; d++) {
    if (before[d] < 0 || after[d] < 0) {
      x = slice(x, d, Math.max(0, -before[d]), x.shape[d] - Math.max(0, -after[d]));
      before[d] = Math.max(0, before[d]);
      after[d] = Math.max(0, after[d]);
    }
  }
  const padded = [...Array(rank).keys()].filter((d) => before[d] > 0 || after[d] > 0);
  if (padded.length === 0) return x;
  const tatamiMode =
    mode === 'constant'
      ? 'constant'
      : mode === 'reflect'
        ? 'reflect'
        : mode === 'edge'
          ? 'replicate'
          : mode === 'wrap'
            ? 'circular'
            : null;
  if (tatamiMode === null) throw new Error(`onnx import: Pad: unknown mode '${mode}'`);
  const first = padded[0];
  if (tatamiMode !== 'constant') {
    // Tatami pads the last 1–3 dims in these modes, with one or two leading dims.
    const dims = rank - first;
    if (dims > 3 || first > 2)
      throw new OnnxUnsupportedError('Pad', `mode '${mode}' on dims ${padded.join(', ')} of a rank-${rank} tensor`);
    if (first === 0) {
      const y = pad(reshape(x, [1, ...x.shape]), tatamiPads(before, after, 1 + first, rank + 1, 1), {
        mode: tatamiMode,
      });
      return reshape(y, y.shape.slice(1));
    }
  }
  const isFloat = isFloating(x.dtype);
  const src = isFloat ? x : to(x, 'float64');
  const y = pad(
    src,
    tatamiPads(before, after, first, rank, 0),
    tatamiMode === 'constant' ? { value } : { mode: tatamiMode },
  );
  return isFloat ? y : to(y, x.dtype);
};

/** PyTorch pad list (last dim first) for dims [first, rank) of a tensor whose dims are shifted by `shift`. */
function tatamiPads(before: number[], after: number[], first: number, rank: number, shift: number): number[] {
  const out: number[] = [];
  for (let d = rank - 1; d >= first; d--) out.push(before[d - shift], after[d - shift]);
  return out;
}

const Expand: OpFn = (ins) => {
  const x = need('Expand', ins, 0, 'input');
  const shape = numbers(need('Expand', ins, 1, 'shape'));
  // Bidirectional broadcast of x.shape with shape.
  const r = Math.max(shape.length, x.shape.length);
  const xs = [...new Array(r - x.shape.length).fill(1), ...x.shape],
    ss = [...new Array(r - shape.length).fill(1), ...shape];
  const out = xs.map((d, i) => (d === 1 ? ss[i] : d));
  return expand(reshape(x, xs), out);
};

const ShapeOp: OpFn = (ins, ctx) => {
  const x = need('Shape', ins, 0, 'data');
  const r = x.shape.length;
  const norm = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const s = norm(ctx.attrs.int('start', 0)),
    e = norm(ctx.attrs.int('end', r));
  return new Tensor(Int32Array.from(x.shape.slice(s, Math.max(e, s))), [Math.max(e - s, 0)], 'int32');
};

const Constant: OpFn = (_ins, ctx) => {
  const a = ctx.attrs;
  const t = a.tensor('value');
  if (t) return t;
  if (a.has('value_float')) return tensor(Float32Array.of(a.float('value_float', 0)), [], { dtype: 'float32' });
  if (a.has('value_floats')) {
    const v = a.floats('value_floats')!;
    return tensor(Float32Array.from(v), [v.length], { dtype: 'float32' });
  }
  if (a.has('value_int')) return new Tensor(Int32Array.of(a.int('value_int', 0)), [], 'int32');
  if (a.has('value_ints')) {
    const v = a.ints('value_ints')!;
    return new Tensor(Int32Array.from(v), [v.length], 'int32');
  }
  throw new OnnxUnsupportedError('Constant', 'a value other than value / value_float(s) / value_int(s)');
};

const ConstantOfShape: OpFn = (ins, ctx) => {
  const shape = numbers(ins[0]);
  const v = ctx.attrs.tensor('value');
  const dtype: DType = v?.dtype ?? 'float32';
  const t = zeros(shape, { dtype });
  if (v) t.storage.fill(v.toTypedArray()[0]);
  return t;
};

const Cast: OpFn = (ins, ctx) => {
  const to_ = ctx.attrs.int('to', 1);
  return to(ins[0]!, dtypeOfOnnx(to_, 'Cast target'));
};

const MatMul: OpFn = (ins) => matmul(ins[0]!, ins[1]!);

const Gemm: OpFn = (ins, ctx) => {
  const a = ctx.attrs;
  let A = need('Gemm', ins, 0, 'A'),
    B = need('Gemm', ins, 1, 'B');
  if (a.int('transA', 0)) A = permute(A, [1, 0]);
  if (a.int('transB', 0)) B = permute(B, [1, 0]);
  let y = matmul(A, B);
  const alpha = a.float('alpha', 1),
    beta = a.float('beta', 1);
  if (alpha !== 1) y = mul(y, alpha);
  if (ins[2]) y = add(y, beta === 1 ? ins[2] : mul(ins[2], beta));
  return y;
};

/** The tensor operators, by ONNX op_type. */
export const TENSOR_OPS: Record<string, OpFn> = {
  Add: binary(add),
  Sub: binary(sub),
  Mul: binary(mul),
  Div: binary(divide),
  Pow: (ins) =>
    isFloating(ins[0]!.dtype)
      ? pow(ins[0]!, to(ins[1]!, ins[0]!.dtype))
      : to(pow(to(ins[0]!, 'float64'), to(ins[1]!, 'float64')), ins[0]!.dtype),
  Max: variadic(maximum),
  Min: variadic(minimum),
  Sum: variadic(add),
  Mean: (ins) => {
    const ts = ins.filter((t): t is Tensor => t !== null);
    return div(
      ts.reduce((p, q) => add(p, q)),
      ts.length,
    );
  },
  Neg: (ins) => neg(ins[0]!),
  Abs: (ins) => abs(ins[0]!),
  Exp: (ins) => exp(ins[0]!),
  Log: (ins) => log(ins[0]!),
  Sqrt: (ins) => sqrt(ins[0]!),
  Reciprocal: (ins) => reciprocal(ins[0]!),
  Floor: (ins) => floor(ins[0]!),
  Ceil: (ins) => ceil(ins[0]!),
  Sign: (ins) => sign(ins[0]!),
  Sin: (ins) => sin(ins[0]!),
  Cos: (ins) => cos(ins[0]!),
  Equal: binary(eq),
  Less: binary(lt),
  Greater: binary(gt),
  Where: (ins) => where(ins[0]!, ins[1]!, ins[2]!),
  Identity: (ins) => ins[0]!,
  MatMul,
  Gemm,
  Reshape,
  Flatten,
  Transpose,
  Squeeze,
  Unsqueeze,
  Slice,
  Gather,
  Concat,
  Pad: PadOp,
  Expand,
  Shape: ShapeOp,
  Constant,
  ConstantOfShape,
  Cast,
  ReduceSum: reduceOp('sum'),
  ReduceMean: reduceOp('mean'),
  ReduceMax: reduceOp('max'),
  ReduceMin: reduceOp('min'),
  ReduceProd: reduceOp('prod'),
  ReduceSumSquare: reduceOp('sumSquare'),
  ReduceL1: reduceOp('l1'),
  ReduceL2: reduceOp('l2'),
  ReduceLogSum: reduceOp('logSum'),
  ReduceLogSumExp: reduceOp('logSumExp'),
};
