/**
 * roiAlign on every kernel build: the torchvision 0.14 goldens (forward and backward through tt.ops.roiAlign) on
 * every native instruction-set build the CPU has (plus the portable 8- and 16-wide ones) and the four wasm modules;
 * a seeded randomized comparison of the roiAlign / roiAlignBackward kernels with the float64 reference body,
 * nasty boxes included (zero-area, inverted, partly or wholly outside the image, on the −1 / size borders, empty
 * lists), each run into zeroed and NaN-poisoned outputs that must come out bit-identical; the backward checked as
 * the exact adjoint of the forward on every build; the kernel boundary's refusals.
 *
 *   TATAMI_RANDOM_LONG=1   ten times as many random cases;  TATAMI_RANDOM_SEED=s  another seed
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import type { RoiAlignGeometry } from '../src/backend/kernels.gen.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import {
  acceleratedBuilds,
  assertClose,
  xorshift32,
  checkCase,
  inputsOf,
  loadFixtures,
  type FixtureCase,
} from './helpers.ts';

const CASES = process.env.TATAMI_RANDOM_LONG ? 2000 : 200;
const SEED = Number(process.env.TATAMI_RANDOM_SEED ?? 20261202);

// ---- the builds under test ----
const { builds, missing } = acceleratedBuilds();

test('roiAlign builds under test', () => {
  console.log(`# roiAlign on: reference, ${[...builds.keys()].join(', ')}`);
  for (const m of missing) console.log(`# not tested here — ${m}`);
  assert.ok(builds.size > 0, 'no accelerated build to test');
});

// ---- goldens ----
const fx = loadFixtures('detection');
const fixture = (name: string): FixtureCase => {
  const c = fx.get(name);
  assert.ok(c, `fixture ${name} missing (regenerate: /usr/bin/python3 tools/fixtures/generate.py detection)`);
  for (const e of [c.output, ...c.extra]) e.data = e.data.map(Number);
  return c;
};
const TOL = { atol: 1e-5, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 };

test('golden: torchvision roi_align forward and backward on every build', () => {
  const cases = [...fx.values()].filter((c) => c.name.startsWith('roi_align_a')).map((c) => fixture(c.name));
  assert.ok(cases.length >= 6, `expected the roi_align cases, found ${cases.length}`);
  const list = fixture('roi_align_list');
  for (const [name, be] of [['reference', ref] as const, ...builds]) {
    tt.withBackend(be, () => {
      for (const c of cases) {
        const p = c.params as {
          outputSize: number | [number, number];
          spatialScale: number;
          samplingRatio: number;
          aligned: boolean;
        };
        try {
          checkCase(c, ({ input, rois }) => tt.ops.roiAlign(input, rois, p.outputSize, p), TOL);
        } catch (err) {
          if (err instanceof Error) err.message = `[${name}] ${err.message}`;
          throw err;
        }
      }
      const { input, boxes0, boxes1 } = inputsOf(list);
      assertClose(tt.ops.roiAlign(input, [boxes0, boxes1], 2, { samplingRatio: 2 }), list.output, {
        what: `${name}: list of boxes`,
      });
      assert.deepEqual(tt.ops.roiAlign(input, tt.zeros([0, 5]), 2).shape, [0, input.shape[1], 2, 2]);
    });
  }
});

// ---- randomized differential test ----
const rng = xorshift32;

interface Case {
  g: RoiAlignGeometry;
  x: Float32Array;
  rois: Float32Array;
  gy: Float32Array;
  spatialScale: number;
  aligned: boolean;
  what: string;
}

/** One box in image coordinates (before spatialScale), of a kind chosen to hit torchvision's edge rules. */
function randomBox(r: ReturnType<typeof rng>, imgW: number, imgH: number): number[] {
  const u = (lo: number, hi: number): number => lo + (hi - lo) * r.unit();
  const quarter = (v: number): number => Math.round(v * 4) / 4; // exact in float32 and float64
  switch (r.int(0, 7)) {
    case 0: {
      // zero area
      const x1 = u(0, imgW),
        y1 = u(0, imgH);
      return [x1, y1, x1, y1];
    }
    case 1: {
      // inverted
      const x1 = u(0, imgW),
        y1 = u(0, imgH);
      return [x1, y1, x1 - u(0.1, 4), y1 - u(0.1, 4)];
    }
    case 2: // wholly outside
      return [imgW + u(2, 6), u(-8, -3), imgW + u(7, 12), u(-2, 0)];
    case 3: // partly outside
      return [u(-6, 1), u(-6, 1), u(imgW - 1, imgW + 6), u(imgH - 1, imgH + 6)];
    case 4: // on the −1 / size borders (quarter-pixel corners)
      return [quarter(u(-2, 0)), quarter(u(-2, 0)), quarter(u(imgW - 1, imgW + 1)), quarter(u(imgH - 1, imgH + 1))];
    case 5: {
      // a sliver under a pixel
      const x1 = u(0, imgW),
        y1 = u(0, imgH);
      return [x1, y1, x1 + u(0, 0.9), y1 + u(0, 0.9)];
    }
    default: {
      const x1 = u(-1, imgW),
        y1 = u(-1, imgH);
      return [x1, y1, x1 + u(0.5, imgW), y1 + u(0.5, imgH)];
    }
  }
}

function randomCase(i: number): Case {
  const r = rng(SEED + 7919 * i);
  const n = r.int(1, 3),
    c = r.int(1, 5),
    h = r.int(1, 12),
    w = r.int(1, 12);
  const spatialScale = r.pick([1, 0.5, 0.25, 0.0625, 1.3]);
  const rois = r.int(0, 6);
  const g: RoiAlignGeometry = {
    n,
    c,
    h,
    w,
    rois,
    outH: r.int(1, 4),
    outW: r.int(1, 4),
    samplingRatio: r.pick([-1, 0, 1, 2, 3]),
  };
  const aligned = r.unit() < 0.5;
  const x = Float32Array.from({ length: n * c * h * w }, () => r.unit() * 2 - 1);
  const boxes = new Float32Array(5 * rois);
  for (let k = 0; k < rois; k++) {
    boxes[5 * k] = r.int(0, n - 1);
    boxes.set(randomBox(r, w / spatialScale, h / spatialScale), 5 * k + 1);
  }
  const gy = Float32Array.from({ length: rois * c * g.outH * g.outW }, () => r.unit() * 2 - 1);
  const what = `case ${i}: ${JSON.stringify(g)} scale ${spatialScale} aligned ${aligned} rois ${[...boxes].join(',')}`;
  return { g, x, rois: boxes, gy, spatialScale, aligned, what };
}

/** Float32 kernel results against the float64 reference: each bin is a mean of ≤ 16·grid² float32 products. */
function close(got: Float32Array, want: Float64Array, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= 2e-5 + 2e-5 * Math.abs(want[i])))
      assert.fail(`${what}: element ${i} is ${got[i]}, the float64 reference ${want[i]}`);
  }
}

const poisoned = (n: number): Float32Array => new Float32Array(n).fill(NaN);

test(`randomized: roiAlign and roiAlignBackward on every build against the float64 reference (${CASES} cases)`, () => {
  for (let i = 0; i < CASES; i++) {
    const t = randomCase(i);
    const { g, spatialScale: s, aligned: al } = t;
    const outN = g.rois * g.c * g.outH * g.outW,
      inN = g.n * g.c * g.h * g.w;
    // the float64 reference on the same (float32-representable) values
    const want = new Float64Array(outN);
    ref.roiAlign(Float64Array.from(t.x), Float64Array.from(t.rois), want, g, s, al);
    const wantGx = new Float64Array(inN);
    ref.roiAlignBackward(Float64Array.from(t.gy), Float64Array.from(t.rois), wantGx, g, s, al);
    for (const [name, be] of builds) {
      const what = `${name} ${t.what}`;
      const out = new Float32Array(outN),
        out2 = poisoned(outN);
      be.roiAlign(t.x, t.rois, out, g, s, al);
      be.roiAlign(t.x, t.rois, out2, g, s, al);
      assert.deepEqual(out2, out, `${what}: forward into a poisoned output differs`);
      close(out, want, `${what} forward`);
      const gx = new Float32Array(inN),
        gx2 = poisoned(inN);
      be.roiAlignBackward(t.gy, t.rois, gx, g, s, al);
      be.roiAlignBackward(t.gy, t.rois, gx2, g, s, al);
      assert.deepEqual(gx2, gx, `${what}: backward into a poisoned gx differs`);
      close(gx, wantGx, `${what} backward`);
    }
  }
});

/**
 * Many channels and many boxes over a small map: the case the native forward transposes the map to channels-last
 * for (≥ 4 vectors of channels, the boxes' taps outnumbering the map's positions), as FPN's RoI pooling does.
 * Channel counts with and without a remainder past the last block of 4·TT_VL.
 */
function channelsLastCase(i: number): Case {
  const r = rng(SEED + 31337 * i);
  const n = r.int(1, 2),
    c = r.pick([64, 70, 130, 256]),
    h = r.int(3, 14),
    w = r.int(3, 14);
  const spatialScale = r.pick([1, 0.5, 0.25]);
  const rois = r.int(20, 40);
  const g: RoiAlignGeometry = { n, c, h, w, rois, outH: 7, outW: 7, samplingRatio: r.pick([-1, 0, 2, 3]) };
  const aligned = r.unit() < 0.5;
  const x = Float32Array.from({ length: n * c * h * w }, () => r.unit() * 2 - 1);
  const boxes = new Float32Array(5 * rois);
  for (let k = 0; k < rois; k++) {
    boxes[5 * k] = r.int(0, n - 1);
    boxes.set(randomBox(r, w / spatialScale, h / spatialScale), 5 * k + 1);
  }
  const what = `channels-last case ${i}: ${JSON.stringify(g)} scale ${spatialScale} aligned ${aligned}`;
  return { g, x, rois: boxes, gy: new Float32Array(0), spatialScale, aligned, what };
}

test('randomized: roiAlign with many channels and boxes (the channels-last forward) against the float64 reference', () => {
  const before = tt.getNumThreads();
  try {
    for (let i = 0; i < 12; i++) {
      const t = channelsLastCase(i);
      const { g, spatialScale: s, aligned: al } = t;
      const outN = g.rois * g.c * g.outH * g.outW;
      const want = new Float64Array(outN);
      ref.roiAlign(Float64Array.from(t.x), Float64Array.from(t.rois), want, g, s, al);
      for (const [name, be] of builds) {
        const what = `${name} ${t.what}`;
        tt.setNumThreads(1);
        const out = new Float32Array(outN),
          out2 = poisoned(outN);
        be.roiAlign(t.x, t.rois, out, g, s, al);
        tt.setNumThreads(2);
        be.roiAlign(t.x, t.rois, out2, g, s, al);
        assert.deepEqual(out2, out, `${what}: two threads into a poisoned output differ from one`);
        close(out, want, `${what} forward`);
      }
    }
  } finally {
    tt.setNumThreads(before);
  }
});

test('roiAlignBackward is the adjoint of roiAlign on every build: <A x, gy> = <x, Aᵀ gy>', () => {
  for (let i = 0; i < 40; i++) {
    const t = randomCase(100000 + i);
    for (const [name, be] of [['reference', ref] as const, ...builds]) {
      const out = new Float32Array(t.g.rois * t.g.c * t.g.outH * t.g.outW);
      const gx = new Float32Array(t.x.length);
      be.roiAlign(t.x, t.rois, out, t.g, t.spatialScale, t.aligned);
      be.roiAlignBackward(t.gy, t.rois, gx, t.g, t.spatialScale, t.aligned);
      let lhs = 0,
        rhs = 0,
        scale = 0;
      for (let j = 0; j < out.length; j++) {
        lhs += out[j] * t.gy[j];
        scale += Math.abs(out[j] * t.gy[j]);
      }
      for (let j = 0; j < gx.length; j++) {
        rhs += t.x[j] * gx[j];
        scale += Math.abs(t.x[j] * gx[j]);
      }
      assert.ok(Math.abs(lhs - rhs) <= 1e-5 * (1 + scale), `${name} ${t.what}: <Ax, gy> = ${lhs}, <x, Aᵀgy> = ${rhs}`);
    }
  }
});

test('roiAlign with two threads equals one thread, bit for bit (native and threaded wasm)', () => {
  const before = tt.getNumThreads();
  const r = rng(SEED);
  const g: RoiAlignGeometry = { n: 2, c: 16, h: 24, w: 20, rois: 12, outH: 7, outW: 7, samplingRatio: -1 };
  const x = Float32Array.from({ length: 2 * 16 * 24 * 20 }, () => r.unit());
  const rois = new Float32Array(5 * g.rois);
  for (let k = 0; k < g.rois; k++) rois.set([k % 2, ...randomBox(r, 20, 24)], 5 * k);
  const gy = Float32Array.from({ length: g.rois * 16 * 49 }, () => r.unit() - 0.5);
  try {
    for (const [name, be] of builds) {
      const runs = [1, 2].map((threads) => {
        tt.setNumThreads(threads);
        const out = new Float32Array(g.rois * 16 * 49),
          gx = new Float32Array(x.length);
        be.roiAlign(x, rois, out, g, 1, true);
        be.roiAlignBackward(gy, rois, gx, g, 1, true);
        return [out, gx];
      });
      assert.deepEqual(runs[1], runs[0], name);
    }
  } finally {
    tt.setNumThreads(before);
  }
});

test('the roiAlign kernels refuse bad boxes and short operands on every backend', () => {
  const g: RoiAlignGeometry = { n: 1, c: 1, h: 4, w: 4, rois: 1, outH: 2, outW: 2, samplingRatio: 2 };
  for (const [name, be] of [['reference', tt.withBackend('reference', () => tt.backend())] as const, ...builds]) {
    const x = new Float32Array(16),
      out = new Float32Array(4);
    assert.throws(
      () => be.roiAlign(x, Float32Array.from([1, 0, 0, 2, 2]), out, g, 1, false),
      /roiAlign: roi 0 is \(1, 0, 0, 2, 2\); expected a batch index in \[0, 1\) and finite coordinates/,
      name,
    );
    assert.throws(
      () => be.roiAlignBackward(out, Float32Array.from([0, 0, NaN, 2, 2]), x, g, 1, false),
      /roiAlignBackward: roi 0 is \(0, 0, NaN, 2, 2\)/,
      name,
    );
    assert.throws(
      () => be.roiAlign(new Float32Array(15), Float32Array.from([0, 0, 0, 2, 2]), out, g, 1, false),
      /roiAlign: x has 15 elements but the kernel's geometry needs 16/,
      name,
    );
    assert.throws(
      () => be.roiAlign(x, Float32Array.from([0, 0, 0, 2, 2]), out, { ...g, outH: -1 }, 1, false),
      /roiAlign: outH must be an integer in \[0, /,
      name,
    );
  }
  // through the op: the message names the op
  assert.throws(
    () => tt.ops.roiAlign(tt.zeros([1, 1, 4, 4]), tt.tensor([[0, 0, Infinity, 2, 2]]), 2),
    /roiAlign: roi 0 has a non-finite coordinate Infinity/,
  );
});
