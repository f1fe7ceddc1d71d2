/**
 * Volumetric data: a procedural CT-like segmentation set and the 3-D augmentations (random flips and crops that
 * keep a volume and its mask aligned).
 *
 * `CTVolumes` draws each volume from its own seed (seed + index), so any split by index range is a set of unseen
 * volumes. A body ellipsoid of soft tissue holds bright hollow shells (bone/vessel-like walls) and low-contrast
 * solid blobs (lesion-like), under a smooth multiplicative bias field and Gaussian noise, as CT and MR volumes have.
 * The mask labels background/body 0, shells 1, blobs 2. Blobs are only ~1.5–3 noise standard deviations brighter
 * than tissue and overlap shells in size, so a per-voxel threshold cannot segment them: shape and context must.
 */
import { Generator } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { contiguous } from '../ops/shape.js';
import { Dataset } from './dataset.js';
import { dataGenerator } from './rng.js';
import {
  registerTransform,
  Transform,
  type TransformLike,
  type TransformSpec,
  applyTransform,
} from './transform-base.js';

/** A volume and its per-voxel labels. */
export interface VolumeSample {
  /** float32 [C, D, H, W]. */
  image: Tensor;
  /** int32 [D, H, W]. */
  mask: Tensor;
}

/** Options of CTVolumes. */
export interface CTVolumesOptions {
  /** Number of volumes (default 64). */
  length?: number;
  /** [D, H, W] (default [32, 32, 32]). */
  size?: readonly [number, number, number];
  /** Volume i is drawn from seed + i (default 0). Use disjoint ranges for train and test. */
  seed?: number;
  /** Noise standard deviation relative to the tissue–lesion contrast scale (default 0.06). */
  noise?: number;
  transform?: TransformLike<VolumeSample, VolumeSample>;
}

/** Procedural CT-like volumes with shell and blob masks (see the module comment). */
export class CTVolumes extends Dataset<VolumeSample> {
  readonly size: [number, number, number];
  readonly seed: number;
  readonly noise: number;
  private readonly n: number;
  private readonly transform?: TransformLike<VolumeSample, VolumeSample>;

  constructor(opts: CTVolumesOptions = {}) {
    super();
    this.n = opts.length ?? 64;
    this.size = [...(opts.size ?? [32, 32, 32])] as [number, number, number];
    if (this.size.some((s) => !Number.isInteger(s) || s < 8))
      throw new Error(`CTVolumes: size must be 3 integers ≥ 8, got ${JSON.stringify(opts.size)}`);
    this.seed = opts.seed ?? 0;
    this.noise = opts.noise ?? 0.06;
    this.transform = opts.transform;
  }

  get length(): number {
    return this.n;
  }

  get(index: number): VolumeSample {
    const i = this.checkIndex(index);
    const s = this.render(i);
    return this.transform ? applyTransform(this.transform, s) : s;
  }

  private render(i: number): VolumeSample {
    const g = new Generator(this.seed * 100_003 + i);
    const [D, H, W] = this.size;
    const u = (lo: number, hi: number) => lo + (hi - lo) * g.random();
    const img = new Float32Array(D * H * W);
    const mask = new Int32Array(D * H * W);
    // body: an axis-aligned ellipsoid filling most of the volume, soft tissue 0.3
    const body = {
      c: [u(0.45, 0.55) * D, u(0.45, 0.55) * H, u(0.45, 0.55) * W],
      r: [u(0.38, 0.46) * D, u(0.38, 0.46) * H, u(0.38, 0.46) * W],
    };
    // random unit-less rotation-free ellipsoids inside the body
    const inside = () => [0, 1, 2].map((a) => body.c[a] + u(-0.5, 0.5) * body.r[a]);
    const dims = [D, H, W];
    const shells = Array.from({ length: 2 + Math.floor(g.random() * 3) }, () => ({
      c: inside(),
      r: dims.map((d) => u(0.08, 0.16) * d),
      t: u(0.25, 0.4),
    }));
    const blobs = Array.from({ length: 1 + Math.floor(g.random() * 3) }, () => ({
      c: inside(),
      r: dims.map((d) => u(0.06, 0.14) * d),
      v: u(0.1, 0.2),
    }));
    // bias field: a smooth linear ramp in a random direction, ±10 %
    const bias = [u(-0.1, 0.1), u(-0.1, 0.1), u(-0.1, 0.1)];
    const q = (p: number[], e: { c: number[]; r: number[] }) =>
      ((p[0] - e.c[0]) / e.r[0]) ** 2 + ((p[1] - e.c[1]) / e.r[1]) ** 2 + ((p[2] - e.c[2]) / e.r[2]) ** 2;
    let k = 0;
    for (let z = 0; z < D; z++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++, k++) {
          const p = [z + 0.5, y + 0.5, x + 0.5];
          let v = 0;
          let label = 0;
          if (q(p, body) <= 1) {
            v = 0.3;
            for (const b of blobs)
              if (q(p, b) <= 1) {
                v = 0.3 + b.v;
                label = 2;
              }
            for (const s of shells) {
              const d = Math.sqrt(q(p, s));
              // a wall between (1 − t) and 1 of the ellipsoid's radius: bright, like cortical bone or a vessel wall
              if (d <= 1 && d >= 1 - s.t) {
                v = 0.8;
                label = 1;
              }
            }
          }
          const field = 1 + bias[0] * (z / D - 0.5) * 2 + bias[1] * (y / H - 0.5) * 2 + bias[2] * (x / W - 0.5) * 2;
          img[k] = v * field + this.noise * g.normal();
          mask[k] = label;
        }
      }
    }
    return { image: tensor(img, [1, D, H, W]), mask: tensor(mask, [D, H, W], { dtype: 'int32' }) };
  }
}

function spatial(op: string, x: Tensor | VolumeSample): [number, number, number] {
  const img = x instanceof Tensor ? x : x.image;
  if (img.shape.length !== 4)
    throw new Error(`${op}: expected a volume [C, D, H, W], got shape ${formatShape(img.shape)}`);
  return [img.shape[1], img.shape[2], img.shape[3]];
}

/** Copies the [d0, d0+sd) × [h0, h0+sh) × [w0, w0+sw) box of the last three dims, flipping the axes in `flip`. */
function crop(t: Tensor, start: number[], size: number[], flip: boolean[]): Tensor {
  const lead = t.shape.slice(0, -3);
  const [D, H, W] = t.shape.slice(-3);
  const planes = lead.reduce((a, b) => a * b, 1);
  const src = contiguous(t).dataView();
  const out =
    t.dtype === 'int32'
      ? new Int32Array(planes * size[0] * size[1] * size[2])
      : new Float32Array(planes * size[0] * size[1] * size[2]);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    for (let z = 0; z < size[0]; z++) {
      const iz = start[0] + (flip[0] ? size[0] - 1 - z : z);
      for (let y = 0; y < size[1]; y++) {
        const iy = start[1] + (flip[1] ? size[1] - 1 - y : y);
        const row = ((p * D + iz) * H + iy) * W + start[2];
        for (let x = 0; x < size[2]; x++) out[o++] = src[row + (flip[2] ? size[2] - 1 - x : x)];
      }
    }
  }
  return tensor(out, [...lead, ...size], { dtype: t.dtype === 'int32' ? 'int32' : 'float32' });
}

function applyBox<S extends Tensor | VolumeSample>(x: S, start: number[], size: number[], flip: boolean[]): S {
  if (!(x instanceof Tensor)) {
    const s = x as VolumeSample;
    return { ...s, image: crop(s.image, start, size, flip), mask: crop(s.mask, start, size, flip) } as S;
  }
  return crop(x as Tensor, start, size, flip) as S;
}

/** Flips each of the depth, height and width axes independently with probability p (volume and mask together). */
export class RandomFlip3d<S extends Tensor | VolumeSample = VolumeSample> extends Transform<S, S> {
  private readonly generator?: Generator;

  constructor(
    readonly p = 0.5,
    opts: { generator?: Generator } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`RandomFlip3d: p must be in [0, 1], got ${p}`);
    this.generator = opts.generator;
  }

  apply(x: S): S {
    const size = spatial('RandomFlip3d', x);
    const g = dataGenerator(this.generator);
    const flip = [g.random() < this.p, g.random() < this.p, g.random() < this.p];
    return applyBox(x, [0, 0, 0], size, flip);
  }

  override spec(): TransformSpec {
    return { __transform: 'RandomFlip3d', args: [this.p] };
  }
}

/** Crops a random [d, h, w] box (volume and mask together). */
export class RandomCrop3d<S extends Tensor | VolumeSample = VolumeSample> extends Transform<S, S> {
  readonly size: [number, number, number];
  private readonly generator?: Generator;

  constructor(size: number | readonly [number, number, number], opts: { generator?: Generator } = {}) {
    super();
    this.size = (typeof size === 'number' ? [size, size, size] : [...size]) as [number, number, number];
    if (this.size.length !== 3 || this.size.some((v) => !Number.isInteger(v) || v < 1))
      throw new Error(`RandomCrop3d: size must be a positive integer or 3 of them, got ${JSON.stringify(size)}`);
    this.generator = opts.generator;
  }

  apply(x: S): S {
    const dims = spatial('RandomCrop3d', x);
    if (dims.some((d, a) => d < this.size[a]))
      throw new Error(`RandomCrop3d: crop ${formatShape(this.size)} is larger than the volume ${formatShape(dims)}`);
    const g = dataGenerator(this.generator);
    const start = dims.map((d, a) => Math.floor(g.random() * (d - this.size[a] + 1)));
    return applyBox(x, start, this.size, [false, false, false]);
  }

  override spec(): TransformSpec {
    return { __transform: 'RandomCrop3d', args: [this.size] };
  }
}

registerTransform('RandomFlip3d', RandomFlip3d);
registerTransform('RandomCrop3d', RandomCrop3d);
