/** Feature extraction and the segmentation models' shapes, parameter counts and behaviour (no PyTorch needed). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.js';

const { nn } = tt;
const M = tt.models;

describe('feature extraction', () => {
  test('createFeatureExtractor returns named maps with gradients and stops after the last one', () => {
    tt.manualSeed(0);
    const net = new nn.Sequential(new nn.Conv2d(2, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(4, 3, 3, { padding: 1 }), new nn.ReLU(),
      new nn.Conv2d(3, 5, 1));
    const last = net.at(4);
    let ranLast = false;
    last.registerForwardPreHook(() => { ranLast = true; });
    const fx = M.createFeatureExtractor(net, { returnNodes: { 0: 'c0', 2: 'c2' } });
    const x = tt.randn([2, 2, 5, 6]);
    const f = fx.forward(x);
    assert.deepEqual(Object.keys(f), ['c0', 'c2']);
    assert.deepEqual(f.c0.shape, [2, 4, 5, 6]);
    assert.deepEqual(f.c2.shape, [2, 3, 5, 6]);
    assert.equal(ranLast, false, 'modules after the last requested node must not run');
    // Same values as running the layers by hand.
    const c0 = net.at(0).forward(x) as tt.Tensor;
    assert.ok(tt.allclose(f.c0, c0));
    assert.ok(tt.allclose(f.c2, net.at(2).forward(tt.relu(c0)) as tt.Tensor, { atol: 1e-6 }));
    // Gradients reach the parameters of the layers that produced the maps.
    tt.sum(f.c2).backward();
    const w0 = (net.at(0) as tt.nn.Conv2d).weight;
    assert.ok(w0.grad && Array.from(w0.grad.dataView()).some((v) => v !== 0));
    assert.equal((last as tt.nn.Conv2d).weight.grad, null);
    // State-dict names are the model's own.
    assert.deepEqual(Object.keys(fx.stateDict()), Object.keys(net.stateDict()));
  });

  test('a module called several times is named name, name_1, name_2 (torch.fx naming)', () => {
    tt.manualSeed(1);
    const m = M.resnet18({ numClasses: 3 });
    m.eval();
    const fx = M.createFeatureExtractor(m, { returnNodes: ['layer1.0.relu', 'layer1.0.relu_1'] });
    const x = tt.randn([1, 3, 32, 32]);
    const f = tt.noGrad(() => fx.forward(x));
    // relu's first call is after bn1 (inside conv1-bn1), its second the block's output.
    const b = m.layer1.at(0) as tt.models.BasicBlock;
    const stem = tt.noGrad(() => m.maxpool.forward(tt.relu(m.bn1.forward(m.conv1.forward(x)) as tt.Tensor)));
    const first = tt.noGrad(() => tt.relu(b.bn1.forward(b.conv1.forward(stem)) as tt.Tensor));
    assert.ok(tt.allclose(f['layer1.0.relu'], first, { atol: 1e-5 }));
    const blockOut = tt.noGrad(() => b.forward(stem));
    assert.ok(tt.allclose(f['layer1.0.relu_1'], blockOut, { atol: 1e-5 }));
  });

  test('errors name the missing node or layer', () => {
    const m = M.resnet18();
    assert.throws(() => M.createFeatureExtractor(m, { returnNodes: ['layer9'] }), /'layer9' is not a submodule of ResNet/);
    assert.throws(() => new M.IntermediateLayerGetter(m, { layer9: 'out' }), /'layer9' are not children of the model/);
    assert.throws(() => new M.IntermediateLayerGetter(m, { layer1: 'x', layer2: 'x' }), /output key 'x' is used for more than one/);
    assert.throws(() => new M.IntermediateLayerGetter(m, {}), /at least one/);
  });

  test('IntermediateLayerGetter keeps the children up to the last requested one, and trains', () => {
    tt.manualSeed(2);
    const m = M.resnet18();
    const body = new M.IntermediateLayerGetter(m, { layer2: 'feat' });
    assert.deepEqual(body.namedChildren().map(([n]) => n), ['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2']);
    const f = body.forward(tt.randn([2, 3, 32, 32]));
    assert.deepEqual(f.feat.shape, [2, 128, 4, 4]);
    tt.mean(f.feat).backward();
    assert.ok(m.conv1.weight.grad !== null);
  });

  test('replaceStrideWithDilation gives output stride 16 and 8; MobileNetV3 dilated gives 16', () => {
    const x = tt.randn([1, 3, 64, 64]);
    for (const [rswd, size] of [[[false, false, false], 2], [[false, false, true], 4], [[false, true, true], 8]] as const) {
      const m = M.resnet50({ replaceStrideWithDilation: [...rswd] });
      m.eval();
      const f = tt.noGrad(() => new M.IntermediateLayerGetter(m, { layer4: 'out' }).forward(x));
      assert.deepEqual(f.out.shape, [1, 2048, size, size], JSON.stringify(rswd));
    }
    const v3 = M.mobilenet_v3_large({ dilated: true });
    v3.eval();
    const f = tt.noGrad(() => v3.features.forward(x));
    assert.deepEqual(f.shape, [1, 960, 4, 4]);
    assert.deepEqual(M.segmentation.mobilenetStageIndices(v3.features), [0, 2, 4, 7, 13, 16]);
  });
});

describe('torchvision segmentation models', () => {
  test('parameter counts are torchvision 0.14\'s (21 classes)', () => {
    const S = M.segmentation;
    assert.equal(S.fcn_resnet50().numParameters(), 32957013);
    assert.equal(S.fcn_resnet50({ auxLoss: true }).numParameters(), 35322218);
    assert.equal(S.deeplabv3_resnet50().numParameters(), 39638869);
    assert.equal(S.deeplabv3_mobilenet_v3_large().numParameters(), 11025477);
    assert.equal(S.lraspp_mobilenet_v3_large().numParameters(), 3221538);
  });

  test('output dict at the input size, aux only with auxLoss; gradients flow in training', () => {
    tt.manualSeed(3);
    const m = M.segmentation.getSegmentationModel('deeplabv3_mobilenet_v3_large', { numClasses: 4, auxLoss: true });
    const x = tt.randn([2, 3, 40, 36]);
    const r = m.forward(x);
    assert.deepEqual(r.out.shape, [2, 4, 40, 36]);
    assert.deepEqual((r.aux as tt.Tensor).shape, [2, 4, 40, 36]);
    tt.add(tt.mean(r.out), tt.mean(r.aux as tt.Tensor)).backward();
    assert.ok(m.parameters().every((p) => p.grad !== null));
    const l = M.segmentation.lraspp_mobilenet_v3_large({ numClasses: 2 });
    l.eval();
    assert.deepEqual(Object.keys(tt.noGrad(() => l.forward(tt.randn([1, 3, 33, 47])))), ['out']);
    assert.throws(() => M.segmentation.lraspp_mobilenet_v3_large({ auxLoss: true }), /no auxiliary head/);
    assert.throws(() => l.forward(tt.randn([3, 33, 47])), /expected images \[N, C, H, W\], got \[3, 33, 47\]/);
  });
});
