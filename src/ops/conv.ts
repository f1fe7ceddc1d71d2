/**
 * 2-D convolution and transposed convolution (NCHW). The op layer validates, works out the geometry exactly as
 * PyTorch does, and calls the backend's im2col/GEMM kernels; conv_transpose2d runs the same three kernels with the
 * roles of forward and input-gradient swapped.
 */
import { record } from '../autograd/graph.js';
import { isCreatingGraph, isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { Conv2dGeometry, ConvEpilogue } from '../backend/types.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { FloatArray } from '../tensor/dtype.js';
import { recycleStorage } from '../tensor/storage.js';
import { gt, mul } from './elementwise.js';
import { padImpl } from './pad.js';
import { sum } from './reduce.js';
import { squeeze, unsqueeze } from './shape.js';
import { floatData, pair, requireFloat, requireRank, requireTensor } from './util.js';

/** An int used for both spatial dims, or an [h, w] pair. */
export type IntPair = number | readonly [number, number];

/** Border mode of Conv2d's implicit padding. */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface Conv2dOptions {
  /** Step of the sliding window (default 1). */
  stride?: IntPair;
  /**
   * Implicit padding on both sides (default 0), or 'valid' (none) or 'same' (output size = input size, stride 1
   * only; with an even effective kernel the extra row/column goes at the bottom/right, like PyTorch).
   */
  padding?: IntPair | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: IntPair;
  /** Channel groups (default 1); groups = in channels = out channels / k gives a depthwise convolution. */
  groups?: number;
  /** How the padding is filled (default 'zeros'); other modes pad with F.pad first, as nn.Conv2d does. */
  paddingMode?: ConvPaddingMode;
  /**
   * Tatami extension: 'relu' applies ReLU in the convolution's epilogue — the same values and gradients as
   * `relu(conv2d(...))` without a separate pass or tensor for the pre-activation (nn.Sequential uses it for
   * Conv2d → ReLU pairs). Default 'none'.
   */
  activation?: 'none' | 'relu';
}

export interface ConvTranspose2dOptions {
  stride?: IntPair;
  /** dilation·(k−1)−padding zero rows/columns are effectively added around the input (default 0). */
  padding?: IntPair;
  /** Extra rows/columns added to one side of the output to pick among the sizes a strided conv maps from (default 0). */
  outputPadding?: IntPair;
  groups?: number;
  dilation?: IntPair;
}

const shapeStr = (s: readonly number[]) => `[${s.join(',')}]`;

function checkGroups(op: string, groups: number): number {
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  return groups;
}

function checkOperands(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, weightLayout: string): void {
  requireFloat(op, x);
  requireFloat(op, weight, 'weight');
  if (bias !== null) requireFloat(op, bias, 'bias');
  requireRank(op, x, [3, 4], 'input', 'NCHW, or CHW unbatched');
  requireRank(op, weight, 4, 'weight', weightLayout);
  if (weight.dtype !== x.dtype)
    throw new Error(`${op}: input is ${x.dtype} but weight is ${weight.dtype}; they must match`);
  // As PyTorch: an empty kernel is an error (the kernels would otherwise loop over the other kernel dim for nothing).
  if (weight.shape[2] < 1 || weight.shape[3] < 1)
    throw new Error(
      `${op}: weight ${shapeStr(weight.shape)} has a zero-size kernel; kernel height and width must be ≥ 1`,
    );
  if (bias !== null) {
    if (bias.dtype !== x.dtype)
      throw new Error(`${op}: input is ${x.dtype} but bias is ${bias.dtype}; they must match`);
  }
}

/** Zero padding of each side as [top, bottom, left, right]. */
function resolvePadding(
  op: string,
  padding: Conv2dOptions['padding'],
  kh: number,
  kw: number,
  dil: [number, number],
  stride: [number, number],
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new Error(
        `${op}: padding='same' is not supported for strided convolutions (stride ${JSON.stringify(stride)})`,
      );
    }
    const th = dil[0] * (kh - 1);
    const tw = dil[1] * (kw - 1);
    return [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)];
  }
  if (typeof padding === 'string') {
    throw new Error(
      `${op}: padding must be 'same', 'valid', an integer ≥ 0 or a pair of them, got ${JSON.stringify(padding)}`,
    );
  }
  const [ph, pw] = pair(op, 'padding', padding ?? 0);
  return [ph, ph, pw, pw];
}

/** Validates conv2d's operands and options; returns the input to convolve (padded for non-zero modes) and the geometry. */
export function conv2dGeometry(
  op: string,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: Conv2dOptions,
): { x: Tensor; g: Conv2dGeometry } {
  checkOperands(op, input, weight, bias, '[outChannels, inChannels/groups, kh, kw]');
  const stride = pair(op, 'stride', opts.stride ?? 1, 1);
  const dilation = pair(op, 'dilation', opts.dilation ?? 1, 1);
  const groups = checkGroups(op, opts.groups ?? 1);
  const mode = opts.paddingMode ?? 'zeros';
  if (!['zeros', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new Error(
      `${op}: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got ${JSON.stringify(mode)}`,
    );
  }
  const [oc, cg, kh, kw] = weight.shape;
  const c = input.shape[1];
  if (oc % groups !== 0) {
    throw new Error(
      `${op}: weight ${shapeStr(weight.shape)} has ${oc} output channels, which groups=${groups} does not divide`,
    );
  }
  if (c % groups !== 0) {
    throw new Error(
      `${op}: input has ${c} channels, which groups=${groups} does not divide (input ${formatShape(input.shape)})`,
    );
  }
  if (c !== cg * groups) {
    throw new Error(
      `${op}: input has ${c} channels but weight ${shapeStr(weight.shape)} expects ${cg * groups} (groups=${groups})`,
    );
  }
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== oc)) {
    throw new Error(
      `${op}: bias must have shape [${oc}] (one per output channel of weight ${shapeStr(weight.shape)}), got ${formatShape(bias.shape)}`,
    );
  }
  let [top, bottom, left, right] = resolvePadding(op, opts.padding, kh, kw, dilation, stride);
  let x = input;
  if (mode !== 'zeros' && top + bottom + left + right > 0) {
    x = padImpl(op, input, [left, right, top, bottom], mode, undefined);
    top = bottom = left = right = 0;
  }
  const [n, , h, w] = x.shape;
  const effH = dilation[0] * (kh - 1) + 1;
  const effW = dilation[1] * (kw - 1) + 1;
  const paddedH = h + top + bottom;
  const paddedW = w + left + right;
  if (effH > paddedH || effW > paddedW) {
    throw new Error(
      `${op}: kernel ${kh}×${kw} (dilation ${dilation[0]}×${dilation[1]}, effective ${effH}×${effW}) is larger than the ` +
        `padded input ${paddedH}×${paddedW} (input ${formatShape(input.shape)}, padding ${top}/${bottom}×${left}/${right})`,
    );
  }
  const g: Conv2dGeometry = {
    n,
    c,
    h,
    w,
    oc,
    kh,
    kw,
    oh: Math.floor((paddedH - effH) / stride[0]) + 1,
    ow: Math.floor((paddedW - effW) / stride[1]) + 1,
    strideH: stride[0],
    strideW: stride[1],
    padH: top,
    padW: left,
    dilationH: dilation[0],
    dilationW: dilation[1],
    groups,
  };
  return { x, g };
}

/**
 * 2-D cross-correlation of `input` [N, C, H, W] (or unbatched [C, H, W]) with `weight` [OC, C/groups, KH, KW],
 * plus `bias` [OC] when given: torch.nn.functional.conv2d, with nn.Conv2d's paddingMode as an option.
 * Output [N, OC, OH, OW] with OH = ⌊(H + 2·padding − dilation·(KH−1) − 1) / stride⌋ + 1.
 */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  requireTensor(op, input);
  if (input.shape.length === 3) {
    checkOperands(op, input, weight, bias, '[outChannels, inChannels/groups, kh, kw]');
    return squeeze(conv2d(unsqueeze(input, 0), weight, bias, opts), 0);
  }
  const { x, g } = conv2dGeometry(op, input, weight, bias, opts);
  const [n, oc] = [g.n, g.oc];
  const activation = opts.activation ?? 'none';
  if (activation !== 'none' && activation !== 'relu') {
    throw new Error(`${op}: activation must be 'none' or 'relu', got ${JSON.stringify(activation)}`);
  }
  const out = Tensor.unfilled([n, oc, g.oh, g.ow], x.dtype);
  const xd = floatData(x);
  const wd = floatData(weight);
  backend().conv2d(xd, wd, bias === null ? null : floatData(bias), floatData(out), g, activation);
  return record(activation === 'relu' ? 'conv2dRelu' : op, out, [x, weight, bias], () => (gyOut) => {
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
  g: Conv2dGeometry,
  gy: Tensor,
): [Tensor | null, Tensor | null, Tensor | null] {
  const gyd = floatData(gy);
  let gx: Tensor | null = null;
  let gw: Tensor | null = null;
  if (x.requiresGrad) {
    gx = Tensor.unfilled(x.shape, gy.dtype);
    backend().conv2dBackwardInput(gyd, wd, floatData(gx), g);
  }
  if (weight.requiresGrad) {
    gw = Tensor.unfilled(weight.shape, gy.dtype);
    backend().conv2dBackwardWeight(xd, gyd, floatData(gw), g);
  }
  const gb = bias !== null && bias.requiresGrad ? sum(gy, [0, 2, 3]) : null;
  return [gx, gw, gb];
}

/**
 * The three convolution maps as differentiable ops on one geometry, for createGraph: the forward F(x, w), its
 * input gradient B(gy, w) and its weight gradient W(x, gy). Each is bilinear and the adjoints close the set —
 * ⟨F(x, w), gy⟩ = ⟨x, B(gy, w)⟩ = ⟨w, W(x, gy)⟩ — so every derivative of one is another of the three, to any order.
 */
function convForwardOp(x: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  const out = Tensor.unfilled([g.n, g.oc, g.oh, g.ow], x.dtype);
  backend().conv2d(floatData(x), floatData(w), null, floatData(out), g, 'none');
  return record('conv2d', out, [x, w], () => (gy) => [
    x.requiresGrad ? convInputGradOp(gy, w, g) : null,
    w.requiresGrad ? convWeightGradOp(x, gy, g) : null,
  ]);
}

function convInputGradOp(gy: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  const out = Tensor.unfilled([g.n, g.c, g.h, g.w], gy.dtype);
  backend().conv2dBackwardInput(floatData(gy), floatData(w), floatData(out), g);
  return record('conv2dBackwardInput', out, [gy, w], () => (gg) => [
    gy.requiresGrad ? convForwardOp(gg, w, g) : null,
    w.requiresGrad ? convWeightGradOp(gg, gy, g) : null,
  ]);
}

function convWeightGradOp(x: Tensor, gy: Tensor, g: Conv2dGeometry): Tensor {
  const out = Tensor.unfilled([g.oc, g.c / g.groups, g.kh, g.kw], gy.dtype);
  backend().conv2dBackwardWeight(floatData(x), floatData(gy), floatData(out), g);
  return record('conv2dBackwardWeight', out, [x, gy], () => (gg) => [
    x.requiresGrad ? convInputGradOp(gy, gg, g) : null,
    gy.requiresGrad ? convForwardOp(x, gg, g) : null,
  ]);
}

/** convGradients from differentiable ops (createGraph); `x` is the tensor the forward convolved. */
export function convGradientsDifferentiable(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: Conv2dGeometry,
  gy: Tensor,
): [Tensor | null, Tensor | null, Tensor | null] {
  return [
    x.requiresGrad ? convInputGradOp(gy, weight, g) : null,
    weight.requiresGrad ? convWeightGradOp(x, gy, g) : null,
    bias !== null && bias.requiresGrad ? sum(gy, [0, 2, 3]) : null,
  ];
}

/** Options of `conv2dScaleShift`: those of conv2d, with the inference epilogue's activations. */
export interface Conv2dScaleShiftOptions extends Omit<Conv2dOptions, 'activation'> {
  /**
   * Applied after the affine, in the same pass: 'relu', 'relu6' (MobileNetV2) or 'hardswish' (MobileNetV3), each
   * computing what the activation module would (default 'none').
   */
  activation?: ConvEpilogue;
}

/**
 * Inference-only convolution with a per-output-channel affine in the epilogue:
 * act(scale[oc]·conv2d(input, weight) + shift[oc]). Batch norm in evaluation mode folds into `scale` and `shift`
 * (see nn/fusion.ts and docs/fusion.md), so conv → BN → ReLU writes one tensor in one pass. It records no gradient and therefore
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
  const out = Tensor.unfilled([g.n, g.oc, g.oh, g.ow], x.dtype);
  backend().conv2d(floatData(x), floatData(weight), floatData(shift), floatData(out), g, activation, floatData(scale));
  return out;
}

/**
 * Transposed 2-D convolution (the adjoint of conv2d, a.k.a. fractionally strided convolution) of `input`
 * [N, IC, H, W] with `weight` [IC, OC/groups, KH, KW], as torch.nn.functional.conv_transpose2d.
 * Output [N, OC, OH, OW] with OH = (H−1)·stride − 2·padding + dilation·(KH−1) + outputPadding + 1. Each input
 * pixel stamps a copy of the kernel scaled by its value into the output; the "insert zeros, pad, correlate"
 * formulation (Dumoulin & Visin 2016, "A guide to convolution arithmetic", §4) gives the same result with the
 * kernel rotated by 180°.
 */
export function convTranspose2d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose2dOptions = {},
): Tensor {
  const op = 'convTranspose2d';
  checkOperands(op, input, weight, bias, '[inChannels, outChannels/groups, kh, kw]');
  if (input.shape.length === 3) return squeeze(convTranspose2d(unsqueeze(input, 0), weight, bias, opts), 0);
  const stride = pair(op, 'stride', opts.stride ?? 1, 1);
  const dilation = pair(op, 'dilation', opts.dilation ?? 1, 1);
  if (typeof opts.padding === 'string') {
    throw new Error(
      `${op}: padding must be an integer ≥ 0 or a pair of them ('same'/'valid' are conv2d-only), got ${JSON.stringify(opts.padding)}`,
    );
  }
  const padding = pair(op, 'padding', opts.padding ?? 0);
  const outputPadding = pair(op, 'outputPadding', opts.outputPadding ?? 0);
  const groups = checkGroups(op, opts.groups ?? 1);
  for (let d = 0; d < 2; d++) {
    if (outputPadding[d] >= stride[d] && outputPadding[d] >= dilation[d]) {
      throw new Error(
        `${op}: outputPadding ${JSON.stringify(outputPadding)} must be smaller than either stride ${JSON.stringify(stride)} ` +
          `or dilation ${JSON.stringify(dilation)} in each dim`,
      );
    }
  }
  const [n, ic, h, w] = input.shape;
  const [wic, ocg, kh, kw] = weight.shape;
  if (ic % groups !== 0) {
    throw new Error(
      `${op}: input has ${ic} channels, which groups=${groups} does not divide (input ${formatShape(input.shape)})`,
    );
  }
  if (ic !== wic) {
    throw new Error(
      `${op}: input has ${ic} channels but weight ${shapeStr(weight.shape)} expects ${wic} (groups=${groups})`,
    );
  }
  const oc = ocg * groups;
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== oc)) {
    throw new Error(
      `${op}: bias must have shape [${oc}] (out channels of weight ${shapeStr(weight.shape)} × groups=${groups}), got ${formatShape(bias.shape)}`,
    );
  }
  const oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outputPadding[0] + 1;
  const ow = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outputPadding[1] + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(
      `${op}: output size ${oh}×${ow} is too small (input ${formatShape(input.shape)}, weight ${shapeStr(weight.shape)}, padding ${JSON.stringify(padding)})`,
    );
  }
  // The conv2d that maps the output space back onto the input space: its input-gradient is our forward.
  const g: Conv2dGeometry = {
    n,
    c: oc,
    h: oh,
    w: ow,
    oc: ic,
    kh,
    kw,
    oh: h,
    ow: w,
    strideH: stride[0],
    strideW: stride[1],
    padH: padding[0],
    padW: padding[1],
    dilationH: dilation[0],
    dilationW: dilation[1],
    groups,
  };
  const xd = floatData(input);
  const wd = floatData(weight);
  const out = Tensor.unfilled([n, oc, oh, ow], input.dtype);
  const od = floatData(out);
  backend().conv2dBackwardInput(xd, wd, od, g);
  if (bias !== null) {
    // Into the fresh output, as PyTorch's kernels do: a broadcast add would allocate and write a second full-size map.
    const bd = floatData(bias),
      plane = oh * ow;
    for (let b = 0; b < n; b++)
      for (let c = 0; c < oc; c++) {
        const v = bd[c],
          base = (b * oc + c) * plane;
        for (let p = 0; p < plane; p++) od[base + p] += v;
      }
  }
  return record(op, out, [input, weight, bias], () => (gy) => {
    if (isCreatingGraph()) {
      // the transposed convolution is B(input, weight) of the geometry g: its gradients are F and W
      return [
        input.requiresGrad ? convForwardOp(gy, weight, g) : null,
        weight.requiresGrad ? convWeightGradOp(gy, input, g) : null,
        bias !== null && bias.requiresGrad ? sum(gy, [0, 2, 3]) : null,
      ];
    }
    const gyd = floatData(gy);
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    if (input.requiresGrad) {
      gx = Tensor.unfilled(input.shape, gy.dtype);
      backend().conv2d(gyd, wd, null, floatData(gx), g, 'none');
    }
    if (weight.requiresGrad) {
      gw = Tensor.unfilled(weight.shape, gy.dtype);
      backend().conv2dBackwardWeight(gyd, xd, floatData(gw), g);
    }
    // gy is often a narrowed view (cat's backward): sum the contiguous copy the kernels already read
    const gyc = gy.isContiguous() ? gy : new Tensor(gyd, gy.shape, gy.dtype);
    const gb = bias !== null && bias.requiresGrad ? sum(gyc, [0, 2, 3]) : null;
    return [gx, gw, gb];
  });
}
