/**
 * Segmentation loss modules around `ops/seg-loss` (Dice, focal, Dice + CE) and the deep-supervision wrapper that
 * applies a loss to a model's `{out, aux}` output (torchvision's segmentation recipe: out + 0.5·aux; U-Net/UNet++
 * deep supervision: one weighted term per decoder level).
 */
import { add, mul } from '../ops/elementwise.js';
import { interpolate } from '../ops/interpolate.js';
import {
  diceCELoss,
  diceLoss,
  focalLoss,
  type DiceCELossOptions,
  type DiceLossOptions,
  type FocalLossOptions,
} from '../ops/seg-loss.js';
import { squeeze, to, unsqueeze } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** Soft Dice loss module (see `F.diceLoss`). */
export class DiceLoss extends Module<[Tensor, Tensor]> {
  constructor(readonly opts: DiceLossOptions = {}) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return diceLoss(input, target, this.opts);
  }
}

/** Multi-class focal loss module (see `F.focalLoss`). */
export class FocalLoss extends Module<[Tensor, Tensor]> {
  constructor(readonly opts: FocalLossOptions = {}) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return focalLoss(input, target, this.opts);
  }
}

/** Cross entropy + soft Dice module (see `F.diceCELoss`). */
export class DiceCELoss extends Module<[Tensor, Tensor]> {
  constructor(readonly opts: DiceCELossOptions = {}) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return diceCELoss(input, target, this.opts);
  }
}

/** A model output with auxiliary predictions (what the segmentation models return). */
export interface AuxOutput {
  out: Tensor;
  aux?: Tensor | Tensor[];
}

/** A loss of (prediction, target). */
export type LossFn = (input: Tensor, target: Tensor) => Tensor;

/** Options of `deepSupervisionLoss`. */
export interface DeepSupervisionOptions {
  /**
   * Weight of each auxiliary output: one number for all (default 0.5, torchvision's segmentation reference), or
   * one per aux map in the model's order.
   */
  auxWeights?: number | readonly number[];
}

/**
 * Nearest-neighbour resize of class-index targets [N, H, W] to [h, w], for auxiliary outputs at a coarser
 * resolution (the label of the pixel each output cell samples; PyTorch's 'nearest' rule).
 */
export function resizeTargets(target: Tensor, size: readonly number[]): Tensor {
  if (target.shape.length !== 3)
    throw new Error(`resizeTargets: expected targets [N, H, W], got ${formatShape(target.shape)}`);
  if (target.shape[1] === size[0] && target.shape[2] === size[1]) return target;
  const f = interpolate(unsqueeze(to(target, 'float32'), 1), { size: [size[0], size[1]], mode: 'nearest' });
  return to(squeeze(f, 1), target.dtype);
}

/**
 * Wraps `loss` so it takes a model output that is a tensor or `{out, aux}`: loss(out, t) + Σ_i w_i·loss(aux_i, t).
 * Aux maps at a lower resolution than the target get a nearest-resized target. A plain tensor output gets loss alone.
 */
export function deepSupervisionLoss(
  loss: LossFn,
  opts: DeepSupervisionOptions = {},
): (output: Tensor | AuxOutput, target: Tensor) => Tensor {
  const weights = opts.auxWeights ?? 0.5;
  return (output, target) => {
    if (output instanceof Tensor) return loss(output, target);
    if (!output || !(output.out instanceof Tensor))
      throw new Error('deepSupervisionLoss: the output must be a Tensor or {out: Tensor, aux?: Tensor | Tensor[]}');
    let total = loss(output.out, target);
    const aux = output.aux === undefined ? [] : Array.isArray(output.aux) ? output.aux : [output.aux];
    if (Array.isArray(weights) && weights.length !== aux.length) {
      throw new Error(`deepSupervisionLoss: ${weights.length} aux weights for ${aux.length} auxiliary outputs`);
    }
    aux.forEach((a, i) => {
      const w = typeof weights === 'number' ? weights : (weights as readonly number[])[i];
      if (w === 0) return;
      const t = a.shape.length === 4 && target.shape.length === 3 ? resizeTargets(target, a.shape.slice(2)) : target;
      total = add(total, mul(loss(a, t), w));
    });
    return total;
  };
}

/** Module form of `deepSupervisionLoss`. */
export class DeepSupervisionLoss extends Module<[Tensor | AuxOutput, Tensor]> {
  private readonly fn: (output: Tensor | AuxOutput, target: Tensor) => Tensor;
  constructor(loss: LossFn | Module<[Tensor, Tensor]>, opts: DeepSupervisionOptions = {}) {
    super();
    const base: LossFn = loss instanceof Module ? (i, t) => loss.forward(i, t) : loss;
    this.fn = deepSupervisionLoss(base, opts);
  }

  forward(output: Tensor | AuxOutput, target: Tensor): Tensor {
    return this.fn(output, target);
  }
}
