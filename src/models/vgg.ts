/** VGG (Simonyan & Zisserman 2014) exactly as torchvision 0.14: `features.N`, `classifier.N`. */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { initClassifierWeights } from './layers.js';

/** Options of the VGG builders. */
export interface VGGOptions {
  numClasses?: number;
  /** Dropout of the classifier (default 0.5). */
  dropout?: number;
  /** Apply torchvision's init (default true). */
  initWeights?: boolean;
}

type Cfg = (number | 'M')[];
const CFGS: Record<'A' | 'B' | 'D' | 'E', Cfg> = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/**
 * The `features` Sequential of a VGG configuration ('A' = VGG-11, 'B' = 13, 'D' = 16, 'E' = 19) with torchvision's
 * layout and init (kaiming-normal convs), without building the 120 M-parameter classifier: what encoders
 * (SegNet, FCN) reuse.
 */
export function vggFeatures(config: keyof typeof CFGS, batchNorm: boolean): Sequential {
  const f = makeLayers(CFGS[config], batchNorm);
  initClassifierWeights(f);
  return f;
}

function makeLayers(cfg: Cfg, batchNorm: boolean): Sequential {
  const layers: AnyModule[] = [];
  let inC = 3;
  for (const v of cfg) {
    if (v === 'M') layers.push(new MaxPool2d(2, { stride: 2 }));
    else {
      layers.push(new Conv2d(inC, v, 3, { padding: 1 }));
      if (batchNorm) layers.push(new BatchNorm2d(v));
      layers.push(new ReLU());
      inC = v;
    }
  }
  return new Sequential(...layers);
}

/** VGG: conv features, 7×7 adaptive average pool, three-layer classifier. */
export class VGG extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  classifier: Sequential;

  constructor(features: Sequential, opts: VGGOptions = {}) {
    super();
    const p = opts.dropout ?? 0.5;
    this.features = features;
    this.avgpool = new AdaptiveAvgPool2d([7, 7]);
    this.classifier = new Sequential(
      new Linear(512 * 7 * 7, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, opts.numClasses ?? 1000),
    );
    if (opts.initWeights ?? true) initClassifierWeights(this);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.avgpool.forward(this.features.forward(x)), 1));
  }
}

const vgg =
  (cfg: keyof typeof CFGS, bn: boolean) =>
  (opts: VGGOptions = {}): VGG =>
    new VGG(makeLayers(CFGS[cfg], bn), opts);
/** VGG-11 (132,863,336 parameters). */
export const vgg11 = vgg('A', false);
/** VGG-11 with batch norm. */
export const vgg11_bn = vgg('A', true);
/** VGG-13. */
export const vgg13 = vgg('B', false);
/** VGG-13 with batch norm. */
export const vgg13_bn = vgg('B', true);
/** VGG-16 (138,357,544 parameters). */
export const vgg16 = vgg('D', false);
/** VGG-16 with batch norm. */
export const vgg16_bn = vgg('D', true);
/** VGG-19. */
export const vgg19 = vgg('E', false);
/** VGG-19 with batch norm. */
export const vgg19_bn = vgg('E', true);
