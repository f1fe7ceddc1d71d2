import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F } = tt;
const fx = loadFixtures('interp');
// Nearest copies values exactly; bilinear blends 4 float32 values with float32 weights: 1e-6 abs / 1e-5 rel.
const TOL = { atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 };
const golden = (name: string, fn: Parameters<typeof checkCase>[1]) =>
  test(`golden: ${name}`, () => forEachBackend(() => checkCase(fx.get(name)!, fn, TOL)));

golden('nearest_size_up', ({ x }) => F.interpolate(x, { size: [5, 7] }));
golden('nearest_size_down', ({ x }) => F.interpolate(x, { size: [4, 3] }));
golden('nearest_size_same_h', ({ x }) => F.interpolate(x, { size: [3, 8] }));
golden('nearest_scale2', ({ x }) => F.interpolate(x, { scaleFactor: 2 }));
golden('nearest_scale_1_7', ({ x }) => F.interpolate(x, { scaleFactor: 1.7 }));
golden('nearest_scale_pair', ({ x }) => F.interpolate(x, { scaleFactor: [2.5, 0.6] }));
golden('nearest_scale_recompute', ({ x }) => F.interpolate(x, { scaleFactor: 1.7, recomputeScaleFactor: true }));
golden('nearest_3d_size', ({ x }) => F.interpolate(x, { size: 8 }));
golden('nearest_3d_scale', ({ x }) => F.interpolate(x, { scaleFactor: 1.5 }));
for (const alignCorners of [false, true]) {
  const tag = alignCorners ? 'ac' : 'noac';
  const mode = 'bilinear' as const;
  golden(`bilinear_size_up_${tag}`, ({ x }) => F.interpolate(x, { size: [5, 7], mode, alignCorners }));
  golden(`bilinear_size_down_${tag}`, ({ x }) => F.interpolate(x, { size: [4, 3], mode, alignCorners }));
  golden(`bilinear_size_one_${tag}`, ({ x }) => F.interpolate(x, { size: [1, 4], mode, alignCorners }));
  golden(`bilinear_scale2_${tag}`, ({ x }) => F.interpolate(x, { scaleFactor: 2, mode, alignCorners }));
  golden(`bilinear_scale_1_7_${tag}`, ({ x }) => F.interpolate(x, { scaleFactor: 1.7, mode, alignCorners }));
  golden(`bilinear_scale_pair_${tag}`, ({ x }) => F.interpolate(x, { scaleFactor: [0.6, 2.5], mode, alignCorners }));
}
golden('bilinear_scale_recompute', ({ x }) =>
  F.interpolate(x, { scaleFactor: 1.7, mode: 'bilinear', recomputeScaleFactor: true }),
);

test('gradcheck: interpolate nearest/bilinear, alignCorners both ways, by size and by scale factor (float64)', () => {
  forEachBackend(() => {
    const x = rand64([1, 2, 4, 5], 1);
    const ok = (fn: (x: tt.Tensor) => tt.Tensor, input = x) => assert.ok(tt.gradcheck(fn, [input]));
    ok((x) => F.interpolate(x, { size: [7, 3] }));
    ok((x) => F.interpolate(x, { scaleFactor: 2 }));
    ok((x) => F.interpolate(x, { scaleFactor: [1.7, 0.6] }));
    ok((x) => F.interpolate(x, { size: 9 }), rand64([1, 2, 4], 2));
    for (const alignCorners of [false, true]) {
      ok((x) => F.interpolate(x, { size: [7, 3], mode: 'bilinear', alignCorners }));
      ok((x) => F.interpolate(x, { size: [1, 8], mode: 'bilinear', alignCorners }));
      ok((x) => F.interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners }));
      ok((x) => F.interpolate(x, { scaleFactor: [1.7, 0.6], mode: 'bilinear', alignCorners }));
    }
  });
});

test('interpolate: a given scaleFactor sets the source step to 1/scale, unlike the same output size', () => {
  const x = tt.arange(0, 30, 1, { dtype: 'float32' }).reshape(1, 1, 5, 6);
  const byScale = F.interpolate(x, { scaleFactor: 1.7 });
  const bySize = F.interpolate(x, { size: [8, 10] });
  assert.deepEqual(byScale.shape, [1, 1, 8, 10]);
  // torch 1.13: row 5 of the output reads input row floor(5/1.7) = 2 by scale, floor(5·5/8) = 3 by size.
  assert.deepEqual(byScale.select(2, 5).select(2, 0).tolist(), [12]);
  assert.deepEqual(bySize.select(2, 5).select(2, 0).tolist(), [18]);
  assertClose(F.interpolate(x, { scaleFactor: 1.7, recomputeScaleFactor: true }), bySize);
  // alignCorners keeps the corner values.
  const y = F.interpolate(x, { size: [9, 11], mode: 'bilinear', alignCorners: true });
  assert.deepEqual([y.select(2, 0).select(2, 0).item(), y.select(2, 8).select(2, 10).item()], [0, 29]);
});

test('interpolate errors', () => {
  const x = tt.ones([1, 2, 4, 4]);
  assert.throws(
    () => F.interpolate(x, { size: 8, scaleFactor: 2 }),
    /interpolate: only one of size or scaleFactor should be given, got both \(input \[1, 2, 4, 4\]\)/,
  );
  assert.throws(() => F.interpolate(x, {}), /interpolate: either size or scaleFactor must be given/);
  assert.throws(
    () => F.interpolate(x, { size: [8] }),
    /interpolate: size must be a positive integer or a list of 2 of them for 2 spatial dim\(s\), got \[8\]/,
  );
  assert.throws(() => F.interpolate(x, { scaleFactor: 0.1 }), /interpolate: output size \[0, 0\] is empty/);
  assert.throws(
    () => F.interpolate(x, { size: 8, alignCorners: true }),
    /alignCorners can only be set with the linear modes, not 'nearest'/,
  );
  assert.throws(
    () => F.interpolate(tt.ones([2, 4, 4]), { size: 8, mode: 'bilinear' }),
    /interpolate: expected input of rank 4 \(NCHW for mode 'bilinear'\), got shape \[2, 4, 4\]/,
  );
  assert.throws(
    () => F.interpolate(x, { size: 8, mode: 'bicubic' as 'bilinear' }),
    /mode must be 'nearest', 'linear', 'bilinear' or 'trilinear'/,
  );
});
