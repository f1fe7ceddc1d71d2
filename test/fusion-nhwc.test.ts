/**
 * The MobileNets' channels-last program under `nn.fuse` in inference (models/fusion-nhwc.ts): every pointwise and
 * depthwise convolution of the blocks on the backend's NHWC kernels, the pooled map straight to the classifier.
 * It must compute what the modules compute (within float32 rounding: the sums run in another order), on every
 * backend that has the kernels, and step aside — running the NCHW fused forward — wherever it cannot honour the
 * modules: grad mode, a hook, a backend without channels-last kernels. Packed weights follow weight changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { backendNames } from './helpers.ts';

/** `m` in eval mode with batch-norm statistics away from the identity (so the fold matters). */
function perturbed<M extends tt.nn.Module>(m: M): M {
  tt.noGrad(() => {
    for (const mod of m.modules())
      if (mod instanceof tt.nn.BatchNorm2d) {
        mod.runningMean!.copy_(tt.randn([mod.numFeatures]).mul(0.2));
        mod.runningVar!.copy_(tt.rand([mod.numFeatures]).add(0.5));
        mod.weight!.copy_(tt.rand([mod.numFeatures]).add(0.5));
        mod.bias!.copy_(tt.randn([mod.numFeatures]).mul(0.1));
      }
  });
  return m.eval();
}

function model(name: 'mobilenet_v2' | 'mobilenet_v3_large' | 'mobilenet_v3_small', seed: number) {
  tt.manualSeed(seed);
  return perturbed(tt.models[name]({ numClasses: 10 }));
}

function maxRelDiff(a: tt.Tensor, b: tt.Tensor): number {
  return tt.max(tt.abs(tt.sub(a, b))).item() / Math.max(1e-12, tt.max(tt.abs(b)).item());
}

/** The backends with `nhwcProgram`: at least one where the native addon loads and no backend is forced. */
function programBackends(): string[] {
  const native = backendNames().filter((b) => tt.withBackend(b, () => tt.backend().nhwcProgram !== undefined));
  if (
    process.env.TATAMI_BACKEND === undefined &&
    tt.availableBackends().some((b) => b.name === 'native' && b.available)
  )
    assert.ok(native.length > 0, 'the native builds have nhwcProgram');
  return native;
}

/**
 * fn on each backend with `nhwcProgram` (programBackends), that backend's method wrapped by a spy (spyProgram) for
 * the length of the call and restored after, whatever fn throws.
 */
function forEachProgramBackend(
  fn: (backend: string, be: tt.backendTypes.Backend, spy: ReturnType<typeof spyProgram>) => void,
): void {
  for (const backend of programBackends())
    tt.withBackend(backend, () => {
      const be = tt.backend();
      const spy = spyProgram(be);
      try {
        fn(backend, be, spy);
      } finally {
        spy.restore();
      }
    });
}

/**
 * Wraps `be.nhwcProgram` to count its calls and keep the program it last ran: `off()` removes the method (the steps
 * then run call by call), `on()` puts the wrapper back, `restore()` the backend's own method (`whole`).
 */
function spyProgram(be: tt.backendTypes.Backend) {
  const whole = be.nhwcProgram!;
  const spy = {
    whole,
    calls: 0,
    seen: null as tt.backendTypes.NhwcProgram | null,
    on() {
      be.nhwcProgram = (x, p, out) => {
        spy.calls++;
        spy.seen = p;
        whole.call(be, x, p, out);
      };
    },
    off() {
      be.nhwcProgram = undefined;
    },
    restore() {
      be.nhwcProgram = whole;
    },
  };
  spy.on();
  return spy;
}

/**
 * Runs m on x under `spy` three times: one program call a forward; again, with the same program object; and with the
 * backend's method removed, the same kernels call by call — the same bits. Returns the first run's fusion counts.
 */
function assertOneProgramCall(
  spy: ReturnType<typeof spyProgram>,
  m: tt.nn.Module<[tt.Tensor], tt.Tensor>,
  x: tt.Tensor,
  what: string,
): ReturnType<typeof tt.nn.fusionCounts> {
  spy.calls = 0;
  tt.nn.resetFusionCounts();
  const one = tt.noGrad(() => m.forward(x));
  const counts = tt.nn.fusionCounts();
  assert.equal(spy.calls, 1, `${what}: one program call a forward`);
  const kept = spy.seen;
  tt.noGrad(() => m.forward(x));
  assert.equal(spy.seen, kept, `${what}: the same program object while nothing changed`);
  spy.off();
  const steps = tt.noGrad(() => m.forward(x));
  spy.on();
  assert.deepEqual(one.toTypedArray(), steps.toTypedArray(), `${what}: call by call, the same bits`);
  return counts;
}

/** Convolutions the program runs per forward: all of the features' (the stem too, straight into channels-last). */
const PROGRAM_CONVS = { mobilenet_v2: 52, mobilenet_v3_large: 62, mobilenet_v3_small: 52 };

test('channels-last MobileNets: the modules’ outputs on every backend with the kernels, at batch 1 and 3', () => {
  for (const backend of backendNames()) {
    tt.withBackend(backend, () => {
      const has = tt.backend().conv2dNhwc !== undefined;
      for (const [i, name] of (['mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small'] as const).entries()) {
        const m = model(name, 40 + i);
        for (const n of [1, 3]) {
          const x = tt.randn([n, 3, 64, 72]);
          const plain = tt.noGrad(() => m.forward(x));
          tt.nn.fuse(m);
          tt.nn.resetFusionCounts();
          const fused = tt.noGrad(() => m.forward(x));
          const ran = tt.nn.fusionCounts().convBnNhwc;
          tt.nn.unfuse(m);
          assert.deepEqual(fused.shape, [n, 10]);
          const d = maxRelDiff(fused, plain);
          assert.ok(d < 2e-5, `${backend} ${name} batch ${n}: fused differs from the modules by ${d} (relative)`);
          // V3's SE blocks: their pointwise fc1/fc2 are counted by the gate, not the program
          if (has) assert.ok(ran > 0, `${backend} ${name}: the channels-last program did not run`);
          else assert.equal(ran, 0, `${backend} ${name}: no channels-last kernels, yet the program ran`);
          if (has && name === 'mobilenet_v2') assert.equal(ran, PROGRAM_CONVS[name]);
        }
      }
    });
  }
});

test('channels-last MobileNets: grad mode and hooks run the NCHW path; new weights are packed anew', () => {
  const m = model('mobilenet_v3_small', 7);
  const x = tt.randn([2, 3, 48, 48]);
  tt.nn.fuse(m);
  // grad mode: nothing folds, the modules run (and gradients flow)
  tt.nn.resetFusionCounts();
  const y = m.forward(x);
  assert.equal(tt.nn.fusionCounts().convBnNhwc, 0);
  assert.ok(y.requiresGrad);
  const plainOut = tt.noGrad(() => {
    tt.nn.unfuse(m);
    const o = m.forward(x);
    tt.nn.fuse(m);
    return o;
  });
  // a hook on one block keeps the whole program off (it must see that block's NCHW output)
  let seen: number[] | null = null;
  const handle = m.features.at(3).registerForwardHook((_mod, _in, out) => {
    seen = (out as tt.Tensor).shape;
  });
  tt.nn.resetFusionCounts();
  const hooked = tt.noGrad(() => m.forward(x));
  assert.equal(tt.nn.fusionCounts().convBnNhwc, 0);
  assert.equal(seen!.length, 4);
  assert.equal(seen![1], (m.features.at(3) as unknown as { outChannels: number }).outChannels, 'NCHW, as the module');
  assert.ok(maxRelDiff(hooked, plainOut) < 2e-5);
  handle.remove();
  tt.nn.resetFusionCounts();
  const fused = tt.noGrad(() => m.forward(x));
  assert.ok(tt.nn.fusionCounts().convBnNhwc > 0, 'runs channels-last again once the hook is gone');
  assert.ok(maxRelDiff(fused, plainOut) < 2e-5);
  // new values in place in the last block's depthwise and pointwise weights: the packed copies must follow
  const block = m.features.at(-2) as unknown as { block: tt.nn.Sequential };
  tt.noGrad(() => {
    for (const mod of block.block.modules())
      if (mod instanceof tt.nn.Conv2d) mod.weight.copy_(tt.randn(mod.weight.shape));
  });
  const after = tt.noGrad(() => m.forward(x));
  tt.nn.unfuse(m);
  const expected = tt.noGrad(() => m.forward(x));
  assert.ok(maxRelDiff(after, expected) < 2e-5, 'packed weights follow an in-place change');
  assert.ok(maxRelDiff(after, fused) > 1e-3, 'the change shows');
});

test('channels-last MobileNetV3: squeeze-excitation gates in the block kernel, other activations through the modules', () => {
  // V3's gates (ReLU after fc1, hardsigmoid scale) are computed inside invertedResidualNhwc; a gate whose
  // activations are other modules (here GELU and Sigmoid) stops the block after the depthwise layer and runs the
  // gate's modules — both within float32 rounding of the unfused model
  const m = model('mobilenet_v3_small', 9);
  const x = tt.randn([2, 3, 56, 64]);
  const gates = [...m.modules()].filter((mod) => mod instanceof tt.nn.SqueezeExcitation);
  assert.ok(gates.length > 0);
  for (const variant of ['hardsigmoid', 'modules'] as const) {
    if (variant === 'modules')
      for (const se of gates) {
        se.registerModule('activation', new tt.nn.GELU());
        se.registerModule('scale_activation', new tt.nn.Sigmoid());
      }
    const plain = tt.noGrad(() => m.forward(x));
    tt.nn.fuse(m);
    tt.nn.resetFusionCounts();
    const fused = tt.noGrad(() => m.forward(x));
    const counts = tt.nn.fusionCounts();
    tt.nn.unfuse(m);
    assert.equal(counts.squeezeExcitationGate, gates.length, `${variant}: every gate fused`);
    assert.ok(counts.invertedResidualNhwc > 0, `${variant}: the blocks ran channels-last`);
    const d = maxRelDiff(fused, plain);
    assert.ok(d < 2e-5, `${variant}: fused differs from the modules by ${d} (relative)`);
  }
});

/** A ResNet in eval mode with batch-norm statistics away from the identity. */
function resnet(name: 'resnet18' | 'resnet50' | 'resnext50_32x4d', seed: number) {
  tt.manualSeed(seed);
  return perturbed(tt.models[name]({ numClasses: 10 }));
}

test('channels-last ResNets: the modules’ outputs on every backend with the kernels, at batch 1 and 3', () => {
  // ResNet-18 on 64×72 images: layer1's 3×3 maps (16×18) run Winograd from channels-last, layer2's (8×9) direct at
  // batch 1 and Winograd at batch 3 (the same weights packed both ways, then batch 1 again), layer3/4's and every
  // strided layer implicit GEMMs; ResNet-50 (bottlenecks, 1×1 layers, downsampling in the 3×3) on 48×48 at batch 2
  const cases = [
    ['resnet18', 20, [1, 3, 1], 64, 72],
    ['resnet50', 53, [2], 48, 48],
  ] as const;
  const models = cases.map(([name], i) => resnet(name, 60 + i));
  for (const backend of backendNames()) {
    tt.withBackend(backend, () => {
      const has = tt.backend().maxPool2dNhwc !== undefined;
      for (const [i, [name, convs, batches, h, w]] of cases.entries()) {
        if (!has && i > 0) break; // a backend without the kernels (float64 reference: slow) only checks it steps aside
        const m = models[i];
        for (const n of has ? batches : [1]) {
          const x = tt.randn([n, 3, h, w]);
          const plain = tt.noGrad(() => m.forward(x));
          tt.nn.fuse(m);
          tt.nn.resetFusionCounts();
          const fused = tt.noGrad(() => m.forward(x));
          const ran = tt.nn.fusionCounts().convBnNhwc;
          tt.nn.unfuse(m);
          assert.deepEqual(fused.shape, [n, 10]);
          const d = maxRelDiff(fused, plain);
          assert.ok(d < 2e-5, `${backend} ${name} batch ${n}: fused differs from the modules by ${d} (relative)`);
          assert.equal(ran, has ? convs : 0, `${backend} ${name}: convolutions run channels-last`);
        }
      }
    });
  }
});

test('channels-last ResNets: one nhwcProgram call with the fc, bit for bit what the calls do; its blocks are checked', () => {
  forEachProgramBackend((backend, be, spy) => {
    const whole = spy.whole;
    const cases = [
      ['resnet18', 20, 64, 72],
      ['resnet50', 53, 48, 48],
    ] as const;
    let x = tt.randn([1, 3, 8, 8]);
    for (const [i, [name, convs, h, w]] of cases.entries()) {
      const m = tt.nn.fuse(resnet(name, 90 + i));
      for (const n of [1, 3]) {
        x = tt.randn([n, 3, h, w]);
        spy.calls = 0;
        // the fc as a module when called step by step: the same bits
        const counts = assertOneProgramCall(spy, m, x, `${backend} ${name} batch ${n}`);
        assert.equal(counts.convBnNhwc, convs, `${backend} ${name}: every convolution in it`);
        assert.equal(counts.classifierHead, 1, `${backend} ${name}: the fc in it`);
      }
    }
    // the checks, on the last program (ResNet-50 at batch 3): a shortcut that does not fit the block's output,
    // a block without convolutions, a block before the pooling, an operand detached after the checks
    const p = spy.seen!;
    const xs = x.toTypedArray() as Float32Array;
    const out = new Float32Array(3 * 10);
    const [pool, first, ...rest] = p.steps;
    const blk = first as tt.backendTypes.NhwcProgramResidual;
    const withFirst = (b: tt.backendTypes.NhwcProgramResidual) => ({ ...p, steps: [pool, b, ...rest] });
    assert.throws(
      () => whole.call(be, xs, withFirst({ ...blk, downsample: null }), out),
      /nhwcProgram: step 2 \(convolution 3\) makes a 3×12×12×256 map, but its shortcut is 3×12×12×64/,
    );
    assert.throws(
      () => whole.call(be, xs, withFirst({ ...blk, convs: [] }), out),
      /nhwcProgram: step 2 is a residual block without convolutions/,
    );
    assert.throws(
      () => whole.call(be, xs, { ...p, steps: [first, pool, ...rest] }, out),
      /nhwcProgram: step 1 \(downsample\) reads a 3×24×24×64 map/,
    );
    // a program of its own whose second convolution's packed weights are a copy, checked, then detached
    const copy = { ...blk.convs[1].stage.packed, data: blk.convs[1].stage.packed.data.slice() };
    const own = withFirst({
      ...blk,
      convs: blk.convs.map((c, k) => (k === 1 ? { ...c, stage: { ...c.stage, packed: copy } } : c)),
    });
    whole.call(be, xs, own, out);
    structuredClone(copy.data.buffer, { transfer: [copy.data.buffer as ArrayBuffer] });
    assert.throws(() => whole.call(be, xs, own, out), /nhwcProgram: step 2 no longer matches its operands/);

    // a block of one convolution and no downsample reads its shortcut and writes elsewhere: relu(conv(v) + v)
    // after the stem and pooling, against the same kernels called one by one
    const r18 = tt.nn.fuse(resnet('resnet18', 95));
    const x1 = tt.randn([2, 3, 40, 40]);
    tt.noGrad(() => r18.forward(x1));
    const q = spy.seen!;
    const conv = (q.steps[1] as tt.backendTypes.NhwcProgramResidual).convs[1];
    const pg = (q.steps[0] as tt.backendTypes.NhwcProgramPool).g;
    const single: tt.backendTypes.NhwcProgram = {
      stem: q.stem,
      steps: [q.steps[0], { kind: 'residual', convs: [conv], downsample: null }],
    };
    const xf = x1.toTypedArray() as Float32Array;
    const got = new Float32Array(2 * 64);
    whole.call(be, xf, single, got);
    const sg = q.stem.g,
      st = q.stem.stage;
    const stemOut = new Float32Array(2 * sg.oh * sg.ow * sg.oc);
    be.conv2dNchwToNhwc!(xf, st.packed, st.bias, st.scale, stemOut, sg, st.epilogue);
    const v = new Float32Array(2 * pg.oh * pg.ow * pg.c);
    be.maxPool2dNhwc!(stemOut, v, pg);
    const y = new Float32Array(v.length);
    be.conv2dNhwc!(v, conv.stage.packed, conv.stage.bias, conv.stage.scale, v, y, conv.g, conv.stage.epilogue);
    const pixels = pg.oh * pg.ow;
    for (let b = 0; b < 2; b++)
      for (let ch = 0; ch < 64; ch++) {
        let sum = 0;
        for (let i = 0; i < pixels; i++) sum += y[(b * pixels + i) * 64 + ch];
        const want = sum / pixels;
        assert.ok(Math.abs(got[b * 64 + ch] - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${backend}: ${b}, ${ch}`);
      }
  });
});

test('channels-last ResNets: grouped convolutions, hooks and grad mode run NCHW; new weights are packed anew', () => {
  const x = tt.randn([2, 3, 64, 64]);
  // ResNeXt's grouped 3×3: the whole model stays NCHW (fused there), with the modules' outputs
  const rx = resnet('resnext50_32x4d', 3);
  const rxPlain = tt.noGrad(() => rx.forward(x));
  tt.nn.fuse(rx);
  tt.nn.resetFusionCounts();
  const rxFused = tt.noGrad(() => rx.forward(x));
  assert.equal(tt.nn.fusionCounts().convBnNhwc, 0);
  assert.ok(maxRelDiff(rxFused, rxPlain) < 2e-5);

  const m = resnet('resnet18', 5);
  const plain = tt.noGrad(() => m.forward(x));
  tt.nn.fuse(m);
  tt.nn.resetFusionCounts();
  const y = m.forward(x); // grad mode: the modules
  assert.equal(tt.nn.fusionCounts().convBnNhwc, 0);
  assert.ok(y.requiresGrad);
  let seen: number[] | null = null;
  const handle = m.layer2.at(0).registerForwardHook((_mod, _in, out) => {
    seen = (out as tt.Tensor).shape;
  });
  tt.nn.resetFusionCounts();
  const hooked = tt.noGrad(() => m.forward(x));
  assert.equal(tt.nn.fusionCounts().convBnNhwc, 0);
  assert.deepEqual(seen, [2, 128, 8, 8], 'the hook sees NCHW, as the module');
  assert.ok(maxRelDiff(hooked, plain) < 2e-5);
  handle.remove();
  // new values in place in layer1's (Winograd-packed) and layer4's (implicit-GEMM) 3×3 weights
  const before = tt.noGrad(() => m.forward(x));
  assert.ok(maxRelDiff(before, plain) < 2e-5);
  tt.noGrad(() => {
    const blocks = [m.layer1.at(0), m.layer4.at(1)] as unknown as tt.models.BasicBlock[];
    for (const conv of [blocks[0].conv2, blocks[1].conv1]) conv.weight.copy_(tt.randn(conv.weight.shape));
  });
  tt.nn.resetFusionCounts();
  const after = tt.noGrad(() => m.forward(x));
  assert.equal(tt.nn.fusionCounts().convBnNhwc, 20);
  tt.nn.unfuse(m);
  const expected = tt.noGrad(() => m.forward(x));
  assert.ok(maxRelDiff(after, expected) < 2e-5, 'packed weights follow an in-place change');
  assert.ok(maxRelDiff(after, before) > 1e-3, 'the change shows');
});

test('channels-last programs: each stage follows in-place and storage writes to its weights and statistics', () => {
  // a stage (packed weights, folded affine) is reused while no tensor version changed anywhere, eps is the same and
  // each source's first and last values are (models/fusion-nhwc.ts, memoHolds); each change must show in the next
  // call. The reference is an unfused twin given the same state: unfusing this model would rebuild its program.
  const m = model('mobilenet_v2', 13),
    twin = model('mobilenet_v2', 13);
  const x = tt.randn([1, 3, 40, 48]);
  // the last block's projection (conv → BN, no activation: every channel reaches the logits)
  const layers = (m.features.at(-2) as unknown as { conv: tt.nn.Sequential }).conv;
  const conv = layers.at(-2) as tt.nn.Conv2d,
    bn = layers.at(-1) as tt.nn.BatchNorm2d;
  const twinBn = (twin.features.at(-2) as unknown as { conv: tt.nn.Sequential }).conv.at(-1) as tt.nn.BatchNorm2d;
  const last = (t: tt.Tensor) => t.numel() - 1;
  const changes: [string, () => void][] = [
    ['running mean written through its storage (first value)', () => void (bn.runningMean!.storage[0] += 0.5)],
    [
      'running variance written through its storage (last value)',
      () => void (bn.runningVar!.storage[last(bn.runningVar!)] *= 4),
    ],
    ['BN weight scaled in place', () => void tt.noGrad(() => bn.weight!.mul_(-1))],
    [
      'running mean changed in place but for its first and last values',
      () => void tt.noGrad(() => bn.runningMean!.narrow(0, 1, bn.numFeatures - 2).add_(0.5)),
    ],
    ['eps changed', () => void ((bn as { eps: number }).eps = (twinBn as { eps: number }).eps = 0.1)],
    ['conv weight scaled in place', () => void tt.noGrad(() => conv.weight.mul_(0.5))],
    [
      'conv weight rewritten through its storage',
      () => {
        const w = conv.weight.storage;
        for (let i = 0; i < w.length; i++) w[i] = -w[i];
      },
    ],
    [
      'BN bias loaded by loadStateDict',
      () => {
        const sd = m.stateDict();
        const key = `${[...m.namedModules()].find(([, mod]) => mod === bn)![0]}.bias`;
        sd[key] = sd[key].add(0.5);
        m.loadStateDict(sd);
      },
    ],
  ];
  tt.nn.fuse(m);
  let before = tt.noGrad(() => m.forward(x));
  for (const [what, change] of changes) {
    tt.noGrad(() => m.forward(x)); // the memos made anew (the twin's loadStateDict below moves the version epoch)
    change();
    tt.nn.resetFusionCounts();
    const fused = tt.noGrad(() => m.forward(x));
    assert.equal(tt.nn.fusionCounts().convBnNhwc, PROGRAM_CONVS.mobilenet_v2, `${what}: the program did not run`);
    twin.loadStateDict(m.stateDict());
    const plain = tt.noGrad(() => twin.forward(x));
    assert.ok(maxRelDiff(fused, plain) < 2e-5, `${what}: fused differs from the modules`);
    assert.ok(maxRelDiff(fused, before) > 1e-4, `${what}: the change did not show`);
    before = fused;
  }
});

test('channels-last programs are kept between calls and rebuilt when the module tree changes', () => {
  // the program is built once and reused while no part of the tree is registered, assigned or removed, no hook or
  // forward changes and no train()/eval() happens (models/fusion-nhwc.ts, cachedProgram); each such change must
  // show in the very next call
  const m = model('mobilenet_v2', 11);
  const x = tt.randn([1, 3, 40, 48]);
  const check = (what: string, program: boolean) => {
    tt.nn.resetFusionCounts();
    const fused = tt.noGrad(() => m.forward(x));
    const ran = tt.nn.fusionCounts().convBnNhwc;
    tt.nn.unfuse(m);
    const plain = tt.noGrad(() => m.forward(x));
    tt.nn.fuse(m);
    assert.ok(maxRelDiff(fused, plain) < 2e-5, `${what}: fused differs from the modules`);
    assert.equal(ran > 0, program, `${what}: the channels-last program ${program ? 'did not run' : 'ran'}`);
    return fused;
  };
  tt.nn.fuse(m);
  const first = check('first call', true);
  check('second call (cached)', true);
  // the last 1×1 layer's activation replaced through its container (late enough for the logits to show it):
  // ReLU6 → Hardswish still folds, GELU does not
  const cna = m.features.at(-1) as tt.nn.Sequential;
  cna.set(2, new tt.nn.Hardswish());
  const swapped = check('ReLU6 replaced by Hardswish', true);
  assert.ok(maxRelDiff(swapped, first) > 1e-4, 'the replacement shows');
  cna.set(2, new tt.nn.GELU());
  check('ReLU6 replaced by GELU', false);
  cna.set(2, new tt.nn.ReLU6());
  check('ReLU6 back', true);
  // a batch norm in training mode: nothing folds (its batch statistics), then eval() again
  const bn = cna.at(1) as tt.nn.BatchNorm2d;
  bn.train();
  tt.nn.resetFusionCounts();
  tt.noGrad(() => m.forward(x));
  assert.equal(tt.nn.fusionCounts().convBnNhwc, 0, 'a BN in training mode keeps the program off');
  bn.runningMean!.copy_(bn.runningMean!.mul(0).add(0.1)); // its statistics moved while training: restore known ones
  bn.eval();
  check('eval() again', true);
  // a weight replaced by a new Parameter (a slot assignment) and a new conv module in a block
  const conv = cna.at(0) as tt.nn.Conv2d;
  conv.weight = new tt.nn.Parameter(tt.randn(conv.weight.shape));
  check('weight parameter replaced', true);
  const before = check('before the conv is replaced', true);
  cna.set(0, new tt.nn.Conv2d(conv.inChannels, conv.outChannels, 1, { bias: false }));
  const after = check('conv module replaced', true);
  assert.ok(maxRelDiff(after, before) > 1e-4, 'the new conv shows');
});

test('channels-last MobileNets: one nhwcProgram call computes bit for bit what the calls do, and checks its steps', () => {
  forEachProgramBackend((backend, be, spy) => {
    const whole = spy.whole;
    // V2 and V3-Large run their stem and first block in one pass (no expansion, no gate), V3-Small apart; the
    // maps take several chunks of rows a band (48×100 after the stem)
    for (const [i, name] of (['mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small'] as const).entries()) {
      const m = tt.nn.fuse(model(name, 60 + i));
      for (const n of [1, 3]) {
        const x = tt.randn([n, 3, 96, 200]);
        assertOneProgramCall(spy, m, x, `${backend} ${name} batch ${n}`);
      }
    }
    // the checks, on the last program seen (MobileNetV3-Small at batch 3): steps out of order, a stage packed
    // for another layer, a short input — each an error naming what is wrong
    const p = spy.seen!;
    const [c, h, w] = [p.stem.g.c, p.stem.g.h, p.stem.g.w];
    const x = tt.randn([3, c, h, w]).toTypedArray() as Float32Array;
    const out = new Float32Array(3 * 1024);
    const s = p.steps;
    assert.throws(
      () => whole.call(be, x, { stem: p.stem, steps: [s[1], s[0], ...s.slice(2)] }, out),
      /nhwcProgram: step 1 reads a 3×\d+×\d+×\d+ map/,
    );
    const b0 = s[0] as tt.backendTypes.NhwcProgramBlock;
    const wrong = { ...b0, depthwise: { ...b0.depthwise, packed: p.stem.stage.packed } };
    assert.throws(
      () => whole.call(be, x, { stem: p.stem, steps: [wrong, ...s.slice(1)] }, out),
      /packed weights were not made/,
    );
    assert.throws(() => whole.call(be, x.subarray(1), p, out), /nhwcProgram: x has \d+ elements but/);
    // an operand detached after the program was checked: the kernel's own checks refuse it
    const d = b0.depthwise.packed.data;
    structuredClone(d.buffer, { transfer: [d.buffer] });
    assert.throws(() => whole.call(be, x, p, out), /nhwcProgram: step 1 no longer matches its operands/);
  });
});

test('channels-last MobileNets: the classifier runs inside the program, bit for bit as its modules', () => {
  const native = programBackends();
  for (const backend of native)
    tt.withBackend(backend, () => {
      for (const [i, name] of (['mobilenet_v2', 'mobilenet_v3_large'] as const).entries()) {
        const m = tt.nn.fuse(model(name, 80 + i));
        const cls = m.classifier as tt.nn.Sequential;
        const linears = cls.modules().filter((l): l is tt.nn.Linear => l instanceof tt.nn.Linear);
        for (const n of [1, 3]) {
          const x = tt.randn([n, 3, 64, 72]);
          const run = () => {
            tt.nn.resetFusionCounts();
            const y = tt.noGrad(() => m.forward(x));
            return { y: y.toTypedArray(), head: tt.nn.fusionCounts().classifierHead };
          };
          // a hook on the classifier keeps it out of the program: its modules run on the pooled map
          const modules = () => {
            const h = cls.registerForwardHook(() => undefined);
            const r = run();
            h.remove();
            assert.equal(r.head, 0, `${backend} ${name}: a hooked classifier runs as modules`);
            return r.y;
          };
          const inside = run();
          assert.equal(inside.head, 1, `${backend} ${name} batch ${n}: the classifier ran inside the program`);
          assert.deepEqual(inside.y, modules(), `${backend} ${name} batch ${n}: in the program as the modules`);
          // a Dropout in training mode is not the identity: the modules run
          const drop = cls.modules().find((d) => d instanceof tt.nn.Dropout)!;
          drop.train();
          assert.equal(run().head, 0, `${backend} ${name}: a training Dropout keeps the classifier out`);
          drop.eval();
        }
        // weights written in place, and a weight replaced: the next call reads them
        const x = tt.randn([2, 3, 64, 72]);
        const before = run2(m, x);
        tt.noGrad(() => linears[linears.length - 1].weight.mul_(1.5));
        const scaled = run2(m, x);
        assert.notDeepEqual(scaled, before, `${backend} ${name}: an in-place weight change shows`);
        const first = linears[0];
        first.weight = new tt.nn.Parameter(tt.randn(first.weight.shape));
        first.bias = new tt.nn.Parameter(tt.randn([first.outFeatures]));
        const replaced = run2(m, x);
        const h = cls.registerForwardHook(() => undefined);
        assert.deepEqual(replaced, run2(m, x), `${backend} ${name}: a replaced weight is read`);
        h.remove();
        assert.notDeepEqual(replaced, scaled);
        // the backend's checks of a head: features that do not chain, a short weight, an activation it lacks
        const be = tt.backend();
        const spy = spyProgram(be);
        run2(m, x);
        spy.restore();
        const whole = spy.whole;
        const prog = spy.seen!;
        const h0 = prog.head![0];
        const xs = x.toTypedArray() as Float32Array;
        const out = new Float32Array(2 * 1000);
        const withHead = (l: tt.backendTypes.NhwcProgramLinear) => ({ ...prog, head: [l, ...prog.head!.slice(1)] });
        assert.throws(
          () => whole.call(be, xs, withHead({ ...h0, inFeatures: 5 }), out),
          /nhwcProgram: step \d+ \(a head Linear 5→\d+\) reads 2×\d+ features/,
        );
        assert.throws(
          () => whole.call(be, xs, withHead({ ...h0, weight: h0.weight.subarray(1) }), out),
          /nhwcProgram \(step \d+\): weight has/,
        );
        assert.throws(
          () => whole.call(be, xs, withHead({ ...h0, activation: 'relu' as 'none' }), out),
          /activation 'relu' is not none or hardswish/,
        );
        // a head weight detached after its program was checked: the kernel's own check of the Linear step refuses it
        const own = withHead({ ...h0, weight: h0.weight.slice() });
        whole.call(be, xs, own, out);
        const wd = own.head[0].weight;
        structuredClone(wd.buffer, { transfer: [wd.buffer as ArrayBuffer] });
        const headStep = 1 + prog.steps.length; // the head's first step (the stem is step 0)
        assert.throws(
          () => whole.call(be, xs, own, out),
          new RegExp(`nhwcProgram: step ${headStep} no longer matches its operands`),
        );
        tt.nn.unfuse(m);
        const plain = run2(m, x);
        assertNearModules(replaced, plain, `${backend} ${name}`);
      }
    });
});

/** Asserts that fused logits are within float32 rounding (1e-4 of their scale) of the unfused model's. */
function assertNearModules(fused: number[], plain: number[], what: string): void {
  const err = Math.max(...plain.map((v, i) => Math.abs(v - fused[i])));
  assert.ok(err < 1e-4 * Math.max(1, ...plain.map(Math.abs)), `${what}: ${err} from the unfused model`);
}

/** The logits of m on x, as a plain array, outside grad mode. */
function run2(m: tt.nn.Module<[tt.Tensor], tt.Tensor>, x: tt.Tensor): number[] {
  return Array.from(tt.noGrad(() => m.forward(x)).toTypedArray());
}

test('fuse with freeze: the same results, the weights read when a program is made and not checked after', () => {
  const native = backendNames().filter((b) => tt.withBackend(b, () => tt.backend().conv2dNhwc !== undefined));
  for (const backend of native)
    tt.withBackend(backend, () => {
      for (const name of ['mobilenet_v3_small', 'resnet18'] as const) {
        tt.manualSeed(90);
        const m = perturbed(tt.models[name]({ numClasses: 10 }) as tt.nn.Module<[tt.Tensor], tt.Tensor>);
        const x = tt.randn([2, 3, 64, 72]);
        const fused = run2(tt.nn.fuse(m), x);
        assert.equal(tt.nn.isFrozen(m), false);
        tt.nn.fuse(m, { freeze: true });
        assert.equal(tt.nn.isFrozen(m), true);
        assert.deepEqual(run2(m, x), fused, `${backend} ${name}: frozen computes what fused does`);
        // a weight written in place after freezing goes unseen (as torch.jit.freeze's constants) …
        // (the last convolution: folded with its batch norm — a squeeze-excitation gate reads its weights live)
        const conv = m
          .modules()
          .filter((c): c is tt.nn.Conv2d => c instanceof tt.nn.Conv2d)
          .at(-1)!;
        tt.noGrad(() => conv.weight.copy_(tt.randn(conv.weight.shape)));
        assert.deepEqual(run2(m, x), fused, `${backend} ${name}: frozen weights`);
        // … until the model is fused again without freeze: then the next call checks, and reads it
        tt.nn.fuse(m);
        assert.equal(tt.nn.isFrozen(m), false);
        const refused = run2(m, x);
        assert.notDeepEqual(refused, fused, `${backend} ${name}: the change shows once unfrozen`);
        tt.nn.unfuse(m);
        const plain = run2(m, x);
        assertNearModules(refused, plain, `${backend} ${name}`);
      }
    });
});

test('channels-last MobileNets: an empty classifier Linear runs as modules, as unfused', () => {
  const m = model('mobilenet_v2', 95);
  (m.classifier as tt.nn.Sequential).set(1, new tt.nn.Linear(1280, 0));
  const x = tt.randn([2, 3, 64, 72]);
  const plain = tt.noGrad(() => m.forward(x));
  tt.nn.fuse(m);
  tt.nn.resetFusionCounts();
  const fused = tt.noGrad(() => m.forward(x));
  assert.deepEqual(fused.shape, [2, 0]);
  assert.deepEqual(plain.shape, [2, 0]);
  assert.equal(tt.nn.fusionCounts().classifierHead, 0);
});

test('fuse with freeze: a program rebuilt while frozen is checked again once unfrozen', () => {
  // while frozen, a hook on the classifier makes a new program from the kept (stale) stages; the check it leaves
  // must not vouch for them after `fuse(model)`: a change inside a weight (its first and last values kept) shows
  const native = programBackends();
  for (const backend of native)
    tt.withBackend(backend, () => {
      const m = tt.nn.fuse(model('mobilenet_v2', 97), { freeze: true });
      const x = tt.randn([2, 3, 64, 72]);
      const before = run2(m, x);
      const conv = m
        .modules()
        .filter((c): c is tt.nn.Conv2d => c instanceof tt.nn.Conv2d)
        .at(-1)!;
      const k = conv.weight.numel();
      tt.noGrad(() =>
        conv.weight
          .view([k])
          .narrow(0, 1, k - 2)
          .mul_(1.5),
      );
      const h = (m.classifier as tt.nn.Sequential).registerForwardHook(() => undefined);
      assert.deepEqual(run2(m, x), before, `${backend}: frozen weights, the classifier as modules`);
      tt.nn.fuse(m);
      const after = run2(m, x);
      tt.nn.unfuse(m);
      const plain = run2(m, x);
      h.remove();
      assert.notDeepEqual(after, before, `${backend}: the change shows once unfrozen`);
      assertNearModules(after, plain, backend);
    });
});
