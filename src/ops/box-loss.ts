/**
 * Detection losses of torchvision.ops: the elementwise IoU-family box regression losses (generalised, distance,
 * complete) and the sigmoid focal loss of RetinaNet. Built from differentiable tensor ops in torchvision's order,
 * so values and gradients agree with it to float rounding.
 */
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { isFloating } from '../tensor/dtype.js';
import { add, div, gt, maximum, minimum, mul, pow, sub, where } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { select, to } from './shape.js';
import { sigmoid } from './activation.js';
import { binaryCrossEntropyWithLogits } from './loss.js';
import { atan } from './boxes.js';

/** Reduction of the elementwise detection losses (torchvision's names). */
export type BoxLossReduction = 'none' | 'mean' | 'sum';

/** Options of the IoU-family losses. */
export interface BoxIouLossOptions {
  /** 'none' (default, as torchvision), 'mean' or 'sum'. */
  reduction?: BoxLossReduction;
  /** Added to denominators (default 1e-7). */
  eps?: number;
}

function reduce(op: string, loss: Tensor, reduction: BoxLossReduction): Tensor {
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return sum(loss);
  if (reduction === 'mean') return loss.numel() > 0 ? mean(loss) : mul(sum(loss), 0);
  throw new Error(`${op}: reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
}

function cols(b: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  const d = b.shape.length - 1;
  return [select(b, d, 0), select(b, d, 1), select(b, d, 2), select(b, d, 3)];
}

function prepare(op: string, boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  const bad = (b: Tensor) => b.shape.length < 1 || b.shape[b.shape.length - 1] !== 4;
  if (bad(boxes1) || bad(boxes2) || boxes1.shape.join() !== boxes2.shape.join()) {
    throw new Error(
      `${op}: boxes1 and boxes2 must both have shape [..., 4] and match, got ${formatShape(boxes1.shape)} and ${formatShape(boxes2.shape)}`,
    );
  }
  const up = (b: Tensor) => (isFloating(b.dtype) ? b : to(b, 'float32'));
  return [up(boxes1), up(boxes2)];
}

/** Elementwise intersection (0 where the boxes are disjoint) and union (torchvision's _loss_inter_union). */
function interUnion(b1: Tensor, b2: Tensor): [Tensor, Tensor] {
  const [x1, y1, x2, y2] = cols(b1);
  const [gx1, gy1, gx2, gy2] = cols(b2);
  const xk1 = maximum(x1, gx1);
  const yk1 = maximum(y1, gy1);
  const xk2 = minimum(x2, gx2);
  const yk2 = minimum(y2, gy2);
  const overlap = mul(gt(yk2, yk1), gt(xk2, xk1));
  const inter = where(overlap, mul(sub(xk2, xk1), sub(yk2, yk1)), 0);
  const union = sub(add(mul(sub(x2, x1), sub(y2, y1)), mul(sub(gx2, gx1), sub(gy2, gy1))), inter);
  return [inter, union];
}

/** Enclosing box corners of each pair. */
function enclosing(b1: Tensor, b2: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  const [x1, y1, x2, y2] = cols(b1);
  const [gx1, gy1, gx2, gy2] = cols(b2);
  return [minimum(x1, gx1), minimum(y1, gy1), maximum(x2, gx2), maximum(y2, gy2)];
}

/**
 * 1 − GIoU of corresponding xyxy boxes [..., 4] (Rezatofighi et al., 2019), torchvision.ops.generalized_box_iou_loss:
 * unlike 1 − IoU it still has a gradient when the boxes do not overlap.
 */
export function generalizedBoxIouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxIouLossOptions = {}): Tensor {
  const eps = opts.eps ?? 1e-7;
  const [b1, b2] = prepare('generalizedBoxIouLoss', boxes1, boxes2);
  const [inter, union] = interUnion(b1, b2);
  const iou = div(inter, add(union, eps));
  const [xc1, yc1, xc2, yc2] = enclosing(b1, b2);
  const areaC = mul(sub(xc2, xc1), sub(yc2, yc1));
  const giou = sub(iou, div(sub(areaC, union), add(areaC, eps)));
  return reduce('generalizedBoxIouLoss', sub(1, giou), opts.reduction ?? 'none');
}

function diouLoss(b1: Tensor, b2: Tensor, eps: number): [Tensor, Tensor] {
  const [inter, union] = interUnion(b1, b2);
  const iou = div(inter, add(union, eps));
  const [xc1, yc1, xc2, yc2] = enclosing(b1, b2);
  const diag = add(add(pow(sub(xc2, xc1), 2), pow(sub(yc2, yc1), 2)), eps);
  const [x1, y1, x2, y2] = cols(b1);
  const [gx1, gy1, gx2, gy2] = cols(b2);
  const dx = sub(div(add(x2, x1), 2), div(add(gx1, gx2), 2));
  const dy = sub(div(add(y2, y1), 2), div(add(gy1, gy2), 2));
  const centres = add(pow(dx, 2), pow(dy, 2));
  return [add(sub(1, iou), div(centres, diag)), iou];
}

/**
 * 1 − DIoU of corresponding boxes (Zheng et al., AAAI 2020): 1 − IoU + ρ²(centres)/c², c the enclosing box's
 * diagonal; torchvision.ops.distance_box_iou_loss.
 */
export function distanceBoxIouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxIouLossOptions = {}): Tensor {
  const [b1, b2] = prepare('distanceBoxIouLoss', boxes1, boxes2);
  return reduce('distanceBoxIouLoss', diouLoss(b1, b2, opts.eps ?? 1e-7)[0], opts.reduction ?? 'none');
}

/**
 * 1 − CIoU of corresponding boxes (Zheng et al., AAAI 2020): the DIoU loss plus α·v, v = 4/π²·(atan(w_gt/h_gt) −
 * atan(w/h))², α = v / (1 − IoU + v + eps) held constant (no gradient), as torchvision.ops.complete_box_iou_loss.
 */
export function completeBoxIouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxIouLossOptions = {}): Tensor {
  const eps = opts.eps ?? 1e-7;
  const [b1, b2] = prepare('completeBoxIouLoss', boxes1, boxes2);
  const [diou, iou] = diouLoss(b1, b2, eps);
  const [x1, y1, x2, y2] = cols(b1);
  const [gx1, gy1, gx2, gy2] = cols(b2);
  const v = mul(
    pow(sub(atan(div(sub(gx2, gx1), sub(gy2, gy1))), atan(div(sub(x2, x1), sub(y2, y1)))), 2),
    4 / (Math.PI * Math.PI),
  );
  const vc = v.detach();
  const alpha = div(vc, add(add(sub(1, iou.detach()), vc), eps));
  return reduce('completeBoxIouLoss', add(diou, mul(alpha, v)), opts.reduction ?? 'none');
}

/** Options of sigmoidFocalLoss. */
export interface SigmoidFocalLossOptions {
  /** Weight of positives, 1 − alpha of negatives; a negative value disables the weighting (default 0.25). */
  alpha?: number;
  /** Focusing exponent γ of (1 − p_t)^γ (default 2). */
  gamma?: number;
  /** 'none' (default, as torchvision), 'mean' or 'sum'. */
  reduction?: BoxLossReduction;
}

/**
 * Focal loss of Lin et al. (RetinaNet, ICCV 2017) on logits: BCE-with-logits · (1 − p_t)^γ, times α_t when
 * alpha ≥ 0; torchvision.ops.sigmoid_focal_loss. `targets` holds 0/1 (or soft) labels of the same shape.
 */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, opts: SigmoidFocalLossOptions = {}): Tensor {
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  if (inputs.shape.join() !== targets.shape.join()) {
    throw new Error(
      `sigmoidFocalLoss: inputs ${formatShape(inputs.shape)} and targets ${formatShape(targets.shape)} must have the same shape`,
    );
  }
  const t = isFloating(targets.dtype) ? targets : to(targets, inputs.dtype);
  const p = sigmoid(inputs);
  const ce = binaryCrossEntropyWithLogits(inputs, t, { reduction: 'none' });
  const pT = add(mul(p, t), mul(sub(1, p), sub(1, t)));
  let loss = mul(ce, pow(sub(1, pT), gamma));
  if (alpha >= 0) loss = mul(add(mul(t, alpha), mul(sub(1, t), 1 - alpha)), loss);
  return reduce('sigmoidFocalLoss', loss, opts.reduction ?? 'none');
}
