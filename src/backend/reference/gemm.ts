/** Reference matrix multiply: a cache-friendly i-k-j loop order, no blocking. */
import type { FloatArray } from '../../tensor/dtype.js';

export function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  strideA: number,
  b: FloatArray,
  strideB: number,
  c: FloatArray,
  strideC: number,
  batch: number,
  accumulate: boolean,
): void {
  for (let bi = 0; bi < batch; bi++) {
    const ao = bi * strideA;
    const bo = bi * strideB;
    const co = bi * strideC;
    if (!accumulate) c.fill(0, co, co + m * n);
    for (let i = 0; i < m; i++) {
      const crow = co + i * n;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[ao + p * m + i] : a[ao + i * k + p];
        if (transB) {
          for (let j = 0; j < n; j++) c[crow + j] += av * b[bo + j * k + p];
        } else {
          const brow = bo + p * n;
          for (let j = 0; j < n; j++) c[crow + j] += av * b[brow + j];
        }
      }
    }
  }
}
