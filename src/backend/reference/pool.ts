/**
 * Reference pooling over planes of n·c inputs of any number of spatial dims, with PyTorch's window arithmetic
 * (aten DilatedMaxPool2d/3d, AvgPool2d/3d, AdaptiveAveragePooling2d/3d, AdaptiveMaxPooling2d/3d).
 *
 * Every window PyTorch pools over is a product of per-dim index lists: the in-range taps of a dilated max window,
 * the clipped range of an average window, the range of an adaptive window. So one body per reduction — max with
 * index, average, its adjoint — serves 1-D (as 2-D with a unit height), 2-D and 3-D, fixed and adaptive windows;
 * the per-dim lists (`Windows`) are where the variants differ. Max-pool indices are flat positions within a plane,
 * so the scatter kernels (maxPool2dBackward, maxUnpool2d) serve every rank as they are.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AdaptivePool2dGeometry, AdaptivePool3dGeometry, Pool2dGeometry, Pool3dGeometry } from '../types.js';

/**
 * The windows of one spatial dim. Each is an arithmetic progression of input indices: output position o covers
 * start[o], start[o] + step, … (count[o] of them), and contributes the factor size[o] to an average's divisor.
 */
interface Windows {
  start: Int32Array;
  count: Int32Array;
  step: number;
  size: Float64Array;
}

function windows(out: number, step: number, at: (o: number) => [start: number, count: number, size: number]): Windows {
  const w = { start: new Int32Array(out), count: new Int32Array(out), step, size: new Float64Array(out) };
  for (let o = 0; o < out; o++) [w.start[o], w.count[o], w.size[o]] = at(o);
  return w;
}

/** Max pooling's taps o·stride − pad + t·dilation (t < k) that fall inside the input; padding is −∞, never chosen. */
function dilatedTaps(inSize: number, out: number, k: number, stride: number, pad: number, dilation: number): Windows {
  return windows(out, dilation, (o) => {
    const first = o * stride - pad;
    const t0 = first >= 0 ? 0 : Math.ceil(-first / dilation);
    const t1 = Math.min(k - 1, Math.floor((inSize - 1 - first) / dilation)); // last in-range tap
    return [first + t0 * dilation, Math.max(t1 - t0 + 1, 0), 1];
  });
}

/**
 * Average pooling's window [o·stride − pad, + k) clipped to the input; the divisor counts the window up to the
 * end of the padding with countIncludePad, else only its in-range part (PyTorch's avg_pool2d/3d).
 */
function avgRange(
  inSize: number,
  out: number,
  k: number,
  stride: number,
  pad: number,
  countIncludePad: boolean,
): Windows {
  return windows(out, 1, (o) => {
    const lo = o * stride - pad;
    const hi = Math.min(lo + k, inSize + pad);
    const count = Math.max(Math.min(hi, inSize) - Math.max(lo, 0), 0);
    return [Math.max(lo, 0), count, countIncludePad ? hi - lo : count];
  });
}

/** PyTorch's adaptive window of output cell o: [⌊o·in/out⌋, ⌈(o+1)·in/out⌉), in integers. */
function adaptiveRange(inSize: number, out: number): Windows {
  return windows(out, 1, (o) => {
    const lo = Math.floor((o * inSize) / out);
    const hi = Math.floor(((o + 1) * inSize + out - 1) / out);
    return [lo, hi - lo, hi - lo];
  });
}

/**
 * Visits every output line (output positions along the last dim) of `planes` planes of `inSize` → per-dim
 * windows `w`, in output order. `visit(xBase, o, lines, nLines, factor)` gets the plane's offset, the index of the
 * line's first output cell, the in-plane offsets of the input lines its windows cover over the leading dims
 * (row-major) and the product of their divisor factors; the body then walks the last dim's windows along the line.
 * The leading dims are the same for the whole line, so their product is worked out once per line.
 */
function forEachLine(
  planes: number,
  inSize: readonly number[],
  w: readonly Windows[],
  visit: (xBase: number, o: number, lines: Int32Array, nLines: number, factor: number) => void,
): void {
  const dims = inSize.length;
  const inVol = inSize.reduce((a, b) => a * b, 1);
  const outSize = w.map((d) => d.size.length);
  const outer = outSize.slice(0, -1).reduce((a, b) => a * b, 1);
  // The widest window per leading dim, by a loop: spreading `count` into Math.max overflows the call stack once an
  // (empty) input has a dim of ~10⁵ (the fuzz suite's [0, 131072, 1]).
  const widest = (c: ArrayLike<number>): number => {
    let m = 1;
    for (let i = 0; i < c.length; i++) if (c[i] > m) m = c[i];
    return m;
  };
  const lines = new Int32Array(w.slice(0, -1).reduce((a, d) => a * widest(d.count), 1));
  const cell = new Int32Array(dims); // output position over the leading dims
  let o = 0;
  for (let p = 0; p < planes; p++) {
    cell.fill(0);
    for (let r = 0; r < outer; r++, o += outSize[dims - 1]) {
      // the lines: the product of the leading dims' windows, expanded dim by dim in row-major order
      let nLines = 1;
      let factor = 1;
      lines[0] = 0;
      let stride = inVol;
      for (let d = 0; d < dims - 1; d++) {
        stride /= inSize[d];
        const { start, count, step, size } = w[d];
        const len = count[cell[d]];
        for (let l = nLines - 1; l >= 0; l--) {
          const base = lines[l] + start[cell[d]] * stride; // read before slots l·len.. (all ≥ l) are written
          for (let t = len - 1; t >= 0; t--) lines[l * len + t] = base + t * step * stride;
        }
        nLines *= len;
        factor *= size[cell[d]];
      }
      visit(p * inVol, o, lines, nLines, factor);
      for (let d = dims - 2; d >= 0 && ++cell[d] === outSize[d]; d--) cell[d] = 0; // next output line
    }
  }
}

/** Max over each window; `indices` gets the flat in-plane position of the first maximum, NaN winning as in PyTorch. */
function maxPoolNd(
  x: FloatArray,
  out: FloatArray,
  indices: Int32Array | null,
  planes: number,
  inSize: readonly number[],
  w: Windows[],
): void {
  const { start, count, step } = w[w.length - 1];
  forEachLine(planes, inSize, w, (xBase, o0, lines, nLines) => {
    for (let xo = 0, o = o0; xo < start.length; xo++, o++) {
      let best = -Infinity;
      let bestIdx = -1;
      const taps = count[xo];
      search: for (let l = 0; l < nLines; l++) {
        for (let j = 0, at = lines[l] + start[xo]; j < taps; j++, at += step) {
          const v = x[xBase + at];
          // the first tap is taken even at −∞ (an all −∞ window reports its first index); the first NaN ends it
          if (v > best || Number.isNaN(v) || bestIdx < 0) {
            best = v;
            bestIdx = at;
            if (Number.isNaN(v)) break search;
          }
        }
      }
      out[o] = best;
      if (indices) indices[o] = bestIdx;
    }
  });
}

/** Average over each window: its sum (row-major, as PyTorch) over the override or the window's divisor. */
function avgPoolNd(
  x: FloatArray,
  out: FloatArray,
  planes: number,
  inSize: readonly number[],
  w: Windows[],
  divisorOverride: number,
): void {
  const { start, count, size } = w[w.length - 1]; // step 1: average windows are ranges
  forEachLine(planes, inSize, w, (xBase, o0, lines, nLines, factor) => {
    for (let xo = 0, o = o0; xo < start.length; xo++, o++) {
      let sum = 0;
      for (let l = 0; l < nLines; l++) {
        const from = xBase + lines[l] + start[xo];
        const to = from + count[xo];
        for (let i = from; i < to; i++) sum += x[i];
      }
      out[o] = sum / (divisorOverride !== 0 ? divisorOverride : factor * size[xo]);
    }
  });
}

/** The adjoint of avgPoolNd: every input of a window receives the window's gradient over its divisor (overwrites gx). */
function avgPoolNdBackward(
  gy: FloatArray,
  gx: FloatArray,
  planes: number,
  inSize: readonly number[],
  w: Windows[],
  divisorOverride: number,
): void {
  const { start, count, size } = w[w.length - 1];
  gx.fill(0);
  forEachLine(planes, inSize, w, (xBase, o0, lines, nLines, factor) => {
    for (let xo = 0, o = o0; xo < start.length; xo++, o++) {
      const v = gy[o] / (divisorOverride !== 0 ? divisorOverride : factor * size[xo]);
      for (let l = 0; l < nLines; l++) {
        const from = xBase + lines[l] + start[xo];
        const to = from + count[xo];
        for (let i = from; i < to; i++) gx[i] += v;
      }
    }
  });
}

// ---- the Backend entry points: each geometry as its per-dim windows ----

type PoolGeometry = Pool2dGeometry | Pool3dGeometry;
type AdaptiveGeometry = AdaptivePool2dGeometry | AdaptivePool3dGeometry;

/** A 2-D or 3-D pooling geometry as per-dim arrays. */
function perDim(g: PoolGeometry) {
  if ('kd' in g) {
    return {
      inSize: [g.d, g.h, g.w],
      out: [g.od, g.oh, g.ow],
      k: [g.kd, g.kh, g.kw],
      stride: [g.strideD, g.strideH, g.strideW],
      pad: [g.padD, g.padH, g.padW],
      dilation: [g.dilationD, g.dilationH, g.dilationW],
    };
  }
  const { h, w, oh, ow, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  return {
    inSize: [h, w],
    out: [oh, ow],
    k: [kh, kw],
    stride: [strideH, strideW],
    pad: [padH, padW],
    dilation: [dilationH, dilationW],
  };
}
const maxWindows = (g: PoolGeometry) => {
  const f = perDim(g);
  return f.inSize.map((s, d) => dilatedTaps(s, f.out[d], f.k[d], f.stride[d], f.pad[d], f.dilation[d]));
};
// average pooling has no dilation (PyTorch's avg_pool2d/3d take none; the geometry's is 1)
const avgWindows = (g: PoolGeometry, countIncludePad: boolean) => {
  const f = perDim(g);
  return f.inSize.map((s, d) => avgRange(s, f.out[d], f.k[d], f.stride[d], f.pad[d], countIncludePad));
};
const adaptiveSizes = (g: AdaptiveGeometry) =>
  'd' in g
    ? [
        [g.d, g.h, g.w],
        [g.od, g.oh, g.ow],
      ]
    : [
        [g.h, g.w],
        [g.oh, g.ow],
      ];
const adaptiveWindows = (g: AdaptiveGeometry) => {
  const [inSize, out] = adaptiveSizes(g);
  return inSize.map((s, d) => adaptiveRange(s, out[d]));
};

// The Backend entry points, one function for both ranks each: the geometry's windows onto the N-d bodies.
function maxPool(x: FloatArray, out: FloatArray, indices: Int32Array | null, g: PoolGeometry): void {
  maxPoolNd(x, out, indices, g.n * g.c, perDim(g).inSize, maxWindows(g));
}
function avgPool(x: FloatArray, out: FloatArray, g: PoolGeometry, countIncludePad: boolean, divisorOverride: number) {
  avgPoolNd(x, out, g.n * g.c, perDim(g).inSize, avgWindows(g, countIncludePad), divisorOverride);
}
function avgPoolBackward(
  gy: FloatArray,
  gx: FloatArray,
  g: PoolGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
) {
  avgPoolNdBackward(gy, gx, g.n * g.c, perDim(g).inSize, avgWindows(g, countIncludePad), divisorOverride);
}
function adaptiveAvgPool(x: FloatArray, out: FloatArray, g: AdaptiveGeometry): void {
  avgPoolNd(x, out, g.planes, adaptiveSizes(g)[0], adaptiveWindows(g), 0);
}
function adaptiveAvgPoolBackward(gy: FloatArray, gx: FloatArray, g: AdaptiveGeometry): void {
  avgPoolNdBackward(gy, gx, g.planes, adaptiveSizes(g)[0], adaptiveWindows(g), 0);
}
/** Adaptive max pooling; `indices` gets the flat in-plane position of each (first) maximum, NaN winning like PyTorch. */
function adaptiveMaxPool(x: FloatArray, out: FloatArray, indices: Int32Array, g: AdaptiveGeometry): void {
  maxPoolNd(x, out, indices, g.planes, adaptiveSizes(g)[0], adaptiveWindows(g));
}
export {
  maxPool as maxPool2d,
  maxPool as maxPool3d,
  avgPool as avgPool2d,
  avgPool as avgPool3d,
  avgPoolBackward as avgPool2dBackward,
  avgPoolBackward as avgPool3dBackward,
  adaptiveAvgPool as adaptiveAvgPool2d,
  adaptiveAvgPool as adaptiveAvgPool3d,
  adaptiveAvgPoolBackward as adaptiveAvgPool2dBackward,
  adaptiveAvgPoolBackward as adaptiveAvgPool3dBackward,
  adaptiveMaxPool as adaptiveMaxPool2d,
  adaptiveMaxPool as adaptiveMaxPool3d,
};

/** gx[p, indices[p, k]] += gy[p, k] per plane (overwrites gx): the backward of every max pooling, any rank. */
export function maxPool2dBackward(
  gy: FloatArray,
  indices: Int32Array,
  gx: FloatArray,
  planes: number,
  inPlane: number,
  outPlane: number,
): void {
  gx.fill(0);
  for (let p = 0; p < planes; p++) {
    const gBase = p * inPlane;
    const oBase = p * outPlane;
    for (let k = 0; k < outPlane; k++) {
      const idx = indices[oBase + k];
      if (idx >= 0) gx[gBase + idx] += gy[oBase + k];
    }
  }
}

/** Scatters x into a zeroed `out` at `indices` (assignment, as PyTorch); returns the position of the first index outside [0, outPlane), or -1. */
export function maxUnpool2d(
  x: FloatArray,
  indices: Int32Array,
  out: FloatArray,
  planes: number,
  inPlane: number,
  outPlane: number,
): number {
  out.fill(0);
  for (let p = 0; p < planes; p++) {
    const iBase = p * inPlane;
    const oBase = p * outPlane;
    for (let k = 0; k < inPlane; k++) {
      const idx = indices[iBase + k];
      if (idx < 0 || idx >= outPlane) return iBase + k;
      out[oBase + idx] = x[iBase + k];
    }
  }
  return -1;
}

/** gx[k] = gy[indices[k]] within each plane (the adjoint of maxUnpool2d for distinct indices). */
export function maxUnpool2dBackward(
  gy: FloatArray,
  indices: Int32Array,
  gx: FloatArray,
  planes: number,
  inPlane: number,
  outPlane: number,
): void {
  for (let p = 0; p < planes; p++) {
    const iBase = p * inPlane;
    const oBase = p * outPlane;
    for (let k = 0; k < inPlane; k++) gx[iBase + k] = gy[oBase + indices[iBase + k]];
  }
}
