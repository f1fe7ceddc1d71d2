/**
 * Regression tests for issue 13, item 1 and item 9 (tensors and ops): views are validated where tensors are made,
 * the accelerated kernels refuse buffers shorter than their geometry, and bad arguments give errors that name the
 * op, the value and what was expected. Each reproduction of the issue is here as it was reported.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import * as tt from '../src/index.ts';
import { convGeometryOf } from '../src/backend/conv-plan.ts';
import { forEachBackend } from './helpers.ts';

const F32 = (n: number) => new Float32Array(n);

test('issue 13.1: storage shorter than the shape is rejected where the tensor is made, and conv2d never runs', () => {
  assert.throws(
    () => new tt.Tensor(F32(4), [8, 3, 2048, 2048], 'float32'),
    /Tensor: a view of shape \[8, 3, 2048, 2048\] at offset 0 addresses elements 0\.\.100663295, outside its float32 storage of 4 elements/,
  );
});

test('issue 13.1: the reported reproduction no longer kills the process (child process exit status)', () => {
  // Before the fix this exited with 139 (SIGSEGV). Run it in a child so a regression cannot take the runner down.
  const src = `import * as tt from './src/index.ts';
    try { const a = new tt.Tensor(new Float32Array(4), [8,3,2048,2048], 'float32'); tt.F.conv2d(a, tt.randn([4,3,3,3])); console.log('RAN'); }
    catch (e) { console.log('ERR ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `child exited with ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  assert.match(r.stdout, /^ERR Tensor: a view of shape/);
});

test('issue 13.1: offsets, strides, sizes and dtypes are validated', () => {
  const bad: [() => unknown, RegExp][] = [
    [
      () => new tt.Tensor(F32(4), [2, 2], 'float32', [2, 1], 1),
      /addresses elements 1\.\.4, outside its float32 storage of 4/,
    ],
    [() => new tt.Tensor(F32(4), [2, 2], 'float32', [1, 1], -1), /offset must be a non-negative integer, got -1/],
    [() => new tt.Tensor(F32(4), [2, 2], 'float32', [1, 1], 0.5), /offset must be a non-negative integer, got 0\.5/],
    [() => new tt.Tensor(F32(4), [2, 2], 'float32', [3, -2]), /addresses elements -2\.\.3/],
    [() => new tt.Tensor(F32(4), [2, 2], 'float32', [1]), /strides \[1\] do not match shape \[2, 2\]/],
    [() => new tt.Tensor(F32(4), [2, 2], 'float32', [1, 0.5]), /strides must be integers \(dim 1 is 0\.5\)/],
    [
      () => new tt.Tensor(F32(4), [2, -2], 'float32'),
      /invalid shape \[2, -2\]: sizes must be non-negative integers \(dim 1 is -2\)/,
    ],
    [() => new tt.Tensor(F32(4), [2, NaN], 'float32'), /dim 1 is NaN/],
    [() => new tt.Tensor(F32(4), [2, '2' as unknown as number], 'float32'), /dim 1 is "2"/],
    [() => new tt.Tensor(F32(4), [4], 'float64'), /dtype float64 needs a Float64Array as storage, got Float32Array/],
    [
      () => new tt.Tensor(new Int32Array(4), [4], 'float32'),
      /dtype float32 needs a Float32Array as storage, got Int32Array/,
    ],
    [() => new tt.Tensor([1, 2] as unknown as Float32Array, [2], 'float32'), /got a plain array/],
    [() => new tt.Tensor(F32(4), [4], 'float16' as tt.DType), /unknown dtype "float16"/],
    [() => new tt.Tensor(F32(4), [4], 'constructor' as tt.DType), /unknown dtype "constructor"/],
  ];
  for (const [f, re] of bad) assert.throws(f, re);
  // Valid views still work, including broadcast (0) strides, zero-size views and a view ending at the last element.
  assert.deepEqual(new tt.Tensor(Float32Array.from([1, 2, 3, 4]), [2, 2], 'float32', [0, 1], 2).tolist(), [3, 4, 3, 4]);
  assert.equal(new tt.Tensor(F32(4), [0, 5], 'float32', [5, 1], 4).numel(), 0);
  assert.equal(new tt.Tensor(new Uint8Array(2), [2], 'bool').dtype, 'bool');
});

test('issue 13.9: huge shapes name the op and the shape instead of a bare RangeError', () => {
  assert.throws(
    () => tt.randn([1e6, 1e6]),
    /^Error: randn: shape \[1000000, 1000000\] has 1000000000000 elements, more than the 4294967295 a tensor can hold/,
  );
  assert.throws(() => tt.zeros([1e5, 1e5, 10]), /full: shape \[100000, 100000, 10\]/);
  assert.throws(
    () => new tt.nn.Linear(1e6, 1e6),
    /cannot allocate a float32 tensor of shape \[1000000, 1000000\]: 1000000000000 elements \(3\.6 TB\)/,
  );
  assert.throws(() => tt.Tensor.empty([2 ** 31, 4]), /cannot allocate a float32 tensor of shape \[2147483648, 4\]/);
});

test('issue 13.9: plain arrays or undefined where a tensor is expected name the op and what was passed', () => {
  const x = tt.randn([1, 3, 8, 8]);
  const w = tt.randn([4, 3, 3, 3]);
  const F = tt.F as unknown as Record<string, (...a: unknown[]) => unknown>;
  assert.throws(() => F.conv2d(undefined, w), /^Error: conv2d: input must be a Tensor, got undefined$/);
  assert.throws(
    () => F.conv2d(x, [1, 2, 3]),
    /conv2d: weight must be a Tensor, got a plain array of length 3 \(wrap it with tt\.tensor\(\.\.\.\)\)/,
  );
  assert.throws(() => F.conv2d(x, w, [1, 2, 3, 4]), /conv2d: bias must be a Tensor, got a plain array/);
  assert.throws(() => F.relu([1, 2, 3]), /relu: input must be a Tensor, got a plain array of length 3/);
  assert.throws(
    () => tt.add(x, [1, 2] as unknown as tt.Tensor),
    /elementwise op: operand must be a Tensor, got a plain array/,
  );
  assert.throws(
    () => tt.add(undefined as unknown as tt.Tensor, 1),
    /elementwise op: first operand must be a Tensor, got undefined/,
  );
  assert.throws(() => F.crossEntropy(tt.randn([2, 3]), [0, 1]), /crossEntropy: .*must be a Tensor, got a plain array/);
});

test('issue 13.1: the kernel boundary refuses arrays shorter than the geometry on every backend', () => {
  forEachBackend((name) => {
    if (name === 'reference') return; // TypeScript loops cannot leave their arrays; only the C kernels are guarded
    const b = tt.backend();
    const g = convGeometryOf({ n: 8, c: 3, h: 64, w: 64, oc: 4, kh: 3, kw: 3 });
    assert.throws(
      () => b.conv2d(F32(4), F32(108), null, F32(8 * 4 * 62 * 62), g, 'none'),
      /conv2d: x has 4 elements but the kernel's geometry needs 98304/,
    );
    assert.throws(
      () => b.conv2d(F32(98304), F32(10), null, F32(8 * 4 * 62 * 62), g, 'none'),
      /conv2d: weight has 10 elements .* needs 108/,
    );
    assert.throws(
      () => b.conv2d(F32(98304), F32(108), F32(1), F32(8 * 4 * 62 * 62), g, 'none'),
      /conv2d: bias has 1 elements .* needs 4/,
    );
    assert.throws(() => b.conv2d(F32(98304), F32(108), null, F32(5), g, 'none'), /conv2d: out has 5 elements/);
    assert.throws(
      () => b.conv2d(F32(98304), F32(108), null, F32(8 * 4 * 62 * 62), { ...g, strideH: 0 }, 'none'),
      /conv2d: strideH must be an integer in \[1, /,
    );
    assert.throws(
      () => b.conv2d(F32(98304), F32(108), null, F32(8 * 4 * 62 * 62), { ...g, groups: 2 }, 'none'),
      /groups=2 must divide both c=3/,
    );
    assert.throws(
      () => b.conv2dBackwardInput(F32(10), F32(108), F32(98304), g),
      /conv2dBackwardInput: gy has 10 elements/,
    );
    assert.throws(
      () => b.conv2dBackwardWeight(F32(98304), F32(8 * 4 * 62 * 62), F32(3), g),
      /conv2dBackwardWeight: gw has 3 elements/,
    );
    assert.throws(
      () => b.gemm(false, false, 64, 64, 64, F32(64 * 64), 0, F32(64 * 63), 0, F32(64 * 64), 0, 1, false),
      /gemm: B has 4032 elements .* needs 4096/,
    );
    assert.throws(
      () => b.gemm(false, false, 8, 8, 8, F32(64), 64, F32(64), 0, F32(128), 64, 2, false),
      /gemm: A has 64 elements .* needs 128/,
    );
    const pg = {
      n: 2,
      c: 3,
      h: 16,
      w: 16,
      oh: 8,
      ow: 8,
      kh: 2,
      kw: 2,
      strideH: 2,
      strideW: 2,
      padH: 0,
      padW: 0,
      dilationH: 1,
      dilationW: 1,
    };
    assert.throws(
      () => b.maxPool2d(F32(100), F32(384), new Int32Array(384), pg),
      /maxPool2d: x has 100 elements .* needs 1536/,
    );
    assert.throws(() => b.maxPool2d(F32(1536), F32(384), new Int32Array(10), pg), /maxPool2d: indices has 10 elements/);
    assert.throws(() => b.avgPool2d(F32(1536), F32(3), pg, true, 0), /avgPool2d: out has 3 elements/);
    assert.throws(
      () => b.maxPool2dBackward(F32(384), new Int32Array(384).fill(999), F32(1536), 6, 256, 64),
      /maxPool2dBackward: index 999 at position 0 is outside its plane of 256/,
    );
    assert.throws(() => b.softmax(F32(100), F32(1000), 10, 10, 10, false), /softmax: x has 100 elements .* needs 1000/);
    assert.throws(
      () => b.reduce('sum', F32(100), F32(100), 10, 10, 10),
      /reduce sum: x has 100 elements .* needs 1000/,
    );
    assert.throws(
      () => b.channelAffine(F32(1000), F32(1), F32(10), F32(1000), 10, 10, 10, 'none'),
      /channelAffine: scale has 1 elements .* needs 10/,
    );
    assert.throws(
      () => b.batchNormBackward(F32(1000), F32(999), F32(10), F32(10), null, F32(1000), null, null, 10, 10, 10),
      /batchNormBackward: gy has 999 elements/,
    );
    assert.throws(() => b.axpy(2, F32(100), F32(1000)), /axpy: x has 100 elements .* needs 1000/);
    assert.throws(
      () =>
        b.adamStep(F32(1000), F32(1000), F32(1000), F32(10), null, {
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0,
          decoupled: false,
          maximize: false,
          step: 1,
        }),
      /adamStep: expAvgSq has 10 elements/,
    );
    assert.throws(() => b.unary('relu', F32(1000), F32(10), {}), /unary relu: out has 10 elements .* needs 1000/);
    if (name.startsWith('native')) {
      assert.throws(
        () => b.copyStrided(F32(300), 0, [1, 100], F32(400), [100, 4]),
        /copyStrided: src has 300 elements .* needs 400/,
      );
    }
    // A mismatched broadcast operand falls back to the (memory-safe) reference loop instead of reading past it.
    const out = F32(256);
    b.binary('add', F32(256), [1], F32(1), [0], out, [256]);
  });
});

test('issue 13.1: non-contiguous and offset views stay bit-exact through every backend', () => {
  const base = tt.randn([6, 70], { generator: new tt.Generator(3) });
  const t = new tt.Tensor(base.storage, [35, 6], 'float32', [2, 70], 1); // a strided, offset transpose-like view
  forEachBackend(() => {
    const c = tt.mul(t, 2).contiguous();
    for (let i = 0; i < 35; i++)
      for (let j = 0; j < 6; j++) assert.equal(c.storage[i * 6 + j], Math.fround(base.storage[1 + 2 * i + 70 * j] * 2));
  });
});

test('issue 13.9: noGrad/enableGrad refuse an async function instead of silently recording after its first await', async () => {
  const w = tt.randn([3], { requiresGrad: true });
  let after: tt.Tensor | null = null;
  assert.throws(
    () =>
      tt.noGrad(async () => {
        await Promise.resolve();
        after = w.mul(2);
      }),
    /^Error: noGrad: the function returned a Promise \(an async function\?\)\. Grad mode is a global switch and does not follow an await/,
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(tt.isGradEnabled(), true, 'grad mode restored');
  assert.ok(after !== null);
  assert.throws(() => tt.enableGrad(() => Promise.resolve(1)), /enableGrad: the function returned a Promise/);
  // A rejected promise from the refused function does not surface as an unhandled rejection.
  assert.throws(() => tt.noGrad(() => Promise.reject(new Error('boom'))), /noGrad: the function returned a Promise/);
  await new Promise((r) => setTimeout(r, 10));
  // Synchronous use is unchanged.
  assert.equal(tt.noGrad(() => w.mul(2)).requiresGrad, false);
});

test('issue 13.9: CIFAR-10 files with the official names are checked against the official release', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createHash } = await import('node:crypto');
  const dir = mkdtempSync(join(tmpdir(), 'tatami-cifar-'));
  const records = (labels: number[]) => {
    const out = new Uint8Array(labels.length * 3073);
    labels.forEach((l, i) => {
      out[i * 3073] = l;
      out[i * 3073 + 1] = i & 255;
    });
    return out;
  };
  // A 3-record file named like the official test batch (a truncated download or an accidental subset).
  writeFileSync(join(dir, 'test_batch.bin'), records([3, 9, 0]));
  assert.throws(
    () => new tt.data.CIFAR10({ root: dir, train: false }),
    /test_batch\.bin: integrity check failed: the official test_batch\.bin holds 10000 records \(30730000 bytes\), this one 3; re-download/,
  );
  assert.equal(new tt.data.CIFAR10({ root: dir, train: false, checkIntegrity: false }).length, 3);
  // 10,000 records but class counts that are not the release's 1,000 each.
  const skewed = Array.from({ length: 10000 }, (_, i) => (i < 1001 ? 0 : 1 + ((i - 1001) % 9)));
  writeFileSync(join(dir, 'test_batch.bin'), records(skewed));
  assert.throws(
    () => new tt.data.CIFAR10({ root: dir, train: false }),
    /integrity check failed: class 0 has 1001 images, the official release has 1000/,
  );
  const balanced = records(Array.from({ length: 10000 }, (_, i) => i % 10));
  writeFileSync(join(dir, 'test_batch.bin'), balanced);
  assert.equal(new tt.data.CIFAR10({ root: dir, train: false }).length, 10000);
  // User-supplied checksums.
  const md5 = createHash('md5').update(balanced).digest('hex');
  assert.equal(new tt.data.CIFAR10({ root: dir, train: false, md5: { 'test_batch.bin': md5 } }).length, 10000);
  assert.throws(
    () => new tt.data.CIFAR10({ root: dir, train: false, md5: { 'test_batch.bin': '0'.repeat(32) } }),
    /test_batch\.bin: integrity check failed: MD5 [0-9a-f]{32}, expected 0{32}/,
  );
});
