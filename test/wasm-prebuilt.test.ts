/**
 * The prebuilt WebAssembly modules in wasm/ (scripts/wasm.mjs): they were built from the sources in the tree, npm's
 * install step puts them in build-wasm/ on a machine without any compiler, and they are reproducible byte for
 * byte from native/src with the pinned clang (run where clang-16 is installed, as in CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULES, PINNED_CLANG, check, readManifest, sourceHash } from '../scripts/wasm.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('wasm/manifest.json matches the sources in the tree and the committed modules', () => {
  const manifest = readManifest();
  assert.ok(manifest, 'wasm/manifest.json exists');
  assert.equal(
    manifest.sources,
    sourceHash(),
    'native/src or scripts/build-wasm.mjs changed since wasm/ was built: run `npm run wasm:update` (needs clang-16)',
  );
  assert.deepEqual(Object.keys(manifest.modules).sort(), [...MODULES].sort());
  for (const m of MODULES) assert.equal(sha256(readFileSync(join(root, 'wasm', m))), manifest.modules[m], `wasm/${m}`);
  assert.match(manifest.clang, new RegExp(`^${PINNED_CLANG} `));
});

test('install on a machine without clang: build-wasm/ gets the prebuilt modules, and they load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tatami-noclang-'));
  try {
    for (const p of ['scripts/wasm.mjs', 'scripts/build-wasm.mjs', 'native/src', 'wasm'])
      cpSync(join(root, p), join(dir, p), { recursive: true });
    // A PATH holding only node: no clang, no make, no compiler of any kind.
    mkdirSync(join(dir, 'bin'));
    symlinkSync(process.execPath, join(dir, 'bin', 'node'));
    const r = spawnSync(join(dir, 'bin', 'node'), [join(dir, 'scripts', 'wasm.mjs'), 'install'], {
      encoding: 'utf8',
      env: { PATH: join(dir, 'bin') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /prebuilt modules/);
    for (const m of MODULES) {
      const bytes = readFileSync(join(dir, 'build-wasm', m));
      assert.ok(bytes.equals(readFileSync(join(root, 'wasm', m))), m);
      assert.ok(WebAssembly.validate(bytes) || m.includes('relaxed'), `${m} validates`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasPinned = spawnSync(PINNED_CLANG, ['--version']).status === 0;
test(
  `the prebuilt modules are byte-identical to a fresh ${PINNED_CLANG} build`,
  { skip: !hasPinned && `${PINNED_CLANG} not installed (CI installs it)`, timeout: 240_000 },
  () => {
    assert.deepEqual(check(), []);
    assert.ok(existsSync(join(root, 'wasm', 'tatami.wasm')));
  },
);
