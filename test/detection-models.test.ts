/**
 * Fast checks of the one-stage detectors' building blocks without PyTorch (the parity tests in
 * test/detection-parity-*.test.ts compare whole models with torchvision): hand-computed default boxes, SSD and
 * FCOS matching, the linear box coder, SSD's hard negative mining, and the input checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const det = tt.models.detection;
const int = (v: number[]) => tt.tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });

test('DefaultBoxGenerator: SSD default boxes by hand (scales, √(s_k s_k+1), ratio pairs, steps, clipping)', () => {
  const g = new det.DefaultBoxGenerator([[2]], { scales: [0.5, 0.8] });
  assert.deepEqual(g.numAnchorsPerLocation(), [4]);
  const il = new det.ImageList(tt.zeros([1, 3, 20, 40]), [[20, 40]]);
  const [boxes] = g.forward(il, [tt.zeros([1, 1, 1, 2])]);
  assert.deepEqual(boxes.shape, [8, 4]);
  // Cell (0, 0): centre (0.25, 0.5) of a 2-wide, 1-high grid; image 40 wide, 20 high.
  const sp = Math.sqrt(0.5 * 0.8);
  const w2 = 0.5 * Math.SQRT2,
    h2 = 0.5 / Math.SQRT2;
  const want = [
    [0.5, 0.5],
    [sp, sp],
    [w2, h2],
    [h2, w2],
  ].map(([w, h]) => [(0.25 - w / 2) * 40, (0.5 - h / 2) * 20, (0.25 + w / 2) * 40, (0.5 + h / 2) * 20]);
  assertClose(boxes.narrow(0, 0, 4), tt.tensor(want), { atol: 1e-4 });
  // Steps place centres at (i + 0.5)·step; widths above 1 are clipped to the image.
  const s = new det.DefaultBoxGenerator([[]], { scales: [1.5, 2], steps: [10] });
  const [b2] = s.forward(il, [tt.zeros([1, 1, 1, 1])]);
  assertClose(b2.narrow(0, 0, 1), tt.tensor([[5 - 20, 5 - 10, 5 + 20, 5 + 10]]), { atol: 1e-4 });
  assert.throws(() => new det.DefaultBoxGenerator([[2], [2]], { steps: [8] }), /same length/);
});

test('ssdMatch: IoU ≥ 0.5 matches and every gt keeps its best default box', () => {
  // gt 1's best default box is anchor 2 (0.3, below the threshold): forced onto it; anchor 1 stays background.
  assert.deepEqual(
    Array.from(
      det.ssdMatch(
        tt.tensor([
          [0.6, 0.2, 0.1],
          [0.1, 0.05, 0.3],
        ]),
        0.5,
      ),
    ),
    [0, -1, 1],
  );
  // Both gts' best box is anchor 0: the later gt takes it (torchvision assigns in gt order), although gt 0 has
  // the higher IoU there.
  assert.deepEqual(
    Array.from(
      det.ssdMatch(
        tt.tensor([
          [0.6, 0.3, 0.1],
          [0.55, 0.1, 0.2],
        ]),
        0.5,
      ),
    ),
    [1, -1, -1],
  );
});

test('BoxLinearCoder: encode / decode round trip, normalised by the reference size', () => {
  const c = new det.BoxLinearCoder(true);
  const ref = [0, 0, 8, 8, 16, 16, 48, 32];
  const boxes = [1, 2, 9, 12, 10, 20, 40, 30];
  const codes = c.encode(ref, boxes, 2);
  // Reference 0: centre (4, 4), size 8 → (4 − 1)/8, (4 − 2)/8, (9 − 4)/8, (12 − 4)/8.
  assertClose(tt.tensor(Array.from(codes.subarray(0, 4)), [4]), tt.tensor([3 / 8, 2 / 8, 5 / 8, 1]));
  assertClose(c.decode(tt.tensor(codes, [2, 4]), tt.tensor(ref, [2, 4])), tt.tensor(boxes, [2, 4]), { atol: 1e-5 });
});

test('FCOS matching: centre region, inside the box, level size range, smallest gt wins', () => {
  const m = det.fcos_resnet50_fpn({ minSize: 64, maxSize: 64 });
  // Two levels: stride-8 anchors at centres 4 and 12 (one row), one stride-16 anchor at centre 8.
  const anchors = tt.tensor([
    [0, 0, 8, 8],
    [8, 0, 16, 8],
    [0, 0, 16, 16],
  ]);
  const gts = tt.tensor([
    [0, 0, 30, 30],
    [2, 1, 14, 7],
  ]);
  // Anchor 0 (centre 4,4): gt 0's centre (15, 15) is 11 px away > 1.5·8 ✗; gt 1 centre (8, 4) within 12 ✓,
  // inside ✓, max distance 10 ≤ 8·8 → gt 1. Anchor 1 (12, 4): gt 1 again. Anchor 2 (8, 8): outside gt 1 (y > 7);
  // gt 0: centre 7 px away < 24, inside, max distance 22 is below the last level's lower bound 4·16 = 64 ✗.
  assert.deepEqual(Array.from(m.match(anchors, gts, [2, 1])), [1, 1, -1]);
  assert.deepEqual(Array.from(m.match(anchors, tt.zeros([0, 4]), [2, 1])), [-1, -1, -1]);
});

test('SSD loss: hard negatives are the three highest-loss background boxes per positive', () => {
  const ssd = det.ssdlite320_mobilenet_v3_large({ numClasses: 3 });
  // One image, six anchors, anchor 1 positive (class 2); logits chosen so the background losses are ordered.
  const logits = tt.tensor([
    [
      [0, 1, 0],
      [0, 0, 3],
      [0, 2, 0],
      [1, 0, 0],
      [0, 0, 4],
      [0, 0.5, 0],
    ],
  ]);
  const reg = tt.zeros([1, 6, 4]);
  const anchors = [
    tt.tensor([
      [0, 0, 10, 10],
      [10, 10, 20, 20],
      [0, 10, 10, 20],
      [10, 0, 20, 10],
      [5, 5, 15, 15],
      [0, 0, 20, 20],
    ]),
  ];
  const matched = [Int32Array.from([-1, 0, -1, -1, -1, -1])];
  const losses = ssd.computeLoss(
    [{ boxes: tt.tensor([[10, 10, 20, 20]]), labels: int([2]) }],
    { cls_logits: logits, bbox_regression: reg },
    anchors,
    matched,
  );
  const ce = (row: number[], c: number) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[c];
  const rows = [
    [0, 1, 0],
    [0, 0, 3],
    [0, 2, 0],
    [1, 0, 0],
    [0, 0, 4],
    [0, 0.5, 0],
  ];
  const bg = [0, 2, 3, 4, 5]
    .map((j) => ce(rows[j], 0))
    .sort((a, b) => b - a)
    .slice(0, 3);
  assertClose(losses.classification.reshape(1), tt.tensor([ce(rows[1], 2) + bg.reduce((a, b) => a + b, 0)]), {
    atol: 1e-5,
  });
  // The matched anchor equals its gt box: zero regression target, zero-delta prediction → zero loss.
  assertClose(losses.bbox_regression.reshape(1), tt.tensor([0]), { atol: 1e-6 });
});

test('one-stage detectors check their inputs like torchvision', () => {
  const m = det.retinanet_resnet50_fpn({ minSize: 64, maxSize: 64, numClasses: 3 });
  m.train();
  assert.throws(() => m.forward([tt.rand([3, 64, 64])]), /targets should not be none/);
  assert.throws(
    () => m.forward([tt.rand([3, 64, 64])], [{ boxes: tt.tensor([[5, 5, 5, 9]]), labels: int([1]) }]),
    /positive height and width/,
  );
  assert.throws(
    () => m.forward([tt.rand([3, 64, 64])], [{ boxes: tt.tensor([1, 2, 3, 4]), labels: int([1]) }]),
    /shape \[N, 4\]/,
  );
});
