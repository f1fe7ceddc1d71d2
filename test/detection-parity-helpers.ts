/** Shared check of the detector parity tests: Tatami's detections against torchvision's, one to one. */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tt from '../src/index.ts';

/**
 * The criterion: boxes within 1e-3 px, scores within 1e-4, the same labels — matched one to one, since
 * detections whose scores differ by less than float32 rounding may come in either order. `io` holds torchvision's
 * `boxes{i}`, `scores{i}`, `labels{i}`.
 */
export function assertSameDetections(
  got: { boxes: tt.Tensor; scores: tt.Tensor; labels: tt.Tensor },
  io: Record<string, tt.Tensor>,
  i: number,
  opts: { boxTol?: number; scoreTol?: number } = {},
): number[] {
  const boxTol = opts.boxTol ?? 1e-3;
  const scoreTol = opts.scoreTol ?? 1e-4;
  const eb = io[`boxes${i}`].dataView(),
    es = io[`scores${i}`].dataView(),
    el = io[`labels${i}`].dataView();
  const gb = got.boxes.dataView(),
    gs = got.scores.dataView(),
    gl = got.labels.dataView();
  assert.equal(gs.length, es.length, `image ${i}: ${gs.length} detections, torchvision ${es.length}`);
  assert.ok(gs.length > 0, 'some detections');
  const used = new Uint8Array(gs.length);
  const order: number[] = [];
  for (let k = 0; k < es.length; k++) {
    let found = -1;
    for (let j = 0; j < gs.length && found < 0; j++) {
      if (used[j] || gl[j] !== el[k] || Math.abs(gs[j] - es[k]) > scoreTol) continue;
      if ([0, 1, 2, 3].every((c) => Math.abs(gb[4 * j + c] - eb[4 * k + c]) <= boxTol)) found = j;
    }
    assert.ok(
      found >= 0,
      `image ${i}: torchvision detection ${k} (label ${el[k]}, score ${es[k]}, box ${Array.from(eb.subarray(4 * k, 4 * k + 4))}) has no match`,
    );
    used[found] = 1;
    order.push(found);
  }
  for (let j = 1; j < gs.length; j++) assert.ok(gs[j] <= gs[j - 1], 'detections sorted by score');
  return order;
}

const PY = '/usr/bin/python3';
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
// Each detector takes a minute or more on one busy core (building and loading tens of millions of parameters): the
// parity suites run in CI (CI=true) or with TATAMI_SLOW_TESTS=1.
const wanted = Boolean(process.env.CI || process.env.TATAMI_SLOW_TESTS);
const skip = !hasTorch
  ? 'PyTorch/torchvision not installed (see scripts/setup-system.sh)'
  : !wanted
    ? 'slow: set TATAMI_SLOW_TESTS=1 (CI runs it)'
    : false;

/**
 * A detector parity suite: `tools/detection_parity.py DIR pyCase` writes torchvision's seeded weights and reference
 * outputs into a temporary folder before the tests (`dir()` names it) and the folder goes afterwards.
 */
export function describeParity(title: string, pyCase: string, body: (dir: () => string) => void): void {
  describe(title, { skip }, () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), `tatami-${pyCase}-parity-`));
      const r = spawnSync(PY, ['tools/detection_parity.py', dir, pyCase], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`detection_parity.py ${pyCase} failed (${r.status}):\n${r.stderr}`);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    body(() => dir);
  });
}
