/**
 * The detectors' shared plumbing (src/models/detection/one-stage.ts): the training-mode target transform, the
 * level flattening, the foreground pairs of a matching and the top-k candidate selection, by hand. RetinaNet, FCOS,
 * SSD and Faster R-CNN all run through these; their parity tests check the whole models against torchvision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const det = tt.models.detection;
const int = (v: number[]) => tt.tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });

test('transformTargets: resizes boxes with the images, keeps labels, masks only when asked', () => {
  // 40×20 image, min size 40 → scale 2 on both sides (max size 200 is not reached).
  const transform = new det.GeneralizedRCNNTransform(40, 200, [0, 0, 0], [1, 1, 1]);
  const masks = tt.tensor(
    Uint8Array.from({ length: 2 * 20 * 40 }, (_, i) => i % 2),
    [2, 20, 40],
    { dtype: 'uint8' },
  );
  const targets = [
    {
      boxes: tt.tensor([
        [1, 2, 5, 6],
        [0, 0, 40, 20],
      ]),
      labels: int([3, 1]),
      masks,
    },
  ];
  const images = [tt.rand([3, 20, 40])];
  const plain = det.transformTargets('Test', transform, images, targets);
  assert.deepEqual(plain.imageList.imageSizes, [[40, 80]]);
  assertClose(
    plain.targets[0].boxes,
    tt.tensor([
      [2, 4, 10, 12],
      [0, 0, 80, 40],
    ]),
    { atol: 1e-5 },
  );
  assert.deepEqual(Array.from(plain.targets[0].labels.dataView()), [3, 1]);
  assert.equal(plain.targets[0].masks, undefined);
  const withMasks = det.transformTargets('Test', transform, images, targets, { masks: true });
  assert.deepEqual(withMasks.targets[0].masks!.shape, [2, 40, 80]);
  // Missing targets and degenerate boxes name the model; the missing-targets wording is the caller's.
  assert.throws(
    () => det.transformTargets('Foo', transform, images, undefined),
    /^Error: Foo: targets should not be none/,
  );
  assert.throws(
    () => det.transformTargets('Foo', transform, images, undefined, { missing: 'targets should be passed' }),
    /Foo: targets should be passed/,
  );
  assert.throws(
    () => det.transformTargets('Foo', transform, images, [{ boxes: tt.tensor([[5, 5, 5, 9]]), labels: int([1]) }]),
    /Foo: all bounding boxes should have positive height and width; box 0 of target 0 is \[5, 5, 5, 9\]/,
  );
  assert.throws(
    () => det.checkTargets('Foo', [{ boxes: tt.tensor([1, 2, 3, 4]), labels: int([1]) }]),
    /Foo: expected target boxes of shape \[N, 4\], got \[4\] for target 0/,
  );
});

test('flattenLevels: [N, A·C, H, W] per level → [N, Σ HWA, C] in (level, y, x, anchor) order', () => {
  // Level 0: A = 2, C = 2, 1×2; level 1: 1×1. Value = 1000·level + 100·a + 10·c + x.
  const l0 = new Float32Array(2 * 2 * 1 * 2);
  for (let a = 0; a < 2; a++)
    for (let c = 0; c < 2; c++) for (let x = 0; x < 2; x++) l0[(a * 2 + c) * 2 + x] = 100 * a + 10 * c + x;
  const l1 = Float32Array.from([1000, 1010, 1100, 1110]);
  const out = det.flattenLevels([tt.tensor(l0, [1, 4, 1, 2]), tt.tensor(l1, [1, 4, 1, 1])], 2);
  assert.deepEqual(out.shape, [1, 6, 2]);
  assert.deepEqual(Array.from(out.dataView()), [0, 10, 100, 110, 1, 11, 101, 111, 1000, 1010, 1100, 1110]);
  const feats = [tt.zeros([1, 8, 2, 3]), tt.zeros([1, 8, 1, 2])];
  assert.deepEqual(det.outputsPerLevel(feats, 6 * 9 + 2 * 9), [54, 18]);
});

test('foregroundPairs and topCandidates by hand', () => {
  const { fg, gt } = det.foregroundPairs(Int32Array.from([-1, 2, -2, 0, 0, -1]));
  assert.deepEqual(Array.from(fg), [1, 3, 4]);
  assert.deepEqual(Array.from(gt), [2, 0, 0]);
  assert.equal(det.foregroundPairs(new Int32Array(0)).fg.length, 0);
  // Strictly above the threshold (float32 0.05 is not above float32 0.05), best first, ties by index, at most k.
  const s = Float32Array.from([0.3, 0.9, 0.05, 0.3, 0.9, 0.5]);
  assert.deepEqual(det.topCandidates(s, Math.fround(0.05), 10), [1, 4, 5, 0, 3]);
  assert.deepEqual(det.topCandidates(s, Math.fround(0.05), 3), [1, 4, 5]);
  assert.deepEqual(det.topCandidates(s, 0.95, 3), []);
});
