import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, checkCase, decode, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F } = tt;
const fx = loadFixtures('norm');
type Fn = Parameters<typeof checkCase>[1];
// float32 statistics over ≤ 36 values: outputs within 1e-5 abs / 1e-4 rel, gradients within 1e-4 / 1e-3.
const golden = (name: string, fn: Fn, opts: Parameters<typeof checkCase>[2] = { atol: 1e-5, rtol: 1e-4 }) => {
  const c = fx.get(name);
  test(`golden: ${name}`, () => {
    assert.ok(c, `fixture ${name} missing`);
    forEachBackend(() => checkCase(c, fn, opts));
  });
};

for (const tag of ['2d', '3d', '4d']) {
  for (const affine of ['affine', 'plain']) {
    golden(`batch_norm_train_${tag}_${affine}`, ({ x, w, b }) => {
      const c = x.shape[1];
      const rm = tt.zeros([c]);
      const rv = tt.ones([c]);
      const out = F.batchNorm(x, rm, rv, { weight: w ?? null, bias: b ?? null, training: true });
      assert.equal(rm.requiresGrad, false);
      return [out, rm, rv];
    });
    golden(`batch_norm_eval_${tag}_${affine}`, ({ x, rm, rv, w, b }) =>
      F.batchNorm(x, rm, rv, { weight: w, bias: b, eps: 1e-3 }),
    );
  }
}

golden('batch_norm_two_steps', ({ x1, x2, w, b }) => {
  const rm = tt.zeros([3]);
  const rv = tt.ones([3]);
  F.batchNorm(x1, rm, rv, { weight: w, bias: b, training: true, momentum: 0.3 });
  const out = F.batchNorm(x2, rm, rv, { weight: w, bias: b, training: true, momentum: 0.3 });
  return [out, rm, rv];
});

test('batchNorm: running stats after 2 training steps equal PyTorch (unbiased running_var)', () => {
  const c = fx.get('batch_norm_two_steps')!;
  const rm = tt.zeros([3]);
  const rv = tt.ones([3]);
  for (const x of [decode(c.inputs.x1), decode(c.inputs.x2)]) F.batchNorm(x, rm, rv, { training: true, momentum: 0.3 });
  assertClose(rm, c.extra[0], { atol: 1e-6, rtol: 1e-5, what: 'running_mean' });
  assertClose(rv, c.extra[1], { atol: 1e-6, rtol: 1e-5, what: 'running_var' });
  assert.ok(rm.version > 0 && rv.version > 0, 'running stats are updated in place');
});

golden('instance_norm_affine_running', ({ x, w, b }) => {
  const rm = tt.zeros([3]);
  const rv = tt.ones([3]);
  const out = F.instanceNorm(x, { runningMean: rm, runningVar: rv, weight: w, bias: b, momentum: 0.2 });
  return [out, rm, rv];
});
golden('instance_norm_plain_3d', ({ x }) => F.instanceNorm(x));
golden('instance_norm_eval_stats', ({ x, rm, rv }) =>
  F.instanceNorm(x, { runningMean: rm, runningVar: rv, useInputStats: false }),
);
golden('group_norm_affine', ({ x, w, b }) => F.groupNorm(x, 2, { weight: w, bias: b }));
golden('group_norm_plain_1group', ({ x }) => F.groupNorm(x, 1));
golden('group_norm_per_channel', ({ x }) => F.groupNorm(x, 4, { eps: 1e-3 }));
golden('layer_norm_last', ({ x, w, b }) => F.layerNorm(x, [5], { weight: w, bias: b }));
golden('layer_norm_chw', ({ x, w, b }) => F.layerNorm(x, [3, 2, 2], { weight: w, bias: b, eps: 1e-3 }));
golden('layer_norm_plain', ({ x }) => F.layerNorm(x, [4, 3]));
golden('lrn_alexnet', ({ x }) => F.localResponseNorm(x, 5, { alpha: 1e-2, beta: 0.75, k: 2 }));
golden('lrn_even_size_3d', ({ x }) => F.localResponseNorm(x, 4, { alpha: 0.5, beta: 0.6, k: 1 }));
golden('lrn_size1_default', ({ x }) => F.localResponseNorm(x, 1));

test('gradcheck: batchNorm training and eval, 2-D/3-D/4-D, with and without affine (float64)', () => {
  forEachBackend(() => {
    for (const shape of [
      [5, 3],
      [3, 2, 4],
      [2, 3, 2, 3],
    ]) {
      const c = shape[1];
      const x = rand64(shape, 1, -2, 3);
      const w = rand64([c], 2, 0.5, 1.5);
      const b = rand64([c], 3);
      const rm = rand64([c], 4).detach();
      const rv = rand64([c], 5, 0.5, 1.5).detach();
      assert.ok(
        tt.gradcheck((a, ww, bb) => F.batchNorm(a, null, null, { weight: ww, bias: bb, training: true }), [x, w, b]),
      );
      assert.ok(
        tt.gradcheck(
          (a) =>
            F.batchNorm(a, tt.zeros([c], { dtype: 'float64' }), tt.ones([c], { dtype: 'float64' }), { training: true }),
          [x],
        ),
      );
      assert.ok(tt.gradcheck((a, ww, bb) => F.batchNorm(a, rm, rv, { weight: ww, bias: bb }), [x, w, b]));
      assert.ok(tt.gradcheck((a) => F.batchNorm(a, rm, rv, { eps: 0.1 }), [x]));
      // Only one of weight/bias, and a non-contiguous input.
      assert.ok(
        tt.gradcheck(
          (a, ww) => F.batchNorm(a.mul(1).transpose(0, 0), null, null, { weight: ww, training: true }),
          [x, w],
        ),
      );
    }
  });
});

test('gradcheck: instance, group, layer and local-response norm (float64)', () => {
  forEachBackend(() => {
    const x = rand64([2, 4, 2, 3], 11, -2, 2);
    const w = rand64([4], 12, 0.5, 1.5);
    const b = rand64([4], 13);
    assert.ok(tt.gradcheck((a, ww, bb) => F.instanceNorm(a, { weight: ww, bias: bb }), [x, w, b]));
    assert.ok(
      tt.gradcheck(
        (a) =>
          F.instanceNorm(a, {
            runningMean: tt.zeros([4], { dtype: 'float64' }),
            runningVar: tt.ones([4], { dtype: 'float64' }),
          }),
        [x],
      ),
    );
    assert.ok(
      tt.gradcheck(
        (a, ww, bb) =>
          F.instanceNorm(a, {
            runningMean: rand64([4], 17).detach(),
            runningVar: rand64([4], 18, 0.5, 1.5).detach(),
            useInputStats: false,
            weight: ww,
            bias: bb,
          }),
        [x, w, b],
      ),
    );
    assert.ok(tt.gradcheck((a, ww, bb) => F.groupNorm(a, 2, { weight: ww, bias: bb }), [x, w, b]));
    assert.ok(tt.gradcheck((a) => F.groupNorm(a, 4), [x]));
    const lw = rand64([2, 3], 14, 0.5, 1.5);
    const lb = rand64([2, 3], 15);
    assert.ok(tt.gradcheck((a, ww, bb) => F.layerNorm(a, [2, 3], { weight: ww, bias: bb }), [x, lw, lb]));
    assert.ok(tt.gradcheck((a) => F.layerNorm(a, 3, { eps: 1e-3 }), [x]));
    const big = rand64([2, 6, 2, 2], 16, -3, 3);
    assert.ok(tt.gradcheck((a) => F.localResponseNorm(a, 3, { alpha: 0.5, beta: 0.75, k: 1 }), [big]));
    assert.ok(tt.gradcheck((a) => F.localResponseNorm(a, 4, { alpha: 1, beta: 0.5, k: 2 }), [big]));
    assert.ok(tt.gradcheck((a) => F.localResponseNorm(a.reshape(2, 6, 4), 2), [big]));
  });
});

test('batchNorm: training without running stats, eval is the affine of the running stats', () => {
  const x = tt.tensor([
    [1, 10],
    [3, 20],
  ]);
  const y = F.batchNorm(x, null, null, { training: true, eps: 0 });
  assertClose(y, [-1, -1, 1, 1]);
  const rm = tt.tensor([1, 2]);
  const rv = tt.tensor([4, 16]);
  const e = F.batchNorm(x, rm, rv, { weight: tt.tensor([2, 1]), bias: tt.tensor([0, 1]), eps: 0 });
  assertClose(e, [0, 3, 2, 5.5]);
  assert.deepEqual(rm.tolist(), [1, 2], 'evaluation leaves the running stats alone');
});

test('norm error messages', () => {
  assert.throws(
    () => F.batchNorm(tt.ones([1, 3]), tt.zeros([3]), tt.ones([3]), { training: true }),
    /batchNorm: Expected more than 1 value per channel when training, got input size \[1, 3\]/,
  );
  assert.throws(
    () => F.batchNorm(tt.ones([1, 3, 1, 1]), null, null, { training: true }),
    /Expected more than 1 value per channel when training/,
  );
  assert.throws(
    () => F.batchNorm(tt.ones([2, 3, 4, 4]), null, null, { weight: tt.ones([4]), training: true }),
    /batchNorm: weight has shape \[4\] but input \[2, 3, 4, 4\] has 3 channels/,
  );
  assert.throws(
    () => F.batchNorm(tt.ones([2, 3]), null, null),
    /batchNorm: runningMean and runningVar must be given in evaluation mode/,
  );
  assert.throws(
    () => F.batchNorm(tt.ones([3]), null, null, { training: true }),
    /batchNorm: expected input of rank ≥ 2/,
  );
  assert.throws(
    () => F.instanceNorm(tt.ones([2, 3, 1, 1])),
    /instanceNorm: Expected more than 1 spatial element when training/,
  );
  assert.throws(
    () => F.groupNorm(tt.ones([2, 6, 2]), 4),
    /groupNorm: numGroups must be a positive divisor of the 6 channels/,
  );
  assert.throws(
    () => F.layerNorm(tt.ones([2, 3, 4]), [3]),
    /layerNorm: normalizedShape \[3\] must equal the trailing dims of input \[2, 3, 4\]/,
  );
  assert.throws(
    () => F.layerNorm(tt.ones([2, 3, 4]), [4], { weight: tt.ones([3]) }),
    /layerNorm: weight has shape \[3\], expected normalizedShape \[4\]/,
  );
  assert.throws(() => F.localResponseNorm(tt.ones([2, 3]), 2), /localResponseNorm: expected input of rank ≥ 3/);
});
