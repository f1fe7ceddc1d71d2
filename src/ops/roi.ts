/**
 * Region-of-interest pooling (torchvision.ops.roi_align / roi_pool): fixed-size features for boxes of any size,
 * forward and backward. RoIAlign runs on the backend's kernels (native, wasm and the reference body in
 * src/backend/reference/roi.ts); RoIPool on typed arrays here.
 *
 * RoIAlign is Mask R-CNN's (He et al., ICCV 2017): each output bin averages bilinear samples on a regular grid,
 * with no rounding of the box. RoIPool is Fast R-CNN's (Girshick, ICCV 2015): the box is rounded to the feature
 * grid and each bin takes the maximum. Both follow torchvision's CPU kernels case by case — the sample clipping at
 * −1 and H/W, `aligned` (half-pixel offset, Detectron2), the adaptive sampling grid ceil(roi / bins), std::round
 * (half away from zero) in RoIPool — and round the box geometry in float32 for float32 input as those kernels do,
 * so samples at the borders fall on the same side.
 */
import { record } from '../autograd/graph.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { RoiAlignGeometry } from '../backend/kernels.gen.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { isFloating, type FloatArray } from '../tensor/dtype.js';
import { floatData, pair } from './util.js';

/** RoIs: [K, 5] rows (batch index, x1, y1, x2, y2), or one [L, 4] xyxy tensor per image. */
export type Rois = Tensor | readonly Tensor[];

/** Options of roiAlign. */
export interface RoiAlignOptions {
  /** Input pixels per box unit: 1/stride of the feature map (default 1). */
  spatialScale?: number;
  /** Samples per bin along each axis; ≤ 0 means ceil(roi size / output size), adaptive (default -1). */
  samplingRatio?: number;
  /** Shift the box by −0.5 pixel so samples sit on pixel centres (Detectron2's fix); default false, as torchvision. */
  aligned?: boolean;
  /**
   * Where to write the result (PyTorch's `out=`): a contiguous [K, C, outH, outW] tensor of the input's dtype, e.g.
   * rows of a larger buffer taken with `narrow`. Inference only: with grad mode on and an input that requires grad
   * it is refused, as PyTorch refuses `out=` for functions that would need a gradient.
   */
  out?: Tensor;
}

/** Options of roiPool. */
export interface RoiPoolOptions {
  /** Input pixels per box unit (default 1). */
  spatialScale?: number;
}

/** [K, 5] float data of the rois in the input's dtype, from either form (torchvision's convert_boxes_to_roi_format). */
function roiRows(op: string, rois: Rois, batch: number): Float64Array {
  let out: Float64Array;
  if (rois instanceof Tensor) {
    if (rois.shape.length !== 2 || rois.shape[1] !== 5) {
      throw new Error(
        `${op}: rois must be a [K, 5] tensor (batch index, x1, y1, x2, y2) or a list of [L, 4] box tensors, got ${formatShape(rois.shape)}`,
      );
    }
    out = Float64Array.from(rois.dataView());
  } else {
    let k = 0;
    for (const b of rois) {
      if (!(b instanceof Tensor) || b.shape.length !== 2 || b.shape[1] !== 4) {
        throw new Error(
          `${op}: each per-image box tensor must have shape [L, 4], got ${b instanceof Tensor ? formatShape(b.shape) : typeof b}`,
        );
      }
      k += b.shape[0];
    }
    out = new Float64Array(5 * k);
    let r = 0;
    rois.forEach((b, i) => {
      const d = b.dataView();
      for (let j = 0; j < b.shape[0]; j++, r++) {
        out[5 * r] = i;
        for (let c = 0; c < 4; c++) out[5 * r + 1 + c] = d[4 * j + c];
      }
    });
  }
  for (let r = 0; r < out.length / 5; r++) {
    const b = out[5 * r];
    if (!Number.isInteger(b) || b < 0 || b >= batch)
      throw new Error(`${op}: roi ${r} has batch index ${b}, expected an integer in [0, ${batch})`);
  }
  return out;
}

function checkInput(op: string, input: Tensor): void {
  if (input.shape.length !== 4) throw new Error(`${op}: input must be [N, C, H, W], got ${formatShape(input.shape)}`);
  if (!isFloating(input.dtype)) throw new Error(`${op}: input must be a floating-point tensor, got ${input.dtype}`);
}

/**
 * RoIAlign (torchvision.ops.roi_align): [K, C, outH, outW] features of each roi, each bin the mean of
 * samplingRatio² bilinear samples. `rois` is [K, 5] (batch index, x1, y1, x2, y2) in input-image coordinates
 * (scaled by `spatialScale`) or a list of [L, 4] boxes per image. Differentiable with respect to `input`. Runs on
 * the backend's `roiAlign` / `roiAlignBackward` kernels (native/kernels.table.mjs; reference body in
 * src/backend/reference/roi.ts).
 */
export function roiAlign(
  input: Tensor,
  rois: Rois,
  outputSize: number | readonly [number, number],
  opts: RoiAlignOptions = {},
): Tensor {
  checkInput('roiAlign', input);
  const [outH, outW] = pair('roiAlign', 'outputSize', outputSize, 1);
  const spatialScale = opts.spatialScale ?? 1;
  const samplingRatio = opts.samplingRatio ?? -1;
  const aligned = opts.aligned ?? false;
  if (!Number.isInteger(samplingRatio) || Math.abs(samplingRatio) > 2 ** 31 - 1)
    throw new Error(`roiAlign: samplingRatio must be an integer, got ${samplingRatio}`);
  if (!Number.isFinite(spatialScale)) throw new Error(`roiAlign: spatialScale must be finite, got ${spatialScale}`);
  const [n, c, h, w] = input.shape;
  const rows = roiRows('roiAlign', rois, n);
  // the rois in the input's dtype, as torchvision requires: float32 boxes make float32 sample positions
  const boxes = asDtype(rows, input.dtype);
  for (let r = 0; r < rows.length / 5; r++) {
    for (let j = 1; j < 5; j++)
      if (!Number.isFinite(boxes[5 * r + j]))
        throw new Error(`roiAlign: roi ${r} has a non-finite coordinate ${boxes[5 * r + j]}`);
  }
  const g: RoiAlignGeometry = { n, c, h, w, rois: rows.length / 5, outH, outW, samplingRatio };
  const out = opts.out ?? Tensor.empty([g.rois, c, outH, outW], input.dtype);
  if (opts.out) {
    const want = [g.rois, c, outH, outW];
    if (out.shape.join() !== want.join() || out.dtype !== input.dtype || !out.isContiguous())
      throw new Error(
        `roiAlign: out must be a contiguous ${input.dtype} tensor of shape ${formatShape(want)}, got a${out.isContiguous() ? '' : ' non-contiguous'} ${out.dtype} tensor of shape ${formatShape(out.shape)}`,
      );
    if (input.requiresGrad && isGradEnabled())
      throw new Error('roiAlign: out= cannot be used where a gradient is needed (input requires grad, grad mode on)');
  }
  backend().roiAlign(floatData(input), boxes, out.dataView() as FloatArray, g, spatialScale, aligned);
  if (opts.out) return out;
  return record('roiAlign', out, [input], () => (gy) => {
    const gx = Tensor.empty(input.shape, input.dtype);
    const dy = gy.dtype === input.dtype ? floatData(gy) : asDtype(gy.dataView(), input.dtype);
    backend().roiAlignBackward(dy, boxes, gx.storage as FloatArray, g, spatialScale, aligned);
    return [gx];
  });
}

function asDtype(a: ArrayLike<number>, dtype: string): FloatArray {
  return dtype === 'float32' ? Float32Array.from(a) : Float64Array.from(a);
}

/** C's std::round: halves away from zero (Math.round rounds −2.5 to −2). */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/**
 * RoIPool (torchvision.ops.roi_pool): [K, C, outH, outW], each bin the maximum over its cells of the box rounded
 * to the feature grid (0 for an empty bin). Same `rois` forms as roiAlign. The gradient goes to each bin's argmax.
 */
export function roiPool(
  input: Tensor,
  rois: Rois,
  outputSize: number | readonly [number, number],
  opts: RoiPoolOptions = {},
): Tensor {
  checkInput('roiPool', input);
  const [ph, pw] = pair('roiPool', 'outputSize', outputSize, 1);
  const [n, c, h, w] = input.shape;
  const rows = roiRows('roiPool', rois, n);
  const k = rows.length / 5;
  const r = input.dtype === 'float32' ? Math.fround : (x: number) => x;
  const scale = r(opts.spatialScale ?? 1);
  const x = input.dataView();
  const out = Tensor.empty([k, c, ph, pw], input.dtype);
  const argmax = new Int32Array(k * c * ph * pw).fill(-1);
  const plane = h * w;
  for (let i = 0; i < k; i++) {
    const batch = rows[5 * i];
    const sw = roundHalfAway(r(rows[5 * i + 1] * scale));
    const sh = roundHalfAway(r(rows[5 * i + 2] * scale));
    const ew = roundHalfAway(r(rows[5 * i + 3] * scale));
    const eh = roundHalfAway(r(rows[5 * i + 4] * scale));
    const rw = Math.max(ew - sw + 1, 1);
    const rh = Math.max(eh - sh + 1, 1);
    const binH = r(rh / ph);
    const binW = r(rw / pw);
    for (let py = 0; py < ph; py++) {
      const hs = Math.min(Math.max(Math.floor(r(py * binH)) + sh, 0), h);
      const he = Math.min(Math.max(Math.ceil(r((py + 1) * binH)) + sh, 0), h);
      for (let px = 0; px < pw; px++) {
        const ws = Math.min(Math.max(Math.floor(r(px * binW)) + sw, 0), w);
        const we = Math.min(Math.max(Math.ceil(r((px + 1) * binW)) + sw, 0), w);
        const empty = he <= hs || we <= ws;
        for (let ch = 0; ch < c; ch++) {
          const base = (batch * c + ch) * plane;
          let best = empty ? 0 : -Infinity;
          let at = -1;
          for (let yy = hs; yy < he; yy++) {
            for (let xx = ws; xx < we; xx++) {
              const v = x[base + yy * w + xx];
              if (v > best) {
                best = v;
                at = yy * w + xx;
              }
            }
          }
          // torchvision starts from −FLT_MAX: a bin of all −inf (or NaN) keeps −FLT_MAX and no argmax.
          const o = ((i * c + ch) * ph + py) * pw + px;
          out.storage[o] = best === -Infinity ? -3.4028234663852886e38 : best;
          argmax[o] = at;
        }
      }
    }
  }
  return record('roiPool', out, [input], () => (g) => {
    const gy = g.dataView();
    const gx = Tensor.empty(input.shape, g.dtype);
    for (let i = 0; i < k; i++) {
      const batch = rows[5 * i];
      for (let ch = 0; ch < c; ch++) {
        const base = (batch * c + ch) * plane;
        for (let j = 0; j < ph * pw; j++) {
          const o = (i * c + ch) * ph * pw + j;
          if (argmax[o] >= 0) gx.storage[base + argmax[o]] += gy[o];
        }
      }
    }
    return [gx];
  });
}
