/**
 * fit/evaluate on segmentation: spatial logits, {out, aux} outputs and deep supervision, pluggable metrics in the
 * progress output and history.jsonl, a custom training step, and closure optimisers (SAM, closure: true).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { evaluate, fit, type ModelOutput } from '../src/train/fit.ts';
import { SegmentationMetric } from '../src/train/seg-metrics.ts';

const { nn, optim } = tt;

/** Images with a bright square (class 1) and a dark square (class 2) on a noisy background, with exact masks. */
function squares(n: number, seed: number, size = 16): [tt.Tensor, tt.Tensor][] {
  const g = new tt.Generator(seed);
  const out: [tt.Tensor, tt.Tensor][] = [];
  for (let k = 0; k < n; k++) {
    const img = new Float32Array(size * size),
      mask = new Int32Array(size * size);
    for (let i = 0; i < img.length; i++) img[i] = 0.2 * (g.random() - 0.5);
    for (const [cls, value] of [
      [1, 1],
      [2, -1],
    ] as const) {
      const s = 4 + Math.floor(g.random() * 5),
        y0 = Math.floor(g.random() * (size - s)),
        x0 = Math.floor(g.random() * (size - s));
      for (let y = y0; y < y0 + s; y++)
        for (let x = x0; x < x0 + s; x++) {
          img[y * size + x] = value + 0.2 * (g.random() - 0.5);
          mask[y * size + x] = cls;
        }
    }
    mask[0] = 255; // one ignored pixel per image
    out.push([
      tt.tensor(Array.from(img)).reshape([1, size, size]),
      tt.tensor(Array.from(mask), { dtype: 'int32' }).reshape([size, size]),
    ]);
  }
  return out;
}

function loader(n: number, seed: number, batchSize = 8) {
  const pairs = squares(n, seed);
  return new tt.data.DataLoader(
    new tt.data.TensorDataset(tt.stack(pairs.map((p) => p[0])), tt.stack(pairs.map((p) => p[1]))),
    { batchSize },
  );
}

const tiny = (opts: tt.models.segmentation.UNetOptions = {}) =>
  tt.models.segmentation.unet({ inChannels: 1, numClasses: 3, baseChannels: 4, depth: 2, ...opts });

test('fit on spatial dict outputs: pixel accuracy, valMIoU in the bar and history.jsonl, deep supervision', async () => {
  tt.manualSeed(0);
  const model = tiny({ deepSupervision: true });
  const out = mkdtempSync(join(tmpdir(), 'tt-segfit-'));
  const lines: string[] = [];
  const stream = {
    write: (s: string) => {
      lines.push(s);
      return true;
    },
    isTTY: false,
  };
  try {
    const history = await fit(model, loader(48, 1), {
      epochs: 6,
      optimizer: new optim.Adam(model.parameters(), { lr: 0.02 }),
      valLoader: loader(16, 2),
      ignoreIndex: 255,
      metrics: [new SegmentationMetric(3)],
      monitor: 'valMIoU',
      outDir: out,
      progress: stream,
    });
    const last = history[history.length - 1];
    for (const k of ['trainMIoU', 'trainPixelAccuracy', 'valMIoU', 'valPixelAccuracy'])
      assert.equal(typeof last[k], 'number', k);
    assert.ok(last.valMIoU! > 0.6, `valMIoU ${last.valMIoU}`);
    assert.ok(history[0].trainLoss > last.trainLoss);
    // With ignoreIndex = 255 on both, valAccuracy is the metric's pixel accuracy.
    assert.ok(Math.abs(last.valAccuracy! - last.valPixelAccuracy!) < 1e-12);
    const jsonl = readFileSync(join(out, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(jsonl.length, 6);
    assert.equal(jsonl[5].valMIoU, last.valMIoU);
    assert.ok(lines.join('').includes('val_mIoU'), 'summary line shows val_mIoU');
    assert.ok(lines.join('').includes('mIoU'), 'bar shows the metric');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the default loss of a dict output is CE(out) + 0.5·Σ CE(aux); evaluate reports metrics', async () => {
  tt.manualSeed(1);
  const model = tiny({ deepSupervision: true });
  const val = loader(8, 3, 8);
  model.eval();
  const [[x, y]] = [...val] as tt.Tensor[][];
  const r = tt.noGrad(() => model.forward(x));
  const ce = (o: tt.Tensor) => tt.F.crossEntropy(o, y, { ignoreIndex: 255 }).item();
  const expected = ce(r.out) + 0.5 * (r.aux as tt.Tensor[]).reduce((s, a) => s + ce(a), 0);
  const res = await evaluate(model, val, {
    ignoreIndex: 255,
    metrics: [new SegmentationMetric(3, { report: ['mIoU', 'mDice'] })],
  });
  assert.ok(Math.abs(res.loss - expected) < 1e-5, `${res.loss} vs ${expected}`);
  assert.deepEqual(Object.keys(res.metrics), ['mIoU', 'mDice']);
  assert.equal(res.confusion, null);
});

test('custom trainingStep: fit zeroes, backprops and steps the loss it returns', async () => {
  tt.manualSeed(2);
  const model = tiny();
  const seen: number[] = [];
  const history = await fit(model, loader(16, 4), {
    epochs: 2,
    optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
    progress: false,
    trainingStep: (batch, ctx) => {
      seen.push(ctx.step);
      const output = model.forward(batch[0]);
      return {
        loss: nn.deepSupervisionLoss((o, t) => tt.F.diceCELoss(o, t, { ignoreIndex: 255 }))(output, batch[1]),
        output,
      };
    },
  });
  assert.deepEqual(seen, [0, 1, 0, 1]);
  assert.ok(history[1].trainLoss < history[0].trainLoss);
  assert.ok(history[1].trainAccuracy > 0);
  // A bare tensor result is accepted (no accuracy then).
  const h2 = await fit(model, loader(8, 5), {
    epochs: 1,
    optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
    progress: false,
    trainingStep: (b, ctx) => ctx.loss(model.forward(b[0]) as unknown as tt.Tensor, b[1]),
    ignoreIndex: 255,
  });
  assert.equal(h2[0].trainAccuracy, 0);
});

test('closure optimisers: SAM runs forward/backward twice per step; closure: true once, inside step', async () => {
  tt.manualSeed(3);
  const model = tiny();
  let forwards = 0;
  model.registerForwardHook(() => {
    forwards++;
  });
  const sam = new optim.SAM(model.parameters(), optim.SGD, { lr: 0.05, rho: 0.05 });
  const before = model.head.weight.clone();
  await fit(model, loader(16, 6), { epochs: 1, optimizer: sam, progress: false, ignoreIndex: 255 });
  assert.equal(forwards, 2 * 2, 'two passes for each of the two batches');
  assert.ok(!tt.allclose(before, model.head.weight));
  forwards = 0;
  let closures = 0;
  const sgd = new optim.SGD(model.parameters(), { lr: 0.05 });
  const origStep = sgd.step.bind(sgd);
  sgd.step = (closure?: () => number | tt.Tensor) => {
    if (closure) closures++;
    return origStep(closure);
  };
  await fit(model, loader(16, 6), { epochs: 1, optimizer: sgd, closure: true, progress: false, ignoreIndex: 255 });
  assert.equal(forwards, 2);
  assert.equal(closures, 2);
});

test('classification models keep their behaviour (tensor output, per-image accuracy)', async () => {
  tt.manualSeed(4);
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(4, 3));
  const data = Array.from(
    { length: 12 },
    (_, i) => [tt.tensor([i % 3, 1, 0, (i % 3) * 2]), tt.tensor(i % 3, { dtype: 'int32' })] as [tt.Tensor, tt.Tensor],
  );
  const ds = new tt.data.TensorDataset(tt.stack(data.map((d) => d[0])), tt.stack(data.map((d) => d[1])));
  const h = await fit(model, new tt.data.DataLoader(ds, { batchSize: 4 }), {
    epochs: 30,
    optimizer: new optim.Adam(model.parameters(), { lr: 0.1 }),
    progress: false,
  });
  assert.ok(h[h.length - 1].trainAccuracy > 0.9);
  const out: ModelOutput = model.forward(tt.zeros([1, 4]));
  assert.ok(out instanceof tt.Tensor);
});
