import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

// Users never call dispose(): tensors and their graphs are reclaimed by the garbage collector once unreachable.
// 2,000 forward+backward steps of a small conv net must not grow the resident set by more than 64 MiB beyond
// where it stands after a warm-up (each step allocates ~0.4 MB, so a leak would add ~800 MB).
test('2,000 training steps of a small conv net keep RSS bounded (no dispose needed)', () => {
  tt.manualSeed(0);
  const w1 = tt.randn([8, 1, 3, 3], { requiresGrad: true });
  const w2 = tt.randn([10, 8 * 6 * 6], { requiresGrad: true });
  const x = tt.randn([16, 1, 12, 12]);
  const y = tt.randint(0, 10, [16]);
  const step = () => {
    const h = tt.F.maxPool2d(tt.F.relu(tt.F.conv2d(x, w1, null, { padding: 1 })), 2);
    const loss = tt.F.crossEntropy(tt.F.linear(h.flatten(1), w2), y);
    loss.backward();
    tt.noGrad(() => {
      w1.sub_(w1.grad!.mul(1e-3));
      w2.sub_(w2.grad!.mul(1e-3));
    });
    w1.grad = null;
    w2.grad = null;
    return loss.item();
  };
  for (let i = 0; i < 200; i++) step();
  const before = process.memoryUsage().rss;
  let last = 0;
  for (let i = 0; i < 2000; i++) last = step();
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(Number.isFinite(last));
  assert.ok(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB over 2,000 steps (bound 64 MiB)`);
});
