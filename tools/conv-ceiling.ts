/**
 * How close do the forward convolution kernels come to the machine's ceiling? Times `conv2d` on the active backend
 * for the shapes issue 20 names — W1's forward (3×3, 64→64 at 56², batch 8), MobileNetV2's depthwise 3×3 at stride
 * 1 and 2, and 1×1 convolutions at batch 1 and 8 — and prints GFLOP/s (direct-convolution FLOPs: 2·MACs), the
 * fraction of the FMA ceiling for the thread count, and for the memory-bound depthwise layers the bytes moved
 * (input + output + weights, each once) per second.
 *
 * Usage: TATAMI_NUM_THREADS=1 npx tsx tools/conv-ceiling.ts [--peak GFLOPS] [--cpu] [--reps N]
 *   --peak: the FMA ceiling of ALL cores in GFLOP/s (default 416.6: AVX-512 on the 2-core Zen 5 of
 *           bench/README.md, from ../shared/bench/peak_flops.c); scaled by threads / cores.
 *   --cpu:  time by process CPU time (a loaded machine, one thread), else the wall clock.
 */
import os from 'node:os';
import * as tt from '../src/index.js';
import { backend } from '../src/backend/index.js';
import { convPlanOf } from '../src/backend/conv-plan.js';
import type { Conv2dGeometry } from '../src/backend/types.js';
import { cpuMs, medianMs } from './cpu-time.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const peakAll = arg('--peak', 416.6);
const reps = arg('--reps', 15);
const cpu = process.argv.includes('--cpu');
const threads = tt.getNumThreads();
const peak = (peakAll * Math.min(threads, os.availableParallelism())) / os.availableParallelism();
const now = cpu ? cpuMs : () => performance.now();

/** A forward geometry: `n c h×w → oc, k×k / stride, pad, groups`. */
function geom(n: number, c: number, hw: number, oc: number, k: number, stride = 1, groups = 1): Conv2dGeometry {
  const pad = (k - 1) >> 1,
    o = Math.floor((hw + 2 * pad - k) / stride) + 1;
  return {
    n,
    c,
    h: hw,
    w: hw,
    oc,
    kh: k,
    kw: k,
    oh: o,
    ow: o,
    strideH: stride,
    strideW: stride,
    padH: pad,
    padW: pad,
    dilationH: 1,
    dilationW: 1,
    groups,
  };
}

const CASES: [string, Conv2dGeometry][] = [
  ['W1 forward 3×3 64→64 @56² ×8', geom(8, 64, 56, 64, 3)],
  ['depthwise 3×3/1 144 @56² ×1', geom(1, 144, 56, 144, 3, 1, 144)],
  ['depthwise 3×3/1 32 @112² ×1', geom(1, 32, 112, 32, 3, 1, 32)],
  ['depthwise 3×3/1 384 @14² ×1', geom(1, 384, 14, 384, 3, 1, 384)],
  ['depthwise 3×3/1 960 @7² ×1', geom(1, 960, 7, 960, 3, 1, 960)],
  ['depthwise 3×3/2 96 @112² ×1', geom(1, 96, 112, 96, 3, 2, 96)],
  ['depthwise 3×3/2 144 @56² ×1', geom(1, 144, 56, 144, 3, 2, 144)],
  ['1×1 16→96 @112² ×1', geom(1, 16, 112, 96, 1)],
  ['1×1 144→24 @56² ×1', geom(1, 144, 56, 24, 1)],
  ['1×1 96→576 @14² ×1', geom(1, 96, 14, 576, 1)],
  ['1×1 960→160 @7² ×1', geom(1, 960, 7, 160, 1)],
  ['1×1 64→256 @56² ×8 (ResNet-50)', geom(8, 64, 56, 256, 1)],
  ['1×1 256→64 @56² ×1 (ResNet-50)', geom(1, 256, 56, 64, 1)],
  ['1×1 1024→256 @14² ×8 (ResNet-50)', geom(8, 1024, 14, 256, 1)],
];

const b = backend();
console.log(
  `${b.name}, ${threads} thread(s), ceiling ${peak.toFixed(1)} GFLOP/s (${peakAll} for ${os.availableParallelism()} cores), ${cpu ? 'CPU time' : 'wall clock'}, median of ${reps}`,
);
console.log(
  `${'shape'.padEnd(36)} ${'plan'.padEnd(13)} ${'ms'.padStart(8)} ${'GFLOP/s'.padStart(8)} ${'ceiling'.padStart(8)} ${'GB/s'.padStart(7)}`,
);
for (const [name, g] of CASES) {
  tt.manualSeed(0);
  const x = tt.randn([g.n, g.c, g.h, g.w]).dataView() as Float32Array;
  const w = tt.randn([g.oc, g.c / g.groups, g.kh, g.kw]).dataView() as Float32Array;
  const bias = tt.randn([g.oc]).dataView() as Float32Array;
  const out = new Float32Array(g.n * g.oc * g.oh * g.ow);
  const run = () => b.conv2d(x, w, bias, out, g, 'relu');
  const ms = medianMs(run, reps, 2, now);
  const flops = 2 * g.n * g.oc * g.oh * g.ow * (g.c / g.groups) * g.kh * g.kw;
  const bytes = 4 * (x.length + w.length + out.length);
  const gf = flops / ms / 1e6;
  console.log(
    `${name.padEnd(36)} ${String(convPlanOf(b, g, 'forward') ?? '-').padEnd(13)} ${ms.toFixed(3).padStart(8)} ${gf.toFixed(1).padStart(8)} ${`${((100 * gf) / peak).toFixed(1)}%`.padStart(8)} ${(bytes / ms / 1e6).toFixed(1).padStart(7)}`,
  );
}
