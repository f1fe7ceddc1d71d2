/** MobileNetV2 (Sandler et al. 2018) exactly as torchvision 0.14: `features.N.conv.M`, `classifier.1`. */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { ReLU6 } from '../nn/activation.js';
import { add } from '../ops/elementwise.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2dNormActivation, initClassifierWeights, makeDivisible, type NormFactory } from './layers.js';

/** Expand (1×1), depthwise 3×3, linear project (1×1); residual when the shape is kept. */
export class InvertedResidual extends Module {
  conv: Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(
    inp: number,
    oup: number,
    stride: number,
    expandRatio: number,
    normLayer: NormFactory = (c) => new BatchNorm2d(c),
  ) {
    super();
    if (stride !== 1 && stride !== 2) throw new Error(`InvertedResidual: stride should be 1 or 2, got ${stride}`);
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: AnyModule[] = [];
    if (expandRatio !== 1)
      layers.push(new Conv2dNormActivation(inp, hidden, 1, { normLayer, activationLayer: () => new ReLU6() }));
    layers.push(
      new Conv2dNormActivation(hidden, hidden, 3, {
        stride,
        groups: hidden,
        normLayer,
        activationLayer: () => new ReLU6(),
      }),
      new Conv2d(hidden, oup, 1, { bias: false }),
      normLayer(oup),
    );
    this.conv = new Sequential(...layers);
    this.outChannels = oup;
  }

  forward(x: Tensor): Tensor {
    return this.useResConnect ? add(x, this.conv.forward(x)) : this.conv.forward(x);
  }
}

/** Options of `mobilenet_v2`. */
export interface MobileNetV2Options {
  numClasses?: number;
  /** Channel multiplier (default 1). */
  widthMult?: number;
  /** [t, c, n, s] per stage (expansion, channels, repeats, stride); default the paper's. */
  invertedResidualSetting?: [number, number, number, number][];
  /** Round channels to multiples of this (default 8). */
  roundNearest?: number;
  dropout?: number;
  normLayer?: NormFactory;
}

/** MobileNetV2: 3,504,872 parameters at width 1. */
export class MobileNetV2 extends Module {
  features: Sequential;
  classifier: Sequential;
  readonly lastChannel: number;

  constructor(opts: MobileNetV2Options = {}) {
    super();
    const widthMult = opts.widthMult ?? 1;
    const round = opts.roundNearest ?? 8;
    const normLayer = opts.normLayer ?? ((c: number) => new BatchNorm2d(c));
    const setting = opts.invertedResidualSetting ?? [
      [1, 16, 1, 1],
      [6, 24, 2, 2],
      [6, 32, 3, 2],
      [6, 64, 4, 2],
      [6, 96, 3, 1],
      [6, 160, 3, 2],
      [6, 320, 1, 1],
    ];
    if (setting.length === 0 || setting.some((s) => s.length !== 4)) {
      throw new Error(
        `MobileNetV2: invertedResidualSetting should be a non-empty list of [t, c, n, s], got ${JSON.stringify(setting)}`,
      );
    }
    let inputChannel = makeDivisible(32 * widthMult, round);
    this.lastChannel = makeDivisible(1280 * Math.max(1, widthMult), round);
    const features: AnyModule[] = [
      new Conv2dNormActivation(3, inputChannel, 3, { stride: 2, normLayer, activationLayer: () => new ReLU6() }),
    ];
    for (const [t, c, n, s] of setting) {
      const out = makeDivisible(c * widthMult, round);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidual(inputChannel, out, i === 0 ? s : 1, t, normLayer));
        inputChannel = out;
      }
    }
    features.push(
      new Conv2dNormActivation(inputChannel, this.lastChannel, 1, { normLayer, activationLayer: () => new ReLU6() }),
    );
    this.features = new Sequential(...features);
    this.classifier = new Sequential(
      new Dropout(opts.dropout ?? 0.2),
      new Linear(this.lastChannel, opts.numClasses ?? 1000),
    );
    initClassifierWeights(this);
    // torchvision: kaiming_normal_(mode="fan_out") without the relu gain for MobileNetV2 convs.
    for (const m of this.modules()) if (m instanceof Conv2d) kaimingFanOut(m.weight);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(adaptiveAvgPool2d(this.features.forward(x), [1, 1]), 1));
  }
}

import { kaimingNormal_ } from '../nn/init.js';
function kaimingFanOut(w: Tensor): void {
  kaimingNormal_(w, { mode: 'fanOut' });
}

/** MobileNetV2 (torchvision's builder). */
export function mobilenet_v2(opts: MobileNetV2Options = {}): MobileNetV2 {
  return new MobileNetV2(opts);
}
