/**
 * 1-D and 3-D ops: PyTorch goldens on every backend (test/fixtures/dims.json from tools/fixtures/dims.py),
 * float64 gradchecks, the 2-D lowering of conv3d against the reference vol2col kernel, layers and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { loweredConv3d } from '../src/backend/conv3d-lowered.ts';
import { referenceBackend } from '../src/backend/reference/index.ts';
import type { Conv3dGeometry } from '../src/backend/types.ts';
import { assertClose, checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F, nn } = tt;
const fx = loadFixtures('dims');
const TOL = { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-3 };
const golden = (name: string, fn: Parameters<typeof checkCase>[1], tol = TOL) =>
  test(`golden: ${name}`, () => forEachBackend(() => checkCase(fx.get(name)!, fn, tol)));

golden('conv1d_basic', ({ x, w, b }) => F.conv1d(x, w, b));
golden('conv1d_stride_pad_dil', ({ x, w }) => F.conv1d(x, w, null, { stride: 2, padding: 2, dilation: 2 }));
golden('conv1d_groups', ({ x, w, b }) => F.conv1d(x, w, b, { padding: 1, groups: 2 }));
golden('conv1d_same_even', ({ x, w, b }) => F.conv1d(x, w, b, { padding: 'same' }));
golden('conv1d_valid', ({ x, w }) => F.conv1d(x, w, null, { padding: 'valid' }));
for (const mode of ['reflect', 'replicate', 'circular'] as const) {
  golden(`conv1d_mode_${mode}`, ({ x, w, b }) => F.conv1d(x, w, b, { stride: 2, padding: 2, paddingMode: mode }));
  golden(`conv3d_mode_${mode}`, ({ x, w, b }) =>
    F.conv3d(x, w, b, { stride: [1, 2, 1], padding: [1, 1, 2], paddingMode: mode }),
  );
}
golden('conv1d_same_reflect', ({ x, w }) => F.conv1d(x, w, null, { padding: 'same', paddingMode: 'reflect' }));
golden('conv1d_unbatched', ({ x, w, b }) => F.conv1d(x, w, b, { padding: 1 }));
golden('conv3d_basic', ({ x, w, b }) => F.conv3d(x, w, b, { padding: 1 }));
golden('conv3d_stride_pad_dil', ({ x, w }) =>
  F.conv3d(x, w, null, { stride: [2, 1, 2], padding: [1, 0, 2], dilation: [1, 2, 1] }),
);
golden('conv3d_groups', ({ x, w, b }) => F.conv3d(x, w, b, { stride: 2, padding: 1, groups: 2 }));
golden('conv3d_same_even', ({ x, w, b }) => F.conv3d(x, w, b, { padding: 'same' }));
golden('conv3d_unbatched', ({ x, w }) => F.conv3d(x, w, null, { padding: [0, 1, 1] }));
golden('convT1d_basic', ({ x, w, b }) => F.convTranspose1d(x, w, b));
golden('convT1d_full', ({ x, w, b }) =>
  F.convTranspose1d(x, w, b, { stride: 3, padding: 1, outputPadding: 2, groups: 2, dilation: 2 }),
);
golden('convT3d_basic', ({ x, w, b }) => F.convTranspose3d(x, w, b));
golden('convT3d_stride_outpad', ({ x, w, b }) =>
  F.convTranspose3d(x, w, b, { stride: [2, 1, 2], padding: 1, outputPadding: [1, 0, 1] }),
);
golden('convT3d_groups_dil', ({ x, w }) =>
  F.convTranspose3d(x, w, null, { stride: 2, groups: 2, dilation: [2, 1, 1], outputPadding: 1 }),
);

golden('maxpool1d_indices', ({ x }) => F.maxPool1d(x, 3, { stride: 2, padding: 1, returnIndices: true }));
golden('maxpool1d_dil_ceil', ({ x }) =>
  F.maxPool1d(x, 2, { stride: 2, dilation: 2, ceilMode: true, returnIndices: true }),
);
golden('avgpool1d_pad', ({ x }) => F.avgPool1d(x, 3, { stride: 2, padding: 1 }));
golden('avgpool1d_nopad_ceil', ({ x }) =>
  F.avgPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
);
golden('adaptive_avgpool1d', ({ x }) => F.adaptiveAvgPool1d(x, 4));
golden('adaptive_maxpool1d', ({ x }) => F.adaptiveMaxPool1d(x, 3, { returnIndices: true }));
golden('maxunpool1d', ({ x }) => {
  const [y, i] = F.maxPool1d(x, 2, { returnIndices: true });
  return F.maxUnpool1d(y, i, 2, { outputSize: [9] });
});
golden('maxpool3d_indices', ({ x }) => F.maxPool3d(x, 3, { stride: 2, padding: 1, returnIndices: true }));
golden('maxpool3d_dil_ceil', ({ x }) =>
  F.maxPool3d(x, [2, 2, 1], { stride: [2, 1, 2], dilation: [1, 2, 1], ceilMode: true, returnIndices: true }),
);
golden('avgpool3d_pad', ({ x }) => F.avgPool3d(x, 3, { stride: 2, padding: 1 }));
golden('avgpool3d_nopad_ceil', ({ x }) =>
  F.avgPool3d(x, [2, 3, 3], { stride: 2, padding: [1, 1, 0], ceilMode: true, countIncludePad: false }),
);
golden('avgpool3d_divisor', ({ x }) => F.avgPool3d(x, 2, { divisorOverride: 3 }));
golden('adaptive_avgpool3d', ({ x }) => F.adaptiveAvgPool3d(x, [2, 3, null]));
golden('adaptive_maxpool3d', ({ x }) => F.adaptiveMaxPool3d(x, [3, 2, 2], { returnIndices: true }));
golden('maxunpool3d', ({ x }) => {
  const [y, i] = F.maxPool3d(x, 2, { returnIndices: true });
  return F.maxUnpool3d(y, i, 2, { outputSize: [5, 4, 5] });
});

golden('batchnorm3d_train', ({ x, w, b }) => {
  const rm = tt.zeros([3]);
  const rv = tt.ones([3]);
  return [F.batchNorm(x, rm, rv, { weight: w, bias: b, training: true, momentum: 0.1 }), rm, rv];
});
golden('batchnorm3d_eval', ({ x, w, b }) =>
  F.batchNorm(x, tt.linspace(-0.5, 0.5, 3), tt.linspace(0.5, 2, 3), { weight: w, bias: b }),
);
golden('instancenorm1d', ({ x, w, b }) => F.instanceNorm(x, { weight: w, bias: b }));
golden('instancenorm3d', ({ x }) => F.instanceNorm(x));

golden('linear_size', ({ x }) => F.interpolate(x, { size: 11, mode: 'linear' }));
golden('linear_scale_align', ({ x }) => F.interpolate(x, { scaleFactor: 2.5, mode: 'linear', alignCorners: true }));
golden('linear_down', ({ x }) => F.interpolate(x, { scaleFactor: 0.6, mode: 'linear' }));
golden('trilinear_size', ({ x }) => F.interpolate(x, { size: [5, 3, 7], mode: 'trilinear' }));
golden('trilinear_scale_align', ({ x }) =>
  F.interpolate(x, { scaleFactor: [2, 1.5, 0.5], mode: 'trilinear', alignCorners: true }),
);
golden('trilinear_scale', ({ x }) => F.interpolate(x, { scaleFactor: 1.7, mode: 'trilinear' }));
golden('nearest3d_scale', ({ x }) => F.interpolate(x, { scaleFactor: [2, 1.5, 0.7] }));
golden('nearest3d_size', ({ x }) => F.interpolate(x, { size: [3, 5, 2] }));
for (const mode of ['reflect', 'replicate', 'circular'] as const) {
  golden(`pad1d_${mode}_3d`, ({ x }) => F.pad(x, [1, 3], { mode }));
  golden(`pad3d_${mode}_5d`, ({ x }) => F.pad(x, [1, 2, 0, 1, 2, 1], { mode }));
}

const check = (fn: (...t: tt.Tensor[]) => tt.Tensor, inputs: tt.Tensor[]) => assert.ok(tt.gradcheck(fn, inputs));

test('gradcheck: conv1d / convTranspose1d (float64)', () => {
  forEachBackend(() => {
    const x = rand64([2, 2, 7], 1);
    const w = rand64([3, 2, 3], 2);
    const b = rand64([3], 3);
    check((x, w, b) => F.conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2 }), [x, w, b]);
    check((x, w) => F.conv1d(x, w, null, { groups: 2, padding: 'same' }), [rand64([1, 4, 6], 4), rand64([2, 2, 4], 5)]);
    for (const paddingMode of ['reflect', 'replicate', 'circular'] as const)
      check((x, w) => F.conv1d(x, w, null, { padding: 2, paddingMode }), [x, w]);
    check(
      (x, w, b) => F.convTranspose1d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
      [rand64([1, 3, 4], 6), rand64([3, 2, 3], 7), rand64([2], 8)],
    );
  });
});

test('gradcheck: conv3d / convTranspose3d (float64)', () => {
  forEachBackend(() => {
    const x = rand64([1, 2, 3, 4, 3], 10);
    const w = rand64([2, 2, 2, 3, 2], 11);
    const b = rand64([2], 12);
    check((x, w, b) => F.conv3d(x, w, b, { stride: [1, 2, 1], padding: [1, 1, 0], dilation: [2, 1, 1] }), [x, w, b]);
    check(
      (x, w) => F.conv3d(x, w, null, { groups: 2, padding: 'same' }),
      [rand64([1, 4, 3, 3, 3], 13), rand64([2, 2, 2, 2, 3], 14)],
    );
    check((x, w) => F.conv3d(x, w, null, { padding: 1, paddingMode: 'circular' }), [x, w]);
    check((x, w) => F.conv3d(x, w, null, { padding: [1, 1, 0], paddingMode: 'reflect' }), [x, w]);
    check(
      (x, w, b) => F.convTranspose3d(x, w, b, { stride: 2, padding: [1, 0, 1], outputPadding: [1, 1, 0] }),
      [rand64([1, 2, 2, 2, 2], 15), w, b],
    );
  });
});

test('gradcheck: 1-D and 3-D pooling (float64)', () => {
  forEachBackend(() => {
    const x1 = rand64([2, 2, 9], 20);
    const x3 = rand64([1, 2, 4, 5, 4], 21);
    check((x) => F.maxPool1d(x, 3, { stride: 2, padding: 1 }), [x1]);
    check((x) => F.avgPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [x1]);
    check((x) => F.adaptiveAvgPool1d(x, 4), [x1]);
    check((x) => F.adaptiveMaxPool1d(x, 4), [x1]);
    check((x) => F.maxPool3d(x, [2, 3, 2], { stride: [2, 1, 2], padding: [1, 1, 0], dilation: [1, 1, 2] }), [x3]);
    check((x) => F.avgPool3d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), [x3]);
    check((x) => F.avgPool3d(x, 2, { divisorOverride: 5, ceilMode: true }), [x3]);
    check((x) => F.adaptiveAvgPool3d(x, [3, 2, 3]), [x3]);
    check((x) => F.adaptiveMaxPool3d(x, [2, 2, 3]), [x3]);
    const [y, idx] = tt.noGrad(() => F.maxPool3d(x3, 2, { returnIndices: true }));
    check((v) => F.maxUnpool3d(v, idx, 2, { outputSize: [4, 5, 4] }), [rand64(y.shape, 22)]);
    const [y1, idx1] = tt.noGrad(() => F.maxPool1d(x1, 2, { returnIndices: true }));
    check((v) => F.maxUnpool1d(v, idx1, 2), [rand64(y1.shape, 23)]);
  });
});

test('gradcheck: linear / trilinear / 3-D nearest interpolation and 1-D/3-D norms (float64)', () => {
  forEachBackend(() => {
    const x3 = rand64([1, 2, 3, 3, 4], 30);
    check((x) => F.interpolate(x, { size: 7, mode: 'linear' }), [rand64([1, 2, 4], 31)]);
    check((x) => F.interpolate(x, { scaleFactor: 1.5, mode: 'linear', alignCorners: true }), [rand64([1, 2, 4], 32)]);
    check((x) => F.interpolate(x, { size: [4, 2, 6], mode: 'trilinear' }), [x3]);
    check((x) => F.interpolate(x, { scaleFactor: [2, 1.5, 0.5], mode: 'trilinear', alignCorners: true }), [x3]);
    check((x) => F.interpolate(x, { scaleFactor: [2, 1, 1.5] }), [x3]);
    check(
      (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
      [x3, rand64([2], 33), rand64([2], 34)],
    );
    check((x) => F.instanceNorm(x), [rand64([2, 3, 5], 35)]);
  });
});

/** Every output and gradient of the lowered conv3d (2-D kernels) equals the reference vol2col kernel, in float64. */
test('conv3d lowered onto conv2d matches the vol2col reference, with and without chunking', () => {
  const geoms: Conv3dGeometry[] = [];
  const mk = (
    n: number,
    c: number,
    [d, h, w]: number[],
    oc: number,
    [kd, kh, kw]: number[],
    s: number[],
    p: number[],
    dl: number[],
    groups: number,
  ): Conv3dGeometry => {
    const out = [d, h, w].map((v, i) => Math.floor((v + 2 * p[i] - dl[i] * ([kd, kh, kw][i] - 1) - 1) / s[i]) + 1);
    return {
      n,
      c,
      d,
      h,
      w,
      oc,
      kd,
      kh,
      kw,
      od: out[0],
      oh: out[1],
      ow: out[2],
      strideD: s[0],
      strideH: s[1],
      strideW: s[2],
      padD: p[0],
      padH: p[1],
      padW: p[2],
      dilationD: dl[0],
      dilationH: dl[1],
      dilationW: dl[2],
      groups,
    };
  };
  geoms.push(mk(2, 3, [4, 5, 6], 4, [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1], 1));
  geoms.push(mk(2, 4, [6, 5, 5], 6, [3, 2, 3], [2, 1, 2], [1, 0, 2], [2, 1, 1], 2));
  geoms.push(mk(1, 2, [5, 4, 4], 2, [1, 3, 3], [1, 2, 2], [0, 1, 1], [1, 1, 1], 1));
  const rnd = (n: number, seed: number) => {
    const t = rand64([n], seed);
    return t.storage as Float64Array;
  };
  // One lowering per chunk size for all geometries, in both orders: its kept buffers then hold stale values of larger
  // and smaller problems, which every pass must overwrite.
  const lowered = new Map([1 << 26, 1].map((chunk) => [chunk, loweredConv3d(referenceBackend, chunk)] as const));
  const order = [...geoms.entries()];
  for (const [gi, g] of [...order, ...[...order].reverse()]) {
    const x = rnd(g.n * g.c * g.d * g.h * g.w, 40 + gi);
    const w = rnd(g.oc * (g.c / g.groups) * g.kd * g.kh * g.kw, 50 + gi);
    const b = rnd(g.oc, 60 + gi);
    const gy = rnd(g.n * g.oc * g.od * g.oh * g.ow, 70 + gi);
    const ref = referenceBackend;
    const y0 = new Float64Array(gy.length),
      gx0 = new Float64Array(x.length),
      gw0 = new Float64Array(w.length);
    ref.conv3d(x, w, b, y0, g);
    ref.conv3dBackwardInput(gy, w, gx0, g);
    ref.conv3dBackwardWeight(x, gy, gw0, g);
    for (const chunk of [1 << 26, 1]) {
      // one chunk; one (sample, depth) row per chunk
      const low = lowered.get(chunk)!;
      const y = new Float64Array(gy.length),
        gx = new Float64Array(x.length),
        gw = new Float64Array(w.length);
      low.conv3d(x, w, b, y, g);
      low.conv3dBackwardInput(gy, w, gx, g);
      low.conv3dBackwardWeight(x, gy, gw, g);
      const wrap = (a: Float64Array) => tt.tensor(a, [a.length], { dtype: 'float64' });
      assertClose(wrap(y), wrap(y0), { atol: 1e-12, rtol: 1e-12, what: `geometry ${gi} chunk ${chunk} forward` });
      assertClose(wrap(gx), wrap(gx0), { atol: 1e-12, rtol: 1e-12, what: `geometry ${gi} chunk ${chunk} grad input` });
      assertClose(wrap(gw), wrap(gw0), { atol: 1e-12, rtol: 1e-12, what: `geometry ${gi} chunk ${chunk} grad weight` });
    }
  }
});

test('layers: Conv1d/Conv3d/ConvTranspose*d, pooling, norms — shapes, parameters, reprs', () => {
  const c1 = new nn.Conv1d(4, 8, 5, { stride: 2, padding: 'valid', paddingMode: 'reflect' });
  assert.deepEqual(c1.weight.shape, [8, 4, 5]);
  assert.deepEqual(c1.call(tt.randn([2, 4, 21])).shape, [2, 8, 9]);
  assert.equal(c1.toString(), 'Conv1d(4, 8, kernel_size=(5,), stride=(2,), padding=valid, padding_mode=reflect)');
  const c3 = new nn.Conv3d(3, 6, [3, 7, 7], { stride: [1, 2, 2], padding: [1, 3, 3], bias: false });
  assert.deepEqual(c3.call(tt.randn([1, 3, 4, 16, 16])).shape, [1, 6, 4, 8, 8]);
  assert.equal(c3.toString(), 'Conv3d(3, 6, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)');
  assert.equal(c3.parameters().length, 1);
  const t3 = new nn.ConvTranspose3d(4, 2, 2, { stride: 2 });
  assert.deepEqual(t3.weight.shape, [4, 2, 2, 2, 2]);
  assert.deepEqual(t3.call(tt.randn([1, 4, 3, 3, 3])).shape, [1, 2, 6, 6, 6]);
  assert.deepEqual(t3.call(tt.randn([1, 4, 3, 3, 3]), [7, 7, 6]).shape, [1, 2, 7, 7, 6]);
  const t1 = new nn.ConvTranspose1d(2, 3, 4, { stride: 2, padding: 1 });
  assert.deepEqual(t1.call(tt.randn([2, 2, 5])).shape, [2, 3, 10]);
  assert.equal(t1.toString(), 'ConvTranspose1d(2, 3, kernel_size=(4,), stride=(2,), padding=(1,))');
  const mp = new nn.MaxPool3d(2, { returnIndices: true });
  const [y, i] = mp.call(tt.randn([1, 2, 4, 4, 4]));
  assert.deepEqual(new nn.MaxUnpool3d(2).call(y, i).shape, [1, 2, 4, 4, 4]);
  assert.deepEqual(new nn.MaxPool1d(3, { stride: 2 }).call(tt.randn([2, 3, 11])).shape, [2, 3, 5]);
  assert.equal(
    new nn.MaxPool1d(3, { stride: 2 }).toString(),
    'MaxPool1d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)',
  );
  assert.equal(new nn.AvgPool1d(2).toString(), 'AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))');
  assert.deepEqual(new nn.AvgPool3d([1, 2, 2]).call(tt.randn([1, 2, 3, 4, 4])).shape, [1, 2, 3, 2, 2]);
  assert.deepEqual(new nn.AdaptiveAvgPool3d(1).call(tt.randn([2, 5, 3, 4, 4])).shape, [2, 5, 1, 1, 1]);
  assert.deepEqual(new nn.AdaptiveMaxPool1d(4).call(tt.randn([2, 5, 9])).shape, [2, 5, 4]);
  assert.deepEqual(new nn.AdaptiveAvgPool1d(1).call(tt.randn([5, 9])).shape, [5, 1]);
  const bn = new nn.BatchNorm3d(3);
  const xb = tt.randn([2, 3, 2, 3, 3]).mul(2).add(1);
  bn.call(xb);
  // running mean after one batch: 0.9·0 + 0.1·batch mean (PyTorch's momentum convention)
  assertClose(bn.runningMean!, tt.mean(xb, [0, 2, 3, 4]).mul(0.1), { atol: 1e-6 });
  assert.throws(() => bn.call(tt.randn([2, 3, 4, 4])), /BatchNorm3d: expected 5D input/);
  const in1 = new nn.InstanceNorm1d(3, { affine: true });
  assert.deepEqual(in1.call(tt.randn([3, 7])).shape, [3, 7]);
  assert.equal(in1.parameters().length, 2);
  assert.deepEqual(new nn.InstanceNorm3d(2).call(tt.randn([1, 2, 3, 3, 3])).shape, [1, 2, 3, 3, 3]);
  assert.throws(() => new nn.InstanceNorm3d(2).call(tt.randn([2, 3])), /InstanceNorm3d: expected 4D or 5D input/);
  assert.deepEqual(
    new nn.Upsample({ scaleFactor: 2, mode: 'trilinear' }).call(tt.randn([1, 1, 2, 3, 4])).shape,
    [1, 1, 4, 6, 8],
  );
});

test('bad input: errors name the op, the shapes and what was expected', () => {
  assert.throws(
    () => F.conv3d(tt.randn([3, 4, 4]), tt.randn([2, 3, 3, 3, 3])),
    /conv3d: expected input of rank 4 or 5 \(NCDHW.*got shape \[3, ?4, ?4\]/,
  );
  assert.throws(
    () => F.conv3d(tt.randn([1, 4, 4, 4, 4]), tt.randn([2, 3, 3, 3, 3])),
    /conv3d: input has 4 channels but weight \[2, ?3, ?3, ?3, ?3\] expects 3/,
  );
  assert.throws(
    () => F.conv3d(tt.randn([1, 3, 2, 4, 4]), tt.randn([2, 3, 3, 3, 3])),
    /conv3d: kernel 3×3×3 .* is larger than the padded input 2×4×4 in dim 2/,
  );
  assert.throws(
    () => F.conv1d(tt.randn([1, 3, 8]), tt.randn([2, 3, 3]), null, { stride: 2, padding: 'same' }),
    /conv1d: padding='same' is not supported for strided/,
  );
  assert.throws(
    () => F.conv1d(tt.randn([1, 3, 8]), tt.randn([2, 3, 3]), null, { stride: [1, 1] as unknown as number }),
    /conv1d: stride must be an integer ≥ 1 or a list of 1/,
  );
  assert.throws(
    () => F.convTranspose3d(tt.randn([1, 2, 2, 2, 2]), tt.randn([2, 2, 3, 3, 3]), null, { outputPadding: 1 }),
    /convTranspose3d: outputPadding/,
  );
  assert.throws(
    () => F.maxPool3d(tt.randn([1, 1, 4, 4, 4]), 2, { padding: 2 }),
    /maxPool3d: padding \[2,2,2\] must be at most half the kernel size/,
  );
  assert.throws(
    () => F.adaptiveAvgPool3d(tt.randn([1, 1, 4, 4, 4]), [2, 2] as unknown as number),
    /adaptiveAvgPool3d: outputSize must be/,
  );
  assert.throws(() => F.maxPool1d(tt.randn([1, 1, 2, 4]), 2), /maxPool1d: expected input of rank 2 or 3/);
  assert.throws(
    () => F.interpolate(tt.randn([1, 1, 4, 4]), { size: 3, mode: 'trilinear' }),
    /interpolate: expected input of rank 5 \(NCDHW for mode 'trilinear'\)/,
  );
  assert.throws(
    () => F.interpolate(tt.randn([1, 1, 4]), { size: 3, mode: 'bicubic' as 'linear' }),
    /interpolate: mode must be/,
  );
  assert.throws(
    () => new nn.Conv3d(3, 4, 3).call(tt.randn([1, 2, 4, 4, 4])),
    /Conv3d: input \[1, ?2, ?4, ?4, ?4\] has 2 channels but this layer expects 3/,
  );
  const [y, idx] = F.maxPool3d(tt.randn([1, 1, 4, 4, 4]), 2, { returnIndices: true });
  assert.throws(() => F.maxUnpool3d(y, idx, 2, { outputSize: [9, 9, 9] }), /maxUnpool3d: invalid outputSize/);
});

test('hand-computed: conv1d moving sum, conv3d of a delta, trilinear midpoint, maxPool3d index', () => {
  const x = tt.tensor([[[1, 2, 3, 4, 5]]]);
  assert.deepEqual([...F.conv1d(x, tt.ones([1, 1, 3])).dataView()], [6, 9, 12]);
  assert.deepEqual(
    [...F.conv1d(x, tt.ones([1, 1, 2]), null, { padding: 1, paddingMode: 'circular' }).dataView()],
    [6, 3, 5, 7, 9, 6],
  );
  // a delta at the centre of a 3×3×3 volume, convolved with a kernel, reproduces the flipped kernel (correlation)
  const delta = tt.zeros([1, 1, 3, 3, 3]);
  delta.storage[13] = 1;
  const k = tt.arange(0, 27).float().reshape([1, 1, 3, 3, 3]);
  forEachBackend(() =>
    assert.deepEqual(
      [...F.conv3d(delta, k, null, { padding: 1 }).dataView()],
      [...k.flip([2, 3, 4]).contiguous().dataView()],
    ),
  );
  // trilinear, alignCorners: the centre of a 2×2×2 cube of values 0..7 is their mean 3.5
  const cube = tt.arange(0, 8).float().reshape([1, 1, 2, 2, 2]);
  const up = F.interpolate(cube, { size: 3, mode: 'trilinear', alignCorners: true });
  assert.equal(up.dataView()[13], 3.5);
  const [m, i] = F.maxPool3d(cube, 2, { returnIndices: true });
  assert.equal(m.item(), 7);
  assert.equal(i.item(), 7);
});
