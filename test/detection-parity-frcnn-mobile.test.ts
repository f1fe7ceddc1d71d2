/**
 * fasterrcnn_mobilenet_v3_large_fpn end to end against torchvision 0.14 (tools/detection_parity.py frcnn_mobile):
 * CI, or TATAMI_SLOW_TESTS=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';
import { assertSameDetections, describeParity } from './detection-parity-helpers.ts';

describeParity('Faster R-CNN MobileNetV3-Large FPN parity with torchvision', 'frcnn_mobile', (dir) => {
  test('fasterrcnn_mobilenet_v3_large_fpn: 19,410,754 parameters, torchvision names, same detections and losses', async () => {
    const m = tt.models.detection.fasterrcnn_mobilenet_v3_large_fpn({ minSize: 128, maxSize: 200 });
    assert.equal(m.numParameters(), 19_410_754);
    const res = m.loadStateDict(await tt.loadSafetensors(join(dir(), 'frcnn_mobile.safetensors')));
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    m.eval();
    const io = await tt.loadSafetensors(join(dir(), 'frcnn_mobile.io.safetensors'));
    const dets = m.forward([io.img0, io.img1]) as tt.models.detection.Detections[];
    for (let i = 0; i < 2; i++) assertSameDetections(dets[i], io, i);

    const tr = await tt.loadSafetensors(join(dir(), 'frcnn_mobile_train.io.safetensors'));
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
    const losses = m.forward(
      [io.img0, io.img1],
      [
        {
          boxes: tt.tensor([
            [5, 8, 60, 90],
            [100, 10, 185, 60],
          ]),
          labels: int([3, 17]),
        },
        { boxes: tt.tensor([[10, 12, 120, 150]]), labels: int([1]) },
      ],
    ) as Record<string, tt.Tensor>;
    assert.deepEqual(Object.keys(losses).sort(), [
      'loss_box_reg',
      'loss_classifier',
      'loss_objectness',
      'loss_rpn_box_reg',
    ]);
    for (const k of Object.keys(losses)) assertClose(losses[k].reshape(1), tr[k], { atol: 1e-5, rtol: 1e-4, what: k });
  });
});
