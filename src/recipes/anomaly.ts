/**
 * The Fashion-MNIST anomaly-detection experiment behind `tatami anomaly` and examples/viz-anomaly.ts: one class is
 * "normal"; (a) a ConvAutoencoder trained on normal training images scores test images by reconstruction error;
 * (b) PANDA-style, a small CNN classifier trained on the embedded training subset provides features, and the
 * anomaly score is the mean distance to the k nearest normal training features; per-pixel maps come from an
 * intermediate feature map (SPADE). AUROC is reported for both.
 *
 * Caveat, stated in the output: the feature CNN of (b) was trained with labels of all ten classes (the role
 * ImageNet pre-training plays in PANDA), so (b) is not a strict one-class protocol; (a) sees normal images only.
 * Both networks train through `fit` (trainSteps); the scores and maps are viz's anomaly methods.
 */
import { FashionMNIST } from '../data/idx.js';
import { writeImage, makeGrid } from '../io/image.js';
import * as nn from '../nn/index.js';
import { Adam } from '../optim/adam.js';
import { mseLoss } from '../ops/loss.js';
import { ConvAutoencoder } from '../models/autoencoder.js';
import { manualSeed } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { auroc, extractFeatures, featureAnomalyMaps, knnScores, reconstructionScores } from '../viz/anomaly.js';
import { applyColormap, toRgbFloat, upscaleNearest } from '../viz/colormap.js';
import { fashionImages, trainSteps } from './fashion.js';

/** Options of trainAutoencoder. */
export interface TrainAutoencoderOptions {
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  log?: (s: string) => void;
}

/**
 * Trains an autoencoder to reconstruct `images` [N, C, H, W] (Adam, MSE, minibatches of shuffled passes) with `fit`;
 * returns the loss per step.
 */
export async function trainAutoencoder(
  ae: nn.Module<[Tensor], Tensor>,
  images: Tensor,
  opts: TrainAutoencoderOptions = {},
): Promise<number[]> {
  return trainSteps(
    ae,
    { x: images, y: images },
    {
      optimizer: new Adam(ae.parameters(), { lr: opts.lr ?? 3e-3 }),
      steps: opts.steps ?? 300,
      batchSize: opts.batchSize ?? 32,
      seed: opts.seed,
      loss: (out, target) => mseLoss(out, target),
      log: opts.log,
      label: 'autoencoder',
    },
  );
}

/** Options of runAnomalyDemo. */
export interface AnomalyDemoOptions {
  normalClass?: number;
  method?: 'ae' | 'knn' | 'both';
  trainSteps?: number;
  /** Test images (from the 1,000-image embedded test split). */
  numTest?: number;
  k?: number;
  seed?: number;
  /** Figure path: test images, AE error maps and feature-kNN maps (omit for none). */
  out?: string;
  log?: (s: string) => void;
}

function split(train: boolean, n: number): { x: Tensor; y: Int32Array; labels: Tensor } {
  const { x, y } = fashionImages({ train, limit: n });
  return { x, y: Int32Array.from(y.dataView()), labels: y };
}

function pick(x: Tensor, idx: readonly number[]): Tensor {
  return x.indexSelect(0, new Tensor(Int32Array.from(idx), [idx.length], 'int32'));
}

/** The feature CNN of method (b); layer '4' is the 32×14×14 map used for pixel maps, '8' the 64-d penultimate features. */
export function featureCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(32 * 7 * 7, 64),
    new nn.ReLU(),
    new nn.Linear(64, 10),
  );
}

/** Runs the experiment; returns AUROC per method and the scores. */
export async function runAnomalyDemo(
  opts: AnomalyDemoOptions = {},
): Promise<{ auroc: Record<string, number>; labels: Uint8Array; scores: Record<string, Float32Array> }> {
  const normal = opts.normalClass ?? 7;
  if (!Number.isInteger(normal) || normal < 0 || normal > 9)
    throw new Error(`anomaly: the normal class must be 0..9 (${FashionMNIST.classes.join(', ')}), got ${normal}`);
  const method = opts.method ?? 'both';
  if (!['ae', 'knn', 'both'].includes(method))
    throw new Error(`anomaly: method must be ae, knn or both, got '${method}'`);
  const log = opts.log ?? (() => {});
  const steps = opts.trainSteps ?? 300;
  manualSeed(opts.seed ?? 0);
  const train = split(true, 6000),
    test = split(false, opts.numTest ?? 400);
  const normalIdx = [...train.y.keys()].filter((i) => train.y[i] === normal);
  const xNormal = pick(train.x, normalIdx);
  const labels = Uint8Array.from(test.y, (c) => (c === normal ? 0 : 1));
  log(
    `normal class ${normal} (${FashionMNIST.classes[normal]}): ${normalIdx.length} training images; ${labels.length} test images, ${labels.reduce((s, v) => s + v, 0)} anomalies`,
  );
  const result: Record<string, number> = {};
  const scores: Record<string, Float32Array> = {};
  let aeMaps: Tensor | null = null,
    knnMaps: Tensor | null = null;
  if (method !== 'knn') {
    const ae = new ConvAutoencoder();
    await trainAutoencoder(ae, xNormal, { steps, seed: opts.seed, log });
    const r = reconstructionScores(ae, test.x);
    scores.autoencoder = r.scores;
    result.autoencoder = auroc(r.scores, labels);
    aeMaps = r.maps;
  }
  if (method !== 'ae') {
    const cnn = featureCnn();
    await trainSteps(
      cnn,
      { x: train.x, y: train.labels },
      {
        optimizer: new Adam(cnn.parameters(), { lr: 2e-3 }),
        steps,
        batchSize: 64,
        replacement: true,
        seed: (opts.seed ?? 0) + 1,
        log,
        label: 'feature CNN',
      },
    );
    cnn.eval();
    const ref = extractFeatures(cnn, xNormal, ['8']);
    const q = extractFeatures(cnn, test.x, ['8']);
    const s = knnScores(ref, q, opts.k ?? 2);
    scores.knn = s;
    result.knn = auroc(s, labels);
    if (opts.out) {
      const show = exampleIndices(test.y, normal);
      knnMaps = featureAnomalyMaps(
        cnn,
        pick(
          xNormal,
          Array.from({ length: Math.min(200, normalIdx.length) }, (_, i) => i),
        ),
        pick(test.x, show),
        '4',
        { kImages: 10 },
      );
    }
  }
  for (const [k, v] of Object.entries(result)) log(`AUROC ${k}: ${v.toFixed(4)}`);
  if (method !== 'ae')
    log(
      'note: the feature CNN was trained with labels of all ten classes (PANDA uses ImageNet features); the autoencoder saw normal images only',
    );
  if (opts.out) {
    const show = exampleIndices(test.y, normal);
    const rows: Tensor[] = [];
    const up = (t: Tensor): Tensor => upscaleNearest(t, 3);
    for (const i of show) rows.push(up(toRgbFloat(test.x.select(0, i).contiguous())));
    if (aeMaps)
      for (const i of show)
        rows.push(up(applyColormap(aeMaps.select(0, i).contiguous(), { cmap: 'inferno', vmin: 0, vmax: 0.6 })));
    if (knnMaps) {
      let hi = 0;
      for (const v of knnMaps.dataView()) hi = Math.max(hi, v);
      show.forEach((_, j) =>
        rows.push(up(applyColormap(knnMaps!.select(0, j).contiguous(), { cmap: 'inferno', vmin: 0, vmax: hi }))),
      );
    }
    const labelsText = rows.map((_, j) => {
      const i = show[j % show.length];
      const row = Math.floor(j / show.length);
      return row === 0 ? FashionMNIST.classes[test.y[i]].slice(0, 12) : row === 1 && aeMaps ? 'AE error' : 'kNN map';
    });
    writeImage(opts.out, makeGrid(rows, { nrow: show.length, padValue: 1, labels: labelsText }));
  }
  return { auroc: result, labels, scores };
}

/** Two normal test images and one of each other class (up to 8 columns). */
function exampleIndices(y: Int32Array, normal: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < y.length && out.length < 2; i++) if (y[i] === normal) out.push(i);
  const seen = new Set<number>();
  for (let i = 0; i < y.length && out.length < 8; i++)
    if (y[i] !== normal && !seen.has(y[i])) {
      seen.add(y[i]);
      out.push(i);
    }
  return out;
}
