/**
 * Tatami in Chromium against Tatami in Node, measured so that a loaded machine still gives a meaningful answer:
 * W4's step (small CNN, batch 64, Adam; bench/run.ts) on ONE thread on both sides, as CPU milliseconds per step
 * (Node: process.cpuUsage; Chromium: every Chromium process's utime + stime from /proc) and minor page faults per
 * step, after warm-up steps of the same kind. Variants: `mt1` (cross-origin isolated page, the threaded build with
 * one thread: what the playground runs, less the workers) and `st` (not isolated: the single-threaded build).
 *
 *   npm run bench:browser-cpu [-- --steps 8 --warm 3 --variants mt1,st,mt2]
 *
 * Linux only (/proc). Wall times are printed too, for a quiet machine. See docs/browser.md, "Chromium and Node".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTatamiPage, childrenUsage, launchChromium, serveStatic } from '../test/browser/harness.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg('steps', '8'));
const warm = Number(arg('warm', '3'));
const variants = arg('variants', 'mt1,st').split(',');

process.env.TATAMI_BACKEND = 'wasm';
process.env.TATAMI_NUM_THREADS = '1';
const tt = await import('../src/index.ts');

/** Sets up W4 and returns a function running `n` steps (passed to the page as source text: the same code runs). */
function w4(t: typeof tt): (n: number) => void {
  t.manualSeed(0);
  const net = t.models.smallCnn();
  const opt = new t.optim.Adam(net.parameters(), { lr: 1e-3 });
  const x = t.randn([64, 1, 28, 28]);
  const y = t.randint(0, 10, [64]);
  return (n) => {
    for (let i = 0; i < n; i++) {
      opt.zeroGrad();
      t.F.crossEntropy(net.forward(x) as import('../src/index.ts').Tensor, y).backward();
      opt.step();
    }
  };
}

const rows: string[] = [];
const row = (what: string, cpuMs: number, faults: number, wallMs: number) =>
  rows.push(
    `${what.padEnd(52)} ${cpuMs.toFixed(1).padStart(7)} ms CPU  ${faults.toFixed(0).padStart(6)} faults  ${wallMs.toFixed(1).padStart(7)} ms wall`,
  );

{
  const run = w4(tt);
  run(warm);
  const c0 = process.cpuUsage(),
    f0 = process.resourceUsage().minorPageFault,
    t0 = performance.now();
  run(steps);
  const c = process.cpuUsage(c0);
  row(
    `Node ${process.version}, ${tt.backendInfo().name} × ${tt.getNumThreads()}`,
    (c.user + c.system) / 1000 / steps,
    (process.resourceUsage().minorPageFault - f0) / steps,
    (performance.now() - t0) / steps,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'tatami-bench-cpu-'));
try {
  await buildTatamiPage(dir);
  const server = await serveStatic(dir);
  const browser = await launchChromium();
  try {
    for (const variant of variants) {
      const page = await browser.newPage();
      await page.goto(`${server.origin}/${variant.startsWith('mt') ? '?isolated=1' : ''}`);
      await page.waitForFunction(() => 'tt' in window);
      const info = await page.evaluate(
        (v) =>
          (
            window as unknown as { tt: { loadWasm(o: object): Promise<{ name: string; threads: number }> } }
          ).tt.loadWasm(v === 'st' ? { threads: false } : { threads: Number(v.slice(2)) }),
        variant,
      );
      await page.evaluate(
        ({ src, w }) => {
          const g = window as unknown as { tt: unknown; run: (n: number) => void };
          g.run = (new Function('tt', `return (${src})(tt);`) as (t: unknown) => (n: number) => void)(g.tt);
          g.run(w);
        },
        { src: w4.toString(), w: warm },
      );
      const u0 = childrenUsage();
      const wall = await page.evaluate((n) => {
        const t0 = performance.now();
        (window as unknown as { run: (n: number) => void }).run(n);
        return performance.now() - t0;
      }, steps);
      const u = childrenUsage();
      row(
        `Chromium, ${info.name} × ${info.threads} (${variant})`,
        ((u.cpu - u0.cpu) * 1000) / steps,
        (u.faults - u0.faults) / steps,
        wall / steps,
      );
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`W4 (small CNN, batch 64, Adam), per step, ${steps} steps after ${warm} warm-up:`);
for (const r of rows) console.log(r);
