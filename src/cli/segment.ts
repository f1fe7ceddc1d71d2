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
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { choice, integer, positiveInt, positiveNumber } from './common.js';
import { noGrad } from '../autograd/grad-mode.js';
import { DataLoader } from '../data/dataloader.js';
import type { Dataset } from '../data/dataset.js';
import { SegmentationScenes } from '../data/segmentation-scenes.js';
import { SegmentationFolder } from '../data/segmentation.js';
import { RandomScaleCrop } from '../data/seg-transforms.js';
import { Compose, RandomHorizontalFlip } from '../data/transforms.js';
import { encodeIndexedPng, vocPalette } from '../io/indexed-png.js';
import { readImage, writeImage } from '../io/image.js';
import { loadSafetensors } from '../io/safetensors.js';
import { getSegmentationModel, type SegmentationModelOptions, type SegmentationModule } from '../models/segmentation/index.js';
import { Adam } from '../optim/adam.js';
import { readCheckpoint } from '../train/checkpoint.js';
import { evaluate, fit } from '../train/fit.js';
import { SegmentationMetric } from '../train/seg-metrics.js';
import { argmax } from '../ops/reduce.js';
import { Tensor } from '../tensor/tensor.js';

/** What a run folder's config.json records, to rebuild the model for eval and predict. */
export interface SegmentRunConfig {
  model: string;
  modelOptions: SegmentationModelOptions;
  numClasses: number;
  classNames: string[];
  data: string;
  size: number;
  ignoreIndex: number;
}

function datasets(data: string, size: number, numClasses: number | undefined, scenes: number): { train: Dataset<[Tensor, Tensor]>; val: Dataset<[Tensor, Tensor]>; numClasses: number; classNames: string[] } {
  const aug = new Compose([new RandomScaleCrop(size, { scale: [0.75, 1.5] }), new RandomHorizontalFlip()]);
  if (data === 'scenes') {
    const train = new SegmentationScenes({ n: scenes, size, seed: 1, transform: new RandomHorizontalFlip() });
    return { train, val: new SegmentationScenes({ n: Math.max(50, Math.round(scenes / 8)), size, seed: 2 }), numClasses: train.numClasses, classNames: train.classNames };
  }
  if (!numClasses) throw new Error('segment train: --num-classes is required with a folder dataset');
  const train = new SegmentationFolder({ root: data, split: 'train', transform: aug });
  const val = new SegmentationFolder({ root: data, split: 'val' });
  return { train, val, numClasses, classNames: Array.from({ length: numClasses }, (_, i) => String(i)) };
}

async function loadRun(run: string): Promise<{ cfg: SegmentRunConfig; model: SegmentationModule }> {
  const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as SegmentRunConfig;
  const model = getSegmentationModel(cfg.model, { ...cfg.modelOptions, numClasses: cfg.numClasses });
  model.loadStateDict((await readCheckpoint(join(run, 'best.safetensors'))).model);
  return { cfg, model };
}

/** Colour overlay: the image blended 50/50 with the palette colours of the predicted classes (background kept). */
function overlay(image: Tensor, mask: Int32Array, palette: Uint8Array): Tensor {
  const [c, h, w] = image.shape;
  const src = image.dataView(), out = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = src[(c === 1 ? 0 : k) * h * w + p];
      out[k * h * w + p] = mask[p] === 0 ? v : 0.5 * v + 0.5 * (palette[3 * mask[p] + k] / 255);
    }
  }
  return new Tensor(out, [3, h, w], 'float32');
}

/** Adds `segment train|eval|predict` to the program. */
export function registerSegmentCommands(program: Command): void {
  const seg = program.command('segment').description('semantic segmentation: train, eval, predict (see `tatami segment train --help`)');
  seg.command('train')
    .description('train a segmentation model on the procedural scenes or a folder (images/ + masks/ in train/ and val/)')
    .option('--model <name>', 'segmentation model (unet, unet_plus_plus, segnet, deeplabv3plus_mobilenet_v2, lraspp_mobilenet_v3_large, …)', 'unet')
    .option('--model-options <json>', 'builder options as JSON, e.g. \'{"baseChannels":16,"depth":3}\'', '{}')
    .option('--data <dir|scenes>', "'scenes' (procedural) or a SegmentationFolder root with train/ and val/", 'scenes')
    .option('--num-classes <n>', 'classes including background (folder datasets)', positiveInt('--num-classes'))
    .option('--scenes <n>', 'number of procedural training scenes', positiveInt('--scenes'), 2000)
    .option('--size <n>', 'scene size / training crop size', positiveInt('--size'), 64)
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 10)
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), 16)
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'), 2e-3)
    .option('--ignore-index <n>', 'mask value to ignore (padding, VOC borders)', integer('--ignore-index'), 255)
    .option('--out <dir>', 'run folder', 'runs/segment')
    .action(async (o: { model: string; modelOptions: string; data: string; numClasses?: number; scenes: number; size: number; epochs: number; batchSize: number; lr: number; ignoreIndex: number; out: string }) => {
      const ds = datasets(o.data, o.size, o.numClasses, o.scenes);
      const modelOptions = JSON.parse(o.modelOptions) as SegmentationModelOptions;
      const model = getSegmentationModel(o.model, { ...modelOptions, numClasses: ds.numClasses });
      await mkdir(o.out, { recursive: true });
      const cfg: SegmentRunConfig = { model: o.model, modelOptions, numClasses: ds.numClasses, classNames: ds.classNames, data: o.data, size: o.size, ignoreIndex: o.ignoreIndex };
      writeFileSync(join(o.out, 'config.json'), JSON.stringify(cfg, null, 2));
      console.log(`${o.model}: ${model.numParameters().toLocaleString('en-US')} parameters, ${ds.train.length} training / ${ds.val.length} validation images, ${ds.numClasses} classes`);
      await fit(model, new DataLoader(ds.train, { batchSize: o.batchSize, shuffle: true }), {
        epochs: o.epochs, optimizer: new Adam(model.parameters(), { lr: o.lr }), valLoader: new DataLoader(ds.val, { batchSize: o.batchSize }),
        ignoreIndex: o.ignoreIndex, metrics: [new SegmentationMetric(ds.numClasses, { ignoreIndex: o.ignoreIndex })], monitor: 'valMIoU', outDir: o.out,
      });
      console.log(`saved ${join(o.out, 'best.safetensors')} (best valMIoU)`);
    });
  seg.command('eval')
    .description('per-class IoU, mIoU, pixel accuracy of a run on its validation data')
    .requiredOption('--run <dir>', 'run folder of `segment train`')
    .action(async (o: { run: string }) => {
      const { cfg, model } = await loadRun(o.run);
      const { val } = datasets(cfg.data, cfg.size, cfg.numClasses, 2000);
      const metric = new SegmentationMetric(cfg.numClasses, { ignoreIndex: cfg.ignoreIndex, report: ['mIoU', 'pixelAccuracy', 'fwIoU', 'mDice'] });
      const r = await evaluate(model, new DataLoader(val, { batchSize: 16 }), { ignoreIndex: cfg.ignoreIndex, metrics: [metric] });
      const iou = metric.matrix.iou();
      for (let c = 0; c < cfg.numClasses; c++) console.log(`${cfg.classNames[c].padEnd(12)} IoU ${Number.isNaN(iou[c]) ? '   -' : iou[c].toFixed(4)}`);
      console.log(Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' · '));
    });
  seg.command('predict')
    .description('write the predicted mask (palette PNG, VOC colours) and a colour overlay for an image')
    .argument('<image>', 'PNG or JPEG image')
    .option('--run <dir>', 'run folder of `segment train`')
    .option('--model <name>', 'a registered model, with --weights (e.g. torchvision weights from tools/export_torchvision.py)')
    .option('--weights <file>', '.safetensors state dict for --model')
    .option('--num-classes <n>', 'classes of --model', positiveInt('--num-classes'), 21)
    .option('--normalize <kind>', "'imagenet' (torchvision weights) or 'none' (default: imagenet with --model, none with --run)", choice('--normalize', ['imagenet', 'none'] as const))
    .option('--out <file>', 'mask PNG; the overlay goes beside it as *-overlay.png', 'mask.png')
    .action(async (path: string, o: { run?: string; model?: string; weights?: string; numClasses: number; normalize?: 'imagenet' | 'none'; out: string }) => {
      let model: SegmentationModule;
      if (o.run) model = (await loadRun(o.run)).model;
      else if (o.model && o.weights) {
        model = getSegmentationModel(o.model, { numClasses: o.numClasses, auxLoss: false });
        const sd = await loadSafetensors(o.weights);
        // torchvision's pretrained files carry the aux head; inference does not need it.
        const res = model.loadStateDict(Object.fromEntries(Object.entries(sd).filter(([k]) => !k.startsWith('aux_classifier.'))));
        if (res.missingKeys.length) throw new Error(`segment predict: ${o.weights} lacks ${res.missingKeys.slice(0, 5).join(', ')}`);
      } else throw new Error('segment predict: pass --run DIR, or --model NAME with --weights FILE');
      const u8 = readImage(path, { mode: 'rgb' });
      const d = u8.dataView();
      const [c, h, w] = u8.shape;
      const img = new Float32Array(d.length);
      for (let i = 0; i < d.length; i++) img[i] = d[i] / 255;
      const image = new Tensor(img, [c, h, w], 'float32');
      const norm = o.normalize ?? (o.run ? 'none' : 'imagenet');
      const x = new Float32Array(img);
      if (norm === 'imagenet') {
        const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
        for (let k = 0; k < 3; k++) for (let p = 0; p < h * w; p++) x[k * h * w + p] = (x[k * h * w + p] - mean[k]) / std[k];
      }
      model.eval();
      const out = noGrad(() => model.forward(new Tensor(x, [1, c, h, w], 'float32'))).out;
      const labels = Int32Array.from(argmax(out, 1).dataView());
      const palette = vocPalette();
      writeFileSync(o.out, encodeIndexedPng({ width: w, height: h, indices: Uint8Array.from(labels), palette }));
      const overlayPath = o.out.replace(/\.png$/i, '') + '-overlay.png';
      writeImage(overlayPath, overlay(image, labels, palette));
      const counts = new Map<number, number>();
      for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
      console.log(`wrote ${o.out} and ${overlayPath}; classes: ${[...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${(100 * n / labels.length).toFixed(1)}%`).join(', ')}`);
    });
}
