/**
 * DetectionScenes: a procedural detection and instance-segmentation set — many objects of several shape classes
 * per image, at scales spanning a factor of ~6, overlapping one another, on textured backgrounds with clutter and
 * pixel noise. Like Shapes (whose outlines it shares), every sample is a pure function of (seed, index): generated
 * offline, reproducible, rebuilt in worker threads from its options.
 *
 * What makes it a real detection problem:
 * - Scale: object radii are log-uniform in `radius` (default 4 %–24 % of the image), so small, medium and large
 *   objects all occur (COCO's area ranges at 128 px: < 32², 32²–96², > 96²).
 * - Occlusion: objects are painted in random order and may overlap; the boxes and masks are those of the visible
 *   pixels (COCO's modal annotation), and an object that keeps less than `minVisible` of itself is dropped from
 *   the labels (but stays painted, as an unlabelled occluder — a hard negative).
 * - Appearance: colour carries no class information; fills are plain, striped or speckled; the background is one of
 *   smooth value noise, a sinusoidal grating, a checkerboard or a gradient, with line-segment clutter on top.
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import { SHAPE_KINDS, type ShapeKind } from './shapes.js';
import {
  addNoiseAndClamp,
  forEachShapePixel,
  paintLineClutter,
  randomColour,
  sceneSeed,
  valueNoise,
} from './scene-paint.js';
import {
  applyTransform,
  reviveTransform,
  transformSpec,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';
import type { ImageSample } from './transforms.js';
import type { DetectionSample } from './detection-datasets.js';
// Registers ScaleJitter / SanitizeBoxes so specs naming them revive in worker threads.
import './detection-transforms.js';

/** Options of DetectionScenes. */
export interface DetectionScenesOptions {
  /** Number of images (default 1000). */
  n?: number;
  /** Image height and width (default 128). */
  size?: number;
  /** Seed of the whole set (default 0). */
  seed?: number;
  /** Classes in label order; label k + 1 is classes[k] (default circle, square, triangle, star, ring). */
  classes?: readonly ShapeKind[];
  /** Objects painted per image, [min, max] (default [3, 12]). */
  objects?: readonly [number, number];
  /** Object radius as a fraction of `size`, [min, max], log-uniform (default [0.04, 0.24]). */
  radius?: readonly [number, number];
  /** Fraction of an object's pixels that must stay visible for it to be labelled (default 0.4). */
  minVisible?: number;
  /** Standard deviation of the Gaussian pixel noise (default 0.06). */
  noise?: number;
  /** Applied to each sample (geometric transforms keep boxes and masks aligned). */
  transform?: TransformLike<ImageSample, ImageSample> | TransformSpec;
}

const DEFAULT_CLASSES: readonly ShapeKind[] = ['circle', 'square', 'triangle', 'star', 'ring'];

/** Procedural detection scenes; sample i is a DetectionSample with instance masks. */
export class DetectionScenes extends Dataset<DetectionSample> {
  readonly n: number;
  readonly size: number;
  readonly seed: number;
  readonly classes: ShapeKind[];
  readonly objects: [number, number];
  readonly radius: [number, number];
  readonly minVisible: number;
  readonly noise: number;
  readonly transform: TransformLike<ImageSample, ImageSample> | undefined;

  constructor(opts: DetectionScenesOptions = {}) {
    super();
    this.n = opts.n ?? 1000;
    this.size = opts.size ?? 128;
    this.seed = opts.seed ?? 0;
    this.classes = (opts.classes ?? DEFAULT_CLASSES).slice();
    this.objects = opts.objects ? [opts.objects[0], opts.objects[1]] : [3, 12];
    this.radius = opts.radius ? [opts.radius[0], opts.radius[1]] : [0.04, 0.24];
    this.minVisible = opts.minVisible ?? 0.4;
    this.noise = opts.noise ?? 0.06;
    if (!Number.isInteger(this.n) || this.n < 0)
      throw new Error(`DetectionScenes: n must be a non-negative integer, got ${this.n}`);
    if (!Number.isInteger(this.size) || this.size < 16)
      throw new Error(`DetectionScenes: size must be an integer ≥ 16, got ${this.size}`);
    if (this.classes.length === 0) throw new Error('DetectionScenes: classes must not be empty');
    for (const c of this.classes)
      if (!SHAPE_KINDS.includes(c))
        throw new Error(`DetectionScenes: unknown shape '${c}' (known: ${SHAPE_KINDS.join(', ')})`);
    if (!(Number.isInteger(this.objects[0]) && this.objects[0] >= 1 && this.objects[1] >= this.objects[0])) {
      throw new Error(
        `DetectionScenes: objects must be a [min, max] range of positive integers, got ${JSON.stringify(opts.objects)}`,
      );
    }
    if (!(this.radius[0] > 0 && this.radius[1] >= this.radius[0] && this.radius[1] <= 0.5)) {
      throw new Error(
        `DetectionScenes: radius must be a [min, max] range within (0, 0.5], got ${JSON.stringify(opts.radius)}`,
      );
    }
    if (!(this.minVisible >= 0 && this.minVisible <= 1))
      throw new Error(`DetectionScenes: minVisible must be in [0, 1], got ${this.minVisible}`);
    this.transform = reviveTransform(opts.transform);
  }

  get length(): number {
    return this.n;
  }

  get(index: number): DetectionSample {
    const s = this.generate(this.checkIndex(index));
    return this.transform ? (applyTransform(this.transform, s) as DetectionSample) : s;
  }

  /** Paints the background texture into img (3 planes of S × S). */
  private background(g: Generator, img: Float32Array): void {
    const S = this.size;
    const plane = S * S;
    const c1 = randomColour(g);
    const c2 = randomColour(g);
    const kind = Math.floor(g.random() * 4);
    let t: Float32Array;
    if (kind === 0) {
      const cells = 2 + Math.floor(g.random() * 8);
      // The lattice and the field are float32, as this set has always stored them.
      const lattice = Float32Array.from({ length: (cells + 1) ** 2 }, () => g.random());
      t = Float32Array.from(valueNoise(lattice, cells, S));
    } else {
      t = new Float32Array(plane);
      const ang = Math.PI * g.random();
      const freq = (2 + 10 * g.random()) / S;
      const cell = Math.max(2, Math.floor(S / (3 + 10 * g.random())));
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const u = x * Math.cos(ang) + y * Math.sin(ang);
          t[y * S + x] =
            kind === 1
              ? 0.5 + 0.5 * Math.sin(2 * Math.PI * freq * u)
              : kind === 2
                ? (Math.floor(x / cell) + Math.floor(y / cell)) % 2
                : u / (S * 1.5) + 0.2;
        }
      }
    }
    // Textures are kept to a band of contrast so objects are findable but the background is not flat.
    const amp = 0.3 + 0.4 * g.random();
    for (let p = 0; p < plane; p++) {
      const v = Math.min(1, Math.max(0, t[p])) * amp;
      for (let c = 0; c < 3; c++) img[c * plane + p] = c1[c] * (1 - v) + c2[c] * v;
    }
    paintLineClutter(g, img, S);
  }

  /** Draws sample i (no transform). */
  generate(i: number): DetectionSample {
    const g = new Generator(sceneSeed(this.seed ^ 0x5ce9e5, i));
    const S = this.size;
    const plane = S * S;
    const img = new Float32Array(3 * plane);
    this.background(g, img);
    // owner[p] = index of the object painted last at p (−1: background).
    const owner = new Int32Array(plane).fill(-1);
    const fullArea: number[] = [];
    const cls: number[] = [];
    const count = this.objects[0] + Math.floor(g.random() * (this.objects[1] - this.objects[0] + 1));
    const [lr0, lr1] = [Math.log(this.radius[0]), Math.log(this.radius[1])];
    for (let k = 0; k < count; k++) {
      const c = Math.floor(g.random() * this.classes.length);
      const kind = this.classes[c];
      const r = S * Math.exp(lr0 + (lr1 - lr0) * g.random());
      const cx = r * 0.5 + (S - r) * g.random();
      const cy = r * 0.5 + (S - r) * g.random();
      const theta = 2 * Math.PI * g.random();
      const fg = randomColour(g);
      const fill = Math.floor(g.random() * 3);
      const stripe = (2 + 4 * g.random()) / r;
      const stripeAng = Math.PI * g.random();
      const fg2 = fg.map((v) => (v > 0.5 ? v - 0.35 : v + 0.35));
      let area = 0;
      forEachShapePixel(S, { kind, cx, cy, r, theta }, (x, y, dx, dy) => {
        area++;
        owner[y * S + x] = k;
        const alt =
          fill === 1
            ? Math.sin((dx * Math.cos(stripeAng) + dy * Math.sin(stripeAng)) * r * stripe * Math.PI) > 0
            : fill === 2
              ? g.random() < 0.25
              : false;
        const col = alt ? fg2 : fg;
        for (let ch = 0; ch < 3; ch++) img[ch * plane + y * S + x] = col[ch];
      });
      fullArea.push(area);
      cls.push(c + 1);
    }
    // Visible extent of every object.
    const vis = new Int32Array(count);
    const x1 = new Int32Array(count).fill(S),
      y1 = new Int32Array(count).fill(S),
      x2 = new Int32Array(count).fill(-1),
      y2 = new Int32Array(count).fill(-1);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const k = owner[y * S + x];
        if (k < 0) continue;
        vis[k]++;
        if (x < x1[k]) x1[k] = x;
        if (x > x2[k]) x2[k] = x;
        if (y < y1[k]) y1[k] = y;
        if (y > y2[k]) y2[k] = y;
      }
    }
    const kept: number[] = [];
    for (let k = 0; k < count; k++) if (vis[k] >= 4 && vis[k] >= this.minVisible * fullArea[k]) kept.push(k);
    const masks = new Uint8Array(kept.length * plane);
    const boxes = new Float32Array(4 * kept.length);
    kept.forEach((k, j) => {
      for (let p = 0; p < plane; p++) if (owner[p] === k) masks[j * plane + p] = 1;
      boxes.set([x1[k], y1[k], x2[k] + 1, y2[k] + 1], 4 * j);
    });
    addNoiseAndClamp(g, img, this.noise);
    return {
      image: new Tensor(img, [3, S, S], 'float32'),
      boxes: new Tensor(boxes, [kept.length, 4], 'float32'),
      labels: new Tensor(
        Int32Array.from(kept, (k) => cls[k]),
        [kept.length],
        'int32',
      ),
      mask: new Tensor(masks, [kept.length, S, S], 'uint8'),
      area: new Tensor(
        Float32Array.from(kept, (k) => vis[k]),
        [kept.length],
        'float32',
      ),
      iscrowd: new Tensor(new Int32Array(kept.length), [kept.length], 'int32'),
      imageId: i,
    };
  }

  override workerSpec(): WorkerSpec | null {
    const t = transformSpec(this.transform);
    if (t === null) return null;
    const opts: DetectionScenesOptions = {
      n: this.n,
      size: this.size,
      seed: this.seed,
      classes: this.classes,
      objects: this.objects,
      radius: this.radius,
      minVisible: this.minVisible,
      noise: this.noise,
    };
    if (t) opts.transform = t;
    return { module: import.meta.url, export: 'DetectionScenes', args: [opts], construct: true };
  }
}
