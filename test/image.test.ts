import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';

const T = tt.data.transforms;

const tempDirs: string[] = [];
after(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tatami-image-'));
  tempDirs.push(d);
  return d;
}

function randomBytes(shape: number[], seed: number): tt.Tensor {
  return tt.randint(0, 256, shape, { dtype: 'uint8', generator: new tt.Generator(seed) });
}

test('PNG round trip is exact for 1, 2, 3 and 4 channels; layout is [C, H, W] uint8', () => {
  const dir = tmp();
  for (const C of [1, 2, 3, 4]) {
    const img = randomBytes([C, 5, 7], C);
    const p = join(dir, `c${C}.png`);
    tt.writeImage(p, img);
    const back = tt.readImage(p);
    assert.equal(back.dtype, 'uint8');
    assert.deepEqual(back.shape, [C, 5, 7]);
    assert.deepEqual(back.tolist(), img.tolist());
  }
  // [H, W] is written as gray; floats in [0, 1] are scaled, rounded and clamped.
  const p = join(dir, 'f.png');
  tt.writeImage(
    p,
    tt.tensor([
      [0, 0.5, 1, 2],
      [-1, 0.2, 0.999, 0.001],
    ]),
  );
  assert.deepEqual(tt.readImage(p).tolist(), [0, 128, 255, 255, 0, 51, 255, 0]);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
    'no temporary files left behind',
  );
});

test('JPEG round trip is close; format is detected from the bytes, not the name', () => {
  const dir = tmp();
  // A smooth image compresses well, so the round trip error is small.
  const H = 16,
    W = 24;
  const smooth = tt.Tensor.empty([3, H, W], 'uint8');
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) smooth.storage[c * H * W + i * W + j] = 40 + 6 * i + 3 * j + 20 * c;
  const p = join(dir, 'smooth.jpg');
  tt.writeImage(p, smooth, { quality: 95 });
  const back = tt.readImage(p);
  assert.deepEqual(back.shape, [3, H, W]);
  const err = tt.sub(back.to('float32'), smooth.to('float32')).abs().mean().item();
  assert.ok(err < 3, `mean abs error ${err}`);
  // PNG bytes in a .jpg file are still read as PNG.
  const disguised = join(dir, 'really-a-png.jpg');
  writeFileSync(disguised, tt.encodeImage(smooth, 'png'));
  assert.deepEqual(tt.readImage(disguised).tolist(), smooth.tolist());
  assert.equal(tt.detectImageFormat(tt.encodeImage(smooth, 'jpeg')), 'jpeg');
});

test('read modes convert channels (gray uses ITU-R 601 luma)', () => {
  const dir = tmp();
  const rgb = tt.tensor(Uint8Array.from([255, 0, 10, 0, 255, 20, 0, 0, 30]), [3, 1, 3], { dtype: 'uint8' });
  const p = join(dir, 'rgb.png');
  tt.writeImage(p, rgb);
  assert.deepEqual(tt.readImage(p, { mode: 'gray' }).tolist(), [76, 150, 18]);
  const rgba = tt.readImage(p, { mode: 'rgba' });
  assert.deepEqual(rgba.shape, [4, 1, 3]);
  assert.deepEqual(tt.select(rgba, 0, 3).tolist(), [255, 255, 255]);
  const g = join(dir, 'g.png');
  tt.writeImage(g, tt.tensor(Uint8Array.from([7, 8]), [1, 1, 2], { dtype: 'uint8' }));
  assert.deepEqual(tt.readImage(g, { mode: 'rgb' }).tolist(), [7, 8, 7, 8, 7, 8]);
});

test('corrupt, truncated and missing image files give errors naming the file', () => {
  const dir = tmp();
  const png = tt.encodeImage(randomBytes([3, 8, 8], 0), 'png');
  const cut = join(dir, 'cut.png');
  writeFileSync(cut, png.subarray(0, png.length >> 1));
  assert.throws(
    () => tt.readImage(cut),
    (e: Error) => e.message.includes('cut.png: truncated PNG: no IEND chunk'),
  );
  const flipped = Uint8Array.from(png);
  flipped[45] ^= 0xff;
  const crc = join(dir, 'crc.png');
  writeFileSync(crc, flipped);
  assert.throws(() => tt.readImage(crc), /crc\.png: corrupt PNG: CRC mismatch in chunk IDAT/);
  const jpg = tt.encodeImage(randomBytes([3, 8, 8], 0), 'jpeg');
  const cutJ = join(dir, 'cut.jpg');
  writeFileSync(cutJ, jpg.subarray(0, jpg.length - 30));
  assert.throws(() => tt.readImage(cutJ), /cut\.jpg: truncated JPEG: no end-of-image marker/);
  const txt = join(dir, 'notes.png');
  writeFileSync(txt, 'hello');
  assert.throws(() => tt.readImage(txt), /notes\.png: not a PNG or JPEG file \(starts with bytes 68 65 6c 6c/);
  assert.throws(() => tt.readImage(join(dir, 'nope.png')), /readImage: .*nope\.png: file not found/);
  assert.throws(() => tt.writeImage(join(dir, 'x.bmp'), tt.zeros([1, 2, 2])), /unknown image extension '\.bmp'/);
  assert.throws(
    () => tt.writeImage(join(dir, 'x.png'), tt.zeros([5, 2, 2])),
    /expected an image of shape \[C, H, W\] with C in 1\.\.4/,
  );
});

test('toImageTensor / fromImageTensor convert between HWC pixels and [C, H, W]', () => {
  const raw = { width: 2, height: 1, channels: 3, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  const t = tt.toImageTensor(raw);
  assert.deepEqual(t.shape, [3, 1, 2]);
  assert.deepEqual(t.tolist(), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(Array.from(tt.fromImageTensor(t).data), [1, 2, 3, 4, 5, 6]);
});

test('makeGrid follows torchvision layout; labels are drawn under the images', () => {
  const imgs = Array.from({ length: 10 }, (_, k) => tt.full([1, 28, 28], (k + 1) / 10));
  const g = tt.makeGrid(imgs, { nrow: 4, padding: 2 });
  assert.deepEqual(g.shape, [3, 3 * 30 + 2, 4 * 30 + 2]);
  // Image k sits at row k / 4, column k % 4, replicated to 3 channels; padding is 0.
  const at = (c: number, y: number, x: number) => g.storage[c * g.shape[1] * g.shape[2] + y * g.shape[2] + x];
  assert.ok(Math.abs(at(2, 2 + 30 + 5, 2 + 2 * 30 + 5) - 0.7) < 1e-6);
  assert.equal(at(0, 0, 0), 0);
  assert.equal(at(0, 2 + 30 * 2 + 10, 2 + 30 * 3 + 10), 0, 'empty cells stay padding');
  // A batch tensor works the same, and uint8 stays uint8.
  assert.deepEqual(tt.makeGrid(tt.zeros([6, 3, 8, 8], { dtype: 'uint8' }), { nrow: 3, padding: 1 }).shape, [
    3,
    2 * 9 + 1,
    3 * 9 + 1,
  ]);
  assert.equal(tt.makeGrid(tt.zeros([2, 1, 4, 4], { dtype: 'uint8' })).dtype, 'uint8');
  // normalize rescales to [0, 1].
  const n = tt.makeGrid([tt.full([1, 2, 2], -3), tt.full([1, 2, 2], 5)], { normalize: true, padding: 0 });
  assert.deepEqual([n.min().item(), n.max().item()], [0, 1]);
  // Labels add a strip of text below each image.
  const withLabels = tt.makeGrid(
    imgs.slice(0, 2).map(() => tt.zeros([1, 28, 28])),
    { labels: ['7', 'BAG'], padding: 2 },
  );
  assert.deepEqual(withLabels.shape, [3, 28 + 9 + 4, 2 * 30 + 2]);
  const strip = tt.narrow(withLabels, 1, 2 + 28, 9);
  assert.ok(strip.sum().item() > 10, 'text pixels are drawn');
  assert.equal(tt.narrow(withLabels, 1, 2, 28).sum().item(), 0, 'the images themselves are untouched');
  assert.throws(
    () => tt.makeGrid([tt.zeros([1, 4, 4]), tt.zeros([1, 5, 4])]),
    /image 1 has shape \[1, 5, 4\] but image 0 has \[1, 4, 4\]/,
  );
  assert.throws(() => tt.makeGrid(imgs, { labels: ['a'] }), /1 labels for 10 images/);
});

test('a PNG grid of augmented Fashion-MNIST samples is written for people to look at and decodes back', () => {
  const ds = new tt.data.FashionMNIST({ subset: 'embedded', train: false });
  const aug = new T.Compose([
    new T.RandomResizedCrop(28, { scale: [0.6, 1] }),
    new T.RandomHorizontalFlip(),
    new T.RandomAffine(15, { translate: [0.1, 0.1], shear: 10, interpolation: 'bilinear' }),
    new T.ColorJitter({ brightness: 0.4, contrast: 0.4 }),
    new T.RandomErasing({ p: 0.25 }),
  ]);
  const images: tt.Tensor[] = [];
  const labels: string[] = [];
  tt.data.withDataSeed(2024, () => {
    for (let k = 0; k < 8; k++) {
      const [x, y] = ds.get(k * 97);
      images.push(x);
      labels.push(ds.classes[y].split(/[ /]/)[0].slice(0, 5));
      for (let r = 0; r < 7; r++) {
        images.push(aug.apply(x));
        labels.push(`#${r + 1}`);
      }
    }
  });
  const outDir = fileURLToPath(new URL('../runs/test-images/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, 'fashion-mnist-augmented.png');
  const grid = tt.saveImageGrid(path, images, { nrow: 8, padding: 2, labels, padValue: 0.25 });
  const back = tt.readImage(path);
  assert.deepEqual(back.shape, [3, 8 * (28 + 9 + 2) + 2, 8 * 30 + 2]);
  assert.deepEqual(back.shape, grid.shape);
  assert.ok(readFileSync(path).length > 10_000);
  // The originals (first column) survive the PNG round trip exactly up to 8-bit quantisation.
  const first = tt.narrow(tt.narrow(back, 1, 2, 28), 2, 2, 28);
  const expected = images[0].dataView();
  const got = tt.select(first, 0, 0).contiguous().dataView();
  for (let p = 0; p < 784; p++) assert.ok(Math.abs(got[p] / 255 - expected[p]) <= 0.5 / 255 + 1e-6);
});
