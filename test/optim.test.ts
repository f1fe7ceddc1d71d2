import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, decode, loadFixtures } from './helpers.ts';

const { optim, nn } = tt;
const fx = loadFixtures('optim');

type Make = (w: tt.Tensor, b: tt.Tensor) => tt.optim.Optimizer<tt.optim.BaseOptions>;

/** Replays a fixture's 5 steps of linear regression and returns [w, b] after each step. */
function trajectory(name: string, make: Make, sam = false): { got: tt.Tensor; c: ReturnType<typeof fx.get> } {
  const c = fx.get(name)!;
  const X = decode(c.inputs.X);
  const y = decode(c.inputs.y);
  const w = new nn.Parameter(decode(c.inputs.w0));
  const b = new nn.Parameter(decode(c.inputs.b0));
  const lossFn = () => X.matmul(w).add(b).sub(y).square().mean();
  const opt = make(w, b);
  const rows: tt.Tensor[] = [];
  for (let s = 0; s < c.output.shape[0]; s++) {
    opt.zeroGrad();
    lossFn().backward();
    if (sam) {
      opt.step(() => {
        const l = lossFn();
        l.backward();
        return l;
      });
    } else {
      opt.step();
    }
    rows.push(tt.cat([w.detach(), b.detach()]).clone());
  }
  return { got: tt.stack(rows), c };
}

const optimizerCases: [string, Make, boolean?][] = [
  ['sgd_plain', (w, b) => new optim.SGD([w, b], { lr: 0.1 })],
  [
    'sgd_momentum_dampening_wd',
    (w, b) => new optim.SGD([w, b], { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.1 }),
  ],
  ['sgd_nesterov', (w, b) => new optim.SGD([w, b], { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 })],
  [
    'sgd_groups_maximize',
    (w, b) => new optim.SGD([{ params: [w], lr: 0.2 }, { params: [b] }], { lr: 0.01, momentum: 0.5, maximize: true }),
  ],
  ['adam', (w, b) => new optim.Adam([w, b], { lr: 0.1 })],
  [
    'adam_amsgrad_wd',
    (w, b) => new optim.Adam([w, b], { lr: 0.05, betas: [0.8, 0.9], eps: 1e-6, weightDecay: 0.1, amsgrad: true }),
  ],
  ['adamw', (w, b) => new optim.AdamW([w, b], { lr: 0.1, weightDecay: 0.5 })],
  ['rmsprop', (w, b) => new optim.RMSprop([w, b], { lr: 0.01 })],
  [
    'rmsprop_centered_momentum',
    (w, b) => new optim.RMSprop([w, b], { lr: 0.01, alpha: 0.9, momentum: 0.7, centered: true, weightDecay: 0.05 }),
  ],
  ['sam_sgd', (w, b) => new optim.SAM([w, b], optim.SGD, { rho: 0.1, lr: 0.1, momentum: 0.9 }), true],
  ['sam_adaptive_sgd', (w, b) => new optim.SAM([w, b], optim.SGD, { rho: 0.5, adaptive: true, lr: 0.1 }), true],
];

for (const [name, make, sam] of optimizerCases) {
  test(`optimizer trajectory vs PyTorch: ${name}`, () => {
    const { got, c } = trajectory(name, make, sam);
    // float32 state and parameters; the update order differs from PyTorch's only in rounding.
    assertClose(got, c!.output, { atol: 1e-6, rtol: 1e-5, what: name });
  });
}

test('optimizer stateDict/loadStateDict resumes exactly (Adam amsgrad, SGD momentum, RMSprop centered)', () => {
  const makers: Make[] = [
    (w, b) => new optim.Adam([w, b], { lr: 0.05, amsgrad: true }),
    (w, b) => new optim.SGD([{ params: [w], lr: 0.2 }, { params: [b] }], { lr: 0.01, momentum: 0.9, nesterov: true }),
    (w, b) => new optim.RMSprop([w, b], { momentum: 0.5, centered: true }),
  ];
  const c = fx.get('adam')!;
  for (const make of makers) {
    const X = decode(c.inputs.X);
    const y = decode(c.inputs.y);
    const run = (w: tt.Tensor, b: tt.Tensor, opt: tt.optim.Optimizer<tt.optim.BaseOptions>, n: number) => {
      for (let i = 0; i < n; i++) {
        opt.zeroGrad();
        X.matmul(w).add(b).sub(y).square().mean().backward();
        opt.step();
      }
    };
    const w1 = new nn.Parameter(decode(c.inputs.w0));
    const b1 = new nn.Parameter(decode(c.inputs.b0));
    const o1 = make(w1, b1);
    run(w1, b1, o1, 6);
    const w2 = new nn.Parameter(decode(c.inputs.w0));
    const b2 = new nn.Parameter(decode(c.inputs.b0));
    const o2 = make(w2, b2);
    run(w2, b2, o2, 3);
    const sd = JSON.parse(
      JSON.stringify(o2.stateDict(), (k, v) =>
        v instanceof tt.Tensor ? { t: Array.from(v.dataView()), s: v.shape } : v,
      ),
      (k, v) => (v && typeof v === 'object' && 't' in v ? tt.tensor(Float32Array.from(v.t), v.s) : v),
    );
    const w3 = new nn.Parameter(w2.detach().clone());
    const b3 = new nn.Parameter(b2.detach().clone());
    const o3 = make(w3, b3);
    o3.loadStateDict(sd);
    run(w3, b3, o3, 3);
    assert.deepEqual(Array.from(w3.dataView()), Array.from(w1.dataView()));
    assert.deepEqual(Array.from(b3.dataView()), Array.from(b1.dataView()));
  }
});

test('optimizer: param groups, addParamGroup, zeroGrad, validation errors', () => {
  const a = new nn.Parameter(tt.ones([2]));
  const b = new nn.Parameter(tt.ones([3]));
  const opt = new optim.SGD([{ params: [a], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
  opt.addParamGroup({ params: [b], weightDecay: 0.1 });
  assert.equal(opt.paramGroups[0].lr, 0.5);
  assert.equal(opt.paramGroups[0].momentum, 0.9);
  assert.equal(opt.paramGroups[1].lr, 0.1);
  assert.equal(opt.paramGroups[1].weightDecay, 0.1);
  a.sum().add(b.sum()).backward();
  opt.step();
  assert.deepEqual(Array.from(a.dataView()), [0.5, 0.5]);
  opt.zeroGrad(false);
  assert.deepEqual(Array.from(a.grad!.dataView()), [0, 0]);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  assert.throws(() => opt.addParamGroup({ params: [a] }), /more than one parameter group/);
  assert.throws(() => new optim.SGD([], { lr: 0.1 }), /empty parameter list/);
  assert.throws(() => new optim.SGD(a as unknown as tt.Tensor[], { lr: 0.1 }), /got a Tensor/);
  assert.throws(() => new optim.SGD([a], { lr: -1 }), /invalid learning rate -1/);
  assert.throws(() => new optim.SGD([a], { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum/);
  assert.throws(() => new optim.Adam([a], { betas: [1, 0.9] }), /invalid beta parameter at index 0/);
  assert.throws(() => new optim.Adam([a.mul(2)]), /non-leaf/);
  assert.throws(() => new optim.SGD([tt.ones([2], { dtype: 'int32' })], { lr: 0.1 }), /floating-point/);
  // Parameters without gradients are skipped, not zeroed.
  const c = new nn.Parameter(tt.ones([2]));
  new optim.Adam([c], { lr: 1 }).step();
  assert.deepEqual(Array.from(c.dataView()), [1, 1]);
  // Optimizers accept a model's parameters() directly.
  const model = new nn.Linear(3, 2);
  const adam = new optim.AdamW(model.parameters());
  assert.equal(adam.paramGroups[0].params.length, 2);
  assert.equal(adam.paramGroups[0].weightDecay, 0.01);
});

test('optimizer step does not allocate tensors or record a graph; closure is called with grad enabled', () => {
  const w = new nn.Parameter(tt.tensor([1, 2, 3]));
  const storage = w.storage;
  const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
  const loss = opt.step(() => {
    assert.ok(tt.isGradEnabled());
    const l = w.square().sum();
    l.backward();
    return l;
  });
  assert.equal(loss, 14);
  assert.equal(w.storage, storage, 'updated in place');
  assertClose(w, [0.8, 1.6, 2.4]);
  assert.ok(w.isLeaf && w.requiresGrad);
  assert.ok(w.version > 0);
});

test('SAM: firstStep ascends by rho·g/‖g‖ (global norm), secondStep restores and applies the base optimizer', () => {
  const a = new nn.Parameter(tt.tensor([1, 0]));
  const b = new nn.Parameter(tt.tensor([2]));
  const sam = new optim.SAM([a, b], optim.SGD, { rho: 0.5, lr: 0.1 });
  a.grad = tt.tensor([3, 0]);
  b.grad = tt.tensor([4]);
  sam.firstStep();
  assertClose(a, [1 + (0.5 * 3) / 5, 0]);
  assertClose(b, [2 + (0.5 * 4) / 5]);
  a.grad = tt.tensor([1, 1]);
  b.grad = tt.tensor([1]);
  sam.secondStep();
  assertClose(a, [0.9, -0.1]);
  assertClose(b, [1.9]);
  assert.equal(sam.paramGroups, sam.baseOptimizer.paramGroups, 'groups are shared with the base optimizer');
  assert.throws(() => sam.step(), /requires a closure/);
  const withAdam = new optim.SAM([a], optim.Adam, { betas: [0.5, 0.9] });
  assert.equal(withAdam.paramGroups[0].lr, 1e-3, 'base optimizer defaults fill the groups');
  assert.equal(withAdam.paramGroups[0].rho, 0.05);
  assert.throws(() => new optim.SAM([a], optim.SGD, { lr: 0.1, rho: -1 }), /invalid rho/);
});

test('clipGradNorm_ returns the total norm and scales jointly; clipGradValue_ clamps', () => {
  const a = new nn.Parameter(tt.zeros([2]));
  const b = new nn.Parameter(tt.zeros([1]));
  a.grad = tt.tensor([3, 0]);
  b.grad = tt.tensor([4]);
  const total = optim.clipGradNorm_([a, b], 1);
  assert.ok(Math.abs(total - 5) < 1e-6);
  assertClose(a.grad, [3 / (5 + 1e-6), 0]);
  assertClose(b.grad, [4 / (5 + 1e-6)]);
  assert.ok(Math.abs(optim.clipGradNorm_([a, b], 10) - 1) < 1e-5, 'norm after clipping is maxNorm');
  a.grad = tt.tensor([3, -7]);
  assert.equal(optim.clipGradNorm_([a], 1, Infinity), 7);
  assertClose(a.grad, [3 / (7 + 1e-6), -7 / (7 + 1e-6)]);
  a.grad = tt.tensor([3, -7]);
  assert.equal(optim.clipGradNorm_([a], 100, 1), 10);
  assertClose(a.grad, [3, -7], { what: 'unchanged under the limit' });
  a.grad = tt.tensor([Number.NaN, 1]);
  assert.throws(() => optim.clipGradNorm_([a], 1, 2, true), /non-finite/);
  a.grad = tt.tensor([3, -7]);
  optim.clipGradValue_([a], 2);
  assert.deepEqual(Array.from(a.grad.dataView()), [2, -2]);
});

type Sched = { step(metric?: number): void; getLastLr(): number[] };
type MakeSched = (params: tt.Tensor[]) => [tt.optim.Optimizer<tt.optim.BaseOptions>, Sched];

function sgdGroups(params: tt.Tensor[], extra: Partial<tt.optim.SGDOptions> = {}) {
  return new optim.SGD(
    params.map((p) => ({ params: [p] })),
    { lr: 0.1, ...extra },
  );
}

function withSched(
  mk: (o: tt.optim.Optimizer<tt.optim.BaseOptions>) => Sched,
  extra: Partial<tt.optim.SGDOptions> = {},
): MakeSched {
  return (params) => {
    const o = sgdGroups(params, extra);
    return [o, mk(o)];
  };
}

const schedCases: [string, MakeSched, number, ('momentum' | 'beta1')?][] = [
  ['step_lr', withSched((o) => new optim.StepLR(o, 7, 0.5)), 1],
  ['multistep_lr', withSched((o) => new optim.MultiStepLR(o, [5, 12, 12, 20], 0.3)), 1],
  ['exponential_lr', withSched((o) => new optim.ExponentialLR(o, 0.9)), 1],
  ['cosine_annealing_lr', withSched((o) => new optim.CosineAnnealingLR(o, 10, 0.001)), 1],
  ['linear_lr', withSched((o) => new optim.LinearLR(o, { startFactor: 0.1, totalIters: 8 })), 1],
  [
    'one_cycle_sgd',
    withSched((o) => new optim.OneCycleLR(o, 1.0, { totalSteps: 30 }), { momentum: 0.9 }),
    1,
    'momentum',
  ],
  [
    'one_cycle_adam_three_phase_linear',
    (params) => {
      const o = new optim.Adam(
        params.map((p) => ({ params: [p] })),
        { lr: 0.1 },
      );
      return [
        o,
        new optim.OneCycleLR(o, [0.5, 0.2], {
          epochs: 3,
          stepsPerEpoch: 10,
          pctStart: 0.25,
          annealStrategy: 'linear',
          threePhase: true,
          divFactor: 10,
          finalDivFactor: 100,
        }),
      ];
    },
    2,
    'beta1',
  ],
  [
    'sequential_linear_cosine',
    withSched(
      (o) =>
        new optim.SequentialLR(
          o,
          [new optim.LinearLR(o, { startFactor: 0.1, totalIters: 5 }), new optim.CosineAnnealingLR(o, 20)],
          [5],
        ),
    ),
    1,
  ],
  [
    'plateau_min_rel_cooldown',
    withSched(
      (o) =>
        new optim.ReduceLROnPlateau(o, {
          mode: 'min',
          factor: 0.5,
          patience: 2,
          threshold: 0.01,
          cooldown: 1,
          minLr: 0.01,
        }),
    ),
    1,
  ],
  [
    'plateau_max_abs',
    withSched(
      (o) =>
        new optim.ReduceLROnPlateau(o, {
          mode: 'max',
          factor: 0.3,
          patience: 1,
          threshold: 0.05,
          thresholdMode: 'abs',
        }),
    ),
    1,
  ],
];

for (const [name, make, groups, momentum] of schedCases) {
  test(`lr schedule vs PyTorch: ${name}`, () => {
    const c = fx.get(name)!;
    const metrics = c.params.metrics as number[] | undefined;
    const params = Array.from({ length: groups }, () => new nn.Parameter(tt.zeros([1])));
    const [opt, sched] = make(params);
    const lrs: number[] = opt.paramGroups.map((g) => g.lr);
    const moms: number[] = [];
    const recordMomentum = () => {
      if (momentum === 'momentum') moms.push(...opt.paramGroups.map((g) => g.momentum as number));
      if (momentum === 'beta1') moms.push(...opt.paramGroups.map((g) => (g.betas as number[])[0]));
    };
    recordMomentum();
    for (let i = 0; i < 30; i++) {
      opt.step();
      sched.step(metrics?.[i]);
      assert.deepEqual(
        sched.getLastLr(),
        opt.paramGroups.map((g) => g.lr),
      );
      lrs.push(...opt.paramGroups.map((g) => g.lr));
      recordMomentum();
    }
    const expected = c.output.data;
    assert.equal(lrs.length, expected.length);
    lrs.forEach((v, i) =>
      assert.ok(
        Math.abs(v - expected[i]) <= 1e-12 + 1e-9 * Math.abs(expected[i]),
        `${name}: lr at ${i} is ${v}, PyTorch ${expected[i]}`,
      ),
    );
    if (momentum) assertClose(tt.tensor(moms), c.extra[0].data, { atol: 1e-7, rtol: 1e-6, what: `${name} momentum` });
  });
}

test('scheduler stateDict round trip continues the same schedule; errors', () => {
  const p = new nn.Parameter(tt.zeros([1]));
  const o1 = new optim.SGD([p], { lr: 0.1 });
  const s1 = new optim.CosineAnnealingLR(o1, 10, 0.001);
  for (let i = 0; i < 4; i++) s1.step();
  const saved = JSON.parse(JSON.stringify(s1.stateDict()));
  const o2 = new optim.SGD([p], { lr: 0.1 });
  const s2 = new optim.CosineAnnealingLR(o2, 10, 0.001);
  s2.loadStateDict(saved);
  o2.paramGroups[0].lr = o1.paramGroups[0].lr;
  for (let i = 0; i < 5; i++) {
    s1.step();
    s2.step();
  }
  assert.deepEqual(s2.getLastLr(), s1.getLastLr());
  const pl = new optim.ReduceLROnPlateau(o1, { patience: 0 });
  pl.step(1);
  const sd = pl.stateDict();
  assert.equal(sd.best, 1);
  assert.throws(() => new optim.OneCycleLR(o1, 1), /either totalSteps or both epochs and stepsPerEpoch/);
  const oc = new optim.OneCycleLR(new optim.SGD([p], { lr: 0.1, momentum: 0.9 }), 1, { totalSteps: 2 });
  oc.step();
  oc.step();
  assert.throws(() => oc.step(), /tried to step 3 times; the specified number of total steps is 2/);
  class PlainGD extends optim.Optimizer {
    protected update(): void {}
  }
  assert.throws(() => new optim.OneCycleLR(new PlainGD([p], { lr: 0.1 }), 1, { totalSteps: 5 }), /momentum or betas/);
  assert.doesNotThrow(
    () => new optim.OneCycleLR(new PlainGD([p], { lr: 0.1 }), 1, { totalSteps: 5, cycleMomentum: false }),
  );
  assert.throws(
    () => new optim.SequentialLR(o1, [new optim.StepLR(o1, 2)], [3]),
    /one milestone fewer than schedulers/,
  );
});

test('SAM trains a module end to end and a scheduler on SAM drives the base optimizer', () => {
  const g = new tt.Generator(4);
  const model = new nn.Sequential(
    new nn.Linear(3, 8, { generator: g }),
    new nn.Tanh(),
    new nn.Linear(8, 1, { generator: g }),
  );
  const x = tt.randn([32, 3], { generator: g });
  const y = x.sum(1, true).sin();
  const lossFn = () => model.forward(x).sub(y).square().mean();
  const sam = new optim.SAM(model.parameters(), optim.SGD, { lr: 0.2, momentum: 0.9, rho: 0.05 });
  const sched = new optim.StepLR(sam, 10, 0.5);
  const first = lossFn().item();
  for (let i = 0; i < 30; i++) {
    sam.zeroGrad();
    lossFn().backward();
    sam.step(() => {
      const l = lossFn();
      l.backward();
      return l;
    });
    sched.step();
  }
  assert.ok(lossFn().item() < 0.5 * first, `loss ${lossFn().item()} vs initial ${first}`);
  assert.equal(sam.baseOptimizer.paramGroups[0].lr, 0.2 * 0.5 ** 3);
});
