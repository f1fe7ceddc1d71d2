/**
 * fasterrcnn_resnet50_fpn end to end against torchvision 0.14 (its own file: the 167 MB state dict takes half a
 * minute to write and load). tools/detection_parity.py seeds the weights, calibrates the batch-norm statistics on
 * random images and keeps activations O(1) like a trained network's; see its comments.
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
// ~80 s on one busy core (building and loading 41.8 M parameters): runs in CI (CI=true) or with TATAMI_SLOW_TESTS=1.
const wanted = Boolean(process.env.CI || process.env.TATAMI_SLOW_TESTS);
const skip = !hasTorch ? 'PyTorch/torchvision not installed (see scripts/setup-system.sh)' : !wanted ? 'slow: set TATAMI_SLOW_TESTS=1 (CI runs it)' : false;

describe('Faster R-CNN parity with torchvision', { skip }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tatami-frcnn-parity-'));
    const r = spawnSync(PY, ['tools/detection_parity.py', dir, 'fasterrcnn'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`detection_parity.py failed (${r.status}):\n${r.stderr}`);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('fasterrcnn_resnet50_fpn: 41,808,406 parameters, torchvision names, same detections in eval mode', async () => {
    const m = tt.models.detection.fasterrcnn_resnet50_fpn({ minSize: 64, maxSize: 100 });
    assert.equal(m.numParameters(), 41_808_406);
    const res = m.loadStateDict(await tt.loadSafetensors(join(dir, 'fasterrcnn.safetensors')));
    assert.deepEqual([res.missingKeys, res.unexpectedKeys], [[], []]);
    m.eval();
    const io3 = await tt.loadSafetensors(join(dir, 'fasterrcnn.io.safetensors'));
    const dets = m.forward([io3.img0, io3.img1]);
    for (let i = 0; i < 2; i++) {
      assert.ok(dets[i].boxes.shape[0] > 0, 'some detections');
      // The criterion: boxes within 1e-3 px, scores within 1e-4, the same labels.
      assertClose(dets[i].boxes, io3[`boxes${i}`], { atol: 1e-3, rtol: 0, what: `boxes ${i}` });
      assertClose(dets[i].scores, io3[`scores${i}`], { atol: 1e-4, rtol: 0, what: `scores ${i}` });
      assert.deepEqual(Array.from(dets[i].labels.dataView()), Array.from(io3[`labels${i}`].dataView()), `labels ${i}`);
    }
    assert.throws(() => m.train().forward([io3.img0]), /training \(the loss dict\) is not implemented yet/);
  });

});
