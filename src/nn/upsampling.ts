/** Upsample: a module around F.interpolate. */
import { interpolate, type InterpolateMode } from '../ops/interpolate.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { pyFloat } from './repr.js';

/** Options of Upsample: exactly one of size or scaleFactor. */
export interface UpsampleOptions {
  size?: number | readonly number[] | null;
  scaleFactor?: number | readonly number[] | null;
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
}

/** Resizes [N, C, L], [N, C, H, W] or [N, C, D, H, W] maps by `scaleFactor` or to `size` (any F.interpolate mode). */
export class Upsample extends Module {
  readonly size: number | readonly number[] | null;
  readonly scaleFactor: number | readonly number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;

  constructor(opts: UpsampleOptions) {
    super();
    this.size = opts.size ?? null;
    this.scaleFactor = opts.scaleFactor ?? null;
    if ((this.size === null) === (this.scaleFactor === null))
      throw new Error('Upsample: exactly one of size or scaleFactor must be given');
    this.mode = opts.mode ?? 'nearest';
    this.alignCorners = opts.alignCorners ?? null;
  }

  forward(x: Tensor): Tensor {
    return interpolate(x, {
      size: this.size,
      scaleFactor: this.scaleFactor,
      mode: this.mode,
      alignCorners: this.alignCorners,
    });
  }

  override extraRepr(): string {
    const sf = this.scaleFactor;
    const info =
      sf !== null
        ? `scale_factor=${typeof sf === 'number' ? pyFloat(sf) : `(${sf.map(pyFloat).join(', ')})`}`
        : `size=${typeof this.size === 'number' ? this.size : `(${(this.size as number[]).join(', ')})`}`;
    return `${info}, mode=${this.mode}`;
  }
}
