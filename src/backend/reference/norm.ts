/** Reference per-channel normalisation kernels over an [n, c, hw] layout. */
import type { FloatArray } from '../../tensor/dtype.js';
import type { Epilogue } from '../types.js';

export function channelStats(
  x: FloatArray,
  mean: FloatArray,
  variance: FloatArray,
  n: number,
  c: number,
  hw: number,
): void {
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) sum += x[base + i];
    }
    const m = sum / count;
    // Two-pass variance: exact enough for float32 inputs of any offset.
    let sq = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const d = x[base + i] - m;
        sq += d * d;
      }
    }
    mean[ch] = m;
    variance[ch] = sq / count;
  }
}

export function channelAffine(
  x: FloatArray,
  scale: FloatArray,
  shift: FloatArray,
  out: FloatArray,
  n: number,
  c: number,
  hw: number,
  epilogue: Epilogue,
): void {
  const relu = epilogue === 'relu';
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * hw;
      const s = scale[ch];
      const t = shift[ch];
      if (relu)
        for (let i = 0; i < hw; i++) {
          const v = x[base + i] * s + t;
          out[base + i] = v < 0 ? 0 : v;
        }
      else for (let i = 0; i < hw; i++) out[base + i] = x[base + i] * s + t;
    }
  }
}

export function batchNormBackward(
  x: FloatArray,
  gy: FloatArray,
  mean: FloatArray,
  invStd: FloatArray,
  weight: FloatArray | null,
  gx: FloatArray | null,
  gw: FloatArray | null,
  gb: FloatArray | null,
  n: number,
  c: number,
  hw: number,
): void {
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    const is = invStd[ch];
    let sumGy = 0;
    let sumGyXhat = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const g = gy[base + i];
        sumGy += g;
        sumGyXhat += g * (x[base + i] - m) * is;
      }
    }
    if (gw) gw[ch] = sumGyXhat;
    if (gb) gb[ch] = sumGy;
    if (gx) {
      const wv = weight ? weight[ch] : 1;
      const k = (wv * is) / count;
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) {
          const xhat = (x[base + i] - m) * is;
          gx[base + i] = k * (count * gy[base + i] - sumGy - xhat * sumGyXhat);
        }
      }
    }
  }
}
