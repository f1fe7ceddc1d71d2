/**
 * The plumbing that torchvision's detectors share around their heads: checking and transforming the training
 * targets together with the images (GeneralizedRCNNTransform), running backbone → head → anchor generator, the
 * (level, y, x, anchor) flattening of dense head outputs, the foreground/gt pairs of a matching, and mapping
 * detections back to the original image sizes. RetinaNet, FCOS and the SSDs (one-stage) and Faster/Mask R-CNN
 * (the target transform) all go through these, so a fix to one of the steps reaches every detector.
 */
import type { Module } from '../../nn/module.js';
import { orderByScore } from '../../ops/boxes.js';
import { cat, permute, reshape } from '../../ops/shape.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ImageList } from './image-list.js';
import type { Detections } from './roi-heads.js';
import type { DetectionTrainTarget } from './rpn.js';
import type { DetectionTarget, GeneralizedRCNNTransform } from './transform.js';

/** torchvision's check: every target box is [N, 4] with positive width and height. `model` names the caller. */
export function checkTargets(model: string, targets: readonly DetectionTrainTarget[]): void {
  targets.forEach((t, i) => {
    if (t.boxes.shape.length !== 2 || t.boxes.shape[1] !== 4)
      throw new Error(
        `${model}: expected target boxes of shape [N, 4], got [${t.boxes.shape.join(', ')}] for target ${i}`,
      );
    const b = t.boxes.dataView();
    for (let k = 0; k < t.boxes.shape[0]; k++) {
      if (!(b[4 * k + 2] > b[4 * k] && b[4 * k + 3] > b[4 * k + 1])) {
        throw new Error(
          `${model}: all bounding boxes should have positive height and width; box ${k} of target ${i} is [${Array.from(b.subarray(4 * k, 4 * k + 4)).join(', ')}]`,
        );
      }
    }
  });
}

/** What `transformTargets` returns: the batched, resized images and the targets in their pixels. */
export interface TransformedBatch {
  imageList: ImageList;
  targets: DetectionTrainTarget[];
}

/** Options of `transformTargets`. */
export interface TransformTargetsOptions {
  /** Resize the targets' instance `masks` too (Mask R-CNN; default false: boxes and labels only). */
  masks?: boolean;
  /** The error for missing targets after "`model`: " (torchvision's wording differs between detectors). */
  missing?: string;
}

/**
 * The training-mode entry of every torchvision detector: refuses missing targets, checks the boxes, and resizes
 * images and targets together (boxes, labels and, with `masks`, instance masks) into an ImageList whose targets
 * are in the resized images' pixels.
 */
export function transformTargets(
  model: string,
  transform: GeneralizedRCNNTransform,
  images: readonly Tensor[],
  targets: readonly DetectionTrainTarget[] | undefined,
  opts: TransformTargetsOptions = {},
): TransformedBatch {
  if (!targets) throw new Error(`${model}: ${opts.missing ?? 'targets should not be none when in training mode'}`);
  checkTargets(model, targets);
  const pick = (t: DetectionTrainTarget): DetectionTarget & DetectionTrainTarget =>
    opts.masks && t.masks ? { boxes: t.boxes, labels: t.labels, masks: t.masks } : { boxes: t.boxes, labels: t.labels };
  const [imageList, tt] = transform.forward(images, targets.map(pick));
  // The transform resizes boxes and masks and passes labels through, so every target still has its labels.
  return { imageList, targets: tt!.map((t) => pick({ boxes: t.boxes, labels: t.labels!, masks: t.masks })) };
}

/** The modules of a dense (one-stage) detector that `denseForward` runs. */
export interface DenseDetectorParts<H> {
  readonly backbone: Module<[Tensor], Record<string, Tensor>>;
  readonly head: Module<[readonly Tensor[]], H>;
  readonly anchor_generator: Module<[ImageList, readonly Tensor[]], Tensor[]>;
}

/** Backbone feature maps (in the backbone's order), head outputs and per-image anchors of one batch. */
export interface DenseForward<H> {
  features: Tensor[];
  head: H;
  anchors: Tensor[];
}

/** backbone → head → anchors, as RetinaNet, FCOS and SSD all do before their loss or their postprocess. */
export function denseForward<H>(model: DenseDetectorParts<H>, imageList: ImageList): DenseForward<H> {
  const features = Object.values(model.backbone.forward(imageList.tensors));
  const head = model.head.forward(features);
  const anchors = model.anchor_generator.forward(imageList, features);
  return { features, head, anchors };
}

/**
 * Outputs per level when every location of every level has the same number of anchors (RetinaNet, FCOS):
 * H·W·(outputs / Σ H·W). SSD's levels differ in boxes per location and do not use this.
 */
export function outputsPerLevel(features: readonly Tensor[], outputs: number): number[] {
  const locations = features.reduce((s, f) => s + f.shape[2] * f.shape[3], 0);
  return features.map((f) => (f.shape[2] * f.shape[3] * outputs) / locations);
}

/** Eval-mode end of a detector: boxes (and pasted masks) from the resized images back to the originals. */
export function toOriginalSizes(
  transform: GeneralizedRCNNTransform,
  detections: readonly Detections[],
  imageList: ImageList,
  images: readonly Tensor[],
): Detections[] {
  const original = images.map((im) => [im.shape[1], im.shape[2]] as [number, number]);
  return transform.postprocess(
    detections.map((d) => ({ ...d })),
    imageList.imageSizes,
    original,
  ) as unknown as Detections[];
}

/** [N, A·C, H, W] per level → [N, Σ H·W·A, C] in (level, y, x, anchor) order, the order of the anchors. */
export function flattenLevels(maps: readonly Tensor[], c: number): Tensor {
  return cat(
    maps.map((t) => {
      const [n, ac, h, w] = t.shape;
      return reshape(permute(reshape(t, n, ac / c, c, h, w), 0, 3, 4, 1, 2), n, -1, c);
    }),
    1,
  );
}

/** The foreground anchors of a matching (`matched[j]` ≥ 0 is gt index) and their gts, in anchor order. */
export function foregroundPairs(matched: Int32Array): { fg: Int32Array; gt: Int32Array } {
  let n = 0;
  for (let j = 0; j < matched.length; j++) if (matched[j] >= 0) n++;
  const fg = new Int32Array(n);
  const gt = new Int32Array(n);
  for (let j = 0, r = 0; j < matched.length; j++) {
    if (matched[j] >= 0) {
      fg[r] = j;
      gt[r++] = matched[j];
    }
  }
  return { fg, gt };
}

/** An int32 index tensor [n]. */
export function int32Index(v: ArrayLike<number>): Tensor {
  return tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });
}

/**
 * Indices of the scores above `thresh`, best first (ties by index, as PyTorch's stable sort), at most `k` of them:
 * the per-level candidate selection of RetinaNet's and FCOS's postprocess (and per class of SSD's).
 */
export function topCandidates(scores: ArrayLike<number>, thresh: number, k: number): number[] {
  let n = 0;
  for (let j = 0; j < scores.length; j++) if (scores[j] > thresh) n++;
  const cand = new Int32Array(n);
  for (let j = 0, r = 0; j < scores.length; j++) if (scores[j] > thresh) cand[r++] = j;
  // no NaN passes the threshold, so this is the descending order, ties by index, cut at k
  return Array.from(orderByScore(scores, cand, k));
}

/** Per-class candidates of a dense detector: parallel rows (anchor index), scores and labels, class-major. */
export interface ClassCandidates {
  rows: Int32Array;
  scores: Float32Array;
  labels: Int32Array;
}

/**
 * SSD's per-class candidate selection for one image (scores kept as float32, as before): for every class c in 1..k−1 (0 is background) of row-major
 * `scores` [n, k], the rows whose score is above `thresh`, best first (ties by row), at most `topk` of them —
 * torchvision's loop (scores > thresh, then topk, per label) done in one pass over the score matrix that files
 * each candidate under its class, then one selection per class (no per-class column copies).
 */
export function classCandidates(
  scores: Float32Array | Float64Array,
  n: number,
  k: number,
  thresh: number,
  topk: number,
): ClassCandidates {
  const count = new Int32Array(k);
  for (let j = 0, o = 0; j < n; j++, o += k) for (let c = 1; c < k; c++) if (scores[o + c] > thresh) count[c]++;
  const start = new Int32Array(k + 1);
  let total = 0;
  for (let c = 0; c < k; c++) {
    start[c + 1] = start[c] + count[c];
    total += Math.min(count[c], topk);
  }
  // flat indices j·k + c of the candidates, grouped by class, rows ascending within a class
  const flat = new Int32Array(start[k]);
  const fill = start.slice(0, k);
  for (let j = 0, o = 0; j < n; j++, o += k)
    for (let c = 1; c < k; c++) if (scores[o + c] > thresh) flat[fill[c]++] = o + c;
  const out = { rows: new Int32Array(total), scores: new Float32Array(total), labels: new Int32Array(total) };
  let r = 0;
  for (let c = 1; c < k; c++) {
    // no NaN passes the threshold, so this is the descending order, ties by row, cut at topk
    for (const i of orderByScore(scores, flat.subarray(start[c], start[c + 1]), topk)) {
      out.rows[r] = (i - c) / k;
      out.scores[r] = scores[i];
      out.labels[r++] = c;
    }
  }
  return out;
}
