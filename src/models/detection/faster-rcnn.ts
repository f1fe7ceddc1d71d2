/**
 * Faster R-CNN (Ren et al., NeurIPS 2015) with a ResNet-50-FPN backbone, torchvision's module tree and parameter
 * names (`transform`, `backbone.body/fpn`, `rpn.anchor_generator/head`, `roi_heads.box_roi_pool/box_head/
 * box_predictor`), so torchvision state dicts load as they are. Training mode returns torchvision's loss dict.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { Module } from '../../nn/module.js';
import { MultiScaleRoIAlign } from '../../nn/roi.js';
import type { Tensor } from '../../tensor/tensor.js';
import { resnet50 } from '../resnet.js';
import { AnchorGenerator } from './anchor-utils.js';
import { BackboneWithFPN, FrozenBatchNorm2d, mobilenetFpnExtractor, resnetFpnExtractor } from './backbone.js';
import { mobilenet_v3_large } from '../mobilenetv3.js';
import { toOriginalSizes, transformTargets } from './one-stage.js';
import { FastRCNNPredictor, RoIHeads, TwoMLPHead, type Detections } from './roi-heads.js';
import { RegionProposalNetwork, RPNHead, type DetectionTrainTarget } from './rpn.js';
import { GeneralizedRCNNTransform } from './transform.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../data/transforms.js';

/** Options of FasterRCNN (torchvision's keyword arguments, camelCase; its defaults). */
export interface FasterRCNNOptions {
  numClasses?: number;
  minSize?: number | readonly number[];
  maxSize?: number;
  imageMean?: readonly number[];
  imageStd?: readonly number[];
  rpnPreNmsTopNTest?: number;
  rpnPostNmsTopNTest?: number;
  rpnNmsThresh?: number;
  rpnScoreThresh?: number;
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  /** RPN anchors (default: sizes 32…512, one per FPN level '0'…'pool', ratios ½, 1, 2). */
  rpnAnchorGenerator?: AnchorGenerator;
}

/** torchvision's FasterRCNN (GeneralizedRCNN): transform → backbone → RPN → RoI heads → postprocess. */
export class FasterRCNN extends Module<
  [readonly Tensor[], (readonly DetectionTrainTarget[])?],
  Detections[] | Record<string, Tensor>
> {
  readonly transform: GeneralizedRCNNTransform;
  readonly backbone: BackboneWithFPN;
  readonly rpn: RegionProposalNetwork;
  readonly roi_heads: RoIHeads;

  constructor(backbone: BackboneWithFPN, opts: FasterRCNNOptions = {}) {
    super();
    const c = backbone.outChannels;
    this.transform = new GeneralizedRCNNTransform(
      opts.minSize ?? 800,
      opts.maxSize ?? 1333,
      opts.imageMean ?? IMAGENET_MEAN,
      opts.imageStd ?? IMAGENET_STD,
    );
    this.backbone = backbone;
    const anchors =
      opts.rpnAnchorGenerator ??
      new AnchorGenerator(
        [[32], [64], [128], [256], [512]],
        Array.from({ length: 5 }, () => [0.5, 1, 2]),
      );
    this.rpn = new RegionProposalNetwork(anchors, new RPNHead(c, anchors.numAnchorsPerLocation()[0]), {
      preNmsTopN: opts.rpnPreNmsTopNTest ?? 1000,
      postNmsTopN: opts.rpnPostNmsTopNTest ?? 1000,
      nmsThresh: opts.rpnNmsThresh ?? 0.7,
      scoreThresh: opts.rpnScoreThresh ?? 0,
    });
    this.roi_heads = new RoIHeads(
      new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2),
      new TwoMLPHead(c * 7 * 7, 1024),
      new FastRCNNPredictor(1024, opts.numClasses ?? 91),
      {
        scoreThresh: opts.boxScoreThresh ?? 0.05,
        nmsThresh: opts.boxNmsThresh ?? 0.5,
        detectionsPerImg: opts.boxDetectionsPerImg ?? 100,
      },
    );
  }

  /**
   * Eval mode: detections per image (boxes in the original image's pixels, scores, labels with 0 = background).
   * Training mode (targets required, boxes in the original pixels): torchvision's loss dict
   * `{ loss_classifier, loss_box_reg, loss_objectness, loss_rpn_box_reg }`.
   */
  forward(images: readonly Tensor[], targets?: readonly DetectionTrainTarget[]): Detections[] | Record<string, Tensor> {
    if (this.training) {
      const { imageList: il, targets: trainTargets } = transformTargets('FasterRCNN', this.transform, images, targets, {
        masks: true,
        missing: 'targets should be passed in training mode',
      });
      const features = this.backbone.forward(il.tensors);
      const [proposals, , rpnLosses] = this.rpn.forward(il, features, trainTargets);
      const [, detLosses] = this.roi_heads.forward(features, proposals, il.imageSizes, trainTargets);
      return { ...detLosses, ...rpnLosses };
    }
    return noGrad(() => {
      const [il] = this.transform.forward(images);
      const features = this.backbone.forward(il.tensors);
      const [proposals] = this.rpn.forward(il, features);
      const [dets] = this.roi_heads.forward(features, proposals, il.imageSizes);
      return toOriginalSizes(this.transform, dets, il, images);
    });
  }
}

/** Options of fasterrcnn_resnet50_fpn. */
export interface FasterRCNNResNet50FPNOptions extends FasterRCNNOptions {
  /**
   * Stages of the backbone that train (default 5 without pretrained weights, as torchvision; 3 is its choice
   * when fine-tuning from ImageNet).
   */
  trainableBackboneLayers?: number;
  /** FrozenBatchNorm2d in the backbone, for pretrained weights (default false: BatchNorm2d, as torchvision without weights). */
  frozenBatchNorm?: boolean;
}

/**
 * torchvision's fasterrcnn_resnet50_fpn without downloaded weights: 41,808,406 parameters with 91 classes. Load
 * torchvision weights exported with tools/export_torchvision.py (set `frozenBatchNorm` for its pretrained ones).
 */
export function fasterrcnn_resnet50_fpn(opts: FasterRCNNResNet50FPNOptions = {}): FasterRCNN {
  const norm = opts.frozenBatchNorm ? (c: number) => new FrozenBatchNorm2d(c) : (c: number) => new BatchNorm2d(c);
  const trunk = resnet50({ normLayer: norm });
  return new FasterRCNN(
    resnetFpnExtractor(trunk, opts.trainableBackboneLayers ?? (opts.frozenBatchNorm ? 3 : 5)),
    opts,
  );
}

/** Options of fasterrcnn_mobilenet_v3_large_fpn. */
export interface FasterRCNNMobileNetV3LargeFPNOptions extends FasterRCNNOptions {
  /** Trunk stages that train, 0–6 (default 6, as torchvision without pretrained weights). */
  trainableBackboneLayers?: number;
}

/**
 * torchvision's fasterrcnn_mobilenet_v3_large_fpn without downloaded weights: 19,410,754 parameters with 91
 * classes. A MobileNetV3-Large trunk (torchvision passes plain BatchNorm2d, so eps 1e-5 rather than the classifier's
 * 0.001) whose last two stages feed a 256-channel FPN ('0', '1', 'pool'); anchors 32…512 × ratios ½, 1, 2 at every
 * level (15 per location); RPN score threshold 0.05.
 */
export function fasterrcnn_mobilenet_v3_large_fpn(opts: FasterRCNNMobileNetV3LargeFPNOptions = {}): FasterRCNN {
  const mnv3 = mobilenet_v3_large();
  for (const m of mnv3.features.modules()) {
    if (m instanceof BatchNorm2d) {
      const bn = m as unknown as { eps: number; momentum: number | null };
      bn.eps = 1e-5;
      bn.momentum = 0.1;
    }
  }
  const backbone = mobilenetFpnExtractor(mnv3.features, opts.trainableBackboneLayers ?? 6);
  const sizes = [32, 64, 128, 256, 512];
  const anchors = new AnchorGenerator(
    [sizes, sizes, sizes],
    [
      [0.5, 1, 2],
      [0.5, 1, 2],
      [0.5, 1, 2],
    ],
  );
  return new FasterRCNN(backbone, {
    rpnScoreThresh: 0.05,
    ...opts,
    rpnAnchorGenerator: opts.rpnAnchorGenerator ?? anchors,
  });
}
