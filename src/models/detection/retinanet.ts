/**
 * RetinaNet (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017) as torchvision.models.detection.
 * retinanet: a ResNet-50-FPN backbone with levels P3–P7 (P6, P7 from LastLevelP6P7), nine anchors per location
 * (three octave scales × three aspect ratios), a classification subnet trained with the sigmoid focal loss and a
 * box subnet trained with L1 — one stage, no proposals, no sampling. Module tree and parameter names are
 * torchvision's (`backbone.body/fpn`, `head.classification_head.conv.i.0`, `.cls_logits`,
 * `head.regression_head.conv.i.0`, `.bbox_reg`), so its state dicts load as they are.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { Sequential } from '../../nn/container.js';
import { Conv2d } from '../../nn/conv.js';
import { constant_, normal_, zeros_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { sigmoidFocalLoss } from '../../ops/box-loss.js';
import { batchedNms, boxIou, clipBoxesToImage } from '../../ops/boxes.js';
import { add, div } from '../../ops/elementwise.js';
import { l1Loss } from '../../ops/loss.js';
import { cat, indexSelect } from '../../ops/shape.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Conv2dNormActivation } from '../layers.js';
import { resnet50 } from '../resnet.js';
import { AnchorGenerator } from './anchor-utils.js';
import { BackboneWithFPN, FrozenBatchNorm2d, LastLevelP6P7, resnetFpnExtractor } from './backbone.js';
import { BoxCoder } from './box-coder.js';
import { Matcher } from './det-utils.js';
import {
  checkTargets,
  denseForward,
  flattenLevels,
  foregroundPairs,
  int32Index,
  outputsPerLevel,
  toOriginalSizes,
  topCandidates,
  transformTargets,
} from './one-stage.js';
import type { Detections } from './roi-heads.js';
import type { DetectionTrainTarget } from './rpn.js';
import { GeneralizedRCNNTransform } from './transform.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../data/transforms.js';

const int32 = int32Index;

/** Four 3×3 conv + ReLU blocks (`conv.i.0`), N(0, 0.01²) weights and zero bias, shared by both subnets. */
function subnet(inChannels: number): Sequential {
  const s = new Sequential(
    ...Array.from({ length: 4 }, () => new Conv2dNormActivation(inChannels, inChannels, 3, { normLayer: null })),
  );
  for (const m of s.modules()) {
    if (m instanceof Conv2d) {
      normal_(m.weight, 0, 0.01);
      if (m.bias) zeros_(m.bias);
    }
  }
  return s;
}

/**
 * torchvision's RetinaNetClassificationHead: the class subnet, then a 3×3 conv to A·K logits whose bias starts at
 * −log((1 − π)/π) with prior π = 0.01, so every anchor starts as background with probability 0.99 (the paper's
 * initialisation that keeps the focal loss stable at the start). forward → [N, Σ HWA, K].
 */
export class RetinaNetClassificationHead extends Module<[readonly Tensor[]], Tensor> {
  readonly conv: Sequential;
  readonly cls_logits: Conv2d;

  constructor(
    inChannels: number,
    readonly numAnchors: number,
    readonly numClasses: number,
    priorProbability = 0.01,
  ) {
    super();
    this.conv = subnet(inChannels);
    this.cls_logits = new Conv2d(inChannels, numAnchors * numClasses, 3, { padding: 1 });
    normal_(this.cls_logits.weight, 0, 0.01);
    constant_(this.cls_logits.bias!, -Math.log((1 - priorProbability) / priorProbability));
  }

  forward(x: readonly Tensor[]): Tensor {
    return flattenLevels(
      x.map((f) => this.cls_logits.forward(this.conv.forward(f))),
      this.numClasses,
    );
  }

  /**
   * Focal loss (α 0.25, γ 2) summed over the anchors that are not between the IoU thresholds, divided by the
   * image's number of foreground anchors (at least 1), averaged over the images.
   */
  computeLoss(targets: readonly DetectionTrainTarget[], clsLogits: Tensor, matchedIdxs: readonly Int32Array[]): Tensor {
    const k = this.numClasses;
    let total: Tensor | null = null;
    targets.forEach((t, i) => {
      const m = matchedIdxs[i];
      const labels = t.labels.dataView();
      const valid: number[] = [];
      let fg = 0;
      for (let j = 0; j < m.length; j++) if (m[j] !== Matcher.BETWEEN_THRESHOLDS) valid.push(j);
      const target = new Float32Array(valid.length * k);
      valid.forEach((j, r) => {
        if (m[j] >= 0) {
          fg++;
          const c = labels[m[j]];
          if (!(c >= 0 && c < k)) throw new Error(`RetinaNet: target label ${c} of image ${i} is outside [0, ${k})`);
          target[r * k + c] = 1;
        }
      });
      const logits = indexSelect(clsLogits.select(0, i), 0, int32(valid));
      const l = div(sigmoidFocalLoss(logits, tensor(target, [valid.length, k]), { reduction: 'sum' }), Math.max(1, fg));
      total = total ? add(total, l) : l;
    });
    return div(total!, targets.length);
  }
}

/** torchvision's RetinaNetRegressionHead: the box subnet, then a 3×3 conv to A·4 deltas. forward → [N, Σ HWA, 4]. */
export class RetinaNetRegressionHead extends Module<[readonly Tensor[]], Tensor> {
  readonly conv: Sequential;
  readonly bbox_reg: Conv2d;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);

  constructor(inChannels: number, numAnchors: number) {
    super();
    this.conv = subnet(inChannels);
    this.bbox_reg = new Conv2d(inChannels, numAnchors * 4, 3, { padding: 1 });
    normal_(this.bbox_reg.weight, 0, 0.01);
    zeros_(this.bbox_reg.bias!);
  }

  forward(x: readonly Tensor[]): Tensor {
    return flattenLevels(
      x.map((f) => this.bbox_reg.forward(this.conv.forward(f))),
      4,
    );
  }

  /** L1 between the deltas and the encoded matched boxes of the foreground anchors, per image over max(1, #fg), averaged. */
  computeLoss(
    targets: readonly DetectionTrainTarget[],
    bboxRegression: Tensor,
    anchors: readonly Tensor[],
    matchedIdxs: readonly Int32Array[],
  ): Tensor {
    let total: Tensor | null = null;
    targets.forEach((t, i) => {
      const { fg, gt } = foregroundPairs(matchedIdxs[i]);
      const fgIdx = int32(fg);
      const target = this.boxCoder.encodeSingle(indexSelect(t.boxes, 0, int32(gt)), indexSelect(anchors[i], 0, fgIdx));
      const l = div(
        l1Loss(indexSelect(bboxRegression.select(0, i), 0, fgIdx), target, { reduction: 'sum' }),
        Math.max(1, fg.length),
      );
      total = total ? add(total, l) : l;
    });
    return div(total!, Math.max(1, targets.length));
  }
}

/** torchvision's RetinaNetHead: `classification_head` and `regression_head`. */
export class RetinaNetHead extends Module<[readonly Tensor[]], { cls_logits: Tensor; bbox_regression: Tensor }> {
  readonly classification_head: RetinaNetClassificationHead;
  readonly regression_head: RetinaNetRegressionHead;

  constructor(inChannels: number, numAnchors: number, numClasses: number) {
    super();
    this.classification_head = new RetinaNetClassificationHead(inChannels, numAnchors, numClasses);
    this.regression_head = new RetinaNetRegressionHead(inChannels, numAnchors);
  }

  forward(x: readonly Tensor[]): { cls_logits: Tensor; bbox_regression: Tensor } {
    return { cls_logits: this.classification_head.forward(x), bbox_regression: this.regression_head.forward(x) };
  }
}

/** Options of RetinaNet (torchvision's keyword arguments, camelCase; its defaults). */
export interface RetinaNetOptions {
  numClasses?: number;
  minSize?: number | readonly number[];
  maxSize?: number;
  imageMean?: readonly number[];
  imageStd?: readonly number[];
  anchorGenerator?: AnchorGenerator;
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  fgIouThresh?: number;
  bgIouThresh?: number;
  /** Candidates kept per level before NMS (default 1000). */
  topkCandidates?: number;
}

/** torchvision's default RetinaNet anchors: sizes 32…512 × octaves 2^0, 2^⅓, 2^⅔ (truncated to integers), ratios ½, 1, 2. */
export function retinanetDefaultAnchorGenerator(): AnchorGenerator {
  const sizes = [32, 64, 128, 256, 512].map((x) => [x, Math.trunc(x * 2 ** (1 / 3)), Math.trunc(x * 2 ** (2 / 3))]);
  return new AnchorGenerator(
    sizes,
    sizes.map(() => [0.5, 1, 2]),
  );
}

/**
 * torchvision's RetinaNet: transform → backbone → head → anchors; eval mode decodes the top `topkCandidates`
 * sigmoid scores above `scoreThresh` of every level, clips, runs class-wise NMS and keeps `detectionsPerImg`;
 * training mode returns `{ classification, bbox_regression }`.
 */
export class RetinaNet extends Module<
  [readonly Tensor[], (readonly DetectionTrainTarget[])?],
  Detections[] | Record<string, Tensor>
> {
  readonly backbone: BackboneWithFPN;
  readonly anchor_generator: AnchorGenerator;
  readonly head: RetinaNetHead;
  readonly transform: GeneralizedRCNNTransform;
  readonly proposalMatcher: Matcher;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly topkCandidates: number;

  constructor(backbone: BackboneWithFPN, opts: RetinaNetOptions = {}) {
    super();
    this.backbone = backbone;
    this.anchor_generator = opts.anchorGenerator ?? retinanetDefaultAnchorGenerator();
    this.head = new RetinaNetHead(
      backbone.outChannels,
      this.anchor_generator.numAnchorsPerLocation()[0],
      opts.numClasses ?? 91,
    );
    this.proposalMatcher = new Matcher(opts.fgIouThresh ?? 0.5, opts.bgIouThresh ?? 0.4, true);
    this.transform = new GeneralizedRCNNTransform(
      opts.minSize ?? 800,
      opts.maxSize ?? 1333,
      opts.imageMean ?? IMAGENET_MEAN,
      opts.imageStd ?? IMAGENET_STD,
    );
    this.scoreThresh = opts.scoreThresh ?? 0.05;
    this.nmsThresh = opts.nmsThresh ?? 0.5;
    this.detectionsPerImg = opts.detectionsPerImg ?? 300;
    this.topkCandidates = opts.topkCandidates ?? 1000;
  }

  /**
   * Eval mode: `{ boxes, scores, labels }` per image in the original pixels. Training mode (targets with boxes in
   * the original pixels): `{ classification, bbox_regression }`.
   */
  forward(images: readonly Tensor[], targets?: readonly DetectionTrainTarget[]): Detections[] | Record<string, Tensor> {
    if (this.training) {
      const { imageList, targets: trainTargets } = transformTargets('RetinaNet', this.transform, images, targets);
      const { head: out, anchors } = denseForward(this, imageList);
      const matched = anchors.map((a, i) =>
        trainTargets[i].boxes.shape[0] === 0
          ? new Int32Array(a.shape[0]).fill(Matcher.BELOW_LOW_THRESHOLD)
          : Int32Array.from(this.proposalMatcher.call(boxIou(trainTargets[i].boxes, a)).dataView()),
      );
      return {
        classification: this.head.classification_head.computeLoss(trainTargets, out.cls_logits, matched),
        bbox_regression: this.head.regression_head.computeLoss(trainTargets, out.bbox_regression, anchors, matched),
      };
    }
    return noGrad(() => {
      const [imageList] = this.transform.forward(images);
      const { features, head: out, anchors } = denseForward(this, imageList);
      const perLevel = outputsPerLevel(features, out.cls_logits.shape[1]);
      const dets = this.postprocessDetections(
        out.cls_logits,
        out.bbox_regression,
        anchors,
        perLevel,
        imageList.imageSizes,
      );
      return toOriginalSizes(this.transform, dets, imageList, images);
    });
  }

  /** torchvision's postprocess_detections (see the class comment); `perLevel` anchors per level. */
  postprocessDetections(
    clsLogits: Tensor,
    bboxRegression: Tensor,
    anchors: readonly Tensor[],
    perLevel: readonly number[],
    imageShapes: readonly (readonly [number, number])[],
  ): Detections[] {
    const k = clsLogits.shape[2];
    const thresh = Math.fround(this.scoreThresh);
    return imageShapes.map((shape, i) => {
      const logits = clsLogits.select(0, i).dataView();
      const reg = bboxRegression.select(0, i);
      const boxes: Tensor[] = [];
      const scores: number[] = [];
      const labels: number[] = [];
      let start = 0;
      for (const count of perLevel) {
        const sc = new Float32Array(count * k);
        for (let j = 0; j < count * k; j++) sc[j] = Math.fround(1 / (1 + Math.exp(-logits[start * k + j])));
        const top = topCandidates(sc, thresh, this.topkCandidates);
        const anchorIdx = int32(top.map((j) => start + Math.floor(j / k)));
        boxes.push(
          clipBoxesToImage(
            this.boxCoder.decodeSingle(indexSelect(reg, 0, anchorIdx), indexSelect(anchors[i], 0, anchorIdx)),
            [shape[0], shape[1]],
          ),
        );
        for (const j of top) {
          scores.push(sc[j]);
          labels.push(j % k);
        }
        start += count;
      }
      const b = cat(boxes, 0);
      const s = tensor(Float32Array.from(scores), [scores.length]);
      const l = int32(labels);
      const keep = batchedNms(b, s, l, this.nmsThresh);
      const kept = keep.narrow(0, 0, Math.min(keep.shape[0], this.detectionsPerImg));
      return { boxes: indexSelect(b, 0, kept), scores: indexSelect(s, 0, kept), labels: indexSelect(l, 0, kept) };
    });
  }
}

/** Re-exported for the code that imported it from here. */
export { checkTargets };

/** Options of retinanet_resnet50_fpn. */
export interface RetinaNetResNet50FPNOptions extends RetinaNetOptions {
  /** Stages of the backbone that train (default 5 without pretrained weights, as torchvision; 3 with them). */
  trainableBackboneLayers?: number;
  /** FrozenBatchNorm2d in the backbone, for pretrained weights (default false: BatchNorm2d). */
  frozenBatchNorm?: boolean;
}

/**
 * torchvision's retinanet_resnet50_fpn without downloaded weights: 34,068,119 parameters with 91 classes
 * (layers 2–4 of a ResNet-50 into a 256-channel FPN plus P6/P7 computed from P5).
 */
export function retinanet_resnet50_fpn(opts: RetinaNetResNet50FPNOptions = {}): RetinaNet {
  const norm = opts.frozenBatchNorm ? (c: number) => new FrozenBatchNorm2d(c) : (c: number) => new BatchNorm2d(c);
  const trunk = resnet50({ normLayer: norm });
  const backbone = resnetFpnExtractor(
    trunk,
    opts.trainableBackboneLayers ?? (opts.frozenBatchNorm ? 3 : 5),
    [2, 3, 4],
    new LastLevelP6P7(256, 256),
  );
  return new RetinaNet(backbone, opts);
}
