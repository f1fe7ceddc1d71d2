// W6 per-op CPU time, one thread: each op of the U-Net training step (batch 4, 128×128) and of DeepLabv3-ResNet-50
// inference (1×3×256×256, maps 32×32 at output stride 8) timed alone, median of `reps` after a warm-up, with its
// FLOPs. Pair it with tools/w6_ops.py (PyTorch, same ops, same protocol) and compare line by line:
//   TATAMI_NUM_THREADS=1 node --import tsx tools/w6-ops.ts [filter]; /usr/bin/python3 tools/w6_ops.py [filter]
// Prints `name ms GFLOP/s` per op (GFLOP/s counted in direct-convolution FLOPs, dead taps included).
import * as tt from '../src/index.ts';
import { backend } from '../src/backend/index.ts';
import { convGeometry } from '../src/backend/selfcheck.ts';
import type { Conv2dGeometry } from '../src/backend/types.ts';
import { medianMs } from './cpu-time.ts';

const filter = process.argv[2] ?? '';
const reps = Number(process.env.W6_OPS_REPS ?? 3);
const g0 = new tt.Generator(0);
const rnd = (n: number) => tt.randn([n], { generator: g0 }).dataView() as Float32Array;

const med = (f: () => void) => medianMs(f, reps);

function report(name: string, f: () => void, flops = 0): void {
  if (!name.includes(filter)) return;
  const ms = med(f);
  console.log(
    `${name.padEnd(40)} ${ms.toFixed(2).padStart(9)} ms ${flops ? (flops / ms / 1e6).toFixed(1).padStart(7) : '      -'}`,
  );
}

/** Forward, input gradient and weight gradient of one conv geometry, on the backend's kernels. */
function conv(name: string, g: Conv2dGeometry, dirs = ['fwd', 'bwd-in', 'bwd-w']): void {
  const x = rnd(g.n * g.c * g.h * g.w),
    w = rnd(g.oc * (g.c / g.groups) * g.kh * g.kw),
    gy = rnd(g.n * g.oc * g.oh * g.ow);
  const y = new Float32Array(gy.length),
    gx = new Float32Array(x.length),
    gw = new Float32Array(w.length);
  const flops = 2 * g.n * g.oc * g.oh * g.ow * (g.c / g.groups) * g.kh * g.kw;
  const b = backend();
  if (dirs.includes('fwd')) report(`${name} fwd`, () => b.conv2d(x, w, null, y, g, 'none', null), flops);
  if (dirs.includes('bwd-in')) report(`${name} bwd-in`, () => b.conv2dBackwardInput(gy, w, gx, g), flops);
  if (dirs.includes('bwd-w')) report(`${name} bwd-w`, () => b.conv2dBackwardWeight(x, gy, gw, g), flops);
}

// ---- U-Net (batch 4) ----
for (const [c, oc, h] of [
  [32, 32, 128],
  [64, 32, 128],
  [64, 64, 64],
  [128, 128, 32],
  [256, 256, 16],
  [512, 512, 8],
])
  conv(`unet conv3x3 ${c}->${oc} @${h}`, convGeometry(4, c, h, h, oc, 3, { pad: 1 }));
{
  // ConvTranspose2d(64, 32, 2, stride 2) from 64×64 to 128×128 is the input gradient of Conv2d(32, 64, 2, stride 2)
  const g = convGeometry(4, 32, 128, 128, 64, 2, { stride: 2 });
  const x = rnd(4 * 64 * 64 * 64),
    w = rnd(64 * 32 * 4),
    gy = rnd(4 * 32 * 128 * 128);
  const out = new Float32Array(gy.length),
    gx = new Float32Array(x.length),
    gw = new Float32Array(w.length);
  const flops = 2 * 4 * 64 * 64 * 64 * 32 * 4;
  const b = backend();
  report('unet convT2x2/2 64->32 @64 fwd', () => b.conv2dBackwardInput(x, w, out, g), flops);
  report('unet convT2x2/2 64->32 @64 bwd-in', () => b.conv2d(gy, w, null, gx, g, 'none', null), flops);
  report('unet convT2x2/2 64->32 @64 bwd-w', () => b.conv2dBackwardWeight(gy, x, gw, g), flops);
}
{
  const a = tt.randn([4, 32, 128, 128]),
    b = tt.randn([4, 32, 128, 128]);
  report('unet cat 2x[4,32,128,128]', () => void tt.cat([a, b], 1));
  const xr = tt.randn([4, 32, 128, 128]).requiresGrad_(true);
  const bn = new tt.nn.BatchNorm2d(32);
  bn.train();
  const gy = tt.randn([4, 32, 128, 128]);
  report('unet batchnorm [4,32,128,128] fwd', () => void tt.noGrad(() => bn.forward(xr)));
  report('unet batchnorm [4,32,128,128] fwd+bwd', () => bn.forward(xr).backward(gy));
  report('unet relu [4,32,128,128] fwd', () => void tt.noGrad(() => tt.F.relu(xr)));
  report('unet relu [4,32,128,128] fwd+bwd', () => tt.F.relu(xr).backward(gy));
  const logits = tt.randn([4, 3, 128, 128]).requiresGrad_(true);
  const target = tt.randint(0, 3, [4, 128, 128]);
  report('unet cross-entropy [4,3,128,128] fwd+bwd', () => tt.F.crossEntropy(logits, target).backward());
  const params = tt.models.segmentation.unet().parameters();
  for (const p of params) p.grad = tt.randn(p.shape).mul(1e-3);
  const opt = new tt.optim.Adam(params, { lr: 1e-3 });
  report('unet adam 7.76M params', () => opt.step());
}
// ---- DeepLabv3-ResNet-50 inference (batch 1, 32×32 maps) ----
for (const d of [12, 24, 36])
  conv(`deeplab aspp 2048->256 d${d} @32`, convGeometry(1, 2048, 32, 32, 256, 3, { pad: d, dilation: d }), ['fwd']);
conv('deeplab layer4 512->512 d4 @32', convGeometry(1, 512, 32, 32, 512, 3, { pad: 4, dilation: 4 }), ['fwd']);
conv('deeplab layer4 512->512 d2 @32', convGeometry(1, 512, 32, 32, 512, 3, { pad: 2, dilation: 2 }), ['fwd']);
conv('deeplab layer3 256->256 d2 @32', convGeometry(1, 256, 32, 32, 256, 3, { pad: 2, dilation: 2 }), ['fwd']);
conv('deeplab 1x1 1024->2048 @32', convGeometry(1, 1024, 32, 32, 2048, 1), ['fwd']);
conv('deeplab 1x1 2048->512 @32', convGeometry(1, 2048, 32, 32, 512, 1), ['fwd']);
{
  const x = tt.randn([1, 21, 32, 32]);
  report(
    'deeplab bilinear 21x32x32 -> 256x256',
    () => void tt.noGrad(() => tt.F.interpolate(x, { size: [256, 256], mode: 'bilinear', alignCorners: false })),
  );
}
