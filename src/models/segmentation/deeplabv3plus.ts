/**
 * DeepLabv3+ (Chen, Zhu, Papandreou, Schroff & Adam 2018, "Encoder-Decoder with Atrous Separable Convolution for
 * Semantic Image Segmentation"): a backbone dilated to output stride 16 (ASPP rates 6, 12, 18) or 8 (12, 24, 36),
 * ASPP with an image-pooling branch, and a decoder that upsamples the ASPP output ×4 bilinearly, concatenates the
 * stride-4 low-level features reduced to 48 channels by a 1×1 conv, refines with two 3×3 convs (256 channels) and
 * classifies; the logits are upsampled to the input size. With `separable` (default, §3.2 of the paper) the ASPP
 * branches and the decoder convs are atrous depthwise-separable convolutions.
 * Backbones: ResNet-50/101 (torchvision's, dilated as its `replaceStrideWithDilation` does; low level `layer1`) and
 * MobileNetV2 (dilated here: strides past the output stride become dilation; low level `features.3`, 24 channels).
 */
import { ReLU } from '../../nn/activation.js';
import { Conv2d } from '../../nn/conv.js';
import { Sequential } from '../../nn/container.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { noGrad } from '../../autograd/grad-mode.js';
import { copy_ } from '../../ops/inplace.js';
import { cat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { IntermediateLayerGetter, type FeatureMaps } from '../feature-extraction.js';
import { Conv2dNormActivation } from '../layers.js';
import { InvertedResidual, mobilenet_v2 } from '../mobilenetv2.js';
import { resnet101, resnet50 } from '../resnet.js';
import { ASPP, SeparableASPPConv } from './deeplabv3.js';
import { checkImages, upsampleTo, type SegmentationOutput } from './utils.js';

/** Options of `deeplabv3plus`. */
export interface DeepLabV3PlusOptions {
  /** Output classes (default 21). */
  numClasses?: number;
  /** 'resnet50' (default), 'resnet101' or 'mobilenet_v2'. */
  backbone?: 'resnet50' | 'resnet101' | 'mobilenet_v2';
  /** 16 (default; ASPP rates 6, 12, 18) or 8 (rates 12, 24, 36). */
  outputStride?: 8 | 16;
  /** Atrous separable convolutions in the ASPP and the decoder (default true). */
  separable?: boolean;
}

/** `aspp`, `project` (low-level 1×1 → 48), `decoder` (two 3×3 → 256), `classifier` (1×1). */
export class DeepLabV3PlusHead extends Module<[FeatureMaps], Tensor> {
  aspp: ASPP;
  project: Sequential;
  decoder: Sequential;
  classifier: Conv2d;

  constructor(
    inChannels: number,
    lowChannels: number,
    numClasses: number,
    rates: readonly number[],
    separable: boolean,
  ) {
    super();
    this.aspp = new ASPP(inChannels, rates, 256, { separable });
    this.project = new Sequential(new Conv2d(lowChannels, 48, 1, { bias: false }), new BatchNorm2d(48), new ReLU());
    const conv3 = (i: number, o: number): AnyModule =>
      separable
        ? new SeparableASPPConv(i, o, 1)
        : new Sequential(new Conv2d(i, o, 3, { padding: 1, bias: false }), new BatchNorm2d(o), new ReLU());
    this.decoder = new Sequential(conv3(256 + 48, 256), conv3(256, 256));
    this.classifier = new Conv2d(256, numClasses, 1);
  }

  forward(f: FeatureMaps): Tensor {
    const low = this.project.forward(f.low);
    const high = upsampleTo(this.aspp.forward(f.out), low.shape.slice(2));
    return this.classifier.forward(this.decoder.forward(cat([high, low], 1)));
  }
}

/** DeepLabv3+: `backbone` (returns `{low, out}`) and `classifier` (a `DeepLabV3PlusHead`). */
export class DeepLabV3Plus extends Module<[Tensor], SegmentationOutput> {
  backbone: Module<[Tensor], FeatureMaps>;
  classifier: DeepLabV3PlusHead;

  constructor(backbone: Module<[Tensor], FeatureMaps>, classifier: DeepLabV3PlusHead) {
    super();
    this.backbone = backbone;
    this.classifier = classifier;
  }

  forward(x: Tensor): SegmentationOutput {
    checkImages('DeepLabV3Plus', x);
    return { out: upsampleTo(this.classifier.forward(this.backbone.forward(x)), x.shape.slice(2)) };
  }
}

/**
 * Turns the stride-2 convolutions of a MobileNetV2 `features` past `outputStride` into stride 1 with growing
 * dilation (the block that would have reached the stride keeps the previous rate, later blocks use the doubled
 * one, as torchvision's ResNet does), copying the weights. Returns the features for chaining.
 */
export function dilateMobileNetV2(features: Sequential, outputStride: number): Sequential {
  let stride = 1,
    dilation = 1;
  for (const block of features) {
    const cna =
      block instanceof InvertedResidual ? findStridedConv(block) : block instanceof Conv2dNormActivation ? block : null;
    if (!cna) continue;
    const conv = cna.at(0) as Conv2d;
    let d = dilation;
    if (conv.stride[0] === 2) {
      if (stride * 2 > outputStride) {
        dilation *= 2;
        const k = conv.kernelSize[0];
        const repl = new Conv2d(conv.inChannels, conv.outChannels, k, {
          stride: 1,
          padding: Math.floor((k - 1) / 2) * d,
          dilation: d,
          groups: conv.groups,
          bias: conv.bias !== null,
        });
        noGrad(() => {
          copy_(repl.weight, conv.weight);
          if (repl.bias && conv.bias) copy_(repl.bias, conv.bias);
        });
        cna.set(0, repl);
        continue;
      }
      stride *= 2;
    } else if (conv.kernelSize[0] > 1 && dilation > 1) {
      d = dilation;
      const k = conv.kernelSize[0];
      const repl = new Conv2d(conv.inChannels, conv.outChannels, k, {
        stride: 1,
        padding: Math.floor((k - 1) / 2) * d,
        dilation: d,
        groups: conv.groups,
        bias: conv.bias !== null,
      });
      noGrad(() => {
        copy_(repl.weight, conv.weight);
        if (repl.bias && conv.bias) copy_(repl.bias, conv.bias);
      });
      cna.set(0, repl);
    }
  }
  return features;
}

/** The depthwise Conv2dNormActivation of an InvertedResidual (the only one with a 3×3 kernel). */
function findStridedConv(block: InvertedResidual): Conv2dNormActivation | null {
  for (const m of block.modules()) {
    if (m instanceof Conv2dNormActivation && (m.at(0) as Conv2d).kernelSize[0] === 3) return m;
  }
  return null;
}

/**
 * DeepLabv3+ (see the file comment). Parameters with 21 classes: ResNet-50 separable 26,696,133; ResNet-101
 * 45,688,261; MobileNetV2 2,719,813; ResNet-50 with plain convolutions 40,352,181 (the same at output stride 8 and 16).
 */
export function deeplabv3plus(opts: DeepLabV3PlusOptions = {}): DeepLabV3Plus {
  const nc = opts.numClasses ?? 21,
    os = opts.outputStride ?? 16,
    separable = opts.separable ?? true;
  if (os !== 8 && os !== 16) throw new Error(`deeplabv3plus: outputStride must be 8 or 16, got ${String(os)}`);
  const rates = os === 16 ? [6, 12, 18] : [12, 24, 36];
  const name = opts.backbone ?? 'resnet50';
  if (name === 'resnet50' || name === 'resnet101') {
    const rswd: [boolean, boolean, boolean] = os === 16 ? [false, false, true] : [false, true, true];
    const r = (name === 'resnet50' ? resnet50 : resnet101)({ replaceStrideWithDilation: rswd });
    return new DeepLabV3Plus(
      new IntermediateLayerGetter(r, { layer1: 'low', layer4: 'out' }),
      new DeepLabV3PlusHead(2048, 256, nc, rates, separable),
    );
  }
  if (name === 'mobilenet_v2') {
    // Up to the last inverted residual (320 channels); the 1×1 conv to 1280 is a classification head.
    const features = dilateMobileNetV2(mobilenet_v2().features, os).slice(0, 18);
    return new DeepLabV3Plus(
      new IntermediateLayerGetter(features, { 3: 'low', 17: 'out' }),
      new DeepLabV3PlusHead(320, 24, nc, rates, separable),
    );
  }
  throw new Error(`deeplabv3plus: backbone must be 'resnet50', 'resnet101' or 'mobilenet_v2', got '${String(name)}'`);
}
