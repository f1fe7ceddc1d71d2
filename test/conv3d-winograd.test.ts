/**
 * The 3×3×3 Winograd conv3d kernel (native/src/kernels/conv3d_winograd.inc.c) on every kernel build: PyTorch 1.13
 * goldens through tt.F.conv3d; the kernel against the float64 reference on odd sizes (maps off the 2×2 output tile
 * and the GEMM row groups, depth 1, 2, 3 and more, channel counts off the vector width, unequal and deep padding)
 * into NaN-poisoned outputs, with Winograd's error bounded as the 2-D Winograd tests bound it; that the backend
 * routes exactly the geometries it serves to the kernel; one thread against two, bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tt from '../src/index.ts';
import { packConv3dGeometry, type Conv3dGeometry } from '../src/backend/kernels.gen.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import {
  makeAcceleratedBackend,
  transposedConv3dGeometry,
  winograd3dServes,
  type RawKernels,
} from '../src/backend/accel.ts';
import { NATIVE_ADDON_PATH, nativeIsas } from '../src/backend/native.ts';
import { acceleratedBuilds, assertClose, inputsOf, loadFixtures } from './helpers.ts';

const { builds, missing } = acceleratedBuilds();

test('conv3d Winograd builds under test', () => {
  console.log(`# conv3d Winograd on: ${[...builds.keys()].join(', ')}`);
  for (const m of missing) console.log(`# not tested here — ${m}`);
  assert.ok(builds.size > 0, 'no accelerated build to test');
});

/** The geometry of conv3d with a 3×3×3 kernel, stride 1 and padding (pD, pH, pW). */
function geom(n: number, c: number, d: number, h: number, w: number, oc: number, p = [1, 1, 1]): Conv3dGeometry {
  const [pD, pH, pW] = p;
  return {
    n,
    c,
    d,
    h,
    w,
    oc,
    kd: 3,
    kh: 3,
    kw: 3,
    od: d + 2 * pD - 2,
    oh: h + 2 * pH - 2,
    ow: w + 2 * pW - 2,
    strideD: 1,
    strideH: 1,
    strideW: 1,
    padD: pD,
    padH: pH,
    padW: pW,
    dilationD: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  };
}

/** Seeded uniform values in [-1, 1). */
function rand32(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

const sizes = (g: Conv3dGeometry) => ({
  x: g.n * g.c * g.d * g.h * g.w,
  w: g.oc * g.c * 27,
  y: g.n * g.oc * g.od * g.oh * g.ow,
});

/**
 * |out − exact| ≤ atol + rtol·|exact| with the 2-D Winograd tests' bound (test/backend.test.ts) for a reduction of
 * 27·c products: F(2×2, 3×3)'s transforms add a few roundings per term, well inside 2e-6 per term at these sizes.
 */
function assertNear(out: Float32Array, exact: Float64Array, c: number, what: string): void {
  const atol = 1e-4 + 2e-6 * 27 * c;
  for (let i = 0; i < exact.length; i++) {
    const err = Math.abs(out[i] - exact[i]);
    if (!(err <= atol + 1e-4 * Math.abs(exact[i])))
      assert.fail(`${what}: element ${i} is ${out[i]}, float64 reference ${exact[i]} (|err| ${err} > ${atol})`);
  }
}

// Odd sizes: maps narrower than a row group and wider than one (ragged groups and tiles), depth 1 and 2 (taps
// cut by the depth padding on both sides), depth padding 0 and deeper than the kernel reaches (bias-only output
// depths), channel counts off the vector width and the NR = 32 panel, enough depth to split into several tasks.
const CASES: { g: Conv3dGeometry; bias: boolean }[] = [
  { g: geom(1, 8, 1, 5, 7, 8), bias: true },
  { g: geom(2, 9, 2, 13, 11, 10), bias: false },
  { g: geom(1, 8, 3, 4, 4, 8), bias: true },
  { g: geom(1, 16, 2, 30, 29, 33), bias: true },
  { g: geom(2, 12, 7, 9, 17, 17), bias: true },
  { g: geom(1, 8, 4, 9, 9, 8, [0, 1, 1]), bias: false },
  { g: geom(1, 8, 4, 9, 9, 8, [2, 0, 2]), bias: true },
  { g: geom(1, 17, 5, 6, 20, 40, [3, 2, 1]), bias: true },
  { g: geom(1, 24, 9, 3, 2, 8), bias: true },
  { g: geom(1, 8, 1, 1, 1, 8), bias: true },
];

test('the backend serves exactly 3×3×3, stride 1, undilated, ungrouped conv3d with 8 to 128 channels by the kernel', () => {
  for (const { g } of CASES) assert.ok(winograd3dServes(g), JSON.stringify(g));
  const base = geom(1, 8, 4, 8, 8, 8);
  assert.ok(!winograd3dServes({ ...base, strideD: 2, od: 2 }), 'stride');
  assert.ok(!winograd3dServes({ ...base, dilationH: 2, oh: 4 }), 'dilation');
  assert.ok(!winograd3dServes({ ...base, groups: 2 }), 'groups');
  assert.ok(!winograd3dServes({ ...base, kd: 1, od: 6 }), 'kernel 1×3×3');
  assert.ok(!winograd3dServes({ ...base, c: 4 }), 'few input channels');
  assert.ok(!winograd3dServes({ ...base, oc: 7 }), 'few output channels');
  assert.ok(winograd3dServes({ ...base, c: 128, oc: 128 }), '128×128 channels');
  assert.ok(!winograd3dServes({ ...base, c: 256, oc: 128 }), 'beyond 128×128 channels');
  assert.ok(!winograd3dServes({ ...base, od: 0 }), 'empty output');
});

test('conv3d Winograd against the float64 reference on every build (NaN-poisoned outputs)', () => {
  for (const [name, be] of builds)
    for (const [i, { g, bias }] of CASES.entries()) {
      const s = sizes(g);
      const x = rand32(s.x, 3 * i + 1),
        w = rand32(s.w, 3 * i + 2),
        b = bias ? rand32(g.oc, 3 * i + 3) : null;
      const out = new Float32Array(s.y).fill(NaN);
      be.conv3d(x, w, b, out, g);
      const exact = new Float64Array(s.y);
      ref.conv3d(Float64Array.from(x), Float64Array.from(w), b && Float64Array.from(b), exact, g);
      assertNear(out, exact, g.c, `${name} ${JSON.stringify(g)}`);
    }
});

test('conv3d input gradient through the transposed Winograd convolution against the float64 reference (NaN-poisoned)', () => {
  // CASES with padding ≤ 2 (the transposed padding 2 − p must not be negative), plus W9-like channels
  const cases = [
    ...CASES.map((c) => c.g).filter((g) => g.padD <= 2 && g.padH <= 2 && g.padW <= 2),
    geom(1, 64, 3, 8, 9, 64),
  ];
  for (const g of cases) {
    const t = transposedConv3dGeometry(g);
    assert.ok(t !== null && winograd3dServes(t), `served transposed: ${JSON.stringify(g)}`);
  }
  assert.equal(transposedConv3dGeometry({ ...geom(1, 8, 4, 9, 9, 8), strideH: 2, oh: 4 }), null, 'stride 2');
  assert.equal(transposedConv3dGeometry(geom(1, 8, 5, 6, 6, 8, [3, 1, 1])), null, 'padding 3');
  for (const [name, be] of builds)
    for (const [i, g] of cases.entries()) {
      const s = sizes(g);
      const gy = rand32(s.y, 5 * i + 1),
        w = rand32(s.w, 5 * i + 2);
      const gx = new Float32Array(s.x).fill(NaN);
      be.conv3dBackwardInput(gy, w, gx, g);
      const exact = new Float64Array(s.x);
      ref.conv3dBackwardInput(Float64Array.from(gy), Float64Array.from(w), exact, g);
      assertNear(gx, exact, g.oc, `${name} input gradient ${JSON.stringify(g)}`);
    }
});

test('the native kernel runs for served geometries, refuses the others and leaves their output alone', () => {
  if (nativeIsas().length === 0) return;
  const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as { kernels(isa: string): RawKernels };
  for (const isa of nativeIsas()) {
    const raw = addon.kernels(isa);
    let calls = 0;
    // the backend over a spy of the raw kernels: W9-like shapes must reach conv3dWinograd
    const counted = (...a: Parameters<RawKernels['conv3dWinograd']>) => {
      calls++;
      return raw.conv3dWinograd(...a);
    };
    // (the addon's kernel objects are frozen: the proxy wraps an empty target and reads through to them)
    const spy = new Proxy({} as RawKernels, {
      get: (_, p) => (p === 'conv3dWinograd' ? counted : (Reflect.get(raw, p) as unknown)),
    });
    const be = makeAcceleratedBackend(`spy-${isa}`, spy);
    const g = geom(1, 8, 3, 6, 6, 8);
    const s = sizes(g);
    be.conv3d(rand32(s.x, 1), rand32(s.w, 2), null, new Float32Array(s.y), g);
    assert.equal(calls, 1, `${isa}: the served geometry went to the kernel`);
    const strided = { ...g, strideH: 2, oh: 2 };
    be.conv3d(rand32(s.x, 1), rand32(s.w, 2), null, new Float32Array(s.y), strided);
    assert.equal(calls, 1, `${isa}: a strided geometry stays on the lowered path`);
    // the C entry point checks the geometry itself: false, and nothing written
    const out = new Float32Array(s.y).fill(7);
    assert.equal(raw.conv3dWinograd(rand32(s.x, 1), rand32(s.w, 2), null, out, packConv3dGeometry(strided)), false);
    assert.ok(
      out.every((v) => v === 7),
      `${isa}: untouched`,
    );
  }
});

test('conv3d Winograd matches the PyTorch goldens through tt.F.conv3d on every build', () => {
  const fixtures = loadFixtures('conv3d_winograd');
  assert.ok(fixtures.size >= 3);
  for (const [name, be] of builds)
    for (const c of fixtures.values()) {
      const inp = inputsOf(c);
      const padding = c.params.padding as [number, number, number];
      const [n, ci, d, h, w] = c.inputs.x.shape;
      assert.ok(winograd3dServes(geom(n, ci, d, h, w, c.inputs.w.shape[0], padding)), c.name);
      const y = tt.withBackend(be, () => tt.F.conv3d(inp.x, inp.w, inp.b ?? null, { padding }));
      assertClose(y, c.output, { atol: 1e-4 + 2e-6 * 27 * ci, rtol: 1e-4, what: `${name} ${c.name}` });
    }
});

test('conv3d Winograd with two threads equals one thread, bit for bit (native and threaded wasm)', () => {
  const before = tt.getNumThreads();
  const g = geom(2, 16, 6, 20, 18, 24);
  const s = sizes(g);
  const x = rand32(s.x, 11),
    w = rand32(s.w, 12),
    b = rand32(g.oc, 13);
  try {
    for (const [name, be] of builds) {
      const runs = [1, 2].map((threads) => {
        tt.setNumThreads(threads);
        const out = new Float32Array(s.y).fill(NaN);
        be.conv3d(x, w, b, out, g);
        return out;
      });
      assert.deepEqual(runs[1], runs[0], name);
    }
  } finally {
    tt.setNumThreads(before);
  }
});
