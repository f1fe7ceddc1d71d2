/**
 * Segmentation losses, composed of differentiable tensor ops (their gradients come from the ops' own backward):
 * soft Dice (Milletari et al. 2016, V-Net; the multi-class form averages per-class Dice), focal loss (Lin et al.
 * 2017, RetinaNet; softmax form for class-index targets, and torchvision's `sigmoid_focal_loss` for binary targets),
 * and Dice + cross entropy. Class-index targets follow `crossEntropy`: int32 [N, d1, …] for input [N, C, d1, …],
 * with `ignoreIndex` pixels contributing nothing.
 */
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { sigmoid } from './activation.js';
import { add, clamp, div, exp, mul, ne, neg, pow, sub, where } from './elementwise.js';
import { crossEntropy, binaryCrossEntropyWithLogits, type Reduction } from './loss.js';
import { mean, sum } from './reduce.js';
import { narrow, oneHot, permute, reshape, to, unsqueeze } from './shape.js';
import { logSoftmax, softmax } from './softmax.js';
import { requireFloat } from './util.js';

/** 1 − x. */
function rsub(x: Tensor, one: 1): Tensor {
  return sub(one, x);
}

function checkReduction(op: string, reduction: string): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  }
  return reduction;
}

/**
 * Class-index targets → (one-hot [N, C, d…] in `dtype`, valid mask [N, 1, d…] in `dtype`). Checks the shape
 * against the input and the range of the labels (ignoreIndex aside).
 */
function oneHotTargets(
  op: string,
  input: Tensor,
  target: Tensor,
  ignoreIndex: number,
): { onehot: Tensor; valid: Tensor } {
  if (target.dtype !== 'int32' && target.dtype !== 'uint8') {
    throw new Error(
      `${op}: class-index target must be an integer tensor (int32), got ${target.dtype} with shape ${formatShape(target.shape)}`,
    );
  }
  if (target.dtype === 'uint8') target = to(target, 'int32');
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (!shapesEqual(target.shape, expected)) {
    throw new Error(
      `${op}: target ${formatShape(target.shape)} does not fit input ${formatShape(input.shape)}; expected ${formatShape(expected)}`,
    );
  }
  const c = input.shape[1];
  const validB = ne(target, ignoreIndex);
  const safe = where(validB, target, 0);
  const data = safe.dataView();
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0 || data[i] >= c)
      throw new Error(`${op}: target ${data[i]} is out of range for ${c} classes (ignoreIndex ${ignoreIndex})`);
  }
  const rank = input.shape.length;
  // oneHot puts the class last: move it to dim 1.
  const oh = permute(to(oneHot(safe, c), input.dtype), [
    0,
    rank - 1,
    ...Array.from({ length: rank - 2 }, (_, i) => i + 1),
  ]);
  const valid = unsqueeze(to(validB, input.dtype), 1);
  return { onehot: mul(oh, valid), valid };
}

/** Options of `diceLoss`. */
export interface DiceLossOptions {
  /**
   * 'multiclass' (default): input [N, C, d…] logits, target class indices [N, d…] (or probabilities [N, C, d…]),
   * softmax over C. 'binary': input logits and target in {0, 1} of the same shape ([N, 1, d…] or [N, d…]), sigmoid.
   */
  mode?: 'multiclass' | 'binary';
  /** Whether `input` holds logits (default) or already probabilities. */
  fromLogits?: boolean;
  /** Added to the numerator and denominator: Dice = (2·|P∩T| + s) / (|P| + |T| + s); default 1e-5. */
  smooth?: number;
  /** Multi-class: target value that is left out (default -100, as crossEntropy). */
  ignoreIndex?: number;
  /** Multi-class: per-class weights [C] of the average (default equal). */
  weight?: Tensor | null;
  /** Multi-class: include class 0 in the average (default true). */
  includeBackground?: boolean;
  /** 'mean' (default) of the per-class losses, 'sum', or 'none' → per-class 1 − Dice [C]. */
  reduction?: Reduction;
}

/**
 * Soft Dice loss, 1 − Dice with soft (probability) overlaps: per class c,
 * Dice_c = (2·Σ p_c·t_c + smooth) / (Σ p_c + Σ t_c + smooth), the sums running over the whole batch and all pixels
 * ("batch Dice", which keeps a class absent from one image from dominating). Binary mode has one class.
 * A class absent from both prediction and target has Dice 1 (loss 0) thanks to `smooth`.
 */
export function diceLoss(input: Tensor, target: Tensor, opts: DiceLossOptions = {}): Tensor {
  const op = 'diceLoss';
  requireFloat(op, input);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const smooth = opts.smooth ?? 1e-5;
  if (!(smooth >= 0)) throw new Error(`${op}: smooth must be ≥ 0, got ${smooth}`);
  const mode = opts.mode ?? 'multiclass';
  let p: Tensor, t: Tensor;
  if (mode === 'binary') {
    if (!shapesEqual(input.shape, target.shape)) {
      throw new Error(
        `${op}: binary mode needs target of the input's shape ${formatShape(input.shape)}, got ${formatShape(target.shape)}`,
      );
    }
    p = opts.fromLogits === false ? input : sigmoid(input);
    t = to(target, input.dtype);
    const n = input.shape[0] ?? 1;
    p = reshape(p, [n, 1, -1]);
    t = reshape(t, [n, 1, -1]);
  } else if (mode === 'multiclass') {
    if (input.shape.length < 2)
      throw new Error(`${op}: multiclass input must be [N, C, d…], got ${formatShape(input.shape)}`);
    p = opts.fromLogits === false ? input : softmax(input, 1);
    if (shapesEqual(target.shape, input.shape) && target.dtype === input.dtype) {
      t = target;
    } else {
      const { onehot, valid } = oneHotTargets(op, input, target, opts.ignoreIndex ?? -100);
      t = onehot;
      p = mul(p, valid);
    }
  } else {
    throw new Error(`${op}: mode must be 'multiclass' or 'binary', got '${String(mode)}'`);
  }
  const c = p.shape[1];
  // Sum over everything but the class dim.
  const dims = [0, ...Array.from({ length: p.shape.length - 2 }, (_, i) => i + 2)];
  const inter = sum(mul(p, t), dims);
  const denom = add(sum(p, dims), sum(t, dims));
  let loss = rsub(div(add(mul(inter, 2), smooth), add(denom, smooth)), 1);
  let w: Tensor | null = opts.weight ?? null;
  if (w && (w.shape.length !== 1 || w.shape[0] !== c))
    throw new Error(`${op}: weight has shape ${formatShape(w.shape)}, expected [${c}]`);
  if (mode === 'multiclass' && opts.includeBackground === false) {
    if (c < 2) throw new Error(`${op}: includeBackground false needs at least 2 classes, got ${c}`);
    loss = narrow(loss, 0, 1, c - 1);
    if (w) w = narrow(w, 0, 1, c - 1);
  }
  if (reduction === 'none') return loss;
  if (w) {
    const ws = mul(loss, w.detach());
    return reduction === 'sum' ? sum(ws) : div(sum(ws), sum(w.detach()));
  }
  return reduction === 'sum' ? sum(loss) : mean(loss);
}

/** Options of `focalLoss`. */
export interface FocalLossOptions {
  /** Focusing parameter γ ≥ 0 (default 2; 0 gives cross entropy). */
  gamma?: number;
  /** Per-class balance weights α [C] (default none). */
  alpha?: Tensor | null;
  /** Target value that contributes nothing (default -100). */
  ignoreIndex?: number;
  /** 'mean' over the non-ignored pixels (default), 'sum', or 'none' (shape of the target, 0 where ignored). */
  reduction?: Reduction;
}

/**
 * Multi-class focal loss −α_t·(1 − p_t)^γ·log p_t with p_t the softmax probability of the target class (Lin et al.
 * 2017, eq. 5 with the softmax of §3 and per-class α). Input [N, C, d…] logits, target class indices [N, d…].
 */
export function focalLoss(input: Tensor, target: Tensor, opts: FocalLossOptions = {}): Tensor {
  const op = 'focalLoss';
  requireFloat(op, input);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const gamma = opts.gamma ?? 2;
  if (!(gamma >= 0)) throw new Error(`${op}: gamma must be ≥ 0, got ${gamma}`);
  if (input.shape.length < 2) throw new Error(`${op}: input must be [N, C, d…], got ${formatShape(input.shape)}`);
  const c = input.shape[1];
  const { onehot, valid } = oneHotTargets(op, input, target, opts.ignoreIndex ?? -100);
  const logpt = sum(mul(logSoftmax(input, 1), onehot), 1, true); // [N, 1, d…], 0 where ignored
  const pt = exp(logpt);
  // (1 − p_t)^γ; clamp keeps the base ≥ 0 against rounding (p_t may round above 1 by an ulp).
  let loss = neg(mul(gamma === 0 ? valid : pow(clamp(rsub(pt, 1), 0, null), gamma), logpt));
  if (opts.alpha) {
    const a = opts.alpha;
    if (a.shape.length !== 1 || a.shape[0] !== c)
      throw new Error(`${op}: alpha has shape ${formatShape(a.shape)}, expected [${c}]`);
    const at = sum(mul(onehot, reshape(a.detach(), [1, c, ...input.shape.slice(2).map(() => 1)])), 1, true);
    loss = mul(loss, at);
  }
  loss = mul(loss, valid);
  loss = reshape(loss, target.shape);
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return sum(loss);
  return div(sum(loss), sum(valid));
}

/** Options of `sigmoidFocalLoss` (torchvision.ops.sigmoid_focal_loss). */
export interface SigmoidFocalLossOptions {
  /** Weight of the positives in (0, 1), negatives get 1 − α; negative disables (default 0.25). */
  alpha?: number;
  /** Default 2. */
  gamma?: number;
  /** Default 'none', as torchvision. */
  reduction?: Reduction;
}

/**
 * Binary focal loss on logits (torchvision.ops.sigmoid_focal_loss): ce·(1 − p_t)^γ·α_t with ce the binary cross
 * entropy with logits, p_t = p·t + (1 − p)·(1 − t), α_t = α·t + (1 − α)·(1 − t). Targets in [0, 1], the input's shape.
 */
export function sigmoidFocalLoss(input: Tensor, target: Tensor, opts: SigmoidFocalLossOptions = {}): Tensor {
  const op = 'sigmoidFocalLoss';
  requireFloat(op, input);
  const reduction = checkReduction(op, opts.reduction ?? 'none');
  if (!shapesEqual(input.shape, target.shape)) {
    throw new Error(
      `${op}: target ${formatShape(target.shape)} must have the input's shape ${formatShape(input.shape)}`,
    );
  }
  const gamma = opts.gamma ?? 2,
    alpha = opts.alpha ?? 0.25;
  const t = to(target, input.dtype);
  const p = sigmoid(input);
  const ce = binaryCrossEntropyWithLogits(input, t, { reduction: 'none' });
  const pt = add(mul(p, t), mul(rsub(p, 1), rsub(t, 1)));
  let loss = mul(ce, pow(rsub(pt, 1), gamma));
  if (alpha >= 0) loss = mul(loss, add(mul(t, alpha), mul(rsub(t, 1), 1 - alpha)));
  if (reduction === 'none') return loss;
  return reduction === 'sum' ? sum(loss) : mean(loss);
}

/** Options of `diceCELoss`. */
export interface DiceCELossOptions {
  /** Weight of the cross-entropy term (default 1). */
  ceWeight?: number;
  /** Weight of the Dice term (default 1). */
  diceWeight?: number;
  /** Class weights for the cross entropy (default none). */
  weight?: Tensor | null;
  /** Ignored target value for both terms (default -100). */
  ignoreIndex?: number;
  /** Dice smoothing (default 1e-5). */
  smooth?: number;
  /** Include class 0 in the Dice average (default true). */
  includeBackground?: boolean;
}

/** ceWeight·crossEntropy + diceWeight·diceLoss (multi-class, class-index targets): pixel-wise and region-wise terms. */
export function diceCELoss(input: Tensor, target: Tensor, opts: DiceCELossOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const ce = crossEntropy(input, target, { weight: opts.weight ?? null, ignoreIndex });
  const dice = diceLoss(input, target, { ignoreIndex, smooth: opts.smooth, includeBackground: opts.includeBackground });
  return add(mul(ce, opts.ceWeight ?? 1), mul(dice, opts.diceWeight ?? 1));
}
