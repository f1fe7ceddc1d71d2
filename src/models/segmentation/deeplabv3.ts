/**
 * DeepLabv3 (Chen et al. 2017, "Rethinking Atrous Convolution for Semantic Image Segmentation") exactly as
 * torchvision 0.14's `torchvision.models.segmentation.deeplabv3`: atrous spatial pyramid pooling (a 1×1 branch,
 * three dilated 3×3 branches and an image-pooling branch, concatenated and projected to 256 channels) on a dilated
 * ResNet (output stride 8) or MobileNetV3-Large (output stride 16), optional `FCNHead` auxiliary classifier.
 */
import { ReLU } from '../../nn/activation.js';
import { Conv2d } from '../../nn/conv.js';
import { ModuleList, Sequential } from '../../nn/container.js';
import { Dropout } from '../../nn/dropout.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { AdaptiveAvgPool2d } from '../../nn/pooling.js';
import { cat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { IntermediateLayerGetter } from '../feature-extraction.js';
import { mobilenet_v3_large, InvertedResidualV3 } from '../mobilenetv3.js';
import { resnet101, resnet50, type ResNet } from '../resnet.js';
import { FCNHead, SimpleSegmentationModel, upsampleTo, type SegmentationOptions } from './utils.js';

/** torchvision's `DeepLabV3`: a `SimpleSegmentationModel` (backbone, classifier, aux_classifier). */
export class DeepLabV3 extends SimpleSegmentationModel {}

/** One atrous branch: 3×3 convolution with dilation `dilation` (padding = dilation keeps the size), BN, ReLU. */
export class ASPPConv extends Sequential {
  constructor(inChannels: number, outChannels: number, dilation: number) {
    super(
      new Conv2d(inChannels, outChannels, 3, { padding: dilation, dilation, bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU(),
    );
  }
}

/** The image-level branch: global average pool, 1×1 conv, BN, ReLU, then bilinear back to the map's size. */
export class ASPPPooling extends Sequential {
  constructor(inChannels: number, outChannels: number) {
    super(
      new AdaptiveAvgPool2d(1),
      new Conv2d(inChannels, outChannels, 1, { bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU(),
    );
  }

  override forward(x: Tensor): Tensor {
    return upsampleTo(super.forward(x), x.shape.slice(2));
  }
}

/**
 * Atrous spatial pyramid pooling: `convs` = [1×1 branch, one `ASPPConv` per rate, `ASPPPooling`], concatenated
 * and projected by 1×1 conv, BN, ReLU, Dropout(0.5). `separable` (DeepLabv3+, Chen et al. 2018) makes the
 * atrous branches depthwise-separable; torchvision's ASPP is the default, non-separable one.
 */
export class ASPP extends Module {
  convs: ModuleList;
  project: Sequential;

  constructor(
    inChannels: number,
    atrousRates: readonly number[],
    outChannels = 256,
    opts: { separable?: boolean } = {},
  ) {
    super();
    if (atrousRates.length === 0 || !atrousRates.every((r) => Number.isInteger(r) && r >= 1)) {
      throw new Error(`ASPP: atrousRates must be positive integers, got ${JSON.stringify(atrousRates)}`);
    }
    const modules: AnyModule[] = [
      new Sequential(new Conv2d(inChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU()),
    ];
    for (const rate of atrousRates) {
      modules.push(
        opts.separable
          ? new SeparableASPPConv(inChannels, outChannels, rate)
          : new ASPPConv(inChannels, outChannels, rate),
      );
    }
    modules.push(new ASPPPooling(inChannels, outChannels));
    this.convs = new ModuleList(modules);
    this.project = new Sequential(
      new Conv2d(modules.length * outChannels, outChannels, 1, { bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU(),
      new Dropout(0.5),
    );
  }

  forward(x: Tensor): Tensor {
    const res: Tensor[] = [];
    for (const conv of this.convs) res.push(conv.forward(x) as Tensor);
    return this.project.forward(cat(res, 1));
  }
}

/**
 * Atrous separable convolution (DeepLabv3+ §3.2): a dilated depthwise 3×3 conv, BN, ReLU, then a pointwise 1×1
 * conv, BN, ReLU — the factorisation of Xception / MobileNet with BN and ReLU after each part, as the paper does.
 */
export class SeparableASPPConv extends Sequential {
  constructor(inChannels: number, outChannels: number, dilation: number) {
    super(
      new Conv2d(inChannels, inChannels, 3, { padding: dilation, dilation, groups: inChannels, bias: false }),
      new BatchNorm2d(inChannels),
      new ReLU(),
      new Conv2d(inChannels, outChannels, 1, { bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU(),
    );
  }
}

/** torchvision's `DeepLabHead`: ASPP(rates 12, 24, 36), 3×3 conv, BN, ReLU, 1×1 conv to `numClasses`. */
export class DeepLabHead extends Sequential {
  constructor(inChannels: number, numClasses: number) {
    super(
      new ASPP(inChannels, [12, 24, 36]),
      new Conv2d(256, 256, 3, { padding: 1, bias: false }),
      new BatchNorm2d(256),
      new ReLU(),
      new Conv2d(256, numClasses, 1),
    );
  }
}

function deeplabv3Resnet(backbone: ResNet, opts: SegmentationOptions): DeepLabV3 {
  const numClasses = opts.numClasses ?? 21;
  const returnLayers: Record<string, string> = { layer4: 'out' };
  if (opts.auxLoss) returnLayers.layer3 = 'aux';
  return new DeepLabV3(
    new IntermediateLayerGetter(backbone, returnLayers),
    new DeepLabHead(2048, numClasses),
    opts.auxLoss ? new FCNHead(1024, numClasses) : null,
  );
}

/**
 * The stage boundaries of a MobileNetV3 `features` Sequential as torchvision's segmentation builders find them:
 * the stem, every downsampling block (`_is_cn`), the last conv. [-1] has output stride 16 when dilated, [-4] 8.
 */
export function mobilenetStageIndices(features: Sequential): number[] {
  const idx = [0];
  for (let i = 0; i < features.length; i++) {
    const b = features.at(i);
    if (b instanceof InvertedResidualV3 && b.isCn) idx.push(i);
  }
  idx.push(features.length - 1);
  return idx;
}

/** Output channels of a MobileNetV3 `features` entry (a block or a Conv2dNormActivation). */
export function featureChannels(m: AnyModule): number {
  const c = (m as unknown as { outChannels?: number }).outChannels;
  if (typeof c !== 'number') throw new Error(`featureChannels: ${m.constructor.name} has no outChannels`);
  return c;
}

/** DeepLabv3-ResNet-50, output stride 8 (39,638,869 parameters with 21 classes; 42,004,074 with the aux head). */
export function deeplabv3_resnet50(opts: SegmentationOptions = {}): DeepLabV3 {
  return deeplabv3Resnet(resnet50({ replaceStrideWithDilation: [false, true, true] }), opts);
}

/** DeepLabv3-ResNet-101, output stride 8 (58,630,997 parameters with 21 classes; 60,996,202 with the aux head). */
export function deeplabv3_resnet101(opts: SegmentationOptions = {}): DeepLabV3 {
  return deeplabv3Resnet(resnet101({ replaceStrideWithDilation: [false, true, true] }), opts);
}

/**
 * DeepLabv3 on a dilated MobileNetV3-Large (output stride 16; the DeepLabHead on the last conv's 960 channels, the
 * aux head on the stride-8 stage's 40): 11,025,477 parameters with 21 classes (11,029,328 with the aux head).
 */
export function deeplabv3_mobilenet_v3_large(opts: SegmentationOptions = {}): DeepLabV3 {
  const numClasses = opts.numClasses ?? 21;
  const features = mobilenet_v3_large({ dilated: true }).features;
  const stages = mobilenetStageIndices(features);
  const outPos = stages[stages.length - 1],
    auxPos = stages[stages.length - 4];
  const returnLayers: Record<string, string> = { [String(outPos)]: 'out' };
  if (opts.auxLoss) returnLayers[String(auxPos)] = 'aux';
  return new DeepLabV3(
    new IntermediateLayerGetter(features, returnLayers),
    new DeepLabHead(featureChannels(features.at(outPos)), numClasses),
    opts.auxLoss ? new FCNHead(featureChannels(features.at(auxPos)), numClasses) : null,
  );
}
