/** MobileNetV3 (Howard et al. 2019) Large and Small exactly as torchvision 0.14 (SE with hard-sigmoid, h-swish). */
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AdaptiveAvgPool2d } from '../nn/pooling.js';
import { Hardsigmoid, Hardswish, ReLU } from '../nn/activation.js';
import { SqueezeExcitation } from '../nn/attention.js';
import { add } from '../ops/elementwise.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2dNormActivation, initClassifierWeights, makeDivisible, type NormFactory } from './layers.js';

/** One inverted-residual block of the configuration table (torchvision's `InvertedResidualConfig`). */
export class InvertedResidualConfig {
  readonly inputChannels: number;
  readonly expandedChannels: number;
  readonly outChannels: number;
  readonly useHs: boolean;
  constructor(
    inputChannels: number,
    readonly kernel: number,
    expandedChannels: number,
    outChannels: number,
    readonly useSe: boolean,
    activation: 'RE' | 'HS',
    readonly stride: number,
    readonly dilation: number,
    widthMult: number,
  ) {
    this.inputChannels = makeDivisible(inputChannels * widthMult, 8);
    this.expandedChannels = makeDivisible(expandedChannels * widthMult, 8);
    this.outChannels = makeDivisible(outChannels * widthMult, 8);
    this.useHs = activation === 'HS';
  }
}

/** Expand, depthwise (optionally dilated), squeeze-excitation, project; residual when the shape is kept. */
export class InvertedResidualV3 extends Module {
  block: Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;
  /** Whether the block downsamples (torchvision's `_is_cn`): segmentation heads tap the stages it ends. */
  readonly isCn: boolean;

  constructor(cnf: InvertedResidualConfig, normLayer: NormFactory) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new Error(`InvertedResidual: illegal stride value ${cnf.stride}`);
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const act = cnf.useHs ? () => new Hardswish() : () => new ReLU();
    const layers: AnyModule[] = [];
    if (cnf.expandedChannels !== cnf.inputChannels) {
      layers.push(
        new Conv2dNormActivation(cnf.inputChannels, cnf.expandedChannels, 1, { normLayer, activationLayer: act }),
      );
    }
    const stride = cnf.dilation > 1 ? 1 : cnf.stride;
    layers.push(
      new Conv2dNormActivation(cnf.expandedChannels, cnf.expandedChannels, cnf.kernel, {
        stride,
        dilation: cnf.dilation,
        groups: cnf.expandedChannels,
        normLayer,
        activationLayer: act,
      }),
    );
    if (cnf.useSe) {
      const squeeze = makeDivisible(Math.floor(cnf.expandedChannels / 4), 8);
      layers.push(new SqueezeExcitation(cnf.expandedChannels, squeeze, { scaleActivation: Hardsigmoid }));
    }
    layers.push(
      new Conv2dNormActivation(cnf.expandedChannels, cnf.outChannels, 1, { normLayer, activationLayer: null }),
    );
    this.block = new Sequential(...layers);
    this.outChannels = cnf.outChannels;
    this.isCn = cnf.stride > 1;
  }

  forward(x: Tensor): Tensor {
    const y = this.block.forward(x);
    return this.useResConnect ? add(y, x) : y;
  }
}

/** Options of the MobileNetV3 builders. */
export interface MobileNetV3Options {
  numClasses?: number;
  /** Channel multiplier (default 1). */
  widthMult?: number;
  /** Halve the channels of the last stage (for detection/segmentation backbones). */
  reducedTail?: boolean;
  /** Dilate the last stage instead of striding. */
  dilated?: boolean;
  dropout?: number;
}

/** MobileNetV3: `features`, `avgpool`, `classifier` (Linear, Hardswish, Dropout, Linear). */
export class MobileNetV3 extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  classifier: Sequential;

  constructor(
    setting: InvertedResidualConfig[],
    lastChannel: number,
    opts: { numClasses?: number; dropout?: number } = {},
  ) {
    super();
    if (setting.length === 0) throw new Error('MobileNetV3: invertedResidualSetting should not be empty');
    // torchvision: BatchNorm2d(eps=0.001, momentum=0.01) throughout.
    const normLayer: NormFactory = (c) => new BatchNorm2d(c, { eps: 0.001, momentum: 0.01 });
    const first = setting[0].inputChannels;
    const layers: AnyModule[] = [
      new Conv2dNormActivation(3, first, 3, { stride: 2, normLayer, activationLayer: () => new Hardswish() }),
    ];
    for (const cnf of setting) layers.push(new InvertedResidualV3(cnf, normLayer));
    const lastIn = setting[setting.length - 1].outChannels;
    const lastOut = 6 * lastIn;
    layers.push(new Conv2dNormActivation(lastIn, lastOut, 1, { normLayer, activationLayer: () => new Hardswish() }));
    this.features = new Sequential(...layers);
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.classifier = new Sequential(
      new Linear(lastOut, lastChannel),
      new Hardswish(),
      new Dropout(opts.dropout ?? 0.2),
      new Linear(lastChannel, opts.numClasses ?? 1000),
    );
    initClassifierWeights(this);
    for (const m of this.modules())
      if (m instanceof Conv2dNormActivation)
        kaimingNormal_((m.at(0) as unknown as { weight: Tensor }).weight, { mode: 'fanOut' });
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.avgpool.forward(this.features.forward(x)), 1));
  }
}

import { kaimingNormal_ } from '../nn/init.js';

function config(arch: 'large' | 'small', opts: MobileNetV3Options): [InvertedResidualConfig[], number] {
  const w = opts.widthMult ?? 1;
  const rd = opts.reducedTail ? 2 : 1;
  const dil = opts.dilated ? 2 : 1;
  const b = (i: number, k: number, e: number, o: number, se: boolean, a: 'RE' | 'HS', s: number, d: number) =>
    new InvertedResidualConfig(i, k, e, o, se, a, s, d, w);
  const last = (c: number) => makeDivisible(c * w, 8);
  if (arch === 'large') {
    return [
      [
        b(16, 3, 16, 16, false, 'RE', 1, 1),
        b(16, 3, 64, 24, false, 'RE', 2, 1),
        b(24, 3, 72, 24, false, 'RE', 1, 1),
        b(24, 5, 72, 40, true, 'RE', 2, 1),
        b(40, 5, 120, 40, true, 'RE', 1, 1),
        b(40, 5, 120, 40, true, 'RE', 1, 1),
        b(40, 3, 240, 80, false, 'HS', 2, 1),
        b(80, 3, 200, 80, false, 'HS', 1, 1),
        b(80, 3, 184, 80, false, 'HS', 1, 1),
        b(80, 3, 184, 80, false, 'HS', 1, 1),
        b(80, 3, 480, 112, true, 'HS', 1, 1),
        b(112, 3, 672, 112, true, 'HS', 1, 1),
        b(112, 5, 672, 160 / rd, true, 'HS', 2, dil),
        b(160 / rd, 5, 960 / rd, 160 / rd, true, 'HS', 1, dil),
        b(160 / rd, 5, 960 / rd, 160 / rd, true, 'HS', 1, dil),
      ],
      last(1280 / rd),
    ];
  }
  return [
    [
      b(16, 3, 16, 16, true, 'RE', 2, 1),
      b(16, 3, 72, 24, false, 'RE', 2, 1),
      b(24, 3, 88, 24, false, 'RE', 1, 1),
      b(24, 5, 96, 40, true, 'HS', 2, 1),
      b(40, 5, 240, 40, true, 'HS', 1, 1),
      b(40, 5, 240, 40, true, 'HS', 1, 1),
      b(40, 5, 120, 48, true, 'HS', 1, 1),
      b(48, 5, 144, 48, true, 'HS', 1, 1),
      b(48, 5, 288, 96 / rd, true, 'HS', 2, dil),
      b(96 / rd, 5, 576 / rd, 96 / rd, true, 'HS', 1, dil),
      b(96 / rd, 5, 576 / rd, 96 / rd, true, 'HS', 1, dil),
    ],
    last(1024 / rd),
  ];
}

/** MobileNetV3-Large (5,483,032 parameters). */
export function mobilenet_v3_large(opts: MobileNetV3Options = {}): MobileNetV3 {
  const [s, last] = config('large', opts);
  return new MobileNetV3(s, last, opts);
}

/** MobileNetV3-Small (2,542,856 parameters). */
export function mobilenet_v3_small(opts: MobileNetV3Options = {}): MobileNetV3 {
  const [s, last] = config('small', opts);
  return new MobileNetV3(s, last, opts);
}
