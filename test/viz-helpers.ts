/**
 * Small models for the viz tests, built from F ops so they depend only on the core (a conv layer here is a
 * Module with a 4-d `weight`, which is all the viz tools look for).
 */
import * as tt from '../src/index.ts';

const { nn, F } = tt;

export class TestConv extends nn.Module {
  declare weight: tt.nn.Parameter;
  declare bias: tt.nn.Parameter;
  constructor(
    cin: number,
    cout: number,
    readonly k = 3,
    gen?: tt.Generator,
  ) {
    super();
    const bound = 1 / Math.sqrt(cin * k * k);
    this.registerParameter(
      'weight',
      new nn.Parameter(
        tt
          .rand([cout, cin, k, k], { generator: gen })
          .mul(2 * bound)
          .sub(bound),
      ),
    );
    this.registerParameter('bias', new nn.Parameter(tt.zeros([cout])));
  }
  forward(x: tt.Tensor): tt.Tensor {
    return F.conv2d(x, this.weight, this.bias, { padding: Math.floor(this.k / 2) });
  }
}

export class TestPool extends nn.Module {
  forward(x: tt.Tensor): tt.Tensor {
    return F.maxPool2d(x, 2);
  }
}

export class TestGap extends nn.Module {
  forward(x: tt.Tensor): tt.Tensor {
    return x.mean([2, 3]);
  }
}

/** conv(1→c1) relu pool conv(c1→c2) relu GAP linear: 28×28 → K. Names: 0 … 7 like an nn.Sequential. */
export function tinyCnn(
  opts: { inChannels?: number; c1?: number; c2?: number; classes?: number; seed?: number } = {},
): tt.nn.Sequential {
  const gen = new tt.Generator(opts.seed ?? 0);
  const c1 = opts.c1 ?? 8,
    c2 = opts.c2 ?? 16;
  const lin = new nn.Linear(c2, opts.classes ?? 10, { generator: gen });
  return new nn.Sequential(
    new TestConv(opts.inChannels ?? 1, c1, 3, gen),
    new nn.ReLU(),
    new TestPool(),
    new TestConv(c1, c2, 3, gen),
    new nn.ReLU(),
    new TestPool(),
    new TestGap(),
    lin,
  );
}

/** Fashion-MNIST embedded subset as float [N, 1, 28, 28] in [0, 1] and int32 labels. */
export function fashion(train: boolean, n: number, classes?: readonly number[]): { x: tt.Tensor; y: tt.Tensor } {
  const ds = new tt.data.FashionMNIST({ subset: 'embedded', train });
  const img = ds.data.dataView(),
    lab = ds.targets.dataView();
  const idx: number[] = [];
  for (let i = 0; i < lab.length && idx.length < n; i++) if (!classes || classes.includes(lab[i])) idx.push(i);
  const x = new Float32Array(idx.length * 784);
  idx.forEach((i, k) => {
    for (let p = 0; p < 784; p++) x[k * 784 + p] = img[i * 784 + p] / 255;
  });
  return {
    x: tt.tensor(x, [idx.length, 1, 28, 28]),
    y: tt.tensor(Int32Array.from(idx.map((i) => lab[i])), [idx.length]),
  };
}

/** Trains `model` with Adam on (x, y) for `steps` minibatches; returns the last losses. */
export function trainClassifier(
  model: tt.nn.Module,
  x: tt.Tensor,
  y: tt.Tensor,
  steps: number,
  opts: { batch?: number; lr?: number; seed?: number } = {},
): number[] {
  const opt = new tt.optim.Adam(model.parameters(), { lr: opts.lr ?? 3e-3 });
  const gen = new tt.Generator(opts.seed ?? 1);
  const N = x.shape[0],
    B = opts.batch ?? 32;
  const losses: number[] = [];
  model.train();
  for (let s = 0; s < steps; s++) {
    const idx = tt.randint(0, N, [B], { generator: gen }).to('int32');
    const xb = x.indexSelect(0, idx),
      yb = y.indexSelect(0, idx);
    const loss = F.crossEntropy(model.forward(xb) as tt.Tensor, yb);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  model.eval();
  return losses;
}
