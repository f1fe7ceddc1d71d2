// W9 (conv3d 3×3×3, 64→64, input 2×64×16×56×56, padding 1) in CPU time, one thread: GFLOP per CPU second of the
// forward and of forward + backward (3× the forward FLOPs), median of 3 after a warm-up. CPU time is robust to a
// loaded machine where bench/run.ts's wall times are not; pair it with tools/w9_cpu.py (PyTorch, same protocol):
//   TATAMI_NUM_THREADS=1 node --import tsx tools/w9-cpu.ts; /usr/bin/python3 tools/w9_cpu.py
import * as tt from '../src/index.ts';
import { medianMs } from './cpu-time.ts';

const g = new tt.Generator(0);
const x = tt.randn([2, 64, 16, 56, 56], { generator: g });
const w = tt.randn([64, 64, 3, 3, 3], { generator: g }).mul(1 / 40);
const flops = 2 * 2 * 64 * 16 * 56 * 56 * 64 * 27;
/** Median CPU seconds of 3 runs after a warm-up. */
const med = (f: () => void) => medianMs(f, 3) / 1e3;
tt.noGrad(() =>
  console.log(
    `tatami fwd GFLOP/cpu-s ${(flops / med(() => tt.F.conv3d(x, w, null, { padding: 1 })) / 1e9).toFixed(1)}`,
  ),
);
const xr = x.detach().requiresGrad_(true),
  wr = w.detach().requiresGrad_(true);
const fb = () => {
  xr.grad = null;
  wr.grad = null;
  tt.F.conv3d(xr, wr, null, { padding: 1 }).sum().backward();
};
console.log(`tatami fwd+bwd GFLOP/cpu-s ${((3 * flops) / med(fb) / 1e9).toFixed(1)}`);
