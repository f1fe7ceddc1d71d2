/**
 * Detection-specific augmentation (torchvision.transforms.v2's ScaleJitter and SanitizeBoundingBoxes), on top of
 * the box- and mask-aware transforms of `transforms` (flips, RandomResizedCrop, RandomAffine, ColorJitter …):
 * after a crop, boxes can end up empty, and SanitizeBoxes drops them together with their labels and masks.
 */
import type { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { registerTransform, type Transform, type TransformSpec } from './transform-base.js';
import { ImageTransform, Resize, type ImageSample, type Interpolation, type Sample } from './transforms.js';

/**
 * Large-scale jitter (Ghiasi et al., "Simple Copy-Paste", CVPR 2021; torchvision.transforms.v2.ScaleJitter):
 * resizes the image so that it fits `targetSize` = [h, w] times a factor drawn uniformly from `scaleRange`,
 * keeping the aspect ratio; boxes and masks follow.
 */
export class ScaleJitter extends ImageTransform {
  readonly targetSize: [number, number];
  readonly scaleRange: [number, number];
  readonly interpolation: Interpolation;

  constructor(
    targetSize: readonly [number, number],
    opts: { scaleRange?: readonly [number, number]; interpolation?: Interpolation; generator?: Generator } = {},
  ) {
    super(opts.generator);
    if (targetSize.length !== 2 || !targetSize.every((v) => Number.isInteger(v) && v > 0)) {
      throw new Error(`ScaleJitter: targetSize must be [h, w] positive integers, got ${JSON.stringify(targetSize)}`);
    }
    const r = opts.scaleRange ?? [0.1, 2.0];
    if (!(r[0] > 0 && r[1] >= r[0]))
      throw new Error(`ScaleJitter: scaleRange must be [min, max] with 0 < min ≤ max, got ${JSON.stringify(r)}`);
    this.targetSize = [targetSize[0], targetSize[1]];
    this.scaleRange = [r[0], r[1]];
    this.interpolation = opts.interpolation ?? 'bilinear';
  }

  protected transform<S extends Sample>(x: S): S {
    const img = x instanceof Tensor ? x : x.image;
    const [H, W] = img.shape.slice(-2);
    const s = this.scaleRange[0] + this.rng().random() * (this.scaleRange[1] - this.scaleRange[0]);
    const r = Math.min(this.targetSize[0] / H, this.targetSize[1] / W) * s;
    const h = Math.max(1, Math.floor(H * r));
    const w = Math.max(1, Math.floor(W * r));
    return new Resize([h, w], { interpolation: this.interpolation }).apply(x as Sample) as S;
  }

  override spec(): TransformSpec | null {
    return this.specOf(this.targetSize, { scaleRange: this.scaleRange, interpolation: this.interpolation });
  }
}

/** Options of SanitizeBoxes. */
export interface SanitizeBoxesOptions {
  /** Smallest width and height a box keeps (default 1 pixel). */
  minSize?: number;
  /** Per-box keys filtered with the boxes (default labels, boxLabels, iscrowd, area, difficult). */
  labelsKeys?: readonly string[];
}

/**
 * Removes degenerate boxes — width or height below `minSize`, or non-finite — and the matching rows of the
 * per-box tensors (`labelsKeys`) and of an instance mask [K, H, W] (torchvision.transforms.v2.SanitizeBoundingBoxes).
 */
export class SanitizeBoxes extends ImageTransform {
  readonly minSize: number;
  readonly labelsKeys: string[];

  constructor(opts: SanitizeBoxesOptions = {}) {
    super();
    this.minSize = opts.minSize ?? 1;
    if (!(this.minSize >= 0)) throw new Error(`SanitizeBoxes: minSize must be ≥ 0, got ${this.minSize}`);
    this.labelsKeys = (opts.labelsKeys ?? ['labels', 'boxLabels', 'iscrowd', 'area', 'difficult']).slice();
  }

  protected transform<S extends Sample>(x: S): S {
    if (x instanceof Tensor || x.boxes === undefined) return x;
    const b = x.boxes.dataView();
    const k = x.boxes.shape[0];
    const keep: number[] = [];
    for (let i = 0; i < k; i++) {
      const w = b[4 * i + 2] - b[4 * i];
      const h = b[4 * i + 3] - b[4 * i + 1];
      if (w >= this.minSize && h >= this.minSize && [0, 1, 2, 3].every((c) => Number.isFinite(b[4 * i + c])))
        keep.push(i);
    }
    if (keep.length === k) return x;
    const out: ImageSample = { ...x, boxes: rows(x.boxes, keep) };
    for (const key of this.labelsKeys) {
      const v = x[key];
      if (!(v instanceof Tensor)) continue;
      if (v.shape[0] !== k)
        throw new Error(`SanitizeBoxes: sample.${key} has shape ${formatShape(v.shape)} but there are ${k} boxes`);
      out[key] = rows(v, keep);
    }
    if (x.mask instanceof Tensor && x.mask.shape.length === 3 && x.mask.shape[0] === k) out.mask = rows(x.mask, keep);
    return out as S;
  }

  override spec(): TransformSpec {
    return { __transform: 'SanitizeBoxes', args: [{ minSize: this.minSize, labelsKeys: this.labelsKeys }] };
  }
}

/** Rows `keep` of `t` along dim 0 (a copy). */
function rows(t: Tensor, keep: readonly number[]): Tensor {
  const per = t.shape.slice(1).reduce((a, c) => a * c, 1);
  const src = t.dataView();
  const out = Tensor.empty([keep.length, ...t.shape.slice(1)], t.dtype);
  keep.forEach((r, i) => out.storage.set(src.subarray(r * per, (r + 1) * per), i * per));
  return out;
}

for (const ctor of [ScaleJitter, SanitizeBoxes])
  registerTransform(ctor.name, ctor as unknown as new (...args: never[]) => Transform<unknown, unknown>);
