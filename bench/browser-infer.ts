/**
 * Issue 20's browser comparison: W10's models (ResNet-50, MobileNetV2, MobileNetV3-Large) and W2's ResNet-18 at
 * batch 1 in Chromium — Tatami's wasm backend (the fused inference model, as `bench/inference.ts` runs it in Node)
 * against onnxruntime-web's wasm execution provider on the same weights: each model is built with the same seed on
 * both sides and the ONNX file is Tatami's own export of it, so both engines run exactly the same network, and the
 * two outputs are compared (max |Δ| over the logits) before anything is timed.
 *
 *   npm run bench:browser-infer [-- --models mobilenet_v2,resnet18 --batches 1,8 --threads 1,2 --reps 5 --warm 2]
 *
 * Both sides get the same thread count per row (the page is cross-origin isolated, so both can use Web Workers).
 * Each row prints the median wall milliseconds per inference and the CPU milliseconds (every Chromium process's
 * utime + stime from /proc, over all timed runs — meaningful on a loaded machine, where wall time is not), and
 * Tatami/ORT ratios of both. Benchmark, not test; needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium) and
 * the `onnxruntime-web` devDependency. Linux only (/proc).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildTatamiPage, childrenUsage, launchChromium, serveStatic } from '../test/browser/harness.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const models = arg('models', 'resnet18,resnet50,mobilenet_v2,mobilenet_v3_large').split(',');
const batches = arg('batches', '1').split(',').map(Number);
const threadCounts = arg('threads', '1,2').split(',').map(Number);
const reps = Number(arg('reps', '5'));
const warm = Number(arg('warm', '2'));

process.env.TATAMI_BACKEND = 'wasm';
const tt = await import('../src/index.ts');
const { exportModelBytes } = await import('../src/onnx/index.ts');
const { buildInferenceModel } = await import('./inference.ts');

/** The browser's side of one engine and case: median wall ms, CPU ms per run, and the first logits. */
interface Timing {
  wallMs: number;
  cpuMs: number;
  logits: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'tatami-bench-infer-'));
const lines: string[] = [];
try {
  // The ONNX files: Tatami's export of each model, built with the seed the page uses (bench/inference.ts).
  for (const name of models) {
    const m = buildInferenceModel(name, false);
    tt.manualSeed(1);
    writeFileSync(
      join(dir, `${name}.onnx`),
      exportModelBytes(m, tt.randn([1, 3, 224, 224]), { dynamicAxes: { input: [0], output: [0] } }),
    );
  }
  // onnxruntime-web's wasm-only build and its threaded SIMD module, served beside the page.
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/wasm')); // …/dist/ort.wasm.min.js
  for (const f of ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'])
    copyFileSync(join(ortDist, f), join(dir, f));
  await buildTatamiPage(dir);
  const server = await serveStatic(dir);
  const browser = await launchChromium();
  try {
    for (const threads of threadCounts) {
      // One page per thread count: Tatami's wasm threads are fixed at load, ORT's when its first session starts.
      const page = await browser.newPage();
      await page.goto(`${server.origin}/?isolated=1`);
      await page.waitForFunction(() => 'tt' in window);
      const info = await page.evaluate(async (t) => {
        const w = window as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        const loaded = await w.tt.loadWasm({ threads: t });
        w.ort = await import(`${location.origin}/ort.wasm.min.mjs`);
        w.ort.env.wasm.numThreads = t;
        w.ort.env.wasm.wasmPaths = `${location.origin}/`;
        return {
          tatami: `${loaded.name} × ${loaded.threads}`,
          ort: `onnxruntime-web ${w.ort.env.versions?.web ?? ''}`,
        };
      }, threads);
      for (const name of models) {
        for (const b of batches) {
          const timings: Record<'tatami' | 'ort', Timing> = {} as never;
          for (const engine of ['tatami', 'ort'] as const) {
            // Set up (build or load, warm up), then time `reps` runs with the CPU counters around them.
            await page.evaluate(
              async ({ engine, name, b, warm }) => {
                const w = window as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
                const tt = w.tt;
                tt.manualSeed(1);
                const x = tt.randn([b, 3, 224, 224]);
                if (engine === 'tatami') {
                  tt.manualSeed(0);
                  const m = tt.models.getModel(name);
                  m.eval();
                  const fused = tt.nn.fuse(m);
                  w.run = () => tt.noGrad(() => fused.forward(x).dataView().slice(0, 10));
                } else {
                  const session = await w.ort.InferenceSession.create(`${location.origin}/${name}.onnx`, {
                    executionProviders: ['wasm'],
                    graphOptimizationLevel: 'all',
                  });
                  const feeds = { input: new w.ort.Tensor('float32', x.toTypedArray(), x.shape) };
                  w.run = async () => {
                    const out = await session.run(feeds);
                    return Array.from((Object.values(out)[0] as { data: Float32Array }).data.slice(0, 10));
                  };
                }
                for (let i = 0; i < warm; i++) await w.run();
              },
              { engine, name, b, warm },
            );
            const u0 = childrenUsage();
            const r = await page.evaluate(async (n) => {
              const w = window as unknown as { run: () => Promise<number[]> | number[] };
              const ts: number[] = [];
              let logits: number[] = [];
              for (let i = 0; i < n; i++) {
                const t0 = performance.now();
                logits = Array.from(await w.run());
                ts.push(performance.now() - t0);
              }
              ts.sort((a, c) => a - c);
              return { wallMs: ts[n >> 1], logits };
            }, reps);
            const u = childrenUsage();
            timings[engine] = { ...r, cpuMs: ((u.cpu - u0.cpu) * 1000) / reps };
          }
          const t = timings.tatami,
            o = timings.ort;
          // Agreement, relative to the logits' scale (randomly initialised nets can have tiny logits).
          const scale = Math.max(...o.logits.map(Math.abs));
          const diff = Math.max(...t.logits.map((v, i) => Math.abs(v - o.logits[i]))) / scale;
          lines.push(
            `${`${name} b${b}`.padEnd(24)} ${String(threads).padStart(2)} thr  Tatami ${t.wallMs.toFixed(1).padStart(7)} ms` +
              ` (${t.cpuMs.toFixed(0).padStart(6)} CPU)  ORT ${o.wallMs.toFixed(1).padStart(7)} ms (${o.cpuMs.toFixed(0).padStart(6)} CPU)` +
              `  Tatami/ORT wall ${(t.wallMs / o.wallMs).toFixed(2)}  CPU ${(t.cpuMs / o.cpuMs).toFixed(2)}  max|Δ|/max|y| ${diff.toExponential(1)} (|y| ≤ ${scale.toExponential(1)})`,
          );
          console.log(lines[lines.length - 1]);
        }
      }
      console.log(`  (${info.tatami}; ${info.ort})`);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `Chromium, batch ${batches.join('/')}, ${reps} timed runs after ${warm} warm-up (median wall; CPU per run):`,
);
for (const l of lines) console.log(l);
