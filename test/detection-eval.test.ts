/** COCO and VOC detection metrics: hand-computed cases and pycocotools goldens (tools/coco_eval_fixtures.py). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';

const { metrics, data } = tt;
type Gt = tt.metrics.CocoGroundTruth;
type Dt = tt.metrics.CocoDetection;

const close = (a: number, b: number, what: string, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} ≠ ${b}`);

test('hand-computed: one perfect detection; area ranges without objects are −1', () => {
  const s = metrics.cocoEvaluate(
    [{ imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10] }],
    [{ imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10], score: 0.9 }],
  );
  // Precision is tp / (tp + fp + ε) as in pycocotools: 1 − 1.1e-16 for a perfect run.
  [1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1].forEach((v, i) => close(s.stats[i], v, `stat ${i}`));
});

test('hand-computed: a higher-scored false positive halves precision up to recall 0.5', () => {
  const gts: Gt[] = [
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10] },
    { imageId: 1, categoryId: 1, bbox: [50, 50, 10, 10] },
  ];
  const dts: Dt[] = [
    { imageId: 1, categoryId: 1, bbox: [20, 20, 10, 10], score: 0.9 },
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10], score: 0.8 },
  ];
  const s = metrics.cocoEvaluate(gts, dts);
  // Recall thresholds 0, 0.01 … 0.50 (51 of 101) see precision 0.5; higher ones 0.
  close(s.ap, (51 * 0.5) / 101, 'AP');
  close(s.ar1, 0, 'AR@1 (the first detection is the false positive)');
  close(s.ar10, 0.5, 'AR@10');
});

test('hand-computed: IoU 0.8 is a match at thresholds 0.50 … 0.80 (7 of 10), a duplicate is a false positive', () => {
  const gts: Gt[] = [{ imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10] }];
  const s = metrics.cocoEvaluate(gts, [{ imageId: 1, categoryId: 1, bbox: [0, 0, 10, 8], score: 0.9 }]);
  close(s.ap, 0.7, 'AP');
  close(s.ap75, 1, 'AP75');
  close(s.ar100, 0.7, 'AR');
  // A duplicate ranked after the match comes once recall is already 1: AP is unchanged.
  const dup = metrics.cocoEvaluate(gts, [
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10], score: 0.9 },
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10], score: 0.95 },
  ]);
  close(dup.ap, 1, 'AP with a duplicate');
  const ev = new metrics.CocoEvaluator(gts, [
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 8], score: 0.9 },
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10], score: 0.5 },
  ]);
  // At t = 0.9 the 0.8-IoU detection misses and the exact one (second) matches: precision 0.5 at recall 1.
  const st = ev.summarize();
  close(st.ap, (7 * 1 + 3 * 0.5) / 10, 'AP, second detection rescues the strict thresholds');
});

test('hand-computed: detections inside a crowd region are ignored, not false positives', () => {
  const gts: Gt[] = [
    { imageId: 1, categoryId: 1, bbox: [0, 0, 100, 100], iscrowd: 1 },
    { imageId: 1, categoryId: 1, bbox: [200, 200, 10, 10] },
  ];
  const inCrowd: Dt[] = [10, 30, 50].map((x, i) => ({
    imageId: 1,
    categoryId: 1,
    bbox: [x, x, 20, 20],
    score: 0.9 - i * 0.05,
  }));
  const hit: Dt = { imageId: 1, categoryId: 1, bbox: [200, 200, 10, 10], score: 0.5 };
  close(metrics.cocoEvaluate(gts, [...inCrowd, hit]).ap, 1, 'AP with crowd');
  // The same region as a normal object: three detections of it outrank the hit; only one can match it.
  const plain = gts.map((g) => ({ ...g, iscrowd: 0 }));
  const s = metrics.cocoEvaluate(plain, [...inCrowd, hit]);
  assert.ok(s.ap < 0.9, `without crowd AP ${s.ap}`);
});

test('hand-computed: small / medium / large split by ground-truth area, detections outside a range ignored', () => {
  const gts: Gt[] = [
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10] },
    { imageId: 1, categoryId: 2, bbox: [0, 0, 50, 50] },
    { imageId: 1, categoryId: 3, bbox: [0, 0, 200, 200] },
  ];
  const dts: Dt[] = [
    { imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10], score: 0.9 },
    { imageId: 1, categoryId: 2, bbox: [300, 300, 50, 50], score: 0.9 }, // misses the medium object
    { imageId: 1, categoryId: 3, bbox: [0, 0, 200, 200], score: 0.9 },
  ];
  const s = metrics.cocoEvaluate(gts, dts);
  close(s.apSmall, 1, 'AP small');
  close(s.apMedium, 0, 'AP medium');
  close(s.apLarge, 1, 'AP large');
  close(s.ap, 2 / 3, 'AP over the three categories');
});

interface Golden {
  name: string;
  images: { id: number; height: number; width: number }[];
  anns: Record<string, unknown>[];
  dets: Record<string, unknown>[];
  params: Record<string, unknown>;
  stats: number[];
}
const fixtures = JSON.parse(
  readFileSync(fileURLToPath(new URL('./fixtures/coco-eval.json', import.meta.url)), 'utf8'),
) as { cases: (Golden & Record<string, unknown>)[] };
const golden = (name: string) => fixtures.cases.find((c) => c.name === name)!;

function fromCoco(c: Golden): [Gt[], Dt[], tt.metrics.CocoEvalOptions] {
  const gts = c.anns.map((a) => ({
    id: a.id as number,
    imageId: a.image_id as number,
    categoryId: a.category_id as number,
    bbox: a.bbox as number[],
    area: a.area as number,
    iscrowd: a.iscrowd as number,
    segmentation: a.segmentation as tt.data.CocoSegmentation | undefined,
  }));
  const dts = c.dets.map((d) => ({
    imageId: d.image_id as number,
    categoryId: d.category_id as number,
    bbox: d.bbox as number[] | undefined,
    score: d.score as number,
    segmentation: d.segmentation as tt.data.CocoSegmentation | undefined,
  }));
  const opts: tt.metrics.CocoEvalOptions = {
    imageIds: c.images.map((i) => i.id),
    categoryIds: [1, 2, 3].slice(0, Math.max(...c.anns.map((a) => a.category_id as number))),
    imageSizes: new Map(c.images.map((i) => [i.id, [i.height, i.width] as const])),
  };
  if (c.params.useCats === 0) opts.useCats = false;
  if (c.params.maxDets) opts.maxDets = c.params.maxDets as number[];
  return [gts, dts, opts];
}

for (const name of ['bbox', 'bbox_nocats', 'bbox_maxdets', 'bbox_many', 'segm']) {
  test(`pycocotools golden: ${name}`, () => {
    const c = golden(name);
    const [gts, dts, opts] = fromCoco(c);
    // The category list is the gt file's (1…n); detections of other categories are dropped.
    if (name !== 'segm') opts.categoryIds = name === 'bbox_many' ? [1] : [1, 2, 3];
    else opts.categoryIds = [1, 2];
    const s = metrics.cocoEvaluate(gts, dts, { ...opts, iouType: name === 'segm' ? 'segm' : 'bbox' });
    s.stats.forEach((v, i) => close(v, c.stats[i], `${name} stat ${i}`, 1e-9));
  });
}

test('pycocotools golden: polygon rasterisation, string RLE, area, bbox, IoU with crowd', () => {
  const c = golden('mask_api') as unknown as {
    polys: number[][];
    size: [number, number];
    counts: string[];
    areas: number[];
    bboxes: number[][];
    iou: number[][];
    bbox_iou: number[][];
    decoded0: number[];
  };
  const [h, w] = c.size;
  const rles = c.polys.map((p) => data.rleFromPolygon(p, h, w));
  rles.forEach((r, i) => {
    assert.equal(data.rleToString(r.counts), c.counts[i], `polygon ${i} counts`);
    assert.deepEqual(data.rleFromString(c.counts[i]), r.counts, `polygon ${i} decoded string`);
    assert.equal(data.rleArea(r), c.areas[i], `polygon ${i} area`);
    assert.deepEqual(data.rleToBbox(r), c.bboxes[i], `polygon ${i} bbox`);
  });
  const iou = data.rleIou(rles, rles, [false, false, true, false, false]);
  c.iou.flat().forEach((v, i) => close(iou[i], v, `mask iou ${i}`));
  const biou = data.bboxIou(
    [
      [1, 2, 10, 12],
      [5, 5, 20, 3],
    ],
    [
      [3, 3, 10, 10],
      [0, 0, 8, 8],
      [30, 30, 2, 2],
    ],
    [false, true, false],
  );
  c.bbox_iou.flat().forEach((v, i) => close(biou[i], v, `box iou ${i}`));
  // pycocotools decodes to [h, w] (Fortran order underneath); ours is row-major: the same picture.
  assert.deepEqual(Array.from(data.rleDecode(rles[0])), c.decoded0);
  const back = data.rleEncode(data.rleDecode(rles[3]), h, w);
  assert.deepEqual(back.counts, rles[3].counts);
});

test('VOC AP: 11-point and all-point on hand-computed curves; devkit matching with difficult objects', () => {
  // Recall 0.5 at precision 1, then recall 1 at precision 0.5.
  const rec = [0.5, 0.5, 1];
  const prec = [1, 0.5, 2 / 3];
  // All-point: 0.5·1 + 0.5·(2/3). 11-point: r = 0…0.5 (6 points) → 1, r = 0.6…1 (5) → 2/3.
  close(metrics.vocAp(rec, prec), 0.5 + 0.5 * (2 / 3), 'all-point');
  close(metrics.vocAp(rec, prec, true), (6 + 5 * (2 / 3)) / 11, '11-point');
  const gts: tt.metrics.VocGroundTruth[] = [
    { imageId: 'a', label: 'cat', box: [0, 0, 9, 9] },
    { imageId: 'a', label: 'cat', box: [20, 20, 29, 29], difficult: true },
    { imageId: 'b', label: 'cat', box: [0, 0, 9, 9] },
  ];
  const dts: tt.metrics.VocDetection[] = [
    { imageId: 'a', label: 'cat', box: [0, 0, 9, 9], score: 0.9 }, // TP
    { imageId: 'a', label: 'cat', box: [20, 20, 29, 29], score: 0.8 }, // difficult: neither
    { imageId: 'a', label: 'cat', box: [0, 0, 9, 9], score: 0.7 }, // duplicate: FP
    { imageId: 'b', label: 'cat', box: [1, 1, 9, 9], score: 0.6 }, // IoU 81/100 > 0.5 (pixel-inclusive): TP
  ];
  const r = metrics.vocEvaluate(gts, dts);
  const curve = r.curves.get('cat')!;
  assert.deepEqual(curve.recall, [0.5, 0.5, 0.5, 1]);
  curve.precision.forEach((p, i) => close(p, [1, 1, 0.5, 2 / 3][i], `precision ${i}`));
  close(r.map, 0.5 + 0.5 * (2 / 3), 'mAP');
  close(metrics.vocEvaluate(gts, dts, { use07Metric: true }).map, (6 + 5 * (2 / 3)) / 11, 'VOC2007 mAP');
});

test('formatCocoStats prints the pycocotools table; bad input is named', () => {
  const s = metrics.cocoEvaluate(
    [{ imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10] }],
    [{ imageId: 1, categoryId: 1, bbox: [0, 0, 10, 10], score: 1 }],
  );
  const table = metrics.formatCocoStats(s);
  assert.match(
    table.split('\n')[0],
    /^ Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = 1\.000$/,
  );
  assert.match(
    table.split('\n')[6],
    /^ Average Recall {5}\(AR\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets= {2}1 \] = 1\.000$/,
  );
  assert.equal(table.split('\n').length, 12);
  assert.throws(() => metrics.cocoEvaluate([{ imageId: 1, categoryId: 1 }], []), /ground truth 0 needs a bbox/);
  assert.throws(
    () =>
      metrics.cocoEvaluate([{ imageId: 1, categoryId: 1, segmentation: [[0, 0, 1, 0, 1, 1]] }], [], {
        iouType: 'segm',
      }),
    /imageSizes/,
  );
});
