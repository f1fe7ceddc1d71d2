/** Feature extraction and the segmentation models' shapes, parameter counts and behaviour (no PyTorch needed). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.js';

const { nn } = tt;
const M = tt.models;

describe('feature extraction', () => {
  test('createFeatureExtractor returns named maps with gradients and stops after the last one', () => {
    tt.manualSeed(0);
    const net = new nn.Sequential(
      new nn.Conv2d(2, 4, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(4, 3, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(3, 5, 1),
    );
    const last = net.at(4);
    let ranLast = false;
    last.registerForwardPreHook(() => {
      ranLast = true;
    });
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
    assert.throws(
      () => M.createFeatureExtractor(m, { returnNodes: ['layer9'] }),
      /'layer9' is not a submodule of ResNet/,
    );
    assert.throws(() => new M.IntermediateLayerGetter(m, { layer9: 'out' }), /'layer9' are not children of the model/);
    assert.throws(
      () => new M.IntermediateLayerGetter(m, { layer1: 'x', layer2: 'x' }),
      /output key 'x' is used for more than one/,
    );
    assert.throws(() => new M.IntermediateLayerGetter(m, {}), /at least one/);
  });

  test('IntermediateLayerGetter keeps the children up to the last requested one, and trains', () => {
    tt.manualSeed(2);
    const m = M.resnet18();
    const body = new M.IntermediateLayerGetter(m, { layer2: 'feat' });
    assert.deepEqual(
      body.namedChildren().map(([n]) => n),
      ['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2'],
    );
    const f = body.forward(tt.randn([2, 3, 32, 32]));
    assert.deepEqual(f.feat.shape, [2, 128, 4, 4]);
    tt.mean(f.feat).backward();
    assert.ok(m.conv1.weight.grad !== null);
  });

  test('replaceStrideWithDilation gives output stride 16 and 8; MobileNetV3 dilated gives 16', () => {
    const x = tt.randn([1, 3, 64, 64]);
    for (const [rswd, size] of [
      [[false, false, false], 2],
      [[false, false, true], 4],
      [[false, true, true], 8],
    ] as const) {
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
  test("parameter counts are torchvision 0.14's (21 classes)", () => {
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

describe('paper segmentation models', () => {
  const S = M.segmentation;

  test("U-Net: the W6 model by default (7,763,107 parameters), the paper's unpadded one, options", () => {
    const w6 = S.unet();
    assert.equal(w6.numParameters(), 7763107);
    assert.deepEqual(
      w6.namedChildren().map(([n]) => n),
      ['down', 'up', 'dec', 'head'],
    );
    assert.equal(
      S.unet({ baseChannels: 64, padding: 'valid', batchNorm: false, numClasses: 2 }).numParameters(),
      31031810,
    );
    const paper = S.unet({ baseChannels: 2, padding: 'valid', batchNorm: false, numClasses: 2 });
    assert.equal(paper.outputSize(572), 388); // the paper's Fig. 1
    tt.manualSeed(4);
    assert.deepEqual(paper.forward(tt.randn([1, 3, 188, 188])).out.shape, [1, 2, 4, 4]);
    assert.throws(() => paper.forward(tt.randn([1, 3, 190, 190])), /does not halve evenly/);
    // 'same' padding keeps odd sizes; bilinear upsampling; deep supervision adds depth−1 aux maps at full size.
    const ds = S.unet({ baseChannels: 4, upsampling: 'bilinear', deepSupervision: true, numClasses: 5 });
    const r = ds.forward(tt.randn([2, 3, 37, 45]));
    assert.deepEqual(r.out.shape, [2, 5, 37, 45]);
    assert.equal((r.aux as tt.Tensor[]).length, 3);
    for (const a of r.aux as tt.Tensor[]) assert.deepEqual(a.shape, [2, 5, 37, 45]);
    tt.mean(r.out).backward();
    assert.ok(
      ds.down
        .at(0)
        .parameters()
        .every((p) => p.grad !== null),
    );
    assert.throws(() => S.unet({ depth: 0 }), /depth must be a positive integer/);
    assert.throws(() => S.unet({ upsampling: 'nearest' as never }), /upsampling must be 'transpose' or 'bilinear'/);
    assert.throws(() => w6.forward(tt.randn([1, 1, 32, 32])), /expected images \[N, 3, H, W\]/);
  });

  test('U-Net valid mode centre-crops the skip', () => {
    const x = tt.arange(0, 36).reshape([1, 1, 6, 6]);
    const [skip, up] = S.matchSkip(x, tt.zeros([1, 1, 2, 2]), 'valid');
    assert.deepEqual(Array.from(skip.contiguous().dataView()), [14, 15, 20, 21]);
    assert.deepEqual(up.shape, [1, 1, 2, 2]);
    const [, padded] = S.matchSkip(tt.zeros([1, 1, 5, 5]), tt.ones([1, 1, 4, 4]));
    assert.deepEqual(padded.shape, [1, 1, 5, 5]);
  });

  test('UNet++: nested nodes, deep supervision heads on X^{0,j}', () => {
    assert.equal(S.unetPlusPlus().numParameters(), 9045891);
    const m = S.unetPlusPlus({ baseChannels: 4, depth: 3, deepSupervision: true, numClasses: 2 });
    const names = m.namedChildren().map(([n]) => n);
    for (const n of ['conv0_0', 'conv3_0', 'conv0_3', 'conv1_2', 'conv2_1', 'up0_3', 'head1', 'head3'])
      assert.ok(names.includes(n), n);
    assert.ok(!names.includes('conv1_3'));
    // X^{0,3} sees X^{0,0}, X^{0,1}, X^{0,2} and the upsampled X^{1,2}: 4·4 input channels.
    assert.equal((m.getSubmodule('conv0_3.0') as tt.nn.Conv2d).inChannels, 16);
    const r = m.forward(tt.randn([1, 3, 20, 28]));
    assert.deepEqual(r.out.shape, [1, 2, 20, 28]);
    assert.equal((r.aux as tt.Tensor[]).length, 2);
  });

  test("SegNet: VGG-16-BN encoder layout, decoder unpools with the encoder's indices", () => {
    tt.manualSeed(5);
    const m = S.segnet({ numClasses: 4 });
    assert.equal(S.segnet().numParameters(), 29451413);
    // The encoder is torchvision's vgg16_bn().features: its state dict loads unchanged.
    assert.deepEqual(m.features.loadStateDict(M.vgg16_bn({ initWeights: false }).features.stateDict()), {
      missingKeys: [],
      unexpectedKeys: [],
    });
    let encoded: tt.Tensor | null = null,
      unpooled: tt.Tensor | null = null;
    m.features.at(42).registerForwardHook((_m, _i, out) => {
      encoded = out as tt.Tensor;
    });
    m.decoder.at(0).registerForwardPreHook((_m, inputs) => {
      unpooled = inputs[0] as tt.Tensor;
    });
    const r = m.forward(tt.randn([1, 3, 64, 96]));
    assert.deepEqual(r.out.shape, [1, 4, 64, 96]);
    const e = encoded!,
      u = unpooled!;
    assert.deepEqual(u.shape, e.shape);
    const ev = e.dataView(),
      uv = u.dataView();
    const [C, H, W] = e.shape.slice(1);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i += 2) {
        for (let j = 0; j < W; j += 2) {
          let mx = -Infinity,
            nz = 0,
            kept = 0;
          for (const [di, dj] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ]) {
            const k = (c * H + i + di) * W + j + dj;
            mx = Math.max(mx, ev[k]);
            if (uv[k] !== 0) {
              nz++;
              kept = uv[k];
            }
          }
          assert.ok(nz <= 1, 'one value per pooling window');
          if (mx !== 0) assert.equal(kept, mx, 'the window maximum, at its argmax');
        }
      }
    }
  });

  test('DeepLabv3+: ASPP rates follow the output stride; separable convs; MobileNetV2 backbone', () => {
    const rates = (m: tt.models.segmentation.DeepLabV3Plus) =>
      [1, 2, 3].map(
        (i) =>
          (
            m.classifier.aspp.convs
              .at(i)
              .modules()
              .find((c) => c instanceof tt.nn.Conv2d) as tt.nn.Conv2d
          ).dilation[0],
      );
    const m16 = S.deeplabv3plus({ backbone: 'mobilenet_v2', numClasses: 3 });
    assert.deepEqual(rates(m16), [6, 12, 18]);
    assert.deepEqual(rates(S.deeplabv3plus({ backbone: 'mobilenet_v2', outputStride: 8 })), [12, 24, 36]);
    assert.ok(m16.classifier.aspp.convs.at(1) instanceof S.SeparableASPPConv);
    assert.equal(S.deeplabv3plus({ backbone: 'mobilenet_v2' }).numParameters(), 2719813);
    assert.equal(S.deeplabv3plus().numParameters(), 26696133);
    tt.manualSeed(6);
    m16.eval();
    for (const [os, size] of [
      [16, 4],
      [8, 8],
    ] as const) {
      const m = S.deeplabv3plus({ backbone: 'mobilenet_v2', outputStride: os });
      m.eval();
      const f = tt.noGrad(() => m.backbone.forward(tt.randn([1, 3, 64, 64])));
      assert.deepEqual(f.out.shape, [1, 320, size, size]);
      assert.deepEqual(f.low.shape, [1, 24, 16, 16]);
    }
    m16.train();
    const r = m16.forward(tt.randn([2, 3, 48, 40]));
    assert.deepEqual(r.out.shape, [2, 3, 48, 40]);
    tt.mean(r.out).backward();
    assert.ok(m16.classifier.project.parameters().every((p) => p.grad !== null));
    assert.throws(() => S.deeplabv3plus({ outputStride: 32 as never }), /outputStride must be 8 or 16/);
  });

  test('FCN-VGG: bilinear transposed-conv init, variants and sizes', () => {
    const t = S.bilinearKernel_(new tt.nn.ConvTranspose2d(2, 2, 4, { stride: 2, bias: false }));
    const y = tt.noGrad(() => t.forward(tt.ones([1, 2, 5, 5])));
    // Bilinear upsampling of a constant is constant away from the border.
    const v = y.dataView(),
      Wd = y.shape[3];
    for (let i = 2; i < 10; i++) for (let j = 2; j < 10; j++) assert.ok(Math.abs(v[i * Wd + j] - 1) < 1e-6);
    const m = S.fcn8s({ numClasses: 3 });
    assert.ok(
      ['score_pool3', 'score_pool4', 'upscore2', 'upscore_pool4', 'upscore8', 'score_fr'].every((n) =>
        m.namedChildren().some(([k]) => k === n),
      ),
    );
    m.eval();
    assert.deepEqual(tt.noGrad(() => m.forward(tt.randn([1, 3, 37, 50]))).out.shape, [1, 3, 37, 50]);
  });
});
