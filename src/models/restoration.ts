/**
 * Image restoration networks trained on clean–distorted pairs (see data.DegradedPairs): DnCNN (Zhang et al.
 * 2017, residual denoising), SRCNN (Dong et al. 2014, super-resolution of a bicubic/bilinear-upscaled image) and
 * ESPCN (Shi et al. 2016, super-resolution in low-resolution space with a sub-pixel convolution at the end).
 */
import { ReLU, Tanh } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { PixelShuffle } from '../nn/pixel-shuffle.js';
import { sub } from '../ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of DnCNN. */
export interface DnCNNOptions {
  /** Image channels (default 1). */
  channels?: number;
  /** Number of convolution layers (default 17, DnCNN-S; 20 for blind DnCNN-B). */
  depth?: number;
  /** Feature maps per layer (default 64). */
  features?: number;
}

/**
 * DnCNN: Conv+ReLU, (depth − 2) × Conv+BN+ReLU, Conv, all 3×3 with padding 1, predicting the noise; the forward
 * returns the denoised image x − net(x) (residual learning). 556,096 parameters for the default gray model
 * (the middle and last convolutions have no bias, as the reference implementation).
 */
export class DnCNN extends Module {
  declare net: Sequential;

  constructor(opts: DnCNNOptions = {}) {
    super();
    const c = opts.channels ?? 1,
      depth = opts.depth ?? 17,
      f = opts.features ?? 64;
    if (!Number.isInteger(depth) || depth < 3) throw new Error(`DnCNN: depth must be an integer ≥ 3, got ${depth}`);
    const layers: AnyModule[] = [new Conv2d(c, f, 3, { padding: 1 }), new ReLU()];
    for (let i = 0; i < depth - 2; i++)
      layers.push(new Conv2d(f, f, 3, { padding: 1, bias: false }), new BatchNorm2d(f), new ReLU());
    layers.push(new Conv2d(f, c, 3, { padding: 1, bias: false }));
    this.net = new Sequential(...layers);
  }

  /** The estimated noise of `x`. */
  residual(x: Tensor): Tensor {
    return this.net.forward(x);
  }

  forward(x: Tensor): Tensor {
    return sub(x, this.residual(x));
  }
}

/** Options of SRCNN. */
export interface SrcnnOptions {
  channels?: number;
  /** Filter sizes f1-f2-f3 (default [9, 1, 5], the paper's 9-1-5). */
  kernelSizes?: readonly [number, number, number];
  /** Feature maps n1, n2 (default [64, 32]). */
  features?: readonly [number, number];
}

/**
 * SRCNN: patch extraction (f1×f1, n1), non-linear mapping (f2×f2, n2) and reconstruction (f3×f3), ReLU between,
 * on an image already upscaled to the target size (data.downscale gives that input). 'same' padding keeps the size
 * (the paper trained without padding on 33×33 crops). 8,129 parameters for 9-1-5 gray.
 */
export class SRCNN extends Sequential {
  constructor(opts: SrcnnOptions = {}) {
    const c = opts.channels ?? 1;
    const [f1, f2, f3] = opts.kernelSizes ?? [9, 1, 5];
    const [n1, n2] = opts.features ?? [64, 32];
    for (const k of [f1, f2, f3])
      if (!Number.isInteger(k) || k < 1 || k % 2 === 0)
        throw new Error(`SRCNN: kernel sizes must be odd positive integers, got ${JSON.stringify([f1, f2, f3])}`);
    super(
      new Conv2d(c, n1, f1, { padding: (f1 - 1) / 2 }),
      new ReLU(),
      new Conv2d(n1, n2, f2, { padding: (f2 - 1) / 2 }),
      new ReLU(),
      new Conv2d(n2, c, f3, { padding: (f3 - 1) / 2 }),
    );
  }
}

/** Options of ESPCN. */
export interface EspcnOptions {
  channels?: number;
  /** Upscaling factor r (default 3). */
  upscaleFactor?: number;
}

/**
 * ESPCN: 5×5 conv (64) → tanh → 3×3 conv (32) → tanh → 3×3 conv (C·r²) → PixelShuffle(r), all on the
 * low-resolution image: [N, C, H, W] → [N, C, H·r, W·r]. 22,729 parameters for r = 3 gray.
 */
export class ESPCN extends Sequential {
  constructor(opts: EspcnOptions = {}) {
    const c = opts.channels ?? 1,
      r = opts.upscaleFactor ?? 3;
    if (!Number.isInteger(r) || r < 1) throw new Error(`ESPCN: upscaleFactor must be a positive integer, got ${r}`);
    super(
      new Conv2d(c, 64, 5, { padding: 2 }),
      new Tanh(),
      new Conv2d(64, 32, 3, { padding: 1 }),
      new Tanh(),
      new Conv2d(32, c * r * r, 3, { padding: 1 }),
      new PixelShuffle(r),
    );
  }
}
