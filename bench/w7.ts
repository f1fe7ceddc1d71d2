/**
 * W7 (../shared/bench/README.md): torchvision-shaped Faster R-CNN ResNet-50-FPN (91 classes, min = max size 512,
 * one 3×512×512 image in [0, 1)) and SSDlite320-MobileNetV3-Large (one 3×320×320 image), eval mode, the whole
 * call — transform, backbone, RPN / heads, post-processing. Both sides run THE SAME weights: bench/w7_torch.py
 * builds the models from torch.manual_seed(0) (torchvision's own initialisation), writes the state dicts and the
 * input, and times PyTorch; Tatami loads those files, times its models and checks its detections against
 * PyTorch's (the parity bar: boxes within 1e-3 px, scores within 1e-4, same labels), printing the match.
 * PyTorch's same-weights timings replace torch_bench.py's W7 keys (whose models have other random weights, so a
 * different number of boxes reaches NMS and post-processing).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';
import { parseSafetensors } from '../src/io/safetensors.ts';
import { collectGarbage } from './gc.ts';

type Results = Record<string, number>;

/** PyTorch's same-weights W7 results (run once per process), or why there are none. */
let exported: { dir: string; torch: Results & { engine?: string } } | { error: string } | null = null;

function exportOnce(threads: number, reps: number, warm: number): { dir: string; torch: Results } | { error: string } {
  if (exported) return exported;
  const dir = mkdtempSync(join(tmpdir(), 'tatami-w7-'));
  // The exported weights (Faster R-CNN's alone are 167 MB) go when the benchmark does.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const script = fileURLToPath(new URL('./w7_torch.py', import.meta.url));
  const r = spawnSync(
    '/usr/bin/python3',
    [script, dir, '--threads', String(threads), '--reps', String(reps), '--warm', String(warm)],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  exported =
    r.status === 0
      ? { dir, torch: JSON.parse(r.stdout.trim().split('\n').pop()!) as Results }
      : {
          error: `W7 needs PyTorch + torchvision for the shared weights (/usr/bin/python3 bench/w7_torch.py failed: ${(r.stderr ?? String(r.error)).trim().split('\n').slice(-2).join(' ')})`,
        };
  return exported;
}

/** PyTorch's W7 timings on the weights Tatami ran, when W7 ran in this process (they replace torch_bench.py's). */
export function w7TorchResults(): Results | null {
  return exported && 'torch' in exported ? exported.torch : null;
}

function load(path: string): Record<string, tt.Tensor> {
  return parseSafetensors(new Uint8Array(readFileSync(path)), path).tensors;
}

/** How Tatami's detections compare with PyTorch's: each PyTorch box paired with the nearest same-label one. */
export function compareDetections(
  ours: { boxes: tt.Tensor; scores: tt.Tensor; labels: tt.Tensor },
  ref: Record<string, tt.Tensor>,
): { count: [number, number]; maxBoxDiff: number; maxScoreDiff: number; unmatched: number } {
  const ob = ours.boxes.dataView(),
    os = ours.scores.dataView(),
    ol = ours.labels.dataView();
  const rb = ref.boxes.dataView(),
    rs = ref.scores.dataView(),
    rl = ref.labels.dataView();
  const used = new Uint8Array(ol.length);
  let maxBoxDiff = 0,
    maxScoreDiff = 0,
    unmatched = 0;
  for (let i = 0; i < rl.length; i++) {
    let best = -1,
      bestD = Infinity;
    for (let j = 0; j < ol.length; j++) {
      if (used[j] || Number(ol[j]) !== Number(rl[i])) continue;
      let d = 0;
      for (let k = 0; k < 4; k++) d = Math.max(d, Math.abs(ob[4 * j + k] - rb[4 * i + k]));
      d = Math.max(d, Math.abs(os[j] - rs[i]) * 1e3);
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    if (best < 0) {
      unmatched++;
      continue;
    }
    used[best] = 1;
    for (let k = 0; k < 4; k++) maxBoxDiff = Math.max(maxBoxDiff, Math.abs(ob[4 * best + k] - rb[4 * i + k]));
    maxScoreDiff = Math.max(maxScoreDiff, Math.abs(os[best] - rs[i]));
  }
  return { count: [ol.length, rl.length], maxBoxDiff, maxScoreDiff, unmatched };
}

/** Runs W7 on the active backend; `log` receives the detection match of each model. */
export function w7(res: Results, o: { reps: number; warm: number; threads: number; log: (l: string) => void }): void {
  const ex = exportOnce(o.threads, o.reps, o.warm);
  if ('error' in ex) {
    o.log(ex.error);
    return;
  }
  const cases = [
    { key: 'fasterrcnn', build: () => tt.models.detection.fasterrcnn_resnet50_fpn({ minSize: 512, maxSize: 512 }) },
    { key: 'ssdlite', build: () => tt.models.detection.ssdlite320_mobilenet_v3_large() },
  ] as const;
  for (const c of cases) {
    const m = c.build();
    const r = m.loadStateDict(load(join(ex.dir, `${c.key}.safetensors`)));
    if (r.missingKeys.length) throw new Error(`W7: ${c.key} weights lack ${r.missingKeys.slice(0, 3).join(', ')}`);
    const io = load(join(ex.dir, `${c.key}.io.safetensors`));
    const net = tt.nn.fuse(m);
    net.eval();
    const x = [io.input];
    const run = () => tt.noGrad(() => net.forward(x));
    const d = (run() as { boxes: tt.Tensor; scores: tt.Tensor; labels: tt.Tensor }[])[0];
    const cmp = compareDetections(d, io);
    const ok =
      cmp.count[0] === cmp.count[1] && cmp.unmatched === 0 && cmp.maxBoxDiff <= 1e-3 && cmp.maxScoreDiff <= 1e-4;
    o.log(
      `W7 ${c.key} on ${tt.getBackendName()}: ${ok ? 'detections match PyTorch' : 'DETECTIONS DIFFER from PyTorch'} ` +
        `(${cmp.count[0]} vs ${cmp.count[1]} boxes, ${cmp.unmatched} unmatched, max box diff ${cmp.maxBoxDiff.toExponential(2)} px, max score diff ${cmp.maxScoreDiff.toExponential(2)})`,
    );
    const timed = () => void run();
    const t: number[] = [];
    for (let i = 0; i < o.warm; i++) timed();
    // as medianSeconds does for every other workload: what earlier workloads and the warm-ups left behind is freed
    // before timing (run after W6 without it, Faster R-CNN took 650–760 ms instead of ~550)
    collectGarbage();
    for (let i = 0; i < o.reps; i++) {
      const t0 = process.hrtime.bigint();
      timed();
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.sort((a, b) => a - b);
    res[`W7_${c.key}_infer_ms`] = t[Math.floor(t.length / 2)];
  }
}
