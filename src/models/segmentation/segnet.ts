/**
 * SegNet (Badrinarayanan, Kendall & Cipolla 2017, "SegNet: A Deep Convolutional Encoder-Decoder Architecture for
 * Image Segmentation"): the 13 convolutions of VGG-16 with batch norm as the encoder, keeping the argmax indices of
 * each 2×2 max pooling; the decoder mirrors it, each stage upsampling by max-unpooling with the indices of its
 * encoder stage (a sparse map, no learned upsampling), then conv-BN-ReLU layers densify it; a final 3×3 conv gives
 * the class scores. `features` has torchvision's `vgg16_bn().features` layout, so ImageNet VGG-16-BN weights load
 * into it (`model.features.loadStateDict(...)`) or come with `backbone`.
 */
import { ReLU } from '../../nn/activation.js';
import { Conv2d } from '../../nn/conv.js';
import { ModuleList, Sequential } from '../../nn/container.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { MaxPool2d } from '../../nn/pooling.js';
import { maxPool2d, maxUnpool2d } from '../../ops/pool.js';
import type { Tensor } from '../../tensor/tensor.js';
import { vggFeatures, type VGG } from '../vgg.js';
import { checkImages, type SegmentationOutput } from './utils.js';

/** Options of `segnet`. */
export interface SegNetOptions {
  /** Output classes (default 21). */
  numClasses?: number;
  /** A torchvision-layout VGG-16-BN whose `features` become the encoder (e.g. with ImageNet weights loaded). */
  backbone?: VGG;
}

function cbr(i: number, o: number): AnyModule[] {
  return [new Conv2d(i, o, 3, { padding: 1, bias: false }), new BatchNorm2d(o), new ReLU()];
}

/** SegNet: `features` (VGG-16-BN encoder), `decoder` (5 stages, deepest first). */
export class SegNet extends Module<[Tensor], SegmentationOutput> {
  features: Sequential;
  decoder: ModuleList;
  declare private readonly stages: Sequential[];

  constructor(opts: SegNetOptions = {}) {
    super();
    const nc = opts.numClasses ?? 21;
    if (!Number.isInteger(nc) || nc < 1) throw new Error(`segnet: numClasses must be a positive integer, got ${nc}`);
    const features = opts.backbone ? opts.backbone.features : vggFeatures('D', true);
    const pools = features
      .namedChildren()
      .filter(([, m]) => m instanceof MaxPool2d)
      .map(([k]) => Number(k));
    if (pools.length !== 5 || features.length !== 44) {
      throw new Error(
        `segnet: backbone must be a VGG-16-BN (44 feature layers, 5 poolings), got ${features.length} layers, ${pools.length} poolings`,
      );
    }
    this.features = features;
    // Encoder stages between the poolings, run as Sequentials (so conv-BN-ReLU fold in inference).
    const stages: Sequential[] = [];
    let start = 0;
    for (const p of pools) {
      stages.push(features.slice(start, p));
      start = p + 1;
    }
    Object.defineProperty(this, 'stages', { value: stages, enumerable: false });
    this.decoder = new ModuleList([
      new Sequential(...cbr(512, 512), ...cbr(512, 512), ...cbr(512, 512)),
      new Sequential(...cbr(512, 512), ...cbr(512, 512), ...cbr(512, 256)),
      new Sequential(...cbr(256, 256), ...cbr(256, 256), ...cbr(256, 128)),
      new Sequential(...cbr(128, 128), ...cbr(128, 64)),
      new Sequential(...cbr(64, 64), new Conv2d(64, nc, 3, { padding: 1 })),
    ]);
  }

  forward(x: Tensor): SegmentationOutput {
    checkImages('SegNet', x, 3);
    const saved: [Tensor, number[]][] = [];
    for (const stage of this.stages) {
      x = stage.forward(x);
      const size = x.shape.slice(2);
      const [y, idx] = maxPool2d(x, 2, { stride: 2, returnIndices: true });
      saved.push([idx, size]);
      x = y;
    }
    for (let k = 0; k < 5; k++) {
      const [idx, size] = saved[4 - k];
      // outputSize restores odd sizes that the pooling's floor dropped.
      x = this.decoder.at(k).forward(maxUnpool2d(x, idx, 2, { stride: 2, outputSize: size })) as Tensor;
    }
    return { out: x };
  }
}

/** SegNet with a VGG-16-BN encoder (29,451,413 parameters with 21 classes). */
export function segnet(opts: SegNetOptions = {}): SegNet {
  return new SegNet(opts);
}
