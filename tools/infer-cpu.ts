/**
 * Tatami against ONNX Runtime on the W2/W10 inference cases, by CPU time: what to use on a loaded machine, where
 * wall-clock medians (bench/run.ts) swing with the other processes. Both run one intra-op thread in this process
 * (TATAMI_NUM_THREADS=1 is forced; ORT gets intraOpNumThreads 1), in interleaved rounds, and each round's CPU
 * milliseconds per inference (process.cpuUsage: user + system, so GC and page faults count) are recorded; the
 * median over rounds is printed with the ratio Tatami/ORT (issue 20's target: ≤ 0.9).
 *
 * Usage: npx tsx tools/infer-cpu.ts [--models resnet18,resnet50,mobilenet_v2,mobilenet_v3_large] [--batches 1,8]
 *                                   [--rounds 5] [--no-ort]
 */
process.env.TATAMI_NUM_THREADS = '1';
const tt = await import('../src/index.js');
const { INFERENCE_CASES, buildInferenceModel } = await import('../bench/inference.js');
const { exportModelBytes } = await import('../src/onnx/index.js');

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const models = opt('models', INFERENCE_CASES.map((c) => c.model).join(',')).split(',');
const batches = opt('batches', '1,8').split(',').map(Number);
const rounds = Number(opt('rounds', '5'));
const useOrt = !args.includes('--no-ort');
tt.setNumThreads(1);

const { cpuMs } = await import('./cpu-time.js');
/** CPU ms per call of `fn` over enough calls to pass ~`budget` ms (at least 2). */
async function perCall(fn: () => unknown, budget: number): Promise<number> {
  const t0 = cpuMs();
  let n = 0;
  while (n < 2 || cpuMs() - t0 < budget) {
    await fn();
    n++;
  }
  return (cpuMs() - t0) / n;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null;
if (useOrt) {
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    console.log(`ONNX Runtime not available: ${(e as Error).message.split('\n')[0]}`);
  }
}
console.log(
  `model batch  tatami-ms  ort-ms  tatami/ort   (CPU ms per inference, one thread, median of ${rounds} rounds)`,
);
for (const name of models) {
  const m = buildInferenceModel(name, true);
  const plain = buildInferenceModel(name, false);
  tt.manualSeed(1);
  const session = ort
    ? await ort.InferenceSession.create(
        exportModelBytes(plain, tt.randn([1, 3, 224, 224]), { dynamicAxes: { input: [0], output: [0] } }),
        { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' },
      )
    : null;
  for (const b of batches) {
    tt.manualSeed(1);
    const x = tt.randn([b, 3, 224, 224]);
    const feeds = ort ? { input: new ort.Tensor('float32', x.toTypedArray() as Float32Array, x.shape) } : null;
    const tat: number[] = [],
      onnx: number[] = [];
    const runT = () => tt.noGrad(() => m.forward(x));
    const runO = () => session!.run(feeds!);
    runT();
    if (session) await runO();
    const budget = b === 1 ? 300 : 1200;
    for (let r = 0; r < rounds; r++) {
      tat.push(await perCall(runT, budget));
      if (session) onnx.push(await perCall(runO, budget));
    }
    const t = median(tat),
      o = session ? median(onnx) : NaN;
    console.log(
      `${name.padEnd(18)} ${String(b).padStart(2)} ${t.toFixed(2).padStart(9)} ${o.toFixed(2).padStart(7)} ${(t / o).toFixed(2).padStart(10)}`,
    );
  }
  await session?.release();
}
