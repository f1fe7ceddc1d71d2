/**
 * Per-layer times of one W2/W10 model, Tatami beside ONNX Runtime: where a whole-model ratio (bench/run.ts,
 * tools/infer-cpu.ts) says "slower", this says which layers. Tatami's side wraps every method of the active backend
 * and times each call of the fused model's forward (wall ms); ORT's side is its own profiler
 * (`enableProfiling`: each node's kernel time) on the same weights exported to ONNX. Each call and node is its
 * median over the rounds (on a shared machine a mean takes in other tenants' bursts). Kernel calls that both sides
 * make alike — single convolutions — are also summed by signature (input channels → output channels, kernel,
 * input map, groups) and compared; each of Tatami's fused MobileNet blocks is compared with the ORT nodes from the
 * one after the previous block's projection through its own projection (expansion, depthwise, gate, projection).
 * Tatami's MobileNets run here call by call (the backend's one-call `nhwcProgram` set aside: the same kernels in
 * the same order), and timing each call costs a few µs, so Tatami's wall here is a little above the benchmark's.
 *
 * Usage: npx tsx tools/layer-profile.ts [--model resnet50] [--batch 1] [--threads 2] [--rounds 20]
 * (threads: Tatami's pool and ORT's intra-op threads; the process's TATAMI_NUM_THREADS is overridden).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const model = opt('model', 'resnet50');
const batch = Number(opt('batch', '1'));
const threads = Number(opt('threads', '2'));
const rounds = Number(opt('rounds', '20'));
process.env.TATAMI_NUM_THREADS = String(threads);

const tt = await import('../src/index.js');
const { backend } = await import('../src/backend/index.js');
const { buildInferenceModel } = await import('../bench/inference.js');
const { exportModelBytes } = await import('../src/onnx/index.js');
tt.setNumThreads(threads);

interface Row {
  key: string;
  ms: number;
  /** Tatami's side: the convolutions the call runs (a fused block's layers), 0 for other kernels. */
  convs?: number;
}

/** The median of xs (the machines these run on are shared: a mean takes in every other tenant's burst). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A conv signature both sides can name: c→oc k×k @h gG. */
const convKey = (c: number, oc: number, kh: number, kw: number, h: number, groups: number) =>
  `conv ${c}→${oc} ${kh}×${kw} @${h} g${groups}`;

/** Tatami: every backend method wrapped, each call of the `rounds` timed forwards summed by position. */
function profileTatami(): { rows: Row[]; wall: number } {
  const b = backend() as unknown as Record<string, unknown>;
  const rows: { key: string; convs: number; ms: number[] }[] = [];
  let at = 0,
    on = false;
  // a MobileNet's whole program is one backend call (nhwcProgram): without it the same kernels run call by call
  const whole = Object.getOwnPropertyDescriptor(b, 'nhwcProgram');
  if (whole) b.nhwcProgram = undefined;
  const names = new Set([...Object.keys(Object.getPrototypeOf(b) as object), ...Object.keys(b)]);
  const own = new Map<string, PropertyDescriptor | undefined>();
  for (const name of names) {
    const f = b[name];
    if (typeof f !== 'function') continue;
    own.set(name, Object.getOwnPropertyDescriptor(b, name));
    b[name] = function (this: unknown, ...a: unknown[]) {
      if (!on) return (f as (...x: unknown[]) => unknown).apply(this, a);
      const t0 = performance.now();
      const r = (f as (...x: unknown[]) => unknown).apply(this, a);
      const ms = performance.now() - t0;
      if (at === rows.length) rows.push({ key: tatamiKey(name, a), convs: convsOf(name, a), ms: [] });
      rows[at++].ms.push(ms);
      return r;
    };
  }
  const m = buildInferenceModel(model, true);
  tt.manualSeed(1);
  const x = tt.randn([batch, 3, 224, 224]);
  const walls: number[] = [];
  tt.noGrad(() => {
    for (let i = 0; i < 5; i++) m.forward(x);
    on = true;
    for (let i = 0; i < rounds; i++) {
      at = 0;
      const t0 = performance.now();
      m.forward(x);
      walls.push(performance.now() - t0);
    }
    on = false;
  });
  for (const [name, d] of own) {
    if (d) Object.defineProperty(b, name, d);
    else delete b[name];
  }
  if (whole) Object.defineProperty(b, 'nhwcProgram', whole);
  return { rows: rows.map((r) => ({ key: r.key, convs: r.convs, ms: median(r.ms) })), wall: median(walls) };
}

type Geom = { n: number; c: number; h: number; w: number; oc: number; kh: number; kw: number; oh: number; ow: number };

function tatamiKey(name: string, a: unknown[]): string {
  const g = a.find((v) => v !== null && typeof v === 'object' && 'kh' in (v as object)) as
    (Geom & { groups?: number }) | undefined;
  if (!g) return name;
  if (name === 'invertedResidualNhwc') {
    const cin = (a[0] as Float32Array).length / (g.n * g.h * g.w);
    const cout = (a[6] as Float32Array).length / (g.n * g.oh * g.ow);
    return `block ${cin}→${g.c}→${cout} ${g.kh}×${g.kw} @${g.h}${a[3] ? ' SE' : ''}`;
  }
  if (name.startsWith('conv2d') && g.groups !== undefined) return convKey(g.c, g.oc, g.kh, g.kw, g.h, g.groups);
  return `${name} @${g.h}`;
}

/** The convolutions one backend call runs: a block's layers (its stages and a gate's two), 1 for a convolution. */
function convsOf(name: string, a: unknown[]): number {
  if (name === 'invertedResidualNhwc') return (a[1] ? 1 : 0) + 1 + (a[3] ? 2 : 0) + (a[4] ? 1 : 0);
  return name.startsWith('conv2d') ? 1 : 0;
}

/** ORT: its profiler's kernel time per node over `rounds` runs. */
async function profileOrt(): Promise<{ rows: Row[]; wall: number } | string> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    return `ONNX Runtime not available: ${(e as Error).message.split('\n')[0]}`;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tatami-ortprof-'));
  try {
    tt.manualSeed(1);
    const bytes = exportModelBytes(buildInferenceModel(model, false), tt.randn([1, 3, 224, 224]), {
      dynamicAxes: { input: [0], output: [0] },
    });
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableProfiling: true,
      profileFilePrefix: join(dir, 'ort'),
    });
    tt.manualSeed(1);
    const x = tt.randn([batch, 3, 224, 224]);
    const feeds = { input: new ort.Tensor('float32', x.toTypedArray() as Float32Array, x.shape) };
    for (let i = 0; i < 5; i++) await session.run(feeds);
    const walls: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      walls.push(performance.now() - t0);
    }
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) return 'ONNX Runtime wrote no profile';
    type Ev = { cat: string; name: string; dur: number; args?: { op_name?: string; input_type_shape?: object[] } };
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Ev[];
    const runs = new Map<string, { key: string; us: number[] }>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      let s = runs.get(e.name);
      if (!s)
        runs.set(e.name, (s = { key: ortKey(e.args?.op_name ?? e.name, e.args?.input_type_shape ?? []), us: [] }));
      s.us.push(e.dur);
    }
    // the profile covers the warm-up runs too: a node's median over all its runs
    return { rows: [...runs.values()].map((s) => ({ key: s.key, ms: median(s.us) / 1000 })), wall: median(walls) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ortKey(op: string, shapes: object[]): string {
  const dims = shapes.map((o) => Object.values(o)[0] as number[]);
  if (op === 'Conv' && dims.length >= 2) {
    const [[, c, h], [oc, cg, kh, kw]] = dims;
    return convKey(c, oc, kh, kw, h, c / cg);
  }
  return `${op}${dims[0] ? ` @${dims[0][2] ?? dims[0].join('×')}` : ''}`;
}

const fmt = (ms: number) => ms.toFixed(3).padStart(8);
const sum = (rows: Row[]) => rows.reduce((s, r) => s + r.ms, 0);

const ours = profileTatami();
const theirs = await profileOrt();
console.log(`${model} batch ${batch}, ${threads} thread(s), ${rounds} rounds; ms per forward`);
console.log(`\nTatami (${backend().name}): wall ${ours.wall.toFixed(2)}, kernels ${sum(ours.rows).toFixed(2)}`);
for (const r of ours.rows) console.log(`${fmt(r.ms)}  ${r.key}`);
if (typeof theirs === 'string') console.log(`\n${theirs}`);
else {
  console.log(
    `\nONNX Runtime: wall ${theirs.wall.toFixed(2)}, kernels ${sum(theirs.rows).toFixed(2)} (its profiler's)`,
  );
  for (const r of theirs.rows) console.log(`${fmt(r.ms)}  ${r.key}`);
  const group = (rows: Row[]) => {
    const g = new Map<string, number[]>();
    for (const r of rows) if (r.key.startsWith('conv ')) (g.get(r.key) ?? g.set(r.key, []).get(r.key)!).push(r.ms);
    return g;
  };
  const a = group(ours.rows),
    b = group(theirs.rows);
  console.log('\nconvolutions both run alike, by signature (sum over layers):');
  console.log('  tatami      ort    ratio  layers  signature');
  for (const [key, ms] of [...a].sort((x, y) => sum2(y[1]) - sum2(x[1]))) {
    const o = b.get(key);
    if (!o || o.length !== ms.length) continue;
    console.log(
      `${fmt(sum2(ms))} ${fmt(sum2(o))}  ${(sum2(ms) / sum2(o)).toFixed(2).padStart(5)}  ${String(ms.length).padStart(6)}  ${key}`,
    );
  }
  const pairs = alongside(ours.rows, theirs.rows);
  if (pairs.some((p) => p.key.startsWith('block '))) {
    console.log('\nblock by block (ORT: its nodes from the previous projection through this one):');
    console.log('  tatami      ort    ratio  step');
    for (const p of pairs)
      console.log(`${fmt(p.ours)} ${fmt(p.theirs)}  ${(p.ours / p.theirs).toFixed(2).padStart(5)}  ${p.key}`);
    const a = sum2(pairs.map((p) => p.ours)),
      o = sum2(pairs.map((p) => p.theirs));
    console.log(`${fmt(a)} ${fmt(o)}  ${(a / o).toFixed(2).padStart(5)}  all of the above`);
  }
}

/**
 * Tatami's blocks and convolutions beside the ORT nodes that do the same work, in program order: a block takes as
 * many ORT convolutions as it has layers (expansion, depthwise, the gate's two, projection) and the nodes between
 * them, a convolution one. (By count: ORT reports the channels of its blocked layouts, padded to its vector width.)
 * Stops where the two orders part (ResNets: ORT runs a downsample after the block's first convolutions).
 */
function alongside(ours: Row[], theirs: Row[]): { key: string; ours: number; theirs: number }[] {
  const out: { key: string; ours: number; theirs: number }[] = [];
  let at = 0;
  for (const r of ours) {
    let convs = r.convs ?? 0;
    if (convs === 0) continue;
    let ms = 0;
    for (; at < theirs.length && convs > 0; at++) {
      if (theirs[at].key.startsWith('conv ')) convs--;
      ms += theirs[at].ms;
    }
    if (convs > 0) break;
    out.push({ key: r.key, ours: r.ms, theirs: ms });
  }
  return out;
}

function sum2(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}
