/**
 * tools/block-harness.c — the C harness that times a MobileNet block, one of its layers or the stem on its own —
 * still builds against the kernels and its float64 check agrees with them: a developer's tool that no test builds
 * breaks unnoticed when a kernel's signature changes. Built with the portable 8-lane ISA (no instruction-set flags,
 * so on any machine with gcc) at -O1 to keep the compile short; the shipped builds' kernels are checked against
 * float64 references by the kernel suites (kernels-random, fusion-nhwc, fusion-se).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hasGcc, withKernelHarness } from './helpers.ts';

test(
  'block harness: builds, and each mode agrees with its float64 evaluation',
  { skip: !hasGcc && 'gcc not found' },
  () => {
    withKernelHarness(
      ['tools/block-harness.c'],
      ['-O1', '-Wno-unused-function', '-DISA_FILE="isa_generic8.c"'],
      (bin) => {
        // N CIN HID COUT H K S SQ ACT T REPS MODE: a gated 5×5 stride-2 block, a residual 3×3 one on two threads
        // (bands and chunks), V3's stem with its first block fused, the stem alone
        const cases = [
          ['2', '24', '72', '40', '22', '5', '2', '24', '3', '1', '1', 'block'],
          ['3', '16', '48', '16', '17', '3', '1', '0', '2', '2', '1', 'block'],
          ['2', '0', '0', '0', '38', '0', '0', '0', '1', '2', '1', 'stemblock'],
          ['1', '0', '0', '0', '30', '0', '0', '0', '3', '1', '1', 'stem'],
        ];
        for (const args of cases) {
          const r = spawnSync(bin, args, { encoding: 'utf8' });
          assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
          const m = /max error \/ max \|out\| (\S+)/.exec(r.stdout);
          assert.ok(m, `${args.join(' ')}: no check in ${r.stdout}`);
          assert.ok(Number(m[1]) < 1e-5, `${args.join(' ')}: relative error ${m[1]}`);
        }
      },
    );
  },
);
