/**
 * retinanet_resnet50_fpn end to end against torchvision 0.14 (its own file: the 137 MB state dict takes a while to
 * write and load). tools/detection_parity.py seeds the weights, calibrates the batch-norm statistics and rescales
 * the heads so that scores spread over (0.05, 1); see its comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';
import { assertSameDetections, describeParity } from './detection-parity-helpers.ts';

describeParity('RetinaNet parity with torchvision', 'retinanet', (dir) => {
  test('retinanet_resnet50_fpn: 34,068,119 parameters, torchvision names, same detections and losses', async () => {
    const m = tt.models.detection.retinanet_resnet50_fpn({ minSize: 128, maxSize: 200 });
    assert.equal(m.numParameters(), 34_068_119);
    const res = m.loadStateDict(await tt.loadSafetensors(join(dir(), 'retinanet.safetensors')));
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    m.eval();
    const io = await tt.loadSafetensors(join(dir(), 'retinanet.io.safetensors'));
    const dets = m.forward([io.img0, io.img1]) as tt.models.detection.Detections[];
    for (let i = 0; i < 2; i++) assertSameDetections(dets[i], io, i);

    m.train();
    assert.throws(() => m.forward([io.img0]), /targets should not be none/);
    const int = (v: number[]) => tt.tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });
    const losses = m.forward(
      [io.img0, io.img1],
      [
        {
          boxes: tt.tensor([
            [5, 8, 60, 90],
            [100, 10, 185, 60],
            [20, 30, 52, 70],
          ]),
          labels: int([3, 17, 3]),
        },
        { boxes: tt.tensor([[10, 12, 120, 150]]), labels: int([1]) },
      ],
    ) as Record<string, tt.Tensor>;
    const tr = await tt.loadSafetensors(join(dir(), 'retinanet_train.io.safetensors'));
    assert.deepEqual(Object.keys(losses).sort(), ['bbox_regression', 'classification']);
    for (const k of Object.keys(losses)) assertClose(losses[k].reshape(1), tr[k], { atol: 1e-5, rtol: 1e-4, what: k });
    losses.classification.add(losses.bbox_regression).backward();
    assert.ok(
      m.head.classification_head.cls_logits.weight.grad && m.head.regression_head.bbox_reg.weight.grad,
      'gradients reach both subnets',
    );
    assert.throws(
      () => m.forward([io.img0], [{ boxes: tt.tensor([[5, 8, 5, 20]]), labels: int([1]) }]),
      /positive height and width/,
    );
  });
});
