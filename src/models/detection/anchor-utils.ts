/** AnchorGenerator (torchvision.models.detection.anchor_utils): the reference boxes of RPN and RetinaNet heads. */
import { Module } from '../../nn/module.js';
import { tensor } from '../../tensor/creation.js';
import { Tensor } from '../../tensor/tensor.js';
import type { ImageList } from './image-list.js';

/** PyTorch's torch.round: halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Anchors for a list of feature maps (Ren et al., Faster R-CNN, 2015): at every cell of level i, one box per
 * (aspect ratio, size) of `sizes[i]` × `aspectRatios[i]`, centred on the cell's top-left corner in image pixels
 * (stride = image size ÷ feature size, integer division). Aspect ratio is height / width; for ratio a and size s
 * the box is s/√a wide and s·√a high, rounded to integers (half to even), as torchvision. The anchors of a
 * location are ordered ratio-major, locations row-major, levels in order. Defaults: sizes [[128, 256, 512]],
 * ratios [[0.5, 1, 2]].
 */
export class AnchorGenerator extends Module<[ImageList, readonly Tensor[]], Tensor[]> {
  readonly sizes: number[][];
  readonly aspectRatios: number[][];
  /** Per level, [A, 4] zero-centred base anchors (float32, xyxy). */
  readonly cellAnchors: Float32Array[];
  /** Anchors already built, by geometry (see `anchorCache`). */
  private readonly cache = anchorCache();

  constructor(
    sizes: readonly (readonly number[])[] = [[128, 256, 512]],
    aspectRatios: readonly (readonly number[])[] = [[0.5, 1.0, 2.0]],
  ) {
    super();
    if (sizes.length !== aspectRatios.length) {
      throw new Error(
        `AnchorGenerator: sizes has ${sizes.length} levels but aspectRatios has ${aspectRatios.length}; give one list of each per feature map`,
      );
    }
    this.sizes = sizes.map((s) => s.slice());
    this.aspectRatios = aspectRatios.map((a) => a.slice());
    this.cellAnchors = this.sizes.map((s, i) => AnchorGenerator.generateAnchors(s, this.aspectRatios[i]));
  }

  /** Base anchors [ratios × sizes, 4] around (0, 0), computed in float32 as torchvision. */
  static generateAnchors(scales: readonly number[], aspectRatios: readonly number[]): Float32Array {
    const f = Math.fround;
    const out = new Float32Array(4 * scales.length * aspectRatios.length);
    let k = 0;
    for (const a of aspectRatios) {
      const hr = f(Math.sqrt(f(a)));
      const wr = f(1 / hr);
      for (const s of scales) {
        const ws = f(wr * f(s));
        const hs = f(hr * f(s));
        out.set(
          [-ws, -hs, ws, hs].map((v) => roundHalfEven(f(v / 2))),
          4 * k++,
        );
      }
    }
    return out;
  }

  /** Anchors per spatial location of each level. */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * this.aspectRatios[i].length);
  }

  /** Anchors of one image for every level, [Σ H_i·W_i·A_i, 4]; the same for every image of the batch. */
  forward(imageList: ImageList, featureMaps: readonly Tensor[]): Tensor[] {
    if (featureMaps.length !== this.cellAnchors.length) {
      throw new Error(
        `AnchorGenerator: ${featureMaps.length} feature maps but anchors are defined for ${this.cellAnchors.length} levels ` +
          '(give one sizes and one aspectRatios entry per feature map)',
      );
    }
    const [ih, iw] = imageList.tensors.shape.slice(-2);
    const anchors = this.cache(ih, iw, featureMaps, () => this.gridAnchors(ih, iw, featureMaps));
    return imageList.imageSizes.map(() => anchors);
  }

  /** The anchors of every level for an image batch of [ih, iw] pixels (`forward` caches them). */
  private gridAnchors(ih: number, iw: number, featureMaps: readonly Tensor[]): Tensor {
    let total = 0;
    for (let l = 0; l < featureMaps.length; l++)
      total += (featureMaps[l].shape[2] * featureMaps[l].shape[3] * this.cellAnchors[l].length) / 4;
    const out = new Float32Array(4 * total);
    let k = 0;
    featureMaps.forEach((fm, l) => {
      const [gh, gw] = [fm.shape[2], fm.shape[3]];
      const sh = Math.floor(ih / gh);
      const sw = Math.floor(iw / gw);
      const base = this.cellAnchors[l];
      for (let y = 0; y < gh; y++) {
        for (let x = 0; x < gw; x++) {
          const dx = x * sw;
          const dy = y * sh;
          for (let a = 0; a < base.length; a += 4) {
            out[k++] = dx + base[a];
            out[k++] = dy + base[a + 1];
            out[k++] = dx + base[a + 2];
            out[k++] = dy + base[a + 3];
          }
        }
      }
    });
    return tensor(out, [total, 4]);
  }

  override extraRepr(): string {
    return '';
  }
}

/** How many geometries an anchor cache keeps (a detector sees one or a few input sizes). */
const ANCHOR_CACHE_SIZE = 8;

/**
 * A bounded cache of anchor tensors by geometry, shared by the anchor generators: anchors are a pure function of
 * the padded image size and the feature-map sizes, so a detector that sees the same input size again (every call
 * of a fixed-size SSD, every same-sized image of an R-CNN) reuses them instead of rebuilding ~10⁵ boxes and
 * handing the garbage collector a megabyte per call. torchvision rebuilds them each call; the values are the same.
 * The oldest geometry is dropped first. The cached tensors are never written (nothing updates anchors in place).
 */
export function anchorCache(): (ih: number, iw: number, featureMaps: readonly Tensor[], build: () => Tensor) => Tensor {
  const byKey = new Map<string, Tensor>();
  return (ih, iw, featureMaps, build) => {
    const key = `${ih}x${iw}:${featureMaps.map((f) => `${f.shape[2]}x${f.shape[3]}`).join(',')}`;
    let t = byKey.get(key);
    if (!t) {
      t = build();
      if (byKey.size >= ANCHOR_CACHE_SIZE) byKey.delete(byKey.keys().next().value!);
      byKey.set(key, t);
    }
    return t;
  };
}
