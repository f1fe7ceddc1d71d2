/**
 * Joint image/mask augmentation for segmentation beyond data.transforms: random scale-and-crop (the DeepLab /
 * torchvision segmentation reference recipe: rescale by a random factor, pad to the crop size with the mask's
 * ignore label, take a random crop) — bilinear for the image, nearest for the mask, so labels are never blended.
 */
import type { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { registerTransform, Transform, type TransformSpec } from './transform-base.js';
import {
  cropPad,
  ImageTransform,
  warpAffine,
  type ImageSample,
  type Interpolation,
  type Sample,
} from './transforms.js';

/** Options of `RandomScaleCrop`. */
export interface RandomScaleCropOptions {
  /** Range of the scale factor, drawn uniformly (default [0.5, 2.0], DeepLab's). */
  scale?: readonly [number, number];
  /** Mask value of padded pixels (default 255, ignored by the losses/metrics that use ignoreIndex 255). */
  maskFill?: number;
  /** Image value of padded pixels (default 0; one per channel allowed). */
  fill?: number | readonly number[];
  /** Image interpolation (default 'bilinear'; the mask is always 'nearest'). */
  interpolation?: Interpolation;
  generator?: Generator;
}

/**
 * Rescales `{ image, mask }` by s ~ U(scale) (output size round(s·H) × round(s·W)), pads the image with `fill`
 * and the mask with `maskFill` up to `size` where smaller, and crops a random `size` window from it. A bare image
 * tensor is transformed alike. Boxes are not supported (use RandomResizedCrop for detection).
 */
export class RandomScaleCrop extends ImageTransform {
  readonly size: [number, number];
  readonly scale: [number, number];
  readonly maskFill: number;
  readonly fill: number | number[];
  readonly interpolation: Interpolation;

  constructor(size: number | readonly [number, number], opts: RandomScaleCropOptions = {}) {
    super(opts.generator);
    const s: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
    if (!s.every((v) => Number.isInteger(v) && v > 0))
      throw new Error(`RandomScaleCrop: size must be a positive integer or [h, w], got ${JSON.stringify(size)}`);
    this.size = s;
    const sc = opts.scale ?? [0.5, 2.0];
    if (!(sc.length === 2 && sc[0] > 0 && sc[1] >= sc[0]))
      throw new Error(`RandomScaleCrop: scale must be [min, max] with 0 < min ≤ max, got ${JSON.stringify(sc)}`);
    this.scale = [sc[0], sc[1]];
    this.maskFill = opts.maskFill ?? 255;
    this.fill = typeof opts.fill === 'object' ? opts.fill.slice() : (opts.fill ?? 0);
    this.interpolation = opts.interpolation ?? 'bilinear';
  }

  protected transform<S extends Sample>(x: S): S {
    const image = x instanceof Tensor ? x : x.image;
    if (!(image instanceof Tensor) || image.shape.length < 2)
      throw new Error(
        `RandomScaleCrop: expected an image [C, H, W] or { image, mask }, got ${image instanceof Tensor ? formatShape(image.shape) : typeof image}`,
      );
    const sample = x instanceof Tensor ? null : (x as ImageSample);
    if (sample?.boxes !== undefined)
      throw new Error('RandomScaleCrop: samples with boxes are not supported (use RandomResizedCrop)');
    const H = image.shape[image.shape.length - 2],
      W = image.shape[image.shape.length - 1];
    if (
      sample?.mask &&
      (sample.mask.shape[sample.mask.shape.length - 2] !== H || sample.mask.shape[sample.mask.shape.length - 1] !== W)
    ) {
      throw new Error(`RandomScaleCrop: image is ${H}×${W} but mask is ${formatShape(sample.mask.shape)}`);
    }
    const g = this.rng();
    const s = this.scale[0] + (this.scale[1] - this.scale[0]) * g.random();
    const sh = Math.max(1, Math.round(H * s)),
      sw = Math.max(1, Math.round(W * s));
    // Output pixel centre (x + 0.5) reads input (x + 0.5)·W/sw (PyTorch's align_corners=False rule).
    const inv: [number, number, number, number, number, number] = [W / sw, 0, 0, 0, H / sh, 0];
    const [h, w] = this.size;
    const top = g.randint(0, Math.max(0, sh - h) + 1),
      left = g.randint(0, Math.max(0, sw - w) + 1);
    const img = cropPad(warpAffine(image, sh, sw, inv, this.interpolation, 0, 'clamp'), top, left, h, w, this.fill);
    if (!sample) return img as S;
    const out: ImageSample = { ...sample, image: img };
    if (sample.mask)
      out.mask = cropPad(warpAffine(sample.mask, sh, sw, inv, 'nearest', 0, 'clamp'), top, left, h, w, this.maskFill);
    return out as S;
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.size, {
      scale: this.scale,
      maskFill: this.maskFill,
      fill: this.fill,
      interpolation: this.interpolation,
    });
  }
}

registerTransform(
  'RandomScaleCrop',
  RandomScaleCrop as unknown as new (...args: never[]) => Transform<unknown, unknown>,
);
