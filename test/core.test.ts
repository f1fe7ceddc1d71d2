import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { checkCase, forEachBackend, loadFixtures, rand64 } from './helpers.ts';

const fx = loadFixtures('core');
const golden = (name: string, fn: Parameters<typeof checkCase>[1], opts?: Parameters<typeof checkCase>[2]) =>
  test(`golden: ${name}`, () => forEachBackend(() => checkCase(fx.get(name)!, fn, opts)));

golden('add_broadcast', ({ a, b }) => tt.add(a, b));
golden('mul_broadcast', ({ a, b }) => a.mul(b));
golden('div', ({ a, b }) => a.div(b));
golden('pow_tensor', ({ a, b }) => tt.pow(a, b));
golden('exp_log_sqrt', ({ x }) => tt.sqrt(tt.add(tt.exp(x), tt.log(tt.add(x, 2)))));
golden('clamp', ({ x }) => x.clamp(-0.3, 0.4));
golden('maximum', ({ a, b }) => tt.maximum(a, b));
golden('sum_dims_keepdim', ({ x }) => x.sum([0, 2], true));
golden('mean_dim', ({ x }) => x.mean(1));
golden('var_unbiased', ({ x }) => x.var(1));
golden('std_biased', ({ x }) => x.std([0, 1], { unbiased: false }));
golden('max_dim', ({ x }) => {
  const r = x.max(1);
  return [r.values, r.indices];
});
golden('amax_dims', ({ x }) => x.amax([1, 2]));
golden('logsumexp', ({ x }) => tt.logsumexp(x.mul(5), 1));
golden('softmax_dim1', ({ x }) => x.mul(3).softmax(1));
golden('log_softmax_last', ({ x }) => tt.logSoftmax(x.mul(3), -1));
golden('matmul_batched_broadcast', ({ a, b }) => tt.matmul(a, b), { atol: 1e-5 });
golden('bmm', ({ a, b }) => tt.bmm(a, b));
golden('permute_reshape', ({ x }) => x.permute(2, 0, 1).reshape(4, -1).mul(2));
golden('cat_dim1', ({ a, b }) => tt.cat([a, b], 1).mul(1.5));
golden('gather_dim1', ({ x }) =>
  tt.gather(
    x,
    1,
    tt.tensor(
      [
        [0, 2, 1],
        [1, 1, 0],
      ],
      { dtype: 'int32' },
    ),
  ),
);
golden('index_select', ({ x }) => tt.indexSelect(x, 0, tt.tensor([2, 0, 2], { dtype: 'int32' })));
golden('linear', ({ x, w, b }) => tt.F.linear(x, w, b));

test('gradcheck: elementwise, reductions and shape ops (float64)', () => {
  forEachBackend(() => {
    const a = rand64([3, 4], 1);
    const b = rand64([4], 2, 0.5, 1.5);
    assert.ok(tt.gradcheck((x, y) => tt.div(tt.mul(x, y), tt.add(y, 1)), [a, b]));
    assert.ok(tt.gradcheck((x, y) => tt.pow(y, x), [a, b]));
    assert.ok(
      tt.gradcheck(
        (x) =>
          tt
            .sqrt(tt.exp(x))
            .add(tt.abs(x))
            .sub(tt.sin(x).mul(tt.cos(x))),
        [a],
      ),
    );
    assert.ok(tt.gradcheck((x) => x.var(0).add(x.std(1, { unbiased: false }).sum()), [a]));
    assert.ok(tt.gradcheck((x) => tt.logsumexp(x, [0, 1]), [a]));
    assert.ok(tt.gradcheck((x) => x.max(1).values.add(x.min(0).values.sum()), [a]));
    assert.ok(tt.gradcheck((x) => tt.cat(tt.chunk(x, 2, 1).reverse(), 0).T.flip(0), [a]));
    assert.ok(tt.gradcheck((x) => x.softmax(0).mul(x.logSoftmax(1)), [a]));
    assert.ok(tt.gradcheck((x) => tt.where(x.gt(0), x, x.mul(0.1)), [a]));
    assert.ok(
      tt.gradcheck(
        (x) =>
          tt
            .stack([x, x.mul(2)], 1)
            .slice(2, 1, null, 2)
            .expand(2, 3, 2, 2),
        [a],
      ),
    );
    assert.ok(tt.gradcheck((x, y) => tt.matmul(x, y.reshape(4, 1)), [a, b]));
    assert.ok(tt.gradcheck((x) => tt.bmm(x.reshape(1, 3, 4), x.T.reshape(1, 4, 3).contiguous()), [a]));
    assert.ok(tt.gradcheck((x) => tt.gather(x, 0, tt.tensor([[2, 0, 1, 1]], { dtype: 'int32' })), [a]));
    assert.ok(tt.gradcheck((x) => tt.maskedFill(x, x.lt(0), 0).repeat(2, 1), [a]));
    assert.ok(
      tt.gradcheck(
        (x) =>
          tt.scatter(
            tt.zeros([3, 4], { dtype: 'float64' }),
            0,
            tt.tensor([[2, 0, 1, 0]], { dtype: 'int32' }),
            x.narrow(0, 0, 1),
            'add',
          ),
        [a],
      ),
    );
  });
});

test('tensor creation, views and printing', () => {
  const x = tt.arange(12).reshape(3, 4);
  assert.equal(x.dtype, 'int32');
  assert.deepEqual(x.T.shape, [4, 3]);
  assert.equal(x.T.isContiguous(), false);
  assert.deepEqual(x.T.contiguous().toArray(), [
    [0, 4, 8],
    [1, 5, 9],
    [2, 6, 10],
    [3, 7, 11],
  ]);
  assert.equal(x.T.storage, x.storage, 'transpose is a view');
  assert.deepEqual(tt.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(tt.eye(2).toArray(), [
    [1, 0],
    [0, 1],
  ]);
  assert.deepEqual(tt.full([2], 7).toArray(), [7, 7]);
  assert.match(
    tt.ones([2, 2]).toString(),
    /^tensor\(\[\[1\.0000, 1\.0000\],\n {8}\[1\.0000, 1\.0000\]\], shape=\[2, 2\]\)$/,
  );
  assert.equal(tt.tensor(3.5).item(), 3.5);
  assert.throws(() => tt.ones([2]).item(), /item: only one-element tensors/);
  assert.throws(() => tt.tensor([[1, 2], [3]]), /ragged/);
  assert.throws(() => tt.ones([6]).view(4, -1), /invalid for input of size 6/);
  assert.throws(() => x.T.view(12), /not compatible/);
  assert.deepEqual(x.T.reshape(12).toArray(), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
});

test('seeded generator: same seed, same numbers; documented xoshiro128** stream', () => {
  const a = tt.randn([5], { generator: new tt.Generator(42) }).toArray();
  const b = tt.randn([5], { generator: new tt.Generator(42) }).toArray();
  const c = tt.randn([5], { generator: new tt.Generator(43) }).toArray();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const u = tt.rand([10000], { generator: new tt.Generator(7) });
  assert.ok(Math.abs(u.mean().item() - 0.5) < 0.01);
  const n = tt.randn([10000], { generator: new tt.Generator(7) });
  assert.ok(Math.abs(n.std().item() - 1) < 0.03);
  const r = tt.randint(0, 3, [1000]);
  assert.ok(r.toTypedArray().every((v) => v >= 0 && v < 3));
});

test('autograd: accumulation, retainGrad, hooks, detach, noGrad, backward twice', () => {
  const x = tt.tensor([1, 2, 3], { requiresGrad: true });
  const y = x.mul(2);
  y.retainGrad();
  const seen: number[][] = [];
  y.registerHook((g) => {
    seen.push(g.tolist());
  });
  const z = y.mul(y).sum();
  z.backward();
  assert.deepEqual(x.grad!.tolist(), [8, 16, 24]);
  assert.deepEqual(y.grad!.tolist(), [4, 8, 12]);
  assert.deepEqual(seen, [[4, 8, 12]]);
  x.mul(3).sum().backward();
  assert.deepEqual(x.grad!.tolist(), [11, 19, 27], 'leaf gradients accumulate');
  assert.throws(() => z.backward(), /already run backward/);
  const w = tt.noGrad(() => x.mul(2));
  assert.equal(w.requiresGrad, false);
  assert.equal(x.detach().requiresGrad, false);
  const h = tt.tensor([1, 2], { requiresGrad: true });
  h.registerHook((g) => g.mul(10));
  h.sum().backward();
  assert.deepEqual(h.grad!.tolist(), [10, 10], 'a hook can replace the gradient');
  const v = tt.tensor([1, 2], { requiresGrad: true });
  v.mul(v).backward(tt.tensor([1, 0.5]));
  assert.deepEqual(v.grad!.tolist(), [2, 2]);
  assert.throws(() => v.mul(2).backward(), /implicitly created only for scalar/);
});

test('anomaly mode names the op that produced NaN', () => {
  const x = tt.tensor([-1, 1], { requiresGrad: true });
  assert.throws(() => tt.detectAnomaly(() => tt.log(x)), /anomaly: log produced NaN/);
  const y = tt.tensor([0, 1], { requiresGrad: true });
  assert.throws(() => tt.detectAnomaly(() => tt.sqrt(y).sum().backward()), /anomaly: sqrt \(backward\) produced Inf/);
  tt.log(x); // outside anomaly mode: no error
});

test('in-place ops refuse leaves that require grad unless under noGrad', () => {
  const p = tt.ones([2], { requiresGrad: true });
  assert.throws(() => p.add_(1), /leaf tensor that requires grad/);
  tt.noGrad(() => p.sub_(tt.tensor([0.5, 0.25])));
  assert.deepEqual(p.tolist(), [0.5, 0.75]);
  const q = tt.zeros([2, 3]);
  q.T.narrow(0, 1, 1).fill_(5);
  assert.deepEqual(q.toArray(), [
    [0, 5, 0],
    [0, 5, 0],
  ]);
});

test('error messages name the op and the shapes', () => {
  assert.throws(() => tt.add(tt.ones([2, 3]), tt.ones([4])), /add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  assert.throws(() => tt.mm(tt.ones([2, 3]), tt.ones([4, 2])), /mm: shapes \[2, 3\] and \[4, 2\] cannot be multiplied/);
  assert.throws(() => tt.cat([tt.ones([2, 3]), tt.ones([2, 4])], 0), /cat: tensor 1 has shape \[2, 4\]/);
  // A hole in the list (e.g. a dataset returning undefined) names the entry instead of a TypeError.
  assert.throws(
    () => tt.cat([tt.ones([2]), undefined as never]),
    /cat: entry 1 of the list must be a Tensor, got undefined/,
  );
  assert.throws(() => tt.stack([null as never]), /stack: entry 0 of the list must be a Tensor, got null/);
  assert.throws(() => tt.ones([2]).sum(3), /sum: dim 3 is out of range/);
  assert.throws(
    () =>
      tt.gather(
        tt.ones([2, 2]),
        1,
        tt.tensor(
          [
            [0, 5],
            [0, 0],
          ],
          { dtype: 'int32' },
        ),
      ),
    /gather: index 5 is out of bounds/,
  );
  assert.throws(
    () => tt.F.linear(tt.ones([2, 3]), tt.ones([4, 5])),
    /linear: input \[2, 3\] has 3 features but weight \[4, 5\] expects 5/,
  );
  assert.throws(() => tt.randn([2], { dtype: 'int32' }), /randn: dtype must be float/);
});

test('leaf gradients own their storage: no two .grad share memory, none aliases a user tensor', () => {
  const a = tt.randn([4, 5]).requiresGrad_(true);
  const b = tt.randn([4, 5]).requiresGrad_(true);
  // mul's backward makes a fresh gradient; add's backward hands that one tensor to both inputs
  a.add(b).mul(2).backward(tt.onesLike(a));
  assert.notEqual(a.grad!.storage, b.grad!.storage);
  a.grad!.storage.fill(0);
  assert.deepEqual(b.grad!.tolist(), tt.full([4, 5], 2).tolist());
  // an identity path would hand the caller's gradient itself to the leaf
  const c = tt.randn([3]).requiresGrad_(true);
  const g = tt.tensor([1, 2, 3]);
  c.reshape(3).backward(g);
  assert.notEqual(c.grad!.storage, g.storage);
  c.grad!.storage.fill(0);
  assert.deepEqual(g.tolist(), [1, 2, 3]);
});

test('in-place arithmetic writes into the tensor itself, with broadcasting, aliasing and strided targets', () => {
  const t = tt.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const storage = t.storage;
  t.mul_(tt.tensor([1, 10, 100])).add_(1);
  assert.equal(t.storage, storage);
  assert.deepEqual(t.tolist(), [2, 21, 301, 5, 51, 601]);
  t.sub_(t); // the operand is the tensor itself
  assert.deepEqual(t.tolist(), [0, 0, 0, 0, 0, 0]);
  const u = tt.arange(6).float().reshape(2, 3);
  u.t().div_(tt.tensor([1, 2])); // a transposed (strided) target
  assert.deepEqual(u.tolist(), [0, 1, 2, 1.5, 2, 2.5]);
  assert.throws(() => tt.zeros([3]).add_(tt.ones([2, 3])), /add_/);
});

test('relu_ clamps in place and keeps NaN', () => {
  const t = tt.tensor([-1, 0.5, NaN, -0, 3]);
  const s = t.storage;
  t.relu_();
  assert.equal(t.storage, s);
  const v = t.tolist();
  assert.deepEqual([v[0], v[1], v[3], v[4]], [0, 0.5, -0, 3]); // −0 stays −0, as torch.relu's
  assert.ok(Number.isNaN(v[2]));
  const leaf = tt.ones([2]).requiresGrad_(true);
  assert.throws(() => leaf.relu_(), /relu_/);
  // like torch 1.13: relu(NaN) = NaN and its gradient passes there (threshold_backward zeroes only x ≤ 0)
  for (const n of [5, 200]) {
    const x = tt.full([n], -1);
    x.storage[0] = NaN;
    x.storage[1] = 2;
    x.requiresGrad_(true);
    const y = tt.F.relu(x);
    assert.ok(Number.isNaN(y.tolist()[0]));
    y.sum().backward();
    assert.deepEqual(x.grad!.tolist().slice(0, 3), [1, 1, 0]);
  }
});

test('linear: gradients (float64 check) and a contiguous weight gradient straight from the kernel', () => {
  const g = new tt.Generator(11);
  const x = tt.randn([2, 3, 5], { generator: g, dtype: 'float64' }).requiresGrad_(true);
  const w = tt.randn([4, 5], { generator: g, dtype: 'float64' }).requiresGrad_(true);
  const b = tt.randn([4], { generator: g, dtype: 'float64' }).requiresGrad_(true);
  assert.ok(tt.gradcheck((xi, wi, bi) => tt.F.linear(xi, wi, bi), [x, w, b]));
  const w32 = tt.randn([6, 7]).requiresGrad_(true);
  tt.F.linear(tt.randn([3, 7]), w32)
    .sum()
    .backward();
  assert.ok(w32.grad!.isContiguous());
  // bmm with a transposed right operand takes the same path
  const a3 = tt.randn([2, 3, 4], { generator: g, dtype: 'float64' }).requiresGrad_(true);
  const b3 = tt.randn([2, 5, 4], { generator: g, dtype: 'float64' }).requiresGrad_(true);
  assert.ok(tt.gradcheck((p, q) => tt.bmm(p, q.transpose(1, 2)), [a3, b3]));
});
