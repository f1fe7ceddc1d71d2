/**
 * The convolution weight gradient on the geometries whose plans the planner's weight-gradient rules decide (the
 * batched lowering for large gradients on small maps, Winograd only with rows of at least a vector of tiles on the
 * 16-wide builds, the weight GEMM for the YOLOX 16×16 layers there), with ragged channel counts, maps off the tile
 * and vector sizes, batch 1 and 8, padding 0–2 and stride 2: every native build and every wasm build against the
 * float64 reference, each run into a zeroed and into a NaN-poisoned gradient (the two must agree bit for bit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conv2dGeometry } from '../src/backend/types.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import { convPlanOf, type ConvPlan } from '../src/backend/conv-plan.ts';
import { convGeometry } from '../src/backend/selfcheck.ts';
import { acceleratedBuilds, xorshift32 } from './helpers.ts';

const { builds } = acceleratedBuilds();

/** Floats per vector of each build (the planner's tile shape differs by width). */
function widthOf(name: string): 4 | 8 | 16 {
  if (name.endsWith('avx512') || name.endsWith('generic16')) return 16;
  if (name.endsWith('avx2') || name.endsWith('generic8')) return 8;
  return 4;
}

interface Case {
  name: string;
  g: Conv2dGeometry;
  /** The expected weight-gradient plan per vector width, where the case exists to pin one. */
  plan?: Record<4 | 8 | 16, ConvPlan>;
}

const CASES: Case[] = [
  {
    // 513 taps × 1030 output channels > 2¹⁹ floats on 7×6 maps: one batched GEMM, not a pass per image
    name: 'large gradient on a small map, batch 1',
    g: convGeometry(1, 57, 7, 6, 1030, 3, { pad: 1 }),
    plan: { 4: 'batched', 8: 'batched', 16: 'batched' },
  },
  {
    name: 'large gradient on a small map, batch 2, unpadded',
    g: convGeometry(2, 57, 8, 9, 1030, 3),
    plan: { 4: 'batched', 8: 'batched', 16: 'batched' },
  },
  {
    // 18 tiles a row (35 columns): Winograd on every width; 15 rows, the last tile row and column half outside
    name: 'Winograd, ragged channels, padding 2, batch 1',
    g: convGeometry(1, 17, 13, 33, 23, 3, { pad: 2 }),
    plan: { 4: 'winograd', 8: 'winograd', 16: 'winograd' },
  },
  {
    name: 'YOLOX 16×16 layer, batch 8',
    g: convGeometry(8, 32, 16, 16, 33, 3, { pad: 1 }),
    plan: { 4: 'winograd', 8: 'winograd', 16: 'weight-gemm' },
  },
  {
    name: 'Winograd on 12×12 maps, batch 8, padding 1, odd channels',
    g: convGeometry(8, 33, 12, 13, 18, 3, { pad: 1 }),
  },
  { name: 'stride 2, ragged, batch 8', g: convGeometry(8, 19, 15, 15, 37, 3, { pad: 1, stride: 2 }) },
  { name: 'stride 2, unpadded, batch 1', g: convGeometry(1, 45, 17, 16, 70, 3, { stride: 2 }) },
  { name: '1×1 on 9×9 maps, batch 8', g: convGeometry(8, 70, 9, 9, 45, 1) },
];

/** Null when within float32 rounding of a length-k reduction; else the first miss. */
function mismatch(actual: Float32Array, expected: Float64Array, k: number): string | null {
  const atol = 1e-5 + 2e-6 * k;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i],
      e = expected[i];
    if (!(Math.abs(a - e) <= atol + 1e-4 * Math.abs(e))) return `element ${i} is ${a}, expected ${e}`;
  }
  return null;
}

test('conv2d weight gradient: planner-chosen paths against float64 on every build, NaN-poisoned', () => {
  assert.ok(builds.size > 0, 'no accelerated build to test');
  const r = xorshift32(20261202);
  for (const { name, g, plan } of CASES) {
    const x = Float32Array.from({ length: g.n * g.c * g.h * g.w }, () => r.unit() * 2 - 1);
    const gy = Float32Array.from({ length: g.n * g.oc * g.oh * g.ow }, () => r.unit() * 2 - 1);
    const nw = g.oc * (g.c / g.groups) * g.kh * g.kw;
    const want = new Float64Array(nw);
    ref.conv2dBackwardWeight(Float64Array.from(x), Float64Array.from(gy), want, g);
    for (const [build, b] of builds) {
      const what = `${build}, ${name} (${JSON.stringify(g)})`;
      const p = convPlanOf(b, g, 'weight');
      if (plan) assert.equal(p, plan[widthOf(build)], `${what}: plan`);
      const zeroed = new Float32Array(nw),
        poisoned = new Float32Array(nw).fill(NaN);
      b.conv2dBackwardWeight(x, gy, zeroed, g);
      b.conv2dBackwardWeight(x, gy, poisoned, g);
      assert.deepEqual(
        new Int32Array(poisoned.buffer),
        new Int32Array(zeroed.buffer),
        `${what}: a NaN-poisoned gradient came out different (reads before writing?)`,
      );
      const bad = mismatch(zeroed, want, g.n * g.oh * g.ow);
      assert.equal(bad, null, `${what} [${p}]: ${bad}`);
    }
  }
});
