/** Reference pooling kernels over planes of n*c images. */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AdaptivePool2dGeometry, Pool2dGeometry } from '../types.js';

export function maxPool2d(x: FloatArray, out: FloatArray, indices: Int32Array | null, g: Pool2dGeometry): void {
  const { n, c, h, w, oh, ow, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const planes = n * c;
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    const oBase = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        let best = -Infinity;
        let bestIdx = -1;
        for (let i = 0; i < kh; i++) {
          const iy = y * strideH - padH + i * dilationH;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = xo * strideW - padW + j * dilationW;
            if (ix < 0 || ix >= w) continue;
            const v = x[xBase + iy * w + ix];
            if (v > best || Number.isNaN(v) || bestIdx < 0) {
              best = v;
              bestIdx = iy * w + ix;
              if (Number.isNaN(v)) {
                i = kh;
                break;
              }
            }
          }
        }
        out[oBase + y * ow + xo] = best;
        if (indices) indices[oBase + y * ow + xo] = bestIdx;
      }
    }
  }
}

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

/** Window bounds and divisor of one average-pool output cell, as PyTorch computes them. */
function avgWindow(g: Pool2dGeometry, y: number, xo: number, countIncludePad: boolean, divisorOverride: number) {
  let y0 = y * g.strideH - g.padH;
  let x0 = xo * g.strideW - g.padW;
  let y1 = Math.min(y0 + g.kh, g.h + g.padH);
  let x1 = Math.min(x0 + g.kw, g.w + g.padW);
  const poolSize = (y1 - y0) * (x1 - x0);
  y0 = Math.max(y0, 0);
  x0 = Math.max(x0, 0);
  y1 = Math.min(y1, g.h);
  x1 = Math.min(x1, g.w);
  const divisor = divisorOverride !== 0 ? divisorOverride : countIncludePad ? poolSize : (y1 - y0) * (x1 - x0);
  return { y0, x0, y1, x1, divisor };
}

export function avgPool2d(
  x: FloatArray,
  out: FloatArray,
  g: Pool2dGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
): void {
  const { n, c, h, w, oh, ow } = g;
  for (let p = 0; p < n * c; p++) {
    const xBase = p * h * w;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const { y0, x0, y1, x1, divisor } = avgWindow(g, y, xo, countIncludePad, divisorOverride);
        let sum = 0;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[xBase + iy * w + ix];
        out[(p * oh + y) * ow + xo] = sum / divisor;
      }
    }
  }
}

export function avgPool2dBackward(
  gy: FloatArray,
  gx: FloatArray,
  g: Pool2dGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
): void {
  const { n, c, h, w, oh, ow } = g;
  gx.fill(0);
  for (let p = 0; p < n * c; p++) {
    const xBase = p * h * w;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const { y0, x0, y1, x1, divisor } = avgWindow(g, y, xo, countIncludePad, divisorOverride);
        const v = gy[(p * oh + y) * ow + xo] / divisor;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) gx[xBase + iy * w + ix] += v;
      }
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

/** PyTorch's adaptive window [start, end) of output cell i: floor(i*in/out) to ceil((i+1)*in/out), in integers. */
function adaptiveStart(i: number, inSize: number, outSize: number): number {
  return Math.floor((i * inSize) / outSize);
}
function adaptiveEnd(i: number, inSize: number, outSize: number): number {
  return Math.floor(((i + 1) * inSize + outSize - 1) / outSize);
}

export function adaptiveAvgPool2d(x: FloatArray, out: FloatArray, g: AdaptivePool2dGeometry): void {
  const { planes, h, w, oh, ow } = g;
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    for (let y = 0; y < oh; y++) {
      const y0 = adaptiveStart(y, h, oh);
      const y1 = adaptiveEnd(y, h, oh);
      for (let xo = 0; xo < ow; xo++) {
        const x0 = adaptiveStart(xo, w, ow);
        const x1 = adaptiveEnd(xo, w, ow);
        let sum = 0;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[xBase + iy * w + ix];
        out[(p * oh + y) * ow + xo] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
  }
}

export function adaptiveAvgPool2dBackward(gy: FloatArray, gx: FloatArray, g: AdaptivePool2dGeometry): void {
  const { planes, h, w, oh, ow } = g;
  gx.fill(0);
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    for (let y = 0; y < oh; y++) {
      const y0 = adaptiveStart(y, h, oh);
      const y1 = adaptiveEnd(y, h, oh);
      for (let xo = 0; xo < ow; xo++) {
        const x0 = adaptiveStart(xo, w, ow);
        const x1 = adaptiveEnd(xo, w, ow);
        const v = gy[(p * oh + y) * ow + xo] / ((y1 - y0) * (x1 - x0));
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) gx[xBase + iy * w + ix] += v;
      }
    }
  }
}

/** Adaptive max pooling; `indices` gets the flat h*w position of each (first) maximum, NaN winning like PyTorch. */
export function adaptiveMaxPool2d(
  x: FloatArray,
  out: FloatArray,
  indices: Int32Array,
  g: AdaptivePool2dGeometry,
): void {
  const { planes, h, w, oh, ow } = g;
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    for (let y = 0; y < oh; y++) {
      const y0 = adaptiveStart(y, h, oh);
      const y1 = adaptiveEnd(y, h, oh);
      for (let xo = 0; xo < ow; xo++) {
        const x0 = adaptiveStart(xo, w, ow);
        const x1 = adaptiveEnd(xo, w, ow);
        let best = -Infinity;
        let bestIdx = y0 * w + x0;
        search: for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const v = x[xBase + iy * w + ix];
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIdx = iy * w + ix;
              if (Number.isNaN(v)) break search;
            }
          }
        }
        out[(p * oh + y) * ow + xo] = best;
        indices[(p * oh + y) * ow + xo] = bestIdx;
      }
    }
  }
}
