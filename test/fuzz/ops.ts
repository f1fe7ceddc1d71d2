/**
 * Fuzzing of op arguments (issue 13): random storages, shapes, strides, offsets and dtypes given to `new Tensor`,
 * then random ops on every available backend, and random geometries and buffer lengths given straight to the
 * backend's kernels. Run as a child process by test/fuzz.test.ts (a native crash then fails the test instead of
 * killing the runner):
 *
 *   node --import tsx test/fuzz/ops.ts <seed> <budget-ms>
 *
 * Each case must either succeed or throw an `Error` whose message starts with the op or kernel name; an op that
 * succeeds on an accelerated backend must agree with the reference backend (float64 reference, float32 tolerance),
 * so a view read wrongly (silently wrong numbers) is a finding too. Prints one JSON line.
 */
import * as tt from '../../src/index.ts';
import type { Backend } from '../../src/backend/types.ts';

const [seedArg, budgetArg] = process.argv.slice(2);
const rng = new tt.Generator(Number(seedArg));
const budgetMs = Number(budgetArg);
const int = (n: number) => Math.floor(rng.random() * n);
const pick = <T>(a: readonly T[]): T => a[int(a.length)];
const backends = tt
  .availableBackends()
  .filter((b) => b.available)
  .map((b) => b.name);
const DTYPES = ['float32', 'float64', 'int32', 'uint8', 'bool'] as const;
const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

/** FUZZ_TRACE=1 writes each case to stderr before it runs, to find the one that crashed a child. */
const trace = process.env.FUZZ_TRACE === '1' ? (s: string) => process.stderr.write(s + '\n') : () => undefined;

const counts = {
  seed: Number(seedArg),
  backends,
  tried: 0,
  succeeded: 0,
  rejected: 0,
  compared: 0,
  findings: [] as string[],
  peakRssMB: 0,
};

function finding(what: string): void {
  if (counts.findings.length < 50) counts.findings.push(what.slice(0, 400));
}

/** An error is clean when it is a plain Error whose message starts with a name and a colon ("conv2d: …"). */
function clean(e: unknown): boolean {
  return e instanceof Error && e.constructor === Error && /^([A-Za-z][\w .]*: |cannot allocate )/.test(e.message);
}

/** A random dimension size, mostly small, sometimes 0 or absurd. */
function dim(): number {
  const r = rng.random();
  if (r < 0.05) return 0;
  if (r < 0.08) return pick([-1, 1.5, NaN, 2 ** 31, 1e9, 1e5]);
  return 1 + int(6);
}

/** A random view: mostly valid, sometimes with a short storage, a bad offset, odd strides or the wrong dtype. */
function randomView(rank: number): {
  storage: tt.TypedArray;
  shape: number[];
  dtype: tt.DType;
  strides?: number[];
  offset: number;
} {
  const dtype = rng.random() < 0.8 ? 'float32' : pick(DTYPES);
  const shape = Array.from({ length: rank }, dim);
  // Huge sizes only beside a zero (an empty tensor with absurd dims): a valid 2³¹-element view would make every
  // op allocate gigabytes, which is what the user asked for, not a defect.
  if (!shape.includes(0) && shape.reduce((a, d) => a * (Number.isFinite(d) ? Math.abs(d) : 1), 1) > 1 << 16)
    shape[int(rank)] = 0;
  // An op over an empty dim of such a tensor may legitimately produce the other dims' product of elements (the
  // mean over dim 0 of [0, 10⁹] is 10⁹ NaNs, in PyTorch too): keep that product allocatable.
  const rest = shape.reduce((a, d) => a * (Number.isFinite(d) && d > 0 ? d : 1), 1);
  if (rest > 1 << 22) for (let i = 0; i < rank; i++) if (shape[i] > 1 << 17) shape[i] = 1 << 17;
  const n = shape.reduce((a, d) => a * (Number.isFinite(d) && d > 0 ? d : 1), 1);
  let strides: number[] | undefined;
  let need = n;
  if (rng.random() < 0.4) {
    // Permuted, broadcast (0) or stretched strides.
    strides = shape.map(() => pick([0, 1, 2, 3, 7, -1]));
    need = 1 + shape.reduce((a, d, i) => a + Math.max(0, (Math.max(1, d) - 1) * Math.max(0, strides![i])), 0);
  }
  const offset = rng.random() < 0.2 ? pick([1, 3, -1, 0.5, need]) : 0;
  const length = rng.random() < 0.8 ? Math.min(1 << 16, need + Math.max(0, offset)) : int(need + 2);
  const cls = rng.random() < 0.95 ? ARRAYS[dtype] : pick([Float32Array, Int32Array, Float64Array]);
  const storage = new cls(Math.max(0, Math.min(length, 1 << 16))) as tt.TypedArray;
  for (let i = 0; i < storage.length; i++) storage[i] = dtype === 'bool' ? i & 1 : (((i * 7919) % 97) - 48) / 16;
  return { storage, shape, dtype, strides, offset };
}

/** Random parameters of one op call, drawn once so every backend runs the same call. */
type Params = { p: number; s: number; k: number };
type Op = [string, (a: tt.Tensor, b: tt.Tensor, r: Params) => tt.Tensor];
const OPS: Op[] = [
  ['add', (a, b) => tt.add(a, b)],
  ['mul', (a, b) => tt.mul(a, b)],
  ['sub', (a, b) => tt.sub(a, b)],
  ['div', (a, b) => tt.div(a, b.abs().add(1))],
  ['relu', (a) => tt.F.relu(a)],
  ['sigmoid', (a) => tt.F.sigmoid(a)],
  ['exp', (a) => a.clamp(-5, 5).exp()],
  ['sum', (a) => a.sum()],
  ['sum(-1)', (a) => a.sum(-1)],
  ['mean(0)', (a) => a.mean(0)],
  ['amax', (a) => a.amax(-1)],
  ['softmax', (a) => tt.softmax(a, -1)],
  ['contiguous', (a) => a.contiguous()],
  ['transpose', (a) => a.transpose(0, -1).contiguous()],
  ['matmul', (a, b) => tt.matmul(a, b.transpose(-1, -2))],
  ['conv2d', (a, b, r) => tt.F.conv2d(a, b, null, { padding: r.p, stride: r.s })],
  ['maxPool2d', (a, _, r) => tt.F.maxPool2d(a, r.k, { stride: r.s, padding: 0 })],
  ['avgPool2d', (a, _, r) => tt.F.avgPool2d(a, r.k)],
  ['batchNorm', (a) => tt.F.batchNorm(a, null, null, { training: true })],
  ['reshape', (a) => a.reshape([-1])],
  ['where', (a, b) => tt.where(tt.gt(a, 0), a, b)],
];

/** Runs `f` on every backend; successes must agree with the reference within float32 tolerance. */
function differential(name: string, f: () => tt.Tensor): void {
  const results = new Map<string, tt.Tensor | Error>();
  for (const be of backends) {
    try {
      results.set(be, tt.withBackend(be, f));
    } catch (e) {
      results.set(be, e as Error);
    }
  }
  const ref = results.get('reference')!;
  for (const [be, r] of results) {
    if (r instanceof Error) {
      if (!clean(r)) finding(`${name} [${be}] unclean ${r.constructor.name}: ${r.message}`);
      continue;
    }
    if (!(r instanceof tt.Tensor)) {
      finding(`${name} [${be}] returned ${typeof r}`);
      continue;
    }
    if (be === 'reference' || ref instanceof Error) continue;
    counts.compared++;
    const a = r.dataView(),
      b = (ref as tt.Tensor).dataView();
    if (a.length !== b.length) {
      finding(`${name} [${be}] ${a.length} elements, reference ${b.length}`);
      continue;
    }
    for (let i = 0; i < a.length; i++) {
      const x = a[i],
        y = b[i];
      if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
      if (!(Math.abs(x - y) <= 1e-3 + 1e-3 * Math.abs(y))) {
        finding(`${name} [${be}] element ${i}: ${x} vs reference ${y}`);
        break;
      }
    }
  }
  const anyOk = [...results.values()].some((r) => r instanceof tt.Tensor);
  if (anyOk) counts.succeeded++;
  else counts.rejected++;
}

function viewCase(): void {
  const rank = int(5);
  const va = randomView(rank);
  let a: tt.Tensor, b: tt.Tensor;
  try {
    a = new tt.Tensor(va.storage, va.shape, va.dtype, va.strides, va.offset);
    const vb = randomView(rng.random() < 0.7 ? rank : int(5));
    // The second operand: usually compatible with the first (same shape or a conv weight), else random.
    b =
      rng.random() < 0.6 && a.shape.length === 4 && a.shape.every((d) => d > 0)
        ? tt.randn([1 + int(3), a.shape[1], 1 + int(Math.min(3, a.shape[2])), 1 + int(Math.min(3, a.shape[3]))], {
            generator: rng,
          })
        : rng.random() < 0.5
          ? tt.randn(
              a.shape.map((d) => d),
              { generator: rng },
            )
          : new tt.Tensor(vb.storage, vb.shape, vb.dtype, vb.strides, vb.offset);
  } catch (e) {
    counts.tried++;
    if (clean(e)) counts.rejected++;
    else
      finding(
        `new Tensor(${va.storage.constructor.name}(${va.storage.length}), ${JSON.stringify(va.shape)}, ${va.dtype}, ${JSON.stringify(va.strides)}, ${va.offset}): ${(e as Error).constructor.name}: ${(e as Error).message}`,
      );
    return;
  }
  const [name, op] = pick(OPS);
  const params: Params = { p: int(2), s: 1 + int(2), k: 1 + int(2) };
  counts.tried++;
  trace(
    `view ${name} ${JSON.stringify(params)} ${JSON.stringify(a.shape)} ${JSON.stringify(a.strides)} ${a.offset} ${a.dtype} / ${JSON.stringify(b.shape)} ${b.dtype}`,
  );
  differential(
    `${name}(${JSON.stringify(a.shape)}/${JSON.stringify(a.strides)}@${a.offset} ${a.dtype}, ${JSON.stringify(b.shape)} ${b.dtype})`,
    () => op(a, b, params),
  );
}

/** Random geometry and buffer lengths straight into a backend kernel: it must run or refuse, never crash. */
function kernelCase(): void {
  const be = pick(backends);
  const b: Backend = tt.withBackend(be, () => tt.backend());
  const small = () => int(6);
  // Absurd geometries ask for absurd buffers: those get a small one (the kernel must then refuse it).
  const buf = (need: number) =>
    new Float32Array(Math.max(0, Math.min(1 << 20, rng.random() < 0.7 ? need : int(need + 2))));
  const g = {
    n: 1 + small(),
    c: 1 + small(),
    h: 1 + int(9),
    w: 1 + int(9),
    oc: 1 + small(),
    kh: 1 + int(4),
    kw: 1 + int(4),
    oh: 0,
    ow: 0,
    strideH: 1 + int(3),
    strideW: 1 + int(3),
    padH: int(3),
    padW: int(3),
    dilationH: 1 + int(2),
    dilationW: 1 + int(2),
    groups: 1,
  };
  g.oh =
    Math.floor((g.h + 2 * g.padH - g.dilationH * (g.kh - 1) - 1) / g.strideH) +
    1 +
    (rng.random() < 0.2 ? pick([-1, 1, 5]) : 0);
  g.ow =
    Math.floor((g.w + 2 * g.padW - g.dilationW * (g.kw - 1) - 1) / g.strideW) +
    1 +
    (rng.random() < 0.2 ? pick([-1, 1, 5]) : 0);
  if (rng.random() < 0.1) (g as Record<string, number>)[pick(Object.keys(g))] = pick([-1, 0, 2 ** 31, 0.5]);
  const sizes = {
    x: g.n * g.c * g.h * g.w,
    w: g.oc * g.c * g.kh * g.kw,
    y: g.n * g.oc * Math.max(0, g.oh) * Math.max(0, g.ow),
  };
  const which = int(5);
  const name = ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'maxPool2d', 'gemm'][which];
  counts.tried++;
  trace(`kernel ${name} [${be}] ${JSON.stringify(g)}`);
  try {
    if (which === 0)
      b.conv2d(buf(sizes.x), buf(sizes.w), rng.random() < 0.5 ? null : buf(g.oc), buf(sizes.y), g, 'none');
    else if (which === 1) b.conv2dBackwardInput(buf(sizes.y), buf(sizes.w), buf(sizes.x), g);
    else if (which === 2) b.conv2dBackwardWeight(buf(sizes.x), buf(sizes.y), buf(sizes.w), g);
    else if (which === 3) {
      const pg = {
        n: g.n,
        c: g.c,
        h: g.h,
        w: g.w,
        oh: g.oh,
        ow: g.ow,
        kh: g.kh,
        kw: g.kw,
        strideH: g.strideH,
        strideW: g.strideW,
        padH: Math.min(g.padH, g.kh >> 1),
        padW: Math.min(g.padW, g.kw >> 1),
        dilationH: g.dilationH,
        dilationW: g.dilationW,
      };
      b.maxPool2d(buf(sizes.x), buf(g.n * g.c * Math.max(0, g.oh) * Math.max(0, g.ow)), null, pg);
    } else {
      const m = 1 + int(40),
        n = 1 + int(40),
        k = 1 + int(40),
        batch = 1 + int(3);
      b.gemm(
        rng.random() < 0.5,
        rng.random() < 0.5,
        m,
        n,
        k,
        buf(batch * m * k),
        m * k,
        buf(batch * k * n),
        k * n,
        buf(batch * m * n),
        m * n,
        batch,
        false,
      );
    }
    counts.succeeded++;
  } catch (e) {
    if (clean(e)) counts.rejected++;
    else finding(`${name} [${be}] ${JSON.stringify(g)}: ${(e as Error).constructor.name}: ${(e as Error).message}`);
  }
}

const started = performance.now();
while (performance.now() - started < budgetMs) {
  if (rng.random() < 0.7) viewCase();
  else kernelCase();
}
counts.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify(counts));
