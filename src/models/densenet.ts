/** DenseNet (Huang et al. 2016) exactly as torchvision 0.14: `features.denseblock1.denselayer1.norm1` … */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { constant_, kaimingNormal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { dropout } from '../ops/dropout.js';
import { relu } from '../ops/activation.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { cat, flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** BN-ReLU-Conv1×1 bottleneck then BN-ReLU-Conv3×3 producing `growthRate` new channels. */
export class DenseLayer extends Module<[Tensor[]], Tensor> {
  norm1: BatchNorm2d;
  relu1: ReLU;
  conv1: Conv2d;
  norm2: BatchNorm2d;
  relu2: ReLU;
  conv2: Conv2d;

  constructor(
    numInputFeatures: number,
    growthRate: number,
    bnSize: number,
    readonly dropRate: number,
  ) {
    super();
    this.norm1 = new BatchNorm2d(numInputFeatures);
    this.relu1 = new ReLU();
    this.conv1 = new Conv2d(numInputFeatures, bnSize * growthRate, 1, { bias: false });
    this.norm2 = new BatchNorm2d(bnSize * growthRate);
    this.relu2 = new ReLU();
    this.conv2 = new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false });
  }

  /** Takes every previous feature map (concatenated along channels here, as torchvision). */
  forward(features: Tensor[]): Tensor {
    const x = features.length === 1 ? features[0] : cat(features, 1);
    const b = this.conv1.forward(this.relu1.forward(this.norm1.forward(x)));
    let out = this.conv2.forward(this.relu2.forward(this.norm2.forward(b)));
    if (this.dropRate > 0) out = dropout(out, { p: this.dropRate, training: this.training });
    return out;
  }
}

/** `numLayers` dense layers, each fed the concatenation of the input and all previous outputs. */
export class DenseBlock extends Module {
  constructor(numLayers: number, numInputFeatures: number, bnSize: number, growthRate: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++) {
      this.registerModule(
        `denselayer${i + 1}`,
        new DenseLayer(numInputFeatures + i * growthRate, growthRate, bnSize, dropRate),
      );
    }
  }

  forward(x: Tensor): Tensor {
    const features = [x];
    for (const layer of this.children()) features.push((layer as DenseLayer).forward(features));
    return cat(features, 1);
  }
}

/** BN-ReLU-Conv1×1 halving the channels, then 2×2 average pooling. */
export class Transition extends Sequential {
  constructor(numInputFeatures: number, numOutputFeatures: number) {
    super({
      norm: new BatchNorm2d(numInputFeatures),
      relu: new ReLU(),
      conv: new Conv2d(numInputFeatures, numOutputFeatures, 1, { bias: false }),
      pool: new AvgPool2d(2, { stride: 2 }),
    });
  }
}

/** Options of the DenseNet builders. */
export interface DenseNetOptions {
  numClasses?: number;
  growthRate?: number;
  blockConfig?: readonly number[];
  numInitFeatures?: number;
  bnSize?: number;
  dropRate?: number;
}

/** DenseNet-BC: `features` (stem, dense blocks, transitions, norm5) and `classifier`. */
export class DenseNet extends Module {
  features: Sequential;
  classifier: Linear;

  constructor(opts: DenseNetOptions = {}) {
    super();
    const growth = opts.growthRate ?? 32;
    const blocks = opts.blockConfig ?? [6, 12, 24, 16];
    const bnSize = opts.bnSize ?? 4;
    let nf = opts.numInitFeatures ?? 64;
    this.features = new Sequential({
      conv0: new Conv2d(3, nf, 7, { stride: 2, padding: 3, bias: false }),
      norm0: new BatchNorm2d(nf),
      relu0: new ReLU(),
      pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
    });
    blocks.forEach((numLayers, i) => {
      this.features.registerModule(
        `denseblock${i + 1}`,
        new DenseBlock(numLayers, nf, bnSize, growth, opts.dropRate ?? 0),
      );
      nf += numLayers * growth;
      if (i !== blocks.length - 1) {
        this.features.registerModule(`transition${i + 1}`, new Transition(nf, Math.floor(nf / 2)));
        nf = Math.floor(nf / 2);
      }
    });
    this.features.registerModule('norm5', new BatchNorm2d(nf));
    this.classifier = new Linear(nf, opts.numClasses ?? 1000);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) kaimingNormal_(m.weight);
      else if (m instanceof BatchNorm2d) {
        constant_(m.weight!, 1);
        constant_(m.bias!, 0);
      } else if (m instanceof Linear) constant_(m.bias!, 0);
    }
  }

  forward(x: Tensor): Tensor {
    // Sequential.forward walks its item list; the blocks were registered by name, so walk the children.
    let y = x;
    for (const m of this.features.children()) y = m.forward(y) as Tensor;
    return this.classifier.forward(flatten(adaptiveAvgPool2d(relu(y), [1, 1]), 1));
  }
}

/** DenseNet-121 (7,978,856 parameters). */
export function densenet121(opts: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64, ...opts });
}
/** DenseNet-161. */
export function densenet161(opts: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96, ...opts });
}
/** DenseNet-169. */
export function densenet169(opts: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64, ...opts });
}
/** DenseNet-201. */
export function densenet201(opts: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64, ...opts });
}
