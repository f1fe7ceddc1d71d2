import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const { F } = tt;
const fx = loadFixtures('attention');
type Fn = Parameters<typeof checkCase>[1];
// Two float32 matmuls around a softmax over ≤ 6 keys: within 1e-5 abs / 1e-4 rel; gradients 1e-5 / 1e-3.
const golden = (name: string, fn: Fn) => {
  const c = fx.get(name);
  test(`golden: ${name}`, () => {
    assert.ok(c, `fixture ${name} missing`);
    forEachBackend(() => checkCase(c, fn, { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-5, gradRtol: 1e-3 }));
  });
};

const boolMask = () => tt.tensor(fx.get('sdpa_bool_mask')!.params.mask as number[][], { dtype: 'bool' });

golden('sdpa_plain', ({ q, k, v }) => F.scaledDotProductAttention(q, k, v));
golden('sdpa_scale', ({ q, k, v }) => F.scaledDotProductAttention(q, k, v, { scale: 0.9 }));
golden('sdpa_causal', ({ q, k, v }) => F.scaledDotProductAttention(q, k, v, { isCausal: true }));
golden('sdpa_causal_rect', ({ q, k, v }) => F.scaledDotProductAttention(q, k, v, { isCausal: true }));
golden('sdpa_bool_mask', ({ q, k, v }) => F.scaledDotProductAttention(q, k, v, { attnMask: boolMask() }));
golden('sdpa_float_mask', ({ q, k, v, mask }) => F.scaledDotProductAttention(q, k, v, { attnMask: mask }));

test('gradcheck: attention plain, scaled, causal, bool and float masks (float64)', () => {
  forEachBackend(() => {
    const q = rand64([2, 3, 4], 1);
    const k = rand64([2, 5, 4], 2);
    const v = rand64([2, 5, 2], 3);
    const mask = tt.tensor(
      [
        [1, 0, 1, 1, 0],
        [1, 1, 1, 0, 0],
        [0, 0, 1, 1, 1],
      ],
      { dtype: 'bool' },
    );
    const fmask = rand64([3, 5], 4, -2, 1).detach();
    assert.ok(tt.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c), [q, k, v]));
    assert.ok(tt.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { scale: 0.3 }), [q, k, v]));
    assert.ok(tt.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true }), [q, k, v]));
    assert.ok(tt.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: mask }), [q, k, v]));
    assert.ok(tt.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: fmask }), [q, k, v]));
    const g = () => new tt.Generator(7);
    assert.ok(
      tt.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { dropoutP: 0.3, generator: g() }), [q, k, v]),
    );
  });
});

test('attention: causal equals an explicit lower-triangular bool mask; dropout is seeded', () => {
  const q = tt.randn([2, 4, 3], { generator: new tt.Generator(1) });
  const k = tt.randn([2, 4, 3], { generator: new tt.Generator(2) });
  const v = tt.randn([2, 4, 5], { generator: new tt.Generator(3) });
  const tril = tt.tensor(
    [
      [1, 0, 0, 0],
      [1, 1, 0, 0],
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ],
    { dtype: 'bool' },
  );
  assert.deepEqual(
    F.scaledDotProductAttention(q, k, v, { isCausal: true }).tolist(),
    F.scaledDotProductAttention(q, k, v, { attnMask: tril }).tolist(),
  );
  // The first query sees only the first key: its output is that key's value.
  const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
  assert.deepEqual(out.select(0, 0).select(0, 0).tolist(), v.select(0, 0).select(0, 0).tolist());
  const d1 = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5, generator: new tt.Generator(4) }).tolist();
  const d2 = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5, generator: new tt.Generator(4) }).tolist();
  assert.deepEqual(d1, d2);
});

test('attention error messages', () => {
  const q = tt.ones([2, 3, 4]);
  assert.throws(
    () => F.scaledDotProductAttention(q, tt.ones([2, 5, 3]), tt.ones([2, 5, 2])),
    /scaledDotProductAttention: query \[2, 3, 4\] has embedding size 4 but key \[2, 5, 3\] has 3/,
  );
  assert.throws(
    () => F.scaledDotProductAttention(q, tt.ones([2, 5, 4]), tt.ones([2, 6, 2])),
    /key \[2, 5, 4\] has 5 positions but value \[2, 6, 2\] has 6/,
  );
  assert.throws(
    () => F.scaledDotProductAttention(q, q, q, { isCausal: true, attnMask: tt.ones([3, 3]) }),
    /attnMask cannot be combined with isCausal/,
  );
  assert.throws(
    () => F.scaledDotProductAttention(q, q, q, { attnMask: tt.ones([3, 3], { dtype: 'int32' }) }),
    /attnMask must be bool \(true = attend\) or floating/,
  );
  assert.throws(() => F.scaledDotProductAttention(q, q, q, { dropoutP: 2 }), /dropoutP must be in \[0, 1\]/);
});
