/**
 * Parity of the torchvision.models.detection components with torchvision 0.14: tools/detection_parity.py runs them
 * in PyTorch (inputs and outputs to safetensors in a temp dir) and Tatami replays the inputs. Skipped with a
 * message when PyTorch is not importable by /usr/bin/python3 (CI installs it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const PY = '/usr/bin/python3';
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;

describe(
  'detection parity with torchvision',
  { skip: hasTorch ? false : 'PyTorch/torchvision not installed (see scripts/setup-system.sh)' },
  () => {
    let dir = '';
    let io: Record<string, tt.Tensor> = {};
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tatami-det-parity-'));
      const r = spawnSync(PY, ['tools/detection_parity.py', dir, 'transform', 'two_stage'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`detection_parity.py failed (${r.status}):\n${r.stderr}`);
      io = await tt.loadSafetensors(join(dir, 'transform.safetensors'));
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('Faster R-CNN two stages in eval mode: RPN head, proposals (top-k, NMS per level), RoIHeads detections', async () => {
      const det = tt.models.detection;
      const io2 = await tt.loadSafetensors(join(dir, 'two_stage.io.safetensors'));
      const weights = await tt.loadSafetensors(join(dir, 'two_stage.safetensors'));
      class TwoStage extends tt.nn.Module<[], void> {
        rpn = new det.RegionProposalNetwork(
          new det.AnchorGenerator(
            [
              [16, 32],
              [48, 64],
            ],
            [
              [0.5, 1, 2],
              [0.5, 1, 2],
            ],
          ),
          new det.RPNHead(8, 6),
          { preNmsTopN: 150, postNmsTopN: 60, nmsThresh: 0.7 },
        );
        roi_heads = new det.RoIHeads(
          new tt.ops.MultiScaleRoIAlign(['0', '1'], 7, 2),
          new det.TwoMLPHead(8 * 49, 32),
          new det.FastRCNNPredictor(32, 4),
        );
        forward(): void {}
      }
      const m = new TwoStage();
      m.loadStateDict(weights);
      m.eval();
      const images = new det.ImageList(tt.zeros([2, 3, 64, 80]), [
        [60, 80],
        [64, 70],
      ]);
      const feats = { 0: io2.f0, 1: io2.f1 };
      const [obj, deltas] = m.rpn.head.forward([io2.f0, io2.f1]);
      assertClose(obj[0], io2.obj0, { atol: 1e-5, what: 'objectness' });
      assertClose(deltas[1], io2.deltas1, { atol: 1e-5, what: 'deltas' });
      const [proposals] = m.rpn.forward(images, feats);
      for (let i = 0; i < 2; i++)
        assertClose(proposals[i], io2[`proposals${i}`], { atol: 1e-3, rtol: 1e-5, what: `proposals ${i}` });
      const [dets] = m.roi_heads.forward(feats, proposals, images.imageSizes);
      for (let i = 0; i < 2; i++) {
        assertClose(dets[i].boxes, io2[`boxes${i}`], { atol: 1e-3, rtol: 1e-5, what: `boxes ${i}` });
        assertClose(dets[i].scores, io2[`scores${i}`], { atol: 1e-4, what: `scores ${i}` });
        assert.deepEqual(
          Array.from(dets[i].labels.dataView()),
          Array.from(io2[`labels${i}`].dataView()),
          `labels ${i}`,
        );
      }
    });

    test('GeneralizedRCNNTransform eval: normalise, resize (boxes and masks), pad to 32', () => {
      const t = new tt.models.detection.GeneralizedRCNNTransform(
        64,
        90,
        [0.485, 0.456, 0.406],
        [0.229, 0.224, 0.225],
      ).eval();
      const [il, targets] = t.forward(
        [io.img0, io.img1],
        [
          { boxes: io.boxes0, masks: io.masks0 },
          { boxes: io.boxes1, masks: io.masks1 },
        ],
      );
      assertClose(il.tensors, io.eval_batch, { atol: 1e-5, rtol: 1e-5, what: 'batch' });
      assert.deepEqual(il.imageSizes.flat(), Array.from(io.eval_sizes.dataView()));
      assertClose(targets![0].boxes, io.eval_boxes0, { atol: 1e-5, what: 'boxes 0' });
      assertClose(targets![1].boxes, io.eval_boxes1, { atol: 1e-5, what: 'boxes 1' });
      assert.deepEqual(Array.from(targets![0].masks!.dataView()), Array.from(io.eval_masks0.dataView()));
      assert.deepEqual(Array.from(targets![1].masks!.dataView()), Array.from(io.eval_masks1.dataView()));
      assert.equal(
        String(t),
        "GeneralizedRCNNTransform(\n    Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])\n    Resize(min_size=(64,), max_size=90, mode='bilinear')\n)",
      );
    });

    test('GeneralizedRCNNTransform train: max_size cap, size_divisible 16, no targets', () => {
      const t = new tt.models.detection.GeneralizedRCNNTransform([100], 110, [0.5, 0.4, 0.3], [0.2, 0.3, 0.4], {
        sizeDivisible: 16,
      }).train();
      const [il, targets] = t.forward([io.img0, io.img1]);
      assert.equal(targets, null);
      assertClose(il.tensors, io.train_batch, { atol: 1e-5, rtol: 1e-5, what: 'batch' });
      assert.deepEqual(il.imageSizes.flat(), Array.from(io.train_sizes.dataView()));
    });

    test('GeneralizedRCNNTransform.postprocess: boxes back to the original size, masks pasted', () => {
      const t = new tt.models.detection.GeneralizedRCNNTransform(
        64,
        90,
        [0.485, 0.456, 0.406],
        [0.229, 0.224, 0.225],
      ).eval();
      const [out] = t.postprocess(
        [
          {
            boxes: tt.tensor([
              [3, 4, 40, 30],
              [-5, 10, 20, 70],
            ]),
            masks: io.post_masks_in,
          },
        ],
        [[64, 91]],
        [[37, 53]],
      );
      assertClose(out.boxes, io.post_boxes, { atol: 1e-5, what: 'boxes' });
      assertClose(out.masks!, io.post_masks, { atol: 1e-5, what: 'masks' });
    });
  },
);

test('GeneralizedRCNNTransform: gradient reaches the images; bad input is named', () => {
  const t = new tt.models.detection.GeneralizedRCNNTransform(16, 40, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]).eval();
  const x = tt.rand([3, 10, 14], { generator: new tt.Generator(1) }).requiresGrad_(true);
  const [il] = t.forward([x, tt.rand([3, 12, 9])]);
  assert.deepEqual(il.tensors.shape, [2, 3, 32, 32]);
  il.tensors.sum().backward();
  assert.ok(x.grad && x.grad.abs().sum().item() > 0);
  assert.throws(
    () => t.forward([tt.rand([10, 14])]),
    /images are expected to be 3d tensors \[C, H, W\], got \[10, 14\]/,
  );
  assert.throws(() => t.forward([tt.rand([1, 10, 14])]), /image has 1 channels but imageMean\/imageStd have 3\/3/);
});
