/**
 * fcos_resnet50_fpn end to end against torchvision 0.14 (tools/detection_parity.py fcos): CI, or TATAMI_SLOW_TESTS=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';
import { assertSameDetections, describeParity } from './detection-parity-helpers.ts';

describeParity('FCOS parity with torchvision', 'fcos', (dir) => {
  test('fcos_resnet50_fpn: 32,322,720 parameters, torchvision names, same detections and losses', async () => {
    const m = tt.models.detection.fcos_resnet50_fpn({ minSize: 128, maxSize: 200 });
    assert.equal(m.numParameters(), 32_322_720);
    const res = m.loadStateDict(await tt.loadSafetensors(join(dir(), 'fcos.safetensors')));
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    m.eval();
    const io = await tt.loadSafetensors(join(dir(), 'fcos.io.safetensors'));
    const dets = m.forward([io.img0, io.img1]) as tt.models.detection.Detections[];
    for (let i = 0; i < 2; i++) assertSameDetections(dets[i], io, i);

    m.train();
    const int = (v: number[]) => tt.tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });
    const losses = m.forward(
      [io.img0, io.img1],
      [
        {
          boxes: tt.tensor([
            [5, 8, 60, 90],
            [100, 10, 185, 60],
            [20, 30, 52, 70],
            [120, 70, 135, 84],
          ]),
          labels: int([3, 17, 3, 5]),
        },
        {
          boxes: tt.tensor([
            [10, 12, 120, 150],
            [30, 40, 50, 60],
          ]),
          labels: int([1, 2]),
        },
      ],
    ) as Record<string, tt.Tensor>;
    const tr = await tt.loadSafetensors(join(dir(), 'fcos_train.io.safetensors'));
    assert.deepEqual(Object.keys(losses).sort(), ['bbox_ctrness', 'bbox_regression', 'classification']);
    for (const k of Object.keys(losses)) assertClose(losses[k].reshape(1), tr[k], { atol: 1e-5, rtol: 1e-4, what: k });
    losses.classification.add(losses.bbox_regression).add(losses.bbox_ctrness).backward();
    assert.ok(
      m.head.regression_head.bbox_ctrness.weight.grad && m.head.classification_head.cls_logits.weight.grad,
      'gradients reach both heads',
    );
  });
});
