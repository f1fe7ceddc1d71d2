/**
 * U-Net (Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for Biomedical Image Segmentation") with
 * width/depth options, deep supervision, and UNet++ (Zhou et al. 2018, "UNet++: A Nested U-Net Architecture").
 *
 * The default U-Net is the benchmark W6 model of shared/bench/README.md, parameter for parameter (children `down`,
 * `up`, `dec`, `head` as in its PyTorch code): 4 downsamplings, (conv3×3-BN-ReLU)×2 per level at 32·2^i channels,
 * 2×2 max pooling, 2×2 stride-2 transposed convolutions, skip concatenation (skip first), 1×1 head.
 * The paper's own network is `unet({ baseChannels: 64, padding: 'valid', batchNorm: false, numClasses: 2 })` (31,031,810
 * parameters for RGB input):
 * unpadded convolutions, so each skip is centre-cropped to the upsampled map and a 572×572 input gives 388×388.
 */
import { ReLU } from '../../nn/activation.js';
import { Conv2d, ConvTranspose2d } from '../../nn/conv.js';
import { ModuleList, Sequential } from '../../nn/container.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import { interpolate } from '../../ops/interpolate.js';
import { pad } from '../../ops/pad.js';
import { maxPool2d } from '../../ops/pool.js';
import { cat, narrow } from '../../ops/shape.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkImages, upsampleTo, type SegmentationOutput } from './utils.js';

/** How the decoder doubles the resolution. */
export type UNetUpsampling = 'transpose' | 'bilinear';

/** Options of `unet`. */
export interface UNetOptions {
  /** Image channels (default 3). */
  inChannels?: number;
  /** Output classes (default 3, as W6; the paper's cell segmentation uses 2). */
  numClasses?: number;
  /** Channels of the first level; level i has baseChannels·2^i (default 32; the paper 64). */
  baseChannels?: number;
  /** Number of 2× downsamplings (default 4, as the paper). */
  depth?: number;
  /**
   * 'same' (default): padded 3×3 convolutions, output size = input size (inputs whose size is not a multiple of
   * 2^depth are handled by padding each upsampled map to its skip). 'valid': the paper's unpadded convolutions; skips
   * are centre-cropped and the output is smaller than the input (see `UNet.outputSize`).
   */
  padding?: 'same' | 'valid';
  /** 'transpose' (default): 2×2 stride-2 transposed conv; 'bilinear': bilinear ×2 then a 1×1 conv halving the channels. */
  upsampling?: UNetUpsampling;
  /** Batch norm after each 3×3 conv (default true; the paper predates batch norm: false gives biased convs). */
  batchNorm?: boolean;
  /**
   * Deep supervision: a 1×1 head on every decoder level but the last, its logits upsampled bilinearly to the
   * output size and returned as `aux` (coarsest first), for a weighted extra loss (`deepSupervisionLoss`).
   */
  deepSupervision?: boolean;
}

/** (conv3×3 → [BN] → ReLU) × 2, the unit of every U-Net level. */
export class DoubleConv extends Sequential {
  constructor(
    inChannels: number,
    outChannels: number,
    opts: { padding?: 'same' | 'valid'; batchNorm?: boolean; midChannels?: number } = {},
  ) {
    const p = (opts.padding ?? 'same') === 'same' ? 1 : 0;
    const bn = opts.batchNorm ?? true;
    const mid = opts.midChannels ?? outChannels;
    const layers: AnyModule[] = [new Conv2d(inChannels, mid, 3, { padding: p, bias: !bn })];
    if (bn) layers.push(new BatchNorm2d(mid));
    layers.push(new ReLU(), new Conv2d(mid, outChannels, 3, { padding: p, bias: !bn }));
    if (bn) layers.push(new BatchNorm2d(outChannels));
    layers.push(new ReLU());
    super(...layers);
  }
}

/** Bilinear ×2 (align_corners false) followed by a 1×1 conv from `inChannels` to `outChannels`. */
export class BilinearUp extends Module {
  conv: Conv2d;
  constructor(inChannels: number, outChannels: number) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, 1);
  }

  forward(x: Tensor): Tensor {
    return this.conv.forward(interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false }));
  }
}

function makeUp(kind: UNetUpsampling, inChannels: number, outChannels: number): AnyModule {
  if (kind === 'transpose') return new ConvTranspose2d(inChannels, outChannels, 2, { stride: 2 });
  if (kind === 'bilinear') return new BilinearUp(inChannels, outChannels);
  throw new Error(`unet: upsampling must be 'transpose' or 'bilinear', got '${String(kind)}'`);
}

/**
 * Brings a skip and an upsampled map `x` to one spatial size: 'valid' centre-crops the skip to `x`; 'same'
 * zero-pads `x` to the skip (odd sizes, where max pooling's floor lost a row or column).
 */
export function matchSkip(skip: Tensor, x: Tensor, mode: 'same' | 'valid' = 'same'): [Tensor, Tensor] {
  const [sh, sw] = [skip.shape[2], skip.shape[3]],
    [xh, xw] = [x.shape[2], x.shape[3]];
  if (sh === xh && sw === xw) return [skip, x];
  if (mode === 'valid') {
    if (sh < xh || sw < xw)
      throw new Error(
        `UNet: skip ${formatShape(skip.shape)} is smaller than the upsampled map ${formatShape(x.shape)}`,
      );
    // The paper: "cropping is necessary due to the loss of border pixels in every convolution".
    if (sh > xh) skip = narrow(skip, 2, (sh - xh) >> 1, xh);
    if (sw > xw) skip = narrow(skip, 3, (sw - xw) >> 1, xw);
    return [skip, x];
  }
  if (xh > sh || xw > sw)
    throw new Error(`UNet: upsampled map ${formatShape(x.shape)} is larger than its skip ${formatShape(skip.shape)}`);
  const dh = Math.max(0, sh - xh),
    dw = Math.max(0, sw - xw);
  return [skip, pad(x, [dw >> 1, dw - (dw >> 1), dh >> 1, dh - (dh >> 1)])];
}

function checkCommon(op: string, depth: number, base: number, inChannels: number, numClasses: number): void {
  for (const [name, v] of [
    ['depth', depth],
    ['baseChannels', base],
    ['inChannels', inChannels],
    ['numClasses', numClasses],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} must be a positive integer, got ${v}`);
  }
}

/** U-Net; see the file comment and `UNetOptions`. */
export class UNet extends Module<[Tensor], SegmentationOutput> {
  down: ModuleList;
  up: ModuleList;
  dec: ModuleList;
  head: Conv2d;
  declare auxHeads: ModuleList | null;
  readonly depth: number;
  readonly inChannels: number;
  readonly padding: 'same' | 'valid';

  constructor(opts: UNetOptions = {}) {
    super();
    const depth = opts.depth ?? 4,
      w = opts.baseChannels ?? 32,
      cin = opts.inChannels ?? 3,
      nc = opts.numClasses ?? 3;
    checkCommon('unet', depth, w, cin, nc);
    const padding = opts.padding ?? 'same';
    if (padding !== 'same' && padding !== 'valid')
      throw new Error(`unet: padding must be 'same' or 'valid', got '${String(padding)}'`);
    const dc = { padding, batchNorm: opts.batchNorm ?? true };
    const ch = Array.from({ length: depth + 1 }, (_, i) => w * 2 ** i);
    this.down = new ModuleList(ch.map((c, i) => new DoubleConv(i === 0 ? cin : ch[i - 1], c, dc)));
    const levels = Array.from({ length: depth }, (_, k) => depth - 1 - k);
    this.up = new ModuleList(levels.map((i) => makeUp(opts.upsampling ?? 'transpose', ch[i + 1], ch[i])));
    this.dec = new ModuleList(levels.map((i) => new DoubleConv(2 * ch[i], ch[i], dc)));
    this.head = new Conv2d(w, nc, 1);
    this.registerModule(
      'auxHeads',
      opts.deepSupervision ? new ModuleList(levels.slice(0, -1).map((i) => new Conv2d(ch[i], nc, 1))) : null,
    );
    this.depth = depth;
    this.inChannels = cin;
    this.padding = padding;
  }

  /** Spatial size of the output for an input of `size` (equal in 'same' mode; the paper's 572 → 388 in 'valid'). */
  outputSize(size: number): number {
    if (this.padding === 'same') return size;
    let s = size;
    for (let i = 0; i < this.depth; i++) {
      s -= 4;
      if (s <= 0 || s % 2 !== 0)
        throw new Error(
          `UNet.outputSize: input ${size} does not halve evenly at level ${i} (size ${s}) in 'valid' mode`,
        );
      s /= 2;
    }
    s -= 4;
    for (let i = 0; i < this.depth; i++) s = s * 2 - 4;
    if (s <= 0) throw new Error(`UNet.outputSize: input ${size} is too small for depth ${this.depth} in 'valid' mode`);
    return s;
  }

  forward(x: Tensor): SegmentationOutput {
    checkImages('UNet', x, this.inChannels);
    if (this.padding === 'valid') {
      this.outputSize(x.shape[2]);
      this.outputSize(x.shape[3]);
    }
    const skips: Tensor[] = [];
    for (let i = 0; i <= this.depth; i++) {
      x = this.down.at(i).forward(x) as Tensor;
      if (i < this.depth) {
        skips.push(x);
        x = maxPool2d(x, 2);
      }
    }
    const aux: Tensor[] = [];
    for (let k = 0; k < this.depth; k++) {
      const [skip, up] = matchSkip(skips.pop()!, this.up.at(k).forward(x) as Tensor, this.padding);
      x = this.dec.at(k).forward(cat([skip, up], 1)) as Tensor;
      if (this.auxHeads && k < this.depth - 1) aux.push(this.auxHeads.at(k).forward(x) as Tensor);
    }
    const out = this.head.forward(x);
    if (!this.auxHeads) return { out };
    return { out, aux: aux.map((a) => upsampleTo(a, out.shape.slice(2))) };
  }
}

/** U-Net (defaults: the W6 benchmark model, 7,763,107 parameters for 3 → 3 classes). */
export function unet(opts: UNetOptions = {}): UNet {
  return new UNet(opts);
}

/** Options of `unetPlusPlus`. */
export interface UNetPlusPlusOptions {
  inChannels?: number;
  numClasses?: number;
  /** Channels of level 0; level i has baseChannels·2^i (default 32). */
  baseChannels?: number;
  /** Number of downsamplings L (default 4). */
  depth?: number;
  upsampling?: UNetUpsampling;
  batchNorm?: boolean;
  /** Heads on every X^{0,j}, j = 1…L: `out` is X^{0,L}'s, `aux` the others (the paper's deep supervision). */
  deepSupervision?: boolean;
}

/**
 * UNet++: nodes X^{i,j} (level i, column j) registered as `conv{i}_{j}`; X^{i,0} is the encoder and
 * X^{i,j} = DoubleConv([X^{i,0}, …, X^{i,j−1}, Up(X^{i+1,j−1})]) — the nested dense skips of Zhou et al.
 * Up-modules `up{i}_{j}` map level i+1 to level i's channels. 'same' padding; any input size.
 */
export class UNetPlusPlus extends Module<[Tensor], SegmentationOutput> {
  readonly depth: number;
  readonly inChannels: number;
  private readonly deepSupervision: boolean;

  constructor(opts: UNetPlusPlusOptions = {}) {
    super();
    const depth = opts.depth ?? 4,
      w = opts.baseChannels ?? 32,
      cin = opts.inChannels ?? 3,
      nc = opts.numClasses ?? 3;
    checkCommon('unetPlusPlus', depth, w, cin, nc);
    const ch = Array.from({ length: depth + 1 }, (_, i) => w * 2 ** i);
    const bn = { batchNorm: opts.batchNorm ?? true };
    for (let i = 0; i <= depth; i++)
      this.registerModule(`conv${i}_0`, new DoubleConv(i === 0 ? cin : ch[i - 1], ch[i], bn));
    for (let j = 1; j <= depth; j++) {
      for (let i = 0; i + j <= depth; i++) {
        this.registerModule(`up${i}_${j}`, makeUp(opts.upsampling ?? 'transpose', ch[i + 1], ch[i]));
        this.registerModule(`conv${i}_${j}`, new DoubleConv((j + 1) * ch[i], ch[i], bn));
      }
    }
    this.deepSupervision = opts.deepSupervision ?? false;
    if (this.deepSupervision) for (let j = 1; j <= depth; j++) this.registerModule(`head${j}`, new Conv2d(w, nc, 1));
    else this.registerModule('head', new Conv2d(w, nc, 1));
    this.depth = depth;
    this.inChannels = cin;
  }

  private node(name: string): AnyModule {
    return this.getSubmodule(name);
  }

  forward(x: Tensor): SegmentationOutput {
    checkImages('UNetPlusPlus', x, this.inChannels);
    const L = this.depth;
    const X: Tensor[][] = Array.from({ length: L + 1 }, () => []);
    for (let i = 0; i <= L; i++) {
      X[i][0] = this.node(`conv${i}_0`).forward(i === 0 ? x : maxPool2d(X[i - 1][0], 2)) as Tensor;
    }
    for (let j = 1; j <= L; j++) {
      for (let i = 0; i + j <= L; i++) {
        const [skip0, up] = matchSkip(X[i][0], this.node(`up${i}_${j}`).forward(X[i + 1][j - 1]) as Tensor);
        X[i][j] = this.node(`conv${i}_${j}`).forward(cat([skip0, ...X[i].slice(1, j), up], 1)) as Tensor;
      }
    }
    if (!this.deepSupervision) return { out: this.node('head').forward(X[0][L]) as Tensor };
    const outs = Array.from({ length: L }, (_, k) => this.node(`head${k + 1}`).forward(X[0][k + 1]) as Tensor);
    return { out: outs[L - 1], aux: outs.slice(0, L - 1) };
  }
}

/** UNet++ (Zhou et al. 2018); with 32 base channels and depth 4, 9,045,891 parameters for 3 → 3 classes. */
export function unetPlusPlus(opts: UNetPlusPlusOptions = {}): UNetPlusPlus {
  return new UNetPlusPlus(opts);
}
