/** YOLOv1: the paper's architecture, its loss on hand-computed cases, gradients, decoding, a short overfit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const { models } = tt;
const close = (a: number, b: number, what: string, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} ≠ ${b}`);

test('yolov1: 24 conv layers + 2 FC as the paper, output [N, S, S, 5B + C]', () => {
  // The paper's Figure 3 as (kernel, filters) per conv layer, written out independently of the implementation.
  const convs: [number, number][] = [
    [7, 64],
    [3, 192],
    [1, 128],
    [3, 256],
    [1, 256],
    [3, 512],
    ...Array.from(
      { length: 4 },
      () =>
        [
          [1, 256],
          [3, 512],
        ] as [number, number][],
    ).flat(),
    [1, 512],
    [3, 1024],
    [1, 512],
    [3, 1024],
    [1, 512],
    [3, 1024],
    [3, 1024],
    [3, 1024],
    [3, 1024],
    [3, 1024],
  ];
  assert.equal(convs.length, 24);
  let cin = 3;
  let expected = 0;
  for (const [k, c] of convs) {
    expected += k * k * cin * c + c;
    cin = c;
  }
  // At 128 px the last feature map is 2×2 (stride 64); the paper's 448 gives 7×7.
  expected += 1024 * 2 * 2 * 4096 + 4096 + 4096 * 7 * 7 * 30 + 7 * 7 * 30;
  const m = models.yolov1({ imageSize: 128 });
  assert.equal(m.numParameters(), expected);
  assert.equal(m.features.modules().filter((x) => x instanceof tt.nn.Conv2d).length, 24);
  m.eval();
  const y = tt.noGrad(() => m.forward(tt.rand([1, 3, 128, 128])));
  assert.deepEqual(y.shape, [1, 7, 7, 30]);
  assert.throws(
    () => m.forward(tt.rand([1, 3, 64, 64])),
    /YoloV1: expected input \[N, 3, 128, 128\], got \[1, 3, 64, 64\]/,
  );
  assert.throws(() => models.yolov1({ imageSize: 100 }), /multiple of the network stride 64/);
});

/** Predictions [1, 2, 2, 12] (S 2, B 2, C 2), zeros except what `set` writes. */
function preds(set: (p: Float64Array) => void): tt.Tensor {
  const p = new Float64Array(2 * 2 * 12);
  set(p);
  return tt.tensor(p, [1, 2, 2, 12], { dtype: 'float64' });
}
const target = [
  { boxes: tt.tensor([[0, 0, 50, 50]]), labels: tt.tensor(Int32Array.from([1]), [1], { dtype: 'int32' }) },
];
const opts = { imageSize: [100, 100] as [number, number], numClasses: 2, reduction: 'sum' as const };
const s = Math.SQRT1_2;

test('yoloV1Loss: hand-computed terms (responsible predictor, IoU confidence target, no-object weight, classes)', () => {
  // Cell 0 holds the object (centre 25, 25 → offsets 0.5, 0.5; √w = √h = √0.5). Predictor 0 is exact.
  const exact = preds((p) => {
    p.set([0.5, 0.5, s, s, 1], 0);
    p.set([0, 0, 0.1, 0.1, 0.3], 5);
    p.set([0.2, 0.9], 10);
  });
  const r = models.yoloV1Loss(exact, target, opts);
  // No-object: 0.5 · 0.3²; classes: 0.2² + 0.1².
  close(r.loss.item(), 0.045 + 0.05, 'loss');
  close(r.noObject, 0.045, 'no-object term');
  close(r.classes, 0.05, 'class term');
  close(r.coord + r.size + r.object, 0, 'responsible terms');
  // Shift predictor 0 by 0.1 in x: coord 5 · 0.01; IoU = 0.225 / 0.275, confidence term (1 − IoU)².
  const shifted = preds((p) => {
    p.set([0.6, 0.5, s, s, 1], 0);
    p.set([0, 0, 0.1, 0.1, 0.3], 5);
    p.set([0.2, 0.9], 10);
  });
  const r2 = models.yoloV1Loss(shifted, target, opts);
  const iou = 0.225 / 0.275;
  close(r2.coord, 0.05, 'coord');
  close(r2.object, (1 - iou) ** 2, 'object');
  close(r2.loss.item(), 0.05 + (1 - iou) ** 2 + 0.045 + 0.05, 'loss');
  // When predictor 1 overlaps better it becomes responsible and predictor 0 a no-object one.
  const swapped = preds((p) => {
    p.set([0, 0, 0.1, 0.1, 0.3], 0);
    p.set([0.5, 0.5, s, s, 1], 5);
    p.set([0, 1], 10);
  });
  close(models.yoloV1Loss(swapped, target, opts).loss.item(), 0.5 * 0.09, 'swapped');
  // 'mean' divides by the batch size; other cells' confidences count as no-object.
  const batch = tt.cat(
    [
      exact,
      preds((p) => {
        p[12 + 4] = 1;
      }),
    ],
    0,
  );
  const two = [...target, { boxes: tt.zeros([0, 4]), labels: tt.zeros([0], { dtype: 'int32' }) }];
  close(
    models.yoloV1Loss(batch, two, { ...opts, reduction: 'mean' }).loss.item(),
    (0.095 + 0.5) / 2,
    'mean over images',
  );
});

test('yoloV1Loss: one object per cell (the largest), gradients, bad labels', () => {
  const two = [
    {
      boxes: tt.tensor([
        [0, 0, 50, 50],
        [10, 10, 30, 30],
      ]),
      labels: tt.tensor(Int32Array.from([1, 0]), [2], { dtype: 'int32' }),
    },
  ];
  const p = preds((q) => {
    q.set([0.5, 0.5, s, s, 1], 0);
    q.set([0.2, 0.9], 10);
  });
  close(models.yoloV1Loss(p, two, opts).classes, 0.05, 'class term follows the larger object');
  // The confidence target (an IoU of the predicted box) is a constant, as in the paper, so the gradient is
  // 2·weight·(prediction − target) — not the derivative through the IoU that a numerical check would see.
  const exact = preds((q) => {
    q.set([0.5, 0.5, s, s, 1], 0);
    q.set([0, 0, 0.1, 0.1, 0.3], 5);
    q.set([0.2, 0.9], 10);
  }).requiresGrad_(true);
  models.yoloV1Loss(exact, target, opts).loss.backward();
  const g = Array.from(exact.grad!.dataView());
  const want = new Array<number>(48).fill(0);
  want[9] = 2 * 0.5 * 0.3;
  want[10] = 2 * 0.2;
  want[11] = 2 * (0.9 - 1);
  g.forEach((v, i) => close(v, want[i], `grad ${i}`, 1e-12));
  // Where no object is present the loss is a plain weighted square: gradcheck applies.
  const x = tt
    .tensor(
      Float64Array.from({ length: 48 }, (_, i) => 0.3 + 0.4 * Math.sin(i * 1.7) ** 2),
      [1, 2, 2, 12],
      { dtype: 'float64' },
    )
    .requiresGrad_(true);
  const none = [{ boxes: tt.zeros([0, 4]), labels: tt.zeros([0], { dtype: 'int32' }) }];
  assert.ok(tt.gradcheck((t: tt.Tensor) => models.yoloV1Loss(t, none, opts).loss, [x]));
  assert.throws(
    () =>
      models.yoloV1Loss(
        p,
        [{ boxes: tt.tensor([[0, 0, 5, 5]]), labels: tt.tensor(Int32Array.from([2]), [1], { dtype: 'int32' }) }],
        opts,
      ),
    /label 2 of image 0 is outside \[0, 2\)/,
  );
  assert.throws(
    () => models.yoloV1Loss(tt.zeros([1, 2, 2, 11]), target, opts),
    /predictions must be \[N, S, S, 5·2 \+ 2\]/,
  );
});

test('decodeYoloV1: boxes back in pixels, class-specific score, per-class NMS', () => {
  const p = preds((q) => {
    q.set([0.5, 0.5, s, s, 0.9], 0);
    q.set([0.52, 0.5, s, s, 0.8], 5); // a near-duplicate of predictor 0: suppressed
    q.set([0.2, 0.9], 10);
    q.set([0.5, 0.5, 0.5, 0.5, 0.1], 36); // cell 3, too low a score
    q.set([0, 1], 46);
  });
  const [d] = models.decodeYoloV1(p, { imageSize: [100, 100], numClasses: 2 });
  assert.deepEqual(Array.from(d.labels.dataView()), [1]);
  close(d.scores.item(), 0.9 * 0.9, 'score', 1e-6);
  Array.from(d.boxes.dataView()).forEach((v, i) => close(v, [0, 0, 50, 50][i], `box ${i}`, 1e-4));
});

test('fastYolov1 overfits two DetectionScenes images (loss falls by half in 30 Adam steps)', () => {
  tt.manualSeed(0);
  const ds = new tt.data.DetectionScenes({ n: 2, size: 128, seed: 1, objects: [2, 4] });
  const samples = [ds.get(0), ds.get(1)];
  const x = tt.stack(
    samples.map((s) => s.image),
    0,
  );
  const targets = samples.map((s) => ({ boxes: s.boxes, labels: s.labels.sub(1).to('int32') }));
  const m = models.fastYolov1({ imageSize: 128, numClasses: 5, hidden: 128, dropout: 0 });
  const opt = new tt.optim.Adam(m.parameters(), { lr: 1e-3 });
  const lossAt = () => models.yoloV1Loss(m.forward(x), targets, { imageSize: [128, 128], numClasses: 5 });
  const first = lossAt().loss.item();
  let last = first;
  for (let step = 0; step < 30; step++) {
    opt.zeroGrad();
    const { loss } = lossAt();
    loss.backward();
    opt.step();
    last = loss.item();
  }
  assert.ok(last < first / 2, `loss ${first} → ${last}`);
});
