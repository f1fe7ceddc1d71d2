/**
 * Training building blocks of the R-CNN family (torchvision.models.detection._utils, rpn.compute_loss and
 * roi_heads.fastrcnn_loss): the IoU matcher, the balanced positive/negative sampler, and the two box losses.
 * The detectors' training forward (the loss dict) is assembled from these in a later step.
 */
import { binaryCrossEntropyWithLogits, crossEntropy, smoothL1Loss } from '../../ops/loss.js';
import { div } from '../../ops/elementwise.js';
import { cat, flatten, indexSelect, reshape } from '../../ops/shape.js';
import { Generator } from '../../tensor/random.js';
import { tensor } from '../../tensor/creation.js';
import { formatShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

/**
 * torchvision's Matcher: for a quality matrix [G gt, N predictions] (IoUs), each prediction gets the index of its
 * best ground truth, −1 below `lowThreshold` and −2 between the thresholds. With `allowLowQualityMatches`, every
 * prediction that ties for some gt's best IoU keeps its match even below the thresholds (Faster R-CNN's RPN rule
 * that every object gets at least one anchor). Returns int32 [N].
 */
export class Matcher {
  static readonly BELOW_LOW_THRESHOLD = -1;
  static readonly BETWEEN_THRESHOLDS = -2;

  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    readonly allowLowQualityMatches = false,
  ) {
    if (lowThreshold > highThreshold)
      throw new Error(`Matcher: lowThreshold ${lowThreshold} must not exceed highThreshold ${highThreshold}`);
  }

  call(quality: Tensor): Tensor {
    if (quality.shape.length !== 2)
      throw new Error(`Matcher: expected a [G, N] quality matrix, got ${formatShape(quality.shape)}`);
    const [g, n] = quality.shape;
    if (g === 0) throw new Error('Matcher: No ground-truth boxes available for one of the images during training');
    if (n === 0) throw new Error('Matcher: No proposal boxes available for one of the images during training');
    const q = quality.dataView();
    const matches = new Int32Array(n);
    const best = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let m = 0;
      for (let i = 1; i < g; i++) if (q[i * n + j] > q[m * n + j]) m = i;
      matches[j] = m;
      best[j] = q[m * n + j];
    }
    const all = matches.slice();
    // PyTorch compares a float32 tensor with the thresholds rounded to float32 (0.7 → 0.699999988).
    const r = quality.dtype === 'float32' ? Math.fround : (x: number) => x;
    const lo = r(this.lowThreshold);
    const hi = r(this.highThreshold);
    for (let j = 0; j < n; j++) {
      if (best[j] < lo) matches[j] = Matcher.BELOW_LOW_THRESHOLD;
      else if (best[j] < hi) matches[j] = Matcher.BETWEEN_THRESHOLDS;
    }
    if (this.allowLowQualityMatches) {
      for (let i = 0; i < g; i++) {
        let top = -Infinity;
        for (let j = 0; j < n; j++) if (q[i * n + j] > top) top = q[i * n + j];
        for (let j = 0; j < n; j++) if (q[i * n + j] === top) matches[j] = all[j];
      }
    }
    return tensor(matches, [n], { dtype: 'int32' });
  }
}

/**
 * torchvision's BalancedPositiveNegativeSampler: per image, up to batchSizePerImage · positiveFraction random
 * positives (label ≥ 1) and negatives (label 0) to fill the batch; −1 is ignored. Returns uint8 masks per image.
 * Draws from `generator` (Tatami's, so the choice differs from torch's randperm for the same seed).
 */
export class BalancedPositiveNegativeSampler {
  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
    readonly generator: Generator = new Generator(0),
  ) {}

  call(labels: readonly Tensor[]): [Tensor[], Tensor[]] {
    const pos: Tensor[] = [];
    const neg: Tensor[] = [];
    for (const l of labels) {
      const v = l.dataView();
      const positive: number[] = [];
      const negative: number[] = [];
      v.forEach((x, i) => {
        if (x >= 1) positive.push(i);
        else if (x === 0) negative.push(i);
      });
      const numPos = Math.min(positive.length, Math.trunc(this.batchSizePerImage * this.positiveFraction));
      const numNeg = Math.min(negative.length, this.batchSizePerImage - numPos);
      const pick = (from: number[], k: number) => {
        const perm = this.generator.permutation(from.length);
        const m = new Uint8Array(v.length);
        for (let i = 0; i < k; i++) m[from[perm[i]]] = 1;
        return new Tensor(m, [v.length], 'uint8');
      };
      pos.push(pick(positive, numPos));
      neg.push(pick(negative, numNeg));
    }
    return [pos, neg];
  }
}

function where(mask: ArrayLike<number>): Tensor {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) idx.push(i);
  return tensor(Int32Array.from(idx), [idx.length], { dtype: 'int32' });
}

/**
 * The RPN loss (torchvision's RegionProposalNetwork.compute_loss) over the sampled anchors: objectness BCE-with-
 * logits averaged over positives and negatives, box smooth-L1 (β = 1/9) summed over positives and divided by the
 * number sampled. `objectness` [ΣA] or [ΣA, 1], `deltas` [ΣA, 4]; labels, targets and masks per image.
 */
export function rpnLoss(
  objectness: Tensor,
  deltas: Tensor,
  labels: readonly Tensor[],
  regressionTargets: readonly Tensor[],
  posMasks: readonly Tensor[],
  negMasks: readonly Tensor[],
): { lossObjectness: Tensor; lossRpnBoxReg: Tensor } {
  const pos = where(
    cat(
      posMasks.map((m) => m.to('int32')),
      0,
    ).dataView(),
  );
  const neg = where(
    cat(
      negMasks.map((m) => m.to('int32')),
      0,
    ).dataView(),
  );
  const sampled = cat([pos, neg], 0);
  const obj = flatten(objectness);
  const lab = cat(
    labels.map((l) => l.to(obj.dtype)),
    0,
  );
  const tgt = cat(regressionTargets, 0);
  const box = div(
    smoothL1Loss(indexSelect(deltas, 0, pos), indexSelect(tgt, 0, pos), { beta: 1 / 9, reduction: 'sum' }),
    sampled.shape[0],
  );
  const bce = binaryCrossEntropyWithLogits(indexSelect(obj, 0, sampled), indexSelect(lab, 0, sampled));
  return { lossObjectness: bce, lossRpnBoxReg: box };
}

/**
 * Fast R-CNN's loss (torchvision's fastrcnn_loss): cross-entropy over all sampled proposals, and smooth-L1 (β = 1/9,
 * summed) between the deltas of each positive's own class and its targets, divided by the number of proposals.
 * `classLogits` [N, K], `boxRegression` [N, 4K]; labels (int32) and targets [n_i, 4] per image.
 */
export function fastrcnnLoss(
  classLogits: Tensor,
  boxRegression: Tensor,
  labels: readonly Tensor[],
  regressionTargets: readonly Tensor[],
): { lossClassifier: Tensor; lossBoxReg: Tensor } {
  const lab = cat(
    labels.map((l) => l.to('int32')),
    0,
  );
  const tgt = cat(regressionTargets, 0);
  const [n, k] = classLogits.shape;
  if (boxRegression.shape[0] !== n || boxRegression.shape[1] !== 4 * k) {
    throw new Error(
      `fastrcnnLoss: box regression ${formatShape(boxRegression.shape)} must be [${n}, ${4 * k}] for logits ${formatShape(classLogits.shape)}`,
    );
  }
  const ce = crossEntropy(classLogits, lab);
  const lv = lab.dataView();
  const posIdx: number[] = [];
  const rows: number[] = [];
  lv.forEach((c, i) => {
    if (c > 0) {
      posIdx.push(i);
      rows.push(i * k + c);
    }
  });
  const pred = indexSelect(
    reshape(boxRegression, n * k, 4),
    0,
    tensor(Int32Array.from(rows), [rows.length], { dtype: 'int32' }),
  );
  const target = indexSelect(tgt, 0, tensor(Int32Array.from(posIdx), [posIdx.length], { dtype: 'int32' }));
  const box = div(smoothL1Loss(pred, target, { beta: 1 / 9, reduction: 'sum' }), lv.length);
  return { lossClassifier: ce, lossBoxReg: box };
}
