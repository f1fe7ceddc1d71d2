/**
 * `tatami segment train | eval | predict`: semantic segmentation from the command line.
 *
 *   tatami segment train --model unet --data scenes --epochs 10 --out runs/seg
 *   tatami segment train --model deeplabv3plus_mobilenet_v2 --data DIR --num-classes 3 --out runs/pets
 *   tatami segment eval --run runs/seg                       (per-class IoU on the validation split)
 *   tatami segment predict --run runs/seg photo.png --out mask.png    (palette mask + colour overlay)
 *   tatami segment predict --model deeplabv3_resnet50 --weights dlv3.safetensors photo.jpg
 *
 * `--data scenes` is the procedural SegmentationScenes set (training seed 1, validation seed 2); a folder is
 * the SegmentationFolder format with train/ and val/ splits (images/ + masks/). A run folder holds config.json,
 * history.jsonl, best.safetensors and last.safetensors.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { choice, integer, positiveInt, positiveNumber } from './common.js';
import { noGrad } from '../autograd/grad-mode.js';
import { DataLoader } from '../data/dataloader.js';
import type { Dataset } from '../data/dataset.js';
import { SegmentationScenes } from '../data/segmentation-scenes.js';
import { SegmentationFolder } from '../data/segmentation.js';
import { RandomScaleCrop } from '../data/seg-transforms.js';
import { Compose, IMAGENET_MEAN, IMAGENET_STD, RandomHorizontalFlip } from '../data/transforms.js';
import { encodeIndexedPng, vocPalette } from '../io/indexed-png.js';
import { readImage, writeImage } from '../io/image.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import {
  getSegmentationModel,
  type SegmentationModelOptions,
  type SegmentationModule,
  SegmentationTTA,
  type TtaMode,
} from '../models/segmentation/index.js';
import { Adam } from '../optim/adam.js';
import { crossEntropy } from '../ops/loss.js';
import { diceCELoss } from '../ops/seg-loss.js';
import { manualSeed } from '../tensor/random.js';
import { writeSegmentationReport } from '../viz/seg-report.js';
import { CliError, taskScheduler, type TaskSchedule } from './common.js';
import { readCheckpoint } from '../train/checkpoint.js';
import { evaluate, fit, type EpochRecord } from '../train/fit.js';
import { SegmentationMetric } from '../train/seg-metrics.js';
import { argmax } from '../ops/reduce.js';
import { Tensor } from '../tensor/tensor.js';

/** What a run folder's config.json records, to rebuild the model and data for eval and predict. */
export interface SegmentRunConfig {
  /** Marks a segmentation run: `tatami eval` / `predict` dispatch on it. */
  task: 'segment';
  model: string;
  modelOptions: SegmentationModelOptions;
  numClasses: number;
  classNames: string[];
  /** 'scenes' or a SegmentationFolder root. */
  data: string;
  size: number;
  ignoreIndex: number;
  /** Procedural scene options (data 'scenes'). */
  scenes?: { n: number; radius: [number, number]; objects: [number, number] };
}

/** Options of a segmentation training run (`tatami train --task segment`, `tatami segment train`). */
export interface SegmentTrainConfig {
  model: string;
  modelOptions: SegmentationModelOptions;
  /** 'scenes' (procedural) or a SegmentationFolder root with train/ and val/. */
  data: string;
  /** Classes including background (folder datasets; the scenes know theirs). */
  numClasses?: number;
  scenes: number;
  sceneRadius: [number, number];
  sceneObjects: [number, number];
  size: number;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule: TaskSchedule;
  loss: 'ce' | 'dice-ce';
  ignoreIndex: number;
  seed: number;
  out: string;
  progress: boolean;
  /** Also write <out>/report.html (curves, per-class IoU, image | truth | prediction rows). */
  report: boolean;
}

/** Defaults of a segmentation run; the scene options are `SegmentationScenes`' own. */
export const DEFAULT_SEGMENT_CONFIG: SegmentTrainConfig = {
  model: 'unet',
  modelOptions: {},
  data: 'scenes',
  scenes: 2000,
  sceneRadius: [0.07, 0.28],
  sceneObjects: [3, 6],
  size: 64,
  epochs: 10,
  batchSize: 16,
  lr: 2e-3,
  schedule: 'none',
  loss: 'ce',
  ignoreIndex: 255,
  seed: 0,
  out: 'runs/segment',
  progress: true,
  report: false,
};

/** Parses 'a,b' into a numeric pair for option `name`. */
export function numberPair(name: string) {
  return (v: string): [number, number] => {
    const parts = v.split(',').map((x) => Number(x.trim()));
    if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)))
      throw new InvalidArgumentError(`${name} must be two numbers 'a,b', got '${v}'`);
    return [parts[0], parts[1]];
  };
}

/** Parses a JSON object option (model options). */
export function jsonObject(name: string) {
  return (v: string): Record<string, unknown> => {
    let o: unknown;
    try {
      o = JSON.parse(v);
    } catch (e) {
      throw new InvalidArgumentError(`${name} must be a JSON object, got '${v}' (${(e as Error).message})`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o))
      throw new InvalidArgumentError(`${name} must be a JSON object, got '${v}'`);
    return o as Record<string, unknown>;
  };
}

type SegSets = {
  train: Dataset<[Tensor, Tensor]>;
  val: Dataset<[Tensor, Tensor]>;
  numClasses: number;
  classNames: string[];
};

function datasets(cfg: Pick<SegmentRunConfig, 'data' | 'size' | 'scenes'> & { numClasses?: number }): SegSets {
  const { data, size } = cfg;
  if (data === 'scenes') {
    const sc = cfg.scenes ?? { n: 2000, radius: [0.07, 0.28] as [number, number], objects: [3, 6] as [number, number] };
    const opts = { size, radius: sc.radius, objects: sc.objects };
    const train = new SegmentationScenes({ n: sc.n, seed: 1, ...opts, transform: new RandomHorizontalFlip() });
    return {
      train,
      val: new SegmentationScenes({ n: Math.max(50, Math.round(sc.n / 8)), seed: 2, ...opts }),
      numClasses: train.numClasses,
      classNames: train.classNames,
    };
  }
  if (!cfg.numClasses)
    throw new CliError('segmentation training on a folder needs --num-classes (classes including background)');
  const aug = new Compose([new RandomScaleCrop(size, { scale: [0.75, 1.5] }), new RandomHorizontalFlip()]);
  const train = new SegmentationFolder({ root: data, split: 'train', transform: aug });
  const val = new SegmentationFolder({ root: data, split: 'val' });
  return {
    train,
    val,
    numClasses: cfg.numClasses,
    classNames: Array.from({ length: cfg.numClasses }, (_, i) => String(i)),
  };
}

/** Whether `dir` holds a segmentation run (its config.json says task 'segment' or has the segment fields). */
export function isSegmentRun(dir: string): boolean {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return false;
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    return (
      c.task === 'segment' ||
      (typeof c.modelOptions === 'object' && Array.isArray(c.classNames) && typeof c.ignoreIndex === 'number')
    );
  } catch {
    return false;
  }
}

async function loadRun(run: string): Promise<{ cfg: SegmentRunConfig; model: SegmentationModule }> {
  const path = join(run, 'config.json');
  if (!existsSync(path))
    throw new CliError(`--run ${run}: ${path} is missing (expected the output folder of a segmentation run)`);
  const cfg = JSON.parse(readFileSync(path, 'utf8')) as SegmentRunConfig;
  const model = getSegmentationModel(cfg.model, { ...cfg.modelOptions, numClasses: cfg.numClasses });
  model.loadStateDict((await readCheckpoint(join(run, 'best.safetensors'))).model);
  return { cfg, model };
}

/** Colour overlay: the image blended 50/50 with the palette colours of the predicted classes (background kept). */
function overlay(image: Tensor, mask: Int32Array, palette: Uint8Array): Tensor {
  const [c, h, w] = image.shape;
  const src = image.dataView(),
    out = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = src[(c === 1 ? 0 : k) * h * w + p];
      out[k * h * w + p] = mask[p] === 0 ? v : 0.5 * v + 0.5 * (palette[3 * mask[p] + k] / 255);
    }
  }
  return new Tensor(out, [3, h, w], 'float32');
}

/** Trains a segmentation model (fit with mIoU), writes config.json, history, checkpoints and optionally report.html. */
export async function runSegmentTrain(
  cfg: SegmentTrainConfig,
  log: (line: string) => void = (l) => console.log(l),
): Promise<{ history: EpochRecord[]; metrics: Record<string, number>; iou: number[] }> {
  manualSeed(cfg.seed);
  const scenes = { n: cfg.scenes, radius: cfg.sceneRadius, objects: cfg.sceneObjects };
  const ds = datasets({ data: cfg.data, size: cfg.size, scenes, numClasses: cfg.numClasses });
  const model = getSegmentationModel(cfg.model, { ...cfg.modelOptions, numClasses: ds.numClasses });
  await mkdir(cfg.out, { recursive: true });
  const run: SegmentRunConfig = {
    task: 'segment',
    model: cfg.model,
    modelOptions: cfg.modelOptions,
    numClasses: ds.numClasses,
    classNames: ds.classNames,
    data: cfg.data,
    size: cfg.size,
    ignoreIndex: cfg.ignoreIndex,
  };
  if (cfg.data === 'scenes') run.scenes = scenes;
  writeFileSync(join(cfg.out, 'config.json'), JSON.stringify(run, null, 2) + '\n');
  log(
    `${cfg.model}: ${model.numParameters().toLocaleString('en-US')} parameters, ${ds.train.length} training / ${ds.val.length} validation images, ${ds.numClasses} classes`,
  );
  const loader = new DataLoader(ds.train, { batchSize: cfg.batchSize, shuffle: true });
  const valLoader = new DataLoader(ds.val, { batchSize: cfg.batchSize });
  const optimizer = new Adam(model.parameters(), { lr: cfg.lr });
  const { scheduler, schedulerPerBatch } = taskScheduler(cfg.schedule, optimizer, cfg.lr, cfg.epochs, loader.length);
  const ii = cfg.ignoreIndex;
  // Custom losses receive the model's output as it is: the `{ out, aux }` dict of the segmentation models.
  const lossOf = (o: Tensor, t: Tensor): Tensor => {
    const out = o instanceof Tensor ? o : (o as unknown as { out: Tensor }).out;
    return cfg.loss === 'dice-ce' ? diceCELoss(out, t, { ignoreIndex: ii }) : crossEntropy(out, t, { ignoreIndex: ii });
  };
  const history = await fit(model, loader, {
    epochs: cfg.epochs,
    optimizer,
    scheduler,
    schedulerPerBatch,
    valLoader,
    ignoreIndex: ii,
    loss: cfg.loss === 'ce' ? undefined : lossOf,
    metrics: [new SegmentationMetric(ds.numClasses, { ignoreIndex: ii })],
    monitor: 'valMIoU',
    outDir: cfg.out,
    progress: cfg.progress,
    log,
  });
  const metric = new SegmentationMetric(ds.numClasses, {
    ignoreIndex: ii,
    report: ['mIoU', 'pixelAccuracy', 'fwIoU', 'mDice'],
  });
  const r = await evaluate(model, valLoader, { ignoreIndex: ii, metrics: [metric] });
  await saveSafetensors(join(cfg.out, 'model.safetensors'), model.stateDict());
  const iou = metric.matrix.iou();
  log(
    `validation: ${Object.entries(r.metrics)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(' · ')}`,
  );
  log(
    `per-class IoU: ${ds.classNames.map((c, i) => `${c} ${Number.isNaN(iou[i]) ? '-' : iou[i].toFixed(3)}`).join(', ')}`,
  );
  if (cfg.report) {
    const path = join(cfg.out, 'report.html');
    writeSegmentationReport(path, {
      history,
      model,
      loader: valLoader,
      classNames: ds.classNames,
      ignoreIndex: ii,
      title: `${cfg.model} on ${cfg.data}`,
    });
    log(`wrote ${path}`);
  }
  log(`saved ${join(cfg.out, 'best.safetensors')} (best valMIoU) and ${join(cfg.out, 'model.safetensors')} (last)`);
  return { history, metrics: r.metrics, iou };
}

/** Prints per-class IoU, mIoU, pixel accuracy, fwIoU and mean Dice of a run on its validation data. */
export async function runSegmentEval(
  runDir: string,
  log: (line: string) => void = (l) => console.log(l),
  opts: { tta?: TtaMode } = {},
): Promise<{ metrics: Record<string, number>; iou: number[] }> {
  const { cfg, model: trained } = await loadRun(runDir);
  const model = withTta(trained, opts.tta);
  const { val } = datasets(cfg);
  const metric = new SegmentationMetric(cfg.numClasses, {
    ignoreIndex: cfg.ignoreIndex,
    report: ['mIoU', 'pixelAccuracy', 'fwIoU', 'mDice'],
  });
  const r = await evaluate(model, new DataLoader(val, { batchSize: 16 }), {
    ignoreIndex: cfg.ignoreIndex,
    metrics: [metric],
  });
  const iou = metric.matrix.iou();
  log(
    `${cfg.model} from ${join(runDir, 'best.safetensors')} on ${cfg.data} (${val.length} validation images${opts.tta ? `, ${opts.tta} test-time augmentation` : ''})`,
  );
  for (let c = 0; c < cfg.numClasses; c++)
    log(`${cfg.classNames[c].padEnd(12)} IoU ${Number.isNaN(iou[c]) ? '   -' : iou[c].toFixed(4)}`);
  log(
    Object.entries(r.metrics)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(' · '),
  );
  return { metrics: r.metrics, iou };
}

/** Options of `runSegmentPredict`. */
export interface SegmentPredictOptions {
  run?: string;
  model?: string;
  weights?: string;
  numClasses?: number;
  normalize?: string;
  /** Mask PNG path; the overlay goes beside it as *-overlay.png. */
  out: string;
  /** Test-time augmentation (`SegmentationTTA`'s mode); none by default. */
  tta?: TtaMode;
}

/** `--tta <mode>`, shared by `tatami eval`, `tatami predict` and `tatami segment eval | predict`. */
export function ttaOption(): Option {
  return new Option(
    '--tta <mode>',
    'segmentation: test-time augmentation — mean softmax over mirrored (flips, hflip) or mirrored and transposed (d4, square images) views',
  ).choices(['hflip', 'flips', 'd4']);
}

/** The model, or the model under `SegmentationTTA` when a mode is given (`d4` needs square images). */
function withTta(model: SegmentationModule, tta: TtaMode | undefined): SegmentationModule {
  return tta ? new SegmentationTTA(model, { mode: tta }) : model;
}

/** Writes the predicted palette mask and a colour overlay of one image. */
export async function runSegmentPredict(
  path: string,
  o: SegmentPredictOptions,
  log: (line: string) => void = (l) => console.log(l),
): Promise<{ mask: string; overlay: string }> {
  if (!existsSync(path)) throw new CliError(`no such image file: ${path}`);
  let model: SegmentationModule;
  if (o.run) model = (await loadRun(o.run)).model;
  else if (o.model && o.weights) {
    if (!existsSync(o.weights)) throw new CliError(`--weights ${o.weights}: no such file`);
    model = getSegmentationModel(o.model, { numClasses: o.numClasses ?? 21, auxLoss: false });
    const sd = await loadSafetensors(o.weights);
    // torchvision's pretrained files carry the aux head; inference does not need it.
    const res = model.loadStateDict(
      Object.fromEntries(Object.entries(sd).filter(([k]) => !k.startsWith('aux_classifier.'))),
    );
    if (res.missingKeys.length)
      throw new Error(`segment predict: ${o.weights} lacks ${res.missingKeys.slice(0, 5).join(', ')}`);
  } else throw new Error('segment predict: pass --run DIR, or --model NAME with --weights FILE');
  const u8 = readImage(path, { mode: 'rgb' });
  const d = u8.dataView();
  const [c, h, w] = u8.shape;
  const img = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) img[i] = d[i] / 255;
  const image = new Tensor(img, [c, h, w], 'float32');
  const norm = o.normalize ?? (o.run ? 'none' : 'imagenet');
  if (norm !== 'none' && norm !== 'imagenet')
    throw new CliError(`--normalize must be 'imagenet' or 'none', got '${norm}'`);
  const x = new Float32Array(img);
  if (norm === 'imagenet') {
    for (let k = 0; k < 3; k++)
      for (let p = 0; p < h * w; p++) x[k * h * w + p] = (x[k * h * w + p] - IMAGENET_MEAN[k]) / IMAGENET_STD[k];
  }
  model.eval();
  if (o.tta === 'd4' && h !== w)
    throw new CliError(`--tta d4 transposes the image, so it needs a square one; ${path} is ${w}×${h} (use flips)`);
  const out = noGrad(() => withTta(model, o.tta).forward(new Tensor(x, [1, c, h, w], 'float32'))).out;
  const labels = Int32Array.from(argmax(out, 1).dataView());
  const palette = vocPalette();
  writeFileSync(o.out, encodeIndexedPng({ width: w, height: h, indices: Uint8Array.from(labels), palette }));
  const overlayPath = o.out.replace(/\.png$/i, '') + '-overlay.png';
  writeImage(overlayPath, overlay(image, labels, palette));
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  log(
    `wrote ${o.out} and ${overlayPath}; classes: ${[...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${((100 * n) / labels.length).toFixed(1)}%`)
      .join(', ')}`,
  );
  return { mask: o.out, overlay: overlayPath };
}

/** Adds `segment train|eval|predict` to the program. */
export function registerSegmentCommands(program: Command): void {
  const seg = program
    .command('segment')
    .description('semantic segmentation: train, eval, predict (see `tatami segment train --help`)');
  const d = DEFAULT_SEGMENT_CONFIG;
  seg
    .command('train')
    .description(
      'train a segmentation model on the procedural scenes or a folder (images/ + masks/ in train/ and val/); same as `tatami train --task segment`',
    )
    .option(
      '--model <name>',
      'segmentation model (unet, unet_plus_plus, segnet, deeplabv3plus_mobilenet_v2, lraspp_mobilenet_v3_large, …)',
      d.model,
    )
    .option(
      '--model-options <json>',
      'builder options as JSON, e.g. \'{"baseChannels":16,"depth":3}\'',
      jsonObject('--model-options'),
      d.modelOptions,
    )
    .option('--data <dir|scenes>', "'scenes' (procedural) or a SegmentationFolder root with train/ and val/", d.data)
    .option('--num-classes <n>', 'classes including background (folder datasets)', positiveInt('--num-classes'))
    .option('--scenes <n>', 'number of procedural training scenes', positiveInt('--scenes'), d.scenes)
    .option(
      '--scene-radius <a,b>',
      'object radius range of the scenes, fraction of the side',
      numberPair('--scene-radius'),
      d.sceneRadius,
    )
    .option('--scene-objects <a,b>', 'objects per scene', numberPair('--scene-objects'), d.sceneObjects)
    .option('--size <n>', 'scene size / training crop size', positiveInt('--size'), d.size)
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), d.epochs)
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), d.batchSize)
    .option('--lr <x>', 'Adam learning rate (peak with onecycle)', positiveNumber('--lr'), d.lr)
    .addOption(
      new Option('--schedule <name>', 'learning-rate schedule')
        .default(d.schedule)
        .choices(['none', 'cosine', 'onecycle']),
    )
    .addOption(
      new Option('--loss <name>', 'per-pixel cross entropy, or cross entropy + soft Dice')
        .default(d.loss)
        .choices(['ce', 'dice-ce']),
    )
    .option(
      '--ignore-index <n>',
      'mask value to ignore (padding, VOC borders)',
      integer('--ignore-index'),
      d.ignoreIndex,
    )
    .option('--seed <n>', 'random seed', integer('--seed'), d.seed)
    .option('--no-progress', 'plain log lines instead of a progress bar')
    .option(
      '--report',
      'also write <out>/report.html (curves, per-class IoU, image | truth | prediction rows)',
      d.report,
    )
    .option('--out <dir>', 'run folder', d.out)
    .action(async (o: SegmentTrainConfig) => {
      await runSegmentTrain({ ...d, ...o });
    });
  seg
    .command('eval')
    .description('per-class IoU, mIoU, pixel accuracy of a run on its validation data')
    .requiredOption('--run <dir>', 'run folder of `segment train`')
    .addOption(ttaOption())
    .action(async (o: { run: string; tta?: TtaMode }) => {
      await runSegmentEval(o.run, undefined, { tta: o.tta });
    });
  seg
    .command('predict')
    .description('write the predicted mask (palette PNG, VOC colours) and a colour overlay for an image')
    .argument('<image>', 'PNG or JPEG image')
    .option('--run <dir>', 'run folder of `segment train`')
    .option(
      '--model <name>',
      'a registered model, with --weights (e.g. torchvision weights from tools/export_torchvision.py)',
    )
    .option('--weights <file>', '.safetensors state dict for --model')
    .option('--num-classes <n>', 'classes of --model', positiveInt('--num-classes'), 21)
    .option(
      '--normalize <kind>',
      "'imagenet' (torchvision weights) or 'none' (default: imagenet with --model, none with --run)",
      choice('--normalize', ['imagenet', 'none'] as const),
    )
    .option('--out <file>', 'mask PNG; the overlay goes beside it as *-overlay.png', 'mask.png')
    .addOption(ttaOption())
    .action(async (path: string, o: SegmentPredictOptions) => {
      await runSegmentPredict(path, o);
    });
}
