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
/** [forward, input gradient, weight gradient], or one per vector width where the tile shape decides. */
type Expect = readonly [ConvPlan, ConvPlan, ConvPlan] | Record<Width, readonly [ConvPlan, ConvPlan, ConvPlan]>;

/** The same forward and input-gradient plans on every build; the weight gradient's per vector width. */
function wgradByWidth(forward: ConvPlan, input: ConvPlan, weight: Record<Width, ConvPlan>): Expect {
  return { 16: [forward, input, weight[16]], 8: [forward, input, weight[8]], 4: [forward, input, weight[4]] };
}

const CASES: { name: string; spec: ConvPlanSpec; expect: Expect; why: string }[] = [
  {
    name: 'W1 3×3, 64→64 at 32×32, batch 8',
    spec: { n: 8, c: 64, h: 32, w: 32, oc: 64, kh: 3, kw: 3, padding: 1 },
    expect: ['winograd', 'winograd', 'winograd'],
    why: '3×3 stride 1, ≤ 128×128 channels, ≥ 12×12 maps, ≥ 144 tiles',
  },
  {
    name: 'W4 second conv, 32→64 at 14×14, batch 64',
    spec: { n: 64, c: 32, h: 14, w: 14, oc: 64, kh: 3, kw: 3, padding: 1 },
    expect: wgradByWidth('winograd', 'winograd', { 16: 'weight-gemm', 8: 'winograd', 4: 'winograd' }),
    why: '14×14 with 64 images: 3136 tiles; a weight gradient with rows of fewer tiles than a vector goes GEMM on 16-wide builds',
  },
  {
    name: 'YOLOX 32→32 at 16×16, batch 8',
    spec: { n: 8, c: 32, h: 16, w: 16, oc: 32, kh: 3, kw: 3, padding: 1 },
    expect: wgradByWidth('winograd', 'winograd', { 16: 'weight-gemm', 8: 'winograd', 4: 'winograd' }),
    why: '8 tiles a row: scalar weight-gradient transforms, which the weight GEMM beats 2× on AVX-512 (not on AVX2)',
  },
  {
    name: 'W6 U-Net bottom, 512→512 at 8×8, batch 4',
    spec: { n: 4, c: 512, h: 8, w: 8, oc: 512, kh: 3, kw: 3, padding: 1 },
    expect: ['padded-width', 'padded-width', 'batched'],
    why: 'a 2.4M-float weight gradient on 8×8 maps: one batched GEMM over all images instead of one pass per image',
  },
  {
    name: '256→256 3×3 at 28×28',
    spec: { n: 1, c: 256, h: 28, w: 28, oc: 256, kh: 3, kw: 3, padding: 1 },
    expect: ['padded-width', 'padded-width', 'weight-gemm'],
    why: 'beyond 128×128 channels Winograd’s weight transform does not pay',
  },
  {
    name: 'depthwise 3×3',
    spec: { n: 2, c: 32, h: 16, w: 16, oc: 32, kh: 3, kw: 3, padding: 1, groups: 32 },
    expect: ['depthwise', 'padded-width', 'dot'],
    why: 'groups = c = oc: a stencil forward; grouped weight gradient is the dot form',
  },
  {
    name: 'grouped 3×3 (4 groups)',
    spec: { n: 2, c: 32, h: 16, w: 16, oc: 32, kh: 3, kw: 3, padding: 1, groups: 4 },
    expect: ['padded-width', 'padded-width', 'dot'],
    why: 'Winograd and the weight GEMM take one group only',
  },
  {
    name: '3×3 on a 2×2 map',
    spec: { n: 4, c: 128, h: 2, w: 2, oc: 128, kh: 3, kw: 3, padding: 1 },
    expect: ['dense', 'dense', 'dense'],
    why: '4 input pixels < 9 live taps: the unfolded-weight product',
  },
  {
    name: '3×3 on a 4×4 map, batch 16',
    spec: { n: 16, c: 64, h: 4, w: 4, oc: 64, kh: 3, kw: 3, padding: 1 },
    expect: {
      // padded-width columns: 4 rows × 6 wide = 24, rounded up to NR: real share 16/32 (16, 8 wide) < 60 %, 16/24 (4 wide) not
      16: ['batched', 'batched', 'weight-gemm'],
      8: ['batched', 'batched', 'weight-gemm'],
      4: ['padded-width', 'padded-width', 'weight-gemm'],
    },
    why: 'the batched lowering when under 60 % of the padded-width columns are real; weight GEMM from 4×4 up',
  },
  {
    name: '3×3 on an 8×8 map, batch 16',
    spec: { n: 16, c: 64, h: 8, w: 8, oc: 64, kh: 3, kw: 3, padding: 1 },
    expect: ['padded-width', 'padded-width', 'weight-gemm'],
    why: '8×8 maps: 64/80 real columns; too few Winograd tiles (256 needs 12×12 maps)',
  },
  {
    name: 'ResNet stem 7×7/2 at 224²',
    spec: { n: 1, c: 3, h: 224, w: 224, oc: 64, kh: 7, kw: 7, stride: 2, padding: 3 },
    expect: ['padded-width', 'im2col', 'weight-gemm'],
    why: 'strided: polyphase grid forward and weight GEMM, col2im for the input gradient',
  },
  {
    name: 'first layer 1→32 3×3 at 28×28',
    spec: { n: 8, c: 1, h: 28, w: 28, oc: 32, kh: 3, kw: 3 },
    expect: ['padded-width', 'padded-width', 'dot'],
    why: '9 taps are too few for the weight GEMM (needs ≥ 8·MR)',
  },
  {
    name: 'strided 1×1 (64→128, 56² → 28²)',
    spec: { n: 2, c: 64, h: 56, w: 56, oc: 128, kh: 1, kw: 1, stride: 2 },
    // weight GEMM needs c·kh·kw = 64 ≥ 8·MR: 112 (MR 14) no, 48 (MR 6) and 32 (MR 4) yes
    expect: wgradByWidth('im2col', 'im2col', { 16: 'im2col', 8: 'weight-gemm', 4: 'weight-gemm' }),
    why: 'a strided 1×1 conv reads one phase of the grid: im2col’s subsampling copies less',
  },
  {
    name: 'strided 1×1 on a small map (8×8 outputs)',
    spec: { n: 2, c: 64, h: 16, w: 16, oc: 128, kh: 1, kw: 1, stride: 2 },
    expect: wgradByWidth('batched', 'batched', { 16: 'batched', 8: 'weight-gemm', 4: 'weight-gemm' }),
    why: 'strided 1×1 with ≤ 256 output pixels goes batched; the weight GEMM form wins from 4 output pixels where it applies',
  },
  {
    name: '1×1, 64→256 at 56²',
    spec: { n: 2, c: 64, h: 56, w: 56, oc: 256, kh: 1, kw: 1 },
    expect: wgradByWidth('pointwise', 'padded-width', { 16: 'dot', 8: 'weight-gemm', 4: 'weight-gemm' }),
    why: 'unpadded 1×1 stride 1: a GEMM on the image in place; 64 taps fill the weight GEMM only below MR 8',
  },
  {
    name: 'MobileNetV2 1×1 960→160 at 7×7, batch 1',
    spec: { n: 1, c: 960, h: 7, w: 7, oc: 160, kh: 1, kw: 1 },
    expect: ['pointwise', 'padded-width', 'weight-gemm'],
    why: 'one image: in place even where the columns fill tiles poorly (nothing for the batched form to join)',
  },
  {
    name: 'ResNet-50 1×1 512→2048 at 7×7, batch 8',
    spec: { n: 8, c: 512, h: 7, w: 7, oc: 2048, kh: 1, kw: 1 },
    expect: ['pointwise', 'padded-width', 'batched'],
    why: 'several images: in place while ≥ 60 % of the columns fill tiles (49 of 64 at NR 32 and 16, 49 of 56 at NR 8); a 1M-float weight gradient on a 7×7 map goes batched (5.4 ms against 8.2 on AVX-512)',
  },
  {
    name: 'MobileNetV2 depthwise 3×3/2 at 112², batch 1',
    spec: { n: 1, c: 96, h: 112, w: 112, oc: 96, kh: 3, kw: 3, stride: 2, padding: 1, groups: 96 },
    expect: ['depthwise', 'im2col', 'im2col'],
    why: 'groups = c = oc: the polyphase depthwise kernel, every stride',
  },
  {
    name: 'FPN / RPN head 3×3, 256→256 at 64², batch 1',
    spec: { n: 1, c: 256, h: 64, w: 64, oc: 256, kh: 3, kw: 3, padding: 1 },
    expect: ['winograd', 'winograd', 'winograd'],
    why: 'beyond 128×128 channels Winograd needs ≥ c·oc/64 = 1024 tiles: 64² has 1024',
  },
  {
    name: 'ResNet layer3 / FPN 3×3, 256→256 at 32², batch 1',
    spec: { n: 1, c: 256, h: 32, w: 32, oc: 256, kh: 3, kw: 3, padding: 1 },
    expect: ['padded-width', 'padded-width', 'weight-gemm'],
    why: '256 tiles do not pay for transforming 256×256 weights per call (4.2 ms direct against 5.2 Winograd)',
  },
  {
    name: 'padding beyond the reach (3×3, pad 4)',
    spec: { n: 2, c: 8, h: 10, w: 10, oc: 8, kh: 3, kw: 3, padding: 4 },
    expect: wgradByWidth('padded-width', 'im2col', { 16: 'dot', 8: 'dot', 4: 'weight-gemm' }),
    why: 'complementary padding dil·(k−1) − pad < 0: the input gradient cannot be a forward conv; 72 taps ≥ 8·MR only at MR 4',
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
