import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { ConvAutoencoder } from '../src/models/autoencoder.ts';
import { trainAutoencoder } from '../src/recipes/anomaly.ts';
import { TestConv, fashion } from './viz-helpers.ts';

const { viz, nn } = tt;

test('featureAnomalyMaps: a planted defect lights up where it is', () => {
  const gen = new tt.Generator(0);
  const model = new nn.Sequential(new TestConv(1, 8, 3, gen), new nn.ReLU(), new TestConv(8, 8, 3, gen));
  const normal = tt.rand([12, 1, 16, 16], { generator: gen }).mul(0.1);
  const query = tt.rand([1, 1, 16, 16], { generator: gen }).mul(0.1);
  const q = query.toTypedArray();
  for (let i = 10; i < 14; i++) for (let j = 2; j < 6; j++) q[i * 16 + j] = 1; // bright 4×4 square
  const maps = viz.featureAnomalyMaps(model, normal, tt.tensor(q, [1, 1, 16, 16]), '2', { kImages: 5 });
  assert.deepEqual(maps.shape, [1, 16, 16]);
  const m = maps.dataView();
  let inside = 0,
    outside = 0,
    nIn = 0,
    nOut = 0;
  for (let i = 0; i < 16; i++)
    for (let j = 0; j < 16; j++) {
      const v = m[i * 16 + j];
      if (i >= 10 && i < 14 && j >= 2 && j < 6) {
        inside += v;
        nIn++;
      } else if (i < 7 || j > 9) {
        outside += v;
        nOut++;
      }
    }
  assert.ok(inside / nIn > 5 * (outside / nOut), `defect ${inside / nIn} vs background ${outside / nOut}`);
  assert.throws(() => viz.featureAnomalyMaps(model, normal, query, '9'), /no layer '9'/);
});

test('reconstructionScores: zero for a perfect reconstruction, MSE otherwise; shape errors', () => {
  const x = tt.rand([3, 2, 4, 4]);
  const perfect = viz.reconstructionScores((t: tt.Tensor) => t, x);
  assert.ok(perfect.scores.every((v) => v === 0));
  const half = viz.reconstructionScores((t: tt.Tensor) => t.mul(0), tt.full([2, 1, 4, 4], 0.5));
  assert.ok(half.scores.every((v) => Math.abs(v - 0.25) < 1e-7));
  assert.ok(half.maps.dataView().every((v) => Math.abs(v - 0.25) < 1e-7));
  assert.throws(
    () => viz.reconstructionScores((t: tt.Tensor) => t.flatten(1), x),
    /an autoencoder must return the input's shape/,
  );
});

test('ConvAutoencoder: shapes, training with fit lowers the error, normal images score lower than other classes', async () => {
  tt.manualSeed(0);
  const ae = new ConvAutoencoder({ width: 8 });
  assert.deepEqual(tt.noGrad(() => ae.forward(tt.zeros([2, 1, 28, 28]))).shape, [2, 1, 28, 28]);
  assert.throws(() => ae.forward(tt.zeros([1, 1, 30, 30])), /divisible by 4/);
  assert.deepEqual(
    ae
      .namedModules()
      .map(([n]) => n)
      .filter((n) => /coder\.\d$/.test(n))
      .slice(0, 2),
    ['encoder.0', 'encoder.1'],
  );
  const normal = fashion(true, 2000, [1]); // trousers
  const losses = await trainAutoencoder(ae, normal.x, { steps: 60, batchSize: 16, lr: 5e-3 });
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5,
    last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < 0.6 * first, `MSE ${first} → ${last}`);
  const te = fashion(false, 200);
  const { scores } = viz.reconstructionScores(ae, te.x);
  const labels = Array.from(te.y.dataView(), (c) => (c === 1 ? 0 : 1));
  const a = viz.auroc(scores, labels);
  assert.ok(a > 0.7, `AUROC ${a}`);
});
