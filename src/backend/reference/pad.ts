/**
 * Reference N-d padding. Every output coordinate along a dim maps to one input coordinate (or to "fill" in
 * constant mode), so a pad is a gather through per-dim index tables and its backward the matching scatter-add.
 */
import type { FloatArray, TypedArray } from '../../tensor/dtype.js';
import type { PadGeometry, PadMode } from '../types.js';

/** For each output position along one dim, the input position it reads, or -1 for the constant fill. */
function indexTable(size: number, outSize: number, before: number, mode: PadMode): Int32Array {
  const table = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let i = o - before;
    if (i < 0 || i >= size) {
      switch (mode) {
        case 'constant':
          i = -1;
          break;
        case 'reflect':
          i = i < 0 ? -i : 2 * (size - 1) - i;
          break;
        case 'replicate':
          i = i < 0 ? 0 : size - 1;
          break;
        case 'circular':
          i = ((i % size) + size) % size;
          break;
      }
    }
    table[o] = i;
  }
  return table;
}

/** Walks the output in row-major order, calling `row` with the flat input offset of each output row's dims 0..rank-2 (-1 when it is fill). */
function forEachRow(
  g: PadGeometry,
  mode: PadMode,
  row: (outOffset: number, inOffset: number, inner: Int32Array) => void,
): void {
  const { inShape, outShape, before } = g;
  const rank = inShape.length;
  const tables = inShape.map((s, d) => indexTable(s, outShape[d], before[d], mode));
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= inShape[d];
  }
  const outInner = outShape[rank - 1];
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= outShape[d];
  if (rows === 0 || outInner === 0) return;
  const coord = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let r = 0; r < rows; r++) {
    let inOff = 0;
    for (let d = 0; d < rank - 1; d++) {
      const i = tables[d][coord[d]];
      if (i < 0) {
        inOff = -1;
        break;
      }
      inOff += i * inStrides[d];
    }
    row(r * outInner, inOff, tables[rank - 1]);
    for (let d = rank - 2; d >= 0; d--) {
      if (++coord[d] < outShape[d]) break;
      coord[d] = 0;
    }
  }
}

export function pad(x: TypedArray, out: TypedArray, g: PadGeometry, mode: PadMode, value: number): void {
  forEachRow(g, mode, (o, base, inner) => {
    if (base < 0) {
      out.fill(value, o, o + inner.length);
      return;
    }
    for (let j = 0; j < inner.length; j++) {
      const i = inner[j];
      out[o + j] = i < 0 ? value : x[base + i];
    }
  });
}

export function padBackward(gy: FloatArray, gx: FloatArray, g: PadGeometry, mode: PadMode): void {
  gx.fill(0);
  forEachRow(g, mode, (o, base, inner) => {
    if (base < 0) return;
    for (let j = 0; j < inner.length; j++) {
      const i = inner[j];
      if (i >= 0) gx[base + i] += gy[o + j];
    }
  });
}
