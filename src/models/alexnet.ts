/** AlexNet (Krizhevsky et al. 2012, the single-GPU "one weird trick" variant) exactly as torchvision 0.14. */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of `alexnet`. */
export interface AlexNetOptions {
  numClasses?: number;
  /** Dropout of the classifier (default 0.5). */
  dropout?: number;
}

/** AlexNet: `features` (5 convs), 6×6 adaptive pool, `classifier` (3 linears); 61,100,840 parameters. */
export class AlexNet extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  classifier: Sequential;

  constructor(opts: AlexNetOptions = {}) {
    super();
    const p = opts.dropout ?? 0.5;
    this.features = new Sequential(
      new Conv2d(3, 64, 11, { stride: 4, padding: 2 }),
      new ReLU(),
      new MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }),
      new ReLU(),
      new MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(3, { stride: 2 }),
    );
    this.avgpool = new AdaptiveAvgPool2d([6, 6]);
    this.classifier = new Sequential(
      new Dropout(p),
      new Linear(256 * 6 * 6, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, 4096),
      new ReLU(),
      new Linear(4096, opts.numClasses ?? 1000),
    );
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.avgpool.forward(this.features.forward(x)), 1));
  }
}

/** AlexNet (torchvision's builder). */
export function alexnet(opts: AlexNetOptions = {}): AlexNet {
  return new AlexNet(opts);
}
