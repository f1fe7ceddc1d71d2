/**
 * FCOS (Tian et al., "FCOS: Fully Convolutional One-Stage Object Detection", ICCV 2019) as torchvision.models.
 * detection.fcos: anchor-free — every location of P3–P7 predicts class scores, its distances to the four box sides
 * (normalised by the level's stride) and a centre-ness that down-weights off-centre locations. Training assigns a
 * location to the smallest gt whose centre region (1.5 strides) and whose level's size range contain it; losses
 * are focal (classes), GIoU (boxes) and BCE (centre-ness). torchvision's module tree and names.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { ReLU } from '../../nn/activation.js';
import { Sequential } from '../../nn/container.js';
import { Conv2d } from '../../nn/conv.js';
import { constant_, normal_, zeros_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { BatchNorm2d, GroupNorm } from '../../nn/normalization.js';
import { relu } from '../../ops/activation.js';
import { generalizedBoxIouLoss, sigmoidFocalLoss } from '../../ops/box-loss.js';
import { batchedNms, clipBoxesToImage } from '../../ops/boxes.js';
import { add, div, mul } from '../../ops/elementwise.js';
import { binaryCrossEntropyWithLogits } from '../../ops/loss.js';
import { cat, indexSelect, reshape } from '../../ops/shape.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { resnet50 } from '../resnet.js';
import { AnchorGenerator } from './anchor-utils.js';
import { BackboneWithFPN, FrozenBatchNorm2d, LastLevelP6P7, resnetFpnExtractor } from './backbone.js';
import {
  denseForward,
  flattenLevels,
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

const f32 = Math.fround;
const int32 = int32Index;

/** Four (3×3 conv, GroupNorm(32), ReLU) blocks, `conv.{0,3,6,9}` convs N(0, 0.01²) with zero bias. */
function tower(inChannels: number, numConvs: number): Sequential {
  const layers = [];
  for (let i = 0; i < numConvs; i++)
    layers.push(new Conv2d(inChannels, inChannels, 3, { padding: 1 }), new GroupNorm(32, inChannels), new ReLU());
  const s = new Sequential(...layers);
  for (const l of layers) {
    if (l instanceof Conv2d) {
      normal_(l.weight, 0, 0.01);
      zeros_(l.bias!);
    }
  }
  return s;
}

/**
 * torchvision's BoxLinearCoder (normalize_by_size): a box as the distances (l, t, r, b) from a reference box's
 * centre to its sides, divided by the reference's width / height. `decode` is differentiable in `relCodes`.
 */
export class BoxLinearCoder {
  constructor(readonly normalizeBySize = true) {}

  /** Codes [N, 4] of `boxes` [N, 4] relative to `references` [N, 4] (typed arrays, float32 as torchvision). */
  encode(references: ArrayLike<number>, boxes: ArrayLike<number>, n: number): Float32Array {
    const out = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const [x0, y0, x1, y1] = [references[4 * i], references[4 * i + 1], references[4 * i + 2], references[4 * i + 3]];
      const cx = f32(0.5 * f32(x0 + x1));
      const cy = f32(0.5 * f32(y0 + y1));
      const w = this.normalizeBySize ? f32(x1 - x0) : 1;
      const h = this.normalizeBySize ? f32(y1 - y0) : 1;
      out[4 * i] = f32(cx - boxes[4 * i]) / w;
      out[4 * i + 1] = f32(cy - boxes[4 * i + 1]) / h;
      out[4 * i + 2] = f32(boxes[4 * i + 2] - cx) / w;
      out[4 * i + 3] = f32(boxes[4 * i + 3] - cy) / h;
    }
    return out;
  }

  /** Boxes [N, 4] from codes [N, 4] and reference boxes [N, 4]. */
  decode(relCodes: Tensor, references: Tensor): Tensor {
    const r = references.dataView();
    const n = references.shape[0];
    const ctr = new Float32Array(4 * n);
    const size = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const cx = f32(0.5 * f32(r[4 * i] + r[4 * i + 2]));
      const cy = f32(0.5 * f32(r[4 * i + 1] + r[4 * i + 3]));
      const w = this.normalizeBySize ? f32(r[4 * i + 2] - r[4 * i]) : 1;
      const h = this.normalizeBySize ? f32(r[4 * i + 3] - r[4 * i + 1]) : 1;
      // Signs folded into the sizes: ctr − code·size for left/top, ctr + code·size for right/bottom.
      ctr.set([cx, cy, cx, cy], 4 * i);
      size.set([-w, -h, w, h], 4 * i);
    }
    return add(tensor(ctr, [n, 4]), mul(relCodes, tensor(size, [n, 4])));
  }
}

/** torchvision's FCOSClassificationHead: the tower, then A·K logits with the prior-0.01 bias. → [N, Σ HWA, K]. */
export class FCOSClassificationHead extends Module<[readonly Tensor[]], Tensor> {
  readonly conv: Sequential;
  readonly cls_logits: Conv2d;

  constructor(
    inChannels: number,
    readonly numAnchors: number,
    readonly numClasses: number,
    numConvs = 4,
    priorProbability = 0.01,
  ) {
    super();
    this.conv = tower(inChannels, numConvs);
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
}

/** torchvision's FCOSRegressionHead: the tower, then ReLU'd distances (`bbox_reg`) and centre-ness logits (`bbox_ctrness`). */
export class FCOSRegressionHead extends Module<[readonly Tensor[]], [Tensor, Tensor]> {
  readonly conv: Sequential;
  readonly bbox_reg: Conv2d;
  readonly bbox_ctrness: Conv2d;

  constructor(inChannels: number, numAnchors: number, numConvs = 4) {
    super();
    this.conv = tower(inChannels, numConvs);
    this.bbox_reg = new Conv2d(inChannels, numAnchors * 4, 3, { padding: 1 });
    this.bbox_ctrness = new Conv2d(inChannels, numAnchors, 3, { padding: 1 });
    for (const l of [this.bbox_reg, this.bbox_ctrness]) {
      normal_(l.weight, 0, 0.01);
      zeros_(l.bias!);
    }
  }

  forward(x: readonly Tensor[]): [Tensor, Tensor] {
    const feats = x.map((f) => this.conv.forward(f));
    return [
      flattenLevels(
        feats.map((f) => relu(this.bbox_reg.forward(f))),
        4,
      ),
      flattenLevels(
        feats.map((f) => this.bbox_ctrness.forward(f)),
        1,
      ),
    ];
  }
}

/** FCOS head outputs. */
export interface FCOSHeadOutputs {
  cls_logits: Tensor;
  bbox_regression: Tensor;
  bbox_ctrness: Tensor;
}

/** torchvision's FCOSHead: `classification_head` and `regression_head`, and the loss. */
export class FCOSHead extends Module<[readonly Tensor[]], FCOSHeadOutputs> {
  readonly classification_head: FCOSClassificationHead;
  readonly regression_head: FCOSRegressionHead;
  readonly boxCoder = new BoxLinearCoder(true);

  constructor(inChannels: number, numAnchors: number, numClasses: number, numConvs = 4) {
    super();
    this.classification_head = new FCOSClassificationHead(inChannels, numAnchors, numClasses, numConvs);
    this.regression_head = new FCOSRegressionHead(inChannels, numAnchors, numConvs);
  }

  forward(x: readonly Tensor[]): FCOSHeadOutputs {
    const [reg, ctr] = this.regression_head.forward(x);
    return { cls_logits: this.classification_head.forward(x), bbox_regression: reg, bbox_ctrness: ctr };
  }

  /** torchvision's FCOSHead.compute_loss: `{ classification, bbox_regression, bbox_ctrness }`, each over max(1, #foreground). */
  computeLoss(
    targets: readonly DetectionTrainTarget[],
    out: FCOSHeadOutputs,
    anchors: readonly Tensor[],
    matched: readonly Int32Array[],
  ): Record<string, Tensor> {
    const [b, a, k] = out.cls_logits.shape;
    const clsTarget = new Float32Array(b * a * k);
    const fgRows: number[] = [];
    const fgAnchors: number[] = [];
    const fgGt: number[] = [];
    targets.forEach((t, i) => {
      const labels = t.labels.dataView();
      const gb = t.boxes.dataView();
      const an = anchors[i].dataView();
      matched[i].forEach((g, j) => {
        if (g < 0) return;
        clsTarget[(i * a + j) * k + labels[g]] = 1;
        fgRows.push(i * a + j);
        for (let c = 0; c < 4; c++) fgAnchors.push(an[4 * j + c]);
        for (let c = 0; c < 4; c++) fgGt.push(gb[4 * g + c]);
      });
    });
    const nFg = fgRows.length;
    const denom = Math.max(1, nFg);
    const rows = int32(fgRows);
    const anchorT = tensor(Float32Array.from(fgAnchors), [nFg, 4]);
    const gtT = tensor(Float32Array.from(fgGt), [nFg, 4]);
    const loss_cls = sigmoidFocalLoss(out.cls_logits, tensor(clsTarget, [b, a, k]), { reduction: 'sum' });
    const pred = this.boxCoder.decode(indexSelect(reshape(out.bbox_regression, b * a, 4), 0, rows), anchorT);
    const loss_box = generalizedBoxIouLoss(pred, gtT, { reduction: 'sum' });
    // Centre-ness targets: √(min(l, r)/max(l, r) · min(t, b)/max(t, b)) of the gt box seen from the location.
    const enc = this.boxCoder.encode(fgAnchors, fgGt, nFg);
    const ctr = new Float32Array(nFg);
    for (let i = 0; i < nFg; i++) {
      const [l, t, r, bt] = [enc[4 * i], enc[4 * i + 1], enc[4 * i + 2], enc[4 * i + 3]];
      ctr[i] = Math.sqrt(f32(f32(Math.min(l, r) / Math.max(l, r)) * f32(Math.min(t, bt) / Math.max(t, bt))));
    }
    const loss_ctr = binaryCrossEntropyWithLogits(
      indexSelect(reshape(out.bbox_ctrness, b * a), 0, rows),
      tensor(ctr, [nFg]),
      { reduction: 'sum' },
    );
    return {
      classification: div(loss_cls, denom),
      bbox_regression: div(loss_box, denom),
      bbox_ctrness: div(loss_ctr, denom),
    };
  }
}

/** Options of FCOS (torchvision's keyword arguments, camelCase; its defaults). */
export interface FCOSOptions {
  numClasses?: number;
  minSize?: number | readonly number[];
  maxSize?: number;
  imageMean?: readonly number[];
  imageStd?: readonly number[];
  centerSamplingRadius?: number;
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  topkCandidates?: number;
}

/**
 * torchvision's FCOS: transform → backbone → head; one "anchor" per location (a stride-sized square, only used
 * for its centre and size). Eval: √(σ(class) · σ(centre-ness)) above `scoreThresh`, top `topkCandidates` per level,
 * decode, clip, class-wise NMS. Training: `{ classification, bbox_regression, bbox_ctrness }`.
 */
export class FCOS extends Module<
  [readonly Tensor[], (readonly DetectionTrainTarget[])?],
  Detections[] | Record<string, Tensor>
> {
  readonly backbone: BackboneWithFPN;
  readonly anchor_generator: AnchorGenerator;
  readonly head: FCOSHead;
  readonly transform: GeneralizedRCNNTransform;
  readonly boxCoder = new BoxLinearCoder(true);
  readonly centerSamplingRadius: number;
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly topkCandidates: number;

  constructor(backbone: BackboneWithFPN, opts: FCOSOptions = {}) {
    super();
    this.backbone = backbone;
    this.anchor_generator = new AnchorGenerator(
      [[8], [16], [32], [64], [128]],
      Array.from({ length: 5 }, () => [1]),
    );
    this.head = new FCOSHead(backbone.outChannels, 1, opts.numClasses ?? 91);
    this.transform = new GeneralizedRCNNTransform(
      opts.minSize ?? 800,
      opts.maxSize ?? 1333,
      opts.imageMean ?? IMAGENET_MEAN,
      opts.imageStd ?? IMAGENET_STD,
    );
    this.centerSamplingRadius = opts.centerSamplingRadius ?? 1.5;
    this.scoreThresh = opts.scoreThresh ?? 0.2;
    this.nmsThresh = opts.nmsThresh ?? 0.6;
    this.detectionsPerImg = opts.detectionsPerImg ?? 100;
    this.topkCandidates = opts.topkCandidates ?? 1000;
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTrainTarget[]): Detections[] | Record<string, Tensor> {
    if (this.training) {
      const { imageList, targets: trainTargets } = transformTargets('FCOS', this.transform, images, targets);
      const { features, head: out, anchors } = denseForward(this, imageList);
      const perLevel = outputsPerLevel(features, anchors[0].shape[0]);
      return this.head.computeLoss(
        trainTargets,
        out,
        anchors,
        anchors.map((a, i) => this.match(a, trainTargets[i].boxes, perLevel)),
      );
    }
    return noGrad(() => {
      const [imageList] = this.transform.forward(images);
      const { features, head: out, anchors } = denseForward(this, imageList);
      const perLevel = outputsPerLevel(features, anchors[0].shape[0]);
      const dets = this.postprocessDetections(out, anchors, perLevel, imageList.imageSizes);
      return toOriginalSizes(this.transform, dets, imageList, images);
    });
  }

  /**
   * torchvision's FCOS matching: a location matches a gt when its centre lies within radius × stride of the gt's
   * centre and inside the box, and its largest side distance is in the level's range (4·s, 8·s], open at the first
   * and last level; among several, the smallest gt (by float32 1e8 − area, first on ties). −1 = background.
   */
  match(anchors: Tensor, gtBoxes: Tensor, perLevel: readonly number[]): Int32Array {
    const n = anchors.shape[0];
    const g = gtBoxes.shape[0];
    const out = new Int32Array(n).fill(-1);
    if (g === 0) return out;
    const an = anchors.dataView();
    const gb = gtBoxes.dataView();
    const gcx = Array.from({ length: g }, (_, j) => f32(f32(gb[4 * j] + gb[4 * j + 2]) / 2));
    const gcy = Array.from({ length: g }, (_, j) => f32(f32(gb[4 * j + 1] + gb[4 * j + 3]) / 2));
    const score = Array.from({ length: g }, (_, j) =>
      f32(1e8 - f32(f32(gb[4 * j + 2] - gb[4 * j]) * f32(gb[4 * j + 3] - gb[4 * j + 1]))),
    );
    const first = perLevel[0];
    const lastStart = n - perLevel[perLevel.length - 1];
    for (let i = 0; i < n; i++) {
      const x = f32(f32(an[4 * i] + an[4 * i + 2]) / 2);
      const y = f32(f32(an[4 * i + 1] + an[4 * i + 3]) / 2);
      const size = f32(an[4 * i + 2] - an[4 * i]);
      const radius = f32(this.centerSamplingRadius * size);
      const lower = i < first ? 0 : f32(size * 4);
      const upper = i >= lastStart ? Infinity : f32(size * 8);
      let best = -1;
      let bestScore = 0;
      for (let j = 0; j < g; j++) {
        if (!(Math.max(Math.abs(f32(x - gcx[j])), Math.abs(f32(y - gcy[j]))) < radius)) continue;
        const d = [f32(x - gb[4 * j]), f32(y - gb[4 * j + 1]), f32(gb[4 * j + 2] - x), f32(gb[4 * j + 3] - y)];
        if (!(Math.min(...d) > 0)) continue;
        const m = Math.max(...d);
        if (!(m > lower && m < upper)) continue;
        if (score[j] > bestScore) {
          best = j;
          bestScore = score[j];
        }
      }
      if (best >= 0 && bestScore >= 1e-5) out[i] = best;
    }
    return out;
  }

  /** torchvision's FCOS.postprocess_detections (see the class comment). */
  postprocessDetections(
    out: FCOSHeadOutputs,
    anchors: readonly Tensor[],
    perLevel: readonly number[],
    imageShapes: readonly (readonly [number, number])[],
  ): Detections[] {
    const k = out.cls_logits.shape[2];
    const thresh = f32(this.scoreThresh);
    const sig = (v: number) => f32(1 / (1 + Math.exp(-v)));
    return imageShapes.map((shape, i) => {
      const logits = out.cls_logits.select(0, i).dataView();
      const ctr = out.bbox_ctrness.select(0, i).dataView();
      const reg = out.bbox_regression.select(0, i);
      const boxes: Tensor[] = [];
      const scores: number[] = [];
      const labels: number[] = [];
      let start = 0;
      for (const count of perLevel) {
        const sc = new Float32Array(count * k);
        for (let j = 0; j < count * k; j++) {
          sc[j] = f32(Math.sqrt(f32(sig(logits[start * k + j]) * sig(ctr[start + Math.floor(j / k)]))));
        }
        const top = topCandidates(sc, thresh, this.topkCandidates);
        const aIdx = int32(top.map((j) => start + Math.floor(j / k)));
        boxes.push(
          clipBoxesToImage(this.boxCoder.decode(indexSelect(reg, 0, aIdx), indexSelect(anchors[i], 0, aIdx)), [
            shape[0],
            shape[1],
          ]),
        );
        for (const j of top) {
          scores.push(sc[j]);
          labels.push(j % k);
        }
        start += count;
      }
      const bx = cat(boxes, 0);
      const s = tensor(Float32Array.from(scores), [scores.length]);
      const l = int32(labels);
      const keep = batchedNms(bx, s, l, this.nmsThresh);
      const kept = keep.narrow(0, 0, Math.min(keep.shape[0], this.detectionsPerImg));
      return { boxes: indexSelect(bx, 0, kept), scores: indexSelect(s, 0, kept), labels: indexSelect(l, 0, kept) };
    });
  }
}

/** Options of fcos_resnet50_fpn. */
export interface FCOSResNet50FPNOptions extends FCOSOptions {
  trainableBackboneLayers?: number;
  frozenBatchNorm?: boolean;
}

/** torchvision's fcos_resnet50_fpn without downloaded weights: 32,322,720 parameters with 91 classes. */
export function fcos_resnet50_fpn(opts: FCOSResNet50FPNOptions = {}): FCOS {
  const norm = opts.frozenBatchNorm ? (c: number) => new FrozenBatchNorm2d(c) : (c: number) => new BatchNorm2d(c);
  const trunk = resnet50({ normLayer: norm });
  return new FCOS(
    resnetFpnExtractor(
      trunk,
      opts.trainableBackboneLayers ?? (opts.frozenBatchNorm ? 3 : 5),
      [2, 3, 4],
      new LastLevelP6P7(256, 256),
    ),
    opts,
  );
}
