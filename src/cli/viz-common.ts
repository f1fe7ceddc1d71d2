/**
 * What the visualisation subcommands (features, filters, maximize, gradcam, saliency, attack, anomaly, graph)
 * share: the model options and loading (a run folder, zoo weights, or a quick training run), the input image, the
 * error wrapper.
 *
 * Models come from the zoo (`getModel(name)` of src/models/index.ts): `small_cnn` (default) is trained here for
 * `--train-steps` on the embedded Fashion-MNIST subset unless `--weights` gives a checkpoint; ImageNet models
 * (`--model resnet18 --weights resnet18.safetensors`, torchvision names) explain the shipped photos.
 */
import '../autograd/engine.js';
import '../ops/methods.js';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Tensor } from '../tensor/tensor.js';
import { manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { AnyModule } from '../nn/module.js';
import { interpolate } from '../ops/interpolate.js';
import { readImage } from '../io/image.js';
import { loadSafetensors } from '../io/safetensors.js';
import { FashionMNIST } from '../data/idx.js';
import * as viz from '../viz/index.js';
import { getModel, getModelInfo, IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD } from '../models/index.js';
import { fashionImages, trainFashionClassifier } from '../recipes/fashion.js';
import { adaptImage, denormalize, formatError, integer, nonNegativeInt, readRunConfig, runWeights } from './common.js';

const ASSETS = resolve(dirname(fileURLToPath(import.meta.url)), '../../assets/images');
const DEFAULT_PHOTO = join(ASSETS, 'chelsea.png');

/** A loaded classifier with what is needed to feed and display its inputs. */
export interface Loaded {
  model: AnyModule;
  name: string;
  classes: readonly string[];
  /** [C, H, W] the model takes. */
  inputShape: [number, number, number];
  /** Display image [3|1, H, W] in [0, 1] → model input [C, H, W]. */
  prepare: (display: Tensor) => Tensor;
  /** Model input → display image in [0, 1]. */
  display: (x: Tensor) => Tensor;
  /** Valid range of model inputs (for attacks). */
  range: [number, number];
  imagenet: boolean;
}

export interface ModelFlags {
  model: string;
  weights?: string;
  run?: string;
  trainSteps: number;
  seed: number;
}

/** A classifier trained by `tatami train`: its config.json gives the model, classes, input size and normalisation. */
export async function loadRun(flags: ModelFlags): Promise<Loaded> {
  const cfg = readRunConfig(flags.run!);
  const weights = flags.weights ?? runWeights(flags.run!);
  const model = getModel(cfg.model, { numClasses: cfg.classes.length });
  model.loadStateDict(await loadSafetensors(weights), true);
  model.eval();
  const norm = cfg.normalize;
  const lo = norm ? Math.min(...norm.mean.map((m, c) => -m / norm.std[c])) : 0;
  const hi = norm ? Math.max(...norm.mean.map((m, c) => (1 - m) / norm.std[c])) : 1;
  console.error(`${cfg.model} from ${weights} (${cfg.classes.length} classes, input ${cfg.inputShape.join('×')})`);
  return {
    model,
    name: cfg.model,
    classes: cfg.classes,
    inputShape: cfg.inputShape,
    prepare: (display) => adaptImage(display, cfg.inputShape, norm),
    display: (x) => denormalize(x, norm),
    range: [lo, hi],
    imagenet: false,
  };
}

export async function loadModel(flags: ModelFlags): Promise<Loaded> {
  if (flags.run) return loadRun(flags);
  const info = getModelInfo(flags.model);
  manualSeed(flags.seed);
  const model = getModel(flags.model);
  const [C, H, W] = info.inputShape;
  if (flags.weights) {
    if (!existsSync(flags.weights)) throw new Error(`--weights: no such file '${flags.weights}'`);
    const state = await loadSafetensors(flags.weights);
    model.loadStateDict(state, true);
  } else if (!info.torchvision) {
    const steps = flags.trainSteps;
    if (steps > 0) {
      if (C !== 1 || H !== 28)
        throw new Error(
          `--model ${flags.model}: takes [${info.inputShape.join(', ')}] inputs; only 1×28×28 models can be trained on Fashion-MNIST here (pass --weights)`,
        );
      console.error(`no --weights: training ${flags.model} for ${steps} steps on the embedded Fashion-MNIST subset`);
      await trainFashionClassifier(model, { steps, seed: flags.seed, log: console.error });
    }
  } else
    console.error(
      `note: no --weights given, so ${flags.model} has RANDOM weights (pass --weights ${flags.model}.safetensors exported from torchvision)`,
    );
  model.eval();
  const imagenet = C === 3 && info.numClasses === 1000;
  const classes = imagenet
    ? IMAGENET_CLASSES
    : C === 1 && info.numClasses === 10
      ? FashionMNIST.classes
      : Array.from({ length: info.numClasses }, (_, i) => String(i));
  const prepare = (display: Tensor): Tensor => {
    let img = viz.toRgbFloat(display);
    if (C === 1) {
      const d = img.dataView(),
        plane = d.length / 3;
      const g = new Float32Array(plane);
      for (let p = 0; p < plane; p++) g[p] = 0.299 * d[p] + 0.587 * d[plane + p] + 0.114 * d[2 * plane + p];
      img = new Tensor(g, [1, img.shape[1], img.shape[2]], 'float32');
    }
    // Centre-crop to the model's aspect ratio before resizing (torchvision's Resize + CenterCrop keeps proportions).
    const [ih, iw] = [img.shape[1], img.shape[2]];
    if (ih * W !== iw * H) {
      const ch = Math.min(ih, Math.round((iw * H) / W)),
        cw = Math.min(iw, Math.round((ih * W) / H));
      img = img
        .narrow(1, Math.floor((ih - ch) / 2), ch)
        .narrow(2, Math.floor((iw - cw) / 2), cw)
        .contiguous();
    }
    if (img.shape[1] !== H || img.shape[2] !== W)
      img = noGrad(() =>
        interpolate(img.reshape([1, ...img.shape]), { size: [H, W], mode: 'bilinear', alignCorners: false }),
      ).reshape([img.shape[0], H, W]);
    if (!imagenet) return img.contiguous();
    const d = Float32Array.from(img.dataView() as ArrayLike<number>),
      plane = H * W;
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < plane; p++) d[c * plane + p] = (d[c * plane + p] - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    return new Tensor(d, [3, H, W], 'float32');
  };
  const display = (x: Tensor): Tensor => {
    if (!imagenet) return x;
    const d = Float32Array.from(x.dataView() as ArrayLike<number>),
      plane = H * W;
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < plane; p++) d[c * plane + p] = d[c * plane + p] * IMAGENET_STD[c] + IMAGENET_MEAN[c];
    return new Tensor(d, [3, H, W], 'float32');
  };
  const range: [number, number] = imagenet
    ? [
        Math.min(...IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c])),
        Math.max(...IMAGENET_MEAN.map((m, c) => (1 - m) / IMAGENET_STD[c])),
      ]
    : [0, 1];
  return { model, name: flags.model, classes, inputShape: info.inputShape, prepare, display, range, imagenet };
}

/** The input image: --image FILE, or (default) the cat photo for 3-channel models / a Fashion-MNIST test image for 1-channel ones. */
export function inputImage(
  m: Loaded,
  image: string | undefined,
  index: number,
): { x: Tensor; shown: Tensor; label: number | null } {
  if (image === undefined && m.inputShape[0] === 1) {
    const i = index;
    const { x, y } = fashionImages({ train: false, limit: 1000 });
    if (!(i >= 0 && i < x.shape[0])) throw new Error(`--index must be in 0..${x.shape[0] - 1}, got ${index}`);
    const x28 = x.select(0, i).contiguous();
    // A model trained at another size (tatami train --image-size) gets the image resized its way.
    const xi = m.inputShape[1] === 28 && m.inputShape[2] === 28 ? x28 : m.prepare(x28);
    return { x: xi, shown: m.display(xi), label: y.dataView()[i] };
  }
  const path = image ?? DEFAULT_PHOTO;
  if (!existsSync(path)) throw new Error(`--image: no such file '${path}'`);
  const raw = readImage(path, { mode: 'rgb' });
  const x = m.prepare(raw);
  return { x, shown: viz.upscaleNearest(viz.toRgbFloat(m.display(x)), 1), label: null };
}

export function ensureDir(path: string): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
}

/** Wraps an action so errors print one line, `tatami <command>: <message>`, and set the exit code instead of a stack trace. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      // Commander passes the Command last.
      const cmd = args[args.length - 1] as { name?: () => string } | undefined;
      console.error(formatError(typeof cmd?.name === 'function' ? cmd.name() : '', e));
      process.exitCode = 1;
    }
  };
}

export function modelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <name>', 'zoo model (small_cnn, resnet18, vgg16 …)', 'small_cnn')
    .option('-w, --weights <file>', 'weights (.safetensors state dict, torchvision names)')
    .option(
      '-r, --run <dir>',
      'a `tatami train` output folder: its model, classes, input size and weights (overrides --model)',
    )
    .option(
      '--train-steps <n>',
      'without --weights, train small models this many steps (batch 64) on the embedded Fashion-MNIST',
      nonNegativeInt('--train-steps'),
      200,
    )
    .option('--seed <n>', 'random seed', integer('--seed'), 0);
}
