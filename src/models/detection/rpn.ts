/**
 * Region proposal network (Ren et al., Faster R-CNN, NeurIPS 2015; torchvision.models.detection.rpn): a small
 * convolutional head slides over every feature map and scores each anchor as object / not object and regresses
 * it; the best-scoring decoded anchors of each level survive NMS as the proposals of the second stage.
 * In training mode anchors are matched to the ground truth (IoU ≥ 0.7 positive, < 0.3 negative, and each object's
 * best anchors), 256 are sampled per image and the objectness and box losses come back with the proposals.
 */
import { Sequential } from '../../nn/container.js';
import { Conv2d } from '../../nn/conv.js';
import { normal_, zeros_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { batchedNms, boxIou, clipBoxesToImage, orderByScore, removeSmallBoxes } from '../../ops/boxes.js';
import { cat, indexSelect, permute, reshape } from '../../ops/shape.js';
import { noGrad } from '../../autograd/grad-mode.js';
import { tensor } from '../../tensor/creation.js';
import { Tensor } from '../../tensor/tensor.js';
import { Conv2dNormActivation } from '../layers.js';
import type { AnchorGenerator } from './anchor-utils.js';
import { BoxCoder } from './box-coder.js';
import { BalancedPositiveNegativeSampler, Matcher, rpnLoss } from './det-utils.js';
import type { ImageList } from './image-list.js';

/** torchvision's RPNHead: conv 3×3 + ReLU (`conv.0.0`), then 1×1 convs for objectness and box deltas. */
export class RPNHead extends Module<[readonly Tensor[]], [Tensor[], Tensor[]]> {
  readonly conv: Sequential;
  readonly cls_logits: Conv2d;
  readonly bbox_pred: Conv2d;

  constructor(inChannels: number, numAnchors: number, convDepth = 1) {
    super();
    const convs = Array.from(
      { length: convDepth },
      () => new Conv2dNormActivation(inChannels, inChannels, 3, { normLayer: null }),
    );
    this.conv = new Sequential(...convs);
    this.cls_logits = new Conv2d(inChannels, numAnchors, 1);
    this.bbox_pred = new Conv2d(inChannels, numAnchors * 4, 1);
    // torchvision: every conv N(0, 0.01²), zero bias.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        normal_(m.weight, 0, 0.01);
        if (m.bias) zeros_(m.bias);
      }
    }
  }

  /** Per level: objectness [N, A, H, W] and deltas [N, 4A, H, W]. */
  forward(features: readonly Tensor[]): [Tensor[], Tensor[]] {
    const logits: Tensor[] = [];
    const deltas: Tensor[] = [];
    for (const f of features) {
      const t = this.conv.forward(f);
      logits.push(this.cls_logits.forward(t));
      deltas.push(this.bbox_pred.forward(t));
    }
    return [logits, deltas];
  }
}

/**
 * torchvision's concat_box_prediction_layers: per-level [N, A·C, H, W] maps → [N·Σ(H·W·A), C] in (level, y, x,
 * anchor) order — the order of the anchors — and the deltas → [N·Σ(H·W·A), 4].
 */
export function concatBoxPredictionLayers(cls: readonly Tensor[], reg: readonly Tensor[]): [Tensor, Tensor] {
  const flat = (t: Tensor, a: number, c: number) => {
    const [n, , h, w] = t.shape;
    return reshape(permute(reshape(t, n, a, c, h, w), 0, 3, 4, 1, 2), n, -1, c);
  };
  const c: Tensor[] = [];
  const r: Tensor[] = [];
  cls.forEach((t, i) => {
    const a = reg[i].shape[1] / 4;
    c.push(flat(t, a, t.shape[1] / a));
    r.push(flat(reg[i], a, 4));
  });
  const cc = cat(c, 1);
  return [reshape(cc, -1, cc.shape[2]), reshape(cat(r, 1), -1, 4)];
}

/** Options of RegionProposalNetwork (torchvision's defaults for Faster R-CNN's test time). */
export interface RPNOptions {
  /** Anchors kept per level before NMS (default 1000). */
  preNmsTopN?: number;
  /** Proposals kept per image after NMS (default 1000). */
  postNmsTopN?: number;
  nmsThresh?: number;
  scoreThresh?: number;
  /** Anchors kept per level before NMS in training (default 2000). */
  preNmsTopNTrain?: number;
  /** Proposals kept per image in training (default 2000). */
  postNmsTopNTrain?: number;
  /** IoU from which an anchor is positive (default 0.7). */
  fgIouThresh?: number;
  /** IoU under which an anchor is negative (default 0.3). */
  bgIouThresh?: number;
  /** Anchors sampled per image for the loss (default 256). */
  batchSizePerImage?: number;
  /** Fraction of positives among them at most (default 0.5). */
  positiveFraction?: number;
}

/** Ground truth of one image for the detectors' training mode. */
export interface DetectionTrainTarget {
  /** float32 [K, 4] xyxy boxes in the (transformed) image's pixels. */
  boxes: Tensor;
  /** int32 [K] classes, 1-based (0 is background). */
  labels: Tensor;
  /** uint8 [K, H, W] instance masks (Mask R-CNN's training targets). */
  masks?: Tensor;
}

/** Something that samples positives and negatives from per-image labels (BalancedPositiveNegativeSampler). */
export interface FgBgSampler {
  call(labels: readonly Tensor[]): [Tensor[], Tensor[]];
}

/**
 * torchvision's RegionProposalNetwork at inference: head → anchors → decode (weights 1, 1, 1, 1) → per level the
 * top `preNmsTopN` by objectness → sigmoid, clip to the image, drop boxes under 1e-3 px, score ≥ scoreThresh,
 * NMS per level → the best `postNmsTopN`. forward returns the proposals and their scores per image.
 */
export class RegionProposalNetwork extends Module<
  [ImageList, Record<string, Tensor>, (readonly DetectionTrainTarget[])?],
  [Tensor[], Tensor[], Record<string, Tensor>]
> {
  readonly anchor_generator: AnchorGenerator;
  readonly head: RPNHead;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly preNmsTopN: number;
  readonly postNmsTopN: number;
  readonly nmsThresh: number;
  readonly scoreThresh: number;
  readonly minSize = 1e-3;
  readonly preNmsTopNTrain: number;
  readonly postNmsTopNTrain: number;
  readonly proposalMatcher: Matcher;
  /** Replaceable (e.g. to replay another implementation's draws in a parity test). */
  fgBgSampler: FgBgSampler;

  constructor(anchorGenerator: AnchorGenerator, head: RPNHead, opts: RPNOptions = {}) {
    super();
    this.anchor_generator = anchorGenerator;
    this.head = head;
    this.preNmsTopN = opts.preNmsTopN ?? 1000;
    this.postNmsTopN = opts.postNmsTopN ?? 1000;
    this.preNmsTopNTrain = opts.preNmsTopNTrain ?? 2000;
    this.postNmsTopNTrain = opts.postNmsTopNTrain ?? 2000;
    this.nmsThresh = opts.nmsThresh ?? 0.7;
    this.scoreThresh = opts.scoreThresh ?? 0;
    this.proposalMatcher = new Matcher(opts.fgIouThresh ?? 0.7, opts.bgIouThresh ?? 0.3, true);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(opts.batchSizePerImage ?? 256, opts.positiveFraction ?? 0.5);
  }

  /**
   * Proposals and scores per image, and in training mode (targets required) the losses
   * `{ loss_objectness, loss_rpn_box_reg }` (empty in eval mode).
   */
  forward(
    images: ImageList,
    features: Record<string, Tensor>,
    targets?: readonly DetectionTrainTarget[],
  ): [Tensor[], Tensor[], Record<string, Tensor>] {
    const feats = Object.values(features);
    const [objectness, deltas] = this.head.forward(feats);
    const anchors = this.anchor_generator.forward(images, feats);
    const perLevel = objectness.map((o) => o.shape[1] * o.shape[2] * o.shape[3]);
    const [obj, reg] = concatBoxPredictionLayers(objectness, deltas);
    const [boxes, scores] = noGrad(() =>
      this.filterProposals(reg.detach(), anchors, obj.detach(), images.imageSizes, perLevel),
    );
    const losses: Record<string, Tensor> = {};
    if (this.training) {
      if (!targets) throw new Error('RegionProposalNetwork: targets should not be None in training mode');
      const [labels, matchedGt] = this.assignTargetsToAnchors(anchors, targets);
      const regressionTargets = this.boxCoder.encode(matchedGt, anchors);
      const [pos, neg] = this.fgBgSampler.call(labels);
      const l = rpnLoss(obj, reg, labels, regressionTargets, pos, neg);
      losses.loss_objectness = l.lossObjectness;
      losses.loss_rpn_box_reg = l.lossRpnBoxReg;
    }
    return [boxes, scores, losses];
  }

  /** Anchor labels (1 object, 0 background, −1 ignored) and the matched gt box of every anchor, per image. */
  assignTargetsToAnchors(anchors: readonly Tensor[], targets: readonly DetectionTrainTarget[]): [Tensor[], Tensor[]] {
    const labels: Tensor[] = [];
    const matched: Tensor[] = [];
    anchors.forEach((a, i) => {
      const gt = targets[i].boxes;
      const n = a.shape[0];
      if (gt.shape[0] === 0) {
        labels.push(Tensor.empty([n], 'float32'));
        matched.push(Tensor.empty([n, 4], 'float32'));
        return;
      }
      const m = this.proposalMatcher.call(boxIou(gt, a)).dataView();
      const lab = new Float32Array(n);
      const idx = new Int32Array(n);
      for (let j = 0; j < n; j++) {
        lab[j] = m[j] >= 0 ? 1 : m[j] === Matcher.BELOW_LOW_THRESHOLD ? 0 : -1;
        idx[j] = Math.max(m[j], 0);
      }
      labels.push(tensor(lab, [n]));
      matched.push(indexSelect(gt, 0, tensor(idx, [n], { dtype: 'int32' })));
    });
    return [labels, matched];
  }

  /**
   * torchvision's decode + filter_proposals (see the class comment): `deltas` [N·A, 4] against each image's
   * `anchors` [A, 4]. The per-level top-k is taken on the objectness first and only those anchors are decoded
   * (decoding is per box, so the proposals are the ones torchvision's decode-everything-then-select gives).
   */
  filterProposals(
    deltas: Tensor,
    anchors: readonly Tensor[],
    objectness: Tensor,
    imageShapes: readonly (readonly [number, number])[],
    perLevel: readonly number[],
  ): [Tensor[], Tensor[]] {
    const n = anchors.length;
    const total = perLevel.reduce((a, b) => a + b, 0);
    const ob = objectness.dataView();
    const boxesOut: Tensor[] = [];
    const scoresOut: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const idx: number[] = [];
      const lvl: number[] = [];
      let offset = 0;
      perLevel.forEach((count, l) => {
        // topk: the highest objectness first (ties by index).
        const top = Math.min(this.training ? this.preNmsTopNTrain : this.preNmsTopN, count);
        const order = orderByScore(ob.subarray(i * total + offset, i * total + offset + count), undefined, top);
        for (let r = 0; r < top; r++) {
          idx.push(offset + order[r]);
          lvl.push(l);
        }
        offset += count;
      });
      const sel = this.boxCoder.decodeAt(deltas.narrow(0, i * total, total), anchors[i], Int32Array.from(idx));
      const sc = new Float32Array(idx.length);
      idx.forEach((k, j) => {
        sc[j] = 1 / (1 + Math.exp(-ob[i * total + k]));
      });
      let boxes = clipBoxesToImage(sel, [imageShapes[i][0], imageShapes[i][1]]);
      let scores = tensor(sc, [idx.length]);
      let levels = tensor(Int32Array.from(lvl), [lvl.length], { dtype: 'int32' });
      const pick = (keep: Tensor) => {
        boxes = indexSelect(boxes, 0, keep);
        scores = indexSelect(scores, 0, keep);
        levels = indexSelect(levels, 0, keep);
      };
      pick(removeSmallBoxes(boxes, this.minSize));
      const s = scores.dataView();
      pick(
        tensor(Int32Array.from(Array.from(s.keys()).filter((k) => s[k] >= Math.fround(this.scoreThresh))), undefined, {
          dtype: 'int32',
        }),
      );
      const keep = batchedNms(boxes, scores, levels, this.nmsThresh);
      pick(keep.narrow(0, 0, Math.min(keep.shape[0], this.training ? this.postNmsTopNTrain : this.postNmsTopN)));
      boxesOut.push(boxes);
      scoresOut.push(scores);
    }
    return [boxesOut, scoresOut];
  }
}
