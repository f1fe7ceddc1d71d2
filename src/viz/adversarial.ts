/**
 * Adversarial examples under an L∞ budget: FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018), plus the
 * accuracy-against-ε sweep `tatami attack` prints.
 */
import { Tensor } from '../tensor/tensor.js';
import { crossEntropy } from '../ops/loss.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Generator } from '../tensor/random.js';
import { defaultGenerator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import { argmaxRows, asBatch, callModel, gradLeaf, type ModelLike } from './model-util.js';

/** Options shared by fgsm and pgd. */
export interface AttackOptions {
  /** Valid input range; adversarial images are clamped into it (default [0, 1]; use the normalised range when the model takes normalised input). */
  clampMin?: number;
  clampMax?: number;
  /** Move towards `labels` as target classes instead of away from the true classes (default false). */
  targeted?: boolean;
}

/** Options of pgd. */
export interface PgdOptions extends AttackOptions {
  /** Step size α (default 2.5·ε/steps, Madry et al.'s choice: the iterates can cross the ε-ball). */
  stepSize?: number;
  /** Iterations (default 10). */
  steps?: number;
  /** Start from a uniform random point in the ε-ball (default true, as Madry et al.). */
  randomStart?: boolean;
  generator?: Generator;
}

function labelsTensor(labels: Tensor | readonly number[], N: number, op: string): Tensor {
  const t = labels instanceof Tensor ? labels : new Tensor(Int32Array.from(labels), [labels.length], 'int32');
  if (t.shape.length !== 1 || t.shape[0] !== N)
    throw new Error(`${op}: expected ${N} labels, got shape ${formatShape(t.shape)}`);
  return t.dtype === 'int32' ? t : t.to('int32');
}

function checkEps(eps: number, op: string): void {
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${op}: eps must be a finite number ≥ 0, got ${eps}`);
}

/** Sign of ∂loss/∂x for the batch (loss summed so each image's gradient is its own). */
function lossGradSign(
  model: ModelLike,
  x: Float32Array,
  shape: readonly number[],
  y: Tensor,
  targeted: boolean,
): Float32Array {
  const leaf = gradLeaf(new Tensor(x, shape, 'float32'));
  const params = model instanceof Module ? model.parameters() : [];
  const saved = params.map((p) => p.grad);
  const logits = callModel(model, leaf);
  crossEntropy(logits, y, { reduction: 'sum' }).backward();
  params.forEach((p, i) => {
    p.grad = saved[i];
  });
  if (leaf.grad === null) throw new Error('attack: no gradient reached the input (does the model detach it?)');
  const g = leaf.grad.dataView();
  const out = new Float32Array(g.length);
  const dir = targeted ? -1 : 1;
  for (let i = 0; i < g.length; i++) out[i] = g[i] > 0 ? dir : g[i] < 0 ? -dir : 0;
  return out;
}

/**
 * FGSM: x' = clamp(x + ε·sign(∇ₓ loss(f(x), y)), min, max) for images [N, C, H, W] and labels [N]. Returns the
 * perturbed batch (float32, no graph).
 */
export function fgsm(
  model: ModelLike,
  images: Tensor,
  labels: Tensor | readonly number[],
  eps: number,
  opts: AttackOptions = {},
): Tensor {
  checkEps(eps, 'fgsm');
  const x = asBatch(images, 'fgsm');
  const y = labelsTensor(labels, x.shape[0], 'fgsm');
  const lo = opts.clampMin ?? 0,
    hi = opts.clampMax ?? 1;
  const x0 = Float32Array.from(x.dataView() as ArrayLike<number>);
  if (eps === 0) return new Tensor(x0, x.shape, 'float32');
  const s = lossGradSign(model, x0, x.shape, y, opts.targeted ?? false);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(hi, Math.max(lo, x0[i] + eps * s[i]));
  return new Tensor(out, x.shape, 'float32');
}

/**
 * PGD (L∞): `steps` signed-gradient steps of size α, each projected back onto the ε-ball around x and into the
 * valid range; optional uniform random start. Returns the perturbed batch.
 */
export function pgd(
  model: ModelLike,
  images: Tensor,
  labels: Tensor | readonly number[],
  eps: number,
  opts: PgdOptions = {},
): Tensor {
  checkEps(eps, 'pgd');
  const x = asBatch(images, 'pgd');
  const y = labelsTensor(labels, x.shape[0], 'pgd');
  const lo = opts.clampMin ?? 0,
    hi = opts.clampMax ?? 1;
  const steps = opts.steps ?? 10;
  const alpha = opts.stepSize ?? (2.5 * eps) / steps;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`pgd: steps must be a positive integer, got ${steps}`);
  if (!(alpha > 0) && eps > 0) throw new Error(`pgd: stepSize must be > 0, got ${alpha}`);
  const x0 = Float32Array.from(x.dataView() as ArrayLike<number>);
  const adv = Float32Array.from(x0);
  if (eps === 0) return new Tensor(adv, x.shape, 'float32');
  const gen = opts.generator ?? defaultGenerator;
  const project = (i: number, v: number): number =>
    Math.min(hi, Math.max(lo, Math.min(x0[i] + eps, Math.max(x0[i] - eps, v))));
  if (opts.randomStart ?? true) {
    for (let i = 0; i < adv.length; i++) adv[i] = project(i, x0[i] + (2 * gen.random() - 1) * eps);
  }
  for (let s = 0; s < steps; s++) {
    const g = lossGradSign(model, adv, x.shape, y, opts.targeted ?? false);
    for (let i = 0; i < adv.length; i++) adv[i] = project(i, adv[i] + alpha * g[i]);
  }
  return new Tensor(adv, x.shape, 'float32');
}

/** One row of an ε sweep. */
export interface EpsilonResult {
  eps: number;
  /** Top-1 accuracy on the perturbed images. */
  accuracy: number;
  correct: number;
  total: number;
}

/** Options of accuracyVsEpsilon. */
export interface SweepOptions extends PgdOptions {
  /** 'fgsm' (default) or 'pgd'. */
  attack?: 'fgsm' | 'pgd';
  /** Called with each ε's first perturbed batch (to save example images). */
  onBatch?: (eps: number, adversarial: Tensor, predictions: number[], batchIndex: number) => void;
}

/**
 * Accuracy of `model` on adversarial versions of `batches` for each ε (ε = 0 is the clean accuracy). `batches` is
 * any iterable of [images, labels] (e.g. a DataLoader).
 */
export function accuracyVsEpsilon(
  model: ModelLike,
  batches: Iterable<readonly [Tensor, Tensor]>,
  epsilons: readonly number[],
  opts: SweepOptions = {},
): EpsilonResult[] {
  if (epsilons.length === 0) throw new Error('accuracyVsEpsilon: no epsilons given');
  const list = [...batches];
  if (list.length === 0) throw new Error('accuracyVsEpsilon: no batches');
  return epsilons.map((eps) => {
    let correct = 0,
      total = 0;
    list.forEach(([xb, yb], bi) => {
      const adv = opts.attack === 'pgd' ? pgd(model, xb, yb, eps, opts) : fgsm(model, xb, yb, eps, opts);
      const preds = argmaxRows(noGrad(() => callModel(model, adv)));
      const y = yb.dataView();
      preds.forEach((p, i) => {
        if (p === y[i]) correct++;
      });
      total += preds.length;
      opts.onBatch?.(eps, adv, preds, bi);
    });
    return { eps, accuracy: correct / total, correct, total };
  });
}
