/** Segmentation metrics on hand-computed confusion matrices: ignoreIndex, accumulation, IoU/fwIoU/Dice, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { SegmentationConfusionMatrix, SegmentationMetric } from '../src/train/seg-metrics.ts';

const labels = (v: tt.NestedArray) => tt.tensor(v, { dtype: 'int32' });
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('confusion matrix by hand, ignoreIndex skipped, accumulated over batches', () => {
  const m = new SegmentationConfusionMatrix(3);
  // batch 1: target [[0,0,1],[1,2,255]] pred [[0,1,1],[1,2,0]] → (0,0) (0,1) (1,1) (1,1) (2,2); 255 ignored.
  m.update(
    labels([
      [
        [0, 1, 1],
        [1, 2, 0],
      ],
    ]),
    labels([
      [
        [0, 0, 1],
        [1, 2, 255],
      ],
    ]),
  );
  // batch 2 as logits: pred = argmax → [[2, 0]], target [[2, 1]] → (2,2) (1,0).
  const logits = tt.tensor([[[[0, 5]], [[1, 0]], [[3, -1]]]]);
  m.update(logits, labels([[[2, 1]]]));
  assert.deepEqual(m.toArray(), [
    [1, 1, 0],
    [1, 2, 0],
    [0, 0, 2],
  ]);
  assert.equal(m.total, 7);
  close(m.pixelAccuracy(), 5 / 7, 'pixel accuracy');
  // IoU: c0 1/(2+2−1)=1/3, c1 2/(3+3−2)=1/2, c2 2/2=1.
  const iou = m.iou();
  close(iou[0], 1 / 3, 'iou0');
  close(iou[1], 1 / 2, 'iou1');
  close(iou[2], 1, 'iou2');
  close(m.meanIoU(), (1 / 3 + 1 / 2 + 1) / 3, 'mIoU');
  // fwIoU: frequencies 2/7, 3/7, 2/7.
  close(m.frequencyWeightedIoU(), (2 / 7) * (1 / 3) + (3 / 7) * (1 / 2) + (2 / 7) * 1, 'fwIoU');
  const dice = m.dice();
  close(dice[0], 2 / 4, 'dice0');
  close(dice[1], 4 / 6, 'dice1');
  close(dice[2], 1, 'dice2');
  // Dice = 2·IoU/(1 + IoU) for every class.
  for (let c = 0; c < 3; c++) close(dice[c], (2 * iou[c]) / (1 + iou[c]), `dice/iou ${c}`);
  assert.deepEqual(
    m.classAccuracy().map((v) => +v.toFixed(6)),
    [0.5, +(2 / 3).toFixed(6), 1],
  );
});

test('a class absent from targets and predictions is NaN and left out of the means', () => {
  const m = new SegmentationConfusionMatrix(4, { ignoreIndex: -1 });
  m.update(labels([[0, 1, 1, 0]]), labels([[0, 1, -1, 1]]));
  assert.ok(Number.isNaN(m.iou()[2]) && Number.isNaN(m.iou()[3]));
  // (0,0) (1,1) (1,0): IoU 1/2 for both present classes.
  close(m.meanIoU(), 0.5, 'mIoU over present classes');
  assert.ok(Number.isNaN(new SegmentationConfusionMatrix(2).pixelAccuracy()));
  m.reset();
  assert.equal(m.total, 0);
});

test('SegmentationMetric reads {out} outputs and reports the chosen names', () => {
  const metric = new SegmentationMetric(2, { report: ['mIoU', 'pixelAccuracy', 'fwIoU', 'mDice'] });
  const out = tt.tensor([
    [
      [
        [1, -1],
        [0, 2],
      ],
      [
        [0, 1],
        [1, 0],
      ],
    ],
  ]); // argmax [[0,1],[1,0]]
  metric.update(
    { out, aux: out },
    labels([
      [
        [0, 1],
        [0, 0],
      ],
    ]),
  );
  const r = metric.compute();
  assert.deepEqual(Object.keys(r), ['mIoU', 'pixelAccuracy', 'fwIoU', 'mDice']);
  close(r.pixelAccuracy, 0.75, 'acc');
  close(r.mIoU, (2 / 3 + 1 / 2) / 2, 'mIoU');
  metric.reset();
  assert.ok(Number.isNaN(metric.compute().mIoU));
  assert.throws(() => metric.update(42, labels([[0]])), /must be a Tensor or \{out: Tensor/);
});

test('errors name the values and shapes', () => {
  const m = new SegmentationConfusionMatrix(3);
  assert.throws(
    () => m.update(labels([[0, 1]]), labels([[0, 7]])),
    /target 7 is outside \[0, 3\) and is not ignoreIndex 255/,
  );
  assert.throws(
    () => m.update(tt.zeros([1, 2, 1, 2]), labels([[[0, 1]]])),
    /logits \[1, 2, 1, 2\] do not fit 3 classes/,
  );
  assert.throws(
    () => m.update(labels([[0, 1, 2]]), labels([[0, 1]])),
    /must be logits \[N, C, …\] or labels shaped like the target/,
  );
  assert.throws(() => new SegmentationConfusionMatrix(0), /numClasses must be a positive integer/);
});
