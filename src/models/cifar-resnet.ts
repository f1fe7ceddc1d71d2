/**
 * CIFAR-style residual networks for 32×32 inputs: ResNet-20/32/44/56/110 (He et al. 2016, §4.2: three stages of
 * 16/32/64 channels, option-A parameter-free shortcuts) and Wide ResNet WRN-d-k (Zagoruyko & Komodakis 2016:
 * pre-activation blocks, widen factor k, dropout between the convolutions).
 */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { constant_, kaimingNormal_, zeros_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { relu } from '../ops/activation.js';
import { add } from '../ops/elementwise.js';
import { pad } from '../ops/pad.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { flatten, slice } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

function initConvBn(model: Module): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    else if (m instanceof BatchNorm2d) {
      constant_(m.weight!, 1);
      constant_(m.bias!, 0);
    } else if (m instanceof Linear && m.bias) zeros_(m.bias);
  }
}

/** conv-BN-ReLU-conv-BN + shortcut; option A: a strided identity with zero-padded channels (no parameters). */
export class CifarBasicBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  constructor(
    readonly inPlanes: number,
    readonly planes: number,
    readonly stride: number,
  ) {
    super();
    this.conv1 = new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(relu(this.bn1.forward(this.conv1.forward(x)))));
    let sc = x;
    if (this.stride !== 1 || this.inPlanes !== this.planes) {
      if (this.stride !== 1) sc = slice(slice(sc, 2, 0, null, this.stride), 3, 0, null, this.stride);
      const extra = this.planes - this.inPlanes;
      sc = pad(sc, [0, 0, 0, 0, Math.floor(extra / 2), extra - Math.floor(extra / 2)]);
    }
    return relu(add(out, sc));
  }
}

/** Options of the CIFAR ResNets. */
export interface CifarResNetOptions {
  numClasses?: number;
  inChannels?: number;
}

/** ResNet-(6n+2) for CIFAR: conv 3×3 (16), three stages of n blocks (16, 32, 64 channels), global pool, fc. */
export class CifarResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  fc: Linear;

  constructor(depth: number, opts: CifarResNetOptions = {}) {
    super();
    if ((depth - 2) % 6 !== 0 || depth < 8)
      throw new Error(`CifarResNet: depth must be 6n+2 (20, 32, 44, 56, 110), got ${depth}`);
    const n = (depth - 2) / 6;
    this.conv1 = new Conv2d(opts.inChannels ?? 3, 16, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(16);
    const stage = (inP: number, p: number, s: number): Sequential =>
      new Sequential(
        ...Array.from({ length: n }, (_, i) => new CifarBasicBlock(i === 0 ? inP : p, p, i === 0 ? s : 1)),
      );
    this.layer1 = stage(16, 16, 1);
    this.layer2 = stage(16, 32, 2);
    this.layer3 = stage(32, 64, 2);
    this.fc = new Linear(64, opts.numClasses ?? 10);
    initConvBn(this);
  }

  forward(x: Tensor): Tensor {
    let y = relu(this.bn1.forward(this.conv1.forward(x)));
    y = this.layer3.forward(this.layer2.forward(this.layer1.forward(y)));
    return this.fc.forward(flatten(adaptiveAvgPool2d(y, 1), 1));
  }
}

/** ResNet-20 for CIFAR (269,722 parameters with 10 classes). */
export const resnet20 = (opts: CifarResNetOptions = {}): CifarResNet => new CifarResNet(20, opts);
/** ResNet-32 for CIFAR. */
export const resnet32 = (opts: CifarResNetOptions = {}): CifarResNet => new CifarResNet(32, opts);
/** ResNet-44 for CIFAR. */
export const resnet44 = (opts: CifarResNetOptions = {}): CifarResNet => new CifarResNet(44, opts);
/** ResNet-56 for CIFAR (853,018 parameters). */
export const resnet56 = (opts: CifarResNetOptions = {}): CifarResNet => new CifarResNet(56, opts);
/** ResNet-110 for CIFAR. */
export const resnet110 = (opts: CifarResNetOptions = {}): CifarResNet => new CifarResNet(110, opts);

/** Pre-activation wide block: BN-ReLU-conv3×3-BN-ReLU-dropout-conv3×3 + (1×1 conv) shortcut. */
export class WideBasicBlock extends Module {
  bn1: BatchNorm2d;
  conv1: Conv2d;
  bn2: BatchNorm2d;
  dropout: Dropout;
  conv2: Conv2d;
  shortcut: Conv2d | null;
  constructor(inPlanes: number, planes: number, stride: number, dropRate: number) {
    super();
    this.bn1 = new BatchNorm2d(inPlanes);
    this.conv1 = new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.dropout = new Dropout(dropRate);
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.shortcut =
      stride !== 1 || inPlanes !== planes ? new Conv2d(inPlanes, planes, 1, { stride, bias: false }) : null;
  }

  forward(x: Tensor): Tensor {
    const o = relu(this.bn1.forward(x));
    const y = this.conv2.forward(this.dropout.forward(relu(this.bn2.forward(this.conv1.forward(o)))));
    // The projection sees the pre-activated input, as in the authors' code.
    return add(y, this.shortcut ? this.shortcut.forward(o) : x);
  }
}

/** Options of `wideResNet`. */
export interface WideResNetOptions extends CifarResNetOptions {
  /** Total depth 6n+4 (default 28). */
  depth?: number;
  /** Widen factor k (default 10). */
  widenFactor?: number;
  /** Dropout between the two convolutions of a block (default 0.3). */
  dropRate?: number;
}

/** WRN-d-k: conv (16) then three stages of 16k, 32k, 64k channels, BN-ReLU, global pool, fc. */
export class WideResNet extends Module {
  conv1: Conv2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  bn: BatchNorm2d;
  fc: Linear;

  constructor(opts: WideResNetOptions = {}) {
    super();
    const depth = opts.depth ?? 28,
      k = opts.widenFactor ?? 10,
      p = opts.dropRate ?? 0.3;
    if ((depth - 4) % 6 !== 0) throw new Error(`WideResNet: depth must be 6n+4 (16, 22, 28, 40), got ${depth}`);
    const n = (depth - 4) / 6;
    const w = [16, 16 * k, 32 * k, 64 * k];
    this.conv1 = new Conv2d(opts.inChannels ?? 3, w[0], 3, { padding: 1, bias: false });
    const stage = (inP: number, out: number, s: number): Sequential =>
      new Sequential(
        ...Array.from({ length: n }, (_, i) => new WideBasicBlock(i === 0 ? inP : out, out, i === 0 ? s : 1, p)),
      );
    this.layer1 = stage(w[0], w[1], 1);
    this.layer2 = stage(w[1], w[2], 2);
    this.layer3 = stage(w[2], w[3], 2);
    this.bn = new BatchNorm2d(w[3]);
    this.fc = new Linear(w[3], opts.numClasses ?? 10);
    initConvBn(this);
  }

  forward(x: Tensor): Tensor {
    const y = this.layer3.forward(this.layer2.forward(this.layer1.forward(this.conv1.forward(x))));
    return this.fc.forward(flatten(adaptiveAvgPool2d(relu(this.bn.forward(y)), 1), 1));
  }
}

/** WRN-28-10 (36,479,194 parameters with 10 classes). */
export const wrn28_10 = (opts: CifarResNetOptions & { dropRate?: number } = {}): WideResNet =>
  new WideResNet({ depth: 28, widenFactor: 10, ...opts });
