#!/usr/bin/env node
/**
 * `npm pack` / `npm publish` (prepack): builds what the tarball ships — a clean dist/ (the compiled library, CLI
 * and declarations) and the four platform-independent WebAssembly modules in build-wasm/ — and fails the pack if
 * either is missing, so a tarball never goes out without them. The native addon is not shipped: it is compiled on
 * the user's machine at install (scripts/build-native.mjs), where the CPU and Node's ABI are known.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (args, what) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`tatami prepack: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
};

// A clean build: outputs of deleted or renamed sources must not linger in the tarball.
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
run([tsc, '-p', 'tsconfig.build.json'], 'the TypeScript build (tsc -p tsconfig.build.json)');
run(
  [join(root, 'scripts', 'wasm.mjs'), 'install'],
  'the WebAssembly modules (prebuilt in wasm/, or compiled when native/src changed)',
);
run([join(root, 'scripts', 'build-browser.mjs')], 'the browser bundle (dist/browser/)');
for (const f of [
  'dist/index.js',
  'dist/index.d.ts',
  'dist/cli/main.js',
  'build-wasm/tatami.wasm',
  'build-wasm/tatami-mt.wasm',
  'dist/browser/tatami.js',
  'dist/browser/tatami.wasm',
]) {
  if (!existsSync(join(root, f))) {
    console.error(
      `tatami prepack: ${f} was not built; refusing to pack a package without it (is clang ≥ 16 with wasm-ld installed? see scripts/setup-system.sh)`,
    );
    process.exit(1);
  }
}
