/**
 * ONNX neural-network operators on Tatami ops (so gradients flow for fine-tuning): convolutions, pooling,
 * normalisation, activations, Resize/Upsample, MaxUnpool, DepthToSpace/SpaceToDepth, Dropout. Geometry that
 * Tatami's kernels express only symmetrically (ONNX pads may differ per side) is done by an explicit pad first.
 * Conv, MaxPool and AveragePool take 1-D, 2-D or 3-D inputs (conv1d/2d/3d, maxPool1d/2d/3d, avgPool1d/2d/3d);
 * ConvTranspose and MaxPool's indices output are 2-D only.
 */
import { Tensor } from '../tensor/tensor.js';
import { ones, tensor, zeros } from '../tensor/creation.js';
import { conv2d, convTranspose2d } from '../ops/conv.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../ops/pool.js';
import { conv1d, conv3d } from '../ops/convnd.js';
import { avgPool1d, avgPool3d, maxPool1d, maxPool3d } from '../ops/poolnd.js';
import { batchNorm, instanceNorm, layerNorm, localResponseNorm } from '../ops/norm.js';
import { pad } from '../ops/pad.js';
import { add, clamp, div, exp, sqrt, maximum, minimum, mul, neg, sub, where, lt, abs } from '../ops/elementwise.js';
import { record } from '../autograd/graph.js';
import { elu, hardsigmoid, hardswish, leakyRelu, relu, sigmoid, softplus, tanh } from '../ops/activation.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import { amax, mean } from '../ops/reduce.js';
import { indexSelect, permute, reshape, scatter, slice, to } from '../ops/shape.js';
import { isFloating } from '../tensor/dtype.js';
import { dropout } from '../ops/dropout.js';
import { axis, need, numbers, OnnxUnsupportedError, type OpContext, type OpFn } from './ops-common.js';

/** Spatial rank check: ConvTranspose and MaxPool's indices are 2-D only. */
function require2d(op: string, x: Tensor): void {
  const s = requireSpatial(op, x);
  if (s !== 2)
    throw new OnnxUnsupportedError(op, `${s}-D input ${JSON.stringify(x.shape)} (Tatami's ${op} here is 2-D only)`);
}

/** The number of spatial dims of an [N, C, d…] input: 1, 2 or 3 (as Tatami's convolutions and pools). */
function requireSpatial(op: string, x: Tensor): number {
  const s = x.shape.length - 2;
  if (s >= 1 && s <= 3) return s;
  throw new Error(
    `onnx import: ${op}: expected an [N, C, L], [N, C, H, W] or [N, C, D, H, W] input, got shape ${JSON.stringify(x.shape)}`,
  );
}

/** Begin/end pads per spatial dim from `pads` or `auto_pad` (SAME_UPPER puts the odd pixel at the end). */
function spatialPads(
  op: string,
  ctx: OpContext,
  inShape: readonly number[],
  kernel: number[],
  strides: number[],
  dil: number[],
): [number[], number[]] {
  const autoPad = ctx.attrs.str('auto_pad', 'NOTSET');
  const n = kernel.length;
  if (autoPad === 'NOTSET') {
    const p = ctx.attrs.ints('pads', new Array(2 * n).fill(0));
    return [p.slice(0, n), p.slice(n)];
  }
  if (autoPad === 'VALID') return [new Array(n).fill(0), new Array(n).fill(0)];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER')
    throw new Error(`onnx import: ${op}: unknown auto_pad '${autoPad}'`);
  const b: number[] = [],
    e: number[] = [];
  for (let i = 0; i < n; i++) {
    const inp = inShape[2 + i];
    const out = Math.ceil(inp / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - inp);
    const small = Math.floor(total / 2);
    b.push(autoPad === 'SAME_UPPER' ? small : total - small);
    e.push(autoPad === 'SAME_UPPER' ? total - small : small);
  }
  return [b, e];
}

/** Pads the spatial dims explicitly, `b` before and `e` after each (PyTorch order: last dim first). */
function pad2d(x: Tensor, b: number[], e: number[], value: number): Tensor {
  if (b.every((v) => v === 0) && e.every((v) => v === 0)) return x;
  const amounts: number[] = [];
  for (let d = b.length - 1; d >= 0; d--) amounts.push(b[d], e[d]);
  return pad(x, amounts, { value });
}

const ones1 = (n: number) => new Array<number>(n).fill(1);
const zeros1 = (n: number) => new Array<number>(n).fill(0);
type NdFn<O> = (x: Tensor, k: never, o: O) => Tensor;
/** The 1-D, 2-D or 3-D functional op for `dims` spatial dims. */
const byRank = <F>(dims: number, fns: [F, F, F]): F => fns[dims - 1];

const Conv: OpFn = (ins, ctx) => {
  const x = need('Conv', ins, 0, 'X'),
    w = need('Conv', ins, 1, 'W');
  const dims = requireSpatial('Conv', x);
  const a = ctx.attrs;
  const kernel = a.ints('kernel_shape', w.shape.slice(2));
  const strides = a.ints('strides', ones1(dims)),
    dil = a.ints('dilations', ones1(dims));
  const [b, e] = spatialPads('Conv', ctx, x.shape, kernel, strides, dil);
  const sym = b.every((v, i) => v === e[i]);
  const xin = sym ? x : pad2d(x, b, e, 0);
  type ConvFn = (
    x: Tensor,
    w: Tensor,
    b: Tensor | null,
    o: { stride: number[]; padding: number[]; dilation: number[]; groups: number },
  ) => Tensor;
  const conv = byRank<ConvFn>(dims, [conv1d, conv2d, conv3d] as never);
  return conv(xin, w, ins[2] ?? null, {
    stride: strides,
    padding: sym ? b : zeros1(dims),
    dilation: dil,
    groups: a.int('group', 1),
  });
};

const ConvTranspose: OpFn = (ins, ctx) => {
  const x = need('ConvTranspose', ins, 0, 'X'),
    w = need('ConvTranspose', ins, 1, 'W');
  require2d('ConvTranspose', x);
  const a = ctx.attrs;
  const kernel = a.ints('kernel_shape', w.shape.slice(2));
  if (kernel.join() !== w.shape.slice(2).join())
    throw new Error(
      `ConvTranspose: kernel_shape [${kernel.join(', ')}] does not match the weight's spatial shape [${w.shape.slice(2).join(', ')}]`,
    );
  const strides = a.ints('strides', [1, 1]),
    dil = a.ints('dilations', [1, 1]);
  const outPad = a.ints('output_padding', [0, 0]);
  const group = a.int('group', 1);
  // The full (unpadded) transposed convolution, then crop pads / extend by output_padding, then the bias.
  const full = convTranspose2d(x, w, null, {
    stride: strides as [number, number],
    padding: [0, 0],
    dilation: dil as [number, number],
    groups: group,
  });
  const fullSize = [0, 1].map((i) => full.shape[2 + i]);
  let b: number[], e: number[];
  const outputShape = a.ints('output_shape');
  const autoPad = a.str('auto_pad', 'NOTSET');
  if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const target = outputShape ? outputShape.slice(-2) : [0, 1].map((i) => x.shape[2 + i] * strides[i]);
    const total = [0, 1].map((i) => fullSize[i] + outPad[i] - target[i]);
    // The spec's split: SAME_UPPER crops ⌊total/2⌋ at the start, otherwise the larger half goes first.
    b = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
    e = total.map((t, i) => t - b[i]);
  } else if (autoPad === 'VALID' || autoPad === 'NOTSET') {
    const p = a.ints('pads', [0, 0, 0, 0]);
    b = p.slice(0, 2);
    e = p.slice(2);
  } else throw new Error(`onnx import: ConvTranspose: unknown auto_pad '${autoPad}'`);
  let y = full;
  for (let i = 0; i < 2; i++) {
    const endCut = e[i] - outPad[i];
    if (endCut < 0) y = pad(y, i === 0 ? [0, 0, 0, -endCut] : [0, -endCut, 0, 0]);
    const size = y.shape[2 + i];
    y = slice(y, 2 + i, b[i], size - Math.max(0, endCut));
  }
  if (ins[2]) y = add(y, reshape(ins[2], [-1, 1, 1]));
  return y;
};

/** Output size of ONNX pooling (floor or ceil of (in + pads − dilated kernel) / stride, + 1). */
function poolOut(inp: number, k: number, s: number, d: number, b: number, e: number, ceil: boolean): number {
  const span = inp + b + e - ((k - 1) * d + 1);
  return (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
}

/** Geometry shared by MaxPool and AveragePool, with the extra end padding ceil_mode needs. */
function poolGeometry(op: string, x: Tensor, ctx: OpContext) {
  const dims = requireSpatial(op, x);
  const a = ctx.attrs;
  const kernel = a.ints('kernel_shape');
  if (!kernel) throw new Error(`onnx import: ${op}: kernel_shape is required`);
  const strides = a.ints('strides', ones1(dims)),
    dil = a.ints('dilations', ones1(dims));
  const ceil = a.int('ceil_mode', 0) === 1;
  const [b, e] = spatialPads(op, ctx, x.shape, kernel, strides, dil);
  const axes = kernel.map((_, i) => i);
  const out = axes.map((i) => poolOut(x.shape[2 + i], kernel[i], strides[i], dil[i], b[i], e[i], ceil));
  // Extra end padding so that a floor-mode pool over the padded input yields `out` windows.
  const extra = axes.map((i) =>
    Math.max(0, (out[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - (x.shape[2 + i] + b[i] + e[i])),
  );
  return { dims, kernel, strides, dil, b, e, extra, out };
}

const MaxPool: OpFn = (ins, ctx) => {
  const xi = need('MaxPool', ins, 0, 'X');
  if (!isFloating(xi.dtype)) {
    // Integer pooling through float64 (exact for every int32/uint8 value).
    const r = MaxPool([to(xi, 'float64'), ...ins.slice(1)], ctx);
    return Array.isArray(r) ? [to(r[0]!, xi.dtype), r[1]] : to(r, xi.dtype);
  }
  const x = xi;
  const g = poolGeometry('MaxPool', x, ctx);
  if (ctx.attrs.int('storage_order', 0) !== 0 && ctx.numOutputs > 1)
    throw new OnnxUnsupportedError('MaxPool', 'storage_order=1 (column-major indices)');
  const ee = g.e.map((v, i) => v + g.extra[i]);
  const xp = pad2d(x, g.b, ee, -Infinity);
  const opts = { stride: g.strides, dilation: g.dil, padding: zeros1(g.dims) };
  if (ctx.numOutputs < 2)
    return byRank<NdFn<typeof opts>>(g.dims, [maxPool1d, maxPool2d, maxPool3d] as never)(xp, g.kernel as never, opts);
  require2d('MaxPool', x);
  const [y, idx] = maxPool2d(xp, g.kernel as [number, number], {
    stride: g.strides as [number, number],
    dilation: g.dil as [number, number],
    returnIndices: true,
  });
  // Tatami's indices count within each padded H·W plane; ONNX's within the whole unpadded N·C·H·W tensor.
  const [N, C, H, W] = x.shape,
    Wp = xp.shape[3];
  const fi = to(idx, 'float64');
  const r = sub(div(sub(fi, remainder(fi, Wp)), Wp), g.b[0]),
    col = sub(remainder(fi, Wp), g.b[1]);
  const plane = reshape(
    tensor(
      Float64Array.from({ length: N * C }, (_, i) => i * H * W),
      [N * C],
      { dtype: 'float64' },
    ),
    [N, C, 1, 1],
  );
  return [y, to(add(add(mul(r, W), col), plane), 'int32')];
};

function remainder(x: Tensor, m: number): Tensor {
  // x − m·floor(x/m) for non-negative x, without a floor op on the graph (indices carry no gradient).
  const d = x.toTypedArray();
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = d[i] % m;
  return tensor(out, x.shape, { dtype: 'float64' });
}

const AveragePool: OpFn = (ins, ctx) => {
  const x = need('AveragePool', ins, 0, 'X');
  const g = poolGeometry('AveragePool', x, ctx);
  if (g.dil.some((d) => d !== 1)) throw new OnnxUnsupportedError('AveragePool', 'dilations other than 1');
  const includePad = ctx.attrs.int('count_include_pad', 0) === 1;
  const ee = g.e.map((v, i) => v + g.extra[i]);
  const opts = { stride: g.strides, padding: zeros1(g.dims), countIncludePad: true };
  const pool = (t: Tensor) =>
    byRank<NdFn<typeof opts>>(g.dims, [avgPool1d, avgPool2d, avgPool3d] as never)(t, g.kernel as never, opts);
  const noPad = g.b.every((v) => v === 0) && ee.every((v) => v === 0);
  if (noPad) return pool(x);
  // sum over the window / number of counted cells: pads count when count_include_pad, ceil_mode's extension never.
  const num = pool(pad2d(x, g.b, ee, 0));
  const mask = pad2d(
    pad2d(ones([1, 1, ...x.shape.slice(2)], { dtype: x.dtype }), g.b, g.e, includePad ? 1 : 0),
    zeros1(g.dims),
    g.extra,
    0,
  );
  return div(num, pool(mask));
};

const GlobalAveragePool: OpFn = (ins) => {
  const x = need('GlobalAveragePool', ins, 0, 'X');
  const dims = x.shape.slice(2).map((_, i) => i + 2);
  return x.shape.length === 4 ? adaptiveAvgPool2d(x, 1) : mean(x, dims, true);
};
const GlobalMaxPool: OpFn = (ins) => {
  const x = need('GlobalMaxPool', ins, 0, 'X');
  return amax(
    x,
    x.shape.slice(2).map((_, i) => i + 2),
    true,
  );
};

const MaxUnpool: OpFn = (ins, ctx) => {
  const x = need('MaxUnpool', ins, 0, 'X'),
    idx = need('MaxUnpool', ins, 1, 'I');
  require2d('MaxUnpool', x);
  const a = ctx.attrs;
  const k = a.ints('kernel_shape')!,
    s = a.ints('strides', [1, 1]),
    p = a.ints('pads', [0, 0, 0, 0]);
  const [N, C] = x.shape;
  const dflt = [N, C, ...[0, 1].map((i) => (x.shape[2 + i] - 1) * s[i] + k[i] - p[i] - p[i + 2])];
  const outShape = ins[2] ? numbers(ins[2]) : dflt;
  // Indices run over the whole N·C·H·W of the default output; with a larger output_shape the ONNX reference
  // keeps each index's (row, column) in the default plane and places it in the larger one.
  let index = reshape(idx, [-1]);
  if (outShape[2] !== dflt[2] || outShape[3] !== dflt[3]) {
    const src = idx.toTypedArray(),
      dst = new Int32Array(src.length);
    const [dh, dw] = [dflt[2], dflt[3]],
      [oh, ow] = [outShape[2], outShape[3]];
    for (let i = 0; i < src.length; i++) {
      const plane = Math.floor(src[i] / (dh * dw)),
        within = src[i] % (dh * dw);
      dst[i] = plane * oh * ow + Math.floor(within / dw) * ow + (within % dw);
    }
    index = new Tensor(dst, [dst.length], 'int32');
  }
  const total = outShape.reduce((q, r) => q * r, 1);
  const flat = scatter(zeros([total], { dtype: x.dtype }), 0, index, reshape(x, [-1]));
  return reshape(flat, outShape);
};

const BatchNormalization: OpFn = (ins, ctx) => {
  const [x, scale, bias, runMean, runVar] = ins as Tensor[];
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const trainingMode = ctx.attrs.int('training_mode', 0) === 1;
  if (trainingMode && ctx.numOutputs > 1)
    throw new OnnxUnsupportedError('BatchNormalization', 'training_mode outputs (running_mean/var)');
  const train = ctx.training || trainingMode;
  // ONNX: running = running·momentum + batch·(1 − momentum); PyTorch's momentum is the batch's weight.
  const momentum = 1 - ctx.attrs.float('momentum', 0.9);
  return batchNorm(x, runMean, runVar, { weight: scale, bias, eps, training: train, momentum });
};

const InstanceNormalization: OpFn = (ins, ctx) => {
  const [x, scale, bias] = ins as Tensor[];
  return instanceNorm(x, { weight: scale, bias, eps: ctx.attrs.float('epsilon', 1e-5), useInputStats: true });
};

const LayerNormalization: OpFn = (ins, ctx) => {
  const [x, scale, bias] = ins as Tensor[];
  const ax = axis('LayerNormalization', ctx.attrs.int('axis', -1), x.shape.length);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const y = layerNorm(x, x.shape.slice(ax), { weight: scale, bias: bias ?? null, eps });
  if (ctx.numOutputs < 2) return y;
  // The optional Mean and InvStdDev outputs, over the normalised axes with them kept as size 1.
  const dims = x.shape.slice(ax).map((_, i) => ax + i);
  const mu = mean(x, dims, true);
  const centered = sub(x, mu);
  const inv = div(1, sqrt(add(mean(mul(centered, centered), dims, true), eps)));
  return [y, mu, inv];
};

const LRN: OpFn = (ins, ctx) => {
  const x = need('LRN', ins, 0, 'X');
  const size = ctx.attrs.int('size', 0);
  // ONNX windows channels [c − ⌊(n−1)/2⌋, c + ⌈(n−1)/2⌉]; PyTorch [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋]: equal for odd n.
  if (size % 2 === 0) throw new OnnxUnsupportedError('LRN', `an even size (${size})`);
  return localResponseNorm(x, size, {
    alpha: ctx.attrs.float('alpha', 1e-4),
    beta: ctx.attrs.float('beta', 0.75),
    k: ctx.attrs.float('bias', 1),
  });
};

/** Softmax / LogSoftmax: one axis from opset 13, "flatten from axis to 2-D" before. */
function softmaxOp(log: boolean): OpFn {
  return (ins, ctx) => {
    const x = need('Softmax', ins, 0, 'input');
    const f = log ? logSoftmax : softmax;
    if (ctx.opset >= 13) return f(x, axis('Softmax', ctx.attrs.int('axis', -1), x.shape.length));
    const ax = axis('Softmax', ctx.attrs.int('axis', 1), x.shape.length);
    const outer = x.shape.slice(0, ax).reduce((p, q) => p * q, 1);
    return reshape(f(reshape(x, [outer, -1]), 1), x.shape);
  };
}

const SELU_ALPHA = 1.67326319217681884765625,
  SELU_GAMMA = 1.05070102214813232421875;

const Clip: OpFn = (ins, ctx) => {
  const x = need('Clip', ins, 0, 'input');
  let lo: Tensor | number | null = null,
    hi: Tensor | number | null = null;
  if (ctx.opset < 11) {
    lo = ctx.attrs.float('min', -3.4028234663852886e38);
    hi = ctx.attrs.float('max', 3.4028234663852886e38);
  } else {
    lo = ins[1] ?? null;
    hi = ins[2] ?? null;
  }
  let y = x;
  if (lo !== null) y = typeof lo === 'number' ? clamp(y, lo, null) : maximum(y, lo);
  if (hi !== null) y = typeof hi === 'number' ? clamp(y, null, hi) : minimum(y, hi);
  return y;
};

const Dropout: OpFn = (ins, ctx) => {
  const x = need('Dropout', ins, 0, 'data');
  const ratio = ins[1] ? numbers(ins[1])[0] : ctx.attrs.float('ratio', 0.5);
  const trainingMode = ins[2] ? numbers(ins[2])[0] !== 0 : false;
  if (trainingMode) throw new OnnxUnsupportedError('Dropout', 'training_mode=true (random; no reproducible reference)');
  const y = ctx.training ? dropout(x, { p: ratio, training: true }) : x;
  if (ctx.numOutputs < 2) return y;
  return [y, new Tensor(new Uint8Array(x.numel()).fill(1), x.shape, 'bool')];
};

/** DepthToSpace (DCR or CRD) and SpaceToDepth as reshape + transpose, as the spec defines them. */
const DepthToSpace: OpFn = (ins, ctx) => {
  const x = need('DepthToSpace', ins, 0, 'input');
  const bs = ctx.attrs.int('blocksize', 0);
  const [n, c, h, w] = x.shape;
  const crd = ctx.attrs.str('mode', 'DCR') === 'CRD';
  const t = crd
    ? permute(reshape(x, [n, c / (bs * bs), bs, bs, h, w]), [0, 1, 4, 2, 5, 3])
    : permute(reshape(x, [n, bs, bs, c / (bs * bs), h, w]), [0, 3, 4, 1, 5, 2]);
  return reshape(t, [n, c / (bs * bs), h * bs, w * bs]);
};
const SpaceToDepth: OpFn = (ins, ctx) => {
  const x = need('SpaceToDepth', ins, 0, 'input');
  const bs = ctx.attrs.int('blocksize', 0);
  const [n, c, h, w] = x.shape;
  const t = permute(reshape(x, [n, c, h / bs, bs, w / bs, bs]), [0, 3, 5, 1, 2, 4]);
  return reshape(t, [n, c * bs * bs, h / bs, w / bs]);
};

/**
 * Resize (opset 10+) and Upsample (opset 7–9): nearest or linear, separably along each resized axis with
 * indexSelect (differentiable), for every coordinate_transformation_mode except tf_crop_and_resize.
 */
function resizeOp(upsample: boolean): OpFn {
  return (ins, ctx) => {
    const op = upsample ? 'Upsample' : 'Resize';
    const x = need(op, ins, 0, 'X');
    const a = ctx.attrs;
    let mode = a.str('mode', 'nearest');
    if (mode === 'bilinear') mode = 'linear';
    if (mode !== 'nearest' && mode !== 'linear') throw new OnnxUnsupportedError(op, `mode '${mode}'`);
    const ctm = upsample || ctx.opset < 11 ? 'asymmetric' : a.str('coordinate_transformation_mode', 'half_pixel');
    if (ctm === 'tf_crop_and_resize')
      throw new OnnxUnsupportedError(op, "coordinate_transformation_mode 'tf_crop_and_resize'");
    if (a.int('antialias', 0) !== 0) throw new OnnxUnsupportedError(op, 'antialias');
    if (a.has('axes') || a.str('keep_aspect_ratio_policy', 'stretch') !== 'stretch')
      throw new OnnxUnsupportedError(op, 'axes / keep_aspect_ratio_policy');
    // Upsample and Resize-10 take the nearest pixel at floor(i / scale) (asymmetric coordinates).
    const nearestMode = upsample || ctx.opset < 11 ? 'floor' : a.str('nearest_mode', 'round_prefer_floor');
    const rank = x.shape.length;
    let scales: number[], sizes: number[];
    const scaleT = upsample ? (ctx.opset >= 9 ? ins[1] : null) : ctx.opset >= 11 ? ins[2] : ins[1];
    const sizeT = !upsample && ctx.opset >= 11 ? ins[3] : null;
    if (upsample && ctx.opset < 9) scales = a.floats('scales') ?? [];
    else scales = scaleT && scaleT.numel() > 0 ? numbers(scaleT) : [];
    const fromScales = scales.length === rank;
    if (fromScales) sizes = x.shape.map((s, i) => Math.floor(s * scales[i]));
    else if (sizeT && sizeT.numel() > 0) {
      sizes = numbers(sizeT);
      scales = sizes.map((s, i) => s / x.shape[i]);
    } else throw new Error(`onnx import: ${op}: needs scales or sizes for all ${rank} dims`);
    let y = x;
    for (let d = 0; d < rank; d++) {
      const inLen = x.shape[d],
        outLen = sizes[d],
        scale = scales[d];
      // The resized length in the coordinate formulas is in·scale, unrounded, when scales are given (ONNX reference).
      const resizedLen = fromScales ? inLen * scale : outLen;
      if (inLen === outLen && scale === 1) continue;
      const src = (i: number): number => {
        switch (ctm) {
          case 'half_pixel':
            return (i + 0.5) / scale - 0.5;
          case 'pytorch_half_pixel':
            return resizedLen > 1 ? (i + 0.5) / scale - 0.5 : 0;
          case 'align_corners':
            return resizedLen === 1 ? 0 : (i * (inLen - 1)) / (resizedLen - 1);
          case 'asymmetric':
            return i / scale;
          case 'tf_half_pixel_for_nn':
            return (i + 0.5) / scale;
          default:
            throw new OnnxUnsupportedError(op, `coordinate_transformation_mode '${ctm}'`);
        }
      };
      const clampI = (v: number) => Math.min(Math.max(v, 0), inLen - 1);
      if (mode === 'nearest') {
        const idx = Int32Array.from({ length: outLen }, (_, i) => clampI(nearest(src(i), nearestMode)));
        y = indexSelect(y, d, new Tensor(idx, [outLen], 'int32'));
      } else {
        const i0 = new Int32Array(outLen),
          i1 = new Int32Array(outLen),
          wt = new Float64Array(outLen);
        for (let i = 0; i < outLen; i++) {
          const s = Math.min(Math.max(src(i), 0), inLen - 1);
          const f = Math.floor(s);
          i0[i] = clampI(f);
          i1[i] = clampI(f + 1);
          wt[i] = s - f;
        }
        const wshape = new Array(rank).fill(1);
        wshape[d] = outLen;
        const w1 = to(tensor(wt, wshape, { dtype: 'float64' }), x.dtype);
        const w0 = to(
          tensor(
            wt.map((v) => 1 - v),
            wshape,
            { dtype: 'float64' },
          ),
          x.dtype,
        );
        y = add(
          mul(indexSelect(y, d, new Tensor(i0, [outLen], 'int32')), w0),
          mul(indexSelect(y, d, new Tensor(i1, [outLen], 'int32')), w1),
        );
      }
    }
    return y;
  };
}

function nearest(v: number, mode: string): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return Math.floor(v + 0.5);
    default:
      return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v); // round_prefer_floor
  }
}

/**
 * erf(x), elementwise and differentiable (d/dx = 2/√π·e^(−x²)). Tatami has GELU but no erf op; ONNX graphs from
 * PyTorch write GELU as x·(1 + erf(x/√2))/2. Numerical Recipes' erfc Chebyshev fit: relative error < 1.2e-7.
 */
export function erf(x: Tensor): Tensor {
  const src = x.toTypedArray();
  const out = Tensor.empty(x.shape, x.dtype);
  for (let i = 0; i < src.length; i++) out.storage[i] = erfScalar(src[i]);
  return record('erf', out, [x], () => (g) => [mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]);
}

function erfScalar(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

/** The neural-network operators, by ONNX op_type. */
export const NN_OPS: Record<string, OpFn> = {
  Conv,
  ConvTranspose,
  MaxPool,
  AveragePool,
  GlobalAveragePool,
  GlobalMaxPool,
  MaxUnpool,
  BatchNormalization,
  InstanceNormalization,
  LayerNormalization,
  LRN,
  Dropout,
  DepthToSpace,
  SpaceToDepth,
  Resize: resizeOp(false),
  Upsample: resizeOp(true),
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
  Clip,
  Relu: (ins) => relu(ins[0]!),
  LeakyRelu: (ins, c) => leakyRelu(ins[0]!, { negativeSlope: c.attrs.float('alpha', 0.01) }),
  PRelu: (ins) => {
    const x = ins[0]!;
    let slope = ins[1]!;
    // PyTorch's exports (and opset ≤ 6) give a per-channel slope [C]; numpy broadcasting would align it with the
    // last dim, so read it as [C, 1, …] when it only fits dim 1.
    const r = x.shape.length;
    if (
      slope.shape.length === 1 &&
      r > 2 &&
      slope.shape[0] === x.shape[1] &&
      slope.shape[0] !== x.shape[r - 1] &&
      slope.shape[0] !== 1
    ) {
      slope = reshape(slope, [slope.shape[0], ...new Array(r - 2).fill(1)]);
    }
    return where(lt(x, 0), mul(x, slope), x);
  },
  Elu: (ins, c) => elu(ins[0]!, { alpha: c.attrs.float('alpha', 1) }),
  Selu: (ins, c) =>
    mul(elu(ins[0]!, { alpha: c.attrs.float('alpha', SELU_ALPHA) }), c.attrs.float('gamma', SELU_GAMMA)),
  Celu: (ins, c) => {
    const al = c.attrs.float('alpha', 1),
      x = ins[0]!;
    return add(relu(x), minimum(mul(sub(exp(div(x, al)), 1), al), 0));
  },
  Erf: (ins) => erf(ins[0]!),
  Sigmoid: (ins) => sigmoid(ins[0]!),
  Tanh: (ins) => tanh(ins[0]!),
  HardSigmoid: (ins, c) =>
    c.attrs.float('alpha', 0.2) === Math.fround(1 / 6) && c.attrs.float('beta', 0.5) === 0.5
      ? hardsigmoid(ins[0]!) // PyTorch's constants: Tatami's own kernel, so an export round-trips exactly
      : clamp(add(mul(ins[0]!, c.attrs.float('alpha', 0.2)), c.attrs.float('beta', 0.5)), 0, 1),
  HardSwish: (ins) => hardswish(ins[0]!),
  Softplus: (ins) => softplus(ins[0]!),
  Softsign: (ins) => div(ins[0]!, add(abs(ins[0]!), 1)),
  ThresholdedRelu: (ins, c) => where(lt(c.attrs.float('alpha', 1), ins[0]!), ins[0]!, 0),
};
