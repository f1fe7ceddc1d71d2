/**
 * The procedural scene sets are data: a model trained on them, a README number or a bug report names a seed, so
 * the pixels of a given (options, seed, index) must never change by accident. These hashes were taken before the
 * shared scene-painting code (`src/data/scene-paint.ts`) was factored out of the two generators.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tt from '../src/index.ts';

function digest(tensors: tt.Tensor[]): string {
  const h = createHash('sha256');
  for (const t of tensors) {
    const d = t.contiguous().dataView();
    h.update(t.dtype + ':' + t.shape.join('x') + ':');
    h.update(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

test('DetectionScenes: samples are bit-identical to the pinned ones', () => {
  const got: string[] = [];
  for (const opts of [{ seed: 0 }, { seed: 7, size: 64, noise: 0 }, { seed: 3, size: 48, objects: [6, 12] as const }]) {
    const ds = new tt.data.DetectionScenes(opts);
    for (const i of [0, 1, 5]) {
      const s = ds.generate(i);
      got.push(digest([s.image, s.boxes, s.labels, s.mask!, s.area!]));
    }
  }
  assert.deepEqual(got, DETECTION_PINS);
});

test('SegmentationScenes: samples are bit-identical to the pinned ones', () => {
  const got: string[] = [];
  for (const opts of [{ seed: 0 }, { seed: 2, size: 32, noise: 0 }, { seed: 9, size: 96, objects: [1, 2] as const }]) {
    const ds = new tt.data.SegmentationScenes(opts);
    for (const i of [0, 1, 5]) {
      const s = ds.generate(i);
      got.push(digest([s.image, s.mask]));
    }
  }
  assert.deepEqual(got, SEGMENTATION_PINS);
});

const DETECTION_PINS: string[] = [
  '72b0f5badb29fbf6',
  'fe25bbe158627515',
  '881c69f413fd3681',
  'a7d7118e92f7101a',
  '85b4ad46804752ad',
  '11f4161a339683d2',
  '39c3cce5eb98108b',
  '8d6fc8a4d49970d5',
  '303fa2b64c4c0106',
];
const SEGMENTATION_PINS: string[] = [
  '5c6704006035fcf6',
  'dbb9f0dd22cfe326',
  '70c86a1ce340c109',
  '078ea99e89c264a5',
  '3ec13a5bd011e73e',
  'db63c3b2e3a61eee',
  'd9706d8ddc5532ac',
  '553a42b41090d310',
  'a3a5523fd65f2dd9',
];

test('scene-paint: seeds, value noise, shape rasterisation, noise and clamping (hand-computed)', async () => {
  const sp = await import('../src/data/scene-paint.ts');
  const { mix } = await import('../src/data/shapes.ts');
  for (const [s, i] of [
    [0, 0],
    [12345, 17],
    [-1, 3],
  ])
    assert.equal(sp.sceneSeed(s, i), mix(s, i));
  assert.notEqual(sp.sceneSeed(1, 2, 0x3c6ef372), sp.sceneSeed(1, 2));
  // One cell over a 2×2 image: pixel (x, y) samples the lattice at (x/2, y/2).
  const v = sp.valueNoise([0, 1, 2, 3], 1, 2);
  assert.deepEqual(Array.from(v), [0, 0.5, 1, 1.5]);
  assert.throws(() => sp.valueNoise([0, 1, 2], 1, 2), /1 cells need 4 lattice values, got 3/);
  // A circle of radius 3 centred on a pixel corner: per quadrant the centres (½, ½) … (2½, 1½) — 8 of the 9 with
  // offsets in {½, 1½, 2½} (not (2½, 2½)) — 32 in all.
  const hits: [number, number][] = [];
  sp.forEachShapePixel(16, { kind: 'circle', cx: 8, cy: 8, r: 3, theta: 0.3 }, (x, y) => void hits.push([x, y]));
  assert.equal(hits.length, 32);
  assert.ok(hits.every(([x, y]) => (x + 0.5 - 8) ** 2 + (y + 0.5 - 8) ** 2 <= 9));
  // Cut by the border: only the in-image quarter is visited.
  let n = 0;
  sp.forEachShapePixel(16, { kind: 'circle', cx: 0, cy: 0, r: 3, theta: 0 }, () => n++);
  assert.equal(n, 8);
  const img = Float32Array.from([-0.5, 0.25, 1.5]);
  sp.addNoiseAndClamp(new tt.Generator(0), img, 0);
  assert.deepEqual(Array.from(img), [0, 0.25, 1]);
});
