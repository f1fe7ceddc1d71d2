/**
 * ResNet (He et al. 2015), ResNeXt (Xie et al. 2016) and Wide ResNet (Zagoruyko & Komodakis 2016) exactly as
 * torchvision 0.14's `torchvision.models.resnet`: same module tree and parameter names (`conv1`, `bn1`,
 * `layer1.0.conv1`, `layer2.0.downsample.0`, `fc` …), so a torchvision `state_dict` loads without renaming.
 */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { constant_, kaimingNormal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { ReLU } from '../nn/activation.js';
import { add } from '../ops/elementwise.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Builds a normalisation layer for `channels` channels (torchvision's `norm_layer`). */
export type NormLayerFactory = (channels: number) => AnyModule;

/** 3×3 convolution with padding (torchvision's `conv3x3`). */
export function conv3x3(inPlanes: number, outPlanes: number, stride = 1, groups = 1, dilation = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: dilation, groups, bias: false, dilation });
}

/** 1×1 convolution (torchvision's `conv1x1`). */
export function conv1x1(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

const defaultNorm: NormLayerFactory = (c) => new BatchNorm2d(c);

/** A residual block: the class of `BasicBlock` and `Bottleneck`, with the channel expansion as a static. */
export interface ResidualBlockClass {
  readonly expansion: number;
  new (
    inplanes: number,
    planes: number,
    stride: number,
    downsample: Sequential | null,
    groups: number,
    baseWidth: number,
    dilation: number,
    normLayer: NormLayerFactory,
  ): Module;
}

/** Two 3×3 convolutions with an identity (or projected) shortcut — ResNet-18/34. */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: AnyModule;
  relu: ReLU;
  conv2: Conv2d;
  bn2: AnyModule;
  downsample: Sequential | null;
  readonly stride: number;

  constructor(
    inplanes: number,
    planes: number,
    stride = 1,
    downsample: Sequential | null = null,
    groups = 1,
    baseWidth = 64,
    dilation = 1,
    normLayer: NormLayerFactory = defaultNorm,
  ) {
    super();
    if (groups !== 1 || baseWidth !== 64) throw new Error('BasicBlock: only supports groups=1 and baseWidth=64');
    if (dilation > 1) throw new Error('BasicBlock: dilation > 1 not supported');
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = normLayer(planes);
    this.relu = new ReLU();
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = normLayer(planes);
    this.downsample = downsample;
    this.stride = stride;
  }

  forward(x: Tensor): Tensor {
    let out = this.conv1.forward(x);
    out = this.bn1.forward(out) as Tensor;
    out = this.relu.forward(out);
    out = this.conv2.forward(out);
    out = this.bn2.forward(out) as Tensor;
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(add(out, identity));
  }
}

/**
 * 1×1 reduce, 3×3 (grouped, strided — the "ResNet v1.5" placement torchvision uses), 1×1 expand by 4 —
 * ResNet-50/101/152, ResNeXt and Wide ResNet.
 */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: AnyModule;
  conv2: Conv2d;
  bn2: AnyModule;
  conv3: Conv2d;
  bn3: AnyModule;
  relu: ReLU;
  downsample: Sequential | null;
  readonly stride: number;

  constructor(
    inplanes: number,
    planes: number,
    stride = 1,
    downsample: Sequential | null = null,
    groups = 1,
    baseWidth = 64,
    dilation = 1,
    normLayer: NormLayerFactory = defaultNorm,
  ) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = conv1x1(inplanes, width);
    this.bn1 = normLayer(width);
    this.conv2 = conv3x3(width, width, stride, groups, dilation);
    this.bn2 = normLayer(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = normLayer(planes * Bottleneck.expansion);
    this.relu = new ReLU();
    this.downsample = downsample;
    this.stride = stride;
  }

  forward(x: Tensor): Tensor {
    let out = this.conv1.forward(x);
    out = this.bn1.forward(out) as Tensor;
    out = this.relu.forward(out);
    out = this.conv2.forward(out);
    out = this.bn2.forward(out) as Tensor;
    out = this.relu.forward(out);
    out = this.conv3.forward(out);
    out = this.bn3.forward(out) as Tensor;
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.relu.forward(add(out, identity));
  }
}

/** Options of the ResNet builders (torchvision's keyword arguments in camelCase). */
export interface ResNetOptions {
  /** Size of the classifier output (default 1000). */
  numClasses?: number;
  /** Zero-initialise the last BN of each residual branch so each block starts as the identity (default false). */
  zeroInitResidual?: boolean;
  /** Groups of the 3×3 convolutions (ResNeXt cardinality; default 1). */
  groups?: number;
  /** Channels per group of the bottleneck (default 64; 128 for Wide ResNet-50-2). */
  widthPerGroup?: number;
  /** Per stage 2–4: replace the stride-2 by dilation (DeepLab-style output stride). */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
  /** Normalisation layer factory (default BatchNorm2d). */
  normLayer?: NormLayerFactory;
}

/** The ResNet trunk and head (torchvision's `ResNet`). */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1: AnyModule;
  relu: ReLU;
  maxpool: MaxPool2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;
  private inplanes = 64;
  private dilation = 1;
  private readonly groups: number;
  private readonly baseWidth: number;
  private readonly normLayer: NormLayerFactory;

  constructor(block: ResidualBlockClass, layers: readonly [number, number, number, number], opts: ResNetOptions = {}) {
    super();
    const numClasses = opts.numClasses ?? 1000;
    this.normLayer = opts.normLayer ?? defaultNorm;
    const rswd = opts.replaceStrideWithDilation ?? [false, false, false];
    if (rswd.length !== 3)
      throw new Error(`ResNet: replaceStrideWithDilation should have 3 elements, got ${rswd.length}`);
    this.groups = opts.groups ?? 1;
    this.baseWidth = opts.widthPerGroup ?? 64;
    this.conv1 = new Conv2d(3, this.inplanes, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = this.normLayer(this.inplanes);
    this.relu = new ReLU();
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = this.makeLayer(block, 64, layers[0]);
    this.layer2 = this.makeLayer(block, 128, layers[1], 2, rswd[0]);
    this.layer3 = this.makeLayer(block, 256, layers[2], 2, rswd[1]);
    this.layer4 = this.makeLayer(block, 512, layers[3], 2, rswd[2]);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.fc = new Linear(512 * block.expansion, numClasses);

    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        if (m.weight) constant_(m.weight, 1);
        if (m.bias) constant_(m.bias, 0);
      }
    }
    if (opts.zeroInitResidual) {
      for (const [, m] of this.namedModules()) {
        const last = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : null;
        if (last instanceof BatchNorm2d && last.weight) constant_(last.weight, 0);
      }
    }
  }

  private makeLayer(block: ResidualBlockClass, planes: number, blocks: number, stride = 1, dilate = false): Sequential {
    let downsample: Sequential | null = null;
    const previousDilation = this.dilation;
    if (dilate) {
      this.dilation *= stride;
      stride = 1;
    }
    if (stride !== 1 || this.inplanes !== planes * block.expansion) {
      downsample = new Sequential(
        conv1x1(this.inplanes, planes * block.expansion, stride),
        this.normLayer(planes * block.expansion),
      );
    }
    const layers: Module[] = [
      new block(
        this.inplanes,
        planes,
        stride,
        downsample,
        this.groups,
        this.baseWidth,
        previousDilation,
        this.normLayer,
      ),
    ];
    this.inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) {
      layers.push(
        new block(this.inplanes, planes, 1, null, this.groups, this.baseWidth, this.dilation, this.normLayer),
      );
    }
    return new Sequential(...(layers as AnyModule[]));
  }

  /** The trunk up to global pooling: [N, 512·expansion] features (what transfer learning reuses). */
  features(x: Tensor): Tensor {
    x = this.conv1.forward(x);
    x = this.bn1.forward(x) as Tensor;
    x = this.relu.forward(x);
    x = this.maxpool.forward(x) as Tensor;
    x = this.layer1.forward(x);
    x = this.layer2.forward(x);
    x = this.layer3.forward(x);
    x = this.layer4.forward(x);
    x = this.avgpool.forward(x) as Tensor;
    return flatten(x, 1);
  }

  forward(x: Tensor): Tensor {
    return this.fc.forward(this.features(x));
  }
}

/** ResNet-18 (11,689,512 parameters with 1000 classes). */
export function resnet18(opts: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], opts);
}

/** ResNet-34 (21,797,672 parameters). */
export function resnet34(opts: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], opts);
}

/** ResNet-50 (25,557,032 parameters). */
export function resnet50(opts: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], opts);
}

/** ResNet-101 (44,549,160 parameters). */
export function resnet101(opts: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], opts);
}

/** ResNet-152 (60,192,808 parameters). */
export function resnet152(opts: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 8, 36, 3], opts);
}

/** ResNeXt-50 32×4d (25,028,904 parameters). */
export function resnext50_32x4d(opts: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], { ...opts, groups: 32, widthPerGroup: 4 });
}

/** ResNeXt-101 32×8d (88,791,336 parameters). */
export function resnext101_32x8d(opts: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], { ...opts, groups: 32, widthPerGroup: 8 });
}

/** Wide ResNet-50-2: bottleneck twice as wide (68,883,240 parameters). */
export function wide_resnet50_2(opts: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], { ...opts, widthPerGroup: 128 });
}

/** Wide ResNet-101-2 (126,886,696 parameters). */
export function wide_resnet101_2(opts: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], { ...opts, widthPerGroup: 128 });
}
