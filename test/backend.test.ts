/**
 * Accelerated kernels against the reference kernels on random float32 inputs of awkward sizes (odd dims, SIMD
 * tails, transposes, zero batch strides, accumulation; conv with stride/dilation/groups/depthwise/1×1/asymmetric
 * padding; pooling; normalisation; softmax; elementwise broadcasts). The reference runs in float64 on the same
 * values, so the tolerance measures only the float32 kernel's own rounding:
 *   GEMM/conv: |Δ| ≤ 1e-4·(1 + |expected|) + 2e-6·k (k = reduction length), pooling/affine/relu: exact or 1e-6,
 *   statistics/softmax/transcendentals: 2e-5 relative + 1e-6 absolute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import type { Backend, Conv2dGeometry, Pool2dGeometry } from '../src/backend/types.ts';
import { referenceBackend as ref } from '../src/backend/reference/index.ts';
import { getWasmThreads, loadWasmVariant, setWasmThreads } from '../src/backend/wasm-loader.ts';
import { backendNames } from './helpers.ts';

/**
 * Every wasm build, not only the one the 'wasm' backend picks: with and without threads, with and without relaxed
 * SIMD (same source, different code paths: the worker pool, fused multiply-add).
 */
const wasmBuilds = new Map<string, Backend>();
const wasmBuildFailures: string[] = [];
for (const threads of [true, false]) {
  for (const relaxed of [true, false]) {
    const label = `wasm build${threads ? ' threaded' : ''}${relaxed ? ' relaxed' : ''}`;
    try {
      wasmBuilds.set(label, loadWasmVariant({ threads, relaxed }));
    } catch (err) {
      wasmBuildFailures.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
const accelerated = [
  ...backendNames().filter((n) => n !== 'reference'),
  ...(process.env.TATAMI_BACKEND ? [] : wasmBuilds.keys()),
];
console.log(`# kernel comparisons on: ${accelerated.join(', ')}`);

function backendOf(name: string): Backend {
  return wasmBuilds.get(name) ?? tt.withBackend(name, () => tt.backend());
}

let seed = 12345;
function rnd(): number {
  // xorshift: deterministic, independent of the library's generator
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) / 4294967296) * 2 - 1;
}
function rand32(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd() * scale;
  return a;
}
const f64 = (a: Float32Array) => Float64Array.from(a);

function close(actual: Float32Array, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i],
      a = actual[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue;
    const err = Math.abs(a - e);
    if (!(err <= atol + rtol * Math.abs(e)))
      assert.fail(`${what}: element ${i} is ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

test('an accelerated backend is built and chosen by default', () => {
  const all = tt.availableBackends();
  assert.ok(all.some((b) => b.name === 'reference' && b.available));
  for (const b of all)
    if (!b.available) assert.ok(b.reason && b.reason.length > 0, `${b.name} unavailable without a reason`);
  if (process.env.TATAMI_BACKEND) return;
  const native = all.find((b) => b.name === 'native');
  const wasm = all.find((b) => b.name === 'wasm');
  const name = tt.getBackendName();
  if (native?.available) assert.match(name, /^native-(avx512|avx2|generic)$/);
  else if (wasm?.available) assert.match(name, /^wasm-(relaxed-)?simd$/);
  else assert.equal(name, 'reference');
  console.log(
    `# default backend: ${name}; available: ${all
      .filter((b) => b.available)
      .map((b) => b.name)
      .join(', ')}`,
  );
});

test('all four wasm builds load where the wasm backend does', () => {
  if (!tt.availableBackends().find((b) => b.name === 'wasm')?.available) return;
  // Relaxed SIMD needs clang ≥ 16 at build time (scripts/setup-system.sh installs it) and Node's flag at run time.
  assert.deepEqual(wasmBuildFailures, []);
  assert.equal(wasmBuilds.size, 4);
  assert.equal(
    tt.withBackend('wasm', () => tt.getBackendName()),
    'wasm-relaxed-simd',
    'the default wasm build is the fastest one',
  );
});

test('the threaded wasm build runs kernels on its worker threads', async () => {
  if (!tt.availableBackends().find((b) => b.name === 'wasm')?.available) return;
  const b = backendOf('wasm');
  const before = getWasmThreads();
  setWasmThreads(3);
  for (let i = 0; i < 200 && getWasmThreads() < 3; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(getWasmThreads(), 3, 'two workers started within 5 s');
  const m = 96,
    n = 130,
    k = 200,
    a = rand32(m * k),
    w = rand32(k * n),
    c = new Float32Array(m * n),
    r = new Float64Array(m * n);
  b.gemm(false, false, m, n, k, a, 0, w, 0, c, 0, 1, false);
  ref.gemm(false, false, m, n, k, f64(a), 0, f64(w), 0, r, 0, 1, false);
  close(c, r, 2e-6 * k, 1e-4, 'three-thread gemm');
  setWasmThreads(before);
});

test('setNumThreads / getNumThreads', () => {
  const before = tt.getNumThreads();
  assert.ok(before >= 1);
  if (!tt.availableBackends().find((b) => b.name === 'native')?.available) return;
  assert.equal(tt.setNumThreads(1), 1);
  const b = backendOf('native');
  const a = rand32(50 * 70),
    w = rand32(70 * 40),
    c1 = new Float32Array(50 * 40),
    c2 = new Float32Array(50 * 40);
  b.gemm(false, false, 50, 40, 70, a, 0, w, 0, c1, 0, 1, false);
  tt.setNumThreads(before);
  b.gemm(false, false, 50, 40, 70, a, 0, w, 0, c2, 0, 1, false);
  assert.deepEqual(c1, c2, 'single- and multi-threaded GEMM agree bitwise');
  assert.equal(tt.getNumThreads(), before);
});

for (const name of accelerated) {
  test(`[${name}] fused optimiser steps match the reference update`, () => {
    const b = backendOf(name);
    const n = 70_001; // several threading chunks and a ragged tail
    for (const momentum of [0, 0.9]) {
      for (const nesterov of momentum ? [false, true] : [false]) {
        for (const firstStep of [true, false]) {
          const h = {
            lr: 0.05,
            momentum,
            dampening: nesterov ? 0 : 0.1,
            weightDecay: 1e-3,
            nesterov,
            maximize: !firstStep,
            firstStep,
          };
          const w = rand32(n),
            g = rand32(n),
            buf = momentum ? rand32(n) : null;
          const w2 = f64(w),
            buf2 = buf ? f64(buf) : null;
          b.sgdStep(w, g, buf, h);
          ref.sgdStep(w2, f64(g), buf2, h);
          const what = `sgdStep ${JSON.stringify(h)}`;
          close(w, w2, 1e-6, 1e-5, what);
          if (buf && buf2) close(buf, buf2, 1e-6, 1e-5, `${what} buffer`);
        }
      }
    }
    for (const decoupled of [false, true]) {
      for (const amsgrad of [false, true]) {
        const h = {
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          decoupled,
          maximize: amsgrad,
          step: 3,
        };
        const w = rand32(n),
          g = rand32(n),
          m = rand32(n, 0.1),
          v = rand32(n, 0.01).map(Math.abs),
          vmax = amsgrad ? rand32(n, 0.01).map(Math.abs) : null;
        const w2 = f64(w),
          m2 = f64(m),
          v2 = f64(v),
          vmax2 = vmax ? f64(vmax) : null;
        b.adamStep(w, g, m, v, vmax, h);
        ref.adamStep(w2, f64(g), m2, v2, vmax2, h);
        const what = `adamStep ${JSON.stringify(h)}`;
        close(w, w2, 1e-6, 1e-5, what);
        close(m, m2, 1e-7, 1e-5, `${what} exp_avg`);
        close(v, v2, 1e-8, 1e-5, `${what} exp_avg_sq`);
        if (vmax && vmax2) close(vmax, vmax2, 1e-8, 1e-5, `${what} max_exp_avg_sq`);
      }
    }
  });
}

for (const name of accelerated) {
  test(`[${name}] gemm: odd sizes, transposes, batch strides, accumulate`, () => {
    const b = backendOf(name);
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 7],
      [17, 33, 65],
      [8, 48, 16],
      [64, 100, 31],
      [130, 70, 300],
      [7, 301, 9],
      [257, 19, 513],
    ];
    for (const [m, n, k] of shapes) {
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          for (const [batch, shareA, acc] of [
            [1, false, false],
            [3, true, true],
            [2, false, true],
          ] as [number, boolean, boolean][]) {
            const sA = shareA ? 0 : m * k;
            const a = rand32(shareA ? m * k : batch * m * k),
              bb = rand32(batch * k * n),
              c0 = rand32(batch * m * n);
            const got = c0.slice();
            b.gemm(ta, tb, m, n, k, a, sA, bb, k * n, got, m * n, batch, acc);
            const exp = f64(c0);
            ref.gemm(ta, tb, m, n, k, f64(a), sA, f64(bb), k * n, exp, m * n, batch, acc);
            close(
              got,
              exp,
              1e-4 + 2e-6 * k,
              1e-4,
              `gemm m=${m} n=${n} k=${k} ta=${ta} tb=${tb} batch=${batch} acc=${acc}`,
            );
          }
        }
    }
  });

  test(`[${name}] conv2d forward / backward input / backward weight`, () => {
    const b = backendOf(name);
    type C = {
      n: number;
      c: number;
      h: number;
      w: number;
      oc: number;
      kh: number;
      kw: number;
      s?: [number, number];
      p?: [number, number];
      d?: [number, number];
      g?: number;
      bias?: boolean;
      relu?: boolean;
    };
    const cases: C[] = [
      { n: 2, c: 3, h: 9, w: 11, oc: 5, kh: 3, kw: 3, p: [1, 1], bias: true },
      { n: 1, c: 16, h: 14, w: 14, oc: 24, kh: 3, kw: 3, p: [1, 1], relu: true, bias: true },
      { n: 3, c: 4, h: 10, w: 7, oc: 6, kh: 3, kw: 3, s: [2, 2], p: [1, 1] },
      { n: 2, c: 4, h: 12, w: 13, oc: 8, kh: 3, kw: 3, d: [2, 2], p: [2, 2] },
      { n: 2, c: 6, h: 8, w: 9, oc: 4, kh: 3, kw: 3, g: 2, p: [1, 1], bias: true },
      { n: 2, c: 8, h: 9, w: 9, oc: 8, kh: 3, kw: 3, g: 8, p: [1, 1], bias: true, relu: true },
      { n: 1, c: 8, h: 11, w: 10, oc: 8, kh: 3, kw: 3, g: 8, s: [2, 2], p: [1, 1] },
      { n: 2, c: 20, h: 7, w: 5, oc: 33, kh: 1, kw: 1 },
      { n: 2, c: 5, h: 8, w: 8, oc: 7, kh: 1, kw: 1, s: [2, 2] },
      { n: 1, c: 3, h: 9, w: 12, oc: 4, kh: 3, kw: 5, p: [1, 2], s: [1, 2] },
      { n: 2, c: 3, h: 6, w: 7, oc: 5, kh: 3, kw: 3 },
      { n: 1, c: 2, h: 5, w: 5, oc: 3, kh: 1, kw: 1, p: [1, 1] },
      { n: 1, c: 3, h: 6, w: 6, oc: 2, kh: 2, kw: 2, p: [2, 2], d: [1, 1] },
      { n: 2, c: 3, h: 23, w: 23, oc: 8, kh: 7, kw: 7, s: [2, 2], p: [3, 3], bias: true },
      { n: 4, c: 64, h: 8, w: 8, oc: 64, kh: 3, kw: 3, p: [1, 1] },
      // small maps: the batched lowering (columns of all images side by side), incl. groups and a chunked batch
      { n: 3, c: 32, h: 1, w: 1, oc: 16, kh: 3, kw: 3, p: [1, 1] },
      { n: 3, c: 16, h: 2, w: 2, oc: 24, kh: 3, kw: 3, p: [1, 1], g: 2, bias: true, relu: true },
      { n: 5, c: 12, h: 4, w: 4, oc: 10, kh: 3, kw: 3, p: [1, 1], bias: true },
      { n: 4, c: 24, h: 3, w: 3, oc: 12, kh: 1, kw: 1, s: [2, 2], bias: true, relu: true },
      { n: 30, c: 64, h: 32, w: 32, oc: 8, kh: 3, kw: 3, s: [2, 2], p: [1, 1] },
      // weight gradient as a packed GEMM over the padded-width grid: ragged tap tiles and channel panels
      { n: 3, c: 7, h: 10, w: 11, oc: 20, kh: 3, kw: 3, p: [1, 1], bias: true },
      { n: 2, c: 6, h: 12, w: 12, oc: 17, kh: 3, kw: 3, d: [2, 2], p: [2, 2] },
      { n: 2, c: 8, h: 11, w: 9, oc: 16, kh: 3, kw: 3 },
      // taps that only ever read padding are dropped from the lowering
      { n: 3, c: 8, h: 2, w: 2, oc: 6, kh: 3, kw: 3, s: [2, 2], p: [1, 1], bias: true, relu: true },
      { n: 2, c: 3, h: 2, w: 2, oc: 4, kh: 5, kw: 5, p: [2, 2] },
      { n: 2, c: 8, h: 1, w: 1, oc: 8, kh: 3, kw: 3, p: [1, 1], g: 4, bias: true },
      { n: 2, c: 4, h: 3, w: 3, oc: 5, kh: 3, kw: 3, d: [2, 2], p: [2, 2] },
      // Winograd F(2×2, 3×3) (stride 1, ≥ 24×24 maps): odd map sizes (ragged last tiles), rows narrower and wider than
      // a vector of tiles, channel counts off the vector width, no padding; the input gradient takes the same path
      { n: 2, c: 17, h: 25, w: 27, oc: 19, kh: 3, kw: 3, p: [1, 1], bias: true, relu: true },
      { n: 1, c: 16, h: 26, w: 41, oc: 24, kh: 3, kw: 3, bias: true },
      { n: 3, c: 32, h: 24, w: 24, oc: 16, kh: 3, kw: 3, p: [1, 1] },
      { n: 4, c: 16, h: 13, w: 12, oc: 20, kh: 3, kw: 3, p: [1, 1], relu: true }, // small maps, enough tiles in the batch
      // the forward's groups of MR tiles run on across tile rows (31 tiles a row, 3 rows a task: a vector that
      // straddles two rows, a task's last group part-empty) and its weight panels past oc are zero (40 = 32 + 8)
      { n: 2, c: 24, h: 29, w: 61, oc: 40, kh: 3, kw: 3, p: [1, 1], bias: true, relu: true },
      // rows of 7 tiles: a vector of tiles spans three tile rows
      { n: 3, c: 18, h: 14, w: 13, oc: 33, kh: 3, kw: 3, p: [1, 1], bias: true },
      // one image with many output channels: the threads split the channels (rows off the tile height, a partial
      // last part), and its input gradient the same way
      { n: 1, c: 20, h: 7, w: 7, oc: 203, kh: 3, kw: 3, p: [1, 1], bias: true, relu: true },
      { n: 1, c: 201, h: 6, w: 6, oc: 20, kh: 3, kw: 3, p: [1, 1] },
      // strided convs on the polyphase grid: odd sizes, unequal strides with dilation, and a weight gradient large
      // enough for the GEMM form
      { n: 1, c: 3, h: 40, w: 37, oc: 10, kh: 7, kw: 7, s: [2, 2], p: [3, 3], bias: true, relu: true },
      { n: 2, c: 6, h: 33, w: 30, oc: 8, kh: 3, kw: 3, s: [2, 3], p: [1, 0], d: [2, 1] },
      { n: 2, c: 8, h: 21, w: 22, oc: 16, kh: 3, kw: 3, s: [2, 2], p: [1, 1], bias: true },
      // a first layer (one input channel): its weight gradient splits the output channels between threads
      { n: 3, c: 1, h: 14, w: 13, oc: 29, kh: 3, kw: 3, p: [1, 1], bias: true },
      // maps smaller than the filter's reach: the dense form (unfolded weights), also strided and non-square
      { n: 5, c: 12, h: 2, w: 2, oc: 20, kh: 3, kw: 3, p: [1, 1], bias: true, relu: true },
      { n: 3, c: 6, h: 2, w: 3, oc: 7, kh: 3, kw: 3, p: [1, 1], s: [1, 2] },
    ];
    for (const cc of cases) {
      const [sH, sW] = cc.s ?? [1, 1],
        [pH, pW] = cc.p ?? [0, 0],
        [dH, dW] = cc.d ?? [1, 1],
        groups = cc.g ?? 1;
      const oh = Math.floor((cc.h + 2 * pH - dH * (cc.kh - 1) - 1) / sH) + 1;
      const ow = Math.floor((cc.w + 2 * pW - dW * (cc.kw - 1) - 1) / sW) + 1;
      const g: Conv2dGeometry = {
        n: cc.n,
        c: cc.c,
        h: cc.h,
        w: cc.w,
        oc: cc.oc,
        kh: cc.kh,
        kw: cc.kw,
        oh,
        ow,
        strideH: sH,
        strideW: sW,
        padH: pH,
        padW: pW,
        dilationH: dH,
        dilationW: dW,
        groups,
      };
      const what = `conv ${JSON.stringify(cc)}`;
      const kdim = (cc.c / groups) * cc.kh * cc.kw;
      const x = rand32(cc.n * cc.c * cc.h * cc.w),
        w = rand32(cc.oc * kdim),
        bias = cc.bias ? rand32(cc.oc) : null;
      const out = new Float32Array(cc.n * cc.oc * oh * ow).fill(NaN);
      b.conv2d(x, w, bias, out, g, cc.relu ? 'relu' : 'none');
      const eo = new Float64Array(out.length);
      ref.conv2d(f64(x), f64(w), bias ? f64(bias) : null, eo, g, cc.relu ? 'relu' : 'none');
      close(out, eo, 1e-4 + 2e-6 * kdim, 1e-4, `${what} forward`);
      // per-channel scale in the epilogue (batch norm folded in evaluation): act(scale·conv + bias)
      const scale = rand32(cc.oc, 2);
      const outS = new Float32Array(out.length).fill(NaN);
      b.conv2d(x, w, bias, outS, g, cc.relu ? 'relu' : 'none', scale);
      const eoS = new Float64Array(out.length);
      ref.conv2d(f64(x), f64(w), null, eoS, g, 'none');
      for (let i = 0; i < eoS.length; i++) {
        const o = Math.floor(i / (oh * ow)) % cc.oc;
        const v = eoS[i] * scale[o] + (bias ? bias[o] : 0);
        eoS[i] = cc.relu && !(v > 0) ? 0 : v;
      }
      close(outS, eoS, 2e-4 + 4e-6 * kdim, 1e-4, `${what} forward with scale`);

      const gy = rand32(out.length);
      const gx = new Float32Array(x.length).fill(NaN);
      b.conv2dBackwardInput(gy, w, gx, g);
      const egx = new Float64Array(x.length);
      ref.conv2dBackwardInput(f64(gy), f64(w), egx, g);
      close(gx, egx, 1e-4 + 2e-6 * cc.oc * cc.kh * cc.kw, 1e-4, `${what} backward input`);

      const gw = new Float32Array(w.length).fill(NaN);
      b.conv2dBackwardWeight(x, gy, gw, g);
      const egw = new Float64Array(w.length);
      ref.conv2dBackwardWeight(f64(x), f64(gy), egw, g);
      close(gw, egw, 1e-4 + 2e-6 * cc.n * oh * ow, 1e-4, `${what} backward weight`);
    }
  });

  test(`[${name}] pooling`, () => {
    const b = backendOf(name);
    const cases: [number, number, number, number, number, number, number, number, boolean, boolean][] = [
      // h, w, kh, kw, stride, pad, dilation, n*c, ceil, countIncludePad
      [8, 8, 2, 2, 2, 0, 1, 6, false, true],
      [9, 11, 3, 3, 2, 1, 1, 4, false, false],
      [7, 7, 3, 3, 2, 1, 1, 3, true, true],
      [10, 9, 3, 2, 1, 1, 2, 2, false, true],
      [5, 6, 2, 2, 2, 0, 1, 5, true, false],
      [6, 71, 2, 2, 2, 0, 1, 3, false, true], // rows of 35 outputs: full vectors of every width, then a tail
    ];
    for (const [h, w, kh, kw, s, p, d, planes, ceil, cip] of cases) {
      const size = (len: number, k: number) => {
        const eff = d * (k - 1) + 1;
        let o = (ceil ? Math.ceil : Math.floor)((len + 2 * p - eff) / s) + 1;
        if (ceil && (o - 1) * s >= len + p) o--;
        return o;
      };
      const oh = size(h, kh),
        ow = size(w, kw);
      const g: Pool2dGeometry = {
        n: 1,
        c: planes,
        h,
        w,
        oh,
        ow,
        kh,
        kw,
        strideH: s,
        strideW: s,
        padH: p,
        padW: p,
        dilationH: d,
        dilationW: d,
      };
      const what = `pool h=${h} w=${w} k=${kh}x${kw} s=${s} p=${p} d=${d} ceil=${ceil}`;
      const x = rand32(planes * h * w);
      x[3] = NaN;
      const out = new Float32Array(planes * oh * ow),
        idx = new Int32Array(out.length);
      const eout = new Float32Array(out.length),
        eidx = new Int32Array(out.length);
      b.maxPool2d(x, out, idx, g);
      ref.maxPool2d(x, eout, eidx, g);
      close(out, eout, 0, 0, `${what} max`);
      assert.deepEqual(idx, eidx, `${what} max indices`);
      const valuesOnly = new Float32Array(out.length);
      b.maxPool2d(x, valuesOnly, null, g);
      close(valuesOnly, eout, 0, 0, `${what} max without indices`);
      const gy = rand32(out.length),
        gx = new Float32Array(x.length).fill(7),
        egx = new Float32Array(x.length);
      b.maxPool2dBackward(gy, idx, gx, planes, h * w, oh * ow);
      ref.maxPool2dBackward(gy, eidx, egx, planes, h * w, oh * ow);
      close(gx, egx, 1e-6, 0, `${what} max backward`);
      if (d !== 1) continue;
      x[3] = 0.5;
      for (const div of [0, 3, -2]) {
        const ao = new Float32Array(out.length),
          eao = new Float64Array(out.length);
        b.avgPool2d(x, ao, g, cip, div);
        ref.avgPool2d(f64(x), eao, g, cip, div);
        close(ao, eao, 1e-6, 1e-5, `${what} avg div=${div}`);
        const ag = new Float32Array(x.length).fill(3),
          eag = new Float64Array(x.length);
        b.avgPool2dBackward(gy, ag, g, cip, div);
        ref.avgPool2dBackward(f64(gy), eag, g, cip, div);
        close(ag, eag, 1e-6, 1e-5, `${what} avg backward div=${div}`);
      }
    }
  });

  test(`[${name}] channelStats, channelAffine (+relu), batchNormBackward`, () => {
    const b = backendOf(name);
    for (const [n, c, hw] of [
      [2, 3, 5],
      [4, 16, 49],
      [3, 7, 1],
      [2, 33, 300],
      [1, 5, 4097],
    ]) {
      const what = `norm n=${n} c=${c} hw=${hw}`;
      const x = rand32(n * c * hw, 3);
      for (let i = 0; i < x.length; i++) x[i] += 10; // offset: catches one-pass variance
      const mean = new Float32Array(c),
        v = new Float32Array(c),
        em = new Float64Array(c),
        ev = new Float64Array(c);
      b.channelStats(x, mean, v, n, c, hw);
      ref.channelStats(f64(x), em, ev, n, c, hw);
      close(mean, em, 1e-5, 2e-6, `${what} mean`);
      close(v, ev, 1e-5, 1e-4, `${what} variance`);
      const scale = rand32(c),
        shift = rand32(c);
      for (const epi of ['none', 'relu'] as const) {
        const o = new Float32Array(x.length),
          eo = new Float64Array(x.length);
        b.channelAffine(x, scale, shift, o, n, c, hw, epi);
        ref.channelAffine(f64(x), f64(scale), f64(shift), eo, n, c, hw, epi);
        close(o, eo, 1e-5, 1e-5, `${what} affine ${epi}`);
      }
      const gy = rand32(x.length),
        invStd = new Float32Array(c).map((_, i) => 1 / Math.sqrt(ev[i] + 1e-5));
      const m32 = Float32Array.from(em);
      for (const weight of [scale, null]) {
        const gx = new Float32Array(x.length),
          gw = new Float32Array(c),
          gb = new Float32Array(c);
        const egx = new Float64Array(x.length),
          egw = new Float64Array(c),
          egb = new Float64Array(c);
        b.batchNormBackward(x, gy, m32, invStd, weight, gx, gw, gb, n, c, hw);
        ref.batchNormBackward(
          f64(x),
          f64(gy),
          f64(m32),
          f64(invStd),
          weight ? f64(weight) : null,
          egx,
          egw,
          egb,
          n,
          c,
          hw,
        );
        close(gx, egx, 1e-4, 1e-3, `${what} bn gx`);
        close(gw, egw, 1e-4, 1e-4, `${what} bn gw`);
        close(gb, egb, 1e-4, 1e-4, `${what} bn gb`);
      }
      const gw2 = new Float32Array(c),
        egw2 = new Float64Array(c);
      b.batchNormBackward(x, gy, m32, invStd, null, null, gw2, null, n, c, hw);
      ref.batchNormBackward(f64(x), f64(gy), f64(m32), f64(invStd), null, null, egw2, null, n, c, hw);
      close(gw2, egw2, 1e-4, 1e-4, `${what} bn gw only`);
    }
  });

  test(`[${name}] softmax / logSoftmax and their gradients`, () => {
    const b = backendOf(name);
    for (const [outer, size, inner] of [
      [3, 10, 1],
      [2, 1000, 1],
      [4, 7, 13],
      [2, 5, 64],
      [1, 129, 1],
      [70, 3, 1],
    ]) {
      for (const log of [false, true]) {
        const what = `softmax [${outer},${size},${inner}] log=${log}`;
        const x = rand32(outer * size * inner, 20);
        const y = new Float32Array(x.length),
          ey = new Float64Array(x.length);
        b.softmax(x, y, outer, size, inner, log);
        ref.softmax(f64(x), ey, outer, size, inner, log);
        close(y, ey, 1e-6, 2e-5, `${what} forward`);
        const gy = rand32(x.length),
          gx = new Float32Array(x.length),
          egx = new Float64Array(x.length);
        b.softmaxGrad(y, gy, gx, outer, size, inner, log);
        ref.softmaxGrad(f64(y), f64(gy), egx, outer, size, inner, log);
        close(gx, egx, 1e-5, 1e-4, `${what} backward`);
      }
    }
  });

  test(`[${name}] unary, relu and silu gradients, axpy, sum`, () => {
    const b = backendOf(name);
    const n = 1031;
    const x = rand32(n, 30);
    x[0] = NaN;
    x[1] = Infinity;
    x[2] = -Infinity;
    x[3] = -0;
    x[4] = 0;
    x[5] = 100;
    x[6] = -100;
    x[7] = 88.8;
    x[8] = -104;
    const ops = [
      ['relu', {}],
      ['neg', {}],
      ['abs', {}],
      ['square', {}],
      ['exp', {}],
      ['sigmoid', {}],
      ['addScalar', { a: 1.5 }],
      ['mulScalar', { a: -2 }],
      ['leakyRelu', { a: 0.1 }],
      ['relu6', {}],
      ['silu', {}],
      ['tanh', {}],
      ['sqrt', {}],
    ] as const;
    for (const [op, params] of ops) {
      // expected values rounded to float32 like PyTorch's (exp(100) overflows to inf)
      const o = new Float32Array(n),
        eo = new Float32Array(n);
      const input = op === 'sqrt' ? x.map(Math.abs) : x;
      b.unary(op, input, o, params);
      ref.unary(op, f64(input), eo, params);
      close(o, eo, 1e-30, 3e-7 * (op === 'exp' || op === 'sigmoid' || op === 'silu' ? 8 : 1), `unary ${op}`);
    }
    const gy = rand32(n),
      gx = new Float32Array(n),
      egx = new Float32Array(n);
    b.unaryGrad('relu', x, gy, gx, {});
    ref.unaryGrad('relu', x, gy, egx, {});
    close(gx, egx, 0, 0, 'relu grad');
    // SiLU's native gradient against the float64 formula (NaN at ±∞, as torch).
    b.unaryGrad('silu', x, gy, gx, {});
    ref.unaryGrad('silu', f64(x), f64(gy), egx, {});
    close(gx, egx, 1e-6, 3e-6, 'silu grad');
    const y = rand32(n),
      ey = f64(y);
    b.axpy(-0.75, gy, y);
    ref.axpy(-0.75, f64(gy), ey);
    close(y, ey, 1e-6, 1e-6, 'axpy');
    for (const [outer, size, inner] of [
      [1, 5000, 1],
      [3, 17, 1],
      [4, 33, 7],
      [2, 300, 40],
    ]) {
      const v = rand32(outer * size * inner),
        o = new Float32Array(outer * inner),
        eo = new Float64Array(outer * inner);
      b.reduce('sum', v, o, outer, size, inner);
      ref.reduce('sum', f64(v), eo, outer, size, inner);
      close(o, eo, 2e-5, 1e-5, `sum [${outer},${size},${inner}]`);
    }
  });

  test(`[${name}] binary: same shape, scalar, channel and row broadcasts, fallback strides`, () => {
    const b = backendOf(name);
    const N = 3,
      C = 5,
      HW = 37;
    const shape = [N, C, HW];
    const dense = [C * HW, HW, 1];
    const a = rand32(N * C * HW),
      full = rand32(N * C * HW),
      chan = rand32(C),
      scal = rand32(1),
      row = rand32(C * HW);
    a[2] = NaN;
    full[5] = NaN;
    const layouts: [string, Float32Array, number[]][] = [
      ['same', full, dense],
      ['scalar', scal, [0, 0, 0]],
      ['channel', chan, [0, 1, 0]],
      ['row', row, [0, HW, 1]],
      ['transposed-ish', rand32(N * C * HW), [1, N * HW, N]],
    ];
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'lt'] as const) {
      for (const [lname, other, strides] of layouts) {
        for (const swap of [false, true]) {
          const [A, As, B, Bs] = swap ? [other, strides, a, dense] : [a, dense, other, strides];
          const o = new Float32Array(N * C * HW),
            eo = new Float32Array(N * C * HW);
          b.binary(op, A, As, B, Bs, o, shape);
          ref.binary(op, A, As, B, Bs, eo, shape);
          close(o, eo, 1e-6, 1e-6, `binary ${op} ${lname} swap=${swap}`);
        }
      }
    }
  });

  test(`[${name}] float64 goes to the reference kernels`, () => {
    const b = backendOf(name);
    const a = Float64Array.from({ length: 12 }, (_, i) => i / 7),
      bb = Float64Array.from({ length: 12 }, (_, i) => 1 - i / 5);
    const c = new Float64Array(9),
      ec = new Float64Array(9);
    b.gemm(false, true, 3, 3, 4, a, 0, bb, 0, c, 0, 1, false);
    ref.gemm(false, true, 3, 3, 4, a, 0, bb, 0, ec, 0, 1, false);
    assert.deepEqual(c, ec);
  });
}
