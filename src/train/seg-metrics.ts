/**
 * Segmentation metrics accumulated over batches through one confusion matrix (rows = true class, columns =
 * predicted class; pixels whose target is `ignoreIndex` are skipped): pixel accuracy, per-class and mean IoU
 * (Jaccard), frequency-weighted IoU (Long et al. 2015, §5), per-class Dice/F1. The pluggable `Metric` interface
 * lets `fit`/`evaluate` report any of them (`valMIoU` in the progress bar and history.jsonl).
 */
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * A metric `fit`/`evaluate` accumulate over an epoch: `reset()` before it, `update(output, target)` after each
 * batch (the model's raw output: a Tensor or `{out, aux}`), `compute()` → named numbers (`{ mIoU: 0.83 }`), which
 * fit reports as `valMIoU` / `trainMIoU` (the name's first letter upper-cased after the prefix).
 */
export interface Metric {
  reset(): void;
  update(output: unknown, target: Tensor): void;
  compute(): Record<string, number>;
}

/** The logits tensor of a model output: the tensor itself or the `out` of `{out, aux}`. */
export function mainOutput(output: unknown): Tensor {
  if (output instanceof Tensor) return output;
  const out = (output as { out?: unknown } | null)?.out;
  if (out instanceof Tensor) return out;
  throw new Error('metrics: the model output must be a Tensor or {out: Tensor, …}');
}

/** Options of `SegmentationConfusionMatrix`. */
export interface SegmentationMetricOptions {
  /** Target value that is not counted (default 255, Pascal VOC's border label). */
  ignoreIndex?: number;
}

/** Per-class IoU etc. are NaN for a class that appears in neither target nor prediction; means skip NaN (nanmean). */
export class SegmentationConfusionMatrix {
  /** numClasses² counts (float64: an epoch of large images exceeds 2^31 pixels). */
  readonly counts: Float64Array;
  readonly ignoreIndex: number;

  constructor(
    readonly numClasses: number,
    opts: SegmentationMetricOptions = {},
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new Error(`SegmentationConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
    this.counts = new Float64Array(numClasses * numClasses);
    this.ignoreIndex = opts.ignoreIndex ?? 255;
  }

  reset(): void {
    this.counts.fill(0);
  }

  /**
   * Adds a batch: `prediction` is logits [N, C, H, W] (argmax over C, first index on ties) or labels [N, H, W];
   * `target` class indices [N, H, W]. Targets outside [0, C) other than ignoreIndex are an error.
   */
  update(prediction: Tensor, target: Tensor): this {
    const k = this.numClasses;
    const t = target.dataView();
    let pred: ArrayLike<number>;
    if (prediction.shape.length === target.shape.length + 1) {
      const [n, c] = prediction.shape;
      const hw = prediction.shape.slice(2).reduce((a, b) => a * b, 1);
      if (c !== k || n !== target.shape[0] || hw * n !== t.length) {
        throw new Error(
          `SegmentationConfusionMatrix.update: logits ${formatShape(prediction.shape)} do not fit ${k} classes and targets ${formatShape(target.shape)}`,
        );
      }
      const d = prediction.contiguous().dataView();
      const p = new Int32Array(n * hw);
      for (let b = 0; b < n; b++) {
        const base = b * c * hw;
        for (let i = 0; i < hw; i++) {
          let best = 0,
            bv = d[base + i];
          for (let j = 1; j < c; j++) {
            const v = d[base + j * hw + i];
            if (v > bv) {
              bv = v;
              best = j;
            }
          }
          p[b * hw + i] = best;
        }
      }
      pred = p;
    } else if (prediction.shape.length === target.shape.length && prediction.numel() === t.length) {
      pred = prediction.contiguous().dataView();
    } else {
      throw new Error(
        `SegmentationConfusionMatrix.update: prediction ${formatShape(prediction.shape)} must be logits [N, C, …] or labels shaped like the target ${formatShape(target.shape)}`,
      );
    }
    for (let i = 0; i < t.length; i++) {
      const y = t[i];
      if (y === this.ignoreIndex) continue;
      if (y < 0 || y >= k || !Number.isInteger(y)) {
        throw new Error(
          `SegmentationConfusionMatrix.update: target ${y} is outside [0, ${k}) and is not ignoreIndex ${this.ignoreIndex}`,
        );
      }
      const q = pred[i];
      if (q < 0 || q >= k) throw new Error(`SegmentationConfusionMatrix.update: prediction ${q} is outside [0, ${k})`);
      this.counts[y * k + q]++;
    }
    return this;
  }

  /** Adds another matrix's counts (e.g. from another worker). */
  merge(other: SegmentationConfusionMatrix): this {
    if (other.numClasses !== this.numClasses)
      throw new Error(`SegmentationConfusionMatrix.merge: ${other.numClasses} classes vs ${this.numClasses}`);
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  private stats(): { tp: number[]; gt: number[]; pr: number[]; total: number } {
    const k = this.numClasses;
    const tp = new Array<number>(k).fill(0),
      gt = new Array<number>(k).fill(0),
      pr = new Array<number>(k).fill(0);
    let total = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const v = this.counts[i * k + j];
        gt[i] += v;
        pr[j] += v;
        total += v;
      }
      tp[i] = this.counts[i * k + i];
    }
    return { tp, gt, pr, total };
  }

  /** Counted pixels (ignoreIndex excluded). */
  get total(): number {
    return this.stats().total;
  }

  /** Correct pixels / counted pixels (NaN before any update). */
  pixelAccuracy(): number {
    const { tp, total } = this.stats();
    return total ? tp.reduce((a, b) => a + b, 0) / total : NaN;
  }

  /** Per-class recall TP / (TP + FN) — "class accuracy"; NaN for classes absent from the targets. */
  classAccuracy(): number[] {
    const { tp, gt } = this.stats();
    return tp.map((v, i) => (gt[i] ? v / gt[i] : NaN));
  }

  /** Per-class IoU = TP / (TP + FP + FN); NaN where the class is in neither targets nor predictions. */
  iou(): number[] {
    const { tp, gt, pr } = this.stats();
    return tp.map((v, i) => {
      const u = gt[i] + pr[i] - v;
      return u ? v / u : NaN;
    });
  }

  /** Mean of the defined per-class IoUs. */
  meanIoU(): number {
    return nanMean(this.iou());
  }

  /** Σ_c freq_c·IoU_c with freq_c the share of counted pixels whose target is c. */
  frequencyWeightedIoU(): number {
    const { gt, total } = this.stats();
    const iou = this.iou();
    if (!total) return NaN;
    let s = 0;
    for (let c = 0; c < this.numClasses; c++) if (gt[c]) s += (gt[c] / total) * iou[c];
    return s;
  }

  /** Per-class Dice = F1 = 2·TP / (2·TP + FP + FN); NaN where the class is in neither targets nor predictions. */
  dice(): number[] {
    const { tp, gt, pr } = this.stats();
    return tp.map((v, i) => (gt[i] + pr[i] ? (2 * v) / (gt[i] + pr[i]) : NaN));
  }

  /** Mean of the defined per-class Dice scores. */
  meanDice(): number {
    return nanMean(this.dice());
  }

  /** Rows of counts as nested arrays. */
  toArray(): number[][] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, i) => Array.from(this.counts.subarray(i * k, (i + 1) * k)));
  }
}

function nanMean(v: number[]): number {
  const ok = v.filter((x) => !Number.isNaN(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

/** Which numbers `SegmentationMetric.compute` returns. */
export type SegmentationMetricName = 'mIoU' | 'pixelAccuracy' | 'fwIoU' | 'mDice';

/**
 * A `Metric` over a `SegmentationConfusionMatrix`: `compute()` → `{ mIoU, pixelAccuracy, … }` (the names in
 * `report`, default mIoU and pixelAccuracy). Reads `out` of dict outputs.
 */
export class SegmentationMetric implements Metric {
  readonly matrix: SegmentationConfusionMatrix;
  readonly report: readonly SegmentationMetricName[];

  constructor(
    numClasses: number,
    opts: SegmentationMetricOptions & { report?: readonly SegmentationMetricName[] } = {},
  ) {
    this.matrix = new SegmentationConfusionMatrix(numClasses, opts);
    this.report = opts.report ?? ['mIoU', 'pixelAccuracy'];
  }

  reset(): void {
    this.matrix.reset();
  }

  update(output: unknown, target: Tensor): void {
    this.matrix.update(mainOutput(output), target);
  }

  compute(): Record<string, number> {
    const m = this.matrix;
    const all: Record<SegmentationMetricName, () => number> = {
      mIoU: () => m.meanIoU(),
      pixelAccuracy: () => m.pixelAccuracy(),
      fwIoU: () => m.frequencyWeightedIoU(),
      mDice: () => m.meanDice(),
    };
    return Object.fromEntries(this.report.map((k) => [k, all[k]()]));
  }
}
