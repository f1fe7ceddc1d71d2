import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tt from '../src/index.ts';
import { backendNames } from './helpers.ts';

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

// Op outputs skip the zero fill (Tensor.unfilled): every kernel must overwrite its whole output. The probe runs
// each op family forward and backward once with unfilled storage left as is and once pre-filled with NaN
// (TATAMI_POISON=1), on each backend, single-threaded so that the two runs sum in the same order.
test('kernels overwrite every element of unfilled outputs (NaN-poisoned storage changes nothing)', () => {
  const run = (backend: string, poison: boolean) => {
    const env = { ...process.env, TATAMI_BACKEND: backend, TATAMI_NUM_THREADS: '1', TATAMI_POISON: poison ? '1' : '0' };
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/unfilled-probe.ts'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  };
  for (const backend of backendNames()) {
    const clean = run(backend, false);
    const poisoned = run(backend, true);
    for (const [name, v] of Object.entries(clean)) assert.ok(Number.isFinite(v), `[${backend}] ${name} is ${v} without poison`);
    assert.deepEqual(poisoned, clean, `[${backend}] results change when unfilled storage starts as NaN`);
  }
});
