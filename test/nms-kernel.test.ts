/**
 * The `nms` kernel (torchvision.ops.nms's CPU loop) on every build: the torchvision 0.14 goldens through tt.ops.nms
 * and tt.ops.batchedNms on every native instruction-set build the CPU has and the four wasm modules; a seeded
 * randomized comparison of the kernel with the float64-capable reference body on float32 boxes (clusters,
 * duplicates, zero-area, inverted and NaN boxes, thresholds outside [0, 1]) that must agree flag for flag; PyTorch's
 * float-IoU-against-double-threshold comparison at the threshold itself.
 *
 *   TATAMI_RANDOM_LONG=1   ten times as many random cases;  TATAMI_RANDOM_SEED=s  another seed
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import { acceleratedBuilds, inputsOf, loadFixtures, xorshift32, type FixtureCase } from './helpers.ts';

const CASES = process.env.TATAMI_RANDOM_LONG ? 3000 : 300;
const SEED = Number(process.env.TATAMI_RANDOM_SEED ?? 20261202);
const { builds, missing } = acceleratedBuilds();
const everyBackend = [['reference', tt.withBackend('reference', () => tt.backend())] as const, ...builds];
const ints = (t: tt.Tensor) => Array.from(t.dataView());

test('nms builds under test', () => {
  console.log(`# nms on: reference, ${[...builds.keys()].join(', ')}`);
  for (const m of missing) console.log(`# not tested here — ${m}`);
  assert.ok(builds.size > 0, 'no accelerated build to test');
});

const fx = loadFixtures('detection');
const get = (name: string): FixtureCase => {
  const c = fx.get(name);
  assert.ok(c, `fixture ${name} missing (regenerate: /usr/bin/python3 tools/fixtures/generate.py detection)`);
  for (const e of [c.output, ...c.extra]) e.data = e.data.map(Number);
  return c;
};

test('golden: torchvision nms and batched_nms on every build', () => {
  const single = ['nms_0.3', 'nms_0.5', 'nms_0.7', 'nms_ties', 'nms_nasty_0.0', 'nms_nasty_0.5', 'nms_nasty_1.0'];
  for (const [name, be] of everyBackend) {
    tt.withBackend(be, () => {
      for (const c of [...single, 'nms_empty'].map(get)) {
        const { boxes, scores } = inputsOf(c);
        assert.deepEqual(ints(tt.ops.nms(boxes, scores, c.params.iou as number)), c.output.data, `${name} ${c.name}`);
      }
      for (const c of ['batched_nms_0.4', 'batched_nms_0.6', 'batched_nms_empty'].map(get)) {
        const { boxes, scores, idxs } = inputsOf(c);
        assert.deepEqual(
          ints(tt.ops.batchedNms(boxes, scores, idxs, c.params.iou as number)),
          c.output.data,
          `${name} ${c.name}`,
        );
      }
    });
  }
});

test('nms compares the float32 IoU with the double threshold, as PyTorch does', () => {
  // IoU of these two is 55 / 100 = 0.55 in float32, i.e. 0.550000011920929 > 0.55: PyTorch suppresses the second
  // box at threshold 0.55 and keeps it at threshold fround(0.55).
  const boxes = tt.tensor([
    [0, 0, 10, 10],
    [0, 0, 10, 5.5],
  ]);
  const scores = tt.tensor([0.9, 0.8]);
  for (const [name, be] of everyBackend) {
    tt.withBackend(be, () => {
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, 0.55)), [0], `${name}: threshold 0.55`);
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, Math.fround(0.55))), [0, 1], `${name}: threshold fround(0.55)`);
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, 0.5500001)), [0, 1], `${name}: threshold 0.5500001`);
      // float64 boxes compare in double: 0.55 is not above 0.55
      const b64 = tt.tensor(
        [
          [0, 0, 10, 10],
          [0, 0, 10, 5.5],
        ],
        { dtype: 'float64' },
      );
      assert.deepEqual(ints(tt.ops.nms(b64, scores, 0.55)), [0, 1], `${name}: float64 boxes`);
    });
  }
});

test('nms by hand: chains, a box suppressed by a suppressed box survives, negative and infinite thresholds', () => {
  // 0 overlaps 1 (IoU 0.6), 1 overlaps 2 (IoU 0.6), 0 and 2 apart: 0 kept, 1 suppressed, 2 kept (1 suppresses nothing).
  const boxes = tt.tensor([
    [0, 0, 10, 10],
    [2.5, 0, 12.5, 10],
    [5, 0, 15, 10],
  ]);
  const scores = tt.tensor([0.9, 0.8, 0.7]);
  for (const [name, be] of everyBackend) {
    tt.withBackend(be, () => {
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, 0.5)), [0, 2], name);
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, 0.7)), [0, 1, 2], name);
      // IoU 0 > −0.1: every later box goes; Infinity suppresses nothing, −Infinity everything but NaN pairs
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, -0.1)), [0], name);
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, Infinity)), [0, 1, 2], name);
      assert.deepEqual(ints(tt.ops.nms(boxes, scores, -Infinity)), [0], name);
    });
  }
});

/** n float32 boxes in clusters, with duplicates and nasty ones, as a flat [n, 4] array. */
function randomBoxes(r: ReturnType<typeof xorshift32>, n: number): Float32Array {
  const out = new Float32Array(4 * n);
  const centres = Array.from({ length: r.int(1, 4) }, () => [r.unit() * 60, r.unit() * 60]);
  for (let i = 0; i < n; i++) {
    let b: number[];
    const kind = r.int(0, 9);
    if (kind === 0 && i > 0)
      b = Array.from(out.subarray(4 * (i - 1), 4 * i)); // duplicate of the previous one
    else if (kind === 1) {
      const x = r.int(0, 40),
        y = r.int(0, 40);
      b = [x, y, x, y + r.int(0, 3)]; // zero area
    } else if (kind === 2)
      b = [30, 30, 30 - r.unit() * 5, 30 - r.unit() * 5]; // inverted
    else if (kind === 3)
      b = [NaN, 1, 5, 5].map((v, k) => (k === r.int(0, 3) ? NaN : v)); // a NaN coordinate
    else if (kind === 4) {
      // quarter-pixel boxes: exact areas and intersections, IoUs that sit on simple thresholds
      const q = () => r.int(0, 160) / 4;
      const x = q(),
        y = q();
      b = [x, y, x + r.int(1, 40) / 4, y + r.int(1, 40) / 4];
    } else {
      const [cx, cy] = r.pick(centres);
      const w = 4 + r.unit() * 20,
        h = 4 + r.unit() * 20;
      const jx = (r.unit() - 0.5) * 6,
        jy = (r.unit() - 0.5) * 6;
      b = [cx + jx - w / 2, cy + jy - h / 2, cx + jx + w / 2, cy + jy + h / 2];
    }
    out.set(b, 4 * i);
  }
  return out;
}

test(`randomized: the nms kernel on every build against the reference body (${CASES} cases)`, () => {
  // float32 values: the kernel's contract (the op rounds PyTorch's double threshold down to one)
  const thresholds = [-0.5, 0, 0.1, 0.3, 0.5, 0.55, 0.7, 0.9, 1, 1.5, Infinity, -Infinity].map(Math.fround);
  for (let i = 0; i < CASES; i++) {
    const r = xorshift32(SEED + 104729 * i);
    const n = i % 10 === 0 ? r.int(100, 400) : r.int(0, 70);
    const boxes = randomBoxes(r, n);
    const thr = r.pick(thresholds);
    const want = new Int32Array(n);
    ref.nms(boxes, thr, want);
    for (const [name, be] of builds) {
      const got = new Int32Array(n).fill(7);
      be.nms(boxes, thr, got);
      assert.deepEqual(got, want, `${name} case ${i}: n ${n}, threshold ${thr}`);
    }
  }
});

test('the nms kernel refuses short boxes on every backend', () => {
  for (const [name, be] of everyBackend) {
    assert.throws(
      () => be.nms(new Float32Array(7), 0.5, new Int32Array(2)),
      /nms: boxes has 7 elements but the kernel's geometry needs 8/,
      name,
    );
  }
});
