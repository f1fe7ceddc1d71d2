/**
 * YOLOv1 (Redmon, Divvala, Girshick, Farhadi: "You Only Look Once: Unified, Real-Time Object Detection", CVPR 2016):
 * the image is divided into an S × S grid; the cell that contains an object's centre detects it. Each cell
 * predicts B boxes (x, y relative to the cell, √w, √h relative to the image, and a confidence) and one set of C
 * class probabilities, all from one forward pass: a 24-layer convolutional network and two fully connected layers.
 */
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { LeakyReLU } from '../nn/activation.js';
import { MaxPool2d } from '../nn/pooling.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten, Linear } from '../nn/linear.js';
import type { AnyModule } from '../nn/module.js';
import { batchedNms } from '../ops/boxes.js';
import { mul, square, sub } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Options of YOLOv1. */
export interface YoloV1Options {
  /** Classes C (default 20, PASCAL VOC). */
  numClasses?: number;
  /** Grid size S (default 7). */
  gridSize?: number;
  /** Boxes per cell B (default 2). */
  boxesPerCell?: number;
  /** Input height and width, a multiple of 64 (default 448, as the paper's detection network). */
  imageSize?: number;
  /** Units of the first fully connected layer (default 4096). */
  hidden?: number;
  /** Dropout after the first fully connected layer (default 0.5). */
  dropout?: number;
}

/** One layer of a YOLOv1 feature stack: [kernel, out channels, stride] of a conv, or 'M' for 2×2 max pooling. */
export type YoloLayer = [number, number, number] | 'M';

/** The paper's Figure 3: 24 convolutional layers with 1×1 reduction layers between 3×3 ones. */
const YOLO_V1_LAYERS: YoloLayer[] = [
  [7, 64, 2],
  'M',
  [3, 192, 1],
  'M',
  [1, 128, 1],
  [3, 256, 1],
  [1, 256, 1],
  [3, 512, 1],
  'M',
  [1, 256, 1],
  [3, 512, 1],
  [1, 256, 1],
  [3, 512, 1],
  [1, 256, 1],
  [3, 512, 1],
  [1, 256, 1],
  [3, 512, 1],
  [1, 512, 1],
  [3, 1024, 1],
  'M',
  [1, 512, 1],
  [3, 1024, 1],
  [1, 512, 1],
  [3, 1024, 1],
  [3, 1024, 1],
  [3, 1024, 2],
  [3, 1024, 1],
  [3, 1024, 1],
];

/**
 * Fast-YOLO-sized variant for CPU training: 9 convolutional layers (the paper's Fast YOLO count) with
 * 16 → 1024 filters as in darknet's tiny configuration; the filter counts are this implementation's choice.
 */
const FAST_YOLO_LAYERS: YoloLayer[] = [
  [3, 16, 1],
  'M',
  [3, 32, 1],
  'M',
  [3, 64, 1],
  'M',
  [3, 128, 1],
  'M',
  [3, 256, 1],
  'M',
  [3, 512, 1],
  'M',
  [3, 1024, 1],
  [3, 256, 1],
  [3, 256, 1],
];

/**
 * YOLOv1: `features` (conv layers, leaky ReLU 0.1) and `head` (flatten → Linear(hidden) → leaky ReLU → dropout →
 * Linear(S·S·(5B + C))). forward(x [N, 3, H, W]) → [N, S, S, 5B + C]: per cell, B × (x, y, √w, √h, confidence)
 * then C class scores, all linear (the paper's last layer). Use `yoloV1Loss` to train and `decodeYoloV1` to detect.
 */
export class YoloV1 extends Module {
  readonly features: Sequential;
  readonly head: Sequential;
  readonly numClasses: number;
  readonly gridSize: number;
  readonly boxesPerCell: number;
  readonly imageSize: number;

  constructor(layers: readonly YoloLayer[], opts: YoloV1Options = {}) {
    super();
    this.numClasses = opts.numClasses ?? 20;
    this.gridSize = opts.gridSize ?? 7;
    this.boxesPerCell = opts.boxesPerCell ?? 2;
    this.imageSize = opts.imageSize ?? 448;
    const stride = layers.reduce((s, l) => s * (l === 'M' ? 2 : l[2]), 1);
    if (!Number.isInteger(this.imageSize / stride) || this.imageSize < stride) {
      throw new Error(`YoloV1: imageSize must be a multiple of the network stride ${stride}, got ${this.imageSize}`);
    }
    const mods: AnyModule[] = [];
    let c = 3;
    for (const l of layers) {
      if (l === 'M') mods.push(new MaxPool2d(2, { stride: 2 }));
      else {
        mods.push(new Conv2d(c, l[1], l[0], { stride: l[2], padding: Math.floor(l[0] / 2) }), new LeakyReLU(0.1));
        c = l[1];
      }
    }
    this.features = new Sequential(...mods);
    const side = this.imageSize / stride;
    const hidden = opts.hidden ?? 4096;
    const out = this.gridSize * this.gridSize * (5 * this.boxesPerCell + this.numClasses);
    this.head = new Sequential(
      new Flatten(),
      new Linear(c * side * side, hidden),
      new LeakyReLU(0.1),
      new Dropout(opts.dropout ?? 0.5),
      new Linear(hidden, out),
    );
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[2] !== this.imageSize || x.shape[3] !== this.imageSize) {
      throw new Error(
        `YoloV1: expected input [N, 3, ${this.imageSize}, ${this.imageSize}], got ${formatShape(x.shape)}`,
      );
    }
    const y = this.head.forward(this.features.forward(x));
    return reshape(y, x.shape[0], this.gridSize, this.gridSize, 5 * this.boxesPerCell + this.numClasses);
  }
}

/** The paper's detection network: 24 convolutional layers + 2 fully connected (7 × 7 × 30 output for VOC). */
export function yolov1(opts: YoloV1Options = {}): YoloV1 {
  return new YoloV1(YOLO_V1_LAYERS, opts);
}

/** Fast YOLO-sized YOLOv1 (9 convolutional layers, stride 64) for small images on a CPU. */
export function fastYolov1(opts: YoloV1Options = {}): YoloV1 {
  return new YoloV1(FAST_YOLO_LAYERS, { hidden: 512, ...opts });
}

/** Ground truth of one image for YOLOv1: xyxy pixel boxes and 0-based class indices. */
export interface YoloTarget {
  boxes: Tensor;
  labels: Tensor;
}

/** Options of yoloV1Loss. */
export interface YoloV1LossOptions {
  /** Image [height, width] the target boxes are in (pixels). */
  imageSize: readonly [number, number];
  numClasses: number;
  boxesPerCell?: number;
  /** λ_coord (default 5). */
  lambdaCoord?: number;
  /** λ_noobj (default 0.5). */
  lambdaNoobj?: number;
  /** 'mean' over images (default) or 'sum' (the paper's). */
  reduction?: 'mean' | 'sum';
}

/** The loss and its five terms (already weighted), as numbers for logging. */
export interface YoloV1LossResult {
  loss: Tensor;
  coord: number;
  size: number;
  object: number;
  noObject: number;
  classes: number;
}

function iouXywh(a: readonly number[], b: readonly number[]): number {
  const ix = Math.max(0, Math.min(a[0] + a[2] / 2, b[0] + b[2] / 2) - Math.max(a[0] - a[2] / 2, b[0] - b[2] / 2));
  const iy = Math.max(0, Math.min(a[1] + a[3] / 2, b[1] + b[3] / 2) - Math.max(a[1] - a[3] / 2, b[1] - b[3] / 2));
  const inter = ix * iy;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * The YOLOv1 sum-squared loss (the paper's equation 3) for predictions [N, S, S, 5B + C]:
 * λ_coord Σ 1obj [(x − x̂)² + (y − ŷ)² + (√w − √ŵ)² + (√h − √ĥ)²] + Σ 1obj (C − Ĉ)² + λ_noobj Σ 1noobj C²
 * + Σ_cells-with-object Σ_c (p(c) − p̂(c))². The predictor "responsible" for an object is the one of its cell whose
 * current box has the highest IoU with it; its confidence target is that IoU (held constant), every other
 * predictor's is 0. A cell holds one object: when several centres fall into one cell the largest object is kept.
 */
export function yoloV1Loss(pred: Tensor, targets: readonly YoloTarget[], opts: YoloV1LossOptions): YoloV1LossResult {
  const B = opts.boxesPerCell ?? 2;
  const C = opts.numClasses;
  const lc = opts.lambdaCoord ?? 5;
  const ln = opts.lambdaNoobj ?? 0.5;
  const [n, S, S2, D] = pred.shape;
  if (pred.shape.length !== 4 || S !== S2 || D !== 5 * B + C) {
    throw new Error(`yoloV1Loss: predictions must be [N, S, S, 5·${B} + ${C}], got ${formatShape(pred.shape)}`);
  }
  if (targets.length !== n) throw new Error(`yoloV1Loss: ${n} predictions but ${targets.length} targets`);
  const [H, W] = opts.imageSize;
  const p = pred.dataView();
  const target = new Float64Array(p.length);
  const weight = new Float64Array(p.length);
  // Which term each slot belongs to: 1 coord, 2 size, 3 object confidence, 4 no-object confidence, 5 class.
  const kind = new Uint8Array(p.length);
  const terms = { coord: 0, size: 0, object: 0, noObject: 0, classes: 0 };
  for (let b = 0; b < n; b++) {
    const { boxes, labels } = targets[b];
    const bx = boxes.dataView();
    const lb = labels.dataView();
    const k = boxes.shape[0];
    // Cell → object (largest wins).
    const owner = new Map<number, number>();
    for (let j = 0; j < k; j++) {
      const cls = lb[j];
      if (!Number.isInteger(cls) || cls < 0 || cls >= C)
        throw new Error(`yoloV1Loss: label ${cls} of image ${b} is outside [0, ${C})`);
      const cx = (bx[4 * j] + bx[4 * j + 2]) / 2 / W;
      const cy = (bx[4 * j + 1] + bx[4 * j + 3]) / 2 / H;
      const col = Math.min(S - 1, Math.max(0, Math.floor(cx * S)));
      const row = Math.min(S - 1, Math.max(0, Math.floor(cy * S)));
      const cell = row * S + col;
      const area = (bx[4 * j + 2] - bx[4 * j]) * (bx[4 * j + 3] - bx[4 * j + 1]);
      const prev = owner.get(cell);
      if (prev === undefined || area > (bx[4 * prev + 2] - bx[4 * prev]) * (bx[4 * prev + 3] - bx[4 * prev + 1]))
        owner.set(cell, j);
    }
    for (let cell = 0; cell < S * S; cell++) {
      const base = (b * S * S + cell) * D;
      const j = owner.get(cell);
      if (j === undefined) {
        for (let q = 0; q < B; q++) {
          weight[base + 5 * q + 4] = ln;
          kind[base + 5 * q + 4] = 4;
        }
        continue;
      }
      const row = Math.floor(cell / S),
        col = cell % S;
      const gw = (bx[4 * j + 2] - bx[4 * j]) / W;
      const gh = (bx[4 * j + 3] - bx[4 * j + 1]) / H;
      const gx = ((bx[4 * j] + bx[4 * j + 2]) / 2 / W) * S - col;
      const gy = ((bx[4 * j + 1] + bx[4 * j + 3]) / 2 / H) * S - row;
      // IoU of each predictor's current box with the object, in image-normalised centre form.
      const gBox = [(col + gx) / S, (row + gy) / S, gw, gh];
      let best = 0,
        bestIou = -1;
      const ious: number[] = [];
      for (let q = 0; q < B; q++) {
        const o = base + 5 * q;
        const pw = p[o + 2] * p[o + 2],
          ph = p[o + 3] * p[o + 3];
        const iou = iouXywh([(col + p[o]) / S, (row + p[o + 1]) / S, pw, ph], gBox);
        ious.push(iou);
        if (iou > bestIou) {
          bestIou = iou;
          best = q;
        }
      }
      for (let q = 0; q < B; q++) {
        const o = base + 5 * q;
        if (q === best) {
          target.set([gx, gy, Math.sqrt(Math.max(gw, 0)), Math.sqrt(Math.max(gh, 0)), ious[q]], o);
          weight.set([lc, lc, lc, lc, 1], o);
          kind.set([1, 1, 2, 2, 3], o);
        } else {
          weight[o + 4] = ln;
          kind[o + 4] = 4;
        }
      }
      for (let c = 0; c < C; c++) {
        target[base + 5 * B + c] = c === lb[j] ? 1 : 0;
        weight[base + 5 * B + c] = 1;
        kind[base + 5 * B + c] = 5;
      }
    }
  }
  // Term values for logging, from the same weights.
  const acc = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < p.length; i++) if (kind[i]) acc[kind[i]] += weight[i] * (p[i] - target[i]) ** 2;
  [terms.coord, terms.size, terms.object, terms.noObject, terms.classes] = acc.slice(1);
  const scale = (opts.reduction ?? 'mean') === 'mean' ? 1 / Math.max(n, 1) : 1;
  const t = tensor(target, pred.shape, { dtype: pred.dtype });
  const w = tensor(
    weight.map((v) => v * scale),
    pred.shape,
    { dtype: pred.dtype },
  );
  const loss = sum(mul(square(sub(pred, t)), w));
  return {
    loss,
    coord: terms.coord * scale,
    size: terms.size * scale,
    object: terms.object * scale,
    noObject: terms.noObject * scale,
    classes: terms.classes * scale,
  };
}

/** Options of decodeYoloV1. */
export interface DecodeYoloV1Options {
  imageSize: readonly [number, number];
  numClasses: number;
  boxesPerCell?: number;
  /** Minimum class-specific confidence conf · p(class) (default 0.2). */
  scoreThreshold?: number;
  /** Per-class NMS IoU threshold (default 0.5). */
  nmsThreshold?: number;
}

/**
 * Detections from YOLOv1 predictions [N, S, S, 5B + C]: every predictor gives a box with the class of highest p(c)
 * and the class-specific confidence conf · p(c) (the paper's test-time score); boxes above the threshold go
 * through per-class NMS. Returns per image xyxy pixel boxes (clipped to the image), scores and 0-based labels.
 */
export function decodeYoloV1(
  pred: Tensor,
  opts: DecodeYoloV1Options,
): { boxes: Tensor; scores: Tensor; labels: Tensor }[] {
  const B = opts.boxesPerCell ?? 2;
  const C = opts.numClasses;
  const [n, S, , D] = pred.shape;
  if (pred.shape.length !== 4 || D !== 5 * B + C)
    throw new Error(`decodeYoloV1: predictions must be [N, S, S, 5·${B} + ${C}], got ${formatShape(pred.shape)}`);
  const [H, W] = opts.imageSize;
  const thr = opts.scoreThreshold ?? 0.2;
  const p = pred.dataView();
  const out: { boxes: Tensor; scores: Tensor; labels: Tensor }[] = [];
  for (let b = 0; b < n; b++) {
    const boxes: number[] = [];
    const scores: number[] = [];
    const labels: number[] = [];
    for (let cell = 0; cell < S * S; cell++) {
      const base = (b * S * S + cell) * D;
      const row = Math.floor(cell / S),
        col = cell % S;
      let cls = 0;
      for (let c = 1; c < C; c++) if (p[base + 5 * B + c] > p[base + 5 * B + cls]) cls = c;
      for (let q = 0; q < B; q++) {
        const o = base + 5 * q;
        const score = p[o + 4] * p[base + 5 * B + cls];
        if (!(score > thr)) continue;
        const cx = ((col + p[o]) / S) * W,
          cy = ((row + p[o + 1]) / S) * H;
        const w = p[o + 2] * p[o + 2] * W,
          h = p[o + 3] * p[o + 3] * H;
        const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
        boxes.push(clip(cx - w / 2, W), clip(cy - h / 2, H), clip(cx + w / 2, W), clip(cy + h / 2, H));
        scores.push(score);
        labels.push(cls);
      }
    }
    const bt = tensor(Float32Array.from(boxes), [scores.length, 4]);
    const st = tensor(Float32Array.from(scores), [scores.length]);
    const lt = tensor(Int32Array.from(labels), [labels.length], { dtype: 'int32' });
    const keep = batchedNms(bt, st, lt, opts.nmsThreshold ?? 0.5);
    out.push({ boxes: bt.indexSelect(0, keep), scores: st.indexSelect(0, keep), labels: lt.indexSelect(0, keep) });
  }
  return out;
}
