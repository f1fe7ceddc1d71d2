/**
 * "Moving MNIST"-style video clips (Srivastava, Mansimov & Salakhutdinov 2015) built from any image classification
 * dataset — Fashion-MNIST by default use: each clip moves `objects` images along straight lines inside a square
 * canvas, bouncing off the borders, and overlays them with a per-pixel max. Clips are [1, T, size, size] float32
 * (the [C, T, H, W] layout the video models take after batching); clip i is drawn from seed + i.
 */
import { Generator } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { contiguous } from '../ops/shape.js';
import { Dataset } from './dataset.js';
import { applyTransform, type TransformLike } from './transform-base.js';

/** Options of MovingImages. */
export interface MovingImagesOptions {
  /** Clips (default: as many as the base dataset has images). */
  length?: number;
  /** Frames per clip (default 10). */
  frames?: number;
  /** Canvas side (default 64). */
  size?: number;
  /** Images per clip (default 1). */
  objects?: number;
  /** Speed range in pixels per frame (default [2, 4]). */
  speed?: readonly [number, number];
  seed?: number;
  transform?: TransformLike<Tensor, Tensor>;
}

/**
 * Clips of moving images. With one object a sample is [clip, label]; with several, [clip, int32 labels
 * [objects]] in the order of the objects' base indices.
 */
export class MovingImages extends Dataset<[Tensor, number | Tensor]> {
  readonly frames: number;
  readonly size: number;
  readonly objects: number;
  readonly seed: number;
  private readonly speed: readonly [number, number];
  private readonly n: number;
  private readonly transform?: TransformLike<Tensor, Tensor>;

  constructor(
    readonly base: Dataset<[Tensor, number]>,
    opts: MovingImagesOptions = {},
  ) {
    super();
    this.frames = opts.frames ?? 10;
    this.size = opts.size ?? 64;
    this.objects = opts.objects ?? 1;
    this.seed = opts.seed ?? 0;
    this.speed = opts.speed ?? [2, 4];
    this.n = opts.length ?? base.length;
    this.transform = opts.transform;
    if (!Number.isInteger(this.frames) || this.frames < 1)
      throw new Error(`MovingImages: frames must be a positive integer, got ${this.frames}`);
    if (!Number.isInteger(this.objects) || this.objects < 1)
      throw new Error(`MovingImages: objects must be a positive integer, got ${this.objects}`);
  }

  get length(): number {
    return this.n;
  }

  get(index: number): [Tensor, number | Tensor] {
    const i = this.checkIndex(index);
    const g = new Generator(this.seed * 100_003 + i);
    const S = this.size;
    const T = this.frames;
    const clip = new Float32Array(T * S * S);
    const labels: number[] = [];
    for (let o = 0; o < this.objects; o++) {
      const [img, label] = this.base.get(Math.floor(g.random() * this.base.length));
      labels.push(label);
      if (img.shape.length !== 3 || img.shape[0] !== 1)
        throw new Error(`MovingImages: base images must be [1, H, W], got ${formatShape(img.shape)}`);
      const [, h, w] = img.shape;
      if (h > S || w > S) throw new Error(`MovingImages: a ${h}×${w} image does not fit the ${S}×${S} canvas`);
      const px = contiguous(img).dataView();
      // start anywhere, move at a random angle and speed, reflect at the borders (Srivastava et al. 2015)
      let y = g.random() * (S - h);
      let x = g.random() * (S - w);
      const angle = 2 * Math.PI * g.random();
      const v = this.speed[0] + (this.speed[1] - this.speed[0]) * g.random();
      let vy = v * Math.sin(angle);
      let vx = v * Math.cos(angle);
      for (let t = 0; t < T; t++) {
        const oy = Math.round(y);
        const ox = Math.round(x);
        for (let r = 0; r < h; r++) {
          for (let c = 0; c < w; c++) {
            const k = (t * S + oy + r) * S + ox + c;
            clip[k] = Math.max(clip[k], px[r * w + c]);
          }
        }
        y += vy;
        x += vx;
        if (y < 0) {
          y = -y;
          vy = -vy;
        }
        if (y > S - h) {
          y = 2 * (S - h) - y;
          vy = -vy;
        }
        if (x < 0) {
          x = -x;
          vx = -vx;
        }
        if (x > S - w) {
          x = 2 * (S - w) - x;
          vx = -vx;
        }
      }
    }
    let video = tensor(clip, [1, T, S, S]);
    if (this.transform) video = applyTransform(this.transform, video);
    return [
      video,
      this.objects === 1 ? labels[0] : tensor(Int32Array.from(labels), [this.objects], { dtype: 'int32' }),
    ];
  }
}
