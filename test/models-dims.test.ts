/** 1-D and 3-D models: M5, ResNet1d, UNet3d — shapes, parameter counts, gradients, and that they can fit a batch. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const count = (m: tt.nn.Module) => m.parameters().reduce((a, p) => a + p.numel(), 0);

test('M5: Dai et al. 2017 layout, 559,114 parameters, [N, 1, L] → [N, classes]', () => {
  const m = tt.models.m5();
  assert.equal(count(m), 559_114);
  assert.deepEqual(m.conv1.weight.shape, [128, 1, 80]);
  assert.deepEqual(m.conv1.stride, [4]);
  assert.deepEqual(m.conv4.weight.shape, [512, 256, 3]);
  assert.deepEqual(tt.noGrad(() => m.eval().forward(tt.randn([2, 1, 4000]))).shape, [2, 10]);
  assert.deepEqual(
    tt.models.m5({ numClasses: 35, width: 32, firstStride: 16 }).forward(tt.randn([1, 1, 8000])).shape,
    [1, 35],
  );
});

test('ResNet1d and UNet3d: shapes on odd sizes, parameter counts', () => {
  const r = tt.models.resnet1d18({ numClasses: 5, width: 16 });
  assert.deepEqual(r.forward(tt.randn([2, 1, 999])).shape, [2, 5]);
  // stem 1·16·15, 4 stages of BasicBlock1d with k = 7, projections on stages 2–4, BN everywhere, fc 128·5 + 5
  assert.equal(count(tt.models.resnet1d18()), 8_731_978);
  assert.throws(() => new tt.models.ResNet1d({ kernelSize: 4 }), /ResNet1d: kernelSize must be odd/);
  const u = tt.models.unet3d({ features: [4, 8, 16], numClasses: 3 });
  assert.deepEqual(u.forward(tt.randn([1, 1, 7, 9, 10])).shape, [1, 3, 7, 9, 10]);
  assert.equal(count(tt.models.unet3d()), 1_401_282);
});

test('M5 and UNet3d fit a fixed batch (loss halves within 15 / 30 Adam steps)', () => {
  tt.manualSeed(0);
  // M5 on four waveforms (sines of different pitch) with four labels
  const m = tt.models.m5({ numClasses: 4, width: 16 });
  const t = tt.arange(0, 2000).float().div(8000);
  const x = tt.stack([220, 440, 880, 1760].map((f) => tt.sin(t.mul(2 * Math.PI * f)))).unsqueeze(1);
  const y = tt.tensor(Int32Array.from([0, 1, 2, 3]), [4], { dtype: 'int32' });
  const opt = new tt.optim.Adam(m.parameters(), { lr: 3e-3 });
  const losses: number[] = [];
  for (let i = 0; i < 15; i++) {
    opt.zeroGrad();
    const loss = tt.F.crossEntropy(m.forward(x), y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  assert.ok(losses[14] < losses[0] / 2, `M5 losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  // UNet3d segmenting a bright cube in noise
  const u = tt.models.unet3d({ features: [4, 8], numClasses: 2 });
  const vol = tt.randn([2, 1, 8, 8, 8]).mul(0.3);
  const mask = tt.zeros([2, 8, 8, 8], { dtype: 'int32' });
  for (let b = 0; b < 2; b++)
    for (let z = 2; z < 6; z++)
      for (let yy = 2; yy < 6; yy++)
        for (let xx = 2 + b; xx < 6 + b; xx++) {
          vol.storage[((b * 8 + z) * 8 + yy) * 8 + xx] += 1;
          mask.storage[((b * 8 + z) * 8 + yy) * 8 + xx] = 1;
        }
  const uo = new tt.optim.Adam(u.parameters(), { lr: 1e-2 });
  const ul: number[] = [];
  for (let i = 0; i < 30; i++) {
    uo.zeroGrad();
    const loss = tt.F.crossEntropy(u.forward(vol), mask);
    loss.backward();
    uo.step();
    ul.push(loss.item());
  }
  assert.ok(ul[29] < ul[0] / 2, `UNet3d losses ${ul.map((l) => l.toFixed(3)).join(' ')}`);
});
