/**
 * Reference 3-D convolution: vol2col unrolls every kd×kh×kw receptive field into a column, then one GEMM per
 * sample and group multiplies the filters with the columns — conv2d's im2col scheme with a depth axis. Backward
 * to the input is the transposed GEMM followed by col2vol (scatter-add). Float64-exact; the accelerated backends
 * lower 3-D convolution onto their 2-D kernels instead (../conv3d-lowered.ts) and are tested against this.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { Conv3dGeometry } from '../types.js';
import { gemm } from './gemm.js';

/** Source index along one axis of every (output position, tap) pair, −1 where the tap reads padding. */
function axisTaps(out: number, k: number, inSize: number, stride: number, pad: number, dilation: number): Int32Array {
  const idx = new Int32Array(out * k);
  for (let o = 0; o < out; o++) {
    for (let t = 0; t < k; t++) {
      const i = o * stride - pad + t * dilation;
      idx[t * out + o] = i >= 0 && i < inSize ? i : -1;
    }
  }
  return idx;
}

function taps(g: Conv3dGeometry) {
  return {
    td: axisTaps(g.od, g.kd, g.d, g.strideD, g.padD, g.dilationD),
    th: axisTaps(g.oh, g.kh, g.h, g.strideH, g.padH, g.dilationH),
    tw: axisTaps(g.ow, g.kw, g.w, g.strideW, g.padW, g.dilationW),
  };
}

/**
 * Unrolls channels [c0, c0+cg) of one sample at `xOff` into `col` ([cg·kd·kh·kw, od·oh·ow]), or, with `adjoint`,
 * scatter-adds `col` back into them.
 */
function vol2col(
  x: FloatArray,
  xOff: number,
  c0: number,
  cg: number,
  g: Conv3dGeometry,
  col: FloatArray,
  t: ReturnType<typeof taps>,
  adjoint: boolean,
): void {
  const { d, h, w, kd, kh, kw, od, oh, ow } = g;
  const spatial = od * oh * ow;
  let row = 0;
  for (let c = c0; c < c0 + cg; c++) {
    const vol = xOff + c * d * h * w;
    for (let a = 0; a < kd; a++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++, row++) {
          let dst = row * spatial;
          for (let z = 0; z < od; z++) {
            const iz = t.td[a * od + z];
            for (let y = 0; y < oh; y++) {
              const iy = t.th[i * oh + y];
              if (iz < 0 || iy < 0) {
                if (!adjoint) col.fill(0, dst, dst + ow);
                dst += ow;
                continue;
              }
              const src = vol + (iz * h + iy) * w;
              for (let xo = 0; xo < ow; xo++, dst++) {
                const ix = t.tw[j * ow + xo];
                if (adjoint) {
                  if (ix >= 0) x[src + ix] += col[dst];
                } else {
                  col[dst] = ix >= 0 ? x[src + ix] : 0;
                }
              }
            }
          }
        }
      }
    }
  }
}

function makeCol(like: FloatArray, size: number): FloatArray {
  return like instanceof Float64Array ? new Float64Array(size) : new Float32Array(size);
}

function sizes(g: Conv3dGeometry) {
  const cg = g.c / g.groups;
  const ocg = g.oc / g.groups;
  return { cg, ocg, kdim: cg * g.kd * g.kh * g.kw, spatial: g.od * g.oh * g.ow, inVol: g.c * g.d * g.h * g.w };
}

export function conv3d(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  out: FloatArray,
  g: Conv3dGeometry,
): void {
  const { cg, ocg, kdim, spatial, inVol } = sizes(g);
  const col = makeCol(x, kdim * spatial);
  const t = taps(g);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      vol2col(x, b * inVol, gr * cg, cg, g, col, t, false);
      const outSlice = out.subarray((b * g.oc + gr * ocg) * spatial, (b * g.oc + (gr + 1) * ocg) * spatial);
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
    if (bias) {
      for (let o = 0; o < g.oc; o++) {
        const base = (b * g.oc + o) * spatial;
        for (let s = 0; s < spatial; s++) out[base + s] += bias[o];
      }
    }
  }
}

export function conv3dBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: Conv3dGeometry): void {
  const { cg, ocg, kdim, spatial, inVol } = sizes(g);
  const col = makeCol(gy, kdim * spatial);
  const t = taps(g);
  gx.fill(0);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const gySlice = gy.subarray((b * g.oc + gr * ocg) * spatial, (b * g.oc + (gr + 1) * ocg) * spatial);
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
      vol2col(gx, b * inVol, gr * cg, cg, g, col, t, true);
    }
  }
}

export function conv3dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: Conv3dGeometry): void {
  const { cg, ocg, kdim, spatial, inVol } = sizes(g);
  const col = makeCol(x, kdim * spatial);
  const t = taps(g);
  gw.fill(0);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      vol2col(x, b * inVol, gr * cg, cg, g, col, t, false);
      const gySlice = gy.subarray((b * g.oc + gr * ocg) * spatial, (b * g.oc + (gr + 1) * ocg) * spatial);
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
