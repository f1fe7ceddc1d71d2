/**
 * 1-D and 3-D convolution and transposed convolution (torch.nn.functional.conv1d/conv3d/conv_transpose1d/3d).
 *
 * One implementation over the number of spatial dims: `convNdSetup` validates and works out PyTorch's geometry
 * for any of 1–3 dims. 1-D runs as 2-D with a unit height on conv2d (and so on the fast 2-D kernels, with their
 * autograd); 3-D calls the backend's conv3d kernels (a float64 vol2col reference; the accelerated backends lower
 * it onto their 2-D kernels), with forward and backward side by side as in ./conv.ts.
 */
import { record } from '../autograd/graph.js';
import { backend } from '../backend/index.js';
import type { Conv3dGeometry } from '../backend/types.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { binaryKernel } from './elementwise.js';
import { conv2d, convTranspose2d, type ConvPaddingMode } from './conv.js';
import { padImpl } from './pad.js';
import { sum } from './reduce.js';
import { reshape, squeeze, unsqueeze } from './shape.js';
import { floatData, requireFloat, requireRank } from './util.js';

/** An int for the one spatial dim, or a 1-tuple. */
export type IntSingle = number | readonly [number];
/** An int used for all three spatial dims, or a [d, h, w] triple. */
export type IntTriple = number | readonly [number, number, number];

/** Options of conv1d (T = IntSingle) and conv3d (T = IntTriple); see Conv2dOptions for the meaning of each. */
export interface ConvNdOptions<T> {
  stride?: T;
  /** Implicit padding on both sides (default 0), or 'valid', or 'same' (stride 1 only; extra at the end for an even effective kernel). */
  padding?: T | 'same' | 'valid';
  dilation?: T;
  groups?: number;
  /** How the padding is filled (default 'zeros'), as nn.Conv1d/Conv3d's padding_mode. */
  paddingMode?: ConvPaddingMode;
}
export type Conv1dOptions = ConvNdOptions<IntSingle>;
export type Conv3dOptions = ConvNdOptions<IntTriple>;

/** Options of convTranspose1d / convTranspose3d; see ConvTranspose2dOptions. */
export interface ConvTransposeNdOptions<T> {
  stride?: T;
  padding?: T;
  outputPadding?: T;
  groups?: number;
  dilation?: T;
}
export type ConvTranspose1dOptions = ConvTransposeNdOptions<IntSingle>;
export type ConvTranspose3dOptions = ConvTransposeNdOptions<IntTriple>;

/** PyTorch's _single/_triple: an int repeated `dims` times or a list of `dims` ints, each ≥ min. */
export function tupleN(op: string, name: string, v: number | readonly number[], dims: number, min = 0): number[] {
  const t = typeof v === 'number' ? new Array<number>(dims).fill(v) : [...v];
  if (t.length !== dims || !t.every((x) => Number.isInteger(x) && x >= min)) {
    throw new Error(
      `${op}: ${name} must be an integer ≥ ${min} or a list of ${dims} of them, got ${JSON.stringify(v)}`,
    );
  }
  return t;
}

const layouts = ['', 'NCL, or CL unbatched', 'NCHW, or CHW unbatched', 'NCDHW, or CDHW unbatched'];
const kernelNames = ['', 'k', 'kh, kw', 'kd, kh, kw'];

function checkOperands(
  op: string,
  dims: number,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  transposed: boolean,
): void {
  requireFloat(op, x);
  requireFloat(op, weight, 'weight');
  requireRank(op, x, [dims + 1, dims + 2], 'input', layouts[dims]);
  requireRank(
    op,
    weight,
    dims + 2,
    'weight',
    transposed
      ? `[inChannels, outChannels/groups, ${kernelNames[dims]}]`
      : `[outChannels, inChannels/groups, ${kernelNames[dims]}]`,
  );
  if (weight.dtype !== x.dtype)
    throw new Error(`${op}: input is ${x.dtype} but weight is ${weight.dtype}; they must match`);
  if (bias !== null && bias.dtype !== x.dtype)
    throw new Error(`${op}: input is ${x.dtype} but bias is ${bias.dtype}; they must match`);
}

function checkGroups(op: string, groups: number): number {
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  return groups;
}

/** Geometry of an N-d convolution: per-dim sizes, and the zero padding before/after each dim. */
export interface ConvNdSetup {
  /** Input to convolve: padded already when paddingMode is not 'zeros'. */
  x: Tensor;
  stride: number[];
  dilation: number[];
  kernel: number[];
  inSize: number[];
  outSize: number[];
  padBefore: number[];
  padAfter: number[];
  groups: number;
}

/**
 * Validates an N-d convolution's batched operands and options and works out its geometry exactly as PyTorch
 * ('same' puts the odd extra padding at the end of each dim; non-zero padding modes pad with F.pad first).
 */
export function convNdSetup(
  op: string,
  dims: number,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: ConvNdOptions<number | readonly number[]>,
): ConvNdSetup {
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
      `${op}: weight ${formatShape(weight.shape)} has ${oc} output channels, which groups=${groups} does not divide`,
    );
  if (c % groups !== 0)
    throw new Error(
      `${op}: input has ${c} channels, which groups=${groups} does not divide (input ${formatShape(input.shape)})`,
    );
  if (c !== cg * groups)
    throw new Error(
      `${op}: input has ${c} channels but weight ${formatShape(weight.shape)} expects ${cg * groups} (groups=${groups})`,
    );
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== oc)) {
    throw new Error(
      `${op}: bias must have shape [${oc}] (one per output channel of weight ${formatShape(weight.shape)}), got ${formatShape(bias.shape)}`,
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
      `${op}: padding must be 'same', 'valid', an integer ≥ 0 or a list of ${dims} of them, got ${JSON.stringify(padding)}`,
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
  const outSize = inSize.map((s, d) => {
    const eff = dilation[d] * (kernel[d] - 1) + 1;
    const padded = s + padBefore[d] + padAfter[d];
    if (eff > padded) {
      throw new Error(
        `${op}: kernel ${formatShape(kernel)} (dilation ${JSON.stringify(dilation)}) is larger than the padded input in dim ${d + 2} ` +
          `(${eff} > ${padded}; input ${formatShape(input.shape)}, padding ${JSON.stringify(padBefore)}/${JSON.stringify(padAfter)})`,
      );
    }
    return Math.floor((padded - eff) / stride[d]) + 1;
  });
  return { x, stride, dilation, kernel, inSize, outSize, padBefore, padAfter, groups };
}

/** The backend geometry of a 3-D convolution of n samples, c → oc channels, with the sizes of `s`. */
function geometry3d(n: number, c: number, oc: number, s: Omit<ConvNdSetup, 'x' | 'padAfter'>): Conv3dGeometry {
  return {
    n,
    c,
    d: s.inSize[0],
    h: s.inSize[1],
    w: s.inSize[2],
    oc,
    kd: s.kernel[0],
    kh: s.kernel[1],
    kw: s.kernel[2],
    od: s.outSize[0],
    oh: s.outSize[1],
    ow: s.outSize[2],
    strideD: s.stride[0],
    strideH: s.stride[1],
    strideW: s.stride[2],
    padD: s.padBefore[0],
    padH: s.padBefore[1],
    padW: s.padBefore[2],
    dilationD: s.dilation[0],
    dilationH: s.dilation[1],
    dilationW: s.dilation[2],
    groups: s.groups,
  };
}

/** Adds a leading batch dim to unbatched input (rank dims + 1) and removes it from the result. */
function batched(x: Tensor, dims: number, fn: (xb: Tensor) => Tensor): Tensor {
  return x.shape.length === dims + 1 ? squeeze(fn(unsqueeze(x, 0)), 0) : fn(x);
}

/**
 * 1-D cross-correlation of `input` [N, C, L] (or [C, L]) with `weight` [OC, C/groups, K], plus `bias` [OC]:
 * torch.nn.functional.conv1d, with nn.Conv1d's paddingMode as an option. Output length
 * ⌊(L + 2·padding − dilation·(K−1) − 1) / stride⌋ + 1. Runs as conv2d on [N, C, 1, L].
 */
export function conv1d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv1dOptions = {}): Tensor {
  const op = 'conv1d';
  checkOperands(op, 1, input, weight, bias, false);
  return batched(input, 1, (x) => {
    const s = convNdSetup(op, 1, x, weight, bias, opts); // validates with 1-D names before the 2-D call
    const y = conv2d(unsqueeze(s.x, 2), unsqueeze(weight, 2), bias, {
      stride: [1, s.stride[0]],
      dilation: [1, s.dilation[0]],
      groups: s.groups,
      // s.x is already padded for non-zero padding modes; 'same' keeps its asymmetric split on conv2d
      padding: s.x !== x ? 0 : opts.padding === 'same' ? 'same' : [0, s.padBefore[0]],
    });
    return squeeze(y, 2);
  });
}

/**
 * 3-D cross-correlation of `input` [N, C, D, H, W] (or [C, D, H, W]) with `weight` [OC, C/groups, KD, KH, KW],
 * plus `bias` [OC], as `torch.nn.functional.conv3d`, with `nn.Conv3d`'s paddingMode as an option.
 */
export function conv3d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv3dOptions = {}): Tensor {
  const op = 'conv3d';
  checkOperands(op, 3, input, weight, bias, false);
  return batched(input, 3, (xb) => {
    const s = convNdSetup(op, 3, xb, weight, bias, opts);
    const x = s.x;
    const g = geometry3d(x.shape[0], x.shape[1], weight.shape[0], s);
    const out = Tensor.unfilled([g.n, g.oc, g.od, g.oh, g.ow], x.dtype);
    const xd = floatData(x);
    const wd = floatData(weight);
    backend().conv3d(xd, wd, bias === null ? null : floatData(bias), floatData(out), g);
    return record(op, out, [x, weight, bias], () => (gy) => {
      const gyd = floatData(gy);
      let gx: Tensor | null = null;
      let gw: Tensor | null = null;
      if (x.requiresGrad) {
        gx = Tensor.unfilled(x.shape, gy.dtype);
        backend().conv3dBackwardInput(gyd, wd, floatData(gx), g);
      }
      if (weight.requiresGrad) {
        gw = Tensor.unfilled(weight.shape, gy.dtype);
        backend().conv3dBackwardWeight(xd, gyd, floatData(gw), g);
      }
      const gb = bias !== null && bias.requiresGrad ? sum(gy, [0, 2, 3, 4]) : null;
      return [gx, gw, gb];
    });
  });
}

/** Validated geometry of an N-d transposed convolution; outSize = (in−1)·stride − 2·padding + dilation·(k−1) + outputPadding + 1. */
function convTransposeSetup(
  op: string,
  dims: number,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: ConvTransposeNdOptions<number | readonly number[]>,
) {
  const stride = tupleN(op, 'stride', opts.stride ?? 1, dims, 1);
  const dilation = tupleN(op, 'dilation', opts.dilation ?? 1, dims, 1);
  if (typeof opts.padding === 'string') {
    throw new Error(
      `${op}: padding must be an integer ≥ 0 or a list of ${dims} of them ('same'/'valid' are for convolution only), got ${JSON.stringify(opts.padding)}`,
    );
  }
  const padding = tupleN(op, 'padding', opts.padding ?? 0, dims);
  const outputPadding = tupleN(op, 'outputPadding', opts.outputPadding ?? 0, dims);
  const groups = checkGroups(op, opts.groups ?? 1);
  for (let d = 0; d < dims; d++) {
    if (outputPadding[d] >= stride[d] && outputPadding[d] >= dilation[d]) {
      throw new Error(
        `${op}: outputPadding ${JSON.stringify(outputPadding)} must be smaller than either stride ${JSON.stringify(stride)} or dilation ${JSON.stringify(dilation)} in each dim`,
      );
    }
  }
  const ic = x.shape[1];
  const [wic, ocg] = weight.shape;
  const kernel = weight.shape.slice(2);
  if (ic % groups !== 0)
    throw new Error(
      `${op}: input has ${ic} channels, which groups=${groups} does not divide (input ${formatShape(x.shape)})`,
    );
  if (ic !== wic)
    throw new Error(
      `${op}: input has ${ic} channels but weight ${formatShape(weight.shape)} expects ${wic} (groups=${groups})`,
    );
  const oc = ocg * groups;
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== oc)) {
    throw new Error(
      `${op}: bias must have shape [${oc}] (out channels of weight ${formatShape(weight.shape)} × groups=${groups}), got ${formatShape(bias.shape)}`,
    );
  }
  const inSize = x.shape.slice(2);
  const outSize = inSize.map(
    (s, d) => (s - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + outputPadding[d] + 1,
  );
  if (outSize.some((s) => s < 1)) {
    throw new Error(
      `${op}: output size ${formatShape(outSize)} is too small (input ${formatShape(x.shape)}, weight ${formatShape(weight.shape)}, padding ${JSON.stringify(padding)})`,
    );
  }
  return { stride, dilation, padding, outputPadding, groups, kernel, inSize, outSize, oc };
}

/**
 * Transposed 1-D convolution of `input` [N, IC, L] (or [IC, L]) with `weight` [IC, OC/groups, K]:
 * torch.nn.functional.conv_transpose1d. Runs as convTranspose2d with a unit height.
 */
export function convTranspose1d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose1dOptions = {},
): Tensor {
  const op = 'convTranspose1d';
  checkOperands(op, 1, input, weight, bias, true);
  return batched(input, 1, (x) => {
    const s = convTransposeSetup(op, 1, x, weight, bias, opts);
    const y = convTranspose2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, {
      stride: [1, s.stride[0]],
      padding: [0, s.padding[0]],
      outputPadding: [0, s.outputPadding[0]],
      dilation: [1, s.dilation[0]],
      groups: s.groups,
    });
    return squeeze(y, 2);
  });
}

/**
 * Transposed 3-D convolution of `input` [N, IC, D, H, W] (or unbatched) with `weight` [IC, OC/groups, KD, KH, KW]:
 * torch.nn.functional.conv_transpose3d — the input-gradient of the conv3d that maps the output back onto the input.
 */
export function convTranspose3d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose3dOptions = {},
): Tensor {
  const op = 'convTranspose3d';
  checkOperands(op, 3, input, weight, bias, true);
  return batched(input, 3, (x) => {
    const s = convTransposeSetup(op, 3, x, weight, bias, opts);
    const n = x.shape[0];
    const ic = x.shape[1];
    // the conv3d from output space to input space: its input-gradient is our forward
    const g = geometry3d(n, s.oc, ic, { ...s, inSize: s.outSize, outSize: s.inSize, padBefore: s.padding });
    const xd = floatData(x);
    const wd = floatData(weight);
    let out = Tensor.unfilled([n, s.oc, ...s.outSize], x.dtype);
    backend().conv3dBackwardInput(xd, wd, floatData(out), g);
    if (bias !== null) out = binaryKernel('add', out, reshape(bias.detach(), [1, s.oc, 1, 1, 1]));
    return record(op, out, [x, weight, bias], () => (gy) => {
      const gyd = floatData(gy);
      let gx: Tensor | null = null;
      let gw: Tensor | null = null;
      if (x.requiresGrad) {
        gx = Tensor.unfilled(x.shape, gy.dtype);
        backend().conv3d(gyd, wd, null, floatData(gx), g);
      }
      if (weight.requiresGrad) {
        gw = Tensor.unfilled(weight.shape, gy.dtype);
        backend().conv3dBackwardWeight(gyd, xd, floatData(gw), g);
      }
      const gb = bias !== null && bias.requiresGrad ? sum(gy, [0, 2, 3, 4]) : null;
      return [gx, gw, gb];
    });
  });
}
