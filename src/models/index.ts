/**
 * `models`: the model zoo (torchvision-exact architectures and parameter names, plus CPU-sized models), a registry
 * by name for the CLI, `summary`, ImageNet class names/preprocessing and `predict`.
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { Module } from '../nn/module.js';
import { softmax } from '../ops/softmax.js';
import { unsqueeze } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import * as resnetFamily from './resnet.js';
import {
  fasterrcnn_mobilenet_v3_large_fpn,
  fasterrcnn_resnet50_fpn,
  fcos_resnet50_fpn,
  maskrcnn_resnet50_fpn,
  retinanet_resnet50_fpn,
  ssd300_vgg16,
  ssdlite320_mobilenet_v3_large,
  type DetectionTrainTarget,
  type Detections,
} from './detection/index.js';
import * as vggFamily from './vgg.js';
import { alexnet } from './alexnet.js';
import { googlenet } from './googlenet.js';
import { inception_v3 } from './inception.js';
import { densenet121, densenet161, densenet169, densenet201 } from './densenet.js';
import { mobilenet_v2 } from './mobilenetv2.js';
import { mobilenet_v3_large, mobilenet_v3_small } from './mobilenetv3.js';
import { vit_b_16, vit_b_32, vit_l_16, vit_tiny } from './vision-transformer.js';
import { lenet5 } from './lenet.js';
import { mobilenet_v1 } from './mobilenetv1.js';
import { resnet20, resnet32, resnet44, resnet56, resnet110, wrn28_10 } from './cifar-resnet.js';
import { se_resnet18, se_resnet34, se_resnet50 } from './senet.js';
import { xception } from './xception.js';
import { smallCnn, smallVgg, type SmallCnnOptions } from './small-cnn.js';
import { yolox_nano as yoloxNanoBuilder, yolox_s as yoloxSBuilder, yolox_tiny as yoloxTinyBuilder } from './yolox.js';
// registers nn.fuse's rules for ResNet blocks and IntermediateLayerGetter (docs/fusion.md)
import './fusion-rules.js';
export { smallCnn, smallVgg, type SmallCnnOptions, type SmallVggOptions } from './small-cnn.js';

export * from './resnet.js';
export * from './vgg.js';
export * from './alexnet.js';
export * from './googlenet.js';
export * from './inception.js';
export * from './densenet.js';
export * from './mobilenetv2.js';
export * from './mobilenetv3.js';
export * from './vision-transformer.js';
export * from './lenet.js';
export * from './mobilenetv1.js';
export * from './cifar-resnet.js';
export * from './senet.js';
export * from './xception.js';
export { freeze, unfreeze } from './freeze.js';
export * as detection from './detection/index.js';
export * from './siamese.js';
export * from './autoencoder.js';
export * from './gan.js';
export * from './pix2pix.js';
export * from './restoration.js';
export {
  makeDivisible,
  Conv2dNormActivation,
  type ConvNormActOptions,
  type NormFactory,
  type ActivationFactory,
} from './layers.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './summary.js';
export {
  IMAGENET_CLASSES,
  IMAGENET_MEAN,
  IMAGENET_STD,
  imagenetPreprocess,
  type ImagenetPreprocessOptions,
} from './imagenet.js';

/** A classification model: image batch [N, C, H, W] → logits [N, numClasses]. */
export type ClassifierModule = Module<[Tensor], Tensor>;

/** Options every registered builder understands (each builder also takes its own, see its docs). */
export interface ModelOptions {
  numClasses?: number;
  [option: string]: unknown;
}

/** A registry entry. */
export interface ModelInfo {
  /** Registry name (torchvision's where it exists: 'resnet18', 'vgg16_bn', 'mobilenet_v3_small'). */
  name: string;
  /** One line for `tatami models` / `--help`. */
  description: string;
  /** The input the model is meant for, [C, H, W] (ImageNet models: [3, 224, 224]). */
  inputShape: [number, number, number];
  /** Classes of the default head. */
  numClasses: number;
  /** Whether the architecture and parameter names are torchvision 0.14's (its state dicts load unchanged). */
  torchvision: boolean;
  /**
   * 'classify' (default): image batch → logits, built by `getModel`. 'detect': a detector with torchvision's
   * contract (`forward(images, targets?)`: a loss dict in training, detections in eval), built by `getDetector`.
   */
  task?: 'classify' | 'detect';
  /** Parameters with the default head (shown by `tatami models`). */
  numParameters?: number;
  build(opts?: ModelOptions): ClassifierModule;
}

/** A detector as the registry builds it: torchvision's GeneralizedRCNN / RetinaNet / SSD / FCOS contract. */
export type DetectorModule = Module<
  [readonly Tensor[], (readonly DetectionTrainTarget[])?],
  Detections[] | Record<string, Tensor>
>;

const registry = new Map<string, ModelInfo>();

/** Adds (or replaces) a model in the registry (how the CLI's own models and user models join the zoo). */
export function registerModel(info: ModelInfo): void {
  if (!/^[a-z0-9_]+$/.test(info.name))
    throw new Error(`registerModel: name must be lower_snake_case, got '${info.name}'`);
  registry.set(info.name, info);
}

/** The registered models, sorted by name. */
export function listModels(): ModelInfo[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The registry entry of `name` (throws listing the known names). */
export function getModelInfo(name: string): ModelInfo {
  const info = registry.get(name);
  if (!info)
    throw new Error(
      `models: unknown model '${name}'. Known models: ${listModels()
        .map((m) => m.name)
        .join(', ')}`,
    );
  return info;
}

/** Builds the registered classifier `name` with its builder options (`{ numClasses }` …); detectors: `getDetector`. */
export function getModel(name: string, opts: ModelOptions = {}): ClassifierModule {
  const info = getModelInfo(name);
  if (info.task === 'detect')
    throw new Error(`models.getModel: '${name}' is a detector, not a classifier; build it with getDetector('${name}')`);
  return info.build(opts);
}

/**
 * Builds the registered detector `name` (`{ numClasses }` with background, plus the builder's own options, e.g.
 * `minSize`/`maxSize` for the R-CNN family): `getDetector('fasterrcnn_mobilenet_v3_large_fpn', { numClasses: 6 })`.
 */
export function getDetector(name: string, opts: ModelOptions = {}): DetectorModule {
  const info = getModelInfo(name);
  if (info.task !== 'detect')
    throw new Error(
      `models.getDetector: '${name}' is not a detector. Detectors: ${listModels()
        .filter((m) => m.task === 'detect')
        .map((m) => m.name)
        .join(', ')}`,
    );
  return info.build(opts) as unknown as DetectorModule;
}

const IMAGENET: [number, number, number] = [3, 224, 224];
type Builder = (opts?: ModelOptions) => ClassifierModule;
function tv(name: string, description: string, build: Builder, inputShape = IMAGENET): void {
  registerModel({ name, description, inputShape, numClasses: 1000, torchvision: true, build });
}

tv('resnet18', 'ResNet-18 (11.7 M params)', resnetFamily.resnet18);
tv('resnet34', 'ResNet-34 (21.8 M params)', resnetFamily.resnet34);
tv('resnet50', 'ResNet-50 (25.6 M params)', resnetFamily.resnet50);
tv('resnet101', 'ResNet-101 (44.5 M params)', resnetFamily.resnet101);
tv('resnet152', 'ResNet-152 (60.2 M params)', resnetFamily.resnet152);
tv('resnext50_32x4d', 'ResNeXt-50 32×4d (25.0 M params)', resnetFamily.resnext50_32x4d);
tv('resnext101_32x8d', 'ResNeXt-101 32×8d (88.8 M params)', resnetFamily.resnext101_32x8d);
tv('wide_resnet50_2', 'Wide ResNet-50-2 (68.9 M params)', resnetFamily.wide_resnet50_2);
tv('wide_resnet101_2', 'Wide ResNet-101-2 (126.9 M params)', resnetFamily.wide_resnet101_2);

tv('alexnet', 'AlexNet (61.1 M params)', alexnet as Builder);
for (const v of ['vgg11', 'vgg13', 'vgg16', 'vgg19'] as const) {
  tv(v, `VGG-${v.slice(3)}`, vggFamily[v]);
  tv(`${v}_bn`, `VGG-${v.slice(3)} with batch norm`, vggFamily[`${v}_bn`]);
}
tv('googlenet', 'GoogLeNet / Inception v1 (6.6 M params; auxLogits option)', googlenet as Builder);
tv(
  'inception_v3',
  'Inception v3 (27.2 M params with the aux head; 299×299 input)',
  inception_v3 as Builder,
  [3, 299, 299],
);
tv('densenet121', 'DenseNet-121 (8.0 M params)', densenet121 as Builder);
tv('densenet161', 'DenseNet-161 (28.7 M params)', densenet161 as Builder);
tv('densenet169', 'DenseNet-169 (14.1 M params)', densenet169 as Builder);
tv('densenet201', 'DenseNet-201 (20.0 M params)', densenet201 as Builder);
tv('mobilenet_v2', 'MobileNetV2 (3.5 M params)', mobilenet_v2 as Builder);
tv('mobilenet_v3_large', 'MobileNetV3-Large (5.5 M params)', mobilenet_v3_large as Builder);
tv('mobilenet_v3_small', 'MobileNetV3-Small (2.5 M params)', mobilenet_v3_small as Builder);
tv('vit_b_16', 'ViT-B/16 (86.6 M params; imageSize option)', vit_b_16 as Builder);
tv('vit_b_32', 'ViT-B/32 (88.2 M params)', vit_b_32 as Builder);
tv('vit_l_16', 'ViT-L/16 (304.3 M params)', vit_l_16 as Builder);
registerModel({
  name: 'vit_tiny',
  description: 'Small ViT for 32×32 images that trains on a CPU (0.8 M params)',
  inputShape: [3, 32, 32],
  numClasses: 10,
  torchvision: false,
  build: vit_tiny as Builder,
});

function own(
  name: string,
  description: string,
  build: Builder,
  inputShape: [number, number, number],
  numClasses: number,
): void {
  registerModel({ name, description, inputShape, numClasses, torchvision: false, build });
}
own('lenet5', 'LeNet-5 for 1×28×28 (61.7 K params)', lenet5 as Builder, [1, 28, 28], 10);
own('mobilenet_v1', 'MobileNetV1, depthwise separable (4.2 M params)', mobilenet_v1 as Builder, IMAGENET, 1000);
own('resnet20', 'CIFAR ResNet-20 (0.27 M params)', resnet20 as Builder, [3, 32, 32], 10);
own('resnet32', 'CIFAR ResNet-32', resnet32 as Builder, [3, 32, 32], 10);
own('resnet44', 'CIFAR ResNet-44', resnet44 as Builder, [3, 32, 32], 10);
own('resnet56', 'CIFAR ResNet-56 (0.85 M params)', resnet56 as Builder, [3, 32, 32], 10);
own('resnet110', 'CIFAR ResNet-110 (1.7 M params)', resnet110 as Builder, [3, 32, 32], 10);
own('wrn28_10', 'Wide ResNet 28-10 for CIFAR (36.5 M params)', wrn28_10 as Builder, [3, 32, 32], 10);
own('se_resnet18', 'SE-ResNet-18', se_resnet18 as Builder, IMAGENET, 1000);
own('se_resnet34', 'SE-ResNet-34', se_resnet34 as Builder, IMAGENET, 1000);
own('se_resnet50', 'SE-ResNet-50 (28.1 M params)', se_resnet50 as Builder, IMAGENET, 1000);
own('xception', 'Xception (22.9 M params, 299×299)', xception as Builder, [3, 299, 299], 1000);

own(
  'small_cnn',
  'The default small CNN (benchmark W4/W5 model, 421,642 params for 1×28×28)',
  smallCnn as Builder,
  [1, 28, 28],
  10,
);
own(
  'small_cnn_bn',
  'Small CNN with BatchNorm and dropout 0.3',
  ((o: SmallCnnOptions = {}) => smallCnn({ batchNorm: true, dropout: 0.3, ...o })) as Builder,
  [1, 28, 28],
  10,
);
own(
  'small_vgg',
  'VGG-style small CNN: (conv-BN-ReLU)×2 + pool, 32→64 channels, 256-unit head (870,826 params; 94.6 % on Fashion-MNIST with the README recipe)',
  smallVgg as Builder,
  [1, 28, 28],
  10,
);

/** Registers a detector (what `tatami train --task detect --model` and `getDetector` find). */
export function registerDetector(
  info: Omit<ModelInfo, 'build' | 'task'> & { build(opts?: ModelOptions): DetectorModule },
): void {
  registerModel({ ...info, task: 'detect', build: info.build as unknown as Builder });
}

function det(
  name: string,
  description: string,
  numParameters: number,
  size: number,
  build: (opts?: ModelOptions) => DetectorModule,
): void {
  registerDetector({
    name,
    description,
    inputShape: [3, size, size],
    numClasses: 91,
    torchvision: true,
    numParameters,
    build,
  });
}
det('fasterrcnn_resnet50_fpn', 'Faster R-CNN, ResNet-50-FPN', 41_808_406, 800, fasterrcnn_resnet50_fpn);
det(
  'fasterrcnn_mobilenet_v3_large_fpn',
  'Faster R-CNN, MobileNetV3-Large-FPN',
  19_410_754,
  800,
  fasterrcnn_mobilenet_v3_large_fpn,
);
det(
  'maskrcnn_resnet50_fpn',
  'Mask R-CNN, ResNet-50-FPN (boxes + instance masks)',
  44_454_513,
  800,
  maskrcnn_resnet50_fpn,
);
det('retinanet_resnet50_fpn', 'RetinaNet, ResNet-50-FPN (focal loss)', 34_068_119, 800, retinanet_resnet50_fpn);
det('fcos_resnet50_fpn', 'FCOS, ResNet-50-FPN (anchor-free)', 32_322_720, 800, fcos_resnet50_fpn);
det('ssd300_vgg16', 'SSD300, VGG-16', 35_641_826, 300, ssd300_vgg16);
det('ssdlite320_mobilenet_v3_large', 'SSDlite320, MobileNetV3-Large', 3_440_060, 320, ssdlite320_mobilenet_v3_large);
// YOLOX (Ge et al. 2021; not in torchvision): COCO's 80 classes + background, the paper's input sizes.
for (const [name, description, count, size, build] of [
  ['yolox_nano', 'YOLOX-Nano (anchor-free, depthwise; Tatami, not torchvision)', 912_159, 416, yoloxNanoBuilder],
  ['yolox_tiny', 'YOLOX-Tiny (anchor-free; Tatami, not torchvision)', 5_055_855, 416, yoloxTinyBuilder],
  ['yolox_s', 'YOLOX-S (anchor-free; Tatami, not torchvision)', 8_968_255, 640, yoloxSBuilder],
] as const)
  registerDetector({
    name,
    description,
    inputShape: [3, size, size],
    numClasses: 81,
    torchvision: false,
    numParameters: count,
    build: (opts?: ModelOptions) => build(opts as never) as unknown as DetectorModule,
  });

/** One prediction of `predict`. */
export interface Prediction {
  /** Class index. */
  index: number;
  /** Class name from `labels` (or the index as a string). */
  label: string;
  /** Softmax probability. */
  probability: number;
}

/** Options of `predict`. */
export interface PredictOptions {
  /** How many classes to return, best first (default 5). */
  topk?: number;
  /** Class names by index (ImageNet: IMAGENET_CLASSES). */
  labels?: readonly string[];
}

/**
 * Classifies one preprocessed image ([C, H, W] or [1, C, H, W], e.g. from `imagenetPreprocess`): runs the model in
 * eval mode without a graph and returns the `topk` classes by softmax probability, best first. The model's training
 * mode is restored afterwards.
 */
export function predict(model: ClassifierModule, image: Tensor, opts: PredictOptions = {}): Prediction[] {
  const x = image.shape.length === 3 ? unsqueeze(image, 0) : image;
  if (x.shape.length !== 4 || x.shape[0] !== 1)
    throw new Error(`predict: expected one image [C, H, W] or [1, C, H, W], got ${formatShape(image.shape)}`);
  const flags = model.modules().map((m) => m.training);
  let probs: Float32Array | Float64Array;
  try {
    model.eval();
    const logits = noGrad(() => model.forward(x));
    if (logits.shape.length !== 2)
      throw new Error(`predict: the model returned ${formatShape(logits.shape)}, expected logits [1, numClasses]`);
    probs = Float64Array.from(softmax(logits, 1).dataView());
  } finally {
    model.modules().forEach((m, i) => {
      m.training = flags[i];
    });
  }
  const k = Math.min(opts.topk ?? 5, probs.length);
  if (!Number.isInteger(k) || k < 1) throw new Error(`predict: topk must be a positive integer, got ${opts.topk}`);
  if (opts.labels && opts.labels.length !== probs.length) {
    throw new Error(`predict: ${opts.labels.length} labels for a model with ${probs.length} outputs`);
  }
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  return order
    .slice(0, k)
    .map((index) => ({ index, label: opts.labels ? opts.labels[index] : String(index), probability: probs[index] }));
}
export {
  YoloV1,
  yolov1,
  fastYolov1,
  yoloV1Loss,
  decodeYoloV1,
  type YoloV1Options,
  type YoloTarget,
  type YoloV1LossOptions,
  type YoloV1LossResult,
  type DecodeYoloV1Options,
  type YoloLayer,
} from './yolo.js';
export {
  YOLOX,
  yolox,
  yolox_nano,
  yolox_tiny,
  yolox_s,
  YOLOXHead,
  YOLOPAFPN,
  CSPDarknet,
  CSPLayer,
  SPPBottleneck,
  Focus,
  DWConv,
  BaseConv,
  YOLOX_STRIDES,
  decodeYolox,
  type YOLOXOptions,
  type DecodeYoloxOptions,
} from './yolox.js';
export {
  yoloxLoss,
  simOtaAssign,
  pairedIou,
  type YoloxLossOptions,
  type SimOtaInput,
  type SimOtaAssignment,
} from './yolox-loss.js';
export * from './video.js';
export * from './audio.js';
export * from './unet3d.js';
export {
  IntermediateLayerGetter,
  FeatureExtractor,
  createFeatureExtractor,
  type FeatureMaps,
  type ReturnSpec,
  type FeatureExtractorOptions,
} from './feature-extraction.js';
export * as segmentation from './segmentation/index.js';
export * from './cyclegan.js';
