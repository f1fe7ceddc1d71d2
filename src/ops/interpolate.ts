/** F.interpolate: nearest and bilinear resizing with PyTorch's exact source-index rules. */
import { linearBackward, record } from '../autograd/graph.js';
import { backend } from '../backend/index.js';
import type { Interpolate2dGeometry, InterpolateMode } from '../backend/types.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { floatData, requireFloat, requireRank } from './util.js';

export type { InterpolateMode } from '../backend/types.js';

export interface InterpolateOptions {
  /** Output spatial size: one int for every spatial dim, or one per dim. Exactly one of size/scaleFactor. */
  size?: number | readonly number[] | null;
  /** Multiplier of the spatial size (output = ⌊input·scale⌋); also sets the source step to 1/scale, like PyTorch. */
  scaleFactor?: number | readonly number[] | null;
  /** 'nearest' (default; 3-D or 4-D input) or 'bilinear' (4-D input). */
  mode?: InterpolateMode;
  /**
   * Bilinear only: align the centres of the corner pixels of input and output (source = dst·(in−1)/(out−1))
   * instead of their outer edges (source = (dst+0.5)·in/out − 0.5). Default false.
   */
  alignCorners?: boolean | null;
  /** Derive the source step from the computed output size instead of from scaleFactor (PyTorch's recompute_scale_factor). */
  recomputeScaleFactor?: boolean | null;
}

function perDim(op: string, name: string, v: number | readonly number[], dims: number, integer: boolean): number[] {
  const list = typeof v === 'number' ? new Array<number>(dims).fill(v) : v.slice();
  if (list.length !== dims || !list.every((s) => Number.isFinite(s) && s > 0 && (!integer || Number.isInteger(s)))) {
    throw new Error(
      `${op}: ${name} must be a positive ${integer ? 'integer' : 'number'} or a list of ${dims} of them for ${dims} spatial dim(s), got ${JSON.stringify(v)}`,
    );
  }
  return list;
}

/**
 * Resizes the spatial dims of `x` ([N, C, W] or [N, C, H, W]) to `size`, or by `scaleFactor`
 * (torch.nn.functional.interpolate for modes 'nearest' and 'bilinear').
 */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const op = 'interpolate';
  const mode = opts.mode ?? 'nearest';
  requireFloat(op, x);
  if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`${op}: mode must be 'nearest' or 'bilinear', got ${JSON.stringify(mode)}`);
  if (mode === 'bilinear') requireRank(op, x, 4, 'input', "NCHW for mode 'bilinear'");
  else requireRank(op, x, [3, 4], 'input', "NCW or NCHW for mode 'nearest'");
  const hasSize = opts.size !== undefined && opts.size !== null;
  const hasScale = opts.scaleFactor !== undefined && opts.scaleFactor !== null;
  if (hasSize && hasScale) throw new Error(`${op}: only one of size or scaleFactor should be given, got both (input ${formatShape(x.shape)})`);
  if (!hasSize && !hasScale) throw new Error(`${op}: either size or scaleFactor must be given (input ${formatShape(x.shape)})`);
  const alignCorners = opts.alignCorners ?? false;
  if (mode === 'nearest' && opts.alignCorners !== undefined && opts.alignCorners !== null) {
    throw new Error(`${op}: alignCorners can only be set with mode 'bilinear', not '${mode}'`);
  }
  const dims = x.shape.length - 2;
  const inSize = x.shape.slice(2);
  let outSize: number[];
  let scales: (number | null)[] = new Array<number | null>(dims).fill(null);
  if (hasSize) {
    outSize = perDim(op, 'size', opts.size!, dims, true);
  } else {
    const sf = perDim(op, 'scaleFactor', opts.scaleFactor!, dims, false);
    outSize = inSize.map((s, d) => Math.floor(s * sf[d]));
    if (!opts.recomputeScaleFactor) scales = sf;
  }
  if (outSize.some((s) => s < 1)) {
    throw new Error(`${op}: output size ${formatShape(outSize)} is empty (input ${formatShape(x.shape)}, scaleFactor ${JSON.stringify(opts.scaleFactor)})`);
  }
  const g: Interpolate2dGeometry = dims === 2
    ? { planes: x.shape[0] * x.shape[1], h: inSize[0], w: inSize[1], oh: outSize[0], ow: outSize[1], scaleH: scales[0], scaleW: scales[1], alignCorners }
    : { planes: x.shape[0] * x.shape[1], h: 1, w: inSize[0], oh: 1, ow: outSize[0], scaleH: null, scaleW: scales[0], alignCorners };
  const out = Tensor.empty([x.shape[0], x.shape[1], ...outSize], x.dtype);
  backend().interpolate2d(mode, floatData(x), floatData(out), g);
  const backwardRaw = (t: Tensor) => {
    const gx = Tensor.empty(x.shape, t.dtype);
    backend().interpolate2dBackward(mode, floatData(t), floatData(gx), g);
    return gx;
  };
  const forwardRaw = (t: Tensor) => {
    const o = Tensor.empty(out.shape, t.dtype);
    backend().interpolate2d(mode, floatData(t), floatData(o), g);
    return o;
  };
  return record(op, out, [x], () => (gy) => [linearBackward(op, gy, backwardRaw, forwardRaw)]);
}
