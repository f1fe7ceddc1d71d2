/**
 * The conv planner (native/src/kernels/conv_plan.inc.c): which geometry gets which algorithm, per direction and per
 * build. Expectations follow the planner's rules (docs/kernels.md, "Algorithms"): the thresholds that depend on the
 * register tile (NR = vector width × 2 columns, MR rows: 32/14 for the 16-wide builds, 16/6 for the 8-wide ones,
 * 8/4 for the 4-wide portable build and wasm) are spelled out where a case depends on them. Also: the planner
 * is what the kernels run (each case's convolution is checked against the float64 reference in
 * test/kernels-random.test.ts, which requires every algorithm to be picked), `tatami info --conv-plan` prints it,
 * and TATAMI_LOG_CONV_PLAN=1 logs each choice once per geometry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeConvPlan, nativeIsas, type NativeIsa } from '../src/backend/native.ts';
import { loadWasmVariant } from '../src/backend/wasm-loader.ts';
import {
  CONV_DIRECTIONS,
  convGeometryOf,
  convPlanOf,
  type ConvPlan,
  type ConvPlanSpec,
} from '../src/backend/conv-plan.ts';
import { runCli } from '../src/cli/main.ts';
import { parseConvPlanSpec } from '../src/cli/info.ts';
import { referenceBackend } from '../src/backend/reference/index.ts';
import type { Backend } from '../src/backend/types.ts';

type Width = 16 | 8 | 4;
const WIDTH: Record<NativeIsa, Width> = { avx512: 16, generic16: 16, avx2: 8, generic8: 8, generic: 4 };
/**
 * [forward, input gradient, weight gradient, forward with packed weights, channels-last forward] (CONV_DIRECTIONS'
 * order), or one per vector width where the tile shape decides.
 */
type Plans = readonly [ConvPlan, ConvPlan, ConvPlan, ConvPlan, ConvPlan];
type Expect = Plans | Record<Width, Plans>;

/** The same forward, input-gradient and packed plans on every build; the weight gradient's per vector width. */
function wgradByWidth(
  forward: ConvPlan,
  input: ConvPlan,
  weight: Record<Width, ConvPlan>,
  packed: ConvPlan,
  nhwc: ConvPlan,
): Expect {
  return {
    16: [forward, input, weight[16], packed, nhwc],
    8: [forward, input, weight[8], packed, nhwc],
    4: [forward, input, weight[4], packed, nhwc],
  };
}

/** Winograd everywhere but the weight gradient of rows of fewer tiles than a 16-wide vector. */
const SMALL_ROWS = wgradByWidth(
  'winograd',
  'winograd',
  { 16: 'weight-gemm', 8: 'winograd', 4: 'winograd' },
  'winograd',
  'winograd',
);

const CASES: { name: string; spec: ConvPlanSpec; expect: Expect; why: string }[] = [
  {
    name: 'W1 3×3, 64→64 at 32×32, batch 8',
    spec: { n: 8, c: 64, h: 32, w: 32, oc: 64, kh: 3, kw: 3, padding: 1 },
    expect: ['winograd', 'winograd', 'winograd', 'winograd', 'winograd'],
    why: '3×3 stride 1, ≤ 128×128 channels, ≥ 12×12 maps, ≥ 144 tiles',
  },
  {
    name: 'W4 second conv, 32→64 at 14×14, batch 64',
    spec: { n: 64, c: 32, h: 14, w: 14, oc: 64, kh: 3, kw: 3, padding: 1 },
    expect: SMALL_ROWS,
    why: '14×14 with 64 images: 3136 tiles; a weight gradient with rows of fewer tiles than a vector goes GEMM on 16-wide builds',
  },
  {
    name: 'YOLOX 32→32 at 16×16, batch 8',
    spec: { n: 8, c: 32, h: 16, w: 16, oc: 32, kh: 3, kw: 3, padding: 1 },
    expect: SMALL_ROWS,
    why: '8 tiles a row: scalar weight-gradient transforms, which the weight GEMM beats 2× on AVX-512 (not on AVX2)',
  },
  {
    name: 'W6 U-Net bottom, 512→512 at 8×8, batch 4',
    spec: { n: 4, c: 512, h: 8, w: 8, oc: 512, kh: 3, kw: 3, padding: 1 },
    expect: ['padded-width', 'padded-width', 'batched', 'winograd', 'winograd'],
    why: '64 tiles: too few to pay a per-call transform of 512×512 filters (WINO_MIN_TILES 96), enough with it done once',
  },
  {
    name: 'DeepLabv3 layer4, 512→512 d4 at 32×32, one image',
    spec: { n: 1, c: 512, h: 32, w: 32, oc: 512, kh: 3, kw: 3, padding: 4, dilation: 4 },
    expect: ['winograd', 'winograd', 'weight-gemm', 'winograd', 'implicit-gemm'],
    why: '16 phase images of 8×8, 256 tiles; the weight gradient has no phases, channels-last Winograd no dilation',
  },
  {
    name: 'DeepLabv3 layer3, 256→256 d2 at 32×32, one image',
    spec: { n: 1, c: 256, h: 32, w: 32, oc: 256, kh: 3, kw: 3, padding: 2, dilation: 2 },
    expect: ['winograd', 'winograd', 'weight-gemm', 'winograd', 'implicit-gemm'],
    why: '4 phase images of 16×16',
  },
  {
    name: 'ResNet-50 layer3, 256→256 at 14×14, one image',
    spec: { n: 1, c: 256, h: 14, w: 14, oc: 256, kh: 3, kw: 3, padding: 1 },
    expect: ['padded-width', 'padded-width', 'weight-gemm', 'winograd', 'winograd'],
    why: '49 tiles: Winograd only with the weights transformed once (WINO_PACKED_MIN_TILES 32)',
  },
  {
    name: 'ResNet-50 layer4, 512→512 at 7×7, one image',
    spec: { n: 1, c: 512, h: 7, w: 7, oc: 512, kh: 3, kw: 3, padding: 1 },
    expect: ['padded-width', 'padded-width', 'batched', 'padded-width', 'implicit-gemm'],
    why: '16 tiles: direct even with packed weights',
  },
  {
    name: 'ResNet-50 layer4 1×1, 512→2048 at 7×7, batch 8',
    spec: { n: 8, c: 512, h: 7, w: 7, oc: 2048, kh: 1, kw: 1 },
    expect: ['batched', 'padded-width', 'batched', 'batched', 'pointwise'],
    why: 'a small map at batch 8 whose 1×1 weights outgrow an L2 (≥ 2¹⁷ floats): one GEMM over every image',
  },
  {
    name: 'ResNet-50 layer4 1×1, 512→2048 at 7×7, one image',
    spec: { n: 1, c: 512, h: 7, w: 7, oc: 2048, kh: 1, kw: 1 },
    expect: ['pointwise', 'padded-width', 'batched', 'pointwise', 'pointwise'],
    why: 'one image has no columns to join: the 1×1 runs on the image as it lies',
  },
  {
    name: 'MobileNetV2 1×1, 576→96 at 14×14, batch 8',
    spec: { n: 8, c: 576, h: 14, w: 14, oc: 96, kh: 1, kw: 1 },
    expect: ['pointwise', 'padded-width', 'weight-gemm', 'pointwise', 'pointwise'],
    why: 'weights that fit an L2 (55 296 floats): in place, where the batched copies cost more than they save',
  },
  {
    name: 'DeepLabv3 ASPP, 2048→256 d12 at 32×32',
    spec: { n: 1, c: 2048, h: 32, w: 32, oc: 256, kh: 3, kw: 3, padding: 12, dilation: 12 },
    expect: ['tapwise', 'tapwise', 'weight-gemm', 'tapwise', 'implicit-gemm'],
    why: 'taps mostly read padding (56 % live): a GEMM per live tap, packed or not',
  },
];

function expected(e: Expect, width: Width): readonly ConvPlan[] {
  return Array.isArray(e) ? e : (e as Record<Width, readonly ConvPlan[]>)[width];
}

test('conv planner: each geometry gets the documented algorithm per direction on every native build', () => {
  const isas = nativeIsas();
  assert.ok(
    isas.includes('generic') && isas.includes('generic16') && isas.includes('generic8'),
    'the portable builds load everywhere',
  );
  for (const isa of isas) {
    for (const c of CASES) {
      const g = convGeometryOf(c.spec);
      const got = CONV_DIRECTIONS.map((d) => nativeConvPlan(isa, g, d));
      assert.deepEqual(got, expected(c.expect, WIDTH[isa]), `native-${isa}, ${c.name} (${c.why})`);
    }
  }
});

test('conv planner: every wasm module plans like the 4-wide portable build (same tile)', () => {
  for (const v of [
    { threads: false, relaxed: false },
    { threads: false, relaxed: true },
  ]) {
    let b: Backend;
    try {
      b = loadWasmVariant(v);
    } catch (err) {
      console.log(`# wasm ${JSON.stringify(v)} not tested here: ${(err as Error).message}`);
      continue;
    }
    for (const c of CASES) {
      const g = convGeometryOf(c.spec);
      assert.deepEqual(
        CONV_DIRECTIONS.map((d) => convPlanOf(b, g, d)),
        expected(c.expect, 4),
        `${b.name}, ${c.name}`,
      );
    }
  }
  assert.equal(
    convPlanOf(referenceBackend, convGeometryOf(CASES[0].spec), 'forward'),
    null,
    'the reference backend has no planner',
  );
});

test('conv planner: geometry from sizes follows PyTorch’s output size and rejects bad input', () => {
  const g = parseConvPlanSpec('2,3,224,224,64,7,7,2,3,1,1');
  assert.deepEqual([g.oh, g.ow, g.strideH, g.padW, g.dilationH, g.groups], [112, 112, 2, 3, 1, 1]);
  assert.deepEqual([parseConvPlanSpec('1,4,10,10,8,3,3,1,0,2').oh], [6]); // 10 − 2·2 = 6
  assert.throws(() => parseConvPlanSpec('1,2,3'), /expected N,C,H,W,OC,KH,KW/);
  assert.throws(() => parseConvPlanSpec('1,4,8,8,4,3,3,1,0,1,3'), /groups 3 must divide c 4/);
  assert.throws(() => parseConvPlanSpec('1,4,2,2,4,3,3'), /does not fit a 2×2 input/);
  assert.throws(() => parseConvPlanSpec('1,4,8,8,4,3,x'), /kw must be a non-negative integer, got 'x'/);
  assert.throws(() => parseConvPlanSpec('1,4,8,8,4,3,3,0'), /stride must be an integer ≥ 1, got 0/);
});

test('tatami info --conv-plan prints each build’s algorithm per direction', async () => {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => {
    out.push(a.join(' '));
  };
  try {
    const code = await runCli(['node', 'tatami', 'info', '--conv-plan', '8,64,32,32,64,3,3,1,1'], {
      out: (s) => out.push(s),
      err: (s) => out.push(s),
    });
    assert.equal(code, 0);
  } finally {
    console.log = log;
  }
  const text = out.join('\n');
  assert.match(text, /conv plan for n8 c64 32×32 → oc64 32×32, k3×3 s1×1 p1×1 d1×1 g1/);
  assert.match(text, /native-generic\s+winograd\s+winograd\s+winograd/);
  assert.match(text, /native-generic8\s+winograd\s+winograd\s+winograd/);
});

test('TATAMI_LOG_CONV_PLAN=1 logs each choice once per geometry and direction', () => {
  const script = `
    import * as tt from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
    tt.setBackend('native-generic');
    const x = tt.randn([2, 3, 9, 9], { requiresGrad: true });
    const w = tt.randn([4, 3, 3, 3], { requiresGrad: true });
    for (let i = 0; i < 3; i++) tt.F.conv2d(x, w, null, { padding: 1 }).sum().backward();
    tt.F.conv2d(tt.randn([1, 3, 9, 9]), w, null, { stride: 2 });
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, TATAMI_LOG_CONV_PLAN: '1', TATAMI_NUM_THREADS: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('tatami: conv plan'));
  assert.deepEqual(lines, [
    'tatami: conv plan native-generic forward n2 c3 9×9 → oc4 9×9, k3×3 s1×1 p1×1 d1×1 g1: padded-width',
    'tatami: conv plan native-generic input n2 c3 9×9 → oc4 9×9, k3×3 s1×1 p1×1 d1×1 g1: padded-width',
    'tatami: conv plan native-generic weight n2 c3 9×9 → oc4 9×9, k3×3 s1×1 p1×1 d1×1 g1: dot',
    // a new geometry (stride 2) is logged again; 16 of the polyphase grid's 24 columns are real (≥ 60 %)
    'tatami: conv plan native-generic forward n1 c3 9×9 → oc4 4×4, k3×3 s2×2 p0×0 d1×1 g1: padded-width',
  ]);
});
