/**
 * tools/isa-crosscheck.c — each kernel build against the portable 4-wide one in plain C, with guard zones around
 * every output, inputs checked unchanged and a zeroed/NaN-filled double run — linked against the very objects
 * node-gyp compiled for the addon, run for every build this CPU executes. The same binary, statically linked, is
 * what tools/avx512-emu.sh runs under an emulated AVX-512 CPU on machines without one; this test keeps it building
 * and shows on every machine that its checks pass where the builds agree and fail where they do not (a run with
 * each candidate output perturbed must be caught by every comparison).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasGcc, withKernelHarness } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const objDir = join(root, 'build/Release/obj.target');

/** The addon's per-build objects (isa_*.o under build/Release/obj.target), as node-gyp compiled them. */
const objects = existsSync(objDir)
  ? readdirSync(objDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => /(^|\/)isa_[^/]*\.o$/.test(f))
      .map((f) => join(objDir, f))
  : [];
const SEED = process.env.TATAMI_RANDOM_SEED ?? '20261207';

test(
  'isa crosscheck: every build this CPU runs agrees with the portable one, and a perturbed output is caught',
  {
    skip: (!hasGcc && 'gcc not found') || (!objects.length && 'the native addon is not built (no isa_*.o objects)'),
  },
  () => {
    withKernelHarness(['tools/isa-crosscheck.c', ...objects], ['-O2', '-Wextra', '-Wno-unused-parameter'], (bin) => {
      const ran: string[] = [];
      for (const build of ['avx512', 'avx2', 'generic16', 'generic8']) {
        const r = spawnSync(bin, [build, '25', SEED, '2'], { encoding: 'utf8' });
        if (r.status === 3 || r.status === 2) {
          // 3: this CPU lacks the build's instructions; 2: the build is not compiled on this architecture
          assert.ok(!build.startsWith('generic'), `${build}: ${r.stderr}`);
          console.log(`# ${build}: not run here (${r.stderr.trim()}); tools/avx512-emu.sh runs it under Bochs`);
          continue;
        }
        assert.equal(r.status, 0, `${build}:\n${r.stdout}\n${r.stderr}`);
        const m = /crosscheck: (\d+) checks, 0 failures/.exec(r.stdout);
        assert.ok(m && Number(m[1]) > 10000, `${build}: ${r.stdout}`);
        ran.push(`${build} (${m[1]} checks)`);
      }
      console.log(`# crosscheck against native-generic: ${ran.join(', ')}`);
      // every comparison must be able to fail: one element of each candidate output moved
      const p = spawnSync(bin, ['generic16', '6', SEED, '2', '1'], { encoding: 'utf8' });
      assert.equal(p.status, 1, p.stderr);
      const caught = /perturbed: (\d+) of (\d+) comparisons caught/.exec(p.stdout);
      assert.ok(caught, p.stdout);
      assert.ok(Number(caught[2]) > 500, `only ${caught[2]} comparisons`);
      assert.equal(
        caught[1],
        caught[2],
        p.stdout
          .split('\n')
          .filter((l) => l.startsWith('NOT CAUGHT'))
          .join('\n'),
      );
    });
  },
);
