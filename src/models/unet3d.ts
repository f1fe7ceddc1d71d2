/**
 * 3-D U-Net for volumetric segmentation (Çiçek, Abdulkadir, Lienkamp, Brox & Ronneberger 2016): an encoder of
 * (3×3×3 conv → BN → ReLU) × 2 blocks with 2×2×2 max pooling, a decoder of 2×2×2 stride-2 transposed convolutions
 * whose output is concatenated with the encoder features of the same scale, and a 1×1×1 convolution to per-voxel
 * class logits. Batch norm as in the paper (§2); the channel widths are an option (the paper's are 32 → 256).
 */
import { ReLU } from '../nn/activation.js';
import { ModuleList, Sequential } from '../nn/container.js';
import { Conv3d, ConvTranspose3d } from '../nn/convnd.js';
import { Module } from '../nn/module.js';
import { BatchNorm3d } from '../nn/normalization.js';
import { MaxPool3d } from '../nn/poolingnd.js';
import { pad } from '../ops/pad.js';
import { cat } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of UNet3d. */
export interface UNet3dOptions {
  /** Input channels (default 1: one imaging modality). */
  inChannels?: number;
  /** Per-voxel classes of the output (default 2: background and foreground). */
  numClasses?: number;
  /** Channels of each level, top to bottom; the last is the bottleneck (default [16, 32, 64, 128]). */
  features?: readonly number[];
}

/** (3×3×3 conv → BN → ReLU) × 2. */
function doubleConv(cin: number, cout: number): Sequential {
  return new Sequential(
    new Conv3d(cin, cout, 3, { padding: 1, bias: false }),
    new BatchNorm3d(cout),
    new ReLU(),
    new Conv3d(cout, cout, 3, { padding: 1, bias: false }),
    new BatchNorm3d(cout),
    new ReLU(),
  );
}

/**
 * 3-D U-Net: input [N, C, D, H, W] → logits [N, numClasses, D, H, W]. Any size works: where pooling floored an odd
 * size, the upsampled features are zero-padded back to the skip's size before concatenation.
 */
export class UNet3d extends Module {
  down: ModuleList;
  up: ModuleList;
  dec: ModuleList;
  pool: MaxPool3d;
  head: Conv3d;

  constructor(opts: UNet3dOptions = {}) {
    super();
    const f = opts.features ?? [16, 32, 64, 128];
    if (f.length < 2) throw new Error(`UNet3d: features needs at least 2 levels, got ${JSON.stringify(f)}`);
    this.down = new ModuleList(f.map((c, i) => doubleConv(i === 0 ? (opts.inChannels ?? 1) : f[i - 1], c)));
    this.pool = new MaxPool3d(2);
    const levels = f.length - 1;
    this.up = new ModuleList(
      Array.from({ length: levels }, (_, j) => new ConvTranspose3d(f[levels - j], f[levels - j - 1], 2, { stride: 2 })),
    );
    this.dec = new ModuleList(
      Array.from({ length: levels }, (_, j) => doubleConv(2 * f[levels - j - 1], f[levels - j - 1])),
    );
    this.head = new Conv3d(f[0], opts.numClasses ?? 2, 1);
  }

  forward(x: Tensor): Tensor {
    const skips: Tensor[] = [];
    let y = x;
    const n = this.down.length;
    for (let i = 0; i < n; i++) {
      y = (this.down.at(i) as Sequential).forward(y);
      if (i < n - 1) {
        skips.push(y);
        y = this.pool.forward(y);
      }
    }
    for (let j = 0; j < n - 1; j++) {
      const skip = skips.pop()!;
      let u = (this.up.at(j) as ConvTranspose3d).forward(y);
      const [dd, dh, dw] = [2, 3, 4].map((d) => skip.shape[d] - u.shape[d]);
      if (dd || dh || dw) u = pad(u, [0, dw, 0, dh, 0, dd]);
      y = (this.dec.at(j) as Sequential).forward(cat([skip, u], 1));
    }
    return this.head.forward(y);
  }
}

/** A 3-D U-Net (Çiçek et al. 2016). */
export function unet3d(opts: UNet3dOptions = {}): UNet3d {
  return new UNet3d(opts);
}
