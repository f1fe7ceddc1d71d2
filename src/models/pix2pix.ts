/**
 * pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks"): the U-Net
 * generator of the paper — 4×4 stride-2 convolutions down to 1×1 at 256×256 (C64-C128-C256-C512-C512-C512-C512-C512),
 * transposed convolutions back up with skips, dropout 0.5 in the first three decoder blocks, LeakyReLU(0.2) down,
 * ReLU up, batch norm everywhere but the outermost and innermost downsampling — built recursively as the
 * authors' PyTorch code does (UnetSkipConnectionBlock), and the 70×70 PatchGAN discriminator, which classifies
 * each overlapping 70×70 patch of the (input, output) pair as real or fake. `pix2pixLoss` is the paper's
 * objective for G: the GAN term plus λ·L1 with λ = 100.
 */
import { LeakyReLU, ReLU, Tanh } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d, InstanceNorm2d } from '../nn/normalization.js';
import { add, mul } from '../ops/elementwise.js';
import { l1Loss } from '../ops/loss.js';
import { cat } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { generatorLoss, type GanLossKind } from './gan.js';

/** One level of the U-Net: down → (inner levels) → up, its input concatenated to its output unless outermost. */
export class UnetSkipConnectionBlock extends Module {
  declare model: Sequential;
  readonly outermost: boolean;

  constructor(
    outerChannels: number,
    innerChannels: number,
    opts: {
      inputChannels?: number;
      submodule?: UnetSkipConnectionBlock;
      outermost?: boolean;
      innermost?: boolean;
      dropout?: boolean;
    } = {},
  ) {
    super();
    this.outermost = opts.outermost ?? false;
    const inC = opts.inputChannels ?? outerChannels;
    // with batch norm the convolutions before a norm need no bias (the authors' use_bias = False)
    const downconv = new Conv2d(inC, innerChannels, 4, { stride: 2, padding: 1, bias: false });
    const layers: AnyModule[] = [];
    if (this.outermost) {
      layers.push(
        downconv,
        opts.submodule!,
        new ReLU(),
        new ConvTranspose2d(innerChannels * 2, outerChannels, 4, { stride: 2, padding: 1 }),
        new Tanh(),
      );
    } else if (opts.innermost) {
      layers.push(
        new LeakyReLU(0.2),
        downconv,
        new ReLU(),
        new ConvTranspose2d(innerChannels, outerChannels, 4, { stride: 2, padding: 1, bias: false }),
        new BatchNorm2d(outerChannels),
      );
    } else {
      layers.push(
        new LeakyReLU(0.2),
        downconv,
        new BatchNorm2d(innerChannels),
        opts.submodule!,
        new ReLU(),
        new ConvTranspose2d(innerChannels * 2, outerChannels, 4, { stride: 2, padding: 1, bias: false }),
        new BatchNorm2d(outerChannels),
      );
      if (opts.dropout) layers.push(new Dropout(0.5));
    }
    this.model = new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    const y = this.model.forward(x);
    return this.outermost ? y : cat([x, y], 1);
  }
}

/** Options of UnetGenerator. */
export interface UnetGeneratorOptions {
  /** Number of stride-2 downsamplings (default 8: 256×256 → 1×1; 7 for 128×128). H and W must be divisible by 2^numDowns. */
  numDowns?: number;
  /** Channels of the first layer (default 64). */
  ngf?: number;
  /** Dropout 0.5 in the innermost 512-channel decoder blocks, pix2pix's noise source (default true). */
  dropout?: boolean;
}

/** pix2pix's U-Net generator (the authors' `unet_256`: 54,413,955 parameters for 3 → 3 channels). */
export class UnetGenerator extends Module {
  declare model: UnetSkipConnectionBlock;
  readonly numDowns: number;

  constructor(inChannels = 3, outChannels = 3, opts: UnetGeneratorOptions = {}) {
    super();
    const numDowns = opts.numDowns ?? 8,
      ngf = opts.ngf ?? 64,
      dropout = opts.dropout ?? true;
    if (!Number.isInteger(numDowns) || numDowns < 5)
      throw new Error(`UnetGenerator: numDowns must be an integer ≥ 5, got ${numDowns}`);
    this.numDowns = numDowns;
    let block = new UnetSkipConnectionBlock(ngf * 8, ngf * 8, { innermost: true });
    for (let i = 0; i < numDowns - 5; i++)
      block = new UnetSkipConnectionBlock(ngf * 8, ngf * 8, { submodule: block, dropout });
    block = new UnetSkipConnectionBlock(ngf * 4, ngf * 8, { submodule: block });
    block = new UnetSkipConnectionBlock(ngf * 2, ngf * 4, { submodule: block });
    block = new UnetSkipConnectionBlock(ngf, ngf * 2, { submodule: block });
    this.model = new UnetSkipConnectionBlock(outChannels, ngf, {
      inputChannels: inChannels,
      submodule: block,
      outermost: true,
    });
  }

  forward(x: Tensor): Tensor {
    const f = 2 ** this.numDowns;
    if (x.shape.length !== 4 || x.shape[2] % f !== 0 || x.shape[3] % f !== 0) {
      throw new Error(
        `UnetGenerator: expected images [N, C, H, W] with H and W divisible by 2^${this.numDowns} = ${f}, got ${formatShape(x.shape)}`,
      );
    }
    return this.model.forward(x);
  }
}

/** Options of PatchGANDiscriminator. */
export interface PatchGanOptions {
  /** Channels of the first layer (default 64). */
  ndf?: number;
  /** Stride-2 layers after the first (default 3, the 70×70 PatchGAN; 1 → 16×16, 5 → 286×286 patches). */
  numLayers?: number;
  /** Normalisation after the inner convolutions (default 'batch', pix2pix's; CycleGAN uses 'instance'). */
  norm?: 'batch' | 'instance' | 'none';
}

/**
 * PatchGAN discriminator (the authors' NLayerDiscriminator): C64-C128-C256-C512 with 4×4 convolutions (stride 2,
 * then 1 for C512), LeakyReLU(0.2), batch norm except on C64, and a 1-channel 4×4 convolution: one logit per
 * 70×70 patch of its input, which for pix2pix is the input image concatenated with the real or generated output
 * (`inChannels` = their sum; 2,768,705 parameters for 6). With `norm: 'instance'` it is CycleGAN's discriminator
 * on single images (2,764,737 parameters for 3 channels).
 */
export class PatchGANDiscriminator extends Sequential {
  constructor(inChannels = 6, opts: PatchGanOptions = {}) {
    const ndf = opts.ndf ?? 64,
      n = opts.numLayers ?? 3,
      norm = opts.norm ?? 'batch';
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`PatchGANDiscriminator: numLayers must be a positive integer, got ${n}`);
    if (!['batch', 'instance', 'none'].includes(norm))
      throw new Error(`PatchGANDiscriminator: norm must be 'batch', 'instance' or 'none', got ${JSON.stringify(norm)}`);
    // a convolution followed by batch norm needs no bias; instance norm without affine keeps it (authors' use_bias)
    const bias = norm !== 'batch';
    const normLayer = (c: number): AnyModule[] =>
      norm === 'batch' ? [new BatchNorm2d(c)] : norm === 'instance' ? [new InstanceNorm2d(c)] : [];
    const layers: AnyModule[] = [new Conv2d(inChannels, ndf, 4, { stride: 2, padding: 1 }), new LeakyReLU(0.2)];
    let mult = 1;
    for (let i = 1; i <= n; i++) {
      const prev = mult;
      mult = Math.min(2 ** i, 8);
      const stride = i < n ? 2 : 1;
      layers.push(
        new Conv2d(ndf * prev, ndf * mult, 4, { stride, padding: 1, bias }),
        ...normLayer(ndf * mult),
        new LeakyReLU(0.2),
      );
    }
    layers.push(new Conv2d(ndf * mult, 1, 4, { stride: 1, padding: 1 }));
    super(...layers);
  }
}

/**
 * pix2pix's generator objective: the GAN loss of D's patch logits on (input, G(input)) plus λ·‖target − G(input)‖₁
 * (mean absolute error, λ = 100 in the paper).
 */
export function pix2pixLoss(
  fakeLogits: Tensor,
  output: Tensor,
  target: Tensor,
  opts: { lambda?: number; loss?: GanLossKind } = {},
): Tensor {
  return add(generatorLoss(opts.loss ?? 'bce', fakeLogits), mul(l1Loss(output, target), opts.lambda ?? 100));
}
