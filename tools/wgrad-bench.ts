// Convolution weight gradient, one thread, CPU time: Tatami's conv2dBackwardWeight on the active backend against
// PyTorch's (tools/wgrad_bench.py, started as a child process and asked shape by shape, so the two sides alternate
// on the same machine state — on a loaded machine compare the ratio column, not the milliseconds).
//   TATAMI_NUM_THREADS=1 nice -n 19 node --import tsx tools/wgrad-bench.ts [filter] [--no-torch]
// Shapes: the W6 U-Net training step's 3×3 convolutions (batch 4 at 128²) and the YOLOX width-0.25 detection step's
// convolutions (examples/detect-scenes.ts, batch 8 at 128²) whose weight gradients cost the most. Prints per shape
// the plan, both medians (ms of `WGRAD_REPS` calls, default 5) and GFLOP/s counted as direct convolution.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';
import { backend } from '../src/backend/index.ts';
import { convPlanOf } from '../src/backend/conv-plan.ts';
import { convGeometry } from '../src/backend/selfcheck.ts';
import { medianMs } from './cpu-time.ts';

/** [name, n, c, h, oc, k, stride, pad] */
type Shape = [string, number, number, number, number, number, number, number];
const SHAPES: Shape[] = [
  ['W6 3x3 32->32 @128', 4, 32, 128, 32, 3, 1, 1],
  ['W6 3x3 64->32 @128', 4, 64, 128, 32, 3, 1, 1],
  ['W6 3x3 64->64 @64', 4, 64, 64, 64, 3, 1, 1],
  ['W6 3x3 128->128 @32', 4, 128, 32, 128, 3, 1, 1],
  ['W6 3x3 256->256 @16', 4, 256, 16, 256, 3, 1, 1],
  ['W6 3x3 512->512 @8', 4, 512, 8, 512, 3, 1, 1],
  ['YOLOX 3x3 64->64 @16', 8, 64, 16, 64, 3, 1, 1],
  ['YOLOX 3x3 32->32 @16', 8, 32, 16, 32, 3, 1, 1],
  ['YOLOX 3x3 64->64 @8', 8, 64, 8, 64, 3, 1, 1],
  ['YOLOX 3x3 12->16 @64', 8, 12, 64, 16, 3, 1, 1],
  ['YOLOX 3x3 64->64 @4', 8, 64, 4, 64, 3, 1, 1],
  ['YOLOX 3x3 128->128 @4', 8, 128, 4, 128, 3, 1, 1],
  ['YOLOX 3x3 16->16 @32', 8, 16, 32, 16, 3, 1, 1],
  ['YOLOX 3x3/2 128->256 @8', 8, 128, 8, 256, 3, 2, 1],
  ['YOLOX 3x3/2 16->32 @64', 8, 16, 64, 32, 3, 2, 1],
  ['YOLOX 3x3/2 32->64 @32', 8, 32, 32, 64, 3, 2, 1],
  ['YOLOX 3x3/2 64->128 @16', 8, 64, 16, 128, 3, 2, 1],
  ['YOLOX 1x1 256->128 @4', 8, 256, 4, 128, 1, 1, 0],
  ['YOLOX 1x1 64->64 @16', 8, 64, 16, 64, 1, 1, 0],
  ['YOLOX 1x1 128->64 @8', 8, 128, 8, 64, 1, 1, 0],
];

const args = process.argv.slice(2);
const filter = args.find((a) => !a.startsWith('--')) ?? '';
const withTorch = !args.includes('--no-torch');
const reps = Number(process.env.WGRAD_REPS ?? 5);
const g0 = new tt.Generator(0);
const rnd = (n: number) => tt.randn([n], { generator: g0 }).dataView() as Float32Array;

const med = (f: () => void) => medianMs(f, reps);

/** Asks the PyTorch server one question per call; null when it is not running. */
async function torchServer(): Promise<((q: string) => Promise<number>) | null> {
  if (!withTorch) return null;
  const py = spawn(
    process.env.PYTHON ?? '/usr/bin/python3',
    [fileURLToPath(new URL('wgrad_bench.py', import.meta.url))],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || first.value !== 'ready') {
    console.log('# PyTorch side not available (tools/wgrad_bench.py did not start): Tatami only');
    return null;
  }
  process.on('exit', () => py.kill());
  return async (q: string) => {
    py.stdin.write(`${q}\n`);
    const r = await lines.next();
    if (r.done) throw new Error('wgrad-bench: the PyTorch side exited');
    return Number(r.value);
  };
}

const torch = await torchServer();
const b = backend();
console.log(
  `# ${b.name}, one thread (TATAMI_NUM_THREADS=${process.env.TATAMI_NUM_THREADS ?? 'unset'}), median of ${reps}`,
);
console.log(
  `${'shape'.padEnd(26)} ${'plan'.padEnd(13)} ${'tatami ms'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'torch ms'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'torch/tt'.padStart(8)}`,
);
for (const [name, n, c, h, oc, k, s, p] of SHAPES) {
  if (!name.includes(filter)) continue;
  const g = convGeometry(n, c, h, h, oc, k, { stride: s, pad: p });
  const x = rnd(n * c * h * h),
    gy = rnd(n * oc * g.oh * g.ow),
    gw = new Float32Array(oc * c * k * k);
  const flops = 2 * n * oc * g.oh * g.ow * c * k * k;
  const tms = med(() => b.conv2dBackwardWeight(x, gy, gw, g));
  const pms = torch ? await torch(`${n} ${c} ${h} ${oc} ${k} ${s} ${p} ${reps}`) : NaN;
  const gf = (ms: number) => (Number.isFinite(ms) ? (flops / ms / 1e6).toFixed(1) : '-');
  console.log(
    `${name.padEnd(26)} ${String(convPlanOf(b, g, 'weight') ?? '-').padEnd(13)} ${tms.toFixed(3).padStart(10)} ${gf(tms).padStart(8)} ${Number.isFinite(pms) ? pms.toFixed(3).padStart(10) : '-'.padStart(10)} ${gf(pms).padStart(8)} ${Number.isFinite(pms) ? (pms / tms).toFixed(2).padStart(8) : '-'.padStart(8)}`,
  );
}
process.exit(0);
