// CPU-time measurement shared by the per-op tools (w6-ops, wgrad-bench, w9-cpu): process CPU time (user + system)
// rather than wall clock, so a loaded machine slows the measured side and its PyTorch twin alike.

/** Milliseconds of CPU this process has used so far (user + system, all threads). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/** Median CPU milliseconds of `reps` calls of `f` after `warm` warm-up calls. */
export function medianCpuMs(f: () => void, reps: number, warm = 1): number {
  for (let i = 0; i < warm; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = cpuMs();
    f();
    ts.push(cpuMs() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[reps >> 1];
}
