/**
 * Detection on the command line, end to end on a few tiny images: `tatami train --task detect` (procedural scenes
 * and a YOLO folder), `tatami eval` (the COCO table), `tatami predict` (a PNG with the boxes drawn, JSON printed),
 * `tatami models` (detectors with their parameter counts), and the registry's getDetector.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tt from '../src/index.ts';
import { registerTrain } from '../src/cli/train.ts';
import { registerEval } from '../src/cli/eval.ts';
import { registerPredict } from '../src/cli/predict.ts';
import { registerModels } from '../src/cli/models.ts';
import { drawDetections } from '../src/viz/det-draw.ts';

async function capture(fn: () => Promise<unknown>): Promise<string[]> {
  const logs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void logs.push(a.join(' '));
  try {
    await fn();
  } finally {
    console.log = orig;
  }
  return logs;
}

function program(): Command {
  const p = new Command('tatami').exitOverride();
  for (const r of [registerTrain, registerEval, registerPredict, registerModels]) r(p);
  return p;
}

const TINY = ['--image-size', '64', '--epochs', '1', '--batch-size', '2', '--no-progress'];

test('registry: detectors are listed with parameter counts and built by getDetector', async () => {
  const { models } = tt;
  const dets = models.listModels().filter((m) => m.task === 'detect');
  assert.deepEqual(
    dets.map((m) => [m.name, m.numParameters]),
    [
      ['fasterrcnn_mobilenet_v3_large_fpn', 19_410_754],
      ['fasterrcnn_resnet50_fpn', 41_808_406],
      ['fcos_resnet50_fpn', 32_322_720],
      ['maskrcnn_resnet50_fpn', 44_454_513],
      ['retinanet_resnet50_fpn', 34_068_119],
      ['ssd300_vgg16', 35_641_826],
      ['ssdlite320_mobilenet_v3_large', 3_440_060],
      ['yolox_nano', 912_159],
      ['yolox_s', 8_968_255],
      ['yolox_tiny', 5_055_855],
    ],
  );
  // The registered count is the built model's (checked on the two cheap ones).
  for (const name of ['ssdlite320_mobilenet_v3_large', 'fasterrcnn_mobilenet_v3_large_fpn', 'yolox_nano'])
    assert.equal(models.getDetector(name).numParameters(), models.getModelInfo(name).numParameters);
  assert.throws(() => models.getModel('ssdlite320_mobilenet_v3_large'), /is a detector.*getDetector/);
  assert.throws(() => models.getDetector('resnet18'), /'resnet18' is not a detector\. Detectors: fasterrcnn/);
  const out = await capture(() => program().parseAsync(['node', 'tatami', 'models']));
  assert.ok(
    out.some((l) => /^ssdlite320_mobilenet_v3_large .*3,440,060 params/.test(l)),
    out.join('\n'),
  );
});

test('drawDetections: outlines in the class colour, captions, masks and the score threshold', () => {
  const img = tt.zeros([3, 40, 40]);
  const boxes = tt.tensor([10, 20, 30, 35, 0, 0, 5, 5], { dtype: 'float32' }).reshape([2, 4]);
  const labels = new tt.Tensor(Int32Array.from([2, 1]), [2], 'int32');
  const scores = new tt.Tensor(Float32Array.from([0.9, 0.3]), [2], 'float32');
  const masks = tt.zeros([2, 40, 40]);
  const out = drawDetections(img, { boxes, labels, scores, masks }, { classNames: ['bg', 'a', 'b'] });
  const px = (x: number, y: number) => [0, 1, 2].map((c) => out.dataView()[c * 1600 + y * 40 + x]);
  // The bottom edge of box 0 (y = 34) is drawn in its colour; its inside stays black; box 1 (score 0.3) is not drawn.
  assert.ok(px(20, 34).some((v) => v > 0.5));
  assert.deepEqual(px(20, 28), [0, 0, 0]);
  assert.deepEqual(px(2, 4), [0, 0, 0]);
  // The caption strip sits above the box (rows 11…19), left of the text (which starts at x = 11) in the box colour.
  assert.deepEqual(px(10, 15), px(20, 34));
  assert.deepEqual(px(10, 9), [0, 0, 0]);
  assert.throws(() => drawDetections(tt.zeros([2, 4, 4]), { boxes, labels }), /expected an image \[1 or 3, H, W\]/);
});

test('train --task detect on scenes writes a run; eval prints the COCO table; predict draws and prints JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tt-detcli-'));
  try {
    const run = join(dir, 'run');
    tt.manualSeed(0);
    const p = program();
    const trainLog = await capture(() =>
      p.parseAsync([
        'node',
        'tatami',
        'train',
        '--model',
        'fasterrcnn_mobilenet_v3_large_fpn',
        ...TINY,
        '--scenes',
        '4',
        '--report',
        '--out',
        run,
      ]),
    );
    assert.ok(
      trainLog.some((l) => /[\d,]+ parameters, 5 classes \+ background/.test(l)),
      trainLog.join('\n'),
    );
    for (const f of [
      'config.json',
      'history.jsonl',
      'best.safetensors',
      'last.safetensors',
      'model.safetensors',
      'report.html',
    ])
      assert.ok(existsSync(join(run, f)), f);
    const h = JSON.parse(readFileSync(join(run, 'history.jsonl'), 'utf8').trim()) as Record<string, number>;
    for (const k of ['trainLoss', 'trainLossClassifier', 'trainLossObjectness', 'valAP', 'valAP50'])
      assert.equal(typeof h[k], 'number', k);
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    assert.match(html, /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \]/);
    assert.match(html, /trainLossBoxReg/);
    assert.match(html, /<img class="grid"[^>]*src="data:image\/png;base64,/);

    const evalLog = await capture(() => program().parseAsync(['node', 'tatami', 'eval', '--run', run]));
    const table = evalLog.join('\n');
    for (const re of [
      /\(AP\) @\[ IoU=0\.50 {6}\| area= {3}all/,
      /\(AP\) @\[ IoU=0\.75/,
      /area= small/,
      /\(AR\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets= {2}1 \]/,
    ])
      assert.match(table, re);
    assert.match(table, /on DetectionScenes \(procedural\) \(8 validation images\)/);

    const img = join(dir, 'scene.png');
    tt.writeImage(img, new tt.data.DetectionScenes({ n: 1, size: 64, seed: 9 }).get(0).image);
    const out = join(dir, 'boxes.png');
    const predLog = await capture(() =>
      program().parseAsync(['node', 'tatami', 'predict', img, '--run', run, '--score-threshold', '0', '--out', out]),
    );
    const json = JSON.parse(predLog.join('\n')) as {
      out: string;
      detections: { label: number; name: string; score: number; box: number[] }[];
    };
    assert.equal(json.out, out);
    assert.deepEqual(tt.readImage(out).shape, [3, 64, 64]);
    for (const d of json.detections) {
      assert.ok(d.label >= 1 && d.label <= 5 && d.box.length === 4 && d.score >= 0, JSON.stringify(d));
      assert.equal(d.name, ['background', 'circle', 'square', 'triangle', 'star', 'ring'][d.label]);
    }
    await assert.rejects(
      program().parseAsync(['node', 'tatami', 'predict', img, '--model', 'ssdlite320_mobilenet_v3_large']),
      /pass --run DIR, or --model NAME with --weights FILE/,
    );
    await assert.rejects(
      program().parseAsync([
        'node',
        'tatami',
        'train',
        '--task',
        'detect',
        '--model',
        'resnet18',
        ...TINY,
        '--out',
        join(dir, 'x'),
      ]),
      /--model resnet18 is not a detector; detectors: fasterrcnn_mobilenet_v3_large_fpn/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --task detect on a YOLO folder (0-based classes become 1-based labels; classes.txt names them)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tt-detyolo-'));
  try {
    const root = join(dir, 'yolo');
    mkdirSync(join(root, 'images'), { recursive: true });
    mkdirSync(join(root, 'labels'));
    writeFileSync(join(root, 'classes.txt'), 'circle\nsquare\ntriangle\nstar\nring\n');
    const scenes = new tt.data.DetectionScenes({ n: 5, size: 64, seed: 4 });
    for (let i = 0; i < scenes.length; i++) {
      const s = scenes.get(i);
      tt.writeImage(join(root, 'images', `im${i}.png`), s.image);
      const b = s.boxes.dataView(),
        l = s.labels.dataView();
      const lines = Array.from(l, (c, k) => {
        const [x1, y1, x2, y2] = [b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]].map((v) => v / 64);
        return `${Number(c) - 1} ${(x1 + x2) / 2} ${(y1 + y2) / 2} ${x2 - x1} ${y2 - y1}`;
      });
      writeFileSync(join(root, 'labels', `im${i}.txt`), lines.join('\n') + '\n');
    }
    const run = join(dir, 'run');
    const log = await capture(() =>
      program().parseAsync([
        'node',
        'tatami',
        'train',
        '--task',
        'detect',
        '--data',
        root,
        '--val-split',
        '0.4',
        ...TINY,
        '--out',
        run,
      ]),
    );
    assert.ok(
      log.some((l) => /3 training \/ 2 validation images \[yolo /.test(l)),
      log.join('\n'),
    );
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as {
      classNames: string[];
      numClasses: number;
    };
    assert.deepEqual(cfg.classNames, ['background', 'circle', 'square', 'triangle', 'star', 'ring']);
    assert.equal(cfg.numClasses, 6);
    const evalLog = await capture(() => program().parseAsync(['node', 'tatami', 'eval', '--run', run]));
    assert.ok(evalLog.some((l) => /2 validation images/.test(l)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --task detect on a COCO folder (sparse category ids keep their label values and names)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tt-detcoco-'));
  try {
    const root = join(dir, 'coco');
    mkdirSync(join(root, 'images'), { recursive: true });
    const scenes = new tt.data.DetectionScenes({ n: 3, size: 48, seed: 6 });
    // Scene classes 1…5 become COCO ids 2, 4, … 10, with names.
    const images = [],
      annotations = [];
    for (let i = 0; i < scenes.length; i++) {
      const s = scenes.get(i);
      tt.writeImage(join(root, 'images', `s${i}.png`), s.image);
      images.push({ id: i + 1, file_name: `s${i}.png`, height: 48, width: 48 });
      const b = s.boxes.dataView(),
        l = s.labels.dataView();
      for (let k = 0; k < l.length; k++) {
        const [x1, y1, x2, y2] = [b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]];
        annotations.push({
          id: annotations.length + 1,
          image_id: i + 1,
          category_id: 2 * Number(l[k]),
          bbox: [x1, y1, x2 - x1, y2 - y1],
          area: (x2 - x1) * (y2 - y1),
          iscrowd: 0,
        });
      }
    }
    const categories = scenes.classes.map((c, k) => ({ id: 2 * (k + 1), name: c }));
    writeFileSync(join(root, 'annotations.json'), JSON.stringify({ images, annotations, categories }));
    const run = join(dir, 'run');
    const log = await capture(() =>
      program().parseAsync([
        'node',
        'tatami',
        'train',
        '--task',
        'detect',
        '--data',
        root,
        '--val-split',
        '0.34',
        ...TINY,
        '--out',
        run,
      ]),
    );
    assert.ok(
      log.some((l) => /10 classes \+ background; 2 training \/ 1 validation images \[coco /.test(l)),
      log.join('\n'),
    );
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { classNames: string[] };
    assert.deepEqual(cfg.classNames, [
      'background',
      '',
      'circle',
      '',
      'square',
      '',
      'triangle',
      '',
      'star',
      '',
      'ring',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --model yolox_nano: the registered YOLOX trains and evaluates through the detection CLI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tt-detcli-yolox-'));
  try {
    const run = join(dir, 'run');
    tt.manualSeed(0);
    const log = await capture(() =>
      program().parseAsync([
        'node',
        'tatami',
        'train',
        '--model',
        'yolox_nano',
        ...TINY,
        '--scenes',
        '4',
        '--out',
        run,
      ]),
    );
    assert.ok(
      log.some((l) => /parameters, 5 classes \+ background/.test(l)),
      log.join('\n'),
    );
    const h = JSON.parse(readFileSync(join(run, 'history.jsonl'), 'utf8').trim()) as Record<string, number>;
    for (const k of ['trainLoss', 'trainBboxRegression', 'trainObjectness', 'trainClassification', 'valAP50'])
      assert.ok(Number.isFinite(h[k]), k);
    const evalLog = await capture(() => program().parseAsync(['node', 'tatami', 'eval', '--run', run]));
    assert.match(evalLog.join('\n'), /Average Precision {2}\(AP\) @\[ IoU=0\.50 {6}\| area= {3}all \| maxDets=100 \]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
