/**
 * One channels-last convolution on two native builds in one process (by default the AVX2 build against the AVX-512
 * one), calls alternated in blocks and the paired time ratios' median printed: on a shared machine whose whole-model
 * timings swing by a fifth within minutes, a ratio of neighbouring blocks still holds (docs/kernels.md,
 * thirty-second session). Each build packs its own weights; both run the same input with a bias and ReLU6.
 *
 * Usage: npx tsx tools/isa-pairs.ts [--specs "C,OC,H,K,S,DW;…"] [--builds avx512,avx2] [--threads 1] [--blocks 15]
 * (C input channels, OC output channels, an H×H map at batch 1, a K×K kernel of stride S, DW 1 for depthwise).
 */
import { setNumThreads } from '../src/index.js';
import { loadNativeVariant, nativeIsas, type NativeIsa } from '../src/backend/native.js';
import { convGeometryOf } from '../src/backend/conv-plan.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const specs = opt('specs', '960,160,7,1,1,0;672,672,14,5,2,1;64,64,112,3,2,1').split(';');
const builds = opt('builds', 'avx512,avx2').split(',') as NativeIsa[];
const blocks = Number(opt('blocks', '15'));
setNumThreads(Number(opt('threads', '1')));
const missing = builds.filter((b) => !nativeIsas().includes(b));
if (missing.length) throw new Error(`isa-pairs: build(s) ${missing.join(', ')} not available here (${nativeIsas()})`);

const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const backends = builds.map((b) => loadNativeVariant(b));
for (const spec of specs) {
  const [c, oc, h, k, s, dw] = spec.split(',').map(Number);
  if (![c, oc, h, k, s].every((v) => Number.isInteger(v) && v > 0) || (dw && c !== oc))
    throw new Error(`isa-pairs: spec "${spec}" is not C,OC,H,K,S,DW (positive integers; depthwise needs C = OC)`);
  const groups = dw ? c : 1;
  const g = convGeometryOf({ n: 1, c, h, w: h, oc, kh: k, kw: k, stride: s, padding: k >> 1, dilation: 1, groups });
  const w = Float32Array.from({ length: ((oc * c) / groups) * k * k }, () => Math.random() - 0.5);
  const x = Float32Array.from({ length: h * h * c }, () => Math.random());
  const out = new Float32Array(g.oh * g.ow * oc);
  const bias = new Float32Array(oc).fill(0.1);
  const packed = backends.map((b) => b.packConv2dNhwc!(w, g)!);
  const flops = ((2 * c) / groups) * oc * k * k * g.oh * g.ow;
  const calls = Math.max(5, Math.round(3e8 / flops)); // ~0.3 GFLOP a block
  const times: number[][] = backends.map(() => []);
  for (let r = 0; r < blocks; r++)
    backends.forEach((b, v) => {
      const run = () => b.conv2dNhwc!(x, packed[v], bias, null, null, out, g, 'relu6');
      for (let i = 0; i < 3; i++) run();
      const t = performance.now();
      for (let i = 0; i < calls; i++) run();
      times[v].push((performance.now() - t) / calls);
    });
  const rates = times.map((t, v) => `${builds[v]} ${(flops / median(t) / 1e6).toFixed(1)} GFLOP/s`).join('  ');
  const ratios = times
    .slice(1)
    .map((t, v) => `${builds[v + 1]}/${builds[0]} ${median(t.map((u, i) => u / times[0][i])).toFixed(3)}`);
  console.log(`${spec.padEnd(22)} ${rates}  time ${ratios.join(' ')}`);
}
