/**
 * The fusion pass (`tt.nn.fuse`, src/nn/fusion.ts and src/models/fusion-rules.ts; docs/fusion.md): fused models
 * compute what the plain models compute, keep their module tree, names and state dicts, and let hooks, feature
 * extractors and IntermediateLayerGetter observe exactly what they observe unfused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { convGeometryOf } from '../src/backend/conv-plan.ts';
import { perturbBatchNorms } from './helpers.ts';

/** A ResNet with trained-looking BN statistics and affines, so folding them is not a no-op. */
function perturbedResnet(build: () => tt.models.ResNet, seed: number): tt.models.ResNet {
  tt.manualSeed(seed);
  const m = build();
  tt.noGrad(() => {
    for (const mod of m.modules()) {
      if (mod instanceof tt.nn.BatchNorm2d) {
        tt.nn.init.uniform_(mod.weight!, 0.5, 1.5);
        tt.nn.init.uniform_(mod.bias!, -0.3, 0.3);
        tt.nn.init.uniform_(mod.runningMean!, -0.2, 0.2);
        tt.nn.init.uniform_(mod.runningVar!, 0.5, 2);
      }
    }
  });
  return m;
}

/** Bitwise equality of two tensors' values, without going through JavaScript arrays (ResNet gradients are large). */
function assertSame(a: tt.Tensor, b: tt.Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, what);
  const x = a.contiguous().dataView(),
    y = b.contiguous().dataView();
  assert.ok(
    Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)),
    `${what} differs`,
  );
}

function maxAbsDiff(a: tt.Tensor, b: tt.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return a.sub(b).abs().max().item();
}

function assertClose(a: tt.Tensor, b: tt.Tensor, what: string): void {
  const scale = Math.max(1, b.abs().max().item());
  const err = maxAbsDiff(a, b);
  assert.ok(err <= 1e-5 * scale, `${what}: fused differs from unfused by ${err} (scale ${scale})`);
}

test('fuse leaves the module tree, parameter names, state dict and repr unchanged; unfuse restores', () => {
  const m = perturbedResnet(() => tt.models.resnet18({ numClasses: 10 }), 1);
  const names = m.namedModules().map(([n, mod]) => [n, mod] as const);
  const state = m.stateDict();
  const repr = m.toString();
  const params = m.namedParameters();
  assert.equal(tt.nn.fuse(m), m, 'fuses in place and returns the model');
  assert.deepEqual(
    m.namedModules().map(([n, mod]) => [n, mod] as const),
    names,
  );
  const after = m.stateDict();
  assert.deepEqual(Object.keys(after), Object.keys(state));
  for (const k of Object.keys(state)) assert.equal(after[k].storage, state[k].storage, `${k} is the same storage`);
  assert.deepEqual(m.namedParameters(), params);
  assert.equal(m.toString(), repr);
  assert.ok(
    tt.nn.isFused(m) && tt.nn.isFused(m.layer1 as tt.nn.Module) && tt.nn.isFused((m.layer1 as tt.nn.Sequential).at(0)),
  );
  assert.ok(!tt.nn.isFused(m.conv1 as tt.nn.Module), 'a leaf layer has no rule');
  assert.ok(
    (m.conv1 as tt.nn.Module).isPlainForward() && m.isPlainForward(),
    'fusing is not a hook or a replaced forward',
  );
  tt.nn.fuse(m); // idempotent
  tt.nn.unfuse(m);
  assert.ok(m.modules().every((mod) => !tt.nn.isFused(mod)));
  tt.nn.resetFusionCounts();
  tt.noGrad(() => m.eval().forward(tt.randn([1, 3, 32, 32])));
  assert.deepEqual(
    Object.values(tt.nn.fusionCounts()).filter((v) => v !== 0),
    [],
    'unfused models run no fused kernel',
  );
});

test('fused ResNet-18 in inference equals the unfused model, and reaches every fusion', () => {
  const m = perturbedResnet(() => tt.models.resnet18({ numClasses: 10 }), 2).eval();
  const x = tt.randn([2, 3, 48, 48]);
  const plain = tt.noGrad(() => m.forward(x));
  tt.nn.fuse(m);
  tt.nn.resetFusionCounts();
  const fused = tt.noGrad(() => m.forward(x));
  assertClose(fused, plain, 'resnet18 logits');
  // on a backend with channels-last kernels the whole trunk runs channels-last (test/fusion-nhwc.test.ts), the same
  // folds counted as well as its 20 convolutions; a hook on the pooling keeps the trunk NCHW, each block fused alone
  const channelsLast = tt.backend().maxPool2dNhwc !== undefined;
  const counts = tt.nn.fusionCounts();
  assert.equal(counts.convBnNhwc, channelsLast ? 20 : 0);
  // and with the whole trunk in one call (nhwcProgram), the fc inside it
  assert.equal(counts.classifierHead, tt.backend().nhwcProgram !== undefined ? 1 : 0);
  const hook = m.avgpool.registerForwardHook(() => undefined);
  tt.nn.resetFusionCounts();
  assertClose(
    tt.noGrad(() => m.forward(x)),
    plain,
    'resnet18 logits, NCHW',
  );
  hook.remove();
  assert.deepEqual({ ...counts, convBnNhwc: 0, classifierHead: 0 }, tt.nn.fusionCounts());
  // stem + 8 blocks' first conv; 3 downsample Sequentials [conv, bn]; 8 blocks' second conv with the residual add
  assert.deepEqual(tt.nn.fusionCounts(), {
    convBn: 3,
    convBnRelu: 9,
    convBnRelu6: 0,
    convBnHardswish: 0,
    convRelu: 0,
    convReluMaxPool: 0,
    convBnAddRelu: 8,
    squeezeExcitationGate: 0,
    convBnNhwc: 0,
    invertedResidualNhwc: 0,
    bnRelu: 0,
    classifierHead: 0,
  });
  // with gradients on nothing folds (BN folding is inference-only), and the result is bitwise the plain one
  const withGrad = m.forward(x);
  assert.deepEqual(withGrad.tolist(), m.forward(x).tolist());
  tt.nn.unfuse(m);
  assert.deepEqual(withGrad.tolist(), m.forward(x).tolist());
});

test('BatchNorm2d → ReLU in training: one pass, bitwise the unfused loss, gradients and running statistics', () => {
  const build = () => {
    tt.manualSeed(5);
    return tt.models.segmentation.unet({ numClasses: 3, baseChannels: 8, depth: 2 }).train();
  };
  const x = tt.randn([2, 3, 32, 32], { generator: new tt.Generator(1) });
  const y = tt.randint(0, 3, [2, 32, 32], { generator: new tt.Generator(2) });
  const step = (m: { forward(x: tt.Tensor): unknown }) => {
    const loss = tt.F.crossEntropy((m.forward(x) as { out: tt.Tensor }).out, y);
    loss.backward();
    return loss.item();
  };
  const plain = build();
  const fused = tt.nn.fuse(build());
  const lossPlain = step(plain);
  tt.nn.resetFusionCounts();
  const lossFused = step(fused);
  assert.equal(lossFused, lossPlain);
  // a depth-2 U-Net: 5 DoubleConvs (3 down, 2 up) × 2 BN → ReLU pairs
  assert.equal(tt.nn.fusionCounts().bnRelu, 10);
  const a = plain.stateDict(),
    b = fused.stateDict();
  for (const k of Object.keys(a)) assert.deepEqual(b[k].tolist(), a[k].tolist(), `${k} (running statistics)`);
  const ga = plain.namedParameters(),
    gb = new Map(fused.namedParameters());
  for (const [k, p] of ga) assert.deepEqual(gb.get(k)!.grad!.tolist(), p.grad!.tolist(), `${k}.grad`);
  // a hook on the ReLU keeps that pair unfused
  const relu = [...fused.modules()].find((m) => m instanceof tt.nn.ReLU)!;
  const seen: number[] = [];
  relu.registerForwardHook((_m, _i, o) => void seen.push((o as tt.Tensor).numel()));
  tt.nn.resetFusionCounts();
  step(fused);
  assert.equal(tt.nn.fusionCounts().bnRelu, 9);
  assert.equal(seen.length, 1);
});

test('fused Bottleneck ResNet (ResNeXt widths) in inference equals the unfused model', () => {
  const m = perturbedResnet(() => tt.models.resnet50({ numClasses: 7, groups: 2, widthPerGroup: 8 }), 3).eval();
  const x = tt.randn([1, 3, 32, 32]);
  const plain = tt.noGrad(() => m.forward(x));
  tt.nn.fuse(m);
  tt.nn.resetFusionCounts();
  assertClose(
    tt.noGrad(() => m.forward(x)),
    plain,
    'bottleneck logits',
  );
  // 16 blocks: two conv-bn-relu each (+ stem), 4 downsamples, conv3-bn with the residual add each
  assert.deepEqual(tt.nn.fusionCounts(), {
    convBn: 4,
    convBnRelu: 33,
    convBnRelu6: 0,
    convBnHardswish: 0,
    convRelu: 0,
    convReluMaxPool: 0,
    convBnAddRelu: 16,
    squeezeExcitationGate: 0,
    convBnNhwc: 0,
    invertedResidualNhwc: 0,
    bnRelu: 0,
    classifierHead: 0,
  });
});

test('training through a fused ResNet-18: bitwise the same outputs, gradients and running statistics', () => {
  const a = perturbedResnet(() => tt.models.resnet18({ numClasses: 10 }), 4).train();
  const b = perturbedResnet(() => tt.models.resnet18({ numClasses: 10 }), 4).train();
  tt.nn.fuse(b);
  const x = tt.randn([2, 3, 32, 32]);
  const y = tt.tensor([3, 7], { dtype: 'int32' });
  const la = tt.F.crossEntropy(a.forward(x), y),
    lb = tt.F.crossEntropy(b.forward(x), y);
  assert.equal(lb.item(), la.item());
  la.backward();
  lb.backward();
  const pa = a.namedParameters(),
    pb = new Map(b.namedParameters());
  for (const [name, p] of pa) assertSame(pb.get(name)!.grad!, p.grad!, name);
  const sa = a.stateDict(),
    sb = b.stateDict();
  for (const k of ['bn1.running_mean', 'layer4.1.bn2.running_var', 'layer2.0.downsample.1.running_mean']) {
    assertSame(sb[k], sa[k], k);
  }
});

test('a module with hooks is not fused away, and its hooks see what they see unfused', () => {
  const m = perturbedResnet(() => tt.models.resnet18({ numClasses: 10 }), 5).eval();
  const x = tt.randn([1, 3, 40, 40]);
  const block = (m.layer2 as tt.nn.Sequential).at(1) as tt.models.BasicBlock;
  const seen: { calls: number; out: tt.Tensor | null; inp: tt.Tensor | null } = { calls: 0, out: null, inp: null };
  const handle = block.bn1.registerForwardHook((_mod, inputs, out) => {
    seen.calls++;
    seen.inp = inputs[0] as tt.Tensor;
    seen.out = out as tt.Tensor;
  });
  const plain = tt.noGrad(() => m.forward(x));
  const plainSeen = { ...seen };
  seen.calls = 0;
  tt.nn.fuse(m);
  tt.nn.resetFusionCounts();
  const fused = tt.noGrad(() => m.forward(x));
  assert.equal(seen.calls, 1, 'the hook runs once, as unfused');
  assertClose(seen.inp!, plainSeen.inp!, 'the BN input the hook saw (the conv output, not a folded result)');
  assertClose(seen.out!, plainSeen.out!, 'the BN output the hook saw (before the ReLU)');
  assert.ok(seen.out!.min().item() < 0, 'the hook saw the pre-activation');
  assertClose(fused, plain, 'logits');
  // exactly that block's conv1 → bn1 → relu ran unfused; everything else still folded
  assert.deepEqual(tt.nn.fusionCounts(), {
    convBn: 3,
    convBnRelu: 8,
    convBnRelu6: 0,
    convBnHardswish: 0,
    convRelu: 0,
    convReluMaxPool: 0,
    convBnAddRelu: 8,
    squeezeExcitationGate: 0,
    convBnNhwc: 0,
    invertedResidualNhwc: 0,
    bnRelu: 0,
    classifierHead: 0,
  });
  handle.remove();
  tt.nn.resetFusionCounts();
  tt.noGrad(() => m.forward(x));
  assert.equal(tt.nn.fusionCounts().convBnRelu, 9, 'fuses again once the hook is removed');
  // a hook on a residual ReLU keeps the fused add + ReLU (and the folds that feed the ReLU) from running; the tail's
  // conv → bn still folds
  let reluCalls = 0;
  const h2 = block.relu.registerForwardHook(() => {
    reluCalls++;
  });
  tt.nn.resetFusionCounts();
  assertClose(
    tt.noGrad(() => m.forward(x)),
    plain,
    'logits with a ReLU hook',
  );
  assert.equal(reluCalls, 2, 'the block calls its ReLU twice, as unfused');
  assert.equal(tt.nn.fusionCounts().convBnAddRelu, 7);
  assert.equal(tt.nn.fusionCounts().convBn, 4);
  h2.remove();
});

test('a fused model inside a feature extractor returns the unfused feature maps', () => {
  const m = perturbedResnet(() => tt.models.resnet18({ numClasses: 10 }), 6).eval();
  const x = tt.randn([1, 3, 40, 40]);
  const nodes = { 'layer1.0.relu_1': 'a', 'layer2.1.bn2': 'b', relu: 'stem' };
  const plain = tt.noGrad(() => tt.models.createFeatureExtractor(m, { returnNodes: nodes }).forward(x));
  tt.nn.fuse(m);
  const fused = tt.noGrad(() => tt.models.createFeatureExtractor(m, { returnNodes: nodes }).forward(x));
  assert.deepEqual(Object.keys(fused), ['a', 'b', 'stem']);
  for (const k of Object.keys(plain)) assertClose(fused[k], plain[k], k);
  assert.ok(fused.b.min().item() < 0, 'layer2.1.bn2 is reported before the residual ReLU');
  // in training mode nothing is folded: bitwise equal
  m.train();
  const trainPlain = tt.models.createFeatureExtractor(tt.nn.unfuse(m), { returnNodes: nodes }).forward(x);
  const trainFused = tt.models.createFeatureExtractor(tt.nn.fuse(m), { returnNodes: nodes }).forward(x);
  for (const k of Object.keys(trainPlain)) assert.deepEqual(trainFused[k].tolist(), trainPlain[k].tolist(), k);
});

test('IntermediateLayerGetter: fused, a requested layer is never folded away', () => {
  const m = perturbedResnet(() => tt.models.resnet18({ numClasses: 10 }), 7).eval();
  const x = tt.randn([1, 3, 40, 40]);
  const specs: Record<string, string>[] = [
    { relu: 'stem', layer1: 'l1' },
    { bn1: 'bn', layer2: 'l2' },
    { conv1: 'c', layer1: 'l1' },
  ];
  for (const spec of specs) {
    const getter = new tt.models.IntermediateLayerGetter(m, spec);
    const plain = tt.noGrad(() => getter.forward(x));
    tt.nn.fuse(getter);
    tt.nn.resetFusionCounts();
    const fused = tt.noGrad(() => getter.forward(x));
    tt.nn.unfuse(getter);
    assert.deepEqual(Object.keys(fused), Object.keys(plain));
    for (const k of Object.keys(plain)) assertClose(fused[k], plain[k], `${JSON.stringify(spec)} ${k}`);
    const stem = tt.nn.fusionCounts();
    if ('bn1' in spec) {
      assert.ok(fused.bn.min().item() < 0, 'bn1 is reported before the ReLU');
      assert.equal(stem.convBnRelu, 4, 'the stem folds conv1 → bn1 only (its ReLU output is not bn1)');
    } else if ('conv1' in spec) {
      assert.equal(stem.convBnRelu, 2, 'the stem does not fold: conv1 is requested');
      assertClose(
        fused.c,
        tt.noGrad(() => (m.conv1 as tt.nn.Conv2d).forward(x)),
        'conv1',
      );
    } else {
      assert.equal(stem.convBnRelu, 3, "the stem and layer1's blocks fold");
    }
  }
});

test('rules apply to subclasses only when they do not override forward', () => {
  const se = tt.nn.fuse(tt.models.se_resnet18({ numClasses: 4 }));
  const block = (se.layer1 as tt.nn.Sequential).at(0);
  assert.ok(block instanceof tt.models.BasicBlock && !tt.nn.isFused(block), 'SEBasicBlock overrides forward');
  assert.ok(tt.nn.isFused(se.layer1 as tt.nn.Module));
  class Named extends tt.nn.Sequential {}
  class Custom extends tt.nn.Sequential {
    override forward(x: tt.Tensor): tt.Tensor {
      return super.forward(x).mul(2);
    }
  }
  const conv = new tt.nn.Conv2d(1, 2, 3);
  assert.ok(tt.nn.isFused(tt.nn.fuse(new Named(conv, new tt.nn.ReLU()))));
  const custom = tt.nn.fuse(new Custom(conv, new tt.nn.ReLU()));
  assert.ok(!tt.nn.isFused(custom));
  const x = tt.randn([1, 1, 5, 5]);
  assert.deepEqual(custom.forward(x).tolist(), tt.F.relu(conv.forward(x)).mul(2).tolist());
});

test('fit and evaluate fuse while they run (opt out with fuse: false) and leave the model as they found it', async () => {
  tt.manualSeed(8);
  const net = tt.models.smallCnn({ numClasses: 3 });
  const x = tt.randn([8, 1, 28, 28]);
  const y = tt.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'int32' });
  const loader = new tt.data.DataLoader(new tt.data.TensorDataset(x, y), { batchSize: 4 });
  const during: boolean[] = [];
  const run = (fuse?: boolean) =>
    tt.train.fit(net, loader, {
      epochs: 1,
      optimizer: new tt.optim.SGD(net.parameters(), { lr: 0.01 }),
      progress: false,
      fuse,
      callbacks: [{ onBatchEnd: () => during.push(tt.nn.isFused(net)) }],
    });
  tt.nn.resetFusionCounts();
  await run();
  assert.deepEqual(during, [true, true]);
  assert.equal(tt.nn.fusionCounts().convReluMaxPool, 4, 'two conv → relu → pool blocks, two batches');
  assert.ok(!tt.nn.isFused(net), 'unfused again after fit');
  during.length = 0;
  tt.nn.resetFusionCounts();
  await run(false);
  assert.deepEqual(during, [false, false]);
  assert.equal(tt.nn.fusionCounts().convReluMaxPool, 0);
  // a model the user fused stays fused
  tt.nn.fuse(net);
  await tt.train.evaluate(net, loader, { fuse: false });
  assert.ok(tt.nn.isFused(net));
  await run();
  assert.ok(tt.nn.isFused(net));
});

test('fused MobileNetV2 and V3 in inference equal the unfused models: BN, ReLU6 and hardswish fold', () => {
  const cases = [
    // 17 blocks: expansion (16) and depthwise (17) conv-bn-relu6, projection conv-bn (17); stem and last conv
    { name: 'mobilenet_v2', expect: { convBn: 17, convBnRelu: 0, convBnRelu6: 35, convBnHardswish: 0 } },
    // 15 blocks, projections conv-bn; ReLU in blocks 0–5 (block 0 has no expansion: 1 + 5·2 = 11), hardswish in
    // blocks 6–14 (9·2) and the stem and last conv (20)
    { name: 'mobilenet_v3_large', expect: { convBn: 15, convBnRelu: 11, convBnRelu6: 0, convBnHardswish: 20 } },
  ];
  for (const { name, expect } of cases) {
    tt.manualSeed(5);
    const m = perturbBatchNorms(tt.models.getModel(name, { numClasses: 10 }), 6).eval();
    const x = tt.randn([2, 3, 64, 64]).mul(2);
    const plain = tt.noGrad(() => m.forward(x));
    tt.nn.fuse(m);
    tt.nn.resetFusionCounts();
    const fused = tt.noGrad(() => m.forward(x));
    assertClose(fused, plain, `${name} logits`);
    const counts = tt.nn.fusionCounts();
    assert.deepEqual(
      {
        convBn: counts.convBn,
        convBnRelu: counts.convBnRelu,
        convBnRelu6: counts.convBnRelu6,
        convBnHardswish: counts.convBnHardswish,
      },
      expect,
      name,
    );
    tt.nn.unfuse(m);
  }
});

test('conv → BN → ReLU6 / Hardswish fold only when the activation is exactly that class and unhooked', () => {
  tt.manualSeed(7);
  const build = (act: tt.nn.Module) =>
    perturbBatchNorms(
      new tt.nn.Sequential(new tt.nn.Conv2d(3, 8, 3, { padding: 1 }), new tt.nn.BatchNorm2d(8), act),
      8,
    ).eval();
  const x = tt.randn([2, 3, 9, 9]).mul(4);
  for (const act of [new tt.nn.ReLU6(), new tt.nn.Hardswish()]) {
    const m = build(act);
    const plain = tt.noGrad(() => m.forward(x));
    tt.nn.fuse(m);
    tt.nn.resetFusionCounts();
    assertClose(
      tt.noGrad(() => m.forward(x)),
      plain,
      act.constructor.name,
    );
    const c = tt.nn.fusionCounts();
    assert.equal(c.convBnRelu6 + c.convBnHardswish, 1, `${act.constructor.name} folds`);
    // a hook on the activation keeps it out of the fold: conv → BN folds, the activation runs on its own
    let calls = 0;
    const h = act.registerForwardHook(() => void calls++);
    tt.nn.resetFusionCounts();
    assertClose(
      tt.noGrad(() => m.forward(x)),
      plain,
      `${act.constructor.name} hooked`,
    );
    assert.equal(calls, 1);
    assert.equal(tt.nn.fusionCounts().convBn, 1);
    h.remove();
  }
});

test('conv2dScaleShift with a residual: relu(scale·conv + shift + residual) in one kernel; bad residuals refused', async () => {
  const { conv2dScaleShift } = await import('../src/ops/conv.ts');
  const g = new tt.Generator(11);
  const x = tt.randn([2, 16, 9, 9], { generator: g }),
    scale = tt.rand([24], { generator: g }),
    shift = tt.randn([24], { generator: g });
  for (const k of [1, 3]) {
    const w = tt.randn([24, 16, k, k], { generator: g }).mul(0.2);
    const identity = tt.randn([2, 24, 9, 9], { generator: g });
    tt.noGrad(() => {
      const opts = { padding: (k - 1) / 2 };
      const want = tt.F.relu(conv2dScaleShift(x, w, scale, shift, opts).add(identity));
      // the reference and the default backend (the kernel tests cover every build)
      for (const [name, b] of [
        ['reference', 'reference'],
        [tt.getBackendName(), tt.backend()],
      ] as const) {
        const got = tt.withBackend(b, () =>
          conv2dScaleShift(x, w, scale, shift, { ...opts, activation: 'relu', residual: identity }),
        );
        assertClose(got, want, `${name} ${k}×${k}`);
        assert.ok(want.min().item() === 0 && identity.min().item() < 0, 'the ReLU comes after the residual');
      }
      assert.throws(
        () => conv2dScaleShift(x, w, scale, shift, { ...opts, residual: tt.zeros([2, 24, 9, 8]) }),
        /conv2dScaleShift: residual must have the output's shape \[2, 24, 9, 9\], got \[2, 24, 9, 8\]/,
      );
      assert.throws(
        () =>
          conv2dScaleShift(x, w, scale, shift, { ...opts, residual: tt.zeros([2, 24, 9, 9], { dtype: 'float64' }) }),
        /conv2dScaleShift: residual is float64 but input is float32/,
      );
    });
  }
  // the kernels read the residual while writing the output: the two may not share memory
  const size = 2 * 24 * 81;
  const buf = new Float32Array(size + 24);
  const out = buf.subarray(0, size);
  const conv2d = tt.backend().conv2d;
  assert.throws(
    () =>
      conv2d.call(
        tt.backend(),
        x.dataView() as Float32Array,
        new Float32Array(24 * 16),
        null,
        out,
        convGeometryOf({ n: 2, c: 16, h: 9, w: 9, oc: 24, kh: 1, kw: 1 }),
        'relu',
        null,
        null,
        buf.subarray(24),
      ),
    /conv2d: the residual must not overlap the output/,
  );
});

test('conv2dScaleShift into `out`: a channel slice of a batch-1 concatenation; bad outs refused', async () => {
  const { conv2dScaleShift } = await import('../src/ops/conv.ts');
  const g = new tt.Generator(12);
  const x = tt.randn([1, 8, 7, 7], { generator: g }),
    w = tt.randn([5, 8, 3, 3], { generator: g }).mul(0.3),
    scale = tt.rand([5], { generator: g }),
    shift = tt.randn([5], { generator: g });
  tt.noGrad(() => {
    const opts = { padding: 1, activation: 'relu' as const };
    const want = conv2dScaleShift(x, w, scale, shift, opts);
    const joined = tt.full([1, 12, 7, 7], 7);
    const slice = joined.narrow(1, 4, 5);
    const got = conv2dScaleShift(x, w, scale, shift, { ...opts, out: slice });
    assert.equal(got, slice, 'returns the out tensor');
    assertSame(joined.narrow(1, 4, 5), want, 'the slice');
    assert.equal(joined.narrow(1, 0, 4).sub(7).abs().max().item(), 0, 'channels before the slice untouched');
    assert.equal(joined.narrow(1, 9, 3).sub(7).abs().max().item(), 0, 'channels after the slice untouched');
    assert.throws(
      () => conv2dScaleShift(x, w, scale, shift, { ...opts, out: tt.zeros([1, 5, 7, 6]) }),
      /conv2dScaleShift: out must be a contiguous float32 tensor of the output's shape \[1, 5, 7, 7\], got float32 \[1, 5, 7, 6\]/,
    );
    assert.throws(
      () =>
        conv2dScaleShift(x, w, scale, shift, { ...opts, out: tt.zeros([2, 5, 7, 7]).narrow(0, 0, 1).transpose(2, 3) }),
      /not contiguous/,
    );
    const big = tt.zeros([1, 13, 7, 7]);
    assert.throws(
      () => conv2dScaleShift(big.narrow(1, 0, 8), w, scale, shift, { ...opts, out: big.narrow(1, 8, 5) }),
      /out shares storage with the input or the residual/,
    );
  });
});

test("fused ASPP: the pooled branch folds into the projection's shift, branches write into the concatenation", () => {
  tt.manualSeed(21);
  const { ASPP } = tt.models.segmentation;
  const aspp = perturbBatchNorms(new ASPP(32, [2, 5, 9], 16), 3).eval() as InstanceType<typeof ASPP>;
  for (const n of [1, 3]) {
    const x = tt.randn([n, 32, 11, 13]);
    const plain = tt.noGrad(() => aspp.forward(x));
    tt.nn.fuse(aspp);
    tt.nn.resetFusionCounts();
    const fused = tt.noGrad(() => aspp.forward(x));
    const counts = tt.nn.fusionCounts();
    // 4 branch convs + the pooled branch's conv + the projection, all folded
    assert.equal(counts.convBnRelu, 6, `batch ${n}: folded convolutions`);
    assertClose(fused, plain, `batch ${n}: fused ASPP`);
    assertSame(
      tt.noGrad(() => aspp.forward(x)),
      fused,
      `batch ${n}: a second call`,
    );
    // the sliced projection weight follows a change of the weight
    const proj = aspp.project.children()[0] as tt.nn.Conv2d;
    tt.noGrad(() => proj.weight.mul_(-1.5));
    const changed = tt.noGrad(() => aspp.forward(x));
    tt.nn.unfuse(aspp);
    const changedPlain = tt.noGrad(() => aspp.forward(x));
    assert.ok(maxAbsDiff(changedPlain, plain) > 1e-2, 'the change changed the output');
    assertClose(changed, changedPlain, `batch ${n}: after the projection weight changed`);
    tt.noGrad(() => proj.weight.div_(-1.5));
  }
});
