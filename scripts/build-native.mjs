#!/usr/bin/env node
/**
 * Builds the Node-API addon (binding.gyp → build/Release/tatami.node) with node-gyp. Runs from `npm install` /
 * `npm ci`; a failure never fails the install: Tatami then falls back to the wasm or reference backend, and this
 * prints one line saying why. Set TATAMI_SKIP_NATIVE=1 to skip the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`tatami: ${msg}`);
const fail = (reason) => {
  say(`native addon not built (${reason}); falling back to wasm/reference`);
  process.exit(0);
};

if (process.env.TATAMI_SKIP_NATIVE) fail('TATAMI_SKIP_NATIVE is set');

/** node-gyp: a local devDependency if present, else the copy bundled with npm. */
function findNodeGyp() {
  const require = createRequire(join(root, 'package.json'));
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    /* not installed locally */
  }
  const candidates = [];
  if (process.env.npm_execpath)
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const prefix = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['prefix', '-g'], {
    encoding: 'utf8',
  }).stdout?.trim();
  if (prefix) {
    candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    candidates.push(join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  );
  return candidates.find((p) => existsSync(p)) ?? null;
}

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp not found');

// Headers: use the ones installed with this Node (offline) when present, else node-gyp's own download/cache.
const args = [gyp, 'rebuild'];
const nodedir = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
if (existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodedir}`);

const verbose = !!process.env.TATAMI_BUILD_VERBOSE;
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
if (r.error) fail(r.error.message);
if (r.status !== 0) {
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => /error|not found|No such/i.test(l));
  fail(out.slice(0, 3).join(' | ').trim() || `node-gyp exited with ${r.status}`);
}
if (!existsSync(join(root, 'build', 'Release', 'tatami.node'))) fail('node-gyp produced no build/Release/tatami.node');
say('native addon built (build/Release/tatami.node)');
