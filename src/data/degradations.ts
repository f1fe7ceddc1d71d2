/**
 * Synthetic degradations for learning restoration from clean–distorted pairs (any image set becomes a denoising,
 * deblurring, deraining, JPEG-deblocking or super-resolution training set): Gaussian and motion blur, Gaussian and
 * Poisson noise, JPEG compression artefacts, rain streaks and downscaling. Each takes float images in [0, 1],
 * [C, H, W] or [N, C, H, W], and returns a new tensor of the same shape; random ones draw from `generator` (the
 * data stream by default, see dataGenerator). `DegradedPairs` turns a dataset of images into (distorted, clean)
 * pairs, reproducibly per index.
 */
import jpeg from 'jpeg-js';
import { noGrad } from '../autograd/grad-mode.js';
import { conv2d } from '../ops/conv.js';
import { pad } from '../ops/pad.js';
import { avgPool2d } from '../ops/pool.js';
import { interpolate } from '../ops/interpolate.js';
import { reshape } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { Dataset } from './dataset.js';
import { dataGenerator } from './rng.js';

function checkImage(op: string, img: Tensor): [number, number, number, number] {
  if (img.dtype !== 'float32' && img.dtype !== 'float64')
    throw new Error(`${op}: expected a float image in [0, 1], got ${img.dtype}`);
  if (img.shape.length === 3) return [1, img.shape[0], img.shape[1], img.shape[2]];
  if (img.shape.length === 4) return img.shape as [number, number, number, number];
  throw new Error(`${op}: expected an image [C, H, W] or a batch [N, C, H, W], got ${formatShape(img.shape)}`);
}

/** Convolves every channel plane with a normalised 2-D kernel (reflect padding, so the borders keep their level). */
function filterPlanes(op: string, img: Tensor, kernel: number[][]): Tensor {
  const [n, c, h, w] = checkImage(op, img);
  const kh = kernel.length,
    kw = kernel[0].length;
  const rh = (kh - 1) / 2,
    rw = (kw - 1) / 2;
  if (rh >= h || rw >= w) throw new Error(`${op}: the ${kh}×${kw} kernel is too large for a ${h}×${w} image`);
  const k = new Tensor(
    img.dtype === 'float64' ? Float64Array.from(kernel.flat()) : Float32Array.from(kernel.flat()),
    [1, 1, kh, kw],
    img.dtype,
  );
  return noGrad(() => {
    const planes = pad(reshape(img, [n * c, 1, h, w]), [rw, rw, rh, rh], { mode: 'reflect' });
    return reshape(conv2d(planes, k), img.shape);
  });
}

/** Gaussian blur with standard deviation `sigma` pixels (kernel radius ⌈3σ⌉). */
export function gaussianBlur(img: Tensor, sigma: number): Tensor {
  if (!(sigma > 0)) throw new Error(`gaussianBlur: sigma must be > 0, got ${sigma}`);
  const r = Math.ceil(3 * sigma);
  const g: number[] = [];
  for (let i = -r; i <= r; i++) g.push(Math.exp(-0.5 * (i / sigma) ** 2));
  const s = g.reduce((a, b) => a + b, 0);
  const k1 = g.map((v) => v / s);
  return filterPlanes(
    'gaussianBlur',
    img,
    k1.map((a) => k1.map((b) => a * b)),
  );
}

/**
 * The normalised kernel of a straight camera shake `length` pixels long at `angle` degrees (0 = horizontal,
 * counter-clockwise): the segment is sampled finely and each sample splatted bilinearly onto the grid.
 */
export function motionBlurKernel(length: number, angle: number): number[][] {
  if (!(length >= 1)) throw new Error(`motionBlurKernel: length must be ≥ 1 pixel, got ${length}`);
  const size = 2 * Math.ceil(length / 2) + 1;
  const mid = (size - 1) / 2;
  const k = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  const dx = Math.cos((angle * Math.PI) / 180),
    dy = -Math.sin((angle * Math.PI) / 180);
  const steps = Math.max(2, Math.ceil(length * 8));
  for (let s = 0; s <= steps; s++) {
    const t = (s / steps - 0.5) * (length - 1);
    const x = mid + t * dx,
      y = mid + t * dy;
    const x0 = Math.floor(x),
      y0 = Math.floor(y),
      fx = x - x0,
      fy = y - y0;
    const splat = (yy: number, xx: number, wgt: number) => {
      if (yy >= 0 && yy < size && xx >= 0 && xx < size) k[yy][xx] += wgt;
    };
    splat(y0, x0, (1 - fx) * (1 - fy));
    splat(y0, x0 + 1, fx * (1 - fy));
    splat(y0 + 1, x0, (1 - fx) * fy);
    splat(y0 + 1, x0 + 1, fx * fy);
  }
  const total = k.flat().reduce((a, b) => a + b, 0);
  return k.map((row) => row.map((v) => v / total));
}

/** Linear motion blur `length` pixels long at `angle` degrees. */
export function motionBlur(img: Tensor, length: number, angle = 0): Tensor {
  return filterPlanes('motionBlur', img, motionBlurKernel(length, angle));
}

function mapPixels(img: Tensor, f: (v: number) => number): Tensor {
  const src = img.dataView();
  const out = Tensor.unfilled(img.shape, img.dtype);
  for (let i = 0; i < src.length; i++) out.storage[i] = f(src[i]);
  return out;
}

/** Adds N(0, sigma²) noise to every pixel; clipped to [0, 1] unless `clip` is false (σ = 25/255 is the usual benchmark). */
export function gaussianNoise(
  img: Tensor,
  sigma: number,
  opts: { clip?: boolean; generator?: Generator } = {},
): Tensor {
  checkImage('gaussianNoise', img);
  if (!(sigma >= 0)) throw new Error(`gaussianNoise: sigma must be ≥ 0, got ${sigma}`);
  const gen = dataGenerator(opts.generator);
  const clip = opts.clip ?? true;
  return mapPixels(img, (v) => {
    const y = v + sigma * gen.normal();
    return clip ? Math.min(1, Math.max(0, y)) : y;
  });
}

/** One Poisson(λ) draw: Knuth's product method for small λ, the rounded normal approximation above 60. */
function poisson(lambda: number, gen: Generator): number {
  if (lambda <= 0) return 0;
  if (lambda > 60) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gen.normal()));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = gen.random();
  while (p > limit) {
    k++;
    p *= gen.random();
  }
  return k;
}

/**
 * Shot noise of a sensor that collects `peak` photons at white: Poisson(v·peak)/peak per pixel (lower peak, more
 * noise), clipped to [0, 1].
 */
export function poissonNoise(img: Tensor, peak: number, opts: { generator?: Generator } = {}): Tensor {
  checkImage('poissonNoise', img);
  if (!(peak > 0)) throw new Error(`poissonNoise: peak must be > 0, got ${peak}`);
  const gen = dataGenerator(opts.generator);
  return mapPixels(img, (v) => Math.min(1, poisson(Math.max(0, v) * peak, gen) / peak));
}

/** Round trip through a baseline JPEG at `quality` (1–100): blocking and ringing artefacts. 1 or 3 channels. */
export function jpegArtifacts(img: Tensor, quality: number): Tensor {
  const [n, c, h, w] = checkImage('jpegArtifacts', img);
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100))
    throw new Error(`jpegArtifacts: quality must be an integer in 1..100, got ${quality}`);
  if (c !== 1 && c !== 3) throw new Error(`jpegArtifacts: expected 1 or 3 channels, got ${c}`);
  const src = img.dataView();
  const out = Tensor.unfilled(img.shape, img.dtype);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const rgba = new Uint8Array(plane * 4);
    for (let p = 0; p < plane; p++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = src[(b * c + (c === 1 ? 0 : ch)) * plane + p];
        rgba[p * 4 + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
      rgba[p * 4 + 3] = 255;
    }
    const encoded = jpeg.encode({ data: rgba, width: w, height: h }, quality).data;
    const decoded = jpeg.decode(encoded, { useTArray: true, formatAsRGBA: true }).data;
    for (let p = 0; p < plane; p++) {
      if (c === 1) {
        // the encoder stores a gray image as equal R, G, B: the luma decodes back to their mean
        out.storage[b * plane + p] = (decoded[p * 4] + decoded[p * 4 + 1] + decoded[p * 4 + 2]) / (3 * 255);
      } else {
        for (let ch = 0; ch < 3; ch++) out.storage[(b * 3 + ch) * plane + p] = decoded[p * 4 + ch] / 255;
      }
    }
  }
  return out;
}

/** Options of rainStreaks. */
export interface RainOptions {
  /** Fraction of pixels that seed a drop (default 0.01). */
  density?: number;
  /** Streak length in pixels (default 15). */
  length?: number;
  /** Fall direction in degrees from the vertical (default 10), varied by up to ±5° per image. */
  angle?: number;
  /** Peak brightness added by a streak (default 0.6). */
  brightness?: number;
  generator?: Generator;
}

/**
 * Synthetic rain: random drops smeared into streaks by a motion-blur kernel along the fall direction, composited
 * with a screen blend 1 − (1 − image)(1 − rain), the usual rendering of rain layers in deraining datasets (Fu et
 * al. 2017; Yang et al. 2017 model a rainy image as background plus a streak layer).
 */
export function rainStreaks(img: Tensor, opts: RainOptions = {}): Tensor {
  const [n, c, h, w] = checkImage('rainStreaks', img);
  const density = opts.density ?? 0.01;
  const length = opts.length ?? 15;
  const brightness = opts.brightness ?? 0.6;
  if (!(density >= 0 && density <= 1)) throw new Error(`rainStreaks: density must be in [0, 1], got ${density}`);
  if (!(brightness >= 0 && brightness <= 1))
    throw new Error(`rainStreaks: brightness must be in [0, 1], got ${brightness}`);
  const gen = dataGenerator(opts.generator);
  const angle = 90 - (opts.angle ?? 10) + (gen.random() - 0.5) * 10;
  const drops = Tensor.empty([n, 1, h, w], img.dtype);
  for (let i = 0; i < drops.storage.length; i++)
    if (gen.random() < density) drops.storage[i] = 0.5 + 0.5 * gen.random();
  const streaks = motionBlur(drops, length, angle);
  // a streak's intensity, normalised so its brightest point reaches `brightness`
  const sv = streaks.dataView();
  let peak = 0;
  for (let i = 0; i < sv.length; i++) peak = Math.max(peak, sv[i]);
  const scale = peak > 0 ? brightness / peak : 0;
  const src = img.dataView();
  const out = Tensor.unfilled(img.shape, img.dtype);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < plane; p++) {
        const v = src[(b * c + ch) * plane + p];
        const r = Math.min(1, sv[b * plane + p] * scale);
        out.storage[(b * c + ch) * plane + p] = 1 - (1 - v) * (1 - r);
      }
    }
  }
  return out;
}

/**
 * Loses resolution: area-averages `factor`×`factor` blocks (an integer factor dividing H and W), then, unless
 * `restoreSize` is false, resizes back with bilinear interpolation — the low-resolution input of SRCNN-style
 * super-resolution (Dong et al. 2014 use bicubic; Tatami's interpolate has nearest and bilinear).
 */
export function downscale(img: Tensor, factor: number, opts: { restoreSize?: boolean } = {}): Tensor {
  const [n, c, h, w] = checkImage('downscale', img);
  if (!Number.isInteger(factor) || factor < 1)
    throw new Error(`downscale: factor must be a positive integer, got ${factor}`);
  if (h % factor !== 0 || w % factor !== 0)
    throw new Error(`downscale: image ${h}×${w} is not divisible by factor ${factor}`);
  return noGrad(() => {
    const x4 = reshape(img, [n, c, h, w]);
    const small = avgPool2d(x4, factor);
    const out =
      opts.restoreSize === false ? small : interpolate(small, { size: [h, w], mode: 'bilinear', alignCorners: false });
    return img.shape.length === 3 ? reshape(out, out.shape.slice(1)) : out;
  });
}

/** A degradation applied by DegradedPairs: a clean image and a generator to a distorted image. */
export type Degradation = (clean: Tensor, generator: Generator) => Tensor;

/**
 * A dataset of (distorted, clean) image pairs from a dataset of images (or of [image, ...] tuples, whose first
 * element is used): sample i degrades image i with a generator seeded by (seed, i), so the pairs are the same in
 * every epoch and every worker — a fixed synthetic training set, as in DnCNN's or SRCNN's training data.
 */
export class DegradedPairs extends Dataset<[Tensor, Tensor]> {
  constructor(
    readonly source: Dataset<unknown>,
    readonly degrade: Degradation,
    readonly seed = 0,
  ) {
    super();
  }

  get length(): number {
    return this.source.length;
  }

  get(index: number): [Tensor, Tensor] {
    const item = this.source.get(this.checkIndex(index));
    const clean = item instanceof Tensor ? item : Array.isArray(item) ? item[0] : null;
    if (!(clean instanceof Tensor))
      throw new Error(`DegradedPairs: sample ${index} is not an image tensor or a tuple starting with one`);
    const gen = new Generator((this.seed * 1000003 + index) >>> 0);
    return [this.degrade(clean, gen), clean];
  }
}
