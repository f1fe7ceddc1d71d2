/**
 * Xception (Chollet 2017): entry flow, 8 middle-flow blocks and exit flow of depthwise-separable convolutions with
 * residual connections — the widely used layout of the Keras/Cadene reference (22,855,952 parameters, 299×299).
 */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { constant_, kaimingNormal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { relu } from '../ops/activation.js';
import { add } from '../ops/elementwise.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Depthwise 3×3 (`conv1`) then pointwise 1×1 (`pointwise`), no biases. */
export class SeparableConv2d extends Module {
  conv1: Conv2d;
  pointwise: Conv2d;
  constructor(inC: number, outC: number, kernelSize = 3, stride = 1, padding = 1) {
    super();
    this.conv1 = new Conv2d(inC, inC, kernelSize, { stride, padding, groups: inC, bias: false });
    this.pointwise = new Conv2d(inC, outC, 1, { bias: false });
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.conv1.forward(x));
  }
}

/** `reps` × (ReLU, SeparableConv, BN), optional 3×3/2 max pool, plus a (1×1 strided conv + BN) skip. */
export class XceptionBlock extends Module {
  skip: Conv2d | null;
  skipbn: BatchNorm2d | null;
  rep: Sequential;
  constructor(inF: number, outF: number, reps: number, strides = 1, startWithRelu = true, growFirst = true) {
    super();
    if (outF !== inF || strides !== 1) {
      this.skip = new Conv2d(inF, outF, 1, { stride: strides, bias: false });
      this.skipbn = new BatchNorm2d(outF);
    } else {
      this.skip = null;
      this.skipbn = null;
    }
    const layers: AnyModule[] = [];
    let filters = inF;
    if (growFirst) {
      layers.push(new ReLU(), new SeparableConv2d(inF, outF), new BatchNorm2d(outF));
      filters = outF;
    }
    for (let i = 0; i < reps - 1; i++)
      layers.push(new ReLU(), new SeparableConv2d(filters, filters), new BatchNorm2d(filters));
    if (!growFirst) layers.push(new ReLU(), new SeparableConv2d(inF, outF), new BatchNorm2d(outF));
    if (!startWithRelu) layers.shift();
    if (strides !== 1) layers.push(new MaxPool2d(3, { stride: strides, padding: 1 }));
    this.rep = new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    const skip = this.skip && this.skipbn ? this.skipbn.forward(this.skip.forward(x)) : x;
    return add(this.rep.forward(x), skip);
  }
}

/** Options of `xception`. */
export interface XceptionOptions {
  numClasses?: number;
  inChannels?: number;
}

/** Xception. */
export class Xception extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  blocks: Sequential;
  conv3: SeparableConv2d;
  bn3: BatchNorm2d;
  conv4: SeparableConv2d;
  bn4: BatchNorm2d;
  fc: Linear;

  constructor(opts: XceptionOptions = {}) {
    super();
    this.conv1 = new Conv2d(opts.inChannels ?? 3, 32, 3, { stride: 2, bias: false });
    this.bn1 = new BatchNorm2d(32);
    this.conv2 = new Conv2d(32, 64, 3, { bias: false });
    this.bn2 = new BatchNorm2d(64);
    const middle = Array.from({ length: 8 }, () => new XceptionBlock(728, 728, 3, 1, true, true));
    this.blocks = new Sequential(
      new XceptionBlock(64, 128, 2, 2, false, true),
      new XceptionBlock(128, 256, 2, 2, true, true),
      new XceptionBlock(256, 728, 2, 2, true, true),
      ...middle,
      new XceptionBlock(728, 1024, 2, 2, true, false),
    );
    this.conv3 = new SeparableConv2d(1024, 1536);
    this.bn3 = new BatchNorm2d(1536);
    this.conv4 = new SeparableConv2d(1536, 2048);
    this.bn4 = new BatchNorm2d(2048);
    this.fc = new Linear(2048, opts.numClasses ?? 1000);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        constant_(m.weight!, 1);
        constant_(m.bias!, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    let y = relu(this.bn1.forward(this.conv1.forward(x)));
    y = relu(this.bn2.forward(this.conv2.forward(y)));
    y = this.blocks.forward(y);
    y = relu(this.bn3.forward(this.conv3.forward(y)));
    y = relu(this.bn4.forward(this.conv4.forward(y)));
    return this.fc.forward(flatten(adaptiveAvgPool2d(y, 1), 1));
  }
}

/** Xception (22,855,952 parameters with 1000 classes). */
export function xception(opts: XceptionOptions = {}): Xception {
  return new Xception(opts);
}
