/** GoogLeNet / Inception v1 (Szegedy et al. 2014) exactly as torchvision 0.14 (BN variant, optional aux heads). */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { constant_, truncNormal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { relu } from '../ops/activation.js';
import { add, mul } from '../ops/elementwise.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { cat, flatten, slice } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { IntPair } from '../ops/conv.js';

/** Conv (no bias) → BatchNorm(eps 0.001) → ReLU. */
export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: IntPair,
    opts: { stride?: IntPair; padding?: IntPair } = {},
  ) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, { ...opts, bias: false });
    this.bn = new BatchNorm2d(outChannels, { eps: 0.001 });
  }

  forward(x: Tensor): Tensor {
    return relu(this.bn.forward(this.conv.forward(x)));
  }
}

/** Four parallel branches (1×1; 1×1→3×3; 1×1→3×3 (torchvision's "5×5"); pool→1×1) concatenated. */
export class Inception extends Module {
  branch1: BasicConv2d;
  branch2: Sequential;
  branch3: Sequential;
  branch4: Sequential;
  constructor(
    inC: number,
    ch1x1: number,
    ch3x3red: number,
    ch3x3: number,
    ch5x5red: number,
    ch5x5: number,
    poolProj: number,
  ) {
    super();
    this.branch1 = new BasicConv2d(inC, ch1x1, 1);
    this.branch2 = new Sequential(
      new BasicConv2d(inC, ch3x3red, 1),
      new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 }),
    );
    // torchvision keeps a 3×3 here (a known deviation from the paper's 5×5, kept for weight compatibility).
    this.branch3 = new Sequential(
      new BasicConv2d(inC, ch5x5red, 1),
      new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 }),
    );
    this.branch4 = new Sequential(
      new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }),
      new BasicConv2d(inC, poolProj, 1),
    );
  }

  forward(x: Tensor): Tensor {
    return cat([this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)], 1);
  }
}

/** Auxiliary classifier: 4×4 adaptive pool, 1×1 conv, two linears with dropout 0.7. */
export class InceptionAux extends Module {
  conv: BasicConv2d;
  fc1: Linear;
  fc2: Linear;
  dropout: Dropout;
  constructor(inC: number, numClasses: number, p = 0.7) {
    super();
    this.conv = new BasicConv2d(inC, 128, 1);
    this.fc1 = new Linear(2048, 1024);
    this.fc2 = new Linear(1024, numClasses);
    this.dropout = new Dropout(p);
  }

  forward(x: Tensor): Tensor {
    const y = flatten(this.conv.forward(adaptiveAvgPool2d(x, [4, 4])), 1);
    return this.fc2.forward(this.dropout.forward(relu(this.fc1.forward(y))));
  }
}

/** Options of `googlenet`. */
export interface GoogLeNetOptions {
  numClasses?: number;
  /**
   * Build the two auxiliary classifiers `aux1`, `aux2` (default false: what torchvision's pretrained builder
   * returns, 6,624,904 parameters; true gives torchvision's training configuration).
   */
  auxLogits?: boolean;
  /** Map ImageNet-normalised input to the (x − 0.5)/0.5 normalisation the original weights expect. */
  transformInput?: boolean;
  /** torchvision's truncated-normal init (default true). */
  initWeights?: boolean;
  dropout?: number;
  dropoutAux?: number;
}

/** GoogLeNet: `forward` returns the logits; `forwardWithAux` also the auxiliary logits (training mode). */
export class GoogLeNet extends Module {
  conv1: BasicConv2d;
  maxpool1: MaxPool2d;
  conv2: BasicConv2d;
  conv3: BasicConv2d;
  maxpool2: MaxPool2d;
  inception3a: Inception;
  inception3b: Inception;
  maxpool3: MaxPool2d;
  inception4a: Inception;
  inception4b: Inception;
  inception4c: Inception;
  inception4d: Inception;
  inception4e: Inception;
  maxpool4: MaxPool2d;
  inception5a: Inception;
  inception5b: Inception;
  aux1: InceptionAux | null;
  aux2: InceptionAux | null;
  avgpool: AdaptiveAvgPool2d;
  dropout: Dropout;
  fc: Linear;
  readonly transformInput: boolean;

  constructor(opts: GoogLeNetOptions = {}) {
    super();
    const nc = opts.numClasses ?? 1000;
    this.transformInput = opts.transformInput ?? false;
    this.conv1 = new BasicConv2d(3, 64, 7, { stride: 2, padding: 3 });
    this.maxpool1 = new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.conv2 = new BasicConv2d(64, 64, 1);
    this.conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
    this.maxpool2 = new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.inception3a = new Inception(192, 64, 96, 128, 16, 32, 32);
    this.inception3b = new Inception(256, 128, 128, 192, 32, 96, 64);
    this.maxpool3 = new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.inception4a = new Inception(480, 192, 96, 208, 16, 48, 64);
    this.inception4b = new Inception(512, 160, 112, 224, 24, 64, 64);
    this.inception4c = new Inception(512, 128, 128, 256, 24, 64, 64);
    this.inception4d = new Inception(512, 112, 144, 288, 32, 64, 64);
    this.inception4e = new Inception(528, 256, 160, 320, 32, 128, 128);
    this.maxpool4 = new MaxPool2d(2, { stride: 2, ceilMode: true });
    this.inception5a = new Inception(832, 256, 160, 320, 32, 128, 128);
    this.inception5b = new Inception(832, 384, 192, 384, 48, 128, 128);
    this.aux1 = opts.auxLogits ? new InceptionAux(512, nc, opts.dropoutAux ?? 0.7) : null;
    this.aux2 = opts.auxLogits ? new InceptionAux(528, nc, opts.dropoutAux ?? 0.7) : null;
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.dropout = new Dropout(opts.dropout ?? 0.2);
    this.fc = new Linear(1024, nc);
    if (opts.initWeights ?? true) {
      for (const m of this.modules()) {
        if (m instanceof Conv2d || m instanceof Linear) truncNormal_(m.weight, 0, 0.01, -2, 2);
        else if (m instanceof BatchNorm2d) {
          constant_(m.weight!, 1);
          constant_(m.bias!, 0);
        }
      }
    }
  }

  private transform(x: Tensor): Tensor {
    if (!this.transformInput) return x;
    const ch = (c: number, std: number, mean: number) => add(mul(slice(x, 1, c, c + 1), std / 0.5), (mean - 0.5) / 0.5);
    return cat([ch(0, 0.229, 0.485), ch(1, 0.224, 0.456), ch(2, 0.225, 0.406)], 1);
  }

  /** Logits and, in training mode with aux heads, the two auxiliary logits (null otherwise). */
  forwardWithAux(x: Tensor): { logits: Tensor; aux1: Tensor | null; aux2: Tensor | null } {
    x = this.transform(x);
    x = this.maxpool1.forward(this.conv1.forward(x));
    x = this.maxpool2.forward(this.conv3.forward(this.conv2.forward(x)));
    x = this.maxpool3.forward(this.inception3b.forward(this.inception3a.forward(x)));
    x = this.inception4a.forward(x);
    const a1 = this.aux1 && this.training ? this.aux1.forward(x) : null;
    x = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(x)));
    const a2 = this.aux2 && this.training ? this.aux2.forward(x) : null;
    x = this.maxpool4.forward(this.inception4e.forward(x));
    x = this.inception5b.forward(this.inception5a.forward(x));
    x = flatten(this.avgpool.forward(x), 1);
    return { logits: this.fc.forward(this.dropout.forward(x)), aux1: a1, aux2: a2 };
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithAux(x).logits;
  }
}

/** GoogLeNet (torchvision's builder; aux heads off by default, see GoogLeNetOptions). */
export function googlenet(opts: GoogLeNetOptions = {}): GoogLeNet {
  return new GoogLeNet(opts);
}
