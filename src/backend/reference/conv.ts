/**
 * Reference convolution as the seed course explains it: im2col unrolls every receptive field into a column,
 * then one GEMM per image and group multiplies the filters with those columns. Backward to the input is the
 * transposed GEMM followed by col2im (scatter-add of columns back into the image).
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { allocate } from '../../tensor/storage.js';
import type { Conv2dGeometry, ConvEpilogue } from '../types.js';
import { unaryFn } from './elementwise.js';
import { gemm } from './gemm.js';

/** Unrolls the receptive fields of channels [c0, c0+cg) of one image into `col` ([cg*kh*kw, oh*ow]). */
export function im2col(x: FloatArray, xOff: number, c0: number, cg: number, g: Conv2dGeometry, col: FloatArray): void {
  const { h, w, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  let row = 0;
  for (let c = c0; c < c0 + cg; c++) {
    const plane = xOff + c * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const dst = row * oh * ow;
        for (let y = 0; y < oh; y++) {
          const iy = y * strideH - padH + i * dilationH;
          const rowBase = dst + y * ow;
          if (iy < 0 || iy >= h) {
            col.fill(0, rowBase, rowBase + ow);
            continue;
          }
          const src = plane + iy * w;
          for (let xo = 0; xo < ow; xo++) {
            const ix = xo * strideW - padW + j * dilationW;
            col[rowBase + xo] = ix >= 0 && ix < w ? x[src + ix] : 0;
          }
        }
      }
    }
  }
}

/** Scatter-adds columns back into channels [c0, c0+cg) of one image (the adjoint of im2col). */
export function col2im(col: FloatArray, g: Conv2dGeometry, c0: number, cg: number, gx: FloatArray, xOff: number): void {
  const { h, w, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  let row = 0;
  for (let c = c0; c < c0 + cg; c++) {
    const plane = xOff + c * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const srcRow = row * oh * ow;
        for (let y = 0; y < oh; y++) {
          const iy = y * strideH - padH + i * dilationH;
          if (iy < 0 || iy >= h) continue;
          const dst = plane + iy * w;
          for (let xo = 0; xo < ow; xo++) {
            const ix = xo * strideW - padW + j * dilationW;
            if (ix >= 0 && ix < w) gx[dst + ix] += col[srcRow + y * ow + xo];
          }
        }
      }
    }
  }
}

/** The im2col workspace; allocate() turns an impossible size into an error that names it. */
function makeCol(x: FloatArray, rows: number, cols: number): FloatArray {
  return allocate(x instanceof Float64Array ? 'float64' : 'float32', rows * cols, [rows, cols]) as FloatArray;
}

export function conv2d(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  out: FloatArray,
  g: Conv2dGeometry,
  epilogue: ConvEpilogue,
  scale: FloatArray | null = null,
): void {
  const { n, c, h, w: width, oc, kh, kw, oh, ow, groups } = g;
  const cg = c / groups;
  const ocg = oc / groups;
  const kdim = cg * kh * kw;
  const spatial = oh * ow;
  if (n === 0 || out.length === 0) return; // nothing to write: no workspace for an empty batch
  const col = makeCol(x, kdim, spatial);
  for (let b = 0; b < n; b++) {
    for (let gr = 0; gr < groups; gr++) {
      im2col(x, b * c * h * width, gr * cg, cg, g, col);
      // out[b, gr*ocg:(gr+1)*ocg] = W_g [ocg, kdim] · col [kdim, spatial]
      const outSlice = out.subarray((b * oc + gr * ocg) * spatial, (b * oc + (gr + 1) * ocg) * spatial);
      gemm(
        false,
        false,
        ocg,
        spatial,
        kdim,
        w.subarray(gr * ocg * kdim, (gr + 1) * ocg * kdim),
        0,
        col,
        0,
        outSlice,
        0,
        1,
        false,
      );
    }
    if (bias !== null || scale !== null) {
      for (let o = 0; o < oc; o++) {
        const base = (b * oc + o) * spatial;
        const bv = bias ? bias[o] : 0,
          sv = scale ? scale[o] : 1;
        for (let s = 0; s < spatial; s++) out[base + s] = out[base + s] * sv + bv;
      }
    }
  }
  if (epilogue === 'relu') {
    for (let i = 0; i < out.length; i++) if (!(out[i] > 0)) out[i] = out[i] !== out[i] ? out[i] : 0;
  } else if (epilogue !== 'none') {
    // relu6 / hardswish: exactly the unary kernel the unfused model would run after the convolution
    const act = unaryFn(epilogue, {});
    for (let i = 0; i < out.length; i++) out[i] = act(out[i]);
  }
}

export function conv2dBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: Conv2dGeometry): void {
  const { n, c, h, w: width, oc, kh, kw, oh, ow, groups } = g;
  const cg = c / groups;
  const ocg = oc / groups;
  const kdim = cg * kh * kw;
  const spatial = oh * ow;
  gx.fill(0);
  if (n === 0 || spatial === 0) return;
  const col = makeCol(gy, kdim, spatial);
  for (let b = 0; b < n; b++) {
    for (let gr = 0; gr < groups; gr++) {
      // col [kdim, spatial] = W_gᵀ [kdim, ocg] · gy_g [ocg, spatial]
      const gySlice = gy.subarray((b * oc + gr * ocg) * spatial, (b * oc + (gr + 1) * ocg) * spatial);
      gemm(
        true,
        false,
        kdim,
        spatial,
        ocg,
        w.subarray(gr * ocg * kdim, (gr + 1) * ocg * kdim),
        0,
        gySlice,
        0,
        col,
        0,
        1,
        false,
      );
      col2im(col, g, gr * cg, cg, gx, b * c * h * width);
    }
  }
}

export function conv2dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: Conv2dGeometry): void {
  const { n, c, h, w: width, oc, kh, kw, oh, ow, groups } = g;
  const cg = c / groups;
  const ocg = oc / groups;
  const kdim = cg * kh * kw;
  const spatial = oh * ow;
  gw.fill(0);
  if (n === 0 || spatial === 0) return;
  const col = makeCol(x, kdim, spatial);
  for (let b = 0; b < n; b++) {
    for (let gr = 0; gr < groups; gr++) {
      im2col(x, b * c * h * width, gr * cg, cg, g, col);
      // gW_g [ocg, kdim] += gy_g [ocg, spatial] · colᵀ [spatial, kdim]
      const gySlice = gy.subarray((b * oc + gr * ocg) * spatial, (b * oc + (gr + 1) * ocg) * spatial);
      gemm(
        false,
        true,
        ocg,
        kdim,
        spatial,
        gySlice,
        0,
        col,
        0,
        gw.subarray(gr * ocg * kdim, (gr + 1) * ocg * kdim),
        0,
        1,
        true,
      );
    }
  }
}
