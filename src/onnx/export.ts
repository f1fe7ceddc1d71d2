/**
 * ONNX export by tracing one forward pass (as torch.onnx.export does). Layers the exporter knows (Conv2d, Linear,
 * BatchNorm2d, pools, activations … see export-modules.ts) are written from their own attributes; everything a
 * model's `forward` does between layers (residual adds, flatten, cat, slicing, permutes, reductions) is seen
 * through an op observer on the autograd recorder and written from the traced tensors' shapes, strides and values.
 * Parameters and buffers become initializers under their `stateDict` names, so an export imports back with the
 * same names (and loads into PyTorch by name).
 *
 * The trace records one input shape: control flow in `forward` is frozen at the traced branch, and a
 * `dynamicAxes` entry only names a dimension symbolically (Reshape keeps leading dims with 0/-1 so a dynamic batch
 * survives the usual flatten and reshape patterns; Expand to a batch-sized shape does not).
 */
import { writeFileSync } from 'node:fs';
import { setRecordObserver } from '../autograd/graph.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { AnyModule, Module } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { GraphBuilder } from './builder.js';
import { adaptivePool, exportLeaf, gelu, hardswish, isLeaf, type LeafContext } from './export-modules.js';
import { encodeModel, makeValueInfo, onnxTypeOf, type ModelProto } from './proto.js';

/** Options of exportModel (torch.onnx.export's, in camelCase). */
export interface ExportOptions {
  /** ONNX opset (default 17; 13–21 are produced, LayerNorm needs ≥ 17). */
  opset?: number;
  /** Graph input names (default ['input']). */
  inputNames?: string[];
  /** Graph output names (default ['output']). */
  outputNames?: string[];
  /** Symbolic dims per input/output name, e.g. { input: { 0: 'batch' }, output: { 0: 'batch' } }. */
  dynamicAxes?: Record<string, Record<number, string> | number[]>;
  /** Graph name (default the model's class name). */
  graphName?: string;
}

interface Traced {
  op: string;
  inputs: readonly (Tensor | null | undefined)[];
  /** The output's version when recorded: a later in-place op (relu_, add_) would not be in the graph. */
  version: number;
}

/** What emitGlue needs besides the op: value names, constants, and the graph input for dynamic shapes. */
interface GlueContext {
  g: GraphBuilder;
  value(t: Tensor): string;
  scalar(v: number, like: Tensor): string;
  input: Tensor;
  inputName: string;
  dynamicBatch: boolean;
}

/**
 * Traces `model.forward(exampleInput)` in eval mode and returns the ONNX model as bytes. The model's training flag
 * is restored afterwards. Throws naming the op when something in the forward pass has no ONNX form here.
 */
export function exportModelBytes(
  model: Module<[Tensor], Tensor> | AnyModule,
  exampleInput: Tensor,
  opts: ExportOptions = {},
): Uint8Array {
  return encodeModel(traceModel(model, exampleInput, opts));
}

/**
 * Exports `model` to an .onnx file at `path` (see exportModelBytes). Usage:
 * `tt.onnx.exportModel(net, tt.randn([1, 3, 224, 224]), 'net.onnx', { dynamicAxes: { input: [0], output: [0] } })`.
 */
export function exportModel(
  model: Module<[Tensor], Tensor> | AnyModule,
  exampleInput: Tensor,
  path: string,
  opts: ExportOptions = {},
): void {
  writeFileSync(path, exportModelBytes(model, exampleInput, opts));
}

/** The traced ModelProto (exportModelBytes without serialising). */
export function traceModel(
  model: Module<[Tensor], Tensor> | AnyModule,
  exampleInput: Tensor,
  opts: ExportOptions = {},
): ModelProto {
  const opset = opts.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 13 || opset > 21)
    throw new Error(`onnx export: opset must be an integer in 13..21, got ${opset}`);
  const inputName = opts.inputNames?.[0] ?? 'input';
  const outputName = opts.outputNames?.[0] ?? 'output';
  const m = model as AnyModule;

  // 1. Trace: leaf modules report (args, output) through hooks; every op reports itself through the observer.
  const ops = new Map<Tensor, Traced>();
  const leaves = new Map<Tensor, { module: AnyModule; args: unknown[] }>();
  const handles: (() => void)[] = [];
  for (const sub of m.modules()) {
    if (!isLeaf(sub)) continue;
    handles.push(
      sub.registerForwardHook((mod, args, out) => {
        const t = Array.isArray(out) ? out[0] : out;
        if (t instanceof Tensor && t !== args[0] && !leaves.has(t))
          leaves.set(t, { module: mod, args: [...(args as unknown[])] });
      }),
    );
  }
  const wasTraining = m.training;
  m.eval();
  const input = exampleInput.detach();
  let output: Tensor;
  const prev = setRecordObserver((op, out, inputs) => {
    // The last record of a tensor wins: a composite op (sum = reduce kernel + reshape) records its own name after
    // its parts. Copy the inputs: an op may keep the caller's array (DenseNet's cat of a list it appends to later).
    ops.set(out, { op, inputs: [...inputs], version: out.version });
  });
  try {
    const o = noGrad(() => m.forward(input)) as unknown;
    output = (Array.isArray(o) ? o[0] : o) as Tensor;
    if (!(output instanceof Tensor))
      throw new Error("onnx export: the model's forward must return a tensor (or an array whose first element is one)");
  } finally {
    setRecordObserver(prev);
    for (const h of handles) h();
    m.train(wasTraining);
  }

  // 2. Emit from the output back to the input.
  const g = new GraphBuilder(opset);
  const dynIn = opts.dynamicAxes?.[inputName];
  const dynamicBatch = Array.isArray(dynIn) ? dynIn.includes(0) : dynIn !== undefined && 0 in dynIn;
  g.reserve(inputName);
  const params = new Map<Tensor, string>();
  for (const [name, p] of m.namedParameters()) if (!params.has(p)) params.set(p, name);
  for (const [name, b] of m.namedBuffers()) if (b && !params.has(b)) params.set(b, name);
  const emitted = new Map<Tensor, string>([[input, inputName]]);
  const paramName = (t: Tensor): string => {
    const known = emitted.get(t);
    if (known) return known;
    const name = params.get(t);
    if (name === undefined)
      throw new Error(`onnx export: a layer parameter of shape ${formatShape(t.shape)} is not registered on the model`);
    const n = g.initializer(name, t, { reserved: false });
    emitted.set(t, n);
    return n;
  };
  const scalar = (v: number, like: Tensor) =>
    g.constant(
      'const',
      new Tensor(
        like.dtype === 'float64' ? Float64Array.of(v) : Float32Array.of(v),
        [],
        like.dtype === 'float64' ? 'float64' : 'float32',
      ),
    );

  // Iterative post-order so deep networks (ResNet-152, DenseNet) do not exhaust the JS stack.
  const deps = (t: Tensor): Tensor[] => {
    const leaf = leaves.get(t);
    if (leaf) return [leaf.args[0] as Tensor];
    const op = ops.get(t);
    return op ? op.inputs.filter((x): x is Tensor => x instanceof Tensor) : [];
  };
  const value = (root: Tensor): string => {
    const stack: [Tensor, boolean][] = [[root, false]];
    while (stack.length > 0) {
      const [t, ready] = stack.pop()!;
      if (emitted.has(t)) continue;
      if (!ready) {
        stack.push([t, true]);
        for (const d of deps(t)) if (!emitted.has(d)) stack.push([d, false]);
        continue;
      }
      emitted.set(t, emitOne(t));
    }
    return emitted.get(root)!;
  };
  const emitOne = (t: Tensor): string => {
    const leaf = leaves.get(t);
    if (leaf) {
      const ctx: LeafContext = {
        g,
        value,
        param: paramName,
        scalar,
        module: leaf.module,
        args: leaf.args,
        input: leaf.args[0] as Tensor,
        output: t,
      };
      const out = exportLeaf(ctx);
      if (out === null) throw new Error(`onnx export: no ONNX form for ${leaf.module.constructor.name}`);
      return out;
    }
    if (params.has(t)) return paramName(t);
    const op = ops.get(t);
    if (!op) return g.constant('const', t); // a constant made inside forward (a tensor() literal)
    if (t.version !== op.version) {
      throw new Error(
        `onnx export: the output of '${op.op}' (shape ${formatShape(t.shape)}) was modified in place afterwards (relu_, add_ …), which the trace cannot see; use the out-of-place op`,
      );
    }
    return emitGlue({ g, value, scalar, input, inputName, dynamicBatch }, op, t);
  };

  const outValue = value(output);
  const dyn = (name: string): Record<number, string> => {
    const d = opts.dynamicAxes?.[name];
    if (!d) return {};
    if (Array.isArray(d)) return Object.fromEntries(d.map((i) => [i, `${name}_dim${i}`]));
    return d;
  };
  const shapeOf = (name: string, t: Tensor) => t.shape.map((s, i) => dyn(name)[i] ?? s);
  // The graph output must be a node's output with the requested name.
  const finalOut = g.node('Identity', [outValue], {}, { out: g.reserve(outputName) });
  const proto = g.model(
    [makeValueInfo(inputName, onnxTypeOf(input.dtype), shapeOf(inputName, input))],
    [makeValueInfo(finalOut, onnxTypeOf(output.dtype), shapeOf(outputName, output))],
    opts.graphName ?? m.constructor.name,
    '0.1.0',
  );
  return proto;
}

const UNARY: Record<string, string> = {
  neg: 'Neg',
  abs: 'Abs',
  exp: 'Exp',
  log: 'Log',
  sqrt: 'Sqrt',
  reciprocal: 'Reciprocal',
  sin: 'Sin',
  cos: 'Cos',
  floor: 'Floor',
  ceil: 'Ceil',
  round: 'Round',
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  sign: 'Sign',
  clone: 'Identity',
  softsign: 'Softsign',
};
const BINARY: Record<string, string> = {
  add: 'Add',
  sub: 'Sub',
  mul: 'Mul',
  div: 'Div',
  pow: 'Pow',
  mm: 'MatMul',
  bmm: 'MatMul',
  maximum: 'Max',
  minimum: 'Min',
};

/** Writes one op seen between layers, recovering its attributes from the traced tensors. */
function emitGlue(c: GlueContext, tr: Traced, out: Tensor): string {
  const { g, value, scalar } = c;
  const ins = tr.inputs.filter((x): x is Tensor => x instanceof Tensor);
  const x = ins[0];
  const name = () => value(x);
  const fail = (why: string): never => {
    throw new Error(
      `onnx export: cannot export the functional op '${tr.op}' (input ${formatShape(x?.shape ?? [])} → ${formatShape(out.shape)}) used in a forward: ${why}`,
    );
  };
  if (UNARY[tr.op]) return g.node(UNARY[tr.op], [name()]);
  if (BINARY[tr.op]) return g.node(BINARY[tr.op], [value(ins[0]), value(ins[1])]);
  switch (tr.op) {
    case 'hardswish':
      return hardswish(g, name());
    case 'square':
      return g.node('Mul', [name(), name()]);
    case 'rsqrt':
      return g.node('Reciprocal', [g.node('Sqrt', [name()])]);
    case 'relu6':
      return g.node('Clip', [name(), scalar(0, x), scalar(6, x)]);
    case 'hardsigmoid':
      return g.node('HardSigmoid', [name()], { alpha: 1 / 6, beta: 0.5 }, { floats: ['alpha', 'beta'] });
    case 'silu':
      return g.node('Mul', [name(), g.node('Sigmoid', [name()])]);
    case 'gelu': {
      // The tanh form and the erf form differ by up to ~5e-4; tell them apart by the traced values.
      const approx = geluIsTanh(x, out) ? 'tanh' : 'none';
      return gelu({ g, scalar, input: x } as unknown as LeafContext, name(), approx);
    }
    case 'to':
      return out.dtype === x.dtype
        ? g.node('Identity', [name()])
        : g.node('Cast', [name()], { to: onnxTypeOf(out.dtype) });
    case 'reshape':
    case 'view':
      return g.node('Reshape', [name(), g.ints('shape', reshapeDims(x.shape, out.shape))]);
    case 'permute':
      return g.node('Transpose', [name()], { perm: permutation(x, out) ?? fail('the permutation is ambiguous') });
    case 'expand': {
      // Expanding a size-1 dim 0 to the batch size: take it from the input's shape when the batch is dynamic.
      if (c.dynamicBatch && x.shape[0] === 1 && out.shape[0] === c.input.shape[0] && out.shape.length > 0) {
        const batch = g.node('Slice', [g.node('Shape', [c.inputName]), g.ints('starts', [0]), g.ints('ends', [1])]);
        const shape = g.node('Concat', [batch, g.ints('shape', out.shape.slice(1))], { axis: 0 });
        return g.node('Expand', [name(), shape]);
      }
      return g.node('Expand', [name(), g.ints('shape', out.shape)]);
    }
    case 'slice':
      return sliceNode(g, x, out, name(), fail);
    case 'cat': {
      const axis = catAxis(ins, out) ?? fail('the concatenation axis is ambiguous');
      return g.node('Concat', ins.map(value), { axis });
    }
    case 'sum':
    case 'amax':
    case 'amin': {
      const { axes, keep } = reducedAxes(x.shape, out.shape);
      if (axes.length === 0)
        return g.node(keep ? 'Identity' : 'Reshape', keep ? [name()] : [name(), g.ints('shape', out.shape)]);
      const op = tr.op === 'sum' ? 'ReduceSum' : tr.op === 'amax' ? 'ReduceMax' : 'ReduceMin';
      // ReduceSum takes axes as an input from opset 13; ReduceMax/Min from 18.
      if (op === 'ReduceSum' || g.opset >= 18)
        return g.node(op, [name(), g.ints('axes', axes)], { keepdims: keep ? 1 : 0 });
      return g.node(op, [name()], { axes, keepdims: keep ? 1 : 0 });
    }
    case 'softmax':
    case 'logSoftmax': {
      const axis = softmaxAxis(out, tr.op === 'logSoftmax') ?? fail('the softmax axis could not be recovered');
      return g.node(tr.op === 'softmax' ? 'Softmax' : 'LogSoftmax', [name()], { axis });
    }
    case 'adaptiveAvgPool2d':
      return adaptivePool(g, 'avg', name(), x.shape, out.shape);
    case 'adaptiveMaxPool2d':
      return adaptivePool(g, 'max', name(), x.shape, out.shape);
    case 'pad': {
      const p =
        constantPads(x, out) ??
        fail('only constant padding is exported from functional pad (use a layer for reflect/replicate)');
      return g.node('Pad', [name(), g.ints('pads', p.pads), scalar(p.value, x)], { mode: 'constant' });
    }
    case 'clamp':
      return fail('clamp bounds are not traced; use nn.Hardtanh or nn.ReLU6');
    default:
      return fail('it has no ONNX mapping in the exporter; wrap it in an nn layer that has one (see docs/onnx.md)');
  }
}

/** Reshape target with 0 for a preserved leading dim (or -1 for a merged one) so dynamic batches survive. */
function reshapeDims(from: readonly number[], to: readonly number[]): number[] {
  const t = [...to];
  if (t.length === 0) return t;
  if (from.length > 0 && from[0] === to[0]) t[0] = 0;
  else if (!t.includes(-1)) t[0] = -1;
  return t;
}

/** The permutation that maps `x` to the view `out`, from their strides. */
function permutation(x: Tensor, out: Tensor): number[] | null {
  const r = x.shape.length;
  if (out.shape.length !== r) return null;
  const perm = new Array<number>(r).fill(-1);
  const used = new Set<number>();
  for (let i = 0; i < r; i++) {
    if (out.shape[i] === 1) continue;
    const j = x.shape.findIndex((s, k) => !used.has(k) && s === out.shape[i] && x.strides[k] === out.strides[i]);
    if (j < 0) return null;
    perm[i] = j;
    used.add(j);
  }
  // Size-1 dims: any assignment gives the same tensor; keep their relative order.
  const ones = x.shape.map((_, k) => k).filter((k) => !used.has(k));
  for (let i = 0; i < r; i++) if (perm[i] < 0) perm[i] = ones.shift()!;
  return perm;
}

/** Slice nodes for a strided view `out` of `x`. */
function sliceNode(g: GraphBuilder, x: Tensor, out: Tensor, xn: string, fail: (why: string) => never): string {
  if (out.shape.length !== x.shape.length) fail('a slice that changes the rank');
  const dims: number[] = [];
  for (let d = 0; d < x.shape.length; d++)
    if (out.shape[d] !== x.shape[d] || out.strides[d] !== x.strides[d]) dims.push(d);
  if (dims.length === 0) return g.node('Identity', [xn]);
  // Decompose the offset over the sliced dims, largest stride first.
  let rem = out.offset - x.offset;
  const starts = new Map<number, number>();
  for (const d of [...dims].sort((a, b) => x.strides[b] - x.strides[a])) {
    const s = Math.floor(rem / x.strides[d]);
    starts.set(d, s);
    rem -= s * x.strides[d];
  }
  if (rem !== 0) fail('the slice offset does not decompose over the sliced dims');
  const st = dims.map((d) => starts.get(d)!),
    steps = dims.map((d) => out.strides[d] / x.strides[d]);
  const ends = dims.map((d, i) => st[i] + steps[i] * (out.shape[d] - 1) + 1);
  if (steps.some((s) => !Number.isInteger(s) || s <= 0)) fail('a non-positive or fractional slice step');
  return g.node('Slice', [
    xn,
    g.ints('starts', st),
    g.ints('ends', ends),
    g.ints('axes', dims),
    g.ints('steps', steps),
  ]);
}

function catAxis(ins: Tensor[], out: Tensor): number | null {
  for (let d = 0; d < out.shape.length; d++) {
    if (
      ins.reduce((a, t) => a + t.shape[d], 0) === out.shape[d] &&
      ins.every((t) => t.shape.every((s, k) => k === d || s === out.shape[k]))
    )
      return d;
  }
  return null;
}

/** Reduced axes and keepdim from the shapes before and after a reduction (size-1 axes reduce to themselves). */
function reducedAxes(from: readonly number[], to: readonly number[]): { axes: number[]; keep: boolean } {
  if (to.length === from.length) return { axes: from.map((_, i) => i).filter((i) => from[i] !== to[i]), keep: true };
  // keepdim false: embed `to` in `from` left to right; the dims left over were reduced.
  const axes: number[] = [];
  let j = 0;
  for (let i = 0; i < from.length; i++) {
    if (j < to.length && from[i] === to[j] && from.length - i - 1 >= to.length - j - 1) j++;
    else axes.push(i);
  }
  return { axes, keep: false };
}

/** The softmax axis: the (last) one along which the traced output sums to 1 (log-softmax: exp sums to 1). */
function softmaxAxis(out: Tensor, log: boolean): number | null {
  const data = out.toTypedArray();
  const shape = out.shape;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d];
    const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    const outer = data.length / (size * inner);
    let ok = true;
    for (let o = 0; o < outer && ok; o++) {
      for (let i = 0; i < inner && ok; i++) {
        let s = 0;
        for (let k = 0; k < size; k++) {
          const v = data[(o * size + k) * inner + i];
          s += log ? Math.exp(v) : v;
        }
        if (Math.abs(s - 1) > 1e-3) ok = false;
      }
    }
    if (ok) return d;
  }
  return null;
}

function geluIsTanh(x: Tensor, out: Tensor): boolean {
  const xs = x.toTypedArray(),
    ys = out.toTypedArray();
  let errTanh = 0,
    errErf = 0;
  for (let i = 0; i < Math.min(xs.length, 4096); i++) {
    const v = xs[i];
    const t = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    const e = 0.5 * v * (1 + erf(v / Math.SQRT2));
    errTanh += Math.abs(ys[i] - t);
    errErf += Math.abs(ys[i] - e);
  }
  return errTanh < errErf;
}

/** Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): enough to tell GELU's two forms apart. */
function erf(x: number): number {
  const s = Math.sign(x),
    a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

/** Finds where `x` sits inside the padded `out` and the constant around it (null if not a constant pad). */
function constantPads(x: Tensor, out: Tensor): { pads: number[]; value: number } | null {
  const r = x.shape.length;
  if (out.shape.length !== r) return null;
  const totals = x.shape.map((s, i) => out.shape[i] - s);
  if (totals.some((t) => t < 0)) return null;
  const xs = x.toTypedArray(),
    os = out.toTypedArray();
  const oStrides = out.shape.map((_, i) => out.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const padded = totals.map((t, i) => (t > 0 ? i : -1)).filter((i) => i >= 0);
  const combos = padded.reduce((a, i) => a * (totals[i] + 1), 1);
  if (combos > 4096) return null;
  for (let c = 0; c < combos; c++) {
    const before = new Array<number>(r).fill(0);
    let k = c;
    for (const i of padded) {
      before[i] = k % (totals[i] + 1);
      k = Math.floor(k / (totals[i] + 1));
    }
    let ok = true;
    const idx = new Array<number>(r).fill(0);
    for (let n = 0; n < xs.length && ok; n++) {
      let rem = n,
        off = 0;
      for (let d = r - 1; d >= 0; d--) {
        idx[d] = rem % x.shape[d];
        rem = Math.floor(rem / x.shape[d]);
        off += (idx[d] + before[d]) * oStrides[d];
      }
      if (!Object.is(os[off], xs[n]) && os[off] !== xs[n]) ok = false;
    }
    if (!ok) continue;
    const pads = [...before, ...before.map((b, i) => totals[i] - b)];
    // The value: any output element outside the input's box.
    let value = 0;
    for (let o = 0; o < os.length; o++) {
      let rem = o,
        inside = true;
      for (let d = r - 1; d >= 0; d--) {
        const i = rem % out.shape[d];
        rem = Math.floor(rem / out.shape[d]);
        if (i < before[d] || i >= before[d] + x.shape[d]) inside = false;
      }
      if (!inside) {
        value = os[o];
        break;
      }
    }
    return { pads, value };
  }
  return null;
}
