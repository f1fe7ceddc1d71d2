/**
 * The API reference (`npm run docs`: TypeDoc over src/index.ts, configured in typedoc.json) builds with no error and
 * no warning — treatWarningsAsErrors makes a broken {@link}, a public type that is referenced but not exported, or a
 * doc comment TypeDoc misreads fail this test — and documents the public names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Reflection {
  name: string;
  kind: number;
  children?: Reflection[];
  signatures?: { comment?: { summary: { text: string }[] } }[];
  comment?: { summary: { text: string }[] };
}

test('TypeDoc builds the API reference without warnings and documents the public API', { timeout: 300_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'tatami-api-'));
  try {
    const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const r = spawnSync(process.execPath, [typedoc, '--out', join(out, 'html'), '--json', join(out, 'api.json')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 280_000,
    });
    assert.equal(r.status, 0, `typedoc failed:\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /\[warning\]|\[error\]/);
    assert.ok(existsSync(join(out, 'html', 'index.html')));
    const api = JSON.parse(readFileSync(join(out, 'api.json'), 'utf8')) as Reflection;
    const top = new Map((api.children ?? []).map((c) => [c.name, c]));
    for (const ns of ['nn', 'optim', 'data', 'models', 'viz', 'train', 'F'])
      assert.ok(top.has(ns), `namespace ${ns} documented`);
    const train = new Map((top.get('train')?.children ?? []).map((c) => [c.name, c]));
    // A name exported both at the top level and in `train` is documented once; the other is a reference to it.
    const doc = (name: string): string => {
      const t = top.get(name);
      const c = t?.comment || t?.signatures ? t : (train.get(name) ?? t);
      assert.ok(c, `${name} documented`);
      const summary = c.comment?.summary ?? c.signatures?.[0]?.comment?.summary ?? [];
      return summary.map((p) => p.text).join('');
    };
    for (const name of [
      'fit',
      'evaluate',
      'tensor',
      'ConfusionMatrix',
      'saveCheckpoint',
      'loadCheckpoint',
      'topKAccuracy',
    ]) {
      assert.ok(doc(name).length > 20, `${name} has a doc comment: '${doc(name)}'`);
    }
    assert.match(doc('tensor'), /float32/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
