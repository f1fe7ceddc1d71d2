/**
 * Pascal VOC detection AP (Everingham et al., IJCV 2010; the VOC devkit's evaluation): detections of a class sorted
 * by confidence are true positives when their best overlap with a ground-truth box of the same image is > 0.5 and
 * that box is still unclaimed; "difficult" objects neither count as misses nor make a match a false positive.
 * AP is the 11-point interpolated mean (VOC2007) or the area under the monotone precision envelope (VOC2010+).
 */

/** A VOC ground-truth box [x1, y1, x2, y2] (pixel-inclusive corners, as in the XML files). */
export interface VocGroundTruth {
  imageId: string | number;
  label: number | string;
  box: readonly number[];
  difficult?: boolean;
}

/** A detection box with its confidence. */
export interface VocDetection {
  imageId: string | number;
  label: number | string;
  box: readonly number[];
  score: number;
}

/** Options of vocEvaluate. */
export interface VocEvalOptions {
  /** Overlap a match must exceed (default 0.5). */
  iouThreshold?: number;
  /** VOC2007's 11-point interpolation (true) or VOC2010+'s all-point area (false, default). */
  use07Metric?: boolean;
  /** Widths and heights count both corner pixels (+1), as the devkit (default true); false for continuous boxes. */
  pixelInclusive?: boolean;
}

/** Result of vocEvaluate: AP per class and their mean over classes with ground truth. */
export interface VocResult {
  ap: Map<number | string, number>;
  map: number;
  /** Recall and precision after each detection, per class. */
  curves: Map<number | string, { recall: number[]; precision: number[] }>;
}

/**
 * AP from a recall/precision curve. 11-point (VOC2007): mean over r ∈ {0, 0.1, …, 1} of the best precision at
 * recall ≥ r. All-point (VOC2010+): Σ (r_{i+1} − r_i)·p̂_{i+1} with p̂ the precision envelope, recall padded with 0
 * and 1 and precision with 0 and 0.
 */
export function vocAp(recall: readonly number[], precision: readonly number[], use07Metric = false): number {
  if (recall.length !== precision.length)
    throw new Error(`vocAp: ${recall.length} recall values but ${precision.length} precision values`);
  if (use07Metric) {
    let ap = 0;
    for (let i = 0; i <= 10; i++) {
      // The devkit steps np.arange(0, 1.1, 0.1), whose values are i·0.1 in floating point.
      const t = i * 0.1;
      let p = 0;
      for (let j = 0; j < recall.length; j++) if (recall[j] >= t && precision[j] > p) p = precision[j];
      ap += p / 11;
    }
    return ap;
  }
  const mrec = [0, ...recall, 1];
  const mpre = [0, ...precision, 0];
  for (let i = mpre.length - 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
  let ap = 0;
  for (let i = 0; i + 1 < mrec.length; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

/** Per-class VOC AP and mAP of detections against ground truth. */
export function vocEvaluate(
  groundTruth: readonly VocGroundTruth[],
  detections: readonly VocDetection[],
  opts: VocEvalOptions = {},
): VocResult {
  const thr = opts.iouThreshold ?? 0.5;
  const one = (opts.pixelInclusive ?? true) ? 1 : 0;
  const labels = [...new Set(groundTruth.map((g) => g.label))];
  const ap = new Map<number | string, number>();
  const curves = new Map<number | string, { recall: number[]; precision: number[] }>();
  for (const label of labels) {
    const byImage = new Map<string | number, { box: readonly number[]; difficult: boolean; claimed: boolean }[]>();
    let npos = 0;
    for (const g of groundTruth) {
      if (g.label !== label) continue;
      if (g.box.length !== 4)
        throw new Error(`vocEvaluate: ground-truth box must be [x1, y1, x2, y2], got ${JSON.stringify(g.box)}`);
      const list = byImage.get(g.imageId) ?? [];
      list.push({ box: g.box, difficult: Boolean(g.difficult), claimed: false });
      byImage.set(g.imageId, list);
      if (!g.difficult) npos++;
    }
    // Stable sort by confidence (the devkit's argsort leaves ties in an unspecified order).
    const dets = detections
      .filter((d) => d.label === label)
      .map((d, i) => ({ d, i }))
      .sort((a, b) => b.d.score - a.d.score || a.i - b.i)
      .map((x) => x.d);
    let tp = 0;
    let fp = 0;
    const recall: number[] = [];
    const precision: number[] = [];
    for (const d of dets) {
      const gts = byImage.get(d.imageId) ?? [];
      let best = -Infinity;
      let at = -1;
      const [x1, y1, x2, y2] = d.box;
      gts.forEach((g, j) => {
        const iw = Math.max(Math.min(x2, g.box[2]) - Math.max(x1, g.box[0]) + one, 0);
        const ih = Math.max(Math.min(y2, g.box[3]) - Math.max(y1, g.box[1]) + one, 0);
        const inter = iw * ih;
        const union =
          (x2 - x1 + one) * (y2 - y1 + one) + (g.box[2] - g.box[0] + one) * (g.box[3] - g.box[1] + one) - inter;
        const o = inter / union;
        if (o > best) {
          best = o;
          at = j;
        }
      });
      if (best > thr) {
        const g = gts[at];
        if (!g.difficult) {
          if (!g.claimed) {
            tp++;
            g.claimed = true;
          } else fp++;
        }
      } else fp++;
      recall.push(npos > 0 ? tp / npos : NaN);
      precision.push(tp / Math.max(tp + fp, Number.EPSILON));
    }
    ap.set(label, vocAp(recall, precision, opts.use07Metric ?? false));
    curves.set(label, { recall, precision });
  }
  const valid = [...ap.values()].filter((v) => Number.isFinite(v));
  return { ap, map: valid.length ? valid.reduce((s, v) => s + v, 0) / valid.length : NaN, curves };
}
