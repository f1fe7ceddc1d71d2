/**
 * Convolution and transposed convolution over N = 1, 2 or 3 spatial dims (torch.nn.functional.conv1d/2d/3d and
 * conv_transpose1d/2d/3d). The op layer validates, works out the geometry exactly as PyTorch does, and calls the
 * backend's three convolution maps — forward, input gradient, weight gradient; a transposed convolution runs the
 * same three with the roles of forward and input gradient swapped.
 *
 * One implementation over N: validation, geometry and autograd are written once with per-dim arrays, and only the
 * backend call depends on N — 2-D and 1-D (as 2-D with a unit height, the same memory layout) run the backend's
 * 2-D kernels, 3-D its 3-D kernels. This file holds the N-d core and the 2-D functions; ./convnd.ts the 1-D and
 * 3-D ones.
 */
import { record } from '../autograd/graph.js';
import { isCreatingGraph, isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { Conv2dGeometry, Conv3dGeometry, ConvEpilogue } from '../backend/types.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { FloatArray } from '../tensor/dtype.js';
import { allocate, recycleStorage } from '../tensor/storage.js';
import { packedConv2dWeights } from './conv-pack.js';
import { gt, mul } from './elementwise.js';
import { padImpl } from './pad.js';
import { sum } from './reduce.js';
import { squeeze, unsqueeze } from './shape.js';
import { floatData, requireFloat, requireRank, requireTensor, tupleN, type IntPair } from './util.js';

export type { IntPair } from './util.js';

/** Border mode of a convolution's implicit padding. */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

/** Options of conv1d/2d/3d (T = IntSingle / IntPair / IntTriple). */
export interface ConvNdOptions<T> {
  /** Step of the sliding window (default 1). */
  stride?: T;
  /**
   * Implicit padding on both sides (default 0), or 'valid' (none) or 'same' (output size = input size, stride 1
   * only; with an even effective kernel the extra row/column goes at the end of the dim, like PyTorch).
   */
  padding?: T | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: T;
  /** Channel groups (default 1); groups = in channels = out channels / k gives a depthwise convolution. */
  groups?: number;
  /** How the padding is filled (default 'zeros'); other modes pad with F.pad first, as nn.Conv1d/2d/3d do. */
  paddingMode?: ConvPaddingMode;
}

export interface Conv2dOptions extends ConvNdOptions<IntPair> {
  /**
   * Tatami extension: 'relu' applies ReLU in the convolution's epilogue — the same values and gradients as
   * `relu(conv2d(...))` without a separate pass or tensor for the pre-activation (nn.Sequential uses it for
   * Conv2d → ReLU pairs). Default 'none'.
   */
  activation?: 'none' | 'relu';
}

/** Options of convTranspose1d/2d/3d (T = IntSingle / IntPair / IntTriple). */
export interface ConvTransposeNdOptions<T> {
  stride?: T;
  /** dilation·(k−1)−padding zero rows/columns are effectively added around the input (default 0). */
  padding?: T;
  /** Extra rows/columns added to one side of the output to pick among the sizes a strided conv maps from (default 0). */
  outputPadding?: T;
  groups?: number;
  dilation?: T;
}
export type ConvTranspose2dOptions = ConvTransposeNdOptions<IntPair>;

/** A per-dim int option of any rank. */
type IntN = number | readonly number[];

const shapeStr = (s: readonly number[]) => `[${s.join(',')}]`;
const LAYOUTS = ['', 'NCL, or CL unbatched', 'NCHW, or CHW unbatched', 'NCDHW, or CDHW unbatched'];
const KERNEL_NAMES = ['', 'k', 'kh, kw', 'kd, kh, kw'];
/** How a list of `dims` ints is named in messages (PyTorch's _single/_pair/_triple). */
const listOf = (dims: number) => (dims === 2 ? 'a pair' : `a list of ${dims}`);

function checkGroups(op: string, groups: number): number {
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  return groups;
}

function checkOperands(op: string, dims: number, x: Tensor, weight: Tensor, bias: Tensor | null, transposed: boolean) {
  requireTensor(op, x);
  requireFloat(op, x);
  requireFloat(op, weight, 'weight');
  if (bias !== null) requireFloat(op, bias, 'bias');
  requireRank(op, x, [dims + 1, dims + 2], 'input', LAYOUTS[dims]);
  const channels = transposed ? 'inChannels, outChannels/groups' : 'outChannels, inChannels/groups';
  requireRank(op, weight, dims + 2, 'weight', `[${channels}, ${KERNEL_NAMES[dims]}]`);
  if (weight.dtype !== x.dtype)
    throw new Error(`${op}: input is ${x.dtype} but weight is ${weight.dtype}; they must match`);
  // As PyTorch: an empty kernel is an error (the kernels would otherwise loop over the other kernel dims for nothing).
  if (weight.shape.slice(2).some((k) => k < 1))
    throw new Error(`${op}: weight ${shapeStr(weight.shape)} has a zero-size kernel; every kernel size must be ≥ 1`);
  if (bias !== null && bias.dtype !== x.dtype)
    throw new Error(`${op}: input is ${x.dtype} but bias is ${bias.dtype}; they must match`);
}

/** Adds a leading batch dim to unbatched input (rank dims + 1) and removes it from the result. */
function batched(x: Tensor, dims: number, fn: (xb: Tensor) => Tensor): Tensor {
  return x.shape.length === dims + 1 ? squeeze(fn(unsqueeze(x, 0)), 0) : fn(x);
}

// ---- the backend geometry, and the three maps on it ----

/** The backend's geometry of a convolution: 2-D for N = 1 (with a unit height) and N = 2, 3-D for N = 3. */
export type ConvGeometry = Conv2dGeometry | Conv3dGeometry;
const is3d = (g: ConvGeometry): g is Conv3dGeometry => 'kd' in g;

/** Per-dim sizes of a convolution of N spatial dims; `pad` is the zero padding in front (the back is implied). */
interface ConvSizes {
  n: number;
  c: number;
  oc: number;
  groups: number;
  inSize: readonly number[];
  outSize: readonly number[];
  kernel: readonly number[];
  stride: readonly number[];
  pad: readonly number[];
  dilation: readonly number[];
}

function geometryOf(s: ConvSizes): ConvGeometry {
  const { n, c, oc, groups } = s;
  if (s.inSize.length === 3) {
    const [[d, h, w], [od, oh, ow], [kd, kh, kw]] = [s.inSize, s.outSize, s.kernel];
    const [[strideD, strideH, strideW], [padD, padH, padW], [dilationD, dilationH, dilationW]] = [
      s.stride,
      s.pad,
      s.dilation,
    ];
    return {
      n,
      c,
      d,
      h,
      w,
      oc,
      kd,
      kh,
      kw,
      od,
      oh,
      ow,
      strideD,
      strideH,
      strideW,
      padD,
      padH,
      padW,
      dilationD,
      dilationH,
      dilationW,
      groups,
    };
  }
  // 1-D: a unit height, with a unit kernel, stride and dilation and no padding along it
  const two = (v: readonly number[], unit: number) => (v.length === 1 ? [unit, v[0]] : v);
  const [[h, w], [oh, ow], [kh, kw]] = [two(s.inSize, 1), two(s.outSize, 1), two(s.kernel, 1)];
  const [[strideH, strideW], [padH, padW], [dilationH, dilationW]] = [
    two(s.stride, 1),
    two(s.pad, 0),
    two(s.dilation, 1),
  ];
  return { n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW, groups };
}

/** Spatial input, output and kernel sizes of `g` for tensors with `dims` spatial dims (1-D drops the unit height). */
function spatial(g: ConvGeometry, dims: number): [number[], number[], number[]] {
  if (is3d(g))
    return [
      [g.d, g.h, g.w],
      [g.od, g.oh, g.ow],
      [g.kd, g.kh, g.kw],
    ];
  const s = [
    [g.h, g.w],
    [g.oh, g.ow],
    [g.kh, g.kw],
  ];
  return (dims === 1 ? s.map((v) => v.slice(1)) : s) as [number[], number[], number[]];
}
const inShape = (g: ConvGeometry, dims: number) => [g.n, g.c, ...spatial(g, dims)[0]];
const outShape = (g: ConvGeometry, dims: number) => [g.n, g.oc, ...spatial(g, dims)[1]];
const weightShape = (g: ConvGeometry, dims: number) => [g.oc, g.c / g.groups, ...spatial(g, dims)[2]];
/** The dims a bias gradient sums over: batch and spatial. */
const biasDims = (dims: number) => [0, ...Array.from({ length: dims }, (_, d) => d + 2)];

/** out = W ⋆ x (+ bias, epilogue: 2-D kernels only) */
function forwardKernel(
  g: ConvGeometry,
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  out: FloatArray,
  epilogue: ConvEpilogue = 'none',
  scale: FloatArray | null = null,
  weight: Tensor | null = null,
): void {
  // inference reuses the weights' transform across calls (conv-pack.ts); `weight` is the tensor behind w
  if (!is3d(g))
    backend().conv2d(x, w, bias, out, g, epilogue, scale, weight === null ? null : packedConv2dWeights(weight, g));
  else if (epilogue === 'none' && scale === null) backend().conv3d(x, w, bias, out, g);
  else throw new Error(`conv3d: the ${epilogue} epilogue and scale are 2-D only`);
}
function inputGradKernel(g: ConvGeometry, gy: FloatArray, w: FloatArray, gx: FloatArray): void {
  if (is3d(g)) backend().conv3dBackwardInput(gy, w, gx, g);
  else backend().conv2dBackwardInput(gy, w, gx, g);
}
function weightGradKernel(g: ConvGeometry, x: FloatArray, gy: FloatArray, gw: FloatArray): void {
  if (is3d(g)) backend().conv3dBackwardWeight(x, gy, gw, g);
  else backend().conv2dBackwardWeight(x, gy, gw, g);
}

/**
 * Validates a convolution's batched operands and options and works out its geometry exactly as PyTorch ('same'
 * puts the odd extra padding at the end of each dim; non-zero padding modes pad with F.pad first). Returns the
 * input to convolve (padded for non-zero modes) and the backend geometry.
 */
export function convNdGeometry(
  op: string,
  dims: number,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: ConvNdOptions<IntN>,
): { x: Tensor; g: ConvGeometry } {
  checkOperands(op, dims, input, weight, bias, false);
  const stride = tupleN(op, 'stride', opts.stride ?? 1, dims, 1);
  const dilation = tupleN(op, 'dilation', opts.dilation ?? 1, dims, 1);
  const groups = checkGroups(op, opts.groups ?? 1);
  const mode = opts.paddingMode ?? 'zeros';
  if (!['zeros', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new Error(
      `${op}: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got ${JSON.stringify(mode)}`,
    );
  }
  const [oc, cg] = weight.shape;
  const kernel = weight.shape.slice(2);
  const c = input.shape[1];
  if (oc % groups !== 0)
    throw new Error(
      `${op}: weight ${shapeStr(weight.shape)} has ${oc} output channels, which groups=${groups} does not divide`,
    );
  if (c % groups !== 0)
    throw new Error(
      `${op}: input has ${c} channels, which groups=${groups} does not divide (input ${formatShape(input.shape)})`,
    );
  if (c !== cg * groups)
    throw new Error(
      `${op}: input has ${c} channels but weight ${shapeStr(weight.shape)} expects ${cg * groups} (groups=${groups})`,
    );
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== oc)) {
    throw new Error(
      `${op}: bias must have shape [${oc}] (one per output channel of weight ${shapeStr(weight.shape)}), got ${formatShape(bias.shape)}`,
    );
  }
  let padBefore: number[];
  let padAfter: number[];
  const padding = opts.padding ?? 0;
  if (padding === 'valid') {
    padBefore = padAfter = new Array<number>(dims).fill(0);
  } else if (padding === 'same') {
    if (stride.some((s) => s !== 1))
      throw new Error(
        `${op}: padding='same' is not supported for strided convolutions (stride ${JSON.stringify(stride)})`,
      );
    const total = kernel.map((k, d) => dilation[d] * (k - 1));
    padBefore = total.map((t) => t >> 1);
    padAfter = total.map((t) => t - (t >> 1));
  } else if (typeof padding === 'string') {
    throw new Error(
      `${op}: padding must be 'same', 'valid', an integer ≥ 0 or ${listOf(dims)} of them, got ${JSON.stringify(padding)}`,
    );
  } else {
    padBefore = padAfter = tupleN(op, 'padding', padding, dims);
  }
  let x = input;
  if (mode !== 'zeros' && [...padBefore, ...padAfter].some((p) => p > 0)) {
    // F.pad's order: last dim first, [before, after] per dim
    const amounts: number[] = [];
    for (let d = dims - 1; d >= 0; d--) amounts.push(padBefore[d], padAfter[d]);
    x = padImpl(op, input, amounts, mode, undefined);
    padBefore = padAfter = new Array<number>(dims).fill(0);
  }
  const inSize = x.shape.slice(2);
  const eff = kernel.map((k, d) => dilation[d] * (k - 1) + 1);
  const padded = inSize.map((s, d) => s + padBefore[d] + padAfter[d]);
  const tooBig = eff.findIndex((e, d) => e > padded[d]);
  if (tooBig >= 0) {
    throw new Error(
      `${op}: kernel ${kernel.join('×')} (dilation ${dilation.join('×')}, effective ${eff.join('×')}) is larger than the ` +
        `padded input ${padded.join('×')} in dim ${tooBig + 2} (input ${formatShape(input.shape)}, padding ` +
        `${padBefore.map((p, d) => `${p}/${padAfter[d]}`).join('×')})`,
    );
  }
  const outSize = padded.map((p, d) => Math.floor((p - eff[d]) / stride[d]) + 1);
  const n = x.shape[0];
  return { x, g: geometryOf({ n, c, oc, groups, inSize, outSize, kernel, stride, pad: padBefore, dilation }) };
}

/** convNdGeometry for conv2d's operands (the fused conv→ReLU→pool op and conv2dScaleShift build on it). */
export function conv2dGeometry(
  op: string,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: Conv2dOptions,
): { x: Tensor; g: Conv2dGeometry } {
  return convNdGeometry(op, 2, input, weight, bias, opts) as { x: Tensor; g: Conv2dGeometry };
}

/**
 * Convolution of `input` [N, C, ...spatial] (or unbatched) over its last `dims` dims with `weight`
 * [OC, C/groups, ...kernel], plus `bias` [OC]; with activation 'relu' (2-D) the ReLU runs in the epilogue.
 */
export function convNd(
  op: string,
  dims: number,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: ConvNdOptions<IntN>,
  activation: 'none' | 'relu' = 'none',
): Tensor {
  checkOperands(op, dims, input, weight, bias, false);
  if (activation !== 'none' && activation !== 'relu') {
    throw new Error(`${op}: activation must be 'none' or 'relu', got ${JSON.stringify(activation)}`);
  }
  return batched(input, dims, (xb) => {
    const { x, g } = convNdGeometry(op, dims, xb, weight, bias, opts);
    const out = Tensor.unfilled(outShape(g, dims), x.dtype);
    const xd = floatData(x);
    const wd = floatData(weight);
    forwardKernel(g, xd, wd, bias === null ? null : floatData(bias), floatData(out), activation, null, weight);
    return record(activation === 'relu' ? `${op}Relu` : op, out, [x, weight, bias], () => (gyOut) => {
      if (isCreatingGraph())
        return convGradientsDifferentiable(x, weight, bias, g, activation === 'relu' ? mul(gyOut, gt(out, 0)) : gyOut);
      if (activation === 'none') return convGradients(x, xd, weight, wd, bias, g, gyOut);
      // through the ReLU first: its derivative is read off the saved output (y > 0 ⇔ pre-activation > 0)
      const gy = Tensor.unfilled(out.shape, out.dtype);
      backend().unaryGrad('relu', floatData(out), floatData(gyOut), floatData(gy), {});
      const grads = convGradients(x, xd, weight, wd, bias, g, gy);
      recycleStorage(gy.storage); // the gradient through the ReLU lives only here
      return grads;
    });
  });
}

/**
 * Gradients of a convolution's input, weight and bias (each null unless it requires grad) from the gradient `gy`
 * at its output; `xd`/`wd` are the contiguous data the forward convolved.
 */
export function convGradients(
  x: Tensor,
  xd: FloatArray,
  weight: Tensor,
  wd: FloatArray,
  bias: Tensor | null,
  g: ConvGeometry,
  gy: Tensor,
): [Tensor | null, Tensor | null, Tensor | null] {
  const gyd = floatData(gy);
  let gx: Tensor | null = null;
  let gw: Tensor | null = null;
  if (x.requiresGrad) {
    gx = Tensor.unfilled(x.shape, gy.dtype);
    inputGradKernel(g, gyd, wd, floatData(gx));
  }
  if (weight.requiresGrad) {
    gw = Tensor.unfilled(weight.shape, gy.dtype);
    weightGradKernel(g, xd, gyd, floatData(gw));
  }
  const gb = bias !== null && bias.requiresGrad ? sum(gy, biasDims(weight.shape.length - 2)) : null;
  return [gx, gw, gb];
}

/**
 * The three convolution maps as differentiable ops on one geometry, for createGraph: the forward F(x, w), its
 * input gradient B(gy, w) and its weight gradient W(x, gy). Each is bilinear and the adjoints close the set —
 * ⟨F(x, w), gy⟩ = ⟨x, B(gy, w)⟩ = ⟨w, W(x, gy)⟩ — so every derivative of one is another of the three, to any order.
 * The number of spatial dims is read off the operands (a weight or input has dims + 2 of them).
 */
function convForwardOp(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const dims = w.shape.length - 2;
  const out = Tensor.unfilled(outShape(g, dims), x.dtype);
  forwardKernel(g, floatData(x), floatData(w), null, floatData(out));
  return record(`conv${dims}d`, out, [x, w], () => (gy) => [
    x.requiresGrad ? convInputGradOp(gy, w, g) : null,
    w.requiresGrad ? convWeightGradOp(x, gy, g) : null,
  ]);
}

function convInputGradOp(gy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const dims = w.shape.length - 2;
  const out = Tensor.unfilled(inShape(g, dims), gy.dtype);
  inputGradKernel(g, floatData(gy), floatData(w), floatData(out));
  return record(`conv${dims}dBackwardInput`, out, [gy, w], () => (gg) => [
    gy.requiresGrad ? convForwardOp(gg, w, g) : null,
    w.requiresGrad ? convWeightGradOp(gg, gy, g) : null,
  ]);
}

function convWeightGradOp(x: Tensor, gy: Tensor, g: ConvGeometry): Tensor {
  const dims = x.shape.length - 2;
  const out = Tensor.unfilled(weightShape(g, dims), gy.dtype);
  weightGradKernel(g, floatData(x), floatData(gy), floatData(out));
  return record(`conv${dims}dBackwardWeight`, out, [x, gy], () => (gg) => [
    x.requiresGrad ? convInputGradOp(gy, gg, g) : null,
    gy.requiresGrad ? convForwardOp(x, gg, g) : null,
  ]);
}

/** convGradients from differentiable ops (createGraph); `x` is the tensor the forward convolved. */
export function convGradientsDifferentiable(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  gy: Tensor,
): [Tensor | null, Tensor | null, Tensor | null] {
  return [
    x.requiresGrad ? convInputGradOp(gy, weight, g) : null,
    weight.requiresGrad ? convWeightGradOp(x, gy, g) : null,
    bias !== null && bias.requiresGrad ? sum(gy, biasDims(weight.shape.length - 2)) : null,
  ];
}

/**
 * Transposed convolution (the adjoint of convolution, a.k.a. fractionally strided convolution) of `input`
 * [N, IC, ...spatial] (or unbatched) with `weight` [IC, OC/groups, ...kernel] over the last `dims` dims. Output
 * size per dim (in−1)·stride − 2·padding + dilation·(k−1) + outputPadding + 1. Each input position stamps a copy of
 * the kernel scaled by its value into the output; the "insert zeros, pad, correlate" formulation (Dumoulin & Visin
 * 2016, "A guide to convolution arithmetic", §4) gives the same result with the kernel rotated by 180°.
 */
export function convTransposeNd(
  op: string,
  dims: number,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: ConvTransposeNdOptions<IntN>,
): Tensor {
  checkOperands(op, dims, input, weight, bias, true);
  const stride = tupleN(op, 'stride', opts.stride ?? 1, dims, 1);
  const dilation = tupleN(op, 'dilation', opts.dilation ?? 1, dims, 1);
  if (typeof opts.padding === 'string') {
    throw new Error(
      `${op}: padding must be an integer ≥ 0 or ${listOf(dims)} of them ('same'/'valid' are for convolution only), got ${JSON.stringify(opts.padding)}`,
    );
  }
  const padding = tupleN(op, 'padding', opts.padding ?? 0, dims);
  const outputPadding = tupleN(op, 'outputPadding', opts.outputPadding ?? 0, dims);
  const groups = checkGroups(op, opts.groups ?? 1);
  if (outputPadding.some((p, d) => p >= stride[d] && p >= dilation[d])) {
    throw new Error(
      `${op}: outputPadding ${JSON.stringify(outputPadding)} must be smaller than either stride ${JSON.stringify(stride)} ` +
        `or dilation ${JSON.stringify(dilation)} in each dim`,
    );
  }
  return batched(input, dims, (x) => {
    const [n, ic] = x.shape;
    const [wic, ocg] = weight.shape;
    const kernel = weight.shape.slice(2);
    if (ic % groups !== 0)
      throw new Error(
        `${op}: input has ${ic} channels, which groups=${groups} does not divide (input ${formatShape(x.shape)})`,
      );
    if (ic !== wic)
      throw new Error(
        `${op}: input has ${ic} channels but weight ${shapeStr(weight.shape)} expects ${wic} (groups=${groups})`,
      );
    const oc = ocg * groups;
    if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== oc)) {
      throw new Error(
        `${op}: bias must have shape [${oc}] (out channels of weight ${shapeStr(weight.shape)} × groups=${groups}), got ${formatShape(bias.shape)}`,
      );
    }
    const inSize = x.shape.slice(2);
    const outSize = inSize.map(
      (s, d) => (s - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + outputPadding[d] + 1,
    );
    if (outSize.some((s) => s < 1)) {
      throw new Error(
        `${op}: output size ${outSize.join('×')} is too small (input ${formatShape(x.shape)}, weight ${shapeStr(weight.shape)}, padding ${JSON.stringify(padding)})`,
      );
    }
    // The convolution that maps the output space back onto the input space: its input gradient is our forward.
    const g = geometryOf({
      n,
      c: oc,
      oc: ic,
      groups,
      inSize: outSize,
      outSize: inSize,
      kernel,
      stride,
      pad: padding,
      dilation,
    });
    const xd = floatData(x);
    const wd = floatData(weight);
    const out = Tensor.unfilled([n, oc, ...outSize], x.dtype);
    const od = floatData(out);
    inputGradKernel(g, xd, wd, od);
    if (bias !== null) {
      // Into the fresh output, as PyTorch's kernels do: a broadcast add would allocate and write a second full-size
      // map. The backend's per-channel affine with unit scales, in place (x·1 + b is x + b exactly): the JS loop
      // this replaces cost ~15 ms of a 450 ms W6 U-Net step on its four up-convolutions.
      const ones = allocate(out.dtype, oc) as FloatArray;
      ones.fill(1);
      backend().channelAffine(od, ones, floatData(bias), od, n, oc, od.length / (n * oc), 'none');
    }
    return record(op, out, [x, weight, bias], () => (gy) => {
      const wantBias = bias !== null && bias.requiresGrad;
      if (isCreatingGraph()) {
        // the transposed convolution is B(x, weight) of the geometry g: its gradients are F and W
        return [
          x.requiresGrad ? convForwardOp(gy, weight, g) : null,
          weight.requiresGrad ? convWeightGradOp(gy, x, g) : null,
          wantBias ? sum(gy, biasDims(dims)) : null,
        ];
      }
      const gyd = floatData(gy);
      // gy is often a narrowed view (cat's backward): sum the contiguous copy the kernels already read
      const gyc = gy.isContiguous() ? gy : new Tensor(gyd, gy.shape, gy.dtype);
      const gb = wantBias ? sum(gyc, biasDims(dims)) : null;
      let gx: Tensor | null = null;
      let gw: Tensor | null = null;
      if (x.requiresGrad) {
        gx = Tensor.unfilled(x.shape, gy.dtype);
        forwardKernel(g, gyd, wd, null, floatData(gx));
      }
      if (weight.requiresGrad) {
        gw = Tensor.unfilled(weight.shape, gy.dtype);
        weightGradKernel(g, gyd, xd, floatData(gw));
      }
      return [gx, gw, gb];
    });
  });
}

// ---- the 2-D functions ----

/**
 * 2-D cross-correlation of `input` [N, C, H, W] (or unbatched [C, H, W]) with `weight` [OC, C/groups, KH, KW],
 * plus `bias` [OC] when given: torch.nn.functional.conv2d, with nn.Conv2d's paddingMode as an option.
 * Output [N, OC, OH, OW] with OH = ⌊(H + 2·padding − dilation·(KH−1) − 1) / stride⌋ + 1.
 */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  return convNd('conv2d', 2, input, weight, bias, opts, opts.activation ?? 'none');
}

/** Options of `conv2dScaleShift`: those of conv2d, with the inference epilogue's activations. */
export interface Conv2dScaleShiftOptions extends Omit<Conv2dOptions, 'activation'> {
  /**
   * Applied after the affine, in the same pass: 'relu', 'relu6' (MobileNetV2) or 'hardswish' (MobileNetV3), each
   * computing what the activation module would (default 'none').
   */
  activation?: ConvEpilogue;
  /**
   * Added after the affine and before the activation, in the same pass: a residual block's shortcut, so that
   * relu(bn(conv(x)) + identity) is one kernel. Shaped as the output and of its dtype.
   */
  residual?: Tensor | null;
  /**
   * Where to write the result instead of a new tensor: contiguous, shaped as the output, of the input's dtype, and
   * in storage the input and residual do not use — e.g. a channel slice of a batch-1 concatenation, so a branch
   * lands where the concatenation wants it without a copy. The call returns it.
   */
  out?: Tensor;
}

/**
 * Inference-only convolution with a per-output-channel affine in the epilogue:
 * act(scale[oc]·conv2d(input, weight) + shift[oc] + residual). Batch norm in evaluation mode folds into `scale` and
 * `shift` (see nn/fusion.ts and docs/fusion.md), so conv → BN → ReLU writes one tensor in one pass, and with
 * `residual` a residual block's tail conv → BN → (+ identity) → ReLU too. It records no gradient and therefore
 * refuses to run while grad mode is on.
 */
export function conv2dScaleShift(
  input: Tensor,
  weight: Tensor,
  scale: Tensor,
  shift: Tensor,
  opts: Conv2dScaleShiftOptions = {},
): Tensor {
  const op = 'conv2dScaleShift';
  if (isGradEnabled()) throw new Error(`${op}: inference only — call it inside noGrad()`);
  const activation = opts.activation ?? 'none';
  if (!['none', 'relu', 'relu6', 'hardswish'].includes(activation))
    throw new Error(
      `${op}: activation must be 'none', 'relu', 'relu6' or 'hardswish', got ${JSON.stringify(activation)}`,
    );
  requireRank(op, input, 4, 'input', '[N, C, H, W]');
  const { x, g } = conv2dGeometry(op, input, weight, null, { ...opts, activation: 'none' });
  for (const [t, what] of [
    [scale, 'scale'],
    [shift, 'shift'],
  ] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== g.oc)
      throw new Error(`${op}: ${what} must have shape [${g.oc}], got ${formatShape(t.shape)}`);
    if (t.dtype !== x.dtype) throw new Error(`${op}: ${what} is ${t.dtype} but input is ${x.dtype}; they must match`);
  }
  const outShape = [g.n, g.oc, g.oh, g.ow];
  const residual = opts.residual ?? null;
  if (residual !== null) {
    if (!shapesEqual(residual.shape, outShape))
      throw new Error(
        `${op}: residual must have the output's shape ${formatShape(outShape)}, got ${formatShape(residual.shape)}`,
      );
    if (residual.dtype !== x.dtype)
      throw new Error(`${op}: residual is ${residual.dtype} but input is ${x.dtype}; they must match`);
  }
  const out = opts.out ?? Tensor.unfilled(outShape, x.dtype);
  if (opts.out) {
    if (!shapesEqual(out.shape, outShape) || out.dtype !== x.dtype || !out.isContiguous())
      throw new Error(
        `${op}: out must be a contiguous ${x.dtype} tensor of the output's shape ${formatShape(outShape)}, got ${out.dtype} ${formatShape(out.shape)}${out.isContiguous() ? '' : ' (not contiguous)'}`,
      );
    if (
      out.storage === input.storage ||
      out.storage === x.storage ||
      (residual !== null && out.storage === residual.storage)
    )
      throw new Error(`${op}: out shares storage with the input or the residual; it must be separate memory`);
  }
  const packed = packedConv2dWeights(weight, g);
  backend().conv2d(
    floatData(x),
    floatData(weight),
    floatData(shift),
    floatData(out),
    g,
    activation,
    floatData(scale),
    packed,
    residual === null ? null : floatData(residual.contiguous()),
  );
  return out;
}

/**
 * Transposed 2-D convolution of `input` [N, IC, H, W] (or unbatched) with `weight` [IC, OC/groups, KH, KW], as
 * torch.nn.functional.conv_transpose2d: output [N, OC, OH, OW] with
 * OH = (H−1)·stride − 2·padding + dilation·(KH−1) + outputPadding + 1 (see convTransposeNd).
 */
export function convTranspose2d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose2dOptions = {},
): Tensor {
  return convTransposeNd('convTranspose2d', 2, input, weight, bias, opts);
}
