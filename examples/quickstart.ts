// The README's first example: a convolution, pooling and a loss, with gradients — no dispose() anywhere.
import * as tt from 'tatami';

tt.manualSeed(0);
const x = tt.randn([8, 3, 32, 32], { requiresGrad: true });
const w = tt.randn([16, 3, 3, 3], { requiresGrad: true });
const y = tt.F.conv2d(x, w, null, { stride: 1, padding: 1 });
const p = tt.F.maxPool2d(y, 2, { stride: 2 });
const labels = tt.tensor(Int32Array.from([0, 3, 1, 2, 0, 1, 2, 3]), [8], { dtype: 'int32' });
const loss = tt.F.crossEntropy(p.mean([2, 3]), labels, { labelSmoothing: 0.1 });
loss.backward();
console.log(
  `backend ${tt.getBackendName()}: loss ${loss.item().toFixed(4)}, x.grad ${JSON.stringify(x.grad!.shape)}, w.grad norm ${w.grad!.square().sum().sqrt().item().toFixed(4)}`,
);
