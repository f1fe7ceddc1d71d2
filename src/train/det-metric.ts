/**
 * Mean average precision as a `fit`/`evaluate` metric plugin: each validation batch's detections (what a detector
 * returns in eval mode: per image `{boxes, scores, labels, masks?}`) and targets (per image `{boxes, labels,
 * masks?, iscrowd?}`) are kept, and `compute()` runs the COCO evaluation (pycocotools' COCOeval, `coco-eval.ts`)
 * over the epoch — torchmetrics' `MeanAveragePrecision` does the same. The names it reports become `valAP`,
 * `valAP50` … in the progress bar, history.jsonl and the training report.
 */
import { rleEncode, type Rle } from '../data/coco-mask.js';
import { Tensor } from '../tensor/tensor.js';
import { CocoEvaluator, type CocoDetection, type CocoGroundTruth, type CocoStats } from './coco-eval.js';
import type { Metric } from './seg-metrics.js';

/** The COCO numbers `MeanAveragePrecision` can report (CocoStats' names with AP/AR upper-cased). */
export type DetectionMetricName =
  'AP' | 'AP50' | 'AP75' | 'APs' | 'APm' | 'APl' | 'AR1' | 'AR10' | 'AR100' | 'ARs' | 'ARm' | 'ARl';

const STAT_INDEX: Record<DetectionMetricName, number> = {
  AP: 0,
  AP50: 1,
  AP75: 2,
  APs: 3,
  APm: 4,
  APl: 5,
  AR1: 6,
  AR10: 7,
  AR100: 8,
  ARs: 9,
  ARm: 10,
  ARl: 11,
};

/** All twelve, in pycocotools' order. */
export const DETECTION_METRIC_NAMES = Object.keys(STAT_INDEX) as DetectionMetricName[];

/** Options of `MeanAveragePrecision`. */
export interface MeanAveragePrecisionOptions {
  /** 'bbox' (default) or 'segm' (mask AP: needs `masks` in detections and targets). */
  iouType?: 'bbox' | 'segm';
  /** The numbers `compute()` returns (default ['AP', 'AP50']). */
  report?: readonly DetectionMetricName[];
  /** Mask probability above which a predicted pixel is in the mask (default 0.5, torchvision's). */
  maskThreshold?: number;
}

/** One image's ground truth, as the detectors take it in training mode (extra keys are ignored). */
export interface DetectionTargetLike {
  /** float [K, 4] (x1, y1, x2, y2) pixels. */
  boxes: Tensor;
  /** int [K] classes (1-based; 0 is background). */
  labels: Tensor;
  /** uint8 [K, H, W] instance masks (segm). */
  masks?: Tensor;
  /** [K] 1 for COCO crowd regions (ignored in matching). */
  iscrowd?: Tensor;
  /** [K] object areas for the size ranges (default: mask area for segm, box area for bbox). */
  area?: Tensor;
}

/** One image's detections, as the detectors return them in eval mode. */
export interface DetectionOutputLike {
  boxes: Tensor;
  scores: Tensor;
  labels: Tensor;
  /** [n, 1, H, W] mask probabilities in the image (Mask R-CNN). */
  masks?: Tensor;
}

function isDetectionList(x: unknown, key: string): x is Record<string, unknown>[] {
  return (
    Array.isArray(x) &&
    x.every((d) => d !== null && typeof d === 'object' && (d as Record<string, unknown>)[key] instanceof Tensor)
  );
}

function masksToRles(masks: Tensor, what: string, threshold: number): Rle[] {
  const s = masks.shape;
  const [h, w] = [s[s.length - 2], s[s.length - 1]];
  if (s.length < 3)
    throw new Error(`MeanAveragePrecision: ${what} masks must be [K, H, W] or [K, 1, H, W], got [${s}]`);
  const k = s[0];
  const d = masks.contiguous().dataView();
  const out: Rle[] = [];
  const m = new Uint8Array(h * w);
  for (let i = 0; i < k; i++) {
    for (let p = 0; p < h * w; p++) m[p] = d[i * h * w + p] > threshold ? 1 : 0;
    out.push(rleEncode(m, h, w));
  }
  return out;
}

/**
 * COCO mAP of a detector over an epoch, as a `Metric` for `fit`/`evaluate`: `update(detections, targets)` per
 * batch, `compute()` → `{ AP, AP50 }` (or the `report` names). Images are numbered in the order they are seen;
 * categories are the label values. Scores as the detector gives them; pycocotools keeps the 100 best per image.
 */
export class MeanAveragePrecision implements Metric {
  readonly iouType: 'bbox' | 'segm';
  readonly report: readonly DetectionMetricName[];
  readonly maskThreshold: number;
  private gts: CocoGroundTruth[] = [];
  private dts: CocoDetection[] = [];
  private images = 0;
  /** The last `compute()`'s full result (all twelve numbers), for tables. */
  stats: CocoStats | null = null;

  constructor(opts: MeanAveragePrecisionOptions = {}) {
    this.iouType = opts.iouType ?? 'bbox';
    if (this.iouType !== 'bbox' && this.iouType !== 'segm')
      throw new Error(`MeanAveragePrecision: iouType must be 'bbox' or 'segm', got ${JSON.stringify(opts.iouType)}`);
    this.report = (opts.report ?? ['AP', 'AP50']).slice();
    for (const r of this.report)
      if (!(r in STAT_INDEX))
        throw new Error(`MeanAveragePrecision: unknown metric '${r}' (known: ${DETECTION_METRIC_NAMES.join(', ')})`);
    this.maskThreshold = opts.maskThreshold ?? 0.5;
  }

  reset(): void {
    this.gts = [];
    this.dts = [];
    this.images = 0;
    this.stats = null;
  }

  /** Adds a batch: the detector's eval-mode output (one entry per image) and the targets of the same images. */
  update(output: unknown, target: unknown): void {
    if (!isDetectionList(output, 'scores'))
      throw new Error(
        'MeanAveragePrecision.update: the output must be a list of {boxes, scores, labels} (a detector in eval mode; in training mode detectors return losses)',
      );
    if (!isDetectionList(target, 'boxes'))
      throw new Error('MeanAveragePrecision.update: the targets must be a list of {boxes, labels} per image');
    if (output.length !== target.length)
      throw new Error(`MeanAveragePrecision.update: ${output.length} detections for ${target.length} targets`);
    const segm = this.iouType === 'segm';
    for (let i = 0; i < output.length; i++) {
      const imageId = ++this.images;
      const t = target[i] as unknown as DetectionTargetLike;
      const o = output[i] as unknown as DetectionOutputLike;
      const tb = t.boxes.dataView(),
        tl = t.labels.dataView();
      const crowd = t.iscrowd?.dataView();
      const area = t.area?.dataView();
      if (segm && !t.masks) throw new Error(`MeanAveragePrecision: iouType 'segm' needs masks in target ${i}`);
      if (segm && !o.masks) throw new Error(`MeanAveragePrecision: iouType 'segm' needs masks in detection ${i}`);
      const gtRles = segm ? masksToRles(t.masks!, 'target', 0) : null;
      for (let k = 0; k < tl.length; k++) {
        const [x1, y1, x2, y2] = [tb[4 * k], tb[4 * k + 1], tb[4 * k + 2], tb[4 * k + 3]];
        this.gts.push({
          imageId,
          categoryId: Number(tl[k]),
          bbox: [x1, y1, x2 - x1, y2 - y1],
          area: area ? Number(area[k]) : undefined,
          iscrowd: crowd ? Number(crowd[k]) : 0,
          segmentation: gtRles?.[k],
          id: this.gts.length + 1,
        });
      }
      const ob = o.boxes.dataView(),
        os = o.scores.dataView(),
        ol = o.labels.dataView();
      const dtRles = segm ? masksToRles(o.masks!, 'detection', this.maskThreshold) : null;
      for (let k = 0; k < ol.length; k++) {
        const [x1, y1, x2, y2] = [ob[4 * k], ob[4 * k + 1], ob[4 * k + 2], ob[4 * k + 3]];
        this.dts.push({
          imageId,
          categoryId: Number(ol[k]),
          score: Number(os[k]),
          bbox: [x1, y1, x2 - x1, y2 - y1],
          segmentation: dtRles?.[k],
        });
      }
    }
  }

  /** The COCO evaluation of everything since `reset()`; −1 where a number is undefined (no ground truth). */
  compute(): Record<string, number> {
    const imageIds = Array.from({ length: this.images }, (_, i) => i + 1);
    this.stats = new CocoEvaluator(this.gts, this.dts, { iouType: this.iouType, imageIds })
      .evaluate()
      .accumulate()
      .summarize();
    const out: Record<string, number> = {};
    for (const r of this.report) out[r] = this.stats.stats[STAT_INDEX[r]];
    return out;
  }
}
