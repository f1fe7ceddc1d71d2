/**
 * Model zoo: parameter counts equal torchvision 0.14's (the issue's numbers), state-dict names, the registry,
 * summary (rows, totals, MACs), ImageNet preprocessing and predict, freezing. Parity of the logits with
 * torchvision is in models-parity.test.ts. Big models are only built and counted here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.js';
import { Conv2d } from '../src/nn/conv.js';

const { models, nn } = tt;

const COUNTS: [string, number][] = [
  ['resnet18', 11_689_512],
  ['resnet50', 25_557_032],
  ['vgg16', 138_357_544],
  ['alexnet', 61_100_840],
  ['googlenet', 6_624_904],
  ['densenet121', 7_978_856],
  ['mobilenet_v2', 3_504_872],
  ['mobilenet_v3_large', 5_483_032],
  ['resnext50_32x4d', 25_028_904],
  ['wide_resnet50_2', 68_883_240],
  ['vit_b_16', 86_567_656],
  ['mobilenet_v3_small', 2_542_856],
  ['resnet34', 21_797_672],
  ['vgg11_bn', 132_868_840],
  // Beyond torchvision: the published counts of the reference implementations.
  ['lenet5', 61_706],
  ['mobilenet_v1', 4_231_976],
  ['resnet20', 269_722],
  ['resnet56', 853_018],
  ['wrn28_10', 36_479_194],
  ['se_resnet50', 28_088_024],
  ['xception', 22_855_952],
];

test('beyond-torchvision models run forward at their input size', () => {
  for (const [name, shape] of [
    ['lenet5', [2, 1, 28, 28]],
    ['resnet20', [2, 3, 32, 32]],
    ['mobilenet_v1', [1, 3, 32, 32]],
    ['se_resnet18', [1, 3, 32, 32]],
    ['xception', [1, 3, 71, 71]],
    ['vit_tiny', [2, 3, 32, 32]],
  ] as const) {
    const info = models.getModelInfo(name);
    const m = info.build().eval();
    const y = tt.noGrad(() => m.forward(tt.randn([...shape])));
    assert.deepEqual(y.shape, [shape[0], info.numClasses], name);
    assert.ok(Array.from(y.dataView()).every(Number.isFinite), name);
  }
  assert.ok(Object.keys(models.se_resnet18().stateDict()).includes('layer1.0.se.fc2.weight'));
});

test('CIFAR ResNet option-A shortcut keeps the identity on unchanged channels and zero-pads new ones', () => {
  const b = new models.CifarBasicBlock(2, 4, 2);
  for (const p of b.parameters()) tt.noGrad(() => p.zero_());
  b.eval();
  const x = tt.rand([1, 2, 4, 4]);
  const y = tt.noGrad(() => b.forward(x));
  // With zero weights/bias the residual branch is 0: y = relu(shortcut) = x[:, :, ::2, ::2] in channels 1..2.
  assert.deepEqual(y.shape, [1, 4, 2, 2]);
  const yv = y.dataView(),
    xv = x.dataView();
  assert.equal(yv[0], 0);
  assert.equal(yv[4], xv[0]);
  assert.equal(yv[5], xv[2]);
  assert.equal(yv[6], xv[8]);
  assert.equal(yv[12], 0);
});

for (const [name, n] of COUNTS) {
  test(`${name} has torchvision's ${n.toLocaleString('en-US')} parameters`, () => {
    assert.equal(models.getModel(name).numParameters(), n);
  });
}

test('torchvision parameter names (spot checks)', () => {
  const keys = (name: string, opts = {}) => Object.keys(models.getModel(name, opts).stateDict());
  assert.ok(keys('resnet18', { numClasses: 10 }).includes('layer2.0.downsample.1.running_var'));
  const vit = keys('vit_b_16', { imageSize: 32 });
  for (const k of [
    'class_token',
    'conv_proj.weight',
    'encoder.pos_embedding',
    'encoder.layers.encoder_layer_11.ln_1.weight',
    'encoder.layers.encoder_layer_0.self_attention.in_proj_weight',
    'encoder.layers.encoder_layer_0.self_attention.out_proj.bias',
    'encoder.layers.encoder_layer_0.mlp.3.weight',
    'encoder.ln.bias',
    'heads.head.weight',
  ])
    assert.ok(vit.includes(k), k);
  assert.ok(keys('densenet121').includes('features.denseblock4.denselayer16.conv2.weight'));
  assert.ok(keys('mobilenet_v3_small').includes('features.1.block.1.fc2.weight'));
  assert.ok(keys('googlenet', { auxLogits: true }).includes('aux2.fc2.bias'));
});

test('numClasses replaces the head', () => {
  const m = models.resnet18({ numClasses: 7 });
  const y = tt.noGrad(() => m.eval().forward(tt.randn([2, 3, 32, 32])));
  assert.deepEqual(y.shape, [2, 7]);
});

test('registry: listModels / getModel / unknown names', () => {
  const names = models.listModels().map((m) => m.name);
  for (const n of ['resnet18', 'vgg16_bn', 'mobilenet_v3_small', 'vit_b_16', 'vit_tiny', 'densenet121', 'googlenet'])
    assert.ok(names.includes(n), n);
  assert.throws(() => models.getModel('resnet19'), /unknown model 'resnet19'.*resnet18/);
  assert.throws(
    () => models.registerModel({ ...models.getModelInfo('resnet18'), name: 'Bad-Name' }),
    /lower_snake_case/,
  );
});

test('summary: rows, totals and multiply-accumulates', () => {
  const m = new nn.Sequential(new Conv2d(1, 2, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(18, 4));
  const s = tt.summary(m, [1, 5, 5]);
  assert.deepEqual(
    s.rows.filter((r) => r.path !== '').map((r) => [r.path, r.type, r.outputShape, r.params]),
    [
      ['0', 'Conv2d', [1, 2, 3, 3], 20],
      ['1', 'ReLU', [1, 2, 3, 3], 0],
      ['2', 'Flatten', [1, 18], 0],
      ['3', 'Linear', [1, 4], 76],
    ],
  );
  // conv: k·k·cin/groups·cout·oh·ow = 9·1·2·9 = 162; linear: 18·4 = 72.
  assert.equal(s.macs, 162 + 72);
  assert.equal(s.totalParams, 96);
  const text = s.toString();
  assert.match(text, /Total params: 96/);
  assert.match(text, /Multiply-accumulates: 234/);
  assert.match(text, /3 +Linear +\[1, 4\] +76 +yes/);
  // Grouped conv counts cin/groups.
  const g = tt.summary(new Conv2d(4, 8, 3, { groups: 4, padding: 1 }), [4, 6, 6]);
  assert.equal(g.macs, 9 * 1 * 8 * 36);
});

test('summary: resnet18 totals, trainable after freezing, training mode restored', () => {
  const m = models.resnet18();
  models.freeze(m);
  m.fc = new nn.Linear(512, 10);
  m.train();
  const s = tt.summary(m, [3, 32, 32]);
  assert.equal(s.totalParams, 11_689_512 - 513_000 + 5_130);
  assert.equal(s.trainableParams, 5_130);
  assert.equal(s.nonTrainableParams, s.totalParams - 5_130);
  assert.equal(m.training, true);
  assert.equal(m.bn1.training, true);
  // ResNet-18 at 224² is 1.814 G MACs; it scales with the spatial area down to 32² except for the fc layer:
  // at 32×32 the convolutions cost 1/49 of their 224² MACs exactly (every feature map is 7× smaller per side).
  const convMacs224 = 1_814_073_344 - 512_000;
  assert.equal(s.macs, convMacs224 / 49 + 5_120);
  assert.match(s.toString(), /layer4\.1\.bn2 +BatchNorm2d +\[1, 512, 1, 1\] +1,024 +no/);
});

test('summary counts attention matmuls (vit_tiny)', () => {
  const m = models.vit_tiny();
  const s = tt.summary(m, [3, 32, 32]);
  const L = 65,
    E = 128;
  const attn = s.rows.filter((r) => r.type === 'MultiheadAttention');
  assert.equal(attn.length, 6);
  for (const r of attn) assert.equal(r.macs, 4 * L * E * E + 2 * L * L * E);
  assert.equal(s.rows.find((r) => r.path.endsWith('self_attention.out_proj'))?.macs ?? 0, 0);
});

test('imagenetPreprocess: resize shorter side, centre crop, normalise', () => {
  const img = tt.full([3, 300, 400], 255, { dtype: 'uint8' });
  const x = models.imagenetPreprocess(img);
  assert.deepEqual(x.shape, [3, 224, 224]);
  const v = x.dataView();
  assert.ok(Math.abs(v[0] - (1 - 0.485) / 0.229) < 1e-5);
  assert.ok(Math.abs(v[v.length - 1] - (1 - 0.406) / 0.225) < 1e-5);
  const grey = models.imagenetPreprocess(tt.zeros([1, 256, 256]));
  assert.deepEqual(grey.shape, [3, 224, 224]);
  assert.throws(() => models.imagenetPreprocess(tt.zeros([5, 10, 10])), /1, 3 or 4 channels/);
  assert.equal(models.IMAGENET_CLASSES.length, 1000);
  assert.equal(models.IMAGENET_CLASSES[0], 'tench');
  assert.equal(models.IMAGENET_CLASSES[999], 'toilet tissue');
});

test('predict: top-k by softmax probability with labels', () => {
  const m = new nn.Sequential(new nn.Flatten(), new nn.Linear(3, 4));
  const lin = m.at(1) as tt.nn.Linear;
  tt.noGrad(() => {
    lin.weight.copy_(tt.zeros([4, 3]));
    lin.bias!.copy_(tt.tensor([0, 3, 1, 2]));
  });
  const p = models.predict(m, tt.zeros([3, 1, 1]), { topk: 2, labels: ['a', 'b', 'c', 'd'] });
  assert.deepEqual(
    p.map((q) => [q.index, q.label]),
    [
      [1, 'b'],
      [3, 'd'],
    ],
  );
  const z = Math.exp(0) + Math.exp(3) + Math.exp(1) + Math.exp(2);
  assert.ok(Math.abs(p[0].probability - Math.exp(3) / z) < 1e-6);
  assert.throws(() => models.predict(m, tt.zeros([2, 3, 1, 1])), /one image/);
  assert.throws(() => models.predict(m, tt.zeros([3, 1, 1]), { labels: ['x'] }), /1 labels for a model with 4 outputs/);
});

test('weights round trip through safetensors', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tatami-models-'));
  try {
    const a = models.mobilenet_v3_small({ numClasses: 5 });
    await tt.saveSafetensors(join(dir, 'm.safetensors'), a.stateDict());
    const b = models.mobilenet_v3_small({ numClasses: 5 });
    b.loadStateDict(await tt.loadSafetensors(join(dir, 'm.safetensors')));
    const x = tt.randn([1, 3, 32, 32]);
    a.eval();
    b.eval();
    assert.deepEqual(
      Array.from(tt.noGrad(() => a.forward(x)).dataView()),
      Array.from(tt.noGrad(() => b.forward(x)).dataView()),
    );
    assert.throws(
      () => models.mobilenet_v3_small({ numClasses: 6 }).loadStateDict(a.stateDict()),
      /size mismatch for classifier\.3\.weight/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('small_vgg: 870,826 parameters, PyTorch nn.Sequential names, and training steps lower the loss', () => {
  tt.manualSeed(0);
  const m = models.getModel('small_vgg') as tt.nn.Sequential;
  assert.equal(m.numParameters(), 870_826);
  const keys = Object.keys(m.stateDict());
  for (const k of [
    '0.weight',
    '1.running_mean',
    '3.weight',
    '7.weight',
    '10.weight',
    '11.num_batches_tracked',
    '15.weight',
    '18.bias',
  ]) {
    assert.ok(keys.includes(k), k);
  }
  assert.ok(!keys.includes('0.bias'), 'no conv bias in front of BatchNorm');
  assert.equal(
    models.smallVgg({ widths: [8, 16], hidden: 32, dropout: 0, numClasses: 3 }).numParameters(),
    72 + 16 + 576 + 16 + 1152 + 32 + 2304 + 32 + (16 * 49 * 32 + 32) + (32 * 3 + 3),
  );
  assert.throws(() => models.smallVgg({ imageSize: 30 }), /divisible by 4/);
  assert.throws(() => models.smallVgg({ dropout: 1 }), /dropout/);
  const x = tt.rand([16, 1, 28, 28]);
  const y = tt.tensor(
    Int32Array.from({ length: 16 }, (_, i) => i % 10),
    [16],
    { dtype: 'int32' },
  );
  const opt = new tt.optim.Adam(m.parameters(), { lr: 1e-3 });
  const losses: number[] = [];
  for (let step = 0; step < 4; step++) {
    opt.zeroGrad();
    const loss = tt.F.crossEntropy(m.forward(x), y);
    loss.backward();
    for (const p of m.parameters()) assert.ok(Array.from(p.grad!.dataView()).every(Number.isFinite));
    opt.step();
    losses.push(loss.item());
  }
  assert.ok(losses[3] < losses[0] - 0.1, `loss ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
});
