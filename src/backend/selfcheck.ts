/**
 * Self-check of an accelerated kernel build against a baseline build, run once before a build is chosen by
 * default (src/backend/native.ts). A build whose wide-vector code is wrong on this CPU — the AVX-512 convolution
 * that wrote past its tile on Zen 5 while every AVX2 machine passed — is then refused with a warning instead of
 * silently giving wrong answers.
 *
 * The cases are small (≈ 1 ms in C, ≈ 3 M multiply-adds in all) but chosen so that each convolution algorithm of
 * the planner runs in each direction at the tile sizes of every vector width (test/kernels-random.test.ts checks
 * that this list still reaches every algorithm), plus GEMM edges, pooling with indices and batch norm. Outputs
 * are written into views with guard zones on both sides, so a kernel that writes past its output is caught too.
 */
import type { Backend, Conv2dGeometry, Pool2dGeometry } from './types.js';

/** A conv geometry from the usual PyTorch arguments (symmetric padding). */
export function convGeometry(
  n: number,
  c: number,
  h: number,
  w: number,
  oc: number,
  k: number,
  o: { stride?: number; pad?: number; dilation?: number; groups?: number } = {},
): Conv2dGeometry {
  const s = o.stride ?? 1,
    p = o.pad ?? 0,
    d = o.dilation ?? 1;
  const oh = Math.floor((h + 2 * p - d * (k - 1) - 1) / s) + 1,
    ow = Math.floor((w + 2 * p - d * (k - 1) - 1) / s) + 1;
  return {
    n,
    c,
    h,
    w,
    oc,
    kh: k,
    kw: k,
    oh,
    ow,
    strideH: s,
    strideW: s,
    padH: p,
    padW: p,
    dilationH: d,
    dilationW: d,
    groups: o.groups ?? 1,
  };
}

/**
 * Geometries that reach every algorithm of the conv planner in each direction on the 4-, 8- and 16-float builds:
 * padded-width with a column block ending inside an AVX-512 tile, Winograd, the dense form, the batched
 * lowering with dead taps, strided im2col, depthwise, the weight-gradient GEMM and dot forms (incl. AVX-512's
 * nine-tap 3×3 kernel), channel counts off every tile size.
 */
export const SELF_CHECK_CONVS: readonly Conv2dGeometry[] = [
  convGeometry(2, 3, 9, 11, 5, 3, { pad: 1 }),
  convGeometry(1, 16, 32, 32, 17, 3, { pad: 1 }), // 16 tiles a row: Winograd's weight gradient on 16-wide builds too
  convGeometry(3, 9, 2, 2, 7, 3, { pad: 1 }),
  convGeometry(5, 6, 3, 3, 10, 3, { pad: 1 }),
  convGeometry(2, 6, 9, 8, 11, 1, { stride: 2 }),
  convGeometry(1, 3, 35, 36, 5, 1, { stride: 2 }),
  convGeometry(2, 5, 10, 9, 5, 3, { pad: 1, stride: 2, groups: 5 }),
  convGeometry(2, 13, 10, 12, 50, 3, { pad: 1 }),
  convGeometry(2, 4, 11, 7, 6, 5, { pad: 2, dilation: 2, groups: 2 }),
  convGeometry(2, 3, 17, 13, 7, 3, { pad: 1, stride: 3 }),
  convGeometry(2, 7, 9, 10, 17, 1),
];

const GUARD = 16;
const SENTINEL = 0x7fc0beef; // a NaN payload no kernel computes

/** A Float32Array of n elements inside a larger buffer whose margins hold a sentinel. */
function guarded(n: number): Float32Array {
  const buf = new Float32Array(n + 2 * GUARD);
  new Int32Array(buf.buffer).fill(SENTINEL);
  return buf.subarray(GUARD, GUARD + n);
}

function guardsIntact(v: Float32Array): boolean {
  const all = new Int32Array(v.buffer);
  for (let i = 0; i < GUARD; i++) if (all[i] !== SENTINEL || all[all.length - 1 - i] !== SENTINEL) return false;
  return true;
}

/** Deterministic values in [-1, 1) (xorshift), independent of the library's generator. */
function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = (s >>> 0) / 2147483648 - 1;
  }
  return a;
}

/** null when `got` matches `want` within float32 summation error for reductions of length k, else what differs. */
function compare(what: string, got: Float32Array, want: Float32Array, k: number): string | null {
  if (!guardsIntact(got)) return `${what}: wrote outside its output`;
  const atol = 1e-5 + 2e-6 * k;
  for (let i = 0; i < got.length; i++) {
    const e = want[i],
      a = got[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    if (!(Math.abs(a - e) <= atol + 1e-4 * Math.abs(e))) return `${what}: element ${i} is ${a}, expected ${e}`;
  }
  return null;
}

function geomText(g: Conv2dGeometry): string {
  return `n${g.n} c${g.c} ${g.h}×${g.w} oc${g.oc} k${g.kh}×${g.kw} s${g.strideH} p${g.padH} d${g.dilationH} g${g.groups}`;
}

function checkConv(b: Backend, base: Backend, g: Conv2dGeometry, seed: number): string | null {
  const cg = g.c / g.groups,
    kdim = cg * g.kh * g.kw;
  const xs = g.n * g.c * g.h * g.w,
    ws = g.oc * kdim,
    ys = g.n * g.oc * g.oh * g.ow;
  const x = filled(xs, seed),
    w = filled(ws, seed + 1),
    bias = filled(g.oc, seed + 2),
    gy = filled(ys, seed + 3);
  const what = geomText(g);
  const y = guarded(ys),
    y0 = new Float32Array(ys);
  b.conv2d(x, w, bias, y, g, 'none');
  base.conv2d(x, w, bias, y0, g, 'none');
  const gx = guarded(xs),
    gx0 = new Float32Array(xs);
  b.conv2dBackwardInput(gy, w, gx, g);
  base.conv2dBackwardInput(gy, w, gx0, g);
  const gw = guarded(ws),
    gw0 = new Float32Array(ws);
  b.conv2dBackwardWeight(x, gy, gw, g);
  base.conv2dBackwardWeight(x, gy, gw0, g);
  return (
    compare(`conv2d ${what}`, y, y0, kdim) ??
    compare(`conv2d input gradient ${what}`, gx, gx0, (g.oc / g.groups) * g.kh * g.kw) ??
    compare(`conv2d weight gradient ${what}`, gw, gw0, g.n * g.oh * g.ow)
  );
}

function checkGemm(b: Backend, base: Backend): string | null {
  for (const [m, n, k, ta, tb] of [
    [13, 50, 37, false, false],
    [9, 97, 130, true, false],
    [70, 17, 5, false, true],
  ] as const) {
    const a = filled(m * k, m),
      bb = filled(k * n, n),
      c = guarded(m * n),
      c0 = new Float32Array(m * n);
    b.gemm(ta, tb, m, n, k, a, 0, bb, 0, c, 0, 1, false);
    base.gemm(ta, tb, m, n, k, a, 0, bb, 0, c0, 0, 1, false);
    const bad = compare(`gemm ${m}×${n}×${k}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}`, c, c0, k);
    if (bad) return bad;
  }
  return null;
}

function checkPool(b: Backend, base: Backend): string | null {
  const g: Pool2dGeometry = {
    n: 2,
    c: 3,
    h: 37,
    w: 35,
    oh: 18,
    ow: 17,
    kh: 3,
    kw: 3,
    strideH: 2,
    strideW: 2,
    padH: 1,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
  };
  const planes = g.n * g.c,
    xs = planes * g.h * g.w,
    ys = planes * g.oh * g.ow;
  const x = filled(xs, 7);
  const y = guarded(ys),
    y0 = new Float32Array(ys),
    idx = new Int32Array(ys),
    idx0 = new Int32Array(ys);
  b.maxPool2d(x, y, idx, g);
  base.maxPool2d(x, y0, idx0, g);
  const bad = compare('max pool 3×3/2', y, y0, 1);
  if (bad) return bad;
  for (let i = 0; i < ys; i++)
    if (idx[i] !== idx0[i]) return `max pool 3×3/2: index ${i} is ${idx[i]}, expected ${idx0[i]}`;
  const a = guarded(ys),
    a0 = new Float32Array(ys);
  b.avgPool2d(x, a, g, true, 0);
  base.avgPool2d(x, a0, g, true, 0);
  return compare('avg pool 3×3/2', a, a0, 9);
}

function checkBatchNorm(b: Backend, base: Backend): string | null {
  const n = 3,
    c = 5,
    hw = 37,
    size = n * c * hw;
  const x = filled(size, 11),
    gy = filled(size, 12),
    w = filled(c, 13);
  const mean = guarded(c),
    variance = guarded(c),
    mean0 = new Float32Array(c),
    var0 = new Float32Array(c);
  b.channelStats(x, mean, variance, n, c, hw);
  base.channelStats(x, mean0, var0, n, c, hw);
  const invStd = var0.map((v) => 1 / Math.sqrt(v + 1e-5));
  const gx = guarded(size),
    gx0 = new Float32Array(size),
    gw = guarded(c),
    gw0 = new Float32Array(c),
    gb = guarded(c),
    gb0 = new Float32Array(c);
  b.batchNormBackward(x, gy, mean0, invStd, w, gx, gw, gb, n, c, hw);
  base.batchNormBackward(x, gy, mean0, invStd, w, gx0, gw0, gb0, n, c, hw);
  return (
    compare('batch-norm mean', mean, mean0, n * hw) ??
    compare('batch-norm variance', variance, var0, n * hw) ??
    compare('batch-norm input gradient', gx, gx0, n * hw) ??
    compare('batch-norm weight gradient', gw, gw0, n * hw) ??
    compare('batch-norm bias gradient', gb, gb0, n * hw)
  );
}

/**
 * Runs the self-check of `candidate` against `baseline` (both float32 kernel builds; the baseline is the portable
 * build, itself tested against the float64 reference by the test suite). Returns null when they agree, else a
 * one-line description of the first disagreement.
 */
export function selfCheck(candidate: Backend, baseline: Backend): string | null {
  if (candidate === baseline) return null;
  try {
    let seed = 1;
    for (const g of SELF_CHECK_CONVS) {
      const bad = checkConv(candidate, baseline, g, (seed += 4));
      if (bad) return bad;
    }
    return checkGemm(candidate, baseline) ?? checkPool(candidate, baseline) ?? checkBatchNorm(candidate, baseline);
  } catch (err) {
    return `threw ${err instanceof Error ? err.message : String(err)}`;
  }
}
