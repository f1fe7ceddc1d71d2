/**
 * F.interpolate: nearest, linear, bilinear and trilinear resizing with PyTorch's exact source-index rules. The
 * backend resamples planes along two axes; 1-D runs as a plane of height 1, and 3-D as two separable passes —
 * (H, W) on every depth slice, then (D, H·W) with the H·W axis kept as is — since nearest and trilinear weights
 * are products of per-axis weights (PyTorch's upsample_trilinear3d computes the same per-axis source indices and
 * lambdas).
 */
import { linearBackward, record } from '../autograd/graph.js';
import { backend } from '../backend/index.js';
import type { Interpolate2dGeometry } from '../backend/types.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { floatData, requireFloat, requireRank } from './util.js';

/**
 * 'nearest' (3-, 4- or 5-D input), 'linear' (3-D [N, C, L]), 'bilinear' (4-D) or 'trilinear' (5-D [N, C, D, H, W]).
 */
export type InterpolateMode = 'nearest' | 'linear' | 'bilinear' | 'trilinear';

/** The rank each linear mode takes. */
const LINEAR_RANK: Record<string, number> = { linear: 3, bilinear: 4, trilinear: 5 };

export interface InterpolateOptions {
  /** Output spatial size: one int for every spatial dim, or one per dim. Exactly one of size/scaleFactor. */
  size?: number | readonly number[] | null;
  /** Multiplier of the spatial size (output = ⌊input·scale⌋); also sets the source step to 1/scale, like PyTorch. */
  scaleFactor?: number | readonly number[] | null;
  /** 'nearest' (default; 3-, 4- or 5-D input), 'linear' (3-D), 'bilinear' (4-D) or 'trilinear' (5-D). */
  mode?: InterpolateMode;
  /**
   * Linear modes only: align the centres of the corner pixels of input and output (source = dst·(in−1)/(out−1))
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
 * Resizes the spatial dims of `x` ([N, C, L], [N, C, H, W] or [N, C, D, H, W]) to `size`, or by `scaleFactor`
 * (torch.nn.functional.interpolate for modes 'nearest', 'linear', 'bilinear' and 'trilinear').
 */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const op = 'interpolate';
  const mode = opts.mode ?? 'nearest';
  requireFloat(op, x);
  if (mode === 'nearest') requireRank(op, x, [3, 4, 5], 'input', "NCL, NCHW or NCDHW for mode 'nearest'");
  else if (mode in LINEAR_RANK) {
    const names: Record<string, string> = { linear: 'NCL', bilinear: 'NCHW', trilinear: 'NCDHW' };
    requireRank(op, x, LINEAR_RANK[mode], 'input', `${names[mode]} for mode '${mode}'`);
  } else
    throw new Error(`${op}: mode must be 'nearest', 'linear', 'bilinear' or 'trilinear', got ${JSON.stringify(mode)}`);
  const hasSize = opts.size !== undefined && opts.size !== null;
  const hasScale = opts.scaleFactor !== undefined && opts.scaleFactor !== null;
  if (hasSize && hasScale)
    throw new Error(`${op}: only one of size or scaleFactor should be given, got both (input ${formatShape(x.shape)})`);
  if (!hasSize && !hasScale)
    throw new Error(`${op}: either size or scaleFactor must be given (input ${formatShape(x.shape)})`);
  const alignCorners = opts.alignCorners ?? false;
  if (mode === 'nearest' && opts.alignCorners !== undefined && opts.alignCorners !== null) {
    throw new Error(`${op}: alignCorners can only be set with the linear modes, not '${mode}'`);
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
    throw new Error(
      `${op}: output size ${formatShape(outSize)} is empty (input ${formatShape(x.shape)}, scaleFactor ${JSON.stringify(opts.scaleFactor)})`,
    );
  }
  const kernelMode = mode === 'nearest' ? 'nearest' : 'bilinear';
  const [n, c] = x.shape;
  if (dims === 3) {
    // (H, W) on each of the N·C·D slices, then (D, H·W) on each of the N·C volumes with H·W untouched
    const [d, h, w] = inSize;
    const [od, oh, ow] = outSize;
    const hw = resample(op, kernelMode, x, [n, c, d, oh, ow], {
      planes: n * c * d,
      h,
      w,
      oh,
      ow,
      scaleH: scales[1],
      scaleW: scales[2],
      alignCorners,
    });
    return resample(op, kernelMode, hw, [n, c, od, oh, ow], {
      planes: n * c,
      h: d,
      w: oh * ow,
      oh: od,
      ow: oh * ow,
      scaleH: scales[0],
      scaleW: null,
      alignCorners,
    });
  }
  const g: Interpolate2dGeometry =
    dims === 2
      ? {
          planes: n * c,
          h: inSize[0],
          w: inSize[1],
          oh: outSize[0],
          ow: outSize[1],
          scaleH: scales[0],
          scaleW: scales[1],
          alignCorners,
        }
      : { planes: n * c, h: 1, w: inSize[0], oh: 1, ow: outSize[0], scaleH: null, scaleW: scales[0], alignCorners };
  return resample(op, kernelMode, x, [n, c, ...outSize], g);
}

/** One backend resampling pass of the planes of `x` into a tensor of `outShape`, with its backward. */
function resample(
  op: string,
  mode: 'nearest' | 'bilinear',
  x: Tensor,
  outShape: number[],
  g: Interpolate2dGeometry,
): Tensor {
  // the forward kernels write every output element (test/unfilled-probe.ts); the backward accumulates into gx
  const out = Tensor.unfilled(outShape, x.dtype);
  backend().interpolate2d(mode, floatData(x), floatData(out), g);
  const backwardRaw = (t: Tensor) => {
    const gx = Tensor.empty(x.shape, t.dtype);
    backend().interpolate2dBackward(mode, floatData(t), floatData(gx), g);
    return gx;
  };
  const forwardRaw = (t: Tensor) => {
    const o = Tensor.unfilled(out.shape, t.dtype);
    backend().interpolate2d(mode, floatData(t), floatData(o), g);
    return o;
  };
  return record(op, out, [x], () => (gy) => [linearBackward(op, gy, backwardRaw, forwardRaw)]);
}
