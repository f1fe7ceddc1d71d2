/**
 * Regression tests for issue 13, item 4 (DataLoader workers): an error in a worker is re-raised in the consuming
 * loop (never an unhandled rejection), workers are released when an iteration is abandoned or the loader is
 * garbage, a `timeout` option ends a stuck wait, and a loader recovers after a worker dies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tt from '../src/index.ts';
import { makeFaulty, type FaultMode } from './fixtures/faulty-dataset.ts';

const data = tt.data;
const MODULE = new URL('./fixtures/faulty-dataset.ts', import.meta.url).href;

function loader(
  mode: FaultMode,
  bad: number,
  opts: { onceFile?: string; timeout?: number; numWorkers?: number; n?: number } = {},
) {
  const n = opts.n ?? 24;
  const args = [n, mode, bad, opts.onceFile];
  return new data.DataLoader(makeFaulty(n, mode, bad, opts.onceFile), {
    batchSize: 4,
    numWorkers: opts.numWorkers ?? 1,
    timeout: opts.timeout,
    workerDataset: { module: MODULE, export: 'makeFaulty', args },
  });
}

async function consume(dl: { [Symbol.asyncIterator](): AsyncIterator<unknown> }): Promise<number> {
  let n = 0;
  for await (const _ of dl as AsyncIterable<unknown>) n++;
  return n;
}

/** Threads of this process (Linux), to see worker threads come and go. */
function threads(): number {
  return readdirSync('/proc/self/task').length;
}

function poolOf(dl: unknown): unknown {
  return (dl as { poolBox: { pool: unknown } }).poolBox.pool;
}

test('issue 13.4: an error in a worker reaches the consuming loop, three times in a row, with no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    for (let run = 0; run < 3; run++) {
      // The faulty sample sits in a batch fetched ahead while the consumer is still busy with earlier ones.
      const dl = loader('throw', 13);
      let seen = 0;
      await assert.rejects(async () => {
        for await (const _ of dl) {
          seen++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }, /DataLoader worker [01]: .*FaultyDataset: sample 13 is unreadable/s);
      assert.equal(seen, 3, 'batches before the faulty one are delivered');
      assert.equal(poolOf(dl), null, 'the failed epoch released its workers');
    }
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
});

test('issue 13.4: break and return() release the workers; the next epoch starts fresh ones', async () => {
  const dl = loader('none', -1);
  const base = threads();
  for await (const _ of dl) break;
  assert.equal(poolOf(dl), null);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(threads() <= base + 1, `threads ${base} → ${threads()}`);
  const it = dl[Symbol.asyncIterator]();
  await it.next();
  assert.notEqual(poolOf(dl), null);
  await it.return!(undefined);
  assert.equal(poolOf(dl), null);
  assert.equal(await consume(dl), 6);
  assert.notEqual(poolOf(dl), null, 'a completed epoch keeps persistent workers');
  await dl.close();
});

test('issue 13.4: a loader that becomes garbage releases its worker threads (FinalizationRegistry)', () => {
  // Run in a child with --expose-gc, counting the process's threads before, while held and after collection.
  const src = `
    import * as tt from './src/index.ts';
    import { makeFaulty } from './test/fixtures/faulty-dataset.ts';
    import { readdirSync } from 'node:fs';
    const threads = () => readdirSync('/proc/self/task').length;
    const before = threads();
    async function use() {
      const dl = new tt.data.DataLoader(makeFaulty(24, 'none', -1), { batchSize: 4, numWorkers: 2,
        workerDataset: { module: ${JSON.stringify(MODULE)}, export: 'makeFaulty', args: [24, 'none', -1] } });
      for await (const _ of dl) {}
      return threads();
    }
    const during = await use();
    for (let i = 0; i < 20 && threads() > before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); }
    console.log(JSON.stringify({ before, during, after: threads() }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', src], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const { before, during, after } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.ok(during >= before + 2, `workers started: ${before} → ${during}`);
  assert.ok(after <= before, `threads after the loader was collected: ${after} (before ${before}, during ${during})`);
});

test('issue 13.4: the timeout option ends a wait on a stuck worker, and the loader then works again', async () => {
  const once = join(mkdtempSync(join(tmpdir(), 'tatami-dl-')), 'hung');
  const dl = loader('hang', 9, { timeout: 1.5, onceFile: once });
  const t0 = performance.now();
  await assert.rejects(
    () => consume(dl),
    /DataLoader: timed out after 1\.5 s waiting for batch 2 from worker 0 \(timeout option\); workers stopped/,
  );
  assert.ok(performance.now() - t0 < 10_000);
  assert.equal(poolOf(dl), null);
  assert.equal(await consume(dl), 6, 'fresh workers serve the next epoch');
  await dl.close();
  assert.throws(
    () => new data.DataLoader(makeFaulty(4, 'none', -1), { timeout: -1 }),
    /DataLoader: timeout must be a non-negative number of seconds, got -1/,
  );
});

test('issue 13.4: after a worker dies the error names it, and the next epoch recovers', async () => {
  const once = join(mkdtempSync(join(tmpdir(), 'tatami-dl-')), 'died');
  const dl = loader('exit', 5, { onceFile: once });
  await assert.rejects(() => consume(dl), /DataLoader worker 0 exited unexpectedly \(code 7\)/);
  assert.equal(await consume(dl), 6);
  assert.equal(await consume(dl), 6);
  await dl.close();
});
