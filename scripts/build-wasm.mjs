#!/usr/bin/env node
/**
 * Compiles native/src to WebAssembly SIMD128 (build-wasm/tatami.wasm) with clang + wasm-ld. Runs from
 * `npm install` / `npm ci` after the native build; a failure never fails the install (the reference backend
 * remains), it prints one line saying why. CLANG overrides the compiler.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`tatami: ${msg}`);
const out = join(root, 'build-wasm');
mkdirSync(out, { recursive: true });

const clang = process.env.CLANG || ['clang', 'clang-18', 'clang-17', 'clang-16', 'clang-15', 'clang-14'].find(
  (c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0,
);
if (!clang) {
  say('wasm kernels not built (clang not found; scripts/setup-system.sh installs it); falling back to reference');
  process.exit(0);
}

const common = ['--target=wasm32', '-msimd128', '-mbulk-memory', '-O3', '-std=gnu11', '-ffp-contract=fast', '-fno-math-errno',
  '-nostdlib', '-Wl,--no-entry', '-Wl,--initial-memory=1048576', '-Wl,--max-memory=4294967296', '-Wl,--strip-all'];
const r = spawnSync(clang, [...common, '-o', join(out, 'tatami.wasm'), join(root, 'native', 'src', 'wasm_api.c')], { encoding: 'utf8' });
if (r.status !== 0 || !existsSync(join(out, 'tatami.wasm'))) {
  const why = `${r.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l)) ?? `exit ${r.status}`;
  say(`wasm kernels not built (${why.trim()}); falling back to reference`);
  process.exit(0);
}
say('wasm kernels built (build-wasm/tatami.wasm)');
