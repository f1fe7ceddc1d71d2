/**
 * Tatami benchmark: the workloads of bench/README.md (the shared definition: ../shared/bench/README.md),
 * measured on the native and the wasm backend through the public API, side by side with PyTorch run in the same
 * invocation (/usr/bin/python3 torch_bench.py) when it is installed.
 *
 *   npm run bench [-- --only W1,W2] [--json] [--reps 5] [--warm 2] [--backends native,wasm] [--no-torch]
 *                 [--isas all | --isas avx512,avx2]  also each native instruction-set build side by side
 *                 [--peak]                         measure the FMA ceiling (../shared/bench/peak_flops.c) and
 *                                                  report the GFLOP/s keys as fractions of it
 *                 [--no-ort]                       skip ONNX Runtime's side of W2/W10 (bench/inference.ts)
 *                 [--paired-rounds 6]              block pairs of the paired Tatami/ORT ratios (0: none)
 *                 [--hide-avx512]                  run as on an AVX2 machine: every engine (Tatami's default
 *                                                  path, ONNX Runtime, PyTorch) sees the CPU without AVX-512
 *                                                  (tools/hide-avx512.ts; Linux x86-64 with CPUID faulting)
 *
 * Ratios are printed so that > 1 always means Tatami is ahead (throughput: Tatami/PyTorch; latency keys ending
 * in _ms or _s: PyTorch/Tatami). Each workload is a function registered in WORKLOADS.
 * W2 and W10 also run on ONNX Runtime (same weights); their `vs ORT` columns are ORT/Tatami latency, and a last
 * line gives Tatami/ORT latency measured in alternating blocks on the default backend (`runInferencePaired`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';
import { runInferenceOrt, runInferencePaired, runInferenceTatami } from './inference.ts';
import { collectGarbage } from './gc.ts';
import { w7, w7TorchResults } from './w7.ts';
import { HIDDEN_MARK, HIDE_UNSUPPORTED, runWithAvx512Hidden } from '../tools/hide-avx512.ts';

type Results = Record<string, number>;
/** A workload writes its keys into `res` using the currently active backend. */
type Workload = (res: Results, o: { reps: number; warm: number }) => void;

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const reps = Number(opt('reps', '5'));
const warm = Number(opt('warm', '2'));
const only = opt('only', 'W1,W2,W3,W4').split(',');
const json = flag('json');
const threads = Number(opt('threads', '2'));
const PAIRED_ROUNDS = Number(opt('paired-rounds', '6'));

// --hide-avx512: the same invocation again in a process whose cpuid answers without AVX-512.
if (flag('hide-avx512') && !process.env[HIDDEN_MARK]) {
  const status = runWithAvx512Hidden(process.execPath, [...process.execArgv, ...process.argv.slice(1)]);
  if (status === HIDE_UNSUPPORTED) console.error('--hide-avx512: not possible on this machine (see above)');
  process.exit(status);
}

/**
 * Median wall seconds of `reps` runs after `warm` warm-ups and a garbage collection. `gcEachRep` collects before
 * every timed run too: for the single-kernel workloads (W1, W9), whose few large outputs would otherwise not be
 * collected within the timed runs, so that they time the kernel as PyTorch's side does (its tensors are freed when
 * their last reference goes). Model workloads allocate enough that V8 collects during the warm-ups and runs; their
 * collections are part of the cost and stay in the timings.
 */
export function medianSeconds(fn: () => void, r = reps, w = warm, gcEachRep = false): number {
  for (let i = 0; i < w; i++) fn();
  collectGarbage();
  const ts: number[] = [];
  for (let i = 0; i < r; i++) {
    if (gcEachRep) collectGarbage();
    const t = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

function w1(res: Results, o: { reps: number; warm: number }): void {
  const g = new tt.Generator(0);
  const x = tt.randn([8, 64, 56, 56], { generator: g });
  const w = tt.randn([64, 64, 3, 3], { generator: g }).mul(1 / 24);
  const flops = 2 * 8 * 64 * 56 * 56 * 64 * 9;
  tt.noGrad(() => {
    res.W1_conv_fwd_gflops =
      flops / medianSeconds(() => tt.F.conv2d(x, w, null, { padding: 1 }), o.reps, o.warm, true) / 1e9;
  });
  const xr = x.detach().requiresGrad_(true);
  const wr = w.detach().requiresGrad_(true);
  const fb = () => {
    xr.grad = null;
    wr.grad = null;
    tt.F.conv2d(xr, wr, null, { padding: 1 }).sum().backward();
  };
  res.W1_conv_fwd_bwd_gflops = (3 * flops) / medianSeconds(fb, o.reps, o.warm, true) / 1e9;
}

/**
 * W9: conv3d 3×3×3, 64→64 channels, input 2×64×16×56×56, padding 1, no bias: forward, and forward + backward to
 * input and weight (counted as 3× the forward FLOPs).
 */
function w9(res: Results, o: { reps: number; warm: number }): void {
  const g = new tt.Generator(0);
  const x = tt.randn([2, 64, 16, 56, 56], { generator: g });
  const w = tt.randn([64, 64, 3, 3, 3], { generator: g }).mul(1 / 40);
  const flops = 2 * 2 * 64 * 16 * 56 * 56 * 64 * 27;
  tt.noGrad(() => {
    res.W9_conv3d_fwd_gflops =
      flops / medianSeconds(() => tt.F.conv3d(x, w, null, { padding: 1 }), o.reps, o.warm, true) / 1e9;
  });
  const xr = x.detach().requiresGrad_(true);
  const wr = w.detach().requiresGrad_(true);
  const fb = () => {
    xr.grad = null;
    wr.grad = null;
    tt.F.conv3d(xr, wr, null, { padding: 1 }).sum().backward();
  };
  res.W9_conv3d_fwd_bwd_gflops = (3 * flops) / medianSeconds(fb, o.reps, o.warm, true) / 1e9;
}

/**
 * K (not in the shared definition; issue 20's "kernels near the ceiling"): the 1×1 and depthwise 3×3 convolutions
 * that dominate W10, through `F.conv2d` as W1 times its convolution (PyTorch's side: torch_bench.py `wk`, the same
 * shapes). 1×1 convolutions are GEMMs: `_gflops` keys, reported against the FMA ceiling by `--peak`. Depthwise
 * convolutions do 18 FLOPs per output and are bound by memory: `_gbps` counts the input and output bytes a call
 * must move at least, and `K_copy_gbps` is what copying a buffer the size of the largest depthwise input moves
 * per second (one read and one write), so `_gbps / K_copy_gbps` is the fraction of a plain copy's speed.
 * Shapes: [batch, channels in, channels out, size] (ResNet-50 b1 layer1/layer3, b8 layer4; MobileNetV2 b8 expand,
 * project, last) and [batch, channels, size, stride] (MobileNetV2's first, a 56² stride-1 and stride-2, a 7²).
 */
const K_POINTWISE: [number, number, number, number][] = [
  [1, 64, 256, 56],
  [1, 1024, 256, 14],
  [8, 512, 2048, 7],
  [8, 24, 144, 56],
  [8, 144, 24, 56],
  [8, 960, 160, 7],
];
const K_DEPTHWISE: [number, number, number, number][] = [
  [1, 32, 112, 1],
  [8, 144, 56, 1],
  [8, 144, 56, 2],
  [8, 960, 7, 1],
];

function wk(res: Results, o: { reps: number; warm: number }): void {
  const g = new tt.Generator(0);
  // Sub-millisecond calls: many runs, and enough warm-ups for V8 to optimise the call path and for malloc to
  // settle on the output sizes (the first few dozen calls of a new shape ran 2× slower on the test machine).
  const reps = Math.max(o.reps, 25),
    warmups = Math.max(o.warm, 20);
  tt.noGrad(() => {
    for (const [n, c, oc, h] of K_POINTWISE) {
      const x = tt.randn([n, c, h, h], { generator: g });
      const w = tt.randn([oc, c, 1, 1], { generator: g });
      const s = medianSeconds(() => tt.F.conv2d(x, w), reps, warmups);
      res[`K_pw_${c}x${oc}_${h}_b${n}_gflops`] = (2 * n * c * oc * h * h) / s / 1e9;
    }
    for (const [n, c, h, stride] of K_DEPTHWISE) {
      const x = tt.randn([n, c, h, h], { generator: g });
      const w = tt.randn([c, 1, 3, 3], { generator: g });
      const oh = Math.floor((h - 1) / stride) + 1;
      const s = medianSeconds(() => tt.F.conv2d(x, w, null, { stride, padding: 1, groups: c }), reps, warmups);
      res[`K_dw_${c}_${h}_s${stride}_b${n}_gbps`] = (4 * n * c * (h * h + oh * oh)) / s / 1e9;
    }
  });
  const len = Math.max(...K_DEPTHWISE.map(([n, c, h]) => n * c * h * h));
  const src = new Float32Array(len).fill(1);
  const dst = new Float32Array(len);
  res.K_copy_gbps = (8 * len) / medianSeconds(() => dst.set(src), reps, warmups) / 1e9;
}

/** W2: torchvision-shaped ResNet-18 (1000 classes), eval mode, 1×3×224×224, no grad (bench/inference.ts). */
function w2(res: Results, o: { reps: number; warm: number }): void {
  runInferenceTatami('W2', res, o, medianSeconds);
}

/** W10: ResNet-50, MobileNetV2, MobileNetV3-Large at batch 1 and 8, 224×224, eval, no grad (bench/inference.ts). */
function w10(res: Results, o: { reps: number; warm: number }): void {
  runInferenceTatami('W10', res, o, medianSeconds);
}

/** W3: ResNet-18 (10 classes), train mode, 32×3×32×32, cross entropy, SGD lr 0.01 momentum 0.9, one step. */
function w3(res: Results, o: { reps: number; warm: number }): void {
  tt.manualSeed(0);
  const m = tt.nn.fuse(tt.models.resnet18({ numClasses: 10 }) as tt.nn.Module<[tt.Tensor], tt.Tensor>);
  m.train();
  const opt = new tt.optim.SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = tt.randn([32, 3, 32, 32]);
  const y = tt.randint(0, 10, [32]);
  const step = () => {
    opt.zeroGrad();
    tt.F.crossEntropy(m.forward(x), y).backward();
    opt.step();
  };
  res.W3_resnet18_train_img_per_s = 32 / medianSeconds(step, o.reps, o.warm);
}

/** W4: the small CNN, 64×1×28×28, cross entropy, Adam lr 1e-3, one step. */
function w4(res: Results, o: { reps: number; warm: number }): void {
  tt.manualSeed(0);
  const net = tt.nn.fuse(tt.models.smallCnn());
  const opt = new tt.optim.Adam(net.parameters(), { lr: 1e-3 });
  const x = tt.randn([64, 1, 28, 28]);
  const y = tt.randint(0, 10, [64]);
  const step = () => {
    opt.zeroGrad();
    tt.F.crossEntropy(net.forward(x), y).backward();
    opt.step();
  };
  res.W4_smallcnn_train_img_per_s = 64 / medianSeconds(step, Math.max(o.reps, 20), o.warm);
}

/**
 * W5: the small CNN on the full Fashion-MNIST, the recipe of torch_bench.py (pixels/255, batch 64, Adam 1e-3,
 * reshuffled each epoch, 10 epochs); training seconds per epoch (evaluation excluded), accuracy after each epoch,
 * peak RSS of the process. `--epochs N` shortens it.
 */
function w5(res: Results): void {
  const epochs = Number(opt('epochs', '10'));
  tt.manualSeed(0);
  const root = opt('fmnist', '/usr/share/datasets/fashion-mnist');
  // Keep only the float images and the labels (the uint8 originals can go), and scale in place, as torch_bench.py
  // does: one float copy of the images, not two.
  const load = (train: boolean) => {
    const ds = new tt.data.FashionMNIST({ root, train });
    return { x: ds.data.float().div_(255).unsqueeze(1), y: ds.targets };
  };
  const { x: xtr, y: ytr } = load(true);
  const { x: xte, y: yte } = load(false);
  const net = tt.nn.fuse(tt.models.smallCnn());
  const adam = new tt.optim.Adam(net.parameters(), { lr: 1e-3 });
  const n = xtr.shape[0];
  let trainSeconds = 0;
  const curve: number[] = [];
  for (let e = 0; e < epochs; e++) {
    net.train();
    const perm = tt.randperm(n);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i += 64) {
      const idx = perm.narrow(0, i, Math.min(64, n - i));
      adam.zeroGrad();
      tt.F.crossEntropy(net.forward(tt.indexSelect(xtr, 0, idx)), tt.indexSelect(ytr, 0, idx)).backward();
      adam.step();
    }
    trainSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
    net.eval();
    let correct = 0;
    tt.noGrad(() => {
      for (let i = 0; i < xte.shape[0]; i += 1000) {
        const pred = net.forward(xte.narrow(0, i, 1000)).argmax(1);
        correct += pred
          .eq(yte.narrow(0, i, 1000))
          .sum()
          .item();
      }
    });
    curve.push(Math.round((correct / xte.shape[0]) * 1e4) / 1e4);
    if (!json)
      console.error(
        `W5 epoch ${e + 1}/${epochs}: test accuracy ${(curve[e] * 100).toFixed(2)}%, ${(trainSeconds / (e + 1)).toFixed(1)} s/epoch so far`,
      );
  }
  res.W5_fmnist_train_s_per_epoch = trainSeconds / epochs;
  res.W5_fmnist_best_test_acc = Math.max(...curve);
  res.W5_peak_rss_mib = process.resourceUsage().maxRSS / 1024;
  if (!json) console.error(`W5 accuracy per epoch: ${curve.map((a) => (a * 100).toFixed(1)).join(', ')} %`);
}

/**
 * W6: the U-Net of torch_bench.py (`unet()`'s defaults are exactly it: 7,763,107 parameters), 4×3×128×128, 3 classes,
 * per-pixel cross entropy, Adam 1e-3, one full step; and torchvision-shaped DeepLabv3-ResNet-50 (21 classes, no aux),
 * eval mode, 1×3×256×256, no grad, output `out`.
 */
function w6(res: Results, o: { reps: number; warm: number }): void {
  w6UNet(res, o);
  // the U-Net, its optimizer state and its gradients are garbage from here: DeepLab's timing starts from a heap
  // (and a storage pool) without them, as a process serving the model would
  collectGarbage();
  w6DeepLab(res, o);
}

function w6UNet(res: Results, o: { reps: number; warm: number }): void {
  tt.manualSeed(0);
  const net = tt.nn.fuse(tt.models.segmentation.unet());
  net.train();
  const opt = new tt.optim.Adam(net.parameters(), { lr: 1e-3 });
  const x = tt.randn([4, 3, 128, 128]);
  const y = tt.randint(0, 3, [4, 128, 128]);
  const step = () => {
    opt.zeroGrad();
    tt.F.crossEntropy(net.forward(x).out, y).backward();
    opt.step();
  };
  res.W6_unet_train_img_per_s = 4 / medianSeconds(step, o.reps, o.warm);
}

function w6DeepLab(res: Results, o: { reps: number; warm: number }): void {
  const m = tt.nn.fuse(tt.models.segmentation.deeplabv3_resnet50({ numClasses: 21 }));
  m.eval();
  const xi = tt.randn([1, 3, 256, 256]);
  tt.noGrad(() => {
    res.W6_deeplabv3_infer_ms = medianSeconds(() => m.forward(xi).out, o.reps, o.warm) * 1e3;
  });
}

/**
 * W8: the DCGAN of ../shared/bench (models.dcgan(), 3×64×64, G 3,576,704 / D 2,765,568 parameters), batch 64: one
 * D step on a fixed real batch and a fresh fake batch, one G step through D (models.ganStep with the plain BCE loss,
 * no smoothing), Adam 2e-4, β = (0.5, 0.999); images per second.
 */
function w8(res: Results, o: { reps: number; warm: number }): void {
  tt.manualSeed(0);
  const gan = tt.models.dcgan();
  const generator = tt.nn.fuse(gan.generator),
    discriminator = tt.nn.fuse(gan.discriminator);
  const betas: [number, number] = [0.5, 0.999];
  const parts = {
    generator,
    discriminator,
    optimizerG: new tt.optim.Adam(generator.parameters(), { lr: 2e-4, betas }),
    optimizerD: new tt.optim.Adam(discriminator.parameters(), { lr: 2e-4, betas }),
  };
  const real = tt.rand([64, 3, 64, 64]).mul(2).sub(1);
  res.W8_dcgan_train_img_per_s = 64 / medianSeconds(() => void tt.models.ganStep(parts, real), o.reps, o.warm);
}

/** Workloads by id (../shared/bench/README.md). */
export const WORKLOADS: Record<string, Workload> = {
  W1: w1,
  W2: w2,
  W3: w3,
  W4: w4,
  W5: w5,
  W6: w6,
  // Same weights on both sides (bench/w7.ts): PyTorch's W7 numbers come from bench/w7_torch.py, not torch_bench.py.
  W7: (res, o) => w7(res, { ...o, threads, log: (l) => console.error(l) }),
  W8: w8,
  W9: w9,
  W10: w10,
  K: wk,
};

/**
 * Whether /usr/bin/python3 has PyTorch, from one probe that also warns when PyTorch runs its GEMMs on Debian's
 * reference BLAS (python3-torch pulls in only libblas3): its Linear layers then run ~15× slower than with OpenBLAS
 * or the MKL of PyTorch's wheels, and every ratio with a large GEMM in it (W7 Faster R-CNN's box head, the
 * classifiers' last layers) would flatter Tatami.
 */
function probeTorch(): boolean {
  const r = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      "import torch; torch.ones(64, 64) @ torch.ones(64, 64); print('\\n'.join(l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower()))",
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return false;
  if (/\/blas\/libblas\.so/.test(r.stdout))
    console.warn(
      'bench: PyTorch is using the reference BLAS (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3); install ' +
        'libopenblas0-pthread (scripts/setup-system.sh does) so that the PyTorch side is not crippled',
    );
  return true;
}

/** The workload ids a torch_bench.py implements (its `"W6": lambda: …` dispatch entries). */
function torchWorkloads(script: string): Set<string> {
  return new Set([...readFileSync(script, 'utf8').matchAll(/"(W\d+|K)":\s*lambda/g)].map((m) => m[1]));
}

function runTorch(): Results | null {
  if (flag('no-torch')) return null;
  if (!probeTorch()) return null;
  const shared = fileURLToPath(new URL('../../shared/bench/torch_bench.py', import.meta.url));
  const local = fileURLToPath(new URL('./torch_bench.py', import.meta.url));
  // The shared definition's script runs the workloads it has; the repository's copy runs the ones it lacks (a
  // workload added here before the shared copy has it), and the results are merged.
  const plan: [string, string[]][] = [];
  const sharedHas = existsSync(shared) ? torchWorkloads(shared) : new Set<string>();
  const localHas = torchWorkloads(local);
  const sameWeights = w7TorchResults();
  const ids = only.filter((w) => !(w === 'W7' && sameWeights));
  const fromShared = ids.filter((w) => sharedHas.has(w));
  if (fromShared.length) plan.push([shared, fromShared]);
  const rest = ids.filter((w) => !sharedHas.has(w) && localHas.has(w));
  if (rest.length) plan.push([local, rest]);
  let merged: Results | null = null;
  for (const [script, ids] of plan) {
    const r = spawnSync('/usr/bin/python3', [script, '--threads', String(threads), '--only', ids.join(',')], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      console.error(`${script} failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
      continue;
    }
    merged = { ...(merged ?? {}), ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Results) };
  }
  if (sameWeights) {
    const { engine, ...keys } = sameWeights as Results & { engine?: unknown };
    merged = { ...(merged ?? { engine: engine as never }), ...keys };
  }
  return merged;
}

/**
 * The machine's float32 FMA ceiling with `threads` threads, from ../shared/bench/peak_flops.c compiled here with
 * gcc: { avx512, avx2 } in GFLOP/s (avx512 absent on CPUs without it), or null when it cannot be built.
 */
function peakFlops(): { avx512?: number; avx2?: number } | null {
  const src = fileURLToPath(new URL('../../shared/bench/peak_flops.c', import.meta.url));
  if (!existsSync(src)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'tatami-peak-'));
  try {
    const has512 = tt.availableBackends({ variants: true }).some((b) => b.name === 'native-avx512' && b.available);
    const exe = join(dir, 'peak_flops');
    const cc = spawnSync(
      'gcc',
      ['-O3', ...(has512 ? ['-mavx512f'] : ['-DNO_AVX512']), '-mavx2', '-mfma', '-pthread', src, '-o', exe],
      { encoding: 'utf8' },
    );
    if (cc.status !== 0) return null;
    const out = spawnSync(exe, [], { encoding: 'utf8' }).stdout ?? '';
    const read = (isa: string): number | undefined => {
      const m = new RegExp(`${isa}[^\\n]*?, ${threads} threads?: ([0-9.]+) GFLOP/s`, 'i').exec(out);
      return m ? Number(m[1]) : undefined;
    };
    return { avx512: read('AVX-?512'), avx2: read('AVX2') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The FMA ceiling that bounds a backend: its vector width's row of peak_flops (wasm SIMD128 is half of AVX2's). */
function ceilingFor(name: string, peak: { avx512?: number; avx2?: number }): number | undefined {
  if (name === 'native-avx512') return peak.avx512;
  if (name === 'native-avx2') return peak.avx2;
  if (name.startsWith('wasm') || name === 'native-generic') return peak.avx2 !== undefined ? peak.avx2 / 2 : undefined;
  return undefined;
}

async function main(): Promise<void> {
  process.env.TATAMI_NUM_THREADS ??= String(threads);
  tt.setNumThreads(threads);
  const wanted = opt('backends', 'native,wasm').split(',');
  const isaOpt = opt('isas', '');
  if (isaOpt) {
    const all = tt
      .availableBackends({ variants: true })
      .filter((b) => b.available && /^native-(avx512|avx2|generic)$/.test(b.name))
      .map((b) => b.name);
    const isas = isaOpt === 'all' ? all : isaOpt.split(',').map((i) => `native-${i}`);
    wanted.splice(0, wanted.length, ...isas, ...wanted.filter((b) => b !== 'native'));
  }
  const available = tt
    .availableBackends({ variants: true })
    .filter((b) => b.available)
    .map((b) => b.name);
  const per: Record<string, Results> = {};
  const names: Record<string, string> = {};
  for (const b of wanted) {
    if (!available.includes(b)) {
      if (!json)
        console.log(
          `(backend ${b} unavailable: ${tt.availableBackends().find((x) => x.name === b)?.reason ?? 'unknown'})`,
        );
      continue;
    }
    tt.withBackend(b, () => {
      names[b] = tt.getBackendName();
      const res: Results = {};
      for (const id of only) {
        const fn = WORKLOADS[id];
        if (!fn) {
          if (!json) console.log(`(workload ${id} not implemented yet)`);
          continue;
        }
        fn(res, { reps, warm });
      }
      per[b] = res;
    });
  }
  const torch = runTorch();
  // ONNX Runtime runs the inference workloads (W2, W10) on the same weights, exported by Tatami's exporter.
  const ortWanted = only.some((w) => w === 'W2' || w === 'W10') && !flag('no-ort');
  const ort = ortWanted ? await runInferenceOrt(only, threads, warm) : { res: null, engine: 'not run' };
  // …and again against the default backend in alternating blocks, the ratio that drift between phases cannot bias
  const paired = ort.res && PAIRED_ROUNDS > 0 ? await runInferencePaired(only, threads, PAIRED_ROUNDS) : null;
  const keys = [...new Set(Object.values(per).flatMap((r) => Object.keys(r)))];
  // Throughput keys end in _per_s (img/s) or _gflops; latency and memory keys (ms, s per epoch, MiB) are lower-is-better.
  const lowerIsBetter = (k: string) => !/_per_s$/.test(k) && /_(ms|s_per_epoch|mib)$/.test(k);
  const ratio = (t: number | undefined, p: number | undefined, k: string) =>
    t === undefined || p === undefined ? undefined : lowerIsBetter(k) ? p / t : t / p;
  const ortRes = ort.res;
  if (json) {
    const ratios = (ref: Results | null) =>
      Object.fromEntries(
        keys.map((k) => [
          k,
          Object.fromEntries(Object.keys(per).map((b) => [b, ratio(per[b][k], ref?.[k] as number | undefined, k)])),
        ]),
      );
    console.log(
      JSON.stringify({
        threads,
        backends: names,
        tatami: per,
        pytorch: torch,
        onnxruntime: ortRes,
        ratios: ratios(torch),
        ratiosOrt: ratios(ortRes),
        ratiosOrtPaired: paired,
      }),
    );
    return;
  }
  const fmt = (v: number | undefined) => (v === undefined ? '—' : v >= 100 ? v.toFixed(1) : v.toFixed(2));
  const bs = Object.keys(per);
  const withOrt = ortRes !== null && keys.some((k) => ortRes[k] !== undefined);
  const cols = [
    'key',
    ...bs.map((b) => `Tatami ${names[b]}`),
    'PyTorch',
    ...(withOrt ? ['ORT'] : []),
    ...bs.map((b) => `ratio ${b}`),
    ...(withOrt ? bs.map((b) => `vs ORT ${b}`) : []),
  ];
  const rows = keys.map((k) => [
    k,
    ...bs.map((b) => fmt(per[b][k])),
    fmt(torch?.[k] as number | undefined),
    ...(withOrt ? [fmt(ortRes[k])] : []),
    ...bs.map((b) => fmt(ratio(per[b][k], torch?.[k] as number | undefined, k))),
    ...(withOrt ? bs.map((b) => fmt(ratio(per[b][k], ortRes[k], k))) : []),
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(
    `threads: ${threads}; median of ${reps} after ${warm} warm-ups; PyTorch: ${torch ? torch.engine : 'not available'}` +
      (ortWanted ? `; ONNX Runtime: ${ort.engine}` : '') +
      (process.env[HIDDEN_MARK] ? '; AVX-512 hidden from every engine (tools/hide-avx512.c)' : ''),
  );
  console.log(line(cols));
  for (const r of rows) console.log(line(r));
  if (withOrt) {
    // Issue 20's criterion is stated as Tatami's latency over ORT's (≤ 0.9 means Tatami at least 10 % faster).
    const ms = keys.filter((k) => ortRes[k] !== undefined);
    for (const b of bs)
      console.log(
        `Tatami ${names[b]} / ORT latency: ${ms.map((k) => `${k.replace(/_infer_ms$/, '')} ${fmt(per[b][k] / ortRes[k])}`).join(', ')}`,
      );
    if (paired)
      console.log(
        `Tatami ${tt.getBackendName()} / ORT latency, ${PAIRED_ROUNDS} alternating block pairs (median ratio): ` +
          Object.keys(paired)
            .map((k) => `${k.replace(/_infer_ms$/, '')} ${fmt(paired[k])}`)
            .join(', '),
      );
  }
  if (flag('peak')) {
    const peak = peakFlops();
    if (!peak) {
      console.log('(FMA ceiling not measured: ../shared/bench/peak_flops.c missing or gcc failed)');
      return;
    }
    console.log(
      `FMA ceiling, ${threads} threads: AVX-512 ${peak.avx512?.toFixed(1) ?? '—'} GFLOP/s, AVX2 ${peak.avx2?.toFixed(1) ?? '—'} GFLOP/s`,
    );
    for (const k of keys.filter((key) => key.endsWith('_gflops'))) {
      const parts = Object.keys(per).map((b) => {
        const c = ceilingFor(names[b], peak);
        return `${names[b]} ${c && per[b][k] !== undefined ? `${((100 * per[b][k]) / c).toFixed(0)} %` : '—'}`;
      });
      console.log(`  ${k} as a fraction of its build's ceiling: ${parts.join(', ')}`);
    }
    for (const k of keys.filter((key) => key.startsWith('K_dw_'))) {
      const parts = Object.keys(per).map((b) => {
        const copy = per[b].K_copy_gbps;
        return `${names[b]} ${copy && per[b][k] !== undefined ? `${((100 * per[b][k]) / copy).toFixed(0)} %` : '—'}`;
      });
      console.log(`  ${k} as a fraction of a one-thread copy's bytes/s: ${parts.join(', ')}`);
    }
  }
}

void main();
