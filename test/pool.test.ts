import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F } = tt;
const fx = loadFixtures('pool');
// Max pooling and unpooling copy values exactly; averages sum ≤ 49 float32 values: 1e-6 abs / 1e-5 rel throughout.
const TOL = { atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 };
const golden = (name: string, fn: Parameters<typeof checkCase>[1]) =>
  test(`golden: ${name}`, () => forEachBackend(() => checkCase(fx.get(name)!, fn, TOL)));

golden('maxpool_k2', ({ x }) => F.maxPool2d(x, 2));
golden('maxpool_k3_s2_p1', ({ x }) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }));
golden('maxpool_rect', ({ x }) => F.maxPool2d(x, [2, 3], { stride: [1, 2], padding: [1, 1] }));
golden('maxpool_dilation', ({ x }) => F.maxPool2d(x, 3, { stride: 1, padding: 1, dilation: 2 }));
golden('maxpool_ceil', ({ x }) => F.maxPool2d(x, 3, { stride: 2, ceilMode: true }));
golden('maxpool_ceil_pad', ({ x }) => F.maxPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true }));
golden('maxpool_indices', ({ x }) => F.maxPool2d(x, 3, { stride: 2, padding: 1, returnIndices: true }));
golden('maxpool_unbatched', ({ x }) => F.maxPool2d(x, 2, { stride: 1 }));
golden('avgpool_k2', ({ x }) => F.avgPool2d(x, 2));
golden('avgpool_k3_s2_p1', ({ x }) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }));
golden('avgpool_exclude_pad', ({ x }) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }));
golden('avgpool_ceil', ({ x }) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }));
golden('avgpool_ceil_exclude', ({ x }) =>
  F.avgPool2d(x, [2, 3], { stride: [2, 2], padding: [1, 1], ceilMode: true, countIncludePad: false }),
);
golden('avgpool_divisor', ({ x }) => F.avgPool2d(x, 3, { stride: 2, padding: 1, divisorOverride: 4 }));
golden('adaptive_avg_7to3', ({ x }) => F.adaptiveAvgPool2d(x, 3));
golden('adaptive_avg_5x7to2x3', ({ x }) => F.adaptiveAvgPool2d(x, [2, 3]));
golden('adaptive_avg_none', ({ x }) => F.adaptiveAvgPool2d(x, [null, 4]));
golden('adaptive_avg_up', ({ x }) => F.adaptiveAvgPool2d(x, [5, 4]));
golden('adaptive_avg_global', ({ x }) => F.adaptiveAvgPool2d(x, 1));
golden('adaptive_max_7to3', ({ x }) => F.adaptiveMaxPool2d(x, 3, { returnIndices: true }));
golden('adaptive_max_5x7to2x3', ({ x }) => F.adaptiveMaxPool2d(x, [2, 3]));
golden('adaptive_max_global', ({ x }) => F.adaptiveMaxPool2d(x, 1));
golden('maxunpool_default', ({ x, indices }) => F.maxUnpool2d(x, indices, 2));
golden('maxunpool_output_size', ({ x, indices }) => F.maxUnpool2d(x, indices, 2, { outputSize: [5, 7] }));
golden('maxunpool_pad', ({ x, indices }) =>
  F.maxUnpool2d(x, indices, 3, { stride: 3, padding: 1, outputSize: [6, 6] }),
);

test('gradcheck: max/avg pooling in every configuration (float64)', () => {
  forEachBackend(() => {
    const x = rand64([1, 2, 5, 5], 1);
    const ok = (fn: (x: tt.Tensor) => tt.Tensor) => assert.ok(tt.gradcheck(fn, [x]));
    ok((x) => F.maxPool2d(x, 2));
    ok((x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }));
    ok((x) => F.maxPool2d(x, [2, 3], { stride: [1, 2], dilation: [2, 1], padding: [1, 0] }));
    ok((x) => F.maxPool2d(x, 2, { stride: 2, ceilMode: true }));
    ok((x) => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, returnIndices: true })[0]);
    ok((x) => F.avgPool2d(x, 2));
    ok((x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }));
    ok((x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }));
    ok((x) => F.avgPool2d(x, 2, { stride: 2, ceilMode: true }));
    ok((x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }));
    ok((x) => F.avgPool2d(x, 3, { stride: 1, padding: 1, divisorOverride: 5 }));
  });
});

test('gradcheck: adaptive pooling with non-divisible sizes and maxUnpool2d (float64)', () => {
  forEachBackend(() => {
    const x7 = rand64([1, 2, 7, 5], 2);
    assert.ok(tt.gradcheck((x) => F.adaptiveAvgPool2d(x, [3, 2]), [x7]));
    assert.ok(tt.gradcheck((x) => F.adaptiveAvgPool2d(x, [null, 3]), [x7]));
    assert.ok(tt.gradcheck((x) => F.adaptiveAvgPool2d(x, 1), [x7]));
    assert.ok(tt.gradcheck((x) => F.adaptiveMaxPool2d(x, [3, 2]), [x7]));
    assert.ok(tt.gradcheck((x) => F.adaptiveMaxPool2d(x, [9, 4]), [x7]));
    const src = rand64([1, 2, 5, 5], 3).detach();
    const [vals, idx] = F.maxPool2d(src, 2, { returnIndices: true });
    const v = vals.clone().requiresGrad_(true);
    assert.ok(tt.gradcheck((v) => F.maxUnpool2d(v, idx, 2, { outputSize: [5, 5] }), [v]));
  });
});

test('2×2 max pooling, hand-computed', () => {
  const x = tt
    .tensor([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [16, 15, 14, 13],
      [12, 11, 10, 9],
    ])
    .reshape(1, 1, 4, 4);
  forEachBackend(() => {
    assert.deepEqual(F.maxPool2d(x, 2).reshape(2, 2).toArray(), [
      [6, 8],
      [16, 14],
    ]);
    const [v, idx] = F.maxPool2d(x, 2, { returnIndices: true });
    assert.deepEqual(v.reshape(2, 2).toArray(), [
      [6, 8],
      [16, 14],
    ]);
    assert.equal(idx.dtype, 'int32');
    assert.deepEqual(idx.reshape(2, 2).toArray(), [
      [5, 7],
      [8, 10],
    ]); // flat h·w positions, as torch
    assert.deepEqual(F.maxUnpool2d(v, idx, 2).reshape(4, 4).toArray(), [
      [0, 0, 0, 0],
      [0, 6, 0, 8],
      [16, 0, 14, 0],
      [0, 0, 0, 0],
    ]);
    assert.deepEqual(F.avgPool2d(x, 2).reshape(2, 2).toArray(), [
      [3.5, 5.5],
      [13.5, 11.5],
    ]);
    // torch accepts a negative divisor_override: avg_pool2d(arange(16).view(1,1,4,4), 2, divisor_override=-2)
    assert.deepEqual(
      F.avgPool2d(tt.arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4), 2, { divisorOverride: -2 })
        .reshape(2, 2)
        .toArray(),
      [
        [-5, -9],
        [-21, -25],
      ],
    );
    assert.deepEqual(F.adaptiveAvgPool2d(x, 1).reshape(1).toArray(), [8.5]);
    assert.deepEqual(F.adaptiveMaxPool2d(x, 1).reshape(1).toArray(), [16]);
  });
});

test('pool output sizes follow PyTorch (ceilMode never starts a window in the right padding)', () => {
  const size = (h: number, k: number, opts: { stride?: number; padding?: number; ceilMode?: boolean }) =>
    F.maxPool2d(tt.zeros([1, 1, h, h]), k, opts).shape[2];
  assert.equal(size(6, 3, { stride: 2 }), 2);
  assert.equal(size(6, 3, { stride: 2, ceilMode: true }), 3);
  assert.equal(size(5, 2, { stride: 2, padding: 1, ceilMode: true }), 3); // torch: 3, not ceil((5+2-2)/2)+1 = 4
  assert.equal(size(7, 3, { stride: 2, padding: 1 }), 4);
  assert.equal(
    F.avgPool2d(tt.zeros([1, 1, 6, 8]), 3, { stride: 2, padding: 1, ceilMode: true }).shape.join(),
    '1,1,4,5',
  );
  const [vals, idx] = F.adaptiveMaxPool2d(tt.zeros([3, 7, 5]), [3, null], { returnIndices: true });
  assert.deepEqual(vals.shape, [3, 3, 5]);
  assert.deepEqual(idx.shape, [3, 3, 5]);
});

test('pool errors name the op and the shapes', () => {
  const x = tt.ones([1, 2, 5, 5]);
  assert.throws(
    () => F.maxPool2d(x, 2, { padding: 2 }),
    /maxPool2d: padding \[2,2\] must be at most half the kernel size \[2,2\]/,
  );
  assert.throws(
    () => F.avgPool2d(x, 3, { padding: [1, 2] }),
    /avgPool2d: padding \[1,2\] must be at most half the kernel size \[3,3\]/,
  );
  assert.throws(
    () => F.maxPool2d(x, 6),
    /maxPool2d: output size 0×0 is too small: input \[1, 2, 5, 5\], kernel \[6,6\]/,
  );
  assert.throws(
    () => F.maxPool2d(tt.ones([5, 5]), 2),
    /maxPool2d: expected input of rank 3 or 4 \(NCHW, or CHW unbatched\), got shape \[5, 5\]/,
  );
  assert.throws(() => F.maxPool2d(x, 2, { stride: 0.5 }), /maxPool2d: stride must be an integer ≥ 1/);
  assert.throws(
    () => F.avgPool2d(x, 2, { divisorOverride: 0 }),
    /avgPool2d: divisorOverride must be a non-zero integer/,
  );
  assert.throws(() => F.adaptiveAvgPool2d(x, [0, 2]), /adaptiveAvgPool2d: outputSize must be a positive integer/);
  const [v, idx] = F.maxPool2d(x, 2, { returnIndices: true });
  assert.throws(
    () => F.maxUnpool2d(v, idx.reshape(1, 2, 4), 2),
    /maxUnpool2d: indices shape \[1, 2, 4\] must match input shape \[1, 2, 2, 2\]/,
  );
  assert.throws(() => F.maxUnpool2d(v, idx.to('float32'), 2), /maxUnpool2d: indices must be an int32 tensor/);
  assert.throws(
    () => F.maxUnpool2d(v, idx, 2, { outputSize: [7, 5] }),
    /maxUnpool2d: invalid outputSize \[7,5\] \(dim 0 must be between 2 and 6, exclusive\)/,
  );
  const bad = tt.full([1, 2, 2, 2], 16, { dtype: 'int32' });
  assert.throws(
    () => F.maxUnpool2d(v, bad, 2),
    /maxUnpool2d: index 16 \(element 0 of indices \[1, 2, 2, 2\]\) is outside the 4×4 output plane/,
  );
});

test('max pooling propagates NaN and keeps the first index of an all −∞ window, like torch', () => {
  const x = tt
    .tensor([
      [1, NaN, 3, 4],
      [5, 6, 7, 8],
      [-Infinity, -Infinity, 2, 1],
      [-Infinity, -Infinity, 0, 9],
    ])
    .reshape(1, 1, 4, 4);
  forEachBackend(() => {
    for (const [v, idx] of [
      F.maxPool2d(x, 2, { returnIndices: true }),
      F.adaptiveMaxPool2d(x, 2, { returnIndices: true }),
    ]) {
      assert.deepEqual(v.tolist(), [NaN, 8, -Infinity, 9]);
      assert.deepEqual(idx.tolist(), [1, 7, 8, 15]);
    }
  });
});

test('max pooling keeps no indices in inference, and still returns them when asked', () => {
  const x = tt.randn([2, 3, 6, 6]);
  const y = tt.noGrad(() => tt.F.maxPool2d(x, 2));
  assert.equal(y.gradFn, null);
  const [v, idx] = tt.noGrad(() => tt.F.maxPool2d(x, 2, { returnIndices: true }));
  assert.deepEqual(v.tolist(), y.tolist());
  assert.deepEqual(idx.shape, [2, 3, 3, 3]);
  const xr = x.detach().requiresGrad_(true);
  tt.F.maxPool2d(xr, 2).sum().backward();
  assert.equal(xr.grad!.sum().item(), 2 * 3 * 3 * 3, 'one gradient per window');
});
