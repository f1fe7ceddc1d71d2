/**
 * ssdlite320_mobilenet_v3_large end to end against torchvision 0.14 (tools/detection_parity.py ssdlite: seeded
 * weights, calibrated batch norm, predictors scaled to peaked scores): CI, or TATAMI_SLOW_TESTS=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';
import { assertSameDetections, describeParity } from './detection-parity-helpers.ts';

describeParity('SSDlite parity with torchvision', 'ssdlite', (dir) => {
  test('ssdlite320_mobilenet_v3_large: 3,440,060 parameters, torchvision names, same detections and losses', async () => {
    const m = tt.models.detection.ssdlite320_mobilenet_v3_large();
    assert.equal(m.numParameters(), 3_440_060);
    const res = m.loadStateDict(await tt.loadSafetensors(join(dir(), 'ssdlite.safetensors')));
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    m.eval();
    const io = await tt.loadSafetensors(join(dir(), 'ssdlite.io.safetensors'));
    const dets = m.forward([io.img0, io.img1]) as tt.models.detection.Detections[];
    for (let i = 0; i < 2; i++) assertSameDetections(dets[i], io, i);

    m.train();
    const int = (v: number[]) => tt.tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });
    const losses = m.forward(
      [io.img0, io.img1],
      [
        {
          boxes: tt.tensor([
            [5, 8, 160, 190],
            [200, 10, 300, 120],
            [40, 230, 90, 300],
          ]),
          labels: int([3, 17, 3]),
        },
        { boxes: tt.tensor([[10, 12, 120, 150]]), labels: int([1]) },
      ],
    ) as Record<string, tt.Tensor>;
    const tr = await tt.loadSafetensors(join(dir(), 'ssdlite_train.io.safetensors'));
    assert.deepEqual(Object.keys(losses).sort(), ['bbox_regression', 'classification']);
    for (const k of Object.keys(losses)) assertClose(losses[k].reshape(1), tr[k], { atol: 1e-5, rtol: 1e-4, what: k });
    losses.classification.add(losses.bbox_regression).backward();
    const last = (h: tt.models.detection.SSDScoringHead) =>
      ((h.module_list.at(0) as tt.nn.Sequential).at(1) as tt.nn.Conv2d).weight.grad;
    assert.ok(last(m.head.classification_head) && last(m.head.regression_head), 'gradients reach both heads');
  });
});
