import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tt from '../src/index.ts';

const { data } = tt;
const T = data.transforms;

const tempDirs: string[] = [];
after(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tmp(prefix = 'tatami-data-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Writes a tiny MNIST-format split (n images of h×w, labels i % 10) into dir; returns the pixel bytes. */
function writeTinyMnist(
  dir: string,
  n: number,
  opts: { gz?: boolean; prefix?: string; h?: number; w?: number; labels?: number[] } = {},
): Uint8Array {
  const h = opts.h ?? 4,
    w = opts.w ?? 5;
  const px = new Uint8Array(n * h * w);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 256;
  const labels = opts.labels ?? Array.from({ length: n }, (_, i) => i % 10);
  const ext = opts.gz === false ? '' : '.gz';
  const prefix = opts.prefix ?? 'train';
  data.writeIdx(join(dir, `${prefix}-images-idx3-ubyte${ext}`), px, [n, h, w]);
  data.writeIdx(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), labels, [n]);
  return px;
}

// ---------------------------------------------------------------------------------------------------------------
// IDX / MNIST

test('IDX: round trip of every element type, gzip and raw', () => {
  const dir = tmp();
  const cases: [tt.data.IdxType, number[]][] = [
    ['uint8', [0, 1, 255, 7, 8, 9]],
    ['int8', [-128, 127, 0, -1, 5, 6]],
    ['int16', [-30000, 30000, 1, 2, 3, 4]],
    ['int32', [-2e9, 2e9, 0, 1, -1, 42]],
    ['float32', [0.5, -1.25, 3, 1e6, 0, 2]],
    ['float64', [Math.PI, -Math.E, 1e-300, 0, 1, 2]],
  ];
  for (const [type, values] of cases) {
    for (const ext of ['', '.gz']) {
      const p = join(dir, `x-${type}${ext}`);
      data.writeIdx(p, values, [2, 3], type);
      const r = data.readIdx(p);
      assert.equal(r.type, type);
      assert.deepEqual(r.dims, [2, 3]);
      assert.deepEqual(Array.from(r.data), values, `${type}${ext}`);
    }
  }
  // gzip is detected from the bytes, not the name.
  const p = join(dir, 'disguised');
  writeFileSync(p, gzipSync(data.encodeIdx([1, 2, 3], [3])));
  assert.deepEqual(Array.from(data.readIdx(p).data), [1, 2, 3]);
});

test('MNIST reads IDX files written by the test (gzip and raw)', () => {
  for (const gz of [true, false]) {
    const dir = tmp();
    const px = writeTinyMnist(dir, 12, { gz });
    const ds = new data.MNIST({ root: dir });
    assert.equal(ds.length, 12);
    assert.deepEqual(ds.imageSize, [4, 5]);
    const [x, y] = ds.get(3);
    assert.deepEqual(x.shape, [1, 4, 5]);
    assert.equal(x.dtype, 'float32');
    assert.equal(y, 3);
    const xs = x.dataView();
    for (let k = 0; k < 20; k++) assert.ok(Math.abs(xs[k] - px[3 * 20 + k] / 255) < 1e-7);
    assert.deepEqual(ds.data.shape, [12, 4, 5]);
    assert.deepEqual(ds.targets.tolist().slice(0, 4), [0, 1, 2, 3]);
    assert.equal(ds.get(-1)[1], 11 % 10);
    assert.throws(() => ds.get(12), /MNIST: index 12 is out of range for a dataset of 12 samples/);
  }
});

test('MNIST applies transform and targetTransform; test split reads t10k files', () => {
  const dir = tmp();
  writeTinyMnist(dir, 5, { prefix: 't10k' });
  const ds = new data.MNIST({ root: dir, train: false, transform: (x) => x.mul(2), targetTransform: (y) => y + 100 });
  const [x, y] = ds.get(1);
  assert.equal(y, 101);
  assert.ok(
    Math.abs(x.max().item() - (2 * Math.max(...Array.from({ length: 20 }, (_, k) => ((20 + k) * 37) % 256))) / 255) <
      1e-6,
  );
});

test('IDX: corrupt and truncated files give errors naming the file and the problem', () => {
  const dir = tmp();
  // Header claims 10×28×28, only 1234 data bytes follow.
  const full = data.encodeIdx(new Uint8Array(10 * 28 * 28), [10, 28, 28]);
  const p = join(dir, 't10k-images-idx3-ubyte.gz');
  writeFileSync(p, gzipSync(full.subarray(0, 16 + 1234)));
  assert.throws(
    () => data.readIdx(p),
    (e: Error) =>
      e.message.includes('t10k-images-idx3-ubyte.gz: truncated: header says 10×28×28 = 7840 bytes, file has 1234'),
  );
  // Truncated gzip stream.
  const q = join(dir, 'cut.gz');
  const gz = gzipSync(full);
  writeFileSync(q, gz.subarray(0, gz.length >> 1));
  assert.throws(() => data.readIdx(q), /cut\.gz: corrupt or truncated gzip data/);
  // Bad magic number.
  const r = join(dir, 'bad-magic');
  writeFileSync(r, Buffer.from([1, 2, 8, 1, 0, 0, 0, 1, 5]));
  assert.throws(() => data.readIdx(r), /bad-magic: not an IDX file: magic number starts with 0x0102/);
  // Unknown type code.
  writeFileSync(r, Buffer.from([0, 0, 0x42, 1, 0, 0, 0, 1, 5]));
  assert.throws(() => data.readIdx(r), /bad-magic: not an IDX file: unknown type code 0x42/);
  // Header itself truncated.
  writeFileSync(r, Buffer.from([0, 0, 8, 3, 0, 0]));
  assert.throws(
    () => data.readIdx(r),
    /bad-magic: truncated: header declares 3 dimensions \(16 header bytes\), file has 6 bytes/,
  );
  // Extra bytes.
  writeFileSync(r, Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 5, 6]));
  assert.throws(() => data.readIdx(r), /bad-magic: corrupt: .* 1 extra bytes/);
  // Missing file.
  assert.throws(() => data.readIdx(join(dir, 'nope.gz')), /nope\.gz: file not found/);
});

test('MNIST: label out of range, count mismatch and wrong ranks are reported clearly', () => {
  const dir = tmp();
  writeTinyMnist(dir, 6, { labels: [0, 1, 2, 3, 4, 12] });
  assert.throws(
    () => new data.MNIST({ root: dir }),
    /train-labels-idx1-ubyte\.gz: label 12 at index 5 is outside the 10 classes \[0, 9\]/,
  );
  const dir2 = tmp();
  writeTinyMnist(dir2, 6);
  data.writeIdx(join(dir2, 'train-labels-idx1-ubyte.gz'), [1, 2, 3], [3]);
  assert.throws(
    () => new data.MNIST({ root: dir2 }),
    /train-images-idx3-ubyte\.gz has 6 images but .*train-labels-idx1-ubyte\.gz has 3 labels/,
  );
  data.writeIdx(join(dir2, 'train-images-idx3-ubyte.gz'), [1, 2, 3], [3]);
  assert.throws(
    () => new data.MNIST({ root: dir2 }),
    /train-images-idx3-ubyte\.gz: expected uint8 images of shape N×H×W/,
  );
});

test('a missing dataset says where it looked and what to do', () => {
  const dir = tmp();
  assert.throws(
    () => new data.FashionMNIST({ root: dir }),
    (e: Error) => {
      assert.match(e.message, /fashion-mnist: dataset files not found/);
      assert.ok(e.message.includes(dir), 'names the directory searched');
      assert.match(e.message, /train-images-idx3-ubyte\[\.gz\]/);
      assert.match(e.message, /subset: 'embedded'/);
      return true;
    },
  );
  // A directory with only some of the files is called out.
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), '');
  assert.throws(() => new data.FashionMNIST({ root: dir }), /is missing train-labels-idx1-ubyte/);
});

test('locate: search order is explicit root, then system directory, then cache; torchvision layout accepted', () => {
  const cache = tmp();
  const prev = process.env.TATAMI_CACHE;
  const prevData = process.env.TATAMI_DATA;
  process.env.TATAMI_CACHE = cache;
  delete process.env.TATAMI_DATA;
  try {
    assert.deepEqual(data.candidateDirs('fashion-mnist'), [
      '/usr/share/datasets/fashion-mnist',
      join(cache, 'datasets', 'fashion-mnist'),
    ]);
    assert.deepEqual(data.candidateDirs('fashion-mnist', '/r', 'FashionMNIST'), [
      '/r',
      '/r/fashion-mnist',
      '/r/FashionMNIST/raw',
    ]);
    const root = tmp();
    mkdirSync(join(root, 'MNIST', 'raw'), { recursive: true });
    writeTinyMnist(join(root, 'MNIST', 'raw'), 3, { gz: false });
    assert.equal(new data.MNIST({ root }).length, 3);
    // The cache directory is used when nothing else has the files.
    const cached = join(cache, 'datasets', 'mnist');
    mkdirSync(cached, { recursive: true });
    writeTinyMnist(cached, 4);
    assert.equal(new data.MNIST().length, 4);
  } finally {
    if (prev === undefined) delete process.env.TATAMI_CACHE;
    else process.env.TATAMI_CACHE = prev;
    if (prevData !== undefined) process.env.TATAMI_DATA = prevData;
  }
});

test('download verifies SHA-256, writes atomically, and explains a failure', async () => {
  const dir = tmp();
  const good = new Uint8Array([1, 2, 3, 4]);
  const { createHash } = await import('node:crypto');
  const source: tt.data.DatasetSource = {
    name: 'toy',
    mirrors: ['http://mirror-a/', 'http://mirror-b/'],
    files: [{ name: 'a.bin', sha256: createHash('sha256').update(good).digest('hex') }],
  };
  const calls: string[] = [];
  const fetchImpl = (async (url: string) => {
    calls.push(url);
    if (url.startsWith('http://mirror-a/')) return new Response('corrupted bytes', { status: 200 });
    return new Response(good, { status: 200 });
  }) as unknown as typeof fetch;
  await data.downloadDataset(source, dir, { fetchImpl });
  assert.deepEqual(
    calls,
    ['http://mirror-a/a.bin', 'http://mirror-b/a.bin'],
    'bad checksum from mirror a falls through to mirror b',
  );
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'a.bin'))), good);
  const failing = (async () =>
    new Response('nope', { status: 404, statusText: 'Not Found' })) as unknown as typeof fetch;
  const dir2 = tmp();
  await assert.rejects(data.downloadDataset(source, dir2, { fetchImpl: failing }), (e: Error) => {
    assert.match(e.message, /toy: could not download a\.bin/);
    assert.match(e.message, /HTTP 404/);
    assert.ok(e.message.includes(dir2), 'says where to put the file');
    return true;
  });
  assert.ok(!existsSync(join(dir2, 'a.bin')), 'no partial file left behind');
});

test('embedded Fashion-MNIST subset: 6,000 + 1,000 real images, class-balanced', () => {
  const train = new data.FashionMNIST({ subset: 'embedded' });
  const testSet = new data.FashionMNIST({ subset: 'embedded', train: false });
  assert.equal(train.length, 6000);
  assert.equal(testSet.length, 1000);
  const counts = new Array(10).fill(0);
  for (const y of train.targets.tolist()) counts[y]++;
  assert.deepEqual(counts, new Array(10).fill(600));
  const [x, y] = testSet.get(0);
  assert.deepEqual(x.shape, [1, 28, 28]);
  assert.ok(x.min().item() >= 0 && x.max().item() <= 1 && x.max().item() > 0.5);
  assert.equal(typeof y, 'number');
  assert.equal(train.classes[9], 'Ankle boot');
  // The recorded indices point at the same pixels in the full dataset (checked on a few images when available).
  const full = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
  if (existsSync(full)) {
    const idx = readFileSync(new URL('../data/fashion-mnist/indices-t10k.txt', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map(Number);
    const all = data.readIdx(full).data;
    for (const k of [0, 500, 999]) {
      const a = all.subarray(idx[k] * 784, idx[k] * 784 + 784);
      assert.deepEqual(Array.from(testSet.data.storage.subarray(k * 784, k * 784 + 784)), Array.from(a));
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// CIFAR-10

function cifarRecords(labels: number[]): Uint8Array {
  const rec = 3073;
  const out = new Uint8Array(labels.length * rec);
  labels.forEach((l, i) => {
    out[i * rec] = l;
    for (let k = 0; k < 3072; k++) out[i * rec + 1 + k] = (k + 7 * i) % 256;
  });
  return out;
}

test('CIFAR10 reads binary batches written by the test', () => {
  const dir = tmp();
  const sub = join(dir, 'cifar-10-batches-bin');
  mkdirSync(sub);
  writeFileSync(join(sub, 'test_batch.bin'), cifarRecords([3, 9, 0]));
  const ds = new data.CIFAR10({ root: dir, train: false, checkIntegrity: false });
  assert.equal(ds.length, 3);
  const [x, y] = ds.get(1);
  assert.equal(y, 9);
  assert.deepEqual(x.shape, [3, 32, 32]);
  // Record layout: red plane, green plane, blue plane, rows top to bottom.
  assert.ok(Math.abs(x.dataView()[1024 + 32 + 2] - ((1024 + 32 + 2 + 7) % 256) / 255) < 1e-7);
  assert.deepEqual(ds.targets.tolist(), [3, 9, 0]);
  for (let k = 1; k <= 5; k++) writeFileSync(join(sub, `data_batch_${k}.bin`), cifarRecords([k, k]));
  const train = new data.CIFAR10({ root: sub, checkIntegrity: false });
  assert.equal(train.length, 10);
  assert.deepEqual(train.targets.tolist(), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
});

test('CIFAR10: truncated files, bad labels and missing files are reported with the file name', () => {
  const dir = tmp();
  const bytes = cifarRecords([1, 2]);
  writeFileSync(join(dir, 'test_batch.bin'), bytes.subarray(0, 3073 + 100));
  assert.throws(
    () => new data.CIFAR10({ root: dir, train: false }),
    /test_batch\.bin: truncated or corrupt: 3173 bytes is not a whole number of 3073-byte records .*1 complete records and 100 extra bytes/,
  );
  writeFileSync(join(dir, 'test_batch.bin'), cifarRecords([1, 42]));
  assert.throws(
    () => new data.CIFAR10({ root: dir, train: false }),
    /test_batch\.bin: record 1 has label 42, outside the 10 classes/,
  );
  assert.throws(
    () => new data.CIFAR10({ root: dir, train: true }),
    /cifar-10-batches-bin: dataset files not found.*data_batch_1\.bin/s,
  );
});

// ---------------------------------------------------------------------------------------------------------------
// ImageFolder

test('ImageFolder: sorted classes, recursive files, PNG and JPEG, extension filter', () => {
  const root = tmp();
  const mk = (p: string, v: number) => tt.writeImage(join(root, p), tt.full([3, 6, 8], v, { dtype: 'uint8' }));
  mkdirSync(join(root, 'dog', 'sub'), { recursive: true });
  mkdirSync(join(root, 'cat'));
  mk('dog/b.png', 200);
  mk('dog/sub/a.jpg', 100);
  mk('cat/z.png', 10);
  mk('cat/a.PNG', 20);
  writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
  const ds = new data.ImageFolder(root);
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.deepEqual(ds.classToIdx, { cat: 0, dog: 1 });
  assert.equal(ds.length, 4);
  assert.deepEqual(
    ds.samples.map(([p, c]) => [p.slice(root.length + 1), c]),
    [
      ['cat/a.PNG', 0],
      ['cat/z.png', 0],
      ['dog/b.png', 1],
      ['dog/sub/a.jpg', 1],
    ],
  );
  const [x, y] = ds.get(0);
  assert.deepEqual(x.shape, [3, 6, 8]);
  assert.equal(y, 0);
  assert.ok(Math.abs(x.mean().item() - 20 / 255) < 1e-6);
  const [j] = ds.get(3);
  assert.ok(Math.abs(j.mean().item() - 100 / 255) < 3 / 255, 'JPEG decodes close to the written value');
  const gray = new data.ImageFolder(root, { mode: 'gray', extensions: ['png'] });
  assert.equal(gray.length, 3);
  assert.deepEqual(gray.get(0)[0].shape, [1, 6, 8]);
  mkdirSync(join(root, 'empty'));
  assert.throws(
    () => new data.ImageFolder(root),
    /found no valid file for the classes empty\. Supported extensions are: \.png, \.jpg, \.jpeg/,
  );
  assert.throws(() => new data.ImageFolder(join(root, 'missing')), /missing: directory not found/);
});

// ---------------------------------------------------------------------------------------------------------------
// Datasets, splits

test('TensorDataset, Subset, ConcatDataset', () => {
  const x = tt.arange(0, 12).reshape(6, 2);
  const y = tt.arange(0, 6);
  const ds = new data.TensorDataset(x, y);
  assert.equal(ds.length, 6);
  const [xi, yi] = ds.get(4);
  assert.deepEqual(xi.tolist(), [8, 9]);
  assert.equal(yi.item(), 4);
  assert.throws(
    () => new data.TensorDataset(x, tt.arange(0, 5)),
    /size mismatch between tensors: tensor 0 has shape \[6, 2\] but tensor 1 has \[5\]/,
  );
  const sub = new data.Subset(ds, [5, 0, 3]);
  assert.deepEqual(
    [...sub].map(([, t]) => t.item()),
    [5, 0, 3],
  );
  assert.throws(
    () => new data.Subset(ds, [6]),
    /Subset: index 6 \(position 0\) is out of range for a dataset of 6 samples/,
  );
  const cat = new data.ConcatDataset([sub, ds]);
  assert.equal(cat.length, 9);
  assert.deepEqual(
    Array.from({ length: 9 }, (_, i) => cat.get(i)[1].item()),
    [5, 0, 3, 0, 1, 2, 3, 4, 5],
  );
});

test('randomSplit: counts or fractions, disjoint, covering, seeded', () => {
  const ds = new data.TensorDataset(tt.arange(0, 10));
  const [a, b] = data.randomSplit(ds, [7, 3], { generator: new tt.Generator(1) });
  assert.equal(a.length, 7);
  assert.equal(b.length, 3);
  const all = [...a.indices, ...b.indices].sort((p, q) => p - q);
  assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const [a2] = data.randomSplit(ds, [7, 3], { generator: new tt.Generator(1) });
  assert.deepEqual(Array.from(a2.indices), Array.from(a.indices));
  const parts = data.randomSplit(ds, [0.5, 0.25, 0.25], { generator: new tt.Generator(2) });
  assert.deepEqual(
    parts.map((p) => p.length),
    [6, 2, 2],
    'PyTorch deals the remainder round-robin',
  );
  assert.throws(
    () => data.randomSplit(ds, [5, 4]),
    /sum of input lengths \(9\) does not equal the length of the dataset \(10\)/,
  );
});

test('KFold and crossValidate', async () => {
  const folds = [...new data.KFold(3).split(10)];
  assert.deepEqual(
    folds.map((f) => Array.from(f.val)),
    [
      [0, 1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ],
  );
  for (const f of folds) {
    assert.equal(f.train.length + f.val.length, 10);
    assert.ok(Array.from(f.val).every((v) => !f.train.includes(v)));
  }
  const shuffled = [...new data.KFold(5, { shuffle: true, generator: new tt.Generator(3) }).split(20)];
  const vals = shuffled.flatMap((f) => Array.from(f.val)).sort((p, q) => p - q);
  assert.deepEqual(
    vals,
    Array.from({ length: 20 }, (_, i) => i),
    'every sample validates exactly once',
  );
  assert.throws(() => new data.KFold(1), /nSplits must be an integer ≥ 2/);
  const ds = new data.TensorDataset(tt.arange(0, 12));
  const seen: number[] = [];
  const res = await data.crossValidate(
    ds,
    4,
    async (train, val, fold) => {
      seen.push(fold);
      assert.equal(train.length + val.length, 12);
      return fold; // scores 0, 1, 2, 3
    },
    { generator: new tt.Generator(0) },
  );
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.deepEqual(res.scores, [0, 1, 2, 3]);
  assert.equal(res.mean, 1.5);
  assert.ok(Math.abs(res.std - Math.sqrt(5 / 3)) < 1e-12);
  assert.match(res.summary, /^1\.5000 ± 1\.2910 \(4 folds\)$/);
});

// ---------------------------------------------------------------------------------------------------------------
// DataLoader

test('DataLoader: batch shapes, length, dropLast, sync and async iteration', async () => {
  const ds = new data.TensorDataset(tt.arange(0, 20).reshape(10, 2).to('float32'), tt.arange(0, 10));
  const dl = new data.DataLoader(ds, { batchSize: 4 });
  assert.equal(dl.length, 3);
  const shapes = [...dl].map(([x, y]) => [x.shape, y.shape]);
  assert.deepEqual(shapes, [
    [[4, 2], [4]],
    [[4, 2], [4]],
    [[2, 2], [2]],
  ]);
  const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropped.length, 2);
  assert.equal([...dropped].length, 2);
  const asyncBatches: number[][] = [];
  for await (const [, y] of dl) asyncBatches.push(y.tolist());
  assert.deepEqual(asyncBatches, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
  assert.throws(() => new data.DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
});

test('DataLoader: shuffling is deterministic per seed and differs between epochs', () => {
  const ds = new data.TensorDataset(tt.arange(0, 32));
  const order = (dl: tt.data.DataLoader<tt.Tensor[]>) => [...dl].flatMap(([y]) => y.tolist());
  const a = new data.DataLoader(ds, { batchSize: 5, shuffle: true, generator: new tt.Generator(7) });
  const b = new data.DataLoader(ds, { batchSize: 5, shuffle: true, generator: new tt.Generator(7) });
  const a1 = order(a),
    a2 = order(a),
    b1 = order(b),
    b2 = order(b);
  assert.deepEqual(a1, b1, 'same seed, same first epoch');
  assert.deepEqual(a2, b2, 'same seed, same second epoch');
  assert.notDeepEqual(a1, a2, 'a new order each epoch');
  assert.deepEqual(
    [...a1].sort((p, q) => p - q),
    Array.from({ length: 32 }, (_, i) => i),
    'a permutation',
  );
  const c = new data.DataLoader(ds, { batchSize: 5, shuffle: true, generator: new tt.Generator(8) });
  assert.notDeepEqual(order(c), a1);
  assert.deepEqual(
    order(new data.DataLoader(ds, { batchSize: 5 })),
    Array.from({ length: 32 }, (_, i) => i),
  );
});

test('defaultCollate: tuples, objects, numbers and strings; clear errors', () => {
  const samples = [
    { img: tt.ones([2, 2]), label: 1, w: 0.5, name: 'a', pair: [tt.zeros([3]), 7] as [tt.Tensor, number], ok: true },
    { img: tt.zeros([2, 2]), label: 2, w: 1, name: 'b', pair: [tt.ones([3]), 8] as [tt.Tensor, number], ok: false },
  ];
  const b = data.defaultCollate(samples);
  assert.deepEqual(b.img.shape, [2, 2, 2]);
  assert.equal(b.label.dtype, 'int32');
  assert.deepEqual(b.label.tolist(), [1, 2]);
  assert.equal(b.w.dtype, 'float32');
  assert.deepEqual(b.name, ['a', 'b']);
  assert.deepEqual(b.pair[0].shape, [2, 3]);
  assert.deepEqual(b.pair[1].tolist(), [7, 8]);
  assert.equal(b.ok.dtype, 'bool');
  assert.throws(
    () => data.defaultCollate([tt.ones([2]), tt.ones([3])]),
    /sample 1 has shape \[3\] but sample 0 has \[2\]/,
  );
  assert.throws(
    () => data.defaultCollate([[tt.ones([2]), 1], [tt.ones([2])]]),
    /sample 0 is a tuple of 2 elements but sample 1 is a tuple of 1/,
  );
  // A custom collate is used as given.
  const dl = new data.DataLoader(new data.TensorDataset(tt.arange(0, 6)), { batchSize: 3, collate: (s) => s.length });
  assert.deepEqual([...dl], [3, 3]);
});

test('DataLoader: worker threads give identical batches to the main thread for a fixed seed', async () => {
  const transform = new T.Compose([
    new T.RandomCrop(28, { padding: 3 }),
    new T.RandomHorizontalFlip(),
    new T.RandomErasing({ p: 0.5 }),
  ]);
  const base = new data.FashionMNIST({ subset: 'embedded', train: false, transform });
  const ds = new data.Subset(
    base,
    Array.from({ length: 96 }, (_, i) => i * 3),
  );
  assert.ok(ds.workerSpec() !== null, 'built-in datasets with built-in transforms can be rebuilt in workers');
  const run = async (numWorkers: number) => {
    const dl = new data.DataLoader(ds, {
      batchSize: 16,
      shuffle: true,
      generator: new tt.Generator(11),
      numWorkers,
      prefetchFactor: 2,
    });
    const out: [number[], number[]][] = [];
    for (let epoch = 0; epoch < 2; epoch++)
      for await (const [x, y] of dl) out.push([Array.from(x.dataView()), y.tolist()]);
    await dl.close();
    return out;
  };
  const main = await run(0);
  const workers = await run(2);
  assert.equal(workers.length, 12);
  assert.deepEqual(workers, main);
  // The sync iterator agrees with both.
  const sync = new data.DataLoader(ds, { batchSize: 16, shuffle: true, generator: new tt.Generator(11) });
  const first = [...sync].map(([x, y]) => [Array.from(x.dataView()), y.tolist()]);
  assert.deepEqual(first, main.slice(0, 6));
  // Augmentation really changes the images, so the equality above is not vacuous.
  const plain = new data.FashionMNIST({ subset: 'embedded', train: false });
  let changed = 0;
  for (let k = 0; k < 10; k++)
    if (JSON.stringify(base.get(k)[0].tolist()) !== JSON.stringify(plain.get(k)[0].tolist())) changed++;
  assert.ok(changed >= 5, `augmentation changed ${changed}/10 images`);
});

test('DataLoader workers: a user module can build the dataset (workerDataset), with a custom collate', async () => {
  const dir = tmp();
  writeTinyMnist(dir, 10);
  const spec = {
    module: new URL('../src/data/idx.ts', import.meta.url).href,
    export: 'MNIST',
    args: [{ root: dir }],
    construct: true,
  };
  const ds = new data.MNIST({ root: dir, transform: (x) => x.mul(2) });
  // The in-thread dataset has a plain-function transform, so it has no spec; the user supplies one.
  assert.equal(ds.workerSpec(), null);
  const dl = new data.DataLoader(new data.MNIST({ root: dir }), {
    batchSize: 4,
    numWorkers: 1,
    workerDataset: spec,
    collate: (s) => s.map(([, y]) => y),
  });
  const got: number[][] = [];
  for await (const b of dl) got.push(b);
  await dl.close();
  assert.deepEqual(got, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
  // An error inside a worker reaches the consumer with the worker's message.
  const bad = new data.DataLoader(new data.MNIST({ root: dir }), {
    batchSize: 4,
    numWorkers: 1,
    workerDataset: { ...spec, args: [{ root: join(dir, 'missing') }] },
  });
  await assert.rejects(async () => {
    for await (const _ of bad) void _;
  }, /DataLoader worker 0.*dataset files not found/s);
  await bad.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Shapes

test('Shapes: deterministic per seed, masks agree with boxes and classes', () => {
  const a = new data.Shapes({
    n: 40,
    size: 32,
    seed: 5,
    objects: [1, 3],
    classes: ['circle', 'square', 'triangle', 'star'],
  });
  const b = new data.Shapes({
    n: 40,
    size: 32,
    seed: 5,
    objects: [1, 3],
    classes: ['circle', 'square', 'triangle', 'star'],
  });
  const c = new data.Shapes({
    n: 40,
    size: 32,
    seed: 6,
    objects: [1, 3],
    classes: ['circle', 'square', 'triangle', 'star'],
  });
  assert.deepEqual(a.get(7).image.tolist(), b.get(7).image.tolist());
  assert.deepEqual(a.get(7).mask.tolist(), a.get(7).mask.tolist(), 'order of access does not matter');
  assert.notDeepEqual(a.get(7).image.tolist(), c.get(7).image.tolist());
  const classCounts = new Array(4).fill(0);
  let multi = 0;
  for (let i = 0; i < a.length; i++) {
    const s = a.get(i);
    assert.deepEqual(s.image.shape, [3, 32, 32]);
    assert.equal(s.mask.dtype, 'int32');
    const k = s.boxes.shape[0];
    assert.ok(k >= 1 && k <= 3);
    if (k > 1) multi++;
    assert.equal(s.label, s.boxLabels.tolist()[0] - 1);
    classCounts[s.label]++;
    const m = s.mask.dataView();
    const boxes = s.boxes.dataView();
    const labels = s.boxLabels.dataView();
    // Each box is the tight bound of the pixels of its class inside it, and every labelled pixel is in a box of its class.
    for (let p = 0; p < m.length; p++) {
      if (m[p] === 0) continue;
      const x = p % 32,
        y = Math.floor(p / 32);
      let covered = false;
      for (let q = 0; q < k; q++) {
        if (
          labels[q] === m[p] &&
          x >= boxes[4 * q] &&
          x < boxes[4 * q + 2] &&
          y >= boxes[4 * q + 1] &&
          y < boxes[4 * q + 3]
        )
          covered = true;
      }
      assert.ok(covered, `sample ${i}: pixel (${x}, ${y}) of class ${m[p]} is in no box of that class`);
    }
    for (let q = 0; q < k; q++) {
      const [x1, y1, x2, y2] = [boxes[4 * q], boxes[4 * q + 1], boxes[4 * q + 2], boxes[4 * q + 3]];
      const hit = (xx: number, yy: number) => m[yy * 32 + xx] === labels[q];
      let top = false,
        bottom = false,
        left = false,
        right = false;
      for (let xx = x1; xx < x2; xx++) {
        top ||= hit(xx, y1);
        bottom ||= hit(xx, y2 - 1);
      }
      for (let yy = y1; yy < y2; yy++) {
        left ||= hit(x1, yy);
        right ||= hit(x2 - 1, yy);
      }
      assert.ok(top && bottom && left && right, `sample ${i}: box ${q} is not tight around its pixels`);
    }
  }
  assert.ok(multi > 5, 'several samples have more than one object');
  assert.ok(
    classCounts.every((n) => n > 3),
    `all classes occur: ${classCounts}`,
  );
  assert.throws(() => new data.Shapes({ classes: ['hexagon' as tt.data.ShapeKind] }), /unknown shape 'hexagon'/);
});

test('Shapes: noisy, not trivially separable by colour, collates for segmentation and detection', () => {
  const ds = new data.Shapes({ n: 60, size: 24, seed: 1 });
  // Mean colour of the shape pixels does not identify the class (shape colours are random).
  const meanByClass: number[][] = [[], [], []];
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    const m = s.mask.dataView(),
      img = s.image.dataView();
    let sum = 0,
      n = 0;
    for (let p = 0; p < m.length; p++)
      if (m[p] > 0) {
        sum += img[p];
        n++;
      }
    meanByClass[s.label].push(sum / n);
  }
  for (const v of meanByClass) {
    assert.ok(v.length > 5);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    assert.ok(sd > 0.15, `shape colour varies within a class (sd ${sd.toFixed(3)})`);
  }
  const dl = new data.DataLoader(ds, { batchSize: 8 });
  const batch = [...dl][0];
  assert.deepEqual(batch.image.shape, [8, 3, 24, 24]);
  assert.deepEqual(batch.mask.shape, [8, 24, 24]);
  assert.deepEqual(batch.label.shape, [8]);
  const det = new data.DataLoader(new data.Shapes({ n: 8, size: 48, objects: [1, 4], seed: 2 }), {
    batchSize: 4,
    collate: data.detectionCollate,
  });
  const d = [...det][0];
  assert.deepEqual(d.image.shape, [4, 3, 48, 48]);
  assert.equal(d.boxes.length, 4);
  assert.ok(d.boxes.every((bx, k) => bx.shape[1] === 4 && bx.shape[0] === d.boxLabels[k].shape[0]));
  // A geometric transform keeps image, mask and boxes aligned on Shapes samples too.
  const flipped = new data.Shapes({ n: 4, size: 24, seed: 1, transform: new T.RandomHorizontalFlip(1) }).get(0);
  const orig = ds.get(0);
  assert.deepEqual(flipped.mask.tolist(), tt.flip(orig.mask, [1]).tolist());
  const [x1, , x2] = orig.boxes.tolist();
  assert.deepEqual([flipped.boxes.tolist()[0], flipped.boxes.tolist()[2]], [24 - x2, 24 - x1]);
});

test('MNIST.load: async factory that only downloads when the files are missing', async () => {
  const dir = tmp();
  writeTinyMnist(dir, 7);
  const ds = await data.MNIST.load({ root: dir, download: true });
  assert.ok(ds instanceof data.MNIST);
  assert.equal(ds.length, 7);
  const fm = await data.FashionMNIST.load({ subset: 'embedded', train: false });
  assert.ok(fm instanceof data.FashionMNIST);
  assert.equal(fm.length, 1000);
});

test('DataLoader: numWorkers with a dataset that cannot cross threads warns and loads in the main thread', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const ds = new data.TensorDataset(tt.arange(0, 6));
    const dl = new data.DataLoader(ds, { batchSize: 2, numWorkers: 2 });
    const got: number[][] = [];
    for await (const [y] of dl) got.push(y.tolist());
    assert.deepEqual(got, [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    await new Promise((r) => setImmediate(r));
    assert.ok(
      warnings.some((m) => /numWorkers=2 but TensorDataset cannot be rebuilt in a worker thread/.test(m)),
      warnings.join('\n'),
    );
  } finally {
    process.off('warning', onWarning);
  }
});
