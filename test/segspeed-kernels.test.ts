/**
 * Kernel paths added for the W6 speed work (issue 15 item 9), on every accelerated build against the float64
 * reference: the row-wise strided binary kernel (autograd sums cat's narrowed gradients with it) and the tap-wise
 * dilated convolution (DeepLabv3's ASPP), each into zeroed and NaN-poisoned outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import type { Backend, Conv2dGeometry, ConvEpilogue } from '../src/backend/types.ts';
import { convGeometry } from '../src/backend/selfcheck.ts';
import { nativeConvPlan, nativeIsas } from '../src/backend/native.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import { acceleratedBuilds } from './helpers.ts';

const { builds } = acceleratedBuilds();

function randomArray(n: number, seed: number): Float32Array {
  const g = new tt.Generator(seed);
  return tt.randn([n], { generator: g }).dataView() as Float32Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/** Row-major strides of `shape` embedded in a larger tensor: dims' extents `full` (≥ shape). */
function embeddedStrides(full: number[]): number[] {
  const s = new Array<number>(full.length).fill(1);
  for (let i = full.length - 2; i >= 0; i--) s[i] = s[i + 1] * full[i + 1];
  return s;
}

test('binary on narrowed (row-strided) operands matches the reference on every build', () => {
  // [n, c, h, w] views of [n, cFull, h, w] buffers at channel offsets, as cat's backward hands them out; the
  // second case broadcasts b over the batch (stride 0 above the dense run), the third has runs of exactly MIN_ROW.
  const cases: { shape: number[]; aFull: number[]; aOff: number; bFull: number[]; bOff: number; bBatch0?: boolean }[] =
    [
      { shape: [2, 3, 16, 17], aFull: [2, 5, 16, 17], aOff: 2 * 16 * 17, bFull: [2, 7, 16, 17], bOff: 16 * 17 },
      { shape: [3, 2, 20, 20], aFull: [3, 4, 20, 20], aOff: 400, bFull: [1, 2, 20, 20], bOff: 0, bBatch0: true },
      { shape: [2, 4, 256], aFull: [2, 9, 256], aOff: 256 * 3, bFull: [2, 4, 256], bOff: 0 },
    ];
  for (const [name, be] of builds)
    for (const [ci, c] of cases.entries())
      for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
        const n = c.shape.reduce((p, d) => p * d, 1);
        const aBuf = randomArray(
          c.aFull.reduce((p, d) => p * d, 1),
          1 + ci,
        );
        const bBuf = randomArray(
          c.bFull.reduce((p, d) => p * d, 1),
          100 + ci,
        );
        const aStrides = embeddedStrides(c.aFull);
        const bStrides = embeddedStrides(c.bFull);
        if (c.bBatch0) bStrides[0] = 0;
        const a = aBuf.subarray(c.aOff),
          b = bBuf.subarray(c.bOff);
        const want = new Float64Array(n);
        ref.binary(op, Float64Array.from(a), aStrides, Float64Array.from(b), bStrides, want, c.shape);
        for (const fill of [0, NaN]) {
          const got = new Float32Array(n).fill(fill);
          (be as Backend).binary(op, a, aStrides, b, bStrides, got, c.shape);
          assert.ok(maxAbsDiff(got, want) < 1e-5 * (op === 'div' ? 1e3 : 1), `${name} case ${ci} ${op} fill ${fill}`);
        }
      }
});

test('autograd sums a cat-narrowed gradient with a dense one on the accelerated backend', () => {
  // x feeds both cat (whose backward narrows) and a product: x.grad = narrow of the cat gradient + 3·ones.
  const x = tt.randn([2, 4, 16, 16]).requiresGrad_(true);
  const other = tt.randn([2, 3, 16, 16]);
  const w = tt.randn([2, 7, 16, 16]);
  tt.cat([other, x], 1).mul(w).sum().add(x.mul(3).sum()).backward();
  const want = w.narrow(1, 3, 4).add(3);
  assert.ok(maxAbsDiff(x.grad!.dataView(), want.contiguous().dataView()) < 1e-6);
});

test('conv_transpose2d bias gradient from a narrowed output gradient (U-Net up-path) matches the reference', () => {
  // the transposed conv's output is concatenated, so its gradient arrives as a narrow view of cat's gradient
  const run = () => {
    tt.manualSeed(3);
    const x = tt.randn([2, 6, 5, 7]).requiresGrad_(true);
    const w = tt.randn([6, 4, 2, 2]).requiresGrad_(true);
    const b = tt.randn([4]).requiresGrad_(true);
    const skip = tt.randn([2, 3, 10, 14]);
    const up = tt.F.convTranspose2d(x, w, b, { stride: 2 });
    const mix = tt.randn([2, 7, 10, 14]);
    tt.cat([skip, up], 1).mul(mix).sum().backward();
    return [x.grad!, w.grad!, b.grad!].map((t) => Array.from(t.dataView()));
  };
  const want = tt.withBackend('reference', run);
  for (const [name, be] of builds) {
    const got = tt.withBackend(be, run);
    got.forEach((g, i) => assert.ok(maxAbsDiff(g, want[i]) < 1e-4, `${name} gradient ${i}`));
  }
});

/**
 * Dilated geometries the planner sends to the tap-wise form: ASPP-like (dilation ≥ the map's half), asymmetric
 * padding (bottom/right implied by oh/ow), non-square dilation, 5×5, ragged channels (≥ 16 both ways, so the
 * input gradient goes tap-wise too), two images, and a dilation beyond the map (only the centre tap live).
 */
const TAPWISE: Conv2dGeometry[] = [
  convGeometry(1, 24, 13, 11, 17, 3, { pad: 6, dilation: 6 }),
  convGeometry(2, 19, 9, 10, 21, 3, { pad: 5, dilation: 5 }),
  convGeometry(1, 17, 7, 7, 16, 3, { pad: 9, dilation: 9 }),
  convGeometry(1, 20, 12, 9, 18, 5, { pad: 6, dilation: 3 }),
  { ...convGeometry(2, 16, 11, 14, 23, 3, { pad: 4, dilation: 4 }), dilationW: 5, padW: 3, ow: 14 + 3 + 4 - 10 },
  { ...convGeometry(1, 33, 10, 10, 19, 3, { pad: 7, dilation: 7 }), padH: 5, oh: 10 + 5 + 9 - 14 },
];

function f64(a: Float32Array): Float64Array {
  return Float64Array.from(a);
}

test('tap-wise dilated conv: forward (with epilogues) and input gradient on every build against float64', () => {
  const isas = nativeIsas();
  for (const [gi, g] of TAPWISE.entries()) {
    for (const isa of isas) {
      assert.equal(nativeConvPlan(isa, g, 'forward'), 'tapwise', `native-${isa} forward plan of case ${gi}`);
      assert.equal(nativeConvPlan(isa, g, 'input'), 'tapwise', `native-${isa} input plan of case ${gi}`);
    }
    const x = randomArray(g.n * g.c * g.h * g.w, 10 + gi),
      w = randomArray(g.oc * g.c * g.kh * g.kw, 20 + gi),
      bias = randomArray(g.oc, 30 + gi),
      gy = randomArray(g.n * g.oc * g.oh * g.ow, 40 + gi),
      scale = randomArray(g.oc, 50 + gi).map((v) => 3 * v);
    const epilogue: ConvEpilogue = (['none', 'relu', 'relu6', 'hardswish'] as const)[gi % 4];
    const sc = epilogue === 'none' ? null : scale;
    const y64 = new Float64Array(g.n * g.oc * g.oh * g.ow),
      gx64 = new Float64Array(x.length);
    ref.conv2d(f64(x), f64(w), f64(bias), y64, g, epilogue, sc && f64(sc));
    ref.conv2dBackwardInput(f64(gy), f64(w), gx64, g);
    for (const [name, be] of builds)
      for (const fill of [0, NaN]) {
        const y = new Float32Array(y64.length).fill(fill),
          gx = new Float32Array(gx64.length).fill(fill);
        be.conv2d(x, w, bias, y, g, epilogue, sc);
        be.conv2dBackwardInput(gy, w, gx, g);
        const tol = 2e-5 * g.c * g.kh * g.kw;
        assert.ok(
          maxAbsDiff(y, y64) < tol * 6,
          `${name} case ${gi} forward (${epilogue}) fill ${fill}: ${maxAbsDiff(y, y64)}`,
        );
        assert.ok(
          maxAbsDiff(gx, gx64) < tol,
          `${name} case ${gi} input gradient fill ${fill}: ${maxAbsDiff(gx, gx64)}`,
        );
      }
  }
});

test('DeepLab-shaped dilated convs keep their plans: ASPP tap-wise, the backbone on Winograd phases', () => {
  for (const isa of nativeIsas()) {
    for (const d of [12, 24, 36])
      for (const dir of ['forward', 'forward-packed'] as const)
        assert.equal(
          nativeConvPlan(isa, convGeometry(1, 2048, 32, 32, 256, 3, { pad: d, dilation: d }), dir),
          'tapwise',
        );
    // dilation 2 and 4 at 32×32: 4 phase images of 16×16 and 16 of 8×8, 256 tiles either way
    for (const [c, d] of [
      [256, 2],
      [512, 4],
    ])
      for (const dir of ['forward', 'forward-packed'] as const)
        assert.equal(nativeConvPlan(isa, convGeometry(1, c, 32, 32, c, 3, { pad: d, dilation: d }), dir), 'winograd');
  }
});
