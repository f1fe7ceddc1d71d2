/**
 * Reference 3-D pooling kernels over planes of n*c volumes, with PyTorch's window arithmetic (aten
 * DilatedMaxPool3d / AvgPool3d / AdaptiveAveragePooling3d): the 2-D kernels of ./pool.ts with a depth axis.
 * Max-pool indices are flat d·h·w positions, so the 2-D scatter kernels (maxPool2dBackward, maxUnpool2d) serve
 * 3-D as they are.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AdaptivePool3dGeometry, Pool3dGeometry } from '../types.js';

export function maxPool3d(x: FloatArray, out: FloatArray, indices: Int32Array | null, g: Pool3dGeometry): void {
  const { n, c, d, h, w, od, oh, ow, kd, kh, kw } = g;
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const xBase = p * d * h * w;
    for (let z = 0; z < od; z++) {
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++, o++) {
          let best = -Infinity;
          let bestIdx = -1;
          search: for (let a = 0; a < kd; a++) {
            const iz = z * g.strideD - g.padD + a * g.dilationD;
            if (iz < 0 || iz >= d) continue;
            for (let i = 0; i < kh; i++) {
              const iy = y * g.strideH - g.padH + i * g.dilationH;
              if (iy < 0 || iy >= h) continue;
              for (let j = 0; j < kw; j++) {
                const ix = xo * g.strideW - g.padW + j * g.dilationW;
                if (ix < 0 || ix >= w) continue;
                const at = (iz * h + iy) * w + ix;
                const v = x[xBase + at];
                // NaN propagates and wins, as in PyTorch (the first NaN ends the search)
                if (v > best || Number.isNaN(v) || bestIdx < 0) {
                  best = v;
                  bestIdx = at;
                  if (Number.isNaN(v)) break search;
                }
              }
            }
          }
          out[o] = best;
          if (indices) indices[o] = bestIdx;
        }
      }
    }
  }
}

/** Clipped window [lo, hi) of one axis and its unclipped size (for count_include_pad). */
function avgAxis(o: number, stride: number, pad: number, k: number, size: number): [number, number, number] {
  const lo = o * stride - pad;
  const hi = Math.min(lo + k, size + pad);
  return [Math.max(lo, 0), Math.min(hi, size), hi - lo];
}

function forEachAvgWindow(
  g: Pool3dGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
  body: (
    p: number,
    o: number,
    z0: number,
    z1: number,
    y0: number,
    y1: number,
    x0: number,
    x1: number,
    divisor: number,
  ) => void,
): void {
  const { n, c, d, h, w, od, oh, ow, kd, kh, kw } = g;
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    for (let z = 0; z < od; z++) {
      const [z0, z1, sz] = avgAxis(z, g.strideD, g.padD, kd, d);
      for (let y = 0; y < oh; y++) {
        const [y0, y1, sy] = avgAxis(y, g.strideH, g.padH, kh, h);
        for (let xo = 0; xo < ow; xo++, o++) {
          const [x0, x1, sx] = avgAxis(xo, g.strideW, g.padW, kw, w);
          const divisor =
            divisorOverride !== 0
              ? divisorOverride
              : countIncludePad
                ? sz * sy * sx
                : (z1 - z0) * (y1 - y0) * (x1 - x0);
          body(p, o, z0, z1, y0, y1, x0, x1, divisor);
        }
      }
    }
  }
}

export function avgPool3d(
  x: FloatArray,
  out: FloatArray,
  g: Pool3dGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
): void {
  const { d, h, w } = g;
  forEachAvgWindow(g, countIncludePad, divisorOverride, (p, o, z0, z1, y0, y1, x0, x1, divisor) => {
    const base = p * d * h * w;
    let sum = 0;
    for (let iz = z0; iz < z1; iz++)
      for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[base + (iz * h + iy) * w + ix];
    out[o] = sum / divisor;
  });
}

export function avgPool3dBackward(
  gy: FloatArray,
  gx: FloatArray,
  g: Pool3dGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
): void {
  const { d, h, w } = g;
  gx.fill(0);
  forEachAvgWindow(g, countIncludePad, divisorOverride, (p, o, z0, z1, y0, y1, x0, x1, divisor) => {
    const base = p * d * h * w;
    const v = gy[o] / divisor;
    for (let iz = z0; iz < z1; iz++)
      for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) gx[base + (iz * h + iy) * w + ix] += v;
  });
}

/** PyTorch's adaptive window of output cell i: [⌊i·in/out⌋, ⌈(i+1)·in/out⌉). */
function adaptive(i: number, inSize: number, outSize: number): [number, number] {
  return [Math.floor((i * inSize) / outSize), Math.floor(((i + 1) * inSize + outSize - 1) / outSize)];
}

function forEachAdaptiveWindow(
  g: AdaptivePool3dGeometry,
  body: (p: number, o: number, z0: number, z1: number, y0: number, y1: number, x0: number, x1: number) => void,
): void {
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    for (let z = 0; z < g.od; z++) {
      const [z0, z1] = adaptive(z, g.d, g.od);
      for (let y = 0; y < g.oh; y++) {
        const [y0, y1] = adaptive(y, g.h, g.oh);
        for (let xo = 0; xo < g.ow; xo++, o++) {
          const [x0, x1] = adaptive(xo, g.w, g.ow);
          body(p, o, z0, z1, y0, y1, x0, x1);
        }
      }
    }
  }
}

export function adaptiveAvgPool3d(x: FloatArray, out: FloatArray, g: AdaptivePool3dGeometry): void {
  const { d, h, w } = g;
  forEachAdaptiveWindow(g, (p, o, z0, z1, y0, y1, x0, x1) => {
    const base = p * d * h * w;
    let sum = 0;
    for (let iz = z0; iz < z1; iz++)
      for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[base + (iz * h + iy) * w + ix];
    out[o] = sum / ((z1 - z0) * (y1 - y0) * (x1 - x0));
  });
}

export function adaptiveAvgPool3dBackward(gy: FloatArray, gx: FloatArray, g: AdaptivePool3dGeometry): void {
  const { d, h, w } = g;
  gx.fill(0);
  forEachAdaptiveWindow(g, (p, o, z0, z1, y0, y1, x0, x1) => {
    const base = p * d * h * w;
    const v = gy[o] / ((z1 - z0) * (y1 - y0) * (x1 - x0));
    for (let iz = z0; iz < z1; iz++)
      for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) gx[base + (iz * h + iy) * w + ix] += v;
  });
}

export function adaptiveMaxPool3d(
  x: FloatArray,
  out: FloatArray,
  indices: Int32Array,
  g: AdaptivePool3dGeometry,
): void {
  const { d, h, w } = g;
  forEachAdaptiveWindow(g, (p, o, z0, z1, y0, y1, x0, x1) => {
    const base = p * d * h * w;
    let best = -Infinity;
    let bestIdx = (z0 * h + y0) * w + x0;
    search: for (let iz = z0; iz < z1; iz++) {
      for (let iy = y0; iy < y1; iy++) {
        for (let ix = x0; ix < x1; ix++) {
          const at = (iz * h + iy) * w + ix;
          const v = x[base + at];
          if (v > best || Number.isNaN(v)) {
            best = v;
            bestIdx = at;
            if (Number.isNaN(v)) break search;
          }
        }
      }
    }
    out[o] = best;
    indices[o] = bestIdx;
  });
}
