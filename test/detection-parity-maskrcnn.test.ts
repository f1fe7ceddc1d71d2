/**
 * maskrcnn_resnet50_fpn end to end against torchvision 0.14: detections, pasted masks and the five training losses
 * for tools/detection_parity.py's seeded weights (CI, or TATAMI_SLOW_TESTS=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';
import { assertSameDetections, describeParity } from './detection-parity-helpers.ts';

describeParity('Mask R-CNN parity with torchvision', 'maskrcnn', (dir) => {
  test('maskrcnn_resnet50_fpn: 44,454,513 parameters, torchvision names, same detections, masks and losses', async () => {
    const det = tt.models.detection;
    const m = det.maskrcnn_resnet50_fpn({ minSize: 64, maxSize: 100 });
    assert.equal(m.numParameters(), 44_454_513);
    const res = m.loadStateDict(await tt.loadSafetensors(join(dir(), 'maskrcnn.safetensors')));
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    m.eval();
    const io = await tt.loadSafetensors(join(dir(), 'maskrcnn.io.safetensors'));
    const dets = m.forward([io.img0, io.img1]) as tt.models.detection.Detections[];
    for (let i = 0; i < 2; i++) {
      const order = assertSameDetections(dets[i], io, i);
      const got = dets[i].masks!;
      const want = io[`masks${i}`];
      assert.deepEqual(got.shape, want.shape);
      const plane = want.shape[2] * want.shape[3];
      const g = got.dataView(),
        w = want.dataView();
      let maxDiff = 0,
        flips = 0;
      order.forEach((j, k) => {
        for (let p = 0; p < plane; p++) {
          const a = g[j * plane + p],
            b = w[k * plane + p];
          maxDiff = Math.max(maxDiff, Math.abs(a - b));
          // A pixel may only flip where torchvision's probability is within the 1e-4 tolerance of the threshold.
          if (a > 0.5 !== b > 0.5 && Math.abs(b - 0.5) > 1e-4) flips++;
        }
      });
      assert.ok(maxDiff <= 1e-4, `image ${i}: mask probabilities differ by up to ${maxDiff}`);
      assert.equal(flips, 0, `image ${i}: ${flips} pixels away from 0.5 differ after thresholding`);
    }

    const tr = await tt.loadSafetensors(join(dir(), 'maskrcnn_train.io.safetensors'));
    const replay = (key: string): tt.models.detection.FgBgSampler => ({
      call: () => [
        [tr[`${key}_pos0`], tr[`${key}_pos1`]],
        [tr[`${key}_neg0`], tr[`${key}_neg1`]],
      ],
    });
    m.rpn.fgBgSampler = replay('rpn');
    m.roi_heads.fgBgSampler = replay('roi');
    m.train();
    const int = (v: number[]) => tt.tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });
    const targets = [
      {
        boxes: tt.tensor([
          [5, 8, 40, 50],
          [50, 10, 85, 30],
        ]),
        labels: int([3, 17]),
        masks: tr.masks0,
      },
      { boxes: tt.tensor([[10, 12, 45, 66]]), labels: int([1]), masks: tr.masks1 },
    ];
    assert.throws(
      () =>
        m.forward(
          [io.img0, io.img1],
          targets.map(({ boxes, labels }) => ({ boxes, labels })),
        ),
      /should have a masks key/,
    );
    const losses = m.forward([io.img0, io.img1], targets) as Record<string, tt.Tensor>;
    assert.deepEqual(Object.keys(losses).sort(), [
      'loss_box_reg',
      'loss_classifier',
      'loss_mask',
      'loss_objectness',
      'loss_rpn_box_reg',
    ]);
    for (const k of Object.keys(losses)) assertClose(losses[k].reshape(1), tr[k], { atol: 1e-5, rtol: 1e-4, what: k });
    losses.loss_mask.backward();
    const fcn = m.roi_heads.mask_predictor!.getSubmodule('mask_fcn_logits') as tt.nn.Conv2d;
    assert.ok(fcn.weight.grad && fcn.weight.grad.abs().sum().item() > 0, 'the mask loss reaches the mask predictor');
  });
});
