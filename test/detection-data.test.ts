/** Detection data: COCO / VOC / YOLO readers on files written here, DetectionScenes, detection augmentation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const { data } = tt;
const T = data.transforms;

/** A uint8 RGB image [3, h, w] with a gradient, written as PNG. */
function writePng(path: string, h: number, w: number): void {
  const px = new Uint8Array(3 * h * w);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 251;
  tt.writeImage(path, tt.tensor(px, [3, h, w], { dtype: 'uint8' }));
}

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tatami-det-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('CocoDetection: xywh → xyxy, polygon / string-RLE / crowd RLE masks, tiny boxes dropped, crowd flag', () =>
  withDir((dir) => {
    writePng(join(dir, 'a.png'), 20, 30);
    writePng(join(dir, 'b.png'), 10, 12);
    // A 5×4 rectangle as column-major RLE of the 20×30 image: columns 2..6 (x), rows 3..6 (y).
    const counts: number[] = [];
    let pos = 0;
    for (let x = 2; x <= 6; x++) {
      const start = x * 20 + 3;
      counts.push(start - pos, 4);
      pos = start + 4;
    }
    counts.push(600 - pos);
    const rle = { size: [20, 30] as [number, number], counts: data.rleToString(counts) };
    const coco: tt.data.CocoInstances = {
      images: [
        { id: 7, file_name: 'a.png', height: 20, width: 30 },
        { id: 9, file_name: 'b.png', height: 10, width: 12 },
      ],
      annotations: [
        {
          id: 1,
          image_id: 7,
          category_id: 3,
          bbox: [10, 2, 8, 6],
          area: 40,
          iscrowd: 0,
          segmentation: [[10, 2, 18, 2, 18, 8, 10, 8]],
        },
        { id: 2, image_id: 7, category_id: 5, bbox: [2, 3, 5, 4], iscrowd: 0, segmentation: rle },
        {
          id: 3,
          image_id: 7,
          category_id: 5,
          bbox: [0, 0, 0.5, 4],
          iscrowd: 0,
          segmentation: [[0, 0, 0.5, 0, 0.5, 4]],
        },
        {
          id: 4,
          image_id: 7,
          category_id: 1,
          bbox: [20, 10, 5, 5],
          iscrowd: 1,
          segmentation: { size: [20, 30], counts: [20 * 20 + 10, 5, 15, 5, 15, 5, 15, 5, 15, 5, 600 - 410 - 25 - 60] },
        },
      ],
      categories: [
        { id: 1, name: 'crowd' },
        { id: 3, name: 'box' },
        { id: 5, name: 'rect' },
      ],
    };
    const jsonPath = join(dir, 'instances.json');
    writeFileSync(jsonPath, JSON.stringify(coco));
    const ds = new data.CocoDetection(dir, jsonPath, { masks: true });
    assert.equal(ds.length, 2);
    const s = ds.get(0);
    assert.deepEqual(s.image.shape, [3, 20, 30]);
    assert.equal(s.imageId, 7);
    assert.deepEqual(Array.from(s.boxes.dataView()), [10, 2, 18, 8, 2, 3, 7, 7, 20, 10, 25, 15]);
    assert.deepEqual(Array.from(s.labels!.dataView()), [3, 5, 1]);
    assert.deepEqual(Array.from(s.iscrowd!.dataView()), [0, 0, 1]);
    assert.deepEqual(s.mask!.shape, [3, 20, 30]);
    // Mask pixels: the RLE rectangle is exactly 5×4; the crowd block 5×5; the polygon 8×6 (COCO's rasteriser).
    const m = s.mask!.dataView();
    const sum = (k: number) => Array.from(m.subarray(k * 600, (k + 1) * 600)).reduce((a, b) => a + b, 0);
    assert.equal(sum(1), 20);
    assert.equal(sum(2), 25);
    assert.equal(sum(0), 48);
    assertClose(tt.ops.masksToBoxes(s.mask!).add(tt.tensor([0, 0, 1, 1])), s.boxes, {
      atol: 0,
      what: 'masks agree with boxes',
    });
    assert.deepEqual(Array.from(s.area!.dataView()), [40, 20, 25]);
    assert.equal(ds.get(1).boxes.shape[0], 0);
    assert.equal(new data.CocoDetection(dir, coco, { removeCrowd: true }).get(0).boxes.shape[0], 2);
    assert.ok(ds.workerSpec());
    assert.throws(
      () => new data.CocoDetection(dir, join(dir, 'missing.json')),
      /annotation file .*missing\.json not found/,
    );
  }));

test('VocDetection and parseVocXml: classes → 1-based labels, difficult flags, entities, parts ignored', () =>
  withDir((dir) => {
    for (const d of ['JPEGImages', 'Annotations', 'ImageSets/Main']) mkdirSync(join(dir, d), { recursive: true });
    writePng(join(dir, 'JPEGImages', '000001.png'), 16, 24);
    writeFileSync(join(dir, 'ImageSets/Main/train.txt'), '000001\n');
    writeFileSync(
      join(dir, 'Annotations/000001.xml'),
      `<annotation><folder>VOC2007</folder><filename>000001.png</filename>
  <size><width>24</width><height>16</height><depth>3</depth></size>
  <object><name>dog</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>2</xmin><ymin>3</ymin><xmax>12</xmax><ymax>14</ymax></bndbox></object>
  <object><name>person</name><difficult>1</difficult><bndbox><xmin>10</xmin><ymin>1</ymin><xmax>20</xmax><ymax>15</ymax></bndbox>
    <part><name>head</name><bndbox><xmin>11</xmin><ymin>1</ymin><xmax>14</xmax><ymax>4</ymax></bndbox></part></object>
  </annotation>`,
    );
    const ds = new data.VocDetection(dir);
    const s = ds.get(0);
    assert.deepEqual(Array.from(s.boxes.dataView()), [2, 3, 12, 14, 10, 1, 20, 15]);
    assert.deepEqual(Array.from(s.labels!.dataView()), [
      data.VOC_CLASSES.indexOf('dog'),
      data.VOC_CLASSES.indexOf('person'),
    ]);
    assert.deepEqual(Array.from(s.difficult!.dataView()), [0, 1]);
    assert.equal(new data.VocDetection(dir, { keepDifficult: false }).get(0).boxes.shape[0], 1);
    const a = data.parseVocXml(
      '<annotation><filename>x&amp;y.jpg</filename><object><name>cat</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>',
    );
    assert.equal(a.filename, 'x&y.jpg');
    assert.deepEqual(a.objects[0].box, [1, 2, 3, 4]);
    assert.throws(
      () => data.parseVocXml('<object><name>cat</name><bndbox><xmin>a</xmin></bndbox></object>', 'bad.xml'),
      /bad\.xml: <xmin> is missing or not a number/,
    );
    assert.throws(() => new data.VocDetection(join(dir, 'nope')), /ImageSets.*not found/);
  }));

test('YoloDetection and parseYoloTxt: normalised centres, polygons, images without labels', () =>
  withDir((dir) => {
    mkdirSync(join(dir, 'images'));
    mkdirSync(join(dir, 'labels'));
    writePng(join(dir, 'images', 'a.png'), 20, 40);
    writePng(join(dir, 'images', 'b.png'), 10, 10);
    writeFileSync(join(dir, 'labels', 'a.txt'), '0 0.5 0.5 0.5 0.5\n# comment\n2 0.1 0.1 0.3 0.1 0.2 0.6\n');
    const ds = new data.YoloDetection(dir);
    assert.equal(ds.length, 2);
    const s = ds.get(0);
    assertClose(s.boxes, [10, 5, 30, 15, 4, 2, 12, 12], { atol: 1e-5 });
    assert.deepEqual(Array.from(s.labels!.dataView()), [0, 2]);
    assert.equal(ds.get(1).boxes.shape[0], 0);
    assert.throws(() => data.parseYoloTxt('1 0.5 0.5', 10, 10, 'x.txt'), /x\.txt line 1: expected "class cx cy w h"/);
  }));

test('DetectionScenes: deterministic; many objects, occlusion, all COCO area ranges; masks agree with boxes', () => {
  const ds = new data.DetectionScenes({ n: 40, seed: 3 });
  const a = ds.get(5);
  const b = new data.DetectionScenes({ n: 40, seed: 3 }).get(5);
  assert.deepEqual(Array.from(a.image.dataView().subarray(0, 500)), Array.from(b.image.dataView().subarray(0, 500)));
  assert.notDeepEqual(
    Array.from(new data.DetectionScenes({ n: 40, seed: 4 }).get(5).boxes.dataView()),
    Array.from(a.boxes.dataView()),
  );
  let objects = 0;
  const areas = { small: 0, medium: 0, large: 0 };
  let occluded = 0;
  const labels = new Set<number>();
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    const k = s.boxes.shape[0];
    objects += k;
    assert.deepEqual(s.mask!.shape, [k, 128, 128]);
    if (k > 0)
      assertClose(tt.ops.masksToBoxes(s.mask!).add(tt.tensor([0, 0, 1, 1])), s.boxes, {
        atol: 0,
        what: `scene ${i} masks vs boxes`,
      });
    const area = s.area!.dataView();
    const bx = s.boxes.dataView();
    for (let j = 0; j < k; j++) {
      const a2 = area[j];
      if (a2 < 32 * 32) areas.small++;
      else if (a2 < 96 * 96) areas.medium++;
      else areas.large++;
      // Visible pixels well under the box area (beyond the shape's own fill ratio) means something covers it.
      const boxArea = (bx[4 * j + 2] - bx[4 * j]) * (bx[4 * j + 3] - bx[4 * j + 1]);
      if (a2 < 0.3 * boxArea) occluded++;
      labels.add(s.labels!.dataView()[j]);
    }
  }
  assert.ok(objects / ds.length >= 4, `${objects / ds.length} objects per image`);
  // At 128 px no object reaches COCO's "large" (> 96² pixels); at 256 px the biggest do.
  assert.ok(areas.small > 20 && areas.medium > 20, `area ranges ${JSON.stringify(areas)}`);
  const big = new data.DetectionScenes({ n: 12, size: 256, seed: 3 });
  let large = 0;
  for (let i = 0; i < big.length; i++)
    large += Array.from(big.get(i).area!.dataView()).filter((v) => v > 96 * 96).length;
  assert.ok(large >= 1, `${large} large objects at 256 px`);
  assert.ok(occluded >= 5, `${occluded} strongly occluded objects`);
  assert.deepEqual([...labels].sort(), [1, 2, 3, 4, 5]);
  assert.throws(
    () => new data.DetectionScenes({ classes: ['hexagon' as tt.data.ShapeKind] }),
    /unknown shape 'hexagon'/,
  );
});

test('augmentation: flips, RandomResizedCrop + SanitizeBoxes, ScaleJitter keep boxes, masks and labels aligned; worker specs', async () => {
  const flip = new data.DetectionScenes({
    n: 4,
    seed: 1,
    transform: new T.Compose([new T.RandomHorizontalFlip(1), new T.ColorJitter({ brightness: 0.3 })]),
  });
  const plain = new data.DetectionScenes({ n: 4, seed: 1 });
  const f = flip.get(2);
  const p = plain.get(2);
  const pb = p.boxes.dataView();
  const fb = f.boxes.dataView();
  for (let j = 0; j < p.boxes.shape[0]; j++) {
    assert.equal(fb[4 * j], 128 - pb[4 * j + 2]);
    assert.equal(fb[4 * j + 2], 128 - pb[4 * j]);
  }
  const checkAligned = (s: tt.data.DetectionSample, what: string) => {
    const k = s.boxes.shape[0];
    assert.equal(s.labels.shape[0], k, `${what}: labels`);
    assert.equal(s.mask!.shape[0], k, `${what}: masks`);
    assert.equal(s.area!.shape[0], k, `${what}: area`);
    if (k)
      assertClose(tt.ops.masksToBoxes(s.mask!).add(tt.tensor([0, 0, 1, 1])), s.boxes, {
        atol: 0.75,
        what: `${what}: masks vs boxes`,
      });
  };
  checkAligned(f, 'flip');
  const g = new tt.Generator(5);
  const crop = new T.Compose([
    new T.RandomResizedCrop(96, { scale: [0.1, 0.3], generator: g }),
    new data.SanitizeBoxes({ minSize: 2 }),
  ]);
  let dropped = 0;
  for (let i = 0; i < 4; i++) {
    const s = crop.apply(plain.get(i)) as tt.data.DetectionSample;
    dropped += plain.get(i).boxes.shape[0] - s.boxes.shape[0];
    assert.deepEqual(s.image.shape, [3, 96, 96]);
    const b = s.boxes.dataView();
    for (let j = 0; j < s.boxes.shape[0]; j++)
      assert.ok(b[4 * j + 2] - b[4 * j] >= 2 && b[4 * j + 3] - b[4 * j + 1] >= 2);
    assert.equal(s.labels.shape[0], s.boxes.shape[0]);
    assert.equal(s.mask!.shape[0], s.boxes.shape[0]);
  }
  assert.ok(dropped > 0, 'small crops drop some objects');
  const jitter = new data.ScaleJitter([64, 64], { scaleRange: [0.5, 1.5], generator: new tt.Generator(2) });
  const j = jitter.apply(p) as tt.data.DetectionSample;
  const scale = j.image.shape[1] / 128;
  assert.ok(scale >= 0.25 && scale <= 0.75, `scale ${scale}`);
  assertClose(j.boxes, p.boxes.mul(j.image.shape[2] / 128), { atol: 1e-4 });
  assert.deepEqual(j.mask!.shape, [p.boxes.shape[0], j.image.shape[1], j.image.shape[2]]);
  // Specs rebuild the same datasets in a worker thread.
  const spec = new data.DetectionScenes({
    n: 4,
    seed: 1,
    transform: new T.Compose([new T.RandomHorizontalFlip(1), new data.SanitizeBoxes()]),
  }).workerSpec()!;
  const rebuilt = (await data.datasetFromSpec(JSON.parse(JSON.stringify(spec)))) as unknown as tt.data.DetectionScenes;
  assert.deepEqual(Array.from(rebuilt.get(2).boxes.dataView()), Array.from(f.boxes.dataView()));
});

test('collate: DataLoader batches variable-size detection samples as lists', () => {
  const ds = new data.DetectionScenes({ n: 6, size: 48, seed: 2 });
  const loader = new data.DataLoader(ds, { batchSize: 4, collate: data.detectionListCollate });
  const batches = [...loader];
  assert.equal(batches.length, 2);
  assert.equal(batches[0].images.length, 4);
  assert.equal(batches[1].targets.length, 2);
  assert.deepEqual(batches[0].images[0].shape, [3, 48, 48]);
  assert.equal(batches[0].targets[3].imageId, 3);
});
