/**
 * Randomized differential test of the accelerated kernels: seeded random geometries for conv2d (forward, input
 * gradient, weight gradient), pooling (max with indices, average, adaptive), GEMM and batch norm, run on every
 * native instruction-set build the CPU has (and the portable 8- and 16-wide builds everywhere) and every wasm
 * build, against the float64 reference computed once per case. Each case runs twice, into zeroed and into
 * NaN-poisoned outputs, and the two results must be bit-identical (a kernel that reads an output element before
 * writing it, or races, shows up here). The conv geometries come in families chosen so that the planner selects
 * every algorithm, and the test checks that it did on each build. Half of the forward cases run an epilogue
 * (per-channel scale and bias, then ReLU, ReLU6 or hardswish), as the inference fusion pass uses them.
 *
 *   TATAMI_RANDOM_LONG=1   ten times as many cases
 *   TATAMI_RANDOM_SEED=s   another seed;  TATAMI_RANDOM_ONLY=i  only case i (the reproduction a failure prints)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import type {
  Backend,
  Conv2dGeometry,
  ConvEpilogue,
  Pool2dGeometry,
  AdaptivePool2dGeometry,
} from '../src/backend/types.ts';
import { convGeometryOf, convPlanOf } from '../src/backend/conv-plan.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import { createRequire } from 'node:module';
import {
  CONV_PLANS,
  NATIVE_ADDON_PATH,
  nativeConvPlan,
  nativeIsas,
  type ConvDirection,
  type ConvPlan,
  type NativeIsa,
} from '../src/backend/native.ts';
import { SELF_CHECK_CONVS } from '../src/backend/selfcheck.ts';
import { acceleratedBuilds, xorshift32 } from './helpers.ts';

const LONG = !!process.env.TATAMI_RANDOM_LONG;
const SEED = Number(process.env.TATAMI_RANDOM_SEED ?? 20261202);
const ONLY = process.env.TATAMI_RANDOM_ONLY !== undefined ? Number(process.env.TATAMI_RANDOM_ONLY) : null;
const CONV_CASES = LONG ? 3000 : 300;
const OTHER_CASES = LONG ? 1000 : 120;
/** Multiply-adds per conv case: keeps the float64 reference (run once per case) within a few seconds. */
const MAC_BUDGET = LONG ? 2_000_000 : 400_000;

// ---- the builds under test ----
const { builds, missing } = acceleratedBuilds();
const supported = nativeIsas();

test('kernel builds under test', () => {
  console.log(`# randomized kernel checks on: ${[...builds.keys()].join(', ')}`);
  for (const m of missing) console.log(`# not tested here — ${m}`);
  assert.ok(builds.size > 0, 'no accelerated build to test');
  // the portable wide builds exist on every machine with the addon, so width-16 logic is always exercised
  if (supported.length)
    for (const isa of ['generic', 'generic8', 'generic16'])
      assert.ok(builds.has(`native-${isa}`), `native-${isa} missing`);
});

// ---- seeded generator (xorshift32, independent of the library's) ----
const rng = xorshift32;

function values(n: number, r: ReturnType<typeof rng>): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.unit() * 2 - 1;
  return a;
}
const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

/** Null when within float32 rounding of a length-k reduction: |Δ| ≤ 1e-4·|e| + 1e-5 + 2e-6·k; else the first miss. */
function mismatch(actual: Float32Array, expected: ArrayLike<number>, k: number): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  const atol = 1e-5 + 2e-6 * k;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i],
      a = actual[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    if (!(Math.abs(a - e) <= atol + 1e-4 * Math.abs(e))) return `element ${i} is ${a}, expected ${e}`;
  }
  return null;
}

function sameBits(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  const x = new Int32Array(a.buffer, a.byteOffset, a.length),
    y = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Runs `fn` into fresh outputs twice — zero-filled, then NaN-filled — and returns the first, after checking that
 * both runs wrote the same bits.
 */
function twice(sizes: number[], fn: (outs: Float32Array[]) => void, what: string): Float32Array[] {
  const a = sizes.map((n) => new Float32Array(n));
  fn(a);
  const b = sizes.map((n) => new Float32Array(n).fill(NaN));
  fn(b);
  for (let i = 0; i < a.length; i++)
    if (!sameBits(a[i], b[i]))
      assert.fail(
        `${what}: output ${i} differs between a zeroed and a NaN-poisoned run (reads unwritten memory, or races)`,
      );
  return a;
}

function repro(index: number, what: string, detail: string): string {
  return `${what}: ${detail}\n    reproduce: TATAMI_RANDOM_SEED=${SEED} TATAMI_RANDOM_ONLY=${index} node --import tsx --test test/kernels-random.test.ts`;
}

// ---- conv2d ----
type Family = 'general' | 'winograd' | 'tiny-maps' | 'depthwise' | 'wide' | 'strided' | 'pointwise' | 'dilated';
const FAMILIES: readonly Family[] = [
  'general',
  'winograd',
  'tiny-maps',
  'depthwise',
  'wide',
  'strided',
  'general',
  'tiny-maps',
  'pointwise',
  'depthwise',
  'dilated',
];

/** One random geometry of a family (asymmetric padding: top/left padH/padW, bottom/right implied by oh/ow). */
function randomConv(r: ReturnType<typeof rng>, family: Family): Conv2dGeometry | null {
  let n = r.int(1, 9),
    c = r.int(1, 70),
    oc = r.int(1, 70),
    k = r.pick([1, 3, 5, 7]),
    s = r.int(1, 3),
    d = r.int(1, 3),
    groups = 1;
  let h = r.int(1, 64),
    w = r.int(1, 64);
  if (family === 'winograd') {
    // the planner wants ≥ 16 channels each way and ≥ 144 2×2 tiles in the batch: larger than the usual budget
    k = 3;
    s = 1;
    d = 1;
    c = r.int(16, 24);
    oc = r.int(16, 24);
    h = r.int(12, 26);
    w = r.int(12, 26);
    if (r.unit() < 0.5) {
      // 16 and more tiles a row, off the vector width: what the 16-wide builds' weight gradient needs for Winograd
      c = r.int(16, 20);
      oc = r.int(16, 20);
      h = r.int(18, 26);
      w = r.int(31, 33);
    }
    n = Math.max(1, Math.ceil(144 / (Math.ceil(h / 2) * Math.ceil(w / 2))));
  } else if (family === 'tiny-maps') {
    h = r.int(1, 5);
    w = r.int(1, 5);
    k = r.pick([3, 5]);
    s = r.int(1, 2);
    d = 1;
  } else if (family === 'depthwise') {
    c = oc = groups = r.int(2, 70);
    k = r.pick([3, 3, 3, 5, 7, 1]);
    s = r.int(1, 2);
    d = r.int(1, 2);
    h = r.int(3, 32);
    w = r.int(3, 32);
  } else if (family === 'pointwise') {
    // MobileNet's expansions and projections: 1×1, stride 1, unpadded; ragged channel and pixel counts
    k = 1;
    s = 1;
    d = 1;
    c = r.int(1, 100);
    oc = r.int(1, 100);
    h = r.int(1, 30);
    w = r.int(1, 30);
  } else if (family === 'wide') {
    oc = r.int(48, 70);
    c = r.int(8, 24);
    k = r.pick([3, 1, 5]);
    s = 1;
    d = 1;
    h = r.int(3, 16);
    w = r.int(3, 16);
  } else if (family === 'dilated') {
    // ASPP-like: the dilation reaches across most of a small map, so the planner goes tap-wise (conv_dilated)
    k = r.pick([3, 3, 5]);
    s = 1;
    c = r.int(16, 40);
    oc = r.int(16, 40);
    h = r.int(5, 16);
    w = r.int(5, 16);
    d = r.int(Math.ceil(Math.max(h, w) / 3), Math.max(h, w));
    n = r.int(1, 2);
  } else if (family === 'strided') {
    s = r.int(2, 3);
    d = 1;
    k = r.pick([1, 3, 7]);
    h = r.int(4, 40);
    w = r.int(4, 40);
  } else if (r.unit() < 0.3) {
    const divisors = [1, 2, 3, 4, 5, 7].filter((g) => c % g === 0 && oc % g === 0);
    groups = r.pick(divisors);
  }
  const reach = d * (k - 1);
  const padT = r.int(0, reach),
    padL = r.int(0, reach),
    padB = r.unit() < 0.7 ? padT : r.int(0, reach),
    padR = r.unit() < 0.7 ? padL : r.int(0, reach);
  const oh = Math.floor((h + padT + padB - reach - 1) / s) + 1,
    ow = Math.floor((w + padL + padR - reach - 1) / s) + 1;
  if (oh < 1 || ow < 1) return null;
  if (n * oc * oh * ow * (c / groups) * k * k > (family === 'winograd' ? 8 * MAC_BUDGET : MAC_BUDGET)) return null;
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
    padH: padT,
    padW: padL,
    dilationH: d,
    dilationW: d,
    groups,
  };
}

interface ConvCase {
  index: number;
  family: Family;
  g: Conv2dGeometry;
  x: Float32Array;
  w: Float32Array;
  bias: Float32Array;
  gy: Float32Array;
  /** The forward's epilogue: activation and per-channel scale (null: none), as the inference fusion uses them. */
  epilogue: ConvEpilogue;
  scale: Float32Array | null;
  /** A residual added before the activation (a residual block's shortcut, nn/fusion.ts), or null. */
  residual: Float32Array | null;
}

const EPILOGUES: readonly ConvEpilogue[] = ['none', 'relu', 'relu6', 'hardswish'];

function convCases(): ConvCase[] {
  const r = rng(SEED);
  const cases: ConvCase[] = [];
  for (let index = 0; cases.length < CONV_CASES; index++) {
    const family = FAMILIES[index % FAMILIES.length];
    let g: Conv2dGeometry | null = null;
    while (!g) g = randomConv(r, family);
    const x = values(g.n * g.c * g.h * g.w, r),
      w = values(g.oc * (g.c / g.groups) * g.kh * g.kw, r);
    const bias = values(g.oc, r),
      gy = values(g.n * g.oc * g.oh * g.ow, r);
    // every other case runs an epilogue; scales up to 4 reach relu6's and hardswish's bends (±3, 6)
    const epilogue = index % 2 === 0 ? 'none' : EPILOGUES[(index >> 1) % EPILOGUES.length];
    const scale = epilogue === 'none' ? null : values(g.oc, r).map((v) => 4 * v);
    // every other epilogue case adds a residual, drawn from its own stream so the geometries stay those of SEED
    const residual =
      epilogue !== 'none' && (index >> 1) % 2 === 0 ? values(g.n * g.oc * g.oh * g.ow, rng(SEED + index)) : null;
    if (ONLY === null || ONLY === index) cases.push({ index, family, g, x, w, bias, gy, epilogue, scale, residual });
    if (ONLY !== null && index >= ONLY) break;
  }
  return cases;
}

test('conv2d: random geometries on every build, all three directions, against float64', () => {
  const cases = convCases();
  const plans = new Map<string, Map<ConvDirection, Set<ConvPlan>>>();
  const residualPlans = new Map<string, Set<ConvPlan>>();
  const started = performance.now();
  const times = new Map<string, number>();
  for (const cs of cases) {
    const { g } = cs;
    const y64 = new Float64Array(g.n * g.oc * g.oh * g.ow),
      gx64 = new Float64Array(cs.x.length),
      gw64 = new Float64Array(cs.w.length);
    const res = cs.residual;
    ref.conv2d(
      f64(cs.x),
      f64(cs.w),
      f64(cs.bias),
      y64,
      g,
      cs.epilogue,
      cs.scale && f64(cs.scale),
      null,
      res && f64(res),
    );
    ref.conv2dBackwardInput(f64(cs.gy), f64(cs.w), gx64, g);
    ref.conv2dBackwardWeight(f64(cs.x), f64(cs.gy), gw64, g);
    const kdim = (g.c / g.groups) * g.kh * g.kw;
    for (const [name, b] of builds) {
      const t0 = performance.now();
      const what =
        `${name} conv2d ${JSON.stringify(g)}${cs.epilogue === 'none' ? '' : ` ${cs.epilogue}, scaled`}` +
        (res ? ', residual' : '');
      const [y] = twice(
        [y64.length],
        ([o]) => b.conv2d(cs.x, cs.w, cs.bias, o, g, cs.epilogue, cs.scale, null, res),
        `${what} forward`,
      );
      // inference with the weights transformed once (ops/conv-pack.ts): where the build packs them for g
      const packed = b.packConv2dWeights?.(cs.w, g) ?? null;
      const [yp] = packed
        ? twice(
            [y64.length],
            ([o]) => b.conv2d(cs.x, cs.w, cs.bias, o, g, cs.epilogue, cs.scale, packed, res),
            `${what} forward, packed weights`,
          )
        : [y];
      const [gx] = twice([gx64.length], ([o]) => b.conv2dBackwardInput(cs.gy, cs.w, o, g), `${what} input gradient`);
      const [gw] = twice([gw64.length], ([o]) => b.conv2dBackwardWeight(cs.x, cs.gy, o, g), `${what} weight gradient`);
      times.set(name, (times.get(name) ?? 0) + performance.now() - t0);
      const bad =
        mismatch(y, y64, kdim * (cs.scale ? 6 : 1) + (res ? 1 : 0))?.replace(/^/, 'forward ') ??
        mismatch(yp, y64, kdim * (cs.scale ? 6 : 1) + (res ? 1 : 0))?.replace(/^/, 'forward with packed weights ') ??
        mismatch(gx, gx64, (g.oc / g.groups) * g.kh * g.kw)?.replace(/^/, 'input gradient ') ??
        mismatch(gw, gw64, g.n * g.oh * g.ow)?.replace(/^/, 'weight gradient ');
      if (bad) assert.fail(repro(cs.index, what, bad));
      if (name.startsWith('native-')) {
        const isa = name.slice('native-'.length) as NativeIsa;
        let byDir = plans.get(name);
        if (!byDir) plans.set(name, (byDir = new Map()));
        for (const dir of ['forward', 'input', 'weight', 'forward-packed'] as const) {
          let set = byDir.get(dir);
          if (!set) byDir.set(dir, (set = new Set()));
          set.add(nativeConvPlan(isa, g, dir));
        }
        if (res) {
          let rs = residualPlans.get(name);
          if (!rs) residualPlans.set(name, (rs = new Set()));
          rs.add(nativeConvPlan(isa, g, 'forward'));
          if (packed) rs.add(nativeConvPlan(isa, g, 'forward-packed'));
        }
      }
    }
  }
  console.log(
    `# ${cases.length} conv cases in ${((performance.now() - started) / 1000).toFixed(1)} s; per build (ms): ` +
      [...times].map(([n, t]) => `${n} ${t.toFixed(0)}`).join(', '),
  );
  if (ONLY !== null) return;
  // every algorithm of the planner ran in every direction where it exists, on every native build
  const expected: Record<ConvDirection, ConvPlan[]> = {
    forward: ['depthwise', 'dense', 'batched', 'winograd', 'padded-width', 'im2col', 'pointwise', 'tapwise'],
    input: ['dense', 'batched', 'winograd', 'padded-width', 'im2col', 'tapwise'],
    weight: ['dense', 'batched', 'winograd', 'weight-gemm', 'dot', 'im2col'],
    'forward-packed': ['winograd', 'tapwise'], // the rest are the forward's own plans
    'forward-nhwc': ['pointwise', 'depthwise', 'winograd', 'implicit-gemm'], // conv2dNhwc's test checks these
  };
  for (const [name, seen] of residualPlans) {
    // the residual is added in the pointwise plan's epilogue and after every other plan: each path ran with one
    const lacking = expected.forward.filter((p) => !seen.has(p));
    assert.deepEqual(lacking, [], `${name}: no random case with a residual selected ${lacking.join(', ')}`);
  }
  for (const [name, byDir] of plans) {
    for (const dir of ['forward', 'input', 'weight', 'forward-packed'] as const) {
      const seen = byDir.get(dir) ?? new Set();
      const lacking = expected[dir].filter((p) => !seen.has(p));
      assert.deepEqual(
        lacking,
        [],
        `${name} ${dir}: the random cases never selected ${lacking.join(', ')} (seen: ${[...seen].join(', ')})`,
      );
    }
  }
});

test('conv2d: Winograd beyond 128×128 channels (a wide map pays for it) on every build, against float64', () => {
  // 160 → 144 channels on a 40×40 map: 400 tiles ≥ c·oc/64 = 360, so the planner takes Winograd past the
  // 128×128-channel bound (the FPN / RPN-head case); the random families stay at ≤ 24 channels.
  const g = convGeometryOf({ n: 1, c: 160, h: 40, w: 40, oc: 144, kh: 3, kw: 3, padding: 1 });
  const r = rng(SEED + 7);
  const x = values(g.n * g.c * g.h * g.w, r),
    w = values(g.oc * g.c * 9, r),
    bias = values(g.oc, r),
    gy = values(g.n * g.oc * g.oh * g.ow, r);
  const y64 = new Float64Array(gy.length),
    gx64 = new Float64Array(x.length),
    gw64 = new Float64Array(w.length);
  ref.conv2d(f64(x), f64(w), f64(bias), y64, g, 'relu', null);
  ref.conv2dBackwardInput(f64(gy), f64(w), gx64, g);
  ref.conv2dBackwardWeight(f64(x), f64(gy), gw64, g);
  for (const [name, b] of builds) {
    if (name.startsWith('native-'))
      for (const dir of ['forward', 'input', 'weight'] as const)
        assert.equal(nativeConvPlan(name.slice('native-'.length) as NativeIsa, g, dir), 'winograd', `${name} ${dir}`);
    const [y] = twice([y64.length], ([o]) => b.conv2d(x, w, bias, o, g, 'relu', null), `${name} forward`);
    const [gx] = twice([gx64.length], ([o]) => b.conv2dBackwardInput(gy, w, o, g), `${name} input gradient`);
    const [gw] = twice([gw64.length], ([o]) => b.conv2dBackwardWeight(x, gy, o, g), `${name} weight gradient`);
    const bad =
      mismatch(y, y64, g.c * 9)?.replace(/^/, 'forward ') ??
      mismatch(gx, gx64, g.oc * 9)?.replace(/^/, 'input gradient ') ??
      mismatch(gw, gw64, g.oh * g.ow)?.replace(/^/, 'weight gradient ');
    assert.ok(!bad, `${name} ${JSON.stringify(g)}: ${bad}`);
  }
});

/**
 * A 1×1 convolution g (wider than the random families' ≤ 24 channels) on every build against float64, with and
 * without an epilogue (scale, residual, ReLU6); each native build must plan it as `plan`.
 */
function pointwiseAgainstF64(g: Conv2dGeometry, seed: number, plan: string): void {
  const r = rng(seed);
  const x = values(g.n * g.c * g.h * g.w, r),
    w = values(g.oc * g.c, r),
    bias = values(g.oc, r),
    scale = values(g.oc, r).map((v) => 4 * v),
    res = values(g.n * g.oc * g.oh * g.ow, r);
  for (const [epilogue, sc, rs] of [
    ['none', null, null],
    ['relu6', scale, res],
  ] as const) {
    const y64 = new Float64Array(res.length);
    ref.conv2d(f64(x), f64(w), f64(bias), y64, g, epilogue, sc && f64(sc), null, rs && f64(rs));
    for (const [name, b] of builds) {
      if (name.startsWith('native-'))
        assert.equal(nativeConvPlan(name.slice('native-'.length) as NativeIsa, g, 'forward'), plan, name);
      const [y] = twice(
        [y64.length],
        ([o]) => b.conv2d(x, w, bias, o, g, epilogue, sc, null, rs),
        `${name} ${epilogue}`,
      );
      const bad = mismatch(y, y64, g.c * (sc ? 6 : 1) + 1);
      assert.ok(!bad, `${name} ${JSON.stringify(g)} ${epilogue}: ${bad}`);
    }
  }
}

test('conv2d: a deep 1×1 convolution on a large map (the packed-GEMM form of the pointwise plan) on every build', () => {
  // 1024 → 270 channels on 17×17, one image: ≥ 8 column blocks of the in-place form, so the pointwise plan runs the
  // packed GEMM and then its epilogue as a pass (conv_pointwise.inc.c, pw_use_gemm). 270 rows and 289 columns leave
  // partial tiles on every build.
  pointwiseAgainstF64(convGeometryOf({ n: 1, c: 1024, h: 17, w: 17, oc: 270, kh: 1, kw: 1 }), SEED + 9, 'pointwise');
});

test('conv2d: a 1×1 convolution with weights past an L2 on a small map over several images (batched) on every build', () => {
  // 544 → 250 channels (136 000 weights ≥ 2¹⁷) on 7×7, three images: the planner joins the images' pixels as one
  // GEMM's columns (conv_plan.inc.c, PW_BATCHED_*) where the pointwise plan would stream the weights once per image.
  // 250 rows and 147 columns leave partial tiles on every build.
  pointwiseAgainstF64(convGeometryOf({ n: 3, c: 544, h: 7, w: 7, oc: 250, kh: 1, kw: 1 }), SEED + 10, 'batched');
});

test('conv2d: dilated Winograd (phases) and packed weights (Winograd, tap-wise) on every build, against float64', () => {
  // A dilated 3×3 runs as its dH·dW phase images (conv_winograd.inc.c): DeepLab's backbone (padding = dilation),
  // padding other than the dilation (the phase images start off the grid), unequal dilations, odd sizes; each
  // forward with the weights transformed per call and once (packed), and the input gradient (the swapped
  // convolution, dilated the same way).
  const specs = [
    { n: 1, c: 32, h: 30, w: 30, oc: 40, kh: 3, kw: 3, padding: 2, dilation: 2 },
    { n: 2, c: 24, h: 29, w: 27, oc: 32, kh: 3, kw: 3, padding: 3, dilation: 3 },
    { n: 1, c: 16, h: 33, w: 34, oc: 24, kh: 3, kw: 3, padding: 1, dilation: 2 },
    { n: 3, c: 20, h: 28, w: 26, oc: 17, kh: 3, kw: 3, padding: 4, dilation: 4 },
    // ASPP-like: most taps read padding, so the tap-wise plan, whose packed form is the per-tap weight matrices
    { n: 2, c: 24, h: 14, w: 15, oc: 16, kh: 3, kw: 3, padding: 10, dilation: 10, plan: 'tapwise' },
    // tap-wise with more input channels than one block of the kernel (TAP_KC = 256), and on rows wider than a
    // task's band of outputs (one row a task, rectangles not a multiple of NR)
    { n: 2, c: 300, h: 9, w: 9, oc: 20, kh: 3, kw: 3, padding: 7, dilation: 7, plan: 'tapwise' },
    { n: 1, c: 16, h: 3, w: 300, oc: 16, kh: 3, kw: 3, padding: 200, dilation: 200, plan: 'tapwise' },
  ];
  const r = rng(SEED + 11);
  for (const { plan = 'winograd', ...spec } of specs) {
    const g = convGeometryOf(spec);
    const x = values(g.n * g.c * g.h * g.w, r),
      w = values(g.oc * g.c * 9, r),
      bias = values(g.oc, r),
      gy = values(g.n * g.oc * g.oh * g.ow, r);
    const y64 = new Float64Array(gy.length),
      gx64 = new Float64Array(x.length);
    ref.conv2d(f64(x), f64(w), f64(bias), y64, g, 'relu', null);
    ref.conv2dBackwardInput(f64(gy), f64(w), gx64, g);
    for (const [name, b] of builds) {
      const what = `${name} ${JSON.stringify(g)}`;
      if (name.startsWith('native-'))
        for (const dir of ['forward', 'input', 'forward-packed'] as const)
          assert.equal(nativeConvPlan(name.slice('native-'.length) as NativeIsa, g, dir), plan, `${what} ${dir}`);
      const packed = b.packConv2dWeights?.(w, g) ?? null;
      assert.ok(packed, `${what}: no packed weights`);
      const [y] = twice([y64.length], ([o]) => b.conv2d(x, w, bias, o, g, 'relu', null), `${what} forward`);
      const [yp] = twice([y64.length], ([o]) => b.conv2d(x, w, bias, o, g, 'relu', null, packed), `${what} packed`);
      const [gx] = twice([gx64.length], ([o]) => b.conv2dBackwardInput(gy, w, o, g), `${what} input gradient`);
      const bad =
        mismatch(y, y64, g.c * 9)?.replace(/^/, 'forward ') ??
        mismatch(yp, y64, g.c * 9)?.replace(/^/, 'forward with packed weights ') ??
        mismatch(gx, gx64, g.oc * 9)?.replace(/^/, 'input gradient ');
      assert.ok(!bad, `${what}: ${bad}`);
      // packed weights of other sizes, or of another build, are ignored rather than misread
      const other = { ...packed, c: packed.c + 1 };
      const [yo] = twice([y64.length], ([o]) => b.conv2d(x, w, bias, o, g, 'relu', null, other), `${what} foreign`);
      assert.ok(!mismatch(yo, y64, g.c * 9), `${what}: packed weights of other sizes were used`);
    }
  }
});

test('depthwise on small outputs (channel-blocked path) on every build, against float64', () => {
  // Outputs of at most 64 pixels from inputs of at most 256 run with a vector across channels
  // (conv_depthwise.inc.c): MobileNet's 7×7 stage and the stride-2 layers into it, MobileNetV3's 5×5 kernels,
  // channel counts off the vector width (the last block's spare lanes), dilation, asymmetric padding (bottom and
  // right implied by oh/ow), a scale and bias per channel and each activation.
  const r = rng(SEED + 13);
  const specs: [Partial<Conv2dGeometry> & { c: number; h: number; w: number; k: number }, ConvEpilogue][] = [
    [{ n: 2, c: 40, h: 7, w: 7, k: 3, padH: 1, padW: 1 }, 'relu6'],
    [{ n: 1, c: 37, h: 14, w: 14, k: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, oh: 7, ow: 7 }, 'relu'],
    [{ n: 3, c: 16, h: 7, w: 7, k: 5, padH: 2, padW: 2 }, 'hardswish'],
    [{ n: 1, c: 72, h: 8, w: 8, k: 3, dilationH: 2, dilationW: 2, padH: 2, padW: 2 }, 'none'],
    [{ n: 2, c: 24, h: 9, w: 6, k: 3, padH: 0, padW: 1, oh: 8, ow: 5 }, 'relu'],
    [{ n: 1, c: 17, h: 15, w: 15, k: 3, strideH: 2, strideW: 2, padH: 0, padW: 0, oh: 7, ow: 7 }, 'none'],
  ];
  for (const [spec, act] of specs) {
    const { k, ...rest } = spec;
    const dH = rest.dilationH ?? 1,
      sH = rest.strideH ?? 1;
    const oh = rest.oh ?? Math.floor((rest.h + 2 * (rest.padH ?? 0) - dH * (k - 1) - 1) / sH) + 1;
    const ow = rest.ow ?? Math.floor((rest.w + 2 * (rest.padW ?? 0) - dH * (k - 1) - 1) / sH) + 1;
    const g: Conv2dGeometry = {
      n: 1,
      strideH: 1,
      strideW: 1,
      padH: 0,
      padW: 0,
      dilationH: 1,
      dilationW: 1,
      ...rest,
      oc: rest.c,
      groups: rest.c,
      kh: k,
      kw: k,
      oh,
      ow,
    };
    const x = values(g.n * g.c * g.h * g.w, r),
      w = values(g.c * k * k, r),
      bias = values(g.c, r),
      scale = values(g.c, r);
    const y64 = new Float64Array(g.n * g.c * oh * ow);
    ref.conv2d(f64(x), f64(w), f64(bias), y64, g, act, f64(scale));
    for (const [name, b] of builds) {
      const what = `${name} ${JSON.stringify(g)} ${act}`;
      if (name.startsWith('native-'))
        assert.equal(nativeConvPlan(name.slice('native-'.length) as NativeIsa, g, 'forward'), 'depthwise', what);
      const [y] = twice([y64.length], ([o]) => b.conv2d(x, w, bias, o, g, act, scale), what);
      const bad = mismatch(y, y64, k * k);
      assert.ok(!bad, `${what}: ${bad}`);
    }
  }
});

test('the self-check geometries reach every conv algorithm on every native build', () => {
  for (const isa of supported) {
    const seen = new Set<string>();
    for (const g of SELF_CHECK_CONVS)
      for (const dir of ['forward', 'input', 'weight'] as const) seen.add(`${dir}:${nativeConvPlan(isa, g, dir)}`);
    const all = [
      'forward:depthwise',
      'forward:dense',
      'forward:batched',
      'forward:winograd',
      'forward:padded-width',
      'forward:im2col',
      'forward:pointwise',
      'input:dense',
      'input:batched',
      'input:winograd',
      'input:padded-width',
      'input:im2col',
      'weight:dense',
      'weight:batched',
      'weight:winograd',
      'weight:weight-gemm',
      'weight:dot',
      'weight:im2col',
    ];
    assert.deepEqual(
      all.filter((p) => !seen.has(p)),
      [],
      `native-${isa}: self-check misses these`,
    );
    assert.ok([...seen].every((p) => CONV_PLANS.includes(p.split(':')[1] as ConvPlan)));
  }
});

// ---- pooling ----
function randomPool(r: ReturnType<typeof rng>): Pool2dGeometry {
  for (;;) {
    const kh = r.int(1, 5),
      kw = r.pick([kh, r.int(1, 5)]),
      sH = r.int(1, 3),
      sW = r.pick([sH, r.int(1, 3)]);
    const dH = r.unit() < 0.8 ? 1 : 2,
      dW = r.unit() < 0.8 ? 1 : 2;
    const padH = r.int(0, Math.floor(kh / 2)),
      padW = r.int(0, Math.floor(kw / 2));
    const h = r.int(1, 64),
      w = r.int(1, 64),
      n = r.int(1, 4),
      c = r.int(1, 20);
    const ceil = r.unit() < 0.3;
    const span = (len: number, k: number, s: number, p: number, d: number): number => {
      const num = len + 2 * p - d * (k - 1) - 1;
      let o = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
      if (ceil && (o - 1) * s >= len + p) o--; // PyTorch: the last window must start inside the input or left padding
      return o;
    };
    const oh = span(h, kh, sH, padH, dH),
      ow = span(w, kw, sW, padW, dW);
    if (oh >= 1 && ow >= 1)
      return { n, c, h, w, oh, ow, kh, kw, strideH: sH, strideW: sW, padH, padW, dilationH: dH, dilationW: dW };
  }
}

test('pooling: random max (with indices), average and adaptive pooling on every build, against float64', () => {
  const r = rng(SEED + 1);
  for (let index = 0; index < OTHER_CASES; index++) {
    const g = randomPool(r);
    const planes = g.n * g.c,
      xs = planes * g.h * g.w,
      ys = planes * g.oh * g.ow;
    const x = values(xs, r),
      gy = values(ys, r);
    if (r.unit() < 0.2) x.fill(0.5); // ties: the first maximum wins, as in PyTorch
    const cip = r.unit() < 0.5,
      divisor = r.unit() < 0.2 ? r.int(1, 9) : 0;
    const y64 = new Float64Array(ys),
      idx64 = new Int32Array(ys),
      a64 = new Float64Array(ys),
      ga64 = new Float64Array(xs),
      gm64 = new Float64Array(xs);
    ref.maxPool2d(f64(x), y64, idx64, g);
    ref.maxPool2dBackward(f64(gy), idx64, gm64, planes, g.h * g.w, g.oh * g.ow);
    const avgOk = g.dilationH === 1 && g.dilationW === 1;
    if (avgOk) {
      ref.avgPool2d(f64(x), a64, g, cip, divisor);
      ref.avgPool2dBackward(f64(gy), ga64, g, cip, divisor);
    }
    // Half the adaptive cases tile the input exactly (out divides in: the native path), half have ragged windows.
    const divisorOf = (n: number): number => {
      const ds = [...Array(Math.min(n, 9)).keys()].map((i) => i + 1).filter((d) => n % d === 0);
      return ds[r.int(0, ds.length - 1)];
    };
    const uniform = r.unit() < 0.5;
    const ag: AdaptivePool2dGeometry = {
      planes,
      h: g.h,
      w: g.w,
      oh: uniform ? divisorOf(g.h) : r.int(1, Math.min(g.h, 9)),
      ow: uniform ? divisorOf(g.w) : r.int(1, Math.min(g.w, 9)),
    };
    const as = planes * ag.oh * ag.ow;
    const ad64 = new Float64Array(as),
      am64 = new Float64Array(as),
      ai64 = new Int32Array(as);
    ref.adaptiveAvgPool2d(f64(x), ad64, ag);
    const agy = values(as, r),
      agx64 = new Float64Array(xs);
    ref.adaptiveAvgPool2dBackward(f64(agy), agx64, ag);
    ref.adaptiveMaxPool2d(f64(x), am64, ai64, ag);
    if (ONLY !== null && ONLY !== index) continue;
    for (const [name, b] of builds) {
      const what = `${name} pool ${JSON.stringify(g)}`;
      const idxA = new Int32Array(ys),
        idxB = new Int32Array(ys).fill(-7);
      const [ya] = twice([ys], ([o]) => b.maxPool2d(x, o, idxA, g), `${what} max`);
      b.maxPool2d(x, new Float32Array(ys), idxB, g);
      let bad = mismatch(ya, y64, 1);
      if (!bad && !sameBits(idxA, idxB)) bad = 'indices differ between runs';
      if (!bad)
        for (let i = 0; i < ys; i++)
          if (idxA[i] !== idx64[i]) {
            bad = `index ${i} is ${idxA[i]}, expected ${idx64[i]}`;
            break;
          }
      if (!bad)
        bad = mismatch(
          twice(
            [xs],
            ([o]) => b.maxPool2dBackward(gy, idx64, o, planes, g.h * g.w, g.oh * g.ow),
            `${what} max backward`,
          )[0],
          gm64,
          g.kh * g.kw,
        );
      if (!bad && avgOk) {
        bad = mismatch(twice([ys], ([o]) => b.avgPool2d(x, o, g, cip, divisor), `${what} avg`)[0], a64, g.kh * g.kw);
        bad ??= mismatch(
          twice([xs], ([o]) => b.avgPool2dBackward(gy, o, g, cip, divisor), `${what} avg backward`)[0],
          ga64,
          g.kh * g.kw,
        );
      }
      if (!bad)
        bad = mismatch(twice([as], ([o]) => b.adaptiveAvgPool2d(x, o, ag), `${what} adaptive avg`)[0], ad64, g.h * g.w);
      bad ??= mismatch(
        twice([xs], ([o]) => b.adaptiveAvgPool2dBackward(agy, o, ag), `${what} adaptive avg backward`)[0],
        agx64,
        g.h * g.w,
      );
      if (!bad) {
        const ai = new Int32Array(as);
        const [am] = twice([as], ([o]) => b.adaptiveMaxPool2d(x, o, ai, ag), `${what} adaptive max`);
        bad = mismatch(am, am64, 1);
        if (!bad)
          for (let i = 0; i < as; i++)
            if (ai[i] !== ai64[i]) {
              bad = `adaptive max index ${i} is ${ai[i]}, expected ${ai64[i]}`;
              break;
            }
      }
      if (bad)
        assert.fail(
          repro(index, what, `${bad} (countIncludePad ${cip}, divisor ${divisor}, adaptive ${ag.oh}×${ag.ow})`),
        );
    }
  }
});

// ---- GEMM ----
test('maxPool2dNhwc: random channels-last max pooling on every build, against float64', () => {
  // The ResNet program's pooling after its stem (pool.inc.c): channel counts below, at and past a vector (the
  // overlapping last one), windows clipped by padding, strides, dilation, ceil mode; NaN propagates as in PyTorch
  const r = rng(SEED + 31);
  const toNhwc = (a: ArrayLike<number>, n: number, c: number, hw: number) => {
    const o = new Float32Array(a.length);
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < c; ch++) for (let q = 0; q < hw; q++) o[(b * hw + q) * c + ch] = a[(b * c + ch) * hw + q];
    return o;
  };
  const geoms: Pool2dGeometry[] = [
    ...Array.from({ length: 40 }, () => {
      const g = randomPool(r);
      return { ...g, c: r.pick([g.c, r.int(1, 70)]) };
    }),
    // ResNet's 3×3 / 2 with padding 1, 64 channels
    {
      n: 1,
      c: 64,
      h: 28,
      w: 30,
      oh: 14,
      ow: 15,
      kh: 3,
      kw: 3,
      strideH: 2,
      strideW: 2,
      padH: 1,
      padW: 1,
      dilationH: 1,
      dilationW: 1,
    },
  ];
  for (const [i, g] of geoms.entries()) {
    const planes = g.n * g.c,
      x = values(planes * g.h * g.w, r);
    if (i % 5 === 0) x[r.int(0, x.length - 1)] = NaN;
    const y64 = new Float64Array(planes * g.oh * g.ow);
    ref.maxPool2d(f64(x), y64, null, g);
    const expected = toNhwc(y64, g.n, g.c, g.oh * g.ow),
      xl = toNhwc(x, g.n, g.c, g.h * g.w);
    for (const [name, b] of builds) {
      const [y] = twice([y64.length], ([o]) => b.maxPool2dNhwc!(xl, o, g), `${name} case ${i}`);
      for (let k = 0; k < y.length; k++)
        assert.ok(
          Object.is(y[k], expected[k]) || y[k] === expected[k],
          `${name} case ${i} ${JSON.stringify(g)}: element ${k} is ${y[k]}, expected ${expected[k]}`,
        );
    }
  }
  for (const [name, b] of builds)
    assert.throws(
      () => b.maxPool2dNhwc!(new Float32Array(10), new Float32Array(4), geoms[geoms.length - 1]),
      /maxPool2dNhwc: x has 10 elements/,
      name,
    );
});

test('gemm: random sizes, transposes, batches and accumulation on every build, against float64', () => {
  const r = rng(SEED + 2);
  for (let index = 0; index < OTHER_CASES; index++) {
    const m = r.int(1, 150),
      n = r.int(1, 150),
      k = r.int(1, 300),
      ta = r.unit() < 0.5,
      tb = r.unit() < 0.5;
    const batch = r.unit() < 0.2 ? r.int(2, 4) : 1,
      acc = r.unit() < 0.25,
      bcast = batch > 1 && r.unit() < 0.5;
    const sa = m * k,
      sb = bcast ? 0 : k * n,
      sc = m * n;
    const a = values(sa * batch, r),
      bm = values(Math.max(sb * batch, k * n), r),
      c0 = values(sc * batch, r);
    const c64 = f64(c0);
    ref.gemm(ta, tb, m, n, k, f64(a), sa, f64(bm), sb, c64, sc, batch, acc);
    if (ONLY !== null && ONLY !== index) continue;
    for (const [name, b] of builds) {
      const what = `${name} gemm m${m} n${n} k${k}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''} batch ${batch}${bcast ? ' (B shared)' : ''}${acc ? ' accumulate' : ''}`;
      const run = (o: Float32Array): void => {
        if (acc) o.set(c0);
        b.gemm(ta, tb, m, n, k, a, sa, bm, sb, o, sc, batch, acc);
      };
      const [c] = twice([sc * batch], ([o]) => run(o), what);
      const bad = mismatch(c, c64, k);
      if (bad) assert.fail(repro(index, what, bad));
    }
  }
});

// ---- batch norm ----
test('batch norm: random statistics, affine (+relu) and backward on every build, against float64', () => {
  const r = rng(SEED + 3);
  for (let index = 0; index < OTHER_CASES; index++) {
    const n = r.int(1, 9),
      c = r.int(1, 70),
      hw = r.pick([1, 2, 7, 16, 49, r.int(1, 400)]),
      size = n * c * hw;
    const x = values(size, r).map((v) => v * 3 + 1),
      gy = values(size, r),
      weight = values(c, r),
      scale = values(c, r),
      shift = values(c, r);
    const relu = r.unit() < 0.5,
      noWeight = r.unit() < 0.2;
    const mean64 = new Float64Array(c),
      var64 = new Float64Array(c);
    ref.channelStats(f64(x), mean64, var64, n, c, hw);
    const mean = Float32Array.from(mean64),
      invStd = Float32Array.from(var64, (v) => 1 / Math.sqrt(v + 1e-5));
    const aff64 = new Float64Array(size),
      gx64 = new Float64Array(size),
      gw64 = new Float64Array(c),
      gb64 = new Float64Array(c);
    ref.channelAffine(f64(x), f64(scale), f64(shift), aff64, n, c, hw, relu ? 'relu' : 'none');
    ref.batchNormBackward(
      f64(x),
      f64(gy),
      f64(mean),
      f64(invStd),
      noWeight ? null : f64(weight),
      gx64,
      gw64,
      gb64,
      n,
      c,
      hw,
    );
    if (ONLY !== null && ONLY !== index) continue;
    for (const [name, b] of builds) {
      const what = `${name} batch norm n${n} c${c} hw${hw}${relu ? ' relu' : ''}${noWeight ? ' no weight' : ''}`;
      const [m, v] = twice([c, c], ([mo, vo]) => b.channelStats(x, mo, vo, n, c, hw), `${what} stats`);
      const [aff] = twice(
        [size],
        ([o]) => b.channelAffine(x, scale, shift, o, n, c, hw, relu ? 'relu' : 'none'),
        `${what} affine`,
      );
      const [gx, gw, gb] = twice(
        [size, c, c],
        ([a, bw, bb]) => b.batchNormBackward(x, gy, mean, invStd, noWeight ? null : weight, a, bw, bb, n, c, hw),
        `${what} backward`,
      );
      const bad =
        mismatch(m, mean64, n * hw)?.replace(/^/, 'mean ') ??
        mismatch(v, var64, n * hw * 4)?.replace(/^/, 'variance ') ??
        mismatch(aff, aff64, 1)?.replace(/^/, 'affine ') ??
        mismatch(gx, gx64, n * hw * 4)?.replace(/^/, 'input gradient ') ??
        mismatch(gw, gw64, n * hw * 4)?.replace(/^/, 'weight gradient ') ??
        mismatch(gb, gb64, n * hw)?.replace(/^/, 'bias gradient ');
      if (bad) assert.fail(repro(index, what, bad));
    }
  }
});

// ---- ops that build on the kernels: transposed convolution, padding modes, 'same' ----
test('convTranspose2d and conv2d padding modes on every build, against float64', () => {
  const r = rng(SEED + 4);
  const cases = LONG ? 400 : 40;
  for (let index = 0; index < cases; index++) {
    const n = r.int(1, 4),
      c = r.int(1, 24),
      oc = r.int(1, 24),
      k = r.pick([1, 2, 3, 4, 5]),
      s = r.int(1, 3),
      d = r.int(1, 2);
    const h = r.int(2, 20),
      w = r.int(2, 20),
      groups = r.pick([1, 1, 2].filter((g) => c % g === 0 && oc % g === 0));
    const pad = r.int(0, Math.floor((d * (k - 1)) / 2)),
      outPad = r.int(0, Math.max(0, Math.min(s, d) - 1));
    const mode = r.pick(['zeros', 'reflect', 'replicate', 'circular'] as const);
    const same = r.unit() < 0.3;
    const xd = values(n * c * h * w, r),
      wt = values(c * (oc / groups) * k * k, r),
      wc = values(oc * (c / groups) * k * k, r),
      bias = values(oc, r);
    const run = (backend: string | Backend, dtype: 'float32' | 'float64'): Float32Array[] =>
      tt.withBackend(backend, () => {
        const as = (a: Float32Array): Float32Array | Float64Array => (dtype === 'float64' ? Float64Array.from(a) : a);
        const x = tt.tensor(as(xd), [n, c, h, w], { requiresGrad: true });
        const wT = tt.tensor(as(wt), [c, oc / groups, k, k], { requiresGrad: true });
        const wC = tt.tensor(as(wc), [oc, c / groups, k, k], { requiresGrad: true });
        const b = tt.tensor(as(bias), [oc]);
        const yT = tt.F.convTranspose2d(x, wT, b, {
          stride: s,
          padding: pad,
          outputPadding: outPad,
          dilation: d,
          groups,
        });
        const reflectFits = mode !== 'reflect' || (same ? Math.ceil((d * (k - 1)) / 2) : pad) < Math.min(h, w);
        const yC = tt.F.conv2d(x, wC, b, {
          stride: same ? 1 : s,
          padding: same ? 'same' : pad,
          dilation: d,
          groups,
          paddingMode: reflectFits ? mode : 'zeros',
        });
        yT.square().sum().add(yC.square().sum()).backward();
        return [yT, yC, x.grad!, wT.grad!, wC.grad!].map((t) =>
          Float32Array.from(t.to('float32').contiguous().dataView()),
        );
      });
    if (ONLY !== null && ONLY !== index) continue;
    const want = run('reference', 'float64');
    for (const [name, b] of builds) {
      const got = run(b, 'float32');
      const labels = ['convTranspose2d', 'conv2d', 'input gradient', 'transposed weight gradient', 'weight gradient'];
      for (let i = 0; i < got.length; i++) {
        // gradients of squared outputs: sums of products of two reductions, scale the tolerance accordingly
        const bad = mismatch(got[i], want[i], i < 2 ? c * k * k : 50 * c * k * k);
        if (bad)
          assert.fail(
            repro(
              index,
              `${name} ${labels[i]} n${n} c${c} ${h}×${w} oc${oc} k${k} s${s} d${d} p${pad} op${outPad} g${groups} ${mode}${same ? ' same' : ''}`,
              bad,
            ),
          );
      }
    }
  }
});

test('conv2dNhwc: channels-last pointwise, dense and depthwise convolutions on every build, against float64', () => {
  // The channels-last programs' kernels (conv_nhwc.inc.c): pointwise with fewer pixels than a tile has rows, output
  // channels below, at and past a panel (the overlapping last panel), with and without a residual; dense (the
  // ResNets' 3×3 and strided 1×1 layers) with tiles read in place and gathered ones (borders, tiles across rows and
  // images, fewer pixels than a tile), any kernel, stride, padding and dilation, and a residual; depthwise with
  // fewer channels than a vector (scalar), channel counts a vector does not divide (the overlapping last vector),
  // strides, paddings larger than the kernel's reach, dilation and 5×5 filters; all large enough to run in
  // parallel. Each against the float64 NCHW reference with the same epilogue, into zeroed and poisoned outputs.
  const r = rng(SEED + 21);
  const toNhwc = (a: Float32Array, n: number, c: number, h: number, w: number) => {
    const o = new Float32Array(a.length);
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < h * w; p++) o[(b * h * w + p) * c + ch] = a[(b * c + ch) * h * w + p];
    return o;
  };
  const specs: {
    n: number;
    c: number;
    h: number;
    w: number;
    oc: number;
    k: number;
    s: number;
    p: number;
    d: number;
    dense?: boolean;
    res?: boolean;
  }[] = [
    { n: 2, c: 40, h: 20, w: 20, oc: 70, k: 1, s: 1, p: 0, d: 1 },
    { n: 1, c: 96, h: 7, w: 7, oc: 160, k: 1, s: 1, p: 0, d: 1 },
    // one chunk of all rows cut into ranges of (panel, tile) pairs: tasks starting and ending inside a panel, the
    // overlapping last panel and last tile among them
    { n: 1, c: 48, h: 7, w: 9, oc: 170, k: 1, s: 1, p: 0, d: 1 },
    { n: 1, c: 5, h: 2, w: 3, oc: 9, k: 1, s: 1, p: 0, d: 1 },
    { n: 1, c: 64, h: 30, w: 31, oc: 64, k: 3, s: 2, p: 1, d: 1 },
    { n: 2, c: 72, h: 15, w: 15, oc: 72, k: 5, s: 1, p: 2, d: 1 },
    // depthwise "same" padding (k / 2): border pixels with their kernel columns as constants, for each right edge
    // a stride leaves (5×5: two pixels of 4 and 3 columns; stride 2 on an even and an odd width: one of 4 or 3;
    // 3×3: one of 2; stride 2, even width: none), a row of one interior pixel, and one with none (the general loop)
    { n: 1, c: 40, h: 9, w: 11, oc: 40, k: 5, s: 1, p: 2, d: 1 },
    { n: 2, c: 48, h: 10, w: 14, oc: 48, k: 5, s: 2, p: 2, d: 1 },
    { n: 1, c: 40, h: 7, w: 7, oc: 40, k: 5, s: 2, p: 2, d: 1 },
    { n: 1, c: 36, h: 8, w: 7, oc: 36, k: 3, s: 2, p: 1, d: 1 },
    { n: 1, c: 36, h: 8, w: 8, oc: 36, k: 3, s: 2, p: 1, d: 1 },
    { n: 1, c: 33, h: 6, w: 9, oc: 33, k: 3, s: 1, p: 1, d: 1 },
    { n: 1, c: 20, h: 5, w: 5, oc: 20, k: 5, s: 1, p: 2, d: 1 },
    { n: 1, c: 20, h: 5, w: 4, oc: 20, k: 5, s: 1, p: 2, d: 1 },
    // rows wide enough that, where a vector is narrower than a cache line, nhwc_dw_run walks the interior in pieces
    // with all channel vectors each (nhwc_dw_segments): 3×3 and 5×5, strides 1 and 2 on odd and even widths, the
    // overlapping last vector, and padding past k / 2 (border columns found at run time)
    { n: 1, c: 20, h: 5, w: 120, oc: 20, k: 3, s: 1, p: 1, d: 1 },
    { n: 1, c: 24, h: 6, w: 113, oc: 24, k: 3, s: 2, p: 1, d: 1 },
    { n: 1, c: 16, h: 7, w: 100, oc: 16, k: 5, s: 1, p: 2, d: 1 },
    { n: 1, c: 24, h: 9, w: 90, oc: 24, k: 5, s: 2, p: 2, d: 1 },
    { n: 1, c: 17, h: 4, w: 81, oc: 17, k: 3, s: 1, p: 2, d: 1 },
    // pixels of whole cache lines (channels a multiple of 16), whose lines share a few L1 sets: shorter pieces
    // (nhwc_dw_set_pixels) — 4, 8 and 16 lines a pixel
    { n: 1, c: 64, h: 5, w: 113, oc: 64, k: 3, s: 2, p: 1, d: 1 },
    { n: 1, c: 128, h: 4, w: 60, oc: 128, k: 3, s: 1, p: 1, d: 1 },
    { n: 1, c: 256, h: 6, w: 30, oc: 256, k: 5, s: 1, p: 2, d: 1 },
    // dense: ResNet-like 3×3 (rows of in-place tiles), its strided 3×3 and 1×1, a 7×7 map (tiles across rows)
    { n: 1, c: 48, h: 20, w: 34, oc: 40, k: 3, s: 1, p: 1, d: 1, dense: true },
    { n: 2, c: 32, h: 18, w: 33, oc: 70, k: 3, s: 2, p: 1, d: 1, dense: true },
    { n: 2, c: 40, h: 14, w: 14, oc: 64, k: 1, s: 2, p: 0, d: 1, dense: true },
    { n: 1, c: 96, h: 7, w: 7, oc: 36, k: 3, s: 1, p: 1, d: 1, dense: true },
    { n: 1, c: 6, h: 40, w: 44, oc: 20, k: 7, s: 2, p: 3, d: 1, dense: true },
    // weights outweighing the pixels (as ResNet's layer4 at batch 1): all patches gathered first, in parallel
    { n: 1, c: 256, h: 7, w: 7, oc: 256, k: 3, s: 1, p: 1, d: 1, dense: true },
    { n: 1, c: 256, h: 14, w: 13, oc: 260, k: 3, s: 2, p: 1, d: 1, dense: true },
    { n: 1, c: 2048, h: 7, w: 7, oc: 260, k: 1, s: 1, p: 0, d: 1 }, // pointwise, likewise: one chunk of all rows
    // at most a vector of output channels: pairs of whole tiles on the narrow kernel, straight into out (16) or
    // through its scratch tile (9), the last, overlapping tile on the wide one
    { n: 1, c: 32, h: 20, w: 22, oc: 16, k: 1, s: 1, p: 0, d: 1 },
    { n: 2, c: 24, h: 9, w: 13, oc: 9, k: 1, s: 1, p: 0, d: 1 },
    // rows 4 KB apart (c = 1024, a stride-2 pixel step of 512, K = 9·1024) are copied or gathered a line apart
    { n: 1, c: 1024, h: 15, w: 13, oc: 70, k: 1, s: 1, p: 0, d: 1 },
    { n: 1, c: 512, h: 28, w: 30, oc: 40, k: 1, s: 2, p: 0, d: 1, dense: true },
    { n: 1, c: 1024, h: 6, w: 5, oc: 20, k: 3, s: 1, p: 1, d: 1, dense: true },
    // 3×3 stride 1 with tiles enough: Winograd, its input transposed into the tile grid, its output per pixel
    { n: 1, c: 24, h: 16, w: 18, oc: 40, k: 3, s: 1, p: 1, d: 1, dense: true },
    { n: 2, c: 16, h: 9, w: 11, oc: 17, k: 3, s: 1, p: 1, d: 1, dense: true },
    { n: 3, c: 20, h: 8, w: 7, oc: 33, k: 3, s: 1, p: 0, d: 1, dense: true },
    // maps of 24² and up take F(4×4, 3×3): partial 4×4 blocks at the right and bottom edges, channel counts a
    // vector does not divide (overlapping vectors in both transforms, with the residual in place too), tasks
    // crossing images, a ResNet layer
    { n: 1, c: 24, h: 26, w: 30, oc: 40, k: 3, s: 1, p: 1, d: 1, dense: true, res: true },
    { n: 2, c: 20, h: 27, w: 27, oc: 17, k: 3, s: 1, p: 0, d: 1, dense: true, res: true },
    { n: 2, c: 64, h: 28, w: 28, oc: 64, k: 3, s: 1, p: 1, d: 1, dense: true },
    // 49 tiles (ResNet's 14² F(2×2) and 28² F(4×4) maps at batch 1): on every build, with one thread or two, some
    // task ends on a group of at most MR / 2 tiles, which runs the half-height micro-kernel
    { n: 1, c: 32, h: 14, w: 14, oc: 40, k: 3, s: 1, p: 1, d: 1, dense: true, res: true },
    { n: 1, c: 24, h: 28, w: 28, oc: 24, k: 3, s: 1, p: 1, d: 1, dense: true },
    // tiles whose own columns leave 8 past a multiple of 16 (24 and 40: 8 + 16 and 8 + 32; 72, 120, 184: an
    // overlapping last panel of 8 or 24 new columns): on AVX-512 and generic16 the 8 take a half-vector accumulator
    // (uk_nhwc_conv_h8/h24); pointwise, a strided dense layer, residuals
    { n: 1, c: 64, h: 14, w: 16, oc: 24, k: 1, s: 1, p: 0, d: 1, res: true },
    { n: 2, c: 72, h: 7, w: 8, oc: 40, k: 1, s: 1, p: 0, d: 1 },
    { n: 1, c: 24, h: 10, w: 12, oc: 72, k: 1, s: 1, p: 0, d: 1, res: true },
    { n: 1, c: 40, h: 9, w: 9, oc: 120, k: 1, s: 1, p: 0, d: 1 },
    { n: 1, c: 80, h: 7, w: 7, oc: 184, k: 1, s: 1, p: 0, d: 1, res: true },
    { n: 1, c: 16, h: 30, w: 30, oc: 24, k: 3, s: 2, p: 1, d: 1, dense: true, res: true },
    // a last panel whose new columns are its last vector (AVX2's 24, 40, 72; AVX-512's 48, 80): pairs of whole tiles
    // on the one-vector kernel, the overlapping last tile on the panel's
    { n: 1, c: 32, h: 9, w: 11, oc: 48, k: 1, s: 1, p: 0, d: 1, res: true },
    { n: 2, c: 20, h: 7, w: 9, oc: 80, k: 1, s: 1, p: 0, d: 1 },
  ];
  const plansSeen = new Map<string, Set<string>>();
  for (let i = 0; i < 60; i++) {
    if (i % 3 === 2) {
      const k = r.pick([1, 2, 3, 3, 5]);
      specs.push({
        ...{ n: r.int(1, 3), c: r.int(1, 40), h: r.int(1, 20), w: r.int(1, 36), oc: r.int(1, 70), k },
        ...{ s: r.int(1, 3), p: r.int(0, k), d: r.pick([1, 1, 2]), dense: true },
      });
      continue;
    }
    const pointwise = i % 3 === 0;
    const n = r.int(1, 3),
      c = pointwise ? r.int(1, 70) : r.int(1, 40);
    const k = pointwise ? 1 : r.pick([3, 5]);
    specs.push({
      n,
      c,
      h: r.int(1, 12),
      w: r.int(1, 14),
      oc: pointwise ? r.int(1, 80) : c,
      k,
      s: pointwise ? 1 : r.int(1, 2),
      p: pointwise ? 0 : r.int(0, k),
      d: pointwise ? 1 : r.int(1, 2),
    });
  }
  for (const sp of specs) {
    const oh = Math.floor((sp.h + 2 * sp.p - sp.d * (sp.k - 1) - 1) / sp.s) + 1,
      ow = Math.floor((sp.w + 2 * sp.p - sp.d * (sp.k - 1) - 1) / sp.s) + 1;
    if (oh <= 0 || ow <= 0) continue;
    const groups = sp.k === 1 || sp.dense ? 1 : sp.c;
    const g = convGeometryOf({
      ...{ n: sp.n, c: sp.c, h: sp.h, w: sp.w, oc: sp.oc, kh: sp.k, kw: sp.k },
      ...{ stride: sp.s, padding: sp.p, dilation: sp.d, groups },
    });
    assert.deepEqual([g.oh, g.ow], [oh, ow]);
    const x = values(sp.n * sp.c * sp.h * sp.w, r),
      w = values((sp.oc * sp.c * sp.k * sp.k) / groups, r),
      bias = r.unit() < 0.8 ? values(sp.oc, r) : null,
      scale = r.unit() < 0.8 ? values(sp.oc, r).map((v) => 3 * v) : null,
      withRes = r.unit() < 0.5 || sp.res === true,
      res = groups === 1 && withRes ? values(sp.n * sp.oc * oh * ow, r) : null;
    const act = r.pick(['none', 'relu', 'relu6', 'hardswish'] as const);
    const y64 = new Float64Array(sp.n * sp.oc * oh * ow);
    ref.conv2d(f64(x), f64(w), bias && f64(bias), y64, g, act, scale && f64(scale), null, res && f64(res));
    const expected = toNhwc(Float32Array.from(y64), sp.n, sp.oc, oh, ow);
    const xl = toNhwc(x, sp.n, sp.c, sp.h, sp.w),
      rl = res && toNhwc(res, sp.n, sp.oc, oh, ow);
    for (const [name, b] of builds) {
      const packed = b.packConv2dNhwc?.(w, g);
      assert.ok(packed, `${name}: packConv2dNhwc served none of ${JSON.stringify(sp)}`);
      const plan = convPlanOf(b, g, 'forward-nhwc')!;
      if (!plansSeen.has(name)) plansSeen.set(name, new Set());
      plansSeen.get(name)!.add(plan);
      assert.equal(packed.plan, plan === 'winograd' ? 'nhwc-winograd' : 'nhwc', `${name} ${JSON.stringify(sp)}`);
      const [y] = twice(
        [y64.length],
        ([o]) => b.conv2dNhwc!(xl, packed, bias, scale, rl, o, g, act),
        `${name} ${JSON.stringify(sp)}`,
      );
      const bad = mismatch(y, expected, (sp.c / groups) * sp.k * sp.k * (scale ? 3 : 1) + 1);
      assert.ok(!bad, `${name} ${JSON.stringify(sp)} ${act}: ${bad}`);
      if (rl) {
        // the residual as the output itself: the sum written over it, bit for bit as into a separate output
        const inPlace = rl.slice();
        b.conv2dNhwc!(xl, packed, bias, scale, inPlace, inPlace, g, act);
        assert.ok(sameBits(inPlace, y), `${name} ${JSON.stringify(sp)} ${act}: in place differs`);
      }
    }
  }
  for (const [name, seen] of plansSeen)
    assert.deepEqual(
      ['pointwise', 'depthwise', 'winograd', 'implicit-gemm'].filter((p) => !seen.has(p)),
      [],
      `${name}: conv2dNhwc's plans not all run`,
    );
  // grouped convolutions other than depthwise are not served; a depthwise one takes no residual; a residual
  // overlapping the output other than exactly is refused
  for (const [name, b] of builds) {
    const gp = convGeometryOf({ n: 1, c: 4, h: 5, w: 5, oc: 8, kh: 1, kw: 1 });
    const both = values(208, r);
    assert.throws(
      () =>
        b.conv2dNhwc!(
          values(100, r),
          b.packConv2dNhwc!(values(32, r), gp)!,
          null,
          null,
          both.subarray(8, 208),
          both.subarray(0, 200),
          gp,
          'none',
        ),
      /conv2dNhwc: the residual must be the output itself or not overlap it/,
      name,
    );
    const g2 = convGeometryOf({ n: 1, c: 4, h: 5, w: 5, oc: 8, kh: 3, kw: 3, groups: 2 });
    assert.equal(b.packConv2dNhwc?.(values(8 * 2 * 9, r), g2), null, name);
    const gd = convGeometryOf({ n: 1, c: 4, h: 5, w: 5, oc: 4, kh: 3, kw: 3, padding: 1, groups: 4 });
    const packed = b.packConv2dNhwc!(values(36, r), gd)!;
    assert.throws(
      () => b.conv2dNhwc!(values(100, r), packed, null, null, values(100, r), new Float32Array(100), gd, 'none'),
      /residual is taken by one-group convolutions only/,
      name,
    );
  }
});

test('conv2dNhwc epilogues: NaN, signed zeros, infinities and values past 6 as the scalar formulas, on every build', () => {
  // The activations in the channels-last epilogues (relu6's upper clamp an x86 min on the AVX builds): each output
  // channel copies input channel 0, so every tile's lanes — whole, masked and the 8-column half — see the values
  const vals = [NaN, 7, 6, 5.5, -0, 0, -1, Infinity, -Infinity, 6.000001, -3, 3, 2.5, -2.5];
  const c = 16,
    m = 30;
  const scalar = {
    relu: (v: number) => (v < 0 ? 0 : v),
    relu6: (v: number) => (v < 0 ? 0 : v > 6 ? 6 : v),
  };
  const x = new Float32Array(m * c);
  for (let p = 0; p < m; p++) x[p * c] = vals[p % vals.length];
  for (const oc of [16, 24, 32, 40]) {
    const g = convGeometryOf({ n: 1, c, h: 1, w: m, oc, kh: 1, kw: 1, stride: 1, padding: 0, dilation: 1, groups: 1 });
    const w = new Float32Array(oc * c);
    for (let o = 0; o < oc; o++) w[o * c] = 1;
    for (const [name, b] of builds) {
      const packed = b.packConv2dNhwc!(w, g)!;
      for (const act of ['relu', 'relu6', 'hardswish'] as const) {
        const out = new Float32Array(m * oc).fill(NaN);
        b.conv2dNhwc!(x, packed, null, null, null, out, g, act);
        for (let p = 0; p < m; p++)
          for (let o = 0; o < oc; o++) {
            // the sum starts at +0, so an input of −0 arrives at the activation as +0
            const v = x[p * c] === 0 ? 0 : x[p * c],
              y = out[p * oc + o];
            if (act === 'hardswish') {
              // −3 gives −0, as PyTorch's x·relu6(x + 3)/6 (the kernels' min(max(x, 0), x·(x + 3)/6))
              const want = Number.isNaN(v) ? NaN : v < -3 ? 0 : v === -3 ? -0 : v >= 3 ? v : y;
              assert.ok(Object.is(y, want), `${name} ${act} oc ${oc}: ${v} gave ${y}`);
            } else assert.ok(Object.is(y, scalar[act](v)), `${name} ${act} oc ${oc}: ${v} gave ${y}`);
          }
      }
    }
  }
});

test('conv2dNhwc and the stem: outputs of a million floats and more stored past the caches, bit for bit as plain stores', () => {
  // A channels-last layer with at least 2²⁰ outputs into a cache-line-aligned buffer stores whole tiles with
  // non-temporal stores (nhwc_streams: large maps, which a plain store first reads from memory). Into a buffer 16
  // bytes off a line the same layer stores plainly: the two must agree bit for bit (pointwise with a residual, and
  // dense: a strided 1×1, ResNet's shortcut), and with the float64 reference at sampled pixels.
  const natives = [...builds].filter(([name]) => name.startsWith('native'));
  if (natives.length === 0) return;
  const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as { alignmentSkip(b: ArrayBuffer): number };
  const onLine = (n: number) => {
    const buf = new ArrayBuffer(4 * n + 128);
    return new Float32Array(buf, addon.alignmentSkip(buf), n);
  };
  const r = rng(SEED + 31);
  for (const s of [1, 2]) {
    const [c, oc, h] = [64, 256, 64 * s];
    const g = convGeometryOf({ n: 1, c, h, w: h, oc, kh: 1, kw: 1, stride: s });
    const m = g.oh * g.ow;
    assert.ok(m * oc >= 1 << 20);
    const x = values(h * h * c, r),
      w = values(oc * c, r),
      bias = values(oc, r),
      scale = values(oc, r),
      res = s === 1 ? values(m * oc, r) : null;
    for (const [name, b] of natives) {
      const packed = b.packConv2dNhwc!(w, g)!;
      const streamed = onLine(m * oc),
        stored = onLine(m * oc + 4).subarray(4);
      b.conv2dNhwc!(x, packed, bias, scale, res, streamed, g, 'relu');
      b.conv2dNhwc!(x, packed, bias, scale, res, stored, g, 'relu');
      assert.ok(sameBits(streamed, stored), `${name} stride ${s}: streamed and stored outputs differ`);
      for (let px = 0; px < m; px += 97) {
        const ix = (Math.floor(px / g.ow) * s * h + (px % g.ow) * s) * c;
        for (let o = 0; o < oc; o++) {
          let acc = 0;
          for (let ci = 0; ci < c; ci++) acc += w[o * c + ci] * x[ix + ci];
          const e = Math.max(0, acc * scale[o] + bias[o] + (res ? res[px * oc + o] : 0));
          assert.ok(Math.abs(streamed[px * oc + o] - e) <= 1e-4 * (1 + Math.abs(e)), `${name} stride ${s} pixel ${px}`);
        }
      }
    }
  }
  // a wide stem from NCHW (ResNet's 3→64 7×7, stride 2) with a map of 2²⁰ floats and more: its whole tiles streamed
  const g = convGeometryOf({ n: 2, c: 3, h: 150, w: 224, oc: 64, kh: 7, kw: 7, stride: 2, padding: 3 });
  const m = g.n * g.oh * g.ow;
  assert.ok(m * g.oc >= 1 << 20);
  const x = values(g.n * 3 * 150 * 224, r),
    w = values(64 * 3 * 49, r),
    bias = values(64, r);
  for (const [name, b] of natives) {
    const packed = b.packConv2dNhwc!(w, g)!;
    const streamed = onLine(m * 64),
      stored = onLine(m * 64 + 4).subarray(4);
    b.conv2dNchwToNhwc!(x, packed, bias, null, streamed, g, 'relu');
    b.conv2dNchwToNhwc!(x, packed, bias, null, stored, g, 'relu');
    assert.ok(sameBits(streamed, stored), `${name} stem: streamed and stored outputs differ`);
    for (let px = 0; px < m; px += 89) {
      const [bi, oy, ox] = [Math.floor(px / (g.oh * g.ow)), Math.floor(px / g.ow) % g.oh, px % g.ow];
      for (let o = 0; o < 64; o += 7) {
        let acc = bias[o];
        for (let ci = 0; ci < 3; ci++)
          for (let ky = 0; ky < 7; ky++)
            for (let kx = 0; kx < 7; kx++) {
              const [iy, ix] = [oy * 2 - 3 + ky, ox * 2 - 3 + kx];
              if (iy >= 0 && iy < 150 && ix >= 0 && ix < 224)
                acc += w[((o * 3 + ci) * 7 + ky) * 7 + kx] * x[((bi * 3 + ci) * 150 + iy) * 224 + ix];
            }
        const e = Math.max(0, acc);
        assert.ok(Math.abs(streamed[px * 64 + o] - e) <= 1e-4 * (1 + Math.abs(e)), `${name} stem pixel ${px}`);
      }
    }
  }
});

test('conv2dNchwToNhwc: dense convolutions from NCHW into channels-last on every build, against float64', () => {
  // The channels-last program's stem (conv_nhwc.inc.c): output rows of tiles that read their taps in place and
  // border tiles that gather them, the overlapping last tile, rows narrower than a tile, output channels below and
  // past a panel; strides, paddings past the kernel's reach, dilation, 1×1 strided, several input channels.
  const r = rng(SEED + 29);
  const specs = [
    { n: 1, c: 3, h: 56, w: 60, oc: 32, k: 3, s: 2, p: 1, d: 1 }, // MobileNetV2's stem, smaller
    { n: 2, c: 3, h: 33, w: 45, oc: 16, k: 3, s: 2, p: 1, d: 1 }, // V3's: 16 channels, under a panel
    // a vector of channels or fewer: the narrow kernel's tiles of 2·MR pixels, the last one overlapping
    { n: 1, c: 3, h: 40, w: 70, oc: 16, k: 3, s: 2, p: 1, d: 1 },
    { n: 1, c: 3, h: 20, w: 61, oc: 9, k: 3, s: 1, p: 1, d: 1 },
    { n: 1, c: 2, h: 9, w: 7, oc: 40, k: 3, s: 1, p: 1, d: 1 },
    { n: 1, c: 16, h: 12, w: 14, oc: 20, k: 3, s: 1, p: 1, d: 1 }, // Winograd-packed: runs Winograd from NCHW
    { n: 1, c: 17, h: 26, w: 25, oc: 20, k: 3, s: 1, p: 1, d: 1 }, // likewise F(4×4, 3×3)
  ];
  for (let i = 0; i < 30; i++) {
    const k = r.pick([1, 2, 3, 5, 7]);
    specs.push({
      ...{ n: r.int(1, 2), c: r.int(1, 5), h: r.int(1, 40), w: r.int(1, 40), oc: r.int(1, 70), k },
      ...{ s: r.int(1, 3), p: r.int(0, k), d: r.pick([1, 1, 2]) },
    });
  }
  const toNhwc = (a: ArrayLike<number>, n: number, c: number, hw: number) => {
    const o = new Float32Array(a.length);
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < c; ch++) for (let q = 0; q < hw; q++) o[(b * hw + q) * c + ch] = a[(b * c + ch) * hw + q];
    return o;
  };
  for (const [i, sp] of specs.entries()) {
    const reach = sp.d * (sp.k - 1) + 1;
    if (sp.h + 2 * sp.p < reach || sp.w + 2 * sp.p < reach) continue;
    const g = convGeometryOf({
      ...{ n: sp.n, c: sp.c, h: sp.h, w: sp.w, oc: sp.oc, kh: sp.k, kw: sp.k },
      ...{ stride: sp.s, padding: sp.p, dilation: sp.d },
    });
    if (sp.k === 1 && sp.s === 1 && sp.p === 0) continue; // pointwise: conv2dNhwc's
    const x = values(sp.n * sp.c * sp.h * sp.w, r),
      w = values(sp.oc * sp.c * sp.k * sp.k, r),
      bias = r.unit() < 0.8 ? values(sp.oc, r) : null,
      scale = r.unit() < 0.8 ? values(sp.oc, r).map((v) => 3 * v) : null;
    const act = r.pick(['none', 'relu', 'relu6', 'hardswish'] as const);
    const y64 = new Float64Array(sp.n * sp.oc * g.oh * g.ow);
    ref.conv2d(f64(x), f64(w), bias && f64(bias), y64, g, act, scale && f64(scale), null, null);
    const expected = toNhwc(Float32Array.from(y64), sp.n, sp.oc, g.oh * g.ow);
    for (const [name, b] of builds) {
      const packed = b.packConv2dNhwc?.(w, g);
      assert.ok(packed, `${name}: packConv2dNhwc served none of ${JSON.stringify(sp)}`);
      const [y] = twice(
        [y64.length],
        ([o]) => b.conv2dNchwToNhwc!(x, packed, bias, scale, o, g, act),
        `${name} case ${i} ${JSON.stringify(sp)}`,
      );
      const bad = mismatch(y, expected, sp.c * sp.k * sp.k * (scale ? 3 : 1) + 1);
      assert.ok(!bad, `${name} case ${i} ${JSON.stringify(sp)} ${act}: ${bad}`);
    }
  }
  for (const [name, b] of builds) {
    const gd = convGeometryOf({ n: 1, c: 4, h: 5, w: 5, oc: 4, kh: 3, kw: 3, padding: 1, groups: 4 });
    const packed = b.packConv2dNhwc!(values(36, r), gd)!;
    assert.throws(
      () => b.conv2dNchwToNhwc!(values(100, r), packed, null, null, new Float32Array(100), gd, 'none'),
      /one-group convolutions/,
      name,
    );
  }
});

test('invertedResidualNhwc: a whole MobileNet block channels-last on every build, against float64 stage by stage', () => {
  // conv_nhwc.inc.c's fused block: expansion rows made per chunk into a per-thread buffer (rows shared with the
  // chunk before kept), depthwise rows from it, projection per chunk (+ the block's input). Blocks with and without
  // expansion, projection (the squeeze-excitation case writes the depthwise output) and residual; strides,
  // paddings past the kernel's reach, dilation, 3×3/5×5/7×7; maps large enough for several chunks and, at batch 1,
  // one band per thread. Each stage of the float64 reference sees the float32 rounding of the stage before.
  const r = rng(SEED + 23);
  const toNhwc = (a: ArrayLike<number>, n: number, c: number, h: number, w: number) => {
    const o = new Float32Array(a.length);
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < h * w; p++) o[(b * h * w + p) * c + ch] = a[(b * c + ch) * h * w + p];
    return o;
  };
  type Spec = { n: number; cin: number; hid: number; cout: number; h: number; w: number; k: number; s: number };
  const specs: (Spec & {
    p: number;
    d: number;
    expand: boolean;
    project: boolean;
    gate?: boolean;
    res?: boolean;
    sq?: number;
    threads?: number[]; /* run under each of these thread counts (the split of nhwc_block_channels follows it) */
  })[] = [
    // several chunks (the buffers hold 96 Ki floats) and bands; MobileNetV2's 56² block at a smaller width
    { n: 1, cin: 24, hid: 144, cout: 24, h: 40, w: 36, k: 3, s: 1, p: 1, d: 1, expand: true, project: true },
    { n: 1, cin: 16, hid: 96, cout: 24, h: 45, w: 50, k: 3, s: 2, p: 1, d: 1, expand: true, project: true },
    { n: 2, cin: 40, hid: 120, cout: 40, h: 30, w: 29, k: 5, s: 1, p: 2, d: 1, expand: true, project: false },
    { n: 1, cin: 32, hid: 32, cout: 16, h: 33, w: 31, k: 3, s: 1, p: 1, d: 1, expand: false, project: true },
    { n: 3, cin: 8, hid: 48, cout: 8, h: 7, w: 7, k: 3, s: 1, p: 1, d: 1, expand: true, project: true },
    // batch 1 on a map of 14² and less (with two threads or more): the block as three balanced layers
    ...[true, false].map((gate) => ({
      ...{ n: 1, cin: 40, hid: 240, cout: 40, h: 14, w: 14, k: 5, s: 1, p: 2, d: 1 },
      ...{ expand: true, project: true, gate, res: true },
    })),
    { n: 1, cin: 40, hid: 240, cout: 40, h: 7, w: 7, k: 5, s: 1, p: 2, d: 1, expand: true, project: true, gate: true },
    // a gate large enough for its matrix-vector products to be shared out by rows (an odd count: uneven ranges)
    {
      n: 1,
      cin: 48,
      hid: 576,
      cout: 48,
      h: 7,
      w: 7,
      k: 5,
      s: 1,
      p: 2,
      d: 1,
      expand: true,
      project: true,
      gate: true,
      sq: 145,
    },
    { n: 1, cin: 24, hid: 120, cout: 56, h: 13, w: 11, k: 3, s: 2, p: 1, d: 1, expand: true, project: true },
    // ungated blocks on small maps split by hidden channels, a part a thread: parts of whole expansion panels (12
    // panels on 2 and 3 threads), a last part ending in an overlapping panel (200 = 6 panels + 8), the stride-2
    // block into 14², an output narrower than its last panel (40), 5×5, images fewer than threads (2 on 4), maps
    // of fewer pixels than a tile (3×3: the partial sums of padded rows)
    ...[
      { n: 1, cin: 64, hid: 384, cout: 64, h: 14, w: 14, k: 3, s: 1, p: 1, threads: [1, 2, 3] },
      { n: 1, cin: 32, hid: 200, cout: 40, h: 28, w: 27, k: 3, s: 2, p: 1, threads: [2, 3] },
      { n: 1, cin: 80, hid: 480, cout: 80, h: 7, w: 7, k: 5, s: 1, p: 2, threads: [2, 4] },
      { n: 2, cin: 24, hid: 96, cout: 24, h: 9, w: 10, k: 3, s: 1, p: 1, threads: [4] },
      { n: 1, cin: 64, hid: 256, cout: 64, h: 3, w: 3, k: 3, s: 1, p: 1, threads: [2] },
    ].map((c) => ({ ...c, d: 1, expand: true, project: true, gate: false, res: true })),
    // gated blocks over whole images (as many images as threads or more): the first pass's chunks count the
    // expanded rows only, the second's the depthwise rows it scales — chunks of different heights, several a map
    ...[
      { n: 2, cin: 24, hid: 200, cout: 32, h: 30, w: 28, k: 5, s: 1, p: 2 },
      { n: 4, cin: 16, hid: 144, cout: 24, h: 41, w: 38, k: 3, s: 2, p: 1 },
    ].map((c) => ({ ...c, d: 1, expand: true, project: true, gate: true, threads: [1, 2] })),
    // a batch's gates as one product over all images, eight at a time: ten images take two passes
    { n: 10, cin: 16, hid: 40, cout: 16, h: 5, w: 6, k: 3, s: 1, p: 1, d: 1, expand: true, project: true, gate: true },
  ];
  for (let i = 0; i < 30; i++) {
    const k = r.pick([3, 3, 5, 7]);
    const expand = r.unit() < 0.8;
    const cin = r.int(2, 40);
    specs.push({
      ...{ n: r.int(1, 3), cin, hid: expand ? r.int(2, 70) : cin, cout: r.int(1, 40), h: r.int(1, 20) },
      ...{ w: r.int(1, 20), k, s: r.int(1, 2), p: r.int(0, k), d: r.pick([1, 1, 2]) },
      ...{ expand, project: r.unit() < 0.8 },
    });
  }
  for (const [i, sp] of specs.entries()) {
    const hid = sp.expand ? sp.hid : sp.cin;
    const reach = sp.d * (sp.k - 1) + 1;
    if (sp.h + 2 * sp.p < reach || sp.w + 2 * sp.p < reach || hid < 2) continue;
    const gd = convGeometryOf({
      ...{ n: sp.n, c: hid, h: sp.h, w: sp.w, oc: hid, kh: sp.k, kw: sp.k },
      ...{ stride: sp.s, padding: sp.p, dilation: sp.d, groups: hid },
    });
    const cout = sp.project ? sp.cout : hid;
    const residual = sp.project && gd.oh === sp.h && gd.ow === sp.w && cout === sp.cin && (sp.res ?? r.unit() < 0.7);
    const pointwise = (c: number, oc: number, h: number, w: number) =>
      convGeometryOf({ n: sp.n, c, h, w, oc, kh: 1, kw: 1 });
    const ge = pointwise(sp.cin, hid, sp.h, sp.w),
      gp = pointwise(hid, cout, gd.oh, gd.ow);
    const acts = ['none', 'relu', 'relu6', 'hardswish'] as const;
    const stage = (w: Float32Array, oc: number) => ({
      w,
      scale: r.unit() < 0.8 ? values(oc, r).map((v) => 2 * v) : null,
      bias: r.unit() < 0.8 ? values(oc, r) : null,
      act: r.pick(acts),
    });
    const E = sp.expand ? stage(values(hid * sp.cin, r), hid) : null;
    const D = stage(values(hid * sp.k * sp.k, r), hid);
    const P = sp.project ? stage(values(cout * hid, r), cout) : null;
    const x = values(sp.n * sp.cin * sp.h * sp.w, r);
    // float64 NCHW reference, each stage rounded to float32 as the kernel stores it
    const run = (
      st: ReturnType<typeof stage>,
      input: Float32Array,
      g: ReturnType<typeof convGeometryOf>,
      res: Float32Array | null,
    ) => {
      const y = new Float64Array(g.n * g.oc * g.oh * g.ow);
      ref.conv2d(
        f64(input),
        f64(st.w),
        st.bias && f64(st.bias),
        y,
        g,
        st.act,
        st.scale && f64(st.scale),
        null,
        res && f64(res),
      );
      return Float32Array.from(y);
    };
    const e = E ? run(E, x, ge, null) : x;
    const d = run(D, e, gd, null);
    // a squeeze-excitation gate on some projected blocks: d · hardsigmoid(fc2 · act(fc1 · mean(d) + b1) + b2)
    const sq = sp.sq ?? r.int(1, 12);
    const G =
      P && (sp.gate ?? r.unit() < 0.4)
        ? {
            ...{ fc1: values(sq * hid, r), fc1Bias: r.unit() < 0.8 ? values(sq, r) : null },
            ...{ fc2: values(hid * sq, r).map((v) => 3 * v), fc2Bias: r.unit() < 0.8 ? values(hid, r) : null },
            activation: r.pick(['relu', 'relu6', 'none'] as const),
          }
        : null;
    const gated = Float32Array.from(d);
    if (G) {
      const hw = gd.oh * gd.ow;
      for (let b = 0; b < sp.n; b++) {
        const mean = Array.from({ length: hid }, (_, c) => {
          let acc = 0;
          for (let q = 0; q < hw; q++) acc += d[(b * hid + c) * hw + q];
          return acc / hw;
        });
        const s1 = Array.from({ length: sq }, (_, q) => {
          let v = G.fc1Bias ? G.fc1Bias[q] : 0;
          for (let c = 0; c < hid; c++) v += G.fc1[q * hid + c] * mean[c];
          return G.activation === 'none' ? v : Math.min(Math.max(v, 0), G.activation === 'relu6' ? 6 : Infinity);
        });
        for (let c = 0; c < hid; c++) {
          let v = G.fc2Bias ? G.fc2Bias[c] : 0;
          for (let q = 0; q < sq; q++) v += G.fc2[c * sq + q] * s1[q];
          const gv = Math.fround(v <= -3 ? 0 : v >= 3 ? 1 : v / 6 + 0.5);
          for (let q = 0; q < hw; q++) gated[(b * hid + c) * hw + q] = d[(b * hid + c) * hw + q] * gv;
        }
      }
    }
    const y = P ? run(P, gated, gp, residual ? x : null) : d;
    const expected = toNhwc(y, sp.n, cout, gd.oh, gd.ow);
    const xl = toNhwc(x, sp.n, sp.cin, sp.h, sp.w);
    const what = `case ${i} ${JSON.stringify({ ...sp, residual, gate: G && { sq, act: G.activation } })}`;
    const before = tt.getNumThreads();
    for (const threads of sp.threads ?? [0])
      for (const [name, b] of builds) {
        if (threads) tt.setNumThreads(threads);
        const nhwc = (st: ReturnType<typeof stage> | null, g: ReturnType<typeof convGeometryOf>) => {
          if (!st) return null;
          const packed = b.packConv2dNhwc?.(st.w, g);
          assert.ok(packed, `${name}: packConv2dNhwc served none of ${what}`);
          return { packed, scale: st.scale, bias: st.bias, epilogue: st.act };
        };
        try {
          const [got] = twice(
            [expected.length],
            ([o]) => b.invertedResidualNhwc!(xl, nhwc(E, ge), nhwc(D, gd)!, G, nhwc(P, gp), residual, o, gd),
            `${name} ${what}`,
          );
          // the tolerance of the projection's sum (its inputs already carry the depthwise stage's rounding)
          const bad = mismatch(got, expected, (P ? hid : 1) * 6 + sp.k * sp.k * 6 + (E ? sp.cin : 0) * 6);
          assert.ok(!bad, `${name} ${what}${threads ? `, ${threads} threads` : ''}: ${bad}`);
        } finally {
          if (threads) tt.setNumThreads(before);
        }
      }
  }
  // what it refuses: a residual the shapes cannot take, a dense geometry, weights packed for another geometry
  for (const [name, b] of builds) {
    const gd = convGeometryOf({ n: 1, c: 8, h: 6, w: 6, oc: 8, kh: 3, kw: 3, stride: 2, padding: 1, groups: 8 });
    const gp = convGeometryOf({ n: 1, c: 8, h: 3, w: 3, oc: 8, kh: 1, kw: 1 });
    const D = { packed: b.packConv2dNhwc!(values(72, r), gd)!, scale: null, bias: null, epilogue: 'none' as const };
    const P = { packed: b.packConv2dNhwc!(values(64, r), gp)!, scale: null, bias: null, epilogue: 'none' as const };
    const x = values(6 * 6 * 8, r),
      out = new Float32Array(3 * 3 * 8);
    assert.throws(() => b.invertedResidualNhwc!(x, null, D, null, P, true, out, gd), /residual needs/, name);
    const G = { fc1: values(16, r), fc1Bias: null, fc2: values(16, r), fc2Bias: null, activation: 'relu' as const };
    assert.throws(
      () => b.invertedResidualNhwc!(x, null, D, G, null, false, out, gd),
      /gate needs the projection/,
      name,
    );
    const badG = { ...G, fc2: values(15, r) };
    assert.throws(() => b.invertedResidualNhwc!(x, null, D, badG, P, false, out, gd), /are not \[squeeze/, name);
    assert.throws(
      () => b.invertedResidualNhwc!(x, null, P, null, null, false, out, gd),
      /packed weights were not made/,
      name,
    );
    const dense = convGeometryOf({ n: 1, c: 8, h: 6, w: 6, oc: 8, kh: 3, kw: 3, padding: 1 });
    assert.throws(() => b.invertedResidualNhwc!(x, null, D, null, null, false, out, dense), /depthwise geometry/, name);
  }
});
