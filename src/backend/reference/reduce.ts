/** Reference reductions and (log-)softmax over the middle axis of an [outer, size, inner] view. */
import type { FloatArray, TypedArray } from '../../tensor/dtype.js';
import type { ReduceOp } from '../types.js';

export function reduce(op: ReduceOp, x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      let acc: number;
      let p = base + i;
      switch (op) {
        case 'sum':
          acc = 0;
          for (let s = 0; s < size; s++, p += inner) acc += x[p];
          break;
        case 'prod':
          acc = 1;
          for (let s = 0; s < size; s++, p += inner) acc *= x[p];
          break;
        case 'max':
        case 'amax':
          acc = -Infinity;
          for (let s = 0; s < size; s++, p += inner) {
            const v = x[p];
            if (v > acc || Number.isNaN(v)) acc = v;
            if (Number.isNaN(acc)) break;
          }
          break;
        case 'min':
        case 'amin':
          acc = Infinity;
          for (let s = 0; s < size; s++, p += inner) {
            const v = x[p];
            if (v < acc || Number.isNaN(v)) acc = v;
            if (Number.isNaN(acc)) break;
          }
          break;
      }
      out[o * inner + i] = acc;
    }
  }
}

export function argReduce(
  op: 'max' | 'min',
  x: TypedArray,
  values: TypedArray,
  indices: Int32Array,
  outer: number,
  size: number,
  inner: number,
): void {
  const isMax = op === 'max';
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      let p = base + i;
      let best = x[p];
      let bestIdx = 0;
      if (!Number.isNaN(best)) {
        p += inner;
        for (let s = 1; s < size; s++, p += inner) {
          const v = x[p];
          if (Number.isNaN(v)) {
            best = v;
            bestIdx = s;
            break;
          }
          if (isMax ? v > best : v < best) {
            best = v;
            bestIdx = s;
          }
        }
      }
      values[o * inner + i] = best;
      indices[o * inner + i] = bestIdx;
    }
  }
}

export function logsumexp(x: FloatArray, out: FloatArray, outer: number, size: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      let m = -Infinity;
      for (let s = 0, p = base + i; s < size; s++, p += inner) if (x[p] > m) m = x[p];
      if (!Number.isFinite(m)) {
        out[o * inner + i] = m;
        continue;
      }
      let sum = 0;
      for (let s = 0, p = base + i; s < size; s++, p += inner) sum += Math.exp(x[p] - m);
      out[o * inner + i] = m + Math.log(sum);
    }
  }
}

export function softmax(
  x: FloatArray,
  out: FloatArray,
  outer: number,
  size: number,
  inner: number,
  log: boolean,
): void {
  // An empty softmax dim writes nothing: without this, [4, 2³¹, 0] looped 2³³ times doing nothing (found by fuzzing).
  if (size === 0) return;
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      let m = -Infinity;
      for (let s = 0, p = base + i; s < size; s++, p += inner) if (x[p] > m) m = x[p];
      let sum = 0;
      for (let s = 0, p = base + i; s < size; s++, p += inner) sum += Math.exp(x[p] - m);
      if (log) {
        const lse = m + Math.log(sum);
        for (let s = 0, p = base + i; s < size; s++, p += inner) out[p] = x[p] - lse;
      } else {
        const inv = 1 / sum;
        for (let s = 0, p = base + i; s < size; s++, p += inner) out[p] = Math.exp(x[p] - m) * inv;
      }
    }
  }
}

export function softmaxGrad(
  y: FloatArray,
  gy: FloatArray,
  gx: FloatArray,
  outer: number,
  size: number,
  inner: number,
  log: boolean,
): void {
  if (size === 0) return;
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      if (log) {
        // y = log softmax: gx = gy - softmax * sum(gy)
        let sum = 0;
        for (let s = 0, p = base + i; s < size; s++, p += inner) sum += gy[p];
        for (let s = 0, p = base + i; s < size; s++, p += inner) gx[p] = gy[p] - Math.exp(y[p]) * sum;
      } else {
        // y = softmax: gx = y * (gy - sum(gy * y))
        let dot = 0;
        for (let s = 0, p = base + i; s < size; s++, p += inner) dot += gy[p] * y[p];
        for (let s = 0, p = base + i; s < size; s++, p += inner) gx[p] = y[p] * (gy[p] - dot);
      }
    }
  }
}
