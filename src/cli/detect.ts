/**
 * Object detection from the command line — `tatami train --task detect`, and the detection branches of `tatami
 * eval` and `tatami predict`:
 *
 *   tatami train --task detect --model fasterrcnn_mobilenet_v3_large_fpn --epochs 10 --out runs/det
 *   tatami train --task detect --model retinanet_resnet50_fpn --data DIR --out runs/mine     (COCO, VOC or YOLO folder)
 *   tatami eval --run runs/det                      (the COCO table on the validation images)
 *   tatami predict --run runs/det photo.png --out boxes.png      (boxes, labels, scores, masks drawn; JSON printed)
 *
 * Without --data the procedural DetectionScenes are used (training seed 1, validation seed 2). A folder is read as
 * COCO (an instances .json, images in images/ or beside it), Pascal VOC (Annotations/, JPEGImages/, ImageSets/Main)
 * or YOLO (images/ + labels/, class names in classes.txt); with train/ and val/ sub-folders those are the splits,
 * else `--val-split` of the images is held out. The run folder holds config.json, history.jsonl, best.safetensors
 * (best valAP), last.safetensors and model.safetensors.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { noGrad } from '../autograd/grad-mode.js';
import { DataLoader } from '../data/dataloader.js';
import { Dataset, Subset } from '../data/dataset.js';
import {
  CocoDetection,
  VocDetection,
  YoloDetection,
  detectionListCollate,
  type DetectionSample,
} from '../data/detection-datasets.js';
import { DetectionScenes } from '../data/detection-scenes.js';
import { randomSplit } from '../data/split.js';
import { RandomHorizontalFlip } from '../data/transforms.js';
import { readImage, writeImage } from '../io/image.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { getDetector, getModelInfo, listModels, type DetectorModule, type ModelOptions } from '../models/index.js';
import type { Parameter } from '../nn/parameter.js';
import * as optim from '../optim/index.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { readCheckpoint } from '../train/checkpoint.js';
import { formatCocoStats, type CocoStats } from '../train/coco-eval.js';
import { DETECTION_METRIC_NAMES, MeanAveragePrecision } from '../train/det-metric.js';
import { evaluate, fit, type EpochRecord } from '../train/fit.js';
import { drawDetections } from '../viz/det-draw.js';
import { writeDetectionReport } from '../viz/det-report.js';
import { CliError, taskScheduler, type TaskSchedule } from './common.js';

/** What a detection run's config.json records, to rebuild the model and data for eval and predict. */
export interface DetectRunConfig {
  /** Marks a detection run: `tatami eval` / `predict` dispatch on it. */
  task: 'detect';
  model: string;
  /** Builder options (numClasses is added from the data). */
  modelOptions: ModelOptions;
  /** Classes including background (label values 0 … numClasses − 1). */
  numClasses: number;
  /** Names by label value ('background' first; '' for unused COCO ids). */
  classNames: string[];
  /** 'scenes' or a dataset folder. */
  data: string;
  size: number;
  scenes?: number;
  valSplit: number;
  seed: number;
}

/** Options of a detection training run (`tatami train --task detect`). */
export interface DetectTrainConfig {
  model: string;
  /** Builder options as JSON (merged over the size defaults: minSize = maxSize = size for the R-CNN family). */
  modelOptions: ModelOptions;
  /** 'scenes' (procedural) or a COCO / VOC / YOLO folder. */
  data: string;
  /** Procedural training scenes (validation: an eighth as many, at least 8). */
  scenes: number;
  /** Scene side; the detectors' resize target (minSize = maxSize) unless modelOptions say otherwise. */
  size: number;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: TaskSchedule;
  /** Held-out fraction of a folder without train/ and val/ splits. */
  valSplit: number;
  seed: number;
  out: string;
  progress: boolean;
  /** Also write <out>/report.html (curves, COCO table, ground truth | prediction pictures). */
  report: boolean;
}

/** Defaults of a detection run (torchvision's reference recipe: SGD, momentum 0.9, weight decay 1e-4). */
export const DEFAULT_DETECT_CONFIG: DetectTrainConfig = {
  model: 'fasterrcnn_mobilenet_v3_large_fpn',
  modelOptions: {},
  data: 'scenes',
  scenes: 1000,
  size: 128,
  epochs: 10,
  batchSize: 4,
  optimizer: 'sgd',
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 1e-4,
  schedule: 'cosine',
  valSplit: 0.2,
  seed: 0,
  out: 'runs/detect',
  progress: true,
  report: false,
};

/** The registered detectors' names. */
function detectorNames(): string[] {
  return listModels()
    .filter((m) => m.task === 'detect')
    .map((m) => m.name);
}

/** Whether `name` is a registered detector. */
export function isDetector(name: string): boolean {
  try {
    return getModelInfo(name).task === 'detect';
  } catch {
    return false;
  }
}

/** Builds the detector for a run: the size options first (SSDs have their fixed input), then the user's. */
export function buildDetector(name: string, numClasses: number, size: number, opts: ModelOptions): DetectorModule {
  if (!isDetector(name))
    throw new CliError(
      `--model ${name} is not a detector; detectors: ${detectorNames().join(', ')} (\`tatami models\` lists all)`,
    );
  // The R-CNN family, RetinaNet and FCOS resize to minSize/maxSize; SSDs have a fixed input, YOLOX pads to 32.
  const sized = /rcnn|retinanet|fcos/.test(name) ? { minSize: size, maxSize: size } : {};
  return getDetector(name, { ...sized, ...opts, numClasses });
}

/** YOLO class indices are 0-based; the detectors keep 0 for the background. */
class ShiftLabels extends Dataset<DetectionSample> {
  constructor(private readonly inner: Dataset<DetectionSample>) {
    super();
  }
  get length(): number {
    return this.inner.length;
  }
  get(i: number): DetectionSample {
    const s = this.inner.get(i);
    const l = s.labels.dataView();
    return {
      ...s,
      labels: new Tensor(
        Int32Array.from(l, (v) => Number(v) + 1),
        [l.length],
        'int32',
      ),
    };
  }
}

interface FolderSet {
  /** Opens the set, with the training augmentation or without. */
  open(augment: boolean, split: string): Dataset<DetectionSample>;
  classNames: string[];
  format: 'coco' | 'voc' | 'yolo';
}

function cocoJson(dir: string): string | null {
  for (const f of ['annotations.json', 'instances.json']) if (existsSync(join(dir, f))) return join(dir, f);
  const jsons = readdirSync(dir).filter((f) => extname(f) === '.json');
  if (jsons.length === 1) return join(dir, jsons[0]);
  const ann = join(dir, 'annotations');
  if (existsSync(ann)) {
    const inst = readdirSync(ann).filter((f) => extname(f) === '.json');
    if (inst.length === 1) return join(ann, inst[0]);
  }
  return null;
}

/** Recognises the folder's format. */
function folderSet(dir: string): FolderSet {
  const aug = (augment: boolean) => (augment ? { transform: new RandomHorizontalFlip() } : {});
  if (existsSync(join(dir, 'Annotations')) && existsSync(join(dir, 'JPEGImages'))) {
    const probe = new VocDetection(dir, {
      imageSet: existsSync(join(dir, 'ImageSets/Main/train.txt')) ? 'train' : 'trainval',
    });
    return {
      format: 'voc',
      classNames: ['background', ...probe.classes],
      open: (augment, split) => new VocDetection(dir, { imageSet: split, ...aug(augment) }),
    };
  }
  const json = cocoJson(dir);
  if (json) {
    const images = existsSync(join(dir, 'images')) ? join(dir, 'images') : dir;
    const probe = new CocoDetection(images, json);
    const maxId = Math.max(0, ...probe.categoryNames.keys());
    const names = Array.from({ length: maxId + 1 }, (_, i) =>
      i === 0 ? 'background' : (probe.categoryNames.get(i) ?? ''),
    );
    return {
      format: 'coco',
      classNames: names,
      open: (augment) => new CocoDetection(images, json, { masks: false, ...aug(augment) }),
    };
  }
  if (existsSync(join(dir, 'images')) && existsSync(join(dir, 'labels'))) {
    const namesFile = join(dir, 'classes.txt');
    let names: string[];
    if (existsSync(namesFile))
      names = readFileSync(namesFile, 'utf8')
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter(Boolean);
    else {
      // Without classes.txt the classes are the indices that occur.
      const ds = new YoloDetection(dir);
      let max = -1;
      for (let i = 0; i < ds.length; i++) for (const v of ds.load(i).labels.dataView()) max = Math.max(max, Number(v));
      names = Array.from({ length: max + 1 }, (_, i) => String(i));
    }
    return {
      format: 'yolo',
      classNames: ['background', ...names],
      open: (augment) => new ShiftLabels(new YoloDetection(dir, aug(augment))),
    };
  }
  throw new CliError(
    `--data ${dir}: not a detection dataset folder (expected a COCO instances .json with images/, a VOC folder with Annotations/ and JPEGImages/, or YOLO images/ + labels/; or train/ and val/ folders of those)`,
  );
}

interface DetSets {
  train: Dataset<DetectionSample>;
  val: Dataset<DetectionSample>;
  classNames: string[];
  source: string;
}

function datasets(cfg: Pick<DetectRunConfig, 'data' | 'size' | 'scenes' | 'valSplit' | 'seed'>): DetSets {
  if (cfg.data === 'scenes') {
    const n = cfg.scenes ?? 1000;
    const train = new DetectionScenes({ n, size: cfg.size, seed: 1, transform: new RandomHorizontalFlip() });
    return {
      train,
      val: new DetectionScenes({ n: Math.max(8, Math.round(n / 8)), size: cfg.size, seed: 2 }),
      classNames: ['background', ...train.classes],
      source: 'DetectionScenes (procedural)',
    };
  }
  if (!existsSync(cfg.data)) throw new CliError(`--data ${cfg.data}: no such folder`);
  const [tr, va] = [join(cfg.data, 'train'), join(cfg.data, 'val')];
  if (existsSync(tr) && existsSync(va)) {
    const a = folderSet(tr),
      b = folderSet(va);
    return {
      train: a.open(true, 'train'),
      val: b.open(false, 'val'),
      classNames: a.classNames,
      source: `${a.format} ${cfg.data}`,
    };
  }
  const f = folderSet(cfg.data);
  if (f.format === 'voc' && existsSync(join(cfg.data, 'ImageSets/Main/val.txt')))
    return {
      train: f.open(true, 'train'),
      val: f.open(false, 'val'),
      classNames: f.classNames,
      source: `voc ${cfg.data}`,
    };
  const all = f.open(false, 'trainval');
  const nVal = Math.max(1, Math.round(all.length * cfg.valSplit));
  if (all.length - nVal < 1)
    throw new CliError(`--data ${cfg.data}: ${all.length} images are too few to hold out ${nVal}`);
  const [trs, vas] = randomSplit(all, [all.length - nVal, nVal], { generator: new Generator(cfg.seed) });
  return {
    train: new Subset(f.open(true, 'trainval'), trs.indices),
    val: vas,
    classNames: f.classNames,
    source: `${f.format} ${cfg.data}`,
  };
}

/** Whether `dir` holds a detection run. */
export function isDetectRun(dir: string): boolean {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return false;
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { task?: unknown }).task === 'detect';
  } catch {
    return false;
  }
}

async function loadRun(run: string): Promise<{ cfg: DetectRunConfig; model: DetectorModule }> {
  const path = join(run, 'config.json');
  if (!existsSync(path))
    throw new CliError(`--run ${run}: ${path} is missing (expected the folder of a detection run)`);
  const cfg = JSON.parse(readFileSync(path, 'utf8')) as DetectRunConfig;
  const model = buildDetector(cfg.model, cfg.numClasses, cfg.size, cfg.modelOptions);
  const best = join(run, 'best.safetensors');
  model.loadStateDict(
    existsSync(best) ? (await readCheckpoint(best)).model : await loadSafetensors(join(run, 'model.safetensors')),
  );
  return { cfg, model };
}

function makeOptimizer(cfg: DetectTrainConfig, params: readonly Parameter[]): optim.Optimizer {
  const trainable = params.filter((p) => p.requiresGrad);
  switch (cfg.optimizer) {
    case 'sgd':
      return new optim.SGD(trainable, { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
    case 'adam':
      return new optim.Adam(trainable, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    case 'adamw':
      return new optim.AdamW(trainable, { lr: cfg.lr, weightDecay: cfg.weightDecay || 1e-2 });
  }
}

/** Trains a detector with fit (loss dict, valAP / valAP50), writes the run folder and optionally report.html. */
export async function runDetectTrain(
  cfg: DetectTrainConfig,
  log: (line: string) => void = (l) => console.log(l),
): Promise<{ history: EpochRecord[]; stats: CocoStats }> {
  manualSeed(cfg.seed);
  const ds = datasets({ data: cfg.data, size: cfg.size, scenes: cfg.scenes, valSplit: cfg.valSplit, seed: cfg.seed });
  const numClasses = ds.classNames.length;
  const model = buildDetector(cfg.model, numClasses, cfg.size, cfg.modelOptions);
  await mkdir(cfg.out, { recursive: true });
  const run: DetectRunConfig = {
    task: 'detect',
    model: cfg.model,
    modelOptions: cfg.modelOptions,
    numClasses,
    classNames: ds.classNames,
    data: cfg.data,
    size: cfg.size,
    valSplit: cfg.valSplit,
    seed: cfg.seed,
  };
  if (cfg.data === 'scenes') run.scenes = cfg.scenes;
  writeFileSync(join(cfg.out, 'config.json'), JSON.stringify(run, null, 2) + '\n');
  log(
    `${cfg.model}: ${model.numParameters().toLocaleString('en-US')} parameters, ${numClasses - 1} classes + background; ` +
      `${ds.train.length} training / ${ds.val.length} validation images [${ds.source}] · ${cfg.optimizer} lr ${cfg.lr} · batch ${cfg.batchSize} · ${cfg.epochs} epochs`,
  );
  const loader = new DataLoader(ds.train, { batchSize: cfg.batchSize, shuffle: true, collate: detectionListCollate });
  const valLoader = new DataLoader(ds.val, { batchSize: cfg.batchSize, collate: detectionListCollate });
  const optimizer = makeOptimizer(cfg, model.parameters());
  const { scheduler, schedulerPerBatch } = taskScheduler(cfg.schedule, optimizer, cfg.lr, cfg.epochs, loader.length);
  const history = await fit(model, loader, {
    epochs: cfg.epochs,
    optimizer,
    scheduler,
    schedulerPerBatch,
    valLoader,
    metrics: [new MeanAveragePrecision()],
    monitor: 'valAP',
    outDir: cfg.out,
    progress: cfg.progress,
    log,
  });
  await saveSafetensors(join(cfg.out, 'model.safetensors'), model.stateDict());
  const metric = new MeanAveragePrecision({ report: DETECTION_METRIC_NAMES });
  await evaluate(model, valLoader, { metrics: [metric] });
  log(`validation (last epoch's weights), COCO box evaluation:\n${formatCocoStats(metric.stats!)}`);
  if (cfg.report) {
    const path = join(cfg.out, 'report.html');
    writeDetectionReport(path, {
      history,
      model,
      loader: valLoader,
      classNames: ds.classNames,
      title: `${cfg.model} on ${ds.source}`,
    });
    log(`wrote ${path}`);
  }
  log(`saved ${join(cfg.out, 'best.safetensors')} (best valAP) and ${join(cfg.out, 'model.safetensors')} (last)`);
  return { history, stats: metric.stats! };
}

/** Prints the COCO table (box AP, and mask AP for Mask R-CNN) of a run's best weights on its validation images. */
export async function runDetectEval(
  runDir: string,
  log: (line: string) => void = (l) => console.log(l),
): Promise<{ bbox: CocoStats; segm?: CocoStats }> {
  const { cfg, model } = await loadRun(runDir);
  const { val, source } = datasets(cfg);
  const bbox = new MeanAveragePrecision({ report: DETECTION_METRIC_NAMES });
  const masks = cfg.model.startsWith('maskrcnn') && val.length > 0 && val.get(0).mask !== undefined;
  const segm = masks ? new MeanAveragePrecision({ iouType: 'segm', report: DETECTION_METRIC_NAMES }) : null;
  await evaluate(model, new DataLoader(val, { batchSize: 4, collate: detectionListCollate }), {
    metrics: segm ? [bbox, segm] : [bbox],
  });
  log(`${cfg.model} from ${runDir} on ${source} (${val.length} validation images)`);
  log(`box (iouType bbox):\n${formatCocoStats(bbox.stats!)}`);
  if (segm) log(`mask (iouType segm):\n${formatCocoStats(segm.stats!)}`);
  return segm ? { bbox: bbox.stats!, segm: segm.stats! } : { bbox: bbox.stats! };
}

/** Options of `runDetectPredict`. */
export interface DetectPredictOptions {
  run?: string;
  /** A registered detector with `weights` (e.g. torchvision's, exported with tools/export_torchvision.py). */
  model?: string;
  weights?: string;
  /** Classes of `model` with background (default 91, COCO's). */
  numClasses?: number;
  /** Detections drawn and printed at or above this score (default 0.5). */
  scoreThreshold?: number;
  /** PNG with the detections drawn. */
  out: string;
}

/** One printed detection. */
export interface PrintedDetection {
  label: number;
  name: string;
  score: number;
  /** (x1, y1, x2, y2) in the image's pixels. */
  box: [number, number, number, number];
  /** Mask pixels (Mask R-CNN), at probability > 0.5. */
  maskArea?: number;
}

/** Detects objects in one image: draws them into `out` (PNG) and returns (and prints) them as JSON. */
export async function runDetectPredict(
  path: string,
  o: DetectPredictOptions,
  log: (line: string) => void = (l) => console.log(l),
): Promise<{ image: string; out: string; detections: PrintedDetection[] }> {
  if (!existsSync(path)) throw new CliError(`no such image file: ${path}`);
  let model: DetectorModule;
  let names: readonly string[] = [];
  if (o.run) {
    const r = await loadRun(o.run);
    model = r.model;
    names = r.cfg.classNames;
  } else if (o.model && o.weights) {
    if (!existsSync(o.weights)) throw new CliError(`--weights ${o.weights}: no such file`);
    model = buildDetector(o.model, o.numClasses ?? 91, 800, {});
    const res = model.loadStateDict(await loadSafetensors(o.weights));
    if (res.missingKeys.length)
      throw new CliError(`--weights ${o.weights} lacks ${res.missingKeys.slice(0, 5).join(', ')} of ${o.model}`);
  } else throw new CliError('detection predict: pass --run DIR, or --model NAME with --weights FILE');
  const u8 = readImage(path, { mode: 'rgb' });
  const d = u8.dataView();
  const image = new Tensor(
    Float32Array.from(d, (v) => v / 255),
    u8.shape,
    'float32',
  );
  model.eval();
  const det = noGrad(() => model.forward([image]))[0 as never] as {
    boxes: Tensor;
    scores: Tensor;
    labels: Tensor;
    masks?: Tensor;
  };
  const thr = o.scoreThreshold ?? 0.5;
  const drawn = drawDetections(image, det, { classNames: names, scoreThreshold: thr });
  writeImage(o.out, drawn);
  const b = det.boxes.dataView(),
    s = det.scores.dataView(),
    l = det.labels.dataView();
  const [h, w] = [u8.shape[1], u8.shape[2]];
  const m = det.masks?.contiguous().dataView();
  const detections: PrintedDetection[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] < thr) continue;
    const label = Number(l[i]);
    const p: PrintedDetection = {
      label,
      name: names[label] ?? String(label),
      score: Number(Number(s[i]).toFixed(4)),
      box: [0, 1, 2, 3].map((k) => Number(Number(b[4 * i + k]).toFixed(2))) as [number, number, number, number],
    };
    if (m) {
      let area = 0;
      for (let q = 0; q < h * w; q++) if (m[i * h * w + q] > 0.5) area++;
      p.maskArea = area;
    }
    detections.push(p);
  }
  const result = { image: path, out: o.out, detections };
  log(JSON.stringify(result, null, 2));
  return result;
}
