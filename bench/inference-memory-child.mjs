/**
 * One child of bench/inference-memory.ts: one engine, model and batch in a process that does nothing else, on
 * plain Node (no TypeScript loader: tsx's hooks keep a copy of every module they load, 30–50 MiB that neither
 * engine would cost a user). Tatami's side imports the built package (dist/) — or, with `--source` (then run under
 * `node --import tsx`), src/ — builds the model as bench/inference.ts's `buildInferenceModel` does and runs it
 * through the fusion pass; ONNX Runtime's loads the parent's export of the same model. Prints
 * {"baseline": resident MiB after the imports, "peak": VmHWM MiB}.
 *
 *   node bench/inference-memory-child.mjs tatami|ort MODEL BATCH ONNX_FILE THREADS RUNS [--source]
 */
import { readFileSync } from 'node:fs';

const [engine, model, batchArg, onnx, threadsArg, runsArg] = process.argv.slice(2);
const batch = Number(batchArg),
  threads = Number(threadsArg),
  runs = Number(runsArg);
const MiB = 1024 * 1024;
const resident = () => process.memoryUsage().rss / MiB;
let base;
if (engine === 'tatami') {
  process.env.TATAMI_NUM_THREADS ??= String(threads);
  const tt = await import(process.argv.includes('--source') ? '../src/index.ts' : '../dist/index.js');
  base = resident();
  tt.manualSeed(0);
  const plain = tt.models.getModel(model);
  plain.eval();
  const m = tt.nn.fuse(plain);
  tt.manualSeed(1);
  const x = tt.randn([batch, 3, 224, 224]);
  for (let i = 0; i < runs; i++) tt.noGrad(() => m.forward(x).dataView());
} else {
  const ort = await import('onnxruntime-node');
  base = resident();
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
// VmHWM, not resourceUsage().maxRSS: Linux keeps ru_maxrss across execve, so a child spawned by a parent that holds
// a big model would report the parent's peak; the high-water mark of /proc belongs to this address space.
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
if (!hwm) throw new Error('inference-memory: no VmHWM in /proc/self/status (Linux only)');
console.log(JSON.stringify({ baseline: base, peak: Number(hwm[1]) / 1024 }));
