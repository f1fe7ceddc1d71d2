/**
 * Reference nearest and bilinear resampling with PyTorch's exact source-index arithmetic (aten UpSample.h):
 * nearest indices are computed in float32 whatever the tensor dtype; bilinear coordinates in the tensor's own
 * precision (float32 for Float32Array), so the same source pixels and weights are chosen as in PyTorch.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { Interpolate2dGeometry, InterpolateMode } from '../types.js';

const identity = (v: number): number => v;

/** PyTorch's compute_scales_value: 1/scale when the user gave a scale factor, else in/out. */
function scalesValue(scale: number | null, inSize: number, outSize: number, round: (v: number) => number): number {
  return scale !== null && scale > 0 ? round(1 / scale) : round(inSize / outSize);
}

/** Source index of every output position for mode 'nearest' (floor(dst * scale), clamped). */
export function nearestIndices(inSize: number, outSize: number, scale: number | null): Int32Array {
  const idx = new Int32Array(outSize);
  if (outSize === inSize) {
    for (let o = 0; o < outSize; o++) idx[o] = o;
  } else if (outSize === 2 * inSize) {
    for (let o = 0; o < outSize; o++) idx[o] = o >> 1;
  } else {
    const s = scalesValue(scale, inSize, outSize, Math.fround);
    for (let o = 0; o < outSize; o++) idx[o] = Math.min(Math.floor(Math.fround(o * s)), inSize - 1);
  }
  return idx;
}

/** Two source indices and their weights per output position for linear interpolation along one axis. */
export function linearTaps(
  inSize: number,
  outSize: number,
  scale: number | null,
  alignCorners: boolean,
  round: (v: number) => number,
) {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float64Array(outSize);
  const l1 = new Float64Array(outSize);
  if (outSize === inSize) {
    for (let o = 0; o < outSize; o++) {
      i0[o] = o;
      i1[o] = o;
      l0[o] = 1;
      l1[o] = 0;
    }
    return { i0, i1, l0, l1 };
  }
  const ratio = alignCorners
    ? outSize > 1
      ? round((inSize - 1) / (outSize - 1))
      : 0
    : scalesValue(scale, inSize, outSize, round);
  for (let o = 0; o < outSize; o++) {
    let real: number;
    if (alignCorners) real = round(ratio * o);
    else {
      real = round(ratio * (o + 0.5) - 0.5);
      if (real < 0) real = 0;
    }
    const a = Math.trunc(real);
    i0[o] = a;
    i1[o] = a < inSize - 1 ? a + 1 : a;
    const lam = Math.min(Math.max(round(real - a), 0), 1);
    l1[o] = lam;
    l0[o] = round(1 - lam);
  }
  return { i0, i1, l0, l1 };
}

function taps(x: FloatArray, g: Interpolate2dGeometry) {
  const round = x instanceof Float32Array ? Math.fround : identity;
  return {
    ty: linearTaps(g.h, g.oh, g.scaleH, g.alignCorners, round),
    tx: linearTaps(g.w, g.ow, g.scaleW, g.alignCorners, round),
  };
}

export function interpolate2d(mode: InterpolateMode, x: FloatArray, out: FloatArray, g: Interpolate2dGeometry): void {
  const { planes, h, w, oh, ow } = g;
  if (mode === 'nearest') {
    const iy = nearestIndices(h, oh, g.scaleH);
    const ix = nearestIndices(w, ow, g.scaleW);
    for (let p = 0; p < planes; p++) {
      const xBase = p * h * w;
      const oBase = p * oh * ow;
      for (let y = 0; y < oh; y++) {
        const row = xBase + iy[y] * w;
        for (let xo = 0; xo < ow; xo++) out[oBase + y * ow + xo] = x[row + ix[xo]];
      }
    }
    return;
  }
  const { ty, tx } = taps(x, g);
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    const oBase = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      const r0 = xBase + ty.i0[y] * w;
      const r1 = xBase + ty.i1[y] * w;
      const h0 = ty.l0[y];
      const h1 = ty.l1[y];
      for (let xo = 0; xo < ow; xo++) {
        const c0 = tx.i0[xo];
        const c1 = tx.i1[xo];
        const w0 = tx.l0[xo];
        const w1 = tx.l1[xo];
        out[oBase + y * ow + xo] = h0 * (w0 * x[r0 + c0] + w1 * x[r0 + c1]) + h1 * (w0 * x[r1 + c0] + w1 * x[r1 + c1]);
      }
    }
  }
}

export function interpolate2dBackward(
  mode: InterpolateMode,
  gy: FloatArray,
  gx: FloatArray,
  g: Interpolate2dGeometry,
): void {
  const { planes, h, w, oh, ow } = g;
  gx.fill(0);
  if (mode === 'nearest') {
    const iy = nearestIndices(h, oh, g.scaleH);
    const ix = nearestIndices(w, ow, g.scaleW);
    for (let p = 0; p < planes; p++) {
      const xBase = p * h * w;
      const oBase = p * oh * ow;
      for (let y = 0; y < oh; y++) {
        const row = xBase + iy[y] * w;
        for (let xo = 0; xo < ow; xo++) gx[row + ix[xo]] += gy[oBase + y * ow + xo];
      }
    }
    return;
  }
  const { ty, tx } = taps(gy, g);
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    const oBase = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      const r0 = xBase + ty.i0[y] * w;
      const r1 = xBase + ty.i1[y] * w;
      const h0 = ty.l0[y];
      const h1 = ty.l1[y];
      for (let xo = 0; xo < ow; xo++) {
        const v = gy[oBase + y * ow + xo];
        const c0 = tx.i0[xo];
        const c1 = tx.i1[xo];
        const w0 = tx.l0[xo];
        const w1 = tx.l1[xo];
        gx[r0 + c0] += h0 * w0 * v;
        gx[r0 + c1] += h0 * w1 * v;
        gx[r1 + c0] += h1 * w0 * v;
        gx[r1 + c1] += h1 * w1 * v;
      }
    }
  }
}
