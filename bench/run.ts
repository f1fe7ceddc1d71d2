/**
 * Tatami benchmark: the workloads of bench/README.md (the shared definition: ../shared/bench/README.md),
 * measured on the native and the wasm backend through the public API, side by side with PyTorch run in the same
 * invocation (/usr/bin/python3 torch_bench.py) when it is installed.
 *
 *   npm run bench [-- --only W1,W2] [--json] [--reps 5] [--warm 2] [--backends native,wasm] [--no-torch]
 *
 * Ratios are printed so that > 1 always means Tatami is ahead (throughput: Tatami/PyTorch; latency keys ending
 * in _ms or _s: PyTorch/Tatami). Each workload is a function registered in WORKLOADS; add W2–W5 there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';

type Results = Record<string, number>;
/** A workload writes its keys into `res` using the currently active backend. */
type Workload = (res: Results, o: { reps: number; warm: number }) => void;

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const reps = Number(opt('reps', '5'));
const warm = Number(opt('warm', '2'));
const only = opt('only', 'W1').split(',');
const json = flag('json');
const threads = Number(opt('threads', '2'));

/** Median wall seconds of `reps` runs after `warm` warm-ups. */
export function medianSeconds(fn: () => void, r = reps, w = warm): number {
  for (let i = 0; i < w; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < r; i++) {
    const t = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

function w1(res: Results, o: { reps: number; warm: number }): void {
  const g = new tt.Generator(0);
  const x = tt.randn([8, 64, 56, 56], { generator: g });
  const w = tt.randn([64, 64, 3, 3], { generator: g }).mul(1 / 24);
  const flops = 2 * 8 * 64 * 56 * 56 * 64 * 9;
  tt.noGrad(() => {
    res.W1_conv_fwd_gflops = flops / medianSeconds(() => tt.F.conv2d(x, w, null, { padding: 1 }), o.reps, o.warm) / 1e9;
  });
  const xr = x.detach().requiresGrad_(true);
  const wr = w.detach().requiresGrad_(true);
  const fb = () => {
    xr.grad = null;
    wr.grad = null;
    tt.F.conv2d(xr, wr, null, { padding: 1 }).sum().backward();
  };
  res.W1_conv_fwd_bwd_gflops = (3 * flops) / medianSeconds(fb, o.reps, o.warm) / 1e9;
}

/** Workloads by id; W2–W5 join here as nn/models land. */
export const WORKLOADS: Record<string, Workload> = { W1: w1 };

function runTorch(): Results | null {
  if (flag('no-torch')) return null;
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const shared = fileURLToPath(new URL('../../shared/bench/torch_bench.py', import.meta.url));
  const local = fileURLToPath(new URL('./torch_bench.py', import.meta.url));
  const script = existsSync(shared) ? shared : local;
  const r = spawnSync('/usr/bin/python3', [script, '--threads', String(threads), '--only', only.join(',')], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`torch_bench.py failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Results;
}

function main(): void {
  process.env.TATAMI_NUM_THREADS ??= String(threads);
  tt.setNumThreads(threads);
  const wanted = opt('backends', 'native,wasm').split(',');
  const available = tt.availableBackends().filter((b) => b.available).map((b) => b.name);
  const per: Record<string, Results> = {};
  const names: Record<string, string> = {};
  for (const b of wanted) {
    if (!available.includes(b)) {
      if (!json) console.log(`(backend ${b} unavailable: ${tt.availableBackends().find((x) => x.name === b)?.reason ?? 'unknown'})`);
      continue;
    }
    tt.withBackend(b, () => {
      names[b] = tt.getBackendName();
      const res: Results = {};
      for (const id of only) {
        const fn = WORKLOADS[id];
        if (!fn) { if (!json) console.log(`(workload ${id} not implemented yet)`); continue; }
        fn(res, { reps, warm });
      }
      per[b] = res;
    });
  }
  const torch = runTorch();
  const keys = [...new Set(Object.values(per).flatMap((r) => Object.keys(r)))];
  const lowerIsBetter = (k: string) => /_(ms|s|s_per_epoch|mib)$/.test(k);
  const ratio = (t: number | undefined, p: number | undefined, k: string) =>
    t === undefined || p === undefined ? undefined : lowerIsBetter(k) ? p / t : t / p;
  if (json) {
    console.log(JSON.stringify({ threads, backends: names, tatami: per, pytorch: torch, ratios: Object.fromEntries(keys.map((k) => [k, Object.fromEntries(Object.keys(per).map((b) => [b, ratio(per[b][k], torch?.[k] as number | undefined, k)]))])) }));
    return;
  }
  const fmt = (v: number | undefined) => (v === undefined ? '—' : v >= 100 ? v.toFixed(1) : v.toFixed(2));
  const cols = ['key', ...Object.keys(per).map((b) => `Tatami ${names[b]}`), 'PyTorch', ...Object.keys(per).map((b) => `ratio ${b}`)];
  const rows = keys.map((k) => [k, ...Object.keys(per).map((b) => fmt(per[b][k])), fmt(torch?.[k] as number | undefined),
    ...Object.keys(per).map((b) => fmt(ratio(per[b][k], torch?.[k] as number | undefined, k)))]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`threads: ${threads}; median of ${reps} after ${warm} warm-ups; PyTorch: ${torch ? torch.engine : 'not available'}`);
  console.log(line(cols));
  for (const r of rows) console.log(line(r));
}

main();
