/**
 * fasterrcnn_resnet50_fpn end to end against torchvision 0.14 (its own file: the 167 MB state dict takes half a
 * minute to write and load). tools/detection_parity.py seeds the weights, calibrates the batch-norm statistics on
 * random images and keeps activations O(1) like a trained network's; see its comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';
import { describeParity } from './detection-parity-helpers.ts';

describeParity('Faster R-CNN parity with torchvision', 'fasterrcnn', (dir) => {
  test('fasterrcnn_resnet50_fpn: 41,808,406 parameters, torchvision names, same detections in eval mode', async () => {
    const m = tt.models.detection.fasterrcnn_resnet50_fpn({ minSize: 64, maxSize: 100 });
    assert.equal(m.numParameters(), 41_808_406);
    const res = m.loadStateDict(await tt.loadSafetensors(join(dir(), 'fasterrcnn.safetensors')));
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    m.eval();
    const io3 = await tt.loadSafetensors(join(dir(), 'fasterrcnn.io.safetensors'));
    const dets = m.forward([io3.img0, io3.img1]) as tt.models.detection.Detections[];
    for (let i = 0; i < 2; i++) {
      // The criterion: boxes within 1e-3 px, scores within 1e-4, the same labels — matched one to one,
      // since detections whose scores differ by less than float32 rounding may come in either order.
      const eb = io3[`boxes${i}`].dataView(),
        es = io3[`scores${i}`].dataView(),
        el = io3[`labels${i}`].dataView();
      const gb = dets[i].boxes.dataView(),
        gs = dets[i].scores.dataView(),
        gl = dets[i].labels.dataView();
      assert.equal(gs.length, es.length, `image ${i}: ${gs.length} detections, torchvision ${es.length}`);
      assert.ok(gs.length > 0, 'some detections');
      const used = new Uint8Array(gs.length);
      for (let k = 0; k < es.length; k++) {
        let found = -1;
        for (let j = 0; j < gs.length && found < 0; j++) {
          if (used[j] || gl[j] !== el[k] || Math.abs(gs[j] - es[k]) > 1e-4) continue;
          if ([0, 1, 2, 3].every((c) => Math.abs(gb[4 * j + c] - eb[4 * k + c]) <= 1e-3)) found = j;
        }
        assert.ok(
          found >= 0,
          `image ${i}: torchvision detection ${k} (label ${el[k]}, score ${es[k]}, box ${Array.from(eb.subarray(4 * k, 4 * k + 4))}) has no match`,
        );
        used[found] = 1;
      }
      for (let j = 1; j < gs.length; j++) assert.ok(gs[j] <= gs[j - 1], 'detections sorted by score');
    }
    assert.throws(() => m.train().forward([io3.img0]), /targets should be passed in training mode/);
  });

  test('fasterrcnn_resnet50_fpn training mode: the same four losses for the same targets and sampled anchors / proposals', async () => {
    const det = tt.models.detection;
    const m = det.fasterrcnn_resnet50_fpn({ minSize: 64, maxSize: 100 });
    m.loadStateDict(await tt.loadSafetensors(join(dir(), 'fasterrcnn.safetensors')));
    const io3 = await tt.loadSafetensors(join(dir(), 'fasterrcnn.io.safetensors'));
    const tr = await tt.loadSafetensors(join(dir(), 'fasterrcnn_train.io.safetensors'));
    // Replay torchvision's random draws: Tatami's own sampler draws from its generator instead.
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
      [io3.img0, io3.img1],
      [
        {
          boxes: tt.tensor([
            [5, 8, 40, 50],
            [50, 10, 85, 30],
          ]),
          labels: int([3, 17]),
        },
        { boxes: tt.tensor([[10, 12, 45, 66]]), labels: int([1]) },
      ],
    ) as Record<string, tt.Tensor>;
    assert.deepEqual(Object.keys(losses).sort(), [
      'loss_box_reg',
      'loss_classifier',
      'loss_objectness',
      'loss_rpn_box_reg',
    ]);
    for (const k of Object.keys(losses)) assertClose(losses[k].reshape(1), tr[k], { atol: 1e-5, rtol: 1e-4, what: k });
    const total = Object.values(losses).reduce((a, b) => a.add(b));
    total.backward();
    assert.ok(
      m.rpn.head.cls_logits.weight.grad && m.roi_heads.box_predictor.cls_score.weight.grad,
      'gradients reach both heads',
    );
  });
});
