/**
 * Lite R-ASPP (Howard et al. 2019, "Searching for MobileNetV3" §6.3) exactly as torchvision 0.14's
 * `torchvision.models.segmentation.lraspp`: on a dilated MobileNetV3-Large, the stride-16 features go through a
 * 1×1 conv-BN-ReLU gated by a squeeze-and-excitation-like global branch (pool, 1×1 conv, sigmoid), are upsampled to
 * the stride-8 features and the two are classified by 1×1 convs and summed.
 */
import { ReLU, Sigmoid } from '../../nn/activation.js';
import { Conv2d } from '../../nn/conv.js';
import { Sequential } from '../../nn/container.js';
import { Module } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { AdaptiveAvgPool2d } from '../../nn/pooling.js';
import { add, mul } from '../../ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { IntermediateLayerGetter, type FeatureMaps } from '../feature-extraction.js';
import { mobilenet_v3_large } from '../mobilenetv3.js';
import { featureChannels, mobilenetStageIndices } from './deeplabv3.js';
import { checkImages, upsampleTo, type SegmentationOptions, type SegmentationOutput } from './utils.js';

/** torchvision's `LRASPPHead`: `cbr`, `scale`, `low_classifier`, `high_classifier`. */
export class LRASPPHead extends Module<[FeatureMaps], Tensor> {
  declare cbr: Sequential;
  declare scale: Sequential;
  declare lowClassifier: Conv2d;
  declare highClassifier: Conv2d;

  constructor(lowChannels: number, highChannels: number, numClasses: number, interChannels: number) {
    super();
    this.registerModule(
      'cbr',
      new Sequential(
        new Conv2d(highChannels, interChannels, 1, { bias: false }),
        new BatchNorm2d(interChannels),
        new ReLU(),
      ),
    );
    this.registerModule(
      'scale',
      new Sequential(
        new AdaptiveAvgPool2d(1),
        new Conv2d(highChannels, interChannels, 1, { bias: false }),
        new Sigmoid(),
      ),
    );
    this.registerModule('low_classifier', new Conv2d(lowChannels, numClasses, 1));
    this.registerModule('high_classifier', new Conv2d(interChannels, numClasses, 1));
  }

  forward(input: FeatureMaps): Tensor {
    const { low, high } = input;
    const x = upsampleTo(mul(this.cbr.forward(high), this.scale.forward(high)), low.shape.slice(2));
    return add(this.lowClassifier.forward(low), this.highClassifier.forward(x));
  }
}

/** torchvision's `LRASPP`: `backbone` returning `{low, high}` and `classifier` (an `LRASPPHead`); no aux head. */
export class LRASPP extends Module<[Tensor], SegmentationOutput> {
  declare backbone: Module<[Tensor], FeatureMaps>;
  declare classifier: LRASPPHead;

  constructor(
    backbone: Module<[Tensor], FeatureMaps>,
    lowChannels: number,
    highChannels: number,
    numClasses: number,
    interChannels = 128,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('classifier', new LRASPPHead(lowChannels, highChannels, numClasses, interChannels));
  }

  forward(x: Tensor): SegmentationOutput {
    checkImages('LRASPP', x);
    return { out: upsampleTo(this.classifier.forward(this.backbone.forward(x)), x.shape.slice(2)) };
  }
}

/** LR-ASPP on a dilated MobileNetV3-Large (3,221,538 parameters with 21 classes). `auxLoss` is not supported. */
export function lraspp_mobilenet_v3_large(opts: SegmentationOptions = {}): LRASPP {
  if (opts.auxLoss)
    throw new Error('lraspp_mobilenet_v3_large: this model has no auxiliary head (auxLoss must be false)');
  const features = mobilenet_v3_large({ dilated: true }).features;
  const stages = mobilenetStageIndices(features);
  const lowPos = stages[stages.length - 4],
    highPos = stages[stages.length - 1];
  return new LRASPP(
    new IntermediateLayerGetter(features, { [String(lowPos)]: 'low', [String(highPos)]: 'high' }),
    featureChannels(features.at(lowPos)),
    featureChannels(features.at(highPos)),
    opts.numClasses ?? 21,
  );
}
