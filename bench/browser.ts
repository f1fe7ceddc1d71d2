/**
 * In-browser training throughput of the small CNN (W4: one Adam step on 64×1×28×28, see bench/run.ts) in
 * Chromium — Tatami's wasm backend on the page's main thread, threaded over Web Workers (the page is cross-origin
 * isolated) — against Tatami's wasm backend in Node and against TensorFlow.js in the same browser (cpu, wasm and
 * webgl backends). Prints images per second and ratios. Benchmark, not test: `npm run bench:browser`
 * [-- --steps 20 --warm 3]. Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import * as esbuild from 'esbuild';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const steps = arg('steps', 20);
const warm = arg('warm', 3);
/** --tfjs-only: skip the Tatami rows (TF.js's cpu backend alone can take many minutes). */
const tfjsOnly = process.argv.includes('--tfjs-only');

/** W4 with Tatami: median images per second over `steps` timed steps after `warm` untimed ones. */
async function tatamiW4(tt: typeof import('../src/index.ts'), n: number, w: number): Promise<number> {
  tt.manualSeed(0);
  const net = tt.models.smallCnn();
  const opt = new tt.optim.Adam(net.parameters(), { lr: 1e-3 });
  const x = tt.randn([64, 1, 28, 28]);
  const y = tt.randint(0, 10, [64]);
  const times: number[] = [];
  for (let i = 0; i < w + n; i++) {
    const t0 = performance.now();
    opt.zeroGrad();
    tt.F.crossEntropy(net.forward(x), y).backward();
    opt.step();
    if (i >= w) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return 64 / (times[times.length >> 1] / 1000);
}

const rows: { what: string; imgs?: number; note?: string }[] = [];
const push = (r: { what: string; imgs?: number; note?: string }) => {
  rows.push(r);
  console.error(`… ${r.what}: ${r.imgs?.toFixed(1) ?? '—'} images/s${r.note ? ` (${r.note})` : ''}`);
};

// Node, wasm backend (one thread and the default thread count).
process.env.TATAMI_BACKEND = 'wasm';
const tt = await import('../src/index.ts');
if (!tfjsOnly)
  push({
    what: `Node ${process.version}, Tatami ${tt.getBackendName()} × ${tt.getNumThreads()} threads`,
    imgs: await tatamiW4(tt, steps, warm),
  });

// @ts-expect-error -- plain ESM script without type declarations
const pg = (await import('../scripts/playground.mjs')) as {
  buildPlayground(): Promise<void>;
  servePlayground(o: object): Promise<import('node:http').Server>;
};
await pg.buildPlayground();
await esbuild.build({
  entryPoints: ['bench/browser/tfjs-w4.ts'],
  outfile: 'web/dist/tfjs-w4.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'error',
});
const server = await pg.servePlayground({ port: 0, extra: ['node_modules/@tensorflow/tfjs-backend-wasm/dist'] });
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  // WebGL without a GPU runs on SwiftShader (a CPU rasteriser): say so in the results.
  args: ['--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${base}/web/`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 120_000 });
  const ua = await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent);
  const info = await page.evaluate(() =>
    (
      window as unknown as { playground: { tt: { backendInfo(): { name: string; threads: number } } } }
    ).playground.tt.backendInfo(),
  );
  const inPage = tfjsOnly
    ? undefined
    : await page.evaluate(
        async ({ n, w, src }) => {
          const tt = (window as unknown as { playground: { tt: unknown } }).playground.tt;
          // The same function as in Node, passed as source text so the page runs exactly this code.
          const f = new Function('tt', 'n', 'w', `return (${src})(tt, n, w);`) as (
            tt: unknown,
            n: number,
            w: number,
          ) => Promise<number>;
          return f(tt, n, w);
        },
        { n: steps, w: warm, src: tatamiW4.toString() },
      );
  if (!tfjsOnly)
    push({ what: `${ua}, Tatami ${info.name} × ${info.threads} threads (page main thread)`, imgs: inPage });
  for (const b of ['cpu', 'wasm', 'webgl']) {
    // Each TF.js backend in a fresh (cross-origin isolated) page, so one that never finishes does not block the next.
    const tp = await browser.newPage();
    try {
      await tp.goto(`${base}/web/dist/`); // any same-origin URL: the script below brings everything
      await tp.addScriptTag({ url: `${base}/web/dist/tfjs-w4.js`, type: 'module' });
      await tp.waitForFunction(() => 'tfjsW4' in window);
      const limit = arg('tf-timeout', 240) * 1000;
      const r = await Promise.race([
        tp.evaluate(
          async ({ b, n, path }) =>
            (
              window as unknown as {
                tfjsW4(
                  b: string,
                  n: number,
                  w: number,
                  p: string,
                ): Promise<{ imagesPerSecond?: number; error?: string }>;
              }
            ).tfjsW4(b, n, 1, path),
          {
            b,
            n: Math.max(2, Math.round(steps / 3)),
            path: `${base}/node_modules/@tensorflow/tfjs-backend-wasm/dist/`,
          },
        ),
        new Promise<{ imagesPerSecond?: number; error?: string }>((ok) =>
          setTimeout(() => ok({ error: `no result in ${limit / 1000} s` }), limit),
        ),
      ]);
      push({
        what: `${ua}, TensorFlow.js 4.22 ${b}${b === 'webgl' ? ' (SwiftShader, no GPU)' : ''}`,
        imgs: r.imagesPerSecond,
        note: r.error ? `failed: ${r.error}` : undefined,
      });
    } finally {
      await tp.close();
    }
  }
} finally {
  await browser.close();
  server.close();
}

const ref = tfjsOnly ? NaN : rows[1].imgs!;
console.log(
  `W4 (small CNN, batch 64, Adam): images/s, median of ${steps} steps after ${warm} warm-up (TF.js: ${Math.max(2, Math.round(steps / 3))} after 1)`,
);
for (const r of rows) {
  const v = r.imgs === undefined ? '—' : r.imgs.toFixed(1);
  const ratio = r.imgs === undefined ? '' : `  Tatami-in-Chromium / this = ${(ref / r.imgs).toFixed(2)}×`;
  console.log(`${r.what.padEnd(80)} ${v.padStart(8)}${ratio}${r.note ? `  ${r.note}` : ''}`);
}
