/**
 * W7 broken into stages, one thread, CPU time, Tatami beside PyTorch on the same weights: runs
 * bench/w7_profile_torch.py (which builds, conditions and exports the two W7 detectors as bench/w7_torch.py does and
 * profiles PyTorch with torch.set_num_threads(1)), loads the weights into Tatami's models (fused, as W7 runs them),
 * wraps the same stages with an exclusive CPU-time counter and prints one markdown table per model:
 * stage, Tatami ms, PyTorch ms, ratio.
 *
 *   TATAMI_NUM_THREADS=1 nice -n 19 node --import tsx bench/w7_profile.ts [--reps 3] [--only fasterrcnn|ssdlite]
 *     [--keep DIR] [--threads N]
 *
 * --threads N (N > 1; set TATAMI_NUM_THREADS=N too) runs both sides on N threads and times the stages by the wall
 * clock, as W7 itself runs: on a quiet machine only, since CPU time would add the threads up.
 *
 * --keep DIR keeps the exported weights and PyTorch's timings in DIR and reuses them on the next run (Tatami-only
 * A/B runs while changing code; quote ratios from runs where both sides ran, interleaved).
 *
 * CPU time (process.cpuUsage / time.process_time) rather than wall clock, so a busy machine slows both sides alike
 * (cache sharing aside); both sides run one thread.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tt from '../src/index.ts';
import { parseSafetensors } from '../src/io/safetensors.ts';
import { cpuMs } from '../tools/cpu-time.ts';

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    warm: { type: 'string', default: '1' },
    only: { type: 'string' },
    keep: { type: 'string' },
    threads: { type: 'string', default: '1' },
  },
});
const threads = Number(args.threads);
if (!(Number.isInteger(threads) && threads >= 1))
  throw new Error(`w7_profile: --threads must be a positive integer, got '${args.threads}'`);
tt.setNumThreads(threads);
/** Milliseconds: CPU time with one thread (robust to load), the wall clock with several. */
const clock = threads === 1 ? cpuMs : () => performance.now();
const reps = Number(args.reps);
const warm = Number(args.warm);

/** Exclusive milliseconds (`clock`) per named stage (a stage's time excludes the stages called inside it). */
class Stages {
  readonly ms = new Map<string, number>();
  private readonly stack: number[] = [];

  wrap(obj: object, attr: string, name: string): void {
    const o = obj as Record<string, unknown>;
    const fn = o[attr] as (...a: unknown[]) => unknown;
    o[attr] = (...a: unknown[]) => {
      this.stack.push(0);
      const t = clock();
      try {
        return fn.apply(obj, a);
      } finally {
        const dt = clock() - t;
        const inner = this.stack.pop()!;
        this.ms.set(name, (this.ms.get(name) ?? 0) + dt - inner);
        if (this.stack.length) this.stack[this.stack.length - 1] += dt;
      }
    };
  }
}

type Any = Record<string, unknown> & object;

function fasterrcnnStages(m: Any, s: Stages): void {
  const tr = m.transform as Any;
  const bb = m.backbone as Any;
  const rpn = m.rpn as Any;
  const rh = m.roi_heads as Any;
  s.wrap(tr, 'normalize', 'transform: normalise');
  s.wrap(tr, 'resize', 'transform: resize');
  s.wrap(tr, 'batchImages', 'transform: batch');
  s.wrap(bb.body as Any, 'forward', 'backbone body (ResNet-50 convs)');
  s.wrap(bb.fpn as Any, 'forward', 'FPN');
  s.wrap(rpn.head as Any, 'forward', 'RPN head');
  s.wrap(rpn.anchor_generator as Any, 'forward', 'anchor generation');
  s.wrap(rpn.boxCoder as Any, 'decodeAt', 'box decode (RPN + box head)');
  s.wrap(rpn, 'filterProposals', 'proposal filtering (top-k, clip, NMS)');
  // forwardGrouped, which the RoI heads call at inference (wrapping forward would make them take the hooked path)
  s.wrap(rh.box_roi_pool as Any, 'forwardGrouped', 'MultiScaleRoIAlign');
  // The head's and predictor's layers rather than their forwards, for the same reason (their ReLUs count as rest).
  for (const fc of ['fc6', 'fc7']) s.wrap((rh.box_head as Any)[fc] as Any, 'forward', 'box head (TwoMLPHead)');
  for (const fc of ['cls_score', 'bbox_pred']) s.wrap((rh.box_predictor as Any)[fc] as Any, 'forward', 'box predictor');
  s.wrap(rh.boxCoder as Any, 'decodeAt', 'box decode (RPN + box head)');
  s.wrap(rh, 'postprocessDetections', 'detection postprocess (softmax, clip, NMS)');
  s.wrap(tr, 'postprocess', 'transform: boxes to original size');
}

function ssdliteStages(m: Any, s: Stages): void {
  const tr = m.transform as Any;
  s.wrap(tr, 'normalize', 'transform: normalise');
  s.wrap(tr, 'resize', 'transform: resize');
  s.wrap(tr, 'batchImages', 'transform: batch');
  s.wrap(m.backbone as Any, 'forward', 'backbone (MobileNetV3 + extras)');
  s.wrap(m.head as Any, 'forward', 'head');
  s.wrap(m.anchor_generator as Any, 'forward', 'anchor generation');
  s.wrap(m.boxCoder as Any, 'decodeSingle', 'box decode');
  s.wrap(m, 'postprocessDetections', 'detection postprocess (softmax, top-k, clip, NMS)');
  s.wrap(tr, 'postprocess', 'transform: boxes to original size');
}

const dir = args.keep ?? mkdtempSync(join(tmpdir(), 'tatami-w7p-'));
if (!args.keep) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const timings = join(dir, 'torch.json');
let torchJson: string;
if (args.keep && existsSync(timings)) torchJson = readFileSync(timings, 'utf8');
else {
  mkdirSync(dir, { recursive: true });
  const py = spawnSync(
    '/usr/bin/python3',
    [
      fileURLToPath(new URL('./w7_profile_torch.py', import.meta.url)),
      dir,
      '--reps',
      String(reps),
      '--warm',
      String(warm),
      '--threads',
      String(threads),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (py.status !== 0) throw new Error(`w7_profile_torch.py failed: ${py.stderr}`);
  torchJson = py.stdout.trim().split('\n').pop()!;
  if (args.keep) writeFileSync(timings, torchJson);
}
const torch = JSON.parse(torchJson) as Record<string, Record<string, number>>;
const load = (p: string) => parseSafetensors(new Uint8Array(readFileSync(p)), p).tensors;

const cases = [
  {
    key: 'fasterrcnn',
    build: () => tt.models.detection.fasterrcnn_resnet50_fpn({ minSize: 512, maxSize: 512 }),
    stages: fasterrcnnStages,
  },
  { key: 'ssdlite', build: () => tt.models.detection.ssdlite320_mobilenet_v3_large(), stages: ssdliteStages },
];
console.log(
  `W7 stages, ${threads === 1 ? 'CPU ms per call, one thread' : `wall ms per call, ${threads} threads`} (Tatami ${tt.getBackendName()}, ${torch.engine}), ${reps} calls`,
);
for (const c of cases) {
  if (args.only && args.only !== c.key) continue;
  const m = c.build();
  m.loadStateDict(load(join(dir, `${c.key}.safetensors`)));
  const net = tt.nn.fuse(m);
  net.eval();
  const x = [load(join(dir, `${c.key}.io.safetensors`)).input];
  const s = new Stages();
  c.stages(net as unknown as Any, s);
  for (let i = 0; i < warm; i++) tt.noGrad(() => net.forward(x));
  s.ms.clear();
  const t0 = clock();
  for (let i = 0; i < reps; i++) tt.noGrad(() => net.forward(x));
  const total = (clock() - t0) / reps;
  const ref = torch[c.key];
  const rows = [...s.ms.keys()];
  for (const k of Object.keys(ref)) if (!rows.includes(k) && k !== 'total') rows.push(k);
  const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));
  console.log(`\n${c.key}\n\n| Stage | Tatami ms | PyTorch ms | Ratio |\n|---|---|---|---|`);
  let ours = 0,
    theirs = 0;
  for (const k of rows) {
    const a = (s.ms.get(k) ?? 0) / reps;
    const b = ref[k];
    ours += a;
    theirs += b ?? 0;
    console.log(`| ${k} | ${fmt(a)} | ${fmt(b)} | ${b ? (a / b).toFixed(2) : '–'} |`);
  }
  console.log(
    `| rest of the call | ${fmt(total - ours)} | ${fmt(ref.total - theirs)} | ${((total - ours) / (ref.total - theirs)).toFixed(2)} |`,
  );
  console.log(`| **whole call** | **${fmt(total)}** | **${fmt(ref.total)}** | **${(total / ref.total).toFixed(2)}** |`);
}
