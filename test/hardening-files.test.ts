/**
 * Regression tests for issue 13, items 5–7: checkpoints and RNG state validated on load, safetensors keys that are
 * not ordinary JavaScript (`__proto__`), zero-size tensors, byte-order marks, and crash-consistent writes (stale
 * temp files, history after the checkpoint, errors naming the file).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tt from '../src/index.ts';
import { readCheckpoint, saveCheckpoint, loadCheckpoint } from '../src/train/checkpoint.ts';
import { writeFileAtomic, writeFileAtomicSync } from '../src/io/atomic.ts';
import { fit } from '../src/train/fit.ts';

const dir = mkdtempSync(join(tmpdir(), 'tatami-hardening-files-'));

/** safetensors bytes from a header object and a data section. */
function st(header: unknown, data: Uint8Array = new Uint8Array(0), raw?: Uint8Array): Uint8Array {
  const h = raw ?? new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Rewrites the tatami.checkpoint metadata of a checkpoint file through `edit`. */
function withMeta(src: string, dst: string, edit: (meta: Record<string, unknown>) => void): string {
  const { tensors, metadata } = tt.parseSafetensors(readFileSync(src));
  const meta = JSON.parse(metadata['tatami.checkpoint']);
  edit(meta);
  writeFileSync(dst, tt.serializeSafetensors(tensors, { 'tatami.checkpoint': JSON.stringify(meta) }));
  return dst;
}

function smallSetup() {
  tt.manualSeed(0);
  const model = new tt.nn.Sequential(new tt.nn.Linear(4, 3), new tt.nn.ReLU(), new tt.nn.Linear(3, 2));
  const optimizer = new tt.optim.Adam(model.parameters(), { lr: 1e-2 });
  const loss = model.forward(tt.randn([5, 4])).sum();
  loss.backward();
  optimizer.step();
  return { model, optimizer };
}

test('issue 13.5: an all-zero rngState is refused on load instead of making randn spin forever', async () => {
  const { model, optimizer } = smallSetup();
  const good = join(dir, 'good.safetensors');
  await saveCheckpoint(good, { epoch: 1, model, optimizer });
  const zero = withMeta(good, join(dir, 'zero-rng.safetensors'), (m) => {
    m.rngState = [0, 0, 0, 0, null, 0];
  });
  await assert.rejects(
    () => loadCheckpoint(zero, { model, optimizer }),
    /checkpoint: .*zero-rng\.safetensors: invalid rngState: Generator\.setState: the four state words are all zero/,
  );
  // The default generator was left untouched, so randn still returns promptly.
  assert.equal(tt.randn([1000]).numel(), 1000);
  assert.throws(() => new tt.Generator().setState([0, 0, 0, 0, NaN, 0]), /all zero/);
  assert.throws(
    () => new tt.Generator().setState([1.5, 0, 0, 0, NaN, 0]),
    /state word 0 must be a 32-bit integer, got 1\.5/,
  );
  assert.throws(() => new tt.Generator().setState([1, 2, 3, 2 ** 32, NaN, 0]), /state word 3/);
  assert.throws(
    () => new tt.Generator().setState([1, 2, 3, 4, Infinity, 0]),
    /spare normal must be a finite number or NaN/,
  );
  assert.throws(
    () => new tt.Generator().setState('abc' as unknown as number[]),
    /expected an array of 6 numbers, got string/,
  );
  // The Box–Muller retry is bounded even if a state were corrupted behind setState's back.
  const g = new tt.Generator(1);
  (g as unknown as { s0: number; s1: number; s2: number; s3: number }).s0 = 0;
  Object.assign(g, { s1: 0, s2: 0, s3: 0 });
  assert.throws(
    () => g.normal(),
    /Generator\.normal: the generator returned 0 64 times in a row; its state is corrupt/,
  );
});

test('issue 13.5: malformed checkpoint metadata fails naming the file and the field', async () => {
  const { model, optimizer } = smallSetup();
  const good = join(dir, 'good2.safetensors');
  await saveCheckpoint(good, { epoch: 2, model, optimizer, extra: { history: [{ epoch: 1 }, { epoch: 2 }] } });
  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    [
      'epoch-abc',
      (m) => {
        m.epoch = 'abc';
      },
      /epoch must be a non-negative integer, got "abc"/,
    ],
    [
      'epoch-neg',
      (m) => {
        m.epoch = -1;
      },
      /epoch must be a non-negative integer, got -1/,
    ],
    [
      'epoch-frac',
      (m) => {
        m.epoch = 1.5;
      },
      /epoch must be a non-negative integer, got 1\.5/,
    ],
    [
      'rng-missing',
      (m) => {
        delete m.rngState;
      },
      /rngState must be an array of 6 numbers, got undefined/,
    ],
    [
      'rng-short',
      (m) => {
        m.rngState = [1, 2];
      },
      /invalid rngState: Generator\.setState: expected 6 numbers, got 2/,
    ],
    [
      'rng-string',
      (m) => {
        m.rngState = ['a', 1, 1, 1, null, 0];
      },
      /state word 0 must be a 32-bit integer/,
    ],
    [
      'format',
      (m) => {
        m.format = 7;
      },
      /unknown checkpoint format 7 \(expected 1\)/,
    ],
    [
      'optimizer-5',
      (m) => {
        m.optimizer = 5;
      },
      /optimizer state must be an object or null, got 5/,
    ],
    [
      'extra-array',
      (m) => {
        m.extra = [1];
      },
      /extra must be an object, got \[1\]/,
    ],
    [
      'missing-tensor',
      (m) => {
        (m.optimizer as { state: Record<string, Record<string, unknown>> }).state['0'].exp_avg = {
          __tensor__: 'optimizer.nope',
        };
      },
      /tensor 'optimizer\.nope' referenced by the state is missing from the file/,
    ],
  ];
  for (const [name, edit, re] of cases) {
    const p = withMeta(good, join(dir, `${name}.safetensors`), edit);
    await assert.rejects(
      () => readCheckpoint(p),
      (e: Error) => {
        assert.ok(e.message.startsWith(`checkpoint: ${p}: `) && re.test(e.message), `${name}: ${e.message}`);
        return true;
      },
    );
  }
  // Metadata that is not JSON at all.
  const { tensors } = tt.parseSafetensors(readFileSync(good));
  const notJson = join(dir, 'not-json.safetensors');
  writeFileSync(notJson, tt.serializeSafetensors(tensors, { 'tatami.checkpoint': '{"epoch": 1,' }));
  await assert.rejects(
    () => readCheckpoint(notJson),
    /checkpoint: .*not-json\.safetensors: the tatami\.checkpoint metadata is not valid JSON/,
  );
});

test('issue 13.5: NaN, string or absurd optimizer state is refused before it can poison the parameters', async () => {
  const { model, optimizer } = smallSetup();
  const good = join(dir, 'opt.safetensors');
  await saveCheckpoint(good, { epoch: 1, model, optimizer });
  const w0 = model.parameters()[0].tolist();
  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    [
      'lr-string',
      (m) => {
        (m.optimizer as { paramGroups: Record<string, unknown>[] }).paramGroups[0].lr = 'fast';
      },
      /group 0 option 'lr' must be a number like the optimizer's, got "fast"/,
    ],
    [
      'lr-nan',
      (m) => {
        (m.optimizer as { paramGroups: Record<string, unknown>[] }).paramGroups[0].lr = { __number__: 'NaN' };
      },
      /group 0 option 'lr' must be finite, got NaN/,
    ],
    [
      'betas-bad',
      (m) => {
        (m.optimizer as { paramGroups: Record<string, unknown>[] }).paramGroups[0].betas = [0.9, 'x'];
      },
      /option 'betas' must hold finite numbers/,
    ],
    [
      'step-inf',
      (m) => {
        (m.optimizer as { state: Record<string, Record<string, unknown>> }).state['0'].step = {
          __number__: 'Infinity',
        };
      },
      /state 'step' of parameter 0 must be finite, got Infinity/,
    ],
    [
      'state-string',
      (m) => {
        (m.optimizer as { state: Record<string, Record<string, unknown>> }).state['0'].step = 'one';
      },
      /state 'step' of parameter 0 must be a number or a Tensor, got "one"/,
    ],
  ];
  for (const [name, edit, re] of cases) {
    const p = withMeta(good, join(dir, `${name}.safetensors`), edit);
    await assert.rejects(
      () => loadCheckpoint(p, { model, optimizer }),
      (e: Error) => {
        assert.ok(
          e.message.includes(p) && /cannot load the optimizer state/.test(e.message) && re.test(e.message),
          `${name}: ${e.message}`,
        );
        return true;
      },
    );
  }
  // NaN inside an optimizer state tensor.
  const { tensors, metadata } = tt.parseSafetensors(readFileSync(good));
  const key = Object.keys(tensors).find((k) => k.startsWith('optimizer.') && k.endsWith('exp_avg'))!;
  tensors[key].storage[1] = NaN;
  const nanPath = join(dir, 'nan-state.safetensors');
  writeFileSync(nanPath, tt.serializeSafetensors(tensors, metadata));
  await assert.rejects(
    () => loadCheckpoint(nanPath, { model, optimizer }),
    /state 'exp_avg' of parameter \d+ holds NaN at element 1; optimizer state must be finite/,
  );
  assert.deepEqual(model.parameters()[0].tolist(), w0);
  await loadCheckpoint(good, { model, optimizer });
});

test('issue 13.5: fit validates the resumed history before training an epoch', async () => {
  const { model, optimizer } = smallSetup();
  const out = mkdtempSync(join(dir, 'run-'));
  await saveCheckpoint(join(out, 'last.safetensors'), {
    epoch: 1,
    model,
    optimizer,
    extra: { history: 5, best: 0.5, sinceBest: 0 },
  });
  const x = tt.randn([8, 4]);
  const y = tt.tensor(Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), [8], { dtype: 'int32' });
  const loader = new tt.data.DataLoader(new tt.data.TensorDataset(x, y), { batchSize: 4 });
  let batches = 0;
  const counting = {
    [Symbol.iterator]: () => {
      batches++;
      return loader[Symbol.iterator]();
    },
    get length() {
      return loader.length;
    },
  };
  await assert.rejects(
    () =>
      fit(model, counting as never, {
        epochs: 3,
        optimizer,
        outDir: out,
        resume: true,
        progress: false,
        log: () => undefined,
      }),
    /fit: resume: .*last\.safetensors: extra\.history must be an array of epoch records, got 5/,
  );
  assert.equal(batches, 0, 'no epoch was trained on a bad checkpoint');
});

test('issue 13.6: a tensor named __proto__ is an ordinary key, not the prototype', () => {
  const f32 = new Uint8Array(new Float32Array([1, 2]).buffer);
  const bytes = st(
    { __proto__: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, __metadata__: { __proto__: 'meta' } } as unknown,
    f32,
    new TextEncoder().encode(
      '{"__proto__":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"__proto__":"meta"}}',
    ),
  );
  const { tensors, metadata } = tt.parseSafetensors(bytes, 'proto.safetensors');
  assert.equal(Object.getPrototypeOf(tensors), Object.prototype);
  assert.equal((tensors as unknown) instanceof tt.Tensor, false);
  assert.deepEqual(Object.keys(tensors), ['__proto__']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.tolist(), [1, 2]);
  assert.equal(Object.getOwnPropertyDescriptor(metadata, '__proto__')!.value, 'meta');
  // loadStateDict then reports it as an unexpected key.
  const m = new tt.nn.Linear(1, 2, { bias: false } as never);
  assert.throws(() => m.loadStateDict(tensors), /__proto__/);
  // A dtype named after an Object.prototype member is not a dtype.
  assert.throws(
    () => tt.parseSafetensors(st({ a: { dtype: 'constructor', shape: [0], data_offsets: [0, 0] } }), 'x'),
    /unsupported dtype constructor/,
  );
});

test('issue 13.6: a zero-size tensor at [0, 0] beside one starting at 0 is valid; a BOM is not', () => {
  const f32 = new Uint8Array(new Float32Array([1, 2]).buffer);
  for (const header of [
    {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      empty: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] },
    },
    {
      empty: { dtype: 'F32', shape: [0], data_offsets: [0, 0] },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    },
    { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, end: { dtype: 'U8', shape: [0], data_offsets: [8, 8] } },
  ]) {
    const { tensors } = tt.parseSafetensors(st(header, f32), 'zero');
    assert.deepEqual(tensors.a.tolist(), [1, 2]);
  }
  const json = new TextEncoder().encode('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...json]);
  assert.throws(
    () => tt.parseSafetensors(st(null, f32, bom), 'bom.safetensors'),
    /safetensors: bom\.safetensors: header starts with a UTF-8 byte-order mark/,
  );
  // A real overlap is still refused.
  assert.throws(
    () =>
      tt.parseSafetensors(
        st(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          f32,
        ),
        'o',
      ),
    /overlaps/,
  );
});

test('issue 13.7: writes clean stale temp files of dead processes, keep live ones, and name the file on failure', async () => {
  const target = join(dir, 'model.safetensors');
  // A pid that is certainly not running: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  const stale = `${target}.tmp-${dead}-1700000000000`;
  const live = `${target}.tmp-${process.ppid}-1700000000000`; // the parent is alive
  const unrelated = `${target}.tmp-notes`;
  for (const p of [stale, live, unrelated]) writeFileSync(p, 'x');
  await tt.saveSafetensors(target, { w: tt.ones([2]) });
  assert.equal(existsSync(stale), false, 'orphan of a dead process removed');
  assert.equal(existsSync(live), true, 'a temp file of a running process is left alone');
  assert.equal(existsSync(unrelated), true);
  writeFileSync(stale, 'x');
  writeFileAtomicSync(target, 'sync');
  assert.equal(existsSync(stale), false);
  assert.equal(readFileSync(target, 'utf8'), 'sync');
  assert.ok(
    !readdirSync(dir).some((n) => n.startsWith('model.safetensors.tmp-') && n.includes(`-${process.pid}-`)),
    'no temp file of ours left',
  );
  // Failures name the target (a missing directory stands in for a full disk, which tests cannot provoke safely).
  const missing = join(dir, 'no-such-dir', 'x.safetensors');
  await assert.rejects(
    () => writeFileAtomic(missing, 'data'),
    (e: Error) => e.message.startsWith(`cannot write ${missing}: `),
  );
  assert.throws(
    () => writeFileAtomicSync(missing, 'data'),
    (e: Error) => e.message.startsWith(`cannot write ${missing}: `),
  );
});

test('issue 13.7: history.jsonl is rewritten from the checkpoint on resume, so a kill cannot duplicate an epoch', async () => {
  const out = mkdtempSync(join(dir, 'hist-'));
  const x = tt.randn([8, 4], { generator: new tt.Generator(1) });
  const y = tt.tensor(Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), [8], { dtype: 'int32' });
  const loader = new tt.data.DataLoader(new tt.data.TensorDataset(x, y), {
    batchSize: 4,
    generator: new tt.Generator(2),
  });
  const run = async (epochs: number) => {
    tt.manualSeed(3);
    const model = new tt.nn.Linear(4, 2);
    const optimizer = new tt.optim.SGD(model.parameters(), { lr: 0.1 });
    return fit(model, loader, { epochs, optimizer, outDir: out, resume: true, progress: false, log: () => undefined });
  };
  await run(2);
  const lines = () =>
    readFileSync(join(out, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).epoch);
  assert.deepEqual(lines(), [1, 2]);
  // Simulate the old failure: the history line of epoch 2 written twice (appended, then killed before the rename).
  writeFileSync(
    join(out, 'history.jsonl'),
    readFileSync(join(out, 'history.jsonl'), 'utf8') +
      readFileSync(join(out, 'history.jsonl'), 'utf8').split('\n')[1] +
      '\n',
  );
  assert.deepEqual(lines(), [1, 2, 2]);
  await run(3);
  assert.deepEqual(lines(), [1, 2, 3]);
});
