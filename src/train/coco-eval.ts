/**
 * COCO detection and instance-segmentation evaluation, exactly pycocotools' COCOeval (Lin et al., "Microsoft COCO",
 * 2014; cocodataset.org/#detection-eval): per image and category, detections sorted by score (stable) are matched
 * greedily to the unmatched ground truth of highest IoU ≥ t for t in 0.50:0.05:0.95; crowd regions and objects
 * outside the area range are "ignored" — a detection matched to one counts neither way; precision is made
 * monotone and sampled at 101 recall points; AP and AR are means over the cells that have ground truth.
 */
import { bboxIou, rleArea, rleIou, rleToBbox, toRle, type CocoSegmentation, type Rle } from '../data/coco-mask.js';

/** A ground-truth object, COCO annotation style (bbox is [x, y, width, height] in pixels). */
export interface CocoGroundTruth {
  imageId: number;
  categoryId: number;
  bbox?: readonly number[];
  /** Object area for the small/medium/large ranges; COCO files give the mask area. Default: mask area, else w·h. */
  area?: number;
  /** A crowd region: matches are free, misses are not counted (default false). */
  iscrowd?: boolean | number;
  /** Polygons or RLE: needed for iouType 'segm' (polygons also need `imageSizes`). */
  segmentation?: CocoSegmentation | Rle;
  /** Annotation id (default: position + 1). */
  id?: number;
}

/** A detection: bbox [x, y, w, h] for 'bbox', a mask for 'segm'. */
export interface CocoDetection {
  imageId: number;
  categoryId: number;
  score: number;
  bbox?: readonly number[];
  segmentation?: CocoSegmentation | Rle;
}

/** Options of the COCO evaluation (pycocotools' Params). */
export interface CocoEvalOptions {
  /** 'bbox' (default) or 'segm' (mask IoU). */
  iouType?: 'bbox' | 'segm';
  /** Images to evaluate (default: every image with ground truth or detections). */
  imageIds?: readonly number[];
  /** Categories (default: every category that appears). */
  categoryIds?: readonly number[];
  /** Evaluate per category (default true); false pools all categories as one. */
  useCats?: boolean;
  /** Default 0.50:0.05:0.95. */
  iouThresholds?: readonly number[];
  /** Default 0:0.01:1. */
  recallThresholds?: readonly number[];
  /** Default [1, 10, 100]; the summary reads the last as "all". */
  maxDets?: readonly number[];
  /** [min, max] areas of all / small / medium / large (default [0, 1e10], [0, 32²], [32², 96²], [96², 1e10]). */
  areaRanges?: readonly (readonly [number, number])[];
  /** [height, width] of each image, for polygon segmentations. */
  imageSizes?: ReadonlyMap<number, readonly [number, number]>;
}

/** The twelve numbers pycocotools prints, by name and as `stats` in its order. */
export interface CocoStats {
  ap: number;
  ap50: number;
  ap75: number;
  apSmall: number;
  apMedium: number;
  apLarge: number;
  ar1: number;
  ar10: number;
  ar100: number;
  arSmall: number;
  arMedium: number;
  arLarge: number;
  stats: number[];
}

/** NumPy's linspace (start + i·step, last exactly `stop`), so thresholds equal pycocotools' to the bit. */
function linspace(start: number, stop: number, n: number): number[] {
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start));
}

/** Stable order of indices by descending key (NumPy argsort(-key, kind='mergesort')). */
function byScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

interface Gt {
  id: number;
  area: number;
  crowd: boolean;
  bbox: readonly number[];
  rle?: Rle;
}
interface Dt {
  id: number;
  score: number;
  area: number;
  bbox: readonly number[];
  rle?: Rle;
}
interface EvalImg {
  dtScores: number[];
  dtMatched: Uint8Array[];
  dtIgnore: Uint8Array[];
  gtIgnore: Uint8Array;
}

/**
 * The COCO evaluator: `evaluate()` matches per image, `accumulate()` builds precision [T, R, K, A, M] and recall
 * [T, K, A, M] (−1 where a cell has no ground truth), `summarize()` gives the twelve standard numbers.
 */
export class CocoEvaluator {
  readonly iouType: 'bbox' | 'segm';
  readonly iouThresholds: number[];
  readonly recallThresholds: number[];
  readonly maxDets: number[];
  readonly areaRanges: [number, number][];
  readonly imageIds: number[];
  readonly categoryIds: number[];
  readonly useCats: boolean;
  /** precision[t][r][k][a][m] flattened row-major, after accumulate(). */
  precision = new Float64Array(0);
  /** recall[t][k][a][m] flattened, after accumulate(). */
  recall = new Float64Array(0);
  private readonly gts = new Map<string, Gt[]>();
  private readonly dts = new Map<string, Dt[]>();
  private evalImgs: (EvalImg | null)[] = [];

  constructor(
    groundTruth: readonly CocoGroundTruth[],
    detections: readonly CocoDetection[],
    opts: CocoEvalOptions = {},
  ) {
    this.iouType = opts.iouType ?? 'bbox';
    if (this.iouType !== 'bbox' && this.iouType !== 'segm')
      throw new Error(`CocoEvaluator: iouType must be 'bbox' or 'segm', got ${JSON.stringify(this.iouType)}`);
    this.iouThresholds = (opts.iouThresholds ?? linspace(0.5, 0.95, 10)).slice();
    this.recallThresholds = (opts.recallThresholds ?? linspace(0, 1, 101)).slice();
    this.maxDets = (opts.maxDets ?? [1, 10, 100]).slice();
    this.areaRanges = (
      opts.areaRanges ?? [
        [0, 1e10],
        [0, 32 ** 2],
        [32 ** 2, 96 ** 2],
        [96 ** 2, 1e10],
      ]
    ).map((r) => [r[0], r[1]]);
    this.useCats = opts.useCats ?? true;
    const ids = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
    this.imageIds = opts.imageIds
      ? ids(opts.imageIds)
      : ids([...groundTruth.map((g) => g.imageId), ...detections.map((d) => d.imageId)]);
    this.categoryIds = opts.categoryIds
      ? ids(opts.categoryIds)
      : ids([...groundTruth.map((g) => g.categoryId), ...detections.map((d) => d.categoryId)]);
    const segm = this.iouType === 'segm';
    const rleOf = (what: string, i: number, imageId: number, seg: CocoSegmentation | Rle | undefined): Rle => {
      if (!seg) throw new Error(`CocoEvaluator: iouType 'segm' needs a segmentation on ${what} ${i}`);
      const size = opts.imageSizes?.get(imageId);
      if (Array.isArray(seg) && !size)
        throw new Error(
          `CocoEvaluator: ${what} ${i} has polygons; pass imageSizes with image ${imageId}'s [height, width]`,
        );
      return toRle(seg, size?.[0] ?? 0, size?.[1] ?? 0);
    };
    const key = (img: number, cat: number) => `${img}:${cat}`;
    groundTruth.forEach((g, i) => {
      const rle = segm ? rleOf('ground truth', i, g.imageId, g.segmentation) : undefined;
      const bbox = g.bbox ?? (rle ? rleToBbox(rle) : null);
      if (!bbox || bbox.length !== 4) throw new Error(`CocoEvaluator: ground truth ${i} needs a bbox [x, y, w, h]`);
      const area = g.area ?? (rle ? rleArea(rle) : bbox[2] * bbox[3]);
      const list = this.gts.get(key(g.imageId, g.categoryId)) ?? [];
      list.push({ id: g.id ?? i + 1, area, crowd: Boolean(g.iscrowd), bbox, rle });
      this.gts.set(key(g.imageId, g.categoryId), list);
    });
    detections.forEach((d, i) => {
      const rle = segm ? rleOf('detection', i, d.imageId, d.segmentation) : undefined;
      const bbox = d.bbox ?? (rle ? rleToBbox(rle) : null);
      if (!bbox || bbox.length !== 4) throw new Error(`CocoEvaluator: detection ${i} needs a bbox [x, y, w, h]`);
      if (!Number.isFinite(d.score)) throw new Error(`CocoEvaluator: detection ${i} has score ${d.score}`);
      // pycocotools' loadRes: box results take w·h as area, mask results the mask area.
      const area = rle ? rleArea(rle) : bbox[2] * bbox[3];
      const list = this.dts.get(key(d.imageId, d.categoryId)) ?? [];
      list.push({ id: i + 1, score: d.score, area, bbox, rle });
      this.dts.set(key(d.imageId, d.categoryId), list);
    });
  }

  private cats(): number[] {
    return this.useCats ? this.categoryIds : [-1];
  }

  /** IoU [D, G] of an image/category's detections (by score, top maxDets) against its ground truth. */
  private ious(gt: Gt[], dt: Dt[]): Float64Array {
    const crowd = gt.map((g) => g.crowd);
    if (this.iouType === 'segm')
      return rleIou(
        dt.map((d) => d.rle!),
        gt.map((g) => g.rle!),
        crowd,
      );
    return bboxIou(
      dt.map((d) => d.bbox),
      gt.map((g) => g.bbox),
      crowd,
    );
  }

  /** pycocotools' evaluateImg for one image, category and area range (with maxDet = the largest maxDets). */
  private evaluateImg(gtAll: Gt[], dtAll: Dt[], range: [number, number]): EvalImg | null {
    if (gtAll.length === 0 && dtAll.length === 0) return null;
    const maxDet = this.maxDets[this.maxDets.length - 1];
    const ignore = gtAll.map((g) => (g.crowd || g.area < range[0] || g.area > range[1] ? 1 : 0));
    // Non-ignored ground truth first (stable), so a match to it is preferred.
    const gOrder = gtAll.map((_, i) => i).sort((a, b) => ignore[a] - ignore[b] || a - b);
    const gt = gOrder.map((i) => gtAll[i]);
    const gtIg = Uint8Array.from(gOrder.map((i) => ignore[i]));
    const dt = byScore(dtAll.map((d) => d.score))
      .slice(0, maxDet)
      .map((i) => dtAll[i]);
    const G = gt.length;
    const D = dt.length;
    const ious = G > 0 && D > 0 ? this.ious(gt, dt) : new Float64Array(0);
    const dtMatched: Uint8Array[] = [];
    const dtIgnore: Uint8Array[] = [];
    for (const t of this.iouThresholds) {
      const gtm = new Uint8Array(G);
      const dtm = new Uint8Array(D);
      const dtIg = new Uint8Array(D);
      if (ious.length > 0) {
        for (let d = 0; d < D; d++) {
          let best = Math.min(t, 1 - 1e-10);
          let m = -1;
          for (let g = 0; g < G; g++) {
            if (gtm[g] && !gt[g].crowd) continue;
            // Once matched to a regular object, stop at the ignored ones (they are sorted last).
            if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
            const v = ious[d * G + g];
            if (v < best) continue;
            best = v;
            m = g;
          }
          if (m === -1) continue;
          dtIg[d] = gtIg[m];
          dtm[d] = 1;
          gtm[m] = 1;
        }
      }
      // Unmatched detections outside the area range are ignored too.
      for (let d = 0; d < D; d++) if (!dtm[d] && (dt[d].area < range[0] || dt[d].area > range[1])) dtIg[d] = 1;
      dtMatched.push(dtm);
      dtIgnore.push(dtIg);
    }
    return { dtScores: dt.map((d) => d.score), dtMatched, dtIgnore, gtIgnore: gtIg };
  }

  /** Runs the per-image matching for every category, area range and image. */
  evaluate(): this {
    this.evalImgs = [];
    for (const cat of this.cats()) {
      for (const range of this.areaRanges) {
        for (const img of this.imageIds) {
          // Pooled categories (useCats false) concatenate the lists category by category, as pycocotools does —
          // which decides the order of equal scores.
          const cats = this.useCats ? [cat] : this.categoryIds;
          const gts = cats.flatMap((c) => this.gts.get(`${img}:${c}`) ?? []);
          const dts = cats.flatMap((c) => this.dts.get(`${img}:${c}`) ?? []);
          this.evalImgs.push(this.evaluateImg(gts, dts, range));
        }
      }
    }
    return this;
  }

  /** Precision/recall tables from the per-image results (pycocotools' accumulate). */
  accumulate(): this {
    if (this.evalImgs.length === 0) this.evaluate();
    const T = this.iouThresholds.length,
      R = this.recallThresholds.length,
      K = this.cats().length;
    const A = this.areaRanges.length,
      M = this.maxDets.length,
      I = this.imageIds.length;
    this.precision = new Float64Array(T * R * K * A * M).fill(-1);
    this.recall = new Float64Array(T * K * A * M).fill(-1);
    for (let k = 0; k < K; k++) {
      for (let a = 0; a < A; a++) {
        const E = this.evalImgs.slice((k * A + a) * I, (k * A + a + 1) * I).filter((e): e is EvalImg => e !== null);
        if (E.length === 0) continue;
        let npig = 0;
        for (const e of E) for (const g of e.gtIgnore) if (g === 0) npig++;
        if (npig === 0) continue;
        for (let m = 0; m < M; m++) {
          const maxDet = this.maxDets[m];
          const scores: number[] = [];
          const src: [EvalImg, number][] = [];
          for (const e of E) {
            for (let d = 0; d < Math.min(maxDet, e.dtScores.length); d++) {
              scores.push(e.dtScores[d]);
              src.push([e, d]);
            }
          }
          const order = byScore(scores);
          for (let t = 0; t < T; t++) {
            let tp = 0;
            let fp = 0;
            const rc: number[] = [];
            const pr: number[] = [];
            for (const i of order) {
              const [e, d] = src[i];
              if (e.dtIgnore[t][d]) {
                // Ignored detections leave the running counts where they were (pycocotools keeps their rows).
              } else if (e.dtMatched[t][d]) tp++;
              else fp++;
              rc.push(tp / npig);
              pr.push(tp / (fp + tp + Number.EPSILON));
            }
            const nd = rc.length;
            this.recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
            for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
            // searchsorted(rc, recThrs, 'left'): the first detection reaching each recall threshold; past the end
            // of the curve precision stays 0.
            let pi = 0;
            for (let r = 0; r < R; r++) {
              while (pi < nd && rc[pi] < this.recallThresholds[r]) pi++;
              const q = pi < nd ? pr[pi] : 0;
              this.precision[(((t * R + r) * K + k) * A + a) * M + m] = q;
              if (pi >= nd)
                for (let rr = r + 1; rr < R; rr++) this.precision[(((t * R + rr) * K + k) * A + a) * M + m] = 0;
              if (pi >= nd) break;
            }
          }
        }
      }
    }
    return this;
  }

  /** Mean precision (ap) or recall over the cells with ground truth; −1 when there are none. */
  private mean(ap: boolean, iouIndex: number | null, area: number, maxDet: number): number {
    const T = this.iouThresholds.length,
      R = this.recallThresholds.length,
      K = this.cats().length;
    const A = this.areaRanges.length,
      M = this.maxDets.length;
    const m = this.maxDets.indexOf(maxDet);
    if (m < 0) return -1;
    let sum = 0;
    let n = 0;
    for (let t = 0; t < T; t++) {
      if (iouIndex !== null && t !== iouIndex) continue;
      for (let k = 0; k < K; k++) {
        if (ap) {
          for (let r = 0; r < R; r++) {
            const v = this.precision[(((t * R + r) * K + k) * A + area) * M + m];
            if (v > -1) {
              sum += v;
              n++;
            }
          }
        } else {
          const v = this.recall[((t * K + k) * A + area) * M + m];
          if (v > -1) {
            sum += v;
            n++;
          }
        }
      }
    }
    return n === 0 ? -1 : sum / n;
  }

  /** The twelve standard numbers (AP@[.5:.95], AP50, AP75, AP S/M/L, AR@1/10/100, AR S/M/L). */
  summarize(): CocoStats {
    if (this.precision.length === 0) this.accumulate();
    const iou = (v: number) => {
      const i = this.iouThresholds.findIndex((t) => Math.abs(t - v) < 1e-12);
      return i < 0 ? -2 : i;
    };
    const md = (i: number) => this.maxDets[Math.min(i, this.maxDets.length - 1)];
    const at = (ap: boolean, t: number | null, a: number, m: number) => (t === -2 ? -1 : this.mean(ap, t, a, m));
    // As pycocotools: the first AP reads maxDets = 100 literally (−1 if 100 is not among maxDets), the rest the
    // third maxDets entry.
    const stats = [
      at(true, null, 0, 100),
      at(true, iou(0.5), 0, md(2)),
      at(true, iou(0.75), 0, md(2)),
      at(true, null, 1, md(2)),
      at(true, null, 2, md(2)),
      at(true, null, 3, md(2)),
      at(false, null, 0, md(0)),
      at(false, null, 0, md(1)),
      at(false, null, 0, md(2)),
      at(false, null, 1, md(2)),
      at(false, null, 2, md(2)),
      at(false, null, 3, md(2)),
    ];
    const [ap, ap50, ap75, apSmall, apMedium, apLarge, ar1, ar10, ar100, arSmall, arMedium, arLarge] = stats;
    return { ap, ap50, ap75, apSmall, apMedium, apLarge, ar1, ar10, ar100, arSmall, arMedium, arLarge, stats };
  }
}

/** Evaluates and returns the twelve COCO numbers (−1 where a number is undefined, as pycocotools). */
export function cocoEvaluate(
  groundTruth: readonly CocoGroundTruth[],
  detections: readonly CocoDetection[],
  opts: CocoEvalOptions = {},
): CocoStats {
  return new CocoEvaluator(groundTruth, detections, opts).evaluate().accumulate().summarize();
}

/** The table pycocotools prints after summarize(). */
export function formatCocoStats(s: CocoStats, maxDets: readonly number[] = [1, 10, 100]): string {
  const rows: [string, string, string, string, number][] = [
    ['Average Precision', '(AP)', '0.50:0.95', 'all', maxDets[2]],
    ['Average Precision', '(AP)', '0.50', 'all', maxDets[2]],
    ['Average Precision', '(AP)', '0.75', 'all', maxDets[2]],
    ['Average Precision', '(AP)', '0.50:0.95', 'small', maxDets[2]],
    ['Average Precision', '(AP)', '0.50:0.95', 'medium', maxDets[2]],
    ['Average Precision', '(AP)', '0.50:0.95', 'large', maxDets[2]],
    ['Average Recall', '(AR)', '0.50:0.95', 'all', maxDets[0]],
    ['Average Recall', '(AR)', '0.50:0.95', 'all', maxDets[1]],
    ['Average Recall', '(AR)', '0.50:0.95', 'all', maxDets[2]],
    ['Average Recall', '(AR)', '0.50:0.95', 'small', maxDets[2]],
    ['Average Recall', '(AR)', '0.50:0.95', 'medium', maxDets[2]],
    ['Average Recall', '(AR)', '0.50:0.95', 'large', maxDets[2]],
  ];
  return rows
    .map(
      ([title, type, iou, area, md], i) =>
        ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${area.padStart(6)} | maxDets=${String(md).padStart(3)} ] = ${s.stats[i].toFixed(3)}`,
    )
    .join('\n');
}
