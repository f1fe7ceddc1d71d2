/**
 * Video ResNets exactly as torchvision 0.14's `torchvision.models.video.resnet` (Tran et al. 2018, "A Closer Look at
 * Spatiotemporal Convolutions for Action Recognition"): R3D-18 (full 3×3×3 convolutions), MC3-18 (3-D convolutions
 * in layer1 only, then 2-D 1×3×3 ones — "mixed convolutions") and R(2+1)D-18 (each 3×3×3 convolution factorised
 * into a 1×3×3 spatial and a 3×1×1 temporal one, with the middle width chosen to keep the parameter count).
 * Input [N, 3, T, H, W]; same module tree and parameter names (`stem.0`, `layer1.0.conv1.0`, `fc` …), so a
 * torchvision state dict loads unchanged. 400 Kinetics classes by default.
 */
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv3d } from '../nn/convnd.js';
import { constant_, kaimingNormal_, normal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm3d } from '../nn/normalization.js';
import { AdaptiveAvgPool3d } from '../nn/poolingnd.js';
import { add } from '../ops/elementwise.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** torchvision's conv builders: (inPlanes, outPlanes, midPlanes, stride) → module, plus the stride of the shortcut. */
export interface VideoConvBuilder {
  (inPlanes: number, outPlanes: number, midPlanes: number, stride?: number): Module;
  /** [t, h, w] stride of the 1×1×1 shortcut convolution for a block of stride `stride`. */
  downsampleStride(stride: number): [number, number, number];
}

/** 3×3×3 convolution (torchvision's Conv3DSimple). */
export const conv3dSimple: VideoConvBuilder = Object.assign(
  (inPlanes: number, outPlanes: number, _mid: number, stride = 1): Module =>
    new Conv3d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false }),
  { downsampleStride: (s: number): [number, number, number] => [s, s, s] },
);

/** 1×3×3 convolution, no temporal extent or stride (torchvision's Conv3DNoTemporal). */
export const conv3dNoTemporal: VideoConvBuilder = Object.assign(
  (inPlanes: number, outPlanes: number, _mid: number, stride = 1): Module =>
    new Conv3d(inPlanes, outPlanes, [1, 3, 3], { stride: [1, stride, stride], padding: [0, 1, 1], bias: false }),
  { downsampleStride: (s: number): [number, number, number] => [1, s, s] },
);

/** (2+1)-D factorisation: 1×3×3 conv to midPlanes, BN, ReLU, 3×1×1 conv (torchvision's Conv2Plus1D, a Sequential). */
export const conv2Plus1d: VideoConvBuilder = Object.assign(
  (inPlanes: number, outPlanes: number, midPlanes: number, stride = 1): Module =>
    new Sequential(
      new Conv3d(inPlanes, midPlanes, [1, 3, 3], { stride: [1, stride, stride], padding: [0, 1, 1], bias: false }),
      new BatchNorm3d(midPlanes),
      new ReLU(),
      new Conv3d(midPlanes, outPlanes, [3, 1, 1], { stride: [stride, 1, 1], padding: [1, 0, 0], bias: false }),
    ),
  { downsampleStride: (s: number): [number, number, number] => [s, s, s] },
);

/** Two convolutions (conv → BN → ReLU, conv → BN) with an identity or 1×1×1-projected shortcut. */
export class VideoBasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Sequential;
  conv2: Sequential;
  relu: ReLU;
  downsample: Sequential | null;

  constructor(
    inplanes: number,
    planes: number,
    convBuilder: VideoConvBuilder,
    readonly stride = 1,
    downsample: Sequential | null = null,
  ) {
    super();
    // R(2+1)D's middle width: the parameter count of a full t×d×d convolution (Tran et al. 2018, §3.5)
    const midplanes = Math.floor((inplanes * planes * 3 * 3 * 3) / (inplanes * 3 * 3 + 3 * planes));
    this.conv1 = new Sequential(convBuilder(inplanes, planes, midplanes, stride), new BatchNorm3d(planes), new ReLU());
    this.conv2 = new Sequential(convBuilder(planes, planes, midplanes), new BatchNorm3d(planes));
    this.relu = new ReLU();
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    const out = this.conv2.forward(this.conv1.forward(x));
    const residual = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(add(out, residual));
  }
}

/** Conv 3×7×7 stride (1, 2, 2) → BN → ReLU (R3D and MC3). */
export function basicStem(): Sequential {
  return new Sequential(
    new Conv3d(3, 64, [3, 7, 7], { stride: [1, 2, 2], padding: [1, 3, 3], bias: false }),
    new BatchNorm3d(64),
    new ReLU(),
  );
}

/** The factorised stem of R(2+1)D: 1×7×7 to 45 channels, then 3×1×1 to 64, each with BN and ReLU. */
export function r2plus1dStem(): Sequential {
  return new Sequential(
    new Conv3d(3, 45, [1, 7, 7], { stride: [1, 2, 2], padding: [0, 3, 3], bias: false }),
    new BatchNorm3d(45),
    new ReLU(),
    new Conv3d(45, 64, [3, 1, 1], { stride: [1, 1, 1], padding: [1, 0, 0], bias: false }),
    new BatchNorm3d(64),
    new ReLU(),
  );
}

/** Options of the video ResNet builders. */
export interface VideoResNetOptions {
  /** Output classes (default 400, Kinetics-400). */
  numClasses?: number;
  /** Zero the last BN weight of each block so every residual branch starts as the identity (default false). */
  zeroInitResidual?: boolean;
}

/** torchvision's VideoResNet: stem → four stages of blocks (64, 128, 256, 512 channels) → global average pool → fc. */
export class VideoResNet extends Module {
  stem: Sequential;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool3d;
  fc: Linear;
  private inplanes = 64;

  constructor(
    convMakers: readonly VideoConvBuilder[],
    layers: readonly number[],
    stem: () => Sequential,
    opts: VideoResNetOptions = {},
  ) {
    super();
    if (convMakers.length !== 4 || layers.length !== 4)
      throw new Error(
        `VideoResNet: expected 4 conv makers and 4 layer depths, got ${convMakers.length} and ${layers.length}`,
      );
    this.stem = stem();
    this.layer1 = this.makeLayer(convMakers[0], 64, layers[0], 1);
    this.layer2 = this.makeLayer(convMakers[1], 128, layers[1], 2);
    this.layer3 = this.makeLayer(convMakers[2], 256, layers[2], 2);
    this.layer4 = this.makeLayer(convMakers[3], 512, layers[3], 2);
    this.avgpool = new AdaptiveAvgPool3d([1, 1, 1]);
    this.fc = new Linear(512 * VideoBasicBlock.expansion, opts.numClasses ?? 400);
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv3d) {
        kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        if (m.bias) constant_(m.bias, 0);
      } else if (m instanceof BatchNorm3d) {
        if (m.weight) constant_(m.weight, 1);
        if (m.bias) constant_(m.bias, 0);
      } else if (m instanceof Linear) {
        normal_(m.weight, 0, 0.01);
        if (m.bias) constant_(m.bias, 0);
      }
    }
    if (opts.zeroInitResidual) {
      for (const [, m] of this.namedModules()) {
        if (m instanceof VideoBasicBlock) {
          const bn = m.conv2.at(1);
          if (bn instanceof BatchNorm3d && bn.weight) constant_(bn.weight, 0);
        }
      }
    }
  }

  private makeLayer(convBuilder: VideoConvBuilder, planes: number, blocks: number, stride: number): Sequential {
    let downsample: Sequential | null = null;
    if (stride !== 1 || this.inplanes !== planes * VideoBasicBlock.expansion) {
      downsample = new Sequential(
        new Conv3d(this.inplanes, planes * VideoBasicBlock.expansion, 1, {
          stride: convBuilder.downsampleStride(stride),
          bias: false,
        }),
        new BatchNorm3d(planes * VideoBasicBlock.expansion),
      );
    }
    const layers: Module[] = [new VideoBasicBlock(this.inplanes, planes, convBuilder, stride, downsample)];
    this.inplanes = planes * VideoBasicBlock.expansion;
    for (let i = 1; i < blocks; i++) layers.push(new VideoBasicBlock(this.inplanes, planes, convBuilder));
    return new Sequential(...layers);
  }

  /** [N, 3, T, H, W] clips → [N, numClasses] logits. */
  forward(x: Tensor): Tensor {
    let y = this.stem.forward(x);
    y = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(y))));
    return this.fc.forward(flatten(this.avgpool.forward(y), 1));
  }
}

/** R3D-18: 18 layers of 3×3×3 convolutions (33,371,472 parameters with 400 classes). */
export function r3d_18(opts: VideoResNetOptions = {}): VideoResNet {
  return new VideoResNet([conv3dSimple, conv3dSimple, conv3dSimple, conv3dSimple], [2, 2, 2, 2], basicStem, opts);
}

/** MC3-18: 3-D convolutions in layer1, 1×3×3 ones after (11,695,440 parameters with 400 classes). */
export function mc3_18(opts: VideoResNetOptions = {}): VideoResNet {
  return new VideoResNet(
    [conv3dSimple, conv3dNoTemporal, conv3dNoTemporal, conv3dNoTemporal],
    [2, 2, 2, 2],
    basicStem,
    opts,
  );
}

/** R(2+1)D-18: every 3×3×3 convolution factorised into 1×3×3 + 3×1×1 (31,505,325 parameters with 400 classes). */
export function r2plus1d_18(opts: VideoResNetOptions = {}): VideoResNet {
  return new VideoResNet([conv2Plus1d, conv2Plus1d, conv2Plus1d, conv2Plus1d], [2, 2, 2, 2], r2plus1dStem, opts);
}
