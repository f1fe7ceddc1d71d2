/**
 * Issue 20's memory criterion: the peak resident memory of W2/W10 inference in Tatami against ONNX Runtime on the
 * same model. Each (engine, model, batch) runs in a fresh process that does nothing else — Tatami builds the model
 * with the benchmark's seed and runs it through the fusion pass; ONNX Runtime (onnxruntime-node, all graph
 * optimisations, `--threads` intra-op threads) loads Tatami's export of the same model from a file written by the
 * parent, so the ORT process never holds a Tatami model — then runs `--runs` inferences. Each child reports its
 * resident set after its imports (the runtime's own footprint) and its peak (VmHWM); the table prints both and
 * the peak above the baseline, which is what the model and its activations cost.
 *
 *   npx tsx bench/inference-memory.ts [--models resnet18,resnet50,mobilenet_v2,mobilenet_v3_large] [--batches 1,8]
 *     [--threads 2] [--runs 5]
 *
 * Benchmark, not test (Linux: the peak is VmHWM from /proc/self/status).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const runs = Number(arg('runs', '5'));
const threads = Number(arg('threads', '2'));
const MiB = 1024 * 1024;

/** What a child prints: resident MiB after its imports, and its peak resident MiB. */
interface Footprint {
  baseline: number;
  peak: number;
}

async function child(engine: string, model: string, batch: number, onnx: string): Promise<void> {
  const baseline = (): number => process.memoryUsage().rss / MiB;
  let base: number;
  if (engine === 'tatami') {
    process.env.TATAMI_NUM_THREADS ??= String(threads);
    const tt = await import('../src/index.ts');
    const { buildInferenceModel } = await import('./inference.ts');
    base = baseline();
    const m = buildInferenceModel(model, true);
    tt.manualSeed(1);
    const x = tt.randn([batch, 3, 224, 224]);
    for (let i = 0; i < runs; i++) tt.noGrad(() => m.forward(x).dataView());
  } else {
    const ort = await import('onnxruntime-node');
    base = baseline();
    const session = await ort.InferenceSession.create(readFileSync(onnx), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const data = new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i));
    const feeds = { input: new ort.Tensor('float32', data, [batch, 3, 224, 224]) };
    for (let i = 0; i < runs; i++) await session.run(feeds);
  }
  // VmHWM, not resourceUsage().maxRSS: Linux keeps ru_maxrss across execve, so a child spawned by a parent that
  // holds a big model would report the parent's peak; the high-water mark of /proc belongs to this address space.
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!hwm) throw new Error('inference-memory: no VmHWM in /proc/self/status (Linux only)');
  const out: Footprint = { baseline: base, peak: Number(hwm[1]) / 1024 };
  console.log(JSON.stringify(out));
}

if (process.argv.includes('--child')) {
  const i = process.argv.indexOf('--child');
  const [engine, model, batch, onnx] = process.argv.slice(i + 1, i + 5);
  await child(engine, model, Number(batch), onnx);
} else {
  const models = arg('models', 'resnet18,resnet50,mobilenet_v2,mobilenet_v3_large').split(',');
  const batches = arg('batches', '1,8').split(',').map(Number);
  const tt = await import('../src/index.ts');
  const { exportModelBytes } = await import('../src/onnx/index.ts');
  const { buildInferenceModel } = await import('./inference.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tatami-mem-'));
  const self = fileURLToPath(import.meta.url);
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
              '--import',
              'tsx',
              self,
              '--child',
              engine,
              model,
              String(batch),
              onnx,
              '--threads',
              String(threads),
              '--runs',
              String(runs),
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
}
