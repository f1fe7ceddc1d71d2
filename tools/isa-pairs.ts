/**
 * One channels-last convolution on two native builds in one process (by default the AVX2 build against the AVX-512
 * one), calls alternated in blocks and the paired time ratios' median printed: on a shared machine whose whole-model
 * timings swing by a fifth within minutes, a ratio of neighbouring blocks still holds (docs/kernels.md,
 * thirty-second session). Each build packs its own weights; both run the same input with a bias and ReLU6.
 *
 * Usage: npx tsx tools/isa-pairs.ts [--specs "C,OC,H,K,S,DW;…"] [--builds avx512,avx2] [--threads 1] [--blocks 15]
 * (C input channels, OC output channels, an H×H map at batch 1, a K×K kernel of stride S, DW 1 for depthwise).
 * With --model NAME [--batch B] a whole W2/W10 model instead: one fused model per build (each its own packed
 * weights), their forwards alternated in blocks of --calls (default 6) after a short pause, the median of the paired
 * ratios of the blocks' medians printed.
 */
import { noGrad, randn, setNumThreads } from '../src/index.js';
import { setBackend } from '../src/backend/index.js';
import { buildInferenceModel } from '../bench/inference.js';
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
const pairedRatios = (times: number[][]) =>
  times.slice(1).map((t, v) => `${builds[v + 1]}/${builds[0]} ${median(t.map((u, i) => u / times[0][i])).toFixed(3)}`);

if (args.includes('--model')) {
  const name = opt('model', 'mobilenet_v3_large');
  const batch = Number(opt('batch', '8'));
  const calls = Number(opt('calls', '6'));
  const x = randn([batch, 3, 224, 224]);
  const models = backends.map((b) => {
    setBackend(b);
    const m = buildInferenceModel(name, true);
    noGrad(() => m.forward(x));
    return m;
  });
  const times: number[][] = backends.map(() => []);
  for (let r = 0; r < blocks; r++)
    for (let k = 0; k < backends.length; k++) {
      const v = (k + r) % backends.length; // alternate which build goes first
      setBackend(backends[v]);
      await new Promise((resolve) => setTimeout(resolve, 30)); // the other build's pool workers stop spinning
      noGrad(() => models[v].forward(x));
      const ts: number[] = [];
      for (let i = 0; i < calls; i++) {
        const t = performance.now();
        noGrad(() => models[v].forward(x));
        ts.push(performance.now() - t);
      }
      times[v].push(median(ts));
    }
  const ms = times.map((t, v) => `${builds[v]} ${median(t).toFixed(2)} ms`).join('  ');
  console.log(`${name} b${batch}: ${ms}  time ${pairedRatios(times).join(' ')}`);
  process.exit(0);
}

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
  console.log(`${spec.padEnd(22)} ${rates}  time ${pairedRatios(times).join(' ')}`);
}
