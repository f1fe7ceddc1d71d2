/**
 * SSD (Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016) as torchvision.models.detection.ssd: default
 * boxes of several scales and aspect ratios on every level of a feature pyramid, per-level convolutional class and
 * box predictors, a fixed input size, and a loss with hard negative mining (at most three negatives per positive).
 * The SSDlite variant with a MobileNetV3 backbone (Sandler et al. 2018; Howard et al. 2019) is in ssdlite.ts.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { ModuleList } from '../../nn/container.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { batchedNms, boxIou, clipBoxesToImage } from '../../ops/boxes.js';
import { add, div } from '../../ops/elementwise.js';
import { crossEntropy, smoothL1Loss } from '../../ops/loss.js';
import { sum } from '../../ops/reduce.js';
import { softmax } from '../../ops/softmax.js';
import { indexSelect, reshape } from '../../ops/shape.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { anchorCache } from './anchor-utils.js';
import { BoxCoder } from './box-coder.js';
import { Matcher } from './det-utils.js';
import type { ImageList } from './image-list.js';
import {
  classCandidates,
  denseForward,
  flattenLevels,
  foregroundPairs,
  int32Index,
  toOriginalSizes,
  transformTargets,
} from './one-stage.js';
import type { Detections } from './roi-heads.js';
import type { DetectionTrainTarget } from './rpn.js';
import { GeneralizedRCNNTransform } from './transform.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../data/transforms.js';

const f32 = Math.fround;
const int32 = int32Index;

/** Options of DefaultBoxGenerator. */
export interface DefaultBoxGeneratorOptions {
  /** Smallest scale s_min when `scales` is not given (default 0.15). */
  minRatio?: number;
  /** Largest scale s_max when `scales` is not given (default 0.9). */
  maxRatio?: number;
  /** Scale of each level plus one more (for the extra √(s_k·s_k+1) box); default linear from minRatio to maxRatio, then 1. */
  scales?: readonly number[];
  /** Pixel step of each level's grid (default: the image size over the grid size). */
  steps?: readonly number[];
  /** Clip the relative widths and heights to [0, 1] (default true). */
  clip?: boolean;
}

/**
 * torchvision's DefaultBoxGenerator (SSD's default boxes): per level k, boxes of scale s_k and √(s_k·s_{k+1}) at
 * aspect ratio 1 and, for each ratio r, s_k·√r × s_k/√r and its transpose, centred on every cell; relative sizes
 * times the image size, float32 as torchvision. Order: level, row-major cell, box.
 */
export class DefaultBoxGenerator extends Module<[ImageList, readonly Tensor[]], Tensor[]> {
  readonly aspectRatios: number[][];
  readonly scales: number[];
  readonly steps: number[] | null;
  readonly clip: boolean;
  private readonly whPairs: Float32Array[];
  /** Default boxes already built, by geometry (anchor-utils' `anchorCache`). */
  private readonly cache = anchorCache();

  constructor(aspectRatios: readonly (readonly number[])[], opts: DefaultBoxGeneratorOptions = {}) {
    super();
    const n = aspectRatios.length;
    if (opts.steps && opts.steps.length !== n)
      throw new Error(
        `DefaultBoxGenerator: aspectRatios (${n} levels) and steps (${opts.steps.length}) should have the same length`,
      );
    this.aspectRatios = aspectRatios.map((r) => r.slice());
    this.steps = opts.steps ? opts.steps.slice() : null;
    this.clip = opts.clip ?? true;
    const lo = opts.minRatio ?? 0.15;
    const hi = opts.maxRatio ?? 0.9;
    this.scales = opts.scales
      ? opts.scales.slice()
      : n > 1
        ? [...Array.from({ length: n }, (_, k) => lo + ((hi - lo) * k) / (n - 1)), 1]
        : [lo, hi];
    if (this.scales.length < n + 1)
      throw new Error(`DefaultBoxGenerator: ${n} levels need ${n + 1} scales, got ${this.scales.length}`);
    this.whPairs = this.aspectRatios.map((ratios, k) => {
      const s = this.scales[k];
      const sp = Math.sqrt(s * this.scales[k + 1]);
      const pairs = [s, s, sp, sp];
      for (const ar of ratios) {
        const w = s * Math.sqrt(ar);
        const h = s / Math.sqrt(ar);
        pairs.push(w, h, h, w);
      }
      return Float32Array.from(pairs, (v) => (this.clip ? Math.min(Math.max(f32(v), 0), 1) : v));
    });
  }

  /** Default boxes per location of each level: 2 + 2·(number of ratios). */
  numAnchorsPerLocation(): number[] {
    return this.aspectRatios.map((r) => 2 + 2 * r.length);
  }

  /** The same [Σ H·W·A, 4] xyxy boxes (image pixels) for every image of the batch. */
  forward(imageList: ImageList, featureMaps: readonly Tensor[]): Tensor[] {
    if (featureMaps.length !== this.whPairs.length)
      throw new Error(
        `DefaultBoxGenerator: ${featureMaps.length} feature maps but ${this.whPairs.length} levels of aspect ratios`,
      );
    const [ih, iw] = imageList.tensors.shape.slice(-2);
    const boxes = this.cache(ih, iw, featureMaps, () => this.defaultBoxes(ih, iw, featureMaps));
    return imageList.imageSizes.map(() => boxes);
  }

  /** The default boxes of every level for images of [ih, iw] pixels (`forward` caches them). */
  private defaultBoxes(ih: number, iw: number, featureMaps: readonly Tensor[]): Tensor {
    let total = 0;
    featureMaps.forEach((fm, k) => {
      total += (fm.shape[2] * fm.shape[3] * this.whPairs[k].length) / 2;
    });
    const out = new Float32Array(4 * total);
    let o = 0;
    featureMaps.forEach((fm, k) => {
      const [gh, gw] = [fm.shape[2], fm.shape[3]];
      const xf = this.steps ? iw / this.steps[k] : gw;
      const yf = this.steps ? ih / this.steps[k] : gh;
      const wh = this.whPairs[k];
      for (let y = 0; y < gh; y++) {
        const cy = f32(f32(y + 0.5) / yf);
        for (let x = 0; x < gw; x++) {
          const cx = f32(f32(x + 0.5) / xf);
          for (let p = 0; p < wh.length; p += 2) {
            const hw = f32(0.5 * wh[p]);
            const hh = f32(0.5 * wh[p + 1]);
            out[o++] = f32(f32(cx - hw) * iw);
            out[o++] = f32(f32(cy - hh) * ih);
            out[o++] = f32(f32(cx + hw) * iw);
            out[o++] = f32(f32(cy + hh) * ih);
          }
        }
      }
    });
    return tensor(out, [total, 4]);
  }

  override extraRepr(): string {
    return `aspectRatios=${JSON.stringify(this.aspectRatios)}, clip=${this.clip}, scales=${JSON.stringify(this.scales)}, steps=${JSON.stringify(this.steps)}`;
  }
}

/**
 * torchvision's SSDMatcher: IoU ≥ threshold matches (no in-between band), and each gt's best default box is
 * forced onto it (later gts win a box they share), so every object has a positive.
 */
export function ssdMatch(quality: Tensor, threshold: number): Int32Array {
  const matches = Int32Array.from(new Matcher(threshold, threshold, false).call(quality).dataView());
  const [g, n] = quality.shape;
  const q = quality.dataView();
  for (let i = 0; i < g; i++) {
    let best = 0;
    for (let j = 1; j < n; j++) if (q[i * n + j] > q[i * n + best]) best = j;
    matches[best] = i;
  }
  return matches;
}

/** torchvision's SSDScoringHead: one predictor per level (`module_list.i`), outputs flattened to [N, Σ HWA, columns]. */
export class SSDScoringHead extends Module<[readonly Tensor[]], Tensor> {
  readonly module_list: ModuleList;

  constructor(
    moduleList: readonly AnyModule[],
    readonly numColumns: number,
  ) {
    super();
    this.module_list = new ModuleList(moduleList);
  }

  forward(x: readonly Tensor[]): Tensor {
    if (x.length !== this.module_list.length)
      throw new Error(`SSDScoringHead: ${x.length} feature maps for ${this.module_list.length} predictors`);
    return flattenLevels(
      x.map((f, i) => (this.module_list.at(i) as Module).forward(f) as Tensor),
      this.numColumns,
    );
  }
}

/** A head with `classification_head` and `regression_head` (SSDHead, SSDLiteHead). */
export interface SSDHeadLike extends Module<[readonly Tensor[]], { bbox_regression: Tensor; cls_logits: Tensor }> {
  readonly classification_head: SSDScoringHead;
  readonly regression_head: SSDScoringHead;
}

/** Options of SSD (torchvision's keyword arguments, camelCase; its defaults). */
export interface SSDOptions {
  imageMean?: readonly number[];
  imageStd?: readonly number[];
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  iouThresh?: number;
  /** Candidates kept per class before NMS (default 400). */
  topkCandidates?: number;
  /** Positives among positives + mined negatives (default 0.25: three negatives per positive). */
  positiveFraction?: number;
}

/**
 * torchvision's SSD: transform (fixed `size` [h, w], no padding) → backbone (an ordered dict of feature maps) →
 * head → default boxes. Eval mode: softmax, decode (weights 10, 10, 5, 5), clip, per class the top
 * `topkCandidates` above `scoreThresh`, class-wise NMS, `detectionsPerImg`. Training mode:
 * `{ bbox_regression, classification }` (smooth-L1 over positives; cross-entropy over positives and the hardest
 * negatives; both over the number of positives).
 */
export class SSD extends Module<
  [readonly Tensor[], (readonly DetectionTrainTarget[])?],
  Detections[] | Record<string, Tensor>
> {
  readonly backbone: Module<[Tensor], Record<string, Tensor>>;
  readonly anchor_generator: DefaultBoxGenerator;
  readonly head: SSDHeadLike;
  readonly transform: GeneralizedRCNNTransform;
  readonly boxCoder = new BoxCoder([10, 10, 5, 5]);
  readonly iouThresh: number;
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly topkCandidates: number;
  readonly negToPosRatio: number;

  constructor(
    backbone: Module<[Tensor], Record<string, Tensor>>,
    anchorGenerator: DefaultBoxGenerator,
    size: readonly [number, number],
    head: SSDHeadLike,
    opts: SSDOptions = {},
  ) {
    super();
    this.backbone = backbone;
    this.anchor_generator = anchorGenerator;
    this.head = head;
    this.transform = new GeneralizedRCNNTransform(
      Math.min(...size),
      Math.max(...size),
      opts.imageMean ?? IMAGENET_MEAN,
      opts.imageStd ?? IMAGENET_STD,
      { sizeDivisible: 1, fixedSize: [size[0], size[1]] },
    );
    this.iouThresh = opts.iouThresh ?? 0.5;
    this.scoreThresh = opts.scoreThresh ?? 0.01;
    this.nmsThresh = opts.nmsThresh ?? 0.45;
    this.detectionsPerImg = opts.detectionsPerImg ?? 200;
    this.topkCandidates = opts.topkCandidates ?? 400;
    const pf = opts.positiveFraction ?? 0.25;
    this.negToPosRatio = (1 - pf) / pf;
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTrainTarget[]): Detections[] | Record<string, Tensor> {
    if (this.training) {
      const { imageList, targets: trainTargets } = transformTargets('SSD', this.transform, images, targets);
      const { head: out, anchors } = denseForward(this, imageList);
      const matched = anchors.map((a, i) =>
        trainTargets[i].boxes.shape[0] === 0
          ? new Int32Array(a.shape[0]).fill(-1)
          : ssdMatch(boxIou(trainTargets[i].boxes, a), this.iouThresh),
      );
      return this.computeLoss(trainTargets, out, anchors, matched);
    }
    return noGrad(() => {
      const [imageList] = this.transform.forward(images);
      const { head: out, anchors } = denseForward(this, imageList);
      const dets = this.postprocessDetections(out, anchors, imageList.imageSizes);
      return toOriginalSizes(this.transform, dets, imageList, images);
    });
  }

  /** torchvision's SSD.compute_loss (see the class comment). */
  computeLoss(
    targets: readonly DetectionTrainTarget[],
    out: { bbox_regression: Tensor; cls_logits: Tensor },
    anchors: readonly Tensor[],
    matched: readonly Int32Array[],
  ): Record<string, Tensor> {
    const [b, a, k] = out.cls_logits.shape;
    let numFg = 0;
    let boxLoss: Tensor | null = null;
    const clsTargets = new Int32Array(b * a);
    targets.forEach((t, i) => {
      const { fg, gt } = foregroundPairs(matched[i]);
      numFg += fg.length;
      const labels = t.labels.dataView();
      fg.forEach((j, r) => {
        clsTargets[i * a + j] = labels[gt[r]];
      });
      const fgIdx = int32(fg);
      const target = this.boxCoder.encodeSingle(indexSelect(t.boxes, 0, int32(gt)), indexSelect(anchors[i], 0, fgIdx));
      const l = smoothL1Loss(indexSelect(out.bbox_regression.select(0, i), 0, fgIdx), target, { reduction: 'sum' });
      boxLoss = boxLoss ? add(boxLoss, l) : l;
    });
    const clsLoss = crossEntropy(reshape(out.cls_logits, b * a, k), tensor(clsTargets, [b * a], { dtype: 'int32' }), {
      reduction: 'none',
    });
    // Hard negative mining: per image the 3·#positives background boxes with the highest loss.
    const lv = clsLoss.dataView();
    const keep: number[] = [];
    for (let i = 0; i < b; i++) {
      const neg: number[] = [];
      let pos = 0;
      for (let j = 0; j < a; j++) {
        if (clsTargets[i * a + j] > 0) {
          pos++;
          keep.push(i * a + j);
        } else neg.push(i * a + j);
      }
      neg.sort((x, y) => lv[y] - lv[x] || x - y);
      const numNeg = this.negToPosRatio * pos;
      for (let r = 0; r < neg.length && r < numNeg; r++) keep.push(neg[r]);
    }
    const n = Math.max(1, numFg);
    return { bbox_regression: div(boxLoss!, n), classification: div(sum(indexSelect(clsLoss, 0, int32(keep))), n) };
  }

  /** torchvision's SSD.postprocess_detections. */
  postprocessDetections(
    out: { bbox_regression: Tensor; cls_logits: Tensor },
    anchors: readonly Tensor[],
    imageShapes: readonly (readonly [number, number])[],
  ): Detections[] {
    const scoresAll = softmax(out.cls_logits, -1);
    const k = scoresAll.shape[2];
    const thresh = f32(this.scoreThresh);
    return imageShapes.map((shape, i) => {
      const boxes = clipBoxesToImage(this.boxCoder.decodeSingle(out.bbox_regression.select(0, i), anchors[i]), [
        shape[0],
        shape[1],
      ]);
      const n = anchors[i].shape[0];
      const cand = classCandidates(
        scoresAll.select(0, i).contiguous().dataView() as Float32Array | Float64Array,
        n,
        k,
        thresh,
        this.topkCandidates,
      );
      const bx = indexSelect(boxes, 0, tensor(cand.rows, [cand.rows.length], { dtype: 'int32' }));
      const sc = tensor(cand.scores, [cand.scores.length]);
      const lb = tensor(cand.labels, [cand.labels.length], { dtype: 'int32' });
      const kept = batchedNms(bx, sc, lb, this.nmsThresh);
      const top = kept.narrow(0, 0, Math.min(kept.shape[0], this.detectionsPerImg));
      return { boxes: indexSelect(bx, 0, top), scores: indexSelect(sc, 0, top), labels: indexSelect(lb, 0, top) };
    });
  }
}
