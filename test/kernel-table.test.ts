/**
 * The kernel table (native/kernels.table.mjs) is the one description of the kernel boundary: the committed generated
 * files must be what the generator makes of it now, and the built addon and wasm modules must expose exactly its
 * kernels. Also the generated argument unpacking's error messages, the geometry packing, and the generated `Backend`
 * overrides' checks on every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NATIVE_ADDON_PATH } from '../src/backend/native.ts';
import { wasmVariantPath } from '../src/backend/wasm-loader.ts';
import { packConvGeometry, packPoolGeometry } from '../src/backend/kernels.gen.ts';
import * as tt from '../src/index.ts';
import { backendNames } from './helpers.ts';

const sgd = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: true };

const root = fileURLToPath(new URL('..', import.meta.url));
const table = (await import(new URL('../native/kernels.table.mjs', import.meta.url).href)) as {
  kernels: { name: string; native?: boolean; wasm?: boolean }[];
  geometries: Record<string, { enumPrefix: string; fields: [string, string][] }>;
};

test('generated kernel files are up to date with native/kernels.table.mjs', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-kernels.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
});

test('the addon exposes exactly the table’s kernels, and its unpacking names the kernel and argument', () => {
  const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as { kernels(isa: string): Record<string, unknown> };
  const k = addon.kernels('generic') as Record<string, (...a: unknown[]) => unknown>;
  const fns = Object.getOwnPropertyNames(k)
    .filter((n) => typeof k[n] === 'function')
    .sort();
  assert.deepEqual(
    fns,
    table.kernels
      .filter((t) => t.native !== false)
      .map((t) => t.name)
      .sort(),
  );
  const g = new Int32Array(16);
  assert.throws(
    () => k.conv2dBackwardInput(new Float32Array(4), new Float64Array(4), new Float32Array(4), g),
    /tatami native conv2dBackwardInput: w must be a Float32Array/,
  );
  assert.throws(
    () => k.conv2d(new Float32Array(4), new Float32Array(4), null, null, null, null, g, 0),
    /tatami native conv2d: out must be a Float32Array/,
  );
  assert.throws(
    () => k.maxPool2d(new Float32Array(4), new Float32Array(4), null, new Float32Array(14)),
    /tatami native maxPool2d: g must be an Int32Array/,
  );
});

test('the wasm module exports exactly the table’s kernels', async () => {
  const bytes = readFileSync(wasmVariantPath({ threads: false, relaxed: false }));
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  const kernelExports = exports.filter((n) => !n.startsWith('tt_') && !n.startsWith('__') && n !== 'memory').sort();
  assert.deepEqual(
    kernelExports,
    table.kernels
      .filter((t) => t.wasm !== false)
      .map((t) => t.name)
      .sort(),
  );
});

test('geometry packing follows the table’s field order', () => {
  const conv = {
    n: 1,
    c: 2,
    h: 3,
    w: 4,
    oc: 5,
    kh: 6,
    kw: 7,
    oh: 8,
    ow: 9,
    strideH: 10,
    strideW: 11,
    padH: 12,
    padW: 13,
    dilationH: 14,
    dilationW: 15,
    groups: 16,
  };
  assert.deepEqual(
    [...packConvGeometry(conv)],
    table.geometries.conv.fields.map(([, ts]) => conv[ts as keyof typeof conv]),
  );
  assert.deepEqual(
    [...packConvGeometry(conv)],
    Array.from({ length: 16 }, (_, i) => i + 1),
  ); // CG_N … CG_GROUPS of tt.h
  const pool = {
    n: 1,
    c: 2,
    h: 3,
    w: 4,
    oh: 5,
    ow: 6,
    kh: 7,
    kw: 8,
    strideH: 9,
    strideW: 10,
    padH: 11,
    padW: 12,
    dilationH: 13,
    dilationW: 14,
  };
  assert.deepEqual(
    [...packPoolGeometry(pool)],
    Array.from({ length: 14 }, (_, i) => i + 1),
  );
});

test('the generated overrides check every backend’s arguments against the table (sizes, geometry, indices)', () => {
  for (const name of backendNames()) {
    const be = tt.withBackend(name, () => tt.backend());
    const f32 = (n: number): Float32Array => new Float32Array(n);
    // sizes come from the table's `size` expressions: x [n, c, hw] = 2·3·4
    assert.throws(
      () => be.channelStats(f32(23), f32(3), f32(3), 2, 3, 4),
      /channelStats: x has 23 elements but the kernel's geometry needs 24/,
      name,
    );
    assert.throws(
      () => be.channelStats(f32(24), f32(3), f32(3), 2, 3.5, 4),
      /channelStats: c must be an integer/,
      name,
    );
    assert.throws(
      () => be.sgdStep(f32(100), f32(99), null, sgd),
      /sgdStep: g has 99 elements but the kernel's geometry needs 100/,
      name,
    );
    // geometry fields with their table minimum (stride ≥ 1)
    const pool = { n: 1, c: 1, h: 4, w: 4, oh: 2, ow: 2, kh: 2, kw: 2, strideH: 0, strideW: 2, padH: 0, padW: 0 };
    assert.throws(
      () => be.maxPool2d(f32(16), f32(4), null, { ...pool, dilationH: 1, dilationW: 1 }),
      /maxPool2d: strideH must be an integer in \[1, /,
      name,
    );
    // the table's extra check: scatter indices stay inside their plane
    assert.throws(
      () => be.maxPool2dBackward(f32(4), Int32Array.from([0, 1, 2, 16]), f32(16), 1, 16, 4),
      /maxPool2dBackward: index 16 at position 3 is outside its plane of 16 elements/,
      name,
    );
    // float32 and float64 (the reference body) agree on a table kernel
    const x = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i));
    const m32 = f32(4),
      v32 = f32(4),
      m64 = new Float64Array(4),
      v64 = new Float64Array(4);
    be.channelStats(x, m32, v32, 2, 4, 12);
    be.channelStats(Float64Array.from(x), m64, v64, 2, 4, 12);
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs(m32[i] - m64[i]) < 1e-6 && Math.abs(v32[i] - v64[i]) < 1e-6, `${name}: channel ${i}`);
    }
  }
});
