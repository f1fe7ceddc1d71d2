/**
 * Inference workloads W2 and W10 (../shared/bench/README.md), and their ONNX Runtime side.
 *
 * W10: torchvision-shaped ResNet-50, MobileNetV2 and MobileNetV3-Large (1000 classes), eval mode, no grad, input
 * B×3×224×224 with B = 1 and 8. ONNX Runtime (`onnxruntime-node`, CPU execution provider, `threads` intra-op
 * threads, all graph optimisations) runs the same models with the same weights: each model is built with the same
 * seed as on Tatami's side and exported with Tatami's own exporter (src/onnx), so ORT sees exactly the weights
 * Tatami runs. Keys are in ms (lower is better): the median of at least torch_bench.py's run count (7 at batch 1,
 * 5 at batch 8) and of enough runs to fill ~0.3 s (`repsFor`), on both sides.
 */
import * as tt from '../src/index.ts';
import { exportModelBytes } from '../src/onnx/index.ts';

export type Results = Record<string, number>;
type Net = tt.nn.Module<[tt.Tensor], tt.Tensor>;

/** One inference workload: a registry model, its key prefix, and the batch sizes it runs. */
interface InferenceCase {
  workload: 'W2' | 'W10';
  model: string;
  batches: number[];
  key: (batch: number) => string;
  reps: (batch: number) => number;
}

export const INFERENCE_CASES: InferenceCase[] = [
  { workload: 'W2', model: 'resnet18', batches: [1], key: () => 'W2_resnet18_infer_ms', reps: () => 10 },
  ...['resnet50', 'mobilenet_v2', 'mobilenet_v3_large'].map((model): InferenceCase => ({
    workload: 'W10',
    model,
    batches: [1, 8],
    key: (b) => `W10_${model}_b${b}_infer_ms`,
    // torch_bench.py's counts: 7 runs at batch 1, 5 at batch 8.
    reps: (b) => (b === 1 ? 7 : 5),
  })),
];

/**
 * The model of a case, built with a fixed seed so that Tatami's and ORT's sides hold the same weights. Tatami's side
 * runs it through the fusion pass with frozen weights (`tt.nn.fuse(m, { freeze: true })`, docs/fusion.md), as a
 * PyTorch user would call torch.jit.optimize_for_inference (which freezes the module) and as an ORT session holds
 * its initializers; the ONNX export traces the plain model (ORT applies its own fusions).
 */
export function buildInferenceModel(name: string, fuse: boolean): Net {
  tt.manualSeed(0);
  const m = tt.models.getModel(name) as Net;
  m.eval();
  return fuse ? tt.nn.fuse(m, { freeze: true }) : m;
}

/**
 * Runs for a case's median on the Tatami and ORT sides: at least torch_bench.py's count, and enough to fill
 * ~`MEDIAN_BUDGET_MS` (at most `MEDIAN_MAX_REPS`) judged by one timed warm-up — a median of 7 runs of a 3 ms MobileNet
 * moved by 2× between invocations on a noisy 2-core VM (bench/README.md, twentieth session).
 */
const MEDIAN_BUDGET_MS = 300;
const MEDIAN_MAX_REPS = 60;

function repsFor(minimum: number, oneRunMs: number): number {
  return Math.max(minimum, Math.min(MEDIAN_MAX_REPS, Math.ceil(MEDIAN_BUDGET_MS / Math.max(oneRunMs, 1e-3))));
}

/** Median milliseconds of `reps` awaited runs after `warm` warm-ups. */
async function medianMsAsync(fn: () => Promise<unknown>, reps: number, warm: number): Promise<number> {
  for (let i = 0; i < warm; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(ts);
}

/** The middle value of a (the upper one of an even count). */
function median(a: number[]): number {
  return [...a].sort((x, y) => x - y)[a.length >> 1];
}

/**
 * Tatami's side of the cases of `workload`, on the active backend. `medianSeconds` is the runner's timer (it
 * collects garbage after the warm-ups).
 */
export function runInferenceTatami(
  workload: 'W2' | 'W10',
  res: Results,
  o: { reps: number; warm: number },
  medianSeconds: (fn: () => void, reps: number, warm: number) => number,
): void {
  for (const c of INFERENCE_CASES.filter((k) => k.workload === workload)) {
    const m = buildInferenceModel(c.model, true);
    for (const b of c.batches) {
      tt.manualSeed(1);
      const x = tt.randn([b, 3, 224, 224]);
      tt.noGrad(() => {
        for (let i = 0; i < o.warm; i++) m.forward(x);
        const t = performance.now();
        m.forward(x);
        const reps = repsFor(Math.max(o.reps, c.reps(b)), performance.now() - t);
        res[c.key(b)] = medianSeconds(() => m.forward(x), reps, 1) * 1e3;
      });
    }
  }
}

type Ort = typeof import('onnxruntime-node');

/** onnxruntime-node, or why it could not be loaded (it is a devDependency; `npm ci --omit=dev` leaves it out). */
async function loadOrt(): Promise<Ort | string> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    return `not available (${(e as Error).message.split('\n')[0]})`;
  }
}

/** An ORT session on Tatami's export of case c's model (the seed of `buildInferenceModel`), `threads` intra-op. */
async function ortSession(ort: Ort, c: InferenceCase, threads: number) {
  const m = buildInferenceModel(c.model, false);
  tt.manualSeed(1);
  const bytes = exportModelBytes(m, tt.randn([1, 3, 224, 224]), { dynamicAxes: { input: [0], output: [0] } });
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

/**
 * ONNX Runtime's side of the W2/W10 cases among `only`, or null with the reason when onnxruntime-node is not
 * installed (it is a devDependency; `npm ci --omit=dev` leaves it out).
 */
export async function runInferenceOrt(
  only: string[],
  threads: number,
  warm: number,
): Promise<{ res: Results | null; engine: string }> {
  const ort = await loadOrt();
  if (typeof ort === 'string') return { res: null, engine: ort };
  const res: Results = {};
  for (const c of INFERENCE_CASES.filter((k) => only.includes(k.workload))) {
    const session = await ortSession(ort, c, threads);
    for (const b of c.batches) {
      tt.manualSeed(1);
      const x = tt.randn([b, 3, 224, 224]);
      const feeds = { input: new ort.Tensor('float32', x.toTypedArray() as Float32Array, x.shape) };
      for (let i = 0; i < warm; i++) await session.run(feeds);
      const t = performance.now();
      await session.run(feeds);
      res[c.key(b)] = await medianMsAsync(() => session.run(feeds), repsFor(c.reps(b), performance.now() - t), 1);
    }
    await session.release();
  }
  return { res, engine: `onnxruntime-node ${ort.env.versions?.common ?? ''}`.trim() };
}

/** Milliseconds of runs in one block of `runInferencePaired`. */
const PAIRED_BLOCK_MS = 150;
/**
 * Pause before each paired block: the other engine's threads keep spinning after its last run, and on two cores
 * they stole Tatami's — MobileNetV2 b1 right after an ORT block ran its first 4–9 forwards at 2–3× (8–14 ms
 * against 4), 30–50 ms in all, which a block of 20 forwards carried into its median (paired ratios of 1.6–2.1
 * while the phase-wise ones read 0.6–0.75). After 60–100 ms idle neither engine shows it.
 */
const PAIRED_SETTLE_MS = 100;
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, PAIRED_SETTLE_MS));

/**
 * Tatami (the active backend, fused) against ONNX Runtime case by case in alternating blocks, the ratio of each
 * block pair's medians and the median of those ratios: on a shared VM both engines' speed drifts by 20–50 % over
 * the minutes that separate the Tatami and ORT phases of a run (bench/README.md, twentieth session), and the
 * phase-wise columns carry that drift into their ratio. Each block is `PAIRED_BLOCK_MS` of runs after a pause
 * (`PAIRED_SETTLE_MS`: the other engine's threads may still be spinning) and one discarded run; blocks alternate
 * which engine goes first.
 * Null when onnxruntime-node is not installed (runInferenceOrt says why).
 */
export async function runInferencePaired(only: string[], threads: number, rounds: number): Promise<Results | null> {
  const ort = await loadOrt();
  if (typeof ort === 'string') return null;
  const ratios: Results = {};
  for (const c of INFERENCE_CASES.filter((k) => only.includes(k.workload))) {
    const session = await ortSession(ort, c, threads);
    const m = buildInferenceModel(c.model, true);
    for (const b of c.batches) {
      tt.manualSeed(1);
      const x = tt.randn([b, 3, 224, 224]);
      const feeds = { input: new ort.Tensor('float32', x.toTypedArray() as Float32Array, x.shape) };
      const tatami = async () => tt.noGrad(() => m.forward(x));
      const onnx = () => session.run(feeds);
      const block = async (fn: () => Promise<unknown>, n: number) => {
        await settle();
        return medianMsAsync(fn, n, 1);
      };
      const one = Math.max(await block(tatami, 2), await block(onnx, 2));
      const n = Math.max(3, Math.min(20, Math.ceil(PAIRED_BLOCK_MS / Math.max(one, 1e-3))));
      const r: number[] = [];
      for (let k = 0; k < rounds; k++) {
        if (k % 2 === 0) {
          const t = await block(tatami, n);
          r.push(t / (await block(onnx, n)));
        } else {
          const o = await block(onnx, n);
          r.push((await block(tatami, n)) / o);
        }
      }
      ratios[c.key(b)] = median(r);
    }
    await session.release();
  }
  return ratios;
}
