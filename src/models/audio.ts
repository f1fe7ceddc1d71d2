/**
 * 1-D convolutional networks for raw signals: M3/M5/M11-style waveform CNNs (Dai, Dai, Qu, Li & Das 2017, "Very
 * Deep Convolutional Neural Networks for Raw Waveforms") and a 1-D ResNet (He et al. 2015's BasicBlock design with
 * k-tap 1-D convolutions, as used for ECG and audio).
 */
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv1d } from '../nn/convnd.js';
import { constant_, kaimingNormal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm1d } from '../nn/normalization.js';
import { AdaptiveAvgPool1d, MaxPool1d } from '../nn/poolingnd.js';
import { add } from '../ops/elementwise.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of M5. */
export interface M5Options {
  /** Output classes (default 10). */
  numClasses?: number;
  /** Input channels (default 1: a mono waveform). */
  inChannels?: number;
  /** Filters of the first two convolutions; the third and fourth have 2× and 4× as many (default 128, as the paper). */
  width?: number;
  /** Stride of the first (80-tap) convolution (default 4, as the paper: a 10 ms receptive field at 8 kHz). */
  firstStride?: number;
}

/**
 * M5 (Dai et al. 2017, table 1): conv [80/4, 128] → BN → ReLU → max-pool 4, then three times conv [3, c] → BN →
 * ReLU → max-pool 4 with c = 128, 256, 512, global average pooling and a linear classifier (the paper's
 * fully-convolutional design: no dense layers before the output). The 3-tap convolutions pad by 1 so lengths only
 * shrink in the pools. With the defaults: 559,114 parameters for 10 classes. Input [N, 1, L] with L ≥ 1,100
 * samples (8 kHz audio in the paper: 32,000 samples for 4 s).
 */
export class M5 extends Module {
  conv1: Conv1d;
  bn1: BatchNorm1d;
  pool1: MaxPool1d;
  conv2: Conv1d;
  bn2: BatchNorm1d;
  pool2: MaxPool1d;
  conv3: Conv1d;
  bn3: BatchNorm1d;
  pool3: MaxPool1d;
  conv4: Conv1d;
  bn4: BatchNorm1d;
  pool4: MaxPool1d;
  avgpool: AdaptiveAvgPool1d;
  fc1: Linear;
  relu: ReLU;

  constructor(opts: M5Options = {}) {
    super();
    const c = opts.width ?? 128;
    this.conv1 = new Conv1d(opts.inChannels ?? 1, c, 80, { stride: opts.firstStride ?? 4 });
    this.bn1 = new BatchNorm1d(c);
    this.pool1 = new MaxPool1d(4);
    this.conv2 = new Conv1d(c, c, 3, { padding: 1 });
    this.bn2 = new BatchNorm1d(c);
    this.pool2 = new MaxPool1d(4);
    this.conv3 = new Conv1d(c, 2 * c, 3, { padding: 1 });
    this.bn3 = new BatchNorm1d(2 * c);
    this.pool3 = new MaxPool1d(4);
    this.conv4 = new Conv1d(2 * c, 4 * c, 3, { padding: 1 });
    this.bn4 = new BatchNorm1d(4 * c);
    this.pool4 = new MaxPool1d(4);
    this.avgpool = new AdaptiveAvgPool1d(1);
    this.fc1 = new Linear(4 * c, opts.numClasses ?? 10);
    this.relu = new ReLU();
  }

  /** [N, C, L] waveforms → [N, numClasses] logits. */
  forward(x: Tensor): Tensor {
    const stage = (y: Tensor, conv: Conv1d, bn: BatchNorm1d, pool: MaxPool1d) =>
      pool.forward(this.relu.forward(bn.forward(conv.forward(y))));
    let y = stage(x, this.conv1, this.bn1, this.pool1);
    y = stage(y, this.conv2, this.bn2, this.pool2);
    y = stage(y, this.conv3, this.bn3, this.pool3);
    y = stage(y, this.conv4, this.bn4, this.pool4);
    return this.fc1.forward(flatten(this.avgpool.forward(y), 1));
  }
}

/** M5 for raw waveforms (Dai et al. 2017). */
export function m5(opts: M5Options = {}): M5 {
  return new M5(opts);
}

/** Two k-tap convolutions with BN, and an identity or 1-tap projected shortcut (ResNet's BasicBlock in 1-D). */
export class BasicBlock1d extends Module {
  conv1: Conv1d;
  bn1: BatchNorm1d;
  relu: ReLU;
  conv2: Conv1d;
  bn2: BatchNorm1d;
  downsample: Sequential | null;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null, kernelSize = 3) {
    super();
    const pad = kernelSize >> 1;
    this.conv1 = new Conv1d(inplanes, planes, kernelSize, { stride, padding: pad, bias: false });
    this.bn1 = new BatchNorm1d(planes);
    this.relu = new ReLU();
    this.conv2 = new Conv1d(planes, planes, kernelSize, { padding: pad, bias: false });
    this.bn2 = new BatchNorm1d(planes);
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x)))));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(add(out, identity));
  }
}

/** Options of ResNet1d. */
export interface ResNet1dOptions {
  numClasses?: number;
  inChannels?: number;
  /** Blocks per stage (default [2, 2, 2, 2], ResNet-18's). */
  layers?: readonly number[];
  /** Channels of the stem and first stage; each later stage doubles them (default 64). */
  width?: number;
  /** Taps of the blocks' convolutions (odd, default 7: audio and ECG nets use wider 1-D kernels than 3). */
  kernelSize?: number;
  /** Taps and stride of the stem convolution (default 15 and 2), followed by a 3-tap stride-2 max pool. */
  stemKernel?: number;
  stemStride?: number;
}

/**
 * ResNet in 1-D: stem conv → BN → ReLU → max-pool 3/2, stages of BasicBlock1d (stride 2 from the second on,
 * channels doubling), global average pooling and a linear head. Module names follow torchvision's ResNet where
 * they can (conv1, bn1, maxpool, fc; the stages, whose number is an option, are `layers.0`, `layers.1` …).
 */
export class ResNet1d extends Module {
  conv1: Conv1d;
  bn1: BatchNorm1d;
  relu: ReLU;
  maxpool: MaxPool1d;
  layers: Sequential;
  avgpool: AdaptiveAvgPool1d;
  fc: Linear;

  constructor(opts: ResNet1dOptions = {}) {
    super();
    const layers = opts.layers ?? [2, 2, 2, 2];
    const width = opts.width ?? 64;
    const k = opts.kernelSize ?? 7;
    if (k % 2 !== 1) throw new Error(`ResNet1d: kernelSize must be odd (so blocks keep the length), got ${k}`);
    const stemK = opts.stemKernel ?? 15;
    this.conv1 = new Conv1d(opts.inChannels ?? 1, width, stemK, {
      stride: opts.stemStride ?? 2,
      padding: stemK >> 1,
      bias: false,
    });
    this.bn1 = new BatchNorm1d(width);
    this.relu = new ReLU();
    this.maxpool = new MaxPool1d(3, { stride: 2, padding: 1 });
    const stages: Sequential[] = [];
    let inplanes = width;
    layers.forEach((n, i) => {
      const planes = width << i;
      const stride = i === 0 ? 1 : 2;
      const down =
        stride !== 1 || inplanes !== planes
          ? new Sequential(new Conv1d(inplanes, planes, 1, { stride, bias: false }), new BatchNorm1d(planes))
          : null;
      const blocks: Module[] = [new BasicBlock1d(inplanes, planes, stride, down, k)];
      for (let b = 1; b < n; b++) blocks.push(new BasicBlock1d(planes, planes, 1, null, k));
      stages.push(new Sequential(...blocks));
      inplanes = planes;
    });
    this.layers = new Sequential(...stages);
    this.avgpool = new AdaptiveAvgPool1d(1);
    this.fc = new Linear(inplanes, opts.numClasses ?? 10);
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv1d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm1d) {
        if (m.weight) constant_(m.weight, 1);
        if (m.bias) constant_(m.bias, 0);
      }
    }
  }

  /** [N, C, L] signals → [N, numClasses] logits. */
  forward(x: Tensor): Tensor {
    const y = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    return this.fc.forward(flatten(this.avgpool.forward(this.layers.forward(y)), 1));
  }
}

/** An 18-layer 1-D ResNet ([2, 2, 2, 2] blocks). */
export function resnet1d18(opts: Omit<ResNet1dOptions, 'layers'> = {}): ResNet1d {
  return new ResNet1d({ ...opts, layers: [2, 2, 2, 2] });
}
