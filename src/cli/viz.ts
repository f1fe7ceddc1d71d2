/**
 * The `tatami` subcommands of the viz package: features, filters, maximize, gradcam, saliency, attack, anomaly and
 * graph. The lead's src/cli/main.ts calls `registerVizCommands(program)`.
 *
 * Models come from the zoo (`getModel(name)` of src/models/index.ts): `small_cnn` (default) is trained here for
 * `--train-steps` on the embedded Fashion-MNIST subset unless `--weights` gives a checkpoint; ImageNet models
 * (`--model resnet18 --weights resnet18.safetensors`, torchvision names) explain the shipped photos.
 */
import '../autograd/engine.js';
import '../tensor/methods.js';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Tensor } from '../tensor/tensor.js';
import { manualSeed, Generator } from '../tensor/random.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { AnyModule } from '../nn/module.js';
import { Adam } from '../optim/adam.js';
import { crossEntropy } from '../ops/loss.js';
import { interpolate } from '../ops/interpolate.js';
import { readImage, writeImage, makeGrid } from '../io/image.js';
import { loadSafetensors } from '../io/safetensors.js';
import { FashionMNIST } from '../data/idx.js';
import * as viz from '../viz/index.js';
import { adaptImage, denormalize, formatError, readRunConfig, runWeights } from './common.js';

/** The slice of src/models/index.ts the CLI uses (imported lazily so the viz package builds without the zoo). */
interface ModelZoo {
  getModel(name: string, opts?: { numClasses?: number; [k: string]: unknown }): AnyModule;
  getModelInfo(name: string): { name: string; inputShape: [number, number, number]; numClasses: number; torchvision: boolean };
  IMAGENET_CLASSES?: readonly string[];
}

async function loadZoo(): Promise<ModelZoo> {
  const spec = '../models/index.js';
  try {
    return (await import(spec)) as ModelZoo;
  } catch (e) {
    throw new Error(`the model zoo (src/models) could not be loaded: ${(e as Error).message}`);
  }
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const ASSETS = resolve(dirname(fileURLToPath(import.meta.url)), '../../assets/images');
const DEFAULT_PHOTO = join(ASSETS, 'chelsea.png');

/** A loaded classifier with what is needed to feed and display its inputs. */
interface Loaded {
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

interface ModelFlags { model: string; weights?: string; run?: string; trainSteps: string; seed: string }

function fashionTensors(train: boolean, n: number, onlyClasses?: readonly number[]): { x: Tensor; y: Tensor } {
  const ds = new FashionMNIST({ subset: 'embedded', train });
  const img = ds.data.dataView(), lab = ds.targets.dataView();
  const idx: number[] = [];
  for (let i = 0; i < lab.length && idx.length < n; i++) if (!onlyClasses || onlyClasses.includes(lab[i])) idx.push(i);
  const x = new Float32Array(idx.length * 784);
  idx.forEach((i, k) => { for (let p = 0; p < 784; p++) x[k * 784 + p] = img[i * 784 + p] / 255; });
  return { x: new Tensor(x, [idx.length, 1, 28, 28], 'float32'), y: new Tensor(Int32Array.from(idx.map((i) => lab[i])), [idx.length], 'int32') };
}

/** Trains a classifier with Adam on the embedded Fashion-MNIST training subset (logs every 50 steps). */
export function trainOnFashion(model: AnyModule, steps: number, seed = 0, log: (s: string) => void = console.error): void {
  const { x, y } = fashionTensors(true, 6000);
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const gen = new Generator(seed);
  model.train();
  for (let s = 0; s < steps; s++) {
    const idx = new Int32Array(64);
    for (let i = 0; i < 64; i++) idx[i] = Math.floor(gen.random() * x.shape[0]);
    const it = new Tensor(idx, [64], 'int32');
    const loss = crossEntropy(model.forward(x.indexSelect(0, it)) as Tensor, y.indexSelect(0, it));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if ((s + 1) % 50 === 0 || s === steps - 1) log(`train step ${s + 1}/${steps}: loss ${loss.item().toFixed(4)}`);
  }
  model.eval();
}

/** A classifier trained by `tatami train`: its config.json gives the model, classes, input size and normalisation. */
async function loadRun(zoo: ModelZoo, flags: ModelFlags): Promise<Loaded> {
  const cfg = readRunConfig(flags.run!);
  const weights = flags.weights ?? runWeights(flags.run!);
  const model = zoo.getModel(cfg.model, { numClasses: cfg.classes.length });
  model.loadStateDict(await loadSafetensors(weights), true);
  model.eval();
  const norm = cfg.normalize;
  const lo = norm ? Math.min(...norm.mean.map((m, c) => -m / norm.std[c])) : 0;
  const hi = norm ? Math.max(...norm.mean.map((m, c) => (1 - m) / norm.std[c])) : 1;
  console.error(`${cfg.model} from ${weights} (${cfg.classes.length} classes, input ${cfg.inputShape.join('×')})`);
  return {
    model, name: cfg.model, classes: cfg.classes, inputShape: cfg.inputShape,
    prepare: (display) => adaptImage(display, cfg.inputShape, norm),
    display: (x) => denormalize(x, norm),
    range: [lo, hi], imagenet: false,
  };
}

async function loadModel(flags: ModelFlags): Promise<Loaded> {
  const zoo = await loadZoo();
  if (flags.run) return loadRun(zoo, flags);
  const info = zoo.getModelInfo(flags.model);
  manualSeed(Number(flags.seed));
  const model = zoo.getModel(flags.model);
  const [C, H, W] = info.inputShape;
  if (flags.weights) {
    if (!existsSync(flags.weights)) throw new Error(`--weights: no such file '${flags.weights}'`);
    const state = await loadSafetensors(flags.weights);
    model.loadStateDict(state, true);
  } else if (!info.torchvision) {
    const steps = Number(flags.trainSteps);
    if (steps > 0) {
      if (C !== 1 || H !== 28) throw new Error(`--model ${flags.model}: takes [${info.inputShape.join(', ')}] inputs; only 1×28×28 models can be trained on Fashion-MNIST here (pass --weights)`);
      console.error(`no --weights: training ${flags.model} for ${steps} steps on the embedded Fashion-MNIST subset`);
      trainOnFashion(model, steps, Number(flags.seed));
    }
  } else console.error(`note: no --weights given, so ${flags.model} has RANDOM weights (pass --weights ${flags.model}.safetensors exported from torchvision)`);
  model.eval();
  const imagenet = C === 3 && info.numClasses === 1000;
  const classes = imagenet && zoo.IMAGENET_CLASSES ? zoo.IMAGENET_CLASSES : C === 1 && info.numClasses === 10 ? FashionMNIST.classes : Array.from({ length: info.numClasses }, (_, i) => String(i));
  const prepare = (display: Tensor): Tensor => {
    let img = viz.toRgbFloat(display);
    if (C === 1) {
      const d = img.dataView(), plane = d.length / 3;
      const g = new Float32Array(plane);
      for (let p = 0; p < plane; p++) g[p] = 0.299 * d[p] + 0.587 * d[plane + p] + 0.114 * d[2 * plane + p];
      img = new Tensor(g, [1, img.shape[1], img.shape[2]], 'float32');
    }
    // Centre-crop to the model's aspect ratio before resizing (torchvision's Resize + CenterCrop keeps proportions).
    const [ih, iw] = [img.shape[1], img.shape[2]];
    if (ih * W !== iw * H) {
      const ch = Math.min(ih, Math.round((iw * H) / W)), cw = Math.min(iw, Math.round((ih * W) / H));
      img = img.narrow(1, Math.floor((ih - ch) / 2), ch).narrow(2, Math.floor((iw - cw) / 2), cw).contiguous();
    }
    if (img.shape[1] !== H || img.shape[2] !== W) img = noGrad(() => interpolate(img.reshape([1, ...img.shape]), { size: [H, W], mode: 'bilinear', alignCorners: false })).reshape([img.shape[0], H, W]);
    if (!imagenet) return img.contiguous();
    const d = Float32Array.from(img.dataView() as ArrayLike<number>), plane = H * W;
    for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) d[c * plane + p] = (d[c * plane + p] - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    return new Tensor(d, [3, H, W], 'float32');
  };
  const display = (x: Tensor): Tensor => {
    if (!imagenet) return x;
    const d = Float32Array.from(x.dataView() as ArrayLike<number>), plane = H * W;
    for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) d[c * plane + p] = d[c * plane + p] * IMAGENET_STD[c] + IMAGENET_MEAN[c];
    return new Tensor(d, [3, H, W], 'float32');
  };
  const range: [number, number] = imagenet ? [Math.min(...IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c])), Math.max(...IMAGENET_MEAN.map((m, c) => (1 - m) / IMAGENET_STD[c]))] : [0, 1];
  return { model, name: flags.model, classes, inputShape: info.inputShape, prepare, display, range, imagenet };
}

/** The input image: --image FILE, or (default) the cat photo for 3-channel models / a Fashion-MNIST test image for 1-channel ones. */
function inputImage(m: Loaded, image: string | undefined, index: string): { x: Tensor; shown: Tensor; label: number | null } {
  if (image === undefined && m.inputShape[0] === 1) {
    const i = Number(index);
    const { x, y } = fashionTensors(false, 1000);
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

function ensureDir(path: string): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
}

function parseInts(s: string, what: string): number[] {
  const v = s.split(',').map((t) => Number(t.trim()));
  if (v.some((n) => !Number.isFinite(n))) throw new Error(`${what}: expected comma-separated numbers, got '${s}'`);
  return v;
}

/** Wraps an action so errors print one line, `tatami <command>: <message>`, and set the exit code instead of a stack trace. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
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

function modelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <name>', 'zoo model (small_cnn, resnet18, vgg16 …)', 'small_cnn')
    .option('-w, --weights <file>', 'weights (.safetensors state dict, torchvision names)')
    .option('-r, --run <dir>', 'a `tatami train` output folder: its model, classes, input size and weights (overrides --model)')
    .option('--train-steps <n>', 'without --weights, train small models this many steps (batch 64) on the embedded Fashion-MNIST', '200')
    .option('--seed <n>', 'random seed', '0');
}

/** Adds the viz subcommands to the `tatami` commander program. */
export function registerVizCommands(program: Command): Command {
  modelOptions(program.command('features').description('save a layer\'s feature maps as a grid of heat maps'))
    .option('-l, --layer <name>', 'module name (see `tatami graph`); default: the last conv layer')
    .option('-i, --image <file>', 'input image (default: a Fashion-MNIST test image, or the cat photo for RGB models)')
    .option('--index <n>', 'Fashion-MNIST test image index when no --image', '0')
    .option('--max-maps <n>', 'channels shown', '64')
    .option('--cmap <name>', 'viridis | jet | inferno | gray', 'viridis')
    .option('-o, --out <file>', 'output PNG', 'feature-maps.png')
    .action(action(async (o: ModelFlags & { layer?: string; image?: string; index: string; maxMaps: string; cmap: viz.ColormapName; out: string }) => {
      const m = await loadModel(o);
      const layer = o.layer ?? viz.lastConvLayer(m.model, 'features');
      const { x } = inputImage(m, o.image, o.index);
      const act = viz.captureActivations(m.model, x, [layer]).get(layer)!;
      ensureDir(o.out);
      writeImage(o.out, viz.featureMapGrid(act, { maxMaps: Number(o.maxMaps), cmap: o.cmap, order: 'activation' }));
      console.log(`${o.out}: ${Math.min(Number(o.maxMaps), act.shape[1])} of ${act.shape[1]} feature maps of layer '${layer}' (${act.shape.slice(1).join('×')})`);
    }));

  modelOptions(program.command('filters').description('save convolution kernels (default: the first layer) as images'))
    .option('-l, --layer <name>', 'conv module name (default: the first conv layer)')
    .option('-o, --out <file>', 'output PNG', 'filters.png')
    .action(action(async (o: ModelFlags & { layer?: string; out: string }) => {
      const m = await loadModel(o);
      const { name, weight } = viz.convWeight(m.model, o.layer);
      ensureDir(o.out);
      writeImage(o.out, viz.filterGrid(weight));
      console.log(`${o.out}: ${weight.shape[0]} kernels ${weight.shape.slice(1).join('×')} of layer '${name}'`);
    }));

  modelOptions(program.command('maximize').description('activation maximisation: the input that excites a channel (or class) most'))
    .option('-l, --layer <name>', 'module name; omit to maximise a class logit')
    .option('-c, --channels <list>', 'comma-separated channels (or classes)', '0,1,2,3,4,5,6,7')
    .option('--steps <n>', 'gradient-ascent steps', '128')
    .option('--jitter <px>', 'random shift per step', '2')
    .option('--blur-every <n>', 'Gaussian blur every n steps (0 = off)', '4')
    .option('-o, --out <file>', 'output PNG', 'maximize.png')
    .action(action(async (o: ModelFlags & { layer?: string; channels: string; steps: string; jitter: string; blurEvery: string; out: string }) => {
      const m = await loadModel(o);
      const images: Tensor[] = [];
      const labels: string[] = [];
      for (const c of parseInts(o.channels, '--channels')) {
        const r = viz.maximizeActivation(m.model, { layer: o.layer, channel: c, inputShape: m.inputShape, steps: Number(o.steps), jitter: Number(o.jitter), blurEvery: Number(o.blurEvery), range: m.range });
        images.push(viz.upscaleNearest(viz.toRgbFloat(m.display(r.image)), m.inputShape[1] < 64 ? 3 : 1));
        labels.push(o.layer ? `ch ${c}` : (m.classes[c] ?? String(c)).slice(0, 12));
        console.log(`${o.layer ? `channel ${c}` : `class ${c}`}: objective ${r.objective[0].toFixed(3)} → ${r.objective[r.objective.length - 1].toFixed(3)}`);
      }
      ensureDir(o.out);
      writeImage(o.out, makeGrid(images, { nrow: Math.min(8, images.length), padValue: 1, labels }));
      console.log(`wrote ${o.out}`);
    }));

  modelOptions(program.command('gradcam').description('Grad-CAM / Grad-CAM++ heat map of a conv layer, overlaid on the input'))
    .option('-l, --layer <name>', 'conv module name (default: the last conv layer)')
    .option('-i, --image <file>', 'input image (default: a Fashion-MNIST test image, or the cat photo for RGB models)')
    .option('--index <n>', 'Fashion-MNIST test image index when no --image', '0')
    .option('-c, --class <k>', 'class to explain (default: the predicted class)')
    .option('--method <m>', 'gradcam | gradcam++', 'gradcam')
    .option('-o, --out <file>', 'output PNG', 'gradcam.png')
    .action(action(async (o: ModelFlags & { layer?: string; image?: string; index: string; class?: string; method: 'gradcam' | 'gradcam++'; out: string }) => {
      const m = await loadModel(o);
      const { x, shown, label } = inputImage(m, o.image, o.index);
      const res = viz.gradCam(m.model, x, { layer: o.layer, method: o.method, target: o.class === undefined ? undefined : Number(o.class) });
      const disp = viz.toRgbFloat(m.display(x));
      const up = disp.shape[1] < 100 ? 8 : 1;
      const big = viz.upscaleNearest(disp, up);
      const cam = res.cams.reshape(res.cams.shape.slice(1));
      const over = viz.overlayHeatmap(big, cam, { alpha: 0.45, cmap: 'jet', vmin: 0, vmax: 1 });
      ensureDir(o.out);
      writeImage(o.out, makeGrid([big, over], { nrow: 2, padValue: 1 }));
      const t = res.targets[0];
      console.log(`${o.out}: ${o.method} of layer '${res.layer}' for class ${t} (${m.classes[t] ?? t})${label !== null ? `; true class ${label} (${m.classes[label]})` : ''}; predicted ${res.predictions[0]} (${m.classes[res.predictions[0]] ?? ''})`);
      void shown;
    }));

  modelOptions(program.command('saliency').description('saliency map (input gradient, optionally SmoothGrad) of a class'))
    .option('-i, --image <file>', 'input image (default: a Fashion-MNIST test image, or the cat photo for RGB models)')
    .option('--index <n>', 'Fashion-MNIST test image index when no --image', '0')
    .option('-c, --class <k>', 'class (default: the predicted class)')
    .option('--samples <n>', 'SmoothGrad samples (0 = plain gradient)', '0')
    .option('-o, --out <file>', 'output PNG', 'saliency.png')
    .action(action(async (o: ModelFlags & { image?: string; index: string; class?: string; samples: string; out: string }) => {
      const m = await loadModel(o);
      const { x } = inputImage(m, o.image, o.index);
      const r = viz.saliencyMap(m.model, x, { target: o.class === undefined ? undefined : Number(o.class), samples: Number(o.samples) });
      const [, H, W] = r.maps.shape;
      const disp = viz.toRgbFloat(m.display(x));
      const up = H < 100 ? 8 : 1;
      const heat = viz.upscaleNearest(viz.applyColormap(r.maps.reshape([H, W]), { cmap: 'inferno' }), up);
      ensureDir(o.out);
      writeImage(o.out, makeGrid([viz.upscaleNearest(disp, up), heat], { nrow: 2, padValue: 1 }));
      console.log(`${o.out}: saliency of class ${r.targets[0]} (${m.classes[r.targets[0]] ?? ''})`);
    }));

  modelOptions(program.command('attack').description('FGSM/PGD adversarial examples: accuracy against ε on the Fashion-MNIST test subset'))
    .option('--attack <a>', 'fgsm | pgd', 'fgsm')
    .option('-e, --eps <list>', 'comma-separated ε (L∞, in [0, 1] pixel units)', '0,0.01,0.02,0.05,0.1,0.2')
    .option('--steps <n>', 'PGD iterations', '10')
    .option('--step-size <a>', 'PGD step size (default 2.5·ε/steps)')
    .option('--no-random-start', 'PGD without the random start')
    .option('-n, --num <n>', 'test images', '500')
    .option('-o, --out <dir>', 'folder for the perturbed example images', 'attack')
    .action(action(async (o: ModelFlags & { attack: 'fgsm' | 'pgd'; eps: string; steps: string; stepSize?: string; randomStart: boolean; num: string; out: string }) => {
      if (o.attack !== 'fgsm' && o.attack !== 'pgd') throw new Error(`--attack must be fgsm or pgd, got '${o.attack}'`);
      const m = await loadModel(o);
      if (m.inputShape[0] !== 1 || m.inputShape[1] !== 28) throw new Error(`attack: evaluates on Fashion-MNIST, so the model must take 1×28×28 inputs; ${m.name} takes ${m.inputShape.join('×')}`);
      const eps = parseInts(o.eps, '--eps');
      const { x, y } = fashionTensors(false, Number(o.num));
      const batches: [Tensor, Tensor][] = [];
      for (let s = 0; s < x.shape[0]; s += 100) batches.push([x.narrow(0, s, Math.min(100, x.shape[0] - s)), y.narrow(0, s, Math.min(100, x.shape[0] - s))]);
      mkdirSync(o.out, { recursive: true });
      const rows = viz.accuracyVsEpsilon(m.model, batches, eps, {
        attack: o.attack, steps: Number(o.steps), stepSize: o.stepSize === undefined ? undefined : Number(o.stepSize), randomStart: o.randomStart,
        onBatch: (e, adv, preds, bi) => {
          if (bi !== 0) return;
          const n = Math.min(16, adv.shape[0]);
          const tiles = Array.from({ length: n }, (_, i) => viz.upscaleNearest(adv.select(0, i).contiguous(), 2));
          writeImage(join(o.out, `eps-${e}.png`), makeGrid(tiles, { nrow: 8, padValue: 1, labels: preds.slice(0, n).map((p) => m.classes[p].slice(0, 9)) }));
        },
      });
      console.log(`${o.attack.toUpperCase()} on ${x.shape[0]} test images (${m.name})`);
      console.log('eps\taccuracy');
      for (const r of rows) console.log(`${r.eps}\t${(r.accuracy * 100).toFixed(1)}%`);
      console.log(`perturbed images: ${o.out}/eps-*.png`);
    }));

  program.command('anomaly')
    .description('anomaly detection on Fashion-MNIST with one class as "normal": autoencoder and PANDA-style kNN, AUROC for both')
    .option('--normal <k>', 'the normal class', '7')
    .option('--method <m>', 'ae | knn | both', 'both')
    .option('--train-steps <n>', 'training steps (autoencoder and feature CNN)', '300')
    .option('-n, --num <n>', 'test images', '400')
    .option('-k, --k <n>', 'nearest neighbours', '2')
    .option('--seed <n>', 'random seed', '0')
    .option('-o, --out <file>', 'anomaly-map figure', 'anomaly.png')
    .action(action(async (o: { normal: string; method: 'ae' | 'knn' | 'both'; trainSteps: string; num: string; k: string; seed: string; out: string }) => {
      const { runAnomalyDemo } = await import('../viz/anomaly-demo.js');
      const r = await runAnomalyDemo({ normalClass: Number(o.normal), method: o.method, trainSteps: Number(o.trainSteps), numTest: Number(o.num), k: Number(o.k), seed: Number(o.seed), out: o.out, log: console.error });
      for (const [name, v] of Object.entries(r.auroc)) console.log(`AUROC (${name}): ${(v as number).toFixed(4)}`);
      console.log(`anomaly maps: ${o.out}`);
    }));

  program.command('graph')
    .description('draw the module tree with output shapes (SVG, or HTML when --out ends in .html)')
    .option('-m, --model <name>', 'zoo model', 'small_cnn')
    .option('-r, --run <dir>', 'a `tatami train` output folder: its model, classes and input size (overrides --model)')
    .option('--input-size <c,h,w>', 'input shape (default: the model\'s)')
    .option('-o, --out <file>', 'output .svg or .html', 'model-graph.svg')
    .action(action(async (o: { model: string; run?: string; inputSize?: string; out: string }) => {
      const zoo = await loadZoo();
      const cfg = o.run ? readRunConfig(o.run) : null;
      if (cfg) o.model = cfg.model;
      const info = zoo.getModelInfo(o.model);
      const shape = o.inputSize ? parseInts(o.inputSize, '--input-size') : (cfg?.inputShape ?? info.inputShape);
      if (shape.length !== 3) throw new Error(`--input-size: expected C,H,W, got '${o.inputSize}'`);
      const model = zoo.getModel(o.model, cfg ? { numClasses: cfg.classes.length } : {});
      model.eval();
      ensureDir(o.out);
      const nodes = viz.writeModelGraph(o.out, model, new Tensor(new Float32Array(shape[0] * shape[1] * shape[2]), [1, ...shape], 'float32'), { title: `${o.model} (input ${shape.join('×')})` });
      console.log(`${o.out}: ${nodes.length} modules, output ${nodes[0].outputShape?.join('×')}`);
    }));
  return program;
}
