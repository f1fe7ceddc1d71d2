/**
 * Reference convolution over any number of spatial dims, as the seed course explains it: im2col unrolls every
 * receptive field into a column, then one GEMM per sample and group multiplies the filters with those columns.
 * Backward to the input is the transposed GEMM followed by col2im (scatter-add of columns back into the input);
 * backward to the weight is the GEMM of the output gradient with the columns. conv2d and conv3d (and so conv1d and
 * the transposed convolutions, which the op layer expresses through these three maps) are the N = 2 and N = 3 cases
 * of the one body below; the accelerated backends run their own kernels and are tested against it.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { allocate } from '../../tensor/storage.js';
import type { Conv2dGeometry, Conv3dGeometry, ConvEpilogue } from '../types.js';
import { unaryFn } from './elementwise.js';
import { gemm } from './gemm.js';

/**
 * A convolution of N spatial dims: [n, c, ...inSize] * [oc, c/groups, ...kernel] → [n, oc, ...outSize], with per-dim
 * stride, leading zero padding and dilation. The output sizes are authoritative (the trailing padding is implied).
 */
export interface ConvNd {
  n: number;
  c: number;
  oc: number;
  groups: number;
  inSize: readonly number[];
  kernel: readonly number[];
  outSize: readonly number[];
  stride: readonly number[];
  pad: readonly number[];
  dilation: readonly number[];
}

/** A 2-D or 3-D backend geometry as per-dim arrays. */
export function convNdOf(g: Conv2dGeometry | Conv3dGeometry): ConvNd {
  const { n, c, oc, groups } = g;
  if ('kd' in g) {
    return {
      n,
      c,
      oc,
      groups,
      inSize: [g.d, g.h, g.w],
      kernel: [g.kd, g.kh, g.kw],
      outSize: [g.od, g.oh, g.ow],
      stride: [g.strideD, g.strideH, g.strideW],
      pad: [g.padD, g.padH, g.padW],
      dilation: [g.dilationD, g.dilationH, g.dilationW],
    };
  }
  const { h, w, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  return {
    n,
    c,
    oc,
    groups,
    inSize: [h, w],
    kernel: [kh, kw],
    outSize: [oh, ow],
    stride: [strideH, strideW],
    pad: [padH, padW],
    dilation: [dilationH, dilationW],
  };
}

const product = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

/** Input index along one axis of every (tap t, output position o) at [t·out + o], −1 where the tap reads padding. */
export function axisTaps(
  out: number,
  k: number,
  inSize: number,
  stride: number,
  pad: number,
  dilation: number,
): Int32Array {
  const idx = new Int32Array(out * k);
  for (let t = 0; t < k; t++) {
    for (let o = 0; o < out; o++) {
      const i = o * stride - pad + t * dilation;
      idx[t * out + o] = i >= 0 && i < inSize ? i : -1;
    }
  }
  return idx;
}

/**
 * Where every element of a column matrix reads from, precomputed once per call so that the unrolling loop is a
 * table lookup whatever N is. A column row is one kernel tap; its elements are the output positions, grouped in
 * "lines" along the last dim. The leading dims (all but the last) fix which input line a (tap, output line) pair
 * reads — `lines` — and the last dim fixes the element within it — `last`.
 */
interface Taps {
  /** kernel taps over the leading dims, and output lines (output positions over the leading dims) */
  kLead: number;
  outer: number;
  /** kernel size and output size of the last dim */
  kLast: number;
  outLast: number;
  /** [kLead·outer]: offset in the input plane of the line that leading tap tl reads for output line r; −1: padding */
  lines: Int32Array;
  /** [kLast·outLast]: input index along the last dim of (last-dim tap j, output position xo); −1: padding */
  last: Int32Array;
}

function taps(g: ConvNd): Taps {
  const dims = g.inSize.length;
  const axes = g.inSize.map((s, d) => axisTaps(g.outSize[d], g.kernel[d], s, g.stride[d], g.pad[d], g.dilation[d]));
  const kLead = product(g.kernel.slice(0, -1));
  const outer = product(g.outSize.slice(0, -1));
  const lines = new Int32Array(kLead * outer);
  for (let tl = 0; tl < kLead; tl++) {
    for (let r = 0; r < outer; r++) {
      // row-major digits of tl (taps) and r (output positions), innermost leading dim first
      let t = tl;
      let o = r;
      let offset = 0;
      let step = g.inSize[dims - 1];
      for (let d = dims - 2; d >= 0 && offset >= 0; d--) {
        const td = t % g.kernel[d];
        const od = o % g.outSize[d];
        t = (t - td) / g.kernel[d];
        o = (o - od) / g.outSize[d];
        const i = axes[d][td * g.outSize[d] + od];
        offset = i < 0 ? -1 : offset + i * step;
        step *= g.inSize[d];
      }
      lines[tl * outer + r] = offset;
    }
  }
  return { kLead, outer, kLast: g.kernel[dims - 1], outLast: g.outSize[dims - 1], lines, last: axes[dims - 1] };
}

/**
 * im2col: unrolls channels [c0, c0+cg) of the sample at `xOff` into `col` ([cg·Πkernel, Πout]), padding reading
 * zero. With `adjoint` it is col2im instead: `col` is scatter-added back into `x` (padding receives nothing).
 */
function unroll(
  x: FloatArray,
  xOff: number,
  c0: number,
  cg: number,
  inVol: number,
  t: Taps,
  col: FloatArray,
  adjoint: boolean,
): void {
  const { kLead, outer, kLast, outLast: ow, lines, last } = t;
  let dst = 0;
  for (let c = c0; c < c0 + cg; c++) {
    const plane = xOff + c * inVol;
    for (let tl = 0; tl < kLead; tl++) {
      for (let j = 0; j < kLast; j++) {
        const tap = j * ow;
        for (let r = 0; r < outer; r++, dst += ow) {
          const line = lines[tl * outer + r];
          if (line < 0) {
            if (!adjoint) col.fill(0, dst, dst + ow);
            continue;
          }
          const src = plane + line;
          if (adjoint) {
            for (let xo = 0; xo < ow; xo++) {
              const ix = last[tap + xo];
              if (ix >= 0) x[src + ix] += col[dst + xo];
            }
          } else {
            for (let xo = 0; xo < ow; xo++) {
              const ix = last[tap + xo];
              col[dst + xo] = ix >= 0 ? x[src + ix] : 0;
            }
          }
        }
      }
    }
  }
}

/** Per-group sizes; `kdim` is a column's height (one filter's length), `spatial` its width. */
function sizes(g: ConvNd) {
  const cg = g.c / g.groups;
  const ocg = g.oc / g.groups;
  const spatial = product(g.outSize);
  return { cg, ocg, kdim: cg * product(g.kernel), spatial, inVol: product(g.inSize) };
}

/** The im2col workspace; allocate() turns an impossible size into an error that names it. */
function makeCol(like: FloatArray, rows: number, cols: number): FloatArray {
  return allocate(like instanceof Float64Array ? 'float64' : 'float32', rows * cols, [rows, cols]) as FloatArray;
}

/** c (+)= op(a) · op(b) for whole contiguous matrices: one unbatched GEMM. */
function matmul(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  acc: boolean,
) {
  gemm(ta, tb, m, n, k, a, 0, b, 0, c, 0, 1, acc);
}

/**
 * Forward: out = act(scale ⊙ (W * x) + bias + residual), scale and bias per output channel (BN folding, see
 * nn/fusion.ts), residual shaped as out (a residual block's shortcut).
 */
export function convNd(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  out: FloatArray,
  g: ConvNd,
  epilogue: ConvEpilogue = 'none',
  scale: FloatArray | null = null,
  residual: FloatArray | null = null,
): void {
  const { cg, ocg, kdim, spatial, inVol } = sizes(g);
  if (g.n === 0 || out.length === 0) return; // nothing to write: no workspace for an empty batch
  const col = makeCol(x, kdim, spatial);
  const t = taps(g);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      unroll(x, b * g.c * inVol, gr * cg, cg, inVol, t, col, false);
      // out[b, group gr] [ocg, spatial] = W_g [ocg, kdim] · col [kdim, spatial]
      const outG = out.subarray((b * g.oc + gr * ocg) * spatial, (b * g.oc + (gr + 1) * ocg) * spatial);
      matmul(false, false, ocg, spatial, kdim, w.subarray(gr * ocg * kdim, (gr + 1) * ocg * kdim), col, outG, false);
    }
    if (bias !== null || scale !== null) {
      for (let o = 0; o < g.oc; o++) {
        const base = (b * g.oc + o) * spatial;
        const bv = bias ? bias[o] : 0,
          sv = scale ? scale[o] : 1;
        for (let s = 0; s < spatial; s++) out[base + s] = out[base + s] * sv + bv;
      }
    }
  }
  if (residual !== null) for (let i = 0; i < out.length; i++) out[i] += residual[i];
  if (epilogue === 'relu') {
    for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = 0;
  } else if (epilogue !== 'none') {
    // relu6 / hardswish: exactly the unary kernel the unfused model would run after the convolution
    const act = unaryFn(epilogue, {});
    for (let i = 0; i < out.length; i++) out[i] = act(out[i]);
  }
}

/** Gradient to the input (also the forward of the transposed convolution): gx = col2im(Wᵀ · gy), overwriting gx. */
export function convNdBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvNd): void {
  const { cg, ocg, kdim, spatial, inVol } = sizes(g);
  gx.fill(0);
  if (g.n === 0 || spatial === 0) return;
  const col = makeCol(gy, kdim, spatial);
  const t = taps(g);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      // col [kdim, spatial] = W_gᵀ [kdim, ocg] · gy_g [ocg, spatial]
      const gyG = gy.subarray((b * g.oc + gr * ocg) * spatial, (b * g.oc + (gr + 1) * ocg) * spatial);
      matmul(true, false, kdim, spatial, ocg, w.subarray(gr * ocg * kdim, (gr + 1) * ocg * kdim), gyG, col, false);
      unroll(gx, b * g.c * inVol, gr * cg, cg, inVol, t, col, true);
    }
  }
}

/** Gradient to the weight: gW_g = Σ_samples gy_g · im2col(x)ᵀ, overwriting gw. */
export function convNdBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: ConvNd): void {
  const { cg, ocg, kdim, spatial, inVol } = sizes(g);
  gw.fill(0);
  if (g.n === 0 || spatial === 0) return;
  const col = makeCol(x, kdim, spatial);
  const t = taps(g);
  for (let b = 0; b < g.n; b++) {
    for (let gr = 0; gr < g.groups; gr++) {
      unroll(x, b * g.c * inVol, gr * cg, cg, inVol, t, col, false);
      // gW_g [ocg, kdim] += gy_g [ocg, spatial] · colᵀ [spatial, kdim]
      const gyG = gy.subarray((b * g.oc + gr * ocg) * spatial, (b * g.oc + (gr + 1) * ocg) * spatial);
      matmul(false, true, ocg, kdim, spatial, gyG, col, gw.subarray(gr * ocg * kdim, (gr + 1) * ocg * kdim), true);
    }
  }
}

// The Backend entry points, one function for both ranks each: the geometry onto the one N-d body.
function conv(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  out: FloatArray,
  g: Conv2dGeometry | Conv3dGeometry,
  epilogue: ConvEpilogue = 'none',
  scale: FloatArray | null = null,
  _packed: unknown = null,
  residual: FloatArray | null = null,
): void {
  convNd(x, w, bias, out, convNdOf(g), epilogue, scale, residual);
}
const backwardInput = (gy: FloatArray, w: FloatArray, gx: FloatArray, g: Conv2dGeometry | Conv3dGeometry): void =>
  convNdBackwardInput(gy, w, gx, convNdOf(g));
const backwardWeight = (x: FloatArray, gy: FloatArray, gw: FloatArray, g: Conv2dGeometry | Conv3dGeometry): void =>
  convNdBackwardWeight(x, gy, gw, convNdOf(g));
export {
  conv as conv2d,
  conv as conv3d,
  backwardInput as conv2dBackwardInput,
  backwardInput as conv3dBackwardInput,
  backwardWeight as conv2dBackwardWeight,
  backwardWeight as conv3dBackwardWeight,
};
