/**
 * The mask branch of Mask R-CNN (He et al., ICCV 2017; torchvision.models.detection.mask_rcnn / roi_heads): four
 * 3×3 convs over 14×14 RoIAlign features, a stride-2 transposed conv to 28×28 and one 1×1 conv to a mask per
 * class; the loss is the binary cross-entropy of the mask of each positive proposal's gt class against its gt
 * mask cropped to the proposal (RoIAlign of the mask), and inference keeps the mask of the predicted class.
 */
import { Sequential } from '../../nn/container.js';
import { Conv2d, ConvTranspose2d } from '../../nn/conv.js';
import { kaimingNormal_, zeros_ } from '../../nn/init.js';
import { ReLU } from '../../nn/activation.js';
import { sigmoid } from '../../ops/activation.js';
import { mul } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { binaryCrossEntropyWithLogits } from '../../ops/loss.js';
import { roiAlign } from '../../ops/roi.js';
import { cat, indexSelect, reshape, split } from '../../ops/shape.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Conv2dNormActivation } from '../layers.js';

/** torchvision's MaskRCNNHeads: 3×3 conv + ReLU blocks (`i.0`), kaiming-normal (fan_out, relu) with zero bias. */
export class MaskRCNNHeads extends Sequential {
  constructor(inChannels: number, layers: readonly number[], dilation = 1) {
    let next = inChannels;
    const blocks = layers.map((c) => {
      const b = new Conv2dNormActivation(next, c, 3, { padding: dilation, dilation, normLayer: null });
      next = c;
      return b;
    });
    super(...blocks);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        if (m.bias) zeros_(m.bias);
      }
    }
  }
}

/** torchvision's MaskRCNNPredictor: `conv5_mask` (2×2 stride-2 transposed conv), `relu`, `mask_fcn_logits` (1×1 conv per class). */
export class MaskRCNNPredictor extends Sequential {
  constructor(inChannels: number, dimReduced: number, numClasses: number) {
    const conv5 = new ConvTranspose2d(inChannels, dimReduced, 2, { stride: 2, padding: 0 });
    const logits = new Conv2d(dimReduced, numClasses, 1);
    super({ conv5_mask: conv5, relu: new ReLU(), mask_fcn_logits: logits });
    // torchvision re-initialises every weight kaiming-normal (fan_out, relu) and keeps the default biases.
    kaimingNormal_(conv5.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    kaimingNormal_(logits.weight, { mode: 'fanOut', nonlinearity: 'relu' });
  }
}

/** Rows k·C + labels[k] of logits [K, C, M, M] → [K, M, M] (the mask of each box's class). */
function selectClassMasks(maskLogits: Tensor, labels: ArrayLike<number>): Tensor {
  const [k, c, h, w] = maskLogits.shape;
  const rows = Int32Array.from({ length: k }, (_, i) => i * c + labels[i]);
  return indexSelect(reshape(maskLogits, k * c, h, w), 0, tensor(rows, [k], { dtype: 'int32' }));
}

/**
 * torchvision's maskrcnn_loss: per image, each positive proposal's matched gt mask cropped and resized to M × M
 * by RoIAlign (spatial scale 1, adaptive sampling, not aligned), then BCE-with-logits (mean) against the logits
 * of the gt class. With no positive proposal the loss is 0 (still connected to the graph, as torchvision).
 */
export function maskrcnnLoss(
  maskLogits: Tensor,
  proposals: readonly Tensor[],
  gtMasks: readonly Tensor[],
  gtLabels: readonly Tensor[],
  matchedIdxs: readonly Int32Array[],
): Tensor {
  const m = maskLogits.shape[maskLogits.shape.length - 1];
  const labels: number[] = [];
  const targets: Tensor[] = [];
  proposals.forEach((p, i) => {
    const idx = matchedIdxs[i];
    const gl = gtLabels[i].dataView();
    idx.forEach((g) => labels.push(gl[g]));
    if (idx.length === 0) return;
    const rows = new Float32Array(5 * idx.length);
    const pb = p.dataView();
    idx.forEach((g, k) => rows.set([g, pb[4 * k], pb[4 * k + 1], pb[4 * k + 2], pb[4 * k + 3]], 5 * k));
    const masks = gtMasks[i];
    const input = reshape(masks.to('float32'), masks.shape[0], 1, masks.shape[1], masks.shape[2]);
    targets.push(
      reshape(roiAlign(input, tensor(rows, [idx.length, 5]), [m, m], { spatialScale: 1 }), idx.length, m, m),
    );
  });
  if (labels.length === 0) return mul(sum(maskLogits), 0);
  return binaryCrossEntropyWithLogits(selectClassMasks(maskLogits, labels), cat(targets, 0));
}

/** torchvision's maskrcnn_inference: sigmoid of each detection's class mask, [n_i, 1, M, M] per image. */
export function maskrcnnInference(maskLogits: Tensor, labels: readonly Tensor[]): Tensor[] {
  const all = cat(labels, 0).dataView();
  const probs = sigmoid(selectClassMasks(maskLogits, all));
  const [k, h, w] = probs.shape;
  return split(
    reshape(probs, k, 1, h, w),
    labels.map((l) => l.shape[0]),
    0,
  );
}
