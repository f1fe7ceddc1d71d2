#!/usr/bin/env node
/**
 * `prepare` (npm ci / npm install in a checkout) compiles dist/ so bin/tatami.js runs. npm also runs `prepare`
 * during `npm pack` and `npm publish`, right after `prepack` has made a clean build: skip the second build there.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.env.npm_command === 'pack' || process.env.npm_command === 'publish') process.exit(0);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
