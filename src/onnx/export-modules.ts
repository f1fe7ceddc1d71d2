/**
 * How each nn layer is written as ONNX nodes. The exporter treats these modules as leaves: their attributes
 * (stride, eps, slope …) come from the module itself rather than from the ops they run, and their parameters are
 * initializers under their stateDict names.
 */
import { Tensor } from '../tensor/tensor.js';
import { ones, zeros } from '../tensor/creation.js';
import type { AnyModule } from '../nn/module.js';
import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { Flatten, Identity, Linear } from '../nn/linear.js';
import {
  BatchNorm1d,
  BatchNorm2d,
  GroupNorm,
  InstanceNorm2d,
  LayerNorm,
  LocalResponseNorm,
} from '../nn/normalization.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d } from '../nn/pooling.js';
import {
  CELU,
  ELU,
  GELU,
  Hardsigmoid,
  Hardswish,
  Hardtanh,
  LeakyReLU,
  LogSigmoid,
  LogSoftmax,
  Mish,
  PReLU,
  ReLU,
  ReLU6,
  SELU,
  Sigmoid,
  SiLU,
  Softmax,
  Softplus,
  Softsign,
  Tanh,
} from '../nn/activation.js';
import { Dropout, Dropout2d } from '../nn/dropout.js';
import { Upsample } from '../nn/upsampling.js';
import { MultiheadAttention } from '../nn/attention.js';
import type { GraphBuilder } from './builder.js';

/** What a leaf exporter gets: the builder, a resolver from tensors to value names, and the call. */
export interface LeafContext {
  g: GraphBuilder;
  /** The ONNX value name of a tensor (emits whatever produced it). */
  value(t: Tensor): string;
  /** The initializer name of a module's parameter or buffer. */
  param(t: Tensor): string;
  /** A float scalar constant of the input's dtype. */
  scalar(v: number, like: Tensor): string;
  module: AnyModule;
  args: unknown[];
  input: Tensor;
  output: Tensor;
}

// SELU's constants (Klambauer et al. 2017) as the nearest doubles, as PyTorch stores them.
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** ONNX pads [x1_begin, x2_begin, x1_end, x2_end] from symmetric per-dim padding. */
function pads2(p: readonly number[]): number[] {
  return [p[0], p[1], p[0], p[1]];
}

/** Emits y = activation(x) nodes for activation modules; null when `m` is not one. */
function activation(c: LeafContext, m: AnyModule, x: string): string | null {
  const { g } = c;
  if (m instanceof ReLU) return g.node('Relu', [x]);
  if (m instanceof ReLU6) return g.node('Clip', [x, c.scalar(0, c.input), c.scalar(6, c.input)]);
  if (m instanceof Hardtanh) return g.node('Clip', [x, c.scalar(m.minVal, c.input), c.scalar(m.maxVal, c.input)]);
  if (m instanceof LeakyReLU) return g.node('LeakyRelu', [x], { alpha: m.negativeSlope }, { floats: ['alpha'] });
  if (m instanceof ELU) return g.node('Elu', [x], { alpha: m.alpha }, { floats: ['alpha'] });
  if (m instanceof CELU) return g.node('Celu', [x], { alpha: m.alpha }, { floats: ['alpha'] });
  if (m instanceof SELU)
    return g.node('Selu', [x], { alpha: SELU_ALPHA, gamma: SELU_SCALE }, { floats: ['alpha', 'gamma'] });
  if (m instanceof Sigmoid) return g.node('Sigmoid', [x]);
  if (m instanceof Tanh) return g.node('Tanh', [x]);
  if (m instanceof Softsign) return g.node('Softsign', [x]);
  if (m instanceof Hardsigmoid)
    return g.node('HardSigmoid', [x], { alpha: 1 / 6, beta: 0.5 }, { floats: ['alpha', 'beta'] });
  if (m instanceof Hardswish) return hardswish(g, x);
  if (m instanceof SiLU) return g.node('Mul', [x, g.node('Sigmoid', [x])]);
  if (m instanceof Mish) return g.node('Mul', [x, g.node('Tanh', [g.node('Softplus', [x])])]);
  if (m instanceof LogSigmoid) return g.node('Neg', [g.node('Softplus', [g.node('Neg', [x])])]);
  if (m instanceof Softplus) {
    // PyTorch switches to the identity above `threshold`; log1p(exp(t)) differs from t by < 2.1e-9 there.
    if (m.beta === 1) return g.node('Softplus', [x]);
    const b = c.scalar(m.beta, c.input);
    return g.node('Div', [g.node('Softplus', [g.node('Mul', [x, b])]), b]);
  }
  if (m instanceof GELU) return gelu(c, x, m.approximate);
  if (m instanceof Softmax) return g.node('Softmax', [x], { axis: m.dim });
  if (m instanceof LogSoftmax) return g.node('LogSoftmax', [x], { axis: m.dim });
  if (m instanceof PReLU) {
    // PyTorch's weight is [C] along dim 1; ONNX PRelu broadcasts the slope from the right, so reshape it to [C, 1, …].
    const rank = c.input.shape.length;
    const slope =
      rank >= 2 && m.numSlopes > 1
        ? g.node('Reshape', [c.param(m.weight), g.ints('prelu_shape', [m.numSlopes, ...new Array(rank - 2).fill(1)])])
        : c.param(m.weight);
    return g.node('PRelu', [x, slope]);
  }
  return null;
}

/** HardSwish from opset 14; x·HardSigmoid(x) (α = 1/6, β = ½) before. */
export function hardswish(g: GraphBuilder, x: string): string {
  if (g.opset >= 14) return g.node('HardSwish', [x]);
  return g.node('Mul', [x, g.node('HardSigmoid', [x], { alpha: 1 / 6, beta: 0.5 }, { floats: ['alpha', 'beta'] })]);
}

/** GELU: opset ≥ 20 has the operator; below, x·Φ(x) from Erf (or the tanh approximation). */
export function gelu(c: LeafContext, x: string, approximate: 'none' | 'tanh'): string {
  const { g } = c;
  if (g.opset >= 20) return g.node('Gelu', [x], { approximate });
  const half = g.node('Mul', [x, c.scalar(0.5, c.input)]);
  let inner: string;
  if (approximate === 'none') {
    inner = g.node('Erf', [g.node('Div', [x, c.scalar(Math.SQRT2, c.input)])]);
  } else {
    const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
    const poly = g.node('Add', [x, g.node('Mul', [cube, c.scalar(0.044715, c.input)])]);
    inner = g.node('Tanh', [g.node('Mul', [poly, c.scalar(Math.sqrt(2 / Math.PI), c.input)])]);
  }
  return g.node('Mul', [half, g.node('Add', [inner, c.scalar(1, c.input)])]);
}

/** Shape input for Reshape that keeps the leading dims (0 = copy) so a dynamic batch survives. */
function reshapeTarget(c: LeafContext, from: readonly number[], to: readonly number[]): string {
  const t = to.map((d, i) => (i === 0 && from[0] === d ? 0 : d));
  if (t[0] !== 0 && t.length > 0) t[0] = -1;
  return c.g.ints('shape', t);
}

/** Emits the nodes of a leaf module; returns the output's value name, or null if `m` is not a known leaf. */
export function exportLeaf(c: LeafContext): string | null {
  const { g, module: m, input } = c;
  const x = c.value(input);
  const act = activation(c, m, x);
  if (act !== null) return act;
  if (m instanceof Identity || m instanceof Dropout || m instanceof Dropout2d) return g.node('Identity', [x]);
  if (m instanceof Conv2d) {
    if (m.paddingMode !== 'zeros' && m.padding !== 'valid') {
      const p = m.padding === 'same' ? samePads(m.kernelSize, m.dilation) : pads2(m.padding as [number, number]);
      const mode = m.paddingMode === 'reflect' ? 'reflect' : m.paddingMode === 'replicate' ? 'edge' : 'wrap';
      if (mode === 'wrap' && g.opset < 19)
        throw new Error(
          `onnx export: Conv2d with paddingMode 'circular' needs opset ≥ 19 (Pad mode 'wrap'), got opset ${g.opset}`,
        );
      const padded = g.node('Pad', [x, g.ints('pads', [0, 0, p[0], p[1], 0, 0, p[2], p[3]])], { mode });
      return conv(c, m, padded, [0, 0, 0, 0]);
    }
    const p =
      m.padding === 'valid'
        ? [0, 0, 0, 0]
        : m.padding === 'same'
          ? samePads(m.kernelSize, m.dilation)
          : pads2(m.padding);
    return conv(c, m, x, p);
  }
  if (m instanceof ConvTranspose2d) {
    // forward(x, outputSize) picks the output padding from the output shape; recover it from the traced output.
    const [oh, ow] = c.output.shape.slice(2);
    const base = [0, 1].map(
      (i) => (input.shape[2 + i] - 1) * m.stride[i] - 2 * m.padding[i] + m.dilation[i] * (m.kernelSize[i] - 1) + 1,
    );
    const outputPadding = [oh - base[0], ow - base[1]];
    const ins = [x, c.param(m.weight)];
    if (m.bias) ins.push(c.param(m.bias));
    return g.node('ConvTranspose', ins, {
      kernel_shape: m.kernelSize,
      strides: m.stride,
      pads: pads2(m.padding),
      dilations: m.dilation,
      group: m.groups,
      output_padding: outputPadding,
    });
  }
  if (m instanceof Linear) {
    if (input.shape.length === 2 && m.bias)
      return g.node('Gemm', [x, c.param(m.weight), c.param(m.bias)], { transB: 1 });
    const y = g.node('MatMul', [x, g.node('Transpose', [c.param(m.weight)], { perm: [1, 0] })]);
    return m.bias ? g.node('Add', [y, c.param(m.bias)]) : y;
  }
  if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
    if (m.runningMean === null || m.runningVar === null) {
      throw new Error(
        `onnx export: ${m.constructor.name} without running statistics normalises with batch statistics in eval mode, which ONNX BatchNormalization cannot express`,
      );
    }
    const C = m.numFeatures;
    const scale = m.weight ? c.param(m.weight) : g.constant('bn_scale', ones([C], { dtype: input.dtype }));
    const bias = m.bias ? c.param(m.bias) : g.constant('bn_bias', zeros([C], { dtype: input.dtype }));
    return g.node(
      'BatchNormalization',
      [x, scale, bias, c.param(m.runningMean), c.param(m.runningVar)],
      { epsilon: m.eps },
      { floats: ['epsilon'] },
    );
  }
  if (m instanceof InstanceNorm2d) {
    if (m.trackRunningStats)
      throw new Error(
        'onnx export: InstanceNorm2d with trackRunningStats uses running statistics in eval mode, which ONNX InstanceNormalization cannot express',
      );
    const C = input.shape[1];
    const scale = m.weight ? c.param(m.weight) : g.constant('in_scale', ones([C], { dtype: input.dtype }));
    const bias = m.bias ? c.param(m.bias) : g.constant('in_bias', zeros([C], { dtype: input.dtype }));
    return g.node('InstanceNormalization', [x, scale, bias], { epsilon: m.eps }, { floats: ['epsilon'] });
  }
  if (m instanceof GroupNorm) {
    // Normalise [N, G, rest] per (n, g) with InstanceNormalization, then the per-channel affine.
    const G = m.numGroups;
    const grouped = g.node('Reshape', [x, g.ints('gn_shape', [0, G, -1])]);
    const normed = g.node(
      'InstanceNormalization',
      [
        grouped,
        g.constant('gn_one', ones([G], { dtype: input.dtype })),
        g.constant('gn_zero', zeros([G], { dtype: input.dtype })),
      ],
      { epsilon: m.eps },
      { floats: ['epsilon'] },
    );
    let y = g.node('Reshape', [normed, g.node('Shape', [x])]);
    const bshape = g.ints('gn_affine_shape', [m.numChannels, ...new Array(input.shape.length - 2).fill(1)]);
    if (m.weight) y = g.node('Mul', [y, g.node('Reshape', [c.param(m.weight), bshape])]);
    if (m.bias) y = g.node('Add', [y, g.node('Reshape', [c.param(m.bias), bshape])]);
    return y;
  }
  if (m instanceof LayerNorm) {
    if (g.opset < 17)
      throw new Error(`onnx export: LayerNorm needs opset ≥ 17 (LayerNormalization), got opset ${g.opset}`);
    const shape = m.normalizedShape;
    const ins = [x, m.weight ? c.param(m.weight) : g.constant('ln_scale', ones(shape, { dtype: input.dtype }))];
    if (m.bias) ins.push(c.param(m.bias));
    return g.node('LayerNormalization', ins, { axis: -shape.length, epsilon: m.eps }, { floats: ['epsilon'] });
  }
  if (m instanceof LocalResponseNorm) {
    if (m.size % 2 === 0)
      throw new Error(
        `onnx export: LocalResponseNorm with an even size (${m.size}) windows channels differently from ONNX LRN (PyTorch pads size/2 before, ONNX size/2 after)`,
      );
    return g.node(
      'LRN',
      [x],
      { size: m.size, alpha: m.alpha, beta: m.beta, bias: m.k },
      { floats: ['alpha', 'beta', 'bias'] },
    );
  }
  if (m instanceof MaxPool2d) {
    if (m.returnIndices)
      throw new Error(
        "onnx export: MaxPool2d with returnIndices is not exported (ONNX indices are flattened over N·C·H·W, PyTorch's over H·W)",
      );
    const p = pair(m.padding);
    return g.node('MaxPool', [x], {
      kernel_shape: pair(m.kernelSize),
      strides: pair(m.stride),
      pads: pads2(p),
      dilations: pair(m.dilation),
      ceil_mode: m.ceilMode ? 1 : 0,
    });
  }
  if (m instanceof AvgPool2d) {
    if (m.divisorOverride !== null)
      throw new Error('onnx export: AvgPool2d with divisorOverride has no ONNX AveragePool equivalent');
    return g.node('AveragePool', [x], {
      kernel_shape: pair(m.kernelSize),
      strides: pair(m.stride),
      pads: pads2(pair(m.padding)),
      ceil_mode: m.ceilMode ? 1 : 0,
      count_include_pad: m.countIncludePad ? 1 : 0,
    });
  }
  if (m instanceof AdaptiveAvgPool2d || m instanceof AdaptiveMaxPool2d) {
    if (m instanceof AdaptiveMaxPool2d && m.returnIndices)
      throw new Error('onnx export: AdaptiveMaxPool2d with returnIndices is not exported');
    return adaptivePool(g, m instanceof AdaptiveAvgPool2d ? 'avg' : 'max', x, input.shape, c.output.shape);
  }
  if (m instanceof Flatten) {
    const r = input.shape.length;
    const s = m.startDim < 0 ? m.startDim + r : m.startDim,
      e = m.endDim < 0 ? m.endDim + r : m.endDim;
    if (e === r - 1 && s === 1) return g.node('Flatten', [x], { axis: 1 });
    return g.node('Reshape', [x, reshapeTarget(c, input.shape, c.output.shape)]);
  }
  if (m instanceof Upsample) return resize(c, x, m.mode, m.alignCorners ?? false, m.scaleFactor);
  if (m instanceof MultiheadAttention) return attention(c, m, x);
  return null;
}

/** Whether exportLeaf knows this module (the tracer does not look inside these). */
export function isLeaf(m: AnyModule): boolean {
  return LEAVES.some((cls) => m instanceof cls);
}

const LEAVES: (abstract new (...args: never[]) => AnyModule)[] = [
  ReLU,
  ReLU6,
  Hardtanh,
  LeakyReLU,
  ELU,
  CELU,
  SELU,
  Sigmoid,
  Tanh,
  Softsign,
  Hardsigmoid,
  Hardswish,
  SiLU,
  Mish,
  LogSigmoid,
  Softplus,
  GELU,
  Softmax,
  LogSoftmax,
  PReLU,
  Identity,
  Dropout,
  Dropout2d,
  Conv2d,
  ConvTranspose2d,
  Linear,
  BatchNorm1d,
  BatchNorm2d,
  InstanceNorm2d,
  GroupNorm,
  LayerNorm,
  LocalResponseNorm,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  AdaptiveMaxPool2d,
  Flatten,
  Upsample,
  MultiheadAttention,
] as unknown as (abstract new (...args: never[]) => AnyModule)[];

function pair(v: number | readonly number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** PyTorch's padding='same': total d·(k−1) per dim, the odd extra on the end side. */
function samePads(k: readonly number[], d: readonly number[]): number[] {
  const tot = [0, 1].map((i) => d[i] * (k[i] - 1));
  return [
    Math.floor(tot[0] / 2),
    Math.floor(tot[1] / 2),
    tot[0] - Math.floor(tot[0] / 2),
    tot[1] - Math.floor(tot[1] / 2),
  ];
}

function conv(c: LeafContext, m: Conv2d, x: string, pads: number[]): string {
  const ins = [x, c.param(m.weight)];
  if (m.bias) ins.push(c.param(m.bias));
  return c.g.node('Conv', ins, {
    kernel_shape: m.kernelSize,
    strides: m.stride,
    pads,
    dilations: m.dilation,
    group: m.groups,
  });
}

/** Adaptive pooling: global when the output is 1×1, else a fixed pool when each output cell has an equal window. */
export function adaptivePool(
  g: GraphBuilder,
  kind: 'avg' | 'max',
  x: string,
  inShape: readonly number[],
  outShape: readonly number[],
): string {
  const [h, w] = inShape.slice(-2),
    [oh, ow] = outShape.slice(-2);
  if (oh === 1 && ow === 1) return g.node(kind === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x]);
  if (oh % h === 0 && ow % w === 0) {
    // Enlarging by whole factors: every window is the one pixel ⌊i·in/out⌋, i.e. nearest-neighbour upsampling
    // (AlexNet's 6×6 pool after a 1×1 feature map at small inputs).
    const scales = g.constant('scales', new Tensor(Float32Array.from([1, 1, oh / h, ow / w]), [4], 'float32'));
    return g.node('Resize', [x, '', scales], {
      mode: 'nearest',
      coordinate_transformation_mode: 'asymmetric',
      nearest_mode: 'floor',
    });
  }
  if (h % oh !== 0 || w % ow !== 0) {
    throw new Error(
      `onnx export: adaptive ${kind} pooling from ${h}×${w} to ${oh}×${ow} has unequal windows, which ONNX pooling cannot express; use an input size divisible by the output size (or one it divides)`,
    );
  }
  const k = [h / oh, w / ow];
  return g.node(kind === 'avg' ? 'AveragePool' : 'MaxPool', [x], { kernel_shape: k, strides: k });
}

/** Upsample / interpolate as Resize, with the coordinate convention PyTorch uses for each mode. */
export function resize(
  c: LeafContext,
  x: string,
  mode: string,
  alignCorners: boolean,
  scaleFactor: number | readonly number[] | null,
): string {
  const { g } = c;
  const rank = c.input.shape.length;
  const attrs =
    mode === 'nearest'
      ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
      : { mode: 'linear', coordinate_transformation_mode: alignCorners ? 'align_corners' : 'pytorch_half_pixel' };
  if (scaleFactor !== null && !alignCorners) {
    const s = typeof scaleFactor === 'number' ? new Array(rank - 2).fill(scaleFactor) : [...scaleFactor];
    const scales = g.constant('scales', new Tensor(Float32Array.from([1, 1, ...s]), [rank], 'float32'));
    return g.node('Resize', [x, '', scales], attrs);
  }
  return g.node('Resize', [x, '', '', g.ints('sizes', c.output.shape)], attrs);
}

/** Self-attention (query = key = value, no masks) as MatMul / Softmax nodes, batch-first inside. */
function attention(c: LeafContext, m: MultiheadAttention, x: string): string {
  const { g, args } = c;
  const [q, k, v, opts] = args as [
    Tensor,
    Tensor,
    Tensor,
    { attnMask?: unknown; keyPaddingMask?: unknown } | undefined,
  ];
  if (q !== k || q !== v || opts?.attnMask || opts?.keyPaddingMask || q.shape.length !== 3) {
    throw new Error(
      'onnx export: MultiheadAttention is exported for batched self-attention (query = key = value) without masks only',
    );
  }
  const E = m.embedDim,
    H = m.numHeads,
    hd = m.headDim;
  let xb = m.batchFirst ? x : g.node('Transpose', [x], { perm: [1, 0, 2] }); // [N, L, E]
  let qkv = g.node('MatMul', [xb, g.node('Transpose', [c.param(m.inProjWeight)], { perm: [1, 0] })]);
  if (m.inProjBias) qkv = g.node('Add', [qkv, c.param(m.inProjBias)]);
  const split = g.node('Transpose', [g.node('Reshape', [qkv, g.ints('qkv_shape', [0, 0, 3, H, hd])])], {
    perm: [2, 0, 3, 1, 4],
  }); // [3, N, H, L, hd]
  const part = (i: number) =>
    g.node('Gather', [split, g.constant('idx', new Tensor(Int32Array.from([i]), [], 'int32'), { int64: true })], {
      axis: 0,
    });
  const qh = part(0),
    kh = part(1),
    vh = part(2);
  const scores = g.node('MatMul', [
    g.node('Div', [qh, c.scalar(Math.sqrt(hd), c.input)]),
    g.node('Transpose', [kh], { perm: [0, 1, 3, 2] }),
  ]);
  const ctx = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), vh]); // [N, H, L, hd]
  const merged = g.node('Reshape', [
    g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }),
    g.ints('merge_shape', [0, 0, E]),
  ]);
  let out = g.node('MatMul', [merged, g.node('Transpose', [c.param(m.outProj.weight)], { perm: [1, 0] })]);
  if (m.outProj.bias) out = g.node('Add', [out, c.param(m.outProj.bias)]);
  xb = out;
  return m.batchFirst ? xb : g.node('Transpose', [xb], { perm: [1, 0, 2] });
}
