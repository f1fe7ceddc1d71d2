#!/usr/bin/env node
/**
 * Compiles native/src to WebAssembly (build-wasm/) with clang + wasm-ld. Runs from `npm install` / `npm ci` after
 * the native build; a failure never fails the install (the reference backend remains), it prints one line saying
 * why. CLANG overrides the compiler.
 *
 * Four modules, from the same source; src/backend/wasm.ts loads the best one the runtime accepts:
 *   tatami[-mt][-relaxed].wasm — `-mt`: threads over a shared memory (needs SharedArrayBuffer);
 *   `-relaxed`: relaxed SIMD, whose fused multiply-add doubles GEMM throughput on FMA hardware (needs clang ≥ 16
 *   to emit the final opcodes; Node 20 enables it with --experimental-wasm-relaxed-simd, later runtimes by default).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`tatami: ${msg}`);
const out = join(root, 'build-wasm');
mkdirSync(out, { recursive: true });

if (process.argv.includes('--if-stale')) {
  const src = join(root, 'native', 'src');
  const inputs = [
    fileURLToPath(import.meta.url),
    ...(existsSync(src) ? readdirSync(src, { recursive: true }).map((f) => join(src, f)) : []),
  ];
  const outputs = ['tatami.wasm', 'tatami-mt.wasm', 'tatami-relaxed.wasm', 'tatami-mt-relaxed.wasm']
    .map((f) => join(out, f))
    .filter((f) => existsSync(f));
  const newestInput = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
  const required = ['tatami.wasm', 'tatami-mt.wasm'].every((f) => existsSync(join(out, f)));
  if (required && outputs.every((f) => statSync(f).mtimeMs >= newestInput)) {
    say(`wasm kernels up to date (${outputs.map((f) => f.slice(root.length + 1)).join(', ')})`);
    process.exit(0);
  }
}

/** Major version of a clang that targets wasm32, or 0 when it is not there. */
function clangMajor(cmd) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return 0;
  const m = /clang version (\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : 0;
}
const candidates = process.env.CLANG
  ? [process.env.CLANG]
  : ['clang-19', 'clang-18', 'clang-17', 'clang-16', 'clang', 'clang-15', 'clang-14'];
const found = candidates.map((cmd) => ({ cmd, major: clangMajor(cmd) })).filter((c) => c.major > 0);
if (!found.length) {
  say('wasm kernels not built (clang not found; scripts/setup-system.sh installs it); falling back to reference');
  process.exit(0);
}
const clang = found.reduce((a, b) => (b.major > a.major ? b : a));

const common = [
  '--target=wasm32',
  '-msimd128',
  '-mbulk-memory',
  '-O3',
  '-std=gnu11',
  '-ffp-contract=fast',
  '-fno-math-errno',
  '-nostdlib',
  '-Wl,--no-entry',
  '-Wl,--initial-memory=1048576',
  '-Wl,--strip-all',
];
// Single-threaded: owns its memory; for runtimes without SharedArrayBuffer (pages that are not cross-origin isolated).
const single = ['-Wl,--max-memory=4294967296'];
// Threaded: imports one shared memory that every thread's instance uses; workers set their own stack pointer.
// The page limits must match src/backend/wasm.ts (SHARED_INITIAL_PAGES, SHARED_MAX_PAGES).
const threaded = [
  '-DTT_THREADS',
  '-matomics',
  '-mmutable-globals',
  '-Wl,--import-memory',
  '-Wl,--shared-memory',
  '-Wl,--max-memory=4294901760',
  '-Wl,--export=__stack_pointer',
];
const builds = [
  { file: 'tatami.wasm', flags: single },
  { file: 'tatami-mt.wasm', flags: threaded },
  ...(clang.major >= 16
    ? [
        { file: 'tatami-relaxed.wasm', flags: ['-mrelaxed-simd', ...single] },
        { file: 'tatami-mt-relaxed.wasm', flags: ['-mrelaxed-simd', ...threaded] },
      ]
    : []),
];

const built = [];
for (const { file, flags } of builds) {
  const target = join(out, file);
  // Compiled beside the target and renamed over it: a process loading the module meanwhile (a test running while
  // `npm pack` rebuilds) reads the old file or the new one, never a half-written one.
  const tmp = `${target}.tmp-${process.pid}`;
  const r = spawnSync(clang.cmd, [...common, ...flags, '-o', tmp, join(root, 'native', 'src', 'wasm_api.c')], {
    encoding: 'utf8',
  });
  if (r.status === 0 && existsSync(tmp)) {
    renameSync(tmp, target);
    built.push(file);
    continue;
  }
  rmSync(tmp, { force: true });
  rmSync(target, { force: true }); // never leave a module from older source beside fresh ones
  const why = `${r.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l)) ?? `exit ${r.status}`;
  say(`wasm module ${file} not built (${why.trim()})`);
}
if (!built.includes('tatami.wasm')) {
  say('wasm kernels not built; falling back to reference');
  process.exit(0);
}
const missingRelaxed = clang.major < 16 ? ` (no relaxed SIMD: ${clang.cmd} ${clang.major} is older than 16)` : '';
say(`wasm kernels built with ${clang.cmd}: ${built.map((f) => `build-wasm/${f}`).join(', ')}${missingRelaxed}`);
