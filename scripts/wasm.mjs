#!/usr/bin/env node
/**
 * The WebAssembly kernels on every machine. The four modules are committed, prebuilt, in wasm/ (and shipped in the
 * npm package), with wasm/manifest.json recording the SHA-256 of the sources they were built from (native/src and
 * scripts/build-wasm.mjs), the pinned compiler and each module's hash. They are reproducible byte for byte:
 * `check` rebuilds them with the pinned clang and compares (test/wasm-prebuilt.test.ts runs it in CI). See
 * docs/browser.md for why prebuilt modules rather than a compiler from npm.
 *
 *   node scripts/wasm.mjs install   npm install / npm ci: put the modules in build-wasm/. The prebuilt ones when
 *                                   they match the sources (no compiler needed); after a source edit, compile with
 *                                   scripts/build-wasm.mjs (needs clang) — never a stale module.
 *   node scripts/wasm.mjs update    rebuild wasm/ with the pinned clang (CLANG overrides) after editing native/src.
 *   node scripts/wasm.mjs check     rebuild in a scratch copy with the pinned clang; exit 1 unless byte-identical.
 *
 * scripts/build-wasm.mjs is used unchanged: it is run in a scratch copy of the tree (it writes next to itself).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PINNED_CLANG = 'clang-16';
export const MODULES = ['tatami.wasm', 'tatami-mt.wasm', 'tatami-relaxed.wasm', 'tatami-mt-relaxed.wasm'];
const prebuiltDir = join(root, 'wasm');
const manifestPath = join(prebuiltDir, 'manifest.json');
const say = (msg) => console.log(`tatami: ${msg}`);
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The files the modules are built from: everything under native/src (kernel families live in subfolders) and the
 * build script, in a fixed order. */
function sourceFiles(base = root) {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  return [...walk(join(base, 'native', 'src')), join(base, 'scripts', 'build-wasm.mjs')];
}

/** One hash over the sources (each file's path relative to the root, then its bytes). */
export function sourceHash(base = root) {
  const h = createHash('sha256');
  for (const f of sourceFiles(base))
    h.update(relative(base, f).replaceAll('\\', '/')).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

/** The committed manifest, or null. */
export function readManifest() {
  return existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : null;
}

/** Builds the four modules with `clang` in a scratch copy of the sources; returns { dir, version } (caller removes dir). */
export function buildScratch(clang = process.env.CLANG || PINNED_CLANG) {
  const version = spawnSync(clang, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0)
    throw new Error(
      `${clang} not found (the prebuilt wasm modules are pinned to ${PINNED_CLANG}; scripts/setup-system.sh installs it)`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'tatami-wasm-'));
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(root, 'native', 'src'), join(dir, 'native', 'src'), { recursive: true });
  copyFileSync(join(root, 'scripts', 'build-wasm.mjs'), join(dir, 'scripts', 'build-wasm.mjs'));
  const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build-wasm.mjs')], {
    encoding: 'utf8',
    env: { ...process.env, CLANG: clang },
  });
  const missing = MODULES.filter((m) => !existsSync(join(dir, 'build-wasm', m)));
  if (r.status !== 0 || missing.length) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `wasm build with ${clang} did not produce ${missing.join(', ') || 'its modules'}: ${r.stdout}${r.stderr}`,
    );
  }
  return { dir, version: /clang version ([\d.]+)/.exec(version.stdout)?.[1] ?? 'unknown' };
}

function update() {
  const { dir, version } = buildScratch();
  try {
    mkdirSync(prebuiltDir, { recursive: true });
    const modules = {};
    for (const m of MODULES) {
      const bytes = readFileSync(join(dir, 'build-wasm', m));
      writeFileSync(join(prebuiltDir, m), bytes);
      modules[m] = sha256(bytes);
    }
    const manifest = { clang: `${process.env.CLANG || PINNED_CLANG} ${version}`, sources: sourceHash(), modules };
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
    say(`prebuilt wasm modules updated in wasm/ (${manifest.clang})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Differences between the committed modules and a fresh build with the pinned clang (empty: reproducible). */
export function check() {
  const problems = [];
  const manifest = readManifest();
  if (!manifest) return ['wasm/manifest.json missing'];
  if (manifest.sources !== sourceHash())
    problems.push(
      'wasm/ was built from other sources than native/src + scripts/build-wasm.mjs now (run npm run wasm:update)',
    );
  const { dir } = buildScratch();
  try {
    for (const m of MODULES) {
      const fresh = readFileSync(join(dir, 'build-wasm', m));
      const committed = existsSync(join(prebuiltDir, m)) ? readFileSync(join(prebuiltDir, m)) : null;
      if (!committed) problems.push(`wasm/${m} missing`);
      else if (!fresh.equals(committed))
        problems.push(
          `wasm/${m} differs from a fresh ${PINNED_CLANG} build (${sha256(committed).slice(0, 12)} vs ${sha256(fresh).slice(0, 12)})`,
        );
      else if (manifest.modules?.[m] !== sha256(committed))
        problems.push(`wasm/manifest.json has the wrong hash for ${m}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

function install() {
  const manifest = readManifest();
  const out = join(root, 'build-wasm');
  if (manifest && existsSync(join(root, 'native', 'src')) && manifest.sources === sourceHash()) {
    mkdirSync(out, { recursive: true });
    const copied = [];
    for (const m of MODULES) {
      const from = join(prebuiltDir, m);
      if (!existsSync(from) || sha256(readFileSync(from)) !== manifest.modules[m]) continue;
      const to = join(out, m);
      if (!existsSync(to) || !readFileSync(to).equals(readFileSync(from))) {
        // Written beside the target and renamed over it, as build-wasm.mjs does, so a running process never reads half a file.
        copyFileSync(from, `${to}.tmp-${process.pid}`);
        renameSync(`${to}.tmp-${process.pid}`, to);
        copied.push(m);
      }
    }
    say(
      `wasm kernels: prebuilt modules (${manifest.clang}) ${copied.length ? `installed in build-wasm/ (${copied.join(', ')})` : 'already in build-wasm/'}`,
    );
    return;
  }
  say(
    manifest
      ? "native/src differs from the prebuilt wasm modules' sources: compiling them here"
      : 'no prebuilt wasm modules: compiling them here',
  );
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-wasm.mjs'), '--if-stale'], { stdio: 'inherit' });
  process.exitCode = r.status ?? 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cmd = process.argv[2];
  if (cmd === 'install') install();
  else if (cmd === 'update') update();
  else if (cmd === 'check') {
    const problems = check();
    for (const p of problems) console.error(`tatami wasm check: ${p}`);
    if (!problems.length)
      say(`prebuilt wasm modules are reproducible: a fresh ${PINNED_CLANG} build is byte-identical`);
    process.exitCode = problems.length ? 1 : 0;
  } else {
    console.error('usage: node scripts/wasm.mjs install | update | check');
    process.exitCode = 2;
  }
}
