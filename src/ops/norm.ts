/**
 * Normalisation layers: batch, instance, group, layer and local-response normalisation.
 *
 * Batch norm is the kernel-backed primitive (channelStats → channelAffine forward, batchNormBackward backward over
 * an [n, c, hw] view); instance, group and layer norm are batch norm applied to a regrouped view of the input,
 * exactly as PyTorch defines them, followed by their per-channel / per-element affine transform.
 */
import { record } from '../autograd/graph.js';
import { compositeGrad } from '../autograd/engine.js';
import { isCreatingGraph, noGrad } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import { formatShape, numel, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, div, mul, pow, rsqrt, square, sub } from './elementwise.js';
import { add_, copy_, mul_ } from './inplace.js';
import { mean } from './reduce.js';
import { cat, narrow, repeat, reshape, to } from './shape.js';
import { floatData, requireFloat } from './util.js';
import { relu } from './activation.js';
import { recycleStorage } from '../tensor/storage.js';
import type { Epilogue } from '../backend/types.js';

/** Options of `batchNorm`. */
export interface BatchNormOptions {
  /** Per-channel scale γ of shape [C] (null: 1). */
  weight?: Tensor | null;
  /** Per-channel shift β of shape [C] (null: 0). */
  bias?: Tensor | null;
  /** Normalise with the batch statistics and update the running ones (default false: use the running ones). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /**
   * 'relu': the output is relu(batchNorm(x)), computed in the same pass (the fusion pass's BatchNorm2d → ReLU in
   * training); the gradient is ReLU's mask applied before the batch-norm backward — the values and gradients of
   * relu(batchNorm(x)) without the separate ReLU output. Default 'none'.
   */
  activation?: Epilogue;
}

function checkChannelParam(op: string, p: Tensor | null | undefined, what: string, c: number, x: Tensor): void {
  if (!p) return;
  if (p.numel() !== c || p.shape.length !== 1) {
    throw new Error(
      `${op}: ${what} has shape ${formatShape(p.shape)} but input ${formatShape(x.shape)} has ${c} channels (expected [${c}])`,
    );
  }
}

function checkSameDtype(op: string, p: Tensor | null | undefined, what: string, x: Tensor): void {
  if (p && p.dtype !== x.dtype)
    throw new Error(`${op}: ${what} is ${p.dtype} but input is ${x.dtype}; they must match`);
}

/**
 * Per-channel 1/√(var + eps), scale = γ·invStd and shift = β − mean·scale for the affine pass, in one loop over
 * the C channels (in double, as PyTorch's CPU kernel accumulates) rather than five small tensor ops per call.
 */
function foldStatistics(
  mean: Tensor,
  variance: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
  x: Tensor,
  c: number,
): { m: Tensor; invStd: Tensor; scale: Tensor; shift: Tensor } {
  const m = Tensor.empty([c], x.dtype),
    invStd = Tensor.empty([c], x.dtype);
  const scale = Tensor.empty([c], x.dtype),
    shift = Tensor.empty([c], x.dtype);
  const md = floatData(mean),
    vd = floatData(variance),
    wd = weight && floatData(weight),
    bd = bias && floatData(bias);
  const mo = floatData(m),
    io = floatData(invStd),
    so = floatData(scale),
    ho = floatData(shift);
  for (let i = 0; i < c; i++) {
    const is = 1 / Math.sqrt(vd[i] + eps);
    const sc = wd ? wd[i] * is : is;
    mo[i] = md[i];
    io[i] = is;
    so[i] = sc;
    ho[i] = (bd ? bd[i] : 0) - md[i] * sc;
  }
  return { m, invStd, scale, shift };
}

/**
 * Normalises `x`, seen as contiguous [n, c, hw], with the statistics of each channel over n·hw and applies the
 * optional per-channel affine. Returns the output and the biased batch variance (for running-stat updates).
 */
function batchNormTrain(
  name: string,
  x: Tensor,
  n: number,
  c: number,
  hw: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
  activation: Epilogue = 'none',
): { out: Tensor; batchMean: Tensor; batchVar: Tensor } {
  const xd = floatData(x);
  const batchMean = Tensor.unfilled([c], x.dtype);
  const batchVar = Tensor.unfilled([c], x.dtype);
  backend().channelStats(xd, floatData(batchMean), floatData(batchVar), n, c, hw);
  const { invStd, scale, shift } = foldStatistics(batchMean, batchVar, weight, bias, eps, x, c);
  const out = Tensor.unfilled(x.shape, x.dtype);
  backend().channelAffine(xd, floatData(scale), floatData(shift), floatData(out), n, c, hw, activation);
  const relued = activation === 'relu';
  const result = record(relued ? `${name}Relu` : name, out, [x, weight, bias], () => (g) => {
    if (isCreatingGraph()) {
      // double backward: differentiate the normalisation written as differentiable ops
      return compositeGrad([x, weight, bias], g, () => {
        const xr = reshape(x, [n, c, hw]);
        const mu = mean(xr, [0, 2], true);
        const centred = sub(xr, mu);
        const y = mul(centred, rsqrt(add(mean(square(centred), [0, 2], true), eps)));
        const normed = reshape(affine(y, weight, bias, c), x.shape);
        return relued ? relu(normed) : normed;
      });
    }
    // ReLU's gradient first: g where the output is positive (the output is relu'd, so out > 0 ⇔ its input > 0)
    const gy = relued ? Tensor.unfilled(x.shape, g.dtype) : g;
    if (relued) backend().unaryGrad('relu', floatData(out), floatData(g), floatData(gy), {});
    const gx = x.requiresGrad ? Tensor.unfilled(x.shape, x.dtype) : null;
    const gw = weight && weight.requiresGrad ? Tensor.empty([c], weight.dtype) : null;
    const gb = bias && bias.requiresGrad ? Tensor.empty([c], bias.dtype) : null;
    backend().batchNormBackward(
      xd,
      floatData(gy),
      floatData(batchMean),
      floatData(invStd),
      weight ? floatData(weight) : null,
      gx && floatData(gx),
      gw && floatData(gw),
      gb && floatData(gb),
      n,
      c,
      hw,
    );
    if (relued) recycleStorage(gy.storage); // read by nothing else
    return [gx, gw, gb];
  });
  return { out: result, batchMean, batchVar };
}

/** Normalisation with fixed statistics (evaluation): y = (x − mean)/√(var + eps)·γ + β, one channelAffine pass. */
function batchNormEval(
  name: string,
  x: Tensor,
  n: number,
  c: number,
  hw: number,
  runMean: Tensor,
  runVar: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  const { m, invStd, scale, shift } = foldStatistics(runMean, runVar, weight, bias, eps, x, c);
  const xd = floatData(x);
  const out = Tensor.unfilled(x.shape, x.dtype);
  backend().channelAffine(xd, floatData(scale), floatData(shift), floatData(out), n, c, hw, 'none');
  return record(name, out, [x, weight, bias], () => (g) => {
    if (isCreatingGraph()) {
      return compositeGrad([x, weight, bias], g, () => {
        const y = mul(sub(reshape(x, [n, c, hw]), reshape(m, [1, c, 1])), reshape(invStd, [1, c, 1]));
        return reshape(affine(y, weight, bias, c), x.shape);
      });
    }
    const gd = floatData(g);
    let gx: Tensor | null = null;
    if (x.requiresGrad) {
      gx = Tensor.unfilled(x.shape, x.dtype);
      backend().channelAffine(
        gd,
        floatData(scale),
        floatData(Tensor.empty([c], x.dtype)),
        floatData(gx),
        n,
        c,
        hw,
        'none',
      );
    }
    const gw = weight && weight.requiresGrad ? Tensor.empty([c], weight.dtype) : null;
    const gb = bias && bias.requiresGrad ? Tensor.empty([c], bias.dtype) : null;
    if (gw || gb) {
      // With gx = null the kernel only reduces: gw = Σ gy·x̂, gb = Σ gy, with x̂ from the running statistics.
      backend().batchNormBackward(
        xd,
        gd,
        floatData(m),
        floatData(invStd),
        null,
        null,
        gw && floatData(gw),
        gb && floatData(gb),
        n,
        c,
        hw,
      );
    }
    return [gx, gw, gb];
  });
}

/** y·γ + β over an [n, c, hw] view, each optional. */
function affine(y: Tensor, weight: Tensor | null, bias: Tensor | null, c: number): Tensor {
  let out = y;
  if (weight) out = mul(out, reshape(weight, [1, c, 1]));
  if (bias) out = add(out, reshape(bias, [1, c, 1]));
  return out;
}

/** running ← (1 − momentum)·running + momentum·factor·batch, in place and outside the graph. */
function updateRunning(op: string, running: Tensor, batch: Tensor, momentum: number, factor = 1): void {
  if (!running.isContiguous()) {
    noGrad(() => {
      mul_(running, 1 - momentum);
      add_(running, to(mul(batch, factor), running.dtype), momentum);
    });
    return;
  }
  if (running.requiresGrad) throw new Error(`${op}: running statistics must not require grad`);
  const r = running.storage,
    b = floatData(batch),
    o = running.offset;
  for (let i = 0; i < b.length; i++) r[o + i] = (1 - momentum) * r[o + i] + momentum * factor * b[i];
  running.version++;
}

/**
 * Batch normalisation over dim 1 of [N, C], [N, C, L] or [N, C, H, W] (any rank ≥ 2), PyTorch's F.batch_norm.
 *
 * Training normalises with the batch mean and biased variance and, when running statistics are given, updates them
 * in place: running_mean ← (1−m)·running_mean + m·mean, running_var ← (1−m)·running_var + m·unbiased_var.
 * Evaluation normalises with the running statistics. Gradients flow to x, weight and bias in both modes.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm';
  const training = opts.training ?? false;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  const weight = opts.weight ?? null;
  const bias = opts.bias ?? null;
  const activation = opts.activation ?? 'none';
  requireFloat(op, x);
  if (activation !== 'none' && activation !== 'relu')
    throw new Error(`${op}: activation must be 'none' or 'relu', got ${JSON.stringify(activation)}`);
  if (x.shape.length < 2)
    throw new Error(`${op}: expected input of rank ≥ 2 ([N, C, ...]), got shape ${formatShape(x.shape)}`);
  const n = x.shape[0];
  const c = x.shape[1];
  const hw = numel(x.shape.slice(2));
  checkChannelParam(op, weight, 'weight', c, x);
  checkChannelParam(op, bias, 'bias', c, x);
  checkChannelParam(op, runningMean, 'runningMean', c, x);
  checkChannelParam(op, runningVar, 'runningVar', c, x);
  checkSameDtype(op, weight, 'weight', x);
  checkSameDtype(op, bias, 'bias', x);
  if (!(eps >= 0)) throw new Error(`${op}: eps must be ≥ 0, got ${eps}`);
  if ((runningMean === null) !== (runningVar === null)) {
    throw new Error(`${op}: runningMean and runningVar must both be given or both be null`);
  }
  if (!training) {
    if (!runningMean || !runningVar)
      throw new Error(`${op}: runningMean and runningVar must be given in evaluation mode (training: false)`);
    const y = batchNormEval(op, x, n, c, hw, runningMean, runningVar, weight, bias, eps);
    return activation === 'relu' ? relu(y) : y;
  }
  const count = n * hw;
  if (count <= 1) {
    throw new Error(
      `${op}: Expected more than 1 value per channel when training, got input size ${formatShape(x.shape)}`,
    );
  }
  const { out, batchMean, batchVar } = batchNormTrain(op, x, n, c, hw, weight, bias, eps, activation);
  if (runningMean && runningVar) {
    if (!Number.isFinite(momentum)) throw new Error(`${op}: momentum must be a finite number, got ${momentum}`);
    updateRunning(op, runningMean, batchMean, momentum);
    updateRunning(op, runningVar, batchVar, momentum, count / (count - 1));
  }
  return out;
}

/** Options of `instanceNorm`. */
export interface InstanceNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise with each instance's own statistics (default true); false uses the running ones. */
  useInputStats?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Instance normalisation: each (sample, channel) plane normalised by its own statistics (PyTorch's
 * F.instance_norm). Defined, as in PyTorch, as batch norm of the input viewed as [1, N·C, ...]; running statistics,
 * when given, receive the average over the batch of the per-instance updates.
 */
export function instanceNorm(x: Tensor, opts: InstanceNormOptions = {}): Tensor {
  const op = 'instanceNorm';
  requireFloat(op, x);
  if (x.shape.length < 3)
    throw new Error(`${op}: expected input of rank ≥ 3 ([N, C, ...spatial]), got shape ${formatShape(x.shape)}`);
  const useInputStats = opts.useInputStats ?? true;
  const [n, c] = x.shape;
  const hw = numel(x.shape.slice(2));
  const weight = opts.weight ?? null;
  const bias = opts.bias ?? null;
  const rm = opts.runningMean ?? null;
  const rv = opts.runningVar ?? null;
  checkChannelParam(op, weight, 'weight', c, x);
  checkChannelParam(op, bias, 'bias', c, x);
  checkChannelParam(op, rm, 'runningMean', c, x);
  checkChannelParam(op, rv, 'runningVar', c, x);
  if (useInputStats && hw <= 1) {
    throw new Error(
      `${op}: Expected more than 1 spatial element when training, got input size ${formatShape(x.shape)}`,
    );
  }
  const rmRep = rm ? noGrad(() => repeat(rm, n)) : null;
  const rvRep = rv ? noGrad(() => repeat(rv, n)) : null;
  const x3 = reshape(x, [1, n * c, hw]);
  const out = batchNorm(x3, rmRep, rvRep, {
    weight: weight ? repeat(weight, n) : null,
    bias: bias ? repeat(bias, n) : null,
    training: useInputStats,
    momentum: opts.momentum ?? 0.1,
    eps: opts.eps ?? 1e-5,
  });
  if (useInputStats) {
    noGrad(() => {
      if (rm && rmRep) copy_(rm, mean(reshape(rmRep, [n, c]), 0));
      if (rv && rvRep) copy_(rv, mean(reshape(rvRep, [n, c]), 0));
    });
  }
  return reshape(out, x.shape);
}

/** Options of `groupNorm`. */
export interface GroupNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** Shape [1, C, 1, ...] so a per-channel vector broadcasts over an [N, C, ...] tensor. */
function channelView(p: Tensor, rank: number): Tensor {
  const shape = new Array<number>(rank).fill(1);
  shape[1] = p.numel();
  return reshape(p, shape);
}

/**
 * Group normalisation (PyTorch's F.group_norm): channels split into `numGroups` groups, each (sample, group)
 * normalised by its own mean and biased variance, then the per-channel affine.
 */
export function groupNorm(x: Tensor, numGroups: number, opts: GroupNormOptions = {}): Tensor {
  const op = 'groupNorm';
  requireFloat(op, x);
  if (x.shape.length < 2)
    throw new Error(`${op}: expected input of rank ≥ 2 ([N, C, ...]), got shape ${formatShape(x.shape)}`);
  const [n, c] = x.shape;
  if (!Number.isInteger(numGroups) || numGroups <= 0 || c % numGroups !== 0) {
    throw new Error(
      `${op}: numGroups must be a positive divisor of the ${c} channels of input ${formatShape(x.shape)}, got ${numGroups}`,
    );
  }
  const weight = opts.weight ?? null;
  const bias = opts.bias ?? null;
  checkChannelParam(op, weight, 'weight', c, x);
  checkChannelParam(op, bias, 'bias', c, x);
  const eps = opts.eps ?? 1e-5;
  const perGroup = (c / numGroups) * numel(x.shape.slice(2));
  const { out } = batchNormTrain(
    op,
    reshape(x, [1, n * numGroups, perGroup]),
    1,
    n * numGroups,
    perGroup,
    null,
    null,
    eps,
  );
  let y = reshape(out, x.shape);
  if (weight) y = mul(y, channelView(weight, x.shape.length));
  if (bias) y = add(y, channelView(bias, x.shape.length));
  return y;
}

/** Options of `layerNorm`. */
export interface LayerNormOptions {
  /** Elementwise scale of shape `normalizedShape`. */
  weight?: Tensor | null;
  /** Elementwise shift of shape `normalizedShape`. */
  bias?: Tensor | null;
  eps?: number;
}

/**
 * Layer normalisation over the trailing dims given by `normalizedShape` (PyTorch's F.layer_norm): each leading
 * index normalised by the mean and biased variance of its trailing block, then the elementwise affine.
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], opts: LayerNormOptions = {}): Tensor {
  const op = 'layerNorm';
  requireFloat(op, x);
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape.slice();
  const k = ns.length;
  if (k === 0 || k > x.shape.length || !shapesEqual(x.shape.slice(x.shape.length - k), ns)) {
    throw new Error(
      `${op}: normalizedShape ${formatShape(ns)} must equal the trailing dims of input ${formatShape(x.shape)}`,
    );
  }
  const weight = opts.weight ?? null;
  const bias = opts.bias ?? null;
  for (const [p, what] of [
    [weight, 'weight'],
    [bias, 'bias'],
  ] as const) {
    if (p && !shapesEqual(p.shape, ns))
      throw new Error(`${op}: ${what} has shape ${formatShape(p.shape)}, expected normalizedShape ${formatShape(ns)}`);
  }
  const inner = numel(ns);
  const outer = numel(x.shape.slice(0, x.shape.length - k));
  const { out } = batchNormTrain(op, reshape(x, [1, outer, inner]), 1, outer, inner, null, null, opts.eps ?? 1e-5);
  let y = reshape(out, x.shape);
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/** Options of `localResponseNorm`. */
export interface LocalResponseNormOptions {
  alpha?: number;
  beta?: number;
  k?: number;
}

/**
 * Local response normalisation across channels (AlexNet; PyTorch's F.local_response_norm):
 * y_c = x_c / (k + alpha/size · Σ_{c' in window(c)} x_{c'}²)^beta, where the window spans size//2 channels before and
 * (size−1)//2 after c, zero-padded at the ends (the division is by `size` even there, as in PyTorch).
 */
export function localResponseNorm(x: Tensor, size: number, opts: LocalResponseNormOptions = {}): Tensor {
  const op = 'localResponseNorm';
  requireFloat(op, x);
  if (x.shape.length < 3)
    throw new Error(`${op}: expected input of rank ≥ 3 ([N, C, ...spatial]), got shape ${formatShape(x.shape)}`);
  if (!Number.isInteger(size) || size <= 0) throw new Error(`${op}: size must be a positive integer, got ${size}`);
  const alpha = opts.alpha ?? 1e-4;
  const beta = opts.beta ?? 0.75;
  const k = opts.k ?? 1;
  const c = x.shape[1];
  const before = Math.floor(size / 2);
  const after = Math.floor((size - 1) / 2);
  const sq = square(x);
  const padShape = (p: number) => x.shape.map((s, i) => (i === 1 ? p : s));
  const parts: Tensor[] = [];
  if (before > 0) parts.push(Tensor.empty(padShape(before), x.dtype));
  parts.push(sq);
  if (after > 0) parts.push(Tensor.empty(padShape(after), x.dtype));
  const padded = parts.length > 1 ? cat(parts, 1) : sq;
  let windowSum = narrow(padded, 1, 0, c);
  for (let s = 1; s < size; s++) windowSum = add(windowSum, narrow(padded, 1, s, c));
  const denom = pow(add(mul(windowSum, alpha / size), k), beta);
  return div(x, denom);
}
