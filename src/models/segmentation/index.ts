/**
 * `models.segmentation`: semantic segmentation models — torchvision 0.14's (same module trees and parameter names,
 * so its state dicts load unchanged) and paper models torchvision lacks — with a registry by name for the CLI.
 * Every model maps images [N, C, H, W] to `{ out: [N, numClasses, H, W], aux? }`.
 */
import { deeplabv3_mobilenet_v3_large, deeplabv3_resnet101, deeplabv3_resnet50 } from './deeplabv3.js';
import { fcn_resnet101, fcn_resnet50 } from './fcn.js';
import { lraspp_mobilenet_v3_large } from './lraspp.js';
import { deeplabv3plus, type DeepLabV3PlusOptions } from './deeplabv3plus.js';
import { fcn16s, fcn32s, fcn8s } from './fcn-vgg.js';
import { segnet } from './segnet.js';
import { unet, unetPlusPlus } from './unet.js';
import type { SegmentationModule } from './utils.js';

export * from './utils.js';
export * from './fcn.js';
export * from './deeplabv3.js';
export * from './lraspp.js';
export * from './unet.js';
export * from './segnet.js';
export * from './deeplabv3plus.js';
export * from './fcn-vgg.js';
export * from './crf.js';
export * from './tta.js';

/** Options every registered segmentation builder understands (each also takes its own). */
export interface SegmentationModelOptions {
  numClasses?: number;
  [option: string]: unknown;
}

/** A segmentation registry entry. */
export interface SegmentationModelInfo {
  /** Registry name (torchvision's where it exists: 'deeplabv3_resnet50'). */
  name: string;
  /** One line for listings and `--help`. */
  description: string;
  /** Image channels the model expects. */
  inChannels: number;
  /** Whether the architecture and parameter names are torchvision 0.14's. */
  torchvision: boolean;
  build(opts?: SegmentationModelOptions): SegmentationModule;
}

const registry = new Map<string, SegmentationModelInfo>();

/** Adds (or replaces) a segmentation model in the registry. */
export function registerSegmentationModel(info: SegmentationModelInfo): void {
  if (!/^[a-z0-9_]+$/.test(info.name))
    throw new Error(`registerSegmentationModel: name must be lower_snake_case, got '${info.name}'`);
  registry.set(info.name, info);
}

/** The registered segmentation models, sorted by name. */
export function listSegmentationModels(): SegmentationModelInfo[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Builds the registered segmentation model `name` (throws listing the known names). */
export function getSegmentationModel(name: string, opts: SegmentationModelOptions = {}): SegmentationModule {
  const info = registry.get(name);
  if (!info) {
    throw new Error(
      `models.segmentation: unknown model '${name}'. Known models: ${listSegmentationModels()
        .map((m) => m.name)
        .join(', ')}`,
    );
  }
  return info.build(opts);
}

type Builder = (opts?: SegmentationModelOptions) => SegmentationModule;
function tv(name: string, description: string, build: Builder): void {
  registerSegmentationModel({ name, description, inChannels: 3, torchvision: true, build });
}
tv('fcn_resnet50', 'FCN, dilated ResNet-50 (33.0 M params; auxLoss option)', fcn_resnet50 as Builder);
tv('fcn_resnet101', 'FCN, dilated ResNet-101 (51.9 M params; auxLoss option)', fcn_resnet101 as Builder);
tv('deeplabv3_resnet50', 'DeepLabv3, dilated ResNet-50 (39.6 M params; auxLoss option)', deeplabv3_resnet50 as Builder);
tv(
  'deeplabv3_resnet101',
  'DeepLabv3, dilated ResNet-101 (58.6 M params; auxLoss option)',
  deeplabv3_resnet101 as Builder,
);
tv(
  'deeplabv3_mobilenet_v3_large',
  'DeepLabv3, dilated MobileNetV3-Large (11.0 M params; auxLoss option)',
  deeplabv3_mobilenet_v3_large as Builder,
);
tv(
  'lraspp_mobilenet_v3_large',
  'Lite R-ASPP, dilated MobileNetV3-Large (3.2 M params)',
  lraspp_mobilenet_v3_large as Builder,
);

function own(name: string, description: string, build: Builder): void {
  registerSegmentationModel({ name, description, inChannels: 3, torchvision: false, build });
}
own(
  'unet',
  'U-Net (Ronneberger 2015); defaults = benchmark W6 (7.8 M params; baseChannels, depth, padding, upsampling, deepSupervision)',
  unet as Builder,
);
own('unet_plus_plus', 'UNet++ nested U-Net (Zhou 2018; 9.0 M params; deepSupervision option)', unetPlusPlus as Builder);
own('segnet', 'SegNet, VGG-16-BN encoder, unpooling with indices (29.5 M params)', segnet as Builder);
for (const b of ['resnet50', 'resnet101', 'mobilenet_v2'] as const) {
  own(`deeplabv3plus_${b}`, `DeepLabv3+ on ${b} (outputStride 16|8, separable)`, ((o: DeepLabV3PlusOptions = {}) =>
    deeplabv3plus({ ...o, backbone: b })) as Builder);
}
own('fcn32s', 'FCN-32s on VGG-16 (Long 2015; 136 M params)', fcn32s as Builder);
own('fcn16s', 'FCN-16s on VGG-16 (134.8 M params)', fcn16s as Builder);
own('fcn8s', 'FCN-8s on VGG-16 (134.5 M params)', fcn8s as Builder);
