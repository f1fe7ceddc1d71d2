/**
 * Data for unpaired image-to-image translation (CycleGAN): `UnpairedDataset` pairs each image of domain A with a
 * random image of domain B (the CycleGAN authors' unaligned loader), `randomPatches` cuts training patches from a
 * few large photos, and `toNight` makes a procedural "night" domain from daylight photos — underexposure with a
 * per-image exposure, a blue shift of the white balance (the Purkinje-like look of night photography), lifted
 * shadows from sky glow, a vignette and sensor noise — so that two unpaired domains exist offline: day patches
 * and night versions of *other* patches.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { cat } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { Dataset } from './dataset.js';

/** Images of one domain: a dataset of images (or of [image, …] tuples), or an [N, C, H, W] tensor. */
export type ImageSource = Dataset<unknown> | Tensor;

function sourceLength(s: ImageSource): number {
  return s instanceof Tensor ? s.shape[0] : s.length;
}

function sourceGet(op: string, s: ImageSource, i: number): Tensor {
  if (s instanceof Tensor) return s.select(0, i);
  const item = s.get(i);
  const img = item instanceof Tensor ? item : Array.isArray(item) ? item[0] : null;
  if (!(img instanceof Tensor))
    throw new Error(`${op}: sample ${i} is not an image tensor or a tuple starting with one`);
  return img;
}

/**
 * [a, b] samples from two unrelated image sets: sample i is image i mod |A| of A and an image of B drawn at random
 * with a generator seeded by (seed, i), reproducible per index (in every worker) but unaligned. Length max(|A|, |B|).
 * Sources are datasets of images (or of [image, …] tuples) or [N, C, H, W] tensors.
 */
export class UnpairedDataset extends Dataset<[Tensor, Tensor]> {
  constructor(
    readonly a: ImageSource,
    readonly b: ImageSource,
    readonly seed = 0,
  ) {
    super();
    if (sourceLength(a) === 0 || sourceLength(b) === 0)
      throw new Error(`UnpairedDataset: both domains need images, got ${sourceLength(a)} and ${sourceLength(b)}`);
  }

  get length(): number {
    return Math.max(sourceLength(this.a), sourceLength(this.b));
  }

  get(index: number): [Tensor, Tensor] {
    const i = this.checkIndex(index);
    const j = new Generator((this.seed * 1000003 + i) >>> 0).randint(0, sourceLength(this.b));
    return [sourceGet('UnpairedDataset', this.a, i % sourceLength(this.a)), sourceGet('UnpairedDataset', this.b, j)];
  }
}

/**
 * `count` random size×size crops of `images` ([C, H, W] tensors, each at least size×size), the image chosen
 * uniformly, with a horizontal flip half the time: [count, C, size, size].
 */
export function randomPatches(
  images: readonly Tensor[],
  count: number,
  size: number,
  generator: Generator = new Generator(0),
): Tensor {
  const op = 'randomPatches';
  if (images.length === 0) throw new Error(`${op}: expected at least one image`);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(size) || size < 1)
    throw new Error(`${op}: count and size must be positive integers, got ${count} and ${size}`);
  for (const img of images) {
    if (img.shape.length !== 3 || img.shape[1] < size || img.shape[2] < size || img.shape[0] !== images[0].shape[0]) {
      throw new Error(
        `${op}: images must be [C, H, W] with the same C and H, W ≥ ${size}, got ${formatShape(img.shape)}`,
      );
    }
  }
  return noGrad(() => {
    const out: Tensor[] = [];
    for (let k = 0; k < count; k++) {
      const img = images[generator.randint(0, images.length)];
      const y = generator.randint(0, img.shape[1] - size + 1),
        x = generator.randint(0, img.shape[2] - size + 1);
      let p = img.narrow(1, y, size).narrow(2, x, size);
      if (generator.random() < 0.5) p = p.flip([2]);
      out.push(p.contiguous().unsqueeze(0));
    }
    return cat(out, 0);
  });
}

/**
 * A procedural night version of RGB daylight images in [0, 1] ([3, H, W] or [N, 3, H, W]): per image an exposure
 * e ∈ [0.18, 0.35] after a gamma of 1.6 (darks fall faster than lights), white balance × (0.55, 0.75, 1.25) toward
 * blue, sky glow lifting the shadows by ≈ 0.03 in blue, a radial vignette centred at a random point and Gaussian
 * sensor noise σ = 0.015; clipped to [0, 1]. Random parts draw from `generator`.
 */
export function toNight(img: Tensor, generator: Generator = new Generator(0)): Tensor {
  const op = 'toNight';
  const batched = img.shape.length === 4;
  if (
    (img.shape.length !== 3 && !batched) ||
    img.shape[batched ? 1 : 0] !== 3 ||
    (img.dtype !== 'float32' && img.dtype !== 'float64')
  ) {
    throw new Error(
      `${op}: expected float RGB images [3, H, W] or [N, 3, H, W] in [0, 1], got ${img.dtype} ${formatShape(img.shape)}`,
    );
  }
  const x = (batched ? img : img.unsqueeze(0)).contiguous();
  const [n, , h, w] = x.shape;
  const src = x.dataView();
  const out = new Float64Array(src.length);
  const balance = [0.55, 0.75, 1.25],
    glow = [0.005, 0.012, 0.03];
  const gauss = () => Math.sqrt(-2 * Math.log(1 - generator.random())) * Math.cos(2 * Math.PI * generator.random());
  for (let b = 0; b < n; b++) {
    const exposure = 0.18 + 0.17 * generator.random();
    const cy = h * generator.random(),
      cx = w * generator.random();
    const r2 = (h * h + w * w) / 4;
    for (let c = 0; c < 3; c++) {
      for (let yy = 0; yy < h; yy++) {
        for (let xx = 0; xx < w; xx++) {
          const k = ((b * 3 + c) * h + yy) * w + xx;
          const d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / r2;
          const vignette = 1 / (1 + 0.6 * d2);
          const v = Math.pow(Math.max(0, src[k]), 1.6) * exposure * balance[c] * vignette + glow[c] + 0.015 * gauss();
          out[k] = Math.min(1, Math.max(0, v));
        }
      }
    }
  }
  const res = new Tensor(img.dtype === 'float64' ? out : Float32Array.from(out), [n, 3, h, w], img.dtype);
  return batched ? res : res.squeeze(0);
}
