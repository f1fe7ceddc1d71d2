// CPU-time measurement shared by the per-op tools (w6-ops, wgrad-bench, w9-cpu, conv-ceiling): process CPU time (user + system)
// rather than wall clock, so a loaded machine slows the measured side and its PyTorch twin alike.

/** Milliseconds of CPU this process has used so far (user + system, all threads). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/** Median milliseconds of `reps` calls of `f` after `warm` warm-up calls, by `clock` (default: CPU time). */
export function medianMs(f: () => void, reps: number, warm = 1, clock: () => number = cpuMs): number {
  for (let i = 0; i < warm; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = clock();
    f();
    ts.push(clock() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[reps >> 1];
}
