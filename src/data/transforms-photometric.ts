/** Photometric image transforms (torchvision.transforms.ColorJitter, RandomErasing): they touch only the image. */
import { isFloating } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { type TransformSpec } from './transform-base.js';
import { hw, roundFor, mapImage, range, uniform, ImageTransform, type Sample } from './image-sample.js';

// ---------------------------------------------------------------------------------------------------------------
// Photometric

/** Options of ColorJitter: a number v means a factor drawn from [max(0, 1 − v), 1 + v]; or give [min, max]. */
export interface ColorJitterOptions {
  brightness?: number | readonly number[];
  contrast?: number | readonly number[];
  saturation?: number | readonly number[];
  generator?: Generator;
}

/**
 * Random brightness, contrast and saturation changes, applied in a random order (torchvision's ColorJitter).
 * Works on float images in [0, 1] and uint8 images; results are clamped to the valid range.
 */
export class ColorJitter extends ImageTransform {
  readonly brightness: [number, number] | undefined;
  readonly contrast: [number, number] | undefined;
  readonly saturation: [number, number] | undefined;

  constructor(opts: ColorJitterOptions = {}) {
    super(opts.generator);
    const r = (name: string, v: number | readonly number[] | undefined) => {
      if (v === undefined || v === 0) return undefined;
      const rr = range('ColorJitter', name, v, 1, 0);
      if (rr[0] < 0) throw new Error(`ColorJitter: ${name} values must be non-negative, got ${JSON.stringify(v)}`);
      return rr;
    };
    this.brightness = r('brightness', opts.brightness);
    this.contrast = r('contrast', opts.contrast);
    this.saturation = r('saturation', opts.saturation);
  }

  protected transform<S extends Sample>(x: S): S {
    const g = this.rng();
    const order = g.permutation(3);
    const b = this.brightness ? uniform(g, ...this.brightness) : null;
    const c = this.contrast ? uniform(g, ...this.contrast) : null;
    const s = this.saturation ? uniform(g, ...this.saturation) : null;
    return mapImage(x, (t) => {
      const [H, W] = hw(t, 'ColorJitter');
      const bound = isFloating(t.dtype) ? 1 : 255;
      const C = t.shape.length >= 3 ? t.shape[t.shape.length - 3] : 1;
      const data = Float64Array.from(t.dataView());
      const plane = H * W;
      const images = data.length / (C * plane);
      const clamp = (v: number) => (v < 0 ? 0 : v > bound ? bound : v);
      const gray = (n: number, p: number) =>
        C >= 3 ? 0.299 * data[n + p] + 0.587 * data[n + plane + p] + 0.114 * data[n + 2 * plane + p] : data[n + p];
      for (const op of order) {
        for (let img = 0; img < images; img++) {
          const n = img * C * plane;
          if (op === 0 && b !== null) {
            for (let k = n; k < n + C * plane; k++) data[k] = clamp(data[k] * b);
          } else if (op === 1 && c !== null) {
            let mean = 0;
            for (let p = 0; p < plane; p++) mean += gray(n, p);
            mean /= plane;
            for (let k = n; k < n + C * plane; k++) data[k] = clamp(c * data[k] + (1 - c) * mean);
          } else if (op === 2 && s !== null && C >= 3) {
            for (let p = 0; p < plane; p++) {
              const gv = gray(n, p);
              for (let ch = 0; ch < C; ch++)
                data[n + ch * plane + p] = clamp(s * data[n + ch * plane + p] + (1 - s) * gv);
            }
          }
        }
      }
      const out = Tensor.empty(t.shape, t.dtype);
      for (let i = 0; i < data.length; i++) out.storage[i] = roundFor(t.dtype, data[i]);
      return out;
    });
  }

  override spec(): TransformSpec | null {
    return this.specOf({ brightness: this.brightness, contrast: this.contrast, saturation: this.saturation });
  }
}

/** Options of RandomErasing (torchvision's). */
export interface RandomErasingOptions {
  /** Probability of erasing (default 0.5). */
  p?: number;
  /** Range of the erased area as a fraction of the image (default [0.02, 0.33]). */
  scale?: readonly [number, number];
  /** Range of the aspect ratio of the erased area (default [0.3, 3.3]). */
  ratio?: readonly [number, number];
  /** Fill: a number, one per channel, or 'random' (standard normal noise). Default 0. */
  value?: number | readonly number[] | 'random';
  generator?: Generator;
}

/** Erases a random rectangle of the image (cutout; Zhong et al. 2017). The mask and boxes are unchanged. */
export class RandomErasing extends ImageTransform {
  readonly p: number;
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly value: number | number[] | 'random';

  constructor(opts: RandomErasingOptions = {}) {
    super(opts.generator);
    this.p = opts.p ?? 0.5;
    if (!(this.p >= 0 && this.p <= 1)) throw new Error(`RandomErasing: p must be in [0, 1], got ${this.p}`);
    this.scale = range('RandomErasing', 'scale', opts.scale ?? [0.02, 0.33], 0);
    this.ratio = range('RandomErasing', 'ratio', opts.ratio ?? [0.3, 3.3], 0);
    const v = opts.value ?? 0;
    this.value = typeof v === 'object' ? v.slice() : v;
  }

  protected transform<S extends Sample>(x: S): S {
    const g = this.rng();
    if (!(g.random() < this.p)) return x;
    return mapImage(x, (t) => {
      const [H, W] = hw(t, 'RandomErasing');
      const C = t.shape.length >= 3 ? t.shape[t.shape.length - 3] : 1;
      if (Array.isArray(this.value) && this.value.length !== 1 && this.value.length !== C) {
        throw new Error(`RandomErasing: value has ${this.value.length} entries but the image has ${C} channels`);
      }
      const area = H * W;
      const logR = [Math.log(this.ratio[0]), Math.log(this.ratio[1])];
      for (let attempt = 0; attempt < 10; attempt++) {
        const ea = area * uniform(g, this.scale[0], this.scale[1]);
        const r = Math.exp(uniform(g, logR[0], logR[1]));
        const h = Math.round(Math.sqrt(ea * r));
        const w = Math.round(Math.sqrt(ea / r));
        if (!(h < H && w < W)) continue;
        const i = g.randint(0, H - h + 1);
        const j = g.randint(0, W - w + 1);
        const out = Tensor.empty(t.shape, t.dtype);
        out.storage.set(t.dataView());
        const planes = out.storage.length / area;
        for (let p = 0; p < planes; p++) {
          const ch = p % C;
          for (let y = i; y < i + h; y++) {
            for (let xx = j; xx < j + w; xx++) {
              const v =
                this.value === 'random'
                  ? g.normal()
                  : typeof this.value === 'number'
                    ? this.value
                    : this.value[ch % this.value.length];
              out.storage[p * area + y * W + xx] = roundFor(t.dtype, v);
            }
          }
        }
        return out;
      }
      return t;
    });
  }

  override spec(): TransformSpec | null {
    return this.specOf({ p: this.p, scale: this.scale, ratio: this.ratio, value: this.value });
  }
}
