/**
 * Segmentation data: palette PNG codec (against Pillow-written files), mask decoding, the folder format, Pascal VOC
 * and Oxford-IIIT Pet readers on small files in their real layouts (written here), checksums, RandomScaleCrop and
 * the procedural scenes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as tt from '../src/index.ts';
import { checksumError } from '../src/data/locate.ts';

const { data } = tt;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tt-segdata-'));
}

function paletteMask(path: string, rows: number[][]): void {
  const h = rows.length,
    w = rows[0].length;
  writeFileSync(
    path,
    tt.encodeIndexedPng({ width: w, height: h, indices: Uint8Array.from(rows.flat()), palette: tt.vocPalette() }),
  );
}

function image(path: string, h: number, w: number, seed: number): tt.Tensor {
  tt.manualSeed(seed);
  const t = tt.rand([3, h, w]);
  tt.writeImage(path, t);
  return t;
}

test('palette PNGs: Pillow-written 8-bit and 1-bit files decode to their indices; encode → decode → pngjs agree', () => {
  const p8 = tt.decodeIndexedPng(readFileSync('test/fixtures/seg/palette8.png'));
  assert.deepEqual([p8.width, p8.height], [4, 3]);
  assert.deepEqual(Array.from(p8.indices), [0, 1, 2, 255, 15, 3, 0, 1, 7, 7, 7, 7]);
  assert.deepEqual(Array.from(p8.palette.subarray(0, 6)), [0, 0, 0, 128, 0, 0]);
  const p1 = tt.decodeIndexedPng(readFileSync('test/fixtures/seg/palette1.png'));
  assert.deepEqual(Array.from(p1.indices), [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1]);
  const idx = Uint8Array.from({ length: 35 }, (_, i) => (i * 7) % 22);
  const bytes = tt.encodeIndexedPng({ width: 7, height: 5, indices: idx, palette: tt.vocPalette() });
  assert.deepEqual(Array.from(tt.decodeIndexedPng(bytes).indices), Array.from(idx));
  // An independent decoder (pngjs) sees the palette colours.
  const png = PNG.sync.read(Buffer.from(bytes));
  const pal = tt.vocPalette();
  for (let i = 0; i < 35; i++) for (let c = 0; c < 3; c++) assert.equal(png.data[4 * i + c], pal[3 * idx[i] + c]);
  assert.throws(
    () => tt.encodeIndexedPng({ width: 2, height: 1, indices: Uint8Array.from([0, 3]), palette: new Uint8Array(6) }),
    /index 3 at pixel 1 is beyond the 2-entry palette/,
  );
});

test('decodeMask: palette → indices, grayscale → values, RGB → colormap (errors on unknown colours)', () => {
  const d = tmp();
  try {
    paletteMask(join(d, 'p.png'), [[0, 15, 255]]);
    assert.deepEqual(Array.from(data.readMask(join(d, 'p.png')).dataView()), [0, 15, 255]);
    tt.writeImage(join(d, 'g.png'), tt.tensor([[[0, 1, 2]]], { dtype: 'uint8' }));
    const g = data.readMask(join(d, 'g.png'));
    assert.equal(g.dtype, 'int32');
    assert.deepEqual(Array.from(g.dataView()), [0, 1, 2]);
    tt.writeImage(join(d, 'rgb.png'), tt.tensor([[[0, 255]], [[0, 0]], [[0, 0]]], { dtype: 'uint8' }));
    assert.deepEqual(
      Array.from(
        data
          .readMask(join(d, 'rgb.png'), {
            colormap: [
              [0, 0, 0],
              [255, 0, 0],
            ],
          })
          .dataView(),
      ),
      [0, 1],
    );
    assert.throws(() => data.readMask(join(d, 'rgb.png')), /is an RGB image .* pass a colormap/);
    assert.throws(
      () => data.readMask(join(d, 'rgb.png'), { colormap: [[0, 0, 0]] }),
      /pixel \(1, 0\) has colour \(255, 0, 0\), which is not in the colormap/,
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('SegmentationFolder: images/ + masks/ by stem, joint transform, clear errors', () => {
  const d = tmp();
  try {
    mkdirSync(join(d, 'train', 'images'), { recursive: true });
    mkdirSync(join(d, 'train', 'masks'), { recursive: true });
    const img = image(join(d, 'train', 'images', 'b.png'), 2, 3, 1);
    image(join(d, 'train', 'images', 'a.png'), 2, 3, 2);
    paletteMask(join(d, 'train', 'masks', 'b.png'), [
      [1, 2, 0],
      [255, 1, 1],
    ]);
    tt.writeImage(
      join(d, 'train', 'masks', 'a.png'),
      tt.tensor(
        [
          [
            [0, 0, 1],
            [1, 1, 0],
          ],
        ],
        { dtype: 'uint8' },
      ),
    );
    const ds = new data.SegmentationFolder({ root: d, split: 'train' });
    assert.equal(ds.length, 2);
    const [x, y] = ds.get(1);
    assert.deepEqual(x.shape, [3, 2, 3]);
    // PNG stores 8 bits: the image comes back as round(v·255)/255.
    const xv = x.dataView(),
      iv = img.dataView();
    for (let i = 0; i < xv.length; i++) assert.ok(Math.abs(xv[i] - Math.round(iv[i] * 255) / 255) < 1e-6);
    assert.deepEqual(Array.from(y.dataView()), [1, 2, 0, 255, 1, 1]);
    const flipped = new data.SegmentationFolder({
      root: d,
      split: 'train',
      transform: new data.transforms.RandomHorizontalFlip(1),
    });
    assert.deepEqual(Array.from(flipped.get(1)[1].dataView()), [0, 2, 1, 1, 1, 255]);
    writeFileSync(join(d, 'train', 'images', 'c.jpg'), readFileSync(join(d, 'train', 'images', 'a.png')));
    assert.throws(
      () => new data.SegmentationFolder({ root: d, split: 'train' }),
      /1 image\(s\) without a mask in .*: c\.jpg/,
    );
    assert.throws(
      () => new data.SegmentationFolder({ root: join(d, 'nope') }),
      /is not a directory \(expected .*\/images and .*\/masks\)/,
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('VOCSegmentation reads the VOCdevkit layout; a missing dataset explains how to get it', () => {
  const d = tmp();
  try {
    const voc = join(d, 'VOCdevkit', 'VOC2012');
    for (const sub of ['JPEGImages', 'SegmentationClass', join('ImageSets', 'Segmentation')])
      mkdirSync(join(voc, sub), { recursive: true });
    for (const [n, seed] of [
      ['2007_000032', 1],
      ['2007_000039', 2],
    ] as const) {
      image(join(voc, 'JPEGImages', `${n}.jpg`), 4, 5, seed);
      paletteMask(join(voc, 'SegmentationClass', `${n}.png`), [
        [0, 0, 1, 1, 255],
        [0, 15, 15, 255, 0],
        [0, 0, 0, 0, 0],
        [20, 20, 0, 0, 0],
      ]);
    }
    writeFileSync(join(voc, 'ImageSets', 'Segmentation', 'train.txt'), '2007_000032\n2007_000039\n');
    writeFileSync(join(voc, 'ImageSets', 'Segmentation', 'val.txt'), '2007_000039\n');
    const ds = new data.VOCSegmentation({ root: d, imageSet: 'train' });
    assert.equal(ds.length, 2);
    const [x, y] = ds.get(0);
    assert.deepEqual(x.shape, [3, 4, 5]);
    assert.deepEqual(Array.from(y.dataView()).slice(0, 10), [0, 0, 1, 1, 255, 0, 15, 15, 255, 0]);
    assert.equal(new data.VOCSegmentation({ root: d, imageSet: 'val' }).length, 1);
    assert.equal(data.VOC_CLASSES[15], 'person');
    assert.throws(
      () => new data.VOCSegmentation({ root: join(d, 'empty') }),
      /Pascal VOC 2012 not found[\s\S]*VOCSegmentation\.download\(\)/,
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('OxfordIIITPet reads trimaps (raw as torchvision, or binary with the border ignored)', () => {
  const d = tmp();
  try {
    const root = join(d, 'oxford-iiit-pet');
    mkdirSync(join(root, 'images'), { recursive: true });
    mkdirSync(join(root, 'annotations', 'trimaps'), { recursive: true });
    image(join(root, 'images', 'Abyssinian_1.jpg'), 3, 3, 3);
    tt.writeImage(
      join(root, 'annotations', 'trimaps', 'Abyssinian_1.png'),
      tt.tensor(
        [
          [
            [2, 2, 2],
            [3, 1, 3],
            [2, 1, 2],
          ],
        ],
        { dtype: 'uint8' },
      ),
    );
    writeFileSync(join(root, 'annotations', 'trainval.txt'), 'Abyssinian_1 1 1 1\n');
    writeFileSync(join(root, 'annotations', 'test.txt'), '');
    assert.deepEqual(Array.from(new data.OxfordIIITPet({ root: d }).get(0)[1].dataView()), [2, 2, 2, 3, 1, 3, 2, 1, 2]);
    assert.deepEqual(
      Array.from(new data.OxfordIIITPet({ root: d, trimap: 'binary' }).get(0)[1].dataView()),
      [0, 0, 0, 255, 1, 255, 0, 1, 0],
    );
    assert.equal(new data.OxfordIIITPet({ root: d, split: 'test' }).length, 0);
    assert.throws(
      () => new data.OxfordIIITPet({ root: join(d, 'x') }),
      /dataset not found[\s\S]*OxfordIIITPet\.download\(\)/,
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('downloads verify MD5 where the publisher gives only MD5 (VOC, Pets)', async () => {
  const bytes = new TextEncoder().encode('voc');
  const md5 = createHash('md5').update(bytes).digest('hex');
  assert.equal(checksumError({ name: 'f', md5 }, bytes), null);
  assert.match(checksumError({ name: 'f', md5: '0'.repeat(32) }, bytes)!, /MD5 .* expected 0{32}/);
  const d = tmp();
  try {
    const src = { name: 'x', mirrors: ['http://example.invalid/'], files: [{ name: 'a.tar', md5 }] };
    const fetchImpl = (async () => new Response(bytes)) as unknown as typeof fetch;
    await data.downloadDataset(src, d, { fetchImpl });
    assert.equal(readFileSync(join(d, 'a.tar'), 'utf8'), 'voc');
    const bad = { ...src, files: [{ name: 'b.tar', md5: 'f'.repeat(32) }] };
    await assert.rejects(
      data.downloadDataset(bad, d, { fetchImpl }),
      /checksum mismatch: MD5[\s\S]*Download it by hand \(MD5 f{32}\)/,
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('RandomScaleCrop: nearest masks (no new labels), padding with 255, identity at scale 1', () => {
  const image = tt.rand([3, 10, 12]);
  const mask = tt
    .tensor(
      Array.from({ length: 120 }, (_, i) => (i % 12 < 6 ? 1 : 2) + (i >= 60 ? 2 : 0)),
      { dtype: 'int32' },
    )
    .reshape([10, 12]);
  const id = new data.RandomScaleCrop([10, 12], { scale: [1, 1] }).apply({ image, mask });
  assert.ok(tt.allclose(id.image, image));
  assert.deepEqual(Array.from(id.mask!.dataView()), Array.from(mask.dataView()));
  tt.manualSeed(3);
  const t = new data.RandomScaleCrop(16, { scale: [0.5, 2] });
  let padded = 0;
  for (let k = 0; k < 20; k++) {
    const r = t.apply({ image, mask });
    assert.deepEqual(r.image.shape, [3, 16, 16]);
    assert.deepEqual(r.mask!.shape, [16, 16]);
    const vals = new Set(r.mask!.dataView());
    for (const v of vals) assert.ok([1, 2, 3, 4, 255].includes(v), `label ${v}`);
    if (vals.has(255)) padded++;
  }
  assert.ok(padded > 0, 'small scales pad the mask with 255');
  // Scale 2 on a 1-pixel-wide pattern keeps each label in 2×2 blocks (nearest).
  const m2 = new data.RandomScaleCrop([20, 24], { scale: [2, 2] }).apply({ image, mask }).mask!.dataView();
  for (let y = 0; y < 20; y += 2)
    for (let x = 0; x < 24; x += 2) assert.equal(m2[y * 24 + x], m2[(y + 1) * 24 + x + 1]);
  assert.throws(() => new data.RandomScaleCrop(8, { scale: [2, 1] }), /scale must be \[min, max\]/);
});

test('SegmentationScenes: deterministic, several overlapping classes per scene, exact masks, all classes used', () => {
  const ds = new data.SegmentationScenes({ n: 40, size: 48, seed: 7 });
  assert.equal(ds.numClasses, 6);
  const [x0, y0] = ds.get(3),
    [x1, y1] = ds.get(3);
  assert.ok(tt.allclose(x0, x1));
  assert.deepEqual(Array.from(y0.dataView()), Array.from(y1.dataView()));
  assert.deepEqual(x0.shape, [3, 48, 48]);
  const counts = new Array(6).fill(0);
  let multi = 0;
  for (let i = 0; i < ds.length; i++) {
    const m = ds.get(i)[1].dataView();
    const present = new Set<number>();
    for (const v of m) {
      counts[v]++;
      present.add(v);
    }
    if (present.size >= 3) multi++;
  }
  assert.ok(
    counts.every((c) => c > 0),
    `every class appears: ${counts}`,
  );
  assert.ok(counts[0] / (40 * 48 * 48) > 0.3 && counts[0] / (40 * 48 * 48) < 0.9, `background share ${counts[0]}`);
  assert.ok(multi >= 30, `${multi} of 40 scenes show ≥ 2 object classes`);
  // Other seeds give other scenes.
  assert.ok(!tt.allclose(new data.SegmentationScenes({ n: 1, size: 48, seed: 8 }).get(0)[0], ds.get(0)[0]));
  const aug = new data.SegmentationScenes({ n: 2, size: 48, transform: new data.RandomScaleCrop(32) });
  assert.deepEqual(aug.get(0)[1].shape, [32, 32]);
  assert.ok(aug.workerSpec() !== null, 'rebuildable in a worker');
  assert.throws(() => new data.SegmentationScenes({ objects: [0, 2] }), /objects must be \[min, max\]/);
});
