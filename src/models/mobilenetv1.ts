/** MobileNetV1 (Howard et al. 2017): a 3×3 stem then 13 depthwise-separable blocks (depthwise 3×3 + pointwise 1×1). */
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { AdaptiveAvgPool2d } from '../nn/pooling.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2dNormActivation, initClassifierWeights, makeDivisible } from './layers.js';

/** Depthwise 3×3 (BN, ReLU) then pointwise 1×1 (BN, ReLU): `depthwise`, `pointwise`. */
export class DepthwiseSeparableConv extends Module {
  depthwise: Conv2dNormActivation;
  pointwise: Conv2dNormActivation;
  constructor(inC: number, outC: number, stride: number) {
    super();
    this.depthwise = new Conv2dNormActivation(inC, inC, 3, { stride, groups: inC });
    this.pointwise = new Conv2dNormActivation(inC, outC, 1);
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.depthwise.forward(x));
  }
}

/** Options of `mobilenet_v1`. */
export interface MobileNetV1Options {
  numClasses?: number;
  /** Width multiplier α (default 1; channels rounded to multiples of 8). */
  widthMult?: number;
  inChannels?: number;
  dropout?: number;
}

/** MobileNetV1: 4,231,976 parameters at α = 1 with 1000 classes. */
export class MobileNetV1 extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  classifier: Sequential;

  constructor(opts: MobileNetV1Options = {}) {
    super();
    const a = opts.widthMult ?? 1;
    const c = (n: number): number => (a === 1 ? n : makeDivisible(n * a, 8));
    const plan: [number, number][] = [
      [64, 1],
      [128, 2],
      [128, 1],
      [256, 2],
      [256, 1],
      [512, 2],
      [512, 1],
      [512, 1],
      [512, 1],
      [512, 1],
      [512, 1],
      [1024, 2],
      [1024, 1],
    ];
    const layers: AnyModule[] = [new Conv2dNormActivation(opts.inChannels ?? 3, c(32), 3, { stride: 2 })];
    let inC = c(32);
    for (const [out, s] of plan) {
      layers.push(new DepthwiseSeparableConv(inC, c(out), s));
      inC = c(out);
    }
    this.features = new Sequential(...layers);
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.classifier = new Sequential(new Dropout(opts.dropout ?? 0.001), new Linear(inC, opts.numClasses ?? 1000));
    initClassifierWeights(this);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.avgpool.forward(this.features.forward(x)), 1));
  }
}

/** MobileNetV1. */
export function mobilenet_v1(opts: MobileNetV1Options = {}): MobileNetV1 {
  return new MobileNetV1(opts);
}
