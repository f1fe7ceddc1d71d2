/**
 * The GEMV-shaped kernel paths of inference at small batch (issue 20), on every accelerated build (each native
 * instruction set and the four wasm modules) against the float64 reference, into zeroed and NaN-poisoned outputs:
 * - gemm with few rows of A against a transposed B (Linear at batch ≤ 8) and with a single column of B, which run
 *   as row-dot products (native/src/kernels/gemv.inc.c) instead of the packed GEMM;
 * - the 1×1 convolution on a 1×1 map (squeeze-excitation), on the same kernel, with the folded-BN epilogues;
 * - adaptive average pooling whose windows tile the input evenly, which runs on the average-pooling kernel.
 * Sizes are odd on purpose: k not a multiple of any vector width, row counts that leave partial 8-row and 4-row
 * blocks, and products large enough for the threaded split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import type { AdaptivePool2dGeometry, Backend, ConvEpilogue } from '../src/backend/types.ts';
import { convGeometry } from '../src/backend/selfcheck.ts';
import { nativeConvPlan, nativeIsas } from '../src/backend/native.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import { acceleratedBuilds, xorshift32 as rng } from './helpers.ts';

const { builds } = acceleratedBuilds();

function values(n: number, r: ReturnType<typeof rng>): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.unit() * 2 - 1;
  return a;
}
const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

/** The first element off by more than float32 rounding of a length-k sum allows, or null. */
function mismatch(actual: Float32Array, expected: Float64Array, k: number): string | null {
  const atol = 1e-5 + 2e-6 * k;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i],
      a = actual[i];
    if (!(Math.abs(a - e) <= atol + 1e-4 * Math.abs(e))) return `element ${i} is ${a}, expected ${e}`;
  }
  return null;
}

/** Runs `fn` into a zeroed and a NaN-poisoned output; both must agree bit for bit (no unwritten element). */
function twice(size: number, fn: (out: Float32Array) => void, what: string, fill?: Float32Array): Float32Array {
  const a = fill ? fill.slice() : new Float32Array(size);
  fn(a);
  if (fill) return a; // accumulation reads the output: poisoning it would poison the result
  const b = new Float32Array(size).fill(NaN);
  fn(b);
  for (let i = 0; i < size; i++)
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs between a zeroed and a NaN-poisoned run`);
  return a;
}

/** (m, n, k, batch, B shared, accumulate) cases of gemm(A, Bᵀ) with m ≤ 8, and of gemm(A, B) with n = 1. */
const GEMV_CASES: [number, number, number, number, boolean, boolean][] = [
  [1, 1, 1, 1, false, false],
  [1, 1000, 1280, 1, false, false], // MobileNetV2's classifier at batch 1 (threaded split when threads > 1)
  [8, 37, 67, 1, false, false],
  [3, 9, 3, 2, false, true],
  [5, 17, 300, 3, true, false],
  [2, 4, 16, 1, false, true],
  [7, 13, 129, 1, false, false],
  [4, 8, 17, 2, false, false],
  [6, 250, 961, 1, false, false],
  [8, 601, 1000, 1, false, false], // weights past ROWDOT_FAR (prefetched a block ahead), rows left past the tiles
];

test('gemm with m ≤ 8 against Bᵀ, and with one column of B, on every build against float64', () => {
  const r = rng(2027);
  for (const [m, n, k, batch, shared, acc] of GEMV_CASES) {
    for (const form of ['Bt', 'col'] as const) {
      // form 'col': A is [n, k] (the weight), B one column [k, 1]: C = A·b, the n == 1 shape of gemm
      const [mm, nn, tb] = form === 'Bt' ? [m, n, true] : [n, 1, false];
      const sa = mm * k,
        sb = shared ? 0 : k * nn,
        sc = mm * nn;
      const a = values(sa * batch, r),
        b = values(Math.max(sb * batch, k * nn), r),
        c0 = values(sc * batch, r);
      const want = f64(c0);
      ref.gemm(false, tb, mm, nn, k, f64(a), sa, f64(b), sb, want, sc, batch, acc);
      for (const [name, be] of builds) {
        const what = `${name} gemm ${form} m${mm} n${nn} k${k} batch ${batch}${shared ? ' shared B' : ''}${acc ? ' acc' : ''}`;
        const got = twice(
          sc * batch,
          (o) => be.gemm(false, tb, mm, nn, k, a, sa, b, sb, o, sc, batch, acc),
          what,
          acc ? c0 : undefined,
        );
        const bad = mismatch(got, want, k);
        if (bad) assert.fail(`${what}: ${bad}`);
      }
    }
  }
});

test('the GEMV path splits across threads like the serial one computes', () => {
  const r = rng(7);
  const [m, n, k] = [2, 1000, 1280];
  const a = values(m * k, r),
    b = values(n * k, r);
  const want = new Float64Array(m * n);
  ref.gemm(false, true, m, n, k, f64(a), 0, f64(b), 0, want, 0, 1, false);
  const before = tt.getNumThreads();
  try {
    for (const threads of [1, 2, 3]) {
      tt.setNumThreads(threads);
      for (const [name, be] of builds) {
        const got = twice(m * n, (o) => be.gemm(false, true, m, n, k, a, 0, b, 0, o, 0, 1, false), name);
        const bad = mismatch(got, want, k);
        if (bad) assert.fail(`${name} ${threads} threads: ${bad}`);
      }
    }
  } finally {
    tt.setNumThreads(before);
  }
});

test('1×1 convolution on a 1×1 map (squeeze-excitation) with folded-BN epilogues on every build', () => {
  const r = rng(99);
  const cases: [n: number, c: number, oc: number][] = [
    [1, 960, 240],
    [1, 240, 960],
    [8, 72, 24],
    [3, 17, 9],
    [9, 5, 70],
  ];
  for (const [ci, [n, c, oc]] of cases.entries()) {
    const g = convGeometry(n, c, 1, 1, oc, 1);
    for (const isa of nativeIsas()) assert.equal(nativeConvPlan(isa, g, 'forward'), 'pointwise', `native-${isa}`);
    const x = values(n * c, r),
      w = values(oc * c, r),
      bias = values(oc, r),
      scale = values(oc, r).map((v) => 2 * v);
    for (const epilogue of ['none', 'relu', 'relu6', 'hardswish'] as ConvEpilogue[]) {
      for (const withScale of [false, true]) {
        const sc = withScale ? scale : null;
        const bi = ci % 2 === 0 || withScale ? bias : null;
        const want = new Float64Array(n * oc);
        ref.conv2d(f64(x), f64(w), bi && f64(bi), want, g, epilogue, sc && f64(sc));
        for (const [name, be] of builds) {
          const what = `${name} conv 1×1 @1 n${n} ${c}→${oc} ${epilogue}${sc ? ' scaled' : ''}${bi ? ' bias' : ''}`;
          const got = twice(n * oc, (o) => (be as Backend).conv2d(x, w, bi, o, g, epilogue, sc), what);
          const bad = mismatch(got, want, c);
          if (bad) assert.fail(`${what}: ${bad}`);
        }
      }
    }
  }
});

test('adaptive average pooling with even windows (and uneven ones) on every build, forward and backward', () => {
  const r = rng(5);
  const cases: AdaptivePool2dGeometry[] = [
    { planes: 960, h: 7, w: 7, oh: 1, ow: 1 }, // global pooling: MobileNetV3's head and SE blocks
    { planes: 3, h: 56, w: 56, oh: 1, ow: 1 },
    { planes: 5, h: 12, w: 9, oh: 4, ow: 3 }, // kernel 3×3, stride 3
    { planes: 2, h: 14, w: 14, oh: 7, ow: 2 },
    { planes: 4, h: 10, w: 7, oh: 3, ow: 2 }, // uneven: the reference windows
  ];
  for (const g of cases) {
    const x = values(g.planes * g.h * g.w, r),
      gy = values(g.planes * g.oh * g.ow, r);
    const y64 = new Float64Array(gy.length),
      gx64 = new Float64Array(x.length);
    ref.adaptiveAvgPool2d(f64(x), y64, g);
    ref.adaptiveAvgPool2dBackward(f64(gy), gx64, g);
    for (const [name, be] of builds) {
      const what = `${name} adaptiveAvgPool2d ${g.planes}×${g.h}×${g.w} → ${g.oh}×${g.ow}`;
      const y = twice(gy.length, (o) => be.adaptiveAvgPool2d(x, o, g), what);
      const gx = twice(x.length, (o) => be.adaptiveAvgPool2dBackward(gy, o, g), `${what} backward`);
      const win = (g.h / g.oh) * (g.w / g.ow);
      for (const [got, want] of [
        [y, y64],
        [gx, gx64],
      ] as const) {
        const bad = mismatch(got, want, Math.ceil(win));
        if (bad) assert.fail(`${what}: ${bad}`);
      }
    }
  }
});
