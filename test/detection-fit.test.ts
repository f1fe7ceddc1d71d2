/**
 * Detection in fit/evaluate: a detector's training-mode loss dict is summed and each term reported (progress
 * values, history.jsonl), validation feeds eval-mode detections to MeanAveragePrecision (valAP, valAP50), which
 * then picks the best checkpoint; the mAP metric itself on hand-computed cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { evaluate, fit } from '../src/train/fit.ts';
import { MeanAveragePrecision } from '../src/train/det-metric.ts';

const { data, optim } = tt;

const boxes = (b: number[][]) => tt.tensor(b.flat(), { dtype: 'float32' }).reshape([b.length, 4]);
const ints = (v: number[]) => new tt.Tensor(Int32Array.from(v), [v.length], 'int32');
const floats = (v: number[]) => new tt.Tensor(Float32Array.from(v), [v.length], 'float32');

test('MeanAveragePrecision: perfect, missed and false-positive detections (hand-computed)', () => {
  const m = new MeanAveragePrecision({ report: ['AP', 'AP50', 'AP75', 'AR100'] });
  const gt = { boxes: boxes([[0, 0, 10, 10]]), labels: ints([1]) };
  // Image 1: one exact hit. Image 2: the object is found with IoU 0.6 (hit at 0.5:0.6, miss above).
  m.update([{ boxes: boxes([[0, 0, 10, 10]]), scores: floats([0.9]), labels: ints([1]) }], [gt]);
  m.update([{ boxes: boxes([[0, 0, 10, 6]]), scores: floats([0.8]), labels: ints([1]) }], [gt]);
  const r = m.compute();
  // IoU thresholds 0.5, 0.55, 0.6: recall 1 (both found, ranked first) → AP 1; 0.65…0.95: only the 0.9 hit, recall
  // 0.5 at precision 1 → AP = 51/101 (recall points 0, 0.01 … 0.5). Mean over the ten thresholds.
  const high = 51 / 101;
  assert.ok(Math.abs(r.AP - (3 + 7 * high) / 10) < 1e-12, `AP ${r.AP}`);
  assert.equal(r.AP50, 1);
  assert.ok(Math.abs(r.AP75 - high) < 1e-12);
  assert.ok(Math.abs(r.AR100 - (3 + 7 * 0.5) / 10) < 1e-12);
  assert.equal(m.stats!.stats.length, 12);
  // A false positive of another class ranked above the hit does not hurt class 1; a higher-scored miss does.
  m.reset();
  m.update(
    [
      {
        boxes: boxes([
          [20, 20, 30, 30],
          [0, 0, 10, 10],
        ]),
        scores: floats([0.95, 0.9]),
        labels: ints([1, 1]),
      },
    ],
    [gt],
  );
  // Precision at rank 2 is 1/2, made monotone: 0.5 for every recall point up to 1.
  assert.equal(m.compute().AP50, 0.5);
  assert.throws(() => m.update([{ loss: tt.tensor(1) }], [gt]), /list of \{boxes, scores, labels\}/);
  assert.throws(() => new MeanAveragePrecision({ report: ['mAP' as never] }), /unknown metric 'mAP'/);
});

test('MeanAveragePrecision: mask AP (segm) from [n, 1, H, W] probabilities and [K, H, W] masks', () => {
  const mask = new Uint8Array(8 * 8);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) mask[y * 8 + x] = 1;
  const prob = new Float32Array(8 * 8).map((_, p) => (mask[p] ? 0.9 : 0.1));
  const m = new MeanAveragePrecision({ iouType: 'segm' });
  m.update(
    [
      {
        boxes: boxes([[0, 0, 8, 8]]),
        scores: floats([0.7]),
        labels: ints([2]),
        masks: new tt.Tensor(prob, [1, 1, 8, 8], 'float32'),
      },
    ],
    [{ boxes: boxes([[0, 0, 4, 4]]), labels: ints([2]), masks: new tt.Tensor(mask, [1, 8, 8], 'uint8') }],
  );
  // The box is wrong (IoU 0.25) but the mask is exact: mask AP is 1.
  const r = m.compute();
  assert.ok(Math.abs(r.AP - 1) < 1e-12 && Math.abs(r.AP50 - 1) < 1e-12, JSON.stringify(r));
});

test('fit trains a detector on its loss dict and reports mAP; evaluate runs it in eval mode', async () => {
  tt.manualSeed(0);
  const train = new data.DetectionScenes({ n: 4, size: 64, seed: 1, objects: [2, 4] });
  const val = new data.DetectionScenes({ n: 2, size: 64, seed: 2, objects: [2, 4] });
  const loader = new data.DataLoader(train, { batchSize: 2, collate: data.detectionListCollate });
  const valLoader = new data.DataLoader(val, { batchSize: 2, collate: data.detectionListCollate });
  const model = tt.models.detection.fasterrcnn_mobilenet_v3_large_fpn({
    numClasses: train.classes.length + 1,
    minSize: 64,
    maxSize: 64,
  });
  const dir = mkdtempSync(join(tmpdir(), 'tatami-detfit-'));
  try {
    const seen: Record<string, number>[] = [];
    const lines: string[] = [];
    const history = await fit(model, loader, {
      epochs: 1,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.005, momentum: 0.9 }),
      valLoader,
      metrics: [new MeanAveragePrecision()],
      outDir: dir,
      progress: { write: (s: string) => void lines.push(s) },
      callbacks: [{ onBatchEnd: (_s, l) => void seen.push({ l }) }],
    });
    assert.equal(seen.length, 2);
    const r = history[0];
    for (const k of ['trainLossClassifier', 'trainLossBoxReg', 'trainLossObjectness', 'trainLossRpnBoxReg']) {
      assert.ok(Number.isFinite(r[k]) && r[k]! >= 0, `${k} ${r[k]}`);
    }
    // The terms add up to the loss.
    const sum = r.trainLossClassifier! + r.trainLossBoxReg! + r.trainLossObjectness! + r.trainLossRpnBoxReg!;
    assert.ok(Math.abs(sum - r.trainLoss) < 1e-4 * Math.max(1, r.trainLoss), `${sum} vs ${r.trainLoss}`);
    assert.ok(r.valAP! >= 0 && r.valAP! <= 1 && r.valAP50! >= r.valAP!, `valAP ${r.valAP} valAP50 ${r.valAP50}`);
    const keys = Object.keys(r);
    for (const k of ['trainAccuracy', 'valLoss', 'valAccuracy']) assert.ok(!keys.includes(k), k);
    const out = lines.join('');
    assert.match(out, /loss_classifier/);
    assert.match(out, /val_AP50/);
    const saved = JSON.parse(readFileSync(join(dir, 'history.jsonl'), 'utf8').trim()) as Record<string, number>;
    assert.equal(saved.trainLossBoxReg, r.trainLossBoxReg);
    // The monitor defaulted to valAP: the first epoch is the best.
    assert.ok(existsSync(join(dir, 'best.safetensors')));
    const e = await evaluate(model, valLoader, { metrics: [new MeanAveragePrecision({ report: ['AP50'] })] });
    assert.equal(e.count, 2);
    assert.ok(Number.isNaN(e.loss));
    assert.equal(e.metrics.AP50, r.valAP50);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
