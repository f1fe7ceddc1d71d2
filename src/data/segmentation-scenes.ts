/**
 * SegmentationScenes: a procedural semantic-segmentation set with exact masks, generated offline from
 * (seed, index). Harder than `Shapes` on purpose:
 * - several objects (default 3–6) of several classes, placed anywhere, overlapping: later objects occlude earlier
 *   ones (painter's order) and the mask shows what is visible; objects may be cut by the image border;
 * - sizes vary by 4× (radius 0.07–0.28 of the image side);
 * - objects are textured (stripes or checks of random period, angle and colours) and their colours carry no class
 *   information, so only the outline tells the classes apart;
 * - the background is textured too: a low-frequency value-noise field mixing two random colours, plus a random
 *   grating, and a few background "distractor" blobs (ellipses that belong to no class);
 * - Gaussian pixel noise over everything.
 * Sample i is `[image float32 [3, S, S] in [0, 1], mask int32 [S, S]]` (0 background, k + 1 for `classes[k]`).
 */
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import { SHAPE_KINDS, type ShapeKind } from './shapes.js';
import { addNoiseAndClamp, forEachShapePixel, paintBlobs, randomColour, sceneSeed, valueNoise } from './scene-paint.js';
import {
  applyTransform,
  reviveTransform,
  transformSpec,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';
import type { ImageSample } from './transforms.js';

/** Options of `SegmentationScenes`. */
export interface SegmentationScenesOptions {
  /** Number of scenes (default 1000). */
  n?: number;
  /** Image side (default 64). */
  size?: number;
  /** Seed of the whole set (default 0); use different seeds for training and held-out sets. */
  seed?: number;
  /** Object classes (default circle, square, triangle, ring, star: 5 classes + background). */
  classes?: readonly ShapeKind[];
  /** Objects per scene, [min, max] (default [3, 6]). */
  objects?: readonly [number, number];
  /** Object radius range as a fraction of the side (default [0.07, 0.28]). */
  radius?: readonly [number, number];
  /** Standard deviation of the pixel noise (default 0.06). */
  noise?: number;
  /** Joint transform of `{ image, mask }`. */
  transform?: TransformLike<ImageSample, ImageSample> | TransformSpec;
}

/** Procedural segmentation scenes; see the file comment. */
export class SegmentationScenes extends Dataset<[Tensor, Tensor]> {
  readonly n: number;
  readonly size: number;
  readonly seed: number;
  readonly classes: ShapeKind[];
  readonly objects: [number, number];
  readonly radius: [number, number];
  readonly noise: number;
  readonly transform: TransformLike<ImageSample, ImageSample> | undefined;

  constructor(opts: SegmentationScenesOptions = {}) {
    super();
    this.n = opts.n ?? 1000;
    this.size = opts.size ?? 64;
    this.seed = opts.seed ?? 0;
    this.classes = (opts.classes ?? ['circle', 'square', 'triangle', 'ring', 'star']).slice();
    this.objects = opts.objects ? [opts.objects[0], opts.objects[1]] : [3, 6];
    this.radius = opts.radius ? [opts.radius[0], opts.radius[1]] : [0.07, 0.28];
    this.noise = opts.noise ?? 0.06;
    const op = 'SegmentationScenes';
    if (!Number.isInteger(this.n) || this.n < 0)
      throw new Error(`${op}: n must be a non-negative integer, got ${this.n}`);
    if (!Number.isInteger(this.size) || this.size < 16)
      throw new Error(`${op}: size must be an integer ≥ 16, got ${this.size}`);
    if (
      this.classes.length === 0 ||
      this.classes.some((c) => !SHAPE_KINDS.includes(c)) ||
      new Set(this.classes).size !== this.classes.length
    ) {
      throw new Error(
        `${op}: classes must be distinct shapes among ${SHAPE_KINDS.join(', ')}, got ${JSON.stringify(opts.classes)}`,
      );
    }
    if (!(Number.isInteger(this.objects[0]) && this.objects[0] >= 1 && this.objects[1] >= this.objects[0]))
      throw new Error(`${op}: objects must be [min, max] with 1 ≤ min ≤ max, got ${JSON.stringify(opts.objects)}`);
    if (!(this.radius[0] > 0 && this.radius[1] >= this.radius[0] && this.radius[1] <= 0.5))
      throw new Error(`${op}: radius must be [min, max] within (0, 0.5], got ${JSON.stringify(opts.radius)}`);
    if (!(this.noise >= 0)) throw new Error(`${op}: noise must be ≥ 0, got ${this.noise}`);
    this.transform = reviveTransform(opts.transform);
  }

  get length(): number {
    return this.n;
  }

  /** Number of mask classes including the background. */
  get numClasses(): number {
    return this.classes.length + 1;
  }

  /** Class names by mask value ('background' first). */
  get classNames(): string[] {
    return ['background', ...this.classes];
  }

  get(index: number): [Tensor, Tensor] {
    const s = this.generate(this.checkIndex(index));
    if (!this.transform) return [s.image, s.mask!];
    const t = applyTransform(this.transform, s);
    return [t.image, t.mask!];
  }

  /** Draws scene i (no transform) as `{ image, mask }`. */
  generate(i: number): ImageSample & { mask: Tensor } {
    const g = new Generator(sceneSeed(this.seed ^ 0x5bd1e995, i, 0x3c6ef372));
    const S = this.size,
      plane = S * S;
    const img = new Float32Array(3 * plane);
    const col = () => randomColour(g);
    // Background: value noise on a coarse grid (bilinear), mixing two colours, plus a faint grating.
    const [c0, c1] = [col(), col()];
    const grid = 3 + Math.floor(g.random() * 4);
    const noise = valueNoise(
      Array.from({ length: (grid + 1) * (grid + 1) }, () => g.random()),
      grid,
      S,
    );
    const gAng = Math.PI * g.random(),
      gFreq = (2 * Math.PI) / (3 + 9 * g.random()),
      gAmp = 0.12 * g.random();
    const gc = Math.cos(gAng),
      gs = Math.sin(gAng);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const t = noise[y * S + x];
        const grating = gAmp * Math.sin((gc * x + gs * y) * gFreq);
        for (let c = 0; c < 3; c++) img[c * plane + y * S + x] = c0[c] * (1 - t) + c1[c] * t + grating;
      }
    }
    // Distractor blobs: ellipses in background class.
    paintBlobs(g, img, S);
    const mask = new Int32Array(plane);
    const count = this.objects[0] + Math.floor(g.random() * (this.objects[1] - this.objects[0] + 1));
    for (let k = 0; k < count; k++) {
      const cls = Math.floor(g.random() * this.classes.length);
      const kind = this.classes[cls];
      const r = S * (this.radius[0] + (this.radius[1] - this.radius[0]) * g.random());
      // Centres anywhere in the image: objects near the border are cut, others overlap and occlude.
      const cx = S * g.random(),
        cy = S * g.random();
      const theta = 2 * Math.PI * g.random();
      const [fa, fb] = [col(), col()];
      const checks = g.random() < 0.5;
      const period = 2 + 6 * g.random(),
        tAng = Math.PI * g.random();
      const tc = Math.cos(tAng),
        ts = Math.sin(tAng);
      forEachShapePixel(S, { kind, cx, cy, r, theta }, (x, y) => {
        mask[y * S + x] = cls + 1;
        const p = (tc * x + ts * y) / period,
          q = (-ts * x + tc * y) / period;
        const on = checks ? (Math.floor(p) + Math.floor(q)) % 2 === 0 : Math.floor(p) % 2 === 0;
        const f = on ? fa : fb;
        for (let c = 0; c < 3; c++) img[c * plane + y * S + x] = f[c];
      });
    }
    addNoiseAndClamp(g, img, this.noise);
    return { image: new Tensor(img, [3, S, S], 'float32'), mask: new Tensor(mask, [S, S], 'int32') };
  }

  override workerSpec(): WorkerSpec | null {
    const t = transformSpec(this.transform);
    if (t === null) return null;
    const opts: SegmentationScenesOptions = {
      n: this.n,
      size: this.size,
      seed: this.seed,
      classes: this.classes,
      objects: this.objects,
      radius: this.radius,
      noise: this.noise,
    };
    if (t) opts.transform = t;
    return { module: import.meta.url, export: 'SegmentationScenes', args: [opts], construct: true };
  }
}
