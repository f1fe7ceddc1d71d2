/**
 * Anomaly detection, two ways: (a) reconstruction error of an autoencoder trained on normal data (see
 * autoencoder.ts), (b) PANDA/SPADE-style k-nearest-neighbour distances between features of a trained CNN and the
 * features of the normal set, with a per-pixel anomaly map from intermediate feature maps. Scores are evaluated
 * with AUROC.
 */
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from '../nn/module.js';
import { noGrad } from '../autograd/grad-mode.js';
import { formatShape } from '../tensor/shape.js';
import { resizePlane } from './colormap.js';
import { asBatch, callModel, withCapturedOutputs, type ModelLike } from './model-util.js';

function checkScores(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>, op: string): void {
  if (scores.length !== labels.length) throw new Error(`${op}: ${scores.length} scores but ${labels.length} labels`);
  for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) throw new Error(`${op}: score ${i} is NaN`);
}

/**
 * Area under the ROC curve of `scores` (higher = more anomalous) against binary `labels` (1/true = anomaly):
 * the probability that a random anomaly scores above a random normal sample, ties counting one half
 * (Mann–Whitney U with mid-ranks; equals sklearn's roc_auc_score).
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  checkScores(scores, labels, 'auroc');
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0,
    rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (Number(labels[idx[k]])) {
        pos++;
        rankSum += midRank;
      }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0)
    throw new Error(`auroc: needs both classes, got ${pos} anomalies and ${neg} normal samples`);
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** ROC curve points (false/true positive rates at each distinct threshold, from the highest score down). */
export function rocCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  checkScores(scores, labels, 'rocCurve');
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let P = 0;
  for (let i = 0; i < n; i++) if (Number(labels[i])) P++;
  const N = n - P;
  if (P === 0 || N === 0) throw new Error('rocCurve: needs both classes');
  const fpr = [0],
    tpr = [0],
    thresholds = [Infinity];
  let tp = 0,
    fp = 0;
  for (let i = 0; i < n; i++) {
    if (Number(labels[idx[i]])) tp++;
    else fp++;
    if (i === n - 1 || scores[idx[i + 1]] !== scores[idx[i]]) {
      fpr.push(fp / N);
      tpr.push(tp / P);
      thresholds.push(scores[idx[i]]);
    }
  }
  return { fpr, tpr, thresholds };
}

/** Squared Euclidean distances between rows of a [M, D] and b [N, D] (flat arrays). */
function sqDistances(a: ArrayLike<number>, M: number, b: ArrayLike<number>, N: number, D: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) {
        const v = a[i * D + d] - b[j * D + d];
        s += v * v;
      }
      out[i * N + j] = s;
    }
  return out;
}

function kSmallestMean(row: Float64Array, k: number): number {
  const sorted = Array.from(row).sort((x, y) => x - y);
  let s = 0;
  for (let i = 0; i < k; i++) s += Math.sqrt(sorted[i]);
  return s / k;
}

/**
 * Mean Euclidean distance from each query row [M, D] to its k nearest rows of the reference set [N, D] (PANDA's
 * anomaly score). Rows may be L2-normalised first with `normalize` (cosine-like distances).
 */
export function knnScores(reference: Tensor, queries: Tensor, k = 2, opts: { normalize?: boolean } = {}): Float32Array {
  if (reference.shape.length !== 2 || queries.shape.length !== 2 || reference.shape[1] !== queries.shape[1]) {
    throw new Error(
      `knnScores: expected reference [N, D] and queries [M, D] with the same D, got ${formatShape(reference.shape)} and ${formatShape(queries.shape)}`,
    );
  }
  const [N, D] = reference.shape,
    M = queries.shape[0];
  if (!Number.isInteger(k) || k < 1 || k > N)
    throw new Error(`knnScores: k must be an integer in 1..${N} (reference size), got ${k}`);
  const prep = (t: Tensor, rows: number): Float32Array => {
    const d = Float32Array.from(t.dataView() as ArrayLike<number>);
    if (opts.normalize)
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < D; j++) s += d[r * D + j] ** 2;
        const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
        for (let j = 0; j < D; j++) d[r * D + j] *= inv;
      }
    return d;
  };
  const ref = prep(reference, N),
    q = prep(queries, M);
  const dist = sqDistances(q, M, ref, N, D);
  const out = new Float32Array(M);
  for (let i = 0; i < M; i++) out[i] = kSmallestMean(dist.subarray(i * N, (i + 1) * N), k);
  return out;
}

/**
 * Features for kNN scoring: the named layers' outputs, global-average-pooled over space when 4-d, concatenated:
 * [N, D]. Runs in batches of `batchSize` without a graph.
 */
export function extractFeatures(model: AnyModule, images: Tensor, layers: readonly string[], batchSize = 256): Tensor {
  const x = asBatch(images, 'extractFeatures');
  const N = x.shape[0];
  const rows: number[][] = [];
  let D = -1;
  for (let s = 0; s < N; s += batchSize) {
    const xb = x.narrow(0, s, Math.min(batchSize, N - s));
    const feats = withCapturedOutputs(model, layers, 'extractFeatures', (cap) => {
      noGrad(() => callModel(model, xb));
      return layers.map((l) => {
        const t = cap.get(l);
        if (!t) throw new Error(`extractFeatures: layer '${l}' was not called`);
        return t;
      });
    });
    for (let i = 0; i < xb.shape[0]; i++) {
      const row: number[] = [];
      for (const f of feats) {
        const per = f.numel() / f.shape[0];
        const d = f.dataView().subarray(i * per, (i + 1) * per);
        if (f.shape.length === 4) {
          const [, C, h, w] = f.shape;
          for (let c = 0; c < C; c++) {
            let sum = 0;
            for (let p = 0; p < h * w; p++) sum += d[c * h * w + p];
            row.push(sum / (h * w));
          }
        } else for (let j = 0; j < per; j++) row.push(d[j]);
      }
      if (D < 0) D = row.length;
      rows.push(row);
    }
  }
  return new Tensor(Float32Array.from(rows.flat()), [N, D], 'float32');
}

/**
 * Per-pixel anomaly maps (SPADE, Cohen & Hoshen 2020, the pixel-level companion of PANDA): each position's
 * feature vector at the intermediate `layer` is compared with every position of the `kImages` normal images
 * nearest in pooled feature space; the distance to the `kPixels` nearest is the position's anomaly, upsampled
 * bilinearly to the input size. Returns [M, H, W].
 */
export function featureAnomalyMaps(
  model: AnyModule,
  normal: Tensor,
  queries: Tensor,
  layer: string,
  opts: { kImages?: number; kPixels?: number } = {},
): Tensor {
  const xn = asBatch(normal, 'featureAnomalyMaps'),
    xq = asBatch(queries, 'featureAnomalyMaps');
  const grab = (x: Tensor): Tensor =>
    withCapturedOutputs(model, [layer], 'featureAnomalyMaps', (cap) => {
      noGrad(() => callModel(model, x));
      const t = cap.get(layer);
      if (!t || t.shape.length !== 4)
        throw new Error(
          `featureAnomalyMaps: layer '${layer}' must output a feature map [N, C, h, w], got ${t ? formatShape(t.shape) : 'nothing'}`,
        );
      return t;
    });
  const fn = grab(xn),
    fq = grab(xq);
  const [Nn, C, h, w] = fn.shape,
    M = fq.shape[0];
  const kImages = Math.min(opts.kImages ?? 10, Nn),
    kPixels = opts.kPixels ?? 1;
  const plane = h * w;
  const pool = (f: Tensor, n: number): Float32Array => {
    const d = f.dataView(),
      out = new Float32Array(n * C);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let p = 0; p < plane; p++) s += d[(i * C + c) * plane + p];
        out[i * C + c] = s / plane;
      }
    return out;
  };
  const pn = pool(fn, Nn),
    pq = pool(fq, M);
  const imgDist = sqDistances(pq, M, pn, Nn, C);
  const dn = fn.dataView(),
    dq = fq.dataView();
  const [, , H, W] = xq.shape;
  const out = new Float32Array(M * H * W);
  for (let m = 0; m < M; m++) {
    const row = Array.from(imgDist.subarray(m * Nn, (m + 1) * Nn));
    const nearest = row
      .map((v, i) => [v, i])
      .sort((a, b) => a[0] - b[0])
      .slice(0, kImages)
      .map((e) => e[1]);
    const map = new Float32Array(plane);
    const dists = new Float64Array(nearest.length * plane);
    for (let p = 0; p < plane; p++) {
      let cnt = 0;
      for (const j of nearest)
        for (let r = 0; r < plane; r++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            const v = dq[(m * C + c) * plane + p] - dn[(j * C + c) * plane + r];
            s += v * v;
          }
          dists[cnt++] = s;
        }
      map[p] = kSmallestMean(dists.subarray(0, cnt), Math.min(kPixels, cnt));
    }
    out.set(resizePlane(map, h, w, H, W), m * H * W);
  }
  return new Tensor(out, [M, H, W], 'float32');
}

/**
 * Reconstruction-error anomaly scores of an autoencoder (or any image-to-image model): the per-image mean squared
 * error and the per-pixel squared error summed over channels [N, H, W].
 */
export function reconstructionScores(
  autoencoder: ModelLike,
  images: Tensor,
  batchSize = 256,
): { scores: Float32Array; maps: Tensor } {
  const x = asBatch(images, 'reconstructionScores');
  const [N, C, H, W] = x.shape;
  const scores = new Float32Array(N);
  const maps = new Float32Array(N * H * W);
  for (let s = 0; s < N; s += batchSize) {
    const xb = x.narrow(0, s, Math.min(batchSize, N - s)).float();
    const rec = noGrad(() => callModel(autoencoder, xb));
    if (rec.shape.join() !== xb.shape.join())
      throw new Error(
        `reconstructionScores: the model maps ${formatShape(xb.shape)} to ${formatShape(rec.shape)}; an autoencoder must return the input's shape`,
      );
    const a = xb.dataView(),
      b = rec.dataView();
    for (let i = 0; i < xb.shape[0]; i++) {
      let tot = 0;
      for (let p = 0; p < H * W; p++) {
        let e = 0;
        for (let c = 0; c < C; c++) {
          const k = (i * C + c) * H * W + p;
          e += (a[k] - b[k]) ** 2;
        }
        maps[(s + i) * H * W + p] = e;
        tot += e;
      }
      scores[s + i] = tot / (C * H * W);
    }
  }
  return { scores, maps: new Tensor(maps, [N, H, W], 'float32') };
}
