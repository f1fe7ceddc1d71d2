/**
 * Storage recycling on its own: the pool's bounds (src/tensor/storage.ts) and the backward pass's bookkeeping of
 * which gradient storage is dead and may be reused, or may become a `.grad` without a copy
 * (src/autograd/recycler.ts). The engine's use of it is covered by test/memory.test.ts and the autograd tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { GradientStorage } from '../src/autograd/recycler.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NATIVE_ADDON_PATH, nativeIsas } from '../src/backend/native.ts';
import {
  LARGE_BUFFER_BYTES,
  StoragePool,
  allocate,
  allocateUnfilled,
  recycleStorage,
  setLargeBufferAdvice,
  storageReuses,
} from '../src/tensor/storage.ts';

/** Large enough for the unfilled (recyclable) path: 64 KiB of float32. */
const N = 16384;

test('StoragePool: hands back a buffer of the same length, and only that', () => {
  const pool = new StoragePool(1 << 20, 2);
  const a = new ArrayBuffer(4096),
    b = new ArrayBuffer(8192);
  pool.give(a);
  pool.give(b);
  assert.equal(pool.bytes, 4096 + 8192);
  assert.equal(pool.take(1024), undefined);
  assert.equal(pool.take(8192), b);
  assert.equal(pool.take(8192), undefined, 'each buffer is handed out once');
  assert.equal(pool.take(4096), a);
  assert.equal(pool.bytes, 0);
});

test('StoragePool: at most perSize buffers per length, and maxBytes in all (oldest lengths dropped first)', () => {
  const pool = new StoragePool(10_000, 2);
  for (let i = 0; i < 3; i++) pool.give(new ArrayBuffer(1000));
  assert.equal(pool.bytes, 2000, 'a third buffer of one length is left to the GC');
  pool.give(new ArrayBuffer(20_000));
  assert.equal(pool.bytes, 2000, 'a buffer larger than the pool is never kept');
  pool.give(new ArrayBuffer(3000));
  pool.give(new ArrayBuffer(4000));
  assert.equal(pool.bytes, 9000);
  pool.give(new ArrayBuffer(2500)); // 11,500 > 10,000: the 1000-byte buffers, handed back first, go
  assert.equal(pool.bytes, 9500);
  assert.equal(pool.take(1000), undefined);
  assert.ok(pool.take(3000) && pool.take(4000) && pool.take(2500));
});

test('StoragePool: a length untouched for staleAfter operations is dropped, one in use is kept', () => {
  const pool = new StoragePool(1 << 20, 2, 100);
  pool.give(new ArrayBuffer(3000)); // asked for once, never again (a last partial batch)
  for (let i = 0; i < 200; i++) {
    // a step's working set: taken and handed back every step
    const b = pool.take(1000) ?? new ArrayBuffer(1000);
    pool.give(b);
  }
  assert.equal(pool.bytes, 1000, 'the stale 3000-byte buffer is gone, the 1000-byte one kept');
  assert.equal(pool.take(3000), undefined);
  assert.ok(pool.take(1000));
});

test('GradientStorage: storage goes back to the pool when its last pending user is released', () => {
  const storage = new GradientStorage(true);
  const g = tt.Tensor.unfilled([N], 'float32');
  const view = g.narrow(0, 0, N / 2); // an op may hand two inputs views of one buffer
  storage.hold(g);
  storage.hold(view);
  storage.release(g);
  const before = storageReuses();
  const other = tt.Tensor.unfilled([N], 'float32');
  assert.notEqual(other.storage.buffer, g.storage.buffer, 'still in use by the view: not reused');
  storage.release(view);
  const reused = tt.Tensor.unfilled([N], 'float32');
  assert.equal(storageReuses(), before + 1);
  assert.equal(reused.storage.buffer, g.storage.buffer, 'the next allocation of that size takes the dead buffer');
  storage.close();
});

test('GradientStorage: kept storage, storage from before the pass and createGraph passes are never handed back', () => {
  const old = tt.Tensor.unfilled([N], 'float32');
  const cases: [string, GradientStorage, tt.Tensor][] = [];
  const keeping = new GradientStorage(true);
  const kept = tt.Tensor.unfilled([N], 'float32');
  keeping.keep(kept);
  cases.push(['kept (a leaf .grad, a hook argument, a returned gradient)', keeping, kept]);
  cases.push(['allocated before the pass (a forward tensor, a user gradient)', new GradientStorage(true), old]);
  const graphKeeping = new GradientStorage(false);
  cases.push(['under createGraph', graphKeeping, tt.Tensor.unfilled([N], 'float32')]);
  for (const [what, storage, g] of cases) {
    storage.hold(g);
    storage.release(g);
    const before = storageReuses();
    const next = tt.Tensor.unfilled([N], 'float32');
    assert.notEqual(next.storage.buffer, g.storage.buffer, what);
    assert.equal(storageReuses(), before, what);
    storage.close();
  }
});

test('GradientStorage.claim: a whole gradient born in the pass becomes .grad as is, once; others are copied', () => {
  const before = tt.Tensor.unfilled([8], 'float32').fill_(1);
  const storage = new GradientStorage(true);
  const g = tt.ones([4, 2]).mul(3);
  assert.equal(storage.claim(g), g);
  const again = storage.claim(g);
  assert.notEqual(again.storage, g.storage, 'a second .grad never shares the first one');
  assert.deepEqual(again.tolist(), g.tolist());
  const half = tt.ones([8]).mul(2).narrow(0, 2, 4);
  assert.notEqual(storage.claim(half).storage, half.storage, 'a view of a larger buffer is copied');
  assert.notEqual(storage.claim(before).storage, before.storage, 'older storage may be held elsewhere: copied');
  assert.deepEqual(storage.claim(before).tolist(), before.tolist());
  storage.close();
});

test('GradientStorage: storage counts as born in the pass only while a pass is open, nested ones included', () => {
  // allocations are stamped only inside passes (an inference forward pays nothing for it)
  const outer = new GradientStorage(true);
  const inner = new GradientStorage(true); // autograd.grad inside a hook
  const a = tt.ones([4]).mul(2);
  inner.close();
  const b = tt.ones([4]).mul(2);
  assert.equal(outer.claim(a), a);
  assert.equal(outer.claim(b), b, 'the outer pass is still open after the inner one closed');
  outer.close();
  const c = tt.ones([4]).mul(2);
  const claimed = outer.claim(c);
  assert.notEqual(claimed.storage, c.storage, 'allocated with no pass open: never taken for born in one');
  assert.deepEqual(claimed.tolist(), c.tolist());
});

test('a training step reuses the dead gradient buffers of the step before', () => {
  tt.manualSeed(0);
  const w = tt.randn([64, 64]).requiresGrad_(true);
  const x = tt.randn([128, 64]);
  const step = () => {
    w.grad = null;
    x.matmul(w).relu().matmul(w).tanh().sum().backward();
  };
  step();
  const before = storageReuses();
  step();
  assert.ok(storageReuses() > before, 'the intermediate gradients of one step serve the next');
  // and the result is unaffected: same gradient as a fresh computation
  const g1 = w.grad!.tolist();
  step();
  assert.deepEqual(w.grad!.tolist(), g1);
});

test('large buffers: each fresh one is offered to the advice before use, small and reused ones are not', () => {
  const seen: ArrayBuffer[] = [];
  setLargeBufferAdvice((b) => seen.push(b));
  try {
    const n = LARGE_BUFFER_BYTES / 4;
    const zeroed = allocate('float32', n);
    assert.equal(seen.at(-1), zeroed.buffer, 'allocate');
    assert.ok(
      zeroed.every((v) => v === 0),
      'still zero-filled',
    );
    const unfilled = allocateUnfilled('float32', n);
    assert.equal(seen.at(-1), unfilled.buffer, 'allocateUnfilled');
    const before = seen.length;
    allocate('float32', n - 1);
    allocateUnfilled('float32', 1 << 20);
    assert.equal(seen.length, before, 'below LARGE_BUFFER_BYTES nothing is offered');
  } finally {
    setLargeBufferAdvice(null);
  }
});

test('native adviseHugePages: takes the advice where Linux offers huge pages on request', (t) => {
  if (nativeIsas().length === 0) return t.skip('native addon not built');
  const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as { adviseHugePages(b: ArrayBuffer): boolean };
  let thp = '';
  try {
    thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  } catch {
    /* not Linux, or no THP */
  }
  const big = allocateUnfilled('float32', LARGE_BUFFER_BYTES / 4);
  assert.equal(addon.adviseHugePages(big.buffer as ArrayBuffer), /\[(always|madvise)\]/.test(thp), thp.trim());
  assert.equal(addon.adviseHugePages(new ArrayBuffer(4096)), false, 'smaller than a huge page: nothing to advise');
  big.fill(1); // the advised memory is ordinary memory
  assert.equal(big[big.length - 1], 1);
});

test('the storage pool takes activations larger than 32 MB (batch-8 MobileNet maps) back for reuse', () => {
  // 38.5 MB: MobileNetV2's 96×112×112 map at batch 8, which the former 32 MB bound turned away on every call
  const n = 8 * 96 * 112 * 112;
  const a = allocateUnfilled('float32', n);
  recycleStorage(a);
  const before = storageReuses();
  const b = allocateUnfilled('float32', n);
  assert.equal(storageReuses(), before + 1, 'a fresh buffer was allocated');
  assert.equal(b.buffer, a.buffer);
});
