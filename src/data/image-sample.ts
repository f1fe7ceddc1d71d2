/**
 * The building blocks of the image transforms (transforms.ts): the sample type (image with optional mask and boxes),
 * affine warping and cropping with padding on raw arrays, the geometry that moves image, mask and boxes together,
 * argument checks, and `ImageTransform`, the base class of every image transform. See transforms.ts for the
 * conventions (coordinates, interpolation, randomness).
 */
import { isFloating, type DType } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { dataGenerator } from './rng.js';
import { Transform, type TransformSpec } from './transform-base.js';

/** An image with optional per-pixel mask and bounding boxes; other keys are passed through untouched. */
export interface ImageSample {
  image: Tensor;
  /** Per-pixel labels [H, W] or [K, H, W] (e.g. int32 class ids, 0 = background). */
  mask?: Tensor;
  /** Boxes [K, 4] as (x1, y1, x2, y2) in pixels. */
  boxes?: Tensor;
  [key: string]: unknown;
}

/** What image transforms accept and return. */
export type Sample = Tensor | ImageSample;

/** Interpolation modes for resampling. */
export type Interpolation = 'bilinear' | 'nearest';

/** ImageNet channel means (RGB) of torchvision's normalisation, for `Normalize(IMAGENET_MEAN, IMAGENET_STD)`. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB). */
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

// ---------------------------------------------------------------------------------------------------------------
// Raw-array kernels

/** 2×3 affine map [a, b, c, d, e, f]: (u, v) ↦ (a·u + b·v + c, d·u + e·v + f). */
export type Affine = [number, number, number, number, number, number];

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new Error('transforms: affine matrix is singular (scale 0?)');
  const ia = e / det,
    ib = -b / det,
    id = -d / det,
    ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

export function compose(m2: Affine, m1: Affine): Affine {
  // m2 ∘ m1
  const [a, b, c, d, e, f] = m1;
  const [A, B, C, D, E, F] = m2;
  return [A * a + B * d, A * b + B * e, A * c + B * f + C, D * a + E * d, D * b + E * e, D * c + E * f + F];
}

export function hw(t: Tensor, op: string, what = 'image'): [number, number] {
  if (t.shape.length < 2)
    throw new Error(`${op}: expected ${what} of shape [C, H, W] or [H, W], got ${formatShape(t.shape)}`);
  return [t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]];
}

export function roundFor(dtype: DType, v: number): number {
  if (dtype === 'uint8') return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  if (dtype === 'int32' || dtype === 'bool') return Math.round(v);
  return v;
}

/**
 * Resamples every [H, W] plane of `t` into an outH × outW grid: output pixel centre (x, y) reads the input at
 * `inv(x, y)` (continuous coordinates). Outside the input, 'fill' mode uses `fill` (per channel allowed),
 * 'clamp' mode repeats the edge.
 */
export function warpAffine(
  t: Tensor,
  outH: number,
  outW: number,
  inv: Affine,
  interp: Interpolation,
  fill: number | readonly number[] = 0,
  border: 'fill' | 'clamp' = 'fill',
): Tensor {
  const [H, W] = hw(t, 'warpAffine');
  const src = t.dataView();
  const planes = H * W === 0 ? 0 : src.length / (H * W);
  const lead = t.shape.slice(0, -2);
  const out = Tensor.empty([...lead, outH, outW], t.dtype);
  const dst = out.storage;
  const [a, b, c, d, e, f] = inv;
  const channels = lead.length ? lead[lead.length - 1] : 1;
  for (let p = 0; p < planes; p++) {
    const fv = typeof fill === 'number' ? fill : fill[(p % channels) % fill.length];
    const so = p * H * W;
    const doff = p * outH * outW;
    for (let y = 0; y < outH; y++) {
      const yc = y + 0.5;
      for (let x = 0; x < outW; x++) {
        const xc = x + 0.5;
        const u = a * xc + b * yc + c;
        const v = d * xc + e * yc + f;
        let val: number;
        if (interp === 'nearest') {
          let j = Math.floor(u);
          let i = Math.floor(v);
          if (border === 'clamp') {
            j = j < 0 ? 0 : j >= W ? W - 1 : j;
            i = i < 0 ? 0 : i >= H ? H - 1 : i;
            val = src[so + i * W + j];
          } else val = i >= 0 && i < H && j >= 0 && j < W ? src[so + i * W + j] : fv;
        } else {
          const fx = u - 0.5;
          const fy = v - 0.5;
          const x0 = Math.floor(fx);
          const y0 = Math.floor(fy);
          const wx = fx - x0;
          const wy = fy - y0;
          const at = (i: number, j: number): number => {
            if (border === 'clamp') {
              j = j < 0 ? 0 : j >= W ? W - 1 : j;
              i = i < 0 ? 0 : i >= H ? H - 1 : i;
              return src[so + i * W + j];
            }
            return i >= 0 && i < H && j >= 0 && j < W ? src[so + i * W + j] : fv;
          };
          val =
            (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)) +
            wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1));
        }
        dst[doff + y * outW + x] = roundFor(t.dtype, val);
      }
    }
  }
  return out;
}

/** Padding modes (torchvision's names). */
export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

export function padIndex(k: number, n: number, mode: PaddingMode): number {
  if (k >= 0 && k < n) return k;
  if (mode === 'constant') return -1;
  if (mode === 'edge') return k < 0 ? 0 : n - 1;
  if (n === 1) return 0;
  if (mode === 'reflect') {
    const period = 2 * (n - 1);
    let m = ((k % period) + period) % period;
    if (m >= n) m = period - m;
    return m;
  }
  const period = 2 * n; // symmetric: edge pixel repeated
  let m = ((k % period) + period) % period;
  if (m >= n) m = period - 1 - m;
  return m;
}

/**
 * Window [top, top+h) × [left, left+w) of every plane; parts outside the input are padded by `mode`
 * (constant `fill`, edge, reflect or symmetric). Crops and pads in one pass.
 */
export function cropPad(
  t: Tensor,
  top: number,
  left: number,
  h: number,
  w: number,
  fill: number | readonly number[] = 0,
  mode: PaddingMode = 'constant',
): Tensor {
  const [H, W] = hw(t, 'crop');
  const src = t.dataView();
  const planes = H * W === 0 ? 0 : src.length / (H * W);
  const lead = t.shape.slice(0, -2);
  const out = Tensor.empty([...lead, h, w], t.dtype);
  const dst = out.storage;
  const channels = lead.length ? lead[lead.length - 1] : 1;
  const cols = new Int32Array(w);
  for (let x = 0; x < w; x++) cols[x] = padIndex(left + x, W, mode);
  for (let p = 0; p < planes; p++) {
    const fv = typeof fill === 'number' ? fill : fill[(p % channels) % fill.length];
    for (let y = 0; y < h; y++) {
      const i = padIndex(top + y, H, mode);
      const o = p * h * w + y * w;
      if (i < 0) {
        dst.fill(fv, o, o + w);
        continue;
      }
      const row = p * H * W + i * W;
      for (let x = 0; x < w; x++) dst[o + x] = cols[x] < 0 ? fv : src[row + cols[x]];
    }
  }
  return out;
}

export function flipPlanes(t: Tensor, horizontal: boolean): Tensor {
  const [H, W] = hw(t, 'flip');
  const src = t.dataView();
  const out = Tensor.empty(t.shape, t.dtype);
  const dst = out.storage;
  const planes = H * W === 0 ? 0 : src.length / (H * W);
  for (let p = 0; p < planes; p++) {
    const o = p * H * W;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        dst[o + i * W + j] = horizontal ? src[o + i * W + (W - 1 - j)] : src[o + (H - 1 - i) * W + j];
      }
    }
  }
  return out;
}

/** Maps boxes [K, 4] through a forward affine map, taking the bounding box of the moved corners, clipped to w × h. */
export function mapBoxes(boxes: Tensor, fwd: Affine, h: number, w: number): Tensor {
  if (boxes.shape.length !== 2 || boxes.shape[1] !== 4)
    throw new Error(`transforms: boxes must have shape [K, 4] (x1, y1, x2, y2), got ${formatShape(boxes.shape)}`);
  const src = boxes.dataView();
  const k = boxes.shape[0];
  const out = Tensor.empty([k, 4], isFloating(boxes.dtype) ? boxes.dtype : 'float32');
  const [a, b, c, d, e, f] = fwd;
  for (let n = 0; n < k; n++) {
    const [x1, y1, x2, y2] = [src[4 * n], src[4 * n + 1], src[4 * n + 2], src[4 * n + 3]];
    let minX = Infinity,
      minY = Infinity,
      maxX = -Infinity,
      maxY = -Infinity;
    for (const [u, v] of [
      [x1, y1],
      [x2, y1],
      [x1, y2],
      [x2, y2],
    ]) {
      const X = a * u + b * v + c;
      const Y = d * u + e * v + f;
      minX = Math.min(minX, X);
      maxX = Math.max(maxX, X);
      minY = Math.min(minY, Y);
      maxY = Math.max(maxY, Y);
    }
    const clip = (z: number, hi: number) => (z < 0 ? 0 : z > hi ? hi : z);
    out.storage[4 * n] = clip(minX, w);
    out.storage[4 * n + 1] = clip(minY, h);
    out.storage[4 * n + 2] = clip(maxX, w);
    out.storage[4 * n + 3] = clip(maxY, h);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Sample plumbing

export function isSample(x: unknown): x is ImageSample {
  return typeof x === 'object' && x !== null && !(x instanceof Tensor) && (x as ImageSample).image instanceof Tensor;
}

export function checkAligned(op: string, s: ImageSample): [number, number] {
  const [H, W] = hw(s.image, op);
  if (s.mask !== undefined) {
    if (!(s.mask instanceof Tensor)) throw new Error(`${op}: sample.mask must be a Tensor`);
    const [mh, mw] = hw(s.mask, op, 'mask');
    if (mh !== H || mw !== W) {
      throw new Error(
        `${op}: image is ${H}×${W} (shape ${formatShape(s.image.shape)}) but mask is ${mh}×${mw} (shape ${formatShape(s.mask.shape)}); image and mask must have the same height and width`,
      );
    }
  }
  if (s.boxes !== undefined && (!(s.boxes instanceof Tensor) || s.boxes.shape.length !== 2 || s.boxes.shape[1] !== 4)) {
    throw new Error(
      `${op}: sample.boxes must be a tensor of shape [K, 4] (x1, y1, x2, y2), got ${s.boxes instanceof Tensor ? formatShape(s.boxes.shape) : typeof s.boxes}`,
    );
  }
  return [H, W];
}

/** A geometric operation on one sample, with the parameters already drawn. */
export interface Geometry {
  image: (t: Tensor) => Tensor;
  mask: (t: Tensor) => Tensor;
  /** Forward affine map of pixel coordinates and the output size, for the boxes. */
  fwd: Affine;
  outH: number;
  outW: number;
}

export function applyGeometry<S extends Sample>(x: S, g: Geometry): S {
  if (x instanceof Tensor) return g.image(x) as S;
  const out: ImageSample = { ...x, image: g.image(x.image) };
  if (x.mask !== undefined) out.mask = g.mask(x.mask);
  if (x.boxes !== undefined) out.boxes = mapBoxes(x.boxes, g.fwd, g.outH, g.outW);
  return out as S;
}

export function mapImage<S extends Sample>(x: S, fn: (t: Tensor) => Tensor): S {
  if (x instanceof Tensor) return fn(x) as S;
  return { ...x, image: fn(x.image) } as S;
}

export function sizeOf(op: string, x: Sample): [number, number] {
  if (x instanceof Tensor) return hw(x, op);
  if (!isSample(x))
    throw new Error(
      `${op}: expected an image tensor [C, H, W] or a sample { image, mask?, boxes? }, got ${describe(x)}`,
    );
  return checkAligned(op, x);
}

export function describe(x: unknown): string {
  if (x instanceof Tensor) return `a tensor ${formatShape(x.shape)}`;
  if (Array.isArray(x)) return 'an array';
  return x === null
    ? 'null'
    : typeof x === 'object'
      ? `an object with keys ${Object.keys(x as object).join(', ')}`
      : typeof x;
}

export function sizePair(op: string, size: number | readonly number[]): [number, number] {
  const p: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  if ((typeof size !== 'number' && size.length !== 2) || !p.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`${op}: size must be a positive integer or an [h, w] pair of them, got ${JSON.stringify(size)}`);
  }
  return p;
}

export function range(
  op: string,
  name: string,
  v: number | readonly number[],
  center: number,
  min = -Infinity,
): [number, number] {
  if (typeof v === 'number') {
    if (v < 0) throw new Error(`${op}: if ${name} is a single number it must be non-negative, got ${v}`);
    return [Math.max(min, center - v), center + v];
  }
  if (v.length !== 2 || v[0] > v[1])
    throw new Error(`${op}: ${name} must be a number or a [min, max] pair, got ${JSON.stringify(v)}`);
  return [v[0], v[1]];
}

/** Python's round(): halves go to the even neighbour (torchvision's center_crop uses it). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

export function uniform(g: Generator, lo: number, hi: number): number {
  return lo + (hi - lo) * g.random();
}

/** Base class of transforms that take an image or a sample and return the same kind. */
export abstract class ImageTransform extends Transform<Sample, Sample> {
  protected readonly generator: Generator | undefined;

  constructor(generator?: Generator) {
    super();
    this.generator = generator;
  }

  apply(x: Tensor): Tensor;
  apply(x: ImageSample): ImageSample;
  apply(x: Sample): Sample;
  apply(x: Sample): Sample {
    return this.transform(x);
  }

  protected abstract transform<S extends Sample>(x: S): S;

  protected rng(): Generator {
    return dataGenerator(this.generator);
  }

  /** Spec with the constructor arguments; none when an explicit generator is bound (it cannot cross threads). */
  protected specOf(...args: unknown[]): TransformSpec | null {
    if (this.generator) return null;
    return { __transform: this.constructor.name, args };
  }
}
