/**
 * Child program of core.test.ts's unfilled-storage test (not a test file itself): runs forward and backward through
 * every op family whose outputs are allocated without a zero fill and prints a checksum of each result. The test
 * runs it with and without TATAMI_POISON=1 (unfilled storage pre-filled with NaN); a kernel that reads or leaves
 * part of an output it was meant to overwrite makes the two runs differ.
 */
import * as tt from '../src/index.ts';

tt.manualSeed(0);
const results: Record<string, number> = {};
const checksum = (t: tt.Tensor) => {
  const d = t.contiguous().dataView();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += Number(d[i]) * (1 + (i % 7));
  return s;
};
const leaf = (shape: number[]) => tt.randn(shape).requiresGrad_(true);

// every shape is large enough (≥ 16 KiB) that its output takes the unfilled path
const x = leaf([4, 16, 24, 24]);
const w = leaf([32, 16, 3, 3]);
const b = leaf([32]);
const gamma = leaf([32]);
const beta = leaf([32]);
const wt = leaf([32, 8, 4, 4]);
const lin = leaf([10, 8 * 12 * 12]);

let h = tt.F.conv2d(x, w, b, { padding: 1 });
h = tt.F.batchNorm(h, null, null, { weight: gamma, bias: beta, training: true });
h = tt.F.relu(h);
const [pooled, indices] = tt.F.maxPool2d(h, 2, { returnIndices: true });
const unpooled = tt.F.maxUnpool2d(pooled, indices, 2);
const avg = tt.F.avgPool2d(unpooled, 2);
const up = tt.F.convTranspose2d(avg, wt, null, { stride: 2, padding: 1 });
const adaptive = tt.F.adaptiveAvgPool2d(up, 12).add(tt.F.adaptiveMaxPool2d(up, 12));
const soft = tt.F.softmax(adaptive.sigmoid().mul(adaptive.tanh()), 1);
const logits = tt.F.linear(soft.flatten(1), lin);
// channel concatenation and both interpolation modes (segmentation decoders)
const joined = tt.cat([up, up.mul(2)], 1);
const resized = tt.F.interpolate(joined, { size: [37, 29], mode: 'bilinear', alignCorners: false }).add(
  tt.F.interpolate(joined, { size: [37, 29], mode: 'nearest' }),
);
const loss = tt.F.crossEntropy(logits, tt.tensor([1, 3, 5, 7], { dtype: 'int32' }))
  .add(up.std().mul(0.1))
  .add(resized.square().mean())
  .add(h.clone().transpose(2, 3).contiguous().mean());
loss.backward();

for (const [name, t] of Object.entries({ h, pooled, unpooled, avg, up, adaptive, soft, logits, joined, resized, loss }))
  results[name] = checksum(t);
for (const [name, t] of Object.entries({ x, w, b, gamma, beta, wt, lin })) results[`grad ${name}`] = checksum(t.grad!);
console.log(JSON.stringify(results));
