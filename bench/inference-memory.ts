/**
 * Issue 20's memory criterion: the peak resident memory of W2/W10 inference in Tatami against ONNX Runtime on the
 * same model. Each (engine, model, batch) runs in a fresh process that does nothing else — Tatami builds the model
 * with the benchmark's seed and runs it through the fusion pass; ONNX Runtime (onnxruntime-node, all graph
 * optimisations, `--threads` intra-op threads) loads Tatami's export of the same model from a file written by the
 * parent, so the ORT process never holds a Tatami model — then runs `--runs` inferences. Each child reports its
 * resident set after its imports (the runtime's own footprint) and its peak (VmHWM); the table prints both and
 * the peak above the baseline, which is what the model and its activations cost.
 *
 *   npm run build && npx tsx bench/inference-memory.ts [--models resnet18,resnet50,mobilenet_v2,mobilenet_v3_large]
 *     [--batches 1,8] [--threads 2] [--runs 5] [--source]
 *
 * The children (bench/inference-memory-child.mjs) run on plain Node: Tatami's imports the built package (dist/),
 * as a user would — `--source` imports src/ through tsx's loader instead, which alone adds ~50 MiB of resident
 * copies of Tatami's few hundred modules.
 *
 * Benchmark, not test (Linux: the peak is VmHWM from /proc/self/status).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const runs = Number(arg('runs', '5'));
const fromSource = process.argv.includes('--source');
const threads = Number(arg('threads', '2'));

/** What a child prints: resident MiB after its imports, and its peak resident MiB. */
interface Footprint {
  baseline: number;
  peak: number;
}

/** Throws unless dist/ holds a build at least as new as every file of src/ (the children import the package). */
function assertBuilt(): void {
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  const src = fileURLToPath(new URL('../src', import.meta.url));
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(src))
    throw new Error(
      'inference-memory: dist/ is missing or older than src/ — run `npm run build` first (or pass --source to ' +
        'measure the sources through tsx)',
    );
}

if (!fromSource) assertBuilt();
const models = arg('models', 'resnet18,resnet50,mobilenet_v2,mobilenet_v3_large').split(',');
const batches = arg('batches', '1,8').split(',').map(Number);
const tt = await import('../src/index.ts');
const { exportModelBytes } = await import('../src/onnx/index.ts');
const { buildInferenceModel } = await import('./inference.ts');
const dir = mkdtempSync(join(tmpdir(), 'tatami-mem-'));
const child = fileURLToPath(new URL('./inference-memory-child.mjs', import.meta.url));
const rows: string[] = [];
try {
  for (const model of models) {
    const onnx = join(dir, `${model}.onnx`);
    tt.manualSeed(1);
    writeFileSync(
      onnx,
      exportModelBytes(buildInferenceModel(model, false), tt.randn([1, 3, 224, 224]), {
        dynamicAxes: { input: [0], output: [0] },
      }),
    );
    for (const batch of batches) {
      const got: Record<string, Footprint> = {};
      for (const engine of ['tatami', 'ort']) {
        const r = spawnSync(
          process.execPath,
          [
            ...(fromSource ? ['--import', 'tsx'] : []),
            child,
            engine,
            model,
            String(batch),
            onnx,
            String(threads),
            String(runs),
            ...(fromSource ? ['--source'] : []),
          ],
          { encoding: 'utf8', maxBuffer: 1 << 24 },
        );
        const line = r.stdout.trim().split('\n').pop() ?? '';
        if (r.status !== 0 || !line.startsWith('{'))
          throw new Error(`inference-memory: ${engine} ${model} b${batch} failed: ${r.stderr.slice(-2000)}`);
        got[engine] = JSON.parse(line) as Footprint;
      }
      const t = got.tatami,
        o = got.ort;
      rows.push(
        `${`${model} b${batch}`.padEnd(24)} Tatami peak ${t.peak.toFixed(0).padStart(5)} MiB (+${(t.peak - t.baseline).toFixed(0).padStart(4)} over ${t.baseline.toFixed(0)})` +
          `  ORT peak ${o.peak.toFixed(0).padStart(5)} MiB (+${(o.peak - o.baseline).toFixed(0).padStart(4)} over ${o.baseline.toFixed(0)})` +
          `  Tatami/ORT peak ${(t.peak / o.peak).toFixed(2)}, above baseline ${((t.peak - t.baseline) / (o.peak - o.baseline)).toFixed(2)}`,
      );
      console.log(rows[rows.length - 1]);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\npeak resident memory, ${runs} inferences, ${threads} threads, one process per row and engine:`);
for (const r of rows) console.log(r);
