/**
 * YOLOX (Ge, Liu, Wang, Li, Sun: "YOLOX: Exceeding YOLO Series in 2021", arXiv:2107.08430): an anchor-free
 * one-stage YOLO. CSPDarknet backbone (Focus stem, CSP stages, SPP) → PAFPN neck → one decoupled head per stride
 * (8, 16, 32) that predicts, at every grid location, a box (centre offset and log size in strides), an objectness
 * logit and class logits. Training assigns locations to objects with SimOTA (`yolox-loss.ts`).
 *
 * Module names follow the authors' Megvii-BaseDetection/YOLOX code (backbone.backbone.dark3 …, head.cls_preds.0 …)
 * so that a state dict converted from their checkpoints lines up. Inputs, targets and outputs follow Tatami's
 * torchvision-style detectors: `forward(images, targets)` in training mode returns a loss dict, in eval mode
 * `{ boxes (xyxy pixels), scores, labels }` per image; labels are 1-based (0 is background, never predicted), so
 * `numClasses` counts the background as torchvision's does and the head has numClasses − 1 class outputs.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { SiLU } from '../nn/activation.js';
import { ModuleList, Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { constant_ } from '../nn/init.js';
import { batchedNms } from '../ops/boxes.js';
import { add, div, sub } from '../ops/elementwise.js';
import { interpolate } from '../ops/interpolate.js';
import { pad } from '../ops/pad.js';
import { maxPool2d } from '../ops/pool.js';
import { cat, reshape, slice } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms.js';
import type { Detections } from './detection/roi-heads.js';
import type { DetectionTrainTarget } from './detection/rpn.js';
import { checkTargets } from './detection/one-stage.js';
import { yoloxLoss, type YoloxLossOptions } from './yolox-loss.js';

/** Conv (no bias) → BatchNorm (YOLOX's eps 1e-3, momentum 0.03) → SiLU: YOLOX's BaseConv. */
export class BaseConv extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  act: SiLU;
  constructor(inChannels: number, outChannels: number, kernel: number, stride = 1, groups = 1) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernel, {
      stride,
      padding: (kernel - 1) >> 1,
      groups,
      bias: false,
    });
    this.bn = new BatchNorm2d(outChannels, { eps: 1e-3, momentum: 0.03 });
    this.act = new SiLU();
  }
  forward(x: Tensor): Tensor {
    return this.act.forward(this.bn.forward(this.conv.forward(x)));
  }
}

/** Depthwise k×k BaseConv then pointwise 1×1 BaseConv (YOLOX-Nano's convolutions). */
export class DWConv extends Module {
  dconv: BaseConv;
  pconv: BaseConv;
  constructor(inChannels: number, outChannels: number, kernel: number, stride = 1) {
    super();
    this.dconv = new BaseConv(inChannels, inChannels, kernel, stride, inChannels);
    this.pconv = new BaseConv(inChannels, outChannels, 1);
  }
  forward(x: Tensor): Tensor {
    return this.pconv.forward(this.dconv.forward(x));
  }
}

type ConvFactory = (inChannels: number, outChannels: number, kernel: number, stride?: number) => AnyModule;
const convOf = (depthwise: boolean): ConvFactory =>
  depthwise ? (i, o, k, s = 1) => new DWConv(i, o, k, s) : (i, o, k, s = 1) => new BaseConv(i, o, k, s);

/** 1×1 then 3×3, with a residual when `shortcut` and the channel counts agree (CSP's standard bottleneck). */
export class Bottleneck extends Module {
  conv1: BaseConv;
  conv2: AnyModule;
  readonly useAdd: boolean;
  constructor(inChannels: number, outChannels: number, shortcut = true, expansion = 0.5, depthwise = false) {
    super();
    const hidden = Math.floor(outChannels * expansion);
    this.conv1 = new BaseConv(inChannels, hidden, 1);
    this.conv2 = convOf(depthwise)(hidden, outChannels, 3, 1);
    this.useAdd = shortcut && inChannels === outChannels;
  }
  forward(x: Tensor): Tensor {
    const y = this.conv2.forward(this.conv1.forward(x)) as Tensor;
    return this.useAdd ? add(y, x) : y;
  }
}

/** Cross Stage Partial layer (YOLOv5's C3): two 1×1 branches, n bottlenecks on one, concatenated, fused by a 1×1. */
export class CSPLayer extends Module {
  conv1: BaseConv;
  conv2: BaseConv;
  conv3: BaseConv;
  m: Sequential;
  constructor(inChannels: number, outChannels: number, n = 1, shortcut = true, expansion = 0.5, depthwise = false) {
    super();
    const hidden = Math.floor(outChannels * expansion);
    this.conv1 = new BaseConv(inChannels, hidden, 1);
    this.conv2 = new BaseConv(inChannels, hidden, 1);
    this.conv3 = new BaseConv(2 * hidden, outChannels, 1);
    this.m = new Sequential(
      ...Array.from({ length: n }, () => new Bottleneck(hidden, hidden, shortcut, 1.0, depthwise)),
    );
  }
  forward(x: Tensor): Tensor {
    const a = this.m.forward(this.conv1.forward(x));
    return this.conv3.forward(cat([a, this.conv2.forward(x)], 1));
  }
}

/** Spatial pyramid pooling (YOLOv3-SPP): max pools of 5, 9, 13 at stride 1 concatenated with their input. */
export class SPPBottleneck extends Module {
  conv1: BaseConv;
  conv2: BaseConv;
  readonly kernelSizes: readonly number[];
  constructor(inChannels: number, outChannels: number, kernelSizes: readonly number[] = [5, 9, 13]) {
    super();
    const hidden = Math.floor(inChannels / 2);
    this.conv1 = new BaseConv(inChannels, hidden, 1);
    this.conv2 = new BaseConv(hidden * (kernelSizes.length + 1), outChannels, 1);
    this.kernelSizes = kernelSizes.slice();
  }
  forward(x: Tensor): Tensor {
    const y = this.conv1.forward(x);
    const pooled = this.kernelSizes.map((k) => maxPool2d(y, k, { stride: 1, padding: k >> 1 }));
    return this.conv2.forward(cat([y, ...pooled], 1));
  }
}

/** Space-to-depth (each 2×2 patch's four pixels become channels), then a BaseConv: YOLOX's stem. */
export class Focus extends Module {
  conv: BaseConv;
  constructor(inChannels: number, outChannels: number, kernel = 1) {
    super();
    this.conv = new BaseConv(inChannels * 4, outChannels, kernel);
  }
  forward(x: Tensor): Tensor {
    const even = slice(x, 2, 0, null, 2);
    const odd = slice(x, 2, 1, null, 2);
    // The authors' order: top-left, bottom-left, top-right, bottom-right.
    const tl = slice(even, 3, 0, null, 2),
      tr = slice(even, 3, 1, null, 2),
      bl = slice(odd, 3, 0, null, 2),
      br = slice(odd, 3, 1, null, 2);
    return this.conv.forward(cat([tl, bl, tr, br], 1));
  }
}

/** CSPDarknet: Focus stem and four stride-2 stages; returns dark3, dark4, dark5 (strides 8, 16, 32). */
export class CSPDarknet extends Module<[Tensor], [Tensor, Tensor, Tensor]> {
  stem: Focus;
  dark2: Sequential;
  dark3: Sequential;
  dark4: Sequential;
  dark5: Sequential;
  constructor(depth: number, width: number, depthwise = false) {
    super();
    const Conv = convOf(depthwise);
    const c = Math.floor(width * 64);
    const d = Math.max(Math.round(depth * 3), 1);
    this.stem = new Focus(3, c, 3);
    this.dark2 = new Sequential(Conv(c, 2 * c, 3, 2), new CSPLayer(2 * c, 2 * c, d, true, 0.5, depthwise));
    this.dark3 = new Sequential(Conv(2 * c, 4 * c, 3, 2), new CSPLayer(4 * c, 4 * c, 3 * d, true, 0.5, depthwise));
    this.dark4 = new Sequential(Conv(4 * c, 8 * c, 3, 2), new CSPLayer(8 * c, 8 * c, 3 * d, true, 0.5, depthwise));
    this.dark5 = new Sequential(
      Conv(8 * c, 16 * c, 3, 2),
      new SPPBottleneck(16 * c, 16 * c),
      new CSPLayer(16 * c, 16 * c, d, false, 0.5, depthwise),
    );
  }
  forward(x: Tensor): [Tensor, Tensor, Tensor] {
    const x2 = this.dark2.forward(this.stem.forward(x));
    const x3 = this.dark3.forward(x2);
    const x4 = this.dark4.forward(x3);
    return [x3, x4, this.dark5.forward(x4)];
  }
}

const up2 = (x: Tensor): Tensor => interpolate(x, { scaleFactor: 2, mode: 'nearest' });

/** Path-aggregation FPN over CSPDarknet: top-down then bottom-up CSP fusion; outputs at strides 8, 16, 32. */
export class YOLOPAFPN extends Module<[Tensor], [Tensor, Tensor, Tensor]> {
  backbone: CSPDarknet;
  lateral_conv0: BaseConv;
  C3_p4: CSPLayer;
  reduce_conv1: BaseConv;
  C3_p3: CSPLayer;
  bu_conv2: AnyModule;
  C3_n3: CSPLayer;
  bu_conv1: AnyModule;
  C3_n4: CSPLayer;
  /** Output channels at strides 8, 16, 32. */
  readonly outChannels: [number, number, number];
  constructor(depth: number, width: number, depthwise = false) {
    super();
    this.backbone = new CSPDarknet(depth, width, depthwise);
    const Conv = convOf(depthwise);
    const [c3, c4, c5] = [256, 512, 1024].map((c) => Math.floor(c * width));
    const n = Math.round(3 * depth);
    this.lateral_conv0 = new BaseConv(c5, c4, 1);
    this.C3_p4 = new CSPLayer(2 * c4, c4, n, false, 0.5, depthwise);
    this.reduce_conv1 = new BaseConv(c4, c3, 1);
    this.C3_p3 = new CSPLayer(2 * c3, c3, n, false, 0.5, depthwise);
    this.bu_conv2 = Conv(c3, c3, 3, 2);
    this.C3_n3 = new CSPLayer(2 * c3, c4, n, false, 0.5, depthwise);
    this.bu_conv1 = Conv(c4, c4, 3, 2);
    this.C3_n4 = new CSPLayer(2 * c4, c5, n, false, 0.5, depthwise);
    this.outChannels = [c3, c4, c5];
  }
  forward(x: Tensor): [Tensor, Tensor, Tensor] {
    const [x2, x1, x0] = this.backbone.forward(x);
    const fpnOut0 = this.lateral_conv0.forward(x0);
    const fOut0 = this.C3_p4.forward(cat([up2(fpnOut0), x1], 1));
    const fpnOut1 = this.reduce_conv1.forward(fOut0);
    const panOut2 = this.C3_p3.forward(cat([up2(fpnOut1), x2], 1));
    const panOut1 = this.C3_n3.forward(cat([this.bu_conv2.forward(panOut2) as Tensor, fpnOut1], 1));
    const panOut0 = this.C3_n4.forward(cat([this.bu_conv1.forward(panOut1) as Tensor, fpnOut0], 1));
    return [panOut2, panOut1, panOut0];
  }
}

/**
 * YOLOX's decoupled head: per level a 1×1 stem, then two 3×3 convs for classification and two for regression;
 * the regression branch also predicts objectness. Each level returns [N, 4 + 1 + C, H, W] raw outputs
 * (dx, dy, log w, log h in strides; objectness logit; C class logits).
 */
export class YOLOXHead extends Module<[readonly Tensor[]], Tensor[]> {
  stems: ModuleList;
  cls_convs: ModuleList;
  reg_convs: ModuleList;
  cls_preds: ModuleList;
  reg_preds: ModuleList;
  obj_preds: ModuleList;
  readonly numClasses: number;
  constructor(numClasses: number, width: number, inChannels: readonly number[], depthwise = false, priorProb = 0.01) {
    super();
    const Conv = convOf(depthwise);
    const h = Math.floor(256 * width);
    this.numClasses = numClasses;
    const bias = -Math.log((1 - priorProb) / priorProb);
    const pred = (out: number, b: number | null) => {
      const conv = new Conv2d(h, out, 1);
      // The paper's prior: objectness and class scores start at 0.01 (RetinaNet's focal-loss initialisation).
      if (b !== null) constant_(conv.bias!, b);
      return conv;
    };
    this.stems = new ModuleList(inChannels.map((c) => new BaseConv(c, h, 1)));
    this.cls_convs = new ModuleList(inChannels.map(() => new Sequential(Conv(h, h, 3), Conv(h, h, 3))));
    this.reg_convs = new ModuleList(inChannels.map(() => new Sequential(Conv(h, h, 3), Conv(h, h, 3))));
    this.cls_preds = new ModuleList(inChannels.map(() => pred(numClasses, bias)));
    this.reg_preds = new ModuleList(inChannels.map(() => pred(4, null)));
    this.obj_preds = new ModuleList(inChannels.map(() => pred(1, bias)));
  }
  forward(features: readonly Tensor[]): Tensor[] {
    const at = (list: ModuleList, i: number) => list.at(i);
    return features.map((f, i) => {
      const x = at(this.stems, i).forward(f) as Tensor;
      const clsFeat = at(this.cls_convs, i).forward(x) as Tensor;
      const regFeat = at(this.reg_convs, i).forward(x) as Tensor;
      return cat(
        [
          at(this.reg_preds, i).forward(regFeat) as Tensor,
          at(this.obj_preds, i).forward(regFeat) as Tensor,
          at(this.cls_preds, i).forward(clsFeat) as Tensor,
        ],
        1,
      );
    });
  }
}

/** Options of YOLOX. */
export interface YOLOXOptions extends YoloxLossOptions {
  /** Classes including the background, as torchvision's detectors count them (default 81: COCO's 80 + 1). */
  numClasses?: number;
  /** Depth multiplier (bottlenecks per CSP layer; default 0.33). */
  depth?: number;
  /** Width multiplier (channels; default 0.25). */
  width?: number;
  /** Depthwise-separable 3×3 convs (YOLOX-Nano; default false). */
  depthwise?: boolean;
  /** Per-channel normalisation of the [0, 1] input (default ImageNet's). */
  imageMean?: readonly number[];
  imageStd?: readonly number[];
  /** Eval: minimum score obj · p(class) (default 0.01, YOLOX's COCO evaluation setting). */
  scoreThresh?: number;
  /** Eval: class-wise NMS IoU threshold (default 0.65, YOLOX's). */
  nmsThresh?: number;
  /** Eval: detections kept per image (default 100). */
  detectionsPerImg?: number;
}

/** Strides of the three head levels. */
export const YOLOX_STRIDES = [8, 16, 32] as const;

/**
 * YOLOX: PAFPN (with its CSPDarknet) and the decoupled head. Input: images [3, H, W] in [0, 1] (a list, or one
 * [N, 3, H, W] batch); they are normalised and padded bottom-right to a multiple of 32. Training mode:
 * `forward(images, targets)` → `{ bbox_regression, objectness, classification }` (sum them to train); eval mode →
 * per image `{ boxes, scores, labels }`, boxes in the input's pixels.
 */
export class YOLOX extends Module<
  [readonly Tensor[] | Tensor, (readonly DetectionTrainTarget[])?],
  Detections[] | Record<string, Tensor>
> {
  backbone: YOLOPAFPN;
  head: YOLOXHead;
  readonly numClasses: number;
  readonly imageMean: number[];
  readonly imageStd: number[];
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly lossOptions: YoloxLossOptions;

  constructor(opts: YOLOXOptions = {}) {
    super();
    this.numClasses = opts.numClasses ?? 81;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 2)
      throw new Error(`YOLOX: numClasses (including background) must be an integer ≥ 2, got ${opts.numClasses}`);
    const depth = opts.depth ?? 0.33;
    const width = opts.width ?? 0.25;
    if (!(depth > 0 && width > 0)) throw new Error(`YOLOX: depth and width must be positive, got ${depth}, ${width}`);
    this.backbone = new YOLOPAFPN(depth, width, opts.depthwise ?? false);
    this.head = new YOLOXHead(this.numClasses - 1, width, this.backbone.outChannels, opts.depthwise ?? false);
    this.imageMean = (opts.imageMean ?? IMAGENET_MEAN).slice();
    this.imageStd = (opts.imageStd ?? IMAGENET_STD).slice();
    this.scoreThresh = opts.scoreThresh ?? 0.01;
    this.nmsThresh = opts.nmsThresh ?? 0.65;
    this.detectionsPerImg = opts.detectionsPerImg ?? 100;
    this.lossOptions = {
      centerRadius: opts.centerRadius,
      regWeight: opts.regWeight,
      iouType: opts.iouType,
      topkCandidates: opts.topkCandidates,
    };
  }

  /** Normalises and batches the images (padding bottom-right to a multiple of 32) → [N, 3, H, W]. */
  batchImages(images: readonly Tensor[] | Tensor): Tensor {
    const list = images instanceof Tensor ? null : images;
    if (images instanceof Tensor && (images.shape.length !== 4 || images.shape[1] !== 3))
      throw new Error(`YOLOX: expected a batch [N, 3, H, W], got ${formatShape(images.shape)}`);
    if (list) {
      if (list.length === 0) throw new Error('YOLOX: expected at least one image');
      list.forEach((im, i) => {
        if (im.shape.length !== 3 || im.shape[0] !== 3)
          throw new Error(`YOLOX: image ${i} must be [3, H, W], got ${formatShape(im.shape)}`);
      });
    }
    const batch = images instanceof Tensor ? images : null;
    const hs = list ? list.map((im) => im.shape[1]) : [batch!.shape[2]];
    const ws = list ? list.map((im) => im.shape[2]) : [batch!.shape[3]];
    const H = Math.ceil(Math.max(...hs) / 32) * 32,
      W = Math.ceil(Math.max(...ws) / 32) * 32;
    const mean = tensor(Float32Array.from(this.imageMean), [1, 3, 1, 1]);
    const std = tensor(Float32Array.from(this.imageStd), [1, 3, 1, 1]);
    const norm = (x: Tensor) => {
      const y = div(sub(x, mean), std);
      const ph = H - y.shape[2],
        pw = W - y.shape[3];
      return ph || pw ? pad(y, [0, pw, 0, ph]) : y;
    };
    if (!list) return norm(images as Tensor);
    return cat(
      list.map((im) => norm(reshape(im, [1, ...im.shape]))),
      0,
    );
  }

  forward(
    images: readonly Tensor[] | Tensor,
    targets?: readonly DetectionTrainTarget[],
  ): Detections[] | Record<string, Tensor> {
    if (this.training) {
      if (!targets) throw new Error('YOLOX: targets should be passed in training mode');
      checkTargets('YOLOX', targets);
      const n = images instanceof Tensor ? images.shape[0] : images.length;
      if (targets.length !== n) throw new Error(`YOLOX: got ${n} images but ${targets.length} targets`);
      const outputs = this.head.forward(this.backbone.forward(this.batchImages(images)));
      return yoloxLoss(outputs, YOLOX_STRIDES, targets, this.lossOptions);
    }
    return noGrad(() => {
      const sizes = images instanceof Tensor ? null : images.map((im) => [im.shape[1], im.shape[2]]);
      const outputs = this.head.forward(this.backbone.forward(this.batchImages(images)));
      return decodeYolox(outputs, YOLOX_STRIDES, {
        scoreThresh: this.scoreThresh,
        nmsThresh: this.nmsThresh,
        detectionsPerImg: this.detectionsPerImg,
        imageSizes: sizes ?? undefined,
      });
    });
  }
}

/** Options of decodeYolox. */
export interface DecodeYoloxOptions {
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  /** Per image [H, W]: boxes are clipped to it (default the padded input). */
  imageSizes?: readonly (readonly number[])[];
}

/**
 * Raw head outputs → detections (YOLOX's postprocess): each location's box is ((dx, dy) + cell) · stride and
 * exp(log w, log h) · stride; its score is σ(obj) · max σ(class) for that best class; scores below `scoreThresh`
 * are dropped, class-wise NMS, the best `detectionsPerImg` kept. Labels are 1-based.
 */
export function decodeYolox(
  outputs: readonly Tensor[],
  strides: readonly number[],
  opts: DecodeYoloxOptions = {},
): Detections[] {
  const scoreThresh = opts.scoreThresh ?? 0.01;
  const nmsThresh = opts.nmsThresh ?? 0.65;
  const keepMax = opts.detectionsPerImg ?? 100;
  const n = outputs[0].shape[0];
  const k = outputs[0].shape[1];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const result: Detections[] = [];
  for (let b = 0; b < n; b++) {
    const boxes: number[] = [],
      scores: number[] = [],
      labels: number[] = [];
    const size = opts.imageSizes?.[b] ?? [outputs[0].shape[2] * strides[0], outputs[0].shape[3] * strides[0]];
    outputs.forEach((o, l) => {
      const [, , h, w] = o.shape;
      const s = strides[l];
      const d = o.dataView();
      const base = b * k * h * w;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const p = y * w + x;
          const at = (c: number) => d[base + c * h * w + p];
          let best = 0;
          for (let c = 1; c < k - 5; c++) if (at(5 + c) > at(5 + best)) best = c;
          const score = sig(at(4)) * sig(at(5 + best));
          if (!(score >= scoreThresh)) continue;
          const cx = (at(0) + x) * s,
            cy = (at(1) + y) * s;
          const bw = Math.exp(at(2)) * s,
            bh = Math.exp(at(3)) * s;
          const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
          boxes.push(
            clip(cx - bw / 2, size[1]),
            clip(cy - bh / 2, size[0]),
            clip(cx + bw / 2, size[1]),
            clip(cy + bh / 2, size[0]),
          );
          scores.push(score);
          labels.push(best + 1);
        }
      }
    });
    const m = scores.length;
    const bt = tensor(Float32Array.from(boxes), [m, 4]);
    const st = tensor(Float32Array.from(scores), [m]);
    const lt = tensor(Int32Array.from(labels), [m], { dtype: 'int32' });
    const keep = Array.from(batchedNms(bt, st, lt, nmsThresh).dataView()).slice(0, keepMax);
    const bb = bt.dataView(),
      sv = st.dataView();
    result.push({
      boxes: tensor(Float32Array.from(keep.flatMap((i) => [bb[4 * i], bb[4 * i + 1], bb[4 * i + 2], bb[4 * i + 3]])), [
        keep.length,
        4,
      ]),
      scores: tensor(Float32Array.from(keep.map((i) => sv[i])), [keep.length]),
      labels: tensor(Int32Array.from(keep.map((i) => labels[i])), [keep.length], { dtype: 'int32' }),
    });
  }
  return result;
}

/** YOLOX with the given depth/width (numClasses counts the background). */
export function yolox(opts: YOLOXOptions = {}): YOLOX {
  return new YOLOX(opts);
}

/** YOLOX-Nano: depth 0.33, width 0.25, depthwise convs (the paper's 0.91 M parameters with 80 classes). */
export function yolox_nano(opts: Omit<YOLOXOptions, 'depth' | 'width' | 'depthwise'> = {}): YOLOX {
  return new YOLOX({ ...opts, depth: 0.33, width: 0.25, depthwise: true });
}

/** YOLOX-Tiny: depth 0.33, width 0.375 (the paper's 5.06 M parameters with 80 classes). */
export function yolox_tiny(opts: Omit<YOLOXOptions, 'depth' | 'width' | 'depthwise'> = {}): YOLOX {
  return new YOLOX({ ...opts, depth: 0.33, width: 0.375 });
}

/** YOLOX-S: depth 0.33, width 0.5 (the paper's 9.0 M parameters with 80 classes). */
export function yolox_s(opts: Omit<YOLOXOptions, 'depth' | 'width' | 'depthwise'> = {}): YOLOX {
  return new YOLOX({ ...opts, depth: 0.33, width: 0.5 });
}
