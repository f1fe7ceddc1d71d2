/**
 * What the segmentation models share: their output type, torchvision's `_SimpleSegmentationModel` (backbone →
 * classifier → bilinear upsampling to the input size, plus an optional auxiliary head) and `FCNHead`.
 */
import { ReLU } from '../../nn/activation.js';
import { Conv2d } from '../../nn/conv.js';
import { Sequential } from '../../nn/container.js';
import { Dropout } from '../../nn/dropout.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { interpolate } from '../../ops/interpolate.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { FeatureMaps } from '../feature-extraction.js';

/**
 * What a segmentation model returns, as torchvision's dict: `out` [N, numClasses, H, W] at the input's size and,
 * when the model has auxiliary heads (trained with a down-weighted extra loss), `aux` — one map, or one per level
 * for deep supervision (U-Net, UNet++).
 */
export interface SegmentationOutput {
  out: Tensor;
  aux?: Tensor | Tensor[];
}

/** A segmentation model: images [N, C, H, W] → `{ out, aux? }`. */
export type SegmentationModule = Module<[Tensor], SegmentationOutput>;

/** Bilinear resize (align_corners = false, torchvision's choice) of [N, C, h, w] logits to [H, W]. */
export function upsampleTo(x: Tensor, size: readonly number[]): Tensor {
  if (x.shape[2] === size[0] && x.shape[3] === size[1]) return x;
  return interpolate(x, { size: [size[0], size[1]], mode: 'bilinear', alignCorners: false });
}

/** Checks a segmentation model's input: a 4-D batch with `channels` channels (when given). */
export function checkImages(op: string, x: Tensor, channels?: number): void {
  if (x.shape.length !== 4 || (channels !== undefined && x.shape[1] !== channels)) {
    throw new Error(`${op}: expected images [N, ${channels ?? 'C'}, H, W], got ${formatShape(x.shape)}`);
  }
}

/**
 * torchvision's `_SimpleSegmentationModel` (the base of FCN and DeepLabV3): `backbone` returns `{out, aux?}`
 * feature maps, `classifier` maps `out` to logits, `auxClassifier` (optional) maps `aux`; both are upsampled
 * bilinearly to the input's size. Children `backbone`, `classifier`, `aux_classifier`, as torchvision names them.
 */
export class SimpleSegmentationModel extends Module<[Tensor], SegmentationOutput> {
  declare backbone: Module<[Tensor], FeatureMaps>;
  declare classifier: AnyModule;
  declare auxClassifier: AnyModule | null;

  constructor(backbone: Module<[Tensor], FeatureMaps>, classifier: AnyModule, auxClassifier: AnyModule | null = null) {
    super();
    // Registered explicitly, in torchvision's order; `aux_classifier.*` is snake_case in its state dicts.
    this.registerModule('backbone', backbone);
    this.registerModule('classifier', classifier);
    this.registerModule('aux_classifier', auxClassifier);
  }

  forward(x: Tensor): SegmentationOutput {
    checkImages(this.constructor.name, x);
    const size = x.shape.slice(2);
    const features = this.backbone.forward(x);
    const result: SegmentationOutput = { out: upsampleTo(this.classifier.forward(features.out) as Tensor, size) };
    if (this.auxClassifier) result.aux = upsampleTo(this.auxClassifier.forward(features.aux) as Tensor, size);
    return result;
  }
}

/** torchvision's `FCNHead`: conv3×3 to in/4 channels, BN, ReLU, Dropout(0.1), conv1×1 to `channels`. */
export class FCNHead extends Sequential {
  constructor(inChannels: number, channels: number) {
    const inter = Math.floor(inChannels / 4);
    super(
      new Conv2d(inChannels, inter, 3, { padding: 1, bias: false }),
      new BatchNorm2d(inter),
      new ReLU(),
      new Dropout(0.1),
      new Conv2d(inter, channels, 1),
    );
  }
}

/** The options every torchvision segmentation builder takes. */
export interface SegmentationOptions {
  /** Output classes including the background (default 21, Pascal VOC's). */
  numClasses?: number;
  /** Build the auxiliary head (default false; torchvision turns it on when loading its pretrained weights). */
  auxLoss?: boolean;
}
