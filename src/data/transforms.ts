/**
 * Image transforms (torchvision.transforms in camelCase), working on raw arrays — they are data preparation and
 * record no autograd graph.
 *
 * Inputs: an image tensor `[C, H, W]` (or `[H, W]`; float in [0, 1] or uint8 in [0, 255]) or a sample
 * `{ image, mask?, boxes?, ... }`. Geometric transforms move the mask (`[H, W]` or `[K, H, W]`, any dtype; always
 * resampled with nearest interpolation so class ids stay valid) and the boxes (`[K, 4]` float, xyxy in pixels;
 * after a rotation or shear, the box becomes the axis-aligned bound of its transformed corners, clipped to the
 * image) exactly as the image; random transforms draw their parameters once per call, so image, mask and boxes
 * stay aligned. Photometric transforms (ColorJitter, Normalize, RandomErasing …) touch only the image.
 *
 * Coordinates: pixel (row i, column j) covers [j, j+1) × [i, i+1); resampling samples at pixel centres
 * (PyTorch's alignCorners=false). 'bilinear' interpolates; 'nearest' takes the pixel containing the sample point
 * (PyTorch's 'nearest-exact').
 *
 * Randomness: each random transform takes an optional `generator`. Without one it draws from the data stream
 * (see rng.ts) — seeded per batch inside a DataLoader so results are reproducible with and without workers.
 */
import { isFloating } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { dataGenerator } from './rng.js';
import {
  applyTransform,
  registerTransform,
  Transform,
  transformSpec,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';
import {
  invertAffine,
  compose,
  hw,
  flipPlanes,
  isSample,
  applyGeometry,
  mapImage,
  sizeOf,
  describe,
  sizePair,
  range,
  roundHalfEven,
  uniform,
  warpAffine,
  cropPad,
  ImageTransform,
  type Geometry,
  type ImageSample,
  type Sample,
  type Interpolation,
  type Affine,
  type PaddingMode,
} from './image-sample.js';

export { IMAGENET_MEAN, IMAGENET_STD, warpAffine, cropPad, ImageTransform } from './image-sample.js';
import { ColorJitter, RandomErasing } from './transforms-photometric.js';
export type { ImageSample, Sample, Interpolation, Affine, PaddingMode } from './image-sample.js';
export {
  ColorJitter,
  RandomErasing,
  type ColorJitterOptions,
  type RandomErasingOptions,
} from './transforms-photometric.js';

// ---------------------------------------------------------------------------------------------------------------
// Conversion and normalisation

/** Decoded pixels as image codecs give them: interleaved rows (HWC), `channels` per pixel. */
export interface RawImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
  /** Channels per pixel in `data` (default: data.length / (width·height)). */
  channels?: number;
}

/**
 * Converts an image to a float32 tensor [C, H, W] with values in [0, 1]: a uint8 tensor [C, H, W] (readImage's
 * layout) or [H, W] is divided by 255; a RawImage (HWC bytes, e.g. from a PNG decoder) is also transposed; a
 * float tensor is passed through. In a sample, only the image is converted (the mask keeps its dtype).
 */
export class ToTensor extends Transform<Sample | RawImage, Sample> {
  apply(x: Tensor | RawImage): Tensor;
  apply(x: ImageSample): ImageSample;
  apply(x: Sample | RawImage): Sample;
  apply(x: Sample | RawImage): Sample {
    if (isSample(x)) return { ...x, image: toFloatImage(x.image) };
    if (x instanceof Tensor) return toFloatImage(x);
    if (typeof x === 'object' && x !== null && 'data' in x && 'width' in x && 'height' in x) return rawToTensor(x);
    throw new Error(
      `ToTensor: expected a uint8 image tensor, a { width, height, data } image or a sample, got ${describe(x)}`,
    );
  }

  override spec(): TransformSpec {
    return { __transform: 'ToTensor', args: [] };
  }
}

function toFloatImage(t: Tensor): Tensor {
  if (isFloating(t.dtype)) return t;
  if (t.dtype !== 'uint8') throw new Error(`ToTensor: expected a uint8 or float image, got ${t.dtype}`);
  const src = t.dataView();
  const out = Tensor.empty(t.shape.length === 2 ? [1, ...t.shape] : t.shape, 'float32');
  for (let i = 0; i < src.length; i++) out.storage[i] = src[i] / 255;
  return out;
}

/** HWC bytes → float32 [C, H, W] in [0, 1]. */
export function rawToTensor(img: RawImage): Tensor {
  const { width: W, height: H, data } = img;
  const C = img.channels ?? data.length / (W * H);
  if (!Number.isInteger(C) || C < 1 || C * W * H !== data.length) {
    throw new Error(`ToTensor: image data has ${data.length} bytes, which is not ${W}×${H}×channels`);
  }
  const out = Tensor.empty([C, H, W], 'float32');
  const dst = out.storage;
  const plane = H * W;
  for (let p = 0; p < plane; p++) for (let c = 0; c < C; c++) dst[c * plane + p] = data[p * C + c] / 255;
  return out;
}

/** (image − mean) / std per channel (torchvision's Normalize). Expects a float image [C, H, W]. */
export class Normalize extends ImageTransform {
  readonly mean: number[];
  readonly std: number[];

  constructor(mean: number | readonly number[], std: number | readonly number[]) {
    super();
    this.mean = typeof mean === 'number' ? [mean] : mean.slice();
    this.std = typeof std === 'number' ? [std] : std.slice();
    if (this.std.some((s) => s === 0))
      throw new Error(`Normalize: std evaluated to zero, leading to division by zero (std = ${JSON.stringify(std)})`);
  }

  protected transform<S extends Sample>(x: S): S {
    return mapImage(x, (t) => {
      if (!isFloating(t.dtype))
        throw new Error(`Normalize: expected a float image (apply ToTensor first), got ${t.dtype}`);
      const [H, W] = hw(t, 'Normalize');
      const C = t.shape.length >= 3 ? t.shape[t.shape.length - 3] : 1;
      for (const [name, v] of [
        ['mean', this.mean],
        ['std', this.std],
      ] as const) {
        if (v.length !== 1 && v.length !== C)
          throw new Error(
            `Normalize: ${name} has ${v.length} values but the image ${formatShape(t.shape)} has ${C} channels`,
          );
      }
      const src = t.dataView();
      const out = Tensor.empty(t.shape, t.dtype);
      const plane = H * W;
      for (let i = 0; i < src.length; i++) {
        const c = Math.floor(i / plane) % C;
        out.storage[i] = (src[i] - this.mean[c % this.mean.length]) / this.std[c % this.std.length];
      }
      return out;
    });
  }

  override spec(): TransformSpec {
    return { __transform: 'Normalize', args: [this.mean, this.std] };
  }
}

/** Rescales each image linearly so its minimum becomes `min` and its maximum `max` (a constant image → min). */
export class MinMaxScale extends ImageTransform {
  constructor(
    readonly min = 0,
    readonly max = 1,
  ) {
    super();
  }

  protected transform<S extends Sample>(x: S): S {
    return mapImage(x, (t) => {
      const src = t.dataView();
      let lo = Infinity,
        hi = -Infinity;
      for (let i = 0; i < src.length; i++) {
        if (src[i] < lo) lo = src[i];
        if (src[i] > hi) hi = src[i];
      }
      const out = Tensor.empty(t.shape, isFloating(t.dtype) ? t.dtype : 'float32');
      const scale = hi > lo ? (this.max - this.min) / (hi - lo) : 0;
      for (let i = 0; i < src.length; i++) out.storage[i] = this.min + (src[i] - lo) * scale;
      return out;
    });
  }

  override spec(): TransformSpec {
    return { __transform: 'MinMaxScale', args: [this.min, this.max] };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Geometry

function resizeGeometry(H: number, W: number, h: number, w: number, interp: Interpolation): Geometry {
  const sx = W / w,
    sy = H / h;
  return {
    image: (t) => (h === H && w === W ? t : warpAffine(t, h, w, [sx, 0, 0, 0, sy, 0], interp, 0, 'clamp')),
    mask: (t) => (h === H && w === W ? t : warpAffine(t, h, w, [sx, 0, 0, 0, sy, 0], 'nearest', 0, 'clamp')),
    fwd: [1 / sx, 0, 0, 0, 1 / sy, 0],
    outH: h,
    outW: w,
  };
}

function cropGeometry(
  top: number,
  left: number,
  h: number,
  w: number,
  fill: number | readonly number[] = 0,
  mode: PaddingMode = 'constant',
): Geometry {
  return {
    image: (t) => cropPad(t, top, left, h, w, fill, mode),
    // Padding of a mask is background (0) unless the mode copies pixels.
    mask: (t) => cropPad(t, top, left, h, w, 0, mode),
    fwd: [1, 0, -left, 0, 1, -top],
    outH: h,
    outW: w,
  };
}

/** The output size of torchvision's Resize: an int resizes the shorter side keeping the aspect ratio. */
function resizedSize(H: number, W: number, size: number | readonly number[], maxSize?: number): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  const short = Math.min(H, W),
    long = Math.max(H, W);
  let newShort = size;
  let newLong = Math.floor((size * long) / short);
  if (maxSize !== undefined && newLong > maxSize) {
    newShort = Math.floor((maxSize * newShort) / newLong);
    newLong = maxSize;
  }
  return H <= W ? [newShort, newLong] : [newLong, newShort];
}

/**
 * Resizes to `size`: [h, w] exactly, or a number for the shorter side (aspect ratio kept, torchvision's rule;
 * `maxSize` caps the longer side). Bilinear by default; masks always nearest.
 */
export class Resize extends ImageTransform {
  readonly size: number | [number, number];
  readonly interpolation: Interpolation;
  readonly maxSize: number | undefined;

  constructor(size: number | readonly number[], opts: { interpolation?: Interpolation; maxSize?: number } = {}) {
    super();
    this.size = typeof size === 'number' ? sizePair('Resize', size)[0] : sizePair('Resize', size);
    this.interpolation = opts.interpolation ?? 'bilinear';
    this.maxSize = opts.maxSize;
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('Resize', x);
    const [h, w] = resizedSize(H, W, this.size, this.maxSize);
    return applyGeometry(x, resizeGeometry(H, W, h, w, this.interpolation));
  }

  override spec(): TransformSpec {
    return { __transform: 'Resize', args: [this.size, { interpolation: this.interpolation, maxSize: this.maxSize }] };
  }
}

/** Crops the centre [h, w]; an image smaller than the crop is padded with 0 first (torchvision's behaviour). */
export class CenterCrop extends ImageTransform {
  readonly size: [number, number];

  constructor(size: number | readonly number[]) {
    super();
    this.size = sizePair('CenterCrop', size);
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('CenterCrop', x);
    const [h, w] = this.size;
    const top = roundHalfEven((H - h) / 2);
    const left = roundHalfEven((W - w) / 2);
    return applyGeometry(x, cropGeometry(top, left, h, w));
  }

  override spec(): TransformSpec {
    return { __transform: 'CenterCrop', args: [this.size] };
  }
}

/** Padding amounts: all sides, [left/right, top/bottom], or [left, top, right, bottom] (torchvision's order). */
function padAmounts(op: string, p: number | readonly number[]): [number, number, number, number] {
  let r: [number, number, number, number];
  if (typeof p === 'number') r = [p, p, p, p];
  else if (p.length === 2) r = [p[0], p[1], p[0], p[1]];
  else if (p.length === 4) r = [p[0], p[1], p[2], p[3]];
  else throw new Error(`${op}: padding must be a number or a sequence of 2 or 4 numbers, got ${JSON.stringify(p)}`);
  if (!r.every((v) => Number.isInteger(v) && v >= 0))
    throw new Error(`${op}: padding must be non-negative integers, got ${JSON.stringify(p)}`);
  return r;
}

/** Pads the borders (left, top, right, bottom) with a constant `fill`, or by edge / reflect / symmetric copying. */
export class Pad extends ImageTransform {
  readonly padding: [number, number, number, number];
  readonly fill: number | number[];
  readonly paddingMode: PaddingMode;

  constructor(
    padding: number | readonly number[],
    opts: { fill?: number | readonly number[]; paddingMode?: PaddingMode } = {},
  ) {
    super();
    this.padding = padAmounts('Pad', padding);
    this.fill = typeof opts.fill === 'object' ? opts.fill.slice() : (opts.fill ?? 0);
    this.paddingMode = opts.paddingMode ?? 'constant';
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('Pad', x);
    const [l, t, r, b] = this.padding;
    return applyGeometry(x, cropGeometry(-t, -l, H + t + b, W + l + r, this.fill, this.paddingMode));
  }

  override spec(): TransformSpec {
    return { __transform: 'Pad', args: [this.padding, { fill: this.fill, paddingMode: this.paddingMode }] };
  }
}

/** Options of RandomCrop (torchvision's). */
export interface RandomCropOptions {
  /** Border added before cropping: number, [lr, tb] or [l, t, r, b]. */
  padding?: number | readonly number[];
  /** Pad the image when it is smaller than the crop (otherwise that is an error). */
  padIfNeeded?: boolean;
  /** Constant fill for 'constant' padding (a number or one per channel). */
  fill?: number | readonly number[];
  paddingMode?: PaddingMode;
  generator?: Generator;
}

/** Crops a random [h, w] window, after optional padding (e.g. `RandomCrop(28, { padding: 4 })`). */
export class RandomCrop extends ImageTransform {
  readonly size: [number, number];
  readonly padding: [number, number, number, number];
  readonly padIfNeeded: boolean;
  readonly fill: number | number[];
  readonly paddingMode: PaddingMode;

  constructor(size: number | readonly number[], opts: RandomCropOptions = {}) {
    super(opts.generator);
    this.size = sizePair('RandomCrop', size);
    this.padding = padAmounts('RandomCrop', opts.padding ?? 0);
    this.padIfNeeded = opts.padIfNeeded ?? false;
    this.fill = typeof opts.fill === 'object' ? opts.fill.slice() : (opts.fill ?? 0);
    this.paddingMode = opts.paddingMode ?? 'constant';
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('RandomCrop', x);
    let [l, t, r, b] = this.padding;
    const [h, w] = this.size;
    if (this.padIfNeeded && H + t + b < h) {
      const extra = h - (H + t + b);
      t += extra;
      b += extra;
    }
    if (this.padIfNeeded && W + l + r < w) {
      const extra = w - (W + l + r);
      l += extra;
      r += extra;
    }
    const ph = H + t + b,
      pw = W + l + r;
    if (ph < h || pw < w) {
      throw new Error(
        `RandomCrop: required crop size ${h}×${w} is larger than the ${t + b + l + r ? 'padded ' : ''}input image size ${ph}×${pw} (use padIfNeeded: true)`,
      );
    }
    const g = this.rng();
    const i = g.randint(0, ph - h + 1);
    const j = g.randint(0, pw - w + 1);
    return applyGeometry(x, cropGeometry(i - t, j - l, h, w, this.fill, this.paddingMode));
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.size, {
      padding: this.padding,
      padIfNeeded: this.padIfNeeded,
      fill: this.fill,
      paddingMode: this.paddingMode,
    });
  }
}

/**
 * Crops a random region covering a `scale` fraction of the area with aspect ratio in `ratio` (log-uniform), then
 * resizes it to `size` (torchvision's RandomResizedCrop, with its 10 attempts and centre-crop fallback).
 */
export class RandomResizedCrop extends ImageTransform {
  readonly size: [number, number];
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly interpolation: Interpolation;

  constructor(
    size: number | readonly number[],
    opts: {
      scale?: readonly number[];
      ratio?: readonly number[];
      interpolation?: Interpolation;
      generator?: Generator;
    } = {},
  ) {
    super(opts.generator);
    this.size = sizePair('RandomResizedCrop', size);
    this.scale = range('RandomResizedCrop', 'scale', opts.scale ?? [0.08, 1], 0);
    this.ratio = range('RandomResizedCrop', 'ratio', opts.ratio ?? [3 / 4, 4 / 3], 0);
    this.interpolation = opts.interpolation ?? 'bilinear';
  }

  /** Draws (top, left, h, w) of the crop for an H × W image. */
  getParams(H: number, W: number): [number, number, number, number] {
    const g = this.rng();
    const area = H * W;
    const logR = [Math.log(this.ratio[0]), Math.log(this.ratio[1])];
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * uniform(g, this.scale[0], this.scale[1]);
      const aspect = Math.exp(uniform(g, logR[0], logR[1]));
      const w = Math.round(Math.sqrt(target * aspect));
      const h = Math.round(Math.sqrt(target / aspect));
      if (w > 0 && w <= W && h > 0 && h <= H) return [g.randint(0, H - h + 1), g.randint(0, W - w + 1), h, w];
    }
    const inRatio = W / H;
    let w: number, h: number;
    if (inRatio < this.ratio[0]) {
      w = W;
      h = Math.round(w / this.ratio[0]);
    } else if (inRatio > this.ratio[1]) {
      h = H;
      w = Math.round(h * this.ratio[1]);
    } else {
      w = W;
      h = H;
    }
    return [Math.floor((H - h) / 2), Math.floor((W - w) / 2), h, w];
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('RandomResizedCrop', x);
    const [top, left, h, w] = this.getParams(H, W);
    const [oh, ow] = this.size;
    const sx = w / ow,
      sy = h / oh;
    const inv: Affine = [sx, 0, left, 0, sy, top];
    return applyGeometry(x, {
      image: (t) => warpAffine(t, oh, ow, inv, this.interpolation, 0, 'clamp'),
      mask: (t) => warpAffine(t, oh, ow, inv, 'nearest', 0, 'clamp'),
      fwd: invertAffine(inv),
      outH: oh,
      outW: ow,
    });
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.size, { scale: this.scale, ratio: this.ratio, interpolation: this.interpolation });
  }
}

/** Mirrors left–right with probability p. */
export class RandomHorizontalFlip extends ImageTransform {
  constructor(
    readonly p = 0.5,
    opts: { generator?: Generator } = {},
  ) {
    super(opts.generator);
    if (!(p >= 0 && p <= 1)) throw new Error(`RandomHorizontalFlip: p must be in [0, 1], got ${p}`);
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('RandomHorizontalFlip', x);
    if (!(this.rng().random() < this.p)) return x;
    return applyGeometry(x, {
      image: (t) => flipPlanes(t, true),
      mask: (t) => flipPlanes(t, true),
      fwd: [-1, 0, W, 0, 1, 0],
      outH: H,
      outW: W,
    });
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.p);
  }
}

/** Mirrors top–bottom with probability p. */
export class RandomVerticalFlip extends ImageTransform {
  constructor(
    readonly p = 0.5,
    opts: { generator?: Generator } = {},
  ) {
    super(opts.generator);
    if (!(p >= 0 && p <= 1)) throw new Error(`RandomVerticalFlip: p must be in [0, 1], got ${p}`);
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('RandomVerticalFlip', x);
    if (!(this.rng().random() < this.p)) return x;
    return applyGeometry(x, {
      image: (t) => flipPlanes(t, false),
      mask: (t) => flipPlanes(t, false),
      fwd: [1, 0, 0, 0, -1, H],
      outH: H,
      outW: W,
    });
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.p);
  }
}

/** Options shared by RandomRotation and RandomAffine. */
export interface WarpOptions {
  /** Default 'nearest' (torchvision's default). */
  interpolation?: Interpolation;
  /** Value for areas outside the input (a number or one per channel); masks get 0 (background). */
  fill?: number | readonly number[];
  /** Rotation centre (x, y) in pixels; default the image centre. */
  center?: readonly [number, number];
  generator?: Generator;
}

/**
 * Forward map of torchvision's affine: about centre c, rotate by `angle` degrees (counter-clockwise as displayed),
 * shear by (sx, sy) degrees, scale, then translate by (tx, ty) pixels.
 */
export function affineMatrix(
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: readonly [number, number],
  center: readonly [number, number],
): Affine {
  const rad = (d: number) => (d * Math.PI) / 180;
  const a = rad(angle),
    shx = rad(shear[0]),
    shy = rad(shear[1]);
  const [cx, cy] = center;
  // Rotation counter-clockwise on screen (y axis pointing down).
  const R: Affine = [Math.cos(a), Math.sin(a), 0, -Math.sin(a), Math.cos(a), 0];
  const Sh: Affine = [1, -Math.tan(shx), 0, -Math.tan(shy), 1, 0];
  const S: Affine = [scale, 0, 0, 0, scale, 0];
  let m: Affine = [1, 0, -cx, 0, 1, -cy];
  m = compose(S, m);
  m = compose(Sh, m);
  m = compose(R, m);
  return compose([1, 0, cx + translate[0], 0, 1, cy + translate[1]], m);
}

function warpGeometry(
  H: number,
  W: number,
  fwd: Affine,
  interp: Interpolation,
  fill: number | readonly number[],
): Geometry {
  const inv = invertAffine(fwd);
  return {
    image: (t) => warpAffine(t, H, W, inv, interp, fill, 'fill'),
    mask: (t) => warpAffine(t, H, W, inv, 'nearest', 0, 'fill'),
    fwd,
    outH: H,
    outW: W,
  };
}

/** Rotates by an angle drawn uniformly from [-degrees, degrees] (or the given [min, max]). */
export class RandomRotation extends ImageTransform {
  readonly degrees: [number, number];
  readonly interpolation: Interpolation;
  readonly fill: number | number[];
  readonly center: [number, number] | undefined;

  constructor(degrees: number | readonly number[], opts: WarpOptions = {}) {
    super(opts.generator);
    this.degrees = range('RandomRotation', 'degrees', degrees, 0);
    this.interpolation = opts.interpolation ?? 'nearest';
    this.fill = typeof opts.fill === 'object' ? opts.fill.slice() : (opts.fill ?? 0);
    this.center = opts.center ? [opts.center[0], opts.center[1]] : undefined;
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('RandomRotation', x);
    const angle = uniform(this.rng(), this.degrees[0], this.degrees[1]);
    const fwd = affineMatrix(angle, [0, 0], 1, [0, 0], this.center ?? [W / 2, H / 2]);
    return applyGeometry(x, warpGeometry(H, W, fwd, this.interpolation, this.fill));
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.degrees, { interpolation: this.interpolation, fill: this.fill, center: this.center });
  }
}

/** Options of RandomAffine. */
export interface RandomAffineOptions extends WarpOptions {
  /** Maximum absolute fractions [a, b] of width and height for the random translation. */
  translate?: readonly [number, number];
  /** Scale drawn uniformly from [min, max]. */
  scale?: readonly [number, number];
  /** x-shear in degrees: a number s (→ [-s, s]), [min, max], or [xmin, xmax, ymin, ymax] for both axes. */
  shear?: number | readonly number[];
}

/** Random rotation, translation, scale and shear in one resampling (torchvision's RandomAffine). */
export class RandomAffine extends ImageTransform {
  readonly degrees: [number, number];
  readonly translate: [number, number] | undefined;
  readonly scale: [number, number] | undefined;
  readonly shear: [number, number, number, number] | undefined;
  readonly interpolation: Interpolation;
  readonly fill: number | number[];
  readonly center: [number, number] | undefined;

  constructor(degrees: number | readonly number[], opts: RandomAffineOptions = {}) {
    super(opts.generator);
    this.degrees = range('RandomAffine', 'degrees', degrees, 0);
    if (opts.translate && (opts.translate.length !== 2 || opts.translate.some((v) => !(v >= 0 && v <= 1)))) {
      throw new Error(`RandomAffine: translate must be two fractions in [0, 1], got ${JSON.stringify(opts.translate)}`);
    }
    this.translate = opts.translate ? [opts.translate[0], opts.translate[1]] : undefined;
    if (opts.scale && (opts.scale.length !== 2 || opts.scale.some((v) => !(v > 0)) || opts.scale[0] > opts.scale[1])) {
      throw new Error(
        `RandomAffine: scale must be a [min, max] pair of positive numbers, got ${JSON.stringify(opts.scale)}`,
      );
    }
    this.scale = opts.scale ? [opts.scale[0], opts.scale[1]] : undefined;
    const sh = opts.shear;
    if (sh === undefined) this.shear = undefined;
    else if (typeof sh === 'number') this.shear = [-Math.abs(sh), Math.abs(sh), 0, 0];
    else if (sh.length === 2) this.shear = [sh[0], sh[1], 0, 0];
    else if (sh.length === 4) this.shear = [sh[0], sh[1], sh[2], sh[3]];
    else
      throw new Error(
        `RandomAffine: shear must be a number or a sequence of 2 or 4 numbers, got ${JSON.stringify(sh)}`,
      );
    this.interpolation = opts.interpolation ?? 'nearest';
    this.fill = typeof opts.fill === 'object' ? opts.fill.slice() : (opts.fill ?? 0);
    this.center = opts.center ? [opts.center[0], opts.center[1]] : undefined;
  }

  protected transform<S extends Sample>(x: S): S {
    const [H, W] = sizeOf('RandomAffine', x);
    const g = this.rng();
    const angle = uniform(g, this.degrees[0], this.degrees[1]);
    let tx = 0,
      ty = 0;
    if (this.translate) {
      const mx = this.translate[0] * W,
        my = this.translate[1] * H;
      tx = Math.round(uniform(g, -mx, mx));
      ty = Math.round(uniform(g, -my, my));
    }
    const s = this.scale ? uniform(g, this.scale[0], this.scale[1]) : 1;
    let shx = 0,
      shy = 0;
    if (this.shear) {
      shx = uniform(g, this.shear[0], this.shear[1]);
      if (this.shear[2] !== 0 || this.shear[3] !== 0) shy = uniform(g, this.shear[2], this.shear[3]);
    }
    const fwd = affineMatrix(angle, [tx, ty], s, [shx, shy], this.center ?? [W / 2, H / 2]);
    return applyGeometry(x, warpGeometry(H, W, fwd, this.interpolation, this.fill));
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.degrees, {
      translate: this.translate,
      scale: this.scale,
      shear: this.shear,
      interpolation: this.interpolation,
      fill: this.fill,
      center: this.center,
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Composition

/** Applies transforms in order. */
export class Compose extends Transform<unknown, unknown> {
  readonly transforms: TransformLike<never, unknown>[];

  constructor(transforms: readonly TransformLike<never, unknown>[]) {
    super();
    this.transforms = transforms.slice();
  }

  apply(x: Tensor): Tensor;
  apply(x: ImageSample): ImageSample;
  apply(x: RawImage): Tensor;
  apply(x: unknown): unknown;
  apply(x: unknown): unknown {
    let v = x;
    for (const t of this.transforms) v = applyTransform(t as TransformLike<unknown, unknown>, v);
    return v;
  }

  override spec(): TransformSpec | null {
    const specs = this.transforms.map((t) => transformSpec(t as TransformLike<never, unknown>));
    if (specs.some((s) => !s)) return null;
    return { __transform: 'Compose', args: [specs] };
  }

  override toString(): string {
    return `Compose([\n${this.transforms.map((t) => `  ${t instanceof Transform ? t.toString() : 'function'}`).join(',\n')}\n])`;
  }
}

/** Wraps a function as a transform (it cannot be sent to DataLoader workers). */
export class Lambda<I = unknown, O = unknown> extends Transform<I, O> {
  constructor(readonly fn: (x: I) => O) {
    super();
    if (typeof fn !== 'function') throw new Error(`Lambda: expected a function, got ${typeof fn}`);
  }

  apply(x: I): O {
    return this.fn(x);
  }
}

/** Applies `transform` with probability p (torchvision's RandomApply). */
export class RandomApply extends Transform<unknown, unknown> {
  constructor(
    readonly transforms: readonly TransformLike<never, unknown>[],
    readonly p = 0.5,
    private readonly generator?: Generator,
  ) {
    super();
  }

  apply(x: Tensor): Tensor;
  apply(x: ImageSample): ImageSample;
  apply(x: unknown): unknown;
  apply(x: unknown): unknown {
    if (!(dataGenerator(this.generator).random() < this.p)) return x;
    let v = x;
    for (const t of this.transforms) v = applyTransform(t as TransformLike<unknown, unknown>, v);
    return v;
  }

  override spec(): TransformSpec | null {
    if (this.generator) return null;
    const specs = this.transforms.map((t) => transformSpec(t as TransformLike<never, unknown>));
    if (specs.some((s) => !s)) return null;
    return { __transform: 'RandomApply', args: [specs, this.p] };
  }
}

for (const ctor of [
  ToTensor,
  Normalize,
  MinMaxScale,
  Resize,
  CenterCrop,
  Pad,
  RandomCrop,
  RandomResizedCrop,
  RandomHorizontalFlip,
  RandomVerticalFlip,
  RandomRotation,
  RandomAffine,
  ColorJitter,
  RandomErasing,
  Compose,
  RandomApply,
]) {
  registerTransform(ctor.name, ctor as unknown as new (...args: never[]) => Transform<unknown, unknown>);
}

/** Re-exported for convenience: `transforms.applyTransform(t, x)`. */
export { applyTransform, type TransformLike, type TransformSpec, Transform } from './transform-base.js';
