import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F } = tt;
const fx = loadFixtures('conv');
// Convolutions sum up to C·KH·KW ≈ 30 float32 products: forward 1e-5 abs / 1e-4 rel, gradients 1e-4 / 1e-3.
const TOL = { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-3 };
const golden = (name: string, fn: Parameters<typeof checkCase>[1]) =>
  test(`golden: ${name}`, () => forEachBackend(() => checkCase(fx.get(name)!, fn, TOL)));

golden('conv2d_basic', ({ x, w, b }) => F.conv2d(x, w, b));
golden('conv2d_stride2_pad12', ({ x, w, b }) => F.conv2d(x, w, b, { stride: 2, padding: [1, 2] }));
golden('conv2d_dilation2', ({ x, w }) => F.conv2d(x, w, null, { stride: [1, 2], padding: 1, dilation: 2 }));
golden('conv2d_groups2', ({ x, w, b }) => F.conv2d(x, w, b, { padding: 1, groups: 2 }));
golden('conv2d_depthwise', ({ x, w, b }) => F.conv2d(x, w, b, { stride: 2, padding: 1, groups: 3 }));
golden('conv2d_same_even', ({ x, w, b }) => F.conv2d(x, w, b, { padding: 'same' }));
golden('conv2d_same_dilated', ({ x, w }) => F.conv2d(x, w, null, { padding: 'same', dilation: [2, 1] }));
golden('conv2d_valid', ({ x, w }) => F.conv2d(x, w, null, { padding: 'valid' }));
for (const mode of ['reflect', 'replicate', 'circular'] as const) {
  golden(`conv2d_mode_${mode}`, ({ x, w, b }) =>
    F.conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], paddingMode: mode }),
  );
}
golden('conv2d_same_reflect_even', ({ x, w }) => F.conv2d(x, w, null, { padding: 'same', paddingMode: 'reflect' }));
golden('conv2d_unbatched', ({ x, w, b }) => F.conv2d(x, w, b, { padding: 1 }));
golden('convT_basic', ({ x, w, b }) => F.convTranspose2d(x, w, b));
golden('convT_stride2_pad_outpad', ({ x, w, b }) =>
  F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
);
golden('convT_groups', ({ x, w, b }) => F.convTranspose2d(x, w, b, { stride: [2, 1], padding: [0, 1], groups: 2 }));
golden('convT_dilation', ({ x, w }) =>
  F.convTranspose2d(x, w, null, { stride: 3, padding: 1, outputPadding: [1, 2], dilation: 2 }),
);
golden('convT_outpad_lt_dilation', ({ x, w }) => F.convTranspose2d(x, w, null, { outputPadding: 2, dilation: 3 }));
golden('pad_constant_4d', ({ x }) => F.pad(x, [1, 2, 0, 3], { value: 0.5 }));
golden('pad_constant_crop', ({ x }) => F.pad(x, [-1, 2, 1, -2, 1, 0]));
golden('pad_constant_2d', ({ x }) => F.pad(x, [2, 1]));
golden('pad_reflect_4d', ({ x }) => F.pad(x, [2, 1, 3, 2], { mode: 'reflect' }));
golden('pad_reflect_3d_1dim', ({ x }) => F.pad(x, [3, 1], { mode: 'reflect' }));
golden('pad_replicate_4d', ({ x }) => F.pad(x, [3, 0, 1, 4], { mode: 'replicate' }));
golden('pad_replicate_3d_2dims', ({ x }) => F.pad(x, [1, 2, 2, 1], { mode: 'replicate' }));
golden('pad_circular_4d', ({ x }) => F.pad(x, [2, 3, 1, 2], { mode: 'circular' }));
golden('pad_circular_3d', ({ x }) => F.pad(x, [1, 2], { mode: 'circular' }));
golden('pad_reflect_5d_3dims', ({ x }) => F.pad(x, [1, 2, 2, 1, 1, 1], { mode: 'reflect' }));
golden('pad_replicate_4d_3dims', ({ x }) => F.pad(x, [0, 1, 2, 0, 1, 2], { mode: 'replicate' }));

test('gradcheck: conv2d in every configuration (float64)', () => {
  forEachBackend(() => {
    const x = rand64([1, 2, 5, 5], 1);
    const x4 = rand64([1, 4, 5, 5], 2);
    const w = rand64([3, 2, 3, 3], 3);
    const b = rand64([3], 4);
    const check = (fn: (...t: tt.Tensor[]) => tt.Tensor, inputs: tt.Tensor[]) => assert.ok(tt.gradcheck(fn, inputs));
    check((x, w, b) => F.conv2d(x, w, b), [x, w, b]);
    check((x, w) => F.conv2d(x, w, null, { stride: 2, padding: [1, 2] }), [x, w]);
    check((x, w, b) => F.conv2d(x, w, b, { dilation: 2, padding: 1 }), [x, w, b]);
    check((x, w, b) => F.conv2d(x, w, b, { groups: 2, padding: 1 }), [x4, rand64([4, 2, 3, 3], 5), rand64([4], 6)]);
    check(
      (x, w, b) => F.conv2d(x, w, b, { groups: 4, stride: 2, padding: 1 }),
      [x4, rand64([8, 1, 3, 3], 7), rand64([8], 8)],
    );
    check((x, w, b) => F.conv2d(x, w, b, { padding: 'same' }), [x, rand64([2, 2, 4, 2], 9), rand64([2], 10)]);
    for (const paddingMode of ['reflect', 'replicate', 'circular'] as const) {
      check((x, w, b) => F.conv2d(x, w, b, { padding: [1, 2], stride: [1, 2], paddingMode }), [x, w, b]);
    }
    check((x, w) => F.conv2d(x, w, null, { padding: 'same', paddingMode: 'reflect' }), [x, rand64([2, 2, 2, 3], 11)]);
    check((x, w) => F.conv2d(x, w), [rand64([2, 4, 4], 12), w]);
  });
});

test('gradcheck: convTranspose2d in every configuration (float64)', () => {
  forEachBackend(() => {
    const x = rand64([1, 2, 3, 3], 20);
    const w = rand64([2, 3, 3, 3], 21);
    const b = rand64([3], 22);
    const check = (fn: (...t: tt.Tensor[]) => tt.Tensor, inputs: tt.Tensor[]) => assert.ok(tt.gradcheck(fn, inputs));
    check((x, w, b) => F.convTranspose2d(x, w, b), [x, w, b]);
    check((x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), [x, w, b]);
    check(
      (x, w) => F.convTranspose2d(x, w, null, { stride: [2, 1], padding: [1, 0], groups: 2 }),
      [rand64([1, 4, 3, 3], 23), rand64([4, 2, 2, 3], 24)],
    );
    check((x, w) => F.convTranspose2d(x, w, null, { dilation: 2, stride: 2, outputPadding: [1, 0] }), [x, w]);
    check((x, w) => F.convTranspose2d(x, w, null, { dilation: 3, outputPadding: 2 }), [x, w]);
  });
});

test('gradcheck: pad in every mode (float64)', () => {
  forEachBackend(() => {
    const x = rand64([1, 2, 4, 5], 30);
    assert.ok(tt.gradcheck((x) => F.pad(x, [1, 2, 3, 0], { value: 2 }), [x]));
    assert.ok(tt.gradcheck((x) => F.pad(x, [-1, 2, 1, -2, 0, 1]), [x]));
    assert.ok(tt.gradcheck((x) => F.pad(x, [3, 4, 2, 1], { mode: 'reflect' }), [x]));
    assert.ok(tt.gradcheck((x) => F.pad(x, [3, 4, 2, 1], { mode: 'replicate' }), [x]));
    assert.ok(tt.gradcheck((x) => F.pad(x, [5, 4, 2, 4], { mode: 'circular' }), [x]));
    const x3 = rand64([2, 2, 4], 31);
    for (const mode of ['reflect', 'replicate', 'circular'] as const)
      assert.ok(tt.gradcheck((x) => F.pad(x, [3, 2], { mode }), [x3]));
    const x5 = rand64([1, 1, 3, 3, 4], 32);
    for (const mode of ['reflect', 'replicate', 'circular'] as const)
      assert.ok(tt.gradcheck((x) => F.pad(x, [2, 1, 1, 2, 2, 1], { mode }), [x5]));
  });
});

const X = tt.arange(1, 17, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);
const K = tt
  .tensor([
    [1, 1, 1],
    [2, 0, 1],
    [-1, -1, 0],
  ])
  .reshape(1, 1, 3, 3);

test('conv2d worked examples (values checked with torch 1.13)', () => {
  forEachBackend(() => {
    assert.deepEqual(F.conv2d(X, K).reshape(2, 2).toArray(), [
      [4, 8],
      [20, 24],
    ]);
    assert.deepEqual(
      F.conv2d(X, K, tt.tensor([3]))
        .reshape(2, 2)
        .toArray(),
      [
        [7, 11],
        [23, 27],
      ],
    );
    assert.deepEqual(F.conv2d(X, K, null, { padding: 1 }).reshape(4, 4).toArray(), [
      [-3, -6, -5, -9],
      [0, 4, 8, -2],
      [8, 20, 24, 6],
      [33, 71, 77, 53],
    ]);
    // Unbatched CHW input gives the same numbers without the batch dim.
    assert.deepEqual(F.conv2d(X.reshape(1, 4, 4), K).shape, [1, 2, 2]);
  });
});

test('output size OH = floor((H + 2P − FH)/S) + 1 (torch.nn.Conv2d shape formula)', () => {
  const configs: [number, number, number, number][] = [
    // H, FH, P, S
    [4, 3, 0, 1],
    [4, 3, 1, 1],
    [7, 3, 1, 2],
    [8, 3, 1, 2],
    [28, 5, 2, 1],
    [32, 5, 0, 3],
    [6, 2, 0, 2],
    [5, 5, 0, 1],
    [9, 4, 3, 4],
  ];
  for (const [H, FH, P, S] of configs) {
    const y = F.conv2d(tt.zeros([1, 1, H, H + 1]), tt.zeros([1, 1, FH, FH]), null, { padding: P, stride: S });
    const expected = Math.floor((H + 2 * P - FH) / S) + 1;
    assert.deepEqual(
      y.shape,
      [1, 1, expected, Math.floor((H + 1 + 2 * P - FH) / S) + 1],
      `H=${H} FH=${FH} P=${P} S=${S}`,
    );
  }
});

/** Transposed convolution as Dumoulin & Visin 2016 (§4) derive it: insert stride−1 zeros between inputs, pad by FH−1, correlate with F. */
function courseTransposed(x: number[][], f: number[][], stride: number): tt.Tensor {
  const h = x.length;
  const k = f.length;
  const size = (h - 1) * stride + 1 + 2 * (k - 1);
  const up = tt.zeros([1, 1, size, size]);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < h; j++) up.storage[(k - 1 + i * stride) * size + k - 1 + j * stride] = x[i][j];
  return F.conv2d(up, tt.tensor(f).reshape(1, 1, k, k));
}

test('transposed convolution = insert zeros, then correlate = convTranspose2d with the kernel rotated 180°', () => {
  const x = [
    [1, 2],
    [3, 4],
  ];
  const f = [
    [1, -1],
    [2, 1],
  ];
  const xt = tt.tensor(x).reshape(1, 1, 2, 2);
  const ft = tt.tensor(f).reshape(1, 1, 2, 2);
  const rot = ft.flip([2, 3]);
  const s2 = [
    [1, 2, 2, 4],
    [-1, 1, -2, 2],
    [3, 6, 4, 8],
    [-3, 3, -4, 4],
  ];
  const s1 = [
    [1, 4, 4],
    [2, 9, 10],
    [-3, -1, 4],
  ];
  forEachBackend(() => {
    assert.deepEqual(courseTransposed(x, f, 2).reshape(4, 4).toArray(), s2);
    assert.deepEqual(courseTransposed(x, f, 1).reshape(3, 3).toArray(), s1);
    assert.deepEqual(F.convTranspose2d(xt, rot, null, { stride: 2 }).reshape(4, 4).toArray(), s2);
    assert.deepEqual(F.convTranspose2d(xt, rot).reshape(3, 3).toArray(), s1);
    // Without the rotation PyTorch's definition gives different numbers (torch: [[1,-1,2,-2],[2,1,4,2],…]).
    assert.deepEqual(F.convTranspose2d(xt, ft, null, { stride: 2 }).reshape(4, 4).toArray(), [
      [1, -1, 2, -2],
      [2, 1, 4, 2],
      [3, -3, 4, -4],
      [6, 3, 8, 4],
    ]);
    assert.deepEqual(F.convTranspose2d(xt, ft).reshape(3, 3).toArray(), [
      [1, 1, -2],
      [5, 6, -2],
      [6, 11, 4],
    ]);
  });
});

test('convTranspose2d is the adjoint of conv2d: <conv(x), y> = <x, convT(y)>', () => {
  const x = rand64([2, 4, 7, 6], 40).detach();
  const w = rand64([6, 2, 3, 2], 41).detach();
  const opts = {
    stride: [2, 1] as [number, number],
    padding: [1, 1] as [number, number],
    dilation: [1, 2] as [number, number],
    groups: 2,
  };
  const y = F.conv2d(x, w, null, opts);
  const r = rand64(y.shape, 42).detach();
  const back = F.convTranspose2d(r, w, null, opts);
  assert.deepEqual(back.shape, x.shape);
  assertClose(y.mul(r).sum(), [x.mul(back).sum().item()], { atol: 1e-10, rtol: 1e-12 });
});

test('conv errors name the op and the shapes', () => {
  const x = tt.ones([1, 3, 5, 5]);
  assert.throws(
    () => F.conv2d(x, tt.ones([8, 1, 3, 3])),
    /^Error: conv2d: input has 3 channels but weight \[8,1,3,3\] expects 1 \(groups=1\)$/,
  );
  assert.throws(
    () => F.conv2d(x, tt.ones([8, 1, 3, 3]), null, { groups: 2 }),
    /conv2d: input has 3 channels, which groups=2 does not divide/,
  );
  assert.throws(
    () => F.conv2d(tt.ones([1, 4, 5, 5]), tt.ones([6, 2, 3, 3]), null, { groups: 4 }),
    /conv2d: weight \[6,2,3,3\] has 6 output channels, which groups=4 does not divide/,
  );
  assert.throws(
    () => F.conv2d(tt.ones([1, 3, 3, 3]), tt.ones([2, 3, 5, 5])),
    /conv2d: kernel 5×5 .* is larger than the padded input 3×3/,
  );
  assert.throws(
    () => F.conv2d(tt.ones([1, 3, 3, 3]), tt.ones([2, 3, 3, 3]), null, { dilation: 2 }),
    /effective 5×5\) is larger than the padded input 3×3/,
  );
  assert.throws(
    () => F.conv2d(tt.ones([3, 5]), tt.ones([2, 3, 3, 3])),
    /conv2d: expected input of rank 3 or 4 \(NCHW, or CHW unbatched\), got shape \[3, 5\]/,
  );
  assert.throws(() => F.conv2d(x, tt.ones([2, 3, 3])), /conv2d: expected weight of rank 4/);
  assert.throws(
    () => F.conv2d(x, tt.ones([2, 3, 3, 3]), null, { stride: 1.5 }),
    /conv2d: stride must be an integer ≥ 1 or a pair of them, got 1.5/,
  );
  assert.throws(() => F.conv2d(x, tt.ones([2, 3, 3, 3]), null, { stride: 0 }), /conv2d: stride must be an integer ≥ 1/);
  assert.throws(
    () => F.conv2d(x, tt.ones([2, 3, 3, 3]), null, { padding: 'full' as 'same' }),
    /conv2d: padding must be 'same', 'valid', an integer ≥ 0 or a pair of them, got "full"/,
  );
  assert.throws(
    () => F.conv2d(x, tt.ones([2, 3, 3, 3]), null, { padding: 'same', stride: 2 }),
    /padding='same' is not supported for strided convolutions/,
  );
  assert.throws(() => F.conv2d(x, tt.ones([2, 3, 3, 3]), tt.ones([3])), /conv2d: bias must have shape \[2\]/);
  assert.throws(
    () => F.conv2d(x, tt.ones([2, 3, 3, 3], { dtype: 'float64' })),
    /conv2d: input is float32 but weight is float64/,
  );
  assert.throws(
    () => F.conv2d(tt.ones([1, 3, 5, 5], { dtype: 'int32' }), tt.ones([2, 3, 3, 3])),
    /conv2d: input must be a floating-point tensor/,
  );
  assert.throws(
    () => F.conv2d(tt.ones([1, 1, 2, 2]), tt.ones([1, 1, 3, 3]), null, { padding: 2, paddingMode: 'reflect' }),
    /conv2d: reflect padding \(2, 2\) must be less than the size 2/,
  );
  assert.throws(
    () => F.convTranspose2d(x, tt.ones([2, 3, 3, 3])),
    /convTranspose2d: input has 3 channels but weight \[2,3,3,3\] expects 2/,
  );
  assert.throws(
    () => F.convTranspose2d(x, tt.ones([3, 3, 3, 3]), null, { stride: 2, outputPadding: 2 }),
    /convTranspose2d: outputPadding \[2,2\] must be smaller than either stride \[2,2\] or dilation \[1,1\]/,
  );
  assert.throws(
    () => F.convTranspose2d(tt.ones([1, 3, 1, 1]), tt.ones([3, 1, 1, 1]), null, { padding: 1 }),
    /convTranspose2d: output size -1×-1 is too small/,
  );
});

test('pad: shapes, values and errors', () => {
  const x = tt.arange(1, 7, 1, { dtype: 'float32' }).reshape(1, 2, 3);
  assert.deepEqual(F.pad(x, [2, 1], { mode: 'reflect' }).toArray(), [
    [
      [3, 2, 1, 2, 3, 2],
      [6, 5, 4, 5, 6, 5],
    ],
  ]);
  assert.deepEqual(F.pad(x, [2, 1], { mode: 'replicate' }).toArray(), [
    [
      [1, 1, 1, 2, 3, 3],
      [4, 4, 4, 5, 6, 6],
    ],
  ]);
  assert.deepEqual(F.pad(x, [2, 1], { mode: 'circular' }).toArray(), [
    [
      [2, 3, 1, 2, 3, 1],
      [5, 6, 4, 5, 6, 4],
    ],
  ]);
  assert.deepEqual(F.pad(x, [0, -1, 1, 0], { value: 9 }).toArray(), [
    [
      [9, 9],
      [1, 2],
      [4, 5],
    ],
  ]);
  assert.deepEqual(F.pad(tt.tensor([1, 2], { dtype: 'int32' }), [1, 1], { value: 7 }).toArray(), [7, 1, 2, 7]);
  assert.deepEqual(F.pad(x, [1, 1, 1, 1, 1, 1]).shape, [3, 4, 5]);
  assert.throws(
    () => F.pad(x, [1, 3], { mode: 'reflect' }),
    /pad: reflect padding \(1, 3\) must be less than the size 3 of dim 2 of input \[1, 2, 3\]/,
  );
  assert.throws(
    () => F.pad(x, [4, 0], { mode: 'circular' }),
    /pad: circular padding \(4, 0\) must not exceed the size 3/,
  );
  assert.throws(() => F.pad(x, [1]), /pad: padding must be an even-length list/);
  assert.throws(() => F.pad(x, [1, 1, 1, 1, 1, 1, 1, 1]), /pads 4 dims but the input \[1, 2, 3\] has only 3/);
  assert.throws(
    () => F.pad(x, [1, 1, 1, 1, 1, 1], { mode: 'replicate' }),
    /mode 'replicate' pads the last 1 dim of a 2-D\/3-D input, the last 2 dims of a 3-D\/4-D input or the last 3 of a 4-D\/5-D input; got 6 padding values for input \[1, 2, 3\]/,
  );
  assert.throws(
    () => F.pad(tt.ones([1, 1, 2, 2, 2]), [1, 1], { mode: 'replicate' }),
    /got 2 padding values for input \[1, 1, 2, 2, 2\]/,
  );
  assert.throws(() => F.pad(x, [1, 1], { mode: 'reflect', value: 1 }), /does not take a fill value/);
  assert.throws(() => F.pad(x, [-2, -2]), /gives output size -1/);
});
