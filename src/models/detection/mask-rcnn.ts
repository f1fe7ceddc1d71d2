/**
 * Mask R-CNN (He et al., ICCV 2017) with a ResNet-50-FPN backbone: Faster R-CNN plus a mask branch in the RoI
 * heads (`roi_heads.mask_roi_pool/mask_head/mask_predictor`), torchvision's module tree and parameter names. Eval
 * mode adds `masks` [n, 1, H, W] (probabilities pasted into the original image) to the detections; training mode
 * adds `loss_mask` to Faster R-CNN's loss dict (targets then need uint8 `masks` [K, H, W]).
 */
import { BatchNorm2d } from '../../nn/normalization.js';
import { MultiScaleRoIAlign } from '../../nn/roi.js';
import { resnet50 } from '../resnet.js';
import { BackboneWithFPN, FrozenBatchNorm2d, resnetFpnExtractor } from './backbone.js';
import { FasterRCNN, type FasterRCNNOptions, type FasterRCNNResNet50FPNOptions } from './faster-rcnn.js';
import { MaskRCNNHeads, MaskRCNNPredictor } from './mask-head.js';

/** torchvision's MaskRCNN: FasterRCNN with 14×14 mask RoIAlign (sampling 2), four 256-channel convs and a 28×28 predictor. */
export class MaskRCNN extends FasterRCNN {
  constructor(backbone: BackboneWithFPN, opts: FasterRCNNOptions = {}) {
    super(backbone, opts);
    const c = backbone.outChannels;
    this.roi_heads.setMaskBranch(
      new MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2),
      new MaskRCNNHeads(c, [256, 256, 256, 256], 1),
      new MaskRCNNPredictor(256, 256, opts.numClasses ?? 91),
    );
  }
}

/**
 * torchvision's maskrcnn_resnet50_fpn without downloaded weights: 44,454,513 parameters with 91 classes (set
 * `frozenBatchNorm` to load torchvision's pretrained checkpoints).
 */
export function maskrcnn_resnet50_fpn(opts: FasterRCNNResNet50FPNOptions = {}): MaskRCNN {
  const norm = opts.frozenBatchNorm ? (c: number) => new FrozenBatchNorm2d(c) : (c: number) => new BatchNorm2d(c);
  const trunk = resnet50({ normLayer: norm });
  return new MaskRCNN(resnetFpnExtractor(trunk, opts.trainableBackboneLayers ?? (opts.frozenBatchNorm ? 3 : 5)), opts);
}
