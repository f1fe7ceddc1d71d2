/**
 * Loss functions with PyTorch's semantics (reduction 'mean' | 'sum' | 'none' everywhere).
 *
 * They are compositions of differentiable tensor ops (log-softmax, gather, elementwise), so their gradients come
 * from the ops' own backward passes, except binary cross entropy, whose backward is PyTorch's closed form (it clamps
 * the denominator, where autograd through the clamped logs would give zero at p ∈ {0, 1}).
 */
import { record } from '../autograd/graph.js';
import { isCreatingGraph, noGrad } from '../autograd/grad-mode.js';
import { isFloating } from '../tensor/dtype.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { softplus } from './activation.js';
import { abs, add, clamp, div, exp, gt, log, lt, mul, ne, neg, square, sub, where } from './elementwise.js';
import { amax, amin, sum } from './reduce.js';
import { expand, gather, permute, reshape, to } from './shape.js';
import { logSoftmax } from './softmax.js';
import { requireFloat, requireSameShape, requireTensor } from './util.js';

/** How per-element losses are combined. */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, reduction: string): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  }
  return reduction;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  const s = sum(loss);
  return reduction === 'sum' ? s : div(s, loss.numel());
}

/** Options of `nllLoss`. */
export interface NllLossOptions {
  /** Per-class rescaling weight of shape [C]. */
  weight?: Tensor | null;
  /** Target value that contributes neither loss nor gradient nor weight (default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

function checkClassWeight(op: string, weight: Tensor | null, c: number, input: Tensor): void {
  if (!weight) return;
  if (!isFloating(weight.dtype)) throw new Error(`${op}: weight must be a floating-point tensor, got ${weight.dtype}`);
  if (weight.shape.length !== 1 || weight.shape[0] !== c) {
    throw new Error(
      `${op}: weight has shape ${formatShape(weight.shape)} but input ${formatShape(input.shape)} has ${c} classes (expected [${c}])`,
    );
  }
}

/**
 * Per-element negative log-likelihood −w[t]·x[t] of class-index targets, and each element's weight (0 where ignored),
 * both shaped like the target. `input` is [C] (target 0-d) or [N, C, d1, ...] (target [N, d1, ...]).
 */
function pickTargets(
  op: string,
  input: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
): { loss: Tensor; w: Tensor } {
  requireTensor(op, target, 'target');
  if (weight !== null) requireTensor(op, weight, 'weight');
  if (target.dtype !== 'int32' && target.dtype !== 'uint8') {
    throw new Error(
      `${op}: class-index target must be an integer tensor (int32), got ${target.dtype} with shape ${formatShape(target.shape)}`,
    );
  }
  // uint8 labels are widened so that ignoreIndex (-100 by default) compares as a number, not as a wrapped byte.
  if (target.dtype === 'uint8') target = to(target, 'int32');
  const rank = input.shape.length;
  if (rank === 0) throw new Error(`${op}: input must have a class dim, got a 0-d tensor`);
  const c = rank === 1 ? input.shape[0] : input.shape[1];
  const expected = rank === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (!shapesEqual(target.shape, expected)) {
    if (rank >= 2 && target.shape.length >= 1 && target.shape[0] !== input.shape[0]) {
      throw new Error(
        `${op}: input ${formatShape(input.shape)} has batch size ${input.shape[0]} but target ${formatShape(target.shape)} has ${target.shape[0]}`,
      );
    }
    throw new Error(
      `${op}: target shape ${formatShape(target.shape)} does not fit input ${formatShape(input.shape)}; class-index targets must have shape ${formatShape(expected)} (input without the class dim)`,
    );
  }
  checkClassWeight(op, weight, c, input);
  // Rows of C class scores: move the class dim last so every target indexes one row.
  const rows =
    rank <= 2
      ? reshape(input, [-1, c])
      : reshape(permute(input, [0, ...input.shape.slice(2).map((_, i) => i + 2), 1]), [-1, c]);
  // The labels carry no gradient: one pass over them gives the gather index (ignored targets read class 0) and
  // each element's weight (0 where ignored) — a segmentation batch has 65k+ labels, and the ne / where / amax /
  // amin / cast chain this replaces took several milliseconds per step.
  const labels = reshape(target, [-1]).dataView();
  const classWeight = weight ? (weight.dtype === input.dtype ? weight : to(weight, input.dtype)).dataView() : null;
  const safe = Tensor.unfilled([labels.length], 'int32');
  const w = Tensor.unfilled([labels.length], input.dtype);
  const si = safe.storage,
    wi = w.storage;
  let hi = 0,
    lo = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    const ok = v !== ignoreIndex;
    const k = ok ? v : 0;
    si[i] = k;
    if (k > hi) hi = k;
    if (k < lo) lo = k;
    wi[i] = ok ? (classWeight && k >= 0 && k < c ? classWeight[k] : 1) : 0;
  }
  if (hi >= c || lo < 0) throw new Error(`${op}: target ${hi >= c ? hi : lo} is out of range for ${c} classes`);
  const picked = reshape(gather(rows, 1, reshape(safe, [-1, 1])), [-1]);
  return { loss: reshape(neg(mul(picked, w)), target.shape), w: reshape(w, target.shape) };
}

function reduceWeighted(loss: Tensor, w: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  const s = sum(loss);
  // PyTorch divides by the total weight of the non-ignored targets (NaN when every target is ignored).
  return reduction === 'sum' ? s : div(s, sum(w));
}

/**
 * Negative log-likelihood of class-index targets given log-probabilities (PyTorch's F.nll_loss).
 * `logProbs` is [N, C] or [N, C, d1, ...] (or [C]); `target` int32 [N] / [N, d1, ...] (or 0-d) with values in
 * [0, C) or `ignoreIndex`. 'mean' divides by the summed weight of the non-ignored targets.
 */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: NllLossOptions = {}): Tensor {
  const op = 'nllLoss';
  requireFloat(op, logProbs);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const { loss, w } = pickTargets(op, logProbs, target, opts.weight ?? null, opts.ignoreIndex ?? -100);
  return reduceWeighted(loss, w, reduction);
}

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions extends NllLossOptions {
  /** Mixes the target with the uniform distribution: (1 − ε)·target + ε/C (default 0). */
  labelSmoothing?: number;
}

/**
 * Cross entropy between logits and targets (PyTorch's F.cross_entropy): log-softmax over the class dim (dim 1, or 0
 * for a 1-D input) followed by the negative log-likelihood.
 *
 * Targets are either class indices (int32, shape of the input without the class dim; `weight`, `ignoreIndex` and
 * `labelSmoothing` apply as in PyTorch) or class probabilities (floating, same shape as the input).
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  requireFloat(op, input);
  requireTensor(op, target, 'target');
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const ls = opts.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new Error(`${op}: labelSmoothing must be in [0, 1], got ${ls}`);
  if (input.shape.length === 0) throw new Error(`${op}: input must have a class dim, got a 0-d tensor`);
  const classDim = input.shape.length === 1 ? 0 : 1;
  const c = input.shape[classDim];
  const weight = opts.weight ?? null;
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const weightView = () => {
    const shape = input.shape.map(() => 1);
    shape[classDim] = c;
    return reshape(weight!.detach(), shape);
  };
  if (isFloating(target.dtype)) {
    if (!shapesEqual(target.shape, input.shape)) {
      const expected = input.shape.length === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
      throw new Error(
        `${op}: float target of shape ${formatShape(target.shape)} must match input ${formatShape(input.shape)} (class probabilities); ` +
          `class-index targets must be int32 of shape ${formatShape(expected)}`,
      );
    }
    if (ignoreIndex >= 0) throw new Error(`${op}: ignoreIndex is not supported for class-probability (float) targets`);
    checkClassWeight(op, weight, c, input);
    const logp = logSoftmax(input, classDim);
    const t = ls > 0 ? add(mul(target, 1 - ls), ls / c) : target;
    let prod = mul(logp, t);
    if (weight) prod = mul(prod, weightView());
    const perSample = neg(sum(prod, classDim));
    if (reduction === 'none') return perSample;
    const total = sum(perSample);
    return reduction === 'sum' ? total : div(total, input.numel() / c);
  }
  const logp = logSoftmax(input, classDim);
  const labels = target.dtype === 'uint8' ? to(target, 'int32') : target;
  const { loss, w } = pickTargets(op, logp, labels, weight, ignoreIndex);
  const nll = reduceWeighted(loss, w, reduction);
  if (ls === 0) return nll;
  // PyTorch 1.13: the smoothing term is −Σ_c w_c·log p_c per element, zeroed where ignored, reduced with the same
  // denominator as the nll term (Σ of the weights of the non-ignored targets).
  const smoothTerms = weight ? mul(logp, weightView()) : logp;
  const valid = ne(labels, ignoreIndex);
  const smooth = mul(neg(sum(smoothTerms, classDim)), valid);
  const smoothRed = reduceWeighted(smooth, w, reduction);
  return add(mul(nll, 1 - ls), mul(smoothRed, ls / c));
}

function requireFloatTarget(op: string, target: Tensor): void {
  if (!isFloating(target.dtype))
    throw new Error(`${op}: target must be a floating-point tensor, got ${target.dtype} (use .float())`);
}

function broadcastWeight(op: string, weight: Tensor, input: Tensor, what = 'weight'): Tensor {
  try {
    return expand(weight.detach(), input.shape);
  } catch {
    throw new Error(
      `${op}: ${what} of shape ${formatShape(weight.shape)} cannot be broadcast to input ${formatShape(input.shape)}`,
    );
  }
}

/** Options of `binaryCrossEntropy`. */
export interface BinaryCrossEntropyOptions {
  /** Rescaling weight broadcast to the input's shape. */
  weight?: Tensor | null;
  reduction?: Reduction;
}

/**
 * Binary cross entropy between probabilities `input` ∈ [0, 1] and targets (PyTorch's F.binary_cross_entropy):
 * −w·(t·log p + (1 − t)·log(1 − p)), each log clamped at −100 so that p ∈ {0, 1} gives a finite loss.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BinaryCrossEntropyOptions = {}): Tensor {
  const op = 'binaryCrossEntropy';
  requireFloat(op, input);
  requireFloatTarget(op, target);
  requireSameShape(op, input, target);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  if (input.numel() > 0) {
    const lo = amin(input).item();
    const hi = amax(input).item();
    if (!(lo >= 0 && hi <= 1)) {
      throw new Error(
        `${op}: input values must be probabilities in [0, 1], got values in [${lo}, ${hi}] (apply sigmoid first, or use binaryCrossEntropyWithLogits)`,
      );
    }
  }
  const w = opts.weight ? broadcastWeight(op, opts.weight, input) : null;
  const { loss, logP, log1mP } = noGrad(() => {
    const lp = clamp(log(input), -100, null);
    const l1p = clamp(log(sub(1, input)), -100, null);
    let l = neg(add(mul(target, lp), mul(sub(1, target), l1p)));
    if (w) l = mul(l, w);
    return { loss: l, logP: lp, log1mP: l1p };
  });
  const perElem = record(op, loss, [input, target], () => (g) => {
    const gw = w ? mul(g, w) : g;
    return [
      // PyTorch's closed form: w·(p − t)/max(p(1 − p), 1e-12).
      input.requiresGrad ? div(mul(gw, sub(input, target)), clamp(mul(sub(1, input), input), 1e-12, null)) : null,
      // the saved logs are constants; under createGraph they are recomputed so they depend on the input
      target.requiresGrad
        ? mul(
            gw,
            isCreatingGraph()
              ? sub(clamp(log(sub(1, input)), -100, null), clamp(log(input), -100, null))
              : sub(log1mP, logP),
          )
        : null,
    ];
  });
  return reduce(perElem, reduction);
}

/** Options of `binaryCrossEntropyWithLogits`. */
export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of positive examples, broadcast along the last (class) dim. */
  posWeight?: Tensor | null;
}

/**
 * Sigmoid + binary cross entropy in one numerically stable expression (PyTorch's
 * F.binary_cross_entropy_with_logits): (1 − t)·x + (1 + (posWeight − 1)·t)·softplus(−x), times weight.
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  opts: BinaryCrossEntropyWithLogitsOptions = {},
): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  requireFloat(op, input);
  requireFloatTarget(op, target);
  requireSameShape(op, input, target);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const spNeg = softplus(neg(input));
  let logWeight: Tensor | number = 1;
  if (opts.posWeight) {
    const pw = broadcastWeight(op, opts.posWeight, input, 'posWeight');
    logWeight = add(mul(sub(pw, 1), target), 1);
  }
  let loss = add(mul(sub(1, target), input), typeof logWeight === 'number' ? spNeg : mul(logWeight, spNeg));
  if (opts.weight) loss = mul(loss, broadcastWeight(op, opts.weight, input));
  return reduce(loss, reduction);
}

/** Options of the regression losses. */
export interface RegressionLossOptions {
  reduction?: Reduction;
}

function regressionOperands(op: string, input: Tensor, target: Tensor): Tensor {
  requireFloat(op, input);
  requireFloatTarget(op, target);
  if (!shapesEqual(input.shape, target.shape)) {
    // PyTorch broadcasts with a warning; a shape mismatch here is almost always a bug ([N, 1] vs [N] gives [N, N]).
    throw new Error(
      `${op}: input shape ${formatShape(input.shape)} and target shape ${formatShape(target.shape)} must match (reshape one of them)`,
    );
  }
  return sub(input, target);
}

/** Mean squared error (x − y)² (PyTorch's F.mse_loss). */
export function mseLoss(input: Tensor, target: Tensor, opts: RegressionLossOptions = {}): Tensor {
  const reduction = checkReduction('mseLoss', opts.reduction ?? 'mean');
  return reduce(square(regressionOperands('mseLoss', input, target)), reduction);
}

/** Mean absolute error |x − y| (PyTorch's F.l1_loss). */
export function l1Loss(input: Tensor, target: Tensor, opts: RegressionLossOptions = {}): Tensor {
  const reduction = checkReduction('l1Loss', opts.reduction ?? 'mean');
  return reduce(abs(regressionOperands('l1Loss', input, target)), reduction);
}

/** Options of `smoothL1Loss`. */
export interface SmoothL1LossOptions extends RegressionLossOptions {
  /** Where the loss switches from quadratic to linear (default 1; 0 gives the L1 loss). */
  beta?: number;
}

/** 0.5·d²/beta for |d| < beta, |d| − 0.5·beta otherwise, d = x − y (PyTorch's F.smooth_l1_loss). */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: SmoothL1LossOptions = {}): Tensor {
  const op = 'smoothL1Loss';
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new Error(`${op}: beta must be ≥ 0, got ${beta}`);
  const d = abs(regressionOperands(op, input, target));
  if (beta === 0) return reduce(d, reduction);
  const loss = where(lt(d, beta), mul(square(d), 0.5 / beta), sub(d, 0.5 * beta));
  return reduce(loss, reduction);
}

/** Options of `huberLoss`. */
export interface HuberLossOptions extends RegressionLossOptions {
  /** Where the loss switches from quadratic to linear (default 1). */
  delta?: number;
}

/** 0.5·d² for |d| < delta, delta·(|d| − 0.5·delta) otherwise (PyTorch's F.huber_loss; smoothL1 scaled by delta). */
export function huberLoss(input: Tensor, target: Tensor, opts: HuberLossOptions = {}): Tensor {
  const op = 'huberLoss';
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new Error(`${op}: delta must be > 0, got ${delta}`);
  const d = abs(regressionOperands(op, input, target));
  const loss = where(lt(d, delta), mul(square(d), 0.5), mul(sub(d, 0.5 * delta), delta));
  return reduce(loss, reduction);
}

/** Options of `klDiv`. */
export interface KlDivOptions {
  /** 'batchmean' divides the sum by the batch size (the mathematically correct KL mean); 'mean' by the element count (PyTorch's default). */
  reduction?: Reduction | 'batchmean';
  /** The target is given as log-probabilities (default false: probabilities). */
  logTarget?: boolean;
}

/**
 * Kullback–Leibler divergence of `target` from the distribution whose log-probabilities are `input` (PyTorch's
 * F.kl_div): target·(log target − input) pointwise, with 0·log 0 = 0; or exp(t)·(t − input) when logTarget.
 */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  const op = 'klDiv';
  requireFloat(op, input);
  requireFloatTarget(op, target);
  requireSameShape(op, input, target);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'batchmean') checkReduction(op, reduction);
  let loss: Tensor;
  if (opts.logTarget) {
    loss = mul(exp(target), sub(target, input));
  } else {
    // log of 1 where the target is 0, so 0·log 0 is 0 in value and in both gradients (no 0·∞).
    const safe = where(gt(target, 0), target, 1);
    loss = mul(target, sub(log(safe), input));
  }
  if (reduction === 'batchmean') {
    const batch = input.shape.length > 0 ? input.shape[0] : 1;
    return div(sum(loss), batch);
  }
  return reduce(loss, reduction);
}
