/**
 * The paper's FCNs (Long, Shelhamer & Darrell 2015, "Fully Convolutional Networks for Semantic Segmentation") on
 * VGG-16: the fully connected layers become convolutions (fc6: 7×7, fc7: 1×1), `score_fr` scores the stride-32 map,
 * and transposed convolutions upsample it — in one ×32 step (FCN-32s), or fused with 1×1 scores of pool4 (FCN-16s)
 * and pool3 (FCN-8s) first. As the reference Caffe models: conv1_1 pads by 100 and poolings round up, so any input
 * size works, and each upsampled map is cropped at the reference offsets (19; 5 and 27; 5, 9 and 31). The
 * transposed convolutions start as bilinear interpolation (§3.3). `features` has torchvision's `vgg16().features`
 * layout and `copyVgg16Weights` reshapes a VGG-16's classifier into fc6/fc7, the paper's initialisation.
 */
import { ReLU } from '../../nn/activation.js';
import { Conv2d, ConvTranspose2d } from '../../nn/conv.js';
import { Sequential } from '../../nn/container.js';
import { Dropout2d } from '../../nn/dropout.js';
import { Module } from '../../nn/module.js';
import { MaxPool2d } from '../../nn/pooling.js';
import { noGrad } from '../../autograd/grad-mode.js';
import { copy_ } from '../../ops/inplace.js';
import { add } from '../../ops/elementwise.js';
import { narrow, reshape } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { vggFeatures, type VGG } from '../vgg.js';
import { checkImages, type SegmentationOutput } from './utils.js';

/** Which FCN: the stride of the coarsest prediction that is upsampled to the input in one step. */
export type FCNVariant = '32s' | '16s' | '8s';

/** Options of `fcn32s` / `fcn16s` / `fcn8s`. */
export interface FCNVGGOptions {
  /** Output classes (default 21). */
  numClasses?: number;
}

/** A bilinear-interpolation kernel for a k×k transposed convolution, on the diagonal channel pairs (the paper's init). */
export function bilinearKernel_(t: ConvTranspose2d): ConvTranspose2d {
  const [k] = t.kernelSize;
  const factor = Math.floor((k + 1) / 2);
  const center = k % 2 === 1 ? factor - 1 : factor - 0.5;
  const w = t.weight.dataView() as Float32Array;
  w.fill(0);
  const [cin, cout] = [t.weight.shape[0], t.weight.shape[1]];
  for (let c = 0; c < Math.min(cin, cout); c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        w[((c * cout + c) * k + i) * k + j] = (1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor);
      }
    }
  }
  t.weight.version++;
  if (t.bias) noGrad(() => t.bias!.dataView().fill(0));
  return t;
}

function crop(x: Tensor, offset: number, h: number, w: number): Tensor {
  return narrow(narrow(x, 2, offset, h), 3, offset, w);
}

/** FCN-32s/16s/8s on VGG-16; see the file comment. Children use the reference models' names (`score_fr` …). */
export class FCNVGG extends Module<[Tensor], SegmentationOutput> {
  features: Sequential;
  fc6: Conv2d;
  relu6: ReLU;
  drop6: Dropout2d;
  fc7: Conv2d;
  relu7: ReLU;
  drop7: Dropout2d;
  readonly variant: FCNVariant;
  declare private readonly stages: Sequential[];

  constructor(variant: FCNVariant, opts: FCNVGGOptions = {}) {
    super();
    const nc = opts.numClasses ?? 21;
    if (!Number.isInteger(nc) || nc < 1)
      throw new Error(`fcn${variant}: numClasses must be a positive integer, got ${nc}`);
    if (!['32s', '16s', '8s'].includes(variant))
      throw new Error(`FCNVGG: variant must be '32s', '16s' or '8s', got '${String(variant)}'`);
    this.variant = variant;
    const f = vggFeatures('D', false);
    f.set(0, new Conv2d(3, 64, 3, { padding: 100 }));
    for (let i = 0; i < f.length; i++)
      if (f.at(i) instanceof MaxPool2d) f.set(i, new MaxPool2d(2, { stride: 2, ceilMode: true }));
    this.features = f;
    // Up to pool3 (index 16), pool4 (23), pool5 (30) of torchvision's vgg16 features.
    Object.defineProperty(this, 'stages', {
      value: [f.slice(0, 17), f.slice(17, 24), f.slice(24, 31)],
      enumerable: false,
    });
    this.fc6 = new Conv2d(512, 4096, 7);
    this.relu6 = new ReLU();
    this.drop6 = new Dropout2d(0.5);
    this.fc7 = new Conv2d(4096, 4096, 1);
    this.relu7 = new ReLU();
    this.drop7 = new Dropout2d(0.5);
    const reg = (name: string, m: Module<never[], unknown> | Conv2d | ConvTranspose2d) =>
      this.registerModule(name, m as never);
    reg('score_fr', new Conv2d(4096, nc, 1));
    const up = (k: number, s: number) => bilinearKernel_(new ConvTranspose2d(nc, nc, k, { stride: s, bias: false }));
    if (variant === '32s') reg('upscore', up(64, 32));
    if (variant !== '32s') {
      reg('score_pool4', new Conv2d(512, nc, 1));
      reg('upscore2', up(4, 2));
    }
    if (variant === '16s') reg('upscore16', up(32, 16));
    if (variant === '8s') {
      reg('score_pool3', new Conv2d(256, nc, 1));
      reg('upscore_pool4', up(4, 2));
      reg('upscore8', up(16, 8));
    }
    // The reference zero-initialises the score layers.
    noGrad(() => {
      for (const n of ['score_fr', 'score_pool4', 'score_pool3']) {
        const m = this.namedChildren().find(([k]) => k === n)?.[1] as Conv2d | undefined;
        if (m) {
          m.weight.dataView().fill(0);
          m.bias?.dataView().fill(0);
        }
      }
    });
  }

  private m(name: string): Module<[Tensor], Tensor> {
    return this.getSubmodule(name) as unknown as Module<[Tensor], Tensor>;
  }

  forward(x: Tensor): SegmentationOutput {
    checkImages(`FCN-${this.variant}`, x, 3);
    const [H, W] = [x.shape[2], x.shape[3]];
    const pool3 = this.stages[0].forward(x);
    const pool4 = this.stages[1].forward(pool3);
    let h = this.stages[2].forward(pool4);
    h = this.drop6.forward(this.relu6.forward(this.fc6.forward(h)));
    h = this.drop7.forward(this.relu7.forward(this.fc7.forward(h)));
    h = this.m('score_fr').forward(h);
    if (this.variant === '32s') return { out: crop(this.m('upscore').forward(h), 19, H, W) };
    const up2 = this.m('upscore2').forward(h);
    h = add(up2, crop(this.m('score_pool4').forward(pool4), 5, up2.shape[2], up2.shape[3]));
    if (this.variant === '16s') return { out: crop(this.m('upscore16').forward(h), 27, H, W) };
    const upP4 = this.m('upscore_pool4').forward(h);
    h = add(upP4, crop(this.m('score_pool3').forward(pool3), 9, upP4.shape[2], upP4.shape[3]));
    return { out: crop(this.m('upscore8').forward(h), 31, H, W) };
  }
}

/** FCN-32s on VGG-16 (136,152,917 parameters with 21 classes). */
export function fcn32s(opts: FCNVGGOptions = {}): FCNVGG {
  return new FCNVGG('32s', opts);
}

/** FCN-16s on VGG-16 (134,815,994 parameters with 21 classes). */
export function fcn16s(opts: FCNVGGOptions = {}): FCNVGG {
  return new FCNVGG('16s', opts);
}

/** FCN-8s on VGG-16 (134,489,759 parameters with 21 classes). */
export function fcn8s(opts: FCNVGGOptions = {}): FCNVGG {
  return new FCNVGG('8s', opts);
}

/**
 * Initialises an FCN from a torchvision-layout VGG-16 (e.g. ImageNet weights): `features` copied, the classifier's
 * first two Linear layers reshaped into fc6 (4096×512×7×7) and fc7 (4096×4096×1×1) — the paper's "convolutionalised"
 * VGG. Returns the FCN.
 */
export function copyVgg16Weights(fcn: FCNVGG, vgg: VGG): FCNVGG {
  const src = vgg.features.stateDict();
  const res = fcn.features.loadStateDict(src);
  if (res.missingKeys.length || res.unexpectedKeys.length) {
    throw new Error(
      `copyVgg16Weights: not a VGG-16 (missing ${res.missingKeys.join(', ') || 'none'}; unexpected ${res.unexpectedKeys.join(', ') || 'none'})`,
    );
  }
  const fc6 = vgg.classifier.at(0) as unknown as { weight: Tensor; bias: Tensor };
  const fc7 = vgg.classifier.at(3) as unknown as { weight: Tensor; bias: Tensor };
  noGrad(() => {
    copy_(fcn.fc6.weight, reshape(fc6.weight, [4096, 512, 7, 7]));
    copy_(fcn.fc6.bias!, fc6.bias);
    copy_(fcn.fc7.weight, reshape(fc7.weight, [4096, 4096, 1, 1]));
    copy_(fcn.fc7.bias!, fc7.bias);
  });
  return fcn;
}
