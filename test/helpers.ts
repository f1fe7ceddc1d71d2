/** Shared test utilities: fixture loading, tolerance checks, and running a body on every available backend. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import type { Backend } from '../src/backend/types.ts';
import { loadWasmVariant } from '../src/backend/wasm-loader.ts';
import { NATIVE_ISAS, nativeIsas } from '../src/backend/native.ts';

export interface EncodedTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: number[];
}

export interface FixtureCase {
  name: string;
  params: Record<string, unknown>;
  inputs: Record<string, EncodedTensor>;
  output: EncodedTensor;
  extra: EncodedTensor[];
  upstream?: EncodedTensor;
  grads?: Record<string, EncodedTensor>;
}

/** Loads test/fixtures/<family>.json (written by tools/fixtures/generate.py from PyTorch). */
export function loadFixtures(family: string): Map<string, FixtureCase> {
  const path = fileURLToPath(new URL(`./fixtures/${family}.json`, import.meta.url));
  const json = JSON.parse(readFileSync(path, 'utf8')) as { cases: FixtureCase[] };
  return new Map(json.cases.map((c) => [c.name, c]));
}

/** Decodes a fixture tensor; float inputs that had gradients in PyTorch get requiresGrad. */
export function decode(e: EncodedTensor, requiresGrad = false): tt.Tensor {
  const data = e.dtype === 'int32' ? Int32Array.from(e.data) : Float32Array.from(e.data);
  return tt.tensor(data, e.shape, { requiresGrad: requiresGrad && e.dtype === 'float32' });
}

/** Decodes all inputs of a case; those that have recorded gradients require grad. */
export function inputsOf(c: FixtureCase): Record<string, tt.Tensor> {
  const out: Record<string, tt.Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) out[k] = decode(v, c.grads !== undefined && k in c.grads);
  return out;
}

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise, and equal shapes. */
export function assertClose(
  actual: tt.Tensor,
  expected: EncodedTensor | tt.Tensor | number[],
  opts: { atol?: number; rtol?: number; what?: string } = {},
): void {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  const what = opts.what ?? 'value';
  let expShape: number[] | null = null;
  let exp: ArrayLike<number>;
  if (Array.isArray(expected)) exp = expected;
  else if (expected instanceof tt.Tensor) {
    expShape = expected.shape;
    exp = expected.dataView();
  } else {
    expShape = expected.shape;
    exp = expected.data;
  }
  if (expShape)
    assert.deepEqual(
      actual.shape,
      expShape,
      `${what}: shape ${JSON.stringify(actual.shape)} ≠ expected ${JSON.stringify(expShape)}`,
    );
  const act = actual.dataView();
  assert.equal(act.length, exp.length, `${what}: ${act.length} elements, expected ${exp.length}`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < act.length; i++) {
    const err = Math.abs(act[i] - exp[i]) - (atol + rtol * Math.abs(exp[i]));
    if (!(err <= worst) || Number.isNaN(act[i]) !== Number.isNaN(exp[i])) {
      if (!(Number.isNaN(act[i]) && Number.isNaN(exp[i]))) {
        worst = Number.isNaN(err) ? Infinity : err;
        worstAt = i;
      }
    }
  }
  assert.ok(
    worstAt < 0,
    `${what}: element ${worstAt} is ${act[worstAt]}, expected ${exp[worstAt]} (atol ${atol}, rtol ${rtol})`,
  );
}

/**
 * Replays a fixture: runs `fn` on the decoded inputs, compares the output (and extra outputs when `extras` is
 * given) and the gradients of Σ upstream·output with PyTorch's.
 */
export function checkCase(
  c: FixtureCase,
  fn: (inputs: Record<string, tt.Tensor>) => tt.Tensor | tt.Tensor[],
  opts: { atol?: number; rtol?: number; gradAtol?: number; gradRtol?: number } = {},
): void {
  const inputs = inputsOf(c);
  const result = fn(inputs);
  const outs = Array.isArray(result) ? result : [result];
  assertClose(outs[0], c.output, { atol: opts.atol, rtol: opts.rtol, what: `${c.name} output` });
  c.extra.forEach((e, i) => {
    if (outs[i + 1])
      assertClose(outs[i + 1], e, { atol: opts.atol, rtol: opts.rtol, what: `${c.name} extra output ${i}` });
  });
  if (c.grads && c.upstream) {
    outs[0].backward(decode(c.upstream));
    for (const [k, g] of Object.entries(c.grads)) {
      const got = inputs[k].grad;
      assert.ok(got, `${c.name}: no gradient for input ${k}`);
      assertClose(got, g, {
        atol: opts.gradAtol ?? opts.atol ?? 1e-4,
        rtol: opts.gradRtol ?? opts.rtol ?? 1e-3,
        what: `${c.name} grad ${k}`,
      });
    }
  }
}

/**
 * Names of the backends that load here (reference always; native/wasm when built). In place of 'native', every
 * native instruction-set build the CPU runs ('native-avx512', 'native-avx2', 'native-generic' and the portable
 * 'native-generic16'/'native-generic8' that mirror the AVX-512/AVX2 kernel shapes), so the golden op cases run on
 * each of them and not only on the default one. With TATAMI_BACKEND set, only that backend (and the reference).
 */
export function backendNames(): string[] {
  const names = tt
    .availableBackends()
    .filter((b) => b.available)
    .map((b) => b.name);
  if (process.env.TATAMI_BACKEND || !names.includes('native')) return names;
  const isas = tt
    .availableBackends({ variants: true })
    .filter((b) => b.available && b.name.startsWith('native-'))
    .map((b) => b.name);
  return [...isas, ...names.filter((n) => n !== 'native')];
}

/**
 * Every accelerated kernel build, by label, for the randomized kernel suites: `native-<isa>` for each instruction
 * set the CPU runs (the portable generic16/generic8 included) and the four wasm modules (threaded or not × relaxed
 * SIMD or not). `missing` says, one line each, which builds could not be loaded here and why.
 */
export function acceleratedBuilds(): { builds: Map<string, Backend>; missing: string[] } {
  const builds = new Map<string, Backend>();
  const missing: string[] = [];
  const supported = nativeIsas();
  for (const isa of NATIVE_ISAS) {
    if (supported.includes(isa))
      builds.set(
        `native-${isa}`,
        tt.withBackend(`native-${isa}`, () => tt.backend()),
      );
    else missing.push(`native-${isa}: ${supported.length ? 'not supported by this CPU' : 'native addon unavailable'}`);
  }
  for (const threads of [true, false]) {
    for (const relaxed of [true, false]) {
      const label = `wasm${threads ? '-threaded' : ''}${relaxed ? '-relaxed' : ''}`;
      try {
        builds.set(label, loadWasmVariant({ threads, relaxed }));
      } catch (err) {
        missing.push(`${label}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }
  }
  return { builds, missing };
}

/** Runs `body` once per available backend, naming the backend in failures. */
export function forEachBackend(body: (name: string) => void): void {
  for (const name of backendNames()) {
    try {
      tt.withBackend(name, () => body(name));
    } catch (err) {
      if (err instanceof Error) err.message = `[backend ${name}] ${err.message}`;
      throw err;
    }
  }
}

/** Float64 leaf with random values in [lo, hi), for gradient checks. */
export function rand64(shape: number[], seed: number, lo = -1, hi = 1): tt.Tensor {
  const g = new tt.Generator(seed);
  const t = tt.rand(shape, { dtype: 'float64', generator: g });
  const data = t.storage;
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * data[i];
  return t.requiresGrad_(true);
}

/**
 * Loads a torchvision export (`<dir>/<name>.safetensors` weights, `<dir>/<name>.io.safetensors` input and logits,
 * written by tools/export_torchvision.py --parity) into `model`, runs it in eval mode and asserts torchvision's
 * logits: softmax within 1e-4, and raw logits within 1 % of their scale (so a near-flat softmax cannot hide a
 * wrong model). With `alsoFused`, the same check runs again after `tt.nn.fuse(model)`.
 */
export async function assertTorchvisionParity(
  name: string,
  model: tt.nn.Module,
  dir: string,
  inputShape: number[],
  opts: { alsoFused?: boolean } = {},
): Promise<void> {
  const res = model.loadStateDict(await tt.loadSafetensors(join(dir, `${name}.safetensors`)));
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  const io = await tt.loadSafetensors(join(dir, `${name}.io.safetensors`));
  assert.deepEqual(io.input.shape, inputShape);
  model.eval();
  for (const how of opts.alsoFused ? ['plain', 'fused'] : ['plain']) {
    if (how === 'fused') tt.nn.fuse(model);
    const logits = tt.noGrad(() => (model as tt.nn.Module<[tt.Tensor], tt.Tensor>).forward(io.input));
    assert.deepEqual(logits.shape, io.logits.shape);
    const p = tt.softmax(logits, 1).dataView(),
      q = tt.softmax(io.logits, 1).dataView();
    const l = logits.dataView(),
      m = io.logits.dataView();
    let dp = 0,
      dl = 0;
    for (let i = 0; i < p.length; i++) {
      dp = Math.max(dp, Math.abs(p[i] - q[i]));
      dl = Math.max(dl, Math.abs(l[i] - m[i]));
    }
    assert.ok(
      dp < 1e-4,
      `${name} (${how}): max |Δsoftmax| = ${dp.toExponential(2)} (max |Δlogit| = ${dl.toExponential(2)})`,
    );
    assert.ok(dl < 1e-2 * Math.max(1, ...Array.from(m, Math.abs)), `${name} (${how}): max |Δlogit| = ${dl}`);
  }
}

/** The Python that has PyTorch 1.13 and torchvision 0.14 (CI installs them; see scripts/setup-system.sh). */
export const TORCH_PYTHON = '/usr/bin/python3';
/** Whether TORCH_PYTHON can import torch and torchvision. */
export const hasTorchvision =
  existsSync(TORCH_PYTHON) &&
  spawnSync(TORCH_PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;

/**
 * A torchvision parity suite: skipped (with a loud note on stderr) without PyTorch; otherwise one
 * `tools/export_torchvision.py --parity` process exports every `name:size` of `specs` into a temp dir before the
 * suite's tests run, and `body` receives a getter of that dir (for assertTorchvisionParity).
 */
export function describeTorchvisionParity(title: string, specs: string[], body: (dir: () => string) => void): void {
  if (!hasTorchvision) {
    const bar = '!'.repeat(100);
    process.stderr.write(
      `\n${bar}\n!! ${title}: SKIPPED — PyTorch/torchvision not importable by ${TORCH_PYTHON}.\n` +
        `!! Run scripts/setup-system.sh (installs python3-torch python3-torchvision); CI always runs this suite.\n${bar}\n`,
    );
  }
  describe(
    title,
    { skip: hasTorchvision ? false : 'PyTorch/torchvision not installed (see scripts/setup-system.sh)' },
    () => {
      let dir = '';
      before(() => {
        dir = mkdtempSync(join(tmpdir(), 'tatami-parity-'));
        const r = spawnSync(TORCH_PYTHON, ['tools/export_torchvision.py', '--parity', dir, ...specs], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`export_torchvision.py failed (${r.status}):\n${r.stderr}`);
      });
      after(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
      });
      body(() => dir);
    },
  );
}

/** Trained-looking BN statistics and affines on any model, so that folding them into convolutions is not a no-op. */
export function perturbBatchNorms<M extends tt.nn.Module>(m: M, seed: number): M {
  tt.manualSeed(seed);
  tt.noGrad(() => {
    for (const mod of m.modules())
      if (mod instanceof tt.nn.BatchNorm2d) {
        tt.nn.init.uniform_(mod.weight!, 0.5, 1.5);
        tt.nn.init.uniform_(mod.bias!, -0.3, 0.3);
        tt.nn.init.uniform_(mod.runningMean!, -0.2, 0.2);
        tt.nn.init.uniform_(mod.runningVar!, 0.5, 2);
      }
  });
  return m;
}

/** Seeded xorshift32 generator, independent of the library's RNG (so a library RNG change cannot alter test cases). */
export function xorshift32(seed: number): {
  int(lo: number, hi: number): number;
  unit(): number;
  pick<T>(xs: readonly T[]): T;
} {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return {
    unit: next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
}

/** Whether gcc runs here: the tests of tools/'s C harnesses skip without it. */
export const hasGcc = spawnSync('gcc', ['--version']).status === 0;

/**
 * Compiles a C harness of tools/ against the kernels' headers and thread pool (native/src), with the kernels' own
 * language flags and warnings as errors, into a temporary folder; runs `body` with the binary's path, then removes
 * the folder. `flags` adds the harness's own (optimization, defines, warnings); `sources` are paths from the root.
 */
export function withKernelHarness(sources: string[], flags: string[], body: (bin: string) => void): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'tatami-harness-'));
  try {
    const bin = join(dir, 'harness');
    const cc = spawnSync(
      'gcc',
      [
        ...flags,
        '-std=gnu11',
        '-ffp-contract=fast',
        '-fno-math-errno',
        '-Wall',
        '-Werror',
        '-Wno-psabi',
        `-I${join(root, 'native/src')}`,
        ...sources.map((s) => (s.startsWith('/') ? s : join(root, s))),
        join(root, 'native/src/pool.c'),
        '-o',
        bin,
        '-lm',
        '-lpthread',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(cc.status, 0, cc.stderr);
    body(bin);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
