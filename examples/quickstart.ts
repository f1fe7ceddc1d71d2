// Placeholder-free interim example until the conv/pool/loss ops are merged: a linear softmax classifier step.
import * as tt from '../src/index.ts';

tt.manualSeed(0);
const x = tt.randn([8, 12]);
const w = tt.randn([4, 12], { requiresGrad: true });
const labels = tt.tensor(Int32Array.from([0, 3, 1, 2, 0, 1, 2, 3]), [8], { dtype: 'int32' });
const logp = tt.F.linear(x, w).logSoftmax(1);
const loss = tt.gather(logp, 1, labels.reshape(8, 1)).mean().neg();
loss.backward();
console.log(`backend ${tt.getBackendName()}: loss ${loss.item().toFixed(4)}, w.grad ${JSON.stringify(w.grad!.shape)}`);
