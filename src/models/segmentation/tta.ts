/**
 * Test-time augmentation for dense prediction: the model sees mirrored (and, for square 2-D inputs, transposed)
 * copies of the input, each prediction is mapped back to the input's frame, and the softmax probabilities are
 * averaged — what nnU-Net (Isensee et al., Nature Methods 2021) does over every spatial axis and what the `ttach`
 * library calls the d4 transforms. It only makes sense where the labels are equivariant to those transforms (scenes
 * of shapes at random orientations, CT volumes, aerial images); a street scene's sky is not mirrored vertically.
 */
import { Module } from '../../nn/module.js';
import { add, log, mul } from '../../ops/elementwise.js';
import { flip } from '../../ops/shape.js';
import { softmax } from '../../ops/softmax.js';
import { formatShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { SegmentationOutput } from './utils.js';

/**
 * Which copies the model sees: `hflip` (identity and the last axis mirrored: 2 views), `flips` (every subset of
 * the spatial axes mirrored: 4 views in 2-D, 8 in 3-D), `d4` (the 8 symmetries of the square: `flips` × the
 * transpose of height and width; 2-D square inputs only).
 */
export type TtaMode = 'hflip' | 'flips' | 'd4';

/** One view: the spatial axes (tensor dims) it mirrors, and whether it swaps the last two axes. */
interface View {
  axes: number[];
  transpose: boolean;
}

/** The views of `mode` for an input of `rank` dims ([N, C, ...spatial]). */
function views(mode: TtaMode, rank: number): View[] {
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  if (mode === 'hflip')
    return [
      { axes: [], transpose: false },
      { axes: [rank - 1], transpose: false },
    ];
  const mirrored: View[] = [];
  for (let m = 0; m < 1 << spatial.length; m++)
    mirrored.push({ axes: spatial.filter((_, i) => m & (1 << i)), transpose: false });
  return mode === 'flips' ? mirrored : [...mirrored, ...mirrored.map((v) => ({ ...v, transpose: true }))];
}

/** Options of `SegmentationTTA`. */
export interface SegmentationTTAOptions {
  /** The transforms (default `flips`). */
  mode?: TtaMode;
}

/**
 * Wraps a segmentation model (a `{ out }` dict as torchvision's, or a plain logits tensor as `unet3d`) so that
 * `forward` averages its softmax over the views of `mode` and returns `{ out }` with `out` the **log** of the
 * averaged probabilities, [N, K, ...spatial]: its argmax is the ensemble's prediction, and since the
 * probabilities sum to one, `crossEntropy` of it is the ensemble's negative log-likelihood — so `evaluate`, the
 * segmentation metrics and `tatami predict` take the wrapped model as they take the model.
 *
 * ```ts
 * model.eval();
 * const r = await evaluate(new tt.models.segmentation.SegmentationTTA(model, { mode: 'd4' }), valLoader, { metrics });
 * ```
 */
export class SegmentationTTA extends Module<[Tensor], SegmentationOutput> {
  declare model: Module<[Tensor], SegmentationOutput | Tensor>;
  readonly mode: TtaMode;

  constructor(model: Module<[Tensor], SegmentationOutput | Tensor>, opts: SegmentationTTAOptions = {}) {
    super();
    const mode = opts.mode ?? 'flips';
    if (!['hflip', 'flips', 'd4'].includes(mode))
      throw new Error(`SegmentationTTA: mode must be 'hflip', 'flips' or 'd4', got '${String(mode)}'`);
    this.mode = mode;
    this.model = model;
  }

  forward(x: Tensor): SegmentationOutput {
    const rank = x.shape.length;
    if (rank < 3) throw new Error(`SegmentationTTA: expected a batch [N, C, ...spatial], got ${formatShape(x.shape)}`);
    if (this.mode === 'd4' && (rank !== 4 || x.shape[2] !== x.shape[3]))
      throw new Error(
        `SegmentationTTA: mode 'd4' transposes height and width, so it needs square 2-D images [N, C, S, S], got ${formatShape(x.shape)}`,
      );
    const all = views(this.mode, rank);
    let sum: Tensor | null = null;
    for (const { axes, transpose } of all) {
      // Into the view's frame: mirror, then transpose; back: transpose, then mirror (each is its own inverse).
      let xi = axes.length ? flip(x, axes) : x;
      if (transpose) xi = xi.transpose(rank - 2, rank - 1);
      const o = this.model.forward(xi);
      let p = softmax(o instanceof Tensor ? o : o.out, 1);
      if (transpose) p = p.transpose(rank - 2, rank - 1);
      if (axes.length) p = flip(p, axes);
      sum = sum ? add(sum, p) : p;
    }
    return { out: log(mul(sum!, 1 / all.length)) };
  }
}
