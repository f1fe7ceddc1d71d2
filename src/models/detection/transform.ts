/**
 * GeneralizedRCNNTransform (torchvision.models.detection.transform): the input stage of the R-CNN, RetinaNet, FCOS
 * and SSD detectors — normalise each image, resize it so its short side is `minSize` (long side at most `maxSize`),
 * pad the batch to a multiple of `sizeDivisible`, scale the target boxes and masks with it, and map predictions
 * back to the original image sizes afterwards.
 */
import { isGradEnabled } from '../../autograd/grad-mode.js';
import { Module } from '../../nn/module.js';
import { interpolate } from '../../ops/interpolate.js';
import { pad } from '../../ops/pad.js';
import { stack } from '../../ops/shape.js';
import { pasteMasksInImage } from '../../ops/paste-masks.js';
import { Generator } from '../../tensor/random.js';
import { formatShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { isFloating } from '../../tensor/dtype.js';
import { ImageList } from './image-list.js';

/** A detection target or prediction: boxes [K, 4] xyxy plus any other per-object tensors. */
export interface DetectionTarget {
  boxes: Tensor;
  /** Instance masks: uint8 [K, H, W] in targets, float [K, 1, M, M] probabilities in Mask R-CNN predictions. */
  masks?: Tensor;
  [key: string]: Tensor | undefined;
}

/** Options of GeneralizedRCNNTransform. */
export interface GeneralizedRCNNTransformOptions {
  /** Pad height and width up to a multiple of this (default 32). */
  sizeDivisible?: number;
  /** Resize every image to exactly [width, height] (SSD) instead of by its short side. */
  fixedSize?: readonly [number, number] | null;
  /** Draws the training short side from `minSize` (default: a generator seeded 0). */
  generator?: Generator;
}

const f32 = Math.fround;

/** Boxes [K, 4] scaled from originalSize to newSize ([h, w] each), in float32 as torchvision's resize_boxes. */
export function resizeBoxes(
  boxes: Tensor,
  originalSize: readonly [number, number],
  newSize: readonly [number, number],
): Tensor {
  if (boxes.shape.length !== 2 || boxes.shape[1] !== 4)
    throw new Error(`resizeBoxes: boxes must be [K, 4], got ${formatShape(boxes.shape)}`);
  const rh = f32(f32(newSize[0]) / f32(originalSize[0]));
  const rw = f32(f32(newSize[1]) / f32(originalSize[1]));
  const src = boxes.dataView();
  const out = Tensor.empty(boxes.shape, isFloating(boxes.dtype) ? boxes.dtype : 'float32');
  for (let i = 0; i < src.length; i += 4) {
    out.storage[i] = src[i] * rw;
    out.storage[i + 1] = src[i + 1] * rh;
    out.storage[i + 2] = src[i + 2] * rw;
    out.storage[i + 3] = src[i + 3] * rh;
  }
  return out;
}

/**
 * torchvision's GeneralizedRCNNTransform. forward(images, targets?) → [ImageList, targets]: images are [C, H, W]
 * float tensors of any sizes; in eval mode the short side is the last `minSize`, in training one drawn at random.
 * `postprocess` maps predicted boxes (and Mask R-CNN masks, pasted into the image) back to the original sizes.
 * Differentiable with respect to the images (normalise and bilinear resize record the graph).
 */
export class GeneralizedRCNNTransform extends Module<
  [readonly Tensor[], (readonly DetectionTarget[])?],
  [ImageList, DetectionTarget[] | null]
> {
  readonly minSize: number[];
  readonly maxSize: number;
  readonly imageMean: number[];
  readonly imageStd: number[];
  readonly sizeDivisible: number;
  readonly fixedSize: [number, number] | null;
  private readonly generator: Generator;

  constructor(
    minSize: number | readonly number[],
    maxSize: number,
    imageMean: readonly number[],
    imageStd: readonly number[],
    opts: GeneralizedRCNNTransformOptions = {},
  ) {
    super();
    this.minSize = typeof minSize === 'number' ? [minSize] : minSize.slice();
    if (this.minSize.length === 0 || !this.minSize.every((s) => s > 0))
      throw new Error(`GeneralizedRCNNTransform: minSize must be positive, got ${JSON.stringify(minSize)}`);
    if (!(maxSize > 0)) throw new Error(`GeneralizedRCNNTransform: maxSize must be positive, got ${maxSize}`);
    this.maxSize = maxSize;
    this.imageMean = imageMean.slice();
    this.imageStd = imageStd.slice();
    this.sizeDivisible = opts.sizeDivisible ?? 32;
    this.fixedSize = opts.fixedSize ? [opts.fixedSize[0], opts.fixedSize[1]] : null;
    this.generator = opts.generator ?? new Generator(0);
  }

  /** (image − mean) / std per channel. */
  normalize(image: Tensor): Tensor {
    if (!isFloating(image.dtype))
      throw new Error(`GeneralizedRCNNTransform: expected a floating-point image, got ${image.dtype}`);
    const c = image.shape[0];
    if (this.imageMean.length !== c || this.imageStd.length !== c) {
      throw new Error(
        `GeneralizedRCNNTransform: image has ${c} channels but imageMean/imageStd have ${this.imageMean.length}/${this.imageStd.length}`,
      );
    }
    const mean = new Tensor(Float32Array.from(this.imageMean), [c, 1, 1], 'float32').to(image.dtype);
    const std = new Tensor(Float32Array.from(this.imageStd), [c, 1, 1], 'float32').to(image.dtype);
    return image.sub(mean).div(std);
  }

  /** Resizes one image (and its target's boxes and masks) as torchvision's resize / _resize_image_and_masks. */
  resize(image: Tensor, target?: DetectionTarget): [Tensor, DetectionTarget | undefined] {
    const [h, w] = image.shape.slice(-2);
    const size = this.training
      ? this.minSize[Math.floor(this.generator.random() * this.minSize.length)]
      : this.minSize[this.minSize.length - 1];
    let opts: { size?: [number, number]; scaleFactor?: number; recomputeScaleFactor?: boolean };
    if (this.fixedSize) opts = { size: [this.fixedSize[1], this.fixedSize[0]] };
    else {
      // The scale is a float32 tensor in torchvision; .item() hands its value to interpolate.
      const scale = Math.min(f32(size / f32(Math.min(h, w))), f32(this.maxSize / f32(Math.max(h, w))));
      opts = { scaleFactor: scale, recomputeScaleFactor: true };
    }
    // At scale 1 bilinear resampling (align_corners false) reads every pixel at its own centre with weight 1: the
    // image comes back unchanged, so it is not resampled (W7's 512 × 512 and SSD's fixed-size inputs).
    const outSize = this.fixedSize
      ? [this.fixedSize[1], this.fixedSize[0]]
      : [Math.floor(h * opts.scaleFactor!), Math.floor(w * opts.scaleFactor!)];
    const out =
      outSize[0] === h && outSize[1] === w && !(image.requiresGrad && isGradEnabled())
        ? image
        : interpolate(image.unsqueeze(0), { ...opts, mode: 'bilinear', alignCorners: false }).squeeze(0);
    if (!target) return [out, target];
    const resized: DetectionTarget = {
      ...target,
      boxes: resizeBoxes(target.boxes, [h, w], [out.shape[1], out.shape[2]]),
    };
    if (target.masks) {
      const m = target.masks;
      const k = m.shape[0];
      const fm = interpolate(m.to('float32').unsqueeze(1), { ...opts, mode: 'nearest' });
      resized.masks = fm.reshape(k, fm.shape[2], fm.shape[3]).to('uint8');
    }
    return [out, resized];
  }

  /** Pads [C, H, W] images (bottom and right, zeros) into one batch whose H and W are multiples of `sizeDivisible`. */
  batchImages(images: readonly Tensor[]): Tensor {
    const d = this.sizeDivisible;
    const H = Math.ceil(Math.max(...images.map((i) => i.shape[1])) / d) * d;
    const W = Math.ceil(Math.max(...images.map((i) => i.shape[2])) / d) * d;
    if (images.every((im) => im.dtype === 'float32') && !(images.some((im) => im.requiresGrad) && isGradEnabled())) {
      // Nothing to differentiate: copy the rows into one zeroed batch (a single allocation, no pad + stack).
      const c = images[0].shape[0];
      const out = new Float32Array(images.length * c * H * W);
      images.forEach((im, n) => {
        const [ci, hi, wi] = im.shape;
        if (ci !== c)
          throw new Error(`GeneralizedRCNNTransform: images have ${c} and ${ci} channels; a batch needs the same`);
        const src = im.contiguous().dataView();
        for (let ch = 0; ch < c; ch++)
          for (let y = 0; y < hi; y++) {
            const from = (ch * hi + y) * wi;
            out.set(src.subarray(from, from + wi), ((n * c + ch) * H + y) * W);
          }
      });
      return new Tensor(out, [images.length, c, H, W], 'float32');
    }
    return stack(
      images.map((img) => pad(img, [0, W - img.shape[2], 0, H - img.shape[1]])),
      0,
    );
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTarget[]): [ImageList, DetectionTarget[] | null] {
    if (images.length === 0) throw new Error('GeneralizedRCNNTransform: no images');
    if (targets && targets.length !== images.length)
      throw new Error(`GeneralizedRCNNTransform: ${images.length} images but ${targets.length} targets`);
    const outImages: Tensor[] = [];
    const outTargets: DetectionTarget[] = [];
    images.forEach((img, i) => {
      if (img.shape.length !== 3)
        throw new Error(
          `GeneralizedRCNNTransform: images are expected to be 3d tensors [C, H, W], got ${formatShape(img.shape)}`,
        );
      const [r, t] = this.resize(this.normalize(img), targets?.[i]);
      outImages.push(r);
      if (t) outTargets.push(t);
    });
    const sizes = outImages.map((im) => [im.shape[1], im.shape[2]] as [number, number]);
    const batch = this.batchImages(outImages);
    return [new ImageList(batch, sizes), targets ? outTargets : null];
  }

  /** Maps predictions from the resized images back to the original sizes (eval mode only, as torchvision). */
  postprocess(
    result: DetectionTarget[],
    imageShapes: readonly (readonly [number, number])[],
    originalSizes: readonly (readonly [number, number])[],
  ): DetectionTarget[] {
    if (this.training) return result;
    return result.map((pred, i) => {
      const boxes = resizeBoxes(pred.boxes, imageShapes[i], originalSizes[i]);
      const out: DetectionTarget = { ...pred, boxes };
      if (pred.masks) out.masks = pasteMasksInImage(pred.masks, boxes, [originalSizes[i][0], originalSizes[i][1]]);
      return out;
    });
  }

  override extraRepr(): string {
    return '';
  }

  override toString(): string {
    const nums = (v: number[]) => `[${v.join(', ')}]`;
    return (
      `GeneralizedRCNNTransform(\n    Normalize(mean=${nums(this.imageMean)}, std=${nums(this.imageStd)})\n` +
      `    Resize(min_size=(${this.minSize.join(', ')},), max_size=${this.maxSize}, mode='bilinear')\n)`
    );
  }
}
