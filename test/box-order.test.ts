/**
 * orderByScore — the descending, stable score order (with an optional top-k cut) behind NMS, batchedNms and every
 * detector's candidate selection — against a plain comparator sort (PyTorch's stable descending sort: NaN first,
 * ties by position, −0 equal to +0), on hand cases and seeded random scores full of ties, signed zeros,
 * infinities and NaN, for float32 (the radix path) and float64 scores, with and without an index subset, every k.
 *
 *   TATAMI_RANDOM_LONG=1   ten times as many random cases;  TATAMI_RANDOM_SEED=s  another seed
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderByScore } from '../src/ops/boxes.ts';
import { classCandidates, topCandidates } from '../src/models/detection/one-stage.ts';
import { xorshift32 } from './helpers.ts';

const CASES = process.env.TATAMI_RANDOM_LONG ? 4000 : 400;
const SEED = Number(process.env.TATAMI_RANDOM_SEED ?? 20261202);

/** The definition: positions of `idx` (or 0..n−1) by descending score, NaN first, ties by position. */
function reference(scores: ArrayLike<number>, idx: ArrayLike<number> | undefined, k: number): number[] {
  const items = Array.from({ length: idx ? idx.length : scores.length }, (_, q) => (idx ? idx[q] : q));
  const nan = (v: number) => (Number.isNaN(v) ? 0 : 1);
  const sorted = items
    .map((i, q) => ({ i, q, v: scores[i] }))
    .sort((a, b) => nan(a.v) - nan(b.v) || (a.v > b.v ? -1 : a.v < b.v ? 1 : 0) || a.q - b.q)
    .map((e) => e.i);
  return sorted.slice(0, Math.max(0, Math.min(sorted.length, k)));
}

test('orderByScore by hand: ties by position, NaN first, −0 ties +0, k cuts', () => {
  const s = Float32Array.from([0.5, 0.9, NaN, 0.5, -0, 0, -1, Infinity, -Infinity, 0.9]);
  assert.deepEqual(Array.from(orderByScore(s)), [2, 7, 1, 9, 0, 3, 4, 5, 6, 8]);
  assert.deepEqual(Array.from(orderByScore(s, undefined, 3)), [2, 7, 1]);
  assert.deepEqual(Array.from(orderByScore(s, undefined, 0)), []);
  // an index subset: order among the listed boxes, ties by their position in the list
  assert.deepEqual(Array.from(orderByScore(s, [5, 4, 3, 0])), [3, 0, 5, 4]);
  assert.deepEqual(Array.from(orderByScore(s, [9, 1], 1)), [9]);
  assert.deepEqual(Array.from(orderByScore(new Float32Array(0))), []);
  assert.deepEqual(Array.from(orderByScore(Float64Array.from([1, 3, 3, 2]))), [1, 2, 3, 0]);
});

test(`randomized: orderByScore equals the comparator sort (${CASES} cases, float32 and float64)`, () => {
  const rng = xorshift32(SEED);
  const rand = () => rng.unit();
  const pool = [0, -0, 1, -1, 0.25, NaN, Infinity, -Infinity, 1e-30, -1e-30];
  for (let c = 0; c < CASES; c++) {
    // sizes across the insertion-sort / radix / quickselect regimes, some with few distinct values (many ties)
    const n = [0, 1, 3, 17, 40, 300, 2000][c % 7] + Math.floor(rand() * 5);
    const distinct = rand() < 0.4 ? 1 + Math.floor(rand() * 6) : 0;
    const vals = Array.from({ length: n }, () => {
      if (rand() < 0.1) return pool[Math.floor(rand() * pool.length)];
      if (distinct) return Math.floor(rand() * distinct) / distinct;
      return (rand() - 0.3) * 10;
    });
    const scores = c % 3 === 2 ? Float64Array.from(vals) : Float32Array.from(vals);
    const idx = rand() < 0.5 ? undefined : Array.from({ length: Math.floor(rand() * n) }, () => Math.floor(rand() * n));
    const m = idx ? idx.length : n;
    for (const k of [Infinity, m, m + 1, 0, 1, Math.floor(m / 2), Math.floor(m / 5) + 1]) {
      assert.deepEqual(
        Array.from(orderByScore(scores, idx, k)),
        reference(scores, idx, k),
        `case ${c}: n ${n}, k ${k}, ${scores.constructor.name}, idx ${idx ? 'given' : 'none'}`,
      );
    }
  }
});

test('topCandidates: above the threshold, best first, ties by index, at most k', () => {
  const rng = xorshift32(SEED + 1);
  const rand = () => rng.unit();
  for (let c = 0; c < 50; c++) {
    const s = Float32Array.from({ length: 500 + c * 40 }, () => Math.round(rand() * 200) / 1000);
    const t = Math.fround(0.05);
    const want = reference(s, undefined, Infinity).filter((i) => s[i] > t);
    for (const k of [400, 10, 1]) assert.deepEqual(topCandidates(s, t, k), want.slice(0, k), `case ${c}, k ${k}`);
  }
});

test('classCandidates: per class ≥ 1 the rows above the threshold, best first, ties by row, at most topk', () => {
  const rng = xorshift32(SEED + 2);
  // by hand: 3 rows × 3 classes (class 0 is background and never a candidate)
  const hand = Float32Array.from([0.9, 0.5, 0.2, 0.1, 0.5, 0.7, 0.0, 0.6, 0.05]);
  const got = classCandidates(hand, 3, 3, 0.1, 2);
  // class 1: rows 2 (0.6), 0 and 1 (0.5, a tie: row 0 first), cut at 2; class 2: rows 1 (0.7), 0 (0.2)
  assert.deepEqual(Array.from(got.rows), [2, 0, 1, 0]);
  assert.deepEqual(Array.from(got.labels), [1, 1, 2, 2]);
  assert.deepEqual(Array.from(got.scores), [0.6, 0.5, 0.7, 0.2].map(Math.fround));
  const none = classCandidates(new Float32Array(0), 0, 5, 0.1, 10);
  assert.equal(none.rows.length, 0);
  for (let c = 0; c < 30; c++) {
    const n = 1 + rng.int(0, 400);
    const k = 2 + rng.int(0, 12);
    // coarse values: many ties; a few NaN, which never pass the threshold
    const s = Float32Array.from({ length: n * k }, () => (rng.unit() < 0.02 ? NaN : Math.round(rng.unit() * 50) / 100));
    const thresh = Math.fround(0.2);
    const topk = 1 + rng.int(0, 60);
    const want = { rows: [] as number[], scores: [] as number[], labels: [] as number[] };
    for (let cls = 1; cls < k; cls++) {
      const column = Float32Array.from({ length: n }, (_, j) => s[j * k + cls]);
      for (const j of reference(column, undefined, Infinity)
        .filter((j) => column[j] > thresh)
        .slice(0, topk)) {
        want.rows.push(j);
        want.scores.push(column[j]);
        want.labels.push(cls);
      }
    }
    const out = classCandidates(s, n, k, thresh, topk);
    assert.deepEqual(
      { rows: Array.from(out.rows), scores: Array.from(out.scores), labels: Array.from(out.labels) },
      want,
      `case ${c}: n ${n}, k ${k}, topk ${topk}`,
    );
  }
});
