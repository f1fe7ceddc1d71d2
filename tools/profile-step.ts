/**
 * Where does a training step spend its time? Wraps every kernel of the active backend with a timer, runs a
 * workload (W3 ResNet-18 step, W4 small-CNN step, W2 inference) and prints kernel totals vs. the step's wall time.
 * W8 is the DCGAN step of bench/run.ts (models.dcgan(), batch 64, ganStep with BCE). W6 is bench/run.ts's U-Net
 * training step (4×3×128×128, 3 classes, Adam); W6d its DeepLabv3-ResNet-50 inference (1×3×256×256, fused).
 * YOLOX is examples/detect-scenes.ts's step (yolox width 0.25, 8 DetectionScenes images of 128², AdamW).
 * Usage: npx tsx tools/profile-step.ts W1|W2|W3|W4|W6|W6d|W8|YOLOX|<model>[@batch] [steps] [--by-shape] [--no-fuse] [--cpu]
 *   <model>: any registry model run in inference (e.g. mobilenet_v2@8, the W10 models), fused unless --no-fuse.
 *   --cpu: time by this process's CPU time (process.cpuUsage) instead of the wall clock — what to use on a loaded
 *          machine, with TATAMI_NUM_THREADS=1 (the kernels then run on the calling thread).
 *   --by-shape: convolution kernels are split by geometry (C→OC, kernel, stride, input size, batch).
 */
import * as tt from '../src/index.js';
import { backend, setBackend } from '../src/backend/index.js';
import type { Backend } from '../src/backend/index.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const which = positional[0] ?? 'W3';
const steps = Number(positional[1] ?? 5);
const byShape = process.argv.includes('--by-shape');
const cpu = process.argv.includes('--cpu');
/** Milliseconds: CPU time of the process with --cpu, else the wall clock. */
const now = cpu
  ? () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e3;
    }
  : () => performance.now();
/** `conv2d 64→128 3×3/2 @56 ×8` for a conv kernel call, when split by shape. */
function shapeLabel(key: string, args: unknown[]): string {
  const g = args.find(
    (a): a is Record<string, number> => typeof a === 'object' && a !== null && 'kh' in a && 'oc' in a,
  );
  return g
    ? `${key} ${g.c}→${g.oc} ${g.kh}×${g.kw}/${g.strideH}${g.dilationH > 1 ? ` d${g.dilationH}` : ''}${g.groups > 1 ? ` g${g.groups}` : ''} @${g.h} ×${g.n}`
    : key;
}
const base = backend();
const totals = new Map<string, { ms: number; calls: number; each: number[] }>();
const wrapped: Record<string, unknown> = { ...base };
for (const [key, fn] of Object.entries(base)) {
  if (typeof fn !== 'function') continue;
  wrapped[key] = (...args: unknown[]) => {
    const label =
      key === 'unary' || key === 'binary' || key === 'unaryGrad' || key === 'reduce'
        ? `${key}:${String(args[0])}`
        : byShape && key.startsWith('conv')
          ? shapeLabel(key, args)
          : key;
    const t = now();
    const r = (fn as (...a: unknown[]) => unknown).apply(base, args);
    const e = now() - t;
    const s = totals.get(label) ?? { ms: 0, calls: 0, each: [] };
    s.ms += e;
    s.calls++;
    s.each.push(e);
    totals.set(label, s);
    return r;
  };
}
setBackend(wrapped as unknown as Backend);

tt.manualSeed(0);
let step: () => void;
let images = 1;
if (which === 'W3' || which === 'W4') {
  const m = (which === 'W3' ? tt.models.resnet18({ numClasses: 10 }) : tt.models.smallCnn()) as tt.nn.Module<
    [tt.Tensor],
    tt.Tensor
  >;
  m.train();
  const opt =
    which === 'W3'
      ? new tt.optim.SGD(m.parameters(), { lr: 0.01, momentum: 0.9 })
      : new tt.optim.Adam(m.parameters(), { lr: 1e-3 });
  images = which === 'W3' ? 32 : 64;
  const x = which === 'W3' ? tt.randn([32, 3, 32, 32]) : tt.randn([64, 1, 28, 28]);
  const y = tt.randint(0, 10, [images]);
  step = () => {
    opt.zeroGrad();
    tt.F.crossEntropy(m.forward(x), y).backward();
    opt.step();
  };
} else if (which === 'W8') {
  // fused as bench/run.ts does (nn.fuse: the same values, fewer kernels)
  const gan = tt.models.dcgan();
  const generator = tt.nn.fuse(gan.generator),
    discriminator = tt.nn.fuse(gan.discriminator);
  const opt = (m: tt.nn.Module) => new tt.optim.Adam(m.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const parts = { generator, discriminator, optimizerG: opt(generator), optimizerD: opt(discriminator) };
  images = 64;
  const real = tt.rand([64, 3, 64, 64]).mul(2).sub(1);
  step = () => void tt.models.ganStep(parts, real);
} else if (which === 'W6') {
  const net = tt.nn.fuse(tt.models.segmentation.unet());
  net.train();
  const opt = new tt.optim.Adam(net.parameters(), { lr: 1e-3 });
  images = 4;
  const x = tt.randn([4, 3, 128, 128]);
  const y = tt.randint(0, 3, [4, 128, 128]);
  step = () => {
    opt.zeroGrad();
    tt.F.crossEntropy(net.forward(x).out, y).backward();
    opt.step();
  };
} else if (which === 'YOLOX') {
  const scenes = new tt.data.DetectionScenes({ n: 8, size: 128, seed: 0 });
  const net = tt.models.yolox({ numClasses: scenes.classes.length + 1, width: 0.25 });
  net.train();
  const opt = new tt.optim.AdamW(net.parameters(), { lr: 1e-3, weightDecay: 5e-4 });
  images = 8;
  const samples = Array.from({ length: images }, (_, i) => scenes.get(i));
  const x = tt.stack(samples.map((s) => s.image));
  const targets = samples.map((s) => ({ boxes: s.boxes, labels: s.labels }));
  step = () => {
    opt.zeroGrad();
    const losses = net.forward(x, targets) as Record<string, tt.Tensor>;
    Object.values(losses)
      .reduce((a, b) => tt.add(a, b))
      .backward();
    opt.step();
  };
} else if (which === 'W6d') {
  const m = tt.nn.fuse(tt.models.segmentation.deeplabv3_resnet50({ numClasses: 21 }));
  m.eval();
  const x = tt.randn([1, 3, 256, 256]);
  step = () =>
    tt.noGrad(() => {
      m.forward(x);
    });
} else if (which === 'W1') {
  const g = new tt.Generator(0);
  const x = tt.randn([8, 64, 56, 56], { generator: g }).requiresGrad_(true);
  const w = tt
    .randn([64, 64, 3, 3], { generator: g })
    .mul(1 / 24)
    .requiresGrad_(true);
  images = 8;
  step = () => {
    x.grad = null;
    w.grad = null;
    tt.F.conv2d(x, w, null, { padding: 1 }).sum().backward();
  };
} else {
  // W2 is ResNet-18 at batch 1; any other name is a registry model in inference, `name@batch`
  const [name, batch] = which === 'W2' ? ['resnet18', '1'] : which.split('@');
  const m = tt.models.getModel(name) as tt.nn.Module<[tt.Tensor], tt.Tensor>;
  m.eval();
  if (!process.argv.includes('--no-fuse')) tt.nn.fuse(m);
  images = Number(batch ?? 1);
  const x = tt.randn([images, 3, 224, 224]);
  step = () =>
    tt.noGrad(() => {
      m.forward(x);
    });
}
for (let i = 0; i < 2; i++) step();
totals.clear();
const t0 = now();
for (let i = 0; i < steps; i++) step();
const wall = (now() - t0) / steps;
let kernel = 0;
const rows = [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
for (const [, s] of rows) kernel += s.ms / steps;
console.log(
  `${which}: ${wall.toFixed(2)} ms/step${cpu ? ' (CPU)' : ''} (${((images / wall) * 1e3).toFixed(1)} img/s); kernels ${kernel.toFixed(2)} ms, outside ${(wall - kernel).toFixed(2)} ms`,
);
/** Median of one call's time × calls per step: what the kernel costs when the shared machine leaves it alone. */
const typical = (s: { calls: number; each: number[] }) =>
  [...s.each].sort((a, b) => a - b)[s.each.length >> 1] * (s.calls / steps);
console.log(`${'kernel'.padEnd(byShape ? 44 : 28)} ${'mean ms'.padStart(9)}  ${'median×calls'.padStart(12)}  calls`);
for (const [k, s] of rows.slice(0, Number(process.env.PROFILE_ROWS ?? 25)))
  console.log(
    `${k.padEnd(byShape ? 44 : 28)} ${(s.ms / steps).toFixed(3).padStart(9)}  ${typical(s).toFixed(3).padStart(12)}  ${String(s.calls / steps).padStart(5)}`,
  );
