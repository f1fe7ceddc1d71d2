/**
 * Shapes: a procedural dataset of coloured shapes on noisy backgrounds, for classification, segmentation and
 * detection without any download. Every sample is a pure function of (seed, index), so it is reproducible, needs
 * no storage and can be rebuilt in a worker thread.
 *
 * What makes it learnable but not trivial: shape, size, position, rotation and colour are random; the colour of a
 * shape carries no class information; the background is a random colour with a random gradient; Gaussian pixel
 * noise (`noise`) covers everything. Only the outline tells the classes apart.
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import { defaultCollate } from './collate.js';
import {
  applyTransform,
  reviveTransform,
  transformSpec,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';
import type { ImageSample } from './transforms.js';

/** Shape classes Shapes can draw. */
export type ShapeKind = 'circle' | 'square' | 'triangle' | 'cross' | 'ring' | 'star' | 'diamond';

export const SHAPE_KINDS: readonly ShapeKind[] = ['circle', 'square', 'triangle', 'cross', 'ring', 'star', 'diamond'];

/** One sample of Shapes. */
export interface ShapesSample extends ImageSample {
  /** float32 [3, size, size] in [0, 1]. */
  image: Tensor;
  /** int32 [size, size]: 0 background, k + 1 for a pixel of class `classes[k]`. */
  mask: Tensor;
  /** float32 [K, 4]: (x1, y1, x2, y2) in pixels, the tight bound of each object's pixels. */
  boxes: Tensor;
  /** int32 [K]: class of each box, as in the mask (k + 1; 0 is background). */
  boxLabels: Tensor;
  /** Class index (0-based) of the first object: the classification target. */
  label: number;
}

/** Options of Shapes. */
export interface ShapesOptions {
  /** Number of samples (default 1000). */
  n?: number;
  /** Image height and width (default 32). */
  size?: number;
  /** Seed of the whole dataset (default 0). */
  seed?: number;
  /** Classes, in label order (default circle, square, triangle). */
  classes?: readonly ShapeKind[];
  /** Standard deviation of the Gaussian pixel noise (default 0.1). */
  noise?: number;
  /** Objects per image: a number or a [min, max] range (default 1). */
  objects?: number | readonly [number, number];
  /** Object radius as a fraction of `size`, [min, max] (default [0.18, 0.4] for one object, [0.12, 0.25] for several). */
  radius?: readonly [number, number];
  /** Applied to each sample `{ image, mask, boxes, … }` (geometric transforms keep mask and boxes aligned). */
  transform?: TransformLike<ImageSample, ImageSample> | TransformSpec;
}

/** A well-mixed 32-bit seed for sample i of a dataset seeded with `seed`. */
export function mix(seed: number, i: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d) >>> 0;
  z = Math.imul(z ^ (z >>> 12), 0x297a2d39) >>> 0;
  return (z ^ (z >>> 15)) >>> 0;
}

/** Whether local point (x, y) (already un-rotated, in units of the radius) lies inside shape `kind` (shared with DetectionScenes). */
export function insideShape(kind: ShapeKind, x: number, y: number): boolean {
  switch (kind) {
    case 'circle':
      return x * x + y * y <= 1;
    case 'square':
      return Math.abs(x) <= 0.8 && Math.abs(y) <= 0.8;
    case 'diamond':
      return Math.abs(x) + Math.abs(y) <= 1.05;
    case 'ring': {
      const r2 = x * x + y * y;
      return r2 <= 1 && r2 >= 0.3;
    }
    case 'cross':
      return (Math.abs(x) <= 0.33 && Math.abs(y) <= 1) || (Math.abs(y) <= 0.33 && Math.abs(x) <= 1);
    case 'triangle': {
      // Equilateral triangle with circumradius 1.15: inradius 0.575, outward edge normals at 90°, 210°, 330°.
      const r = 0.575;
      return y <= r && -0.866 * x - 0.5 * y <= r && 0.866 * x - 0.5 * y <= r;
    }
    case 'star': {
      const rr = Math.sqrt(x * x + y * y);
      if (rr > 1.1) return false;
      // Five points: radius limit goes linearly (in angle) from 1.1 at a point to 0.45 between points.
      const a = Math.atan2(y, x) + Math.PI / 2;
      const sector = (2 * Math.PI) / 5;
      const t = Math.abs((((a % sector) + sector) % sector) / sector - 0.5) * 2; // 1 at a point, 0 between
      return rr <= 0.45 + (1.1 - 0.45) * t;
    }
  }
}

/** Procedural shapes dataset; sample i is a ShapesSample. */
export class Shapes extends Dataset<ShapesSample> {
  readonly n: number;
  readonly size: number;
  readonly seed: number;
  readonly classes: ShapeKind[];
  readonly noise: number;
  readonly objects: [number, number];
  readonly radius: [number, number];
  readonly transform: TransformLike<ImageSample, ImageSample> | undefined;

  constructor(opts: ShapesOptions = {}) {
    super();
    this.n = opts.n ?? 1000;
    this.size = opts.size ?? 32;
    this.seed = opts.seed ?? 0;
    this.classes = (opts.classes ?? ['circle', 'square', 'triangle']).slice();
    this.noise = opts.noise ?? 0.1;
    const o = opts.objects ?? 1;
    this.objects = typeof o === 'number' ? [o, o] : [o[0], o[1]];
    this.radius = opts.radius ? [opts.radius[0], opts.radius[1]] : this.objects[1] > 1 ? [0.12, 0.25] : [0.18, 0.4];
    if (!Number.isInteger(this.n) || this.n < 0)
      throw new Error(`Shapes: n must be a non-negative integer, got ${this.n}`);
    if (!Number.isInteger(this.size) || this.size < 8)
      throw new Error(`Shapes: size must be an integer ≥ 8, got ${this.size}`);
    if (this.classes.length === 0) throw new Error('Shapes: classes must not be empty');
    for (const c of this.classes)
      if (!SHAPE_KINDS.includes(c)) throw new Error(`Shapes: unknown shape '${c}' (known: ${SHAPE_KINDS.join(', ')})`);
    if (new Set(this.classes).size !== this.classes.length)
      throw new Error(`Shapes: duplicate classes in ${this.classes.join(', ')}`);
    if (!(this.noise >= 0)) throw new Error(`Shapes: noise must be ≥ 0, got ${this.noise}`);
    if (!(Number.isInteger(this.objects[0]) && this.objects[0] >= 1 && this.objects[1] >= this.objects[0]))
      throw new Error(`Shapes: objects must be a positive integer or a [min, max] range, got ${JSON.stringify(o)}`);
    if (!(this.radius[0] > 0 && this.radius[1] >= this.radius[0] && this.radius[1] <= 0.5))
      throw new Error(`Shapes: radius must be a [min, max] range within (0, 0.5], got ${JSON.stringify(opts.radius)}`);
    this.transform = reviveTransform(opts.transform);
  }

  get length(): number {
    return this.n;
  }

  /** Class name → 0-based label. */
  get classToIdx(): Record<string, number> {
    return Object.fromEntries(this.classes.map((c, i) => [c, i]));
  }

  get(index: number): ShapesSample {
    const i = this.checkIndex(index);
    const sample = this.generate(i);
    if (!this.transform) return sample;
    const out = applyTransform(this.transform, sample) as ShapesSample;
    return out;
  }

  /** Draws sample i (no transform). */
  generate(i: number): ShapesSample {
    const g = new Generator(mix(this.seed, i));
    const S = this.size;
    const plane = S * S;
    const img = new Float32Array(3 * plane);
    // Background: a random colour plus a random linear gradient.
    const bg = [0, 1, 2].map(() => 0.15 + 0.7 * g.random());
    const ang = 2 * Math.PI * g.random();
    const amp = 0.25 * g.random();
    const gx = Math.cos(ang) * amp,
      gy = Math.sin(ang) * amp;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const shade = gx * (x / S - 0.5) + gy * (y / S - 0.5);
        for (let c = 0; c < 3; c++) img[c * plane + y * S + x] = bg[c] + shade;
      }
    }
    const mask = new Int32Array(plane);
    const count = this.objects[0] + Math.floor(g.random() * (this.objects[1] - this.objects[0] + 1));
    const placed: { cx: number; cy: number; r: number }[] = [];
    const boxes: number[] = [];
    const boxLabels: number[] = [];
    const lum = (c: number[]) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    for (let k = 0; k < count; k++) {
      const cls = Math.floor(g.random() * this.classes.length);
      const kind = this.classes[cls];
      let spot: { cx: number; cy: number; r: number } | null = null;
      for (let attempt = 0; attempt < 50 && spot === null; attempt++) {
        const r = S * (this.radius[0] + (this.radius[1] - this.radius[0]) * g.random());
        const ext = r * 1.15 + 1;
        const cx = ext + (S - 2 * ext) * g.random();
        const cy = ext + (S - 2 * ext) * g.random();
        if (placed.every((p) => Math.hypot(p.cx - cx, p.cy - cy) >= (p.r + r) * 1.15 + 2)) spot = { cx, cy, r };
      }
      if (spot === null) {
        if (k === 0)
          throw new Error(`Shapes: could not place an object in a ${S}×${S} image (radius range too large?)`);
        break;
      }
      placed.push(spot);
      const theta = 2 * Math.PI * g.random();
      const cos = Math.cos(theta),
        sin = Math.sin(theta);
      // Any hue, but keep a minimum luminance contrast with the background so the outline is visible.
      let fg = [g.random(), g.random(), g.random()];
      const d = lum(fg) - lum(bg);
      if (Math.abs(d) < 0.2) {
        const shift = (d >= 0 ? 1 : -1) * (0.2 - Math.abs(d)) + (lum(bg) > 0.5 ? -0.05 : 0.05);
        fg = fg.map((v) => Math.min(1, Math.max(0, v + shift)));
        if (Math.abs(lum(fg) - lum(bg)) < 0.15)
          fg = lum(bg) > 0.5 ? fg.map((v) => v * 0.3) : fg.map((v) => 0.7 + 0.3 * v);
      }
      let x1 = S,
        y1 = S,
        x2 = -1,
        y2 = -1;
      const { cx, cy, r } = spot;
      const lo = (v: number) => Math.max(0, Math.floor(v - r * 1.2 - 1));
      const hi = (v: number) => Math.min(S - 1, Math.ceil(v + r * 1.2 + 1));
      for (let y = lo(cy); y <= hi(cy); y++) {
        for (let x = lo(cx); x <= hi(cx); x++) {
          const dx = (x + 0.5 - cx) / r,
            dy = (y + 0.5 - cy) / r;
          if (!insideShape(kind, cos * dx + sin * dy, -sin * dx + cos * dy)) continue;
          mask[y * S + x] = cls + 1;
          for (let c = 0; c < 3; c++) img[c * plane + y * S + x] = fg[c];
          if (x < x1) x1 = x;
          if (x > x2) x2 = x;
          if (y < y1) y1 = y;
          if (y > y2) y2 = y;
        }
      }
      if (x2 < 0) continue;
      boxes.push(x1, y1, x2 + 1, y2 + 1);
      boxLabels.push(cls + 1);
    }
    if (this.noise > 0) for (let p = 0; p < img.length; p++) img[p] += this.noise * g.normal();
    for (let p = 0; p < img.length; p++) img[p] = img[p] < 0 ? 0 : img[p] > 1 ? 1 : img[p];
    return {
      image: new Tensor(img, [3, S, S], 'float32'),
      mask: new Tensor(mask, [S, S], 'int32'),
      boxes: new Tensor(Float32Array.from(boxes), [boxLabels.length, 4], 'float32'),
      boxLabels: new Tensor(Int32Array.from(boxLabels), [boxLabels.length], 'int32'),
      label: boxLabels.length ? boxLabels[0] - 1 : 0,
    };
  }

  override workerSpec(): WorkerSpec | null {
    const t = transformSpec(this.transform);
    if (t === null) return null;
    const opts: ShapesOptions = {
      n: this.n,
      size: this.size,
      seed: this.seed,
      classes: this.classes,
      noise: this.noise,
      objects: this.objects,
      radius: this.radius,
    };
    if (t) opts.transform = t;
    return { module: import.meta.url, export: 'Shapes', args: [opts], construct: true };
  }
}

/** Batch of Shapes samples for detection: images, masks and labels stacked; boxes kept per image (counts vary). */
export interface DetectionBatch {
  image: Tensor;
  mask: Tensor;
  label: Tensor;
  boxes: Tensor[];
  boxLabels: Tensor[];
}

/** Collate for samples whose number of boxes varies (pass as DataLoader's `collate`). */
export function detectionCollate(samples: ShapesSample[]): DetectionBatch {
  const { image, mask, label } = defaultCollate(samples.map((s) => ({ image: s.image, mask: s.mask, label: s.label })));
  return { image, mask, label, boxes: samples.map((s) => s.boxes), boxLabels: samples.map((s) => s.boxLabels) };
}
