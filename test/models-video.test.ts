/**
 * torchvision 0.14 video ResNets (r3d_18, mc3_18, r2plus1d_18): parameter counts, and parity — seeded random
 * torchvision weights with randomised batch-norm statistics (tools/export_torchvision.py --parity, one Python
 * process) → Tatami's builder + strict loadStateDict → logits on torchvision's 1×3×4×32×32 clip. Parity runs
 * only where PyTorch is importable by /usr/bin/python3 (CI installs it), as test/models-parity.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertTorchvisionParity, describeTorchvisionParity } from './helpers.ts';

const SIZE = 32;
const BUILDERS = { r3d_18: tt.models.r3d_18, mc3_18: tt.models.mc3_18, r2plus1d_18: tt.models.r2plus1d_18 };
const PARAMS = { r3d_18: 33_371_472, mc3_18: 11_695_440, r2plus1d_18: 31_505_325 };

test('video ResNets have torchvision parameter counts, names and a [N, classes] output', () => {
  for (const [name, build] of Object.entries(BUILDERS)) {
    const m = build();
    assert.equal(
      m.parameters().reduce((a, p) => a + p.numel(), 0),
      PARAMS[name as keyof typeof PARAMS],
      name,
    );
  }
  const names = Object.keys(tt.models.r2plus1d_18().stateDict());
  for (const k of [
    'stem.0.weight',
    'stem.4.running_var',
    'layer1.0.conv1.0.0.weight',
    'layer1.0.conv1.0.1.num_batches_tracked',
    'layer2.0.downsample.0.weight',
    'fc.bias',
  ]) {
    assert.ok(names.includes(k), `r2plus1d_18 state dict has ${k}`);
  }
  assert.ok(Object.keys(tt.models.mc3_18().stateDict()).includes('layer2.0.conv1.0.weight'));
  const m = tt.models.mc3_18({ numClasses: 5 }).eval();
  assert.deepEqual(tt.noGrad(() => m.forward(tt.randn([2, 3, 2, 16, 16]))).shape, [2, 5]);
});

test('r2plus1d_18 trains: one backward step reaches every parameter', () => {
  const m = tt.models.r2plus1d_18({ numClasses: 3 });
  const loss = tt.F.crossEntropy(
    m.forward(tt.randn([2, 3, 2, 16, 16])),
    tt.tensor(Int32Array.from([0, 2]), [2], { dtype: 'int32' }),
  );
  loss.backward();
  const named = m.namedParameters();
  assert.equal(named.length, m.parameters().length);
  for (const [name, p] of named) assert.ok(p.grad && p.grad.shape.join() === p.shape.join(), `no gradient for ${name}`);
});

describeTorchvisionParity(
  'torchvision video parity',
  Object.keys(BUILDERS).map((n) => `${n}:${SIZE}`),
  (dir) => {
    for (const [name, build] of Object.entries(BUILDERS)) {
      test(`${name} @4×${SIZE}² matches torchvision`, async () => {
        await assertTorchvisionParity(name, build(), dir(), [1, 3, 4, SIZE, SIZE]);
      });
    }
  },
);
