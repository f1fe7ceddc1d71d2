/**
 * RoI pooling layers of torchvision.ops: RoIAlign, RoIPool and MultiScaleRoIAlign (the FPN pooler of Faster and
 * Mask R-CNN, which sends each box to the pyramid level that suits its size).
 */
import { roiAlign, roiPool, type Rois } from '../ops/roi.js';
import { boxArea } from '../ops/boxes.js';
import { cat, indexSelect } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { pyInts } from './repr.js';

/** An output size: one number for a square, or [height, width]. */
export type RoiOutputSize = number | readonly [number, number];

/** torchvision.ops.RoIAlign as a layer. */
export class RoIAlign extends Module<[Tensor, Rois], Tensor> {
  constructor(
    readonly outputSize: RoiOutputSize,
    readonly spatialScale: number,
    readonly samplingRatio: number,
    readonly aligned = false,
  ) {
    super();
  }

  forward(input: Tensor, rois: Rois): Tensor {
    return roiAlign(input, rois, this.outputSize, {
      spatialScale: this.spatialScale,
      samplingRatio: this.samplingRatio,
      aligned: this.aligned,
    });
  }

  override extraRepr(): string {
    return `output_size=${pyInts(this.outputSize)}, spatial_scale=${this.spatialScale}, sampling_ratio=${this.samplingRatio}, aligned=${this.aligned ? 'True' : 'False'}`;
  }
}

/** torchvision.ops.RoIPool as a layer. */
export class RoIPool extends Module<[Tensor, Rois], Tensor> {
  constructor(
    readonly outputSize: RoiOutputSize,
    readonly spatialScale: number,
  ) {
    super();
  }

  forward(input: Tensor, rois: Rois): Tensor {
    return roiPool(input, rois, this.outputSize, { spatialScale: this.spatialScale });
  }

  override extraRepr(): string {
    return `output_size=${pyInts(this.outputSize)}, spatial_scale=${this.spatialScale}`;
  }
}

/** PyTorch's torch.round on float32: halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Options of MultiScaleRoIAlign. */
export interface MultiScaleRoIAlignOptions {
  /** Box size that maps to `canonicalLevel` (default 224, the ImageNet crop). */
  canonicalScale?: number;
  /** Pyramid level k0 of a canonicalScale-sized box (default 4, as FPN's paper). */
  canonicalLevel?: number;
}

/**
 * Multi-level RoIAlign (torchvision.ops.MultiScaleRoIAlign): box b of area wh goes to pyramid level
 * k = ⌊k0 + log2(√(wh) / 224) + 1e-6⌋ clamped to the levels present (Lin et al., FPN, eq. 1), and is pooled there
 * with RoIAlign (aligned=false). Feature maps are picked by name from a record; the level of each map (its stride)
 * is inferred from its size relative to the largest image, rounded to a power of two. Like torchvision, the scales
 * are worked out on the first call and kept.
 */
export class MultiScaleRoIAlign extends Module<
  [Record<string, Tensor>, readonly Tensor[], readonly (readonly [number, number])[]],
  Tensor
> {
  readonly featmapNames: string[];
  readonly outputSize: RoiOutputSize;
  readonly samplingRatio: number;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;
  /** Spatial scale of each named map (1/stride), set by the first forward. */
  scales: number[] | null = null;
  private levels: [number, number] | null = null;

  constructor(
    featmapNames: readonly string[],
    outputSize: RoiOutputSize,
    samplingRatio: number,
    opts: MultiScaleRoIAlignOptions = {},
  ) {
    super();
    if (featmapNames.length === 0)
      throw new Error('MultiScaleRoIAlign: featmapNames must name at least one feature map');
    this.featmapNames = featmapNames.slice();
    this.outputSize = outputSize;
    this.samplingRatio = samplingRatio;
    this.canonicalScale = opts.canonicalScale ?? 224;
    this.canonicalLevel = opts.canonicalLevel ?? 4;
  }

  /** torchvision's _infer_scale: 2^round(log2(feature size / image size)), from the height. */
  private static inferScale(feature: Tensor, original: readonly [number, number]): number {
    const approx = Math.fround(feature.shape[2] / original[0]);
    return 2 ** roundHalfEven(Math.fround(Math.log2(approx)));
  }

  /** Pyramid level (0-based among the maps) of every box, FPN's equation 1 evaluated in float32 as torchvision. */
  private mapLevels(boxes: readonly Tensor[]): Int32Array {
    const [kMin, kMax] = this.levels!;
    const areas = boxes.map((b) => boxArea(b).dataView());
    const n = areas.reduce((s, a) => s + a.length, 0);
    const out = new Int32Array(n);
    const f = Math.fround;
    let i = 0;
    for (const a of areas) {
      for (let j = 0; j < a.length; j++, i++) {
        const s = f(Math.sqrt(a[j]));
        const lvl = Math.floor(f(f(this.canonicalLevel + f(Math.log2(f(s / this.canonicalScale)))) + f(1e-6)));
        // NaN (an inverted box's negative area) clamps to the lowest level, as torch.clamp then .to(int64) do on CPU.
        out[i] = (Number.isNaN(lvl) ? kMin : Math.min(Math.max(lvl, kMin), kMax)) - kMin;
      }
    }
    return out;
  }

  /** The maps of `x` that are pooled, checked; the levels' scales are worked out on the first call. */
  private prepare(x: Record<string, Tensor>, imageShapes: readonly (readonly [number, number])[]): Tensor[] {
    // torchvision's _filter_input: the maps of `x` whose names are listed, in x's order (a mobile FPN has only
    // '0', '1' and 'pool' of the default ['0', '1', '2', '3']).
    const names = Object.keys(x).filter((k) => this.featmapNames.includes(k));
    if (names.length === 0)
      throw new Error(
        `MultiScaleRoIAlign: no feature map named ${this.featmapNames.map((n) => JSON.stringify(n)).join(', ')} (got ${Object.keys(x).join(', ')})`,
      );
    const feats = names.map((name) => {
      const t = x[name];
      if (t.shape.length !== 4)
        throw new Error(`MultiScaleRoIAlign: feature map ${name} must be [N, C, H, W], got ${formatShape(t.shape)}`);
      return t;
    });
    if (this.scales === null) {
      if (imageShapes.length === 0)
        throw new Error('MultiScaleRoIAlign: imageShapes must list at least one image size');
      const original: [number, number] = [
        Math.max(...imageShapes.map((s) => s[0])),
        Math.max(...imageShapes.map((s) => s[1])),
      ];
      this.scales = feats.map((f) => MultiScaleRoIAlign.inferScale(f, original));
      this.levels = [
        Math.trunc(-Math.log2(this.scales[0])),
        Math.trunc(-Math.log2(this.scales[this.scales.length - 1])),
      ];
    }
    return feats;
  }

  forward(
    x: Record<string, Tensor>,
    boxes: readonly Tensor[],
    imageShapes: readonly (readonly [number, number])[],
  ): Tensor {
    const feats = this.prepare(x, imageShapes);
    const opts = { samplingRatio: this.samplingRatio, aligned: false };
    if (feats.length === 1)
      return roiAlign(feats[0], boxes, this.outputSize, { ...opts, spatialScale: this.scales![0] });
    const levels = this.mapLevels(boxes);
    if (this.poolsWithoutGrad(feats)) return this.poolNoGrad(feats, boxes, levels, opts.samplingRatio) as Tensor;
    const flat: { img: number; data: ArrayLike<number>; j: number }[] = [];
    boxes.forEach((b, img) => {
      const d = b.dataView();
      for (let j = 0; j < b.shape[0]; j++) flat.push({ img, data: d, j });
    });
    const order: number[] = [];
    const parts: Tensor[] = [];
    feats.forEach((f, lvl) => {
      const idx: number[] = [];
      levels.forEach((l, i) => {
        if (l === lvl) idx.push(i);
      });
      // Empty levels still run (on no rois) so that every map gets a (zero) gradient, as in torchvision.
      const r = new Float64Array(5 * idx.length);
      idx.forEach((i, k) => {
        const { img, data, j } = flat[i];
        r[5 * k] = img;
        for (let c = 0; c < 4; c++) r[5 * k + 1 + c] = data[4 * j + c];
      });
      order.push(...idx);
      parts.push(
        roiAlign(f, tensor(r, [idx.length, 5], { dtype: f.dtype }), this.outputSize, {
          ...opts,
          spatialScale: this.scales![lvl],
        }),
      );
    });
    // Put the per-level results back in box order.
    const inverse = new Int32Array(order.length);
    order.forEach((boxIndex, pos) => {
      inverse[boxIndex] = pos;
    });
    return indexSelect(cat(parts, 0), 0, tensor(inverse, [inverse.length], { dtype: 'int32' }));
  }

  /**
   * Inference form for consumers that work row by row (a box head): the pooled features with the boxes grouped by
   * pyramid level — level 0's boxes first, each level's in box order — and `order[k]`, the box (in `boxes` order,
   * images concatenated) of row k. Each level is pooled straight into its rows of one buffer: no per-level
   * outputs and no copy back into box order (on W7, 50 MB less to allocate and 50 MB less to copy per image).
   * null where `forward` would not take its no-grad path (one map, maps that need a gradient, mixed maps).
   */
  forwardGrouped(
    x: Record<string, Tensor>,
    boxes: readonly Tensor[],
    imageShapes: readonly (readonly [number, number])[],
  ): { pooled: Tensor; order: Int32Array } | null {
    const feats = this.prepare(x, imageShapes);
    if (!this.poolsWithoutGrad(feats)) return null;
    return this.poolNoGrad(feats, boxes, this.mapLevels(boxes), this.samplingRatio, true) as {
      pooled: Tensor;
      order: Int32Array;
    };
  }

  /** Whether the maps take the no-grad path: several maps of one dtype and channel count, no gradient needed. */
  private poolsWithoutGrad(feats: readonly Tensor[]): boolean {
    return (
      feats.length > 1 &&
      !(isGradEnabled() && feats.some((f) => f.requiresGrad)) &&
      feats.every((f) => f.dtype === feats[0].dtype && f.shape[1] === feats[0].shape[1])
    );
  }

  /**
   * The forward without autograd: each level's boxes pooled by one roiAlign call — `grouped`, straight into
   * consecutive rows of one buffer, level by level (and the rows' box order is returned); otherwise into a level
   * buffer whose [C, outH, outW] blocks are then copied once to their boxes' rows — instead of a concatenation and
   * an index-select of the whole [K, C, outH, outW] output.
   */
  private poolNoGrad(
    feats: Tensor[],
    boxes: readonly Tensor[],
    levels: Int32Array,
    samplingRatio: number,
    grouped = false,
  ): Tensor | { pooled: Tensor; order: Int32Array } {
    const [outH, outW] = typeof this.outputSize === 'number' ? [this.outputSize, this.outputSize] : this.outputSize;
    const c = feats[0].shape[1];
    const k = levels.length;
    const block = c * outH * outW;
    const dtype = feats[0].dtype;
    const out = Tensor.empty([k, c, outH, outW], dtype);
    // per level: the rows (batch index, x1, y1, x2, y2) of its boxes and their positions in box order
    const count = new Int32Array(feats.length);
    for (const l of levels) count[l]++;
    const rows = feats.map((_, l) => new Float64Array(5 * count[l]));
    const where = feats.map((_, l) => new Int32Array(count[l]));
    count.fill(0);
    let i = 0;
    boxes.forEach((b, img) => {
      const d = b.dataView();
      for (let j = 0; j < b.shape[0]; j++, i++) {
        const l = levels[i];
        const r = rows[l];
        const at = count[l]++;
        r[5 * at] = img;
        for (let q = 0; q < 4; q++) r[5 * at + 1 + q] = d[4 * j + q];
        where[l][at] = i;
      }
    });
    let first = 0;
    feats.forEach((f, l) => {
      if (count[l] === 0) return;
      const opts = { samplingRatio, aligned: false, spatialScale: this.scales![l] };
      const levelRows = tensor(rows[l], [count[l], 5], { dtype });
      if (grouped) roiAlign(f, levelRows, [outH, outW], { ...opts, out: out.narrow(0, first, count[l]) });
      else {
        const pooled = roiAlign(f, levelRows, [outH, outW], opts).storage;
        for (let r = 0; r < count[l]; r++)
          out.storage.set(pooled.subarray(r * block, (r + 1) * block), where[l][r] * block);
      }
      first += count[l];
    });
    if (!grouped) return out;
    const order = new Int32Array(k);
    let at = 0;
    for (const w of where) {
      order.set(w, at);
      at += w.length;
    }
    return { pooled: out, order };
  }

  override extraRepr(): string {
    return `featmap_names=[${this.featmapNames.map((n) => `'${n}'`).join(', ')}], output_size=${pyInts(this.outputSize)}, sampling_ratio=${this.samplingRatio}`;
  }
}
