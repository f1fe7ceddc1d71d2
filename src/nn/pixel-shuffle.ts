/** PixelShuffle / PixelUnshuffle modules around the functional ops (sub-pixel convolution upsampling). */
import { pixelShuffle, pixelUnshuffle } from '../ops/pixel-shuffle.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** [*, C·r², H, W] → [*, C, H·r, W·r] (torch.nn.PixelShuffle). */
export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) {
    super();
    if (!Number.isInteger(upscaleFactor) || upscaleFactor < 1)
      throw new Error(`PixelShuffle: upscaleFactor must be a positive integer, got ${upscaleFactor}`);
  }

  forward(x: Tensor): Tensor {
    return pixelShuffle(x, this.upscaleFactor);
  }

  override extraRepr(): string {
    return `upscale_factor=${this.upscaleFactor}`;
  }
}

/** [*, C, H·r, W·r] → [*, C·r², H, W] (torch.nn.PixelUnshuffle). */
export class PixelUnshuffle extends Module {
  constructor(readonly downscaleFactor: number) {
    super();
    if (!Number.isInteger(downscaleFactor) || downscaleFactor < 1)
      throw new Error(`PixelUnshuffle: downscaleFactor must be a positive integer, got ${downscaleFactor}`);
  }

  forward(x: Tensor): Tensor {
    return pixelUnshuffle(x, this.downscaleFactor);
  }

  override extraRepr(): string {
    return `downscale_factor=${this.downscaleFactor}`;
  }
}
