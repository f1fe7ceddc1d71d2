/**
 * Activation ownership in fused inference (src/nn/fusion.ts, "Activation ownership"; src/models/fusion-rules.ts):
 * fused forwards recycle the storage of intermediate activations once the next step has read them, and update
 * owned block outputs in place (residual adds, squeeze-excitation scales). These tests check that this changes
 * no value anybody can see: the outputs equal the unfused model's, repeated calls agree, the caller's input and
 * every tensor a hook or feature extractor kept stay intact, and storage is in fact reused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { storageFreshAllocations, storageReuses } from '../src/tensor/storage.ts';
import { perturbBatchNorms } from './helpers.ts';

type Net = tt.nn.Module<[tt.Tensor], tt.Tensor>;

function maxAbsDiff(a: tt.Tensor, b: tt.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return a.sub(b).abs().max().item();
}

/**
 * The values of `t` in a plain array, outside the storage pool: a tensor copy (`clone`) of a recycled tensor could
 * be handed the very buffer it copies, and a snapshot taken that way would change with it.
 */
function plainCopy(t: tt.Tensor): number[] {
  return Array.from(t.storage as Float32Array);
}

function assertClose(a: tt.Tensor, b: tt.Tensor, what: string): void {
  const scale = Math.max(1, b.abs().max().item());
  const err = maxAbsDiff(a, b);
  assert.ok(err <= 1e-5 * scale, `${what}: fused differs from unfused by ${err} (scale ${scale})`);
}

// 48×48 and 64×64 inputs: activations of 16 KB and more come from the recyclable allocator (tensor/storage.ts)
const MODELS = ['mobilenet_v2', 'mobilenet_v3_large', 'resnet18', 'resnet50'];

test('fused inference recycles activations and still equals the unfused model, call after call', () => {
  for (const name of MODELS) {
    tt.manualSeed(3);
    const m = perturbBatchNorms(tt.models.getModel(name, { numClasses: 10 }) as Net, 4).eval();
    const x = tt.randn([1, 3, 48, 48]);
    const xCopy = x.clone();
    const plain = tt.noGrad(() => m.forward(x));
    tt.nn.fuse(m);
    const before = storageReuses();
    tt.nn.resetFusionCounts();
    const first = tt.noGrad(() => m.forward(x));
    const second = tt.noGrad(() => m.forward(x));
    // a MobileNet on a backend with nhwcProgram runs features, pool and classifier in one native call: no
    // activation leaves it, so there is nothing to recycle
    const oneCall = tt.nn.fusionCounts().classifierHead === 2;
    if (!oneCall) assert.ok(storageReuses() > before, `${name}: no activation storage was reused`);
    assertClose(first, plain, `${name} first call`);
    assert.equal(maxAbsDiff(second, first), 0, `${name}: a second call differs from the first`);
    assert.equal(maxAbsDiff(x, xCopy), 0, `${name}: the caller's input changed`);
    tt.nn.unfuse(m);
  }
});

test("a hooked block's output, kept by the hook, is neither recycled nor updated in place", () => {
  for (const [name, path] of [
    ['mobilenet_v2', 'features.2.conv.1'], // depthwise conv-bn-relu6 inside a block
    ['mobilenet_v2', 'features.3'], // a residual block, whose output would be updated in place by the next one
    ['mobilenet_v3_large', 'features.5.block.2'], // squeeze-excitation (scaled in place when owned)
    ['resnet18', 'layer1.0'], // a BasicBlock feeding another
  ] as const) {
    tt.manualSeed(3);
    const m = perturbBatchNorms(tt.models.getModel(name, { numClasses: 10 }) as Net, 4).eval();
    const sub = m.getSubmodule(path);
    let kept: tt.Tensor | null = null,
      copy: tt.Tensor | null = null;
    sub.registerForwardHook((_mod, _args, out) => {
      kept = out as tt.Tensor;
      copy = (out as tt.Tensor).clone();
    });
    const x = tt.randn([1, 3, 64, 64]);
    const plain = tt.noGrad(() => m.forward(x));
    tt.nn.fuse(m);
    kept = copy = null;
    const fused = tt.noGrad(() => m.forward(x));
    assert.ok(kept !== null && copy !== null, `${name} ${path}: the hook did not run`);
    assert.equal(maxAbsDiff(kept, copy), 0, `${name} ${path}: the kept output was overwritten`);
    // the next call may reuse nothing the hook still holds from this one either
    const keptBefore = kept as tt.Tensor,
      copyBefore = copy as tt.Tensor;
    tt.noGrad(() => m.forward(x.mul(0.5)));
    assert.equal(maxAbsDiff(keptBefore, copyBefore), 0, `${name} ${path}: the kept output changed on the next call`);
    assertClose(fused, plain, `${name} ${path} logits`);
    tt.nn.unfuse(m);
  }
});

test('feature maps returned by a fused feature extractor are not recycled by later layers', () => {
  tt.manualSeed(3);
  const m = perturbBatchNorms(tt.models.resnet18({ numClasses: 10 }), 4).eval();
  const getter = new tt.models.IntermediateLayerGetter(m, { layer1: 'a', layer2: 'b', layer3: 'c', layer4: 'd' });
  const x = tt.randn([1, 3, 64, 64]);
  const plain = tt.noGrad(() => getter.forward(x));
  tt.nn.fuse(getter);
  const fused = tt.noGrad(() => getter.forward(x));
  // a second call must not write into the maps the first returned
  const again = tt.noGrad(() => getter.forward(x.mul(-1)));
  for (const k of ['a', 'b', 'c', 'd']) {
    assertClose(fused[k], plain[k], `feature map ${k}`);
    assert.ok(maxAbsDiff(again[k], fused[k]) > 0, `feature map ${k}: the second call returned the same values`);
  }
});

test('with grad mode on nothing is handed over: fused ResNet gradients equal the unfused ones', () => {
  const build = () => {
    tt.manualSeed(3);
    return perturbBatchNorms(tt.models.resnet18({ numClasses: 10 }), 4).eval();
  };
  const a = build(),
    b = tt.nn.fuse(build());
  const x = tt.randn([1, 3, 64, 64]);
  assert.equal(maxAbsDiff(a.forward(x), b.forward(x)), 0, 'the two builds differ');
  const xa = x.clone().requiresGrad_(true),
    xb = x.clone().requiresGrad_(true);
  a.forward(xa).square().sum().backward();
  b.forward(xb).square().sum().backward();
  assertClose(xb.grad!, xa.grad!, 'input gradient');
});

test('the folded BN affine is reused between calls but follows every change of the statistics and parameters', () => {
  tt.manualSeed(3);
  const m = perturbBatchNorms(tt.models.mobilenet_v2({ numClasses: 10 }), 4).eval();
  const x = tt.randn([1, 3, 32, 32]);
  // the first three stages, not the logits: at this init the deeper activations are too small to show a stale affine
  const net = new tt.nn.Sequential(...[0, 1, 2].map((i) => m.getSubmodule(`features.${i}`)));
  const unfused = () => {
    tt.nn.unfuse(net);
    const y = tt.noGrad(() => net.forward(x));
    tt.nn.fuse(net);
    return y;
  };
  tt.nn.fuse(net);
  const bn = m.getSubmodule('features.1.conv.2') as tt.nn.BatchNorm2d;
  const conv = m.getSubmodule('features.0.0') as tt.nn.Conv2d;
  const changes: [string, () => void][] = [
    ['running mean written through its storage', () => void (bn.runningMean!.storage[0] += 0.5)],
    [
      'running variance replaced by loadStateDict',
      () => {
        const sd = m.stateDict();
        sd['features.1.conv.2.running_var'] = sd['features.1.conv.2.running_var'].mul(2);
        m.loadStateDict(sd);
      },
    ],
    ['BN weight scaled in place', () => void tt.noGrad(() => bn.weight!.mul_(-1))],
    ['eps changed', () => void ((bn as { eps: number }).eps = 0.1)],
    ['conv weight scaled in place', () => void tt.noGrad(() => conv.weight.mul_(0.5))],
    [
      "conv weight's last value written through its storage",
      () => void (conv.weight.storage[conv.weight.numel() - 1] += 4),
    ],
    ['conv bias added', () => void (conv.bias = new tt.nn.Parameter(tt.randn([conv.outChannels])))],
  ];
  let before = tt.noGrad(() => net.forward(x)); // fills the cache
  for (const [what, change] of changes) {
    change();
    const fused = tt.noGrad(() => net.forward(x));
    assert.ok(maxAbsDiff(fused, before) > 1e-3, `${what}: the change did not change the features`);
    assertClose(fused, unfused(), what);
    before = fused;
  }
});

/** Any model taking one image batch; and any module (a part or layer of one). */
type Model = tt.nn.Module<[tt.Tensor], unknown>;
type Part = ReturnType<tt.nn.Module['children']>[number];

/** Storage reuses in one grad-free forward of `m` on `x`, after a warm-up call. */
function reusesPerCall(m: Model, x: tt.Tensor): number {
  tt.noGrad(() => m.forward(x));
  const before = storageReuses();
  tt.noGrad(() => m.forward(x));
  return storageReuses() - before;
}

/**
 * `m` fused as a whole recycles more storage a call than with only `parts` fused (`m`'s own forward between them):
 * the rule of `m` itself hands buffers back. Leaves `m` unfused.
 */
function assertRuleRecyclesMore(m: Model, parts: Part[], x: tt.Tensor, what: string): void {
  tt.nn.fuse(m);
  const whole = reusesPerCall(m, x);
  tt.nn.unfuse(m);
  for (const part of parts) tt.nn.fuse(part);
  const partial = reusesPerCall(m, x);
  for (const part of parts) tt.nn.unfuse(part);
  assert.ok(whole > partial, `${what}: the rule recycled nothing more (${whole} reuses against ${partial})`);
}

/**
 * With `m` fused, a forward hook on `layer` that keeps the first call's output: later calls on other inputs must
 * leave that output untouched (its storage was not handed back to the pool). Leaves `m` unfused.
 */
function assertHookedOutputKept(m: Model, layer: Part, x: tt.Tensor, what: string): void {
  tt.nn.fuse(m);
  let kept: tt.Tensor | null = null;
  const handle = layer.registerForwardHook((_mod, _in, out) => {
    kept ??= out as tt.Tensor; // the first call's output, held past later calls
  });
  tt.noGrad(() => m.forward(x));
  const snapshot = plainCopy(kept!);
  tt.noGrad(() => m.forward(x.mul(-1)));
  tt.noGrad(() => m.forward(x.mul(3)));
  assert.deepEqual(plainCopy(kept!), snapshot, `${what}: the hooked output was recycled and overwritten`);
  handle.remove();
  tt.nn.unfuse(m);
}

test("DeepLab's ASPP: fused, its branches and concatenation are recycled; a hooked branch's output is kept", () => {
  tt.manualSeed(7);
  const { ASPP } = tt.models.segmentation;
  const m = perturbBatchNorms(
    new tt.nn.Sequential(
      new tt.nn.Conv2d(8, 48, 3, { padding: 1 }),
      new ASPP(48, [2, 4, 6], 24),
      new tt.nn.Conv2d(24, 5, 1),
    ),
    4,
  ).eval() as unknown as Net;
  const x = tt.randn([1, 8, 20, 20]);
  const plain = tt.noGrad(() => m.forward(x));
  tt.nn.fuse(m);
  const first = tt.noGrad(() => m.forward(x));
  assertClose(first, plain, 'fused ASPP');
  assert.equal(
    maxAbsDiff(
      tt.noGrad(() => m.forward(x)),
      first,
    ),
    0,
    'a second call differs',
  );
  tt.nn.unfuse(m);
  // unfused ASPP, the rest fused: fewer buffers come back
  assertRuleRecyclesMore(m, [m.children()[0] as tt.nn.Module], x, 'ASPP');
  const aspp = (m as unknown as tt.nn.Sequential).children()[1] as InstanceType<typeof ASPP>;
  assertHookedOutputKept(m, [...aspp.convs][1], x, 'an ASPP branch');
  tt.nn.fuse(m);
  assertClose(
    tt.noGrad(() => m.forward(x)),
    plain,
    'fused ASPP after the hook',
  );
  tt.nn.unfuse(m);
});

test("the MobileNets' heads recycle the last feature map once pooled; a hooked feature map is kept", () => {
  for (const name of ['mobilenet_v2', 'mobilenet_v3_small']) {
    tt.manualSeed(5);
    const m = perturbBatchNorms(tt.models.getModel(name, { numClasses: 7 }) as Net, 4).eval();
    const parts = m as unknown as { features: tt.nn.Module; classifier: tt.nn.Module };
    const x = tt.randn([2, 3, 64, 64]);
    const plain = tt.noGrad(() => m.forward(x));
    tt.nn.fuse(m);
    assertClose(
      tt.noGrad(() => m.forward(x)),
      plain,
      `${name} fused`,
    );
    // fused whole, the channels-last program hands back every map it is done with — the last one once pooled,
    // the pooled one and the classifier's hidden vectors once read — so a warm call takes fresh storage for its
    // output only (its blocks allocate only their outputs: counting reuses against the NCHW fused features,
    // which allocate three maps a block, says nothing)
    const fresh = storageFreshAllocations();
    tt.noGrad(() => m.forward(x));
    assert.equal(storageFreshAllocations() - fresh, 1, `${name}: a warm fused call took fresh storage`);
    tt.nn.unfuse(m);
    assertHookedOutputKept(m, parts.features, x, `${name} features`);
  }
});

test("segmentation models hand the backbone's maps to their heads; a map a hook kept is not recycled", () => {
  tt.manualSeed(11);
  type Seg = tt.nn.Module<[tt.Tensor], { out: tt.Tensor; aux?: tt.Tensor }>;
  const m = perturbBatchNorms(
    tt.models.segmentation.deeplabv3_mobilenet_v3_large({ numClasses: 5, auxLoss: true }) as unknown as Net,
    4,
  ).eval() as unknown as Seg;
  const parts = m as unknown as { backbone: tt.nn.Module; classifier: tt.nn.Module; auxClassifier: tt.nn.Module };
  const x = tt.randn([1, 3, 64, 64]);
  const plain = tt.noGrad(() => m.forward(x));
  tt.nn.fuse(m);
  const first = tt.noGrad(() => m.forward(x));
  assertClose(first.out, plain.out, 'fused out');
  assertClose(first.aux!, plain.aux!, 'fused aux');
  assert.equal(maxAbsDiff(tt.noGrad(() => m.forward(x)).out, first.out), 0, 'a second call differs');
  tt.nn.unfuse(m);
  // the backbone and heads fused, the model's own forward between them: the maps are not handed over and the
  // heads' outputs not recycled once upsampled
  assertRuleRecyclesMore(m, [parts.backbone, parts.classifier, parts.auxClassifier], x, 'DeepLabV3');
  // a hook on the layer whose output is 'out' keeps that map
  const layers = parts.backbone.children();
  assertHookedOutputKept(m, layers[layers.length - 1], x, "the backbone's last layer");
});
