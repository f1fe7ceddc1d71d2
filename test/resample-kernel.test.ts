/**
 * The resample2d kernels (F.interpolate's nearest and bilinear loops and their adjoint) on every native
 * instruction-set build and the four wasm modules: seeded random geometries (up- and down-sampling, output sizes
 * given and scale factors given, alignCorners both ways, single rows and columns; rows over 4,096 wide) against
 * the reference body on
 * the same float32 data into NaN-poisoned outputs; the adjoint identity ⟨Ax, g⟩ = ⟨x, Aᵀg⟩; one thread and two
 * bit for bit; and the geometry checks before any kernel runs.
 *
 *   TATAMI_RANDOM_LONG=1   ten times as many random cases;  TATAMI_RANDOM_SEED=s  another seed
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import type { Interpolate2dGeometry, InterpolateMode } from '../src/backend/types.ts';
import { acceleratedBuilds, xorshift32 } from './helpers.ts';

const CASES = process.env.TATAMI_RANDOM_LONG ? 2000 : 200;
const SEED = Number(process.env.TATAMI_RANDOM_SEED ?? 20261202);
const { builds, missing } = acceleratedBuilds();

test('resample2d builds under test', () => {
  console.log(`# resample2d on: ${[...builds.keys()].join(', ')}`);
  for (const m of missing) console.log(`# not tested here — ${m}`);
  assert.ok(builds.size > 0, 'no accelerated build to test');
});

type Rng = ReturnType<typeof xorshift32>;

/** A random geometry: sizes given or scale factors given (then the output size PyTorch derives from them). */
function randomGeometry(r: Rng): Interpolate2dGeometry {
  const planes = r.int(1, 6),
    h = r.int(1, 24),
    w = r.int(1, 24);
  const alignCorners = r.unit() < 0.5;
  if (r.unit() < 0.5) {
    const scaleH = r.pick([0.5, 0.6, 1, 1.7, 2, 2.5, 4, 8]),
      scaleW = r.pick([0.5, 0.75, 1, 1.5, 2, 3, 8]);
    const oh = Math.max(1, Math.floor(h * scaleH)),
      ow = Math.max(1, Math.floor(w * scaleW));
    return { planes, h, w, oh, ow, scaleH, scaleW, alignCorners };
  }
  return { planes, h, w, oh: r.int(1, 48), ow: r.int(1, 48), scaleH: null, scaleW: null, alignCorners };
}

const fill = (r: Rng, n: number) => Float32Array.from({ length: n }, () => r.unit() * 4 - 2);
const poisoned = (n: number) => new Float32Array(n).fill(NaN);

function close(got: Float32Array, want: Float32Array, what: string, atol = 1e-6): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    // float32 arithmetic in the kernel, double in the reference (both round the same float32 taps)
    if (!(Math.abs(got[i] - want[i]) <= atol + 1e-5 * Math.abs(want[i])))
      assert.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

test('resample2d forward and adjoint match the reference on random geometries, every build', () => {
  const r = xorshift32(SEED);
  for (let c = 0; c < CASES; c++) {
    const g = randomGeometry(r);
    const mode: InterpolateMode = r.unit() < 0.5 ? 'nearest' : 'bilinear';
    const nIn = g.planes * g.h * g.w,
      nOut = g.planes * g.oh * g.ow;
    const x = fill(r, nIn),
      gy = fill(r, nOut);
    const want = new Float32Array(nOut),
      wantGx = new Float32Array(nIn);
    ref.interpolate2d(mode, x, want, g);
    ref.interpolate2dBackward(mode, gy, wantGx, g);
    const what = `case ${c} ${mode} ${JSON.stringify(g)}`;
    for (const [name, be] of builds) {
      const out = poisoned(nOut),
        gx = poisoned(nIn);
      be.interpolate2d(mode, x, out, g);
      be.interpolate2dBackward(mode, gy, gx, g);
      close(out, want, `${name} forward ${what}`);
      close(gx, wantGx, `${name} backward ${what}`);
      // ⟨Ax, gy⟩ = ⟨x, Aᵀgy⟩ in double
      let lhs = 0,
        rhs = 0;
      for (let i = 0; i < nOut; i++) lhs += out[i] * gy[i];
      for (let i = 0; i < nIn; i++) rhs += x[i] * gx[i];
      assert.ok(Math.abs(lhs - rhs) <= 1e-4 * (1 + Math.abs(lhs)), `${name} adjoint ${what}: ${lhs} vs ${rhs}`);
    }
  }
});

test('resample2d on rows over 4,096 wide (the separable forward sizes its scratch to the row), every build', () => {
  const r = xorshift32(SEED + 3);
  for (const g of [
    { planes: 2, h: 3, w: 5, oh: 7, ow: 4099, scaleH: null, scaleW: null, alignCorners: false },
    { planes: 1, h: 4, w: 2, oh: 3, ow: 4096, scaleH: null, scaleW: null, alignCorners: true },
  ] satisfies Interpolate2dGeometry[]) {
    const x = fill(r, g.planes * g.h * g.w);
    const want = new Float32Array(g.planes * g.oh * g.ow);
    ref.interpolate2d('bilinear', x, want, g);
    for (const [name, be] of builds) {
      const out = poisoned(want.length);
      be.interpolate2d('bilinear', x, out, g);
      close(out, want, `${name} bilinear ${JSON.stringify(g)}`);
    }
  }
});

test('F.interpolate and its gradient run the kernel on a segmentation-sized upsampling', () => {
  // DeepLab's head: 21 class planes 32 → 256, and YOLOX's nearest 2× of a [8, 64, 8, 8] map.
  const r = xorshift32(SEED + 1);
  for (const [mode, shape, size] of [
    ['bilinear', [1, 21, 32, 32], [256, 256]],
    ['nearest', [8, 64, 8, 8], [16, 16]],
  ] as const) {
    const x = tt.tensor(
      fill(
        r,
        shape.reduce((a: number, b: number) => a * b, 1),
      ),
      [...shape],
    );
    // the reference backend on the same float32 tensor (the same float32 taps; double accumulation)
    const xRef = x.clone().requiresGrad_(true);
    const yRef = tt.withBackend('reference', () => tt.F.interpolate(xRef, { size: [...size], mode }));
    const gy = tt.tensor(fill(r, yRef.numel()), yRef.shape);
    tt.withBackend('reference', () => yRef.backward(gy));
    for (const [name, be] of builds) {
      tt.withBackend(be, () => {
        const xr = x.clone().requiresGrad_(true);
        const y = tt.F.interpolate(xr, { size: [...size], mode });
        y.backward(gy);
        close(y.dataView() as Float32Array, yRef.dataView() as Float32Array, `${name} ${mode} forward`);
        // each input pixel gathers 64 products here, summed in float32 by the kernel: ~64 roundings of |v| ≤ 2
        close(xr.grad!.dataView() as Float32Array, xRef.grad!.dataView() as Float32Array, `${name} ${mode} grad`, 2e-5);
      });
    }
  }
});

test('resample2d with two threads equals one thread, bit for bit', () => {
  const before = tt.getNumThreads();
  const r = xorshift32(SEED + 2);
  const g: Interpolate2dGeometry = {
    planes: 6,
    h: 40,
    w: 36,
    oh: 160,
    ow: 150,
    scaleH: null,
    scaleW: null,
    alignCorners: false,
  };
  const x = fill(r, g.planes * g.h * g.w),
    gy = fill(r, g.planes * g.oh * g.ow);
  try {
    for (const [name, be] of builds) {
      for (const mode of ['nearest', 'bilinear'] as const) {
        const runs = [1, 2].map((threads) => {
          tt.setNumThreads(threads);
          const out = poisoned(gy.length),
            gx = poisoned(x.length);
          be.interpolate2d(mode, x, out, g);
          be.interpolate2dBackward(mode, gy, gx, g);
          return [out, gx];
        });
        assert.deepEqual(runs[1], runs[0], `${name} ${mode}`);
      }
    }
  } finally {
    tt.setNumThreads(before);
  }
});

test('resample2d refuses operands shorter than the geometry on every build', () => {
  const g: Interpolate2dGeometry = { planes: 2, h: 8, w: 8, oh: 16, ow: 16, scaleH: 2, scaleW: 2, alignCorners: false };
  for (const [name, be] of builds) {
    assert.throws(
      () => be.interpolate2d('bilinear', new Float32Array(100), new Float32Array(512), g),
      /interpolate2d: input has 100 elements but the kernel's geometry needs 128/,
      name,
    );
    assert.throws(
      () => be.interpolate2dBackward('nearest', new Float32Array(511), new Float32Array(128), g),
      /interpolate2d: output has 511 elements but the kernel's geometry needs 512/,
      name,
    );
  }
});
